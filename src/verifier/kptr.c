/*
 * Referenced kptrs: map value fields declared `struct foo __kptr *p`
 * (BTF: a pointer to the type tag "kptr") that hold an object from
 * bpf_obj_new, with the kernel's rules and messages.
 *
 * Loads and stores of a map value must meet a kptr field exactly: one
 * BPF_DW at its offset, a constant offset, BPF_MEM mode (the kernel's
 * check_map_access and check_map_kptr_access). Stores are refused ("store
 * to referenced kptr disallowed"): only bpf_kptr_xchg moves a reference
 * in or out. A load gives a pointer that holds no reference, NULL-able:
 * inside an RCU read section (every non-sleepable program, or under
 * bpf_rcu_read_lock or a bpf_spin_lock) rcu_ptr_ to the object, readable
 * and writable as the object (MEM_RCU | MEM_ALLOC, and NON_OWN_REF when
 * the struct has a list or rbtree node); elsewhere (a sleepable program
 * outside bpf_rcu_read_lock) untrusted_ptr_, only read. When
 * bpf_rcu_read_unlock ends the section, the RCU ones become untrusted
 * and, as in the kernel, unusable (but for reads of NON_OWN_REF ones).
 *
 * bpf_kptr_xchg(dst, ptr): DST points at a referenced kptr field, at a
 * constant offset, of a map value or of an object from bpf_obj_new (which
 * then holds the reference until it is dropped); PTR is NULL or an owning reference to
 * an object of exactly the field's struct at offset 0, which the call
 * releases (every copy of it dies). R0 is an owning reference to the
 * struct, or NULL: what the field held.
 */
#include "verifier.h"

/* The record of a map's value (graph.c's records, kptrs included). */
static int map_rec(struct venv *env, struct bpfx_map *map,
		   const struct graph_rec **out)
{
	char why[160];
	int err = 0;

	*out = NULL;
	if (!map)
		return 0;
	if (map->graph_rec) {
		*out = map->graph_rec;
		return 0;
	}
	if (!map->obj || !map->btf_value_type_id)
		return 0;
	*out = graph_rec_of(map->obj, map->btf_value_type_id, &err, why,
			    sizeof(why));
	if (err)
		return verr(env, err, "map '%s': %s", map->name, why);
	return 0;
}

static bool rec_has_node(const struct graph_rec *rec)
{
	for (int i = 0; rec && i < rec->cnt; i++)
		if (rec->f[i].kind == GF_LIST_NODE || rec->f[i].kind == GF_RB_NODE)
			return true;
	return false;
}

/* As libbpf's section table (and src/kernel/kernel.c): syscall programs
 * and "*.s" sections are sleepable. */
static bool prog_sleepable(const struct venv *env)
{
	const char *sec = env->prog->sec_name ? env->prog->sec_name : "";
	size_t len;

	if (sec[0] == '?')
		sec++;
	len = strlen(sec);
	return env->prog_type == BPF_PROG_TYPE_SYSCALL ||
	       (len > 2 && !strcmp(sec + len - 2, ".s")) || strstr(sec, ".s/");
}

/* The kernel's in_rcu_cs(). */
static bool in_rcu_cs(const struct venv *env)
{
	return env->cur->rcu_depth || env->cur->lock_id ||
	       !prog_sleepable(env);
}

int kptr_check_map_access(struct venv *env, int insn_idx, int regno,
			  const struct vreg *reg, int off, int size, bool write,
			  struct vreg *dst)
{
	const struct graph_rec *rec;
	const struct graph_field *f = NULL;
	/* the instruction being verified: a load or store, or the call of
	 * a helper that reads or writes the memory */
	const struct bpf_insn *in = &env->insns[env->cur->insn];
	bool helper = in->code == (BPF_JMP | BPF_CALL);
	s64 lo = reg->smin + reg->off + off;
	s64 hi = (s64)reg->umax + reg->off + off;
	int err = map_rec(env, reg->map, &rec);

	if (err || !rec || !rec->kptr_cnt)
		return err;
	if (tnum_is_const(reg->var_off))
		lo = hi = (s64)reg->var_off.value + reg->off + off;
	/* the first field the access touches decides, as the kernel's
	 * check_map_access(); others than kptrs are graph.c's */
	for (int i = 0; i < rec->cnt && !f; i++) {
		const struct graph_field *k = &rec->f[i];

		if (lo < (s64)k->off + k->size && (s64)k->off < hi + size)
			f = k;
	}
	if (!f || f->kind != GF_KPTR)
		return 0;
	if (helper)
		return verr(env, -EACCES, "kptr cannot be accessed indirectly by helper");
	if (!tnum_is_const(reg->var_off))
		return verr(env, -EACCES, "kptr access cannot have variable offset");
	if (lo != f->off)
		return verr(env, -EACCES, "kptr access misaligned expected=%u off=%lld",
			    f->off, (long long)lo);
	if (size != 8)
		return verr(env, -EACCES, "kptr access size must be BPF_DW");
	if (BPF_MODE(in->code) != BPF_MEM)
		return verr(env, -EACCES,
			    "kptr in map can only be accessed using BPF_MEM instruction mode");
	if (write)
		return verr(env, -EACCES, "store to referenced kptr disallowed");
	if (dst) {
		const struct btf *btf = env->prog->obj->btf;
		int e = 0;
		char why[160];
		const struct graph_rec *trec =
			graph_rec_of(env->prog->obj, f->value_type_id, &e, why,
				     sizeof(why));

		if (e)
			return verr(env, e, "kptr %s: %s", f->value_name, why);
		memset(dst, 0, sizeof(*dst));
		dst->type = PTR_TO_BTF_ID;
		dst->btf_id = f->value_type_id;
		dst->mem_size = btf__type_by_id(btf, f->value_type_id)->size;
		dst->var_off = tnum_const(0);
		dst->id = ++env->id_gen;
		dst->flags = VREG_ALLOC | VREG_MAYBE_NULL;
		if (in_rcu_cs(env))
			dst->flags |= VREG_RCU |
				      (rec_has_node(trec) ? VREG_NON_OWN : 0);
		else
			dst->flags |= VREG_UNTRUSTED;
	}
	(void)regno;
	(void)insn_idx;
	return 1;
}

int kptr_check_alloc_access(struct venv *env, const struct vreg *reg,
			    bool write)
{
	if (write && (reg->flags & VREG_UNTRUSTED))
		return verr(env, -EACCES, "only read is supported");
	/* the kernel keeps MEM_ALLOC on it, and then finds no reference
	 * (its own words, a rejection) */
	if (reg->flags & VREG_RCU_ENDED)
		return verr(env, -EFAULT,
			    "verifier bug: ref_obj_id for allocated object must be non-zero");
	return 0;
}

void kptr_rcu_unlock(struct venv *env)
{
	FOR_EACH_REG(env->cur, r, {
		if (r->type == PTR_TO_BTF_ID && (r->flags & VREG_RCU)) {
			r->flags &= (u16) ~(VREG_RCU | VREG_MAYBE_NULL);
			r->flags |= VREG_UNTRUSTED;
			/* the kernel finds no reference on it, unless it is
			 * a non-owning one (a struct with a graph node) */
			if (!(r->flags & VREG_NON_OWN))
				r->flags |= VREG_RCU_ENDED;
		}
	});
}

/* R1 of bpf_kptr_xchg: the referenced kptr field it points to, in a map
 * value or an object from bpf_obj_new (the kernel's process_kptr_func). */
static int xchg_dest(struct venv *env, const struct graph_field **out)
{
	const struct vreg *r = &cur_regs(env)[1];
	const struct graph_rec *rec;
	char t[48];
	s64 off;
	int err;

	if (r->type == PTR_TO_BTF_ID && r->flags == VREG_ALLOC) {
		char why[160];
		int e = 0;

		rec = graph_rec_of(env->prog->obj, r->btf_id, &e, why,
				   sizeof(why));
		if (e)
			return verr(env, e, "%s", why);
	} else if (r->type == PTR_TO_MAP_VALUE && !r->flags) {
		if (!r->map->btf_value_type_id)
			return verr(env, -EINVAL,
				    "map '%s' has to have BTF in order to use bpf_kptr_xchg",
				    r->map->name);
		if ((err = map_rec(env, r->map, &rec)))
			return err;
	} else {
		reg_fmt(r, t, sizeof(t));
		return verr(env, -EACCES, "R1 type=%s expected=map_value, ptr_",
			    t);
	}
	if (!tnum_is_const(r->var_off))
		return verr(env, -EINVAL,
			    "R1 doesn't have constant offset. kptr has to be at the constant offset");
	if (!rec || !rec->kptr_cnt)
		return verr(env, -EINVAL, "R1 has no valid kptr");
	off = r->off + (s64)r->var_off.value;
	*out = off >= 0 ? graph_field_at(rec, (u32)off, GF_KPTR) : NULL;
	if (!*out)
		return verr(env, -EACCES, "off=%d doesn't point to kptr", (int)off);
	return 0;
}

int check_kptr_xchg(struct venv *env, int idx)
{
	struct vreg *regs = cur_regs(env);
	struct vreg *r2 = &regs[2];
	const struct graph_field *f;
	u32 release = 0;
	char t[48];
	int err;

	if ((err = check_reg_read(env, 1)) || (err = check_reg_read(env, 2)))
		return err;
	if ((err = xchg_dest(env, &f)))
		return err;
	reg_fmt(r2, t, sizeof(t));
	if (r2->type == SCALAR_VALUE) {
		if (!reg_is_const(r2) || r2->var_off.value)
			return verr(env, -EACCES,
				    "R2 type=%s expected=ptr_, trusted_ptr_, rcu_ptr_",
				    t);
	} else if (r2->type == PTR_TO_BTF_ID && (r2->flags & VREG_ALLOC) &&
		   (r2->flags & (VREG_RCU | VREG_MAYBE_NULL))) {
		/* the kernel's check_reg_type() knows no such MEM_ALLOC
		 * register for this argument: its own words, a rejection */
		return verr(env, -EFAULT,
			    "verifier bug: invalid PTR_TO_BTF_ID register for type match");
	} else if (r2->type != PTR_TO_BTF_ID ||
		   (r2->flags & (VREG_NON_OWN | VREG_UNTRUSTED))) {
		return verr(env, -EACCES,
			    "R2 type=%s expected=ptr_, trusted_ptr_, rcu_ptr_", t);
	} else if (!(r2->flags & VREG_ALLOC) || r2->btf_id != f->value_type_id ||
		   r2->off || !tnum_is_const(r2->var_off) ||
		   r2->var_off.value) {
		/* the kernel's map_kptr_match_type(): the very struct, at
		 * offset 0 */
		return verr(env, -EACCES,
			    "invalid kptr access, R2 type=%s%s expected=ptr_%s",
			    t,
			    r2->flags & VREG_ALLOC ? btf_type_name(env, r2->btf_id)
						   : "",
			    f->value_name);
	} else {
		if (!r2->ref_obj_id)
			return verr(env, -EINVAL,
				    "R2 must be referenced when passed to release function");
		release = r2->ref_obj_id;
	}
	if (release && (err = release_reference(env, release)))
		return err;
	/* the old object, NULL or not: a new reference */
	return mark_new_object(env, idx, f->value_type_id,
			       btf__type_by_id(env->prog->obj->btf,
					       f->value_type_id)->size);
}

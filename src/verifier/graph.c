/*
 * Graph kfuncs: BPF linked lists and red-black trees of allocated
 * objects, with the kernel's rules and messages.
 *
 * A bpf_list_head or bpf_rb_root lives in a map value (global data, an
 * array map) or in an allocated object, next to the bpf_spin_lock that
 * guards it; every operation on it needs that very lock held ("bpf_spin_lock
 * at off=N must be held for bpf_list_head", after "held lock and object are
 * not in the same allocation" when another lock is held). Records of the
 * special fields come from the program's BTF (src/runtime/graph.c).
 *
 * References: an object from bpf_obj_new is an owning reference. Push and
 * rbtree_add take it: every copy becomes a non-owning reference (readable
 * and writable, no reference of its own) and the reference is gone, as
 * the kernel's ref_convert_owning_non_owning(). Pop and remove give a new
 * owning reference (or NULL) to the node's container struct at the node's
 * offset; front, back, first, root, left and right a non-owning one. When
 * the lock is released every non-owning reference becomes an unknown
 * scalar (invalidate_non_owning_refs). bpf_refcount_acquire gives a new
 * owning reference to an object with a bpf_refcount.
 *
 * bpf_rbtree_add's less() is verified as a callback, with the lock held,
 * its two arguments non-owning references to nodes of the tree: the path
 * after the call is queued first (the callback may not run at all); the
 * callback path ends at its exit, once its R0 is proven to be 0 or 1.
 * Inside it, the kernel forbids bpf_rbtree_remove, locking and unlocking,
 * and, like any call not of the graph API under a lock, bpf_throw.
 */
#include "verifier.h"

enum graph_kfunc {
	G_NONE = 0,
	G_LIST_PUSH_FRONT, G_LIST_PUSH_BACK, G_LIST_POP_FRONT, G_LIST_POP_BACK,
	G_LIST_FRONT, G_LIST_BACK,
	G_RB_ADD, G_RB_REMOVE, G_RB_FIRST, G_RB_ROOT, G_RB_LEFT, G_RB_RIGHT,
	G_REFCOUNT_ACQUIRE,
};

static const char *const graph_kfunc_names[] = {
	[G_LIST_PUSH_FRONT] = "bpf_list_push_front_impl",
	[G_LIST_PUSH_BACK] = "bpf_list_push_back_impl",
	[G_LIST_POP_FRONT] = "bpf_list_pop_front",
	[G_LIST_POP_BACK] = "bpf_list_pop_back",
	[G_LIST_FRONT] = "bpf_list_front",
	[G_LIST_BACK] = "bpf_list_back",
	[G_RB_ADD] = "bpf_rbtree_add_impl",
	[G_RB_REMOVE] = "bpf_rbtree_remove",
	[G_RB_FIRST] = "bpf_rbtree_first",
	[G_RB_ROOT] = "bpf_rbtree_root",
	[G_RB_LEFT] = "bpf_rbtree_left",
	[G_RB_RIGHT] = "bpf_rbtree_right",
	[G_REFCOUNT_ACQUIRE] = "bpf_refcount_acquire_impl",
};

static enum graph_kfunc graph_kind(const char *name)
{
	for (size_t i = 1; i < ARRAY_SIZE(graph_kfunc_names); i++)
		if (!strcmp(name, graph_kfunc_names[i]))
			return (enum graph_kfunc)i;
	return G_NONE;
}

bool is_graph_kfunc(const char *name)
{
	return graph_kind(name) != G_NONE;
}

static bool is_list_kfunc(enum graph_kfunc k)
{
	return k >= G_LIST_PUSH_FRONT && k <= G_LIST_BACK;
}

/* The record of what REG points into: a map value's or an object's, in
 * *out (NULL without special fields); an error for malformed ones. */
static int reg_rec(struct venv *env, const struct vreg *r,
		   const struct graph_rec **out)
{
	struct bpfx_object *obj = env->prog->obj;
	const struct graph_rec *rec = NULL;
	char why[160];
	int err = 0;

	*out = NULL;
	if (r->type == PTR_TO_MAP_VALUE && r->map) {
		if (r->map->graph_rec) {
			*out = r->map->graph_rec;
			return 0;
		}
		if (!r->map->obj || !r->map->btf_value_type_id)
			return 0;
		rec = graph_rec_of(r->map->obj, r->map->btf_value_type_id,
				   &err, why, sizeof(why));
	} else if (r->type == PTR_TO_BTF_ID && (r->flags & VREG_ALLOC)) {
		rec = graph_rec_of(obj, r->btf_id, &err, why, sizeof(why));
	}
	/* malformed fields: the kernel refuses the BTF at load */
	if (err)
		return verr(env, err, "invalid BTF: %s", why);
	*out = rec;
	return 0;
}

/* The identity of the allocation a lock or a root is in, as the kernel's
 * (map or object, id). */
static u32 alloc_id(const struct vreg *r)
{
	if (r->type == PTR_TO_MAP_VALUE)
		return r->id ? r->id : 1;
	return r->id ? r->id : r->ref_obj_id;
}

static bool in_rbtree_cb(struct venv *env)
{
	const struct vframe *fr = cur_frame(env);

	return env->cur->curframe && fr->is_callback &&
	       fr->callback_helper == CALLBACK_RBTREE_LESS;
}

/* check_func_arg_reg_off() for a pointer argument of a graph kfunc. */
static int check_arg_off(struct venv *env, int regno)
{
	struct vreg *r = &cur_regs(env)[regno];
	char t[48];

	if (r->type == PTR_TO_MAP_VALUE || r->type == SCALAR_VALUE ||
	    r->type == PTR_TO_STACK || r->type == NOT_INIT)
		return 0;
	reg_fmt(r, t, sizeof(t));
	if ((r->flags & VREG_MAYBE_NULL) && r->off)
		return verr(env, -EACCES,
			    "dereference of modified %s ptr R%d off=%d disallowed",
			    t, regno, r->off);
	if (!tnum_is_const(r->var_off))
		return verr(env, -EACCES,
			    "variable %s access var_off=(0x%llx; 0x%llx) disallowed",
			    t, (unsigned long long)r->var_off.value,
			    (unsigned long long)r->var_off.mask);
	return 0;
}

static bool is_non_owning(const struct vreg *r)
{
	return r->type == PTR_TO_BTF_ID && (r->flags & VREG_NON_OWN) &&
	       !(r->flags & VREG_MAYBE_NULL);
}

/* The head or root in R1: its field, after the lock check. */
static int graph_root_arg(struct venv *env, bool list,
			  const struct graph_field **out)
{
	struct vstate *st = env->cur;
	struct vreg *r = &cur_regs(env)[1];
	const char *what = list ? "bpf_list_head" : "bpf_rb_root";
	const struct graph_rec *rec;
	const struct graph_field *f;
	s64 off;
	int err;

	if ((err = check_arg_off(env, 1)))
		return err;
	if (r->type != PTR_TO_MAP_VALUE &&
	    !(r->type == PTR_TO_BTF_ID &&
	      (r->flags & (VREG_ALLOC | VREG_MAYBE_NULL | VREG_NON_OWN)) ==
		      VREG_ALLOC))
		return verr(env, -EINVAL,
			    "arg#0 expected pointer to map value or allocated object");
	if (r->flags & VREG_MAYBE_NULL)
		return verr(env, -EINVAL,
			    "arg#0 expected pointer to map value or allocated object");
	if (r->type == PTR_TO_BTF_ID && !r->ref_obj_id)
		return verr(env, -EINVAL, "allocated object must be referenced");
	if (!tnum_is_const(r->var_off))
		return verr(env, -EINVAL,
			    "R1 doesn't have constant offset. %s has to be at the constant offset",
			    what);
	off = (s64)r->var_off.value + r->off;
	if ((err = reg_rec(env, r, &rec)))
		return err;
	f = graph_field_at(rec, (u32)off, list ? GF_LIST_HEAD : GF_RB_ROOT);
	if (!f || off < 0)
		return verr(env, -EINVAL, "%s not found at offset=%u", what,
			    (u32)off);
	if (!st->lock_id ||
	    (st->lock_map != (r->type == PTR_TO_MAP_VALUE ? r->map : NULL)) ||
	    st->lock_id != alloc_id(r)) {
		if (st->lock_id)
			verr(env, -EINVAL,
			     "held lock and object are not in the same allocation");
		return verr(env, -EINVAL,
			    "bpf_spin_lock at off=%d must be held for %s",
			    rec->spin_lock_off, what);
	}
	*out = f;
	return 0;
}

/* The node in R2 of the struct ROOT holds. */
static int graph_node_arg(struct venv *env, enum graph_kfunc k,
			  const struct graph_field *root)
{
	struct vreg *r = &cur_regs(env)[2];
	bool list = is_list_kfunc(k);
	const char *what = list ? "bpf_list_node" : "bpf_rb_node";
	const char *head = list ? "bpf_list_head" : "bpf_rb_root";
	const struct graph_rec *rec;
	s64 off;
	int err;

	if ((err = check_arg_off(env, 2)))
		return err;
	if (k == G_LIST_PUSH_FRONT || k == G_LIST_PUSH_BACK || k == G_RB_ADD) {
		if (!(r->type == PTR_TO_BTF_ID &&
		      (r->flags & (VREG_ALLOC | VREG_MAYBE_NULL | VREG_NON_OWN)) ==
			      VREG_ALLOC))
			return verr(env, -EINVAL,
				    "arg#1 expected pointer to allocated object");
		if (!r->ref_obj_id)
			return verr(env, -EINVAL,
				    "allocated object must be referenced");
	} else {
		const char *name = graph_kfunc_names[k];

		if (!is_non_owning(r) && !(r->type == PTR_TO_BTF_ID &&
					   r->ref_obj_id &&
					   !(r->flags & VREG_MAYBE_NULL)))
			return verr(env, -EINVAL,
				    "%s can only take non-owning or refcounted bpf_rb_node pointer",
				    name);
		if (in_rbtree_cb(env))
			return verr(env, -EINVAL, "%s not allowed in rbtree cb",
				    name);
	}
	if (!tnum_is_const(r->var_off))
		return verr(env, -EINVAL,
			    "R2 doesn't have constant offset. %s has to be at the constant offset",
			    what);
	off = (s64)r->var_off.value + r->off;
	if ((err = reg_rec(env, r, &rec)))
		return err;
	if (off < 0 || !graph_field_at(rec, (u32)off,
				       list ? GF_LIST_NODE : GF_RB_NODE))
		return verr(env, -EINVAL, "%s not found at offset=%u", what,
			    (u32)off);
	if (r->btf_id != root->value_type_id)
		return verr(env, -EINVAL,
			    "operation on %s expects arg#1 %s at offset=%u in struct %s, but arg is at offset=%u in struct %s",
			    head, what, root->node_off, root->value_name,
			    (u32)off, btf_type_name(env, r->btf_id));
	if ((u32)off != root->node_off)
		return verr(env, -EINVAL,
			    "arg#1 offset=%u, but expected %s at offset=%u in struct %s",
			    (u32)off, what, root->node_off, root->value_name);
	return 0;
}

/* ref_convert_owning_non_owning() and the release of the reference. */
static int convert_to_non_owning(struct venv *env, u32 ref)
{
	struct vstate *st = env->cur;
	int i;

	for (int f = 0; f <= st->curframe; f++) {
		struct vframe *fr = st->frame[f];

		for (int r = 0; r < 11; r++)
			if (fr->regs[r].ref_obj_id == ref) {
				fr->regs[r].ref_obj_id = 0;
				fr->regs[r].flags |= VREG_NON_OWN;
			}
		for (int k = 0; k < fr->nslots; k++)
			if (slot_is_spill(fr, k) &&
			    fr->slots[k].spill.ref_obj_id == ref) {
				fr->slots[k].spill.ref_obj_id = 0;
				fr->slots[k].spill.flags |= VREG_NON_OWN;
			}
	}
	for (i = 0; i < st->ref_cnt; i++)
		if (st->refs[i].id == ref)
			break;
	if (i == st->ref_cnt)
		return verr(env, -EFAULT, "verifier internal error: reference %u not held",
			    ref);
	memmove(&st->refs[i], &st->refs[i + 1],
		(st->ref_cnt - i - 1) * sizeof(st->refs[0]));
	st->ref_cnt--;
	return 0;
}

void graph_invalidate_non_owning(struct venv *env)
{
	struct vstate *st = env->cur;

	for (int f = 0; f <= st->curframe; f++) {
		struct vframe *fr = st->frame[f];

		for (int r = 0; r < 11; r++)
			if (fr->regs[r].type == PTR_TO_BTF_ID &&
			    (fr->regs[r].flags & VREG_NON_OWN))
				reg_mark_unknown(&fr->regs[r]);
		for (int k = 0; k < fr->nslots; k++)
			if (slot_is_spill(fr, k) &&
			    fr->slots[k].spill.type == PTR_TO_BTF_ID &&
			    (fr->slots[k].spill.flags & VREG_NON_OWN))
				reg_mark_unknown(&fr->slots[k].spill);
	}
}

int graph_check_lock(struct venv *env, int regno)
{
	const struct vreg *r = &cur_regs(env)[regno];
	const struct graph_rec *rec;
	s64 off = (s64)r->var_off.value + r->off;
	int err = reg_rec(env, r, &rec);

	if (err)
		return err;
	if (in_rbtree_cb(env))
		return verr(env, -EINVAL, "can't spin_{lock,unlock} in rbtree cb");
	/* the kernel's process_spin_lock(): the record's lock, exactly */
	if (rec && rec->spin_lock_off >= 0 && tnum_is_const(r->var_off) &&
	    off != rec->spin_lock_off)
		return verr(env, -EINVAL,
			    "off %lld doesn't point to 'struct bpf_spin_lock' that is at %d",
			    (long long)off, rec->spin_lock_off);
	return 0;
}

/* R0: a node of ROOT's struct, owning (with a new reference) or not. */
static int set_node_ret(struct venv *env, int idx, const struct graph_field *f,
			bool owning)
{
	struct vreg *r0 = &cur_regs(env)[0];
	int ref = 0;

	++env->id_gen; /* the null check's, replaced by the reference */
	if (owning && (ref = acquire_reference(env, idx)) < 0)
		return ref;
	memset(r0, 0, sizeof(*r0));
	r0->type = PTR_TO_BTF_ID;
	r0->flags = VREG_ALLOC | VREG_MAYBE_NULL | (owning ? 0 : VREG_NON_OWN);
	r0->btf_id = f->value_type_id;
	r0->mem_size = f->value_rec ? f->value_rec->size : 0;
	if (!r0->mem_size) {
		const struct btf *btf = env->prog->obj->btf;
		r0->mem_size = btf__type_by_id(btf, f->value_type_id)->size;
	}
	r0->off = (s32)f->node_off;
	r0->var_off = tnum_const(0);
	r0->ref_obj_id = (u32)ref;
	r0->id = owning ? (u32)ref : env->id_gen;
	return 0;
}

static void clobber_args(struct venv *env)
{
	struct vreg *regs = cur_regs(env);

	for (int i = 1; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
}

/* bpf_rbtree_add: the path after the call is queued with the call's
 * effects; this path runs less() from a frame of its own. */
static int enter_less_callback(struct venv *env, int idx, int cb_sub,
			       const struct graph_field *root, int *next_idx,
			       struct vstate *after)
{
	struct vstate *st = env->cur;
	struct vframe *f;
	int err;

	err = push_state(env, after, idx + 1);
	if (err) {
		state_free(after);
		return err;
	}
	if (after->parent)
		after->parent->branches++;
	if (st->curframe + 1 >= BPFX_MAX_CALL_FRAMES)
		return verr(env, -E2BIG, "the call stack of %d frames is too deep",
			    st->curframe + 2);
	env->sub[cb_sub].is_cb = true;
	hist_cur(env)->flags |= HIST_CALLBACK;
	f = frame_new(idx, cb_sub, st->curframe + 1);
	if (!f)
		return -ENOMEM;
	f->is_callback = true;
	f->callback_helper = CALLBACK_RBTREE_LESS;
	for (int i = 1; i <= 2; i++) {
		struct vreg *r = &f->regs[i];

		memset(r, 0, sizeof(*r));
		r->type = PTR_TO_BTF_ID;
		r->flags = VREG_ALLOC | VREG_NON_OWN;
		r->btf_id = root->value_type_id;
		r->mem_size = btf__type_by_id(env->prog->obj->btf,
					      root->value_type_id)->size;
		r->off = (s32)root->node_off;
		r->var_off = tnum_const(0);
	}
	st->frame[++st->curframe] = f;
	*next_idx = env->sub[cb_sub].start;
	return 0;
}

static int check_refcount_acquire(struct venv *env, int idx)
{
	struct vreg *regs = cur_regs(env);
	struct vreg *r = &regs[1];
	const struct graph_rec *rec;
	struct vreg obj;
	int err, ref;

	if ((err = check_arg_off(env, 1)))
		return err;
	if (r->type != PTR_TO_BTF_ID || !(r->flags & VREG_ALLOC) ||
	    (r->flags & VREG_MAYBE_NULL) ||
	    (!r->ref_obj_id && !(r->flags & VREG_NON_OWN)))
		return verr(env, -EINVAL, "arg#0 is neither owning or non-owning ref");
	if ((err = reg_rec(env, r, &rec)))
		return err;
	if (!rec || rec->refcount_off < 0)
		return verr(env, -EINVAL,
			    "arg#0 doesn't point to a type with bpf_refcount field");
	obj = *r;
	++env->id_gen;
	if ((ref = acquire_reference(env, idx)) < 0)
		return ref;
	clobber_args(env);
	memset(&regs[0], 0, sizeof(regs[0]));
	regs[0].type = PTR_TO_BTF_ID;
	regs[0].flags = VREG_ALLOC | VREG_MAYBE_NULL;
	regs[0].btf_id = obj.btf_id;
	regs[0].mem_size = obj.mem_size;
	regs[0].var_off = tnum_const(0);
	regs[0].ref_obj_id = (u32)ref;
	regs[0].id = (u32)ref;
	return 0;
}

int check_graph_kfunc(struct venv *env, const struct bpf_insn *insn, int idx,
		      int *next_idx)
{
	enum graph_kfunc k = graph_kind(kfuncs[insn->imm].name);
	struct vreg *regs = cur_regs(env);
	const struct graph_field *root = NULL;
	int nargs, err;

	switch (k) {
	case G_LIST_PUSH_FRONT: case G_LIST_PUSH_BACK: nargs = 4; break;
	case G_RB_ADD: nargs = 5; break;
	case G_RB_REMOVE: case G_RB_LEFT: case G_RB_RIGHT: nargs = 2; break;
	case G_REFCOUNT_ACQUIRE: nargs = 2; break;
	default: nargs = 1; break;
	}
	for (int i = 1; i <= nargs; i++)
		if ((err = check_reg_read(env, i)))
			return err;
	if (k == G_REFCOUNT_ACQUIRE)
		return check_refcount_acquire(env, idx);
	if ((err = graph_root_arg(env, is_list_kfunc(k), &root)))
		return err;
	if (nargs >= 2 && (err = graph_node_arg(env, k, root)))
		return err;

	switch (k) {
	case G_LIST_PUSH_FRONT:
	case G_LIST_PUSH_BACK:
	case G_RB_ADD: {
		u32 ref = regs[2].ref_obj_id;
		int cb_sub = -1;
		struct vstate *after;

		if (k == G_RB_ADD) {
			char t[48];

			if (regs[3].type != PTR_TO_FUNC) {
				reg_fmt(&regs[3], t, sizeof(t));
				return verr(env, -EINVAL,
					    "arg#2 expected pointer to func");
			}
			cb_sub = regs[3].subprog;
			if (cb_sub < 0)
				return verr(env, -EINVAL,
					    "callback is not a subprogram");
		}
		if (k != G_RB_ADD) {
			/* the node is the list's */
			if ((err = convert_to_non_owning(env, ref)))
				return err;
			clobber_args(env);
			reg_mark_unknown(&regs[0]);
			return 0;
		}
		/* the path after the call, queued: the node is the tree's */
		after = state_dup(env->cur);
		if (!after)
			return -ENOMEM;
		{
			struct vstate *saved = env->cur;

			env->cur = after;
			err = convert_to_non_owning(env, ref);
			if (!err) {
				clobber_args(env);
				reg_mark_unknown(&cur_regs(env)[0]);
			}
			env->cur = saved;
		}
		if (err) {
			state_free(after);
			return err;
		}
		return enter_less_callback(env, idx, cb_sub, root, next_idx,
					   after);
	}
	case G_LIST_POP_FRONT:
	case G_LIST_POP_BACK:
	case G_RB_REMOVE:
		clobber_args(env);
		return set_node_ret(env, idx, root, true);
	default:
		clobber_args(env);
		return set_node_ret(env, idx, root, false);
	}
}

/* Loads and stores must stay off the special fields of a map value or an
 * object, as the kernel's check_map_access() and btf_struct_access(). */
int graph_check_access(struct venv *env, const struct vreg *reg, s64 lo,
		       s64 hi, int size)
{
	const struct graph_rec *rec;
	int err = reg_rec(env, reg, &rec);

	if (err)
		return err;
	for (int i = 0; rec && i < rec->cnt; i++) {
		const struct graph_field *f = &rec->f[i];

		/* a map value's kptrs: kptr.c */
		if (f->kind == GF_KPTR && reg->type == PTR_TO_MAP_VALUE)
			continue;
		if (lo < (s64)f->off + f->size && (s64)f->off < hi + size) {
			if (reg->type == PTR_TO_MAP_VALUE)
				return verr(env, -EACCES,
					    "%s cannot be accessed directly by load/store",
					    graph_field_name(f->kind));
			return verr(env, -EACCES, "direct access to %s is disallowed",
				    graph_field_name(f->kind));
		}
	}
	return 0;
}

/* The kernel's check_map_prog_compatibility(): tracing programs may not
 * use a map with lists or trees. */
int graph_check_prog_maps(struct venv *env)
{
	u32 t = env->prog_type;

	if (t != BPF_PROG_TYPE_KPROBE && t != BPF_PROG_TYPE_TRACEPOINT &&
	    t != BPF_PROG_TYPE_PERF_EVENT && t != BPF_PROG_TYPE_RAW_TRACEPOINT &&
	    t != BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE)
		return 0;
	int err;

	for (size_t i = 0; i < env->cnt; i++) {
		const struct bpf_insn *in = &env->insns[i];
		struct vreg r = { .type = PTR_TO_MAP_VALUE };
		const struct graph_rec *rec;

		if (in->code != (BPF_LD | BPF_IMM | BPF_DW) ||
		    (in->src_reg != BPF_PSEUDO_MAP_IDX &&
		     in->src_reg != BPF_PSEUDO_MAP_IDX_VALUE) ||
		    in->imm < 0 || (size_t)in->imm >= env->prog->map_cnt)
			continue;
		r.map = env->prog->maps[in->imm];
		if ((err = reg_rec(env, &r, &rec)))
			return err;
		for (int k = 0; rec && k < rec->cnt; k++) {
			if (rec->f[k].kind != GF_LIST_HEAD &&
			    rec->f[k].kind != GF_RB_ROOT)
				continue;
			env->err_insn = (int)i;
			return verr(env, -EINVAL,
				    "tracing progs cannot use bpf_{list_head,rb_root} yet");
		}
	}
	return 0;
}

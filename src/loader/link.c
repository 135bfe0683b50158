/*
 * Linking one program, as libbpf's bpf_object__reloc_code() does.
 *
 * The program's body is copied first; then the linker walks the linked
 * instructions in order, and every call or function-pointer lddw that
 * reaches a function not yet in the program appends that function's body
 * at the end (once: a second reference reuses the first copy). Because
 * the walk continues over the appended code, subprograms called only by
 * subprograms come along too. Each linked instruction remembers where it
 * came from (function and instruction within its section), which is what
 * relocation lookups and error messages need.
 *
 * Call targets: with a relocation (R_BPF_64_32) against a function or
 * section symbol the target is symbol value / 8 + imm + 1 in that symbol's
 * section; without one the call is already pc-relative to its own
 * section. Either way the new imm is relative to the linked program.
 * lddw relocations (R_BPF_64_64) become BPF_PSEUDO_FUNC (code),
 * BPF_PSEUDO_MAP_IDX (a map; imm = index into prog->maps) or
 * BPF_PSEUDO_MAP_IDX_VALUE (global data; second imm = offset in the
 * section). Calls to undefined symbols are kfuncs, resolved by name in
 * bpfx's kfunc table. func_info and line_info records of each copied
 * function are rebased onto linked instruction offsets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

struct link_origin {
	u32 func;     /* index in ld->funcs */
	u32 sec_insn; /* instruction within the function's section */
};

struct linker {
	struct bpfx_program *prog;
	struct bpfx_object *obj;
	struct loader_state *ld;
	struct bpf_insn *insns;
	struct link_origin *origin;
	size_t cnt, cap;
	size_t *func_off; /* per ld func: linked offset, or SIZE_MAX */
	struct bpfx_map **maps;
	size_t map_cnt;
	struct func_info_rec *fi;
	size_t fi_cnt, fi_cap;
	struct line_info_rec *li;
	size_t li_cnt, li_cap;
	char *err;
	size_t err_sz;
	size_t *err_insn;
};

static int link_fail(struct linker *lk, size_t insn, int err,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int link_fail(struct linker *lk, size_t insn, int err,
		     const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(lk->err, lk->err_sz, "insn %zu: %s", insn, msg);
	*lk->err_insn = insn;
	return -err;
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = n;
	return true;
}

static int add_ext_info(struct linker *lk, const struct ld_func *f,
			size_t base)
{
	const struct ld_section *sec = &lk->ld->secs[f->sec_idx];
	const struct ld_ext_info *fi = &sec->func_info, *li = &sec->line_info;
	u64 lo = f->insn_off, hi = f->insn_off + f->insn_cnt;

	for (u32 k = 0; k < fi->cnt; k++) {
		struct func_info_rec rec;
		const u8 *p = fi->recs + (size_t)k * fi->rec_size;

		memcpy(&rec, p, sizeof(rec));
		if (rec.insn_off % LD_INSN_SZ ||
		    rec.insn_off / LD_INSN_SZ < lo ||
		    rec.insn_off / LD_INSN_SZ >= hi)
			continue;
		if (!grow((void **)&lk->fi, &lk->fi_cap, lk->fi_cnt + 1,
			  sizeof(*lk->fi)))
			return -ENOMEM;
		rec.insn_off = base + rec.insn_off / LD_INSN_SZ - lo;
		lk->fi[lk->fi_cnt++] = rec;
	}
	for (u32 k = 0; k < li->cnt; k++) {
		struct line_info_rec rec;
		const u8 *p = li->recs + (size_t)k * li->rec_size;

		memcpy(&rec, p, sizeof(rec));
		if (rec.insn_off % LD_INSN_SZ ||
		    rec.insn_off / LD_INSN_SZ < lo ||
		    rec.insn_off / LD_INSN_SZ >= hi)
			continue;
		if (!grow((void **)&lk->li, &lk->li_cap, lk->li_cnt + 1,
			  sizeof(*lk->li)))
			return -ENOMEM;
		rec.insn_off = base + rec.insn_off / LD_INSN_SZ - lo;
		lk->li[lk->li_cnt++] = rec;
	}
	return 0;
}

/* Copies function FUNC to the end of the program, unless it is there. */
static int append_func(struct linker *lk, size_t func, size_t *off)
{
	const struct ld_func *f = &lk->ld->funcs[func];
	const struct ld_section *sec = &lk->ld->secs[f->sec_idx];
	size_t base = lk->cnt;
	int err;

	if (lk->func_off[func] != SIZE_MAX) {
		*off = lk->func_off[func];
		return 0;
	}
	if (lk->cnt + f->insn_cnt > LD_MAX_INSNS)
		return -E2BIG;
	if (!grow((void **)&lk->insns, &lk->cap, lk->cnt + f->insn_cnt,
		  sizeof(*lk->insns)))
		return -ENOMEM;
	/* origin grows with insns: same capacity */
	void *p = realloc(lk->origin, lk->cap * sizeof(*lk->origin));
	if (!p)
		return -ENOMEM;
	lk->origin = p;
	memcpy(lk->insns + base, sec->data + f->insn_off * LD_INSN_SZ,
	       f->insn_cnt * LD_INSN_SZ);
	for (size_t j = 0; j < f->insn_cnt; j++) {
		lk->origin[base + j].func = func;
		lk->origin[base + j].sec_insn = f->insn_off + j;
	}
	lk->cnt += f->insn_cnt;
	lk->func_off[func] = base;
	err = add_ext_info(lk, f, base);
	if (err)
		return err;
	if (sec->core_relo_cnt)
		pr_debug("loader: %s: section %s: function '%s': CO-RE "
			 "relocations left as compiled (UAPI layouts)",
			 lk->ld->label, sec->name, f->name);
	*off = base;
	return 0;
}

/* The linked offset of instruction TARGET of section SEC, appending the
 * function that holds it. */
static int link_target(struct linker *lk, size_t i, int sec, s64 target,
		       size_t *linked)
{
	const struct loader_state *ld = lk->ld;
	const struct ld_func *f;
	size_t base;
	int err;

	if (target < 0 || (u64)target >= ld->secs[sec].size / LD_INSN_SZ)
		return link_fail(lk, i, EINVAL,
				 "call to out-of-range target %lld in section "
				 "%s (%llu instructions)", (long long)target,
				 ld->secs[sec].name,
				 (unsigned long long)(ld->secs[sec].size /
						      LD_INSN_SZ));
	f = ld_find_func(ld, sec, target);
	if (!f)
		return link_fail(lk, i, EINVAL,
				 "call target %lld in section %s is in no "
				 "function", (long long)target,
				 ld->secs[sec].name);
	err = append_func(lk, f - ld->funcs, &base);
	if (err == -E2BIG)
		return link_fail(lk, i, E2BIG,
				 "program grows beyond %u instructions",
				 LD_MAX_INSNS);
	if (err)
		return err;
	*linked = base + (target - f->insn_off);
	return 0;
}

static int prog_map_index(struct linker *lk, struct bpfx_map *map)
{
	struct bpfx_map **maps;

	for (size_t k = 0; k < lk->map_cnt; k++)
		if (lk->maps[k] == map)
			return k;
	maps = realloc(lk->maps, (lk->map_cnt + 1) * sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	lk->maps = maps;
	maps[lk->map_cnt] = map;
	return lk->map_cnt++;
}

static int reloc_call(struct linker *lk, size_t i, const struct ld_reloc *r)
{
	const struct loader_state *ld = lk->ld;
	const struct ld_symbol *sym = &ld->syms[r->sym];
	struct bpf_insn *insn = &lk->insns[i];
	size_t linked;
	int err;

	if (sym->shndx == SHN_UNDEF) {
		int idx = kfunc_by_name(sym->name);

		if (idx < 0)
			return link_fail(lk, i, ENOENT, "kfunc '%s' not found",
					 sym->name);
		if (!kfunc_allowed(idx, lk->prog->type))
			return link_fail(lk, i, EACCES,
					 "calling kernel function %s is not allowed",
					 sym->name);
		insn->src_reg = BPF_PSEUDO_KFUNC_CALL;
		insn->imm = idx;
		insn->off = 0;
		return 0;
	}
	if (insn->src_reg != BPF_PSEUDO_CALL)
		return link_fail(lk, i, EINVAL,
				 "relocation against '%s' on a helper call",
				 sym->name);
	if (sym->shndx >= ld->sec_cnt ||
	    ld->secs[sym->shndx].kind != LD_SEC_PROG)
		return link_fail(lk, i, EINVAL,
				 "call to '%s', which is not code", sym->name);
	err = link_target(lk, i, sym->shndx,
			  (s64)(sym->value / LD_INSN_SZ) + insn->imm + 1,
			  &linked);
	if (err)
		return err;
	lk->insns[i].imm = (s64)linked - (s64)i - 1;
	return 0;
}

static int reloc_lddw(struct linker *lk, size_t i, const struct ld_reloc *r)
{
	struct bpfx_object *obj = lk->obj;
	const struct loader_state *ld = lk->ld;
	const struct ld_symbol *sym = &ld->syms[r->sym];
	const struct ld_section *tsec;
	s64 addend = lk->insns[i].imm;
	size_t linked;
	int idx, err;
	s64 off;

	if (sym->shndx == SHN_UNDEF) {
		if (ld_btf_var_in_datasec(obj->btf, ".kconfig", sym->name))
			return link_fail(lk, i, ENOTSUP,
					 "__kconfig extern '%s' is unsupported",
					 sym->name);
		return link_fail(lk, i, ENOTSUP,
				 "__ksym extern '%s' is unsupported (only "
				 "kfunc calls are)", sym->name);
	}
	if (sym->shndx >= ld->sec_cnt)
		return link_fail(lk, i, EINVAL,
				 "lddw relocation against '%s', which is in no "
				 "section", sym->name);
	tsec = &ld->secs[sym->shndx];
	switch (tsec->kind) {
	case LD_SEC_PROG:
		off = (s64)sym->value + addend;
		if (off % LD_INSN_SZ)
			return link_fail(lk, i, EINVAL,
					 "function pointer to offset %lld of "
					 "section %s is not on an instruction",
					 (long long)off, tsec->name);
		err = link_target(lk, i, sym->shndx, off / LD_INSN_SZ,
				  &linked);
		if (err)
			return err;
		lk->insns[i].src_reg = BPF_PSEUDO_FUNC;
		lk->insns[i].imm = (s64)linked - (s64)i - 1;
		lk->insns[i + 1].imm = 0;
		return 0;
	case LD_SEC_MAPS:
	case LD_SEC_LEGACY_MAPS:
		off = sym->value;
		if (sym->type == STT_SECTION)
			off += addend;
		idx = ld_map_at(obj, sym->shndx, off);
		if (idx < 0)
			return link_fail(lk, i, EINVAL,
					 "no map at offset %lld of section %s "
					 "(symbol '%s')", (long long)off,
					 tsec->name, sym->name);
		idx = prog_map_index(lk, obj->maps[idx]);
		if (idx < 0)
			return idx;
		lk->insns[i].src_reg = BPF_PSEUDO_MAP_IDX;
		lk->insns[i].imm = idx;
		lk->insns[i + 1].imm = 0;
		return 0;
	case LD_SEC_DATA: {
		struct bpfx_map *map;

		if (tsec->map_idx < 0)
			return link_fail(lk, i, EINVAL,
					 "reference to empty section %s",
					 tsec->name);
		map = obj->maps[tsec->map_idx];
		off = (s64)sym->value + addend;
		if (off < 0 || off >= map->value_size)
			return link_fail(lk, i, EINVAL,
					 "offset %lld is outside section %s "
					 "(%u bytes)", (long long)off,
					 tsec->name, map->value_size);
		idx = prog_map_index(lk, map);
		if (idx < 0)
			return idx;
		lk->insns[i].src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
		lk->insns[i].imm = idx;
		lk->insns[i + 1].imm = off;
		return 0;
	}
	default:
		return link_fail(lk, i, EINVAL,
				 "lddw relocation against '%s' in section %s, "
				 "which is neither code, a map nor global data",
				 sym->name, tsec->name);
	}
}

static int link_insns(struct linker *lk)
{
	const struct loader_state *ld = lk->ld;
	int err = 0;

	for (size_t i = 0; i < lk->cnt && !err; i++) {
		struct link_origin o = lk->origin[i];
		const struct ld_func *f = &ld->funcs[o.func];
		const struct ld_section *sec = &ld->secs[f->sec_idx];
		const struct ld_reloc *r =
			ld_find_reloc(sec, (u64)o.sec_insn * LD_INSN_SZ);
		const struct bpf_insn *insn = &lk->insns[i];

		if (insn->code == LD_OP_LDDW) {
			if (o.sec_insn + 1 >= f->insn_off + f->insn_cnt)
				return link_fail(lk, i, EINVAL,
						 "lddw at the end of function "
						 "'%s'", f->name);
			if (r)
				err = reloc_lddw(lk, i, r);
			else if (insn->src_reg == BPF_PSEUDO_FUNC)
				err = link_fail(lk, i, EINVAL,
						"function pointer without a "
						"relocation");
			i++; /* the second half */
		} else if (insn->code == LD_OP_CALL) {
			size_t linked;

			if (r) {
				err = reloc_call(lk, i, r);
			} else if (insn->src_reg == BPF_PSEUDO_CALL) {
				err = link_target(lk, i, f->sec_idx,
						  (s64)o.sec_insn + insn->imm + 1,
						  &linked);
				if (!err)
					lk->insns[i].imm =
						(s64)linked - (s64)i - 1;
			}
		}
	}
	return err;
}

/* The exception callback: the main function's BTF FUNC may carry one decl
 * tag "exception_callback:NAME" (libbpf's __exception_cb); NAME is a global
 * function, appended like a subprogram though nothing calls it. */
static int link_exception_cb(struct linker *lk, const struct ld_func *main_func)
{
	const struct btf *btf = lk->obj->btf;
	static const char prefix[] = "exception_callback:";
	const char *cb_name = NULL;
	s32 main_id;

	if (!btf)
		return 0;
	main_id = btf__find_by_name_kind(btf, main_func->name, BTF_KIND_FUNC);
	if (main_id <= 0)
		return 0;
	for (u32 id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name;

		if (!t || btf_kind(t) != BTF_KIND_DECL_TAG || t->type != (u32)main_id ||
		    btf_decl_tag(t)->component_idx != -1)
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		if (!name || strncmp(name, prefix, sizeof(prefix) - 1))
			continue;
		if (cb_name)
			return link_fail(lk, 0, EINVAL,
					 "multiple exception callback tags for main subprog");
		cb_name = name + sizeof(prefix) - 1;
	}
	if (!cb_name)
		return 0;
	for (size_t k = 0; k < lk->ld->func_cnt; k++) {
		const struct ld_func *f = &lk->ld->funcs[k];
		size_t off;
		int err;

		if (strcmp(f->name, cb_name))
			continue;
		if (f == main_func)
			return link_fail(lk, 0, EINVAL,
					 "exception callback '%s' is the main program",
					 cb_name);
		if (!f->global)
			return link_fail(lk, 0, EINVAL,
					 "exception callback '%s' must be a global function",
					 cb_name);
		err = append_func(lk, k, &off);
		if (err)
			return err;
		lk->prog->exception_cb_insn = (u32)off;
		return 0;
	}
	return link_fail(lk, 0, ENOENT, "exception callback '%s' not found",
			 cb_name);
}

static int cmp_line(const void *a, const void *b)
{
	const struct line_info_rec *x = a, *y = b;

	return x->insn_off < y->insn_off ? -1 : x->insn_off > y->insn_off;
}

static int cmp_func_info(const void *a, const void *b)
{
	const struct func_info_rec *x = a, *y = b;

	return x->insn_off < y->insn_off ? -1 : x->insn_off > y->insn_off;
}

int ld_link_program(struct bpfx_program *prog, char *err, size_t err_sz,
		    size_t *err_insn)
{
	struct loader_state *ld = prog->obj->ld;
	const struct ld_func *main_func;
	struct linker lk = {
		.prog = prog,
		.obj = prog->obj,
		.ld = ld,
		.err = err,
		.err_sz = err_sz,
		.err_insn = err_insn,
	};
	size_t base;
	int ret;

	*err_insn = SIZE_MAX;
	err[0] = '\0';
	main_func = ld_find_func(ld, prog->sec_idx, prog->sec_insn_off);
	if (!main_func) {
		snprintf(err, err_sz, "program has no function");
		return -EINVAL;
	}
	lk.func_off = malloc(ld->func_cnt * sizeof(*lk.func_off));
	if (!lk.func_off)
		return -ENOMEM;
	for (size_t k = 0; k < ld->func_cnt; k++)
		lk.func_off[k] = SIZE_MAX;

	prog->exception_cb_insn = 0;
	ret = append_func(&lk, main_func - ld->funcs, &base);
	if (!ret)
		ret = link_exception_cb(&lk, main_func);
	if (!ret)
		ret = link_insns(&lk);
	if (ret == -ENOMEM && !err[0])
		snprintf(err, err_sz, "out of memory");

	/* the result stays even on failure: disassembly and messages use it */
	if (lk.li_cnt)
		qsort(lk.li, lk.li_cnt, sizeof(*lk.li), cmp_line);
	if (lk.fi_cnt)
		qsort(lk.fi, lk.fi_cnt, sizeof(*lk.fi), cmp_func_info);
	free(prog->insns);
	free(prog->maps);
	free(prog->func_info);
	free(prog->line_info);
	prog->insns = lk.insns;
	prog->insn_cnt = lk.cnt;
	prog->maps = lk.maps;
	prog->map_cnt = lk.map_cnt;
	prog->func_info = lk.fi;
	prog->func_info_cnt = lk.fi_cnt;
	prog->line_info = lk.li;
	prog->line_info_cnt = lk.li_cnt;
	free(lk.origin);
	free(lk.func_off);
	return ret;
}

/*
 * Dynptrs: the 16-byte struct bpf_dynptr on the stack, made by
 * bpf_dynptr_from_mem, bpf_ringbuf_reserve_dynptr, bpf_dynptr_from_skb,
 * _from_skb_meta, _from_xdp and bpf_dynptr_clone, used by the dynptr
 * helpers and kfuncs, with the kernel's rules and messages.
 *
 * A dynptr takes two stack slots, every byte marked STACK_DYNPTR, the
 * first (lower) slot flagged; both carry its type, its id and, for a ring
 * buffer dynptr, its reference (acquired by the reservation, so a path
 * that never submits or discards it leaks "Unreleased reference id=N";
 * clones share it). An argument that makes a dynptr must point at 16
 * stack bytes at a constant, 8-aligned offset; making it writes them, so
 * a dynptr there before is destroyed, unless it holds a reference
 * ("cannot overwrite referenced dynptr"). One that uses a dynptr must
 * point at the first slot of an initialised one ("Expected an initialized
 * dynptr as arg #N").
 *
 * The program never sees the bytes: a load from them is refused (the
 * generic "invalid read from stack"), so is a helper reading or writing
 * them as memory, and a store into either slot destroys the dynptr. Its
 * slices (bpf_dynptr_data, bpf_dynptr_slice[_rdwr]) are PTR_TO_MEM of the
 * requested constant size, NULL-checked, that remember the dynptr's id:
 * destroying the dynptr makes them unknown scalars, releasing a ring
 * buffer dynptr kills the slices and clones holding its reference, and
 * slices of packet dynptrs die with the packet pointers whenever the
 * packet may move (bpf_skb_pull_data, bpf_xdp_adjust_head, a
 * bpf_dynptr_write to an skb dynptr).
 *
 * A global function's `struct bpf_dynptr *` argument is the caller's
 * initialised dynptr; inside the function it is a CONST_PTR_TO_DYNPTR,
 * which calls may read through but not release or remake.
 */
#include "verifier/verifier.h"

static const char *const dynptr_type_names[] = {
	[BPFX_DYNPTR_INVALID] = "invalid", [BPFX_DYNPTR_LOCAL] = "local",
	[BPFX_DYNPTR_RINGBUF] = "ringbuf", [BPFX_DYNPTR_SKB] = "skb",
	[BPFX_DYNPTR_XDP] = "xdp",         [BPFX_DYNPTR_SKB_META] = "skb_meta",
};

static bool refcounted(u8 type)
{
	return type == BPFX_DYNPTR_RINGBUF;
}

static bool is_packet_type(u8 type)
{
	return type == BPFX_DYNPTR_SKB || type == BPFX_DYNPTR_XDP ||
	       type == BPFX_DYNPTR_SKB_META;
}

/* ---- stack slots ---- */

/* The kernel's stack_slot_obj_get_spi(): the first slot of the dynptr R
 * points at, -ERANGE when it lies beyond the slots its frame has used
 * (no message: an uninitialised dynptr may go there), another negative
 * errno after a message. */
static int dynptr_spi(struct venv *env, const struct vreg *r)
{
	const struct vframe *fr = env->cur->frame[r->frameno];
	s64 off;
	int spi;

	if (!tnum_is_const(r->var_off))
		return verr(env, -EINVAL, "dynptr has to be at a constant offset");
	off = (s64)r->off + (s64)r->var_off.value;
	if (off % 8)
		return verr(env, -EINVAL, "cannot pass in dynptr at an offset=%lld",
			    (long long)off);
	spi = (int)((-off - 1) / 8); /* truncates toward 0, as C does in
				      * the kernel: off 0 gives spi 0 */
	if (spi + 1 < 2)
		return verr(env, -EINVAL, "cannot pass in dynptr at an offset=%lld",
			    (long long)off);
	if (spi - 1 < 0 || spi >= fr->nslots)
		return -ERANGE;
	return spi;
}

static bool slot_all(const struct vframe *fr, int spi, u8 type)
{
	for (int b = 0; b < 8; b++)
		if (stack_type(fr, spi, b) != type)
			return false;
	return true;
}

static bool dynptr_valid_init(const struct vframe *fr, int spi)
{
	return spi >= 1 && spi < fr->nslots && fr->slots[spi].dynptr_first &&
	       slot_all(fr, spi, STACK_DYNPTR) &&
	       slot_all(fr, spi - 1, STACK_DYNPTR);
}

static void clear_slot(struct vslot *s)
{
	memset(s->stype, STACK_INVALID, 8);
	s->dynptr_type = BPFX_DYNPTR_INVALID;
	s->dynptr_first = false;
	s->dynptr_id = 0;
	s->dynptr_ref = 0;
}

/* Slices of dynptr ID are dead: unknown scalars, as the kernel makes them
 * for a privileged program. */
static void invalidate_slices(struct venv *env, u32 id)
{
	FOR_EACH_REG(env->cur, r, {
		if (r->type == PTR_TO_MEM && r->dynptr_id == id)
			reg_mark_unknown(r);
	});
}

/* destroy_if_dynptr_stack_slot(): a write reaches slot SPI of FR. */
static int destroy_slot(struct venv *env, struct vframe *fr, int spi)
{
	u32 id;

	if (spi < 0 || spi >= fr->nslots ||
	    fr->slots[spi].stype[0] != STACK_DYNPTR)
		return 0;
	if (!fr->slots[spi].dynptr_first)
		spi++;
	if (spi >= fr->nslots)
		return 0;
	if (refcounted(fr->slots[spi].dynptr_type))
		return verr(env, -EINVAL, "cannot overwrite referenced dynptr");
	id = fr->slots[spi].dynptr_id;
	clear_slot(&fr->slots[spi]);
	clear_slot(&fr->slots[spi - 1]);
	invalidate_slices(env, id);
	return 0;
}

int dynptr_stack_write(struct venv *env, struct vframe *fr, s64 lo, s64 hi)
{
	if (hi <= lo)
		return 0;
	for (int spi = (int)((-lo - 1) / 8); spi >= (int)((-(hi - 1) - 1) / 8);
	     spi--) {
		int err = destroy_slot(env, fr, spi);

		if (err)
			return err;
	}
	return 0;
}

int dynptr_helper_write(struct venv *env, const struct vframe *fr, s64 lo,
			s64 hi)
{
	for (s64 b = lo; b < hi; b++) {
		int spi = (int)((-b - 1) / 8);

		if (stack_type(fr, spi, (int)(b + 8 * (spi + 1))) == STACK_DYNPTR)
			return verr(env, -EACCES,
				    "potential write to dynptr at off=%lld disallowed",
				    (long long)b);
	}
	return 0;
}

int dynptr_log_slot(const struct vframe *fr, int k, char *buf, size_t sz)
{
	const struct vslot *s;
	size_t n;

	/* the kernel prints a dynptr once, at its first slot, when its walk
	 * (from fp-8 down) meets the second */
	if (k + 1 >= fr->nslots || fr->slots[k].stype[0] != STACK_DYNPTR ||
	    fr->slots[k].dynptr_first)
		return 0;
	s = &fr->slots[k + 1];
	n = (size_t)snprintf(buf, sz, " fp%d=dynptr_%s(id=%u", -8 * (k + 2),
			     dynptr_type_names[s->dynptr_type], s->dynptr_id);
	if (s->dynptr_ref && n < sz)
		n += (size_t)snprintf(buf + n, sz - n, ",ref_id=%u", s->dynptr_ref);
	if (n < sz)
		snprintf(buf + n, sz - n, ",dynptr_id=%u)", s->dynptr_id);
	return 1;
}

/* mark_stack_slots_dynptr() */
static int make_dynptr(struct venv *env, const struct vreg *r, u8 type,
		       u32 clone_ref, int insn_idx, struct dynptr_info *info)
{
	struct vframe *fr = env->cur->frame[r->frameno];
	int spi = dynptr_spi(env, r), err;
	u32 id, ref = 0;

	if (spi < 0)
		return spi == -ERANGE
			       ? verr(env, -EFAULT, "dynptr stack slots not allocated")
			       : spi;
	if ((err = destroy_slot(env, fr, spi)) ||
	    (err = destroy_slot(env, fr, spi - 1)))
		return err;
	id = ++env->id_gen;
	if (refcounted(type)) {
		int acq = clone_ref ? (int)clone_ref
				    : acquire_reference(env, insn_idx);

		if (acq < 0)
			return acq;
		ref = (u32)acq;
	}
	for (int k = spi - 1; k <= spi; k++) {
		struct vslot *s = &fr->slots[k];

		memset(s->stype, STACK_DYNPTR, 8);
		memset(&s->spill, 0, sizeof(s->spill));
		s->dynptr_type = type;
		s->dynptr_first = k == spi;
		s->dynptr_id = id;
		s->dynptr_ref = ref;
	}
	hist_note_stack(env, r->frameno, spi);
	info->type = type;
	info->id = id;
	info->ref = ref;
	return 0;
}

/* unmark_stack_slots_dynptr(): a release function took the dynptr at
 * slot SPI of FR. */
static int release_dynptr(struct venv *env, struct vframe *fr, int spi)
{
	struct vslot *s = &fr->slots[spi];
	u32 ref = s->dynptr_ref, id = s->dynptr_id;
	int err;

	if (!refcounted(s->dynptr_type)) {
		clear_slot(&fr->slots[spi]);
		clear_slot(&fr->slots[spi - 1]);
		invalidate_slices(env, id);
		return 0;
	}
	/* its slices hold the reference */
	if ((err = release_reference(env, ref)))
		return err;
	/* and so do its clones */
	for (int k = 1; k < fr->nslots; k++) {
		if (fr->slots[k].stype[0] != STACK_DYNPTR ||
		    fr->slots[k].dynptr_ref != ref || !fr->slots[k].dynptr_first)
			continue;
		clear_slot(&fr->slots[k]);
		clear_slot(&fr->slots[k - 1]);
	}
	return 0;
}

/* The kernel's process_dynptr_func() with the release check
 * check_func_arg() makes first. */
int check_dynptr_arg(struct venv *env, int regno, int argno,
		     enum dynptr_arg_mode mode, u8 type, u32 clone_ref,
		     int insn_idx, struct dynptr_info *info)
{
	struct vreg *r = &cur_regs(env)[regno];
	struct vframe *fr;
	int spi, err;

	if (r->type != PTR_TO_STACK && r->type != CONST_PTR_TO_DYNPTR)
		return verr(env, -EINVAL,
			    "arg#%d expected pointer to stack or const struct bpf_dynptr",
			    argno);
	if (mode == DYNPTR_RELEASE) {
		if (r->type != PTR_TO_STACK)
			return verr(env, -EINVAL,
				    "cannot release unowned const bpf_dynptr");
		spi = dynptr_spi(env, r);
		fr = env->cur->frame[r->frameno];
		if (spi < 0 || !fr->slots[spi].dynptr_ref ||
		    fr->slots[spi].stype[0] != STACK_DYNPTR)
			return verr(env, -EINVAL, "arg %d is an unacquired reference",
				    regno);
	}
	if (mode == DYNPTR_UNINIT) {
		if (r->type == CONST_PTR_TO_DYNPTR ||
		    ((spi = dynptr_spi(env, r)) < 0 && spi != -ERANGE))
			return verr(env, -EINVAL,
				    "Dynptr has to be an uninitialized dynptr");
		/* the kernel writes the 16 bytes, 8 at a time */
		for (int i = 0; i < 16; i += 8)
			if ((err = check_mem_access(env, insn_idx, regno, i, 8,
						    true, -1, false)))
				return err;
		return make_dynptr(env, r, type, clone_ref, insn_idx, info);
	}
	if (r->type == CONST_PTR_TO_DYNPTR) {
		/* a global function's argument: a local dynptr it may only
		 * read through */
		if (type && type != BPFX_DYNPTR_LOCAL)
			return verr(env, -EINVAL,
				    "Expected a dynptr of type %s as arg #%d",
				    dynptr_type_names[type], argno);
		info->type = BPFX_DYNPTR_LOCAL;
		info->id = r->id;
		info->ref = 0;
		return 0;
	}
	fr = env->cur->frame[r->frameno];
	spi = dynptr_spi(env, r);
	if (spi < 0 || !dynptr_valid_init(fr, spi))
		return verr(env, -EINVAL,
			    "Expected an initialized dynptr as arg #%d", argno);
	if (type && fr->slots[spi].dynptr_type != type)
		return verr(env, -EINVAL, "Expected a dynptr of type %s as arg #%d",
			    dynptr_type_names[type], argno);
	info->type = fr->slots[spi].dynptr_type;
	info->id = fr->slots[spi].dynptr_id;
	info->ref = fr->slots[spi].dynptr_ref;
	hist_note_stack(env, r->frameno, spi);
	if (mode == DYNPTR_RELEASE)
		return release_dynptr(env, fr, spi);
	return 0;
}

/* ---- kfuncs ---- */

enum dkf_arg {
	KA_NONE = 0,
	KA_SCALAR,
	KA_CTX,           /* the program's context, unmodified */
	KA_DYNPTR,        /* an initialised dynptr */
	KA_DYNPTR_UNINIT, /* made by the call: the kfunc's type, or a clone's */
	KA_BUF_OPT,       /* memory or NULL, its constant size next */
};

enum dkf_ret { KR_INT = 0, KR_SLICE, KR_SLICE_RDWR };

struct dynptr_kfunc {
	const char *name;
	u8 make;          /* the type KA_DYNPTR_UNINIT makes; 0: the parent's */
	u8 args[5];
	u8 ret;
};

static const struct dynptr_kfunc dynptr_kfuncs[] = {
	{ "bpf_dynptr_from_skb", BPFX_DYNPTR_SKB,
	  { KA_CTX, KA_SCALAR, KA_DYNPTR_UNINIT }, KR_INT },
	{ "bpf_dynptr_from_skb_meta", BPFX_DYNPTR_SKB_META,
	  { KA_CTX, KA_SCALAR, KA_DYNPTR_UNINIT }, KR_INT },
	{ "bpf_dynptr_from_xdp", BPFX_DYNPTR_XDP,
	  { KA_CTX, KA_SCALAR, KA_DYNPTR_UNINIT }, KR_INT },
	{ "bpf_dynptr_slice", 0, { KA_DYNPTR, KA_SCALAR, KA_BUF_OPT },
	  KR_SLICE },
	{ "bpf_dynptr_slice_rdwr", 0, { KA_DYNPTR, KA_SCALAR, KA_BUF_OPT },
	  KR_SLICE_RDWR },
	{ "bpf_dynptr_adjust", 0, { KA_DYNPTR, KA_SCALAR, KA_SCALAR }, KR_INT },
	{ "bpf_dynptr_is_null", 0, { KA_DYNPTR }, KR_INT },
	{ "bpf_dynptr_is_rdonly", 0, { KA_DYNPTR }, KR_INT },
	{ "bpf_dynptr_size", 0, { KA_DYNPTR }, KR_INT },
	{ "bpf_dynptr_clone", 0, { KA_DYNPTR, KA_DYNPTR_UNINIT }, KR_INT },
	{ "bpf_dynptr_copy", 0,
	  { KA_DYNPTR, KA_SCALAR, KA_DYNPTR, KA_SCALAR, KA_SCALAR }, KR_INT },
	{ "bpf_dynptr_memset", 0, { KA_DYNPTR, KA_SCALAR, KA_SCALAR, KA_SCALAR },
	  KR_INT },
};

static const struct dynptr_kfunc *dynptr_kfunc(const struct bpf_insn *insn)
{
	if (insn->code != (BPF_JMP | BPF_CALL) ||
	    insn->src_reg != BPF_PSEUDO_KFUNC_CALL || insn->imm < 0 ||
	    (size_t)insn->imm >= kfunc_cnt)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(dynptr_kfuncs); i++)
		if (!strcmp(kfuncs[insn->imm].name, dynptr_kfuncs[i].name))
			return &dynptr_kfuncs[i];
	return NULL;
}

bool is_dynptr_kfunc(const struct venv *env, const struct bpf_insn *insn)
{
	(void)env;
	return dynptr_kfunc(insn) != NULL;
}

/* A buffer argument REGNO (ARGNO) with its constant size in the next:
 * the kernel's KF_ARG_PTR_TO_MEM_SIZE with __opt and __szk. */
static int check_buf_arg(struct venv *env, int regno, int argno, u64 *size)
{
	struct vreg *regs = cur_regs(env);
	struct vreg *buf = &regs[regno], *sz = &regs[regno + 1];
	int err = 0;

	if ((err = check_reg_read(env, regno + 1)))
		return err;
	if (!(buf->type == SCALAR_VALUE && reg_is_const(buf) &&
	      buf->var_off.value == 0)) {
		u64 max = 0;

		err = check_size_arg(env, regno + 1, true, &max);
		if (!err && max)
			err = helper_mem(env, regno, max, false, false);
		if (!err && max)
			err = helper_mem(env, regno, max, true, false);
		if (err) {
			verr(env, err,
			     "arg#%d arg#%d memory, len pair leads to invalid memory access",
			     argno, argno + 1);
			return err;
		}
	} else if ((err = mark_precise(env, regno))) {
		return err;
	}
	if (sz->type != SCALAR_VALUE || !tnum_is_const(sz->var_off))
		return verr(env, -EINVAL, "R%d must be a known constant",
			    regno + 1);
	*size = sz->var_off.value;
	return mark_precise(env, regno + 1);
}

int check_dynptr_kfunc(struct venv *env, const struct bpf_insn *insn,
		       int idx)
{
	const struct dynptr_kfunc *k = dynptr_kfunc(insn);
	struct vreg *regs = cur_regs(env);
	struct dynptr_info parent = { 0 }, made = { 0 };
	u64 size = 0;
	int err;

	for (int a = 0; a < 5 && k->args[a]; a++) {
		int regno = a + 1;
		struct vreg *r = &regs[regno];
		char t[48];

		if ((err = check_reg_read(env, regno)))
			return err;
		switch (k->args[a]) {
		case KA_SCALAR:
			if (r->type != SCALAR_VALUE)
				return verr(env, -EINVAL, "R%d is not a scalar",
					    regno);
			break;
		case KA_CTX:
			if (r->type != PTR_TO_CTX) {
				reg_fmt(r, t, sizeof(t));
				return verr(env, -EINVAL,
					    "arg#%d expected pointer to ctx, but got %s",
					    a, t);
			}
			if (r->off || !tnum_is_const(r->var_off) ||
			    r->var_off.value)
				return verr(env, -EACCES,
					    "dereference of modified ctx ptr R%d off=%d disallowed",
					    regno, r->off);
			break;
		case KA_DYNPTR:
			err = check_dynptr_arg(env, regno, a, DYNPTR_INIT, 0, 0,
					       idx, &parent);
			if (err)
				return err;
			break;
		case KA_DYNPTR_UNINIT:
			err = check_dynptr_arg(env, regno, a, DYNPTR_UNINIT,
					       k->make ? k->make : parent.type,
					       k->make ? 0 : parent.ref, idx,
					       &made);
			if (err)
				return err;
			break;
		case KA_BUF_OPT:
			if ((err = check_buf_arg(env, regno, a, &size)))
				return err;
			a++; /* the size */
			break;
		}
	}
	if (k->ret == KR_SLICE_RDWR && !prog_type_writes_packet(env->prog_type))
		return verr(env, -EINVAL,
			    "the prog does not allow writes to packet data");
	for (int i = 1; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
	if (k->ret == KR_INT) {
		reg_mark_unknown(&regs[0]);
		return 0;
	}
	memset(&regs[0], 0, sizeof(regs[0]));
	regs[0].type = PTR_TO_MEM;
	regs[0].flags = VREG_MAYBE_NULL;
	if (k->ret == KR_SLICE)
		regs[0].flags |= VREG_RDONLY;
	if (is_packet_type(parent.type))
		regs[0].flags |= VREG_PKT_SLICE;
	regs[0].mem_size = (u32)size;
	regs[0].var_off = tnum_const(0);
	regs[0].dynptr_id = parent.id;
	/* as the kernel: a slice holds no reference, even of a ring buffer
	 * dynptr (packet slices are what it has in mind) */
	regs[0].id = ++env->id_gen;
	return 0;
}

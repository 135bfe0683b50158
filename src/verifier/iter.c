/*
 * Open-coded iterators: bpf_iter_num_new / _next / _destroy, the kfuncs
 * behind bpf_for() and bpf_repeat(), with the kernel's rules.
 *
 * The iterator is an 8-byte struct on the stack. new() needs a slot that
 * holds no iterator, marks it STACK_ITER and takes a reference (so a
 * program that never destroys it leaks "Unreleased reference id=N"); next()
 * and destroy() need an initialised one; destroy() releases it. A write
 * into the slot turns it into plain bytes.
 *
 * next() is where the loop is proven. Each call splits the path, as the
 * kernel's process_iter_next_call(): the current path sees the iterator
 * drained (r0 = NULL) and goes on after the loop; a queued path sees it
 * active one level deeper (r0 = a 4-byte read-only value) and runs the body
 * again. The loop converges when a later visit of the next() call finds a
 * checkpoint there whose ranges hold its own (is_state_visited, RANGE_WITHIN
 * on every scalar). To get there, the queued path forgets the scalars that
 * changed since the previous iteration and nothing has asked to be precise
 * (widening, the kernel's widen_imprecise_scalars()).
 */
#include "verifier.h"

enum iter_kfunc { ITER_NONE, ITER_NEW, ITER_NEXT, ITER_DESTROY };

static enum iter_kfunc iter_kind(const struct venv *env,
				 const struct bpf_insn *insn)
{
	const char *name;

	if (insn->code != (BPF_JMP | BPF_CALL) ||
	    insn->src_reg != BPF_PSEUDO_KFUNC_CALL || insn->imm < 0 ||
	    (size_t)insn->imm >= kfunc_cnt)
		return ITER_NONE;
	name = kfuncs[insn->imm].name;
	if (!strcmp(name, "bpf_iter_num_new"))
		return ITER_NEW;
	if (!strcmp(name, "bpf_iter_num_next"))
		return ITER_NEXT;
	if (!strcmp(name, "bpf_iter_num_destroy"))
		return ITER_DESTROY;
	return ITER_NONE;
}

bool is_iter_kfunc(const struct venv *env, const struct bpf_insn *insn)
{
	return iter_kind(env, insn) != ITER_NONE;
}

bool is_iter_next_insn(const struct venv *env, int insn)
{
	return iter_kind(env, &env->insns[insn]) == ITER_NEXT;
}

/* The frame and slot R1 points at, or an error in the kernel's words. */
static int iter_slot(struct venv *env, int *framep, int *spip)
{
	struct vreg *r = &cur_regs(env)[1];
	s64 off;
	int err;

	if ((err = check_reg_read(env, 1)))
		return err;
	if (r->type != PTR_TO_STACK)
		return verr(env, -EINVAL,
			    "arg#0 expected pointer to an iterator on stack");
	if (!tnum_is_const(r->var_off))
		return verr(env, -EINVAL, "iter has to be at a constant offset");
	off = (s64)r->var_off.value + r->off;
	if (off % 8 || off >= 0)
		return verr(env, -EINVAL, "cannot pass in iter at an offset=%lld",
			    (long long)off);
	if (off < -MAX_BPF_STACK)
		return verr(env, -ERANGE,
			    "invalid indirect access to stack R1 off=%lld size=8",
			    (long long)off);
	*framep = r->frameno;
	*spip = (int)((-off - 1) / 8);
	return 0;
}

static bool slot_is_iter(const struct vframe *fr, int spi)
{
	for (int b = 0; b < 8; b++)
		if (stack_type(fr, spi, b) != STACK_ITER)
			return false;
	return true;
}

static bool scalars_same(const struct vreg *a, const struct vreg *b)
{
	return a->var_off.value == b->var_off.value &&
	       a->var_off.mask == b->var_off.mask && a->smin == b->smin &&
	       a->smax == b->smax && a->umin == b->umin && a->umax == b->umax &&
	       a->s32_min == b->s32_min && a->s32_max == b->s32_max &&
	       a->u32_min == b->u32_min && a->u32_max == b->u32_max;
}

/* A scalar that changed since the previous iteration and that no decision
 * needed exactly: any value. */
static void widen_imprecise(struct vreg *cur, const struct vreg *prev)
{
	if (cur->type == SCALAR_VALUE && prev->type == SCALAR_VALUE &&
	    !cur->precise && !prev->precise && !scalars_same(cur, prev))
		reg_mark_unknown(cur);
}

void widen_imprecise_scalars(struct vstate *q, const struct vstate *prev)
{
	for (int f = 0; f <= q->curframe; f++) {
		struct vframe *qf = q->frame[f];
		const struct vframe *pf = prev->frame[f];

		for (int r = 0; r < 11; r++)
			widen_imprecise(&qf->regs[r], &pf->regs[r]);
		for (int k = 0; k < qf->nslots && k < pf->nslots; k++)
			if (qf->slots[k].stype[0] == STACK_SPILL &&
			    pf->slots[k].stype[0] == STACK_SPILL)
				widen_imprecise(&qf->slots[k].spill,
						&pf->slots[k].spill);
	}
}

/* The checkpoint the previous iteration left at the loop instruction IDX
 * (a next() call, a may_goto) on this path (not the one this visit just
 * made), with the same frames. */
const struct vstate *loop_prev_checkpoint(const struct vstate *cur, int idx)
{
	const struct vstate *st = cur->parent;

	if (st && st->insn == idx)
		st = st->parent;
	for (; st; st = st->parent) {
		bool same = st->insn == idx && st->curframe == cur->curframe;

		for (int f = 0; same && f <= cur->curframe; f++)
			same = st->frame[f]->callsite == cur->frame[f]->callsite;
		if (same)
			return st;
	}
	return NULL;
}

static int iter_next(struct venv *env, int idx, int frameno, int spi)
{
	struct vslot *slot = &env->cur->frame[frameno]->slots[spi];
	struct vreg *r0 = &cur_regs(env)[0];

	if (slot->iter_state == ITER_ACTIVE) {
		const struct vstate *prev = loop_prev_checkpoint(env->cur, idx);
		struct vstate *q = state_dup(env->cur);
		struct vslot *qs;
		struct vreg *q0;
		int err;

		if (!q)
			return -ENOMEM;
		qs = &q->frame[frameno]->slots[spi];
		qs->iter_depth++;
		if (prev)
			widen_imprecise_scalars(q, prev);
		q0 = &q->frame[q->curframe]->regs[0];
		memset(q0, 0, sizeof(*q0));
		q0->type = PTR_TO_MEM;
		q0->flags = VREG_RDONLY;
		q0->mem_size = 4;
		q0->var_off = tnum_const(0);
		q0->id = ++env->id_gen;
		/* dead once the iterator is destroyed */
		q0->ref_obj_id = qs->iter_ref;
		if (q->parent)
			q->parent->branches++;
		err = push_state(env, q, idx + 1);
		if (err) {
			if (q->parent)
				q->parent->branches--;
			state_free(q);
			return err;
		}
	}
	/* this path: the iterator is drained, next() returned NULL */
	slot->iter_state = ITER_DRAINED;
	reg_mark_known(r0, 0);
	return 0;
}

/* Checks the iterator kfunc call at IDX; 0 when INSN is no iterator kfunc
 * or the call is fine (registers set), <0 on rejection. */
int check_iter_kfunc(struct venv *env, const struct bpf_insn *insn, int idx)
{
	enum iter_kfunc kind = iter_kind(env, insn);
	struct vreg *regs = cur_regs(env);
	struct vframe *fr;
	int frameno = 0, spi = 0, err, ref;

	if ((err = iter_slot(env, &frameno, &spi)))
		return err;
	fr = env->cur->frame[frameno];
	if (kind == ITER_NEW) {
		for (int r = 2; r <= 3; r++) {
			if ((err = check_reg_read(env, r)))
				return err;
			if (regs[r].type != SCALAR_VALUE)
				return verr(env, -EINVAL, "R%d is not a scalar", r);
		}
		if (slot_is_iter(fr, spi) ||
		    (spi < fr->nslots && fr->slots[spi].stype[0] == STACK_ITER))
			return verr(env, -EINVAL,
				    "expected uninitialized iter_num as arg #0");
		if ((err = frame_reserve(fr, spi + 1)))
			return err;
		ref = acquire_reference(env, idx);
		if (ref < 0)
			return ref;
		memset(fr->slots[spi].stype, STACK_ITER, 8);
		memset(&fr->slots[spi].spill, 0, sizeof(fr->slots[spi].spill));
		fr->slots[spi].iter_ref = (u32)ref;
		fr->slots[spi].iter_state = ITER_ACTIVE;
		fr->slots[spi].iter_depth = 0;
		hist_note_stack(env, frameno, spi);
		for (int i = 1; i <= 5; i++)
			memset(&regs[i], 0, sizeof(regs[i]));
		reg_mark_unknown(&regs[0]);
		return 0;
	}
	if (!slot_is_iter(fr, spi))
		return verr(env, -EINVAL,
			    "expected an initialized iter_num as arg #0");
	if (kind == ITER_DESTROY) {
		if ((err = release_reference(env, fr->slots[spi].iter_ref)))
			return err;
		memset(fr->slots[spi].stype, STACK_INVALID, 8);
		fr->slots[spi].iter_state = ITER_NONE_STATE;
		for (int i = 0; i <= 5; i++) /* returns void */
			memset(&regs[i], 0, sizeof(regs[i]));
		return 0;
	}
	for (int i = 1; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
	return iter_next(env, idx, frameno, spi);
}

/* Whether the next() call ST is at sees its iterator active. */
bool iter_next_active(const struct vstate *st)
{
	const struct vreg *r1 = &st->frame[st->curframe]->regs[1];
	const struct vframe *fr;
	s64 off;
	int spi;

	if (r1->type != PTR_TO_STACK || !tnum_is_const(r1->var_off))
		return false;
	off = (s64)r1->var_off.value + r1->off;
	if (off >= 0 || off < -MAX_BPF_STACK || off % 8)
		return false;
	fr = st->frame[r1->frameno];
	spi = (int)((-off - 1) / 8);
	return slot_is_iter(fr, spi) &&
	       fr->slots[spi].iter_state == ITER_ACTIVE;
}

/* Whether ST runs inside an iterator loop's body (an active iterator one
 * or more levels deep). Checkpoints there may lack precision marks that
 * iterations pruned against unfinished states never sent back, so they
 * are compared on every scalar's range. */
bool state_in_iter_body(const struct vstate *st)
{
	for (int f = 0; f <= st->curframe; f++) {
		const struct vframe *fr = st->frame[f];

		for (int k = 0; k < fr->nslots; k++)
			if (fr->slots[k].stype[0] == STACK_ITER &&
			    fr->slots[k].iter_state == ITER_ACTIVE &&
			    fr->slots[k].iter_depth)
				return true;
	}
	return false;
}

/* Whether the active iterators of OLD and CUR sit at different depths: a
 * state that repeats with a deeper iterator is the next iteration, not an
 * infinite loop. */
bool iter_depths_differ(const struct vstate *old, const struct vstate *cur)
{
	for (int f = 0; f <= old->curframe && f <= cur->curframe; f++) {
		const struct vframe *of = old->frame[f], *cf = cur->frame[f];

		for (int k = 0; k < of->nslots && k < cf->nslots; k++)
			if (of->slots[k].stype[0] == STACK_ITER &&
			    of->slots[k].iter_state == ITER_ACTIVE &&
			    cf->slots[k].stype[0] == STACK_ITER &&
			    of->slots[k].iter_depth != cf->slots[k].iter_depth)
				return true;
	}
	return false;
}

/*
 * Precision tracking, as the kernel's mark_chain_precision() does it.
 *
 * Pruning compares a new state with the checkpoints kept at a prune
 * point. A scalar's range only has to match when some decision on the
 * path depended on it: a conditional jump whose outcome its range decided,
 * pointer arithmetic, a helper's size argument, a return value checked
 * against a range, a zero stored into the stack. Such a scalar is
 * "precise"; every other scalar compares equal to any scalar, so a loop
 * that only accumulates (a counter of hits, a sum) stops being explored
 * once its control state repeats.
 *
 * When a decision needs register R, the verifier walks the current path
 * backwards: the instructions the current state executed (env->hist, one
 * entry per instruction, with the stack slot it touched and the scalars a
 * jump refined together), then each parent checkpoint's instructions. A
 * register's precision passes to what produced it (r1 = r2 passes to r2,
 * r1 += r2 to both, a fill to the stack slot, a spill to the register
 * spilled); a constant, a helper's result or a load from memory ends it.
 * At each checkpoint on the way the registers and slots still needed are
 * marked precise, so the next state compared with that checkpoint must
 * match them. A checkpoint already precise there was walked before: the
 * walk stops. A callback's instructions are walked with an empty mask of
 * their own (the helper gives them their arguments and takes nothing back
 * from them but what they leave in memory), the caller's mask waiting
 * across them. What the walk cannot follow (linked scalars in another
 * frame, atomics on the stack) marks every scalar of the path precise, as
 * the kernel's mark_all_scalars_precise().
 *
 * After a hit, the scalars precise in the old state become precise on the
 * path that was pruned (propagate_precision()): its ancestors' safety now
 * rests on the same values.
 *
 * The history is one array for the whole walk: a state pushed for later
 * remembers where its history ends, and the walk truncates the array back
 * to that point when it pops the state (paths are explored depth first,
 * so a pushed state's history is a prefix of the current one).
 */
#include "verifier/verifier.h"

struct backtrack {
	u16 regs[BPFX_MAX_CALL_FRAMES];
	u64 slots[BPFX_MAX_CALL_FRAMES];
	bool give_up;
};

int hist_push(struct venv *env, int idx)
{
	struct hist_entry *e;

	if (env->hist_cnt == env->hist_cap) {
		size_t cap = env->hist_cap ? env->hist_cap * 2 : 1024;
		struct hist_entry *h = realloc(env->hist, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		env->hist = h;
		env->hist_cap = cap;
	}
	e = &env->hist[env->hist_cnt++];
	memset(e, 0, sizeof(*e));
	e->idx = idx;
	e->frame = env->cur->curframe;
	return 0;
}

void hist_note_stack(struct venv *env, int frame, int slot)
{
	struct hist_entry *e;

	if (!env->hist_cnt)
		return;
	e = hist_cur(env);
	e->flags |= HIST_STACK;
	e->stack_frame = frame;
	e->stack_slot = slot;
}

void mark_all_imprecise(struct vstate *st)
{
	for (int f = 0; f <= st->curframe; f++) {
		struct vframe *fr = st->frame[f];

		for (int i = 0; i < 11; i++)
			fr->regs[i].precise = false;
		for (int k = 0; k < fr->nslots; k++)
			fr->slots[k].spill.precise = false;
	}
}

static void mark_all_precise(struct vstate *st)
{
	for (; st; st = st->parent)
		for (int f = 0; f <= st->curframe; f++) {
			struct vframe *fr = st->frame[f];

			for (int i = 0; i < 11; i++)
				if (fr->regs[i].type == SCALAR_VALUE)
					fr->regs[i].precise = true;
			for (int k = 0; k < fr->nslots; k++)
				if (slot_is_spill(fr, k) &&
				    fr->slots[k].spill.type == SCALAR_VALUE)
					fr->slots[k].spill.precise = true;
		}
}

static bool bt_empty(const struct backtrack *bt)
{
	for (int f = 0; f < BPFX_MAX_CALL_FRAMES; f++)
		if (bt->regs[f] || bt->slots[f])
			return false;
	return true;
}

static bool bt_frame_empty(const struct backtrack *bt, int f)
{
	return !bt->regs[f] && !bt->slots[f];
}

/* One instruction, backwards: what the registers and slots in the masks
 * were computed from. */
static void bt_insn(struct venv *env, struct backtrack *bt,
		    const struct hist_entry *e)
{
	const struct bpf_insn *in = &env->insns[e->idx];
	u8 cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	u16 *regs = &bt->regs[e->frame];
	u16 d = 1u << in->dst_reg, s = 1u << in->src_reg;
	u64 slot = e->flags & HIST_STACK ? 1ULL << e->stack_slot : 0;
	u64 *slots = &bt->slots[e->stack_frame];
	bool is_x = BPF_SRC(in->code) == BPF_X;

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (!(*regs & d))
			return;
		if (op == BPF_MOV) {
			*regs &= ~d;
			if (is_x)
				*regs |= s;
		} else if (is_x && op != BPF_END && op != BPF_NEG) {
			*regs |= s;
		}
		return;
	case BPF_LDX:
		if (!(*regs & d))
			return;
		*regs &= ~d;
		if (slot) {
			*slots |= slot;
			/* a read across two slots: both */
			if ((e->flags & HIST_STACK2) && e->stack_slot)
				*slots |= slot >> 1;
		}
		return;
	case BPF_ST:
	case BPF_STX:
		if (BPF_MODE(in->code) == BPF_ATOMIC) {
			u16 def = in->imm == BPF_CMPXCHG ? 1 :
				  (in->imm & BPF_FETCH) ? s : 0;

			if ((slot && (*slots & slot)) ||
			    (slot && (*regs & def)))
				bt->give_up = true;
			*regs &= ~def;
			return;
		}
		if (!slot || !(*slots & slot))
			return;
		*slots &= ~slot;
		if (cls == BPF_STX)
			*regs |= s;
		return;
	case BPF_LD:
		/* lddw: a constant; LD_ABS/IND: r0 from the packet */
		if (BPF_MODE(in->code) == BPF_IMM)
			*regs &= ~d;
		else
			*regs &= ~1;
		return;
	case BPF_JMP:
	case BPF_JMP32:
		if (op == BPF_CALL) {
			/* a helper's, kfunc's or global function's result */
			*regs &= ~1;
			if (*regs & 0x3e)
				bt->give_up = true;
			return;
		}
		if (op == BPF_EXIT || op == BPF_JA || op == BPF_JCOND)
			return;
		if (e->flags & HIST_LINK_FAR) {
			if (!bt_empty(bt))
				bt->give_up = true;
			return;
		}
		{
			u16 rset = d | (is_x ? s : 0);
			u64 sset = 0;

			if (e->flags & HIST_LINKED) {
				rset |= e->link_regs;
				sset = e->link_slots;
			}
			if (!is_x && !(e->flags & HIST_LINKED))
				return;
			if ((*regs & rset) || (bt->slots[e->frame] & sset)) {
				*regs |= rset;
				bt->slots[e->frame] |= sset;
			}
		}
		return;
	}
}

/* Entries [start, end) of the history, newest first; FRAME is the frame
 * of the instruction that followed them. Returns the frame of the first. */
static int bt_range(struct venv *env, struct backtrack *bt, u32 start,
		    u32 end, int frame)
{
	env->bt_steps += end - start;
	for (u32 i = end; i-- > start;) {
		const struct hist_entry *e = &env->hist[i];
		int f = e->frame;

		if (f == frame + 1 && (e->flags & HIST_CALLBACK)) {
			/* back into a callback from its helper's call (its
			 * next iteration) or what follows it: the helper made
			 * r0 and the callback's arguments, so nothing of the
			 * callee is needed; what the caller needs from before
			 * the call stays in its frame's mask, as the kernel's
			 * backtrack_insn() does for callbacks */
			bt->regs[f] = 0;
			bt->slots[f] = 0;
			frame = f;
			bt_insn(env, bt, e);
			if (bt->give_up || bt_empty(bt))
				return f;
			continue;
		} else if (f == frame + 1) {
			/* back into a callee from its return: the caller's r0
			 * is the callee's */
			if (bt->regs[frame] & 0x3e)
				bt->give_up = true;
			bt->regs[f] = bt->regs[frame] & 1;
			bt->slots[f] = 0;
			bt->regs[frame] &= ~1;
		} else if (f == frame - 1 && (e->flags & HIST_CALLBACK)) {
			/* back from a callback's first instruction to its
			 * helper's call: its r1-r5 came from the helper; it
			 * can have needed nothing else from before it ran */
			bt->regs[frame] &= ~0x3e;
			if (!bt_frame_empty(bt, frame)) {
				bt->give_up = true;
				return f;
			}
			frame = f;
		} else if (f == frame - 1) {
			/* back from a callee's first instruction to its call:
			 * its arguments are the caller's r1-r5 */
			if (((bt->regs[frame] & ~0x3e) || bt->slots[frame]) &&
			    !bt_frame_empty(bt, frame)) {
				bt->give_up = true;
				return f;
			}
			bt->regs[f] |= bt->regs[frame] & 0x3e;
			bt->regs[frame] = 0;
			bt->slots[frame] = 0;
			frame = f;
			continue;
		} else if (f != frame) {
			bt->give_up = true;
			return f;
		}
		frame = f;
		bt_insn(env, bt, e);
		if (bt->give_up || bt_empty(bt))
			return f;
	}
	return frame;
}

/* The masks at a checkpoint: mark what is not precise yet, drop what is
 * (its own history was walked when it was marked). */
static void bt_mark_state(struct backtrack *bt, struct vstate *st)
{
	for (int f = 0; f < BPFX_MAX_CALL_FRAMES; f++) {
		struct vframe *fr;

		if (f > st->curframe) {
			if (!bt_frame_empty(bt, f))
				bt->give_up = true;
			continue;
		}
		fr = st->frame[f];
		for (int i = 0; i < 11; i++) {
			struct vreg *r = &fr->regs[i];

			if (!(bt->regs[f] & (1u << i)))
				continue;
			if (r->type != SCALAR_VALUE || r->precise)
				bt->regs[f] &= ~(1u << i);
			else
				r->precise = true;
		}
		for (int k = 0; k < SLOTS; k++) {
			struct vreg *r;

			if (!(bt->slots[f] & (1ULL << k)))
				continue;
			if (!slot_is_spill(fr, k) ||
			    fr->slots[k].spill.type != SCALAR_VALUE) {
				bt->slots[f] &= ~(1ULL << k);
				continue;
			}
			r = &fr->slots[k].spill;
			if (r->precise)
				bt->slots[f] &= ~(1ULL << k);
			else
				r->precise = true;
		}
	}
}

/* skip_last: the current instruction is being checked and asks for the
 * precision; the walk starts before it. */
/* Backtracking walks the path's history; on long paths with many marks
 * that is quadratic. Past this many history entries walked in one
 * verification, every mark marks all scalars of the path precise, as the
 * kernel does when it cannot follow a value: sound, and prunes less. */
#define BT_STEP_BUDGET (64ULL << 20)

static int mark_chain(struct venv *env, struct backtrack *bt, bool skip_last)
{
	struct vstate *st = env->cur;
	u32 end = env->hist_cnt;
	int frame = st->curframe;

	if (bt_empty(bt))
		return 0;
	if (env->bt_steps > BT_STEP_BUDGET) {
		mark_all_precise(env->cur);
		return 0;
	}
	if (skip_last && end > st->hist_start) {
		frame = env->hist[end - 1].frame;
		end--;
	}
	for (;;) {
		bt_range(env, bt, st->hist_start, end, frame);
		if (bt->give_up)
			break;
		if (bt_empty(bt))
			return 0;
		st = st->parent;
		if (!st)
			return 0; /* entry values: nothing produced them */
		bt_mark_state(bt, st);
		if (bt->give_up)
			break;
		if (bt_empty(bt))
			return 0;
		end = st->hist_end;
		frame = st->curframe;
	}
	mark_all_precise(env->cur);
	return 0;
}

int mark_precise(struct venv *env, int regno)
{
	struct backtrack bt = { 0 };
	struct vstate *st = env->cur;

	if (cur_regs(env)[regno].type != SCALAR_VALUE)
		return 0;
	bt.regs[st->curframe] = 1u << regno;
	return mark_chain(env, &bt, true);
}

int propagate_precision(struct venv *env, const struct vstate *old, int insn)
{
	struct backtrack bt = { 0 };

	for (int f = 0; f <= old->curframe; f++) {
		const struct vframe *fr = old->frame[f];
		u16 live = f == old->curframe
				   ? env->live[insn]
				   : env->live[old->frame[f + 1]->callsite + 1];

		for (int i = 0; i < 11; i++)
			if (fr->regs[i].type == SCALAR_VALUE &&
			    fr->regs[i].precise && (live & (1u << i)))
				bt.regs[f] |= 1u << i;
		for (int k = 0; k < fr->nslots; k++)
			if (slot_is_spill(fr, k) &&
			    fr->slots[k].spill.type == SCALAR_VALUE &&
			    fr->slots[k].spill.precise)
				bt.slots[f] |= 1ULL << k;
	}
	return mark_chain(env, &bt, false);
}

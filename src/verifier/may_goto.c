/*
 * may_goto (BPF_JMP | BPF_JCOND, src 0): a conditional jump whose
 * condition the program cannot see. At run time every frame has a budget
 * of BPF_MAX_LOOPS passes, set on entry (interp.c, the JIT's prologues);
 * may_goto falls through while the budget lasts and jumps once it is
 * spent. clang emits it for the cond_break macro: a loop that may_goto
 * leaves is bounded whatever else it does.
 *
 * The verifier sees both outcomes, as the kernel's check_cond_jmp_op():
 * the current path takes the jump (the loop's exit) and a queued path
 * falls through one may_goto deeper (the state's may_goto_depth), with
 * the scalars that changed since the previous pass and that nothing asked
 * to be precise widened to unknown (iter.c: widen_imprecise_scalars).
 * The loop converges when a pass reaches the may_goto with a state whose
 * ranges lie within those of a checkpoint there that is still being
 * explored at another depth (is_state_visited); a repeat at the same
 * depth is still an infinite loop.
 */
#include "verifier.h"

bool is_may_goto_insn(const struct bpf_insn *insn)
{
	return insn->code == (BPF_JMP | BPF_JCOND) &&
	       insn->src_reg == BPF_MAY_GOTO;
}

int check_may_goto(struct venv *env, const struct bpf_insn *insn, int idx,
		   int *next)
{
	const struct vstate *prev;
	struct vstate *fall;
	int err;

	if (!is_may_goto_insn(insn) || insn->dst_reg || insn->imm)
		return verr(env, -EINVAL, "invalid may_goto imm %d", insn->imm);
	prev = loop_prev_checkpoint(env->cur, idx);
	fall = state_dup(env->cur);
	if (!fall)
		return -ENOMEM;
	fall->may_goto_depth++;
	if (prev)
		widen_imprecise_scalars(fall, prev);
	err = push_state(env, fall, idx + 1);
	if (err) {
		state_free(fall);
		return err;
	}
	if (fall->parent)
		fall->parent->branches++;
	*next = idx + 1 + insn->off;
	return 0;
}

/*
 * IRQ-disabled sections: bpf_local_irq_save(&flags) and
 * bpf_local_irq_restore(&flags), with the kernel's rules and messages
 * (kernel/bpf/verifier.c, process_irq_flag()).
 *
 * The flag is an 8-byte slot of the stack (a pointer to anything else is
 * "arg#0 doesn't point to an irq flag on stack"). save() needs a slot
 * that holds no flag, writes it, marks it STACK_IRQ_FLAG and opens an IRQ
 * state with an id from the reference counter; restore() needs a flag
 * slot (a write into it makes plain bytes of it) and must close the
 * innermost open state: sections nest like a stack, "cannot restore irq
 * state out of order" otherwise. The states travel with the path, across
 * calls of static subprograms, and are not references a path leaks: at an
 * exit of the program, a bpf_throw or a tail call an open one is refused
 * with "... cannot be used inside bpf_local_irq_save-ed region"
 * (check_resource_leak). bpfx has no helper or kfunc that sleeps, the
 * kernel's other rule inside such sections.
 */
#include "verifier.h"

enum irq_kfunc { IRQ_NONE, IRQ_SAVE, IRQ_RESTORE };

static enum irq_kfunc irq_kind(const struct venv *env,
			       const struct bpf_insn *insn)
{
	const char *name;

	(void)env;
	if (insn->code != (BPF_JMP | BPF_CALL) ||
	    insn->src_reg != BPF_PSEUDO_KFUNC_CALL || insn->imm < 0 ||
	    (size_t)insn->imm >= kfunc_cnt)
		return IRQ_NONE;
	name = kfuncs[insn->imm].name;
	if (!strcmp(name, "bpf_local_irq_save"))
		return IRQ_SAVE;
	if (!strcmp(name, "bpf_local_irq_restore"))
		return IRQ_RESTORE;
	return IRQ_NONE;
}

bool is_irq_kfunc(const struct venv *env, const struct bpf_insn *insn)
{
	return irq_kind(env, insn) != IRQ_NONE;
}

/* The kernel's irq_flag_get_spi(): the slot R1 points at; -ERANGE when
 * the frame's stack does not reach it yet, another error with a message. */
static int irq_flag_spi(struct venv *env, const struct vreg *r, int *spip)
{
	const struct vframe *fr = env->cur->frame[r->frameno];
	s64 off;

	if (!tnum_is_const(r->var_off))
		return verr(env, -EINVAL, "irq_flag has to be at a constant offset");
	off = (s64)r->var_off.value + r->off;
	if (off % 8)
		return verr(env, -EINVAL, "cannot pass in irq_flag at an offset=%lld",
			    (long long)off);
	if (off >= 0 || off < -MAX_BPF_STACK)
		return -ERANGE;
	*spip = (int)((-off - 1) / 8);
	if (*spip >= fr->nslots)
		return -ERANGE;
	return 0;
}

static bool slot_is_irq_flag(const struct vframe *fr, int spi)
{
	for (int b = 0; b < 8; b++)
		if (stack_type(fr, spi, b) != STACK_IRQ_FLAG)
			return false;
	return true;
}

static int irq_save(struct venv *env, int idx, struct vreg *r)
{
	struct vstate *st = env->cur;
	struct vframe *fr = st->frame[r->frameno];
	int spi = 0, err;

	err = irq_flag_spi(env, r, &spi);
	if (err && err != -ERANGE)
		return err;
	if (!err)
		for (int b = 0; b < 8; b++)
			if (stack_type(fr, spi, b) == STACK_IRQ_FLAG)
				return verr(env, -EINVAL,
					    "expected uninitialized irq flag as arg#0");
	/* the kfunc writes the 8 bytes: a spill or iterator there is gone */
	if ((err = check_mem_access(env, idx, 1, 0, 8, true, -1, false)))
		return err;
	if ((err = irq_flag_spi(env, r, &spi)))
		return err < 0 && err != -ERANGE ? err : -EFAULT;
	if (st->irq_cnt == MAX_REFS)
		return verr(env, -EINVAL, "too many references");
	st->irq_refs[st->irq_cnt].id = ++env->id_gen;
	st->irq_refs[st->irq_cnt].insn = (u32)idx;
	memset(fr->slots[spi].stype, STACK_IRQ_FLAG, 8);
	memset(&fr->slots[spi].spill, 0, sizeof(fr->slots[spi].spill));
	fr->slots[spi].iter_ref = env->id_gen;
	fr->slots[spi].iter_state = 0;
	fr->slots[spi].iter_depth = 0;
	st->irq_cnt++;
	hist_note_stack(env, r->frameno, spi);
	return 0;
}

static int irq_restore(struct venv *env, struct vreg *r)
{
	struct vstate *st = env->cur;
	struct vframe *fr = st->frame[r->frameno];
	int spi = 0, err = irq_flag_spi(env, r, &spi);
	u32 id;

	if (err == -ERANGE || (!err && !slot_is_irq_flag(fr, spi)))
		return verr(env, -EINVAL,
			    "expected an initialized irq flag as arg#0");
	if (err)
		return err;
	id = fr->slots[spi].iter_ref;
	/* the kernel's release_irq_state(): only the innermost state */
	if (!st->irq_cnt || st->irq_refs[st->irq_cnt - 1].id != id) {
		u32 active = st->irq_cnt ? st->irq_refs[st->irq_cnt - 1].id : 0;
		u32 insn = st->irq_cnt ? st->irq_refs[st->irq_cnt - 1].insn : 0;

		return verr(env, -EACCES,
			    "cannot restore irq state out of order, expected id=%u acquired at insn_idx=%u",
			    active, insn);
	}
	st->irq_cnt--;
	memset(fr->slots[spi].stype, STACK_INVALID, 8);
	fr->slots[spi].iter_ref = 0;
	hist_note_stack(env, r->frameno, spi);
	return 0;
}

int check_irq_kfunc(struct venv *env, const struct bpf_insn *insn, int idx)
{
	struct vreg *regs = cur_regs(env);
	struct vreg r;
	int err;

	if ((err = check_reg_read(env, 1)))
		return err;
	r = regs[1];
	if (r.type != PTR_TO_STACK)
		return verr(env, -EINVAL,
			    "arg#0 doesn't point to an irq flag on stack");
	err = irq_kind(env, insn) == IRQ_SAVE ? irq_save(env, idx, &r)
					       : irq_restore(env, &r);
	if (err)
		return err;
	/* void kfuncs: the caller-saved registers are gone, R0 too */
	for (int i = 0; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
	return 0;
}

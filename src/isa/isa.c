/*
 * Instruction decoding and the structural check.
 *
 * isa_ops[] is generated from the one opcode list (opcodes.h). Decoding
 * looks up the opcode byte in a 256-entry index built from that table,
 * then picks the entry whose selector (offset, immediate or source field)
 * matches, and refuses the instruction if a field it does not use is set,
 * as the kernel's verifier does ("reserved fields").
 *
 * isa_check() is the part of verification that needs no abstract state:
 * every instruction decodes, registers exist and r10 is never written,
 * jumps and calls land inside the program and never on the second slot of
 * an lddw, jumps stay inside their function (functions begin at insn 0 and
 * at every call target), and every function ends in an exit or a jump, so
 * control cannot fall off the end or into the next function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const struct isa_op_desc isa_ops[BPFX_OP__COUNT] = {
#define ISA_OP_DESC(id, opc, sel_, selval_, mnem, fields_)                     \
	[BPFX_OP_##id] = { .mnemonic = mnem,                                   \
			   .opcode = opc,                                      \
			   .sel = sel_,                                        \
			   .selval = selval_,                                  \
			   .fields = fields_ },
	BPFX_OPCODES(ISA_OP_DESC)
#undef ISA_OP_DESC
};

/* For each opcode byte, the first isa_ops entry with it; entries sharing
 * a byte are adjacent in the list or chained through next_same_opcode. */
static s16 first_with_opcode[256];
static s16 next_same_opcode[BPFX_OP__COUNT];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
	for (int i = 0; i < 256; i++)
		first_with_opcode[i] = -1;
	for (int op = BPFX_OP__COUNT - 1; op >= 0; op--) {
		u8 opc = isa_ops[op].opcode;
		next_same_opcode[op] = first_with_opcode[opc];
		first_with_opcode[opc] = (s16)op;
	}
}

static bool selector_matches(const struct isa_op_desc *d,
			     const struct bpf_insn *insn)
{
	switch (d->sel) {
	case SEL_OFF:
		return insn->off == d->selval;
	case SEL_IMM:
		return insn->imm == d->selval;
	case SEL_SRC:
		return insn->src_reg == d->selval;
	default:
		return true;
	}
}

/* Fields the instruction does not use must be zero; the selector field is
 * used by definition. */
static bool reserved_fields_clear(const struct isa_op_desc *d,
				  const struct bpf_insn *insn)
{
	u8 used = d->fields;
	if (d->sel == SEL_OFF)
		used |= U_OFF;
	else if (d->sel == SEL_IMM)
		used |= U_IMM;
	else if (d->sel == SEL_SRC)
		used |= U_SRC;
	if (!(used & U_DST) && insn->dst_reg)
		return false;
	if (!(used & U_SRC) && insn->src_reg)
		return false;
	if (!(used & U_OFF) && insn->off)
		return false;
	if (!(used & U_IMM) && insn->imm)
		return false;
	return true;
}

static enum bpfx_op decode(const struct bpf_insn *insn, bool *known_opcode)
{
	pthread_once(&index_once, build_index);
	*known_opcode = first_with_opcode[insn->code] >= 0;
	for (int op = first_with_opcode[insn->code]; op >= 0;
	     op = next_same_opcode[op]) {
		const struct isa_op_desc *d = &isa_ops[op];
		if (selector_matches(d, insn))
			return reserved_fields_clear(d, insn) ? (enum bpfx_op)op
							      : BPFX_OP_INVALID;
	}
	return BPFX_OP_INVALID;
}

enum bpfx_op isa_decode(const struct bpf_insn *insn)
{
	bool known;
	return decode(insn, &known);
}

static bool is_jump(enum bpfx_op op)
{
	u8 cls = isa_ops[op].opcode & 0x07;
	return (cls == BPF_JMP || cls == BPF_JMP32) && op != BPFX_OP_EXIT &&
	       op != BPFX_OP_CALL_HELPER && op != BPFX_OP_CALL_LOCAL &&
	       op != BPFX_OP_CALL_KFUNC && op != BPFX_OP_CALLX;
}

static bool is_lddw(enum bpfx_op op)
{
	return isa_ops[op].opcode == (BPF_LD | BPF_IMM | BPF_DW);
}

/* Instructions that write their dst register (r10 is read-only). */
static bool writes_dst(enum bpfx_op op)
{
	u8 cls = isa_ops[op].opcode & 0x07;
	return cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_LDX ||
	       is_lddw(op);
}

/* Atomics with BPF_FETCH and xchg write the old value to src. */
static bool writes_src(enum bpfx_op op, const struct bpf_insn *insn)
{
	u8 opc = isa_ops[op].opcode;
	return (opc == (BPF_STX | BPF_ATOMIC | BPF_W) ||
		opc == (BPF_STX | BPF_ATOMIC | BPF_DW)) &&
	       (insn->imm & BPF_FETCH) && insn->imm != BPF_CMPXCHG;
}

#define SLOT_LDDW_SECOND 0x1
#define SLOT_FUNC_START 0x2

#define CHECK_FAIL(...)                                                        \
	do {                                                                   \
		snprintf(err, err_sz, __VA_ARGS__);                            \
		return -EINVAL;                                                \
	} while (0)

/* Unverified (raw) programs only: no instruction may write r10, which the
 * engines keep as the frame pointer. Verified programs get the kernel's
 * check on the paths that reach an instruction. */
int isa_check_r10(const struct bpf_insn *insns, size_t cnt, char *err,
		  size_t err_sz)
{
	for (size_t i = 0; i < cnt; i++) {
		bool known;
		enum bpfx_op op = decode(&insns[i], &known);

		if (op == BPFX_OP_INVALID)
			continue;
		if ((writes_dst(op) && insns[i].dst_reg == BPF_REG_10) ||
		    (writes_src(op, &insns[i]) &&
		     insns[i].src_reg == BPF_REG_10)) {
			snprintf(err, err_sz,
				 "insn %zu: invalid register r10: frame pointer is read only",
				 i);
			return -EINVAL;
		}
		if (is_lddw(op))
			i++;
	}
	return 0;
}

int isa_check(const struct bpf_insn *insns, size_t cnt, char *err,
	      size_t err_sz)
{
	if (cnt == 0)
		CHECK_FAIL("empty program");
	if (cnt > 1000000)
		CHECK_FAIL("program too large (%zu insns)", cnt);

	/* Per instruction: the second slot of an lddw (no jump may land
	 * there), or the first instruction of a function. */
	u8 *second_slot = calloc(cnt, 1);
	if (!second_slot)
		CHECK_FAIL("out of memory");
	int ret = 0;

	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *insn = &insns[i];
		bool known;
		enum bpfx_op op = decode(insn, &known);
		if (op == BPFX_OP_INVALID) {
			if (known)
				snprintf(err, err_sz,
					 "insn %zu: reserved field set (opcode 0x%02x)",
					 i, insn->code);
			else
				snprintf(err, err_sz,
					 "insn %zu: invalid opcode 0x%02x", i,
					 insn->code);
			ret = -EINVAL;
			goto out;
		}
		if (insn->dst_reg > 10 || insn->src_reg > 10) {
			if (!(isa_ops[op].sel == SEL_SRC && insn->dst_reg <= 10)) {
				snprintf(err, err_sz,
					 "insn %zu: invalid register r%d", i,
					 insn->dst_reg > 10 ? insn->dst_reg
							    : insn->src_reg);
				ret = -EINVAL;
				goto out;
			}
		}
		if (is_lddw(op)) {
			const struct bpf_insn *next = insn + 1;
			if (i + 1 >= cnt || next->code || next->dst_reg ||
			    next->src_reg || next->off ||
			    (op != BPFX_OP_LDDW && op != BPFX_OP_LDDW_MAP_VALUE &&
			     op != BPFX_OP_LDDW_MAP_IDX_VALUE && next->imm)) {
				snprintf(err, err_sz, "insn %zu: incomplete lddw", i);
				ret = -EINVAL;
				goto out;
			}
			second_slot[++i] = SLOT_LDDW_SECOND;
		}
	}

	/* Jump and call targets; function starts: insn 0 and every target of
	 * a call or of an lddw of a function. */
	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *insn = &insns[i];
		if (second_slot[i] & SLOT_LDDW_SECOND)
			continue;
		enum bpfx_op op = isa_decode(insn);
		s64 target;
		const char *what;
		if (is_jump(op)) {
			target = (s64)i + 1 +
				 (op == BPFX_OP_JA32 ? insn->imm : insn->off);
			what = "jump";
		} else if (op == BPFX_OP_CALL_LOCAL ||
			   op == BPFX_OP_LDDW_FUNC) {
			target = (s64)i + 1 + insn->imm;
			what = "call";
		} else {
			continue;
		}
		if (target < 0 || target >= (s64)cnt) {
			/* the kernel's words (check_subprogs, add_subprog) */
			if (what[0] == 'j')
				snprintf(err, err_sz,
					 "insn %zu: jump out of range from insn %zu to %lld",
					 i, i, (long long)target);
			else
				snprintf(err, err_sz,
					 "insn %zu: call to invalid destination", i);
			ret = -EINVAL;
			goto out;
		}
		if (second_slot[target] & SLOT_LDDW_SECOND) {
			snprintf(err, err_sz,
				 "insn %zu: %s into the middle of lddw (insn %lld)",
				 i, what, (long long)target);
			ret = -EINVAL;
			goto out;
		}
		if (op == BPFX_OP_CALL_LOCAL || op == BPFX_OP_LDDW_FUNC)
			second_slot[target] |= SLOT_FUNC_START;
	}
	second_slot[0] |= SLOT_FUNC_START;

	/* Each function, as the kernel's check_subprogs(): jumps stay inside
	 * it and its last instruction is an exit or a jump, so control never
	 * falls from one function into the next. */
	for (size_t func = 0; func < cnt;) {
		size_t func_end = func + 1;
		while (func_end < cnt && !(second_slot[func_end] & SLOT_FUNC_START))
			func_end++;
		for (size_t i = func; i < func_end; i++) {
			enum bpfx_op op = isa_decode(&insns[i]);
			if ((second_slot[i] & SLOT_LDDW_SECOND) || !is_jump(op))
				continue;
			s64 target = (s64)i + 1 +
				     (op == BPFX_OP_JA32 ? insns[i].imm
							 : insns[i].off);
			if (target < (s64)func || target >= (s64)func_end) {
				snprintf(err, err_sz,
					 "insn %zu: jump out of range from insn %zu to %lld",
					 i, i, (long long)target);
				ret = -EINVAL;
				goto out;
			}
		}
		size_t last = func_end - 1;
		enum bpfx_op last_op = isa_decode(&insns[last]);
		if ((second_slot[last] & SLOT_LDDW_SECOND) ||
		    (last_op != BPFX_OP_EXIT && last_op != BPFX_OP_JA &&
		     last_op != BPFX_OP_JA32)) {
			snprintf(err, err_sz,
				 "insn %zu: last insn is not an exit or jump", last);
			ret = -EINVAL;
			goto out;
		}
		func = func_end;
	}
out:
	free(second_slot);
	return ret;
}

/*
 * The disassembler: one instruction to the text the assembler (asm.c)
 * reads back, so that assembling the output gives the same bytes.
 *
 * Names come from isa_ops[] through isa_decode(); the operand layout
 * follows from the opcode byte, as in the assembler. Immediates print in
 * decimal when small or negative and in hex otherwise; jump and call
 * targets print as +N/-N relative to the next slot. lddw prints its whole
 * 64-bit immediate (or its pseudo source, "map_by_fd(3)") and takes two
 * slots. Anything that does not decode (bad opcode, reserved field set,
 * an lddw without its second slot) prints as ".insn 0x<64-bit word>", the
 * slot's little-endian value as a "-- raw" section writes it.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const pseudo_names[] = {
	[BPF_PSEUDO_MAP_FD] = "map_by_fd",
	[BPF_PSEUDO_MAP_VALUE] = "map_val_by_fd",
	[BPF_PSEUDO_BTF_ID] = "btf_id",
	[BPF_PSEUDO_FUNC] = "func",
	[BPF_PSEUDO_MAP_IDX] = "map_by_idx",
	[BPF_PSEUDO_MAP_IDX_VALUE] = "map_val_by_idx",
};

static void fmt_imm(char *buf, size_t sz, s32 imm)
{
	if (imm < 0 && imm != INT32_MIN)
		snprintf(buf, sz, "%d", imm);
	else if (imm >= 0 && imm <= 10)
		snprintf(buf, sz, "%d", imm);
	else
		snprintf(buf, sz, "0x%x", (u32)imm);
}

static void fmt_mem(char *buf, size_t sz, int reg, s16 off)
{
	if (off)
		snprintf(buf, sz, "[%%r%d%+d]", reg, off);
	else
		snprintf(buf, sz, "[%%r%d]", reg);
}

static int raw_slot(const struct bpf_insn *insn, char *buf, size_t buf_sz)
{
	u64 raw;
	memcpy(&raw, insn, sizeof(raw));
	snprintf(buf, buf_sz, ".insn 0x%016llx", (unsigned long long)raw);
	return 1;
}

int isa_disasm(const struct bpf_insn *insns, size_t idx, size_t cnt,
	       char *buf, size_t buf_sz)
{
	const struct bpf_insn *insn = &insns[idx];
	enum bpfx_op op = isa_decode(insn);
	if (op == BPFX_OP_INVALID)
		return raw_slot(insn, buf, buf_sz);

	const struct isa_op_desc *d = &isa_ops[op];
	const char *name = d->mnemonic;
	u8 opc = d->opcode;
	int dst = insn->dst_reg, src = insn->src_reg;
	char imm[24], mem[32];
	fmt_imm(imm, sizeof(imm), insn->imm);

	switch (BPF_CLASS(opc)) {
	case BPF_ALU:
	case BPF_ALU64:
		if (d->fields & U_SRC)
			snprintf(buf, buf_sz, "%s %%r%d, %%r%d", name, dst, src);
		else if (d->fields & U_IMM)
			snprintf(buf, buf_sz, "%s %%r%d, %s", name, dst, imm);
		else
			snprintf(buf, buf_sz, "%s %%r%d", name, dst);
		return 1;
	case BPF_JMP:
	case BPF_JMP32:
		switch (op) {
		case BPFX_OP_EXIT:
			snprintf(buf, buf_sz, "%s", name);
			return 1;
		case BPFX_OP_CALL_HELPER:
			snprintf(buf, buf_sz, "call %s", imm);
			return 1;
		case BPFX_OP_CALL_LOCAL:
			snprintf(buf, buf_sz, "call local %+d", insn->imm);
			return 1;
		case BPFX_OP_CALL_KFUNC:
			if (insn->off)
				snprintf(buf, buf_sz, "call runtime %s, %d", imm,
					 insn->off);
			else
				snprintf(buf, buf_sz, "call runtime %s", imm);
			return 1;
		case BPFX_OP_CALLX:
			snprintf(buf, buf_sz, "%s %%r%d", name, dst);
			return 1;
		case BPFX_OP_JA:
			snprintf(buf, buf_sz, "%s %+d", name, insn->off);
			return 1;
		case BPFX_OP_JA32:
			snprintf(buf, buf_sz, "%s %+d", name, insn->imm);
			return 1;
		default:
			break;
		}
		if (d->fields & U_SRC)
			snprintf(buf, buf_sz, "%s %%r%d, %%r%d, %+d", name, dst, src,
				 insn->off);
		else
			snprintf(buf, buf_sz, "%s %%r%d, %s, %+d", name, dst, imm,
				 insn->off);
		return 1;
	case BPF_LD:
		if (BPF_MODE(opc) == BPF_IMM) {
			const struct bpf_insn *next = insn + 1;
			if (idx + 1 >= cnt || next->code || next->dst_reg ||
			    next->src_reg || next->off)
				return raw_slot(insn, buf, buf_sz);
			if (src == 0) {
				u64 v = (u64)(u32)insn->imm |
					((u64)(u32)next->imm << 32);
				snprintf(buf, buf_sz, "%s %%r%d, 0x%llx", name, dst,
					 (unsigned long long)v);
			} else if (next->imm) {
				snprintf(buf, buf_sz, "%s %%r%d, %s(%d)%+d", name,
					 dst, pseudo_names[src], insn->imm,
					 next->imm);
			} else {
				snprintf(buf, buf_sz, "%s %%r%d, %s(%d)", name, dst,
					 pseudo_names[src], insn->imm);
			}
			return 2;
		}
		if (BPF_MODE(opc) == BPF_ABS)
			snprintf(buf, buf_sz, "%s %s", name, imm);
		else
			snprintf(buf, buf_sz, "%s %%r%d, %s", name, src, imm);
		return 1;
	case BPF_LDX:
		fmt_mem(mem, sizeof(mem), src, insn->off);
		snprintf(buf, buf_sz, "%s %%r%d, %s", name, dst, mem);
		return 1;
	case BPF_ST:
		fmt_mem(mem, sizeof(mem), dst, insn->off);
		snprintf(buf, buf_sz, "%s %s, %s", name, mem, imm);
		return 1;
	default: /* STX and atomics */
		fmt_mem(mem, sizeof(mem), dst, insn->off);
		snprintf(buf, buf_sz, "%s %s, %%r%d", name, mem, src);
		return 1;
	}
}

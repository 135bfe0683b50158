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
		case BPFX_OP_MAY_GOTO:
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

/* ---- the kernel verifier log's syntax ---- */

static const char *const k_alu_ops[16] = {
	[BPF_ADD >> 4] = "+=", [BPF_SUB >> 4] = "-=", [BPF_MUL >> 4] = "*=",
	[BPF_DIV >> 4] = "/=", [BPF_OR >> 4] = "|=",  [BPF_AND >> 4] = "&=",
	[BPF_LSH >> 4] = "<<=", [BPF_RSH >> 4] = ">>=", [BPF_MOD >> 4] = "%=",
	[BPF_XOR >> 4] = "^=", [BPF_MOV >> 4] = "=",  [BPF_ARSH >> 4] = "s>>=",
};
static const char *const k_jmp_ops[16] = {
	[BPF_JEQ >> 4] = "==", [BPF_JGT >> 4] = ">",   [BPF_JGE >> 4] = ">=",
	[BPF_JSET >> 4] = "&", [BPF_JNE >> 4] = "!=",  [BPF_JSGT >> 4] = "s>",
	[BPF_JSGE >> 4] = "s>=", [BPF_JLT >> 4] = "<", [BPF_JLE >> 4] = "<=",
	[BPF_JSLT >> 4] = "s<", [BPF_JSLE >> 4] = "s<=",
};
static const char *const k_sizes[4] = { "u32", "u16", "u8", "u64" };

static const char *k_size(u8 code)
{
	return k_sizes[BPF_SIZE(code) >> 3];
}

static void k_atomic(const struct bpf_insn *in, char *buf, size_t sz)
{
	static const char *const ops[16] = {
		[BPF_ADD >> 4] = "add", [BPF_AND >> 4] = "and",
		[BPF_OR >> 4] = "or", [BPF_XOR >> 4] = "xor",
	};
	bool dw = BPF_SIZE(in->code) == BPF_DW;
	const char *ty = k_size(in->code), *a64 = dw ? "64" : "";
	int op = in->imm & ~BPF_FETCH;

	if (in->imm == BPF_XCHG)
		snprintf(buf, sz, "r%d = atomic%s_xchg((%s *)(r%d %+d), r%d)", in->src_reg,
			 a64, ty, in->dst_reg, in->off, in->src_reg);
	else if (in->imm == BPF_CMPXCHG)
		snprintf(buf, sz, "r0 = atomic%s_cmpxchg((%s *)(r%d %+d), r0, r%d)",
			 a64, ty, in->dst_reg, in->off, in->src_reg);
	else if (in->imm & BPF_FETCH)
		snprintf(buf, sz, "r%d = atomic%s_fetch_%s((%s *)(r%d %+d), r%d)",
			 in->src_reg, a64, ops[op >> 4] ? ops[op >> 4] : "?", ty,
			 in->dst_reg, in->off, in->src_reg);
	else
		snprintf(buf, sz, "lock *(%s *)(r%d %+d) %s r%d", ty,
			 in->dst_reg, in->off, k_alu_ops[op >> 4 & 15], in->src_reg);
}

int isa_disasm_kernel(const struct bpf_insn *insns, size_t idx, size_t cnt,
		      const char *call_name, char *buf, size_t sz)
{
	const struct bpf_insn *in = &insns[idx];
	enum bpfx_op op = isa_decode(in);
	u8 cls = BPF_CLASS(in->code), code = BPF_OP(in->code);
	int d = in->dst_reg, s = in->src_reg;

	if (op == BPFX_OP_INVALID)
		return raw_slot(in, buf, sz);
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64: {
		char r = cls == BPF_ALU64 ? 'r' : 'w';

		if (code == BPF_END) {
			if (cls == BPF_ALU64)
				snprintf(buf, sz, "r%d = bswap%d r%d", d, in->imm, d);
			else
				snprintf(buf, sz, "r%d = %s%d r%d", d,
					 BPF_SRC(in->code) == BPF_X ? "be" : "le",
					 in->imm, d);
		} else if (code == BPF_NEG) {
			snprintf(buf, sz, "%c%d = -%c%d", r, d, r, d);
		} else if (code == BPF_MOV && BPF_SRC(in->code) == BPF_X &&
			   in->off) {
			snprintf(buf, sz, "%c%d = (s%d)%c%d", r, d, in->off, r, s);
		} else if (BPF_SRC(in->code) == BPF_X) {
			snprintf(buf, sz, "%c%d %s%s %c%d", r, d,
				 in->off && (code == BPF_DIV || code == BPF_MOD)
					 ? "s" : "",
				 k_alu_ops[code >> 4], r, s);
		} else {
			snprintf(buf, sz, "%c%d %s%s %d", r, d,
				 in->off && (code == BPF_DIV || code == BPF_MOD)
					 ? "s" : "",
				 k_alu_ops[code >> 4], in->imm);
		}
		return 1;
	}
	case BPF_STX:
		if (BPF_MODE(in->code) == BPF_ATOMIC)
			k_atomic(in, buf, sz);
		else
			snprintf(buf, sz, "*(%s *)(r%d %+d) = r%d",
				 k_size(in->code), d, in->off, s);
		return 1;
	case BPF_ST:
		snprintf(buf, sz, "*(%s *)(r%d %+d) = %d", k_size(in->code), d,
			 in->off, in->imm);
		return 1;
	case BPF_LDX:
		if (BPF_MODE(in->code) == BPFX_MEMSX)
			snprintf(buf, sz, "r%d = *(s%s *)(r%d %+d)", d,
				 k_size(in->code) + 1, s, in->off);
		else
			snprintf(buf, sz, "r%d = *(%s *)(r%d %+d)", d,
				 k_size(in->code), s, in->off);
		return 1;
	case BPF_LD:
		if (BPF_MODE(in->code) == BPF_ABS) {
			snprintf(buf, sz, "r0 = *(%s *)skb[%d]", k_size(in->code),
				 in->imm);
			return 1;
		}
		if (BPF_MODE(in->code) == BPF_IND) {
			snprintf(buf, sz, "r0 = *(%s *)skb[r%d + %d]",
				 k_size(in->code), s, in->imm);
			return 1;
		}
		if (idx + 1 >= cnt)
			return raw_slot(in, buf, sz);
		if (s == BPF_PSEUDO_MAP_FD || s == BPF_PSEUDO_MAP_IDX)
			snprintf(buf, sz, "r%d = map[id:%d]", d, in->imm);
		else if (s == BPF_PSEUDO_MAP_VALUE || s == BPF_PSEUDO_MAP_IDX_VALUE)
			snprintf(buf, sz, "r%d = map[id:%d][0]+%d", d, in->imm,
				 insns[idx + 1].imm);
		else if (s == BPF_PSEUDO_FUNC)
			snprintf(buf, sz, "r%d = func pc%+d", d, in->imm);
		else
			snprintf(buf, sz, "r%d = 0x%llx", d,
				 (unsigned long long)((u64)(u32)in->imm |
						      (u64)(u32)insns[idx + 1].imm
							      << 32));
		return 2;
	default: /* JMP, JMP32 */
		break;
	}
	switch (op) {
	case BPFX_OP_EXIT:
		snprintf(buf, sz, "exit");
		return 1;
	case BPFX_OP_CALL_LOCAL:
		snprintf(buf, sz, "call pc%+d", in->imm);
		return 1;
	case BPFX_OP_CALL_HELPER:
	case BPFX_OP_CALL_KFUNC:
		if (call_name)
			snprintf(buf, sz, "call %s#%d", call_name, in->imm);
		else
			snprintf(buf, sz, "call %s%d",
				 op == BPFX_OP_CALL_KFUNC ? "kernel-function#" : "",
				 in->imm);
		return 1;
	case BPFX_OP_CALLX:
		snprintf(buf, sz, "callx r%d", d);
		return 1;
	case BPFX_OP_JA:
		snprintf(buf, sz, "goto pc%+d", in->off);
		return 1;
	case BPFX_OP_MAY_GOTO:
		snprintf(buf, sz, "may_goto pc%+d", in->off);
		return 1;
	case BPFX_OP_JA32:
		snprintf(buf, sz, "gotol pc%+d", in->imm);
		return 1;
	default:
		break;
	}
	{
		char r = cls == BPF_JMP ? 'r' : 'w';

		if (BPF_SRC(in->code) == BPF_X)
			snprintf(buf, sz, "if %c%d %s %c%d goto pc%+d", r, d,
				 k_jmp_ops[code >> 4], r, s, in->off);
		else
			snprintf(buf, sz, "if %c%d %s 0x%x goto pc%+d", r, d,
				 k_jmp_ops[code >> 4], (u32)in->imm, in->off);
	}
	return 1;
}

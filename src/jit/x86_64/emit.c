/*
 * The x86-64 emitter: one BPF instruction at a time into machine code,
 * with the interpreter's semantics (src/interp/interp.c).
 *
 * Registers. BPF r1-r5 live in the registers that carry a helper's
 * arguments 2-6 (rsi, rdx, rcx, r8, r9), so a helper call only loads the
 * run into rdi; r0 is rax, r6-r9 are the callee-saved rbx, r13, r14, r15
 * and r10, the BPF frame pointer (into the thread's BPF stack run->stack,
 * never the host stack), is r13. rbp is a real frame pointer, so the
 * frames of JITed functions form a chain; r10, r11 and rdi are scratch.
 *
 * Frames. Every JITed function (main program, subprogram) and the C-ABI
 * entry stub build the same host frame (jit.h: JIT_FRAME_*): saved rbp,
 * the run, run->stack, the rbp of the frame's exception boundary, the
 * caller's rbx and r12-r15, and in a boundary frame a magic word. A
 * subprogram inherits its caller's boundary; the main program and a
 * tail-call target (which takes over the frame it replaces) are their own.
 * The main program's prologue, which C calls directly, and the entry stub
 * that callbacks go through save the host's callee-saved registers, so an
 * exit through either returns to the host with its state intact whatever
 * happened. A boundary frame keeps its BPF r10 (JIT_FRAME_FP) for a throw.
 *
 * Safety. Every load, store and atomic checks its address but two kinds:
 * an access at a constant offset of r10 within the frame, and a load or
 * store the verifier proved inside memory the run owns (internal.h:
 * struct mem_proof; the driver checks at entry that the run gives what
 * the proof assumed, else the run goes to the interpreter). Any other
 * tests, inline, the frame's memory window for its kind and size (jit.h:
 * struct jit_window, the last readable / writable region that matched,
 * as the interpreter keeps in locals: lea r10, [addr]; sub r10, [lo];
 * cmp r10, [lim]; jae stub), or for r10-based addresses the whole BPF
 * stack (addr - run->stack <= 4096 - size). The out-of-line stub tries
 * the other test and then calls the thunk, which asks jit_mem_slow():
 * run_mem_slow() decides (context, packet, maps) and the region it
 * matched becomes the window. Accesses are checked by group where they
 * can be (jit.h: struct jit_access). Each frame has a window and an
 * alternate; the main program starts with the context and the packet,
 * a called function with its caller's, and both are emptied after every
 * call that may run a helper. Taken backward jumps,
 * calls and throws spend the run's branch budget. A failure records the
 * run's error and leaves through the error exit: rsp and rbp of the
 * innermost entry restored from run->engine_state, then its epilogue.
 *
 * Exceptions. After a call to bpf_throw the code tests run->thrown and
 * goes out of line to the throw path: jit_throw() checks the boundary
 * frame recorded in the thrower's frame (between the throw site and the
 * entry, 16-byte aligned, magic = rbp ^ secret) and returns it; the code
 * then sets rbp and rsp to that frame in one step, reloads its r10 and
 * jumps to the exception callback (or returns the cookie). Its exit is the
 * boundary frame's exit. Nothing runs on the path where nothing is thrown
 * but the test after the kfunc call.
 *
 * Jumps are sized by the passes of the driver: a jump to a label already
 * placed in this pass is exact, a forward one estimates from the previous
 * pass; the first pass takes the long form.
 */
#include <stdio.h>
#include <string.h>

#include "jit/jit.h"

/* x86-64 register numbers */
enum {
	RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15,
};

/* BPF register -> x86-64 register */
static const u8 reg_map[11] = {
	[0] = RAX, [1] = RSI, [2] = RDX, [3] = RCX, [4] = R8, [5] = R9,
	[6] = RBX, [7] = R12, [8] = R14, [9] = R15, [10] = R13,
};
/* BPF r10 in r13, not r12: [r13 + disp] needs no SIB byte, and most
 * accesses are to the stack */
#define FP R13
#define TMP R11 /* scratch: addresses, call targets */
#define AUX R10 /* scratch */

/* condition codes (the low nibble of Jcc) */
enum {
	CC_B = 0x2, CC_AE = 0x3, CC_E = 0x4, CC_NE = 0x5, CC_BE = 0x6,
	CC_A = 0x7, CC_S = 0x8, CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf,
};

/* ALU operations of the 0x01-0x39 family, and their /digit in 0x81. */
enum { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6,
       ALU_CMP = 7 };
/* shift /digits of 0xc1 / 0xd3 */
enum { SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

/* ---- labels ---- */
enum {
	L_ENTRY, L_ENTRY_EPILOGUE, L_MAIN, L_TAIL, L_FUNC0, L_ERROR_EXIT,
	L_MEM_THUNK, L_RANGE_THUNK, L_PROMOTE_RD, L_PROMOTE_WR,
	L_FAULT, L_THROW, L_COLD, L__COMMON,
};

static int size_index(int size)
{
	return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}
/* per instruction: the prologue when a function starts there, then per
 * bank (0: the code, 1: its checked copy, jit.h: struct jit_access): its
 * start, the point its slow paths return to, its two out-of-line stubs,
 * two local labels and one for its stubs */
#define L_BANK 7
#define L_PER_INSN (1 + 2 * L_BANK)
#define L_FUNC(i) (L__COMMON + L_PER_INSN * (size_t)(i))
#define L_AT(i, bank, k) (L_FUNC(i) + 1 + L_BANK * (size_t)(bank) + (k))
#define L_INSN(i) L_AT(i, 0, 0)
#define L_COPY(i) L_AT(i, 1, 0)
#define L_BACK(i, bank) L_AT(i, bank, 1)
#define L_STUB(i, bank, k) L_AT(i, bank, 2 + (k))
#define L_LOCAL(i, bank, k) L_AT(i, bank, 4 + (k))
#define L_STUB_LOCAL(i, bank) L_AT(i, bank, 6)

size_t jit_arch_label_cnt(size_t insn_cnt)
{
	return L_FUNC(insn_cnt + 1);
}

/* ---- bytes ---- */

static void emit_bytes(struct jit_emit *e, const void *p, size_t n)
{
	if (e->buf) {
		if (e->len + n > e->cap) {
			jit_emit_fail(e, "code grew past the measured size");
			return;
		}
		memcpy(e->buf + e->len, p, n);
	}
	e->len += n;
}

static void emit1(struct jit_emit *e, u8 b)
{
	emit_bytes(e, &b, 1);
}

static void emit4(struct jit_emit *e, u32 v)
{
	emit_bytes(e, &v, 4);
}

static void emit8(struct jit_emit *e, u64 v)
{
	emit_bytes(e, &v, 8);
}

static bool is_imm8(s64 v)
{
	return v >= -128 && v <= 127;
}

static bool is_imm32(s64 v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* REX prefix when needed: W (64-bit operand), R (reg >= 8), B (rm >= 8);
 * BYTE forces one so that 8-bit operands 4-7 mean spl..dil. */
static void emit_rex(struct jit_emit *e, bool w, int reg, int rm, bool byte)
{
	u8 rex = 0x40 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0);
	if (rex != 0x40 || (byte && ((reg >= 4 && reg < 8) || (rm >= 4 && rm < 8))))
		emit1(e, rex);
}

/* ModRM with a register operand */
static void emit_modrm_reg(struct jit_emit *e, int reg, int rm)
{
	emit1(e, (u8)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* ModRM (+SIB, +disp) for [base + disp] */
static void emit_modrm_mem(struct jit_emit *e, int reg, int base, s32 disp)
{
	u8 mod = disp == 0 && (base & 7) != RBP ? 0 : is_imm8(disp) ? 1 : 2;
	emit1(e, (u8)(mod << 6 | (reg & 7) << 3 | (base & 7)));
	if ((base & 7) == RSP)
		emit1(e, 0x24); /* SIB: base only */
	if (mod == 1)
		emit1(e, (u8)disp);
	else if (mod == 2)
		emit4(e, (u32)disp);
}

/* ---- instructions ---- */

/* op r/m, reg  (add/or/and/sub/xor/cmp/mov/test by opcode) */
static void emit_rr(struct jit_emit *e, u8 opcode, bool w, int dst, int src)
{
	emit_rex(e, w, src, dst, false);
	emit1(e, opcode);
	emit_modrm_reg(e, src, dst);
}

/* mov dst, src */
static void emit_mov_rr(struct jit_emit *e, bool w, int dst, int src)
{
	if (w && dst == src)
		return;
	emit_rr(e, 0x89, w, dst, src);
}

/* add|or|and|sub|xor|cmp dst, imm  (imm8 or imm32, sign-extended) */
static void emit_alu_ri(struct jit_emit *e, int alu, bool w, int dst, s32 imm)
{
	emit_rex(e, w, 0, dst, false);
	if (is_imm8(imm)) {
		emit1(e, 0x83);
		emit_modrm_reg(e, alu, dst);
		emit1(e, (u8)imm);
	} else {
		emit1(e, 0x81);
		emit_modrm_reg(e, alu, dst);
		emit4(e, (u32)imm);
	}
}

/* mov dst32, imm32 | mov dst, simm32 | movabs dst, imm64 | xor dst32, dst32 */
static void emit_mov_ri(struct jit_emit *e, bool w, int dst, u64 imm)
{
	if (!w)
		imm = (u32)imm;
	if (imm == 0) {
		emit_rr(e, 0x31, false, dst, dst); /* xor dst32, dst32 */
	} else if (imm <= UINT32_MAX) {
		emit_rex(e, false, 0, dst, false); /* mov dst32, imm32 */
		emit1(e, (u8)(0xb8 + (dst & 7)));
		emit4(e, (u32)imm);
	} else if (is_imm32((s64)imm)) {
		emit_rex(e, true, 0, dst, false); /* mov dst, simm32 */
		emit1(e, 0xc7);
		emit_modrm_reg(e, 0, dst);
		emit4(e, (u32)imm);
	} else {
		emit_rex(e, true, 0, dst, false); /* movabs dst, imm64 */
		emit1(e, (u8)(0xb8 + (dst & 7)));
		emit8(e, imm);
	}
}

/* movabs dst, imm64  (always 10 bytes) */
static void emit_movabs(struct jit_emit *e, int dst, u64 imm)
{
	emit_rex(e, true, 0, dst, false);
	emit1(e, (u8)(0xb8 + (dst & 7)));
	emit8(e, imm);
}

/* mov dst, [base + disp]  (64-bit) */
static void emit_ld64(struct jit_emit *e, int dst, int base, s32 disp)
{
	emit_rex(e, true, dst, base, false);
	emit1(e, 0x8b);
	emit_modrm_mem(e, dst, base, disp);
}

/* mov [base + disp], src  (64-bit) */
static void emit_st64(struct jit_emit *e, int base, s32 disp, int src)
{
	emit_rex(e, true, src, base, false);
	emit1(e, 0x89);
	emit_modrm_mem(e, src, base, disp);
}

/* lea dst, [base + disp] */
static void emit_lea(struct jit_emit *e, int dst, int base, s32 disp)
{
	emit_rex(e, true, dst, base, false);
	emit1(e, 0x8d);
	emit_modrm_mem(e, dst, base, disp);
}

/* movzx dst32, byte|word [base+disp] | mov dst32|dst, [base+disp] |
 * movsx dst, byte|word [base+disp] | movsxd dst, dword [base+disp] */
static void emit_load(struct jit_emit *e, int size, bool sign, int dst,
		      int base, s32 disp)
{
	static const u8 zx[9][2] = { [1] = { 0x0f, 0xb6 }, [2] = { 0x0f, 0xb7 } };
	static const u8 sx[9][2] = { [1] = { 0x0f, 0xbe }, [2] = { 0x0f, 0xbf } };
	if (size == 8 || (size == 4 && !sign)) {
		emit_rex(e, size == 8, dst, base, false);
		emit1(e, 0x8b);
	} else if (size == 4) {
		emit_rex(e, true, dst, base, false);
		emit1(e, 0x63);
	} else {
		emit_rex(e, sign, dst, base, false);
		emit_bytes(e, sign ? sx[size] : zx[size], 2);
	}
	emit_modrm_mem(e, dst, base, disp);
}

/* mov byte|word|dword|qword [base+disp], src */
static void emit_store(struct jit_emit *e, int size, int base, s32 disp,
		       int src)
{
	if (size == 2)
		emit1(e, 0x66);
	emit_rex(e, size == 8, src, base, size == 1);
	emit1(e, size == 1 ? 0x88 : 0x89);
	emit_modrm_mem(e, src, base, disp);
}

/* mov byte|word|dword|qword [base+disp], imm */
static void emit_store_imm(struct jit_emit *e, int size, int base, s32 disp,
			   s32 imm)
{
	if (size == 2)
		emit1(e, 0x66);
	emit_rex(e, size == 8, 0, base, false);
	emit1(e, size == 1 ? 0xc6 : 0xc7);
	emit_modrm_mem(e, 0, base, disp);
	if (size == 1)
		emit1(e, (u8)imm);
	else if (size == 2)
		emit_bytes(e, &imm, 2);
	else
		emit4(e, (u32)imm);
}

/* push reg */
static void emit_push(struct jit_emit *e, int reg)
{
	emit_rex(e, false, 0, reg, false);
	emit1(e, (u8)(0x50 + (reg & 7)));
}

/* pop reg */
static void emit_pop(struct jit_emit *e, int reg)
{
	emit_rex(e, false, 0, reg, false);
	emit1(e, (u8)(0x58 + (reg & 7)));
}

/* push qword [base + disp] */
static void emit_push_mem(struct jit_emit *e, int base, s32 disp)
{
	emit_rex(e, false, 0, base, false);
	emit1(e, 0xff);
	emit_modrm_mem(e, 6, base, disp);
}

/* shl|shr|sar|ror dst, imm8 */
static void emit_shift_ri(struct jit_emit *e, int sh, bool w, int dst, u8 imm)
{
	emit_rex(e, w, 0, dst, false);
	emit1(e, 0xc1);
	emit_modrm_reg(e, sh, dst);
	emit1(e, imm);
}

/* shl|shr|sar dst, cl */
static void emit_shift_cl(struct jit_emit *e, int sh, bool w, int dst)
{
	emit_rex(e, w, 0, dst, false);
	emit1(e, 0xd3);
	emit_modrm_reg(e, sh, dst);
}

/* F7 group: test dst, imm32 (/0), neg (/3), div (/6), idiv (/7) */
static void emit_f7(struct jit_emit *e, int digit, bool w, int rm)
{
	emit_rex(e, w, 0, rm, false);
	emit1(e, 0xf7);
	emit_modrm_reg(e, digit, rm);
}

/* call rel32 | jmp rel32 | jmp rel8 | jcc rel8 | jcc rel32 to a label */
static s64 label_target(struct jit_emit *e, size_t label, bool *known)
{
	if (e->pos[label] >= 0) {
		*known = true;
		return e->pos[label];
	}
	if (e->prev[label] >= 0) {
		*known = true;
		return e->prev[label] - e->shrink;
	}
	*known = false;
	return 0;
}

/* jmp label  (eb rel8 | e9 rel32) */
static void emit_jmp(struct jit_emit *e, size_t label)
{
	bool known;
	s64 to = label_target(e, label, &known);
	if (known && is_imm8(to - (s64)(e->len + 2))) {
		emit1(e, 0xeb);
		emit1(e, (u8)(to - (s64)(e->len + 1)));
	} else {
		emit1(e, 0xe9);
		emit4(e, (u32)(to - (s64)(e->len + 4)));
	}
}

/* jmp label  (e9 rel32, always 5 bytes) */
static void emit_jmp_long(struct jit_emit *e, size_t label)
{
	bool known;
	s64 to = label_target(e, label, &known);
	emit1(e, 0xe9);
	emit4(e, (u32)(to - (s64)(e->len + 4)));
}

/* jcc label  (7x rel8 | 0f 8x rel32) */
static void emit_jcc(struct jit_emit *e, int cc, size_t label)
{
	bool known;
	s64 to = label_target(e, label, &known);
	if (known && is_imm8(to - (s64)(e->len + 2))) {
		emit1(e, (u8)(0x70 | cc));
		emit1(e, (u8)(to - (s64)(e->len + 1)));
	} else {
		emit1(e, 0x0f);
		emit1(e, (u8)(0x80 | cc));
		emit4(e, (u32)(to - (s64)(e->len + 4)));
	}
}

/* call label  (e8 rel32) */
static void emit_call_label(struct jit_emit *e, size_t label)
{
	bool known;
	s64 to = label_target(e, label, &known);
	emit1(e, 0xe8);
	emit4(e, (u32)(to - (s64)(e->len + 4)));
}

/* movabs r11, fn; call r11 */
static void emit_call_abs(struct jit_emit *e, const void *fn)
{
	emit_movabs(e, TMP, (u64)(uintptr_t)fn);
	emit1(e, 0x41);
	emit1(e, 0xff);
	emit1(e, 0xd3);
}

/* jmp r11 */
static void emit_jmp_tmp(struct jit_emit *e)
{
	emit1(e, 0x41);
	emit1(e, 0xff);
	emit1(e, 0xe3);
}

static void place(struct jit_emit *e, size_t label)
{
	e->pos[label] = (s64)e->len;
	if (e->prev[label] >= 0)
		e->shrink = e->prev[label] - (s64)e->len;
}

/* ---- pieces of the frame protocol ---- */

/* mov rdi, [rbp - 8]: the run */
static void emit_load_run(struct jit_emit *e, int dst)
{
	emit_ld64(e, dst, RBP, JIT_FRAME_RUN);
}

/* lea rsp, [rbp-152]; pop r15; pop r14; pop r13; pop r12; pop rbx; leave; ret */
static void emit_epilogue(struct jit_emit *e)
{
	emit_lea(e, RSP, RBP, JIT_FRAME_SAVED);
	emit_pop(e, R15);
	emit_pop(e, R14);
	emit_pop(e, R13);
	emit_pop(e, R12);
	emit_pop(e, RBX);
	emit1(e, 0xc9); /* leave */
	emit1(e, 0xc3); /* ret */
}

/* lea rsp, [rbp-152]; pop r15; pop r14; pop r13; pop r12; pop rbx; leave;
 * pop r11; jmp r11: the return of a function called without a call
 * (returns_by_jump) */
static void emit_epilogue_jump(struct jit_emit *e)
{
	emit_lea(e, RSP, RBP, JIT_FRAME_SAVED);
	emit_pop(e, R15);
	emit_pop(e, R14);
	emit_pop(e, R13);
	emit_pop(e, R12);
	emit_pop(e, RBX);
	emit1(e, 0xc9); /* leave */
	emit_pop(e, TMP);
	emit_jmp_tmp(e);
}

/* Calls of a function that may throw are a push of the return address
 * and a jump, and its exits a pop and a jump, so that the processor's
 * return stack never holds the frames a throw skips: the rets after a
 * throw (the boundary's, the host's) stay predicted. Either form returns
 * to the same address, so a function entered the other way (a callback
 * from the entry stub) still returns right. The main program (insn 0)
 * keeps call and ret, as C calls it. */
static bool returns_by_jump(const struct jit_ctx *ctx, size_t i)
{
	while (i && !ctx->func_start[i])
		i--;
	return i != 0 && (ctx->func_flags[i] & FUNC_MAY_THROW);
}

/* Whether the function holding instruction I reads its frame's windows
 * (a checked access, or a callee that copies them): only then must a
 * call that may move the packet empty them. */
static bool uses_windows(const struct jit_ctx *ctx, size_t i)
{
	while (i && !ctx->func_start[i])
		i--;
	return ctx->func_flags[i] & FUNC_USES_WINDOWS;
}

/* The frame's memory windows match nothing: xor r10d, r10d; then
 * mov [rbp + window.rd_lim[k]], r10; mov [rbp + window.wr_lim[k]], r10
 * for both windows */
static void emit_window_reset(struct jit_emit *e)
{
	emit_rr(e, 0x31, false, AUX, AUX);
	for (int w = 0; w < 2; w++) {
		s32 at = w ? JIT_FRAME_ALT : JIT_FRAME_WINDOW;
		for (int k = 0; k < 4; k++) {
			emit_st64(e, RBP, at +
				  (s32)offsetof(struct jit_window, rd_lim[k]), AUX);
			emit_st64(e, RBP, at +
				  (s32)offsetof(struct jit_window, wr_lim[k]), AUX);
		}
	}
}

/* Both windows from [FROM + CUR] and [FROM + ALT] (the caller's frame,
 * or the entry's jit_state): mov r11, [from + cur|alt + k];
 * mov [rbp + window|alt + k], r11. READ_ONLY: their read halves only. */
static void emit_window_copy_part(struct jit_emit *e, int from, s32 cur,
				  s32 alt, bool read_only)
{
	s32 len = read_only ? (s32)offsetof(struct jit_window, wr_lo)
			    : (s32)sizeof(struct jit_window);
	for (int w = 0; w < 2; w++) {
		s32 at = w ? JIT_FRAME_ALT : JIT_FRAME_WINDOW;
		s32 src = w ? alt : cur;
		for (s32 k = 0; k < len; k += 8) {
			emit_ld64(e, TMP, from, src + k);
			emit_st64(e, RBP, at + k, TMP);
		}
	}
}

static void emit_window_copy(struct jit_emit *e, int from, s32 cur, s32 alt)
{
	emit_window_copy_part(e, from, cur, alt, false);
}

/* A function's first windows are its caller's: mov r10, [rbp]; copy */
static void emit_window_inherit(struct jit_emit *e)
{
	emit_ld64(e, AUX, RBP, 0);
	emit_window_copy(e, AUX, JIT_FRAME_WINDOW, JIT_FRAME_ALT);
}

/* push rbp; mov rbp, rsp; push rdi; push qword [rdi + stack]; then the
 * boundary: push rbp (own) | push 0 (entry) | push [caller rbp - 24];
 * sub rsp, 88 (window, magic); push rbx; push r12; push r13; push r14;
 * push r15; sub rsp, 8; then a function's empty windows */
enum frame_boundary { BOUNDARY_SELF, BOUNDARY_NONE, BOUNDARY_INHERIT };
static void emit_frame(struct jit_emit *e, enum frame_boundary b)
{
	emit_push(e, RBP);
	emit_mov_rr(e, true, RBP, RSP);
	emit_push(e, RDI);
	emit_push_mem(e, RDI, (s32)offsetof(struct bpfx_run, stack));
	if (b == BOUNDARY_SELF) {
		emit_push(e, RBP);
	} else if (b == BOUNDARY_NONE) {
		emit1(e, 0x6a); /* push 0 */
		emit1(e, 0);
	} else {
		emit_ld64(e, AUX, RBP, 0); /* mov r10, [rbp] */
		emit_push_mem(e, AUX, JIT_FRAME_BOUNDARY);
	}
	emit_alu_ri(e, ALU_SUB, true, RSP,
		    JIT_FRAME_BOUNDARY - JIT_FRAME_SAVED - 40);
	emit_push(e, RBX);
	emit_push(e, R12);
	emit_push(e, R13);
	emit_push(e, R14);
	emit_push(e, R15);
	emit_alu_ri(e, ALU_SUB, true, RSP, JIT_FRAME_SIZE + JIT_FRAME_SAVED);
}

/* movabs r11, magic; xor r11, rbp; mov [rbp-72], r11 */
static void emit_boundary_magic(struct jit_ctx *ctx)
{
	struct jit_emit *e = &ctx->e;
	emit_movabs(e, TMP, ctx->magic);
	emit_rr(e, 0x31, true, TMP, RBP);
	emit_st64(e, RBP, JIT_FRAME_MAGIC, TMP);
}

/* mov rdi, [rbp-8]; sub qword [rdi + branch_budget], 1; je stub */
static void emit_budget(struct jit_emit *e, size_t stub)
{
	emit_load_run(e, RDI);
	emit_rex(e, true, 0, RDI, false);
	emit1(e, 0x83);
	emit_modrm_mem(e, 5, RDI, (s32)offsetof(struct bpfx_run, branch_budget));
	emit1(e, 1);
	emit_jcc(e, CC_E, stub);
}

/* a function's entry with may_goto in it, as the kernel's fixup stores
 * BPF_MAX_LOOPS in a hidden stack slot: mov qword [rbp-248], 8M */
static void emit_may_goto_init(struct jit_ctx *ctx, size_t func)
{
	struct jit_emit *e = &ctx->e;
	if (!(ctx->func_flags[func] & FUNC_MAY_GOTO))
		return;
	emit_rex(e, true, 0, RBP, false);
	emit1(e, 0xc7);
	emit_modrm_mem(e, 0, RBP, JIT_FRAME_MAY_GOTO);
	emit4(e, BPFX_MAX_LOOPS);
}

/* mov rdi, [rbp-8]; cmp dword [rdi + err], 0; jne error_exit */
static void emit_check_err(struct jit_emit *e)
{
	emit_load_run(e, RDI);
	emit1(e, 0x83);
	emit_modrm_mem(e, ALU_CMP, RDI, (s32)offsetof(struct bpfx_run, err));
	emit1(e, 0);
	emit_jcc(e, CC_NE, L_ERROR_EXIT);
}

/* ---- the instructions ---- */

struct insn_ctx {
	struct jit_ctx *ctx;
	struct jit_emit *e;
	size_t i;
	const struct bpf_insn *insn;
	const struct resolved_insn *d;
	int dst, src;
	int bank;              /* 0: the code, 1: the block's checked copy */
	struct jit_stub *stub; /* its out-of-line paths, emitted at the end */
};

static size_t lab_back(const struct insn_ctx *ic)
{
	return L_BACK(ic->i, ic->bank);
}

static size_t lab_local(const struct insn_ctx *ic, int k)
{
	return L_LOCAL(ic->i, ic->bank, k);
}

/* Records out-of-line path K of the instruction; returns its label. */
static size_t use_stub(struct insn_ctx *ic, int k, enum jit_stub_type type,
		       u32 arg)
{
	ic->stub->kind[k] = (u8)type;
	ic->stub->arg[k] = arg;
	return L_STUB(ic->i, ic->bank, k);
}

/* [rbp + d] of a window's lo and of its limit for SIZE-byte accesses
 * (ALT: the alternate window) */
static s32 window_lo(bool write, bool alt)
{
	return (alt ? JIT_FRAME_ALT : JIT_FRAME_WINDOW) +
	       (s32)(write ? offsetof(struct jit_window, wr_lo)
			   : offsetof(struct jit_window, rd_lo));
}

static s32 window_lim(int size, bool write, bool alt)
{
	size_t k = (size_t)size_index(size);
	return (alt ? JIT_FRAME_ALT : JIT_FRAME_WINDOW) +
	       (s32)(write ? offsetof(struct jit_window, wr_lim) +
				     k * sizeof(u64)
			   : offsetof(struct jit_window, rd_lim) + k * sizeof(u64));
}

/* sub r10, [rbp + d] | cmp r10, [rbp + d] */
static void emit_aux_mem(struct jit_emit *e, u8 opcode, s32 d)
{
	emit_rex(e, true, AUX, RBP, false);
	emit1(e, opcode);
	emit_modrm_mem(e, AUX, RBP, d);
}

/* The window test of SPAN bytes at [base + disp]; jumps to LABEL when it
 * hits (HIT) or misses (!HIT). lea r10, [base + disp]; sub r10, [rbp + lo];
 * cmp r10, [rbp + lim]; jb|jae label. A span that is not an access size
 * tests both ends against the 1-byte limit (the region's length):
 * cmp r10, [rbp + lim1]; jae miss; add r10, span-1; cmp r10, [rbp + lim1];
 * jb|jae label (miss: LOCAL, placed after). */
static void emit_window_test(struct jit_emit *e, int base, s32 disp, u32 span,
			     bool write, bool alt, bool hit, size_t label,
			     size_t local)
{
	emit_lea(e, AUX, base, disp);
	emit_aux_mem(e, 0x2b, window_lo(write, alt));
	if (span == 1 || span == 2 || span == 4 || span == 8) {
		emit_aux_mem(e, 0x3b, window_lim((int)span, write, alt));
		emit_jcc(e, hit ? CC_B : CC_AE, label);
		return;
	}
	emit_aux_mem(e, 0x3b, window_lim(1, write, alt));
	emit_jcc(e, CC_AE, hit ? local : label);
	emit_alu_ri(e, ALU_ADD, true, AUX, (s32)span - 1);
	emit_aux_mem(e, 0x3b, window_lim(1, write, alt));
	emit_jcc(e, hit ? CC_B : CC_AE, label);
	if (hit)
		place(e, local);
}

/* The whole-BPF-stack test of SPAN bytes at [base + disp]:
 * lea r10, [base + disp]; sub r10, [rbp-16]; cmp r10, 4096-span;
 * jbe|ja label */
static void emit_stack_test(struct jit_emit *e, int base, s32 disp, u32 span,
			    bool hit, size_t label)
{
	emit_lea(e, AUX, base, disp);
	emit_aux_mem(e, 0x2b, JIT_FRAME_STACK);
	emit_alu_ri(e, ALU_CMP, true, AUX,
		    BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE - (s32)span);
	emit_jcc(e, hit ? CC_BE : CC_A, label);
}

/* The address check of a load/store/atomic of SIZE at [base + off].
 * Returns the host register to address through, with *disp: r13 for a
 * constant offset inside the frame (no check), r11 for an atomic (the
 * address, after its alignment test), else the BPF register itself.
 * Inline: the frame's window for the access (or, for r10-based
 * addresses, the whole BPF stack); the out-of-line stub tries the other
 * and then calls the thunk, which refreshes the window. */
static int emit_mem_check(struct insn_ctx *ic, int bpf_base, s16 off,
			  int size, bool write, bool atomic, s32 *disp)
{
	struct jit_emit *e = ic->e;
	int base = reg_map[bpf_base];
	if (bpf_base == 10 && off >= -BPFX_STACK_SIZE && off + size <= 0) {
		/* inside the frame: no check; r10 is 64-byte aligned */
		if (atomic && (off & (size - 1)))
			emit_jmp(e, use_stub(ic, 0, STUB_FAULT,
					     (u32)ic->i << JIT_FAULT_KIND_BITS |
						     JIT_FAULT_MISALIGNED));
		*disp = off;
		return FP;
	}
	*disp = off;
	if (!atomic && ic->ctx->proven && ic->ctx->proven[ic->i])
		return base; /* the verifier bounds it to memory the run owns */
	const struct jit_access *acc = &ic->ctx->access[ic->i];
	if (!atomic && ic->bank == 0 && acc->mode == ACCESS_MEMBER)
		return base; /* its group's first access checked it */
	if (!atomic && ic->bank == 0 && acc->mode == ACCESS_LEADER) {
		/* the group's whole range, inline in the current window */
		size_t stub = use_stub(ic, 1, STUB_RANGE,
				       acc->span << 1 | (u32)write);
		ic->stub->mem_base = (u8)base;
		ic->stub->mem_off = acc->lo_off;
		ic->stub->mem_stack_first = false;
		emit_window_test(e, base, acc->lo_off, acc->span, write, false,
				 false, stub, 0);
		place(e, lab_back(ic));
		return base;
	}
	if (atomic) {
		/* lea r11, [base + off]; test r11b, size-1; jnz misaligned */
		emit_lea(e, TMP, base, off);
		emit1(e, 0x41);
		emit1(e, 0xf6);
		emit_modrm_reg(e, 0, TMP);
		emit1(e, (u8)(size - 1));
		emit_jcc(e, CC_NE, use_stub(ic, 0, STUB_FAULT,
					    (u32)ic->i << JIT_FAULT_KIND_BITS |
						    JIT_FAULT_MISALIGNED));
		base = TMP;
		*disp = 0;
	}
	bool stack_first = bpf_base == 10;
	size_t stub = use_stub(ic, 1, STUB_MEM, JIT_MEM_DESC(ic->i, size, write));
	ic->stub->mem_base = (u8)base;
	ic->stub->mem_off = (s16)*disp;
	ic->stub->mem_stack_first = stack_first;
	if (stack_first)
		emit_stack_test(e, base, *disp, (u32)size, false, stub);
	else
		emit_window_test(e, base, *disp, (u32)size, write, false, false,
				 stub, 0);
	place(e, lab_back(ic));
	return base;
}

static int op_size(u8 code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B: return 1;
	case BPF_H: return 2;
	case BPF_W: return 4;
	default: return 8;
	}
}

static void emit_div(struct insn_ctx *ic, bool w, bool is_signed, bool is_mod,
		     bool is_k)
{
	struct jit_emit *e = ic->e;
	int dst = ic->dst;
	s64 k = (s64)(s32)ic->insn->imm;
	/* mov r11, src | imm */
	if (is_k)
		emit_mov_ri(e, w, TMP, (u64)k);
	else if (w)
		emit_mov_rr(e, true, TMP, ic->src);
	else
		emit_rr(e, 0x89, false, TMP, ic->src); /* mov r11d, src32 */
	/* test r11, r11; jnz nonzero; (div: xor dst, dst | mod: mov dst32,
	 * dst32); jmp done */
	size_t done = lab_back(ic);
	if (!is_k || k == 0 || (is_signed && (w ? k == -1 : (s32)k == -1))) {
		/* the special divisors, tested at run time or known here */
		bool zero_only = is_k && k == 0;
		bool m1_only = is_k && k != 0;
		if (!m1_only) {
			emit_rr(e, 0x85, w, TMP, TMP); /* test r11, r11 */
			size_t l = lab_local(ic, 0);
			emit_jcc(e, CC_NE, l);
			if (is_mod) {
				if (!w)
					emit_mov_rr(e, false, dst, dst);
			} else {
				emit_rr(e, 0x31, false, dst, dst);
			}
			emit_jmp(e, done);
			place(e, l);
		}
		if (is_signed && !zero_only) {
			/* cmp r11, -1; jne normal; div: neg dst | mod: xor dst */
			emit_alu_ri(e, ALU_CMP, w, TMP, -1);
			size_t l = lab_local(ic, 1);
			emit_jcc(e, CC_NE, l);
			if (is_mod)
				emit_rr(e, 0x31, false, dst, dst);
			else
				emit_f7(e, 3, w, dst);
			emit_jmp(e, done);
			place(e, l);
		}
	}
	/* mov r10, rax; mov rdi, rdx; mov rax, dst; xor edx, edx | cqo;
	 * div|idiv r11; mov r11, rax|rdx; mov rax, r10; mov rdx, rdi;
	 * mov dst, r11 */
	emit_mov_rr(e, true, AUX, RAX);
	emit_mov_rr(e, true, RDI, RDX);
	if (dst == RDX)
		emit_mov_rr(e, true, RAX, RDI);
	else
		emit_mov_rr(e, true, RAX, dst);
	if (is_signed) {
		if (w)
			emit1(e, 0x48);
		emit1(e, 0x99); /* cqo | cdq */
	} else {
		emit_rr(e, 0x31, false, RDX, RDX);
	}
	emit_f7(e, is_signed ? 7 : 6, w, TMP);
	emit_mov_rr(e, true, TMP, is_mod ? RDX : RAX);
	emit_mov_rr(e, true, RAX, AUX);
	emit_mov_rr(e, true, RDX, RDI);
	emit_mov_rr(e, w, dst, TMP);
	place(e, done);
}

/* shl|shr|sar dst, src  via cl (rcx is BPF r3) */
static void emit_shift_x(struct insn_ctx *ic, int sh, bool w)
{
	struct jit_emit *e = ic->e;
	int dst = ic->dst, src = ic->src;
	if (src == RCX) {
		emit_shift_cl(e, sh, w, dst);
		return;
	}
	/* mov r11, rcx; mov rcx, src; shift (dst == rcx ? r11 : dst), cl;
	 * mov rcx, r11 */
	emit_mov_rr(e, true, TMP, RCX);
	emit_mov_rr(e, true, RCX, src);
	emit_shift_cl(e, sh, w, dst == RCX ? TMP : dst);
	emit_mov_rr(e, true, RCX, TMP);
}

static int jcc_of(enum bpfx_op op)
{
	switch (op) {
	case BPFX_OP_JEQ_K: case BPFX_OP_JEQ_X: case BPFX_OP_JEQ32_K: case BPFX_OP_JEQ32_X:
		return CC_E;
	case BPFX_OP_JNE_K: case BPFX_OP_JNE_X: case BPFX_OP_JNE32_K: case BPFX_OP_JNE32_X:
	case BPFX_OP_JSET_K: case BPFX_OP_JSET_X: case BPFX_OP_JSET32_K: case BPFX_OP_JSET32_X:
		return CC_NE;
	case BPFX_OP_JGT_K: case BPFX_OP_JGT_X: case BPFX_OP_JGT32_K: case BPFX_OP_JGT32_X:
		return CC_A;
	case BPFX_OP_JGE_K: case BPFX_OP_JGE_X: case BPFX_OP_JGE32_K: case BPFX_OP_JGE32_X:
		return CC_AE;
	case BPFX_OP_JLT_K: case BPFX_OP_JLT_X: case BPFX_OP_JLT32_K: case BPFX_OP_JLT32_X:
		return CC_B;
	case BPFX_OP_JLE_K: case BPFX_OP_JLE_X: case BPFX_OP_JLE32_K: case BPFX_OP_JLE32_X:
		return CC_BE;
	case BPFX_OP_JSGT_K: case BPFX_OP_JSGT_X: case BPFX_OP_JSGT32_K: case BPFX_OP_JSGT32_X:
		return CC_G;
	case BPFX_OP_JSGE_K: case BPFX_OP_JSGE_X: case BPFX_OP_JSGE32_K: case BPFX_OP_JSGE32_X:
		return CC_GE;
	case BPFX_OP_JSLT_K: case BPFX_OP_JSLT_X: case BPFX_OP_JSLT32_K: case BPFX_OP_JSLT32_X:
		return CC_L;
	default:
		return CC_LE;
	}
}

/* jump to insn TARGET when CC holds (cc < 0: always); a taken backward
 * jump spends the branch budget */
static void emit_branch(struct insn_ctx *ic, int cc, size_t target)
{
	struct jit_emit *e = ic->e;
	if (target > ic->i) {
		if (cc < 0)
			emit_jmp(e, L_INSN(target));
		else
			emit_jcc(e, cc, L_INSN(target));
		return;
	}
	/* j!cc skip; budget; jmp target; skip: */
	if (cc >= 0)
		emit_jcc(e, cc ^ 1, lab_back(ic));
	emit_budget(e, use_stub(ic, 0, STUB_FAULT,
				(u32)ic->i << JIT_FAULT_KIND_BITS |
					JIT_FAULT_BUDGET));
	emit_jmp(e, L_INSN(target));
	if (cc >= 0)
		place(e, lab_back(ic));
}

/* The x86 form of an atomic read-modify-write: lock add|or|and|xor [m], src */
static void emit_atomic(struct insn_ctx *ic, int size)
{
	struct jit_emit *e = ic->e;
	bool w = size == 8;
	s32 disp;
	int base = emit_mem_check(ic, ic->insn->dst_reg, ic->insn->off, size,
				  true, true, &disp);
	int src = ic->src;
	s32 aop = ic->insn->imm;
	switch (aop) {
	case BPF_ADD: case BPF_OR: case BPF_AND: case BPF_XOR: {
		u8 opc = aop == BPF_ADD ? 0x01 : aop == BPF_OR ? 0x09 :
			 aop == BPF_AND ? 0x21 : 0x31;
		emit1(e, 0xf0); /* lock op [base+disp], src */
		emit_rex(e, w, src, base, false);
		emit1(e, opc);
		emit_modrm_mem(e, src, base, disp);
		return;
	}
	case BPF_ADD | BPF_FETCH:
		emit1(e, 0xf0); /* lock xadd [base+disp], src */
		emit_rex(e, w, src, base, false);
		emit1(e, 0x0f);
		emit1(e, 0xc1);
		emit_modrm_mem(e, src, base, disp);
		return;
	case BPF_XCHG:
		emit_rex(e, w, src, base, false); /* xchg [base+disp], src */
		emit1(e, 0x87);
		emit_modrm_mem(e, src, base, disp);
		return;
	case BPF_CMPXCHG:
		emit1(e, 0xf0); /* lock cmpxchg [base+disp], src */
		emit_rex(e, w, src, base, false);
		emit1(e, 0x0f);
		emit1(e, 0xb1);
		emit_modrm_mem(e, src, base, disp);
		if (!w)
			emit_mov_rr(e, false, RAX, RAX); /* mov eax, eax */
		return;
	default: {
		/* fetch or|and|xor: mov r10, rax; loop: mov rax, [m];
		 * mov rdi, rax; op rdi, src; lock cmpxchg [m], rdi; jne loop;
		 * mov src, rax; mov rax, r10 (src r0: keep the old value) */
		int val = src == RAX ? AUX : src;
		u8 opc = aop == (BPF_OR | BPF_FETCH) ? 0x09 :
			 aop == (BPF_AND | BPF_FETCH) ? 0x21 : 0x31;
		emit_mov_rr(e, true, AUX, RAX);
		size_t loop = lab_local(ic, 0);
		place(e, loop);
		emit_load(e, size, false, RAX, base, disp);
		emit_mov_rr(e, true, RDI, RAX);
		emit_rr(e, opc, w, RDI, val);
		emit1(e, 0xf0);
		emit_rex(e, w, RDI, base, false);
		emit1(e, 0x0f);
		emit1(e, 0xb1);
		emit_modrm_mem(e, RDI, base, disp);
		emit_jcc(e, CC_NE, loop);
		if (src != RAX) {
			emit_mov_rr(e, w, src, RAX);
			emit_mov_rr(e, true, RAX, AUX);
		}
		return;
	}
	}
}

/* Legacy packet loads: r0 = big-endian bytes at packet offset, or the
 * whole run ends with 0 when out of bounds. */
/* The exit of the function holding the instruction: its epilogue, or a
 * jump to the shared one (functions that may throw). */
static void emit_function_exit(struct insn_ctx *ic)
{
	if (returns_by_jump(ic->ctx, ic->i))
		emit_epilogue_jump(ic->e);
	else
		emit_epilogue(ic->e);
}

static void emit_ld_packet(struct insn_ctx *ic, int size, bool ind)
{
	struct jit_emit *e = ic->e;
	s32 imm = ic->insn->imm;
	size_t slow = lab_local(ic, 0), done = lab_local(ic, 1);
	/* r11 = offset: mov r11d, src32; add r11d, imm; movsxd r11, r11d */
	if (ind) {
		emit_mov_rr(e, false, TMP, ic->src);
		emit_alu_ri(e, ALU_ADD, false, TMP, imm);
		emit_rex(e, true, TMP, TMP, false);
		emit1(e, 0x63);
		emit_modrm_reg(e, TMP, TMP);
	} else {
		emit_mov_ri(e, true, TMP, (u64)(s64)imm);
	}
	if (ind || imm >= 0) {
		/* mov rdi, [rbp-8]; mov r10, [rdi+pkt.hi]; mov rdi, [rdi+pkt.lo];
		 * sub r10, rdi; sub r10, size; jb slow; cmp r11, r10; ja slow */
		emit_load_run(e, RDI);
		emit_ld64(e, AUX, RDI, (s32)offsetof(struct bpfx_run, pkt.hi));
		emit_ld64(e, RDI, RDI, (s32)offsetof(struct bpfx_run, pkt.lo));
		emit_rr(e, 0x29, true, AUX, RDI);
		emit_alu_ri(e, ALU_SUB, true, AUX, size);
		emit_jcc(e, CC_B, slow);
		emit_rr(e, 0x39, true, TMP, AUX);
		emit_jcc(e, CC_A, slow);
		/* add r11, rdi; movzx eax, byte|word [r11] | mov eax, [r11]; bswap */
		emit_rr(e, 0x01, true, TMP, RDI);
		emit_load(e, size, false, RAX, TMP, 0);
		if (size == 2) {
			emit1(e, 0x66); /* ror ax, 8 */
			emit_shift_ri(e, SH_ROR, false, RAX, 8);
		} else if (size == 4) {
			emit1(e, 0x0f); /* bswap eax */
			emit1(e, 0xc8);
		}
		emit_jmp(e, done);
	}
	/* slow: offsets from the network / link-layer header, out of range
	 * (r1-r5 are dead after LD_ABS, as in the kernel); refused, the
	 * function returns 0, as the kernel's:
	 * mov rdi, [rbp-8]; mov rsi, r11; mov edx, size;
	 * call run_ld_packet; test rax, rax; jge done; mov eax, 0; exit */
	place(e, slow);
	emit_load_run(e, RDI);
	emit_mov_rr(e, true, RSI, TMP);
	emit_mov_ri(e, false, RDX, (u64)size);
	emit_call_abs(e, (const void *)run_ld_packet);
	emit_rr(e, 0x85, true, RAX, RAX);
	emit_jcc(e, CC_GE, done);
	emit_mov_ri(e, false, RAX, 0);
	emit_function_exit(ic);
	place(e, done);
}

/* Before a helper that may call back into BPF: where the callback's frame
 * goes (below this one) and which program it belongs to. */
static void emit_record_frame(struct insn_ctx *ic)
{
	struct jit_emit *e = ic->e;
	/* mov r10, [rbp-8]; mov r10, [r10+engine_state];
	 * mov [r10+fp], r13; movabs r11, jp; mov [r10+cur], r11 */
	emit_load_run(e, AUX);
	emit_ld64(e, AUX, AUX, (s32)offsetof(struct bpfx_run, engine_state));
	emit_st64(e, AUX, (s32)offsetof(struct jit_state, fp), FP);
	emit_movabs(e, TMP, (u64)(uintptr_t)ic->ctx->jp);
	emit_st64(e, AUX, (s32)offsetof(struct jit_state, cur), TMP);
}

static void emit_helper_call(struct insn_ctx *ic)
{
	struct jit_emit *e = ic->e;
	const struct resolved_insn *d = ic->d;
	if (d->kind == RESOLVED_HELPER_CALLBACK)
		emit_record_frame(ic);
	/* mov rdi, [rbp-8]; movabs r11, fn; call r11; empty windows */
	emit_load_run(e, RDI);
	emit_call_abs(e, (const void *)(uintptr_t)d->imm);
	if (uses_windows(ic->ctx, ic->i))
		emit_window_reset(e);
	if (d->kind == RESOLVED_KFUNC_THROW) {
		/* mov rdi, [rbp-8]; cmp byte [rdi+thrown], 0; jne throw */
		emit_load_run(e, RDI);
		emit1(e, 0x80);
		emit_modrm_mem(e, ALU_CMP, RDI, (s32)offsetof(struct bpfx_run, thrown));
		emit1(e, 0);
		emit_jcc(e, CC_NE, use_stub(ic, 0, STUB_THROW, (u32)ic->i));
	}
	emit_check_err(e);
}

static void emit_tail_call(struct insn_ctx *ic)
{
	struct jit_emit *e = ic->e;
	static const u8 saved[6] = { RAX, RSI, RDX, RCX, R8, R9 };
	/* push rax, rsi, rdx, rcx, r8, r9; mov rdi, [rbp-8]; mov r10, rsi;
	 * mov rsi, rdx; mov rdx, rcx; mov rcx, r10; call jit_tail_call;
	 * mov r11, rax; pop them; check err; test r11, r11; jz next;
	 * jmp r11 */
	for (int k = 0; k < 6; k++)
		emit_push(e, saved[k]);
	emit_load_run(e, RDI);
	emit_mov_rr(e, true, AUX, RSI);
	emit_mov_rr(e, true, RSI, RDX);
	emit_mov_rr(e, true, RDX, RCX);
	emit_mov_rr(e, true, RCX, AUX);
	emit_call_abs(e, (const void *)jit_tail_call);
	emit_mov_rr(e, true, TMP, RAX);
	for (int k = 5; k >= 0; k--)
		emit_pop(e, saved[k]);
	emit_window_reset(e);
	emit_check_err(e);
	emit_rr(e, 0x85, true, TMP, TMP);
	emit_jcc(e, CC_E, lab_back(ic));
	emit_jmp_tmp(e);
	place(e, lab_back(ic));
}

static void emit_callx(struct insn_ctx *ic)
{
	struct jit_emit *e = ic->e;
	static const u8 saved[5] = { RSI, RDX, RCX, R8, R9 };
	/* push rsi..r9; sub rsp, 8; mov rdi, [rbp-8]; mov rsi, dst;
	 * mov edx, insn; movabs rcx, jp; call jit_callx_resolve; add rsp, 8;
	 * pop r9..rsi; test rax, rax; jz error_exit; mov rdi, [rbp-8];
	 * mov r11, rax; call r11; check err */
	for (int k = 0; k < 5; k++)
		emit_push(e, saved[k]);
	emit_alu_ri(e, ALU_SUB, true, RSP, 8);
	emit_load_run(e, RDI);
	emit_mov_rr(e, true, RSI, ic->dst);
	emit_mov_ri(e, false, RDX, ic->i);
	emit_movabs(e, RCX, (u64)(uintptr_t)ic->ctx->jp);
	emit_call_abs(e, (const void *)jit_callx_resolve);
	emit_alu_ri(e, ALU_ADD, true, RSP, 8);
	for (int k = 4; k >= 0; k--)
		emit_pop(e, saved[k]);
	emit_rr(e, 0x85, true, RAX, RAX);
	emit_jcc(e, CC_E, L_ERROR_EXIT);
	/* the helper is known only now: it may be one that calls back */
	emit_mov_rr(e, true, TMP, RAX);
	emit_push(e, TMP);
	emit_record_frame(ic);
	emit_pop(e, TMP);
	emit_load_run(e, RDI);
	emit1(e, 0x41); /* call r11 */
	emit1(e, 0xff);
	emit1(e, 0xd3);
	if (uses_windows(ic->ctx, ic->i))
		emit_window_reset(e);
	emit_check_err(e);
}

static void emit_insn(struct insn_ctx *ic)
{
	struct jit_emit *e = ic->e;
	const struct bpf_insn *insn = ic->insn;
	enum bpfx_op op = ic->d->op;
	int dst = ic->dst, src = ic->src;
	s32 imm = insn->imm;
	bool w = BPF_CLASS(insn->code) == BPF_ALU64 ||
		 BPF_CLASS(insn->code) == BPF_JMP;
	s32 disp;
	int base;

	switch (op) {
	/* add|sub|or|and|xor dst, src|imm */
	case BPFX_OP_ADD32_X: case BPFX_OP_ADD64_X:
		emit_rr(e, 0x01, w, dst, src); break;
	case BPFX_OP_SUB32_X: case BPFX_OP_SUB64_X:
		emit_rr(e, 0x29, w, dst, src); break;
	case BPFX_OP_OR32_X: case BPFX_OP_OR64_X:
		emit_rr(e, 0x09, w, dst, src); break;
	case BPFX_OP_AND32_X: case BPFX_OP_AND64_X:
		emit_rr(e, 0x21, w, dst, src); break;
	case BPFX_OP_XOR32_X: case BPFX_OP_XOR64_X:
		emit_rr(e, 0x31, w, dst, src); break;
	case BPFX_OP_ADD32_K: case BPFX_OP_ADD64_K:
		emit_alu_ri(e, ALU_ADD, w, dst, imm); break;
	case BPFX_OP_SUB32_K: case BPFX_OP_SUB64_K:
		emit_alu_ri(e, ALU_SUB, w, dst, imm); break;
	case BPFX_OP_OR32_K: case BPFX_OP_OR64_K:
		emit_alu_ri(e, ALU_OR, w, dst, imm); break;
	case BPFX_OP_AND32_K: case BPFX_OP_AND64_K:
		emit_alu_ri(e, ALU_AND, w, dst, imm); break;
	case BPFX_OP_XOR32_K: case BPFX_OP_XOR64_K:
		emit_alu_ri(e, ALU_XOR, w, dst, imm); break;
	/* imul dst, src | imul dst, dst, imm32 */
	case BPFX_OP_MUL32_X: case BPFX_OP_MUL64_X:
		emit_rex(e, w, dst, src, false);
		emit1(e, 0x0f);
		emit1(e, 0xaf);
		emit_modrm_reg(e, dst, src);
		break;
	case BPFX_OP_MUL32_K: case BPFX_OP_MUL64_K:
		emit_rex(e, w, dst, dst, false);
		emit1(e, 0x69);
		emit_modrm_reg(e, dst, dst);
		emit4(e, (u32)imm);
		break;
	case BPFX_OP_DIV32_K: case BPFX_OP_DIV64_K:
	case BPFX_OP_DIV32_X: case BPFX_OP_DIV64_X:
		emit_div(ic, w, false, false, BPF_SRC(insn->code) == BPF_K); break;
	case BPFX_OP_SDIV32_K: case BPFX_OP_SDIV64_K:
	case BPFX_OP_SDIV32_X: case BPFX_OP_SDIV64_X:
		emit_div(ic, w, true, false, BPF_SRC(insn->code) == BPF_K); break;
	case BPFX_OP_MOD32_K: case BPFX_OP_MOD64_K:
	case BPFX_OP_MOD32_X: case BPFX_OP_MOD64_X:
		emit_div(ic, w, false, true, BPF_SRC(insn->code) == BPF_K); break;
	case BPFX_OP_SMOD32_K: case BPFX_OP_SMOD64_K:
	case BPFX_OP_SMOD32_X: case BPFX_OP_SMOD64_X:
		emit_div(ic, w, true, true, BPF_SRC(insn->code) == BPF_K); break;
	case BPFX_OP_LSH32_K: case BPFX_OP_LSH64_K:
		emit_shift_ri(e, SH_SHL, w, dst, (u8)(imm & (w ? 63 : 31))); break;
	case BPFX_OP_RSH32_K: case BPFX_OP_RSH64_K:
		emit_shift_ri(e, SH_SHR, w, dst, (u8)(imm & (w ? 63 : 31))); break;
	case BPFX_OP_ARSH32_K: case BPFX_OP_ARSH64_K:
		emit_shift_ri(e, SH_SAR, w, dst, (u8)(imm & (w ? 63 : 31))); break;
	case BPFX_OP_LSH32_X: case BPFX_OP_LSH64_X:
		emit_shift_x(ic, SH_SHL, w); break;
	case BPFX_OP_RSH32_X: case BPFX_OP_RSH64_X:
		emit_shift_x(ic, SH_SHR, w); break;
	case BPFX_OP_ARSH32_X: case BPFX_OP_ARSH64_X:
		emit_shift_x(ic, SH_SAR, w); break;
	case BPFX_OP_NEG32: case BPFX_OP_NEG64:
		emit_f7(e, 3, w, dst); break; /* neg dst */
	case BPFX_OP_MOV32_K: case BPFX_OP_MOV64_K:
		emit_mov_ri(e, w, dst, (u64)(s64)imm); break;
	case BPFX_OP_MOV32_X:
		emit_rr(e, 0x89, false, dst, src); break; /* mov dst32, src32 */
	case BPFX_OP_MOV64_X:
		emit_mov_rr(e, true, dst, src); break;
	/* movsx dst32|dst, src8|src16; movsxd dst, src32 */
	case BPFX_OP_MOVSX8_32: case BPFX_OP_MOVSX8_64:
	case BPFX_OP_MOVSX16_32: case BPFX_OP_MOVSX16_64: {
		bool b8 = op == BPFX_OP_MOVSX8_32 || op == BPFX_OP_MOVSX8_64;
		emit_rex(e, op == BPFX_OP_MOVSX8_64 || op == BPFX_OP_MOVSX16_64,
			 dst, src, b8);
		emit1(e, 0x0f);
		emit1(e, b8 ? 0xbe : 0xbf);
		emit_modrm_reg(e, dst, src);
		break;
	}
	case BPFX_OP_MOVSX32_64:
		emit_rex(e, true, dst, src, false);
		emit1(e, 0x63);
		emit_modrm_reg(e, dst, src);
		break;
	case BPFX_OP_LE16: /* movzx dst32, dst16 */
		emit_rex(e, false, dst, dst, false);
		emit1(e, 0x0f);
		emit1(e, 0xb7);
		emit_modrm_reg(e, dst, dst);
		break;
	case BPFX_OP_LE32:
		emit_mov_rr(e, false, dst, dst); break; /* mov dst32, dst32 */
	case BPFX_OP_LE64:
		break;
	case BPFX_OP_BE16: case BPFX_OP_BSWAP16:
		/* ror dst16, 8; movzx dst32, dst16 */
		emit1(e, 0x66);
		emit_shift_ri(e, SH_ROR, false, dst, 8);
		emit_rex(e, false, dst, dst, false);
		emit1(e, 0x0f);
		emit1(e, 0xb7);
		emit_modrm_reg(e, dst, dst);
		break;
	case BPFX_OP_BE32: case BPFX_OP_BSWAP32:
	case BPFX_OP_BE64: case BPFX_OP_BSWAP64: /* bswap dst32|dst */
		emit_rex(e, op == BPFX_OP_BE64 || op == BPFX_OP_BSWAP64, 0,
			 dst, false);
		emit1(e, 0x0f);
		emit1(e, (u8)(0xc8 + (dst & 7)));
		break;

	case BPFX_OP_JA:
		emit_branch(ic, -1, ic->i + 1 + insn->off); break;
	case BPFX_OP_JA32:
		emit_branch(ic, -1, ic->i + 1 + imm); break;
	case BPFX_OP_MAY_GOTO:
		/* sub qword [rbp-248], 1; js target: the jump once the
		 * frame's budget is spent (and on every later visit) */
		emit_rex(e, true, 0, RBP, false);
		emit1(e, 0x83);
		emit_modrm_mem(e, ALU_SUB, RBP, JIT_FRAME_MAY_GOTO);
		emit1(e, 1);
		emit_branch(ic, CC_S, ic->i + 1 + insn->off);
		break;
	case BPFX_OP_EXIT:
		emit_function_exit(ic);
		break;
	case BPFX_OP_CALL_LOCAL: {
		/* mov r10, r13; sub r10, [rbp-16]; cmp r10, 512; jbe too_deep;
		 * budget; call func */
		emit_mov_rr(e, true, AUX, FP);
		emit_rex(e, true, AUX, RBP, false);
		emit1(e, 0x2b);
		emit_modrm_mem(e, AUX, RBP, JIT_FRAME_STACK);
		emit_alu_ri(e, ALU_CMP, true, AUX, BPFX_STACK_SIZE);
		emit_jcc(e, CC_BE, use_stub(ic, 0, STUB_FAULT,
					    (u32)ic->i << JIT_FAULT_KIND_BITS |
						    JIT_FAULT_DEPTH));
		emit_budget(e, use_stub(ic, 1, STUB_FAULT,
					(u32)ic->i << JIT_FAULT_KIND_BITS |
						JIT_FAULT_BUDGET));
		size_t t = ic->i + 1 + (size_t)(s64)imm;
		if (t != 0 && (ic->ctx->func_flags[t] & FUNC_MAY_THROW)) {
			/* lea r11, [rip + back]; push r11; jmp func; back: */
			size_t back = lab_local(ic, 0);
			bool known;
			s64 to = label_target(e, back, &known);
			emit_bytes(e, "\x4c\x8d\x1d", 3);
			emit4(e, (u32)(to - (s64)(e->len + 4)));
			emit_push(e, TMP);
			emit_jmp_long(e, L_FUNC(t));
			place(e, back);
		} else {
			emit_call_label(e, t == 0 ? L_FUNC0 : L_FUNC(t));
		}
		/* a helper it runs may move the packet */
		if ((ic->ctx->func_flags[t] & FUNC_MAY_MOVE) &&
		    uses_windows(ic->ctx, ic->i))
			emit_window_reset(e);
		break;
	}
	case BPFX_OP_CALL_HELPER: case BPFX_OP_CALL_KFUNC:
		if (ic->d->kind == RESOLVED_TAIL_CALL)
			emit_tail_call(ic);
		else
			emit_helper_call(ic);
		break;
	case BPFX_OP_CALLX:
		emit_callx(ic); break;

	case BPFX_OP_LDDW: case BPFX_OP_LDDW_MAP_FD: case BPFX_OP_LDDW_MAP_VALUE:
	case BPFX_OP_LDDW_MAP_IDX: case BPFX_OP_LDDW_MAP_IDX_VALUE:
		emit_mov_ri(e, true, dst, ic->d->imm); break;
	case BPFX_OP_LDDW_FUNC: {
		/* movabs dst, address of the function's prologue */
		size_t t = (size_t)ic->d->imm;
		size_t l = t == 0 ? L_FUNC0 : L_FUNC(t);
		emit_movabs(e, dst, e->base && e->prev[l] >= 0 ?
				       e->base + (u64)e->prev[l] : 0);
		break;
	}

	case BPFX_OP_LDABSW: emit_ld_packet(ic, 4, false); break;
	case BPFX_OP_LDABSH: emit_ld_packet(ic, 2, false); break;
	case BPFX_OP_LDABSB: emit_ld_packet(ic, 1, false); break;
	case BPFX_OP_LDINDW: emit_ld_packet(ic, 4, true); break;
	case BPFX_OP_LDINDH: emit_ld_packet(ic, 2, true); break;
	case BPFX_OP_LDINDB: emit_ld_packet(ic, 1, true); break;

	case BPFX_OP_LDXW: case BPFX_OP_LDXH: case BPFX_OP_LDXB: case BPFX_OP_LDXDW:
	case BPFX_OP_LDXSW: case BPFX_OP_LDXSH: case BPFX_OP_LDXSB: {
		int size = op_size(insn->code);
		base = emit_mem_check(ic, insn->src_reg, insn->off, size, false,
				      false, &disp);
		emit_load(e, size, BPF_MODE(insn->code) == BPFX_MEMSX, dst, base,
			  disp);
		break;
	}
	case BPFX_OP_STW: case BPFX_OP_STH: case BPFX_OP_STB: case BPFX_OP_STDW: {
		int size = op_size(insn->code);
		base = emit_mem_check(ic, insn->dst_reg, insn->off, size, true,
				      false, &disp);
		emit_store_imm(e, size, base, disp, imm);
		break;
	}
	case BPFX_OP_STXW: case BPFX_OP_STXH: case BPFX_OP_STXB: case BPFX_OP_STXDW: {
		int size = op_size(insn->code);
		base = emit_mem_check(ic, insn->dst_reg, insn->off, size, true,
				      false, &disp);
		emit_store(e, size, base, disp, src);
		break;
	}
	default:
		if (BPF_CLASS(insn->code) == BPF_STX &&
		    BPF_MODE(insn->code) == BPF_ATOMIC) {
			emit_atomic(ic, op_size(insn->code));
			break;
		}
		if (BPF_CLASS(insn->code) == BPF_JMP ||
		    BPF_CLASS(insn->code) == BPF_JMP32) {
			int cc = jcc_of(op);
			bool jw = BPF_CLASS(insn->code) == BPF_JMP;
			bool is_set = BPF_OP(insn->code) == BPF_JSET;
			if (BPF_SRC(insn->code) == BPF_X) {
				/* cmp dst, src | test dst, src */
				emit_rr(e, is_set ? 0x85 : 0x39, jw, dst, src);
			} else if (is_set) {
				emit_f7(e, 0, jw, dst); /* test dst, imm32 */
				emit4(e, (u32)imm);
			} else if (imm == 0 && (cc == CC_E || cc == CC_NE)) {
				emit_rr(e, 0x85, jw, dst, dst); /* test dst, dst */
			} else {
				emit_alu_ri(e, ALU_CMP, jw, dst, imm);
			}
			emit_branch(ic, cc, ic->i + 1 + insn->off);
			break;
		}
		jit_emit_fail(e, "insn %zu: opcode 0x%02x not supported", ic->i,
			      insn->code);
	}
}

/* The out-of-line paths of one instruction. */
static void emit_stubs(struct insn_ctx *ic)
{
	struct jit_emit *e = ic->e;
	for (int k = 0; k < 2; k++) {
		if (!ic->stub->kind[k])
			continue;
		place(e, L_STUB(ic->i, ic->bank, k));
		u32 arg = ic->stub->arg[k];
		switch (ic->stub->kind[k]) {
		case STUB_FAULT: /* mov esi, code; jmp fault */
			emit_mov_ri(e, false, RSI, arg);
			emit_jmp(e, L_FAULT);
			break;
		case STUB_THROW: /* mov esi, insn; jmp throw */
			emit_mov_ri(e, false, RSI, arg);
			emit_jmp(e, L_THROW);
			break;
		case STUB_MEM:
		case STUB_RANGE: {
			/* the other inline test (the stack, or the window
			 * when the stack went first); the alternate window:
			 * copied over the window when it hits; else the
			 * thunk: lea r11, [base + off]; mov r10d, desc;
			 * call mem_thunk; jmp back | call range_thunk;
			 * jne back; jmp checked copy */
			bool range = ic->stub->kind[k] == STUB_RANGE;
			bool write = arg & 1;
			u32 span = range ? arg >> 1 : (arg >> 1) & 0xf;
			int base = ic->stub->mem_base;
			s32 off = ic->stub->mem_off;
			size_t back = lab_back(ic);
			size_t miss = L_STUB_LOCAL(ic->i, ic->bank);
			if (ic->stub->mem_stack_first)
				emit_window_test(e, base, off, span, write, false,
						 true, back, miss);
			else
				emit_stack_test(e, base, off, span, true, back);
			emit_window_test(e, base, off, span, write, true, false,
					 miss, 0);
			emit_call_label(e, write ? L_PROMOTE_WR : L_PROMOTE_RD);
			emit_jmp_long(e, back);
			place(e, miss);
			emit_lea(e, TMP, base, off);
			emit_mov_ri(e, false, AUX, arg);
			if (range) {
				emit_call_label(e, L_RANGE_THUNK);
				emit_jcc(e, CC_NE, back);
				emit_jmp(e, L_COPY(ic->i));
			} else {
				emit_call_label(e, L_MEM_THUNK);
				emit_jmp(e, back);
			}
			break;
		}
		}
	}
}

static void add_mark(struct jit_ctx *ctx, const char *name)
{
	struct jit_prog *jp = ctx->jp;
	if (ctx->e.buf && jp->mark_cnt < ARRAY_SIZE(jp->marks))
		jp->marks[jp->mark_cnt++] =
			(struct jit_mark){ name, (u32)ctx->e.len };
}

void jit_arch_emit(struct jit_ctx *ctx)
{
	struct jit_emit *e = &ctx->e;
	struct jit_prog *jp = ctx->jp;
	static const u8 bpf_callee[4] = { RBX, R12, R14, R15 }; /* r6-r9 */

	/* The entry stub, C ABI: rdi = run, rsi = args[5], rdx = target,
	 * rcx = r10 + 512, r8 = struct jit_state *. */
	add_mark(ctx, "entry");
	place(e, L_ENTRY);
	emit_frame(e, BOUNDARY_NONE);
	emit_st64(e, R8, (s32)offsetof(struct jit_state, entry_rsp), RSP);
	/* its windows, for the callbacks it calls (a function copies its
	 * caller's): only in programs that take a function's address */
	bool callbacks = false;
	for (size_t i = 0; i < ctx->cnt; i++)
		callbacks |= ctx->decoded[i].kind == RESOLVED_FUNC;
	if (callbacks)
		emit_window_copy(e, R8, (s32)offsetof(struct jit_state, seed.cur),
				 (s32)offsetof(struct jit_state, seed.alt));
	emit_mov_rr(e, true, FP, RCX);
	emit_mov_rr(e, true, TMP, RDX);
	emit_mov_rr(e, true, AUX, RSI);
	for (int k = 0; k < 5; k++)
		emit_ld64(e, reg_map[1 + k], AUX, 8 * k);
	emit_mov_ri(e, false, RAX, 0);
	for (int k = 0; k < 4; k++)
		emit_mov_ri(e, false, bpf_callee[k], 0);
	emit1(e, 0x41); /* call r11 */
	emit1(e, 0xff);
	emit1(e, 0xd3);
	place(e, L_ENTRY_EPILOGUE);
	emit_epilogue(e);

	/* The main program, entered from C as the entry stub is (same
	 * arguments, same frame, the host's callee-saved registers saved in
	 * it, so the error exit and its own exit return to the host): its
	 * own exception boundary, with its r10 in the frame for a throw.
	 * mov [r8 + entry_rsp], rsp; the seeds from r8; magic;
	 * lea r13, [rcx - 512]; mov [rbp + fp], r13; the arguments; zeroes */
	add_mark(ctx, "main");
	place(e, L_MAIN);
	jp->main_off = (u32)e->len;
	emit_frame(e, BOUNDARY_SELF);
	emit_st64(e, R8, (s32)offsetof(struct jit_state, entry_rsp), RSP);
	/* A main program that calls no function and has no checked store
	 * reads only the read halves of its windows (the write halves are
	 * read by write checks and by callees' copies; a throw and a tail
	 * call empty them first); one that cannot throw needs neither the
	 * magic word nor its r10 in the frame (a tail-call target that can
	 * sets both at its landing). */
	u8 main_flags = ctx->func_flags[0];
	jp->seeds = callbacks || (main_flags & FUNC_USES_WINDOWS);
	if (main_flags & FUNC_USES_WINDOWS)
		emit_window_copy_part(e, R8,
				      (s32)offsetof(struct jit_state, seed.cur),
				      (s32)offsetof(struct jit_state, seed.alt),
				      !(main_flags & (FUNC_CALLS_LOCAL |
						      FUNC_CHECKED_WRITE)));
	if (main_flags & FUNC_MAY_THROW)
		emit_boundary_magic(ctx);
	emit_lea(e, FP, RCX, -BPFX_STACK_SIZE);
	if (main_flags & FUNC_MAY_THROW)
		emit_st64(e, RBP, JIT_FRAME_FP, FP);
	emit_mov_rr(e, true, AUX, RSI);
	for (int k = 0; k < 5; k++)
		emit_ld64(e, reg_map[1 + k], AUX, 8 * k);
	emit_mov_ri(e, false, RAX, 0);
	for (int k = 0; k < 4; k++)
		emit_mov_ri(e, false, bpf_callee[k], 0);
	emit_may_goto_init(ctx, 0);

	for (size_t i = 0; i < ctx->cnt && !e->err; i++) {
		const struct resolved_insn *d = &ctx->decoded[i];
		if (ctx->func_start[i] && i) {
			/* a subprogram's prologue: rdi = run */
			place(e, L_FUNC(i));
			emit_frame(e, BOUNDARY_INHERIT);
			if (ctx->func_flags[i] & FUNC_USES_WINDOWS)
				emit_window_inherit(e);
			emit_alu_ri(e, ALU_SUB, true, FP, BPFX_STACK_SIZE);
			emit_may_goto_init(ctx, i);
		}
		place(e, L_INSN(i));
		if (jp->insn_off && e->buf)
			jp->insn_off[i] = (u32)e->len;
		if (d->kind == RESOLVED_SECOND_SLOT)
			continue;
		struct insn_ctx ic = {
			.ctx = ctx, .e = e, .i = i, .insn = &ctx->insns[i], .d = d,
			.dst = reg_map[ctx->insns[i].dst_reg % 11],
			.src = reg_map[ctx->insns[i].src_reg % 11],
			.stub = &ctx->stubs[i], .bank = 0,
		};
		ic.stub->kind[0] = ic.stub->kind[1] = 0;
		emit_insn(&ic);
	}
	if (jp->insn_off && e->buf)
		jp->insn_off[ctx->cnt] = (u32)e->len;

	/* Where a tail call lands: this program takes over the frame and
	 * becomes its exception boundary. */
	add_mark(ctx, "tail_call_entry");
	place(e, L_TAIL);
	jp->tail_off = (u32)e->len;
	emit_st64(e, RBP, JIT_FRAME_BOUNDARY, RBP);
	emit_st64(e, RBP, JIT_FRAME_FP, FP);
	emit_boundary_magic(ctx);
	emit_may_goto_init(ctx, 0);
	emit_jmp(e, L_INSN(0));

	if (ctx->func0_called) {
		add_mark(ctx, "func0");
		place(e, L_FUNC0);
		emit_frame(e, BOUNDARY_INHERIT);
		if (ctx->func_flags[0] & FUNC_USES_WINDOWS)
			emit_window_inherit(e);
		emit_alu_ri(e, ALU_SUB, true, FP, BPFX_STACK_SIZE);
		emit_may_goto_init(ctx, 0);
		emit_jmp(e, L_INSN(0));
	}

	/* error exit: back to the innermost entry stub's frame.
	 * mov rdi, [rbp-8]; mov rdi, [rdi+engine_state]; mov rsp, [rdi];
	 * lea rbp, [rsp+160]; jmp entry_epilogue */
	add_mark(ctx, "error_exit");
	place(e, L_ERROR_EXIT);
	emit_load_run(e, RDI);
	emit_ld64(e, RDI, RDI, (s32)offsetof(struct bpfx_run, engine_state));
	emit_ld64(e, RSP, RDI, (s32)offsetof(struct jit_state, entry_rsp));
	emit_lea(e, RBP, RSP, JIT_FRAME_SIZE);
	emit_jmp(e, L_ENTRY_EPILOGUE);

	/* mem_thunk: r11 = address, r10d = descriptor; keeps every BPF
	 * register. push rax, rsi, rdx, rcx, r8, r9, r11; mov rdi, [rbp-8];
	 * mov rsi, r11; mov edx, r10d; movabs rcx, jp; mov r8, rbp;
	 * call jit_mem_slow;
	 * test rax, rax; jz error_exit; pop them; ret */
	add_mark(ctx, "mem_thunk");
	place(e, L_MEM_THUNK);
	static const u8 saved[7] = { RAX, RSI, RDX, RCX, R8, R9, R11 };
	for (int k = 0; k < 7; k++)
		emit_push(e, saved[k]);
	emit_load_run(e, RDI);
	emit_mov_rr(e, true, RSI, TMP);
	emit_mov_rr(e, false, RDX, AUX);
	emit_movabs(e, RCX, (u64)(uintptr_t)jp);
	emit_mov_rr(e, true, R8, RBP);
	emit_call_abs(e, (const void *)jit_mem_slow);
	emit_rr(e, 0x85, true, RAX, RAX);
	emit_jcc(e, CC_E, L_ERROR_EXIT);
	for (int k = 6; k >= 0; k--)
		emit_pop(e, saved[k]);
	emit1(e, 0xc3);

	/* range_thunk: r11 = address, r10d = span << 1 | write; returns
	 * with ZF clear when the range is one region (now the window):
	 * the same saves; call jit_mem_range; test rax, rax; pop them; ret */
	add_mark(ctx, "range_thunk");
	place(e, L_RANGE_THUNK);
	for (int k = 0; k < 7; k++)
		emit_push(e, saved[k]);
	emit_load_run(e, RDI);
	emit_mov_rr(e, true, RSI, TMP);
	emit_mov_rr(e, false, RDX, AUX);
	emit_mov_rr(e, true, RCX, RBP);
	emit_call_abs(e, (const void *)jit_mem_range);
	emit_rr(e, 0x85, true, RAX, RAX);
	for (int k = 6; k >= 0; k--)
		emit_pop(e, saved[k]);
	emit1(e, 0xc3);

	/* promote_rd|wr: the alternate window's read|write half over the
	 * window's: mov r10, [rbp + alt + k]; mov [rbp + window + k], r10;
	 * ret */
	for (int w = 0; w < 2; w++) {
		s32 half = w ? (s32)offsetof(struct jit_window, wr_lo)
			     : (s32)offsetof(struct jit_window, rd_lo);
		place(e, w ? L_PROMOTE_WR : L_PROMOTE_RD);
		for (s32 k = 0; k < 5 * 8; k += 8) {
			emit_ld64(e, AUX, RBP, JIT_FRAME_ALT + half + k);
			emit_st64(e, RBP, JIT_FRAME_WINDOW + half + k, AUX);
		}
		emit1(e, 0xc3);
	}

	/* fault: esi = insn << 4 | kind. mov rdi, [rbp-8]; movabs rdx, jp;
	 * call jit_fault; jmp error_exit */
	add_mark(ctx, "fault");
	place(e, L_FAULT);
	emit_load_run(e, RDI);
	emit_movabs(e, RDX, (u64)(uintptr_t)jp);
	emit_call_abs(e, (const void *)jit_fault);
	emit_jmp(e, L_ERROR_EXIT);

	/* throw: esi = insn. mov rdi, [rbp-8]; mov rdx, rbp; movabs rcx, jp;
	 * call jit_throw; test rax, rax; jz error_exit; mov rbp, rax;
	 * lea rsp, [rbp-160]; mov r13, [rbp-240] (the boundary's r10); empty
	 * windows;
	 * mov rdi, [rbp-8]; mov rsi, [rdi+cookie]; then the callback:
	 * jmp cb | mov rax, rsi; epilogue */
	add_mark(ctx, "throw");
	place(e, L_THROW);
	emit_load_run(e, RDI);
	emit_mov_rr(e, true, RDX, RBP);
	emit_movabs(e, RCX, (u64)(uintptr_t)jp);
	emit_call_abs(e, (const void *)jit_throw);
	emit_rr(e, 0x85, true, RAX, RAX);
	emit_jcc(e, CC_E, L_ERROR_EXIT);
	emit_mov_rr(e, true, RBP, RAX);
	emit_lea(e, RSP, RBP, -JIT_FRAME_SIZE);
	emit_ld64(e, FP, RBP, JIT_FRAME_FP); /* the boundary's r10 */
	emit_window_reset(e);
	emit_load_run(e, RDI);
	emit_ld64(e, RSI, RDI, (s32)offsetof(struct bpfx_run, cookie));
	u32 cb = ctx->prog->exception_cb_insn;
	if (cb && cb < ctx->cnt) {
		emit_may_goto_init(ctx, cb);
		emit_jmp(e, L_INSN(cb));
	} else {
		emit_mov_rr(e, true, RAX, RSI);
		emit_epilogue(e);
	}

	/* the instructions' out-of-line paths */
	add_mark(ctx, "cold");
	place(e, L_COLD);
	jp->cold_off = (u32)e->len;
	/* the blocks' checked copies, from their first group leader on */
	for (size_t i = 0; i < ctx->cnt && !e->err; i++) {
		const struct resolved_insn *d = &ctx->decoded[i];
		if (!ctx->access[i].copy)
			continue;
		place(e, L_COPY(i));
		struct insn_ctx ic = {
			.ctx = ctx, .e = e, .i = i, .insn = &ctx->insns[i], .d = d,
			.dst = reg_map[ctx->insns[i].dst_reg % 11],
			.src = reg_map[ctx->insns[i].src_reg % 11],
			.stub = &ctx->stubs[ctx->cnt + 1 + i], .bank = 1,
		};
		ic.stub->kind[0] = ic.stub->kind[1] = 0;
		emit_insn(&ic);
		if (ctx->access[i].copy_end && d->op != BPFX_OP_JA &&
		    d->op != BPFX_OP_JA32 && d->op != BPFX_OP_EXIT) {
			/* back into the code after the block */
			size_t next = i + 1;
			if (next < ctx->cnt &&
			    ctx->decoded[next].kind == RESOLVED_SECOND_SLOT)
				next++;
			if (next < ctx->cnt)
				emit_jmp(e, L_INSN(next));
		}
	}
	for (int bank = 0; bank < 2; bank++)
		for (size_t i = 0; i < ctx->cnt && !e->err; i++) {
			const struct resolved_insn *d = &ctx->decoded[i];
			if (d->kind == RESOLVED_SECOND_SLOT ||
			    (bank && !ctx->access[i].copy))
				continue;
			struct insn_ctx ic = {
				.ctx = ctx, .e = e, .i = i, .bank = bank,
				.stub = &ctx->stubs[bank * (ctx->cnt + 1) + i],
			};
			emit_stubs(&ic);
		}
}

size_t jit_arch_func_offsets(const struct jit_ctx *ctx, u32 *out)
{
	size_t n = 0;
	if (ctx->func0_called && ctx->e.pos[L_FUNC0] >= 0)
		out[n++] = (u32)ctx->e.pos[L_FUNC0];
	for (size_t i = 1; i < ctx->cnt; i++)
		if (ctx->func_start[i] && ctx->e.pos[L_FUNC(i)] >= 0)
			out[n++] = (u32)ctx->e.pos[L_FUNC(i)];
	/* L_FUNC0 sits after the body: keep the list sorted */
	for (size_t k = 1; k < n; k++)
		for (size_t m = k; m > 0 && out[m - 1] > out[m]; m--) {
			u32 t = out[m];
			out[m] = out[m - 1];
			out[m - 1] = t;
		}
	return n;
}

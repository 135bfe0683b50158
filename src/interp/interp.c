/*
 * The interpreter.
 *
 * interp_prepare() pre-decodes a linked program once: every instruction
 * becomes a struct interp_insn holding its bpfx_op (the index into the
 * computed-goto table generated from the opcode list), its registers, its
 * offset (for jumps: relative to the next instruction, as encoded), and a
 * 64-bit immediate that is already sign-extended, or the full lddw value,
 * or the resolved map / map value / function address, or the helper or
 * kfunc entry point. Nothing is looked up while the program runs.
 *
 * interp_run() dispatches by computed goto, directly threaded: each
 * pre-decoded instruction holds the address of its handler, taken from the
 * label table generated from the opcode list. Each frame has 512 bytes of the
 * thread's BPF stack; bpf-to-bpf calls push a frame record (return point,
 * r6-r9, r10, program) up to BPFX_MAX_CALL_FRAMES deep; a tail call swaps
 * the program of the current frame. Every memory access is checked: first
 * against the frame stack and the last region that matched (kept in
 * locals, one compare each), then through run_mem_slow(), so a program can
 * touch only its stack, context, packet and live map storage; the windows
 * are dropped after every helper call. A taken backward jump or call spends the run's
 * branch budget, so no program runs forever.
 *
 * Exceptions. The frame records live in interp_exec's own C frame, out of
 * the program's reach, so bpfx always knows its frames exactly. Each frame
 * remembers the exception boundary of its caller: the frame where the
 * running program was entered (0 for the main program, the replaced frame
 * for a tail-call target). bpf_throw only marks the run; when the kfunc
 * returns, the interpreter drops every frame above the boundary at once
 * (O(1), no walk, nothing of the host's stack involved), checks that the
 * boundary's stack pointer is the one bpfx gave that frame, and runs the
 * program's exception callback on the boundary's stack with r1 = cookie,
 * or the default callback (r0 = cookie). The callback's exit is the
 * boundary frame's exit, so control returns to whoever entered that frame,
 * and finally from interp_run() to the host, which always runs to its
 * end. A throw spends branch budget, so a callback that throws again
 * cannot loop forever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Fused pairs. Clang's code is full of short chains on one register
 * (r1 = r6; r1 &= r2; r1 >>= 26). In an interpreter each step stores the
 * register and the next loads it back, and that store-to-load round trip
 * is most of an ALU instruction's cost. Two adjacent instructions on the
 * same destination -- two 64-bit ALU operations, a load and an operation
 * on what it loaded, or an operation and a conditional jump on its result
 * -- run as one handler that keeps the value in a host register: one
 * dispatch and one store instead of two. The handlers are generated for
 * every pair of the lists below (FUSE_VAL_x gives the value after x).
 */
#define FUSE_OPS(X)                                                            \
	X(MOV64_X) X(MOV64_K) X(ADD64_X) X(ADD64_K) X(SUB64_X) X(SUB64_K)      \
	X(MUL64_X) X(MUL64_K) X(AND64_X) X(AND64_K) X(OR64_X) X(OR64_K)        \
	X(XOR64_X) X(XOR64_K) X(LSH64_K) X(RSH64_K) X(ARSH64_K)
/* The same list, each with A: the rows of the pair table. */
#define FUSE_OPS_WITH(X, A)                                                    \
	X(A, MOV64_X) X(A, MOV64_K) X(A, ADD64_X) X(A, ADD64_K)                \
	X(A, SUB64_X) X(A, SUB64_K) X(A, MUL64_X) X(A, MUL64_K)                \
	X(A, AND64_X) X(A, AND64_K) X(A, OR64_X) X(A, OR64_K) X(A, XOR64_X)    \
	X(A, XOR64_K) X(A, LSH64_K) X(A, RSH64_K) X(A, ARSH64_K)

enum {
#define FUSE_ENUM(op) FUSE_##op,
	FUSE_OPS(FUSE_ENUM)
#undef FUSE_ENUM
	FUSE__COUNT,
};

/* Operations that exist only in pre-decoded form. */
enum {
	INTERP_OP_TAIL_CALL = BPFX_OP__COUNT + 1,
	INTERP_OP_FUSED, /* + FUSE_a * FUSE__COUNT + FUSE_b */
	/* a load, then an operation on what it loaded: + LOAD_x * FUSE__COUNT
	 * + FUSE_b (r3 = *(u16 *)(r1 + 4); r3 += r2) */
	INTERP_OP_FUSED_LOAD = INTERP_OP_FUSED + FUSE__COUNT * FUSE__COUNT,
	/* an operation, then a jump on the register against a constant:
	 * + FUSE_a * JUMP__COUNT + JUMP_j (r1 += 1; if r1 != 10 goto) */
	INTERP_OP_FUSED_JUMP = INTERP_OP_FUSED_LOAD + 4 * FUSE__COUNT,
	/* a load or store at a constant offset inside the frame from r10:
	 * + FRAME_x (see FRAME_OPS) */
	INTERP_OP_FRAME = INTERP_OP_FUSED_JUMP + FUSE__COUNT * 11,
	/* the variants that take the destination from acc (see "The
	 * cached register"): + bpfx_op for an ALU operation, then the
	 * fused pairs that begin with one */
	INTERP_OP_HIT = INTERP_OP_FRAME + 15,
	INTERP_OP_FUSED_HIT = INTERP_OP_HIT + BPFX_OP__COUNT,
	INTERP_OP_FUSED_JUMP_HIT = INTERP_OP_FUSED_HIT + FUSE__COUNT * FUSE__COUNT,
	/* a load inside the frame from r10 then an operation on what it
	 * loaded: no check (see FRAME_OPS); + LOAD_x * FUSE__COUNT + FUSE_b */
	INTERP_OP_FUSED_LOAD_FRAME = INTERP_OP_FUSED_JUMP_HIT + FUSE__COUNT * 11,
	/* an operation then a store of its result inside the frame from
	 * r10: + (FUSE_a * 4 + STORE_x) * 2 + hit (acc holds the operand) */
	INTERP_OP_FUSED_STORE = INTERP_OP_FUSED_LOAD_FRAME + 4 * FUSE__COUNT,
	INTERP_OP__COUNT = INTERP_OP_FUSED_STORE + FUSE__COUNT * 4 * 2,
};

/*
 * Frame accesses. r10 cannot be written, and each frame's r10 is the top
 * of its 512 bytes of the run's stack, so an access at r10 + off with
 * -512 <= off and off + size <= 0 is inside memory the run owns: it needs
 * no check at all (the JIT does the same).
 */
#define FRAME_OPS(X)                                                           \
	X(LDXB) X(LDXH) X(LDXW) X(LDXDW) X(LDXSB) X(LDXSH) X(LDXSW)            \
	X(STB) X(STH) X(STW) X(STDW) X(STXB) X(STXH) X(STXW) X(STXDW)
enum {
#define FRAME_ENUM(op) FRAME_##op,
	FRAME_OPS(FRAME_ENUM)
#undef FRAME_ENUM
	FRAME__COUNT,
};
_Static_assert(FRAME__COUNT == 15, "INTERP_OP__COUNT counts 15 frame ops");

/* The frame variant of INSN, or -1: a load or store through r10 at an
 * offset that stays inside the frame. */
static int frame_index(enum bpfx_op op, const struct bpf_insn *insn)
{
	int idx, size, base;

	switch (op) {
#define FRAME_CASE(o)                                                          \
	case BPFX_OP_##o:                                                      \
		idx = FRAME_##o;                                               \
		break;
		FRAME_OPS(FRAME_CASE)
#undef FRAME_CASE
	default:
		return -1;
	}
	size = BPF_SIZE(insn->code) == BPF_DW ? 8 :
	       BPF_SIZE(insn->code) == BPF_W  ? 4 :
	       BPF_SIZE(insn->code) == BPF_H  ? 2 : 1;
	base = BPF_CLASS(insn->code) == BPF_LDX ? insn->src_reg : insn->dst_reg;
	if (base != BPF_REG_10 || insn->off < -BPFX_STACK_SIZE ||
	    insn->off + size > 0)
		return -1;
	return idx;
}

/* The 64-bit conditional jumps on a constant, with their conditions. */
#define FUSE_JUMPS(X)                                                          \
	X(JEQ_K, v == k) X(JNE_K, v != k) X(JGT_K, v > k) X(JGE_K, v >= k)     \
	X(JLT_K, v < k) X(JLE_K, v <= k) X(JSET_K, v & k)                      \
	X(JSGT_K, (s64)v > (s64)k) X(JSGE_K, (s64)v >= (s64)k)                 \
	X(JSLT_K, (s64)v < (s64)k) X(JSLE_K, (s64)v <= (s64)k)
/* The same, each with A: the rows of the pair table. */
#define FUSE_JUMPS_WITH(X, A)                                                  \
	X(A, JEQ_K, v == k) X(A, JNE_K, v != k) X(A, JGT_K, v > k)             \
	X(A, JGE_K, v >= k) X(A, JLT_K, v < k) X(A, JLE_K, v <= k)             \
	X(A, JSET_K, v & k) X(A, JSGT_K, (s64)v > (s64)k)                      \
	X(A, JSGE_K, (s64)v >= (s64)k) X(A, JSLT_K, (s64)v < (s64)k)           \
	X(A, JSLE_K, (s64)v <= (s64)k)
enum {
#define JUMP_ENUM(op, cond) JUMP_##op,
	FUSE_JUMPS(JUMP_ENUM)
#undef JUMP_ENUM
	JUMP__COUNT,
};
_Static_assert(JUMP__COUNT == 11, "INTERP_OP__COUNT counts 11 jumps");

static int jump_index(enum bpfx_op op)
{
	switch (op) {
#define JUMP_CASE(o, cond)                                                     \
	case BPFX_OP_##o:                                                      \
		return JUMP_##o;
		FUSE_JUMPS(JUMP_CASE)
#undef JUMP_CASE
	default:
		return -1;
	}
}

#define FUSE_STORES(X) X(STXB, u8) X(STXH, u16) X(STXW, u32) X(STXDW, u64)
#define FUSE_STORES_WITH(X, A)                                                 \
	X(A, STXB, u8) X(A, STXH, u16) X(A, STXW, u32) X(A, STXDW, u64)
enum {
#define STORE_ENUM(op, type) STORE_##op,
	FUSE_STORES(STORE_ENUM)
#undef STORE_ENUM
};

static int store_index(enum bpfx_op op)
{
	switch (op) {
#define STORE_CASE(o, type)                                                    \
	case BPFX_OP_##o:                                                      \
		return STORE_##o;
		FUSE_STORES(STORE_CASE)
#undef STORE_CASE
	default:
		return -1;
	}
}

#define FUSE_LOADS(X) X(LDXB) X(LDXH) X(LDXW) X(LDXDW)
enum {
#define LOAD_ENUM(op) LOAD_##op,
	FUSE_LOADS(LOAD_ENUM)
#undef LOAD_ENUM
};

static int load_index(enum bpfx_op op)
{
	switch (op) {
#define LOAD_CASE(o)                                               \
	case BPFX_OP_##o:                                                      \
		return LOAD_##o;
		FUSE_LOADS(LOAD_CASE)
#undef LOAD_CASE
	default:
		return -1;
	}
}

/* The pair index of OP, or -1 when OP does not fuse. */
static int fuse_index(enum bpfx_op op)
{
	switch (op) {
#define FUSE_CASE(o)                                                           \
	case BPFX_OP_##o:                                                      \
		return FUSE_##o;
		FUSE_OPS(FUSE_CASE)
#undef FUSE_CASE
	default:
		return -1;
	}
}

struct interp_insn {
	const void *handler;
	u16 op;
	u8 dst;
	u8 src;
	s32 off;
	u64 imm;
};

struct interp_prog;

/* The handler addresses, indexed by op; interp_exec() hands them out when
 * called without a run. */
static const void *const *interp_handlers;
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;
static int interp_exec(struct bpfx_run *run, const struct interp_prog *cur,
		       const struct interp_insn *pc, const u64 *args,
		       u64 *ret);
static void load_handlers(void)
{
	interp_exec(NULL, NULL, NULL, NULL, NULL);
}

struct interp_prog {
	struct bpfx_program *prog;
	size_t cnt;
	u8 *func_start; /* 1 where a function begins (callback targets) */
	struct interp_insn insns[];
};

/* The interpreter's frames in this run (run->engine_state), so a helper
 * that calls back into BPF (bpf_loop) continues one frame below the
 * caller's. A nested run on the same thread starts from its own state. */
struct interp_state {
	int depth; /* frames in use, across nested callback runs */
	const struct interp_prog *cur; /* program of the helper's caller */
};

/*
 * The cached register. Chains of operations on one register (h ^= b;
 * h *= prime, byte after byte) are bound by latency, and in reg[] each
 * link is a store and a load of the same slot (about five cycles of
 * store-to-load forwarding on top of the operation itself). So every
 * handler of an ALU operation, and every fused pair, also leaves the
 * value it computes in acc, a local the compiler keeps in a host register,
 * and still writes it to reg[] (write-through: every other handler reads
 * reg[] as before). Where the pre-decoder can tell that acc holds the
 * destination of an ALU operation, the operation gets its _H variant,
 * which reads acc instead of reg[]: the chain then stays in host
 * registers. Loads and lddw write reg[] only, so the operand a chain
 * loads (the next byte to hash) does not take acc from the chain.
 *
 * find_cached() tells it, instruction by instruction, in one pass over
 * the code: acc holds the destination of the last ALU operation, as long
 * as only stores, conditional jumps and loads of other registers came in
 * between; any other instruction (a call, an atomic operation, a legacy
 * packet load, an exit) leaves acc unknown, and so does every place
 * control can arrive from elsewhere (a jump or call target, a function's
 * start, the exception callback).
 */
static bool writes_acc(enum bpfx_op op)
{
	switch (op) {
#define ALU_CASE(id, opc, sel, selval, mnem, fields) case BPFX_OP_##id:
		BPFX_ALU_OPS(ALU_CASE)
#undef ALU_CASE
		return true;
	default:
		return false;
	}
}

/* A load: writes its destination in reg[] only. */
static bool writes_reg_only(enum bpfx_op op)
{
	switch (op) {
	case BPFX_OP_LDXB:
	case BPFX_OP_LDXH:
	case BPFX_OP_LDXW:
	case BPFX_OP_LDXDW:
	case BPFX_OP_LDXSB:
	case BPFX_OP_LDXSH:
	case BPFX_OP_LDXSW:
	case BPFX_OP_LDDW:
		return true;
	default:
		return false;
	}
}

/* A store or a conditional jump: writes no register. */
static bool keeps_acc(enum bpfx_op op, u8 code)
{
	switch (op) {
	case BPFX_OP_STB:
	case BPFX_OP_STH:
	case BPFX_OP_STW:
	case BPFX_OP_STDW:
	case BPFX_OP_STXB:
	case BPFX_OP_STXH:
	case BPFX_OP_STXW:
	case BPFX_OP_STXDW:
		return true;
	default:
		return (BPF_CLASS(code) == BPF_JMP ||
			BPF_CLASS(code) == BPF_JMP32) &&
		       BPF_OP(code) != BPF_JA && BPF_OP(code) != BPF_CALL &&
		       BPF_OP(code) != BPF_EXIT;
	}
}

/* CACHED[i]: the register acc holds when instruction i starts, or -1.
 * False (nothing cached) if out of memory. */
static bool find_cached(const struct interp_prog *ip,
			const struct bpfx_program *prog, s8 *cached)
{
	size_t cnt = ip->cnt;
	u8 *entry = calloc(cnt ? cnt : 1, 1);
	int c = -1;

	if (!entry)
		return false;
	entry[0] = 1;
	if (prog->exception_cb_insn > 0 &&
	    (size_t)prog->exception_cb_insn < cnt)
		entry[prog->exception_cb_insn] = 1;
	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *insn = &prog->insns[i];
		u8 cls = BPF_CLASS(insn->code), op = BPF_OP(insn->code);
		s64 target = -1;

		if (ip->func_start[i])
			entry[i] = 1;
		if (cls != BPF_JMP && cls != BPF_JMP32)
			continue;
		if (op == BPF_CALL) {
			if (insn->src_reg == BPF_PSEUDO_CALL)
				target = (s64)i + 1 + insn->imm;
		} else if (op == BPF_JA && cls == BPF_JMP32) {
			target = (s64)i + 1 + insn->imm;
		} else if (op != BPF_EXIT) {
			target = (s64)i + 1 + insn->off;
		}
		if (target >= 0 && (size_t)target < cnt)
			entry[target] = 1;
	}
	for (size_t i = 0; i < cnt; i++) {
		const struct interp_insn *d = &ip->insns[i];
		u8 code = prog->insns[i].code;

		if (entry[i])
			c = -1;
		cached[i] = (s8)c;
		if (writes_acc(d->op))
			c = d->dst;
		else if (writes_reg_only(d->op))
			c = d->dst == c ? -1 : c;
		else if (!keeps_acc(d->op, code))
			c = -1;
		if (code == (BPF_LD | BPF_IMM | BPF_DW) && i + 1 < cnt)
			cached[++i] = -1; /* lddw's second half */
	}
	free(entry);
	return true;
}

/* Gives the first of each fusable pair its pair handler (see FUSE_OPS),
 * the _H variant where acc holds its destination (CACHED, see above).
 * The second instruction keeps its own handler, so a jump that lands on it
 * runs it alone, as before. */
static void fuse_pairs(struct interp_prog *ip, const struct bpfx_program *prog,
		       const s8 *cached)
{
	for (size_t i = 0; i + 1 < ip->cnt; i++) {
		const struct interp_insn *a = &ip->insns[i], *b = a + 1;
		int fa = fuse_index(a->op), la = load_index(a->op);
		int fb = fuse_index(b->op), jb = jump_index(b->op);
		int sb = store_index(b->op);
		int fused;
		bool hit_store = cached[i] == a->dst;

		/* an operation, then a store of its result in the frame */
		if (fa >= 0 && sb >= 0 && b->src == a->dst &&
		    frame_index(b->op, &prog->insns[i + 1]) >= 0) {
			fused = INTERP_OP_FUSED_STORE +
				(fa * 4 + sb) * 2 + hit_store;
			ip->insns[i].handler = interp_handlers[fused];
			i++;
			continue;
		}
		if (a->dst != b->dst)
			continue;
		bool hit = cached[i] == a->dst;

		if (fa >= 0 && jb >= 0)
			fused = (hit ? INTERP_OP_FUSED_JUMP_HIT
				     : INTERP_OP_FUSED_JUMP) +
				fa * JUMP__COUNT + jb;
		else if (fb < 0 ||
			 /* the second must not read the register the pair
			  * writes: the pair stores it only at the end */
			 (BPF_SRC(prog->insns[i + 1].code) == BPF_X &&
			  b->src == b->dst))
			continue;
		else if (fa >= 0)
			fused = (hit ? INTERP_OP_FUSED_HIT : INTERP_OP_FUSED) +
				fa * FUSE__COUNT + fb;
		else if (la >= 0)
			fused = (frame_index(a->op, &prog->insns[i]) >= 0
					 ? INTERP_OP_FUSED_LOAD_FRAME
					 : INTERP_OP_FUSED_LOAD) +
				la * FUSE__COUNT + fb;
		else
			continue;
		ip->insns[i].handler = interp_handlers[fused];
		i++; /* the second of a pair starts no pair */
	}
}

int interp_prepare(struct bpfx_program *prog, char *err, size_t err_sz)
{
	size_t cnt = prog->insn_cnt;
	struct interp_prog *ip =
		calloc(1, sizeof(*ip) + cnt * sizeof(struct interp_insn));
	struct resolved_insn *res = calloc(cnt, sizeof(*res));
	u8 *func_start = calloc(cnt, 1);
	int ret = -ENOMEM;

	if (!ip || !res || !func_start) {
		snprintf(err, err_sz, "out of memory");
		goto fail;
	}
	ret = prepare_resolve(prog, res, func_start, err, err_sz);
	if (ret)
		goto fail;
	ip->prog = prog;
	ip->cnt = cnt;
	ip->func_start = func_start;

	pthread_once(&handlers_once, load_handlers);
	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *insn = &prog->insns[i];
		struct interp_insn *d = &ip->insns[i];
		const struct resolved_insn *r = &res[i];

		d->op = r->op;
		d->dst = insn->dst_reg;
		d->src = insn->src_reg;
		d->off = insn->off;
		d->imm = (u64)(s64)insn->imm;
		switch (r->kind) {
		case RESOLVED_HELPER:
		case RESOLVED_HELPER_CALLBACK:
		case RESOLVED_KFUNC:
		case RESOLVED_KFUNC_THROW:
			d->op = BPFX_OP_CALL_HELPER;
			d->imm = r->imm;
			break;
		case RESOLVED_TAIL_CALL:
			d->op = INTERP_OP_TAIL_CALL;
			break;
		case RESOLVED_VALUE:
			d->op = BPFX_OP_LDDW;
			d->imm = r->imm;
			break;
		case RESOLVED_FUNC:
			d->op = BPFX_OP_LDDW;
			d->imm = (u64)(uintptr_t)&ip->insns[r->imm];
			break;
		default:
			break;
		}
		/* jumps and calls keep their offsets; gotol's is in imm */
		if (r->op == BPFX_OP_JA32 || r->op == BPFX_OP_CALL_LOCAL)
			d->off = insn->imm;
		int frame = frame_index(r->op, insn);
		d->handler = interp_handlers[frame >= 0 ? INTERP_OP_FRAME + frame
							: d->op];
	}
	s8 *cached = malloc(cnt ? cnt : 1);
	if (!cached || !find_cached(ip, prog, cached)) {
		if (cached)
			memset(cached, -1, cnt);
	} else {
		for (size_t i = 0; i < cnt; i++) {
			struct interp_insn *d = &ip->insns[i];
			const void *hit = d->op < BPFX_OP__COUNT
				? interp_handlers[INTERP_OP_HIT + d->op] : NULL;
			if (hit && cached[i] == d->dst &&
			    d->handler == interp_handlers[d->op])
				d->handler = hit;
		}
	}
	if (cached)
		fuse_pairs(ip, prog, cached);
	free(cached);
	free(res);
	interp_free(prog);
	prog->interp = ip;
	return 0;
fail:
	free(res);
	free(func_start);
	free(ip);
	return ret;
}

void interp_free(struct bpfx_program *prog)
{
	struct interp_prog *ip = prog->interp;
	if (!ip)
		return;
	free(ip->func_start);
	free(ip);
	prog->interp = NULL;
}

struct frame {
	const struct interp_insn *ret;
	const struct interp_prog *prog;
	u64 saved[5]; /* r6-r9, r10 */
	int boundary; /* the caller's exception boundary */
};

static int fault(struct bpfx_run *run, const struct interp_prog *cur,
		 const struct interp_insn *pc, int err, const char *what)
{
	size_t idx = (size_t)(pc - cur->insns);
	char line[256] = "";
	char src[200];
	if (prog_source_line(cur->prog, idx, src, sizeof(src)))
		snprintf(line, sizeof(line), " (%s)", src);
	return run_fail(run, err, "interp: %s: insn %zu: %s%s",
			cur->prog->name ? cur->prog->name : "prog", idx, what,
			line);
}

static int mem_fault(struct bpfx_run *run, const struct interp_prog *cur,
		     const struct interp_insn *pc, u64 addr, u64 size,
		     bool write)
{
	char what[128];
	snprintf(what, sizeof(what), "invalid %s of %llu bytes at 0x%llx",
		 write ? "write" : "read", (unsigned long long)size,
		 (unsigned long long)addr);
	return fault(run, cur, pc, -EFAULT, what);
}

/* run->call: runs the BPF function at FUNC (an address a lddw of a
 * function produced) as a callback, one frame below the caller. */
static int interp_callback(struct bpfx_run *run, u64 func, const u64 *args,
			   u64 *ret)
{
	const struct interp_state *state = run->engine_state;
	const struct interp_prog *cur = state ? state->cur : NULL;
	const struct interp_insn *target =
		(const struct interp_insn *)(uintptr_t)func;
	/* The callback must be a function of the running program. */
	if (!cur || target < cur->insns || target >= cur->insns + cur->cnt ||
	    ((uintptr_t)target - (uintptr_t)cur->insns) %
			    sizeof(struct interp_insn) ||
	    !cur->func_start[target - cur->insns])
		return run_fail(run, -EINVAL,
				"interp: callback 0x%llx is not a function of the program",
				(unsigned long long)func);
	return interp_exec(run, cur, target, args, ret);
}

/* Whether FUNC is the first instruction of a function of CUR. */
static bool is_func_of(const struct interp_prog *cur, u64 func)
{
	const struct interp_insn *target =
		(const struct interp_insn *)(uintptr_t)func;

	return cur && target >= cur->insns && target < cur->insns + cur->cnt &&
	       !(((uintptr_t)target - (uintptr_t)cur->insns) %
		 sizeof(struct interp_insn)) &&
	       cur->func_start[target - cur->insns];
}

bool interp_func_valid(const struct bpfx_program *prog, u64 func)
{
	return prog && is_func_of(prog->interp, func);
}

/* An async entry (a bpf_timer callback): a run of its own that starts at
 * FUNC, the function's frame the first of the run's stack. */
int interp_run_func(struct bpfx_run *run, u64 func, const u64 *args, u64 *ret)
{
	const struct interp_prog *cur = run->prog->interp;

	if (!is_func_of(cur, func))
		return run_fail(run, -EINVAL,
				"interp: callback 0x%llx is not a function of program %s",
				(unsigned long long)func, run->prog->name);
	run->call = interp_callback;
	return interp_exec(run, cur,
			   (const struct interp_insn *)(uintptr_t)func, args,
			   ret);
}

int interp_run(struct bpfx_run *run, u64 r1, u64 r2, u64 *ret)
{
	const struct interp_prog *cur = run->prog->interp;
	if (!cur)
		return run_fail(run, -EINVAL, "interp: program %s not prepared",
				run->prog->name);
	u64 args[5] = { r1, r2, 0, 0, 0 };
	run->call = interp_callback;
	return interp_exec(run, cur, cur->insns, args, ret);
}

#define DST reg[pc->dst]
#define SRC reg[pc->src]
#define IMM pc->imm
/* Writes V to the destination and to acc: memory stays up to date, so a
 * handler that reads reg[] never misses what acc holds. */
#define SET_DST(v)                                                             \
	do {                                                                   \
		acc = (v);                                                     \
		reg[pc->dst] = acc;                                            \
	} while (0)
#define DISPATCH() goto *pc->handler
#define NEXT()                                                                 \
	do {                                                                   \
		pc++;                                                          \
		DISPATCH();                                                    \
	} while (0)
#define JUMP_IF(cond)                                                          \
	do {                                                                   \
		if (cond) {                                                    \
			if (pc->off < 0 && !--run->branch_budget)              \
				goto budget_spent;                             \
			pc += 1 + pc->off;                                     \
		} else {                                                       \
			pc++;                                                  \
		}                                                              \
		DISPATCH();                                                    \
	} while (0)

/* The address of [addr, addr + size) if the run may access it: the last
 * readable / writable region that matched, then the run's stack, are
 * checked inline (accesses through r10 inside the frame never get here);
 * anything else goes through run_mem_slow(), which refreshes the windows.
 * An access that is not allowed ends the run with a fault on the current
 * instruction (so the inline path needs no test of the address it
 * returns). */
#define MEM(addr, size, acc)                                                   \
	({                                                                     \
		u64 a_ = (addr);                                               \
		void *m_ = (void *)(uintptr_t)a_;                              \
		if (__builtin_expect(                                          \
			    ((acc) == MEM_READ                                 \
				     ? rd_len < (size) ||                      \
					       a_ - rd_lo > rd_len - (size)    \
				     : wr_len < (size) ||                      \
					       a_ - wr_lo > wr_len - (size)) && \
				    a_ - stack_lo > STACK_BYTES - (size),      \
			    0)) {                                              \
			m_ = mem_window_miss(run, a_, size, acc, &rd_lo,       \
					     &rd_len, &wr_lo, &wr_len);        \
			if (!m_) {                                             \
				err = mem_fault(run, cur, pc, a_, size,        \
						(acc) == MEM_WRITE);           \
				goto out;                                      \
			}                                                      \
		}                                                              \
		m_;                                                            \
	})

#define LOAD(type, size, ext)                                                  \
	do {                                                                   \
		u64 addr_ = SRC + (s64)pc->off;                                \
		void *p_ = MEM(addr_, size, MEM_READ);                         \
		type v_;                                                       \
		memcpy(&v_, p_, size);                                         \
		DST = ext(v_);                                                 \
		NEXT();                                                        \
	} while (0)

#define STORE(type, size, value)                                               \
	do {                                                                   \
		u64 addr_ = DST + (s64)pc->off;                                \
		void *p_ = MEM(addr_, size, MEM_WRITE);                        \
		type v_ = (type)(value);                                       \
		memcpy(p_, &v_, size);                                         \
		NEXT();                                                        \
	} while (0)

#define ATOMIC_PTR(type, size)                                                 \
	type *ap_;                                                             \
	do {                                                                   \
		u64 addr_ = DST + (s64)pc->off;                                \
		if (addr_ & (size - 1)) {                                      \
			err = fault(run, cur, pc, -EFAULT,                     \
				    "misaligned atomic access");               \
			goto out;                                              \
		}                                                              \
		ap_ = MEM(addr_, size, MEM_WRITE);                             \
	} while (0)

#define ATOMIC_OP(type, size, fn, fetch)                                       \
	do {                                                                   \
		ATOMIC_PTR(type, size);                                        \
		type old_ = fn(ap_, (type)SRC, __ATOMIC_SEQ_CST);              \
		if (fetch)                                                     \
			SRC = old_;                                            \
		NEXT();                                                        \
	} while (0)

/* LD_ABS / LD_IND: inside the packet here, anything else (offsets from
 * the network or link-layer header, out of range) by run_ld_packet(); an
 * access the kernel refuses returns 0 from the function it is in (the
 * program, when that is the main one), as the kernel's. */
#define LD_PACKET(size, offset)                                                \
	do {                                                                   \
		s64 o_ = (offset);                                             \
		u64 len_ = run->pkt.hi - run->pkt.lo;                          \
		u64 v_ = 0;                                                    \
		if (__builtin_expect(o_ >= 0 && (u64)o_ + size <= len_, 1)) {  \
			const u8 *b_ =                                         \
				(const u8 *)(uintptr_t)(run->pkt.lo + o_);     \
			for (int k_ = 0; k_ < size; k_++)                      \
				v_ = (v_ << 8) | b_[k_];                       \
		} else {                                                       \
			v_ = run_ld_packet(run, o_, size);                     \
			if ((s64)v_ < 0) {                                     \
				/* the function returns 0, as the kernel's */  \
				reg[0] = 0;                                    \
				goto op_EXIT;                                  \
			}                                                      \
		}                                                              \
		reg[0] = v_;                                                   \
		NEXT();                                                        \
	} while (0)

#define STACK_BYTES ((u64)BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE)

/* The slow half of MEM(): asks run_mem_slow() and, on success, makes the
 * region that matched the new window [lo, lo + len); an empty window
 * matches nothing. */
static void *mem_window_miss(struct bpfx_run *run, u64 addr, u64 size,
			     enum mem_access acc, u64 *rd_lo, u64 *rd_len,
			     u64 *wr_lo, u64 *wr_len)
{
	void *p = run_mem_slow(run, addr, size, acc);
	if (p && run->cached.hi > run->cached.lo) {
		*rd_lo = run->cached.lo;
		*rd_len = run->cached.hi - run->cached.lo;
		if (run->cached.writable) {
			*wr_lo = *rd_lo;
			*wr_len = *rd_len;
		}
	}
	return p;
}

#define SEXT8(v) ((u64)(s64)(s8)(v))
#define SEXT16(v) ((u64)(s64)(s16)(v))
#define SEXT32(v) ((u64)(s64)(s32)(v))
#define ZEXT(v) ((u64)(v))

/* Each ALU operation as the value it gives the destination, whose value
 * before is v (SRC, IMM: the instruction's operands). */
static inline u64 sdiv64(s64 a, s64 b)
{
	return (u64)(b == 0 ? 0 : b == -1 ? (s64)(0 - (u64)a) : a / b);
}
static inline u64 smod64(s64 a, s64 b)
{
	return (u64)(b == 0 ? a : b == -1 ? 0 : a % b);
}
static inline u64 sdiv32(s32 a, s32 b)
{
	return (u32)(b == 0 ? 0 : b == -1 ? (s32)(0u - (u32)a) : a / b);
}
static inline u64 smod32(s32 a, s32 b)
{
	return (u32)(b == 0 ? a : b == -1 ? 0 : a % b);
}
#define ALU_VAL_ADD32_K(v) (u32)((v) + IMM)
#define ALU_VAL_ADD32_X(v) (u32)((v) + SRC)
#define ALU_VAL_SUB32_K(v) (u32)((v) - IMM)
#define ALU_VAL_SUB32_X(v) (u32)((v) - SRC)
#define ALU_VAL_MUL32_K(v) (u32)((u32)(v) * (u32)IMM)
#define ALU_VAL_MUL32_X(v) (u32)((u32)(v) * (u32)SRC)
#define ALU_VAL_DIV32_K(v) ((u32)IMM ? (u32)(v) / (u32)IMM : 0)
#define ALU_VAL_DIV32_X(v) ((u32)SRC ? (u32)(v) / (u32)SRC : 0)
#define ALU_VAL_SDIV32_K(v) sdiv32((s32)(v), (s32)IMM)
#define ALU_VAL_SDIV32_X(v) sdiv32((s32)(v), (s32)SRC)
#define ALU_VAL_OR32_K(v) (u32)((v) | IMM)
#define ALU_VAL_OR32_X(v) (u32)((v) | SRC)
#define ALU_VAL_AND32_K(v) (u32)((v) & IMM)
#define ALU_VAL_AND32_X(v) (u32)((v) & SRC)
#define ALU_VAL_LSH32_K(v) (u32)((u32)(v) << (IMM & 31))
#define ALU_VAL_LSH32_X(v) (u32)((u32)(v) << (SRC & 31))
#define ALU_VAL_RSH32_K(v) ((u32)(v) >> (IMM & 31))
#define ALU_VAL_RSH32_X(v) ((u32)(v) >> (SRC & 31))
#define ALU_VAL_NEG32(v) (u32)(0u - (u32)(v))
#define ALU_VAL_MOD32_K(v) ((u32)IMM ? (u32)(v) % (u32)IMM : (u32)(v))
#define ALU_VAL_MOD32_X(v) ((u32)SRC ? (u32)(v) % (u32)SRC : (u32)(v))
#define ALU_VAL_SMOD32_K(v) smod32((s32)(v), (s32)IMM)
#define ALU_VAL_SMOD32_X(v) smod32((s32)(v), (s32)SRC)
#define ALU_VAL_XOR32_K(v) (u32)((v) ^ IMM)
#define ALU_VAL_XOR32_X(v) (u32)((v) ^ SRC)
#define ALU_VAL_MOV32_K(v) ((void)(v), (u32)IMM)
#define ALU_VAL_MOV32_X(v) ((void)(v), (u32)SRC)
#define ALU_VAL_MOVSX8_32(v) ((void)(v), (u32)(s32)(s8)SRC)
#define ALU_VAL_MOVSX16_32(v) ((void)(v), (u32)(s32)(s16)SRC)
#define ALU_VAL_ARSH32_K(v) (u32)((s32)(v) >> (IMM & 31))
#define ALU_VAL_ARSH32_X(v) (u32)((s32)(v) >> (SRC & 31))
#define ALU_VAL_LE16(v) (u16)(v)
#define ALU_VAL_LE32(v) (u32)(v)
#define ALU_VAL_LE64(v) (v)
#define ALU_VAL_BE16(v) __builtin_bswap16((u16)(v))
#define ALU_VAL_BE32(v) __builtin_bswap32((u32)(v))
#define ALU_VAL_BE64(v) __builtin_bswap64(v)
#define ALU_VAL_BSWAP16(v) __builtin_bswap16((u16)(v))
#define ALU_VAL_BSWAP32(v) __builtin_bswap32((u32)(v))
#define ALU_VAL_BSWAP64(v) __builtin_bswap64(v)
#define ALU_VAL_ADD64_K(v) ((v) + IMM)
#define ALU_VAL_ADD64_X(v) ((v) + SRC)
#define ALU_VAL_SUB64_K(v) ((v) - IMM)
#define ALU_VAL_SUB64_X(v) ((v) - SRC)
#define ALU_VAL_MUL64_K(v) ((v) * IMM)
#define ALU_VAL_MUL64_X(v) ((v) * SRC)
#define ALU_VAL_DIV64_K(v) (IMM ? (v) / IMM : 0)
#define ALU_VAL_DIV64_X(v) (SRC ? (v) / SRC : 0)
#define ALU_VAL_SDIV64_K(v) sdiv64((s64)(v), (s64)IMM)
#define ALU_VAL_SDIV64_X(v) sdiv64((s64)(v), (s64)SRC)
#define ALU_VAL_OR64_K(v) ((v) | IMM)
#define ALU_VAL_OR64_X(v) ((v) | SRC)
#define ALU_VAL_AND64_K(v) ((v) & IMM)
#define ALU_VAL_AND64_X(v) ((v) & SRC)
#define ALU_VAL_LSH64_K(v) ((v) << (IMM & 63))
#define ALU_VAL_LSH64_X(v) ((v) << (SRC & 63))
#define ALU_VAL_RSH64_K(v) ((v) >> (IMM & 63))
#define ALU_VAL_RSH64_X(v) ((v) >> (SRC & 63))
#define ALU_VAL_NEG64(v) (0 - (v))
#define ALU_VAL_MOD64_K(v) (IMM ? (v) % IMM : (v))
#define ALU_VAL_MOD64_X(v) (SRC ? (v) % SRC : (v))
#define ALU_VAL_SMOD64_K(v) smod64((s64)(v), (s64)IMM)
#define ALU_VAL_SMOD64_X(v) smod64((s64)(v), (s64)SRC)
#define ALU_VAL_XOR64_K(v) ((v) ^ IMM)
#define ALU_VAL_XOR64_X(v) ((v) ^ SRC)
#define ALU_VAL_MOV64_K(v) ((void)(v), IMM)
#define ALU_VAL_MOV64_X(v) ((void)(v), SRC)
#define ALU_VAL_MOVSX8_64(v) ((void)(v), SEXT8(SRC))
#define ALU_VAL_MOVSX16_64(v) ((void)(v), SEXT16(SRC))
#define ALU_VAL_MOVSX32_64(v) ((void)(v), SEXT32(SRC))
#define ALU_VAL_ARSH64_K(v) ((u64)((s64)(v) >> (IMM & 63)))
#define ALU_VAL_ARSH64_X(v) ((u64)((s64)(v) >> (SRC & 63)))

static int interp_exec(struct bpfx_run *run, const struct interp_prog *cur,
		       const struct interp_insn *pc, const u64 *args,
		       u64 *ret)
{
	static const void *const labels[INTERP_OP__COUNT] = {
#define LABEL(id, opc, sel, selval, mnem, fields) [BPFX_OP_##id] = &&op_##id,
		BPFX_OPCODES(LABEL)
#undef LABEL
		[BPFX_OP_INVALID] = &&op_INVALID,
		[INTERP_OP_TAIL_CALL] = &&op_TAIL_CALL,
#define FUSE_LABEL(a, b)                                                       \
	[INTERP_OP_FUSED + FUSE_##a * FUSE__COUNT + FUSE_##b] = &&op_F_##a##_##b,
#define FUSE_ROW_LABELS(a) FUSE_OPS_WITH(FUSE_LABEL, a)
		FUSE_OPS(FUSE_ROW_LABELS)
#undef FUSE_ROW_LABELS
#undef FUSE_LABEL
#define LOAD_LABEL(l, b)                                                       \
	[INTERP_OP_FUSED_LOAD + LOAD_##l * FUSE__COUNT + FUSE_##b] = &&op_L_##l##_##b,
#define LOAD_ROW_LABELS(l) FUSE_OPS_WITH(LOAD_LABEL, l)
		FUSE_LOADS(LOAD_ROW_LABELS)
#undef LOAD_ROW_LABELS
#undef LOAD_LABEL
#define JUMP_LABEL(a, j, cond)                                                 \
	[INTERP_OP_FUSED_JUMP + FUSE_##a * JUMP__COUNT + JUMP_##j] =           \
		&&op_J_##a##_##j,
#define JUMP_ROW_LABELS(a) FUSE_JUMPS_WITH(JUMP_LABEL, a)
		FUSE_OPS(JUMP_ROW_LABELS)
#undef JUMP_ROW_LABELS
#undef JUMP_LABEL
#define FRAME_LABEL(o) [INTERP_OP_FRAME + FRAME_##o] = &&op_FRAME_##o,
		FRAME_OPS(FRAME_LABEL)
#undef FRAME_LABEL
#define STORE_LABEL(a, x, type)                                                \
	[INTERP_OP_FUSED_STORE + (FUSE_##a * 4 + STORE_##x) * 2] =             \
		&&op_S_##a##_##x,                                              \
	[INTERP_OP_FUSED_STORE + (FUSE_##a * 4 + STORE_##x) * 2 + 1] =         \
		&&op_SH_##a##_##x,
#define STORE_ROW_LABELS(a) FUSE_STORES_WITH(STORE_LABEL, a)
		FUSE_OPS(STORE_ROW_LABELS)
#undef STORE_ROW_LABELS
#undef STORE_LABEL
#define LOAD_FRAME_LABEL(l, b)                                                 \
	[INTERP_OP_FUSED_LOAD_FRAME + LOAD_##l * FUSE__COUNT + FUSE_##b] =     \
		&&op_LF_##l##_##b,
#define LOAD_FRAME_ROW_LABELS(l) FUSE_OPS_WITH(LOAD_FRAME_LABEL, l)
		FUSE_LOADS(LOAD_FRAME_ROW_LABELS)
#undef LOAD_FRAME_ROW_LABELS
#undef LOAD_FRAME_LABEL
#define HIT_LABEL(id, opc, sel, selval, mnem, fields)                          \
	[INTERP_OP_HIT + BPFX_OP_##id] = &&op_H_##id,
		BPFX_ALU_OPS(HIT_LABEL)
#undef HIT_LABEL
#define FUSE_HIT_LABEL(a, b)                                                   \
	[INTERP_OP_FUSED_HIT + FUSE_##a * FUSE__COUNT + FUSE_##b] =            \
		&&op_FH_##a##_##b,
#define FUSE_HIT_ROW_LABELS(a) FUSE_OPS_WITH(FUSE_HIT_LABEL, a)
		FUSE_OPS(FUSE_HIT_ROW_LABELS)
#undef FUSE_HIT_ROW_LABELS
#undef FUSE_HIT_LABEL
#define JUMP_HIT_LABEL(a, j, cond)                                             \
	[INTERP_OP_FUSED_JUMP_HIT + FUSE_##a * JUMP__COUNT + JUMP_##j] =       \
		&&op_JH_##a##_##j,
#define JUMP_HIT_ROW_LABELS(a) FUSE_JUMPS_WITH(JUMP_HIT_LABEL, a)
		FUSE_OPS(JUMP_HIT_ROW_LABELS)
#undef JUMP_HIT_ROW_LABELS
#undef JUMP_HIT_LABEL
	};
	struct interp_state state_here, *outer_state = run ? run->engine_state : NULL;
	struct frame frames[BPFX_MAX_CALL_FRAMES];
	/* each frame's may_goto budget, set when the frame is entered (a
	 * call, a tail call, the exception callback) as the kernel's fixup
	 * stores BPF_MAX_LOOPS in a hidden stack slot at every function's
	 * entry; may_goto takes the jump once the budget is spent */
	s64 may_goto_left[BPFX_MAX_CALL_FRAMES];
	int depth = 0;
	int boundary = 0; /* frame where the running program was entered */
	int base = outer_state ? outer_state->depth + 1 : 0;
	int err = 0;
	u64 reg[11] = { 0 };
	u64 acc = 0; /* see "The cached register" */

	if (!run) {
		interp_handlers = labels;
		return 0;
	}
	const u64 stack_lo = (u64)(uintptr_t)run->stack;
	u64 rd_lo = 0, rd_len = 0, wr_lo = 0, wr_len = 0;

	if (base >= BPFX_MAX_CALL_FRAMES)
		return fault(run, cur, pc, -E2BIG, "call stack too deep");
	for (int i = 0; i < 5; i++)
		reg[1 + i] = args[i];
	reg[10] = (u64)(uintptr_t)(run->stack +
				   (BPFX_MAX_CALL_FRAMES - base) *
					   BPFX_STACK_SIZE);
	state_here.depth = base;
	run->engine_state = &state_here;
	may_goto_left[0] = BPFX_MAX_LOOPS;

	DISPATCH();

	/* ALU operations, each twice: taking the destination from reg[]
	 * and, as op_H_x, from acc (see "The cached register") */
#define ALU_HANDLERS(id, opc, sel, selval, mnem, fields)                       \
op_##id: {                                                                     \
	u64 v = ALU_VAL_##id(DST);                                             \
	SET_DST(v);                                                            \
	NEXT();                                                                \
}                                                                              \
op_H_##id: {                                                                   \
	u64 v = ALU_VAL_##id(acc);                                             \
	SET_DST(v);                                                            \
	NEXT();                                                                \
}
	BPFX_ALU_OPS(ALU_HANDLERS)
#undef ALU_HANDLERS

	/* fused pairs: v is the destination's value along the pair */
#define FUSE_VAL_MOV64_X(v, p) ((void)(v), reg[(p)->src])
#define FUSE_VAL_MOV64_K(v, p) ((void)(v), (p)->imm)
#define FUSE_VAL_ADD64_X(v, p) ((v) + reg[(p)->src])
#define FUSE_VAL_ADD64_K(v, p) ((v) + (p)->imm)
#define FUSE_VAL_SUB64_X(v, p) ((v) - reg[(p)->src])
#define FUSE_VAL_SUB64_K(v, p) ((v) - (p)->imm)
#define FUSE_VAL_MUL64_X(v, p) ((v) * reg[(p)->src])
#define FUSE_VAL_MUL64_K(v, p) ((v) * (p)->imm)
#define FUSE_VAL_AND64_X(v, p) ((v) & reg[(p)->src])
#define FUSE_VAL_AND64_K(v, p) ((v) & (p)->imm)
#define FUSE_VAL_OR64_X(v, p) ((v) | reg[(p)->src])
#define FUSE_VAL_OR64_K(v, p) ((v) | (p)->imm)
#define FUSE_VAL_XOR64_X(v, p) ((v) ^ reg[(p)->src])
#define FUSE_VAL_XOR64_K(v, p) ((v) ^ (p)->imm)
#define FUSE_VAL_LSH64_K(v, p) ((v) << ((p)->imm & 63))
#define FUSE_VAL_RSH64_K(v, p) ((v) >> ((p)->imm & 63))
#define FUSE_VAL_ARSH64_K(v, p) ((u64)((s64)(v) >> ((p)->imm & 63)))
#define FUSE_HANDLER(a, b)                                                     \
op_F_##a##_##b: {                                                              \
	u64 v = reg[pc->dst];                                                  \
	v = FUSE_VAL_##a(v, pc);                                               \
	SET_DST(FUSE_VAL_##b(v, pc + 1));                                      \
	pc += 2;                                                               \
	DISPATCH();                                                            \
}                                                                              \
op_FH_##a##_##b: {                                                             \
	u64 v = FUSE_VAL_##a(acc, pc);                                         \
	SET_DST(FUSE_VAL_##b(v, pc + 1));                                      \
	pc += 2;                                                               \
	DISPATCH();                                                            \
}
#define FUSE_ROW_HANDLERS(a) FUSE_OPS_WITH(FUSE_HANDLER, a)
	FUSE_OPS(FUSE_ROW_HANDLERS)
#undef FUSE_ROW_HANDLERS
#undef FUSE_HANDLER
	/* a load then an operation: a fault is the load's (pc is on it) */
#define LOAD_TYPE_LDXB u8
#define LOAD_TYPE_LDXH u16
#define LOAD_TYPE_LDXW u32
#define LOAD_TYPE_LDXDW u64
#define LOAD_HANDLER(l, b)                                                     \
op_L_##l##_##b: {                                                              \
	u64 addr_ = SRC + (s64)pc->off;                                        \
	void *p_ = MEM(addr_, sizeof(LOAD_TYPE_##l), MEM_READ);                \
	LOAD_TYPE_##l lv_;                                                     \
	memcpy(&lv_, p_, sizeof(lv_));                                         \
	SET_DST(FUSE_VAL_##b((u64)lv_, pc + 1));                               \
	pc += 2;                                                               \
	DISPATCH();                                                            \
}
#define LOAD_ROW_HANDLERS(l) FUSE_OPS_WITH(LOAD_HANDLER, l)
	FUSE_LOADS(LOAD_ROW_HANDLERS)
#undef LOAD_ROW_HANDLERS
#undef LOAD_HANDLER
	/* an operation, then a store of its result in the frame (no check:
	 * see FRAME_OPS); _H: the operand from acc */
#define STORE_HANDLER(a, x, type)                                              \
op_S_##a##_##x: {                                                              \
	SET_DST(FUSE_VAL_##a(reg[pc->dst], pc));                               \
	type sv_ = (type)acc;                                                  \
	memcpy((void *)(uintptr_t)(reg[10] + (s64)(pc + 1)->off), &sv_,        \
	       sizeof(sv_));                                                   \
	pc += 2;                                                               \
	DISPATCH();                                                            \
}                                                                              \
op_SH_##a##_##x: {                                                             \
	SET_DST(FUSE_VAL_##a(acc, pc));                                        \
	type sv_ = (type)acc;                                                  \
	memcpy((void *)(uintptr_t)(reg[10] + (s64)(pc + 1)->off), &sv_,        \
	       sizeof(sv_));                                                   \
	pc += 2;                                                               \
	DISPATCH();                                                            \
}
#define STORE_ROW_HANDLERS(a) FUSE_STORES_WITH(STORE_HANDLER, a)
	FUSE_OPS(STORE_ROW_HANDLERS)
#undef STORE_ROW_HANDLERS
#undef STORE_HANDLER
	/* the same from the frame: no check (see FRAME_OPS) */
#define LOAD_FRAME_HANDLER(l, b)                                               \
op_LF_##l##_##b: {                                                             \
	LOAD_TYPE_##l lv_;                                                     \
	memcpy(&lv_, (const void *)(uintptr_t)(SRC + (s64)pc->off),           \
	       sizeof(lv_));                                                   \
	SET_DST(FUSE_VAL_##b((u64)lv_, pc + 1));                               \
	pc += 2;                                                               \
	DISPATCH();                                                            \
}
#define LOAD_FRAME_ROW_HANDLERS(l) FUSE_OPS_WITH(LOAD_FRAME_HANDLER, l)
	FUSE_LOADS(LOAD_FRAME_ROW_HANDLERS)
#undef LOAD_FRAME_ROW_HANDLERS
#undef LOAD_FRAME_HANDLER
	/* an operation then a jump on its result against a constant */
#define JUMP_HANDLER(a, j, cond)                                               \
op_J_##a##_##j: {                                                              \
	SET_DST(FUSE_VAL_##a(reg[pc->dst], pc));                               \
	u64 v = acc;                                                           \
	pc++;                                                                  \
	u64 k = pc->imm;                                                       \
	JUMP_IF(cond);                                                         \
}                                                                              \
op_JH_##a##_##j: {                                                             \
	SET_DST(FUSE_VAL_##a(acc, pc));                                        \
	u64 v = acc;                                                           \
	pc++;                                                                  \
	u64 k = pc->imm;                                                       \
	JUMP_IF(cond);                                                         \
}
#define JUMP_ROW_HANDLERS(a) FUSE_JUMPS_WITH(JUMP_HANDLER, a)
	FUSE_OPS(JUMP_ROW_HANDLERS)
#undef JUMP_ROW_HANDLERS
#undef JUMP_HANDLER

op_JA:
	JUMP_IF(1);
op_JA32:
	JUMP_IF(1);
op_MAY_GOTO:
	JUMP_IF(--may_goto_left[depth] < 0);
op_JEQ_K: JUMP_IF(DST == IMM);
op_JEQ_X: JUMP_IF(DST == SRC);
op_JGT_K: JUMP_IF(DST > IMM);
op_JGT_X: JUMP_IF(DST > SRC);
op_JGE_K: JUMP_IF(DST >= IMM);
op_JGE_X: JUMP_IF(DST >= SRC);
op_JSET_K: JUMP_IF(DST & IMM);
op_JSET_X: JUMP_IF(DST & SRC);
op_JNE_K: JUMP_IF(DST != IMM);
op_JNE_X: JUMP_IF(DST != SRC);
op_JSGT_K: JUMP_IF((s64)DST > (s64)IMM);
op_JSGT_X: JUMP_IF((s64)DST > (s64)SRC);
op_JSGE_K: JUMP_IF((s64)DST >= (s64)IMM);
op_JSGE_X: JUMP_IF((s64)DST >= (s64)SRC);
op_JLT_K: JUMP_IF(DST < IMM);
op_JLT_X: JUMP_IF(DST < SRC);
op_JLE_K: JUMP_IF(DST <= IMM);
op_JLE_X: JUMP_IF(DST <= SRC);
op_JSLT_K: JUMP_IF((s64)DST < (s64)IMM);
op_JSLT_X: JUMP_IF((s64)DST < (s64)SRC);
op_JSLE_K: JUMP_IF((s64)DST <= (s64)IMM);
op_JSLE_X: JUMP_IF((s64)DST <= (s64)SRC);
op_JEQ32_K: JUMP_IF((u32)DST == (u32)IMM);
op_JEQ32_X: JUMP_IF((u32)DST == (u32)SRC);
op_JGT32_K: JUMP_IF((u32)DST > (u32)IMM);
op_JGT32_X: JUMP_IF((u32)DST > (u32)SRC);
op_JGE32_K: JUMP_IF((u32)DST >= (u32)IMM);
op_JGE32_X: JUMP_IF((u32)DST >= (u32)SRC);
op_JSET32_K: JUMP_IF((u32)DST & (u32)IMM);
op_JSET32_X: JUMP_IF((u32)DST & (u32)SRC);
op_JNE32_K: JUMP_IF((u32)DST != (u32)IMM);
op_JNE32_X: JUMP_IF((u32)DST != (u32)SRC);
op_JSGT32_K: JUMP_IF((s32)DST > (s32)IMM);
op_JSGT32_X: JUMP_IF((s32)DST > (s32)SRC);
op_JSGE32_K: JUMP_IF((s32)DST >= (s32)IMM);
op_JSGE32_X: JUMP_IF((s32)DST >= (s32)SRC);
op_JLT32_K: JUMP_IF((u32)DST < (u32)IMM);
op_JLT32_X: JUMP_IF((u32)DST < (u32)SRC);
op_JLE32_K: JUMP_IF((u32)DST <= (u32)IMM);
op_JLE32_X: JUMP_IF((u32)DST <= (u32)SRC);
op_JSLT32_K: JUMP_IF((s32)DST < (s32)IMM);
op_JSLT32_X: JUMP_IF((s32)DST < (s32)SRC);
op_JSLE32_K: JUMP_IF((s32)DST <= (s32)IMM);
op_JSLE32_X: JUMP_IF((s32)DST <= (s32)SRC);

op_CALL_HELPER:
op_CALL_KFUNC:
	state_here.cur = cur;
	reg[0] = ((bpfx_helper_fn)(uintptr_t)IMM)(run, reg[1], reg[2], reg[3],
						  reg[4], reg[5]);
	rd_len = wr_len = 0; /* a helper may have moved the packet */
	if (__builtin_expect(run->err != 0 || run->thrown, 0)) {
		if (run->thrown)
			goto throw;
		err = run->err;
		goto out;
	}
	NEXT();
op_CALLX: {
	const struct helper_desc *h = helper_by_id((s32)DST);
	if (!h || DST > INT32_MAX || DST == BPF_FUNC_tail_call) {
		err = fault(run, cur, pc, -EINVAL, "callx to unknown helper");
		goto out;
	}
	state_here.cur = cur;
	reg[0] = h->fn(run, reg[1], reg[2], reg[3], reg[4], reg[5]);
	rd_len = wr_len = 0;
	if (run->err) {
		err = run->err;
		goto out;
	}
	NEXT();
}
op_TAIL_CALL: {
	struct bpfx_program *target = tail_call_target(run, reg[2], reg[3]);
	if (run->err) {
		err = run->err;
		goto out;
	}
	if (!target || !target->interp)
		NEXT();
	cur = target->interp;
	pc = cur->insns;
	boundary = depth; /* the target is its own exception boundary */
	may_goto_left[depth] = BPFX_MAX_LOOPS;
	DISPATCH();
}
op_CALL_LOCAL:
	if (base + depth + 1 >= BPFX_MAX_CALL_FRAMES) {
		err = fault(run, cur, pc, -E2BIG,
			    "call stack too deep (8 frames)");
		goto out;
	}
	if (!--run->branch_budget)
		goto budget_spent;
	frames[depth].ret = pc + 1;
	frames[depth].prog = cur;
	frames[depth].boundary = boundary;
	memcpy(frames[depth].saved, &reg[6], 5 * sizeof(u64));
	depth++;
	state_here.depth = base + depth;
	may_goto_left[depth] = BPFX_MAX_LOOPS;
	reg[10] -= BPFX_STACK_SIZE;
	pc += 1 + pc->off;
	DISPATCH();
op_EXIT:
	if (depth == 0) {
		*ret = reg[0];
		goto out;
	}
	depth--;
	state_here.depth = base + depth;
	memcpy(&reg[6], frames[depth].saved, 5 * sizeof(u64));
	cur = frames[depth].prog;
	boundary = frames[depth].boundary;
	pc = frames[depth].ret;
	DISPATCH();

op_LDDW:
	DST = IMM;
	pc += 2;
	DISPATCH();
op_LDDW_MAP_FD:
op_LDDW_MAP_VALUE:
op_LDDW_BTF_ID:
op_LDDW_FUNC:
op_LDDW_MAP_IDX:
op_LDDW_MAP_IDX_VALUE:
op_INVALID:
	err = fault(run, cur, pc, -EINVAL, "instruction not pre-decoded");
	goto out;

op_LDABSW: LD_PACKET(4, (s64)(s32)IMM);
op_LDABSH: LD_PACKET(2, (s64)(s32)IMM);
op_LDABSB: LD_PACKET(1, (s64)(s32)IMM);
op_LDINDW: LD_PACKET(4, (s64)(s32)((u32)SRC + (u32)IMM));
op_LDINDH: LD_PACKET(2, (s64)(s32)((u32)SRC + (u32)IMM));
op_LDINDB: LD_PACKET(1, (s64)(s32)((u32)SRC + (u32)IMM));

op_LDXW: LOAD(u32, 4, ZEXT);
op_LDXH: LOAD(u16, 2, ZEXT);
op_LDXB: LOAD(u8, 1, ZEXT);
op_LDXDW: LOAD(u64, 8, ZEXT);
op_LDXSW: LOAD(u32, 4, SEXT32);
op_LDXSH: LOAD(u16, 2, SEXT16);
op_LDXSB: LOAD(u8, 1, SEXT8);
op_STW: STORE(u32, 4, IMM);
op_STH: STORE(u16, 2, IMM);
op_STB: STORE(u8, 1, IMM);
op_STDW: STORE(u64, 8, IMM);
op_STXW: STORE(u32, 4, SRC);
op_STXH: STORE(u16, 2, SRC);
op_STXB: STORE(u8, 1, SRC);
op_STXDW: STORE(u64, 8, SRC);

	/* frame accesses: no check (see FRAME_OPS) */
#define FRAME_LOAD(type, ext)                                                  \
	do {                                                                   \
		type v_;                                                       \
		memcpy(&v_, (const void *)(uintptr_t)(SRC + (s64)pc->off),    \
		       sizeof(v_));                                            \
		DST = ext(v_);                                                 \
		NEXT();                                                        \
	} while (0)
#define FRAME_STORE(type, value)                                               \
	do {                                                                   \
		type v_ = (type)(value);                                       \
		memcpy((void *)(uintptr_t)(DST + (s64)pc->off), &v_,           \
		       sizeof(v_));                                            \
		NEXT();                                                        \
	} while (0)
op_FRAME_LDXB: FRAME_LOAD(u8, ZEXT);
op_FRAME_LDXH: FRAME_LOAD(u16, ZEXT);
op_FRAME_LDXW: FRAME_LOAD(u32, ZEXT);
op_FRAME_LDXDW: FRAME_LOAD(u64, ZEXT);
op_FRAME_LDXSB: FRAME_LOAD(u8, SEXT8);
op_FRAME_LDXSH: FRAME_LOAD(u16, SEXT16);
op_FRAME_LDXSW: FRAME_LOAD(u32, SEXT32);
op_FRAME_STB: FRAME_STORE(u8, IMM);
op_FRAME_STH: FRAME_STORE(u16, IMM);
op_FRAME_STW: FRAME_STORE(u32, IMM);
op_FRAME_STDW: FRAME_STORE(u64, IMM);
op_FRAME_STXB: FRAME_STORE(u8, SRC);
op_FRAME_STXH: FRAME_STORE(u16, SRC);
op_FRAME_STXW: FRAME_STORE(u32, SRC);
op_FRAME_STXDW: FRAME_STORE(u64, SRC);

op_AADD32: ATOMIC_OP(u32, 4, __atomic_fetch_add, 0);
op_AOR32: ATOMIC_OP(u32, 4, __atomic_fetch_or, 0);
op_AAND32: ATOMIC_OP(u32, 4, __atomic_fetch_and, 0);
op_AXOR32: ATOMIC_OP(u32, 4, __atomic_fetch_xor, 0);
op_AFADD32: ATOMIC_OP(u32, 4, __atomic_fetch_add, 1);
op_AFOR32: ATOMIC_OP(u32, 4, __atomic_fetch_or, 1);
op_AFAND32: ATOMIC_OP(u32, 4, __atomic_fetch_and, 1);
op_AFXOR32: ATOMIC_OP(u32, 4, __atomic_fetch_xor, 1);
op_AXCHG32: ATOMIC_OP(u32, 4, __atomic_exchange_n, 1);
op_ACMPXCHG32: {
	ATOMIC_PTR(u32, 4);
	u32 expected = (u32)reg[0];
	__atomic_compare_exchange_n(ap_, &expected, (u32)SRC, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	reg[0] = expected;
	NEXT();
}
op_AADD64: ATOMIC_OP(u64, 8, __atomic_fetch_add, 0);
op_AOR64: ATOMIC_OP(u64, 8, __atomic_fetch_or, 0);
op_AAND64: ATOMIC_OP(u64, 8, __atomic_fetch_and, 0);
op_AXOR64: ATOMIC_OP(u64, 8, __atomic_fetch_xor, 0);
op_AFADD64: ATOMIC_OP(u64, 8, __atomic_fetch_add, 1);
op_AFOR64: ATOMIC_OP(u64, 8, __atomic_fetch_or, 1);
op_AFAND64: ATOMIC_OP(u64, 8, __atomic_fetch_and, 1);
op_AFXOR64: ATOMIC_OP(u64, 8, __atomic_fetch_xor, 1);
op_AXCHG64: ATOMIC_OP(u64, 8, __atomic_exchange_n, 1);
op_ACMPXCHG64: {
	ATOMIC_PTR(u64, 8);
	u64 expected = reg[0];
	__atomic_compare_exchange_n(ap_, &expected, SRC, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	reg[0] = expected;
	NEXT();
}

throw: {
	u64 cookie = run->cookie;
	run->thrown = false;
	if (base > 0) {
		/* a callback run from a helper (bpf_loop): the kernel's
		 * verifier refuses bpf_throw there */
		err = fault(run, cur, pc, -EINVAL,
			    "bpf_throw cannot be called from a callback subprog");
		goto out;
	}
	if (!--run->branch_budget)
		goto budget_spent;
	u64 boundary_fp = (u64)(uintptr_t)(run->stack +
					   (BPFX_MAX_CALL_FRAMES - base - boundary) *
						   BPFX_STACK_SIZE);
	if (boundary < 0 || boundary > depth ||
	    (boundary < depth && frames[boundary].saved[4] != boundary_fp)) {
		err = fault(run, cur, pc, -EFAULT,
			    "bpf_throw: exception boundary frame is not valid");
		goto out;
	}
	depth = boundary;
	state_here.depth = base + depth;
	reg[10] = boundary_fp;
	if (cur->prog->exception_cb_insn) {
		reg[1] = cookie;
		may_goto_left[depth] = BPFX_MAX_LOOPS;
		pc = cur->insns + cur->prog->exception_cb_insn;
		DISPATCH();
	}
	reg[0] = cookie; /* the default callback: r0 = r1; exit */
	goto op_EXIT;
}

budget_spent:
	err = fault(run, cur, pc, -ELOOP,
		    "branch budget spent: the program did not terminate");
out:
	run->engine_state = outer_state;
	return err;
}

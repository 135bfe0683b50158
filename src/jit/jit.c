/*
 * The JIT driver: decoding, sizing passes, code memory, running, and the
 * run-time support the generated code calls.
 *
 * jit_prepare() takes the resolved program (prepare_resolve(): helpers,
 * kfuncs, maps, map values and function addresses), then lets the
 * emitter (src/jit/x86_64/emit.c) translate it in passes with no buffer
 * until the size stops changing, maps read-write memory of that size,
 * emits once more into it, checks the size, and flips it to read+execute:
 * code memory is never writable and executable at once. A failure leaves
 * prog->jit NULL with the reason, and the program runs on the interpreter.
 *
 * jit_run() calls the main program's prologue directly, which saves the
 * host's callee-saved registers and records its frame in a struct
 * jit_state on this C frame, pointed to by run->engine_state; a callback
 * run from a helper (run->call) enters through the entry stub, which does
 * the same, with its own jit_state chained to the outer one, so nested
 * entries stack on their own. Errors leave through the innermost entry's
 * frame; throws through the boundary frame that jit_throw() has checked.
 * In both cases that frame's epilogue returns here, and the host code
 * around the run runs to its end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "jit/jit.h"

void jit_emit_fail(struct jit_emit *e, const char *fmt, ...)
{
	if (e->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->errmsg, sizeof(e->errmsg), fmt, ap);
	va_end(ap);
	e->err = -EINVAL;
}

/* The secret that boundary frames' magic words are xor-ed with. */
static u64 jit_magic(void)
{
	static u64 magic;
	u64 m = __atomic_load_n(&magic, __ATOMIC_RELAXED);
	if (!m) {
		if (getrandom(&m, sizeof(m), 0) != sizeof(m))
			m = (u64)(uintptr_t)&magic * 0x9e3779b97f4a7c15ull;
		m |= 1;
		u64 zero = 0;
		if (!__atomic_compare_exchange_n(&magic, &zero, m, false,
						 __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
			m = zero;
	}
	return m;
}

#define JIT_MAX_PASSES 20

/* The function each instruction belongs to: the last function start at
 * or before it. */
static size_t func_of(const struct jit_ctx *ctx, size_t i)
{
	while (i && !ctx->func_start[i])
		i--;
	return i;
}

/* Whether the load or store at I is one the verifier proved (struct
 * mem_proof), so that the code leaves its check out. */
static bool access_proven(const struct jit_ctx *ctx, size_t i)
{
	const struct bpf_insn *insn = &ctx->insns[i];
	return ctx->proven && ctx->proven[i] &&
	       !(BPF_CLASS(insn->code) == BPF_STX &&
		 BPF_MODE(insn->code) == BPF_ATOMIC);
}

/* Whether the instruction at I is a load, store or atomic that needs a
 * check: anything but an r10-based access at a constant offset inside
 * the frame, or one the verifier proved. */
static bool access_checked(const struct jit_ctx *ctx, size_t i)
{
	const struct bpf_insn *insn = &ctx->insns[i];
	u8 cls = BPF_CLASS(insn->code);
	if (cls != BPF_LDX && cls != BPF_ST && cls != BPF_STX)
		return false;
	if (access_proven(ctx, i))
		return false;
	int size = BPF_SIZE(insn->code) == BPF_B ? 1 :
		   BPF_SIZE(insn->code) == BPF_H ? 2 :
		   BPF_SIZE(insn->code) == BPF_W ? 4 : 8;
	int base = cls == BPF_LDX ? insn->src_reg : insn->dst_reg;
	return base != 10 || insn->off < -BPFX_STACK_SIZE || insn->off + size > 0;
}

/* func_flags[] of every function: FUNC_MAY_MOVE and FUNC_MAY_THROW
 * closed over calls. */
static void mark_func_flags(struct jit_ctx *ctx)
{
	for (size_t i = 0; i < ctx->cnt; i++) {
		u8 *f = &ctx->func_flags[func_of(ctx, i)];
		switch (ctx->decoded[i].op) {
		case BPFX_OP_CALL_HELPER:
		case BPFX_OP_CALL_KFUNC:
		case BPFX_OP_CALLX:
			*f |= FUNC_MAY_MOVE;
			if (ctx->decoded[i].kind == RESOLVED_KFUNC_THROW)
				*f |= FUNC_MAY_THROW;
			break;
		case BPFX_OP_CALL_LOCAL:
			*f |= FUNC_USES_WINDOWS | FUNC_CALLS_LOCAL;
			break;
		case BPFX_OP_MAY_GOTO:
			*f |= FUNC_MAY_GOTO;
			break;
		default:
			if (ctx->decoded[i].kind != RESOLVED_SECOND_SLOT &&
			    access_checked(ctx, i)) {
				*f |= FUNC_USES_WINDOWS;
				if (BPF_CLASS(ctx->insns[i].code) != BPF_LDX)
					*f |= FUNC_CHECKED_WRITE;
			}
			break;
		}
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < ctx->cnt; i++) {
			if (ctx->decoded[i].op != BPFX_OP_CALL_LOCAL)
				continue;
			size_t t = i + 1 + (size_t)(s64)ctx->insns[i].imm;
			u8 *f = &ctx->func_flags[func_of(ctx, i)];
			u8 inherit = t < ctx->cnt ? ctx->func_flags[t] &
					     (FUNC_MAY_MOVE | FUNC_MAY_THROW) : 0;
			if (inherit & ~*f) {
				*f |= inherit;
				changed = true;
			}
		}
	}
}

/* Whether INSN may write BPF register R. */
static bool insn_writes(const struct bpf_insn *insn, int r)
{
	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
	case BPF_LDX:
		return insn->dst_reg == r;
	case BPF_LD:
		if (BPF_MODE(insn->code) == BPF_IMM)
			return insn->dst_reg == r;
		return r == 0; /* legacy packet loads: r0 */
	case BPF_ST:
		return false;
	case BPF_STX:
		if (BPF_MODE(insn->code) != BPF_ATOMIC)
			return false;
		if (insn->imm == BPF_CMPXCHG)
			return r == 0;
		return (insn->imm & BPF_FETCH) && insn->src_reg == r;
	default: /* jumps write nothing; calls end blocks (r0-r5) */
		return BPF_OP(insn->code) == BPF_CALL && r <= 5;
	}
}

/* Whether INSN ends a basic block: any jump, call or exit. */
static bool ends_block(const struct bpf_insn *insn)
{
	u8 cls = BPF_CLASS(insn->code);
	return cls == BPF_JMP || cls == BPF_JMP32;
}

#define GROUP_MAX_SPAN 4096

struct open_group {
	long leader; /* -1: none */
	s32 lo, hi;
	u32 count;
};

static void close_group(struct jit_ctx *ctx, struct open_group *g)
{
	if (g->leader >= 0 && g->count > 1) {
		struct jit_access *a = &ctx->access[g->leader];
		a->mode = ACCESS_LEADER;
		a->lo_off = g->lo;
		a->span = (u32)(g->hi - g->lo);
	}
	g->leader = -1;
}

/* Groups the checked accesses of each basic block (jit.h: struct
 * jit_access), and marks where each block's checked copy begins and
 * ends: at its first group leader, and at its last instruction. */
static void plan_groups(struct jit_ctx *ctx)
{
	size_t cnt = ctx->cnt;
	u8 *block_start = calloc(cnt + 1, 1);
	if (!block_start)
		return; /* no groups: every access checked on its own */
	block_start[0] = 1;
	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *insn = &ctx->insns[i];
		if (ctx->func_start[i])
			block_start[i] = 1;
		if (ctx->decoded[i].kind == RESOLVED_SECOND_SLOT)
			continue;
		if (!ends_block(insn))
			continue;
		if (i + 1 < cnt)
			block_start[i + 1] = 1;
		enum bpfx_op op = ctx->decoded[i].op;
		if (op == BPFX_OP_CALL_LOCAL || op == BPFX_OP_CALL_HELPER ||
		    op == BPFX_OP_CALL_KFUNC || op == BPFX_OP_CALLX ||
		    op == BPFX_OP_EXIT)
			continue;
		s64 t = (s64)i + 1 +
			(op == BPFX_OP_JA32 ? (s64)insn->imm : (s64)insn->off);
		if (t >= 0 && (size_t)t < cnt)
			block_start[t] = 1;
	}
	u32 cb = ctx->prog->exception_cb_insn;
	if (cb && cb < cnt)
		block_start[cb] = 1;

	struct open_group open[11][2];
	size_t i = 0;
	while (i < cnt) {
		size_t start = i, last = i;
		for (int r = 0; r < 11; r++)
			open[r][0].leader = open[r][1].leader = -1;
		do {
			const struct bpf_insn *insn = &ctx->insns[i];
			last = i;
			u8 cls = BPF_CLASS(insn->code);
			bool plain = (cls == BPF_LDX &&
				      (BPF_MODE(insn->code) == BPF_MEM ||
				       BPF_MODE(insn->code) == BPFX_MEMSX)) ||
				     ((cls == BPF_ST || cls == BPF_STX) &&
				      BPF_MODE(insn->code) == BPF_MEM);
			int base = cls == BPF_LDX ? insn->src_reg : insn->dst_reg;
			if (plain && base != 10 && base < 11 &&
			    ctx->decoded[i].kind != RESOLVED_SECOND_SLOT &&
			    !access_proven(ctx, i)) {
				int size = BPF_SIZE(insn->code) == BPF_B ? 1 :
					   BPF_SIZE(insn->code) == BPF_H ? 2 :
					   BPF_SIZE(insn->code) == BPF_W ? 4 : 8;
				struct open_group *g = &open[base][cls != BPF_LDX];
				s32 lo = insn->off, hi = insn->off + size;
				if (g->leader >= 0 &&
				    MAX(g->hi, hi) - MIN(g->lo, lo) > GROUP_MAX_SPAN)
					close_group(ctx, g);
				if (g->leader >= 0) {
					g->lo = MIN(g->lo, lo);
					g->hi = MAX(g->hi, hi);
					g->count++;
					ctx->access[i].mode = ACCESS_MEMBER;
				} else {
					*g = (struct open_group){ (long)i, lo, hi, 1 };
				}
			}
			for (int r = 0; r < 11; r++)
				if (insn_writes(insn, r)) {
					close_group(ctx, &open[r][0]);
					close_group(ctx, &open[r][1]);
				}
			i += i + 1 < cnt && ctx->decoded[i + 1].kind ==
							    RESOLVED_SECOND_SLOT
				     ? 2
				     : 1;
		} while (i < cnt && !block_start[i] &&
			 !ends_block(&ctx->insns[last]));
		for (int r = 0; r < 11; r++) {
			close_group(ctx, &open[r][0]);
			close_group(ctx, &open[r][1]);
		}
		/* the checked copy: from the first leader to the block's end */
		bool copying = false;
		for (size_t k = start; k <= last; k++) {
			if (ctx->access[k].mode == ACCESS_LEADER)
				copying = true;
			if (copying && ctx->decoded[k].kind != RESOLVED_SECOND_SLOT)
				ctx->access[k].copy = true;
		}
		if (copying)
			ctx->access[last].copy_end = true;
	}
	free(block_start);
}

int jit_prepare(struct bpfx_program *prog, char *err, size_t err_sz)
{
	size_t cnt = prog->insn_cnt;
	struct jit_ctx ctx = {
		.prog = prog,
		.insns = prog->insns,
		.cnt = cnt,
		.magic = jit_magic(),
	};
#ifndef __x86_64__
	snprintf(err, err_sz, "no JIT for this architecture");
	return -EOPNOTSUPP;
#endif
	struct jit_prog *jp = calloc(1, sizeof(*jp));
	size_t label_cnt = jit_arch_label_cnt(cnt);
	ctx.decoded = calloc(cnt + 1, sizeof(*ctx.decoded));
	ctx.func_start = calloc(cnt + 1, 1);
	ctx.func_flags = calloc(cnt + 1, 1);
	ctx.access = calloc(cnt + 1, sizeof(*ctx.access));
	ctx.stubs = calloc(2 * (cnt + 1), sizeof(*ctx.stubs));
	ctx.e.pos = malloc(label_cnt * sizeof(s64));
	ctx.e.prev = malloc(label_cnt * sizeof(s64));
	ctx.e.label_cnt = label_cnt;
	int ret = -ENOMEM;
	if (!jp || !ctx.decoded || !ctx.func_start || !ctx.func_flags ||
	    !ctx.access || !ctx.stubs ||
	    !ctx.e.pos || !ctx.e.prev) {
		snprintf(err, err_sz, "out of memory");
		goto out;
	}
	jp->prog = prog;
	jp->cnt = cnt;
	ctx.jp = jp;
	ret = prepare_resolve(prog, ctx.decoded, ctx.func_start, err, err_sz);
	if (ret)
		goto out;
	ctx.func0_called = ctx.func_start[0] & FUNC_CALLED;
	const struct mem_proof *proof = prog_mem_proof(prog);
	if (proof) {
		ctx.proven = proof->proven;
		jp->ctx_end = proof->ctx_end;
		jp->ctx_write = proof->ctx_write;
		jp->pkt = proof->pkt;
		jp->pkt_write = proof->pkt_write;
		for (size_t i = 0; i < cnt; i++)
			jp->unchecked += access_proven(&ctx, i) &&
					 ctx.decoded[i].kind != RESOLVED_SECOND_SLOT &&
					 (BPF_CLASS(ctx.insns[i].code) == BPF_LDX ||
					  BPF_CLASS(ctx.insns[i].code) == BPF_ST ||
					  BPF_CLASS(ctx.insns[i].code) == BPF_STX);
	}
	mark_func_flags(&ctx);
	plan_groups(&ctx);

	/* sizing passes: until the size stops changing */
	memset(ctx.e.prev, 0xff, label_cnt * sizeof(s64));
	size_t size = 0;
	unsigned pass;
	for (pass = 1; pass <= JIT_MAX_PASSES; pass++) {
		memset(ctx.e.pos, 0xff, label_cnt * sizeof(s64));
		ctx.e.len = 0;
		ctx.e.shrink = 0;
		jit_arch_emit(&ctx);
		if (ctx.e.err)
			break;
		bool same = pass > 1 && ctx.e.len == size;
		size = ctx.e.len;
		s64 *t = ctx.e.prev;
		ctx.e.prev = ctx.e.pos;
		ctx.e.pos = t;
		if (same)
			break;
	}
	if (!ctx.e.err && pass > JIT_MAX_PASSES)
		jit_emit_fail(&ctx.e, "code size did not converge in %d passes",
			      JIT_MAX_PASSES);
	if (ctx.e.err) {
		snprintf(err, err_sz, "%s", ctx.e.errmsg);
		ret = ctx.e.err;
		goto out;
	}

	/* the last pass, into read-write memory */
	long page = sysconf(_SC_PAGESIZE);
	jp->map_size = ROUND_UP(size ? size : 1, (size_t)page);
	void *mem = mmap(NULL, jp->map_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(err, err_sz, "cannot map code memory: %s",
			 strerror(errno));
		ret = -errno;
		goto out;
	}
	jp->code = mem;
	jp->insn_off = calloc(cnt + 1, sizeof(u32));
	jp->func_off = calloc(cnt + 2, sizeof(u32));
	if (!jp->insn_off || !jp->func_off) {
		snprintf(err, err_sz, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	memset(mem, 0xcc, jp->map_size); /* int3 in the slack */
	ctx.e.buf = mem;
	ctx.e.cap = size;
	ctx.e.base = (u64)(uintptr_t)mem;
	ctx.e.len = 0;
	ctx.e.shrink = 0;
	jp->mark_cnt = 0;
	memset(ctx.e.pos, 0xff, label_cnt * sizeof(s64));
	jit_arch_emit(&ctx);
	if (!ctx.e.err && ctx.e.len != size)
		jit_emit_fail(&ctx.e, "code size changed in the last pass (%zu, then %zu)",
			      size, ctx.e.len);
	if (ctx.e.err) {
		snprintf(err, err_sz, "%s", ctx.e.errmsg);
		ret = ctx.e.err;
		goto out;
	}
	if (mprotect(mem, jp->map_size, PROT_READ | PROT_EXEC)) {
		snprintf(err, err_sz, "cannot make code executable: %s",
			 strerror(errno));
		ret = -errno;
		goto out;
	}
	jp->code_size = size;
	jp->passes = pass + 1;
	jp->func_cnt = jit_arch_func_offsets(&ctx, jp->func_off);
	jit_free(prog);
	prog->jit = jp;
	jp = NULL;
	ret = 0;
out:
	if (jp) {
		if (jp->code)
			munmap(jp->code, jp->map_size);
		free(jp->insn_off);
		free(jp->func_off);
		free(jp);
	}
	free(ctx.decoded);
	free(ctx.func_start);
	free(ctx.func_flags);
	free(ctx.access);
	free(ctx.stubs);
	free(ctx.e.pos);
	free(ctx.e.prev);
	return ret;
}

void jit_free(struct bpfx_program *prog)
{
	struct jit_prog *jp = prog->jit;
	if (!jp)
		return;
	munmap(jp->code, jp->map_size);
	free(jp->insn_off);
	free(jp->func_off);
	free(jp);
	prog->jit = NULL;
}

/* ---- running ---- */

static int jit_callback(struct bpfx_run *run, u64 func, const u64 *args,
			u64 *ret);

static void window_set(u64 *lo, u64 *lim, u64 region_lo, u64 len)
{
	*lo = region_lo;
	for (int k = 0; k < 4; k++)
		lim[k] = len >= (1u << k) ? len - (1u << k) + 1 : 0;
}

static void window_seed(struct jit_window *w, const struct run_region *r)
{
	if (r->hi <= r->lo)
		return;
	window_set(&w->rd_lo, w->rd_lim, r->lo, r->hi - r->lo);
	if (r->writable)
		window_set(&w->wr_lo, w->wr_lim, r->lo, r->hi - r->lo);
}

/* Both halves of W from region R, an empty one matching nothing: straight
 * code, as it runs at every entry. */
static inline void window_fill(struct jit_window *w, const struct run_region *r)
{
	u64 len = r->hi > r->lo ? r->hi - r->lo : 0;
	u64 wlen = r->writable ? len : 0;
	w->rd_lo = w->wr_lo = r->lo;
	w->rd_lim[0] = len;
	w->rd_lim[1] = len >= 2 ? len - 1 : 0;
	w->rd_lim[2] = len >= 4 ? len - 3 : 0;
	w->rd_lim[3] = len >= 8 ? len - 7 : 0;
	w->wr_lim[0] = wlen;
	w->wr_lim[1] = wlen >= 2 ? wlen - 1 : 0;
	w->wr_lim[2] = wlen >= 4 ? wlen - 3 : 0;
	w->wr_lim[3] = wlen >= 8 ? wlen - 7 : 0;
}

static inline __attribute__((always_inline)) int
enter(struct bpfx_run *run, const struct jit_prog *jp, u64 target,
      u64 fp_above, const u64 *args, bool callback, u64 *ret)
{
	struct jit_state st; /* entry_rsp: set by the entry's prologue */
	st.fp = 0;
	st.cur = jp;
	st.outer = run->engine_state;
	st.callback = callback;
	if (jp->seeds) {
		window_fill(&st.seed.cur, &run->ctx);
		window_fill(&st.seed.alt, &run->pkt);
	}
	run->engine_state = &st;
	/* the main program is its own entry; a callback goes through the
	 * entry stub */
	jit_entry_fn entry = (jit_entry_fn)(uintptr_t)(
		callback ? (u64)(uintptr_t)jp->code : target);
	u64 r0 = entry(run, args, target, fp_above, &st);
	run->engine_state = st.outer;
	if (run->err)
		return run->err;
	*ret = r0;
	return 0;
}

static inline bool region_holds(const struct run_region *r, u64 lo, u64 len,
			 bool write)
{
	return lo >= r->lo && lo <= r->hi && len <= r->hi - lo &&
	       (!write || r->writable);
}

/* Whether a run whose r1 is R1 gives JP's unchecked accesses what the
 * verifier assumed (jit.h: struct jit_prog). */
static inline bool jit_entry_ok(const struct bpfx_run *run, const struct jit_prog *jp,
			 u64 r1)
{
	if (jp->ctx_end && !region_holds(&run->ctx, r1, jp->ctx_end, jp->ctx_write) &&
	    !region_holds(&run->extra, r1, jp->ctx_end, jp->ctx_write))
		return false;
	/* packet pointers come from the data fields of the context that
	 * test_run prepared, which name the run's packet */
	if (jp->pkt && (!run->ctx_state || r1 != run->ctx.lo || !run->ctx.lo ||
			(jp->pkt_write && !run->pkt.writable)))
		return false;
	return true;
}

/* One run of the main program, or of the interpreter when the run does
 * not give the unchecked accesses what they were proven for. */
static inline __attribute__((always_inline)) int
run_main(struct bpfx_run *run, const struct jit_prog *jp, const u64 *args,
	 u64 *ret)
{
	if (__builtin_expect(!jit_entry_ok(run, jp, args[0]), 0))
		return interp_run(run, args[0], args[1], ret);
	run->call = jit_callback;
	u64 top = (u64)(uintptr_t)run->stack +
		  BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE;
	return enter(run, jp, (u64)(uintptr_t)jp->code + jp->main_off,
		     top + BPFX_STACK_SIZE, args, false, ret);
}

int jit_run(struct bpfx_run *run, u64 r1, u64 r2, u64 *ret)
{
	const struct jit_prog *jp = run->prog->jit;
	if (!jp)
		return run_fail(run, -EINVAL, "jit: program %s not compiled",
				run->prog->name);
	u64 args[5] = { r1, r2, 0, 0, 0 };
	return run_main(run, jp, args, ret);
}

int jit_run_repeat(struct bpfx_run *run, u64 r1, u64 r2, u32 repeat,
		   u64 *ret)
{
	const struct jit_prog *jp = run->prog->jit;
	if (!jp)
		return run_fail(run, -EINVAL, "jit: program %s not compiled",
				run->prog->name);
	u64 args[5] = { r1, r2, 0, 0, 0 };
	int err = 0;
	for (u32 i = 0; i < repeat && !err; i++) {
		run_reset(run);
		err = run_main(run, jp, args, ret);
		run_settle(run);
	}
	return err;
}

/* The instruction index whose code holds code offset OFF (for messages). */
static size_t insn_at(const struct jit_prog *jp, u32 off)
{
	size_t lo = 0, hi = jp->cnt;
	while (lo + 1 < hi) {
		size_t mid = (lo + hi) / 2;
		if (jp->insn_off[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int jit_failf(struct bpfx_run *run, const struct jit_prog *jp,
		     size_t insn, int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int jit_failf(struct bpfx_run *run, const struct jit_prog *jp,
		     size_t insn, int err, const char *fmt, ...)
{
	char what[160], line[256] = "", src[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (prog_source_line(jp->prog, insn, src, sizeof(src)))
		snprintf(line, sizeof(line), " (%s)", src);
	return run_fail(run, err, "jit: %s: insn %zu: %s%s",
			jp->prog->name ? jp->prog->name : "prog", insn, what,
			line);
}

/* Whether FUNC is the prologue of a function of JP. */
static bool is_func_of(const struct jit_prog *jp, u64 func)
{
	u64 code = jp ? (u64)(uintptr_t)jp->code : 0;

	if (jp && func >= code && func - code < jp->code_size) {
		u32 off = (u32)(func - code);
		size_t lo = 0, hi = jp->func_cnt;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (jp->func_off[mid] == off)
				return true;
			if (jp->func_off[mid] < off)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return false;
}

bool jit_func_valid(const struct bpfx_program *prog, u64 func)
{
	return prog && is_func_of(prog->jit, func);
}

/* An async entry (a bpf_timer callback): a run of its own that enters
 * FUNC through the entry stub, its frame the first of the run's stack;
 * like a callback, it is no exception boundary. */
int jit_run_func(struct bpfx_run *run, u64 func, const u64 *args, u64 *ret)
{
	const struct jit_prog *jp = run->prog->jit;

	if (!is_func_of(jp, func))
		return run_fail(run, -EINVAL,
				"jit: callback 0x%llx is not a function of program %s",
				(unsigned long long)func, run->prog->name);
	run->call = jit_callback;
	u64 top = (u64)(uintptr_t)run->stack +
		  BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE;
	return enter(run, jp, func, top + BPFX_STACK_SIZE, args, true, ret);
}

/* run->call: runs the function at FUNC (a prologue address a lddw of a
 * function produced) one frame below the helper's caller. */
static int jit_callback(struct bpfx_run *run, u64 func, const u64 *args,
			u64 *ret)
{
	const struct jit_state *outer = run->engine_state;
	const struct jit_prog *jp = outer ? outer->cur : NULL;
	u64 code = jp ? (u64)(uintptr_t)jp->code : 0;
	bool found = is_func_of(jp, func);
	if (!found)
		return run_fail(run, -EINVAL,
				"jit: callback 0x%llx is not a function of the program",
				(unsigned long long)func);
	u64 lo_stack = (u64)(uintptr_t)run->stack;
	/* the caller's frame pointer, recorded before the helper call: a
	 * frame boundary of this run's stack, or the callback would write
	 * where its r10 says without a check */
	if (outer->fp - lo_stack > (u64)BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE ||
	    (outer->fp - lo_stack) % BPFX_STACK_SIZE)
		return jit_failf(run, jp, insn_at(jp, (u32)(func - code)),
				 -EFAULT, "callback frame is not valid");
	if (outer->fp - lo_stack <= BPFX_STACK_SIZE)
		return jit_failf(run, jp, insn_at(jp, (u32)(func - code)), -E2BIG,
				 "call stack too deep");
	return enter(run, jp, func, outer->fp, args, true, ret);
}

/* ---- run-time support of the generated code ---- */

/* The window of the frame at RBP after run_mem_slow() matched
 * run->cached: that region, and the previous one as the alternate. */
static void window_update(struct bpfx_run *run, u64 rbp)
{
	if (run->cached.hi <= run->cached.lo)
		return;
	struct jit_window *w =
		(struct jit_window *)(uintptr_t)(rbp + JIT_FRAME_WINDOW);
	struct jit_window *alt =
		(struct jit_window *)(uintptr_t)(rbp + JIT_FRAME_ALT);
	if (w->rd_lim[0] && w->rd_lo != run->cached.lo)
		*alt = *w;
	window_seed(w, &run->cached);
}

/* The slow half of a memory access the inline checks (the frame's
 * windows, the BPF stack) did not accept: run_mem_slow() decides, and
 * the region it matched becomes the window of the frame at RBP, as the
 * interpreter's mem_window_miss() does. */
void *jit_mem_slow(struct bpfx_run *run, u64 addr, u32 desc,
		   const struct jit_prog *jp, u64 rbp)
{
	u64 size = (desc >> 1) & 0xf;
	bool write = desc & 1;
	u64 stack_lo = (u64)(uintptr_t)run->stack;
	void *p;
	if (addr - stack_lo <= BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE - size)
		return (void *)(uintptr_t)addr;
	p = run_mem_slow(run, addr, size, write ? MEM_WRITE : MEM_READ);
	if (!p) {
		jit_failf(run, jp, desc >> 5, -EFAULT,
			  "invalid %s of %llu bytes at 0x%llx",
			  write ? "write" : "read", (unsigned long long)size,
			  (unsigned long long)addr);
		return NULL;
	}
	window_update(run, rbp);
	return p;
}

/* The slow half of a group's range check (jit.h: struct jit_access):
 * whether the run may access [addr, addr + span) as one region, which
 * then becomes the window. Never fails the run: when it returns 0, the
 * code checks each access of the group on its own. */
u64 jit_mem_range(struct bpfx_run *run, u64 addr, u32 desc, u64 rbp)
{
	u64 span = desc >> 1;
	if (!run_mem_slow(run, addr, span, desc & 1 ? MEM_WRITE : MEM_READ))
		return 0;
	window_update(run, rbp);
	return 1;
}

void jit_fault(struct bpfx_run *run, u32 code, const struct jit_prog *jp)
{
	size_t insn = code >> JIT_FAULT_KIND_BITS;
	switch (code & ((1u << JIT_FAULT_KIND_BITS) - 1)) {
	case JIT_FAULT_BUDGET:
		jit_failf(run, jp, insn, -ELOOP,
			  "branch budget spent: the program did not terminate");
		break;
	case JIT_FAULT_DEPTH:
		jit_failf(run, jp, insn, -E2BIG, "call stack too deep (8 frames)");
		break;
	case JIT_FAULT_MISALIGNED:
		jit_failf(run, jp, insn, -EFAULT, "misaligned atomic access");
		break;
	default:
		jit_failf(run, jp, insn, -EFAULT, "fault");
	}
}

/* A throw: checks the boundary frame the thrower's frame names and
 * returns its rbp, or 0 with the run failed. The frame must lie between
 * the throw site and the entry's frame (the main program's, whose rsp is
 * entry_rsp) on this host stack, be
 * 16-byte aligned and carry the magic word of a boundary. */
u64 jit_throw(struct bpfx_run *run, u32 insn, u64 rbp,
	      const struct jit_prog *jp)
{
	const struct jit_state *st = run->engine_state;
	run->thrown = false;
	if (!st || st->callback) {
		jit_failf(run, jp, insn, -EINVAL,
			  "bpf_throw cannot be called from a callback subprog");
		return 0;
	}
	if (!--run->branch_budget) {
		jit_failf(run, jp, insn, -ELOOP,
			  "branch budget spent: the program did not terminate");
		return 0;
	}
	u64 b = *(const u64 *)(uintptr_t)(rbp + JIT_FRAME_BOUNDARY);
	if (b < rbp || b > st->entry_rsp + JIT_FRAME_SIZE || (b & 15) ||
	    *(const u64 *)(uintptr_t)(b + JIT_FRAME_MAGIC) != (b ^ jit_magic())) {
		jit_failf(run, jp, insn, -EFAULT,
			  "bpf_throw: exception boundary frame is not valid");
		return 0;
	}
	return b;
}

u64 jit_tail_call(struct bpfx_run *run, u64 map, u64 index, u64 r1)
{
	struct bpfx_program *target = tail_call_target(run, map, index);
	if (!target)
		return 0;
	const struct jit_prog *jp = target->jit;
	if (!jp) {
		run_fail(run, -EOPNOTSUPP,
			 "jit: tail call to %s, which the JIT could not compile",
			 target->name);
		return 0;
	}
	if (!jit_entry_ok(run, jp, r1)) {
		run_fail(run, -EOPNOTSUPP,
			 "jit: tail call to %s: its unchecked accesses need %u context bytes%s%s, which this run does not have",
			 target->name, jp->ctx_end,
			 jp->ctx_write ? " (writable)" : "",
			 jp->pkt ? jp->pkt_write ? " and a writable packet" : " and a packet" : "");
		return 0;
	}
	return (u64)(uintptr_t)jp->code + jp->tail_off;
}

u64 jit_callx_resolve(struct bpfx_run *run, u64 id, u32 insn,
		      const struct jit_prog *jp)
{
	const struct helper_desc *h = helper_by_id((s32)id);
	if (!h || id > INT32_MAX || id == BPF_FUNC_tail_call) {
		jit_failf(run, jp, insn, -EINVAL, "callx to unknown helper");
		return 0;
	}
	return (u64)(uintptr_t)h->fn;
}

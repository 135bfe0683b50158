/*
 * What the JIT driver (src/jit/jit.c) and an architecture's emitter
 * (src/jit/x86_64/) share.
 *
 * The driver takes the resolved program (prepare_resolve(): maps, helpers,
 * kfuncs and function addresses), then asks the
 * emitter to translate it in passes: every pass but the last emits with no
 * buffer and only measures; jumps pick their short or long form from the
 * previous pass's label positions, so code only shrinks and the size
 * converges. The last pass writes into read-write memory, which the driver
 * then flips to read+execute. The emitter keeps its first error in its
 * state (jit_emit.err) and the driver checks it once per instruction.
 *
 * At run time the generated code calls back into the driver for what it
 * does not do inline (jit_mem_slow, jit_fault, jit_throw, jit_tail_call,
 * jit_callx_resolve): the C ABI, run in the first argument.
 */
#ifndef BPFX_JIT_H
#define BPFX_JIT_H

#include "internal.h"

/* A named place in the code, for jit --dump. */
struct jit_mark {
	const char *name;
	u32 off;
};

/* A compiled program (prog->jit). */
struct jit_prog {
	struct bpfx_program *prog;
	u8 *code;            /* read+execute once built */
	size_t code_size;    /* bytes used */
	size_t map_size;     /* bytes mapped */
	size_t cnt;          /* BPF instructions */
	u32 *insn_off;       /* code offset of each instruction, [cnt] = end */
	u32 *func_off;       /* code offset of each function's prologue, sorted */
	size_t func_cnt;
	u32 main_off;        /* the main program's prologue */
	u32 tail_off;        /* where a tail call into this program lands */
	u32 cold_off;        /* out-of-line paths start here */
	struct jit_mark marks[16];
	size_t mark_cnt;
	unsigned passes;     /* sizing passes it took */
	/* What the accesses compiled without a check (the verifier's
	 * struct mem_proof) need of a run, tested at entry: r1 and the
	 * CTX_END bytes after it in one region the run owns (writable for
	 * CTX_WRITE), the prepared context and its packet (for PKT, writable
	 * for PKT_WRITE). A run that does not meet them runs on the
	 * interpreter, which checks every access. */
	u32 ctx_end;
	bool ctx_write, pkt, pkt_write;
	bool seeds;          /* the entry's first windows are read */
	size_t unchecked;    /* accesses compiled without a check */
};

/* The memory windows of one JITed function's frame: the last readable
 * and the last writable region that run_mem_slow() matched, as the
 * interpreter keeps them in locals. An access of SIZE bytes at ADDR hits
 * when ADDR - lo < lim[size_index(SIZE)], where lim[k] is
 * len - (1 << k) + 1, or 0 when the region is shorter than 1 << k: the
 * generated code tests it with one subtraction and one compare. All-zero
 * limits match nothing; the code zeroes them at function entry and after
 * every call that may run a helper (a helper may move the packet). */
struct jit_window {
	u64 rd_lo;
	u64 rd_lim[4];
	u64 wr_lo;
	u64 wr_lim[4];
};

/* A frame holds two windows: the last regions matched, and an alternate
 * that starts as the run's packet (the context is the first window), so
 * that a tc or xdp program reads its context and its packet with no slow
 * call. A miss of the first window tries the alternate in the cold path
 * and copies it over the first on a hit. */
struct jit_windows {
	struct jit_window cur;
	struct jit_window alt;
};

/* The frame state of one entry into JITed code (run->engine_state): the
 * program's entry from jit_run, or a callback's from a helper. The error
 * exit of generated code restores entry_rsp; a throw restores the
 * boundary frame it finds in the thrower's frame, after jit_throw checked
 * that it lies between the throw site and entry_rsp. */
struct jit_state {
	u64 entry_rsp;  /* host rsp inside the entry's frame (the main
			 * program's, or the entry stub's for a callback) */
	/* the main program's first windows (and the entry stub's, which a
	 * callback copies): the run's context, and the packet as the
	 * alternate, so that the first reads of either need no slow path */
	struct jit_windows seed;
	u64 fp;         /* BPF r10 of the frame calling a callback helper */
	const struct jit_prog *cur; /* program calling a callback helper */
	struct jit_state *outer;
	bool callback;  /* entered from a helper: no exception boundary */
};

/* Host frame of every JITed function (main program, subprogram, entry
 * stub), below rbp; the window sits within disp8 reach of rbp. */
#define JIT_FRAME_RUN -8      /* struct bpfx_run * */
#define JIT_FRAME_STACK -16   /* run->stack, for the inline stack check */
#define JIT_FRAME_BOUNDARY -24 /* rbp of this frame's exception boundary */
#define JIT_FRAME_WINDOW -104 /* struct jit_window, up to -24 */
#define JIT_FRAME_MAGIC -112  /* rbp ^ jit_magic in boundary frames */
#define JIT_FRAME_SAVED -152  /* rbx, r12, r13, r14, r15 from -120 down */
#define JIT_FRAME_ALT -232    /* the alternate struct jit_window */
#define JIT_FRAME_FP -240     /* BPF r10 of a boundary frame, for a throw */
#define JIT_FRAME_MAY_GOTO -248 /* may_goto budget left in this frame */
#define JIT_FRAME_SIZE 256    /* rsp = rbp - 256, 16-byte aligned */

/* Kinds of fault a generated stub reports through jit_fault(). */
enum jit_fault_kind {
	JIT_FAULT_BUDGET = 1,
	JIT_FAULT_DEPTH,
	JIT_FAULT_MISALIGNED,
	JIT_FAULT_KIND_BITS = 4,
};

/* A memory access's slow path descriptor: insn << 5 | size << 1 | write;
 * a group's range check: span << 1 | write. */
#define JIT_MEM_DESC(insn, size, write)                                        \
	((u32)(insn) << 5 | (u32)(size) << 1 | (u32)(write))

/* The out-of-line paths of one instruction (at most two), recorded while
 * its inline code is emitted and emitted after all the instructions. */
enum jit_stub_type { JIT_STUB_NONE, STUB_FAULT, STUB_MEM, STUB_THROW,
		     STUB_RANGE };
struct jit_stub {
	u8 kind[2];
	u32 arg[2];
	/* STUB_MEM, STUB_RANGE: the access is at [mem_base + mem_off] (host
	 * registers); the inline code checked the stack first, else the
	 * window */
	u8 mem_base;
	bool mem_stack_first;
	s32 mem_off;
};

/* Memory accesses checked by group (jit.c: plan_groups). In a basic block,
 * the loads and stores through one BPF register (not r10) that the block
 * does not change between them, at constant offsets, form a group: its
 * first access checks the whole range [lo_off, lo_off + span) once and
 * the others check nothing. When that check fails (and the range is not
 * one region the slow path can make the window), the code continues in a
 * copy of the rest of the block in which every access is checked on its
 * own, so a fault is reported at its exact instruction. */
enum jit_access_mode { ACCESS_SINGLE = 0, ACCESS_LEADER, ACCESS_MEMBER };
struct jit_access {
	u8 mode;       /* enum jit_access_mode */
	bool copy;     /* the instruction has a checked copy */
	bool copy_end; /* the last instruction of its block's copy */
	s32 lo_off;    /* ACCESS_LEADER: the group's range */
	u32 span;
};

/* ---- the emitter's state ---- */
struct jit_emit {
	u8 *buf;          /* NULL in sizing passes */
	size_t len;
	size_t cap;
	int err;          /* first error, with its reason in errmsg */
	char errmsg[128];
	/* labels: position in this pass (-1: not reached yet) and in the
	 * previous one (-1: unknown, so jumps to it take the long form) */
	s64 *pos;
	s64 *prev;
	size_t label_cnt;
	s64 shrink;       /* prev - pos at the last label reached */
	u64 base;         /* address of the code in the final pass, else 0 */
};

/* What the emitter translates. */
struct jit_ctx {
	struct bpfx_program *prog;
	const struct bpf_insn *insns;
	struct resolved_insn *decoded;
	size_t cnt;
	u8 *func_start;       /* 1 at each function's first instruction */
	u8 *func_flags;       /* FUNC_* at each function's first instruction */
	struct jit_access *access; /* [cnt] */
	const u8 *proven;     /* [cnt] the verifier's mem_proof, or NULL */
	bool func0_called;    /* insn 0 is also a call target */
	struct jit_prog *jp;
	u64 magic;
	struct jit_stub *stubs; /* [2 * (cnt + 1)]: the code, then the copies */
	struct jit_emit e;
};

/* func_flags[] of a function's first instruction */
#define FUNC_MAY_MOVE 0x1    /* may run a helper (which may move the packet):
			      * its callers' windows go after a call */
#define FUNC_USES_WINDOWS 0x2 /* checks an access or calls a function: its
			       * frame's windows are copied from its caller's */
#define FUNC_CALLS_LOCAL 0x4
#define FUNC_CHECKED_WRITE 0x10 /* has a checked store or atomic */
#define FUNC_MAY_GOTO 0x20   /* has may_goto: its entries set the budget */
#define FUNC_MAY_THROW 0x8   /* may call bpf_throw, transitively: called
			      * and left without call and ret (x86_64) */

/* The architecture's translation of the whole program, one pass. */
BPFX_HIDDEN void jit_arch_emit(struct jit_ctx *ctx);
/* Labels the emitter needs for a program of INSN_CNT instructions. */
BPFX_HIDDEN size_t jit_arch_label_cnt(size_t insn_cnt);
/* Code offsets of each function's prologue after the last pass (sorted
 * into out, at most cnt + 1 of them); returns how many. */
BPFX_HIDDEN size_t jit_arch_func_offsets(const struct jit_ctx *ctx, u32 *out);
BPFX_HIDDEN void jit_emit_fail(struct jit_emit *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- run-time support the generated code calls ---- */
typedef u64 (*jit_entry_fn)(struct bpfx_run *run, const u64 *args,
			    u64 target, u64 fp_above, struct jit_state *st);
BPFX_HIDDEN void *jit_mem_slow(struct bpfx_run *run, u64 addr, u32 desc,
			       const struct jit_prog *jp, u64 rbp);
BPFX_HIDDEN u64 jit_mem_range(struct bpfx_run *run, u64 addr, u32 desc,
			      u64 rbp);
BPFX_HIDDEN void jit_fault(struct bpfx_run *run, u32 code,
			   const struct jit_prog *jp);
BPFX_HIDDEN u64 jit_throw(struct bpfx_run *run, u32 insn, u64 rbp,
			  const struct jit_prog *jp);
BPFX_HIDDEN u64 jit_tail_call(struct bpfx_run *run, u64 map, u64 index,
			       u64 r1);
BPFX_HIDDEN u64 jit_callx_resolve(struct bpfx_run *run, u64 id, u32 insn,
				  const struct jit_prog *jp);

#endif

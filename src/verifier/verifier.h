/*
 * The verifier's private model: abstract registers, stack frames, states
 * and the environment of one verification. Shared by the files of
 * src/verifier only.
 */
#ifndef BPFX_VERIFIER_H
#define BPFX_VERIFIER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "internal.h"

/* ---- tnum: a value's known bits (value) and unknown bits (mask) ---- */
struct tnum {
	u64 value;
	u64 mask;
};
#define TNUM(v, m) ((struct tnum){ .value = (v), .mask = (m) })
static inline struct tnum tnum_const(u64 v) { return TNUM(v, 0); }
static inline struct tnum tnum_unknown(void) { return TNUM(0, ~0ULL); }
static inline bool tnum_is_const(struct tnum a) { return !a.mask; }
struct tnum tnum_range(u64 min, u64 max);
struct tnum tnum_add(struct tnum a, struct tnum b);
struct tnum tnum_sub(struct tnum a, struct tnum b);
struct tnum tnum_and(struct tnum a, struct tnum b);
struct tnum tnum_or(struct tnum a, struct tnum b);
struct tnum tnum_xor(struct tnum a, struct tnum b);
struct tnum tnum_mul(struct tnum a, struct tnum b);
struct tnum tnum_lshift(struct tnum a, u8 shift);
struct tnum tnum_rshift(struct tnum a, u8 shift);
struct tnum tnum_arshift(struct tnum a, u8 shift, u8 insn_bitness);
struct tnum tnum_intersect(struct tnum a, struct tnum b);
struct tnum tnum_cast(struct tnum a, u8 size);
struct tnum tnum_subreg(struct tnum a);
struct tnum tnum_with_subreg(struct tnum reg, struct tnum subreg);
bool tnum_in(struct tnum outer, struct tnum inner);

/* ---- registers ---- */
enum vreg_type {
	NOT_INIT = 0,
	SCALAR_VALUE,
	PTR_TO_CTX,
	CONST_PTR_TO_MAP,
	PTR_TO_MAP_VALUE,
	PTR_TO_MAP_KEY,
	PTR_TO_STACK,
	PTR_TO_PACKET_META,
	PTR_TO_PACKET,
	PTR_TO_PACKET_END,
	PTR_TO_MEM,      /* ringbuf samples, global function memory args */
	PTR_TO_BTF_ID,   /* kernel objects: opaque, never dereferenced here */
	PTR_TO_FUNC,
	PTR_TO_SOCK_COMMON,
	CONST_PTR_TO_DYNPTR, /* a global function's dynptr argument */
};

#define VREG_MAYBE_NULL 0x1
#define VREG_RINGBUF 0x2
#define VREG_RDONLY 0x4
#define VREG_ALLOC 0x8 /* PTR_TO_BTF_ID: a bpf_obj_new object (MEM_ALLOC) */
#define VREG_NON_OWN 0x10 /* ... that a list or tree owns (NON_OWN_REF) */
#define VREG_PKT_SLICE 0x20 /* PTR_TO_MEM: a slice of an skb or xdp dynptr,
			     * dead when the packet's data may move */
#define VREG_RCU 0x40 /* PTR_TO_BTF_ID|alloc: loaded from a kptr under RCU
		       * (MEM_RCU), no reference (kptr.c) */
#define VREG_UNTRUSTED 0x80 /* ... loaded outside RCU (PTR_UNTRUSTED) */
#define VREG_RCU_ENDED 0x100 /* ... with VREG_UNTRUSTED: an RCU pointer
			      * whose section ended (MEM_ALLOC | PTR_UNTRUSTED
			      * in the kernel, which refuses its use) */

struct vreg {
	u8 type;
	u8 frameno;   /* PTR_TO_STACK: the frame whose stack it points into */
	u16 flags;
	bool precise; /* scalar: its exact range matters to a decision made
		       * on this path (precision.c); pruning ignores the
		       * ranges of scalars that are not precise */
	s32 off;      /* fixed offset of a pointer */
	u32 id;       /* null-check, packet-range and linked-scalar groups */
	u32 ref_obj_id;
	u32 dynptr_id; /* PTR_TO_MEM: the dynptr it is a slice of */
	struct bpfx_map *map; /* CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE/KEY */
	u32 mem_size;         /* PTR_TO_MEM; PTR_TO_BTF_ID|alloc: its size */
	u32 btf_id;           /* PTR_TO_BTF_ID|alloc: the program BTF type */
	s32 range;            /* packet bytes proven readable after off */
	s32 subprog;          /* PTR_TO_FUNC */
	/* scalar value, or a pointer's variable offset */
	struct tnum var_off;
	s64 smin, smax;
	u64 umin, umax;
	s32 s32_min, s32_max;
	u32 u32_min, u32_max;
};

void reg_mark_unknown(struct vreg *r);
void reg_mark_known(struct vreg *r, u64 v);
void reg_bounds_sync(struct vreg *r);
bool reg_is_const(const struct vreg *r);
/* The ALU op (BPF_OP code) on dst with src, both scalars; alu32 for the
 * 32-bit class. */
void scalar_alu(struct vreg *dst, const struct vreg *src, u8 op, bool alu32);
/* Whether the branch is always taken (1), never (0) or unknown (-1). */
int scalar_branch(const struct vreg *a, const struct vreg *b, u8 op,
		  bool is32);
/* Refines a and b for the branch taken with OP (the caller passes the
 * inverted op for the fall-through). */
void scalar_refine(struct vreg *a, struct vreg *b, u8 op, bool is32);
u8 jmp_invert(u8 op);
u8 jmp_flip(u8 op);
/* Whether every value old allows, new allows too (pruning). */
bool scalar_within(const struct vreg *old, const struct vreg *cur);
void reg_fmt(const struct vreg *r, char *buf, size_t sz);

/* ---- stack and frames ---- */
enum stack_byte {
	STACK_INVALID = 0,
	STACK_MISC,
	STACK_ZERO,
	STACK_SPILL,
	STACK_ITER, /* all 8 bytes: an open-coded iterator (iter.c) */
	STACK_DYNPTR, /* all 16 bytes of two slots: a dynptr (dynptr.c) */
	STACK_IRQ_FLAG, /* all 8 bytes: bpf_local_irq_save's flag (irq.c) */
};
enum iter_state { ITER_NONE_STATE = 0, ITER_ACTIVE, ITER_DRAINED };
#define MAX_BPF_STACK 512
#define SLOTS (MAX_BPF_STACK / 8)

/* Slot spi holds the bytes fp-8*(spi+1) .. fp-8*spi-1, as the kernel's. */
struct vslot {
	u8 stype[8];       /* byte b is fp-8*(spi+1)+b */
	struct vreg spill; /* STACK_SPILL: the register spilled */
	/* STACK_ITER: its reference, state and loop depth (the depth tells
	 * iterations apart; states compare without it); STACK_IRQ_FLAG:
	 * its IRQ state's id in iter_ref */
	u32 iter_ref;
	u32 iter_depth;
	u8 iter_state;
	/* STACK_DYNPTR: its type (enum bpfx_dynptr_type), whether this is
	 * its first (lower) slot, its id (its slices carry it) and the
	 * reference it holds (ringbuf; clones share it) */
	u8 dynptr_type;
	bool dynptr_first;
	u32 dynptr_id;
	u32 dynptr_ref;
};

/* A frame keeps only the slots its function has touched (nslots, from
 * fp down), so copying a state for a branch or a checkpoint costs what
 * the program uses, not 512 bytes of stack per frame. */
struct vframe {
	struct vreg regs[11];
	int callsite;  /* the call insn in the caller, -1 for the first frame */
	int subprog;
	bool is_callback;   /* bpf_loop / for_each_map_elem callback */
	int callback_helper;
	int nslots, cap;
	bool slots_inline;  /* slots share the frame's allocation */
	struct vslot *slots;
};

static inline u8 stack_type(const struct vframe *fr, int spi, int b)
{
	return spi < fr->nslots ? fr->slots[spi].stype[b] : STACK_INVALID;
}
static inline bool slot_is_spill(const struct vframe *fr, int spi)
{
	return spi < fr->nslots && fr->slots[spi].stype[0] == STACK_SPILL;
}
/* Every register and spilled register of a state. */
#define FOR_EACH_REG(st, r, ...)                                              \
	for (int _f = 0; _f <= (st)->curframe; _f++) {                          \
		struct vframe *_fr = (st)->frame[_f];                          \
		for (int _i = 0; _i < 11; _i++) {                              \
			struct vreg *r = &_fr->regs[_i];                       \
			__VA_ARGS__;                                           \
		}                                                              \
		for (int _k = 0; _k < _fr->nslots; _k++) {                     \
			if (_fr->slots[_k].stype[0] != STACK_SPILL)            \
				continue;                                      \
			struct vreg *r = &_fr->slots[_k].spill;                \
			__VA_ARGS__;                                           \
		}                                                              \
	}

/* Makes slots 0..nslots-1 exist (new ones invalid). */
int frame_reserve(struct vframe *fr, int nslots);
struct vframe *frame_new(int callsite, int subprog, int frameno);
void frame_free(struct vframe *fr);

struct vref {
	u32 id;
	u32 insn;
};

#define MAX_REFS 32

struct vstate {
	struct vframe *frame[BPFX_MAX_CALL_FRAMES];
	int curframe;
	struct vref refs[MAX_REFS];
	int ref_cnt;
	u32 lock_id;       /* bpf_spin_lock held: the map value's id (or 1) */
	struct bpfx_map *lock_map;
	s32 lock_off;
	u32 rcu_depth;
	u32 preempt_depth;
	/* bpf_local_irq_save states, outermost first (irq.c): the kernel's
	 * REF_TYPE_IRQ references, the last one its active_irq_id */
	struct vref irq_refs[MAX_REFS];
	int irq_cnt;
	/* exploration */
	struct vstate *parent;  /* the last checkpoint on this path */
	u32 branches;
	int insn;
	int from_insn; /* a queued path: the insn that queued it, or -1 */
	bool callback_entry;
	/* the instructions this state executed since its parent checkpoint:
	 * env->hist[hist_start, hist_end); the current state's end is
	 * env->hist_cnt */
	u32 hist_start, hist_end;
	/* may_goto jumps not taken on this path: each one a loop iteration
	 * that the run-time budget may end (may_goto.c) */
	u32 may_goto_depth;
};

/* One executed instruction of the current path, for backtracking. */
struct hist_entry {
	u32 idx;
	u8 frame;      /* the frame it ran in */
	u8 flags;      /* HIST_* */
	u8 stack_frame, stack_slot; /* HIST_STACK: the slot it read or wrote */
	u16 link_regs; /* HIST_LINKED: registers refined with the jump's */
	u64 link_slots;
};
#define HIST_STACK 0x1
#define HIST_LINKED 0x2
#define HIST_LINK_FAR 0x4 /* linked scalars in other frames */
#define HIST_CALLBACK 0x8 /* enters or leaves a callback */
#define HIST_STACK2 0x10  /* a read across stack_slot and the next */

/* ---- subprograms ---- */
struct vsubprog {
	u32 start, end;
	bool global;
	bool is_exception_cb;
	bool is_cb;         /* runs as a callback (a helper's or kfunc's,
			     * async ones, the exception callback) */
	bool is_async_cb;   /* verified alone, not inside its setter */
	bool may_throw;     /* contains or reaches a bpf_throw */
	bool verified;      /* global: verified alone */
	char name[64];
	int arg_cnt;
	u8 arg_kind[5];     /* 0 scalar, 1 ctx, 2 mem, 3 dynptr */
	u32 arg_mem_size[5];
	bool arg_nullable[5];
	bool returns_void;
	bool returns_nonscalar; /* its BTF return type is no integer */
	u32 stack_depth;    /* bytes of its frame any path touched */
};

struct explored {
	struct explored *next;
	struct vstate *st;
	u32 miss, hit;
};

enum state_cmp { NOT_EXACT, RANGE_WITHIN, EXACT };

struct venv {
	struct bpfx_program *prog;
	const struct bpf_insn *insns;
	size_t cnt;
	u32 prog_type;
	struct vsubprog *sub;
	int sub_cnt;
	int *insn_sub;         /* insn -> subprog index */
	u8 *prune_point;
	u16 *live;             /* registers live into each insn */
	struct explored **expl;
	u32 *states_at;
	u32 id_gen;
	/* the current path's instructions (precision.c) */
	struct hist_entry *hist;
	size_t hist_cnt, hist_cap;
	u64 bt_steps; /* history entries walked by precision marking */
	struct explored *evicted; /* checkpoints dropped from expl[] */
	u32 jmps_processed, prev_jmps_processed, prev_insn_processed;
	/* the stack of paths to explore */
	struct vstate **todo;
	size_t todo_cnt, todo_cap;
	struct vstate *cur;
	/* counts */
	u32 insn_processed;
	u32 total_states, peak_states, cur_states, max_states_per_insn;
	/* log */
	unsigned int log_level;
	char *log;
	size_t log_sz, log_len;
	/* the kernel's trace: registers and stack slots the last instruction
	 * touched ("; R7=fp0 R10=fp0" after it), where its line ended */
	u16 scratch_regs;
	u64 scratch_slots;
	bool scratch_all;
	size_t prev_log_pos, prev_insn_print_pos;
	bool path_popped;     /* the next line starts a queued path */
	char msg[512];
	char last_line[512];
	int err_insn;
	int verifying_sub;     /* the subprogram whose pass this is */
	bool throw_in_callback_checked;
	/* for the JIT (internal.h: struct mem_proof): per instruction
	 * PROOF_UNSEEN, then PROOF_HOLDS while every visit proves the
	 * access, PROOF_FAILS once one does not */
	struct mem_proof proof;
};
enum { PROOF_UNSEEN = 0, PROOF_HOLDS, PROOF_FAILS };

void vlog(struct venv *env, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Records the rejection message (the kernel's words) and returns -EACCES
 * or the given errno. */
int verr(struct venv *env, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline struct vframe *cur_frame(struct venv *env)
{
	return env->cur->frame[env->cur->curframe];
}
static inline struct vreg *cur_regs(struct venv *env)
{
	return cur_frame(env)->regs;
}

/* calls.c */
int check_helper_call(struct venv *env, const struct bpf_insn *insn, int idx,
		      int *next_idx);
int check_kfunc_call(struct venv *env, const struct bpf_insn *insn, int idx,
		     int *next_idx);
int check_subprog_call(struct venv *env, const struct bpf_insn *insn, int idx,
		       int *next_idx);
int check_mem_region(struct venv *env, int regno, int off, int size,
		     bool write, bool helper, int *zero_ok);
/* Memory argument REGNO of SIZE_MAX bytes (written by the helper when
 * WRITE; NULL allowed for zero bytes when NULL_OK). */
int helper_mem(struct venv *env, int regno, u64 size_max, bool write,
	       bool null_ok);
/* Size argument REGNO: a bounded scalar, its largest value in *size_max. */
int check_size_arg(struct venv *env, int regno, bool zero_ok, u64 *size_max);
int check_resource_leak(struct venv *env, bool exception_exit,
			bool check_lock, const char *prefix);
int release_reference(struct venv *env, u32 ref_obj_id);
/* R0 after a call at IDX that hands the program a new object of type
 * BTF_ID (SIZE bytes), or NULL: a reference, r1-r5 unset. */
int mark_new_object(struct venv *env, int idx, u32 btf_id, u32 size);
int acquire_reference(struct venv *env, int insn);
int find_subprog(struct venv *env, u32 insn);
/* The name of type ID of the program's BTF, or "". */
const char *btf_type_name(struct venv *env, u32 id);
bool ret_range_for_prog(u32 prog_type, s32 *lo, s32 *hi);
/* iter.c */
bool is_iter_kfunc(const struct venv *env, const struct bpf_insn *insn);
bool is_iter_next_insn(const struct venv *env, int insn);
int check_iter_kfunc(struct venv *env, const struct bpf_insn *insn, int idx);
bool iter_next_active(const struct vstate *st);
bool state_in_iter_body(const struct vstate *st);
bool iter_depths_differ(const struct vstate *old, const struct vstate *cur);
const struct vstate *loop_prev_checkpoint(const struct vstate *cur, int idx);
void widen_imprecise_scalars(struct vstate *q, const struct vstate *prev);
/* may_goto.c */
bool is_may_goto_insn(const struct bpf_insn *insn);
int check_may_goto(struct venv *env, const struct bpf_insn *insn, int idx,
		   int *next);
/* graph.c */
#define CALLBACK_RBTREE_LESS (-1) /* vframe.callback_helper of less() */
bool is_graph_kfunc(const char *name);
int check_graph_kfunc(struct venv *env, const struct bpf_insn *insn, int idx,
		      int *next_idx);
/* At bpf_spin_lock/unlock: refused inside less(). */
int graph_check_lock(struct venv *env, int regno);
/* At bpf_spin_unlock: non-owning references become scalars. */
void graph_invalidate_non_owning(struct venv *env);
/* A load or store of [lo, hi + size) through REG (a map value or an
 * object) must not touch a special field. */
int graph_check_access(struct venv *env, const struct vreg *reg, s64 lo,
		       s64 hi, int size);
int graph_check_prog_maps(struct venv *env);
/* dynptr.c */
/* What a dynptr argument must be. */
enum dynptr_arg_mode {
	DYNPTR_INIT,    /* an initialised dynptr of any type */
	DYNPTR_UNINIT,  /* stack the call makes a dynptr of TYPE */
	DYNPTR_RELEASE, /* an initialised referenced dynptr of TYPE, released */
};
/* The dynptr an argument named (for the calls that use it after). */
struct dynptr_info {
	u8 type;
	u32 id, ref;
};
int check_dynptr_arg(struct venv *env, int regno, int argno,
		     enum dynptr_arg_mode mode, u8 type, u32 clone_ref,
		     int insn_idx, struct dynptr_info *info);
bool is_dynptr_kfunc(const struct venv *env, const struct bpf_insn *insn);
int check_dynptr_kfunc(struct venv *env, const struct bpf_insn *insn,
		       int idx);
/* A write of the stack bytes [lo, hi) of FR: dynptrs there are destroyed,
 * referenced ones refused. */
int dynptr_stack_write(struct venv *env, struct vframe *fr, s64 lo, s64 hi);
/* A helper's write of [lo, hi) may not touch a dynptr. */
int dynptr_helper_write(struct venv *env, const struct vframe *fr, s64 lo,
			s64 hi);
/* A dynptr's log text (fp-16=dynptr_ringbuf(id=1,ref_id=2)) at slot K
 * of FR, 0 when K holds none. */
int dynptr_log_slot(const struct vframe *fr, int k, char *buf, size_t sz);
/* async.c: bpf_timer */
/* A frame that is an async callback's (bpf_timer_set_callback): the first
 * frame of a path of its own. */
static inline bool frame_is_async_cb(const struct vframe *fr)
{
	return !fr->is_callback &&
	       fr->callback_helper == BPF_FUNC_timer_set_callback;
}
/* ARG_PTR_TO_TIMER: R<regno> points at the struct bpf_timer of its map
 * value; *map gets the map. */
int check_timer_arg(struct venv *env, int regno, struct bpfx_map **map);
/* bpf_timer_set_callback at CALL_IDX: queues the callback CB_SUB as a
 * path of its own (map, key and value of MAP in R1-R3). */
int push_async_callback(struct venv *env, int call_idx, int cb_sub,
			struct bpfx_map *map);
/* BPF_EXIT of an async callback's first frame: the path ends (1). */
int check_async_exit(struct venv *env);
/* R<regno> as the kernel's check_return_code() in an async callback: a
 * known scalar in [0, 0]; REG_NAME as its message names it. */
int check_async_retval(struct venv *env, int regno, const char *reg_name);
/* A load, store or helper access of [off, off + size) of map value REG
 * must not touch the value's bpf_timer. */
int check_map_field_access(struct venv *env, const struct vreg *reg, int off,
			   int size);
/* The maps the program uses, as the kernel's check_map_prog_compatibility. */
int check_timer_maps(struct venv *env);
/* irq.c: bpf_local_irq_save / bpf_local_irq_restore */
bool is_irq_kfunc(const struct venv *env, const struct bpf_insn *insn);
int check_irq_kfunc(struct venv *env, const struct bpf_insn *insn, int idx);
static inline bool irq_active(const struct vstate *st)
{
	return st->irq_cnt > 0;
}
/* The combined stack of every call chain within 512 bytes, as the
 * kernel's check_max_stack_depth() (after every path is verified). */
int check_max_stack_depth(struct venv *env);
/* precision.c */
int hist_push(struct venv *env, int idx);
static inline struct hist_entry *hist_cur(struct venv *env)
{
	return &env->hist[env->hist_cnt - 1];
}
void hist_note_stack(struct venv *env, int frame, int slot);
/* Marks register REGNO of the current frame precise along the path: the
 * parent checkpoints and the registers and stack slots its value came
 * from, by backtracking through the path's instructions. */
int mark_precise(struct venv *env, int regno);
/* After a hit on OLD: what was precise in OLD is precise on this path. */
int propagate_precision(struct venv *env, const struct vstate *old,
			int insn);
void mark_all_imprecise(struct vstate *st);
/* kptr.c: a load or store of a map value that touches a kptr field: 0
 * when it touches none, 1 when it is a valid load (DST, if any, set), or
 * the rejection. */
int kptr_check_map_access(struct venv *env, int insn_idx, int regno,
			  const struct vreg *reg, int off, int size, bool write,
			  struct vreg *dst);
/* A write through a pointer loaded outside RCU is refused. */
int kptr_check_alloc_access(struct venv *env, const struct vreg *reg,
			    bool write);
/* bpf_rcu_read_unlock ended the section: RCU pointers become untrusted. */
void kptr_rcu_unlock(struct venv *env);
/* bpf_kptr_xchg (helper 194). */
int check_kptr_xchg(struct venv *env, int idx);
/* verifier.c */
int check_reg_read(struct venv *env, int regno);
void clear_pkt_pointers(struct venv *env);
int check_return_in_range(struct venv *env, int regno, const char *where);
/* " smin=A smax=B" of a scalar's signed bounds, or " unknown scalar
 * value", as the kernel's return-range messages write it. */
void reg_range_text(const struct vreg *r, char *buf, size_t sz);
/* After every path is verified: no bpf_throw runs below a callback. */
int check_throw_in_callbacks(struct venv *env);
struct vstate *state_dup(const struct vstate *st);
void state_free(struct vstate *st);
int push_state(struct venv *env, struct vstate *st, int insn);
void mark_ptr_not_null(struct venv *env, u32 id, bool is_null);
int check_ctx_ptr_off(struct venv *env, const struct vreg *reg, int regno);
int check_ptr_alignment(struct venv *env, const struct vreg *reg, int off,
			int size, bool strict);
int check_mem_access(struct venv *env, int insn_idx, int regno, int off,
		     int size, bool write, int value_regno, bool sign_ext);

#endif

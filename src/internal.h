/*
 * What the stages of bpfx share: the object model that the loader builds
 * (objects, programs, maps), the run context that the engines, helpers and
 * maps work in, and the small services every stage uses (logging, errors).
 *
 * Pipeline: src/loader builds a bpfx_object from ELF + BTF and links each
 * program (main body plus the subprograms it calls); src/isa checks every
 * instruction's structure; src/interp pre-decodes and runs; src/runtime
 * holds maps, helpers, kfuncs and the test_run contexts.
 *
 * Memory safety without a verifier: every load, store and helper pointer
 * argument goes through run_mem(), which accepts only the run's stack, its
 * context, its packet and the storage of live maps.
 */
#ifndef BPFX_INTERNAL_H
#define BPFX_INTERNAL_H

#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfx/bpfx.h"

/* may_goto (kernel 6.9; the system's uapi header may predate it) */
#ifndef BPF_JCOND
#define BPF_JCOND 0xe0
#endif
#ifndef BPF_MAY_GOTO
#define BPF_MAY_GOTO 0
#endif
/* the run-time budget of one frame's may_goto instructions */
#define BPFX_MAX_LOOPS (8 * 1024 * 1024)

#define BPFX_HIDDEN __attribute__((visibility("hidden")))

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ROUND_UP(x, a) (((x) + (a)-1) / (a) * (a))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Limits, as the kernel's. */
#define BPFX_STACK_SIZE 512      /* bytes of stack per frame */
#define BPFX_MAX_CALL_FRAMES 8   /* main program plus 7 nested calls */
#define BPFX_MAX_TAIL_CALLS 33   /* MAX_TAIL_CALL_CNT */
#define BPFX_MAX_NR_CPUS 256
/* An interpreter without a verifier cannot prove termination: a run stops
 * with -ELOOP after this many taken backward jumps and calls. */
#define BPFX_DEFAULT_BRANCH_BUDGET (1ULL << 31)

/* Instruction encoding fields not in Debian 12's linux/bpf.h (cpu v4). */
#define BPFX_MEMSX 0x80
#define BPFX_SMODE_SIGNED 1

/* ---- logging: "stage: context: message" through the user's callback ---- */
BPFX_HIDDEN void pr_log(enum bpfx_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define pr_warn(...) pr_log(BPFX_LOG_WARN, __VA_ARGS__)
#define pr_info(...) pr_log(BPFX_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) pr_log(BPFX_LOG_DEBUG, __VA_ARGS__)

/* Options struct access, as libbpf's OPTS_VALID/OPTS_GET. */
#define OPTS_HAS(opts, field)                                                  \
	((opts) && (opts)->sz >= offsetofend(typeof(*(opts)), field))
#define OPTS_GET(opts, field, fallback)                                        \
	(OPTS_HAS(opts, field) ? (opts)->field : (fallback))
#define OPTS_SET(opts, field, value)                                           \
	do {                                                                   \
		if (OPTS_HAS(opts, field))                                     \
			(opts)->field = (value);                               \
	} while (0)
#ifndef offsetofend
#define offsetofend(type, member)                                              \
	(offsetof(type, member) + sizeof(((type *)0)->member))
#endif
BPFX_HIDDEN bool opts_valid(const void *opts, size_t known_sz);

/* ---- isa: src/isa ---- */
#include "isa/opcodes.h"

struct isa_op_desc {
	const char *mnemonic;
	u8 opcode;
	u8 sel;
	s32 selval;
	u8 fields;
};
BPFX_HIDDEN extern const struct isa_op_desc isa_ops[BPFX_OP__COUNT];
/* The instruction's bpfx_op, or BPFX_OP_INVALID when no entry matches the
 * opcode byte with its selector, or when a field it does not use is set. */
BPFX_HIDDEN enum bpfx_op isa_decode(const struct bpf_insn *insn);
/* Structural check of a linked program: valid opcodes and registers, jumps
 * and calls inside the program and not into the second half of an lddw,
 * lddw complete, last instruction an exit or jump. On failure writes
 * "insn N: reason" to err and returns -EINVAL. */
BPFX_HIDDEN int isa_check_r10(const struct bpf_insn *insns, size_t cnt,
			      char *err, size_t err_sz);
BPFX_HIDDEN int isa_check(const struct bpf_insn *insns, size_t cnt, char *err,
			  size_t err_sz);
/* One instruction in the assembler's syntax; returns the number of slots
 * it takes (2 for lddw). */
BPFX_HIDDEN int isa_disasm(const struct bpf_insn *insns, size_t idx,
			   size_t cnt, char *buf, size_t buf_sz);
/* One instruction as the kernel's verifier log writes it ("r1 = r10",
 * "if w2 == 0x3 goto pc+1", "call bpf_map_lookup_elem#1"); CALL_NAME names
 * the helper or kfunc of a call (or NULL). Returns the slots it takes. */
BPFX_HIDDEN int isa_disasm_kernel(const struct bpf_insn *insns, size_t idx,
				  size_t cnt, const char *call_name, char *buf,
				  size_t buf_sz);
/* A number as the assembler reads it: decimal or 0x hex, optional sign,
 * the whole string; *has_sign (may be NULL) tells whether a sign was
 * written. */
BPFX_HIDDEN bool isa_parse_number(const char *s, s64 *val, bool *has_sign);
/* Assembles the BPF conformance suite's syntax ("mov %r0, 1", "exit").
 * Returns 0 with *out malloc'ed, or -EINVAL with "line N: reason" in err. */
BPFX_HIDDEN int isa_assemble(const char *text, struct bpf_insn **out,
			     size_t *cnt, char *err, size_t err_sz);

/* ---- maps: src/runtime/maps.c ---- */
struct bpfx_map;
struct map_ops {
	int (*alloc)(struct bpfx_map *map);
	void (*free)(struct bpfx_map *map);
	/* program side: this CPU's value, or NULL */
	void *(*lookup)(struct bpfx_map *map, const void *key, int cpu);
	/* program side: value is one CPU's value */
	int (*update)(struct bpfx_map *map, const void *key, const void *value,
		      u64 flags, int cpu);
	int (*delete)(struct bpfx_map *map, const void *key);
	int (*get_next_key)(struct bpfx_map *map, const void *key, void *next);
	/* user side: per-CPU maps copy all CPUs' values */
	int (*lookup_copy)(struct bpfx_map *map, const void *key, void *value);
	int (*update_copy)(struct bpfx_map *map, const void *key,
			   const void *value, u64 flags);
};

struct bpfx_map {
	struct bpfx_object *obj;
	char *name;
	u32 type; /* enum bpf_map_type */
	u32 key_size;
	u32 value_size;
	u32 max_entries;
	u32 map_flags;
	u32 btf_key_type_id;
	u32 btf_value_type_id;
	unsigned int nr_cpus;
	int fd;
	/* global data (.data, .rodata, .bss, .rodata.str*): the section */
	int sec_idx;
	bool is_global_data;
	bool rdonly_prog;  /* BPF_F_RDONLY_PROG: programs may not write */
	void *init_data;   /* initial contents (value_size bytes) or NULL */
	struct bpfx_map *inner_map; /* map-in-map: the inner map's template */
	u32 owner_prog_type; /* prog_array: the type of its first program */
	/* .values initialisation: slot -> program or map name, as libbpf */
	struct map_init_slot {
		u32 key;
		char *target; /* program (prog_array) or map name */
	} *init_slots;
	size_t init_slot_cnt;

	const struct map_ops *ops;
	void *priv;             /* the implementation's state */
	pthread_mutex_t lock;   /* serialises writers of hash-like maps */
	/* its value's special fields (graph.c), or NULL */
	const struct graph_rec *graph_rec;
	/* The storage programs may touch: [mem, mem + mem_size). */
	u8 *mem;
	size_t mem_size;
	/* A struct bpf_timer in each value (src/runtime/timer.c): found in
	 * the value's BTF at creation, as the kernel's btf_record */
	bool has_value_btf; /* BTF the kernel keeps for this map type */
	bool has_timer;
	u32 timer_off;
	bool timers_closing;         /* freed or being freed: no new timers */
	struct bpfx_timer **timers;  /* per element, from the first init */
};

/* Whether programs of TYPE may write packet data directly, as the kernel's
 * may_access_direct_pkt_data(BPF_WRITE). */
static inline bool prog_type_writes_packet(u32 type)
{
	switch (type) {
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_XDP:
	case BPF_PROG_TYPE_LWT_XMIT:
	case BPF_PROG_TYPE_SK_SKB:
	case BPF_PROG_TYPE_SK_MSG:
	case BPF_PROG_TYPE_CGROUP_SOCKOPT:
		return true;
	default:
		return false;
	}
}

static inline bool map_type_is_map_in_map(u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
	       type == BPF_MAP_TYPE_HASH_OF_MAPS;
}


BPFX_HIDDEN const char *map_type_name(u32 type);
/* Validates the attributes and allocates storage; registers the map's
 * memory region and fd. Copies init_data in for global data. */
BPFX_HIDDEN int map_create(struct bpfx_map *map);
BPFX_HIDDEN void map_destroy(struct bpfx_map *map);
/* The map whose fd is FD, or NULL. */
BPFX_HIDDEN struct bpfx_map *map_by_fd(int fd);
/* True when P points at a live map (a forged pointer is refused). */
BPFX_HIDDEN bool map_is_live(const void *p);
/* The live map whose storage holds [addr, addr + size), or NULL; writes
 * are allowed unless map->rdonly_prog. Used by run_mem() when the fast
 * paths miss. */
BPFX_HIDDEN struct bpfx_map *map_region_find(u64 addr, u64 size);
/* The program at INDEX of prog_array MAP, or NULL (empty, out of range,
 * not a prog_array, or the program was closed). Lock-free. */
BPFX_HIDDEN struct bpfx_program *prog_array_get(struct bpfx_map *map, u32 index);
/* Ring buffer program-side operations (src/runtime/ringbuf.c). */
BPFX_HIDDEN void *ringbuf_reserve(struct bpfx_map *map, u64 size, u64 flags);
BPFX_HIDDEN void ringbuf_commit(struct bpfx_map *map, void *sample,
				bool discard, u64 flags);
BPFX_HIDDEN long ringbuf_output(struct bpfx_map *map, const void *data,
				u64 size, u64 flags);
BPFX_HIDDEN u64 ringbuf_query(struct bpfx_map *map, u64 flags);
BPFX_HIDDEN bool ringbuf_is_sample(struct bpfx_map *map, void *sample);

/* ---- handles: src/runtime/fd.c ----
 * Programs and maps get small integer handles, like kernel fds, shared in
 * one namespace: prog_array and map-in-map values name them. */
enum fd_kind { FD_MAP = 1, FD_PROG = 2 };
BPFX_HIDDEN int fd_alloc(enum fd_kind kind, void *ptr);
/* The object behind FD if it is of KIND, else NULL. */
BPFX_HIDDEN void *fd_lookup(int fd, enum fd_kind kind);
BPFX_HIDDEN void fd_free(int fd);

/* ---- programs and objects: src/loader ---- */
struct func_info_rec {
	u32 insn_off;
	u32 type_id;
};
struct line_info_rec {
	u32 insn_off;
	u32 file_name_off;
	u32 line_off;
	u32 line_col;
};

struct bpfx_program {
	struct bpfx_object *obj;
	char *name;
	char *sec_name;
	int sec_idx;
	size_t sec_insn_off; /* first instruction within its section */
	size_t sec_insn_cnt; /* instructions of its own body */
	u32 type;            /* enum bpf_prog_type */
	u32 expected_attach_type;
	bool autoload;
	bool is_subprog; /* a .text function, not an entry point */
	bool loaded;
	char *load_error;
	int fd;

	/* The linked program: its body then the subprograms it calls, in the
	 * kernel's fd_array form: calls pc-relative, map references as lddw
	 * src BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE with imm indexing
	 * maps[], function pointers as BPF_PSEUDO_FUNC; kfunc calls carry the
	 * bpfx kfunc table index in imm. */
	struct bpf_insn *insns;
	size_t insn_cnt;
	struct bpfx_map **maps; /* maps it references */
	size_t map_cnt;
	/* The exception callback named by the main function's BTF decl tag
	 * "exception_callback:NAME", linked in like a subprogram: its first
	 * instruction, or 0 for the default callback (r0 = cookie). */
	u32 exception_cb_insn;
	struct func_info_rec *func_info;
	size_t func_info_cnt;
	struct line_info_rec *line_info;
	size_t line_info_cnt;

	void *interp; /* the interpreter's pre-decoded form */
	void *jit;    /* the JIT's native code (src/jit), or NULL */
	struct mem_proof *mem_proof; /* the verifier's, or NULL */
};

/* What the verifier proved about a program's loads and stores (set by
 * verifier_check() when it accepts; freed by mem_proof_free()). proven[i]
 * is set at a plain load or store (not an atomic) when, on every path
 * that reaches it, its pointer is one the verifier bounds to memory the
 * run owns: the BPF stack, the context (at a constant offset), the
 * packet between data and data_end, or a value of one of the program's
 * own maps. The JIT leaves out the run-time check of such an access; the
 * facts below are what that needs of a run, checked at entry
 * (jit_run), since they depend on what r1 and the packet are. */
struct mem_proof {
	const struct bpf_insn *insns; /* the instructions it is about */
	size_t cnt;
	u8 *proven;     /* [cnt] */
	u32 ctx_end;    /* proven context accesses end at or before r1 + ctx_end */
	bool ctx_write; /* a proven store into the context */
	bool pkt;       /* a proven packet access (needs the prepared context) */
	bool pkt_write; /* a proven store into the packet */
};
BPFX_HIDDEN void mem_proof_free(struct bpfx_program *prog);
/* PROG's proof if it is about its current instructions, else NULL. */
static inline const struct mem_proof *
prog_mem_proof(const struct bpfx_program *prog)
{
	const struct mem_proof *p = prog->mem_proof;
	return p && p->insns == prog->insns && p->cnt == prog->insn_cnt ? p
									 : NULL;
}

struct bpfx_object {
	char *name;
	int timer_err; /* first error of a timer callback run (timer.c) */
	char *path;
	char license[128];
	u32 kern_version;
	unsigned int nr_cpus;
	struct bpfx_program **progs; /* entry points, in section order */
	size_t prog_cnt;
	struct bpfx_map **maps;
	size_t map_cnt;
	struct btf *btf;         /* libbpf's BTF, or NULL */
	struct loader_state *ld; /* the ELF and what linking needs */
	/* graph.c: records of its BTF types, by id (lazily) */
	const struct graph_rec **graph_recs;
	u8 *graph_rec_err;
	bool maps_created;
};

/* Source line of instruction INSN of PROG, as "file:line" into buf;
 * returns false when there is no line_info. */
BPFX_HIDDEN bool prog_source_line(const struct bpfx_program *prog, size_t insn,
				  char *buf, size_t sz);
/* The same with the source text clang recorded, as the kernel's verifier
 * log prints it: "return s; @ file.c:15". */
BPFX_HIDDEN bool prog_source_text(const struct bpfx_program *prog, size_t insn,
				  char *buf, size_t sz);
BPFX_HIDDEN struct bpfx_program *prog_by_fd(int fd);
BPFX_HIDDEN const char *prog_type_name(u32 type);

/* ---- run context: one per program run on a thread ---- */
struct run_region {
	u64 lo, hi; /* [lo, hi) */
	bool writable;
};

struct bpfx_run;
/* An engine's entry to run a BPF function of the running program (a
 * bpf_loop or for_each_map_elem callback) with up to 5 arguments. */
typedef int (*run_callback_fn)(struct bpfx_run *run, u64 func, const u64 *args,
			       u64 *ret);

struct bpfx_run {
	struct bpfx_program *prog;
	int cpu;
	u8 *stack;      /* BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE */
	struct run_region ctx;
	struct run_region pkt;   /* packet for LD_ABS/LD_IND and helpers */
	struct run_region extra; /* a caller-supplied region */
	/* last map region hit, so a hot loop on a map value is one check */
	struct run_region cached;
	u32 tail_call_cnt;
	u64 branch_budget;
	run_callback_fn call;
	enum bpfx_engine engine; /* the engine running it (interp or jit) */
	/* the engine's innermost active frame state in this run, so a helper
	 * that calls back into BPF continues below its caller's frames */
	void *engine_state;
	/* what the program holds or has opened during this run */
	struct run_ctx_state *ctx_state; /* test_run context (ctx.c) */
	void *held_lock;                 /* the bpf_spin_lock it holds */
	/* ring buffer samples it reserved and has not submitted */
	struct run_reserved {
		struct bpfx_map *map;
		void *sample;
	} reserved[16];
	u32 reserved_cnt;
	/* the owning references to objects it holds (objects.c) */
	struct obj_hdr **objects;
	u32 object_cnt, object_cap;
	/* objects whose last reference went during the run: their memory
	 * stays readable until it ends, as RCU keeps the kernel's */
	struct obj_hdr *dead_objects;
	u32 rcu_nest;                    /* bpf_rcu_read_lock depth */
	u32 preempt_nest;                /* bpf_preempt_disable depth */
	u32 irq_nest;                    /* bpf_local_irq_save depth */
	/* bpf_throw: set by the kfunc, consumed by the engine, which unwinds
	 * to the innermost exception boundary and runs the callback */
	bool thrown;
	u64 cookie;
	/* first error; the engine stops and test_run returns it */
	int err;
	char errmsg[256];
	struct bpfx_run *outer; /* nesting on this thread */
};

enum mem_access { MEM_READ = 0, MEM_WRITE = 1 };
BPFX_HIDDEN void *run_mem_slow(struct bpfx_run *run, u64 addr, u64 size,
			       enum mem_access acc);
/* Host pointer for [addr, addr + size) if the run may access it, or NULL. */
static inline void *run_mem(struct bpfx_run *run, u64 addr, u64 size,
			    enum mem_access acc)
{
	u64 stack_lo = (u64)(uintptr_t)run->stack;
	if (addr - stack_lo <= BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE - size &&
	    size <= BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE)
		return (void *)(uintptr_t)addr;
	if (addr - run->cached.lo <= run->cached.hi - run->cached.lo - size &&
	    size <= run->cached.hi - run->cached.lo &&
	    (acc == MEM_READ || run->cached.writable))
		return (void *)(uintptr_t)addr;
	return run_mem_slow(run, addr, size, acc);
}
/* The map at P if it is live: the running program's own maps are found
 * without a lock, others (inner maps) in the registry. */
BPFX_HIDDEN struct bpfx_map *run_map(struct bpfx_run *run, u64 p);
/* Records the run's first error ("engine: insn N: ..."); returns -err. */
BPFX_HIDDEN int run_fail(struct bpfx_run *run, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The thread's CPU number for per-CPU maps and get_smp_processor_id. */
BPFX_HIDDEN int run_thread_cpu(void);
BPFX_HIDDEN unsigned int runtime_nr_cpus(void);
/* The thread's BPF stack (allocated once per thread). */
BPFX_HIDDEN u8 *run_thread_stack(void);

/* ---- helpers and kfuncs: src/runtime/helpers.c, kfuncs.c ---- */
typedef u64 (*bpfx_helper_fn)(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			      u64 r4, u64 r5);
struct helper_desc {
	const char *name;
	bpfx_helper_fn fn;
};
/* The helper with kernel number ID, or NULL if bpfx does not have it. */
BPFX_HIDDEN const struct helper_desc *helper_by_id(s32 id);
/* The kernel's kfunc sets, by the program types they are registered for. */
enum kfunc_hook {
	KFUNC_GENERIC = 0, /* tc, xdp, syscall, struct_ops, tracing, cgroup */
	KFUNC_COMMON,      /* every program type */
	KFUNC_SKB,         /* programs with an sk_buff context */
	KFUNC_SKB_META,    /* tc */
	KFUNC_XDP,         /* xdp */
};
struct kfunc_desc {
	const char *name;
	bpfx_helper_fn fn;
	enum kfunc_hook hook;
	bool ret_void; /* returns nothing: r0 is unset after the call */
};
/* Whether programs of TYPE may call kfuncs[idx], as the kernel's kfunc
 * hooks decide. */
BPFX_HIDDEN bool kfunc_allowed(int idx, u32 prog_type);
BPFX_HIDDEN extern const struct kfunc_desc kfuncs[];
BPFX_HIDDEN extern const size_t kfunc_cnt;
/* Index into kfuncs[] of the kfunc NAME, or -ENOENT. */
BPFX_HIDDEN int kfunc_by_name(const char *name);
/* bpf_tail_call is special: the helper records the target here and the
 * engine switches programs when the helper returns. */
BPFX_HIDDEN struct bpfx_program *tail_call_target(struct bpfx_run *run,
						  u64 map, u64 index);
/* Formats like bpf_trace_printk/bpf_snprintf (kernel rules: %d %i %u %x
 * %X %ld %lld %lu %llu %lx %llx %p %pK %px %s %c %%; at most args_cnt
 * u64 arguments). Returns the length it would have written or -errno. */
BPFX_HIDDEN int bprintf_format(struct bpfx_run *run, char *out, size_t out_sz,
			       const char *fmt, size_t fmt_size,
			       const u64 *args, size_t args_cnt);

/* ---- contexts of test_run: src/runtime/ctx.c ---- */
/* Builds what r1 points to for one test_run, as the kernel's test_run does
 * for the program type: tc/socket/cgroup_skb get a struct __sk_buff over a
 * copy of data_in (packet in memory below 4 GiB, so the u32 data/data_end
 * fields hold real addresses), xdp an xdp_md, syscall/tracing types the
 * caller's ctx_in bytes. Sets run->ctx and run->pkt. */
struct run_ctx_state;
BPFX_HIDDEN int ctx_prepare(struct bpfx_program *prog,
			    const struct bpfx_test_run_opts *opts,
			    struct bpfx_run *run, struct run_ctx_state **state,
			    u64 *r1);
/* Copies data_out / ctx_out back (sizes as the kernel reports them). */
BPFX_HIDDEN int ctx_finish(struct run_ctx_state *state,
			   struct bpfx_test_run_opts *opts, u64 retval);
BPFX_HIDDEN void ctx_free(struct run_ctx_state *state);
/* Frees the objects a run did not drop (only a program the verifier did
 * not see can leave any), warning once per run, and the memory of those
 * that died during the run. */
BPFX_HIDDEN void objects_run_end(struct bpfx_run *run);
/* The innermost run on this thread, or NULL (run.c). */
BPFX_HIDDEN struct bpfx_run *run_active(void);
/* The kfuncs of objects.c, for kfuncs[]. */
BPFX_HIDDEN u64 kfunc_obj_new(struct bpfx_run *run, u64 type_id, u64 meta,
			      u64 r3, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_obj_drop(struct bpfx_run *run, u64 obj, u64 meta,
			       u64 r3, u64 r4, u64 r5);
/* ---- graph data structures: src/runtime/graph.c ----
 * The special fields of a struct or a global data section (DATASEC) of a
 * program's BTF, as the kernel's btf_record: a bpf_spin_lock, list heads
 * and rbtree roots with the struct they contain (decl tag
 * "contains:TYPE:FIELD"), list and rbtree nodes, a bpf_refcount.
 * Records are interned: one record per distinct content, alive until the
 * process exits, so objects and maps may point at theirs. */
enum graph_field_kind {
	GF_SPIN_LOCK = 1,
	GF_LIST_HEAD,
	GF_LIST_NODE,
	GF_RB_ROOT,
	GF_RB_NODE,
	GF_REFCOUNT,
	GF_KPTR, /* struct foo __kptr *: a referenced pointer to an object
		  * from bpf_obj_new (kptr.c), 8 bytes */
};
#define GRAPH_MAX_FIELDS 11 /* the kernel's BTF_FIELDS_MAX */
struct graph_rec;
struct graph_field {
	u8 kind;
	u32 off, size;
	/* GF_LIST_HEAD, GF_RB_ROOT: what the root holds; GF_KPTR: the
	 * struct it points to (node_off unused) */
	u32 value_type_id; /* in the program's BTF */
	u32 node_off;      /* its node's offset in that struct */
	const struct graph_rec *value_rec;
	char value_name[64];
};
struct graph_rec {
	u32 size;
	int cnt;
	int spin_lock_off; /* -1: none */
	int refcount_off;  /* -1: none */
	int node_cnt;      /* list and rbtree nodes */
	int kptr_cnt;      /* GF_KPTR fields */
	struct graph_field f[GRAPH_MAX_FIELDS];
};
/* The kernel's name of a field kind ("bpf_list_head"). */
BPFX_HIDDEN const char *graph_field_name(int kind);
/* The record of struct or DATASEC TYPE_ID of OBJ's BTF: NULL with 0 when
 * it has no special field, NULL with -errno (reason in err) when its
 * fields are malformed. Cached per object. */
BPFX_HIDDEN const struct graph_rec *graph_rec_of(struct bpfx_object *obj,
						 u32 type_id, int *errp,
						 char *err, size_t err_sz);
BPFX_HIDDEN void graph_cache_free(struct bpfx_object *obj);
/* The field of REC at exactly OFF of KIND, or NULL. */
BPFX_HIDDEN const struct graph_field *graph_field_at(const struct graph_rec *rec,
						     u32 off, int kind);
/* Maps: the record of the value (set by map_create), a copy into a value
 * that keeps its special fields (empties its lists and trees, as the
 * kernel's bpf_obj_free_fields), and the drain at destroy. */
BPFX_HIDDEN int graph_map_init(struct bpfx_map *map);
BPFX_HIDDEN void graph_map_copy_value(struct bpfx_map *map, void *dst,
				      const void *src);
BPFX_HIDDEN void graph_map_free(struct bpfx_map *map);
/* Empties the lists and trees of the REC-typed memory at BASE, dropping
 * what they hold. */
BPFX_HIDDEN void graph_drain_fields(const struct graph_rec *rec, void *base);
/* Empties every special field of a map value (lists, trees, kptrs) that
 * leaves the map: a deleted, replaced or evicted hash element. */
BPFX_HIDDEN void graph_map_clear_value(struct bpfx_map *map, void *value);
/* bpf_kptr_xchg (helper 194), src/runtime/objects.c */
BPFX_HIDDEN u64 helper_kptr_xchg(struct bpfx_run *run, u64 dst, u64 ptr,
				 u64 r3, u64 r4, u64 r5);
/* The graph kfuncs for kfuncs[]. */
#define GRAPH_KFUNC(name)                                                      \
	BPFX_HIDDEN u64 kfunc_##name(struct bpfx_run *run, u64 r1, u64 r2,     \
				     u64 r3, u64 r4, u64 r5)
GRAPH_KFUNC(list_push_front_impl);
GRAPH_KFUNC(list_push_back_impl);
GRAPH_KFUNC(list_pop_front);
GRAPH_KFUNC(list_pop_back);
GRAPH_KFUNC(list_front);
GRAPH_KFUNC(list_back);
GRAPH_KFUNC(rbtree_add_impl);
GRAPH_KFUNC(rbtree_remove);
GRAPH_KFUNC(rbtree_first);
GRAPH_KFUNC(rbtree_root);
GRAPH_KFUNC(rbtree_left);
GRAPH_KFUNC(rbtree_right);
GRAPH_KFUNC(refcount_acquire_impl);

/* ---- allocated objects: src/runtime/objects.c ----
 * Each object has a host-side header just below its memory (never
 * program-accessible) with its record, reference count and the links of
 * its list and rbtree nodes. */
struct graph_link {
	void *owner; /* the head or root it is in (its address), or NULL */
	struct graph_link *next, *prev;            /* list */
	struct graph_link *parent, *left, *right;  /* rbtree */
	bool red;
	u32 node_off; /* the node field's offset in the object */
	struct obj_hdr *obj;
};
struct obj_hdr {
	const struct graph_rec *rec; /* NULL: no special field */
	u32 size;
	_Atomic u32 refcnt;
	u32 link_cnt;
	u8 *data;
	/* freed during a run: kept until it ends (objects.c) */
	struct obj_hdr *next_dead;
	struct graph_link links[];
};
/* The live object whose memory holds [addr, addr + size), or NULL. */
BPFX_HIDDEN struct obj_hdr *object_find(u64 addr, u64 size);
/* LINK if it is a node link of a live object, else NULL. */
BPFX_HIDDEN struct graph_link *object_link_valid(const void *link);
/* The run takes (give) or hands over (take) one owning reference. */
BPFX_HIDDEN int object_own(struct bpfx_run *run, struct obj_hdr *obj);
BPFX_HIDDEN bool object_disown(struct bpfx_run *run, struct obj_hdr *obj);
/* Drops one reference: the last frees the object and what it holds. */
BPFX_HIDDEN void object_put(struct obj_hdr *obj);
/* How many objects from bpf_obj_new are alive (process-wide). */
BPFX_HIDDEN size_t objects_live(void);
/* Empties the kptr field at P (8 bytes) and drops the reference it held. */
BPFX_HIDDEN void kptr_drop_field(void *p);

/* LD_ABS / LD_IND: SIZE (1, 2 or 4) bytes at K, the offset as the kernel
 * takes it (an int): from skb->data when K >= 0; from the network header
 * for SKF_NET_OFF <= K < 0 and from the link-layer header for SKF_LL_OFF
 * <= K < SKF_NET_OFF, anywhere between the skb's head and tail. The value
 * read (big-endian, zero-extended), or -1 where the kernel's program ends
 * returning 0. Engines inline the common case (0 <= K, inside the packet)
 * and call this for the rest. */
BPFX_HIDDEN u64 run_ld_packet(struct bpfx_run *run, s64 k, u64 size);
/* bpf_xdp_adjust_head on the run's xdp context. */
BPFX_HIDDEN int ctx_xdp_adjust_head(struct bpfx_run *run, u64 xdp_md,
				    int offset);
/* The packet a dynptr of TYPE (enum bpfx_dynptr_type: skb, xdp or
 * skb_meta) made from context CTX sees now: its first byte, its length
 * and whether the program may write it; -EINVAL if CTX is not the run's
 * context of that kind. */
BPFX_HIDDEN int ctx_dynptr_packet(struct bpfx_run *run, u64 ctx, int type,
				  u8 **data, u64 *len, bool *writable);

/* ---- dynptrs: src/runtime/dynptr.c ---- */
/* The kernel's enum bpf_dynptr_type: the verifier tracks it, the runtime
 * keeps it in the 16-byte struct bpf_dynptr as the kernel does. */
enum bpfx_dynptr_type {
	BPFX_DYNPTR_INVALID = 0,
	BPFX_DYNPTR_LOCAL,
	BPFX_DYNPTR_RINGBUF,
	BPFX_DYNPTR_SKB,
	BPFX_DYNPTR_XDP,
	BPFX_DYNPTR_SKB_META,
};
#define BPFX_DYNPTR_MAX_SIZE ((1u << 24) - 1)
BPFX_HIDDEN u64 bpf_dynptr_from_mem(struct bpfx_run *run, u64 data, u64 size,
				    u64 flags, u64 ptr, u64 r5);
BPFX_HIDDEN u64 bpf_ringbuf_reserve_dynptr(struct bpfx_run *run, u64 map,
					   u64 size, u64 flags, u64 ptr,
					   u64 r5);
BPFX_HIDDEN u64 bpf_ringbuf_submit_dynptr(struct bpfx_run *run, u64 ptr,
					  u64 flags, u64 r3, u64 r4, u64 r5);
BPFX_HIDDEN u64 bpf_ringbuf_discard_dynptr(struct bpfx_run *run, u64 ptr,
					   u64 flags, u64 r3, u64 r4, u64 r5);
BPFX_HIDDEN u64 bpf_dynptr_read(struct bpfx_run *run, u64 dst, u64 len,
				u64 src, u64 offset, u64 flags);
BPFX_HIDDEN u64 bpf_dynptr_write(struct bpfx_run *run, u64 dst, u64 offset,
				 u64 src, u64 len, u64 flags);
BPFX_HIDDEN u64 bpf_dynptr_data(struct bpfx_run *run, u64 ptr, u64 offset,
				u64 len, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_from_skb(struct bpfx_run *run, u64 skb,
				      u64 flags, u64 ptr, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_from_skb_meta(struct bpfx_run *run, u64 skb,
					   u64 flags, u64 ptr, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_from_xdp(struct bpfx_run *run, u64 xdp,
				      u64 flags, u64 ptr, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_slice(struct bpfx_run *run, u64 ptr, u64 offset,
				   u64 buffer, u64 size, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_slice_rdwr(struct bpfx_run *run, u64 ptr,
					u64 offset, u64 buffer, u64 size,
					u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_adjust(struct bpfx_run *run, u64 ptr, u64 start,
				    u64 end, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_is_null(struct bpfx_run *run, u64 ptr, u64 r2,
				     u64 r3, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_is_rdonly(struct bpfx_run *run, u64 ptr, u64 r2,
				       u64 r3, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_size(struct bpfx_run *run, u64 ptr, u64 r2,
				  u64 r3, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_clone(struct bpfx_run *run, u64 ptr, u64 clone,
				   u64 r3, u64 r4, u64 r5);
BPFX_HIDDEN u64 kfunc_dynptr_copy(struct bpfx_run *run, u64 dst, u64 dst_off,
				  u64 src, u64 src_off, u64 size);
BPFX_HIDDEN u64 kfunc_dynptr_memset(struct bpfx_run *run, u64 ptr,
				    u64 offset, u64 size, u64 val, u64 r5);
/* Takes SAMPLE off the run's ring buffer reservations; false if this run
 * did not reserve it (helpers.c). */
BPFX_HIDDEN bool run_release_sample(struct bpfx_run *run, void *sample);

/* Releases what a program left held when its run ended (a spin lock, ring
 * buffer reservations); the verifier rejects such programs, and the
 * runtime never hangs on them. */
BPFX_HIDDEN void helper_run_end(struct bpfx_run *run);

/* The state every run of a program starts with (each repeat of a
 * test_run), and what ends it: what a run may leave behind (a lock, ring
 * buffer reservations, objects) is tested inline, as most leave nothing. */
static inline void run_reset(struct bpfx_run *run)
{
	run->err = 0;
	run->errmsg[0] = 0;
	run->tail_call_cnt = 0;
	run->rcu_nest = 0;
	run->preempt_nest = 0;
	run->irq_nest = 0;
	run->cached = (struct run_region){ 0 };
}

static inline void run_settle(struct bpfx_run *run)
{
	if (run->held_lock || run->reserved_cnt)
		helper_run_end(run);
	if (run->object_cnt || run->dead_objects)
		objects_run_end(run);
}
/* ---- timers: src/runtime/timer.c ----
 * bpf_timer as the kernel's: a struct bpf_timer field in array, hash and
 * lru_hash values; callbacks run on a timer thread of the process, each
 * as its own run on the engine of the program that set it. */
struct bpfx_timer;
/* Finds the struct bpf_timer of MAP's value BTF (map_create). */
BPFX_HIDDEN void map_fields_init(struct bpfx_map *map);
/* The element's timer, taken out of the map: no program can reach it
 * any more. Cheap and callable under the map's locks; pair with
 * timer_release() once they are dropped. NULL when there is none. */
BPFX_HIDDEN struct bpfx_timer *timer_detach(struct bpfx_map *map,
					    const void *value);
/* Cancels a detached timer, waits for its running callback (unless it is
 * the caller) and frees it. */
BPFX_HIDDEN void timer_release(struct bpfx_timer *t);
/* A value was written whole (an update): its timer field reads as zeros
 * and its timer, if any, is freed. No map lock may be held. */
BPFX_HIDDEN void timer_value_reset(struct bpfx_map *map, void *value);
static inline void timer_field_clear(struct bpfx_map *map, void *value)
{
	if (map->has_timer)
		__builtin_memset((u8 *)value + map->timer_off, 0, 16);
}
/* Frees every timer of MAP (map_destroy). */
BPFX_HIDDEN void timers_map_free(struct bpfx_map *map);
/* Before an object's programs and maps go: no new timers in its maps,
 * and every timer of its maps or programs cancelled and freed. */
BPFX_HIDDEN void timers_object_close(struct bpfx_object *obj);
BPFX_HIDDEN u64 helper_timer_init(struct bpfx_run *run, u64 timer, u64 map,
				  u64 flags, u64 r4, u64 r5);
BPFX_HIDDEN u64 helper_timer_set_callback(struct bpfx_run *run, u64 timer,
					  u64 func, u64 r3, u64 r4, u64 r5);
BPFX_HIDDEN u64 helper_timer_start(struct bpfx_run *run, u64 timer,
				   u64 nsecs, u64 flags, u64 r4, u64 r5);
BPFX_HIDDEN u64 helper_timer_cancel(struct bpfx_run *run, u64 timer, u64 r2,
				    u64 r3, u64 r4, u64 r5);
/* The key of hash map element VALUE_IDX, where the element keeps it
 * (map_hash.c): valid while the map lives, another key's once the
 * element is reused. */
BPFX_HIDDEN const void *htab_key_of(struct bpfx_map *map, u32 value_idx);
/* Runs FUNC of PROG (a function address its engine produced) as a run of
 * its own on the engine that produced it, with ARGS, KEY readable as the
 * run's extra region, and CPU as its processor (run.c). */
BPFX_HIDDEN int run_async_callback(struct bpfx_program *prog,
				   enum bpfx_engine engine, int cpu, u64 func,
				   const u64 *args, const void *key,
				   u32 key_size);

/* ---- verifier: src/verifier ---- */
struct verifier_stats {
	u32 insns_processed;
	u32 max_states_per_insn;
	u32 total_states;
	u32 peak_states;
	u64 duration_ns;
};
/* Proves the linked PROG safe by abstract interpretation over its paths,
 * as the kernel's verifier does. Returns 0, or a negative errno with
 * "verifier: insn N: MESSAGE" in err and N in *err_insn. With log_level
 * 1 or 2 the kernel-style log goes to log (NUL-terminated, truncated to
 * log_sz). stats may be NULL. */
BPFX_HIDDEN int verifier_check(struct bpfx_program *prog, unsigned int log_level,
			       char *log, size_t log_sz, char *err,
			       size_t err_sz, size_t *err_insn,
			       struct verifier_stats *stats);

/* ---- prepare: src/prepare/resolve.c ----
 * What each instruction of a linked program means to an engine, worked out
 * once for all engines. */
enum resolved_kind {
	RESOLVED_PLAIN = 0,
	RESOLVED_HELPER,          /* imm: the helper's entry point */
	RESOLVED_HELPER_CALLBACK, /* same, for a helper that calls back into
				   * BPF (bpf_loop, bpf_for_each_map_elem) */
	RESOLVED_KFUNC,           /* imm: the kfunc's entry point */
	RESOLVED_KFUNC_THROW,     /* bpf_throw; imm: its entry point */
	RESOLVED_TAIL_CALL,
	RESOLVED_VALUE,           /* lddw: imm is the 64-bit value */
	RESOLVED_FUNC,            /* lddw of a function: imm is its first insn */
	RESOLVED_SECOND_SLOT,     /* the second half of an lddw: never runs */
};
struct resolved_insn {
	u16 op;  /* enum bpfx_op */
	u8 kind; /* enum resolved_kind */
	u64 imm;
};
#define FUNC_START 0x1  /* func_start[]: a function begins here */
#define FUNC_CALLED 0x2 /* ... and is called or has its address taken */
/* Fills out[insn_cnt] and func_start[insn_cnt] for a program isa_check()
 * accepted; on failure writes "insn N: reason" to err. */
BPFX_HIDDEN int prepare_resolve(const struct bpfx_program *prog,
				struct resolved_insn *out, u8 *func_start,
				char *err, size_t err_sz);

/* ---- engines ---- */
BPFX_HIDDEN int interp_prepare(struct bpfx_program *prog, char *err,
			       size_t err_sz);
BPFX_HIDDEN void interp_free(struct bpfx_program *prog);
/* Runs PROG with r1 = ctx; returns 0 and *ret, or the run's error. */
BPFX_HIDDEN int interp_run(struct bpfx_run *run, u64 r1, u64 r2, u64 *ret);
/* The JIT (src/jit): compiles a program interp_prepare() accepted; on
 * failure returns a negative errno with the reason in err, and the
 * program runs on the interpreter. */
BPFX_HIDDEN int jit_prepare(struct bpfx_program *prog, char *err,
			    size_t err_sz);
BPFX_HIDDEN void jit_free(struct bpfx_program *prog);
BPFX_HIDDEN int jit_run(struct bpfx_run *run, u64 r1, u64 r2, u64 *ret);
/* REPEAT runs of the JIT's code, each as engine_run() does one (run_reset,
 * the run, run_settle), until one fails; *ret is the last r0. */
BPFX_HIDDEN int jit_run_repeat(struct bpfx_run *run, u64 r1, u64 r2,
			       u32 repeat, u64 *ret);
/* Async entries (bpf_timer callbacks): whether FUNC is a function address
 * of PROG in the engine's code, and a run that starts there with ARGS. */
BPFX_HIDDEN bool interp_func_valid(const struct bpfx_program *prog, u64 func);
BPFX_HIDDEN int interp_run_func(struct bpfx_run *run, u64 func,
				const u64 *args, u64 *ret);
BPFX_HIDDEN bool jit_func_valid(const struct bpfx_program *prog, u64 func);
BPFX_HIDDEN int jit_run_func(struct bpfx_run *run, u64 func, const u64 *args,
			     u64 *ret);

#endif

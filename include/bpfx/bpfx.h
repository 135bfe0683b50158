/*
 * bpfx: a userspace eBPF runtime.
 *
 * The public API, in libbpf's style: opaque objects with getters, methods
 * named object__verb, options structs that begin with their size, negative
 * errno returns (NULL plus errno for pointer returns), and no printing:
 * messages go to the log callback set with bpfx_set_log().
 */
#ifndef BPFX_BPFX_H
#define BPFX_BPFX_H

#include <linux/bpf.h> /* struct bpf_insn, the kernel's enums */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef BPFX_API
#define BPFX_API __attribute__((visibility("default")))
#endif

struct bpfx_object;
struct bpfx_program;
struct bpfx_map;

/* Declare and zero an options struct with its size set, like LIBBPF_OPTS. */
#define BPFX_OPTS(type, name, ...)                                             \
	struct type name = { .sz = sizeof(struct type), __VA_ARGS__ }

enum bpfx_log_level {
	BPFX_LOG_WARN,
	BPFX_LOG_INFO,
	BPFX_LOG_DEBUG,
};

/* The library's only output channel. bpf_printk output arrives here too,
 * at BPFX_LOG_INFO, with the "trace: " context prefix. */
typedef void (*bpfx_log_fn)(enum bpfx_log_level level, const char *msg,
			    void *user);
BPFX_API void bpfx_set_log(bpfx_log_fn fn, void *user);

enum bpfx_engine {
	BPFX_ENGINE_DEFAULT = 0,
	BPFX_ENGINE_INTERP,
	/* The host kernel: the object as bpfx linked it is loaded through
	 * bpf() and run with BPF_PROG_TEST_RUN (load and test_run only). */
	BPFX_ENGINE_KERNEL,
	/* The x86-64 JIT (src/jit): native code with the interpreter's
	 * semantics; programs it cannot compile run on the interpreter. */
	BPFX_ENGINE_JIT,
};
BPFX_API const char *bpfx_engine_name(enum bpfx_engine engine);
/* True when BPFX_ENGINE_KERNEL can run here (bpf() allowed, kernel BTF);
 * otherwise false with the reason in WHY. BPFX_NO_KERNEL=1 turns it off. */
BPFX_API bool bpfx_kernel_available(char *why, size_t sz);
/* Returns the engine named NAME, or -EINVAL. */
BPFX_API int bpfx_engine_by_name(const char *name);

struct bpfx_object_open_opts {
	size_t sz;
	/* Name of the object in messages; defaults to the file name. */
	const char *object_name;
	/* Number of CPUs per-CPU maps hold; 0 means the host's count. */
	unsigned int nr_cpus;
};

BPFX_API struct bpfx_object *
bpfx_object__open_file(const char *path,
		       const struct bpfx_object_open_opts *opts);
BPFX_API struct bpfx_object *
bpfx_object__open_mem(const void *buf, size_t size,
		      const struct bpfx_object_open_opts *opts);
/* Links and prepares every program whose autoload is set. Returns 0 when
 * all of them loaded, else the first error; programs that loaded stay
 * usable, and bpfx_program__load_error() tells why the others did not. */
BPFX_API int bpfx_object__load(struct bpfx_object *obj);
/* Frees the object, its programs and maps. Their handles then name
 * nothing (a prog_array slot holding one is empty). Do not close an object
 * while one of its programs runs, or can be reached by a tail call from a
 * program another thread is running. */
BPFX_API void bpfx_object__close(struct bpfx_object *obj);
BPFX_API const char *bpfx_object__name(const struct bpfx_object *obj);
BPFX_API const char *bpfx_object__license(const struct bpfx_object *obj);

BPFX_API struct bpfx_program *
bpfx_object__next_program(const struct bpfx_object *obj,
			  const struct bpfx_program *prev);
BPFX_API struct bpfx_program *
bpfx_object__find_program_by_name(const struct bpfx_object *obj,
				  const char *name);
BPFX_API struct bpfx_map *bpfx_object__next_map(const struct bpfx_object *obj,
						const struct bpfx_map *prev);
BPFX_API struct bpfx_map *
bpfx_object__find_map_by_name(const struct bpfx_object *obj,
			      const char *name);

#define bpfx_object__for_each_program(pos, obj)                                \
	for ((pos) = bpfx_object__next_program((obj), NULL); (pos);           \
	     (pos) = bpfx_object__next_program((obj), (pos)))
#define bpfx_object__for_each_map(pos, obj)                                    \
	for ((pos) = bpfx_object__next_map((obj), NULL); (pos);               \
	     (pos) = bpfx_object__next_map((obj), (pos)))

BPFX_API const char *bpfx_program__name(const struct bpfx_program *prog);
BPFX_API const char *
bpfx_program__section_name(const struct bpfx_program *prog);
/* The kernel's enum bpf_prog_type value, and its name ("sched_cls"). */
BPFX_API int bpfx_program__type(const struct bpfx_program *prog);
BPFX_API const char *bpfx_program__type_name(const struct bpfx_program *prog);
/* Instructions of the program as linked (main body plus subprograms). */
BPFX_API size_t bpfx_program__insn_cnt(const struct bpfx_program *prog);
BPFX_API const struct bpf_insn *
bpfx_program__insns(const struct bpfx_program *prog);
BPFX_API bool bpfx_program__autoload(const struct bpfx_program *prog);
BPFX_API int bpfx_program__set_autoload(struct bpfx_program *prog,
					bool autoload);
/* Loads one program with only the subprograms and maps it uses. */
BPFX_API int bpfx_program__load(struct bpfx_program *prog);
BPFX_API const char *
bpfx_program__load_error(const struct bpfx_program *prog);
/* A handle usable as a prog_array value, like a kernel program fd. */
BPFX_API int bpfx_program__fd(const struct bpfx_program *prog);

struct bpfx_test_run_opts {
	size_t sz;
	const void *data_in;
	void *data_out;
	uint32_t data_size_in;
	uint32_t data_size_out; /* in: room in data_out; out: bytes written */
	const void *ctx_in;
	void *ctx_out;
	uint32_t ctx_size_in;
	uint32_t ctx_size_out; /* in: room in ctx_out; out: bytes written */
	uint32_t retval;       /* out */
	int repeat;
	uint32_t duration; /* out: mean ns per run, as the kernel reports */
	uint32_t flags;
	uint32_t cpu;
	enum bpfx_engine engine;
	uint64_t retval64; /* out: the full 64-bit r0 (the kernel engine
			    * has only the 32 bits test_run reports) */
	/* bpfx engines: the backward jumps, calls and throws all repeats
	 * may take before the run stops with -ELOOP, a net under what the
	 * verifier accepts and cannot bound (the kernel's too); 0: 2^31 */
	uint64_t max_branches;
};
BPFX_API int bpfx_program__test_run(struct bpfx_program *prog,
				    struct bpfx_test_run_opts *opts);

/* Verifies PROG (loading it first if needed) and writes the kernel-style
 * verifier log into log_buf: level 1 the failing instruction with its
 * source line and the message, level 2 also every instruction's register
 * state. Returns 0 when the verifier accepts, else a negative errno. */
struct bpfx_verify_opts {
	size_t sz;
	unsigned int log_level; /* 0, 1 or 2 */
	char *log_buf;
	size_t log_size;
	uint32_t insns_processed;     /* out */
	uint32_t max_states_per_insn; /* out */
	uint32_t total_states;        /* out */
	uint32_t peak_states;         /* out */
	uint64_t duration_ns;         /* out */
	/* BPFX_ENGINE_KERNEL: the host kernel's verifier instead, the
	 * program loaded and closed at once (never run or attached); the
	 * counts and time are the ones its log reports */
	enum bpfx_engine engine;
};
BPFX_API int bpfx_program__verify(struct bpfx_program *prog,
				  struct bpfx_verify_opts *opts);

BPFX_API const char *bpfx_map__name(const struct bpfx_map *map);
BPFX_API int bpfx_map__type(const struct bpfx_map *map);
BPFX_API const char *bpfx_map__type_name(const struct bpfx_map *map);
BPFX_API uint32_t bpfx_map__key_size(const struct bpfx_map *map);
BPFX_API uint32_t bpfx_map__value_size(const struct bpfx_map *map);
BPFX_API uint32_t bpfx_map__max_entries(const struct bpfx_map *map);
BPFX_API int bpfx_map__fd(const struct bpfx_map *map);
/* Per-CPU maps hold value_size rounded up to 8, times nr_cpus. */
BPFX_API unsigned int bpfx_map__nr_cpus(const struct bpfx_map *map);
/* Element access with the kernel's semantics; value_sz must be the map's
 * value size (per-CPU maps: the size of all CPUs' values). */
BPFX_API int bpfx_map__lookup_elem(const struct bpfx_map *map,
				   const void *key, size_t key_sz, void *value,
				   size_t value_sz, uint64_t flags);
BPFX_API int bpfx_map__update_elem(const struct bpfx_map *map,
				   const void *key, size_t key_sz,
				   const void *value, size_t value_sz,
				   uint64_t flags);
BPFX_API int bpfx_map__delete_elem(const struct bpfx_map *map,
				   const void *key, size_t key_sz,
				   uint64_t flags);
/* cur_key NULL gives the first key; -ENOENT after the last. */
BPFX_API int bpfx_map__get_next_key(const struct bpfx_map *map,
				    const void *cur_key, void *next_key,
				    size_t key_sz);
/* Consumes the records a ring buffer map holds, calling fn for each;
 * returns the number consumed or fn's negative return. */
typedef int (*bpfx_ringbuf_sample_fn)(void *user, void *data, size_t size);
BPFX_API int bpfx_map__ringbuf_consume(struct bpfx_map *map,
				       bpfx_ringbuf_sample_fn fn, void *user);

/* bpf_timer: a program's timers (a struct bpf_timer in an array, hash or
 * lru_hash value; bpf_timer_init, _set_callback, _start, _cancel) fire on
 * a timer thread of the process, each callback a run of its own on the
 * engine that set it, with the kernel's arguments (map, key, value).
 * Deleting or updating an element, or closing the object, cancels its
 * timers and waits for a callback in progress.
 *
 * bpfx_object__wait_timers() waits until no timer of OBJ's maps is armed
 * and none of their callbacks runs, or timeout_ms passes (0: only look;
 * < 0: no limit); OBJ NULL waits for every timer of the process. Returns
 * 0, -ETIMEDOUT (a timer that re-arms itself keeps it busy), -EDEADLK
 * from inside a callback, or the first error a callback run of OBJ hit
 * since the previous call (its message logged as a warning). */
BPFX_API int bpfx_object__wait_timers(struct bpfx_object *obj, int timeout_ms);

/* Runs raw instructions (8 bytes each) with r1 = mem, r2 = mem_len, as the
 * BPF conformance suite does. Returns 0 and sets *r0, or a negative errno
 * with the reason logged. */
struct bpfx_raw_run_opts {
	size_t sz;
	enum bpfx_engine engine;
	void *mem;
	size_t mem_len;
	uint64_t max_branches; /* as in bpfx_test_run_opts */
	int repeat;        /* runs, each on the memory the last one left */
	uint32_t duration; /* out: mean ns per run (thread CPU time) */
};
BPFX_API int bpfx_run_raw(const void *insns, size_t insn_cnt,
			  struct bpfx_raw_run_opts *opts, uint64_t *r0);
/* The same with a loaded program (its maps and global data resolved): r1 =
 * opts->mem, r2 = opts->mem_len, whatever the program's type. */
BPFX_API int bpfx_program__run_raw(struct bpfx_program *prog,
				   struct bpfx_raw_run_opts *opts,
				   uint64_t *r0);

#ifdef __cplusplus
}
#endif
#endif

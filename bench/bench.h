/*
 * The benchmark's two halves: the cases (a BPF program, its input and the
 * result a host C version of it computes) and the engines that run them
 * (bpfx's interpreter and JIT; DPDK's interpreter and, for reference, its
 * JIT; the host kernel's JIT through BPF_PROG_TEST_RUN).
 * bench.c runs every case on every engine that can load it, checks the
 * results agree, and times them in interleaved rounds.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "progs/inputs.h"

struct bench_case {
	const char *name;    /* program name, and object NAME.bpf.o */
	const char *summary; /* one line for the table's footnotes */
	size_t input_size;
	void (*fill)(void *input);
	/* What the program returns on INPUT, computed in C on the host. */
	uint64_t (*expected)(const void *input);
	bool no_dpdk;     /* DPDK cannot run it (maps, helpers) */
	bool stateful;    /* result changes between runs (map contents) */
	bool overhead;    /* a baseline, not in the geometric mean */
};

extern const struct bench_case bench_cases[];
extern const size_t bench_case_cnt;

struct engine {
	const char *name;
	/* Runs the tc form of each program (NAME.tc.bpf.o, the input as the
	 * packet) rather than the default form (NAME.bpf.o, r1 the input). */
	bool tc_form;
	/* Loads program NAME from the object at PATH, to run on inputs of
	 * INPUT_SIZE bytes; NULL and a reason in err if it cannot. */
	void *(*load)(const char *path, const char *name, size_t input_size,
		      char *err, size_t err_sz);
	/* Runs the program REPEAT times on INPUT; 0 and the last r0 (and,
	 * if reports_duration, the engine's own mean ns per run), or a
	 * negative errno. */
	int (*run)(void *prog, void *input, size_t input_size, uint32_t repeat,
		   uint64_t *r0, double *ns_per_run);
	/* Instructions of the loaded program, 0 if unknown. */
	size_t (*insn_cnt)(void *prog);
	void (*unload)(void *prog);
	/* Timed only for reference: not in the DPDK/bpfx ratio. */
	bool reference_only;
	/* The figure is the one run() reports (the kernel's own duration),
	 * not the wall time around run(). */
	bool reports_duration;
	/* Bits of r0 the engine reports, if fewer than 64. */
	unsigned int retval_bits;
};

extern const struct engine engine_bpfx;
extern const struct engine engine_bpfx_jit;
extern const struct engine engine_bpfx_tc;
extern const struct engine engine_bpfx_jit_tc;
extern const struct engine engine_kernel;
extern const struct engine engine_dpdk;
extern const struct engine engine_dpdk_jit;
/* A line on the DPDK build and how it was set up (no EAL). */
const char *dpdk_describe(void);
/* Instructions of program NAME in the object at PATH as opened (before
 * linking), whether or not it loads; 0 if it cannot be opened. */
size_t bpfx_object_insn_cnt(const char *path, const char *name);
/* True if libbpfx has a "jit" engine; otherwise false and why. */
bool bpfx_jit_available(char *why, size_t sz);

/* Whether R0 from engine E is the expected WANT. */
static inline bool result_matches(const struct engine *e, uint64_t r0,
				  uint64_t want)
{
	if (e->retval_bits && e->retval_bits < 64)
		return ((r0 ^ want) & ((1ull << e->retval_bits) - 1)) == 0;
	return r0 == want;
}

#define MAX_ROUNDS 101

/* Runs one batch of REPEAT runs: ns per run (the engine's own figure if
 * it reports one, else wall time over REPEAT), or negative on error. */
double bench_time_batch(const struct engine *e, void *prog, void *input,
			size_t size, uint32_t repeat, uint64_t *r0);
/* The median of V[0..N), which it sorts. */
double bench_median(double *v, int n);

/* The throw benchmark (throw.c): the cost of bpf_throw at depths 0 to 7
 * on bpfx's engines and the kernel; non-zero on a wrong result. */
int throw_bench(const char *objdir, int rounds, double batch_ms,
		bool verbose, const char *only_engine);
/* The JIT's compile time per 1,000 instructions (compile.c). */
int compile_bench(const char *objdir, int rounds, const char *only_case);

#endif

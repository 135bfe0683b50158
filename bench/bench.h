/*
 * The benchmark's two halves: the cases (a BPF program, its input and the
 * result a host C version of it computes) and the engines that run them
 * (bpfx's interpreter; DPDK's interpreter and, for reference, its JIT).
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
	bool bpfx_only;   /* DPDK cannot run it (maps, helpers) */
	bool stateful;    /* result changes between runs (map contents) */
	bool overhead;    /* a baseline, not in the geometric mean */
};

extern const struct bench_case bench_cases[];
extern const size_t bench_case_cnt;

struct engine {
	const char *name;
	/* Loads program NAME from the object at PATH, to run on inputs of
	 * INPUT_SIZE bytes; NULL and a reason in err if it cannot. */
	void *(*load)(const char *path, const char *name, size_t input_size,
		      char *err, size_t err_sz);
	/* Runs the program REPEAT times on INPUT; 0 and the last r0, or a
	 * negative errno. */
	int (*run)(void *prog, void *input, size_t input_size, uint32_t repeat,
		   uint64_t *r0);
	/* Instructions of the loaded program, 0 if unknown. */
	size_t (*insn_cnt)(void *prog);
	void (*unload)(void *prog);
	/* Timed only for reference: not in the DPDK/bpfx ratio. */
	bool reference_only;
};

extern const struct engine engine_bpfx;
extern const struct engine engine_dpdk;
extern const struct engine engine_dpdk_jit;
/* A line on the DPDK build and how it was set up (no EAL). */
const char *dpdk_describe(void);

#endif

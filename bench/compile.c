/*
 * The JIT's compile time per 1,000 BPF instructions (issue 5).
 *
 * Each benchmark program (its tc form, which every engine runs) is loaded
 * once through the public API: linking, verification, pre-decoding and a
 * first compile. Then the JIT alone compiles the loaded program again and
 * again: jit_prepare() is the library's internal entry, not in the public
 * header, so it is declared here and reached through the static library
 * the bench links (it replaces the program's code each time, and nothing
 * runs meanwhile). The figure per program is the median of ROUNDS batches,
 * each of enough compiles to take about a millisecond; the total line is
 * the sum of the medians over the sum of the instructions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpfx/bpfx.h>

#include "bench.h"

/* src/jit/jit.c; hidden from the shared library, linked statically here */
int jit_prepare(struct bpfx_program *prog, char *err, size_t err_sz);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds per compile of PROG, the median of ROUNDS batches; negative
 * if the JIT refuses it. */
static double time_compile(struct bpfx_program *prog, int rounds)
{
	char err[256];
	double samples[MAX_ROUNDS];
	int batch = 1;
	double t0 = now_s();
	if (jit_prepare(prog, err, sizeof(err)))
		return -1;
	double once = now_s() - t0;
	if (once < 1e-3)
		batch = (int)(1e-3 / (once > 1e-7 ? once : 1e-7)) + 1;
	for (int r = 0; r < rounds; r++) {
		t0 = now_s();
		for (int k = 0; k < batch; k++)
			if (jit_prepare(prog, err, sizeof(err)))
				return -1;
		samples[r] = (now_s() - t0) / batch;
	}
	return bench_median(samples, rounds);
}

int compile_bench(const char *objdir, int rounds, const char *only_case)
{
	char path[4096];
	double total_s = 0;
	size_t total_insns = 0;

	printf("JIT compile time: the tc form of each program, loaded once, then compiled again by\n"
	       "the JIT alone (resolving, sizing passes, code memory, flip to read+execute);\n"
	       "median of %d batches\n",
	       rounds);
	printf("%-9s %6s %14s %16s\n", "program", "insns", "us/compile",
	       "us/1000 insns");
	for (size_t i = 0; i < bench_case_cnt; i++) {
		const struct bench_case *c = &bench_cases[i];
		if (only_case && strcmp(only_case, c->name))
			continue;
		snprintf(path, sizeof(path), "%s/%s.tc.bpf.o", objdir, c->name);
		struct bpfx_object *obj = bpfx_object__open_file(path, NULL);
		struct bpfx_program *prog =
			obj ? bpfx_object__find_program_by_name(obj, c->name)
			    : NULL;
		if (!prog || bpfx_program__load(prog)) {
			printf("%-9s %6s %14s %16s  (does not load on bpfx)\n",
			       c->name, "-", "-", "-");
			bpfx_object__close(obj);
			continue;
		}
		size_t insns = bpfx_program__insn_cnt(prog);
		double s = time_compile(prog, rounds);
		if (s < 0) {
			printf("%-9s %6zu %14s %16s  (the JIT refuses it)\n",
			       c->name, insns, "-", "-");
		} else {
			printf("%-9s %6zu %14.1f %16.1f\n", c->name, insns,
			       s * 1e6, s * 1e9 / (double)insns);
			if (!c->overhead) {
				total_s += s;
				total_insns += insns;
			}
		}
		bpfx_object__close(obj);
	}
	if (total_insns)
		printf("all (baselines left out): %zu insns, %.1f us per 1000 insns\n",
		       total_insns, total_s * 1e9 / (double)total_insns);
	return 0;
}

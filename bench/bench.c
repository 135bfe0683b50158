/*
 * make bench: bpfx's interpreter against DPDK's on the programs in progs/,
 * measured in the same run.
 *
 * For each case: load the object on every engine, run once on the same
 * input and check each engine returns what the host C version computes
 * (a mismatch is printed loudly and fails the run). Then pick a run count
 * that takes about --batch-ms on bpfx, and time ROUNDS batches of that
 * many runs per engine, the engines interleaved round by round so drift
 * hits them alike; the figure is the median batch over its run count.
 * bpfx repeats inside bpfx_program__test_run(); DPDK in a plain loop of
 * rte_bpf_exec(). The ratio is DPDK's ns/run over bpfx's: above 1, bpfx
 * is faster. The geometric mean is over the cases both interpreters run.
 *
 *   bench [-r rounds] [-b batch_ms] [-c case] [-e engine] [-v] OBJDIR
 *
 * -c and -e restrict the run to one case / one engine, e.g. to profile
 * bpfx alone: perf record -e cpu-clock bench -c checksum -e bpfx DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_ROUNDS 101

enum { ENGINE_BPFX, ENGINE_DPDK, ENGINE_DPDK_JIT, ENGINE_CNT };

static const struct engine *const engines[ENGINE_CNT] = {
	[ENGINE_BPFX] = &engine_bpfx,
	[ENGINE_DPDK] = &engine_dpdk,
	[ENGINE_DPDK_JIT] = &engine_dpdk_jit,
};

struct case_result {
	void *prog[ENGINE_CNT];
	char why[ENGINE_CNT][256]; /* why an engine did not run the case */
	double ns_per_run[ENGINE_CNT];
	size_t insns;
	uint32_t repeat;
	uint64_t r0;
	bool mismatch;
};

static int rounds = 9;
static double batch_ms = 20;
static bool verbose;
static const char *only_case;
static const char *only_engine;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs one batch; the ns it took, or a negative value on error. */
static double time_batch(const struct engine *e, void *prog, void *input,
			 size_t size, uint32_t repeat, uint64_t *r0)
{
	uint64_t start = now_ns();
	int err = e->run(prog, input, size, repeat, r0);
	uint64_t end = now_ns();
	return err ? -1 : (double)(end - start);
}

static void report_mismatch(const struct bench_case *c, const char *engine,
			    const char *when, uint64_t got, uint64_t want)
{
	fprintf(stderr,
		"\n!!!!!!!! MISMATCH: %s on %s (%s): returned 0x%llx, expected 0x%llx\n\n",
		c->name, engine, when, (unsigned long long)got,
		(unsigned long long)want);
}

static void run_case(const struct bench_case *c, const char *objdir,
		     struct case_result *res)
{
	char path[4096];
	void *input = calloc(1, c->input_size);
	uint64_t want, r0;

	snprintf(path, sizeof(path), "%s/%s.bpf.o", objdir, c->name);
	c->fill(input);
	want = c->expected(input);
	res->r0 = want;

	for (int e = 0; e < ENGINE_CNT; e++) {
		if (only_engine && strcasecmp(only_engine, engines[e]->name) &&
		    e != ENGINE_BPFX) {
			snprintf(res->why[e], sizeof(res->why[e]),
				 "left out (-e %s)", only_engine);
			continue;
		}
		if (c->bpfx_only && e != ENGINE_BPFX) {
			snprintf(res->why[e], sizeof(res->why[e]),
				 "no maps in DPDK's BPF");
			continue;
		}
		res->prog[e] = engines[e]->load(path, c->name, c->input_size,
						res->why[e],
						sizeof(res->why[e]));
		if (!res->prog[e]) {
			fprintf(stderr, "bench: %s: %s: %s\n", c->name,
				engines[e]->name, res->why[e]);
			continue;
		}
		if (e == ENGINE_BPFX)
			res->insns = engines[e]->insn_cnt(res->prog[e]);
		/* Same input, one run, before any timing. */
		int err = engines[e]->run(res->prog[e], input, c->input_size,
					  1, &r0);
		if (err) {
			snprintf(res->why[e], sizeof(res->why[e]),
				 "run failed: %s", strerror(-err));
			fprintf(stderr, "bench: %s: %s: %s\n", c->name,
				engines[e]->name, res->why[e]);
			engines[e]->unload(res->prog[e]);
			res->prog[e] = NULL;
			continue;
		}
		if (r0 != want) {
			report_mismatch(c, engines[e]->name, "first run", r0,
					want);
			res->mismatch = true;
		}
	}
	if (!res->prog[ENGINE_BPFX]) {
		free(input);
		return;
	}

	/* A run count for ~batch_ms on bpfx, the same for every engine. */
	uint32_t repeat = 1;
	for (;;) {
		double ns = time_batch(engines[ENGINE_BPFX],
				       res->prog[ENGINE_BPFX], input,
				       c->input_size, repeat, &r0);
		if (ns < 0)
			break;
		if (ns >= batch_ms * 1e6 / 8 || repeat >= (1u << 30)) {
			double scaled = repeat * (batch_ms * 1e6 / ns);
			repeat = scaled < 1 ? 1 : scaled > 1e9 ? 1000000000u
							       : (uint32_t)scaled;
			break;
		}
		repeat *= 2;
	}
	res->repeat = repeat;

	double samples[ENGINE_CNT][MAX_ROUNDS];
	int taken[ENGINE_CNT] = { 0 };
	for (int round = 0; round < rounds; round++) {
		for (int e = 0; e < ENGINE_CNT; e++) {
			if (!res->prog[e] ||
			    (only_engine &&
			     strcasecmp(only_engine, engines[e]->name)))
				continue;
			double ns = time_batch(engines[e], res->prog[e], input,
					       c->input_size, repeat, &r0);
			if (ns < 0) {
				fprintf(stderr, "bench: %s: %s: run failed\n",
					c->name, engines[e]->name);
				continue;
			}
			if (!c->stateful && r0 != want) {
				report_mismatch(c, engines[e]->name,
						"timed run", r0, want);
				res->mismatch = true;
			}
			samples[e][taken[e]++] = ns / repeat;
		}
	}
	for (int e = 0; e < ENGINE_CNT; e++) {
		if (verbose && taken[e]) {
			fprintf(stderr, "%-9s %-9s", c->name, engines[e]->name);
			for (int i = 0; i < taken[e]; i++)
				fprintf(stderr, " %.1f", samples[e][i]);
			fprintf(stderr, "\n");
		}
		res->ns_per_run[e] = taken[e] ? median(samples[e], taken[e]) : 0;
		if (res->prog[e])
			engines[e]->unload(res->prog[e]);
	}
	free(input);
}

static void print_cpu(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *colon = strchr(line, ':');
			printf("cpu:    %s", colon ? colon + 2 : line);
			break;
		}
	}
	if (f)
		fclose(f);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench [-r rounds] [-b batch_ms] [-c case] [-e engine] [-v] OBJDIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "r:b:c:e:v")) != -1) {
		switch (opt) {
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS)
				usage();
			break;
		case 'b':
			batch_ms = atof(optarg);
			if (batch_ms <= 0)
				usage();
			break;
		case 'c':
			only_case = optarg;
			break;
		case 'e':
			only_engine = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	const char *objdir = argv[optind];

	printf("bpfx interpreter vs DPDK's interpreter (rte_bpf_exec), same inputs, same run counts\n");
	print_cpu();
	printf("DPDK:   %s\n", dpdk_describe());
	printf("bpfx:   bpfx_program__test_run(repeat), ctx_in = the input\n");
	printf("timing: median of %d interleaved batches of ~%.0f ms each\n\n",
	       rounds, batch_ms);

	struct case_result *results = calloc(bench_case_cnt, sizeof(*results));
	bool failed = false;
	for (size_t i = 0; i < bench_case_cnt; i++) {
		if (only_case && strcmp(only_case, bench_cases[i].name))
			continue;
		run_case(&bench_cases[i], objdir, &results[i]);
		if (results[i].mismatch || !results[i].prog[ENGINE_BPFX])
			failed = true;
	}

	printf("%-9s %6s %10s %12s %12s %10s %14s  %s\n", "program", "insns",
	       "runs/batch", "bpfx ns/run", "DPDK ns/run", "DPDK/bpfx",
	       "DPDK JIT ns/run", "result");
	double log_sum = 0;
	int log_cnt = 0;
	for (size_t i = 0; i < bench_case_cnt; i++) {
		const struct bench_case *c = &bench_cases[i];
		const struct case_result *r = &results[i];
		if (only_case && strcmp(only_case, c->name))
			continue;
		double bpfx = r->ns_per_run[ENGINE_BPFX];
		double dpdk = r->ns_per_run[ENGINE_DPDK];
		double jit = r->ns_per_run[ENGINE_DPDK_JIT];
		char bpfx_s[32] = "-", dpdk_s[32] = "-", jit_s[32] = "-",
		     ratio_s[32] = "-";

		if (bpfx > 0)
			snprintf(bpfx_s, sizeof(bpfx_s), "%.1f", bpfx);
		if (dpdk > 0)
			snprintf(dpdk_s, sizeof(dpdk_s), "%.1f", dpdk);
		if (jit > 0)
			snprintf(jit_s, sizeof(jit_s), "%.1f", jit);
		if (bpfx > 0 && dpdk > 0) {
			snprintf(ratio_s, sizeof(ratio_s), "%.2fx",
				 dpdk / bpfx);
			if (!c->overhead) {
				log_sum += log(dpdk / bpfx);
				log_cnt++;
			}
		}
		printf("%-9s %6zu %10u %12s %12s %10s %14s  %s%s\n", c->name,
		       r->insns, r->repeat, bpfx_s, dpdk_s, ratio_s, jit_s,
		       r->mismatch ? "MISMATCH" : "ok",
		       c->bpfx_only ? " (bpfx only: DPDK's BPF has no maps)"
		       : c->overhead ? " (baseline, not in the geomean)"
				     : "");
	}
	if (log_cnt) {
		double geomean = exp(log_sum / log_cnt);
		printf("\ngeometric mean of DPDK/bpfx over %d programs: %.2fx "
		       "(above 1: bpfx faster; target >= 2.00x: %s)\n",
		       log_cnt, geomean, geomean >= 2 ? "met" : "NOT met");
	}
	printf("\n");
	for (size_t i = 0; i < bench_case_cnt; i++) {
		const struct bench_case *c = &bench_cases[i];
		if (only_case && strcmp(only_case, c->name))
			continue;
		printf("  %-9s %s\n", c->name, c->summary);
		for (int e = 0; e < ENGINE_CNT; e++)
			if (results[i].why[e][0] && !c->bpfx_only)
				printf("  %-9s   not on %s: %s\n", "",
				       engines[e]->name, results[i].why[e]);
	}
	if (failed)
		fprintf(stderr, "\nbench: FAILED (a mismatch, or bpfx could not run a program)\n");
	free(results);
	return failed ? 1 : 0;
}

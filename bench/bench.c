/*
 * make bench: bpfx's interpreter and JIT against DPDK's interpreter and
 * the host kernel's JIT on the programs in progs/, measured in the same
 * run, then the cost of bpf_throw by call depth (throw.c).
 *
 * Each program is built in two forms from one source (progs/common.h):
 * the default form, r1 the input, which DPDK and bpfx run (bpfx only if
 * its verifier accepts it: not parse's, which needs a variable offset from
 * the ctx; bpfx then runs the tc form, and the table says so); and a tc
 * form, the input as the packet, which the kernel's test_run accepts with
 * repeat (no kernel type takes a plain buffer) and which bpfx runs too, so the
 * kernel and bpfx are compared on the same instructions.
 *
 * For each case: load the object on every engine, run once on the same
 * input and check each engine returns what the host C version computes
 * (the kernel: test_run's 32-bit retval; a mismatch is printed loudly and
 * fails the run). Then pick a run count that takes about --batch-ms on
 * bpfx, and time ROUNDS batches of that many runs per engine, the engines
 * interleaved round by round so drift hits them alike; the figure is the
 * median batch over its run count. bpfx repeats inside
 * bpfx_program__test_run(); DPDK in a plain loop of rte_bpf_exec(); the
 * kernel inside BPF_PROG_TEST_RUN, and its figure is the duration the
 * kernel reports (each batch also loads the program into the kernel,
 * which that figure leaves out). The tables give DPDK's ns/run over
 * bpfx's, and the kernel's over every engine's: above 1, the engine in
 * the denominator is faster. Geometric means are over the cases both
 * sides run, baselines left out. Without the kernel (no root, bpf()
 * refused, no BTF) one line says so and the rest runs.
 *
 *   bench [-r rounds] [-b batch_ms] [-c case|throw] [-e engine] [-v] OBJDIR
 *
 * -c and -e restrict the run to one case (or the throw table alone) / one
 * engine or a comma-separated list, e.g. to profile bpfx alone:
 *   perf record -e cpu-clock bench -c checksum -e bpfx DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpfx/bpfx.h>

#include "bench.h"

enum {
	ENGINE_BPFX,
	ENGINE_BPFX_JIT,
	ENGINE_DPDK,
	ENGINE_DPDK_JIT,
	ENGINE_BPFX_TC,
	ENGINE_BPFX_JIT_TC,
	ENGINE_KERNEL,
	ENGINE_CNT
};

static const struct engine *const engines[ENGINE_CNT] = {
	[ENGINE_BPFX] = &engine_bpfx,
	[ENGINE_BPFX_JIT] = &engine_bpfx_jit,
	[ENGINE_DPDK] = &engine_dpdk,
	[ENGINE_DPDK_JIT] = &engine_dpdk_jit,
	[ENGINE_BPFX_TC] = &engine_bpfx_tc,
	[ENGINE_BPFX_JIT_TC] = &engine_bpfx_jit_tc,
	[ENGINE_KERNEL] = &engine_kernel,
};

struct case_result {
	void *prog[ENGINE_CNT];
	char why[ENGINE_CNT][600]; /* why an engine did not run the case */
	double ns_per_run[ENGINE_CNT];
	size_t insns, tc_insns;
	uint32_t repeat;
	uint64_t r0;
	/* The bpfx figure against DPDK: the default form's, or the tc
	 * form's when bpfx refuses the default form (its verifier, like the
	 * kernel's, may reject what a program does with its context). */
	int bpfx_base;
	bool ran; /* bpfx ran the case */
	bool mismatch;
};

static int rounds = 9;
static double batch_ms = 20;
static bool verbose;
static const char *only_case;
static const char *only_engine;
/* Why the JIT or the kernel is missing altogether, "" if present. */
static char jit_missing[160], kernel_missing[160];

static bool is_dpdk(int e)
{
	return e == ENGINE_DPDK || e == ENGINE_DPDK_JIT;
}

static bool is_jit(int e)
{
	return e == ENGINE_BPFX_JIT || e == ENGINE_BPFX_JIT_TC;
}

/* Whether -e leaves engine E out: -e names one engine or several,
 * separated by commas (bpfx's interpreter always runs: the run counts are
 * sized on it). */
static bool left_out(int e)
{
	const char *name = engines[e]->name, *p = only_engine;
	size_t len = strlen(name);

	if (!only_engine || e == ENGINE_BPFX)
		return false;
	for (; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncasecmp(p, name, len) && (p[len] == ',' || !p[len]))
			return false;
	return true;
}

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

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs one batch; ns per run (the engine's own figure if it reports one,
 * else the wall time over REPEAT), or a negative value on error. */
double bench_time_batch(const struct engine *e, void *prog, void *input,
			size_t size, uint32_t repeat, uint64_t *r0)
{
	double reported = 0;
	uint64_t start = now_ns();
	int err = e->run(prog, input, size, repeat, r0, &reported);
	uint64_t end = now_ns();
	if (err)
		return -1;
	return e->reports_duration ? reported
				   : (double)(end - start) / repeat;
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

	c->fill(input);
	want = c->expected(input);
	res->r0 = want;

	for (int e = 0; e < ENGINE_CNT; e++) {
		const char *missing = is_jit(e)		? jit_missing
				      : e == ENGINE_KERNEL ? kernel_missing
							   : "";
		if (missing[0])
			continue; /* said once in the header */
		if (left_out(e)) {
			snprintf(res->why[e], sizeof(res->why[e]),
				 "left out (-e %s)", only_engine);
			continue;
		}
		if (c->no_dpdk && is_dpdk(e)) {
			snprintf(res->why[e], sizeof(res->why[e]),
				 "no maps in DPDK's BPF");
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.%s.o", objdir, c->name,
			 engines[e]->tc_form ? "tc.bpf" : "bpf");
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
		if (e == ENGINE_BPFX_TC)
			res->tc_insns = engines[e]->insn_cnt(res->prog[e]);
		/* Same input, one run, before any timing. */
		double ignored;
		int err = engines[e]->run(res->prog[e], input, c->input_size,
					  1, &r0, &ignored);
		if (err) {
			snprintf(res->why[e], sizeof(res->why[e]),
				 "run failed: %s", strerror(-err));
			fprintf(stderr, "bench: %s: %s: %s\n", c->name,
				engines[e]->name, res->why[e]);
			engines[e]->unload(res->prog[e]);
			res->prog[e] = NULL;
			continue;
		}
		if (!result_matches(engines[e], r0, want)) {
			report_mismatch(c, engines[e]->name, "first run", r0,
					want);
			res->mismatch = true;
		}
	}
	res->bpfx_base = res->prog[ENGINE_BPFX] ? ENGINE_BPFX : ENGINE_BPFX_TC;
	if (!res->insns) {
		/* the default form as DPDK runs it, though bpfx refused it */
		snprintf(path, sizeof(path), "%s/%s.bpf.o", objdir, c->name);
		res->insns = bpfx_object_insn_cnt(path, c->name);
	}
	res->ran = res->prog[res->bpfx_base] != NULL;
	if (!res->ran) {
		for (int e = 0; e < ENGINE_CNT; e++)
			if (res->prog[e])
				engines[e]->unload(res->prog[e]);
		free(input);
		return;
	}

	/* A run count for ~batch_ms on bpfx, the same for every engine. */
	uint32_t repeat = 1;
	for (;;) {
		double per_run = bench_time_batch(engines[res->bpfx_base],
						  res->prog[res->bpfx_base], input,
						  c->input_size, repeat, &r0);
		if (per_run < 0)
			break;
		double ns = per_run * repeat;
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
			if (!res->prog[e])
				continue;
			double per_run = bench_time_batch(
				engines[e], res->prog[e], input, c->input_size,
				repeat, &r0);
			if (per_run < 0) {
				fprintf(stderr, "bench: %s: %s: run failed\n",
					c->name, engines[e]->name);
				continue;
			}
			if (!c->stateful &&
			    !result_matches(engines[e], r0, want)) {
				report_mismatch(c, engines[e]->name,
						"timed run", r0, want);
				res->mismatch = true;
			}
			samples[e][taken[e]++] = per_run;
		}
	}
	for (int e = 0; e < ENGINE_CNT; e++) {
		if (verbose && taken[e]) {
			fprintf(stderr, "%-9s %-12s", c->name, engines[e]->name);
			for (int i = 0; i < taken[e]; i++)
				fprintf(stderr, " %.1f", samples[e][i]);
			fprintf(stderr, "\n");
		}
		res->ns_per_run[e] =
			taken[e] ? bench_median(samples[e], taken[e]) : 0;
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
		"usage: bench [-r rounds] [-b batch_ms] [-c case|throw] [-e engine] [-v] OBJDIR\n");
	exit(2);
}

/* "%.1f" of NS, or "-" when there is no figure. */
static const char *fmt_ns(char *buf, size_t sz, double ns)
{
	if (ns > 0)
		snprintf(buf, sz, "%.1f", ns);
	else
		snprintf(buf, sz, "-");
	return buf;
}

/* A ratio column: NUM/DEN as "1.23x", accumulated for a geometric mean
 * unless the case is a baseline. */
struct ratio_col {
	double log_sum;
	int cnt;
};

static const char *fmt_ratio(char *buf, size_t sz, double num, double den,
			     struct ratio_col *col, bool in_mean)
{
	if (num > 0 && den > 0) {
		snprintf(buf, sz, "%.2fx", num / den);
		if (in_mean) {
			col->log_sum += log(num / den);
			col->cnt++;
		}
	} else {
		snprintf(buf, sz, "-");
	}
	return buf;
}

static double geomean(const struct ratio_col *col)
{
	return col->cnt ? exp(col->log_sum / col->cnt) : 0;
}

static bool case_selected(const struct bench_case *c)
{
	return !only_case || !strcmp(only_case, c->name);
}

static void print_dpdk_table(const struct case_result *results)
{
	struct ratio_col dpdk_bpfx = { 0 };
	bool tc_base = false;
	char b[6][32];

	printf("bpfx vs DPDK, the default form of each program (r1 = the input)\n");
	printf("%-9s %8s %10s %12s %12s %10s %16s %16s  %s\n", "program",
	       "insns", "runs/batch", "bpfx ns/run", "DPDK ns/run",
	       "DPDK/bpfx", "bpfx JIT ns/run", "DPDK JIT ns/run", "result");
	for (size_t i = 0; i < bench_case_cnt; i++) {
		const struct bench_case *c = &bench_cases[i];
		const struct case_result *r = &results[i];
		const double *ns = r->ns_per_run;
		if (!case_selected(c))
			continue;
		double bpfx = ns[r->bpfx_base];
		if (r->ran && r->bpfx_base == ENGINE_BPFX_TC) {
			tc_base = true;
			snprintf(b[0], 32, "*%.1f", bpfx);
			snprintf(b[5], 32, "*%zu/%zu", r->tc_insns, r->insns);
		} else {
			fmt_ns(b[0], 32, bpfx);
			snprintf(b[5], 32, "%zu", r->insns);
		}
		printf("%-9s %8s %10u %12s %12s %10s %16s %16s  %s%s\n",
		       c->name, b[5],
		       r->repeat, b[0], fmt_ns(b[1], 32, ns[ENGINE_DPDK]),
		       fmt_ratio(b[2], 32, ns[ENGINE_DPDK], bpfx, &dpdk_bpfx,
				 !c->overhead),
		       fmt_ns(b[3], 32, ns[ENGINE_BPFX_JIT]),
		       fmt_ns(b[4], 32, ns[ENGINE_DPDK_JIT]),
		       r->mismatch ? "MISMATCH" : "ok",
		       c->no_dpdk    ? " (bpfx only: DPDK's BPF has no maps)"
		       : c->overhead ? " (baseline, not in the geomean)"
				     : "");
	}
	if (tc_base)
		printf("* bpfx's verifier, like the kernel's, refuses this default form (a variable\n"
		       "  offset from the ctx, see below): bpfx runs the tc form (the input as the\n"
		       "  packet, insns before the /), DPDK the default form (insns after the /).\n"
		       "  Both run the same body with the same bounds checks (progs/common.h);\n"
		       "  bpfx's figure also holds the tc form's set-up of an __sk_buff per run and\n"
		       "  its loads of data and data_end from it.\n");
	if (dpdk_bpfx.cnt) {
		double g = geomean(&dpdk_bpfx);
		printf("\ngeometric mean of DPDK/bpfx over %d programs: %.2fx "
		       "(above 1: bpfx faster; target >= 2.00x: %s)\n",
		       dpdk_bpfx.cnt, g, g >= 2 ? "met" : "NOT met");
	}
}

/* Every figure as a ratio to the kernel's, kernel ns/run over the
 * engine's: above 1, the engine is faster than the kernel's JIT. */
static void print_kernel_table(const struct case_result *results)
{
	enum { R_BPFX, R_JIT, R_DPDK, R_DPDK_JIT, R_CNT };
	static const char *const ratio_name[R_CNT] = {
		"bpfx", "bpfx JIT", "DPDK", "DPDK JIT"
	};
	struct ratio_col cols[R_CNT] = { { 0 } };
	char b[8][32];

	printf("\nthe kernel's JIT, same run: the tc form of each program (the input as the packet)\n"
	       "on the kernel (BPF_PROG_TEST_RUN, its own duration) and on bpfx; kernel/X is the\n"
	       "kernel's ns/run over X's (above 1: X is faster than the kernel). DPDK runs the\n"
	       "default form: the same body and bounds checks, r1 the input instead of an skb.\n");
	printf("%-9s %6s %10s %12s %12s %14s %16s %12s %16s  %s\n", "program",
	       "insns", "kernel ns", "bpfx ns/run", "kernel/bpfx",
	       "bpfx JIT ns", "kernel/bpfx JIT", "kernel/DPDK",
	       "kernel/DPDK JIT", "result");
	for (size_t i = 0; i < bench_case_cnt; i++) {
		const struct bench_case *c = &bench_cases[i];
		const struct case_result *r = &results[i];
		const double *ns = r->ns_per_run;
		double k = ns[ENGINE_KERNEL];
		bool in_mean = !c->overhead;
		if (!case_selected(c))
			continue;
		printf("%-9s %6zu %10s %12s %12s %14s %16s %12s %16s  %s%s\n",
		       c->name, r->tc_insns, fmt_ns(b[0], 32, k),
		       fmt_ns(b[1], 32, ns[ENGINE_BPFX_TC]),
		       fmt_ratio(b[2], 32, k, ns[ENGINE_BPFX_TC],
				 &cols[R_BPFX], in_mean),
		       fmt_ns(b[3], 32, ns[ENGINE_BPFX_JIT_TC]),
		       fmt_ratio(b[4], 32, k, ns[ENGINE_BPFX_JIT_TC],
				 &cols[R_JIT], in_mean),
		       fmt_ratio(b[5], 32, k, ns[ENGINE_DPDK], &cols[R_DPDK],
				 in_mean),
		       fmt_ratio(b[6], 32, k, ns[ENGINE_DPDK_JIT],
				 &cols[R_DPDK_JIT], in_mean),
		       r->mismatch ? "MISMATCH" : "ok",
		       c->overhead ? " (baseline, not in the geomean)" : "");
	}
	printf("\ngeometric means of kernel/X:");
	for (int i = 0; i < R_CNT; i++) {
		if (cols[i].cnt)
			printf("  %s %.2fx (%d programs)", ratio_name[i],
			       geomean(&cols[i]), cols[i].cnt);
		else
			printf("  %s -", ratio_name[i]);
	}
	printf("\n");
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
	bool throw_only = only_case && !strcmp(only_case, "throw");
	struct utsname uts;

	if (bpfx_jit_available(jit_missing, sizeof(jit_missing)))
		jit_missing[0] = '\0';
	else if (!jit_missing[0])
		snprintf(jit_missing, sizeof(jit_missing), "not available");
	if (bpfx_kernel_available(kernel_missing, sizeof(kernel_missing)))
		kernel_missing[0] = '\0';
	else if (!kernel_missing[0])
		snprintf(kernel_missing, sizeof(kernel_missing),
			 "not available");
	if (uname(&uts))
		snprintf(uts.release, sizeof(uts.release), "?");

	printf("bpfx vs DPDK's interpreter (rte_bpf_exec) and the kernel's JIT, same inputs, same run\n");
	print_cpu();
	printf("DPDK:   %s\n", dpdk_describe());
	printf("bpfx:   default form: bpfx_program__run_raw(repeat), r1 = the input; tc form: bpfx_program__test_run(repeat), data_in\n");
	if (jit_missing[0])
		printf("bpfx JIT: %s; its columns are empty\n", jit_missing);
	if (kernel_missing[0])
		printf("kernel: not available (%s): no kernel figures in this run\n",
		       kernel_missing);
	else
		printf("kernel: Linux %s, tc form loaded through bpf() and run with BPF_PROG_TEST_RUN(repeat);\n"
		       "        its own duration (whole ns per run); results checked on test_run's 32-bit retval\n",
		       uts.release);
	printf("timing: median of %d interleaved batches of ~%.0f ms each (run counts sized on bpfx)\n\n",
	       rounds, batch_ms);

	struct case_result *results = calloc(bench_case_cnt, sizeof(*results));
	bool failed = false;
	for (size_t i = 0; i < bench_case_cnt && !throw_only; i++) {
		if (!case_selected(&bench_cases[i]))
			continue;
		run_case(&bench_cases[i], objdir, &results[i]);
		if (results[i].mismatch || !results[i].ran)
			failed = true;
	}

	if (!throw_only) {
		print_dpdk_table(results);
		if (!kernel_missing[0])
			print_kernel_table(results);
		printf("\n");
		for (size_t i = 0; i < bench_case_cnt; i++) {
			const struct bench_case *c = &bench_cases[i];
			if (!case_selected(c))
				continue;
			printf("  %-9s %s\n", c->name, c->summary);
			for (int e = 0; e < ENGINE_CNT; e++)
				if (results[i].why[e][0] &&
				    !(c->no_dpdk && is_dpdk(e)))
					printf("  %-9s   not on %s: %s\n", "",
					       engines[e]->name,
					       results[i].why[e]);
		}
	}
	if (!throw_only && !jit_missing[0]) {
		printf("\n");
		compile_bench(objdir, rounds, only_case);
	}
	if (!only_case || throw_only) {
		printf("\n");
		if (throw_bench(objdir, rounds, batch_ms, verbose, only_engine))
			failed = true;
	}
	if (failed)
		fprintf(stderr, "\nbench: FAILED (a mismatch, or bpfx could not run a program)\n");
	free(results);
	return failed ? 1 : 0;
}

/*
 * The cost of bpf_throw at depths 0 to 7 (throw/throw.bpf.c), on each of
 * bpfx's engines (the interpreter; the JIT when libbpfx has one) and on
 * the host kernel (BPF_PROG_TEST_RUN with a large repeat, the kernel's
 * own duration), in the same run.
 *
 * For every depth the program is timed twice: stopping with a throw, and
 * returning normally through the same frames. The throw's cost is the
 * difference of the two medians. Each engine's batch is sized on its own
 * speed (about batch_ms / 4: the kernel's throw is 10 to 100 times slower
 * than bpfx's), and the batches go round robin over depths, both paths and
 * the engines, 2 x ROUNDS times (the batches are short), so drift hits
 * all cells alike; the cost is the median of the rounds' differences,
 * each from two batches run back to back. Then the slope
 * of cost against depth, least squares over 0..7, in ns per frame: the
 * kernel walks the native stack frame by frame to unwind; bpfx's throw
 * should cost the same at every depth.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bpfx/bpfx.h>

#include "bench.h"

#define THROW_DEPTHS 8
#define THROW_PROG "throw_depth"
#define THROW_COOKIE 100
#define RETURN_BASE 200
/* What "does not grow with depth" tolerates: timing noise, far below the
 * kernel's hundreds of ns per frame. */
#define FLAT_SLOPE_NS 5.0

enum { T_INTERP, T_JIT, T_KERNEL, T_ENGINES };

static const struct engine *const throw_engines[T_ENGINES] = {
	[T_INTERP] = &engine_bpfx_tc,
	[T_JIT] = &engine_bpfx_jit_tc,
	[T_KERNEL] = &engine_kernel,
};
static const char *const throw_engine_names[T_ENGINES] = {
	[T_INTERP] = "interp",
	[T_JIT] = "JIT",
	[T_KERNEL] = "kernel",
};

/* One depth, one path (0 returns, 1 throws), one engine. */
struct throw_cell {
	uint32_t repeat;
	int taken;
	double samples[2 * MAX_ROUNDS]; /* in round order until the median */
	double ns; /* median ns/run */
};

static void make_packet(uint8_t pkt[16], int depth, int throw)
{
	static const uint8_t arp_start[14] = { 0x00, 0x11, 0x22, 0x33, 0x44,
					       0x55, 0x66, 0x77, 0x88, 0x99,
					       0x00, 0xaa, 0x08, 0x06 };
	memcpy(pkt, arp_start, sizeof(arp_start));
	pkt[14] = (uint8_t)depth;
	pkt[15] = (uint8_t)throw;
}

static uint64_t expected(int depth, int throw)
{
	return throw ? THROW_COOKIE + depth : RETURN_BASE + depth;
}

/* Least squares slope of Y against 0..N-1. */
static double slope(const double *y, int n)
{
	double mean_x = (n - 1) / 2.0, mean_y = 0, num = 0, den = 0;
	for (int i = 0; i < n; i++)
		mean_y += y[i] / n;
	for (int i = 0; i < n; i++) {
		num += (i - mean_x) * (y[i] - mean_y);
		den += (i - mean_x) * (i - mean_x);
	}
	return num / den;
}

/* The median of the per-round differences throw - return: the two
 * batches of a round run back to back, so load from elsewhere on the
 * machine hits both alike. Sorts nothing it has not copied. */
static double paired_cost(const struct throw_cell *ret,
			  const struct throw_cell *thrown)
{
	double diff[2 * MAX_ROUNDS];
	int n = ret->taken < thrown->taken ? ret->taken : thrown->taken;
	for (int i = 0; i < n; i++)
		diff[i] = thrown->samples[i] - ret->samples[i];
	return n ? bench_median(diff, n) : 0;
}

static bool check(const struct engine *e, int depth, int throw, uint64_t r0)
{
	uint64_t want = expected(depth, throw);
	if (result_matches(e, r0, want))
		return true;
	fprintf(stderr,
		"\n!!!!!!!! MISMATCH: %s on %s, depth %d, %s: returned 0x%llx, expected 0x%llx\n\n",
		THROW_PROG, e->name, depth, throw ? "throwing" : "returning",
		(unsigned long long)r0, (unsigned long long)want);
	return false;
}

int throw_bench(const char *objdir, int rounds, double batch_ms, bool verbose,
		const char *only_engine)
{
	static struct throw_cell cells[T_ENGINES][THROW_DEPTHS][2];
	void *prog[T_ENGINES] = { NULL };
	char why[T_ENGINES][600] = { { 0 } };
	char path[4096];
	uint8_t pkt[16];
	uint64_t r0;
	bool failed = false;
	double cell_ms = batch_ms / 4;

	snprintf(path, sizeof(path), "%s/throw.bpf.o", objdir);
	for (int t = 0; t < T_ENGINES; t++) {
		const struct engine *e = throw_engines[t];
		if (only_engine && t != T_INTERP &&
		    strcasecmp(only_engine, e->name)) {
			snprintf(why[t], sizeof(why[t]), "left out (-e %s)",
				 only_engine);
			continue;
		}
		if (t == T_JIT && !bpfx_jit_available(why[t], sizeof(why[t])))
			continue;
		prog[t] = e->load(path, THROW_PROG, sizeof(pkt), why[t],
				  sizeof(why[t]));
		if (!prog[t])
			continue;
		/* Check every cell once, and size its batch. */
		for (int d = 0; d < THROW_DEPTHS && prog[t]; d++) {
			for (int throw = 0; throw < 2; throw++) {
				make_packet(pkt, d, throw);
				double ns = bench_time_batch(e, prog[t], pkt,
							     sizeof(pkt), 1000,
							     &r0);
				if (ns < 0) {
					snprintf(why[t], sizeof(why[t]),
						 "run failed");
				} else if (!check(e, d, throw, r0)) {
					snprintf(why[t], sizeof(why[t]),
						 "wrong result");
					failed = true;
				} else {
					double n = cell_ms * 1e6 /
						   (ns > 0.5 ? ns : 0.5);
					cells[t][d][throw].repeat =
						n < 1000  ? 1000
						: n > 1e9 ? 1000000000u
							  : (uint32_t)n;
					continue;
				}
				e->unload(prog[t]);
				prog[t] = NULL;
				break;
			}
		}
	}
	if (!prog[T_INTERP]) {
		fprintf(stderr, "bench: %s: bpfx: %s\n", THROW_PROG,
			why[T_INTERP]);
		return 1;
	}

	for (int round = 0; round < 2 * rounds; round++)
		for (int d = 0; d < THROW_DEPTHS; d++)
			for (int throw = 0; throw < 2; throw++)
				for (int t = 0; t < T_ENGINES; t++) {
					struct throw_cell *cell =
						&cells[t][d][throw];
					if (!prog[t])
						continue;
					make_packet(pkt, d, throw);
					double ns = bench_time_batch(
						throw_engines[t], prog[t], pkt,
						sizeof(pkt), cell->repeat, &r0);
					if (ns < 0 ||
					    !check(throw_engines[t], d, throw,
						   r0)) {
						failed = true;
						continue;
					}
					cell->samples[cell->taken++] = ns;
				}

	double cost[T_ENGINES][THROW_DEPTHS];
	for (int t = 0; t < T_ENGINES; t++) {
		if (!prog[t])
			continue;
		for (int d = 0; d < THROW_DEPTHS; d++) {
			for (int throw = 0; throw < 2; throw++) {
				struct throw_cell *cell = &cells[t][d][throw];
				if (verbose) {
					fprintf(stderr, "throw %-7s d%d %s",
						throw_engine_names[t], d,
						throw ? "throw " : "return");
					for (int i = 0; i < cell->taken; i++)
						fprintf(stderr, " %.1f",
							cell->samples[i]);
					fprintf(stderr, "\n");
				}
			}
			cost[t][d] = paired_cost(&cells[t][d][0],
						 &cells[t][d][1]);
			for (int throw = 0; throw < 2; throw++) {
				struct throw_cell *cell = &cells[t][d][throw];
				cell->ns = cell->taken
						   ? bench_median(cell->samples,
								  cell->taken)
						   : 0;
			}
		}
		throw_engines[t]->unload(prog[t]);
	}

	printf("bpf_throw by call depth: a tc program (throw/throw.bpf.c) that stops at depth D,\n"
	       "0 = in the main program, k = in the k-th nested __noinline static subprogram,\n"
	       "by bpf_throw (default callback) or by returning normally through the same frames.\n"
	       "ns/run of each (return, throw; medians of %d batches) and the throw's own cost\n"
	       "(cost: the median of the rounds' throw - return, i.e. the unwind less the k\n"
	       "returns it skips). bpfx: wall time over repeat; kernel: test_run's duration\n"
	       "(whole ns). kernel/X: the kernel's throw ns/run over X's.\n",
	       2 * rounds);
	printf("%5s", "depth");
	for (int t = 0; t < T_ENGINES; t++)
		if (prog[t])
			printf(" | %-6s %7s %7s %7s", throw_engine_names[t],
			       "return", "throw", "cost");
	if (prog[T_KERNEL])
		for (int t = 0; t < T_KERNEL; t++)
			if (prog[t])
				printf(" | kernel/%-6s", throw_engine_names[t]);
	printf("\n");
	for (int d = 0; d < THROW_DEPTHS; d++) {
		printf("%5d", d);
		for (int t = 0; t < T_ENGINES; t++)
			if (prog[t])
				printf(" | %-6s %7.1f %7.1f %7.1f", "",
				       cells[t][d][0].ns, cells[t][d][1].ns,
				       cost[t][d]);
		if (prog[T_KERNEL])
			for (int t = 0; t < T_KERNEL; t++)
				if (prog[t])
					printf(" | %12.1fx",
					       cells[T_KERNEL][d][1].ns /
						       cells[t][d][1].ns);
		printf("\n");
	}
	printf("\nslopes against depth, ns per frame (least squares over 0..%d):\n",
	       THROW_DEPTHS - 1);
	printf("  %-7s %8s %8s %8s\n", "", "return", "throw", "cost");
	for (int t = 0; t < T_ENGINES; t++) {
		double y[2][THROW_DEPTHS];
		if (!prog[t]) {
			printf("  %-7s -  (%s)\n", throw_engine_names[t],
			       why[t][0] ? why[t] : "not run");
			continue;
		}
		for (int throw = 0; throw < 2; throw++)
			for (int d = 0; d < THROW_DEPTHS; d++)
				y[throw][d] = cells[t][d][throw].ns;
		double cost_slope = slope(cost[t], THROW_DEPTHS);
		printf("  %-7s %+8.1f %+8.1f %+8.1f", throw_engine_names[t],
		       slope(y[0], THROW_DEPTHS), slope(y[1], THROW_DEPTHS),
		       cost_slope);
		if (t != T_KERNEL)
			printf("   target: flat with depth (cost slope < %.0f ns per frame): %s",
			       FLAT_SLOPE_NS, cost_slope < FLAT_SLOPE_NS
						      ? "met"
						      : "NOT met");
		printf("\n");
	}
	return failed ? 1 : 0;
}

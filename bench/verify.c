/*
 * Verification time next to the kernel's: every program of the objects
 * named on the command line goes through bpfx's verifier (no log, median
 * of a few runs) and, where bpf() is allowed, through the host kernel's
 * (loaded with BPF_LOG_STATS only and closed at once: its own
 * "verification time" and "processed N insns"). One line per program:
 * verdicts, processed instructions, states and times, and the time as a
 * ratio to the kernel's.
 *
 *   verify_bench [-r ROUNDS] OBJ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfx/bpfx.h"

static void quiet(enum bpfx_log_level level, const char *msg, void *user)
{
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int verify(struct bpfx_program *prog, enum bpfx_engine engine,
		  int rounds, struct bpfx_verify_opts *out)
{
	uint64_t t[16];
	int err = 0;

	for (int i = 0; i < rounds; i++) {
		BPFX_OPTS(bpfx_verify_opts, opts, .engine = engine);
		err = bpfx_program__verify(prog, &opts);
		t[i] = opts.duration_ns;
		*out = opts;
	}
	qsort(t, rounds, sizeof(t[0]), cmp_u64);
	out->duration_ns = t[rounds / 2];
	return err;
}

int main(int argc, char **argv)
{
	int rounds = 5, c;
	char why[160];
	bool kernel;

	while ((c = getopt(argc, argv, "r:")) != -1) {
		if (c == 'r')
			rounds = atoi(optarg);
		else
			goto usage;
	}
	if (optind >= argc || rounds < 1 || rounds > 16)
		goto usage;
	bpfx_set_log(quiet, NULL);
	kernel = bpfx_kernel_available(why, sizeof(why));
	printf("\nverification: bpfx next to the kernel (median of %d; kernel "
	       "figures from its BPF_LOG_STATS log)\n", rounds);
	if (!kernel)
		printf("  (no kernel column: %s)\n", why);
	printf("  %-28s %-9s %9s %7s %10s   %-9s %9s %7s %10s %7s\n", "program",
	       "bpfx", "insns", "states", "time(us)", "kernel", "insns",
	       "states", "time(us)", "ratio");
	for (int i = optind; i < argc; i++) {
		struct bpfx_object *obj = bpfx_object__open_file(argv[i], NULL);
		struct bpfx_program *prog;
		const char *base = strrchr(argv[i], '/');

		if (!obj) {
			fprintf(stderr, "verify_bench: %s: cannot open\n", argv[i]);
			continue;
		}
		base = base ? base + 1 : argv[i];
		bpfx_object__for_each_program(prog, obj) {
			struct bpfx_verify_opts b = { 0 }, k = { 0 };
			char name[96];
			int berr, kerr = 0;

			/* "maps.tc.bpf.o" -> "maps.tc" */
			size_t len = strlen(base);
			if (len > 6 && !strcmp(base + len - 6, ".bpf.o"))
				len -= 6;
			snprintf(name, sizeof(name), "%.*s:%s", (int)len, base,
				 bpfx_program__name(prog));
			berr = verify(prog, BPFX_ENGINE_DEFAULT, rounds, &b);
			printf("  %-28s %-9s %9u %7u %10.1f", name,
			       berr ? "rejected" : "accepted", b.insns_processed,
			       b.total_states, b.duration_ns / 1e3);
			if (kernel) {
				kerr = verify(prog, BPFX_ENGINE_KERNEL,
					      rounds > 3 ? 3 : rounds, &k);
				printf("   %-9s %9u %7u %10.1f %7.2f",
				       kerr ? "rejected" : "accepted",
				       k.insns_processed, k.total_states,
				       k.duration_ns / 1e3,
				       k.duration_ns ? (double)b.duration_ns /
							       k.duration_ns
						     : 0.0);
			}
			printf("%s\n", kernel && !berr != !kerr ? "  VERDICTS DIFFER"
								 : "");
		}
		bpfx_object__close(obj);
	}
	return 0;
usage:
	fprintf(stderr, "usage: verify_bench [-r ROUNDS] OBJ...\n");
	return 2;
}

/*
 * Run options: max_branches stops a run that takes more backward jumps
 * than it allows (-ELOOP), on every bpfx engine, and leaves alone a run
 * that stays under it.
 */
#include <errno.h>

#include "bpfx/bpfx.h"
#include "test.h"

static void quiet(enum bpfx_log_level level, const char *msg, void *user)
{
}

/* r0 = 0; do r0 += 1; while (r0 < 100000); exit */
static const struct bpf_insn count_loop[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
	{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 0, .imm = 1 },
	{ .code = BPF_JMP | BPF_JLT | BPF_K, .dst_reg = 0, .off = -2,
	  .imm = 100000 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static void test_max_branches(void)
{
	static const enum bpfx_engine engines[] = { BPFX_ENGINE_INTERP,
						    BPFX_ENGINE_JIT };

	bpfx_set_log(quiet, NULL);
	for (int i = 0; i < 2; i++) {
		BPFX_OPTS(bpfx_raw_run_opts, opts, .engine = engines[i]);
		uint64_t r0 = 0;

		CHECK_EQ(bpfx_run_raw(count_loop, 4, &opts, &r0), 0);
		CHECK_EQ(r0, 100000);
		opts.max_branches = 100000; /* the loop takes 99999 */
		CHECK_EQ(bpfx_run_raw(count_loop, 4, &opts, &r0), 0);
		CHECK_EQ(r0, 100000);
		opts.max_branches = 1000;
		CHECK_EQ(bpfx_run_raw(count_loop, 4, &opts, &r0), -ELOOP);
	}
	bpfx_set_log(NULL, NULL);
}

TEST_MAIN(TEST(test_max_branches))

/*
 * Run options: max_branches stops a run that takes more backward jumps
 * than it allows (-ELOOP), on every bpfx engine, and leaves alone a run
 * that stays under it; repeat runs a raw program again on the memory the
 * last run left.
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

/* r0 = ++*(u8 *)r1 */
static const struct bpf_insn bump_byte[] = {
	{ .code = BPF_LDX | BPF_MEM | BPF_B, .dst_reg = 0, .src_reg = 1 },
	{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 0, .imm = 1 },
	{ .code = BPF_STX | BPF_MEM | BPF_B, .dst_reg = 1, .src_reg = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static void test_repeat_raw(void)
{
	static const enum bpfx_engine engines[] = { BPFX_ENGINE_INTERP,
						    BPFX_ENGINE_JIT };

	for (int i = 0; i < 2; i++) {
		uint8_t mem[8] = { 40 };
		BPFX_OPTS(bpfx_raw_run_opts, opts, .engine = engines[i],
			  .mem = mem, .mem_len = sizeof(mem), .repeat = 3);
		uint64_t r0 = 0;

		CHECK_EQ(bpfx_run_raw(bump_byte, 4, &opts, &r0), 0);
		CHECK_EQ(r0, 43);
		CHECK_EQ(mem[0], 43);
	}
}

TEST_MAIN(TEST(test_max_branches), TEST(test_repeat_raw))

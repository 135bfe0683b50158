/*
 * The JIT leaves out the checks of the loads and stores the verifier
 * proved (struct mem_proof). These tests run such programs where the
 * proof's assumptions do not hold, through bpfx_program__run_raw (r1 =
 * any buffer): the context shorter than the proven loads need, and a
 * "context" whose data fields point nowhere the run owns. The JIT must
 * notice at entry and give the interpreter's result: the same return
 * value, or the same fault, never a host crash.
 */
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "jit/jit.h"
#include "test.h"

static struct bpfx_object *obj;

static void quiet(enum bpfx_log_level level, const char *msg, void *user)
{
}

static struct bpfx_program *open_prog(const char *name)
{
	if (!obj) {
		const char *clang = getenv("CLANG_BPF") ? getenv("CLANG_BPF")
							: "clang-19";
		char path[] = "/tmp/bpfx-jit-proofs-XXXXXX", cmd[1024];
		int fd = mkstemp(path);
		if (fd < 0)
			return NULL;
		close(fd);
		snprintf(cmd, sizeof(cmd),
			 "%s -O2 -g -target bpf -mcpu=v4 -I" BPF_SYS_INCLUDE " "
			 "-c tests/unit/bpf/jit_proofs.bpf.c -o %s",
			 clang, path);
		if (!system(cmd))
			obj = bpfx_object__open_file(path, NULL);
		unlink(path);
		if (!obj || bpfx_object__load(obj))
			return NULL;
	}
	return bpfx_object__find_program_by_name(obj, name);
}

static int run_raw(struct bpfx_program *prog, enum bpfx_engine engine,
		   void *mem, size_t len, u64 *r0)
{
	BPFX_OPTS(bpfx_raw_run_opts, opts, .engine = engine, .mem = mem,
		  .mem_len = len);
	*r0 = 0xdead;
	return bpfx_program__run_raw(prog, &opts, r0);
}

/* Context loads at offsets 0..16 are compiled unchecked; run on 8 bytes,
 * the JIT runs the interpreter: the untaken path is fine, the taken one
 * faults on both engines. */
static void test_ctx_shorter_than_proven(void)
{
	struct bpfx_program *prog = open_prog("ctx_read");
	CHECK(prog != NULL);
	if (!prog)
		return;
	const struct jit_prog *jp = prog->jit;
	CHECK(jp != NULL);
	if (!jp)
		return;
	CHECK(jp->unchecked >= 2);
	CHECK_EQ(jp->ctx_end, 16);

	u64 full[2] = { 7, 100 }, r0;
	CHECK_EQ(run_raw(prog, BPFX_ENGINE_JIT, full, sizeof(full), &r0), 0);
	CHECK_EQ(r0, 50);

	u32 short_ctx[2] = { 3, 0 };
	CHECK_EQ(run_raw(prog, BPFX_ENGINE_JIT, short_ctx, 8, &r0), 0);
	CHECK_EQ(r0, 3);

	u32 taken[2] = { 7, 0 };
	int interp = run_raw(prog, BPFX_ENGINE_INTERP, taken, 8, &r0);
	CHECK_EQ(interp, -EFAULT);
	CHECK_EQ(run_raw(prog, BPFX_ENGINE_JIT, taken, 8, &r0), interp);
}

/* Packet loads are proven against the data fields of the context test_run
 * prepares; in a raw run those fields are whatever the buffer holds (here
 * addresses of nothing), so the JIT must not trust them. */
static void test_packet_without_prepared_ctx(void)
{
	struct bpfx_program *prog = open_prog("pkt_read");
	CHECK(prog != NULL);
	if (!prog)
		return;
	const struct jit_prog *jp = prog->jit;
	CHECK(jp != NULL);
	if (!jp)
		return;
	CHECK(jp->pkt);
	CHECK(jp->unchecked >= 1);

	struct __sk_buff skb;
	memset(&skb, 0, sizeof(skb));
	skb.data = 0x1000;     /* nothing the run owns */
	skb.data_end = 0x2000;
	u64 r0;
	int interp = run_raw(prog, BPFX_ENGINE_INTERP, &skb, sizeof(skb), &r0);
	CHECK_EQ(interp, -EFAULT);
	CHECK_EQ(run_raw(prog, BPFX_ENGINE_JIT, &skb, sizeof(skb), &r0), interp);

	/* through test_run, the prepared context: the unchecked code runs */
	u8 pkt[64] = { 0x11, 0x22, 0x33, 0x44 };
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = pkt,
		  .data_size_in = sizeof(pkt), .engine = BPFX_ENGINE_JIT,
		  .repeat = 3);
	CHECK_EQ(bpfx_program__test_run(prog, &opts), 0);
	CHECK_EQ(opts.retval, 0x44332211);
}

static void cleanup(void)
{
	bpfx_object__close(obj);
	obj = NULL;
}

static void setup(void)
{
	bpfx_set_log(quiet, NULL);
}

TEST_MAIN(TEST(setup), TEST(test_ctx_shorter_than_proven),
	  TEST(test_packet_without_prepared_ctx), TEST(cleanup))

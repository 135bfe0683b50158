/*
 * Unit tests of the runtime's helpers, kfuncs and test_run contexts,
 * driven directly: a struct bpfx_run is built by hand (the thread's BPF
 * stack, no program), arguments are placed on that stack so run_mem()
 * accepts them, and helpers are called through helper_by_id() as the
 * engine calls them.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "test.h"

/* Memory the test runs may read and write besides their stack (a run's
 * "extra" region): probe reads and %s see only what a run may read. */
static u8 test_mem[8192];

static struct bpfx_run make_run(void)
{
	struct bpfx_run run;

	memset(&run, 0, sizeof(run));
	run.stack = run_thread_stack();
	run.cpu = 0;
	run.extra = (struct run_region){ (u64)(uintptr_t)test_mem,
					 (u64)(uintptr_t)test_mem + sizeof(test_mem),
					 true };
	return run;
}

/* Copies LEN bytes to offset OFF of test_mem; returns the address. */
static u64 in_mem(size_t off, const void *p, size_t len)
{
	memcpy(test_mem + off, p, len);
	return (u64)(uintptr_t)(test_mem + off);
}

/* Copies LEN bytes to offset OFF of the run's stack; returns the address. */
static u64 on_stack(struct bpfx_run *run, size_t off, const void *p,
		    size_t len)
{
	memcpy(run->stack + off, p, len);
	return (u64)(uintptr_t)(run->stack + off);
}

static u64 call_helper(struct bpfx_run *run, s32 id, u64 r1, u64 r2, u64 r3,
		       u64 r4, u64 r5)
{
	const struct helper_desc *h = helper_by_id(id);

	if (!h) {
		fprintf(stderr, "no helper %d\n", id);
		test_failed_checks++;
		return 0;
	}
	return h->fn(run, r1, r2, r3, r4, r5);
}

/* ---- bprintf_format ---- */

static char fmt_buf[256];

static int fmt6(const char *fmt, u64 a, u64 b, u64 c, u64 d, u64 e, u64 f)
{
	struct bpfx_run run = make_run();
	u64 args[6] = { a, b, c, d, e, f };

	return bprintf_format(&run, fmt_buf, sizeof(fmt_buf), fmt,
			      strlen(fmt) + 1, args, 6);
}

#define FMT(want, fmt, ...)                                                    \
	do {                                                                   \
		int _n = fmt6(fmt, ##__VA_ARGS__);                            \
		CHECK_EQ(_n, (long long)strlen(want));                         \
		if (strcmp(fmt_buf, want)) {                                   \
			fprintf(stderr, "%s:%d: \"%s\" gave \"%s\", want \"%s\"\n", \
				__FILE__, __LINE__, fmt, fmt_buf, want);       \
			test_failed_checks++;                                  \
		}                                                              \
	} while (0)

static void test_bprintf_conversions(void)
{
	static const u8 ip4_bytes[4] = { 192, 168, 0, 1 };
	static const u8 ip6_bytes[16] = { 0xfe, 0x80, [15] = 1 };
	u64 s = in_mem(0, "hello", 6);
	u64 ip4 = in_mem(16, ip4_bytes, sizeof(ip4_bytes));
	u64 ip6 = in_mem(32, ip6_bytes, sizeof(ip6_bytes));

	FMT("-1 -2 7", "%d %i %u", (u32)-1, (u32)-2, 7, 0, 0, 0);
	FMT("4294967295", "%u", 0xffffffffull, 0, 0, 0, 0, 0);
	FMT("5", "%d", 0x100000005ull, 0, 0, 0, 0, 0); /* int: low 32 bits */
	FMT("ff FF", "%x %X", 255, 255, 0, 0, 0, 0);
	FMT("-5 -6 18446744073709551615 ffffffffff", "%ld %li %lu %lx",
	    (u64)-5, (u64)-6, (u64)-1, 0xffffffffffull, 0, 0);
	FMT("-7 -8 9 abcdef0123", "%lld %lli %llu %llx", (u64)-7, (u64)-8, 9,
	    0xabcdef0123ull, 0, 0);
	FMT("0000000000001234 00000000deadbeef 0000000000000010", "%p %px %pK",
	    0x1234, 0xdeadbeef, 16, 0, 0, 0);
	FMT("0x1000", "%ps", 0x1000, 0, 0, 0, 0, 0);
	FMT("A%", "%c%%", 'A', 0, 0, 0, 0, 0);
	FMT("100%", "%d%%", 100, 0, 0, 0, 0, 0);
	FMT("%d", "%%d", 0, 0, 0, 0, 0, 0);
	FMT("<hello>", "<%s>", s, 0, 0, 0, 0, 0);
	FMT("hello hello", "%pks %pus", s, s, 0, 0, 0, 0);
	FMT("192.168.0.1 192.168.000.001", "%pI4 %pi4", ip4, ip4, 0, 0, 0, 0);
	FMT("fe80:0000:0000:0000:0000:0000:0000:0001", "%pI6", ip6, 0, 0, 0,
	    0, 0);
	FMT("fe800000000000000000000000000001", "%pi6", ip6, 0, 0, 0, 0, 0);
	/* the host's own memory is not the program's to print */
	static const char host_str[] = "secret";
	FMT("[]", "[%s]", (u64)(uintptr_t)host_str, 0, 0, 0, 0, 0);
	/* flags and width */
	FMT("   42|42   |-0042|+5| 5", "%5d|%-5d|%05d|%+d|% d", 42, 42,
	    (u32)-42, 5, 5, 0);
	FMT("     hello|hello     |    A", "%10s|%-10s|%5c", s, s, 'A', 0, 0,
	    0);
	FMT("00ff|        1234", "%04x|%12p", 255, 0x1234, 0, 0, 0, 0);
	/* a bad %s pointer prints nothing, as a failed probe read does */
	FMT("[]", "[%s]", 8, 0, 0, 0, 0, 0);
	FMT("[]", "[%s]", 0, 0, 0, 0, 0, 0);
	/* text after a plain %p is printed */
	FMT("0000000000000001, x", "%p, x", 1, 0, 0, 0, 0, 0);
}

static void test_bprintf_errors(void)
{
	struct bpfx_run run = make_run();
	u64 args[3] = { 1, 2, 3 };
	char out[32];

	CHECK_EQ(fmt6("%q", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%hd", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%.2d", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%*d", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%#x", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%lllx", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%f", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%pa", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%pI5", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("%sx", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("abc %", 1, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("\x01", 0, 0, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(fmt6("caf\xc3\xa9", 0, 0, 0, 0, 0, 0), -EINVAL);
	/* more conversions than arguments */
	CHECK_EQ(bprintf_format(&run, out, sizeof(out), "%d %d %d %d", 12,
				args, 3),
		 -EINVAL);
	/* not NUL-terminated within fmt_size */
	CHECK_EQ(bprintf_format(&run, out, sizeof(out), "abcdef", 3, args, 3),
		 -EINVAL);
	/* fewer conversions than arguments is fine */
	CHECK_EQ(bprintf_format(&run, out, sizeof(out), "%d", 3, args, 3), 1);
	CHECK(!strcmp(out, "1"));
	/* truncation returns the full length */
	CHECK_EQ(bprintf_format(&run, out, 4, "hello", 6, args, 0), 5);
	CHECK(!strcmp(out, "hel"));
	CHECK_EQ(bprintf_format(&run, NULL, 0, "hello", 6, args, 0), 5);
}

static void test_bprintf_bin_space(void)
{
	/* strings share 512 bytes with the other arguments, as the
	 * kernel's bin_args: a long string is cut, and a conversion after
	 * the area is full gets -ENOSPC */
	struct bpfx_run run = make_run();
	char *big = (char *)test_mem;
	char out[1200];
	u64 args[2];

	memset(big, 'x', 999);
	big[999] = 0;
	args[0] = (u64)(uintptr_t)big;
	args[1] = 7;
	CHECK_EQ(bprintf_format(&run, out, sizeof(out), "%s", 3, args, 1),
		 511);
	CHECK_EQ(bprintf_format(&run, out, sizeof(out), "%s%d", 5, args, 2),
		 -ENOSPC);
}

/* ---- the printk helpers ---- */

static char last_log[1100];

static void capture_log(enum bpfx_log_level level, const char *msg,
			void *user)
{
	if (level == BPFX_LOG_INFO)
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void test_trace_printk(void)
{
	struct bpfx_run run = make_run();
	static const char fmt[] = "x=%d y=%s\n";
	static const char y[] = "why";
	u64 f = on_stack(&run, 0, fmt, sizeof(fmt));
	u64 s = on_stack(&run, 64, y, sizeof(y));
	u64 ret;

	bpfx_set_log(capture_log, NULL);
	ret = call_helper(&run, BPF_FUNC_trace_printk, f, sizeof(fmt), 5, s,
			  0);
	CHECK_EQ(ret, strlen("x=5 y=why\n"));
	CHECK(!strcmp(last_log, "trace: x=5 y=why"));
	CHECK_EQ(run.err, 0);

	/* at most 3 arguments */
	static const char four[] = "%d%d%d%d";
	f = on_stack(&run, 0, four, sizeof(four));
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_trace_printk, f, sizeof(four),
				  1, 2, 3),
		 -EINVAL);
	/* fmt_size must contain the NUL */
	f = on_stack(&run, 0, fmt, sizeof(fmt));
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_trace_printk, f,
				  sizeof(fmt) - 1, 5, s, 0),
		 -EINVAL);
	CHECK_EQ(run.err, 0);
	/* fmt outside the run's memory stops the program */
	call_helper(&run, BPF_FUNC_trace_printk, (u64)(uintptr_t)fmt,
		    sizeof(fmt), 5, s, 0);
	CHECK_EQ(run.err, -EFAULT);
	bpfx_set_log(NULL, NULL);
}

static void test_snprintf_vprintk(void)
{
	struct bpfx_run run = make_run();
	static const char fmt[] = "%d-%s";
	static const char word[] = "ab";
	u64 f = on_stack(&run, 0, fmt, sizeof(fmt));
	u64 w = on_stack(&run, 16, word, sizeof(word));
	u64 data[2] = { 42, w };
	u64 d = on_stack(&run, 32, data, sizeof(data));
	u64 out = (u64)(uintptr_t)(run.stack + 128);
	s64 ret;

	ret = (s64)call_helper(&run, BPF_FUNC_snprintf, out, 32, f, d, 16);
	CHECK_EQ(ret, 6); /* "42-ab" and the NUL */
	CHECK(!strcmp((char *)(uintptr_t)out, "42-ab"));
	/* truncated: still the full length */
	ret = (s64)call_helper(&run, BPF_FUNC_snprintf, out, 3, f, d, 16);
	CHECK_EQ(ret, 6);
	CHECK(!strcmp((char *)(uintptr_t)out, "42"));
	ret = (s64)call_helper(&run, BPF_FUNC_snprintf, 0, 0, f, d, 16);
	CHECK_EQ(ret, 6);
	/* data_len a multiple of 8, at most 12 arguments */
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_snprintf, out, 32, f, d, 12),
		 -EINVAL);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_snprintf, out, 32, f, d,
				  13 * 8),
		 -EINVAL);
	CHECK_EQ(run.err, 0);
	/* a fmt that is not in readable memory stops the program */
	call_helper(&run, BPF_FUNC_snprintf, out, 32, (u64)(uintptr_t)fmt, d,
		    16);
	CHECK_EQ(run.err, -EFAULT);

	run = make_run();
	bpfx_set_log(capture_log, NULL);
	f = on_stack(&run, 0, fmt, sizeof(fmt));
	w = on_stack(&run, 16, word, sizeof(word));
	data[1] = w;
	d = on_stack(&run, 32, data, sizeof(data));
	ret = (s64)call_helper(&run, BPF_FUNC_trace_vprintk, f, sizeof(fmt), d,
			       16, 0);
	CHECK_EQ(ret, 5);
	CHECK(!strcmp(last_log, "trace: 42-ab"));
	bpfx_set_log(NULL, NULL);
}

/* ---- csum_diff, strncmp ---- */

static void test_csum_diff(void)
{
	struct bpfx_run run = make_run();
	static const u8 word[4] = { 1, 2, 3, 4 };
	static const u8 iph[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
				    0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
				    0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	u64 w = on_stack(&run, 0, word, sizeof(word));
	u64 w2 = on_stack(&run, 8, word, sizeof(word));
	u64 h = on_stack(&run, 16, iph, sizeof(iph));
	u16 sum;

	/* pushing data: the 16-bit words in memory order */
	CHECK_EQ(call_helper(&run, BPF_FUNC_csum_diff, 0, 0, w, 4, 0),
		 ntohs(0x0102) + ntohs(0x0304));
	/* pulling data gives the complement */
	CHECK_EQ(call_helper(&run, BPF_FUNC_csum_diff, w, 4, 0, 0, 0),
		 0xffff - (ntohs(0x0102) + ntohs(0x0304)));
	/* equal data: no difference (one's complement -0) */
	CHECK_EQ(call_helper(&run, BPF_FUNC_csum_diff, w, 4, w2, 4, 0), 0xffff);
	/* nothing: the seed, folded */
	CHECK_EQ(call_helper(&run, BPF_FUNC_csum_diff, 0, 0, 0, 0, 0x12345678),
		 0x68ac);
	/* sizes must be multiples of 4 */
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_csum_diff, 0, 0, w, 3, 0),
		 -EINVAL);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_csum_diff, w, 2, w2, 4, 0),
		 -EINVAL);
	/* an IPv4 header checksum: 0xb861 */
	sum = (u16)~call_helper(&run, BPF_FUNC_csum_diff, 0, 0, h, 20, 0);
	CHECK_EQ(ntohs(sum), 0xb861);
	CHECK_EQ(run.err, 0);
	/* pointers outside the run's memory */
	call_helper(&run, BPF_FUNC_csum_diff, 0, 0, (u64)(uintptr_t)word, 4, 0);
	CHECK_EQ(run.err, -EFAULT);
}

static void test_strncmp(void)
{
	struct bpfx_run run = make_run();
	u64 a = on_stack(&run, 0, "abcX", 5);
	u64 b = on_stack(&run, 8, "abd", 4);
	u64 c = on_stack(&run, 16, "abc", 4);

	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_strncmp, a, 4, b, 0, 0), -1);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_strncmp, b, 4, a, 0, 0), 1);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_strncmp, a, 3, c, 0, 0), 0);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_strncmp, a, 4, c, 0, 0), 1);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_strncmp, c, 4, c, 0, 0), 0);
	CHECK_EQ(run.err, 0);
	call_helper(&run, BPF_FUNC_strncmp, a, 4, 16, 0, 0);
	CHECK_EQ(run.err, -EFAULT);
}

/* ---- probe reads ---- */

static void test_probe_read(void)
{
	struct bpfx_run run = make_run();
	static const char src_bytes[] = "kernel string";
	const char *src = (const char *)(uintptr_t)in_mem(0, src_bytes,
							   sizeof(src_bytes));
	u64 dst = (u64)(uintptr_t)run.stack;
	long page = sysconf(_SC_PAGESIZE);
	u8 *gone = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u64 bad = (u64)(uintptr_t)gone;

	munmap(gone, (size_t)page);

	/* a good read */
	CHECK_EQ(call_helper(&run, BPF_FUNC_probe_read_kernel, dst, 6,
			     (u64)(uintptr_t)src, 0, 0),
		 0);
	CHECK(!memcmp(run.stack, "kernel", 6));
	/* bad addresses: -EFAULT and a zeroed destination */
	memset(run.stack, 0xaa, 32);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_probe_read_kernel, dst, 16,
				  bad, 0, 0),
		 -EFAULT);
	CHECK(run.stack[0] == 0 && run.stack[15] == 0 && run.stack[16] == 0xaa);
	memset(run.stack, 0xaa, 32);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_probe_read_user, dst, 8, 16, 0,
				  0),
		 -EFAULT);
	CHECK(run.stack[0] == 0 && run.stack[7] == 0);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_probe_read, dst, 8, 0, 0, 0),
		 -EFAULT);
	/* the host's own memory is not readable: -EFAULT, as unmapped memory */
	static const char host_bytes[] = "host secret";
	memset(run.stack, 0xaa, 32);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_probe_read_kernel, dst, 8,
				  (u64)(uintptr_t)host_bytes, 0, 0),
		 -EFAULT);
	CHECK(run.stack[0] == 0 && run.stack[7] == 0);
	/* a read that runs off the end of readable memory fails as a whole */
	u8 *two = test_mem + sizeof(test_mem) - (size_t)page;
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_probe_read_kernel, dst, 16,
				  (u64)(uintptr_t)(two + page - 8), 0, 0),
		 -EFAULT);

	/* strings: the length with the NUL; truncated: size, NUL-ended */
	CHECK_EQ(call_helper(&run, BPF_FUNC_probe_read_kernel_str, dst, 64,
			     (u64)(uintptr_t)src, 0, 0),
		 sizeof(src_bytes));
	CHECK(!strcmp((char *)run.stack, src));
	CHECK_EQ(call_helper(&run, BPF_FUNC_probe_read_user_str, dst, 4,
			     (u64)(uintptr_t)src, 0, 0),
		 4);
	CHECK(!strcmp((char *)run.stack, "ker"));
	CHECK_EQ(call_helper(&run, BPF_FUNC_probe_read_str, dst, 0,
			     (u64)(uintptr_t)src, 0, 0),
		 0);
	memset(run.stack, 0xaa, 32);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_probe_read_kernel_str, dst, 16,
				  bad, 0, 0),
		 -EFAULT);
	CHECK(run.stack[0] == 0 && run.stack[15] == 0);
	/* a string that ends in the last mapped byte is fine */
	memcpy(two + page - 4, "abc", 4);
	CHECK_EQ(call_helper(&run, BPF_FUNC_probe_read_kernel_str, dst, 64,
			     (u64)(uintptr_t)(two + page - 4), 0, 0),
		 4);
	memcpy(two + page - 4, "abcd", 4);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_probe_read_kernel_str, dst,
				  64, (u64)(uintptr_t)(two + page - 4), 0, 0),
		 -EFAULT);
	CHECK_EQ(run.err, 0);

	/* the destination must be the run's writable memory */
	call_helper(&run, BPF_FUNC_probe_read_kernel,
		    (u64)(uintptr_t)host_bytes, 4, (u64)(uintptr_t)src, 0, 0);
	CHECK_EQ(run.err, -EFAULT);
}

/* ---- identity, time ---- */

static void test_misc_helpers(void)
{
	struct bpfx_run run = make_run();
	u64 v, t1, t2;

	run.cpu = 3;
	CHECK_EQ(call_helper(&run, BPF_FUNC_get_smp_processor_id, 0, 0, 0, 0, 0),
		 3);
	v = call_helper(&run, BPF_FUNC_get_current_pid_tgid, 0, 0, 0, 0, 0);
	CHECK_EQ(v >> 32, getpid());
	v = call_helper(&run, BPF_FUNC_get_current_uid_gid, 0, 0, 0, 0, 0);
	CHECK_EQ(v & 0xffffffff, getuid());
	CHECK_EQ(v >> 32, getgid());
	memset(run.stack, 0xaa, 32);
	CHECK_EQ(call_helper(&run, BPF_FUNC_get_current_comm,
			     (u64)(uintptr_t)run.stack, 32, 0, 0, 0),
		 0);
	CHECK(!strncmp((char *)run.stack, "test_helpers", 12));
	CHECK(run.stack[31] == 0);
	t1 = call_helper(&run, BPF_FUNC_ktime_get_ns, 0, 0, 0, 0, 0);
	t2 = call_helper(&run, BPF_FUNC_ktime_get_ns, 0, 0, 0, 0, 0);
	CHECK(t2 >= t1 && t1 > 0);
	CHECK(call_helper(&run, BPF_FUNC_ktime_get_boot_ns, 0, 0, 0, 0, 0) >=
	      t1);
	v = call_helper(&run, BPF_FUNC_get_prandom_u32, 0, 0, 0, 0, 0);
	CHECK(v <= 0xffffffffu);
	CHECK(v != call_helper(&run, BPF_FUNC_get_prandom_u32, 0, 0, 0, 0, 0));

	CHECK(!strcmp(helper_by_id(BPF_FUNC_map_lookup_elem)->name,
		      "bpf_map_lookup_elem"));
	CHECK(!strcmp(helper_by_id(BPF_FUNC_tail_call)->name, "bpf_tail_call"));
	CHECK(helper_by_id(-1) == NULL);
	CHECK(helper_by_id(100000) == NULL);
	CHECK(helper_by_id(BPF_FUNC_perf_event_output) == NULL);
	CHECK_EQ(run.err, 0);
}

/* ---- callbacks, maps ---- */

static int loop_calls;

static int fake_call(struct bpfx_run *run, u64 func, const u64 *args,
		     u64 *ret)
{
	loop_calls++;
	CHECK_EQ(func, 0x1234);
	CHECK_EQ(args[1], 0x77);
	*ret = args[0] == 3; /* stop at i == 3 */
	return 0;
}

static void test_bpf_loop(void)
{
	struct bpfx_run run = make_run();

	run.call = fake_call;
	loop_calls = 0;
	CHECK_EQ(call_helper(&run, BPF_FUNC_loop, 10, 0x1234, 0x77, 0, 0), 4);
	CHECK_EQ(loop_calls, 4);
	CHECK_EQ(call_helper(&run, BPF_FUNC_loop, 2, 0x1234, 0x77, 0, 0), 2);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_loop, 2, 0x1234, 0x77, 1, 0),
		 -EINVAL);
	/* the kernel's inlined bpf_loop: a 32-bit -E2BIG */
	CHECK_EQ(call_helper(&run, BPF_FUNC_loop, (1 << 23) + 1, 0x1234, 0x77,
			     0, 0),
		 (u32)-E2BIG);
	CHECK_EQ(run.err, 0);
}

static long each_sum;

static int each_call(struct bpfx_run *run, u64 func, const u64 *args,
		     u64 *ret)
{
	/* the callback can read the key and write the value */
	const u32 *key = run_mem(run, args[1], 4, MEM_READ);
	u64 *value = run_mem(run, args[2], 8, MEM_WRITE);

	CHECK(key && value);
	if (!key || !value)
		return -EFAULT;
	each_sum += *key;
	*value += 100;
	*ret = 0;
	return 0;
}

static void test_maps_and_for_each(void)
{
	struct bpfx_run run = make_run();
	struct bpfx_map array = { .name = (char *)"arr",
				  .type = BPF_MAP_TYPE_ARRAY,
				  .key_size = 4,
				  .value_size = 8,
				  .max_entries = 4 };
	struct bpfx_map hash = { .name = (char *)"h",
				 .type = BPF_MAP_TYPE_HASH,
				 .key_size = 4,
				 .value_size = 8,
				 .max_entries = 8 };
	u64 k, v, p;

	if (map_create(&array) || map_create(&hash)) {
		CHECK(!"map_create");
		return;
	}
	run.call = each_call;

	k = on_stack(&run, 0, &(u32){ 2 }, 4);
	v = on_stack(&run, 8, &(u64){ 5 }, 8);
	CHECK_EQ(call_helper(&run, BPF_FUNC_map_update_elem,
			     (u64)(uintptr_t)&array, k, v, BPF_ANY, 0),
		 0);
	p = call_helper(&run, BPF_FUNC_map_lookup_elem, (u64)(uintptr_t)&array,
			k, 0, 0, 0);
	CHECK(p && *(u64 *)(uintptr_t)p == 5);
	CHECK(run_mem(&run, p, 8, MEM_WRITE) != NULL);

	each_sum = 0;
	CHECK_EQ(call_helper(&run, BPF_FUNC_for_each_map_elem,
			     (u64)(uintptr_t)&array, 0x10, 0, 0, 0),
		 4);
	CHECK_EQ(each_sum, 0 + 1 + 2 + 3);
	CHECK_EQ(*(u64 *)(uintptr_t)p, 105);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_for_each_map_elem,
				  (u64)(uintptr_t)&array, 0x10, 0, 1, 0),
		 -EINVAL);

	for (u32 i = 10; i < 13; i++) {
		k = on_stack(&run, 0, &i, 4);
		CHECK_EQ(call_helper(&run, BPF_FUNC_map_update_elem,
				     (u64)(uintptr_t)&hash, k, v, BPF_ANY, 0),
			 0);
	}
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_map_update_elem,
				  (u64)(uintptr_t)&hash, k, v, BPF_NOEXIST, 0),
		 -EEXIST);
	each_sum = 0;
	CHECK_EQ(call_helper(&run, BPF_FUNC_for_each_map_elem,
			     (u64)(uintptr_t)&hash, 0x10, 0, 0, 0),
		 3);
	CHECK_EQ(each_sum, 10 + 11 + 12);
	CHECK_EQ(call_helper(&run, BPF_FUNC_map_delete_elem,
			     (u64)(uintptr_t)&hash, k, 0, 0, 0),
		 0);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_map_delete_elem,
				  (u64)(uintptr_t)&hash, k, 0, 0, 0),
		 -ENOENT);
	CHECK_EQ(call_helper(&run, BPF_FUNC_map_lookup_elem,
			     (u64)(uintptr_t)&hash, k, 0, 0, 0),
		 0);
	CHECK_EQ(run.err, 0);

	/* a key outside the run's memory, a forged map */
	call_helper(&run, BPF_FUNC_map_lookup_elem, (u64)(uintptr_t)&hash,
		    (u64)(uintptr_t)&k, 0, 0, 0);
	CHECK_EQ(run.err, -EFAULT);
	run = make_run();
	call_helper(&run, BPF_FUNC_map_lookup_elem, (u64)(uintptr_t)&run, k, 0,
		    0, 0);
	CHECK_EQ(run.err, -EINVAL);

	/* tail calls: a map that is not a prog_array */
	run = make_run();
	CHECK(tail_call_target(&run, (u64)(uintptr_t)&array, 0) == NULL);
	CHECK_EQ(run.err, -EINVAL);

	map_destroy(&array);
	map_destroy(&hash);
}

static void test_spin_lock(void)
{
	struct bpfx_run run = make_run();
	u64 lock = (u64)(uintptr_t)(run.stack + 64);

	memset(run.stack + 64, 0, 4);
	CHECK_EQ(call_helper(&run, BPF_FUNC_spin_lock, lock, 0, 0, 0, 0), 0);
	CHECK_EQ(*(u32 *)(uintptr_t)lock, 1);
	CHECK_EQ(call_helper(&run, BPF_FUNC_spin_unlock, lock, 0, 0, 0, 0), 0);
	CHECK_EQ(*(u32 *)(uintptr_t)lock, 0);
	CHECK_EQ(run.err, 0);
	/* unlock of a lock not held, lock twice */
	call_helper(&run, BPF_FUNC_spin_unlock, lock, 0, 0, 0, 0);
	CHECK_EQ(run.err, -EINVAL);
	run = make_run();
	call_helper(&run, BPF_FUNC_spin_lock, lock, 0, 0, 0, 0);
	call_helper(&run, BPF_FUNC_spin_lock, lock, 0, 0, 0, 0);
	CHECK_EQ(run.err, -EINVAL);
	run.err = 0;
	call_helper(&run, BPF_FUNC_spin_unlock, lock, 0, 0, 0, 0);
	CHECK_EQ(run.err, 0);
	/* misaligned */
	call_helper(&run, BPF_FUNC_spin_lock, lock + 1, 0, 0, 0, 0);
	CHECK_EQ(run.err, -EINVAL);
}

static u32 shared_lock;
static u64 shared_counter;

static void *lock_worker(void *arg)
{
	struct bpfx_run run = make_run();
	u64 lock = (u64)(uintptr_t)&shared_lock;

	/* the lock lives outside the run's memory here: widen it */
	run.extra = (struct run_region){ lock, lock + 4, true };
	for (int i = 0; i < 20000; i++) {
		call_helper(&run, BPF_FUNC_spin_lock, lock, 0, 0, 0, 0);
		shared_counter++;
		call_helper(&run, BPF_FUNC_spin_unlock, lock, 0, 0, 0, 0);
	}
	CHECK_EQ(run.err, 0);
	return arg;
}

static void test_spin_lock_threads(void)
{
	pthread_t t[4];

	shared_counter = 0;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, lock_worker, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(shared_counter, 4 * 20000);
	CHECK_EQ(shared_lock, 0);
}

static void test_kfuncs(void)
{
	struct bpfx_run run = make_run();
	int lock = kfunc_by_name("bpf_rcu_read_lock");
	int unlock = kfunc_by_name("bpf_rcu_read_unlock");

	CHECK(lock >= 0 && unlock >= 0);
	CHECK(kfunc_by_name("bpf_preempt_disable") >= 0);
	CHECK(kfunc_by_name("bpf_preempt_enable") >= 0);
	CHECK_EQ(kfunc_by_name("no_such_kfunc"), -ENOENT);
	kfuncs[lock].fn(&run, 0, 0, 0, 0, 0);
	kfuncs[lock].fn(&run, 0, 0, 0, 0, 0);
	kfuncs[unlock].fn(&run, 0, 0, 0, 0, 0);
	kfuncs[unlock].fn(&run, 0, 0, 0, 0, 0);
	CHECK_EQ(run.err, 0);
	kfuncs[unlock].fn(&run, 0, 0, 0, 0, 0);
	CHECK_EQ(run.err, -EINVAL);
}

/* ---- test_run contexts ---- */

static u8 packet[64];

static void make_packet(void)
{
	memset(packet, 0, sizeof(packet));
	/* dst 00:..:00 (loopback's address), IPv4 10.0.0.1 -> 10.0.0.2 */
	packet[12] = 0x08;
	packet[13] = 0x00;
	packet[14] = 0x45;
	memcpy(packet + 14 + 12, (u8[]){ 10, 0, 0, 1 }, 4);
	memcpy(packet + 14 + 16, (u8[]){ 10, 0, 0, 2 }, 4);
	for (size_t i = 34; i < sizeof(packet); i++)
		packet[i] = (u8)i;
}

static bool below_4g(u64 a)
{
	return a && a < (1ull << 32);
}

static void test_ctx_tc(void)
{
	struct bpfx_program prog = { .name = (char *)"p",
				     .type = BPF_PROG_TYPE_SCHED_CLS };
	struct bpfx_run run = make_run();
	struct run_ctx_state *st;
	struct __sk_buff in = { .mark = 7, .cb = { 1, 2, 3, 4, 5 } };
	struct __sk_buff out;
	u8 data_out[64];
	u64 r1;

	make_packet();
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = packet,
		  .data_size_in = sizeof(packet), .data_out = data_out,
		  .data_size_out = sizeof(data_out), .ctx_in = &in,
		  .ctx_size_in = sizeof(in), .ctx_out = &out,
		  .ctx_size_out = sizeof(out));
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (!st)
		return;
	struct __sk_buff *skb = (struct __sk_buff *)(uintptr_t)r1;
	CHECK_EQ(r1, run.ctx.lo);
	CHECK_EQ(run.ctx.hi - run.ctx.lo, sizeof(*skb));
	CHECK_EQ(skb->len, 64);
	CHECK_EQ(skb->protocol, htons(ETH_P_IP));
	CHECK_EQ(skb->pkt_type, PACKET_HOST);
	CHECK_EQ(skb->ifindex, 1);
	CHECK_EQ(skb->mark, 7);
	CHECK_EQ(skb->cb[4], 5);
	CHECK_EQ(skb->wire_len, 64);
	CHECK_EQ(skb->family, AF_INET);
	CHECK_EQ(ntohl(skb->local_ip4), 0x0a000001);
	CHECK_EQ(ntohl(skb->remote_ip4), 0x0a000002);
	CHECK(below_4g(skb->data) && below_4g(skb->data_end));
	CHECK_EQ(skb->data_end - skb->data, 64);
	CHECK_EQ(skb->data_meta, skb->data);
	CHECK(!memcmp((void *)(uintptr_t)skb->data, packet, 64));
	CHECK(run_mem(&run, skb->data, 64, MEM_WRITE) != NULL);
	CHECK(run_mem(&run, skb->data, 65, MEM_READ) == NULL);
	CHECK(run_mem(&run, skb->data - 1, 1, MEM_READ) == NULL);

	/* a run changes the packet and the context */
	u8 *pkt = (u8 *)(uintptr_t)skb->data;
	pkt[40] = 0xee;
	skb->mark = 9;
	skb->cb[0] = 42;
	skb->data = 0x1000; /* forged: ignored and restored */
	CHECK_EQ(ctx_finish(st, &opts, 0), 0);
	CHECK_EQ(opts.data_size_out, 64);
	CHECK_EQ(data_out[40], 0xee);
	CHECK_EQ(opts.ctx_size_out, sizeof(out));
	CHECK_EQ(out.mark, 9);
	CHECK_EQ(out.cb[0], 42);
	CHECK_EQ(out.ifindex, 1);
	CHECK_EQ(out.wire_len, 64);
	CHECK_EQ(out.len, 0); /* not copied back */

	/* data_out too small: -ENOSPC, the full size reported */
	opts.data_size_out = 10;
	CHECK_EQ(ctx_finish(st, &opts, 0), -ENOSPC);
	CHECK_EQ(opts.data_size_out, 64);
	ctx_free(st);
}

static void test_ctx_skb_rules(void)
{
	struct bpfx_program prog = { .name = (char *)"p",
				     .type = BPF_PROG_TYPE_SOCKET_FILTER };
	struct bpfx_run run = make_run();
	struct run_ctx_state *st;
	u8 data_out[64];
	u64 r1;

	make_packet();
	memset(packet, 0xff, 6); /* broadcast: multicast on loopback */
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = packet,
		  .data_size_in = sizeof(packet), .data_out = data_out,
		  .data_size_out = sizeof(data_out));
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (st) {
		struct __sk_buff *skb = (struct __sk_buff *)(uintptr_t)r1;

		/* a socket filter sees the packet from the IP header */
		CHECK_EQ(skb->len, 50);
		CHECK_EQ(skb->data_end - skb->data, 50);
		CHECK(!memcmp((void *)(uintptr_t)skb->data, packet + 14, 50));
		CHECK_EQ(skb->pkt_type, PACKET_MULTICAST);
		CHECK_EQ(skb->wire_len, 0); /* no ctx: cb's pkt_len unset */
		/* data_out: the Ethernet header zeroed, then the packet */
		CHECK_EQ(ctx_finish(st, &opts, 0), 0);
		CHECK_EQ(opts.data_size_out, 64);
		CHECK(data_out[0] == 0 && data_out[13] == 0);
		CHECK(!memcmp(data_out + 14, packet + 14, 50));
		ctx_free(st);
	}

	/* too short, too long */
	opts.data_size_in = 13;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	opts.data_size_in = 14; /* a socket filter's skb would be empty */
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	opts.data_size_in = 5000;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	opts.data_size_in = sizeof(packet);

	/* ctx_in: fields the kernel does not accept */
	struct __sk_buff in = { .len = 5 };
	opts.ctx_in = &in;
	opts.ctx_size_in = sizeof(in);
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	memset(&in, 0, sizeof(in));
	in.data = 1;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	memset(&in, 0, sizeof(in));
	in.wire_len = 10; /* below the packet's length */
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	memset(&in, 0, sizeof(in));
	in.ifindex = 0x7ffffff0; /* no such device */
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -ENODEV);
	/* a larger ctx_in needs a zero tail */
	u8 big[sizeof(in) + 8] = { 0 };
	opts.ctx_in = big;
	opts.ctx_size_in = sizeof(big);
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	ctx_free(st);
	big[sizeof(in) + 2] = 1;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -E2BIG);
	/* allowed fields */
	memset(&in, 0, sizeof(in));
	in.priority = 3;
	in.tstamp = 1000;
	in.gso_segs = 2;
	in.gso_size = 1400;
	in.ingress_ifindex = 1;
	opts.ctx_in = &in;
	opts.ctx_size_in = sizeof(in);
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (st) {
		struct __sk_buff *skb = (struct __sk_buff *)(uintptr_t)r1;

		CHECK_EQ(skb->priority, 3);
		CHECK_EQ(skb->tstamp, 1000);
		CHECK_EQ(skb->gso_size, 1400);
		CHECK_EQ(skb->ingress_ifindex, 1);
		ctx_free(st);
	}
}

static void test_ctx_xdp(void)
{
	struct bpfx_program prog = { .name = (char *)"x",
				     .type = BPF_PROG_TYPE_XDP };
	struct bpfx_run run = make_run();
	struct run_ctx_state *st;
	u8 data_out[64];
	struct xdp_md md_out;
	u64 r1;

	make_packet();
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = packet,
		  .data_size_in = sizeof(packet), .data_out = data_out,
		  .data_size_out = sizeof(data_out));
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (st) {
		struct xdp_md *md = (struct xdp_md *)(uintptr_t)r1;

		CHECK(below_4g(md->data) && below_4g(md->data_end));
		CHECK_EQ(md->data_end - md->data, 64);
		CHECK_EQ(md->data_meta, md->data);
		CHECK_EQ(md->ingress_ifindex, 1);
		CHECK_EQ(md->rx_queue_index, 0);
		CHECK(!memcmp((void *)(uintptr_t)md->data, packet, 64));
		CHECK(run_mem(&run, md->data, 64, MEM_WRITE) != NULL);
		/* XDP_PACKET_HEADROOM before the packet is not the run's */
		CHECK(run_mem(&run, md->data - 256, 1, MEM_READ) == NULL);
		((u8 *)(uintptr_t)md->data)[20] = 0x5a;
		CHECK_EQ(ctx_finish(st, &opts, 0), 0);
		CHECK_EQ(opts.data_size_out, 64);
		CHECK_EQ(data_out[20], 0x5a);
		ctx_free(st);
	}

	/* metadata: the first xdp_md.data bytes of data_in */
	struct xdp_md in = { .data = 8, .data_end = sizeof(packet) };
	opts.ctx_in = &in;
	opts.ctx_size_in = sizeof(in);
	opts.ctx_out = &md_out;
	opts.ctx_size_out = sizeof(md_out);
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (st) {
		struct xdp_md *md = (struct xdp_md *)(uintptr_t)r1;

		CHECK_EQ(md->data - md->data_meta, 8);
		CHECK_EQ(md->data_end - md->data, 56);
		CHECK(!memcmp((void *)(uintptr_t)md->data, packet + 8, 56));
		CHECK(run_mem(&run, md->data_meta, 64, MEM_WRITE) != NULL);
		CHECK_EQ(ctx_finish(st, &opts, 0), 0);
		CHECK_EQ(opts.data_size_out, 64);
		CHECK_EQ(md_out.data, 8);
		CHECK_EQ(md_out.data_end, 64);
		CHECK_EQ(md_out.ingress_ifindex, 1);
		ctx_free(st);
	}
	in.data_end = 10; /* must be data_size_in */
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	in.data_end = sizeof(packet);
	in.data = 6; /* metadata in 4-byte units */
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	in.data = 36; /* at most 32 bytes */
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	in.data = 0;
	in.data_meta = 4;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	in.data_meta = 0;
	in.egress_ifindex = 1;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	in.egress_ifindex = 0;
	in.rx_queue_index = 1; /* a queue without a device */
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	in.ingress_ifindex = 1; /* loopback has one queue */
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	in.rx_queue_index = 0;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	ctx_free(st);
}

static void test_ctx_syscall_and_buffers(void)
{
	struct bpfx_program prog = { .name = (char *)"s",
				     .type = BPF_PROG_TYPE_SYSCALL };
	struct bpfx_run run = make_run();
	struct run_ctx_state *st;
	u64 in[2] = { 11, 22 }, out[2] = { 0 };
	u64 r1;

	BPFX_OPTS(bpfx_test_run_opts, opts, .ctx_in = in,
		  .ctx_size_in = sizeof(in), .ctx_out = out,
		  .ctx_size_out = sizeof(out));
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (st) {
		u64 *ctx = (u64 *)(uintptr_t)r1;

		CHECK(r1 && ctx != in);
		CHECK_EQ(ctx[1], 22);
		CHECK_EQ(run.ctx.hi - run.ctx.lo, 16);
		CHECK(run.ctx.writable);
		ctx[0] = 33;
		CHECK_EQ(ctx_finish(st, &opts, 0), 0);
		CHECK_EQ(out[0], 33);
		CHECK_EQ(opts.ctx_size_out, 16);
		ctx_free(st);
	}
	/* no context: r1 is NULL */
	BPFX_OPTS(bpfx_test_run_opts, none);
	CHECK_EQ(ctx_prepare(&prog, &none, &run, &st, &r1), 0);
	CHECK_EQ(r1, 0);
	ctx_free(st);
	/* no packet for syscall programs */
	opts.data_in = in;
	opts.data_size_in = sizeof(in);
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	opts.data_in = NULL;
	opts.data_size_in = 0;
	opts.ctx_size_in = 70000;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);

	/* raw tracepoint: at most 12 u64 arguments, zero-filled buffer */
	prog.type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	opts.ctx_size_in = 100;
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), -EINVAL);
	opts.ctx_size_in = sizeof(in);
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (st) {
		u64 *ctx = (u64 *)(uintptr_t)r1;

		CHECK_EQ(ctx[0], 11);
		CHECK_EQ(ctx[11], 0);
		CHECK(run_mem(&run, r1, 96, MEM_READ) != NULL);
		CHECK_EQ(ctx_finish(st, &opts, 0), 0);
		CHECK_EQ(opts.ctx_size_out, 16);
		ctx_free(st);
	}
	/* kprobe without ctx_in: a zeroed pt_regs */
	prog.type = BPF_PROG_TYPE_KPROBE;
	CHECK_EQ(ctx_prepare(&prog, &none, &run, &st, &r1), 0);
	CHECK(r1 && run.ctx.hi - run.ctx.lo >= 21 * 8);
	ctx_free(st);
}

static void test_skb_load_bytes(void)
{
	struct bpfx_program prog = { .name = (char *)"p",
				     .type = BPF_PROG_TYPE_SCHED_CLS };
	struct bpfx_run run = make_run();
	struct run_ctx_state *st;
	u64 r1, dst;

	make_packet();
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = packet,
		  .data_size_in = sizeof(packet));
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (!st)
		return;
	run.prog = &prog;
	dst = (u64)(uintptr_t)run.stack;
	CHECK_EQ(call_helper(&run, BPF_FUNC_skb_load_bytes, r1, 26, dst, 8, 0),
		 0);
	CHECK(!memcmp(run.stack, packet + 26, 8));
	memset(run.stack, 0xaa, 8);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_skb_load_bytes, r1, 60, dst, 8,
				  0),
		 -EFAULT);
	CHECK(run.stack[0] == 0 && run.stack[7] == 0);
	CHECK_EQ(run.err, 0);
	/* bpf_skb_store_bytes */
	memcpy(run.stack, "\x01\x02\x03\x04", 4);
	CHECK_EQ(call_helper(&run, BPF_FUNC_skb_store_bytes, r1, 60, dst, 4,
			     BPF_F_RECOMPUTE_CSUM),
		 0);
	CHECK(!memcmp((u8 *)(uintptr_t)run.pkt.lo + 60, "\x01\x02\x03\x04", 4));
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_skb_store_bytes, r1, 61, dst,
				  4, 0),
		 -EFAULT);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_skb_store_bytes, r1, 0, dst, 4,
				  1ull << 10),
		 -EINVAL);
	CHECK_EQ(run.err, 0);
	call_helper(&run, BPF_FUNC_skb_load_bytes, r1 + 8, 0, dst, 8, 0);
	CHECK_EQ(run.err, -EINVAL);
	ctx_free(st);
}

static void test_xdp_adjust_head(void)
{
	struct bpfx_program prog = { .name = (char *)"x",
				     .type = BPF_PROG_TYPE_XDP };
	struct bpfx_run run = make_run();
	struct run_ctx_state *st;
	u8 data_out[128];
	u64 r1;

	make_packet();
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = packet,
		  .data_size_in = sizeof(packet), .data_out = data_out,
		  .data_size_out = sizeof(data_out));
	CHECK_EQ(ctx_prepare(&prog, &opts, &run, &st, &r1), 0);
	if (!st)
		return;
	struct xdp_md *md = (struct xdp_md *)(uintptr_t)r1;
	u32 data0 = md->data;

	/* strip the Ethernet header */
	CHECK_EQ(call_helper(&run, BPF_FUNC_xdp_adjust_head, r1, 14, 0, 0, 0),
		 0);
	CHECK_EQ(md->data, data0 + 14);
	CHECK_EQ(md->data_meta, md->data);
	CHECK_EQ(md->data_end - md->data, 50);
	CHECK(run_mem(&run, data0, 1, MEM_READ) == NULL);
	/* at least ETH_HLEN must stay; the headroom ends at the xdp_frame */
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_xdp_adjust_head, r1, 40, 0, 0,
				  0),
		 -EINVAL);
	CHECK_EQ((s64)call_helper(&run, BPF_FUNC_xdp_adjust_head, r1,
				  (u64)-(256 - 40 + 14 + 1), 0, 0, 0),
		 -EINVAL);
	/* grow into the headroom */
	CHECK_EQ(call_helper(&run, BPF_FUNC_xdp_adjust_head, r1, (u64)-30, 0, 0,
			     0),
		 0);
	CHECK_EQ(md->data_end - md->data, 80);
	CHECK(run_mem(&run, md->data, 80, MEM_WRITE) != NULL);
	CHECK_EQ(ctx_finish(st, &opts, 0), 0);
	CHECK_EQ(opts.data_size_out, 80);
	CHECK(!memcmp(data_out + 16, packet, 64));
	CHECK_EQ(run.err, 0);
	/* not the context */
	call_helper(&run, BPF_FUNC_xdp_adjust_head, r1 + 4, 14, 0, 0, 0);
	CHECK_EQ(run.err, -EINVAL);
	ctx_free(st);
}

/* A reservation a run leaves behind is discarded when the run ends, so the
 * consumer is not blocked; a run cannot submit another run's sample. */
static int count_sample(void *user, void *data, size_t size)
{
	(*(int *)user)++;
	return 0;
}

static void test_ringbuf_reservations(void)
{
	struct bpfx_run run = make_run(), other = make_run();
	struct bpfx_map rb = { .name = (char *)"rb",
			       .type = BPF_MAP_TYPE_RINGBUF,
			       .max_entries = 4096 };
	int samples = 0;

	if (map_create(&rb)) {
		CHECK(!"map_create");
		return;
	}
	u64 leaked = call_helper(&run, BPF_FUNC_ringbuf_reserve,
				 (u64)(uintptr_t)&rb, 16, 0, 0, 0);
	u64 kept = call_helper(&run, BPF_FUNC_ringbuf_reserve,
			       (u64)(uintptr_t)&rb, 16, 0, 0, 0);
	CHECK(leaked && kept);
	CHECK_EQ(run.reserved_cnt, 2);
	/* another run may not submit this run's sample */
	call_helper(&other, BPF_FUNC_ringbuf_submit, kept, 0, 0, 0, 0);
	CHECK_EQ(other.err, -EINVAL);
	CHECK_EQ(call_helper(&run, BPF_FUNC_ringbuf_submit, kept, 0, 0, 0, 0),
		 0);
	/* the first reservation blocks the consumer until the run ends */
	CHECK_EQ(bpfx_map__ringbuf_consume(&rb, count_sample, &samples), 0);
	helper_run_end(&run);
	CHECK_EQ(run.reserved_cnt, 0);
	CHECK_EQ(bpfx_map__ringbuf_consume(&rb, count_sample, &samples), 1);
	CHECK_EQ(samples, 1);
	map_destroy(&rb);
}

TEST_MAIN(TEST(test_bprintf_conversions), TEST(test_bprintf_errors),
	  TEST(test_bprintf_bin_space), TEST(test_trace_printk),
	  TEST(test_snprintf_vprintk), TEST(test_csum_diff),
	  TEST(test_strncmp), TEST(test_probe_read), TEST(test_misc_helpers),
	  TEST(test_bpf_loop), TEST(test_maps_and_for_each),
	  TEST(test_spin_lock), TEST(test_spin_lock_threads),
	  TEST(test_kfuncs), TEST(test_ctx_tc),
	  TEST(test_ctx_skb_rules), TEST(test_ctx_xdp),
	  TEST(test_ctx_syscall_and_buffers), TEST(test_skb_load_bytes),
	  TEST(test_xdp_adjust_head), TEST(test_ringbuf_reservations))

// SPDX-License-Identifier: GPL-2.0
/*
 * String helpers: bpf_printk (bpf_trace_printk for up to three arguments,
 * bpf_trace_vprintk beyond), bpf_snprintf (returns the length it needed
 * plus the NUL) and bpf_strncmp (the kernel's strncmp: -1, 0 or 1).
 * The trace output reaches the log; log= checks one line.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

char sbuf[16]; /* .bss offset 0 */
char tbuf[8];  /* .bss offset 16 */

/* bpf_trace_printk returns the length of what it printed. */
// TEST prog=printk_simple retval=8 log=hello__42
SEC("syscall")
int printk_simple(void *ctx)
{
	return bpf_printk("hello %d", 42);
}

// TEST prog=printk_many retval=0 log=a=-1__b=2__c=ff__d=-5__e=deadbeefcafe
SEC("syscall")
int printk_many(void *ctx)
{
	long long d = -5;

	bpf_printk("a=%d b=%u c=%x d=%lld e=%llx", -1, 2, 255, d,
		   0xdeadbeefcafeULL);
	return 0;
}

// TEST prog=printk_str retval=0 log=name=bpfx__ch=Z__u=4294967295
SEC("syscall")
int printk_str(void *ctx)
{
	char name[] = "bpfx";

	bpf_printk("name=%s ch=%c u=%u", name, 'Z', -1);
	return 0;
}

// TEST prog=printk_width retval=0 log=[______42]
SEC("syscall")
int printk_width(void *ctx)
{
	bpf_printk("[%5d]", 42);
	return 0;
}

/* An unsupported conversion is refused with -EINVAL. */
// TEST prog=printk_bad retval=-22
SEC("syscall")
int printk_bad(void *ctx)
{
	return bpf_printk("bad %q", 1);
}

static const char snfmt[] = "v=%d,%s";

// TEST prog=snprintf_ok retval=0 map=.bss:00000000:763d34322c6162000000000000000000763d340000000000
SEC("syscall")
int snprintf_ok(void *ctx)
{
	char s[] = "ab";
	__u64 args[2] = { 42, (__u64)(long)s };

	if (bpf_snprintf(sbuf, sizeof(sbuf), snfmt, args, sizeof(args)) != 8)
		return 1;
	/* truncated to the buffer, NUL-terminated; the return is the same */
	if (bpf_snprintf(tbuf, 4, snfmt, args, sizeof(args)) != 8)
		return 2;
	if (tbuf[3] != 0 || tbuf[2] != '4')
		return 3;
	return 0;
}

// TEST prog=strncmp_cases retval=0
SEC("syscall")
int strncmp_cases(void *ctx)
{
	char s1[8] = "hello";

	if (bpf_strncmp(s1, sizeof(s1), "hello") != 0)
		return 1;
	if (bpf_strncmp(s1, sizeof(s1), "help") != -1)
		return 2;
	if (bpf_strncmp(s1, sizeof(s1), "hell") != 1)
		return 3;
	if (bpf_strncmp(s1, 4, "hellx") != 0)
		return 4;
	if (bpf_strncmp(s1, sizeof(s1), "hello!") != -1)
		return 5;
	return 0;
}

/* Plausible values from the task and CPU helpers. */
// TEST prog=task_info retval=0
SEC("syscall")
int task_info(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 t1 = bpf_ktime_get_ns(), t2;
	char comm[16] = {};

	if (cpu >= 4096)
		return 1;
	if ((pid_tgid >> 32) == 0 || (__u32)pid_tgid == 0)
		return 2;
	t2 = bpf_ktime_get_ns();
	if (t1 == 0 || t2 < t1)
		return 3;
	if (bpf_get_current_comm(comm, sizeof(comm)) != 0 || comm[0] == 0)
		return 4;
	return 0;
}

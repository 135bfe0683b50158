// SPDX-License-Identifier: GPL-2.0
/*
 * Context access of the tracing program types, as the kernel checks it:
 * kprobe's struct pt_regs and perf_event's struct bpf_perf_event_data are
 * read-only, registers read whole; a tracepoint's record starts after its
 * 8-byte common header and ends at 8192 bytes; a raw tracepoint has up to
 * 12 u64 arguments. The kernel cannot test_run these types: it gives its
 * verdict, and bpfx runs them on the context the test passes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define READ(T, off) (*(volatile T *)((char *)ctx + (off)))

// TEST prog=kprobe_regs ctx=010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000200000000000000 retval=3
SEC("kprobe/do_nothing")
int kprobe_regs(void *ctx)
{
	return READ(long, 0) + READ(long, 160);
}

// TEST prog=kprobe_past_regs error=invalid__bpf_context__access__off=168__size=8
SEC("kprobe/do_nothing")
int kprobe_past_regs(void *ctx)
{
	return READ(long, 168);
}

// TEST prog=kprobe_write error=invalid__bpf_context__access__off=0__size=8
SEC("kprobe/do_nothing")
int kprobe_write(void *ctx)
{
	*(volatile long *)ctx = 1;
	return 0;
}

// TEST prog=kprobe_misaligned error=invalid__bpf_context__access__off=2__size=4
SEC("kprobe/do_nothing")
int kprobe_misaligned(void *ctx)
{
	return READ(int, 2);
}

/* sample_period may be read in parts; registers only whole. */
// TEST prog=perf_sample_period ctx=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007080000000000000100000000000000 retval=16
SEC("perf_event")
int perf_sample_period(void *ctx)
{
	return READ(char, 168) + READ(char, 169) + READ(int, 172) + READ(long, 176);
}

// TEST prog=perf_regs_part error=invalid__bpf_context__access__off=8__size=4
SEC("perf_event")
int perf_regs_part(void *ctx)
{
	return READ(int, 8);
}

// TEST prog=perf_past_end error=invalid__bpf_context__access__off=184__size=8
SEC("perf_event")
int perf_past_end(void *ctx)
{
	return READ(long, 184);
}

// TEST prog=tp_record ctx=00000000000000002a00000000000000 retval=42
SEC("tracepoint/sched/sched_switch")
int tp_record(void *ctx)
{
	return READ(long, 8);
}

// TEST prog=tp_common_header error=invalid__bpf_context__access__off=4__size=4
SEC("tracepoint/sched/sched_switch")
int tp_common_header(void *ctx)
{
	return READ(int, 4);
}

// TEST prog=tp_past_max error=invalid__bpf_context__access__off=8192__size=8
SEC("tracepoint/sched/sched_switch")
int tp_past_max(void *ctx)
{
	return READ(long, 8192);
}

// TEST prog=raw_tp_args ctx=010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000400000000000000 retval=5
SEC("raw_tracepoint/sched_switch")
int raw_tp_args(void *ctx)
{
	return READ(long, 0) + READ(long, 88);
}

// TEST prog=raw_tp_past_args error=invalid__bpf_context__access__off=96__size=8
SEC("raw_tracepoint/sched_switch")
int raw_tp_past_args(void *ctx)
{
	return READ(long, 96);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The level-2 verifier log in the kernel's words: the bounds a register
 * gets from a throwing assertion (bpf_throw ends the failing side, so the
 * other side's state shows what the check proved), numbers in decimal up
 * to 16 bits and in hex beyond, equal bounds merged ("smin=umin=..."),
 * 32-bit bounds deduced from 64-bit ones, and "from X to Y:" where a
 * queued branch resumes. Each vlog= line is checked against the kernel's
 * own log too.
 *
 * The checks are written in assembly so that the registers and the
 * order of the comparisons are the same for every compiler.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"

char LICENSE[] SEC("license") = "GPL";

/* 4096 <= len <= 8192, unsigned: both halves bounded, the tnum follows */
// TEST prog=len_between data=00112233445566778899aabb08060001 retval=0 vlog=R2=scalar(smin=umin=smin32=umin32=4096,smax=umax=smax32=umax32=8192,var_off=(0x0;__0x3fff)) vlog=from__2__to__5:
SEC("tc")
int len_between(struct __sk_buff *ctx)
{
	__u64 ret;

	(void)bpf_throw;
	asm volatile("r2 = *(u32 *)(%[ctx] + %[len_off]);"
		     "if r2 >= 4096 goto +2;"
		     "r1 = 0;"
		     "call bpf_throw;"
		     "if r2 <= 8192 goto +2;"
		     "r1 = 1;"
		     "call bpf_throw;"
		     "%[ret] = r2;"
		     : [ret] "=r"(ret)
		     : [ctx] "r"(ctx),
		       [len_off] "i"(__builtin_offsetof(struct __sk_buff, len))
		     : "r0", "r1", "r2", "r3", "r4", "r5");
	return ret;
}

/* a sign-extended 32-bit value above INT_MIN + 1: its upper half is
 * 0xffffffff or 0, so the low half is one s32 range (smin32) */
// TEST prog=s32_above_min data=00112233445566778899aabb08060001 retval=16 vlog=R2=scalar(smin=0xffffffff80000002,smax=0x7fffffff,smin32=0x80000002)
SEC("tc")
int s32_above_min(struct __sk_buff *ctx)
{
	__u64 ret;

	(void)bpf_throw;
	asm volatile("w2 = *(u32 *)(%[ctx] + %[len_off]);"
		     "r2 = (s32)r2;"
		     "if r2 s>= -2147483646 goto +2;"
		     "r1 = 0;"
		     "call bpf_throw;"
		     "%[ret] = r2;"
		     : [ret] "=r"(ret)
		     : [ctx] "r"(ctx),
		       [len_off] "i"(__builtin_offsetof(struct __sk_buff, len))
		     : "r0", "r1", "r2", "r3", "r4", "r5");
	return ret;
}

/* equality with a constant beyond 16 bits makes the register that
 * constant, printed in hex; a negative one as its 64-bit pattern (three
 * unrelated values: linked copies would all become the first constant) */
// TEST prog=equals_big data=00112233445566778899aabb08060001 retval=7 vlog=R6=0x7fffffff vlog=R7=0xffffffff80000000 vlog=R8=-32768
SEC("tc")
int equals_big(struct __sk_buff *ctx)
{
	__u64 ret;

	(void)bpf_throw;
	asm volatile("call %[ktime];"
		     "r6 = r0;"
		     "call %[ktime];"
		     "r7 = r0;"
		     "call %[ktime];"
		     "r8 = r0;"
		     "if r6 != 0x7fffffff goto +1;"
		     "r0 = r6;"
		     "if r7 != -2147483648 goto +1;"
		     "r0 = r7;"
		     "if r8 != -32768 goto +1;"
		     "r0 = r8;"
		     "%[ret] = 7;"
		     : [ret] "=r"(ret)
		     : [ktime] "i"(BPF_FUNC_ktime_get_ns)
		     : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8");
	return ret;
}

/* signed upper bound below zero: the sign bit is known */
// TEST prog=negative_only data=00112233445566778899aabb08060001 retval=9 vlog=scalar(id=1,smax=-1,umin=0x8000000000000000,var_off=(0x8000000000000000;__0x7fffffffffffffff))
SEC("tc")
int negative_only(struct __sk_buff *ctx)
{
	__u64 ret;

	(void)bpf_throw;
	asm volatile("call %[ktime];"
		     "r6 = r0;"
		     "if r6 s< 0 goto +1;"
		     "r6 = 0;"
		     "r6 += 0;"
		     "%[ret] = 9;"
		     : [ret] "=r"(ret)
		     : [ktime] "i"(BPF_FUNC_ktime_get_ns)
		     : "r0", "r1", "r2", "r3", "r4", "r5", "r6");
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The stack of a whole call chain: every frame's share (what its paths
 * touched, rounded up to 16 bytes, as the kernel with its JIT on) added
 * along each chain of calls and bpf_loop callbacks must stay within 512
 * bytes, as the kernel's check_max_stack_depth() demands. Each function
 * touches its stack at a fixed depth through asm, so the shares are
 * exact.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define USE_STACK(depth)                                                       \
	asm volatile("r0 = 0; *(u64 *)(r10 - " #depth ") = r0" ::: "r0", "memory")

static __attribute__((noinline)) int f296(int n)
{
	USE_STACK(296);
	return n + 1;
}

static __attribute__((noinline)) int f200(int n)
{
	USE_STACK(200);
	return f296(n) + 1;
}

static __attribute__((noinline)) int f96(int n)
{
	USE_STACK(96);
	return n + 2;
}

/* 64 + 200 + 296 = 560 */
// TEST prog=chain_too_deep data=000000000000000000000000000008004500 error=combined__stack__size__of__3__calls__is__576.__Too__large
SEC("tc")
int chain_too_deep(struct __sk_buff *skb)
{
	USE_STACK(64);
	return f200(skb->len);
}

/* two chains of 64 + 96 and 64 + 296 */
// TEST prog=siblings_fit data=000000000000000000000000000008004500 retval=39
SEC("tc")
int siblings_fit(struct __sk_buff *skb)
{
	USE_STACK(64);
	return f96(skb->len) + f296(skb->len);
}

static int cb(__u32 i, void *ctx)
{
	USE_STACK(200);
	return 0;
}

/* a callback's frame counts below its caller's */
// TEST prog=callback_too_deep data=000000000000000000000000000008004500 error=combined__stack__size__of__2__calls__is__528.__Too__large
SEC("tc")
int callback_too_deep(struct __sk_buff *skb)
{
	USE_STACK(320);
	bpf_loop(2, cb, 0, 0);
	return 0;
}

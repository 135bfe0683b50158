// SPDX-License-Identifier: GPL-2.0
/*
 * BPF-to-BPF calls: static and global (__noinline) subprograms, a chain of
 * calls six deep (seven frames, the kernel allows eight), five arguments,
 * pointers to the caller's stack, and subprograms shared by two programs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

volatile int seed = 3;

static __noinline int add_five(int a, int b, int c, int d, int e)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e;
}

static __noinline void fill(__u64 *buf, int n, __u64 base)
{
	for (int i = 0; i < n && i < 8; i++)
		buf[i] = base + i;
}

__noinline int global_double(int x)
{
	return x * 2;
}

__noinline int chain6(int x)
{
	return x + 6;
}

__noinline int chain5(int x)
{
	return chain6(x) * 2 + 5;
}

__noinline int chain4(int x)
{
	return chain5(x) - 4;
}

static __noinline int chain3(int x)
{
	return chain4(x + 3);
}

__noinline int chain2(int x)
{
	return chain3(x) ^ 2;
}

static __noinline int chain1(int x)
{
	return chain2(x) + 1;
}

/* A subprogram that uses a map and a helper. */
static __noinline __u64 count_call(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&calls, &k);

	if (!v)
		return 0;
	return __sync_fetch_and_add(v, 1) + 1;
}

// TEST prog=static_call retval=55
SEC("syscall")
int static_call(void *ctx)
{
	/* 1 + 4 + 9 + 16 + 25 */
	return add_five(seed - 2, seed - 1, seed, seed + 1, seed + 2);
}

// TEST prog=stack_ptr retval=0
SEC("syscall")
int stack_ptr(void *ctx)
{
	__u64 buf[8] = {};

	fill(buf, seed + 2, 100);
	if (buf[0] != 100 || buf[4] != 104 || buf[5] != 0)
		return 1;
	return 0;
}

// TEST prog=global_call retval=6
SEC("syscall")
int global_call(void *ctx)
{
	return global_double(seed);
}

/* chain1(3): chain3(3) = chain4(6) = chain5(6) - 4 = (12*2+5) - 4 = 25;
 * chain2 = 25 ^ 2 = 27; chain1 = 28. */
// TEST prog=deep_chain retval=28
SEC("syscall")
int deep_chain(void *ctx)
{
	return chain1(seed);
}

/* Two programs share count_call; each object run starts from zero. */
// TEST prog=shared_a retval=2 map=calls:00000000:0200000000000000
SEC("syscall")
int shared_a(void *ctx)
{
	count_call();
	return count_call();
}

// TEST prog=shared_b retval=3 map=calls:00000000:0300000000000000
SEC("syscall")
int shared_b(void *ctx)
{
	count_call();
	count_call();
	return count_call() + global_double(0);
}

/* Callee-saved registers r6-r9 survive calls; the callee's frame has its
 * own stack. */
static __noinline int clobber(int x)
{
	volatile __u64 local[4] = { 1, 2, 3, 4 };

	return x + local[0] + local[3];
}

// TEST prog=callee_saved retval=0
SEC("syscall")
int callee_saved(void *ctx)
{
	volatile __u64 mine[4] = { 10, 20, 30, 40 };
	__u64 a = seed, b = seed * 2, c = seed * 3, d = seed * 4;
	int r = clobber(a);

	r += clobber(b);
	if (a + b + c + d != 30)
		return 1;
	if (mine[0] != 10 || mine[3] != 40)
		return 2;
	/* (3 + 5) + (6 + 5) */
	return r - 19;
}

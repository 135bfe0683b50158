// SPDX-License-Identifier: GPL-2.0
/*
 * may_goto loops (cond_break, can_loop; clang 19 emits BPF_JMP|BPF_JCOND):
 * the verifier proves a loop that may_goto may leave once, whatever its
 * other bounds, and every engine leaves it once the frame's budget is
 * spent. The loops here end on their own first, so bpfx and the kernel
 * (whose x86-64 budget is also timed) return the same values; the
 * budget's exact count is checked by tests/data/jump/may_goto-*.data.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfx/bpf/bpfx_may_goto.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} chain SEC(".maps");

struct args {
	__u32 n;
	__u32 k;
};

/* n from the context: no bound the verifier can see but may_goto's */
// TEST prog=sum_to_n ctx=e803000000000000 retval=499500
// TEST prog=sum_to_n ctx=0000000000000000 retval=0 vlog=7:__(e5)__may_goto__pc+3 vlog=stack__depth__16
SEC("syscall")
int sum_to_n(struct args *a)
{
	__u32 n = a->n, s = 0;

	for (__u32 i = 0; i < n; i++) {
		s += i;
		cond_break;
	}
	return s;
}

// TEST prog=while_can_loop ctx=6400000007000000 retval=700
SEC("syscall")
int while_can_loop(struct args *a)
{
	__u32 n = a->n, k = a->k, i = 0, s = 0;

	while (i < n && can_loop) {
		s += k;
		i++;
	}
	return s;
}

/* too many paths for the kernel's verifier as for bpfx's */
// TEST prog=nested ctx=1400000000000000 error=The__sequence__of__8193__jumps__is__too__complex
SEC("syscall")
int nested(struct args *a)
{
	__u32 n = a->n, s = 0;

	for (__u32 i = 0; i < n; i++) {
		for (__u32 j = 0; j < i; j++) {
			s += j;
			cond_break;
		}
		cond_break;
	}
	return s;
}

/* a map walked by following its values, as a linked list */
// TEST prog=walk_chain retval=63
SEC("syscall")
int walk_chain(void *ctx)
{
	__u32 key = 0, steps = 0;
	__u64 *v;

	for (__u32 i = 0; i < 63; i++) {
		__u32 k = i;

		v = bpf_map_lookup_elem(&chain, &k);
		if (!v)
			return -1;
		*v = i + 1;
		cond_break;
	}
	for (;;) {
		v = bpf_map_lookup_elem(&chain, &key);
		if (!v)
			return -2;
		key = (__u32)*v & 63;
		if (!key)
			break;
		steps++;
		cond_break;
	}
	return steps;
}

/* each call has a budget of its own */
static __attribute__((noinline)) int count_bits(__u64 x)
{
	int c = 0;

	while (x) {
		c += x & 1;
		x >>= 1;
		cond_break;
	}
	return c;
}

// TEST prog=subprog_loops ctx=ff00000001010101 retval=22
SEC("syscall")
int subprog_loops(struct args *a)
{
	return count_bits(a->n) + count_bits(a->k) + count_bits(a->n ^ a->k);
}

__attribute__((noinline)) int global_sum(__u32 n)
{
	int s = 0;

	for (__u32 i = 0; i < n; i++) {
		s += i & 3;
		cond_break;
	}
	return s;
}

// TEST prog=global_loop ctx=0a00000000000000 retval=13
SEC("syscall")
int global_loop(struct args *a)
{
	return global_sum(a->n);
}

static long add_up(__u32 idx, int *acc)
{
	for (int k = 0; k < 50 && can_loop; k++)
		*acc += k + idx;
	return 0;
}

/* a callback's frame has a budget of its own too */
// TEST prog=in_callback retval=14500
SEC("syscall")
int in_callback(void *ctx)
{
	int acc = 0;

	bpf_loop(10, add_up, &acc, 0);
	return acc;
}

/* a loop with nothing but may_goto to end it: it ends when the budget
 * does (8M passes in bpfx; the kernel also stops it by time) */
// TEST prog=spin_until_spent retval=7
SEC("syscall")
int spin_until_spent(void *ctx)
{
	volatile __u32 x = 0;

	for (;;) {
		x++;
		cond_break;
	}
	return 7;
}

/* the index grows each pass: widened, it is no longer known to fit */
// TEST prog=unbounded_index error=invalid__write__to__stack
SEC("syscall")
int unbounded_index(struct args *a)
{
	__u8 buf[16] = {};
	__u32 n = a->n, i = 0;

	while (i < n) {
		buf[i] = 1;
		i++;
		cond_break;
	}
	return buf[0];
}

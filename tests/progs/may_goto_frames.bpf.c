// SPDX-License-Identifier: GPL-2.0
/*
 * The may_goto budget belongs to a frame: a program that spends its own
 * (a loop only may_goto ends) still runs the loops of the functions it
 * calls and of the program it tail-calls, each with a fresh budget, and
 * its own may_goto keeps jumping after the call. (The kernel on x86-64
 * spends a budget by time, about 250 ms, but per frame all the same.)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfx/bpf/bpfx_may_goto.h>

char LICENSE[] SEC("license") = "GPL";

int fresh_target(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__array(values, int(struct __sk_buff *));
} targets SEC(".maps") = {
	.values = { [0] = (void *)&fresh_target },
};

volatile __u32 ten = 10;

static __attribute__((noinline)) int count_to_ten(void)
{
	__u32 n = ten, i = 0;

	while (i < n && can_loop)
		i++;
	return i;
}

static __attribute__((noinline)) void spend_budget(void)
{
	for (;;) {
		asm volatile("" ::: "memory");
		cond_break;
	}
}

SEC("tc")
int fresh_target(struct __sk_buff *skb)
{
	return 100 + count_to_ten();
}

/* spent in the main frame: the callee counts to ten, the main frame's
 * own loop stops at once */
// TEST prog=callee_fresh data=0011223344556677889900aa08060001 retval=1010
SEC("tc")
int callee_fresh(struct __sk_buff *skb)
{
	__u32 n = ten, i = 0;

	for (;;) {
		asm volatile("" ::: "memory");
		cond_break;
	}
	int c = count_to_ten();

	while (i < n && can_loop)
		i++;
	return c * 100 + c + i;
}

/* spent in a callee: the caller's budget is whole */
// TEST prog=caller_whole data=0011223344556677889900aa08060001 retval=10
SEC("tc")
int caller_whole(struct __sk_buff *skb)
{
	spend_budget();
	return count_to_ten();
}

/* spent, then a tail call: the target starts with a budget of its own */
// TEST prog=tail_fresh data=0011223344556677889900aa08060001 retval=110
SEC("tc")
int tail_fresh(struct __sk_buff *skb)
{
	for (;;) {
		asm volatile("" ::: "memory");
		cond_break;
	}
	bpf_tail_call(skb, &targets, 0);
	return -1;
}

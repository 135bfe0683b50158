// SPDX-License-Identifier: GPL-2.0
/*
 * Tail calls through a prog_array that the object initialises itself
 * (libbpf's `.values = { [i] = &prog }`): a taken call does not return,
 * an empty slot or an index out of range falls through, and a chain stops
 * after 33 tail calls (MAX_TAIL_CALL_CNT), when bpf_tail_call starts
 * failing and the program goes on after the call.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

int target_ret(struct __sk_buff *skb);
int self_loop(struct __sk_buff *skb);
int hop(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
	__array(values, int(struct __sk_buff *));
} jmp_table SEC(".maps") = {
	.values = {
		[0] = (void *)&target_ret,
		[2] = (void *)&self_loop,
		[5] = (void *)&hop,
	},
};

__u32 loops;
__u32 hops;
volatile __u32 one = 1; /* in .data, so loops and hops lead .bss */

SEC("tc")
int target_ret(struct __sk_buff *skb)
{
	return 42;
}

/* Tail-calls itself until the limit stops it. */
SEC("tc")
int self_loop(struct __sk_buff *skb)
{
	loops++;
	bpf_tail_call(skb, &jmp_table, 2);
	return loops;
}

/* Slot 5 -> slot 0: two tail calls, the second program's return wins. */
SEC("tc")
int hop(struct __sk_buff *skb)
{
	hops++;
	bpf_tail_call(skb, &jmp_table, 0);
	return -1;
}

// TEST prog=tail_taken data=0011223344556677889900aa08060001 retval=42
SEC("tc")
int tail_taken(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, one - 1);
	return 1;
}

// TEST prog=tail_empty data=0011223344556677889900aa08060001 retval=7
SEC("tc")
int tail_empty(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, one - 1 + 1);
	bpf_tail_call(skb, &jmp_table, one - 1 + 8);
	bpf_tail_call(skb, &jmp_table, one - 1 + 0xffffffff);
	return 7;
}

/* The entry runs once and makes the first tail call: 33 runs of
 * self_loop, then the 34th bpf_tail_call fails. */
// TEST prog=tail_limit data=0011223344556677889900aa08060001 retval=33 map=.bss:00000000:2100000000000000
SEC("tc")
int tail_limit(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, 2);
	return 1000;
}

/* Run directly, self_loop runs once plus 33 times through tail calls. */
// TEST prog=self_loop data=0011223344556677889900aa08060001 retval=34 map=.bss:00000000:22000000
// TEST prog=hop data=0011223344556677889900aa08060001 retval=42 map=.bss:00000000:0000000001000000

/* The count of tail calls belongs to one run: repeat does not carry it. */
// TEST prog=tail_limit data=0011223344556677889900aa08060001 repeat=3 retval=99 map=.bss:00000000:63000000
// TEST prog=tail_two data=0011223344556677889900aa08060001 retval=42 map=.bss:00000000:0000000001000000
SEC("tc")
int tail_two(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, 5);
	return 2;
}

/* Calls to an empty slot do not count towards the limit, as the kernel's
 * JIT has it (observed on 6.18; its interpreter counts them): after 33 of
 * them the call to a taken slot still goes. */
// TEST prog=empty_slots_count data=0011223344556677889900aa0806 retval=42
SEC("tc")
int empty_slots_count(struct __sk_buff *skb)
{
	for (int i = 0; i < 33; i++)
		bpf_tail_call(skb, &jmp_table, 1);
	bpf_tail_call(skb, &jmp_table, 0);
	return 7;
}

// TEST prog=empty_slots_below_limit data=0011223344556677889900aa0806 retval=42
SEC("tc")
int empty_slots_below_limit(struct __sk_buff *skb)
{
	for (int i = 0; i < 32; i++)
		bpf_tail_call(skb, &jmp_table, 1);
	bpf_tail_call(skb, &jmp_table, 0);
	return 7;
}

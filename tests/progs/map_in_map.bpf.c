// SPDX-License-Identifier: GPL-2.0
/*
 * Maps of maps initialised in the object (libbpf's `.values`): a program
 * looks an inner map up in the outer one, then reads and writes through it.
 * The writes land in the inner maps, which every engine (the kernel too)
 * must show after the run. Each program returns the number of the first
 * check that failed, or 0 when all held.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner in0 SEC(".maps"), in1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner);
} outer_arr SEC(".maps") = {
	.values = { [0] = &in0, [2] = &in1 },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer_hash SEC(".maps") = {
	.values = { [1] = &in1 },
};

static int bump(void *outer, __u32 slot, __u32 idx, __u64 add)
{
	__u64 *v;
	void *m;

	m = bpf_map_lookup_elem(outer, &slot);
	if (!m)
		return -1;
	v = bpf_map_lookup_elem(m, &idx);
	if (!v)
		return -2;
	*v += add;
	return 0;
}

// TEST prog=through_array data=000000000000000000000000000000000000 retval=0 map=in0:01000000:0500000000000000 map=in1:00000000:0700000000000000
SEC("tc")
int through_array(struct __sk_buff *skb)
{
	__u32 empty = 1;

	if (bump(&outer_arr, 0, 1, 5))
		return 1;
	if (bump(&outer_arr, 2, 0, 7))
		return 2;
	/* an empty slot */
	if (bpf_map_lookup_elem(&outer_arr, &empty))
		return 3;
	return 0;
}

// TEST prog=through_hash data=000000000000000000000000000000000000 retval=0 map=in1:01000000:0900000000000000
SEC("tc")
int through_hash(struct __sk_buff *skb)
{
	__u32 missing = 3;

	if (bump(&outer_hash, 1, 1, 9))
		return 1;
	if (bpf_map_lookup_elem(&outer_hash, &missing))
		return 2;
	return 0;
}

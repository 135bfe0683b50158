// SPDX-License-Identifier: GPL-2.0
/*
 * Map semantics as programs see them: update flags and their return codes
 * (-EEXIST = -17, -ENOENT = -2, -E2BIG = -7, -EINVAL = -22), delete,
 * lookup misses, per-CPU values and LRU eviction. Each program returns the
 * number of the first check that failed, or 0 when all held.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} parr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} phash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

/* A struct key and a value larger than a register. */
struct flow_key {
	__u32 saddr, daddr;
	__u16 sport, dport;
	__u8 proto;
	__u8 pad[3];
};
struct flow_stats {
	__u64 packets, bytes;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

// TEST prog=hash_flags retval=0 map=hmap:01000000:0b00000000000000 map=hmap:02000000:1600000000000000
SEC("syscall")
int hash_flags(void *ctx)
{
	__u32 k = 1;
	__u64 v = 10, *p;

	if (bpf_map_lookup_elem(&hmap, &k))
		return 1;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_EXIST) != -2)
		return 2;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_NOEXIST) != 0)
		return 3;
	v = 11;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_NOEXIST) != -17)
		return 4;
	p = bpf_map_lookup_elem(&hmap, &k);
	if (!p || *p != 10)
		return 5;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_EXIST) != 0)
		return 6;
	p = bpf_map_lookup_elem(&hmap, &k);
	if (!p || *p != 11)
		return 7;
	/* the value pointer writes through to the map */
	k = 2;
	v = 20;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_ANY) != 0)
		return 8;
	p = bpf_map_lookup_elem(&hmap, &k);
	if (!p)
		return 9;
	*p += 2;
	/* an unknown flag is refused */
	if (bpf_map_update_elem(&hmap, &k, &v, 8) != -22)
		return 10;
	return 0;
}

// TEST prog=hash_delete retval=0
SEC("syscall")
int hash_delete(void *ctx)
{
	__u32 k = 7;
	__u64 v = 70;

	if (bpf_map_delete_elem(&hmap, &k) != -2)
		return 1;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_ANY))
		return 2;
	if (bpf_map_delete_elem(&hmap, &k) != 0)
		return 3;
	if (bpf_map_lookup_elem(&hmap, &k))
		return 4;
	if (bpf_map_delete_elem(&hmap, &k) != -2)
		return 5;
	/* after a delete the key can be inserted again with NOEXIST */
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_NOEXIST) != 0)
		return 6;
	return 0;
}

/* A full hash map refuses new keys with -E2BIG but still replaces
 * existing ones. Returns 100 * inserted + checks passed. */
/* The kernel refuses it: "infinite loop detected". */
// TEST prog=hash_full kernel=reject error=infinite__loop__detected
SEC("syscall")
int hash_full(void *ctx)
{
	int inserted = 0, ok = 0;
	__u64 v = 1;

	for (__u32 k = 0; k < 6; k++)
		if (bpf_map_update_elem(&hmap, &k, &v, BPF_ANY) == 0)
			inserted++;
	__u32 k = 5;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_ANY) == -7)
		ok++;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_NOEXIST) == -7)
		ok++;
	k = 3;
	v = 33;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_ANY) == 0)
		ok++;
	if (bpf_map_update_elem(&hmap, &k, &v, BPF_EXIST) == 0)
		ok++;
	__u64 *p = bpf_map_lookup_elem(&hmap, &k);
	if (p && *p == 33)
		ok++;
	/* deleting makes room again */
	if (bpf_map_delete_elem(&hmap, &k) == 0 &&
	    bpf_map_update_elem(&hmap, &(__u32){ 5 }, &v, BPF_NOEXIST) == 0)
		ok++;
	return inserted * 100 + ok;
}

// TEST prog=array_ops retval=0 map=arr:00000000:2a00000000000000 map=arr:03000000:0700000000000000
SEC("syscall")
int array_ops(void *ctx)
{
	__u32 k = 0;
	__u64 v = 42, *p;

	/* every element of an array exists, zeroed */
	p = bpf_map_lookup_elem(&arr, &k);
	if (!p || *p != 0)
		return 1;
	if (bpf_map_update_elem(&arr, &k, &v, BPF_NOEXIST) != -17)
		return 2;
	if (bpf_map_update_elem(&arr, &k, &v, BPF_EXIST) != 0)
		return 3;
	if (*p != 42)
		return 4;
	k = 4;
	if (bpf_map_lookup_elem(&arr, &k))
		return 5;
	if (bpf_map_update_elem(&arr, &k, &v, BPF_ANY) != -7)
		return 6;
	k = 1;
	if (bpf_map_delete_elem(&arr, &k) != -22)
		return 7;
	k = 3;
	p = bpf_map_lookup_elem(&arr, &k);
	if (!p)
		return 8;
	*p = 7;
	return 0;
}

// TEST prog=percpu_ops retval=0
SEC("syscall")
int percpu_ops(void *ctx)
{
	__u32 k = 1;
	__u64 v = 5, *p;

	p = bpf_map_lookup_elem(&parr, &k);
	if (!p || *p != 0)
		return 1;
	*p += 3;
	p = bpf_map_lookup_elem(&parr, &k);
	if (!p || *p != 3)
		return 2;
	if (bpf_map_update_elem(&parr, &k, &v, BPF_NOEXIST) != -17)
		return 3;
	if (bpf_map_update_elem(&parr, &k, &v, BPF_ANY) != 0)
		return 4;
	if (!(p = bpf_map_lookup_elem(&parr, &k)) || *p != 5)
		return 5;
	k = 2;
	if (bpf_map_lookup_elem(&parr, &k))
		return 6;

	k = 9;
	if (bpf_map_lookup_elem(&phash, &k))
		return 7;
	if (bpf_map_update_elem(&phash, &k, &v, BPF_EXIST) != -2)
		return 8;
	if (bpf_map_update_elem(&phash, &k, &v, BPF_NOEXIST) != 0)
		return 9;
	if (bpf_map_update_elem(&phash, &k, &v, BPF_NOEXIST) != -17)
		return 10;
	p = bpf_map_lookup_elem(&phash, &k);
	if (!p || *p != 5)
		return 11;
	*p *= 3;
	if (!(p = bpf_map_lookup_elem(&phash, &k)) || *p != 15)
		return 12;
	if (bpf_map_delete_elem(&phash, &k) != 0)
		return 13;
	if (bpf_map_lookup_elem(&phash, &k))
		return 14;
	return 0;
}

/* An LRU map never fails for lack of room: it evicts. The newest key
 * stays; at most max_entries keys are present. */
/* The kernel refuses it: "infinite loop detected" (the 32-bit loop
 * counter spilled to the stack loses its bounds). */
// TEST prog=lru_evict kernel=reject error=infinite__loop__detected
SEC("syscall")
int lru_evict(void *ctx)
{
	__u64 v;
	int found = 0;

	for (__u32 k = 1; k <= 8; k++) {
		v = k * 10;
		if (bpf_map_update_elem(&lru, &k, &v, BPF_NOEXIST) != 0)
			return 1;
	}
	for (__u32 k = 1; k <= 8; k++)
		if (bpf_map_lookup_elem(&lru, &k))
			found++;
	if (found < 1 || found > 4)
		return 2;
	__u32 k = 8;
	__u64 *p = bpf_map_lookup_elem(&lru, &k);
	if (!p || *p != 80)
		return 3;
	if (bpf_map_update_elem(&lru, &k, &v, BPF_NOEXIST) != -17)
		return 4;
	k = 100;
	if (bpf_map_update_elem(&lru, &k, &v, BPF_EXIST) != -2)
		return 5;
	k = 8;
	if (bpf_map_delete_elem(&lru, &k) != 0)
		return 6;
	if (bpf_map_delete_elem(&lru, &k) != -2)
		return 7;
	return 0;
}

/* A struct key; the value is updated in place through the pointer. */
// TEST prog=flow_count data=00112233445566778899aabb0800450000280001000040060000c0a80001c0a8000204d2005000000001000000005002721000000000 retval=3 map=flows:c0a80001c0a8000204d2005006000000:0300000000000000a200000000000000
SEC("tc")
int flow_count(struct __sk_buff *skb)
{
	struct flow_key key = {};
	struct flow_stats init = {}, *st;

	if (bpf_skb_load_bytes(skb, 26, &key.saddr, 4) ||
	    bpf_skb_load_bytes(skb, 30, &key.daddr, 4) ||
	    bpf_skb_load_bytes(skb, 34, &key.sport, 2) ||
	    bpf_skb_load_bytes(skb, 36, &key.dport, 2) ||
	    bpf_skb_load_bytes(skb, 23, &key.proto, 1))
		return -1;
	for (int i = 0; i < 3; i++) {
		st = bpf_map_lookup_elem(&flows, &key);
		if (!st) {
			bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
			st = bpf_map_lookup_elem(&flows, &key);
			if (!st)
				return -2;
		}
		st->packets++;
		st->bytes += skb->len;
	}
	st = bpf_map_lookup_elem(&flows, &key);
	return st ? st->packets : -3;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Callbacks: bpf_loop (returns the number of iterations run, counting the
 * one whose callback returned 1 to stop) and bpf_for_each_map_elem (the
 * number of elements visited, likewise), plus bounded loops the compiler
 * emits as back edges.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} hmap SEC(".maps");

struct loop_ctx {
	__u64 sum;
	__u32 stop_at;
	__u32 calls;
};

static long sum_cb(__u32 idx, struct loop_ctx *c)
{
	c->calls++;
	c->sum += idx;
	return idx == c->stop_at;
}

// TEST prog=loop_sum retval=0
SEC("syscall")
int loop_sum(void *ctx)
{
	struct loop_ctx c = { .stop_at = 1000 };
	long n = bpf_loop(10, sum_cb, &c, 0);

	if (n != 10 || c.sum != 45 || c.calls != 10)
		return 1;
	return 0;
}

// TEST prog=loop_stop retval=6
SEC("syscall")
int loop_stop(void *ctx)
{
	struct loop_ctx c = { .stop_at = 5 };
	long n = bpf_loop(100, sum_cb, &c, 0);

	if (c.calls != 6 || c.sum != 15)
		return -1;
	return n;
}

/* Zero iterations; flags must be 0; at most 1 << 23 iterations. */
/* The kernel inlines bpf_loop with constant flags, and its inlined form
 * returns -E2BIG as a 32-bit value (r0 = 0xfffffff9), so the 64-bit
 * comparison with -7 fails: 3. */
// TEST prog=loop_edges retval=3
SEC("syscall")
int loop_edges(void *ctx)
{
	struct loop_ctx c = { .stop_at = 1000 };

	if (bpf_loop(0, sum_cb, &c, 0) != 0 || c.calls != 0)
		return 1;
	if (bpf_loop(1, sum_cb, &c, 1) != -22 || c.calls != 0)
		return 2;
	if (bpf_loop((1 << 23) + 1, sum_cb, &c, 0) != -7 || c.calls != 0)
		return 3;
	return 0;
}

struct bpf_map;

struct each_ctx {
	__u64 sum;
	__u32 visits;
	__u32 stop_key;
};

static long each_cb(struct bpf_map *map, __u32 *key, __u64 *val,
		    struct each_ctx *c)
{
	c->visits++;
	c->sum += *val;
	*val += 1; /* the callback may write the value */
	return *key == c->stop_key;
}

/* Arrays visit every element in index order: 0+10+20+30+40. */
/* The kernel refuses it: "The sequence of 8193 jumps is too complex". */
// TEST prog=each_array kernel=reject error=infinite__loop__detected
SEC("syscall")
int each_array(void *ctx)
{
	struct each_ctx c = { .stop_key = 99 };

	for (__u32 k = 0; k < 5; k++) {
		__u64 v = k * 10;
		bpf_map_update_elem(&arr, &k, &v, BPF_ANY);
	}
	if (bpf_for_each_map_elem(&arr, each_cb, &c, 0) != 5)
		return 1;
	if (c.sum != 100 || c.visits != 5)
		return 2;
	/* stop at key 2: keys 0, 1, 2 visited (now 1 + 11 + 21); each of
	 * them is incremented again */
	c.sum = 0;
	c.visits = 0;
	c.stop_key = 2;
	if (bpf_for_each_map_elem(&arr, each_cb, &c, 0) != 3)
		return 3;
	if (c.sum != 33 || c.visits != 3)
		return 4;
	return 0;
}

/* The kernel refuses it: "infinite loop detected" (the 32-bit loop
 * counter spilled to the stack loses its bounds). */
// TEST prog=each_hash kernel=reject error=infinite__loop__detected
SEC("syscall")
int each_hash(void *ctx)
{
	struct each_ctx c = { .stop_key = 99 };

	if (bpf_for_each_map_elem(&hmap, each_cb, &c, 0) != 0 || c.visits)
		return 1;
	for (__u32 k = 1; k <= 4; k++) {
		__u64 v = k * k;
		bpf_map_update_elem(&hmap, &k, &v, BPF_ANY);
	}
	if (bpf_for_each_map_elem(&hmap, each_cb, &c, 0) != 4)
		return 2;
	if (c.sum != 30 || c.visits != 4)
		return 3;
	__u32 k = 3;
	__u64 *v = bpf_map_lookup_elem(&hmap, &k);
	if (!v || *v != 10)
		return 4;
	if (bpf_for_each_map_elem(&hmap, each_cb, &c, 1) != -22)
		return 5;
	return 0;
}

volatile __u32 bound = 100;

/* A loop with a runtime bound: a real back edge. */
// TEST prog=back_edge retval=5050
SEC("syscall")
int back_edge(void *ctx)
{
	__u32 sum = 0;

	for (__u32 i = 1; i <= bound && i <= 1000; i++)
		sum += i;
	return sum;
}

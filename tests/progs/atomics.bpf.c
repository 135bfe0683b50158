// SPDX-License-Identifier: GPL-2.0
/*
 * Atomic instructions as clang emits them for -mcpu=v4 (add, and, or, xor
 * with and without fetch, xchg, cmpxchg, 32- and 64-bit), on global data,
 * map values and the stack; and bpf_spin_lock in a map value.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 a64 = 10; /* .data offset 0 */
__u32 a32 = 3;  /* .data offset 8 */

struct locked {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 cnt;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked);
} lmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

// TEST prog=atomic64 retval=0 map=.data:00000000:0700000000000000
SEC("syscall")
int atomic64(void *ctx)
{
	__u64 old;

	old = __sync_fetch_and_add(&a64, 5);
	if (old != 10 || a64 != 15)
		return 1;
	__sync_fetch_and_add(&a64, 1); /* no fetch */
	old = __sync_val_compare_and_swap(&a64, 16, 100);
	if (old != 16 || a64 != 100)
		return 2;
	old = __sync_val_compare_and_swap(&a64, 16, 200);
	if (old != 100 || a64 != 100)
		return 3;
	old = __sync_lock_test_and_set(&a64, 0xf0f0);
	if (old != 100)
		return 4;
	old = __sync_fetch_and_and(&a64, 0xff00);
	if (old != 0xf0f0 || a64 != 0xf000)
		return 5;
	old = __sync_fetch_and_or(&a64, 0x0f);
	if (old != 0xf000 || a64 != 0xf00f)
		return 6;
	old = __sync_fetch_and_xor(&a64, 0xf008);
	if (old != 0xf00f || a64 != 7)
		return 7;
	if (!__sync_bool_compare_and_swap(&a64, 7, 7))
		return 8;
	return 0;
}

/* 32-bit operations leave the 32 bits next to them alone and return
 * zero-extended old values. */
// TEST prog=atomic32 retval=0 map=.data:00000000:0a00000000000000ffffffff
SEC("syscall")
int atomic32(void *ctx)
{
	__u32 o;

	o = __sync_fetch_and_or(&a32, 0xc);
	if (o != 3 || a32 != 0xf)
		return 1;
	o = __sync_fetch_and_and(&a32, 0x5);
	if (o != 0xf || a32 != 5)
		return 2;
	o = __sync_fetch_and_xor(&a32, 0xff);
	if (o != 5 || a32 != 0xfa)
		return 3;
	o = __sync_val_compare_and_swap(&a32, 0xfa, 0);
	if (o != 0xfa || a32 != 0)
		return 4;
	o = __sync_fetch_and_add(&a32, -1);
	if (o != 0 || a32 != 0xffffffff)
		return 5;
	o = __sync_lock_test_and_set(&a32, 0xffffffff);
	if (o != 0xffffffff)
		return 6;
	/* the old value comes back zero-extended to 64 bits */
	__u64 wide = __sync_fetch_and_add(&a32, 0);
	if (wide != 0xffffffffULL)
		return 7;
	return 0;
}

// TEST prog=atomic_map retval=0 map=counters:00000000:fdffffffffffffff
SEC("syscall")
int atomic_map(void *ctx)
{
	__u32 k = 0;
	__u64 zero = 0, *v;
	__s64 sv = -3;

	bpf_map_update_elem(&counters, &k, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&counters, &k);
	if (!v)
		return 1;
	for (int i = 0; i < 10; i++)
		__sync_fetch_and_add(v, 1);
	if (__sync_fetch_and_sub(v, 13) != 10)
		return 2;
	if ((__s64)*v != sv)
		return 3;
	return 0;
}

// TEST prog=atomic_stack retval=0
SEC("syscall")
int atomic_stack(void *ctx)
{
	volatile __u64 x = 1;
	volatile __u32 y = 2;

	if (__sync_fetch_and_add(&x, 41) != 1 || x != 42)
		return 1;
	if (__sync_val_compare_and_swap(&y, 2, 9) != 2 || y != 9)
		return 2;
	return 0;
}

// TEST prog=spin retval=15 map=lmap:00000000:00000000000000000f00000000000000
SEC("syscall")
int spin(void *ctx)
{
	__u32 k = 0;
	struct locked *v = bpf_map_lookup_elem(&lmap, &k);

	if (!v)
		return -1;
	for (int i = 0; i < 3; i++) {
		bpf_spin_lock(&v->lock);
		v->cnt += 5;
		bpf_spin_unlock(&v->lock);
	}
	return v->cnt;
}

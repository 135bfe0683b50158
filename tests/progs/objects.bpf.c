// SPDX-License-Identifier: GPL-2.0
/*
 * Allocated objects: bpf_obj_new / bpf_obj_drop as bpf_experimental.h
 * defines them, their runs and the verifier's rules (a reference from new
 * to drop on every path, a throw included; accesses inside the struct;
 * nothing through a dropped pointer), each compared with the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"
#include "bpfx/bpf/bpfx_objects.h"

char LICENSE[] SEC("license") = "GPL";

struct pair {
	__u64 a;
	__u32 b;
	__u32 c;
};

struct blob {
	char bytes[4096 - 8];
};

struct too_big {
	char bytes[4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

#define PKT "0011223344556677889900aa08060001"

// TEST prog=new_drop data=0011223344556677889900aa08060001 retval=42
SEC("tc")
int new_drop(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(typeof(*p));
	int r;

	if (!p)
		return 1;
	p->a = 40;
	p->c = 2;
	r = p->a + p->c;
	bpf_obj_drop(p);
	return r;
}

/* Two objects held at once, dropped in the other order. */
// TEST prog=two_objects data=0011223344556677889900aa08060001 retval=7
SEC("tc")
int two_objects(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);
	struct pair *q;
	int r;

	if (!p)
		return 1;
	q = bpf_obj_new(struct pair);
	if (!q) {
		bpf_obj_drop(p);
		return 2;
	}
	p->b = 3;
	q->b = 4;
	r = p->b + q->b;
	bpf_obj_drop(q);
	bpf_obj_drop(p);
	return r;
}

/* A loop of allocations and drops. */
// TEST prog=new_in_loop data=0011223344556677889900aa08060001 retval=4950
SEC("tc")
int new_in_loop(struct __sk_buff *skb)
{
	int sum = 0;

	for (int i = 0; i < 100; i++) {
		struct pair *p = bpf_obj_new(struct pair);

		if (!p)
			return -1;
		p->c = i;
		sum += p->c;
		bpf_obj_drop(p);
	}
	return sum;
}

static __noinline int fill(struct pair *p, int v)
{
	p->a = v;
	p->c = v * 2;
	return 0;
}

/* An object passed to a static subprogram, which writes it. */
// TEST prog=obj_to_subprog data=0011223344556677889900aa08060001 retval=15
SEC("tc")
int obj_to_subprog(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);
	int r;

	if (!p)
		return 1;
	fill(p, 5);
	r = p->a + p->c;
	bpf_obj_drop(p);
	return r;
}

/* The largest object the kernel's allocator serves, its last byte used. */
// TEST prog=largest data=0011223344556677889900aa08060001 retval=9
SEC("tc")
int largest(struct __sk_buff *skb)
{
	struct blob *b = bpf_obj_new(struct blob);
	int r;

	if (!b)
		return 1;
	b->bytes[sizeof(b->bytes) - 1] = 9;
	r = b->bytes[sizeof(b->bytes) - 1];
	bpf_obj_drop(b);
	return r;
}

/* One byte more: NULL. */
// TEST prog=too_big_is_null data=0011223344556677889900aa08060001 retval=3
SEC("tc")
int too_big_is_null(struct __sk_buff *skb)
{
	struct too_big *b = bpf_obj_new(struct too_big);

	if (!b)
		return 3;
	bpf_obj_drop(b);
	return 4;
}

/* Objects in syscall programs too. */
// TEST prog=in_syscall ctx=0500000000000000 retval=5
SEC("syscall")
int in_syscall(__u32 *ctx)
{
	struct pair *p = bpf_obj_new(struct pair);
	int r;

	if (!p)
		return -1;
	p->b = *ctx;
	r = p->b;
	bpf_obj_drop(p);
	return r;
}

/* ---- rejections ---- */

// TEST prog=leak data=0011223344556677889900aa08060001 error=Unreleased__reference__id=
SEC("tc")
int leak(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	if (!p)
		return 1;
	p->a = 1;
	return 0;
}

/* exceptions_fail.c's reject_with_reference */
// TEST prog=throw_with_obj data=0011223344556677889900aa08060001 error=bpf_throw__would__lead__to__reference__leak
SEC("tc")
int throw_with_obj(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	if (!p)
		return 0;
	bpf_throw(0);
	return 0;
}

static __noinline int subprog_throws(int v)
{
	if (v > 1)
		bpf_throw(v);
	return v;
}

/* A throw from a static subprogram while the caller holds an object. */
// TEST prog=subprog_throw_with_obj data=0011223344556677889900aa08060001 error=bpf_throw__would__lead__to__reference__leak
SEC("tc")
int subprog_throw_with_obj(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);
	int r;

	if (!p)
		return 0;
	r = subprog_throws(skb->len);
	bpf_obj_drop(p);
	return r;
}

// TEST prog=no_null_check data=0011223344556677889900aa08060001 error=invalid__mem__access__'ptr_or_null_'
SEC("tc")
int no_null_check(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	p->a = 1;
	bpf_obj_drop(p);
	return 0;
}

// TEST prog=use_after_drop data=0011223344556677889900aa08060001 error=invalid__mem__access__'scalar'
SEC("tc")
int use_after_drop(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	if (!p)
		return 0;
	bpf_obj_drop(p);
	return p->b;
}

// TEST prog=double_drop data=0011223344556677889900aa08060001 error=R1__must__be__referenced__or__trusted
SEC("tc")
int double_drop(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	if (!p)
		return 0;
	bpf_obj_drop(p);
	bpf_obj_drop(p);
	return 0;
}

// TEST prog=beyond_struct data=0011223344556677889900aa08060001 error=access__beyond__struct__pair__at__off__16__size__4
SEC("tc")
int beyond_struct(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);
	int r;

	if (!p)
		return 0;
	r = ((__u32 *)p)[4];
	bpf_obj_drop(p);
	return r;
}

/* One access across two members: the kernel checks member boundaries. */
// TEST prog=across_members data=0011223344556677889900aa08060001 error=access__beyond__the__end__of__member__b__(mend:12)__in__struct__pair__with__off__8__size__8
SEC("tc")
int across_members(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	if (!p)
		return 0;
	*(volatile __u64 *)&p->b = 1;
	bpf_obj_drop(p);
	return 0;
}

// TEST prog=drop_map_value data=0011223344556677889900aa08060001 error=R1__must__be__referenced__or__trusted
SEC("tc")
int drop_map_value(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&arr, &k);

	if (!v)
		return 0;
	bpf_obj_drop(v);
	return 0;
}

// TEST prog=drop_maybe_null data=0011223344556677889900aa08060001 error=Possibly__NULL__pointer__passed__to__trusted__arg0
SEC("tc")
int drop_maybe_null(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	bpf_obj_drop(p);
	return 0;
}

// TEST prog=drop_interior data=0011223344556677889900aa08060001 error=R1__must__have__zero__offset__when__passed__to__release__func
SEC("tc")
int drop_interior(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	if (!p)
		return 0;
	bpf_obj_drop(&p->b);
	return 0;
}

// TEST prog=new_not_struct data=0011223344556677889900aa08060001 error=bpf_obj_new/bpf_percpu_obj_new__type__ID__argument__must__be__of__a__struct
SEC("tc")
int new_not_struct(struct __sk_buff *skb)
{
	int *p = bpf_obj_new(int);

	if (!p)
		return 0;
	bpf_obj_drop(p);
	return 0;
}

/* Not in the kernel's kfunc sets for socket filters. */
// TEST prog=not_for_socket_filter data=0011223344556677889900aa08060001 error=calling__kernel__function__bpf_obj_new_impl__is__not__allowed
SEC("socket")
int not_for_socket_filter(struct __sk_buff *skb)
{
	struct pair *p = bpf_obj_new(struct pair);

	if (p)
		bpf_obj_drop(p);
	return 0;
}

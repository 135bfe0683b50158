// SPDX-License-Identifier: GPL-2.0
/*
 * Programs the verifier must refuse, each with the kernel's message. The
 * kernel engine only has to refuse them too; kernel=accept marks where
 * bpfx is deliberately stricter than a privileged kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct locked {
	struct bpf_spin_lock lock;
	__u64 v;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked);
} larr SEC(".maps");

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

/* An array lookup with key 0 (stored as zeros) cannot fail: the kernel
 * (6.14 on) and bpfx need no null check there. */
// TEST prog=no_null_check_const_key retval=0
SEC("syscall")
int no_null_check_const_key(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&arr, &k);
	return *v;
}

/* A key the verifier does not know: the result may be NULL. */
// TEST prog=no_null_check error=R0__invalid__mem__access__'map_value_or_null'
SEC("syscall")
int no_null_check(__u32 *ctx)
{
	__u32 k = *ctx;
	__u64 *v = bpf_map_lookup_elem(&arr, &k);
	return *v;
}

// TEST prog=map_oob error=invalid__access__to__map__value,__value_size=8__off=8__size=8
SEC("syscall")
int map_oob(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&arr, &k);
	if (!v)
		return 0;
	return v[1];
}

// TEST prog=pkt_unchecked data=0011223344556677889900aa08060001 error=invalid__access__to__packet,__off=0__size=1
SEC("tc")
int pkt_unchecked(struct __sk_buff *skb)
{
	unsigned char *p = (void *)(long)skb->data;
	return *p;
}

// TEST prog=ctx_bad_write data=0011223344556677889900aa08060001 error=invalid__bpf_context__access__off=0__size=4
SEC("tc")
int ctx_bad_write(struct __sk_buff *skb)
{
	skb->len = 1;
	return 0;
}

// TEST prog=ringbuf_leak error=Unreleased__reference__id=
SEC("syscall")
int ringbuf_leak(void *ctx)
{
	__u64 *s = bpf_ringbuf_reserve(&rb, 8, 0);
	if (!s)
		return 0;
	*s = 1;
	return 1;
}

// TEST prog=call_under_lock error=function__calls__are__not__allowed__while__holding__a__lock
SEC("tc")
int call_under_lock(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct locked *l = bpf_map_lookup_elem(&larr, &k);
	if (!l)
		return 0;
	bpf_spin_lock(&l->lock);
	l->v = bpf_ktime_get_ns();
	bpf_spin_unlock(&l->lock);
	return 0;
}

// TEST prog=throw_with_ref data=0011223344556677889900aa08060001 error=bpf_throw__would__lead__to__reference__leak
SEC("tc")
int throw_with_ref(struct __sk_buff *skb)
{
	__u64 *s = bpf_ringbuf_reserve(&rb, 8, 0);
	if (!s)
		return 0;
	bpf_throw(1);
	bpf_ringbuf_discard(s, 0);
	return 0;
}

// TEST prog=throw_in_rcu data=0011223344556677889900aa08060001 error=bpf_throw__cannot__be__used__inside__bpf_rcu_read_lock-ed__region
SEC("tc")
int throw_in_rcu(struct __sk_buff *skb)
{
	bpf_rcu_read_lock();
	bpf_throw(1);
	bpf_rcu_read_unlock();
	return 0;
}

static long throwing_cb(__u32 i, void *ctx)
{
	bpf_throw(1);
	return 0;
}

// TEST prog=throw_in_callback data=0011223344556677889900aa08060001 error=cannot__be__called__from__callback__subprog
SEC("tc")
int throw_in_callback(struct __sk_buff *skb)
{
	bpf_loop(2, throwing_cb, NULL, 0);
	return 0;
}

__noinline int global_thrower(int x)
{
	if (x > 3)
		bpf_throw(x);
	return x;
}

/* The kernel lets the global function's throw leak the caller's RCU
 * section; bpfx refuses the call. */
// TEST prog=global_throw_in_rcu data=0011223344556677889900aa08060001 kernel=accept error=may__throw:__bpf_throw__cannot__be__used__inside__bpf_rcu_read_lock-ed__region
SEC("tc")
int global_throw_in_rcu(struct __sk_buff *skb)
{
	int r;

	bpf_rcu_read_lock();
	r = global_thrower(skb->len);
	bpf_rcu_read_unlock();
	return r;
}

/* A privileged kernel reads never-written stack as unknown; bpfx
 * refuses, as the kernel does for unprivileged loaders. */
// TEST prog=uninit_stack kernel=accept error=invalid__read__from__stack__off__-8+0__size__8
SEC("syscall")
int uninit_stack(void *ctx)
{
	long v;

	asm volatile("%0 = *(u64 *)(r10 - 8)" : "=r"(v));
	return (int)v;
}

// TEST prog=uninit_reg error=R2__!read_ok
SEC("syscall")
int uninit_reg(void *ctx)
{
	long v;

	asm volatile("%0 = r2" : "=r"(v));
	return (int)v;
}

// TEST prog=endless error=infinite__loop__detected__at__insn
SEC("syscall")
int endless(void *ctx)
{
	/* the way out is never taken: r0 stays 0 */
	asm volatile("r0 = 0; l_%=: if r0 != 0 goto +1; goto l_%=;" : : : "r0");
	return 0;
}

// TEST prog=cgroup_ret data=45000014000000004006000000000000000000000000 kernel=reject error=At__program__exit__the__register__R0__has__smin=2__smax=2__should__have__been__in__[0,__1]
SEC("cgroup_skb/ingress")
int cgroup_ret(struct __sk_buff *skb)
{
	return 2;
}

/* The custom exception callback's R0 is the program's return value: the
 * program type's range applies to it, with the kernel's message. */
__noinline int cgroup_cb_out_of_range(__u64 cookie)
{
	return cookie + 5;
}

// TEST prog=cgroup_cb_ret data=45000014000000004006000000000000000000000000 kernel=reject error=At__program__exit__the__register__R0__has__smin=0__smax=4294967295__should__have__been__in__[0,__1]
SEC("cgroup_skb/ingress") __exception_cb(cgroup_cb_out_of_range)
int cgroup_cb_ret(struct __sk_buff *skb)
{
	if (skb->len > 10)
		bpf_throw(1);
	return 1;
}


/* A kfunc that returns void leaves r0 unset. */
// TEST prog=void_kfunc_r0 error=R0__!read_ok
SEC("tc")
int void_kfunc_r0(struct __sk_buff *skb)
{
	long r;

	asm volatile("call %[bpf_rcu_read_lock];"
		     "call %[bpf_rcu_read_unlock];"
		     "%0 = r0;"
		     : "=r"(r)
		     : [bpf_rcu_read_lock] "i"(bpf_rcu_read_lock),
		       [bpf_rcu_read_unlock] "i"(bpf_rcu_read_unlock)
		     : "r0", "r1", "r2", "r3", "r4", "r5");
	return (int)r;
}

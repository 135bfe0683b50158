// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's rules for exception callbacks and for bpf_throw, each with
 * the kernel's message (the kernel engine checks that the host kernel
 * refuses the same programs).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"
#include "bpfx/bpf/bpfx_objects.h"

char LICENSE[] SEC("license") = "GPL";

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct foo {
	int x;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct bpf_spin_lock);
} locks SEC(".maps");

/* ---- the callback's signature ---- */

__noinline void *cb_returns_pointer(__u64 cookie)
{
	return 0;
}

// TEST prog=cb_pointer_return data=00112233445566778899aabb08060001 error=Global__function__cb_returns_pointer()__doesn't__return__scalar.
SEC("?tc") __exception_cb(cb_returns_pointer)
int cb_pointer_return(struct __sk_buff *ctx)
{
	bpf_throw(0);
	return 0;
}

__noinline int cb_no_arg(void)
{
	return 0;
}

// TEST prog=cb_zero_args data=00112233445566778899aabb08060001 error=exception__cb__only__supports__single__integer__argument
SEC("?tc") __exception_cb(cb_no_arg)
int cb_zero_args(struct __sk_buff *ctx)
{
	bpf_throw(0);
	return 0;
}

__noinline int cb_two_args(int a, int b)
{
	return 0;
}

// TEST prog=cb_two_arg data=00112233445566778899aabb08060001 error=exception__cb__only__supports__single__integer__argument
SEC("?tc") __exception_cb(cb_two_args)
int cb_two_arg(struct __sk_buff *ctx)
{
	bpf_throw(0);
	return 0;
}

__noinline int cb_small_arg(int a)
{
	return a + 1;
}

/* an int argument is an integer too: the cookie's low 32 bits */
// TEST prog=cb_int_arg data=00112233445566778899aabb08060001 retval=8
SEC("?tc") __exception_cb(cb_small_arg)
int cb_int_arg(struct __sk_buff *ctx)
{
	bpf_throw(7);
	return 0;
}

__noinline int cb_throws(__u64 cookie)
{
	bpf_throw(0);
	return cookie;
}

// TEST prog=throwing_cb data=00112233445566778899aabb08060001 error=cannot__be__called__from__callback__subprog
SEC("?tc") __exception_cb(cb_throws)
int throwing_cb(struct __sk_buff *ctx)
{
	return 0;
}

__noinline int cb_plain(__u64 cookie)
{
	return cookie;
}

__noinline int calls_the_cb(struct __sk_buff *ctx)
{
	return cb_plain(ctx->tstamp);
}

// TEST prog=cb_called_directly data=00112233445566778899aabb08060001 error=cannot__call__exception__cb__directly
SEC("?tc") __exception_cb(cb_plain)
int cb_called_directly(struct __sk_buff *ctx)
{
	return calls_the_cb(ctx);
}

__noinline int cb_other(__u64 cookie)
{
	return cookie;
}

// TEST prog=two_cb_tags data=00112233445566778899aabb08060001 error=multiple__exception__callback__tags__for__main__subprog
SEC("?tc") __exception_cb(cb_plain) __exception_cb(cb_other)
int two_cb_tags(struct __sk_buff *ctx)
{
	bpf_throw(0);
	return 16;
}

/* ---- what a throw may not leave behind ---- */

// TEST prog=throw_holding_lock data=00112233445566778899aabb08060001 error=function__calls__are__not__allowed__while__holding__a__lock
SEC("?tc")
int throw_holding_lock(struct __sk_buff *ctx)
{
	struct bpf_spin_lock *l = bpf_map_lookup_elem(&locks, &(int){ 0 });

	if (!l)
		return 0;
	bpf_spin_lock(l);
	bpf_throw(0);
	return 0;
}

// TEST prog=throw_in_rcu data=00112233445566778899aabb08060001 error=bpf_throw__cannot__be__used__inside__bpf_rcu_read_lock-ed__region
SEC("?tc")
int throw_in_rcu(struct __sk_buff *ctx)
{
	bpf_rcu_read_lock();
	bpf_throw(0);
	return 0;
}

static __noinline int throws_if_len(struct __sk_buff *ctx)
{
	if (ctx->len)
		bpf_throw(0);
	return 0;
}

// TEST prog=subprog_throw_in_rcu data=00112233445566778899aabb08060001 error=bpf_throw__cannot__be__used__inside__bpf_rcu_read_lock-ed__region
SEC("?tc")
int subprog_throw_in_rcu(struct __sk_buff *ctx)
{
	bpf_rcu_read_lock();
	int r = throws_if_len(ctx);
	bpf_rcu_read_unlock();
	return r;
}

// TEST prog=throw_holding_object data=00112233445566778899aabb08060001 error=bpf_throw__would__lead__to__reference__leak
SEC("?tc")
int throw_holding_object(struct __sk_buff *ctx)
{
	struct foo *f = bpf_obj_new(typeof(*f));

	if (!f)
		return 0;
	bpf_throw(0);
	return 0;
}

static __noinline int loop_throws(__u32 i, void *data)
{
	bpf_throw(0);
	return 0;
}

// TEST prog=throw_in_loop_callback data=00112233445566778899aabb08060001 error=cannot__be__called__from__callback__subprog
SEC("?tc")
int throw_in_loop_callback(struct __sk_buff *ctx)
{
	bpf_loop(5, loop_throws, 0, 0);
	return 0;
}

/* the default callback returns the cookie: a cgroup_skb program's
 * return range applies to it */
// TEST prog=cookie_out_of_range data=00112233445566778899aabb08060001 error=At__program__exit__the__register__R1__has__smin=64__smax=64__should__have__been__in__[0,__1]
SEC("?cgroup_skb/ingress")
int cookie_out_of_range(struct __sk_buff *ctx)
{
	bpf_throw(64);
	return 0;
}

/* a throw inside a bpf_loop callback while the caller holds an object:
 * the leak is found on the throwing path first (the kernel's order), the
 * callback rule only once every path is verified */
// TEST prog=loop_callback_throw_holding_object data=00112233445566778899aabb08060001 error=Unreleased__reference__id=2 vlog=bpf_throw__would__lead__to__reference__leak
SEC("?tc")
int loop_callback_throw_holding_object(struct __sk_buff *ctx)
{
	struct foo *f = bpf_obj_new(typeof(*f));

	if (!f)
		return 0;
	bpf_loop(3, loop_throws, 0, 0);
	bpf_obj_drop(f);
	return 0;
}

/* the rule names the throwing instruction and the callback around it,
 * also when the throw is in a subprogram the callback calls */
static __noinline int throws_below(void)
{
	bpf_throw(2);
	return 0;
}

static __noinline int loop_calls_thrower(__u32 i, void *data)
{
	return throws_below();
}

// TEST prog=throw_below_loop_callback data=00112233445566778899aabb08060001 error=cannot__be__called__from__callback__subprog
SEC("?tc")
int throw_below_loop_callback(struct __sk_buff *ctx)
{
	bpf_loop(2, loop_calls_thrower, 0, 0);
	return 0;
}

/* fentry/fexit programs must return 0: the default callback returns the
 * cookie, so bpf_throw(64) breaks that rule at the throw (loaded only,
 * never attached, on the kernel engine) */
// TEST prog=fentry_throw_cookie error=At__program__exit__the__register__R1__has__smin=64__smax=64__should__have__been__in__[0,__0]
SEC("?fentry/bpf_check")
int fentry_throw_cookie(void *ctx)
{
	bpf_throw(64);
	return 0;
}

__noinline int cb_returns_cookie(__u64 cookie)
{
	return cookie;
}

/* ... and a custom callback's return is the program's */
// TEST prog=fentry_cb_unknown_return error=At__program__exit__the__register__R0__has__unknown__scalar__value__should__have__been__in__[0,__0]
SEC("?fentry/bpf_check") __exception_cb(cb_returns_cookie)
int fentry_cb_unknown_return(void *ctx)
{
	return 0;
}

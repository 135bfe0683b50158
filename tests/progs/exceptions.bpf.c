// SPDX-License-Identifier: GPL-2.0
/*
 * BPF exceptions: bpf_throw with the default callback (the program returns
 * the cookie; test_run shows its low 32 bits) and with custom callbacks
 * (they get the whole 64-bit cookie, their return is the program's, and
 * they run only when something was thrown); throws from depths 0 to 7
 * through static subprograms and from global subprograms; a tail-call
 * target as its own exception boundary; side effects before a throw stay.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"

char LICENSE[] SEC("license") = "GPL";

__u64 before_throw;
__u64 cb_runs;
__u64 cb_cookie;
volatile __u64 cookie_src = 7; /* keeps cookies out of the verifier's sight */

/* ---- default callback: the cookie, low 32 bits ---- */

// TEST prog=throw_0 data=0011223344556677889900aa08060001 retval=0
SEC("tc")
int throw_0(struct __sk_buff *skb)
{
	bpf_throw(0);
	return 1;
}

// TEST prog=throw_small data=0011223344556677889900aa08060001 retval=5
SEC("tc")
int throw_small(struct __sk_buff *skb)
{
	bpf_throw(5);
	return 1;
}

// TEST prog=throw_u32_max data=0011223344556677889900aa08060001 retval=0xffffffff
SEC("tc")
int throw_u32_max(struct __sk_buff *skb)
{
	bpf_throw(0xffffffffULL);
	return 1;
}

// TEST prog=throw_big data=0011223344556677889900aa08060001 retval=7
SEC("tc")
int throw_big(struct __sk_buff *skb)
{
	bpf_throw(0x100000007ULL);
	return 1;
}

// TEST prog=throw_minus_two data=0011223344556677889900aa08060001 retval=0xfffffffe
SEC("tc")
int throw_minus_two(struct __sk_buff *skb)
{
	bpf_throw((__u64)-2);
	return 1;
}

/* Side effects made before the throw stay. */
// TEST prog=throw_after_write data=0011223344556677889900aa08060001 retval=9 map=.bss:00000000:2a00000000000000
SEC("tc")
int throw_after_write(struct __sk_buff *skb)
{
	before_throw = 42;
	if (cookie_src == 7)
		bpf_throw(9);
	before_throw = 1;
	return 1;
}

/* ---- custom callbacks ---- */

__noinline int full_cookie_cb(__u64 cookie)
{
	cb_runs++;
	cb_cookie = cookie;
	return cookie == 0x100000007ULL ? 77 : 1;
}

// TEST prog=custom_cb data=0011223344556677889900aa08060001 retval=77 map=.bss:00000000:000000000000000001000000000000000700000001000000
SEC("tc") __exception_cb(full_cookie_cb)
int custom_cb(struct __sk_buff *skb)
{
	bpf_throw(0x100000007ULL);
	return 1;
}

/* No throw: the callback does not run. */
// TEST prog=custom_cb_no_throw data=0011223344556677889900aa08060001 retval=3 map=.bss:00000000:00000000000000000000000000000000
SEC("tc") __exception_cb(full_cookie_cb)
int custom_cb_no_throw(struct __sk_buff *skb)
{
	if (cookie_src == 8)
		bpf_throw(1);
	return 3;
}

__noinline int minus_cb(__u64 cookie)
{
	return (int)(cookie >> 32) - 1;
}

// TEST prog=custom_cb_high data=0011223344556677889900aa08060001 retval=0x11
SEC("tc") __exception_cb(minus_cb)
int custom_cb_high(struct __sk_buff *skb)
{
	bpf_throw(0x1200000000ULL);
	return 1;
}

/* ---- depth: main (depth 0) down to seven nested static subprograms ---- */

#define LEVEL(n, next)                                                         \
	static __noinline int level##n(int target)                             \
	{                                                                      \
		if (target == n)                                               \
			bpf_throw(100 + n);                                    \
		return next + 1;                                               \
	}
static __noinline int level7(int target)
{
	if (target == 7)
		bpf_throw(107);
	return 1;
}
LEVEL(6, level7(target))
LEVEL(5, level6(target))
LEVEL(4, level5(target))
LEVEL(3, level4(target))
LEVEL(2, level3(target))
LEVEL(1, level2(target))

#define DEPTH_PROG(n)                                                          \
	SEC("tc") int throw_depth##n(struct __sk_buff *skb)                    \
	{                                                                      \
		int target = n + (int)cookie_src - 7;                          \
		if (target == 0)                                               \
			bpf_throw(100);                                        \
		return level1(target) + 1000;                                  \
	}

// TEST prog=throw_depth0 data=0011223344556677889900aa08060001 retval=100
DEPTH_PROG(0)
// TEST prog=throw_depth1 data=0011223344556677889900aa08060001 retval=101
DEPTH_PROG(1)
// TEST prog=throw_depth2 data=0011223344556677889900aa08060001 retval=102
DEPTH_PROG(2)
// TEST prog=throw_depth3 data=0011223344556677889900aa08060001 retval=103
DEPTH_PROG(3)
// TEST prog=throw_depth4 data=0011223344556677889900aa08060001 retval=104
DEPTH_PROG(4)
// TEST prog=throw_depth5 data=0011223344556677889900aa08060001 retval=105
DEPTH_PROG(5)
// TEST prog=throw_depth6 data=0011223344556677889900aa08060001 retval=106
DEPTH_PROG(6)
// TEST prog=throw_depth7 data=0011223344556677889900aa08060001 retval=107
DEPTH_PROG(7)
/* Nothing thrown: every level adds one. */
// TEST prog=throw_depth9 data=0011223344556677889900aa08060001 retval=1007
DEPTH_PROG(9)

/* Deep throw with a custom callback. */
__noinline int depth_cb(__u64 cookie)
{
	return (int)cookie * 2;
}

// TEST prog=deep_custom data=0011223344556677889900aa08060001 retval=210
SEC("tc") __exception_cb(depth_cb)
int deep_custom(struct __sk_buff *skb)
{
	return level1(5 + (int)cookie_src - 7);
}

/* ---- global subprograms ---- */

__noinline int global_thrower(int x)
{
	if (x > 3)
		bpf_throw(x * 10);
	return x;
}

// TEST prog=global_throw data=0011223344556677889900aa08060001 retval=70
SEC("tc")
int global_throw(struct __sk_buff *skb)
{
	return global_thrower((int)cookie_src) + 1;
}

// TEST prog=global_no_throw data=0011223344556677889900aa08060001 retval=3
SEC("tc")
int global_no_throw(struct __sk_buff *skb)
{
	return global_thrower((int)cookie_src - 5) + 1;
}

__noinline int global_cb(__u64 cookie)
{
	return (int)cookie + 1;
}

// TEST prog=global_throw_cb data=0011223344556677889900aa08060001 retval=71
SEC("tc") __exception_cb(global_cb)
int global_throw_cb(struct __sk_buff *skb)
{
	return global_thrower((int)cookie_src) + 1;
}

/* ---- a tail-call target is its own boundary ---- */

int tail_thrower(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
	__array(values, int(struct __sk_buff *));
} exc_jmp SEC(".maps") = {
	.values = { [0] = (void *)&tail_thrower },
};

SEC("tc")
int tail_thrower(struct __sk_buff *skb)
{
	bpf_throw(55);
	return 2;
}

__noinline int caller_cb(__u64 cookie)
{
	return 999;
}

// TEST prog=tail_boundary data=0011223344556677889900aa08060001 retval=55
SEC("tc") __exception_cb(caller_cb)
int tail_boundary(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &exc_jmp, 0);
	return 1;
}

/* ---- program types that may not call bpf_throw ---- */

// TEST prog=socket_throw data=0011223344556677889900aa08060001 error=calling__kernel__function__bpf_throw__is__not__allowed
SEC("?socket")
int socket_throw(struct __sk_buff *skb)
{
	bpf_throw(1);
	return 1;
}

// TEST prog=raw_tp_throw ctx=0000000000000000 error=calling__kernel__function__bpf_throw__is__not__allowed
SEC("?raw_tracepoint/sys_enter")
int raw_tp_throw(void *ctx)
{
	bpf_throw(1);
	return 1;
}

/* syscall programs may throw */
// TEST prog=syscall_throw ctx=0000000000000000 retval=12
SEC("syscall")
int syscall_throw(void *ctx)
{
	bpf_throw(12);
	return 1;
}

/* ---- a tail call from a static subprogram: the target's throw ends the
 * frame it replaced, and the caller goes on (16 + 8) ---- */

int sub_tail_target(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__array(values, int(struct __sk_buff *));
} sub_jmp SEC(".maps") = {
	.values = { [0] = (void *)&sub_tail_target },
};

SEC("tc")
int sub_tail_target(struct __sk_buff *skb)
{
	bpf_throw(16);
	return 0;
}

static __noinline int tail_from_subprog(struct __sk_buff *skb)
{
	volatile int ret = 10;

	bpf_tail_call(skb, &sub_jmp, 0);
	return ret;
}

// TEST prog=tail_in_subprog data=00112233445566778899aabb0806 retval=24
SEC("tc")
int tail_in_subprog(struct __sk_buff *skb)
{
	volatile int ret = 0;

	ret = tail_from_subprog(skb);
	return ret + 8;
}

/* ---- a callback that calls a global function ---- */

__noinline int cb_helper_global(__u64 cookie)
{
	volatile int ret = 0;

	return ret;
}

__noinline int cb_calls_global(__u64 cookie)
{
	return cb_helper_global(cookie) + (int)cookie + 10;
}

// TEST prog=cb_with_call data=00112233445566778899aabb0806 retval=35
SEC("tc") __exception_cb(cb_calls_global)
int cb_with_call(struct __sk_buff *skb)
{
	bpf_throw(25);
	return 0;
}

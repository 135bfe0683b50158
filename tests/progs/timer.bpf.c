// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_timer: the helpers' return codes (the kernel's, checked against it
 * on every engine) and the verifier's rules for timer arguments, direct
 * accesses and async callbacks, with the kernel's messages. That timers
 * fire is tests/unit/test_timers.c's part: the kernel fires its own
 * later, where the harness cannot see them.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_timer.h"
#include "bpfx/bpf/bpfx_exceptions.h"

char LICENSE[] SEC("license") = "GPL";

extern void bpf_rcu_read_lock(void) __ksym;

#define EBUSY 16
#define EINVAL 22

struct elem {
	int count;
	struct bpf_timer t;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, int);
	__type(value, struct elem);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2);
	__type(key, int);
	__type(value, struct elem);
} hmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2);
	__type(key, int);
	__type(value, struct elem);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, int);
} plain SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct elem);
} pcpu SEC(".maps");

static int cb(void *map, int *key, struct elem *v)
{
	v->count++;
	return 0;
}

static struct elem *elem0(void)
{
	int k = 0;

	return bpf_map_lookup_elem(&arr, &k);
}

/* Every return code, in one run: each wrong one sets its own bit. */
// TEST prog=codes data=00112233445566778899aabb08060001 retval=0
SEC("tc")
int codes(struct __sk_buff *ctx)
{
	struct elem *v = elem0();
	int bad = 0;

	if (!v)
		return -1;
	if (bpf_timer_set_callback(&v->t, cb) != -EINVAL)
		bad |= 1;
	if (bpf_timer_start(&v->t, 0, 0) != -EINVAL)
		bad |= 2;
	if (bpf_timer_cancel(&v->t) != -EINVAL)
		bad |= 4;
	if (bpf_timer_init(&v->t, &arr, 2 /* CLOCK_PROCESS_CPUTIME_ID */) != -EINVAL)
		bad |= 8;
	if (bpf_timer_init(&v->t, &arr, 16) != -EINVAL)
		bad |= 16;
	if (bpf_timer_init(&v->t, &arr, CLOCK_MONOTONIC) != 0)
		bad |= 32;
	if (bpf_timer_init(&v->t, &arr, CLOCK_REALTIME) != -EBUSY)
		bad |= 64;
	if (bpf_timer_start(&v->t, 0, 0) != -EINVAL) /* no callback yet */
		bad |= 128;
	if (bpf_timer_cancel(&v->t) != 0)
		bad |= 256;
	if (bpf_timer_set_callback(&v->t, cb) != 0)
		bad |= 512;
	if (bpf_timer_start(&v->t, 0, 4) != -EINVAL)
		bad |= 1024;
	if (bpf_timer_start(&v->t, 3600000000000ULL, 0) != 0)
		bad |= 2048;
	if (bpf_timer_cancel(&v->t) != 1) /* it was armed */
		bad |= 4096;
	if (bpf_timer_cancel(&v->t) != 0)
		bad |= 8192;
	/* the cancel dropped the callback */
	if (bpf_timer_start(&v->t, 3600000000000ULL, 0) != -EINVAL)
		bad |= 16384;
	return bad;
}

/* Flags of bpf_timer_start; absolute times on the timer's clock. */
// TEST prog=start_flags data=00112233445566778899aabb08060001 retval=0
SEC("tc")
int start_flags(struct __sk_buff *ctx)
{
	struct elem *v = elem0();
	int bad = 0;

	if (!v)
		return -1;
	if (bpf_timer_init(&v->t, &arr, CLOCK_BOOTTIME) ||
	    bpf_timer_set_callback(&v->t, cb))
		return -2;
	if (bpf_timer_start(&v->t, bpf_ktime_get_boot_ns() + 3600000000000ULL,
			    BPF_F_TIMER_ABS) != 0)
		bad |= 1;
	if (bpf_timer_start(&v->t, 3600000000000ULL, BPF_F_TIMER_CPU_PIN) != 0)
		bad |= 2;
	if (bpf_timer_start(&v->t, 3600000000000ULL,
			    BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN) != 0)
		bad |= 4;
	if (bpf_timer_start(&v->t, 0, 8) != -EINVAL)
		bad |= 8;
	if (bpf_timer_cancel(&v->t) != 1)
		bad |= 16;
	return bad;
}

/* An element's timer goes with it: after an update of the element the
 * timer is gone (-EINVAL), and init works again. */
// TEST prog=update_frees data=00112233445566778899aabb08060001 retval=0
SEC("tc")
int update_frees(struct __sk_buff *ctx)
{
	struct elem zero = {}, *v;
	int k = 1, bad = 0;

	v = bpf_map_lookup_elem(&arr, &k);
	if (!v)
		return -1;
	if (bpf_timer_init(&v->t, &arr, CLOCK_MONOTONIC) ||
	    bpf_timer_set_callback(&v->t, cb) ||
	    bpf_timer_start(&v->t, 3600000000000ULL, 0))
		return -2;
	bpf_map_update_elem(&arr, &k, &zero, 0);
	if (bpf_timer_cancel(&v->t) != -EINVAL)
		bad |= 1;
	if (bpf_timer_init(&v->t, &arr, CLOCK_MONOTONIC) != 0)
		bad |= 2;
	return bad;
}

/* Hash and LRU elements: deleted with the element. */
// TEST prog=hash_delete data=00112233445566778899aabb08060001 retval=0
SEC("tc")
int hash_delete(struct __sk_buff *ctx)
{
	struct elem zero = {}, *v, *w;
	int k = 5, bad = 0;

	if (bpf_map_update_elem(&hmap, &k, &zero, 0) ||
	    bpf_map_update_elem(&lru, &k, &zero, 0))
		return -1;
	v = bpf_map_lookup_elem(&hmap, &k);
	w = bpf_map_lookup_elem(&lru, &k);
	if (!v || !w)
		return -2;
	if (bpf_timer_init(&v->t, &hmap, CLOCK_MONOTONIC) ||
	    bpf_timer_init(&w->t, &lru, CLOCK_MONOTONIC))
		return -3;
	if (bpf_timer_set_callback(&v->t, cb) ||
	    bpf_timer_start(&v->t, 3600000000000ULL, 0))
		return -4;
	bpf_map_delete_elem(&hmap, &k);
	bpf_map_update_elem(&hmap, &k, &zero, 0);
	v = bpf_map_lookup_elem(&hmap, &k);
	if (!v)
		return -5;
	if (bpf_timer_start(&v->t, 0, 0) != -EINVAL)
		bad |= 1;
	if (bpf_timer_init(&w->t, &lru, CLOCK_MONOTONIC) != -EBUSY)
		bad |= 2;
	return bad;
}

/* ---- the verifier ---- */

static int cb_ret1(void *map, int *key, struct elem *v)
{
	return 1;
}

// TEST prog=cb_returns_1 data=00112233445566778899aabb08060001 error=At__async__callback__return__the__register__R0__has__smin=1__smax=1__should__have__been__in__[0,__0]
SEC("tc")
int cb_returns_1(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_set_callback(&v->t, cb_ret1);
}

static int cb_ret_ptr(void *map, int *key, struct elem *v)
{
	return (long)v;
}

// TEST prog=cb_returns_ptr data=00112233445566778899aabb08060001 error=At__async__callback__return__the__register__R0__is__not__a__known__value__(map_value)
SEC("tc")
int cb_returns_ptr(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_set_callback(&v->t, cb_ret_ptr);
}

static int cb_throws(void *map, int *key, struct elem *v)
{
	bpf_throw(0);
	return 0;
}

/* as the kernel's exceptions_fail.c reject_async_callback_throw */
// TEST prog=async_cb_throws data=00112233445566778899aabb08060001 error=cannot__be__called__from__callback__subprog
SEC("tc")
int async_cb_throws(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_set_callback(&v->t, cb_throws);
}

static int cb_leaks_rcu(void *map, int *key, struct elem *v)
{
	bpf_rcu_read_lock();
	return 0;
}

// TEST prog=async_cb_rcu data=00112233445566778899aabb08060001 error=BPF_EXIT__instruction__in__main__prog__cannot__be__used__inside__bpf_rcu_read_lock-ed__region
SEC("tc")
int async_cb_rcu(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_set_callback(&v->t, cb_leaks_rcu);
}

/* the callback starts with nothing of its caller: R4 and R5 unset */
static __attribute__((noinline)) int cb_reads_r4(void *map, int *key,
						   struct elem *v)
{
	long r;

	asm volatile("%0 = r4" : "=r"(r));
	return r ? 0 : 0;
}

// TEST prog=async_cb_r4 data=00112233445566778899aabb08060001 error=R4__!read_ok
SEC("tc")
int async_cb_r4(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_set_callback(&v->t, cb_reads_r4);
}

/* the key is read-only */
static int cb_writes_key(void *map, int *key, struct elem *v)
{
	*key = 1;
	return 0;
}

// TEST prog=async_cb_key data=00112233445566778899aabb08060001 error=write__to__change__key__R2__not__allowed
SEC("tc")
int async_cb_key(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_set_callback(&v->t, cb_writes_key);
}

// TEST prog=wrong_offset data=00112233445566778899aabb08060001 error=off__0__doesn't__point__to__'struct__bpf_timer'__that__is__at__8
SEC("tc")
int wrong_offset(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_init((void *)&v->count, &arr, CLOCK_MONOTONIC);
}

// TEST prog=no_timer data=00112233445566778899aabb08060001 error=map__'plain'__has__no__valid__bpf_timer
SEC("tc")
int no_timer(struct __sk_buff *ctx)
{
	int k = 0, *v = bpf_map_lookup_elem(&plain, &k);

	if (!v)
		return 0;
	return bpf_timer_init((void *)v, &plain, CLOCK_MONOTONIC);
}

/* a per-CPU map keeps no timer: libbpf and bpfx create it without BTF */
// TEST prog=percpu_timer data=00112233445566778899aabb08060001 error=map__'pcpu'__has__to__have__BTF__in__order__to__use__bpf_timer
SEC("tc")
int percpu_timer(struct __sk_buff *ctx)
{
	int k = 0;
	struct elem *v = bpf_map_lookup_elem(&pcpu, &k);

	if (!v)
		return 0;
	return bpf_timer_init(&v->t, &pcpu, CLOCK_MONOTONIC);
}

// TEST prog=other_map data=00112233445566778899aabb08060001 error=timer__pointer__in__R1__map_uid=0__doesn't__match__map__pointer__in__R2__map_uid=0
SEC("tc")
int other_map(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_init(&v->t, &hmap, CLOCK_MONOTONIC);
}

// TEST prog=maybe_null data=00112233445566778899aabb08060001 error=R1__type=map_value_or_null__expected=map_value
SEC("tc")
int maybe_null(struct __sk_buff *ctx)
{
	int k = 0;
	struct elem *v = bpf_map_lookup_elem(&hmap, &k);

	asm volatile("r1 = %0; call 172" :: "r"(v) :
		     "r0", "r1", "r2", "r3", "r4", "r5");
	return 0;
}

// TEST prog=on_stack data=00112233445566778899aabb08060001 error=R1__type=fp__expected=map_value
SEC("tc")
int on_stack(struct __sk_buff *ctx)
{
	struct bpf_timer t = {};

	return bpf_timer_cancel(&t);
}

// TEST prog=variable_offset data=00112233445566778899aabb08060001 error=R1__doesn't__have__constant__offset.__bpf_timer__has__to__be__at__the__constant__offset
SEC("tc")
int variable_offset(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_init((void *)v + (ctx->len & 8), &arr,
			      CLOCK_MONOTONIC);
}

// TEST prog=direct_load data=00112233445566778899aabb08060001 error=bpf_timer__cannot__be__accessed__directly__by__load/store
SEC("tc")
int direct_load(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return *((int *)&v->t + 3);
}

// TEST prog=direct_store data=00112233445566778899aabb08060001 error=bpf_timer__cannot__be__accessed__directly__by__load/store
SEC("tc")
int direct_store(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	*(char *)&v->t = 1;
	return 0;
}

/* a helper reading the whole value touches the timer too */
// TEST prog=helper_access data=00112233445566778899aabb08060001 error=bpf_timer__cannot__be__accessed__directly__by__load/store
SEC("tc")
int helper_access(struct __sk_buff *ctx)
{
	struct elem *v = elem0();
	int k = 1;

	if (!v)
		return 0;
	return bpf_map_update_elem(&arr, &k, v, 0);
}

/* the fields beside it are plain data */
// TEST prog=count_access data=00112233445566778899aabb08060001 retval=7
SEC("tc")
int count_access(struct __sk_buff *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	v->count = 7;
	return v->count;
}

// TEST prog=kprobe_timer error=tracing__progs__cannot__use__bpf_timer__yet
SEC("kprobe")
int kprobe_timer(void *ctx)
{
	struct elem *v = elem0();

	if (!v)
		return 0;
	return bpf_timer_init(&v->t, &arr, CLOCK_MONOTONIC);
}

// SPDX-License-Identifier: GPL-2.0
/* Timers that fire: programs for tests/unit/test_timers.c. Each program
 * arms a timer as the ctx (struct cmd) asks; the callbacks record what
 * they saw in the element's value. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_timer.h"

char LICENSE[] SEC("license") = "GPL";

struct val {
	__u64 fired;        /* callback runs */
	__u64 key_seen;     /* *key in the callback */
	__u64 armed_ns;     /* bpf_ktime_get_ns() when armed */
	__u64 fired_ns;     /* ... in the callback */
	__s64 cancel_self;  /* bpf_timer_cancel() of its own timer */
	__u64 cpu;          /* bpf_get_smp_processor_id() in the callback */
	__u64 rearm;        /* runs left to re-arm for */
	__u64 lookup_ok;    /* bpf_map_lookup_elem(map, key) == value */
	struct bpf_timer t;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct val);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, struct val);
} hash SEC(".maps");

__u64 total_fired;

struct cmd {
	__u64 key;
	__u64 nsecs;
	__u64 flags;    /* bpf_timer_start flags */
	__u64 rearm;    /* re-arm from the callback this many times */
	__u64 del_self; /* the callback deletes its own (hash) element */
	__u64 clock;
};

static int on_fire(void *map, __u64 key, struct val *v, int del_self)
{
	v->fired++;
	v->key_seen = key;
	v->fired_ns = bpf_ktime_get_ns();
	v->cpu = bpf_get_smp_processor_id();
	v->cancel_self = bpf_timer_cancel(&v->t);
	__sync_fetch_and_add(&total_fired, 1);
	if (v->rearm) {
		v->rearm--;
		bpf_timer_start(&v->t, 1000, 0);
	}
	return 0;
}

static int arr_cb(void *map, __u32 *key, struct val *v)
{
	v->lookup_ok = bpf_map_lookup_elem(map, key) == v;
	return on_fire(map, *key, v, 0);
}

static int hash_cb(void *map, __u64 *key, struct val *v)
{
	__u64 k = *key;

	v->lookup_ok = bpf_map_lookup_elem(map, key) == v;
	on_fire(map, k, v, 0);
	if (k == 100) /* key 100 deletes itself */
		bpf_map_delete_elem(map, &k);
	return 0;
}

static long arm(struct val *v, void *map, void *cb, struct cmd *c)
{
	long err;

	v->rearm = c->rearm;
	v->armed_ns = bpf_ktime_get_ns();
	err = bpf_timer_init(&v->t, map, c->clock);
	if (err && err != -16 /* -EBUSY: armed before */)
		return err;
	err = bpf_timer_set_callback(&v->t, cb);
	if (err)
		return err;
	return bpf_timer_start(&v->t, c->nsecs, c->flags);
}

SEC("syscall")
int arm_array(struct cmd *c)
{
	__u32 key = c->key;
	struct val *v = bpf_map_lookup_elem(&arr, &key);

	if (!v)
		return -1;
	return arm(v, &arr, arr_cb, c);
}

SEC("syscall")
int arm_hash(struct cmd *c)
{
	__u64 key = c->key;
	struct val zero = {}, *v;

	v = bpf_map_lookup_elem(&hash, &key);
	if (!v) {
		bpf_map_update_elem(&hash, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&hash, &key);
		if (!v)
			return -1;
	}
	return arm(v, &hash, hash_cb, c);
}

SEC("syscall")
int cancel_array(struct cmd *c)
{
	__u32 key = c->key;
	struct val *v = bpf_map_lookup_elem(&arr, &key);

	if (!v)
		return -1;
	return bpf_timer_cancel(&v->t);
}

/* the same arming from a tail-called program of the object */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int (void *));
} jump SEC(".maps") = {
	.values = { [0] = (void *)&arm_array },
};

SEC("syscall")
int via_tail_call(struct cmd *c)
{
	bpf_tail_call(c, &jump, 0);
	return -2;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Open-coded number iterators (bpf_iter_num_new/next/destroy, the kfuncs
 * behind bpf_for): the loops run the kernel's count of iterations, the
 * verifier proves a loop of any length once, and it refuses what the
 * kernel refuses: a leaked iterator, next() on one never created, new() on
 * a live one, an index it cannot bound.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfx/bpf/bpfx_iter.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

// TEST prog=sum_range retval=45
SEC("syscall")
int sum_range(void *ctx)
{
	int i, s = 0;

	bpfx_for(i, 0, 10)
		s += i;
	return s;
}

/* A million iterations, proven without walking them. */
// TEST prog=long_loop retval=1000000
SEC("syscall")
int long_loop(void *ctx)
{
	int n = 0;

	bpfx_repeat(1000000)
		n++;
	return n;
}

// TEST prog=nested retval=340
SEC("syscall")
int nested(void *ctx)
{
	int i, j, s = 0;

	bpfx_for(i, 0, 4)
		bpfx_for(j, 0, 5)
			s += i * 10 + j;
	return s;
}

/* break and return leave through the cleanup, which destroys it. */
// TEST prog=early_exit retval=7
SEC("syscall")
int early_exit(void *ctx)
{
	int i;

	bpfx_for(i, 3, 100) {
		if (i == 7)
			return i;
	}
	return -1;
}

// TEST prog=negative_range retval=-15
SEC("syscall")
int negative_range(void *ctx)
{
	int i, s = 0;

	bpfx_for(i, -5, 0)
		s += i;
	return s;
}

/* new() refuses start > end and ranges over 8M; next() then ends at once. */
// TEST prog=new_errors retval=7
SEC("syscall")
int new_errors(void *ctx)
{
	struct bpf_iter_num it;
	int r = 0, a, b;

	a = bpf_iter_num_new(&it, 5, 1);
	if (bpf_iter_num_next(&it))
		r |= 8;
	bpf_iter_num_destroy(&it);
	b = bpf_iter_num_new(&it, -2000000000, 2000000000);
	if (bpf_iter_num_next(&it))
		r |= 8;
	bpf_iter_num_destroy(&it);
	bpf_iter_num_new(&it, 4, 4);
	if (!bpf_iter_num_next(&it))
		r |= 4;
	bpf_iter_num_destroy(&it);
	return r | (a == -22) | (b == -7) << 1;
}

/* The bounded index reaches a stack array and a map. */
// TEST prog=indexed retval=120 map=counts:05000000:0500000000000000
SEC("syscall")
int indexed(void *ctx)
{
	int i, arr[16] = {}, s = 0;

	bpfx_for(i, 0, 16) {
		__u32 key = i;
		__u64 *v;

		arr[i] = i;
		v = bpf_map_lookup_elem(&counts, &key);
		if (v)
			*v += i;
	}
	bpfx_for(i, 0, 16)
		s += arr[i];
	return s;
}

/* The iterator lives in the caller's frame. */
static __attribute__((noinline)) int drain(struct bpf_iter_num *it)
{
	int *v, s = 0;

	while ((v = bpf_iter_num_next(it)))
		s += *v;
	return s;
}

// TEST prog=in_subprog retval=10
SEC("syscall")
int in_subprog(void *ctx)
{
	struct bpf_iter_num it;
	int s;

	bpf_iter_num_new(&it, 0, 5);
	s = drain(&it);
	bpf_iter_num_destroy(&it);
	return s;
}

// TEST prog=leak error=Unreleased__reference__id=1__alloc_insn=
SEC("syscall")
int leak(void *ctx)
{
	struct bpf_iter_num it;
	int *v, s = 0;

	bpf_iter_num_new(&it, 0, 10);
	while ((v = bpf_iter_num_next(&it)))
		s += *v;
	return s;
}

// TEST prog=next_uninit error=expected__an__initialized__iter_num__as__arg__#0
SEC("syscall")
int next_uninit(void *ctx)
{
	struct bpf_iter_num it;
	int *v;

	v = bpf_iter_num_next(&it);
	return v ? *v : 0;
}

// TEST prog=new_twice error=expected__uninitialized__iter_num__as__arg__#0
SEC("syscall")
int new_twice(void *ctx)
{
	struct bpf_iter_num it;

	bpf_iter_num_new(&it, 0, 10);
	bpf_iter_num_new(&it, 0, 10);
	bpf_iter_num_destroy(&it);
	return 0;
}

/* A write into the iterator makes it plain bytes. */
// TEST prog=overwritten error=expected__an__initialized__iter_num__as__arg__#0
SEC("syscall")
int overwritten(void *ctx)
{
	struct bpf_iter_num it;

	bpf_iter_num_new(&it, 0, 10);
	*(volatile long *)&it = 0;
	bpf_iter_num_destroy(&it);
	return 0;
}

// TEST prog=read_state error=invalid__read__from__stack__off__-8+0__size__4
SEC("syscall")
int read_state(void *ctx)
{
	struct bpf_iter_num it;
	int r;

	bpf_iter_num_new(&it, 0, 10);
	r = *(volatile int *)&it;
	bpf_iter_num_destroy(&it);
	return r;
}

/* *v is any int: masked to 15 it overruns an 8-int array. */
// TEST prog=unbounded_index error=invalid__variable-offset__read__from__stack__R
SEC("syscall")
int unbounded_index(void *ctx)
{
	struct bpf_iter_num it;
	int *v, arr[8] = {}, s = 0;

	bpf_iter_num_new(&it, 0, 10);
	while ((v = bpf_iter_num_next(&it)))
		s += arr[*v & 15];
	bpf_iter_num_destroy(&it);
	return s;
}

/* next()'s value is the iterator's own: read-only. */
// TEST prog=write_value error=R0__cannot__write__into__rdonly_mem
SEC("syscall")
int write_value(void *ctx)
{
	struct bpf_iter_num it;
	int *v;

	bpf_iter_num_new(&it, 0, 5);
	while ((v = bpf_iter_num_next(&it)))
		*(volatile int *)v = 3;
	bpf_iter_num_destroy(&it);
	return 0;
}

/* Its pointer dies with the iterator. */
// TEST prog=value_after_destroy error=invalid__mem__access__'scalar'
SEC("syscall")
int value_after_destroy(void *ctx)
{
	struct bpf_iter_num it;
	int *v, *last = 0;

	bpf_iter_num_new(&it, 0, 5);
	while ((v = bpf_iter_num_next(&it)))
		last = v;
	bpf_iter_num_destroy(&it);
	return last ? *last : 0;
}

/* Loops that branch and call helpers still converge. */
// TEST prog=branchy retval=3933
SEC("syscall")
int branchy(void *ctx)
{
	int i, a = 0, b = 0, c = 0;

	bpfx_for(i, 0, 100) {
		if (i & 1)
			a++;
		else
			b += 2;
		if (i % 3 == 0)
			c ^= i;
		if (i > 50)
			a += b;
	}
	return a + b + c;
}

/* A count the exit path needs exactly never converges: the kernel gives
 * up after a million instructions, and so does bpfx. */
// TEST prog=precise_after error=BPF__program__is__too__large
SEC("syscall")
int precise_after(void *ctx)
{
	char buf[16] = {};
	int i, n = 0;

	bpfx_for(i, 0, 10)
		n++;
	if (n < 16)
		return buf[n];
	return 0;
}

/* Kfuncs of the generic set: socket filters may not call them. */
// TEST prog=in_socket error=calling__kernel__function__bpf_iter_num_new__is__not__allowed
SEC("socket")
int in_socket(struct __sk_buff *skb)
{
	int i, s = 0;

	bpfx_for(i, 0, 4)
		s += i;
	return s;
}

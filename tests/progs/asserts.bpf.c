// SPDX-License-Identifier: GPL-2.0
/*
 * The bpf_assert family of bpfx_exceptions.h, each on both sides of its
 * condition: a holding assertion lets the program go on (it returns 1), a
 * failing one throws 0 (or the _with value), which the default callback
 * returns. Values come from a volatile global, so the compiler keeps the
 * comparisons and the verifier sees unknown scalars.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"

char LICENSE[] SEC("license") = "GPL";

volatile __s64 sval = -5;
volatile __u64 uval = 7;

#define ASSERT_PROG(name, stmt)                                                \
	SEC("tc") int name(struct __sk_buff *skb)                              \
	{                                                                      \
		__s64 s __attribute__((unused)) = sval;                        \
		__u64 u __attribute__((unused)) = uval;                        \
		stmt;                                                          \
		return 1;                                                      \
	}

// TEST prog=assert_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(assert_holds, bpf_assert(u == 7))
// TEST prog=assert_fails data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(assert_fails, bpf_assert(u == 8))
// TEST prog=assert_with_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(assert_with_holds, bpf_assert_with(s < 0, 42))
// TEST prog=assert_with_fails data=00112233445566778899aabb0806 retval=42
ASSERT_PROG(assert_with_fails, bpf_assert_with(s > 0, 42))

// TEST prog=eq_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(eq_holds, bpf_assert_eq(u, 7))
// TEST prog=eq_fails data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(eq_fails, bpf_assert_eq(u, 6))
// TEST prog=ne_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(ne_holds, bpf_assert_ne(u, 6))
// TEST prog=ne_fails data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(ne_fails, bpf_assert_ne(u, 7))
// TEST prog=lt_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(lt_holds, bpf_assert_lt(s, -4))
// TEST prog=lt_fails data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(lt_fails, bpf_assert_lt(s, -5))
// TEST prog=le_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(le_holds, bpf_assert_le(s, -5))
// TEST prog=le_fails data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(le_fails, bpf_assert_le(s, -6))
// TEST prog=gt_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(gt_holds, bpf_assert_gt(s, -6))
// TEST prog=gt_fails data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(gt_fails, bpf_assert_gt(s, -5))
// TEST prog=ge_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(ge_holds, bpf_assert_ge(u, 7))
// TEST prog=ge_fails data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(ge_fails, bpf_assert_ge(u, 8))
/* The signedness of the left side decides: -5 as u64 is huge. */
// TEST prog=ge_unsigned_of_negative data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(ge_unsigned_of_negative, bpf_assert_ge((__u64)s, 1000))

// TEST prog=eq_with_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(eq_with_holds, bpf_assert_eq_with(u, 7, 11))
// TEST prog=eq_with_fails data=00112233445566778899aabb0806 retval=11
ASSERT_PROG(eq_with_fails, bpf_assert_eq_with(u, 9, 11))
// TEST prog=ne_with_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(ne_with_holds, bpf_assert_ne_with(u, 9, 12))
// TEST prog=ne_with_fails data=00112233445566778899aabb0806 retval=12
ASSERT_PROG(ne_with_fails, bpf_assert_ne_with(u, 7, 12))
// TEST prog=lt_with_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(lt_with_holds, bpf_assert_lt_with(u, 8, 13))
// TEST prog=lt_with_fails data=00112233445566778899aabb0806 retval=13
ASSERT_PROG(lt_with_fails, bpf_assert_lt_with(u, 7, 13))
// TEST prog=le_with_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(le_with_holds, bpf_assert_le_with(u, 7, 14))
// TEST prog=le_with_fails data=00112233445566778899aabb0806 retval=14
ASSERT_PROG(le_with_fails, bpf_assert_le_with(u, 6, 14))
// TEST prog=gt_with_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(gt_with_holds, bpf_assert_gt_with(s, -100, 15))
// TEST prog=gt_with_fails data=00112233445566778899aabb0806 retval=15
ASSERT_PROG(gt_with_fails, bpf_assert_gt_with(s, 0, 15))
// TEST prog=ge_with_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(ge_with_holds, bpf_assert_ge_with(s, -5, 16))
// TEST prog=ge_with_fails data=00112233445566778899aabb0806 retval=16
ASSERT_PROG(ge_with_fails, bpf_assert_ge_with(s, -4, 16))

// TEST prog=range_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(range_holds, bpf_assert_range(s, -10, 10))
// TEST prog=range_fails_low data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(range_fails_low, bpf_assert_range(s, -4, 10))
// TEST prog=range_fails_high data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(range_fails_high, bpf_assert_range(u, 0, 6))
// TEST prog=range_with_holds data=00112233445566778899aabb0806 retval=1
ASSERT_PROG(range_with_holds, bpf_assert_range_with(u, 7, 7, 17))
// TEST prog=range_with_fails data=00112233445566778899aabb0806 retval=17
ASSERT_PROG(range_with_fails, bpf_assert_range_with(s, 0, 100, 17))
/* Unsigned range with a negative bound: as the kernel's header, the bounds
 * take the left side's type, so -100 is huge and 7 lies below it. */
// TEST prog=range_unsigned_bounds data=00112233445566778899aabb0806 retval=0
ASSERT_PROG(range_unsigned_bounds, bpf_assert_range(u, -100, 100))

/* Bubble sort of 16 u32 values copied to the stack, written as a sorting
 * network: 120 compare-exchanges in fixed order, each branch-free (a mask
 * from the sign of the difference swaps the pair with xors). Branch-free
 * because DPDK's validator walks every path of a program: the usual
 * insertion sort, unrolled, has 2^n paths and never finishes validating.
 * The empty asm keeps clang from turning the mask back into a branch
 * (it otherwise sees through the sign trick and emits one).
 * Returns a position-weighted sum of the sorted array, or ~0 if it is not
 * sorted. */
#include "common.h"

static __always_inline void compare_exchange(__u64 *lo, __u64 *hi)
{
	__u64 x = *lo, y = *hi;
	/* Both are below 2^32, so y - x is negative exactly when x > y. */
	__u64 delta = y - x;
	asm volatile("" : "+r"(delta));
	__u64 swap = (__u64)((__s64)delta >> 63);
	__u64 diff = (x ^ y) & swap;
	*lo = x ^ diff;
	*hi = y ^ diff;
}

BENCH_PROG(sort, struct sort_input, in)
{
	__u64 a[SORT_N];
	__u64 sum = 0;

	UNROLL
	for (int i = 0; i < SORT_N; i++)
		a[i] = in->val[i];

	UNROLL
	for (int pass = 0; pass < SORT_N - 1; pass++) {
		UNROLL
		for (int j = 0; j < SORT_N - 1 - pass; j++)
			compare_exchange(&a[j], &a[j + 1]);
	}

	UNROLL
	for (int i = 0; i < SORT_N; i++) {
		if (i && a[i - 1] > a[i])
			return ~0ULL;
		sum += a[i] * (i + 1);
	}
	return sum;
}

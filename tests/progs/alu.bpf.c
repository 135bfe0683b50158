// SPDX-License-Identifier: GPL-2.0
/*
 * Arithmetic the compiler emits for -mcpu=v4: unsigned and signed division
 * and modulo (sdiv/smod), 32-bit operations that zero the upper half,
 * sign-extending loads (ldsx) and moves (movsx), byte swaps
 * (__builtin_bswap*), shifts and wrapping multiplication. Inputs are
 * volatile globals so nothing folds at compile time. Each program returns
 * the number of the first failed check, or 0.
 *
 * div_edges uses inline assembly for what C cannot say without undefined
 * behaviour: division by zero gives 0, modulo by zero leaves the dividend
 * (a 32-bit one zero-extended), INT_MIN / -1 = INT_MIN and INT_MIN % -1 = 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

volatile __u64 u_a = 100, u_b = 7;
volatile __s64 s_a = -100, s_b = 7;
volatile __s32 w_a = -7, w_b = 2;
volatile __u32 uw_a = 0xffffffff, uw_b = 16;
volatile __s8 b_neg = -5;
volatile __s16 h_neg = -300;
volatile __s32 i_neg = -70000;
volatile __u64 big = 0x1122334455667788ULL;
volatile __u32 shift = 4;
volatile __u64 hi_lo = 0xffffffff00000005ULL;
volatile __s64 s64_min = (-9223372036854775807LL - 1);
volatile __s32 s32_min = (-2147483647 - 1);

// TEST prog=divmod retval=0
SEC("syscall")
int divmod(void *ctx)
{
	if (u_a / u_b != 14 || u_a % u_b != 2)
		return 1;
	if (s_a / s_b != -14 || s_a % s_b != -2)
		return 2;
	if (-s_a / -s_b != -14 || s_a % -s_b != -2 || -s_a % s_b != 2)
		return 3;
	if (w_a / w_b != -3 || w_a % w_b != -1)
		return 4;
	if (uw_a / uw_b != 0x0fffffff || uw_a % uw_b != 15)
		return 5;
	/* the signed 32-bit quotient, widened: sign-extended */
	__s64 q = w_a / w_b;
	if (q != -3)
		return 6;
	/* unsigned view of a negative dividend */
	if ((__u64)s_a / 2 != 0x7fffffffffffffceULL)
		return 7;
	if ((__u32)w_a / 2 != 0x7ffffffcU)
		return 8;
	return 0;
}

/* Results go to .bss (out_sx, then out_bs) rather than into comparisons,
 * which clang would fold into the constants. */
__u64 out_sx[8];
__u64 out_bs[4];

// TEST prog=sign_ext retval=0 map=.bss:00000000:fbffffffffffffffd4feffffffffffff90eefefffffffffffaffffffffffffff4cfeffffffffffff63000080fffffffffb00000000000000f9ffffffffffffff
SEC("syscall")
int sign_ext(void *ctx)
{
	out_sx[0] = b_neg;                   /* ldsx u8 */
	out_sx[1] = h_neg;                   /* ldsx u16 */
	out_sx[2] = i_neg;                   /* ldsx u32 */
	out_sx[3] = (__s8)(u_a + 150);       /* movsx: 250 -> -6 */
	out_sx[4] = (__s16)(u_a + 65000);    /* 65100 -> -436 */
	out_sx[5] = (__s32)(u_a + 0x7fffffffULL); /* 0x80000063 */
	out_sx[6] = (__u8)b_neg;             /* zero-extending load */
	out_sx[7] = (__s32)(u_a - 107);      /* -7 */
	return 0;
}

// TEST prog=bswap retval=0 map=.bss:00000000:000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001122334455667788556677880000000077880000000000001122000000000000
SEC("syscall")
int bswap(void *ctx)
{
	out_bs[0] = __builtin_bswap64(big);
	out_bs[1] = __builtin_bswap32((__u32)big);
	out_bs[2] = __builtin_bswap16((__u16)big);
	/* the swapped value is zero-extended in the register */
	out_bs[3] = __builtin_bswap16((__u16)(big >> 48));
	return 0;
}

// TEST prog=shifts_wrap retval=0
SEC("syscall")
int shifts_wrap(void *ctx)
{
	if (s_a >> 2 != -25)
		return 1;
	if (w_a >> 1 != -4)
		return 2;
	if (uw_a >> shift != 0x0fffffff)
		return 3;
	if ((__u64)s_a >> 60 != 0xf)
		return 4;
	if (big << shift != 0x1223344556677880ULL)
		return 5;
	if (big * 16 != 0x1223344556677880ULL)
		return 6;
	if ((__u32)(uw_a + 1) != 0)
		return 7;
	if ((__u32)(uw_a * uw_a) != 1)
		return 8;
	__u64 z = (__u32)(uw_a + 3); /* 32-bit add wraps, upper bits zero */
	if (z != 2)
		return 9;
	if (-(__s64)u_b != -7)
		return 10;
	if (!(s_a < 0) || !((__u64)s_a > u_a))
		return 11;
	if (!(w_a < w_b) || !((__u32)w_a > (__u32)w_b))
		return 12;
	return 0;
}

// TEST prog=div_edges retval=0
SEC("syscall")
int div_edges(void *ctx)
{
	__u64 a, zero = u_a - 100, minus1 = -(u_a - 99);

	a = u_a;
	asm volatile("%[a] /= %[z]" : [a] "+r"(a) : [z] "r"(zero));
	if (a != 0)
		return 1;
	a = u_a;
	asm volatile("%[a] %%= %[z]" : [a] "+r"(a) : [z] "r"(zero));
	if (a != 100)
		return 2;
	a = s_a;
	asm volatile("%[a] s/= %[z]" : [a] "+r"(a) : [z] "r"(zero));
	if (a != 0)
		return 3;
	a = s_a;
	asm volatile("%[a] s%%= %[z]" : [a] "+r"(a) : [z] "r"(zero));
	if ((__s64)a != -100)
		return 4;
	a = s64_min;
	asm volatile("%[a] s/= %[m]" : [a] "+r"(a) : [m] "r"(minus1));
	if ((__s64)a != s64_min)
		return 5;
	a = s64_min;
	asm volatile("%[a] s%%= %[m]" : [a] "+r"(a) : [m] "r"(minus1));
	if (a != 0)
		return 6;

	/* 32-bit: the result is zero-extended even when nothing divides */
	a = hi_lo;
	asm volatile("r1 = %[a]; w2 = 0; w1 %%= w2; %[a] = r1"
		     : [a] "+r"(a) : : "r1", "r2");
	if (a != 5)
		return 7;
	a = hi_lo;
	asm volatile("r1 = %[a]; w2 = 0; w1 /= w2; %[a] = r1"
		     : [a] "+r"(a) : : "r1", "r2");
	if (a != 0)
		return 8;
	a = hi_lo;
	asm volatile("r1 = %[a]; w2 = 0; w1 s%%= w2; %[a] = r1"
		     : [a] "+r"(a) : : "r1", "r2");
	if (a != 5)
		return 9;
	a = (__u32)s32_min | 0xabcd000000000000ULL;
	asm volatile("r1 = %[a]; w2 = -1; w1 s/= w2; %[a] = r1"
		     : [a] "+r"(a) : : "r1", "r2");
	if (a != 0x80000000ULL)
		return 10;
	a = (__u32)s32_min;
	asm volatile("r1 = %[a]; w2 = -1; w1 s%%= w2; %[a] = r1"
		     : [a] "+r"(a) : : "r1", "r2");
	if (a != 0)
		return 11;
	/* -7 s% 2 in 32 bits: -1, zero-extended */
	a = (__u32)w_a;
	asm volatile("r1 = %[a]; w2 = 2; w1 s%%= w2; %[a] = r1"
		     : [a] "+r"(a) : : "r1", "r2");
	if (a != 0xffffffffULL)
		return 12;
	return 0;
}

/* A 64-bit result in the return value is cut to 32 bits by test_run. */
// TEST prog=ret64 retval=0x55667788
SEC("syscall")
int ret64(void *ctx)
{
	return (long)big;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Verdicts and messages found comparing bpfx with the host kernel on
 * programs in the style of the kernel's verifier selftests: each case
 * names the kernel's exact words.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define NAKED __attribute__((naked))

/* Pointer arithmetic: the pointer's type, then the sanity of both
 * operands (within 2^29 of the base), then the operator, then the
 * sanity of the result (the kernel's adjust_ptr_min_max_vals()). */
// TEST prog=sub_ptr_from_scalar error=R0__tried__to__subtract__pointer__from__scalar
SEC("syscall")
NAKED int sub_ptr_from_scalar(void *ctx)
{
	asm volatile("r0 = 7; r0 -= r1; exit;" ::: "memory");
}

// TEST prog=fp_minus_k error=R1__subtraction__from__stack__pointer__prohibited
SEC("syscall")
NAKED int fp_minus_k(void *ctx)
{
	asm volatile("r1 = r10; r1 -= 8; r0 = 0; *(u64 *)(r1 + 0) = r0; exit;"
		     ::: "memory");
}

// TEST prog=fp_minus_reg error=R1__subtraction__from__stack__pointer__prohibited
SEC("syscall")
NAKED int fp_minus_reg(void *ctx)
{
	asm volatile("r2 = 8; r1 = r10; r1 -= r2; r0 = 0; exit;" ::: "memory");
}

// TEST prog=fp_plus_big error=math__between__fp__pointer__and__536870912__is__not__allowed
SEC("syscall")
NAKED int fp_plus_big(void *ctx)
{
	asm volatile("r1 = r10; r1 += 0x20000000; r0 = 0; exit;" ::: "memory");
}

// TEST prog=fp_off_grows error=fp__pointer__offset__536870912__is__not__allowed
SEC("syscall")
NAKED int fp_off_grows(void *ctx)
{
	asm volatile("r1 = r10; r1 += 0x10000000; r1 += 0x10000000; r0 = 0; exit;"
		     ::: "memory");
}

/* just under the limit both ways, back to the base */
// TEST prog=ctx_near_limit retval=0
SEC("syscall")
NAKED int ctx_near_limit(void *ctx)
{
	asm volatile("r1 += 0x1fffffff; r1 += -0x1fffffff; r0 = 0; exit;"
		     ::: "memory");
}

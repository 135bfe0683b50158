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

/* A context access moves only by the instruction's offset: the kernel's
 * check_ptr_off_reg() refuses a context pointer with its own offset,
 * fixed or variable, for every program type. */
// TEST prog=ctx_fixed_off error=dereference__of__modified__ctx__ptr__R1__off=8__disallowed
SEC("syscall")
NAKED int ctx_fixed_off(void *ctx)
{
	asm volatile("r1 += 8; r0 = *(u64 *)(r1 + 0); r0 = 0; exit;" ::: "memory");
}

// TEST prog=ctx_neg_off error=negative__offset__ctx__ptr__R1__off=-4__disallowed
SEC("tc")
NAKED int ctx_neg_off(void *ctx)
{
	asm volatile("r1 += -4; r0 = *(u32 *)(r1 + 12); r0 = 0; exit;" ::: "memory");
}

// TEST prog=ctx_var_off error=variable__ctx__access__var_off=(0x0;__0x4)__disallowed
SEC("tc")
NAKED int ctx_var_off(void *ctx)
{
	asm volatile("r2 = *(u32 *)(r1 + 0); r2 &= 4; r1 += r2;"
		     "r0 = *(u32 *)(r1 + 0); r0 = 0; exit;" ::: "memory");
}

/* the instruction's own offset is fine */
// TEST prog=ctx_insn_off data=00000000000000000000000000000000 retval=0
SEC("tc")
NAKED int ctx_insn_off(void *ctx)
{
	asm volatile("r0 = *(u32 *)(r1 + 8); r0 = 0; exit;" ::: "memory");
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, long long);
	__type(value, long long);
} h8 SEC(".maps");

/* A helper's stack memory out of the frame: the kernel's
 * check_stack_access_within_bounds() names the helper's access. */
// TEST prog=helper_key_oob error=invalid__read__from__stack__R2__off=-4__size=8
SEC("syscall")
NAKED int helper_key_oob(void *ctx)
{
	asm volatile("r1 = 0; *(u32 *)(r10 - 4) = r1; r2 = r10; r2 += -4;"
		     "r1 = %[h8] ll; call %[lookup]; r0 = 0; exit;"
		     :: [h8] "i"(&h8), [lookup] "i"(BPF_FUNC_map_lookup_elem)
		     : "memory");
}

// TEST prog=helper_write_oob error=invalid__write__to__stack__R1__off=-16__size=24
SEC("syscall")
NAKED int helper_write_oob(void *ctx)
{
	asm volatile("r1 = r10; r1 += -16; r2 = 24; r3 = 0; call %[probe]; r0 = 0; exit;"
		     :: [probe] "i"(BPF_FUNC_probe_read_kernel) : "memory");
}

/* Stack accesses are always checked for alignment (the kernel's spill
 * tracking needs it), whatever the host; a constant variable offset is
 * written as a number. */
// TEST prog=stack_misaligned error=misaligned__stack__access__off__0+0+-12__size__8
SEC("syscall")
NAKED int stack_misaligned(void *ctx)
{
	asm volatile("r1 = 0; *(u64 *)(r10 - 12) = r1; r0 = 0; exit;" ::: "memory");
}

// TEST prog=stack_misaligned_reg error=misaligned__stack__access__off__0+-6+-4__size__4
SEC("syscall")
NAKED int stack_misaligned_reg(void *ctx)
{
	asm volatile("r1 = r10; r1 += -6; r0 = 0; *(u32 *)(r1 - 4) = r0; exit;"
		     ::: "memory");
}

// TEST prog=stack_misaligned_var ctx=0800000000000000 error=misaligned__stack__access__off__(0x0;__0x8)+-32+2__size__4
SEC("syscall")
NAKED int stack_misaligned_var(void *ctx)
{
	asm volatile("r2 = *(u32 *)(r1 + 0); r2 &= 8; r1 = r10; r1 += -32;"
		     "r1 += r2; r0 = 0; *(u32 *)(r1 + 2) = r0; exit;" ::: "memory");
}

/* aligned through a variable offset, and bytes and halves at their own
 * alignment */
// TEST prog=stack_aligned_var ctx=0800000000000000 retval=0
SEC("syscall")
NAKED int stack_aligned_var(void *ctx)
{
	asm volatile("r2 = *(u32 *)(r1 + 0); r2 &= 8; r3 = r10; r3 += -32;"
		     "r3 += r2; r0 = 0; *(u32 *)(r3 + 4) = r0;"
		     "*(u8 *)(r10 - 3) = r0; *(u16 *)(r10 - 6) = r0; exit;" ::: "memory");
}

#define PRANDOM [prandom] "i"(BPF_FUNC_get_prandom_u32)

/* A scalar stored with fewer than 8 bytes at the start of a slot is a
 * spill (the kernel's save_register_state() with its size): a fill from
 * the start, no wider, gets the scalar back, cut to its size; a fill
 * from the middle of the slot is plain data. */
// TEST prog=narrow_spill_pkt data=00000000000000000000000000000000000000000000000000000000000000000000000000000000 retval=0
SEC("tc")
NAKED int narrow_spill_pkt(void *ctx)
{
	asm volatile("r2 = *(u32 *)(r1 + 76); r3 = *(u32 *)(r1 + 80);"
		     "w4 = 20; *(u32 *)(r10 - 8) = r4; r4 = *(u32 *)(r10 - 8);"
		     "r0 = r2; r0 += r4; if r0 > r3 goto +1;"
		     "r0 = *(u32 *)(r2 + 16); r0 = 0; exit;" ::: "memory");
}

// TEST prog=narrow_spill_offslot data=0000000000000000000000000000000000000000 error=invalid__access__to__packet,__off=0__size=4
SEC("tc")
NAKED int narrow_spill_offslot(void *ctx)
{
	asm volatile("r2 = *(u32 *)(r1 + 76); r3 = *(u32 *)(r1 + 80);"
		     "w4 = 20; *(u32 *)(r10 - 8) = r4; r4 = *(u16 *)(r10 - 6);"
		     "r0 = r2; r0 += r4; if r0 > r3 goto +1;"
		     "r0 = *(u32 *)(r2 + 0); r0 = 0; exit;" ::: "memory");
}

/* an immediate stored with 4 bytes is a spilled constant too: the write
 * to r10 is dead code */
// TEST prog=narrow_st_imm retval=0
SEC("syscall")
NAKED int narrow_st_imm(void *ctx)
{
	asm volatile("*(u32 *)(r10 - 8) = 7; r0 = *(u16 *)(r10 - 8);"
		     "if r0 == 7 goto +1; r10 = 1; r0 = 0; exit;" ::: "memory");
}

/* Sign extension keeps a range whose ends keep one sign (the kernel's
 * coerce_reg_to_size_sx()): the branches to the write to r10 are dead,
 * and the kernel only refuses r10 writes on paths that reach them. */
// TEST prog=movsx32_range retval=0
SEC("syscall")
NAKED int movsx32_range(void *ctx)
{
	asm volatile("call %[prandom]; r3 = r0; r3 &= 0xf; w7 = (s8)w3;"
		     "if w7 s>= 16 goto +2; w0 = 0; exit; r10 = 1; exit;"
		     :: PRANDOM : "memory");
}

// TEST prog=movsx64_neg_range retval=0
SEC("syscall")
NAKED int movsx64_neg_range(void *ctx)
{
	asm volatile("call %[prandom]; r3 = r0; r3 &= 0xf; r3 |= 0x80;"
		     "r7 = (s8)r3; if r7 s>= -112 goto +2; w0 = 0; exit;"
		     "r10 = 1; exit;" :: PRANDOM : "memory");
}

// TEST prog=fp_write_live error=frame__pointer__is__read__only
SEC("syscall")
NAKED int fp_write_live(void *ctx)
{
	asm volatile("r0 = 0; r10 = 1; exit;" ::: "memory");
}

/* The context is not a pointer the kernel knows to be non-null
 * (reg_not_null()): ctx == 0 goes both ways, here into a loop. */
// TEST prog=ctx_eq_zero_loop error=infinite__loop__detected
SEC("syscall")
NAKED int ctx_eq_zero_loop(void *ctx)
{
	asm volatile("r0 = r1; r2 = r0; r3 = r0; if r1 == 0 goto -3;"
		     "r0 = 0; exit;" ::: "memory");
}

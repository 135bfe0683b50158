// SPDX-License-Identifier: GPL-2.0
/*
 * may_goto in assembly: the forms clang's cond_break does not produce (a
 * backward may_goto, may_goto +0) and the verifier's loop rules around
 * it, each against the kernel's verdict. (Naked functions live apart from
 * may_goto.bpf.c: the kernel asks BTF func_info of the callback there.)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory"

/* a backward may_goto: the jump goes back to the exit once spent */
// TEST prog=backward_may_goto retval=9
SEC("syscall")
__attribute__((naked)) int backward_may_goto(void *ctx)
{
	asm volatile("r6 = 0;"
		     "goto l1_%=;"
		     "l0_%=: r0 = 9;"
		     "exit;"
		     "l1_%=: r6 += 1;"
		     "may_goto l0_%=;"
		     "goto l1_%=;" ::: CLOBBERS);
}

/* the same state on every pass but one may_goto deeper: no infinite loop */
// TEST prog=same_state_each_pass retval=1
SEC("syscall")
__attribute__((naked)) int same_state_each_pass(void *ctx)
{
	asm volatile("r0 = 1;"
		     "l1_%=: may_goto l2_%=;"
		     "goto l1_%=;"
		     "l2_%=: exit;" ::: CLOBBERS);
}

/* a loop that never reaches its may_goto is still an infinite one */
// TEST prog=loop_around_may_goto error=infinite__loop__detected__at__insn__1
SEC("syscall")
__attribute__((naked)) int loop_around_may_goto(void *ctx)
{
	asm volatile("r0 = 1;"
		     "l1_%=: if r0 == 1 goto l1_%=;"
		     "may_goto l2_%=;"
		     "goto l1_%=;"
		     "l2_%=: exit;" ::: CLOBBERS);
}

/* the jump is taken on the first pass too: r2 may be unset there */
// TEST prog=exit_before_first_pass error=R2__!read_ok
SEC("syscall")
__attribute__((naked)) int exit_before_first_pass(void *ctx)
{
	asm volatile("r0 = 1;"
		     "l1_%=: may_goto l2_%=;"
		     "r2 = 5;"
		     "goto l1_%=;"
		     "l2_%=: r0 = r2;"
		     "exit;" ::: CLOBBERS);
}

/* may_goto +0 (clang 20 emits it): either way the next instruction */
// TEST prog=may_goto_zero retval=3
SEC("syscall")
__attribute__((naked)) int may_goto_zero(void *ctx)
{
	asm volatile("r0 = 3;"
		     ".8byte 0xe5;"
		     "exit;" ::: CLOBBERS);
}

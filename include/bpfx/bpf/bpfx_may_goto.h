/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * may_goto loops for BPF programs: cond_break and can_loop, under the
 * names of the kernel's selftests header bpf_experimental.h, which libbpf
 * does not ship. Include after <bpf/bpf_helpers.h>; needs clang 19 or later
 * with -mcpu=v3 or v4 (which define __BPF_FEATURE_MAY_GOTO).
 *
 *   cond_break   inside a loop: leaves it (break) once the frame's may_goto
 *                budget is spent, so the verifier accepts the loop whatever
 *                its other bounds; the budget is BPF_MAX_LOOPS (8M) passes
 *                per function call in bpfx (the kernel on x86-64 also ends
 *                it after about 250 ms)
 *   can_loop     an expression: true while the budget lasts
 *                (while (i < n && can_loop) ...)
 */
#ifndef BPFX_BPF_MAY_GOTO_H
#define BPFX_BPF_MAY_GOTO_H

#ifndef __BPF_FEATURE_MAY_GOTO
#error "may_goto needs clang 19 or later and -mcpu=v3 or later (__BPF_FEATURE_MAY_GOTO)"
#endif

#ifndef cond_break
#define cond_break                                                             \
	({                                                                     \
		__label__ bpfx_spent, bpfx_go_on;                              \
		asm volatile goto("may_goto %l[bpfx_spent]" :::: bpfx_spent);  \
		goto bpfx_go_on;                                               \
	bpfx_spent:                                                            \
		break;                                                         \
	bpfx_go_on:;                                                           \
	})
#endif

#ifndef can_loop
#define can_loop                                                               \
	({                                                                     \
		__label__ bpfx_spent, bpfx_go_on;                              \
		_Bool bpfx_ok = 1;                                             \
		asm volatile goto("may_goto %l[bpfx_spent]" :::: bpfx_spent);  \
		goto bpfx_go_on;                                               \
	bpfx_spent:                                                            \
		bpfx_ok = 0;                                                   \
	bpfx_go_on:                                                            \
		bpfx_ok;                                                       \
	})
#endif

#endif

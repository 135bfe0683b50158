// SPDX-License-Identifier: GPL-2.0
/*
 * IRQ-disabled sections (bpf_local_irq_save / bpf_local_irq_restore): the
 * verifier's rules with the kernel's messages, and runs of balanced
 * sections on every engine and the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_irq.h"
#include "bpfx/bpf/bpfx_exceptions.h"
#include "bpfx/bpf/bpfx_iter.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp SEC(".maps");

unsigned long global_flags;

static __attribute__((noinline)) int save(unsigned long *flags)
{
	bpf_local_irq_save(flags);
	return 0;
}

static __attribute__((noinline)) int restore(unsigned long *flags)
{
	bpf_local_irq_restore(flags);
	return 0;
}

/* nested sections, opened in a subprogram, closed in order */
// TEST prog=balanced data=00112233445566778899aabb08060001 retval=3
SEC("tc")
int balanced(struct __sk_buff *ctx)
{
	unsigned long f1, f2, f3;
	int n = 0;

	bpf_local_irq_save(&f1);
	save(&f2);
	bpf_local_irq_save(&f3);
	n++;
	bpf_local_irq_restore(&f3);
	n++;
	restore(&f2);
	bpf_local_irq_restore(&f1);
	n++;
	return n;
}

/* a section per loop iteration */
// TEST prog=in_loop data=00112233445566778899aabb08060001 retval=10
SEC("tc")
int in_loop(struct __sk_buff *ctx)
{
	int n = 0, i;

	bpfx_for(i, 0, 10) {
		unsigned long f;

		bpf_local_irq_save(&f);
		n++;
		bpf_local_irq_restore(&f);
	}
	return n;
}

// TEST prog=save_global data=00112233445566778899aabb08060001 error=arg#0__doesn't__point__to__an__irq__flag__on__stack
SEC("tc")
int save_global(struct __sk_buff *ctx)
{
	bpf_local_irq_save(&global_flags);
	return 0;
}

// TEST prog=exit_inside data=00112233445566778899aabb08060001 error=BPF_EXIT__instruction__in__main__prog__cannot__be__used__inside__bpf_local_irq_save-ed__region
SEC("tc")
int exit_inside(struct __sk_buff *ctx)
{
	unsigned long f;

	bpf_local_irq_save(&f);
	if (ctx->len > 10)
		bpf_local_irq_restore(&f);
	return 0;
}

// TEST prog=out_of_order data=00112233445566778899aabb08060001 error=cannot__restore__irq__state__out__of__order,__expected__id=2__acquired__at__insn_idx=7
SEC("tc")
int out_of_order(struct __sk_buff *ctx)
{
	unsigned long f1, f2;

	bpf_local_irq_save(&f1);
	bpf_local_irq_save(&f2);
	bpf_local_irq_restore(&f1);
	bpf_local_irq_restore(&f2);
	return 0;
}

// TEST prog=save_twice data=00112233445566778899aabb08060001 error=expected__uninitialized__irq__flag__as__arg#0
SEC("tc")
int save_twice(struct __sk_buff *ctx)
{
	unsigned long f;

	bpf_local_irq_save(&f);
	bpf_local_irq_save(&f);
	return 0;
}

// TEST prog=flag_overwritten data=00112233445566778899aabb08060001 error=expected__an__initialized__irq__flag__as__arg#0
SEC("tc")
int flag_overwritten(struct __sk_buff *ctx)
{
	unsigned long f;

	bpf_local_irq_save(&f);
	*((volatile char *)&f + 3) = 1;
	bpf_local_irq_restore(&f);
	return 0;
}

// TEST prog=flag_read data=00112233445566778899aabb08060001 error=invalid__read__from__stack__off__-8+0__size__8
SEC("tc")
int flag_read(struct __sk_buff *ctx)
{
	unsigned long f;
	int r;

	bpf_local_irq_save(&f);
	r = *(volatile unsigned long *)&f;
	bpf_local_irq_restore(&f);
	return r;
}

// TEST prog=restore_unsaved data=00112233445566778899aabb08060001 error=expected__an__initialized__irq__flag__as__arg#0
SEC("tc")
int restore_unsaved(struct __sk_buff *ctx)
{
	unsigned long f = 0;

	bpf_local_irq_restore(&f);
	return 0;
}

// TEST prog=throw_inside data=00112233445566778899aabb08060001 error=bpf_throw__cannot__be__used__inside__bpf_local_irq_save-ed__region
SEC("tc")
int throw_inside(struct __sk_buff *ctx)
{
	unsigned long f;

	bpf_local_irq_save(&f);
	if (ctx->len > 10)
		bpf_throw(1);
	bpf_local_irq_restore(&f);
	return 0;
}

// TEST prog=tail_call_inside data=00112233445566778899aabb08060001 error=tail_call__cannot__be__used__inside__bpf_local_irq_save-ed__region
SEC("tc")
int tail_call_inside(struct __sk_buff *ctx)
{
	unsigned long f;

	bpf_local_irq_save(&f);
	bpf_tail_call(ctx, &jmp, 0);
	bpf_local_irq_restore(&f);
	return 0;
}

/* a section a subprogram leaves open is still open at the exit */
// TEST prog=subprog_leaves_open data=00112233445566778899aabb08060001 error=BPF_EXIT__instruction__in__main__prog__cannot__be__used__inside__bpf_local_irq_save-ed__region
SEC("tc")
int subprog_leaves_open(struct __sk_buff *ctx)
{
	unsigned long f;

	save(&f);
	return 0;
}

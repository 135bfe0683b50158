/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * IRQ-disabled sections for BPF programs: the kernel's (6.14 on)
 * bpf_local_irq_save / bpf_local_irq_restore kfuncs, which libbpf 1.1's
 * headers lack. Include after <bpf/bpf_helpers.h>.
 *
 *   unsigned long flags;             // a slot of the program's own stack
 *   bpf_local_irq_save(&flags);
 *   ...                              // no exit, bpf_throw or tail call here
 *   bpf_local_irq_restore(&flags);   // innermost section first
 *
 * The verifier checks the kernel's rules; bpfx has no interrupts to mask,
 * and a run keeps the sections' nesting so that they stay balanced.
 */
#ifndef BPFX_BPF_IRQ_H
#define BPFX_BPF_IRQ_H

extern void bpf_local_irq_save(unsigned long *flags) __weak __ksym;
extern void bpf_local_irq_restore(unsigned long *flags) __weak __ksym;

#endif

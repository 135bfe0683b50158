/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpf_timer for BPF programs: what the kernel's UAPI added after the
 * headers Debian 12 ships (linux/bpf.h of 6.1), under the kernel's names,
 * so one program source builds for both the kernel and bpfx. Include
 * after <linux/bpf.h> (or vmlinux.h, which has them all) and
 * <bpf/bpf_helpers.h>, whose bpf_timer_init, bpf_timer_set_callback,
 * bpf_timer_start and bpf_timer_cancel declarations it relies on.
 *
 *   struct elem { int count; struct bpf_timer t; };  // array, hash, lru_hash
 *   static int cb(void *map, int *key, struct elem *v) { v->count++; return 0; }
 *   bpf_timer_init(&v->t, &map, CLOCK_MONOTONIC);
 *   bpf_timer_set_callback(&v->t, cb);
 *   bpf_timer_start(&v->t, 1000000, 0);   // in 1 ms
 *
 * The callback must return 0. On the host, bpfx_object__wait_timers()
 * waits until the timers have fired.
 */
#ifndef BPFX_BPF_TIMER_H
#define BPFX_BPF_TIMER_H

#ifndef __VMLINUX_H__
/* bpf_timer_start() flags (kernel 6.4 and 6.7) */
#ifndef BPF_F_TIMER_ABS
#define BPF_F_TIMER_ABS (1ULL << 0)     /* nsecs is an absolute time on the timer's clock */
#endif
#ifndef BPF_F_TIMER_CPU_PIN
#define BPF_F_TIMER_CPU_PIN (1ULL << 1) /* fire on the CPU that started it */
#endif
#endif

/* bpf_timer_init() clocks, as <time.h> numbers them */
#ifndef CLOCK_REALTIME
#define CLOCK_REALTIME 0
#endif
#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC 1
#endif
#ifndef CLOCK_BOOTTIME
#define CLOCK_BOOTTIME 7
#endif

#endif

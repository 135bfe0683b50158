/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Open-coded number iterators for BPF programs: the kernel's
 * bpf_iter_num_new/next/destroy kfuncs and loops built on them, for
 * libbpf headers older than 1.2 (Debian 12 ships 1.1), so one program
 * source builds for both the kernel and bpfx. Include after
 * <bpf/bpf_helpers.h>; with vmlinux.h included first, its struct
 * bpf_iter_num is used.
 *
 *   bpfx_for(i, start, end)  runs the statement after it with i = start,
 *                            start + 1, ..., end - 1 (int); nothing when
 *                            start >= end; the verifier proves the loop
 *                            once, whatever its length (up to 8M)
 *   bpfx_repeat(n)           runs the statement after it n times
 *
 * Leaving the loop by break or return destroys the iterator (a cleanup
 * attribute), as the kernel's verifier requires on every path.
 */
#ifndef BPFX_BPF_ITER_H
#define BPFX_BPF_ITER_H

#ifndef __VMLINUX_H__
struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));
#endif

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

/* A unique name per loop, so loops can nest. */
#define BPFX_ITER_CAT2(a, b) a##b
#define BPFX_ITER_CAT(a, b) BPFX_ITER_CAT2(a, b)
#define BPFX_ITER_NAME(x) BPFX_ITER_CAT(x, __COUNTER__)

#define bpfx_for_it(it, p, i, start, end)                                      \
	for (struct bpf_iter_num it                                            \
		     __attribute__((cleanup(bpf_iter_num_destroy))),           \
	     *p = (bpf_iter_num_new(&it, (start), (end)), &it);                \
	     ({                                                                \
		     int *v_ = bpf_iter_num_next(p);                           \
		     /* the bounds, for the verifier's sake */                 \
		     v_ && ((i) = *v_, (i) >= (start) && (i) < (end));         \
	     });)

#define bpfx_for(i, start, end)                                                \
	bpfx_for_it(BPFX_ITER_NAME(bpfx_it_), BPFX_ITER_NAME(bpfx_itp_), i,    \
		    start, end)

#define bpfx_repeat_it(it, p, n)                                               \
	for (struct bpf_iter_num it                                            \
		     __attribute__((cleanup(bpf_iter_num_destroy))),           \
	     *p = (bpf_iter_num_new(&it, 0, (n)), &it);                        \
	     bpf_iter_num_next(p);)

#define bpfx_repeat(n)                                                         \
	bpfx_repeat_it(BPFX_ITER_NAME(bpfx_it_), BPFX_ITER_NAME(bpfx_itp_), n)

#endif

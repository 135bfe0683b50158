/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Dynptr kfuncs for BPF programs, under the kernel's names and
 * prototypes, for libbpf headers that lack them (Debian 12's libbpf 1.1
 * declares the dynptr helpers -- bpf_dynptr_from_mem, bpf_dynptr_read,
 * bpf_dynptr_write, bpf_dynptr_data, bpf_ringbuf_*_dynptr -- but none of
 * the kfuncs), so one program source builds for both the kernel and bpfx.
 * Include after <bpf/bpf_helpers.h>.
 *
 *   bpf_dynptr_from_skb(skb, 0, &d)      tc, cgroup_skb, socket filter, lwt
 *                                        (read-only where the program may
 *                                        not write packet data)
 *   bpf_dynptr_from_skb_meta(skb, 0, &d) tc: the packet's metadata
 *   bpf_dynptr_from_xdp(xdp, 0, &d)      xdp
 *   bpf_dynptr_slice(&d, off, buf, n)    n (a constant) readable bytes at
 *                                        off, or NULL
 *   bpf_dynptr_slice_rdwr(...)           the same, writable (programs that
 *                                        may write packet data)
 *   bpf_dynptr_adjust(&d, start, end)    narrows the view to [start, end)
 *   bpf_dynptr_is_null, _is_rdonly, _size, _clone, _copy, _memset
 */
#ifndef BPFX_BPF_DYNPTR_H
#define BPFX_BPF_DYNPTR_H

#include <stdbool.h>

struct bpf_dynptr;
struct __sk_buff;
struct xdp_md;

extern int bpf_dynptr_from_skb(struct __sk_buff *s, __u64 flags,
			       struct bpf_dynptr *ptr__uninit) __ksym __weak;
extern int bpf_dynptr_from_skb_meta(struct __sk_buff *s, __u64 flags,
				    struct bpf_dynptr *ptr__uninit) __ksym __weak;
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags,
			       struct bpf_dynptr *ptr__uninit) __ksym __weak;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset,
			      void *buffer__opt, __u32 buffer__szk) __ksym __weak;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset,
				   void *buffer__opt,
				   __u32 buffer__szk) __ksym __weak;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start,
			     __u32 end) __ksym __weak;
extern bool bpf_dynptr_is_null(const struct bpf_dynptr *p) __ksym __weak;
extern bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p) __ksym __weak;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym __weak;
extern int bpf_dynptr_clone(const struct bpf_dynptr *p,
			    struct bpf_dynptr *clone__init) __ksym __weak;
extern int bpf_dynptr_copy(struct bpf_dynptr *dst_ptr, __u32 dst_off,
			   struct bpf_dynptr *src_ptr, __u32 src_off,
			   __u32 size) __ksym __weak;
extern int bpf_dynptr_memset(struct bpf_dynptr *p, __u32 offset, __u32 size,
			     __u8 val) __ksym __weak;

#endif

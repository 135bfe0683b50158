/*
 * What every benchmark program includes. The programs DPDK also runs may
 * use no helpers, no maps and no loops: DPDK 22.11's validator rejects any
 * backward jump ("loops detected"), so their loops have constant trip
 * counts and are unrolled completely by the compiler (UNROLL).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "inputs.h"

#define UNROLL _Pragma("clang loop unroll(full)")

/*
 * BENCH_PROG(name, type, in) { body } defines program NAME over an input
 * of TYPE at IN, in one of two forms built from the same body:
 *
 *  - the default form (NAME.bpf.o), for DPDK and bpfx: a BENCH_SEC
 *    program whose r1 points at the input;
 *  - with -DBENCH_KERNEL (NAME.tc.bpf.o), for the kernel's test_run and
 *    bpfx alike: a tc program whose packet is the input, checked once to
 *    hold the whole struct. The kernel offers no program type that takes
 *    a plain buffer as its context with repeat, and the packet is the
 *    nearest thing (XDP would do as well).
 *
 * The body is always inlined. BENCH_CHECK(ptr, size) is for accesses at
 * a variable offset, which the kernel's verifier accepts in a packet only
 * after a comparison with data_end: it returns 0 unless SIZE bytes at PTR
 * lie before bench_end (they always do: the bodies check their own bounds
 * first; the check adds a compare and a branch). bench_end is data_end in
 * the kernel form and the end of the input in the default form, hidden
 * from clang there, which could otherwise prove the checks redundant and
 * drop them; so both forms run the same checks and differ only in their
 * first instructions (the tc form loads data and data_end from the
 * __sk_buff and compares them once). Bodies pass bench_end down to the inlined functions that
 * use it.
 *
 * A variable offset from the ctx is refused by the kernel's verifier and
 * bpfx's ("dereference of modified ctx ptr"), so a default form that
 * needs one (parse) runs on bpfx only in its tc form; DPDK, whose
 * validator accepts it, runs the default form: the same body and checks.
 */
#ifdef BENCH_KERNEL
#define BENCH_PROG(name, type, in)                                             \
	static __always_inline __u64 name##_body(type *in,                     \
						 const void *bench_end);       \
	SEC("tc") __u64 name(struct __sk_buff *skb)                            \
	{                                                                      \
		void *data = (void *)(long)skb->data;                          \
		void *data_end = (void *)(long)skb->data_end;                  \
		if (data + sizeof(type) > data_end)                            \
			return BENCH_SHORT_INPUT;                              \
		return name##_body(data, data_end);                            \
	}                                                                      \
	static __always_inline __u64 name##_body(type *in,                     \
						 const void *bench_end)
#else
#define BENCH_PROG(name, type, in)                                             \
	static __always_inline __u64 name##_body(type *in,                     \
						 const void *bench_end);       \
	SEC(BENCH_SEC) __u64 name(type *in)                                    \
	{                                                                      \
		const void *end = in + 1;                                      \
		/* opaque, so clang keeps the checks, as it must with the     \
		 * packet's data_end */                                        \
		__asm__("" : "+r"(end));                              \
		return name##_body(in, end);                                   \
	}                                                                      \
	static __always_inline __u64 name##_body(type *in,                     \
						 const void *bench_end)
#endif
#define BENCH_CHECK(ptr, size)                                                 \
	do {                                                                   \
		if ((const void *)(ptr) + (size) > bench_end)                  \
			return 0;                                              \
	} while (0)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#endif

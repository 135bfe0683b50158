/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * BPF exceptions for BPF programs: bpf_throw, exception callbacks and the
 * bpf_assert family, source-compatible with the names and meanings of the
 * kernel's selftest header bpf_experimental.h, so one program source
 * builds for both the kernel and bpfx. Include after <bpf/bpf_helpers.h>.
 *
 *   bpf_throw(cookie)         end the program now, from any call depth; the
 *                             exception callback gets the 64-bit cookie,
 *                             the default one returns it
 *   __exception_cb(name)      on the main program: name the callback, a
 *                             global function `int name(__u64 cookie)`
 *   bpf_assert(cond)          throw 0 unless cond
 *   bpf_assert_with(cond, v)  throw v unless cond
 *   bpf_assert_OP(lhs, rhs)   OP in eq ne lt le gt ge: throw 0 unless
 *                             lhs OP rhs (signedness of lhs's type); rhs
 *                             must be a constant, as in the kernel header
 *   bpf_assert_OP_with(lhs, rhs, v), bpf_assert_range(x, lo, hi),
 *   bpf_assert_range_with(x, lo, hi, v)   (lo <= x <= hi)
 */
#ifndef BPFX_BPF_EXCEPTIONS_H
#define BPFX_BPF_EXCEPTIONS_H

#ifndef __BPF_EXPERIMENTAL__
extern void bpf_throw(__u64 cookie) __ksym;

#define __exception_cb(name)                                                   \
	__attribute__((btf_decl_tag("exception_callback:" #name)))

#define bpf_assert_with(cond, value)                                           \
	({                                                                     \
		if (!(cond))                                                   \
			bpf_throw(value);                                      \
	})
#define bpf_assert(cond) bpf_assert_with(cond, 0)

#define __bpfx_assert_op(lhs, op, rhs, value)                                  \
	({                                                                     \
		_Static_assert(__builtin_constant_p(rhs),                      \
			       "2nd argument must be a constant expression");  \
		__typeof__(lhs) __bpfx_lhs = (lhs);                            \
		if (!(__bpfx_lhs op (__typeof__(lhs))(rhs)))                   \
			bpf_throw(value);                                      \
	})

#define bpf_assert_eq_with(lhs, rhs, value) __bpfx_assert_op(lhs, ==, rhs, value)
#define bpf_assert_ne_with(lhs, rhs, value) __bpfx_assert_op(lhs, !=, rhs, value)
#define bpf_assert_lt_with(lhs, rhs, value) __bpfx_assert_op(lhs, <, rhs, value)
#define bpf_assert_le_with(lhs, rhs, value) __bpfx_assert_op(lhs, <=, rhs, value)
#define bpf_assert_gt_with(lhs, rhs, value) __bpfx_assert_op(lhs, >, rhs, value)
#define bpf_assert_ge_with(lhs, rhs, value) __bpfx_assert_op(lhs, >=, rhs, value)
#define bpf_assert_eq(lhs, rhs) bpf_assert_eq_with(lhs, rhs, 0)
#define bpf_assert_ne(lhs, rhs) bpf_assert_ne_with(lhs, rhs, 0)
#define bpf_assert_lt(lhs, rhs) bpf_assert_lt_with(lhs, rhs, 0)
#define bpf_assert_le(lhs, rhs) bpf_assert_le_with(lhs, rhs, 0)
#define bpf_assert_gt(lhs, rhs) bpf_assert_gt_with(lhs, rhs, 0)
#define bpf_assert_ge(lhs, rhs) bpf_assert_ge_with(lhs, rhs, 0)

#define bpf_assert_range_with(x, begin, end, value)                            \
	({                                                                     \
		__typeof__(x) __bpfx_x = (x);                                  \
		bpf_assert_ge_with(__bpfx_x, begin, value);                    \
		bpf_assert_le_with(__bpfx_x, end, value);                      \
	})
#define bpf_assert_range(x, begin, end) bpf_assert_range_with(x, begin, end, 0)
#endif /* __BPF_EXPERIMENTAL__ */

#endif

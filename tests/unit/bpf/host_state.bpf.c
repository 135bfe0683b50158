// SPDX-License-Identifier: GPL-2.0
/* For test_exceptions.c: a tc program that throws at the depth its packet
 * asks for (byte 14; byte 15 asks for a print first) (0 = in the main program, 1..7 = in nested static
 * subprograms); the bpf_printk makes the host run a nested program from
 * inside the helper. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"

char LICENSE[] SEC("license") = "GPL";


static __noinline int level7(int t)
{
	if (t == 7)
		bpf_throw(107);
	return 1;
}
#define LEVEL(n, next)                                                         \
	static __noinline int level##n(int t)                                  \
	{                                                                      \
		if (t == n)                                                    \
			bpf_throw(100 + n);                                    \
		return next(t) + 1;                                            \
	}
LEVEL(6, level7)
LEVEL(5, level6)
LEVEL(4, level5)
LEVEL(3, level4)
LEVEL(2, level3)
LEVEL(1, level2)

static __always_inline int body(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;
	int d;

	if (data + 16 > end)
		return -1;
	d = data[14];
	if (data[15])
		bpf_printk("nest %d", d);
	if (d == 0)
		bpf_throw(100);
	return level1(d) + 1000;
}

SEC("tc")
int thrower(struct __sk_buff *skb)
{
	return body(skb);
}

__noinline int plus_one_cb(__u64 cookie)
{
	return (int)cookie + 1;
}

SEC("tc") __exception_cb(plus_one_cb)
int thrower_cb(struct __sk_buff *skb)
{
	return body(skb);
}

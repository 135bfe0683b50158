// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of bpf_throw by call depth (bench/throw.c). One tc program; its
 * packet, 16 bytes that begin like an ARP frame, asks in byte 14 for a
 * depth D and in byte 15 whether to throw:
 *
 *   D = 0      the main program stops: bpf_throw(100), or returns 200
 *   D = k > 0  the main program calls level1, which calls level2, ... down
 *              to levelk, each a __noinline static subprogram; levelk
 *              stops: bpf_throw(100 + k), or returns normally through the
 *              same k frames and the program returns 200 + k
 *
 * Nothing else differs between the two paths, so ns/run throwing minus
 * ns/run returning is the cost of the throw itself: the default exception
 * callback returns the cookie (100 + D). Built with -mcpu=v4 and bpfx's
 * exceptions header; DPDK does not run it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"

char LICENSE[] SEC("license") = "GPL";

#define THROW_COOKIE 100
#define RETURN_BASE 200

static __noinline int level7(int depth, int throw)
{
	if (throw)
		bpf_throw(THROW_COOKIE + 7);
	return 1;
}

#define LEVEL(n, next)                                                         \
	static __noinline int level##n(int depth, int throw)                   \
	{                                                                      \
		if (depth == n) {                                              \
			if (throw)                                             \
				bpf_throw(THROW_COOKIE + n);                   \
			return 1;                                              \
		}                                                              \
		return next(depth, throw) + 1;                                 \
	}
LEVEL(6, level7)
LEVEL(5, level6)
LEVEL(4, level5)
LEVEL(3, level4)
LEVEL(2, level3)
LEVEL(1, level2)

SEC("tc")
int throw_depth(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *data_end = (void *)(long)skb->data_end;

	if (data + 16 > data_end)
		return -1;
	int depth = data[14], throw = data[15];
	if (depth == 0) {
		if (throw)
			bpf_throw(THROW_COOKIE);
		return RETURN_BASE;
	}
	return RETURN_BASE + level1(depth, throw);
}

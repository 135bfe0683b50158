// SPDX-License-Identifier: GPL-2.0
/*
 * A syscall program reads the context struct that test_run copies in
 * (ctx=HEX, little-endian fields).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct args {
	__u32 a;
	__u32 b;
	__u64 c;
	__s16 d;
	__u8 name[6];
};

/* 5 + 7 + (0x300000000 >> 32) - (-2) + 'x' (120) = 137 */
// TEST prog=sum_args ctx=05000000070000000000000003000000feff78797a000000 retval=137
SEC("syscall")
int sum_args(struct args *ctx)
{
	return ctx->a + ctx->b + (ctx->c >> 32) - ctx->d + ctx->name[0];
}

__u64 seen;

// TEST prog=copy_args ctx=efbeadde00000000 retval=0 map=.bss:00000000:efbeadde00000000
SEC("syscall")
int copy_args(__u64 *ctx)
{
	seen = *ctx;
	return 0;
}

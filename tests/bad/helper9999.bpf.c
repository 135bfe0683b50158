// SPDX-License-Identifier: GPL-2.0
/* Calls helper 9999, which no kernel has. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

static long (*bad_helper)(void) = (void *)9999;

SEC("tc")
int call_bad(struct __sk_buff *skb)
{
	return bad_helper();
}

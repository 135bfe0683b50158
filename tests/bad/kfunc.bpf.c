// SPDX-License-Identifier: GPL-2.0
/* Calls a kfunc that no runtime provides. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern void bpf_nonexistent(void) __ksym;

SEC("tc")
int call_missing(struct __sk_buff *skb)
{
	bpf_nonexistent();
	return 0;
}

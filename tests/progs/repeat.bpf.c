// SPDX-License-Identifier: GPL-2.0
/*
 * test_run with repeat runs every repetition on the same packet and
 * context, as the kernel does: what one run changes, the next one sees
 * (5 runs add 5 to a packet byte and to skb->mark).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// TEST prog=tc_changes_stay data=00112233445566778899aabb08060a00 repeat=5 retval=15005 data_out=00112233445566778899aabb08060f00
SEC("tc")
int tc_changes_stay(struct __sk_buff *skb)
{
	__u8 *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;

	if (d + 15 > e)
		return 0;
	d[14] += 1;
	skb->mark += 1;
	return d[14] * 1000 + skb->mark;
}

// TEST prog=xdp_changes_stay data=00112233445566778899aabb08060a00 repeat=5 retval=15
SEC("xdp")
int xdp_changes_stay(struct xdp_md *x)
{
	__u8 *d = (void *)(long)x->data, *e = (void *)(long)x->data_end;

	if (d + 15 > e)
		return 0;
	d[14] += 1;
	return d[14];
}

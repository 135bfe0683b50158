// SPDX-License-Identifier: GPL-2.0
/*
 * XDP on struct xdp_md: drop UDP to port 9999, pass the rest; bounce a
 * packet (XDP_TX) with its MACs swapped; strip the Ethernet header with
 * bpf_xdp_adjust_head, which data_out shows.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

// TEST prog=xdp_filter data=00112233445566778899aabb08004500002000010000401100000a0000010a0000020035270f000c0000deadbeef retval=1
// TEST prog=xdp_filter data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=2
// TEST prog=xdp_filter data=00112233445566778899aabb86dd00000000000000000000 retval=2
// TEST prog=xdp_filter data=00112233445566778899aabb08004500 retval=1
SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	/* truncated IPv4: drop */
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	return udp->dest == bpf_htons(9999) ? XDP_DROP : XDP_PASS;
}

// TEST prog=xdp_bounce data=00112233445566778899aabb0800aabbccdd retval=3 data_out=66778899aabb0011223344550800aabbccdd
SEC("xdp")
int xdp_bounce(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

// TEST prog=xdp_strip data=00112233445566778899aabb0800450000140001000040ff00000a0000010a000002 retval=2 data_out=450000140001000040ff00000a0000010a000002
SEC("xdp")
int xdp_strip(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, ETH_HLEN))
		return XDP_ABORTED;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (data + 1 > data_end || *(__u8 *)data != 0x45)
		return XDP_DROP;
	return XDP_PASS;
}

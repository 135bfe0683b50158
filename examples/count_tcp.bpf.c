// SPDX-License-Identifier: GPL-2.0
/* The demo: a tc classifier that parses Ethernet/IPv4, counts packets per
 * IP protocol in a hash map, keeps a byte total in global data, logs with
 * bpf_printk and drops TCP packets to port 22. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

__u64 total_bytes = 0;

SEC("tc")
int count_tcp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	total_bytes += skb->len;
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;

	__u32 proto = ip->protocol;
	__u64 one = 1, *count = bpf_map_lookup_elem(&proto_count, &proto);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&proto_count, &proto, &one, BPF_ANY);

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
		if ((void *)(tcp + 1) > data_end)
			return TC_ACT_OK;
		bpf_printk("tcp packet to port %d", bpf_ntohs(tcp->dest));
		if (tcp->dest == bpf_htons(22))
			return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * tc (sched_cls) programs on struct __sk_buff: Ethernet/IPv4/TCP/UDP
 * parsing with data/data_end bounds checks, skb->len and skb->protocol
 * (test_run derives it from the Ethernet type), direct packet writes seen
 * in data_out, bpf_skb_load_bytes and bpf_skb_store_bytes.
 *
 * Packets used below:
 *   TCP  10.0.0.1:1234 -> 10.0.0.2:80, 54 bytes
 *   UDP  10.0.0.1:53 -> 10.0.0.2:8080 with 4 bytes of payload, 46 bytes
 *   TCP  with a 4-byte IP option (ihl 6), dport 443, 58 bytes
 *   ARP  (type 0x0806), and IPv4/TCP cut after the IP header (34 bytes:
 *   the kernel's test_run refuses IPv4 frames shorter than that)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* TCP and UDP: the destination port; UDP adds 100000. Not IPv4: 1;
 * truncated: 2 or 3. */
// TEST prog=parse data=00112233445566778899aabb08004500002800010000400600000a0000010a00000204d2005000000001000000005002721000000000 retval=80
// TEST prog=parse data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=108080
// TEST prog=parse data=00112233445566778899aabb08004600002c00010000400600000a0000010a000002010101010400 retval=3
// The kernel's test_run refuses IPv4 (IPv6) frames shorter than their
// network header, but not a bare Ethernet header of another protocol.
// TEST prog=parse data=00112233445566778899aabb0806 retval=1
// TEST prog=parse data=00112233445566778899aabb08004500002800010000400600 error=test_run__rules__refuse
// TEST prog=parse data=00112233445566778899aabb86dd600000000000000000000000000000 error=test_run__rules__refuse
// TEST prog=parse data=00112233445566778899aabb08004600002c00010000400600000a0000010a0000020101010104d201bb00000001000000005002721000000000 retval=443
// TEST prog=parse data=ffffffffffff8899aabbccdd0806000108000604000100000000000000000000000000000000000000000000 retval=1
// TEST prog=parse data=00112233445566778899aabb08004500001400010000400600000a0000010a000002 retval=3
SEC("tc")
int parse(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;

	if ((void *)(eth + 1) > data_end)
		return 4;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return 1;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return 2;
	if (ip->ihl < 5)
		return 5;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)ip + ip->ihl * 4;

		if ((void *)(tcp + 1) > data_end)
			return 3;
		return bpf_ntohs(tcp->dest);
	}
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)ip + ip->ihl * 4;

		if ((void *)(udp + 1) > data_end)
			return 3;
		return 100000 + bpf_ntohs(udp->dest);
	}
	return 6;
}

/* len is the whole frame; protocol is the Ethernet type in network
 * order: len * 65536 + the type. */
// TEST prog=skb_fields data=00112233445566778899aabb08004500002800010000400600000a0000010a00000204d2005000000001000000005002721000000000 retval=3540992
// TEST prog=skb_fields data=ffffffffffff8899aabbccdd86dd6000000000003b400000000000000000000000000000000000000000000000000000000000000000 retval=3573469
SEC("tc")
int skb_fields(struct __sk_buff *skb)
{
	return (skb->len << 16) + bpf_ntohs(skb->protocol);
}

/* Swap the MAC addresses and decrement the TTL in place. */
// TEST prog=rewrite data=00112233445566778899aabb08004500002800010000400600000a0000010a00000204d2005000000001000000005002721000000000 retval=0 data_out=66778899aabb001122334455080045000028000100003f0600000a0000010a00000204d2005000000001000000005002721000000000
SEC("tc")
int rewrite(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	unsigned char tmp[ETH_ALEN];

	if ((void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	ip->ttl--;
	return TC_ACT_OK;
}

/* bpf_skb_load_bytes: the IPv4 source address; past the end: -EFAULT
 * with the buffer zeroed. */
// TEST prog=load_bytes data=00112233445566778899aabb08004500002800010000400600000a0000010a00000204d2005000000001000000005002721000000000 retval=167772161
SEC("tc")
int load_bytes(struct __sk_buff *skb)
{
	__u32 addr, far = 0xffffffff;

	if (bpf_skb_load_bytes(skb, 26, &addr, sizeof(addr)))
		return -1;
	if (bpf_skb_load_bytes(skb, skb->len - 2, &far, sizeof(far)) != -14)
		return -2;
	if (far != 0)
		return -3;
	return bpf_ntohl(addr);
}

/* bpf_skb_store_bytes writes a new destination MAC. */
// TEST prog=store_bytes data=00112233445566778899aabb0800450000140001000040ff00000a0000010a000002 retval=0 data_out=0a0b0c0d0e0f66778899aabb0800450000140001000040ff00000a0000010a000002
SEC("tc")
int store_bytes(struct __sk_buff *skb)
{
	unsigned char mac[ETH_ALEN] = { 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };

	return bpf_skb_store_bytes(skb, 0, mac, ETH_ALEN, 0);
}

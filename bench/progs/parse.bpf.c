/* Ethernet / 802.1Q / IPv4 / TCP-UDP parsing of a burst of four frames,
 * as a classifier would: bounds checks against the frame length, the
 * IPv4 header length from the IHL field, fragments and non-IP frames set
 * aside, and for TCP and UDP a flow hash of the 5-tuple mixed with the
 * TCP flags. Returns the per-frame results combined. */
#include "common.h"

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define ETH_P_IP 0x0800
#define ETH_P_8021Q 0x8100
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

static __always_inline __u32 load_be16(const __u8 *p)
{
	return __builtin_bswap16(*(const __u16 *)p);
}

static __always_inline __u32 load_be32(const __u8 *p)
{
	return __builtin_bswap32(*(const __u32 *)p);
}

static __always_inline __u64 parse_frame(const struct parse_slot *slot,
					  const void *bench_end)
{
	const __u8 *frame = slot->frame;
	__u32 len = slot->len;
	__u32 l3 = ETH_HLEN;

	if (len > PARSE_FRAME_MAX)
		return 0;
	if (len < ETH_HLEN)
		return 0;
	__u32 proto = load_be16(frame + 12);
	if (proto == ETH_P_8021Q) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return 0;
		proto = load_be16(frame + 16);
		l3 += VLAN_HLEN;
	}
	if (proto != ETH_P_IP)
		return 1;

	const __u8 *ip = frame + l3;
	if (l3 + 20 > len)
		return 0;
	__u32 version_ihl = ip[0];
	__u32 ihl = (version_ihl & 0xf) * 4;
	if ((version_ihl >> 4) != 4 || ihl < 20)
		return 0;
	BENCH_CHECK(ip, 20);
	if (load_be16(ip + 6) & 0x3fff) /* MF or a fragment offset */
		return 2;
	__u32 ip_proto = ip[9];
	__u32 saddr = load_be32(ip + 12);
	__u32 daddr = load_be32(ip + 16);

	__u32 l4 = l3 + ihl;
	const __u8 *th = frame + l4;
	__u32 ports, flags = 0;
	if (ip_proto == IPPROTO_TCP) {
		if (l4 + 20 > len)
			return 0;
		BENCH_CHECK(th, 20);
		ports = load_be32(th);
		flags = th[13];
		__u32 doff = (th[12] >> 4) * 4;
		if (doff < 20 || l4 + doff > len)
			return 0;
	} else if (ip_proto == IPPROTO_UDP) {
		if (l4 + 8 > len)
			return 0;
		BENCH_CHECK(th, 8);
		ports = load_be32(th);
	} else {
		return 3;
	}

	__u64 flow = ((__u64)saddr << 32 | daddr) ^ ((__u64)ports << 8 | ip_proto);
	flow *= 0x9e3779b97f4a7c15ULL;
	return (flow >> 16) ^ flags;
}

BENCH_PROG(parse, struct parse_input, in)
{
	__u64 result = 0;

	UNROLL
	for (int i = 0; i < PARSE_BURST; i++)
		result = result * 31 + parse_frame(&in->slot[i], bench_end);
	return result;
}

/*
 * The contexts of test_run: what r1 points to, built from the caller's
 * data_in / ctx_in the way the kernel's net/bpf/test_run.c builds it for
 * the program type, and copied back to data_out / ctx_out afterwards.
 *
 *  - skb types (tc, socket filter, cgroup_skb, lwt): the packet is copied
 *    into memory below 4 GiB after NET_SKB_PAD of headroom, so the u32
 *    data / data_end / data_meta fields of the struct __sk_buff hold real
 *    addresses and a program's 32-bit load of them yields a usable
 *    pointer. protocol and pkt_type come from the Ethernet header as
 *    eth_type_trans() computes them on the loopback device; tc and lwt see
 *    the packet from the Ethernet header, the others from the network
 *    header. ctx_in may set only the fields convert___skb_to_skb() allows.
 *  - xdp: an xdp_md over a packet with XDP_PACKET_HEADROOM in front; ctx_in
 *    may give a metadata length (xdp_md.data) and an ingress device/queue.
 *  - syscall: the ctx_in bytes (at most U16_MAX), no packet.
 *  - raw tracepoints and everything else: a copy of ctx_in in a buffer at
 *    least as large as the type's context, zero-filled beyond ctx_in.
 *
 * bpf_xdp_adjust_head() reaches the state of its run through
 * run->ctx_state, which ctx_prepare() sets.
 *
 * The context struct and the packet are writable memory of the run; every
 * field a program reads is kept in the state as well, so what is copied
 * back never depends on what a program wrote into pointer fields. As in
 * the kernel, repeats run on the same context and packet: what one run
 * changes, the next sees.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/bpf_perf_event.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define CTX_PAGE 4096u
#define XDP_FRAME_SIZE 40u /* sizeof(struct xdp_frame), kept at hard_start */
#define NET_SKB_PAD 64u /* max(32, L1_CACHE_BYTES) */
#define NET_IP_ALIGN 0u
#define SKB_SHINFO_SIZE 320u /* SKB_DATA_ALIGN(sizeof(skb_shared_info)) */
#ifndef XDP_PACKET_HEADROOM
#define XDP_PACKET_HEADROOM 256
#endif
#define XDP_META_MAX 32u
#define GSO_LEGACY_MAX_SIZE 65536u
#define GSO_MAX_SEGS 65535u
#define SYSCALL_CTX_MAX 65535u /* U16_MAX */
#define RAW_TP_CTX_MAX (12 * 8) /* MAX_BPF_FUNC_ARGS u64s */
#define LOW_MEM_SIZE (2 * CTX_PAGE)
/* The packet area: headroom, packet, tailroom, within one page as the
 * kernel's test_run requires. */
#define SKB_MAX_DATA (CTX_PAGE - NET_SKB_PAD - NET_IP_ALIGN - SKB_SHINFO_SIZE)
#define XDP_MAX_DATA (CTX_PAGE - XDP_PACKET_HEADROOM - SKB_SHINFO_SIZE)

#ifndef BPF_F_TEST_SKB_CHECKSUM_COMPLETE
#define BPF_F_TEST_SKB_CHECKSUM_COMPLETE (1U << 2)
#endif

enum ctx_kind { CTX_SKB, CTX_XDP, CTX_BUF };

struct run_ctx_state {
	enum ctx_kind kind;
	u32 prog_type;

	/* below 4 GiB: the context struct at low, the packet area at
	 * low + CTX_PAGE */
	u8 *low;
	void *ctx;             /* what r1 points to (NULL for syscall) */
	size_t ctx_size;
	void *ctx_init;        /* the context as prepared */
	size_t ctx_out_size;   /* what ctx_out gets (buffer types) */
	bool ctx_writable;

	/* the packet: [pkt, pkt + pkt_len) is what the program sees and
	 * what is restored; data_out is out_head zero bytes then that */
	u8 *pkt;
	size_t pkt_len;
	bool pkt_writable;
	size_t out_head;

	/* the caller's context (ctx_in, or zeros when only ctx_out is set),
	 * updated and copied to ctx_out; has_user_ctx as the kernel's
	 * bpf_ctx_init() returns non-NULL */
	bool has_user_ctx;
	union {
		struct __sk_buff skb;
		struct xdp_md xdp;
	} user;

	/* xdp: the packet area starts at hard_start; bpf_xdp_adjust_head
	 * moves data (and the metadata before it) within it */
	u8 *hard_start;
	u8 *data_end;


	/* skb and xdp fields the program cannot change */
	u32 ifindex;
	u32 ingress_ifindex;
	u32 rx_queue_index;
	u32 wire_len;
	u32 meta_len;
};

/* ---- memory below 4 GiB ---- */

static void *low_alloc(size_t size)
{
	void *p;

#ifdef MAP_32BIT
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (p != MAP_FAILED)
		return p;
#endif
	/* Probe hints from 256 MiB upwards. */
	for (u64 hint = 0x10000000; hint + size < (1ull << 32);
	     hint += 0x1000000) {
		p = mmap((void *)(uintptr_t)hint, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS
#ifdef MAP_FIXED_NOREPLACE
				 | MAP_FIXED_NOREPLACE
#endif
			 ,
			 -1, 0);
		if (p == MAP_FAILED)
			continue;
		if ((u64)(uintptr_t)p + size <= (1ull << 32))
			return p;
		munmap(p, size);
	}
	return NULL;
}

/* ---- network devices ---- */

struct net_dev {
	u32 ifindex;
	u8 addr[ETH_ALEN];
	u8 broadcast[ETH_ALEN];
	u32 rx_queues;
};

static void read_mac(const char *name, const char *attr, u8 *mac)
{
	char path[128], line[64];
	unsigned int b[ETH_ALEN];
	FILE *f;

	memset(mac, 0, ETH_ALEN);
	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attr);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) == ETH_ALEN)
		for (int i = 0; i < ETH_ALEN; i++)
			mac[i] = (u8)b[i];
	fclose(f);
}

static u32 count_rx_queues(const char *name)
{
	char path[128];
	struct dirent *de;
	u32 n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	d = opendir(path);
	if (!d)
		return 1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "rx-", 3))
			n++;
	closedir(d);
	return n ? n : 1;
}

/* The device IFINDEX of this network namespace, as dev_get_by_index();
 * 0 and 1 are the loopback device, whose addresses are all zero. */
static int net_dev_get(u32 ifindex, struct net_dev *dev)
{
	char name[IF_NAMESIZE];

	memset(dev, 0, sizeof(*dev));
	dev->ifindex = 1;
	dev->rx_queues = 1;
	if (ifindex <= 1)
		return 0;
	if (!if_indextoname(ifindex, name))
		return -ENODEV;
	dev->ifindex = ifindex;
	read_mac(name, "address", dev->addr);
	read_mac(name, "broadcast", dev->broadcast);
	dev->rx_queues = count_rx_queues(name);
	return 0;
}

/* ---- shared rules of test_run ---- */

static bool range_is_zero(const void *buf, size_t from, size_t to)
{
	const u8 *p = buf;

	for (size_t i = from; i < to; i++)
		if (p[i])
			return false;
	return true;
}

/* bpf_ctx_init(): the caller's context, MAX_SIZE bytes, zero-filled; a
 * larger ctx_in must have a zero tail. Returns 0 with *present false when
 * neither ctx_in nor ctx_out is given. */
static int user_ctx_init(const struct bpfx_test_run_opts *opts, void *buf,
			 size_t max_size, bool *present)
{
	const void *in = OPTS_GET(opts, ctx_in, NULL);
	const void *out = OPTS_GET(opts, ctx_out, NULL);
	u32 size = OPTS_GET(opts, ctx_size_in, 0);

	memset(buf, 0, max_size);
	*present = in || out;
	if (!in)
		return 0;
	if (size > CTX_PAGE)
		return -E2BIG;
	if (size > max_size && !range_is_zero(in, max_size, size))
		return -E2BIG;
	memcpy(buf, in, MIN((size_t)size, max_size));
	return 0;
}

/* bpf_ctx_finish(): copies what fits and reports the full size. */
static int user_ctx_finish(struct bpfx_test_run_opts *opts, const void *ctx,
			   u32 size)
{
	void *out = OPTS_GET(opts, ctx_out, NULL);
	u32 room = OPTS_GET(opts, ctx_size_out, 0);
	u32 copy = size;
	int err = 0;

	if (!ctx || !out)
		return 0;
	if (copy > room) {
		copy = room;
		err = -ENOSPC;
	}
	memcpy(out, ctx, copy);
	OPTS_SET(opts, ctx_size_out, size);
	return err;
}

/* bpf_test_finish(): data_out gets the packet; without a size hint
 * (data_size_out == 0) the whole packet is copied, as the kernel does. */
static int data_finish(const struct run_ctx_state *st,
		       struct bpfx_test_run_opts *opts)
{
	u8 *out = OPTS_GET(opts, data_out, NULL);
	u32 room = OPTS_GET(opts, data_size_out, 0);
	u32 size = (u32)(st->out_head + st->pkt_len);
	u32 copy = size;
	int err = 0;

	if (room && copy > room) {
		copy = room;
		err = -ENOSPC;
	}
	if (out) {
		u32 head = MIN(copy, (u32)st->out_head);

		memset(out, 0, head);
		memcpy(out + head, st->pkt, copy - head);
	}
	OPTS_SET(opts, data_size_out, size);
	return err;
}

static void set_regions(const struct run_ctx_state *st, struct bpfx_run *run)
{
	run->ctx = (struct run_region){ 0 };
	run->pkt = (struct run_region){ 0 };
	run->cached = (struct run_region){ 0 }; /* may hold the old packet */
	if (st->ctx)
		run->ctx = (struct run_region){
			(u64)(uintptr_t)st->ctx,
			(u64)(uintptr_t)st->ctx + st->ctx_size,
			st->ctx_writable,
		};
	if (st->pkt)
		run->pkt = (struct run_region){
			(u64)(uintptr_t)st->pkt,
			(u64)(uintptr_t)st->pkt + st->pkt_len,
			st->pkt_writable,
		};
	run->cached = (struct run_region){ 0 };
}

static u32 low32(const void *p)
{
	return (u32)(uintptr_t)p;
}

/* ---- skb ---- */

/* eth_type_trans(): the protocol (network order) and packet type. */
static void eth_classify(const u8 *pkt, size_t len, const struct net_dev *dev,
			 u32 *protocol, u32 *pkt_type)
{
	const struct ethhdr *eth = (const struct ethhdr *)pkt;
	u16 proto;

	if (memcmp(eth->h_dest, dev->addr, ETH_ALEN)) {
		if (eth->h_dest[0] & 1)
			*pkt_type = memcmp(eth->h_dest, dev->broadcast,
					   ETH_ALEN)
					    ? PACKET_MULTICAST
					    : PACKET_BROADCAST;
		else
			*pkt_type = PACKET_OTHERHOST;
	} else {
		*pkt_type = PACKET_HOST;
	}
	memcpy(&proto, &eth->h_proto, sizeof(proto));
	if (ntohs(proto) >= ETH_P_802_3_MIN)
		*protocol = proto;
	else if (len >= ETH_HLEN + 2 && pkt[ETH_HLEN] == 0xff &&
		 pkt[ETH_HLEN + 1] == 0xff)
		*protocol = htons(ETH_P_802_3);
	else
		*protocol = htons(ETH_P_802_2);
}

/* The socket test_run attaches: family and addresses from the IP header
 * (local = source, remote = destination, as the kernel fills them). */
static void skb_sock_fields(struct __sk_buff *skb, const u8 *net, size_t len)
{
	if (skb->protocol == htons(ETH_P_IP)) {
		skb->family = AF_INET;
		if (len >= 20) {
			memcpy(&skb->local_ip4, net + 12, 4);
			memcpy(&skb->remote_ip4, net + 16, 4);
		}
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		skb->family = AF_INET6;
		if (len >= 40) {
			memcpy(skb->local_ip6, net + 8, 16);
			memcpy(skb->remote_ip6, net + 24, 16);
		}
	}
}

/* convert___skb_to_skb(): only mark, priority, ingress_ifindex, ifindex,
 * cb, tstamp, wire_len, gso_segs, gso_size and hwtstamp may be set. */
static int skb_user_ctx_check(const struct __sk_buff *u, u32 len)
{
	if (!range_is_zero(u, 0, offsetof(struct __sk_buff, mark)) ||
	    !range_is_zero(u, offsetofend(struct __sk_buff, mark),
			   offsetof(struct __sk_buff, priority)) ||
	    !range_is_zero(u, offsetofend(struct __sk_buff, ifindex),
			   offsetof(struct __sk_buff, cb)) ||
	    !range_is_zero(u, offsetofend(struct __sk_buff, cb),
			   offsetof(struct __sk_buff, tstamp)) ||
	    !range_is_zero(u, offsetofend(struct __sk_buff, gso_segs),
			   offsetof(struct __sk_buff, gso_size)) ||
	    !range_is_zero(u, offsetofend(struct __sk_buff, gso_size),
			   offsetof(struct __sk_buff, hwtstamp)) ||
	    !range_is_zero(u, offsetofend(struct __sk_buff, hwtstamp),
			   sizeof(struct __sk_buff)))
		return -EINVAL;
	if (u->wire_len && (u->wire_len < len ||
			    u->wire_len > GSO_LEGACY_MAX_SIZE))
		return -EINVAL;
	if (u->gso_segs > GSO_MAX_SEGS)
		return -EINVAL;
	return 0;
}

static int skb_prepare(struct run_ctx_state *st,
		       const struct bpfx_test_run_opts *opts)
{
	const u8 *data_in = OPTS_GET(opts, data_in, NULL);
	u32 size = OPTS_GET(opts, data_size_in, 0);
	u32 flags = OPTS_GET(opts, flags, 0) & ~BPF_F_TEST_RUN_ON_CPU;
	struct __sk_buff *skb;
	struct net_dev dev;
	bool is_l2 = false;
	u8 *buf;
	int err;

	if (flags & ~BPF_F_TEST_SKB_CHECKSUM_COMPLETE)
		return -EINVAL;
	if (size < ETH_HLEN || size > SKB_MAX_DATA)
		return -EINVAL;
	if (!data_in)
		return -EFAULT;
	err = user_ctx_init(opts, &st->user.skb, sizeof(st->user.skb),
			    &st->has_user_ctx);
	if (err)
		return err;

	switch (st->prog_type) {
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
		is_l2 = true;
		/* fallthrough */
	case BPF_PROG_TYPE_LWT_IN:
	case BPF_PROG_TYPE_LWT_OUT:
	case BPF_PROG_TYPE_LWT_XMIT:
		st->pkt_writable = true;
		break;
	default:
		break;
	}

	err = net_dev_get(st->has_user_ctx ? st->user.skb.ifindex : 0, &dev);
	if (err)
		return err;

	st->low = low_alloc(LOW_MEM_SIZE);
	if (!st->low)
		return -ENOMEM;
	buf = st->low + CTX_PAGE + NET_SKB_PAD + NET_IP_ALIGN;
	memcpy(buf, data_in, size);

	skb = st->ctx = st->low;
	st->ctx_size = sizeof(*skb);
	st->ctx_writable = true;
	memset(skb, 0, sizeof(*skb));
	eth_classify(buf, size, &dev, &skb->protocol, &skb->pkt_type);
	skb_sock_fields(skb, buf + ETH_HLEN, size - ETH_HLEN);
	/* as the kernel's test_run: an IPv4/IPv6 frame too short for its
	 * network header is refused */
	u32 l3_len = size - ETH_HLEN;
	if ((skb->protocol == htons(ETH_P_IP) && l3_len < 20 /* iphdr */) ||
	    (skb->protocol == htons(ETH_P_IPV6) && l3_len < 40 /* ipv6hdr */))
		return -EINVAL;

	/* eth_type_trans() pulled the Ethernet header; tc pushes it back */
	st->out_head = is_l2 ? 0 : ETH_HLEN;
	st->pkt = is_l2 ? buf : buf + ETH_HLEN;
	st->pkt_len = is_l2 ? size : size - ETH_HLEN;
	if (!st->pkt_len)
		return -EINVAL; /* an skb without data */

	st->ifindex = dev.ifindex;
	if (st->has_user_ctx) {
		const struct __sk_buff *u = &st->user.skb;

		err = skb_user_ctx_check(u, (u32)st->pkt_len);
		if (err)
			return err;
		st->ingress_ifindex = u->ingress_ifindex;
		st->wire_len = u->wire_len ? u->wire_len : (u32)st->pkt_len;
		skb->mark = u->mark;
		skb->priority = u->priority;
		memcpy(skb->cb, u->cb, sizeof(skb->cb));
		skb->tstamp = u->tstamp;
		skb->gso_segs = u->gso_segs;
		skb->gso_size = u->gso_size;
		skb->hwtstamp = u->hwtstamp;
	}
	skb->len = (u32)st->pkt_len;
	skb->ifindex = st->ifindex;
	skb->ingress_ifindex = st->ingress_ifindex;
	skb->wire_len = st->wire_len;
	skb->data = low32(st->pkt);
	skb->data_meta = low32(st->pkt);
	skb->data_end = low32(st->pkt + st->pkt_len);
	return 0;
}

static int skb_finish(struct run_ctx_state *st,
		      struct bpfx_test_run_opts *opts)
{
	const struct __sk_buff *skb = st->ctx;
	struct __sk_buff *u = &st->user.skb;
	int err = data_finish(st, opts);

	if (err || !st->has_user_ctx)
		return err;
	/* convert_skb_to___skb() */
	u->mark = skb->mark;
	u->priority = skb->priority;
	u->ingress_ifindex = st->ingress_ifindex;
	u->ifindex = st->ifindex;
	u->tstamp = skb->tstamp;
	memcpy(u->cb, skb->cb, sizeof(u->cb));
	u->wire_len = st->wire_len;
	u->gso_segs = ((const struct __sk_buff *)st->ctx_init)->gso_segs;
	u->hwtstamp = ((const struct __sk_buff *)st->ctx_init)->hwtstamp;
	return user_ctx_finish(opts, u, sizeof(*u));
}

/* ---- xdp ---- */

static int xdp_prepare(struct run_ctx_state *st,
		       const struct bpfx_test_run_opts *opts,
		       const struct bpfx_program *prog)
{
	const u8 *data_in = OPTS_GET(opts, data_in, NULL);
	u32 size = OPTS_GET(opts, data_size_in, 0);
	u32 flags = OPTS_GET(opts, flags, 0) & ~BPF_F_TEST_RUN_ON_CPU;
	u32 headroom = XDP_PACKET_HEADROOM;
	struct xdp_md *md;
	struct net_dev dev;
	u8 *meta;
	int err;

	if (prog->expected_attach_type == BPF_XDP_DEVMAP ||
	    prog->expected_attach_type == BPF_XDP_CPUMAP)
		return -EINVAL;
	if (flags)
		return flags & BPF_F_TEST_XDP_LIVE_FRAMES ? -EOPNOTSUPP
							  : -EINVAL;
	err = user_ctx_init(opts, &st->user.xdp, sizeof(st->user.xdp),
			    &st->has_user_ctx);
	if (err)
		return err;
	if (st->has_user_ctx) {
		const struct xdp_md *u = &st->user.xdp;

		/* no user data before the metadata */
		if (u->data_meta || u->data_end != size ||
		    u->data > u->data_end || (u->data & 3) ||
		    u->data > XDP_META_MAX)
			return -EINVAL;
		headroom -= u->data;
		st->meta_len = u->data;
	}
	/* bpfx has no multi-buffer packets: what does not fit the page is
	 * refused rather than split into fragments */
	if (size > CTX_PAGE - headroom - SKB_SHINFO_SIZE)
		return -EINVAL;
	if (size < ETH_HLEN)
		return -EINVAL;
	if (!data_in)
		return -EFAULT;

	net_dev_get(0, &dev);
	if (st->has_user_ctx) {
		const struct xdp_md *u = &st->user.xdp;

		if (u->egress_ifindex)
			return -EINVAL;
		if (!u->ingress_ifindex && u->rx_queue_index)
			return -EINVAL;
		if (u->ingress_ifindex) {
			err = net_dev_get(u->ingress_ifindex, &dev);
			if (err)
				return err;
			if (u->rx_queue_index >= dev.rx_queues)
				return -EINVAL;
			st->rx_queue_index = u->rx_queue_index;
		}
	}
	st->ingress_ifindex = dev.ifindex;

	st->low = low_alloc(LOW_MEM_SIZE);
	if (!st->low)
		return -ENOMEM;
	st->hard_start = st->low + CTX_PAGE;
	meta = st->hard_start + headroom;
	memcpy(meta, data_in, size);
	st->data_end = meta + size;
	st->pkt = meta;
	st->pkt_len = size;
	st->pkt_writable = true;

	md = st->ctx = st->low;
	st->ctx_size = sizeof(*md);
	st->ctx_writable = true;
	md->data_meta = low32(meta);
	md->data = low32(meta + st->meta_len);
	md->data_end = low32(meta + size);
	md->ingress_ifindex = st->ingress_ifindex;
	md->rx_queue_index = st->rx_queue_index;
	md->egress_ifindex = 0;
	return 0;
}

static int xdp_finish(struct run_ctx_state *st,
		      struct bpfx_test_run_opts *opts)
{
	struct xdp_md *u = &st->user.xdp;
	int err = data_finish(st, opts);

	if (err || !st->has_user_ctx)
		return err;
	/* xdp_convert_buff_to_md() */
	u->rx_queue_index = st->rx_queue_index;
	u->ingress_ifindex = st->ingress_ifindex;
	u->data = st->meta_len;
	u->data_end = (u32)st->pkt_len;
	return user_ctx_finish(opts, u, sizeof(*u));
}

/* ---- syscall, tracing and the rest: a context buffer ---- */

/* How large the context a program of TYPE reads is, at least. */
static size_t type_ctx_size(u32 type)
{
	switch (type) {
	case BPF_PROG_TYPE_KPROBE:
		return sizeof(bpf_user_pt_regs_t);
	case BPF_PROG_TYPE_PERF_EVENT:
		return sizeof(struct bpf_perf_event_data);
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
		return RAW_TP_CTX_MAX;
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_LSM:
	case BPF_PROG_TYPE_STRUCT_OPS:
	case BPF_PROG_TYPE_EXT:
		return RAW_TP_CTX_MAX + 8; /* arguments and fexit's return */
	case BPF_PROG_TYPE_TRACEPOINT:
		return CTX_PAGE; /* a trace event record */
	default:
		return MAX(sizeof(struct bpf_sock_ops), sizeof(struct __sk_buff));
	}
}

static int buf_prepare(struct run_ctx_state *st,
		       const struct bpfx_test_run_opts *opts)
{
	const void *ctx_in = OPTS_GET(opts, ctx_in, NULL);
	u32 ctx_size_in = OPTS_GET(opts, ctx_size_in, 0);
	u32 flags = OPTS_GET(opts, flags, 0) & ~BPF_F_TEST_RUN_ON_CPU;
	size_t size;

	/* no data_in/out for these types */
	if (OPTS_GET(opts, data_in, NULL) || OPTS_GET(opts, data_out, NULL) ||
	    OPTS_GET(opts, data_size_in, 0) || flags)
		return -EINVAL;
	if (!ctx_in)
		ctx_size_in = 0;

	if (st->prog_type == BPF_PROG_TYPE_SYSCALL) {
		if (ctx_size_in > SYSCALL_CTX_MAX ||
		    OPTS_GET(opts, repeat, 0) > 1)
			return -EINVAL;
		if (!ctx_size_in)
			return 0; /* r1 is NULL */
		size = ctx_size_in;
	} else {
		if ((st->prog_type == BPF_PROG_TYPE_RAW_TRACEPOINT ||
		     st->prog_type == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE) &&
		    ctx_size_in > RAW_TP_CTX_MAX)
			return -EINVAL;
		if (ctx_size_in > SYSCALL_CTX_MAX)
			return -EINVAL;
		size = MAX((size_t)ctx_size_in, type_ctx_size(st->prog_type));
	}
	st->ctx = calloc(1, size);
	if (!st->ctx)
		return -ENOMEM;
	st->ctx_size = size;
	st->ctx_writable = true;
	if (ctx_size_in)
		memcpy(st->ctx, ctx_in, ctx_size_in);
	/* the caller's context comes back at the size it had; the padding
	 * up to the type's size is bpfx's */
	st->ctx_out_size = ctx_size_in ? ctx_size_in : size;
	return 0;
}

/* Points the xdp_md and the run's packet region at the current packet. */
static void xdp_sync(struct run_ctx_state *st, struct bpfx_run *run)
{
	struct xdp_md *md = st->ctx;
	u8 *data = st->pkt + st->meta_len;

	md->data_meta = low32(st->pkt);
	md->data = low32(data);
	md->data_end = low32(st->data_end);
	st->pkt_len = (size_t)(st->data_end - st->pkt);
	set_regions(st, run);
}

/* ---- LD_ABS / LD_IND ---- */

#ifndef SKF_NET_OFF
#define SKF_NET_OFF (-0x100000)
#define SKF_LL_OFF (-0x200000)
#endif

/*
 * As the kernel's bpf_skb_load_helper_{8,16,32}() and, for negative
 * offsets, bpf_internal_load_pointer_neg_helper(). In an skb of test_run
 * the link-layer (mac) header is where the Ethernet header starts, the
 * network header ETH_HLEN further (eth_type_trans() then
 * skb_reset_network_header()), whatever the program type: skb->data is
 * the mac header for tc and the network header for a socket filter. The
 * kernel accepts a pointer between the skb's head (NET_SKB_PAD +
 * NET_IP_ALIGN before the mac header) and its tail (the end of the
 * packet); offsets from either header are never negative, so in effect
 * from the mac header to the tail. Without an skb (a raw run: the memory
 * is the packet), only offsets from the start count.
 */
u64 run_ld_packet(struct bpfx_run *run, s64 k, u64 size)
{
	const struct run_ctx_state *st = run->ctx_state;
	const u8 *p, *head, *tail;
	u64 v = 0;

	k = (s32)k;
	if (k >= 0) {
		u64 len = run->pkt.hi - run->pkt.lo;
		if (len < size || (u64)k > len - size)
			return (u64)-1;
		p = (const u8 *)(uintptr_t)(run->pkt.lo + (u64)k);
	} else {
		if (!st || st->kind != CTX_SKB || !st->pkt)
			return (u64)-1;
		const u8 *mac = st->low + CTX_PAGE + NET_SKB_PAD + NET_IP_ALIGN;
		head = st->low + CTX_PAGE;
		tail = st->pkt + st->pkt_len;
		if (k >= SKF_NET_OFF)
			p = mac + ETH_HLEN + (k - SKF_NET_OFF);
		else if (k >= SKF_LL_OFF)
			p = mac + (k - SKF_LL_OFF);
		else
			return (u64)-1;
		if (p < head || p > tail || (u64)(tail - p) < size)
			return (u64)-1;
	}
	for (u64 i = 0; i < size; i++)
		v = v << 8 | p[i];
	return v;
}

int ctx_xdp_adjust_head(struct bpfx_run *run, u64 xdp_md, int offset)
{
	struct run_ctx_state *st = run->ctx_state;
	u8 *data, *start;

	if (!st || st->kind != CTX_XDP || xdp_md != (u64)(uintptr_t)st->ctx)
		return -EBADF;
	data = st->pkt + st->meta_len;
	start = st->hard_start + XDP_FRAME_SIZE + st->meta_len;
	if ((s64)(data - start) + offset < 0 ||
	    (s64)(st->data_end - data) - offset < ETH_HLEN)
		return -EINVAL;
	if (st->meta_len)
		memmove(st->pkt + offset, st->pkt, st->meta_len);
	st->pkt += offset;
	xdp_sync(st, run);
	return 0;
}

/* A dynptr over the packet: skb dynptrs see it from skb->data, xdp ones
 * from xdp->data (after the metadata), skb_meta ones the metadata (none
 * in an skb of test_run, as in the kernel's). */
int ctx_dynptr_packet(struct bpfx_run *run, u64 ctx, int type, u8 **data,
		      u64 *len, bool *writable)
{
	struct run_ctx_state *st = run->ctx_state;
	enum ctx_kind kind = type == BPFX_DYNPTR_XDP ? CTX_XDP : CTX_SKB;

	if (!st || st->kind != kind || !st->ctx ||
	    ctx != (u64)(uintptr_t)st->ctx || !st->pkt)
		return -EINVAL;
	*writable = st->pkt_writable;
	switch (type) {
	case BPFX_DYNPTR_SKB:
		*data = st->pkt;
		*len = st->pkt_len;
		return 0;
	case BPFX_DYNPTR_SKB_META:
		*data = st->pkt;
		*len = 0;
		return 0;
	case BPFX_DYNPTR_XDP:
		*data = st->pkt + st->meta_len;
		*len = (u64)(st->data_end - *data);
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- entry points ---- */

int ctx_prepare(struct bpfx_program *prog,
		const struct bpfx_test_run_opts *opts, struct bpfx_run *run,
		struct run_ctx_state **state, u64 *r1)
{
	struct run_ctx_state *st;
	int err;

	*state = NULL;
	*r1 = 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->prog_type = prog ? prog->type : BPF_PROG_TYPE_UNSPEC;

	switch (st->prog_type) {
	case BPF_PROG_TYPE_SOCKET_FILTER:
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_LWT_IN:
	case BPF_PROG_TYPE_LWT_OUT:
	case BPF_PROG_TYPE_LWT_XMIT:
	case BPF_PROG_TYPE_LWT_SEG6LOCAL:
		st->kind = CTX_SKB;
		err = skb_prepare(st, opts);
		break;
	case BPF_PROG_TYPE_XDP:
		st->kind = CTX_XDP;
		err = xdp_prepare(st, opts, prog);
		break;
	default:
		st->kind = CTX_BUF;
		err = buf_prepare(st, opts);
		break;
	}
	if (!err && st->ctx) {
		st->ctx_init = malloc(st->ctx_size);
		if (!st->ctx_init)
			err = -ENOMEM;
		else
			memcpy(st->ctx_init, st->ctx, st->ctx_size);
	}
	if (err) {
		ctx_free(st);
		return err;
	}
	set_regions(st, run);
	run->ctx_state = st;
	*state = st;
	*r1 = (u64)(uintptr_t)st->ctx;
	return 0;
}

int ctx_finish(struct run_ctx_state *st, struct bpfx_test_run_opts *opts,
	       u64 retval)
{
	if (!st || !opts)
		return 0;
	switch (st->kind) {
	case CTX_SKB:
		return skb_finish(st, opts);
	case CTX_XDP:
		return xdp_finish(st, opts);
	case CTX_BUF:
		return user_ctx_finish(opts, st->ctx, (u32)st->ctx_out_size);
	}
	return 0;
}

void ctx_free(struct run_ctx_state *st)
{
	if (!st)
		return;
	if (st->low)
		munmap(st->low, LOW_MEM_SIZE);
	else
		free(st->ctx);
	free(st->ctx_init);
	free(st);
}

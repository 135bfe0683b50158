// SPDX-License-Identifier: GPL-2.0
/*
 * Dynptrs: local ones over map values, ring buffer ones, skb and xdp ones
 * over the packet. The runs check the kernel's return codes (-E2BIG,
 * -EINVAL, -ERANGE), views after bpf_dynptr_adjust, clones, slices that
 * write the packet; the rejections are the kernel's: a leaked ring buffer
 * dynptr, an overwritten or released one used again, its slices used
 * after, dynptr bytes read or written as memory.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpfx/bpf/bpfx_dynptr.h>

char LICENSE[] SEC("license") = "GPL";

#define E2BIG 7
#define EINVAL 22
#define ERANGE 34

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[64]);
} bufs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_dynptr);
} dynptrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

static char *map_buf(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&bufs, &key);
}

/* writes, reads back, data slices, bounds */
// TEST prog=local_rw retval=0x11 map=bufs:00000000:00616263646500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
SEC("syscall")
int local_rw(void *ctx)
{
	char in[6] = "abcde", out[6] = {};
	struct bpf_dynptr d;
	char *buf = map_buf(), *p;
	int ret = 0;

	if (!buf)
		return -1;
	if (bpf_dynptr_from_mem(buf, 64, 0, &d))
		return -2;
	if (bpf_dynptr_write(&d, 1, in, 5, 0))
		return -3;
	if (bpf_dynptr_read(out, 5, &d, 1, 0) || out[0] != 'a' || out[4] != 'e')
		return -4;
	/* out of the view: -E2BIG; flags: -EINVAL */
	if (bpf_dynptr_read(out, 6, &d, 60, 0) != -E2BIG)
		return -5;
	if (bpf_dynptr_write(&d, 64, in, 1, 0) != -E2BIG)
		return -6;
	if (bpf_dynptr_read(out, 1, &d, 0, 1) != -EINVAL)
		return -7;
	if (bpf_dynptr_write(&d, 0, in, 1, 2) != -EINVAL)
		return -8;
	/* zero bytes at the very end are fine */
	if (bpf_dynptr_read(out, 0, &d, 64, 0) || bpf_dynptr_write(&d, 64, in, 0, 0))
		return -9;
	p = bpf_dynptr_data(&d, 2, 4);
	if (!p)
		return -10;
	ret = p[0] - 'a'; /* 'b' */
	if (bpf_dynptr_data(&d, 61, 4))
		return -11;
	p = bpf_dynptr_data(&d, 60, 4);
	if (!p)
		return -12;
	return ret + 0x10;
}

/* adjust, size, clone: the clone keeps its own view */
// TEST prog=local_adjust retval=0x11f00a5
SEC("syscall")
int local_adjust(void *ctx)
{
	struct bpf_dynptr d, c;
	char *buf = map_buf();
	__u32 r = 0;

	if (!buf)
		return -1;
	buf[10] = 0xa5;
	bpf_dynptr_from_mem(buf, 64, 0, &d);
	if (bpf_dynptr_adjust(&d, 5, 1) != -EINVAL)
		return -2;
	if (bpf_dynptr_adjust(&d, 65, 65) != -ERANGE ||
	    bpf_dynptr_adjust(&d, 0, 65) != -ERANGE)
		return -3;
	if (bpf_dynptr_clone(&d, &c))
		return -4;
	if (bpf_dynptr_adjust(&d, 10, 40))
		return -5;
	r = bpf_dynptr_size(&d);              /* 30 */
	r = r << 4 | bpf_dynptr_size(&c) >> 2; /* 64 >> 2 = 16: 0x1e0 | 0x10 */
	{
		__u8 b = 0;

		if (bpf_dynptr_read(&b, 1, &d, 0, 0))
			return -6;
		r = r << 12 | b; /* buf[10] */
	}
	if (bpf_dynptr_is_null(&d) || bpf_dynptr_is_rdonly(&d))
		return -7;
	return r + (bpf_dynptr_read(&r, 1, &d, 30, 0) == -E2BIG ? 0x1000000 : 0);
}

/* a failed constructor leaves a null dynptr: everything on it fails */
// TEST prog=local_null retval=0x7
SEC("syscall")
int local_null(void *ctx)
{
	struct bpf_dynptr d, c;
	char *buf = map_buf(), b;
	int r = 0;

	if (!buf)
		return -1;
	if (bpf_dynptr_from_mem(buf, 8, 1, &d) != -EINVAL)
		return -2;
	r |= bpf_dynptr_is_null(&d);
	r |= (bpf_dynptr_size(&d) == (__u32)-EINVAL) << 1;
	r |= (bpf_dynptr_clone(&d, &c) == -EINVAL && bpf_dynptr_is_null(&c)) << 2;
	if (bpf_dynptr_read(&b, 1, &d, 0, 0) != -EINVAL ||
	    bpf_dynptr_data(&d, 0, 1) || bpf_dynptr_adjust(&d, 0, 0) != -EINVAL)
		return -3;
	return r;
}

/* copy and memset between two views of one buffer */
// TEST prog=local_copy_memset retval=0x2a61
SEC("syscall")
int local_copy_memset(void *ctx)
{
	struct bpf_dynptr a, b;
	char *buf = map_buf();

	if (!buf)
		return -1;
	buf[0] = 'a';
	bpf_dynptr_from_mem(buf, 32, 0, &a);
	bpf_dynptr_from_mem(buf + 32, 32, 0, &b);
	if (bpf_dynptr_memset(&b, 0, 32, 0x2a))
		return -2;
	if (bpf_dynptr_memset(&b, 1, 32, 0) != -E2BIG)
		return -3;
	if (bpf_dynptr_copy(&b, 1, &a, 0, 1))
		return -4;
	if (bpf_dynptr_copy(&b, 0, &a, 1, 32) != -E2BIG)
		return -5;
	return buf[32] << 8 | buf[33];
}

/* a ring buffer record written through its dynptr, then submitted; one
 * discarded; the ring holds both (header + 16 bytes each) */
// TEST prog=ringbuf_dynptr retval=48
SEC("syscall")
int ringbuf_dynptr(void *ctx)
{
	struct bpf_dynptr d, e;
	__u64 v = 42, *p;

	if (bpf_ringbuf_reserve_dynptr(&rb, 16, 0, &d)) {
		bpf_ringbuf_discard_dynptr(&d, 0);
		return -1;
	}
	bpf_dynptr_write(&d, 0, &v, sizeof(v), 0);
	p = bpf_dynptr_data(&d, 8, 8);
	if (p)
		*p = 7;
	bpf_ringbuf_submit_dynptr(&d, 0);
	bpf_ringbuf_reserve_dynptr(&rb, 16, 0, &e);
	bpf_ringbuf_discard_dynptr(&e, 0);
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
}

/* failed reservations still need a release (a no-op) */
// TEST prog=ringbuf_dynptr_fail retval=0x1f
SEC("syscall")
int ringbuf_dynptr_fail(void *ctx)
{
	struct bpf_dynptr a, b, c;
	int r = 0;

	r |= bpf_ringbuf_reserve_dynptr(&rb, 8, 1, &a) == -EINVAL;
	r |= bpf_dynptr_is_null(&a) << 1;
	/* more than the ring */
	r |= (bpf_ringbuf_reserve_dynptr(&rb, 8192, 0, &b) == -EINVAL) << 2;
	/* more than a dynptr */
	r |= (bpf_ringbuf_reserve_dynptr(&rb, 1 << 24, 0, &c) == -E2BIG) << 3;
	r |= (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) == 0) << 4;
	bpf_ringbuf_discard_dynptr(&a, 0);
	bpf_ringbuf_submit_dynptr(&b, 0);
	bpf_ringbuf_discard_dynptr(&c, 0);
	return r;
}

/* the clone of a ring buffer dynptr shares its sample: submitting the
 * clone submits it */
// TEST prog=ringbuf_clone retval=24
SEC("syscall")
int ringbuf_clone(void *ctx)
{
	struct bpf_dynptr d, c;

	bpf_ringbuf_reserve_dynptr(&rb, 16, 0, &d);
	bpf_dynptr_clone(&d, &c);
	bpf_dynptr_adjust(&c, 8, 16);
	bpf_dynptr_memset(&c, 0, 8, 1);
	bpf_ringbuf_submit_dynptr(&c, 0);
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
}

/* an skb dynptr over the packet: the Ethernet type through a read-only
 * slice, a write through the dynptr and one through a writable slice */
// TEST prog=skb_dynptr data=00112233445566778899aabb08060001 retval=0x806e data_out=ee112233445566778899aabb080600ff
SEC("tc")
int skb_dynptr(struct __sk_buff *skb)
{
	char buf[ETH_HLEN];
	struct bpf_dynptr d;
	struct ethhdr *eth;
	__u8 *ip, v = 0xee;
	int r;

	if (bpf_dynptr_from_skb(skb, 0, &d))
		return -1;
	eth = bpf_dynptr_slice(&d, 0, buf, sizeof(buf));
	if (!eth)
		return -2;
	r = __builtin_bswap16(eth->h_proto) << 4 | bpf_dynptr_size(&d) - 2;
	if (bpf_dynptr_write(&d, 0, &v, 1, 0))
		return -3;
	ip = bpf_dynptr_slice_rdwr(&d, ETH_HLEN, NULL, 2);
	if (!ip)
		return -4;
	ip[1] = 0xff;
	if (bpf_dynptr_slice(&d, 15, NULL, 2) || bpf_dynptr_is_rdonly(&d))
		return -5;
	if (bpf_skb_pull_data(skb, 17) != -12 /* -ENOMEM */ ||
	    bpf_skb_pull_data(skb, 0))
		return -6;
	return r;
}

/* metadata: none in a test_run skb */
// TEST prog=skb_meta_dynptr data=00112233445566778899aabb08060001 retval=0
SEC("tc")
int skb_meta_dynptr(struct __sk_buff *skb)
{
	struct bpf_dynptr m;

	if (bpf_dynptr_from_skb_meta(skb, 0, &m))
		return -1;
	if (bpf_dynptr_slice(&m, 0, NULL, 1))
		return -2;
	return bpf_dynptr_size(&m);
}

/* cgroup_skb may not write the packet: its skb dynptrs are read-only */
// TEST prog=skb_rdonly data=00112233445566778899aabb0800450000140001000040ff00000a0000010a000002 retval=1
SEC("cgroup_skb/egress")
int skb_rdonly(struct __sk_buff *skb)
{
	struct bpf_dynptr d;
	__u8 b = 0, v = 1;
	int r = 0;

	if (bpf_dynptr_from_skb(skb, 1, &d) != -EINVAL)
		return 0;
	if (bpf_dynptr_from_skb(skb, 0, &d))
		return 0;
	r |= bpf_dynptr_is_rdonly(&d);
	r |= (bpf_dynptr_write(&d, 0, &v, 1, 0) == -EINVAL) << 1;
	r |= (!bpf_dynptr_read(&b, 1, &d, 0, 0) && b == 0x45) << 2;
	return !bpf_dynptr_data(&d, 0, 1) && r == 7;
}

/* an xdp dynptr follows the data start that bpf_xdp_adjust_head moves */
// TEST prog=xdp_dynptr data=00112233445566778899aabb0800aabbccdd0102030405060708 retval=0x1a08aa data_out=778899aabb0800aaccccdd0102030405060708
SEC("xdp")
int xdp_dynptr(struct xdp_md *xdp)
{
	struct bpf_dynptr d;
	__u8 *p, b = 0;
	__u32 r;

	if (bpf_dynptr_from_xdp(xdp, 0, &d))
		return -1;
	r = bpf_dynptr_size(&d) << 16; /* 26 */
	p = bpf_dynptr_slice_rdwr(&d, 12, NULL, 4);
	if (!p)
		return -2;
	r |= p[0] << 8 | p[2];
	p[3] = 0xcc;
	if (bpf_xdp_adjust_head(xdp, 7))
		return -3;
	/* the view now starts 7 bytes later, 7 bytes past the packet's end */
	if (bpf_dynptr_read(&b, 1, &d, 20, 0) != -EINVAL)
		return -4;
	bpf_dynptr_read(&b, 1, &d, 0, 0);
	return b == 0x77 ? r : -5;
}

/* ---- what the verifier refuses ---- */

// TEST prog=leak_ringbuf_dynptr error=Unreleased__reference__id=2__alloc_insn=
SEC("syscall")
int leak_ringbuf_dynptr(void *ctx)
{
	struct bpf_dynptr d;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &d);
	return 0;
}

// TEST prog=use_after_submit error=Expected__an__initialized__dynptr__as__arg__#2
SEC("syscall")
int use_after_submit(void *ctx)
{
	struct bpf_dynptr d;
	char b[4];

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &d);
	bpf_ringbuf_submit_dynptr(&d, 0);
	return bpf_dynptr_read(b, 4, &d, 0, 0);
}

// TEST prog=slice_after_submit error=invalid__mem__access__'scalar'
SEC("syscall")
int slice_after_submit(void *ctx)
{
	struct bpf_dynptr d;
	int *p;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &d);
	p = bpf_dynptr_data(&d, 0, 4);
	if (!p) {
		bpf_ringbuf_discard_dynptr(&d, 0);
		return 0;
	}
	bpf_ringbuf_submit_dynptr(&d, 0);
	return *p;
}

// TEST prog=clone_after_submit error=Expected__an__initialized__dynptr__as__arg__#0
SEC("syscall")
int clone_after_submit(void *ctx)
{
	struct bpf_dynptr d, c;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &d);
	bpf_dynptr_clone(&d, &c);
	bpf_ringbuf_discard_dynptr(&d, 0);
	return bpf_dynptr_size(&c);
}

// TEST prog=submit_twice error=arg__1__is__an__unacquired__reference
SEC("syscall")
int submit_twice(void *ctx)
{
	struct bpf_dynptr d;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &d);
	bpf_ringbuf_submit_dynptr(&d, 0);
	bpf_ringbuf_submit_dynptr(&d, 0);
	return 0;
}

// TEST prog=overwrite_ringbuf_dynptr error=cannot__overwrite__referenced__dynptr
SEC("syscall")
int overwrite_ringbuf_dynptr(void *ctx)
{
	struct bpf_dynptr d;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &d);
	*((__u8 *)&d + 9) = 0;
	bpf_ringbuf_discard_dynptr(&d, 0);
	return 0;
}

// TEST prog=overwrite_local_dynptr error=Expected__an__initialized__dynptr__as__arg__#0
SEC("syscall")
int overwrite_local_dynptr(void *ctx)
{
	struct bpf_dynptr d;
	char *buf = map_buf();

	if (!buf)
		return 0;
	bpf_dynptr_from_mem(buf, 8, 0, &d);
	*(__u64 *)&d = 0;
	return bpf_dynptr_size(&d);
}

// TEST prog=slice_after_overwrite error=invalid__mem__access__'scalar'
SEC("syscall")
int slice_after_overwrite(void *ctx)
{
	struct bpf_dynptr d;
	char *buf = map_buf(), *p;

	if (!buf)
		return 0;
	bpf_dynptr_from_mem(buf, 8, 0, &d);
	p = bpf_dynptr_data(&d, 0, 1);
	if (!p)
		return 0;
	bpf_dynptr_from_mem(buf, 4, 0, &d);
	return *p;
}

// TEST prog=read_dynptr_bytes error=invalid__read__from__stack__off__-16+0__size__8
SEC("syscall")
int read_dynptr_bytes(void *ctx)
{
	struct bpf_dynptr d;
	char *buf = map_buf();

	if (!buf)
		return 0;
	bpf_dynptr_from_mem(buf, 8, 0, &d);
	return *(volatile __u64 *)&d;
}

// TEST prog=dynptr_as_memory error=invalid__read__from__stack__R3__off__-16+0__size__16
SEC("syscall")
int dynptr_as_memory(void *ctx)
{
	struct bpf_dynptr d;
	__u32 key = 0;
	char *buf = map_buf();

	if (!buf)
		return 0;
	bpf_dynptr_from_mem(buf, 8, 0, &d);
	return bpf_map_update_elem(&dynptrs, &key, &d, 0);
}

// TEST prog=read_into_dynptr error=potential__write__to__dynptr__at__off=-16__disallowed
SEC("syscall")
int read_into_dynptr(void *ctx)
{
	union {
		struct {
			char pad[16];
			struct bpf_dynptr d;
		};
		char all[32];
	} u;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &u.d);
	bpf_dynptr_read(u.all, sizeof(u.all), &u.d, 0, 0);
	bpf_ringbuf_discard_dynptr(&u.d, 0);
	return 0;
}

// TEST prog=dynptr_at_offset error=cannot__pass__in__dynptr__at__an__offset=-8
SEC("syscall")
int dynptr_at_offset(void *ctx)
{
	struct bpf_dynptr d;
	char *buf = map_buf();

	if (!buf)
		return 0;
	bpf_dynptr_from_mem(buf, 8, 0, &d);
	return bpf_dynptr_size((void *)&d + 8);
}

// TEST prog=uninit_dynptr error=Expected__an__initialized__dynptr__as__arg__#0
SEC("syscall")
int uninit_dynptr(void *ctx)
{
	struct bpf_dynptr d = {};

	return bpf_dynptr_is_null(&d);
}

// TEST prog=from_mem_stack error=Unsupported__reg__type__fp__for__bpf_dynptr_from_mem__data
SEC("syscall")
int from_mem_stack(void *ctx)
{
	struct bpf_dynptr d;
	char buf[8] = {};

	bpf_dynptr_from_mem(buf, 8, 0, &d);
	return 0;
}

// TEST prog=slice_var_size data=00112233445566778899aabb08060001 error=R4__must__be__a__known__constant
SEC("tc")
int slice_var_size(struct __sk_buff *skb)
{
	struct bpf_dynptr d;
	char buf[8];
	__u32 n = skb->len & 7;
	char *p;

	bpf_dynptr_from_skb(skb, 0, &d);
	p = bpf_dynptr_slice(&d, 0, buf, n);
	return p ? p[0] : 0;
}

// TEST prog=rdonly_slice_write data=00112233445566778899aabb08060001 error=R0__cannot__write__into__rdonly_mem
SEC("tc")
int rdonly_slice_write(struct __sk_buff *skb)
{
	struct bpf_dynptr d;
	__u8 *p;

	bpf_dynptr_from_skb(skb, 0, &d);
	p = bpf_dynptr_slice(&d, 0, NULL, 1);
	if (!p)
		return 0;
	*p = 1;
	return 0;
}

// TEST prog=slice_after_pull data=00112233445566778899aabb08060001 error=invalid__mem__access__'scalar'
SEC("tc")
int slice_after_pull(struct __sk_buff *skb)
{
	struct bpf_dynptr d;
	__u8 *p;

	bpf_dynptr_from_skb(skb, 0, &d);
	p = bpf_dynptr_slice(&d, 0, NULL, 1);
	if (!p)
		return 0;
	bpf_skb_pull_data(skb, 0);
	return *p;
}

// TEST prog=rdwr_slice_cgroup data=00112233445566778899aabb0800450000140001000040ff00000a0000010a000002 error=the__prog__does__not__allow__writes__to__packet__data
SEC("cgroup_skb/egress")
int rdwr_slice_cgroup(struct __sk_buff *skb)
{
	struct bpf_dynptr d;
	__u8 *p;

	bpf_dynptr_from_skb(skb, 0, &d);
	p = bpf_dynptr_slice_rdwr(&d, 0, NULL, 1);
	return p ? 1 : 0;
}

// TEST prog=xdp_dynptr_in_syscall error=calling__kernel__function__bpf_dynptr_from_xdp__is__not__allowed
SEC("syscall")
int xdp_dynptr_in_syscall(void *ctx)
{
	struct bpf_dynptr d;

	return bpf_dynptr_from_xdp(ctx, 0, &d);
}

/* a global function takes an initialised dynptr */
__attribute__((noinline)) int dynptr_first_byte(const struct bpf_dynptr *d)
{
	__u8 b = 0;

	if (bpf_dynptr_read(&b, 1, d, 0, 0))
		return -1;
	return b;
}

// TEST prog=global_dynptr_arg retval=0x5a
SEC("syscall")
int global_dynptr_arg(void *ctx)
{
	struct bpf_dynptr d;
	char *buf = map_buf();

	if (!buf)
		return 0;
	buf[0] = 0x5a;
	bpf_dynptr_from_mem(buf, 8, 0, &d);
	return dynptr_first_byte(&d);
}

// TEST prog=global_dynptr_uninit error=Expected__an__initialized__dynptr__as__arg__#0
SEC("syscall")
int global_dynptr_uninit(void *ctx)
{
	struct bpf_dynptr d = {};

	return dynptr_first_byte(&d);
}

/* bpf_dynptr_slice_rdwr belongs to programs that may write packet data,
 * whatever the dynptr */
// TEST prog=rdwr_slice_syscall error=the__prog__does__not__allow__writes__to__packet__data
SEC("syscall")
int rdwr_slice_syscall(void *ctx)
{
	struct bpf_dynptr d;
	int *p;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &d);
	p = bpf_dynptr_slice_rdwr(&d, 0, NULL, 4);
	bpf_ringbuf_discard_dynptr(&d, 0);
	return p != 0;
}

/* the memory of a local dynptr is written: no read-only map values */
// TEST prog=from_mem_rodata error=write__into__map__forbidden
SEC("syscall")
int from_mem_rodata(void *ctx)
{
	static const char ro[8] = "abc";
	struct bpf_dynptr d;

	return bpf_dynptr_from_mem((void *)ro, 8, 0, &d);
}

/*
 * The cases: for each program in progs/, its input (deterministic, from a
 * fixed-seed xorshift) and the result a plain C version of the same
 * algorithm computes, so a wrong answer is caught even when both engines
 * agree on it.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed;
}

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void fill_random(void *buf, size_t len, uint64_t seed)
{
	uint8_t *bytes = buf;
	rng_seed(seed);
	for (size_t i = 0; i < len; i++)
		bytes[i] = (uint8_t)(rng_next() >> 24);
}

static uint32_t be16_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- checksum ---- */

static void checksum_fill(void *input)
{
	fill_random(input, sizeof(struct csum_input), 1);
}

static uint64_t checksum_expected(const void *input)
{
	const struct csum_input *in = input;
	uint64_t sum = 0;
	for (size_t i = 0; i < CSUM_PKT_LEN; i += 2) {
		uint16_t word;
		memcpy(&word, in->pkt + i, 2);
		sum += word;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- parse ---- */

/* Writes Ethernet [802.1Q] IPv4 (IHL words) and a TCP or UDP header into
 * SLOT, with a payload up to LEN bytes in all. */
static void make_frame(struct parse_slot *slot, unsigned int len, bool vlan,
		       unsigned int ihl, unsigned int proto, uint32_t saddr,
		       uint32_t daddr, uint16_t sport, uint16_t dport,
		       uint8_t tcp_flags)
{
	uint8_t *f = slot->frame;
	unsigned int l3 = 14;

	memset(slot, 0, sizeof(*slot));
	fill_random(f, PARSE_FRAME_MAX, saddr ^ daddr);
	slot->len = (uint16_t)len;
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	if (vlan) {
		put_be16(f + 12, 0x8100);
		put_be16(f + 14, 42);
		l3 += 4;
	}
	put_be16(f + l3 - 2, 0x0800);
	uint8_t *ip = f + l3;
	ip[0] = (uint8_t)(0x40 | ihl);
	ip[1] = 0;
	put_be16(ip + 2, len - l3);
	put_be16(ip + 4, 0x1234);
	put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	put_be16(ip + 12, saddr >> 16);
	put_be16(ip + 14, saddr & 0xffff);
	put_be16(ip + 16, daddr >> 16);
	put_be16(ip + 18, daddr & 0xffff);
	uint8_t *th = ip + ihl * 4;
	put_be16(th, sport);
	put_be16(th + 2, dport);
	if (proto == 6) {
		th[12] = 5 << 4;
		th[13] = tcp_flags;
	}
}

static void parse_fill(void *input)
{
	struct parse_input *in = input;

	make_frame(&in->slot[0], 120, false, 5, 6, 0x0a000001, 0x0a000002,
		   40000, 443, 0x18);
	make_frame(&in->slot[1], 126, true, 7, 6, 0xc0a80105, 0x08080808,
		   51515, 80, 0x02);
	make_frame(&in->slot[2], 90, false, 5, 17, 0xac100001, 0xac1000fe,
		   5353, 53, 0);
	make_frame(&in->slot[3], 110, true, 5, 6, 0x0a0a0a0a, 0x0a0a0a0b,
		   22, 60000, 0x10);
}

static uint64_t parse_frame_expected(const struct parse_slot *slot)
{
	const uint8_t *f = slot->frame;
	uint32_t len = slot->len, l3 = 14, proto;

	if (len > PARSE_FRAME_MAX || len < 14)
		return 0;
	proto = be16_at(f + 12);
	if (proto == 0x8100) {
		if (len < 18)
			return 0;
		proto = be16_at(f + 16);
		l3 += 4;
	}
	if (proto != 0x0800)
		return 1;
	const uint8_t *ip = f + l3;
	if (l3 + 20 > len)
		return 0;
	uint32_t ihl = (ip[0] & 0xf) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20)
		return 0;
	if (be16_at(ip + 6) & 0x3fff)
		return 2;
	uint32_t ip_proto = ip[9], ports, flags = 0;
	uint32_t l4 = l3 + ihl;
	const uint8_t *th = f + l4;
	if (ip_proto == 6) {
		if (l4 + 20 > len)
			return 0;
		ports = be32_at(th);
		flags = th[13];
		uint32_t doff = (th[12] >> 4) * 4;
		if (doff < 20 || l4 + doff > len)
			return 0;
	} else if (ip_proto == 17) {
		if (l4 + 8 > len)
			return 0;
		ports = be32_at(th);
	} else {
		return 3;
	}
	uint64_t flow = ((uint64_t)be32_at(ip + 12) << 32 | be32_at(ip + 16)) ^
			((uint64_t)ports << 8 | ip_proto);
	flow *= 0x9e3779b97f4a7c15ULL;
	return (flow >> 16) ^ flags;
}

static uint64_t parse_expected(const void *input)
{
	const struct parse_input *in = input;
	uint64_t result = 0;
	for (int i = 0; i < PARSE_BURST; i++)
		result = result * 31 + parse_frame_expected(&in->slot[i]);
	return result;
}

/* ---- fnv1a, jhash ---- */

static void hash_fill(void *input)
{
	fill_random(input, sizeof(struct hash_input), 2);
}

static uint64_t fnv1a_expected(const void *input)
{
	const struct hash_input *in = input;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < HASH_LEN; i++) {
		h ^= in->buf[i];
		h *= 0x00000100000001b3ULL;
	}
	return h;
}

static uint32_t rol32(uint32_t word, unsigned int shift)
{
	return (word << shift) | (word >> (32 - shift));
}

static uint64_t jhash_expected(const void *input)
{
	const struct hash_input *in = input;
	uint32_t k[HASH_LEN / 4], n = HASH_LEN / 4, i = 0;
	uint32_t a, b, c;

	memcpy(k, in->buf, sizeof(k));
	a = b = c = 0xdeadbeef + (n << 2) + 0x9747b28c;
	for (; n - i > 3; i += 3) {
		a += k[i];
		b += k[i + 1];
		c += k[i + 2];
		a -= c; a ^= rol32(c, 4); c += b;
		b -= a; b ^= rol32(a, 6); a += c;
		c -= b; c ^= rol32(b, 8); b += a;
		a -= c; a ^= rol32(c, 16); c += b;
		b -= a; b ^= rol32(a, 19); a += c;
		c -= b; c ^= rol32(b, 4); b += a;
	}
	switch (n - i) {
	case 3: c += k[i + 2]; /* fall through */
	case 2: b += k[i + 1]; /* fall through */
	case 1: a += k[i];
		c ^= b; c -= rol32(b, 14);
		a ^= c; a -= rol32(c, 11);
		b ^= a; b -= rol32(a, 25);
		c ^= b; c -= rol32(b, 16);
		a ^= c; a -= rol32(c, 4);
		b ^= a; b -= rol32(a, 14);
		c ^= b; c -= rol32(b, 24);
	}
	return c;
}

/* ---- sort ---- */

static void sort_fill(void *input)
{
	struct sort_input *in = input;
	rng_seed(3);
	for (int i = 0; i < SORT_N; i++)
		in->val[i] = (uint32_t)rng_next();
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t sort_expected(const void *input)
{
	struct sort_input copy = *(const struct sort_input *)input;
	uint64_t sum = 0;
	qsort(copy.val, SORT_N, sizeof(copy.val[0]), cmp_u32);
	for (int i = 0; i < SORT_N; i++)
		sum += (uint64_t)copy.val[i] * (i + 1);
	return sum;
}

/* ---- maps ---- */

/* 64 keys drawn from 1..48, so some repeat within one run. */
static void maps_fill(void *input)
{
	struct maps_input *in = input;
	rng_seed(4);
	for (int i = 0; i < MAPS_KEYS; i++)
		in->key[i] = 1 + (uint32_t)(rng_next() % 48);
}

/* The first run on an empty map finds each key from its second
 * occurrence on; later runs find all of them. */
static uint64_t maps_expected(const void *input)
{
	const struct maps_input *in = input;
	uint64_t found = 0;
	for (int i = 0; i < MAPS_KEYS; i++)
		for (int j = 0; j < i; j++)
			if (in->key[j] == in->key[i]) {
				found++;
				break;
			}
	return found;
}

/* ---- empty ---- */

static void empty_fill(void *input)
{
	memset(input, 0, sizeof(struct hash_input));
}

static uint64_t empty_expected(const void *input)
{
	return 0;
}

const struct bench_case bench_cases[] = {
	{ "checksum", "RFC 1071 checksum of a 512-byte packet, 16-bit words",
	  sizeof(struct csum_input), checksum_fill, checksum_expected },
	{ "parse", "Ethernet/802.1Q/IPv4/TCP+UDP parsing of 4 frames, flow hash",
	  sizeof(struct parse_input), parse_fill, parse_expected },
	{ "fnv1a", "64-bit FNV-1a over 128 bytes",
	  sizeof(struct hash_input), hash_fill, fnv1a_expected },
	{ "jhash", "Jenkins lookup3 (kernel jhash2) over 128 bytes",
	  sizeof(struct hash_input), hash_fill, jhash_expected },
	{ "sort", "bubble sort of 16 u32 on the stack, branch-free network",
	  sizeof(struct sort_input), sort_fill, sort_expected },
	{ "maps", "64 hash map lookups + 64 updates in a bounded loop",
	  sizeof(struct maps_input), maps_fill, maps_expected,
	  .no_dpdk = true, .stateful = true },
	{ "empty", "returns 0: per-run cost of the engine's run loop",
	  sizeof(struct hash_input), empty_fill, empty_expected,
	  .overhead = true },
};
const size_t bench_case_cnt = sizeof(bench_cases) / sizeof(bench_cases[0]);

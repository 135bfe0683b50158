/* Bob Jenkins' lookup3 hash over 32-bit words (the kernel's jhash2) of a
 * 128-byte buffer: 32-bit adds, subtracts, xors and rotates (two shifts
 * and an or each, the BPF ISA having no rotate). */
#include "common.h"

#define JHASH_INITVAL 0xdeadbeef
#define JHASH_SEED 0x9747b28c

static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> (32 - shift));
}

#define JHASH_MIX(a, b, c)                                                     \
	do {                                                                   \
		a -= c; a ^= rol32(c, 4); c += b;                              \
		b -= a; b ^= rol32(a, 6); a += c;                              \
		c -= b; c ^= rol32(b, 8); b += a;                              \
		a -= c; a ^= rol32(c, 16); c += b;                             \
		b -= a; b ^= rol32(a, 19); a += c;                             \
		c -= b; c ^= rol32(b, 4); b += a;                              \
	} while (0)

#define JHASH_FINAL(a, b, c)                                                   \
	do {                                                                   \
		c ^= b; c -= rol32(b, 14);                                     \
		a ^= c; a -= rol32(c, 11);                                     \
		b ^= a; b -= rol32(a, 25);                                     \
		c ^= b; c -= rol32(b, 16);                                     \
		a ^= c; a -= rol32(c, 4);                                      \
		b ^= a; b -= rol32(a, 14);                                     \
		c ^= b; c -= rol32(b, 24);                                     \
	} while (0)

#define JHASH_WORDS (HASH_LEN / 4)

BENCH_PROG(jhash, struct hash_input, in)
{
	const __u32 *k = (const __u32 *)in->buf;
	__u32 a, b, c;

	a = b = c = JHASH_INITVAL + (JHASH_WORDS << 2) + JHASH_SEED;
	/* All but the last 1..3 words, three at a time. */
	UNROLL
	for (int i = 0; i + 3 < JHASH_WORDS; i += 3) {
		a += k[i];
		b += k[i + 1];
		c += k[i + 2];
		JHASH_MIX(a, b, c);
	}
	/* 32 words: 30 mixed above, 2 left. */
	b += k[JHASH_WORDS - 1];
	a += k[JHASH_WORDS - 2];
	JHASH_FINAL(a, b, c);
	return (__u64)c; /* zero-extended, whatever -mcpu */
}

/* 64-bit FNV-1a over a 128-byte buffer: per byte one xor and one 64-bit
 * multiply, a chain of dependent ALU64 operations. */
#include "common.h"

#define FNV64_OFFSET_BASIS 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x00000100000001b3ULL

BENCH_PROG(fnv1a, struct hash_input, in)
{
	__u64 h = FNV64_OFFSET_BASIS;

	UNROLL
	for (int i = 0; i < HASH_LEN; i++) {
		h ^= in->buf[i];
		h *= FNV64_PRIME;
	}
	return h;
}

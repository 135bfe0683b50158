/* The Internet checksum (RFC 1071) of a 512-byte packet: 16-bit words
 * summed into a 64-bit accumulator, then folded and complemented. The sum
 * is independent of byte order, so the words are read in host order. */
#include "common.h"

BENCH_PROG(checksum, struct csum_input, in)
{
	const __u16 *words = (const __u16 *)in->pkt;
	__u64 sum = 0;

	UNROLL
	for (int i = 0; i < CSUM_PKT_LEN / 2; i++)
		sum += words[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

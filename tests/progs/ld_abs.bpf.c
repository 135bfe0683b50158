// SPDX-License-Identifier: GPL-2.0
/*
 * Legacy packet loads (LD_ABS / LD_IND) with the kernel's negative
 * offsets: SKF_NET_OFF + n reads from the network header, SKF_LL_OFF + n
 * from the link-layer (mac) header, anywhere between the skb's head and
 * its tail; a load the kernel refuses ends the program returning 0. Each
 * program exists as a socket filter and as a tc program: in test_run the
 * mac header is the Ethernet header and the network header follows it,
 * for both, but skb->data (offset 0) is the network header for a socket
 * filter and the mac header for tc. Nothing below the mac header can be
 * reached: an offset under SKF_LL_OFF is out, and SKF_NET_OFF - n is
 * SKF_LL_OFF + 0x100000 - n.
 *
 * The packet, 46 bytes: Ethernet 00:11:22:33:44:55 <- 66:77:88:99:aa:bb,
 * IPv4 10.0.0.1 -> 10.0.0.2 UDP 53 -> 8080, payload de ad be ef.
 */
#include <linux/bpf.h>
#include <linux/filter.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* clang emits LD_ABS for a constant offset, LD_IND for a variable one */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

/* BOTH(name) { body }: name_sk, a socket filter, and name_tc, a tc
 * program, with the same body over skb */
#define BOTH(name)                                                             \
	static __always_inline int name(struct __sk_buff *skb);                \
	SEC("socket") int name##_sk(struct __sk_buff *skb) { return name(skb); } \
	SEC("tc") int name##_tc(struct __sk_buff *skb) { return name(skb); }   \
	static __always_inline int name(struct __sk_buff *skb)


/* version/IHL, protocol and total length of the IPv4 header */
// TEST prog=net_hdr_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x45110020
// TEST prog=net_hdr_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x45110020
BOTH(net_hdr)
{
	return load_byte(skb, SKF_NET_OFF) << 24 |
	       load_byte(skb, SKF_NET_OFF + 9) << 16 |
	       load_half(skb, SKF_NET_OFF + 2);
}

/* the Ethernet type and the last two bytes of the destination */
// TEST prog=ll_hdr_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x08004455
// TEST prog=ll_hdr_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x08004455
BOTH(ll_hdr)
{
	return load_half(skb, SKF_LL_OFF + 12) << 16 |
	       load_half(skb, SKF_LL_OFF + 4);
}

/* a word with its top bit set: 88 99 aa bb of the source */
// TEST prog=ll_word_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x8899aabb
// TEST prog=ll_word_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x8899aabb
BOTH(ll_word)
{
	return load_word(skb, SKF_LL_OFF + 8);
}

/* offsets from 0 start at skb->data: the IPv4 header for a socket
 * filter (0x45, protocol 0x11), the Ethernet header for tc (0x00, 0x99) */
// TEST prog=data_off_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x4511
// TEST prog=data_off_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x0099
BOTH(data_off)
{
	return load_byte(skb, 0) << 8 | load_byte(skb, 9);
}

/* LD_IND at a negative offset: the last byte of the packet when skb->len
 * counts from the network header (socket filter: 32), past the tail when
 * it counts from the mac header (tc: 46), which ends the program with 0 */
// TEST prog=ind_net_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0xf0
// TEST prog=ind_net_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
BOTH(ind_net)
{
	return load_byte(skb, SKF_NET_OFF + skb->len - 1) + 1;
}

/* LD_IND from the mac header: bytes 28-31 of the frame (socket filter)
 * or its last four (tc) */
// TEST prog=ind_ll_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0x00010a00
// TEST prog=ind_ll_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0xdeadbeef
BOTH(ind_ll)
{
	return load_word(skb, SKF_LL_OFF + skb->len - 4);
}

/* the last two bytes of the packet, then one byte further: out */
// TEST prog=at_tail_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0xbef0
// TEST prog=at_tail_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0xbef0
BOTH(at_tail)
{
	return load_half(skb, SKF_NET_OFF + 30) + 1;
}
// TEST prog=past_tail_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
// TEST prog=past_tail_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
BOTH(past_tail)
{
	return load_half(skb, SKF_NET_OFF + 31) + 1;
}

/* SKF_NET_OFF - 1 is SKF_LL_OFF + 0xfffff, far past the tail: out */
// TEST prog=net_minus_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
// TEST prog=net_minus_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
BOTH(net_minus)
{
	return load_byte(skb, SKF_NET_OFF - 1) + 7;
}

/* below SKF_LL_OFF, and -1 (the network header + 0xfffff): out */
// TEST prog=below_ll_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
// TEST prog=below_ll_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
BOTH(below_ll)
{
	return load_byte(skb, SKF_LL_OFF - 1) + 7;
}
// TEST prog=minus_one_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
// TEST prog=minus_one_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=0
BOTH(minus_one)
{
	return load_byte(skb, -1) + 7;
}

/* In a subprogram a refused load returns 0 from that subprogram only, as
 * the kernel's: the caller goes on (the verifier follows both the loaded
 * value and that return). */
static __attribute__((noinline)) int sub_load(struct __sk_buff *skb, int off)
{
	return load_byte(skb, off) + 7;
}

// TEST prog=sub_refused_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=42
// TEST prog=sub_refused_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=42
// TEST prog=sub_loaded_sk data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=118
// TEST prog=sub_loaded_tc data=00112233445566778899aabb08004500002000010000401100000a0000010a00000200351f90000c0000deadbeef retval=118
BOTH(sub_refused)
{
	return sub_load(skb, 1000) + 42;
}

BOTH(sub_loaded)
{
	/* 0x45 + 7 + 42 on a socket filter, where 0 is the IPv4 header */
	return sub_load(skb, SKF_NET_OFF) + 42;
}

/*
 * The inputs of the benchmark programs, shared by the BPF side (compiled
 * with clang -target bpf) and the host harness (bench.c), so both agree on
 * every offset. Each program gets a pointer to one of these structs in r1:
 * bpfx as the ctx of a BENCH_SEC program, DPDK as an RTE_BPF_ARG_PTR
 * argument of the same size; the tc form reads it from the packet.
 */
#ifndef BENCH_INPUTS_H
#define BENCH_INPUTS_H

#include <linux/types.h>

/* The section every program lives in, the only one in its object, which
 * DPDK's rte_bpf_elf_load() is given by name. A global function in .text
 * of an object with no program sections is a program of no type to bpfx,
 * run on a buffer (bpfx_program__run_raw: r1 = the input, r2 = its
 * length, repeat), the nearest thing to DPDK's r1 = the argument. No
 * kernel program type takes a plain buffer of any size as its context
 * with repeat, so each program is also built as a tc program over the
 * input as packet data (BENCH_PROG in common.h), which the kernel's
 * test_run runs and bpfx too. */
#define BENCH_SEC ".text"

/* What the tc form returns when the packet is shorter than the input. */
#define BENCH_SHORT_INPUT 0xdead

/* checksum: the Internet checksum (RFC 1071) of one packet. */
#define CSUM_PKT_LEN 512
struct csum_input {
	__u8 pkt[CSUM_PKT_LEN];
};

/* parse: Ethernet (optionally 802.1Q) / IPv4 / TCP or UDP parsing of a
 * burst of packets. Each slot holds a length and the frame; the frame
 * starts 2 bytes into the slot, so the IPv4 header is 4-byte aligned, as
 * NET_IP_ALIGN arranges in the kernel. */
#define PARSE_BURST 4
#define PARSE_FRAME_MAX 126
struct parse_slot {
	__u16 len;
	__u8 frame[PARSE_FRAME_MAX];
};
struct parse_input {
	struct parse_slot slot[PARSE_BURST];
};

/* fnv1a, jhash: 64-bit FNV-1a over bytes and Jenkins' lookup3 hash (the
 * kernel's jhash) over 32-bit words, of the same buffer. */
#define HASH_LEN 128
struct hash_input {
	__u8 buf[HASH_LEN];
};

/* sort: insertion sort of an array copied to the stack. */
#define SORT_N 16
struct sort_input {
	__u32 val[SORT_N];
};

/* maps: lookups and updates of a hash map, keyed by the input's keys.
 * bpfx only: DPDK's BPF has no maps. */
#define MAPS_KEYS 64
#define MAPS_MAX_ENTRIES 1024
struct maps_input {
	__u32 key[MAPS_KEYS];
};

#endif

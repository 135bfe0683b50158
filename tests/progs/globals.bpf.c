// SPDX-License-Identifier: GPL-2.0
/*
 * Global data: .data (initialised), .bss (zeroed), .rodata (const volatile
 * and static const), string literals (.rodata.str1.1) and a custom .data.*
 * section. Each is a one-element array map named after its section; the
 * map= checks read the section's bytes back (key 0).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

int counter = 5;                    /* the only variable in .data */
__u64 out[4];                       /* the first variable in .bss */
__u8 big[2048];                     /* larger than the stack */
const volatile __u32 limit = 7;     /* .rodata, set before load by users */
static const char greeting[] = "hello, bpf";
int custom SEC(".data.custom") = 9; /* its own map, .data.custom */
volatile int index_four = 4;        /* defeats constant folding */

/* The kernel refuses greeting[index_four]: an index it cannot bound
 * makes the .rodata.str1.1 pointer "out of bounds". */
// TEST prog=globals_rw kernel=reject error=value__-2147483648__makes__map_value__pointer__be__out__of__bounds
SEC("syscall")
int globals_rw(void *ctx)
{
	counter += 1;
	out[0] = counter;
	out[1] = limit * 3;
	out[2] = greeting[index_four];
	out[3] = "literal"[index_four - 3];
	return counter + limit;
}

// TEST prog=rodata_read retval=0
SEC("syscall")
int rodata_read(void *ctx)
{
	const char *lit = "abcdefgh";
	int i = index_four;

	if (limit != 7)
		return 1;
	if (greeting[i] != 'o' || greeting[i + 1] != ',')
		return 2;
	if (lit[i] != 'e' || lit[i + 3] != 'h' || lit[i + 4] != 0)
		return 3;
	if (sizeof(greeting) != 11 || greeting[i + 6] != 0)
		return 4;
	return 0;
}

/* .bss starts zeroed, and an array bigger than the stack is usable. */
// TEST prog=bss_big retval=2047 map=.data.custom:00000000:0a000000
SEC("syscall")
int bss_big(void *ctx)
{
	__u32 sum = 0;

	for (int i = 0; i < sizeof(big); i++)
		sum += big[i];
	if (sum)
		return -1;
	for (int i = 0; i < sizeof(big); i++)
		big[i] = i & 1;
	for (int i = 0; i < sizeof(big); i++)
		sum += big[i] * 2;
	custom++;
	return sum - 1;
}

/* Globals keep their value between the runs of one test_run. */
// TEST prog=bump data=0011223344556677889900aa08060001 repeat=3 retval=8 map=.data:00000000:08000000
SEC("tc")
int bump(struct __sk_buff *skb)
{
	return ++counter;
}

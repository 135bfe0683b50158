// SPDX-License-Identifier: GPL-2.0
/*
 * Autoload and partial failure. `?tc` marks a program that object load
 * skips; it still loads and runs when asked for by name. One program calls
 * a kfunc no runtime provides: it fails to load, naming the kfunc, while
 * its siblings load and run.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern void bpf_nonexistent(void) __ksym;

__u32 hits;

static __noinline int shared(int x)
{
	return x * 3;
}

// TEST prog=lazy data=00112233445566778899aabb08060001 retval=77
SEC("?tc")
int lazy(struct __sk_buff *skb)
{
	hits++;
	return 77;
}

// TEST prog=eager data=00112233445566778899aabb08060001 retval=15 map=.bss:00000000:01000000
SEC("tc")
int eager(struct __sk_buff *skb)
{
	hits++;
	return shared(5);
}

// TEST prog=broken data=00112233445566778899aabb08060001 error=bpf_nonexistent
SEC("tc")
int broken(struct __sk_buff *skb)
{
	bpf_nonexistent();
	return shared(1);
}

// TEST prog=after_broken data=00112233445566778899aabb08060001 retval=6
SEC("tc")
int after_broken(struct __sk_buff *skb)
{
	return shared(2);
}

// SPDX-License-Identifier: GPL-2.0
/* A valid object for run_bad to damage: a map, global data, a subprogram
 * and relocations of each kind, with no loop (so a mutation that adds a
 * backward jump is easy to spot). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

__u64 total;
const volatile __u32 scale = 3;

static __noinline __u64 bump(__u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&counts, &key);

	if (!v) {
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
		return 1;
	}
	return ++*v;
}

SEC("tc")
int count(struct __sk_buff *skb)
{
	total += skb->len * scale;
	return bump(skb->protocol) + total;
}

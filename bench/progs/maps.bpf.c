/* A map-heavy loop: for each of 64 keys, a hash map lookup, then an update
 * of the value (the old value plus the key), or an insert of 1 when the
 * key is new. Returns how many keys were found. bpfx only: DPDK's BPF has
 * no maps, so this one keeps its (bounded) loop. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAPS_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

BENCH_PROG(maps, struct maps_input, in)
{
	__u64 found = 0;

	for (int i = 0; i < MAPS_KEYS; i++) {
		BENCH_CHECK(&in->key[i], sizeof(in->key[i]));
		__u32 key = in->key[i];
		__u64 *value = bpf_map_lookup_elem(&counts, &key);
		__u64 next = 1;
		if (value) {
			next = *value + key;
			found++;
		}
		bpf_map_update_elem(&counts, &key, &next, BPF_ANY);
	}
	return found;
}

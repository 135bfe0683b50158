/*
 * What the map implementations share and nothing outside them needs: the
 * ops tables of each family (arrays, hash tables, ring buffers), a small
 * spinlock, the storage allocator and the kernel's limits and flag masks.
 *
 * Layout rule every family follows: [map->mem, map->mem + map->mem_size)
 * holds only values (what programs may touch through returned pointers);
 * keys, chains, free lists and positions live in private memory, so a
 * program that writes past its value cannot corrupt the structure.
 * Per-CPU storage is CPU-major: CPU c's values start at
 * mem + c * cpu_stride, so CPUs never share a cache line.
 */
#ifndef BPFX_RUNTIME_MAPS_IMPL_H
#define BPFX_RUNTIME_MAPS_IMPL_H

#include <sched.h>
#include <stdatomic.h>

#include "internal.h"

/* The kernel's ENOTSUPP (not in the user-space errno.h). */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

#define MAP_F_ACCESS_MASK                                                      \
	(BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)
#define MAP_KMALLOC_MAX_SIZE (4u << 20)
#define MAP_PCPU_MIN_UNIT_SIZE (32u << 10)
#define MAP_MAX_KEY_SIZE 512 /* MAX_BPF_STACK: keys live on the BPF stack */

BPFX_HIDDEN extern const struct map_ops array_map_ops;
BPFX_HIDDEN extern const struct map_ops prog_array_map_ops;
BPFX_HIDDEN extern const struct map_ops array_of_maps_map_ops;
BPFX_HIDDEN extern const struct map_ops htab_map_ops;
BPFX_HIDDEN extern const struct map_ops ringbuf_map_ops;

/* Zeroed storage for values; big regions come from mmap (page aligned,
 * zero-filled lazily), small ones from the heap so ASan sees them. */
BPFX_HIDDEN void *map_storage_alloc(size_t size);
BPFX_HIDDEN void map_storage_free(void *p, size_t size);

/* Neither or one of BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG. */
static inline bool map_flags_access_ok(u32 flags)
{
	return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !=
	       (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

static inline bool map_type_is_percpu(u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static inline u32 map_value_stride(const struct bpfx_map *map)
{
	return ROUND_UP(map->value_size, 8);
}

/* The CPU slot a program-side access uses: a run's CPU beyond the map's
 * count wraps, so a thread numbering never makes a lookup fail. */
static inline unsigned int map_cpu_slot(const struct bpfx_map *map, int cpu)
{
	if (cpu < 0)
		return 0;
	return (unsigned int)cpu % map->nr_cpus;
}

/* Checks that INNER may be stored in the map-in-map OUTER: compatible
 * with OUTER's template (type, sizes, flags; max_entries too for arrays
 * unless the template has BPF_F_INNER_MAP) and not a map-in-map itself. */
BPFX_HIDDEN bool map_inner_compatible(const struct bpfx_map *outer,
				      const struct bpfx_map *inner);
/* Resolves a user-supplied fd value of a fd-holding map (prog_array,
 * array/hash of maps): 0 when valid, -EBADF when no such handle, -EINVAL
 * when it names the wrong kind of object or an incompatible map. */
BPFX_HIDDEN int map_check_fd_value(struct bpfx_map *map, u32 fd);

/* A test-and-test-and-set spinlock; yields after a while so that more
 * host threads than cores still make progress. */
typedef atomic_uint map_spinlock_t;

static inline void map_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline void map_spin_lock(map_spinlock_t *lock)
{
	unsigned int spins = 0;

	for (;;) {
		if (!atomic_exchange_explicit(lock, 1, memory_order_acquire))
			return;
		while (atomic_load_explicit(lock, memory_order_relaxed)) {
			if (++spins > 128) {
				sched_yield();
				spins = 0;
			} else {
				map_cpu_relax();
			}
		}
	}
}

static inline bool map_spin_trylock(map_spinlock_t *lock)
{
	return !atomic_load_explicit(lock, memory_order_relaxed) &&
	       !atomic_exchange_explicit(lock, 1, memory_order_acquire);
}

static inline void map_spin_unlock(map_spinlock_t *lock)
{
	atomic_store_explicit(lock, 0, memory_order_release);
}

#endif

/*
 * Array maps: ARRAY, PERCPU_ARRAY, and the fd-holding arrays PROG_ARRAY
 * and ARRAY_OF_MAPS.
 *
 * ARRAY values sit back to back in map->mem, element i at
 * mem + i * round_up(value_size, 8), so the loader can resolve a "map
 * value" lddw to mem + offset and global data sections are just element 0.
 * PERCPU_ARRAY keeps one such block per CPU, CPU c's at mem + c *
 * cpu_stride (cache-line aligned). Lookups are lock-free pointer
 * arithmetic; updates are plain copies, as in the kernel, so a concurrent
 * reader may see a torn value.
 *
 * The fd arrays store the handle (a u32) that the user put in, in private
 * memory with no program-visible storage. A lookup resolves the handle
 * through fd_lookup() each time, so a program or map that has since been
 * destroyed is simply absent instead of dangling. Users read back the
 * handle, as the kernel returns the prog or map id.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/maps_impl.h"

#define ARRAY_CREATE_FLAG_MASK                                                 \
	(BPF_F_NUMA_NODE | BPF_F_MMAPABLE | MAP_F_ACCESS_MASK |                \
	 BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP)

struct array_priv {
	size_t cpu_stride;       /* bytes between two CPUs' blocks */
	_Atomic u32 *fds;        /* fd arrays: the stored handles */
};

static inline u32 array_index(const void *key)
{
	u32 index;

	memcpy(&index, key, sizeof(index));
	return index;
}

static inline u8 *array_elem(struct bpfx_map *map, u32 index, unsigned int cpu)
{
	struct array_priv *priv = map->priv;

	return map->mem + cpu * priv->cpu_stride +
	       (size_t)index * map_value_stride(map);
}

static int array_alloc_check(struct bpfx_map *map)
{
	bool percpu = map->type == BPF_MAP_TYPE_PERCPU_ARRAY;

	if (map->max_entries == 0 || map->key_size != 4 ||
	    map->value_size == 0 || (map->map_flags & ~ARRAY_CREATE_FLAG_MASK) ||
	    !map_flags_access_ok(map->map_flags) ||
	    (percpu && (map->map_flags & BPF_F_NUMA_NODE)))
		return -EINVAL;
	if (map->type != BPF_MAP_TYPE_ARRAY &&
	    (map->map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)))
		return -EINVAL;
	if (map->map_flags & BPF_F_PRESERVE_ELEMS) /* perf_event_array only */
		return -EINVAL;
	if (map->value_size > INT32_MAX)
		return -E2BIG;
	if (percpu && map_value_stride(map) > MAP_PCPU_MIN_UNIT_SIZE)
		return -E2BIG;
	if (!percpu && map->value_size > MAP_KMALLOC_MAX_SIZE)
		return -E2BIG;
	return 0;
}

static int array_alloc(struct bpfx_map *map)
{
	bool percpu = map->type == BPF_MAP_TYPE_PERCPU_ARRAY;
	unsigned int ncpu = percpu ? map->nr_cpus : 1;
	struct array_priv *priv;
	u64 block, total;
	int err;

	err = array_alloc_check(map);
	if (err)
		return err;
	block = (u64)map->max_entries * map_value_stride(map);
	if (percpu)
		block = ROUND_UP(block, 64);
	total = block * ncpu;
	if (total > SIZE_MAX / 2 || total >= (1ull << 40))
		return -ENOMEM;

	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->cpu_stride = percpu ? block : 0;
	map->mem = map_storage_alloc(total);
	if (!map->mem) {
		free(priv);
		return -ENOMEM;
	}
	map->mem_size = total;
	map->priv = priv;
	return 0;
}

static void array_free(struct bpfx_map *map)
{
	struct array_priv *priv = map->priv;

	map_storage_free(map->mem, map->mem_size);
	if (priv)
		free(priv->fds);
	free(priv);
}

static void *array_lookup(struct bpfx_map *map, const void *key, int cpu)
{
	u32 index = array_index(key);

	if (index >= map->max_entries)
		return NULL;
	return array_elem(map, index, map_cpu_slot(map, cpu));
}

static int array_check_update(struct bpfx_map *map, const void *key,
			      u64 flags)
{
	if ((flags & ~(u64)BPF_F_LOCK) > BPF_EXIST)
		return -EINVAL;
	if (array_index(key) >= map->max_entries)
		return -E2BIG;
	if (flags & BPF_NOEXIST) /* every element always exists */
		return -EEXIST;
	if (flags & BPF_F_LOCK) /* no bpf_spin_lock in bpfx values */
		return -EINVAL;
	return 0;
}

static int array_update(struct bpfx_map *map, const void *key,
			const void *value, u64 flags, int cpu)
{
	int err = array_check_update(map, key, flags);

	if (err)
		return err;
	if (map->rdonly_prog)
		return -EPERM;
	void *elem = array_elem(map, array_index(key), map_cpu_slot(map, cpu));

	if (map->graph_rec) /* keeps its lock, lists and trees */
		graph_map_copy_value(map, array_elem(map, array_index(key), 0),
				     value);
	else
		memcpy(elem, value, map->value_size);
	/* as the kernel's bpf_obj_free_fields(): the old timer goes */
	timer_value_reset(map, elem);
	return 0;
}

static int array_delete(struct bpfx_map *map, const void *key)
{
	return -EINVAL;
}

static int array_get_next_key(struct bpfx_map *map, const void *key,
			      void *next)
{
	u32 index = key ? array_index(key) : UINT32_MAX;
	u32 next_index;

	if (index >= map->max_entries) {
		next_index = 0;
	} else {
		if (index == map->max_entries - 1)
			return -ENOENT;
		next_index = index + 1;
	}
	memcpy(next, &next_index, sizeof(next_index));
	return 0;
}

static int array_lookup_copy(struct bpfx_map *map, const void *key,
			     void *value)
{
	u32 index = array_index(key);
	u32 stride = map_value_stride(map);

	if (index >= map->max_entries)
		return -ENOENT;
	if (map->type != BPF_MAP_TYPE_PERCPU_ARRAY) {
		memcpy(value, array_elem(map, index, 0), map->value_size);
		return 0;
	}
	for (unsigned int cpu = 0; cpu < map->nr_cpus; cpu++)
		memcpy((u8 *)value + (size_t)cpu * stride,
		       array_elem(map, index, cpu), stride);
	return 0;
}

static int array_update_copy(struct bpfx_map *map, const void *key,
			     const void *value, u64 flags)
{
	u32 stride = map_value_stride(map);
	int err = array_check_update(map, key, flags);
	u32 index = array_index(key);

	if (err)
		return err;
	if (map->graph_rec) {
		graph_map_copy_value(map, array_elem(map, index, 0), value);
		return 0;
	}
	if (map->type != BPF_MAP_TYPE_PERCPU_ARRAY) {
		memcpy(array_elem(map, index, 0), value, map->value_size);
		timer_value_reset(map, array_elem(map, index, 0));
		return 0;
	}
	for (unsigned int cpu = 0; cpu < map->nr_cpus; cpu++)
		memcpy(array_elem(map, index, cpu),
		       (const u8 *)value + (size_t)cpu * stride, stride);
	return 0;
}

const struct map_ops array_map_ops = {
	.alloc = array_alloc,
	.free = array_free,
	.lookup = array_lookup,
	.update = array_update,
	.delete = array_delete,
	.get_next_key = array_get_next_key,
	.lookup_copy = array_lookup_copy,
	.update_copy = array_update_copy,
};


/* ---- fd arrays: prog_array, array_of_maps ---- */

static int fd_array_alloc(struct bpfx_map *map)
{
	struct array_priv *priv;

	if (map->value_size != sizeof(u32))
		return -EINVAL;
	if (map->map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
		return -EINVAL;
	if (map->max_entries == 0 || map->key_size != 4 ||
	    (map->map_flags & ~ARRAY_CREATE_FLAG_MASK) ||
	    (map->map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP |
			       BPF_F_PRESERVE_ELEMS)))
		return -EINVAL;
	if (map->type == BPF_MAP_TYPE_ARRAY_OF_MAPS && map->inner_map &&
	    (map->inner_map->type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
	     map->inner_map->type == BPF_MAP_TYPE_HASH_OF_MAPS))
		return -EINVAL;
	if (map->max_entries > (1u << 28))
		return -E2BIG;

	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->fds = calloc(map->max_entries, sizeof(*priv->fds));
	if (!priv->fds) {
		free(priv);
		return -ENOMEM;
	}
	map->priv = priv;
	return 0;
}

static u32 fd_array_get(struct bpfx_map *map, u32 index)
{
	struct array_priv *priv = map->priv;

	return atomic_load_explicit(&priv->fds[index], memory_order_acquire);
}

static void *array_of_maps_lookup(struct bpfx_map *map, const void *key,
				  int cpu)
{
	u32 index = array_index(key);
	u32 fd;

	if (index >= map->max_entries)
		return NULL;
	fd = fd_array_get(map, index);
	return fd ? fd_lookup((int)fd, FD_MAP) : NULL;
}

static void *prog_array_lookup(struct bpfx_map *map, const void *key, int cpu)
{
	return NULL; /* programs reach a prog_array only by tail call */
}

static int fd_array_prog_update(struct bpfx_map *map, const void *key,
				const void *value, u64 flags, int cpu)
{
	return -EOPNOTSUPP;
}

struct bpfx_program *prog_array_get(struct bpfx_map *map, u32 index)
{
	u32 fd;

	if (!map || map->type != BPF_MAP_TYPE_PROG_ARRAY || !map->priv ||
	    index >= map->max_entries)
		return NULL;
	fd = fd_array_get(map, index);
	return fd ? fd_lookup((int)fd, FD_PROG) : NULL;
}

/* Is the handle stored at INDEX still naming a live object? */
static bool fd_array_present(struct bpfx_map *map, u32 fd)
{
	if (!fd)
		return false;
	if (map->type == BPF_MAP_TYPE_PROG_ARRAY)
		return fd_lookup((int)fd, FD_PROG) != NULL;
	return fd_lookup((int)fd, FD_MAP) != NULL;
}

static int fd_array_delete(struct bpfx_map *map, const void *key)
{
	struct array_priv *priv = map->priv;
	u32 index = array_index(key);
	u32 old;

	if (index >= map->max_entries)
		return -E2BIG;
	old = atomic_exchange(&priv->fds[index], 0);
	return fd_array_present(map, old) ? 0 : -ENOENT;
}

static int fd_array_lookup_copy(struct bpfx_map *map, const void *key,
				void *value)
{
	u32 index = array_index(key);
	u32 fd;

	if (index >= map->max_entries)
		return -ENOENT;
	fd = fd_array_get(map, index);
	if (!fd_array_present(map, fd))
		return -ENOENT;
	memcpy(value, &fd, sizeof(fd));
	return 0;
}

static int fd_array_update_copy(struct bpfx_map *map, const void *key,
				const void *value, u64 flags)
{
	struct array_priv *priv = map->priv;
	u32 index = array_index(key);
	u32 fd;
	int err;

	if (flags != BPF_ANY)
		return -EINVAL;
	if (index >= map->max_entries)
		return -E2BIG;
	memcpy(&fd, value, sizeof(fd));
	err = map_check_fd_value(map, fd);
	if (err)
		return err;
	atomic_store_explicit(&priv->fds[index], fd, memory_order_release);
	return 0;
}

const struct map_ops prog_array_map_ops = {
	.alloc = fd_array_alloc,
	.free = array_free,
	.lookup = prog_array_lookup,
	.update = fd_array_prog_update,
	.delete = fd_array_delete,
	.get_next_key = array_get_next_key,
	.lookup_copy = fd_array_lookup_copy,
	.update_copy = fd_array_update_copy,
};

const struct map_ops array_of_maps_map_ops = {
	.alloc = fd_array_alloc,
	.free = array_free,
	.lookup = array_of_maps_lookup,
	.update = fd_array_prog_update,
	.delete = fd_array_delete,
	.get_next_key = array_get_next_key,
	.lookup_copy = fd_array_lookup_copy,
	.update_copy = fd_array_update_copy,
};

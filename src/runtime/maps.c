/*
 * Maps: creation, the registry of live maps, and the public element API.
 *
 * map_create() picks the ops of the map's family (map_array.c,
 * map_hash.c, ringbuf.c), whose alloc validates the attributes with the
 * kernel's error codes and allocates the storage; then the map is entered
 * into the registry and given a handle. The registry is two sorted arrays
 * under one rwlock: live map pointers (so map_is_live() answers for any
 * forged pointer by binary search, never dereferencing it) and the
 * storage regions [mem, mem + mem_size) that run_mem() may hand out
 * (map_region_find()). Maps are created and destroyed rarely and looked up
 * often, hence the read-mostly lock.
 *
 * The bpfx_map__*_elem functions are the user side, like the bpf(2)
 * syscall commands: they check sizes (the value of a per-CPU map is
 * round_up(value_size, 8) * nr_cpus bytes) and access flags, then call
 * the ops' copying entry points.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime/maps_impl.h"

#define MAP_STORAGE_MMAP_MIN (64u << 10)

struct map_region {
	uintptr_t lo, hi; /* [lo, hi) */
	struct bpfx_map *map;
};

static pthread_rwlock_t registry_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct bpfx_map **live_maps; /* sorted by address */
static size_t live_cnt, live_cap;
static struct map_region *regions; /* sorted by lo, disjoint */
static size_t region_cnt, region_cap;

static const char *const map_type_names[] = {
	[BPF_MAP_TYPE_UNSPEC] = "unspec",
	[BPF_MAP_TYPE_HASH] = "hash",
	[BPF_MAP_TYPE_ARRAY] = "array",
	[BPF_MAP_TYPE_PROG_ARRAY] = "prog_array",
	[BPF_MAP_TYPE_PERF_EVENT_ARRAY] = "perf_event_array",
	[BPF_MAP_TYPE_PERCPU_HASH] = "percpu_hash",
	[BPF_MAP_TYPE_PERCPU_ARRAY] = "percpu_array",
	[BPF_MAP_TYPE_STACK_TRACE] = "stack_trace",
	[BPF_MAP_TYPE_CGROUP_ARRAY] = "cgroup_array",
	[BPF_MAP_TYPE_LRU_HASH] = "lru_hash",
	[BPF_MAP_TYPE_LRU_PERCPU_HASH] = "lru_percpu_hash",
	[BPF_MAP_TYPE_LPM_TRIE] = "lpm_trie",
	[BPF_MAP_TYPE_ARRAY_OF_MAPS] = "array_of_maps",
	[BPF_MAP_TYPE_HASH_OF_MAPS] = "hash_of_maps",
	[BPF_MAP_TYPE_DEVMAP] = "devmap",
	[BPF_MAP_TYPE_SOCKMAP] = "sockmap",
	[BPF_MAP_TYPE_CPUMAP] = "cpumap",
	[BPF_MAP_TYPE_XSKMAP] = "xskmap",
	[BPF_MAP_TYPE_SOCKHASH] = "sockhash",
	[BPF_MAP_TYPE_CGROUP_STORAGE] = "cgroup_storage",
	[BPF_MAP_TYPE_REUSEPORT_SOCKARRAY] = "reuseport_sockarray",
	[BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE] = "percpu_cgroup_storage",
	[BPF_MAP_TYPE_QUEUE] = "queue",
	[BPF_MAP_TYPE_STACK] = "stack",
	[BPF_MAP_TYPE_SK_STORAGE] = "sk_storage",
	[BPF_MAP_TYPE_DEVMAP_HASH] = "devmap_hash",
	[BPF_MAP_TYPE_STRUCT_OPS] = "struct_ops",
	[BPF_MAP_TYPE_RINGBUF] = "ringbuf",
	[BPF_MAP_TYPE_INODE_STORAGE] = "inode_storage",
	[BPF_MAP_TYPE_TASK_STORAGE] = "task_storage",
	[BPF_MAP_TYPE_BLOOM_FILTER] = "bloom_filter",
	[BPF_MAP_TYPE_USER_RINGBUF] = "user_ringbuf",
	/* newer than this linux/bpf.h: BPF_MAP_TYPE_CGRP_STORAGE, ARENA */
	[BPF_MAP_TYPE_USER_RINGBUF + 1] = "cgrp_storage",
	[BPF_MAP_TYPE_USER_RINGBUF + 2] = "arena",
};

const char *map_type_name(u32 type)
{
	if (type < ARRAY_SIZE(map_type_names) && map_type_names[type])
		return map_type_names[type];
	return "unknown";
}

static const struct map_ops *map_ops_for_type(u32 type)
{
	switch (type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY: /* the ops look at map->type */
		return &array_map_ops;
	case BPF_MAP_TYPE_PROG_ARRAY:
		return &prog_array_map_ops;
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
		return &array_of_maps_map_ops;
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return &htab_map_ops;
	case BPF_MAP_TYPE_RINGBUF:
		return &ringbuf_map_ops;
	default:
		return NULL;
	}
}

void *map_storage_alloc(size_t size)
{
	void *p;

	if (!size)
		return NULL;
	if (size >= MAP_STORAGE_MMAP_MIN) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (posix_memalign(&p, 64, size))
		return NULL;
	memset(p, 0, size);
	return p;
}

void map_storage_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size >= MAP_STORAGE_MMAP_MIN)
		munmap(p, size);
	else
		free(p);
}

/* ---- registry ---- */

/* Index of the first entry of ARR (cnt entries) whose address is >= p. */
static size_t live_lower_bound(const void *p)
{
	size_t lo = 0, hi = live_cnt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((uintptr_t)live_maps[mid] < (uintptr_t)p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first region whose lo is > addr. */
static size_t region_upper_bound(uintptr_t addr)
{
	size_t lo = 0, hi = region_cnt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (regions[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool grow(void **arr, size_t *cap, size_t cnt, size_t elem)
{
	size_t new_cap;
	void *p;

	if (cnt < *cap)
		return true;
	new_cap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, new_cap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = new_cap;
	return true;
}

static int registry_add(struct bpfx_map *map)
{
	size_t i;
	int err = 0;

	pthread_rwlock_wrlock(&registry_lock);
	if (!grow((void **)&live_maps, &live_cap, live_cnt, sizeof(*live_maps)) ||
	    !grow((void **)&regions, &region_cap, region_cnt, sizeof(*regions))) {
		err = -ENOMEM;
		goto out;
	}
	i = live_lower_bound(map);
	memmove(&live_maps[i + 1], &live_maps[i],
		(live_cnt - i) * sizeof(*live_maps));
	live_maps[i] = map;
	live_cnt++;

	if (map->mem && map->mem_size) {
		uintptr_t lo = (uintptr_t)map->mem;

		i = region_upper_bound(lo);
		memmove(&regions[i + 1], &regions[i],
			(region_cnt - i) * sizeof(*regions));
		regions[i] = (struct map_region){
			.lo = lo,
			.hi = lo + map->mem_size,
			.map = map,
		};
		region_cnt++;
	}
out:
	pthread_rwlock_unlock(&registry_lock);
	return err;
}

static void registry_remove(struct bpfx_map *map)
{
	size_t i;

	pthread_rwlock_wrlock(&registry_lock);
	i = live_lower_bound(map);
	if (i < live_cnt && live_maps[i] == map) {
		memmove(&live_maps[i], &live_maps[i + 1],
			(live_cnt - i - 1) * sizeof(*live_maps));
		live_cnt--;
	}
	for (i = 0; i < region_cnt; i++) {
		if (regions[i].map != map)
			continue;
		memmove(&regions[i], &regions[i + 1],
			(region_cnt - i - 1) * sizeof(*regions));
		region_cnt--;
		break;
	}
	pthread_rwlock_unlock(&registry_lock);
}

bool map_is_live(const void *p)
{
	size_t i;
	bool live;

	if (!p)
		return false;
	pthread_rwlock_rdlock(&registry_lock);
	i = live_lower_bound(p);
	live = i < live_cnt && live_maps[i] == p;
	pthread_rwlock_unlock(&registry_lock);
	return live;
}

struct bpfx_map *map_region_find(u64 addr, u64 size)
{
	struct bpfx_map *map = NULL;
	size_t i;

	if (addr > UINTPTR_MAX)
		return NULL;
	pthread_rwlock_rdlock(&registry_lock);
	i = region_upper_bound((uintptr_t)addr);
	if (i > 0) {
		const struct map_region *r = &regions[i - 1];

		if (addr < r->hi && size <= r->hi - addr)
			map = r->map;
	}
	pthread_rwlock_unlock(&registry_lock);
	return map;
}

struct bpfx_map *map_by_fd(int fd)
{
	return fd_lookup(fd, FD_MAP);
}

/* ---- map-in-map ---- */

static bool map_type_is_array(u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY ||
	       type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_PROG_ARRAY ||
	       type == BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

bool map_inner_compatible(const struct bpfx_map *outer,
			  const struct bpfx_map *inner)
{
	const struct bpfx_map *tmpl = outer->inner_map;

	if (map_type_is_map_in_map(inner->type))
		return false; /* one level of nesting only */
	if (!tmpl)
		return true;
	if (tmpl->type != inner->type || tmpl->key_size != inner->key_size ||
	    tmpl->value_size != inner->value_size ||
	    tmpl->map_flags != inner->map_flags)
		return false;
	if (map_type_is_array(inner->type) &&
	    !(tmpl->map_flags & BPF_F_INNER_MAP) &&
	    tmpl->max_entries != inner->max_entries)
		return false;
	return true;
}

int map_check_fd_value(struct bpfx_map *map, u32 fd)
{
	struct bpfx_map *inner;

	if (map->type == BPF_MAP_TYPE_PROG_ARRAY) {
		struct bpfx_program *prog = fd_lookup((int)fd, FD_PROG);
		if (!prog)
			return fd_lookup((int)fd, FD_MAP) ? -EINVAL : -EBADF;
		/* as the kernel's bpf_prog_map_compatible(): the first
		 * program decides the array's program type */
		u32 owner = BPF_PROG_TYPE_UNSPEC;
		if (!__atomic_compare_exchange_n(&map->owner_prog_type, &owner,
						 prog->type, false,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE) &&
		    owner != prog->type)
			return -EINVAL;
		return 0;
	}
	inner = fd_lookup((int)fd, FD_MAP);
	if (!inner)
		return fd_lookup((int)fd, FD_PROG) ? -EINVAL : -EBADF;
	return map_inner_compatible(map, inner) ? 0 : -EINVAL;
}

/* ---- creation ---- */

int map_create(struct bpfx_map *map)
{
	const struct map_ops *ops;
	unsigned int nr_cpus;
	int err, fd;

	if (!map)
		return -EINVAL;
	if (map->ops)
		return -EBUSY;
	ops = map_ops_for_type(map->type);
	if (!ops) {
		bool known = map->type < ARRAY_SIZE(map_type_names) &&
			     map->type != BPF_MAP_TYPE_UNSPEC;

		pr_warn("maps: map %s: type %s (%u) is not supported",
			map->name ? map->name : "?", map_type_name(map->type),
			map->type);
		return known ? -EOPNOTSUPP : -EINVAL;
	}

	nr_cpus = map->nr_cpus ? map->nr_cpus : runtime_nr_cpus();
	map->nr_cpus = MAX(1u, MIN(nr_cpus, (unsigned int)BPFX_MAX_NR_CPUS));
	if (map->map_flags & BPF_F_RDONLY_PROG)
		map->rdonly_prog = true;
	map->mem = NULL;
	map->mem_size = 0;
	map->priv = NULL;
	err = graph_map_init(map); /* its special fields */
	if (err)
		return err;
	map->ops = ops;
	map_fields_init(map);

	err = ops->alloc(map);
	if (err) {
		pr_warn("maps: map %s: cannot create %s map (key %u, value %u, max_entries %u, flags %#x): error %d",
			map->name ? map->name : "?", map_type_name(map->type),
			map->key_size, map->value_size, map->max_entries,
			map->map_flags, err);
		map->ops = NULL;
		return err;
	}
	pthread_mutex_init(&map->lock, NULL);

	if (map->init_data && map->mem && map->type == BPF_MAP_TYPE_ARRAY)
		memcpy(map->mem, map->init_data, map->value_size);

	err = registry_add(map);
	if (err)
		goto err_free;
	fd = fd_alloc(FD_MAP, map);
	if (fd < 0) {
		err = fd;
		registry_remove(map);
		goto err_free;
	}
	map->fd = fd;
	return 0;

err_free:
	ops->free(map);
	pthread_mutex_destroy(&map->lock);
	map->ops = NULL;
	map->mem = NULL;
	map->mem_size = 0;
	map->priv = NULL;
	return err;
}

void map_destroy(struct bpfx_map *map)
{
	if (!map || !map->ops)
		return;
	timers_map_free(map);
	fd_free(map->fd);
	registry_remove(map);
	graph_map_free(map); /* what its lists and trees hold */
	map->ops->free(map);
	pthread_mutex_destroy(&map->lock);
	map->ops = NULL;
	map->priv = NULL;
	map->mem = NULL;
	map->mem_size = 0;
	map->fd = -1;
}

/* ---- public API ---- */

const char *bpfx_map__name(const struct bpfx_map *map)
{
	return map ? map->name : NULL;
}

int bpfx_map__type(const struct bpfx_map *map)
{
	return map ? (int)map->type : -EINVAL;
}

const char *bpfx_map__type_name(const struct bpfx_map *map)
{
	return map ? map_type_name(map->type) : NULL;
}

uint32_t bpfx_map__key_size(const struct bpfx_map *map)
{
	return map ? map->key_size : 0;
}

uint32_t bpfx_map__value_size(const struct bpfx_map *map)
{
	return map ? map->value_size : 0;
}

uint32_t bpfx_map__max_entries(const struct bpfx_map *map)
{
	return map ? map->max_entries : 0;
}

int bpfx_map__fd(const struct bpfx_map *map)
{
	if (!map)
		return -EINVAL;
	return map->ops ? map->fd : -EBADF;
}

unsigned int bpfx_map__nr_cpus(const struct bpfx_map *map)
{
	if (!map)
		return 0;
	return map->nr_cpus ? map->nr_cpus : runtime_nr_cpus();
}

/* The size of the value the user side exchanges. */
static size_t map_user_value_size(const struct bpfx_map *map)
{
	if (map_type_is_percpu(map->type))
		return (size_t)map_value_stride(map) * map->nr_cpus;
	return map->value_size;
}

static int map_check_user_args(const struct bpfx_map *map, const void *key,
			       size_t key_sz)
{
	if (!map)
		return -EINVAL;
	if (!map->ops)
		return -EBADF;
	if (key_sz != map->key_size || (!key && key_sz))
		return -EINVAL;
	return 0;
}

int bpfx_map__lookup_elem(const struct bpfx_map *map, const void *key,
			  size_t key_sz, void *value, size_t value_sz,
			  uint64_t flags)
{
	struct bpfx_map *m = (struct bpfx_map *)map;
	int err = map_check_user_args(map, key, key_sz);

	if (err)
		return err;
	if (value_sz != map_user_value_size(map) || (!value && value_sz))
		return -EINVAL;
	if (flags) /* BPF_F_LOCK: bpfx maps have no bpf_spin_lock field */
		return -EINVAL;
	if (map->map_flags & BPF_F_WRONLY)
		return -EPERM;
	if (!map->ops->lookup_copy)
		return -ENOTSUPP;
	err = map->ops->lookup_copy(m, key, value);
	/* kptrs read as NULL, as the kernel's copies for user space: the
	 * host addresses of objects are no business of the caller */
	for (int i = 0; !err && map->graph_rec && !map_type_is_percpu(map->type) &&
			i < map->graph_rec->cnt; i++)
		if (map->graph_rec->f[i].kind == GF_KPTR)
			memset((u8 *)value + map->graph_rec->f[i].off, 0, 8);
	return err;
}

int bpfx_map__update_elem(const struct bpfx_map *map, const void *key,
			  size_t key_sz, const void *value, size_t value_sz,
			  uint64_t flags)
{
	struct bpfx_map *m = (struct bpfx_map *)map;
	int err = map_check_user_args(map, key, key_sz);

	if (err)
		return err;
	if (value_sz != map_user_value_size(map) || (!value && value_sz))
		return -EINVAL;
	if (map->map_flags & BPF_F_RDONLY)
		return -EPERM;
	if (!map->ops->update_copy)
		return -ENOTSUPP;
	return map->ops->update_copy(m, key, value, flags);
}

int bpfx_map__delete_elem(const struct bpfx_map *map, const void *key,
			  size_t key_sz, uint64_t flags)
{
	struct bpfx_map *m = (struct bpfx_map *)map;
	int err = map_check_user_args(map, key, key_sz);

	if (err)
		return err;
	if (flags)
		return -EINVAL;
	if (map->map_flags & BPF_F_RDONLY)
		return -EPERM;
	if (!map->ops->delete)
		return -ENOTSUPP;
	return map->ops->delete(m, key);
}

int bpfx_map__get_next_key(const struct bpfx_map *map, const void *cur_key,
			   void *next_key, size_t key_sz)
{
	struct bpfx_map *m = (struct bpfx_map *)map;
	int err = map_check_user_args(map, next_key, key_sz);

	if (err)
		return err;
	if (map->map_flags & BPF_F_WRONLY)
		return -EPERM;
	if (!map->ops->get_next_key)
		return -ENOTSUPP;
	return map->ops->get_next_key(m, cur_key, next_key);
}

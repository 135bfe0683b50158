/*
 * Hash maps: HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and HASH_OF_MAPS,
 * one implementation with three switches (per-CPU values, LRU eviction,
 * values that are map handles).
 *
 * Everything is preallocated, like the kernel's default prealloc mode:
 * max_entries elements, each with a private header (chain link, hash,
 * bucket, LRU links, key) in one array, and their values in another, which
 * is the map's program-visible storage (map->mem). Value i sits at
 * values + i * round_up(value_size, 8), per-CPU maps keeping one such
 * block per CPU. Elements are never freed, only recycled through a free
 * list, so a value pointer a program got stays inside map->mem after a
 * delete (it may then see another key's value, as in the kernel).
 *
 * Locking: each bucket has a spinlock held by every operation that
 * changes its chain or reads it for the user side. Program lookups, the
 * hot path, take no lock (the kernel's are RCU walks): a bucket's
 * sequence count is odd while its chain is relinked, and a lookup that
 * saw it odd or changed walks again (after a few tries, under the lock).
 * A walk that strays, through an element unlinked meanwhile, into
 * another chain or the free list ends within max_entries steps and is
 * thrown away by the count check; the value pointer it returns is inside
 * map->mem whatever happened. One pool lock guards the free list and the
 * LRU list. Order:
 * bucket, then pool. LRU eviction runs with the pool lock held and takes
 * the victim's bucket with a trylock (skipping victims whose bucket is
 * busy), so it cannot deadlock against the usual order.
 *
 * LRU is the kernel's approximation with a reference bit: a program
 * lookup sets the bit; the evictor takes the least recently inserted
 * element, giving those with the bit set a second chance at the head.
 * Unlike the kernel's per-CPU free lists, eviction happens only when the
 * map is full.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "runtime/maps_impl.h"

#define HTAB_CREATE_FLAG_MASK                                                  \
	(BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE |           \
	 MAP_F_ACCESS_MASK | BPF_F_ZERO_SEED)

struct htab_elem {
	u32 next;     /* bucket chain or free list: index + 1, 0 ends it */
	u32 hash;
	u32 bucket;
	u32 lru_prev; /* LRU list, towards the most recent: index + 1 */
	u32 lru_next; /* towards the least recent */
	atomic_uchar ref;
	bool in_use;
	/* the key follows at HTAB_KEY_OFF */
};
#define HTAB_KEY_OFF ROUND_UP(sizeof(struct htab_elem), 8)

struct htab_bucket {
	map_spinlock_t lock;
	/* index + 1; written atomically so get_next_key can skip empty
	 * buckets without taking their locks */
	u32 head;
	/* odd while the chain is being relinked: program lookups walk it
	 * without the lock and start again when it changed (a seqlock) */
	u32 seq;
};

struct htab {
	struct htab_bucket *buckets;
	size_t buckets_size;
	u32 n_buckets; /* a power of 2 */
	u8 *elems;
	size_t elems_size;
	size_t elem_stride;
	u8 *values;
	size_t values_size;
	size_t cpu_stride;
	u32 value_stride;
	u64 seed;
	bool percpu, lru, of_maps;

	map_spinlock_t pool_lock;
	u32 free_head;   /* recycled elements */
	u32 never_used;  /* elements [never_used, max_entries) never handed out */
	u32 lru_head;    /* most recent */
	u32 lru_tail;    /* least recent */
};

static inline struct htab_elem *htab_elem(struct htab *h, u32 idx)
{
	return (struct htab_elem *)(h->elems + (size_t)(idx - 1) * h->elem_stride);
}

static inline u8 *htab_key(struct htab_elem *e)
{
	return (u8 *)e + HTAB_KEY_OFF;
}

static inline u8 *htab_value(struct htab *h, u32 idx, unsigned int cpu)
{
	return h->values + cpu * h->cpu_stride +
	       (size_t)(idx - 1) * h->value_stride;
}

static inline u64 htab_mix(u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static u32 htab_hash(const struct htab *h, const void *key, u32 size)
{
	const u8 *p = key;
	u64 acc = h->seed ^ ((u64)size * 0x9e3779b97f4a7c15ull);
	u64 word;

	for (; size >= 8; size -= 8, p += 8) {
		memcpy(&word, p, 8);
		acc = (acc ^ word) * 0xff51afd7ed558ccdull;
		acc ^= acc >> 32;
	}
	if (size) {
		/* the tail as a little-endian word, read in at most three
		 * loads: bytes copied one by one into a word and read back
		 * whole would stall the load on the stores */
		u32 shift = 0;
		word = 0;
		if (size & 4) {
			u32 w4;
			memcpy(&w4, p, 4);
			word = w4;
			p += 4;
			shift = 32;
		}
		if (size & 2) {
			u16 w2;
			memcpy(&w2, p, 2);
			word |= (u64)w2 << shift;
			p += 2;
			shift += 16;
		}
		if (size & 1)
			word |= (u64)*p << shift;
		acc = (acc ^ word) * 0xc4ceb9fe1a85ec53ull;
	}
	return (u32)htab_mix(acc);
}

static inline struct htab_bucket *htab_bucket(struct htab *h, u32 hash)
{
	return &h->buckets[hash & (h->n_buckets - 1)];
}

static inline bool htab_key_eq(const u8 *a, const void *b, u32 size)
{
	u32 a4, b4;
	u64 a8, b8;

	switch (size) { /* the common sizes without a call */
	case 4:
		memcpy(&a4, a, 4);
		memcpy(&b4, b, 4);
		return a4 == b4;
	case 8:
		memcpy(&a8, a, 8);
		memcpy(&b8, b, 8);
		return a8 == b8;
	default:
		return !memcmp(a, b, size);
	}
}

/* The element holding KEY in bucket B (locked), or 0; *prev is the
 * element before it in the chain (0 when it is the head). */
static u32 htab_find(struct htab *h, struct htab_bucket *b, u32 hash,
		     const void *key, u32 key_size, u32 *prev)
{
	u32 before = 0;

	for (u32 idx = b->head; idx;) {
		struct htab_elem *e = htab_elem(h, idx);

		if (e->hash == hash && htab_key_eq(htab_key(e), key, key_size)) {
			if (prev)
				*prev = before;
			return idx;
		}
		before = idx;
		idx = e->next;
	}
	return 0;
}

/* Finds IDX in bucket B's chain (locked); *prev as for htab_find(). */
static bool htab_chain_prev(struct htab *h, struct htab_bucket *b, u32 idx,
			    u32 *prev)
{
	u32 before = 0;

	for (u32 cur = b->head; cur; cur = htab_elem(h, cur)->next) {
		if (cur == idx) {
			*prev = before;
			return true;
		}
		before = cur;
	}
	return false;
}

/* A change of bucket B's chain (its lock held), between these two. */
static inline void bucket_change_begin(struct htab_bucket *b)
{
	__atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void bucket_change_end(struct htab_bucket *b)
{
	__atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELEASE);
}

static void htab_unlink(struct htab *h, struct htab_bucket *b, u32 idx,
			u32 prev)
{
	struct htab_elem *e = htab_elem(h, idx);

	bucket_change_begin(b);
	if (prev)
		__atomic_store_n(&htab_elem(h, prev)->next, e->next,
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&b->head, e->next, __ATOMIC_RELAXED);
	bucket_change_end(b);
	e->in_use = false;
}

/* ---- pool: free list and LRU list, under pool_lock ---- */

static void lru_remove(struct htab *h, u32 idx)
{
	struct htab_elem *e = htab_elem(h, idx);

	if (e->lru_prev)
		htab_elem(h, e->lru_prev)->lru_next = e->lru_next;
	else
		h->lru_head = e->lru_next;
	if (e->lru_next)
		htab_elem(h, e->lru_next)->lru_prev = e->lru_prev;
	else
		h->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = 0;
}

static void lru_push_head(struct htab *h, u32 idx)
{
	struct htab_elem *e = htab_elem(h, idx);

	e->lru_prev = 0;
	e->lru_next = h->lru_head;
	if (h->lru_head)
		htab_elem(h, h->lru_head)->lru_prev = idx;
	else
		h->lru_tail = idx;
	h->lru_head = idx;
}

static u32 pool_pop_free(struct htab *h, u32 max_entries)
{
	u32 idx = h->free_head;

	if (idx) {
		h->free_head = htab_elem(h, idx)->next;
		return idx;
	}
	if (h->never_used < max_entries)
		return ++h->never_used;
	return 0;
}

static void pool_push_free(struct htab *h, u32 idx)
{
	htab_elem(h, idx)->next = h->free_head;
	h->free_head = idx;
}

/* Takes an element out of the map to reuse it. HELD is the bucket the
 * caller has locked; other buckets are only tried. */
static u32 htab_lru_evict(struct htab *h, struct htab_bucket *held,
			  u32 max_entries)
{
	u64 budget = 3ull * max_entries + 8;

	while (budget-- && h->lru_tail) {
		u32 idx = h->lru_tail, prev = 0;
		struct htab_elem *e = htab_elem(h, idx);
		struct htab_bucket *b = &h->buckets[e->bucket];

		if (atomic_exchange_explicit(&e->ref, 0, memory_order_relaxed) ||
		    (b != held && !map_spin_trylock(&b->lock))) {
			lru_remove(h, idx);
			lru_push_head(h, idx);
			continue;
		}
		if (htab_chain_prev(h, b, idx, &prev))
			htab_unlink(h, b, idx, prev);
		if (b != held)
			map_spin_unlock(&b->lock);
		lru_remove(h, idx);
		return idx;
	}
	return 0;
}

/* ---- creation ---- */

static u32 roundup_pow_of_two(u32 n)
{
	u32 p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static int htab_alloc_check(struct bpfx_map *map, bool percpu, bool lru)
{
	u32 flags = map->map_flags;

	if ((flags & ~HTAB_CREATE_FLAG_MASK) || !map_flags_access_ok(flags))
		return -EINVAL;
	if (!lru && (flags & BPF_F_NO_COMMON_LRU))
		return -EINVAL;
	if (lru && (flags & BPF_F_NO_PREALLOC))
		return -ENOTSUPP;
	if ((flags & BPF_F_NUMA_NODE) && (percpu || (flags & BPF_F_NO_COMMON_LRU)))
		return -EINVAL;
	if (map->max_entries == 0 || map->key_size == 0 || map->value_size == 0)
		return -EINVAL;
	if (map->key_size > MAP_MAX_KEY_SIZE)
		return -E2BIG;
	if ((u64)map->key_size + map->value_size >=
	    MAP_KMALLOC_MAX_SIZE - sizeof(struct htab_elem))
		return -E2BIG;
	if (percpu && map_value_stride(map) > MAP_PCPU_MIN_UNIT_SIZE)
		return -E2BIG;
	if (map->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
		if (map->value_size != sizeof(u32))
			return -EINVAL;
		if (map->inner_map &&
		    (map->inner_map->type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
		     map->inner_map->type == BPF_MAP_TYPE_HASH_OF_MAPS))
			return -EINVAL;
	}
	if (map->max_entries > (1u << 28)) /* buckets would overflow */
		return -E2BIG;
	return 0;
}

static void htab_free(struct bpfx_map *map)
{
	struct htab *h = map->priv;

	if (!h)
		return;
	map_storage_free(h->buckets, h->buckets_size);
	map_storage_free(h->elems, h->elems_size);
	map_storage_free(h->values, h->values_size);
	free(h);
}

static int htab_alloc(struct bpfx_map *map)
{
	bool lru = map->type == BPF_MAP_TYPE_LRU_HASH ||
		   map->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	bool percpu = map_type_is_percpu(map->type);
	struct htab *h;
	u64 block, ncpu;
	int err;

	err = htab_alloc_check(map, percpu, lru);
	if (err)
		return err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	map->priv = h;
	h->percpu = percpu;
	h->lru = lru;
	h->of_maps = map->type == BPF_MAP_TYPE_HASH_OF_MAPS;
	h->n_buckets = roundup_pow_of_two(map->max_entries);
	h->elem_stride = HTAB_KEY_OFF + ROUND_UP(map->key_size, 8);
	h->value_stride = map_value_stride(map);
	ncpu = percpu ? map->nr_cpus : 1;
	block = (u64)map->max_entries * h->value_stride;
	if (percpu)
		block = ROUND_UP(block, 64);
	if (block * ncpu >= (1ull << 40) ||
	    (u64)map->max_entries * h->elem_stride >= (1ull << 40)) {
		err = -ENOMEM;
		goto err;
	}
	h->cpu_stride = percpu ? block : 0;
	h->values_size = block * ncpu;
	h->elems_size = (size_t)map->max_entries * h->elem_stride;
	h->buckets_size = (size_t)h->n_buckets * sizeof(*h->buckets);
	h->buckets = map_storage_alloc(h->buckets_size);
	h->elems = map_storage_alloc(h->elems_size);
	h->values = map_storage_alloc(h->values_size);
	if (!h->buckets || !h->elems || !h->values) {
		err = -ENOMEM;
		goto err;
	}
	if (!(map->map_flags & BPF_F_ZERO_SEED) &&
	    getrandom(&h->seed, sizeof(h->seed), GRND_NONBLOCK) !=
		    sizeof(h->seed))
		h->seed = htab_mix((u64)(uintptr_t)h ^ (u64)(uintptr_t)map);

	/* Programs never see the handles a hash of maps holds. */
	if (!h->of_maps) {
		map->mem = h->values;
		map->mem_size = h->values_size;
	}
	return 0;
err:
	htab_free(map);
	map->priv = NULL;
	return err;
}

/* ---- element operations ---- */

static void htab_write_value(struct bpfx_map *map, struct htab *h, u32 idx,
			     const void *value, int cpu, bool fresh)
{
	unsigned int slot;

	if (!h->percpu) {
		u8 *dst = htab_value(h, idx, 0);

		if (fresh)
			memset(dst, 0, h->value_stride);
		if (map->graph_rec) /* kptrs: the old objects go */
			graph_map_copy_value(map, dst, value);
		else
			memcpy(dst, value, map->value_size);
		timer_field_clear(map, dst); /* reads as zeros, as the kernel's */
		return;
	}
	if (cpu < 0) { /* user side: every CPU's value, stride apart */
		for (unsigned int c = 0; c < map->nr_cpus; c++)
			memcpy(htab_value(h, idx, c),
			       (const u8 *)value + (size_t)c * h->value_stride,
			       h->value_stride);
		return;
	}
	slot = map_cpu_slot(map, cpu);
	if (fresh) {
		for (unsigned int c = 0; c < map->nr_cpus; c++)
			memset(htab_value(h, idx, c), 0, h->value_stride);
	}
	memcpy(htab_value(h, idx, slot), value, map->value_size);
}

/* CPU < 0: VALUE holds all CPUs' values (user side). */
static int htab_update_elem(struct bpfx_map *map, const void *key,
			    const void *value, u64 flags, int cpu)
{
	struct htab *h = map->priv;
	u32 hash = htab_hash(h, key, map->key_size);
	struct htab_bucket *b = htab_bucket(h, hash);
	struct htab_elem *e;
	struct bpfx_timer *old_timer = NULL;
	u32 idx;
	int err = 0;

	if ((flags & ~(u64)BPF_F_LOCK) > BPF_EXIST)
		return -EINVAL;
	if (flags & BPF_F_LOCK) /* no bpf_spin_lock in bpfx values */
		return -EINVAL;

	map_spin_lock(&b->lock);
	idx = htab_find(h, b, hash, key, map->key_size, NULL);
	if (idx) {
		if (flags == BPF_NOEXIST) {
			err = -EEXIST;
		} else {
			htab_write_value(map, h, idx, value, cpu, false);
			/* the kernel replaces the element: its timer goes */
			old_timer = timer_detach(map, htab_value(h, idx, 0));
			if (h->lru)
				atomic_store_explicit(&htab_elem(h, idx)->ref,
						      1, memory_order_relaxed);
		}
		goto out;
	}
	if (flags == BPF_EXIST) {
		err = -ENOENT;
		goto out;
	}

	map_spin_lock(&h->pool_lock);
	idx = pool_pop_free(h, map->max_entries);
	if (!idx && h->lru) {
		idx = htab_lru_evict(h, b, map->max_entries);
		if (idx)
			old_timer = timer_detach(map, htab_value(h, idx, 0));
		if (idx && !h->percpu) /* and what its kptrs hold */
			graph_map_clear_value(map, htab_value(h, idx, 0));
	}
	if (idx) {
		e = htab_elem(h, idx);
		e->hash = hash;
		e->bucket = (u32)(b - h->buckets);
		atomic_store_explicit(&e->ref, 0, memory_order_relaxed);
		if (h->lru)
			lru_push_head(h, idx);
	}
	map_spin_unlock(&h->pool_lock);
	if (!idx) {
		err = h->lru ? -ENOMEM : -E2BIG;
		goto out;
	}
	memcpy(htab_key(e), key, map->key_size);
	htab_write_value(map, h, idx, value, cpu, true);
	e->in_use = true;
	bucket_change_begin(b);
	__atomic_store_n(&e->next, b->head, __ATOMIC_RELAXED);
	__atomic_store_n(&b->head, idx, __ATOMIC_RELAXED);
	bucket_change_end(b);
out:
	map_spin_unlock(&b->lock);
	timer_release(old_timer);
	return err;
}

/* htab_find() without the lock: the element holding KEY, 0 when there
 * is none, or -1 when the chain changed during the walk. */
static s64 htab_find_unlocked(struct htab *h, struct htab_bucket *b, u32 hash,
			      const void *key, u32 key_size, u32 max_entries)
{
	u32 seq = __atomic_load_n(&b->seq, __ATOMIC_ACQUIRE);
	u32 found = 0;

	if (seq & 1)
		return -1;
	u32 idx = __atomic_load_n(&b->head, __ATOMIC_RELAXED);
	for (u32 steps = 0; idx && idx <= max_entries && steps <= max_entries;
	     steps++) {
		struct htab_elem *e = htab_elem(h, idx);

		if (__atomic_load_n(&e->hash, __ATOMIC_RELAXED) == hash &&
		    htab_key_eq(htab_key(e), key, key_size)) {
			found = idx;
			break;
		}
		idx = __atomic_load_n(&e->next, __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&b->seq, __ATOMIC_RELAXED) != seq)
		return -1;
	return found;
}

static void *htab_lookup(struct bpfx_map *map, const void *key, int cpu)
{
	struct htab *h = map->priv;
	u32 hash = htab_hash(h, key, map->key_size);
	struct htab_bucket *b = htab_bucket(h, hash);
	void *value = NULL;
	u32 idx, fd = 0;

	if (!h->of_maps) {
		for (int tries = 0; tries < 4; tries++) {
			s64 found = htab_find_unlocked(h, b, hash, key,
						       map->key_size,
						       map->max_entries);
			if (found < 0)
				continue;
			if (!found)
				return NULL;
			if (h->lru)
				atomic_store_explicit(&htab_elem(h, (u32)found)->ref,
						      1, memory_order_relaxed);
			return htab_value(h, (u32)found, map_cpu_slot(map, cpu));
		}
	}
	map_spin_lock(&b->lock);
	idx = htab_find(h, b, hash, key, map->key_size, NULL);
	if (idx) {
		if (h->lru)
			atomic_store_explicit(&htab_elem(h, idx)->ref, 1,
					      memory_order_relaxed);
		if (h->of_maps)
			memcpy(&fd, htab_value(h, idx, 0), sizeof(fd));
		else
			value = htab_value(h, idx, map_cpu_slot(map, cpu));
	}
	map_spin_unlock(&b->lock);
	if (h->of_maps)
		return fd ? fd_lookup((int)fd, FD_MAP) : NULL;
	return value;
}

static int htab_update(struct bpfx_map *map, const void *key,
		       const void *value, u64 flags, int cpu)
{
	if (map->type == BPF_MAP_TYPE_HASH_OF_MAPS)
		return -EOPNOTSUPP;
	if (map->rdonly_prog)
		return -EPERM;
	return htab_update_elem(map, key, value, flags, cpu < 0 ? 0 : cpu);
}

static int htab_delete(struct bpfx_map *map, const void *key)
{
	struct htab *h = map->priv;
	u32 hash = htab_hash(h, key, map->key_size);
	struct htab_bucket *b = htab_bucket(h, hash);
	u32 idx, prev = 0;

	map_spin_lock(&b->lock);
	idx = htab_find(h, b, hash, key, map->key_size, &prev);
	if (!idx) {
		map_spin_unlock(&b->lock);
		return -ENOENT;
	}
	htab_unlink(h, b, idx, prev);
	/* before the element can be reused: its timer goes with it */
	struct bpfx_timer *t = timer_detach(map, htab_value(h, idx, 0));
	if (!h->percpu) /* and what its kptrs hold */
		graph_map_clear_value(map, htab_value(h, idx, 0));
	map_spin_lock(&h->pool_lock);
	if (h->lru)
		lru_remove(h, idx);
	pool_push_free(h, idx);
	map_spin_unlock(&h->pool_lock);
	map_spin_unlock(&b->lock);
	timer_release(t);
	return 0;
}

const void *htab_key_of(struct bpfx_map *map, u32 value_idx)
{
	struct htab *h = map->priv;

	return htab_key(htab_elem(h, value_idx + 1));
}

static int htab_get_next_key(struct bpfx_map *map, const void *key,
			     void *next)
{
	struct htab *h = map->priv;
	u32 bucket = 0;

	if (key) {
		u32 hash = htab_hash(h, key, map->key_size);
		struct htab_bucket *b = htab_bucket(h, hash);
		u32 idx;

		map_spin_lock(&b->lock);
		idx = htab_find(h, b, hash, key, map->key_size, NULL);
		if (idx && htab_elem(h, idx)->next) {
			struct htab_elem *e =
				htab_elem(h, htab_elem(h, idx)->next);

			memcpy(next, htab_key(e), map->key_size);
			map_spin_unlock(&b->lock);
			return 0;
		}
		map_spin_unlock(&b->lock);
		/* a missing key restarts from the first one */
		if (idx)
			bucket = (u32)(b - h->buckets) + 1;
	}
	for (; bucket < h->n_buckets; bucket++) {
		struct htab_bucket *b = &h->buckets[bucket];

		if (!__atomic_load_n(&b->head, __ATOMIC_RELAXED))
			continue;
		map_spin_lock(&b->lock);
		if (b->head) {
			memcpy(next, htab_key(htab_elem(h, b->head)),
			       map->key_size);
			map_spin_unlock(&b->lock);
			return 0;
		}
		map_spin_unlock(&b->lock);
	}
	return -ENOENT;
}

static int htab_lookup_copy(struct bpfx_map *map, const void *key,
			    void *value)
{
	struct htab *h = map->priv;
	u32 hash = htab_hash(h, key, map->key_size);
	struct htab_bucket *b = htab_bucket(h, hash);
	u32 idx;

	map_spin_lock(&b->lock);
	idx = htab_find(h, b, hash, key, map->key_size, NULL);
	if (idx) {
		if (!h->percpu) {
			memcpy(value, htab_value(h, idx, 0), map->value_size);
		} else {
			for (unsigned int c = 0; c < map->nr_cpus; c++)
				memcpy((u8 *)value + (size_t)c * h->value_stride,
				       htab_value(h, idx, c), h->value_stride);
		}
	}
	map_spin_unlock(&b->lock);
	return idx ? 0 : -ENOENT;
}

static int htab_update_copy(struct bpfx_map *map, const void *key,
			    const void *value, u64 flags)
{
	if (map->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
		u32 fd;
		int err;

		if ((flags & ~(u64)BPF_F_LOCK) > BPF_EXIST)
			return -EINVAL;
		memcpy(&fd, value, sizeof(fd));
		err = map_check_fd_value(map, fd);
		if (err)
			return err;
	}
	return htab_update_elem(map, key, value, flags, -1);
}

const struct map_ops htab_map_ops = {
	.alloc = htab_alloc,
	.free = htab_free,
	.lookup = htab_lookup,
	.update = htab_update,
	.delete = htab_delete,
	.get_next_key = htab_get_next_key,
	.lookup_copy = htab_lookup_copy,
	.update_copy = htab_update_copy,
};

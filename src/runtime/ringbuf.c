/*
 * BPF_MAP_TYPE_RINGBUF: the kernel's multi-producer, single-consumer ring.
 *
 * max_entries is the data size, a power of 2 and a multiple of the page
 * size. The data area is a memfd mapped twice back to back, so a record
 * that wraps past the end reads and writes as one contiguous block, as in
 * the kernel; map->mem is the whole double mapping (2 * size bytes).
 *
 * A record is an 8-byte header, { u32 len; u32 pg_off; }, then the data,
 * padded to 8 bytes. len carries BUSY (bit 31) while reserved and DISCARD
 * (bit 30) once discarded; pg_off is the header's page within the data
 * area. Producers serialise on a spinlock to advance producer_pos and
 * write the header; commits are lock-free (one store clearing BUSY). The
 * consumer walks from consumer_pos, stops at a BUSY record and skips
 * discarded ones.
 *
 * Programs may write anywhere in the data area (run_mem() knows regions,
 * not records), so nothing trusted lives there: positions are private,
 * the consumer bounds every header it reads by producer_pos, and the set
 * of outstanding reservations is a private bitmap with one bit per 8-byte
 * granule where a reserved record starts. ringbuf_is_sample() tests that
 * bit, so a forged or already-submitted pointer is refused, and a commit
 * clears it atomically, so a record is committed once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/maps_impl.h"

#define RINGBUF_CREATE_FLAG_MASK BPF_F_NUMA_NODE
#define RINGBUF_MAX_RECORD_SZ (UINT32_MAX / 4)
#define RINGBUF_HDR_SZ 8
#define RINGBUF_BUSY_BIT (1u << 31)
#define RINGBUF_DISCARD_BIT (1u << 30)

struct ringbuf_hdr {
	_Atomic u32 len;
	u32 pg_off;
};

struct ringbuf {
	u8 *data; /* size bytes, mapped twice */
	u64 size;
	u64 mask;
	unsigned int page_shift;
	_Atomic u64 *busy; /* one bit per granule: a reserved record starts */
	map_spinlock_t lock;
	pthread_mutex_t consume_lock;
	_Alignas(64) _Atomic u64 consumer_pos;
	_Alignas(64) _Atomic u64 producer_pos;
};

static struct ringbuf *ringbuf_of(struct bpfx_map *map)
{
	if (!map || map->type != BPF_MAP_TYPE_RINGBUF || !map->priv)
		return NULL;
	return map->priv;
}

static int ringbuf_map_data(struct ringbuf *rb)
{
	void *base, *p;
	int fd;

	fd = memfd_create("bpfx-ringbuf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)rb->size) < 0)
		goto err_close;
	base = mmap(NULL, 2 * rb->size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		goto err_close;
	p = mmap(base, rb->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0);
	if (p == MAP_FAILED)
		goto err_unmap;
	p = mmap((u8 *)base + rb->size, rb->size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		goto err_unmap;
	close(fd);
	rb->data = base;
	return 0;

err_unmap:
	munmap(base, 2 * rb->size);
err_close:
	close(fd);
	return -ENOMEM;
}

static int ringbuf_alloc(struct bpfx_map *map)
{
	long page_size = sysconf(_SC_PAGESIZE);
	struct ringbuf *rb;
	int err;

	if (map->map_flags & ~RINGBUF_CREATE_FLAG_MASK)
		return -EINVAL;
	if (map->key_size || map->value_size || map->max_entries == 0 ||
	    (map->max_entries & (map->max_entries - 1)) ||
	    map->max_entries % (u32)page_size)
		return -EINVAL;

	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	rb->size = map->max_entries;
	rb->mask = rb->size - 1;
	rb->page_shift = (unsigned int)__builtin_ctzl((unsigned long)page_size);
	rb->busy = calloc(rb->size / RINGBUF_HDR_SZ / 64 + 1, sizeof(u64));
	if (!rb->busy) {
		free(rb);
		return -ENOMEM;
	}
	err = ringbuf_map_data(rb);
	if (err) {
		free(rb->busy);
		free(rb);
		return err;
	}
	pthread_mutex_init(&rb->consume_lock, NULL);
	map->priv = rb;
	map->mem = rb->data;
	map->mem_size = 2 * rb->size;
	return 0;
}

static void ringbuf_free(struct bpfx_map *map)
{
	struct ringbuf *rb = map->priv;

	if (!rb)
		return;
	munmap(rb->data, 2 * rb->size);
	pthread_mutex_destroy(&rb->consume_lock);
	free(rb->busy);
	free(rb);
}

static void *ringbuf_no_lookup(struct bpfx_map *map, const void *key, int cpu)
{
	return NULL;
}

static int ringbuf_no_update(struct bpfx_map *map, const void *key,
			     const void *value, u64 flags, int cpu)
{
	return -ENOTSUPP;
}

static int ringbuf_no_delete(struct bpfx_map *map, const void *key)
{
	return -ENOTSUPP;
}

static int ringbuf_no_next_key(struct bpfx_map *map, const void *key,
			       void *next)
{
	return -ENOTSUPP;
}

/* lookup_copy and update_copy stay NULL: the user API answers -ENOTSUPP. */
const struct map_ops ringbuf_map_ops = {
	.alloc = ringbuf_alloc,
	.free = ringbuf_free,
	.lookup = ringbuf_no_lookup,
	.update = ringbuf_no_update,
	.delete = ringbuf_no_delete,
	.get_next_key = ringbuf_no_next_key,
};

/* ---- producer side ---- */

static inline u64 granule_bit(u64 off)
{
	return 1ull << ((off / RINGBUF_HDR_SZ) % 64);
}

static inline _Atomic u64 *granule_word(struct ringbuf *rb, u64 off)
{
	return &rb->busy[off / RINGBUF_HDR_SZ / 64];
}

void *ringbuf_reserve(struct bpfx_map *map, u64 size, u64 flags)
{
	struct ringbuf *rb = ringbuf_of(map);
	struct ringbuf_hdr *hdr;
	u64 len, cons_pos, prod_pos, off;

	if (!rb || flags || size > RINGBUF_MAX_RECORD_SZ)
		return NULL;
	len = ROUND_UP(size + RINGBUF_HDR_SZ, 8);
	if (len > rb->size)
		return NULL;

	map_spin_lock(&rb->lock);
	cons_pos = atomic_load_explicit(&rb->consumer_pos, memory_order_acquire);
	prod_pos = atomic_load_explicit(&rb->producer_pos, memory_order_relaxed);
	/* the producer may not run more than size - 1 bytes ahead */
	if (prod_pos + len - cons_pos > rb->mask) {
		map_spin_unlock(&rb->lock);
		return NULL;
	}
	off = prod_pos & rb->mask;
	hdr = (struct ringbuf_hdr *)(rb->data + off);
	atomic_store_explicit(&hdr->len, (u32)size | RINGBUF_BUSY_BIT,
			      memory_order_relaxed);
	hdr->pg_off = (u32)(off >> rb->page_shift);
	atomic_fetch_or_explicit(granule_word(rb, off), granule_bit(off),
				 memory_order_relaxed);
	atomic_store_explicit(&rb->producer_pos, prod_pos + len,
			      memory_order_release);
	map_spin_unlock(&rb->lock);
	return (u8 *)hdr + RINGBUF_HDR_SZ;
}

/* The header offset of SAMPLE if it lies where a record can start. */
static bool ringbuf_sample_off(struct ringbuf *rb, const void *sample,
			       u64 *off)
{
	uintptr_t p = (uintptr_t)sample, base = (uintptr_t)rb->data;

	if (p < base + RINGBUF_HDR_SZ || p - RINGBUF_HDR_SZ - base >= rb->size)
		return false;
	*off = p - RINGBUF_HDR_SZ - base;
	return (*off % 8) == 0;
}

bool ringbuf_is_sample(struct bpfx_map *map, void *sample)
{
	struct ringbuf *rb = ringbuf_of(map);
	u64 off;

	if (!rb || !ringbuf_sample_off(rb, sample, &off))
		return false;
	return atomic_load_explicit(granule_word(rb, off),
				    memory_order_acquire) &
	       granule_bit(off);
}

void ringbuf_commit(struct bpfx_map *map, void *sample, bool discard,
		    u64 flags)
{
	struct ringbuf *rb = ringbuf_of(map);
	struct ringbuf_hdr *hdr;
	u64 off, bit;
	u32 len;

	/* BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP: nobody sleeps on a bpfx
	 * ring, the consumer polls. */
	if (!rb || !ringbuf_sample_off(rb, sample, &off))
		return;
	bit = granule_bit(off);
	if (!(atomic_fetch_and_explicit(granule_word(rb, off), ~bit,
					memory_order_acq_rel) & bit))
		return; /* not reserved, or already committed */
	hdr = (struct ringbuf_hdr *)(rb->data + off);
	len = atomic_load_explicit(&hdr->len, memory_order_relaxed);
	len &= ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
	if (discard)
		len |= RINGBUF_DISCARD_BIT;
	atomic_store_explicit(&hdr->len, len, memory_order_release);
}

long ringbuf_output(struct bpfx_map *map, const void *data, u64 size,
		    u64 flags)
{
	void *sample;

	if (flags & ~(u64)(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP))
		return -EINVAL;
	if (!ringbuf_of(map))
		return -EINVAL;
	sample = ringbuf_reserve(map, size, 0);
	if (!sample)
		return -EAGAIN;
	if (size)
		memcpy(sample, data, size);
	ringbuf_commit(map, sample, false, flags);
	return 0;
}

u64 ringbuf_query(struct bpfx_map *map, u64 flags)
{
	struct ringbuf *rb = ringbuf_of(map);
	u64 cons, prod;

	if (!rb)
		return 0;
	cons = atomic_load_explicit(&rb->consumer_pos, memory_order_acquire);
	prod = atomic_load_explicit(&rb->producer_pos, memory_order_acquire);
	switch (flags) {
	case BPF_RB_AVAIL_DATA:
		return prod - cons;
	case BPF_RB_RING_SIZE:
		return rb->size;
	case BPF_RB_CONS_POS:
		return cons;
	case BPF_RB_PROD_POS:
		return prod;
	default:
		return 0;
	}
}

/* ---- consumer side ---- */

int bpfx_map__ringbuf_consume(struct bpfx_map *map, bpfx_ringbuf_sample_fn fn,
			      void *user)
{
	struct ringbuf *rb = ringbuf_of(map);
	u64 cons, prod;
	int cnt = 0, err = 0;

	if (!rb)
		return -EINVAL;
	pthread_mutex_lock(&rb->consume_lock);
	cons = atomic_load_explicit(&rb->consumer_pos, memory_order_relaxed);
	prod = atomic_load_explicit(&rb->producer_pos, memory_order_acquire);
	while (cons < prod) {
		struct ringbuf_hdr *hdr =
			(struct ringbuf_hdr *)(rb->data + (cons & rb->mask));
		u32 len = atomic_load_explicit(&hdr->len, memory_order_acquire);
		u64 size = len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
		u64 rec_len = ROUND_UP(size + RINGBUF_HDR_SZ, 8);

		if (len & RINGBUF_BUSY_BIT)
			break;
		if (rec_len > prod - cons) {
			/* a program wrote over the header: drop what is left */
			pr_warn("maps: ringbuf %s: corrupt record header at position %llu, dropping %llu bytes",
				map->name ? map->name : "?",
				(unsigned long long)cons,
				(unsigned long long)(prod - cons));
			cons = prod;
			break;
		}
		cons += rec_len;
		if (len & RINGBUF_DISCARD_BIT)
			continue;
		if (fn) {
			err = fn(user, (u8 *)hdr + RINGBUF_HDR_SZ, size);
			if (err < 0)
				break;
		}
		if (cnt < INT32_MAX)
			cnt++;
		/* let producers reuse the space as we go */
		atomic_store_explicit(&rb->consumer_pos, cons,
				      memory_order_release);
		prod = atomic_load_explicit(&rb->producer_pos,
					    memory_order_acquire);
	}
	atomic_store_explicit(&rb->consumer_pos, cons, memory_order_release);
	pthread_mutex_unlock(&rb->consume_lock);
	return err < 0 ? err : cnt;
}

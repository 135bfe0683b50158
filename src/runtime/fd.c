/*
 * Handles: small positive integers naming maps and programs, like kernel
 * fds, in one process-wide namespace starting at 3 (0-2 are never handed
 * out, so a handle is never mistaken for stdin/stdout/stderr).
 *
 * The table is two-level: a fixed directory of chunk pointers, each chunk
 * FD_CHUNK slots. Chunks are allocated on demand and never freed, so
 * fd_lookup() is lock-free (two acquire loads) and safe to call from any
 * number of threads running programs; a tail call resolves its target
 * through it. A slot holds the object pointer with its kind in the low two
 * bits (objects are at least 4-byte aligned). Allocation and release take
 * a mutex; the lowest free slot is reused first.
 *
 * Unlike a kernel fd, a handle outlives nothing: a prog_array slot or a
 * map-in-map entry holding the handle of a closed object must not come to
 * name whatever reuses the slot. So a handle is the slot number plus, above
 * FD_SLOT_BITS, the slot's generation, which fd_free() advances: a stale
 * handle looks up nothing. (The generation is 11 bits; a handle kept
 * across 2048 reuses of its slot would alias again.)
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

#define FD_FIRST 3
#define FD_CHUNK_SHIFT 10
#define FD_CHUNK (1u << FD_CHUNK_SHIFT)
#define FD_MAX_CHUNKS 1024 /* at most 1M live handles */
#define FD_LIMIT (FD_CHUNK * FD_MAX_CHUNKS)
#define FD_SLOT_BITS 20    /* FD_LIMIT == 1 << FD_SLOT_BITS */
#define FD_GEN_MASK 0x7ffu /* handles stay below 2^31 */
#define FD_KIND_MASK 3u

struct fd_entry {
	_Atomic uintptr_t val;
	_Atomic unsigned int gen;
};

static _Atomic(struct fd_entry *) fd_chunks[FD_MAX_CHUNKS];
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
/* Every handle in [FD_FIRST, fd_lowest_free) is in use. */
static unsigned int fd_lowest_free = FD_FIRST;

static struct fd_entry *fd_slot(unsigned int fd, bool create)
{
	struct fd_entry *chunk;
	unsigned int dir = fd >> FD_CHUNK_SHIFT;

	chunk = atomic_load_explicit(&fd_chunks[dir], memory_order_acquire);
	if (!chunk && create) {
		chunk = calloc(FD_CHUNK, sizeof(*chunk));
		if (!chunk)
			return NULL;
		atomic_store_explicit(&fd_chunks[dir], chunk,
				      memory_order_release);
	}
	return chunk ? &chunk[fd & (FD_CHUNK - 1)] : NULL;
}

int fd_alloc(enum fd_kind kind, void *ptr)
{
	uintptr_t val = (uintptr_t)ptr;
	struct fd_entry *slot;
	unsigned int fd;
	int ret = -EMFILE;

	if (!ptr || (val & FD_KIND_MASK) || (kind != FD_MAP && kind != FD_PROG))
		return -EINVAL;

	pthread_mutex_lock(&fd_lock);
	for (fd = fd_lowest_free; fd < FD_LIMIT; fd++) {
		slot = fd_slot(fd, true);
		if (!slot) {
			ret = -ENOMEM;
			break;
		}
		if (atomic_load_explicit(&slot->val, memory_order_relaxed))
			continue;
		atomic_store_explicit(&slot->val, val | kind,
				      memory_order_release);
		fd_lowest_free = fd + 1;
		ret = (int)(fd | atomic_load_explicit(&slot->gen,
						      memory_order_relaxed)
					 << FD_SLOT_BITS);
		break;
	}
	pthread_mutex_unlock(&fd_lock);
	return ret;
}

/* The slot of handle FD if FD is current (its generation matches). */
static struct fd_entry *fd_current(int fd, uintptr_t *val)
{
	unsigned int index = (unsigned int)fd & (FD_LIMIT - 1);
	struct fd_entry *slot;

	if (fd < FD_FIRST || index < FD_FIRST)
		return NULL;
	slot = fd_slot(index, false);
	if (!slot)
		return NULL;
	/* fd_free() advances the generation before it clears the value, so
	 * a value loaded first is checked against a generation at least as
	 * new as the one it was stored under */
	*val = atomic_load_explicit(&slot->val, memory_order_acquire);
	if (atomic_load_explicit(&slot->gen, memory_order_acquire) !=
	    (unsigned int)fd >> FD_SLOT_BITS)
		return NULL;
	return slot;
}

void *fd_lookup(int fd, enum fd_kind kind)
{
	uintptr_t val;

	if (!fd_current(fd, &val) || (val & FD_KIND_MASK) != (uintptr_t)kind)
		return NULL;
	return (void *)(val & ~(uintptr_t)FD_KIND_MASK);
}

void fd_free(int fd)
{
	struct fd_entry *slot;
	uintptr_t val;

	pthread_mutex_lock(&fd_lock);
	slot = fd_current(fd, &val);
	if (slot && val) {
		unsigned int index = (unsigned int)fd & (FD_LIMIT - 1);
		atomic_store_explicit(&slot->gen,
				      (atomic_load_explicit(&slot->gen,
							    memory_order_relaxed) +
				       1) & FD_GEN_MASK,
				      memory_order_release);
		atomic_store_explicit(&slot->val, 0, memory_order_release);
		if (index < fd_lowest_free)
			fd_lowest_free = index;
	}
	pthread_mutex_unlock(&fd_lock);
}

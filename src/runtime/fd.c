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
 * a mutex; the lowest free handle is reused first, as the kernel does.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

#define FD_FIRST 3
#define FD_CHUNK_SHIFT 10
#define FD_CHUNK (1u << FD_CHUNK_SHIFT)
#define FD_MAX_CHUNKS 1024 /* at most 1M live handles */
#define FD_LIMIT (FD_CHUNK * FD_MAX_CHUNKS)
#define FD_KIND_MASK 3u

static _Atomic(_Atomic uintptr_t *) fd_chunks[FD_MAX_CHUNKS];
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
/* Every handle in [FD_FIRST, fd_lowest_free) is in use. */
static unsigned int fd_lowest_free = FD_FIRST;

static _Atomic uintptr_t *fd_slot(unsigned int fd, bool create)
{
	_Atomic uintptr_t *chunk;
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
	_Atomic uintptr_t *slot;
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
		if (atomic_load_explicit(slot, memory_order_relaxed))
			continue;
		atomic_store_explicit(slot, val | kind, memory_order_release);
		fd_lowest_free = fd + 1;
		ret = (int)fd;
		break;
	}
	pthread_mutex_unlock(&fd_lock);
	return ret;
}

void *fd_lookup(int fd, enum fd_kind kind)
{
	_Atomic uintptr_t *slot;
	uintptr_t val;

	if (fd < FD_FIRST || (unsigned int)fd >= FD_LIMIT)
		return NULL;
	slot = fd_slot((unsigned int)fd, false);
	if (!slot)
		return NULL;
	val = atomic_load_explicit(slot, memory_order_acquire);
	if ((val & FD_KIND_MASK) != (uintptr_t)kind)
		return NULL;
	return (void *)(val & ~(uintptr_t)FD_KIND_MASK);
}

void fd_free(int fd)
{
	_Atomic uintptr_t *slot;

	if (fd < FD_FIRST || (unsigned int)fd >= FD_LIMIT)
		return;
	pthread_mutex_lock(&fd_lock);
	slot = fd_slot((unsigned int)fd, false);
	if (slot && atomic_load_explicit(slot, memory_order_relaxed)) {
		atomic_store_explicit(slot, 0, memory_order_release);
		if ((unsigned int)fd < fd_lowest_free)
			fd_lowest_free = (unsigned int)fd;
	}
	pthread_mutex_unlock(&fd_lock);
}

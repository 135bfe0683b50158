/*
 * Dynptrs at run time: the helpers bpf_dynptr_from_mem, bpf_dynptr_read,
 * bpf_dynptr_write, bpf_dynptr_data and the ring buffer's
 * reserve/submit/discard_dynptr, and the kfuncs bpf_dynptr_from_skb,
 * _from_skb_meta, _from_xdp, _slice, _slice_rdwr, _adjust, _is_null,
 * _is_rdonly, _size, _clone, _copy and _memset, with the kernel's return
 * codes.
 *
 * A struct bpf_dynptr is 16 bytes on the program's stack, laid out as the
 * kernel's bpf_dynptr_kern: the data pointer, a word holding the size (24
 * bits), the type (bits 28-30) and the read-only flag (bit 31), and the
 * offset of the view into the data. A NULL data pointer is the null
 * dynptr every failed constructor leaves. Local and ring buffer dynptrs
 * point at their memory; packet dynptrs (skb, skb_meta, xdp) at the run's
 * context, and each access finds the packet where it is now (after
 * bpf_xdp_adjust_head, say), as the kernel reads through the skb or
 * xdp_buff.
 *
 * The verifier proves that a dynptr argument is one the program made, but
 * the runtime checks again what it relies on, as the helpers do: the
 * struct lies in memory the run may access, and a local or ring buffer
 * dynptr's view of SIZE bytes from DATA + OFFSET does too (for the
 * access's direction). A dynptr that fails is one the verifier would have
 * refused: the run stops with an error naming the function.
 *
 * Ring buffer dynptrs go through the run's reservations like
 * bpf_ringbuf_reserve's samples: a submit or discard of a sample this run
 * did not reserve stops the run, and reservations left at the end are
 * discarded (helper_run_end).
 */
#include <limits.h>
#include <string.h>

#include "internal.h"

struct dynptr_kern {
	u64 data;
	u32 size; /* size | type << 28 | rdonly << 31 */
	u32 offset;
};

#define DYNPTR_SIZE_MASK 0xffffffu
#define DYNPTR_TYPE_SHIFT 28
#define DYNPTR_TYPE_MASK 0x7u
#define DYNPTR_RDONLY_BIT (1u << 31)
#define COPY_CHUNK 256 /* the kernel's bounce buffer for copy and memset */

#define FAIL(run, err, ...) ((u64)(s64)run_fail((run), (err), __VA_ARGS__))

static u32 dp_size(const struct dynptr_kern *p)
{
	return p->size & DYNPTR_SIZE_MASK;
}

static int dp_type(const struct dynptr_kern *p)
{
	return (p->size >> DYNPTR_TYPE_SHIFT) & DYNPTR_TYPE_MASK;
}

static bool dp_rdonly(const struct dynptr_kern *p)
{
	return p->size & DYNPTR_RDONLY_BIT;
}

static void dp_init(struct dynptr_kern *p, u64 data, int type, u32 size)
{
	p->data = data;
	p->offset = 0;
	p->size = size | (u32)type << DYNPTR_TYPE_SHIFT;
}

static void dp_set_size(struct dynptr_kern *p, u32 size)
{
	p->size = (p->size & ~DYNPTR_SIZE_MASK) | size;
}

/* bpf_dynptr_check_off_len() */
static int dp_check_off_len(const struct dynptr_kern *p, u32 off, u32 len)
{
	u32 size = dp_size(p);

	if (len > size || off > size - len)
		return -E2BIG;
	return 0;
}

/* The struct bpf_dynptr argument ARGNO at ADDR, or NULL (the run fails). */
static struct dynptr_kern *dp_arg(struct bpfx_run *run, u64 addr,
				  enum mem_access acc, const char *fn, int argno)
{
	struct dynptr_kern *p = run_mem(run, addr, sizeof(*p), acc);

	if (!p || addr % 8) {
		run_fail(run, -EFAULT,
			 "%s: arg %d: %#llx is not a struct bpf_dynptr the program may %s",
			 fn, argno, (unsigned long long)addr,
			 acc == MEM_WRITE ? "write" : "read");
		return NULL;
	}
	return p;
}

/* Where a dynptr's bytes [off, off + len) of its view are now (len > 0,
 * in the view): *mem, or a negative errno for a packet that has shrunk
 * since. A local or ring buffer view outside the run's memory fails the
 * run (-EFAULT with run->err set). */
static int dp_locate(struct bpfx_run *run, const struct dynptr_kern *p,
		     u32 off, u32 len, enum mem_access acc, const char *fn,
		     u8 **mem)
{
	u64 at = (u64)p->offset + off;
	int type = dp_type(p);

	if (type == BPFX_DYNPTR_LOCAL || type == BPFX_DYNPTR_RINGBUF) {
		*mem = run_mem(run, p->data + at, len, acc);
		if (*mem)
			return 0;
		run_fail(run, -EFAULT,
			 "%s: the dynptr's %u bytes at %#llx are not memory the program may %s",
			 fn, len, (unsigned long long)(p->data + at),
			 acc == MEM_WRITE ? "write" : "read");
		return -EFAULT;
	}
	if (type == BPFX_DYNPTR_SKB || type == BPFX_DYNPTR_XDP ||
	    type == BPFX_DYNPTR_SKB_META) {
		u8 *data;
		u64 pkt_len;
		bool writable;

		if (ctx_dynptr_packet(run, p->data, type, &data, &pkt_len,
				      &writable)) {
			run_fail(run, -EFAULT,
				 "%s: the dynptr's context %#llx is not the run's",
				 fn, (unsigned long long)p->data);
			return -EFAULT;
		}
		if (at > pkt_len || len > pkt_len - at)
			/* __bpf_skb_load_bytes: -EFAULT; the xdp copy
			 * checks its bounds: -EINVAL */
			return type == BPFX_DYNPTR_XDP ? -EINVAL : -EFAULT;
		if (acc == MEM_WRITE && !writable) {
			run_fail(run, -EACCES,
				 "%s: this program type cannot write the packet",
				 fn);
			return -EFAULT;
		}
		*mem = data + at;
		return 0;
	}
	run_fail(run, -EINVAL, "%s: the dynptr has no valid type (%d)", fn,
		 type);
	return -EFAULT;
}

/* __bpf_dynptr_read(): LEN bytes at OFF of SRC into DST (run memory). */
static int dp_read(struct bpfx_run *run, u8 *dst, u32 len,
		   const struct dynptr_kern *src, u32 off, u64 flags,
		   const char *fn)
{
	u8 *mem;
	int err;

	if (!src->data || flags)
		return -EINVAL;
	if ((err = dp_check_off_len(src, off, len)))
		return err;
	if (!len)
		return 0;
	err = dp_locate(run, src, off, len, MEM_READ, fn, &mem);
	if (err) {
		if (err == -EFAULT && dp_type(src) == BPFX_DYNPTR_SKB)
			memset(dst, 0, len); /* __bpf_skb_load_bytes clears */
		return err;
	}
	memmove(dst, mem, len);
	return 0;
}

/* __bpf_dynptr_write() */
static int dp_write(struct bpfx_run *run, const struct dynptr_kern *dst,
		    u32 off, const u8 *src, u32 len, u64 flags, const char *fn)
{
	int type = dp_type(dst);
	u8 *mem;
	int err;

	if (!dst->data || dp_rdonly(dst))
		return -EINVAL;
	if ((err = dp_check_off_len(dst, off, len)))
		return err;
	if (type == BPFX_DYNPTR_SKB || type == BPFX_DYNPTR_SKB_META) {
		/* __bpf_skb_store_bytes: bpfx keeps no checksum or hash, so
		 * both flags it takes change nothing */
		if (flags & ~(u64)(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH))
			return -EINVAL;
		if ((u64)dst->offset + off > 0xffff)
			return -EFAULT;
	} else if (flags) {
		return -EINVAL;
	}
	if (!len)
		return 0;
	err = dp_locate(run, dst, off, len, MEM_WRITE, fn, &mem);
	if (err)
		return err;
	memmove(mem, src, len);
	return 0;
}

/* bpf_dynptr_slice(): a pointer to LEN bytes at OFF, or NULL. Packets are
 * linear in bpfx, so the bytes are always in place and BUFFER (which the
 * kernel fills for paged data) is never needed. */
static u64 dp_slice(struct bpfx_run *run, const struct dynptr_kern *p,
		    u32 off, u32 len, enum mem_access acc, const char *fn)
{
	u8 *mem;

	if (!p->data || dp_check_off_len(p, off, len))
		return 0;
	if (!len) {
		/* nothing to reach; where the view starts */
		if (dp_type(p) == BPFX_DYNPTR_LOCAL ||
		    dp_type(p) == BPFX_DYNPTR_RINGBUF)
			return p->data + p->offset + off;
		return 0;
	}
	if (dp_locate(run, p, off, len, acc, fn, &mem))
		return 0;
	return (u64)(uintptr_t)mem;
}

/* ---- helpers ---- */

u64 bpf_dynptr_from_mem(struct bpfx_run *run, u64 data, u64 size, u64 flags,
			u64 ptr, u64 r5)
{
	static const char fn[] = "helper bpf_dynptr_from_mem";
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_WRITE, fn, 4);

	if (!p)
		return 0;
	size = (u32)size;
	if (size > BPFX_DYNPTR_MAX_SIZE) {
		memset(p, 0, sizeof(*p));
		return (u64)(s64)-E2BIG;
	}
	if (flags) {
		memset(p, 0, sizeof(*p));
		return (u64)(s64)-EINVAL;
	}
	if (size && !run_mem(run, data, size, MEM_WRITE))
		return FAIL(run, -EFAULT,
			    "%s: arg 1: %llu bytes at %#llx are not writable",
			    fn, (unsigned long long)size,
			    (unsigned long long)data);
	dp_init(p, data, BPFX_DYNPTR_LOCAL, (u32)size);
	return 0;
}

u64 bpf_ringbuf_reserve_dynptr(struct bpfx_run *run, u64 map_ptr, u64 size,
			       u64 flags, u64 ptr, u64 r5)
{
	static const char fn[] = "helper bpf_ringbuf_reserve_dynptr";
	struct bpfx_map *map = run_map(run, map_ptr);
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_WRITE, fn, 4);
	void *sample;

	if (!p)
		return 0;
	if (!map || map->type != BPF_MAP_TYPE_RINGBUF)
		return FAIL(run, -EINVAL, "%s: arg 1: %#llx is not a ringbuf map",
			    fn, (unsigned long long)map_ptr);
	memset(p, 0, sizeof(*p));
	size = (u32)size;
	if (flags)
		return (u64)(s64)-EINVAL;
	if (size > BPFX_DYNPTR_MAX_SIZE)
		return (u64)(s64)-E2BIG;
	if (run->reserved_cnt == ARRAY_SIZE(run->reserved))
		return (u64)(s64)-EINVAL; /* as a full ring */
	sample = ringbuf_reserve(map, size, 0);
	if (!sample)
		return (u64)(s64)-EINVAL;
	run->reserved[run->reserved_cnt++] = (struct run_reserved){ map, sample };
	dp_init(p, (u64)(uintptr_t)sample, BPFX_DYNPTR_RINGBUF, (u32)size);
	return 0;
}

static u64 ringbuf_finish_dynptr(struct bpfx_run *run, u64 ptr, u64 flags,
				 bool discard, const char *fn)
{
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_WRITE, fn, 1);
	struct bpfx_map *map;
	void *sample;

	if (!p)
		return 0;
	if (!p->data)
		return 0; /* a failed reservation: nothing to do */
	sample = (void *)(uintptr_t)p->data;
	map = map_region_find(p->data, 1);
	if (dp_type(p) != BPFX_DYNPTR_RINGBUF || !map ||
	    map->type != BPF_MAP_TYPE_RINGBUF || !ringbuf_is_sample(map, sample) ||
	    !run_release_sample(run, sample))
		return FAIL(run, -EINVAL,
			    "%s: arg 1: the dynptr holds no ring buffer sample this run reserved",
			    fn);
	ringbuf_commit(map, sample, discard, flags);
	memset(p, 0, sizeof(*p));
	return 0;
}

u64 bpf_ringbuf_submit_dynptr(struct bpfx_run *run, u64 ptr, u64 flags,
			      u64 r3, u64 r4, u64 r5)
{
	return ringbuf_finish_dynptr(run, ptr, flags, false,
				     "helper bpf_ringbuf_submit_dynptr");
}

u64 bpf_ringbuf_discard_dynptr(struct bpfx_run *run, u64 ptr, u64 flags,
			       u64 r3, u64 r4, u64 r5)
{
	return ringbuf_finish_dynptr(run, ptr, flags, true,
				     "helper bpf_ringbuf_discard_dynptr");
}

u64 bpf_dynptr_read(struct bpfx_run *run, u64 dst, u64 len, u64 src,
		    u64 offset, u64 flags)
{
	static const char fn[] = "helper bpf_dynptr_read";
	struct dynptr_kern *p = dp_arg(run, src, MEM_READ, fn, 3);
	u8 *d = NULL;

	if (!p)
		return 0;
	len = (u32)len;
	if (len && !(d = run_mem(run, dst, len, MEM_WRITE)))
		return FAIL(run, -EFAULT,
			    "%s: arg 1: %llu bytes at %#llx are not writable",
			    fn, (unsigned long long)len,
			    (unsigned long long)dst);
	return (u64)(s64)dp_read(run, d, (u32)len, p, (u32)offset, flags, fn);
}

u64 bpf_dynptr_write(struct bpfx_run *run, u64 dst, u64 offset, u64 src,
		     u64 len, u64 flags)
{
	static const char fn[] = "helper bpf_dynptr_write";
	struct dynptr_kern *p = dp_arg(run, dst, MEM_READ, fn, 1);
	const u8 *s = NULL;

	if (!p)
		return 0;
	len = (u32)len;
	if (len && !(s = run_mem(run, src, len, MEM_READ)))
		return FAIL(run, -EFAULT,
			    "%s: arg 3: %llu bytes at %#llx are not readable",
			    fn, (unsigned long long)len,
			    (unsigned long long)src);
	return (u64)(s64)dp_write(run, p, (u32)offset, s, (u32)len, flags, fn);
}

u64 bpf_dynptr_data(struct bpfx_run *run, u64 ptr, u64 offset, u64 len,
		    u64 r4, u64 r5)
{
	static const char fn[] = "helper bpf_dynptr_data";
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_READ, fn, 1);

	if (!p || !p->data || dp_check_off_len(p, (u32)offset, (u32)len) ||
	    dp_rdonly(p))
		return 0;
	/* packet dynptrs: bpf_dynptr_slice() only */
	if (dp_type(p) != BPFX_DYNPTR_LOCAL && dp_type(p) != BPFX_DYNPTR_RINGBUF)
		return 0;
	return dp_slice(run, p, (u32)offset, (u32)len, MEM_WRITE, fn);
}

/* ---- kfuncs ---- */

static u64 from_packet(struct bpfx_run *run, u64 ctx, u64 flags, u64 ptr,
		       int type, const char *fn)
{
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_WRITE, fn, 3);
	u8 *data;
	u64 len;
	bool writable;

	if (!p)
		return 0;
	if (ctx_dynptr_packet(run, ctx, type, &data, &len, &writable))
		return FAIL(run, -EINVAL,
			    "%s: arg 1: %#llx is not the program's context", fn,
			    (unsigned long long)ctx);
	if (flags) {
		memset(p, 0, sizeof(*p));
		return (u64)(s64)-EINVAL;
	}
	dp_init(p, ctx, type, (u32)MIN(len, (u64)BPFX_DYNPTR_MAX_SIZE));
	/* the verifier gives programs that may not write packet data
	 * bpf_dynptr_from_skb_rdonly */
	if (type == BPFX_DYNPTR_SKB && !(writable && run->prog &&
					 prog_type_writes_packet(run->prog->type)))
		p->size |= DYNPTR_RDONLY_BIT;
	return 0;
}

u64 kfunc_dynptr_from_skb(struct bpfx_run *run, u64 skb, u64 flags, u64 ptr,
			  u64 r4, u64 r5)
{
	return from_packet(run, skb, flags, ptr, BPFX_DYNPTR_SKB,
			   "kfunc bpf_dynptr_from_skb");
}

u64 kfunc_dynptr_from_skb_meta(struct bpfx_run *run, u64 skb, u64 flags,
			       u64 ptr, u64 r4, u64 r5)
{
	return from_packet(run, skb, flags, ptr, BPFX_DYNPTR_SKB_META,
			   "kfunc bpf_dynptr_from_skb_meta");
}

u64 kfunc_dynptr_from_xdp(struct bpfx_run *run, u64 xdp, u64 flags, u64 ptr,
			  u64 r4, u64 r5)
{
	return from_packet(run, xdp, flags, ptr, BPFX_DYNPTR_XDP,
			   "kfunc bpf_dynptr_from_xdp");
}

u64 kfunc_dynptr_slice(struct bpfx_run *run, u64 ptr, u64 offset, u64 buffer,
		       u64 size, u64 r5)
{
	static const char fn[] = "kfunc bpf_dynptr_slice";
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_READ, fn, 1);

	if (!p)
		return 0;
	return dp_slice(run, p, (u32)offset, (u32)size, MEM_READ, fn);
}

u64 kfunc_dynptr_slice_rdwr(struct bpfx_run *run, u64 ptr, u64 offset,
			    u64 buffer, u64 size, u64 r5)
{
	static const char fn[] = "kfunc bpf_dynptr_slice_rdwr";
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_READ, fn, 1);

	if (!p || !p->data || dp_rdonly(p))
		return 0;
	return dp_slice(run, p, (u32)offset, (u32)size, MEM_WRITE, fn);
}

u64 kfunc_dynptr_adjust(struct bpfx_run *run, u64 ptr, u64 start, u64 end,
			u64 r4, u64 r5)
{
	struct dynptr_kern *p =
		dp_arg(run, ptr, MEM_WRITE, "kfunc bpf_dynptr_adjust", 1);
	u32 size;

	if (!p)
		return 0;
	start = (u32)start;
	end = (u32)end;
	if (!p->data)
		return (u64)(s64)-EINVAL;
	size = dp_size(p);
	if (start > size || end > size)
		return (u64)(s64)-ERANGE;
	if (start > end)
		return (u64)(s64)-EINVAL;
	p->offset += (u32)start;
	dp_set_size(p, (u32)(end - start));
	return 0;
}

u64 kfunc_dynptr_is_null(struct bpfx_run *run, u64 ptr, u64 r2, u64 r3,
			 u64 r4, u64 r5)
{
	struct dynptr_kern *p =
		dp_arg(run, ptr, MEM_READ, "kfunc bpf_dynptr_is_null", 1);

	return p ? !p->data : 0;
}

u64 kfunc_dynptr_is_rdonly(struct bpfx_run *run, u64 ptr, u64 r2, u64 r3,
			   u64 r4, u64 r5)
{
	struct dynptr_kern *p =
		dp_arg(run, ptr, MEM_READ, "kfunc bpf_dynptr_is_rdonly", 1);

	return p && p->data ? dp_rdonly(p) : 0;
}

u64 kfunc_dynptr_size(struct bpfx_run *run, u64 ptr, u64 r2, u64 r3, u64 r4,
		      u64 r5)
{
	struct dynptr_kern *p =
		dp_arg(run, ptr, MEM_READ, "kfunc bpf_dynptr_size", 1);

	if (!p)
		return 0;
	if (!p->data)
		return (u32)-EINVAL; /* the kernel returns u32 */
	return dp_size(p);
}

u64 kfunc_dynptr_clone(struct bpfx_run *run, u64 ptr, u64 clone, u64 r3,
		       u64 r4, u64 r5)
{
	static const char fn[] = "kfunc bpf_dynptr_clone";
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_READ, fn, 1);
	struct dynptr_kern *c = dp_arg(run, clone, MEM_WRITE, fn, 2);

	if (!p || !c)
		return 0;
	if (!p->data) {
		memset(c, 0, sizeof(*c));
		return (u64)(s64)-EINVAL;
	}
	memmove(c, p, sizeof(*c));
	return 0;
}

u64 kfunc_dynptr_copy(struct bpfx_run *run, u64 dst_ptr, u64 dst_off,
		      u64 src_ptr, u64 src_off, u64 size)
{
	static const char fn[] = "kfunc bpf_dynptr_copy";
	struct dynptr_kern *dst = dp_arg(run, dst_ptr, MEM_READ, fn, 1);
	struct dynptr_kern *src = dp_arg(run, src_ptr, MEM_READ, fn, 3);
	u8 buf[COPY_CHUNK];
	u32 n = (u32)size, doff = (u32)dst_off, soff = (u32)src_off;
	u64 s, d;

	if (!dst || !src)
		return 0;
	s = dp_slice(run, src, soff, n, MEM_READ, fn);
	d = dst->data && !dp_rdonly(dst)
		    ? dp_slice(run, dst, doff, n, MEM_WRITE, fn)
		    : 0;
	if (run->err)
		return 0;
	if (s && d) {
		memmove((void *)(uintptr_t)d, (void *)(uintptr_t)s, n);
		return 0;
	}
	if (s)
		return (u64)(s64)dp_write(run, dst, doff,
					  (const u8 *)(uintptr_t)s, n, 0, fn);
	if (d)
		return (u64)(s64)dp_read(run, (u8 *)(uintptr_t)d, n, src, soff,
					 0, fn);
	if (dp_check_off_len(dst, doff, n) || dp_check_off_len(src, soff, n))
		return (u64)(s64)-E2BIG;
	for (u32 off = 0; off < n;) {
		u32 chunk = MIN((u32)sizeof(buf), n - off);
		int err = dp_read(run, buf, chunk, src, soff + off, 0, fn);

		if (!err)
			err = dp_write(run, dst, doff + off, buf, chunk, 0, fn);
		if (err)
			return (u64)(s64)err;
		off += chunk;
	}
	return 0;
}

u64 kfunc_dynptr_memset(struct bpfx_run *run, u64 ptr, u64 offset, u64 size,
			u64 val, u64 r5)
{
	static const char fn[] = "kfunc bpf_dynptr_memset";
	struct dynptr_kern *p = dp_arg(run, ptr, MEM_READ, fn, 1);
	u32 n = (u32)size, off = (u32)offset;
	u64 slice;
	int err;

	if (!p)
		return 0;
	slice = p->data && !dp_rdonly(p) ? dp_slice(run, p, off, n, MEM_WRITE, fn)
					 : 0;
	if (run->err)
		return 0;
	if (slice) {
		memset((void *)(uintptr_t)slice, (u8)val, n);
		return 0;
	}
	if (dp_rdonly(p))
		return (u64)(s64)-EINVAL;
	if ((err = dp_check_off_len(p, off, n)))
		return (u64)(s64)err;
	/* the view is in range but not in one piece: bpfx packets are
	 * linear, so only a null dynptr (size 0, n == 0) gets here */
	for (u32 done = 0; done < n;) {
		u8 buf[COPY_CHUNK];
		u32 chunk = MIN((u32)sizeof(buf), n - done);

		memset(buf, (u8)val, chunk);
		if ((err = dp_write(run, p, off + done, buf, chunk, 0, fn)))
			return (u64)(s64)err;
		done += chunk;
	}
	return 0;
}

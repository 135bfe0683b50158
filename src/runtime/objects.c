/*
 * Allocated objects: bpf_obj_new_impl and bpf_obj_drop_impl, the kfuncs
 * behind bpf_experimental.h's bpf_obj_new(type) and bpf_obj_drop(obj).
 *
 * bpf_obj_new_impl(local_type_id, meta) allocates zeroed memory of the
 * size of the struct that LOCAL_TYPE_ID names in the program's own BTF
 * (clang emits the id as the lddw's immediate, with a CO-RE relocation of
 * kind TYPE_ID_LOCAL that needs no change), or returns NULL when memory
 * runs out or the struct is larger than the kernel's allocator serves.
 * META is the kernel's: its verifier rewrites it; here it is ignored.
 *
 * Each object has a host-side header just below its memory: its record
 * of special fields (graph.c), its reference count (1, or more with a
 * bpf_refcount and bpf_refcount_acquire) and one link per list or rbtree
 * node field. The links live there, not in the node's bytes, so nothing a
 * program writes can corrupt a list or a tree. Live objects are kept in a
 * registry sorted by address: run_mem_slow() accepts an access only
 * inside the memory of a live object, and the graph kfuncs accept a link
 * only if it is one of a live object's, so a forged or dropped pointer is
 * refused. Object memory is never put in the run's region cache, which
 * the engines copy into their own windows: a window would outlive a drop.
 *
 * Owning references: a run keeps the list of the owning references it
 * holds (new, pop, remove, refcount_acquire add one; push, add and drop
 * give one away). A list or tree holds one reference to each object in
 * it; the object is freed when its last reference goes, after what its
 * own lists and trees hold. The kernel's verifier refuses a program that
 * can end holding a reference ("Unreleased reference id=N alloc_insn=M"),
 * and bpfx's does too; whatever a run still holds when it ends (a path
 * the verifier did not see) is dropped then, with a warning.
 *
 * Referenced kptrs: a map value's (or global variable's) field declared
 * `struct foo __kptr *p` holds one reference to an object, or NULL.
 * bpf_kptr_xchg(&v->p, obj) moves the program's reference to OBJ (or
 * NULL) into the field and gives the program the one the field held (an
 * owning reference, or NULL). A value that leaves its map (an array
 * element overwritten, a hash element deleted or replaced, the map
 * freed) drops what its kptrs hold, as the kernel's bpf_obj_free_fields.
 *
 * An object whose last reference goes during a run (bpf_obj_drop, a map
 * element deleted by a helper) keeps its memory, readable and writable,
 * until the run ends, as the kernel's RCU keeps it for a program that
 * loaded a pointer to it from a kptr; no kfunc or helper takes it any
 * more (the run holds no reference to it). Across threads there is no
 * such grace: another thread's run may see it freed at once.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "internal.h"

/* The kernel's bpf_mem_alloc serves objects of up to 4096 bytes, its
 * 8-byte list node included; bpf_obj_new returns NULL for larger ones. */
#define OBJ_MAX_SIZE (4096 - 8)

struct obj_entry {
	u64 lo, hi; /* the object's memory */
	struct obj_hdr *hdr;
};

static struct {
	pthread_mutex_t lock;
	struct obj_entry *v;
	size_t cnt, cap;
} registry = { .lock = PTHREAD_MUTEX_INITIALIZER };
/* registry.cnt, readable without the lock: most runs have no objects */
static _Atomic size_t live_objects;

/* The index of the first entry with lo > addr. */
static size_t registry_upper(u64 addr)
{
	size_t lo = 0, hi = registry.cnt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (registry.v[mid].lo > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int registry_add(struct obj_hdr *hdr)
{
	u64 lo = (u64)(uintptr_t)hdr->data;
	size_t i;

	pthread_mutex_lock(&registry.lock);
	if (registry.cnt == registry.cap) {
		size_t cap = registry.cap ? registry.cap * 2 : 64;
		struct obj_entry *v = realloc(registry.v, cap * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&registry.lock);
			return -ENOMEM;
		}
		registry.v = v;
		registry.cap = cap;
	}
	i = registry_upper(lo);
	memmove(&registry.v[i + 1], &registry.v[i],
		(registry.cnt - i) * sizeof(registry.v[0]));
	registry.v[i] = (struct obj_entry){ lo, lo + hdr->size, hdr };
	registry.cnt++;
	live_objects = registry.cnt;
	pthread_mutex_unlock(&registry.lock);
	return 0;
}

static void registry_remove(struct obj_hdr *hdr)
{
	u64 lo = (u64)(uintptr_t)hdr->data;
	size_t i;

	pthread_mutex_lock(&registry.lock);
	i = registry_upper(lo);
	if (i && registry.v[i - 1].hdr == hdr) {
		memmove(&registry.v[i - 1], &registry.v[i],
			(registry.cnt - i) * sizeof(registry.v[0]));
		registry.cnt--;
		live_objects = registry.cnt;
	}
	if (!registry.cnt) {
		free(registry.v);
		registry.v = NULL;
		registry.cap = 0;
	}
	pthread_mutex_unlock(&registry.lock);
}

size_t objects_live(void)
{
	return live_objects;
}

struct obj_hdr *object_find(u64 addr, u64 size)
{
	struct obj_hdr *found = NULL;
	size_t i;

	if (!live_objects)
		return NULL;
	pthread_mutex_lock(&registry.lock);
	i = registry_upper(addr);
	if (i) {
		const struct obj_entry *e = &registry.v[i - 1];

		if (addr >= e->lo && addr < e->hi && size <= e->hi - addr)
			found = e->hdr;
	}
	pthread_mutex_unlock(&registry.lock);
	return found;
}

struct graph_link *object_link_valid(const void *link)
{
	u64 addr = (u64)(uintptr_t)link;
	struct graph_link *found = NULL;
	size_t i;

	pthread_mutex_lock(&registry.lock);
	/* the header sits below the memory of the object that follows */
	i = registry_upper(addr);
	if (i < registry.cnt) {
		struct obj_hdr *h = registry.v[i].hdr;
		u64 first = (u64)(uintptr_t)&h->links[0];

		if (addr >= first &&
		    (addr - first) % sizeof(struct graph_link) == 0 &&
		    (addr - first) / sizeof(struct graph_link) < h->link_cnt)
			found = &h->links[(addr - first) /
					  sizeof(struct graph_link)];
	}
	pthread_mutex_unlock(&registry.lock);
	return found;
}

int object_own(struct bpfx_run *run, struct obj_hdr *obj)
{
	if (run->object_cnt == run->object_cap) {
		u32 cap = run->object_cap ? run->object_cap * 2 : 8;
		struct obj_hdr **objs =
			realloc(run->objects, cap * sizeof(*objs));

		if (!objs)
			return -ENOMEM;
		run->objects = objs;
		run->object_cap = cap;
	}
	run->objects[run->object_cnt++] = obj;
	return 0;
}

bool object_disown(struct bpfx_run *run, struct obj_hdr *obj)
{
	for (u32 i = run->object_cnt; i-- > 0;) {
		if (run->objects[i] != obj)
			continue;
		run->objects[i] = run->objects[--run->object_cnt];
		return true;
	}
	return false;
}

void object_put(struct obj_hdr *obj)
{
	if (atomic_fetch_sub_explicit(&obj->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	if (obj->rec)
		graph_drain_fields(obj->rec, obj->data);
	/* a program of this thread may still read it through a pointer
	 * loaded from a kptr (MEM_RCU, valid to the end of the kernel's RCU
	 * section): its memory goes when the run ends */
	struct bpfx_run *run = run_active();
	if (run) {
		obj->next_dead = run->dead_objects;
		run->dead_objects = obj;
		return;
	}
	registry_remove(obj);
	free(obj);
}

u64 kfunc_obj_new(struct bpfx_run *run, u64 type_id, u64 meta, u64 r3,
		  u64 r4, u64 r5)
{
	const struct btf *btf = run->prog->obj ? run->prog->obj->btf : NULL;
	const struct btf_type *t = NULL;
	const struct graph_rec *rec = NULL;
	struct obj_hdr *h;
	size_t hdr_size;
	int err = 0;
	char why[128];

	if (btf && type_id && type_id < btf__type_cnt(btf))
		t = btf__type_by_id(btf, (u32)type_id);
	if (!t || !btf_is_struct(t) || !t->size)
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_obj_new_impl: type id %llu is not a struct of the program's BTF",
			(unsigned long long)type_id);
	rec = graph_rec_of(run->prog->obj, (u32)type_id, &err, why,
			   sizeof(why));
	if (err)
		return (u64)(s64)run_fail(run, err, "kfunc bpf_obj_new_impl: %s",
					  why);
	if (t->size > OBJ_MAX_SIZE)
		return 0;
	hdr_size = ROUND_UP(sizeof(*h) + (rec ? (size_t)rec->node_cnt : 0) *
					       sizeof(struct graph_link),
			    16);
	h = calloc(1, hdr_size + t->size);
	if (!h)
		return 0;
	h->rec = rec;
	h->size = t->size;
	h->refcnt = 1;
	h->data = (u8 *)h + hdr_size;
	for (int i = 0; rec && i < rec->cnt; i++) {
		if (rec->f[i].kind != GF_LIST_NODE && rec->f[i].kind != GF_RB_NODE)
			continue;
		h->links[h->link_cnt].node_off = rec->f[i].off;
		h->links[h->link_cnt].obj = h;
		h->link_cnt++;
	}
	if (registry_add(h)) {
		free(h);
		return 0;
	}
	if (object_own(run, h)) {
		object_put(h);
		return 0;
	}
	return (u64)(uintptr_t)h->data;
}

u64 kfunc_obj_drop(struct bpfx_run *run, u64 obj, u64 meta, u64 r3, u64 r4,
		   u64 r5)
{
	struct obj_hdr *h = object_find(obj, 1);

	if (!h || (u64)(uintptr_t)h->data != obj || !object_disown(run, h))
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_obj_drop_impl: %#llx is not a live object from bpf_obj_new",
			(unsigned long long)obj);
	object_put(h);
	return 0;
}

/* The live object whose memory starts at ADDR, or NULL. */
static struct obj_hdr *object_at(u64 addr)
{
	struct obj_hdr *h = addr ? object_find(addr, 1) : NULL;

	return h && (u64)(uintptr_t)h->data == addr ? h : NULL;
}

void kptr_drop_field(void *p)
{
	u64 old = atomic_exchange_explicit((_Atomic u64 *)p, 0,
					   memory_order_acq_rel);
	struct obj_hdr *h = object_at(old);

	/* bytes that are no live object's address (only a program the
	 * verifier did not see could write them) are cleared alone */
	if (h)
		object_put(h);
}

u64 helper_kptr_xchg(struct bpfx_run *run, u64 dst, u64 ptr, u64 r3, u64 r4,
		     u64 r5)
{
	_Atomic u64 *slot = run_mem(run, dst, 8, MEM_WRITE);
	struct obj_hdr *h = NULL, *old_h;
	u64 old;

	if (!slot || dst % 8)
		return (u64)(s64)run_fail(
			run, -EFAULT, "helper bpf_kptr_xchg: %#llx is not a writable kptr",
			(unsigned long long)dst);
	if (ptr && (!(h = object_at(ptr)) || !object_disown(run, h)))
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"helper bpf_kptr_xchg: the program holds no reference to %#llx",
			(unsigned long long)ptr);
	old = atomic_exchange_explicit(slot, ptr, memory_order_acq_rel);
	if (!old)
		return 0;
	old_h = object_at(old);
	if (!old_h)
		return (u64)(s64)run_fail(
			run, -EFAULT,
			"helper bpf_kptr_xchg: the kptr at %#llx held %#llx, no live object",
			(unsigned long long)dst, (unsigned long long)old);
	if (object_own(run, old_h)) {
		object_put(old_h);
		return (u64)(s64)run_fail(run, -ENOMEM,
					  "helper bpf_kptr_xchg: out of memory");
	}
	return old;
}

void objects_run_end(struct bpfx_run *run)
{
	if (run->object_cnt)
		pr_warn("run: %s: %u reference(s) to objects from bpf_obj_new not dropped; dropped at the end of the run",
			run->prog->name, run->object_cnt);
	while (run->object_cnt)
		object_put(run->objects[--run->object_cnt]);
	while (run->dead_objects) {
		struct obj_hdr *h = run->dead_objects;

		run->dead_objects = h->next_dead;
		registry_remove(h);
		free(h);
	}
}

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
 * An object belongs to the run that allocated it: the run keeps the list
 * of its live objects, and run_mem_slow() accepts an access only inside
 * one of them, so a pointer that is not a live object of this run (forged,
 * another thread's, or dropped) is refused. Object regions are never put
 * in the run's region cache, which the engines copy into their own
 * windows: a window would outlive the drop. bpf_obj_drop_impl frees only
 * a live object's exact start; anything else stops the run with an error
 * naming the kfunc.
 *
 * Leaks: the kernel's verifier refuses a program that can end holding an
 * object ("Unreleased reference id=N alloc_insn=M"), and bpfx's does too,
 * so a verified program never leaks one. Whatever a run still holds when
 * it ends (a path the verifier did not see) is freed then, with a warning:
 * no object outlives its run, since nothing outside the run could reach
 * it (bpfx has no kptr fields in maps yet).
 */
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "internal.h"

/* The kernel's bpf_mem_alloc serves objects of up to 4096 bytes, its
 * 8-byte list node included; bpf_obj_new returns NULL for larger ones. */
#define OBJ_MAX_SIZE (4096 - 8)

const struct run_region *object_region_find(struct bpfx_run *run, u64 addr,
					    u64 size)
{
	for (u32 i = 0; i < run->object_cnt; i++) {
		const struct run_region *r = &run->objects[i];

		if (addr >= r->lo && addr < r->hi && size <= r->hi - addr)
			return r;
	}
	return NULL;
}

u64 kfunc_obj_new(struct bpfx_run *run, u64 type_id, u64 meta, u64 r3,
		  u64 r4, u64 r5)
{
	const struct btf *btf = run->prog->obj ? run->prog->obj->btf : NULL;
	const struct btf_type *t = NULL;
	void *p;

	if (btf && type_id && type_id < btf__type_cnt(btf))
		t = btf__type_by_id(btf, (u32)type_id);
	if (!t || !btf_is_struct(t) || !t->size)
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_obj_new_impl: type id %llu is not a struct of the program's BTF",
			(unsigned long long)type_id);
	if (t->size > OBJ_MAX_SIZE)
		return 0;
	if (run->object_cnt == run->object_cap) {
		u32 cap = run->object_cap ? run->object_cap * 2 : 8;
		struct run_region *objs =
			realloc(run->objects, cap * sizeof(*objs));

		if (!objs)
			return 0;
		run->objects = objs;
		run->object_cap = cap;
	}
	p = calloc(1, t->size);
	if (!p)
		return 0;
	run->objects[run->object_cnt++] = (struct run_region){
		.lo = (u64)(uintptr_t)p,
		.hi = (u64)(uintptr_t)p + t->size,
		.writable = true,
	};
	return (u64)(uintptr_t)p;
}

u64 kfunc_obj_drop(struct bpfx_run *run, u64 obj, u64 meta, u64 r3, u64 r4,
		   u64 r5)
{
	for (u32 i = 0; i < run->object_cnt; i++) {
		if (run->objects[i].lo != obj)
			continue;
		free((void *)(uintptr_t)obj);
		run->objects[i] = run->objects[--run->object_cnt];
		return 0;
	}
	return (u64)(s64)run_fail(
		run, -EINVAL,
		"kfunc bpf_obj_drop_impl: %#llx is not a live object from bpf_obj_new",
		(unsigned long long)obj);
}

void objects_run_end(struct bpfx_run *run)
{
	if (run->object_cnt)
		pr_warn("run: %s: %u object(s) from bpf_obj_new not dropped; freed at the end of the run",
			run->prog->name, run->object_cnt);
	for (u32 i = 0; i < run->object_cnt; i++)
		free((void *)(uintptr_t)run->objects[i].lo);
	run->object_cnt = 0;
}

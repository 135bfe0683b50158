/*
 * Kernel functions (kfuncs) that programs call by BTF name. The loader
 * resolves a call's name with kfunc_by_name() and stores the index into
 * kfuncs[] in the instruction; the engine calls kfuncs[idx].fn with the
 * helper calling convention.
 *
 * So far: allocated objects (bpf_obj_new_impl, bpf_obj_drop_impl, in
 * objects.c), dynptrs (dynptr.c), the RCU, preemption and IRQ-disabled
 * sections that tc and syscall programs may open. In user space there is
 * nothing to lock, but the kernel's
 * verifier rejects unbalanced sections, so each run keeps nesting counts
 * and an unlock without a lock stops the program. The counts live in the
 * run (rcu_nest, preempt_nest).
 */
#include <string.h>

#include "internal.h"

static u64 bpf_rcu_read_lock(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			     u64 r4, u64 r5)
{
	run->rcu_nest++;
	return 0;
}

static u64 bpf_rcu_read_unlock(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			       u64 r4, u64 r5)
{
	if (!run->rcu_nest)
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_rcu_read_unlock: no matching bpf_rcu_read_lock");
	run->rcu_nest--;
	return 0;
}

static u64 bpf_preempt_disable(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			       u64 r4, u64 r5)
{
	run->preempt_nest++;
	return 0;
}

static u64 bpf_preempt_enable(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			      u64 r4, u64 r5)
{
	if (!run->preempt_nest)
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_preempt_enable: no matching bpf_preempt_disable");
	run->preempt_nest--;
	return 0;
}

/* bpf_local_irq_save(&flags) / bpf_local_irq_restore(&flags): user space
 * has no interrupts to mask. The flag gets the section's depth, and a
 * restore must name the innermost open section (the verifier's rule), so
 * unbalanced or crossed sections stop the run even without a verifier. */
static u64 bpf_local_irq_save(struct bpfx_run *run, u64 flags, u64 r2, u64 r3,
			      u64 r4, u64 r5)
{
	u64 *p = run_mem(run, flags, sizeof(u64), MEM_WRITE);

	if (!p)
		return (u64)(s64)run_fail(
			run, -EFAULT,
			"kfunc bpf_local_irq_save: arg 1: %#llx is not writable",
			(unsigned long long)flags);
	*p = ++run->irq_nest;
	return 0;
}

static u64 bpf_local_irq_restore(struct bpfx_run *run, u64 flags, u64 r2,
				 u64 r3, u64 r4, u64 r5)
{
	u64 *p = run_mem(run, flags, sizeof(u64), MEM_READ);

	if (!p)
		return (u64)(s64)run_fail(
			run, -EFAULT,
			"kfunc bpf_local_irq_restore: arg 1: %#llx is not readable",
			(unsigned long long)flags);
	if (!run->irq_nest || *p != run->irq_nest)
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_local_irq_restore: flags %llu do not match the innermost bpf_local_irq_save (depth %u)",
			(unsigned long long)*p, run->irq_nest);
	run->irq_nest--;
	return 0;
}

/* bpf_throw(cookie): ends the program from any depth. The kfunc only
 * records the throw; the engine sees it when the call returns and unwinds
 * its own frames to the exception boundary (never the host's stack). */
static u64 bpf_throw(struct bpfx_run *run, u64 cookie, u64 r2, u64 r3,
		     u64 r4, u64 r5)
{
	run->thrown = true;
	run->cookie = cookie;
	return 0;
}

/* Number iterators (bpf_for, bpf_repeat): the 8-byte struct bpf_iter_num
 * on the program's stack holds the last value handed out and the end, as
 * the kernel's bpf_iter_num_kern does; next() returns a pointer to that
 * value. A failed new() leaves an empty iterator. */
struct iter_num {
	s32 cur, end;
};

#define ITER_MAX_LOOPS (8 * 1024 * 1024) /* the kernel's BPF_MAX_LOOPS */

static u64 bpf_iter_num_new(struct bpfx_run *run, u64 it, u64 start,
			    u64 end, u64 r4, u64 r5)
{
	struct iter_num *s = (struct iter_num *)(uintptr_t)it;

	if ((s32)start > (s32)end) {
		s->cur = s->end = 0;
		return (u64)(s64)-EINVAL;
	}
	if ((s64)(s32)end - (s64)(s32)start > ITER_MAX_LOOPS) {
		s->cur = s->end = 0;
		return (u64)(s64)-E2BIG;
	}
	s->cur = (s32)start - 1;
	s->end = (s32)end;
	return 0;
}

static u64 bpf_iter_num_next(struct bpfx_run *run, u64 it, u64 r2, u64 r3,
			     u64 r4, u64 r5)
{
	struct iter_num *s = (struct iter_num *)(uintptr_t)it;

	if ((s64)s->cur + 1 >= s->end) {
		s->cur = s->end = 0;
		return 0;
	}
	s->cur++;
	return (u64)(uintptr_t)&s->cur;
}

static u64 bpf_iter_num_destroy(struct bpfx_run *run, u64 it, u64 r2,
				u64 r3, u64 r4, u64 r5)
{
	struct iter_num *s = (struct iter_num *)(uintptr_t)it;

	s->cur = s->end = 0;
	return 0;
}

#define KFUNC(fn) { #fn, fn, KFUNC_GENERIC, false }
#define KFUNC_VOID(fn) { #fn, fn, KFUNC_GENERIC, true }

const struct kfunc_desc kfuncs[] = {
	KFUNC_VOID(bpf_rcu_read_lock),
	KFUNC_VOID(bpf_rcu_read_unlock),
	KFUNC_VOID(bpf_preempt_disable),
	KFUNC_VOID(bpf_preempt_enable),
	KFUNC_VOID(bpf_local_irq_save),
	KFUNC_VOID(bpf_local_irq_restore),
	KFUNC_VOID(bpf_throw),
	KFUNC(bpf_iter_num_new),
	KFUNC(bpf_iter_num_next),
	KFUNC_VOID(bpf_iter_num_destroy),
	{ "bpf_obj_new_impl", kfunc_obj_new },   /* objects.c */
	{ "bpf_obj_drop_impl", kfunc_obj_drop, KFUNC_GENERIC, true },
	/* graph.c: lists, rbtrees, bpf_refcount */
	{ "bpf_list_push_front_impl", kfunc_list_push_front_impl },
	{ "bpf_list_push_back_impl", kfunc_list_push_back_impl },
	{ "bpf_list_pop_front", kfunc_list_pop_front },
	{ "bpf_list_pop_back", kfunc_list_pop_back },
	{ "bpf_list_front", kfunc_list_front },
	{ "bpf_list_back", kfunc_list_back },
	{ "bpf_rbtree_add_impl", kfunc_rbtree_add_impl },
	{ "bpf_rbtree_remove", kfunc_rbtree_remove },
	{ "bpf_rbtree_first", kfunc_rbtree_first },
	{ "bpf_rbtree_root", kfunc_rbtree_root },
	{ "bpf_rbtree_left", kfunc_rbtree_left },
	{ "bpf_rbtree_right", kfunc_rbtree_right },
	{ "bpf_refcount_acquire_impl", kfunc_refcount_acquire_impl },
	/* dynptr.c */
	{ "bpf_dynptr_from_skb", kfunc_dynptr_from_skb, KFUNC_SKB },
	{ "bpf_dynptr_from_skb_meta", kfunc_dynptr_from_skb_meta,
	  KFUNC_SKB_META },
	{ "bpf_dynptr_from_xdp", kfunc_dynptr_from_xdp, KFUNC_XDP },
	{ "bpf_dynptr_slice", kfunc_dynptr_slice, KFUNC_COMMON },
	{ "bpf_dynptr_slice_rdwr", kfunc_dynptr_slice_rdwr, KFUNC_COMMON },
	{ "bpf_dynptr_adjust", kfunc_dynptr_adjust, KFUNC_COMMON },
	{ "bpf_dynptr_is_null", kfunc_dynptr_is_null, KFUNC_COMMON },
	{ "bpf_dynptr_is_rdonly", kfunc_dynptr_is_rdonly, KFUNC_COMMON },
	{ "bpf_dynptr_size", kfunc_dynptr_size, KFUNC_COMMON },
	{ "bpf_dynptr_clone", kfunc_dynptr_clone, KFUNC_COMMON },
	{ "bpf_dynptr_copy", kfunc_dynptr_copy, KFUNC_COMMON },
	{ "bpf_dynptr_memset", kfunc_dynptr_memset, KFUNC_COMMON },
};

const size_t kfunc_cnt = ARRAY_SIZE(kfuncs);

/* As the kernel registers its kfunc sets. The generic set (objects, RCU
 * and preemption sections, bpf_throw, number iterators) serves the tc,
 * xdp, syscall, struct_ops and tracing hooks; the tracing hook covers
 * tracepoint, perf_event and lsm programs, the cgroup hook the cgroup
 * types and sock_ops. The common set (the dynptr kfuncs) serves every
 * program type; bpf_dynptr_from_skb the types with an sk_buff context
 * (not tracing here: bpfx has no BTF sk_buff pointers),
 * bpf_dynptr_from_skb_meta tc, bpf_dynptr_from_xdp xdp. */
static bool generic_allowed(u32 prog_type)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_XDP:
	case BPF_PROG_TYPE_SYSCALL:
	case BPF_PROG_TYPE_STRUCT_OPS:
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_PERF_EVENT:
	case BPF_PROG_TYPE_LSM:
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_CGROUP_SOCK:
	case BPF_PROG_TYPE_CGROUP_DEVICE:
	case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
	case BPF_PROG_TYPE_CGROUP_SOCKOPT:
	case BPF_PROG_TYPE_CGROUP_SYSCTL:
	case BPF_PROG_TYPE_SOCK_OPS:
		return true;
	default:
		return false;
	}
}

static bool skb_allowed(u32 prog_type)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_SK_SKB:
	case BPF_PROG_TYPE_SOCKET_FILTER:
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_LWT_OUT:
	case BPF_PROG_TYPE_LWT_IN:
	case BPF_PROG_TYPE_LWT_XMIT:
	case BPF_PROG_TYPE_LWT_SEG6LOCAL:
		return true;
	default:
		return false;
	}
}

bool kfunc_allowed(int idx, u32 prog_type)
{
	if (idx < 0 || (size_t)idx >= kfunc_cnt)
		return false;
	switch (kfuncs[idx].hook) {
	case KFUNC_GENERIC:
		return generic_allowed(prog_type);
	case KFUNC_COMMON:
		return true;
	case KFUNC_SKB:
		return skb_allowed(prog_type);
	case KFUNC_SKB_META:
		return prog_type == BPF_PROG_TYPE_SCHED_CLS;
	case KFUNC_XDP:
		return prog_type == BPF_PROG_TYPE_XDP;
	}
	return false;
}

int kfunc_by_name(const char *name)
{
	for (size_t i = 0; name && i < kfunc_cnt; i++)
		if (!strcmp(kfuncs[i].name, name))
			return (int)i;
	return -ENOENT;
}

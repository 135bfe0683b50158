/*
 * Kernel functions (kfuncs) that programs call by BTF name. The loader
 * resolves a call's name with kfunc_by_name() and stores the index into
 * kfuncs[] in the instruction; the engine calls kfuncs[idx].fn with the
 * helper calling convention.
 *
 * So far: allocated objects (bpf_obj_new_impl, bpf_obj_drop_impl, in
 * objects.c), the RCU, preemption and IRQ-disabled sections that tc and
 * syscall programs may open. In user space there is nothing to lock, but the kernel's
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

#define KFUNC(fn) { #fn, fn }

const struct kfunc_desc kfuncs[] = {
	KFUNC(bpf_rcu_read_lock),
	KFUNC(bpf_rcu_read_unlock),
	KFUNC(bpf_preempt_disable),
	KFUNC(bpf_preempt_enable),
	KFUNC(bpf_local_irq_save),
	KFUNC(bpf_local_irq_restore),
	KFUNC(bpf_throw),
	KFUNC(bpf_iter_num_new),
	KFUNC(bpf_iter_num_next),
	KFUNC(bpf_iter_num_destroy),
	{ "bpf_obj_new_impl", kfunc_obj_new },   /* objects.c */
	{ "bpf_obj_drop_impl", kfunc_obj_drop },
};

const size_t kfunc_cnt = ARRAY_SIZE(kfuncs);

/* All of bpfx's kfuncs are in the kernel's generic set, registered for
 * the tc, xdp, syscall, struct_ops and tracing hooks; the tracing hook
 * covers tracepoint, perf_event and lsm programs, the cgroup hook the
 * cgroup types and sock_ops. socket_filter, raw_tracepoint, kprobe,
 * sk_skb, sk_msg, flow_dissector, lwt and the rest may not call them. */
bool kfunc_allowed(int idx, u32 prog_type)
{
	if (idx < 0 || (size_t)idx >= kfunc_cnt)
		return false;
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

int kfunc_by_name(const char *name)
{
	for (size_t i = 0; name && i < kfunc_cnt; i++)
		if (!strcmp(kfuncs[i].name, name))
			return (int)i;
	return -ENOENT;
}

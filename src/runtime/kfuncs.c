/*
 * Kernel functions (kfuncs) that programs call by BTF name. The loader
 * resolves a call's name with kfunc_by_name() and stores the index into
 * kfuncs[] in the instruction; the engine calls kfuncs[idx].fn with the
 * helper calling convention.
 *
 * So far: the RCU and preemption sections that tc and syscall programs
 * may open. In user space there is nothing to lock, but the kernel's
 * verifier rejects unbalanced sections, so each run keeps nesting counts
 * and an unlock without a lock stops the program. The counts live in a
 * small per-thread table keyed by the run (struct bpfx_run has no field
 * for them); a run that is no longer in the table starts from zero.
 */
#include <string.h>

#include "internal.h"

#define KFUNC_RUN_SLOTS 4

struct kfunc_nesting {
	const struct bpfx_run *run;
	u32 rcu;
	u32 preempt;
};

static __thread struct kfunc_nesting nesting[KFUNC_RUN_SLOTS];
static __thread unsigned int nesting_next;

static struct kfunc_nesting *nesting_of(const struct bpfx_run *run)
{
	struct kfunc_nesting *slot;

	for (unsigned int i = 0; i < KFUNC_RUN_SLOTS; i++)
		if (nesting[i].run == run)
			return &nesting[i];
	slot = &nesting[nesting_next++ % KFUNC_RUN_SLOTS];
	memset(slot, 0, sizeof(*slot));
	slot->run = run;
	return slot;
}

static u64 bpf_rcu_read_lock(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			     u64 r4, u64 r5)
{
	nesting_of(run)->rcu++;
	return 0;
}

static u64 bpf_rcu_read_unlock(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			       u64 r4, u64 r5)
{
	struct kfunc_nesting *n = nesting_of(run);

	if (!n->rcu)
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_rcu_read_unlock: no matching bpf_rcu_read_lock");
	n->rcu--;
	return 0;
}

static u64 bpf_preempt_disable(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			       u64 r4, u64 r5)
{
	nesting_of(run)->preempt++;
	return 0;
}

static u64 bpf_preempt_enable(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			      u64 r4, u64 r5)
{
	struct kfunc_nesting *n = nesting_of(run);

	if (!n->preempt)
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_preempt_enable: no matching bpf_preempt_disable");
	n->preempt--;
	return 0;
}

#define KFUNC(fn) { #fn, fn }

const struct kfunc_desc kfuncs[] = {
	KFUNC(bpf_rcu_read_lock),
	KFUNC(bpf_rcu_read_unlock),
	KFUNC(bpf_preempt_disable),
	KFUNC(bpf_preempt_enable),
};

const size_t kfunc_cnt = ARRAY_SIZE(kfuncs);

int kfunc_by_name(const char *name)
{
	for (size_t i = 0; name && i < kfunc_cnt; i++)
		if (!strcmp(kfuncs[i].name, name))
			return (int)i;
	return -ENOENT;
}

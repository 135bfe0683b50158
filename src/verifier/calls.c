/*
 * Calls: helpers by their prototypes, kfuncs, bpf-to-bpf calls and
 * callbacks, the references a program holds (ringbuf samples), its spin
 * lock, RCU and preemption sections, and the rules of bpf_throw.
 *
 * A helper's prototype lists what each argument must be (a map, a key or
 * value pointer sized by that map, memory with its size in the next
 * argument, the context, a callback) and what it returns. Arguments are
 * checked against the caller's state; r1-r5 are then unreadable and r0
 * gets the return type: a map value or NULL (with an id, so one null
 * check covers every copy), a ringbuf sample or NULL (also a reference
 * that must reach submit or discard on every path), or a scalar.
 *
 * Kfuncs: RCU and preemption sections, bpf_throw, and the objects of
 * bpf_obj_new (a referenced PTR_TO_BTF_ID|MEM_ALLOC of a struct of the
 * program's BTF, or NULL) that bpf_obj_drop releases.
 *
 * bpf_throw unwinds every frame at once, so at a throw nothing may be
 * held: the kernel's rules and messages. A global function is verified
 * alone, so its caller's resources are unknown to it; the kernel lets a
 * throw inside it leak them. bpfx rejects the call instead when the
 * callee may throw while the caller holds a reference, a lock or an RCU
 * or preemption section.
 */
#include "verifier/verifier.h"

enum arg_kind {
	ARG_NONE = 0,
	ARG_ANYTHING,
	ARG_CONST_MAP_PTR,
	ARG_PTR_TO_MAP_KEY,
	ARG_PTR_TO_MAP_VALUE,
	ARG_PTR_TO_MEM,        /* read; size in the next argument */
	ARG_PTR_TO_MEM_OR_NULL,
	ARG_PTR_TO_UNINIT_MEM, /* written by the helper */
	ARG_CONST_SIZE,
	ARG_CONST_SIZE_OR_ZERO,
	ARG_CONST_ALLOC_SIZE_OR_ZERO,
	ARG_PTR_TO_CTX,
	ARG_PTR_TO_FUNC,
	ARG_PTR_TO_STACK_OR_NULL,
	ARG_PTR_TO_RINGBUF_MEM, /* released */
	ARG_PTR_TO_SPIN_LOCK,
	ARG_PTR_TO_CONST_STR,
	ARG_PTR_TO_DYNPTR,            /* initialised, not mutated */
	ARG_PTR_TO_DYNPTR_LOCAL_UNINIT, /* made by the helper */
	ARG_PTR_TO_DYNPTR_RINGBUF_UNINIT,
	ARG_PTR_TO_DYNPTR_RINGBUF_RELEASE,
	ARG_PTR_TO_TIMER,       /* async.c */
	ARG_PTR_TO_LONG,        /* 8 aligned bytes the helper writes */
};

enum ret_kind { RET_INTEGER = 0, RET_VOID, RET_MAP_VALUE_OR_NULL,
		RET_RINGBUF_MEM_OR_NULL, RET_DYNPTR_MEM_OR_NULL };

struct helper_proto {
	u8 ret;
	u8 args[5];
	bool pkt_changing;
};

#define P(id, r, ...) [BPF_FUNC_##id] = { .ret = r, .args = { __VA_ARGS__ } }

static const struct helper_proto protos[] = {
	P(map_lookup_elem, RET_MAP_VALUE_OR_NULL, ARG_CONST_MAP_PTR,
	  ARG_PTR_TO_MAP_KEY),
	P(map_update_elem, RET_INTEGER, ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY,
	  ARG_PTR_TO_MAP_VALUE, ARG_ANYTHING),
	P(map_delete_elem, RET_INTEGER, ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY),
	P(probe_read, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(probe_read_user, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(probe_read_kernel, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(probe_read_str, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(probe_read_user_str, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(probe_read_kernel_str, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(ktime_get_ns, RET_INTEGER),
	P(ktime_get_boot_ns, RET_INTEGER),
	P(get_prandom_u32, RET_INTEGER),
	P(get_smp_processor_id, RET_INTEGER),
	P(get_current_pid_tgid, RET_INTEGER),
	P(get_current_uid_gid, RET_INTEGER),
	P(trace_printk, RET_INTEGER, ARG_PTR_TO_MEM, ARG_CONST_SIZE),
	P(tail_call, RET_INTEGER, ARG_PTR_TO_CTX, ARG_CONST_MAP_PTR,
	  ARG_ANYTHING),
	P(get_current_comm, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE),
	[BPF_FUNC_skb_store_bytes] = { RET_INTEGER, { ARG_PTR_TO_CTX,
		ARG_ANYTHING, ARG_PTR_TO_MEM, ARG_CONST_SIZE, ARG_ANYTHING },
		true },
	P(skb_load_bytes, RET_INTEGER, ARG_PTR_TO_CTX, ARG_ANYTHING,
	  ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE),
	[BPF_FUNC_xdp_adjust_head] = { RET_INTEGER, { ARG_PTR_TO_CTX,
		ARG_ANYTHING }, true },
	P(csum_diff, RET_INTEGER, ARG_PTR_TO_MEM_OR_NULL,
	  ARG_CONST_SIZE_OR_ZERO, ARG_PTR_TO_MEM_OR_NULL,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(spin_lock, RET_VOID, ARG_PTR_TO_SPIN_LOCK),
	P(spin_unlock, RET_VOID, ARG_PTR_TO_SPIN_LOCK),
	P(ringbuf_output, RET_INTEGER, ARG_CONST_MAP_PTR, ARG_PTR_TO_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(ringbuf_reserve, RET_RINGBUF_MEM_OR_NULL, ARG_CONST_MAP_PTR,
	  ARG_CONST_ALLOC_SIZE_OR_ZERO, ARG_ANYTHING),
	P(ringbuf_submit, RET_VOID, ARG_PTR_TO_RINGBUF_MEM, ARG_ANYTHING),
	P(ringbuf_discard, RET_VOID, ARG_PTR_TO_RINGBUF_MEM, ARG_ANYTHING),
	P(ringbuf_query, RET_INTEGER, ARG_CONST_MAP_PTR, ARG_ANYTHING),
	P(for_each_map_elem, RET_INTEGER, ARG_CONST_MAP_PTR, ARG_PTR_TO_FUNC,
	  ARG_PTR_TO_STACK_OR_NULL, ARG_ANYTHING),
	P(snprintf, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE_OR_ZERO,
	  ARG_PTR_TO_CONST_STR, ARG_PTR_TO_MEM_OR_NULL, ARG_CONST_SIZE_OR_ZERO),
	P(trace_vprintk, RET_INTEGER, ARG_PTR_TO_MEM, ARG_CONST_SIZE,
	  ARG_PTR_TO_MEM_OR_NULL, ARG_CONST_SIZE_OR_ZERO),
	P(loop, RET_INTEGER, ARG_ANYTHING, ARG_PTR_TO_FUNC,
	  ARG_PTR_TO_STACK_OR_NULL, ARG_ANYTHING),
	P(strncmp, RET_INTEGER, ARG_PTR_TO_MEM, ARG_CONST_SIZE,
	  ARG_PTR_TO_CONST_STR),
	P(strtol, RET_INTEGER, ARG_PTR_TO_MEM, ARG_CONST_SIZE, ARG_ANYTHING,
	  ARG_PTR_TO_LONG),
	P(strtoul, RET_INTEGER, ARG_PTR_TO_MEM, ARG_CONST_SIZE, ARG_ANYTHING,
	  ARG_PTR_TO_LONG),
	[BPF_FUNC_skb_pull_data] = { RET_INTEGER, { ARG_PTR_TO_CTX,
		ARG_ANYTHING }, true },
	/* dynptrs (dynptr.c) */
	P(dynptr_from_mem, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING, ARG_PTR_TO_DYNPTR_LOCAL_UNINIT),
	P(ringbuf_reserve_dynptr, RET_INTEGER, ARG_CONST_MAP_PTR, ARG_ANYTHING,
	  ARG_ANYTHING, ARG_PTR_TO_DYNPTR_RINGBUF_UNINIT),
	P(ringbuf_submit_dynptr, RET_VOID, ARG_PTR_TO_DYNPTR_RINGBUF_RELEASE,
	  ARG_ANYTHING),
	P(ringbuf_discard_dynptr, RET_VOID, ARG_PTR_TO_DYNPTR_RINGBUF_RELEASE,
	  ARG_ANYTHING),
	P(dynptr_read, RET_INTEGER, ARG_PTR_TO_UNINIT_MEM,
	  ARG_CONST_SIZE_OR_ZERO, ARG_PTR_TO_DYNPTR, ARG_ANYTHING, ARG_ANYTHING),
	P(dynptr_write, RET_INTEGER, ARG_PTR_TO_DYNPTR, ARG_ANYTHING,
	  ARG_PTR_TO_MEM, ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING),
	P(dynptr_data, RET_DYNPTR_MEM_OR_NULL, ARG_PTR_TO_DYNPTR, ARG_ANYTHING,
	  ARG_CONST_ALLOC_SIZE_OR_ZERO),
	P(timer_init, RET_INTEGER, ARG_PTR_TO_TIMER, ARG_CONST_MAP_PTR,
	  ARG_ANYTHING),
	P(timer_set_callback, RET_INTEGER, ARG_PTR_TO_TIMER, ARG_PTR_TO_FUNC),
	P(timer_start, RET_INTEGER, ARG_PTR_TO_TIMER, ARG_ANYTHING,
	  ARG_ANYTHING),
	P(timer_cancel, RET_INTEGER, ARG_PTR_TO_TIMER),
};

/* ---- references ---- */

int acquire_reference(struct venv *env, int insn)
{
	struct vstate *st = env->cur;

	if (st->ref_cnt == MAX_REFS)
		return verr(env, -EINVAL, "too many references");
	st->refs[st->ref_cnt].id = ++env->id_gen;
	st->refs[st->ref_cnt].insn = insn;
	st->ref_cnt++;
	return (int)env->id_gen;
}

int release_reference(struct venv *env, u32 ref_obj_id)
{
	struct vstate *st = env->cur;
	int i;

	for (i = 0; i < st->ref_cnt; i++)
		if (st->refs[i].id == ref_obj_id)
			break;
	if (i == st->ref_cnt)
		return verr(env, -EINVAL,
			    "release kernel function bpf_ringbuf_submit expects refcounted PTR_TO_BTF_ID");
	memmove(&st->refs[i], &st->refs[i + 1],
		(st->ref_cnt - i - 1) * sizeof(st->refs[0]));
	st->ref_cnt--;
	/* every copy of the released pointer is dead */
	for (int f = 0; f <= st->curframe; f++) {
		struct vframe *fr = st->frame[f];
		for (int r = 0; r < 11; r++)
			if (fr->regs[r].ref_obj_id == ref_obj_id)
				reg_mark_unknown(&fr->regs[r]);
		for (int k = 0; k < fr->nslots; k++)
			if (slot_is_spill(fr, k) &&
			    fr->slots[k].spill.ref_obj_id == ref_obj_id)
				reg_mark_unknown(&fr->slots[k].spill);
	}
	return 0;
}

int check_resource_leak(struct venv *env, bool exception_exit,
			bool check_lock, const char *prefix)
{
	struct vstate *st = env->cur;

	if (check_lock && st->lock_id)
		return verr(env, -EINVAL,
			    "%s cannot be used inside bpf_spin_lock-ed region",
			    prefix);
	if (st->ref_cnt) {
		for (int i = 0; i < st->ref_cnt; i++)
			verr(env, -EINVAL, "Unreleased reference id=%u alloc_insn=%u",
			     st->refs[i].id, st->refs[i].insn);
		return verr(env, -EINVAL, "%s would lead to reference leak",
			    prefix);
	}
	if (check_lock && irq_active(st))
		return verr(env, -EINVAL,
			    "%s cannot be used inside bpf_local_irq_save-ed region",
			    prefix);
	if (check_lock && st->rcu_depth)
		return verr(env, -EINVAL,
			    "%s cannot be used inside bpf_rcu_read_lock-ed region",
			    prefix);
	if (check_lock && st->preempt_depth)
		return verr(env, -EINVAL,
			    "%s cannot be used inside bpf_preempt_disable-ed region",
			    prefix);
	(void)exception_exit;
	return 0;
}

/* ---- memory arguments ---- */

/* As the kernel (6.14 on): a lookup in an array map with a key known to
 * be in range cannot fail, so its result needs no null check. bpfx knows
 * the key only when it was stored as zeros (`u32 key = 0`): zero bytes
 * are compared exactly when pruning, so the key stays known on every path
 * that reaches this state. (The kernel also takes spilled constants, with
 * the slot marked precise; bpfx asks for a null check there.) */
static bool lookup_key_in_array(struct venv *env, const struct vreg *map,
				const struct vreg *key)
{
	const struct bpfx_map *m = map->map;

	if (!m || (m->type != BPF_MAP_TYPE_ARRAY &&
		   m->type != BPF_MAP_TYPE_PERCPU_ARRAY) ||
	    m->max_entries == 0 || key->type != PTR_TO_STACK ||
	    !tnum_is_const(key->var_off))
		return false;
	const struct vframe *fr = env->cur->frame[key->frameno];
	s64 off = (s64)key->var_off.value + key->off;
	if (off < -MAX_BPF_STACK || off + (s64)m->key_size > 0)
		return false;
	for (s64 b = off; b < off + (s64)m->key_size; b++) {
		int spi = (int)((-b - 1) / 8);
		if (stack_type(fr, spi, (int)(b + 8 * (spi + 1))) != STACK_ZERO)
			return false;
	}
	return true;
}

int helper_mem(struct venv *env, int regno, u64 size_max, bool write,
	       bool null_ok)
{
	struct vreg *r = &cur_regs(env)[regno];
	struct vframe *fr;
	char t[48];

	if (r->type == SCALAR_VALUE && reg_is_const(r) &&
	    r->var_off.value == 0 && null_ok) {
		/* as the kernel: NULL is allowed only for zero bytes */
		if (size_max)
			return verr(env, -EACCES, "R%d type=scalar expected=fp",
				    regno);
		return mark_precise(env, regno); /* NULL only while it is 0 */
	}
	if (size_max == 0 && null_ok && r->type == SCALAR_VALUE)
		return 0;
	switch (r->type) {
	case PTR_TO_STACK: {
		s64 lo, hi;

		fr = env->cur->frame[r->frameno];
		lo = r->smin + r->off;
		hi = r->smax + r->off;
		if (tnum_is_const(r->var_off))
			lo = hi = (s64)r->var_off.value + r->off;
		/* the kernel's check_stack_access_within_bounds(), with the
		 * access the helper makes */
		if (!tnum_is_const(r->var_off) &&
		    (r->smax >= (1LL << 29) || r->smin <= -(1LL << 29)))
			return verr(env, -EACCES,
				    "invalid unbounded variable-offset%s stack R%d",
				    write ? " write to" : " read from", regno);
		if (lo < -MAX_BPF_STACK || hi + (s64)size_max > 0) {
			if (tnum_is_const(r->var_off))
				return verr(env, -EACCES,
					    "invalid%s stack R%d off=%lld size=%llu",
					    write ? " write to" : " read from",
					    regno, (long long)lo,
					    (unsigned long long)size_max);
			return verr(env, -EACCES,
				    "invalid variable-offset%s stack R%d var_off=(0x%llx; 0x%llx) off=%d size=%llu",
				    write ? " write to" : " read from", regno,
				    (unsigned long long)r->var_off.value,
				    (unsigned long long)r->var_off.mask, r->off,
				    (unsigned long long)size_max);
		}
		if (write && hi + (s64)size_max > lo) {
			/* the helper fills the bytes */
			int err = dynptr_helper_write(env, fr, lo,
						      hi + (s64)size_max);

			if (!err)
				err = frame_reserve(fr, (int)((-lo + 7) / 8));
			if (err)
				return err;
			for (s64 b = lo; b < hi + (s64)size_max; b++) {
				int spi = (-b - 1) / 8;
				u8 *bytes = fr->slots[spi].stype;

				if (bytes[0] == STACK_SPILL ||
				    bytes[0] == STACK_ITER ||
				    bytes[0] == STACK_IRQ_FLAG)
					memset(bytes, STACK_MISC, 8);
				bytes[b + 8 * (spi + 1)] = STACK_MISC;
			}
		}
		/* reads of never-written bytes: a privileged kernel allows
		 * them (padding in keys); bpfx does the same for helpers.
		 * Dynptrs and iterators are no memory to read. */
		for (s64 b = lo; !write && b < hi + (s64)size_max; b++) {
			int spi = (int)((-b - 1) / 8);
			u8 bt = stack_type(fr, spi, (int)(b + 8 * (spi + 1)));

			if (bt != STACK_DYNPTR && bt != STACK_ITER)
				continue;
			if (tnum_is_const(r->var_off))
				return verr(env, -EACCES,
					    "invalid read from stack R%d off %lld+%lld size %llu",
					    regno, (long long)lo,
					    (long long)(b - lo),
					    (unsigned long long)size_max);
			return verr(env, -EACCES,
				    "invalid read from stack R%d var_off (0x%llx; 0x%llx)+%lld size %llu",
				    regno, (unsigned long long)r->var_off.value,
				    (unsigned long long)r->var_off.mask,
				    (long long)(b - lo),
				    (unsigned long long)size_max);
		}
		return 0;
	}
	case PTR_TO_MAP_VALUE:
	case PTR_TO_MEM:
	case PTR_TO_MAP_KEY:
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		if (r->flags & VREG_MAYBE_NULL)
			break;
		if (size_max == 0)
			return 0;
		return check_mem_access(env, 0, regno, 0, (int)size_max, write,
					-1, false);
	default:
		break;
	}
	reg_fmt(r, t, sizeof(t));
	return verr(env, 0,
		    "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_",
		    regno, t);
}

int check_size_arg(struct venv *env, int regno, bool zero_ok,
		   u64 *size_max)
{
	struct vreg *r = &cur_regs(env)[regno];

	if (r->type != SCALAR_VALUE) {
		char t[48];
		reg_fmt(r, t, sizeof(t));
		return verr(env, 0, "R%d type=%s expected=scalar", regno, t);
	}
	if (r->smin < 0)
		return verr(env, 0,
			    "R%d min value is negative, either use unsigned or 'var &= const'",
			    regno);
	if (r->umin == 0 && !zero_ok)
		return verr(env, 0, "R%d invalid zero-sized read: u64=[%llu,%llu]",
			    regno, (unsigned long long)r->umin,
			    (unsigned long long)r->umax);
	if (r->umax >= (1ULL << 29))
		return verr(env, 0,
			    "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'",
			    regno);
	*size_max = r->umax;
	return mark_precise(env, regno);
}

/* ---- helpers ---- */

static int setup_callback(struct venv *env, int call_idx, int helper,
			  int cb_sub, const struct vreg *map,
			  const struct vreg *cb_ctx)
{
	struct vstate *st = env->cur;
	struct vframe *caller = cur_frame(env), *f;

	if (st->curframe + 1 >= BPFX_MAX_CALL_FRAMES)
		return verr(env, -E2BIG, "the call stack of %d frames is too deep",
			    st->curframe + 2);
	if (cb_sub < 0)
		return verr(env, -EINVAL, "callback is not a subprogram");
	/* a bpf_throw under it is refused once every path is verified
	 * (check_throw_in_callbacks), as the kernel does: a throw with a
	 * reference held is reported as the leak first */
	env->sub[cb_sub].is_cb = true;
	/* the caller's stack as the callback finds it on any iteration:
	 * scalars it may change are unknown */
	for (int k = 0; k < caller->nslots; k++) {
		struct vslot *sl = &caller->slots[k];

		if (sl->stype[0] == STACK_SPILL &&
		    sl->spill.type == SCALAR_VALUE) {
			reg_mark_unknown(&sl->spill);
			continue;
		}
		for (int b = 0; b < 8; b++)
			if (sl->stype[b] == STACK_ZERO)
				sl->stype[b] = STACK_MISC;
	}
	f = frame_new(call_idx, cb_sub, st->curframe + 1);
	if (!f)
		return -ENOMEM;
	f->is_callback = true;
	f->callback_helper = helper;
	if (helper == BPF_FUNC_loop) {
		reg_mark_unknown(&f->regs[1]);
		f->regs[1].var_off = TNUM(0, 0xffffffffULL);
		reg_bounds_sync(&f->regs[1]);
		f->regs[2] = *cb_ctx;
	} else {
		/* for_each_map_elem: map, key, value, ctx */
		f->regs[1] = *map;
		memset(&f->regs[2], 0, sizeof(f->regs[2]));
		f->regs[2].type = PTR_TO_MAP_KEY;
		f->regs[2].map = map->map;
		f->regs[2].var_off = tnum_const(0);
		memset(&f->regs[3], 0, sizeof(f->regs[3]));
		f->regs[3].type = PTR_TO_MAP_VALUE;
		f->regs[3].map = map->map;
		f->regs[3].var_off = tnum_const(0);
		f->regs[4] = *cb_ctx;
	}
	st->frame[++st->curframe] = f;
	return 0;
}

int check_helper_call(struct venv *env, const struct bpf_insn *insn, int idx,
		      int *next_idx)
{
	struct vstate *st = env->cur;
	struct vreg *regs = cur_regs(env);
	const struct helper_proto *p;
	struct vreg map = { 0 }, cb_ctx = { 0 };
	struct dynptr_info dyn = { 0 };
	int cb_sub = -1, err;
	u32 release_id = 0;
	s32 id = insn->imm;
	u64 size_max = 0;

	if (st->lock_id && id != BPF_FUNC_spin_unlock)
		return verr(env, -EINVAL,
			    "function calls are not allowed while holding a lock");
	if (id == BPF_FUNC_kptr_xchg && helper_by_id(id))
		return check_kptr_xchg(env, idx);
	if (id < 0 || (size_t)id >= ARRAY_SIZE(protos) ||
	    !helper_by_id(id)) {
		/* the kernel: "invalid func unknown#N"; bpfx's own words,
		 * which its tests and users already know */
		return verr(env, -EINVAL, "call to unknown helper %d", id);
	}
	p = &protos[id];
	for (int a = 0; a < 5 && p->args[a]; a++) {
		int regno = a + 1;
		struct vreg *r = &regs[regno];
		u8 kind = p->args[a];
		char t[48];

		if (r->type == NOT_INIT)
			return verr(env, 0, "R%d !read_ok", regno);
		reg_fmt(r, t, sizeof(t));
		switch (kind) {
		case ARG_ANYTHING:
			break;
		case ARG_CONST_MAP_PTR:
			if (r->type != CONST_PTR_TO_MAP)
				return verr(env, 0, "R%d type=%s expected=map_ptr",
					    regno, t);
			/* bpf_timer_init: the timer's map (bpfx has no inner
			 * map uids: both are 0) */
			if (map.map && map.map != r->map)
				return verr(env, -EINVAL,
					    "timer pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0");
			map = *r;
			break;
		case ARG_PTR_TO_TIMER:
			if ((err = check_timer_arg(env, regno, &map.map)))
				return err;
			break;
		case ARG_PTR_TO_LONG:
			/* the kernel's MEM_FIXED_SIZE | MEM_UNINIT | MEM_WRITE
			 * | MEM_ALIGNED: written, then aligned strictly */
			if ((err = helper_mem(env, regno, 8, true, false)) ||
			    (err = check_ptr_alignment(env, r, 0, 8, true)))
				return err;
			break;
		case ARG_PTR_TO_MAP_KEY:
			if (!map.map)
				return verr(env, -EACCES, "invalid map_ptr to access map->key");
			if ((err = helper_mem(env, regno, map.map->key_size,
					      false, false)))
				return err;
			break;
		case ARG_PTR_TO_MAP_VALUE:
			if (!map.map)
				return verr(env, -EACCES, "invalid map_ptr to access map->value");
			if ((err = helper_mem(env, regno, map.map->value_size,
					      false, false)))
				return err;
			break;
		case ARG_PTR_TO_MEM:
		case ARG_PTR_TO_MEM_OR_NULL:
		case ARG_PTR_TO_UNINIT_MEM: {
			u8 sk = p->args[a + 1];
			if ((err = check_size_arg(env, regno + 1,
						  sk == ARG_CONST_SIZE_OR_ZERO,
						  &size_max)))
				return err;
			if ((err = helper_mem(env, regno, size_max,
					      kind == ARG_PTR_TO_UNINIT_MEM,
					      kind == ARG_PTR_TO_MEM_OR_NULL)))
				return err;
			a++; /* the size was checked */
			break;
		}
		case ARG_CONST_ALLOC_SIZE_OR_ZERO:
			if (!reg_is_const(r))
				return verr(env, -EACCES,
					    "R%d is not a known constant'", regno);
			size_max = r->var_off.value;
			if ((err = mark_precise(env, regno)))
				return err;
			break;
		case ARG_PTR_TO_CTX:
			if (r->type != PTR_TO_CTX)
				return verr(env, 0, "R%d type=%s expected=ctx",
					    regno, t);
			if ((err = check_ctx_ptr_off(env, r, regno)))
				return err;
			break;
		case ARG_PTR_TO_FUNC:
			if (r->type != PTR_TO_FUNC)
				return verr(env, 0, "R%d type=%s expected=func",
					    regno, t);
			cb_sub = r->subprog;
			break;
		case ARG_PTR_TO_STACK_OR_NULL:
			if (!(r->type == PTR_TO_STACK ||
			      (reg_is_const(r) && r->var_off.value == 0)))
				return verr(env, 0, "R%d type=%s expected=fp",
					    regno, t);
			if (r->type == SCALAR_VALUE &&
			    (err = mark_precise(env, regno)))
				return err;
			cb_ctx = *r;
			break;
		case ARG_PTR_TO_RINGBUF_MEM:
			if (r->type != PTR_TO_MEM || !(r->flags & VREG_RINGBUF) ||
			    (r->flags & VREG_MAYBE_NULL))
				return verr(env, 0,
					    "R%d type=%s expected=ringbuf_mem",
					    regno, t);
			if (r->off || !tnum_is_const(r->var_off) ||
			    r->var_off.value)
				return verr(env, -EINVAL,
					    "R%d must have zero offset when passed to release func",
					    regno);
			release_id = r->ref_obj_id;
			break;
		case ARG_PTR_TO_SPIN_LOCK:
			/* a map value or an object from bpf_obj_new */
			if ((r->type != PTR_TO_MAP_VALUE &&
			     !(r->type == PTR_TO_BTF_ID &&
			       (r->flags & VREG_ALLOC))) ||
			    (r->flags & VREG_MAYBE_NULL))
				return verr(env, 0,
					    r->type == PTR_TO_BTF_ID ||
						    r->type == PTR_TO_MAP_VALUE
					    ? "R%d type=%s expected=map_value, ptr_"
					    : "R%d type=%s expected=map_value",
					    regno, t);
			if (tnum_is_const(r->var_off) &&
			    (err = graph_check_lock(env, regno)))
				return err;
			if (!tnum_is_const(r->var_off))
				return verr(env, -EINVAL,
					    "R%d doesn't have constant offset. bpf_spin_lock has to be at the constant offset",
					    regno);
			if (id == BPF_FUNC_spin_lock) {
				if (st->lock_id)
					return verr(env, -EINVAL,
						    "Locking two bpf_spin_locks are not allowed");
				st->lock_id = r->id ? r->id :
					      r->ref_obj_id ? r->ref_obj_id : 1;
				st->lock_map = r->type == PTR_TO_MAP_VALUE
						       ? r->map : NULL;
				st->lock_off = r->off + (s32)r->var_off.value;
			} else {
				if (!st->lock_id)
					return verr(env, -EINVAL,
						    "bpf_spin_unlock without taking a lock");
				if (st->lock_map != (r->type == PTR_TO_MAP_VALUE
							     ? r->map : NULL) ||
				    st->lock_off != r->off + (s32)r->var_off.value ||
				    st->lock_id != (r->id ? r->id :
						    r->ref_obj_id ? r->ref_obj_id : 1))
					return verr(env, -EINVAL,
						    "bpf_spin_unlock of different lock");
				graph_invalidate_non_owning(env);
				st->lock_id = 0;
				st->lock_map = NULL;
				st->lock_off = 0;
			}
			break;
		case ARG_PTR_TO_DYNPTR:
		case ARG_PTR_TO_DYNPTR_LOCAL_UNINIT:
		case ARG_PTR_TO_DYNPTR_RINGBUF_UNINIT:
		case ARG_PTR_TO_DYNPTR_RINGBUF_RELEASE:
			if (r->type != PTR_TO_STACK &&
			    r->type != CONST_PTR_TO_DYNPTR)
				return verr(env, 0,
					    "R%d type=%s expected=fp, dynptr_ptr",
					    regno, t);
			err = check_dynptr_arg(
				env, regno, a,
				kind == ARG_PTR_TO_DYNPTR ? DYNPTR_INIT
				: kind == ARG_PTR_TO_DYNPTR_RINGBUF_RELEASE
					? DYNPTR_RELEASE
					: DYNPTR_UNINIT,
				kind == ARG_PTR_TO_DYNPTR ? BPFX_DYNPTR_INVALID
				: kind == ARG_PTR_TO_DYNPTR_LOCAL_UNINIT
					? BPFX_DYNPTR_LOCAL
					: BPFX_DYNPTR_RINGBUF,
				0, idx, &dyn);
			if (err)
				return err;
			break;
		case ARG_PTR_TO_CONST_STR:
			if (r->type != PTR_TO_MAP_VALUE || !r->map->rdonly_prog)
				return verr(env, 0,
					    "R%d does not point to a readonly map'",
					    regno);
			break;
		}
	}
	/* map-specific rules */
	if (id == BPF_FUNC_ringbuf_reserve || id == BPF_FUNC_ringbuf_output ||
	    id == BPF_FUNC_ringbuf_query ||
	    id == BPF_FUNC_ringbuf_reserve_dynptr) {
		if (map.map->type != BPF_MAP_TYPE_RINGBUF)
			return verr(env, -EINVAL,
				    "cannot pass map_type %u into func %s#%d",
				    map.map->type, helper_by_id(id)->name, id);
	} else if (map.map && map.map->type == BPF_MAP_TYPE_RINGBUF) {
		return verr(env, -EINVAL, "cannot pass map_type %u into func %s#%d",
			    map.map->type, helper_by_id(id)->name, id);
	}
	if (id == BPF_FUNC_tail_call && map.map &&
	    map.map->type != BPF_MAP_TYPE_PROG_ARRAY)
		return verr(env, -EINVAL, "cannot pass map_type %u into func %s#%d",
			    map.map->type, helper_by_id(id)->name, id);
	/* the kernel keeps a constant tail call key for its poke table */
	if (id == BPF_FUNC_tail_call && reg_is_const(&regs[3]) &&
	    (err = mark_precise(env, 3)))
		return err;
	if (id == BPF_FUNC_tail_call && st->ref_cnt)
		return verr(env, -EINVAL,
			    "tail_call would lead to reference leak");
	if (id == BPF_FUNC_tail_call && (st->rcu_depth || st->preempt_depth))
		return verr(env, -EINVAL,
			    "tail_call cannot be used inside bpf_rcu_read_lock-ed region");
	if (id == BPF_FUNC_tail_call && irq_active(st))
		return verr(env, -EINVAL,
			    "tail_call cannot be used inside bpf_local_irq_save-ed region");
	if (id == BPF_FUNC_timer_set_callback &&
	    (err = push_async_callback(env, idx, cb_sub, map.map)))
		return err;
	if (release_id && (err = release_reference(env, release_id)))
		return err;

	if ((id == BPF_FUNC_loop || id == BPF_FUNC_for_each_map_elem)) {
		/* zero iterations: go on after the call from here */
		struct vstate *skip = state_dup(st);
		if (!skip)
			return -ENOMEM;
		{
			struct vreg *sr = skip->frame[skip->curframe]->regs;
			for (int i = 1; i <= 5; i++)
				memset(&sr[i], 0, sizeof(sr[i]));
			reg_mark_unknown(&sr[0]);
			if (id == BPF_FUNC_loop) {
				sr[0].smin = 0;
				sr[0].smax = 1 << 23;
				reg_bounds_sync(&sr[0]);
			}
		}
		err = push_state(env, skip, idx + 1);
		if (err) {
			state_free(skip);
			return err;
		}
		if (skip->parent)
			skip->parent->branches++;
		hist_cur(env)->flags |= HIST_CALLBACK;
		err = setup_callback(env, idx, id, cb_sub, &map, &cb_ctx);
		if (err)
			return err;
		*next_idx = env->sub[cb_sub].start;
		return 0;
	}

	if (id == BPF_FUNC_dynptr_from_mem &&
	    regs[1].type != PTR_TO_MAP_VALUE) {
		char t[48];

		reg_fmt(&regs[1], t, sizeof(t));
		return verr(env, -EACCES,
			    "Unsupported reg type %s for bpf_dynptr_from_mem data",
			    t);
	}
	/* an skb dynptr's write may move the packet */
	if (id == BPF_FUNC_dynptr_write && (dyn.type == BPFX_DYNPTR_SKB ||
					    dyn.type == BPFX_DYNPTR_SKB_META))
		clear_pkt_pointers(env);

	bool elide_null = id == BPF_FUNC_map_lookup_elem &&
			  lookup_key_in_array(env, &map, &regs[2]);
	for (int i = 1; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
	switch (p->ret) {
	case RET_VOID:
	case RET_INTEGER:
		reg_mark_unknown(&regs[0]);
		break;
	case RET_MAP_VALUE_OR_NULL:
		memset(&regs[0], 0, sizeof(regs[0]));
		regs[0].type = PTR_TO_MAP_VALUE;
		regs[0].flags = elide_null ? 0 : VREG_MAYBE_NULL;
		regs[0].map = map.map;
		regs[0].var_off = tnum_const(0);
		/* an id only for the null check to come, as the kernel */
		if (!elide_null)
			regs[0].id = ++env->id_gen;
		break;
	case RET_DYNPTR_MEM_OR_NULL:
		/* a slice: dead with its dynptr, and with the ring buffer
		 * sample it holds */
		memset(&regs[0], 0, sizeof(regs[0]));
		regs[0].type = PTR_TO_MEM;
		regs[0].flags = VREG_MAYBE_NULL;
		regs[0].mem_size = (u32)size_max;
		regs[0].var_off = tnum_const(0);
		regs[0].id = ++env->id_gen;
		regs[0].dynptr_id = dyn.id;
		regs[0].ref_obj_id = dyn.ref;
		break;
	case RET_RINGBUF_MEM_OR_NULL: {
		int ref;

		++env->id_gen; /* the null check's, replaced as the kernel does */
		ref = acquire_reference(env, idx);
		if (ref < 0)
			return ref;
		memset(&regs[0], 0, sizeof(regs[0]));
		regs[0].type = PTR_TO_MEM;
		regs[0].flags = VREG_MAYBE_NULL | VREG_RINGBUF;
		regs[0].mem_size = (u32)size_max;
		regs[0].var_off = tnum_const(0);
		regs[0].ref_obj_id = ref;
		regs[0].id = ref;
		break;
	}
	}
	if (id == BPF_FUNC_get_smp_processor_id) {
		regs[0].umax = BPFX_MAX_NR_CPUS;
		reg_bounds_sync(&regs[0]);
	}
	if (p->pkt_changing)
		clear_pkt_pointers(env);
	return 0;
}

/* ---- kfuncs ---- */

const char *btf_type_name(struct venv *env, u32 id)
{
	const struct btf *btf = env->prog->obj ? env->prog->obj->btf : NULL;
	const struct btf_type *t = NULL;
	const char *n = NULL;

	if (btf && id && id < btf__type_cnt(btf))
		t = btf__type_by_id(btf, id);
	if (t)
		n = btf__name_by_offset(btf, t->name_off);
	return n ? n : "";
}

/* bpf_obj_new_impl(local_type_id, meta): r0 is a referenced object of
 * the struct the constant R1 names in the program's BTF, or NULL. */
static int check_obj_new(struct venv *env, int idx)
{
	struct vreg *regs = cur_regs(env);
	const struct btf *btf = env->prog->obj ? env->prog->obj->btf : NULL;
	const struct btf_type *t = NULL;
	u64 type_id;
	int err;

	if ((err = check_reg_read(env, 1)) || (err = check_reg_read(env, 2)))
		return err;
	if (regs[1].type != SCALAR_VALUE || !reg_is_const(&regs[1]))
		return verr(env, -EINVAL, "R1 must be a known constant");
	if ((err = mark_precise(env, 1)))
		return err;
	if (!btf)
		return verr(env, -EINVAL, "bpf_obj_new requires prog BTF");
	type_id = regs[1].var_off.value;
	if (type_id > UINT32_MAX)
		return verr(env, -EINVAL,
			    "local type ID argument must be in range [0, U32_MAX]");
	if (type_id && type_id < btf__type_cnt(btf))
		t = btf__type_by_id(btf, (u32)type_id);
	if (!t || !btf_is_struct(t))
		return verr(env, -EINVAL,
			    "bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct");
	return mark_new_object(env, idx, (u32)type_id, t->size);
}

int mark_new_object(struct venv *env, int idx, u32 btf_id, u32 size)
{
	struct vreg *regs = cur_regs(env);
	int ref;

	/* the kernel numbers the null check first, then the reference
	 * (which then serves both): "Unreleased reference id=2" for the
	 * first object, as in its log */
	++env->id_gen;
	ref = acquire_reference(env, idx);
	if (ref < 0)
		return ref;
	for (int i = 1; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
	memset(&regs[0], 0, sizeof(regs[0]));
	regs[0].type = PTR_TO_BTF_ID;
	regs[0].flags = VREG_ALLOC | VREG_MAYBE_NULL;
	regs[0].btf_id = btf_id;
	regs[0].mem_size = size;
	regs[0].var_off = tnum_const(0);
	regs[0].ref_obj_id = (u32)ref;
	regs[0].id = (u32)ref; /* as the kernel: one id for the null check */
	return 0;
}

/* bpf_obj_drop_impl(obj, meta): releases an object from bpf_obj_new. */
static int check_obj_drop(struct venv *env)
{
	struct vreg *r = &cur_regs(env)[1];
	int err;

	if ((err = check_reg_read(env, 1)) || (err = check_reg_read(env, 2)))
		return err;
	if ((r->type == SCALAR_VALUE && reg_is_const(r) &&
	     r->var_off.value == 0) ||
	    (r->type != SCALAR_VALUE && (r->flags & VREG_MAYBE_NULL)))
		return verr(env, -EACCES,
			    "Possibly NULL pointer passed to trusted arg0");
	if (r->type != PTR_TO_BTF_ID || !r->ref_obj_id)
		return verr(env, -EINVAL, "R1 must be referenced or trusted");
	if (!(r->flags & VREG_ALLOC))
		return verr(env, -EINVAL,
			    "arg#0 expected pointer to allocated object");
	if (r->off || !tnum_is_const(r->var_off) || r->var_off.value)
		return verr(env, -EINVAL,
			    "R1 must have zero offset when passed to release func or trusted arg to kfunc");
	return release_reference(env, r->ref_obj_id);
}

int check_kfunc_call(struct venv *env, const struct bpf_insn *insn, int idx,
		     int *next_idx)
{
	struct vstate *st = env->cur;
	struct vreg *regs = cur_regs(env);
	const char *name;
	int err;

	if (insn->imm < 0 || (size_t)insn->imm >= kfunc_cnt)
		return verr(env, -EINVAL, "kernel function at insn %d not found",
			    idx);
	name = kfuncs[insn->imm].name;
	/* the graph API is what a lock is for (graph.c) */
	if (st->lock_id && !is_graph_kfunc(name))
		return verr(env, -EINVAL,
			    "function calls are not allowed while holding a lock");
	if (is_graph_kfunc(name))
		return check_graph_kfunc(env, insn, idx, next_idx);
	if (is_iter_kfunc(env, insn))
		return check_iter_kfunc(env, insn, idx);
	if (is_dynptr_kfunc(env, insn))
		return check_dynptr_kfunc(env, insn, idx);
	if (is_irq_kfunc(env, insn))
		return check_irq_kfunc(env, insn, idx);
	if (!strcmp(name, "bpf_rcu_read_lock")) {
		st->rcu_depth++;
	} else if (!strcmp(name, "bpf_rcu_read_unlock")) {
		if (!st->rcu_depth)
			return verr(env, -EINVAL,
				    "unmatched rcu read unlock (kernel function %s)",
				    name);
		if (!--st->rcu_depth)
			kptr_rcu_unlock(env);
	} else if (!strcmp(name, "bpf_preempt_disable")) {
		st->preempt_depth++;
	} else if (!strcmp(name, "bpf_preempt_enable")) {
		if (!st->preempt_depth)
			return verr(env, -EINVAL,
				    "unmatched attempt to enable preemption (kernel function %s)",
				    name);
		st->preempt_depth--;
	} else if (!strcmp(name, "bpf_throw")) {
		/* under a callback frame it cannot unwind through the
		 * helper: check_throw_in_callbacks refuses the program once
		 * the paths are verified; the path ends here meanwhile */
		if ((err = check_reg_read(env, 1)))
			return err;
		if ((err = check_resource_leak(env, true, true, "bpf_throw")))
			return err;
		/* the kernel checks the cookie as the frame's return: an
		 * async callback's must be 0 */
		if (!env->prog->exception_cb_insn &&
		    frame_is_async_cb(st->frame[0]) &&
		    (err = check_async_retval(env, 1, "R1")))
			return err;
		if (!env->prog->exception_cb_insn &&
		    !frame_is_async_cb(st->frame[0]) &&
		    (err = check_return_in_range(env, 1, "At program exit")))
			return err;
		return 1; /* the path ends: the program unwinds */
	} else if (!strcmp(name, "bpf_obj_new_impl")) {
		return check_obj_new(env, idx);
	} else if (!strcmp(name, "bpf_obj_drop_impl")) {
		if ((err = check_obj_drop(env)))
			return err;
	}
	for (int i = 1; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
	if (kfuncs[insn->imm].ret_void)
		memset(&regs[0], 0, sizeof(regs[0]));
	else
		reg_mark_unknown(&regs[0]);
	return 0;
}

/* ---- bpf-to-bpf calls ---- */

int check_subprog_call(struct venv *env, const struct bpf_insn *insn,
		       int idx, int *next_idx)
{
	struct vstate *st = env->cur;
	struct vreg *regs = cur_regs(env);
	int target = idx + 1 + insn->imm;
	int sub = find_subprog(env, target);
	struct vsubprog *sp;
	struct vframe *f;
	int err;

	if (sub < 0)
		return verr(env, -EINVAL, "function at insn %d not found", target);
	sp = &env->sub[sub];
	if (sp->is_exception_cb)
		return verr(env, -EINVAL, "insn %d cannot call exception cb directly",
			    idx);
	if (sp->global) {
		if (st->lock_id)
			return verr(env, -EINVAL,
				    "global function calls are not allowed while holding a lock,\nuse static function instead");
		if (sp->may_throw && st->ref_cnt) {
			for (int i = 0; i < st->ref_cnt; i++)
				verr(env, -EINVAL,
				     "Unreleased reference id=%u alloc_insn=%u",
				     st->refs[i].id, st->refs[i].insn);
			return verr(env, -EINVAL,
				    "global function %s() may throw: bpf_throw would lead to reference leak",
				    sp->name);
		}
		if (sp->may_throw && irq_active(st))
			return verr(env, -EINVAL,
				    "global function %s() may throw: bpf_throw cannot be used inside bpf_local_irq_save-ed region",
				    sp->name);
		if (sp->may_throw && st->rcu_depth)
			return verr(env, -EINVAL,
				    "global function %s() may throw: bpf_throw cannot be used inside bpf_rcu_read_lock-ed region",
				    sp->name);
		if (sp->may_throw && st->preempt_depth)
			return verr(env, -EINVAL,
				    "global function %s() may throw: bpf_throw cannot be used inside bpf_preempt_disable-ed region",
				    sp->name);
		for (int a = 0; a < sp->arg_cnt; a++) {
			struct vreg *r = &regs[a + 1];
			char t[48];

			if (r->type == NOT_INIT)
				return verr(env, 0, "R%d !read_ok", a + 1);
			reg_fmt(r, t, sizeof(t));
			if (sp->arg_kind[a] == 0) {
				if (r->type != SCALAR_VALUE)
					return verr(env, -EINVAL,
						    "R%d is not a scalar", a + 1);
			} else if (sp->arg_kind[a] == 1) {
				if (r->type != PTR_TO_CTX)
					return verr(env, -EINVAL,
						    "arg#%d expects pointer to ctx",
						    a);
			} else if (sp->arg_kind[a] == 3) {
				struct dynptr_info d;

				if ((err = check_dynptr_arg(env, a + 1, a,
							    DYNPTR_INIT, 0, 0,
							    idx, &d))) {
					verr(env, err,
					     "Caller passes invalid args into func#%d ('%s')",
					     sub, sp->name);
					return err;
				}
			} else if ((err = helper_mem(env, a + 1,
						     sp->arg_mem_size[a], false,
						     true))) {
				return err;
			}
		}
		for (int i = 1; i <= 5; i++)
			memset(&regs[i], 0, sizeof(regs[i]));
		reg_mark_unknown(&regs[0]);
		return 0;
	}
	if (st->curframe + 1 >= BPFX_MAX_CALL_FRAMES)
		return verr(env, -E2BIG, "the call stack of %d frames is too deep",
			    st->curframe + 2);
	f = frame_new(idx, sub, st->curframe + 1);
	if (!f)
		return -ENOMEM;
	for (int i = 1; i <= 5; i++)
		f->regs[i] = regs[i];
	st->frame[++st->curframe] = f;
	*next_idx = target;
	return 0;
}

/* ---- walks of the call graph ---- */

/* The subprogram instruction *I runs on its caller's stack: the target of
 * a bpf-to-bpf call, or a function an ld_imm64 passes as a callback that
 * is not async (*I then moves to the ld_imm64's second half); -1 for any
 * other instruction. */
static int sync_callee(struct venv *env, u32 *i)
{
	const struct bpf_insn *in = &env->insns[*i];
	bool call = in->code == (BPF_JMP | BPF_CALL) &&
		    in->src_reg == BPF_PSEUDO_CALL;
	bool func = in->code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    in->src_reg == BPF_PSEUDO_FUNC;
	int c;

	if (!call && !func)
		return -1;
	c = find_subprog(env, *i + 1 + in->imm);
	if (func)
		++*i;
	if (c < 0 || (!call && env->sub[c].is_async_cb))
		return -1;
	return c;
}

/* ---- bpf_throw under callbacks ---- */

static bool is_throw_call(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) &&
	       in->src_reg == BPF_PSEUDO_KFUNC_CALL && in->imm >= 0 &&
	       (size_t)in->imm < kfunc_cnt &&
	       !strcmp(kfuncs[in->imm].name, "bpf_throw");
}

/* Walks SUB and what it calls (or passes as a synchronous callback) in
 * instruction order; IN_CB says a callback is on the way from the root. */
static int throw_walk(struct venv *env, int sub, bool in_cb, int depth)
{
	const struct vsubprog *sp = &env->sub[sub];

	in_cb |= sp->is_cb;
	if (depth >= BPFX_MAX_CALL_FRAMES)
		return 0;
	for (u32 i = sp->start; i < sp->end; i++) {
		int c, err;

		if (is_throw_call(&env->insns[i])) {
			if (!in_cb)
				continue;
			env->err_insn = (int)i;
			return verr(env, -EINVAL,
				    "bpf_throw kfunc (insn %u) cannot be called from callback subprog %d",
				    i, sub);
		}
		/* async callbacks are walked from their own root */
		if ((c = sync_callee(env, &i)) < 0)
			continue;
		if ((err = throw_walk(env, c, in_cb, depth + 1)))
			return err;
	}
	return 0;
}

int check_throw_in_callbacks(struct venv *env)
{
	for (int s = 0; s < env->sub_cnt; s++) {
		int err;

		if (s && !env->sub[s].is_async_cb)
			continue;
		if ((err = throw_walk(env, s, false, 0)))
			return err;
	}
	return 0;
}

/* ---- the combined stack of call chains ---- */

/* A frame's share, as the kernel's round_up_stack_depth() when its JIT is
 * on (the host kernel's, and bpfx's default engine). */
static int frame_bytes(const struct vsubprog *sp)
{
	return (int)ROUND_UP(sp->stack_depth, 16);
}

static bool calls_tail(const struct venv *env, const struct vsubprog *sp)
{
	for (u32 i = sp->start; i < sp->end; i++)
		if (env->insns[i].code == (BPF_JMP | BPF_CALL) &&
		    !env->insns[i].src_reg &&
		    env->insns[i].imm == BPF_FUNC_tail_call)
			return true;
	return false;
}

/* Depth-first over the calls and callbacks (ld_imm64 of a function) from
 * subprogram SUB, DEPTH bytes already below it, FRAME its frame number. */
static int stack_walk(struct venv *env, int sub, int depth, int frame)
{
	const struct vsubprog *sp = &env->sub[sub];

	if (sub && calls_tail(env, sp) && depth >= 256)
		return verr(env, -EACCES,
			    "tail_calls are not allowed when call stack of previous frames is %d bytes. Too large",
			    depth);
	depth += frame_bytes(sp);
	if (depth > MAX_BPF_STACK)
		return verr(env, -EACCES,
			    "combined stack size of %d calls is %d. Too large",
			    frame + 1, depth);
	for (u32 i = sp->start; i < sp->end; i++) {
		int callee, err;

		/* async callbacks run on a stack of their own */
		if ((callee = sync_callee(env, &i)) < 0)
			continue;
		if (frame + 1 >= BPFX_MAX_CALL_FRAMES)
			return verr(env, -E2BIG,
				    "the call stack of %d frames is too deep !",
				    frame + 1);
		if ((err = stack_walk(env, callee, depth, frame + 1)))
			return err;
	}
	return 0;
}

int check_max_stack_depth(struct venv *env)
{
	int err = 0;

	for (int s = 0; s < env->sub_cnt && !err; s++)
		if (!s || env->sub[s].is_async_cb || env->sub[s].is_exception_cb)
			err = stack_walk(env, s, 0, 0);
	return err;
}

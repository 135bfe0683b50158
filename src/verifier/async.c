/*
 * bpf_timer in the verifier, with the kernel's rules and messages.
 *
 * A timer helper's first argument (ARG_PTR_TO_TIMER) must point, at a
 * constant offset, at the struct bpf_timer that the map value's BTF
 * holds; bpf_timer_init's map must be that map. No load, store or helper
 * memory access may touch the timer's bytes, and programs of the tracing
 * types the kernel names (kprobe, tracepoint, perf_event, raw_tracepoint)
 * may not use a map that has one.
 *
 * bpf_timer_set_callback(timer, fn) makes fn an async callback, as the
 * kernel's push_async_cb(): it runs later, on its own, so it is verified
 * as a path of its own queued at the call, not inside its caller. Its one
 * frame starts with R1 the timer's map, R2 a key and R3 a value of that
 * map; it holds nothing of its caller (references, locks, IRQ states) and
 * must return 0 ("At async callback return ..."). A bpf_throw under it is
 * refused once every path is verified (check_throw_in_callbacks), since
 * there is no program to unwind to.
 */
#include "verifier.h"

#define TIMER_SIZE 16

/* The kernel's map names are cut to 15 characters (BPF_OBJ_NAME_LEN). */
static const char *kernel_map_name(const struct bpfx_map *map, char *buf)
{
	snprintf(buf, 16, "%s", map->name ? map->name : "");
	return buf;
}

int check_timer_arg(struct venv *env, int regno, struct bpfx_map **mapp)
{
	struct vreg *r = &cur_regs(env)[regno];
	struct bpfx_map *map = r->map;
	char t[48], name[16];
	s64 off;

	if (r->type != PTR_TO_MAP_VALUE || (r->flags & VREG_MAYBE_NULL)) {
		reg_fmt(r, t, sizeof(t));
		return verr(env, -EACCES, "R%d type=%s expected=map_value", regno,
			    t);
	}
	if (!tnum_is_const(r->var_off))
		return verr(env, -EINVAL,
			    "R%d doesn't have constant offset. bpf_timer has to be at the constant offset",
			    regno);
	if (!map->has_value_btf)
		return verr(env, -EINVAL,
			    "map '%s' has to have BTF in order to use bpf_timer",
			    kernel_map_name(map, name));
	if (!map->has_timer)
		return verr(env, -EINVAL, "map '%s' has no valid bpf_timer",
			    kernel_map_name(map, name));
	off = (s64)r->var_off.value + r->off;
	if (off != (s64)map->timer_off)
		return verr(env, -EINVAL,
			    "off %lld doesn't point to 'struct bpf_timer' that is at %u",
			    (long long)off, map->timer_off);
	*mapp = map;
	return 0;
}

int push_async_callback(struct venv *env, int call_idx, int cb_sub,
			struct bpfx_map *map)
{
	struct vstate *st;
	struct vframe *f;
	struct vreg *regs;
	int err;

	if (cb_sub < 0)
		return verr(env, -EINVAL, "callback is not a subprogram");
	env->sub[cb_sub].is_cb = true;
	env->sub[cb_sub].is_async_cb = true;
	st = calloc(1, sizeof(*st));
	f = frame_new(-1, cb_sub, 0);
	if (!st || !f) {
		free(st);
		frame_free(f);
		return -ENOMEM;
	}
	f->callback_helper = BPF_FUNC_timer_set_callback;
	regs = f->regs;
	regs[1].type = CONST_PTR_TO_MAP;
	regs[1].map = map;
	regs[1].var_off = tnum_const(0);
	regs[2].type = PTR_TO_MAP_KEY;
	regs[2].map = map;
	regs[2].var_off = tnum_const(0);
	regs[3].type = PTR_TO_MAP_VALUE;
	regs[3].map = map;
	regs[3].var_off = tnum_const(0);
	st->frame[0] = f;
	st->curframe = 0;
	err = push_state(env, st, (int)env->sub[cb_sub].start);
	if (err) {
		state_free(st);
		return err;
	}
	(void)call_idx;
	/* a path with no past: backtracking stops at its entry */
	st->hist_start = st->hist_end;
	return 0;
}

int check_async_retval(struct venv *env, int regno, const char *reg_name)
{
	struct vreg *r = &cur_regs(env)[regno];
	char buf[96];
	int err;

	if (r->type != SCALAR_VALUE) {
		char t[48];

		reg_fmt(r, t, sizeof(t));
		return verr(env, -EINVAL,
			    "At async callback return the register %s is not a known value (%s)",
			    reg_name, t);
	}
	if ((err = mark_precise(env, regno)))
		return err;
	if (r->smin == 0 && r->smax == 0)
		return 0;
	reg_range_text(r, buf, sizeof(buf));
	return verr(env, -EINVAL,
		    "At async callback return the register %s has%s should have been in [0, 0]",
		    reg_name, buf);
}

int check_async_exit(struct venv *env)
{
	int err;

	/* the kernel's process_bpf_exit_full() at the first frame */
	if ((err = check_resource_leak(env, false, true,
				       "BPF_EXIT instruction in main prog")))
		return err;
	if ((err = check_async_retval(env, 0, "R0")))
		return err;
	return 1;
}

int check_map_field_access(struct venv *env, const struct vreg *reg, int off,
			   int size)
{
	const struct bpfx_map *map = reg->map;
	s64 lo, hi;

	if (!map || !map->has_timer)
		return 0;
	if (tnum_is_const(reg->var_off)) {
		lo = (s64)reg->var_off.value + reg->off + off;
		hi = lo + size;
	} else {
		lo = reg->smin + reg->off + off;
		hi = (s64)reg->umax + reg->off + off + size;
	}
	if (lo < (s64)map->timer_off + TIMER_SIZE && (s64)map->timer_off < hi)
		return verr(env, -EACCES,
			    "bpf_timer cannot be accessed directly by load/store");
	return 0;
}

static bool is_tracing_prog_type(u32 type)
{
	return type == BPF_PROG_TYPE_KPROBE ||
	       type == BPF_PROG_TYPE_TRACEPOINT ||
	       type == BPF_PROG_TYPE_PERF_EVENT ||
	       type == BPF_PROG_TYPE_RAW_TRACEPOINT ||
	       type == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE;
}

int check_timer_maps(struct venv *env)
{
	for (size_t i = 0; i < env->prog->map_cnt; i++)
		if (env->prog->maps[i]->has_timer &&
		    is_tracing_prog_type(env->prog_type))
			return verr(env, -EINVAL,
				    "tracing progs cannot use bpf_timer yet");
	return 0;
}

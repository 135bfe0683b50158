/*
 * bpf_timer, with the kernel's semantics (kernel/bpf/helpers.c).
 *
 * A map value may hold one struct bpf_timer (16 opaque bytes) when its
 * BTF says so and the map is an array, hash or lru_hash, as the kernel's
 * btf_record: map_fields_init() finds it. Programs never touch those bytes
 * (the verifier refuses loads and stores there) and the timer's state is
 * not kept in them: each map has, from its first bpf_timer_init, a table
 * of timers by element index, so nothing a program writes can forge one.
 *
 * The helpers, as the kernel's: bpf_timer_init(timer, map, clock) creates
 * the element's timer (-EBUSY if there is one, -EINVAL for a clock other
 * than CLOCK_MONOTONIC, CLOCK_REALTIME or CLOCK_BOOTTIME, -EPERM once the
 * map is being freed, where the kernel checks the map's user references);
 * bpf_timer_set_callback(timer, fn) names the callback and its program;
 * bpf_timer_start(timer, nsecs, flags) arms it, relative or absolute
 * (BPF_F_TIMER_ABS) on its clock, pinned to the caller's CPU with
 * BPF_F_TIMER_CPU_PIN (-EINVAL without a callback or with other flags);
 * bpf_timer_cancel(timer) drops the callback, disarms the timer and waits
 * for a running callback: 1 if it was armed, 0 if not, -EDEADLK from the
 * timer's own callback. An element's timer is freed (cancelled, its
 * running callback waited for) when the element is deleted, replaced by
 * an update or evicted, and when the map or its object is closed.
 *
 * Firing: one timer thread per process (started when a timer is armed,
 * ending when none is) sleeps until the earliest expiry on CLOCK_MONOTONIC
 * (other clocks are converted when the timer is armed) and runs each due
 * callback as a run of its own: its own stack and exception context, on
 * the engine of the run that set the callback, with r1 = the map, r2 =
 * the key (read-only: an array's index in a local, as the kernel's, a
 * hash element's key where the element keeps it), r3 = the value. One callback runs at a time, so the kernel's
 * -EDEADLK of two callbacks cancelling each other cannot arise. A failed
 * callback run is logged and kept for bpfx_object__wait_timers().
 *
 * Locking: one mutex guards every timer. Map code calls timer_detach()
 * under its own locks (bucket, pool), never the other way round, and the
 * waits of timer_release() and bpf_timer_cancel() happen with no map lock
 * held, so a callback that updates the map cannot deadlock against them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/btf.h>

#include "internal.h"

#define TIMER_SIZE 16 /* sizeof(struct bpf_timer) */
#define MAX_CLOCKS 16
#define TIMER_ABS (1ULL << 0)     /* BPF_F_TIMER_ABS */
#define TIMER_CPU_PIN (1ULL << 1) /* BPF_F_TIMER_CPU_PIN */

struct bpfx_timer {
	struct bpfx_timer *prev, *next; /* the armed list, by expiry */
	struct bpfx_map *map;
	u32 index;                      /* the element */
	int clock;
	struct bpfx_program *prog;      /* the callback's, or NULL */
	u64 func;
	enum bpfx_engine engine;
	u64 expires;                    /* CLOCK_MONOTONIC ns */
	int cpu;                        /* pinned CPU, or -1 */
	u32 waiters;                    /* holds: waiters, detachers */
	bool armed, running, dead;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;  /* the timer thread: the earliest expiry moved */
	pthread_cond_t idle;  /* waiters: a callback ended, a timer disarmed */
	bool thread_alive;
	struct bpfx_timer *armed;   /* earliest first */
	struct bpfx_timer *running; /* the callback the thread runs */
} svc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t svc_once = PTHREAD_ONCE_INIT;

/* The timer whose callback this thread runs (the kernel's per-CPU
 * hrtimer_running). */
static __thread struct bpfx_timer *running_here;

static void svc_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&svc.wake, &attr);
	pthread_cond_init(&svc.idle, &attr);
	pthread_condattr_destroy(&attr);
}

static void svc_lock(void)
{
	pthread_once(&svc_once, svc_init);
	pthread_mutex_lock(&svc.lock);
}

static void svc_unlock(void)
{
	pthread_mutex_unlock(&svc.lock);
}

static u64 clock_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static struct timespec ns_to_timespec(u64 ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ULL),
				  .tv_nsec = (long)(ns % 1000000000ULL) };
}

/* ---- where timers live ---- */

static const struct btf_type *skip_mods(const struct btf *btf, u32 *id)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return t;
}

/* Counts the struct bpf_timer fields of type ID at byte offset BASE,
 * through nested structs and arrays; *off gets the last one's offset. */
static int count_timers(const struct btf *btf, u32 id, u32 base, u32 *off,
			int depth)
{
	const struct btf_type *t = skip_mods(btf, &id);
	const char *name;
	int n = 0;

	if (!t || depth > 8)
		return 0;
	if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);
		int per = count_timers(btf, a->type, base, off, depth + 1);

		if (per && a->nelems > 1) {
			u32 elem = a->type;
			s64 sz = btf__resolve_size(btf, elem);

			*off = base + (u32)((a->nelems - 1) * (sz > 0 ? sz : 0));
		}
		return per * (int)a->nelems;
	}
	if (!btf_is_composite(t))
		return 0;
	name = btf__name_by_offset(btf, t->name_off);
	if (btf_is_struct(t) && name && !strcmp(name, "bpf_timer")) {
		*off = base;
		return 1;
	}
	for (u16 i = 0; i < btf_vlen(t); i++) {
		const struct btf_member *m = btf_members(t) + i;

		n += count_timers(btf, m->type,
				  base + btf_member_bit_offset(t, i) / 8, off,
				  depth + 1);
	}
	return n;
}

void map_fields_init(struct bpfx_map *map)
{
	const struct btf *btf = map->obj ? map->obj->btf : NULL;
	u32 off = 0;

	map->has_timer = false;
	map->timer_off = 0;
	map->timers_closing = false;
	map->timers = NULL;
	/* the kernel refuses the value BTF of other map types holding a
	 * timer (libbpf then creates the map without BTF) */
	map->has_value_btf = btf && map->btf_value_type_id &&
			     !map->is_global_data;
	if (!map->has_value_btf)
		return;
	int n = count_timers(btf, map->btf_value_type_id, 0, &off, 0);
	if (!n)
		return;
	if (map->type != BPF_MAP_TYPE_ARRAY && map->type != BPF_MAP_TYPE_HASH &&
	    map->type != BPF_MAP_TYPE_LRU_HASH) {
		map->has_value_btf = false;
		return;
	}
	/* more than one: the kernel keeps the BTF but records no timer */
	if (n == 1 && off % 8 == 0 && off + TIMER_SIZE <= map->value_size) {
		map->has_timer = true;
		map->timer_off = off;
	}
}

/* The element index of the timer field at ADDR of MAP, or -1. */
static s64 timer_index(const struct bpfx_map *map, u64 addr)
{
	u64 lo = (u64)(uintptr_t)map->mem;
	u32 stride = ROUND_UP(map->value_size, 8);

	if (!map->has_timer || !map->mem || addr < lo ||
	    addr - lo >= (u64)stride * map->max_entries ||
	    (addr - lo) % stride != map->timer_off)
		return -1;
	return (s64)((addr - lo) / stride);
}

static void *timer_value(const struct bpfx_timer *t)
{
	return t->map->mem + (size_t)t->index * ROUND_UP(t->map->value_size, 8);
}

/* ---- the armed list and the thread ---- */

static void disarm(struct bpfx_timer *t)
{
	if (!t->armed)
		return;
	if (t->prev) {
		t->prev->next = t->next;
	} else {
		/* the thread may be asleep until this one's time: it
		 * looks at the new head (or leaves, the list empty) */
		svc.armed = t->next;
		pthread_cond_signal(&svc.wake);
	}
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
	t->armed = false;
	pthread_cond_broadcast(&svc.idle);
}

static void *timer_thread(void *arg);

static int arm(struct bpfx_timer *t, u64 expires)
{
	struct bpfx_timer **link = &svc.armed, *prev = NULL;

	disarm(t);
	while (*link && (*link)->expires <= expires) {
		prev = *link;
		link = &(*link)->next;
	}
	t->expires = expires;
	t->prev = prev;
	t->next = *link;
	if (*link)
		(*link)->prev = t;
	*link = t;
	t->armed = true;
	if (!svc.thread_alive) {
		pthread_attr_t attr;
		pthread_t tid;
		int err;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&tid, &attr, timer_thread, NULL);
		pthread_attr_destroy(&attr);
		if (err) {
			disarm(t);
			return -err;
		}
		svc.thread_alive = true;
	} else if (svc.armed == t) {
		pthread_cond_signal(&svc.wake);
	}
	return 0;
}

static void timer_free_if_unused(struct bpfx_timer *t)
{
	if (t->dead && !t->running && !t->waiters)
		free(t);
}

/* Under the lock: waits until T's callback is not running (T stays
 * allocated meanwhile). */
static void wait_not_running(struct bpfx_timer *t)
{
	t->waiters++;
	while (t->running)
		pthread_cond_wait(&svc.idle, &svc.lock);
	t->waiters--;
}

static void fire(struct bpfx_timer *t)
{
	struct bpfx_map *map = t->map;
	struct bpfx_program *prog = t->prog;
	u32 index = t->index, key_size = sizeof(index);
	const void *key = &index;
	int err;

	/* as the kernel's bpf_timer_cb(): an array's index in a local, a
	 * hash element's key where the element holds it */
	if (map->type != BPF_MAP_TYPE_ARRAY) {
		key = htab_key_of(map, t->index);
		key_size = map->key_size;
	}
	u64 args[5] = { (u64)(uintptr_t)map, (u64)(uintptr_t)key,
			(u64)(uintptr_t)timer_value(t), 0, 0 };
	t->running = true;
	running_here = t;
	svc.running = t;
	svc_unlock();
	err = run_async_callback(prog, t->engine, t->cpu, t->func, args, key,
				 key_size);
	svc_lock();
	running_here = NULL;
	svc.running = NULL;
	t->running = false;
	if (err && map->obj && !map->obj->timer_err)
		map->obj->timer_err = err;
	timer_free_if_unused(t);
	pthread_cond_broadcast(&svc.idle);
}

static void *timer_thread(void *arg)
{
	(void)arg;
	svc_lock();
	while (svc.armed) {
		struct bpfx_timer *t = svc.armed;
		u64 now = clock_ns(CLOCK_MONOTONIC);

		if (t->expires > now) {
			struct timespec until = ns_to_timespec(t->expires);

			pthread_cond_timedwait(&svc.wake, &svc.lock, &until);
			continue;
		}
		disarm(t);
		/* the kernel's bpf_timer_cb(): nothing to run without a
		 * callback (arming needs one; cancel disarms) */
		if (t->prog)
			fire(t);
	}
	svc.thread_alive = false;
	pthread_cond_broadcast(&svc.idle);
	svc_unlock();
	return NULL;
}

/* ---- freeing ---- */

/* Under the lock: takes T out of its map. */
static void unlink_timer(struct bpfx_timer *t)
{
	t->map->timers[t->index] = NULL;
	t->dead = true;
	t->prog = NULL;
	disarm(t);
}

struct bpfx_timer *timer_detach(struct bpfx_map *map, const void *value)
{
	struct bpfx_timer *t = NULL;
	u32 index;

	if (!map->has_timer)
		return NULL;
	index = (u32)(((const u8 *)value - map->mem) /
		      ROUND_UP(map->value_size, 8));
	svc_lock();
	if (map->timers && index < map->max_entries &&
	    (t = map->timers[index])) {
		unlink_timer(t);
		/* the caller's hold until timer_release(): a callback that
		 * ends meanwhile must not free it */
		t->waiters++;
	}
	svc_unlock();
	return t;
}

/* Under the lock, T unlinked: frees it now, or leaves it to whoever
 * holds it (its running callback, a waiter). */
static void release_locked(struct bpfx_timer *t)
{
	/* the kernel waits for another CPU's callback; its own callback
	 * deleting its element does not wait, and the timer thread frees
	 * the timer when that callback returns */
	if (t->running && running_here != t)
		wait_not_running(t);
	timer_free_if_unused(t);
}

void timer_release(struct bpfx_timer *t)
{
	if (!t)
		return;
	svc_lock();
	t->waiters--; /* timer_detach()'s hold */
	release_locked(t);
	svc_unlock();
}

void timer_value_reset(struct bpfx_map *map, void *value)
{
	if (!map->has_timer)
		return;
	timer_field_clear(map, value);
	timer_release(timer_detach(map, value));
}

static void free_map_timers_locked(struct bpfx_map *map)
{
	map->timers_closing = true;
	for (u32 i = 0; map->timers && i < map->max_entries; i++) {
		struct bpfx_timer *t = map->timers[i];

		if (t) {
			unlink_timer(t);
			release_locked(t);
		}
	}
}

void timers_map_free(struct bpfx_map *map)
{
	if (!map->has_timer)
		return;
	svc_lock();
	free_map_timers_locked(map);
	svc_unlock();
	free(map->timers);
	map->timers = NULL;
}

void timers_object_close(struct bpfx_object *obj)
{
	bool any = false;

	for (size_t i = 0; i < obj->map_cnt; i++)
		any |= obj->maps[i]->has_timer;
	if (!any)
		return;
	svc_lock();
	/* first no new timers anywhere in the object, so that a callback
	 * still running cannot create one in a map already swept */
	for (size_t i = 0; i < obj->map_cnt; i++)
		obj->maps[i]->timers_closing = true;
	for (size_t i = 0; i < obj->map_cnt; i++)
		if (obj->maps[i]->has_timer)
			free_map_timers_locked(obj->maps[i]);
	svc_unlock();
}

/* ---- the helpers ---- */

/* The timer field at ADDR and its map, or a run error. */
static struct bpfx_map *timer_arg(struct bpfx_run *run, u64 addr,
				  const char *helper, s64 *index)
{
	struct bpfx_map *map = map_region_find(addr, TIMER_SIZE);

	*index = map ? timer_index(map, addr) : -1;
	if (*index < 0) {
		run_fail(run, -EINVAL,
			 "helper %s: arg 1: %#llx is not a struct bpf_timer in a map value",
			 helper, (unsigned long long)addr);
		return NULL;
	}
	return map;
}

static struct bpfx_timer *timer_of(struct bpfx_map *map, s64 index)
{
	return map->timers ? map->timers[index] : NULL;
}

u64 helper_timer_init(struct bpfx_run *run, u64 timer, u64 map_arg,
		      u64 flags, u64 r4, u64 r5)
{
	int clock = (int)(flags & (MAX_CLOCKS - 1));
	struct bpfx_map *map;
	struct bpfx_timer *t;
	s64 index;
	long ret = 0;

	map = timer_arg(run, timer, "bpf_timer_init", &index);
	if (!map)
		return 0;
	if (run_map(run, map_arg) != map) {
		run_fail(run, -EINVAL,
			 "helper bpf_timer_init: arg 2: %#llx is not the map of the timer",
			 (unsigned long long)map_arg);
		return 0;
	}
	if (flags >= MAX_CLOCKS ||
	    (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME &&
	     clock != CLOCK_BOOTTIME))
		return (u64)-EINVAL;
	svc_lock();
	if (timer_of(map, index)) {
		ret = -EBUSY;
		goto out;
	}
	/* the kernel: maps with timers must be held by user space */
	if (map->timers_closing) {
		ret = -EPERM;
		goto out;
	}
	if (!map->timers &&
	    !(map->timers = calloc(map->max_entries, sizeof(*map->timers)))) {
		ret = -ENOMEM;
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto out;
	}
	t->map = map;
	t->index = (u32)index;
	t->clock = clock;
	t->cpu = -1;
	map->timers[index] = t;
out:
	svc_unlock();
	return (u64)ret;
}

/* The program of the run (or, after a tail call, of its object) whose
 * code holds FUNC on ENGINE. */
static struct bpfx_program *func_owner(struct bpfx_run *run, u64 func)
{
	struct bpfx_program *prog = run->prog;
	bool jit = run->engine == BPFX_ENGINE_JIT;

	if (jit ? jit_func_valid(prog, func) : interp_func_valid(prog, func))
		return prog;
	for (size_t i = 0; prog->obj && i < prog->obj->prog_cnt; i++) {
		struct bpfx_program *p = prog->obj->progs[i];

		if (jit ? jit_func_valid(p, func) : interp_func_valid(p, func))
			return p;
	}
	return NULL;
}

u64 helper_timer_set_callback(struct bpfx_run *run, u64 timer, u64 func,
			      u64 r3, u64 r4, u64 r5)
{
	struct bpfx_program *prog = func_owner(run, func);
	struct bpfx_map *map;
	struct bpfx_timer *t;
	s64 index;
	long ret = 0;

	map = timer_arg(run, timer, "bpf_timer_set_callback", &index);
	if (!map)
		return 0;
	if (!prog) {
		run_fail(run, -EINVAL,
			 "helper bpf_timer_set_callback: arg 2: %#llx is not a function of the program",
			 (unsigned long long)func);
		return 0;
	}
	svc_lock();
	t = timer_of(map, index);
	if (!t)
		ret = -EINVAL;
	else if (map->timers_closing)
		ret = -EPERM;
	if (!ret) {
		t->prog = prog;
		t->func = func;
		t->engine = run->engine;
	}
	svc_unlock();
	return (u64)ret;
}

u64 helper_timer_start(struct bpfx_run *run, u64 timer, u64 nsecs, u64 flags,
		       u64 r4, u64 r5)
{
	struct bpfx_map *map;
	struct bpfx_timer *t;
	s64 index;
	long ret = 0;

	map = timer_arg(run, timer, "bpf_timer_start", &index);
	if (!map)
		return 0;
	if (flags & ~(TIMER_ABS | TIMER_CPU_PIN))
		return (u64)-EINVAL;
	svc_lock();
	t = timer_of(map, index);
	if (!t || !t->prog) {
		ret = -EINVAL;
	} else {
		u64 now = clock_ns(CLOCK_MONOTONIC), expires;

		if (flags & TIMER_ABS) {
			/* on the timer's clock: its distance from now */
			s64 delta = (s64)(nsecs - clock_ns(t->clock));

			expires = delta <= 0 ? now : now + (u64)delta;
		} else {
			expires = now + nsecs < now ? UINT64_MAX : now + nsecs;
		}
		t->cpu = flags & TIMER_CPU_PIN ? run->cpu : -1;
		ret = arm(t, expires);
	}
	svc_unlock();
	return (u64)ret;
}

u64 helper_timer_cancel(struct bpfx_run *run, u64 timer, u64 r2, u64 r3,
			u64 r4, u64 r5)
{
	struct bpfx_map *map;
	struct bpfx_timer *t;
	s64 index;
	long ret = 0;

	map = timer_arg(run, timer, "bpf_timer_cancel", &index);
	if (!map)
		return 0;
	svc_lock();
	t = timer_of(map, index);
	if (!t) {
		ret = -EINVAL;
	} else if (running_here == t) {
		/* its own callback: waiting for itself would never end */
		ret = -EDEADLK;
	} else {
		/* the kernel drops the callback first, so a running
		 * callback cannot arm it again, then hrtimer_cancel() */
		t->prog = NULL;
		t->waiters++;
		for (;;) {
			if (t->armed) {
				disarm(t);
				ret = 1;
				break;
			}
			if (!t->running)
				break;
			pthread_cond_wait(&svc.idle, &svc.lock);
		}
		t->waiters--;
		timer_free_if_unused(t);
	}
	svc_unlock();
	return (u64)ret;
}

/* ---- the host's wait ---- */

static bool object_busy(const struct bpfx_object *obj)
{
	for (struct bpfx_timer *t = svc.armed; t; t = t->next)
		if (!obj || t->map->obj == obj)
			return true;
	if (svc.running && (!obj || svc.running->map->obj == obj))
		return true;
	return !obj && svc.thread_alive;
}

int bpfx_object__wait_timers(struct bpfx_object *obj, int timeout_ms)
{
	u64 deadline = 0;
	int ret = 0;

	if (running_here)
		return -EDEADLK; /* from a callback: it would wait for itself */
	if (timeout_ms > 0)
		deadline = clock_ns(CLOCK_MONOTONIC) +
			   (u64)timeout_ms * 1000000ULL;
	svc_lock();
	while (object_busy(obj)) {
		if (timeout_ms == 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (timeout_ms < 0) {
			pthread_cond_wait(&svc.idle, &svc.lock);
			continue;
		}
		struct timespec until = ns_to_timespec(deadline);
		if (pthread_cond_timedwait(&svc.idle, &svc.lock, &until) ==
			    ETIMEDOUT &&
		    object_busy(obj)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (!ret && obj && obj->timer_err) {
		ret = obj->timer_err;
		obj->timer_err = 0;
	}
	svc_unlock();
	return ret;
}

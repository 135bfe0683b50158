/*
 * Running programs: the run context, the memory a run may touch, the
 * thread's CPU number and BPF stack, logging, and the two entry points
 * that run code (bpfx_program__test_run and bpfx_run_raw).
 *
 * A run gets the thread's BPF stack (BPFX_MAX_CALL_FRAMES frames of 512
 * bytes); a nested run on the same thread (a program run from inside
 * another's helper) gets a stack of its own, so the outer run's frames are
 * never overwritten. run_mem_slow() is the slow half of run_mem(): it
 * accepts the context, the packet, a caller-supplied region, the run's
 * objects from bpf_obj_new (objects.c) and live map storage, and caches the last map region so a loop over one map value
 * costs one comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "kernel/kernel.h"

/* ---- logging ---- */

static void default_log(enum bpfx_log_level level, const char *msg, void *user)
{
	if (level <= BPFX_LOG_WARN)
		fprintf(stderr, "bpfx: %s\n", msg);
}

static bpfx_log_fn log_fn = default_log;
static void *log_user;

void bpfx_set_log(bpfx_log_fn fn, void *user)
{
	log_fn = fn;
	log_user = user;
}

void pr_log(enum bpfx_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(level, buf, log_user);
}

bool opts_valid(const void *opts, size_t known_sz)
{
	if (!opts)
		return true;
	size_t sz = *(const size_t *)opts;
	if (sz < sizeof(size_t))
		return false;
	/* A newer caller's larger struct is fine if the tail is zero. */
	for (size_t i = known_sz; i < sz; i++)
		if (((const u8 *)opts)[i])
			return false;
	return true;
}

/* ---- engines ---- */

static const char *const engine_names[] = {
	[BPFX_ENGINE_DEFAULT] = "default",
	[BPFX_ENGINE_INTERP] = "interp",
	[BPFX_ENGINE_KERNEL] = "kernel",
	[BPFX_ENGINE_JIT] = "jit",
};

const char *bpfx_engine_name(enum bpfx_engine engine)
{
	if ((unsigned)engine >= ARRAY_SIZE(engine_names))
		return "unknown";
	return engine_names[engine];
}

int bpfx_engine_by_name(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(engine_names); i++)
		if (!strcmp(name, engine_names[i]))
			return (int)i;
	return -EINVAL;
}

/* ---- CPUs and stacks ---- */

unsigned int runtime_nr_cpus(void)
{
	static unsigned int nr;
	if (!nr) {
		long n = sysconf(_SC_NPROCESSORS_CONF);
		nr = n < 1 ? 1 : n > BPFX_MAX_NR_CPUS ? BPFX_MAX_NR_CPUS
						      : (unsigned)n;
	}
	return nr;
}

int run_thread_cpu(void)
{
	static unsigned int next_cpu;
	static __thread int cpu = -1;
	if (cpu < 0)
		cpu = (int)(__atomic_fetch_add(&next_cpu, 1, __ATOMIC_RELAXED) %
			    runtime_nr_cpus());
	return cpu;
}

#define RUN_STACK_BYTES (BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE)

static pthread_key_t stack_key;
static pthread_once_t stack_key_once = PTHREAD_ONCE_INIT;

static void make_stack_key(void)
{
	pthread_key_create(&stack_key, free);
}

u8 *run_thread_stack(void)
{
	pthread_once(&stack_key_once, make_stack_key);
	u8 *stack = pthread_getspecific(stack_key);
	if (!stack) {
		stack = aligned_alloc(64, RUN_STACK_BYTES);
		if (!stack)
			return NULL;
		memset(stack, 0, RUN_STACK_BYTES);
		pthread_setspecific(stack_key, stack);
	}
	return stack;
}

/* The innermost run on this thread. */
static __thread struct bpfx_run *active_run;

struct bpfx_run *run_active(void)
{
	return active_run;
}

/* ---- memory a run may touch ---- */

static bool in_region(const struct run_region *r, u64 addr, u64 size,
		      enum mem_access acc)
{
	return addr >= r->lo && addr <= r->hi && size <= r->hi - addr &&
	       (acc == MEM_READ || r->writable);
}

void *run_mem_slow(struct bpfx_run *run, u64 addr, u64 size,
		   enum mem_access acc)
{
	if (size == 0 || addr + size < addr)
		return NULL;
	/* The packet and the context live as long as the run and may be
	 * cached; the extra region (a callback's key) is transient, so it is
	 * never cached: the cache outlives the helper that set it. */
	const struct run_region *fixed[] = { &run->pkt, &run->ctx };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (in_region(fixed[i], addr, size, acc)) {
			run->cached = *fixed[i];
			return (void *)(uintptr_t)addr;
		}
	}
	if (in_region(&run->extra, addr, size, acc))
		return (void *)(uintptr_t)addr;
	/* objects from bpf_obj_new: never cached, a drop ends them */
	if (object_find(addr, size))
		return (void *)(uintptr_t)addr;
	/* the program's own maps first: no lock; then the registry */
	struct bpfx_map *map = NULL;
	for (size_t i = 0; run->prog && i < run->prog->map_cnt; i++) {
		struct bpfx_map *m = run->prog->maps[i];
		u64 lo = (u64)(uintptr_t)m->mem;
		if (m->mem && addr >= lo && addr - lo <= m->mem_size &&
		    size <= m->mem_size - (addr - lo)) {
			map = m;
			break;
		}
	}
	if (!map)
		map = map_region_find(addr, size);
	if (!map)
		return NULL;
	struct run_region r = {
		.lo = (u64)(uintptr_t)map->mem,
		.hi = (u64)(uintptr_t)map->mem + map->mem_size,
		.writable = !map->rdonly_prog,
	};
	if (!in_region(&r, addr, size, acc))
		return NULL;
	run->cached = r;
	return (void *)(uintptr_t)addr;
}

struct bpfx_map *run_map(struct bpfx_run *run, u64 p)
{
	for (size_t i = 0; run->prog && i < run->prog->map_cnt; i++)
		if ((u64)(uintptr_t)run->prog->maps[i] == p)
			return run->prog->maps[i];
	return map_is_live((const void *)(uintptr_t)p)
		       ? (struct bpfx_map *)(uintptr_t)p
		       : NULL;
}

int run_fail(struct bpfx_run *run, int err, const char *fmt, ...)
{
	if (!run->err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(run->errmsg, sizeof(run->errmsg), fmt, ap);
		va_end(ap);
		run->err = err < 0 ? err : -err;
	}
	return run->err;
}

/* Sets up RUN for PROG on this thread; pair with run_end(). */
static int run_begin(struct bpfx_run *run, struct bpfx_program *prog)
{
	memset(run, 0, sizeof(*run));
	run->prog = prog;
	run->cpu = run_thread_cpu();
	run->branch_budget = BPFX_DEFAULT_BRANCH_BUDGET;
	run->outer = active_run;
	run->stack = run->outer ? aligned_alloc(64, RUN_STACK_BYTES)
				: run_thread_stack();
	if (!run->stack)
		return -ENOMEM;
	active_run = run;
	return 0;
}

static void run_end(struct bpfx_run *run)
{
	if (run->dead_objects) /* a path that did not settle */
		objects_run_end(run);
	active_run = run->outer;
	free(run->objects);
	run->objects = NULL;
	if (run->outer)
		free(run->stack);
	run->stack = NULL;
}

/* Runs the program, or with FUNC set the function at FUNC (an async
 * callback, args[0..4] its arguments). */
static int engine_run_at(struct bpfx_run *run, enum bpfx_engine engine,
			 u64 func, const u64 *args, u64 *ret)
{
	run_reset(run);
	int err;
	switch (engine) {
	case BPFX_ENGINE_DEFAULT: /* the JIT where there is one (x86-64) */
	case BPFX_ENGINE_JIT:
		/* a program the JIT could not compile (reason logged at
		 * load) runs on the interpreter */
		if (run->prog->jit) {
			run->engine = BPFX_ENGINE_JIT;
			err = func ? jit_run_func(run, func, args, ret)
				   : jit_run(run, args[0], args[1], ret);
			break;
		}
		/* fall through */
	case BPFX_ENGINE_INTERP:
		run->engine = BPFX_ENGINE_INTERP;
		err = func ? interp_run_func(run, func, args, ret)
			   : interp_run(run, args[0], args[1], ret);
		break;
	default:
		err = run_fail(run, -EOPNOTSUPP, "engine %d not available",
			       engine);
	}
	run_settle(run);
	return err;
}

static int engine_run(struct bpfx_run *run, enum bpfx_engine engine, u64 r1,
		      u64 r2, u64 *ret)
{
	u64 args[5] = { r1, r2, 0, 0, 0 };

	return engine_run_at(run, engine, 0, args, ret);
}

int run_async_callback(struct bpfx_program *prog, enum bpfx_engine engine,
		       int cpu, u64 func, const u64 *args, const void *key,
		       u32 key_size)
{
	struct bpfx_run run;
	u64 ret = 0;
	int err = run_begin(&run, prog);

	if (err)
		return err;
	if (cpu >= 0)
		run.cpu = cpu;
	/* the key, read-only, as a for_each_map_elem callback's */
	run.extra = (struct run_region){ (u64)(uintptr_t)key,
					 (u64)(uintptr_t)key + key_size,
					 false };
	err = engine_run_at(&run, engine, func, args, &ret);
	if (err)
		pr_warn("timer callback of %s: %s", prog->name, run.errmsg);
	run_end(&run);
	return err;
}

/* The thread's CPU time: test_run's duration leaves out the time the
 * thread was descheduled, as the kernel's does (bpf_test_timer_continue()
 * stops its timer around each cond_resched()), so a loaded machine does
 * not count other tasks' time as the program's. */
static u64 now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

/* REPEAT runs of RUN's program, every one on the same context and
 * memory, as the kernel's test_run; *ret is the last r0, *elapsed the
 * thread's CPU time they took. */
static int run_repeat(struct bpfx_run *run, enum bpfx_engine engine, u64 r1,
		      u64 r2, int repeat, u64 *ret, u64 *elapsed)
{
	u64 start = now_ns();
	int err = 0;

	if ((engine == BPFX_ENGINE_JIT || engine == BPFX_ENGINE_DEFAULT) &&
	    run->prog->jit) {
		/* the JIT's own loop: one entry set-up for every repeat */
		run->engine = BPFX_ENGINE_JIT;
		err = jit_run_repeat(run, r1, r2, (u32)repeat, ret);
	} else {
		for (int i = 0; i < repeat && !err; i++)
			err = engine_run(run, engine, r1, r2, ret);
	}
	*elapsed = now_ns() - start;
	return err;
}

int bpfx_program__test_run(struct bpfx_program *prog,
			   struct bpfx_test_run_opts *opts)
{
	if (!prog || !opts || !opts_valid(opts, sizeof(*opts)))
		return -EINVAL;
	if (!prog->loaded || !prog->interp) {
		pr_warn("run: program %s is not loaded%s%s", prog->name,
			prog->load_error ? ": " : "",
			prog->load_error ? prog->load_error : "");
		return -EINVAL;
	}
	enum bpfx_engine engine = OPTS_GET(opts, engine, BPFX_ENGINE_DEFAULT);
	if (engine == BPFX_ENGINE_KERNEL)
		return kernel_test_run(prog, opts);
	u32 flags = OPTS_GET(opts, flags, 0);
	if (flags & ~(u32)BPF_F_TEST_RUN_ON_CPU) {
		pr_warn("run: %s: unknown test_run flags 0x%x", prog->name,
			flags);
		return -EINVAL;
	}
	int repeat = OPTS_GET(opts, repeat, 0);
	if (repeat < 1)
		repeat = 1;

	struct bpfx_run run;
	int err = run_begin(&run, prog);
	if (err)
		return err;
	if (OPTS_GET(opts, max_branches, 0))
		run.branch_budget = OPTS_GET(opts, max_branches, 0);
	if (flags & BPF_F_TEST_RUN_ON_CPU) {
		u32 cpu = OPTS_GET(opts, cpu, 0);
		if (cpu >= runtime_nr_cpus()) {
			run_end(&run);
			return -ENXIO;
		}
		run.cpu = (int)cpu;
	} else if (OPTS_GET(opts, cpu, 0)) {
		run_end(&run);
		return -EINVAL;
	}

	struct run_ctx_state *state = NULL;
	u64 r1 = 0, ret = 0;
	err = ctx_prepare(prog, opts, &run, &state, &r1);
	if (err) {
		pr_warn("run: %s: the kernel's test_run rules refuse this input "
			"for a %s program (data %u bytes, ctx %u bytes): %s",
			prog->name, prog_type_name(prog->type),
			OPTS_GET(opts, data_size_in, 0),
			OPTS_GET(opts, ctx_size_in, 0), strerror(-err));
		run_end(&run);
		return err;
	}
	u64 elapsed;
	err = run_repeat(&run, engine, r1, 0, repeat, &ret, &elapsed);
	if (err) {
		pr_warn("%s", run.errmsg);
	} else {
		err = ctx_finish(state, opts, ret);
		opts->retval = (u32)ret;
		OPTS_SET(opts, retval64, ret);
		u64 mean = elapsed / (u64)repeat;
		opts->duration = mean > UINT32_MAX ? UINT32_MAX : (u32)mean;
	}
	ctx_free(state);
	run_end(&run);
	return err;
}

/* Runs a prepared PROG with r1 = the memory of OPTS, r2 = its length;
 * the memory is the run's packet too (LD_ABS/LD_IND). */
static int run_on_mem(struct bpfx_program *prog,
		      struct bpfx_raw_run_opts *opts, u64 *r0)
{
	struct bpfx_run run;
	int err = run_begin(&run, prog);
	if (err)
		return err;
	u8 *mem = OPTS_GET(opts, mem, NULL);
	size_t len = OPTS_GET(opts, mem_len, 0);
	if (OPTS_GET(opts, max_branches, 0))
		run.branch_budget = OPTS_GET(opts, max_branches, 0);
	if (mem && len) {
		run.extra = (struct run_region){ (u64)(uintptr_t)mem,
						 (u64)(uintptr_t)mem + len,
						 true };
		run.pkt = run.extra;
	}
	int repeat = OPTS_GET(opts, repeat, 0);
	u64 elapsed;
	err = run_repeat(&run, OPTS_GET(opts, engine, BPFX_ENGINE_DEFAULT),
			 (u64)(uintptr_t)mem, len, repeat > 1 ? repeat : 1, r0,
			 &elapsed);
	if (err) {
		pr_warn("%s", run.errmsg);
	} else if (OPTS_HAS(opts, duration)) {
		u64 mean = elapsed / (u64)(repeat > 1 ? repeat : 1);
		opts->duration =
			mean > UINT32_MAX ? UINT32_MAX : (u32)mean;
	}
	run_end(&run);
	return err;
}

int bpfx_run_raw(const void *insns, size_t insn_cnt,
		 struct bpfx_raw_run_opts *opts, u64 *r0)
{
	if (!insns || !r0 || !opts_valid(opts, sizeof(*opts)))
		return -EINVAL;
	char err_msg[256];
	struct bpfx_program prog = {
		.name = (char *)"raw",
		.sec_name = (char *)"raw",
		.insns = (struct bpf_insn *)insns,
		.insn_cnt = insn_cnt,
		.loaded = true,
	};
	int err = isa_check(prog.insns, insn_cnt, err_msg, sizeof(err_msg));
	if (!err)
		err = isa_check_r10(prog.insns, insn_cnt, err_msg,
				    sizeof(err_msg));
	if (!err)
		err = interp_prepare(&prog, err_msg, sizeof(err_msg));
	if (err) {
		pr_warn("raw: %s", err_msg);
		return err;
	}
	enum bpfx_engine engine = OPTS_GET(opts, engine, BPFX_ENGINE_DEFAULT);
	if ((engine == BPFX_ENGINE_JIT || engine == BPFX_ENGINE_DEFAULT) &&
	    jit_prepare(&prog, err_msg, sizeof(err_msg)))
		pr_info("raw: jit: %s; running on the interpreter", err_msg);
	err = run_on_mem(&prog, opts, r0);
	jit_free(&prog);
	interp_free(&prog);
	return err;
}

int bpfx_program__run_raw(struct bpfx_program *prog,
			  struct bpfx_raw_run_opts *opts, uint64_t *r0)
{
	if (!prog || !r0 || !opts_valid(opts, sizeof(*opts)))
		return -EINVAL;
	if (!prog->loaded || !prog->interp) {
		pr_warn("run: program %s is not loaded", prog->name);
		return -EINVAL;
	}
	return run_on_mem(prog, opts, r0);
}

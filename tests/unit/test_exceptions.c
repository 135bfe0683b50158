/*
 * The host's state survives throws (issue: the seed's panic).
 *
 * The seed's kernel runs programs between rcu_read_lock() and
 * rcu_read_unlock(), with bpf_prog_active raised: a throw that does not
 * return through the host's epilogue leaves both unbalanced. Here a host
 * wrapper plays that role: it takes a read lock and bumps a counter around
 * every run. Four threads run programs that throw from every depth (0 in
 * the main program, up to 7 nested subprograms), with the default and a
 * custom callback; some runs print, and the log callback then runs a
 * nested program on the same thread from inside bpf_printk, which throws
 * too. After more than a million throws every result is right, the
 * counter is back to zero and the lock can be taken for writing.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfx/bpfx.h"
#include "test.h"

#ifndef BPF_SYS_INCLUDE /* set by the Makefile */
#define BPF_SYS_INCLUDE "/usr/include/x86_64-linux-gnu"
#endif

#define THREADS 4
#define ITERS 40
#define REPEAT 1000

/* An Ethernet header, then the depth to throw from and whether to print. */
struct args {
	unsigned char eth[14];
	unsigned char depth;
	unsigned char nest;
};

static struct bpfx_object *obj;
static struct bpfx_program *thrower, *thrower_cb;

/* the host state a run must leave balanced */
static pthread_rwlock_t host_lock = PTHREAD_RWLOCK_INITIALIZER;
static atomic_long prog_active;
static __thread int lock_depth;
static atomic_long runs, throws, wrong;
/* the engine the test runs on (each engine bpfx knows, in turn) */
static enum bpfx_engine engine;

static int expected(const struct bpfx_program *prog, int depth)
{
	int cookie = 100 + depth;
	return prog == thrower_cb ? cookie + 1 : cookie;
}

/* The wrapper around every run, like trace_call_bpf(). */
static int host_run(struct bpfx_program *prog, struct args *a, int repeat)
{
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = a,
		  .data_size_in = sizeof(*a), .repeat = repeat,
		  .engine = engine);
	pthread_rwlock_rdlock(&host_lock);
	lock_depth++;
	atomic_fetch_add(&prog_active, 1);

	int err = bpfx_program__test_run(prog, &opts);

	atomic_fetch_sub(&prog_active, 1);
	lock_depth--;
	pthread_rwlock_unlock(&host_lock);

	atomic_fetch_add(&runs, 1);
	atomic_fetch_add(&throws, repeat);
	if (err || (int)opts.retval != expected(prog, a->depth)) {
		if (atomic_fetch_add(&wrong, 1) < 3)
			fprintf(stderr, "run: depth %d nest %d: err %d retval %u\n",
				a->depth, a->nest, err, opts.retval);
	}
	return err;
}

/* bpf_printk("nest %d") lands here, inside the outer run's helper call:
 * run a nested program on this thread that throws from another depth. */
static void on_log(enum bpfx_log_level level, const char *msg, void *user)
{
	int depth;
	if (sscanf(msg, "trace: nest %d", &depth) != 1) {
		if (level == BPFX_LOG_WARN)
			fprintf(stderr, "%s\n", msg);
		return;
	}
	if (lock_depth < 1)
		atomic_fetch_add(&wrong, 1); /* printk outside a run */
	struct args inner = { .depth = (unsigned char)((depth + 3) % 8) };
	host_run(depth & 1 ? thrower_cb : thrower, &inner, 1);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (int it = 0; it < ITERS; it++) {
		for (int depth = 0; depth < 8; depth++) {
			struct args a = { .depth = (unsigned char)depth };
			host_run((it + id) & 1 ? thrower_cb : thrower, &a, REPEAT);
			a.nest = 1;
			host_run((it + id) & 1 ? thrower : thrower_cb, &a, 4);
		}
	}
	if (lock_depth != 0)
		atomic_fetch_add(&wrong, 1);
	return NULL;
}

static int open_object(void)
{
	const char *clang = getenv("CLANG_BPF") ? getenv("CLANG_BPF") : "clang-19";
	char path[] = "/tmp/bpfx-host-state-XXXXXX", cmd[1024];
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "%s -O2 -g -target bpf -mcpu=v4 -Iinclude -I" BPF_SYS_INCLUDE " "
		 "-c tests/unit/bpf/host_state.bpf.c -o %s",
		 clang, path);
	if (system(cmd)) {
		unlink(path);
		return -1;
	}
	obj = bpfx_object__open_file(path, NULL);
	unlink(path);
	if (!obj)
		return -1;
	thrower = bpfx_object__find_program_by_name(obj, "thrower");
	thrower_cb = bpfx_object__find_program_by_name(obj, "thrower_cb");
	if (!thrower || !thrower_cb || bpfx_object__load(obj))
		return -1;
	return 0;
}

static void host_state_balanced(void)
{
	atomic_store(&runs, 0);
	atomic_store(&throws, 0);
	atomic_store(&wrong, 0);
	CHECK(open_object() == 0);
	if (!obj)
		return;
	bpfx_set_log(on_log, NULL);

	pthread_t threads[THREADS];
	for (long i = 0; i < THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, worker, (void *)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);

	CHECK_EQ(atomic_load(&wrong), 0);
	CHECK_EQ(atomic_load(&prog_active), 0);
	CHECK(pthread_rwlock_trywrlock(&host_lock) == 0);
	pthread_rwlock_unlock(&host_lock);
	/* outer runs: THREADS*ITERS*8*2; nested: one per printing repeat */
	long outer = (long)THREADS * ITERS * 8 * 2;
	long nested = (long)THREADS * ITERS * 8 * 4;
	CHECK_EQ(atomic_load(&runs), outer + nested);
	CHECK(atomic_load(&throws) > 1000000);
	printf("host state (%s): %ld runs, %ld throws, balanced\n",
	       bpfx_engine_name(engine), atomic_load(&runs),
	       atomic_load(&throws));
	bpfx_set_log(NULL, NULL);
	bpfx_object__close(obj);
}

static void test_host_state_balanced(void)
{
	static const char *const names[] = { "interp", "jit" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int e = bpfx_engine_by_name(names[i]);
		if (e < 0)
			continue;
		engine = (enum bpfx_engine)e;
		host_state_balanced();
	}
}

TEST_MAIN(TEST(test_host_state_balanced))

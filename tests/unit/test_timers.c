/*
 * bpf_timer at run time: timers fire on the timer thread, on the engine
 * that set them, with the kernel's arguments; they are cancelled with
 * their element (delete, update, eviction) and with their object; the
 * host waits for them with bpfx_object__wait_timers(). Every test runs on
 * the interpreter and on the JIT. Under ASan (make check-asan) the
 * closes with armed and running timers, and four threads racing timers
 * against deletes, updates and cancels, are also checked for leaks and
 * use after free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfx/bpfx.h"
#include "test.h"

#ifndef BPF_SYS_INCLUDE /* set by the Makefile */
#define BPF_SYS_INCLUDE "/usr/include/x86_64-linux-gnu"
#endif

#define EBUSY_ 16
#define EINVAL_ 22
#define EDEADLK_ 35
#define F_TIMER_ABS 1
#define F_TIMER_CPU_PIN 2

struct val {
	unsigned long long fired, key_seen, armed_ns, fired_ns;
	long long cancel_self;
	unsigned long long cpu, rearm, lookup_ok;
	unsigned long long timer[2];
};

struct cmd {
	unsigned long long key, nsecs, flags, rearm, del_self, clock;
};

static char obj_path[64];
static enum bpfx_engine engine;

static int build_object(void)
{
	const char *clang = getenv("CLANG_BPF") ? getenv("CLANG_BPF") : "clang-19";
	char cmd[1024];
	int fd;

	snprintf(obj_path, sizeof(obj_path), "/tmp/bpfx-timers-XXXXXX");
	fd = mkstemp(obj_path);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "%s -O2 -g -target bpf -mcpu=v4 -Iinclude -I" BPF_SYS_INCLUDE " "
		 "-c tests/unit/bpf/timers.bpf.c -o %s",
		 clang, obj_path);
	return system(cmd) ? -1 : 0;
}

static struct bpfx_object *open_loaded(void)
{
	struct bpfx_object *obj = bpfx_object__open_file(obj_path, NULL);

	if (!obj)
		return NULL;
	if (bpfx_object__load(obj)) {
		bpfx_object__close(obj);
		return NULL;
	}
	return obj;
}

static long run_cmd(struct bpfx_object *obj, const char *prog_name,
		    struct cmd c, unsigned int cpu)
{
	struct bpfx_program *prog =
		bpfx_object__find_program_by_name(obj, prog_name);
	BPFX_OPTS(bpfx_test_run_opts, opts, .ctx_in = &c,
		  .ctx_size_in = sizeof(c), .engine = engine);
	int err;

	if (cpu) {
		opts.flags = BPF_F_TEST_RUN_ON_CPU;
		opts.cpu = cpu;
	}
	if (!prog)
		return -1000;
	err = bpfx_program__test_run(prog, &opts);
	return err ? err : (long)(int)opts.retval;
}

static struct val array_val(struct bpfx_object *obj, unsigned int key)
{
	struct val v = { 0 };
	struct bpfx_map *map = bpfx_object__find_map_by_name(obj, "arr");

	CHECK(map && !bpfx_map__lookup_elem(map, &key, sizeof(key), &v,
					    sizeof(v), 0));
	return v;
}

static struct val hash_val(struct bpfx_object *obj, unsigned long long key,
			   int *err)
{
	struct val v = { 0 };
	struct bpfx_map *map = bpfx_object__find_map_by_name(obj, "hash");

	*err = bpfx_map__lookup_elem(map, &key, sizeof(key), &v, sizeof(v), 0);
	return v;
}

static unsigned long long total_fired(struct bpfx_object *obj)
{
	struct bpfx_map *bss = bpfx_object__find_map_by_name(obj, ".bss");
	unsigned long long n = 0;
	unsigned int zero = 0;

	if (bss)
		bpfx_map__lookup_elem(bss, &zero, sizeof(zero), &n, sizeof(n), 0);
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* An array timer fires once, after its time, with map, key and value. */
static void fires_once(void)
{
	struct bpfx_object *obj = open_loaded();
	struct val v;

	CHECK(obj);
	if (!obj)
		return;
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 2,
			 .nsecs = 2000000, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 5000), 0);
	v = array_val(obj, 2);
	CHECK_EQ(v.fired, 1);
	CHECK_EQ(v.key_seen, 2);
	CHECK_EQ(v.lookup_ok, 1);
	CHECK(v.fired_ns >= v.armed_ns + 2000000);
	CHECK_EQ(v.cancel_self, -EDEADLK_);
	CHECK_EQ(v.timer[0] | v.timer[1], 0); /* reads as zeros */
	CHECK_EQ(total_fired(obj), 1);
	/* a second init of the live timer */
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 2,
			 .nsecs = 0, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 5000), 0);
	CHECK_EQ(array_val(obj, 2).fired, 2);
	bpfx_object__close(obj);
}

/* A callback that re-arms its timer runs again; absolute times and
 * other clocks work; a hash callback gets its key. */
static void rearm_abs_hash(void)
{
	struct bpfx_object *obj = open_loaded();
	struct timespec now, mono;
	struct val v;
	int err;

	CHECK(obj);
	if (!obj)
		return;
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 0,
			 .nsecs = 1000, .rearm = 4, .clock = 7 }, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &now);
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 1,
			 .nsecs = (unsigned long long)now.tv_sec * 1000000000ULL +
				  (unsigned long long)now.tv_nsec + 3000000,
			 .flags = F_TIMER_ABS, .clock = 0 }, 0), 0);
	CHECK_EQ(run_cmd(obj, "arm_hash", (struct cmd){ .key = 0x1122334455ULL,
			 .nsecs = 1000, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 5000), 0);
	CHECK_EQ(array_val(obj, 0).fired, 5);
	v = array_val(obj, 1);
	CHECK_EQ(v.fired, 1);
	/* not before 3 ms after the realtime clock was read */
	CHECK(v.fired_ns >= (unsigned long long)mono.tv_sec * 1000000000ULL +
				   (unsigned long long)mono.tv_nsec + 3000000);
	v = hash_val(obj, 0x1122334455ULL, &err);
	CHECK_EQ(err, 0);
	CHECK_EQ(v.fired, 1);
	CHECK_EQ(v.key_seen, 0x1122334455ULL);
	CHECK_EQ(v.lookup_ok, 1);
	/* a callback deleting its own element */
	CHECK_EQ(run_cmd(obj, "arm_hash", (struct cmd){ .key = 100,
			 .nsecs = 1000, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 5000), 0);
	hash_val(obj, 100, &err);
	CHECK_EQ(err, -2);
	CHECK_EQ(total_fired(obj), 8);
	bpfx_object__close(obj);
}

/* bpf_timer_cancel: 1 when armed, then 0; the callback is dropped, so a
 * start without a new set_callback fails, as in the kernel. Deleting or
 * updating an element cancels its timer. */
static void cancel_delete_update(void)
{
	struct bpfx_object *obj = open_loaded();
	struct bpfx_map *arr, *hash;
	unsigned long long hkey = 7;
	unsigned int akey = 3;
	struct val zero = { 0 };

	CHECK(obj);
	if (!obj)
		return;
	arr = bpfx_object__find_map_by_name(obj, "arr");
	hash = bpfx_object__find_map_by_name(obj, "hash");
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 3,
			 .nsecs = 1000000000, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 0), -ETIMEDOUT);
	CHECK_EQ(run_cmd(obj, "cancel_array", (struct cmd){ .key = 3 }, 0), 1);
	CHECK_EQ(run_cmd(obj, "cancel_array", (struct cmd){ .key = 3 }, 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 0), 0);
	CHECK_EQ(run_cmd(obj, "cancel_array", (struct cmd){ .key = 0 }, 0),
		 -EINVAL_);
	/* armed again, then the element is overwritten from user space */
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 3,
			 .nsecs = 2000000000, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_map__update_elem(arr, &akey, sizeof(akey), &zero,
				       sizeof(zero), 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 0), 0);
	CHECK_EQ(run_cmd(obj, "cancel_array", (struct cmd){ .key = 3 }, 0),
		 -EINVAL_);
	/* a hash element deleted with its timer armed */
	CHECK_EQ(run_cmd(obj, "arm_hash", (struct cmd){ .key = hkey,
			 .nsecs = 2000000000, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_map__delete_elem(hash, &hkey, sizeof(hkey), 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 0), 0);
	sleep_ms(40);
	CHECK_EQ(total_fired(obj), 0);
	/* a new element at the same place has no timer */
	CHECK_EQ(bpfx_map__update_elem(hash, &hkey, sizeof(hkey), &zero,
				       sizeof(zero), BPF_NOEXIST), 0);
	CHECK_EQ(run_cmd(obj, "arm_hash", (struct cmd){ .key = hkey,
			 .nsecs = 1000, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 5000), 0);
	CHECK_EQ(total_fired(obj), 1);
	bpfx_object__close(obj);
}

/* Pinned to the CPU of the run that started it; set from a tail call. */
static void pinned_and_tail_call(void)
{
	struct bpfx_object *obj = open_loaded();
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	unsigned int cpu = ncpu > 1 ? 1 : 0;

	CHECK(obj);
	if (!obj)
		return;
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 1,
			 .nsecs = 1000, .flags = F_TIMER_CPU_PIN, .clock = 1 },
			 cpu), 0);
	CHECK_EQ(run_cmd(obj, "via_tail_call", (struct cmd){ .key = 2,
			 .nsecs = 1000, .clock = 1 }, 0), 0);
	CHECK_EQ(bpfx_object__wait_timers(obj, 5000), 0);
	CHECK_EQ(array_val(obj, 1).cpu, cpu);
	CHECK_EQ(array_val(obj, 2).fired, 1);
	bpfx_object__close(obj);
}

/* A timer that re-arms for ever keeps the object busy; closing the
 * object with it and others armed cancels them all. */
static void busy_and_close(void)
{
	struct bpfx_object *obj = open_loaded();

	CHECK(obj);
	if (!obj)
		return;
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 0,
			 .nsecs = 1000, .rearm = ~0ULL, .clock = 1 }, 0), 0);
	CHECK_EQ(run_cmd(obj, "arm_array", (struct cmd){ .key = 1,
			 .nsecs = 3600000000000ULL, .clock = 1 }, 0), 0);
	for (unsigned long long k = 0; k < 4; k++)
		CHECK_EQ(run_cmd(obj, "arm_hash", (struct cmd){ .key = k,
				 .nsecs = k * 1000, .rearm = 3, .clock = 1 },
				 0), 0);
	/* the re-arming timer keeps firing: a few callbacks, however
	 * loaded the machine (up to 10 s), and armed timers remain */
	for (int i = 0; i < 1000 && total_fired(obj) <= 2; i++)
		sleep_ms(10);
	CHECK(total_fired(obj) > 2);
	CHECK_EQ(bpfx_object__wait_timers(obj, 20), -ETIMEDOUT);
	bpfx_object__close(obj);
	/* nothing of it is left to fire */
	CHECK_EQ(bpfx_object__wait_timers(NULL, 5000), 0);
}

/* Threads arm, cancel, delete and overwrite elements while callbacks
 * run, then the object is closed with timers armed and running: under
 * ASan, no use after free and no leak. */
static struct bpfx_object *stress_obj;

static void *stress_worker(void *arg)
{
	unsigned int seed = (unsigned int)(long)arg;
	struct bpfx_map *hash = bpfx_object__find_map_by_name(stress_obj, "hash");
	struct bpfx_map *arr = bpfx_object__find_map_by_name(stress_obj, "arr");
	static const char *const progs[] = { "arm_hash", "arm_array",
					     "cancel_array" };
	struct val zero = { 0 };

	for (int i = 0; i < 4000; i++) {
		struct cmd c = { .key = rand_r(&seed) % 4,
				 .nsecs = rand_r(&seed) % 20000,
				 .rearm = rand_r(&seed) % 3, .clock = 1 };
		unsigned long long hkey = c.key;
		unsigned int akey = (unsigned int)c.key;
		int op = rand_r(&seed) % 5;

		if (op < 3)
			run_cmd(stress_obj, progs[op], c, 0);
		else if (op == 3)
			bpfx_map__delete_elem(hash, &hkey, sizeof(hkey), 0);
		else
			bpfx_map__update_elem(arr, &akey, sizeof(akey), &zero,
					      sizeof(zero), 0);
	}
	return NULL;
}

static void concurrent_close(void)
{
	pthread_t threads[4];

	stress_obj = open_loaded();
	CHECK(stress_obj);
	if (!stress_obj)
		return;
	for (long i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&threads[i], NULL, stress_worker,
					(void *)(i + 1)), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	CHECK(total_fired(stress_obj) > 0);
	bpfx_object__close(stress_obj);
	CHECK_EQ(bpfx_object__wait_timers(NULL, 5000), 0);
}

static void on_each_engine(void (*fn)(void))
{
	engine = BPFX_ENGINE_INTERP;
	fn();
	engine = BPFX_ENGINE_JIT;
	fn();
}

static void test_fires_once(void) { on_each_engine(fires_once); }
static void test_rearm_abs_hash(void) { on_each_engine(rearm_abs_hash); }
static void test_cancel_delete_update(void)
{
	on_each_engine(cancel_delete_update);
}
static void test_pinned_and_tail_call(void)
{
	on_each_engine(pinned_and_tail_call);
}
static void test_busy_and_close(void) { on_each_engine(busy_and_close); }
static void test_concurrent_close(void) { on_each_engine(concurrent_close); }

int main(void)
{
	static const struct test_case tests[] = {
		TEST(test_fires_once), TEST(test_rearm_abs_hash),
		TEST(test_cancel_delete_update),
		TEST(test_pinned_and_tail_call), TEST(test_busy_and_close),
		TEST(test_concurrent_close),
	};
	int ret;

	if (build_object()) {
		fprintf(stderr, "test_timers: cannot compile tests/unit/bpf/timers.bpf.c\n");
		return 1;
	}
	ret = test_run_all(tests, sizeof(tests) / sizeof(tests[0]));
	unlink(obj_path);
	return ret;
}

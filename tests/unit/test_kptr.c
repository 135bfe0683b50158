/*
 * Referenced kptrs own their objects: what a map value holds is freed when
 * the element is overwritten or deleted (by a program or by user space)
 * and when the map goes with its object. The sanitizers cannot see such a
 * leak (the object registry still points at the objects), so this test
 * counts the live objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bpfx/bpfx.h"
#include "internal.h"
#include "test.h"

#ifndef BPF_SYS_INCLUDE
#define BPF_SYS_INCLUDE "/usr/include/x86_64-linux-gnu"
#endif

struct map_value {
	long long tag;
	unsigned long long node, plain; /* kptrs */
};

static char obj_path[64];
static enum bpfx_engine engine;

static int build_object(void)
{
	const char *clang = getenv("CLANG_BPF") ? getenv("CLANG_BPF") : "clang-19";
	char cmd[1024];
	int fd;

	snprintf(obj_path, sizeof(obj_path), "/tmp/bpfx-kptr-XXXXXX");
	fd = mkstemp(obj_path);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "%s -O2 -g -target bpf -mcpu=v4 -Iinclude -I" BPF_SYS_INCLUDE " "
		 "-c tests/progs/kptr.bpf.c -o %s",
		 clang, obj_path);
	return system(cmd) ? -1 : 0;
}

static struct bpfx_object *open_loaded(void)
{
	struct bpfx_object *obj = bpfx_object__open_file(obj_path, NULL);

	if (obj && bpfx_object__load(obj)) {
		bpfx_object__close(obj);
		return NULL;
	}
	return obj;
}

static long run(struct bpfx_object *obj, const char *name)
{
	struct bpfx_program *prog = bpfx_object__find_program_by_name(obj, name);
	unsigned char pkt[64] = { 0 };
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = pkt,
		  .data_size_in = sizeof(pkt), .engine = engine);
	int err;

	if (!prog)
		return -1000;
	err = bpfx_program__test_run(prog, &opts);
	return err ? err : (long)(int)opts.retval;
}

/* Objects left in an array, a hash and global data go with the object. */
static void freed_with_maps(void)
{
	struct bpfx_object *obj = open_loaded();

	CHECK(obj);
	if (!obj)
		return;
	CHECK_EQ(objects_live(), 0);
	CHECK_EQ(run(obj, "stash_rb_nodes"), 0);
	CHECK_EQ(objects_live(), 2);
	CHECK_EQ(run(obj, "hash_stash"), 7); /* leaves one in the hash */
	CHECK_EQ(objects_live(), 3);
	CHECK_EQ(run(obj, "global_kptr"), 5);
	CHECK_EQ(objects_live(), 4);
	CHECK_EQ(run(obj, "object_kptr"), 6); /* holder and all dropped */
	CHECK_EQ(objects_live(), 4);
	/* a stashed object with a node in its own tree */
	CHECK_EQ(run(obj, "stash_local_with_root"), 0);
	CHECK_EQ(objects_live(), 6);
	/* one more reference to a stashed object, dropped in the run */
	CHECK_EQ(run(obj, "refcount_acquire_stashed"), 42);
	CHECK_EQ(objects_live(), 7);
	bpfx_object__close(obj);
	CHECK_EQ(objects_live(), 0);
}

/* User space: an update of the element or a delete drops its object, and
 * a lookup shows the kptr as NULL. */
static void freed_by_user_updates(void)
{
	struct bpfx_object *obj = open_loaded();
	struct bpfx_map *arr, *hash;
	struct map_value v = { .tag = 9, .node = 0x1234, .plain = 0x5678 };
	unsigned int k1 = 1, k2 = 2;

	CHECK(obj);
	if (!obj)
		return;
	arr = bpfx_object__find_map_by_name(obj, "some_nodes");
	hash = bpfx_object__find_map_by_name(obj, "hash_nodes");
	CHECK(arr && hash);
	if (!arr || !hash) {
		bpfx_object__close(obj);
		return;
	}
	CHECK_EQ(run(obj, "stash_rb_nodes"), 0);
	CHECK_EQ(objects_live(), 2);
	CHECK_EQ(bpfx_map__lookup_elem(arr, &k1, sizeof(k1), &v, sizeof(v), 0), 0);
	CHECK_EQ(v.node, 0);
	/* the bytes user space gives for a kptr are not taken */
	v.tag = 9;
	v.node = 0x1234;
	CHECK_EQ(bpfx_map__update_elem(arr, &k1, sizeof(k1), &v, sizeof(v), 0), 0);
	CHECK_EQ(objects_live(), 1);
	CHECK_EQ(bpfx_map__lookup_elem(arr, &k1, sizeof(k1), &v, sizeof(v), 0), 0);
	CHECK_EQ(v.tag, 9);
	CHECK_EQ(v.node, 0);
	CHECK_EQ(run(obj, "hash_stash"), 7);
	CHECK_EQ(objects_live(), 2);
	CHECK_EQ(bpfx_map__delete_elem(hash, &k2, sizeof(k2), 0), 0);
	CHECK_EQ(objects_live(), 1);
	bpfx_object__close(obj);
	CHECK_EQ(objects_live(), 0);
}

/* An LRU hash drops the objects of the elements it evicts. */
static void freed_by_eviction(void)
{
	struct bpfx_object *obj = open_loaded();

	CHECK(obj);
	if (!obj)
		return;
	CHECK_EQ(run(obj, "lru_stash"), 0);
	CHECK(objects_live() >= 1 && objects_live() <= 4); /* 4 entries */
	bpfx_object__close(obj);
	CHECK_EQ(objects_live(), 0);
}

static void on_each_engine(void (*fn)(void))
{
	engine = BPFX_ENGINE_INTERP;
	fn();
	engine = BPFX_ENGINE_JIT;
	fn();
}

static void test_freed_with_maps(void) { on_each_engine(freed_with_maps); }
static void test_freed_by_eviction(void) { on_each_engine(freed_by_eviction); }
static void test_freed_by_user_updates(void)
{
	on_each_engine(freed_by_user_updates);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST(test_freed_with_maps), TEST(test_freed_by_user_updates),
		TEST(test_freed_by_eviction),
	};
	int ret;

	if (build_object()) {
		fprintf(stderr, "test_kptr: cannot compile tests/progs/kptr.bpf.c\n");
		return 1;
	}
	ret = test_run_all(tests, sizeof(tests) / sizeof(tests[0]));
	unlink(obj_path);
	return ret;
}

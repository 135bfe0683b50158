/*
 * Unit tests of the maps (src/runtime/maps.c, map_array.c, map_hash.c,
 * ringbuf.c) and handles (fd.c): each map type's semantics and error codes
 * against the kernel's, the per-CPU value layout, LRU eviction, the ring
 * buffer's record protocol, the registry that run_mem() relies on, and a
 * bounded multi-thread stress of the hash maps.
 *
 * Maps are built by hand as the loader would: a zeroed struct bpfx_map
 * with name, type, sizes and max_entries, then map_create().
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "test.h"


#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

BPFX_HIDDEN struct bpfx_program *prog_array_get(struct bpfx_map *map,
						u32 index);

/* The library's messages: kept, not printed, so tests can check them. */
static char last_log[512];

static void capture_log(enum bpfx_log_level level, const char *msg,
			void *user)
{
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

__attribute__((constructor)) static void quiet_log(void)
{
	bpfx_set_log(capture_log, NULL);
}

static void map_init(struct bpfx_map *map, u32 type, u32 key_size,
		     u32 value_size, u32 max_entries, u32 flags)
{
	memset(map, 0, sizeof(*map));
	map->name = "test";
	map->type = type;
	map->key_size = key_size;
	map->value_size = value_size;
	map->max_entries = max_entries;
	map->map_flags = flags;
	map->nr_cpus = 4;
}

static int try_create(u32 type, u32 key_size, u32 value_size,
		      u32 max_entries, u32 flags)
{
	struct bpfx_map map;
	int err;

	map_init(&map, type, key_size, value_size, max_entries, flags);
	err = map_create(&map);
	if (!err)
		map_destroy(&map);
	return err;
}

static bool in_region(struct bpfx_map *map, const void *p, size_t size)
{
	return map_region_find((u64)(uintptr_t)p, size) == map;
}

/* ---- handles ---- */

static void test_fd(void)
{
	int a_obj, b_obj, c_obj;
	int a, b, c, d;

	a = fd_alloc(FD_MAP, &a_obj);
	b = fd_alloc(FD_PROG, &b_obj);
	CHECK(a >= 3);
	CHECK(b >= 3 && b != a);
	CHECK(fd_lookup(a, FD_MAP) == &a_obj);
	CHECK(fd_lookup(a, FD_PROG) == NULL);
	CHECK(fd_lookup(b, FD_PROG) == &b_obj);
	CHECK(fd_lookup(0, FD_MAP) == NULL);
	CHECK(fd_lookup(-1, FD_MAP) == NULL);
	CHECK(fd_lookup(1 << 30, FD_MAP) == NULL);
	CHECK_EQ(fd_alloc(FD_MAP, NULL), -EINVAL);
	CHECK_EQ(fd_alloc(FD_MAP, (char *)&a_obj + 1), -EINVAL);

	fd_free(a);
	CHECK(fd_lookup(a, FD_MAP) == NULL);
	c = fd_alloc(FD_MAP, &c_obj);
	/* the lowest free slot is reused, under a new generation: the stale
	 * handle names nothing */
	CHECK_EQ(c & ((1 << 20) - 1), a);
	CHECK(c != a);
	CHECK(fd_lookup(a, FD_MAP) == NULL);
	CHECK(fd_lookup(c, FD_MAP) == &c_obj);
	d = fd_alloc(FD_MAP, &c_obj);
	CHECK(d != a && d != b);
	fd_free(b);
	fd_free(c);
	fd_free(d);
	fd_free(d); /* double free is harmless */
	fd_free(12345678);
}

/* ---- creation errors, shared for all types ---- */

static void test_create_errors(void)
{
	/* array */
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0), 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 8, 8, 4, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 0, 4, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 8, 0, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 1u << 20), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_NO_PREALLOC),
		 -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4,
			    BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG),
		 -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_PRESERVE_ELEMS),
		 -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4,
			    BPF_F_MMAPABLE | BPF_F_RDONLY_PROG),
		 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY, 4, 5u << 20, 1, 0), -E2BIG);
	/* percpu array */
	CHECK_EQ(try_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0), 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, BPF_F_MMAPABLE),
		 -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4,
			    BPF_F_INNER_MAP),
		 -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32769, 4, 0), -E2BIG);
	/* hash family */
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0), 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 0, 8, 4, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 4, 0, 4, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 4, 8, 0, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 513, 8, 4, 0), -E2BIG);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 512, 8, 4, 0), 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_MMAPABLE),
		 -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU),
		 -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 4, 8, 4,
			    BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED),
		 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH, 4, 5u << 20, 4, 0), -E2BIG);
	CHECK_EQ(try_create(BPF_MAP_TYPE_PERCPU_HASH, 4, 32769, 4, 0), -E2BIG);
	CHECK_EQ(try_create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, BPF_F_NO_PREALLOC),
		 -ENOTSUPP);
	CHECK_EQ(try_create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4,
			    BPF_F_NO_COMMON_LRU),
		 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 4, 0), 0);
	/* fd maps */
	CHECK_EQ(try_create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0), 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4,
			    BPF_F_RDONLY_PROG),
		 -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 8, 4, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 8, 4, 0), -EINVAL);
	/* ring buffer */
	CHECK_EQ(try_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0), 0);
	CHECK_EQ(try_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 3 * 4096, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 1024, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_RINGBUF, 4, 0, 4096, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_RINGBUF, 0, 4, 4096, 0), -EINVAL);
	CHECK_EQ(try_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_MMAPABLE),
		 -EINVAL);
	/* types */
	CHECK(strstr(last_log, "maps: map test: cannot create ringbuf map"));
	CHECK_EQ(try_create(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, 0), -EOPNOTSUPP);
	CHECK(strstr(last_log, "lpm_trie"));
	CHECK_EQ(try_create(BPF_MAP_TYPE_UNSPEC, 4, 8, 4, 0), -EINVAL);
	CHECK_EQ(try_create(1000, 4, 8, 4, 0), -EINVAL);
	CHECK_EQ(map_create(NULL), -EINVAL);
}

static void test_type_names(void)
{
	CHECK(!strcmp(map_type_name(BPF_MAP_TYPE_HASH), "hash"));
	CHECK(!strcmp(map_type_name(BPF_MAP_TYPE_ARRAY), "array"));
	CHECK(!strcmp(map_type_name(BPF_MAP_TYPE_PERCPU_ARRAY), "percpu_array"));
	CHECK(!strcmp(map_type_name(BPF_MAP_TYPE_LRU_PERCPU_HASH),
		      "lru_percpu_hash"));
	CHECK(!strcmp(map_type_name(BPF_MAP_TYPE_PROG_ARRAY), "prog_array"));
	CHECK(!strcmp(map_type_name(BPF_MAP_TYPE_HASH_OF_MAPS), "hash_of_maps"));
	CHECK(!strcmp(map_type_name(BPF_MAP_TYPE_RINGBUF), "ringbuf"));
	CHECK(!strcmp(map_type_name(9999), "unknown"));
}

/* ---- arrays ---- */

static void test_array(void)
{
	struct bpfx_map map;
	u32 key, next;
	u64 val, out;
	u8 *p;

	map_init(&map, BPF_MAP_TYPE_ARRAY, 4, 5, 10, 0);
	CHECK_EQ(map_create(&map), 0);
	CHECK(map.fd >= 3);
	CHECK(map_by_fd(map.fd) == &map);
	CHECK(map_is_live(&map));
	CHECK(!map_is_live((char *)&map + 8));
	CHECK(!map_is_live(NULL));
	CHECK_EQ(map.mem_size, 10 * 8);
	CHECK_EQ(map_create(&map), -EBUSY);

	/* getters */
	CHECK(!strcmp(bpfx_map__name(&map), "test"));
	CHECK_EQ(bpfx_map__type(&map), BPF_MAP_TYPE_ARRAY);
	CHECK(!strcmp(bpfx_map__type_name(&map), "array"));
	CHECK_EQ(bpfx_map__key_size(&map), 4);
	CHECK_EQ(bpfx_map__value_size(&map), 5);
	CHECK_EQ(bpfx_map__max_entries(&map), 10);
	CHECK_EQ(bpfx_map__fd(&map), map.fd);
	CHECK_EQ(bpfx_map__nr_cpus(&map), 4);
	CHECK_EQ(bpfx_map__fd(NULL), -EINVAL);

	/* user side */
	key = 3;
	val = 0x1122334455ull;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 5, BPF_ANY), 0);
	out = 0;
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 5, 0), 0);
	CHECK_EQ(out, 0x1122334455ull);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 5, BPF_EXIST), 0);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 5, BPF_NOEXIST),
		 -EEXIST);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 5, 3), -EINVAL);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 5, BPF_F_LOCK),
		 -EINVAL);
	key = 10;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 5, BPF_ANY), -E2BIG);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 5, 0), -ENOENT);
	key = 3;
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 0), -EINVAL);
	/* size checks */
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 8, &out, 5, 0), -EINVAL);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 8, 0), -EINVAL);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 5, BPF_F_LOCK),
		 -EINVAL);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 4, 0), -EINVAL);
	CHECK_EQ(bpfx_map__lookup_elem(NULL, &key, 4, &out, 5, 0), -EINVAL);
	CHECK_EQ(bpfx_map__update_elem(NULL, &key, 4, &val, 5, 0), -EINVAL);
	CHECK_EQ(bpfx_map__delete_elem(NULL, &key, 4, 0), -EINVAL);
	CHECK_EQ(bpfx_map__get_next_key(NULL, NULL, &next, 4), -EINVAL);

	/* program side: element i at mem + i * round_up(value_size, 8) */
	for (u32 i = 0; i < 10; i++) {
		key = i;
		p = map.ops->lookup(&map, &key, 0);
		CHECK(p == map.mem + i * 8);
	}
	key = 10;
	CHECK(map.ops->lookup(&map, &key, 0) == NULL);
	key = 3;
	p = map.ops->lookup(&map, &key, 2);
	CHECK(!memcmp(p, &val, 5));
	val = 7;
	CHECK_EQ(map.ops->update(&map, &key, &val, BPF_ANY, 1), 0);
	CHECK_EQ(p[0], 7);
	CHECK_EQ(map.ops->update(&map, &key, &val, BPF_NOEXIST, 1), -EEXIST);

	/* region registry */
	CHECK(in_region(&map, map.mem, 80));
	CHECK(in_region(&map, map.mem + 72, 8));
	CHECK(!in_region(&map, map.mem + 72, 9));
	CHECK(!in_region(&map, map.mem + 80, 1));
	CHECK(map_region_find((u64)(uintptr_t)map.mem - 1, 1) != &map);

	/* get_next_key */
	CHECK_EQ(bpfx_map__get_next_key(&map, NULL, &next, 4), 0);
	CHECK_EQ(next, 0);
	key = 4;
	CHECK_EQ(bpfx_map__get_next_key(&map, &key, &next, 4), 0);
	CHECK_EQ(next, 5);
	key = 9;
	CHECK_EQ(bpfx_map__get_next_key(&map, &key, &next, 4), -ENOENT);
	key = 100;
	CHECK_EQ(bpfx_map__get_next_key(&map, &key, &next, 4), 0);
	CHECK_EQ(next, 0);

	int fd = map.fd;
	u8 *mem = map.mem;
	map_destroy(&map);
	CHECK(!map_is_live(&map));
	CHECK(map_by_fd(fd) == NULL);
	CHECK(map_region_find((u64)(uintptr_t)mem, 1) == NULL);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 5, 0), -EBADF);
	map_destroy(&map); /* idempotent */
}

static void test_global_data(void)
{
	struct bpfx_map map;
	char init[13] = "hello, world";
	char out[13];
	u32 key = 0;

	map_init(&map, BPF_MAP_TYPE_ARRAY, 4, sizeof(init), 1,
		 BPF_F_RDONLY_PROG);
	map.is_global_data = true;
	map.init_data = init;
	CHECK_EQ(map_create(&map), 0);
	CHECK(map.rdonly_prog);
	CHECK(!memcmp(map.mem, init, sizeof(init)));
	CHECK(map_region_find((u64)(uintptr_t)map.mem + 7, 6) == &map);
	CHECK_EQ(map.ops->update(&map, &key, "xxxxxxxxxxxxx", 0, 0), -EPERM);
	/* the user may still write a .rodata-like map unless BPF_F_RDONLY */
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, "HELLO, WORLD", 13, 0), 0);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 13, 0), 0);
	CHECK(!strcmp(out, "HELLO, WORLD"));
	map_destroy(&map);

	map_init(&map, BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_RDONLY);
	CHECK_EQ(map_create(&map), 0);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, "12345678", 8, 0), -EPERM);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 8, 0), 0);
	map_destroy(&map);

	map_init(&map, BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_WRONLY);
	CHECK_EQ(map_create(&map), 0);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 8, 0), -EPERM);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, "12345678", 8, 0), 0);
	map_destroy(&map);
}

static void test_percpu_array(void)
{
	struct bpfx_map map;
	u8 buf[4 * 16], out[4 * 16];
	u32 key = 2;
	u8 *p[4];

	map_init(&map, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 3, 0);
	CHECK_EQ(map_create(&map), 0);
	CHECK_EQ(bpfx_map__nr_cpus(&map), 4);
	/* user values are round_up(12, 8) = 16 bytes per CPU */
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 12, 0), -EINVAL);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 48, 0), -EINVAL);
	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (u8)i;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, buf, 64, BPF_ANY), 0);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, buf, 64, BPF_NOEXIST),
		 -EEXIST);
	for (int cpu = 0; cpu < 4; cpu++) {
		p[cpu] = map.ops->lookup(&map, &key, cpu);
		CHECK(p[cpu] && !memcmp(p[cpu], buf + cpu * 16, 12));
		CHECK(in_region(&map, p[cpu], 16));
	}
	/* each CPU's slot is distinct and cache-line apart */
	CHECK(p[1] - p[0] >= 64);
	/* a CPU number beyond nr_cpus wraps */
	CHECK(map.ops->lookup(&map, &key, 5) == p[1]);
	/* a program's update touches its own CPU only */
	CHECK_EQ(map.ops->update(&map, &key, "ABCDEFGHIJKL", BPF_ANY, 2), 0);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 64, 0), 0);
	CHECK(!memcmp(out, buf, 32));
	CHECK(!memcmp(out + 32, "ABCDEFGHIJKL", 12));
	CHECK(!memcmp(out + 48, buf + 48, 16));
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 0), -EINVAL);
	map_destroy(&map);

	/* nr_cpus 0 means the runtime's count */
	map_init(&map, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1, 0);
	map.nr_cpus = 0;
	CHECK_EQ(map_create(&map), 0);
	CHECK(map.nr_cpus >= 1);
	CHECK_EQ(map.nr_cpus, MIN(runtime_nr_cpus(), BPFX_MAX_NR_CPUS));
	map_destroy(&map);
}

/* ---- hash maps ---- */

static int count_keys(struct bpfx_map *map, u32 *seen, u32 seen_max)
{
	u32 key, next;
	int n = 0, err;
	const void *cur = NULL;

	while ((err = bpfx_map__get_next_key(map, cur, &next, 4)) == 0) {
		if (next < seen_max)
			seen[next]++;
		key = next;
		cur = &key;
		if (++n > 100000)
			break;
	}
	CHECK_EQ(err, -ENOENT);
	return n;
}

static void test_hash(void)
{
	struct bpfx_map map;
	u32 key, next, seen[64] = {0};
	u64 val, out;
	u64 *p, *q;

	map_init(&map, BPF_MAP_TYPE_HASH, 4, 8, 16, 0);
	CHECK_EQ(map_create(&map), 0);
	CHECK(map.mem && map.mem_size >= 16 * 8);
	CHECK_EQ(bpfx_map__get_next_key(&map, NULL, &next, 4), -ENOENT);

	key = 1;
	val = 100;
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 8, 0), -ENOENT);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_EXIST),
		 -ENOENT);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_NOEXIST), 0);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_NOEXIST),
		 -EEXIST);
	val = 101;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_EXIST), 0);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, 4), -EINVAL);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, 7), -EINVAL);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 8, 0), 0);
	CHECK_EQ(out, 101);

	p = map.ops->lookup(&map, &key, 0);
	CHECK(p && *p == 101 && in_region(&map, p, 8));
	*p = 102; /* programs write through the pointer */
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 8, 0), 0);
	CHECK_EQ(out, 102);

	/* fill up: -E2BIG for a new key, updates of existing keys still work */
	for (key = 2; key <= 16; key++) {
		val = key * 10;
		CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_ANY),
			 0);
	}
	key = 17;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_ANY), -E2BIG);
	CHECK_EQ(map.ops->update(&map, &key, &val, BPF_ANY, 0), -E2BIG);
	key = 5;
	val = 55;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_ANY), 0);
	CHECK_EQ(count_keys(&map, seen, 64), 16);
	for (key = 1; key <= 16; key++)
		CHECK_EQ(seen[key], 1);

	/* get_next_key of a missing key restarts from the first */
	key = 99;
	CHECK_EQ(bpfx_map__get_next_key(&map, &key, &next, 4), 0);
	u32 first;
	CHECK_EQ(bpfx_map__get_next_key(&map, NULL, &first, 4), 0);
	CHECK_EQ(next, first);

	/* delete; a deleted element's value pointer stays in the region */
	key = 7;
	q = map.ops->lookup(&map, &key, 0);
	CHECK(q && *q == 70);
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 0), 0);
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 0), -ENOENT);
	CHECK_EQ(map.ops->delete(&map, &key), -ENOENT);
	CHECK(map.ops->lookup(&map, &key, 0) == NULL);
	CHECK(in_region(&map, q, 8));
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 1), -EINVAL);
	/* the freed slot is reused for a new key */
	key = 40;
	val = 4000;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_ANY), 0);
	memset(seen, 0, sizeof(seen));
	CHECK_EQ(count_keys(&map, seen, 64), 16);
	CHECK_EQ(seen[7], 0);
	CHECK_EQ(seen[40], 1);

	/* delete everything through get_next_key */
	while (bpfx_map__get_next_key(&map, NULL, &next, 4) == 0)
		CHECK_EQ(bpfx_map__delete_elem(&map, &next, 4, 0), 0);
	CHECK_EQ(count_keys(&map, seen, 64), 0);
	map_destroy(&map);

	/* long keys (not a multiple of 8), BPF_F_ZERO_SEED */
	map_init(&map, BPF_MAP_TYPE_HASH, 13, 3, 100, BPF_F_ZERO_SEED);
	CHECK_EQ(map_create(&map), 0);
	for (int i = 0; i < 100; i++) {
		u8 k[13] = {0}, v[3] = {(u8)i, 1, 2};

		k[0] = (u8)i;
		k[12] = (u8)(i * 7);
		CHECK_EQ(bpfx_map__update_elem(&map, k, 13, v, 3, BPF_NOEXIST),
			 0);
	}
	for (int i = 0; i < 100; i++) {
		u8 k[13] = {0}, v[3];

		k[0] = (u8)i;
		k[12] = (u8)(i * 7);
		CHECK_EQ(bpfx_map__lookup_elem(&map, k, 13, v, 3, 0), 0);
		CHECK_EQ(v[0], i);
		k[12]++;
		CHECK_EQ(bpfx_map__lookup_elem(&map, k, 13, v, 3, 0), -ENOENT);
	}
	map_destroy(&map);
}

static void test_percpu_hash(void)
{
	struct bpfx_map map;
	u64 vals[4] = {1, 2, 3, 4}, out[4];
	u32 key = 9;
	u64 v = 77, *p;

	map_init(&map, BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 8, 0);
	CHECK_EQ(map_create(&map), 0);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, vals, 8, 0), -EINVAL);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, vals, 32, 0), 0);
	for (int cpu = 0; cpu < 4; cpu++) {
		p = map.ops->lookup(&map, &key, cpu);
		CHECK(p && *p == (u64)cpu + 1 && in_region(&map, p, 8));
	}
	/* a program's insert sets its CPU's value and zeroes the others */
	key = 10;
	CHECK_EQ(map.ops->update(&map, &key, &v, BPF_NOEXIST, 1), 0);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 32, 0), 0);
	CHECK_EQ(out[0], 0);
	CHECK_EQ(out[1], 77);
	CHECK_EQ(out[2], 0);
	CHECK_EQ(out[3], 0);
	/* a program's update of an existing key touches its CPU only */
	key = 9;
	CHECK_EQ(map.ops->update(&map, &key, &v, BPF_EXIST, 3), 0);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 32, 0), 0);
	CHECK_EQ(out[0], 1);
	CHECK_EQ(out[2], 3);
	CHECK_EQ(out[3], 77);
	map_destroy(&map);
}

static bool hash_has(struct bpfx_map *map, u32 key)
{
	u64 out[4];

	return bpfx_map__lookup_elem(map, &key, 4, out,
				     map->type == BPF_MAP_TYPE_LRU_PERCPU_HASH ?
					     32 : 8,
				     0) == 0;
}

static void test_lru(void)
{
	struct bpfx_map map;
	u32 key;
	u64 val = 1;

	map_init(&map, BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, 0);
	CHECK_EQ(map_create(&map), 0);
	for (key = 0; key < 4; key++)
		CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, 0), 0);
	/* a program lookup marks key 0 as used: key 1 goes instead */
	key = 0;
	CHECK(map.ops->lookup(&map, &key, 0) != NULL);
	key = 4;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_NOEXIST), 0);
	CHECK(hash_has(&map, 0));
	CHECK(!hash_has(&map, 1));
	CHECK(hash_has(&map, 2));
	CHECK(hash_has(&map, 3));
	CHECK(hash_has(&map, 4));
	/* without references the oldest insert goes first */
	key = 5;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, 0), 0);
	CHECK(!hash_has(&map, 2));
	/* flags still apply */
	key = 5;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_NOEXIST),
		 -EEXIST);
	key = 50;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, BPF_EXIST),
		 -ENOENT);
	/* delete then insert reuses the free slot, no eviction */
	key = 3;
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 0), 0);
	key = 6;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 8, 0), 0);
	CHECK(hash_has(&map, 0) && hash_has(&map, 4) && hash_has(&map, 5) &&
	      hash_has(&map, 6));
	/* many inserts: always exactly max_entries keys */
	for (key = 100; key < 1000; key++)
		CHECK_EQ(map.ops->update(&map, &key, &val, 0, 0), 0);
	u32 seen[1] = {0};
	CHECK_EQ(count_keys(&map, seen, 0), 4);
	CHECK(hash_has(&map, 999));
	map_destroy(&map);

	map_init(&map, BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 2, 0);
	CHECK_EQ(map_create(&map), 0);
	for (key = 0; key < 3; key++)
		CHECK_EQ(map.ops->update(&map, &key, &val, 0, 2), 0);
	CHECK(!hash_has(&map, 0) && hash_has(&map, 1) && hash_has(&map, 2));
	u64 out[4];
	key = 2;
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, out, 32, 0), 0);
	CHECK(out[0] == 0 && out[1] == 0 && out[2] == 1 && out[3] == 0);
	map_destroy(&map);
}

/* ---- fd maps ---- */

static void test_prog_array(void)
{
	struct bpfx_map map, other;
	struct bpfx_program prog_a, prog_b;
	int fd_a, fd_b;
	u32 key, val, out;

	memset(&prog_a, 0, sizeof(prog_a));
	memset(&prog_b, 0, sizeof(prog_b));
	prog_a.type = prog_b.type = BPF_PROG_TYPE_SCHED_CLS;
	fd_a = fd_alloc(FD_PROG, &prog_a);
	fd_b = fd_alloc(FD_PROG, &prog_b);
	map_init(&map, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
	CHECK_EQ(map_create(&map), 0);
	map_init(&other, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	CHECK_EQ(map_create(&other), 0);
	CHECK(map.mem == NULL && map.mem_size == 0);

	key = 1;
	CHECK(prog_array_get(&map, 1) == NULL);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 4, 0), -ENOENT);
	val = (u32)fd_a;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 4, BPF_NOEXIST),
		 -EINVAL);
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 4, BPF_ANY), 0);
	CHECK(prog_array_get(&map, 1) == &prog_a);
	CHECK(prog_array_get(&map, 0) == NULL);
	CHECK(prog_array_get(&map, 4) == NULL);
	CHECK(prog_array_get(&other, 0) == NULL);
	CHECK(prog_array_get(NULL, 0) == NULL);
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 4, 0), 0);
	CHECK_EQ(out, (u32)fd_a);
	/* the first program decides the array's type, as in the kernel */
	struct bpfx_program prog_xdp;
	memset(&prog_xdp, 0, sizeof(prog_xdp));
	prog_xdp.type = BPF_PROG_TYPE_XDP;
	int fd_xdp = fd_alloc(FD_PROG, &prog_xdp);
	u32 key2 = 2, val_xdp = (u32)fd_xdp;
	CHECK_EQ(bpfx_map__update_elem(&map, &key2, 4, &val_xdp, 4, BPF_ANY),
		 -EINVAL);
	fd_free(fd_xdp);
	/* programs cannot look up or update a prog_array */
	CHECK(map.ops->lookup(&map, &key, 0) == NULL);
	CHECK(map.ops->update(&map, &key, &val, 0, 0) < 0);

	key = 4;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 4, BPF_ANY), -E2BIG);
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 0), -E2BIG);
	key = 2;
	val = (u32)other.fd;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 4, BPF_ANY), -EINVAL);
	val = 1000000;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 4, BPF_ANY), -EBADF);
	val = (u32)fd_b;
	CHECK_EQ(bpfx_map__update_elem(&map, &key, 4, &val, 4, BPF_ANY), 0);
	CHECK(prog_array_get(&map, 2) == &prog_b);

	key = 1;
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 0), 0);
	CHECK_EQ(bpfx_map__delete_elem(&map, &key, 4, 0), -ENOENT);
	CHECK(prog_array_get(&map, 1) == NULL);

	/* a closed program drops out instead of dangling */
	fd_free(fd_b);
	CHECK(prog_array_get(&map, 2) == NULL);
	key = 2;
	CHECK_EQ(bpfx_map__lookup_elem(&map, &key, 4, &out, 4, 0), -ENOENT);

	u32 next;
	CHECK_EQ(bpfx_map__get_next_key(&map, NULL, &next, 4), 0);
	CHECK_EQ(next, 0);
	fd_free(fd_a);
	map_destroy(&map);
	map_destroy(&other);
}

static void test_map_in_map(void)
{
	struct bpfx_map tmpl, outer, houter, inner1, inner2, bad, nested;
	u32 key, val, out;

	map_init(&tmpl, BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	map_init(&inner1, BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	map_init(&inner2, BPF_MAP_TYPE_ARRAY, 4, 8, 8, 0);
	map_init(&bad, BPF_MAP_TYPE_ARRAY, 4, 16, 4, 0);
	CHECK_EQ(map_create(&inner1), 0);
	CHECK_EQ(map_create(&inner2), 0);
	CHECK_EQ(map_create(&bad), 0);

	map_init(&outer, BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, 0);
	outer.inner_map = &tmpl;
	CHECK_EQ(map_create(&outer), 0);
	CHECK(outer.mem == NULL);

	key = 0;
	val = (u32)inner1.fd;
	CHECK_EQ(bpfx_map__update_elem(&outer, &key, 4, &val, 4, BPF_ANY), 0);
	CHECK(outer.ops->lookup(&outer, &key, 0) == &inner1);
	CHECK_EQ(bpfx_map__lookup_elem(&outer, &key, 4, &out, 4, 0), 0);
	CHECK_EQ(out, (u32)inner1.fd);
	key = 1;
	CHECK(outer.ops->lookup(&outer, &key, 0) == NULL);
	/* max_entries differs: refused unless the template has
	 * BPF_F_INNER_MAP */
	val = (u32)inner2.fd;
	CHECK_EQ(bpfx_map__update_elem(&outer, &key, 4, &val, 4, BPF_ANY),
		 -EINVAL);
	val = (u32)bad.fd;
	CHECK_EQ(bpfx_map__update_elem(&outer, &key, 4, &val, 4, BPF_ANY),
		 -EINVAL);
	val = 999999;
	CHECK_EQ(bpfx_map__update_elem(&outer, &key, 4, &val, 4, BPF_ANY),
		 -EBADF);
	val = (u32)outer.fd; /* no nesting */
	CHECK_EQ(bpfx_map__update_elem(&outer, &key, 4, &val, 4, BPF_ANY),
		 -EINVAL);
	key = 2;
	val = (u32)inner1.fd;
	CHECK_EQ(bpfx_map__update_elem(&outer, &key, 4, &val, 4, BPF_ANY),
		 -E2BIG);
	map_destroy(&outer);

	tmpl.map_flags = BPF_F_INNER_MAP;
	map_destroy(&inner2);
	map_init(&inner2, BPF_MAP_TYPE_ARRAY, 4, 8, 8, BPF_F_INNER_MAP);
	CHECK_EQ(map_create(&inner2), 0);
	map_init(&outer, BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, 0);
	outer.inner_map = &tmpl;
	CHECK_EQ(map_create(&outer), 0);
	key = 1;
	val = (u32)inner2.fd;
	CHECK_EQ(bpfx_map__update_elem(&outer, &key, 4, &val, 4, BPF_ANY), 0);
	CHECK(outer.ops->lookup(&outer, &key, 0) == &inner2);
	CHECK_EQ(bpfx_map__delete_elem(&outer, &key, 4, 0), 0);
	CHECK(outer.ops->lookup(&outer, &key, 0) == NULL);

	/* the template may not be a map-in-map */
	map_init(&nested, BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, 0);
	nested.inner_map = &outer;
	CHECK_EQ(map_create(&nested), -EINVAL);

	/* hash of maps */
	tmpl.map_flags = 0;
	map_init(&houter, BPF_MAP_TYPE_HASH_OF_MAPS, 8, 4, 4, 0);
	houter.inner_map = &tmpl;
	CHECK_EQ(map_create(&houter), 0);
	CHECK(houter.mem == NULL);
	u64 hkey = 0xabcdef;
	val = (u32)inner1.fd;
	CHECK_EQ(bpfx_map__update_elem(&houter, &hkey, 8, &val, 4, BPF_NOEXIST),
		 0);
	CHECK_EQ(bpfx_map__update_elem(&houter, &hkey, 8, &val, 4, BPF_NOEXIST),
		 -EEXIST);
	CHECK(houter.ops->lookup(&houter, &hkey, 0) == &inner1);
	CHECK_EQ(bpfx_map__lookup_elem(&houter, &hkey, 8, &out, 4, 0), 0);
	CHECK_EQ(out, (u32)inner1.fd);
	val = (u32)bad.fd;
	CHECK_EQ(bpfx_map__update_elem(&houter, &hkey, 8, &val, 4, BPF_ANY),
		 -EINVAL);
	CHECK_EQ(houter.ops->update(&houter, &hkey, &val, 0, 0), -EOPNOTSUPP);
	hkey++;
	CHECK(houter.ops->lookup(&houter, &hkey, 0) == NULL);
	hkey--;
	CHECK_EQ(bpfx_map__delete_elem(&houter, &hkey, 8, 0), 0);
	CHECK(houter.ops->lookup(&houter, &hkey, 0) == NULL);

	/* a destroyed inner map drops out */
	key = 0;
	val = (u32)inner1.fd;
	map_destroy(&outer);
	map_init(&outer, BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, 0);
	outer.inner_map = &tmpl;
	CHECK_EQ(map_create(&outer), 0);
	CHECK_EQ(bpfx_map__update_elem(&outer, &key, 4, &val, 4, BPF_ANY), 0);
	map_destroy(&inner1);
	CHECK(outer.ops->lookup(&outer, &key, 0) == NULL);

	map_destroy(&outer);
	map_destroy(&houter);
	map_destroy(&inner2);
	map_destroy(&bad);
}

/* ---- ring buffer ---- */

struct rb_seen {
	int cnt;
	size_t sizes[64];
	u8 first[64];
	int fail_at;
};

static int rb_collect(void *user, void *data, size_t size)
{
	struct rb_seen *s = user;

	if (s->cnt == s->fail_at)
		return -42;
	if (s->cnt < 64) {
		s->sizes[s->cnt] = size;
		s->first[s->cnt] = size ? *(u8 *)data : 0;
	}
	s->cnt++;
	return 0;
}

static void test_ringbuf(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct rb_seen seen = {.fail_at = -1};
	struct bpfx_map map, arr;
	u8 *a, *b, *c;
	u32 key = 0;

	map_init(&map, BPF_MAP_TYPE_RINGBUF, 0, 0, (u32)page, 0);
	CHECK_EQ(map_create(&map), 0);
	CHECK_EQ(map.mem_size, 2 * (size_t)page);
	CHECK_EQ(ringbuf_query(&map, BPF_RB_RING_SIZE), page);
	CHECK_EQ(ringbuf_query(&map, BPF_RB_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(&map, 77), 0);
	/* element operations are not supported */
	CHECK_EQ(bpfx_map__lookup_elem(&map, NULL, 0, NULL, 0, 0), -ENOTSUPP);
	CHECK_EQ(bpfx_map__update_elem(&map, NULL, 0, NULL, 0, 0), -ENOTSUPP);
	CHECK_EQ(bpfx_map__delete_elem(&map, NULL, 0, 0), -ENOTSUPP);
	CHECK(map.ops->lookup(&map, &key, 0) == NULL);

	CHECK(ringbuf_reserve(&map, 8, 1) == NULL);
	CHECK(ringbuf_reserve(&map, (u64)page, 0) == NULL);
	CHECK(ringbuf_reserve(&map, 1ull << 40, 0) == NULL);

	a = ringbuf_reserve(&map, 5, 0);
	b = ringbuf_reserve(&map, 16, 0);
	c = ringbuf_reserve(&map, 1, 0);
	CHECK(a && b && c);
	CHECK(b - a == 16 && c - b == 24); /* 8-byte header, data padded */
	CHECK(in_region(&map, a, 5) && in_region(&map, b, 16));
	CHECK_EQ(ringbuf_query(&map, BPF_RB_PROD_POS), 16 + 24 + 16);
	CHECK_EQ(ringbuf_query(&map, BPF_RB_AVAIL_DATA), 56);
	CHECK(ringbuf_is_sample(&map, a) && ringbuf_is_sample(&map, b));
	CHECK(!ringbuf_is_sample(&map, a + 8)); /* inside a record */
	CHECK(!ringbuf_is_sample(&map, a + 1));
	CHECK(!ringbuf_is_sample(&map, &seen));
	CHECK(!ringbuf_is_sample(&map, map.mem));
	memset(a, 'a', 5);
	memset(b, 'b', 16);
	*c = 'c';

	/* the first record is busy: nothing is consumed */
	ringbuf_commit(&map, b, false, BPF_RB_NO_WAKEUP);
	CHECK(!ringbuf_is_sample(&map, b));
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, rb_collect, &seen), 0);
	CHECK_EQ(seen.cnt, 0);
	/* discard a, submit c: b and c arrive in order */
	ringbuf_commit(&map, a, true, 0);
	ringbuf_commit(&map, c, false, BPF_RB_FORCE_WAKEUP);
	ringbuf_commit(&map, c, true, 0); /* a second commit is ignored */
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, rb_collect, &seen), 2);
	CHECK_EQ(seen.cnt, 2);
	CHECK_EQ(seen.sizes[0], 16);
	CHECK_EQ(seen.first[0], 'b');
	CHECK_EQ(seen.sizes[1], 1);
	CHECK_EQ(seen.first[1], 'c');
	CHECK_EQ(ringbuf_query(&map, BPF_RB_CONS_POS), 56);
	CHECK_EQ(ringbuf_query(&map, BPF_RB_AVAIL_DATA), 0);
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, rb_collect, &seen), 0);

	/* output, then fill until there is no room */
	CHECK_EQ(ringbuf_output(&map, "xyz", 3, 0), 0);
	CHECK_EQ(ringbuf_output(&map, "xyz", 3, 4), -EINVAL);
	int n = 1;
	while (ringbuf_output(&map, "0123456789abcdef", 16, 0) == 0)
		n++;
	while (ringbuf_output(&map, "0", 1, 0) == 0)
		n++;
	CHECK_EQ(ringbuf_output(&map, "q", 1, 0), -EAGAIN);
	CHECK(ringbuf_reserve(&map, 1, 0) == NULL);
	CHECK(n > 1 && ringbuf_query(&map, BPF_RB_AVAIL_DATA) <= (u64)page);
	seen.cnt = 0;
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, rb_collect, &seen), n);
	CHECK_EQ(seen.sizes[0], 3);
	CHECK_EQ(seen.first[1], '0');

	/* wrap: a record that crosses the end is contiguous */
	u64 prod = ringbuf_query(&map, BPF_RB_PROD_POS);
	u64 to_end = (u64)page - (prod & ((u64)page - 1));
	if (to_end > 64) { /* move close to the end */
		a = ringbuf_reserve(&map, to_end - 64 - 8, 0);
		CHECK(a != NULL);
		ringbuf_commit(&map, a, true, 0);
		CHECK_EQ(bpfx_map__ringbuf_consume(&map, NULL, NULL), 0);
	}
	u64 big = 200;
	a = ringbuf_reserve(&map, big, 0);
	CHECK(a != NULL);
	if (!a)
		return;
	for (u64 i = 0; i < big; i++)
		a[i] = (u8)i;
	CHECK(a + big > map.mem + page); /* crosses into the second mapping */
	CHECK(in_region(&map, a, big));
	ringbuf_commit(&map, a, false, 0);
	seen.cnt = 0;
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, rb_collect, &seen), 1);
	CHECK_EQ(seen.sizes[0], big);
	/* the wrapped bytes landed at the start of the data area */
	u64 wrapped = (u64)(a + big - (map.mem + page));
	CHECK(wrapped > 0 && map.mem[wrapped - 1] == (u8)(big - 1));

	/* a failing callback stops, its record counts as consumed */
	CHECK_EQ(ringbuf_output(&map, "1", 1, 0), 0);
	CHECK_EQ(ringbuf_output(&map, "2", 1, 0), 0);
	seen.cnt = 0;
	seen.fail_at = 0;
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, rb_collect, &seen), -42);
	seen.fail_at = -1;
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, rb_collect, &seen), 1);
	CHECK_EQ(seen.first[0], '2');

	/* a program that scribbles over a header cannot derail the consumer */
	a = ringbuf_reserve(&map, 8, 0);
	ringbuf_commit(&map, a, false, 0);
	((u32 *)(a - 8))[0] = 0x3fff0000;
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, NULL, NULL), 0);
	CHECK_EQ(ringbuf_query(&map, BPF_RB_AVAIL_DATA), 0);
	CHECK(strstr(last_log, "maps: ringbuf test: corrupt record header"));
	/* and the ring works on */
	CHECK_EQ(ringbuf_output(&map, "z", 1, 0), 0);
	seen.cnt = 0;
	CHECK_EQ(bpfx_map__ringbuf_consume(&map, rb_collect, &seen), 1);
	CHECK_EQ(seen.first[0], 'z');

	/* non-ringbuf maps */
	map_init(&arr, BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0);
	CHECK_EQ(map_create(&arr), 0);
	CHECK(ringbuf_reserve(&arr, 8, 0) == NULL);
	CHECK_EQ(ringbuf_output(&arr, "x", 1, 0), -EINVAL);
	CHECK(!ringbuf_is_sample(&arr, arr.mem + 8));
	CHECK_EQ(bpfx_map__ringbuf_consume(&arr, rb_collect, &seen), -EINVAL);
	CHECK_EQ(bpfx_map__ringbuf_consume(NULL, rb_collect, &seen), -EINVAL);
	CHECK_EQ(ringbuf_query(&arr, BPF_RB_RING_SIZE), 0);
	map_destroy(&arr);
	map_destroy(&map);
}

/* Several producers and a consumer at once: every record arrives whole. */
struct rb_stress {
	struct bpfx_map *map;
	int id;
	long produced;
	atomic_int *stop;
};

static void *rb_producer(void *arg)
{
	struct rb_stress *s = arg;

	while (!atomic_load(s->stop)) {
		u64 rec[4] = {(u64)s->id, (u64)s->produced, 0, 0};
		u64 *p = ringbuf_reserve(s->map, sizeof(rec), 0);

		if (!p) {
			sched_yield();
			continue;
		}
		rec[2] = rec[0] ^ rec[1];
		memcpy(p, rec, sizeof(rec));
		ringbuf_commit(s->map, p, s->produced % 7 == 3, 0);
		s->produced++;
	}
	return NULL;
}

struct rb_check {
	long next[4];
	long bad;
	long cnt;
};

static int rb_verify(void *user, void *data, size_t size)
{
	struct rb_check *c = user;
	u64 rec[4];

	if (size != sizeof(rec)) {
		c->bad++;
		return 0;
	}
	memcpy(rec, data, sizeof(rec));
	if (rec[0] >= 4 || rec[2] != (rec[0] ^ rec[1]) ||
	    (long)rec[1] < c->next[rec[0]])
		c->bad++;
	else
		c->next[rec[0]] = (long)rec[1] + 1;
	c->cnt++;
	return 0;
}

static void test_ringbuf_threads(void)
{
	struct bpfx_map map;
	struct rb_stress st[4];
	struct rb_check check = {0};
	pthread_t th[4];
	atomic_int stop = 0;
	struct timespec t0, t1;

	map_init(&map, BPF_MAP_TYPE_RINGBUF, 0, 0, 4 * (u32)sysconf(_SC_PAGESIZE),
		 0);
	CHECK_EQ(map_create(&map), 0);
	for (int i = 0; i < 4; i++) {
		st[i] = (struct rb_stress){.map = &map, .id = i, .stop = &stop};
		pthread_create(&th[i], NULL, rb_producer, &st[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		CHECK(bpfx_map__ringbuf_consume(&map, rb_verify, &check) >= 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000000000L +
			 (t1.tv_nsec - t0.tv_nsec) <
		 300000000L);
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK(bpfx_map__ringbuf_consume(&map, rb_verify, &check) >= 0);
	CHECK_EQ(check.bad, 0);
	long produced = 0, discarded = 0;
	for (int i = 0; i < 4; i++) {
		produced += st[i].produced;
		for (long j = 0; j < st[i].produced; j++)
			discarded += j % 7 == 3;
	}
	CHECK_EQ(check.cnt, produced - discarded);
	CHECK_EQ(ringbuf_query(&map, BPF_RB_AVAIL_DATA), 0);
	map_destroy(&map);
}

/* ---- hash stress ---- */

#define STRESS_KEYS 2048
#define STRESS_THREADS 4

struct stress_val {
	u64 key;
	u64 check; /* key * 31 + 7 */
};

struct stress_arg {
	struct bpfx_map *map;
	unsigned int seed;
	atomic_int *stop;
	long ops;
	long bad;
};

static void *hash_worker(void *arg)
{
	struct stress_arg *a = arg;
	struct bpfx_map *map = a->map;
	bool percpu = map->type == BPF_MAP_TYPE_PERCPU_HASH ||
		      map->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	size_t user_sz = percpu ? sizeof(struct stress_val) * map->nr_cpus :
				  sizeof(struct stress_val);
	struct stress_val *buf = calloc(map->nr_cpus, sizeof(*buf));

	while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
		u32 key = (u32)rand_r(&a->seed) % STRESS_KEYS;
		struct stress_val v = {key, key * 31ull + 7}, *p;
		int op = rand_r(&a->seed) % 8, err;

		a->ops++;
		switch (op) {
		case 0:
		case 1:
			for (unsigned int c = 0; c < map->nr_cpus; c++)
				buf[c] = v;
			err = bpfx_map__update_elem(map, &key, 4, buf, user_sz,
						    BPF_ANY);
			if (err && err != -E2BIG)
				a->bad++;
			break;
		case 2:
			err = map->ops->update(map, &key, &v, BPF_NOEXIST,
					       (int)(a->seed % 4));
			if (err && err != -EEXIST && err != -E2BIG)
				a->bad++;
			break;
		case 3:
			err = bpfx_map__delete_elem(map, &key, 4, 0);
			if (err && err != -ENOENT)
				a->bad++;
			break;
		case 4:
		case 5:
			/* a program-side pointer stays in the map's storage */
			p = map->ops->lookup(map, &key, (int)(a->seed % 4));
			if (p && !in_region(map, p, sizeof(*p)))
				a->bad++;
			break;
		case 6:
			err = bpfx_map__lookup_elem(map, &key, 4, buf, user_sz,
						    0);
			if (err == 0) {
				/* copied under the bucket lock: consistent
				 * for a program-side insert's CPU or all */
				bool ok = false;

				for (unsigned int c = 0; c < map->nr_cpus; c++)
					if (buf[c].key == key &&
					    buf[c].check == key * 31ull + 7)
						ok = true;
				if (!percpu)
					ok = buf[0].key == key &&
					     buf[0].check == key * 31ull + 7;
				if (!ok)
					a->bad++;
			} else if (err != -ENOENT) {
				a->bad++;
			}
			break;
		case 7: {
			u32 next;

			err = bpfx_map__get_next_key(map, &key, &next, 4);
			if (err && err != -ENOENT)
				a->bad++;
			else if (!err && next >= STRESS_KEYS)
				a->bad++;
			break;
		}
		}
	}
	free(buf);
	return NULL;
}

static void stress_one(u32 type, u32 max_entries)
{
	struct bpfx_map map;
	struct stress_arg args[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	atomic_int stop = 0;
	long ops = 0;

	map_init(&map, type, 4, sizeof(struct stress_val), max_entries, 0);
	CHECK_EQ(map_create(&map), 0);
	for (int i = 0; i < STRESS_THREADS; i++) {
		args[i] = (struct stress_arg){
			.map = &map, .seed = 1234u + (unsigned int)i,
			.stop = &stop,
		};
		pthread_create(&th[i], NULL, hash_worker, &args[i]);
	}
	usleep(250 * 1000);
	atomic_store(&stop, 1);
	for (int i = 0; i < STRESS_THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].bad, 0);
		ops += args[i].ops;
	}
	CHECK(ops > 1000);

	/* the structure is intact: every listed key is found, none twice */
	static u32 seen[STRESS_KEYS];
	memset(seen, 0, sizeof(seen));
	int n = count_keys(&map, seen, STRESS_KEYS);
	CHECK(n <= (int)max_entries);
	int found = 0;
	for (u32 k = 0; k < STRESS_KEYS; k++) {
		CHECK(seen[k] <= 1);
		if (map.ops->lookup(&map, &k, 0))
			found++;
	}
	CHECK_EQ(found, n);
	/* and everything can be deleted and re-filled to max_entries */
	u32 next;
	while (bpfx_map__get_next_key(&map, NULL, &next, 4) == 0)
		CHECK_EQ(bpfx_map__delete_elem(&map, &next, 4, 0), 0);
	struct stress_val v = {0, 7};
	for (u32 k = 0; k < max_entries; k++)
		CHECK_EQ(map.ops->update(&map, &k, &v, BPF_NOEXIST, 0), 0);
	if (type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH) {
		u32 k = max_entries;
		CHECK_EQ(map.ops->update(&map, &k, &v, BPF_NOEXIST, 0), -E2BIG);
	}
	map_destroy(&map);
}

static void test_hash_threads(void)
{
	stress_one(BPF_MAP_TYPE_HASH, 1024);
	stress_one(BPF_MAP_TYPE_PERCPU_HASH, 512);
	stress_one(BPF_MAP_TYPE_LRU_HASH, 256);
	stress_one(BPF_MAP_TYPE_LRU_PERCPU_HASH, 300);
}

/* Program lookups walk chains without the bucket lock (map_hash.c):
 * while two threads insert and delete other keys in the same buckets,
 * every lookup of a key that stays in the map finds it, with its value. */
#define CHURN_STABLE 64
struct churn_arg {
	struct bpfx_map *map;
	atomic_int *stop;
	unsigned int seed;
	long ops, bad;
	bool writer;
};

static void *churn_worker(void *arg)
{
	struct churn_arg *a = arg;
	u64 v;

	while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
		u32 r = a->seed = a->seed * 1103515245u + 12345u;
		a->ops++;
		if (a->writer) {
			/* keys that share the stable keys' buckets (the map
			 * has 256 of them, all chains mixed) */
			u32 key = CHURN_STABLE + (r >> 8) % 512;
			v = key;
			if (r & 1)
				a->map->ops->update(a->map, &key, &v, BPF_ANY, 0);
			else
				a->map->ops->delete(a->map, &key);
			continue;
		}
		u32 key = (r >> 8) % CHURN_STABLE;
		const u64 *p = a->map->ops->lookup(a->map, &key, 0);
		if (!p || *p != key)
			a->bad++;
	}
	return NULL;
}

static void test_hash_lookup_churn(void)
{
	struct bpfx_map map;
	struct churn_arg args[4];
	pthread_t th[4];
	atomic_int stop = 0;

	map_init(&map, BPF_MAP_TYPE_HASH, 4, 8, 256, 0);
	CHECK_EQ(map_create(&map), 0);
	for (u32 k = 0; k < CHURN_STABLE; k++) {
		u64 v = k;
		CHECK_EQ(map.ops->update(&map, &k, &v, BPF_NOEXIST, 0), 0);
	}
	for (int i = 0; i < 4; i++) {
		args[i] = (struct churn_arg){ .map = &map, .stop = &stop,
					      .seed = 77u + (unsigned int)i,
					      .writer = i < 2 };
		pthread_create(&th[i], NULL, churn_worker, &args[i]);
	}
	usleep(250 * 1000);
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].bad, 0);
		CHECK(args[i].ops > 100);
	}
	map_destroy(&map);
}

/* Maps come and go while other threads ask the registry. */
static void *registry_reader(void *arg)
{
	atomic_int *stop = arg;
	u64 dummy = 0;

	while (!atomic_load(stop)) {
		CHECK(!map_is_live(&dummy));
		CHECK(map_region_find((u64)(uintptr_t)&dummy, 8) == NULL);
	}
	return NULL;
}

static void test_registry_threads(void)
{
	static struct bpfx_map maps[64];
	atomic_int stop = 0;
	pthread_t th[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, registry_reader, &stop);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 64; i++) {
			map_init(&maps[i], i % 2 ? BPF_MAP_TYPE_HASH :
						   BPF_MAP_TYPE_ARRAY,
				 4, 8, 4, 0);
			CHECK_EQ(map_create(&maps[i]), 0);
		}
		for (int i = 0; i < 64; i++) {
			CHECK(map_is_live(&maps[i]));
			CHECK(map_by_fd(maps[i].fd) == &maps[i]);
			CHECK(map_region_find((u64)(uintptr_t)maps[i].mem + 4,
					      4) == &maps[i]);
		}
		for (int i = 0; i < 64; i++)
			map_destroy(&maps[(i * 7) % 64]);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
}

TEST_MAIN(TEST(test_fd), TEST(test_create_errors), TEST(test_type_names),
	  TEST(test_array), TEST(test_global_data), TEST(test_percpu_array),
	  TEST(test_hash), TEST(test_percpu_hash), TEST(test_lru),
	  TEST(test_prog_array), TEST(test_map_in_map), TEST(test_ringbuf),
	  TEST(test_ringbuf_threads), TEST(test_hash_threads),
	  TEST(test_hash_lookup_churn),
	  TEST(test_registry_threads))

/*
 * Unit tests of the loader (src/loader): BPF C sources compiled with
 * clang-19 at test time into a private directory under /tmp, opened and
 * loaded, then the object model checked against what the sources say:
 * program names, sections, types, autoload; map attributes of every kind
 * of definition (BTF .maps, legacy "maps", global data, map-in-map,
 * prog_array with .values); linked instruction counts and the relocated
 * instructions themselves (calls, map and global-data lddw, function
 * pointers, kfunc calls).
 *
 * Bad input: the same objects are then damaged byte by byte (truncation,
 * random bytes, corrupt headers, symbol and relocation indices, unknown
 * relocation types, bad BTF, out-of-range calls, an lddw at the end of a
 * function) and each case checks the error text the loader logs. Without
 * clang-19 the compiled cases are skipped with a message.
 */
#include <elf.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "loader/loader.h"
#include "test.h"

/* The compiler: $CLANG_BPF, as the Makefile names it, or clang-19. */
static const char *clang_bpf(void)
{
	const char *c = getenv("CLANG_BPF");

	return c && c[0] ? c : "clang-19";
}

#if defined(__x86_64__)
#ifdef BPF_SYS_INCLUDE /* set by the Makefile */
#define MULTIARCH_INC BPF_SYS_INCLUDE
#else
#define MULTIARCH_INC "/usr/include/x86_64-linux-gnu"
#endif
#elif defined(__aarch64__)
#define MULTIARCH_INC "/usr/include/aarch64-linux-gnu"
#else
#define MULTIARCH_INC "/usr/include"
#endif

/* ---- log capture ---- */

static char log_buf[16384];

static void capture_log(enum bpfx_log_level level, const char *msg,
			void *user)
{
	size_t len = strlen(log_buf);

	if (level != BPFX_LOG_WARN)
		return;
	if (getenv("TEST_LOADER_VERBOSE"))
		fprintf(stderr, "log: %s\n", msg);
	snprintf(log_buf + len, sizeof(log_buf) - len, "%s\n", msg);
}

static void log_reset(void)
{
	log_buf[0] = '\0';
}

static bool log_has(const char *s)
{
	if (strstr(log_buf, s))
		return true;
	fprintf(stderr, "log lacks \"%s\"; it holds:\n%s", s, log_buf);
	return false;
}

/* ---- compiling BPF C ---- */

static char work_dir[64];
static bool have_clang;

static void cleanup(void);

static void setup(void)
{
	static bool done;
	char cmd[256];

	if (done)
		return;
	done = true;
	atexit(cleanup);
	bpfx_set_log(capture_log, NULL);
	snprintf(work_dir, sizeof(work_dir), "/tmp/bpfx-test-loader-XXXXXX");
	if (!mkdtemp(work_dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "%s --version >/dev/null 2>&1",
		 clang_bpf());
	have_clang = system(cmd) == 0;
	if (!have_clang)
		printf("SKIP: %s not found: compiled-object tests skipped\n",
		       clang_bpf());
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", work_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", work_dir);
}

/* Compiles SRC as NAME.c; returns the object's path or NULL. */
static const char *compile(const char *name, const char *src)
{
	static char obj[256];
	char path[200], cmd[1024];
	FILE *f;

	setup();
	if (!have_clang)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s.c", work_dir, name);
	snprintf(obj, sizeof(obj), "%s/%s.o", work_dir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "%s -O2 -g -target bpf -mcpu=v4 -I" MULTIARCH_INC
		 " -c %s -o %s", clang_bpf(), path, obj);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot compile %s\n", path);
		test_failed_checks++;
		return NULL;
	}
	return obj;
}

static void *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	void *buf;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) || !(buf = malloc(st.st_size))) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*size = st.st_size;
	return buf;
}

static const struct bpf_insn *insns_of(const struct bpfx_program *prog)
{
	return bpfx_program__insns(prog);
}

/* ---- the sources ---- */

/* Programs, subprograms, callbacks, kfuncs, global data and a map. */
static const char src_link[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"extern void bpf_rcu_read_lock(void) __ksym;\n"
	"extern void bpf_rcu_read_unlock(void) __ksym;\n"
	"struct {\n"
	"	__uint(type, BPF_MAP_TYPE_HASH);\n"
	"	__type(key, int);\n"
	"	__type(value, long);\n"
	"	__uint(max_entries, 16);\n"
	"} hmap SEC(\".maps\");\n"
	"int gcount = 3;\n"
	"int gsecond = 4;\n"
	"const volatile int ro = 7;\n"
	"int zero_b;\n"
	"static __noinline int sub_static(int x) { return x * 2 + gcount; }\n"
	"__noinline int sub_global(int x) { return sub_static(x) + ro; }\n"
	"static long cb(__u32 i, void *ctx) { *(int *)ctx += i; return 0; }\n"
	"SEC(\"xdp\")\n"
	"int prog_a(struct xdp_md *ctx)\n"
	"{\n"
	"	int k = 1, acc = 0; long *v;\n"
	"	v = bpf_map_lookup_elem(&hmap, &k);\n"
	"	if (v) return *v;\n"
	"	bpf_loop(10, cb, &acc, 0);\n"
	"	bpf_printk(\"hi %d\", acc);\n"
	"	bpf_rcu_read_lock();\n"
	"	bpf_rcu_read_unlock();\n"
	"	return sub_global(acc) + zero_b + gsecond;\n"
	"}\n"
	"SEC(\"?tc\")\n"
	"int prog_b(struct __sk_buff *skb) { return sub_static(skb->len); }\n"
	"SEC(\"tc\")\n"
	"int prog_c(struct __sk_buff *skb) { return 1; }\n"
	"SEC(\"tc\")\n"
	"int prog_d(struct __sk_buff *skb) { return sub_global(2); }\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n";

static const char src_maps[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"struct inner { __uint(type, BPF_MAP_TYPE_ARRAY);\n"
	"	__uint(max_entries, 4); __type(key, __u32);\n"
	"	__type(value, __u64); };\n"
	"struct inner in_a SEC(\".maps\"), in_b SEC(\".maps\");\n"
	"struct {\n"
	"	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);\n"
	"	__uint(max_entries, 3);\n"
	"	__type(key, __u32);\n"
	"	__array(values, struct inner);\n"
	"} outer SEC(\".maps\") = { .values = { [0] = &in_a, [2] = &in_b } };\n"
	"struct {\n"
	"	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n"
	"	__uint(max_entries, 2);\n"
	"	__uint(key_size, 4);\n"
	"	__uint(value_size, 24);\n"
	"} pcpu SEC(\".maps\");\n"
	"struct {\n"
	"	__uint(type, BPF_MAP_TYPE_LRU_HASH);\n"
	"	__uint(max_entries, 64);\n"
	"	__uint(map_flags, 0);\n"
	"	__type(key, struct { int a; char b[6]; });\n"
	"	__type(value, char[10]);\n"
	"} lru SEC(\".maps\");\n"
	"struct {\n"
	"	__uint(type, BPF_MAP_TYPE_RINGBUF);\n"
	"	__uint(max_entries, 4096);\n"
	"} rb SEC(\".maps\");\n"
	"int call_me(struct __sk_buff *skb);\n"
	"struct {\n"
	"	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);\n"
	"	__uint(max_entries, 4);\n"
	"	__type(key, __u32);\n"
	"	__array(values, int(struct __sk_buff *));\n"
	"} jmp SEC(\".maps\") = { .values = { [1] = (void *)&call_me } };\n"
	"char buf[40] = \"data\";\n"
	"const char rodata_str[] = \"rodata\";\n"
	"long bss_a, bss_b;\n"
	"SEC(\"tc\")\n"
	"int call_me(struct __sk_buff *skb) { return 42; }\n"
	"SEC(\"tc\")\n"
	"int caller(struct __sk_buff *skb)\n"
	"{\n"
	"	__u32 k = 0;\n"
	"	void *in = bpf_map_lookup_elem(&outer, &k);\n"
	"	bpf_tail_call(skb, &jmp, 1);\n"
	"	char d[16];\n"
	"	bpf_probe_read_kernel_str(d, 16, \"some literal\");\n"
	"	bpf_printk(\"%s %p\", rodata_str, in);\n"
	"	return buf[3] + bss_b;\n"
	"}\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n";

static const char src_legacy[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"struct bpf_map_def { unsigned int type, key_size, value_size,\n"
	"	max_entries, map_flags; };\n"
	"struct bpf_map_def SEC(\"maps\") old_hash = {\n"
	"	.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8,\n"
	"	.max_entries = 32, };\n"
	"struct bpf_map_def SEC(\"maps\") old_array = {\n"
	"	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 16,\n"
	"	.max_entries = 2, .map_flags = 0, };\n"
	"SEC(\"socket\")\n"
	"int sock(struct __sk_buff *skb)\n"
	"{\n"
	"	int k = 0;\n"
	"	void *v = bpf_map_lookup_elem(&old_array, &k);\n"
	"	return v ? 1 : 0;\n"
	"}\n"
	"char LICENSE[] SEC(\"license\") = \"Dual BSD/GPL\";\n"
	"unsigned int _version SEC(\"version\") = 0x050a00;\n";

/* Subprograms and a callback placed in the programs' own section. */
static const char src_same_sec[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"SEC(\"xdp\") static __noinline int twice(int x)\n"
	"{ return x * 2 + 1; }\n"
	"SEC(\"xdp\") static long step(__u32 i, void *ctx)\n"
	"{ *(int *)ctx += twice(i); return 0; }\n"
	"SEC(\"xdp\")\n"
	"int first(struct xdp_md *ctx) { return twice(ctx->ingress_ifindex); }\n"
	"SEC(\"xdp\")\n"
	"int second(struct xdp_md *ctx)\n"
	"{ int acc = 0; bpf_loop(4, step, &acc, 0); return acc; }\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n";

static const char src_bad_externs[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"extern int bpf_no_such_kfunc(int x) __ksym;\n"
	"extern int CONFIG_HZ __kconfig;\n"
	"extern const int bpf_prog_active __ksym;\n"
	"SEC(\"tc\")\n"
	"int good(struct __sk_buff *skb) { return 1; }\n"
	"SEC(\"tc\")\n"
	"int uses_kfunc(struct __sk_buff *skb)\n"
	"{\n"
	"	return bpf_no_such_kfunc(3);\n"
	"}\n"
	"SEC(\"tc\")\n"
	"int uses_kconfig(struct __sk_buff *skb) { return CONFIG_HZ; }\n"
	"SEC(\"tc\")\n"
	"int uses_ksym(struct __sk_buff *skb)\n"
	"{\n"
	"	return bpf_prog_active;\n"
	"}\n"
	"SEC(\"no_such_section\")\n"
	"int untyped(struct __sk_buff *skb) { return 2; }\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n";

/* ---- object model ---- */

static int count_programs(const struct bpfx_object *obj)
{
	struct bpfx_program *p;
	int n = 0;

	bpfx_object__for_each_program(p, obj)
		n++;
	return n;
}

/* The linked offset of the first instruction equal to a function's first
 * instruction, searched after START. */
static void test_programs(void)
{
	const char *path = compile("link", src_link);
	struct bpfx_program *a, *b, *c, *d;
	struct bpfx_object *obj;

	if (!path)
		return;
	obj = bpfx_object__open_file(path, NULL);
	CHECK(obj);
	if (!obj)
		return;
	CHECK(strcmp(bpfx_object__name(obj), "link.o") == 0);
	CHECK(strcmp(bpfx_object__license(obj), "GPL") == 0);
	CHECK_EQ(count_programs(obj), 4);
	a = bpfx_object__find_program_by_name(obj, "prog_a");
	b = bpfx_object__find_program_by_name(obj, "prog_b");
	c = bpfx_object__find_program_by_name(obj, "prog_c");
	d = bpfx_object__find_program_by_name(obj, "prog_d");
	CHECK(a && b && c && d);
	CHECK(!bpfx_object__find_program_by_name(obj, "sub_global"));
	CHECK(!bpfx_object__find_program_by_name(obj, "cb"));
	if (!a || !b || !c || !d)
		goto out;
	CHECK(strcmp(bpfx_program__section_name(a), "xdp") == 0);
	CHECK(strcmp(bpfx_program__section_name(b), "tc") == 0);
	CHECK_EQ(bpfx_program__type(a), BPF_PROG_TYPE_XDP);
	CHECK_EQ(a->expected_attach_type, BPF_XDP);
	CHECK(strcmp(bpfx_program__type_name(a), "xdp") == 0);
	CHECK(strcmp(bpfx_program__type_name(c), "sched_cls") == 0);
	CHECK(bpfx_program__autoload(a));
	CHECK(!bpfx_program__autoload(b));
	CHECK_EQ(bpfx_program__fd(a), -ENOENT);
	/* before load: the body as compiled */
	CHECK_EQ(bpfx_program__insn_cnt(c), 2);

	CHECK_EQ(bpfx_object__load(obj), 0);
	CHECK(bpfx_program__load_error(a) == NULL);
	CHECK(bpfx_program__fd(a) >= 0);
	CHECK(prog_by_fd(bpfx_program__fd(a)) == a);
	CHECK(bpfx_program__fd(b) < 0); /* '?' kept it out */
	CHECK(!b->loaded);
	CHECK_EQ(bpfx_program__load(b), 0);
	CHECK(b->loaded && bpfx_program__fd(b) >= 0);
	CHECK_EQ(bpfx_program__set_autoload(b, true), -EINVAL);

	/* prog_c: no subprograms */
	CHECK_EQ(bpfx_program__insn_cnt(c), 2);
	/* prog_b: body (3) + sub_static (6) */
	CHECK_EQ(bpfx_program__insn_cnt(b), 3 + 6);
	/* prog_d: body + sub_global (7) + sub_static (6) */
	CHECK_EQ(bpfx_program__insn_cnt(d) - d->sec_insn_cnt, 7 + 6);
	/* prog_a: body + sub_global + sub_static + cb (5), each once */
	CHECK_EQ(bpfx_program__insn_cnt(a) - a->sec_insn_cnt, 7 + 6 + 5);

	/* relocations in prog_a */
	const struct bpf_insn *in = insns_of(a);
	size_t n = bpfx_program__insn_cnt(a), body = a->sec_insn_cnt;
	int lddw_map = 0, lddw_data = 0, lddw_func = 0, kfunc_calls = 0;
	int calls = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i].code == LD_OP_LDDW) {
			if (in[i].src_reg == BPF_PSEUDO_MAP_IDX) {
				lddw_map++;
				CHECK(in[i].imm >= 0 &&
				      (size_t)in[i].imm < a->map_cnt);
				CHECK(strcmp(a->maps[in[i].imm]->name,
					     "hmap") == 0);
			} else if (in[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
				struct bpfx_map *m = a->maps[in[i].imm];
				lddw_data++;
				CHECK(m->is_global_data);
				CHECK((u32)in[i + 1].imm < m->value_size);
				/* gsecond is at offset 4 of .data */
				if (strcmp(m->name, ".data") == 0 && i < body &&
				    in[i + 1].imm == 4)
					lddw_data += 100;
			} else if (in[i].src_reg == BPF_PSEUDO_FUNC) {
				lddw_func++;
				/* the callback, appended first: the lddw
				 * comes before the call to sub_global */
				CHECK_EQ(i + 1 + in[i].imm, body);
			}
			i++;
		} else if (in[i].code == LD_OP_CALL) {
			if (in[i].src_reg == BPF_PSEUDO_KFUNC_CALL) {
				kfunc_calls++;
				CHECK(in[i].imm == kfunc_by_name(
							   "bpf_rcu_read_lock") ||
				      in[i].imm == kfunc_by_name(
							   "bpf_rcu_read_unlock"));
			} else if (in[i].src_reg == BPF_PSEUDO_CALL) {
				calls++;
				CHECK(i + 1 + in[i].imm >= body);
				CHECK(i + 1 + in[i].imm < n);
			}
		}
	}
	CHECK_EQ(lddw_map, 1);
	CHECK(lddw_data >= 100 + 4); /* .data x2, .rodata x2, .bss */
	CHECK_EQ(lddw_func, 1);
	CHECK_EQ(kfunc_calls, 2);
	CHECK_EQ(calls, 2); /* prog_a -> sub_global -> sub_static */
	/* the call from the body lands on sub_global, after cb (5) */
	for (size_t i = 0; i < body; i++)
		if (in[i].code == LD_OP_CALL &&
		    in[i].src_reg == BPF_PSEUDO_CALL)
			CHECK_EQ(i + 1 + in[i].imm, body + 5);
	/* maps the program uses, and only those */
	CHECK_EQ(a->map_cnt, 4); /* hmap, .rodata, .data, .bss */
	CHECK_EQ(c->map_cnt, 0);
	/* func_info per function, line_info pointing at this file */
	CHECK_EQ(a->func_info_cnt, 4);
	CHECK(a->func_info_cnt && a->func_info[0].insn_off == 0);
	char line[128];
	CHECK(prog_source_line(a, 0, line, sizeof(line)));
	CHECK(strncmp(line, "link.c:", 7) == 0);
out:
	bpfx_object__close(obj);
}

static void test_program_load_alone(void)
{
	const char *path = compile("link2", src_link);
	struct bpfx_object *obj;
	struct bpfx_program *d;

	if (!path)
		return;
	obj = bpfx_object__open_file(path, NULL);
	CHECK(obj);
	if (!obj)
		return;
	d = bpfx_object__find_program_by_name(obj, "prog_d");
	CHECK_EQ(bpfx_program__load(d), 0);
	CHECK(d->loaded);
	/* only .rodata (ro) and .data (gcount) were created */
	CHECK(bpfx_object__find_map_by_name(obj, ".data")->fd >= 0);
	CHECK(bpfx_object__find_map_by_name(obj, ".rodata")->fd >= 0);
	CHECK(bpfx_object__find_map_by_name(obj, "hmap")->fd < 0);
	CHECK(bpfx_object__find_map_by_name(obj, ".bss")->fd < 0);
	CHECK(!bpfx_object__find_program_by_name(obj, "prog_a")->loaded);
	bpfx_object__close(obj);
}

static void test_maps(void)
{
	const char *path = compile("maps", src_maps);
	struct bpfx_object *obj;
	struct bpfx_map *m;
	BPFX_OPTS(bpfx_object_open_opts, opts, .nr_cpus = 3);

	if (!path)
		return;
	obj = bpfx_object__open_file(path, &opts);
	CHECK(obj);
	if (!obj)
		return;

	m = bpfx_object__find_map_by_name(obj, "outer");
	CHECK(m && m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS);
	if (m) {
		CHECK_EQ(m->key_size, 4);
		CHECK_EQ(m->value_size, 4);
		CHECK_EQ(m->max_entries, 3);
		CHECK(m->inner_map);
		if (m->inner_map) {
			CHECK_EQ(m->inner_map->type, BPF_MAP_TYPE_ARRAY);
			CHECK_EQ(m->inner_map->value_size, 8);
			CHECK_EQ(m->inner_map->max_entries, 4);
		}
		CHECK_EQ(m->init_slot_cnt, 2);
		for (size_t i = 0; i < m->init_slot_cnt; i++)
			CHECK((m->init_slots[i].key == 0 &&
			       !strcmp(m->init_slots[i].target, "in_a")) ||
			      (m->init_slots[i].key == 2 &&
			       !strcmp(m->init_slots[i].target, "in_b")));
	}
	m = bpfx_object__find_map_by_name(obj, "pcpu");
	CHECK(m && m->type == BPF_MAP_TYPE_PERCPU_ARRAY &&
	      m->value_size == 24 && m->key_size == 4 && m->nr_cpus == 3);
	m = bpfx_object__find_map_by_name(obj, "lru");
	CHECK(m && m->type == BPF_MAP_TYPE_LRU_HASH && m->key_size == 12 &&
	      m->value_size == 10 && m->max_entries == 64 &&
	      m->btf_key_type_id && m->btf_value_type_id);
	m = bpfx_object__find_map_by_name(obj, "rb");
	CHECK(m && m->type == BPF_MAP_TYPE_RINGBUF && m->key_size == 0 &&
	      m->max_entries == 4096);
	m = bpfx_object__find_map_by_name(obj, "jmp");
	CHECK(m && m->type == BPF_MAP_TYPE_PROG_ARRAY && m->value_size == 4);
	if (m) {
		CHECK_EQ(m->init_slot_cnt, 1);
		CHECK(m->init_slot_cnt && m->init_slots[0].key == 1 &&
		      !strcmp(m->init_slots[0].target, "call_me"));
	}
	m = bpfx_object__find_map_by_name(obj, ".data");
	CHECK(m && m->is_global_data && !m->rdonly_prog &&
	      m->type == BPF_MAP_TYPE_ARRAY && m->max_entries == 1 &&
	      m->value_size == 40 && m->key_size == 4);
	if (m)
		CHECK(memcmp(m->init_data, "data", 5) == 0);
	CHECK(bpfx_object__find_map_by_name(obj, "maps.data") == m);
	m = bpfx_object__find_map_by_name(obj, ".rodata");
	CHECK(m && m->rdonly_prog && m->value_size == 13); /* + fmt */
	if (m)
		CHECK(memcmp(m->init_data, "rodata", 7) == 0);
	m = bpfx_object__find_map_by_name(obj, ".bss");
	CHECK(m && m->value_size == 16 && !m->rdonly_prog);
	if (m)
		CHECK(m->init_data && !memcmp(m->init_data, "\0\0\0\0\0\0\0\0"
						       "\0\0\0\0\0\0\0\0", 16));
	CHECK(bpfx_object__find_map_by_name(obj, "maps.bss") == m);
	m = bpfx_object__find_map_by_name(obj, ".rodata.str1.1");
	CHECK(m && m->rdonly_prog && m->value_size == 13);
	if (m)
		CHECK(memcmp(m->init_data, "some literal", 13) == 0);
	/* no object prefix for names with a second dot */
	CHECK(bpfx_object__find_map_by_name(obj, ".rodata.str1.1") == m);

	/* loading caller creates what it uses and fills the slots */
	struct bpfx_program *caller =
		bpfx_object__find_program_by_name(obj, "caller");
	struct bpfx_program *callee =
		bpfx_object__find_program_by_name(obj, "call_me");
	CHECK_EQ(bpfx_program__load(caller), 0);
	CHECK(callee->loaded); /* loaded for its prog_array slot */
	m = bpfx_object__find_map_by_name(obj, "jmp");
	if (m && m->fd >= 0 && m->ops && m->ops->lookup_copy) {
		u32 key = 1, val = 0;
		CHECK_EQ(m->ops->lookup_copy(m, &key, &val), 0);
		CHECK_EQ(val, (u32)bpfx_program__fd(callee));
	}
	m = bpfx_object__find_map_by_name(obj, "outer");
	if (m && m->fd >= 0 && m->ops && m->ops->lookup_copy) {
		u32 key = 2, val = 0;
		CHECK_EQ(m->ops->lookup_copy(m, &key, &val), 0);
		CHECK_EQ(val, (u32)bpfx_map__fd(
				      bpfx_object__find_map_by_name(obj,
								    "in_b")));
	}
	CHECK_EQ(bpfx_object__load(obj), 0);
	bpfx_object__close(obj);
}

static void test_legacy_maps(void)
{
	const char *path = compile("legacy", src_legacy);
	struct bpfx_object *obj;
	struct bpfx_map *m;

	if (!path)
		return;
	obj = bpfx_object__open_file(path, NULL);
	CHECK(obj);
	if (!obj)
		return;
	CHECK_EQ(obj->kern_version, 0x050a00);
	CHECK(strcmp(bpfx_object__license(obj), "Dual BSD/GPL") == 0);
	m = bpfx_object__find_map_by_name(obj, "old_hash");
	CHECK(m && m->type == BPF_MAP_TYPE_HASH && m->key_size == 4 &&
	      m->value_size == 8 && m->max_entries == 32);
	m = bpfx_object__find_map_by_name(obj, "old_array");
	CHECK(m && m->type == BPF_MAP_TYPE_ARRAY && m->value_size == 16);
	struct bpfx_program *p = bpfx_object__find_program_by_name(obj, "sock");
	CHECK(p && bpfx_program__type(p) == BPF_PROG_TYPE_SOCKET_FILTER);
	CHECK_EQ(bpfx_object__load(obj), 0);
	CHECK(p && p->map_cnt == 1 && p->maps[0] == m);
	bpfx_object__close(obj);
}

static void test_same_section(void)
{
	const char *path = compile("samesec", src_same_sec);
	struct bpfx_object *obj;
	struct bpfx_program *first, *second;

	if (!path)
		return;
	obj = bpfx_object__open_file(path, NULL);
	CHECK(obj);
	if (!obj)
		return;
	/* static functions of a program section are not entry points */
	CHECK_EQ(count_programs(obj), 2);
	first = bpfx_object__find_program_by_name(obj, "first");
	second = bpfx_object__find_program_by_name(obj, "second");
	CHECK(first && second);
	if (!first || !second)
		goto out;
	CHECK_EQ(bpfx_object__load(obj), 0);
	/* first: body + twice; second: body + step + twice */
	const struct ld_func *twice = NULL, *step = NULL;
	for (size_t i = 0; i < obj->ld->func_cnt; i++) {
		if (!strcmp(obj->ld->funcs[i].name, "twice"))
			twice = &obj->ld->funcs[i];
		if (!strcmp(obj->ld->funcs[i].name, "step"))
			step = &obj->ld->funcs[i];
	}
	CHECK(twice && step);
	if (!twice || !step)
		goto out;
	CHECK_EQ(first->insn_cnt, first->sec_insn_cnt + twice->insn_cnt);
	CHECK_EQ(second->insn_cnt,
		 second->sec_insn_cnt + step->insn_cnt + twice->insn_cnt);
	/* the callback pointer lands on step, the call in step on twice */
	const struct bpf_insn *in = second->insns;
	size_t body = second->sec_insn_cnt;
	for (size_t i = 0; i < second->insn_cnt; i++) {
		if (in[i].code == LD_OP_LDDW &&
		    in[i].src_reg == BPF_PSEUDO_FUNC)
			CHECK_EQ(i + 1 + in[i].imm, body);
		if (in[i].code == LD_OP_CALL &&
		    in[i].src_reg == BPF_PSEUDO_CALL)
			CHECK_EQ(i + 1 + in[i].imm, body + step->insn_cnt);
		if (in[i].code == LD_OP_LDDW)
			i++;
	}
out:
	bpfx_object__close(obj);
}

static void test_load_errors(void)
{
	const char *path = compile("externs", src_bad_externs);
	struct bpfx_object *obj;
	struct bpfx_program *p;
	const char *e;

	if (!path)
		return;
	obj = bpfx_object__open_file(path, NULL);
	CHECK(obj);
	if (!obj)
		return;
	log_reset();
	CHECK(bpfx_object__load(obj) < 0);
	/* a sibling's failure does not stop the good one */
	CHECK(bpfx_object__find_program_by_name(obj, "good")->loaded);
	p = bpfx_object__find_program_by_name(obj, "uses_kfunc");
	e = bpfx_program__load_error(p);
	CHECK(!p->loaded && e);
	if (e) {
		CHECK(strstr(e, "externs.o: section tc: insn "));
		CHECK(strstr(e, "kfunc 'bpf_no_such_kfunc' not found"));
		CHECK(strstr(e, "(externs.c:11)"));
	}
	CHECK(log_has("kfunc 'bpf_no_such_kfunc' not found"));
	p = bpfx_object__find_program_by_name(obj, "uses_kconfig");
	e = bpfx_program__load_error(p);
	CHECK(e && strstr(e, "__kconfig extern 'CONFIG_HZ' is unsupported"));
	p = bpfx_object__find_program_by_name(obj, "uses_ksym");
	e = bpfx_program__load_error(p);
	CHECK(e && strstr(e, "__ksym extern 'bpf_prog_active' is "
			     "unsupported"));
	p = bpfx_object__find_program_by_name(obj, "untyped");
	CHECK_EQ(bpfx_program__type(p), BPF_PROG_TYPE_UNSPEC);
	e = bpfx_program__load_error(p);
	CHECK(e && strstr(e, "unknown section name"));
	bpfx_object__close(obj);
}

static void test_section_table(void)
{
	static const struct {
		const char *name;
		u32 type, attach;
	} cases[] = {
		{"socket", BPF_PROG_TYPE_SOCKET_FILTER, 0},
		{"kprobe/do_sys_open", BPF_PROG_TYPE_KPROBE, 0},
		{"kretprobe/x", BPF_PROG_TYPE_KPROBE, 0},
		{"uprobe", BPF_PROG_TYPE_KPROBE, 0},
		{"tc", BPF_PROG_TYPE_SCHED_CLS, 0},
		{"tc/ingress", BPF_PROG_TYPE_SCHED_CLS, LD_ATTACH_TCX_INGRESS},
		{"tcx/egress", BPF_PROG_TYPE_SCHED_CLS, LD_ATTACH_TCX_EGRESS},
		{"classifier", BPF_PROG_TYPE_SCHED_CLS, 0},
		{"action", BPF_PROG_TYPE_SCHED_ACT, 0},
		{"tracepoint/syscalls/sys_enter_open",
		 BPF_PROG_TYPE_TRACEPOINT, 0},
		{"tp/a/b", BPF_PROG_TYPE_TRACEPOINT, 0},
		{"raw_tp/sys_enter", BPF_PROG_TYPE_RAW_TRACEPOINT, 0},
		{"raw_tracepoint.w/x", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0},
		{"tp_btf/sched_switch", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP},
		{"fentry/foo", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY},
		{"fexit/foo", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT},
		{"fmod_ret/foo", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN},
		{"lsm/file_open", BPF_PROG_TYPE_LSM, BPF_LSM_MAC},
		{"iter/task", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER},
		{"syscall", BPF_PROG_TYPE_SYSCALL, 0},
		{"xdp", BPF_PROG_TYPE_XDP, BPF_XDP},
		{"xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP},
		{"xdp/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP},
		{"perf_event", BPF_PROG_TYPE_PERF_EVENT, 0},
		{"lwt_in", BPF_PROG_TYPE_LWT_IN, 0},
		{"lwt_seg6local", BPF_PROG_TYPE_LWT_SEG6LOCAL, 0},
		{"cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB,
		 BPF_CGROUP_INET_INGRESS},
		{"cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB,
		 BPF_CGROUP_INET_EGRESS},
		{"cgroup/skb", BPF_PROG_TYPE_CGROUP_SKB, 0},
		{"cgroup/sock", BPF_PROG_TYPE_CGROUP_SOCK,
		 BPF_CGROUP_INET_SOCK_CREATE},
		{"cgroup/sock_release", BPF_PROG_TYPE_CGROUP_SOCK,
		 BPF_CGROUP_INET_SOCK_RELEASE},
		{"cgroup/connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
		 BPF_CGROUP_INET4_CONNECT},
		{"cgroup/dev", BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE},
		{"sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS},
		{"sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB,
		 BPF_SK_SKB_STREAM_PARSER},
		{"sk_skb", BPF_PROG_TYPE_SK_SKB, 0},
		{"sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT},
		{"flow_dissector", BPF_PROG_TYPE_FLOW_DISSECTOR,
		 BPF_FLOW_DISSECTOR},
		{"cgroup/sysctl", BPF_PROG_TYPE_CGROUP_SYSCTL, BPF_CGROUP_SYSCTL},
		{"cgroup/getsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT,
		 BPF_CGROUP_GETSOCKOPT},
		{"struct_ops/x", BPF_PROG_TYPE_STRUCT_OPS, 0},
		{"sk_lookup", BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP},
		{"sk_reuseport", BPF_PROG_TYPE_SK_REUSEPORT,
		 BPF_SK_REUSEPORT_SELECT},
		{"netfilter", LD_PROG_TYPE_NETFILTER, LD_ATTACH_NETFILTER},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct ld_sec_def *def = ld_sec_def_find(cases[i].name);

		CHECK(def);
		if (!def) {
			fprintf(stderr, "no match: %s\n", cases[i].name);
			continue;
		}
		if (def->prog_type != cases[i].type ||
		    def->attach_type != cases[i].attach) {
			fprintf(stderr, "%s: type %u attach %u\n",
				cases[i].name, def->prog_type,
				def->attach_type);
			test_failed_checks++;
		}
	}
	/* "+" needs '/' after the name; exact names need an exact match */
	CHECK(!ld_sec_def_find("kprobex"));
	CHECK(!ld_sec_def_find("xdpfoo"));
	CHECK(!ld_sec_def_find("socket/x"));
	CHECK(strcmp(prog_type_name(BPF_PROG_TYPE_SCHED_CLS), "sched_cls") ==
	      0);
	CHECK(strcmp(prog_type_name(999), "unknown") == 0);
}

/* ---- bad input ---- */

static unsigned int rng_state = 12345;

static unsigned int rnd(void)
{
	rng_state = rng_state * 1103515245 + 12345;
	return rng_state >> 8;
}

/* Opens (and when it opens, loads) BUF; must never crash. */
static void open_load_close(const void *buf, size_t size)
{
	struct bpfx_object *obj = bpfx_object__open_mem(buf, size, NULL);

	if (obj) {
		bpfx_object__load(obj);
		bpfx_object__close(obj);
	} else {
		CHECK(errno != 0);
	}
}

static Elf64_Shdr *find_shdr(u8 *buf, const char *name)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff);
	const char *strs = (const char *)buf + sh[eh->e_shstrndx].sh_offset;

	for (int i = 0; i < eh->e_shnum; i++)
		if (strcmp(strs + sh[i].sh_name, name) == 0)
			return &sh[i];
	return NULL;
}

static bool open_fails_with(const void *buf, size_t size, const char *msg)
{
	struct bpfx_object *obj;

	log_reset();
	obj = bpfx_object__open_mem(buf, size, NULL);
	if (obj) {
		fprintf(stderr, "opened, want \"%s\"\n", msg);
		bpfx_object__close(obj);
		return false;
	}
	return errno != 0 && log_has(msg);
}

static void test_bad_elf(void)
{
	const char *path = compile("bad", src_link);
	u8 *orig, *buf;
	size_t size;

	setup();
	CHECK(!bpfx_object__open_mem("", 0, NULL));
	CHECK(open_fails_with("\x7f" "ELF", 4, "file too short"));
	CHECK(open_fails_with("0123456789abcdefghijklmnopqrstuvwxyz", 36,
			      "not an ELF file"));
	CHECK(!bpfx_object__open_file("/nonexistent/x.o", NULL) &&
	      errno == ENOENT);
	CHECK(!bpfx_object__open_file("/tmp", NULL) && errno == EINVAL);
	/* random bytes, with and without an ELF magic */
	for (int i = 0; i < 300; i++) {
		u8 junk[512];
		size_t n = rnd() % sizeof(junk);

		for (size_t k = 0; k < n; k++)
			junk[k] = rnd();
		if (i % 2 && n >= 64) {
			memcpy(junk, "\x7f" "ELF\x02\x01\x01", 7);
			junk[16] = ET_REL;
			junk[18] = EM_BPF;
		}
		open_load_close(junk, n);
	}
	if (!path)
		return;
	orig = read_all(path, &size);
	CHECK(orig);
	if (!orig)
		return;
	buf = malloc(size);

	/* every truncation */
	for (size_t n = 0; n < size; n += (n < 512 ? 1 : 7))
		open_load_close(orig, n);

	/* wrong machine */
	memcpy(buf, orig, size);
	((Elf64_Ehdr *)buf)->e_machine = EM_X86_64;
	CHECK(open_fails_with(buf, size, "elf: memory: machine 62 is not "
				       "EM_BPF"));
	/* section headers out of the file */
	memcpy(buf, orig, size);
	((Elf64_Ehdr *)buf)->e_shoff = size - 8;
	open_load_close(buf, size);
	memcpy(buf, orig, size);
	find_shdr(buf, "xdp")->sh_offset = size + 100;
	CHECK(open_fails_with(buf, size, "section xdp: data (offset"));
	memcpy(buf, orig, size);
	find_shdr(buf, ".text")->sh_size = 0x7fffffff0ULL;
	CHECK(open_fails_with(buf, size, "section .text: "));
	memcpy(buf, orig, size);
	find_shdr(buf, ".text")->sh_name = 0x7fffffff;
	CHECK(open_fails_with(buf, size, "bad name offset"));

	/* a symbol with a bad section index */
	memcpy(buf, orig, size);
	{
		Elf64_Shdr *st = find_shdr(buf, ".symtab");
		Elf64_Sym *sym = (Elf64_Sym *)(buf + st->sh_offset);
		size_t cnt = st->sh_size / sizeof(*sym);

		for (size_t k = 1; k < cnt; k++)
			if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC) {
				sym[k].st_shndx = 999;
				break;
			}
		CHECK(open_fails_with(buf, size, "bad section index 999"));
		/* a function running off its section */
		memcpy(buf, orig, size);
		for (size_t k = 1; k < cnt; k++)
			if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC) {
				sym[k].st_size = 0x10000;
				break;
			}
		CHECK(open_fails_with(buf, size, "does not fit the section"));
	}

	/* relocations: a bad symbol index, an unknown type */
	memcpy(buf, orig, size);
	{
		Elf64_Shdr *rs = find_shdr(buf, ".relxdp");
		Elf64_Rel *rel = (Elf64_Rel *)(buf + rs->sh_offset);

		rel[0].r_info = ELF64_R_INFO(99999, ELF64_R_TYPE(rel[0].r_info));
		CHECK(open_fails_with(buf, size, "section .relxdp: relocation "
					       "#0: bad symbol index 99999"));
		memcpy(buf, orig, size);
		rel[0].r_info = ELF64_R_INFO(ELF64_R_SYM(rel[0].r_info), 7);
		char want[128];
		snprintf(want, sizeof(want),
			 "elf: memory: section xdp: relocation at offset %#llx:"
			 " unsupported type 7",
			 (unsigned long long)rel[0].r_offset);
		CHECK(open_fails_with(buf, size, want));
		memcpy(buf, orig, size);
		rel[0].r_offset = 3;
		CHECK(open_fails_with(buf, size, "not on an instruction"));
		memcpy(buf, orig, size);
		find_shdr(buf, ".relxdp")->sh_info = 4444;
		CHECK(open_fails_with(buf, size, "bad target section index"));
	}

	/* bad BTF: with .maps present the object cannot open */
	memcpy(buf, orig, size);
	buf[find_shdr(buf, ".BTF")->sh_offset] ^= 0xff; /* magic */
	CHECK(open_fails_with(buf, size, "btf: memory: section .BTF: invalid "
				       "BTF"));
	/* flipped bytes anywhere in .BTF and .BTF.ext: no crash */
	{
		Elf64_Shdr *bs = find_shdr(orig, ".BTF");
		Elf64_Shdr *es = find_shdr(orig, ".BTF.ext");

		for (int i = 0; i < 400; i++) {
			Elf64_Shdr *s = i % 2 ? es : bs;

			memcpy(buf, orig, size);
			buf[s->sh_offset + rnd() % s->sh_size] ^= 1 << (rnd() % 8);
			open_load_close(buf, size);
		}
	}
	/* flipped bytes anywhere in the file */
	for (int i = 0; i < 1500; i++) {
		memcpy(buf, orig, size);
		for (int k = 0; k < 1 + i % 4; k++)
			buf[rnd() % size] ^= 1 << (rnd() % 8);
		open_load_close(buf, size);
	}
	free(buf);
	free(orig);
}

/* Damage that open accepts and load must report. */
static void test_bad_code(void)
{
	const char *path = compile("badcode", src_link);
	struct bpfx_object *obj;
	struct bpfx_program *p;
	u8 *orig, *buf;
	size_t size;

	if (!path)
		return;
	orig = read_all(path, &size);
	if (!orig)
		return;
	buf = malloc(size);

	/* sub_global's call to sub_static (unrelocated) far out of .text */
	memcpy(buf, orig, size);
	{
		Elf64_Shdr *t = find_shdr(buf, ".text");
		struct bpf_insn *in = (struct bpf_insn *)(buf + t->sh_offset);
		size_t cnt = t->sh_size / 8;

		for (size_t k = 0; k < cnt; k++)
			if (in[k].code == LD_OP_CALL &&
			    in[k].src_reg == BPF_PSEUDO_CALL) {
				in[k].imm = 1000;
				break;
			}
	}
	obj = bpfx_object__open_mem(buf, size, NULL);
	CHECK(obj);
	if (obj) {
		log_reset();
		p = bpfx_object__find_program_by_name(obj, "prog_d");
		CHECK(bpfx_program__load(p) < 0);
		CHECK(p->load_error &&
		      strstr(p->load_error, "memory: section tc: insn ") &&
		      strstr(p->load_error, "call to out-of-range target"));
		CHECK(log_has("call to out-of-range target"));
		/* prog_c does not call it and loads */
		CHECK_EQ(bpfx_program__load(
				 bpfx_object__find_program_by_name(obj,
								   "prog_c")),
			 0);
		bpfx_object__close(obj);
	}

	/* an lddw as the last instruction of prog_c */
	memcpy(buf, orig, size);
	{
		Elf64_Shdr *t = find_shdr(buf, "tc");
		struct bpf_insn *in = (struct bpf_insn *)(buf + t->sh_offset);

		in[1].code = LD_OP_LDDW; /* was exit */
	}
	obj = bpfx_object__open_mem(buf, size, NULL);
	CHECK(obj);
	if (obj) {
		p = bpfx_object__find_program_by_name(obj, "prog_c");
		CHECK(bpfx_program__load(p) < 0);
		CHECK(p->load_error &&
		      strstr(p->load_error, "insn 1: lddw at the end of "
					    "function 'prog_c'"));
		bpfx_object__close(obj);
	}

	/* an invalid opcode: isa_check's message, with the source line */
	memcpy(buf, orig, size);
	{
		Elf64_Shdr *t = find_shdr(buf, "tc");
		struct bpf_insn *in = (struct bpf_insn *)(buf + t->sh_offset);

		in[0].code = 0xff;
	}
	obj = bpfx_object__open_mem(buf, size, NULL);
	CHECK(obj);
	if (obj) {
		p = bpfx_object__find_program_by_name(obj, "prog_c");
		CHECK(bpfx_program__load(p) < 0);
		CHECK(p->load_error &&
		      strstr(p->load_error, "memory: section tc: insn 0: ") &&
		      strstr(p->load_error, "(badcode.c:"));
		bpfx_object__close(obj);
	}
	free(buf);
	free(orig);
}

static void test_open_opts(void)
{
	const char *path = compile("opts", src_link);
	BPFX_OPTS(bpfx_object_open_opts, opts, .object_name = "named");
	struct bpfx_object *obj;
	u8 *buf;
	size_t size;

	if (!path)
		return;
	buf = read_all(path, &size);
	if (!buf)
		return;
	obj = bpfx_object__open_mem(buf, size, &opts);
	free(buf); /* the object keeps its own copy */
	CHECK(obj);
	if (!obj)
		return;
	CHECK(strcmp(bpfx_object__name(obj), "named") == 0);
	CHECK(bpfx_object__find_map_by_name(obj, "named.data"));
	CHECK(bpfx_object__find_map_by_name(obj, "named.rodata"));
	CHECK(!bpfx_object__find_map_by_name(obj, "nope"));
	CHECK_EQ(bpfx_object__load(obj), 0);
	bpfx_object__close(obj);
}

/* An object with no entry sections (plain clang output, as the conformance
 * suite's ELF tests) offers its global .text functions; run on a buffer,
 * its global data is there. */
static void test_text_entry_run_raw(void)
{
	const char *path = compile("text_entry",
		"int counter = 5;\n"
		"static const int table[4] = { 10, 20, 30, 40 };\n"
		"int entry(unsigned char *mem, unsigned long len)\n"
		"{ counter += mem[0]; return counter + table[mem[1] & 3]; }\n");
	if (!path)
		return;
	struct bpfx_object *obj = bpfx_object__open_file(path, NULL);
	CHECK(obj != NULL);
	if (!obj)
		return;
	struct bpfx_program *prog = bpfx_object__find_program_by_name(obj, "entry");
	CHECK(prog != NULL);
	if (prog && bpfx_program__load(prog) == 0) {
		unsigned char mem[2] = { 3, 2 };
		uint64_t r0 = 0;
		BPFX_OPTS(bpfx_raw_run_opts, opts, .mem = mem, .mem_len = 2);
		CHECK_EQ(bpfx_program__run_raw(prog, &opts, &r0), 0);
		CHECK_EQ(r0, 38); /* 5 + 3 + table[2] */
		CHECK_EQ(bpfx_program__run_raw(prog, &opts, &r0), 0);
		CHECK_EQ(r0, 41); /* the global kept its value */
	} else {
		CHECK(!"load");
	}
	bpfx_object__close(obj);
}

TEST_MAIN(TEST(test_section_table), TEST(test_programs),
	  TEST(test_program_load_alone), TEST(test_maps),
	  TEST(test_legacy_maps), TEST(test_same_section),
	  TEST(test_load_errors), TEST(test_open_opts),
	  TEST(test_bad_code), TEST(test_bad_elf),
	  TEST(test_text_entry_run_raw))

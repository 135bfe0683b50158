/*
 * The host kernel as an engine (BPFX_ENGINE_KERNEL): the reference that
 * bpfx's own engines are compared with.
 *
 * kernel_test_run() takes the program as bpfx's loader linked it and
 * recreates it in the running kernel through the raw bpf() syscall, the
 * way libbpf would, but from bpfx's object model rather than libbpf's:
 *
 *  1. A session holds what one run creates in the kernel: a map fd per
 *     bpfx map, a program fd per bpfx program, a BTF fd per object. All
 *     of them are closed when the run ends; nothing stays loaded, and
 *     nothing is ever attached (load and test_run only).
 *  2. BTF: the object's .BTF, copied and fixed up as libbpf does before
 *     BPF_BTF_LOAD: clang leaves every DATASEC with size 0 and its
 *     variables at offset 0 (the sizes come from the ELF sections, the
 *     offsets from the symbols, and the kernel wants them sorted); extern
 *     variables become allocated ones, extern functions static (their
 *     unnamed arguments named after the function), and a
 *     DATASEC entry that is not a VAR (a kfunc in .ksyms) points at a
 *     dummy int VAR. When the kernel refuses the BTF the reason is logged
 *     and the program loads without BTF, func_info or line_info.
 *  3. Maps: each map the program uses is created with its type, sizes,
 *     flags, name and BTF key/value types, then filled with the bpfx
 *     map's current contents, so both engines start from the same state.
 *     .rodata maps are frozen after filling, as libbpf does. Per-CPU
 *     values differ in layout: the kernel's user side exchanges
 *     round_up(value_size, 8) bytes for each *possible* kernel CPU, a bpfx
 *     map holds map->nr_cpus CPUs; CPUs the other side lacks read as zero
 *     on the way in and keep their bpfx value on the way out.
 *  4. The program: the linked instructions go in the kernel's fd_array
 *     form as they are (lddw src BPF_PSEUDO_MAP_IDX / _IDX_VALUE with imm
 *     an index into prog->maps; fd_array holds the kernel map fds in that
 *     order); kfunc calls carry bpfx's kfunc table index, which becomes
 *     the vmlinux BTF id of the kfunc's name. A rejection is retried with
 *     a verifier log, whose last lines become the error.
 *  5. prog_array maps: every program a slot holds is loaded the same way
 *     (once, recursively) and its kernel fd stored in the kernel map.
 *  6. BPF_PROG_TEST_RUN with the caller's data/ctx/repeat/flags; the
 *     thread is pinned for the run to the CPU bpfx's engines would use,
 *     so per-CPU slots line up between engines.
 *  7. Every map's contents come back into the bpfx map (updates, and
 *     deletes of keys that vanished). Ring buffers: the kernel ring starts
 *     empty (user space cannot produce into a kernel ring); afterwards its
 *     committed records are read through mmap and output into the bpfx
 *     ring in order, discarded ones skipped. Records already pending in
 *     the bpfx ring stay ahead of them, so a program that queries ring
 *     positions sees an empty ring in the kernel. prog_array contents
 *     (kernel prog fds) are not copied back. Map-in-map is not supported.
 *
 * The BTF fix-up needs the ELF sections' sizes and the symbols, hence
 * loader/loader.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel/kernel.h"
#include "loader/loader.h"

#define KERNEL_LOG_SIZE (4u << 20)
#define KERNEL_NAME_LEN 16 /* BPF_OBJ_NAME_LEN */
#define VMLINUX_BTF_PATH "/sys/kernel/btf/vmlinux"

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static u64 ptr_to_u64(const void *p)
{
	return (u64)(uintptr_t)p;
}

/* ---- is the kernel usable ---- */

static pthread_once_t avail_once = PTHREAD_ONCE_INIT;
static bool avail;
static char avail_why[160];

static void probe_kernel(void)
{
	union bpf_attr attr;
	long fd;

	if (access(VMLINUX_BTF_PATH, R_OK)) {
		snprintf(avail_why, sizeof(avail_why),
			 "no kernel BTF at %s: %s", VMLINUX_BTF_PATH,
			 strerror(errno));
		return;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = sys_bpf(BPF_MAP_CREATE, &attr);
	if (fd < 0) {
		int err = errno;

		snprintf(avail_why, sizeof(avail_why), "bpf() refused: %s%s",
			 strerror(err),
			 err == EPERM ? " (needs root or CAP_BPF)" : "");
		return;
	}
	close((int)fd);
	avail = true;
	snprintf(avail_why, sizeof(avail_why), "available");
}

bool bpfx_kernel_available(char *why, size_t sz)
{
	const char *off = getenv("BPFX_NO_KERNEL");

	if (off && *off && strcmp(off, "0")) {
		if (why && sz)
			snprintf(why, sz, "BPFX_NO_KERNEL is set");
		return false;
	}
	pthread_once(&avail_once, probe_kernel);
	if (why && sz)
		snprintf(why, sz, "%s", avail_why);
	return avail;
}

/* Number of possible CPUs: the kernel's per-CPU user layout uses it. */
static unsigned int kernel_possible_cpus(void)
{
	static unsigned int cached;
	char buf[256];
	unsigned int max = 0;
	FILE *f;

	if (cached)
		return cached;
	f = fopen("/sys/devices/system/cpu/possible", "r");
	if (f && fgets(buf, sizeof(buf), f)) {
		/* "0-3,5,8-9": the highest CPU number plus one */
		for (char *p = buf; *p;) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);

			if (end == p) {
				p++;
				continue;
			}
			if (v + 1 > max)
				max = (unsigned int)v + 1;
			p = end;
		}
	}
	if (f)
		fclose(f);
	cached = max ? max : runtime_nr_cpus();
	return cached;
}

static pthread_once_t vmlinux_once = PTHREAD_ONCE_INIT;
static struct btf *vmlinux_btf;

static void load_vmlinux_btf(void)
{
	struct btf *btf = btf__load_vmlinux_btf();

	vmlinux_btf = libbpf_get_error(btf) ? NULL : btf;
}

/* ---- a session: what one run creates in the kernel ---- */

struct kernel_map {
	struct bpfx_map *map;
	int fd;
	bool slots_filled; /* prog_array: slots hold kernel programs */
};

struct kernel_prog {
	struct bpfx_program *prog;
	int fd;
};

struct kernel_btf {
	struct bpfx_object *obj;
	int fd; /* -1 when the object has none or the kernel refused it */
};

struct session {
	struct kernel_map *maps;
	size_t map_cnt;
	struct kernel_prog *progs;
	size_t prog_cnt;
	struct kernel_btf *btfs;
	size_t btf_cnt;
	unsigned int kernel_cpus;
	char *log; /* verifier log, allocated on the first rejection */
	/* kernel_verify(): this program loads once, with the caller's log */
	const struct bpfx_program *verify_prog;
	char *verify_log;
	size_t verify_log_sz;
	u32 verify_log_level;
};

static void session_close(struct session *s)
{
	for (size_t i = 0; i < s->prog_cnt; i++)
		if (s->progs[i].fd >= 0)
			close(s->progs[i].fd);
	for (size_t i = 0; i < s->map_cnt; i++)
		if (s->maps[i].fd >= 0)
			close(s->maps[i].fd);
	for (size_t i = 0; i < s->btf_cnt; i++)
		if (s->btfs[i].fd >= 0)
			close(s->btfs[i].fd);
	free(s->maps);
	free(s->progs);
	free(s->btfs);
	free(s->log);
}

static void kernel_name(const char *name, char *out)
{
	size_t n = 0;

	for (; name && name[n] && n < KERNEL_NAME_LEN - 1; n++)
		out[n] = isalnum((unsigned char)name[n]) || name[n] == '_' ||
				 name[n] == '.'
			 ? name[n]
			 : '_';
	out[n] = '\0';
}

/* Logs the last lines of a kernel log at warn level, the whole log at
 * debug level. */
static void log_kernel_text(const char *what, const char *name,
			    const char *log, int err)
{
	size_t len = strlen(log);
	const char *tail;
	char msg[700];
	int lines = 0;

	for (const char *p = log, *nl; *p; p = nl + 1) {
		nl = strchrnul(p, '\n');
		if (nl > p)
			pr_debug("kernel: %s: %s: %.*s", name, what,
				 (int)(nl - p), p);
		if (!*nl)
			break;
	}
	/* the error is at the end, before "processed N insns" */
	while (len && log[len - 1] == '\n')
		len--;
	tail = log + len;
	while (tail > log && lines < 4 && (size_t)(log + len - tail) < 480) {
		tail--;
		if (*tail == '\n')
			lines++;
	}
	if (*tail == '\n')
		tail++;
	snprintf(msg, sizeof(msg), "%.*s", (int)(log + len - tail), tail);
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = '|';
	pr_warn("kernel: %s: %s (%s)%s%s", name, what, strerror(err),
		msg[0] ? ": " : "", msg);
}

/* ---- BTF ---- */

static int cmp_secinfo(const void *a, const void *b)
{
	const struct btf_var_secinfo *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static const struct ld_section *find_section(const struct loader_state *ld,
					     const char *name, int *idx)
{
	for (size_t i = 1; ld && i < ld->sec_cnt; i++)
		if (ld->secs[i].name && !strcmp(ld->secs[i].name, name)) {
			*idx = (int)i;
			return &ld->secs[i];
		}
	return NULL;
}

static const struct ld_symbol *find_symbol(const struct loader_state *ld,
					   int sec, const char *name)
{
	for (size_t i = 1; i < ld->sym_cnt; i++)
		if (ld->syms[i].shndx == (u32)sec && ld->syms[i].name &&
		    !strcmp(ld->syms[i].name, name))
			return &ld->syms[i];
	return NULL;
}

/* What libbpf does to an object's BTF before the kernel sees it. */
static int fixup_btf(struct bpfx_object *obj, struct btf *btf)
{
	u32 n = btf__type_cnt(btf);
	s32 dummy_var = 0;

	/* new types first: adding makes the BTF's type memory move */
	for (u32 id = 1; id < n && !dummy_var; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_var_secinfo *vsi;

		if (!btf_is_datasec(t))
			continue;
		vsi = btf_var_secinfos(t);
		for (u16 i = 0; i < btf_vlen(t); i++) {
			if (btf_is_var(btf__type_by_id(btf, vsi[i].type)))
				continue;
			s32 int_id = btf__add_int(btf, "int", 4,
						  BTF_INT_SIGNED);
			if (int_id < 0)
				return int_id;
			dummy_var = btf__add_var(btf, "dummy_ksym",
						 BTF_VAR_GLOBAL_ALLOCATED,
						 int_id);
			if (dummy_var < 0)
				return dummy_var;
			break;
		}
	}
	for (u32 id = 1; id < n; id++) {
		struct btf_type *t = (struct btf_type *)btf__type_by_id(btf, id);
		struct btf_var_secinfo *vsi;
		const struct ld_section *sec;
		const char *name;
		int sec_idx = 0;
		u32 off = 0;

		if (btf_is_func(t) && btf_vlen(t) == BTF_FUNC_EXTERN) {
			/* a static function's arguments need names: unnamed
			 * ones borrow the function's */
			struct btf_type *proto =
				(struct btf_type *)btf__type_by_id(btf, t->type);
			struct btf_param *param;

			t->info = (t->info & ~0xffffu) | BTF_FUNC_STATIC;
			if (!proto || !btf_is_func_proto(proto))
				continue;
			param = btf_params(proto);
			for (u16 i = 0; i < btf_vlen(proto); i++)
				if (!param[i].name_off && param[i].type)
					param[i].name_off = t->name_off;
			continue;
		}
		if (btf_is_var(t) &&
		    btf_var(t)->linkage == BTF_VAR_GLOBAL_EXTERN) {
			btf_var(t)->linkage = BTF_VAR_GLOBAL_ALLOCATED;
			continue;
		}
		if (!btf_is_datasec(t))
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		sec = name ? find_section(obj->ld, name, &sec_idx) : NULL;
		vsi = btf_var_secinfos(t);
		for (u16 i = 0; i < btf_vlen(t); i++) {
			const struct btf_type *v =
				btf__type_by_id(btf, vsi[i].type);
			const struct ld_symbol *sym = NULL;

			if (!btf_is_var(v)) { /* a kfunc in .ksyms */
				vsi[i].type = dummy_var;
				vsi[i].size = 4;
				v = btf__type_by_id(btf, dummy_var);
			}
			if (sec)
				sym = find_symbol(obj->ld, sec_idx,
						  btf__name_by_offset(btf,
								      v->name_off));
			if (sym) {
				vsi[i].offset = (u32)sym->value;
			} else {
				/* externs: laid out one after another */
				off = ROUND_UP(off, 8);
				vsi[i].offset = off;
				off += vsi[i].size;
			}
		}
		qsort(vsi, btf_vlen(t), sizeof(*vsi), cmp_secinfo);
		if (sec)
			t->size = (u32)sec->size;
		else if (!t->size)
			t->size = off;
	}
	return 0;
}

static int btf_fd_of(struct session *s, struct bpfx_object *obj)
{
	struct kernel_btf *list;
	union bpf_attr attr;
	struct btf *copy;
	const void *raw;
	u32 raw_sz;
	char *log;
	int fd = -1, err;

	for (size_t i = 0; i < s->btf_cnt; i++)
		if (s->btfs[i].obj == obj)
			return s->btfs[i].fd;
	list = realloc(s->btfs, (s->btf_cnt + 1) * sizeof(*list));
	if (!list)
		return -1;
	s->btfs = list;
	if (!obj->btf)
		goto out;
	raw = btf__raw_data(obj->btf, &raw_sz);
	copy = raw ? btf__new(raw, raw_sz) : NULL;
	if (libbpf_get_error(copy) || !copy) {
		pr_warn("kernel: %s: BTF: cannot copy the object's BTF; "
			"loading without BTF", obj->name);
		goto out;
	}
	err = fixup_btf(obj, copy);
	raw = err ? NULL : btf__raw_data(copy, &raw_sz);
	if (!raw) {
		pr_warn("kernel: %s: BTF: fix-up failed (%s); loading without "
			"BTF", obj->name, strerror(err ? -err : ENOMEM));
		btf__free(copy);
		goto out;
	}
	memset(&attr, 0, sizeof(attr));
	attr.btf = ptr_to_u64(raw);
	attr.btf_size = raw_sz;
	fd = (int)sys_bpf(BPF_BTF_LOAD, &attr);
	if (fd < 0 && (log = calloc(1, 1 << 16))) {
		err = errno;
		attr.btf_log_buf = ptr_to_u64(log);
		attr.btf_log_size = 1 << 16;
		attr.btf_log_level = 1;
		fd = (int)sys_bpf(BPF_BTF_LOAD, &attr);
		if (fd < 0)
			log_kernel_text("BTF refused; loading without BTF, "
					"func_info and line_info",
					obj->name, log, err);
		free(log);
	}
	btf__free(copy);
out:
	s->btfs[s->btf_cnt++] = (struct kernel_btf){ obj, fd < 0 ? -1 : fd };
	return fd < 0 ? -1 : fd;
}

/* ---- maps ---- */

static bool is_percpu(u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_hash(u32 type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_array(u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

/* Sizes of one value on each side. */
static size_t bpfx_value_size(const struct bpfx_map *map)
{
	return is_percpu(map->type)
		       ? (size_t)ROUND_UP(map->value_size, 8) * map->nr_cpus
		       : map->value_size;
}

static size_t kernel_value_size(const struct session *s,
				const struct bpfx_map *map)
{
	return is_percpu(map->type)
		       ? (size_t)ROUND_UP(map->value_size, 8) * s->kernel_cpus
		       : map->value_size;
}

/* Converts between the per-CPU layouts; CPUs only DST has keep DST's
 * bytes (callers zero DST or fill it with the old value first). */
static void copy_cpus(void *dst, unsigned int dst_cpus, const void *src,
		      unsigned int src_cpus, const struct bpfx_map *map)
{
	size_t stride = ROUND_UP(map->value_size, 8);

	if (!is_percpu(map->type)) {
		memcpy(dst, src, map->value_size);
		return;
	}
	memcpy(dst, src, stride * MIN(dst_cpus, src_cpus));
}

static int kmap_update(int fd, const void *key, const void *value, u64 flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = ptr_to_u64(key);
	attr.value = ptr_to_u64(value);
	attr.flags = flags;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &attr) ? -errno : 0;
}

static int kmap_lookup(int fd, const void *key, void *value)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = ptr_to_u64(key);
	attr.value = ptr_to_u64(value);
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr) ? -errno : 0;
}

static int kmap_next_key(int fd, const void *key, void *next)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = ptr_to_u64(key);
	attr.next_key = ptr_to_u64(next);
	return sys_bpf(BPF_MAP_GET_NEXT_KEY, &attr) ? -errno : 0;
}

/* Copies the bpfx map's entries into the new kernel map. */
static int push_contents(struct session *s, struct bpfx_map *map, int fd)
{
	size_t bsz = bpfx_value_size(map), ksz = kernel_value_size(s, map);
	u8 *key = calloc(1, map->key_size + 1), *next = calloc(1, map->key_size + 1);
	u8 *bval = calloc(1, bsz + 1), *kval = calloc(1, ksz + 1);
	bool have = false;
	int err = -ENOMEM;

	if (!key || !next || !bval || !kval)
		goto out;
	err = 0;
	while (!err && map->ops->get_next_key &&
	       !map->ops->get_next_key(map, have ? key : NULL, next)) {
		memcpy(key, next, map->key_size);
		have = true;
		if (map->ops->lookup_copy(map, key, bval))
			continue;
		memset(kval, 0, ksz);
		copy_cpus(kval, s->kernel_cpus, bval, map->nr_cpus, map);
		err = kmap_update(fd, key, kval, BPF_ANY);
		if (err)
			pr_warn("kernel: map %s: cannot copy an entry in: %s",
				map->name, strerror(-err));
	}
out:
	free(key);
	free(next);
	free(bval);
	free(kval);
	return err;
}

static struct kernel_map *session_map(struct session *s, struct bpfx_map *map)
{
	for (size_t i = 0; i < s->map_cnt; i++)
		if (s->maps[i].map == map)
			return &s->maps[i];
	return NULL;
}

static int create_map(struct session *s, struct bpfx_map *map, int *fd_out);

/* BPF_MAP_CREATE with ATTR and, where OBJ has BTF, DEF's key and value
 * types in it; without them when the kernel refuses the BTF. */
static int map_create_btf(struct session *s, struct bpfx_object *obj,
			  const struct bpfx_map *def, union bpf_attr *attr)
{
	int btf_fd = btf_fd_of(s, obj), fd;

	if (btf_fd >= 0 && def->btf_value_type_id) {
		attr->btf_fd = btf_fd;
		attr->btf_key_type_id = def->btf_key_type_id;
		attr->btf_value_type_id = def->btf_value_type_id;
	}
	fd = (int)sys_bpf(BPF_MAP_CREATE, attr);
	if (fd < 0 && attr->btf_fd) {
		pr_debug("kernel: map %s: refused with BTF (%s); retrying "
			 "without", def->name, strerror(errno));
		attr->btf_fd = 0;
		attr->btf_key_type_id = 0;
		attr->btf_value_type_id = 0;
		fd = (int)sys_bpf(BPF_MAP_CREATE, attr);
	}
	return fd;
}

/* Records FD (of MAP, or NULL for a template) in the session, which closes
 * it; closes it itself when it cannot. */
static int session_add_map(struct session *s, struct bpfx_map *map, int fd)
{
	struct kernel_map *list;

	list = realloc(s->maps, (s->map_cnt + 1) * sizeof(*list));
	if (!list) {
		close(fd);
		return -ENOMEM;
	}
	s->maps = list;
	s->maps[s->map_cnt++] = (struct kernel_map){ map, fd, false };
	return 0;
}

/* A map-in-map is created with a template of its inner maps: the inner
 * definition the object gave (the session closes it with the maps), else
 * the first inner map it holds. Returns the template's fd. */
static int create_inner_template(struct session *s, struct bpfx_map *map)
{
	const struct bpfx_map *tmpl = map->inner_map;
	char name[KERNEL_NAME_LEN];
	union bpf_attr attr;
	int fd, err;

	if (!tmpl || map_type_is_map_in_map(tmpl->type)) {
		pr_warn("kernel: map %s: no inner map definition to create it "
			"with", map->name);
		return -EINVAL;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = tmpl->type;
	attr.key_size = tmpl->key_size;
	attr.value_size = tmpl->value_size;
	attr.max_entries = MAX(tmpl->max_entries, 1u);
	attr.map_flags = tmpl->map_flags;
	kernel_name(tmpl->name ? tmpl->name : map->name, name);
	memcpy(attr.map_name, name, sizeof(attr.map_name));
	/* with the value's BTF: lists, trees, timers need it */
	fd = map_create_btf(s, map->obj, tmpl, &attr);
	if (fd < 0) {
		err = -errno;
		pr_warn("kernel: map %s: cannot create its inner map template "
			"(%s map, key %u, value %u): %s", map->name,
			map_type_name(tmpl->type), tmpl->key_size,
			tmpl->value_size, strerror(-err));
		return err;
	}
	/* kept with the session's maps (closed with them), never pulled */
	err = session_add_map(s, NULL, fd);
	return err ? err : fd;
}

/* Fills a kernel map-in-map with kernel copies of the inner maps its bpfx
 * slots hold (bpfx keeps inner maps by bpfx fd). */
static int push_inner_maps(struct session *s, struct bpfx_map *map, int fd)
{
	u8 *key = calloc(1, map->key_size + 1), *next = calloc(1, map->key_size + 1);
	bool have = false;
	int err = key && next ? 0 : -ENOMEM;

	while (!err && !map->ops->get_next_key(map, have ? key : NULL, next)) {
		struct bpfx_map *inner;
		u32 bfd;
		int kfd;

		memcpy(key, next, map->key_size);
		have = true;
		if (map->ops->lookup_copy(map, key, &bfd))
			continue;
		inner = fd_lookup((int)bfd, FD_MAP);
		if (!inner) {
			pr_warn("kernel: map %s: a slot holds fd %u, which is no "
				"longer a map", map->name, bfd);
			err = -EBADF;
			break;
		}
		err = create_map(s, inner, &kfd);
		if (!err)
			err = kmap_update(fd, key, &kfd, BPF_ANY);
		if (err)
			pr_warn("kernel: map %s: cannot fill a slot with map %s: "
				"%s", map->name, inner->name, strerror(-err));
	}
	free(key);
	free(next);
	return err;
}

static int create_map(struct session *s, struct bpfx_map *map, int *fd_out)
{
	struct kernel_map *km = session_map(s, map);
	char name[KERNEL_NAME_LEN];
	union bpf_attr attr;
	int fd, err;

	if (km) {
		*fd_out = km->fd;
		return 0;
	}
	if (!map->ops) {
		pr_warn("kernel: map %s: not created by bpfx", map->name);
		return -EINVAL;
	}

	memset(&attr, 0, sizeof(attr));
	attr.map_type = map->type;
	attr.key_size = map->key_size;
	attr.value_size = map->value_size;
	attr.max_entries = map->max_entries;
	attr.map_flags = map->map_flags;
	if (map->is_global_data) {
		char kname[32];

		ld_map_kernel_name(map->obj, map, kname, sizeof(kname));
		kernel_name(kname, name);
	} else {
		kernel_name(map->name, name);
	}
	memcpy(attr.map_name, name, sizeof(attr.map_name));
	if (map_type_is_map_in_map(map->type)) {
		err = create_inner_template(s, map);
		if (err < 0)
			return err;
		attr.inner_map_fd = (u32)err;
	}
	fd = map_create_btf(s, map->obj, map, &attr);
	if (fd < 0) {
		err = -errno;
		pr_warn("kernel: map %s: cannot create %s map (key %u, value %u, "
			"max_entries %u, flags %#x): %s", map->name,
			map_type_name(map->type), map->key_size, map->value_size,
			map->max_entries, map->map_flags, strerror(-err));
		return err;
	}
	err = session_add_map(s, map, fd);
	if (err)
		return err;
	if (map_type_is_map_in_map(map->type)) {
		err = push_inner_maps(s, map, fd);
		if (err)
			return err;
	} else if (map->type != BPF_MAP_TYPE_PROG_ARRAY &&
		   map->type != BPF_MAP_TYPE_RINGBUF) {
		err = push_contents(s, map, fd);
		if (err)
			return err;
	}
	if (map->rdonly_prog && map->is_global_data) {
		memset(&attr, 0, sizeof(attr));
		attr.map_fd = fd;
		if (sys_bpf(BPF_MAP_FREEZE, &attr)) {
			err = -errno;
			pr_warn("kernel: map %s: cannot freeze: %s", map->name,
				strerror(-err));
			return err;
		}
	}
	*fd_out = fd;
	return 0;
}

/* ---- programs ---- */

static int load_prog(struct session *s, struct bpfx_program *prog, int *fd_out);

/* Fills a kernel prog_array with the kernel programs of its bpfx slots. */
static int fill_prog_array(struct session *s, size_t idx)
{
	/* s->maps moves as targets create maps: index it every time */
	struct bpfx_map *map = s->maps[idx].map;
	int err = 0;

	if (s->maps[idx].slots_filled)
		return 0;
	s->maps[idx].slots_filled = true;
	for (u32 key = 0; key < map->max_entries && !err; key++) {
		struct bpfx_program *target = prog_array_get(map, key);
		int fd;

		if (!target)
			continue;
		err = load_prog(s, target, &fd);
		if (!err)
			err = kmap_update(s->maps[idx].fd, &key, &fd, BPF_ANY);
		if (err)
			pr_warn("kernel: map %s: slot %u: program %s: %s",
				map->name, key, target->name, strerror(-err));
	}
	return err;
}

static u32 prog_flags(const struct bpfx_program *prog)
{
	const char *sec = prog->sec_name ? prog->sec_name : "";
	size_t len = strlen(sec);
	u32 flags = 0;

	if (sec[0] == '?')
		sec++, len--;
	/* as libbpf's section table: syscall and "*.s" sections sleep */
	if (prog->type == BPF_PROG_TYPE_SYSCALL ||
	    (len > 2 && !strcmp(sec + len - 2, ".s")) || strstr(sec, ".s/"))
		flags |= BPF_F_SLEEPABLE;
	if (!strncmp(sec, "xdp.frags", 9))
		flags |= BPF_F_XDP_HAS_FRAGS;
	return flags;
}

/* Programs that name a kernel function or tracepoint in their section
 * (fentry/NAME, tp_btf/NAME, lsm/NAME, iter/NAME, ...) load with the BTF id
 * of that target in vmlinux, found the way libbpf finds it. Loading does not
 * attach: the kernel engine never attaches. Returns 0 when the program needs
 * no target, the id when found, or a negative errno with a warning. */
static int attach_btf_id(const struct bpfx_program *prog)
{
	static const struct {
		const char *prefix, *target_prefix;
		int kind;
	} targets[] = {
		{ "fentry/", "", BTF_KIND_FUNC },
		{ "fentry.s/", "", BTF_KIND_FUNC },
		{ "fexit/", "", BTF_KIND_FUNC },
		{ "fexit.s/", "", BTF_KIND_FUNC },
		{ "fmod_ret/", "", BTF_KIND_FUNC },
		{ "fmod_ret.s/", "", BTF_KIND_FUNC },
		{ "tp_btf/", "btf_trace_", BTF_KIND_TYPEDEF },
		{ "lsm/", "bpf_lsm_", BTF_KIND_FUNC },
		{ "lsm.s/", "bpf_lsm_", BTF_KIND_FUNC },
		{ "lsm_cgroup/", "bpf_lsm_", BTF_KIND_FUNC },
		{ "iter/", "bpf_iter_", BTF_KIND_FUNC },
		{ "iter.s/", "bpf_iter_", BTF_KIND_FUNC },
	};
	const char *sec = prog->sec_name ? prog->sec_name : "";
	char name[256];
	int id;

	if (prog->type != BPF_PROG_TYPE_TRACING &&
	    prog->type != BPF_PROG_TYPE_LSM && prog->type != BPF_PROG_TYPE_EXT)
		return 0;
	if (sec[0] == '?')
		sec++;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		size_t len = strlen(targets[i].prefix);

		if (strncmp(sec, targets[i].prefix, len))
			continue;
		if (snprintf(name, sizeof(name), "%s%s",
			     targets[i].target_prefix, sec + len) >=
		    (int)sizeof(name))
			break;
		pthread_once(&vmlinux_once, load_vmlinux_btf);
		id = vmlinux_btf ? btf__find_by_name_kind(vmlinux_btf, name,
							  targets[i].kind)
				 : -ENOENT;
		if (id <= 0) {
			pr_warn("kernel: %s: section %s: attach target %s is "
				"not in the kernel's BTF", prog->name,
				prog->sec_name, name);
			return -ENOENT;
		}
		return id;
	}
	pr_warn("kernel: %s: section %s: the kernel engine cannot name this "
		"program's attach target (freplace and raw BTF ids are not "
		"supported)", prog->name, prog->sec_name);
	return -EOPNOTSUPP;
}

static int prog_load_attempt(struct bpfx_program *prog, union bpf_attr *attr,
			     struct session *s)
{
	int fd, err;

	if (prog == s->verify_prog) {
		attr->log_buf = ptr_to_u64(s->verify_log);
		attr->log_size = (u32)s->verify_log_sz;
		attr->log_level = s->verify_log_level;
		fd = (int)sys_bpf(BPF_PROG_LOAD, attr);
		return fd >= 0 ? fd : -errno;
	}
	fd = (int)sys_bpf(BPF_PROG_LOAD, attr);

	if (fd >= 0)
		return fd;
	err = errno;
	if (!s->log)
		s->log = malloc(KERNEL_LOG_SIZE);
	if (s->log) {
		s->log[0] = '\0';
		attr->log_buf = ptr_to_u64(s->log);
		attr->log_size = KERNEL_LOG_SIZE;
		attr->log_level = 1;
		fd = (int)sys_bpf(BPF_PROG_LOAD, attr);
		if (fd >= 0) /* accepted with a log: keep it */
			return fd;
		if (s->log[0])
			log_kernel_text("verifier rejected it", prog->name,
					s->log, err);
		else /* refused before the verifier ran: permissions, type */
			pr_warn("kernel: %s: the kernel refused to load it "
				"before verifying it (%s)", prog->name,
				strerror(err));
	} else {
		pr_warn("kernel: %s: rejected (%s)", prog->name, strerror(err));
	}
	return -err;
}

static int load_prog(struct session *s, struct bpfx_program *prog, int *fd_out)
{
	struct kernel_prog *list;
	struct bpf_insn *insns = NULL;
	int *fds = NULL;
	char name[KERNEL_NAME_LEN];
	union bpf_attr attr;
	int fd = -1, err = 0, btf_fd;

	for (size_t i = 0; i < s->prog_cnt; i++)
		if (s->progs[i].prog == prog) {
			*fd_out = s->progs[i].fd;
			return 0;
		}
	if (!prog->insns || !prog->insn_cnt) {
		pr_warn("kernel: %s: not linked", prog->name);
		return -EINVAL;
	}
	fds = calloc(prog->map_cnt + 1, sizeof(*fds));
	insns = malloc(prog->insn_cnt * sizeof(*insns));
	if (!fds || !insns) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < prog->map_cnt && !err; i++)
		err = create_map(s, prog->maps[i], &fds[i]);
	if (err)
		goto out;

	memcpy(insns, prog->insns, prog->insn_cnt * sizeof(*insns));
	for (size_t i = 0; i < prog->insn_cnt; i++) {
		struct bpf_insn *insn = &insns[i];
		s32 id;

		if (insn->code != (BPF_JMP | BPF_CALL) ||
		    insn->src_reg != BPF_PSEUDO_KFUNC_CALL)
			continue;
		pthread_once(&vmlinux_once, load_vmlinux_btf);
		if (insn->imm < 0 || (size_t)insn->imm >= kfunc_cnt) {
			pr_warn("kernel: %s: insn %zu: bad kfunc index %d",
				prog->name, i, insn->imm);
			err = -EINVAL;
			goto out;
		}
		id = vmlinux_btf ? btf__find_by_name_kind(vmlinux_btf,
							   kfuncs[insn->imm].name,
							   BTF_KIND_FUNC)
				 : -ENOENT;
		if (id <= 0) {
			pr_warn("kernel: %s: insn %zu: kfunc %s not in the "
				"kernel's BTF", prog->name, i,
				kfuncs[insn->imm].name);
			err = -ENOENT;
			goto out;
		}
		insn->imm = id;
		insn->off = 0;
	}

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = prog->type;
	attr.expected_attach_type = prog->expected_attach_type;
	err = attach_btf_id(prog);
	if (err < 0)
		goto out;
	attr.attach_btf_id = (u32)err;
	err = 0;
	attr.insns = ptr_to_u64(insns);
	attr.insn_cnt = (u32)prog->insn_cnt;
	attr.license = ptr_to_u64(prog->obj->license);
	attr.kern_version = prog->obj->kern_version;
	attr.prog_flags = prog_flags(prog);
	attr.fd_array = ptr_to_u64(fds);
	kernel_name(prog->name, name);
	memcpy(attr.prog_name, name, sizeof(attr.prog_name));
	btf_fd = btf_fd_of(s, prog->obj);
	if (btf_fd >= 0) {
		attr.prog_btf_fd = btf_fd;
		if (prog->func_info_cnt) {
			attr.func_info = ptr_to_u64(prog->func_info);
			attr.func_info_cnt = (u32)prog->func_info_cnt;
			attr.func_info_rec_size = sizeof(*prog->func_info);
		}
		if (prog->line_info_cnt) {
			attr.line_info = ptr_to_u64(prog->line_info);
			attr.line_info_cnt = (u32)prog->line_info_cnt;
			attr.line_info_rec_size = sizeof(*prog->line_info);
		}
	}
	fd = prog_load_attempt(prog, &attr, s);
	if (fd < 0) {
		err = fd;
		goto out;
	}
	list = realloc(s->progs, (s->prog_cnt + 1) * sizeof(*list));
	if (!list) {
		close(fd);
		err = -ENOMEM;
		goto out;
	}
	s->progs = list;
	s->progs[s->prog_cnt++] = (struct kernel_prog){ prog, fd };
	*fd_out = fd;
	/* tail-call targets, now that this program is there for them */
	for (size_t i = 0; i < prog->map_cnt && !err; i++)
		if (prog->maps[i]->type == BPF_MAP_TYPE_PROG_ARRAY)
			err = fill_prog_array(s, session_map(s, prog->maps[i]) -
							 s->maps);
out:
	free(fds);
	free(insns);
	return err;
}

/* ---- copying maps back ---- */

static int cmp_key(const void *a, const void *b, void *key_size)
{
	return memcmp(a, b, *(const u32 *)key_size);
}

static bool has_key(const u8 *keys, size_t cnt, size_t ks, const u8 *key)
{
	size_t lo = 0, hi = cnt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(keys + mid * ks, key, ks);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int pull_ringbuf(struct kernel_map *km)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size = km->map->max_entries;
	u64 *cons;
	u8 *prod;
	int err = 0;

	cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, km->fd, 0);
	if (cons == MAP_FAILED)
		return -errno;
	prod = mmap(NULL, page + 2 * size, PROT_READ, MAP_SHARED, km->fd, page);
	if (prod == MAP_FAILED) {
		err = -errno;
		munmap(cons, page);
		return err;
	}
	u64 cpos = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
	u64 ppos = __atomic_load_n((u64 *)prod, __ATOMIC_ACQUIRE);
	u8 *data = prod + page;

	while (cpos < ppos) {
		u32 hdr = __atomic_load_n((u32 *)(data + (cpos & (size - 1))),
					  __ATOMIC_ACQUIRE);
		u32 len = hdr & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);

		if (hdr & BPF_RINGBUF_BUSY_BIT)
			break; /* reserved, never committed */
		if (!(hdr & BPF_RINGBUF_DISCARD_BIT)) {
			long r = ringbuf_output(km->map,
						data + (cpos & (size - 1)) +
							BPF_RINGBUF_HDR_SZ,
						len, 0);
			if (r < 0) {
				pr_warn("kernel: map %s: record of %u bytes does "
					"not fit the bpfx ring: %s",
					km->map->name, len, strerror((int)-r));
				err = (int)r;
				break;
			}
		}
		cpos += ROUND_UP(len + BPF_RINGBUF_HDR_SZ, 8);
	}
	__atomic_store_n(cons, cpos, __ATOMIC_RELEASE);
	munmap(prod, page + 2 * size);
	munmap(cons, page);
	return err;
}

static int pull_map(struct session *s, struct kernel_map *km)
{
	struct bpfx_map *map = km->map;
	size_t ks = map->key_size;
	size_t bsz = bpfx_value_size(map), ksz = kernel_value_size(s, map);
	size_t cap = MAX(map->max_entries, 1u), cnt = 0;
	u8 *keys = NULL, *key = calloc(1, ks + 1), *next = calloc(1, ks + 1);
	u8 *bval = calloc(1, bsz + 1), *kval = calloc(1, ksz + 1);
	int err = 0;

	if (map->type == BPF_MAP_TYPE_RINGBUF) {
		err = pull_ringbuf(km);
		goto out;
	}
	if (map->type == BPF_MAP_TYPE_PROG_ARRAY ||
	    (map->rdonly_prog && map->is_global_data) ||
	    (!is_hash(map->type) && !is_array(map->type)))
		goto out;
	keys = calloc(cap, ks ? ks : 1);
	if (!key || !next || !bval || !kval || !keys) {
		err = -ENOMEM;
		goto out;
	}
	/* the kernel's keys, sorted */
	for (bool have = false; cnt < cap; have = true) {
		if (kmap_next_key(km->fd, have ? keys + (cnt - 1) * ks : NULL,
				  keys + cnt * ks))
			break;
		cnt++;
	}
	qsort_r(keys, cnt, ks, cmp_key, &map->key_size);
	/* keys that vanished in the kernel */
	if (is_hash(map->type)) {
		bool have = false;

		while (!map->ops->get_next_key(map, have ? key : NULL, next)) {
			memcpy(key, next, ks);
			have = true;
			if (has_key(keys, cnt, ks, key))
				continue;
			map->ops->delete(map, key);
			have = false; /* restart: the walk lost its place */
		}
	}
	for (size_t i = 0; i < cnt && !err; i++) {
		const u8 *k = keys + i * ks;

		if (kmap_lookup(km->fd, k, kval))
			continue;
		/* CPUs the kernel lacks keep their bpfx value */
		if (map->ops->lookup_copy(map, k, bval))
			memset(bval, 0, bsz);
		copy_cpus(bval, map->nr_cpus, kval, s->kernel_cpus, map);
		err = map->ops->update_copy(map, k, bval, BPF_ANY);
		if (err)
			pr_warn("kernel: map %s: cannot copy an entry back: %s",
				map->name, strerror(-err));
	}
out:
	free(keys);
	free(key);
	free(next);
	free(bval);
	free(kval);
	return err;
}

/* ---- test_run ---- */

/* The CPU bpfx's engines would run on; the kernel run is pinned there. */
static int pin_cpu(const struct bpfx_test_run_opts *opts, cpu_set_t *saved)
{
	u32 flags = OPTS_GET(opts, flags, 0);
	int cpu = flags & BPF_F_TEST_RUN_ON_CPU ? (int)OPTS_GET(opts, cpu, 0)
						: run_thread_cpu();
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(*saved), saved))
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		pr_debug("kernel: cannot pin the run to CPU %d: %s", cpu,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int kernel_test_run(struct bpfx_program *prog, struct bpfx_test_run_opts *opts)
{
	struct session s = { .kernel_cpus = kernel_possible_cpus() };
	char why[160];
	union bpf_attr attr;
	cpu_set_t saved;
	void *ctx_copy = NULL;
	int fd, err, pinned;
	bool syscall_ctx;

	if (!bpfx_kernel_available(why, sizeof(why))) {
		pr_warn("kernel: %s: the kernel engine is not available: %s",
			prog->name, why);
		return -EOPNOTSUPP;
	}
	err = load_prog(&s, prog, &fd);
	if (err)
		goto out;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = fd;
	attr.test.data_in = ptr_to_u64(OPTS_GET(opts, data_in, NULL));
	attr.test.data_size_in = OPTS_GET(opts, data_size_in, 0);
	attr.test.data_out = ptr_to_u64(OPTS_GET(opts, data_out, NULL));
	attr.test.data_size_out = OPTS_GET(opts, data_size_out, 0);
	attr.test.ctx_in = ptr_to_u64(OPTS_GET(opts, ctx_in, NULL));
	attr.test.ctx_size_in = OPTS_GET(opts, ctx_size_in, 0);
	attr.test.ctx_out = ptr_to_u64(OPTS_GET(opts, ctx_out, NULL));
	attr.test.ctx_size_out = OPTS_GET(opts, ctx_size_out, 0);
	/* repeat 1 is what 0 means; syscall programs refuse any repeat */
	attr.test.repeat = OPTS_GET(opts, repeat, 0) > 1
				   ? (u32)OPTS_GET(opts, repeat, 0)
				   : 0;
	attr.test.flags = OPTS_GET(opts, flags, 0);
	attr.test.cpu = OPTS_GET(opts, cpu, 0);
	/* syscall programs write the context back into ctx_in and refuse a
	 * ctx_out, raw tracepoints refuse it too (and any repeat): run on a
	 * copy and hand the copy out as ctx_out */
	syscall_ctx = (prog->type == BPF_PROG_TYPE_SYSCALL ||
		       prog->type == BPF_PROG_TYPE_RAW_TRACEPOINT) &&
		      attr.test.ctx_in;
	if (prog->type == BPF_PROG_TYPE_RAW_TRACEPOINT)
		attr.test.repeat = 0;
	if (syscall_ctx) {
		ctx_copy = malloc(attr.test.ctx_size_in ? attr.test.ctx_size_in
							: 1);
		if (!ctx_copy) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(ctx_copy, opts->ctx_in, attr.test.ctx_size_in);
		attr.test.ctx_in = ptr_to_u64(ctx_copy);
		attr.test.ctx_out = 0;
		attr.test.ctx_size_out = 0;
	}

	pinned = pin_cpu(opts, &saved);
	err = sys_bpf(BPF_PROG_TEST_RUN, &attr) ? -errno : 0;
	if (!pinned)
		sched_setaffinity(0, sizeof(saved), &saved);
	if (err && err != -ENOSPC) {
		pr_warn("kernel: %s: test_run: %s", prog->name,
			strerror(-err));
		goto out;
	}
	u32 ctx_room = OPTS_GET(opts, ctx_size_out, 0);
	opts->retval = attr.test.retval;
	OPTS_SET(opts, retval64, attr.test.retval);
	opts->duration = attr.test.duration;
	opts->data_size_out = attr.test.data_size_out;
	opts->ctx_size_out = attr.test.ctx_size_out;
	if (syscall_ctx && opts->ctx_out) {
		u32 size = attr.test.ctx_size_in;

		if (size > ctx_room) {
			size = ctx_room;
			err = -ENOSPC;
		}
		memcpy(opts->ctx_out, ctx_copy, size);
		opts->ctx_size_out = attr.test.ctx_size_in;
	}
	for (size_t i = 0; i < s.map_cnt; i++) {
		int e = s.maps[i].map ? pull_map(&s, &s.maps[i]) : 0;

		if (e && !err)
			err = e;
	}
out:
	free(ctx_copy);
	session_close(&s);
	return err;
}

/* The kernel's verdict, counts and time for PROG: loaded with the log at
 * LOG_LEVEL plus BPF_LOG_STATS, then closed; never run or attached. */
int kernel_verify(struct bpfx_program *prog, unsigned int log_level,
		  char *log, size_t log_sz, struct verifier_stats *stats)
{
	struct session s = { .kernel_cpus = kernel_possible_cpus() };
	char why[160], own[4096];
	const char *p;
	int fd, err;

	if (!bpfx_kernel_available(why, sizeof(why))) {
		pr_warn("kernel: %s: the kernel engine is not available: %s",
			prog->name, why);
		return -EOPNOTSUPP;
	}
	s.verify_prog = prog;
	s.verify_log = log && log_sz ? log : own;
	s.verify_log_sz = log && log_sz ? log_sz : sizeof(own);
	s.verify_log_level = (log_level & 3) | 4; /* BPF_LOG_STATS */
	s.verify_log[0] = '\0';
	err = load_prog(&s, prog, &fd);
	session_close(&s);
	memset(stats, 0, sizeof(*stats));
	p = strstr(s.verify_log, "processed ");
	while (p && strstr(p + 1, "processed "))
		p = strstr(p + 1, "processed ");
	if (p)
		sscanf(p, "processed %u insns (limit %*u) max_states_per_insn %u total_states %u peak_states %u",
		       &stats->insns_processed, &stats->max_states_per_insn,
		       &stats->total_states, &stats->peak_states);
	p = strstr(s.verify_log, "verification time ");
	if (p) {
		unsigned long long us = 0;

		sscanf(p, "verification time %llu usec", &us);
		stats->duration_ns = us * 1000;
	}
	return err;
}

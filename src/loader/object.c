/*
 * The object API: open (ELF, BTF, maps), load, close, and the getters.
 *
 * Open reads everything that does not depend on the runtime: sections,
 * programs, map definitions. Load works per program, so that one
 * program's failure never stops another: link it (link.c), create the
 * maps it references (once per object; map_create() in src/runtime),
 * check its instructions (isa_check), verify it (src/verifier) and
 * pre-decode it (interp_prepare). A failure is kept in prog->load_error as
 * "FILE: section SEC: insn N: reason (SOURCE.c:LINE)" and logged.
 *
 * Once a map exists its `.values` initialisation is applied: prog_array
 * slots get the named program's handle (loading that program if it is
 * not loaded yet), map-in-map slots the named map's handle. A program
 * whose load is under way is marked, so a slot that points back at it
 * cannot recurse.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loader/loader.h"

static void free_program(struct bpfx_program *prog)
{
	if (!prog)
		return;
	if (prog->jit)
		jit_free(prog);
	if (prog->interp)
		interp_free(prog);
	mem_proof_free(prog);
	if (prog->fd >= 0)
		fd_free(prog->fd);
	free(prog->name);
	free(prog->sec_name);
	free(prog->load_error);
	free(prog->insns);
	free(prog->maps);
	free(prog->func_info);
	free(prog->line_info);
	free(prog);
}

void bpfx_object__close(struct bpfx_object *obj)
{
	if (!obj)
		return;
	/* timers first: their callbacks run the object's programs */
	timers_object_close(obj);
	for (size_t i = 0; i < obj->prog_cnt; i++)
		free_program(obj->progs[i]);
	for (size_t i = 0; i < obj->map_cnt; i++) {
		if (obj->maps[i]->fd >= 0)
			map_destroy(obj->maps[i]);
		ld_map_free(obj->maps[i]);
	}
	free(obj->progs);
	free(obj->maps);
	graph_cache_free(obj);
	btf__free(obj->btf);
	ld_state_free(obj->ld);
	free(obj->name);
	free(obj->path);
	free(obj);
}

static struct bpfx_object *
object_open(const void *buf, size_t size, const char *path,
	    const struct bpfx_object_open_opts *opts)
{
	const char *name = OPTS_GET(opts, object_name, NULL);
	unsigned int nr_cpus = OPTS_GET(opts, nr_cpus, 0);
	struct bpfx_object *obj;
	int err;

	obj = calloc(1, sizeof(*obj));
	if (!obj || !(obj->ld = calloc(1, sizeof(*obj->ld)))) {
		free(obj);
		errno = ENOMEM;
		return NULL;
	}
	if (path) {
		const char *base = strrchr(path, '/');

		obj->path = strdup(path);
		if (!name)
			name = base ? base + 1 : path;
	}
	obj->name = strdup(name ? name : "memory");
	if (!obj->name || (path && !obj->path)) {
		bpfx_object__close(obj);
		errno = ENOMEM;
		return NULL;
	}
	/* messages name the file, unless the caller named the object */
	obj->ld->label = OPTS_GET(opts, object_name, NULL) || !path ?
				 obj->name : obj->path;
	if (!nr_cpus)
		nr_cpus = runtime_nr_cpus();
	obj->nr_cpus = MIN(MAX(nr_cpus, 1u), (unsigned int)BPFX_MAX_NR_CPUS);

	err = ld_elf_open(obj, buf, size);
	if (!err)
		err = ld_btf_open(obj);
	if (!err)
		err = ld_maps_init(obj);
	if (err) {
		bpfx_object__close(obj);
		errno = err < 0 ? -err : EINVAL;
		return NULL;
	}
	return obj;
}

struct bpfx_object *
bpfx_object__open_mem(const void *buf, size_t size,
		      const struct bpfx_object_open_opts *opts)
{
	if (!buf || (opts && !opts_valid(opts, sizeof(*opts)))) {
		errno = EINVAL;
		return NULL;
	}
	return object_open(buf, size, NULL, opts);
}

struct bpfx_object *
bpfx_object__open_file(const char *path,
		       const struct bpfx_object_open_opts *opts)
{
	struct bpfx_object *obj;
	struct stat st;
	FILE *f;
	void *buf;
	int err;

	if (!path || (opts && !opts_valid(opts, sizeof(*opts)))) {
		errno = EINVAL;
		return NULL;
	}
	f = fopen(path, "rb");
	err = !f ? errno : fstat(fileno(f), &st) ? errno
			: !S_ISREG(st.st_mode) ? EINVAL : 0;
	if (err) {
		if (f)
			fclose(f);
		pr_warn("elf: %s: cannot open: %s", path, strerror(err));
		errno = err;
		return NULL;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	if (fread(buf, 1, st.st_size, f) != (size_t)st.st_size) {
		err = ferror(f) ? EIO : EINVAL;
		pr_warn("elf: %s: cannot read: %s", path, strerror(err));
		free(buf);
		fclose(f);
		errno = err;
		return NULL;
	}
	fclose(f);
	obj = object_open(buf, st.st_size, path, opts);
	err = errno;
	free(buf);
	errno = err;
	return obj;
}

/* ---- loading ---- */

static int prog_index(const struct bpfx_program *prog)
{
	const struct bpfx_object *obj = prog->obj;

	for (size_t i = 0; i < obj->prog_cnt; i++)
		if (obj->progs[i] == prog)
			return i;
	return -1;
}

static int map_index(const struct bpfx_map *map)
{
	const struct bpfx_object *obj = map->obj;

	for (size_t i = 0; i < obj->map_cnt; i++)
		if (obj->maps[i] == map)
			return i;
	return -1;
}

static int ensure_map(struct bpfx_map *map, char *err, size_t err_sz)
{
	int ret;

	if (map->fd >= 0)
		return 0;
	ret = map_create(map);
	if (ret < 0 || map->fd < 0) {
		if (ret >= 0)
			ret = -EINVAL;
		snprintf(err, err_sz, "map '%s': cannot create: %s", map->name,
			 strerror(-ret));
		return ret;
	}
	return 0;
}

static void set_load_error(struct bpfx_program *prog, const char *reason,
			   size_t insn)
{
	const char *label = prog->obj->ld->label;
	char line[256];
	size_t n;
	int len;

	/* messages from the stages begin "insn N: " */
	if (insn == SIZE_MAX && sscanf(reason, "insn %zu", &n) == 1)
		insn = n;
	free(prog->load_error);
	if (insn != SIZE_MAX && prog_source_line(prog, insn, line, sizeof(line)))
		len = asprintf(&prog->load_error, "%s: section %s: %s (%s)",
			       label, prog->sec_name, reason, line);
	else
		len = asprintf(&prog->load_error, "%s: section %s: %s", label,
			       prog->sec_name, reason);
	if (len < 0)
		prog->load_error = NULL;
	pr_warn("loader: %s", prog->load_error ? prog->load_error : reason);
}

static int program_load(struct bpfx_program *prog);

/* Fills the `.values` slots of map IDX once it exists. */
static void apply_map_slots(struct bpfx_object *obj, int idx)
{
	struct ld_map_info *info = &obj->ld->map_info[idx];
	struct bpfx_map *map = obj->maps[idx];
	const char *label = obj->ld->label;

	if (info->slots_applied || !map->init_slot_cnt || map->fd < 0)
		return;
	info->slots_applied = true;
	if (!map->ops || !map->ops->update_copy) {
		pr_warn("loader: %s: map '%s': cannot be updated; slots left "
			"empty", label, map->name);
		return;
	}
	for (size_t i = 0; i < map->init_slot_cnt; i++) {
		const struct map_init_slot *slot = &map->init_slots[i];
		u32 key = slot->key, value;
		char msg[256];
		int err;

		if (map->type == BPF_MAP_TYPE_PROG_ARRAY) {
			struct bpfx_program *target =
				bpfx_object__find_program_by_name(obj,
								  slot->target);

			err = target ? program_load(target) : -ENOENT;
			if (err) {
				pr_warn("loader: %s: map '%s': slot %u: program "
					"'%s' did not load; slot left empty",
					label, map->name, key, slot->target);
				continue;
			}
			value = target->fd;
		} else {
			struct bpfx_map *target =
				bpfx_object__find_map_by_name(obj, slot->target);

			err = target ? ensure_map(target, msg, sizeof(msg))
				     : -ENOENT;
			if (err) {
				pr_warn("loader: %s: map '%s': slot %u: map '%s' "
					"does not exist; slot left empty",
					label, map->name, key, slot->target);
				continue;
			}
			value = target->fd;
		}
		err = map->ops->update_copy(map, &key, &value, BPF_ANY);
		if (err)
			pr_warn("loader: %s: map '%s': slot %u: update failed: "
				"%s", label, map->name, key, strerror(-err));
	}
}

static int program_load(struct bpfx_program *prog)
{
	struct bpfx_object *obj = prog->obj;
	struct loader_state *ld = obj->ld;
	int k = prog_index(prog);
	size_t err_insn = SIZE_MAX;
	char msg[512];
	int err;

	if (k < 0)
		return -EINVAL;
	if (prog->loaded)
		return 0;
	if (ld->prog_loading[k])
		return -EBUSY;
	ld->prog_loading[k] = true;
	msg[0] = '\0';

	if (prog->type == BPF_PROG_TYPE_UNSPEC && prog->sec_idx != ld->text_idx) {
		snprintf(msg, sizeof(msg), "program '%s': unknown section "
			 "name, cannot tell the program type", prog->name);
		err = -EINVAL;
	} else {
		err = ld_link_program(prog, msg, sizeof(msg), &err_insn);
	}
	for (size_t i = 0; !err && i < prog->map_cnt; i++)
		err = ensure_map(prog->maps[i], msg, sizeof(msg));
	if (!err) {
		err = isa_check(prog->insns, prog->insn_cnt, msg, sizeof(msg));
		if (err && err > 0)
			err = -err;
	}
	if (!err)
		err = verifier_check(prog, 0, NULL, 0, msg, sizeof(msg),
				     &err_insn, NULL);
	if (!err) {
		err = interp_prepare(prog, msg, sizeof(msg));
		if (err && err > 0)
			err = -err;
	}
	if (!err && jit_prepare(prog, msg, sizeof(msg))) {
		/* not fatal: the program runs on the interpreter */
		pr_info("jit: program %s: %s; it runs on the interpreter",
			prog->name, msg);
		msg[0] = '\0';
	}
	if (!err) {
		int fd = fd_alloc(FD_PROG, prog);

		if (fd < 0) {
			snprintf(msg, sizeof(msg), "cannot allocate a handle: "
				 "%s", strerror(-fd));
			err = fd;
		} else {
			prog->fd = fd;
			prog->loaded = true;
		}
	}
	ld->prog_loading[k] = false;
	if (err) {
		if (!msg[0])
			snprintf(msg, sizeof(msg), "%s", strerror(-err));
		set_load_error(prog, msg, err_insn);
		return err;
	}
	free(prog->load_error);
	prog->load_error = NULL;
	for (size_t i = 0; i < prog->map_cnt; i++)
		apply_map_slots(obj, map_index(prog->maps[i]));
	return 0;
}

int bpfx_program__load(struct bpfx_program *prog)
{
	if (!prog)
		return -EINVAL;
	return program_load(prog);
}

int bpfx_object__load(struct bpfx_object *obj)
{
	int first = 0;

	if (!obj)
		return -EINVAL;
	/* every map, as libbpf creates them; one that fails counts only
	 * for the programs that use it, which then fail with the reason */
	for (size_t i = 0; i < obj->map_cnt; i++) {
		char msg[256];

		if (ensure_map(obj->maps[i], msg, sizeof(msg)))
			pr_warn("loader: %s: %s", obj->ld->label, msg);
	}
	for (size_t i = 0; i < obj->prog_cnt; i++) {
		int err;

		if (!obj->progs[i]->autoload)
			continue;
		err = program_load(obj->progs[i]);
		if (err && !first)
			first = err;
	}
	for (size_t i = 0; i < obj->map_cnt; i++)
		apply_map_slots(obj, i);
	obj->maps_created = true;
	return first;
}

/* ---- getters ---- */

const char *bpfx_object__name(const struct bpfx_object *obj)
{
	return obj ? obj->name : NULL;
}

const char *bpfx_object__license(const struct bpfx_object *obj)
{
	return obj ? obj->license : NULL;
}

struct bpfx_program *
bpfx_object__next_program(const struct bpfx_object *obj,
			  const struct bpfx_program *prev)
{
	size_t i = 0;

	if (!obj)
		return NULL;
	if (prev) {
		int k = prog_index(prev);

		if (k < 0)
			return NULL;
		i = k + 1;
	}
	return i < obj->prog_cnt ? obj->progs[i] : NULL;
}

struct bpfx_program *
bpfx_object__find_program_by_name(const struct bpfx_object *obj,
				  const char *name)
{
	if (!obj || !name) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < obj->prog_cnt; i++)
		if (strcmp(obj->progs[i]->name, name) == 0)
			return obj->progs[i];
	errno = ENOENT;
	return NULL;
}

struct bpfx_map *bpfx_object__next_map(const struct bpfx_object *obj,
				       const struct bpfx_map *prev)
{
	size_t i = 0;

	if (!obj)
		return NULL;
	if (prev) {
		int k = map_index(prev);

		if (k < 0)
			return NULL;
		i = k + 1;
	}
	return i < obj->map_cnt ? obj->maps[i] : NULL;
}

struct bpfx_map *bpfx_object__find_map_by_name(const struct bpfx_object *obj,
					       const char *name)
{
	if (!obj || !name) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < obj->map_cnt; i++)
		if (strcmp(obj->maps[i]->name, name) == 0)
			return obj->maps[i];
	/* the kernel-style name libbpf gives global data: "prefix.data" */
	for (size_t i = 0; i < obj->map_cnt; i++) {
		char kname[32];

		if (!obj->maps[i]->is_global_data)
			continue;
		ld_map_kernel_name(obj, obj->maps[i], kname, sizeof(kname));
		if (strcmp(kname, name) == 0)
			return obj->maps[i];
	}
	errno = ENOENT;
	return NULL;
}

const char *bpfx_program__name(const struct bpfx_program *prog)
{
	return prog ? prog->name : NULL;
}

const char *bpfx_program__section_name(const struct bpfx_program *prog)
{
	return prog ? prog->sec_name : NULL;
}

int bpfx_program__type(const struct bpfx_program *prog)
{
	return prog ? (int)prog->type : -EINVAL;
}

const char *bpfx_program__type_name(const struct bpfx_program *prog)
{
	return prog ? prog_type_name(prog->type) : NULL;
}

size_t bpfx_program__insn_cnt(const struct bpfx_program *prog)
{
	return prog ? prog->insn_cnt : 0;
}

const struct bpf_insn *bpfx_program__insns(const struct bpfx_program *prog)
{
	return prog ? prog->insns : NULL;
}

bool bpfx_program__autoload(const struct bpfx_program *prog)
{
	return prog && prog->autoload;
}

int bpfx_program__set_autoload(struct bpfx_program *prog, bool autoload)
{
	if (!prog || prog->loaded)
		return -EINVAL;
	prog->autoload = autoload;
	return 0;
}

const char *bpfx_program__load_error(const struct bpfx_program *prog)
{
	return prog ? prog->load_error : NULL;
}

int bpfx_program__fd(const struct bpfx_program *prog)
{
	if (!prog)
		return -EINVAL;
	return prog->loaded ? prog->fd : -ENOENT;
}

/* ---- internal ---- */

struct bpfx_program *prog_by_fd(int fd)
{
	return fd_lookup(fd, FD_PROG);
}

/* The line_info record in force at INSN: the last one at or before it. */
static const struct line_info_rec *line_info_at(const struct bpfx_program *prog,
						size_t insn)
{
	const struct line_info_rec *li = prog->line_info;
	size_t lo = 0, hi = prog->line_info_cnt;

	if (!li || !hi)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (li[mid].insn_off <= insn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &li[lo - 1] : NULL;
}

bool prog_source_line(const struct bpfx_program *prog, size_t insn,
		      char *buf, size_t sz)
{
	const struct btf *btf = prog->obj ? prog->obj->btf : NULL;
	const struct line_info_rec *li = line_info_at(prog, insn);
	const char *file, *base;

	if (!btf || !li || !sz)
		return false;
	file = btf__name_by_offset(btf, li->file_name_off);
	if (!file || !file[0])
		return false;
	base = strrchr(file, '/');
	snprintf(buf, sz, "%s:%u", base ? base + 1 : file, li->line_col >> 10);
	return true;
}

bool prog_source_text(const struct bpfx_program *prog, size_t insn,
		      char *buf, size_t sz)
{
	const struct btf *btf = prog->obj ? prog->obj->btf : NULL;
	const struct line_info_rec *li = line_info_at(prog, insn);
	const char *text;
	char where[160];

	if (!btf || !li || !prog_source_line(prog, insn, where, sizeof(where)))
		return false;
	text = btf__name_by_offset(btf, li->line_off);
	while (text && (*text == ' ' || *text == '\t'))
		text++;
	if (text && *text)
		snprintf(buf, sz, "%s @ %s", text, where);
	else
		snprintf(buf, sz, "%s", where);
	return true;
}

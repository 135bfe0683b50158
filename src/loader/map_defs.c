/*
 * Map definitions, read the way libbpf reads them, into struct bpfx_map.
 *
 * - Legacy "maps" section: an array of struct bpf_map_def (type, key_size,
 *   value_size, max_entries, map_flags), one per symbol; the definition
 *   size is the section size divided by the number of symbols.
 * - BTF-defined ".maps": each variable of the .maps DATASEC is a struct
 *   whose members encode the attributes: __uint(name, N) is a pointer to
 *   an array of N elements, __type(key, T) a pointer to T, and
 *   __array(values, T) a zero-length array of pointers to T: for a
 *   map-in-map T is the inner map's definition (parsed into
 *   map->inner_map), for a prog_array a function prototype.
 *   Initial `values` come from relocations in .rel.maps: the slot is the
 *   relocation's offset from the start of `values` divided by 8, the
 *   target the relocated symbol (a program or a map), kept by name in
 *   map->init_slots for object.c to apply once the maps exist.
 * - Global data: every .data*, .rodata* and .bss* section is an array map
 *   with one element of the section's size, initialised from the section
 *   (zeros for .bss); .rodata* maps are read-only for programs.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

#define LD_OBJ_NAME_LEN 16 /* BPF_OBJ_NAME_LEN: kernel names hold 15 */

void ld_map_free(struct bpfx_map *map)
{
	if (!map)
		return;
	free(map->name);
	free(map->init_data);
	for (size_t i = 0; i < map->init_slot_cnt; i++)
		free(map->init_slots[i].target);
	free(map->init_slots);
	ld_map_free(map->inner_map);
	free(map);
}

static struct bpfx_map *new_map(struct bpfx_object *obj, const char *name)
{
	struct bpfx_map *map = calloc(1, sizeof(*map));

	if (!map)
		return NULL;
	map->name = strdup(name);
	if (!map->name) {
		free(map);
		return NULL;
	}
	map->obj = obj;
	map->fd = -1;
	map->sec_idx = -1;
	map->nr_cpus = obj->nr_cpus;
	return map;
}

static int add_map(struct bpfx_object *obj, struct bpfx_map *map, int sec,
		   u64 off, u64 def_size, s64 values_off)
{
	struct loader_state *ld = obj->ld;
	struct bpfx_map **maps;
	struct ld_map_info *info;

	maps = realloc(obj->maps, (obj->map_cnt + 1) * sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	obj->maps = maps;
	info = realloc(ld->map_info, (obj->map_cnt + 1) * sizeof(*info));
	if (!info)
		return -ENOMEM;
	ld->map_info = info;
	info[obj->map_cnt] = (struct ld_map_info){
		.sec_idx = sec,
		.sec_off = off,
		.def_size = def_size,
		.values_off = values_off,
	};
	map->sec_idx = sec;
	maps[obj->map_cnt++] = map;
	return 0;
}

int ld_map_at(const struct bpfx_object *obj, int sec, u64 off)
{
	for (size_t i = 0; i < obj->map_cnt; i++)
		if (obj->ld->map_info[i].sec_idx == sec &&
		    obj->ld->map_info[i].sec_off == off)
			return i;
	return -1;
}

/* ---- legacy "maps" ---- */

static int cmp_sym_value(const void *a, const void *b)
{
	const struct ld_symbol *x = *(const struct ld_symbol *const *)a;
	const struct ld_symbol *y = *(const struct ld_symbol *const *)b;

	return x->value < y->value ? -1 : x->value > y->value;
}

static int init_legacy_maps(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;
	int sec_idx = ld->legacy_maps_idx;
	const struct ld_section *sec = &ld->secs[sec_idx];
	const struct ld_symbol **syms;
	size_t n = 0, def_size;
	int err = 0;

	syms = calloc(ld->sym_cnt ? ld->sym_cnt : 1, sizeof(*syms));
	if (!syms)
		return -ENOMEM;
	for (size_t i = 1; i < ld->sym_cnt; i++)
		if (ld->syms[i].shndx == (u32)sec_idx &&
		    ld->syms[i].type != STT_SECTION && ld->syms[i].name[0])
			syms[n++] = &ld->syms[i];
	if (n == 0) {
		free(syms);
		return sec->size ? ld_sec_err(ld, sec_idx, EINVAL,
					      "map definitions without symbols")
				 : 0;
	}
	qsort(syms, n, sizeof(*syms), cmp_sym_value);
	def_size = sec->size / n;
	if (def_size < 4 * sizeof(u32) || !sec->data) {
		free(syms);
		return ld_sec_err(ld, sec_idx, EINVAL,
				  "map definition size %zu is too small",
				  def_size);
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct ld_symbol *s = syms[i];
		u32 f[5] = {0};
		struct bpfx_map *map;

		if (s->value % sizeof(u32) || s->value > sec->size ||
		    def_size > sec->size - s->value) {
			err = ld_sec_err(ld, sec_idx, EINVAL,
					 "map '%s': definition at %#llx does not "
					 "fit the section", s->name,
					 (unsigned long long)s->value);
			break;
		}
		memcpy(f, sec->data + s->value, MIN(def_size, sizeof(f)));
		map = new_map(obj, s->name);
		if (!map) {
			err = -ENOMEM;
			break;
		}
		map->type = f[0];
		map->key_size = f[1];
		map->value_size = f[2];
		map->max_entries = f[3];
		map->map_flags = f[4];
		err = add_map(obj, map, sec_idx, s->value, def_size, -1);
		if (err)
			ld_map_free(map);
	}
	free(syms);
	return err;
}

/* ---- BTF-defined ".maps" ---- */

/* __uint(name, N): a pointer to an array of N elements. */
static int member_int(struct bpfx_object *obj, const char *map_name,
		      const struct btf_member *m, const char *field, u32 *res)
{
	const struct btf *btf = obj->btf;
	const struct btf_type *t = ld_btf_skip_mods(btf, m->type, NULL);
	const struct btf_type *arr;

	if (!t || !btf_is_ptr(t))
		goto bad;
	arr = btf__type_by_id(btf, t->type);
	if (!arr || !btf_is_array(arr))
		goto bad;
	*res = btf_array(arr)->nelems;
	return 0;
bad:
	return ld_sec_err(obj->ld, obj->ld->maps_idx, EINVAL,
			  "map '%s': '%s' is not an __uint() (a pointer to an "
			  "array)", map_name, field);
}

/* __type(name, T): a pointer to T. */
static int member_type(struct bpfx_object *obj, const char *map_name,
		       const struct btf_member *m, const char *field,
		       u32 *type_id, u32 *size)
{
	const struct btf_type *t = ld_btf_skip_mods(obj->btf, m->type, NULL);
	s64 sz;

	if (!t || !btf_is_ptr(t))
		return ld_sec_err(obj->ld, obj->ld->maps_idx, EINVAL,
				  "map '%s': '%s' is not a __type() (a "
				  "pointer)", map_name, field);
	sz = btf__resolve_size(obj->btf, t->type);
	if (sz < 0 || sz > UINT32_MAX)
		return ld_sec_err(obj->ld, obj->ld->maps_idx, EINVAL,
				  "map '%s': cannot size the type of '%s'",
				  map_name, field);
	*type_id = t->type;
	*size = sz;
	return 0;
}

static int parse_map_def(struct bpfx_object *obj, struct bpfx_map *map,
			 const struct btf_type *def, bool inner,
			 s64 *values_off);

static int parse_values(struct bpfx_object *obj, struct bpfx_map *map,
			const struct btf_member *m, bool inner)
{
	struct loader_state *ld = obj->ld;
	const struct btf *btf = obj->btf;
	const struct btf_type *t;
	bool prog_array = map->type == BPF_MAP_TYPE_PROG_ARRAY;

	if (inner)
		return ld_sec_err(ld, ld->maps_idx, ENOTSUP,
				  "map '%s': inner maps cannot have 'values'",
				  map->name);
	if (!prog_array && !map_type_is_map_in_map(map->type))
		return ld_sec_err(ld, ld->maps_idx, EINVAL,
				  "map '%s': 'values' needs a prog_array or "
				  "map-in-map type, given before it",
				  map->name);
	if (map->value_size && map->value_size != 4)
		return ld_sec_err(ld, ld->maps_idx, EINVAL,
				  "map '%s': value_size %u with 'values', "
				  "want 4", map->name, map->value_size);
	map->value_size = 4;
	t = btf__type_by_id(btf, m->type);
	if (!t || !btf_is_array(t) || btf_array(t)->nelems)
		return ld_sec_err(ld, ld->maps_idx, EINVAL,
				  "map '%s': 'values' is not a zero-sized "
				  "array", map->name);
	t = ld_btf_skip_mods(btf, btf_array(t)->type, NULL);
	if (!t || !btf_is_ptr(t))
		return ld_sec_err(ld, ld->maps_idx, EINVAL,
				  "map '%s': 'values' is not an array of "
				  "pointers", map->name);
	t = ld_btf_skip_mods(btf, t->type, NULL);
	if (prog_array) {
		if (!t || !btf_is_func_proto(t))
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "map '%s': prog_array 'values' must "
					  "point to functions", map->name);
		return 0;
	}
	if (!t || !btf_is_struct(t))
		return ld_sec_err(ld, ld->maps_idx, EINVAL,
				  "map '%s': 'values' must point to a map "
				  "definition struct", map->name);

	char name[256];
	snprintf(name, sizeof(name), "%s.inner", map->name);
	ld_map_free(map->inner_map);
	map->inner_map = new_map(obj, name);
	if (!map->inner_map)
		return -ENOMEM;
	return parse_map_def(obj, map->inner_map, t, true, NULL);
}

static int set_size(struct bpfx_object *obj, struct bpfx_map *map,
		    u32 *field, u32 size, const char *what)
{
	if (*field && *field != size)
		return ld_sec_err(obj->ld, obj->ld->maps_idx, EINVAL,
				  "map '%s': %s size %u conflicts with %u",
				  map->name, what, size, *field);
	*field = size;
	return 0;
}

static int parse_map_def(struct bpfx_object *obj, struct bpfx_map *map,
			 const struct btf_type *def, bool inner,
			 s64 *values_off)
{
	struct loader_state *ld = obj->ld;
	const struct btf *btf = obj->btf;
	const struct btf_member *m = btf_members(def);
	int err = 0;

	for (u16 i = 0; i < btf_vlen(def) && !err; i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		u32 v, id;

		if (!name || !name[0])
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "map '%s': member #%u has no name",
					  map->name, i);
		if (strcmp(name, "type") == 0) {
			err = member_int(obj, map->name, m, name, &map->type);
		} else if (strcmp(name, "max_entries") == 0) {
			err = member_int(obj, map->name, m, name,
					 &map->max_entries);
		} else if (strcmp(name, "map_flags") == 0) {
			err = member_int(obj, map->name, m, name,
					 &map->map_flags);
		} else if (strcmp(name, "key_size") == 0) {
			err = member_int(obj, map->name, m, name, &v);
			if (!err)
				err = set_size(obj, map, &map->key_size, v,
					       "key");
		} else if (strcmp(name, "value_size") == 0) {
			err = member_int(obj, map->name, m, name, &v);
			if (!err)
				err = set_size(obj, map, &map->value_size, v,
					       "value");
		} else if (strcmp(name, "key") == 0) {
			err = member_type(obj, map->name, m, name, &id, &v);
			if (!err)
				err = set_size(obj, map, &map->key_size, v,
					       "key");
			if (!err)
				map->btf_key_type_id = id;
		} else if (strcmp(name, "value") == 0) {
			err = member_type(obj, map->name, m, name, &id, &v);
			if (!err)
				err = set_size(obj, map, &map->value_size, v,
					       "value");
			if (!err)
				map->btf_value_type_id = id;
		} else if (strcmp(name, "values") == 0) {
			err = parse_values(obj, map, m, inner);
			if (!err && values_off)
				*values_off = btf_member_bit_offset(def, i) / 8;
		} else if (strcmp(name, "numa_node") == 0 ||
			   strcmp(name, "pinning") == 0 ||
			   strcmp(name, "map_extra") == 0) {
			err = member_int(obj, map->name, m, name, &v);
			if (!err && v)
				pr_debug("elf: %s: map '%s': '%s' ignored",
					 ld->label, map->name, name);
		} else {
			return ld_sec_err(ld, ld->maps_idx, ENOTSUP,
					  "map '%s': unknown field '%s'",
					  map->name, name);
		}
	}
	if (!err && map->type == BPF_MAP_TYPE_UNSPEC)
		err = ld_sec_err(ld, ld->maps_idx, EINVAL,
				 "map '%s': no type", map->name);
	return err;
}

static int init_btf_maps(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;
	const struct btf *btf = obj->btf;
	const struct ld_section *sec = &ld->secs[ld->maps_idx];
	const struct btf_type *datasec;
	const struct btf_var_secinfo *vsi;
	s32 id;

	id = btf__find_by_name_kind(btf, ".maps", BTF_KIND_DATASEC);
	if (id <= 0)
		return ld_sec_err(ld, ld->maps_idx, EINVAL,
				  "no .maps DATASEC in BTF");
	datasec = btf__type_by_id(btf, id);
	vsi = btf_var_secinfos(datasec);
	for (u16 i = 0; i < btf_vlen(datasec); i++, vsi++) {
		const struct btf_type *var = btf__type_by_id(btf, vsi->type);
		const struct btf_type *def;
		const char *name;
		struct bpfx_map *map;
		s64 values_off = -1;
		u64 off = vsi->offset;
		/* with .values initialised the variable outgrows its type */
		u64 size = vsi->size;
		int err;

		if (!var || !btf_is_var(var))
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "entry #%u of the .maps DATASEC is "
					  "not a variable", i);
		name = btf__name_by_offset(btf, var->name_off);
		if (!name || !name[0])
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "map #%u has no name", i);
		def = ld_btf_skip_mods(btf, var->type, NULL);
		if (!def || !btf_is_struct(def))
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "map '%s': definition is not a struct",
					  name);
		/* the symbol tells the offset; DATASEC offsets may be 0 */
		for (size_t s = 1; s < ld->sym_cnt; s++)
			if (ld->syms[s].shndx == (u32)ld->maps_idx &&
			    ld->syms[s].type != STT_SECTION &&
			    strcmp(ld->syms[s].name, name) == 0) {
				off = ld->syms[s].value;
				size = MAX(size, ld->syms[s].size);
				break;
			}
		size = MAX(size, (u64)def->size);
		if (off > sec->size || size > sec->size - off)
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "map '%s': definition at %#llx does "
					  "not fit the section", name,
					  (unsigned long long)off);
		map = new_map(obj, name);
		if (!map)
			return -ENOMEM;
		err = parse_map_def(obj, map, def, false, &values_off);
		if (!err)
			err = add_map(obj, map, ld->maps_idx, off, size,
				      values_off);
		if (err) {
			ld_map_free(map);
			return err;
		}
	}
	return 0;
}

static int add_init_slot(struct bpfx_map *map, u32 key, const char *target)
{
	struct map_init_slot *slots;
	char *t = strdup(target);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < map->init_slot_cnt; i++)
		if (map->init_slots[i].key == key) {
			free(map->init_slots[i].target);
			map->init_slots[i].target = t;
			return 0;
		}
	slots = realloc(map->init_slots,
			(map->init_slot_cnt + 1) * sizeof(*slots));
	if (!slots) {
		free(t);
		return -ENOMEM;
	}
	map->init_slots = slots;
	slots[map->init_slot_cnt].key = key;
	slots[map->init_slot_cnt].target = t;
	map->init_slot_cnt++;
	return 0;
}

/* `.values = { [1] = &prog, ... }`: relocations in .maps. */
static int init_map_slots(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;
	const struct ld_section *sec = &ld->secs[ld->maps_idx];

	for (size_t i = 0; i < sec->reloc_cnt; i++) {
		const struct ld_reloc *r = &sec->relocs[i];
		const struct ld_symbol *sym = &ld->syms[r->sym];
		const struct ld_map_info *info = NULL;
		struct bpfx_map *map = NULL;
		u64 moff;
		int err;

		for (size_t m = 0; m < obj->map_cnt; m++) {
			info = &ld->map_info[m];
			if (info->sec_idx == ld->maps_idx &&
			    r->offset >= info->sec_off &&
			    r->offset < info->sec_off + info->def_size) {
				map = obj->maps[m];
				break;
			}
		}
		if (!map)
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "relocation at offset %#llx is "
					  "outside every map",
					  (unsigned long long)r->offset);
		if (r->type != LD_R_BPF_64_ABS64)
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "relocation at offset %#llx: "
					  "unsupported type %u",
					  (unsigned long long)r->offset, r->type);
		moff = r->offset - info->sec_off;
		if (info->values_off < 0 || moff < (u64)info->values_off ||
		    (moff - info->values_off) % 8)
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "map '%s': relocation at offset "
					  "%#llx is not a 'values' slot",
					  map->name,
					  (unsigned long long)r->offset);
		moff = (moff - info->values_off) / 8;
		if (moff >= map->max_entries)
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "map '%s': slot %llu is beyond "
					  "max_entries %u", map->name,
					  (unsigned long long)moff,
					  map->max_entries);
		if (map->type == BPF_MAP_TYPE_PROG_ARRAY) {
			const struct ld_func *f = NULL;

			if (sym->type == STT_FUNC && sym->shndx < ld->sec_cnt &&
			    ld->secs[sym->shndx].kind == LD_SEC_PROG)
				f = ld_find_func(ld, sym->shndx,
						 sym->value / LD_INSN_SZ);
			if (!f || !f->prog)
				return ld_sec_err(ld, ld->maps_idx, EINVAL,
						  "map '%s': slot %llu: '%s' is "
						  "not a program", map->name,
						  (unsigned long long)moff,
						  sym->name);
		} else if (sym->shndx != (u32)ld->maps_idx ||
			   ld_map_at(obj, ld->maps_idx, sym->value) < 0) {
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "map '%s': slot %llu: '%s' is not a "
					  "map", map->name,
					  (unsigned long long)moff, sym->name);
		}
		err = add_init_slot(map, moff, sym->name);
		if (err)
			return err;
	}
	return 0;
}

/* ---- global data ---- */

static int init_data_maps(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;

	for (size_t i = 1; i < ld->sec_cnt; i++) {
		struct ld_section *sec = &ld->secs[i];
		struct bpfx_map *map;
		s32 id;
		int err;

		if (sec->kind != LD_SEC_DATA || sec->size == 0)
			continue;
		if (sec->size > UINT32_MAX)
			return ld_sec_err(ld, i, E2BIG, "too large for a map");
		map = new_map(obj, sec->name);
		if (!map)
			return -ENOMEM;
		map->type = BPF_MAP_TYPE_ARRAY;
		map->key_size = sizeof(u32);
		map->value_size = sec->size;
		map->max_entries = 1;
		map->is_global_data = true;
		map->rdonly_prog = strncmp(sec->name, ".rodata", 7) == 0;
		if (map->rdonly_prog)
			map->map_flags = BPF_F_RDONLY_PROG;
		map->init_data = calloc(1, sec->size);
		if (!map->init_data) {
			ld_map_free(map);
			return -ENOMEM;
		}
		if (sec->data)
			memcpy(map->init_data, sec->data, sec->size);
		if (obj->btf) {
			id = btf__find_by_name_kind(obj->btf, sec->name,
						    BTF_KIND_DATASEC);
			if (id > 0)
				map->btf_value_type_id = id;
		}
		err = add_map(obj, map, i, 0, sec->size, -1);
		if (err) {
			ld_map_free(map);
			return err;
		}
		sec->map_idx = obj->map_cnt - 1;
	}
	return 0;
}

int ld_maps_init(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;
	int err = 0;

	if (ld->legacy_maps_idx)
		err = init_legacy_maps(obj);
	if (!err && ld->maps_idx) {
		if (!obj->btf)
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "BTF-defined maps need valid BTF");
		err = init_btf_maps(obj);
		if (!err)
			err = init_map_slots(obj);
	}
	if (!err)
		err = init_data_maps(obj);
	return err;
}

void ld_map_kernel_name(const struct bpfx_object *obj,
			const struct bpfx_map *map, char *buf, size_t sz)
{
	char name[LD_OBJ_NAME_LEN];
	const char *real = map->name;
	size_t obj_len = strcspn(obj->name, ".");
	size_t sfx_len = MAX((size_t)7, strlen(real));
	size_t pfx_len = 0;

	/* libbpf's internal map names: "<obj prefix>.data"; names with a
	 * second dot (".rodata.str1.1") go without the prefix */
	if (!strchr(real + 1, '.') && sfx_len < LD_OBJ_NAME_LEN - 1)
		pfx_len = MIN(LD_OBJ_NAME_LEN - sfx_len - 1, obj_len);
	snprintf(name, sizeof(name), "%.*s%.*s", (int)pfx_len, obj->name,
		 (int)sfx_len, real);
	for (char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
			*p = '_';
	snprintf(buf, sz, "%s", name);
}

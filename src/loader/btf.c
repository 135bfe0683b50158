/*
 * BTF through libbpf: .BTF is parsed by btf__new(), .BTF.ext validated by
 * btf_ext__new(). libbpf 1.1 has no public accessor for the func_info and
 * line_info records, so once btf_ext__new() has accepted the blob this
 * file walks the two record arrays itself, following the documented
 * layout: a header (magic, version, flags, hdr_len, then offset/length
 * pairs relative to the header's end), and per kind a record size followed
 * by blocks of { section name offset, record count, records }. Each block
 * is attached to the ELF section of that name; link.c picks the records
 * of the functions it copies and rebases their instruction offsets.
 *
 * CO-RE relocation records are only counted: bpfx's contexts use the
 * kernel's UAPI layouts, so instructions stay as compiled.
 *
 * libbpf prints through its own callback, to stderr by default; while it
 * works for us that callback is pointed at bpfx's log (debug level).
 */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

#include "loader/loader.h"

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	char msg[512];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	pr_debug("btf: libbpf: %s", msg);
	return 0;
}

const struct btf_type *ld_btf_skip_mods(const struct btf *btf, u32 id,
					u32 *res_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	/* a bounded walk: a corrupt chain cannot loop forever */
	for (int depth = 0; t && depth < 32; depth++) {
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			t = btf__type_by_id(btf, id);
			break;
		default:
			if (res_id)
				*res_id = id;
			return t;
		}
	}
	return NULL;
}

bool ld_btf_var_in_datasec(const struct btf *btf, const char *sec_name,
			   const char *name)
{
	s32 id;
	const struct btf_type *sec;
	const struct btf_var_secinfo *vsi;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, sec_name, BTF_KIND_DATASEC);
	if (id <= 0)
		return false;
	sec = btf__type_by_id(btf, id);
	vsi = btf_var_secinfos(sec);
	for (u16 i = 0; i < btf_vlen(sec); i++) {
		const struct btf_type *v = btf__type_by_id(btf, vsi[i].type);
		const char *n = v ? btf__name_by_offset(btf, v->name_off) : NULL;

		if (n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

static u32 get_u32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

enum ext_kind { EXT_FUNC, EXT_LINE, EXT_CORE };

/* One kind's records: rec_size, then blocks per section. */
static int walk_ext_block(struct bpfx_object *obj, const u8 *data, u32 size,
			  u32 hdr_len, u32 off, u32 len, enum ext_kind kind)
{
	static const u32 min_rec[] = {8, 16, 16};
	static const char *const names[] = {"func_info", "line_info",
					    "core_relo"};
	struct loader_state *ld = obj->ld;
	const u8 *p, *end;
	u32 rec_size;

	if (len == 0)
		return 0;
	if ((u64)hdr_len + off + len > size || len < 4)
		goto bad;
	p = data + hdr_len + off;
	end = p + len;
	rec_size = get_u32(p);
	p += 4;
	if (rec_size < min_rec[kind] || rec_size % 4)
		goto bad;
	while (p < end) {
		u32 name_off, cnt;
		const char *name;

		if (end - p < 8)
			goto bad;
		name_off = get_u32(p);
		cnt = get_u32(p + 4);
		p += 8;
		if (cnt > (size_t)(end - p) / rec_size)
			goto bad;
		name = btf__name_by_offset(obj->btf, name_off);
		if (!name)
			goto bad;
		for (size_t i = 1; i < ld->sec_cnt; i++) {
			struct ld_section *sec = &ld->secs[i];

			if (sec->kind != LD_SEC_PROG || strcmp(sec->name, name))
				continue;
			if (kind == EXT_CORE) {
				sec->core_relo_cnt += cnt;
			} else {
				struct ld_ext_info *info = kind == EXT_FUNC ?
					&sec->func_info : &sec->line_info;
				info->recs = p;
				info->cnt = cnt;
				info->rec_size = rec_size;
			}
			break;
		}
		p += (size_t)cnt * rec_size;
	}
	return 0;
bad:
	ld_err(ld, "btf", EINVAL, "section .BTF.ext: malformed %s records; "
	       "ignoring .BTF.ext", names[kind]);
	return -EINVAL;
}

static void read_btf_ext(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;
	const struct ld_section *sec = &ld->secs[ld->btf_ext_idx];
	u32 hdr_len, size = sec->size;
	const u8 *data = sec->data;
	int err;

	if (!data || size < 24)
		return;
	hdr_len = get_u32(data + 4);
	if (hdr_len < 24 || hdr_len > size)
		return;
	err = walk_ext_block(obj, data, size, hdr_len, get_u32(data + 8),
			     get_u32(data + 12), EXT_FUNC);
	if (!err)
		err = walk_ext_block(obj, data, size, hdr_len,
				     get_u32(data + 16), get_u32(data + 20),
				     EXT_LINE);
	if (!err && hdr_len >= 32)
		err = walk_ext_block(obj, data, size, hdr_len,
				     get_u32(data + 24), get_u32(data + 28),
				     EXT_CORE);
	if (err) {
		for (size_t i = 0; i < ld->sec_cnt; i++) {
			memset(&ld->secs[i].func_info, 0,
			       sizeof(ld->secs[i].func_info));
			memset(&ld->secs[i].line_info, 0,
			       sizeof(ld->secs[i].line_info));
			ld->secs[i].core_relo_cnt = 0;
		}
	}
}

int ld_btf_open(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;
	const struct ld_section *sec;
	libbpf_print_fn_t old_print;
	int err = 0;

	if (!ld->btf_idx) {
		if (ld->maps_idx)
			return ld_sec_err(ld, ld->maps_idx, EINVAL,
					  "BTF-defined maps need a .BTF section");
		return 0;
	}
	sec = &ld->secs[ld->btf_idx];
	old_print = libbpf_set_print(libbpf_to_log);
	errno = EINVAL;
	obj->btf = sec->data ? btf__new(sec->data, sec->size) : NULL;
	err = (int)libbpf_get_error(obj->btf);
	if (err || !obj->btf) {
		obj->btf = NULL;
		if (err >= 0)
			err = -EINVAL;
		if (ld->maps_idx) {
			libbpf_set_print(old_print);
			return ld_err(ld, "btf", -err,
				      "section .BTF: invalid BTF (%s); .maps "
				      "cannot be read without it",
				      strerror(-err));
		}
		ld_err(ld, "btf", -err,
		       "section .BTF: invalid BTF (%s); going on without it",
		       strerror(-err));
		err = 0;
	}
	if (obj->btf && ld->btf_ext_idx && ld->secs[ld->btf_ext_idx].data) {
		const struct ld_section *ext = &ld->secs[ld->btf_ext_idx];

		ld->btf_ext = btf_ext__new(ext->data, ext->size);
		if (libbpf_get_error(ld->btf_ext)) {
			ld->btf_ext = NULL;
			ld_err(ld, "btf", EINVAL,
			       "section .BTF.ext: invalid (%s); no source "
			       "lines", strerror(errno));
		} else {
			read_btf_ext(obj);
		}
	}
	libbpf_set_print(old_print);
	return err;
}

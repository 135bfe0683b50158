/*
 * Graph data structures: the kernel's BPF linked lists and red-black
 * trees of allocated objects (bpf_list_head / bpf_list_node, bpf_rb_root /
 * bpf_rb_node), their kfuncs, and the records of special fields that the
 * verifier and the runtime read from a program's BTF.
 *
 * Records: a struct (or a global data section's DATASEC) lists where its
 * bpf_spin_lock, list heads, rbtree roots, nodes and bpf_refcount are; a
 * head or root names what it holds with the decl tag
 * "contains:TYPE:FIELD" (bpf_experimental.h's __contains). The checks are
 * the kernel's btf_parse_fields(): one lock at most, a root needs a lock
 * beside it, the contained struct and its node must exist.
 *
 * Layout: a head's or root's 16 bytes (program memory, which the verifier
 * forbids programs to touch) hold the first and last link of a list, or
 * the root and leftmost link of a tree. The links themselves are in the
 * object's host-side header (objects.c), one per node field, so a node's
 * own bytes are unused. Every link read from a head is checked to be a
 * live object's link owned by that head, so even a corrupted head cannot
 * lead the runtime outside live objects.
 *
 * Semantics are the kernel's: push and add take the program's owning
 * reference (a node already in a collection, possible with bpf_refcount,
 * is dropped and -EINVAL returned); pop and remove return an owning
 * reference or NULL (remove of a node that is not in that tree gives
 * NULL); front, back, first, root, left and right return the node or NULL
 * without a reference; the tree is ordered by the program's less()
 * callback, equal keys after the existing ones, first is the leftmost.
 * The caller holds the bpf_spin_lock (the verifier proves it).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "internal.h"
#include "loader/loader.h"

/* ---- records ---- */

const char *graph_field_name(int kind)
{
	switch (kind) {
	case GF_SPIN_LOCK: return "bpf_spin_lock";
	case GF_LIST_HEAD: return "bpf_list_head";
	case GF_LIST_NODE: return "bpf_list_node";
	case GF_RB_ROOT: return "bpf_rb_root";
	case GF_RB_NODE: return "bpf_rb_node";
	case GF_REFCOUNT: return "bpf_refcount";
	case GF_KPTR: return "kptr";
	default: return "?";
	}
}

static int special_kind(const struct btf *btf, u32 id)
{
	static const int kinds[] = { GF_SPIN_LOCK, GF_LIST_HEAD, GF_LIST_NODE,
				     GF_RB_ROOT, GF_RB_NODE, GF_REFCOUNT };
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *name;

	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_struct(t))
		return 0;
	name = btf__name_by_offset(btf, t->name_off);
	for (size_t i = 0; name && i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(name, graph_field_name(kinds[i])))
			return kinds[i];
	return 0;
}

/* A kptr field: ID is a pointer to a type tag (the kernel's
 * btf_find_kptr). 0 when it is not; 1 with the pointed-to struct in
 * *target for "kptr" (a referenced kptr); -EOPNOTSUPP with the tag in
 * *tag for the kinds bpfx does not have ("kptr_untrusted", "percpu_kptr",
 * "uptr") and -EINVAL for another tag, which the kernel refuses. */
static int kptr_kind(const struct btf *btf, u32 id, u32 *target,
		     const char **tag)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) && !btf_is_type_tag(t)))
		t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_ptr(t))
		return 0;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_type_tag(t))
		return 0;
	*tag = btf__name_by_offset(btf, t->name_off);
	if (!*tag)
		return -EINVAL;
	if (strcmp(*tag, "kptr"))
		return !strcmp(*tag, "kptr_untrusted") ||
		       !strcmp(*tag, "percpu_kptr") || !strcmp(*tag, "uptr")
			       ? -EOPNOTSUPP : -EINVAL;
	/* the tag's type, past modifiers, is the struct pointed to */
	id = t->type;
	t = btf__type_by_id(btf, id);
	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (!t || !btf_is_struct(t))
		return -EINVAL;
	*target = id;
	return 1;
}

/* Adds the kptr field at OFF whose type is ID, if it is one: 0 when it is
 * none or added, -errno with the reason in err. */
static int add_kptr(struct bpfx_object *obj, struct graph_rec *rec, u32 id,
		    u32 off, const char *where, char *err, size_t err_sz)
{
	const struct btf *btf = obj->btf;
	const char *tag = NULL;
	u32 target = 0;
	int k = kptr_kind(btf, id, &target, &tag);
	struct graph_field *f;

	if (!k)
		return 0;
	if (k == -EOPNOTSUPP) {
		snprintf(err, err_sz,
			 "%s: the %s field at offset %u: bpfx has referenced kptrs (\"kptr\") to local types only",
			 where, tag, off);
		return k;
	}
	if (k < 0) {
		snprintf(err, err_sz,
			 "%s: the field at offset %u: type tag \"%s\" is no kptr (\"kptr\" to a struct)",
			 where, off, tag ? tag : "?");
		return k;
	}
	if (off % 8) {
		snprintf(err, err_sz, "%s: kptr at offset %u is not 8-byte aligned",
			 where, off);
		return -EINVAL;
	}
	if (rec->cnt == GRAPH_MAX_FIELDS) {
		snprintf(err, err_sz, "%s: more than %d special fields", where,
			 GRAPH_MAX_FIELDS);
		return -E2BIG;
	}
	f = &rec->f[rec->cnt++];
	memset(f, 0, sizeof(*f));
	f->kind = GF_KPTR;
	f->off = off;
	f->size = 8;
	f->value_type_id = target;
	snprintf(f->value_name, sizeof(f->value_name), "%s",
		 btf__name_by_offset(btf, btf__type_by_id(btf, target)->name_off));
	rec->kptr_cnt++;
	return 0;
}

/* The "contains:TYPE:FIELD" tag on member IDX of struct ID (or on var ID
 * with idx -1), into type/field; false without one. */
static bool contains_tag(const struct btf *btf, u32 id, int idx, char *type,
			 char *field, size_t sz)
{
	u32 n = btf__type_cnt(btf);

	for (u32 i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		const char *name, *colon;

		if (!btf_is_decl_tag(t) || t->type != id ||
		    btf_decl_tag(t)->component_idx != idx)
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		if (!name || strncmp(name, "contains:", 9))
			continue;
		name += 9;
		colon = strchr(name, ':');
		if (!colon || (size_t)(colon - name) >= sz ||
		    strlen(colon + 1) >= sz)
			continue;
		memcpy(type, name, colon - name);
		type[colon - name] = '\0';
		strcpy(field, colon + 1);
		return true;
	}
	return false;
}

static struct {
	pthread_mutex_t lock;
	struct graph_rec **v;
	size_t cnt;
} interned = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const struct graph_rec *intern(const struct graph_rec *rec)
{
	const struct graph_rec *found = NULL;

	pthread_mutex_lock(&interned.lock);
	for (size_t i = 0; i < interned.cnt && !found; i++)
		if (!memcmp(interned.v[i], rec, sizeof(*rec)))
			found = interned.v[i];
	if (!found) {
		struct graph_rec **v = realloc(interned.v, (interned.cnt + 1) *
								   sizeof(*v));
		struct graph_rec *copy = malloc(sizeof(*copy));

		if (v)
			interned.v = v;
		if (v && copy) {
			*copy = *rec;
			interned.v[interned.cnt++] = copy;
			found = copy;
		} else {
			free(copy);
		}
	}
	pthread_mutex_unlock(&interned.lock);
	return found;
}

static const struct graph_rec *rec_of(struct bpfx_object *obj, u32 id,
				      int depth, int *errp, char *err,
				      size_t err_sz);

static int add_field(struct bpfx_object *obj, struct graph_rec *rec,
		     int kind, u32 off, u32 owner_id, int idx, int depth,
		     const char *where, char *err, size_t err_sz)
{
	const struct btf *btf = obj->btf;
	struct graph_field *f;
	char tname[64], fname[64];

	if (rec->cnt == GRAPH_MAX_FIELDS) {
		snprintf(err, err_sz, "%s: more than %d special fields", where,
			 GRAPH_MAX_FIELDS);
		return -E2BIG;
	}
	if (kind == GF_SPIN_LOCK) {
		if (rec->spin_lock_off >= 0) {
			snprintf(err, err_sz, "%s: more than one bpf_spin_lock",
				 where);
			return -E2BIG;
		}
		rec->spin_lock_off = (int)off;
	}
	if (kind == GF_REFCOUNT) {
		if (rec->refcount_off >= 0) {
			snprintf(err, err_sz, "%s: more than one bpf_refcount",
				 where);
			return -E2BIG;
		}
		rec->refcount_off = (int)off;
	}
	f = &rec->f[rec->cnt++];
	memset(f, 0, sizeof(*f));
	f->kind = (u8)kind;
	f->off = off;
	f->size = kind == GF_SPIN_LOCK || kind == GF_REFCOUNT ? 4 :
		  kind == GF_LIST_NODE ? 24 :
		  kind == GF_RB_NODE ? 32 : 16;
	if (kind == GF_LIST_NODE || kind == GF_RB_NODE)
		rec->node_cnt++;
	if (kind == GF_LIST_HEAD || kind == GF_RB_ROOT) {
		int vid, node_kind = kind == GF_LIST_HEAD ? GF_LIST_NODE
							 : GF_RB_NODE;
		const struct btf_type *vt;
		const struct btf_member *m;
		int e = 0;

		if (!contains_tag(btf, owner_id, idx, tname, fname,
				  sizeof(tname))) {
			snprintf(err, err_sz,
				 "%s: %s at offset %u has no contains: tag",
				 where, graph_field_name(kind), off);
			return -EINVAL;
		}
		vid = btf__find_by_name_kind(btf, tname, BTF_KIND_STRUCT);
		if (vid <= 0) {
			snprintf(err, err_sz, "%s: contains: struct %s not found",
				 where, tname);
			return -ENOENT;
		}
		vt = btf__type_by_id(btf, vid);
		if (!vt)
			return -ENOENT;
		m = btf_members(vt);
		bool found = false;
		for (u16 i = 0; i < btf_vlen(vt) && !found; i++, m++) {
			const char *mn = btf__name_by_offset(btf, m->name_off);

			if (!mn || strcmp(mn, fname))
				continue;
			if (special_kind(btf, m->type) != node_kind) {
				snprintf(err, err_sz,
					 "%s: contains: %s.%s is not a %s",
					 where, tname, fname,
					 graph_field_name(node_kind));
				return -EINVAL;
			}
			f->node_off = btf_member_bit_offset(vt, i) / 8;
			found = true;
		}
		if (!found) {
			snprintf(err, err_sz, "%s: contains: %s.%s not found",
				 where, tname, fname);
			return -ENOENT;
		}
		f->value_type_id = (u32)vid;
		snprintf(f->value_name, sizeof(f->value_name), "%s", tname);
		f->value_rec = rec_of(obj, (u32)vid, depth + 1, &e, err, err_sz);
		if (e)
			return e;
	}
	return 0;
}

static bool graph_field_at_kind(const struct graph_rec *rec, int kind)
{
	for (int i = 0; i < rec->cnt; i++)
		if (rec->f[i].kind == kind)
			return true;
	return false;
}

/* The offset of variable NAME in section SEC, from the ELF symbols. */
static bool datasec_var_offset(struct bpfx_object *obj, const char *sec,
			       const char *name, u32 *off)
{
	const struct loader_state *ld = obj->ld;

	for (size_t i = 1; ld && sec && name && i < ld->sec_cnt; i++) {
		if (!ld->secs[i].name || strcmp(ld->secs[i].name, sec))
			continue;
		for (size_t k = 1; k < ld->sym_cnt; k++)
			if (ld->syms[k].shndx == i && ld->syms[k].name &&
			    !strcmp(ld->syms[k].name, name)) {
				*off = (u32)ld->syms[k].value;
				return true;
			}
	}
	return false;
}

/* Fields in offset order (a section's variables need not be). */
static void sort_fields(struct graph_rec *rec)
{
	for (int i = 1; i < rec->cnt; i++)
		for (int k = i; k > 0 && rec->f[k - 1].off > rec->f[k].off; k--) {
			struct graph_field t = rec->f[k];

			rec->f[k] = rec->f[k - 1];
			rec->f[k - 1] = t;
		}
}

static int parse_rec(struct bpfx_object *obj, u32 id, int depth,
		     struct graph_rec *rec, char *err, size_t err_sz)
{
	const struct btf *btf = obj->btf;
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *tn = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	char where[96];
	int e;

	memset(rec, 0, sizeof(*rec));
	rec->spin_lock_off = -1;
	rec->refcount_off = -1;
	if (!t)
		return 0;

	snprintf(where, sizeof(where), "%s %s",
		 btf_is_datasec(t) ? "section" : "struct", tn ? tn : "?");
	memset(rec, 0, sizeof(*rec));
	rec->size = t->size;
	rec->spin_lock_off = -1;
	rec->refcount_off = -1;
	if (depth > 4) {
		snprintf(err, err_sz, "%s: lists or trees nested too deep",
			 where);
		return -ELOOP;
	}
	if (btf_is_datasec(t)) {
		const struct btf_var_secinfo *vsi = btf_var_secinfos(t);

		for (u16 i = 0; i < btf_vlen(t); i++, vsi++) {
			const struct btf_type *v = btf__type_by_id(btf, vsi->type);
			u32 off = vsi->offset;
			int kind;

			if (!v || !btf_is_var(v))
				continue;
			kind = special_kind(btf, v->type);
			if (!kind) {
				const char *vn = btf__name_by_offset(btf, v->name_off);
				u32 t0 = 0;
				const char *tg;

				if (!kptr_kind(btf, v->type, &t0, &tg))
					continue;
				if (!datasec_var_offset(obj, tn, vn, &off)) {
					snprintf(err, err_sz, "%s: no symbol for %s",
						 where, vn);
					return -ENOENT;
				}
				if ((e = add_kptr(obj, rec, v->type, off, where,
						  err, err_sz)))
					return e;
				continue;
			}
			/* clang leaves the offsets 0: the symbols have them,
			 * as libbpf's btf_fixup_datasec() finds them */
			if (!datasec_var_offset(obj, tn,
						btf__name_by_offset(btf, v->name_off),
						&off)) {
				snprintf(err, err_sz, "%s: no symbol for %s", where,
					 btf__name_by_offset(btf, v->name_off));
				return -ENOENT;
			}
			if ((e = add_field(obj, rec, kind, off, vsi->type, -1,
					   depth, where, err, err_sz)))
				return e;
		}
		sort_fields(rec);
	} else if (btf_is_struct(t)) {
		const struct btf_member *m = btf_members(t);

		for (u16 i = 0; i < btf_vlen(t); i++, m++) {
			int kind = special_kind(btf, m->type);

			if (!kind && (e = add_kptr(obj, rec, m->type,
						   btf_member_bit_offset(t, i) / 8,
						   where, err, err_sz)))
				return e;
			if (kind && (e = add_field(obj, rec, kind,
						   btf_member_bit_offset(t, i) / 8,
						   id, i, depth, where, err,
						   err_sz)))
				return e;
		}
	}
	/* the kernel's btf_parse_fields(): in a list and a tree at once
	 * only with a reference count */
	if (rec->refcount_off < 0 && graph_field_at_kind(rec, GF_LIST_NODE) &&
	    graph_field_at_kind(rec, GF_RB_NODE)) {
		snprintf(err, err_sz,
			 "%s: a bpf_list_node and a bpf_rb_node need a bpf_refcount",
			 where);
		return -EINVAL;
	}
	for (int i = 0; i < rec->cnt; i++) {
		int k = rec->f[i].kind;

		if ((k == GF_LIST_HEAD || k == GF_RB_ROOT) &&
		    rec->spin_lock_off < 0) {
			snprintf(err, err_sz, "%s: %s without a bpf_spin_lock",
				 where, graph_field_name(k));
			return -EINVAL;
		}
	}
	return 0;
}

static const struct graph_rec *rec_of(struct bpfx_object *obj, u32 id,
				      int depth, int *errp, char *err,
				      size_t err_sz)
{
	struct graph_rec rec;
	const struct graph_rec *r;
	u32 n;
	int e;

	*errp = 0;
	if (!obj || !obj->btf || !id || id >= (n = btf__type_cnt(obj->btf)))
		return NULL;
	if (!obj->graph_recs) {
		obj->graph_recs = calloc(n, sizeof(*obj->graph_recs));
		obj->graph_rec_err = calloc(n, 1);
		if (!obj->graph_recs || !obj->graph_rec_err) {
			graph_cache_free(obj);
			*errp = -ENOMEM;
			snprintf(err, err_sz, "out of memory");
			return NULL;
		}
	}
	if (obj->graph_rec_err[id] == 1)
		return obj->graph_recs[id];
	e = parse_rec(obj, id, depth, &rec, err, err_sz);
	if (e) {
		*errp = e;
		return NULL;
	}
	r = rec.cnt ? intern(&rec) : NULL;
	if (rec.cnt && !r) {
		*errp = -ENOMEM;
		snprintf(err, err_sz, "out of memory");
		return NULL;
	}
	obj->graph_recs[id] = r;
	obj->graph_rec_err[id] = 1;
	return r;
}

const struct graph_rec *graph_rec_of(struct bpfx_object *obj, u32 type_id,
				     int *errp, char *err, size_t err_sz)
{
	return rec_of(obj, type_id, 0, errp, err, err_sz);
}

void graph_cache_free(struct bpfx_object *obj)
{
	free(obj->graph_recs);
	free(obj->graph_rec_err);
	obj->graph_recs = NULL;
	obj->graph_rec_err = NULL;
}

const struct graph_field *graph_field_at(const struct graph_rec *rec, u32 off,
					 int kind)
{
	for (int i = 0; rec && i < rec->cnt; i++)
		if (rec->f[i].off == off && rec->f[i].kind == kind)
			return &rec->f[i];
	return NULL;
}

/* ---- lists ---- */

struct list_mem { /* the bytes of a bpf_list_head */
	struct graph_link *first, *last;
};
struct rb_mem { /* the bytes of a bpf_rb_root */
	struct graph_link *root, *leftmost;
};

/* P read from the head or root at OWNER: NULL, or a live object's link
 * in that head. */
static bool link_ok(struct graph_link *p, void *owner)
{
	return !p || (object_link_valid(p) == p && p->owner == owner);
}

static u64 link_addr(const struct graph_link *l)
{
	return l ? (u64)(uintptr_t)l->obj->data + l->node_off : 0;
}

static void *root_arg(struct bpfx_run *run, const char *kfunc, u64 addr,
		      bool tree)
{
	void *p = run_mem(run, addr, 16, MEM_WRITE);
	struct list_mem *m = p;

	if (!p) {
		run_fail(run, -EFAULT, "kfunc %s: %#llx is not a writable %s",
			 kfunc, (unsigned long long)addr,
			 tree ? "bpf_rb_root" : "bpf_list_head");
		return NULL;
	}
	/* first/last and root/leftmost share the layout */
	if (!link_ok(m->first, p) || !link_ok(m->last, p)) {
		run_fail(run, -EFAULT, "kfunc %s: %s at %#llx is corrupt",
			 kfunc, tree ? "bpf_rb_root" : "bpf_list_head",
			 (unsigned long long)addr);
		return NULL;
	}
	return p;
}

/* The link of the node at ADDR, in a live object. */
static struct graph_link *node_arg(struct bpfx_run *run, const char *kfunc,
				   u64 addr)
{
	struct obj_hdr *h = object_find(addr, 1);
	u32 off;

	if (h) {
		off = (u32)(addr - (u64)(uintptr_t)h->data);
		for (u32 i = 0; i < h->link_cnt; i++)
			if (h->links[i].node_off == off)
				return &h->links[i];
	}
	run_fail(run, -EINVAL,
		 "kfunc %s: %#llx is not a node of a live object from bpf_obj_new",
		 kfunc, (unsigned long long)addr);
	return NULL;
}

/* The program gives its owning reference to the node's object to a
 * collection: false (and the run fails) if it holds none. */
static bool take_owning(struct bpfx_run *run, const char *kfunc,
			struct graph_link *l)
{
	if (object_disown(run, l->obj))
		return true;
	run_fail(run, -EINVAL,
		 "kfunc %s: the program holds no owning reference to %#llx",
		 kfunc, (unsigned long long)link_addr(l));
	return false;
}

static u64 give_owning(struct bpfx_run *run, const char *kfunc,
		       struct graph_link *l)
{
	if (object_own(run, l->obj)) {
		/* no memory for the record: the reference is dropped */
		object_put(l->obj);
		return (u64)(s64)run_fail(run, -ENOMEM, "kfunc %s: out of memory",
					  kfunc);
	}
	return link_addr(l);
}

static u64 list_push(struct bpfx_run *run, const char *kfunc, u64 head,
		     u64 node, bool front)
{
	struct list_mem *m = root_arg(run, kfunc, head, false);
	struct graph_link *l = m ? node_arg(run, kfunc, node) : NULL;

	if (!l || !take_owning(run, kfunc, l))
		return 0;
	if (l->owner) {
		/* in a collection already (bpf_refcount): dropped */
		object_put(l->obj);
		return (u64)(s64)-EINVAL;
	}
	l->owner = m;
	if (front) {
		l->prev = NULL;
		l->next = m->first;
		if (m->first)
			m->first->prev = l;
		else
			m->last = l;
		m->first = l;
	} else {
		l->next = NULL;
		l->prev = m->last;
		if (m->last)
			m->last->next = l;
		else
			m->first = l;
		m->last = l;
	}
	return 0;
}

static void list_unlink(struct list_mem *m, struct graph_link *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		m->first = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		m->last = l->prev;
	l->next = l->prev = NULL;
	l->owner = NULL;
}

static u64 list_pop(struct bpfx_run *run, const char *kfunc, u64 head,
		    bool front)
{
	struct list_mem *m = root_arg(run, kfunc, head, false);
	struct graph_link *l;

	if (!m || !(l = front ? m->first : m->last))
		return 0;
	list_unlink(m, l);
	return give_owning(run, kfunc, l);
}

static u64 list_peek(struct bpfx_run *run, const char *kfunc, u64 head,
		     bool front)
{
	struct list_mem *m = root_arg(run, kfunc, head, false);

	return m ? link_addr(front ? m->first : m->last) : 0;
}

GRAPH_KFUNC(list_push_front_impl)
{
	return list_push(run, "bpf_list_push_front_impl", r1, r2, true);
}
GRAPH_KFUNC(list_push_back_impl)
{
	return list_push(run, "bpf_list_push_back_impl", r1, r2, false);
}
GRAPH_KFUNC(list_pop_front)
{
	return list_pop(run, "bpf_list_pop_front", r1, true);
}
GRAPH_KFUNC(list_pop_back)
{
	return list_pop(run, "bpf_list_pop_back", r1, false);
}
GRAPH_KFUNC(list_front)
{
	return list_peek(run, "bpf_list_front", r1, true);
}
GRAPH_KFUNC(list_back)
{
	return list_peek(run, "bpf_list_back", r1, false);
}

/* ---- red-black trees ----
 * The classic algorithm with parent pointers and NULL leaves; the root
 * keeps its leftmost node, so first() is O(1) as the kernel's
 * rb_root_cached. */

static void rb_replace_child(struct rb_mem *t, struct graph_link *parent,
			     struct graph_link *old, struct graph_link *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

static void rb_rotate_left(struct rb_mem *t, struct graph_link *x)
{
	struct graph_link *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	rb_replace_child(t, x->parent, x, y);
	y->left = x;
	x->parent = y;
}

static void rb_rotate_right(struct rb_mem *t, struct graph_link *x)
{
	struct graph_link *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	rb_replace_child(t, x->parent, x, y);
	y->right = x;
	x->parent = y;
}

static void rb_insert_fixup(struct rb_mem *t, struct graph_link *z)
{
	while (z->parent && z->parent->red) {
		struct graph_link *p = z->parent, *g = p->parent, *u;

		if (p == g->left) {
			u = g->right;
			if (u && u->red) {
				p->red = u->red = false;
				g->red = true;
				z = g;
				continue;
			}
			if (z == p->right) {
				rb_rotate_left(t, p);
				z = p;
				p = z->parent;
			}
			p->red = false;
			g->red = true;
			rb_rotate_right(t, g);
		} else {
			u = g->left;
			if (u && u->red) {
				p->red = u->red = false;
				g->red = true;
				z = g;
				continue;
			}
			if (z == p->left) {
				rb_rotate_right(t, p);
				z = p;
				p = z->parent;
			}
			p->red = false;
			g->red = true;
			rb_rotate_left(t, g);
		}
	}
	t->root->red = false;
}

static struct graph_link *rb_min(struct graph_link *x)
{
	while (x && x->left)
		x = x->left;
	return x;
}

static struct graph_link *rb_next(struct graph_link *x)
{
	if (x->right)
		return rb_min(x->right);
	while (x->parent && x == x->parent->right)
		x = x->parent;
	return x->parent;
}

static bool is_black(const struct graph_link *x)
{
	return !x || !x->red;
}

static void rb_erase_fixup(struct rb_mem *t, struct graph_link *x,
			   struct graph_link *xp)
{
	while (x != t->root && is_black(x) && xp) {
		struct graph_link *w;

		if (x == xp->left) {
			w = xp->right;
			if (w->red) {
				w->red = false;
				xp->red = true;
				rb_rotate_left(t, xp);
				w = xp->right;
			}
			if (is_black(w->left) && is_black(w->right)) {
				w->red = true;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (is_black(w->right)) {
				w->left->red = false;
				w->red = true;
				rb_rotate_right(t, w);
				w = xp->right;
			}
			w->red = xp->red;
			xp->red = false;
			w->right->red = false;
			rb_rotate_left(t, xp);
		} else {
			w = xp->left;
			if (w->red) {
				w->red = false;
				xp->red = true;
				rb_rotate_right(t, xp);
				w = xp->left;
			}
			if (is_black(w->left) && is_black(w->right)) {
				w->red = true;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (is_black(w->left)) {
				w->right->red = false;
				w->red = true;
				rb_rotate_left(t, w);
				w = xp->left;
			}
			w->red = xp->red;
			xp->red = false;
			w->left->red = false;
			rb_rotate_right(t, xp);
		}
		x = t->root;
		break;
	}
	if (x)
		x->red = false;
}

static void rb_erase(struct rb_mem *t, struct graph_link *z)
{
	struct graph_link *x, *xp, *y = z;
	bool y_red = y->red;

	if (t->leftmost == z)
		t->leftmost = rb_next(z);
	if (!z->left) {
		x = z->right;
		xp = z->parent;
		rb_replace_child(t, z->parent, z, z->right);
	} else if (!z->right) {
		x = z->left;
		xp = z->parent;
		rb_replace_child(t, z->parent, z, z->left);
	} else {
		y = rb_min(z->right);
		y_red = y->red;
		x = y->right;
		if (y->parent == z) {
			xp = y;
		} else {
			xp = y->parent;
			rb_replace_child(t, y->parent, y, y->right);
			y->right = z->right;
			y->right->parent = y;
		}
		rb_replace_child(t, z->parent, z, y);
		y->left = z->left;
		y->left->parent = y;
		y->red = z->red;
	}
	if (!y_red)
		rb_erase_fixup(t, x, xp);
	z->parent = z->left = z->right = NULL;
	z->red = false;
	z->owner = NULL;
}

/* The tree a less() callback runs under on this thread: the callback may
 * not change it (the verifier refuses it; a run that does is stopped). */
static __thread void *tree_in_less;

static bool tree_busy(struct bpfx_run *run, const char *kfunc)
{
	if (!tree_in_less)
		return false;
	run_fail(run, -EINVAL,
		 "kfunc %s: not allowed inside bpf_rbtree_add's less() callback",
		 kfunc);
	return true;
}

GRAPH_KFUNC(rbtree_add_impl)
{
	static const char kfunc[] = "bpf_rbtree_add_impl";
	struct rb_mem *t;
	struct graph_link *l, *parent = NULL, **link;
	bool leftmost = true;

	if (tree_busy(run, kfunc) || !(t = root_arg(run, kfunc, r1, true)) ||
	    !(l = node_arg(run, kfunc, r2)) || !take_owning(run, kfunc, l))
		return 0;
	if (l->owner) {
		object_put(l->obj);
		return (u64)(s64)-EINVAL;
	}
	if (!run->call) {
		object_put(l->obj);
		return (u64)(s64)run_fail(run, -EOPNOTSUPP,
			"kfunc %s: this engine cannot call back into the program",
			kfunc);
	}
	link = &t->root;
	tree_in_less = t;
	while (*link) {
		u64 args[5] = { link_addr(l), link_addr(*link), 0, 0, 0 };
		u64 ret = 0;
		int err;

		parent = *link;
		err = run->call(run, r3, args, &ret);
		if (err < 0 || run->err) {
			tree_in_less = NULL;
			object_put(l->obj);
			if (err < 0)
				run_fail(run, err, "kfunc %s: callback failed",
					 kfunc);
			return 0;
		}
		if (ret & 1) {
			link = &parent->left;
		} else {
			link = &parent->right;
			leftmost = false;
		}
	}
	tree_in_less = NULL;
	l->owner = t;
	l->parent = parent;
	l->left = l->right = NULL;
	l->red = true;
	*link = l;
	if (leftmost)
		t->leftmost = l;
	rb_insert_fixup(t, l);
	return 0;
}

GRAPH_KFUNC(rbtree_remove)
{
	static const char kfunc[] = "bpf_rbtree_remove";
	struct rb_mem *t;
	struct graph_link *l;

	if (tree_busy(run, kfunc) || !(t = root_arg(run, kfunc, r1, true)) ||
	    !(l = node_arg(run, kfunc, r2)))
		return 0;
	if (l->owner != t)
		return 0;
	rb_erase(t, l);
	return give_owning(run, kfunc, l);
}

GRAPH_KFUNC(rbtree_first)
{
	struct rb_mem *t = root_arg(run, "bpf_rbtree_first", r1, true);

	return t ? link_addr(t->leftmost) : 0;
}

GRAPH_KFUNC(rbtree_root)
{
	struct rb_mem *t = root_arg(run, "bpf_rbtree_root", r1, true);

	return t ? link_addr(t->root) : 0;
}

static u64 rb_child(struct bpfx_run *run, const char *kfunc, u64 root,
		    u64 node, bool left)
{
	struct rb_mem *t = root_arg(run, kfunc, root, true);
	struct graph_link *l = t ? node_arg(run, kfunc, node) : NULL;

	if (!l || l->owner != t)
		return 0;
	return link_addr(left ? l->left : l->right);
}

GRAPH_KFUNC(rbtree_left)
{
	return rb_child(run, "bpf_rbtree_left", r1, r2, true);
}
GRAPH_KFUNC(rbtree_right)
{
	return rb_child(run, "bpf_rbtree_right", r1, r2, false);
}

GRAPH_KFUNC(refcount_acquire_impl)
{
	struct obj_hdr *h = object_find(r1, 1);
	u32 n;

	if (!h || (u64)(uintptr_t)h->data != r1 || !h->rec ||
	    h->rec->refcount_off < 0)
		return (u64)(s64)run_fail(
			run, -EINVAL,
			"kfunc bpf_refcount_acquire_impl: %#llx is not a live object with a bpf_refcount",
			(unsigned long long)r1);
	n = atomic_load(&h->refcnt);
	do {
		if (!n)
			return 0; /* being freed: the kernel returns NULL */
	} while (!atomic_compare_exchange_weak(&h->refcnt, &n, n + 1));
	if (object_own(run, h)) {
		object_put(h);
		return 0;
	}
	return r1;
}

/* ---- freeing ---- */

static void drain_list(struct list_mem *m)
{
	struct graph_link *l = m->first;

	m->first = m->last = NULL;
	while (l) {
		struct graph_link *next = l->next;

		l->next = l->prev = NULL;
		l->owner = NULL;
		object_put(l->obj);
		l = next;
	}
}

static void drain_tree(struct rb_mem *t)
{
	struct graph_link *l = t->root;

	t->root = t->leftmost = NULL;
	/* post-order without a stack: free leaves, climbing back up */
	while (l) {
		if (l->left) {
			l = l->left;
			continue;
		}
		if (l->right) {
			l = l->right;
			continue;
		}
		struct graph_link *p = l->parent;

		if (p && p->left == l)
			p->left = NULL;
		else if (p)
			p->right = NULL;
		l->parent = NULL;
		l->red = false;
		l->owner = NULL;
		object_put(l->obj);
		l = p;
	}
}

void graph_drain_fields(const struct graph_rec *rec, void *base)
{
	for (int i = 0; rec && i < rec->cnt; i++) {
		void *p = (u8 *)base + rec->f[i].off;

		/* links that are not this root's are left alone: only a
		 * program the verifier did not see could have put them */
		if (rec->f[i].kind == GF_LIST_HEAD) {
			struct list_mem *m = p;

			if (link_ok(m->first, p) && link_ok(m->last, p))
				drain_list(m);
			else
				memset(p, 0, sizeof(*m));
		} else if (rec->f[i].kind == GF_RB_ROOT) {
			struct rb_mem *t = p;

			if (link_ok(t->root, p) && link_ok(t->leftmost, p))
				drain_tree(t);
			else
				memset(p, 0, sizeof(*t));
		} else if (rec->f[i].kind == GF_KPTR) {
			kptr_drop_field(p);
		}
	}
}

void graph_map_clear_value(struct bpfx_map *map, void *value)
{
	if (map->graph_rec)
		graph_drain_fields(map->graph_rec, value);
}

static bool rec_has_roots(const struct graph_rec *rec)
{
	for (int i = 0; rec && i < rec->cnt; i++)
		if (rec->f[i].kind == GF_LIST_HEAD ||
		    rec->f[i].kind == GF_RB_ROOT)
			return true;
	return false;
}

/* Whether values of REC own something to drop when they go. */
static bool rec_owns(const struct graph_rec *rec)
{
	return rec_has_roots(rec) || (rec && rec->kptr_cnt);
}

int graph_map_init(struct bpfx_map *map)
{
	char why[160];
	int err = 0;

	map->graph_rec = NULL;
	if (!map->obj || !map->btf_value_type_id)
		return 0;
	map->graph_rec = graph_rec_of(map->obj, map->btf_value_type_id, &err,
				      why, sizeof(why));
	if (err) {
		pr_warn("maps: map %s: %s", map->name ? map->name : "?", why);
		return err;
	}
	if (rec_has_roots(map->graph_rec) && map->type != BPF_MAP_TYPE_ARRAY) {
		pr_warn("maps: map %s: bpf_list_head and bpf_rb_root are supported in array maps and global data only, not in %s maps",
			map->name ? map->name : "?", map_type_name(map->type));
		return -EOPNOTSUPP;
	}
	if (map->graph_rec && map->graph_rec->kptr_cnt &&
	    map->type != BPF_MAP_TYPE_ARRAY && map->type != BPF_MAP_TYPE_HASH &&
	    map->type != BPF_MAP_TYPE_LRU_HASH) {
		pr_warn("maps: map %s: kptr fields are supported in array, hash and LRU hash maps and global data only, not in %s maps",
			map->name ? map->name : "?", map_type_name(map->type));
		return -EOPNOTSUPP;
	}
	return 0;
}

void graph_map_copy_value(struct bpfx_map *map, void *dst, const void *src)
{
	const struct graph_rec *rec = map->graph_rec;
	u32 pos = 0;

	if (!rec) {
		memcpy(dst, src, map->value_size);
		return;
	}
	/* special fields keep their bytes, as the kernel's copy_map_value;
	 * fields are in offset order */
	for (int i = 0; i < rec->cnt; i++) {
		u32 off = rec->f[i].off;

		if (off > pos)
			memcpy((u8 *)dst + pos, (const u8 *)src + pos, off - pos);
		if (off + rec->f[i].size > pos)
			pos = off + rec->f[i].size;
	}
	if (pos < map->value_size)
		memcpy((u8 *)dst + pos, (const u8 *)src + pos,
		       map->value_size - pos);
	graph_drain_fields(rec, dst);
}

void graph_map_free(struct bpfx_map *map)
{
	if (!rec_owns(map->graph_rec) || !map->mem)
		return;
	for (u32 i = 0; i < map->max_entries; i++)
		graph_drain_fields(map->graph_rec,
				   map->mem + (size_t)i * ROUND_UP(map->value_size, 8));
}

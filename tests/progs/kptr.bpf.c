// SPDX-License-Identifier: GPL-2.0
/*
 * Referenced kptrs: objects from bpf_obj_new stashed in map values
 * (`struct node_data __kptr *node`) with bpf_kptr_xchg, read in place
 * under RCU, and dropped when their element is overwritten, deleted or
 * the map freed (the cases leave objects in maps: the sanitizer runs
 * prove they are freed). Each case is compared with the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_graph.h"

char LICENSE[] SEC("license") = "GPL";

#define PKT "0011223344556677889900aa08060001"

struct node_data {
	long key;
	long data;
	struct bpf_rb_node node;
};

struct plain {
	long a, b;
};

#define private(name) SEC(".data." #name) __hidden __attribute__((aligned(8)))

struct holder {
	long x;
	struct plain __kptr *inner;
};

struct map_value {
	long tag;
	struct node_data __kptr *node;
	struct plain __kptr *plain;
};

/* without a use, clang emits only a forward declaration of the structs */
struct node_data *btf_node_data;
struct plain *btf_plain;
struct holder *btf_holder;

/* a kptr in global data */
private(A) struct plain __kptr *glob;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, int);
	__type(value, struct map_value);
	__uint(max_entries, 2);
} some_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, int);
	__type(value, struct map_value);
	__uint(max_entries, 4);
} hash_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, int);
	__type(value, struct map_value);
	__uint(max_entries, 4);
} lru_nodes SEC(".maps");

static int create_and_stash(int idx, int val)
{
	struct map_value *mapval;
	struct node_data *res;

	mapval = bpf_map_lookup_elem(&some_nodes, &idx);
	if (!mapval)
		return 1;
	res = bpf_obj_new(typeof(*res));
	if (!res)
		return 1;
	res->key = val;
	res = bpf_kptr_xchg(&mapval->node, res);
	if (res)
		bpf_obj_drop(res);
	return 0;
}

/* local_kptr_stash.c's stash_rb_nodes: both objects stay in the map,
 * and user space reads the kptr as NULL */
// TEST prog=stash_rb_nodes data=0011223344556677889900aa08060001 retval=0 map=some_nodes:01000000:000000000000000000000000000000000000000000000000
SEC("tc")
long stash_rb_nodes(void *ctx)
{
	return create_and_stash(0, 41) ?: create_and_stash(1, 42);
}

/* ... then unstash_rb_node, in one run */
// TEST prog=stash_unstash data=0011223344556677889900aa08060001 retval=42
SEC("tc")
long stash_unstash(void *ctx)
{
	struct map_value *mapval;
	struct node_data *res;
	long retval;
	int key = 1;

	if (create_and_stash(0, 41) || create_and_stash(1, 42))
		return 100;
	mapval = bpf_map_lookup_elem(&some_nodes, &key);
	if (!mapval)
		return 1;
	res = bpf_kptr_xchg(&mapval->node, NULL);
	if (res) {
		retval = res->key;
		bpf_obj_drop(res);
		return retval;
	}
	return 1;
}

/* the second xchg gives back the first object; the third finds NULL */
// TEST prog=xchg_returns_old data=0011223344556677889900aa08060001 retval=4321
SEC("tc")
long xchg_returns_old(void *ctx)
{
	struct map_value *v;
	struct plain *p, *q;
	long r = 0;
	int key = 0;

	v = bpf_map_lookup_elem(&some_nodes, &key);
	if (!v)
		return 1;
	p = bpf_obj_new(typeof(*p));
	if (!p)
		return 2;
	p->a = 43;
	q = bpf_obj_new(typeof(*q));
	if (!q) {
		bpf_obj_drop(p);
		return 3;
	}
	q->a = 21;
	p = bpf_kptr_xchg(&v->plain, p);
	if (p) {
		bpf_obj_drop(p);
		bpf_obj_drop(q);
		return 4;
	}
	q = bpf_kptr_xchg(&v->plain, q);
	if (!q)
		return 5;
	r = q->a * 100;
	bpf_obj_drop(q);
	q = bpf_kptr_xchg(&v->plain, NULL);
	if (!q)
		return 6;
	r += q->a;
	bpf_obj_drop(q);
	q = bpf_kptr_xchg(&v->plain, NULL);
	if (q) {
		bpf_obj_drop(q);
		return 7;
	}
	return r;
}

/* a direct load reads (and writes) the object in place, without a
 * reference: rcu_ptr_or_null_ to the struct */
// TEST prog=load_in_place data=0011223344556677889900aa08060001 retval=47 vlog=rcu_ptr_or_null_plain(id=
SEC("tc")
long load_in_place(void *ctx)
{
	struct map_value *v;
	struct plain *p;
	int key = 1;

	v = bpf_map_lookup_elem(&some_nodes, &key);
	if (!v)
		return 1;
	p = bpf_obj_new(typeof(*p));
	if (!p)
		return 2;
	p->a = 40;
	p = bpf_kptr_xchg(&v->plain, p);
	if (p)
		bpf_obj_drop(p);
	p = v->plain;
	if (!p)
		return 3;
	p->b = 7;
	p = v->plain;
	if (!p)
		return 4;
	return p->a + p->b;
}

/* an empty field loads as NULL */
// TEST prog=load_null data=0011223344556677889900aa08060001 retval=9
SEC("tc")
long load_null(void *ctx)
{
	struct map_value *v;
	int key = 1;

	v = bpf_map_lookup_elem(&some_nodes, &key);
	if (!v)
		return 1;
	return v->node ? 8 : 9;
}

/* bpf_map_update_elem of the element drops the object it held (the
 * kernel's bpf_obj_free_fields), and keeps the new value's other bytes */
// TEST prog=update_drops data=0011223344556677889900aa08060001 retval=77
SEC("tc")
long update_drops(void *ctx)
{
	struct map_value zero = { .tag = 77 }, *v;
	struct node_data *n;
	int key = 0;

	if (create_and_stash(0, 5))
		return 1;
	bpf_map_update_elem(&some_nodes, &key, &zero, BPF_ANY);
	v = bpf_map_lookup_elem(&some_nodes, &key);
	if (!v)
		return 2;
	n = bpf_kptr_xchg(&v->node, NULL);
	if (n) {
		bpf_obj_drop(n);
		return 3;
	}
	return v->tag;
}

/* hash elements: replaced or deleted, their objects go with them; the
 * one left in the map goes when the map is freed */
// TEST prog=hash_stash data=0011223344556677889900aa08060001 retval=7
SEC("tc")
long hash_stash(void *ctx)
{
	struct map_value zero = {}, *v;
	struct node_data *n;
	int key = 3, other = 2;

	bpf_map_update_elem(&hash_nodes, &key, &zero, BPF_ANY);
	v = bpf_map_lookup_elem(&hash_nodes, &key);
	if (!v)
		return 1;
	n = bpf_obj_new(typeof(*n));
	if (!n)
		return 2;
	n = bpf_kptr_xchg(&v->node, n);
	if (n)
		bpf_obj_drop(n);
	/* replaced: the object goes */
	bpf_map_update_elem(&hash_nodes, &key, &zero, BPF_ANY);
	v = bpf_map_lookup_elem(&hash_nodes, &key);
	if (!v)
		return 3;
	n = bpf_obj_new(typeof(*n));
	if (!n)
		return 4;
	n = bpf_kptr_xchg(&v->node, n);
	if (n) {
		bpf_obj_drop(n);
		return 5;
	}
	/* deleted: this one goes */
	bpf_map_delete_elem(&hash_nodes, &key);
	bpf_map_update_elem(&hash_nodes, &key, &zero, BPF_ANY);
	v = bpf_map_lookup_elem(&hash_nodes, &key);
	if (!v)
		return 6;
	n = bpf_kptr_xchg(&v->node, NULL);
	if (n) {
		bpf_obj_drop(n);
		return 8;
	}
	/* left in the map, freed with it */
	bpf_map_update_elem(&hash_nodes, &other, &zero, BPF_ANY);
	v = bpf_map_lookup_elem(&hash_nodes, &other);
	if (!v)
		return 9;
	n = bpf_obj_new(typeof(*n));
	if (!n)
		return 10;
	n = bpf_kptr_xchg(&v->node, n);
	if (n)
		bpf_obj_drop(n);
	return 7;
}

/* global data holds kptrs too; this one stays there until the object
 * is closed */
// TEST prog=global_kptr data=0011223344556677889900aa08060001 retval=5
SEC("tc")
long global_kptr(void *ctx)
{
	struct plain *p = bpf_obj_new(typeof(*p));

	if (!p)
		return 1;
	p->a = 5;
	p = bpf_kptr_xchg(&glob, p);
	if (p)
		bpf_obj_drop(p);
	p = glob;
	return p ? p->a : 3;
}

/* an object's own kptr: dropping the holder drops what it holds */
// TEST prog=object_kptr data=0011223344556677889900aa08060001 retval=6
SEC("tc")
long object_kptr(void *ctx)
{
	struct holder *h = bpf_obj_new(typeof(*h));
	struct plain *p;

	if (!h)
		return 1;
	p = bpf_obj_new(typeof(*p));
	if (!p) {
		bpf_obj_drop(h);
		return 2;
	}
	p->a = 6;
	p = bpf_kptr_xchg(&h->inner, p);
	if (p)
		bpf_obj_drop(p);
	p = bpf_obj_new(typeof(*p));
	if (!p) {
		bpf_obj_drop(h);
		return 3;
	}
	p = bpf_kptr_xchg(&h->inner, p);
	if (!p) {
		bpf_obj_drop(h);
		return 4;
	}
	h->x = p->a;
	bpf_obj_drop(p);
	p = bpf_kptr_xchg(&h->inner, NULL);
	if (p)
		bpf_obj_drop(p);
	p = bpf_obj_new(typeof(*p));
	if (!p) {
		bpf_obj_drop(h);
		return 5;
	}
	p = bpf_kptr_xchg(&h->inner, p);
	if (p)
		bpf_obj_drop(p);
	p = (void *)h->x;
	bpf_obj_drop(h);
	return (long)p;
}

/* a sleepable program outside bpf_rcu_read_lock reads through an
 * untrusted pointer */
// TEST prog=sleepable_load ctx=00000000 retval=0 vlog=untrusted_ptr_or_null_plain(id=
SEC("syscall")
int sleepable_load(void *ctx)
{
	struct map_value *v;
	struct plain *p;
	int k = 0;

	v = bpf_map_lookup_elem(&some_nodes, &k);
	if (!v)
		return 1;
	p = v->plain;
	if (!p)
		return 0;
	return p->a;
}

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

/* after bpf_rcu_read_unlock a pointer to a struct with a graph node is an
 * untrusted non-owning one, which the kernel still lets programs read */
// TEST prog=read_node_after_unlock data=0011223344556677889900aa08060001 retval=44 vlog=untrusted_ptr_node_data(id=
SEC("tc")
long read_node_after_unlock(void *ctx)
{
	struct map_value *v;
	struct node_data *n;
	int key = 0;

	if (create_and_stash(0, 44))
		return 1;
	v = bpf_map_lookup_elem(&some_nodes, &key);
	if (!v)
		return 2;
	bpf_rcu_read_lock();
	n = v->node;
	if (!n) {
		bpf_rcu_read_unlock();
		return 3;
	}
	bpf_rcu_read_unlock();
	return n->key;
}

/* a pointer loaded from a kptr stays readable to the end of the run
 * after its object is dropped (the kernel's RCU keeps the memory) */
// TEST prog=read_after_drop data=0011223344556677889900aa08060001 retval=3
SEC("tc")
long read_after_drop(void *ctx)
{
	struct map_value *v;
	struct plain *p, *q;
	int key = 0;

	v = bpf_map_lookup_elem(&some_nodes, &key);
	if (!v)
		return 1;
	q = bpf_obj_new(typeof(*q));
	if (!q)
		return 2;
	q->a = 3;
	q = bpf_kptr_xchg(&v->plain, q);
	if (q)
		bpf_obj_drop(q);
	p = v->plain;
	if (!p)
		return 4;
	q = bpf_kptr_xchg(&v->plain, NULL);
	if (q)
		bpf_obj_drop(q);
	return p->a;
}

/* an LRU hash evicts elements with their objects; each new element
 * starts with an empty kptr */
// TEST prog=lru_stash data=0011223344556677889900aa08060001 retval=0
SEC("tc")
long lru_stash(void *ctx)
{
	struct map_value zero = {}, *v;
	struct plain *p;

#pragma clang loop unroll(full)
	for (int i = 0; i < 8; i++) {
		int key = i;

		bpf_map_update_elem(&lru_nodes, &key, &zero, BPF_ANY);
		v = bpf_map_lookup_elem(&lru_nodes, &key);
		if (!v)
			continue;
		p = bpf_obj_new(typeof(*p));
		if (!p)
			return 1;
		p = bpf_kptr_xchg(&v->plain, p);
		if (p) {
			bpf_obj_drop(p);
			return 2;
		}
	}
	return 0;
}

/* local_kptr_stash.c's later cases: a stashed object with a tree of its
 * own (freed with the map, tree and all), and bpf_refcount_acquire on a
 * stashed refcounted object read in place */
struct rnode {
	long data;
	struct bpf_rb_node rb_node;
	struct bpf_refcount refcount;
};

struct local_with_root {
	long key;
	struct bpf_spin_lock l;
	struct bpf_rb_root r __contains(node_data, node);
};

struct stash {
	struct bpf_spin_lock l;
	struct rnode __kptr *stashed;
	struct local_with_root __kptr *local_root;
};

struct rnode *btf_rnode;
struct local_with_root *btf_local_with_root;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, int);
	__type(value, struct stash);
	__uint(max_entries, 2);
} stashes SEC(".maps");

static bool node_less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	struct node_data *na = container_of(a, struct node_data, node);
	struct node_data *nb = container_of(b, struct node_data, node);

	return na->key < nb->key;
}

// TEST prog=stash_local_with_root data=0011223344556677889900aa08060001 retval=0
SEC("tc")
long stash_local_with_root(void *ctx)
{
	struct local_with_root *res;
	struct node_data *n;
	struct stash *s;
	int idx = 0;

	s = bpf_map_lookup_elem(&stashes, &idx);
	if (!s)
		return 1;
	res = bpf_obj_new(typeof(*res));
	if (!res)
		return 2;
	res->key = 41;
	n = bpf_obj_new(typeof(*n));
	if (!n) {
		bpf_obj_drop(res);
		return 3;
	}
	bpf_spin_lock(&res->l);
	bpf_rbtree_add(&res->r, &n->node, node_less);
	bpf_spin_unlock(&res->l);
	res = bpf_kptr_xchg(&s->local_root, res);
	if (res) {
		bpf_obj_drop(res);
		return 4;
	}
	return 0;
}

// TEST prog=refcount_acquire_stashed data=0011223344556677889900aa08060001 retval=42
SEC("tc")
long refcount_acquire_stashed(void *ctx)
{
	struct rnode *p;
	struct stash *s;
	int ret = 0;

	s = bpf_map_lookup_elem(&stashes, &ret);
	if (!s)
		return 1;
	p = bpf_obj_new(typeof(*p));
	if (!p)
		return 2;
	p->data = 42;
	p = bpf_kptr_xchg(&s->stashed, p);
	if (p) {
		bpf_obj_drop(p);
		return 3;
	}
	if (!s->stashed)
		return 4;
	p = bpf_refcount_acquire(s->stashed);
	if (!p)
		return 5;
	ret = s->stashed ? s->stashed->data : -1;
	bpf_obj_drop(p);
	return ret;
}

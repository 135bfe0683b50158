// SPDX-License-Identifier: GPL-2.0
/*
 * Graph data structures: linked lists and red-black trees of objects from
 * bpf_obj_new, with roots in global data sections, array map values and
 * objects, each guarded by its bpf_spin_lock; run on every engine and the
 * kernel with the same results. Objects some cases leave in a list or a
 * tree are freed with the map when the object is closed (the ASan runs
 * check that nothing leaks).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_graph.h"

char LICENSE[] SEC("license") = "GPL";

#define private(name) SEC(".data." #name) __hidden __attribute__((aligned(8)))

struct item {
	long key;
	struct bpf_list_node lnode;
	long data;
};

/* in a list and a tree at once only with a bpf_refcount (struct shared) */
struct titem {
	long key;
	struct bpf_rb_node rnode;
	long data;
};

struct shared {
	struct bpf_refcount ref;
	long key;
	struct bpf_rb_node r0;
	struct bpf_list_node l0;
};

/* an object with a list of items of its own */
struct bag_item {
	struct bpf_list_node lnode_dummy;
	struct bpf_spin_lock lock;
	struct bpf_list_head items __contains(item, lnode);
	long tag;
};

private(A) struct bpf_spin_lock alock;
private(A) struct bpf_list_head alist __contains(item, lnode);
private(B) struct bpf_spin_lock block;
private(B) struct bpf_rb_root btree __contains(titem, rnode);
private(C) struct bpf_spin_lock clock_;
private(C) struct bpf_list_head bags __contains(bag_item, lnode_dummy);
private(D) struct bpf_spin_lock dlock;
private(D) struct bpf_rb_root dtree __contains(shared, r0);
private(D) struct bpf_list_head dlist __contains(shared, l0);

struct map_value {
	struct bpf_spin_lock lock;
	long count;
	struct bpf_rb_root root __contains(titem, rnode);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct map_value);
} trees SEC(".maps");

static bool less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	struct titem *x = container_of(a, struct titem, rnode);
	struct titem *y = container_of(b, struct titem, rnode);

	return x->key < y->key;
}

static bool less_shared(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	struct shared *x = container_of(a, struct shared, r0);
	struct shared *y = container_of(b, struct shared, r0);

	return x->key < y->key;
}

/* push_back 1..4; pop_front and push_front four times (the same one
 * comes back each time); then pop_front all: the keys as decimal digits */
// TEST prog=list_order data=0011223344556677889900aa08060001 retval=11111234
SEC("tc")
int list_order(void *ctx)
{
	struct bpf_list_node *n;
	struct item *it;
	long out = 0;
	int i;

	for (i = 1; i <= 4; i++) {
		it = bpf_obj_new(typeof(*it));
		if (!it)
			return -1;
		it->key = i;
		bpf_spin_lock(&alock);
		bpf_list_push_back(&alist, &it->lnode);
		bpf_spin_unlock(&alock);
	}
	for (i = 0; i < 4; i++) {
		bpf_spin_lock(&alock);
		n = bpf_list_pop_front(&alist);
		bpf_spin_unlock(&alock);
		if (!n)
			return -2;
		it = container_of(n, struct item, lnode);
		out = out * 10 + it->key;
		/* back in at the front */
		bpf_spin_lock(&alock);
		bpf_list_push_front(&alist, &it->lnode);
		bpf_spin_unlock(&alock);
	}
	for (i = 0; i < 4; i++) {
		bpf_spin_lock(&alock);
		n = bpf_list_pop_front(&alist);
		bpf_spin_unlock(&alock);
		if (!n)
			return -3;
		it = container_of(n, struct item, lnode);
		out = out * 10 + it->key;
		bpf_obj_drop(it);
	}
	bpf_spin_lock(&alock);
	n = bpf_list_pop_back(&alist);
	bpf_spin_unlock(&alock);
	if (n) {
		bpf_obj_drop(container_of(n, struct item, lnode));
		return -4;
	}
	return out;
}

/* front/back peek without taking the node; a non-owning pointer can be
 * written while the lock is held */
// TEST prog=list_peek data=0011223344556677889900aa08060001 retval=719
SEC("tc")
int list_peek(void *ctx)
{
	struct bpf_list_node *n;
	struct item *a, *b;
	long r = 0;

	a = bpf_obj_new(typeof(*a));
	if (!a)
		return -1;
	b = bpf_obj_new(typeof(*b));
	if (!b) {
		bpf_obj_drop(a);
		return -1;
	}
	a->key = 7;
	b->key = 9;
	bpf_spin_lock(&alock);
	bpf_list_push_back(&alist, &a->lnode);
	bpf_list_push_back(&alist, &b->lnode);
	a->data = 1; /* non-owning, still under the lock */
	n = bpf_list_front(&alist);
	if (n)
		r = container_of(n, struct item, lnode)->key * 100;
	n = bpf_list_back(&alist);
	if (n)
		r += container_of(n, struct item, lnode)->key;
	n = bpf_list_front(&alist);
	if (n)
		r += container_of(n, struct item, lnode)->data * 10;
	bpf_spin_unlock(&alock);
	/* both stay in the list: freed with the section */
	return r;
}

/* 64 keys in scrambled order; first() then remove() hands them back in
 * ascending order */
// TEST prog=tree_sorted data=0011223344556677889900aa08060001 retval=64
SEC("tc")
int tree_sorted(void *ctx)
{
	struct bpf_rb_node *n;
	struct titem *it;
	long prev = -1;
	int i, cnt = 0;

	for (i = 0; i < 64; i++) {
		it = bpf_obj_new(typeof(*it));
		if (!it)
			return -1;
		it->key = (i * 37) % 64; /* a permutation of 0..63 */
		bpf_spin_lock(&block);
		bpf_rbtree_add(&btree, &it->rnode, less);
		bpf_spin_unlock(&block);
	}
	for (i = 0; i < 64; i++) {
		bpf_spin_lock(&block);
		n = bpf_rbtree_first(&btree);
		if (!n) {
			bpf_spin_unlock(&block);
			break;
		}
		n = bpf_rbtree_remove(&btree, n);
		bpf_spin_unlock(&block);
		if (!n)
			return -2;
		it = container_of(n, struct titem, rnode);
		if (it->key != prev + 1) {
			bpf_obj_drop(it);
			return -3;
		}
		prev = it->key;
		cnt++;
		bpf_obj_drop(it);
	}
	return cnt;
}

/* equal keys keep their insertion order; a walk from the root with
 * left/right finds a key, which is then removed */
// TEST prog=tree_walk data=0011223344556677889900aa08060001 retval=3
SEC("tc")
int tree_walk(void *ctx)
{
	struct bpf_rb_node *n, *found = NULL;
	struct titem *it;
	long want = 21;
	int i, depth, ret = 0;

	for (i = 0; i < 16; i++) {
		it = bpf_obj_new(typeof(*it));
		if (!it)
			return -1;
		it->key = i * 3;
		it->data = i;
		bpf_spin_lock(&block);
		bpf_rbtree_add(&btree, &it->rnode, less);
		bpf_spin_unlock(&block);
	}
	bpf_spin_lock(&block);
	n = bpf_rbtree_root(&btree);
	for (depth = 0; depth < 16 && n; depth++) {
		it = container_of(n, struct titem, rnode);
		if (it->key == want) {
			found = n;
			break;
		}
		if (want < it->key)
			n = bpf_rbtree_left(&btree, n);
		else
			n = bpf_rbtree_right(&btree, n);
	}
	if (!found) {
		bpf_spin_unlock(&block);
		return -2;
	}
	n = bpf_rbtree_remove(&btree, found);
	/* removing it again finds it in no tree */
	struct bpf_rb_node *again = bpf_rbtree_remove(&btree, found);
	bpf_spin_unlock(&block);
	if (again) {
		bpf_obj_drop(container_of(again, struct titem, rnode));
		ret = -4;
	}
	if (!n)
		return -3;
	it = container_of(n, struct titem, rnode);
	if (!ret)
		ret = it->key == want ? 3 : -5;
	bpf_obj_drop(it);
	/* the other 15 stay in the tree */
	return ret;
}

/* a tree in an array map value, two elements, two locks */
// TEST prog=tree_in_map data=0011223344556677889900aa08060001 retval=1005
SEC("tc")
int tree_in_map(void *ctx)
{
	struct map_value *v0, *v1;
	struct bpf_rb_node *n;
	struct titem *a, *b;
	long r = 0;

	v0 = bpf_map_lookup_elem(&trees, &(__u32){ 0 });
	v1 = bpf_map_lookup_elem(&trees, &(__u32){ 1 });
	if (!v0 || !v1)
		return -1;
	a = bpf_obj_new(typeof(*a));
	if (!a)
		return -2;
	a->key = 10;
	bpf_spin_lock(&v0->lock);
	bpf_rbtree_add(&v0->root, &a->rnode, less);
	v0->count++;
	bpf_spin_unlock(&v0->lock);
	b = bpf_obj_new(typeof(*b));
	if (!b)
		return -3;
	b->key = 5;
	bpf_spin_lock(&v1->lock);
	bpf_rbtree_add(&v1->root, &b->rnode, less);
	v1->count++;
	bpf_spin_unlock(&v1->lock);

	bpf_spin_lock(&v0->lock);
	n = bpf_rbtree_first(&v0->root);
	if (n)
		r += container_of(n, struct titem, rnode)->key * 100;
	bpf_spin_unlock(&v0->lock);
	bpf_spin_lock(&v1->lock);
	n = bpf_rbtree_first(&v1->root);
	if (n)
		r += container_of(n, struct titem, rnode)->key;
	bpf_spin_unlock(&v1->lock);
	return r;
}

/* objects with a list of their own, in a list: dropping the outer one
 * frees what its list holds */
// TEST prog=list_of_lists data=0011223344556677889900aa08060001 retval=42
SEC("tc")
int list_of_lists(void *ctx)
{
	struct bpf_list_node *n;
	struct bag_item *bg;
	struct item *it;
	int i;

	bg = bpf_obj_new(typeof(*bg));
	if (!bg)
		return -1;
	bg->tag = 42;
	for (i = 0; i < 3; i++) {
		it = bpf_obj_new(typeof(*it));
		if (!it) {
			bpf_obj_drop(bg);
			return -2;
		}
		it->key = i;
		bpf_spin_lock(&bg->lock);
		bpf_list_push_back(&bg->items, &it->lnode);
		bpf_spin_unlock(&bg->lock);
	}
	bpf_spin_lock(&clock_);
	bpf_list_push_back(&bags, &bg->lnode_dummy);
	bpf_spin_unlock(&clock_);

	bpf_spin_lock(&clock_);
	n = bpf_list_pop_front(&bags);
	bpf_spin_unlock(&clock_);
	if (!n)
		return -3;
	bg = container_of(n, struct bag_item, lnode_dummy);
	/* one item out, the other two go with the bag */
	bpf_spin_lock(&bg->lock);
	n = bpf_list_pop_front(&bg->items);
	bpf_spin_unlock(&bg->lock);
	if (n)
		bpf_obj_drop(container_of(n, struct item, lnode));
	i = bg->tag;
	bpf_obj_drop(bg);
	return i;
}

/* bpf_refcount: one object in a tree and a list at once; adding it to a
 * tree it is already in drops that reference and fails */
// TEST prog=refcounted data=0011223344556677889900aa08060001 retval=-22
SEC("tc")
int refcounted(void *ctx)
{
	struct bpf_rb_node *rn;
	struct bpf_list_node *ln;
	struct shared *s, *t, *u;
	long ret;

	s = bpf_obj_new(typeof(*s));
	if (!s)
		return -1;
	s->key = 3;
	t = bpf_refcount_acquire(s);
	if (!t) {
		bpf_obj_drop(s);
		return -2;
	}
	bpf_spin_lock(&dlock);
	bpf_rbtree_add(&dtree, &s->r0, less_shared);
	bpf_list_push_back(&dlist, &t->l0);
	bpf_spin_unlock(&dlock);

	bpf_spin_lock(&dlock);
	rn = bpf_rbtree_first(&dtree);
	if (!rn) {
		bpf_spin_unlock(&dlock);
		return -3;
	}
	u = bpf_refcount_acquire(container_of(rn, struct shared, r0));
	bpf_spin_unlock(&dlock);
	if (!u)
		return -4;
	bpf_spin_lock(&dlock);
	ret = bpf_rbtree_add(&dtree, &u->r0, less_shared);
	bpf_spin_unlock(&dlock);

	bpf_spin_lock(&dlock);
	ln = bpf_list_pop_front(&dlist);
	bpf_spin_unlock(&dlock);
	if (ln)
		bpf_obj_drop(container_of(ln, struct shared, l0));
	bpf_spin_lock(&dlock);
	rn = bpf_rbtree_first(&dtree);
	if (rn)
		rn = bpf_rbtree_remove(&dtree, rn);
	bpf_spin_unlock(&dlock);
	if (rn)
		bpf_obj_drop(container_of(rn, struct shared, r0));
	return ret;
}

/* objects left in a list across runs of one load: each run finds the
 * previous run's and puts two back */
// TEST prog=across_runs data=0011223344556677889900aa08060001 repeat=5 retval=2
SEC("tc")
int across_runs(void *ctx)
{
	struct bpf_list_node *n;
	struct item *it;
	int i, found = 0;

	for (i = 0; i < 8; i++) {
		bpf_spin_lock(&alock);
		n = bpf_list_pop_front(&alist);
		bpf_spin_unlock(&alock);
		if (!n)
			break;
		found++;
		bpf_obj_drop(container_of(n, struct item, lnode));
	}
	for (i = 0; i < 2; i++) {
		it = bpf_obj_new(typeof(*it));
		if (!it)
			return -1;
		bpf_spin_lock(&alock);
		bpf_list_push_back(&alist, &it->lnode);
		bpf_spin_unlock(&alock);
	}
	return found ? found : 2;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Graph data structures the verifier refuses, with the kernel's messages
 * (the kernel refuses each too): a list or tree used without its lock or
 * under another one, pointers used after the unlock that ends them, nodes
 * added twice or of the wrong struct or member, references leaked, the
 * special fields touched directly, and what the less() callback of
 * bpf_rbtree_add may not do.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_exceptions.h"
#include "bpfx/bpf/bpfx_graph.h"

char LICENSE[] SEC("license") = "GPL";

#define private(name) SEC(".data." #name) __hidden __attribute__((aligned(8)))

struct item {
	long key;
	struct bpf_list_node node;
	struct bpf_list_node other;
};

struct titem {
	long key;
	struct bpf_rb_node node;
};

struct plain {
	long key;
};

private(A) struct bpf_spin_lock alock;
private(A) struct bpf_list_head alist __contains(item, node);
private(B) struct bpf_spin_lock block;
private(B) struct bpf_rb_root btree __contains(titem, node);
private(B) struct bpf_rb_root btree2 __contains(titem, node);

static bool less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	return container_of(a, struct titem, node)->key <
	       container_of(b, struct titem, node)->key;
}

static bool less_remove(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	bpf_rbtree_remove(&btree, a);
	return false;
}

static bool less_unlock(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	bpf_spin_unlock(&block);
	return false;
}

static bool less_throw(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	bpf_throw(1);
	return false;
}


// TEST prog=push_no_lock data=0011223344556677889900aa08060001 error=bpf_spin_lock__at__off=16__must__be__held__for__bpf_list_head
SEC("tc")
int push_no_lock(void *ctx)
{
	struct item *it = bpf_obj_new(typeof(*it));

	if (!it)
		return 0;
	bpf_list_push_back(&alist, &it->node);
	return 0;
}

// TEST prog=pop_wrong_lock data=0011223344556677889900aa08060001 error=held__lock__and__object__are__not__in__the__same__allocation;__bpf_spin_lock__at__off=16__must__be__held__for__bpf_list_head
SEC("tc")
int pop_wrong_lock(void *ctx)
{
	struct bpf_list_node *n;

	bpf_spin_lock(&block);
	n = bpf_list_pop_front(&alist);
	bpf_spin_unlock(&block);
	if (n)
		bpf_obj_drop(container_of(n, struct item, node));
	return 0;
}

// TEST prog=first_no_lock data=0011223344556677889900aa08060001 error=bpf_spin_lock__at__off=0__must__be__held__for__bpf_rb_root
SEC("tc")
int first_no_lock(void *ctx)
{
	return bpf_rbtree_first(&btree) != NULL;
}

// TEST prog=use_after_unlock data=0011223344556677889900aa08060001 error=invalid__mem__access__'scalar'
SEC("tc")
int use_after_unlock(void *ctx)
{
	struct item *it = bpf_obj_new(typeof(*it));

	if (!it)
		return 0;
	bpf_spin_lock(&alock);
	bpf_list_push_front(&alist, &it->node);
	bpf_spin_unlock(&alock);
	return it->key;
}

// TEST prog=push_twice data=0011223344556677889900aa08060001 error=arg#1__expected__pointer__to__allocated__object
SEC("tc")
int push_twice(void *ctx)
{
	struct item *it = bpf_obj_new(typeof(*it));

	if (!it)
		return 0;
	bpf_spin_lock(&alock);
	bpf_list_push_front(&alist, &it->node);
	bpf_list_push_front(&alist, &it->node);
	bpf_spin_unlock(&alock);
	return 0;
}

// TEST prog=add_two_trees data=0011223344556677889900aa08060001 error=arg#1__expected__pointer__to__allocated__object
SEC("tc")
int add_two_trees(void *ctx)
{
	struct titem *t = bpf_obj_new(typeof(*t));

	if (!t)
		return 0;
	bpf_spin_lock(&block);
	bpf_rbtree_add(&btree, &t->node, less);
	bpf_rbtree_add(&btree2, &t->node, less);
	bpf_spin_unlock(&block);
	return 0;
}

// TEST prog=wrong_member data=0011223344556677889900aa08060001 error=arg#1__offset=32,__but__expected__bpf_list_node__at__offset=8__in__struct__item
SEC("tc")
int wrong_member(void *ctx)
{
	struct item *it = bpf_obj_new(typeof(*it));

	if (!it)
		return 0;
	bpf_spin_lock(&alock);
	bpf_list_push_front(&alist, &it->other);
	bpf_spin_unlock(&alock);
	return 0;
}

// TEST prog=no_node_there data=0011223344556677889900aa08060001 error=bpf_list_node__not__found__at__offset=0
SEC("tc")
int no_node_there(void *ctx)
{
	struct plain *p = bpf_obj_new(typeof(*p));

	if (!p)
		return 0;
	bpf_spin_lock(&alock);
	bpf_list_push_front(&alist, (void *)p);
	bpf_spin_unlock(&alock);
	return 0;
}

// TEST prog=pop_leak data=0011223344556677889900aa08060001 error=Unreleased__reference__id=
SEC("tc")
int pop_leak(void *ctx)
{
	struct bpf_list_node *n;

	bpf_spin_lock(&alock);
	n = bpf_list_pop_front(&alist);
	bpf_spin_unlock(&alock);
	return n != NULL;
}

// TEST prog=unchecked_pop data=0011223344556677889900aa08060001 error=dereference__of__modified__ptr_or_null_
SEC("tc")
int unchecked_pop(void *ctx)
{
	struct bpf_list_node *n;

	bpf_spin_lock(&alock);
	n = bpf_list_pop_front(&alist);
	bpf_list_push_back(&alist, n);
	bpf_spin_unlock(&alock);
	return 0;
}

// TEST prog=head_direct data=0011223344556677889900aa08060001 error=bpf_list_head__cannot__be__accessed__directly__by__load/store
SEC("tc")
int head_direct(void *ctx)
{
	return *(volatile long *)&alist;
}

// TEST prog=node_direct data=0011223344556677889900aa08060001 error=direct__access__to__bpf_list_node__is__disallowed
SEC("tc")
int node_direct(void *ctx)
{
	struct item *it = bpf_obj_new(typeof(*it));
	long v;

	if (!it)
		return 0;
	v = *(volatile long *)&it->node;
	bpf_obj_drop(it);
	return v;
}

// TEST prog=remove_in_less data=0011223344556677889900aa08060001 error=bpf_rbtree_remove__not__allowed__in__rbtree__cb
SEC("tc")
int remove_in_less(void *ctx)
{
	struct titem *t = bpf_obj_new(typeof(*t));

	if (!t)
		return 0;
	bpf_spin_lock(&block);
	bpf_rbtree_add(&btree, &t->node, less_remove);
	bpf_spin_unlock(&block);
	return 0;
}

// TEST prog=unlock_in_less data=0011223344556677889900aa08060001 error=can't__spin_{lock,unlock}__in__rbtree__cb
SEC("tc")
int unlock_in_less(void *ctx)
{
	struct titem *t = bpf_obj_new(typeof(*t));

	if (!t)
		return 0;
	bpf_spin_lock(&block);
	bpf_rbtree_add(&btree, &t->node, less_unlock);
	bpf_spin_unlock(&block);
	return 0;
}

// TEST prog=throw_in_less data=0011223344556677889900aa08060001 error=function__calls__are__not__allowed__while__holding__a__lock
SEC("tc")
int throw_in_less(void *ctx)
{
	struct titem *t = bpf_obj_new(typeof(*t));

	if (!t)
		return 0;
	bpf_spin_lock(&block);
	bpf_rbtree_add(&btree, &t->node, less_throw);
	bpf_spin_unlock(&block);
	return 0;
}

// TEST prog=remove_after_unlock data=0011223344556677889900aa08060001 error=bpf_rbtree_remove__can__only__take__non-owning__or__refcounted__bpf_rb_node__pointer
SEC("tc")
int remove_after_unlock(void *ctx)
{
	struct bpf_rb_node *n;

	bpf_spin_lock(&block);
	n = bpf_rbtree_first(&btree);
	bpf_spin_unlock(&block);
	if (!n)
		return 0;
	bpf_spin_lock(&block);
	n = bpf_rbtree_remove(&btree, n);
	bpf_spin_unlock(&block);
	if (n)
		bpf_obj_drop(container_of(n, struct titem, node));
	return 0;
}

// TEST prog=acquire_no_refcount data=0011223344556677889900aa08060001 error=bpf_refcount
SEC("tc")
int acquire_no_refcount(void *ctx)
{
	struct titem *t = bpf_obj_new(typeof(*t)), *u;

	if (!t)
		return 0;
	u = bpf_refcount_acquire(t);
	if (u)
		bpf_obj_drop(u);
	bpf_obj_drop(t);
	return 0;
}

// TEST prog=tracing_uses_list ctx=0000000000000000 error=tracing__progs__cannot__use__bpf_{list_head,rb_root}__yet
SEC("tracepoint/syscalls/sys_enter_nanosleep")
int tracing_uses_list(void *ctx)
{
	struct bpf_list_node *n;

	bpf_spin_lock(&alock);
	n = bpf_list_pop_front(&alist);
	bpf_spin_unlock(&alock);
	if (n)
		bpf_obj_drop(container_of(n, struct item, node));
	return 0;
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Linked lists and red-black trees of allocated objects for BPF programs,
 * under the names and meanings of the kernel's selftest header
 * bpf_experimental.h, so one program source builds for both the kernel
 * and bpfx. Include after <bpf/bpf_helpers.h>; it includes
 * bpfx_objects.h (bpf_obj_new, bpf_obj_drop).
 *
 * A struct bpf_list_head or bpf_rb_root sits in global data (often a
 * section of its own, SEC(".data.A")), an array map value or an object,
 * beside the struct bpf_spin_lock that guards it, and names what it holds
 * with __contains(struct name, node member). Every operation needs that
 * lock held.
 *
 *   bpf_list_push_front(head, node) / bpf_list_push_back(head, node)
 *       the list takes the object: the pointer stays usable until unlock
 *   bpf_list_pop_front(head) / bpf_list_pop_back(head)
 *       the node (an object the program now holds), or NULL
 *   bpf_list_front(head) / bpf_list_back(head)
 *       the node, still in the list (usable until unlock), or NULL
 *   bpf_rbtree_add(root, node, less)
 *       the tree takes the object, ordered by
 *       bool less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
 *   bpf_rbtree_first(root)           the leftmost node, or NULL
 *   bpf_rbtree_remove(root, node)    the node, now the program's, or NULL
 *   bpf_rbtree_root / _left / _right the tree's root, a node's children
 *   bpf_refcount_acquire(obj)        one more reference to an object
 *                                    with a struct bpf_refcount
 *
 * Nodes are members of type struct bpf_list_node / bpf_rb_node; use
 * container_of() to get from a node to its object.
 *
 * The struct types are the kernel's (its UAPI linux/bpf.h from 6.3 on):
 * this header declares them unless vmlinux.h was included or
 * BPFX_UAPI_HAS_GRAPH_TYPES is defined (a newer linux/bpf.h).
 */
#ifndef BPFX_BPF_GRAPH_H
#define BPFX_BPF_GRAPH_H

#include <stdbool.h>

#include "bpfx_objects.h"

#if !defined(__VMLINUX_H__) && !defined(BPFX_UAPI_HAS_GRAPH_TYPES)
struct bpf_list_head {
	__u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_list_node {
	__u64 __opaque[3];
} __attribute__((aligned(8)));
struct bpf_rb_root {
	__u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_rb_node {
	__u64 __opaque[4];
} __attribute__((aligned(8)));
struct bpf_refcount {
	__u32 __opaque[1];
} __attribute__((aligned(4)));
#endif

#ifndef __BPF_EXPERIMENTAL__
#define __contains(name, node)                                                 \
	__attribute__((btf_decl_tag("contains:" #name ":" #node)))

/* meta and off: rewritten by the kernel's verifier, pass NULL and 0 */
extern int bpf_list_push_front_impl(struct bpf_list_head *head,
				    struct bpf_list_node *node, void *meta,
				    __u64 off) __ksym;
extern int bpf_list_push_back_impl(struct bpf_list_head *head,
				   struct bpf_list_node *node, void *meta,
				   __u64 off) __ksym;
extern struct bpf_list_node *bpf_list_pop_front(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_pop_back(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_front(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_back(struct bpf_list_head *head) __ksym;
extern int bpf_rbtree_add_impl(struct bpf_rb_root *root,
			       struct bpf_rb_node *node,
			       bool (less)(struct bpf_rb_node *a,
					   const struct bpf_rb_node *b),
			       void *meta, __u64 off) __ksym;
extern struct bpf_rb_node *bpf_rbtree_remove(struct bpf_rb_root *root,
					     struct bpf_rb_node *node) __ksym;
extern struct bpf_rb_node *bpf_rbtree_first(struct bpf_rb_root *root) __ksym;
extern struct bpf_rb_node *bpf_rbtree_root(struct bpf_rb_root *root) __ksym;
extern struct bpf_rb_node *bpf_rbtree_left(struct bpf_rb_root *root,
					   struct bpf_rb_node *node) __ksym;
extern struct bpf_rb_node *bpf_rbtree_right(struct bpf_rb_root *root,
					    struct bpf_rb_node *node) __ksym;
extern void *bpf_refcount_acquire_impl(void *kptr, void *meta) __ksym;

#define bpf_list_push_front(head, node)                                        \
	bpf_list_push_front_impl(head, node, NULL, 0)
#define bpf_list_push_back(head, node)                                         \
	bpf_list_push_back_impl(head, node, NULL, 0)
#define bpf_rbtree_add(root, node, less)                                       \
	bpf_rbtree_add_impl(root, node, less, NULL, 0)
#define bpf_refcount_acquire(kptr) bpf_refcount_acquire_impl(kptr, NULL)
#endif

#endif

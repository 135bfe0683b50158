// SPDX-License-Identifier: GPL-2.0
/*
 * Referenced kptrs the verifier refuses, with the kernel's messages:
 * stores, partial or atomic accesses of the field, bpf_kptr_xchg of the
 * wrong struct, of an unchecked or borrowed pointer, at an offset that
 * holds no kptr, references left behind, and pointers used after their
 * reference moved into the map (local_kptr_stash_fail.c's cases among
 * them). Each verdict is compared with the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfx/bpf/bpfx_graph.h"

char LICENSE[] SEC("license") = "GPL";

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct node_data {
	long key;
	long data;
	struct bpf_rb_node node;
};

struct node_data2 {
	long key[4];
};

struct plain {
	long a, b;
};

struct holder {
	long x;
	struct plain __kptr *inner;
};

struct map_value {
	long tag;
	struct node_data __kptr *node;
	struct plain __kptr *plain;
};

struct node_data *btf_node_data;
struct holder *btf_holder;
struct plain *btf_plain;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, int);
	__type(value, struct map_value);
	__uint(max_entries, 2);
} some_nodes SEC(".maps");

struct locked_value {
	struct bpf_spin_lock lock;
	int pad;
	struct plain __kptr *plain;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, int);
	__type(value, struct locked_value);
	__uint(max_entries, 2);
} locked SEC(".maps");

static struct map_value *value0(void)
{
	int idx = 0;

	return bpf_map_lookup_elem(&some_nodes, &idx);
}

/* local_kptr_stash_fail.c: an object of another struct */
// TEST prog=stash_other_type data=0011223344556677889900aa08060001 error=invalid__kptr__access,__R2__type=ptr_node_data2__expected=ptr_node_data
SEC("tc")
long stash_other_type(void *ctx)
{
	struct map_value *mapval = value0();
	struct node_data2 *res;

	if (!mapval)
		return 1;
	res = bpf_obj_new(typeof(*res));
	if (!res)
		return 1;
	res->key[0] = 40;
	res = bpf_kptr_xchg(&mapval->node, res);
	if (res)
		bpf_obj_drop(res);
	return 0;
}

/* local_kptr_stash_fail.c: a drop at the node's offset */
// TEST prog=drop_rb_node_off data=0011223344556677889900aa08060001 error=R1__must__have__zero__offset__when__passed__to__release__func
SEC("tc")
long drop_rb_node_off(void *ctx)
{
	struct map_value *mapval = value0();
	struct node_data *res;

	if (!mapval)
		return 1;
	res = bpf_obj_new(typeof(*res));
	if (!res)
		return 1;
	bpf_obj_drop(&res->node);
	return 0;
}

// TEST prog=store_object data=0011223344556677889900aa08060001 error=store__to__referenced__kptr__disallowed
SEC("tc")
long store_object(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	n = bpf_obj_new(typeof(*n));
	if (!n)
		return 2;
	v->node = n;
	return 0;
}

// TEST prog=store_null data=0011223344556677889900aa08060001 error=store__to__referenced__kptr__disallowed
SEC("tc")
long store_null(void *ctx)
{
	struct map_value *v = value0();

	if (!v)
		return 1;
	v->node = 0;
	return 0;
}

// TEST prog=load_misaligned data=0011223344556677889900aa08060001 error=kptr__access__misaligned__expected=8__off=12
SEC("tc")
long load_misaligned(void *ctx)
{
	struct map_value *v = value0();

	if (!v)
		return 1;
	return *(int *)((char *)v + 12);
}

// TEST prog=load_word data=0011223344556677889900aa08060001 error=kptr__access__size__must__be__BPF_DW
SEC("tc")
long load_word(void *ctx)
{
	struct map_value *v = value0();

	if (!v)
		return 1;
	return *(int *)((char *)v + 8);
}

// TEST prog=atomic_add data=0011223344556677889900aa08060001 error=kptr__in__map__can__only__be__accessed__using__BPF_MEM__instruction__mode
SEC("tc")
long atomic_add(void *ctx)
{
	struct map_value *v = value0();

	if (!v)
		return 1;
	__sync_fetch_and_add((long *)&v->node, 1);
	return 0;
}

/* what xchg returns is an owning reference */
// TEST prog=xchg_leak data=0011223344556677889900aa08060001 error=Unreleased__reference
SEC("tc")
long xchg_leak(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	n = bpf_kptr_xchg(&v->node, NULL);
	return n != 0;
}

// TEST prog=xchg_no_kptr data=0011223344556677889900aa08060001 error=off=0__doesn't__point__to__kptr
SEC("tc")
long xchg_no_kptr(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	n = bpf_kptr_xchg(&v->tag, NULL);
	if (n)
		bpf_obj_drop(n);
	return 0;
}

/* a loaded kptr holds no reference: neither dropped nor moved */
// TEST prog=drop_loaded data=0011223344556677889900aa08060001 error=R1__must__be__referenced__or__trusted
SEC("tc")
long drop_loaded(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	n = v->node;
	if (n)
		bpf_obj_drop(n);
	return 0;
}

// TEST prog=xchg_loaded data=0011223344556677889900aa08060001 error=verifier__bug:__invalid__PTR_TO_BTF_ID__register__for__type__match
SEC("tc")
long xchg_loaded(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	n = v->node;
	if (!n)
		return 0;
	n = bpf_kptr_xchg(&v->node, n);
	if (n)
		bpf_obj_drop(n);
	return 0;
}

/* the object must be checked for NULL before it is stashed */
// TEST prog=xchg_maybe_null data=0011223344556677889900aa08060001 error=verifier__bug:__invalid__PTR_TO_BTF_ID__register__for__type__match
SEC("tc")
long xchg_maybe_null(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	n = bpf_obj_new(typeof(*n));
	n = bpf_kptr_xchg(&v->node, n);
	if (n)
		bpf_obj_drop(n);
	return 0;
}

// TEST prog=load_unchecked data=0011223344556677889900aa08060001 error=R1__invalid__mem__access__'rcu_ptr_or_null_'
SEC("tc")
long load_unchecked(void *ctx)
{
	struct map_value *v = value0();

	if (!v)
		return 1;
	return v->node->key;
}

/* once in the map, the program's copies are dead */
// TEST prog=use_after_stash data=0011223344556677889900aa08060001 error=invalid__mem__access__'scalar'
SEC("tc")
long use_after_stash(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n, *o;

	if (!v)
		return 1;
	n = bpf_obj_new(typeof(*n));
	if (!n)
		return 2;
	o = bpf_kptr_xchg(&v->node, n);
	if (o)
		bpf_obj_drop(o);
	return n->key;
}

/* a scalar is no object */
// TEST prog=xchg_scalar data=0011223344556677889900aa08060001 error=R2__type=scalar__expected=ptr_,__trusted_ptr_,__rcu_ptr_
SEC("tc")
long xchg_scalar(struct __sk_buff *skb)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	n = bpf_kptr_xchg(&v->node, (void *)(long)skb->len);
	if (n)
		bpf_obj_drop(n);
	return 0;
}

/* when the RCU section ends, the loaded pointer is untrusted: not to be
 * written, and (the kernel keeps it an allocated object without a
 * reference) not to be read either */
// TEST prog=write_after_unlock data=0011223344556677889900aa08060001 error=only__read__is__supported
SEC("tc")
long write_after_unlock(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	bpf_rcu_read_lock();
	n = v->node;
	if (!n) {
		bpf_rcu_read_unlock();
		return 0;
	}
	bpf_rcu_read_unlock();
	n->key = 1;
	return 0;
}

// TEST prog=read_after_unlock data=0011223344556677889900aa08060001 error=verifier__bug:__ref_obj_id__for__allocated__object__must__be__non-zero
SEC("tc")
long read_after_unlock(void *ctx)
{
	struct map_value *v = value0();
	struct plain *p;

	if (!v)
		return 1;
	bpf_rcu_read_lock();
	p = v->plain;
	if (!p) {
		bpf_rcu_read_unlock();
		return 0;
	}
	bpf_rcu_read_unlock();
	return p->a;
}

/* an object's kptr moves only through bpf_kptr_xchg */
// TEST prog=object_kptr_load data=0011223344556677889900aa08060001 error=direct__access__to__kptr__is__disallowed
SEC("tc")
long object_kptr_load(void *ctx)
{
	struct holder *h = bpf_obj_new(typeof(*h));
	struct plain *p;
	long r;

	if (!h)
		return 1;
	p = h->inner;
	r = p ? p->a : 9;
	bpf_obj_drop(h);
	return r;
}

/* a sleepable program's load outside RCU: read only */
// TEST prog=sleepable_write ctx=00000000 error=only__read__is__supported
SEC("syscall")
int sleepable_write(void *ctx)
{
	struct map_value *v = value0();
	struct node_data *n;

	if (!v)
		return 1;
	n = v->node;
	if (!n)
		return 0;
	n->key = 1;
	return 0;
}

/* helpers may not read or write a kptr ... */
// TEST prog=helper_writes_kptr data=0011223344556677889900aa08060001 error=kptr__cannot__be__accessed__indirectly__by__helper
SEC("tc")
long helper_writes_kptr(struct __sk_buff *skb)
{
	struct map_value *v = value0();

	if (!v)
		return 1;
	bpf_skb_load_bytes(skb, 0, &v->node, 8);
	return 0;
}

/* ... and the first special field the access meets names the error */
// TEST prog=helper_reads_value data=0011223344556677889900aa08060001 error=bpf_spin_lock__cannot__be__accessed__directly__by__load/store
SEC("tc")
long helper_reads_value(void *ctx)
{
	struct locked_value *v;
	int k = 0, k1 = 1;

	v = bpf_map_lookup_elem(&locked, &k);
	if (!v)
		return 1;
	bpf_map_update_elem(&locked, &k1, v, 0);
	return 0;
}

/* no helper call under a bpf_spin_lock, bpf_kptr_xchg included */
// TEST prog=xchg_under_lock data=0011223344556677889900aa08060001 error=function__calls__are__not__allowed__while__holding__a__lock
SEC("tc")
long xchg_under_lock(void *ctx)
{
	struct locked_value *v;
	struct plain *p;
	int k = 0;

	v = bpf_map_lookup_elem(&locked, &k);
	if (!v)
		return 1;
	bpf_spin_lock(&v->lock);
	p = bpf_kptr_xchg(&v->plain, NULL);
	bpf_spin_unlock(&v->lock);
	if (p)
		bpf_obj_drop(p);
	return 0;
}

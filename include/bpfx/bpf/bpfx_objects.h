/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Allocated objects for BPF programs: bpf_obj_new and bpf_obj_drop under
 * the names and meanings of the kernel's selftest header
 * bpf_experimental.h, so one program source builds for both the kernel
 * and bpfx. Include after <bpf/bpf_helpers.h>.
 *
 *   bpf_obj_new(type)   a zeroed object of the struct TYPE (a type of the
 *                       program's own BTF), or NULL; the program holds a
 *                       reference that must reach bpf_obj_drop on every
 *                       path, a throw included
 *   bpf_obj_drop(obj)   frees it; every copy of the pointer is then dead
 */
#ifndef BPFX_BPF_OBJECTS_H
#define BPFX_BPF_OBJECTS_H

#include <bpf/bpf_core_read.h>

#ifndef __BPF_EXPERIMENTAL__
/* local_type_id: a constant, the struct's id in the program's BTF;
 * meta: rewritten by the kernel's verifier, pass NULL */
extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *obj, void *meta) __ksym;

#define bpf_obj_new(type)                                                      \
	((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#define bpf_obj_drop(obj) bpf_obj_drop_impl(obj, NULL)
#endif

#endif

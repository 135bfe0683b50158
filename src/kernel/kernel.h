/*
 * The host kernel as an engine: bpfx's linked program, its maps (with
 * their current contents), BTF, func_info and line_info are created in the
 * running kernel through bpf(), run once with BPF_PROG_TEST_RUN, and the
 * maps' contents are copied back. Load and test_run only: nothing is ever
 * attached, and every fd is closed before kernel_test_run() returns.
 */
#ifndef BPFX_KERNEL_KERNEL_H
#define BPFX_KERNEL_KERNEL_H

#include "internal.h"

/* bpfx_program__test_run() with BPFX_ENGINE_KERNEL. Returns the kernel's
 * negative errno (the verifier's log is logged as "kernel: PROG: ..."),
 * or -EOPNOTSUPP when this host does not allow bpf(). */
BPFX_HIDDEN int kernel_test_run(struct bpfx_program *prog,
				struct bpfx_test_run_opts *opts);

#endif

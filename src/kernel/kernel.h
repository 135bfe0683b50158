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

/* bpfx_program__verify() with BPFX_ENGINE_KERNEL: loads PROG (and the
 * maps it uses) into the host kernel with its verifier's log at LOG_LEVEL
 * plus BPF_LOG_STATS into LOG (may be NULL), fills STATS from the log's
 * "processed N insns ..." and "verification time N usec" lines, closes
 * everything. Load only. Returns 0 or the kernel's negative errno. */
BPFX_HIDDEN int kernel_verify(struct bpfx_program *prog,
			      unsigned int log_level, char *log, size_t log_sz,
			      struct verifier_stats *stats);

#endif

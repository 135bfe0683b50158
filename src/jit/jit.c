/* The JIT driver (placeholder until the x86-64 emitter lands). */
#include <stdio.h>

#include "internal.h"

int jit_prepare(struct bpfx_program *prog, char *err, size_t err_sz)
{
	snprintf(err, err_sz, "the JIT is not built yet");
	return -EOPNOTSUPP;
}

void jit_free(struct bpfx_program *prog)
{
	prog->jit = NULL;
}

int jit_run(struct bpfx_run *run, u64 r1, u64 r2, u64 *ret)
{
	return interp_run(run, r1, r2, ret);
}

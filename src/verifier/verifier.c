/*
 * The verifier (work in progress): accepts every program.
 */
#include "internal.h"

int verifier_check(struct bpfx_program *prog, unsigned int log_level,
		   char *log, size_t log_sz, char *err, size_t err_sz,
		   size_t *err_insn, struct verifier_stats *stats)
{
	if (log && log_sz)
		log[0] = '\0';
	return 0;
}

BPFX_API int bpfx_program__verify(struct bpfx_program *prog,
			 struct bpfx_verify_opts *opts)
{
	return prog ? bpfx_program__load(prog) : -EINVAL;
}

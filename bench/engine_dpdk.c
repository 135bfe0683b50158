/*
 * DPDK's librte_bpf (22.11): rte_bpf_elf_load() of the same object's
 * section, with the program's argument described as RTE_BPF_ARG_PTR of the
 * input's size, as DPDK's validator needs to bound the accesses. The
 * interpreter runs through rte_bpf_exec(); the JIT that rte_bpf_load()
 * also builds on x86_64 is timed for reference through rte_bpf_get_jit().
 *
 * No rte_eal_init(): loading, validating, interpreting and JIT-compiling
 * use only mmap and the log, which work without the EAL. Built without
 * DPDK (BENCH_NO_DPDK) the engines report that they are missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef BENCH_NO_DPDK
#include <rte_bpf.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_version.h>

struct dpdk_bench_prog {
	struct rte_bpf *bpf;
	struct rte_bpf_jit jit;
};

static void *dpdk_load(const char *path, const char *name, size_t input_size,
		       char *err, size_t err_sz)
{
	struct rte_bpf_prm prm = {
		.prog_arg = {
			.type = RTE_BPF_ARG_PTR,
			.size = input_size,
		},
	};
	struct dpdk_bench_prog *p = calloc(1, sizeof(*p));
	static bool quiet;

	(void)name;
	if (!p) {
		snprintf(err, err_sz, "out of memory");
		return NULL;
	}
	if (!quiet) {
		/* rte_bpf_elf_load logs every success at INFO */
		rte_log_set_global_level(RTE_LOG_ERR);
		quiet = true;
	}
	p->bpf = rte_bpf_elf_load(&prm, path, BENCH_SEC);
	if (!p->bpf) {
		snprintf(err, err_sz, "rte_bpf_elf_load %s: %s", path,
			 rte_strerror(rte_errno));
		free(p);
		return NULL;
	}
	if (rte_bpf_get_jit(p->bpf, &p->jit))
		memset(&p->jit, 0, sizeof(p->jit));
	return p;
}

static int dpdk_run(void *prog, void *input, size_t input_size,
		    uint32_t repeat, uint64_t *r0, double *ns_per_run)
{
	struct dpdk_bench_prog *p = prog;
	uint64_t ret = 0;

	(void)input_size;
	for (uint32_t i = 0; i < repeat; i++)
		ret = rte_bpf_exec(p->bpf, input);
	*r0 = ret;
	return 0;
}

static void *dpdk_jit_load(const char *path, const char *name,
			   size_t input_size, char *err, size_t err_sz)
{
	struct dpdk_bench_prog *p =
		dpdk_load(path, name, input_size, err, err_sz);
	if (p && !p->jit.func) {
		snprintf(err, err_sz, "no JIT on this architecture");
		rte_bpf_destroy(p->bpf);
		free(p);
		return NULL;
	}
	return p;
}

static int dpdk_jit_run(void *prog, void *input, size_t input_size,
			uint32_t repeat, uint64_t *r0, double *ns_per_run)
{
	struct dpdk_bench_prog *p = prog;
	uint64_t (*func)(void *) = p->jit.func;
	uint64_t ret = 0;

	(void)input_size;
	for (uint32_t i = 0; i < repeat; i++) {
		ret = func(input);
		/* keep the calls: the compiler may not see func is impure */
		__asm__ volatile("" : "+r"(ret) : : "memory");
	}
	*r0 = ret;
	return 0;
}


static void dpdk_unload(void *prog)
{
	struct dpdk_bench_prog *p = prog;
	rte_bpf_destroy(p->bpf);
	free(p);
}

const char *dpdk_describe(void)
{
	static char line[128];
	snprintf(line, sizeof(line), "%s, librte_bpf without rte_eal_init()",
		 rte_version());
	return line;
}

#else /* BENCH_NO_DPDK */

static void *dpdk_load(const char *path, const char *name, size_t input_size,
		       char *err, size_t err_sz)
{
	snprintf(err, err_sz, "bench built without DPDK (no libdpdk-dev)");
	return NULL;
}

static int dpdk_run(void *prog, void *input, size_t input_size,
		    uint32_t repeat, uint64_t *r0, double *ns_per_run)
{
	return -1;
}

#define dpdk_jit_load dpdk_load
#define dpdk_jit_run dpdk_run


static void dpdk_unload(void *prog)
{
}

const char *dpdk_describe(void)
{
	return "not built (no libdpdk-dev: apt-get install libdpdk-dev)";
}
#endif

/* DPDK does not tell how many instructions it loaded. */
static size_t dpdk_insn_cnt(void *prog)
{
	return 0;
}

const struct engine engine_dpdk = {
	.name = "DPDK",
	.load = dpdk_load,
	.run = dpdk_run,
	.insn_cnt = dpdk_insn_cnt,
	.unload = dpdk_unload,
};

const struct engine engine_dpdk_jit = {
	.name = "DPDK JIT",
	.load = dpdk_jit_load,
	.run = dpdk_jit_run,
	.insn_cnt = dpdk_insn_cnt,
	.unload = dpdk_unload,
	.reference_only = true,
};

/*
 * bpfx through its public API only: bpfx_object__open_file() and
 * bpfx_object__load(), then bpfx_program__test_run() with the input as
 * ctx_in and the run count as repeat, so the repeat loop is bpfx's own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfx/bpfx.h>

#include "bench.h"

struct bpfx_bench_prog {
	struct bpfx_object *obj;
	struct bpfx_program *prog;
};

static void *bpfx_load(const char *path, const char *name, size_t input_size,
		       char *err, size_t err_sz)
{
	struct bpfx_bench_prog *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, err_sz, "out of memory");
		return NULL;
	}
	p->obj = bpfx_object__open_file(path, NULL);
	if (!p->obj) {
		snprintf(err, err_sz, "open %s: %s", path, strerror(errno));
		free(p);
		return NULL;
	}
	p->prog = bpfx_object__find_program_by_name(p->obj, name);
	if (!p->prog) {
		snprintf(err, err_sz, "%s: no program %s", path, name);
		bpfx_object__close(p->obj);
		free(p);
		return NULL;
	}
	int ret = bpfx_object__load(p->obj);
	if (ret) {
		const char *why = bpfx_program__load_error(p->prog);
		snprintf(err, err_sz, "load %s: %s", name,
			 why ? why : strerror(-ret));
		bpfx_object__close(p->obj);
		free(p);
		return NULL;
	}
	return p;
}

static int bpfx_run(void *prog, void *input, size_t input_size,
		    uint32_t repeat, uint64_t *r0)
{
	struct bpfx_bench_prog *p = prog;
	BPFX_OPTS(bpfx_test_run_opts, opts, .ctx_in = input,
		  .ctx_size_in = (uint32_t)input_size, .repeat = (int)repeat);
	int ret = bpfx_program__test_run(p->prog, &opts);
	if (ret)
		return ret;
	*r0 = opts.retval64;
	return 0;
}

static size_t bpfx_insn_cnt(void *prog)
{
	return bpfx_program__insn_cnt(((struct bpfx_bench_prog *)prog)->prog);
}

static void bpfx_unload(void *prog)
{
	struct bpfx_bench_prog *p = prog;
	bpfx_object__close(p->obj);
	free(p);
}

const struct engine engine_bpfx = {
	.name = "bpfx",
	.load = bpfx_load,
	.run = bpfx_run,
	.insn_cnt = bpfx_insn_cnt,
	.unload = bpfx_unload,
};

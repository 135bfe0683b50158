/*
 * bpfx through its public API only: bpfx_object__open_file() and
 * bpfx_object__load(), then bpfx_program__run_raw() (default form) or
 * bpfx_program__test_run() (tc form) with the run count as repeat, so the
 * repeat loop is bpfx's own. Five engines share this:
 *
 *   bpfx, bpfx JIT            the default form, r1 = the input
 *   bpfx tc, bpfx JIT tc      the tc form, the input as the packet
 *   kernel                    the tc form through BPFX_ENGINE_KERNEL: the
 *                             host kernel loads it and runs it with
 *                             BPF_PROG_TEST_RUN (load and test_run only,
 *                             nothing attached); the figure is the
 *                             duration the kernel reports
 *
 * The JIT engines exist when bpfx_engine_by_name("jit") knows the name.
 * A program the JIT cannot compile would quietly run on the interpreter;
 * the load catches the library's "runs on the interpreter" message and
 * refuses it instead, so a JIT column never shows interpreter figures.
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
	int engine;
	bool packet; /* input as data_in (tc form), else as run_raw's mem */
};

static char jit_fallback[512];

static void bench_log(enum bpfx_log_level level, const char *msg, void *user)
{
	if (!strncmp(msg, "jit: ", 5) && strstr(msg, "on the interpreter"))
		snprintf(jit_fallback, sizeof(jit_fallback), "%s", msg);
	if (level <= BPFX_LOG_WARN)
		fprintf(stderr, "bpfx: %s\n", msg);
}

static int jit_engine(void)
{
	return bpfx_engine_by_name("jit");
}

bool bpfx_jit_available(char *why, size_t sz)
{
	if (jit_engine() >= 0)
		return true;
	snprintf(why, sz, "this libbpfx has no \"jit\" engine");
	return false;
}

static void *load_on(int engine, bool packet, const char *path,
		     const char *name, char *err, size_t err_sz)
{
	struct bpfx_bench_prog *p = calloc(1, sizeof(*p));
	static bool log_set;

	if (!log_set) {
		bpfx_set_log(bench_log, NULL);
		log_set = true;
	}
	if (!p) {
		snprintf(err, err_sz, "out of memory");
		return NULL;
	}
	if (engine < 0) {
		snprintf(err, err_sz, "engine not in this libbpfx");
		free(p);
		return NULL;
	}
	p->engine = engine;
	p->packet = packet;
	p->obj = bpfx_object__open_file(path, NULL);
	if (!p->obj) {
		snprintf(err, err_sz, "open %s: %s", path, strerror(errno));
		free(p);
		return NULL;
	}
	p->prog = bpfx_object__find_program_by_name(p->obj, name);
	if (!p->prog) {
		snprintf(err, err_sz, "%s: no program %s", path, name);
		goto fail;
	}
	jit_fallback[0] = '\0';
	int ret = bpfx_object__load(p->obj);
	if (ret) {
		const char *why = bpfx_program__load_error(p->prog);
		snprintf(err, err_sz, "load %s: %s", name,
			 why ? why : strerror(-ret));
		goto fail;
	}
	if (engine == jit_engine() && jit_fallback[0]) {
		snprintf(err, err_sz, "not compiled (%s)", jit_fallback);
		goto fail;
	}
	return p;
fail:
	bpfx_object__close(p->obj);
	free(p);
	return NULL;
}

static void *bpfx_load(const char *path, const char *name, size_t input_size,
		       char *err, size_t err_sz)
{
	return load_on(BPFX_ENGINE_INTERP, false, path, name, err, err_sz);
}

static void *bpfx_jit_load(const char *path, const char *name,
			   size_t input_size, char *err, size_t err_sz)
{
	return load_on(jit_engine(), false, path, name, err, err_sz);
}

static void *bpfx_tc_load(const char *path, const char *name,
			  size_t input_size, char *err, size_t err_sz)
{
	return load_on(BPFX_ENGINE_INTERP, true, path, name, err, err_sz);
}

static void *bpfx_jit_tc_load(const char *path, const char *name,
			      size_t input_size, char *err, size_t err_sz)
{
	return load_on(jit_engine(), true, path, name, err, err_sz);
}

static void *kernel_load(const char *path, const char *name,
			 size_t input_size, char *err, size_t err_sz)
{
	char why[160];

	if (!bpfx_kernel_available(why, sizeof(why))) {
		snprintf(err, err_sz, "%s", why);
		return NULL;
	}
	return load_on(BPFX_ENGINE_KERNEL, true, path, name, err, err_sz);
}

static int bpfx_run(void *prog, void *input, size_t input_size,
		    uint32_t repeat, uint64_t *r0, double *ns_per_run)
{
	struct bpfx_bench_prog *p = prog;
	if (!p->packet) {
		/* the default form: a program of no type over the input */
		BPFX_OPTS(bpfx_raw_run_opts, raw, .repeat = (int)repeat,
			  .engine = (enum bpfx_engine)p->engine, .mem = input,
			  .mem_len = input_size);
		int ret = bpfx_program__run_raw(p->prog, &raw, r0);
		if (!ret)
			*ns_per_run = raw.duration;
		return ret;
	}
	BPFX_OPTS(bpfx_test_run_opts, opts, .repeat = (int)repeat,
		  .engine = (enum bpfx_engine)p->engine,
		  .data_in = input, .data_size_in = (uint32_t)input_size);
	int ret = bpfx_program__test_run(p->prog, &opts);
	if (ret)
		return ret;
	*r0 = opts.retval64;
	*ns_per_run = opts.duration;
	return 0;
}

size_t bpfx_object_insn_cnt(const char *path, const char *name)
{
	struct bpfx_object *obj = bpfx_object__open_file(path, NULL);
	struct bpfx_program *prog =
		obj ? bpfx_object__find_program_by_name(obj, name) : NULL;
	size_t cnt = prog ? bpfx_program__insn_cnt(prog) : 0;

	bpfx_object__close(obj);
	return cnt;
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

const struct engine engine_bpfx_jit = {
	.name = "bpfx JIT",
	.load = bpfx_jit_load,
	.run = bpfx_run,
	.insn_cnt = bpfx_insn_cnt,
	.unload = bpfx_unload,
};

const struct engine engine_bpfx_tc = {
	.name = "bpfx tc",
	.tc_form = true,
	.load = bpfx_tc_load,
	.run = bpfx_run,
	.insn_cnt = bpfx_insn_cnt,
	.unload = bpfx_unload,
};

const struct engine engine_bpfx_jit_tc = {
	.name = "bpfx JIT tc",
	.tc_form = true,
	.load = bpfx_jit_tc_load,
	.run = bpfx_run,
	.insn_cnt = bpfx_insn_cnt,
	.unload = bpfx_unload,
};

/* test_run's retval is a u32: results are compared on their low 32 bits.
 * Its duration is whole ns (the kernel divides by repeat). */
const struct engine engine_kernel = {
	.name = "kernel",
	.tc_form = true,
	.load = kernel_load,
	.run = bpfx_run,
	.insn_cnt = bpfx_insn_cnt,
	.unload = bpfx_unload,
	.reports_duration = true,
	.retval_bits = 32,
};

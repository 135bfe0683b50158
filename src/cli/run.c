/*
 * bpfx run: runs one program as the kernel's BPF_PROG_TEST_RUN does and
 * prints its return value and the median time per run. With --repeat N
 * the runs are split into up to 15 batches; the time is the median of the
 * batches' means, so one slow batch (a page fault, a preemption) does not
 * move it. --dump-maps prints every map's entries after the run.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfx/bpfx.h"
#include "cli/cli.h"
#include "internal.h"

#define MAX_BATCHES 15
#define MAX_DUMP_ENTRIES 4096

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void print_hex(FILE *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", p[i]);
}

static void dump_map(struct bpfx_map *map, bool json, bool first)
{
	uint32_t ks = bpfx_map__key_size(map);
	size_t vs = bpfx_map__value_size(map);
	int type = bpfx_map__type(map);
	bool percpu = type == BPF_MAP_TYPE_PERCPU_ARRAY ||
		      type == BPF_MAP_TYPE_PERCPU_HASH ||
		      type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	if (percpu)
		vs = (vs + 7) / 8 * 8 * bpfx_map__nr_cpus(map);
	if (json)
		printf("%s\"%s\":[", first ? "" : ",", bpfx_map__name(map));
	else
		printf("map %s (%s, key %u, value %u, max %u):\n",
		       bpfx_map__name(map), bpfx_map__type_name(map), ks,
		       bpfx_map__value_size(map), bpfx_map__max_entries(map));
	if (!ks || !vs) {
		if (json)
			printf("]");
		return;
	}
	unsigned char *key = calloc(1, ks), *next = calloc(1, ks),
		      *val = calloc(1, vs);
	int n = 0;
	bool have_key = false;
	while (key && next && val && n < MAX_DUMP_ENTRIES &&
	       !bpfx_map__get_next_key(map, have_key ? key : NULL, next, ks)) {
		memcpy(key, next, ks);
		have_key = true;
		if (bpfx_map__lookup_elem(map, key, ks, val, vs, 0))
			continue;
		if (json) {
			printf("%s{\"key\":\"", n ? "," : "");
			print_hex(stdout, key, ks);
			printf("\",\"value\":\"");
			print_hex(stdout, val, vs);
			printf("\"}");
		} else {
			printf("  key ");
			print_hex(stdout, key, ks);
			printf(" value ");
			print_hex(stdout, val, vs);
			printf("\n");
		}
		n++;
	}
	if (json)
		printf("]");
	free(key);
	free(next);
	free(val);
}

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len) {
		fprintf(stderr, "bpfx: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ "engine", required_argument, NULL, 'e' },
		{ "data", required_argument, NULL, 'd' },
		{ "ctx", required_argument, NULL, 'c' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "dump-maps", no_argument, NULL, 'm' },
		{ "data-out", required_argument, NULL, 'D' },
		{ "ctx-out", required_argument, NULL, 'C' },
		{ 0 },
	};
	const char *prog_name = NULL, *data_path = NULL, *ctx_path = NULL;
	const char *data_out_path = NULL, *ctx_out_path = NULL;
	int engine = BPFX_ENGINE_DEFAULT;
	long repeat = 1;
	bool json = false, dump = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'p': prog_name = optarg; break;
		case 'd': data_path = optarg; break;
		case 'c': ctx_path = optarg; break;
		case 'D': data_out_path = optarg; break;
		case 'C': ctx_out_path = optarg; break;
		case 'j': json = true; break;
		case 'm': dump = true; break;
		case 'e':
			engine = bpfx_engine_by_name(optarg);
			if (engine < 0) {
				fprintf(stderr, "bpfx run: unknown engine '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			repeat = strtol(optarg, &end, 10);
			if (*end || repeat < 1 || repeat > 100000000) {
				fprintf(stderr,
					"bpfx run: --repeat wants 1..100000000, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: bpfx run OBJ [--prog NAME] [options]\n");
		return 2;
	}

	size_t data_len = 0, ctx_len = 0;
	void *data = NULL, *ctx = NULL;
	if (data_path && !(data = cli_read_file(data_path, &data_len))) {
		fprintf(stderr, "bpfx run: %s: %s\n", data_path, strerror(errno));
		return 1;
	}
	if (ctx_path && !(ctx = cli_read_file(ctx_path, &ctx_len))) {
		fprintf(stderr, "bpfx run: %s: %s\n", ctx_path, strerror(errno));
		free(data);
		return 1;
	}
	struct bpfx_object *obj = NULL;
	struct bpfx_program *prog = cli_open_program(argv[optind], prog_name, &obj);
	if (!prog) {
		free(data);
		free(ctx);
		return 1;
	}

	size_t out_cap = data_len + 4096, ctx_cap = ctx_len + 4096;
	void *data_out = calloc(1, out_cap), *ctx_out = calloc(1, ctx_cap);
	uint32_t durations[MAX_BATCHES];
	int batches = repeat < MAX_BATCHES ? (int)repeat : MAX_BATCHES;
	int err = 0;
	BPFX_OPTS(bpfx_test_run_opts, opts);
	for (int b = 0; b < batches && !err; b++) {
		long per = repeat / batches + (b < repeat % batches);
		memset(&opts, 0, sizeof(opts));
		opts.sz = sizeof(opts);
		opts.data_in = data;
		opts.data_size_in = (uint32_t)data_len;
		opts.data_out = data_len ? data_out : NULL;
		opts.data_size_out = data_len ? (uint32_t)out_cap : 0;
		opts.ctx_in = ctx;
		opts.ctx_size_in = (uint32_t)ctx_len;
		opts.ctx_out = ctx_len ? ctx_out : NULL;
		opts.ctx_size_out = ctx_len ? (uint32_t)ctx_cap : 0;
		opts.repeat = (int)per;
		opts.engine = engine;
		err = bpfx_program__test_run(prog, &opts);
		durations[b] = opts.duration;
	}
	if (err) {
		fprintf(stderr, "bpfx run: %s: %s\n", bpfx_program__name(prog),
			strerror(-err));
	} else {
		qsort(durations, batches, sizeof(durations[0]), cmp_u32);
		uint32_t median = durations[batches / 2];
		/* the default is the JIT when it compiled the program */
		const char *eng = bpfx_engine_name(
			engine != BPFX_ENGINE_DEFAULT ? engine
			: prog->jit		      ? BPFX_ENGINE_JIT
						      : BPFX_ENGINE_INTERP);
		if (json) {
			printf("{\"program\":\"%s\",\"retval\":%u,\"retval64\":%llu,"
			       "\"duration_ns\":%u,\"engine\":\"%s\"",
			       bpfx_program__name(prog), opts.retval,
			       (unsigned long long)opts.retval64, median, eng);
			if (data_len) {
				printf(",\"data_out\":\"");
				print_hex(stdout, data_out, opts.data_size_out);
				printf("\"");
			}
		} else {
			printf("program: %s\nretval: %u (0x%x)\nduration: %u ns "
			       "(median per run, %ld runs)\nengine: %s\n",
			       bpfx_program__name(prog), opts.retval, opts.retval,
			       median, repeat, eng);
		}
		if (dump) {
			struct bpfx_map *map;
			bool first = true;
			if (json)
				printf(",\"maps\":{");
			bpfx_object__for_each_map(map, obj) {
				dump_map(map, json, first);
				first = false;
			}
			if (json)
				printf("}");
		}
		if (json)
			printf("}\n");
		if (data_out_path &&
		    write_file(data_out_path, data_out, opts.data_size_out))
			err = -EIO;
		if (ctx_out_path &&
		    write_file(ctx_out_path, ctx_out, opts.ctx_size_out))
			err = -EIO;
	}
	free(data_out);
	free(ctx_out);
	free(data);
	free(ctx);
	bpfx_object__close(obj);
	return err ? 1 : 0;
}

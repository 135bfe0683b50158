/*
 * bpfx diff: runs each program of an object on every engine bpfx has and
 * on the host kernel, and compares what they did.
 *
 * Each (program, engine) pair gets a fresh open of the object, so every
 * engine starts from the object's initial map contents. Compared with the
 * first engine's result: the verdict (loaded, rejected by bpfx's loader,
 * rejected by the kernel's verifier, or a run error; what bpfx rejects the
 * kernel row hands to the kernel's verifier alone, "kernel-accepted" when
 * it loads), the return value,
 * data_out, and every entry of every map after the run (ring buffers: the
 * records they hold; prog_array slots are program handles and are left
 * out). A table shows one row per pair with "=" or "DIFF" per column, the
 * differing details follow, and the exit status is 1 on any difference.
 *
 * Without --data or --ctx, packet programs (tc, xdp, socket filters,
 * cgroup_skb) get a 54-byte Ethernet/IPv4/TCP frame.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfx/bpfx.h"
#include "cli/cli.h"

#define DIFF_MAX_ENTRIES 4096

struct text {
	char *buf;
	size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->buf ? t->buf + t->len : NULL,
				  t->buf ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 256) + (size_t)n;
		char *p = realloc(t->buf, cap);
		if (!p)
			return;
		t->buf = p;
		t->cap = cap;
	}
}

static void text_hex(struct text *t, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		text_add(t, "%02x", p[i]);
}

struct outcome {
	char verdict[32]; /* "loaded", "bpfx-rejected", "kernel-rejected", "error: ..." */
	char why[512];
	bool ran;
	uint32_t retval;
	struct text data_out;
	struct text maps; /* one line per map: "name: key=value ..." */
};

static char run_log[8192];
static size_t run_log_len;

static void diff_log(enum bpfx_log_level level, const char *msg, void *user)
{
	if (level == BPFX_LOG_DEBUG)
		return;
	size_t n = strlen(msg);
	if (run_log_len + n + 2 < sizeof(run_log)) {
		memcpy(run_log + run_log_len, msg, n);
		run_log_len += n;
		run_log[run_log_len++] = '\n';
		run_log[run_log_len] = 0;
	}
}

static int collect_record(void *user, void *data, size_t size)
{
	struct text *t = user;
	text_add(t, " [");
	text_hex(t, data, size);
	text_add(t, "]");
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dump_map(struct bpfx_map *map, struct text *t)
{
	uint32_t ks = bpfx_map__key_size(map);
	size_t vs = bpfx_map__value_size(map);
	int type = bpfx_map__type(map);
	if (type == BPF_MAP_TYPE_PROG_ARRAY)
		return;
	text_add(t, "%s:", bpfx_map__name(map));
	if (type == BPF_MAP_TYPE_RINGBUF) {
		bpfx_map__ringbuf_consume(map, collect_record, t);
		text_add(t, "\n");
		return;
	}
	if (type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	    type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		vs = (vs + 7) / 8 * 8 * bpfx_map__nr_cpus(map);
	unsigned char *key = calloc(1, ks + 1), *next = calloc(1, ks + 1),
		      *val = calloc(1, vs + 1);
	char **lines = calloc(DIFF_MAX_ENTRIES, sizeof(*lines));
	size_t n = 0;
	bool have = false;
	while (key && next && val && lines && n < DIFF_MAX_ENTRIES &&
	       !bpfx_map__get_next_key(map, have ? key : NULL, next, ks)) {
		memcpy(key, next, ks);
		have = true;
		if (bpfx_map__lookup_elem(map, key, ks, val, vs, 0))
			continue;
		struct text line = { 0 };
		text_add(&line, " ");
		text_hex(&line, key, ks);
		text_add(&line, "=");
		text_hex(&line, val, vs);
		if (line.buf)
			lines[n++] = line.buf;
	}
	/* hash iteration orders differ between engines: compare sorted */
	qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n; i++) {
		text_add(t, "%s", lines[i]);
		free(lines[i]);
	}
	text_add(t, "\n");
	free(lines);
	free(key);
	free(next);
	free(val);
}

static bool is_packet_type(int type)
{
	return type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT ||
	       type == BPF_PROG_TYPE_XDP || type == BPF_PROG_TYPE_SOCKET_FILTER ||
	       type == BPF_PROG_TYPE_CGROUP_SKB;
}

/* Ethernet/IPv4/TCP 10.0.0.1:1234 -> 10.0.0.2:80, SYN. */
static const unsigned char default_pkt[54] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06,
	0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x04, 0xd2,
	0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02,
	0x72, 0x10, 0x00, 0x00, 0x00, 0x00,
};

/* The kernel's verdict on PROG, loaded and closed (bpfx's own load
 * failed): OUT keeps "bpfx-rejected" when the kernel rejects it too, with
 * the kernel's last log line as the reason. */
static void kernel_verdict(struct bpfx_program *prog, struct outcome *out)
{
	static char log[1 << 16];
	BPFX_OPTS(bpfx_verify_opts, vo, .log_level = 1, .log_buf = log,
		  .log_size = sizeof(log), .engine = BPFX_ENGINE_KERNEL);
	char *line = log, *p;
	int err;

	log[0] = 0;
	err = bpfx_program__verify(prog, &vo);
	if (err == -EOPNOTSUPP)
		return; /* no kernel here: bpfx's own reason stands */
	if (!err) {
		snprintf(out->verdict, sizeof(out->verdict), "kernel-accepted");
		return;
	}
	/* the message: the last line before the statistics */
	for (p = log; *p; p++)
		if (*p == '\n' && p[1] && strncmp(p + 1, "processed ", 10) &&
		    strncmp(p + 1, "verification time", 17) &&
		    strncmp(p + 1, "stack depth", 11))
			line = p + 1;
	p = strchr(line, '\n');
	snprintf(out->why, sizeof(out->why), "kernel too: %.*s",
		 (int)(p ? p - line : (long)strlen(line)), line);
}

static void run_one(const char *path, const char *prog_name, int engine,
		    const void *data, size_t data_len, const void *ctx,
		    size_t ctx_len, struct outcome *out)
{
	static unsigned char data_out[65536], ctx_out[65536];
	memset(out, 0, sizeof(*out));
	run_log_len = 0;
	run_log[0] = 0;
	struct bpfx_object *obj = bpfx_object__open_file(path, NULL);
	if (!obj) {
		snprintf(out->verdict, sizeof(out->verdict), "error");
		snprintf(out->why, sizeof(out->why), "open: %s", strerror(errno));
		return;
	}
	struct bpfx_program *prog = bpfx_object__find_program_by_name(obj, prog_name);
	int err = prog ? bpfx_program__load(prog) : -ENOENT;
	if (err) {
		const char *why = prog ? bpfx_program__load_error(prog) : NULL;
		snprintf(out->verdict, sizeof(out->verdict), "bpfx-rejected");
		snprintf(out->why, sizeof(out->why), "%s",
			 why ? why : strerror(-err));
		/* the kernel's own verifier on the program bpfx refused: the
		 * same verdict, or "kernel-accepted", a difference */
		if (engine == BPFX_ENGINE_KERNEL && prog)
			kernel_verdict(prog, out);
		goto out;
	}
	if (!data && !ctx && is_packet_type(bpfx_program__type(prog))) {
		data = default_pkt;
		data_len = sizeof(default_pkt);
	}
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = data,
		  .data_size_in = (uint32_t)data_len,
		  .data_out = data_len ? data_out : NULL,
		  .data_size_out = data_len ? sizeof(data_out) : 0,
		  .ctx_in = ctx, .ctx_size_in = (uint32_t)ctx_len,
		  .ctx_out = ctx_len ? ctx_out : NULL,
		  .ctx_size_out = ctx_len ? sizeof(ctx_out) : 0,
		  .engine = engine);
	err = bpfx_program__test_run(prog, &opts);
	if (err) {
		bool verifier = strstr(run_log, "verifier rejected it") != NULL;
		snprintf(out->verdict, sizeof(out->verdict), "%s",
			 verifier ? "kernel-rejected" : "run-error");
		snprintf(out->why, sizeof(out->why), "%s: %.400s",
			 strerror(-err), run_log);
		for (char *p = out->why; *p; p++)
			if (*p == '\n')
				*p = ' ';
		goto out;
	}
	snprintf(out->verdict, sizeof(out->verdict), "loaded");
	out->ran = true;
	out->retval = opts.retval;
	text_hex(&out->data_out, data_out, data_len ? opts.data_size_out : 0);
	struct bpfx_map *map;
	bpfx_object__for_each_map(map, obj)
		dump_map(map, &out->maps);
out:
	bpfx_object__close(obj);
}

static const char *str(const struct text *t)
{
	return t->buf ? t->buf : "";
}

/* Prints the lines of A and B that differ (maps: one line per map). */
static void print_line_diff(const char *what, const char *a, const char *b,
			    const char *ea, const char *eb)
{
	const char *pa = a, *pb = b;
	while (*pa || *pb) {
		size_t la = strcspn(pa, "\n"), lb = strcspn(pb, "\n");
		if (la != lb || memcmp(pa, pb, la)) {
			printf("    %s %-7s %.*s\n", what, ea, (int)(la < 2000 ? la : 2000), pa);
			printf("    %s %-7s %.*s\n", what, eb, (int)(lb < 2000 ? lb : 2000), pb);
		}
		pa += la + (pa[la] == '\n');
		pb += lb + (pb[lb] == '\n');
	}
}

static int diff_program(const char *path, const char *name, const int *engines,
			int engine_cnt, const void *data, size_t data_len,
			const void *ctx, size_t ctx_len)
{
	struct outcome res[4];
	int differences = 0;
	for (int e = 0; e < engine_cnt; e++)
		run_one(path, name, engines[e], data, data_len, ctx, ctx_len,
			&res[e]);
	for (int e = 0; e < engine_cnt; e++) {
		const struct outcome *r = &res[e], *ref = &res[0];
		bool same_verdict = !strcmp(r->verdict, ref->verdict);
		bool both_ran = r->ran && ref->ran;
		bool same_ret = !both_ran || r->retval == ref->retval;
		bool same_data = !both_ran ||
				 !strcmp(str(&r->data_out), str(&ref->data_out));
		bool same_maps = !both_ran || !strcmp(str(&r->maps), str(&ref->maps));
		char ret[24] = "-";
		if (r->ran)
			snprintf(ret, sizeof(ret), "%u", r->retval);
		bool differs = !same_verdict || !same_ret || !same_data || !same_maps;
		printf("%-24s %-7s %-16s %-12s %-8s %-8s %-8s %s\n", e ? "" : name,
		       bpfx_engine_name(engines[e]), r->verdict, ret,
		       !both_ran ? "-" : same_data ? "=" : "DIFF",
		       !both_ran ? "-" : same_maps ? "=" : "DIFF",
		       e == 0 ? "ref" : differs ? "DIFF" : "same",
		       r->ran ? "" : r->why);
		if (!e || !differs)
			continue;
		differences++;
		if (!same_data)
			print_line_diff("data_out", str(&ref->data_out),
					str(&r->data_out),
					bpfx_engine_name(engines[0]),
					bpfx_engine_name(engines[e]));
		if (!same_maps)
			print_line_diff("map", str(&ref->maps), str(&r->maps),
					bpfx_engine_name(engines[0]),
					bpfx_engine_name(engines[e]));
	}
	for (int e = 0; e < engine_cnt; e++) {
		free(res[e].data_out.buf);
		free(res[e].maps.buf);
	}
	return differences;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option options[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ "data", required_argument, NULL, 'd' },
		{ "ctx", required_argument, NULL, 'c' },
		{ 0 },
	};
	const char *prog_name = NULL, *data_path = NULL, *ctx_path = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'p': prog_name = optarg; break;
		case 'd': data_path = optarg; break;
		case 'c': ctx_path = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: bpfx diff OBJ [--prog NAME] [--data FILE] "
				"[--ctx FILE]\n");
		return 2;
	}
	const char *path = argv[optind];
	size_t data_len = 0, ctx_len = 0;
	void *data = NULL, *ctx = NULL;
	if (data_path && !(data = cli_read_file(data_path, &data_len))) {
		fprintf(stderr, "bpfx diff: %s: %s\n", data_path, strerror(errno));
		return 1;
	}
	if (ctx_path && !(ctx = cli_read_file(ctx_path, &ctx_len))) {
		fprintf(stderr, "bpfx diff: %s: %s\n", ctx_path, strerror(errno));
		free(data);
		return 1;
	}

	/* bpfx's engines, then the kernel when this host lets us */
	int engines[4], engine_cnt = 0;
	engines[engine_cnt++] = BPFX_ENGINE_INTERP;
	engines[engine_cnt++] = BPFX_ENGINE_JIT;
	char why[256];
	if (bpfx_kernel_available(why, sizeof(why)))
		engines[engine_cnt++] = BPFX_ENGINE_KERNEL;
	else
		printf("kernel: not available (%s); comparing bpfx's engines only\n",
		       why);

	/* the program names, from one open */
	struct bpfx_object *obj = bpfx_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "bpfx diff: %s: cannot open: %s\n", path,
			strerror(errno));
		free(data);
		free(ctx);
		return 1;
	}
	char **names = NULL;
	size_t name_cnt = 0;
	struct bpfx_program *p;
	bpfx_object__for_each_program(p, obj) {
		if (prog_name ? strcmp(bpfx_program__name(p), prog_name)
			      : !bpfx_program__autoload(p))
			continue;
		char **more = realloc(names, (name_cnt + 1) * sizeof(*names));
		if (!more)
			break;
		names = more;
		names[name_cnt++] = strdup(bpfx_program__name(p));
	}
	bpfx_object__close(obj);
	if (prog_name && !name_cnt) {
		fprintf(stderr, "bpfx diff: %s: no program named '%s'\n", path,
			prog_name);
		free(data);
		free(ctx);
		return 1;
	}

	bpfx_set_log(diff_log, NULL);
	printf("%-24s %-7s %-16s %-12s %-8s %-8s %-8s %s\n", "PROGRAM", "ENGINE",
	       "VERDICT", "RETVAL", "DATA", "MAPS", "RESULT", "REASON");
	int differences = 0;
	for (size_t i = 0; i < name_cnt; i++) {
		if (names[i])
			differences += diff_program(path, names[i], engines,
						    engine_cnt, data, data_len,
						    ctx, ctx_len);
		free(names[i]);
	}
	free(names);
	free(data);
	free(ctx);
	printf("%d program%s, %d difference%s\n", (int)name_cnt,
	       name_cnt == 1 ? "" : "s", differences, differences == 1 ? "" : "s");
	return differences ? 1 : 0;
}

/*
 * Runs the BPF C programs under tests/progs/ on every engine.
 *
 * Each NAME.bpf.c is compiled with clang for the BPF target (the way users
 * build for the kernel) and states what it expects in comment lines:
 *
 *   // TEST prog=NAME [data=HEX] [data_len=N] [ctx=HEX] [repeat=N]
 *   //      [retval=N] [error=SUBSTRING] [data_out=HEX]
 *   //      [map=MAP:KEYHEX:VALUEHEX ...] [log=SUBSTRING]
 *   //      [vlog=SUBSTRING ...]
 *
 * One TEST line is one case: a fresh open of the object, the named program
 * loaded alone, one test_run. retval is compared with the 32-bit return
 * value; error= expects the load or run to fail with a message containing
 * the substring; map= compares one entry after the run (value bytes as
 * the user-side lookup returns them); log= expects a bpf_printk line;
 * vlog= expects a substring of the level-2 verifier log (the kernel's
 * own log on the kernel engine: the formats must agree).
 *
 * Every case also runs on the host kernel (BPFX_ENGINE_KERNEL) when
 * bpfx_kernel_available() says so, with the same expectations, except
 * that error= only requires a rejection (the kernel's words differ) and
 * log= is not checked (the kernel's bpf_printk goes to its trace pipe).
 * Otherwise one line says why, and those runs count as skipped.
 * Known differences are data too, each with a comment above its line:
 * kernel=reject (the kernel's verifier refuses what bpfx runs),
 * kernel=accept (bpfx's verifier is deliberately stricter than the
 * kernel, which loads it; the kernel run is not attempted, since the
 * engine loads through bpfx first) and
 * kernel_retval=N (the kernel returns N; a bpfx bug to fix).
 * Programs of the types the kernel's test_run does not run (kprobe,
 * tracepoint, perf_event) are compared on the kernel by verdict only.
 *
 * Usage: run_progs DIR OUTDIR   (CLANG_BPF selects the compiler)
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bpfx/bpfx.h"

#ifndef BPF_SYS_INCLUDE /* set by the Makefile */
#define BPF_SYS_INCLUDE "/usr/include/x86_64-linux-gnu"
#endif

#define MAX_MAP_CHECKS 16

struct test_case {
	char prog[128];
	unsigned char data[4096];
	size_t data_len;
	unsigned char ctx[1024];
	size_t ctx_len;
	unsigned char data_out[4096];
	size_t data_out_len;
	int repeat;
	long long retval;
	bool has_retval;
	char error[256];
	char log[256];
	char vlog[4][256];
	int vlog_cnt;
	bool kernel_reject;
	bool kernel_accept;
	long long kernel_retval;
	bool has_kernel_retval;
	struct map_check {
		char name[64];
		unsigned char key[64], value[512];
		size_t key_len, value_len;
	} maps[MAX_MAP_CHECKS];
	int map_cnt;
};

static char log_buf[1 << 16];
static size_t log_len;

static void capture_log(enum bpfx_log_level level, const char *msg, void *user)
{
	size_t n = strlen(msg);
	if (log_len + n + 2 < sizeof(log_buf)) {
		memcpy(log_buf + log_len, msg, n);
		log_len += n;
		log_buf[log_len++] = '\n';
		log_buf[log_len] = 0;
	}
}

static int parse_hex(const char *s, size_t n, unsigned char *out, size_t cap,
		     size_t *len)
{
	*len = 0;
	for (size_t i = 0; i + 1 < n + 1 && i < n; i += 2) {
		unsigned v;
		if (i + 1 >= n || *len >= cap || sscanf(s + i, "%2x", &v) != 1)
			return -1;
		out[(*len)++] = (unsigned char)v;
	}
	return 0;
}

static int parse_test(const char *line, struct test_case *t, const char *file,
		      int lineno)
{
	memset(t, 0, sizeof(*t));
	t->repeat = 1;
	char buf[8192];
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *tok = strtok(buf, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
		char *eq = strchr(tok, '=');
		if (!eq)
			goto bad;
		*eq = 0;
		const char *val = eq + 1;
		if (!strcmp(tok, "prog")) {
			snprintf(t->prog, sizeof(t->prog), "%s", val);
		} else if (!strcmp(tok, "data")) {
			if (parse_hex(val, strlen(val), t->data, sizeof(t->data),
				      &t->data_len))
				goto bad;
		} else if (!strcmp(tok, "data_len")) {
			t->data_len = strtoul(val, NULL, 0);
			if (t->data_len > sizeof(t->data))
				goto bad;
		} else if (!strcmp(tok, "ctx")) {
			if (parse_hex(val, strlen(val), t->ctx, sizeof(t->ctx),
				      &t->ctx_len))
				goto bad;
		} else if (!strcmp(tok, "data_out")) {
			if (parse_hex(val, strlen(val), t->data_out,
				      sizeof(t->data_out), &t->data_out_len))
				goto bad;
		} else if (!strcmp(tok, "repeat")) {
			t->repeat = atoi(val);
		} else if (!strcmp(tok, "retval")) {
			t->retval = strtoll(val, NULL, 0);
			t->has_retval = true;
		} else if (!strcmp(tok, "kernel") && !strcmp(val, "reject")) {
			t->kernel_reject = true;
		} else if (!strcmp(tok, "kernel") && !strcmp(val, "accept")) {
			t->kernel_accept = true;
		} else if (!strcmp(tok, "kernel_retval")) {
			t->kernel_retval = strtoll(val, NULL, 0);
			t->has_kernel_retval = true;
		} else if (!strcmp(tok, "error")) {
			snprintf(t->error, sizeof(t->error), "%s", val);
			for (char *p = t->error; *p; p++)
				if (*p == '_' && p[1] == '_')
					*p = ' ', memmove(p + 1, p + 2, strlen(p + 1));
		} else if (!strcmp(tok, "log")) {
			snprintf(t->log, sizeof(t->log), "%s", val);
			for (char *p = t->log; *p; p++)
				if (*p == '_' && p[1] == '_')
					*p = ' ', memmove(p + 1, p + 2, strlen(p + 1));
		} else if (!strcmp(tok, "vlog")) {
			char *v;

			if (t->vlog_cnt == 4)
				goto bad;
			v = t->vlog[t->vlog_cnt++];
			snprintf(v, sizeof(t->vlog[0]), "%s", val);
			for (char *p = v; *p; p++)
				if (*p == '_' && p[1] == '_')
					*p = ' ', memmove(p + 1, p + 2, strlen(p + 1));
		} else if (!strcmp(tok, "map")) {
			if (t->map_cnt >= MAX_MAP_CHECKS)
				goto bad;
			struct map_check *m = &t->maps[t->map_cnt++];
			const char *c1 = strchr(val, ':');
			const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			if (!c2 || (size_t)(c1 - val) >= sizeof(m->name))
				goto bad;
			memcpy(m->name, val, c1 - val);
			if (parse_hex(c1 + 1, c2 - c1 - 1, m->key, sizeof(m->key),
				      &m->key_len) ||
			    parse_hex(c2 + 1, strlen(c2 + 1), m->value,
				      sizeof(m->value), &m->value_len))
				goto bad;
		} else {
			goto bad;
		}
	}
	if (!t->prog[0] || (!t->has_retval && !t->error[0]))
		goto bad;
	return 0;
bad:
	fprintf(stderr, "%s:%d: bad TEST line\n", file, lineno);
	return -1;
}

static void hex(FILE *f, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* Whether the kernel's BPF_PROG_TEST_RUN runs programs of TYPE. */
static bool kernel_test_runs(int type)
{
	return type != BPF_PROG_TYPE_KPROBE && type != BPF_PROG_TYPE_TRACEPOINT &&
	       type != BPF_PROG_TYPE_PERF_EVENT;
}

/* Runs one case on one engine; returns 0 when it matched. */
static int run_case(const char *obj_path, const struct test_case *t,
		    int engine, const char *where)
{
	static unsigned char data_out[8192], ctx_out[4096];
	int failed = 0;
	log_len = 0;
	log_buf[0] = 0;
	struct bpfx_object *obj = bpfx_object__open_file(obj_path, NULL);
	if (!obj) {
		fprintf(stderr, "%s: open failed: %s\n%s", where, strerror(errno),
			log_buf);
		return -1;
	}
	struct bpfx_program *prog = bpfx_object__find_program_by_name(obj, t->prog);
	int err = prog ? bpfx_program__load(prog) : -ENOENT, load_err = err;
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = t->data_len ? t->data : NULL,
		  .data_size_in = (uint32_t)t->data_len,
		  .data_out = t->data_len ? data_out : NULL,
		  .data_size_out = t->data_len ? sizeof(data_out) : 0,
		  .ctx_in = t->ctx_len ? t->ctx : NULL,
		  .ctx_size_in = (uint32_t)t->ctx_len,
		  .ctx_out = t->ctx_len ? ctx_out : NULL,
		  .ctx_size_out = t->ctx_len ? sizeof(ctx_out) : 0,
		  .repeat = t->repeat, .engine = engine);
	bool kernel = engine == BPFX_ENGINE_KERNEL;
	if (kernel && prog && !kernel_test_runs(bpfx_program__type(prog))) {
		BPFX_OPTS(bpfx_verify_opts, vopts, .engine = BPFX_ENGINE_KERNEL);
		int kerr = bpfx_program__verify(prog, &vopts);
		bool want = !t->error[0] || t->kernel_accept;

		if (t->kernel_reject)
			want = false;
		if (want != !kerr) {
			fprintf(stderr, "%s: the kernel's verifier %s it\n%s",
				where, kerr ? "rejects" : "accepts", log_buf);
			failed = 1;
		}
		goto out;
	}
	if (!err)
		err = bpfx_program__test_run(prog, &opts);
	if (t->vlog_cnt && prog && !(kernel && t->kernel_accept)) {
		static char vbuf[1 << 20];
		BPFX_OPTS(bpfx_verify_opts, vo, .log_level = 2, .log_buf = vbuf,
			  .log_size = sizeof(vbuf),
			  .engine = kernel ? BPFX_ENGINE_KERNEL
					   : BPFX_ENGINE_DEFAULT);

		vbuf[0] = 0;
		bpfx_program__verify(prog, &vo);
		for (int i = 0; i < t->vlog_cnt; i++)
			if (!strstr(vbuf, t->vlog[i])) {
				fprintf(stderr, "%s: verifier log lacks '%s':\n%s",
					where, t->vlog[i], vbuf);
				failed = 1;
			}
	}
	/* what bpfx refuses never reaches the kernel's test_run: the
	 * kernel's own verifier gives its verdict on the same linked program */
	if (kernel && load_err && prog && (t->error[0] || t->kernel_accept)) {
		BPFX_OPTS(bpfx_verify_opts, vopts, .engine = BPFX_ENGINE_KERNEL);
		int kerr = bpfx_program__verify(prog, &vopts);

		if (t->kernel_accept && kerr) {
			fprintf(stderr, "%s: the kernel was expected to accept it "
				"(kernel=accept): %s\n%s", where, strerror(-kerr),
				log_buf);
			failed = 1;
		} else if (!t->kernel_accept && !kerr) {
			fprintf(stderr, "%s: bpfx rejects it (%s) but the kernel's "
				"verifier accepts it\n", where, t->error);
			failed = 1;
		}
		goto out;
	}
	if (kernel && t->kernel_reject) {
		if (!err) {
			fprintf(stderr, "%s: the kernel was expected to reject "
				"it (kernel=reject), got retval %u\n", where,
				opts.retval);
			failed = 1;
		}
		goto out;
	}
	/* bpfx's own load refuses it before the kernel would see it */
	if (kernel && t->kernel_accept)
		goto out;
	long long want_retval = kernel && t->has_kernel_retval ? t->kernel_retval
							     : t->retval;
	if (t->error[0]) {
		if (!err) {
			fprintf(stderr, "%s: expected error '%s', got retval %u\n",
				where, t->error, opts.retval);
			failed = 1;
		} else if (!kernel && !strstr(log_buf, t->error) &&
			   !(prog && bpfx_program__load_error(prog) &&
			     strstr(bpfx_program__load_error(prog), t->error))) {
			fprintf(stderr, "%s: expected error '%s', got:\n%s", where,
				t->error, log_buf);
			failed = 1;
		}
		goto out;
	}
	if (err) {
		fprintf(stderr, "%s: failed: %s\n%s", where, strerror(-err),
			log_buf);
		failed = 1;
		goto out;
	}
	if (t->has_retval && opts.retval != (uint32_t)want_retval) {
		fprintf(stderr, "%s: retval %u (0x%x), want %lld\n", where,
			opts.retval, opts.retval, want_retval);
		failed = 1;
	}
	if (t->data_out_len &&
	    (opts.data_size_out < t->data_out_len ||
	     memcmp(data_out, t->data_out, t->data_out_len))) {
		fprintf(stderr, "%s: data_out ", where);
		hex(stderr, data_out, opts.data_size_out);
		fprintf(stderr, ", want prefix ");
		hex(stderr, t->data_out, t->data_out_len);
		fprintf(stderr, "\n");
		failed = 1;
	}
	if (t->log[0] && !kernel && !strstr(log_buf, t->log)) {
		fprintf(stderr, "%s: log lacks '%s':\n%s", where, t->log, log_buf);
		failed = 1;
	}
	for (int i = 0; i < t->map_cnt; i++) {
		const struct map_check *m = &t->maps[i];
		struct bpfx_map *map = bpfx_object__find_map_by_name(obj, m->name);
		unsigned char value[4096];
		if (!map) {
			fprintf(stderr, "%s: no map '%s'\n", where, m->name);
			failed = 1;
			continue;
		}
		size_t vs = bpfx_map__value_size(map);
		int type = bpfx_map__type(map);
		if (type == 6 || type == 5 || type == 10) /* per-CPU kinds */
			vs = (vs + 7) / 8 * 8 * bpfx_map__nr_cpus(map);
		err = vs <= sizeof(value)
			      ? bpfx_map__lookup_elem(map, m->key, m->key_len,
						      value, vs, 0)
			      : -E2BIG;
		if (err || vs < m->value_len ||
		    memcmp(value, m->value, m->value_len)) {
			fprintf(stderr, "%s: map %s key ", where, m->name);
			hex(stderr, m->key, m->key_len);
			if (err) {
				fprintf(stderr, ": lookup: %s\n", strerror(-err));
			} else {
				fprintf(stderr, ": value ");
				hex(stderr, value, m->value_len);
				fprintf(stderr, ", want ");
				hex(stderr, m->value, m->value_len);
				fprintf(stderr, "\n");
			}
			failed = 1;
		}
	}
out:
	bpfx_object__close(obj);
	return failed ? -1 : 0;
}

static int compile(const char *src, const char *obj)
{
	const char *clang = getenv("CLANG_BPF") ? getenv("CLANG_BPF") : "clang-19";
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "%s -O2 -g -target bpf -mcpu=v4 -Wall -Iinclude "
		 "-I" BPF_SYS_INCLUDE " -c '%s' -o '%s'",
		 clang, src, obj);
	return system(cmd) == 0 ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: run_progs DIR OUTDIR\n");
		return 2;
	}
	static const char *const engines[] = { "interp", "jit", "kernel" };
	const char *dir = argv[1], *outdir = argv[2];
	int passed = 0, failed = 0, skipped = 0;
	char why[256];
	bool kernel_ok = bpfx_kernel_available(why, sizeof(why));
	if (!kernel_ok)
		printf("kernel: skipped (%s)\n", why);
	bpfx_set_log(capture_log, NULL);
	mkdir(outdir, 0755);

	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return 2;
	}
	char *names[512];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 512) {
		size_t len = strlen(de->d_name);
		if (len > 6 && !strcmp(de->d_name + len - 6, ".bpf.c"))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);

	for (int i = 0; i < n; i++) {
		char src[1024], obj[1024];
		snprintf(src, sizeof(src), "%s/%s", dir, names[i]);
		snprintf(obj, sizeof(obj), "%s/%.*s.o", outdir,
			 (int)strlen(names[i]) - 2, names[i]);
		if (compile(src, obj)) {
			fprintf(stderr, "FAIL %s: does not compile\n", src);
			failed++;
			continue;
		}
		FILE *f = fopen(src, "r");
		char line[8192];
		int lineno = 0, cases = 0;
		while (f && fgets(line, sizeof(line), f)) {
			lineno++;
			const char *p = line;
			while (*p == ' ' || *p == '\t')
				p++;
			if (strncmp(p, "// TEST ", 8))
				continue;
			cases++;
			struct test_case t;
			if (parse_test(p + 8, &t, src, lineno)) {
				failed++;
				continue;
			}
			for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
				char where[1200];
				if (!strcmp(engines[e], "kernel") && !kernel_ok) {
					skipped++;
					continue;
				}
				snprintf(where, sizeof(where), "%s:%d [%s] %s", src,
					 lineno, engines[e], t.prog);
				if (run_case(obj, &t, bpfx_engine_by_name(engines[e]),
					     where)) {
					fprintf(stderr, "FAIL %s\n", where);
					failed++;
				} else {
					passed++;
				}
			}
		}
		if (f)
			fclose(f);
		if (!cases) {
			fprintf(stderr, "FAIL %s: no TEST line\n", src);
			failed++;
		}
		free(names[i]);
	}
	printf("progs: %d passed, %d failed, %d skipped\n", passed, failed,
	       skipped);
	return failed ? 1 : 0;
}

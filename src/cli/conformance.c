/*
 * bpfx conformance-plugin: the plugin side of the BPF conformance suite
 * (github.com/Alan-Jowett/bpf_conformance).
 *
 *     bpfx conformance-plugin [HEX_MEM] [--engine NAME] [--elf]
 *                             [--program HEX] [--jit | --interpret]
 *
 * The suite's runner starts the plugin once per test: the first argument,
 * when the test has memory, is that memory as hex byte pairs separated by
 * blanks ("aa bb 11"); the plugin options follow, then "--elf" if the
 * runner was asked for ELF input. The program comes on stdin as hex bytes
 * in the same form: raw 8-byte instructions, or with --elf an ELF object
 * whose .text holds a global function "main". Older runners pass the
 * memory and all the plugin options as one argument each, even when empty
 * ("" "--engine jit"): empty arguments are ignored and an option argument
 * holding blanks is read word by word.
 *
 * The program runs with r1 = a writable copy of the memory and r2 = its
 * length. On success the plugin prints r0 in hex without a prefix ("%lx",
 * as uBPF's plugin does) and exits 0; on failure it prints one line, the
 * library's message, on stdout (the runner compares it with the test's
 * "-- error" text) and exits 1.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfx/bpfx.h"
#include "cli/cli.h"

/* The first warning the library logs during the run: the error line. */
static char plugin_error[512];

static void plugin_log(enum bpfx_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == BPFX_LOG_WARN && !plugin_error[0])
		snprintf(plugin_error, sizeof(plugin_error), "%s", msg);
	else if (level == BPFX_LOG_DEBUG && getenv("BPFX_DEBUG"))
		fprintf(stderr, "%s\n", msg);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return 1;
}

/* Hex byte pairs separated by blanks ("0x" prefixes allowed). Returns a
 * malloc'ed buffer (never NULL on success), or NULL with *bad_token set. */
static uint8_t *decode_hex(const char *text, size_t *len, const char **bad)
{
	size_t cap = strlen(text) / 2 + 1, n = 0;
	uint8_t *out = malloc(cap);
	if (!out)
		return NULL;
	const char *p = text;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		char *end;
		unsigned long v = strtoul(p, &end, 16);
		if (end == p || v > 0xff ||
		    (*end && !isspace((unsigned char)*end))) {
			*bad = p;
			free(out);
			return NULL;
		}
		out[n++] = (uint8_t)v;
		p = end;
	}
	*len = n;
	return out;
}

/* Length of the word at P, at most 8 characters, for messages. */
static size_t token_len(const char *p)
{
	size_t len = strcspn(p, " \t\n");
	return len > 8 ? 8 : len;
}

static char *read_stdin(void)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + len, 1, cap - len - 1, stdin);
		len += got;
		if (len + 1 < cap)
			break;
		cap *= 2;
		char *t = realloc(buf, cap);
		if (!t) {
			free(buf);
			return NULL;
		}
		buf = t;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

/* --elf: open the object, load its "main" and run its linked instructions
 * on the memory. An XDP program gets the memory as its packet instead, as
 * the suite's XDP prolog expects. */
static int run_elf(const uint8_t *obj_bytes, size_t obj_len, int engine,
		   uint8_t *mem, size_t mem_len, uint64_t *r0)
{
	BPFX_OPTS(bpfx_object_open_opts, open_opts,
		  .object_name = "conformance");
	struct bpfx_object *obj =
		bpfx_object__open_mem(obj_bytes, obj_len, &open_opts);
	if (!obj)
		return -1;
	struct bpfx_program *prog =
		bpfx_object__find_program_by_name(obj, "main");
	if (!prog)
		prog = bpfx_object__next_program(obj, NULL);
	if (!prog) {
		if (!plugin_error[0])
			snprintf(plugin_error, sizeof(plugin_error),
				 "no program named main in the object");
		bpfx_object__close(obj);
		return -1;
	}
	int err = bpfx_program__load(prog);
	if (err) {
		const char *why = bpfx_program__load_error(prog);
		if (why && !plugin_error[0])
			snprintf(plugin_error, sizeof(plugin_error), "%s", why);
		bpfx_object__close(obj);
		return err;
	}
	const char *type = bpfx_program__type_name(prog);
	if (type && !strcmp(type, "xdp")) {
		BPFX_OPTS(bpfx_test_run_opts, run_opts, .data_in = mem,
			  .data_size_in = (uint32_t)mem_len,
			  .engine = (enum bpfx_engine)engine);
		err = bpfx_program__test_run(prog, &run_opts);
		*r0 = run_opts.retval64;
	} else {
		BPFX_OPTS(bpfx_raw_run_opts, run_opts,
			  .engine = (enum bpfx_engine)engine, .mem = mem,
			  .mem_len = mem_len);
		err = bpfx_program__run_raw(prog, &run_opts, r0);
	}
	bpfx_object__close(obj);
	return err;
}

/* Decodes the memory and the program, runs it and prints r0 or the error. */
static int run_plugin(const char *mem_hex, const char *prog_hex,
		      const char *engine_name, bool elf)
{
	int engine = BPFX_ENGINE_DEFAULT;
	if (engine_name) {
		engine = bpfx_engine_by_name(engine_name);
		if (engine < 0)
			return fail("unknown engine: %s", engine_name);
	}

	const char *bad = NULL;
	size_t mem_len = 0;
	uint8_t *mem = decode_hex(mem_hex ? mem_hex : "", &mem_len, &bad);
	if (!mem)
		return bad ? fail("invalid memory byte: %.*s",
				  (int)token_len(bad), bad)
			   : fail("out of memory");

	char *stdin_text = NULL;
	if (!prog_hex) {
		stdin_text = read_stdin();
		if (!stdin_text) {
			free(mem);
			return fail("cannot read the program from stdin");
		}
		prog_hex = stdin_text;
	}
	size_t prog_len = 0;
	uint8_t *prog = decode_hex(prog_hex, &prog_len, &bad);
	if (!prog) {
		/* bad points into the program text */
		int ret = bad ? fail("invalid program byte: %.*s",
					(int)token_len(bad), bad)
			      : fail("out of memory");
		free(stdin_text);
		free(mem);
		return ret;
	}
	free(stdin_text);

	uint64_t r0 = 0;
	int err;
	if (elf) {
		err = run_elf(prog, prog_len, engine, mem_len ? mem : NULL,
			      mem_len, &r0);
	} else if (prog_len == 0 || prog_len % 8) {
		free(prog);
		free(mem);
		return fail("program size %zu is not a positive multiple of 8",
			    prog_len);
	} else {
		BPFX_OPTS(bpfx_raw_run_opts, run_opts,
			  .engine = (enum bpfx_engine)engine,
			  .mem = mem_len ? mem : NULL, .mem_len = mem_len);
		err = bpfx_run_raw(prog, prog_len / 8, &run_opts, &r0);
	}
	free(prog);
	free(mem);
	if (err) {
		if (plugin_error[0])
			return fail("%s", plugin_error);
		return fail("error %d", err);
	}
	printf("%" PRIx64 "\n", r0);
	return 0;
}

/* The options after the memory, one word each: an argument holding blanks
 * is split at them, except for the value of "--program" (hex bytes
 * separated by blanks): the rest of the argument holding "--program", or
 * the whole next argument. Returns the number of words in *out (malloc'ed,
 * the words too), or -1. */
static int split_options(int argc, char **argv, char ***out)
{
	char **words = NULL;
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *p = argv[i];
		if (n && !strcmp(words[n - 1], "--program") &&
		    p[strspn(p, " \t\n")]) {
			char **t = realloc(words, (size_t)(n + 1) * sizeof(*t));
			if (!t)
				goto oom;
			words = t;
			if (!(words[n] = strdup(p)))
				goto oom;
			n++;
			continue;
		}
		for (;;) {
			p += strspn(p, " \t\n");
			if (!*p)
				break;
			size_t len = strcspn(p, " \t\n");
			const char *rest = p + len + strspn(p + len, " \t\n");
			char **t = realloc(words, (size_t)(n + 2) * sizeof(*t));
			if (!t)
				goto oom;
			words = t;
			if (!(words[n] = strndup(p, len)))
				goto oom;
			n++;
			if (!strcmp(words[n - 1], "--program") && *rest) {
				if (!(words[n] = strdup(rest)))
					goto oom;
				n++;
				break;
			}
			p += len;
		}
	}
	*out = words;
	return n;
oom:
	for (int i = 0; i < n; i++)
		free(words[i]);
	free(words);
	return -1;
}

static void free_words(char **words, int n)
{
	for (int i = 0; i < n; i++)
		free(words[i]);
	free(words);
}

int cmd_conformance_plugin(int argc, char **argv)
{
	const char *mem_hex = NULL, *prog_hex = NULL, *engine_name = NULL;
	bool elf = false;
	int i = 1;

	bpfx_set_log(plugin_log, NULL);
	/* the optional memory comes first */
	if (i < argc && strncmp(argv[i], "--", 2))
		mem_hex = argv[i++];
	char **opt;
	int opt_cnt = split_options(argc - i, argv + i, &opt);
	if (opt_cnt < 0)
		return fail("out of memory");
	int ret = -1;
	for (i = 0; i < opt_cnt && ret < 0; i++) {
		const char *a = opt[i];
		if (!strcmp(a, "--elf")) {
			elf = true;
		} else if (!strcmp(a, "--engine") && i + 1 < opt_cnt) {
			engine_name = opt[++i];
		} else if (!strncmp(a, "--engine=", 9)) {
			engine_name = a + 9;
		} else if (!strcmp(a, "--program") && i + 1 < opt_cnt) {
			prog_hex = opt[++i];
		} else if (!strcmp(a, "--interpret")) {
			engine_name = "interp";
		} else if (!strcmp(a, "--jit")) {
			engine_name = "jit";
		} else {
			ret = fail("invalid argument: %s", a);
		}
	}
	if (ret < 0)
		ret = run_plugin(mem_hex, prog_hex, engine_name, elf);
	free_words(opt, opt_cnt);
	return ret;
}


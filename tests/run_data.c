/*
 * run_data: runs the .data corpus on every engine bpfx has.
 *
 *     build/tests/run_data [-v] [DIR-or-FILE...]    (default: tests/data)
 *
 * The files use the BPF conformance suite's format: sections opened by a
 * "-- name" line. "-- asm" holds assembly (src/isa/asm.c), "-- raw" the
 * instructions as 64-bit little-endian words (0x0000000000000095),
 * "-- mem" the input memory as hex bytes, "-- result" the expected r0 (hex
 * with 0x, or decimal, possibly negative), "-- error" a text the error
 * message must contain. Other sections ("-- c", "-- no register offset")
 * are ignored. The corpus keeps one case per file, as the suite does, so
 * its runner can take the same files (tests/data/TOPIC/NNN-name.data, with
 * TOPIC/README describing the topic), and this runner takes the suite's:
 * sections come in any order ("-- result" before "-- mem" is one case), and
 * "-- raw" wins over "-- asm" (the suite assembles only when there is no
 * raw; here an "-- asm" next to a "-- raw" must assemble to the same words,
 * unless it holds no instruction). A file holding several cases is still
 * read: a section the case already has ("-- asm", "-- raw", "-- mem")
 * starts the next one. A "#" comment line names a case in reports.
 *
 * Each case is assembled once and run with bpfx_run_raw() (r1 = a fresh
 * writable copy of the memory, r2 = its length) on each engine of the list
 * below that bpfx_engine_by_name() knows. An error case passes when the
 * run (or the assembler) fails with a message containing the expected
 * text; the message is what the library logs, caught with bpfx_set_log().
 * Every case also checks that the disassembly of its program assembles
 * back to the same instructions.
 *
 * Prints one line per failure and ends with "N passed, N failed"; exits 1
 * when something failed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* Engines to try; names bpfx does not know are skipped. */
static const char *const engine_names[] = { "interp", "jit" };

struct data_case {
	const char *file;
	int line;        /* line of the case's first section */
	char desc[160];  /* the comment naming it */
	char *asm_text;  /* "-- asm" lines, or NULL */
	int asm_line;    /* file line of the first asm line */
	char *raw;       /* "-- raw" words, or NULL */
	u8 *mem;
	size_t mem_len;
	bool has_result;
	u64 result;
	char *error;     /* expected error substring, or NULL */
	bool seen_asm, seen_raw, seen_mem; /* sections met, empty or not */
	bool unreadable; /* a section was reported as bad: do not run */
};

static bool verbose;
static int passed, failed;

/* ---- messages the library logs during one run ---- */
static char log_buf[4096];
static size_t log_len;

static void catch_log(enum bpfx_log_level level, const char *msg, void *user)
{
	size_t len = strlen(msg);
	if (log_len + len + 2 >= sizeof(log_buf))
		return;
	if (log_len)
		log_buf[log_len++] = '|';
	memcpy(log_buf + log_len, msg, len);
	log_len += len;
	while (log_len && log_buf[log_len - 1] == '\n')
		log_len--;
	log_buf[log_len] = 0;
}

static void log_reset(void)
{
	log_len = 0;
	log_buf[0] = 0;
}

/* ---- parsing ---- */
static void append(char **text, const char *line)
{
	size_t old = *text ? strlen(*text) : 0, len = strlen(line);
	char *t = realloc(*text, old + len + 2);
	if (!t) {
		perror("realloc");
		exit(2);
	}
	memcpy(t + old, line, len);
	t[old + len] = '\n';
	t[old + len + 1] = 0;
	*text = t;
}

/* A result or memory word: the assembler's number syntax, blanks around. */
static bool parse_u64(const char *s, u64 *v)
{
	char buf[64];
	s64 x;

	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!isa_parse_number(buf, &x, NULL))
		return false;
	*v = (u64)x;
	return true;
}

static int parse_mem_line(struct data_case *c, const char *line)
{
	const char *p = line;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			return 0;
		char *end;
		unsigned long b = strtoul(p, &end, 16);
		if (end == p || b > 0xff)
			return -1;
		u8 *m = realloc(c->mem, c->mem_len + 1);
		if (!m)
			return -1;
		c->mem = m;
		c->mem[c->mem_len++] = (u8)b;
		p = end;
	}
}

static void free_case(struct data_case *c)
{
	free(c->asm_text);
	free(c->raw);
	free(c->mem);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

static void run_case(struct data_case *c);

static void report(const struct data_case *c, const char *engine,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(const struct data_case *c, const char *engine,
		   const char *fmt, ...)
{
	va_list ap;
	printf("%s:%d: ", c->file, c->line);
	if (engine)
		printf("%s: ", engine);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (c->desc[0])
		printf(" (%s)", c->desc);
	printf("\n");
}

enum section { S_NONE, S_ASM, S_RAW, S_MEM, S_RESULT, S_ERROR, S_IGNORE };

static void run_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("%s: %s\n", path, strerror(errno));
		failed++;
		return;
	}
	struct data_case c = { 0 };
	char comment[160] = "";
	enum section sec = S_NONE;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;
	bool started = false;

	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;

		if (!strncmp(s, "--", 2)) {
			const char *name = s + 2;
			while (*name == ' ')
				name++;
			enum section next = S_IGNORE;
			if (!strncmp(name, "asm", 3))
				next = S_ASM;
			else if (!strncmp(name, "raw", 3))
				next = S_RAW;
			else if (!strncmp(name, "mem", 3))
				next = S_MEM;
			else if (!strncmp(name, "result", 6))
				next = S_RESULT;
			else if (!strncmp(name, "error", 5))
				next = S_ERROR;
			/* a section the case already has opens the next */
			if (started && ((next == S_ASM && c.seen_asm) ||
					(next == S_RAW && c.seen_raw) ||
					(next == S_MEM && c.seen_mem))) {
				run_case(&c);
				free_case(&c);
				started = false;
			}
			if (!started && next != S_IGNORE) {
				started = true;
				c.file = path;
				c.line = lineno;
				snprintf(c.desc, sizeof(c.desc), "%s", comment);
				comment[0] = 0;
			}
			sec = next;
			if (sec == S_ASM) {
				c.asm_line = lineno + 1;
				c.seen_asm = true;
			}
			c.seen_raw |= sec == S_RAW;
			c.seen_mem |= sec == S_MEM;
			continue;
		}

		switch (sec) {
		case S_NONE:
		case S_RESULT:
		case S_ERROR:
			if (*s == '#') {
				const char *t = s + 1;
				while (*t == ' ')
					t++;
				if (strncmp(t, "Copyright", 9) &&
				    strncmp(t, "SPDX", 4))
					snprintf(comment, sizeof(comment), "%s", t);
				continue;
			}
			if (!*s || sec == S_NONE)
				continue;
			if (sec == S_RESULT && !c.has_result) {
				if (!parse_u64(s, &c.result)) {
					report(&c, NULL, "bad result '%s'", s);
					failed++;
					c.unreadable = true;
				}
				c.has_result = true;
			} else if (sec == S_ERROR && !c.error) {
				c.error = strdup(s);
			}
			break;
		case S_ASM:
			/* blank lines keep assembler line numbers right */
			append(&c.asm_text, line);
			break;
		case S_RAW:
			if (*s && *s != '#')
				append(&c.raw, s);
			break;
		case S_MEM:
			if (parse_mem_line(&c, s)) {
				report(&c, NULL, "bad memory line '%s'", s);
				failed++;
				c.unreadable = true;
			}
			break;
		case S_IGNORE:
			break;
		}
	}
	if (started)
		run_case(&c);
	free_case(&c);
	free(line);
	fclose(f);
}

static int parse_raw(const char *text, struct bpf_insn **out, size_t *cnt,
		     char *err, size_t err_sz)
{
	size_t n = 0, cap_n = 0;
	struct bpf_insn *insns = NULL;
	const char *p = text;
	char word[40];
	int used;
	while (sscanf(p, " %39s%n", word, &used) == 1) {
		p += used;
		u64 v;
		if (!parse_u64(word, &v)) {
			snprintf(err, err_sz, "bad raw word '%s'", word);
			free(insns);
			return -EINVAL;
		}
		if (n == cap_n) {
			cap_n = cap_n ? cap_n * 2 : 16;
			struct bpf_insn *t = realloc(insns, cap_n * sizeof(*t));
			if (!t) {
				free(insns);
				return -ENOMEM;
			}
			insns = t;
		}
		memcpy(&insns[n++], &v, sizeof(v));
	}
	*out = insns;
	*cnt = n;
	return 0;
}

/* asm(disasm(x)) must be x. */
static bool round_trips(const struct bpf_insn *insns, size_t cnt, char *why,
			size_t why_sz)
{
	size_t text_sz = cnt * 64 + 1, used = 0;
	char *text = malloc(text_sz);
	if (!text)
		return true;
	for (size_t i = 0; i < cnt;) {
		char buf[128];
		int slots = isa_disasm(insns, i, cnt, buf, sizeof(buf));
		used += (size_t)snprintf(text + used, text_sz - used, "%s\n", buf);
		i += slots > 0 ? (size_t)slots : 1;
	}
	struct bpf_insn *again = NULL;
	size_t again_cnt = 0;
	char err[256];
	bool ok = !isa_assemble(text, &again, &again_cnt, err, sizeof(err));
	if (!ok) {
		snprintf(why, why_sz, "disassembly does not assemble: %s", err);
	} else if (again_cnt != cnt || memcmp(again, insns, cnt * sizeof(*insns))) {
		size_t i = 0;
		while (i < cnt && i < again_cnt &&
		       !memcmp(&again[i], &insns[i], sizeof(*insns)))
			i++;
		char buf[128] = "";
		if (i < cnt)
			isa_disasm(insns, i, cnt, buf, sizeof(buf));
		snprintf(why, why_sz, "disassembly round trip differs at insn %zu (%s)",
			 i, buf);
		ok = false;
	}
	free(again);
	free(text);
	return ok;
}

/* An "-- asm" next to the "-- raw" that runs: it must assemble to the same
 * instructions, or hold none (only comments). Reports and returns false
 * otherwise. */
static bool asm_matches_raw(const struct data_case *c,
			    const struct bpf_insn *raw, size_t raw_cnt)
{
	struct bpf_insn *insns = NULL;
	size_t cnt = 0, i = 0;
	char err[256];
	bool ok;

	if (isa_assemble(c->asm_text, &insns, &cnt, err, sizeof(err))) {
		free(insns);
		/* comments only: nothing to compare */
		if (strstr(err, "no instructions"))
			return true;
		report(c, NULL, "-- asm next to -- raw does not assemble: %s",
		       err);
		return false;
	}
	while (i < cnt && i < raw_cnt && !memcmp(&insns[i], &raw[i], sizeof(*raw)))
		i++;
	ok = i == cnt && cnt == raw_cnt;
	if (!ok)
		report(c, NULL, "-- asm and -- raw differ at insn %zu", i);
	free(insns);
	return ok;
}

static void run_case(struct data_case *c)
{
	struct bpf_insn *insns = NULL;
	size_t cnt = 0;
	char err[256] = "";
	int ret;

	if (c->unreadable)
		return; /* already counted as a failure */
	if (!c->has_result && !c->error) {
		report(c, NULL, "case has no result or error");
		failed++;
		return;
	}
	if (c->raw) {
		ret = parse_raw(c->raw, &insns, &cnt, err, sizeof(err));
		if (!ret && c->asm_text && !asm_matches_raw(c, insns, cnt)) {
			failed++;
			free(insns);
			return;
		}
	} else if (c->asm_text)
		ret = isa_assemble(c->asm_text, &insns, &cnt, err, sizeof(err));
	else {
		report(c, NULL, "case has no program");
		failed++;
		return;
	}
	if (ret) {
		if (c->error && strstr(err, c->error)) {
			passed++;
		} else {
			/* assembler line numbers to file line numbers */
			int l;
			if (c->asm_text && sscanf(err, "line %d:", &l) == 1)
				report(c, NULL, "%s:%d: %s", c->file,
				       c->asm_line + l - 1, err);
			else
				report(c, NULL, "%s", err);
			failed++;
		}
		free(insns);
		return;
	}

	char why[300];
	if (!round_trips(insns, cnt, why, sizeof(why))) {
		report(c, NULL, "%s", why);
		failed++;
	}

	int engines_run = 0;
	for (size_t e = 0; e < ARRAY_SIZE(engine_names); e++) {
		int engine = bpfx_engine_by_name(engine_names[e]);
		if (engine < 0)
			continue;
		engines_run++;
		u8 *mem = NULL;
		if (c->mem_len) {
			mem = malloc(c->mem_len);
			memcpy(mem, c->mem, c->mem_len);
		}
		BPFX_OPTS(bpfx_raw_run_opts, opts, .engine = engine, .mem = mem,
			  .mem_len = c->mem_len);
		uint64_t r0 = 0;
		log_reset();
		ret = bpfx_run_raw(insns, cnt, &opts, &r0);
		free(mem);

		if (c->error) {
			if (ret < 0 && strstr(log_buf, c->error)) {
				passed++;
			} else if (ret < 0) {
				report(c, engine_names[e],
				       "expected error \"%s\", got \"%s\" (%s)",
				       c->error, log_buf, strerror(-ret));
				failed++;
			} else {
				report(c, engine_names[e],
				       "expected error \"%s\", got r0 = 0x%llx",
				       c->error, (unsigned long long)r0);
				failed++;
			}
		} else if (ret < 0) {
			report(c, engine_names[e],
			       "expected 0x%llx, got error \"%s\" (%s)",
			       (unsigned long long)c->result, log_buf,
			       strerror(-ret));
			failed++;
		} else if (r0 != c->result) {
			report(c, engine_names[e], "expected 0x%llx, got 0x%llx",
			       (unsigned long long)c->result,
			       (unsigned long long)r0);
			failed++;
		} else {
			passed++;
			if (verbose)
				printf("%s:%d: %s: ok\n", c->file, c->line,
				       engine_names[e]);
		}
	}
	if (!engines_run) {
		report(c, NULL, "no engine available");
		failed++;
	}
	free(insns);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st)) {
		printf("%s: %s\n", path, strerror(errno));
		failed++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	DIR *dir = opendir(path);
	if (!dir) {
		printf("%s: %s\n", path, strerror(errno));
		failed++;
		return;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		char *full;
		if (asprintf(&full, "%s/%s", path, de->d_name) < 0)
			break;
		size_t len = strlen(de->d_name);
		bool is_data = len > 5 && !strcmp(de->d_name + len - 5, ".data");
		if (!is_data && (stat(full, &st) || !S_ISDIR(st.st_mode))) {
			free(full);
			continue;
		}
		char **t = realloc(names, (n + 1) * sizeof(*t));
		if (!t) {
			free(full);
			break;
		}
		names = t;
		names[n++] = full;
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		run_path(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	int first = 1;
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		verbose = true;
		first = 2;
	}
	bpfx_set_log(catch_log, NULL);
	if (first >= argc)
		run_path("tests/data");
	for (int i = first; i < argc; i++)
		run_path(argv[i]);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

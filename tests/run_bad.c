/*
 * Feeds bpfx input it must refuse, and checks that it refuses it cleanly.
 *
 * The sources under tests/bad/ are compiled with clang for the BPF target
 * (CLANG_BPF selects the compiler). base.bpf.c is a valid object; the cases
 * in the table below damage a copy of it in one way each (truncation,
 * random bytes, corrupt section headers, flipped .BTF bytes, an unknown
 * relocation type, a bad instruction), write it to OUTDIR/CASE.o so that
 * messages name that file, and expect bpfx_object__open_file() or
 * bpfx_object__load() to fail with a negative errno and a log containing
 * every expected substring. Raw instruction cases go through bpfx_run_raw
 * and expect the structural checker's "insn N: ..." messages. Last, a
 * fuzz-ish loop makes 2000 random mutations of base.o and runs them through
 * open, load and (when a program loads and has no backward jump) test_run:
 * nothing may crash (check-asan runs this under ASan and UBSan).
 *
 * Usage: run_bad DIR OUTDIR   (BAD_VERBOSE=1 prints every log)
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpfx/bpfx.h"

#ifndef BPF_SYS_INCLUDE /* set by the Makefile */
#define BPF_SYS_INCLUDE "/usr/include/x86_64-linux-gnu"
#endif

#define FUZZ_ROUNDS 2000
#define MAX_EXPECT 3

static char log_buf[1 << 16];
static size_t log_len;
static bool verbose;

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

static void log_reset(void)
{
	log_len = 0;
	log_buf[0] = 0;
}

struct blob {
	unsigned char *data;
	size_t size;
};

static int read_file(const char *path, size_t max, struct blob *b)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	b->data = malloc(max);
	b->size = b->data ? fread(b->data, 1, max, f) : 0;
	fclose(f);
	return b->data ? 0 : -ENOMEM;
}

static int write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
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

/* ---- reading the ELF ourselves, to know where to damage it ---- */

static const Elf64_Shdr *elf_shdr(const struct blob *b, unsigned int idx)
{
	const Elf64_Ehdr *eh = (const void *)b->data;

	if (b->size < sizeof(*eh) || idx >= eh->e_shnum ||
	    eh->e_shoff + (idx + 1) * (Elf64_Off)sizeof(Elf64_Shdr) > b->size)
		return NULL;
	return (const void *)(b->data + eh->e_shoff + idx * sizeof(Elf64_Shdr));
}

/* Index of the section called NAME, or -1. */
static int elf_find(const struct blob *b, const char *name)
{
	const Elf64_Ehdr *eh = (const void *)b->data;
	const Elf64_Shdr *strs = elf_shdr(b, eh->e_shstrndx);

	if (!strs)
		return -1;
	for (unsigned int i = 1; i < eh->e_shnum; i++) {
		const Elf64_Shdr *sh = elf_shdr(b, i);

		if (sh && sh->sh_name < strs->sh_size &&
		    strs->sh_offset + sh->sh_name < b->size &&
		    !strcmp((const char *)b->data + strs->sh_offset + sh->sh_name,
			    name))
			return (int)i;
	}
	return -1;
}

/* ---- the damage each case does to a copy of base.o ---- */

struct bad_case;
typedef int (*mutate_fn)(struct blob *b, const struct bad_case *c);

struct bad_case {
	const char *name;
	/* damage to base.o; NULL when src names the whole object */
	mutate_fn mutate;
	long arg;
	/* an object compiled from DIR/src, used as is */
	const char *src;
	/* substrings the log must hold; "@" stands for the case's file */
	const char *expect[MAX_EXPECT];
};

static int cut(struct blob *b, const struct bad_case *c)
{
	size_t len = c->arg >= 0 ? (size_t)c->arg : b->size + c->arg;

	if (len < b->size)
		b->size = len;
	return 0;
}

static int cut_half(struct blob *b, const struct bad_case *c)
{
	b->size /= 2;
	return 0;
}

/* The first arg bytes of the section table gone: cut where it starts. */
static int cut_at_shoff(struct blob *b, const struct bad_case *c)
{
	const Elf64_Ehdr *eh = (const void *)b->data;

	b->size = eh->e_shoff + c->arg;
	return 0;
}

static int random_bytes(struct blob *b, const struct bad_case *c)
{
	srand((unsigned int)c->arg);
	for (size_t i = 0; i < b->size; i++)
		b->data[i] = (unsigned char)rand();
	return 0;
}

static int bad_shoff(struct blob *b, const struct bad_case *c)
{
	Elf64_Ehdr *eh = (void *)b->data;

	eh->e_shoff = b->size + 4096;
	return 0;
}

/* Section NAME's contents said to lie past the end of the file. */
static int bad_sec_offset(struct blob *b, const struct bad_case *c)
{
	int idx = elf_find(b, (const char *)c->arg);
	Elf64_Shdr *sh;

	if (idx < 0)
		return -1;
	sh = (Elf64_Shdr *)elf_shdr(b, idx);
	sh->sh_offset = b->size + 100;
	return 0;
}

static int bad_sec_size(struct blob *b, const struct bad_case *c)
{
	int idx = elf_find(b, (const char *)c->arg);
	Elf64_Shdr *sh;

	if (idx < 0)
		return -1;
	sh = (Elf64_Shdr *)elf_shdr(b, idx);
	sh->sh_size = (Elf64_Xword)1 << 40;
	return 0;
}

static int bad_machine(struct blob *b, const struct bad_case *c)
{
	Elf64_Ehdr *eh = (void *)b->data;

	eh->e_machine = EM_X86_64;
	return 0;
}

static int non_bpf_elf(struct blob *b, const struct bad_case *c)
{
	struct blob t;

	if (read_file("/bin/true", 65536, &t))
		return -1;
	free(b->data);
	*b = t;
	return 0;
}

/* Overwrite bytes of .BTF: arg < 0 damages the header (magic), else the
 * type section at that offset past the header. */
static int bad_btf(struct blob *b, const struct bad_case *c)
{
	int idx = elf_find(b, ".BTF");
	const Elf64_Shdr *sh;

	if (idx < 0)
		return -1;
	sh = elf_shdr(b, idx);
	if (c->arg < 0) {
		b->data[sh->sh_offset] ^= 0xff;
		return 0;
	}
	/* header: magic(2) version(1) flags(1) hdr_len(4) type_off(4)... */
	uint32_t hdr_len, type_off;
	memcpy(&hdr_len, b->data + sh->sh_offset + 4, 4);
	memcpy(&type_off, b->data + sh->sh_offset + 8, 4);
	size_t at = sh->sh_offset + hdr_len + type_off + c->arg;
	if (at + 12 > sh->sh_offset + sh->sh_size)
		return -1;
	/* the first type's info word: kind 31, vlen 0xffff */
	memset(b->data + at + 4, 0xff, 4);
	return 0;
}

/* Relocation #0 of section NAME gets type 0x7f. */
static int bad_reloc_type(struct blob *b, const struct bad_case *c)
{
	int idx = elf_find(b, (const char *)c->arg);
	const Elf64_Shdr *sh;

	if (idx < 0)
		return -1;
	sh = elf_shdr(b, idx);
	if (sh->sh_size < sizeof(Elf64_Rel))
		return -1;
	Elf64_Rel *rel = (void *)(b->data + sh->sh_offset);
	rel->r_info = ELF64_R_INFO(ELF64_R_SYM(rel->r_info), 0x7f);
	return 0;
}

/* Replace instruction arg of section "tc" (negative: from its end). */
static int patch_insn(struct blob *b, long at, const unsigned char insn[8])
{
	int idx = elf_find(b, "tc");
	const Elf64_Shdr *sh;
	size_t cnt;

	if (idx < 0)
		return -1;
	sh = elf_shdr(b, idx);
	cnt = sh->sh_size / 8;
	if (at < 0)
		at += (long)cnt;
	if (at < 0 || (size_t)at >= cnt)
		return -1;
	memcpy(b->data + sh->sh_offset + at * 8, insn, 8);
	return 0;
}

static int insn_bad_opcode(struct blob *b, const struct bad_case *c)
{
	static const unsigned char insn[8] = { 0xff, 0, 0, 0, 0, 0, 0, 0 };
	return patch_insn(b, c->arg, insn);
}

static int insn_far_jump(struct blob *b, const struct bad_case *c)
{
	/* ja +1000 */
	static const unsigned char insn[8] = { 0x05, 0, 0xe8, 0x03, 0, 0, 0, 0 };
	return patch_insn(b, c->arg, insn);
}

static int insn_lddw_last(struct blob *b, const struct bad_case *c)
{
	/* lddw r0, ... in the last slot (where the exit was) */
	static const unsigned char insn[8] = { 0x18, 0, 0, 0, 1, 0, 0, 0 };
	return patch_insn(b, -1, insn);
}

static int insn_bad_helper(struct blob *b, const struct bad_case *c)
{
	/* call 9999 */
	static const unsigned char insn[8] = { 0x85, 0, 0, 0, 0x0f, 0x27, 0, 0 };
	return patch_insn(b, c->arg, insn);
}

#define SEC_ARG(s) ((long)(s))

static const struct bad_case cases[] = {
	{ "truncated-0", cut, 0, NULL, { "elf: @", "too short" } },
	{ "truncated-10", cut, 10, NULL, { "elf: @", "too short" } },
	{ "truncated-63", cut, 63, NULL, { "elf: @" } },
	{ "truncated-64", cut, 64, NULL, { "elf: @" } },
	{ "truncated-half", cut_half, 0, NULL, { "elf: @" } },
	{ "truncated-shtab", cut_at_shoff, 100, NULL, { "elf: @" } },
	{ "truncated-last-byte", cut, -1, NULL, { "elf: @" } },
	{ "random-1", random_bytes, 1, NULL, { "elf: @", "not an ELF file" } },
	{ "random-2", random_bytes, 2, NULL, { "elf: @", "not an ELF file" } },
	{ "bad-shoff", bad_shoff, 0, NULL, { "elf: @" } },
	{ "bad-prog-offset", bad_sec_offset, SEC_ARG("tc"), NULL,
	  { "elf: @", "section tc" } },
	{ "bad-maps-offset", bad_sec_offset, SEC_ARG(".maps"), NULL,
	  { "elf: @", "section .maps" } },
	{ "bad-symtab-size", bad_sec_size, SEC_ARG(".symtab"), NULL,
	  { "elf: @", "section .symtab" } },
	{ "not-bpf-machine", bad_machine, 0, NULL,
	  { "elf: @", "not EM_BPF" } },
	{ "non-bpf-elf", non_bpf_elf, 0, NULL, { "elf: @" } },
	{ "btf-magic", bad_btf, -1, NULL, { "btf: @" } },
	{ "btf-type-info", bad_btf, 0, NULL, { "btf: @" } },
	{ "reloc-type", bad_reloc_type, SEC_ARG(".reltc"), NULL,
	  { "@", "section tc", "relocation" } },
	{ "insn-invalid-opcode", insn_bad_opcode, 0, NULL,
	  { "@", "section tc", "insn 0: invalid opcode 0xff" } },
	{ "insn-invalid-opcode-8", insn_bad_opcode, 8, NULL,
	  { "@", "section tc", "insn 8: invalid opcode 0xff" } },
	{ "insn-jump-out-of-range", insn_far_jump, 4, NULL,
	  { "@", "section tc", "insn 4: jump out of range" } },
	/* the loader sees it first: "lddw at the end of function 'count'" */
	{ "insn-lddw-last", insn_lddw_last, 0, NULL,
	  { "@", "section tc: insn 15", "lddw at the end" } },
	{ "insn-unknown-helper", insn_bad_helper, 0, NULL,
	  { "@", "section tc", "insn 0: call to unknown helper 9999" } },
	{ "helper-9999", NULL, 0, "helper9999.bpf.c",
	  { "@", "section tc", "call to unknown helper 9999" } },
	{ "unknown-kfunc", NULL, 0, "kfunc.bpf.c",
	  { "@", "bpf_nonexistent" } },
};

/* Raw instruction cases for bpfx_run_raw. */
struct raw_case {
	const char *name;
	unsigned char insns[4][8];
	size_t cnt;
	const char *expect;
};

static const struct raw_case raw_cases[] = {
	{ "raw-invalid-opcode",
	  { { 0xb7, 0, 0, 0, 0, 0, 0, 0 }, { 0xff, 0, 0, 0, 0, 0, 0, 0 },
	    { 0x95, 0, 0, 0, 0, 0, 0, 0 } },
	  3, "insn 1: invalid opcode 0xff" },
	{ "raw-jump-out-of-range",
	  { { 0xb7, 0, 0, 0, 0, 0, 0, 0 }, { 0x05, 0, 5, 0, 0, 0, 0, 0 },
	    { 0x95, 0, 0, 0, 0, 0, 0, 0 } },
	  3, "insn 1: jump out of range" },
	{ "raw-jump-backward-out",
	  { { 0x05, 0, 0xfe, 0xff, 0, 0, 0, 0 }, { 0x95, 0, 0, 0, 0, 0, 0, 0 } },
	  2, "insn 0: jump out of range" },
	{ "raw-lddw-last",
	  { { 0xb7, 0, 0, 0, 0, 0, 0, 0 }, { 0x18, 0, 0, 0, 1, 0, 0, 0 } },
	  2, "insn 1: incomplete lddw" },
	{ "raw-unknown-helper",
	  { { 0x85, 0, 0, 0, 0x0f, 0x27, 0, 0 }, { 0x95, 0, 0, 0, 0, 0, 0, 0 } },
	  2, "insn 0: call to unknown helper 9999" },
};

static bool log_has(const char *want, const char *file)
{
	char buf[2048];
	const char *at = strchr(want, '@');
	size_t pre, flen, post;

	if (!at)
		return strstr(log_buf, want) != NULL;
	pre = (size_t)(at - want);
	flen = strlen(file);
	post = strlen(at + 1);
	if (pre + flen + post >= sizeof(buf))
		return false;
	memcpy(buf, want, pre);
	memcpy(buf + pre, file, flen);
	memcpy(buf + pre + flen, at + 1, post + 1);
	return strstr(log_buf, buf) != NULL;
}

/* Opens and loads PATH; returns the first negative error, or 0. */
static int open_and_load(const char *path)
{
	struct bpfx_object *obj = bpfx_object__open_file(path, NULL);
	int err;

	if (!obj)
		return errno > 0 ? -errno : -EINVAL;
	err = bpfx_object__load(obj);
	bpfx_object__close(obj);
	return err;
}

static int run_file_case(const struct bad_case *c, const struct blob *base,
			 const char *dir, const char *outdir)
{
	char path[1024];
	int err;

	snprintf(path, sizeof(path), "%s/%s.o", outdir, c->name);
	if (c->src) {
		char src[1024];
		snprintf(src, sizeof(src), "%s/%s", dir, c->src);
		if (compile(src, path)) {
			fprintf(stderr, "FAIL %s: %s does not compile\n", c->name,
				src);
			return -1;
		}
	} else {
		struct blob b = { malloc(base->size), base->size };
		if (!b.data)
			return -1;
		memcpy(b.data, base->data, base->size);
		err = c->mutate(&b, c);
		if (!err)
			err = write_file(path, b.data, b.size);
		free(b.data);
		if (err) {
			fprintf(stderr, "FAIL %s: cannot build the input\n",
				c->name);
			return -1;
		}
	}
	log_reset();
	err = open_and_load(path);
	if (verbose)
		fprintf(stderr, "--- %s: %d\n%s", c->name, err, log_buf);
	if (err >= 0) {
		fprintf(stderr, "FAIL %s: open and load succeeded\n", c->name);
		return -1;
	}
	for (int i = 0; i < MAX_EXPECT && c->expect[i]; i++) {
		if (!log_has(c->expect[i], path)) {
			fprintf(stderr, "FAIL %s: log lacks '%s' (@ = %s):\n%s",
				c->name, c->expect[i], path, log_buf);
			return -1;
		}
	}
	return 0;
}

static int run_raw_case(const struct raw_case *c)
{
	unsigned char mem[64] = { 0 };
	uint64_t r0 = 0;
	BPFX_OPTS(bpfx_raw_run_opts, opts, .mem = mem, .mem_len = sizeof(mem));
	int err;

	log_reset();
	err = bpfx_run_raw(c->insns, c->cnt, &opts, &r0);
	if (verbose)
		fprintf(stderr, "--- %s: %d\n%s", c->name, err, log_buf);
	if (err >= 0) {
		fprintf(stderr, "FAIL %s: ran, r0 = %llu\n", c->name,
			(unsigned long long)r0);
		return -1;
	}
	if (!strstr(log_buf, c->expect)) {
		fprintf(stderr, "FAIL %s: log lacks '%s':\n%s", c->name,
			c->expect, log_buf);
		return -1;
	}
	return 0;
}

/* A loaded program may be run unless it could loop: any backward jump. */
static bool may_loop(const struct bpfx_program *prog)
{
	const unsigned char *insns =
		(const unsigned char *)bpfx_program__insns(prog);
	size_t cnt = bpfx_program__insn_cnt(prog);

	for (size_t i = 0; insns && i < cnt; i++) {
		const unsigned char *in = insns + i * 8;
		unsigned char cls = in[0] & 7;
		int16_t off;
		int32_t imm;

		memcpy(&off, in + 2, 2);
		memcpy(&imm, in + 4, 4);
		if ((cls == 0x05 || cls == 0x06) /* BPF_JMP, BPF_JMP32 */ &&
		    (off < 0 || (in[0] == 0x06 && imm < 0)))
			return true;
	}
	return !insns;
}

/* Random damage to base.o, never a crash. Returns how many loaded. */
static int fuzz(const struct blob *base, unsigned int seed, int rounds)
{
	static const unsigned char pkt[64] = { 0x00, 0x11, 0x22, 0x33, 0x44,
					       0x55, 0x66, 0x77, 0x88, 0x99,
					       0xaa, 0xbb, 0x08, 0x00 };
	unsigned char *buf = malloc(base->size);
	unsigned char out[256];
	int loaded = 0;

	srand(seed);
	for (int round = 0; buf && round < rounds; round++) {
		size_t size = base->size;
		int flips = 1 + rand() % 8;

		memcpy(buf, base->data, size);
		for (int i = 0; i < flips; i++) {
			size_t at = (size_t)rand() % size;
			switch (rand() % 4) {
			case 0: /* a random byte */
				buf[at] = (unsigned char)rand();
				break;
			case 1: /* one bit */
				buf[at] ^= (unsigned char)(1u << (rand() % 8));
				break;
			case 2: /* an interesting value */
				buf[at] = (unsigned char[]){ 0, 0xff, 0x7f,
							     0x80, 1 }[rand() % 5];
				break;
			default: /* in the headers, where damage matters most */
				buf[(size_t)rand() % (size < 64 ? size : 64)] ^=
					(unsigned char)rand();
				break;
			}
		}
		if (rand() % 16 == 0)
			size = (size_t)rand() % size;

		log_reset();
		struct bpfx_object *obj = bpfx_object__open_mem(buf, size, NULL);
		if (!obj)
			continue;
		bpfx_object__load(obj);
		struct bpfx_program *prog;
		bpfx_object__for_each_program(prog, obj) {
			if (bpfx_program__load(prog) || may_loop(prog))
				continue;
			BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = pkt,
				  .data_size_in = sizeof(pkt), .data_out = out,
				  .data_size_out = sizeof(out), .repeat = 1);
			bpfx_program__test_run(prog, &opts);
			loaded++;
		}
		bpfx_object__close(obj);
	}
	free(buf);
	return loaded;
}

int main(int argc, char **argv)
{
	const char *dir, *outdir;
	char src[1024], obj[1024];
	struct blob base;
	int passed = 0, failed = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: run_bad DIR OUTDIR\n");
		return 2;
	}
	dir = argv[1];
	outdir = argv[2];
	verbose = getenv("BAD_VERBOSE") != NULL;
	bpfx_set_log(capture_log, NULL);
	mkdir(outdir, 0755);

	snprintf(src, sizeof(src), "%s/base.bpf.c", dir);
	snprintf(obj, sizeof(obj), "%s/base.bpf.o", outdir);
	if (compile(src, obj) || read_file(obj, 1 << 24, &base)) {
		fprintf(stderr, "FAIL %s: does not compile\n", src);
		printf("bad: 0 passed, 1 failed\n");
		return 1;
	}
	/* The undamaged object must load, or every case below proves
	 * nothing. */
	log_reset();
	if (open_and_load(obj)) {
		fprintf(stderr, "FAIL base: %s does not load:\n%s", obj, log_buf);
		failed++;
	} else {
		passed++;
	}

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (run_file_case(&cases[i], &base, dir, outdir))
			failed++;
		else
			passed++;
	}
	for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
		if (run_raw_case(&raw_cases[i]))
			failed++;
		else
			passed++;
	}

	/* Getting here without a crash is the test. */
	int ran = fuzz(&base, 12345, FUZZ_ROUNDS);
	fprintf(stderr, "fuzz: %d mutations, %d programs loaded and ran\n",
		FUZZ_ROUNDS, ran);
	passed++;

	free(base.data);
	printf("bad: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

/*
 * bpfx jit --dump OBJ [--prog NAME]: the JIT's machine code for each
 * program, disassembled with libcapstone, each block under the BPF
 * instruction (and C source line) it comes from; then the shared stubs
 * and the out-of-line paths, and the sizes.
 */
#include <capstone/capstone.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "jit/jit.h"

static void dump_range(csh cs, const struct jit_prog *jp, u32 from, u32 to)
{
	cs_insn *ins;
	if (to <= from)
		return;
	/* addresses relative to the code's start, as the offsets are */
	size_t n = cs_disasm(cs, jp->code + from, to - from, from, 0, &ins);
	u32 done = from;
	for (size_t k = 0; k < n; k++) {
		printf("    %6llx:  %-7s %s\n",
		       (unsigned long long)ins[k].address, ins[k].mnemonic,
		       ins[k].op_str);
		done = (u32)ins[k].address + ins[k].size;
	}
	if (n)
		cs_free(ins, n);
	if (done < to)
		printf("    %6x:  (%u bytes capstone cannot decode)\n", done,
		       to - done);
}

static const char *mark_at(const struct jit_prog *jp, u32 off)
{
	for (size_t k = 0; k < jp->mark_cnt; k++)
		if (jp->marks[k].off == off)
			return jp->marks[k].name;
	return NULL;
}

/* The next place a block ends after OFF: an instruction or a mark. */
static u32 next_mark(const struct jit_prog *jp, u32 off, u32 end)
{
	u32 best = end;
	for (size_t k = 0; k < jp->mark_cnt; k++)
		if (jp->marks[k].off > off && jp->marks[k].off < best)
			best = jp->marks[k].off;
	return best;
}

static void dump_program(struct bpfx_program *prog, void *user)
{
	csh cs = *(csh *)user;
	const struct jit_prog *jp = prog->jit;
	const struct bpf_insn *insns = bpfx_program__insns(prog);
	size_t cnt = bpfx_program__insn_cnt(prog);
	if (!jp) {
		printf("%s: not compiled (it runs on the interpreter)\n",
		       bpfx_program__name(prog));
		return;
	}
	printf("%s (section %s): %zu BPF insns -> %zu bytes of x86-64 "
	       "(%u passes)\n",
	       bpfx_program__name(prog), bpfx_program__section_name(prog), cnt,
	       jp->code_size, jp->passes);
	/* entry stub and main prologue */
	for (u32 off = 0; off < jp->insn_off[0];) {
		u32 end = next_mark(jp, off, jp->insn_off[0]);
		const char *m = mark_at(jp, off);
		printf("<%s>:\n", m ? m : "?");
		dump_range(cs, jp, off, end);
		off = end;
	}
	char line[160], src[200], last_src[200] = "";
	for (size_t i = 0; i < cnt;) {
		int n = isa_disasm(insns, i, cnt, line, sizeof(line));
		size_t next = i + (n > 0 ? (size_t)n : 1);
		if (prog_source_line(prog, i, src, sizeof(src)) &&
		    strcmp(src, last_src)) {
			printf("; %s\n", src);
			strcpy(last_src, src);
		}
		printf("%5zu: %s\n", i, line);
		u32 end = next < cnt ? jp->insn_off[next] : jp->insn_off[cnt];
		/* a subprogram's prologue sits before its first instruction */
		u32 split = end;
		for (size_t k = 0; k < jp->func_cnt; k++)
			if (jp->func_off[k] > jp->insn_off[i] &&
			    jp->func_off[k] < split)
				split = jp->func_off[k];
		dump_range(cs, jp, jp->insn_off[i], split);
		if (split < end) {
			printf("<prologue of the function at insn %zu>\n", next);
			dump_range(cs, jp, split, end);
		}
		i = next;
	}
	for (u32 off = jp->insn_off[cnt]; off < jp->code_size;) {
		u32 end = next_mark(jp, off, (u32)jp->code_size);
		const char *m = mark_at(jp, off);
		printf("<%s>:\n", m ? m : "?");
		dump_range(cs, jp, off, end);
		off = end;
	}
	printf("\n");
}

int cmd_jit(int argc, char **argv)
{
	static const struct option options[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ "dump", no_argument, NULL, 'd' },
		{ 0 },
	};
	const char *name = NULL;
	bool dump = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'p')
			name = optarg;
		else if (c == 'd')
			dump = true;
		else
			return 2;
	}
	if (!dump || optind != argc - 1) {
		fprintf(stderr, "usage: bpfx jit --dump OBJ [--prog NAME]\n");
		return 2;
	}
	struct bpfx_object *obj = bpfx_object__open_file(argv[optind], NULL);
	if (!obj) {
		fprintf(stderr, "bpfx: %s: cannot open: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	csh cs;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		fprintf(stderr, "bpfx: capstone: cannot open the x86-64 "
				"disassembler\n");
		bpfx_object__close(obj);
		return 1;
	}
	int failed = cli_each_loaded_program(obj, argv[optind], name,
					     dump_program, &cs);
	cs_close(&cs);
	bpfx_object__close(obj);
	return failed ? 1 : 0;
}

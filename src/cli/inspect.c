/*
 * bpfx progs and bpfx disasm: what an object holds. Each program is loaded
 * alone (linked with its subprograms), so the sizes and listings are those
 * of the code that runs, and a program that fails to load says why.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "internal.h"

static struct bpfx_object *open_object(const char *path)
{
	struct bpfx_object *obj = bpfx_object__open_file(path, NULL);
	if (!obj)
		fprintf(stderr, "bpfx: %s: cannot open: %s\n", path,
			strerror(errno));
	return obj;
}

int cmd_progs(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bpfx progs OBJ\n");
		return 2;
	}
	struct bpfx_object *obj = open_object(argv[1]);
	if (!obj)
		return 1;
	struct bpfx_program *prog;
	int failed = 0;
	printf("%-24s %-28s %-16s %6s  %s\n", "NAME", "SECTION", "TYPE",
	       "INSNS", "STATUS");
	bpfx_object__for_each_program(prog, obj) {
		int err = bpfx_program__load(prog);
		const char *why = bpfx_program__load_error(prog);
		printf("%-24s %-28s %-16s %6zu  %s%s%s\n",
		       bpfx_program__name(prog),
		       bpfx_program__section_name(prog),
		       bpfx_program__type_name(prog),
		       bpfx_program__insn_cnt(prog),
		       err ? "error: " : "ok",
		       err ? (why ? why : strerror(-err)) : "",
		       bpfx_program__autoload(prog) ? "" : " (no autoload)");
		failed |= err != 0;
	}
	struct bpfx_map *map;
	bpfx_object__for_each_map(map, obj)
		printf("map %-20s %-16s key %u value %u max_entries %u\n",
		       bpfx_map__name(map), bpfx_map__type_name(map),
		       bpfx_map__key_size(map), bpfx_map__value_size(map),
		       bpfx_map__max_entries(map));
	bpfx_object__close(obj);
	return failed ? 1 : 0;
}

static void disasm_program(struct bpfx_program *prog, void *user)
{
	const struct bpf_insn *insns = bpfx_program__insns(prog);
	size_t cnt = bpfx_program__insn_cnt(prog);
	char line[160], src[200], last_src[200] = "";
	printf("%s (section %s, %zu insns):\n", bpfx_program__name(prog),
	       bpfx_program__section_name(prog), cnt);
	for (size_t i = 0; i < cnt;) {
		if (prog_source_line(prog, i, src, sizeof(src)) &&
		    strcmp(src, last_src)) {
			printf("; %s\n", src);
			strcpy(last_src, src);
		}
		int n = isa_disasm(insns, i, cnt, line, sizeof(line));
		printf("%5zu: %s\n", i, line);
		i += n > 0 ? (size_t)n : 1;
	}
}

int cmd_disasm(int argc, char **argv)
{
	static const struct option options[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ 0 },
	};
	const char *name = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c != 'p')
			return 2;
		name = optarg;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: bpfx disasm OBJ [--prog NAME]\n");
		return 2;
	}
	struct bpfx_object *obj = open_object(argv[optind]);
	if (!obj)
		return 1;
	int failed = cli_each_loaded_program(obj, argv[optind], name,
					     disasm_program, NULL);
	bpfx_object__close(obj);
	return failed;
}

/*
 * bpfx verify OBJ [--prog NAME] [--log-level 1|2] [--engine kernel]: runs
 * the verifier (or, with --engine kernel, loads into the host kernel) on
 * one program (or each program of the object) and prints the kernel-style
 * log: at level 1 the failing instruction, its source line and the
 * message; at level 2 every instruction with its register state; always
 * the counts and the time.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "internal.h"

static int verify_one(struct bpfx_program *prog, unsigned int level,
		      int engine)
{
	size_t sz = 16 << 20;
	char *log = malloc(sz);
	BPFX_OPTS(bpfx_verify_opts, opts, .log_level = level ? level : 1,
		  .log_buf = log, .log_size = sz, .engine = engine);
	int err;

	if (!log)
		return 1;
	log[0] = '\0';
	err = bpfx_program__verify(prog, &opts);
	printf("%s: %s\n", bpfx_program__name(prog), err ? "rejected" : "accepted");
	fputs(log, stdout);
	if (err && bpfx_program__load_error(prog))
		printf("%s\n", bpfx_program__load_error(prog));
	printf("verification time %llu usec\n",
	       (unsigned long long)opts.duration_ns / 1000);
	free(log);
	return err ? 1 : 0;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "engine", required_argument, NULL, 'e' },
		{ 0 },
	};
	const char *name = NULL;
	unsigned int level = 1;
	int engine = BPFX_ENGINE_DEFAULT;
	struct bpfx_object *obj;
	int c, failed = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:l:e:", longopts, NULL)) != -1) {
		if (c == 'e' && (engine = bpfx_engine_by_name(optarg)) < 0)
			goto usage;
		else if (c == 'e')
			continue;
		if (c == 'p')
			name = optarg;
		else if (c == 'l')
			level = strtoul(optarg, NULL, 0);
		else
			goto usage;
	}
	if (optind != argc - 1 || level < 1 || level > 2)
		goto usage;
	obj = bpfx_object__open_file(argv[optind], NULL);
	if (!obj) {
		fprintf(stderr, "bpfx: %s: cannot open: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	if (name) {
		struct bpfx_program *prog =
			bpfx_object__find_program_by_name(obj, name);
		if (!prog) {
			fprintf(stderr, "bpfx: %s: no program named '%s'\n",
				argv[optind], name);
			bpfx_object__close(obj);
			return 1;
		}
		failed = verify_one(prog, level, engine);
	} else {
		struct bpfx_program *prog;
		bpfx_object__for_each_program(prog, obj)
			failed |= verify_one(prog, level, engine);
	}
	bpfx_object__close(obj);
	return failed;
usage:
	fprintf(stderr, "usage: bpfx verify OBJ [--prog NAME] [--log-level 1|2] [--engine kernel]\n");
	return 2;
}

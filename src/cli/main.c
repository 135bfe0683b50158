/*
 * The bpfx command: dispatches to one subcommand per file in src/cli/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfx/bpfx.h"
#include "cli/cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bpfx COMMAND [ARGS]\n"
		"  run OBJ [--prog NAME] [--engine E] [--data FILE] [--ctx FILE]\n"
		"          [--repeat N] [--json] [--dump-maps] [--data-out FILE]\n"
		"          [--ctx-out FILE]   run a program as test_run does\n"
		"  progs OBJ                  list programs, types and sizes\n"
		"  disasm OBJ [--prog NAME]   disassemble the linked programs\n"
		"  diff OBJ [--prog NAME] [--data FILE] [--ctx FILE]\n"
		"                             compare the engines and the kernel\n"
		"  jit --dump OBJ [--prog NAME]\n"
		"                             the JIT's code, disassembled\n"
		"  verify OBJ [--prog NAME] [--log-level 1|2] [--engine kernel]\n"
		"                             the verifier's log and counts\n"
		"  conformance-plugin [HEX_MEM] [--engine E] [--elf]\n"
		"                             the BPF conformance suite's plugin\n");
}

/* Warnings and bpf_printk output ("trace: ...") go to stderr; debug
 * messages too when BPFX_DEBUG is set. */
static void cli_log(enum bpfx_log_level level, const char *msg, void *user)
{
	if (level == BPFX_LOG_DEBUG && !getenv("BPFX_DEBUG"))
		return;
	if (level == BPFX_LOG_INFO && strncmp(msg, "trace: ", 7))
		return;
	fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
	bpfx_set_log(cli_log, NULL);
	/* Installed as bpfx_conformance_plugin, the command is the plugin:
	 * the conformance suite passes the memory as the first argument. */
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "bpfx_conformance_plugin"))
		return cmd_conformance_plugin(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "progs"))
		return cmd_progs(argc - 1, argv + 1);
	if (!strcmp(cmd, "disasm"))
		return cmd_disasm(argc - 1, argv + 1);
	if (!strcmp(cmd, "diff"))
		return cmd_diff(argc - 1, argv + 1);
	if (!strcmp(cmd, "jit"))
		return cmd_jit(argc - 1, argv + 1);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (!strcmp(cmd, "conformance-plugin"))
		return cmd_conformance_plugin(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "bpfx: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}

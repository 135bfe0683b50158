/* The bpfx command's subcommands, one file each under src/cli/. */
#ifndef BPFX_CLI_H
#define BPFX_CLI_H

int cmd_run(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_progs(int argc, char **argv);
int cmd_conformance_plugin(int argc, char **argv);

#endif

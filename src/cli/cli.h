/* The bpfx command's subcommands, one file each under src/cli/. */
#ifndef BPFX_CLI_H
#define BPFX_CLI_H

#include <stddef.h>

int cmd_run(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_progs(int argc, char **argv);
int cmd_conformance_plugin(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_jit(int argc, char **argv);

/* Shared by the subcommands (src/cli/common.c). */
struct bpfx_object;
struct bpfx_program;
/* Opens OBJ; with NAME loads that program alone (even from a '?' section),
 * without it the object's only program. Prints the error and returns NULL
 * on failure. */
struct bpfx_program *cli_open_program(const char *path, const char *name,
				      struct bpfx_object **obj);
/* Reads a whole file; returns a malloc'ed buffer or NULL (errno set). */
void *cli_read_file(const char *path, size_t *size);

#endif

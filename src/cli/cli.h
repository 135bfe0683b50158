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
/* Loads each program of OBJ (or only the one named NAME, if not NULL)
 * alone and calls FN on it; a program that fails to load is reported and
 * skipped. Returns 0, or 1 when a program failed or NAME matched none. */
int cli_each_loaded_program(struct bpfx_object *obj, const char *path,
			    const char *name,
			    void (*fn)(struct bpfx_program *prog, void *user),
			    void *user);
/* Reads a whole file; returns a malloc'ed buffer or NULL (errno set). */
void *cli_read_file(const char *path, size_t *size);

#endif

/*
 * What the subcommands share: reading files and opening one program of an
 * object the way the kernel's selftest loader does (that program alone,
 * with the subprograms and maps it uses).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfx/bpfx.h"
#include "cli/cli.h"

void *cli_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len < cap)
			break;
		char *bigger = realloc(buf, cap *= 2);
		if (!bigger) {
			free(buf);
			buf = NULL;
		}
		buf = bigger;
	}
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	*size = len;
	return buf;
}

int cli_each_loaded_program(struct bpfx_object *obj, const char *path,
			    const char *name,
			    void (*fn)(struct bpfx_program *prog, void *user),
			    void *user)
{
	struct bpfx_program *prog;
	int failed = 0, shown = 0;

	bpfx_object__for_each_program(prog, obj) {
		if (name && strcmp(name, bpfx_program__name(prog)))
			continue;
		int err = bpfx_program__load(prog);
		if (err) {
			const char *why = bpfx_program__load_error(prog);
			fprintf(stderr, "bpfx: %s: %s\n", bpfx_program__name(prog),
				why ? why : strerror(-err));
			failed = 1;
			continue;
		}
		fn(prog, user);
		shown++;
	}
	if (name && !shown && !failed) {
		fprintf(stderr, "bpfx: %s: no program named '%s'\n", path, name);
		failed = 1;
	}
	return failed;
}

struct bpfx_program *cli_open_program(const char *path, const char *name,
				      struct bpfx_object **objp)
{
	struct bpfx_object *obj = bpfx_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "bpfx: %s: cannot open: %s\n", path,
			strerror(errno));
		return NULL;
	}
	struct bpfx_program *prog = NULL, *p;
	if (name) {
		prog = bpfx_object__find_program_by_name(obj, name);
		if (!prog) {
			fprintf(stderr, "bpfx: %s: no program named '%s'\n",
				path, name);
			goto fail;
		}
	} else {
		int n = 0;
		bpfx_object__for_each_program(p, obj) {
			if (bpfx_program__autoload(p)) {
				prog = p;
				n++;
			}
		}
		if (n != 1) {
			fprintf(stderr,
				"bpfx: %s: %s; choose one with --prog NAME:\n",
				path, n ? "several programs" : "no program");
			bpfx_object__for_each_program(p, obj)
				fprintf(stderr, "  %s (%s)\n",
					bpfx_program__name(p),
					bpfx_program__section_name(p));
			goto fail;
		}
	}
	int err = bpfx_program__load(prog);
	if (err) {
		const char *why = bpfx_program__load_error(prog);
		fprintf(stderr, "bpfx: %s: program %s failed to load: %s\n",
			path, bpfx_program__name(prog),
			why ? why : strerror(-err));
		goto fail;
	}
	*objp = obj;
	return prog;
fail:
	bpfx_object__close(obj);
	return NULL;
}

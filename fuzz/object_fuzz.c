/*
 * Object fuzzer, as libbpf's: any bytes go through open, load and close.
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; built
 * without (-DSTANDALONE) its main() runs the files named on the command
 * line once each, so a corpus or a crash file replays anywhere.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpfx/bpfx.h"

static void quiet(enum bpfx_log_level level, const char *msg, void *user) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bpfx_set_log(quiet, NULL);
	struct bpfx_object *obj = bpfx_object__open_mem(data, size, NULL);
	if (obj) {
		bpfx_object__load(obj);
		bpfx_object__close(obj);
	}
	return 0;
}

#ifdef STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[1 << 22];
		size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("object_fuzz: %d input(s) ran\n", argc - 1);
	return 0;
}
#endif

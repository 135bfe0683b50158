/* Returns 0 at once: what an engine spends per run around the program
 * (entry, register and stack set-up, for bpfx also test_run's restoring of
 * the context buffer before each repeat). Not in the geometric mean. */
#include "common.h"

BENCH_PROG(empty, struct hash_input, in)
{
	return 0;
}

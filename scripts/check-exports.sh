#!/bin/sh
# The version script (src/libbpfx.map) lists exactly the functions the
# public header marks BPFX_API, and libbpfx.so exports exactly those.
# Usage: scripts/check-exports.sh build/libbpfx.so
set -e
so=$1
header=$(tr '\n' ' ' < include/bpfx/bpfx.h | grep -o 'BPFX_API[^;(]*(' |
	grep -v '^BPFX_API #define' | sed 's/.*[^a-z_0-9]\(bpfx_[a-z_0-9]*\) *($/\1/' | sort -u)
listed=$(grep -o 'bpfx_[a-z_0-9]*' src/libbpfx.map | sort -u)
exported=$(nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u)
status=0
[ "$header" = "$listed" ] || { echo "exports: src/libbpfx.map differs from bpfx.h:"; \
	printf '%s\n' "$header" > /tmp/h.$$; printf '%s\n' "$listed" | diff /tmp/h.$$ - ; rm -f /tmp/h.$$; status=1; }
[ "$header" = "$exported" ] || { echo "exports: $so differs from bpfx.h"; status=1; }
n=$(printf '%s\n' "$header" | wc -l)
if [ $status = 0 ]; then echo "exports: 1 passed, 0 failed ($n functions)"; else echo "exports: 0 passed, 1 failed"; fi
exit $status

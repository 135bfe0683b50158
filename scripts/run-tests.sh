#!/bin/sh
# Runs test binaries, each ending with "N passed, N failed", and prints the
# sum as one such line. Exits non-zero if any binary failed.
suite=$1; shift
passed=0; failed=0; status=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		printf '%s\n' "$out"
		echo "FAIL: $t (exit $rc)"
		status=1
	fi
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
	[ -z "$line" ] && failed=$((failed + 1))
done
echo "$suite: $passed passed, $failed failed"
exit $status

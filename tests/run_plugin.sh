#!/bin/sh
# Runs the conformance plugin (build/bpfx_conformance_plugin) the ways the
# BPF conformance suite's runners start it, on each engine:
#   current runner: [MEM] OPTION... (plugin options split at blanks)
#   older runner:   MEM OPTIONS     (always two arguments, either may be
#                                    empty, all the options in one)
# and checks what it prints and its exit status. Ends with
# "N passed, N failed"; exits 1 if something failed.
#
#     tests/run_plugin.sh PLUGIN
plugin=${1:?usage: $0 PLUGIN}
passed=0
failed=0

# ldxw r0, [r1]; add r0, r2; exit  -> the first word of memory + its length
prog='61 10 00 00 00 00 00 00 0f 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00'
# mov r0, 42; exit
prog42='b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00'
# the suite's spelling: two blanks after each byte
mem='01  02  03  04  05  06  07  08  '

# expect WANT_STATUS WANT_OUTPUT STDIN ARG... : one plugin run
expect() {
	want_status=$1 want_out=$2 input=$3
	shift 3
	out=$(printf '%s\n' "$input" | "$plugin" "$@" 2>&1)
	status=$?
	if [ "$status" -eq "$want_status" ] && [ "$out" = "$want_out" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		printf 'plugin'
		printf ' [%s]' "$@"
		printf ': expected exit %s and "%s", got exit %s and "%s"\n' \
			"$want_status" "$want_out" "$status" "$out"
	fi
}

for e in interp jit; do
	# current runner: memory, then each option word alone
	expect 0 4030209 "$prog" "$mem" --engine $e
	expect 0 2a "$prog42" --engine $e
	expect 0 4030209 "$prog" "$mem" --engine=$e
	# older runner: the options in one argument, the memory always there
	expect 0 4030209 "$prog" "$mem" "--engine $e"
	expect 0 2a "$prog42" "" "--engine $e"
	expect 0 2a "$prog42" "" " --engine  $e "
	# the program as an option, alone or with the others in one argument
	expect 0 4030209 "" "$mem" --engine $e --program "$prog"
	expect 0 4030209 "" "$mem" "--engine $e --program $prog"
done
expect 0 2a "$prog42" "" ""
expect 1 "invalid argument: --frob" "$prog42" "" "--engine jit --frob"
expect 1 "unknown engine: nope" "$prog42" "--engine nope"
expect 1 "invalid program byte: zz" "b7 zz 00" --engine interp
expect 1 "invalid memory byte: 1x" "$prog42" "01 1x" --engine interp
expect 1 "program size 3 is not a positive multiple of 8" "b7 00 00" ""

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

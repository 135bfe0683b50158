#!/bin/sh
# make fuzz: the object fuzzer for TIME seconds.
#   fuzz/run-object-fuzz.sh BUILD CLANG_BPF TIME
# The seed corpus is tests/progs compiled for BPF. With clang-19's
# libFuzzer (libclang-rt-19-dev) the library and fuzz/object_fuzz.c are
# built together with -fsanitize=fuzzer,address,undefined and fuzzed;
# without it the standalone build replays the seeds and tests/bad.
set -e
BUILD=$1 CLANG_BPF=$2 TIME=$3
DIR=$BUILD/fuzz
mkdir -p "$DIR/seeds" "$DIR/corpus"
for src in tests/progs/*.bpf.c; do
	obj=$DIR/seeds/$(basename "$src" .c).o
	[ "$obj" -nt "$src" ] || $CLANG_BPF -O2 -g -target bpf -mcpu=v4 \
		-Iinclude -I/usr/include/$(uname -m)-linux-gnu -c "$src" -o "$obj"
done
LIB_SRCS=$(ls src/*/*.c src/*/*/*.c | grep -v '^src/cli/')
if $CLANG_BPF -O1 -g -std=gnu11 -Iinclude -Isrc \
	-fsanitize=fuzzer,address,undefined -o "$DIR/object_libfuzzer" \
	fuzz/object_fuzz.c $LIB_SRCS -lelf -lbpf -lz -lcapstone -lpthread \
	2>"$DIR/libfuzzer-build.log"; then
	"$DIR/object_libfuzzer" -max_total_time="$TIME" -max_len=65536 \
		"$DIR/corpus" "$DIR/seeds"
else
	echo "object_fuzz: no libFuzzer here (see $DIR/libfuzzer-build.log);" \
	     "replaying the seeds"
	"$DIR/object_fuzz" "$DIR"/seeds/*.o "$BUILD"/bad/*.o
fi

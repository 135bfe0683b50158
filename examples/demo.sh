#!/bin/sh
# make demo: compiles examples/count_tcp.bpf.c with clang for the BPF
# target, as one would for the kernel, and runs it on bpfx with a TCP/IPv4
# packet to port 22, printing what it returned and the maps afterwards.
set -e
BPFX=${1:-build/bpfx}
CLANG=${2:-clang-19}
OUT=build/examples
mkdir -p $OUT
echo "== compiling examples/count_tcp.bpf.c ($CLANG -O2 -g -target bpf -mcpu=v4)"
$CLANG -O2 -g -target bpf -mcpu=v4 -I/usr/include/$(gcc -print-multiarch) \
	-c examples/count_tcp.bpf.c -o $OUT/count_tcp.bpf.o
echo "== bpfx progs"
$BPFX progs $OUT/count_tcp.bpf.o
# Ethernet (IPv4) + IPv4 header (proto 6) + TCP header to port 22.
printf '\000\001\002\003\004\005\000\006\007\010\011\012\010\000' > $OUT/packet.bin
printf '\105\000\000\050\000\001\000\000\100\006\000\000\012\000\000\001\012\000\000\002' >> $OUT/packet.bin
printf '\060\071\000\026\000\000\000\001\000\000\000\000\120\002\040\000\000\000\000\000' >> $OUT/packet.bin
echo "== bpfx run --prog count_tcp --data packet.bin --dump-maps"
echo "   (TC_ACT_SHOT = 2: the packet goes to port 22; proto_count[6] = 1)"
$BPFX run $OUT/count_tcp.bpf.o --prog count_tcp --data $OUT/packet.bin --dump-maps
echo "== bpfx diff: the interpreter, the JIT and (where bpf() is allowed) the host kernel"
$BPFX diff $OUT/count_tcp.bpf.o --data $OUT/packet.bin
echo "== the same, 100000 runs, as JSON (bpf_printk lines not shown)"
$BPFX run $OUT/count_tcp.bpf.o --prog count_tcp --data $OUT/packet.bin \
	--repeat 100000 --json 2>/dev/null

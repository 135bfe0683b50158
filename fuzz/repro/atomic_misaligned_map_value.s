# verifier: accepts a misaligned atomic on a map value (kernel: 'misaligned
# value access'); the engines stop with 'misaligned atomic access'.
stw [%r10-4], 0
lddw %r1, map_by_idx(0)
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, +2
mov %r1, 1
lock add32 [%r0+1], %r1
mov %r0, 0
exit

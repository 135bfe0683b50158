# verifier: a constant shift count >= 64 in a register makes the result 0;
# the engines shift by count & 63, so the dead branch runs (write through a scalar).
mov %r4, 1
mov %r7, 65
lsh %r4, %r7
jeq %r4, 0, +2
mov %r1, 0x1000
stdw [%r1+0], 1
mov %r0, 0
exit

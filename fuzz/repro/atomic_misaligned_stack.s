# verifier: accepts a misaligned atomic on the stack (kernel: 'misaligned
# stack access').
stdw [%r10-16], 0
mov %r1, 1
lock add32 [%r10-13], %r1
mov %r0, 0
exit

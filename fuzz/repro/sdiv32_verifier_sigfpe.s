# verifier: sdiv32 by a constant register whose low 32 bits are 0 divides
# by zero in the verifier itself (SIGFPE, src/verifier/verifier.c check_alu).
mov %r1, 7
lddw %r2, 0x100000000
sdiv32 %r1, %r2
mov %r0, 0
exit

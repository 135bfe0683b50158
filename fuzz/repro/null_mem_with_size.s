# A NULL memory argument is allowed only with a zero size, as in the
# kernel (it was accepted with any size: the helper then faulted).
mov %r1, 0
mov %r2, 8
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 0
exit

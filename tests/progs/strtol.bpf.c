// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_strtol and bpf_strtoul as the kernel's: blanks, a sign, the radix
 * (0 guesses from "0x" / "0"), the bytes used or -EINVAL / -ERANGE, the
 * result zeroed on error; the result pointer is 8 bytes the helper
 * writes, checked for alignment.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* (bytes used << 16) | (low 16 bits of the value), or the error */
static __always_inline long conv(const char *s, int n, __u64 flags, int sgn)
{
	char buf[16] = {};
	long res = 0, r;

	for (int i = 0; i < n && i < 15; i++)
		buf[i] = s[i];
	if (sgn)
		r = bpf_strtol(buf, n, flags, &res);
	else
		r = bpf_strtoul(buf, n, flags, (unsigned long *)&res);
	if (r < 0)
		return r;
	return (r << 16) | (res & 0xffff);
}

// TEST prog=st_dec retval=327803
SEC("syscall") int st_dec(void *c) { return conv("  123x", 6, 0, 1); }
// TEST prog=st_neg retval=262102
SEC("syscall") int st_neg(void *c) { return conv("-42", 3, 10, 1); }
// TEST prog=st_hex retval=262175
SEC("syscall") int st_hex(void *c) { return conv("0x1fZ", 5, 0, 0); }
// TEST prog=st_oct retval=196623
SEC("syscall") int st_oct(void *c) { return conv("017", 3, 0, 0); }
// TEST prog=st_negu retval=-22
SEC("syscall") int st_negu(void *c) { return conv("-5", 2, 0, 0); }
// TEST prog=st_nodigit retval=-22
SEC("syscall") int st_nodigit(void *c) { return conv("  xyz", 5, 0, 1); }
// TEST prog=st_badbase retval=-22
SEC("syscall") int st_badbase(void *c) { return conv("12", 2, 7, 1); }
// TEST prog=st_len retval=196731
SEC("syscall") int st_len(void *c) { return conv("12345", 3, 0, 1); }

// TEST prog=st_erange retval=1
SEC("syscall") int st_erange(void *c)
{
	char buf[24] = "18446744073709551616";
	unsigned long res = 7;
	long r = bpf_strtoul(buf, 20, 0, &res);

	return r == -34 && res == 0 ? 1 : 2;
}

// TEST prog=st_lmin retval=1
SEC("syscall") int st_lmin(void *c)
{
	char buf[24] = "-9223372036854775808";
	long res = 0;
	long r = bpf_strtol(buf, 20, 0, &res);

	return r == 20 && res == (-9223372036854775807L - 1) ? 1 : 2;
}

/* the result may be unwritten stack: the helper writes it */
// TEST prog=st_res_uninit retval=1
SEC("syscall")
__attribute__((naked)) int st_res_uninit(void *ctx)
{
	asm volatile("r7 = r10; r7 += -8; r0 = 0x00303036; *(u64 *)(r7 + 0) = r0;"
		     "r1 = r7; r2 = 4; r3 = 0; r7 += -8; r4 = r7;"
		     "call %[strtoul]; r0 = 1; exit;"
		     :: [strtoul] "i"(BPF_FUNC_strtoul) : "memory");
}

// TEST prog=st_res_misaligned error=misaligned__stack__access__off__0+-20+0__size__8
SEC("syscall")
__attribute__((naked)) int st_res_misaligned(void *ctx)
{
	asm volatile("r7 = r10; r7 += -8; r0 = 0x00303036; *(u64 *)(r7 + 0) = r0;"
		     "r1 = r7; r2 = 4; r3 = 0; r7 += -12; r0 = 0;"
		     "*(u32 *)(r7 + 0) = r0; *(u64 *)(r7 + 4) = r0; r4 = r7;"
		     "call %[strtoul]; r0 = 1; exit;"
		     :: [strtoul] "i"(BPF_FUNC_strtoul) : "memory");
}

// TEST prog=st_res_short error=invalid__write__to__stack__R4__off=-4__size=8
SEC("syscall")
__attribute__((naked)) int st_res_short(void *ctx)
{
	asm volatile("r7 = r10; r7 += -16; r0 = 0x00303036; *(u64 *)(r7 + 0) = r0;"
		     "r1 = r7; r2 = 4; r3 = 0; r7 += 12; *(u32 *)(r7 + 0) = r0;"
		     "r4 = r7; call %[strtoul]; r0 = 1; exit;"
		     :: [strtoul] "i"(BPF_FUNC_strtoul) : "memory");
}

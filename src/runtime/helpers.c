/*
 * BPF helper functions, under their kernel numbers (BPF_FUNC_*), with the
 * kernel's semantics and return codes.
 *
 * Each helper also does at run time what the verifier proves at load
 * time, so a program the verifier wrongly accepted is still stopped:
 * every pointer argument goes
 * through run_mem() for the size and access the helper's prototype
 * declares, every map argument through run_map() and a type check.
 * A failed check is what the verifier would have rejected: the helper
 * calls run_fail() ("helper bpf_xxx: arg N: ...") and the engine stops the
 * program. Conditions the kernel reports at run time (a bad flag, a
 * format the printk family refuses) are returned to the program as the
 * kernel's negative errno.
 *
 * The probe_read family works like the kernel's *_nofault copies, but
 * confined to the memory the run may read: anything else (the host's own
 * memory) yields -EFAULT and a zeroed destination, as a faulting kernel
 * read does, so a program cannot read the process it runs in.
 *
 * bprintf_format() implements bpf_bprintf_prepare() + bstr_printf(): the
 * first pass checks the format exactly as the kernel does and copies the
 * arguments (strings are probe-read into a 512-byte area, like the
 * kernel's bin_args, which bounds them the same way); the second pass
 * prints, applying flags and width by hand so that a huge width cannot
 * make the host's printf fail.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define BPF_MAX_LOOPS (8 * 1024 * 1024)
#define MAX_BPRINTF_VARARGS 12
#define MAX_BPRINTF_BIN_ARGS 512
#define MAX_BPRINTF_BUF 1024
#define MAX_TRACE_PRINTK_VARARGS 3
#define FIELD_WIDTH_MAX ((1 << 23) - 1)
/* The longest string bpfx scans for a NUL where the kernel's verifier
 * would have found one inside a read-only map value. */
#define CONST_STR_MAX (1u << 20)

#define HELPER_FAIL(run, err, ...)                                             \
	return (u64)(s64)run_fail((run), (err), __VA_ARGS__)

/* ---- probe reads ---- */

/* copy_from_kernel_nofault(), confined: bpfx programs may read only what
 * the run may read (its stack, context, packet and live map storage), so a
 * probe read of anything else -- the host's heap, its libraries, bpfx's own
 * structures -- fails with -EFAULT as a faulting kernel read does. All or
 * nothing; RUN may be NULL (then nothing is readable). */
static int probe_copy(struct bpfx_run *run, void *dst, u64 src, u64 size)
{
	const void *p = run && size ? run_mem(run, src, size, MEM_READ) : NULL;

	if (!size)
		return 0;
	if (!p)
		return -EFAULT;
	memcpy(dst, p, size);
	return 0;
}

/* strncpy_from_kernel_nofault(): the length copied including the NUL;
 * SIZE when the string is longer (SIZE - 1 bytes and a NUL); -EFAULT when
 * readable memory ends first (the copy so far is NUL-terminated). */
static long probe_copy_str(struct bpfx_run *run, char *dst, u64 src,
			   u64 size)
{
	if (!size)
		return 0;
	for (u64 i = 0; i < size - 1; i++) {
		const char *p = run && src + i >= src
					? run_mem(run, src + i, 1, MEM_READ)
					: NULL;
		if (!p) {
			dst[i] = 0;
			return -EFAULT;
		}
		dst[i] = *p;
		if (!*p)
			return (long)i + 1;
	}
	dst[size - 1] = 0;
	return (long)size;
}

/* The length of the NUL-terminated string at ADDR, all of it in memory
 * the run may read (what ARG_PTR_TO_CONST_STR guarantees), or -EFAULT. */
static long run_strlen(struct bpfx_run *run, u64 addr)
{
	for (u64 i = 0; i < CONST_STR_MAX; i++) {
		const char *p = run_mem(run, addr + i, 1, MEM_READ);
		if (!p)
			return -EFAULT;
		if (!*p)
			return (long)i;
	}
	return -E2BIG;
}

/* ---- bprintf: bpf_bprintf_prepare() + bstr_printf() ---- */

enum spec_kind {
	SPEC_INT,     /* d i u x X, 4 or 8 bytes */
	SPEC_CHAR,    /* c */
	SPEC_STR,     /* s: a string, width applies */
	SPEC_PTR,     /* p pK px: the value in hex */
	SPEC_SYM,     /* ps pS: "0x..." (no symbols in user space) */
	SPEC_RAWSTR,  /* pks pus pI4 pi4 pI6 pi6 pB: pre-formatted, no width */
};

#define FL_ZERO 1
#define FL_PLUS 2
#define FL_MINUS 4
#define FL_SPACE 8

struct bprintf_spec {
	size_t start, end; /* the conversion in fmt, [start, end) */
	enum spec_kind kind;
	u8 flags;
	u8 size;
	char conv; /* d i u x X c s p */
	int width; /* -1: none */
	u64 val;
	const char *str;
};

struct fmt_out {
	char *buf;
	size_t size;
	size_t len; /* what would have been written */
};

static void out_put(struct fmt_out *o, const char *s, size_t n)
{
	if (o->size && o->len < o->size - 1) {
		size_t room = o->size - 1 - o->len;
		memcpy(o->buf + o->len, s, MIN(n, room));
	}
	o->len += n;
}

static void out_pad(struct fmt_out *o, char c, size_t n)
{
	if (o->size && o->len < o->size - 1) {
		size_t room = o->size - 1 - o->len;
		memset(o->buf + o->len, c, MIN(n, room));
	}
	o->len += n;
}

static bool fmt_char_ok(char c)
{
	/* isprint || isspace, in ASCII */
	return (c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\n' ||
	       c == '\v' || c == '\f' || c == '\r';
}

static bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_punct(char c)
{
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') ||
	       (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

static void format_ip(char *out, size_t out_sz, const u8 *ip, char kind,
		      char ver)
{
	if (ver == '4') {
		snprintf(out, out_sz,
			 kind == 'i' ? "%03u.%03u.%03u.%03u" : "%u.%u.%u.%u",
			 ip[0], ip[1], ip[2], ip[3]);
		return;
	}
	size_t n = 0;
	for (int i = 0; i < 16; i += 2) {
		n += (size_t)snprintf(out + n, out_sz - n,
				      kind == 'I' && i ? ":%02x%02x"
						       : "%02x%02x",
				      ip[i], ip[i + 1]);
	}
}

/* Pass 1: the kernel's bpf_bprintf_prepare(). */
static int bprintf_parse(struct bpfx_run *run, const char *fmt,
			 size_t fmt_len, const u64 *args, size_t args_cnt,
			 struct bprintf_spec *specs, size_t *spec_cnt,
			 char *bin)
{
	size_t bin_used = 0, n = 0;

	for (size_t i = 0; i < fmt_len; i++) {
		struct bprintf_spec *sp;

		if (!fmt_char_ok(fmt[i]))
			return -EINVAL;
		if (fmt[i] != '%')
			continue;
		if (fmt[i + 1] == '%') {
			i++;
			continue;
		}
		if (n >= args_cnt)
			return -EINVAL;
		sp = &specs[n];
		memset(sp, 0, sizeof(*sp));
		sp->start = i;
		sp->width = -1;
		sp->val = args[n];
		i++;
		/* "[0 +-][num]" */
		for (;; i++) {
			if (fmt[i] == '0')
				sp->flags |= FL_ZERO;
			else if (fmt[i] == '+')
				sp->flags |= FL_PLUS;
			else if (fmt[i] == '-')
				sp->flags |= FL_MINUS;
			else if (fmt[i] == ' ')
				sp->flags |= FL_SPACE;
			else
				break;
		}
		if (fmt[i] >= '1' && fmt[i] <= '9') {
			long w = 0;
			while (fmt[i] >= '0' && fmt[i] <= '9') {
				w = MIN(w * 10 + (fmt[i] - '0'),
					(long)FIELD_WIDTH_MAX);
				i++;
			}
			sp->width = (int)w;
		}

		if (fmt[i] == 'p') {
			char next = fmt[i + 1];

			sp->conv = 'p';
			sp->size = 8;
			if ((next == 'k' || next == 'u') && fmt[i + 2] == 's') {
				i += 2;
				goto fmt_str;
			}
			if (next == 0 || is_space(next) || is_punct(next) ||
			    next == 'K' || next == 'x' || next == 's' ||
			    next == 'S') {
				sp->kind = (next == 's' || next == 'S')
						   ? SPEC_SYM
						   : SPEC_PTR;
				/* a following space or punctuation is text */
				sp->end = (next == 'K' || next == 'x' ||
					   next == 's' || next == 'S')
						  ? i + 2
						  : i + 1;
				i++;
				goto put_arg;
			}
			if (next == 'B') {
				int w;

				if (bin_used >= MAX_BPRINTF_BIN_ARGS)
					return -ENOSPC;
				w = snprintf(bin + bin_used,
					     MAX_BPRINTF_BIN_ARGS - bin_used,
					     "0x%llx",
					     (unsigned long long)sp->val);
				sp->kind = SPEC_RAWSTR;
				sp->str = bin + bin_used;
				bin_used = MIN(bin_used + (size_t)w + 1,
					       (size_t)MAX_BPRINTF_BIN_ARGS);
				i++;
				sp->end = i + 1;
				n++;
				continue;
			}
			/* only "%pI4", "%pi4", "%pI6" and "%pi6" */
			if ((next != 'i' && next != 'I') ||
			    (fmt[i + 2] != '4' && fmt[i + 2] != '6'))
				return -EINVAL;
			{
				size_t ip_size = fmt[i + 2] == '4' ? 4 : 16;
				u8 ip[16];
				char text[48];
				size_t len;

				if (MAX_BPRINTF_BIN_ARGS - bin_used < ip_size)
					return -ENOSPC;
				if (probe_copy(run, ip, sp->val, ip_size))
					memset(ip, 0, ip_size);
				format_ip(text, sizeof(text), ip, next,
					  fmt[i + 2]);
				len = strlen(text);
				len = MIN(len, MAX_BPRINTF_BIN_ARGS - bin_used -
						       1);
				memcpy(bin + bin_used, text, len);
				bin[bin_used + len] = 0;
				sp->kind = SPEC_RAWSTR;
				sp->str = bin + bin_used;
				bin_used += len + 1;
				i += 2;
				sp->end = i + 1;
				n++;
				continue;
			}
		} else if (fmt[i] == 's') {
			long got;

			sp->conv = 's';
fmt_str:
			if (fmt[i + 1] != 0 && !is_space(fmt[i + 1]) &&
			    !is_punct(fmt[i + 1]))
				return -EINVAL;
			if (bin_used == MAX_BPRINTF_BIN_ARGS)
				return -ENOSPC;
			got = probe_copy_str(run, bin + bin_used, sp->val,
					     MAX_BPRINTF_BIN_ARGS - bin_used);
			if (got < 0) {
				bin[bin_used] = 0;
				got = 1;
			}
			sp->kind = sp->conv == 's' ? SPEC_STR : SPEC_RAWSTR;
			sp->str = bin + bin_used;
			bin_used += (size_t)got;
			sp->end = i + 1;
			n++;
			continue;
		} else if (fmt[i] == 'c') {
			if (bin_used == MAX_BPRINTF_BIN_ARGS)
				return -ENOSPC;
			bin_used++;
			sp->kind = SPEC_CHAR;
			sp->conv = 'c';
			sp->end = i + 1;
			n++;
			continue;
		} else {
			sp->size = 4;
			if (fmt[i] == 'l') {
				sp->size = 8;
				i++;
			}
			if (fmt[i] == 'l')
				i++;
			if (fmt[i] != 'i' && fmt[i] != 'd' && fmt[i] != 'u' &&
			    fmt[i] != 'x' && fmt[i] != 'X')
				return -EINVAL;
			sp->kind = SPEC_INT;
			sp->conv = fmt[i];
			sp->end = i + 1;
		}
put_arg:
		bin_used = ROUND_UP(bin_used, 4);
		if (bin_used > MAX_BPRINTF_BIN_ARGS ||
		    MAX_BPRINTF_BIN_ARGS - bin_used < sp->size)
			return -ENOSPC;
		bin_used += sp->size;
		if (sp->size == 4)
			sp->val = (u32)sp->val;
		n++;
	}
	*spec_cnt = n;
	return 0;
}

/* Text between conversions, with "%%" printed as "%". */
static void put_literal(struct fmt_out *o, const char *s, size_t n)
{
	size_t from = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 1 < n && s[i + 1] == '%') {
			out_put(o, s + from, i + 1 - from);
			i++;
			from = i + 1;
		}
	}
	out_put(o, s + from, n - from);
}

/* Pads TEXT to the spec's width; zero padding goes after the sign. */
static void put_padded(struct fmt_out *o, const struct bprintf_spec *sp,
		       const char *text, size_t len, bool numeric)
{
	size_t width = sp->width < 0 ? 0 : (size_t)sp->width;
	size_t pad = width > len ? width - len : 0;

	if (sp->flags & FL_MINUS) {
		out_put(o, text, len);
		out_pad(o, ' ', pad);
	} else if (numeric && (sp->flags & FL_ZERO)) {
		if (len && (text[0] == '-' || text[0] == '+' ||
			    text[0] == ' ')) {
			out_put(o, text, 1);
			text++;
			len--;
		}
		out_pad(o, '0', pad);
		out_put(o, text, len);
	} else {
		out_pad(o, ' ', pad);
		out_put(o, text, len);
	}
}

static void put_spec(struct fmt_out *o, const struct bprintf_spec *sp)
{
	char num[48];
	int len = 0;

	switch (sp->kind) {
	case SPEC_INT:
		if (sp->conv == 'd' || sp->conv == 'i') {
			long long v = sp->size == 4 ? (long long)(s32)sp->val
						    : (long long)sp->val;
			const char *sign = v < 0		 ? ""
					   : sp->flags & FL_PLUS ? "+"
					   : sp->flags & FL_SPACE ? " "
								  : "";
			len = snprintf(num, sizeof(num), "%s%lld", sign, v);
		} else {
			const char *f = sp->conv == 'u'	  ? "%llu"
					: sp->conv == 'x' ? "%llx"
							  : "%llX";
			len = snprintf(num, sizeof(num), f,
				       (unsigned long long)sp->val);
		}
		put_padded(o, sp, num, (size_t)len, true);
		break;
	case SPEC_CHAR:
		num[0] = (char)sp->val;
		put_padded(o, sp, num, 1, false);
		break;
	case SPEC_STR:
		put_padded(o, sp, sp->str, strlen(sp->str), false);
		break;
	case SPEC_RAWSTR:
		out_put(o, sp->str, strlen(sp->str));
		break;
	case SPEC_PTR:
		if (sp->width < 0)
			len = snprintf(num, sizeof(num), "%016llx",
				       (unsigned long long)sp->val);
		else
			len = snprintf(num, sizeof(num), "%llx",
				       (unsigned long long)sp->val);
		put_padded(o, sp, num, (size_t)len, true);
		break;
	case SPEC_SYM:
		len = snprintf(num, sizeof(num), "0x%llx",
			       (unsigned long long)sp->val);
		put_padded(o, sp, num, (size_t)len, false);
		break;
	}
}

int bprintf_format(struct bpfx_run *run, char *out, size_t out_sz,
		   const char *fmt, size_t fmt_size, const u64 *args,
		   size_t args_cnt)
{
	struct bprintf_spec specs[MAX_BPRINTF_VARARGS];
	char bin[MAX_BPRINTF_BIN_ARGS];
	struct fmt_out o = { out, out_sz, 0 };
	const char *fmt_end;
	size_t spec_cnt = 0, pos = 0;
	int err;

	if (!fmt || args_cnt > MAX_BPRINTF_VARARGS || (args_cnt && !args))
		return -EINVAL;
	fmt_end = memchr(fmt, 0, fmt_size);
	if (!fmt_end)
		return -EINVAL;
	err = bprintf_parse(run, fmt, (size_t)(fmt_end - fmt), args, args_cnt,
			    specs, &spec_cnt, bin);
	if (err)
		return err;

	for (size_t i = 0; i < spec_cnt; i++) {
		put_literal(&o, fmt + pos, specs[i].start - pos);
		put_spec(&o, &specs[i]);
		pos = specs[i].end;
	}
	put_literal(&o, fmt + pos, (size_t)(fmt_end - fmt) - pos);
	if (out_sz)
		out[MIN(o.len, out_sz - 1)] = 0;
	return o.len > INT_MAX ? INT_MAX : (int)o.len;
}

/* Sends one bpf_trace_printk line to the log, without its final newline
 * (the log is line-based already). */
static void trace_emit(char *line)
{
	size_t len = strlen(line);

	if (len && line[len - 1] == '\n')
		line[len - 1] = 0;
	pr_log(BPFX_LOG_INFO, "trace: %s", line);
}

static u64 bpf_trace_printk(struct bpfx_run *run, u64 fmt, u64 fmt_size,
			    u64 arg1, u64 arg2, u64 arg3)
{
	u64 args[MAX_TRACE_PRINTK_VARARGS] = { arg1, arg2, arg3 };
	char buf[MAX_BPRINTF_BUF];
	const char *f;
	int ret;

	fmt_size = (u32)fmt_size;
	if (!fmt_size)
		HELPER_FAIL(run, -EINVAL,
			    "helper bpf_trace_printk: arg 2: size is 0");
	f = run_mem(run, fmt, fmt_size, MEM_READ);
	if (!f)
		HELPER_FAIL(run, -EFAULT,
			    "helper bpf_trace_printk: arg 1: fmt %#llx of %llu bytes is not readable",
			    (unsigned long long)fmt,
			    (unsigned long long)fmt_size);
	ret = bprintf_format(run, buf, sizeof(buf), f, fmt_size, args,
			     MAX_TRACE_PRINTK_VARARGS);
	if (ret < 0)
		return (u64)(s64)ret;
	trace_emit(buf);
	return (u64)ret;
}

/* Reads the u64 argument array of bpf_snprintf / bpf_trace_vprintk. */
static int varargs_get(struct bpfx_run *run, const char *helper, int argno,
		       u64 data, u64 data_len, u64 *args, size_t *cnt)
{
	const void *p = NULL;

	if (data && data_len) {
		p = run_mem(run, data, data_len, MEM_READ);
		if (!p)
			return run_fail(run, -EFAULT,
					"helper %s: arg %d: %llu bytes at %#llx are not readable",
					helper, argno,
					(unsigned long long)data_len,
					(unsigned long long)data);
	}
	if (data_len % 8 || data_len > MAX_BPRINTF_VARARGS * 8 ||
	    (data_len && !data))
		return -EINVAL;
	if (data_len)
		memcpy(args, p, data_len);
	*cnt = data_len / 8;
	return 0;
}

static u64 bpf_trace_vprintk(struct bpfx_run *run, u64 fmt, u64 fmt_size,
			     u64 data, u64 data_len, u64 r5)
{
	u64 args[MAX_BPRINTF_VARARGS];
	char buf[MAX_BPRINTF_BUF];
	const char *f;
	size_t cnt = 0;
	int ret;

	fmt_size = (u32)fmt_size;
	if (!fmt_size)
		HELPER_FAIL(run, -EINVAL,
			    "helper bpf_trace_vprintk: arg 2: size is 0");
	f = run_mem(run, fmt, fmt_size, MEM_READ);
	if (!f)
		HELPER_FAIL(run, -EFAULT,
			    "helper bpf_trace_vprintk: arg 1: fmt %#llx of %llu bytes is not readable",
			    (unsigned long long)fmt,
			    (unsigned long long)fmt_size);
	ret = varargs_get(run, "bpf_trace_vprintk", 3, data, (u32)data_len,
			  args, &cnt);
	if (ret)
		return (u64)(s64)ret;
	ret = bprintf_format(run, buf, sizeof(buf), f, fmt_size, args, cnt);
	if (ret < 0)
		return (u64)(s64)ret;
	trace_emit(buf);
	return (u64)ret;
}

static u64 bpf_snprintf(struct bpfx_run *run, u64 str, u64 str_size,
			u64 fmt, u64 data, u64 data_len)
{
	u64 args[MAX_BPRINTF_VARARGS];
	char *out = NULL;
	long fmt_len;
	size_t cnt = 0;
	int ret;

	str_size = (u32)str_size;
	if (str_size) {
		out = run_mem(run, str, str_size, MEM_WRITE);
		if (!out)
			HELPER_FAIL(run, -EFAULT,
				    "helper bpf_snprintf: arg 1: %llu bytes at %#llx are not writable",
				    (unsigned long long)str_size,
				    (unsigned long long)str);
	}
	fmt_len = run_strlen(run, fmt);
	if (fmt_len < 0)
		HELPER_FAIL(run, -EFAULT,
			    "helper bpf_snprintf: arg 3: fmt %#llx is not a NUL-terminated string in readable memory",
			    (unsigned long long)fmt);
	ret = varargs_get(run, "bpf_snprintf", 4, data, (u32)data_len, args,
			  &cnt);
	if (ret)
		return (u64)(s64)ret;
	ret = bprintf_format(run, out, str_size,
			     (const char *)(uintptr_t)fmt, (size_t)fmt_len + 1,
			     args, cnt);
	if (ret < 0)
		return (u64)(s64)ret;
	return (u64)ret + 1;
}

/* ---- maps ---- */

static struct bpfx_map *helper_map(struct bpfx_run *run, u64 ptr,
				   const char *helper, int argno)
{
	struct bpfx_map *map = run_map(run, ptr);
	if (!map)
		run_fail(run, -EINVAL, "helper %s: arg %d: %#llx is not a map",
			 helper, argno, (unsigned long long)ptr);
	return map;
}

/* The element helpers a program may call on a map of this type, as the
 * verifier's check_map_func_compatibility() allows. */
static bool map_allows_elem_op(const struct bpfx_map *map, bool write)
{
	switch (map->type) {
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_USER_RINGBUF:
	case BPF_MAP_TYPE_STACK_TRACE:
	case BPF_MAP_TYPE_CGROUP_ARRAY:
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK:
	case BPF_MAP_TYPE_BLOOM_FILTER:
		return false;
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return !write;
	default:
		return true;
	}
}

static const void *helper_key(struct bpfx_run *run, struct bpfx_map *map,
			      u64 key, const char *helper)
{
	const void *p = run_mem(run, key, map->key_size, MEM_READ);

	if (!p && map->key_size)
		run_fail(run, -EFAULT,
			 "helper %s: arg 2: key %#llx (%u bytes) is not readable",
			 helper, (unsigned long long)key, map->key_size);
	return p;
}

static u64 bpf_map_lookup_elem(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			       u64 r4, u64 r5)
{
	static const char name[] = "bpf_map_lookup_elem";
	struct bpfx_map *map = helper_map(run, r1, name, 1);
	const void *key;

	if (!map)
		return 0;
	if (!map_allows_elem_op(map, false) || !map->ops->lookup)
		HELPER_FAIL(run, -EINVAL,
			    "helper %s: arg 1: map %s of type %s cannot be looked up from a program",
			    name, map->name, map_type_name(map->type));
	key = helper_key(run, map, r2, name);
	if (!key && map->key_size)
		return 0;
	return (u64)(uintptr_t)map->ops->lookup(map, key, run->cpu);
}

static u64 bpf_map_update_elem(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			       u64 r4, u64 r5)
{
	static const char name[] = "bpf_map_update_elem";
	struct bpfx_map *map = helper_map(run, r1, name, 1);
	const void *key, *value;

	if (!map)
		return 0;
	if (!map_allows_elem_op(map, true) || !map->ops->update)
		HELPER_FAIL(run, -EINVAL,
			    "helper %s: arg 1: map %s of type %s cannot be updated from a program",
			    name, map->name, map_type_name(map->type));
	if (map->rdonly_prog)
		HELPER_FAIL(run, -EACCES,
			    "helper %s: arg 1: map %s is read-only for programs",
			    name, map->name);
	key = helper_key(run, map, r2, name);
	if (!key && map->key_size)
		return 0;
	value = run_mem(run, r3, map->value_size, MEM_READ);
	if (!value)
		HELPER_FAIL(run, -EFAULT,
			    "helper %s: arg 3: value %#llx (%u bytes) is not readable",
			    name, (unsigned long long)r3, map->value_size);
	return (u64)(s64)map->ops->update(map, key, value, r4, run->cpu);
}

static u64 bpf_map_delete_elem(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			       u64 r4, u64 r5)
{
	static const char name[] = "bpf_map_delete_elem";
	struct bpfx_map *map = helper_map(run, r1, name, 1);
	const void *key;

	if (!map)
		return 0;
	if (!map_allows_elem_op(map, true) || !map->ops->delete)
		HELPER_FAIL(run, -EINVAL,
			    "helper %s: arg 1: map %s of type %s cannot be deleted from a program",
			    name, map->name, map_type_name(map->type));
	if (map->rdonly_prog)
		HELPER_FAIL(run, -EACCES,
			    "helper %s: arg 1: map %s is read-only for programs",
			    name, map->name);
	key = helper_key(run, map, r2, name);
	if (!key && map->key_size)
		return 0;
	return (u64)(s64)map->ops->delete(map, key);
}

/* ---- tail calls ---- */

struct bpfx_program *tail_call_target(struct bpfx_run *run, u64 map_ptr,
				      u64 index)
{
	struct bpfx_map *map = run_map(run, map_ptr);
	struct bpfx_program *target;

	if (!map) {
		run_fail(run, -EINVAL,
			 "helper bpf_tail_call: arg 2: %#llx is not a map",
			 (unsigned long long)map_ptr);
		return NULL;
	}
	if (map->type != BPF_MAP_TYPE_PROG_ARRAY) {
		run_fail(run, -EINVAL,
			 "helper bpf_tail_call: arg 2: map %s is a %s, not a prog_array",
			 map->name, map_type_name(map->type));
		return NULL;
	}
	if ((u32)index >= map->max_entries)
		return NULL;
	if (run->tail_call_cnt >= BPFX_MAX_TAIL_CALLS)
		return NULL;
	/* as the kernel's JIT (the interpreter counts first): only a call
	 * to a taken slot counts towards the limit */
	target = prog_array_get(map, (u32)index);
	if (!target)
		return NULL;
	run->tail_call_cnt++;
	return target;
}

/* The engine performs the call itself, through tail_call_target(). */
static u64 bpf_tail_call(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			 u64 r4, u64 r5)
{
	return 0;
}

/* ---- probe reads ---- */

static void *probe_dst(struct bpfx_run *run, u64 dst, u64 size,
		       const char *helper)
{
	void *p = run_mem(run, dst, size, MEM_WRITE);

	if (!p)
		run_fail(run, -EFAULT,
			 "helper %s: arg 1: %llu bytes at %#llx are not writable",
			 helper, (unsigned long long)size,
			 (unsigned long long)dst);
	return p;
}

static u64 probe_read_common(struct bpfx_run *run, u64 dst, u64 size,
			     u64 src, const char *helper)
{
	void *d;
	int err;

	size = (u32)size;
	if (!size)
		return 0;
	d = probe_dst(run, dst, size, helper);
	if (!d)
		return 0;
	err = probe_copy(run, d, src, size);
	if (err)
		memset(d, 0, size);
	return (u64)(s64)err;
}

static u64 probe_read_str_common(struct bpfx_run *run, u64 dst, u64 size,
				 u64 src, const char *helper)
{
	void *d;
	long ret;

	size = (u32)size;
	if (!size)
		return 0;
	d = probe_dst(run, dst, size, helper);
	if (!d)
		return 0;
	ret = probe_copy_str(run, d, src, size);
	if (ret < 0)
		memset(d, 0, size);
	return (u64)(s64)ret;
}

static u64 bpf_probe_read_kernel(struct bpfx_run *run, u64 dst, u64 size,
				 u64 src, u64 r4, u64 r5)
{
	return probe_read_common(run, dst, size, src, "bpf_probe_read_kernel");
}

static u64 bpf_probe_read_user(struct bpfx_run *run, u64 dst, u64 size,
			       u64 src, u64 r4, u64 r5)
{
	return probe_read_common(run, dst, size, src, "bpf_probe_read_user");
}

static u64 bpf_probe_read(struct bpfx_run *run, u64 dst, u64 size, u64 src,
			  u64 r4, u64 r5)
{
	return probe_read_common(run, dst, size, src, "bpf_probe_read");
}

static u64 bpf_probe_read_kernel_str(struct bpfx_run *run, u64 dst, u64 size,
				     u64 src, u64 r4, u64 r5)
{
	return probe_read_str_common(run, dst, size, src,
				     "bpf_probe_read_kernel_str");
}

static u64 bpf_probe_read_user_str(struct bpfx_run *run, u64 dst, u64 size,
				   u64 src, u64 r4, u64 r5)
{
	return probe_read_str_common(run, dst, size, src,
				     "bpf_probe_read_user_str");
}

static u64 bpf_probe_read_str(struct bpfx_run *run, u64 dst, u64 size,
			      u64 src, u64 r4, u64 r5)
{
	return probe_read_str_common(run, dst, size, src, "bpf_probe_read_str");
}

/* ---- time, randomness, identity ---- */

static u64 clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

static u64 bpf_ktime_get_ns(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			    u64 r4, u64 r5)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static u64 bpf_ktime_get_boot_ns(struct bpfx_run *run, u64 r1, u64 r2,
				 u64 r3, u64 r4, u64 r5)
{
	return clock_ns(CLOCK_BOOTTIME);
}

/* A per-thread splitmix64 stream, seeded from getrandom(). */
static __thread u64 prandom_state;
static __thread bool prandom_seeded;

static u64 bpf_get_prandom_u32(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			       u64 r4, u64 r5)
{
	u64 z;

	if (!prandom_seeded) {
		if (getrandom(&prandom_state, sizeof(prandom_state), 0) !=
		    sizeof(prandom_state))
			prandom_state = clock_ns(CLOCK_MONOTONIC) ^
					((u64)syscall(SYS_gettid) << 32);
		prandom_seeded = true;
	}
	z = (prandom_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (u32)(z >> 32);
}

static u64 bpf_get_smp_processor_id(struct bpfx_run *run, u64 r1, u64 r2,
				    u64 r3, u64 r4, u64 r5)
{
	return (u32)run->cpu;
}

static u64 bpf_get_current_pid_tgid(struct bpfx_run *run, u64 r1, u64 r2,
				    u64 r3, u64 r4, u64 r5)
{
	u64 tgid = (u32)getpid();
	u64 tid = (u32)syscall(SYS_gettid);

	return tgid << 32 | tid;
}

static u64 bpf_get_current_uid_gid(struct bpfx_run *run, u64 r1, u64 r2,
				   u64 r3, u64 r4, u64 r5)
{
	return (u64)getgid() << 32 | (u32)getuid();
}

static u64 bpf_get_current_comm(struct bpfx_run *run, u64 buf, u64 size,
				u64 r3, u64 r4, u64 r5)
{
	char comm[17] = { 0 };
	char *d;

	size = (u32)size;
	if (!size)
		HELPER_FAIL(run, -EINVAL,
			    "helper bpf_get_current_comm: arg 2: size is 0");
	d = run_mem(run, buf, size, MEM_WRITE);
	if (!d)
		HELPER_FAIL(run, -EFAULT,
			    "helper bpf_get_current_comm: arg 1: %llu bytes at %#llx are not writable",
			    (unsigned long long)size,
			    (unsigned long long)buf);
	if (prctl(PR_GET_NAME, comm) != 0)
		comm[0] = 0;
	/* strscpy_pad() */
	memset(d, 0, size);
	memcpy(d, comm, MIN(strlen(comm), (size_t)size - 1));
	return 0;
}

/* ---- packets and checksums ---- */

static bool prog_has_skb(const struct bpfx_run *run)
{
	if (!run->prog)
		return true;
	switch (run->prog->type) {
	case BPF_PROG_TYPE_SOCKET_FILTER:
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_LWT_IN:
	case BPF_PROG_TYPE_LWT_OUT:
	case BPF_PROG_TYPE_LWT_XMIT:
	case BPF_PROG_TYPE_LWT_SEG6LOCAL:
	case BPF_PROG_TYPE_SK_SKB:
	case BPF_PROG_TYPE_FLOW_DISSECTOR:
		return true;
	default:
		return false;
	}
}

static u64 bpf_skb_load_bytes(struct bpfx_run *run, u64 skb, u64 offset,
			      u64 to, u64 len, u64 r5)
{
	static const char name[] = "bpf_skb_load_bytes";
	u64 pkt_len = run->pkt.hi - run->pkt.lo;
	void *d;

	if (!prog_has_skb(run) || skb != run->ctx.lo || !run->ctx.hi)
		HELPER_FAIL(run, -EINVAL,
			    "helper %s: arg 1: %#llx is not the program's sk_buff context",
			    name, (unsigned long long)skb);
	offset = (u32)offset;
	len = (u32)len;
	if (!len)
		HELPER_FAIL(run, -EINVAL, "helper %s: arg 4: size is 0",
			    name);
	d = run_mem(run, to, len, MEM_WRITE);
	if (!d)
		HELPER_FAIL(run, -EFAULT,
			    "helper %s: arg 3: %llu bytes at %#llx are not writable",
			    name, (unsigned long long)len,
			    (unsigned long long)to);
	if (offset > INT_MAX || offset > pkt_len || len > pkt_len - offset) {
		memset(d, 0, len);
		return (u64)(s64)-EFAULT;
	}
	memmove(d, (const void *)(uintptr_t)(run->pkt.lo + offset), len);
	return 0;
}

static u64 bpf_skb_store_bytes(struct bpfx_run *run, u64 skb, u64 offset,
			       u64 from, u64 len, u64 flags)
{
	static const char name[] = "bpf_skb_store_bytes";
	u64 pkt_len = run->pkt.hi - run->pkt.lo;
	const void *s;

	if (!prog_has_skb(run) || skb != run->ctx.lo || !run->ctx.hi)
		HELPER_FAIL(run, -EINVAL,
			    "helper %s: arg 1: %#llx is not the program's sk_buff context",
			    name, (unsigned long long)skb);
	if (!run->pkt.writable)
		HELPER_FAIL(run, -EACCES,
			    "helper %s: this program type cannot write the packet",
			    name);
	offset = (u32)offset;
	len = (u32)len;
	if (!len)
		HELPER_FAIL(run, -EINVAL, "helper %s: arg 4: size is 0",
			    name);
	s = run_mem(run, from, len, MEM_READ);
	if (!s)
		HELPER_FAIL(run, -EFAULT,
			    "helper %s: arg 3: %llu bytes at %#llx are not readable",
			    name, (unsigned long long)len,
			    (unsigned long long)from);
	if (flags & ~(u64)(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH))
		return (u64)(s64)-EINVAL;
	if (offset > INT_MAX || offset + len > pkt_len)
		return (u64)(s64)-EFAULT;
	/* bpfx keeps no skb checksum or hash: both flags change nothing */
	memmove((void *)(uintptr_t)(run->pkt.lo + offset), s, len);
	return 0;
}

/* skb_ensure_writable(): the packet of a test_run is linear, so bytes
 * that exist are already pulled; more than the packet holds is -ENOMEM. */
static u64 bpf_skb_pull_data(struct bpfx_run *run, u64 skb, u64 len, u64 r3,
			     u64 r4, u64 r5)
{
	u64 pkt_len = run->pkt.hi - run->pkt.lo;

	if (!prog_has_skb(run) || skb != run->ctx.lo || !run->ctx.hi)
		HELPER_FAIL(run, -EINVAL,
			    "helper bpf_skb_pull_data: arg 1: %#llx is not the program's sk_buff context",
			    (unsigned long long)skb);
	return (u32)len > pkt_len ? (u64)(s64)-ENOMEM : 0;
}

static u64 bpf_xdp_adjust_head(struct bpfx_run *run, u64 xdp_md, u64 offset,
			       u64 r3, u64 r4, u64 r5)
{
	int err = ctx_xdp_adjust_head(run, xdp_md, (int)(s32)offset);

	if (err == -EBADF)
		HELPER_FAIL(run, -EINVAL,
			    "helper bpf_xdp_adjust_head: arg 1: %#llx is not the program's xdp_md context",
			    (unsigned long long)xdp_md);
	return (u64)(s64)err;
}

static u32 load_u32(const u8 *p)
{
	u32 v;
	memcpy(&v, p, 4);
	return v;
}

/* csum_partial(): the one's complement sum of BUF (a multiple of 4 bytes)
 * added to SUM, as a 32-bit partial checksum. */
static u32 csum_partial32(const u8 *buf, u32 len, u32 sum)
{
	u64 acc = sum;

	for (u32 i = 0; i < len; i += 4)
		acc += load_u32(buf + i);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return (u32)acc;
}

static u32 csum_add32(u32 a, u32 b)
{
	u32 r = a + b;
	return r + (r < b);
}

static u16 csum_from32to16(u32 sum)
{
	sum += (sum >> 16) | (sum << 16);
	return (u16)(sum >> 16);
}

/* bpf_csum_diff() as in current kernels: sizes must be multiples of 4;
 * the result is folded to 16 bits (not complemented) on every
 * architecture. */
static u64 bpf_csum_diff(struct bpfx_run *run, u64 from, u64 from_size,
			 u64 to, u64 to_size, u64 seed)
{
	static const char name[] = "bpf_csum_diff";
	const u8 *f = NULL, *t = NULL;
	u32 ret = (u32)seed;

	from_size = (u32)from_size;
	to_size = (u32)to_size;
	if (from_size) {
		f = run_mem(run, from, from_size, MEM_READ);
		if (!f)
			HELPER_FAIL(run, -EFAULT,
				    "helper %s: arg 1: %llu bytes at %#llx are not readable",
				    name, (unsigned long long)from_size,
				    (unsigned long long)from);
	}
	if (to_size) {
		t = run_mem(run, to, to_size, MEM_READ);
		if (!t)
			HELPER_FAIL(run, -EFAULT,
				    "helper %s: arg 3: %llu bytes at %#llx are not readable",
				    name, (unsigned long long)to_size,
				    (unsigned long long)to);
	}
	if ((from_size | to_size) & 3)
		return (u64)(s64)-EINVAL;
	if (from_size && to_size)
		ret = csum_add32(csum_partial32(t, (u32)to_size, ret),
				 ~csum_partial32(f, (u32)from_size, 0));
	else if (to_size)
		ret = csum_partial32(t, (u32)to_size, ret);
	else if (from_size)
		ret = ~csum_partial32(f, (u32)from_size, ~ret);
	return csum_from32to16(ret);
}

static u64 bpf_strncmp(struct bpfx_run *run, u64 s1, u64 s1_sz, u64 s2,
		       u64 r4, u64 r5)
{
	const unsigned char *a, *b;

	s1_sz = (u32)s1_sz;
	if (!s1_sz)
		HELPER_FAIL(run, -EINVAL, "helper bpf_strncmp: arg 2: size is 0");
	a = run_mem(run, s1, s1_sz, MEM_READ);
	if (!a)
		HELPER_FAIL(run, -EFAULT,
			    "helper bpf_strncmp: arg 1: %llu bytes at %#llx are not readable",
			    (unsigned long long)s1_sz,
			    (unsigned long long)s1);
	if (run_strlen(run, s2) < 0)
		HELPER_FAIL(run, -EFAULT,
			    "helper bpf_strncmp: arg 3: %#llx is not a NUL-terminated string in readable memory",
			    (unsigned long long)s2);
	b = (const unsigned char *)(uintptr_t)s2;
	for (u64 i = 0; i < s1_sz; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? (u64)-1 : 1;
		if (!a[i])
			break;
	}
	return 0;
}

/* ---- bpf_strtol, bpf_strtoul (the kernel's __bpf_strtoull) ---- */

#define BPF_STRTOX_BASE_MASK 0x1fu

/* The kernel's isspace(): its Latin-1 table has 0xa0 too. */
static bool k_isspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

static int k_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return 16;
}

/* Returns the number of bytes of BUF used (blanks, sign, radix prefix,
 * digits) with the value in *RES, or -EINVAL (no digits, a bad base or
 * flags) or -ERANGE (more than 64 bits). */
static int strtoull_k(const char *buf, size_t len, u64 flags, u64 *res,
		      bool *neg)
{
	unsigned int base = flags & BPF_STRTOX_BASE_MASK;
	size_t i = 0, start, n;
	char str[64];
	u64 v = 0;
	bool over = false;

	if (!len)
		return -EINVAL;
	if ((base != 0 && base != 8 && base != 10 && base != 16) ||
	    (flags & ~(u64)BPF_STRTOX_BASE_MASK))
		return -EINVAL;
	while (i < len && k_isspace((unsigned char)buf[i]))
		i++;
	*neg = i < len && buf[i] == '-';
	if (*neg)
		i++;
	if (i == len)
		return -EINVAL;
	/* the kernel parses a NUL-terminated copy of at most 63 bytes */
	n = len - i < sizeof(str) - 1 ? len - i : sizeof(str) - 1;
	memcpy(str, buf + i, n);
	str[n] = 0;
	start = 0;
	if (base == 0) {
		if (str[0] == '0')
			base = (str[1] | 0x20) == 'x' && k_digit((unsigned char)str[2]) < 16 ? 16 : 8;
		else
			base = 10;
	}
	if (base == 16 && str[0] == '0' && (str[1] | 0x20) == 'x')
		start = 2;
	size_t d = start;
	for (; str[d]; d++) {
		int dv = k_digit((unsigned char)str[d]);

		if (dv >= (int)base)
			break;
		if (__builtin_mul_overflow(v, (u64)base, &v) ||
		    __builtin_add_overflow(v, (u64)dv, &v))
			over = true;
	}
	if (over)
		return -ERANGE;
	if (d == start)
		return -EINVAL;
	*res = v;
	return (int)(i + d);
}

static u64 strtox_helper(struct bpfx_run *run, const char *name, u64 buf,
			 u64 len, u64 flags, u64 res, bool is_signed)
{
	const char *b;
	u64 *out, v = 0;
	bool neg = false;
	int n;

	len = (u32)len;
	b = len ? run_mem(run, buf, len, MEM_READ) : NULL;
	out = run_mem(run, res, 8, MEM_WRITE);
	if ((len && !b) || !out)
		HELPER_FAIL(run, -EFAULT, "helper %s: %s is not accessible",
			    name, !out ? "arg 4" : "arg 1");
	*out = 0;
	n = strtoull_k(b, len, flags, &v, &neg);
	if (n < 0)
		return (u64)(s64)n;
	if (!is_signed) {
		if (neg)
			return (u64)(s64)-EINVAL;
		*out = v;
		return (u64)n;
	}
	if (neg) {
		if ((s64)(0 - v) > 0)
			return (u64)(s64)-ERANGE;
		*out = 0 - v;
	} else {
		if ((s64)v < 0)
			return (u64)(s64)-ERANGE;
		*out = v;
	}
	return (u64)n;
}

static u64 bpf_strtol(struct bpfx_run *run, u64 buf, u64 len, u64 flags,
		      u64 res, u64 r5)
{
	return strtox_helper(run, "bpf_strtol", buf, len, flags, res, true);
}

static u64 bpf_strtoul(struct bpfx_run *run, u64 buf, u64 len, u64 flags,
		       u64 res, u64 r5)
{
	return strtox_helper(run, "bpf_strtoul", buf, len, flags, res, false);
}

/* ---- spin locks ---- */

#define SPIN_LOCK_TIMEOUT_NS (10ull * 1000000000ull)

/* run->held_lock is the lock the run holds: the verifier allows one at a
 * time and no helper call while it is held, so nesting is an error. */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Releases a lock left held by a run that ended without unlocking (the
 * verifier would have rejected that program). */
void helper_run_end(struct bpfx_run *run)
{
	if (run->held_lock) {
		pr_warn("helper bpf_spin_lock: program %s exited holding a lock; released",
			run->prog && run->prog->name ? run->prog->name : "?");
		atomic_store_explicit((_Atomic u32 *)run->held_lock, 0,
				      memory_order_release);
		run->held_lock = NULL;
	}
	/* an unsubmitted reservation would block the ring's consumer */
	if (run->reserved_cnt)
		pr_warn("helper bpf_ringbuf_reserve: program %s exited holding %u ring buffer reservation(s); discarded",
			run->prog && run->prog->name ? run->prog->name : "?",
			run->reserved_cnt);
	while (run->reserved_cnt) {
		struct run_reserved *r = &run->reserved[--run->reserved_cnt];
		ringbuf_commit(r->map, r->sample, true, 0);
	}
}

static _Atomic u32 *helper_lock_arg(struct bpfx_run *run, u64 lock,
				    const char *helper)
{
	void *p = run_mem(run, lock, sizeof(struct bpf_spin_lock), MEM_WRITE);

	if (!p) {
		run_fail(run, -EFAULT,
			 "helper %s: arg 1: %#llx is not a writable bpf_spin_lock",
			 helper, (unsigned long long)lock);
		return NULL;
	}
	if (lock % 4) {
		run_fail(run, -EINVAL,
			 "helper %s: arg 1: bpf_spin_lock at %#llx is not 4-byte aligned",
			 helper, (unsigned long long)lock);
		return NULL;
	}
	return (_Atomic u32 *)p;
}

static u64 bpf_spin_lock(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			 u64 r4, u64 r5)
{
	_Atomic u32 *lock = helper_lock_arg(run, r1, "bpf_spin_lock");
	unsigned int spins = 0;
	u64 deadline = 0;

	if (!lock)
		return 0;
	if (run->held_lock)
		HELPER_FAIL(run, -EINVAL,
			    "helper bpf_spin_lock: a bpf_spin_lock is already held");
	for (;;) {
		u32 expected = 0;

		if (atomic_compare_exchange_weak_explicit(
			    lock, &expected, 1, memory_order_acquire,
			    memory_order_relaxed))
			break;
		while (atomic_load_explicit(lock, memory_order_relaxed)) {
			if (++spins % 128) {
				cpu_relax();
				continue;
			}
			sched_yield();
			/* a program that exited holding the lock (which the
			 * verifier would have refused) must not hang us */
			if (spins % (128 * 1024) == 0) {
				if (!deadline)
					deadline = clock_ns(CLOCK_MONOTONIC) +
						   SPIN_LOCK_TIMEOUT_NS;
				else if (clock_ns(CLOCK_MONOTONIC) > deadline)
					HELPER_FAIL(run, -EDEADLK,
						    "helper bpf_spin_lock: lock at %#llx held for over %d s",
						    (unsigned long long)r1,
						    (int)(SPIN_LOCK_TIMEOUT_NS /
							  1000000000ull));
			}
		}
	}
	run->held_lock = (void *)lock;
	return 0;
}

static u64 bpf_spin_unlock(struct bpfx_run *run, u64 r1, u64 r2, u64 r3,
			   u64 r4, u64 r5)
{
	_Atomic u32 *lock = helper_lock_arg(run, r1, "bpf_spin_unlock");

	if (!lock)
		return 0;
	if (run->held_lock != (void *)lock)
		HELPER_FAIL(run, -EINVAL,
			    "helper bpf_spin_unlock: arg 1: this bpf_spin_lock is not held");
	run->held_lock = NULL;
	atomic_store_explicit(lock, 0, memory_order_release);
	return 0;
}

/* ---- callbacks: bpf_loop, bpf_for_each_map_elem ---- */

/* Runs the callback; false when the run failed (the engine has the
 * error) and the helper must return at once. */
static bool call_back(struct bpfx_run *run, const char *helper, u64 func,
		      const u64 args[5], u64 *ret)
{
	int err;

	if (!run->call) {
		run_fail(run, -EOPNOTSUPP,
			 "helper %s: this engine cannot call back into the program",
			 helper);
		return false;
	}
	err = run->call(run, func, args, ret);
	if (err < 0) {
		run_fail(run, err, "helper %s: callback failed", helper);
		return false;
	}
	return !run->err;
}

static u64 bpf_loop(struct bpfx_run *run, u64 nr_loops, u64 callback,
		    u64 callback_ctx, u64 flags, u64 r5)
{
	u32 n = (u32)nr_loops;

	if (flags)
		return (u64)(s64)-EINVAL;
	/* The kernel inlines bpf_loop when flags are 0, and its inlined form
	 * sets a 32-bit -E2BIG (zero-extended), unlike the helper. */
	if (n > BPF_MAX_LOOPS)
		return (u64)(u32)-E2BIG;
	for (u32 i = 0; i < n; i++) {
		u64 args[5] = { i, callback_ctx, 0, 0, 0 }, ret = 0;

		if (!call_back(run, "bpf_loop", callback, args, &ret))
			return i;
		if (ret)
			return (u64)i + 1;
	}
	return n;
}

static bool map_is_hash(u32 type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Calls the callback with (map, &key, value, ctx) for the element KEY;
 * the key is in a read-only region the run may read (run->extra, saved
 * and restored around the call). Returns false to stop. */
static bool for_each_call(struct bpfx_run *run, struct bpfx_map *map,
			  const void *key, u64 callback, u64 ctx,
			  long *visited)
{
	static const char name[] = "bpf_for_each_map_elem";
	struct run_region saved = run->extra;
	void *value = map->ops->lookup(map, key, run->cpu);
	u64 args[5], ret = 0;
	bool ok;

	if (!value)
		return true; /* deleted meanwhile */
	args[0] = (u64)(uintptr_t)map;
	args[1] = (u64)(uintptr_t)key;
	args[2] = (u64)(uintptr_t)value;
	args[3] = ctx;
	args[4] = 0;
	run->extra = (struct run_region){ (u64)(uintptr_t)key,
					  (u64)(uintptr_t)key + map->key_size,
					  false };
	(*visited)++;
	ok = call_back(run, name, callback, args, &ret);
	run->extra = saved;
	return ok && !ret;
}

static u64 bpf_for_each_map_elem(struct bpfx_run *run, u64 r1, u64 callback,
				 u64 callback_ctx, u64 flags, u64 r5)
{
	static const char name[] = "bpf_for_each_map_elem";
	struct bpfx_map *map = helper_map(run, r1, name, 1);
	size_t ksz, cnt = 0;
	long visited = 0;
	u8 *key, *keys;

	if (!map)
		return 0;
	if (flags)
		return (u64)(s64)-EINVAL;
	key = malloc(MAX(map->key_size, 4u));
	if (!key)
		HELPER_FAIL(run, -ENOMEM, "helper %s: out of memory", name);
	if (map->type == BPF_MAP_TYPE_ARRAY ||
	    map->type == BPF_MAP_TYPE_PERCPU_ARRAY) {
		for (u32 i = 0; i < map->max_entries; i++) {
			memcpy(key, &i, sizeof(i));
			if (!for_each_call(run, map, key, callback, callback_ctx,
					   &visited))
				break;
		}
		free(key);
		return (u64)visited;
	}
	if (!map_is_hash(map->type) || !map->ops->get_next_key) {
		free(key);
		HELPER_FAIL(run, -EINVAL,
			    "helper %s: arg 1: map %s of type %s cannot be iterated",
			    name, map->name, map_type_name(map->type));
	}

	/* Snapshot the keys first: elements the callback deletes are
	 * skipped, elements it adds are not visited. */
	ksz = map->key_size;
	keys = malloc(ksz * ((size_t)map->max_entries + 1));
	if (!keys) {
		free(key);
		HELPER_FAIL(run, -ENOMEM, "helper %s: out of memory", name);
	}
	while (cnt < map->max_entries &&
	       !map->ops->get_next_key(map, cnt ? keys + (cnt - 1) * ksz : NULL,
				       keys + cnt * ksz))
		cnt++;
	for (size_t i = 0; i < cnt; i++) {
		/* a copy, so the callback sees only its own key */
		memcpy(key, keys + i * ksz, ksz);
		if (!for_each_call(run, map, key, callback, callback_ctx,
				   &visited))
			break;
	}
	free(keys);
	free(key);
	return (u64)visited;
}

/* ---- ring buffers ---- */

static struct bpfx_map *helper_ringbuf(struct bpfx_run *run, u64 ptr,
				       const char *helper)
{
	struct bpfx_map *map = helper_map(run, ptr, helper, 1);

	if (map && map->type != BPF_MAP_TYPE_RINGBUF) {
		run_fail(run, -EINVAL,
			 "helper %s: arg 1: map %s is a %s, not a ringbuf",
			 helper, map->name, map_type_name(map->type));
		return NULL;
	}
	return map;
}

static u64 bpf_ringbuf_output(struct bpfx_run *run, u64 r1, u64 data,
			      u64 size, u64 flags, u64 r5)
{
	static const char name[] = "bpf_ringbuf_output";
	struct bpfx_map *map = helper_ringbuf(run, r1, name);
	const void *p = NULL;

	if (!map)
		return 0;
	if (size) {
		p = run_mem(run, data, size, MEM_READ);
		if (!p)
			HELPER_FAIL(run, -EFAULT,
				    "helper %s: arg 2: %llu bytes at %#llx are not readable",
				    name, (unsigned long long)size,
				    (unsigned long long)data);
	}
	return (u64)(s64)ringbuf_output(map, p, size, flags);
}

static u64 bpf_ringbuf_reserve(struct bpfx_run *run, u64 r1, u64 size,
			       u64 flags, u64 r4, u64 r5)
{
	struct bpfx_map *map = helper_ringbuf(run, r1, "bpf_ringbuf_reserve");

	if (!map)
		return 0;
	if (run->reserved_cnt == ARRAY_SIZE(run->reserved))
		return 0; /* as a full ring: the program sees NULL */
	void *sample = ringbuf_reserve(map, size, flags);
	if (sample)
		run->reserved[run->reserved_cnt++] =
			(struct run_reserved){ map, sample };
	return (u64)(uintptr_t)sample;
}

/* Takes SAMPLE off the run's reservations; false if this run did not
 * reserve it (a forged pointer, another run's sample, a second submit). */
bool run_release_sample(struct bpfx_run *run, void *sample)
{
	for (u32 i = 0; i < run->reserved_cnt; i++) {
		if (run->reserved[i].sample == sample) {
			run->reserved[i] = run->reserved[--run->reserved_cnt];
			return true;
		}
	}
	return false;
}

static u64 ringbuf_finish(struct bpfx_run *run, u64 sample, u64 flags,
			  bool discard, const char *helper)
{
	struct bpfx_map *map = map_region_find(sample, 1);
	void *p = (void *)(uintptr_t)sample;

	if (!map || map->type != BPF_MAP_TYPE_RINGBUF ||
	    !ringbuf_is_sample(map, p) || !run_release_sample(run, p))
		HELPER_FAIL(run, -EINVAL,
			    "helper %s: arg 1: %#llx is not a reserved ring buffer sample",
			    helper, (unsigned long long)sample);
	ringbuf_commit(map, p, discard, flags);
	return 0;
}

static u64 bpf_ringbuf_submit(struct bpfx_run *run, u64 sample, u64 flags,
			      u64 r3, u64 r4, u64 r5)
{
	return ringbuf_finish(run, sample, flags, false, "bpf_ringbuf_submit");
}

static u64 bpf_ringbuf_discard(struct bpfx_run *run, u64 sample, u64 flags,
			       u64 r3, u64 r4, u64 r5)
{
	return ringbuf_finish(run, sample, flags, true, "bpf_ringbuf_discard");
}

static u64 bpf_ringbuf_query(struct bpfx_run *run, u64 r1, u64 flags, u64 r3,
			     u64 r4, u64 r5)
{
	struct bpfx_map *map = helper_ringbuf(run, r1, "bpf_ringbuf_query");

	if (!map)
		return 0;
	return ringbuf_query(map, flags);
}

/* ---- the table ---- */

#define HELPER(id, fn) [BPF_FUNC_##id] = { #fn, fn }

static const struct helper_desc helpers[] = {
	HELPER(map_lookup_elem, bpf_map_lookup_elem),
	HELPER(map_update_elem, bpf_map_update_elem),
	HELPER(map_delete_elem, bpf_map_delete_elem),
	HELPER(probe_read, bpf_probe_read),
	HELPER(ktime_get_ns, bpf_ktime_get_ns),
	HELPER(trace_printk, bpf_trace_printk),
	HELPER(get_prandom_u32, bpf_get_prandom_u32),
	HELPER(get_smp_processor_id, bpf_get_smp_processor_id),
	HELPER(tail_call, bpf_tail_call),
	HELPER(get_current_pid_tgid, bpf_get_current_pid_tgid),
	HELPER(get_current_uid_gid, bpf_get_current_uid_gid),
	HELPER(get_current_comm, bpf_get_current_comm),
	HELPER(skb_store_bytes, bpf_skb_store_bytes),
	HELPER(skb_load_bytes, bpf_skb_load_bytes),
	HELPER(xdp_adjust_head, bpf_xdp_adjust_head),
	HELPER(csum_diff, bpf_csum_diff),
	HELPER(probe_read_str, bpf_probe_read_str),
	HELPER(spin_lock, bpf_spin_lock),
	HELPER(spin_unlock, bpf_spin_unlock),
	HELPER(probe_read_user, bpf_probe_read_user),
	HELPER(probe_read_kernel, bpf_probe_read_kernel),
	HELPER(probe_read_user_str, bpf_probe_read_user_str),
	HELPER(probe_read_kernel_str, bpf_probe_read_kernel_str),
	HELPER(ktime_get_boot_ns, bpf_ktime_get_boot_ns),
	HELPER(ringbuf_output, bpf_ringbuf_output),
	HELPER(ringbuf_reserve, bpf_ringbuf_reserve),
	HELPER(ringbuf_submit, bpf_ringbuf_submit),
	HELPER(ringbuf_discard, bpf_ringbuf_discard),
	HELPER(ringbuf_query, bpf_ringbuf_query),
	HELPER(for_each_map_elem, bpf_for_each_map_elem),
	HELPER(snprintf, bpf_snprintf),
	HELPER(trace_vprintk, bpf_trace_vprintk),
	HELPER(loop, bpf_loop),
	HELPER(strncmp, bpf_strncmp),
	HELPER(strtol, bpf_strtol),
	HELPER(strtoul, bpf_strtoul),
	HELPER(skb_pull_data, bpf_skb_pull_data),
	HELPER(dynptr_from_mem, bpf_dynptr_from_mem), /* dynptr.c */
	HELPER(ringbuf_reserve_dynptr, bpf_ringbuf_reserve_dynptr),
	HELPER(ringbuf_submit_dynptr, bpf_ringbuf_submit_dynptr),
	HELPER(ringbuf_discard_dynptr, bpf_ringbuf_discard_dynptr),
	HELPER(dynptr_read, bpf_dynptr_read),
	HELPER(dynptr_write, bpf_dynptr_write),
	HELPER(dynptr_data, bpf_dynptr_data),
	/* timer.c */
	[BPF_FUNC_timer_init] = { "bpf_timer_init", helper_timer_init },
	[BPF_FUNC_timer_set_callback] = { "bpf_timer_set_callback",
					  helper_timer_set_callback },
	[BPF_FUNC_timer_start] = { "bpf_timer_start", helper_timer_start },
	[BPF_FUNC_timer_cancel] = { "bpf_timer_cancel", helper_timer_cancel },
	[BPF_FUNC_kptr_xchg] = { "bpf_kptr_xchg", helper_kptr_xchg },
};

const struct helper_desc *helper_by_id(s32 id)
{
	if (id < 0 || (size_t)id >= ARRAY_SIZE(helpers) || !helpers[id].fn)
		return NULL;
	return &helpers[id];
}

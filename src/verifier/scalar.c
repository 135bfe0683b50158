/*
 * Scalar tracking: each scalar is a tnum (which bits are known) plus
 * signed and unsigned ranges of its 64-bit value and of its low 32 bits.
 * Every operation computes each view as well as it can and then
 * reg_bounds_sync() lets the views tighten one another, so a fact learnt
 * in one view (a branch on the signed value, a mask on the bits) reaches
 * the others. Branches decide a comparison when the ranges allow it and
 * otherwise refine both operands for each side.
 */
#include "verifier/verifier.h"

/* ---- tnum ---- */

struct tnum tnum_range(u64 min, u64 max)
{
	u64 chi = min ^ max, delta;
	int bits = chi ? 64 - __builtin_clzll(chi) : 0;

	if (bits > 63)
		return tnum_unknown();
	delta = (1ULL << bits) - 1;
	return TNUM(min & ~delta, delta);
}

struct tnum tnum_add(struct tnum a, struct tnum b)
{
	u64 sm = a.mask + b.mask, sv = a.value + b.value;
	u64 sigma = sm + sv, chi = sigma ^ sv;
	u64 mu = chi | a.mask | b.mask;

	return TNUM(sv & ~mu, mu);
}

struct tnum tnum_sub(struct tnum a, struct tnum b)
{
	u64 dv = a.value - b.value;
	u64 alpha = dv + a.mask, beta = dv - b.mask;
	u64 chi = alpha ^ beta, mu = chi | a.mask | b.mask;

	return TNUM(dv & ~mu, mu);
}

struct tnum tnum_and(struct tnum a, struct tnum b)
{
	u64 alpha = a.value | a.mask, beta = b.value | b.mask;
	u64 v = a.value & b.value;

	return TNUM(v, alpha & beta & ~v);
}

struct tnum tnum_or(struct tnum a, struct tnum b)
{
	u64 v = a.value | b.value, mu = a.mask | b.mask;

	return TNUM(v, mu & ~v);
}

struct tnum tnum_xor(struct tnum a, struct tnum b)
{
	u64 v = a.value ^ b.value, mu = a.mask | b.mask;

	return TNUM(v & ~mu, mu);
}

/* Long multiplication over the bits of a: each set bit adds b shifted,
 * each unknown bit adds b's possible bits as unknown. */
struct tnum tnum_mul(struct tnum a, struct tnum b)
{
	struct tnum acc_v = tnum_const(a.value * b.value);
	struct tnum acc_m = tnum_const(0);

	while (a.value || a.mask) {
		if (a.value & 1)
			acc_m = tnum_add(acc_m, TNUM(0, b.mask));
		else if (a.mask & 1)
			acc_m = tnum_add(acc_m, TNUM(0, b.value | b.mask));
		a = tnum_rshift(a, 1);
		b = tnum_lshift(b, 1);
	}
	return tnum_add(acc_v, acc_m);
}

struct tnum tnum_lshift(struct tnum a, u8 shift)
{
	return TNUM(a.value << shift, a.mask << shift);
}

struct tnum tnum_rshift(struct tnum a, u8 shift)
{
	return TNUM(a.value >> shift, a.mask >> shift);
}

struct tnum tnum_arshift(struct tnum a, u8 shift, u8 bits)
{
	if (bits == 32)
		return TNUM((u32)((s32)a.value >> shift),
			    (u32)((s32)a.mask >> shift));
	return TNUM((u64)((s64)a.value >> shift), (u64)((s64)a.mask >> shift));
}

struct tnum tnum_intersect(struct tnum a, struct tnum b)
{
	u64 v = a.value | b.value, mu = a.mask & b.mask;

	return TNUM(v & ~mu, mu);
}

struct tnum tnum_cast(struct tnum a, u8 size)
{
	u64 keep = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;

	return TNUM(a.value & keep, a.mask & keep);
}

struct tnum tnum_subreg(struct tnum a)
{
	return tnum_cast(a, 4);
}

struct tnum tnum_with_subreg(struct tnum reg, struct tnum subreg)
{
	return tnum_or(TNUM(reg.value & ~0xffffffffULL,
			    reg.mask & ~0xffffffffULL),
		       tnum_subreg(subreg));
}

bool tnum_in(struct tnum outer, struct tnum inner)
{
	if (inner.mask & ~outer.mask)
		return false;
	return (inner.value & ~outer.mask) == outer.value;
}

/* ---- registers ---- */

void reg_mark_unknown(struct vreg *r)
{
	memset(r, 0, sizeof(*r));
	r->type = SCALAR_VALUE;
	r->var_off = tnum_unknown();
	r->smin = INT64_MIN;
	r->smax = INT64_MAX;
	r->umin = 0;
	r->umax = UINT64_MAX;
	r->s32_min = INT32_MIN;
	r->s32_max = INT32_MAX;
	r->u32_min = 0;
	r->u32_max = UINT32_MAX;
}

void reg_mark_known(struct vreg *r, u64 v)
{
	memset(r, 0, sizeof(*r));
	r->type = SCALAR_VALUE;
	r->var_off = tnum_const(v);
	r->smin = r->smax = (s64)v;
	r->umin = r->umax = v;
	r->s32_min = r->s32_max = (s32)v;
	r->u32_min = r->u32_max = (u32)v;
}

bool reg_is_const(const struct vreg *r)
{
	return r->type == SCALAR_VALUE && tnum_is_const(r->var_off);
}

static void bounds_32_from_tnum(struct vreg *r)
{
	struct tnum s = tnum_subreg(r->var_off);

	r->s32_min = MAX(r->s32_min, (s32)(s.value | (s.mask & (1U << 31))));
	r->s32_max = MIN(r->s32_max, (s32)(s.value | (s.mask & 0x7fffffffU)));
	r->u32_min = MAX(r->u32_min, (u32)s.value);
	r->u32_max = MIN(r->u32_max, (u32)(s.value | s.mask));
}

static void bounds_64_from_tnum(struct vreg *r)
{
	struct tnum t = r->var_off;

	r->smin = MAX(r->smin, (s64)(t.value | (t.mask & (1ULL << 63))));
	r->smax = MIN(r->smax, (s64)(t.value | (t.mask & INT64_MAX)));
	r->umin = MAX(r->umin, t.value);
	r->umax = MIN(r->umax, t.value | t.mask);
}

static void deduce_32(struct vreg *r)
{
	/* the 64-bit range fits in one 32-bit window: the low halves order */
	if ((r->umin >> 32) == (r->umax >> 32)) {
		r->u32_min = MAX(r->u32_min, (u32)r->umin);
		r->u32_max = MIN(r->u32_max, (u32)r->umax);
		if ((s32)r->umin <= (s32)r->umax) {
			r->s32_min = MAX(r->s32_min, (s32)r->umin);
			r->s32_max = MIN(r->s32_max, (s32)r->umax);
		}
	}
	if (((u64)r->smin >> 32) == ((u64)r->smax >> 32)) {
		if ((u32)r->smin <= (u32)r->smax) {
			r->u32_min = MAX(r->u32_min, (u32)r->smin);
			r->u32_max = MIN(r->u32_max, (u32)r->smax);
		}
		if ((s32)r->smin <= (s32)r->smax) {
			r->s32_min = MAX(r->s32_min, (s32)r->smin);
			r->s32_max = MIN(r->s32_max, (s32)r->smax);
		}
	}
	/* the upper halves are two consecutive values (0xffffffff then 0
	 * included) and the low halves cross from negative to positive:
	 * the values are one contiguous s32 range */
	if ((u32)(r->umin >> 32) + 1 == (u32)(r->umax >> 32) &&
	    (s32)r->umin < 0 && (s32)r->umax >= 0) {
		r->s32_min = MAX(r->s32_min, (s32)r->umin);
		r->s32_max = MIN(r->s32_max, (s32)r->umax);
	}
	if ((u32)((u64)r->smin >> 32) + 1 == (u32)((u64)r->smax >> 32) &&
	    (s32)r->smin < 0 && (s32)r->smax >= 0) {
		r->s32_min = MAX(r->s32_min, (s32)r->smin);
		r->s32_max = MIN(r->s32_max, (s32)r->smax);
	}
	/* signed and unsigned 32-bit views agree when the sign is known */
	if ((s32)r->u32_min <= (s32)r->u32_max) {
		r->s32_min = MAX(r->s32_min, (s32)r->u32_min);
		r->s32_max = MIN(r->s32_max, (s32)r->u32_max);
	}
	if ((u32)r->s32_min <= (u32)r->s32_max) {
		r->u32_min = MAX(r->u32_min, (u32)r->s32_min);
		r->u32_max = MIN(r->u32_max, (u32)r->s32_max);
	}
}

static void deduce_64(struct vreg *r)
{
	if ((s64)r->umin <= (s64)r->umax) {
		r->smin = MAX(r->smin, (s64)r->umin);
		r->smax = MIN(r->smax, (s64)r->umax);
	}
	if ((u64)r->smin <= (u64)r->smax) {
		r->umin = MAX(r->umin, (u64)r->smin);
		r->umax = MIN(r->umax, (u64)r->smax);
	}
	/* upper 32 bits known zero (or the whole value in u32 range):
	 * the 64-bit value follows the 32-bit one */
	if (r->umax <= UINT32_MAX) {
		r->umin = MAX(r->umin, (u64)r->u32_min);
		r->umax = MIN(r->umax, (u64)r->u32_max);
		r->smin = MAX(r->smin, (s64)r->u32_min);
		r->smax = MIN(r->smax, (s64)r->u32_max);
	}
}

void reg_bounds_sync(struct vreg *r)
{
	for (int round = 0; round < 2; round++) {
		bounds_32_from_tnum(r);
		bounds_64_from_tnum(r);
		deduce_32(r);
		deduce_64(r);
		r->var_off = tnum_intersect(r->var_off,
					    tnum_range(r->umin, r->umax));
		r->var_off = tnum_with_subreg(
			r->var_off, tnum_intersect(tnum_subreg(r->var_off),
						   tnum_range(r->u32_min,
							      r->u32_max)));
	}
}

/* A contradiction can only come from an impossible branch; keep the
 * register sane rather than inverted. */
static bool reg_bounds_sane(const struct vreg *r)
{
	return r->umin <= r->umax && r->smin <= r->smax &&
	       r->u32_min <= r->u32_max && r->s32_min <= r->s32_max;
}

static bool add_overflows_s64(s64 a, s64 b, s64 *res)
{
	return __builtin_add_overflow(a, b, res);
}

void scalar_alu(struct vreg *dst, const struct vreg *src, u8 op, bool alu32)
{
	struct vreg s = *src, d = *dst;
	struct tnum dt = alu32 ? tnum_subreg(d.var_off) : d.var_off;
	struct tnum st = alu32 ? tnum_subreg(s.var_off) : s.var_off;
	u64 sv = st.value;
	bool src_const = tnum_is_const(st);
	bool dst_const = tnum_is_const(dt);
	u8 bits = alu32 ? 32 : 64;
	struct tnum res;

	if (op == BPF_MOV) {
		struct vreg r;

		if (!alu32) {
			*dst = s;
			return;
		}
		reg_mark_unknown(&r);
		r.var_off = tnum_subreg(s.var_off);
		r.u32_min = s.u32_min;
		r.u32_max = s.u32_max;
		r.s32_min = s.s32_min;
		r.s32_max = s.s32_max;
		r.umax = UINT32_MAX;
		r.smin = 0;
		r.smax = UINT32_MAX;
		reg_bounds_sync(&r);
		if (s.umax <= UINT32_MAX)
			r.id = s.id;
		*dst = r;
		return;
	}
	/* A shift by at least the width: the engines mask the amount, the
	 * kernel calls the result unknown; so does bpfx (it used to take it
	 * as 0, which was unsound). */
	if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
	    (alu32 ? s.u32_max : s.umax) >= bits)
		goto unknown;
	/* both constant: compute exactly */
	if (src_const && dst_const && op != BPF_DIV && op != BPF_MOD) {
		u64 a = dt.value, b = sv, v;

		switch (op) {
		case BPF_ADD: v = a + b; break;
		case BPF_SUB: v = a - b; break;
		case BPF_MUL: v = a * b; break;
		case BPF_OR: v = a | b; break;
		case BPF_AND: v = a & b; break;
		case BPF_XOR: v = a ^ b; break;
		case BPF_LSH: v = a << b; break;
		case BPF_RSH: v = alu32 ? (u32)a >> b : a >> b; break;
		case BPF_ARSH:
			v = alu32 ? (u32)((s32)a >> b) : (u64)((s64)a >> b);
			break;
		case BPF_NEG: v = -a; break;
		default: goto unknown;
		}
		reg_mark_known(dst, alu32 ? (u32)v : v);
		return;
	}

	memset(&res, 0, sizeof(res));
	if (alu32) {
		/* work on the 32-bit views, then zero-extend */
		struct vreg r;

		reg_mark_unknown(&r);
		switch (op) {
		case BPF_ADD: {
			s32 lo, hi;
			u32 ulo, uhi;
			if (!__builtin_add_overflow(d.s32_min, s.s32_min, &lo) &&
			    !__builtin_add_overflow(d.s32_max, s.s32_max, &hi)) {
				r.s32_min = lo;
				r.s32_max = hi;
			}
			if (!__builtin_add_overflow(d.u32_min, s.u32_min, &ulo) &&
			    !__builtin_add_overflow(d.u32_max, s.u32_max, &uhi)) {
				r.u32_min = ulo;
				r.u32_max = uhi;
			}
			r.var_off = tnum_subreg(tnum_add(dt, st));
			break;
		}
		case BPF_SUB:
			if (d.u32_min >= s.u32_max) {
				r.u32_min = d.u32_min - s.u32_max;
				r.u32_max = d.u32_max - s.u32_min;
			}
			r.var_off = tnum_subreg(tnum_sub(dt, st));
			break;
		case BPF_MUL:
			if ((u64)d.u32_max * s.u32_max <= UINT32_MAX) {
				r.u32_min = d.u32_min * s.u32_min;
				r.u32_max = d.u32_max * s.u32_max;
			}
			r.var_off = tnum_subreg(tnum_mul(dt, st));
			break;
		case BPF_AND:
			r.var_off = tnum_and(dt, st);
			r.u32_max = MIN(d.u32_max, s.u32_max);
			break;
		case BPF_OR:
			r.var_off = tnum_or(dt, st);
			r.u32_min = MAX(d.u32_min, s.u32_min);
			break;
		case BPF_XOR:
			r.var_off = tnum_subreg(tnum_xor(dt, st));
			break;
		case BPF_LSH:
			if (src_const && sv < 32)
				r.var_off = tnum_subreg(tnum_lshift(dt, sv));
			else
				r.var_off = TNUM(0, 0xffffffffULL);
			break;
		case BPF_RSH:
			if (src_const && sv < 32) {
				r.var_off = tnum_rshift(dt, sv);
				r.u32_min = d.u32_min >> sv;
				r.u32_max = d.u32_max >> sv;
			} else {
				r.var_off = TNUM(0, 0xffffffffULL);
			}
			break;
		case BPF_ARSH:
			if (src_const && sv < 32) {
				r.var_off = tnum_subreg(tnum_arshift(dt, sv, 32));
				r.s32_min = d.s32_min >> sv;
				r.s32_max = d.s32_max >> sv;
			} else {
				r.var_off = TNUM(0, 0xffffffffULL);
			}
			break;
		case BPF_DIV:
		case BPF_MOD:
			/* x / 0 is 0 and x % 0 is x: never above the dividend;
			 * a remainder is also below a nonzero divisor */
			r.var_off = TNUM(0, 0xffffffffULL);
			r.u32_max = d.u32_max;
			if (op == BPF_MOD && s.u32_min)
				r.u32_max = MIN(d.u32_max, s.u32_max - 1);
			break;
		default:
			r.var_off = TNUM(0, 0xffffffffULL);
			break;
		}
		r.var_off = tnum_subreg(r.var_off);
		r.umin = 0;
		r.umax = UINT32_MAX;
		r.smin = 0;
		r.smax = UINT32_MAX;
		reg_bounds_sync(&r);
		if (!reg_bounds_sane(&r)) {
			reg_mark_unknown(&r);
			r.var_off = TNUM(0, 0xffffffffULL);
			r.umax = UINT32_MAX;
			r.smin = 0;
			r.smax = UINT32_MAX;
			reg_bounds_sync(&r);
		}
		*dst = r;
		return;
	}

	{
		struct vreg r;

		reg_mark_unknown(&r);
		switch (op) {
		case BPF_ADD: {
			s64 lo, hi;
			if (!add_overflows_s64(d.smin, s.smin, &lo) &&
			    !add_overflows_s64(d.smax, s.smax, &hi)) {
				r.smin = lo;
				r.smax = hi;
			}
			if (d.umin + s.umin >= d.umin &&
			    d.umax + s.umax >= d.umax) {
				r.umin = d.umin + s.umin;
				r.umax = d.umax + s.umax;
			}
			r.var_off = tnum_add(d.var_off, s.var_off);
			break;
		}
		case BPF_SUB: {
			s64 lo, hi;
			if (!__builtin_sub_overflow(d.smin, s.smax, &lo) &&
			    !__builtin_sub_overflow(d.smax, s.smin, &hi)) {
				r.smin = lo;
				r.smax = hi;
			}
			if (d.umin >= s.umax) {
				r.umin = d.umin - s.umax;
				r.umax = d.umax - s.umin;
			}
			r.var_off = tnum_sub(d.var_off, s.var_off);
			break;
		}
		case BPF_MUL:
			if (d.umax <= UINT32_MAX && s.umax <= UINT32_MAX) {
				r.umin = d.umin * s.umin;
				r.umax = d.umax * s.umax;
			}
			r.var_off = tnum_mul(d.var_off, s.var_off);
			break;
		case BPF_AND:
			r.var_off = tnum_and(d.var_off, s.var_off);
			r.umax = MIN(d.umax, s.umax);
			if (d.smin >= 0 || s.smin >= 0) {
				r.smin = 0;
			}
			break;
		case BPF_OR:
			r.var_off = tnum_or(d.var_off, s.var_off);
			r.umin = MAX(d.umin, s.umin);
			break;
		case BPF_XOR:
			r.var_off = tnum_xor(d.var_off, s.var_off);
			break;
		case BPF_LSH:
			if (src_const && sv < 64) {
				r.var_off = tnum_lshift(d.var_off, sv);
				if (sv == 0 || (d.umax >> (64 - sv)) == 0) {
					r.umin = d.umin << sv;
					r.umax = d.umax << sv;
				}
			}
			break;
		case BPF_RSH:
			if (src_const && sv < 64) {
				r.var_off = tnum_rshift(d.var_off, sv);
				r.umin = d.umin >> sv;
				r.umax = d.umax >> sv;
			}
			break;
		case BPF_ARSH:
			if (src_const && sv < 64) {
				r.var_off = tnum_arshift(d.var_off, sv, 64);
				r.smin = d.smin >> sv;
				r.smax = d.smax >> sv;
			}
			break;
		case BPF_DIV:
		case BPF_MOD:
			r.umax = d.umax;
			if (op == BPF_MOD && s.umin)
				r.umax = MIN(d.umax, s.umax - 1);
			r.var_off = tnum_range(0, r.umax);
			break;
		default:
			break;
		}
		reg_bounds_sync(&r);
		if (!reg_bounds_sane(&r))
			reg_mark_unknown(&r);
		*dst = r;
	}
	return;
unknown:
	reg_mark_unknown(dst);
	if (alu32) {
		dst->var_off = TNUM(0, 0xffffffffULL);
		reg_bounds_sync(dst);
	}
}

/* ---- branches ---- */

u8 jmp_invert(u8 op)
{
	switch (op) {
	case BPF_JEQ: return BPF_JNE;
	case BPF_JNE: return BPF_JEQ;
	case BPF_JGT: return BPF_JLE;
	case BPF_JGE: return BPF_JLT;
	case BPF_JLT: return BPF_JGE;
	case BPF_JLE: return BPF_JGT;
	case BPF_JSGT: return BPF_JSLE;
	case BPF_JSGE: return BPF_JSLT;
	case BPF_JSLT: return BPF_JSGE;
	case BPF_JSLE: return BPF_JSGT;
	default: return op; /* JSET: no inverse op; handled by callers */
	}
}

/* a OP b == b FLIP(OP) a */
u8 jmp_flip(u8 op)
{
	switch (op) {
	case BPF_JGT: return BPF_JLT;
	case BPF_JGE: return BPF_JLE;
	case BPF_JLT: return BPF_JGT;
	case BPF_JLE: return BPF_JGE;
	case BPF_JSGT: return BPF_JSLT;
	case BPF_JSGE: return BPF_JSLE;
	case BPF_JSLT: return BPF_JSGT;
	case BPF_JSLE: return BPF_JSGE;
	default: return op;
	}
}

struct range4 {
	u64 umin, umax;
	s64 smin, smax;
	struct tnum t;
};

static struct range4 view(const struct vreg *r, bool is32)
{
	struct range4 v;

	if (is32) {
		v.umin = r->u32_min;
		v.umax = r->u32_max;
		v.smin = r->s32_min;
		v.smax = r->s32_max;
		v.t = tnum_subreg(r->var_off);
	} else {
		v.umin = r->umin;
		v.umax = r->umax;
		v.smin = r->smin;
		v.smax = r->smax;
		v.t = r->var_off;
	}
	return v;
}

int scalar_branch(const struct vreg *ra, const struct vreg *rb, u8 op,
		  bool is32)
{
	struct range4 a = view(ra, is32), b = view(rb, is32);

	switch (op) {
	case BPF_JEQ:
		if (tnum_is_const(a.t) && tnum_is_const(b.t))
			return a.t.value == b.t.value;
		if (a.umin > b.umax || a.umax < b.umin || a.smin > b.smax ||
		    a.smax < b.smin)
			return 0;
		if ((a.t.value & ~b.t.mask & ~a.t.mask) !=
		    (b.t.value & ~a.t.mask & ~b.t.mask))
			return 0;
		return -1;
	case BPF_JNE: {
		int r = scalar_branch(ra, rb, BPF_JEQ, is32);
		return r < 0 ? r : !r;
	}
	case BPF_JSET:
		if ((a.t.value & b.t.value) != 0)
			return 1;
		if (((a.t.value | a.t.mask) & (b.t.value | b.t.mask)) == 0)
			return 0;
		return -1;
	case BPF_JGT:
		if (a.umin > b.umax)
			return 1;
		if (a.umax <= b.umin)
			return 0;
		return -1;
	case BPF_JGE:
		if (a.umin >= b.umax)
			return 1;
		if (a.umax < b.umin)
			return 0;
		return -1;
	case BPF_JLT:
		return scalar_branch(rb, ra, BPF_JGT, is32);
	case BPF_JLE:
		return scalar_branch(rb, ra, BPF_JGE, is32);
	case BPF_JSGT:
		if (a.smin > b.smax)
			return 1;
		if (a.smax <= b.smin)
			return 0;
		return -1;
	case BPF_JSGE:
		if (a.smin >= b.smax)
			return 1;
		if (a.smax < b.smin)
			return 0;
		return -1;
	case BPF_JSLT:
		return scalar_branch(rb, ra, BPF_JSGT, is32);
	case BPF_JSLE:
		return scalar_branch(rb, ra, BPF_JSGE, is32);
	}
	return -1;
}

static void set_u(struct vreg *r, bool is32, u64 lo, u64 hi)
{
	if (is32) {
		r->u32_min = MAX(r->u32_min, (u32)lo);
		r->u32_max = MIN(r->u32_max, (u32)hi);
	} else {
		r->umin = MAX(r->umin, lo);
		r->umax = MIN(r->umax, hi);
	}
}

static void set_s(struct vreg *r, bool is32, s64 lo, s64 hi)
{
	if (is32) {
		r->s32_min = MAX(r->s32_min, (s32)lo);
		r->s32_max = MIN(r->s32_max, (s32)hi);
	} else {
		r->smin = MAX(r->smin, lo);
		r->smax = MIN(r->smax, hi);
	}
}

void scalar_refine(struct vreg *a, struct vreg *b, u8 op, bool is32)
{
	struct range4 va = view(a, is32), vb = view(b, is32);
	u64 umaxv = is32 ? UINT32_MAX : UINT64_MAX;
	s64 sminv = is32 ? INT32_MIN : INT64_MIN;
	s64 smaxv = is32 ? INT32_MAX : INT64_MAX;

	switch (op) {
	case BPF_JEQ:
		set_u(a, is32, vb.umin, vb.umax);
		set_s(a, is32, vb.smin, vb.smax);
		set_u(b, is32, va.umin, va.umax);
		set_s(b, is32, va.smin, va.smax);
		if (is32) {
			struct tnum t = tnum_intersect(va.t, vb.t);
			a->var_off = tnum_with_subreg(a->var_off, t);
			b->var_off = tnum_with_subreg(b->var_off, t);
		} else {
			struct tnum t = tnum_intersect(va.t, vb.t);
			a->var_off = t;
			b->var_off = t;
		}
		break;
	case BPF_JNE:
		/* only a constant at a range edge narrows */
		if (tnum_is_const(vb.t)) {
			u64 c = vb.t.value;
			if (va.umin == c && va.umin < umaxv)
				set_u(a, is32, c + 1, umaxv);
			else if (va.umax == c && c > 0)
				set_u(a, is32, 0, c - 1);
			if (va.smin == (is32 ? (s64)(s32)c : (s64)c) &&
			    va.smin < smaxv)
				set_s(a, is32, va.smin + 1, smaxv);
			else if (va.smax == (is32 ? (s64)(s32)c : (s64)c) &&
				 va.smax > sminv)
				set_s(a, is32, sminv, va.smax - 1);
		}
		if (tnum_is_const(va.t)) {
			u64 c = va.t.value;
			if (vb.umin == c && vb.umin < umaxv)
				set_u(b, is32, c + 1, umaxv);
			else if (vb.umax == c && c > 0)
				set_u(b, is32, 0, c - 1);
		}
		break;
	case BPF_JSET:
		break;
	case BPF_JGT: /* a > b */
		if (vb.umin < umaxv)
			set_u(a, is32, vb.umin + 1, umaxv);
		if (va.umax > 0)
			set_u(b, is32, 0, va.umax - 1);
		break;
	case BPF_JGE:
		set_u(a, is32, vb.umin, umaxv);
		set_u(b, is32, 0, va.umax);
		break;
	case BPF_JLT:
		scalar_refine(b, a, BPF_JGT, is32);
		return;
	case BPF_JLE:
		scalar_refine(b, a, BPF_JGE, is32);
		return;
	case BPF_JSGT:
		if (vb.smin < smaxv)
			set_s(a, is32, vb.smin + 1, smaxv);
		if (va.smax > sminv)
			set_s(b, is32, sminv, va.smax - 1);
		break;
	case BPF_JSGE:
		set_s(a, is32, vb.smin, smaxv);
		set_s(b, is32, sminv, va.smax);
		break;
	case BPF_JSLT:
		scalar_refine(b, a, BPF_JSGT, is32);
		return;
	case BPF_JSLE:
		scalar_refine(b, a, BPF_JSGE, is32);
		return;
	}
	if (a->type == SCALAR_VALUE)
		reg_bounds_sync(a);
	if (b->type == SCALAR_VALUE)
		reg_bounds_sync(b);
}

bool scalar_within(const struct vreg *old, const struct vreg *cur)
{
	return old->umin <= cur->umin && old->umax >= cur->umax &&
	       old->smin <= cur->smin && old->smax >= cur->smax &&
	       old->u32_min <= cur->u32_min && old->u32_max >= cur->u32_max &&
	       old->s32_min <= cur->s32_min && old->s32_max >= cur->s32_max &&
	       tnum_in(old->var_off, cur->var_off);
}

static const char *const type_names[] = {
	[NOT_INIT] = "?",         [SCALAR_VALUE] = "scalar",
	[PTR_TO_CTX] = "ctx",     [CONST_PTR_TO_MAP] = "map_ptr",
	[PTR_TO_MAP_VALUE] = "map_value", [PTR_TO_MAP_KEY] = "map_key",
	[PTR_TO_STACK] = "fp",    [PTR_TO_PACKET_META] = "pkt_meta",
	[PTR_TO_PACKET] = "pkt",  [PTR_TO_PACKET_END] = "pkt_end",
	[PTR_TO_MEM] = "mem",     [PTR_TO_BTF_ID] = "ptr_",
	[PTR_TO_FUNC] = "func",   [PTR_TO_SOCK_COMMON] = "sock_common",
	[CONST_PTR_TO_DYNPTR] = "dynptr_ptr",
};

/* The kernel's reg_type_str(): prefixes, base name, "_or_null". */
void reg_fmt(const struct vreg *r, char *buf, size_t sz)
{
	/* the kernel writes "ptr_or_null_" for BTF pointers */
	bool btf = r->type == PTR_TO_BTF_ID;

	snprintf(buf, sz, "%s%s%s%s%s%s", r->flags & VREG_RDONLY ? "rdonly_" : "",
		 r->flags & VREG_RINGBUF ? "ringbuf_" : "",
		 btf && (r->flags & VREG_RCU) ? "rcu_" : "",
		 btf && (r->flags & VREG_UNTRUSTED) ? "untrusted_" : "",
		 type_names[r->type],
		 !(r->flags & VREG_MAYBE_NULL) ? ""
		 : btf			       ? "or_null_"
					       : "_or_null");
}

/*
 * The verifier: proves a linked program safe before any engine runs it,
 * the way the kernel's verifier does, with the kernel's messages.
 *
 * Design. Abstract interpretation walks the program's paths one at a
 * time, depth first. The state of a path is its call frames (registers
 * and 512 bytes of stack each: spilled registers per 8-byte slot, the
 * other bytes invalid, written or zero), the references it holds
 * (ringbuf samples), its spin lock and its RCU and preemption sections.
 * A register is a scalar (tnum plus signed and unsigned 32/64-bit
 * ranges, scalar.c) or a typed pointer with a fixed and a variable
 * offset. A conditional jump whose outcome the state does not decide
 * queues the other side as a new path and refines both.
 *
 * Pruning. At jump targets, after branches and at subprogram entries the
 * verifier keeps the states it has seen. A path whose state is covered by
 * a finished one there (every register and stack slot of the old state
 * allows at least what the new one holds; registers dead at that point,
 * from a static liveness pass, are ignored) is safe and stops. A state
 * still being explored that equals the new one exactly means the loop
 * made no progress: "infinite loop detected at insn N". Bounded loops are
 * simply explored, up to the kernel's limit of 1,000,000 processed
 * instructions; loops on an iterator (iter.c) or left by may_goto
 * (may_goto.c) converge once a pass is covered by an earlier one.
 *
 * Subprograms: static ones are verified in their caller's context (a new
 * frame); global ones are verified alone from their BTF signature and
 * their calls only check the arguments. Callbacks (bpf_loop,
 * for_each_map_elem) run in a frame above the helper's caller, re-entered
 * until their state stops changing. calls.c has the helper prototypes,
 * kfuncs, references and exceptions.
 *
 * bpfx is stricter than a privileged kernel in one place: reading stack
 * bytes that were never written is rejected, as the kernel does for
 * unprivileged loaders.
 */
#define _GNU_SOURCE
#include <time.h>

#include "kernel/kernel.h"
#include "verifier/verifier.h"

#define MAX_PROCESSED 1000000

/* ---- log ---- */

static void log_append(struct venv *env, const char *s)
{
	size_t n = strlen(s);

	if (!env->log || !env->log_sz || env->log_len + 1 >= env->log_sz)
		return;
	if (n > env->log_sz - env->log_len - 1)
		n = env->log_sz - env->log_len - 1;
	memcpy(env->log + env->log_len, s, n);
	env->log_len += n;
	env->log[env->log_len] = '\0';
}

void vlog(struct venv *env, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!env->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_append(env, buf);
}

/* Messages may span lines as the kernel's do; the load error joins them. */
int verr(struct venv *env, int err, const char *fmt, ...)
{
	char buf[512];
	size_t n = strlen(env->msg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vlog(env, "%s\n", buf);
	snprintf(env->msg + n, sizeof(env->msg) - n, "%s%s", n ? "; " : "",
		 buf);
	return err ? err : -EACCES;
}

static void log_source_line(struct venv *env, int insn)
{
	char line[512];

	if (!env->log_level || !prog_source_text(env->prog, insn, line,
						 sizeof(line)))
		return;
	if (!strcmp(line, env->last_line))
		return;
	snprintf(env->last_line, sizeof(env->last_line), "%s", line);
	vlog(env, "; %s\n", line);
}

/* Numbers as the kernel's log writes them: small ones (16-bit) in
 * decimal, the others in hex (0 as "0x0" in a tnum, as the kernel's
 * printf does), so bounds near the 32/64-bit edges read as bit
 * patterns. */
#define SNUM_DECIMAL(v) ((s64)(v) >= -32768 && (s64)(v) <= 32767)
#define UNUM_DECIMAL(v) ((u64)(v) <= 65535)

struct log_buf {
	char *p;
	size_t sz, n;
	const char *sep; /* "" before the first field of a (...) list */
};

static void lb_put(struct log_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void lb_put(struct log_buf *b, const char *fmt, ...)
{
	va_list ap;

	if (b->n >= b->sz)
		return;
	va_start(ap, fmt);
	b->n += vsnprintf(b->p + b->n, b->sz - b->n, fmt, ap);
	va_end(ap);
}

static void lb_snum(struct log_buf *b, s64 v)
{
	if (SNUM_DECIMAL(v))
		lb_put(b, "%lld", (long long)v);
	else
		lb_put(b, "0x%llx", (unsigned long long)v);
}

static void lb_unum(struct log_buf *b, u64 v)
{
	if (UNUM_DECIMAL(v))
		lb_put(b, "%llu", (unsigned long long)v);
	else
		lb_put(b, "0x%llx", (unsigned long long)v);
}

/* The eight bounds that are not the type's defaults, equal ones of the
 * same kind and sign merged under one value ("smin=umin=4096"); 32-bit
 * signed bounds printed in hex are not sign-extended. */
static void lb_ranges(struct log_buf *b, const struct vreg *r)
{
	struct {
		const char *name;
		u64 val;
		bool omit;
	} m[8] = {
		{ "smin", (u64)r->smin, r->smin == INT64_MIN },
		{ "smax", (u64)r->smax, r->smax == INT64_MAX },
		{ "umin", r->umin, r->umin == 0 },
		{ "umax", r->umax, r->umax == UINT64_MAX },
		{ "smin32",
		  SNUM_DECIMAL(r->s32_min) ? (u64)(s64)r->s32_min
					   : (u64)(u32)r->s32_min,
		  r->s32_min == INT32_MIN },
		{ "smax32",
		  SNUM_DECIMAL(r->s32_max) ? (u64)(s64)r->s32_max
					   : (u64)(u32)r->s32_max,
		  r->s32_max == INT32_MAX },
		{ "umin32", r->u32_min, r->u32_min == 0 },
		{ "umax32", r->u32_max, r->u32_max == UINT32_MAX },
	};

	for (int i = 0; i < 8; i++) {
		bool neg = m[i].name[0] == 's' && (s64)m[i].val < 0;

		if (m[i].omit)
			continue;
		lb_put(b, "%s%s=", b->sep, m[i].name);
		b->sep = ",";
		for (int j = i + 2; j < 8; j += 2) {
			bool neg2 = m[j].name[0] == 's' && (s64)m[j].val < 0;

			if (m[j].omit || m[j].val != m[i].val || neg2 != neg)
				continue;
			m[j].omit = true;
			lb_put(b, "%s=", m[j].name);
		}
		if (m[i].name[0] == 's')
			lb_snum(b, (s64)m[i].val);
		else
			lb_unum(b, m[i].val);
	}
}

static void lb_var_off(struct log_buf *b, struct tnum t)
{
	if (t.mask == ~0ULL)
		return;
	lb_put(b, "%svar_off=", b->sep);
	b->sep = ",";
	if (!t.mask)
		lb_unum(b, t.value);
	else
		lb_put(b, "(0x%llx; 0x%llx)", (unsigned long long)t.value,
		       (unsigned long long)t.mask);
}

/* One register as the kernel's log shows it: "0x7fffffff",
 * "scalar(id=1,smax=0x7ffffffe)", "fp-8", "pkt(off=64,r=64)". */
static void log_reg(struct venv *env, char *out, size_t sz,
		    const struct vreg *r)
{
	struct log_buf b = { out, sz, 0, "" };
	char t[48];

	out[0] = '\0';
	if (r->type == SCALAR_VALUE && tnum_is_const(r->var_off)) {
		lb_snum(&b, (s64)r->var_off.value);
		return;
	}
	if (r->type == SCALAR_VALUE) {
		lb_put(&b, "scalar(");
	} else {
		reg_fmt(r, t, sizeof(t));
		if (r->type == PTR_TO_STACK) {
			lb_put(&b, "fp");
			if (tnum_is_const(r->var_off)) {
				lb_snum(&b, (s64)r->var_off.value + r->off);
				return;
			}
		} else {
			lb_put(&b, "%s", t);
		}
		if (r->type == PTR_TO_BTF_ID && (r->flags & VREG_ALLOC))
			lb_put(&b, "%s", btf_type_name(env, r->btf_id));
		lb_put(&b, "(");
	}
#define FIELD(cond, ...)                                                       \
	if (cond) {                                                            \
		lb_put(&b, "%s", b.sep);                                       \
		lb_put(&b, __VA_ARGS__);                                       \
		b.sep = ",";                                                   \
	}
	FIELD(r->id, "id=%u", r->id);
	FIELD(r->ref_obj_id, "ref_obj_id=%u", r->ref_obj_id);
	FIELD(r->flags & VREG_NON_OWN, "non_own_ref");
	if (r->type != SCALAR_VALUE) {
		FIELD(r->map, "map=%s,ks=%u,vs=%u", r->map->name,
		      r->map->key_size, r->map->value_size);
		if (r->off) {
			FIELD(true, "off=");
			lb_snum(&b, r->off);
		}
		if (r->type == PTR_TO_PACKET ||
		    r->type == PTR_TO_PACKET_META) {
			FIELD(true, "r=");
			lb_unum(&b, (u64)(s64)r->range);
		}
		if (r->type == PTR_TO_MEM) {
			FIELD(true, "sz=");
			lb_unum(&b, r->mem_size);
		}
	}
#undef FIELD
	if (r->type != SCALAR_VALUE && tnum_is_const(r->var_off)) {
		if (r->var_off.value) {
			lb_put(&b, "%simm=", b.sep);
			b.sep = ",";
			lb_snum(&b, (s64)r->var_off.value);
		}
	} else {
		lb_ranges(&b, r);
		lb_var_off(&b, r->var_off);
	}
	lb_put(&b, ")");
}

/* The current frame's registers and stack as the kernel's
 * print_verifier_state() writes them: all of them, or (SCRATCHED) only
 * those the last instruction touched; then the references held. */
static void log_state_of(struct venv *env, const struct vstate *st,
			 bool scratched)
{
	char line[4096], r[160];
	size_t n = 0;

	{
		int f = st->curframe;
		const struct vframe *fr = st->frame[f];

		if (f)
			n += snprintf(line + n, sizeof(line) - n, " frame%d:", f);
		for (int i = 0; i < 11 && n < sizeof(line); i++) {
			if (fr->regs[i].type == NOT_INIT)
				continue;
			if (scratched && !(env->scratch_regs & (1u << i)))
				continue;
			log_reg(env, r, sizeof(r), &fr->regs[i]);
			n += snprintf(line + n, sizeof(line) - n, " R%d=%s", i, r);
		}
		for (int k = 0; k < fr->nslots && n < sizeof(line); k++) {
			const u8 *t = fr->slots[k].stype;
			char kinds[9];
			bool any = false;

			if (scratched && (k >= 64 ||
					  !(env->scratch_slots & (1ULL << k))))
				continue;

			if (t[0] == STACK_DYNPTR) {
				char d[96];

				if (dynptr_log_slot(fr, k, d, sizeof(d))) {
					n += snprintf(line + n, sizeof(line) - n,
						      "%s", d);
					k++;
				}
				continue;
			}
			if (t[0] == STACK_ITER) {
				const struct vslot *sl = &fr->slots[k];

				n += snprintf(line + n, sizeof(line) - n,
					      " fp%d=iter_num(ref_id=%u,state=%s,depth=%u)",
					      -8 * (k + 1), sl->iter_ref,
					      sl->iter_state == ITER_ACTIVE
						      ? "active"
						      : "drained",
					      sl->iter_depth);
				continue;
			}
			if (t[0] == STACK_SPILL) {
				/* a narrow spill: the slot's other bytes
				 * first, as the kernel writes them */
				int p = 0;

				for (int b = 7; b >= 0 && t[b] != STACK_SPILL; b--)
					kinds[p++] = "?mz"[t[b] > 2 ? 0 : t[b]];
				kinds[p] = 0;
				log_reg(env, r, sizeof(r), &fr->slots[k].spill);
				n += snprintf(line + n, sizeof(line) - n,
					      " fp%d=%s%s", -8 * (k + 1), kinds, r);
				continue;
			}
			for (int b = 0; b < 8; b++) {
				kinds[7 - b] = "?mz"[t[b] > 2 ? 0 : t[b]];
				any |= t[b] != STACK_INVALID;
			}
			kinds[8] = 0;
			if (any)
				n += snprintf(line + n, sizeof(line) - n,
					      " fp%d=%s", -8 * (k + 1), kinds);
		}
	}
	for (int i = 0; i < st->ref_cnt && n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - n, "%s%u",
			      i ? "," : " refs=", st->refs[i].id);
	vlog(env, "%s\n", line);
}

static void log_state(struct venv *env, const struct vstate *st)
{
	log_state_of(env, st, false);
}

/* What instruction IN touches, for the trace: the registers it reads or
 * writes (a call: r0-r5, of which r1-r5 end unset and do not print) and
 * the stack slots of this frame it changed (BEFORE: the frame as it was)
 * or read. */
static void scratch_insn(struct venv *env, const struct bpf_insn *in,
			 const struct vframe *before)
{
	u8 cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	bool x = BPF_SRC(in->code) == BPF_X;
	const struct vframe *fr;
	struct hist_entry *h;
	u16 m = 0;

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		m = 1u << in->dst_reg;
		if (x && op != BPF_END && op != BPF_NEG)
			m |= 1u << in->src_reg;
		break;
	case BPF_LDX:
	case BPF_STX:
		m = 1u << in->dst_reg | 1u << in->src_reg;
		if (cls == BPF_STX && in->imm == BPF_CMPXCHG)
			m |= 1;
		break;
	case BPF_ST:
		m = 1u << in->dst_reg;
		break;
	case BPF_LD:
		if (BPF_MODE(in->code) == BPF_IMM)
			m = 1u << in->dst_reg;
		else
			m = 1 | 1u << 6 |
			    (BPF_MODE(in->code) == BPF_IND ? 1u << in->src_reg : 0);
		break;
	default:
		if (op == BPF_CALL)
			m = 0x3f;
		else if (op == BPF_EXIT)
			m = 1;
		else if (op != BPF_JA && op != BPF_JCOND)
			m = 1u << in->dst_reg | (x ? 1u << in->src_reg : 0);
		break;
	}
	env->scratch_regs |= m & 0x7ff;
	if (!env->cur)
		return;
	fr = cur_frame(env);
	for (int k = 0; k < fr->nslots && k < 64; k++)
		if (!before || k >= before->nslots ||
		    memcmp(&fr->slots[k], &before->slots[k], sizeof(fr->slots[k])))
			env->scratch_slots |= 1ULL << k;
	h = env->hist_cnt ? hist_cur(env) : NULL;
	if (h && (h->flags & HIST_STACK) && h->stack_frame == env->cur->curframe &&
	    h->stack_slot < 64)
		env->scratch_slots |= 1ULL << h->stack_slot;
}

/* "; R7=fp0 R10=fp0" after the last instruction's line when nothing came
 * in between, else a line of its own ("9: R0=0"), as the kernel. */
static void log_scratched(struct venv *env, int idx)
{
	if (!env->scratch_regs && !env->scratch_slots && !env->scratch_all)
		return;
	if (env->prev_log_pos && env->prev_log_pos == env->log_len &&
	    env->log_len && env->log[env->log_len - 1] == '\n') {
		size_t pos = env->prev_insn_print_pos;
		/* the kernel's vlog_alignment(): ';' at a multiple of 8
		 * columns, 40 at least */
		size_t to = ((MAX(pos + 4, (size_t)40) + 7) & ~(size_t)7) - pos - 1;

		env->log[--env->log_len] = '\0';
		vlog(env, "%*c;", (int)to, ' ');
	} else {
		vlog(env, "%d:", idx);
	}
	log_state_of(env, env->cur, !env->scratch_all);
	env->scratch_regs = 0;
	env->scratch_slots = 0;
	env->scratch_all = false;
}

static void log_insn(struct venv *env, int idx)
{
	const struct bpf_insn *in = &env->insns[idx];
	const char *call = NULL;
	char text[160];
	size_t start;

	if (!env->log_level)
		return;
	log_scratched(env, idx);
	log_source_line(env, idx);
	if (in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0) {
		const struct helper_desc *h = helper_by_id(in->imm);

		call = h ? h->name : NULL;
	} else if (in->code == (BPF_JMP | BPF_CALL) &&
		   in->src_reg == BPF_PSEUDO_KFUNC_CALL && in->imm >= 0 &&
		   (size_t)in->imm < kfunc_cnt) {
		call = kfuncs[in->imm].name;
	}
	isa_disasm_kernel(env->insns, idx, env->cnt, call, text, sizeof(text));
	start = env->log_len;
	vlog(env, "%d: (%02x) %s\n", idx, in->code, text);
	env->prev_insn_print_pos = env->log_len - start;
	env->prev_log_pos = env->log_len;
}

/* ---- states ---- */

/* A frame and its slots in one allocation, sized to the slots in use. */
static struct vframe *frame_alloc(int nslots)
{
	struct vframe *fr = malloc(sizeof(*fr) + nslots * sizeof(struct vslot));

	if (!fr)
		return NULL;
	fr->slots = (struct vslot *)(fr + 1);
	fr->slots_inline = true;
	fr->cap = nslots;
	fr->nslots = nslots;
	return fr;
}

void frame_free(struct vframe *fr)
{
	if (fr && !fr->slots_inline)
		free(fr->slots);
	free(fr);
}

struct vframe *frame_new(int callsite, int subprog, int frameno)
{
	struct vframe *f = frame_alloc(0);

	if (!f)
		return NULL;
	memset(f->regs, 0, sizeof(f->regs));
	f->callsite = callsite;
	f->subprog = subprog;
	f->is_callback = false;
	f->callback_helper = 0;
	f->regs[BPF_REG_10].type = PTR_TO_STACK;
	f->regs[BPF_REG_10].frameno = frameno;
	f->regs[BPF_REG_10].var_off = tnum_const(0);
	return f;
}

int frame_reserve(struct vframe *fr, int nslots)
{
	if (nslots <= fr->nslots)
		return 0;
	if (nslots > fr->cap) {
		int cap = MAX(nslots, MIN(SLOTS, fr->cap * 2));
		struct vslot *n = malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		memcpy(n, fr->slots, fr->nslots * sizeof(*n));
		if (!fr->slots_inline)
			free(fr->slots);
		fr->slots = n;
		fr->slots_inline = false;
		fr->cap = cap;
	}
	memset(&fr->slots[fr->nslots], 0,
	       (nslots - fr->nslots) * sizeof(struct vslot));
	fr->nslots = nslots;
	return 0;
}

static struct vframe *frame_dup(const struct vframe *src)
{
	struct vframe *fr = frame_alloc(src->nslots);

	if (!fr)
		return NULL;
	memcpy(fr->regs, src->regs, sizeof(fr->regs));
	fr->callsite = src->callsite;
	fr->subprog = src->subprog;
	fr->is_callback = src->is_callback;
	fr->callback_helper = src->callback_helper;
	memcpy(fr->slots, src->slots, src->nslots * sizeof(struct vslot));
	return fr;
}

struct vstate *state_dup(const struct vstate *st)
{
	struct vstate *n = malloc(sizeof(*n));

	if (!n)
		return NULL;
	*n = *st;
	for (int f = 0; f <= st->curframe; f++) {
		n->frame[f] = frame_dup(st->frame[f]);
		if (!n->frame[f]) {
			n->curframe = f - 1;
			state_free(n);
			return NULL;
		}
	}
	for (int f = st->curframe + 1; f < BPFX_MAX_CALL_FRAMES; f++)
		n->frame[f] = NULL;
	return n;
}

void state_free(struct vstate *st)
{
	if (!st)
		return;
	for (int f = 0; f <= st->curframe; f++)
		frame_free(st->frame[f]);
	free(st);
}

int push_state(struct venv *env, struct vstate *st, int insn)
{
	if (env->todo_cnt == env->todo_cap) {
		size_t cap = env->todo_cap ? env->todo_cap * 2 : 64;
		struct vstate **t = realloc(env->todo, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		env->todo = t;
		env->todo_cap = cap;
	}
	if (env->todo_cnt > 8192)
		return verr(env, -E2BIG,
			    "The sequence of %zu jumps is too complex.",
			    env->todo_cnt);
	st->insn = insn;
	st->from_insn = env->cur ? env->cur->insn : -1;
	st->hist_end = env->hist_cnt;
	env->todo[env->todo_cnt++] = st;
	return 0;
}

/* A path ended (exit or pruned): the states it passed are one branch
 * closer to finished. */
static void branch_done(struct vstate *st)
{
	while (st) {
		if (st->branches)
			st->branches--;
		if (st->branches)
			break;
		st = st->parent;
	}
}

/* ---- liveness: registers read before written from each insn on ---- */

static bool is_cond_jmp(const struct bpf_insn *insn)
{
	u8 cls = BPF_CLASS(insn->code), op = BPF_OP(insn->code);

	return (cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_JA &&
	       op != BPF_CALL && op != BPF_EXIT;
}

static void insn_use_def(struct venv *env, int i, u16 *use, u16 *def)
{
	const struct bpf_insn *in = &env->insns[i];
	u8 cls = BPF_CLASS(in->code);
	u16 d = 1u << in->dst_reg, s = 1u << in->src_reg;

	*use = 0;
	*def = 0;
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (BPF_OP(in->code) == BPF_MOV) {
			*use = BPF_SRC(in->code) == BPF_X ? s : 0;
		} else {
			*use = d | (BPF_SRC(in->code) == BPF_X ? s : 0);
		}
		*def = d;
		break;
	case BPF_LDX:
		*use = s;
		*def = d;
		break;
	case BPF_ST:
		*use = d;
		break;
	case BPF_STX:
		*use = d | s;
		if (BPF_MODE(in->code) == BPF_ATOMIC) {
			if (in->imm == BPF_CMPXCHG) {
				*use |= 1;
				*def = 1;
			} else if (in->imm & BPF_FETCH) {
				*def = s;
			}
		}
		break;
	case BPF_LD:
		if (BPF_MODE(in->code) == BPF_IMM) {
			*def = d;
		} else {
			*use = (1u << 6) | (BPF_MODE(in->code) == BPF_IND ? s : 0);
			*def = 0x3f;
		}
		break;
	case BPF_JMP:
	case BPF_JMP32:
		if (BPF_OP(in->code) == BPF_CALL) {
			*use = 0x3e;
			*def = 0x3f;
		} else if (BPF_OP(in->code) == BPF_EXIT) {
			*use = 1;
		} else if (BPF_OP(in->code) != BPF_JA &&
			   BPF_OP(in->code) != BPF_JCOND) {
			*use = d | (BPF_SRC(in->code) == BPF_X ? s : 0);
		}
		break;
	}
	*use |= 1u << 10;
}

static int jmp_target(const struct bpf_insn *in, int i)
{
	if (in->code == (BPF_JMP32 | BPF_JA))
		return i + 1 + in->imm;
	return i + 1 + in->off;
}

static void compute_liveness(struct venv *env)
{
	size_t n = env->cnt;
	bool changed = true;

	for (int round = 0; changed && round < 1000; round++) {
		changed = false;
		for (int i = (int)n - 1; i >= 0; i--) {
			const struct bpf_insn *in = &env->insns[i];
			u16 use, def, out = 0, live;
			u8 cls = BPF_CLASS(in->code);

			if (i > 0 && env->insns[i - 1].code ==
					     (BPF_LD | BPF_IMM | BPF_DW))
				continue;
			insn_use_def(env, i, &use, &def);
			if ((cls == BPF_JMP || cls == BPF_JMP32) &&
			    BPF_OP(in->code) == BPF_EXIT) {
				out = 0;
			} else if ((cls == BPF_JMP || cls == BPF_JMP32) &&
				   BPF_OP(in->code) == BPF_JA) {
				int t = jmp_target(in, i);
				out = t >= 0 && (size_t)t < n ? env->live[t] : 0;
			} else {
				int next = i + (in->code == (BPF_LD | BPF_IMM |
							     BPF_DW) ? 2 : 1);
				out = (size_t)next < n ? env->live[next] : 0;
				if (is_cond_jmp(in)) {
					int t = jmp_target(in, i);
					if (t >= 0 && (size_t)t < n)
						out |= env->live[t];
				}
			}
			live = use | (out & ~def);
			if (live != env->live[i]) {
				env->live[i] = live;
				changed = true;
			}
		}
	}
}

/* ---- state comparison ---- */

struct idmap {
	u32 old[64], cur[64];
	int cnt;
};

static bool check_ids(struct idmap *m, u32 old, u32 cur)
{
	if (!old && !cur)
		return true;
	if (!old || !cur)
		return false;
	for (int i = 0; i < m->cnt; i++) {
		if (m->old[i] == old)
			return m->cur[i] == cur;
		if (m->cur[i] == cur)
			return false;
	}
	if (m->cnt == 64)
		return false;
	m->old[m->cnt] = old;
	m->cur[m->cnt++] = cur;
	return true;
}

static bool regs_exact(const struct vreg *a, const struct vreg *b,
		       struct idmap *m)
{
	return a->type == b->type && a->flags == b->flags &&
	       a->off == b->off && a->map == b->map &&
	       a->mem_size == b->mem_size && a->btf_id == b->btf_id &&
	       a->dynptr_id == b->dynptr_id &&
	       a->range == b->range &&
	       a->frameno == b->frameno && a->subprog == b->subprog &&
	       a->var_off.value == b->var_off.value &&
	       a->var_off.mask == b->var_off.mask && a->smin == b->smin &&
	       a->smax == b->smax && a->umin == b->umin &&
	       a->umax == b->umax && a->s32_min == b->s32_min &&
	       a->s32_max == b->s32_max && a->u32_min == b->u32_min &&
	       a->u32_max == b->u32_max && check_ids(m, a->id, b->id) &&
	       check_ids(m, a->ref_obj_id, b->ref_obj_id);
}

/* Whether whatever is safe with OLD is safe with CUR. */
static bool regsafe(const struct vreg *old, const struct vreg *cur,
		    struct idmap *m, enum state_cmp cmp)
{
	if (cmp == EXACT)
		return regs_exact(old, cur, m);
	if (old->type == NOT_INIT)
		return true;
	if (cur->type != old->type)
		return false;
	switch (old->type) {
	case SCALAR_VALUE:
		if (!old->precise && cmp == NOT_EXACT)
			return true;
		if (!scalar_within(old, cur))
			return false;
		return !old->id || check_ids(m, old->id, cur->id);
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		if (cur->range < old->range || old->off != cur->off)
			return false;
		return scalar_within(old, cur) && check_ids(m, old->id, cur->id);
	default:
		return old->flags == cur->flags && old->off == cur->off &&
		       old->map == cur->map && old->mem_size == cur->mem_size &&
		       old->btf_id == cur->btf_id &&
		       old->dynptr_id == cur->dynptr_id &&
		       old->frameno == cur->frameno &&
		       old->subprog == cur->subprog &&
		       scalar_within(old, cur) &&
		       check_ids(m, old->id, cur->id) &&
		       check_ids(m, old->ref_obj_id, cur->ref_obj_id);
	}
}

static bool slot_all_misc(const u8 *t)
{
	for (int b = 0; b < 8; b++)
		if (t[b] != STACK_MISC)
			return false;
	return true;
}

static bool stacksafe(const struct vframe *old, const struct vframe *cur,
		      struct idmap *m, enum state_cmp cmp)
{
	static const u8 invalid[8];

	if (cmp == EXACT && old->nslots != cur->nslots) {
		/* slots beyond the shorter frame must all be invalid */
		const struct vframe *longer = old->nslots > cur->nslots ? old : cur;
		int shorter = MIN(old->nslots, cur->nslots);

		for (int k = shorter; k < longer->nslots; k++)
			if (memcmp(longer->slots[k].stype, invalid, 8))
				return false;
	}
	for (int k = 0; k < old->nslots; k++) {
		const struct vslot *os = &old->slots[k];
		const struct vslot *cs = k < cur->nslots ? &cur->slots[k] : NULL;
		const u8 *ot = os->stype, *ct = cs ? cs->stype : invalid;

		if (cmp == EXACT) {
			if (memcmp(ot, ct, 8))
				return false;
			if (ot[0] == STACK_ITER &&
			    (os->iter_state != cs->iter_state ||
			     !check_ids(m, os->iter_ref, cs->iter_ref)))
				return false;
			if (ot[0] == STACK_DYNPTR &&
			    (os->dynptr_type != cs->dynptr_type ||
			     os->dynptr_first != cs->dynptr_first ||
			     !check_ids(m, os->dynptr_ref, cs->dynptr_ref)))
				return false;
			if (ot[0] == STACK_IRQ_FLAG &&
			    !check_ids(m, os->iter_ref, cs->iter_ref))
				return false;
			if (ot[0] == STACK_SPILL &&
			    !regs_exact(&os->spill, &cs->spill, m))
				return false;
			continue;
		}
		if (ot[0] == STACK_ITER) {
			/* the depth is left out: it differs every iteration */
			if (ct[0] != STACK_ITER ||
			    os->iter_state != cs->iter_state ||
			    !check_ids(m, os->iter_ref, cs->iter_ref))
				return false;
			continue;
		}
		if (ot[0] == STACK_DYNPTR) {
			/* the same kind of dynptr, holding the same
			 * reference */
			if (memcmp(ot, ct, 8) ||
			    os->dynptr_type != cs->dynptr_type ||
			    os->dynptr_first != cs->dynptr_first ||
			    !check_ids(m, os->dynptr_ref, cs->dynptr_ref))
				return false;
			continue;
		}
		if (ot[0] == STACK_IRQ_FLAG) {
			if (ct[0] != STACK_IRQ_FLAG ||
			    !check_ids(m, os->iter_ref, cs->iter_ref))
				return false;
			continue;
		}
		if (ot[0] == STACK_SPILL) {
			if (ct[0] == STACK_SPILL) {
				/* a narrow spill: the spilled bytes and the
				 * others of the slot, byte by byte */
				for (int b = 1; b < 8; b++) {
					u8 o = ot[b], c = ct[b];

					if (o == STACK_INVALID ||
					    (o == STACK_MISC && (c == STACK_MISC ||
								 c == STACK_ZERO)))
						continue;
					if (o != c)
						return false;
				}
				if (!regsafe(&os->spill, &cs->spill, m, cmp))
					return false;
				continue;
			}
			/* an imprecise spilled scalar is any 8 written bytes */
			if (os->spill.type == SCALAR_VALUE && slot_all_misc(ct)) {
				struct vreg unbound;

				reg_mark_unknown(&unbound);
				if (!regsafe(&os->spill, &unbound, m, cmp))
					return false;
				continue;
			}
			return false;
		}
		for (int b = 0; b < 8; b++) {
			u8 o = ot[b], c = ct[b];

			if (o == STACK_INVALID)
				continue;
			if (c == STACK_INVALID)
				return false;
			if (c == STACK_ITER || c == STACK_DYNPTR ||
			    c == STACK_IRQ_FLAG)
				return false;
			if (o == STACK_MISC) {
				if (c == STACK_SPILL &&
				    cs->spill.type != SCALAR_VALUE)
					return false;
				continue;
			}
			/* old zero */
			if (c == STACK_ZERO)
				continue;
			if (c == STACK_SPILL && reg_is_const(&cs->spill) &&
			    cs->spill.var_off.value == 0)
				continue;
			return false;
		}
	}
	return true;
}

static bool states_equal(struct venv *env, const struct vstate *old,
			 const struct vstate *cur, int insn, enum state_cmp cmp)
{
	struct idmap m = { .cnt = 0 };

	if (old->curframe != cur->curframe || old->ref_cnt != cur->ref_cnt ||
	    old->lock_id != cur->lock_id || old->lock_map != cur->lock_map ||
	    old->lock_off != cur->lock_off ||
	    old->rcu_depth != cur->rcu_depth ||
	    old->preempt_depth != cur->preempt_depth)
		return false;
	for (int i = 0; i < old->ref_cnt; i++)
		if (!check_ids(&m, old->refs[i].id, cur->refs[i].id))
			return false;
	if (old->irq_cnt != cur->irq_cnt)
		return false;
	for (int i = 0; i < old->irq_cnt; i++)
		if (!check_ids(&m, old->irq_refs[i].id, cur->irq_refs[i].id))
			return false;
	for (int f = old->curframe; f >= 0; f--) {
		const struct vframe *of = old->frame[f], *cf = cur->frame[f];
		u16 live;

		if (of->callsite != cf->callsite || of->is_callback != cf->is_callback)
			return false;
		if (f == old->curframe)
			live = env->live[insn];
		else
			live = env->live[old->frame[f + 1]->callsite + 1] & ~0x3f;
		for (int r = 0; r < 11; r++) {
			if (cmp != EXACT && !(live & (1u << r)))
				continue;
			if (!regsafe(&of->regs[r], &cf->regs[r], &m, cmp))
				return false;
		}
		if (!stacksafe(of, cf, &m, cmp))
			return false;
	}
	return true;
}

static bool is_callback_call(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) && !in->src_reg &&
	       (in->imm == BPF_FUNC_loop || in->imm == BPF_FUNC_for_each_map_elem);
}

/* Returns 1 when the path can stop (covered), 0 to go on, <0 on error.
 * As the kernel's is_state_visited(): a checkpoint is added only after 2
 * jumps and 8 instructions since the last one (or always at a callback's
 * call), and a checkpoint that keeps missing is dropped. */
static int is_state_visited(struct venv *env, int insn)
{
	struct vstate *cur = env->cur;
	struct explored *e, **link;
	struct vframe *fr = cur->frame[cur->curframe];
	/* a callback's entry on a later iteration: covered by the first
	 * iteration's entry state, the loop invariant holds */
	bool callback_entry = cur->callback_entry ||
			      (fr->is_callback &&
			       (u32)insn == env->sub[fr->subprog].start);
	bool iter_next = is_iter_next_insn(env, insn);
	bool may_goto = is_may_goto_insn(&env->insns[insn]);
	bool force = is_callback_call(&env->insns[insn]) || callback_entry ||
		     iter_next || may_goto;
	bool add = force;
	u32 states_cnt = 0;
	int err;

	cur->callback_entry = false;
	if (!env->prune_point[insn])
		return 0;
	if (env->jmps_processed - env->prev_jmps_processed >= 2 &&
	    env->insn_processed - env->prev_insn_processed >= 8)
		add = true;
	for (link = &env->expl[insn]; (e = *link);) {
		states_cnt++;
		if (iter_next) {
			/* an iteration whose state an earlier one covers,
			 * finished or not: the loop has converged */
			if (iter_next_active(cur) &&
			    states_equal(env, e->st, cur, insn, RANGE_WITHIN))
				goto hit;
			goto miss;
		}
		if (e->st->branches) {
			if (callback_entry &&
			    states_equal(env, e->st, cur, insn, RANGE_WITHIN))
				goto hit;
			/* a later pass of a may_goto loop that an earlier
			 * one covers: the loop has converged */
			if (may_goto &&
			    e->st->may_goto_depth != cur->may_goto_depth &&
			    states_equal(env, e->st, cur, insn, RANGE_WITHIN))
				goto hit;
			if (states_equal(env, e->st, cur, insn, EXACT) &&
			    !iter_depths_differ(e->st, cur) &&
			    e->st->may_goto_depth == cur->may_goto_depth) {
				log_source_line(env, insn);
				vlog(env, "cur state: ");
				log_state(env, cur);
				vlog(env, "old state: ");
				log_state(env, e->st);
				env->err_insn = insn;
				return verr(env, -EINVAL,
					    "infinite loop detected at insn %d",
					    insn);
			}
			/* in a loop: not too often, but at every may_goto
			 * (a forced checkpoint, as the kernel's) */
			if (!may_goto &&
			    env->jmps_processed - env->prev_jmps_processed < 20 &&
			    env->insn_processed - env->prev_insn_processed < 100)
				add = false;
			goto miss;
		}
		if (states_equal(env, e->st, cur, insn,
				 state_in_iter_body(e->st) ||
						 e->st->may_goto_depth
					 ? RANGE_WITHIN
					 : NOT_EXACT))
			goto hit;
miss:
		if (add)
			e->miss++;
		{
			u32 n = force && e->st->branches ? 64 : 3;

			if (e->miss > e->hit * n + n) {
				/* unlikely to help: out of the list, freed
				 * at the end (later states may point at it) */
				*link = e->next;
				e->next = env->evicted;
				env->evicted = e;
				env->states_at[insn]--;
				env->cur_states--;
				continue;
			}
		}
		link = &e->next;
	}
	env->max_states_per_insn = MAX(env->max_states_per_insn, states_cnt);
	if (!add)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->st = state_dup(cur);
	if (!e->st) {
		free(e);
		return -ENOMEM;
	}
	env->prev_jmps_processed = env->jmps_processed;
	env->prev_insn_processed = env->insn_processed;
	e->st->branches = 1;
	e->st->parent = cur->parent;
	e->st->insn = insn;
	e->st->hist_end = env->hist_cnt;
	cur->parent = e->st;
	cur->hist_start = env->hist_cnt;
	/* precision inherited from before the checkpoint is stale */
	mark_all_imprecise(cur);
	e->next = env->expl[insn];
	env->expl[insn] = e;
	env->states_at[insn]++;
	env->total_states++;
	env->cur_states++;
	env->peak_states = MAX(env->peak_states, env->cur_states);
	return 0;
hit:
	e->hit++;
	err = propagate_precision(env, e->st, insn);
	if (err)
		return err;
	if (env->log_level && env->path_popped && cur->from_insn >= 0)
		vlog(env, "\nfrom %d to %d: safe\n", cur->from_insn, insn);
	else if (env->log_level)
		vlog(env, "%d: safe\n", insn);
	return 1;
}

/* ---- registers ---- */

int check_reg_read(struct venv *env, int regno)
{
	if (cur_regs(env)[regno].type == NOT_INIT)
		return verr(env, 0, "R%d !read_ok", regno);
	return 0;
}

static bool is_pointer(const struct vreg *r)
{
	return r->type != SCALAR_VALUE && r->type != NOT_INIT;
}

static bool is_pkt(const struct vreg *r)
{
	return r->type == PTR_TO_PACKET || r->type == PTR_TO_PACKET_META;
}

void mark_ptr_not_null(struct venv *env, u32 id, bool is_null)
{
	struct vstate *st = env->cur;
	u32 ref = 0;

	FOR_EACH_REG(st, r, {
		if (r->id == id && (r->flags & VREG_MAYBE_NULL) &&
		    r->type != SCALAR_VALUE) {
			/* NULL holds nothing; a slice's reference is its
			 * dynptr's, which stays */
			if (r->ref_obj_id && r->ref_obj_id == r->id)
				ref = r->ref_obj_id;
			if (is_null) {
				reg_mark_known(r, 0);
			} else if (r->type == PTR_TO_MAP_VALUE && r->map &&
				   map_type_is_map_in_map(r->map->type)) {
				/* a map-in-map's value is an inner map, as
				 * the inner definition describes it */
				r->type = CONST_PTR_TO_MAP;
				r->map = r->map->inner_map;
				r->flags &= ~VREG_MAYBE_NULL;
			} else {
				r->flags &= ~VREG_MAYBE_NULL;
			}
		}
	});
	if (is_null && ref) {
		/* a NULL sample holds nothing */
		for (int i = 0; i < st->ref_cnt; i++)
			if (st->refs[i].id == ref) {
				st->refs[i] = st->refs[--st->ref_cnt];
				break;
			}
	}
}

void clear_pkt_pointers(struct venv *env)
{
	struct vstate *st = env->cur;

	FOR_EACH_REG(st, r, {
		if (is_pkt(r) || r->type == PTR_TO_PACKET_END ||
		    (r->type == PTR_TO_MEM && (r->flags & VREG_PKT_SLICE)))
			reg_mark_unknown(r);
	});
}

static void sync_linked_scalars(struct venv *env, const struct vreg *known)
{
	struct vstate *st = env->cur;

	if (!known->id || known->type != SCALAR_VALUE)
		return;
	FOR_EACH_REG(st, r, {
		if (r->type == SCALAR_VALUE && r->id == known->id)
			*r = *known;
	});
}

/* ---- ctx access per program type ---- */

enum { CTX_BAD = 0, CTX_SCALAR, CTX_PKT, CTX_PKT_END, CTX_PKT_META,
       CTX_SOCK };

static int skb_ctx_access(u32 type, int off, int size, bool write)
{
	bool tc = type == BPF_PROG_TYPE_SCHED_CLS ||
		  type == BPF_PROG_TYPE_SCHED_ACT;
	bool direct = tc || type == BPF_PROG_TYPE_LWT_IN ||
		      type == BPF_PROG_TYPE_LWT_OUT ||
		      type == BPF_PROG_TYPE_LWT_XMIT ||
		      type == BPF_PROG_TYPE_SK_SKB ||
		      type == BPF_PROG_TYPE_CGROUP_SKB;
	int end = off + size;

	if (off < 0 || off >= 192 || off % size)
		return CTX_BAD;
	if (off >= 48 && end <= 68) { /* cb[] */
		return type == BPF_PROG_TYPE_CGROUP_SKB && write ? CTX_BAD
								 : CTX_SCALAR;
	}
	if (write) {
		if (size > 4 && off != 152)
			return CTX_BAD;
		switch (off & ~3) {
		case 8: /* mark */
		case 32: /* priority */
			return CTX_SCALAR;
		case 12: /* queue_mapping */
		case 44: /* tc_index */
		case 72: /* tc_classid */
			return tc ? CTX_SCALAR : CTX_BAD;
		case 152: /* tstamp */
			return tc && size == 8 ? CTX_SCALAR : CTX_BAD;
		}
		return CTX_BAD;
	}
	switch (off) {
	case 76:
		return direct && size == 4 ? CTX_PKT : CTX_BAD;
	case 80:
		return direct && size == 4 ? CTX_PKT_END : CTX_BAD;
	case 140:
		return tc && size == 4 ? CTX_PKT_META : CTX_BAD;
	case 144: /* flow_keys */
		return CTX_BAD;
	case 152:
	case 184:
		return size == 8 ? CTX_SCALAR : CTX_BAD;
	case 168: /* sk */
		return size == 8 ? CTX_SOCK : CTX_BAD;
	}
	if (size == 8)
		return CTX_BAD;
	if (off >= 76 && off < 84)
		return CTX_BAD;
	if (off >= 140 && off < 192 && !(off >= 160 && off < 168) &&
	    !(off >= 176 && off < 184))
		return CTX_BAD;
	if (type == BPF_PROG_TYPE_SOCKET_FILTER && off == 72)
		return CTX_BAD;
	return CTX_SCALAR;
}

static int xdp_ctx_access(int off, int size, bool write)
{
	if (write || off < 0 || off >= 24 || off % size)
		return CTX_BAD;
	switch (off) {
	case 0:
		return size == 4 ? CTX_PKT : CTX_BAD;
	case 4:
		return size == 4 ? CTX_PKT_END : CTX_BAD;
	case 8:
		return size == 4 ? CTX_PKT_META : CTX_BAD;
	}
	return size <= 4 ? CTX_SCALAR : CTX_BAD;
}

/* Read-only contexts of the tracing kinds, as the kernel's
 * *_is_valid_access(): x86-64's struct pt_regs is 21 registers of 8
 * bytes, struct bpf_perf_event_data is those plus sample_period and addr,
 * a tracepoint's record starts after its 8-byte common header and ends at
 * PERF_MAX_TRACE_SIZE (8192), a raw tracepoint has up to 12 u64 arguments. */
#define PT_REGS_SIZE 168
static int tracing_ctx_access(u32 type, int off, int size, bool write)
{
	if (write || off < 0 || off % size)
		return CTX_BAD;
	switch (type) {
	case BPF_PROG_TYPE_KPROBE:
		return off + size <= PT_REGS_SIZE ? CTX_SCALAR : CTX_BAD;
	case BPF_PROG_TYPE_PERF_EVENT:
		if (off >= PT_REGS_SIZE + 16)
			return CTX_BAD;
		/* sample_period, addr: any power-of-two part; regs: whole */
		if (off >= PT_REGS_SIZE)
			return size <= 8 ? CTX_SCALAR : CTX_BAD;
		return size == 8 ? CTX_SCALAR : CTX_BAD;
	case BPF_PROG_TYPE_TRACEPOINT:
		return off >= 8 && off < 8192 ? CTX_SCALAR : CTX_BAD;
	default: /* raw tracepoints */
		return off < 12 * 8 ? CTX_SCALAR : CTX_BAD;
	}
}

static int ctx_access(u32 type, int off, int size, bool write)
{
	switch (type) {
	case BPF_PROG_TYPE_SOCKET_FILTER:
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_LWT_IN:
	case BPF_PROG_TYPE_LWT_OUT:
	case BPF_PROG_TYPE_LWT_XMIT:
	case BPF_PROG_TYPE_SK_SKB:
		return skb_ctx_access(type, off, size, write);
	case BPF_PROG_TYPE_XDP:
		return xdp_ctx_access(off, size, write);
	case BPF_PROG_TYPE_SYSCALL:
		return off >= 0 && off < 0xffff && !(off % size) ? CTX_SCALAR
								 : CTX_BAD;
	case BPF_PROG_TYPE_KPROBE:
	case BPF_PROG_TYPE_PERF_EVENT:
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return tracing_ctx_access(type, off, size, write);
	default:
		/* types bpfx does not model field by field: in-range,
		 * aligned accesses; the run-time checks still apply */
		return off >= 0 && off < 0xffff ? CTX_SCALAR : CTX_BAD;
	}
}

/* ---- memory access ---- */

static int stack_frame_bytes(struct venv *env, const struct vreg *reg,
			     struct vframe **fr)
{
	*fr = env->cur->frame[reg->frameno];
	return 0;
}

static bool byte_is_zero_value(const struct vreg *v)
{
	return v && reg_is_const(v) && v->var_off.value == 0;
}

/* The byte at fp+off (off < 0) of a frame whose slots reach it. */
static u8 *stack_byte(struct vframe *fr, int off)
{
	int spi = (-off - 1) / 8;

	return &fr->slots[spi].stype[off + 8 * (spi + 1)];
}

/* A byte written as data: a spill it was part of is plain bytes now. */
static void stack_write_byte(struct vframe *fr, int off, u8 type)
{
	int spi = (-off - 1) / 8;

	if (fr->slots[spi].stype[0] == STACK_SPILL ||
	    fr->slots[spi].stype[0] == STACK_ITER ||
	    fr->slots[spi].stype[0] == STACK_IRQ_FLAG)
		memset(fr->slots[spi].stype, STACK_MISC, 8);
	*stack_byte(fr, off) = type;
}

/* The number of bits a scalar's unsigned range needs (the kernel's
 * get_reg_width()). */
static int reg_width(const struct vreg *r)
{
	return r->umax ? 64 - __builtin_clzll(r->umax) : 0;
}

/* A store to the stack. VAL (the stored register, or an immediate as one)
 * is spilled when it is a whole 8-byte slot, or a scalar stored at the
 * start of a slot with fewer bytes (the kernel's save_register_state():
 * the other bytes of the slot stay zero or unwritten, or become data);
 * a narrowing spill loses the scalar's links. */
static int stack_write(struct vframe *fr, int off, int size,
		       const struct vreg *val, bool spill)
{
	int spi = (-off - 1) / 8;
	int err = frame_reserve(fr, (-off + 7) / 8);

	if (err)
		return err;
	if (spill && size == 8 && !(off % 8) && val) {
		memset(fr->slots[spi].stype, STACK_SPILL, 8);
		fr->slots[spi].spill = *val;
		return 0;
	}
	if (spill && size < 8 && !(off % 8) && val &&
	    val->type == SCALAR_VALUE) {
		u8 *t = fr->slots[spi].stype;

		for (int b = size; b < 8; b++)
			if (t[b] != STACK_ZERO && t[b] != STACK_INVALID)
				t[b] = STACK_MISC;
		memset(t, STACK_SPILL, size);
		fr->slots[spi].spill = *val;
		if (reg_width(val) > size * 8)
			fr->slots[spi].spill.id = 0;
		return 0;
	}
	for (int b = off; b < off + size; b++)
		stack_write_byte(fr, b, byte_is_zero_value(val) ? STACK_ZERO
								: STACK_MISC);
	return 0;
}

/* A scalar cut to its low SIZE bytes, zero-extended (the kernel's
 * coerce_reg_to_size()). */
static void reg_coerce_size(struct vreg *r, int size)
{
	u64 mask = (1ULL << (size * 8)) - 1;

	r->var_off = tnum_cast(r->var_off, (u8)size);
	if ((r->umin & ~mask) == (r->umax & ~mask)) {
		r->umin &= mask;
		r->umax &= mask;
	} else {
		r->umin = 0;
		r->umax = mask;
	}
	r->smin = (s64)r->umin;
	r->smax = (s64)r->umax;
	if (size < 4) {
		r->s32_min = INT32_MIN;
		r->s32_max = INT32_MAX;
		r->u32_min = 0;
		r->u32_max = UINT32_MAX;
	}
	reg_bounds_sync(r);
}

static int check_stack_access(struct venv *env, int regno,
			      const struct vreg *reg, int off, int size,
			      bool write, int value_regno, bool sign_ext,
			      const struct vreg *value, bool st_insn)
{
	struct vframe *fr;
	s64 lo, hi;
	int err;

	stack_frame_bytes(env, reg, &fr);
	if (!tnum_is_const(reg->var_off)) {
		/* the kernel's BPF_MAX_VAR_OFF */
		if (reg->smax >= (1LL << 29) || reg->smin <= -(1LL << 29))
			return verr(env, 0,
				    "invalid unbounded variable-offset%s stack R%d",
				    write ? " write to" : " read from", regno);
		lo = reg->smin + reg->off + off;
		hi = reg->smax + reg->off + off;
		if (lo < -MAX_BPF_STACK || hi + size > 0)
			return verr(env, 0,
				    "invalid variable-offset%s stack R%d var_off=(0x%llx; 0x%llx) off=%d size=%d",
				    write ? " write to" : " read from", regno,
				    (unsigned long long)reg->var_off.value,
				    (unsigned long long)reg->var_off.mask,
				    reg->off + off, size);
		if (write && ((err = frame_reserve(fr, (int)((-lo + 7) / 8))) ||
			      (err = dynptr_stack_write(env, fr, lo, hi + size))))
			return err;
		for (s64 b = lo; b < hi + size; b++) {
			if (write) {
				stack_write_byte(fr, b, STACK_MISC);
			} else if (stack_type(fr, (-b - 1) / 8,
					      b + 8 * ((-b - 1) / 8 + 1)) ==
				   STACK_INVALID) {
				return verr(env, 0,
					    "invalid variable-offset read from stack R%d var_off=(0x%llx; 0x%llx) off=%d size=%d",
					    regno,
					    (unsigned long long)reg->var_off.value,
					    (unsigned long long)reg->var_off.mask,
					    off, size);
			}
		}
		if (!write && value_regno >= 0)
			reg_mark_unknown(&cur_regs(env)[value_regno]);
		return 0;
	}
	lo = (s64)reg->var_off.value + reg->off + off;
	if (lo < -MAX_BPF_STACK || lo + size > 0 || size <= 0)
		return verr(env, 0, "invalid%s stack R%d off=%lld size=%d",
			    write ? " write to" : " read from", regno,
			    (long long)lo, size);
	/* for backtracking: the slot this instruction touched */
	hist_note_stack(env, reg->frameno, (int)((-lo - 1) / 8));
	if (write) {
		if (value && is_pointer(value) && (size != 8 || lo % 8))
			value = NULL; /* part of a pointer: plain bytes */
		if ((err = dynptr_stack_write(env, fr, lo, lo + size)))
			return err;
		/* the kernel keeps an immediate 0 as zero bytes, any
		 * other immediate as a spilled constant */
		return stack_write(fr, lo, size, value,
				   !(st_insn && byte_is_zero_value(value)));
	}
	/* read */
	int spi = (-lo - 1) / 8;
	struct vreg *dst = value_regno >= 0 ? &cur_regs(env)[value_regno]
					    : NULL;

	if ((-lo - 1) / 8 != (-(lo + size - 1) - 1) / 8)
		hist_cur(env)->flags |= HIST_STACK2;
	if (slot_is_spill(fr, spi) && lo % 8 == 0 && size == 8 &&
	    fr->slots[spi].stype[7] == STACK_SPILL) {
		if (dst)
			*dst = fr->slots[spi].spill;
		return 0;
	}
	/* a fill no wider than the spill, from its start: the spilled
	 * scalar cut to the fill's size (the kernel's narrowing fill) */
	if (slot_is_spill(fr, spi) && lo % 8 == 0 && size < 8 &&
	    fr->slots[spi].spill.type == SCALAR_VALUE &&
	    fr->slots[spi].stype[size - 1] == STACK_SPILL) {
		const struct vreg *sp = &fr->slots[spi].spill;

		if (!dst)
			return 0;
		if (sign_ext && reg_is_const(sp)) {
			u64 v = sp->var_off.value;
			reg_mark_known(dst, size == 1 ? (u64)(s64)(s8)v :
					    size == 2 ? (u64)(s64)(s16)v :
							(u64)(s64)(s32)v);
			return 0;
		}
		if (!sign_ext) {
			*dst = *sp;
			if (reg_width(sp) > size * 8)
				dst->id = 0;
			reg_coerce_size(dst, size);
			return 0;
		}
	}
	int zeros = 0;
	for (int i = 0; i < size; i++) {
		int b = lo + i, slot = (-b - 1) / 8;
		u8 t = stack_type(fr, slot, b + 8 * (slot + 1));

		if (t == STACK_SPILL) {
			if (fr->slots[slot].spill.type != SCALAR_VALUE)
				return verr(env, 0,
					    "invalid size of register fill");
			if (byte_is_zero_value(&fr->slots[slot].spill))
				zeros++;
			continue;
		}
		if (t == STACK_ZERO) {
			zeros++;
			continue;
		}
		if (t == STACK_MISC)
			continue;
		return verr(env, 0, "invalid read from stack off %lld+%d size %d",
			    (long long)lo, i, size);
	}
	if (dst) {
		if (zeros == size)
			reg_mark_known(dst, 0);
		else if (slot_is_spill(fr, spi) && !sign_ext &&
			 fr->slots[spi].stype[7] == STACK_SPILL &&
			 reg_is_const(&fr->slots[spi].spill) && lo % 8 == 0) {
			u64 v = fr->slots[spi].spill.var_off.value;
			reg_mark_known(dst, size == 8 ? v :
					    v & ((1ULL << (size * 8)) - 1));
		} else {
			reg_mark_unknown(dst);
			if (!sign_ext && size < 8) {
				dst->var_off = TNUM(0, (1ULL << (size * 8)) - 1);
				reg_bounds_sync(dst);
			}
		}
	}
	return 0;
}

static int check_region(struct venv *env, int regno, const struct vreg *reg,
			int off, int size, u32 mem_size, const char *what)
{
	s64 lo = reg->smin + reg->off + off;
	s64 hi = (s64)reg->umax + reg->off + off;

	if (reg->smin < 0 && !tnum_is_const(reg->var_off))
		return verr(env, 0,
			    "R%d min value is negative, either use unsigned index or do a if (index >=0) check.",
			    regno);
	if (!tnum_is_const(reg->var_off) && reg->umax >= (1ULL << 29))
		return verr(env, 0,
			    "R%d unbounded memory access, make sure to bounds check any such access",
			    regno);
	if (tnum_is_const(reg->var_off))
		lo = hi = (s64)reg->var_off.value + reg->off + off;
	if (lo < 0 || size < 0 || hi + size > mem_size) {
		s64 bad = lo < 0 ? lo : hi;
		if (!tnum_is_const(reg->var_off))
			verr(env, 0, "R%d %s value is outside of the allowed memory range",
			     regno, lo < 0 ? "min" : "max");
		if (!strcmp(what, "map value"))
			return verr(env, 0,
				    "invalid access to map value, value_size=%u off=%lld size=%d",
				    mem_size, (long long)bad, size);
		if (!strcmp(what, "map key"))
			return verr(env, 0,
				    "invalid access to map key, key_size=%u off=%lld size=%d",
				    mem_size, (long long)bad, size);
		return verr(env, 0,
			    "invalid access to memory, mem_size=%u off=%lld size=%d",
			    mem_size, (long long)bad, size);
	}
	return 0;
}

static const struct btf_type *skip_mods(const struct btf *btf, u32 *id)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);

	while (t && btf_is_mod(t)) {
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return t;
}

/* Whether [off, off + size) of the struct ID is one scalar member (or
 * lies within one scalar array), walking nested structs and arrays of
 * structs, with the kernel's btf_struct_walk() rules and messages. */
static int struct_walk(struct venv *env, u32 id, u32 off, u32 size)
{
	const struct btf *btf = env->prog->obj->btf;
	const struct btf_type *t;
	const char *tname;

again:
	t = skip_mods(btf, &id);
	tname = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (!tname)
		tname = "";
	if (!t || !btf_is_composite(t))
		return verr(env, -EINVAL, "Type '%s' is not a struct", tname);
	if ((u64)off + size > t->size)
		return verr(env, 0, "access beyond struct %s at off %u size %u",
			    tname, off, size);
	for (u16 i = 0; i < btf_vlen(t); i++) {
		const struct btf_member *m = &btf_members(t)[i];
		u32 moff = btf_member_bit_offset(t, i) / 8;
		u32 bits = btf_member_bitfield_size(t, i);
		const char *mname = btf__name_by_offset(btf, m->name_off);
		const struct btf_type *mt;
		u32 mid = m->type, mend;
		s64 msize;

		if ((u64)off + size <= moff)
			break;
		if (bits) {
			u32 end_bit = btf_member_bit_offset(t, i) + bits;
			if (off <= moff && (end_bit + 7) / 8 <= off + size)
				return 0;
			continue;
		}
		if (off < moff)
			break;
		msize = btf__resolve_size(btf, mid);
		mt = skip_mods(btf, &mid);
		if (msize < 0 || !mt)
			return verr(env, -EFAULT, "field %s doesn't have size",
				    mname ? mname : "");
		mend = moff + (u32)msize;
		if (off >= mend)
			continue;
		while (btf_is_array(mt)) {
			u32 eid = btf_array(mt)->type;
			s64 esz = btf__resolve_size(btf, eid);
			const struct btf_type *et = skip_mods(btf, &eid);

			if (esz <= 0 || !et)
				break;
			if (!btf_is_composite(et) && !btf_is_array(et)) {
				mt = et;
				break;
			}
			moff += (off - moff) / (u32)esz * (u32)esz;
			mend = moff + (u32)esz;
			mid = eid;
			mt = et;
		}
		if (btf_is_composite(mt)) {
			id = mid;
			off -= moff;
			goto again;
		}
		if (btf_is_ptr(mt) && (msize != size || off != moff))
			return verr(env, 0,
				    "cannot access ptr member %s with moff %u in struct %s with off %u size %u",
				    mname ? mname : "", moff, tname, off, size);
		if ((u64)off + size > mend)
			return verr(env, 0,
				    "access beyond the end of member %s (mend:%u) in struct %s with off %u size %u",
				    mname ? mname : "", mend, tname, off, size);
		return 0;
	}
	return verr(env, -EINVAL, "struct %s doesn't have field at offset %u",
		    tname, off);
}

/* An object from bpf_obj_new: reads and writes of its struct's members
 * at a constant offset (the kernel's btf_struct_access on a local type).
 * Pointer members read as scalars (the kernel types them). */
static int check_alloc_access(struct venv *env, int regno,
			      const struct vreg *reg, int off, int size)
{
	const char *name = btf_type_name(env, reg->btf_id);
	s64 o = (s64)reg->var_off.value + reg->off + off;

	if (!tnum_is_const(reg->var_off)) {
		char tn[48];
		snprintf(tn, sizeof(tn), "(0x%llx; 0x%llx)",
			 (unsigned long long)reg->var_off.value,
			 (unsigned long long)reg->var_off.mask);
		return verr(env, 0,
			    "R%d is ptr_%s invalid variable offset: off=%d, var_off=%s",
			    regno, name, reg->off + off, tn);
	}
	if (o < 0)
		return verr(env, 0, "R%d is ptr_%s invalid negative access: off=%lld",
			    regno, name, (long long)o);
	int err = graph_check_access(env, reg, o, o, size);
	if (err)
		return err;
	return struct_walk(env, reg->btf_id, (u32)o, (u32)size);
}

static int check_packet_access(struct venv *env, int regno,
			       const struct vreg *reg, int off, int size)
{
	int o = off + reg->off;

	if (reg->smin < 0)
		return verr(env, 0,
			    "R%d min value is negative, either use unsigned index or do a if (index >=0) check.",
			    regno);
	if (o < 0 || size <= 0 || o + size > reg->range)
		return verr(env, 0,
			    "invalid access to packet, off=%d size=%d, R%d(id=%u,off=%d,r=%d)",
			    o, size, regno, reg->id, o, reg->range);
	return 0;
}

/* rodata reads give the value the program will see: a constant */
static bool map_direct_read(const struct vreg *reg, int off, int size,
			    u64 *val)
{
	struct bpfx_map *map = reg->map;
	const u8 *src;
	s64 o;

	if (!map || !map->is_global_data || !map->rdonly_prog ||
	    !tnum_is_const(reg->var_off))
		return false;
	o = (s64)reg->var_off.value + reg->off + off;
	if (o < 0 || o + size > map->value_size)
		return false;
	src = map->mem ? map->mem : map->init_data;
	if (!src)
		return false;
	*val = 0;
	memcpy(val, src + o, size);
	return true;
}

/* A variable offset in an alignment message: a constant as a number (the
 * 6.18 kernel writes "off 0+-8+2"), otherwise the tnum. */
static void var_off_str(char *buf, size_t sz, struct tnum t)
{
	if (tnum_is_const(t) && SNUM_DECIMAL(t.value))
		snprintf(buf, sz, "%lld", (long long)t.value);
	else if (tnum_is_const(t))
		snprintf(buf, sz, "0x%llx", (unsigned long long)t.value);
	else
		snprintf(buf, sz, "(0x%llx; 0x%llx)",
			 (unsigned long long)t.value,
			 (unsigned long long)t.mask);
}

/* The kernel's check_ptr_alignment() on a host with efficient unaligned
 * access: only the stack (whose spill tracking needs it) and atomics
 * (strict) are checked; one byte is always aligned. */
int check_ptr_alignment(struct venv *env, const struct vreg *reg, int off,
			int size, bool strict)
{
	char tn[64];

	if (reg->type == PTR_TO_STACK)
		strict = true;
	if (!strict || size == 1 || is_pkt(reg))
		return 0;
	if (!(((u64)(s64)(reg->off + off) | reg->var_off.value |
	       reg->var_off.mask) & (u64)(size - 1)))
		return 0;
	var_off_str(tn, sizeof(tn), reg->var_off);
	return verr(env, -EACCES, "misaligned %saccess off %s+%d+%d size %d",
		    reg->type == PTR_TO_STACK	  ? "stack "
		    : reg->type == PTR_TO_MAP_VALUE ? "value "
		    : reg->type == PTR_TO_CTX	  ? "context "
						  : "",
		    tn, reg->off, off, size);
}

/* The kernel's check_ptr_off_reg() for a context pointer: only an
 * instruction's offset may move an access to the context, never the
 * register's own (fixed or variable) offset. */
int check_ctx_ptr_off(struct venv *env, const struct vreg *reg, int regno)
{
	if (reg->off < 0)
		return verr(env, -EACCES,
			    "negative offset ctx ptr R%d off=%d disallowed",
			    regno, reg->off);
	if (reg->off)
		return verr(env, -EACCES,
			    "dereference of modified ctx ptr R%d off=%d disallowed",
			    regno, reg->off);
	if (!tnum_is_const(reg->var_off) || reg->var_off.value)
		return verr(env, -EACCES,
			    "variable ctx access var_off=(0x%llx; 0x%llx) disallowed",
			    (unsigned long long)reg->var_off.value,
			    (unsigned long long)reg->var_off.mask);
	return 0;
}

int check_mem_access(struct venv *env, int insn_idx, int regno, int off,
		     int size, bool write, int value_regno, bool sign_ext)
{
	struct vreg *regs = cur_regs(env);
	struct vreg reg = regs[regno];
	struct vreg *dst = value_regno >= 0 && !write ? &regs[value_regno]
						      : NULL;
	const struct vreg *val = write && value_regno >= 0 ? &regs[value_regno]
							   : NULL;
	char t[48];
	int err = 0;

	if (reg.type == NOT_INIT)
		return verr(env, 0, "R%d !read_ok", regno);
	if (reg.flags & VREG_MAYBE_NULL || reg.type == SCALAR_VALUE ||
	    reg.type == PTR_TO_PACKET_END || reg.type == PTR_TO_FUNC) {
		reg_fmt(&reg, t, sizeof(t));
		return verr(env, 0, "R%d invalid mem access '%s'", regno, t);
	}
	if ((err = check_ptr_alignment(env, &reg, off, size, false)))
		return err;
	switch (reg.type) {
	case PTR_TO_STACK:
		return check_stack_access(env, regno, &reg, off, size, write,
					  value_regno, sign_ext, val,
					  insn_idx >= 0 &&
						  BPF_CLASS(env->insns[insn_idx].code) ==
							  BPF_ST);
	case PTR_TO_MAP_VALUE:
		if (write && reg.map->rdonly_prog)
			return verr(env, 0,
				    "write into map forbidden, value_size=%u off=%d size=%d",
				    reg.map->value_size, reg.off + off, size);
		err = check_region(env, regno, &reg, off, size,
				   reg.map->value_size, "map value");
		if (!err) {
			err = kptr_check_map_access(env, insn_idx, regno, &reg,
						    off, size, write, dst);
			if (err)
				return err < 0 ? err : 0;
		}
		if (!err) {
			s64 lo = reg.smin + reg.off + off;
			s64 hi = (s64)reg.umax + reg.off + off;

			if (tnum_is_const(reg.var_off))
				lo = hi = (s64)reg.var_off.value + reg.off + off;
			err = graph_check_access(env, &reg, lo, hi, size);
		}
		if (!err)
			err = check_map_field_access(env, &reg, off, size);
		if (!err && dst) {
			u64 v;
			if (map_direct_read(&reg, off, size, &v) && !sign_ext)
				reg_mark_known(dst, v);
			else
				goto unknown;
		}
		return err;
	case PTR_TO_MAP_KEY:
		if (write)
			return verr(env, 0, "write to change key R%d not allowed",
				    regno);
		err = check_region(env, regno, &reg, off, size,
				   reg.map->key_size, "map key");
		break;
	case PTR_TO_MEM:
		if (write && (reg.flags & VREG_RDONLY))
			return verr(env, 0, "R%d cannot write into rdonly_mem",
				    regno);
		err = check_region(env, regno, &reg, off, size, reg.mem_size,
				   "mem");
		break;
	case PTR_TO_CTX: {
		int kind;

		if (env->prog_type == BPF_PROG_TYPE_UNSPEC) {
			/* bpfx's program of no type: r1 is a buffer of the
			 * caller's (run_raw), any offset from it checked at
			 * run time */
			if (!dst)
				return 0;
			goto unknown;
		}
		if ((err = check_ctx_ptr_off(env, &reg, regno)))
			return err;
		kind = ctx_access(env->prog_type, off, size, write);
		if (kind == CTX_BAD)
			return verr(env, 0,
				    "invalid bpf_context access off=%d size=%d",
				    off, size);
		if (dst) {
			if (kind == CTX_SCALAR)
				goto unknown;
			memset(dst, 0, sizeof(*dst));
			dst->var_off = tnum_const(0);
			dst->type = kind == CTX_PKT ? PTR_TO_PACKET :
				    kind == CTX_PKT_END ? PTR_TO_PACKET_END :
				    kind == CTX_PKT_META ? PTR_TO_PACKET_META :
							   PTR_TO_SOCK_COMMON;
			if (kind == CTX_SOCK) {
				dst->flags = VREG_MAYBE_NULL;
				dst->id = ++env->id_gen;
			}
		}
		return 0;
	}
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		if (write && !prog_type_writes_packet(env->prog_type))
			return verr(env, 0, "cannot write into packet");
		err = check_packet_access(env, regno, &reg, off, size);
		break;
	case PTR_TO_BTF_ID:
		if (reg.flags & VREG_ALLOC) {
			err = kptr_check_alloc_access(env, &reg, write);
			if (!err)
				err = check_alloc_access(env, regno, &reg, off,
							 size);
			break;
		}
		/* fall through */
	case CONST_PTR_TO_MAP:
		/* the kernel lets programs read struct bpf_map's fields
		 * through its BTF; bpfx's maps are no such struct, and the
		 * run would fault: refuse it here, plainly */
		reg_fmt(&reg, t, sizeof(t));
		return verr(env, 0,
			    "R%d invalid mem access '%s': bpfx has no kernel struct bpf_map to read",
			    regno, t);
	case PTR_TO_SOCK_COMMON:
		/* kernel objects: what the kernel's BTF allows is beyond
		 * bpfx's model; reads are unknown scalars */
		if (write) {
			reg_fmt(&reg, t, sizeof(t));
			return verr(env, 0, "R%d invalid mem access '%s'", regno,
				    t);
		}
		break;
	default:
		reg_fmt(&reg, t, sizeof(t));
		return verr(env, 0, "R%d invalid mem access '%s'", regno, t);
	}
	if (err || !dst)
		return err;
unknown:
	reg_mark_unknown(dst);
	if (!sign_ext && size < 8) {
		dst->var_off = TNUM(0, (1ULL << (size * 8)) - 1);
		reg_bounds_sync(dst);
	} else if (sign_ext) {
		s64 lo = -(1LL << (size * 8 - 1)), hi = (1LL << (size * 8 - 1)) - 1;
		dst->smin = lo;
		dst->smax = hi;
		reg_bounds_sync(dst);
	}
	(void)insn_idx;
	return 0;
}

/* ---- what the JIT may rely on (internal.h: struct mem_proof) ---- */

/* Whether MAP is one of the program's own maps, whose values stay in its
 * storage for as long as the program lives. */
static bool map_is_own(const struct venv *env, const struct bpfx_map *map)
{
	for (size_t i = 0; map && i < env->prog->map_cnt; i++)
		if (env->prog->maps[i] == map)
			return true;
	return false;
}

/* Records what the load or store at IDX through PTR (its register before
 * the access, which check_mem_access() accepted) proves: the access stays
 * in memory the run owns, whatever the run-time values. */
static void note_access(struct venv *env, int idx, const struct vreg *ptr,
			int off, int size, bool write)
{
	struct mem_proof *p = &env->proof;
	bool holds = false;

	if (!p->proven || idx < 0 || (size_t)idx >= env->cnt)
		return;
	switch (ptr->type) {
	case PTR_TO_STACK:
		holds = true;
		break;
	case PTR_TO_CTX: {
		s64 end = (s64)ptr->off + (s64)ptr->var_off.value + off + size;
		holds = tnum_is_const(ptr->var_off) && end - size >= 0 &&
			end <= UINT16_MAX;
		if (holds && (u32)end > p->ctx_end)
			p->ctx_end = (u32)end;
		p->ctx_write |= write;
		break;
	}
	case PTR_TO_PACKET:
		holds = true;
		p->pkt = true;
		p->pkt_write |= write;
		break;
	case PTR_TO_MAP_VALUE:
		holds = map_is_own(env, ptr->map);
		break;
	default:
		break;
	}
	if (!holds)
		p->proven[idx] = PROOF_FAILS;
	else if (p->proven[idx] == PROOF_UNSEEN)
		p->proven[idx] = PROOF_HOLDS;
}

void mem_proof_free(struct bpfx_program *prog)
{
	if (!prog->mem_proof)
		return;
	free(prog->mem_proof->proven);
	free(prog->mem_proof);
	prog->mem_proof = NULL;
}

/* ---- ALU ---- */

/* The kernel's check_reg_sane_offset(): an operand of pointer arithmetic,
 * or its result, must stay within 2^29 of the pointer's base. t names the
 * pointer's type. */
static int sane_ptr_offset(struct venv *env, const struct vreg *r,
			   const char *t)
{
	const s64 lim = 1LL << 29;
	s64 val = (s64)r->var_off.value;

	if (reg_is_const(r) && (val >= lim || val <= -lim))
		return verr(env, 0, "math between %s pointer and %lld is not allowed",
			    t, (long long)val);
	if (r->off >= lim || r->off <= -lim)
		return verr(env, 0, "%s pointer offset %d is not allowed", t,
			    r->off);
	if (r->smin == INT64_MIN)
		return verr(env, 0,
			    "math between %s pointer and register with unbounded min value is not allowed",
			    t);
	if (r->smin >= lim || r->smin <= -lim)
		return verr(env, 0, "value %lld makes %s pointer be out of bounds",
			    (long long)r->smin, t);
	return 0;
}

/* The range of a sign extension from BITS of a scalar (the kernel's
 * coerce_reg_to_size_sx() and, for alu32, coerce_subreg_to_size_sx() then
 * the zero extension to 64 bits): a range whose bits above BITS are
 * equal at both ends, and whose ends keep one sign once extended, stays
 * a range; anything else is the whole signed range of BITS. */
static void movsx_range(struct vreg *r, const struct vreg *src, int bits,
			bool alu32)
{
	s64 lo = alu32 ? src->s32_min : src->smin;
	s64 hi = alu32 ? src->s32_max : src->smax;
	u64 top_lo = alu32 ? ((u64)(u32)lo >> bits) : ((u64)lo >> bits);
	u64 top_hi = alu32 ? ((u64)(u32)hi >> bits) : ((u64)hi >> bits);
	s64 a, b;

	reg_mark_unknown(r);
	a = bits == 8 ? (s8)lo : bits == 16 ? (s16)lo : (s32)lo;
	b = bits == 8 ? (s8)hi : bits == 16 ? (s16)hi : (s32)hi;
	if (a > b) {
		s64 t = a;
		a = b;
		b = t;
	}
	if (top_lo != top_hi || (a >= 0) != (b >= 0)) {
		a = -(1LL << (bits - 1));
		b = (1LL << (bits - 1)) - 1;
		if (alu32) {
			/* a 32-bit result: only its low half is signed */
			r->var_off = TNUM(0, 0xffffffffULL);
			r->s32_min = (s32)a;
			r->s32_max = (s32)b;
			r->u32_min = 0;
			r->u32_max = UINT32_MAX;
			r->smin = 0;
			r->smax = UINT32_MAX;
			r->umin = 0;
			r->umax = UINT32_MAX;
		} else {
			r->smin = a;
			r->smax = b;
		}
		reg_bounds_sync(r);
		return;
	}
	if (alu32) {
		r->var_off = tnum_subreg(tnum_range((u64)a, (u64)b));
		r->s32_min = (s32)a;
		r->s32_max = (s32)b;
		r->u32_min = (u32)a;
		r->u32_max = (u32)b;
		r->umin = (u32)a;
		r->umax = (u32)b;
		r->smin = a >= 0 ? a : 0;
		r->smax = a >= 0 ? b : UINT32_MAX;
		if (a < 0) {
			r->smin = (u32)a;
			r->smax = (u32)b;
		}
	} else {
		r->var_off = tnum_range((u64)a, (u64)b);
		r->smin = a;
		r->smax = b;
		r->umin = (u64)a;
		r->umax = (u64)b;
		r->s32_min = (s32)a;
		r->s32_max = (s32)b;
		r->u32_min = (u32)a;
		r->u32_max = (u32)b;
	}
	reg_bounds_sync(r);
}

static int check_alu(struct venv *env, const struct bpf_insn *insn)
{
	struct vreg *regs = cur_regs(env);
	u8 op = BPF_OP(insn->code);
	bool alu32 = BPF_CLASS(insn->code) == BPF_ALU;
	struct vreg *dst = &regs[insn->dst_reg];
	struct vreg src;
	int err;

	if (BPF_SRC(insn->code) == BPF_X && op != BPF_END && op != BPF_NEG) {
		if ((err = check_reg_read(env, insn->src_reg)))
			return err;
		src = regs[insn->src_reg];
	} else {
		reg_mark_known(&src, alu32 ? (u64)(u32)insn->imm
					   : (u64)(s64)insn->imm);
	}
	if (op != BPF_MOV && (err = check_reg_read(env, insn->dst_reg)))
		return err;

	if (op == BPF_MOV) {
		if (insn->off && BPF_SRC(insn->code) == BPF_X) {
			/* movsx */
			if (is_pointer(&src)) {
				reg_mark_unknown(dst);
				return 0;
			}
			int bits = insn->off;
			struct vreg r;
			reg_mark_unknown(&r);
			if (reg_is_const(&src)) {
				s64 v = bits == 8 ? (s8)src.var_off.value :
					bits == 16 ? (s16)src.var_off.value :
						     (s32)src.var_off.value;
				reg_mark_known(&r, alu32 ? (u64)(u32)v : (u64)v);
			} else {
				movsx_range(&r, &src, bits, alu32);
			}
			*dst = r;
			return 0;
		}
		if (BPF_SRC(insn->code) == BPF_X && src.type == SCALAR_VALUE &&
		    !alu32 && !src.id && !reg_is_const(&src)) {
			/* linked scalars: a later bound on one holds for both */
			regs[insn->src_reg].id = ++env->id_gen;
			src.id = regs[insn->src_reg].id;
		}
		if (is_pointer(&src)) {
			if (alu32) {
				reg_mark_unknown(dst);
				dst->var_off = TNUM(0, 0xffffffffULL);
				reg_bounds_sync(dst);
			} else {
				*dst = src;
			}
			return 0;
		}
		scalar_alu(dst, &src, BPF_MOV, alu32);
		return 0;
	}
	if (op == BPF_END || op == BPF_NEG) {
		if (is_pointer(dst)) {
			char t[48];
			reg_fmt(dst, t, sizeof(t));
			return verr(env, 0,
				    "R%d pointer arithmetic on %s prohibited",
				    insn->dst_reg, t);
		}
		if (op == BPF_NEG) {
			struct vreg zero;
			reg_mark_known(&zero, 0);
			if (reg_is_const(dst)) {
				u64 v = -dst->var_off.value;
				reg_mark_known(dst, alu32 ? (u32)v : v);
			} else {
				reg_mark_unknown(dst);
				if (alu32) {
					dst->var_off = TNUM(0, 0xffffffffULL);
					reg_bounds_sync(dst);
				}
			}
			return 0;
		}
		/* byte swaps: only the width is known */
		if (reg_is_const(dst)) {
			u64 v = dst->var_off.value;
			bool swap = BPF_CLASS(insn->code) == BPF_ALU64 ||
				    BPF_SRC(insn->code) == BPF_TO_BE;
			switch (insn->imm) {
			case 16: v = swap ? __builtin_bswap16(v) : (u16)v; break;
			case 32: v = swap ? __builtin_bswap32(v) : (u32)v; break;
			default: v = swap ? __builtin_bswap64(v) : v; break;
			}
			reg_mark_known(dst, v);
		} else {
			reg_mark_unknown(dst);
			if (insn->imm < 64) {
				dst->var_off = TNUM(0, (1ULL << insn->imm) - 1);
				reg_bounds_sync(dst);
			}
		}
		return 0;
	}
	if (op == BPF_DIV || op == BPF_MOD) {
		if (BPF_SRC(insn->code) == BPF_K && insn->imm == 0)
			return verr(env, -EINVAL, "div by zero");
	}

	/* pointers */
	if (is_pointer(dst) || is_pointer(&src)) {
		char t[48];

		if (is_pointer(dst) && is_pointer(&src)) {
			if (op == BPF_SUB && !alu32) {
				reg_mark_unknown(dst);
				return 0;
			}
			const char *opname = op == BPF_ADD ? "+=" : op == BPF_SUB ? "-=" : "?=";
			return verr(env, 0, "R%d pointer %s pointer prohibited",
				    insn->dst_reg, opname);
		}
		if (alu32) {
			if (op == BPF_SUB) {
				reg_mark_unknown(dst);
				return 0;
			}
			return verr(env, 0,
				    "R%d 32-bit pointer arithmetic prohibited",
				    insn->dst_reg);
		}
		struct vreg ptr = is_pointer(dst) ? *dst : src;
		struct vreg off = is_pointer(dst) ? src : *dst;

		/* the scalar's range goes into the pointer's bounds */
		if (BPF_SRC(insn->code) == BPF_X &&
		    (err = mark_precise(env, is_pointer(dst) ? insn->src_reg
							     : insn->dst_reg)))
			return err;

		reg_fmt(&ptr, t, sizeof(t));
		if (ptr.flags & VREG_MAYBE_NULL)
			return verr(env, 0,
				    "R%d pointer arithmetic on %s prohibited, null-check it first",
				    insn->dst_reg, t);
		if (ptr.type == PTR_TO_PACKET_END ||
		    ptr.type == CONST_PTR_TO_MAP ||
		    ptr.type == PTR_TO_SOCK_COMMON || ptr.type == PTR_TO_FUNC)
			return verr(env, 0, "R%d pointer arithmetic on %s prohibited",
				    insn->dst_reg, t);
		/* the kernel's adjust_ptr_min_max_vals(): the pointer's type,
		 * the sanity of both operands, then the operator */
		if ((err = sane_ptr_offset(env, &off, t)) ||
		    (err = sane_ptr_offset(env, &ptr, t)))
			return err;
		if (op == BPF_SUB && !is_pointer(dst))
			return verr(env, 0,
				    "R%d tried to subtract pointer from scalar",
				    insn->dst_reg);
		if (op == BPF_SUB && ptr.type == PTR_TO_STACK)
			return verr(env, 0,
				    "R%d subtraction from stack pointer prohibited",
				    insn->dst_reg);
		if (op != BPF_ADD && op != BPF_SUB) {
			static const char *const names[16] = {
				[BPF_MUL >> 4] = "*=", [BPF_DIV >> 4] = "/=",
				[BPF_OR >> 4] = "|=", [BPF_AND >> 4] = "&=",
				[BPF_LSH >> 4] = "<<=", [BPF_RSH >> 4] = ">>=",
				[BPF_MOD >> 4] = "%=", [BPF_XOR >> 4] = "^=",
				[BPF_ARSH >> 4] = "s>>=", [BPF_SUB >> 4] = "-=",
			};
			const char *n = names[op >> 4] ? names[op >> 4] : "?";
			if (op == BPF_AND || op == BPF_OR || op == BPF_XOR)
				return verr(env, 0,
					    "R%d bitwise operator %s on pointer prohibited",
					    insn->dst_reg, n);
			return verr(env, 0,
				    "R%d pointer arithmetic with %s operator prohibited",
				    insn->dst_reg, n);
		}
		if (reg_is_const(&off) &&
		    (s64)ptr.off + (op == BPF_SUB ? -off.smin : off.smin) ==
			    (s32)((s64)ptr.off + (op == BPF_SUB ? -off.smin : off.smin))) {
			/* a constant moves the fixed offset */
			ptr.off += (s32)(op == BPF_SUB ? -off.smin : off.smin);
		} else {
			if (op == BPF_SUB) {
				struct vreg zero;
				reg_mark_known(&zero, 0);
				scalar_alu(&zero, &off, BPF_SUB, false);
				off = zero;
			}
			struct vreg var = ptr;
			var.type = SCALAR_VALUE;
			scalar_alu(&var, &off, BPF_ADD, false);
			ptr.var_off = var.var_off;
			ptr.smin = var.smin;
			ptr.smax = var.smax;
			ptr.umin = var.umin;
			ptr.umax = var.umax;
			ptr.s32_min = var.s32_min;
			ptr.s32_max = var.s32_max;
			ptr.u32_min = var.u32_min;
			ptr.u32_max = var.u32_max;
			if (is_pkt(&ptr)) {
				ptr.id = ++env->id_gen;
				ptr.range = 0;
			}
		}
		if ((err = sane_ptr_offset(env, &ptr, t)))
			return err;
		*dst = ptr;
		return 0;
	}

	if (insn->off == 1 && (op == BPF_DIV || op == BPF_MOD)) {
		/* sdiv/smod */
		if (reg_is_const(dst) && reg_is_const(&src)) {
			/* the engines' results, without the host's traps:
			 * the divisor is taken at the operation's width (a
			 * 64-bit constant may be 0 in its low half), x/0 is
			 * 0, x%0 is x, INT_MIN/-1 wraps */
			s64 a = alu32 ? (s32)dst->var_off.value : (s64)dst->var_off.value;
			s64 b = alu32 ? (s32)src.var_off.value : (s64)src.var_off.value;
			s64 v;
			if (b == 0)
				v = op == BPF_DIV ? 0 : a;
			else if (b == -1)
				v = op == BPF_DIV ? (s64)(0 - (u64)a) : 0;
			else
				v = op == BPF_DIV ? a / b : a % b;
			reg_mark_known(dst, alu32 ? (u64)(u32)v : (u64)v);
		} else {
			reg_mark_unknown(dst);
			if (alu32) {
				dst->var_off = TNUM(0, 0xffffffffULL);
				reg_bounds_sync(dst);
			}
		}
		return 0;
	}
	if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
	    BPF_SRC(insn->code) == BPF_K &&
	    (insn->imm < 0 || insn->imm >= (alu32 ? 32 : 64)))
		return verr(env, -EINVAL, "invalid shift %d", insn->imm);
	dst->id = 0;
	scalar_alu(dst, &src, op, alu32);
	return 0;
}

/* ---- conditional jumps ---- */

static void pkt_range_from_cmp(struct venv *env, struct vreg *pkt,
			       bool range_open)
{
	struct vstate *st = env->cur;
	s32 range = pkt->off;
	u32 id = pkt->id;
	u8 type = pkt->type;

	if (pkt->off < 0 || (pkt->off == 0 && range_open) ||
	    pkt->umax > 0xffff || pkt->umax + pkt->off > 0xffff)
		return;
	if (range_open)
		range--;
	FOR_EACH_REG(st, r, {
		if (r->type == type && r->id == id && r->range < range)
			r->range = range;
	});
}

/* Applies the facts of "a OP b holds" (a in regno ra, b in regno rb or an
 * immediate) to the current state. */
static void refine_branch(struct venv *env, int ra, int rb,
			  struct vreg *immb, u8 op, bool is32)
{
	struct vreg *regs = cur_regs(env);
	struct vreg *a = &regs[ra];
	struct vreg *b = rb >= 0 ? &regs[rb] : immb;

	/* packet pointer vs packet end */
	if (!is32 && ((is_pkt(a) && b->type == PTR_TO_PACKET_END) ||
		      (a->type == PTR_TO_PACKET_END && is_pkt(b)))) {
		struct vreg *pkt = is_pkt(a) ? a : b;
		u8 o = is_pkt(a) ? op : jmp_flip(op);

		/* pkt OP end */
		if (o == BPF_JLE)
			pkt_range_from_cmp(env, pkt, false);
		else if (o == BPF_JLT)
			pkt_range_from_cmp(env, pkt, true);
		return;
	}
	if (!is32 && is_pkt(a) && is_pkt(b) && a->type != b->type) {
		/* data_meta OP data: meta's range by the same rule */
		struct vreg *meta = a->type == PTR_TO_PACKET_META ? a : b;
		u8 o = meta == a ? op : jmp_flip(op);
		if (o == BPF_JLE)
			pkt_range_from_cmp(env, meta, false);
		else if (o == BPF_JLT)
			pkt_range_from_cmp(env, meta, true);
		return;
	}
	/* pointer that may be null vs 0 */
	if ((op == BPF_JEQ || op == BPF_JNE) && !is32) {
		if ((a->flags & VREG_MAYBE_NULL) && reg_is_const(b) &&
		    b->type == SCALAR_VALUE && b->var_off.value == 0) {
			mark_ptr_not_null(env, a->id, op == BPF_JEQ);
			return;
		}
		if (b != immb && (b->flags & VREG_MAYBE_NULL) &&
		    reg_is_const(a) && a->var_off.value == 0) {
			mark_ptr_not_null(env, b->id, op == BPF_JEQ);
			return;
		}
	}
	if (a->type != SCALAR_VALUE || b->type != SCALAR_VALUE)
		return;
	if (op == BPF_JSET)
		return;
	scalar_refine(a, b, op, is32);
	sync_linked_scalars(env, a);
	if (rb >= 0)
		sync_linked_scalars(env, b);
}

/* The scalars a refined jump also refines (same id), for backtracking. */
static void note_linked_scalars(struct venv *env, const struct vreg *a,
				const struct vreg *b)
{
	struct vstate *st = env->cur;
	struct hist_entry *e = hist_cur(env);

	for (int i = 0; i < 2; i++) {
		const struct vreg *op = i ? b : a;
		u32 id = op->id;

		if (op->type != SCALAR_VALUE || !id)
			continue;
		for (int f = 0; f <= st->curframe; f++) {
			struct vframe *fr = st->frame[f];

			for (int r = 0; r < 11; r++) {
				if (fr->regs[r].type != SCALAR_VALUE ||
				    fr->regs[r].id != id)
					continue;
				if (f == st->curframe)
					e->link_regs |= 1u << r;
				else
					e->flags |= HIST_LINK_FAR;
			}
			for (int k = 0; k < fr->nslots; k++) {
				if (!slot_is_spill(fr, k) ||
				    fr->slots[k].spill.type != SCALAR_VALUE ||
				    fr->slots[k].spill.id != id)
					continue;
				if (f == st->curframe)
					e->link_slots |= 1ULL << k;
				else
					e->flags |= HIST_LINK_FAR;
			}
		}
		e->flags |= HIST_LINKED;
	}
}

static int check_cond_jmp(struct venv *env, const struct bpf_insn *insn,
			  int idx, int *next)
{
	struct vreg *regs = cur_regs(env);
	u8 op = BPF_OP(insn->code);
	bool is32 = BPF_CLASS(insn->code) == BPF_JMP32;
	bool is_x = BPF_SRC(insn->code) == BPF_X;
	struct vreg imm, a, b;
	int target = idx + 1 + insn->off, taken = -1, err;

	if ((err = check_reg_read(env, insn->dst_reg)))
		return err;
	if (is_x && (err = check_reg_read(env, insn->src_reg)))
		return err;
	reg_mark_known(&imm, is32 ? (u64)(u32)insn->imm : (u64)(s64)insn->imm);
	a = regs[insn->dst_reg];
	b = is_x ? regs[insn->src_reg] : imm;
	if (a.type == SCALAR_VALUE && b.type == SCALAR_VALUE) {
		taken = scalar_branch(&a, &b, op, is32);
		/* the ranges decided the jump: they must match to prune */
		if (taken >= 0 && (err = mark_precise(env, insn->dst_reg)))
			return err;
		if (taken >= 0 && is_x && (err = mark_precise(env, insn->src_reg)))
			return err;
	} else if ((op == BPF_JEQ || op == BPF_JNE) && !is32) {
		/* a pointer the kernel knows is not null (its reg_not_null():
		 * map values and keys, maps, sockets, memory, trusted
		 * objects; not the context, the stack or packets) is never 0 */
		const struct vreg *p = is_pointer(&a) ? &a : &b;
		const struct vreg *s = is_pointer(&a) ? &b : &a;
		bool not_null = p->type == PTR_TO_MAP_VALUE ||
				p->type == PTR_TO_MAP_KEY ||
				p->type == CONST_PTR_TO_MAP ||
				p->type == PTR_TO_SOCK_COMMON ||
				p->type == PTR_TO_MEM || p->type == PTR_TO_BTF_ID;
		if (is_pointer(p) && !(p->flags & VREG_MAYBE_NULL) && not_null &&
		    s->type == SCALAR_VALUE && reg_is_const(s) &&
		    s->var_off.value == 0) {
			taken = op == BPF_JNE;
			/* decided by the scalar being 0 */
			if (is_x && (err = mark_precise(env, s == &a ? insn->dst_reg
								      : insn->src_reg)))
				return err;
		}
	}
	if (taken == 1) {
		*next = target;
		return 0;
	}
	if (taken == 0) {
		*next = idx + 1;
		return 0;
	}
	/* both ways: the taken side is queued as a path of its own */
	note_linked_scalars(env, &a, &b);
	struct vstate *other = state_dup(env->cur), *saved = env->cur;
	if (!other)
		return -ENOMEM;
	env->cur = other;
	refine_branch(env, insn->dst_reg, is_x ? insn->src_reg : -1, &imm, op,
		      is32);
	env->cur = saved;
	if (op != BPF_JSET) {
		reg_mark_known(&imm, is32 ? (u64)(u32)insn->imm
					  : (u64)(s64)insn->imm);
		refine_branch(env, insn->dst_reg, is_x ? insn->src_reg : -1,
			      &imm, jmp_invert(op), is32);
	}
	err = push_state(env, other, target);
	if (err) {
		state_free(other);
		return err;
	}
	if (other->parent)
		other->parent->branches++;
	*next = idx + 1;
	return 0;
}

/* ---- loads and stores ---- */

static int check_ldimm64(struct venv *env, const struct bpf_insn *insn,
			 int idx)
{
	struct vreg *dst = &cur_regs(env)[insn->dst_reg];
	u64 v = (u32)insn->imm | ((u64)(u32)insn[1].imm << 32);

	switch (insn->src_reg) {
	case 0:
		reg_mark_known(dst, v);
		return 0;
	case BPF_PSEUDO_MAP_IDX:
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX_VALUE:
	case BPF_PSEUDO_MAP_VALUE: {
		struct bpfx_map *map = NULL;

		if (insn->src_reg == BPF_PSEUDO_MAP_IDX ||
		    insn->src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
			if ((u32)insn->imm < env->prog->map_cnt)
				map = env->prog->maps[insn->imm];
		} else {
			map = map_by_fd(insn->imm);
		}
		if (!map)
			return verr(env, -EINVAL, "fd %d is not pointing to valid bpf_map",
				    insn->imm);
		memset(dst, 0, sizeof(*dst));
		dst->map = map;
		dst->var_off = tnum_const(0);
		if (insn->src_reg == BPF_PSEUDO_MAP_IDX ||
		    insn->src_reg == BPF_PSEUDO_MAP_FD) {
			dst->type = CONST_PTR_TO_MAP;
		} else {
			dst->type = PTR_TO_MAP_VALUE;
			dst->off = insn[1].imm;
		}
		return 0;
	}
	case BPF_PSEUDO_FUNC: {
		int sub = find_subprog(env, idx + 1 + insn->imm);
		memset(dst, 0, sizeof(*dst));
		dst->type = PTR_TO_FUNC;
		dst->subprog = sub;
		dst->var_off = tnum_const(0);
		return 0;
	}
	case BPF_PSEUDO_BTF_ID:
		memset(dst, 0, sizeof(*dst));
		dst->type = PTR_TO_BTF_ID;
		dst->var_off = tnum_const(0);
		return 0;
	}
	return verr(env, -EINVAL, "invalid BPF_LD_IMM insn");
}

static int insn_size(u8 code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B: return 1;
	case BPF_H: return 2;
	case BPF_W: return 4;
	default: return 8;
	}
}

static int check_atomic(struct venv *env, const struct bpf_insn *insn, int idx)
{
	struct vreg *regs = cur_regs(env);
	int size = insn_size(insn->code), err;
	struct vreg *ptr = &regs[insn->dst_reg];
	char t[48];

	if ((err = check_reg_read(env, insn->src_reg)) ||
	    (err = check_reg_read(env, insn->dst_reg)))
		return err;
	if (insn->imm == BPF_CMPXCHG && (err = check_reg_read(env, 0)))
		return err;
	if (is_pointer(&regs[insn->src_reg]))
		return verr(env, 0, "R%d leaks addr into mem", insn->src_reg);
	if (ptr->type == PTR_TO_CTX || is_pkt(ptr) ||
	    ptr->type == PTR_TO_BTF_ID) {
		reg_fmt(ptr, t, sizeof(t));
		return verr(env, 0, "BPF_ATOMIC stores into R%d %s is not allowed",
			    insn->dst_reg, t);
	}
	/* atomics must be aligned whatever the pointer (the kernel checks
	 * them strictly); the engines would stop the run otherwise */
	if ((err = check_ptr_alignment(env, ptr, insn->off, size, true)))
		return err;
	err = check_mem_access(env, idx, insn->dst_reg, insn->off, size, false,
			       -1, false);
	if (!err)
		err = check_mem_access(env, idx, insn->dst_reg, insn->off, size,
				       true, -1, false);
	if (err)
		return err;
	if (insn->imm == BPF_CMPXCHG) {
		reg_mark_unknown(&regs[0]);
		if (size == 4) {
			regs[0].var_off = TNUM(0, 0xffffffffULL);
			reg_bounds_sync(&regs[0]);
		}
	} else if (insn->imm & BPF_FETCH) {
		reg_mark_unknown(&regs[insn->src_reg]);
		if (size == 4) {
			regs[insn->src_reg].var_off = TNUM(0, 0xffffffffULL);
			reg_bounds_sync(&regs[insn->src_reg]);
		}
	}
	return 0;
}

static int check_exit(struct venv *env, int idx, int *next);

static int check_ld_abs(struct venv *env, const struct bpf_insn *insn, int idx,
			int *next)
{
	struct vreg *regs = cur_regs(env);
	int err;

	if (env->prog_type != BPF_PROG_TYPE_SOCKET_FILTER &&
	    env->prog_type != BPF_PROG_TYPE_SCHED_CLS &&
	    env->prog_type != BPF_PROG_TYPE_SCHED_ACT)
		return verr(env, -EINVAL,
			    "BPF_LD_[ABS|IND] instructions not allowed for this program type");
	if ((err = check_reg_read(env, 6)))
		return err;
	if (regs[6].type != PTR_TO_CTX)
		return verr(env, -EINVAL,
			    "at the time of BPF_LD_ABS|IND R6 != pointer to skb");
	if (BPF_MODE(insn->code) == BPF_IND &&
	    (err = check_reg_read(env, insn->src_reg)))
		return err;
	if (env->cur->ref_cnt)
		return verr(env, -EINVAL,
			    "BPF_LD_[ABS|IND] cannot be mixed with socket references");
	for (int i = 1; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
	reg_mark_unknown(&regs[0]);
	regs[0].var_off = TNUM(0, insn_size(insn->code) == 4 ? 0xffffffffULL :
				  (1ULL << (insn_size(insn->code) * 8)) - 1);
	reg_bounds_sync(&regs[0]);
	if (env->cur->curframe) {
		/* a load the packet cannot give returns 0 from the function
		 * (an exit the engines take, as the kernel's): the loaded
		 * value goes on as a path of its own, this one returns */
		struct vstate *loaded = state_dup(env->cur);
		int err2;

		if (!loaded)
			return -ENOMEM;
		if ((err2 = push_state(env, loaded, idx + 1))) {
			state_free(loaded);
			return err2;
		}
		if (loaded->parent)
			loaded->parent->branches++;
		reg_mark_known(&cur_regs(env)[0], 0);
		return check_exit(env, idx, next);
	}
	return 0;
}

/* ---- exit ---- */

bool ret_range_for_prog(u32 type, s32 *lo, s32 *hi)
{
	switch (type) {
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_CGROUP_SOCK:
	case BPF_PROG_TYPE_CGROUP_DEVICE:
	case BPF_PROG_TYPE_CGROUP_SYSCTL:
	case BPF_PROG_TYPE_CGROUP_SOCKOPT:
	case BPF_PROG_TYPE_SK_LOOKUP:
		*lo = 0;
		*hi = 1;
		return true;
	default:
		return false;
	}
}

static int check_return_code(struct venv *env, int regno, const char *where)
{
	struct vreg *r = &cur_regs(env)[regno];
	s32 lo, hi;
	char t[48];
	u32 type = env->prog_type;

	if (type == BPF_PROG_TYPE_CGROUP_SKB &&
	    env->prog->expected_attach_type == BPF_CGROUP_INET_EGRESS) {
		lo = 0;
		hi = 3;
	} else if (type == BPF_PROG_TYPE_TRACING) {
		/* fentry/fexit return nothing the kernel uses: 0 only;
		 * iterators 0 or 1; the others anything */
		switch (env->prog->expected_attach_type) {
		case BPF_TRACE_FENTRY:
		case BPF_TRACE_FEXIT:
			lo = hi = 0;
			break;
		case BPF_TRACE_ITER:
			lo = 0;
			hi = 1;
			break;
		default:
			return 0;
		}
	} else if (!ret_range_for_prog(type, &lo, &hi)) {
		return 0;
	}
	if (r->type != SCALAR_VALUE) {
		reg_fmt(r, t, sizeof(t));
		return verr(env, -EINVAL,
			    "%s the register R%d is not a known value (%s)",
			    where, regno, t);
	}
	int err = mark_precise(env, regno);
	if (err)
		return err;
	if (r->smin < lo || r->smax > hi) {
		char buf[96];

		reg_range_text(r, buf, sizeof(buf));
		return verr(env, -EINVAL,
			    "%s the register R%d has%s should have been in [%d, %d]",
			    where, regno, buf, lo, hi);
	}
	return 0;
}

void reg_range_text(const struct vreg *r, char *buf, size_t sz)
{
	size_t n = 0;

	buf[0] = '\0';
	if (r->smin > INT64_MIN)
		n += snprintf(buf + n, sz - n, " smin=%lld", (long long)r->smin);
	if (r->smax < INT64_MAX && n < sz)
		n += snprintf(buf + n, sz - n, " smax=%lld", (long long)r->smax);
	if (!n)
		snprintf(buf, sz, " unknown scalar value");
}

int check_return_in_range(struct venv *env, int regno, const char *where)
{
	return check_return_code(env, regno, where);
}

/* Returns 1 when the path ends here, 0 with *next set to go on. */
static int check_exit(struct venv *env, int idx, int *next)
{
	struct vstate *st = env->cur;
	struct vframe *callee = cur_frame(env);
	struct vreg *r0 = &callee->regs[0];
	int err;

	/* a static subprogram may return void: only its caller's reads of
	 * R0 are checked */
	if (r0->type == NOT_INIT && (st->curframe == 0 || callee->is_callback))
		return verr(env, 0, "R0 !read_ok");
	if (st->curframe == 0 && frame_is_async_cb(callee))
		return check_async_exit(env);
	if (st->curframe == 0) {
		const struct vsubprog *sp = &env->sub[callee->subprog];

		if (sp->global && callee->subprog != 0 && !sp->is_exception_cb) {
			if ((err = check_resource_leak(env, false, true,
						       "BPF_EXIT instruction in global subprog")))
				return err;
			if (r0->type != SCALAR_VALUE && !sp->returns_void) {
				char t[48];
				reg_fmt(r0, t, sizeof(t));
				return verr(env, -EINVAL,
					    "At subprogram exit the register R0 is not a scalar value (%s)",
					    t);
			}
			return 1;
		}
		if ((err = check_resource_leak(env, false, true,
					       "BPF_EXIT instruction in main prog")))
			return err;
		if ((err = check_return_code(env, 0, "At program exit")))
			return err;
		return 1;
	}
	/* return to the caller */
	if (r0->type == PTR_TO_STACK && r0->frameno == st->curframe)
		return verr(env, -EINVAL,
			    "cannot return stack pointer to the caller");
	if (callee->is_callback) {
		/* the callback's result goes to the helper, which may call
		 * it again: run it again from here until nothing changes */
		if (r0->type != SCALAR_VALUE)
			return verr(env, -EINVAL,
				    "At callback return the register R0 is not a known value (%s)",
				    "ptr");
		if ((err = mark_precise(env, 0)))
			return err;
		hist_cur(env)->flags |= HIST_CALLBACK;
		if (r0->smin < 0 || r0->smax > 1) {
			char buf[96];

			reg_range_text(r0, buf, sizeof(buf));
			return verr(env, -EINVAL,
				    "At callback return the register R0 has%s should have been in [0, 1]",
				    buf);
		}
		/* less() of bpf_rbtree_add: the path after the call was
		 * queued at the call */
		if (callee->callback_helper == CALLBACK_RBTREE_LESS)
			return 1;
		int callsite = callee->callsite;
		struct vstate *again = state_dup(st);
		if (!again)
			return -ENOMEM;
		frame_free(again->frame[again->curframe]);
		again->frame[again->curframe] = NULL;
		again->curframe--;
		again->callback_entry = true;
		/* re-entry: back at the helper call */
		err = push_state(env, again, callsite);
		if (err) {
			state_free(again);
			return err;
		}
		if (again->parent)
			again->parent->branches++;
		int helper = callee->callback_helper;
		frame_free(st->frame[st->curframe]);
		st->frame[st->curframe] = NULL;
		st->curframe--;
		struct vreg *regs = cur_regs(env);
		for (int i = 1; i <= 5; i++)
			memset(&regs[i], 0, sizeof(regs[i]));
		reg_mark_unknown(&regs[0]);
		if (helper == BPF_FUNC_loop) {
			regs[0].smin = 0;
			regs[0].smax = 1 << 23;
			reg_bounds_sync(&regs[0]);
		}
		*next = callsite + 1;
		return 0;
	}
	struct vreg ret = *r0;
	int callsite = callee->callsite;
	frame_free(st->frame[st->curframe]);
	st->frame[st->curframe] = NULL;
	st->curframe--;
	struct vreg *regs = cur_regs(env);
	for (int i = 1; i <= 5; i++)
		memset(&regs[i], 0, sizeof(regs[i]));
	regs[0] = ret;
	*next = callsite + 1;
	(void)idx;
	return 0;
}

/* ---- the main loop ---- */

static int do_insn(struct venv *env, int idx, int *next)
{
	const struct bpf_insn *insn = &env->insns[idx];
	u8 cls = BPF_CLASS(insn->code);
	struct vreg *regs = cur_regs(env);
	int err;

	*next = idx + 1;
	/* the kernel's check_reg_arg(DST_OP) on r10, on the paths that
	 * reach the instruction (dead code may name it) */
	if (((cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_LDX ||
	      (cls == BPF_LD && BPF_MODE(insn->code) == BPF_IMM)) &&
	     insn->dst_reg == BPF_REG_10) ||
	    (cls == BPF_STX && BPF_MODE(insn->code) == BPF_ATOMIC &&
	     (insn->imm & BPF_FETCH) && insn->imm != BPF_CMPXCHG &&
	     insn->src_reg == BPF_REG_10))
		return verr(env, -EACCES, "frame pointer is read only");
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		return check_alu(env, insn);
	case BPF_LDX: {
		bool sx = BPF_MODE(insn->code) == BPFX_MEMSX;
		if ((err = check_reg_read(env, insn->src_reg)))
			return err;
		struct vreg ptr = regs[insn->src_reg];
		err = check_mem_access(env, idx, insn->src_reg, insn->off,
				       insn_size(insn->code), false,
				       insn->dst_reg, sx);
		if (!err)
			note_access(env, idx, &ptr, insn->off,
				    insn_size(insn->code), false);
		return err;
	}
	case BPF_ST:
	case BPF_STX: {
		struct vreg imm;
		if (BPF_MODE(insn->code) == BPF_ATOMIC)
			return check_atomic(env, insn, idx);
		if ((err = check_reg_read(env, insn->dst_reg)))
			return err;
		if (cls == BPF_STX) {
			if ((err = check_reg_read(env, insn->src_reg)))
				return err;
			if (regs[insn->dst_reg].type == PTR_TO_CTX &&
			    is_pointer(&regs[insn->src_reg]))
				return verr(env, 0, "R%d leaks addr into ctx",
					    insn->src_reg);
			/* zero bytes on the stack (not a spill) come from a
			 * register that must stay zero, as the kernel's */
			if (regs[insn->dst_reg].type == PTR_TO_STACK &&
			    tnum_is_const(regs[insn->dst_reg].var_off) &&
			    byte_is_zero_value(&regs[insn->src_reg])) {
				s64 lo = (s64)regs[insn->dst_reg].var_off.value +
					 regs[insn->dst_reg].off + insn->off;
				if ((insn_size(insn->code) != 8 || lo % 8) &&
				    (err = mark_precise(env, insn->src_reg)))
					return err;
			}
			struct vreg ptr = regs[insn->dst_reg];
			err = check_mem_access(env, idx, insn->dst_reg,
					       insn->off, insn_size(insn->code),
					       true, insn->src_reg, false);
			if (!err)
				note_access(env, idx, &ptr, insn->off,
					    insn_size(insn->code), true);
			return err;
		}
		/* BPF_ST: the immediate as a register */
		reg_mark_known(&imm, (u64)(s64)insn->imm);
		struct vreg st_ptr = regs[insn->dst_reg];
		struct vreg saved = regs[0];
		struct vreg *slot = &regs[0];
		/* borrow a scratch slot: use the frame's r0 copy */
		*slot = imm;
		if (insn->dst_reg == 0) {
			*slot = saved;
			/* dst r0 is the pointer; the value is only data */
			err = check_mem_access(env, idx, 0, insn->off,
					       insn_size(insn->code), true, -1,
					       false);
			if (!err && regs[0].type == PTR_TO_STACK &&
			    insn->imm == 0) {
				/* zero bytes */
			}
			if (!err)
				note_access(env, idx, &st_ptr, insn->off,
					    insn_size(insn->code), true);
			return err;
		}
		err = check_mem_access(env, idx, insn->dst_reg, insn->off,
				       insn_size(insn->code), true, 0, false);
		regs[0] = saved;
		if (!err)
			note_access(env, idx, &st_ptr, insn->off,
				    insn_size(insn->code), true);
		return err;
	}
	case BPF_LD:
		if (BPF_MODE(insn->code) == BPF_IMM) {
			*next = idx + 2;
			return check_ldimm64(env, insn, idx);
		}
		return check_ld_abs(env, insn, idx, next);
	case BPF_JMP:
	case BPF_JMP32: {
		u8 op = BPF_OP(insn->code);
		if (op == BPF_JA) {
			*next = jmp_target(insn, idx);
			return 0;
		}
		if (op == BPF_EXIT) {
			err = check_exit(env, idx, next);
			return err;
		}
		if (op == BPF_JCOND)
			return check_may_goto(env, insn, idx, next);
		if (op == BPF_CALL) {
			if (cls == BPF_JMP32 || BPF_SRC(insn->code) == BPF_X)
				return verr(env, -EINVAL, "BPF_CALL uses reserved fields");
			if (insn->src_reg == BPF_PSEUDO_CALL)
				return check_subprog_call(env, insn, idx, next);
			if (insn->src_reg == BPF_PSEUDO_KFUNC_CALL)
				return check_kfunc_call(env, insn, idx, next);
			return check_helper_call(env, insn, idx, next);
		}
		return check_cond_jmp(env, insn, idx, next);
	}
	}
	return verr(env, -EINVAL, "unknown insn class %d", cls);
}

/* Each frame's function has used the stack down to its frame's slots:
 * only an access reserves them, and they never shrink. */
static void note_stack_depth(struct venv *env)
{
	const struct vstate *st = env->cur;

	for (int f = 0; st && f <= st->curframe; f++) {
		const struct vframe *fr = st->frame[f];
		u32 used = (u32)fr->nslots * 8;

		if (fr->subprog >= 0 && fr->subprog < env->sub_cnt &&
		    used > env->sub[fr->subprog].stack_depth)
			env->sub[fr->subprog].stack_depth = used;
	}
}

static int do_check(struct venv *env, struct vstate *init, int start)
{
	int err = 0;

	env->cur = init;
	env->cur->insn = start;
	env->hist_cnt = 0;
	init->hist_start = 0;
	env->scratch_all = true; /* "0: R1=ctx() R10=fp0" */
	env->path_popped = false;
	for (;;) {
		int idx = env->cur->insn, next;

		if (idx < 0 || (size_t)idx >= env->cnt) {
			err = verr(env, -EINVAL, "invalid insn idx %d", idx);
			break;
		}
		if (++env->insn_processed > MAX_PROCESSED) {
			env->err_insn = idx;
			err = verr(env, -E2BIG,
				   "BPF program is too large. Processed %u insn",
				   env->insn_processed);
			break;
		}
		err = is_state_visited(env, idx);
		if (err < 0)
			break;
		if (err == 1) {
			err = 0;
			goto path_done;
		}
		if (env->path_popped && env->log_level > 1) {
			/* the kernel's "from 4 to 7: <state>" */
			if (env->cur->from_insn >= 0)
				vlog(env, "\nfrom %d to %d:", env->cur->from_insn,
				     idx);
			else
				vlog(env, "\nfrom path to %d:", idx);
			log_state(env, env->cur);
		}
		env->path_popped = false;
		log_insn(env, idx);
		env->err_insn = idx;
		if ((err = hist_push(env, idx)))
			break;
		if (BPF_CLASS(env->insns[idx].code) == BPF_JMP ||
		    BPF_CLASS(env->insns[idx].code) == BPF_JMP32)
			env->jmps_processed++;
		if (env->log_level) {
			struct vframe *before = frame_dup(cur_frame(env));

			err = do_insn(env, idx, &next);
			if (err >= 0)
				scratch_insn(env, &env->insns[idx], before);
			frame_free(before);
		} else {
			err = do_insn(env, idx, &next);
		}
		if (err < 0)
			break;
		note_stack_depth(env);
		if (err == 1) {
			err = 0;
			goto path_done;
		}
		env->cur->insn = next;
		continue;
path_done:
		branch_done(env->cur->parent);
		state_free(env->cur);
		env->cur = NULL;
		if (!env->todo_cnt)
			break;
		env->cur = env->todo[--env->todo_cnt];
		env->hist_cnt = env->cur->hist_end;
		env->path_popped = true;
		env->scratch_regs = 0;
		env->scratch_slots = 0;
		env->scratch_all = true;
	}
	if (err < 0) {
		state_free(env->cur);
		env->cur = NULL;
		while (env->todo_cnt)
			state_free(env->todo[--env->todo_cnt]);
	}
	return err;
}

/* ---- setup ---- */

int find_subprog(struct venv *env, u32 insn)
{
	for (int i = 0; i < env->sub_cnt; i++)
		if (env->sub[i].start == insn)
			return i;
	return -1;
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;
	return x < y ? -1 : x > y;
}

/* BTF of the function starting at INSN: linkage, args, name. */
static void subprog_btf(struct venv *env, struct vsubprog *sp)
{
	const struct btf *btf = env->prog->obj->btf;
	const struct btf_type *fn = NULL, *proto;

	snprintf(sp->name, sizeof(sp->name), "func#%ld",
		 (long)(sp - env->sub));
	if (!btf)
		return;
	for (size_t i = 0; i < env->prog->func_info_cnt; i++)
		if (env->prog->func_info[i].insn_off == sp->start)
			fn = btf__type_by_id(btf, env->prog->func_info[i].type_id);
	if (!fn || !btf_is_func(fn))
		return;
	const char *fname = btf__name_by_offset(btf, fn->name_off);
	if (fname)
		snprintf(sp->name, sizeof(sp->name), "%s", fname);
	sp->global = btf_vlen(fn) == BTF_FUNC_GLOBAL;
	proto = btf__type_by_id(btf, fn->type);
	if (!proto || !btf_is_func_proto(proto))
		return;
	sp->returns_void = proto->type == 0;
	if (!sp->returns_void) {
		const struct btf_type *rt = btf__type_by_id(btf, proto->type);
		while (rt && (btf_is_mod(rt) || btf_is_typedef(rt)))
			rt = btf__type_by_id(btf, rt->type);
		sp->returns_nonscalar = !rt || !(btf_is_int(rt) || btf_is_enum(rt) ||
						  btf_is_enum64(rt));
	}
	sp->arg_cnt = MIN(btf_vlen(proto), 5);
	const struct btf_param *p = btf_params(proto);
	for (int a = 0; a < sp->arg_cnt; a++) {
		const struct btf_type *t = btf__type_by_id(btf, p[a].type);
		u32 tid = p[a].type;

		while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
			tid = t->type;
			t = btf__type_by_id(btf, tid);
		}
		if (!t || !btf_is_ptr(t)) {
			sp->arg_kind[a] = 0;
			continue;
		}
		u32 pid = t->type;
		const struct btf_type *pt = btf__type_by_id(btf, pid);
		while (pt && (btf_is_mod(pt) || btf_is_typedef(pt))) {
			pid = pt->type;
			pt = btf__type_by_id(btf, pid);
		}
		const char *pname = pt ? btf__name_by_offset(btf, pt->name_off)
				       : NULL;
		if (!pname)
			pname = "";
		if (pt && btf_is_struct(pt) && !strcmp(pname, "bpf_dynptr")) {
			sp->arg_kind[a] = 3; /* a dynptr (dynptr.c) */
			continue;
		}
		if (!pid || !pt || (btf_is_struct(pt) &&
				    (!strcmp(pname, "__sk_buff") ||
				     !strcmp(pname, "xdp_md") ||
				     !strncmp(pname, "bpf_", 4) ||
				     !strcmp(pname, "pt_regs")))) {
			sp->arg_kind[a] = 1;
			continue;
		}
		s64 sz = btf__resolve_size(btf, pid);
		sp->arg_kind[a] = 2;
		sp->arg_mem_size[a] = sz > 0 ? (u32)sz : 0;
		sp->arg_nullable[a] = true;
	}
}

static int find_subprogs(struct venv *env)
{
	u32 *starts = malloc((env->cnt + 2) * sizeof(u32));
	size_t n = 0;

	if (!starts)
		return -ENOMEM;
	starts[n++] = 0;
	for (size_t i = 0; i < env->cnt; i++) {
		const struct bpf_insn *in = &env->insns[i];
		if ((in->code == (BPF_JMP | BPF_CALL) &&
		     in->src_reg == BPF_PSEUDO_CALL) ||
		    (in->code == (BPF_LD | BPF_IMM | BPF_DW) &&
		     in->src_reg == BPF_PSEUDO_FUNC))
			starts[n++] = i + 1 + in->imm;
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
	if (env->prog->exception_cb_insn)
		starts[n++] = env->prog->exception_cb_insn;
	for (size_t i = 0; i < env->prog->func_info_cnt; i++)
		if (env->prog->func_info[i].insn_off < env->cnt) {
			starts = realloc(starts, (n + 1 + env->prog->func_info_cnt) *
							 sizeof(u32));
			if (!starts)
				return -ENOMEM;
			starts[n++] = env->prog->func_info[i].insn_off;
		}
	qsort(starts, n, sizeof(u32), cmp_u32);
	env->sub = calloc(n, sizeof(*env->sub));
	if (!env->sub) {
		free(starts);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (env->sub_cnt && env->sub[env->sub_cnt - 1].start == starts[i])
			continue;
		env->sub[env->sub_cnt++].start = starts[i];
	}
	free(starts);
	for (int i = 0; i < env->sub_cnt; i++) {
		env->sub[i].end = i + 1 < env->sub_cnt ? env->sub[i + 1].start
						       : env->cnt;
		for (u32 k = env->sub[i].start; k < env->sub[i].end; k++)
			env->insn_sub[k] = i;
		subprog_btf(env, &env->sub[i]);
	}
	env->sub[0].global = false;
	if (env->prog->exception_cb_insn) {
		int cb = find_subprog(env, env->prog->exception_cb_insn);
		if (cb >= 0) {
			env->sub[cb].is_exception_cb = true;
			env->sub[cb].is_cb = true;
			env->sub[cb].is_async_cb = true;
		}
	}
	/* which subprograms may throw: a bpf_throw in them or a callee */
	bool changed = true;
	int throw_idx = kfunc_by_name("bpf_throw");
	while (changed) {
		changed = false;
		for (int s = 0; s < env->sub_cnt; s++) {
			struct vsubprog *sp = &env->sub[s];
			if (sp->may_throw)
				continue;
			for (u32 k = sp->start; k < sp->end; k++) {
				const struct bpf_insn *in = &env->insns[k];
				if (in->code != (BPF_JMP | BPF_CALL))
					continue;
				if (in->src_reg == BPF_PSEUDO_KFUNC_CALL &&
				    in->imm == throw_idx)
					sp->may_throw = true;
				if (in->src_reg == BPF_PSEUDO_CALL) {
					int c = find_subprog(env, k + 1 + in->imm);
					if (c >= 0 && env->sub[c].may_throw)
						sp->may_throw = true;
				}
			}
			changed |= sp->may_throw;
		}
	}
	return 0;
}

/* The bytes the kernel's fixup adds to the frame of a function with
 * may_goto in it, after the stack checks, for the hidden budget slot: two
 * slots (count and start time) on x86-64, whose JIT has the timed form;
 * the log's "stack depth" of an accepted program shows them (a rejected
 * one gets no fixups). bpfx keeps the budget outside the
 * BPF stack (interp.c, the JIT's frame). */
static u32 may_goto_stack_extra(const struct venv *env, int sub)
{
	for (u32 i = env->sub[sub].start; i < env->sub[sub].end && i < env->cnt;
	     i++)
		if (is_may_goto_insn(&env->insns[i]))
			return 16;
	return 0;
}

static void mark_prune_points(struct venv *env)
{
	for (size_t i = 0; i < env->cnt; i++) {
		const struct bpf_insn *in = &env->insns[i];
		u8 cls = BPF_CLASS(in->code);

		if (in->code == (BPF_LD | BPF_IMM | BPF_DW)) {
			i++;
			continue;
		}
		if (cls != BPF_JMP && cls != BPF_JMP32)
			continue;
		if (BPF_OP(in->code) == BPF_CALL) {
			if (i + 1 < env->cnt)
				env->prune_point[i + 1] = 1;
			/* callbacks re-enter at the call */
			env->prune_point[i] = 1;
			continue;
		}
		if (BPF_OP(in->code) == BPF_EXIT)
			continue;
		/* may_goto: a checkpoint at every pass (is_state_visited) */
		if (BPF_OP(in->code) == BPF_JCOND)
			env->prune_point[i] = 1;
		int t = jmp_target(in, i);
		if (t >= 0 && (size_t)t < env->cnt)
			env->prune_point[t] = 1;
		if (i + 1 < env->cnt)
			env->prune_point[i + 1] = 1;
	}
	for (int s = 0; s < env->sub_cnt; s++)
		env->prune_point[env->sub[s].start] = 1;
}

/* Every instruction must be reachable from the entry or the exception
 * callback, as the kernel's check_cfg() demands ("unreachable insn N");
 * a bpf-to-bpf call and a function pointer (ld_imm64 src 4) lead to their
 * target too. */
static int check_reachable(struct venv *env)
{
	u8 *seen = calloc(env->cnt, 1);
	int *stack = calloc(env->cnt + 1, sizeof(int));
	int sp = 0, err = 0;

	if (!seen || !stack) {
		err = -ENOMEM;
		goto out;
	}
	stack[sp++] = 0;
	seen[0] = 1;
	if (env->prog->exception_cb_insn &&
	    env->prog->exception_cb_insn < env->cnt) {
		stack[sp++] = (int)env->prog->exception_cb_insn;
		seen[env->prog->exception_cb_insn] = 1;
	}
	while (sp) {
		int i = stack[--sp], succ[2], n = 0;
		const struct bpf_insn *in = &env->insns[i];
		u8 cls = BPF_CLASS(in->code), op = BPF_OP(in->code);

		if (in->code == (BPF_LD | BPF_IMM | BPF_DW)) {
			succ[n++] = i + 2;
			if (in->src_reg == BPF_PSEUDO_FUNC)
				succ[n++] = i + 1 + in->imm;
		} else if ((cls == BPF_JMP || cls == BPF_JMP32) &&
			   op == BPF_EXIT) {
			n = 0;
		} else if ((cls == BPF_JMP || cls == BPF_JMP32) &&
			   op == BPF_CALL) {
			succ[n++] = i + 1;
			if (in->src_reg == BPF_PSEUDO_CALL)
				succ[n++] = i + 1 + in->imm;
		} else if ((cls == BPF_JMP || cls == BPF_JMP32) &&
			   op == BPF_JA) {
			succ[n++] = jmp_target(in, i);
		} else if (cls == BPF_JMP || cls == BPF_JMP32) {
			succ[n++] = i + 1;
			succ[n++] = jmp_target(in, i);
		} else {
			succ[n++] = i + 1;
		}
		for (int k = 0; k < n; k++)
			if (succ[k] >= 0 && (size_t)succ[k] < env->cnt &&
			    !seen[succ[k]]) {
				seen[succ[k]] = 1;
				stack[sp++] = succ[k];
			}
	}
	for (size_t i = 0; i < env->cnt; i++) {
		if (!seen[i])
			err = verr(env, -EINVAL, "unreachable insn %zu", i);
		if (err)
			break;
		if (env->insns[i].code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
out:
	free(seen);
	free(stack);
	return err;
}

static void free_explored(struct venv *env)
{
	for (size_t i = 0; env->expl && i < env->cnt; i++) {
		struct explored *e = env->expl[i];
		while (e) {
			struct explored *next = e->next;
			state_free(e->st);
			free(e);
			e = next;
		}
		env->expl[i] = NULL;
		env->states_at[i] = 0;
	}
	while (env->evicted) {
		struct explored *next = env->evicted->next;
		state_free(env->evicted->st);
		free(env->evicted);
		env->evicted = next;
	}
	env->cur_states = 0;
}

/* Entry state of subprogram SUB verified alone: main gets ctx in R1; a
 * global function its BTF arguments; the exception callback one scalar. */
static int verify_entry(struct venv *env, int sub)
{
	struct vstate *st = calloc(1, sizeof(*st));
	struct vsubprog *sp = &env->sub[sub];
	struct vreg *regs;
	int err;

	if (!st)
		return -ENOMEM;
	st->frame[0] = frame_new(-1, sub, 0);
	if (!st->frame[0]) {
		free(st);
		return -ENOMEM;
	}
	regs = st->frame[0]->regs;
	env->verifying_sub = sub;
	if (sub == 0) {
		regs[1].type = PTR_TO_CTX;
		regs[1].var_off = tnum_const(0);
		/* a program of no type runs on a buffer: r2 is its length
		 * (bpfx_program__run_raw, the conformance plugin's --elf) */
		if (env->prog_type == BPF_PROG_TYPE_UNSPEC)
			reg_mark_unknown(&regs[2]);
	} else {
		if (env->log_level)
			vlog(env, "Validating %s() func#%d...\n", sp->name, sub);
		if (sp->global && sp->returns_nonscalar) {
			state_free(st);
			return verr(env, -EINVAL,
				    "Global function %s() doesn't return scalar. Only those are supported.",
				    sp->name);
		}
		if (sp->is_exception_cb) {
			/* the kernel verifies it as a callback: no bpf_throw
			 * inside it */
			st->frame[0]->is_callback = true;
			if (sp->returns_void) {
				state_free(st);
				return verr(env, -EINVAL,
					    "exception cb cannot return void");
			}
			if (sp->arg_cnt != 1 || sp->arg_kind[0] != 0) {
				state_free(st);
				return verr(env, -EINVAL,
					    "exception cb only supports single integer argument");
			}
		}
		for (int a = 0; a < sp->arg_cnt; a++) {
			struct vreg *r = &regs[a + 1];
			if (sp->arg_kind[a] == 0) {
				reg_mark_unknown(r);
			} else if (sp->arg_kind[a] == 1) {
				r->type = PTR_TO_CTX;
				r->var_off = tnum_const(0);
			} else if (sp->arg_kind[a] == 3) {
				r->type = CONST_PTR_TO_DYNPTR;
				r->var_off = tnum_const(0);
				r->id = ++env->id_gen;
			} else {
				r->type = PTR_TO_MEM;
				r->var_off = tnum_const(0);
				r->mem_size = sp->arg_mem_size[a];
				r->flags = VREG_MAYBE_NULL;
				r->id = ++env->id_gen;
			}
		}
	}
	err = do_check(env, st, sp->start);
	free_explored(env);
	return err;
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int verifier_check(struct bpfx_program *prog, unsigned int log_level,
		   char *log, size_t log_sz, char *err, size_t err_sz,
		   size_t *err_insn, struct verifier_stats *stats)
{
	struct venv env = { 0 };
	u64 t0 = now_ns();
	int ret;

	if (log && log_sz)
		log[0] = '\0';
	env.prog = prog;
	env.insns = prog->insns;
	env.cnt = prog->insn_cnt;
	env.prog_type = prog->type;
	env.log_level = log && log_sz ? log_level : 0;
	env.log = log;
	env.log_sz = log_sz;
	env.err_insn = -1;
	env.insn_sub = calloc(env.cnt, sizeof(int));
	env.prune_point = calloc(env.cnt, 1);
	env.live = calloc(env.cnt, sizeof(u16));
	env.expl = calloc(env.cnt, sizeof(*env.expl));
	env.states_at = calloc(env.cnt, sizeof(u32));
	/* a proof about other instructions must not outlive them */
	mem_proof_free(prog);
	env.proof.proven = calloc(env.cnt ? env.cnt : 1, 1);
	if (!env.insn_sub || !env.prune_point || !env.live || !env.expl ||
	    !env.states_at || !env.proof.proven) {
		ret = -ENOMEM;
		goto out;
	}
	ret = graph_check_prog_maps(&env);
	if (!ret)
		ret = find_subprogs(&env);
	if (!ret)
		ret = check_reachable(&env);
	if (ret)
		goto out;
	compute_liveness(&env);
	mark_prune_points(&env);

	ret = check_timer_maps(&env);
	if (!ret)
		ret = verify_entry(&env, 0);
	/* global functions and the exception callback, each alone */
	for (int s = 1; !ret && s < env.sub_cnt; s++)
		if (env.sub[s].global || env.sub[s].is_exception_cb)
			ret = verify_entry(&env, s);
	if (!ret)
		ret = check_throw_in_callbacks(&env);
	if (!ret) {
		env.err_insn = -1; /* about the whole program */
		ret = check_max_stack_depth(&env);
	}
out:
	if (stats) {
		stats->insns_processed = env.insn_processed;
		stats->max_states_per_insn = env.max_states_per_insn;
		stats->total_states = env.total_states;
		stats->peak_states = env.peak_states;
		stats->duration_ns = now_ns() - t0;
	}
	/* level 1 keeps the trace of a rejection only, as the kernel */
	if (env.log_level == 1 && !ret && env.log_len) {
		env.log_len = 0;
		env.log[0] = '\0';
	}
	if (env.log_level) {
		vlog(&env, "stack depth ");
		for (int s = 0; s < env.sub_cnt; s++)
			vlog(&env, "%s%u", s ? "+" : "",
			     env.sub[s].stack_depth +
				     (ret ? 0 : may_goto_stack_extra(&env, s)));
		vlog(&env, "\n");
	}
	if (env.log_level)
		vlog(&env,
		     "processed %u insns (limit %d) max_states_per_insn %u total_states %u peak_states %u\n",
		     env.insn_processed, MAX_PROCESSED, env.max_states_per_insn,
		     env.total_states, env.peak_states);
	if (ret) {
		for (char *p = env.msg; *p; p++)
			if (*p == '\n')
				*p = ' ';
		if (ret == -ENOMEM && !env.msg[0])
			snprintf(env.msg, sizeof(env.msg), "out of memory");
		if (env.err_insn >= 0) {
			snprintf(err, err_sz, "verifier: insn %d: %s",
				 env.err_insn, env.msg);
			if (err_insn)
				*err_insn = env.err_insn;
		} else {
			snprintf(err, err_sz, "verifier: %s", env.msg);
		}
	}
	if (!ret) {
		/* an instruction never reached keeps its checks */
		for (size_t i = 0; i < env.cnt; i++)
			env.proof.proven[i] = env.proof.proven[i] == PROOF_HOLDS;
		prog->mem_proof = malloc(sizeof(*prog->mem_proof));
		if (prog->mem_proof) {
			*prog->mem_proof = env.proof;
			prog->mem_proof->insns = prog->insns;
			prog->mem_proof->cnt = prog->insn_cnt;
			env.proof.proven = NULL;
		}
	}
	free(env.proof.proven);
	free_explored(&env);
	free(env.todo);
	free(env.hist);
	free(env.insn_sub);
	free(env.prune_point);
	free(env.live);
	free(env.expl);
	free(env.states_at);
	free(env.sub);
	return ret;
}

BPFX_API int bpfx_program__verify(struct bpfx_program *prog,
				  struct bpfx_verify_opts *opts)
{
	struct verifier_stats stats = { 0 };
	char msg[512];
	size_t insn;
	int err;

	if (!prog || (opts && !opts_valid(opts, sizeof(*opts))))
		return -EINVAL;
	err = bpfx_program__load(prog);
	if (!prog->insns)
		return err ? err : -EINVAL;
	/* a program that failed before the verifier (linking, the
	 * structural check) has nothing to verify; one the verifier refused
	 * is verified again for its log */
	if (err && !(prog->load_error && strstr(prog->load_error, "verifier: ")))
		return err;
	if (OPTS_GET(opts, engine, BPFX_ENGINE_DEFAULT) == BPFX_ENGINE_KERNEL)
		err = kernel_verify(prog, OPTS_GET(opts, log_level, 0),
				    OPTS_GET(opts, log_buf, NULL),
				    OPTS_GET(opts, log_size, 0), &stats);
	else
		err = verifier_check(prog, OPTS_GET(opts, log_level, 0),
				     OPTS_GET(opts, log_buf, NULL),
				     OPTS_GET(opts, log_size, 0), msg,
				     sizeof(msg), &insn, &stats);
	OPTS_SET(opts, insns_processed, stats.insns_processed);
	OPTS_SET(opts, max_states_per_insn, stats.max_states_per_insn);
	OPTS_SET(opts, total_states, stats.total_states);
	OPTS_SET(opts, peak_states, stats.peak_states);
	OPTS_SET(opts, duration_ns, stats.duration_ns);
	return err;
}

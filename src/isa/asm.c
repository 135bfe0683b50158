/*
 * The assembler: text in the BPF conformance suite's syntax (the one uBPF's
 * assembler introduced) to instructions.
 *
 *     mov %r0, 1            add32 %r0, %r1        neg %r0      le16 %r0
 *     ldxw %r0, [%r1+4]     stxdw [%r10-8], %r1   stw [%r1+2], 0x1234
 *     jeq %r1, 0x20, +2     jne %r0, 15, failed   ja +1        gotol -3
 *     lddw %r0, 0x1122334455667788                lddw %r1, map_by_fd(3)
 *     lddw %r2, func(callback)   (or func(+N): a BPF function's address)
 *     call 1   call helper 1   call local func1   call runtime 7   callx %r2
 *     lock add [%r10-8], %r1                      lock fetch xor32 [%r1], %r2
 *     ldabsw 12             ldindh %r6, 2         exit
 *     .insn 0x0000000000000095    (one raw slot, as in a "-- raw" section)
 *
 * There is no second opcode list here: the mnemonics are isa_ops[]'s
 * (generated from opcodes.h), and the operand syntax of each entry follows
 * from its opcode byte and the fields it uses (see op_form()). Entries that
 * share a mnemonic ("add" with an immediate or a register) are told apart
 * by the operands. Spellings other assemblers use ("ja32", "swap16",
 * "ldxbsx", "movsx864", "add64") are mapped by a small alias table and by
 * dropping a "64" suffix.
 *
 * Registers are written %rN or rN. Numbers are decimal or 0x hex with an
 * optional sign; 32-bit immediates take any value from -2^31 to 2^32-1.
 * Jump and call targets are +N/-N (or N) relative to the next instruction,
 * or a label ("name:" on its own line or before an instruction); the first
 * "exit" is also the label "exit", as in the suite's assembler. Comments
 * start with '#', ';' or "//".
 *
 * Two passes over the text: the first records labels at their slot
 * numbers (lddw takes two slots), the second encodes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ASM_MAX_OPERANDS 4
#define ASM_MAX_LABELS_INIT 16

/* How an instruction's operands are written, derived from its opcode. */
enum op_form {
	F_NONE,   /* exit */
	F_R,      /* neg %r0, le16 %r0, callx %r1 */
	F_RI,     /* add %r0, 1 */
	F_RR,     /* add %r0, %r1 */
	F_J,      /* ja +1, may_goto +1 (target in off) */
	F_JI,     /* gotol +1 (target in imm) */
	F_RIJ,    /* jeq %r0, 1, +1 */
	F_RRJ,    /* jeq %r0, %r1, +1 */
	F_CALL,   /* call [helper|local|runtime] X */
	F_LDDW,   /* lddw %r0, imm64 | lddw %r1, map_by_fd(N) */
	F_LDABS,  /* ldabsw imm */
	F_LDIND,  /* ldindw %r1, imm */
	F_LDX,    /* ldxw %r0, [%r1+off] */
	F_ST,     /* stw [%r1+off], imm */
	F_STX,    /* stxw [%r1+off], %r2 */
	F_ATOMIC, /* lock add [%r1+off], %r2 */
};

static enum op_form op_form(const struct isa_op_desc *d)
{
	u8 opc = d->opcode;
	switch (BPF_CLASS(opc)) {
	case BPF_ALU:
	case BPF_ALU64:
		if (d->fields & U_SRC)
			return F_RR;
		return (d->fields & U_IMM) ? F_RI : F_R;
	case BPF_JMP:
	case BPF_JMP32:
		if (opc == (BPF_JMP | BPF_EXIT))
			return F_NONE;
		if (opc == (BPF_JMP | BPF_CALL))
			return F_CALL;
		if (opc == (BPF_JMP | BPF_CALL | BPF_X))
			return F_R;
		if (opc == (BPF_JMP | BPF_JA) || opc == (BPF_JMP | BPF_JCOND))
			return F_J;
		if (opc == (BPF_JMP32 | BPF_JA))
			return F_JI;
		return (d->fields & U_SRC) ? F_RRJ : F_RIJ;
	case BPF_LD:
		if (BPF_MODE(opc) == BPF_IMM)
			return F_LDDW;
		return BPF_MODE(opc) == BPF_ABS ? F_LDABS : F_LDIND;
	case BPF_LDX:
		return F_LDX;
	case BPF_ST:
		return F_ST;
	default:
		return BPF_MODE(opc) == BPF_ATOMIC ? F_ATOMIC : F_STX;
	}
}

/* The names a pseudo-lddw's source is written with, by src value. */
static const char *const lddw_pseudo_names[] = {
	[BPF_PSEUDO_MAP_FD] = "map_by_fd",
	[BPF_PSEUDO_MAP_VALUE] = "map_val_by_fd",
	[BPF_PSEUDO_BTF_ID] = "btf_id",
	[BPF_PSEUDO_FUNC] = "func",
	[BPF_PSEUDO_MAP_IDX] = "map_by_idx",
	[BPF_PSEUDO_MAP_IDX_VALUE] = "map_val_by_idx",
};

/* Spellings of other assemblers (and the suite's) for our mnemonics. */
static const struct {
	const char *alias, *name;
} mnemonic_aliases[] = {
	{ "ja32", "gotol" },      { "jal", "gotol" },
	{ "swap16", "bswap16" },  { "swap32", "bswap32" },
	{ "swap64", "bswap64" },  { "ldxbsx", "ldxsb" },
	{ "ldxhsx", "ldxsh" },    { "ldxwsx", "ldxsw" },
	{ "movsx8_32", "movsx832" }, { "movsx16_32", "movsx1632" },
};

enum operand_kind { OPND_REG, OPND_NUM, OPND_MEM, OPND_SYM, OPND_PSEUDO };

struct operand {
	enum operand_kind kind;
	int reg;      /* OPND_REG, OPND_MEM */
	s64 num;      /* OPND_NUM; OPND_MEM: offset; OPND_PSEUDO: imm */
	s64 extra;    /* OPND_PSEUDO: the second slot's imm */
	int pseudo;   /* OPND_PSEUDO: the src value */
	bool signed_; /* OPND_NUM written with a sign: a relative target */
	char sym[64]; /* OPND_SYM */
};

struct label {
	char *name;
	size_t slot;
};

struct assembler {
	struct label *labels;
	size_t label_cnt, label_cap;
	struct bpf_insn *out;
	size_t cnt, cap;
	int line;
	char *err;
	size_t err_sz;
};

#define ASM_FAIL(as, ...)                                                      \
	({                                                                     \
		asm_fail(as, __VA_ARGS__);                                     \
		-EINVAL;                                                       \
	})

__attribute__((format(printf, 2, 3))) static void
asm_fail(struct assembler *as, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (as->err && as->err_sz)
		snprintf(as->err, as->err_sz, "line %d: %s", as->line, msg);
}

bool isa_parse_number(const char *s, s64 *val, bool *has_sign)
{
	bool neg = false;
	if (has_sign)
		*has_sign = (*s == '+' || *s == '-');
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!isdigit((unsigned char)*s))
		return false;
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return false;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (*end || errno)
		return false;
	if (neg && v > (1ULL << 63))
		return false;
	*val = neg ? (s64)(0 - (u64)v) : (s64)v;
	return true;
}

static bool parse_register(const char *s, int *reg)
{
	if (*s == '%')
		s++;
	if (*s != 'r' || !isdigit((unsigned char)s[1]))
		return false;
	char *end;
	long n = strtol(s + 1, &end, 10);
	if (*end || n < 0 || n > 15)
		return false;
	*reg = (int)n;
	return true;
}

static bool is_symbol(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_' && *s != '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.')
			return false;
	return true;
}

/* "[%r1+4]", "[r10 - 0x8]", "[%r2]" (spaces already removed) */
static int parse_mem(struct assembler *as, const char *s, struct operand *o)
{
	char buf[64];
	size_t len = strlen(s);
	if (len < 3 || len >= sizeof(buf) || s[len - 1] != ']')
		return ASM_FAIL(as, "bad memory operand '%s'", s);
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = 0;
	char *sign = strpbrk(buf, "+-");
	o->num = 0;
	if (sign) {
		bool has_sign;
		if (!isa_parse_number(sign, &o->num, &has_sign))
			return ASM_FAIL(as, "bad offset in '%s'", s);
		*sign = 0;
	}
	if (!parse_register(buf, &o->reg))
		return ASM_FAIL(as, "bad register in '%s'", s);
	o->kind = OPND_MEM;
	return 0;
}

/* "map_by_fd(3)", "map_val_by_fd(3)+16" */
static int parse_pseudo(struct assembler *as, const char *s, struct operand *o)
{
	const char *open = strchr(s, '(');
	const char *close = strchr(s, ')');
	if (!open || !close || close < open)
		return ASM_FAIL(as, "bad operand '%s'", s);
	size_t name_len = (size_t)(open - s);
	o->pseudo = -1;
	for (size_t i = 0; i < ARRAY_SIZE(lddw_pseudo_names); i++) {
		const char *n = lddw_pseudo_names[i];
		if (n && strlen(n) == name_len && !strncmp(s, n, name_len))
			o->pseudo = (int)i;
	}
	if (o->pseudo < 0)
		return ASM_FAIL(as, "unknown lddw source '%.*s'", (int)name_len,
				s);
	char inner[40];
	size_t inner_len = (size_t)(close - open - 1);
	if (inner_len >= sizeof(inner))
		return ASM_FAIL(as, "bad operand '%s'", s);
	memcpy(inner, open + 1, inner_len);
	inner[inner_len] = 0;
	o->sym[0] = 0;
	if (o->pseudo == BPF_PSEUDO_FUNC && is_symbol(inner) &&
	    strlen(inner) < sizeof(o->sym))
		strcpy(o->sym, inner); /* func(label) */
	else if (!isa_parse_number(inner, &o->num, NULL))
		return ASM_FAIL(as, "bad number '%s' in '%s'", inner, s);
	o->extra = 0;
	if (close[1] && !isa_parse_number(close + 1, &o->extra, NULL))
		return ASM_FAIL(as, "bad offset in '%s'", s);
	o->kind = OPND_PSEUDO;
	return 0;
}

static int parse_operand(struct assembler *as, const char *s,
			 struct operand *o)
{
	memset(o, 0, sizeof(*o));
	if (*s == '[')
		return parse_mem(as, s, o);
	if (strchr(s, '('))
		return parse_pseudo(as, s, o);
	if (parse_register(s, &o->reg)) {
		o->kind = OPND_REG;
		return 0;
	}
	if (isa_parse_number(s, &o->num, &o->signed_)) {
		o->kind = OPND_NUM;
		return 0;
	}
	if (is_symbol(s) && strlen(s) < sizeof(o->sym)) {
		o->kind = OPND_SYM;
		strcpy(o->sym, s);
		return 0;
	}
	if (*s == '%')
		return ASM_FAIL(as, "unknown register '%s'", s);
	return ASM_FAIL(as, "bad operand '%s'", s);
}

/* Splits a line's operand text at commas and blanks outside [] and (),
 * dropping blanks inside them. Returns the count or -EINVAL. */
static int split_operands(struct assembler *as, const char *text,
			  char words[][64], int max)
{
	int n = 0, depth = 0;
	size_t len = 0;
	for (const char *p = text;; p++) {
		char c = *p;
		bool sep = !c || (depth == 0 && (c == ',' || isspace((unsigned char)c)));
		if (sep) {
			if (len) {
				if (n == max)
					return ASM_FAIL(as, "too many operands");
				words[n++][len] = 0;
				len = 0;
			}
			if (!c)
				break;
			continue;
		}
		if (c == '[' || c == '(')
			depth++;
		else if ((c == ']' || c == ')') && depth > 0)
			depth--;
		if (isspace((unsigned char)c))
			continue;
		if (len + 1 >= 64)
			return ASM_FAIL(as, "operand too long");
		words[n][len++] = c;
	}
	return n;
}

static const struct label *find_label(const struct assembler *as,
				      const char *name)
{
	for (size_t i = 0; i < as->label_cnt; i++)
		if (!strcmp(as->labels[i].name, name))
			return &as->labels[i];
	return NULL;
}

static int add_label(struct assembler *as, const char *name, size_t len,
		     size_t slot)
{
	char tmp[64];
	if (len == 0 || len >= sizeof(tmp))
		return ASM_FAIL(as, "bad label");
	memcpy(tmp, name, len);
	tmp[len] = 0;
	if (!is_symbol(tmp))
		return ASM_FAIL(as, "bad label '%s'", tmp);
	if (find_label(as, tmp))
		return ASM_FAIL(as, "duplicate label '%s'", tmp);
	if (as->label_cnt == as->label_cap) {
		size_t cap = as->label_cap ? as->label_cap * 2 : ASM_MAX_LABELS_INIT;
		struct label *l = realloc(as->labels, cap * sizeof(*l));
		if (!l)
			return ASM_FAIL(as, "out of memory");
		as->labels = l;
		as->label_cap = cap;
	}
	as->labels[as->label_cnt].name = strdup(tmp);
	if (!as->labels[as->label_cnt].name)
		return ASM_FAIL(as, "out of memory");
	as->labels[as->label_cnt++].slot = slot;
	return 0;
}

static int emit(struct assembler *as, const struct bpf_insn *insn)
{
	if (as->cnt == as->cap) {
		size_t cap = as->cap ? as->cap * 2 : 64;
		struct bpf_insn *o = realloc(as->out, cap * sizeof(*o));
		if (!o)
			return ASM_FAIL(as, "out of memory");
		as->out = o;
		as->cap = cap;
	}
	as->out[as->cnt++] = *insn;
	return 0;
}

static int check_imm32(struct assembler *as, s64 v, s32 *imm)
{
	if (v < INT32_MIN || v > (s64)UINT32_MAX)
		return ASM_FAIL(as, "immediate %lld out of range", (long long)v);
	*imm = (s32)(u32)v;
	return 0;
}

static int check_off16(struct assembler *as, s64 v, s16 *off)
{
	if (v < INT16_MIN || v > (s64)UINT16_MAX)
		return ASM_FAIL(as, "offset %lld out of range", (long long)v);
	*off = (s16)(u16)v;
	return 0;
}

/* A jump or call target relative to the next slot: +N, -N, N or a label.
 * In the first pass labels are not known yet and resolve to 0. */
static int resolve_target(struct assembler *as, const struct operand *o,
			  bool final, s64 *rel)
{
	if (o->kind == OPND_NUM) {
		*rel = o->num;
		return 0;
	}
	if (o->kind != OPND_SYM)
		return ASM_FAIL(as, "bad jump target");
	if (!final) {
		*rel = 0;
		return 0;
	}
	const struct label *l = find_label(as, o->sym);
	if (!l)
		return ASM_FAIL(as, "undefined label '%s'", o->sym);
	*rel = (s64)l->slot - (s64)as->cnt - 1;
	return 0;
}

/* Fills insn from operands for an entry of the given form; returns 1 when
 * the operands do not fit the form (so the next entry is tried), 0 on
 * success, -EINVAL on a hard error. */
static int encode_form(struct assembler *as, enum op_form form,
		       const struct operand *ops, int n, bool final,
		       struct bpf_insn *insn, struct bpf_insn *second)
{
	s64 rel;
	int err;
#define KINDS1(a) (n == 1 && ops[0].kind == (a))
#define KINDS2(a, b) (n == 2 && ops[0].kind == (a) && ops[1].kind == (b))
	switch (form) {
	case F_NONE:
		return n == 0 ? 0 : 1;
	case F_R:
		if (!KINDS1(OPND_REG))
			return 1;
		insn->dst_reg = ops[0].reg;
		return 0;
	case F_RI:
		if (!KINDS2(OPND_REG, OPND_NUM))
			return 1;
		insn->dst_reg = ops[0].reg;
		return check_imm32(as, ops[1].num, &insn->imm);
	case F_RR:
		if (!KINDS2(OPND_REG, OPND_REG))
			return 1;
		insn->dst_reg = ops[0].reg;
		insn->src_reg = ops[1].reg;
		return 0;
	case F_J:
	case F_JI:
		if (n != 1 || (ops[0].kind != OPND_NUM && ops[0].kind != OPND_SYM))
			return 1;
		if ((err = resolve_target(as, &ops[0], final, &rel)))
			return err;
		if (form == F_J)
			return check_off16(as, rel, &insn->off);
		return check_imm32(as, rel, &insn->imm);
	case F_RIJ:
	case F_RRJ:
		if (n != 3 || ops[0].kind != OPND_REG ||
		    ops[1].kind != (form == F_RIJ ? OPND_NUM : OPND_REG) ||
		    (ops[2].kind != OPND_NUM && ops[2].kind != OPND_SYM))
			return 1;
		insn->dst_reg = ops[0].reg;
		if (form == F_RRJ)
			insn->src_reg = ops[1].reg;
		else if ((err = check_imm32(as, ops[1].num, &insn->imm)))
			return err;
		if ((err = resolve_target(as, &ops[2], final, &rel)))
			return err;
		return check_off16(as, rel, &insn->off);
	case F_LDDW:
		if (n != 2 || ops[0].kind != OPND_REG)
			return 1;
		insn->dst_reg = ops[0].reg;
		if (ops[1].kind == OPND_NUM) {
			if (insn->src_reg != 0)
				return 1;
			insn->imm = (s32)(u32)(u64)ops[1].num;
			second->imm = (s32)(u32)((u64)ops[1].num >> 32);
			return 0;
		}
		if (ops[1].kind != OPND_PSEUDO || ops[1].pseudo != insn->src_reg)
			return 1;
		if (ops[1].sym[0]) {
			struct operand label = { .kind = OPND_SYM };
			strcpy(label.sym, ops[1].sym);
			if ((err = resolve_target(as, &label, final, &rel)))
				return err;
			insn->imm = (s32)rel;
			return check_imm32(as, ops[1].extra, &second->imm);
		}
		if ((err = check_imm32(as, ops[1].num, &insn->imm)))
			return err;
		return check_imm32(as, ops[1].extra, &second->imm);
	case F_LDABS:
		if (!KINDS1(OPND_NUM))
			return 1;
		return check_imm32(as, ops[0].num, &insn->imm);
	case F_LDIND:
		if (!KINDS2(OPND_REG, OPND_NUM))
			return 1;
		insn->src_reg = ops[0].reg;
		return check_imm32(as, ops[1].num, &insn->imm);
	case F_LDX:
		if (!KINDS2(OPND_REG, OPND_MEM))
			return 1;
		insn->dst_reg = ops[0].reg;
		insn->src_reg = ops[1].reg;
		return check_off16(as, ops[1].num, &insn->off);
	case F_ST:
		if (!KINDS2(OPND_MEM, OPND_NUM))
			return 1;
		insn->dst_reg = ops[0].reg;
		if ((err = check_off16(as, ops[0].num, &insn->off)))
			return err;
		return check_imm32(as, ops[1].num, &insn->imm);
	case F_STX:
	case F_ATOMIC:
		if (!KINDS2(OPND_MEM, OPND_REG))
			return 1;
		insn->dst_reg = ops[0].reg;
		insn->src_reg = ops[1].reg;
		return check_off16(as, ops[0].num, &insn->off);
	case F_CALL:
		return 1; /* handled by encode_call() */
	}
#undef KINDS1
#undef KINDS2
	return 1;
}

static void apply_selector(const struct isa_op_desc *d, struct bpf_insn *insn)
{
	insn->code = d->opcode;
	if (d->sel == SEL_OFF)
		insn->off = (s16)d->selval;
	else if (d->sel == SEL_IMM)
		insn->imm = d->selval;
	else if (d->sel == SEL_SRC)
		insn->src_reg = (u8)d->selval;
}

/* A helper named in the program ("bpf_map_lookup_elem" or without the
 * prefix): its kernel id, or -1. */
static int helper_id_by_name(const char *name)
{
	for (int id = 1; id < 512; id++) {
		const struct helper_desc *h = helper_by_id(id);
		if (!h || !h->name)
			continue;
		const char *hn = h->name;
		if (!strcmp(hn, name))
			return id;
		if (!strncmp(hn, "bpf_", 4) && !strcmp(hn + 4, name))
			return id;
		if (!strncmp(name, "bpf_", 4) && !strcmp(hn, name + 4))
			return id;
	}
	return -1;
}

static enum bpfx_op op_by_name_sel(const char *mnemonic, s32 selval)
{
	for (int op = 0; op < BPFX_OP__COUNT; op++)
		if (!strcmp(isa_ops[op].mnemonic, mnemonic) &&
		    isa_ops[op].selval == selval)
			return (enum bpfx_op)op;
	return BPFX_OP_INVALID;
}

/* call N | call helper N | call name | call local X | call runtime N [off]
 * | call %rN | call helper %rN */
static int encode_call(struct assembler *as, char words[][64], int n,
		       bool final, struct bpf_insn *insn)
{
	const char *mode = "helper";
	int first = 0;
	if (n >= 2 && (!strcmp(words[0], "helper") || !strcmp(words[0], "local") ||
		       !strcmp(words[0], "runtime") || !strcmp(words[0], "kfunc"))) {
		mode = words[0];
		first = 1;
	}
	int argc = n - first;
	if (argc < 1 || argc > 2 || (argc == 2 && strcmp(mode, "runtime") &&
				     strcmp(mode, "kfunc")))
		return ASM_FAIL(as, "bad operands for 'call'");
	struct operand target, off;
	int err = parse_operand(as, words[first], &target);
	if (err)
		return err;

	enum bpfx_op op;
	if (target.kind == OPND_REG) {
		if (strcmp(mode, "helper"))
			return ASM_FAIL(as, "bad operands for 'call'");
		op = BPFX_OP_CALLX;
		apply_selector(&isa_ops[op], insn);
		insn->dst_reg = target.reg;
		return 0;
	}
	if (!strcmp(mode, "local")) {
		s64 rel;
		op = op_by_name_sel("call", BPF_PSEUDO_CALL);
		apply_selector(&isa_ops[op], insn);
		if ((err = resolve_target(as, &target, final, &rel)))
			return err;
		return check_imm32(as, rel, &insn->imm);
	}
	if (!strcmp(mode, "helper")) {
		op = op_by_name_sel("call", 0);
		apply_selector(&isa_ops[op], insn);
		if (target.kind == OPND_SYM) {
			int id = helper_id_by_name(target.sym);
			if (id < 0)
				return ASM_FAIL(as, "unknown helper '%s'", target.sym);
			insn->imm = id;
			return 0;
		}
		if (target.kind != OPND_NUM)
			return ASM_FAIL(as, "bad operands for 'call'");
		return check_imm32(as, target.num, &insn->imm);
	}
	op = op_by_name_sel("call", BPF_PSEUDO_KFUNC_CALL);
	apply_selector(&isa_ops[op], insn);
	if (target.kind != OPND_NUM)
		return ASM_FAIL(as, "bad operands for 'call'");
	if ((err = check_imm32(as, target.num, &insn->imm)))
		return err;
	if (argc == 2) {
		if ((err = parse_operand(as, words[first + 1], &off)))
			return err;
		if (off.kind != OPND_NUM)
			return ASM_FAIL(as, "bad operands for 'call'");
		return check_off16(as, off.num, &insn->off);
	}
	return 0;
}

static bool mnemonic_known(const char *m)
{
	for (int op = 0; op < BPFX_OP__COUNT; op++)
		if (!strcmp(isa_ops[op].mnemonic, m))
			return true;
	return false;
}

/* Our mnemonic for NAME: itself, an alias, or NAME without a "64" suffix
 * ("add64", "movsx3264"). */
static const char *canonical_mnemonic(const char *name, char *buf, size_t sz)
{
	if (mnemonic_known(name))
		return name;
	for (size_t i = 0; i < ARRAY_SIZE(mnemonic_aliases); i++)
		if (!strcmp(mnemonic_aliases[i].alias, name))
			return mnemonic_aliases[i].name;
	size_t len = strlen(name);
	if (len > 2 && len < sz && !strcmp(name + len - 2, "64")) {
		memcpy(buf, name, len - 2);
		buf[len - 2] = 0;
		if (mnemonic_known(buf))
			return buf;
	}
	return NULL;
}

/* Cuts a comment off and trims; returns the start of the text. */
static char *clean_line(char *line)
{
	for (char *p = line; *p; p++) {
		if (*p == '#' || *p == ';' || (p[0] == '/' && p[1] == '/')) {
			*p = 0;
			break;
		}
	}
	while (isspace((unsigned char)*line))
		line++;
	char *end = line + strlen(line);
	while (end > line && isspace((unsigned char)end[-1]))
		*--end = 0;
	return line;
}

/* Assembles one instruction line (label already removed). */
static int assemble_line(struct assembler *as, char *text, bool final)
{
	char mnem_buf[64], canon_buf[64];
	char words[ASM_MAX_OPERANDS + 2][64];
	size_t mlen = strcspn(text, " \t");
	if (mlen >= sizeof(mnem_buf))
		return ASM_FAIL(as, "unknown mnemonic '%.20s...'", text);
	memcpy(mnem_buf, text, mlen);
	mnem_buf[mlen] = 0;
	for (char *p = mnem_buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	char *rest = text + mlen;

	/* lock [fetch] op: the mnemonic spans several words */
	if (!strcmp(mnem_buf, "lock")) {
		int n = split_operands(as, rest, words, ASM_MAX_OPERANDS + 2);
		if (n < 0)
			return n;
		int w = 0;
		bool fetch = false;
		if (w < n && !strcmp(words[w], "fetch")) {
			fetch = true;
			w++;
		}
		if (w >= n)
			return ASM_FAIL(as, "bad operands for 'lock'");
		const char *aop = words[w++];
		if (!strncmp(aop, "xchg", 4) || !strncmp(aop, "cmpxchg", 7))
			fetch = false;
		snprintf(mnem_buf, sizeof(mnem_buf), "lock %s%.40s",
			 fetch ? "fetch " : "", aop);
		/* "lock add64" */
		const char *canon = canonical_mnemonic(mnem_buf, canon_buf,
						       sizeof(canon_buf));
		if (!canon)
			return ASM_FAIL(as, "unknown mnemonic '%s'", mnem_buf);
		struct operand ops[2];
		if (n - w != 2)
			return ASM_FAIL(as, "bad operands for '%s'", canon);
		for (int i = 0; i < 2; i++) {
			int err = parse_operand(as, words[w + i], &ops[i]);
			if (err)
				return err;
		}
		for (int op = 0; op < BPFX_OP__COUNT; op++) {
			if (strcmp(isa_ops[op].mnemonic, canon))
				continue;
			struct bpf_insn insn = { 0 }, second = { 0 };
			apply_selector(&isa_ops[op], &insn);
			int err = encode_form(as, op_form(&isa_ops[op]), ops, 2,
					      final, &insn, &second);
			if (err < 0)
				return err;
			if (err == 0)
				return emit(as, &insn);
		}
		return ASM_FAIL(as, "bad operands for '%s'", canon);
	}

	int n = split_operands(as, rest, words, ASM_MAX_OPERANDS);
	if (n < 0)
		return n;

	if (!strcmp(mnem_buf, ".insn")) {
		s64 v;
		struct bpf_insn insn;
		if (n != 1 || !isa_parse_number(words[0], &v, NULL))
			return ASM_FAIL(as, "bad operands for '.insn'");
		u64 raw = (u64)v;
		memcpy(&insn, &raw, sizeof(insn));
		return emit(as, &insn);
	}
	if (!strcmp(mnem_buf, "call")) {
		struct bpf_insn insn = { 0 };
		int err = encode_call(as, words, n, final, &insn);
		return err ? err : emit(as, &insn);
	}

	const char *canon = canonical_mnemonic(mnem_buf, canon_buf,
					       sizeof(canon_buf));
	if (!canon)
		return ASM_FAIL(as, "unknown mnemonic '%s'", mnem_buf);
	struct operand ops[ASM_MAX_OPERANDS];
	for (int i = 0; i < n; i++) {
		int err = parse_operand(as, words[i], &ops[i]);
		if (err)
			return err;
	}
	for (int op = 0; op < BPFX_OP__COUNT; op++) {
		if (strcmp(isa_ops[op].mnemonic, canon))
			continue;
		const struct isa_op_desc *d = &isa_ops[op];
		struct bpf_insn insn = { 0 }, second = { 0 };
		apply_selector(d, &insn);
		int err = encode_form(as, op_form(d), ops, n, final, &insn,
				      &second);
		if (err < 0)
			return err;
		if (err > 0)
			continue;
		if ((err = emit(as, &insn)))
			return err;
		if (op_form(d) == F_LDDW)
			return emit(as, &second);
		return 0;
	}
	return ASM_FAIL(as, "bad operands for '%s'", canon);
}

static int assemble_pass(struct assembler *as, const char *text, bool final)
{
	bool exit_seen = false;
	const char *p = text;
	as->line = 0;
	as->cnt = 0;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *line = strndup(p, len);
		if (!line)
			return ASM_FAIL(as, "out of memory");
		p += len + (eol ? 1 : 0);
		as->line++;

		char *s = clean_line(line);
		/* "label:" possibly followed by an instruction */
		size_t id_len = strspn(s, "abcdefghijklmnopqrstuvwxyz"
					  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
		if (id_len && s[id_len] == ':') {
			if (!final) {
				int err = add_label(as, s, id_len, as->cnt);
				if (err) {
					free(line);
					return err;
				}
			}
			s = clean_line(s + id_len + 1);
		}
		int err = 0;
		if (*s) {
			size_t slot = as->cnt;
			err = assemble_line(as, s, final);
			/* the suite's assembler: the first exit is a label */
			if (!err && !final && !exit_seen &&
			    !strncmp(s, "exit", 4) && !s[4]) {
				exit_seen = true;
				if (!find_label(as, "exit"))
					err = add_label(as, "exit", 4, slot);
			}
		}
		free(line);
		if (err)
			return err;
	}
	return 0;
}

int isa_assemble(const char *text, struct bpf_insn **out, size_t *cnt,
		 char *err, size_t err_sz)
{
	struct assembler as = { .err = err, .err_sz = err_sz };
	int ret = assemble_pass(&as, text, false);
	if (!ret)
		ret = assemble_pass(&as, text, true);
	for (size_t i = 0; i < as.label_cnt; i++)
		free(as.labels[i].name);
	free(as.labels);
	if (ret) {
		free(as.out);
		return ret;
	}
	if (as.cnt == 0) {
		free(as.out);
		as.line = 0;
		return ASM_FAIL(&as, "no instructions");
	}
	*out = as.out;
	*cnt = as.cnt;
	return 0;
}

/*
 * Verifier soundness fuzzer: whatever the verifier accepts must run on
 * every engine without a memory fault.
 *
 * For each seed a generator writes a random but plausible program: stack
 * stores and loads (some outside the frame), ALU on random registers
 * (some never written), forward conditional blocks and bounded loops, map
 * lookups on an array and a hash map with and without null checks,
 * pointer arithmetic on map values, the stack and the context with
 * constant and variable offsets, packet access with and without data_end
 * checks (tc and xdp), helper calls with random arguments, bpf_throw,
 * static subprograms, bpf_loop / for_each_map_elem callbacks and
 * open-coded iterator loops. A
 * per-program "sloppiness" decides how often the generator breaks a rule
 * on purpose, so the verifier sees programs on both sides of the line.
 *
 * Each program goes through isa_check() and verifier_check() as the
 * loader does. An accepted program is then run on the interpreter and
 * the JIT with two packets; the engines check every memory access, so
 * any run-time fault, any engine error other than the branch budget, a
 * write below the frames the program may use (the bytes of the thread's
 * BPF stack are filled with a pattern first) or a run longer than the
 * watchdog allows is a verifier soundness bug: the program's disassembly
 * and the verifier's log are printed and the exit status is 1.
 *
 *   verifier_soundness [-s FIRST_SEED] [-n COUNT] [-v] [-k]
 *   verifier_soundness -f FILE.s [-x]
 *
 * -v prints the commonest rejection reasons, -k keeps going after a bug;
 * -f checks one program in the assembler's syntax (a bug's dump, or the
 * reproducers in fuzz/repro/), as tc or, with -x, as xdp. Maps: index 0
 * an array (key 4, value 48, 4 entries), 1 a hash (key 8, value 32).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define MAX_INSNS 512
#define MAX_SUBS 3
#define ARRAY_VALUE 48
#define HASH_VALUE 32
#define WATCHDOG_SECONDS 20

/* What the generator believes a register holds; it may be wrong after
 * branches, which only moves the program towards rejection. */
enum hint { H_UNINIT, H_SCALAR, H_CTX, H_STACK, H_MAPVAL, H_MAPVAL_NULL,
	    H_PKT, H_PKT_END, H_UNKNOWN };

struct fstate {
	u8 hint[11];
	u8 map[11];         /* H_MAPVAL*: which map */
	u8 stack_init[512]; /* byte i is fp-512+i */
	u8 slot_hint[64];   /* spilled register's hint, per 8-byte slot */
	u8 slot_map[64];
};

enum sub_kind { SUB_STATIC, SUB_LOOP_CB, SUB_EACH_CB };

struct sub {
	enum sub_kind kind;
	u8 arg_hint[6]; /* static: what r1-r5 carry */
	int start;
};

struct fixup {
	int at;  /* the call or the lddw of the function */
	int sub;
};

struct gen {
	struct bpf_insn insns[MAX_INSNS];
	int n;
	u64 rng;
	unsigned sloppy; /* per mille: how often a rule is broken */
	u32 prog_type;
	int cur_sub;     /* -1 main */
	int depth;       /* block nesting */
	struct fstate fs;
	struct sub subs[MAX_SUBS];
	int sub_cnt;
	struct fixup fix[64];
	int fix_cnt;
	int max_frames;
};

static u64 rnd(struct gen *g)
{
	/* splitmix64 */
	u64 z = (g->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static int below(struct gen *g, int n) { return (int)(rnd(g) % (u64)n); }
static bool chance(struct gen *g, unsigned per_mille)
{
	return rnd(g) % 1000 < per_mille;
}
static bool bad(struct gen *g) { return chance(g, g->sloppy); }

static bool room(struct gen *g, int k) { return g->n + k < MAX_INSNS - 8; }

static void emit(struct gen *g, u8 code, u8 dst, u8 src, s16 off, s32 imm)
{
	if (g->n < MAX_INSNS)
		g->insns[g->n++] = (struct bpf_insn){ .code = code,
			.dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}
static void emit_lddw(struct gen *g, u8 dst, u8 src, s32 lo, s32 hi)
{
	emit(g, BPF_LD | BPF_IMM | BPF_DW, dst, src, 0, lo);
	emit(g, 0, 0, 0, 0, hi);
}
static void mov_imm(struct gen *g, u8 dst, s32 imm)
{
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
	g->fs.hint[dst] = H_SCALAR;
}
static void mov_reg(struct gen *g, u8 dst, u8 src)
{
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
	g->fs.hint[dst] = g->fs.hint[src];
	g->fs.map[dst] = g->fs.map[src];
}

static const u8 size_codes[4] = { BPF_B, BPF_H, BPF_W, BPF_DW };
static int size_bytes(u8 sz)
{
	return sz == BPF_B ? 1 : sz == BPF_H ? 2 : sz == BPF_W ? 4 : 8;
}

/* ---- registers ---- */

static bool reg_is_protected(struct gen *g, int r)
{
	return r == 10 || (g->cur_sub < 0 && r == 6) || r == 9;
}

/* A register to write: mostly scratch, sometimes any (sloppy). */
static int pick_dst(struct gen *g)
{
	static const u8 scratch[] = { 0, 1, 2, 3, 4, 5, 7, 8 };
	if (bad(g)) {
		int r = below(g, 10);
		return r; /* may hit r6 (ctx) or r9 (loop counter) */
	}
	return scratch[below(g, ARRAY_SIZE(scratch))];
}

/* A register whose hint is H, or -1. */
static int pick_with(struct gen *g, enum hint h)
{
	int cand[11], n = 0;
	for (int r = 0; r < 10; r++)
		if (g->fs.hint[r] == h)
			cand[n++] = r;
	return n ? cand[below(g, n)] : -1;
}

static int pick_scalar(struct gen *g)
{
	int r = pick_with(g, H_SCALAR);
	if (r < 0 || bad(g))
		r = below(g, 10);
	if (r < 0 || g->fs.hint[r] == H_UNINIT) {
		if (bad(g))
			return r;
		r = pick_dst(g);
		mov_imm(g, r, (s32)rnd(g));
	}
	return r;
}

static s32 interesting_imm(struct gen *g)
{
	static const s32 vals[] = { 0, 1, -1, 2, 7, 8, 15, 16, 31, 32, 48,
				    63, 64, 255, 256, 511, 512, -512, -8,
				    0x7fffffff, (s32)0x80000000, 0xffff };
	return chance(g, 700) ? vals[below(g, ARRAY_SIZE(vals))] : (s32)rnd(g);
}

/* ---- snippets ---- */

static void gen_block(struct gen *g, int snippets);

static void sn_mov(struct gen *g)
{
	mov_imm(g, pick_dst(g), interesting_imm(g));
}

static void sn_alu(struct gen *g)
{
	static const u8 ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,
				  BPF_AND, BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD,
				  BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END };
	u8 op = ops[below(g, ARRAY_SIZE(ops))];
	bool alu32 = chance(g, 300);
	int dst = bad(g) ? below(g, 10) : pick_scalar(g);
	s16 off = 0;
	s32 imm = interesting_imm(g);

	if (reg_is_protected(g, dst) && !bad(g))
		dst = pick_scalar(g);
	if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
		imm = bad(g) ? imm : below(g, alu32 ? 32 : 64);
	if ((op == BPF_DIV || op == BPF_MOD) && chance(g, 300))
		off = 1; /* sdiv, smod */
	if (op == BPF_END) {
		static const s32 widths[] = { 16, 32, 64 };
		imm = widths[below(g, 3)];
		/* BPF_TO_BE, BPF_TO_LE, or bswap in ALU64 */
		emit(g, (alu32 ? BPF_ALU : BPF_ALU64) | BPF_END |
			    (alu32 && chance(g, 500) ? BPF_TO_BE : BPF_TO_LE),
		     dst, 0, 0, imm);
		g->fs.hint[dst] = H_SCALAR;
		return;
	}
	if (op == BPF_NEG) {
		emit(g, (alu32 ? BPF_ALU : BPF_ALU64) | BPF_NEG, dst, 0, 0, 0);
		g->fs.hint[dst] = H_SCALAR;
		return;
	}
	if (op == BPF_MOV && chance(g, 200)) {
		static const s16 sx[] = { 8, 16, 32 };
		int src = pick_scalar(g);
		/* movsx */
		emit(g, (alu32 ? BPF_ALU : BPF_ALU64) | BPF_MOV | BPF_X, dst,
		     src, sx[below(g, alu32 ? 2 : 3)], 0);
		g->fs.hint[dst] = H_SCALAR;
		return;
	}
	if (chance(g, 500)) {
		int src = pick_scalar(g);
		emit(g, (alu32 ? BPF_ALU : BPF_ALU64) | op | BPF_X, dst, src,
		     off, 0);
	} else {
		emit(g, (alu32 ? BPF_ALU : BPF_ALU64) | op | BPF_K, dst, 0, off,
		     imm);
	}
	g->fs.hint[dst] = H_SCALAR;
}

/* fp-relative offset of an access of SIZE bytes: in the frame, or (when
 * sloppy) just outside it. */
static int stack_off(struct gen *g, int size, bool want_init)
{
	if (bad(g)) {
		static const int outside[] = { 0, 8, -513, -520, -4, -516,
					       -1, 16 };
		return outside[below(g, ARRAY_SIZE(outside))];
	}
	if (want_init) {
		for (int tries = 0; tries < 16; tries++) {
			int off = -8 * (1 + below(g, 16)) + below(g, 8 / size) * size;
			bool ok = true;
			for (int b = 0; b < size; b++)
				ok &= g->fs.stack_init[512 + off + b];
			if (ok)
				return off;
		}
	}
	int slot = chance(g, 800) ? 1 + below(g, 16) : 1 + below(g, 64);
	return -8 * slot + below(g, 8 / size) * size;
}

static void mark_stack(struct gen *g, int off, int size, int value_reg)
{
	if (off < -512 || off + size > 0)
		return;
	for (int b = 0; b < size; b++)
		g->fs.stack_init[512 + off + b] = 1;
	int slot = (512 + off) / 8;
	if (size == 8 && !(off % 8) && value_reg >= 0) {
		g->fs.slot_hint[slot] = g->fs.hint[value_reg];
		g->fs.slot_map[slot] = g->fs.map[value_reg];
	} else {
		g->fs.slot_hint[slot] = H_SCALAR;
	}
}

static void sn_stack_store(struct gen *g)
{
	u8 sz = size_codes[below(g, 4)];
	int size = size_bytes(sz), off = stack_off(g, size, false);

	if (chance(g, 400)) {
		emit(g, BPF_ST | BPF_MEM | sz, 10, 0, off, interesting_imm(g));
		mark_stack(g, off, size, -1);
		return;
	}
	/* spill anything, pointers included */
	int src = below(g, 10);
	if (g->fs.hint[src] == H_UNINIT && !bad(g))
		mov_imm(g, src, interesting_imm(g));
	if (g->fs.hint[src] != H_SCALAR && !bad(g)) {
		sz = BPF_DW;
		size = 8;
		off &= ~7;
		if (off > -8)
			off = -8;
	}
	emit(g, BPF_STX | BPF_MEM | sz, 10, src, off, 0);
	mark_stack(g, off, size, src);
}

static void sn_stack_load(struct gen *g)
{
	u8 sz = size_codes[below(g, 4)];
	int size = size_bytes(sz), off = stack_off(g, size, !bad(g));
	int dst = pick_dst(g);
	bool sx = sz != BPF_DW && chance(g, 150);

	emit(g, BPF_LDX | (sx ? BPFX_MEMSX : BPF_MEM) | sz, dst, 10, off, 0);
	g->fs.hint[dst] = H_SCALAR;
	if (size == 8 && !(off % 8) && off >= -512 && off < 0) {
		g->fs.hint[dst] = g->fs.slot_hint[(512 + off) / 8];
		g->fs.map[dst] = g->fs.slot_map[(512 + off) / 8];
		if (g->fs.hint[dst] == H_UNINIT)
			g->fs.hint[dst] = H_SCALAR;
	}
}

/* A load or store through PTR at OFF (size from the caller). */
static void mem_access(struct gen *g, int ptr, int off, u8 sz, bool write)
{
	int size = size_bytes(sz);

	if (write) {
		if (chance(g, 500)) {
			emit(g, BPF_ST | BPF_MEM | sz, ptr, 0, off,
			     interesting_imm(g));
		} else if (chance(g, 150) && (sz == BPF_W || sz == BPF_DW)) {
			int src = pick_scalar(g);
			/* atomic add, sometimes with fetch */
			emit(g, BPF_STX | BPF_ATOMIC | sz, ptr, src, off,
			     BPF_ADD | (chance(g, 500) ? BPF_FETCH : 0));
			if (g->fs.hint[src] != H_UNINIT)
				g->fs.hint[src] = H_SCALAR;
		} else {
			emit(g, BPF_STX | BPF_MEM | sz, ptr, pick_scalar(g), off,
			     0);
		}
		if (ptr == 10)
			mark_stack(g, off, size, -1);
		return;
	}
	int dst = pick_dst(g);
	bool sx = sz != BPF_DW && chance(g, 150);
	emit(g, BPF_LDX | (sx ? BPFX_MEMSX : BPF_MEM) | sz, dst, ptr, off, 0);
	g->fs.hint[dst] = H_SCALAR;
}

/* A scalar in [0, max] as the verifier can see it: masked, or checked
 * with a branch (which, when sloppy, may be signed or off by one). */
static int bounded_scalar(struct gen *g, int max, int *skip_at)
{
	int s = pick_scalar(g);

	if (reg_is_protected(g, s)) {
		s = pick_dst(g);
		mov_imm(g, s, (s32)rnd(g));
	}
	*skip_at = -1;
	if (max < 0)
		max = 0;
	if (chance(g, 600) || max == 0) {
		u32 mask = 1;
		while (mask * 2 - 1 <= (u32)max)
			mask *= 2;
		mask -= 1;
		if (bad(g))
			mask = mask * 2 + 1;
		emit(g, BPF_ALU64 | BPF_AND | BPF_K, s, 0, 0, (s32)mask);
	} else {
		u8 op = bad(g) ? (chance(g, 500) ? BPF_JSGT : BPF_JGE) : BPF_JGT;
		s32 lim = max - (bad(g) ? -1 : 0);
		*skip_at = g->n;
		emit(g, BPF_JMP | op | BPF_K, s, 0, 0, lim);
	}
	g->fs.hint[s] = H_SCALAR;
	return s;
}

static void close_skip(struct gen *g, int at)
{
	if (at >= 0)
		g->insns[at].off = (s16)(g->n - at - 1);
}

/* Accesses through a pointer to a region of SIZE bytes (map value,
 * callback context on the stack...). */
static void region_accesses(struct gen *g, int ptr, int region)
{
	int k = 1 + below(g, 3);

	for (int i = 0; i < k && room(g, 8); i++) {
		u8 sz = size_codes[below(g, 4)];
		int size = size_bytes(sz);
		bool write = chance(g, 500);
		int off = below(g, region - size + 1) & ~(size - 1);

		if (bad(g)) {
			static const int odd[] = { -1, -8, 1, 3 };
			off = chance(g, 500) ? region - size + 1 + below(g, 8)
					     : odd[below(g, 4)];
		}
		if (chance(g, 300)) {
			/* variable offset */
			int skip, p = pick_dst(g), s;
			int max = region - size - (off > 0 ? off : 0);
			if (reg_is_protected(g, p) || p == ptr)
				p = ptr == 7 ? 8 : 7;
			s = bounded_scalar(g, max, &skip);
			if (s == p) {
				close_skip(g, skip);
				continue;
			}
			mov_reg(g, p, ptr);
			emit(g, BPF_ALU64 | BPF_ADD | BPF_X, p, s, 0, 0);
			mem_access(g, p, off > 0 ? off : 0, sz, write);
			close_skip(g, skip);
			continue;
		}
		mem_access(g, ptr, off, sz, write);
	}
}

static void load_map(struct gen *g, u8 reg, int map)
{
	emit_lddw(g, reg, BPF_PSEUDO_MAP_IDX, map, 0);
	g->fs.hint[reg] = H_UNKNOWN;
}

static void sn_map_lookup(struct gen *g)
{
	int map = below(g, 2);
	int region = map == 0 ? ARRAY_VALUE : HASH_VALUE;
	int key_off = -8 * (1 + below(g, 4));

	if (!room(g, 40))
		return;
	/* key: a u32 index for the array, a u64 for the hash */
	if (!bad(g)) {
		emit(g, BPF_ST | BPF_MEM | (map == 0 ? BPF_W : BPF_DW), 10, 0,
		     key_off, below(g, 6));
		mark_stack(g, key_off, map == 0 ? 4 : 8, -1);
	}
	load_map(g, 1, map);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, key_off);
	emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	for (int r = 1; r <= 5; r++)
		g->fs.hint[r] = H_UNINIT;
	g->fs.hint[0] = H_MAPVAL_NULL;
	g->fs.map[0] = (u8)map;

	int ptr = 0;
	if (chance(g, 300)) {
		ptr = chance(g, 500) ? 7 : 8;
		mov_reg(g, ptr, 0);
	}
	if (bad(g) && chance(g, 300)) {
		/* no null check */
		region_accesses(g, ptr, region);
		return;
	}
	int at = g->n;
	emit(g, BPF_JMP | BPF_JEQ | BPF_K, ptr, 0, 0, 0);
	struct fstate before = g->fs;
	g->fs.hint[ptr] = H_MAPVAL;
	if (ptr != 0 && g->fs.hint[0] == H_MAPVAL_NULL)
		g->fs.hint[0] = H_MAPVAL;
	region_accesses(g, ptr, region);
	if (chance(g, 300) && room(g, 20) && g->depth < 3) {
		g->depth++;
		gen_block(g, 1 + below(g, 2));
		g->depth--;
	}
	close_skip(g, at);
	/* the fall-through of the null check: merge */
	for (int r = 0; r < 11; r++)
		if (g->fs.hint[r] != before.hint[r])
			g->fs.hint[r] = H_UNKNOWN;
	for (int b = 0; b < 512; b++)
		g->fs.stack_init[b] &= before.stack_init[b];
	for (int s = 0; s < 64; s++)
		if (g->fs.slot_hint[s] != before.slot_hint[s])
			g->fs.slot_hint[s] = H_UNKNOWN;
}

static void sn_mapval_use(struct gen *g)
{
	int p = pick_with(g, H_MAPVAL);
	if (p < 0)
		return;
	region_accesses(g, p, g->fs.map[p] == 0 ? ARRAY_VALUE : HASH_VALUE);
}

static void sn_stack_ptr(struct gen *g)
{
	int p = pick_dst(g);
	if (reg_is_protected(g, p))
		return;
	int base = -8 * (1 + below(g, 8));
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, p, 10, 0, 0);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, p, 0, 0, base);
	g->fs.hint[p] = H_STACK;
	u8 sz = size_codes[below(g, 4)];
	int size = size_bytes(sz);
	int off = bad(g) ? 8 - below(g, 16) : -below(g, 8) * 8 + (-base - 64 > 0 ? 0 : 0);
	if (off + base < -512 || off + base + size > 0)
		off = 0;
	if (chance(g, 300)) {
		int skip, s = bounded_scalar(g, 16, &skip);
		if (s != p) {
			emit(g, BPF_ALU64 | BPF_SUB | BPF_X, p, s, 0, 0);
			/* variable-offset stack access */
			bool write = chance(g, 600);
			int o = bad(g) ? -4 : -8 * below(g, 4) - (size < 8 ? 8 : 8);
			if (write)
				emit(g, BPF_STX | BPF_MEM | sz, p, pick_scalar(g), o, 0);
			else {
				int d = pick_dst(g);
				emit(g, BPF_LDX | BPF_MEM | sz, d, p, o, 0);
				g->fs.hint[d] = H_SCALAR;
			}
		}
		close_skip(g, skip);
		g->fs.hint[p] = H_UNKNOWN;
		return;
	}
	bool write = chance(g, 500);
	if (!write) {
		bool ok = true;
		for (int b = 0; b < size; b++)
			if (base + off + b < -512 || base + off + b >= 0 ||
			    !g->fs.stack_init[512 + base + off + b])
				ok = false;
		if (!ok && !bad(g))
			write = true;
	}
	if (write) {
		emit(g, BPF_STX | BPF_MEM | sz, p, pick_scalar(g), off, 0);
		mark_stack(g, base + off, size, -1);
	} else {
		int d = pick_dst(g);
		emit(g, BPF_LDX | BPF_MEM | sz, d, p, off, 0);
		g->fs.hint[d] = H_SCALAR;
	}
}

static bool is_skb(u32 type) { return type == BPF_PROG_TYPE_SCHED_CLS; }

static void sn_ctx(struct gen *g)
{
	static const int skb_off[] = { 0, 4, 8, 12, 16, 20, 24, 28, 32, 36,
				       40, 44, 48, 52, 56, 60, 64, 68, 72,
				       76, 80, 84, 88, 140, 152, 168, 184 };
	int ctx = g->cur_sub < 0 ? 6 : pick_with(g, H_CTX);
	if (ctx < 0 || g->fs.hint[ctx] != H_CTX)
		return;
	int off, size;
	u8 sz;
	if (is_skb(g->prog_type)) {
		off = skb_off[below(g, ARRAY_SIZE(skb_off))];
		sz = off == 152 || off == 168 || off == 184 ? BPF_DW : BPF_W;
	} else {
		off = 4 * below(g, 6);
		sz = BPF_W;
	}
	if (bad(g)) {
		sz = size_codes[below(g, 4)];
		off = chance(g, 500) ? off + below(g, 4) : below(g, 256);
	}
	size = size_bytes(sz);
	(void)size;
	if (chance(g, 150)) {
		/* modified ctx pointer */
		int p = pick_dst(g);
		if (reg_is_protected(g, p))
			return;
		mov_reg(g, p, ctx);
		emit(g, BPF_ALU64 | BPF_ADD | BPF_K, p, 0, 0, off);
		g->fs.hint[p] = H_UNKNOWN;
		mem_access(g, p, 0, sz, false);
		return;
	}
	if (chance(g, 100)) {
		/* through a spill */
		emit(g, BPF_STX | BPF_MEM | BPF_DW, 10, ctx, -56, 0);
		mark_stack(g, -56, 8, ctx);
		int p = pick_dst(g);
		emit(g, BPF_LDX | BPF_MEM | BPF_DW, p, 10, -56, 0);
		g->fs.hint[p] = H_CTX;
		ctx = p;
	}
	bool write = chance(g, 250) || bad(g);
	if (write && is_skb(g->prog_type) && !bad(g)) {
		static const int wr[] = { 8, 32, 48, 52, 56, 60, 64, 44 };
		off = wr[below(g, ARRAY_SIZE(wr))];
		sz = BPF_W;
	}
	mem_access(g, ctx, off, sz, write);
}

/* data / data_end of the packet into two scratch registers, then a
 * checked (or, when sloppy, unchecked) access. */
static void sn_packet(struct gen *g)
{
	if (g->cur_sub >= 0 || !room(g, 40))
		return;
	int d_off = is_skb(g->prog_type) ? 76 : 0;
	int e_off = is_skb(g->prog_type) ? 80 : 4;
	int data = chance(g, 500) ? 2 : 7, end = data == 2 ? 3 : 8, tmp = 4;

	emit(g, BPF_LDX | BPF_MEM | BPF_W, data, 6, d_off, 0);
	emit(g, BPF_LDX | BPF_MEM | BPF_W, end, 6, e_off, 0);
	g->fs.hint[data] = H_PKT;
	g->fs.hint[end] = H_PKT_END;
	int n = 1 + below(g, 40);
	if (bad(g) && chance(g, 300)) {
		/* no check */
		mem_access(g, data, below(g, n), BPF_B, chance(g, 500));
		return;
	}
	mov_reg(g, tmp, data);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, tmp, 0, 0, n);
	int at = g->n;
	switch (below(g, 3)) {
	case 0: /* if tmp > end goto out */
		emit(g, BPF_JMP | BPF_JGT | BPF_X, tmp, end, 0, 0);
		break;
	case 1: /* if end < tmp goto out */
		emit(g, BPF_JMP | BPF_JLT | BPF_X, end, tmp, 0, 0);
		break;
	default: /* if tmp >= end goto out: one byte less proven (sloppy) */
		emit(g, (chance(g, 500) ? BPF_JMP32 : BPF_JMP) |
			    (bad(g) ? BPF_JGE : BPF_JGT) | BPF_X,
		     tmp, end, 0, 0);
		break;
	}
	struct fstate before = g->fs;
	int k = 1 + below(g, 3);
	for (int i = 0; i < k; i++) {
		u8 sz = size_codes[below(g, 4)];
		int size = size_bytes(sz);
		if (size > n)
			sz = BPF_B, size = 1;
		int off = below(g, n - size + 1);
		if (bad(g))
			off = n - size + 1 + below(g, 4);
		mem_access(g, data, off, sz, chance(g, 400));
	}
	if (chance(g, 300) && room(g, 20)) {
		/* variable offset from a packet byte, then a second check */
		int s = 5;
		emit(g, BPF_LDX | BPF_MEM | BPF_B, s, data, 0, 0);
		emit(g, BPF_ALU64 | BPF_AND | BPF_K, s, 0, 0,
		     bad(g) ? 0xff : 0x3f);
		if (bad(g))
			emit(g, BPF_ALU64 | BPF_LSH | BPF_K, s, 0, 0, 24);
		emit(g, BPF_ALU64 | BPF_ADD | BPF_X, data, s, 0, 0);
		mov_reg(g, tmp, data);
		emit(g, BPF_ALU64 | BPF_ADD | BPF_K, tmp, 0, 0, 4);
		int at2 = g->n;
		emit(g, BPF_JMP | BPF_JGT | BPF_X, tmp, end, 0, 0);
		mem_access(g, data, bad(g) ? 2 : 0, BPF_W, chance(g, 400));
		close_skip(g, at2);
		g->fs.hint[s] = H_SCALAR;
	}
	if (chance(g, 200) && g->depth < 3) {
		g->depth++;
		gen_block(g, 1);
		g->depth--;
	}
	close_skip(g, at);
	for (int r = 0; r < 11; r++)
		if (g->fs.hint[r] != before.hint[r])
			g->fs.hint[r] = H_UNKNOWN;
}

static void call_helper(struct gen *g, int id)
{
	emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, id);
	for (int r = 1; r <= 5; r++)
		g->fs.hint[r] = H_UNINIT;
	g->fs.hint[0] = H_SCALAR;
	if (id == BPF_FUNC_skb_store_bytes || id == BPF_FUNC_xdp_adjust_head)
		for (int r = 0; r < 10; r++)
			if (g->fs.hint[r] == H_PKT || g->fs.hint[r] == H_PKT_END)
				g->fs.hint[r] = H_UNKNOWN;
}

/* r<reg> = fp + off, a stack buffer of SIZE bytes, initialised first
 * unless the helper writes it. */
static void stack_buf(struct gen *g, int reg, int off, int size, bool init)
{
	if (init && !bad(g))
		for (int o = off; o < off + size; o += 8) {
			emit(g, BPF_ST | BPF_MEM | BPF_DW, 10, 0, o,
			     interesting_imm(g));
			mark_stack(g, o, 8, -1);
		}
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, reg, 10, 0, 0);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, reg, 0, 0, off);
	g->fs.hint[reg] = H_STACK;
}

static void size_arg(struct gen *g, int reg, int max)
{
	if (chance(g, 700) || bad(g)) {
		mov_imm(g, reg, bad(g) ? interesting_imm(g) : 1 + below(g, max));
		return;
	}
	/* variable size: r &= mask, maybe + 1 */
	int mask = 1;
	while (mask * 2 <= max)
		mask *= 2;
	mov_reg(g, reg, pick_scalar(g));
	emit(g, BPF_ALU64 | BPF_AND | BPF_K, reg, 0, 0, mask - 1);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, reg, 0, 0, 1);
	g->fs.hint[reg] = H_SCALAR;
}

static int add_fixup(struct gen *g, int sub)
{
	if (g->fix_cnt == ARRAY_SIZE(g->fix))
		return -1;
	g->fix[g->fix_cnt].at = g->n;
	g->fix[g->fix_cnt++].sub = sub;
	return 0;
}

static int find_sub(struct gen *g, enum sub_kind kind)
{
	for (int tries = 0; tries < 4; tries++) {
		int s = below(g, MAX_SUBS);
		if (s < g->sub_cnt && s > g->cur_sub && g->subs[s].kind == kind)
			return s;
	}
	return -1;
}

/* bpf_loop or for_each_map_elem with callback subprogram S. */
static void call_with_callback(struct gen *g, int s)
{
	bool loop = g->subs[s].kind == SUB_LOOP_CB;

	if (loop)
		mov_imm(g, 1, below(g, 5));
	else
		load_map(g, 1, below(g, 2));
	add_fixup(g, s);
	emit_lddw(g, 2, BPF_PSEUDO_FUNC, 0, 0);
	stack_buf(g, 3, -32, 32, true);
	mov_imm(g, 4, 0);
	call_helper(g, loop ? BPF_FUNC_loop : BPF_FUNC_for_each_map_elem);
}

/* A bpf-to-bpf call of the static subprogram S with the arguments it
 * expects (mostly). */
static void call_static(struct gen *g, int s)
{
	for (int a = 1; a <= 5; a++) {
		u8 h = g->subs[s].arg_hint[a];
		if (bad(g))
			continue;
		if (h == H_SCALAR)
			mov_imm(g, a, interesting_imm(g));
		else if (h == H_STACK)
			stack_buf(g, a, -32, 32, true);
		else if (h == H_CTX && g->cur_sub < 0)
			mov_reg(g, a, 6);
	}
	add_fixup(g, s);
	emit(g, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0);
	for (int r = 1; r <= 5; r++)
		g->fs.hint[r] = H_UNINIT;
	g->fs.hint[0] = H_SCALAR;
}

static void sn_helper(struct gen *g)
{
	int ctx = g->cur_sub < 0 ? 6 : pick_with(g, H_CTX);
	if (!room(g, 40))
		return;
	if (bad(g)) {
		/* anything in r1-r5 */
		static const int ids[] = { 1, 2, 3, 6, 9, 26, 28, 113, 181, 164 };
		for (int r = 1; r <= 5; r++)
			if (chance(g, 500))
				mov_reg(g, r, below(g, 11));
			else
				mov_imm(g, r, interesting_imm(g));
		if (chance(g, 300))
			load_map(g, 1, below(g, 2));
		call_helper(g, ids[below(g, ARRAY_SIZE(ids))]);
		return;
	}
	switch (below(g, 10)) {
	case 0:
		call_helper(g, BPF_FUNC_get_prandom_u32);
		break;
	case 1:
		call_helper(g, chance(g, 500) ? BPF_FUNC_ktime_get_ns
					      : BPF_FUNC_get_smp_processor_id);
		break;
	case 2: { /* map_update_elem(map, key, value, flags) */
		int map = below(g, 2);
		int vsize = map == 0 ? ARRAY_VALUE : HASH_VALUE;
		stack_buf(g, 3, -64, vsize, true);
		emit(g, BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, below(g, 6));
		mark_stack(g, -8, 8, -1);
		stack_buf(g, 2, -8, 8, false);
		load_map(g, 1, map);
		mov_imm(g, 4, 0);
		call_helper(g, BPF_FUNC_map_update_elem);
		break;
	}
	case 3: /* map_delete_elem(hash, key) */
		emit(g, BPF_ST | BPF_MEM | BPF_DW, 10, 0, -16, below(g, 6));
		mark_stack(g, -16, 8, -1);
		stack_buf(g, 2, -16, 8, false);
		load_map(g, 1, 1);
		call_helper(g, BPF_FUNC_map_delete_elem);
		break;
	case 4: { /* probe_read_kernel(dst, size, src) */
		int dst = pick_with(g, H_MAPVAL);
		if (dst >= 0 && chance(g, 500)) {
			mov_reg(g, 1, dst);
			size_arg(g, 2, g->fs.map[dst] == 0 ? ARRAY_VALUE
							  : HASH_VALUE);
		} else {
			stack_buf(g, 1, -32, 32, false);
			size_arg(g, 2, 32);
		}
		mov_reg(g, 3, pick_scalar(g));
		call_helper(g, BPF_FUNC_probe_read_kernel);
		break;
	}
	case 5: /* skb_load_bytes(ctx, off, buf, len) */
		if (!is_skb(g->prog_type) || ctx < 0)
			break;
		mov_reg(g, 1, ctx);
		mov_imm(g, 2, below(g, 64));
		stack_buf(g, 3, -40, 40, false);
		size_arg(g, 4, 40);
		call_helper(g, BPF_FUNC_skb_load_bytes);
		break;
	case 6: /* skb_store_bytes(ctx, off, buf, len, flags) */
		if (!is_skb(g->prog_type) || ctx < 0)
			break;
		stack_buf(g, 3, -24, 24, true);
		mov_reg(g, 1, ctx);
		mov_imm(g, 2, below(g, 64));
		size_arg(g, 4, 24);
		mov_imm(g, 5, 0);
		call_helper(g, BPF_FUNC_skb_store_bytes);
		break;
	case 7: /* csum_diff(from, from_size, to, to_size, seed) */
		stack_buf(g, 1, -16, 16, true);
		mov_imm(g, 2, 4 * below(g, 5));
		stack_buf(g, 3, -48, 32, true);
		mov_imm(g, 4, 4 * below(g, 9));
		mov_reg(g, 5, pick_scalar(g));
		call_helper(g, BPF_FUNC_csum_diff);
		break;
	default: { /* bpf_loop / for_each_map_elem with a callback */
		int s = find_sub(g, chance(g, 600) ? SUB_LOOP_CB : SUB_EACH_CB);
		if (s >= 0)
			call_with_callback(g, s);
		break;
	}
	}
}

static void sn_throw(struct gen *g)
{
	if (g->cur_sub >= 0 && g->subs[g->cur_sub].kind != SUB_STATIC &&
	    !bad(g))
		return;
	mov_imm(g, 1, below(g, 3));
	emit(g, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0,
	     kfunc_by_name("bpf_throw"));
}

static void sn_call(struct gen *g)
{
	int s = find_sub(g, SUB_STATIC);
	if (s >= 0)
		call_static(g, s);
}

static void set_exit_value(struct gen *g)
{
	bool cb = g->cur_sub >= 0 && g->subs[g->cur_sub].kind != SUB_STATIC;
	if (bad(g) && chance(g, 300))
		return; /* r0 maybe uninitialised, or a pointer */
	mov_imm(g, 0, cb && !bad(g) ? below(g, 2) : interesting_imm(g));
}

/* if <cond> goto +N; <block> */
static void sn_cond(struct gen *g)
{
	static const u8 ops[] = { BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE,
				  BPF_JSGT, BPF_JSGE, BPF_JLT, BPF_JLE,
				  BPF_JSLT, BPF_JSLE };
	if (g->depth >= 3 || !room(g, 30))
		return;
	int a = pick_scalar(g);
	bool x = chance(g, 400);
	int at = g->n;
	int rb = x ? pick_scalar(g) : 0;
	at = g->n;
	emit(g, (chance(g, 300) ? BPF_JMP32 : BPF_JMP) |
		    ops[below(g, ARRAY_SIZE(ops))] | (x ? BPF_X : BPF_K),
	     a, rb, 0, x ? 0 : interesting_imm(g));
	struct fstate before = g->fs;
	g->depth++;
	gen_block(g, 1 + below(g, 3));
	g->depth--;
	if (chance(g, 150)) {
		set_exit_value(g);
		emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		g->fs = before;
	} else if (chance(g, 60)) {
		sn_throw(g);
		g->fs = before;
	}
	close_skip(g, at);
	for (int r = 0; r < 11; r++)
		if (g->fs.hint[r] != before.hint[r])
			g->fs.hint[r] = H_UNKNOWN;
	for (int b = 0; b < 512; b++)
		g->fs.stack_init[b] &= before.stack_init[b];
}

/* A bounded loop on r9 (or, when sloppy, on any register the body may
 * change), or a random backward jump. */
static void sn_loop(struct gen *g)
{
	if (g->depth >= 2 || !room(g, 40))
		return;
	int ctr = bad(g) ? pick_dst(g) : 9;
	if (bad(g) && chance(g, 300)) {
		/* a backward conditional jump somewhere into this function */
		int start = g->cur_sub < 0 ? 0 : g->subs[g->cur_sub].start;
		if (g->n <= start)
			return; /* nothing to jump back into yet */
		int target = start + 1 + below(g, g->n - start);
		int a = pick_scalar(g);
		if (g->insns[target].code == 0 && target > 0 &&
		    g->insns[target - 1].code == (BPF_LD | BPF_IMM | BPF_DW))
			target--;
		emit(g, BPF_JMP | BPF_JLT | BPF_K, a, 0, (s16)(target - g->n - 1),
		     below(g, 8));
		return;
	}
	if (ctr == 9 && g->depth > 0)
		return; /* r9 is the one counter; no nested loops on it */
	mov_imm(g, ctr, 0);
	int top = g->n;
	g->depth++;
	gen_block(g, 1 + below(g, 2));
	g->depth--;
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, ctr, 0, 0, 1);
	emit(g, BPF_JMP | (chance(g, 500) ? BPF_JLT : BPF_JSLT) | BPF_K, ctr, 0,
	     (s16)(top - g->n - 1), 1 + below(g, 6));
	g->fs.hint[ctr] = H_SCALAR;
}

/* An open-coded iterator loop: new(&it, a, b); while ((v = next(&it)))
 * { x = *v; body } destroy(&it). Sloppy forms skip the null check or the
 * destroy, write through v, read past it, or leave the iterator where the
 * body may overwrite it. */
static void sn_iter(struct gen *g)
{
	if (g->depth >= 2 || !room(g, 60))
		return;
	int it = -8 * (57 + below(g, 7)); /* fp-456 .. fp-504 */
	int top, exit_at;
	struct fstate before;

	if (bad(g))
		it = -8 * (1 + below(g, 63));
	mov_reg(g, 1, 10);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, it);
	mov_imm(g, 2, bad(g) ? interesting_imm(g) : below(g, 4));
	mov_imm(g, 3, bad(g) ? interesting_imm(g) : below(g, 8));
	emit(g, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0,
	     kfunc_by_name("bpf_iter_num_new"));
	for (int r = 1; r <= 5; r++)
		g->fs.hint[r] = H_UNINIT;
	g->fs.hint[0] = H_SCALAR;
	before = g->fs;
	top = g->n;
	mov_reg(g, 1, 10);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, it);
	emit(g, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0,
	     kfunc_by_name("bpf_iter_num_next"));
	for (int r = 1; r <= 5; r++)
		g->fs.hint[r] = H_UNINIT;
	exit_at = g->n;
	if (!bad(g))
		emit(g, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0, 0);
	else
		exit_at = -1;
	if (bad(g) && chance(g, 300))
		emit(g, BPF_ST | BPF_MEM | BPF_W, 0, 0, 0, 1); /* read-only */
	emit(g, BPF_LDX | BPF_MEM | (bad(g) ? BPF_DW : BPF_W), 8, 0,
	     bad(g) ? (s16)below(g, 8) : 0, 0);
	g->fs.hint[8] = H_SCALAR;
	g->fs.hint[0] = H_UNKNOWN;
	g->depth++;
	gen_block(g, 1 + below(g, 3));
	g->depth--;
	emit(g, BPF_JMP | BPF_JA, 0, 0, (s16)(top - g->n - 1), 0);
	if (exit_at >= 0)
		g->insns[exit_at].off = (s16)(g->n - exit_at - 1);
	else
		emit(g, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	for (int r = 0; r < 11; r++)
		if (g->fs.hint[r] != before.hint[r])
			g->fs.hint[r] = H_UNKNOWN;
	for (int b = 0; b < 512; b++)
		g->fs.stack_init[b] &= before.stack_init[b];
	if (bad(g) && chance(g, 500))
		return; /* a leaked iterator */
	mov_reg(g, 1, 10);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, it);
	emit(g, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0,
	     kfunc_by_name("bpf_iter_num_destroy"));
	for (int r = 1; r <= 5; r++)
		g->fs.hint[r] = H_UNINIT;
	g->fs.hint[0] = H_UNKNOWN;
}

static void gen_snippet(struct gen *g)
{
	switch (below(g, 17)) {
	case 0: sn_mov(g); break;
	case 1: case 2: sn_alu(g); break;
	case 3: sn_stack_store(g); break;
	case 4: sn_stack_load(g); break;
	case 5: case 6: sn_map_lookup(g); break;
	case 7: sn_mapval_use(g); break;
	case 8: sn_stack_ptr(g); break;
	case 9: sn_ctx(g); break;
	case 10: sn_packet(g); break;
	case 11: sn_helper(g); break;
	case 12: sn_cond(g); break;
	case 13: sn_loop(g); break;
	case 14: if (chance(g, 300)) sn_throw(g); else sn_call(g); break;
	case 15: if (chance(g, 300)) sn_iter(g); else sn_cond(g); break;
	default: sn_cond(g); break;
	}
}

static void gen_block(struct gen *g, int snippets)
{
	for (int i = 0; i < snippets && room(g, 30); i++)
		gen_snippet(g);
}

static void begin_function(struct gen *g, int sub)
{
	memset(&g->fs, 0, sizeof(g->fs));
	g->cur_sub = sub;
	g->fs.hint[10] = H_STACK;
	if (sub < 0) {
		g->fs.hint[1] = H_CTX;
		mov_reg(g, 6, 1);
	} else if (g->subs[sub].kind == SUB_STATIC) {
		for (int a = 1; a <= 5; a++)
			g->fs.hint[a] = g->subs[sub].arg_hint[a];
	} else if (g->subs[sub].kind == SUB_LOOP_CB) {
		g->fs.hint[1] = H_SCALAR;
		g->fs.hint[2] = H_UNKNOWN; /* the caller's stack */
	} else {
		g->fs.hint[1] = H_UNKNOWN;
		g->fs.hint[2] = H_UNKNOWN;
		g->fs.hint[3] = H_MAPVAL;
		g->fs.map[3] = 0; /* value size unknown here: the smaller */
		g->fs.hint[4] = H_UNKNOWN;
	}
	/* usually some scalars to start with */
	for (int r = 0; r < 10; r++)
		if (g->fs.hint[r] == H_UNINIT && r != 6 && chance(g, 500))
			mov_imm(g, r, interesting_imm(g));
}

static void end_function(struct gen *g)
{
	set_exit_value(g);
	emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* Returns the program's length; *max_frames bounds its call depth. */
static int generate(struct gen *g, u64 seed)
{
	memset(g, 0, sizeof(*g));
	g->rng = seed * 0x2545f4914f6cdd1dULL + 1;
	static const unsigned sloppiness[] = { 0, 5, 10, 20, 40, 80 };
	g->sloppy = sloppiness[below(g, ARRAY_SIZE(sloppiness))];
	g->prog_type = chance(g, 750) ? BPF_PROG_TYPE_SCHED_CLS
				      : BPF_PROG_TYPE_XDP;
	g->sub_cnt = chance(g, 400) ? 1 + below(g, MAX_SUBS) : 0;
	for (int s = 0; s < g->sub_cnt; s++) {
		g->subs[s].kind = (enum sub_kind)below(g, 3);
		for (int a = 1; a <= 5; a++) {
			static const u8 h[] = { H_UNINIT, H_SCALAR, H_STACK,
						H_CTX };
			g->subs[s].arg_hint[a] = h[below(g, 4)];
		}
	}
	begin_function(g, -1);
	gen_block(g, 3 + below(g, 10));
	/* every subprogram is used (a loader links no others; the
	 * verifier refuses unreachable code) */
	for (int s = 0; s < g->sub_cnt; s++) {
		bool used = false;
		for (int i = 0; i < g->fix_cnt; i++)
			used |= g->fix[i].sub == s;
		if (used)
			continue;
		if (g->subs[s].kind == SUB_STATIC)
			call_static(g, s);
		else
			call_with_callback(g, s);
	}
	end_function(g);
	for (int s = 0; s < g->sub_cnt; s++) {
		g->subs[s].start = g->n;
		begin_function(g, s);
		gen_block(g, 1 + below(g, 5));
		end_function(g);
	}
	for (int i = 0; i < g->fix_cnt; i++) {
		struct fixup *f = &g->fix[i];
		g->insns[f->at].imm = g->subs[f->sub].start - f->at - 1;
	}
	/* frames: main, static calls chained through higher-numbered
	 * subprograms, callbacks one below their caller */
	g->max_frames = 1 + g->sub_cnt;
	return g->n;
}

/* ---- running ---- */

static struct bpfx_object fake_obj;
static struct bpfx_map array_map = {
	.name = "array", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
	.value_size = ARRAY_VALUE, .max_entries = 4, .nr_cpus = 1,
};
static struct bpfx_map hash_map = {
	.name = "hash", .type = BPF_MAP_TYPE_HASH, .key_size = 8,
	.value_size = HASH_VALUE, .max_entries = 8, .nr_cpus = 1,
};
static struct bpfx_map *maps[] = { &array_map, &hash_map };

static char last_error[1024];
static u64 current_seed;
static const struct bpfx_program *current_prog; /* for the watchdog */
static const struct bpfx_program *verifying_prog; /* ... and this one */
static void dump_program(const struct bpfx_program *prog);

static void quiet_log(enum bpfx_log_level level, const char *msg, void *user)
{
	if (level == BPFX_LOG_WARN)
		snprintf(last_error, sizeof(last_error), "%s", msg);
}

static void watchdog(int sig)
{
	char buf[128];
	int len = snprintf(buf, sizeof(buf),
			   "verifier_soundness: seed %llu: the program took "
			   "longer than %d s (%s)\n",
			   (unsigned long long)current_seed, WATCHDOG_SECONDS,
			   current_prog ? "running" : "generating or verifying");
	if (write(2, buf, (size_t)len) < 0)
		_exit(3);
	if (current_prog || verifying_prog) /* dying anyway: stdio will do */
		dump_program(current_prog ? current_prog : verifying_prog);
	_exit(2);
}

/* A crash in the verifier or an engine: name the seed, then die of it. */
static void crash(int sig)
{
	char buf[128];
	int len = snprintf(buf, sizeof(buf),
			   "verifier_soundness: seed %llu: signal %d\n",
			   (unsigned long long)current_seed, sig);
	if (write(2, buf, (size_t)len) < 0)
		_exit(3);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void dump_program(const struct bpfx_program *prog)
{
	char line[256];
	for (size_t i = 0; i < prog->insn_cnt;) {
		int slots = isa_disasm(prog->insns, i, prog->insn_cnt, line,
				       sizeof(line));
		fprintf(stderr, "  %4zu: %s\n", i, line);
		i += slots > 0 ? (size_t)slots : 1;
	}
}

static void report_bug(struct bpfx_program *prog, u64 seed, const char *what)
{
	static char log[1 << 20];
	char err[512];
	size_t insn;

	fprintf(stderr, "\nverifier_soundness: seed %llu: %s\n",
		(unsigned long long)seed, what);
	fprintf(stderr, "program (%s):\n", prog_type_name(prog->type));
	dump_program(prog);
	verifier_check(prog, 2, log, sizeof(log), err, sizeof(err), &insn, NULL);
	size_t len = strlen(log);
	const char *tail = len > 16384 ? log + len - 16384 : log;
	fprintf(stderr, "verifier log%s:\n%s\n", tail != log ? " (tail)" : "",
		tail);
}

/* Runs PROG on ENGINE; returns NULL or what went wrong. */
static const char *run_once(struct bpfx_program *prog, enum bpfx_engine engine,
			    const u8 *pkt, u32 len, int max_frames,
			    char *why, size_t why_sz)
{
	u8 *stack = run_thread_stack();
	size_t guarded = (BPFX_MAX_CALL_FRAMES - max_frames) * BPFX_STACK_SIZE;
	/* the verifier accepts loops it cannot bound, as the kernel's
	 * does (an iterator inside a loop that never ends): stop them */
	BPFX_OPTS(bpfx_test_run_opts, opts, .data_in = pkt,
		  .data_size_in = len, .engine = engine,
		  .max_branches = 1u << 24);

	memset(stack, 0xa5, BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE);
	last_error[0] = '\0';
	current_prog = prog;
	int err = bpfx_program__test_run(prog, &opts);
	current_prog = NULL;
	if (err && err != -ELOOP) {
		snprintf(why, why_sz, "%s: run failed (%s): %s",
			 bpfx_engine_name(engine), strerror(-err), last_error);
		return why;
	}
	for (size_t i = 0; i < guarded; i++)
		if (stack[i] != 0xa5) {
			snprintf(why, why_sz,
				 "%s: wrote the BPF stack at fp-%zu, below the "
				 "%d frame(s) the program may use",
				 bpfx_engine_name(engine),
				 (size_t)BPFX_MAX_CALL_FRAMES * BPFX_STACK_SIZE - i,
				 max_frames);
			return why;
		}
	return NULL;
}

struct reason {
	char msg[96];
	unsigned cnt;
};

static void count_reason(struct reason *r, size_t cap, const char *err)
{
	char key[96];
	const char *m;

	m = strstr(err, ": ");
	/* "verifier: insn N: MESSAGE": MESSAGE, numbers as N, up to '=' */
	m = m ? strstr(m + 2, ": ") : NULL;
	m = m ? m + 2 : err;
	size_t k = 0;
	for (; *m && *m != '=' && *m != '(' && k + 2 < sizeof(key); m++) {
		if (*m >= '0' && *m <= '9') {
			if (!k || key[k - 1] != 'N')
				key[k++] = 'N';
			continue;
		}
		key[k++] = *m;
	}
	key[k] = '\0';
	for (size_t i = 0; i < cap; i++) {
		if (!r[i].cnt) {
			snprintf(r[i].msg, sizeof(r[i].msg), "%s", key);
			r[i].cnt = 1;
			return;
		}
		if (!strcmp(r[i].msg, key)) {
			r[i].cnt++;
			return;
		}
	}
}

static int cmp_reason(const void *a, const void *b)
{
	return (int)((const struct reason *)b)->cnt -
	       (int)((const struct reason *)a)->cnt;
}

struct counts {
	u64 accepted, rejected, malformed, runs, bugs;
	struct reason reasons[256];
};

/* isa_check, verifier, then (if accepted) every engine on two packets.
 * Returns true when the program is a soundness bug. */
static bool check_program(struct bpfx_program *prog, u64 seed, int max_frames,
			  struct counts *c, bool verbose)
{
	char err[512], why[1200];
	size_t err_insn;
	bool bug = false;

	current_seed = seed;
	if (isa_check(prog->insns, prog->insn_cnt, err, sizeof(err))) {
		c->malformed++; /* the generator's fault, not the verifier's */
		if (verbose)
			fprintf(stderr, "seed %llu: malformed: %s\n",
				(unsigned long long)seed, err);
		return false;
	}
	alarm(WATCHDOG_SECONDS);
	verifying_prog = prog;
	int rejected = verifier_check(prog, 0, NULL, 0, err, sizeof(err),
				      &err_insn, NULL);
	verifying_prog = NULL;
	if (rejected) {
		alarm(0);
		c->rejected++;
		count_reason(c->reasons, ARRAY_SIZE(c->reasons), err);
		if (verbose && seed == 0)
			fprintf(stderr, "rejected: %s\n", err);
		return false;
	}
	c->accepted++;
	if (interp_prepare(prog, err, sizeof(err))) {
		report_bug(prog, seed, err);
		alarm(0);
		return true;
	}
	jit_prepare(prog, err, sizeof(err)); /* else it runs on the interp */
	prog->loaded = true;

	u8 pkt[128];
	for (int input = 0; input < 2 && !bug; input++) {
		static const u32 lens[] = { 14, 20, 34, 42, 60, 64, 128 };
		u32 len = lens[(seed + (u64)input * 3) % ARRAY_SIZE(lens)];
		for (u32 b = 0; b < len; b++)
			pkt[b] = (u8)(seed * 31 + b * 7 + (u64)input);
		for (int e = 0; e < 2 && !bug; e++) {
			enum bpfx_engine engine = e ? BPFX_ENGINE_JIT
						    : BPFX_ENGINE_INTERP;
			c->runs++;
			if (run_once(prog, engine, pkt, len, max_frames, why,
				     sizeof(why))) {
				report_bug(prog, seed, why);
				bug = true;
			}
		}
	}
	alarm(0);
	jit_free(prog);
	interp_free(prog);
	mem_proof_free(prog);
	return bug;
}

/* A reproducer in the assembler's syntax (isa_disasm's output). */
static int check_file(const char *path, u32 type, struct counts *c)
{
	static char text[1 << 20];
	struct bpf_insn *insns;
	size_t cnt, len;
	char err[256];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return 2;
	}
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	/* drop the "  N: " prefixes of a dump */
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n'), *colon = strchr(line, ':');
		char *p = line;
		while (*p == ' ')
			p++;
		if (colon && (!nl || colon < nl) && p < colon &&
		    strspn(p, "0123456789") == (size_t)(colon - p))
			memset(line, ' ', (size_t)(colon - line) + 1);
		line = nl ? nl + 1 : line + strlen(line);
	}
	if (isa_assemble(text, &insns, &cnt, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", path, err);
		return 2;
	}
	struct bpfx_program prog = {
		.obj = &fake_obj, .name = "repro", .sec_name = "repro",
		.maps = maps, .map_cnt = ARRAY_SIZE(maps), .type = type,
		.insns = insns, .insn_cnt = cnt,
	};
	int frames = 1;
	for (size_t i = 0; i < cnt; i++)
		if (insns[i].src_reg == BPF_PSEUDO_CALL ||
		    insns[i].src_reg == BPF_PSEUDO_FUNC)
			frames++;
	bool bug = check_program(&prog, 0, MIN(frames, BPFX_MAX_CALL_FRAMES),
				 c, true);
	printf("%s: %s\n", path, bug ? "SOUNDNESS BUG" :
	       c->accepted ? "accepted, ran cleanly" : "rejected");
	free(insns);
	return bug ? 1 : 0;
}

int main(int argc, char **argv)
{
	u64 first = 1, count = 2000;
	bool verbose = false, keep_going = false;
	const char *file = NULL;
	u32 file_type = BPF_PROG_TYPE_SCHED_CLS;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:vkf:x")) != -1) {
		switch (opt) {
		case 's': first = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'v': verbose = true; break;
		case 'k': keep_going = true; break;
		case 'f': file = optarg; break;
		case 'x': file_type = BPF_PROG_TYPE_XDP; break;
		default:
			fprintf(stderr, "usage: %s [-s FIRST_SEED] [-n COUNT] "
				"[-v] [-k] | -f FILE.s [-x]\n", argv[0]);
			return 2;
		}
	}
	bpfx_set_log(quiet_log, NULL);
	signal(SIGALRM, watchdog);
	signal(SIGFPE, crash);
	signal(SIGILL, crash);
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		maps[i]->obj = &fake_obj;
		if (map_create(maps[i])) {
			fprintf(stderr, "verifier_soundness: cannot create map "
				"%s\n", maps[i]->name);
			return 2;
		}
	}
	for (u64 key = 0; key < 4; key++) {
		u8 value[HASH_VALUE] = { (u8)key };
		hash_map.ops->update_copy(&hash_map, &key, value, BPF_ANY);
	}

	static struct gen g;
	static struct counts c;
	struct timespec t0, t1;

	if (file)
		return check_file(file, file_type, &c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (u64 seed = first; seed < first + count; seed++) {
		struct bpfx_program prog = {
			.obj = &fake_obj, .name = "fuzz", .sec_name = "fuzz",
			.maps = maps, .map_cnt = ARRAY_SIZE(maps),
		};

		prog.insn_cnt = (size_t)generate(&g, seed);
		prog.insns = g.insns;
		prog.type = g.prog_type;
		if (check_program(&prog, seed, g.max_frames, &c, verbose)) {
			c.bugs++;
			if (!keep_going)
				break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	u64 total = c.accepted + c.rejected;
	printf("verifier_soundness: seeds %llu..%llu: %llu programs, %llu "
	       "accepted (%.1f%%), %llu rejected, %llu malformed; %llu runs; "
	       "%llu soundness bug(s); %.2f s\n",
	       (unsigned long long)first,
	       (unsigned long long)(first + count - 1),
	       (unsigned long long)(total + c.malformed),
	       (unsigned long long)c.accepted,
	       total ? 100.0 * (double)c.accepted / (double)total : 0.0,
	       (unsigned long long)c.rejected, (unsigned long long)c.malformed,
	       (unsigned long long)c.runs, (unsigned long long)c.bugs, secs);
	if (verbose) {
		qsort(c.reasons, ARRAY_SIZE(c.reasons), sizeof(c.reasons[0]),
		      cmp_reason);
		for (size_t i = 0; i < 20 && c.reasons[i].cnt; i++)
			printf("  %6u  %s\n", c.reasons[i].cnt, c.reasons[i].msg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		map_destroy(maps[i]);
	return c.bugs ? 1 : 0;
}

/*
 * Resolving a linked program for the engines.
 *
 * Both engines need the same facts about each instruction before they run
 * it, and this is the one place that works them out: which bpfx_op it is,
 * the entry point of a helper or kfunc call (and whether that helper calls
 * back into BPF, or the kfunc is bpf_throw), tail calls, the 64-bit value
 * an lddw loads (a constant, a map's address, or the address of a map
 * value), and the target of an lddw of a function. Maps are named either
 * by index into prog->maps (the loader's fd_array form) or, in raw
 * programs, by handle. func_start marks where functions begin: bit 0 at
 * instruction 0 and every call target, bit 1 where something calls or
 * takes the address of the function.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define FAIL(err_code, ...)                                                    \
	do {                                                                   \
		snprintf(err, err_sz, __VA_ARGS__);                            \
		return err_code;                                               \
	} while (0)

static void mark_function(u8 *func_start, size_t target)
{
	func_start[target] |= FUNC_START | FUNC_CALLED;
}

static int resolve_map(const struct bpfx_program *prog,
		       const struct bpf_insn *insn, enum bpfx_op op, size_t i,
		       u64 *value, char *err, size_t err_sz)
{
	struct bpfx_map *map;
	bool by_fd = op == BPFX_OP_LDDW_MAP_FD || op == BPFX_OP_LDDW_MAP_VALUE;

	if (by_fd) {
		map = map_by_fd(insn->imm);
		if (!map)
			FAIL(-EBADF, "insn %zu: lddw: no map with fd %d", i,
			     insn->imm);
	} else {
		if (insn->imm < 0 || (size_t)insn->imm >= prog->map_cnt)
			FAIL(-EINVAL, "insn %zu: lddw: no map with index %d", i,
			     insn->imm);
		map = prog->maps[insn->imm];
	}
	if (op == BPFX_OP_LDDW_MAP_FD || op == BPFX_OP_LDDW_MAP_IDX) {
		*value = (u64)(uintptr_t)map;
		return 0;
	}
	u32 off = (u32)insn[1].imm;
	if (!map->mem || off >= map->value_size)
		FAIL(-EINVAL,
		     "insn %zu: invalid access to map value pointer, value_size=%u off=%u",
		     i, map->value_size, off);
	*value = (u64)(uintptr_t)(map->mem + off);
	return 0;
}

int prepare_resolve(const struct bpfx_program *prog, struct resolved_insn *out,
		    u8 *func_start, char *err, size_t err_sz)
{
	size_t cnt = prog->insn_cnt;

	memset(out, 0, cnt * sizeof(*out));
	memset(func_start, 0, cnt);
	func_start[0] = FUNC_START;
	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *insn = &prog->insns[i];
		struct resolved_insn *r = &out[i];
		enum bpfx_op op = isa_decode(insn);
		int ret;

		r->op = (u16)op;
		switch (op) {
		case BPFX_OP_INVALID:
			FAIL(-EINVAL, "insn %zu: invalid opcode 0x%02x", i,
			     insn->code);
		case BPFX_OP_CALL_LOCAL:
			mark_function(func_start, i + 1 + (size_t)(s64)insn->imm);
			break;
		case BPFX_OP_CALL_HELPER: {
			if (insn->imm == BPF_FUNC_tail_call) {
				r->kind = RESOLVED_TAIL_CALL;
				break;
			}
			const struct helper_desc *h = helper_by_id(insn->imm);
			if (!h)
				FAIL(-EINVAL, "insn %zu: call to unknown helper %d",
				     i, insn->imm);
			r->kind = insn->imm == BPF_FUNC_loop ||
						  insn->imm == BPF_FUNC_for_each_map_elem
					  ? RESOLVED_HELPER_CALLBACK
					  : RESOLVED_HELPER;
			r->imm = (u64)(uintptr_t)h->fn;
			break;
		}
		case BPFX_OP_CALL_KFUNC:
			if (insn->imm < 0 || (size_t)insn->imm >= kfunc_cnt)
				FAIL(-EINVAL, "insn %zu: call to unknown kfunc %d",
				     i, insn->imm);
			r->kind = strcmp(kfuncs[insn->imm].name, "bpf_throw")
					  ? RESOLVED_KFUNC
					  : RESOLVED_KFUNC_THROW;
			/* calls back into BPF (less()), as bpf_loop does */
			if (!strcmp(kfuncs[insn->imm].name, "bpf_rbtree_add_impl"))
				r->kind = RESOLVED_HELPER_CALLBACK;
			r->imm = (u64)(uintptr_t)kfuncs[insn->imm].fn;
			break;
		case BPFX_OP_LDDW:
			r->kind = RESOLVED_VALUE;
			r->imm = (u64)(u32)insn[0].imm |
				 ((u64)(u32)insn[1].imm << 32);
			break;
		case BPFX_OP_LDDW_MAP_FD:
		case BPFX_OP_LDDW_MAP_VALUE:
		case BPFX_OP_LDDW_MAP_IDX:
		case BPFX_OP_LDDW_MAP_IDX_VALUE:
			r->kind = RESOLVED_VALUE;
			ret = resolve_map(prog, insn, op, i, &r->imm, err, err_sz);
			if (ret)
				return ret;
			break;
		case BPFX_OP_LDDW_FUNC:
			r->kind = RESOLVED_FUNC;
			r->imm = i + 1 + (size_t)(s64)insn->imm;
			mark_function(func_start, (size_t)r->imm);
			break;
		case BPFX_OP_LDDW_BTF_ID:
			FAIL(-EOPNOTSUPP,
			     "insn %zu: lddw of a kernel variable (BTF id %d) is not supported",
			     i, insn->imm);
		default:
			break;
		}
		if (isa_ops[op].opcode == (BPF_LD | BPF_IMM | BPF_DW)) {
			i++;
			out[i].op = BPFX_OP_INVALID;
			out[i].kind = RESOLVED_SECOND_SLOT;
		}
	}
	return 0;
}

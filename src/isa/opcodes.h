/*
 * The one list of eBPF instructions (RFC 9669, cpu v1-v4).
 *
 * Every stage is generated from BPFX_OPCODES: the decoder's validity table
 * (src/isa/isa.c), the interpreter's computed-goto dispatch
 * (src/interp/interp.c), the disassembler's names (src/isa/disasm.c) and the
 * assembler (src/isa/asm.c).
 *
 * X(ID, OPCODE, SEL, SELVAL, MNEMONIC, FIELDS)
 *   ID        enum suffix: the instruction is BPFX_OP_<ID>
 *   OPCODE    the 8-bit opcode byte
 *   SEL       what tells apart instructions sharing an opcode byte:
 *             SEL_NONE, SEL_OFF (offset == SELVAL), SEL_IMM (imm == SELVAL),
 *             SEL_SRC (src register field == SELVAL)
 *   MNEMONIC  the name the disassembler and assembler use
 *   FIELDS    which fields the instruction uses (U_DST, U_SRC, U_OFF,
 *             U_IMM); every other field must be zero, as the kernel demands
 *
 * Format classes for printing/parsing are derived from the opcode byte.
 */
#ifndef BPFX_ISA_OPCODES_H
#define BPFX_ISA_OPCODES_H

#define U_DST 0x1
#define U_SRC 0x2
#define U_OFF 0x4
#define U_IMM 0x8

/* ALU and ALU64 with an immediate (K) or register (X) source. */
#define BPFX_ALU_OPS(X)                                                        \
	X(ADD32_K, 0x04, SEL_NONE, 0, "add32", U_DST | U_IMM)                  \
	X(ADD32_X, 0x0c, SEL_NONE, 0, "add32", U_DST | U_SRC)                  \
	X(SUB32_K, 0x14, SEL_NONE, 0, "sub32", U_DST | U_IMM)                  \
	X(SUB32_X, 0x1c, SEL_NONE, 0, "sub32", U_DST | U_SRC)                  \
	X(MUL32_K, 0x24, SEL_NONE, 0, "mul32", U_DST | U_IMM)                  \
	X(MUL32_X, 0x2c, SEL_NONE, 0, "mul32", U_DST | U_SRC)                  \
	X(DIV32_K, 0x34, SEL_OFF, 0, "div32", U_DST | U_IMM)                   \
	X(DIV32_X, 0x3c, SEL_OFF, 0, "div32", U_DST | U_SRC)                   \
	X(SDIV32_K, 0x34, SEL_OFF, 1, "sdiv32", U_DST | U_IMM)                 \
	X(SDIV32_X, 0x3c, SEL_OFF, 1, "sdiv32", U_DST | U_SRC)                 \
	X(OR32_K, 0x44, SEL_NONE, 0, "or32", U_DST | U_IMM)                    \
	X(OR32_X, 0x4c, SEL_NONE, 0, "or32", U_DST | U_SRC)                    \
	X(AND32_K, 0x54, SEL_NONE, 0, "and32", U_DST | U_IMM)                  \
	X(AND32_X, 0x5c, SEL_NONE, 0, "and32", U_DST | U_SRC)                  \
	X(LSH32_K, 0x64, SEL_NONE, 0, "lsh32", U_DST | U_IMM)                  \
	X(LSH32_X, 0x6c, SEL_NONE, 0, "lsh32", U_DST | U_SRC)                  \
	X(RSH32_K, 0x74, SEL_NONE, 0, "rsh32", U_DST | U_IMM)                  \
	X(RSH32_X, 0x7c, SEL_NONE, 0, "rsh32", U_DST | U_SRC)                  \
	X(NEG32, 0x84, SEL_NONE, 0, "neg32", U_DST)                            \
	X(MOD32_K, 0x94, SEL_OFF, 0, "mod32", U_DST | U_IMM)                   \
	X(MOD32_X, 0x9c, SEL_OFF, 0, "mod32", U_DST | U_SRC)                   \
	X(SMOD32_K, 0x94, SEL_OFF, 1, "smod32", U_DST | U_IMM)                 \
	X(SMOD32_X, 0x9c, SEL_OFF, 1, "smod32", U_DST | U_SRC)                 \
	X(XOR32_K, 0xa4, SEL_NONE, 0, "xor32", U_DST | U_IMM)                  \
	X(XOR32_X, 0xac, SEL_NONE, 0, "xor32", U_DST | U_SRC)                  \
	X(MOV32_K, 0xb4, SEL_NONE, 0, "mov32", U_DST | U_IMM)                  \
	X(MOV32_X, 0xbc, SEL_OFF, 0, "mov32", U_DST | U_SRC)                   \
	X(MOVSX8_32, 0xbc, SEL_OFF, 8, "movsx832", U_DST | U_SRC)              \
	X(MOVSX16_32, 0xbc, SEL_OFF, 16, "movsx1632", U_DST | U_SRC)           \
	X(ARSH32_K, 0xc4, SEL_NONE, 0, "arsh32", U_DST | U_IMM)                \
	X(ARSH32_X, 0xcc, SEL_NONE, 0, "arsh32", U_DST | U_SRC)                \
	X(LE16, 0xd4, SEL_IMM, 16, "le16", U_DST)                              \
	X(LE32, 0xd4, SEL_IMM, 32, "le32", U_DST)                              \
	X(LE64, 0xd4, SEL_IMM, 64, "le64", U_DST)                              \
	X(BE16, 0xdc, SEL_IMM, 16, "be16", U_DST)                              \
	X(BE32, 0xdc, SEL_IMM, 32, "be32", U_DST)                              \
	X(BE64, 0xdc, SEL_IMM, 64, "be64", U_DST)                              \
	X(ADD64_K, 0x07, SEL_NONE, 0, "add", U_DST | U_IMM)                    \
	X(ADD64_X, 0x0f, SEL_NONE, 0, "add", U_DST | U_SRC)                    \
	X(SUB64_K, 0x17, SEL_NONE, 0, "sub", U_DST | U_IMM)                    \
	X(SUB64_X, 0x1f, SEL_NONE, 0, "sub", U_DST | U_SRC)                    \
	X(MUL64_K, 0x27, SEL_NONE, 0, "mul", U_DST | U_IMM)                    \
	X(MUL64_X, 0x2f, SEL_NONE, 0, "mul", U_DST | U_SRC)                    \
	X(DIV64_K, 0x37, SEL_OFF, 0, "div", U_DST | U_IMM)                     \
	X(DIV64_X, 0x3f, SEL_OFF, 0, "div", U_DST | U_SRC)                     \
	X(SDIV64_K, 0x37, SEL_OFF, 1, "sdiv", U_DST | U_IMM)                   \
	X(SDIV64_X, 0x3f, SEL_OFF, 1, "sdiv", U_DST | U_SRC)                   \
	X(OR64_K, 0x47, SEL_NONE, 0, "or", U_DST | U_IMM)                      \
	X(OR64_X, 0x4f, SEL_NONE, 0, "or", U_DST | U_SRC)                      \
	X(AND64_K, 0x57, SEL_NONE, 0, "and", U_DST | U_IMM)                    \
	X(AND64_X, 0x5f, SEL_NONE, 0, "and", U_DST | U_SRC)                    \
	X(LSH64_K, 0x67, SEL_NONE, 0, "lsh", U_DST | U_IMM)                    \
	X(LSH64_X, 0x6f, SEL_NONE, 0, "lsh", U_DST | U_SRC)                    \
	X(RSH64_K, 0x77, SEL_NONE, 0, "rsh", U_DST | U_IMM)                    \
	X(RSH64_X, 0x7f, SEL_NONE, 0, "rsh", U_DST | U_SRC)                    \
	X(NEG64, 0x87, SEL_NONE, 0, "neg", U_DST)                              \
	X(MOD64_K, 0x97, SEL_OFF, 0, "mod", U_DST | U_IMM)                     \
	X(MOD64_X, 0x9f, SEL_OFF, 0, "mod", U_DST | U_SRC)                     \
	X(SMOD64_K, 0x97, SEL_OFF, 1, "smod", U_DST | U_IMM)                   \
	X(SMOD64_X, 0x9f, SEL_OFF, 1, "smod", U_DST | U_SRC)                   \
	X(XOR64_K, 0xa7, SEL_NONE, 0, "xor", U_DST | U_IMM)                    \
	X(XOR64_X, 0xaf, SEL_NONE, 0, "xor", U_DST | U_SRC)                    \
	X(MOV64_K, 0xb7, SEL_NONE, 0, "mov", U_DST | U_IMM)                    \
	X(MOV64_X, 0xbf, SEL_OFF, 0, "mov", U_DST | U_SRC)                     \
	X(MOVSX8_64, 0xbf, SEL_OFF, 8, "movsx8", U_DST | U_SRC)                \
	X(MOVSX16_64, 0xbf, SEL_OFF, 16, "movsx16", U_DST | U_SRC)             \
	X(MOVSX32_64, 0xbf, SEL_OFF, 32, "movsx32", U_DST | U_SRC)             \
	X(ARSH64_K, 0xc7, SEL_NONE, 0, "arsh", U_DST | U_IMM)                  \
	X(ARSH64_X, 0xcf, SEL_NONE, 0, "arsh", U_DST | U_SRC)                  \
	X(BSWAP16, 0xd7, SEL_IMM, 16, "bswap16", U_DST)                        \
	X(BSWAP32, 0xd7, SEL_IMM, 32, "bswap32", U_DST)                        \
	X(BSWAP64, 0xd7, SEL_IMM, 64, "bswap64", U_DST)

/* Conditional jumps: JMP (64-bit compare) and JMP32 (32-bit compare). */
#define BPFX_JMP_OPS(X)                                                        \
	X(JA, 0x05, SEL_NONE, 0, "ja", U_OFF)                                  \
	X(JA32, 0x06, SEL_NONE, 0, "gotol", U_IMM)                             \
	X(MAY_GOTO, 0xe5, SEL_SRC, 0, "may_goto", U_OFF)                       \
	X(JEQ_K, 0x15, SEL_NONE, 0, "jeq", U_DST | U_IMM | U_OFF)              \
	X(JEQ_X, 0x1d, SEL_NONE, 0, "jeq", U_DST | U_SRC | U_OFF)              \
	X(JGT_K, 0x25, SEL_NONE, 0, "jgt", U_DST | U_IMM | U_OFF)              \
	X(JGT_X, 0x2d, SEL_NONE, 0, "jgt", U_DST | U_SRC | U_OFF)              \
	X(JGE_K, 0x35, SEL_NONE, 0, "jge", U_DST | U_IMM | U_OFF)              \
	X(JGE_X, 0x3d, SEL_NONE, 0, "jge", U_DST | U_SRC | U_OFF)              \
	X(JSET_K, 0x45, SEL_NONE, 0, "jset", U_DST | U_IMM | U_OFF)            \
	X(JSET_X, 0x4d, SEL_NONE, 0, "jset", U_DST | U_SRC | U_OFF)            \
	X(JNE_K, 0x55, SEL_NONE, 0, "jne", U_DST | U_IMM | U_OFF)              \
	X(JNE_X, 0x5d, SEL_NONE, 0, "jne", U_DST | U_SRC | U_OFF)              \
	X(JSGT_K, 0x65, SEL_NONE, 0, "jsgt", U_DST | U_IMM | U_OFF)            \
	X(JSGT_X, 0x6d, SEL_NONE, 0, "jsgt", U_DST | U_SRC | U_OFF)            \
	X(JSGE_K, 0x75, SEL_NONE, 0, "jsge", U_DST | U_IMM | U_OFF)            \
	X(JSGE_X, 0x7d, SEL_NONE, 0, "jsge", U_DST | U_SRC | U_OFF)            \
	X(JLT_K, 0xa5, SEL_NONE, 0, "jlt", U_DST | U_IMM | U_OFF)              \
	X(JLT_X, 0xad, SEL_NONE, 0, "jlt", U_DST | U_SRC | U_OFF)              \
	X(JLE_K, 0xb5, SEL_NONE, 0, "jle", U_DST | U_IMM | U_OFF)              \
	X(JLE_X, 0xbd, SEL_NONE, 0, "jle", U_DST | U_SRC | U_OFF)              \
	X(JSLT_K, 0xc5, SEL_NONE, 0, "jslt", U_DST | U_IMM | U_OFF)            \
	X(JSLT_X, 0xcd, SEL_NONE, 0, "jslt", U_DST | U_SRC | U_OFF)            \
	X(JSLE_K, 0xd5, SEL_NONE, 0, "jsle", U_DST | U_IMM | U_OFF)            \
	X(JSLE_X, 0xdd, SEL_NONE, 0, "jsle", U_DST | U_SRC | U_OFF)            \
	X(JEQ32_K, 0x16, SEL_NONE, 0, "jeq32", U_DST | U_IMM | U_OFF)          \
	X(JEQ32_X, 0x1e, SEL_NONE, 0, "jeq32", U_DST | U_SRC | U_OFF)          \
	X(JGT32_K, 0x26, SEL_NONE, 0, "jgt32", U_DST | U_IMM | U_OFF)          \
	X(JGT32_X, 0x2e, SEL_NONE, 0, "jgt32", U_DST | U_SRC | U_OFF)          \
	X(JGE32_K, 0x36, SEL_NONE, 0, "jge32", U_DST | U_IMM | U_OFF)          \
	X(JGE32_X, 0x3e, SEL_NONE, 0, "jge32", U_DST | U_SRC | U_OFF)          \
	X(JSET32_K, 0x46, SEL_NONE, 0, "jset32", U_DST | U_IMM | U_OFF)        \
	X(JSET32_X, 0x4e, SEL_NONE, 0, "jset32", U_DST | U_SRC | U_OFF)        \
	X(JNE32_K, 0x56, SEL_NONE, 0, "jne32", U_DST | U_IMM | U_OFF)          \
	X(JNE32_X, 0x5e, SEL_NONE, 0, "jne32", U_DST | U_SRC | U_OFF)          \
	X(JSGT32_K, 0x66, SEL_NONE, 0, "jsgt32", U_DST | U_IMM | U_OFF)        \
	X(JSGT32_X, 0x6e, SEL_NONE, 0, "jsgt32", U_DST | U_SRC | U_OFF)        \
	X(JSGE32_K, 0x76, SEL_NONE, 0, "jsge32", U_DST | U_IMM | U_OFF)        \
	X(JSGE32_X, 0x7e, SEL_NONE, 0, "jsge32", U_DST | U_SRC | U_OFF)        \
	X(JLT32_K, 0xa6, SEL_NONE, 0, "jlt32", U_DST | U_IMM | U_OFF)          \
	X(JLT32_X, 0xae, SEL_NONE, 0, "jlt32", U_DST | U_SRC | U_OFF)          \
	X(JLE32_K, 0xb6, SEL_NONE, 0, "jle32", U_DST | U_IMM | U_OFF)          \
	X(JLE32_X, 0xbe, SEL_NONE, 0, "jle32", U_DST | U_SRC | U_OFF)          \
	X(JSLT32_K, 0xc6, SEL_NONE, 0, "jslt32", U_DST | U_IMM | U_OFF)        \
	X(JSLT32_X, 0xce, SEL_NONE, 0, "jslt32", U_DST | U_SRC | U_OFF)        \
	X(JSLE32_K, 0xd6, SEL_NONE, 0, "jsle32", U_DST | U_IMM | U_OFF)        \
	X(JSLE32_X, 0xde, SEL_NONE, 0, "jsle32", U_DST | U_SRC | U_OFF)        \
	X(CALL_HELPER, 0x85, SEL_SRC, 0, "call", U_IMM)                        \
	X(CALL_LOCAL, 0x85, SEL_SRC, 1, "call", U_SRC | U_IMM)                 \
	X(CALL_KFUNC, 0x85, SEL_SRC, 2, "call", U_SRC | U_IMM | U_OFF)         \
	X(CALLX, 0x8d, SEL_NONE, 0, "callx", U_DST)                            \
	X(EXIT, 0x95, SEL_NONE, 0, "exit", 0)

/* Loads, stores, atomics, 64-bit immediates and legacy packet loads. */
#define BPFX_MEM_OPS(X)                                                        \
	X(LDDW, 0x18, SEL_SRC, 0, "lddw", U_DST | U_IMM)                       \
	X(LDDW_MAP_FD, 0x18, SEL_SRC, 1, "lddw", U_DST | U_SRC | U_IMM)        \
	X(LDDW_MAP_VALUE, 0x18, SEL_SRC, 2, "lddw", U_DST | U_SRC | U_IMM)     \
	X(LDDW_BTF_ID, 0x18, SEL_SRC, 3, "lddw", U_DST | U_SRC | U_IMM)        \
	X(LDDW_FUNC, 0x18, SEL_SRC, 4, "lddw", U_DST | U_SRC | U_IMM)          \
	X(LDDW_MAP_IDX, 0x18, SEL_SRC, 5, "lddw", U_DST | U_SRC | U_IMM)       \
	X(LDDW_MAP_IDX_VALUE, 0x18, SEL_SRC, 6, "lddw", U_DST | U_SRC | U_IMM) \
	X(LDABSW, 0x20, SEL_NONE, 0, "ldabsw", U_IMM)                          \
	X(LDABSH, 0x28, SEL_NONE, 0, "ldabsh", U_IMM)                          \
	X(LDABSB, 0x30, SEL_NONE, 0, "ldabsb", U_IMM)                          \
	X(LDINDW, 0x40, SEL_NONE, 0, "ldindw", U_SRC | U_IMM)                  \
	X(LDINDH, 0x48, SEL_NONE, 0, "ldindh", U_SRC | U_IMM)                  \
	X(LDINDB, 0x50, SEL_NONE, 0, "ldindb", U_SRC | U_IMM)                  \
	X(LDXW, 0x61, SEL_NONE, 0, "ldxw", U_DST | U_SRC | U_OFF)              \
	X(LDXH, 0x69, SEL_NONE, 0, "ldxh", U_DST | U_SRC | U_OFF)              \
	X(LDXB, 0x71, SEL_NONE, 0, "ldxb", U_DST | U_SRC | U_OFF)              \
	X(LDXDW, 0x79, SEL_NONE, 0, "ldxdw", U_DST | U_SRC | U_OFF)            \
	X(LDXSW, 0x81, SEL_NONE, 0, "ldxsw", U_DST | U_SRC | U_OFF)            \
	X(LDXSH, 0x89, SEL_NONE, 0, "ldxsh", U_DST | U_SRC | U_OFF)            \
	X(LDXSB, 0x91, SEL_NONE, 0, "ldxsb", U_DST | U_SRC | U_OFF)            \
	X(STW, 0x62, SEL_NONE, 0, "stw", U_DST | U_OFF | U_IMM)                \
	X(STH, 0x6a, SEL_NONE, 0, "sth", U_DST | U_OFF | U_IMM)                \
	X(STB, 0x72, SEL_NONE, 0, "stb", U_DST | U_OFF | U_IMM)                \
	X(STDW, 0x7a, SEL_NONE, 0, "stdw", U_DST | U_OFF | U_IMM)              \
	X(STXW, 0x63, SEL_NONE, 0, "stxw", U_DST | U_SRC | U_OFF)              \
	X(STXH, 0x6b, SEL_NONE, 0, "stxh", U_DST | U_SRC | U_OFF)              \
	X(STXB, 0x73, SEL_NONE, 0, "stxb", U_DST | U_SRC | U_OFF)              \
	X(STXDW, 0x7b, SEL_NONE, 0, "stxdw", U_DST | U_SRC | U_OFF)            \
	X(AADD32, 0xc3, SEL_IMM, 0x00, "lock add32", U_DST | U_SRC | U_OFF)    \
	X(AOR32, 0xc3, SEL_IMM, 0x40, "lock or32", U_DST | U_SRC | U_OFF)      \
	X(AAND32, 0xc3, SEL_IMM, 0x50, "lock and32", U_DST | U_SRC | U_OFF)    \
	X(AXOR32, 0xc3, SEL_IMM, 0xa0, "lock xor32", U_DST | U_SRC | U_OFF)    \
	X(AFADD32, 0xc3, SEL_IMM, 0x01, "lock fetch add32", U_DST | U_SRC | U_OFF) \
	X(AFOR32, 0xc3, SEL_IMM, 0x41, "lock fetch or32", U_DST | U_SRC | U_OFF) \
	X(AFAND32, 0xc3, SEL_IMM, 0x51, "lock fetch and32", U_DST | U_SRC | U_OFF) \
	X(AFXOR32, 0xc3, SEL_IMM, 0xa1, "lock fetch xor32", U_DST | U_SRC | U_OFF) \
	X(AXCHG32, 0xc3, SEL_IMM, 0xe1, "lock xchg32", U_DST | U_SRC | U_OFF)  \
	X(ACMPXCHG32, 0xc3, SEL_IMM, 0xf1, "lock cmpxchg32", U_DST | U_SRC | U_OFF) \
	X(AADD64, 0xdb, SEL_IMM, 0x00, "lock add", U_DST | U_SRC | U_OFF)      \
	X(AOR64, 0xdb, SEL_IMM, 0x40, "lock or", U_DST | U_SRC | U_OFF)        \
	X(AAND64, 0xdb, SEL_IMM, 0x50, "lock and", U_DST | U_SRC | U_OFF)      \
	X(AXOR64, 0xdb, SEL_IMM, 0xa0, "lock xor", U_DST | U_SRC | U_OFF)      \
	X(AFADD64, 0xdb, SEL_IMM, 0x01, "lock fetch add", U_DST | U_SRC | U_OFF) \
	X(AFOR64, 0xdb, SEL_IMM, 0x41, "lock fetch or", U_DST | U_SRC | U_OFF) \
	X(AFAND64, 0xdb, SEL_IMM, 0x51, "lock fetch and", U_DST | U_SRC | U_OFF) \
	X(AFXOR64, 0xdb, SEL_IMM, 0xa1, "lock fetch xor", U_DST | U_SRC | U_OFF) \
	X(AXCHG64, 0xdb, SEL_IMM, 0xe1, "lock xchg", U_DST | U_SRC | U_OFF)    \
	X(ACMPXCHG64, 0xdb, SEL_IMM, 0xf1, "lock cmpxchg", U_DST | U_SRC | U_OFF)

#define BPFX_OPCODES(X) BPFX_ALU_OPS(X) BPFX_JMP_OPS(X) BPFX_MEM_OPS(X)

enum bpfx_opcode_sel { SEL_NONE, SEL_OFF, SEL_IMM, SEL_SRC };

enum bpfx_op {
#define BPFX_OP_ENUM(id, opc, sel, selval, mnem, fields) BPFX_OP_##id,
	BPFX_OPCODES(BPFX_OP_ENUM)
#undef BPFX_OP_ENUM
	BPFX_OP__COUNT,
	BPFX_OP_INVALID = BPFX_OP__COUNT,
};

#endif

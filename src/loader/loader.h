/*
 * The loader's private state: what src/loader/elf.c reads out of an object
 * file and what link.c and object.c need later to link one program at a
 * time. The object model itself (bpfx_object, bpfx_program, bpfx_map) is in
 * src/internal.h; this header holds only what the loader keeps behind
 * obj->ld.
 *
 * Open: elf.c checks the ELF header, sections, symbols and relocations and
 * finds functions and programs (sections.c names their types); btf.c reads
 * .BTF with libbpf and walks .BTF.ext's func_info/line_info records;
 * map_defs.c builds the maps (.maps, legacy "maps", global data). Load:
 * link.c links one program; object.c creates maps, checks, prepares and
 * applies .values initialisation.
 */
#ifndef BPFX_LOADER_H
#define BPFX_LOADER_H

#include <bpf/btf.h>
#include <gelf.h>
#include <libelf.h>

#include "internal.h"

/* Constants newer than Debian 12's linux/bpf.h (values of the kernel UAPI). */
#define LD_PROG_TYPE_NETFILTER 32
#define LD_ATTACH_LSM_CGROUP 43
#define LD_ATTACH_NETFILTER 45
#define LD_ATTACH_TCX_INGRESS 46
#define LD_ATTACH_TCX_EGRESS 47
#define LD_ATTACH_TRACE_UPROBE_MULTI 48
#define LD_ATTACH_CGROUP_UNIX_CONNECT 49
#define LD_ATTACH_CGROUP_UNIX_SENDMSG 50
#define LD_ATTACH_CGROUP_UNIX_RECVMSG 51
#define LD_ATTACH_CGROUP_UNIX_GETPEERNAME 52
#define LD_ATTACH_CGROUP_UNIX_GETSOCKNAME 53
#define LD_ATTACH_NETKIT_PRIMARY 54
#define LD_ATTACH_NETKIT_PEER 55

/* BPF ELF relocation types (llvm's BPF backend). */
#define LD_R_BPF_NONE 0
#define LD_R_BPF_64_64 1
#define LD_R_BPF_64_ABS64 2
#define LD_R_BPF_64_ABS32 3
#define LD_R_BPF_64_NODYLD32 4
#define LD_R_BPF_64_32 10

#define LD_INSN_SZ 8
#define LD_OP_LDDW (BPF_LD | BPF_IMM | BPF_DW)
#define LD_OP_CALL (BPF_JMP | BPF_CALL)
/* A linked program may not grow beyond this (the kernel's insn limit). */
#define LD_MAX_INSNS (1u << 20)

enum ld_sec_kind {
	LD_SEC_OTHER = 0,
	LD_SEC_PROG,        /* executable code */
	LD_SEC_DATA,        /* .data*, .rodata*, .bss*: a global data map */
	LD_SEC_MAPS,        /* .maps: BTF-defined maps */
	LD_SEC_LEGACY_MAPS, /* "maps": struct bpf_map_def */
	LD_SEC_LICENSE,
	LD_SEC_VERSION,
	LD_SEC_BTF,
	LD_SEC_BTF_EXT,
	LD_SEC_SYMTAB,
	LD_SEC_REL,
};

struct ld_reloc {
	u64 offset; /* byte offset in the section it applies to */
	u32 type;
	u32 sym;
};

/* .BTF.ext records of one section, pointing into the .BTF.ext blob. */
struct ld_ext_info {
	const u8 *recs;
	u32 cnt;
	u32 rec_size;
};

struct ld_section {
	const char *name;
	u32 type; /* sh_type */
	u64 flags;
	u32 link, info;
	const u8 *data; /* NULL for SHT_NOBITS and sections not read */
	u64 size;
	enum ld_sec_kind kind;
	int map_idx;             /* LD_SEC_DATA: index in obj->maps, or -1 */
	struct ld_reloc *relocs; /* sorted by offset */
	size_t reloc_cnt;
	int rel_sec; /* the SHT_REL section for this one, or 0 */
	struct ld_ext_info func_info;
	struct ld_ext_info line_info;
	u32 core_relo_cnt;
};

struct ld_symbol {
	const char *name;
	u64 value;
	u64 size;
	u32 shndx;
	u8 type; /* STT_* */
	u8 bind; /* STB_* */
};

/* A function in an executable section: an entry program or a subprogram. */
struct ld_func {
	const char *name;
	int sec_idx;
	size_t insn_off; /* in instructions, within the section */
	size_t insn_cnt;
	bool global;
	struct bpfx_program *prog; /* the entry program it is, or NULL */
};

/* Where a map's definition lives, and the loader's bookkeeping for it;
 * parallel to obj->maps. */
struct ld_map_info {
	int sec_idx;
	u64 sec_off;   /* of the definition within its section */
	u64 def_size;  /* bytes of the definition */
	s64 values_off; /* .maps: byte offset of the `values` member, or -1 */
	bool slots_applied;
};

struct loader_state {
	const char *label; /* the file (or object name) in messages */
	u8 *image;         /* our copy of the ELF file */
	size_t image_sz;
	Elf *elf;
	struct ld_section *secs;
	size_t sec_cnt;
	struct ld_symbol *syms;
	size_t sym_cnt;
	int symtab_idx;
	int text_idx;        /* .text, or 0 */
	int maps_idx;        /* .maps, or 0 */
	int legacy_maps_idx; /* "maps", or 0 */
	int btf_idx, btf_ext_idx;
	struct ld_func *funcs; /* sorted by section, then offset */
	size_t func_cnt;
	struct btf_ext *btf_ext;
	struct ld_map_info *map_info;
	bool *prog_loading; /* parallel to obj->progs: inside its load */
};

/* elf.c */
int ld_elf_open(struct bpfx_object *obj, const void *buf, size_t size);
void ld_state_free(struct loader_state *ld);
/* The relocation of section SEC at byte OFFSET, or NULL. */
const struct ld_reloc *ld_find_reloc(const struct ld_section *sec,
				     u64 offset);
/* The function of section SEC holding instruction INSN, or NULL. */
const struct ld_func *ld_find_func(const struct loader_state *ld, int sec,
				   size_t insn);
/* Logs "elf: FILE: section NAME: ..." at warn level; returns -err. */
int ld_sec_err(const struct loader_state *ld, int sec, int err,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int ld_err(const struct loader_state *ld, const char *stage, int err,
	   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* sections.c */
struct ld_sec_def {
	const char *prefix;
	u32 prog_type;
	u32 attach_type;
};
/* The libbpf section definition matching NAME (without its '?'). */
const struct ld_sec_def *ld_sec_def_find(const char *name);

/* btf.c */
int ld_btf_open(struct bpfx_object *obj);
/* Strips typedefs and cv-qualifiers; sets *res_id when not NULL. */
const struct btf_type *ld_btf_skip_mods(const struct btf *btf, u32 id,
					u32 *res_id);
/* True when BTF places the variable NAME in the DATASEC SEC_NAME. */
bool ld_btf_var_in_datasec(const struct btf *btf, const char *sec_name,
			   const char *name);

/* map_defs.c */
int ld_maps_init(struct bpfx_object *obj);
void ld_map_free(struct bpfx_map *map);
/* The map whose definition is at OFF in section SEC, or -1. */
int ld_map_at(const struct bpfx_object *obj, int sec, u64 off);
/* "<object prefix>.data": the kernel-style name libbpf gives. */
void ld_map_kernel_name(const struct bpfx_object *obj,
			const struct bpfx_map *map, char *buf, size_t sz);

/* link.c */
/* Links PROG: its body, then every subprogram it reaches, relocated.
 * Fills prog->insns, maps, func_info and line_info. On failure writes the
 * reason ("insn N: ...") to err and the failing instruction to *err_insn
 * (or SIZE_MAX when none). */
int ld_link_program(struct bpfx_program *prog, char *err, size_t err_sz,
		    size_t *err_insn);

#endif

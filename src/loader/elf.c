/*
 * Reading a BPF object file through libelf.
 *
 * The file is copied once into memory and opened with elf_memory(). Every
 * header libelf hands back is checked against the image before anything
 * is read from it: section data must lie inside the file, symbol section
 * indices must name sections, relocations must name symbols and land on
 * an instruction (a call or the first half of an lddw) inside their
 * section. A bad file gives a message naming the file and the section
 * ("elf: FILE: section .text: ...") and -EINVAL, never a crash.
 *
 * Then the loader's view is built: each section gets a kind (code, global
 * data, .maps, license, BTF, ...), functions are collected from STT_FUNC
 * symbols, and every global function in an executable section other than
 * .text becomes an entry program whose type comes from its section name.
 * Functions in .text (and static ones elsewhere) are subprograms, linked
 * into the programs that call them at load time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

static void ld_vlog(enum bpfx_log_level level, const char *prefix,
		    const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pr_log(level, "%s%s", prefix, msg);
}

int ld_err(const struct loader_state *ld, const char *stage, int err,
	   const char *fmt, ...)
{
	char prefix[320];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s: %s: ", stage, ld->label);
	va_start(ap, fmt);
	ld_vlog(BPFX_LOG_WARN, prefix, fmt, ap);
	va_end(ap);
	return -err;
}

int ld_sec_err(const struct loader_state *ld, int sec, int err,
	       const char *fmt, ...)
{
	char prefix[384];
	va_list ap;

	if (sec > 0 && (size_t)sec < ld->sec_cnt && ld->secs[sec].name)
		snprintf(prefix, sizeof(prefix), "elf: %s: section %s: ",
			 ld->label, ld->secs[sec].name);
	else
		snprintf(prefix, sizeof(prefix), "elf: %s: section #%d: ",
			 ld->label, sec);
	va_start(ap, fmt);
	ld_vlog(BPFX_LOG_WARN, prefix, fmt, ap);
	va_end(ap);
	return -err;
}

/* ".data", ".data.foo", ".rodata.str1.1", ".bss": one map each. */
static bool is_data_sec_name(const char *name, const char *base)
{
	size_t len = strlen(base);

	return strncmp(name, base, len) == 0 &&
	       (name[len] == '\0' || name[len] == '.');
}

static enum ld_sec_kind sec_kind(const GElf_Shdr *sh, const char *name)
{
	if (sh->sh_type == SHT_SYMTAB)
		return LD_SEC_SYMTAB;
	if (sh->sh_type == SHT_REL)
		return LD_SEC_REL;
	if (strcmp(name, "license") == 0)
		return LD_SEC_LICENSE;
	if (strcmp(name, "version") == 0)
		return LD_SEC_VERSION;
	if (strcmp(name, ".BTF") == 0)
		return LD_SEC_BTF;
	if (strcmp(name, ".BTF.ext") == 0)
		return LD_SEC_BTF_EXT;
	if (sh->sh_type == SHT_PROGBITS && (sh->sh_flags & SHF_EXECINSTR))
		return sh->sh_size ? LD_SEC_PROG : LD_SEC_OTHER;
	if (strcmp(name, ".maps") == 0)
		return LD_SEC_MAPS;
	if (strcmp(name, "maps") == 0)
		return LD_SEC_LEGACY_MAPS;
	if (sh->sh_type == SHT_PROGBITS && (sh->sh_flags & SHF_ALLOC) &&
	    (is_data_sec_name(name, ".data") ||
	     is_data_sec_name(name, ".rodata")))
		return LD_SEC_DATA;
	if (sh->sh_type == SHT_NOBITS && is_data_sec_name(name, ".bss"))
		return LD_SEC_DATA;
	return LD_SEC_OTHER;
}

/* Reads section IDX's bytes through libelf after checking its header
 * against the file. */
static int read_sec_data(struct loader_state *ld, int idx)
{
	struct ld_section *sec = &ld->secs[idx];
	Elf_Scn *scn = elf_getscn(ld->elf, idx);
	GElf_Shdr sh;
	Elf_Data *data;

	if (sec->type == SHT_NOBITS || sec->data)
		return 0;
	if (!scn || !gelf_getshdr(scn, &sh))
		return ld_sec_err(ld, idx, EINVAL, "cannot read the header: %s",
				  elf_errmsg(-1));
	if (sh.sh_flags & SHF_COMPRESSED)
		return ld_sec_err(ld, idx, ENOTSUP,
				  "compressed sections are not supported");
	if (sh.sh_offset > ld->image_sz ||
	    sh.sh_size > ld->image_sz - sh.sh_offset)
		return ld_sec_err(ld, idx, EINVAL,
				  "data (offset %#llx, size %#llx) lies outside "
				  "the file (%zu bytes)",
				  (unsigned long long)sh.sh_offset,
				  (unsigned long long)sh.sh_size, ld->image_sz);
	if (sh.sh_size == 0)
		return 0;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf || data->d_size != sh.sh_size)
		return ld_sec_err(ld, idx, EINVAL, "cannot read the data: %s",
				  elf_errmsg(-1));
	sec->data = data->d_buf;
	return 0;
}

static int read_sections(struct loader_state *ld)
{
	size_t shnum, shstrndx;

	if (elf_getshdrnum(ld->elf, &shnum) || elf_getshdrstrndx(ld->elf,
								  &shstrndx))
		return ld_err(ld, "elf", EINVAL,
			      "cannot read the section headers: %s",
			      elf_errmsg(-1));
	if (shnum == 0 || shnum > 65535)
		return ld_err(ld, "elf", EINVAL, "bad section count %zu",
			      shnum);
	if (shstrndx >= shnum)
		return ld_err(ld, "elf", EINVAL,
			      "bad section name table index %zu", shstrndx);
	ld->secs = calloc(shnum, sizeof(*ld->secs));
	if (!ld->secs)
		return -ENOMEM;
	ld->sec_cnt = shnum;

	for (size_t i = 1; i < shnum; i++) {
		struct ld_section *sec = &ld->secs[i];
		Elf_Scn *scn = elf_getscn(ld->elf, i);
		GElf_Shdr sh;
		const char *name;

		sec->map_idx = -1;
		if (!scn || !gelf_getshdr(scn, &sh))
			return ld_sec_err(ld, i, EINVAL,
					  "cannot read the header: %s",
					  elf_errmsg(-1));
		name = elf_strptr(ld->elf, shstrndx, sh.sh_name);
		if (!name)
			return ld_sec_err(ld, i, EINVAL,
					  "bad name offset %u", sh.sh_name);
		sec->name = name;
		sec->type = sh.sh_type;
		sec->flags = sh.sh_flags;
		sec->link = sh.sh_link;
		sec->info = sh.sh_info;
		sec->size = sh.sh_size;
		sec->kind = sec_kind(&sh, name);

		switch (sec->kind) {
		case LD_SEC_SYMTAB:
			if (ld->symtab_idx)
				return ld_sec_err(ld, i, EINVAL,
						  "more than one symbol table");
			ld->symtab_idx = i;
			break;
		case LD_SEC_PROG:
			if (strcmp(name, ".text") == 0)
				ld->text_idx = i;
			if (sh.sh_size % LD_INSN_SZ)
				return ld_sec_err(ld, i, EINVAL,
						  "size %llu is not a multiple "
						  "of the instruction size",
						  (unsigned long long)sh.sh_size);
			break;
		case LD_SEC_MAPS:
			ld->maps_idx = i;
			break;
		case LD_SEC_LEGACY_MAPS:
			ld->legacy_maps_idx = i;
			break;
		case LD_SEC_BTF:
			ld->btf_idx = i;
			break;
		case LD_SEC_BTF_EXT:
			ld->btf_ext_idx = i;
			break;
		default:
			break;
		}
		if (sec->kind != LD_SEC_OTHER && sec->kind != LD_SEC_REL) {
			int err = read_sec_data(ld, i);
			if (err)
				return err;
		}
	}
	if (!ld->symtab_idx)
		return ld_err(ld, "elf", EINVAL, "no symbol table");
	return 0;
}

static int read_symbols(struct loader_state *ld)
{
	const struct ld_section *symtab = &ld->secs[ld->symtab_idx];
	Elf_Data *data = elf_getdata(elf_getscn(ld->elf, ld->symtab_idx), NULL);
	size_t cnt;

	if (!data)
		return ld_sec_err(ld, ld->symtab_idx, EINVAL,
				  "cannot read the symbols: %s",
				  elf_errmsg(-1));
	if (symtab->link == 0 || symtab->link >= ld->sec_cnt ||
	    ld->secs[symtab->link].type != SHT_STRTAB)
		return ld_sec_err(ld, ld->symtab_idx, EINVAL,
				  "bad string table index %u", symtab->link);
	cnt = data->d_size / sizeof(Elf64_Sym);
	ld->syms = calloc(cnt ? cnt : 1, sizeof(*ld->syms));
	if (!ld->syms)
		return -ENOMEM;
	ld->sym_cnt = cnt;
	for (size_t i = 0; i < cnt; i++) {
		struct ld_symbol *s = &ld->syms[i];
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(data, i, &sym))
			return ld_sec_err(ld, ld->symtab_idx, EINVAL,
					  "cannot read symbol #%zu", i);
		name = elf_strptr(ld->elf, symtab->link, sym.st_name);
		if (!name)
			return ld_sec_err(ld, ld->symtab_idx, EINVAL,
					  "symbol #%zu: bad name offset %u", i,
					  sym.st_name);
		if (sym.st_shndx == SHN_XINDEX)
			return ld_sec_err(ld, ld->symtab_idx, ENOTSUP,
					  "symbol '%s': extended section "
					  "indices are not supported", name);
		if (sym.st_shndx != SHN_UNDEF &&
		    sym.st_shndx < SHN_LORESERVE &&
		    sym.st_shndx >= ld->sec_cnt)
			return ld_sec_err(ld, ld->symtab_idx, EINVAL,
					  "symbol '%s': bad section index %u",
					  name, sym.st_shndx);
		s->name = name;
		s->value = sym.st_value;
		s->size = sym.st_size;
		s->shndx = sym.st_shndx;
		s->type = GELF_ST_TYPE(sym.st_info);
		s->bind = GELF_ST_BIND(sym.st_info);
	}
	return 0;
}

static int cmp_reloc(const void *a, const void *b)
{
	const struct ld_reloc *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* A relocation in code: a known type, on a call or on the first half of
 * an lddw that fits in the section. */
static int check_code_reloc(struct loader_state *ld, int target,
			    const struct ld_reloc *r)
{
	const struct ld_section *sec = &ld->secs[target];
	u8 code;

	if (r->type != LD_R_BPF_64_64 && r->type != LD_R_BPF_64_32)
		return ld_sec_err(ld, target, EINVAL,
				  "relocation at offset %#llx: unsupported "
				  "type %u", (unsigned long long)r->offset,
				  r->type);
	if (r->offset % LD_INSN_SZ || r->offset >= sec->size)
		return ld_sec_err(ld, target, EINVAL,
				  "relocation at offset %#llx: not on an "
				  "instruction of the section (size %#llx)",
				  (unsigned long long)r->offset,
				  (unsigned long long)sec->size);
	code = sec->data[r->offset];
	if (code == LD_OP_LDDW) {
		if (r->offset + 2 * LD_INSN_SZ > sec->size)
			return ld_sec_err(ld, target, EINVAL,
					  "relocation at offset %#llx: lddw at "
					  "the end of the section",
					  (unsigned long long)r->offset);
	} else if (code != LD_OP_CALL) {
		return ld_sec_err(ld, target, EINVAL,
				  "relocation at offset %#llx (symbol '%s') on "
				  "an instruction that is neither a call nor "
				  "lddw (opcode %#x)",
				  (unsigned long long)r->offset,
				  ld->syms[r->sym].name, code);
	}
	return 0;
}

static int read_relocations(struct loader_state *ld)
{
	for (size_t i = 1; i < ld->sec_cnt; i++) {
		struct ld_section *rel = &ld->secs[i];
		struct ld_section *target;
		Elf_Data *data;
		size_t cnt;
		int err;

		if (rel->type == SHT_RELA && rel->info < ld->sec_cnt &&
		    ld->secs[rel->info].kind == LD_SEC_PROG)
			return ld_sec_err(ld, i, ENOTSUP,
					  "RELA relocations are not supported");
		if (rel->type != SHT_REL)
			continue;
		if (rel->info == 0 || rel->info >= ld->sec_cnt)
			return ld_sec_err(ld, i, EINVAL,
					  "bad target section index %u",
					  rel->info);
		target = &ld->secs[rel->info];
		if (target->kind != LD_SEC_PROG && target->kind != LD_SEC_MAPS)
			continue; /* debug info, BTF: nothing for us */
		if (rel->link != (u32)ld->symtab_idx)
			return ld_sec_err(ld, i, EINVAL,
					  "bad symbol table index %u",
					  rel->link);
		if (target->relocs)
			return ld_sec_err(ld, i, EINVAL,
					  "second relocation section for %s",
					  target->name);
		err = read_sec_data(ld, i);
		if (err)
			return err;
		data = elf_getdata(elf_getscn(ld->elf, i), NULL);
		if (!data)
			return ld_sec_err(ld, i, EINVAL,
					  "cannot read the relocations: %s",
					  elf_errmsg(-1));
		cnt = data->d_size / sizeof(Elf64_Rel);
		target->relocs = calloc(cnt ? cnt : 1, sizeof(*target->relocs));
		if (!target->relocs)
			return -ENOMEM;
		target->rel_sec = i;
		for (size_t j = 0; j < cnt; j++) {
			struct ld_reloc *r = &target->relocs[target->reloc_cnt];
			GElf_Rel gr;

			if (!gelf_getrel(data, j, &gr))
				return ld_sec_err(ld, i, EINVAL,
						  "cannot read relocation #%zu",
						  j);
			r->offset = gr.r_offset;
			r->type = GELF_R_TYPE(gr.r_info);
			r->sym = GELF_R_SYM(gr.r_info);
			if (r->type == LD_R_BPF_NONE)
				continue;
			if (r->sym == 0 || r->sym >= ld->sym_cnt)
				return ld_sec_err(ld, i, EINVAL,
						  "relocation #%zu: bad symbol "
						  "index %u", j, r->sym);
			if (target->kind == LD_SEC_PROG) {
				err = check_code_reloc(ld, rel->info, r);
				if (err)
					return err;
			} else if (r->offset >= target->size) {
				return ld_sec_err(ld, rel->info, EINVAL,
						  "relocation at offset %#llx "
						  "is outside the section",
						  (unsigned long long)r->offset);
			}
			target->reloc_cnt++;
		}
		qsort(target->relocs, target->reloc_cnt,
		      sizeof(*target->relocs), cmp_reloc);
	}
	return 0;
}

const struct ld_reloc *ld_find_reloc(const struct ld_section *sec,
				     u64 offset)
{
	size_t lo = 0, hi = sec->reloc_cnt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sec->relocs[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sec->reloc_cnt && sec->relocs[lo].offset == offset)
		return &sec->relocs[lo];
	return NULL;
}

static int cmp_func(const void *a, const void *b)
{
	const struct ld_func *x = a, *y = b;

	if (x->sec_idx != y->sec_idx)
		return x->sec_idx - y->sec_idx;
	return x->insn_off < y->insn_off ? -1 : x->insn_off > y->insn_off;
}

const struct ld_func *ld_find_func(const struct loader_state *ld, int sec,
				   size_t insn)
{
	size_t lo = 0, hi = ld->func_cnt;

	/* the last function of SEC starting at or before INSN */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ld_func *f = &ld->funcs[mid];

		if (f->sec_idx < sec ||
		    (f->sec_idx == sec && f->insn_off <= insn))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct ld_func *f = &ld->funcs[lo - 1];
	if (f->sec_idx != sec || insn >= f->insn_off + f->insn_cnt)
		return NULL;
	return f;
}

static int collect_functions(struct loader_state *ld)
{
	size_t n = 0;

	ld->funcs = calloc(ld->sym_cnt ? ld->sym_cnt : 1, sizeof(*ld->funcs));
	if (!ld->funcs)
		return -ENOMEM;
	for (size_t i = 1; i < ld->sym_cnt; i++) {
		const struct ld_symbol *s = &ld->syms[i];
		const struct ld_section *sec;

		if (s->type != STT_FUNC || s->shndx == SHN_UNDEF ||
		    s->shndx >= ld->sec_cnt)
			continue;
		sec = &ld->secs[s->shndx];
		if (sec->kind != LD_SEC_PROG)
			continue;
		if (!s->name[0])
			return ld_sec_err(ld, s->shndx, EINVAL,
					  "function symbol #%zu has no name", i);
		if (s->value % LD_INSN_SZ || s->size % LD_INSN_SZ ||
		    s->value >= sec->size || s->size > sec->size - s->value)
			return ld_sec_err(ld, s->shndx, EINVAL,
					  "function '%s' (offset %#llx, size "
					  "%#llx) does not fit the section "
					  "(size %#llx)", s->name,
					  (unsigned long long)s->value,
					  (unsigned long long)s->size,
					  (unsigned long long)sec->size);
		ld->funcs[n].name = s->name;
		ld->funcs[n].sec_idx = s->shndx;
		ld->funcs[n].insn_off = s->value / LD_INSN_SZ;
		ld->funcs[n].insn_cnt = s->size / LD_INSN_SZ;
		ld->funcs[n].global = s->bind == STB_GLOBAL ||
				      s->bind == STB_WEAK;
		n++;
	}
	ld->func_cnt = n;
	qsort(ld->funcs, n, sizeof(*ld->funcs), cmp_func);
	for (size_t i = 0; i < n; i++) {
		struct ld_func *f = &ld->funcs[i];
		size_t end = ld->secs[f->sec_idx].size / LD_INSN_SZ;

		if (i + 1 < n && ld->funcs[i + 1].sec_idx == f->sec_idx) {
			if (ld->funcs[i + 1].insn_off == f->insn_off)
				return ld_sec_err(ld, f->sec_idx, EINVAL,
						  "functions '%s' and '%s' "
						  "start at the same offset",
						  f->name, ld->funcs[i + 1].name);
			end = ld->funcs[i + 1].insn_off;
		}
		/* assembler functions may come without a size */
		if (f->insn_cnt == 0)
			f->insn_cnt = end - f->insn_off;
		if (f->insn_off + f->insn_cnt > end)
			return ld_sec_err(ld, f->sec_idx, EINVAL,
					  "function '%s' overlaps '%s'",
					  f->name, ld->funcs[i + 1].name);
	}
	return 0;
}

static void free_program(struct bpfx_program *prog)
{
	if (!prog)
		return;
	free(prog->name);
	free(prog->sec_name);
	free(prog->insns);
	free(prog);
}

static int collect_programs(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;

	obj->progs = calloc(ld->func_cnt ? ld->func_cnt : 1,
			    sizeof(*obj->progs));
	if (!obj->progs)
		return -ENOMEM;
	/* Entry points are the global functions outside .text. An object
	 * with none (plain `clang -target bpf` output, as the conformance
	 * suite's ELF tests are) offers its global .text functions instead,
	 * as programs of no particular type. */
	bool from_text = false;
again:
	for (size_t i = 0; i < ld->func_cnt; i++) {
		struct ld_func *f = &ld->funcs[i];
		const struct ld_section *sec = &ld->secs[f->sec_idx];
		const struct ld_sec_def *def;
		struct bpfx_program *prog;
		const char *sec_name = sec->name;
		bool autoload = true;

		if ((f->sec_idx == ld->text_idx) != from_text || !f->global)
			continue;
		if (sec_name[0] == '?') {
			autoload = false;
			sec_name++;
		}
		prog = calloc(1, sizeof(*prog));
		if (!prog)
			return -ENOMEM;
		prog->obj = obj;
		prog->name = strdup(f->name);
		prog->sec_name = strdup(sec_name);
		prog->insns = malloc(f->insn_cnt * sizeof(struct bpf_insn));
		if (!prog->name || !prog->sec_name || !prog->insns) {
			free_program(prog);
			return -ENOMEM;
		}
		/* before load: the body as compiled, as libbpf shows it */
		memcpy(prog->insns, sec->data + f->insn_off * LD_INSN_SZ,
		       f->insn_cnt * LD_INSN_SZ);
		prog->insn_cnt = f->insn_cnt;
		prog->sec_idx = f->sec_idx;
		prog->sec_insn_off = f->insn_off;
		prog->sec_insn_cnt = f->insn_cnt;
		prog->autoload = autoload;
		prog->fd = -1;
		def = ld_sec_def_find(sec_name);
		if (def) {
			prog->type = def->prog_type;
			prog->expected_attach_type = def->attach_type;
		} else {
			pr_debug("elf: %s: section %s: program '%s': unknown "
				 "section name, type unspec", ld->label,
				 sec->name, f->name);
		}
		f->prog = prog;
		obj->progs[obj->prog_cnt++] = prog;
	}
	if (!obj->prog_cnt && !from_text && ld->text_idx) {
		from_text = true;
		goto again;
	}
	ld->prog_loading = calloc(obj->prog_cnt ? obj->prog_cnt : 1,
				  sizeof(*ld->prog_loading));
	return ld->prog_loading ? 0 : -ENOMEM;
}

static int read_license_version(struct bpfx_object *obj)
{
	struct loader_state *ld = obj->ld;

	for (size_t i = 1; i < ld->sec_cnt; i++) {
		const struct ld_section *sec = &ld->secs[i];

		if (sec->kind == LD_SEC_LICENSE && sec->data) {
			size_t n = MIN(sec->size, sizeof(obj->license) - 1);

			memcpy(obj->license, sec->data, n);
			obj->license[n] = '\0';
		} else if (sec->kind == LD_SEC_VERSION) {
			if (sec->size != sizeof(u32) || !sec->data)
				return ld_sec_err(ld, i, EINVAL,
						  "size %llu, want 4",
						  (unsigned long long)sec->size);
			memcpy(&obj->kern_version, sec->data, sizeof(u32));
		}
	}
	return 0;
}

static int check_header(struct loader_state *ld)
{
	GElf_Ehdr eh;

	if (elf_kind(ld->elf) != ELF_K_ELF)
		return ld_err(ld, "elf", EINVAL, "not an ELF file");
	if (!gelf_getehdr(ld->elf, &eh))
		return ld_err(ld, "elf", EINVAL, "cannot read the ELF header: %s",
			      elf_errmsg(-1));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return ld_err(ld, "elf", EINVAL,
			      "not a 64-bit ELF file (class %u)",
			      eh.e_ident[EI_CLASS]);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
#else
	if (eh.e_ident[EI_DATA] != ELFDATA2MSB)
#endif
		return ld_err(ld, "elf", EINVAL,
			      "byte order differs from the host's");
	if (eh.e_machine != EM_BPF && eh.e_machine != EM_NONE)
		return ld_err(ld, "elf", EINVAL,
			      "machine %u is not EM_BPF (%u)", eh.e_machine,
			      EM_BPF);
	if (eh.e_type != ET_REL)
		return ld_err(ld, "elf", EINVAL,
			      "not a relocatable object (type %u)", eh.e_type);
	return 0;
}

int ld_elf_open(struct bpfx_object *obj, const void *buf, size_t size)
{
	struct loader_state *ld = obj->ld;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return ld_err(ld, "elf", EINVAL, "libelf is too old");
	if (size < EI_NIDENT)
		return ld_err(ld, "elf", EINVAL, "file too short (%zu bytes)",
			      size);
	ld->image = malloc(size);
	if (!ld->image)
		return -ENOMEM;
	memcpy(ld->image, buf, size);
	ld->image_sz = size;
	ld->elf = elf_memory((char *)ld->image, size);
	if (!ld->elf)
		return ld_err(ld, "elf", EINVAL, "cannot open: %s",
			      elf_errmsg(-1));
	err = check_header(ld);
	if (!err)
		err = read_sections(ld);
	if (!err)
		err = read_symbols(ld);
	if (!err)
		err = read_relocations(ld);
	if (!err)
		err = collect_functions(ld);
	if (!err)
		err = collect_programs(obj);
	if (!err)
		err = read_license_version(obj);
	return err;
}

void ld_state_free(struct loader_state *ld)
{
	if (!ld)
		return;
	if (ld->secs)
		for (size_t i = 0; i < ld->sec_cnt; i++)
			free(ld->secs[i].relocs);
	free(ld->secs);
	free(ld->syms);
	free(ld->funcs);
	free(ld->map_info);
	free(ld->prog_loading);
	if (ld->btf_ext)
		btf_ext__free(ld->btf_ext);
	if (ld->elf)
		elf_end(ld->elf);
	free(ld->image);
	free(ld);
}

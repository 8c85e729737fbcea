/*
 * kvm/loader.c - the ELF64 payload loader: checks a payload file (header,
 * program headers, every offset and size against the file and for overflow,
 * static x86-64 ET_EXEC only) into an hv_elf_image, then copies its PT_LOAD
 * segments into guest memory and zeroes their tails. The file is untrusted:
 * it is read with memcpy (it may be unaligned) and never past `size`. A
 * Linux vmlinux is described the same way, at its segments' physical
 * addresses (hv_elf_parse_physical, for kvm/linux-boot.c).
 */
#include "kvm/loader.h"
#include "core/error.h"
#include "core/text.h"

#include <elf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <hpcvirt/guest.h>

/* Room to quote the file's name in a message whole (hv_quote()), unless it is huge. */
#define WHAT_QUOTE_SIZE 384

/* The loader's name for it, shorter in the many messages below. */
#define parse_error hv_kvm_parse_error

int hv_kvm_parse_error(const char *what, const char *fmt, ...)
{
    char text[512], shown[WHAT_QUOTE_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return hv_error_set(HV_E_PARSE, what, "%s: %s", hv_quote(shown, sizeof(shown), what), text);
}

static const char *type_name(uint16_t type)
{
    switch (type) {
    case ET_NONE:
        return "ET_NONE";
    case ET_REL:
        return "ET_REL, an object file";
    case ET_DYN:
        return "ET_DYN, a shared object or PIE";
    case ET_CORE:
        return "ET_CORE, a core dump";
    default:
        return "unknown";
    }
}

static int check_header(const Elf64_Ehdr *eh, size_t size, const char *what)
{
    const unsigned char *id = eh->e_ident;

    if (memcmp(id, ELFMAG, SELFMAG) != 0)
        return parse_error(what,
                           "not an ELF file (it starts with %02x %02x %02x %02x, not 7f 45 4c "
                           "46): a payload is a static x86-64 ELF executable",
                           id[0], id[1], id[2], id[3]);
    if (id[EI_CLASS] != ELFCLASS64)
        return parse_error(what,
                           "ELF header: EI_CLASS is %u, not ELFCLASS64 (2): build the payload "
                           "as a 64-bit x86-64 executable",
                           id[EI_CLASS]);
    if (id[EI_DATA] != ELFDATA2LSB)
        return parse_error(what,
                           "ELF header: EI_DATA is %u, not little-endian (ELFDATA2LSB, 1): build "
                           "the payload for x86-64",
                           id[EI_DATA]);
    if (id[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
        return parse_error(what,
                           "ELF header: version is %u/%" PRIu32 ", not EV_CURRENT (1): the "
                           "file is corrupt or not an ELF file",
                           id[EI_VERSION], eh->e_version);
    if (eh->e_type != ET_EXEC)
        return parse_error(what,
                           "ELF header: e_type is %u (%s), not ET_EXEC (2): link the payload "
                           "as a static, non-PIE executable (-static -no-pie)",
                           eh->e_type, type_name(eh->e_type));
    if (eh->e_machine != EM_X86_64)
        return parse_error(what,
                           "ELF header: e_machine is %u, not x86-64 (62): build the payload "
                           "for x86-64",
                           eh->e_machine);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return parse_error(what,
                           "ELF header: e_phentsize is %u, not %zu (the size of an ELF64 program "
                           "header): the file is corrupt",
                           eh->e_phentsize, sizeof(Elf64_Phdr));
    if (eh->e_phnum == PN_XNUM)
        return parse_error(what,
                           "ELF header: e_phnum is 0x%x (extended numbering): a payload has "
                           "far fewer program headers; the file is corrupt",
                           eh->e_phnum);
    if (eh->e_phnum > 0 && (eh->e_phoff > size || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) >
                                                      (uint64_t)size - eh->e_phoff))
        return parse_error(what,
                           "ELF header: e_phoff 0x%" PRIx64 " + %u program headers of %zu "
                           "bytes runs past the end of the %zu-byte file: it is truncated or "
                           "corrupt",
                           eh->e_phoff, eh->e_phnum, sizeof(Elf64_Phdr), size);
    return 0;
}

/*
 * Check one PT_LOAD header; `index` is its place in the program header table,
 * `physical` whether it is loaded at p_paddr rather than p_vaddr.
 */
static int check_load(const Elf64_Phdr *ph, unsigned int index, size_t size, bool physical,
                      const char *what)
{
    uint64_t addr = physical ? ph->p_paddr : ph->p_vaddr;

    if (ph->p_filesz > ph->p_memsz)
        return parse_error(what,
                           "program header %u: p_filesz 0x%" PRIx64
                           " is larger than p_memsz 0x%" PRIx64 ": the file is corrupt",
                           index, ph->p_filesz, ph->p_memsz);
    if (ph->p_offset > size || ph->p_filesz > (uint64_t)size - ph->p_offset)
        return parse_error(what,
                           "program header %u: p_offset 0x%" PRIx64 " + p_filesz 0x%" PRIx64
                           " runs past the end of the %zu-byte file: it is truncated or corrupt",
                           index, ph->p_offset, ph->p_filesz, size);
    if (addr + ph->p_memsz < addr)
        return parse_error(what,
                           "program header %u: %s 0x%" PRIx64 " + p_memsz 0x%" PRIx64
                           " wraps around the address space: the file is corrupt",
                           index, physical ? "p_paddr" : "p_vaddr", addr, ph->p_memsz);
    return 0;
}

static bool overlaps(const hv_elf_segment *a, const hv_elf_segment *b)
{
    return a->addr < b->addr + b->mem_bytes && b->addr < a->addr + a->mem_bytes;
}

static bool entry_in(const hv_elf_segment *s, uint64_t entry)
{
    return (s->flags & PF_X) && entry >= s->addr && entry - s->addr < s->mem_bytes;
}

static int parse(const void *file, size_t size, const char *what, bool physical,
                 hv_elf_image *image)
{
    const uint8_t *bytes = file;
    unsigned int index[HV_ELF_MAX_SEGMENTS];
    Elf64_Ehdr eh;
    bool has_entry = false;
    int rc;

    if (size < sizeof(eh))
        return parse_error(what,
                           "%zu bytes is too short for an ELF header (%zu bytes): a payload is a "
                           "static x86-64 ELF executable",
                           size, sizeof(eh));
    memcpy(&eh, bytes, sizeof(eh));
    rc = check_header(&eh, size, what);
    if (rc < 0)
        return rc;

    for (unsigned int i = 0; i < eh.e_phnum; i++) {
        hv_elf_segment *seg;
        Elf64_Phdr ph;

        memcpy(&ph, bytes + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
            return parse_error(what,
                               "program header %u is %s: a payload must be static (link it "
                               "with -static -nostdlib, without a dynamic loader)",
                               i, ph.p_type == PT_INTERP ? "PT_INTERP" : "PT_DYNAMIC");
        if (ph.p_type != PT_LOAD)
            continue;
        rc = check_load(&ph, i, size, physical, what);
        if (rc < 0)
            return rc;
        if (ph.p_memsz == 0) /* nothing to load */
            continue;
        if (image->segment_count == HV_ELF_MAX_SEGMENTS)
            return parse_error(what,
                               "program header %u: more than %d PT_LOAD segments: merge "
                               "sections in the linker script",
                               i, HV_ELF_MAX_SEGMENTS);
        index[image->segment_count] = i;
        seg = &image->segments[image->segment_count++];
        seg->file_offset = ph.p_offset;
        seg->file_bytes = ph.p_filesz;
        seg->addr = physical ? ph.p_paddr : ph.p_vaddr;
        seg->mem_bytes = ph.p_memsz;
        seg->flags = ph.p_flags;
    }
    if (image->segment_count == 0)
        return parse_error(what,
                           "no PT_LOAD segment with contents: there is nothing to load; link the "
                           "payload as an executable");

    image->base = UINT64_MAX;
    for (size_t i = 0; i < image->segment_count; i++) {
        const hv_elf_segment *s = &image->segments[i];

        for (size_t j = i + 1; j < image->segment_count; j++) {
            const hv_elf_segment *t = &image->segments[j];

            if (overlaps(s, t))
                return parse_error(what,
                                   "program headers %u and %u overlap in memory ([0x%" PRIx64
                                   ", 0x%" PRIx64 ") and [0x%" PRIx64 ", 0x%" PRIx64
                                   ")): the file is corrupt; check the linker script",
                                   index[i], index[j], s->addr, s->addr + s->mem_bytes, t->addr,
                                   t->addr + t->mem_bytes);
        }
        if (s->addr < image->base)
            image->base = s->addr;
        if (s->addr + s->mem_bytes > image->end)
            image->end = s->addr + s->mem_bytes;
        has_entry = has_entry || entry_in(s, eh.e_entry);
    }
    if (!has_entry)
        return parse_error(what,
                           "ELF header: e_entry 0x%" PRIx64 " is not inside an executable "
                           "(PF_X) segment: check the entry point (ENTRY or _start) and the "
                           "linker script",
                           eh.e_entry);
    image->entry = eh.e_entry;
    return 0;
}

/* hv_elf_parse() and hv_elf_parse_physical(), which `func` names in messages. */
static int parse_checked(const void *file, size_t size, const char *what, bool physical,
                         hv_elf_image *image, const char *func)
{
    int rc;

    if (!image)
        return hv_error_null_arg(func, "image");
    memset(image, 0, sizeof(*image));
    if (!file && size != 0)
        return hv_error_null_arg(func, "file");
    rc = parse(file, size, what ? what : "payload", physical, image);
    if (rc < 0)
        memset(image, 0, sizeof(*image)); /* no half-described image */
    return rc;
}

int hv_elf_parse(const void *file, size_t size, const char *what, hv_elf_image *image)
{
    return parse_checked(file, size, what, false, image, __func__);
}

int hv_elf_parse_physical(const void *file, size_t size, const char *what, hv_elf_image *image)
{
    return parse_checked(file, size, what, true, image, __func__);
}

int hv_elf_load(const void *file, size_t size, const hv_elf_image *image, hv_guest_ptr_fn guest_ptr,
                void *ctx)
{
    const uint8_t *bytes = file;
    bool has_entry = false;

    HV_CHECK_ARG(file || size == 0, "file");
    HV_CHECK_ARG(image, "image");
    HV_CHECK_ARG(guest_ptr, "guest_ptr");
    if (image->segment_count == 0 || image->segment_count > HV_ELF_MAX_SEGMENTS)
        return hv_error_set(HV_E_RANGE, NULL,
                            "the payload image has %zu segments (1 to %d expected): describe it "
                            "with hv_elf_parse() first",
                            image->segment_count, HV_ELF_MAX_SEGMENTS);

    /* Check everything before a byte is copied. */
    for (size_t i = 0; i < image->segment_count; i++) {
        const hv_elf_segment *s = &image->segments[i];

        if (s->file_bytes > s->mem_bytes || s->file_offset > size ||
            s->file_bytes > (uint64_t)size - s->file_offset || s->mem_bytes > SIZE_MAX ||
            s->addr + s->mem_bytes < s->addr)
            return hv_error_set(HV_E_RANGE, NULL,
                                "payload segment %zu (0x%" PRIx64
                                " bytes from file offset 0x%" PRIx64
                                ") does not match the %zu-byte file: describe the file "
                                "with hv_elf_parse() before loading it",
                                i, s->file_bytes, s->file_offset, size);
        has_entry = has_entry || entry_in(s, image->entry);
    }
    if (!has_entry)
        return hv_error_set(HV_E_RANGE, NULL,
                            "the payload's entry point 0x%" PRIx64 " is not inside an "
                            "executable segment: check the entry point and the linker script",
                            image->entry);

    for (size_t i = 0; i < image->segment_count; i++) {
        const hv_elf_segment *s = &image->segments[i];
        uint8_t *dst = guest_ptr(ctx, s->addr, s->mem_bytes);

        if (!dst)
            return hv_error_set(HV_E_RANGE, NULL,
                                "payload segment %zu [0x%" PRIx64 ", 0x%" PRIx64
                                ") is not inside the guest's RAM: link the payload at 0x%x or "
                                "above and give vNUMA node 0 enough memory",
                                i, s->addr, s->addr + s->mem_bytes, HV_GUEST_LOAD_MIN);
        if (s->file_bytes)
            memcpy(dst, bytes + s->file_offset, (size_t)s->file_bytes);
        memset(dst + s->file_bytes, 0, (size_t)(s->mem_bytes - s->file_bytes));
    }
    return 0;
}

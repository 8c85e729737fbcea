/*
 * kvm/loader.h - the ELF64 payload loader (internal, pure). Every offset and
 * size in the file is checked against the file and against the guest's
 * layout before a byte is copied; a payload is static, x86-64, ET_EXEC,
 * with PT_LOAD segments only where it matters (others are ignored).
 */
#ifndef HV_KVM_LOADER_H
#define HV_KVM_LOADER_H

#include "kvm/layout.h"

#include <hpcvirt/common.h>

#include <stddef.h>
#include <stdint.h>

/** The most PT_LOAD segments a payload may have. */
#define HV_ELF_MAX_SEGMENTS 16

typedef struct hv_elf_segment {
    uint64_t file_offset, file_bytes; /**< bytes copied from the file */
    uint64_t addr, mem_bytes;         /**< where; mem_bytes - file_bytes are zeroed */
    uint32_t flags;                   /**< PF_R / PF_W / PF_X */
} hv_elf_segment;

typedef struct hv_elf_image {
    uint64_t entry;
    size_t segment_count;
    hv_elf_segment segments[HV_ELF_MAX_SEGMENTS];
    uint64_t base, end; /**< lowest and highest address the segments cover */
} hv_elf_image;

/**
 * Check and describe a payload file. HV_E_PARSE with the offending field
 * ("ELF header: e_machine is 3, not x86-64 (62)") for anything malformed,
 * truncated, overlapping or out of range; `what` names the file in messages.
 */
int hv_elf_parse(const void *file, size_t size, const char *what, hv_elf_image *image);

/**
 * hv_elf_parse() with each segment at its p_paddr instead of its p_vaddr:
 * a Linux vmlinux, linked at virtual addresses high in the address space,
 * loads at physical ones (and its e_entry is physical).
 */
int hv_elf_parse_physical(const void *file, size_t size, const char *what, hv_elf_image *image);

/**
 * An HV_E_PARSE error whose message starts with the file's name, quoted (it
 * is the caller's, a path that may hold anything) and a colon; the error's
 * path is the name as given. The parsers of guest files share it.
 */
int hv_kvm_parse_error(const char *what, const char *fmt, ...) HV_PRINTF(2, 3);

/** Guest physical memory as the loader sees it: a host pointer for a range, or NULL. */
typedef uint8_t *(*hv_guest_ptr_fn)(void *ctx, uint64_t addr, uint64_t bytes);

/**
 * Copy the segments into guest memory and zero their tails. The image must
 * have been placed in the layout (hv_kvm_layout_place_image) and the entry
 * point must lie in an executable segment (HV_E_RANGE otherwise).
 */
int hv_elf_load(const void *file, size_t size, const hv_elf_image *image, hv_guest_ptr_fn guest_ptr,
                void *ctx);

#endif

/*
 * kvm/linux-boot.c - the x86 Linux boot protocol, pure (no I/O, no ioctls):
 * a bzImage's setup header or an ELF vmlinux checked (the file is untrusted:
 * read with memcpy, never past its size), the kernel, command line and
 * initrd placed in the guest's RAM, the e820 map and the zero page built,
 * and everything copied into a caller-given view of guest memory.
 * docs/linux-guest.md describes the result from the guest's side.
 */
#include "kvm/linux-boot.h"
#include "core/error.h"

#include <elf.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <hpcvirt/size.h>

#define KiB4 UINT64_C(4096)
#define GiB1 (UINT64_C(1) << 30)

/* The offsets boot.rst and bootparam.h give. */
#define HDR_AT(field) (HV_LINUX_SETUP_HEADER_OFFSET + offsetof(hv_linux_setup_header, field))
_Static_assert(sizeof(hv_linux_setup_header) == 0x26C - 0x1F1, "setup_header is 0x1F1..0x26C");
_Static_assert(HDR_AT(setup_sects) == 0x1F1, "setup_sects");
_Static_assert(HDR_AT(syssize) == 0x1F4, "syssize");
_Static_assert(HDR_AT(boot_flag) == 0x1FE, "boot_flag");
_Static_assert(HDR_AT(jump) == 0x200, "jump");
_Static_assert(HDR_AT(header) == 0x202, "header");
_Static_assert(HDR_AT(version) == 0x206, "version");
_Static_assert(HDR_AT(kernel_version) == 0x20E, "kernel_version");
_Static_assert(HDR_AT(type_of_loader) == 0x210, "type_of_loader");
_Static_assert(HDR_AT(loadflags) == 0x211, "loadflags");
_Static_assert(HDR_AT(code32_start) == 0x214, "code32_start");
_Static_assert(HDR_AT(ramdisk_image) == 0x218, "ramdisk_image");
_Static_assert(HDR_AT(ramdisk_size) == 0x21C, "ramdisk_size");
_Static_assert(HDR_AT(heap_end_ptr) == 0x224, "heap_end_ptr");
_Static_assert(HDR_AT(cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(HDR_AT(initrd_addr_max) == 0x22C, "initrd_addr_max");
_Static_assert(HDR_AT(kernel_alignment) == 0x230, "kernel_alignment");
_Static_assert(HDR_AT(relocatable_kernel) == 0x234, "relocatable_kernel");
_Static_assert(HDR_AT(min_alignment) == 0x235, "min_alignment");
_Static_assert(HDR_AT(xloadflags) == 0x236, "xloadflags");
_Static_assert(HDR_AT(cmdline_size) == 0x238, "cmdline_size");
_Static_assert(HDR_AT(hardware_subarch) == 0x23C, "hardware_subarch");
_Static_assert(HDR_AT(payload_offset) == 0x248, "payload_offset");
_Static_assert(HDR_AT(setup_data) == 0x250, "setup_data");
_Static_assert(HDR_AT(pref_address) == 0x258, "pref_address");
_Static_assert(HDR_AT(init_size) == 0x260, "init_size");
_Static_assert(HDR_AT(handover_offset) == 0x264, "handover_offset");
_Static_assert(HDR_AT(kernel_info_offset) == 0x268, "kernel_info_offset");
_Static_assert(sizeof(hv_e820_entry) == 20, "boot_e820_entry");
_Static_assert(sizeof(hv_linux_boot_params) == 4096, "boot_params is the zero page");
_Static_assert(offsetof(hv_linux_boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr");
_Static_assert(offsetof(hv_linux_boot_params, ext_ramdisk_image) == 0x0C0, "ext_ramdisk_image");
_Static_assert(offsetof(hv_linux_boot_params, ext_ramdisk_size) == 0x0C4, "ext_ramdisk_size");
_Static_assert(offsetof(hv_linux_boot_params, ext_cmd_line_ptr) == 0x0C8, "ext_cmd_line_ptr");
_Static_assert(offsetof(hv_linux_boot_params, cc_blob_address) == 0x13C, "cc_blob_address");
_Static_assert(offsetof(hv_linux_boot_params, alt_mem_k) == 0x1E0, "alt_mem_k");
_Static_assert(offsetof(hv_linux_boot_params, e820_entries) == 0x1E8, "e820_entries");
_Static_assert(offsetof(hv_linux_boot_params, sentinel) == 0x1EF, "sentinel");
_Static_assert(offsetof(hv_linux_boot_params, hdr) == 0x1F1, "hdr");
_Static_assert(offsetof(hv_linux_boot_params, edd_mbr_sig_buffer) == 0x290, "edd_mbr_sig_buffer");
_Static_assert(offsetof(hv_linux_boot_params, e820_table) == 0x2D0, "e820_table");
_Static_assert(offsetof(hv_linux_boot_params, eddbuf) == 0xD00, "eddbuf");

/* The header fields protocol 2.12 has end with init_size. */
#define HDR_MIN_END (HDR_AT(init_size) + 4)
/* XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry, a 32-bit physical address. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
/* What a vmlinux's made-up header says (COMMAND_LINE_SIZE - 1, x86-64's initrd limit). */
#define VMLINUX_CMDLINE_MAX     2047
#define VMLINUX_INITRD_ADDR_MAX 0x7FFFFFFF

static uint64_t align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static bool overlaps(uint64_t a, uint64_t a_bytes, uint64_t b, uint64_t b_bytes)
{
    return a < b + b_bytes && b < a + a_bytes;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void size_text(uint64_t bytes, char *buf, size_t size)
{
    hv_size_format(bytes, buf, size);
}

/* ---- bzImage ---------------------------------------------------------- */

/* The boot sector signature, "HdrS", the version and the header's extent. */
static int check_signatures(const uint8_t *b, size_t size, const char *what, size_t *hdr_end)
{
    uint16_t version;

    if (size < HDR_AT(jump))
        return hv_kvm_parse_error(what,
                                  "%zu bytes is too short for a bzImage's boot sector (512 bytes): "
                                  "give a bzImage (arch/x86/boot/bzImage) or an ELF vmlinux",
                                  size);
    if (le16(b + HDR_AT(boot_flag)) != HV_LINUX_BOOT_FLAG)
        return hv_kvm_parse_error(what,
                                  "boot_flag at 0x1FE is 0x%04x, not 0xAA55: this is not a Linux "
                                  "bzImage; give a bzImage (arch/x86/boot/bzImage) or an ELF "
                                  "vmlinux",
                                  le16(b + HDR_AT(boot_flag)));
    if (size < HDR_AT(version) + 2)
        return hv_kvm_parse_error(what,
                                  "%zu bytes is too short for the setup header at 0x1F1: the "
                                  "file is truncated",
                                  size);
    if (le32(b + HDR_AT(header)) != HV_LINUX_HDRS)
        return hv_kvm_parse_error(what,
                                  "no \"HdrS\" at 0x202: a kernel older than boot protocol 2.00, "
                                  "or not a Linux kernel; use Linux 3.8 or later for x86-64");
    version = le16(b + HDR_AT(version));
    if (version < HV_LINUX_MIN_VERSION)
        return hv_kvm_parse_error(what,
                                  "boot protocol %u.%02u (version 0x%04x at 0x206) is older than "
                                  "2.12, the first with a 64-bit entry: use Linux 3.8 or later",
                                  version >> 8, version & 0xFF, version);
    /* the jump at 0x200 is EB xx: the header ends where it lands */
    *hdr_end = HDR_AT(header) + b[HDR_AT(jump) + 1];
    if (*hdr_end < HDR_MIN_END)
        return hv_kvm_parse_error(what,
                                  "the setup header ends at 0x%zx (the jump at 0x200), before "
                                  "init_size at 0x260 that protocol %u.%02u has: the file is "
                                  "corrupt",
                                  *hdr_end, version >> 8, version & 0xFF);
    if (*hdr_end > size)
        return hv_kvm_parse_error(what,
                                  "the setup header ends at 0x%zx, past the end of the %zu-byte "
                                  "file: it is truncated",
                                  *hdr_end, size);
    return 0;
}

/*
 * Where the protected-mode kernel is in the file. The setup sectors (at
 * least 1 KiB) always hold the header, which ends by 0x301.
 */
static int check_extent(const hv_linux_setup_header *h, size_t size, const char *what,
                        hv_linux_kernel *k)
{
    unsigned int sects = h->setup_sects ? h->setup_sects : 4;

    k->kernel_offset = (uint64_t)(sects + 1) * HV_LINUX_SECTOR;
    if (k->kernel_offset > size)
        return hv_kvm_parse_error(what,
                                  "setup_sects %u: the boot sector and %u setup sectors (%" PRIu64
                                  " bytes) run past the end of the %zu-byte file: it is truncated",
                                  h->setup_sects, sects, k->kernel_offset, size);
    if (h->syssize == 0)
        return hv_kvm_parse_error(what, "syssize is 0: there is no protected-mode kernel after the "
                                        "setup sectors; the file is corrupt");
    k->kernel_bytes = (uint64_t)h->syssize * 16;
    if (k->kernel_bytes > (uint64_t)size - k->kernel_offset)
        return hv_kvm_parse_error(what,
                                  "syssize 0x%" PRIx32 " (0x%" PRIx64 " bytes of protected-mode "
                                  "kernel from offset 0x%" PRIx64 ") runs past the end of the "
                                  "%zu-byte file: it is truncated",
                                  h->syssize, k->kernel_bytes, k->kernel_offset, size);
    return 0;
}

/* The flags and limits the engine relies on. */
static int check_fields(const hv_linux_setup_header *h, const char *what, hv_linux_kernel *k)
{
    if (!(h->loadflags & HV_LINUX_LOADED_HIGH))
        return hv_kvm_parse_error(what,
                                  "loadflags 0x%02x lacks LOADED_HIGH (0x01): a zImage that loads "
                                  "at 0x10000 cannot be booted; build a bzImage",
                                  h->loadflags);
    if (!(h->xloadflags & HV_LINUX_XLF_KERNEL_64))
        return hv_kvm_parse_error(what,
                                  "xloadflags 0x%04x lacks XLF_KERNEL_64 (0x0001): the kernel has "
                                  "no 64-bit entry (a 32-bit kernel?); build it for x86-64",
                                  h->xloadflags);
    if (h->relocatable_kernel && (h->kernel_alignment < KiB4 || h->kernel_alignment > GiB1 ||
                                  (h->kernel_alignment & (h->kernel_alignment - 1)) != 0))
        return hv_kvm_parse_error(what,
                                  "kernel_alignment 0x%" PRIx32 " is not a power of two from "
                                  "4 KiB to 1 GiB: the file is corrupt",
                                  h->kernel_alignment);
    if (h->pref_address % KiB4 != 0 || h->pref_address >= HV_KVM_ADDR_LIMIT)
        return hv_kvm_parse_error(what,
                                  "pref_address 0x%" PRIx64 " is not a page-aligned address "
                                  "below 256 TiB: the file is corrupt",
                                  h->pref_address);
    if (h->init_size < k->kernel_bytes)
        return hv_kvm_parse_error(what,
                                  "init_size 0x%" PRIx32 " is smaller than the 0x%" PRIx64
                                  "-byte protected-mode kernel: the file is corrupt",
                                  h->init_size, k->kernel_bytes);
    return 0;
}

static int bzimage_parse(const uint8_t *b, size_t size, const char *what, hv_linux_kernel *k)
{
    hv_linux_setup_header *h = &k->hdr;
    size_t hdr_end = 0;
    int rc;

    rc = check_signatures(b, size, what, &hdr_end);
    if (rc < 0)
        return rc;
    memcpy(h, b + HV_LINUX_SETUP_HEADER_OFFSET,
           (size_t)min_u64(hdr_end - HV_LINUX_SETUP_HEADER_OFFSET, sizeof(*h)));
    rc = check_extent(h, size, what, k);
    if (rc < 0)
        return rc;
    rc = check_fields(h, what, k);
    if (rc < 0)
        return rc;
    k->format = HV_LINUX_BZIMAGE;
    k->entry_kind = HV_LINUX_ENTRY_64;
    k->version = h->version;
    k->init_bytes = h->init_size;
    k->pref_address = h->pref_address;
    k->relocatable = h->relocatable_kernel != 0;
    k->alignment = k->relocatable ? h->kernel_alignment : 0;
    k->cmdline_max = h->cmdline_size;
    k->initrd_addr_max = h->initrd_addr_max;
    return 0;
}

/* ---- vmlinux ---------------------------------------------------------- */

/* The PVH entry in one PT_NOTE's notes, if there; *found says whether. */
static int scan_notes(const uint8_t *notes, uint64_t len, unsigned int index, const char *what,
                      uint64_t *entry, bool *found)
{
    uint64_t off = 0;

    while (len - off >= 12) {
        uint32_t namesz = le32(notes + off), descsz = le32(notes + off + 4);
        uint32_t type = le32(notes + off + 8);
        uint64_t name_at = off + 12, desc_at = name_at + align_up(namesz, 4);

        if (desc_at > len || align_up(descsz, 4) > len - desc_at)
            return hv_kvm_parse_error(what,
                                      "program header %u (PT_NOTE): the note at offset 0x%" PRIx64
                                      " (name %" PRIu32 " bytes, description %" PRIu32
                                      " bytes) runs past the segment: the file is corrupt",
                                      index, off, namesz, descsz);
        if (namesz == 4 && memcmp(notes + name_at, "Xen", 4) == 0 &&
            type == XEN_ELFNOTE_PHYS32_ENTRY) {
            if (descsz != 4 && descsz != 8)
                return hv_kvm_parse_error(what,
                                          "program header %u: the Xen PHYS32_ENTRY note's "
                                          "description is %" PRIu32 " bytes, not 4 or 8: the "
                                          "file is corrupt",
                                          index, descsz);
            /* a 32-bit address, written as a .long or a .quad */
            *entry = le32(notes + desc_at);
            if (descsz == 8 && le32(notes + desc_at + 4) != 0)
                return hv_kvm_parse_error(what,
                                          "program header %u: the PVH entry 0x%08" PRIx32
                                          "%08" PRIx32 " is above 4 GiB: the file is corrupt",
                                          index, le32(notes + desc_at + 4), le32(notes + desc_at));
            *found = true;
            return 0;
        }
        off = desc_at + align_up(descsz, 4);
    }
    return 0;
}

static int find_pvh_entry(const uint8_t *b, size_t size, const char *what, uint64_t *entry,
                          bool *found)
{
    Elf64_Ehdr eh;

    /* hv_elf_parse_physical() checked the header and the program headers' extent */
    memcpy(&eh, b, sizeof(eh));
    for (unsigned int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        int rc;

        memcpy(&ph, b + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_NOTE)
            continue;
        if (ph.p_offset > size || ph.p_filesz > (uint64_t)size - ph.p_offset)
            return hv_kvm_parse_error(what,
                                      "program header %u (PT_NOTE): p_offset 0x%" PRIx64
                                      " + p_filesz 0x%" PRIx64 " runs past the end of the "
                                      "%zu-byte file: it is truncated or corrupt",
                                      i, ph.p_offset, ph.p_filesz, size);
        rc = scan_notes(b + ph.p_offset, ph.p_filesz, i, what, entry, found);
        if (rc < 0 || *found)
            return rc;
    }
    return 0;
}

static int vmlinux_parse(const uint8_t *b, size_t size, const char *what, hv_linux_kernel *k)
{
    hv_linux_setup_header *h = &k->hdr;
    hv_elf_image *elf = &k->elf;
    uint64_t pvh = 0;
    bool found = false;
    int rc;

    rc = hv_elf_parse_physical(b, size, what, elf);
    if (rc < 0)
        return rc;
    rc = find_pvh_entry(b, size, what, &pvh, &found);
    if (rc < 0)
        return rc;
    if (found && (pvh < elf->base || pvh >= elf->end))
        return hv_kvm_parse_error(what,
                                  "the PVH entry 0x%" PRIx64 " (Xen note PHYS32_ENTRY) is outside "
                                  "the kernel's segments [0x%" PRIx64 ", 0x%" PRIx64 "): the "
                                  "file is corrupt",
                                  pvh, elf->base, elf->end);
    if (elf->base % KiB4 != 0 || elf->end - elf->base > UINT32_MAX)
        return hv_kvm_parse_error(what,
                                  "the segments [0x%" PRIx64 ", 0x%" PRIx64 ") do not start on a "
                                  "page or span more than 4 GiB: this is not a Linux vmlinux",
                                  elf->base, elf->end);
    k->format = HV_LINUX_VMLINUX;
    k->entry_kind = found ? HV_LINUX_ENTRY_PVH : HV_LINUX_ENTRY_64;
    k->entry = found ? pvh : elf->entry;
    k->version = HV_LINUX_MIN_VERSION;
    k->kernel_bytes = elf->end - elf->base;
    k->init_bytes = k->kernel_bytes;
    k->pref_address = elf->base;
    k->relocatable = false;
    k->cmdline_max = VMLINUX_CMDLINE_MAX;
    k->initrd_addr_max = VMLINUX_INITRD_ADDR_MAX;
    /* what a bzImage's header would say, for the zero page */
    h->boot_flag = HV_LINUX_BOOT_FLAG;
    h->header = HV_LINUX_HDRS;
    h->version = HV_LINUX_MIN_VERSION;
    h->loadflags = HV_LINUX_LOADED_HIGH;
    h->xloadflags = HV_LINUX_XLF_KERNEL_64;
    h->cmdline_size = VMLINUX_CMDLINE_MAX;
    h->initrd_addr_max = VMLINUX_INITRD_ADDR_MAX;
    h->pref_address = elf->base;
    h->init_size = (uint32_t)k->init_bytes;
    return 0;
}

typedef int (*parse_fn)(const uint8_t *b, size_t size, const char *what, hv_linux_kernel *k);

/* The three hv_linux_*_parse(), which `func` names in messages. */
static int parse_checked(parse_fn fn, const void *file, size_t size, const char *what,
                         hv_linux_kernel *kernel, const char *func)
{
    int rc;

    if (!kernel)
        return hv_error_null_arg(func, "kernel");
    memset(kernel, 0, sizeof(*kernel));
    if (!file && size != 0)
        return hv_error_null_arg(func, "file");
    rc = fn(file, size, what ? what : "kernel", kernel);
    if (rc < 0)
        memset(kernel, 0, sizeof(*kernel)); /* no half-described kernel */
    return rc;
}

int hv_linux_bzimage_parse(const void *file, size_t size, const char *what, hv_linux_kernel *kernel)
{
    return parse_checked(bzimage_parse, file, size, what, kernel, __func__);
}

int hv_linux_vmlinux_parse(const void *file, size_t size, const char *what, hv_linux_kernel *kernel)
{
    return parse_checked(vmlinux_parse, file, size, what, kernel, __func__);
}

int hv_linux_kernel_parse(const void *file, size_t size, const char *what, hv_linux_kernel *kernel)
{
    bool elf = file && size >= SELFMAG && memcmp(file, ELFMAG, SELFMAG) == 0;

    return parse_checked(elf ? vmlinux_parse : bzimage_parse, file, size, what, kernel, __func__);
}

/* ---- placement -------------------------------------------------------- */

/* No node's RAM may cover the 32-bit hole (devices, interrupt controllers) below 4 GiB. */
static int check_device_hole(const hv_kvm_layout *layout)
{
    for (size_t i = 0; i < layout->node_count; i++) {
        const hv_kvm_node_layout *n = &layout->nodes[i];
        char path[32];

        if (!overlaps(n->base, n->low_bytes, HV_LINUX_HOLE_BASE,
                      HV_LINUX_HOLE_END - HV_LINUX_HOLE_BASE))
            continue;
        snprintf(path, sizeof(path), "vnuma[%zu]", i);
        return hv_error_set(HV_E_RANGE, path,
                            "vNUMA node %zu's RAM [0x%" PRIx64 ", 0x%" PRIx64 ") covers "
                            "[3 GiB, 4 GiB), where a Linux guest's devices and interrupt "
                            "controllers are: lay the guest out with that hole "
                            "(hv_kvm_layout_init_with_hole())",
                            i, n->base, n->base + n->low_bytes);
    }
    return 0;
}

static int place_kernel(const hv_linux_kernel *k, const hv_kvm_layout *layout,
                        hv_linux_placement *p)
{
    const hv_kvm_node_layout *n0 = &layout->nodes[0];
    uint64_t init = max_u64(k->init_bytes, k->kernel_bytes), at;
    char have[32], need[32];

    at = k->pref_address;
    if (at < HV_LINUX_HIGH_MIN || hv_kvm_layout_node_of(layout, at, init) != 0) {
        if (!k->relocatable) {
            size_text(n0->bytes, have, sizeof(have));
            size_text(init, need, sizeof(need));
            return hv_error_set(HV_E_RANGE, "vnuma[0]",
                                "the kernel is not relocatable and needs [0x%" PRIx64
                                ", +%s) (pref_address, init_size), which is not RAM of vNUMA "
                                "node 0 (%s) at or above 1 MiB: give node 0 more memory or "
                                "use a relocatable kernel (CONFIG_RELOCATABLE)",
                                at, need, have);
        }
        at = align_up(max_u64(HV_LINUX_HIGH_MIN, n0->base), max_u64(k->alignment, KiB4));
        if (hv_kvm_layout_node_of(layout, at, init) != 0) {
            size_text(n0->bytes, have, sizeof(have));
            size_text(align_up(at + init, HV_KVM_RAM_ALIGN), need, sizeof(need));
            return hv_error_set(HV_E_RANGE, "vnuma[0]",
                                "the kernel needs 0x%" PRIx64 " bytes (init_size) from a "
                                "0x%" PRIx64 "-aligned address at or above 1 MiB, more than "
                                "vNUMA node 0's %s: give node 0 at least %s",
                                init, k->alignment, have, need);
        }
    }
    p->kernel_addr = at;
    p->kernel_bytes = k->kernel_bytes;
    p->kernel_end = at + init;
    p->entry = k->format == HV_LINUX_BZIMAGE ? at + HV_LINUX_ENTRY64_OFFSET : k->entry;
    return 0;
}

static int place_cmdline(const hv_linux_kernel *k, size_t len, hv_linux_placement *p)
{
    if (len > k->cmdline_max)
        return hv_error_set(HV_E_RANGE, "cmdline",
                            "the kernel command line is %zu bytes, longer than the %" PRIu32
                            " the kernel accepts (cmdline_size): shorten it",
                            len, k->cmdline_max);
    if (len >= HV_LINUX_CMDLINE_MAX)
        return hv_error_set(HV_E_RANGE, "cmdline",
                            "the kernel command line is %zu bytes, longer than the %" PRIu64
                            " the engine has room for: shorten it",
                            len, HV_LINUX_CMDLINE_MAX - 1);
    p->zero_page_addr = HV_LINUX_ZERO_PAGE_ADDR;
    p->cmdline_addr = HV_LINUX_CMDLINE_ADDR;
    p->cmdline_bytes = (uint64_t)len + 1;
    return 0;
}

/* The highest page-aligned place for the initrd in node `n`, below `limit`, beside the kernel. */
static bool initrd_in(const hv_kvm_node_layout *n, uint64_t limit, uint64_t bytes,
                      const hv_linux_placement *p, uint64_t *addr)
{
    uint64_t lo = max_u64(n->base, HV_LINUX_HIGH_MIN);
    uint64_t hi = min_u64(n->base + n->low_bytes, limit); /* below the 32-bit hole */
    uint64_t at;

    if (hi <= lo || hi - lo < bytes)
        return false;
    at = (hi - bytes) & ~(KiB4 - 1);
    if (overlaps(at, bytes, p->kernel_addr, p->kernel_end - p->kernel_addr)) {
        if (p->kernel_addr < lo || p->kernel_addr - lo < bytes)
            return false;
        at = (p->kernel_addr - bytes) & ~(KiB4 - 1);
    }
    if (at < lo)
        return false;
    *addr = at;
    return true;
}

static int place_initrd(const hv_linux_kernel *k, const hv_kvm_layout *layout, uint64_t bytes,
                        hv_linux_placement *p)
{
    uint64_t limit = (uint64_t)k->initrd_addr_max + 1;
    char size[32], have[32];

    if (bytes == 0)
        return 0;
    for (size_t i = layout->node_count; i-- > 0;) {
        if (initrd_in(&layout->nodes[i], limit, bytes, p, &p->initrd_addr)) {
            p->initrd_bytes = bytes;
            return 0;
        }
    }
    size_text(bytes, size, sizeof(size));
    size_text(layout->nodes[0].bytes, have, sizeof(have));
    return hv_error_set(HV_E_RANGE, "initrd",
                        "the %s initrd does not fit in one vNUMA node's RAM between 1 MiB and "
                        "0x%" PRIx64 " (initrd_addr_max 0x%" PRIx32 ") beside the kernel at "
                        "[0x%" PRIx64 ", 0x%" PRIx64 "): give vNUMA node 0 (%s) more memory or "
                        "use a smaller initrd",
                        size, limit, k->initrd_addr_max, p->kernel_addr, p->kernel_end, have);
}

static int check_layout(const hv_kvm_layout *layout)
{
    if (layout->node_count == 0 || layout->node_count > HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_INVAL, NULL,
                            "the layout has %zu nodes: call hv_kvm_layout_init() first",
                            layout->node_count);
    return 0;
}

int hv_linux_place(const hv_linux_kernel *kernel, const hv_kvm_layout *layout, size_t cmdline_len,
                   uint64_t initrd_bytes, hv_linux_placement *placement)
{
    int rc;

    HV_CHECK_ARG(placement, "placement");
    memset(placement, 0, sizeof(*placement));
    HV_CHECK_ARG(kernel, "kernel");
    HV_CHECK_ARG(layout, "layout");
    rc = check_layout(layout);
    if (rc == 0)
        rc = check_device_hole(layout);
    if (rc == 0)
        rc = place_kernel(kernel, layout, placement);
    if (rc == 0)
        rc = place_cmdline(kernel, cmdline_len, placement);
    if (rc == 0)
        rc = place_initrd(kernel, layout, initrd_bytes, placement);
    if (rc < 0)
        memset(placement, 0, sizeof(*placement));
    return rc;
}

/* ---- e820 and the zero page ------------------------------------------- */

typedef struct e820_builder {
    hv_e820_entry *table;
    size_t max, count;
} e820_builder;

/* Append an entry, merged into the last one when it continues it with the same type. */
static int e820_add(e820_builder *e, uint64_t addr, uint64_t end, uint32_t type)
{
    hv_e820_entry *last = e->count ? &e->table[e->count - 1] : NULL;

    if (end <= addr)
        return 0;
    if (last && last->type == type && last->addr + last->size == addr) {
        last->size += end - addr;
        return 0;
    }
    if (e->count == e->max)
        return hv_error_set(HV_E_RANGE, "vnuma",
                            "the guest's memory map needs more than %zu e820 entries: use "
                            "fewer vNUMA nodes",
                            e->max);
    e->table[e->count].addr = addr;
    e->table[e->count].size = end - addr;
    e->table[e->count].type = type;
    e->count++;
    return 0;
}

/* RAM [base, end), with the PC's reserved area below 1 MiB cut out. */
static int e820_add_ram(e820_builder *e, uint64_t base, uint64_t end)
{
    int rc = e820_add(e, base, min_u64(end, HV_LINUX_LOW_RESERVED_BASE), HV_E820_RAM);

    if (rc == 0)
        rc = e820_add(e, max_u64(base, HV_LINUX_LOW_RESERVED_BASE), min_u64(end, HV_LINUX_HIGH_MIN),
                      HV_E820_RESERVED);
    if (rc == 0)
        rc = e820_add(e, max_u64(base, HV_LINUX_HIGH_MIN), end, HV_E820_RAM);
    return rc;
}

int hv_linux_e820_build(const hv_kvm_layout *layout, hv_e820_entry *table, size_t max,
                        size_t *count)
{
    e820_builder e = {.table = table, .max = max, .count = 0};
    int rc;

    HV_CHECK_ARG(count, "count");
    *count = 0;
    HV_CHECK_ARG(layout, "layout");
    HV_CHECK_ARG(table || max == 0, "table");
    rc = check_layout(layout);
    for (size_t i = 0; rc == 0 && i < layout->node_count; i++) {
        const hv_kvm_node_layout *n = &layout->nodes[i];

        rc = e820_add_ram(&e, n->base, n->base + n->low_bytes);
        if (rc == 0 && n->high_base) /* the node's RAM above the 32-bit hole */
            rc = e820_add_ram(&e, n->high_base, hv_kvm_node_end(n));
    }
    if (rc == 0 && layout->mmio_bytes)
        rc = e820_add(&e, layout->mmio_base, layout->mmio_base + layout->mmio_bytes,
                      HV_E820_RESERVED);
    if (rc < 0)
        return rc;
    *count = e.count;
    return 0;
}

int hv_linux_boot_params_build(hv_linux_boot_params *bp, const hv_linux_kernel *kernel,
                               const hv_kvm_layout *layout, const hv_linux_placement *placement)
{
    hv_e820_entry table[HV_E820_MAX_ENTRIES];
    size_t count = 0;
    int rc;

    HV_CHECK_ARG(bp, "bp");
    memset(bp, 0, sizeof(*bp));
    HV_CHECK_ARG(kernel, "kernel");
    HV_CHECK_ARG(layout, "layout");
    HV_CHECK_ARG(placement, "placement");
    rc = hv_linux_e820_build(layout, table, HV_E820_MAX_ENTRIES, &count);
    if (rc < 0)
        return rc;
    bp->hdr = kernel->hdr;
    bp->hdr.type_of_loader = HV_LINUX_LOADER_UNDEFINED;
    bp->hdr.loadflags |= HV_LINUX_LOADED_HIGH;
    bp->hdr.code32_start = (uint32_t)placement->kernel_addr;
    bp->hdr.setup_data = 0; /* the loader's list of extra data: none (not the file's) */
    bp->hdr.cmd_line_ptr = (uint32_t)placement->cmdline_addr;
    bp->ext_cmd_line_ptr = (uint32_t)(placement->cmdline_addr >> 32);
    bp->hdr.ramdisk_image = (uint32_t)placement->initrd_addr;
    bp->ext_ramdisk_image = (uint32_t)(placement->initrd_addr >> 32);
    bp->hdr.ramdisk_size = (uint32_t)placement->initrd_bytes;
    bp->ext_ramdisk_size = (uint32_t)(placement->initrd_bytes >> 32);
    memcpy(bp->e820_table, table, count * sizeof(table[0]));
    bp->e820_entries = (uint8_t)count;
    return 0;
}

/* ---- loading ---------------------------------------------------------- */

static int copy_in(hv_guest_ptr_fn guest_ptr, void *ctx, uint64_t addr, const void *src,
                   uint64_t bytes, const char *what)
{
    uint8_t *dst;

    if (bytes == 0)
        return 0;
    dst = bytes <= SIZE_MAX ? guest_ptr(ctx, addr, bytes) : NULL;
    if (!dst)
        return hv_error_set(HV_E_RANGE, NULL,
                            "the %s [0x%" PRIx64 ", 0x%" PRIx64 ") is not inside the guest's "
                            "RAM: place it with hv_linux_place() first",
                            what, addr, addr + bytes);
    memcpy(dst, src, (size_t)bytes);
    return 0;
}

int hv_linux_load(const void *file, size_t size, const hv_linux_kernel *kernel,
                  const hv_linux_placement *placement, const char *cmdline, const void *initrd,
                  const hv_linux_boot_params *bp, hv_guest_ptr_fn guest_ptr, void *ctx)
{
    const hv_linux_placement *p = placement;
    const char *line = cmdline ? cmdline : "";
    int rc;

    HV_CHECK_ARG(file || size == 0, "file");
    HV_CHECK_ARG(kernel, "kernel");
    HV_CHECK_ARG(placement, "placement");
    HV_CHECK_ARG(bp, "bp");
    HV_CHECK_ARG(guest_ptr, "guest_ptr");
    HV_CHECK_ARG(initrd || p->initrd_bytes == 0, "initrd");
    if (strlen(line) + 1 != p->cmdline_bytes)
        return hv_error_set(HV_E_INVAL, "cmdline",
                            "the command line is %zu bytes, the placement was made for %" PRIu64
                            ": place it again with hv_linux_place()",
                            strlen(line), p->cmdline_bytes ? p->cmdline_bytes - 1 : 0);

    if (kernel->format == HV_LINUX_VMLINUX) {
        if (p->kernel_addr != kernel->elf.base)
            return hv_error_set(HV_E_INVAL, NULL,
                                "the vmlinux is placed at 0x%" PRIx64 ", not at its segments' "
                                "0x%" PRIx64 ": it cannot be relocated",
                                p->kernel_addr, kernel->elf.base);
        rc = hv_elf_load(file, size, &kernel->elf, guest_ptr, ctx);
    } else {
        if (kernel->kernel_offset > size || kernel->kernel_bytes > size - kernel->kernel_offset ||
            p->kernel_bytes != kernel->kernel_bytes)
            return hv_error_set(HV_E_INVAL, NULL,
                                "the kernel description does not match the %zu-byte file: "
                                "check it with hv_linux_bzimage_parse() first",
                                size);
        rc = copy_in(guest_ptr, ctx, p->kernel_addr, (const uint8_t *)file + kernel->kernel_offset,
                     kernel->kernel_bytes, "protected-mode kernel");
    }
    if (rc == 0)
        rc = copy_in(guest_ptr, ctx, p->cmdline_addr, line, p->cmdline_bytes, "command line");
    if (rc == 0)
        rc = copy_in(guest_ptr, ctx, p->initrd_addr, initrd, p->initrd_bytes, "initrd");
    if (rc == 0)
        rc = copy_in(guest_ptr, ctx, p->zero_page_addr, bp, sizeof(*bp), "zero page");
    return rc;
}

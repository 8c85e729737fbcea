/*
 * kvm/linux-boot.h - booting an unmodified Linux kernel directly (internal,
 * pure: no I/O, no ioctls). It owns the x86 boot protocol's side of a Linux
 * guest (the kernel's Documentation/arch/x86/boot.rst): checking a bzImage's
 * setup header or an uncompressed ELF vmlinux (its PVH or 64-bit entry),
 * choosing where the kernel, the zero page, the command line and the initrd
 * go in the guest's RAM, the e820 map of the vNUMA nodes and their holes, the
 * zero page (struct boot_params) itself, and copying all of it into a
 * caller-given view of guest memory. docs/linux-guest.md is the guest's
 * view of the result. vCPU state, the irqchip and ACPI are not here.
 */
#ifndef HV_KVM_LINUX_BOOT_H
#define HV_KVM_LINUX_BOOT_H

#include "kvm/layout.h"
#include "kvm/loader.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- where the engine puts things (docs/linux-guest.md) ---------------- */

/** The zero page (struct boot_params, 4 KiB); rsi at the 64-bit entry. */
#define HV_LINUX_ZERO_PAGE_ADDR UINT64_C(0x7000)
/** Reserved for the vCPU setup: the boot GDT (and an empty IDT). */
#define HV_LINUX_BOOT_GDT_ADDR UINT64_C(0x8000)
/** Reserved for the vCPU setup: the 64-bit entry's identity page tables. */
#define HV_LINUX_PAGE_TABLES_ADDR UINT64_C(0x10000)
#define HV_LINUX_PAGE_TABLES_END  UINT64_C(0x20000)
/** The kernel command line, NUL-terminated, at most HV_LINUX_CMDLINE_MAX bytes with its NUL. */
#define HV_LINUX_CMDLINE_ADDR UINT64_C(0x20000)
#define HV_LINUX_CMDLINE_MAX  UINT64_C(0x10000)
/** [LOW_RESERVED_BASE, HIGH_MIN): the EBDA, VGA, option ROM and BIOS area of a PC: not RAM. */
#define HV_LINUX_LOW_RESERVED_BASE UINT64_C(0x9FC00)
/** The kernel and the initrd go at or above 1 MiB (LOADED_HIGH). */
#define HV_LINUX_HIGH_MIN UINT64_C(0x100000)
/**
 * The 32-bit hole of a Linux guest, [3 GiB, 4 GiB), never RAM (its layout
 * is made with it: hv_kvm_layout_init_with_hole(), RAM past 3 GiB goes on
 * from 4 GiB): the devices' range - the virtio devices' registers from
 * 0xFEB00000 (kvm/acpi.h, HV_KVM_VIRTIO_MMIO_BASE), the I/O APIC at
 * 0xFEC00000, the local APIC at 0xFEE00000, KVM's own pages - and room for
 * more below them.
 */
#define HV_LINUX_HOLE_BASE UINT64_C(0xC0000000)
#define HV_LINUX_HOLE_END  (UINT64_C(1) << 32)

/* ---- the boot protocol (boot.rst; arch/x86/include/uapi/asm/bootparam.h) */

#define HV_LINUX_BOOT_FLAG                  0xAA55     /**< setup_header.boot_flag, at 0x1FE */
#define HV_LINUX_HDRS                       0x53726448 /**< setup_header.header: "HdrS", at 0x202 */
#define HV_LINUX_MIN_VERSION                0x020C     /**< 2.12: xloadflags, the 64-bit entry */
#define HV_LINUX_LOADED_HIGH                0x01 /**< loadflags: the kernel loads at 1 MiB or above */
#define HV_LINUX_XLF_KERNEL_64              0x0001 /**< xloadflags: a 64-bit entry at +0x200 */
#define HV_LINUX_XLF_CAN_BE_LOADED_ABOVE_4G 0x0002
#define HV_LINUX_ENTRY64_OFFSET                                                                    \
    0x200 /**< the 64-bit entry, from the protected-mode kernel's start */
#define HV_LINUX_LOADER_UNDEFINED                                                                  \
    0xFF /**< type_of_loader: a boot loader without an assigned id                                 \
          */
#define HV_LINUX_SETUP_HEADER_OFFSET 0x1F1
#define HV_LINUX_SECTOR              512

#define HV_E820_RAM                  1
#define HV_E820_RESERVED             2
#define HV_E820_ACPI                 3
#define HV_E820_NVS                  4
/** The most e820 entries the zero page holds (E820_MAX_ENTRIES_ZEROPAGE). */
#define HV_E820_MAX_ENTRIES 128

/** struct setup_header: 0x1F1 .. 0x26C of a bzImage and of the zero page. */
typedef struct __attribute__((packed)) hv_linux_setup_header {
    uint8_t setup_sects;
    uint16_t root_flags;
    uint32_t syssize;
    uint16_t ram_size;
    uint16_t vid_mode;
    uint16_t root_dev;
    uint16_t boot_flag;
    uint16_t jump;
    uint32_t header;
    uint16_t version;
    uint32_t realmode_swtch;
    uint16_t start_sys_seg;
    uint16_t kernel_version;
    uint8_t type_of_loader;
    uint8_t loadflags;
    uint16_t setup_move_size;
    uint32_t code32_start;
    uint32_t ramdisk_image;
    uint32_t ramdisk_size;
    uint32_t bootsect_kludge;
    uint16_t heap_end_ptr;
    uint8_t ext_loader_ver;
    uint8_t ext_loader_type;
    uint32_t cmd_line_ptr;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    uint8_t relocatable_kernel;
    uint8_t min_alignment;
    uint16_t xloadflags;
    uint32_t cmdline_size;
    uint32_t hardware_subarch;
    uint64_t hardware_subarch_data;
    uint32_t payload_offset;
    uint32_t payload_length;
    uint64_t setup_data;
    uint64_t pref_address;
    uint32_t init_size;
    uint32_t handover_offset;
    uint32_t kernel_info_offset;
} hv_linux_setup_header;

/** struct boot_e820_entry. */
typedef struct __attribute__((packed)) hv_e820_entry {
    uint64_t addr, size;
    uint32_t type;
} hv_e820_entry;

/** struct boot_params, the zero page: only the fields the engine fills are named. */
typedef struct __attribute__((packed)) hv_linux_boot_params {
    uint8_t screen_info[0x40];       /* 0x000 */
    uint8_t apm_bios_info[0x14];     /* 0x040 */
    uint8_t pad2[4];                 /* 0x054 */
    uint64_t tboot_addr;             /* 0x058 */
    uint8_t ist_info[0x10];          /* 0x060 */
    uint64_t acpi_rsdp_addr;         /* 0x070: protocol 2.14; for lib/kvm/acpi.c */
    uint8_t pad3[8];                 /* 0x078 */
    uint8_t hd0_info[16];            /* 0x080 */
    uint8_t hd1_info[16];            /* 0x090 */
    uint8_t sys_desc_table[0x10];    /* 0x0a0 */
    uint8_t olpc_ofw_header[0x10];   /* 0x0b0 */
    uint32_t ext_ramdisk_image;      /* 0x0c0 */
    uint32_t ext_ramdisk_size;       /* 0x0c4 */
    uint32_t ext_cmd_line_ptr;       /* 0x0c8 */
    uint8_t pad4[112];               /* 0x0cc */
    uint32_t cc_blob_address;        /* 0x13c */
    uint8_t edid_info[0x80];         /* 0x140 */
    uint8_t efi_info[0x20];          /* 0x1c0 */
    uint32_t alt_mem_k;              /* 0x1e0 */
    uint32_t scratch;                /* 0x1e4 */
    uint8_t e820_entries;            /* 0x1e8 */
    uint8_t eddbuf_entries;          /* 0x1e9 */
    uint8_t edd_mbr_sig_buf_entries; /* 0x1ea */
    uint8_t kbd_status;              /* 0x1eb */
    uint8_t secure_boot;             /* 0x1ec */
    uint8_t pad5[2];                 /* 0x1ed */
    uint8_t sentinel;                /* 0x1ef */
    uint8_t pad6[1];                 /* 0x1f0 */
    hv_linux_setup_header hdr;       /* 0x1f1 */
    uint8_t pad7[0x290 - 0x1f1 - sizeof(hv_linux_setup_header)];
    uint32_t edd_mbr_sig_buffer[16];               /* 0x290 */
    hv_e820_entry e820_table[HV_E820_MAX_ENTRIES]; /* 0x2d0 */
    uint8_t pad8[48];                              /* 0xcd0 */
    uint8_t eddbuf[0x1ec];                         /* 0xd00 */
    uint8_t pad9[276];                             /* 0xeec */
} hv_linux_boot_params;

/* ---- a kernel file, checked ------------------------------------------- */

typedef enum hv_linux_format {
    HV_LINUX_BZIMAGE = 1, /**< a bzImage: setup sectors, then the protected-mode kernel */
    HV_LINUX_VMLINUX = 2, /**< an uncompressed ELF vmlinux, loaded at its physical addresses */
} hv_linux_format;

typedef enum hv_linux_entry_kind {
    /** 64-bit mode, rsi = the zero page: a bzImage's startup_64 or a vmlinux's e_entry. */
    HV_LINUX_ENTRY_64 = 1,
    /** 32-bit protected mode, paging off, ebx = an hvm_start_info (XEN_ELFNOTE_PHYS32_ENTRY). */
    HV_LINUX_ENTRY_PVH = 2,
} hv_linux_entry_kind;

typedef struct hv_linux_kernel {
    hv_linux_format format;
    hv_linux_entry_kind entry_kind;
    /**
     * bzImage: the setup header as the file has it (bytes past its end, which
     * older protocols lack, zero). vmlinux: a header made up for the zero
     * page (boot flag, "HdrS", version 2.12, the limits below).
     */
    hv_linux_setup_header hdr;
    uint16_t version;       /**< the boot protocol version (0x020F is 2.15) */
    uint64_t kernel_offset; /**< bzImage: the protected-mode kernel in the file */
    uint64_t kernel_bytes;  /**< bzImage: its length (syssize × 16); vmlinux: end - base */
    uint64_t init_bytes;    /**< memory the kernel needs from its load address (init_size) */
    uint64_t pref_address;  /**< where it asks to be loaded */
    uint64_t alignment;     /**< kernel_alignment, where it is relocatable */
    bool relocatable;
    uint32_t cmdline_max;     /**< the longest command line, without its NUL (cmdline_size) */
    uint32_t initrd_addr_max; /**< the initrd's last byte lies at or below this */
    /** vmlinux: the entry (physical), PVH or 64-bit; bzImage: 0 (load address + 0x200). */
    uint64_t entry;
    hv_elf_image elf; /**< vmlinux: its segments at their physical addresses */
} hv_linux_kernel;

/**
 * Check a bzImage: the boot sector signature, "HdrS", protocol 2.12 or
 * later with a 64-bit entry (XLF_KERNEL_64), LOADED_HIGH, every offset and
 * length against the `size` bytes of the file. HV_E_PARSE names the field
 * and what to do; `what` names the file in messages.
 */
int hv_linux_bzimage_parse(const void *file, size_t size, const char *what,
                           hv_linux_kernel *kernel);

/**
 * Check an uncompressed ELF vmlinux (x86-64 ET_EXEC, loaded at p_paddr) and
 * find its entry: the PVH entry (a PT_NOTE note "Xen" of type 18,
 * XEN_ELFNOTE_PHYS32_ENTRY) when it has one, else e_entry for the 64-bit
 * entry. HV_E_PARSE as hv_elf_parse().
 */
int hv_linux_vmlinux_parse(const void *file, size_t size, const char *what,
                           hv_linux_kernel *kernel);

/** bzImage or vmlinux, told apart by their first bytes. */
int hv_linux_kernel_parse(const void *file, size_t size, const char *what, hv_linux_kernel *kernel);

/* ---- where everything goes -------------------------------------------- */

typedef struct hv_linux_placement {
    uint64_t kernel_addr;  /**< the protected-mode kernel (vmlinux: its lowest segment) */
    uint64_t kernel_bytes; /**< what is copied there (vmlinux: the segments' span) */
    uint64_t kernel_end;   /**< kernel_addr + init_bytes: nothing else goes below this */
    uint64_t entry;        /**< the first instruction (64-bit: kernel_addr + 0x200 for a bzImage) */
    uint64_t zero_page_addr;
    uint64_t cmdline_addr, cmdline_bytes; /**< with its NUL */
    uint64_t initrd_addr, initrd_bytes;   /**< 0, 0 without an initrd */
} hv_linux_placement;

/**
 * Place the kernel in vNUMA node 0: at pref_address when [pref_address,
 * + init_size) is RAM of node 0 at or above 1 MiB, else (relocatable
 * kernels) at the lowest kernel_alignment-aligned address where it is; the
 * command line at HV_LINUX_CMDLINE_ADDR (at most cmdline_size bytes); the
 * initrd page-aligned, as high as it fits in one node's RAM at or above
 * 1 MiB with its last byte at or below initrd_addr_max, outside the kernel's
 * [kernel_addr, kernel_end). The layout must leave [HV_LINUX_HOLE_BASE,
 * 4 GiB) free of RAM. HV_E_RANGE says what does not fit and what to change.
 */
int hv_linux_place(const hv_linux_kernel *kernel, const hv_kvm_layout *layout, size_t cmdline_len,
                   uint64_t initrd_bytes, hv_linux_placement *placement);

/**
 * The e820 map of `layout`: every node's RAM (adjacent RAM merged), with
 * [HV_LINUX_LOW_RESERVED_BASE, 1 MiB) reserved, and the MMIO window
 * reserved; the gaps between nodes are in no entry. Sorted, non-overlapping.
 * HV_E_RANGE when more than `max` entries are needed.
 */
int hv_linux_e820_build(const hv_kvm_layout *layout, hv_e820_entry *table, size_t max,
                        size_t *count);

/**
 * Fill the zero page: zeroed, the setup header copied from the kernel, then
 * type_of_loader 0xFF, LOADED_HIGH added to loadflags, code32_start, no
 * setup_data, the command line and initrd pointers (their high halves in
 * ext_*), and the e820 map.
 */
int hv_linux_boot_params_build(hv_linux_boot_params *bp, const hv_linux_kernel *kernel,
                               const hv_kvm_layout *layout, const hv_linux_placement *placement);

/**
 * Copy the kernel (a bzImage's protected-mode part, or a vmlinux's
 * segments with their tails zeroed), the command line with its NUL, the
 * initrd and the zero page `bp` into guest memory where `placement` says.
 * `cmdline` and `initrd` must be what the placement was made for.
 */
int hv_linux_load(const void *file, size_t size, const hv_linux_kernel *kernel,
                  const hv_linux_placement *placement, const char *cmdline, const void *initrd,
                  const hv_linux_boot_params *bp, hv_guest_ptr_fn guest_ptr, void *ctx);

#endif

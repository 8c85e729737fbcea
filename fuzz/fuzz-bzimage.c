/*
 * fuzz/fuzz-bzimage.c - libFuzzer target for the Linux boot protocol
 * (lib/kvm/linux-boot.h): a bzImage's setup header (or, when the input
 * starts with the ELF magic, a vmlinux) through hv_linux_kernel_parse(). A
 * rejected file leaves an HV_E_PARSE error that matches the return and an
 * empty description. An accepted one describes a kernel inside the file;
 * it is then placed in a fixed two-node layout (a command line and an
 * initrd sized from the input's last bytes), which either fails with
 * HV_E_RANGE or obeys the placement rules; its zero page and e820 map are
 * built and everything is loaded into a fake guest memory.
 */
#include "fuzz.h"
#include "kvm/layout.h"
#include "kvm/linux-boot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>

#define SCRATCH_BYTES (256u << 10)

/* One buffer stands for every range of guest RAM the loader asks for (contents are not checked). */
typedef struct fake_guest {
    const hv_kvm_layout *layout;
    uint8_t *scratch;
} fake_guest;

static uint8_t *guest_ptr(void *ctx, uint64_t addr, uint64_t bytes)
{
    fake_guest *g = ctx;

    CHECK(hv_kvm_layout_node_of(g->layout, addr, bytes) >= 0);
    return bytes <= SCRATCH_BYTES ? g->scratch : NULL;
}

static void check_kernel(const hv_linux_kernel *k, size_t size)
{
    if (k->format == HV_LINUX_BZIMAGE) {
        CHECK(k->entry_kind == HV_LINUX_ENTRY_64);
        CHECK(k->hdr.boot_flag == HV_LINUX_BOOT_FLAG && k->hdr.header == HV_LINUX_HDRS);
        CHECK(k->version >= HV_LINUX_MIN_VERSION && k->version == k->hdr.version);
        CHECK(k->kernel_offset >= 2 * HV_LINUX_SECTOR && k->kernel_offset % HV_LINUX_SECTOR == 0);
        CHECK(k->kernel_bytes > 0 && k->kernel_offset <= size);
        CHECK(k->kernel_bytes <= size - k->kernel_offset);
        CHECK(k->hdr.xloadflags & HV_LINUX_XLF_KERNEL_64);
        CHECK(k->hdr.loadflags & HV_LINUX_LOADED_HIGH);
        CHECK(!k->relocatable ||
              (k->alignment >= 4096 && (k->alignment & (k->alignment - 1)) == 0));
    } else {
        CHECK(k->format == HV_LINUX_VMLINUX);
        CHECK(k->entry >= k->elf.base && k->entry < k->elf.end);
        CHECK(k->kernel_bytes == k->elf.end - k->elf.base && !k->relocatable);
    }
    CHECK(k->init_bytes >= k->kernel_bytes);
    CHECK(k->pref_address % 4096 == 0);
}

static void check_placement(const hv_linux_kernel *k, const hv_kvm_layout *layout,
                            const hv_linux_placement *p, size_t cmdline_len, uint64_t initrd)
{
    CHECK(p->kernel_addr >= HV_LINUX_HIGH_MIN && p->kernel_end > p->kernel_addr);
    CHECK(hv_kvm_layout_node_of(layout, p->kernel_addr, p->kernel_end - p->kernel_addr) == 0);
    CHECK(!k->relocatable || p->kernel_addr == k->pref_address ||
          p->kernel_addr % k->alignment == 0);
    CHECK(k->relocatable || p->kernel_addr == k->pref_address);
    CHECK(p->cmdline_bytes == cmdline_len + 1 && cmdline_len <= k->cmdline_max);
    CHECK(p->initrd_bytes == initrd);
    if (initrd) {
        CHECK(p->initrd_addr % 4096 == 0 && p->initrd_addr >= HV_LINUX_HIGH_MIN);
        CHECK(hv_kvm_layout_node_of(layout, p->initrd_addr, initrd) >= 0);
        CHECK(p->initrd_addr + initrd - 1 <= k->initrd_addr_max);
        CHECK(p->initrd_addr + initrd <= p->kernel_addr || p->initrd_addr >= p->kernel_end);
    }
}

static void check_zero_page(const hv_linux_boot_params *bp, const hv_linux_placement *p)
{
    CHECK(bp->hdr.type_of_loader == HV_LINUX_LOADER_UNDEFINED && bp->hdr.setup_data == 0);
    CHECK(bp->hdr.cmd_line_ptr == p->cmdline_addr && bp->hdr.ramdisk_image == p->initrd_addr);
    CHECK(bp->e820_entries >= 3 && bp->e820_entries <= HV_E820_MAX_ENTRIES);
    for (size_t i = 1; i < bp->e820_entries; i++)
        CHECK(bp->e820_table[i - 1].addr + bp->e820_table[i - 1].size <= bp->e820_table[i].addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* node 0: 64 MiB, node 1: 32 MiB (bases 0 and 64 MiB) */
    static const hv_kvm_node_request nodes[2] = {
        {.bytes = 64u << 20, .vcpu_count = 1, .page_bytes = 4096, .host_node = -1},
        {.bytes = 32u << 20, .vcpu_count = 1, .page_bytes = 2u << 20, .host_node = -1},
    };
    static hv_linux_boot_params bp;
    static char cmdline[4096 * 4];
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;
    fake_guest g = {.layout = &layout};
    size_t cmdline_len = size >= 1 ? (size_t)data[size - 1] * 16 : 0;
    uint64_t initrd = size >= 2 ? (uint64_t)data[size - 2] * 4096 + (size & 0xFFF) : 0;
    uint8_t *initrd_bytes;
    int rc;

    hv_error_clear();
    rc = hv_linux_kernel_parse(data, size, "fuzz.bz", &k);
    if (rc < 0) {
        CHECK(rc == HV_E_PARSE);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        CHECK(strncmp(hv_error_message(hv_error_last()), "fuzz.bz: ", 9) == 0);
        CHECK(k.format == 0);
        return 0;
    }
    CHECK(rc == 0);
    check_kernel(&k, size);

    CHECK(hv_kvm_layout_init(&layout, nodes, 2) == 0);
    rc = hv_linux_place(&k, &layout, cmdline_len, initrd, &p);
    if (rc < 0) {
        CHECK(rc == HV_E_RANGE);
        CHECK(p.kernel_addr == 0 && p.cmdline_bytes == 0);
        return 0;
    }
    check_placement(&k, &layout, &p, cmdline_len, initrd);
    CHECK(hv_linux_boot_params_build(&bp, &k, &layout, &p) == 0);
    check_zero_page(&bp, &p);

    memset(cmdline, 'a', cmdline_len);
    cmdline[cmdline_len] = '\0';
    g.scratch = malloc(SCRATCH_BYTES);
    initrd_bytes = initrd ? calloc(1, (size_t)initrd) : NULL;
    if (g.scratch && (initrd_bytes || !initrd)) {
        rc = hv_linux_load(data, size, &k, &p, cmdline, initrd_bytes, &bp, guest_ptr, &g);
        /* fails only where a piece is larger than the fake memory hands out */
        CHECK(rc == 0 || (rc == HV_E_RANGE && (p.kernel_end - p.kernel_addr > SCRATCH_BYTES ||
                                               initrd > SCRATCH_BYTES)));
    }
    free(initrd_bytes);
    free(g.scratch);
    return 0;
}

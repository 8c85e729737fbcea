/*
 * kvm/pagetable.c - the identity page tables of a guest: a PML4, then PDPTs
 * and PDs allocated one after another in the buffer that becomes guest
 * physical HV_GUEST_PAGE_TABLES_ADDR. Each node's RAM and the stray-MMIO
 * window are mapped with 1 GiB pages where a whole aligned GiB lies in one
 * range (and the CPU has them), else with 2 MiB pages. Entries are written
 * with memcpy: the buffer need not be aligned.
 */
#include "kvm/pagetable.h"
#include "core/error.h"

#include <inttypes.h>
#include <string.h>
#include <hpcvirt/guest.h>
#include <hpcvirt/size.h>

#define TABLE_BYTES  4096u
#define TABLE_FLAGS  (HV_PTE_PRESENT | HV_PTE_WRITABLE | HV_PTE_USER)
#define LEAF_FLAGS   (TABLE_FLAGS | HV_PTE_PS)
#define MMIO_FLAGS   (LEAF_FLAGS | HV_PTE_PWT | HV_PTE_PCD)
#define ADDR_MASK    UINT64_C(0x000ffffffffff000)
#define PAGE_2M      (UINT64_C(1) << 21)
#define PAGE_1G      (UINT64_C(1) << 30)
#define TABLES_SPACE ((size_t)(HV_GUEST_LOAD_MIN - HV_GUEST_PAGE_TABLES_ADDR))

typedef struct builder {
    uint8_t *buf;
    size_t cap;  /* usable bytes, a multiple of TABLE_BYTES */
    size_t used; /* tables allocated so far */
} builder;

static uint64_t get_entry(const uint8_t *table, unsigned int index)
{
    uint64_t e;

    memcpy(&e, table + (size_t)index * 8, sizeof(e));
    return e;
}

static void set_entry(uint8_t *table, unsigned int index, uint64_t e)
{
    memcpy(table + (size_t)index * 8, &e, sizeof(e));
}

static int overlap_error(uint64_t addr)
{
    return hv_error_set(HV_E_INVAL, NULL,
                        "the guest memory layout maps 0x%" PRIx64 " twice: its ranges overlap; "
                        "build it with hv_kvm_layout_init()",
                        addr);
}

/*
 * The offset in buf of the table that entry `index` of the table at `off`
 * points to, allocated (zeroed) when not present yet. 1 when buf is full.
 */
static int child(builder *b, size_t off, unsigned int index, uint64_t addr, size_t *child_off)
{
    uint64_t e = get_entry(b->buf + off, index);

    if (e & HV_PTE_PRESENT) {
        if (e & HV_PTE_PS)
            return overlap_error(addr);
        *child_off = (size_t)((e & ADDR_MASK) - HV_GUEST_PAGE_TABLES_ADDR);
        return 0;
    }
    if (b->cap - b->used < TABLE_BYTES)
        return 1;
    memset(b->buf + b->used, 0, TABLE_BYTES);
    set_entry(b->buf + off, index, (HV_GUEST_PAGE_TABLES_ADDR + (uint64_t)b->used) | TABLE_FLAGS);
    *child_off = b->used;
    b->used += TABLE_BYTES;
    return 0;
}

/* Map one 1 GiB or 2 MiB page at addr (identity). */
static int map_page(builder *b, uint64_t addr, uint64_t page, uint64_t flags)
{
    size_t pdpt, pd, table;
    unsigned int index;
    int rc;

    rc = child(b, 0, (unsigned int)(addr >> 39) & 511, addr, &pdpt);
    if (rc != 0)
        return rc;
    index = (unsigned int)(addr >> 30) & 511;
    if (page == PAGE_1G) {
        table = pdpt;
    } else {
        rc = child(b, pdpt, index, addr, &pd);
        if (rc != 0)
            return rc;
        table = pd;
        index = (unsigned int)(addr >> 21) & 511;
    }
    if (get_entry(b->buf + table, index) & HV_PTE_PRESENT)
        return overlap_error(addr);
    set_entry(b->buf + table, index, addr | flags);
    return 0;
}

static int map_range(builder *b, uint64_t base, uint64_t bytes, bool gib_pages, uint64_t flags)
{
    uint64_t addr = base, end;

    if (base % PAGE_2M != 0 || bytes % PAGE_2M != 0 || bytes > HV_KVM_ADDR_LIMIT ||
        base > HV_KVM_ADDR_LIMIT - bytes)
        return hv_error_set(HV_E_INVAL, NULL,
                            "the guest memory range [0x%" PRIx64 ", +0x%" PRIx64
                            ") is not 2 MiB-aligned or ends beyond 256 TiB: build the layout "
                            "with hv_kvm_layout_init()",
                            base, bytes);
    end = base + bytes;
    while (addr < end) {
        uint64_t page =
            gib_pages && addr % PAGE_1G == 0 && end - addr >= PAGE_1G ? PAGE_1G : PAGE_2M;
        int rc = map_page(b, addr, page, flags);

        if (rc != 0)
            return rc;
        addr += page;
    }
    return 0;
}

static int too_small(const builder *b, const hv_kvm_layout *layout)
{
    char ram[32];
    size_t tables = b->cap / TABLE_BYTES;
    /* a PML4, a PDPT and one PD per GiB, one of them for the MMIO window */
    uint64_t fits = tables > 3 ? tables - 3 : 0;

    hv_size_format(layout->memory_bytes, ram, sizeof(ram));
    return hv_error_set(HV_E_RANGE, NULL,
                        "the page tables for %s of guest RAM do not fit the %zu KiB the engine "
                        "has for them: with 2 MiB pages they map about %" PRIu64
                        " GiB of RAM; 1 GiB pages (a host CPU with pdpe1gb) avoid this, or give "
                        "the guest less memory",
                        ram, b->cap / 1024, fits);
}

int hv_pagetable_build(uint8_t *buf, size_t buf_bytes, const hv_kvm_layout *layout, bool gib_pages,
                       uint64_t *cr3, size_t *used_bytes)
{
    builder b;
    int rc = 0;

    HV_CHECK_ARG(buf, "buf");
    HV_CHECK_ARG(layout, "layout");
    HV_CHECK_ARG(cr3, "cr3");
    HV_CHECK_ARG(used_bytes, "used_bytes");
    if (layout->node_count == 0 || layout->node_count > HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_pagetable_build: the layout has %zu nodes: build it with "
                            "hv_kvm_layout_init()",
                            layout->node_count);

    b.buf = buf;
    b.cap = (buf_bytes < TABLES_SPACE ? buf_bytes : TABLES_SPACE) / TABLE_BYTES * TABLE_BYTES;
    b.used = 0;
    if (b.cap < TABLE_BYTES)
        return too_small(&b, layout);
    memset(buf, 0, TABLE_BYTES);
    b.used = TABLE_BYTES;

    for (size_t i = 0; i < layout->node_count && rc == 0; i++)
        rc = map_range(&b, layout->nodes[i].base, layout->nodes[i].bytes, gib_pages, LEAF_FLAGS);
    if (rc == 0 && layout->mmio_bytes)
        rc = map_range(&b, layout->mmio_base, layout->mmio_bytes, gib_pages, MMIO_FLAGS);
    if (rc == 1)
        return too_small(&b, layout);
    if (rc < 0)
        return rc;
    *cr3 = HV_GUEST_PAGE_TABLES_ADDR;
    *used_bytes = b.used;
    return 0;
}

bool hv_pagetable_translate(const uint8_t *buf, size_t buf_bytes, uint64_t cr3, uint64_t vaddr,
                            uint64_t *paddr, uint64_t *page_bytes, uint64_t *flags)
{
    static const unsigned int shifts[] = {39, 30, 21, 12};
    uint64_t table = cr3 & ADDR_MASK;

    if (!buf || buf_bytes < TABLE_BYTES || vaddr >= HV_KVM_ADDR_LIMIT)
        return false;
    for (unsigned int level = 0; level < 4; level++) {
        unsigned int shift = shifts[level];
        uint64_t e, size;

        if (table < HV_GUEST_PAGE_TABLES_ADDR ||
            table - HV_GUEST_PAGE_TABLES_ADDR > buf_bytes - TABLE_BYTES)
            return false;
        e = get_entry(buf + (table - HV_GUEST_PAGE_TABLES_ADDR),
                      (unsigned int)(vaddr >> shift) & 511);
        if (!(e & HV_PTE_PRESENT))
            return false;
        if (level == 3 || (level > 0 && (e & HV_PTE_PS))) {
            size = UINT64_C(1) << shift;
            if (paddr)
                *paddr = (e & ADDR_MASK & ~(size - 1)) | (vaddr & (size - 1));
            if (page_bytes)
                *page_bytes = size;
            if (flags)
                *flags = e & (UINT64_C(0xfff) | HV_PTE_NX);
            return true;
        }
        table = e & ADDR_MASK;
    }
    return false;
}

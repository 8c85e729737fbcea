/*
 * tests/kvm/test-pagetable.c - the guest's identity page tables: the table
 * entries themselves, every GiB boundary translated, 2 MiB against 1 GiB
 * pages, the uncached MMIO window, addresses up to 256 TiB, and the
 * refusals (buffer too small, overlapping or unaligned ranges).
 */
#include "hv-test.h"
#include "kvm/pagetable.h"

#include <hpcvirt/guest.h>

#define MiB(n)    ((uint64_t)(n) << 20)
#define GiB(n)    ((uint64_t)(n) << 30)
#define TiB(n)    ((uint64_t)(n) << 40)

#define SPACE     ((size_t)(HV_GUEST_LOAD_MIN - HV_GUEST_PAGE_TABLES_ADDR))
#define RAM_FLAGS (HV_PTE_PRESENT | HV_PTE_WRITABLE | HV_PTE_USER | HV_PTE_PS)
#define IO_FLAGS  (RAM_FLAGS | HV_PTE_PWT | HV_PTE_PCD)

static uint64_t entry(const uint8_t *buf, size_t table, unsigned int index)
{
    uint64_t e;

    memcpy(&e, buf + table * 4096 + index * 8, 8);
    return e;
}

static hv_kvm_node_request req(uint64_t bytes, uint64_t page)
{
    hv_kvm_node_request r = {.bytes = bytes, .vcpu_count = 1, .page_bytes = page, .host_node = -1};

    return r;
}

static void make_layout(hv_kvm_layout *l, const hv_kvm_node_request *nodes, size_t n)
{
    assert_hv_ok(hv_kvm_layout_init(l, nodes, n));
}

/* vaddr maps to itself with this page size and these flags. */
static void assert_identity(const uint8_t *buf, uint64_t vaddr, uint64_t page, uint64_t flags)
{
    uint64_t paddr = 0, got_page = 0, got_flags = 0;

    if (!hv_pagetable_translate(buf, SPACE, HV_GUEST_PAGE_TABLES_ADDR, vaddr, &paddr, &got_page,
                                &got_flags))
        fail_msg("0x%llx is not mapped", (unsigned long long)vaddr);
    if (paddr != vaddr || got_page != page || got_flags != flags)
        fail_msg("0x%llx -> 0x%llx, page 0x%llx, flags 0x%llx; expected page 0x%llx flags 0x%llx",
                 (unsigned long long)vaddr, (unsigned long long)paddr, (unsigned long long)got_page,
                 (unsigned long long)got_flags, (unsigned long long)page,
                 (unsigned long long)flags);
}

static void assert_unmapped(const uint8_t *buf, uint64_t vaddr)
{
    uint64_t paddr;

    if (hv_pagetable_translate(buf, SPACE, HV_GUEST_PAGE_TABLES_ADDR, vaddr, &paddr, NULL, NULL))
        fail_msg("0x%llx is mapped (to 0x%llx)", (unsigned long long)vaddr,
                 (unsigned long long)paddr);
}

static int setup(void **state)
{
    *state = malloc(SPACE);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* 2 x 1 GiB with 2 MiB pages: a PML4, a PDPT and three PDs (two nodes, MMIO). */
static void test_two_nodes_2m(void **state)
{
    uint8_t *buf = *state;
    hv_kvm_node_request nodes[2] = {req(GiB(1), MiB(2)), req(GiB(1), MiB(2))};
    hv_kvm_layout l;
    uint64_t cr3 = 0;
    size_t used = 0;

    make_layout(&l, nodes, 2);
    memset(buf, 0xee, SPACE);
    assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, false, &cr3, &used));
    assert_true(cr3 == HV_GUEST_PAGE_TABLES_ADDR);
    assert_int_equal(used, 5 * 4096);

    assert_true(entry(buf, 0, 0) == (0x11000 | 0x7));
    for (unsigned int i = 1; i < 512; i++)
        assert_true(entry(buf, 0, i) == 0);
    assert_true(entry(buf, 1, 0) == (0x12000 | 0x7));
    assert_true(entry(buf, 1, 1) == (0x13000 | 0x7));
    assert_true(entry(buf, 1, 2) == (0x14000 | 0x7));
    assert_true(entry(buf, 1, 3) == 0);
    for (unsigned int i = 0; i < 512; i++) {
        assert_true(entry(buf, 2, i) == (MiB(2) * i | 0x87));
        assert_true(entry(buf, 3, i) == ((GiB(1) + MiB(2) * i) | 0x87));
        assert_true(entry(buf, 4, i) == ((GiB(2) + MiB(2) * i) | 0x9f));
    }
    /* the rest of the buffer is not touched */
    assert_int_equal(buf[5 * 4096], 0xee);

    assert_identity(buf, 0, MiB(2), RAM_FLAGS);
    assert_identity(buf, 0x12345678, MiB(2), RAM_FLAGS);
    assert_identity(buf, GiB(1) - 1, MiB(2), RAM_FLAGS);
    assert_identity(buf, GiB(1), MiB(2), RAM_FLAGS);
    assert_identity(buf, GiB(2) - 1, MiB(2), RAM_FLAGS);
    assert_identity(buf, GiB(2), MiB(2), IO_FLAGS);
    assert_identity(buf, GiB(3) - 1, MiB(2), IO_FLAGS);
    assert_unmapped(buf, GiB(3));
    assert_unmapped(buf, GiB(512));
    assert_unmapped(buf, TiB(256) - 1);
}

/* The same with 1 GiB pages: only a PML4 and a PDPT. */
static void test_two_nodes_1g(void **state)
{
    uint8_t *buf = *state;
    hv_kvm_node_request nodes[2] = {req(GiB(1), MiB(2)), req(GiB(1), GiB(1))};
    hv_kvm_layout l;
    uint64_t cr3;
    size_t used;

    make_layout(&l, nodes, 2);
    assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used));
    assert_int_equal(used, 2 * 4096);
    assert_true(entry(buf, 1, 0) == (0 | 0x87));
    assert_true(entry(buf, 1, 1) == (GiB(1) | 0x87));
    assert_true(entry(buf, 1, 2) == (GiB(2) | 0x9f));
    assert_identity(buf, 0, GiB(1), RAM_FLAGS);
    assert_identity(buf, GiB(1) + 12345, GiB(1), RAM_FLAGS);
    assert_identity(buf, GiB(2) + 1, GiB(1), IO_FLAGS);
    assert_unmapped(buf, GiB(3));
}

/* Every GiB boundary of a 16 GiB node, either page size. */
static void test_every_gib(void **state)
{
    uint8_t *buf = *state;
    hv_kvm_node_request node = req(GiB(16), MiB(2));
    hv_kvm_layout l;
    uint64_t cr3;
    size_t used;

    make_layout(&l, &node, 1);
    for (int gib = 0; gib < 2; gib++) {
        uint64_t page = gib ? GiB(1) : MiB(2);

        assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, gib, &cr3, &used));
        assert_int_equal(used, gib ? 2 * 4096 : (2 + 17) * 4096);
        for (uint64_t g = 0; g <= 17; g++) {
            if (g > 0)
                assert_identity(buf, GiB(g) - 1, page, g <= 16 ? RAM_FLAGS : IO_FLAGS);
            if (g < 16)
                assert_identity(buf, GiB(g), page, RAM_FLAGS);
            else if (g == 16)
                assert_identity(buf, GiB(g), page, IO_FLAGS);
            else
                assert_unmapped(buf, GiB(g));
            if (g < 16)
                assert_identity(buf, GiB(g) + MiB(2) + 7, page, RAM_FLAGS);
        }
    }
}

/* 1 GiB pages only where a whole aligned GiB lies in one range. */
static void test_mixed_pages(void **state)
{
    uint8_t *buf = *state;
    hv_kvm_layout l;
    uint64_t cr3;
    size_t used;

    {
        /* 1.5 GiB node 0, 1 GiB node 1 at 2 GiB (1 GiB pages), MMIO at 3 GiB */
        hv_kvm_node_request nodes[2] = {req(MiB(1536), MiB(2)), req(GiB(1), GiB(1))};

        make_layout(&l, nodes, 2);
        assert_true(l.nodes[1].base == GiB(2));
        assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used));
        assert_int_equal(used, 3 * 4096);
        assert_identity(buf, 0, GiB(1), RAM_FLAGS);
        assert_identity(buf, GiB(1), MiB(2), RAM_FLAGS);
        assert_identity(buf, MiB(1536) - 1, MiB(2), RAM_FLAGS);
        assert_unmapped(buf, MiB(1536));
        assert_unmapped(buf, GiB(2) - 1);
        assert_identity(buf, GiB(2), GiB(1), RAM_FLAGS);
        assert_identity(buf, GiB(3), GiB(1), IO_FLAGS);
        assert_unmapped(buf, GiB(4));
    }
    {
        /* node 1 from 4 MiB for 2 GiB: only [1 GiB, 2 GiB) is a whole GiB */
        hv_kvm_node_request nodes[2] = {req(MiB(4), MiB(2)), req(GiB(2), MiB(2))};

        make_layout(&l, nodes, 2);
        assert_true(l.nodes[1].base == MiB(4));
        assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used));
        assert_int_equal(used, 4 * 4096); /* PML4, PDPT, PD for GiB 0, PD for GiB 2 */
        assert_identity(buf, 0, MiB(2), RAM_FLAGS);
        assert_identity(buf, MiB(4), MiB(2), RAM_FLAGS);
        assert_identity(buf, GiB(1) - 1, MiB(2), RAM_FLAGS);
        assert_identity(buf, GiB(1), GiB(1), RAM_FLAGS);
        assert_identity(buf, GiB(2), MiB(2), RAM_FLAGS);
        assert_identity(buf, GiB(2) + MiB(4) - 1, MiB(2), RAM_FLAGS);
        assert_unmapped(buf, GiB(2) + MiB(4));
        assert_identity(buf, GiB(3), GiB(1), IO_FLAGS);
    }
    {
        /* two ranges that together cover GiB 0 still get 2 MiB pages */
        hv_kvm_node_request nodes[2] = {req(MiB(512), MiB(2)), req(MiB(512), MiB(2))};

        make_layout(&l, nodes, 2);
        assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used));
        assert_identity(buf, 0, MiB(2), RAM_FLAGS);
        assert_identity(buf, MiB(512), MiB(2), RAM_FLAGS);
        assert_identity(buf, GiB(1), GiB(1), IO_FLAGS);
    }
}

/* Past 512 GiB a second PDPT; the most RAM 2 MiB pages can map. */
static void test_large(void **state)
{
    uint8_t *buf = *state;
    hv_kvm_node_request node = req(GiB(600), GiB(1));
    hv_kvm_layout l;
    uint64_t cr3;
    size_t used;

    make_layout(&l, &node, 1);
    assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used));
    assert_int_equal(used, 3 * 4096);
    assert_identity(buf, GiB(511), GiB(1), RAM_FLAGS);
    assert_identity(buf, GiB(512) - 1, GiB(1), RAM_FLAGS);
    assert_identity(buf, GiB(512), GiB(1), RAM_FLAGS);
    assert_identity(buf, GiB(599) + 5, GiB(1), RAM_FLAGS);
    assert_identity(buf, GiB(600), GiB(1), IO_FLAGS);
    assert_unmapped(buf, GiB(601));

    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, false, &cr3, &used), HV_E_RANGE);
    assert_error_mentions("the page tables for 600 GiB of guest RAM do not fit the 1984 KiB");
    assert_error_mentions("with 2 MiB pages they map about 493 GiB of RAM");
    assert_error_mentions("1 GiB pages (a host CPU with pdpe1gb) avoid this");

    /* 493 GiB is the most: PML4 + PDPT + 493 PDs + the MMIO window's PD = 496 pages */
    node = req(GiB(493), MiB(2));
    make_layout(&l, &node, 1);
    assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, false, &cr3, &used));
    assert_int_equal(used, SPACE);
    assert_identity(buf, GiB(493) - 1, MiB(2), RAM_FLAGS);
    assert_identity(buf, GiB(494) - 1, MiB(2), IO_FLAGS);
    node = req(GiB(493) + MiB(2), MiB(2));
    make_layout(&l, &node, 1);
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, false, &cr3, &used), HV_E_RANGE);
}

/* Layouts made by hand: the top of the 256 TiB, overlaps, misalignment. */
static void test_hand_layouts(void **state)
{
    uint8_t *buf = *state;
    hv_kvm_layout l;
    uint64_t cr3;
    size_t used;

    memset(&l, 0, sizeof(l));
    l.node_count = 2;
    l.nodes[0].bytes = MiB(4);
    l.nodes[1].base = TiB(256) - GiB(2);
    l.nodes[1].bytes = GiB(1);
    l.mmio_base = TiB(256) - GiB(1);
    l.mmio_bytes = GiB(1);
    assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used));
    assert_int_equal(used, 4 * 4096);
    assert_identity(buf, MiB(4) - 1, MiB(2), RAM_FLAGS);
    assert_unmapped(buf, MiB(4));
    assert_identity(buf, TiB(256) - GiB(2), GiB(1), RAM_FLAGS);
    assert_identity(buf, TiB(256) - 1, GiB(1), IO_FLAGS);
    assert_unmapped(buf, TiB(256));
    assert_unmapped(buf, UINT64_MAX);
    assert_true(entry(buf, 0, 511) == (0x13000 | 0x7));
    assert_hv_ok(hv_pagetable_build(buf, SPACE, &l, false, &cr3, &used));
    assert_identity(buf, TiB(256) - 1, MiB(2), IO_FLAGS);

    l.mmio_base = TiB(256);
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used), HV_E_INVAL);
    assert_error_mentions("ends beyond 256 TiB");
    l.mmio_base = UINT64_MAX - GiB(1) + 1;
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used), HV_E_INVAL);
    l.mmio_base = GiB(1);

    l.nodes[1].base = MiB(2);
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, false, &cr3, &used), HV_E_INVAL);
    assert_error_mentions("maps 0x200000 twice");
    l.nodes[0].bytes = GiB(1);
    l.nodes[1].bytes = MiB(2);
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used), HV_E_INVAL);
    assert_error_mentions("maps 0x200000 twice");
    l.nodes[1].base = 0;
    l.nodes[1].bytes = GiB(1);
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used), HV_E_INVAL);
    assert_error_mentions("maps 0x0 twice");
    l.nodes[1].base = GiB(8) + 4096;
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used), HV_E_INVAL);
    assert_error_mentions("not 2 MiB-aligned");
    l.nodes[1].base = GiB(8);
    l.nodes[1].bytes = MiB(1);
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used), HV_E_INVAL);

    l.node_count = 0;
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used), HV_E_INVAL);
    l.node_count = HV_KVM_MAX_NODES + 1;
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, &used), HV_E_INVAL);
    l.node_count = 1;
    assert_hv_error(hv_pagetable_build(NULL, SPACE, &l, true, &cr3, &used), HV_E_INVAL);
    assert_hv_error(hv_pagetable_build(buf, SPACE, NULL, true, &cr3, &used), HV_E_INVAL);
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, NULL, &used), HV_E_INVAL);
    assert_hv_error(hv_pagetable_build(buf, SPACE, &l, true, &cr3, NULL), HV_E_INVAL);
}

static void test_too_small(void **state)
{
    uint8_t *buf = *state;
    uint8_t *big;
    hv_kvm_node_request node = req(GiB(16), MiB(2));
    hv_kvm_layout l;
    uint64_t cr3 = 0;
    size_t used = 0;

    make_layout(&l, &node, 1);
    assert_hv_error(hv_pagetable_build(buf, 8 * 4096, &l, false, &cr3, &used), HV_E_RANGE);
    assert_error_mentions("16 GiB of guest RAM do not fit the 32 KiB");
    assert_error_mentions("map about 5 GiB of RAM");
    assert_true(cr3 == 0 && used == 0);
    /* a partial last table does not count */
    assert_hv_error(hv_pagetable_build(buf, 8 * 4096 + 4095, &l, false, &cr3, &used), HV_E_RANGE);
    assert_error_mentions("the 32 KiB");
    assert_hv_error(hv_pagetable_build(buf, 100, &l, true, &cr3, &used), HV_E_RANGE);
    assert_error_mentions("do not fit the 0 KiB");
    assert_hv_error(hv_pagetable_build(buf, 0, &l, true, &cr3, &used), HV_E_RANGE);
    /* the PML4 alone is not enough, with 1 GiB pages 2 tables are */
    assert_hv_error(hv_pagetable_build(buf, 4096, &l, true, &cr3, &used), HV_E_RANGE);
    assert_hv_ok(hv_pagetable_build(buf, 2 * 4096, &l, true, &cr3, &used));
    assert_int_equal(used, 2 * 4096);

    /* no more than the space below HV_GUEST_LOAD_MIN is used, however big buf is */
    node = req(GiB(600), MiB(2));
    make_layout(&l, &node, 1);
    big = malloc(2 * SPACE);
    assert_non_null(big);
    assert_hv_error(hv_pagetable_build(big, 2 * SPACE, &l, false, &cr3, &used), HV_E_RANGE);
    assert_error_mentions("the 1984 KiB");
    free(big);
}

/* The walker on tables built by hand: 4 KiB pages, NX, tables outside buf. */
static void test_translate(void **state)
{
    uint8_t *buf = *state;
    uint64_t e, paddr, page, flags;

    memset(buf, 0, 4 * 4096);
    e = 0x11000 | 0x7;
    memcpy(buf + 0, &e, 8);
    e = 0x12000 | 0x7;
    memcpy(buf + 4096, &e, 8);
    e = 0x13000 | 0x7;
    memcpy(buf + 2 * 4096, &e, 8); /* PD[0] -> a page table */
    e = 0x900000 | 0x7;
    memcpy(buf + 2 * 4096 + 8, &e, 8); /* PD[1] -> outside buf */
    e = 0xabc000 | 0x5 | HV_PTE_NX;
    memcpy(buf + 3 * 4096 + 5 * 8, &e, 8);

    assert_true(hv_pagetable_translate(buf, 4 * 4096, HV_GUEST_PAGE_TABLES_ADDR, 0x5123, &paddr,
                                       &page, &flags));
    assert_true(paddr == 0xabc123);
    assert_true(page == 4096);
    assert_true(flags == (0x5 | HV_PTE_NX));
    assert_true(
        hv_pagetable_translate(buf, 4 * 4096, HV_GUEST_PAGE_TABLES_ADDR, 0x5123, NULL, NULL, NULL));
    assert_false(hv_pagetable_translate(buf, 4 * 4096, HV_GUEST_PAGE_TABLES_ADDR, 0x6000, &paddr,
                                        &page, &flags));
    assert_false(hv_pagetable_translate(buf, 4 * 4096, HV_GUEST_PAGE_TABLES_ADDR, 0x200000, &paddr,
                                        &page, &flags));
    /* the page table itself lies past the end of a shorter buffer */
    assert_false(hv_pagetable_translate(buf, 3 * 4096, HV_GUEST_PAGE_TABLES_ADDR, 0x5123, &paddr,
                                        &page, &flags));
    assert_false(hv_pagetable_translate(buf, 4 * 4096, 0, 0x5123, &paddr, &page, &flags));
    assert_false(
        hv_pagetable_translate(buf, 100, HV_GUEST_PAGE_TABLES_ADDR, 0x5123, &paddr, &page, &flags));
    assert_false(hv_pagetable_translate(NULL, 4 * 4096, HV_GUEST_PAGE_TABLES_ADDR, 0x5123, &paddr,
                                        &page, &flags));
    assert_false(hv_pagetable_translate(buf, 4 * 4096, HV_GUEST_PAGE_TABLES_ADDR,
                                        UINT64_C(0xffff800000005123), &paddr, &page, &flags));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_nodes_2m, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_nodes_1g, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_gib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hand_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_translate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/kvm/test-linux-boot.c - the Linux boot protocol (lib/kvm/linux-boot.c),
 * without /dev/kvm: bzImage setup headers built here (a good one, each bad
 * field refused with its message, truncated at every length), where the
 * kernel, command line and initrd go, the e820 map of one- and two-node
 * layouts with the MMIO hole, the zero page, an ELF vmlinux with and without
 * its PVH note, a load into a fake guest memory, and a real kernel when one
 * is readable (HV_TEST_LINUX_KERNEL, /boot/vmlinuz-*, or the one
 * scripts/kvm-vm unpacks into .cache/kvm-vm/).
 */
#include "hv-test.h"
#include "kvm/linux-boot.h"

#include <elf.h>
#include <glob.h>

#define MiB(n)          ((uint64_t)(n) << 20)
#define GiB(n)          ((uint64_t)(n) << 30)

#define BZ_SETUP_SECTS  4
#define BZ_KERNEL_AT    ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_KERNEL_BYTES 0x2000u
#define BZ_FILE_BYTES   (BZ_KERNEL_AT + BZ_KERNEL_BYTES)

/* A bzImage under construction: its setup header, then the file's bytes. */
typedef struct test_bz {
    hv_linux_setup_header h;
    uint8_t file[BZ_FILE_BYTES];
} test_bz;

/* A good 64-bit relocatable bzImage, protocol 2.15, wanting 16 MiB and 8 MiB of init_size. */
static void good_bz(test_bz *t)
{
    memset(t, 0, sizeof(*t));
    t->h.setup_sects = BZ_SETUP_SECTS;
    t->h.syssize = BZ_KERNEL_BYTES / 16;
    t->h.boot_flag = HV_LINUX_BOOT_FLAG;
    t->h.jump = 0xEB | (0x26C - 0x202) << 8;
    t->h.header = HV_LINUX_HDRS;
    t->h.version = 0x020F;
    t->h.kernel_version = 0x0100;
    t->h.loadflags = HV_LINUX_LOADED_HIGH;
    t->h.initrd_addr_max = 0x7FFFFFFF;
    t->h.kernel_alignment = 0x200000;
    t->h.relocatable_kernel = 1;
    t->h.min_alignment = 21;
    t->h.xloadflags = HV_LINUX_XLF_KERNEL_64 | HV_LINUX_XLF_CAN_BE_LOADED_ABOVE_4G;
    t->h.cmdline_size = 0x7FF;
    t->h.pref_address = MiB(16);
    t->h.init_size = (uint32_t)MiB(8);
    for (size_t i = BZ_KERNEL_AT; i < BZ_FILE_BYTES; i++)
        t->file[i] = (uint8_t)(i * 13 + 5);
    memcpy(t->file + 0x300, "6.1.0-test (hpcvirt)", 21);
}

static const uint8_t *build_bz(test_bz *t)
{
    memcpy(t->file + HV_LINUX_SETUP_HEADER_OFFSET, &t->h, sizeof(t->h));
    return t->file;
}

static int parse_bz(test_bz *t, hv_linux_kernel *k)
{
    return hv_linux_bzimage_parse(build_bz(t), BZ_FILE_BYTES, "t.bz", k);
}

static void layout_of(hv_kvm_layout *layout, const uint64_t *bytes, const uint64_t *pages,
                      size_t count)
{
    hv_kvm_node_request req[4];

    assert_true(count <= 4);
    for (size_t i = 0; i < count; i++) {
        req[i].bytes = bytes[i];
        req[i].vcpu_count = 1;
        req[i].page_bytes = pages ? pages[i] : 4096;
        req[i].host_node = -1;
    }
    assert_hv_ok(hv_kvm_layout_init(layout, req, count));
}

static void one_node(hv_kvm_layout *layout, uint64_t bytes)
{
    layout_of(layout, &bytes, NULL, 1);
}

static void test_bz_good(void **state)
{
    static test_bz t;
    hv_linux_kernel k;

    (void)state;
    good_bz(&t);
    assert_hv_ok(parse_bz(&t, &k));
    assert_int_equal(k.format, HV_LINUX_BZIMAGE);
    assert_int_equal(k.entry_kind, HV_LINUX_ENTRY_64);
    assert_int_equal(k.version, 0x020F);
    assert_true(k.kernel_offset == BZ_KERNEL_AT);
    assert_true(k.kernel_bytes == BZ_KERNEL_BYTES);
    assert_true(k.init_bytes == MiB(8));
    assert_true(k.pref_address == MiB(16));
    assert_true(k.alignment == 0x200000);
    assert_true(k.relocatable);
    assert_int_equal(k.cmdline_max, 0x7FF);
    assert_int_equal(k.initrd_addr_max, 0x7FFFFFFF);
    assert_memory_equal(&k.hdr, &t.h, sizeof(t.h));

    /* setup_sects 0 means 4 */
    t.h.setup_sects = 0;
    assert_hv_ok(parse_bz(&t, &k));
    assert_true(k.kernel_offset == BZ_KERNEL_AT);

    /* a header that ends early (protocol 2.12: up to handover_offset) has zeros after it */
    t.h.jump = 0xEB | (0x268 - 0x202) << 8;
    t.h.kernel_info_offset = 0x1234;
    assert_hv_ok(parse_bz(&t, &k));
    assert_int_equal(k.hdr.kernel_info_offset, 0);

    /* the dispatcher takes it for a bzImage */
    assert_hv_ok(hv_linux_kernel_parse(build_bz(&t), BZ_FILE_BYTES, "t.bz", &k));
    assert_int_equal(k.format, HV_LINUX_BZIMAGE);
}

typedef struct bz_case {
    const char *name;
    void (*spoil)(test_bz *t);
    const char *says;
} bz_case;

static void bad_boot_flag(test_bz *t)
{
    t->h.boot_flag = 0x1234;
}
static void bad_magic(test_bz *t)
{
    t->h.header = 0x58726448; /* "HdrX" */
}
static void old_protocol(test_bz *t)
{
    t->h.version = 0x020B;
}
static void short_header(test_bz *t)
{
    t->h.jump = 0xEB | 0x40 << 8;
}
static void many_setup_sects(test_bz *t)
{
    t->h.setup_sects = 200;
}
static void no_syssize(test_bz *t)
{
    t->h.syssize = 0;
}
static void long_syssize(test_bz *t)
{
    t->h.syssize = BZ_KERNEL_BYTES / 16 + 1;
}
static void not_high(test_bz *t)
{
    t->h.loadflags = 0;
}
static void not_64(test_bz *t)
{
    t->h.xloadflags = HV_LINUX_XLF_CAN_BE_LOADED_ABOVE_4G;
}
static void odd_alignment(test_bz *t)
{
    t->h.kernel_alignment = 0x3000;
}
static void tiny_alignment(test_bz *t)
{
    t->h.kernel_alignment = 0x200;
}
static void odd_pref(test_bz *t)
{
    t->h.pref_address = MiB(16) + 1;
}
static void small_init(test_bz *t)
{
    t->h.init_size = 0x100;
}

static void test_bz_refused(void **state)
{
    static const bz_case cases[] = {
        {"boot_flag", bad_boot_flag, "boot_flag at 0x1FE is 0x1234, not 0xAA55"},
        {"HdrS", bad_magic, "no \"HdrS\" at 0x202"},
        {"version", old_protocol,
         "boot protocol 2.11 (version 0x020b at 0x206) is older than 2.12"},
        {"header end", short_header, "the setup header ends at 0x242"},
        {"setup_sects", many_setup_sects, "setup_sects 200"},
        {"syssize 0", no_syssize, "syssize is 0"},
        {"syssize", long_syssize, "syssize 0x201"},
        {"loadflags", not_high, "lacks LOADED_HIGH"},
        {"xloadflags", not_64, "lacks XLF_KERNEL_64"},
        {"kernel_alignment", odd_alignment, "kernel_alignment 0x3000 is not a power of two"},
        {"kernel_alignment small", tiny_alignment, "kernel_alignment 0x200"},
        {"pref_address", odd_pref, "pref_address 0x1000001"},
        {"init_size", small_init, "init_size 0x100 is smaller"},
    };
    static test_bz t;
    hv_linux_kernel k;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        good_bz(&t);
        cases[i].spoil(&t);
        assert_hv_error(parse_bz(&t, &k), HV_E_PARSE);
        if (!strstr(hv_error_message(hv_error_last()), cases[i].says))
            print_error("%s: \"%s\" lacks \"%s\"\n", cases[i].name,
                        hv_error_message(hv_error_last()), cases[i].says);
        assert_error_mentions(cases[i].says);
        assert_int_equal(strncmp(hv_error_message(hv_error_last()), "t.bz: ", 6), 0);
        assert_string_equal(hv_error_path(hv_error_last()), "t.bz");
        assert_int_equal(k.format, 0); /* nothing half-described */
    }

    /* not relocatable: the alignment does not matter */
    good_bz(&t);
    t.h.relocatable_kernel = 0;
    t.h.kernel_alignment = 0x3000;
    assert_hv_ok(parse_bz(&t, &k));
    assert_false(k.relocatable);
}

/* Every prefix of a good file is refused, read from an exact-size copy (ASan sees over-reads). */
static void test_bz_truncated(void **state)
{
    static test_bz t;
    hv_linux_kernel k;

    (void)state;
    good_bz(&t);
    build_bz(&t);
    for (size_t len = 0; len < BZ_FILE_BYTES; len++) {
        uint8_t *copy = malloc(len ? len : 1);

        assert_non_null(copy);
        memcpy(copy, t.file, len);
        assert_hv_error(hv_linux_bzimage_parse(copy, len, "t.bz", &k), HV_E_PARSE);
        free(copy);
    }
    assert_hv_ok(hv_linux_bzimage_parse(t.file, BZ_FILE_BYTES, "t.bz", &k));
    assert_hv_error(hv_linux_bzimage_parse(NULL, 0, NULL, &k), HV_E_PARSE);
    assert_error_mentions("kernel: 0 bytes is too short");
    assert_hv_error(hv_linux_bzimage_parse(t.file, BZ_FILE_BYTES, "t.bz", NULL), HV_E_INVAL);
    assert_error_mentions("hv_linux_bzimage_parse: argument 'kernel'");
    assert_hv_error(hv_linux_kernel_parse(NULL, 10, "t.bz", &k), HV_E_INVAL);
    assert_error_mentions("hv_linux_kernel_parse: argument 'file'");
}

static void test_place_pref(void **state)
{
    static test_bz t;
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;
    uint64_t initrd = MiB(1) + 123;

    (void)state;
    good_bz(&t);
    assert_hv_ok(parse_bz(&t, &k));
    one_node(&layout, MiB(256));
    assert_hv_ok(hv_linux_place(&k, &layout, 10, initrd, &p));
    assert_true(p.kernel_addr == MiB(16));
    assert_true(p.kernel_bytes == BZ_KERNEL_BYTES);
    assert_true(p.kernel_end == MiB(24));
    assert_true(p.entry == MiB(16) + 0x200);
    assert_true(p.zero_page_addr == HV_LINUX_ZERO_PAGE_ADDR);
    assert_true(p.cmdline_addr == HV_LINUX_CMDLINE_ADDR);
    assert_true(p.cmdline_bytes == 11);
    /* the initrd: as high as it goes, page-aligned */
    assert_true(p.initrd_bytes == initrd);
    assert_true(p.initrd_addr % 4096 == 0);
    assert_true(p.initrd_addr + initrd <= MiB(256));
    assert_true(p.initrd_addr + initrd > MiB(256) - 4096);

    /* no initrd */
    assert_hv_ok(hv_linux_place(&k, &layout, 0, 0, &p));
    assert_true(p.initrd_addr == 0 && p.initrd_bytes == 0);
    assert_true(p.cmdline_bytes == 1);
}

static void test_place_relocated(void **state)
{
    static test_bz t;
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;

    (void)state;
    good_bz(&t);
    assert_hv_ok(parse_bz(&t, &k));
    /* 16 MiB: [16 MiB, 24 MiB) is not there; relocated to the first 2 MiB boundary above 1 MiB */
    one_node(&layout, MiB(16));
    assert_hv_ok(hv_linux_place(&k, &layout, 0, MiB(4), &p));
    assert_true(p.kernel_addr == MiB(2));
    assert_true(p.kernel_end == MiB(10));
    assert_true(p.entry == MiB(2) + 0x200);
    assert_true(p.initrd_addr == MiB(12));
    /* 6 MiB still fits above the kernel, 7 MiB neither above nor below it */
    assert_hv_ok(hv_linux_place(&k, &layout, 0, MiB(6), &p));
    assert_true(p.initrd_addr == MiB(10));
    assert_hv_error(hv_linux_place(&k, &layout, 0, MiB(7), &p), HV_E_RANGE);
    assert_error_mentions("initrd does not fit");
    assert_string_equal(hv_error_path(hv_error_last()), "initrd");
    assert_true(p.kernel_addr == 0); /* nothing half-placed */

    /* 4 MiB alignment: at 4 MiB */
    t.h.kernel_alignment = 0x400000;
    assert_hv_ok(parse_bz(&t, &k));
    assert_hv_ok(hv_linux_place(&k, &layout, 0, 0, &p));
    assert_true(p.kernel_addr == MiB(4));

    /* too small for init_size at all */
    t.h.kernel_alignment = 0x200000;
    assert_hv_ok(parse_bz(&t, &k));
    one_node(&layout, MiB(8));
    assert_hv_error(hv_linux_place(&k, &layout, 0, 0, &p), HV_E_RANGE);
    assert_error_mentions("give node 0 at least 10 MiB");

    /* not relocatable: only pref_address will do */
    t.h.relocatable_kernel = 0;
    assert_hv_ok(parse_bz(&t, &k));
    one_node(&layout, MiB(16));
    assert_hv_error(hv_linux_place(&k, &layout, 0, 0, &p), HV_E_RANGE);
    assert_error_mentions("not relocatable");
    one_node(&layout, MiB(32));
    assert_hv_ok(hv_linux_place(&k, &layout, 0, 0, &p));
    assert_true(p.kernel_addr == MiB(16));

    /* a pref_address below 1 MiB is not taken */
    t.h.relocatable_kernel = 1;
    t.h.pref_address = 0x10000;
    assert_hv_ok(parse_bz(&t, &k));
    assert_hv_ok(hv_linux_place(&k, &layout, 0, 0, &p));
    assert_true(p.kernel_addr == MiB(2));
}

static void test_place_cmdline(void **state)
{
    static test_bz t;
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;

    (void)state;
    good_bz(&t);
    assert_hv_ok(parse_bz(&t, &k));
    one_node(&layout, MiB(64));
    assert_hv_ok(hv_linux_place(&k, &layout, 0x7FF, 0, &p));
    assert_true(p.cmdline_bytes == 0x800);
    assert_hv_error(hv_linux_place(&k, &layout, 0x800, 0, &p), HV_E_RANGE);
    assert_error_mentions("2048 bytes, longer than the 2047 the kernel accepts (cmdline_size)");
    assert_string_equal(hv_error_path(hv_error_last()), "cmdline");

    /* a kernel that takes more than the engine has room for */
    t.h.cmdline_size = 0x100000;
    assert_hv_ok(parse_bz(&t, &k));
    assert_hv_ok(hv_linux_place(&k, &layout, HV_LINUX_CMDLINE_MAX - 1, 0, &p));
    assert_hv_error(hv_linux_place(&k, &layout, HV_LINUX_CMDLINE_MAX, 0, &p), HV_E_RANGE);
    assert_error_mentions("the engine has room for");
}

static void test_place_initrd_max(void **state)
{
    static const uint64_t two[2] = {MiB(512), MiB(512)};
    static test_bz t;
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;
    uint64_t initrd = MiB(10) + 5;

    (void)state;
    good_bz(&t);
    t.h.initrd_addr_max = 0x37FFFFFF; /* what kernels before 2.03 said: 896 MiB */
    assert_hv_ok(parse_bz(&t, &k));
    one_node(&layout, GiB(1));
    assert_hv_ok(hv_linux_place(&k, &layout, 0, initrd, &p));
    assert_true(p.initrd_addr % 4096 == 0);
    assert_true(p.initrd_addr + initrd - 1 <= 0x37FFFFFF);
    assert_true(p.initrd_addr + initrd - 1 > 0x37FFFFFF - 4096);

    /* two nodes: the initrd goes to the top of node 1, below initrd_addr_max */
    t.h.initrd_addr_max = 0x7FFFFFFF;
    assert_hv_ok(parse_bz(&t, &k));
    layout_of(&layout, two, NULL, 2);
    assert_hv_ok(hv_linux_place(&k, &layout, 0, initrd, &p));
    assert_int_equal(hv_kvm_layout_node_of(&layout, p.initrd_addr, initrd), 1);
    assert_true(p.initrd_addr + initrd > GiB(1) - 4096);
    /* initrd_addr_max inside node 0: node 1 is skipped */
    t.h.initrd_addr_max = (uint32_t)MiB(300) - 1;
    assert_hv_ok(parse_bz(&t, &k));
    assert_hv_ok(hv_linux_place(&k, &layout, 0, initrd, &p));
    assert_int_equal(hv_kvm_layout_node_of(&layout, p.initrd_addr, initrd), 0);
    assert_true(p.initrd_addr + initrd <= MiB(300));
    /* larger than everything below initrd_addr_max */
    assert_hv_error(hv_linux_place(&k, &layout, 0, MiB(300), &p), HV_E_RANGE);
    assert_error_mentions("initrd_addr_max 0x12bfffff");
}

/* RAM over the 32-bit hole (devices, interrupt controllers) is refused: layouts leave it. */
static void test_place_device_hole(void **state)
{
    static test_bz t;
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;

    (void)state;
    good_bz(&t);
    assert_hv_ok(parse_bz(&t, &k));
    one_node(&layout, GiB(4));
    assert_hv_error(hv_linux_place(&k, &layout, 0, 0, &p), HV_E_RANGE);
    assert_error_mentions("[3 GiB, 4 GiB)");
    assert_string_equal(hv_error_path(hv_error_last()), "vnuma[0]");
    one_node(&layout, GiB(3) + MiB(2));
    assert_hv_error(hv_linux_place(&k, &layout, 0, 0, &p), HV_E_RANGE);
    one_node(&layout, GiB(3));
    assert_hv_ok(hv_linux_place(&k, &layout, 0, 0, &p));
}

/*
 * A layout with the 32-bit hole: one node of 8 GiB is 3 GiB below it and
 * 5 GiB from 4 GiB; the kernel and initrd go below, the e820 map has both
 * parts as RAM and nothing in [3 GiB, 4 GiB); two nodes of 2 and 3 GiB:
 * node 1 is split; a node that would start in the hole starts at 4 GiB.
 */
static void test_layout_with_the_32bit_hole(void **state)
{
    static test_bz t;
    hv_kvm_node_request req[2] = {{GiB(8), 1, 4096, -1}, {GiB(3), 1, 4096, -1}};
    hv_e820_entry e[HV_E820_MAX_ENTRIES];
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;
    uint64_t ram = 0, offset = 0;
    size_t count = 0;

    (void)state;
    good_bz(&t);
    assert_hv_ok(parse_bz(&t, &k));
    assert_hv_ok(hv_kvm_layout_init_with_hole(&layout, req, 1, HV_LINUX_HOLE_BASE));
    assert_true(layout.nodes[0].low_bytes == GiB(3) && layout.nodes[0].high_base == GiB(4));
    assert_true(hv_kvm_node_end(&layout.nodes[0]) == GiB(9) && layout.ram_end == GiB(9));
    assert_true(layout.mmio_base == GiB(9));
    assert_int_equal(hv_kvm_layout_node_of(&layout, GiB(3) + 4096, 1), -1);
    assert_int_equal(hv_kvm_layout_node_of(&layout, GiB(3) - 4096, 8192), -1); /* across it */
    assert_int_equal(hv_kvm_layout_node_of(&layout, GiB(4), 4096), 0);
    assert_true(hv_kvm_node_offset(&layout.nodes[0], GiB(4) + 8, 8, &offset));
    assert_true(offset == GiB(3) + 8);
    assert_hv_ok(hv_linux_place(&k, &layout, 0, MiB(64), &p));
    assert_true(p.initrd_addr + p.initrd_bytes <= GiB(2));
    assert_hv_ok(hv_linux_e820_build(&layout, e, HV_E820_MAX_ENTRIES, &count));
    for (size_t i = 0; i < count; i++) {
        assert_false(e[i].addr < GiB(4) && e[i].addr + e[i].size > GiB(3));
        if (e[i].type == HV_E820_RAM)
            ram += e[i].size;
    }
    assert_true(ram + (HV_LINUX_HIGH_MIN - HV_LINUX_LOW_RESERVED_BASE) == GiB(8));

    req[0].bytes = GiB(2);
    assert_hv_ok(hv_kvm_layout_init_with_hole(&layout, req, 2, HV_LINUX_HOLE_BASE));
    assert_true(layout.nodes[0].high_base == 0 && layout.nodes[0].low_bytes == GiB(2));
    assert_true(layout.nodes[1].base == GiB(2) && layout.nodes[1].low_bytes == GiB(1));
    assert_true(layout.nodes[1].high_base == GiB(4) && layout.ram_end == GiB(6));
    req[0].bytes = GiB(3);
    assert_hv_ok(hv_kvm_layout_init_with_hole(&layout, req, 2, HV_LINUX_HOLE_BASE));
    assert_true(layout.nodes[1].base == GiB(4) && layout.nodes[1].high_base == 0);
    assert_true(layout.nodes[1].low_bytes == GiB(3) && layout.ram_end == GiB(7));
    /* a hole that is not on a 1 GiB boundary below 4 GiB */
    assert_hv_error(hv_kvm_layout_init_with_hole(&layout, req, 2, GiB(3) + MiB(2)), HV_E_INVAL);
    assert_hv_error(hv_kvm_layout_init_with_hole(&layout, req, 2, GiB(4)), HV_E_INVAL);
}

/* Sorted, non-overlapping; the RAM entries and the low reserved area add up to the layout's RAM. */
static void check_e820(const hv_e820_entry *e, size_t count, const hv_kvm_layout *layout)
{
    uint64_t ram = 0, reserved_low = 0;
    bool mmio = false;

    for (size_t i = 0; i < count; i++) {
        assert_true(e[i].size > 0);
        if (i > 0)
            assert_true(e[i - 1].addr + e[i - 1].size <= e[i].addr);
        if (e[i].type == HV_E820_RAM) {
            /* inside one node */
            assert_true(hv_kvm_layout_node_of(layout, e[i].addr, e[i].size) >= 0 ||
                        e[i].addr + e[i].size <= layout->ram_end);
            ram += e[i].size;
        } else if (e[i].addr == HV_LINUX_LOW_RESERVED_BASE) {
            assert_int_equal(e[i].type, HV_E820_RESERVED);
            assert_true(e[i].size == HV_LINUX_HIGH_MIN - HV_LINUX_LOW_RESERVED_BASE);
            reserved_low += e[i].size;
        } else {
            assert_int_equal(e[i].type, HV_E820_RESERVED);
            assert_true(e[i].addr == layout->mmio_base && e[i].size == layout->mmio_bytes);
            mmio = true;
        }
    }
    assert_true(ram + reserved_low == layout->memory_bytes);
    assert_true(mmio);
}

static void test_e820_one_node(void **state)
{
    hv_e820_entry e[HV_E820_MAX_ENTRIES];
    hv_kvm_layout layout;
    size_t count = 99;

    (void)state;
    one_node(&layout, MiB(256));
    assert_hv_ok(hv_linux_e820_build(&layout, e, HV_E820_MAX_ENTRIES, &count));
    assert_int_equal(count, 4);
    assert_true(e[0].addr == 0 && e[0].size == 0x9FC00 && e[0].type == HV_E820_RAM);
    assert_true(e[1].addr == 0x9FC00 && e[1].size == 0x60400 && e[1].type == HV_E820_RESERVED);
    assert_true(e[2].addr == MiB(1) && e[2].size == MiB(255) && e[2].type == HV_E820_RAM);
    assert_true(e[3].addr == GiB(1) && e[3].size == GiB(1) && e[3].type == HV_E820_RESERVED);
    check_e820(e, count, &layout);

    /* too small a table */
    assert_hv_error(hv_linux_e820_build(&layout, e, 3, &count), HV_E_RANGE);
    assert_error_mentions("more than 3 e820 entries");
    assert_int_equal(count, 0);
}

static void test_e820_two_nodes(void **state)
{
    static const uint64_t adjacent[2] = {MiB(256), MiB(256)};
    static const uint64_t gap[2] = {MiB(512), GiB(1)};
    static const uint64_t gap_pages[2] = {4096, GiB(1)};
    hv_e820_entry e[HV_E820_MAX_ENTRIES];
    hv_kvm_layout layout;
    size_t count = 0;

    (void)state;
    /* adjacent nodes: one RAM entry above 1 MiB */
    layout_of(&layout, adjacent, NULL, 2);
    assert_hv_ok(hv_linux_e820_build(&layout, e, HV_E820_MAX_ENTRIES, &count));
    assert_int_equal(count, 4);
    assert_true(e[2].addr == MiB(1) && e[2].size == MiB(511));
    check_e820(e, count, &layout);

    /* node 1 on 1 GiB pages starts at 1 GiB: [512 MiB, 1 GiB) is a hole, in no entry */
    layout_of(&layout, gap, gap_pages, 2);
    assert_true(layout.nodes[1].base == GiB(1));
    assert_hv_ok(hv_linux_e820_build(&layout, e, HV_E820_MAX_ENTRIES, &count));
    assert_int_equal(count, 5);
    assert_true(e[2].addr == MiB(1) && e[2].size == MiB(511) && e[2].type == HV_E820_RAM);
    assert_true(e[3].addr == GiB(1) && e[3].size == GiB(1) && e[3].type == HV_E820_RAM);
    assert_true(e[4].addr == GiB(2) && e[4].size == GiB(1) && e[4].type == HV_E820_RESERVED);
    for (size_t i = 0; i < count; i++)
        assert_false(e[i].addr < GiB(1) && e[i].addr + e[i].size > MiB(512));
    check_e820(e, count, &layout);
}

static uint32_t raw32(const void *bp, size_t at)
{
    uint32_t v;

    memcpy(&v, (const uint8_t *)bp + at, sizeof(v));
    return v;
}

static void test_boot_params(void **state)
{
    static test_bz t;
    static hv_linux_boot_params bp;
    const uint8_t *raw = (const uint8_t *)&bp;
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;
    uint64_t addr;

    (void)state;
    good_bz(&t);
    t.h.setup_data = 0x123456; /* the file's: not passed on */
    assert_hv_ok(parse_bz(&t, &k));
    one_node(&layout, MiB(256));
    assert_hv_ok(hv_linux_place(&k, &layout, 20, MiB(3), &p));
    memset(&bp, 0x5A, sizeof(bp));
    assert_hv_ok(hv_linux_boot_params_build(&bp, &k, &layout, &p));
    /* the setup header, as the file has it, at 0x1F1 */
    assert_int_equal(raw[0x1F1], BZ_SETUP_SECTS);
    assert_int_equal(raw[0x1FE] | raw[0x1FF] << 8, 0xAA55);
    assert_memory_equal(raw + 0x202, "HdrS", 4);
    assert_int_equal(raw[0x206] | raw[0x207] << 8, 0x020F);
    assert_int_equal(raw[0x20E] | raw[0x20F] << 8, 0x0100);
    assert_int_equal(raw32(raw, 0x260), MiB(8));
    /* what the loader fills */
    assert_int_equal(raw[0x210], 0xFF);
    assert_true(raw[0x211] & HV_LINUX_LOADED_HIGH);
    assert_int_equal(raw32(raw, 0x228), HV_LINUX_CMDLINE_ADDR);
    assert_int_equal(raw32(raw, 0x214), p.kernel_addr);
    assert_int_equal(raw32(raw, 0x250), 0);
    assert_int_equal(raw32(raw, 0x254), 0);
    assert_int_equal(raw32(raw, 0x218), p.initrd_addr);
    assert_int_equal(raw32(raw, 0x21C), MiB(3));
    assert_int_equal(raw32(raw, 0x0C0), 0);
    assert_int_equal(raw32(raw, 0x0C4), 0);
    assert_int_equal(raw32(raw, 0x0C8), 0);
    /* the e820 map: 4 entries of 20 bytes at 0x2D0 */
    assert_int_equal(raw[0x1E8], 4);
    memcpy(&addr, raw + 0x2D0 + 2 * 20, 8);
    assert_true(addr == MiB(1));
    assert_int_equal(raw32(raw, 0x2D0 + 2 * 20 + 16), HV_E820_RAM);
    assert_int_equal(raw32(raw, 0x2D0 + 1 * 20 + 16), HV_E820_RESERVED);
    /* everything else zero: no screen info, no EDD, no ACPI RSDP yet */
    for (size_t i = 0; i < 0x1E8; i++)
        assert_int_equal(raw[i], 0);
    for (size_t i = 0x2D0 + 4 * 20; i < sizeof(bp); i++)
        assert_int_equal(raw[i], 0);
}

/* ---- a fake guest memory: [0, bytes) ----------------------------------- */

typedef struct fake_guest {
    uint8_t *mem;
    uint64_t bytes;
} fake_guest;

static uint8_t *guest_ptr(void *ctx, uint64_t addr, uint64_t bytes)
{
    fake_guest *g = ctx;

    if (addr > g->bytes || bytes > g->bytes - addr)
        return NULL;
    return g->mem + addr;
}

static void test_load_bz(void **state)
{
    static test_bz t;
    static hv_linux_boot_params bp;
    static uint8_t initrd[5000];
    const char *cmdline = "console=ttyS0 quiet";
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;
    fake_guest g = {.bytes = MiB(16)};

    (void)state;
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i * 3 + 1);
    good_bz(&t);
    assert_hv_ok(parse_bz(&t, &k));
    one_node(&layout, MiB(16));
    assert_hv_ok(hv_linux_place(&k, &layout, strlen(cmdline), sizeof(initrd), &p));
    assert_hv_ok(hv_linux_boot_params_build(&bp, &k, &layout, &p));
    g.mem = calloc(1, g.bytes);
    assert_non_null(g.mem);
    assert_hv_ok(hv_linux_load(t.file, BZ_FILE_BYTES, &k, &p, cmdline, initrd, &bp, guest_ptr, &g));
    assert_memory_equal(g.mem + p.kernel_addr, t.file + BZ_KERNEL_AT, BZ_KERNEL_BYTES);
    assert_int_equal(g.mem[p.kernel_addr + BZ_KERNEL_BYTES], 0);
    assert_string_equal((const char *)g.mem + HV_LINUX_CMDLINE_ADDR, cmdline);
    assert_memory_equal(g.mem + p.initrd_addr, initrd, sizeof(initrd));
    assert_memory_equal(g.mem + HV_LINUX_ZERO_PAGE_ADDR, &bp, sizeof(bp));

    /* a command line other than the placed one */
    assert_hv_error(
        hv_linux_load(t.file, BZ_FILE_BYTES, &k, &p, "quiet", initrd, &bp, guest_ptr, &g),
        HV_E_INVAL);
    /* guest memory too small for the placement */
    g.bytes = MiB(8);
    assert_hv_error(
        hv_linux_load(t.file, BZ_FILE_BYTES, &k, &p, cmdline, initrd, &bp, guest_ptr, &g),
        HV_E_RANGE);
    assert_error_mentions("initrd");
    free(g.mem);
}

/* ---- vmlinux ----------------------------------------------------------- */

#define VM_FILE_BYTES 0x3000u
#define VM_TEXT       UINT64_C(0x1000000)
#define VM_VIRT       UINT64_C(0xffffffff80000000)

typedef struct test_elf_file {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[4];
    uint8_t file[VM_FILE_BYTES];
} test_elf_file;

static Elf64_Phdr vm_phdr(uint32_t type, uint64_t offset, uint64_t paddr, uint64_t filesz,
                          uint64_t memsz, uint32_t flags)
{
    Elf64_Phdr p;

    memset(&p, 0, sizeof(p));
    p.p_type = type;
    p.p_offset = offset;
    p.p_vaddr = paddr + VM_VIRT;
    p.p_paddr = paddr;
    p.p_filesz = filesz;
    p.p_memsz = memsz;
    p.p_flags = flags;
    return p;
}

/* Append a note (namesz, descsz, type, name and description padded to 4) at file[at]. */
static size_t put_note(uint8_t *at, const char *name, uint32_t type, const void *desc,
                       uint32_t descsz)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1, head[3] = {namesz, descsz, type};
    size_t off = sizeof(head);

    memcpy(at, head, sizeof(head));
    memcpy(at + off, name, namesz);
    off += (namesz + 3) & ~3u;
    memcpy(at + off, desc, descsz);
    return off + ((descsz + 3) & ~3u);
}

/*
 * A vmlinux: text at 16 MiB (0x1000 bytes from 0x1000), data after it (0x100
 * bytes, 0x2000 in memory), a PT_NOTE with a GNU build id and, when `pvh`,
 * the Xen PHYS32_ENTRY note (a .quad) for 16 MiB + 0x40.
 */
static size_t good_vmlinux(test_elf_file *t, bool pvh)
{
    uint64_t entry = VM_TEXT + 0x40;
    uint8_t id[20] = {1, 2, 3};
    size_t notes;

    memset(t, 0, sizeof(*t));
    memcpy(t->eh.e_ident, ELFMAG, SELFMAG);
    t->eh.e_ident[EI_CLASS] = ELFCLASS64;
    t->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    t->eh.e_ident[EI_VERSION] = EV_CURRENT;
    t->eh.e_type = ET_EXEC;
    t->eh.e_machine = EM_X86_64;
    t->eh.e_version = EV_CURRENT;
    t->eh.e_entry = VM_TEXT;
    t->eh.e_phoff = sizeof(Elf64_Ehdr);
    t->eh.e_ehsize = sizeof(Elf64_Ehdr);
    t->eh.e_phentsize = sizeof(Elf64_Phdr);
    t->eh.e_phnum = 3;
    for (size_t i = 0x1000; i < VM_FILE_BYTES; i++)
        t->file[i] = (uint8_t)(i * 5 + 3);
    notes = put_note(t->file + 0x2800, "GNU", NT_GNU_BUILD_ID, id, sizeof(id));
    if (pvh)
        notes += put_note(t->file + 0x2800 + notes, "Xen", 18, &entry, sizeof(entry));
    t->ph[0] = vm_phdr(PT_LOAD, 0x1000, VM_TEXT, 0x1000, 0x1000, PF_R | PF_X);
    t->ph[1] = vm_phdr(PT_LOAD, 0x2000, VM_TEXT + 0x1000, 0x100, 0x2000, PF_R | PF_W);
    t->ph[2] = vm_phdr(PT_NOTE, 0x2800, VM_TEXT + 0x800, notes, notes, PF_R);
    memcpy(t->file, &t->eh, sizeof(t->eh));
    memcpy(t->file + sizeof(t->eh), t->ph, sizeof(t->ph));
    return notes;
}

static void test_vmlinux(void **state)
{
    static test_elf_file t;
    static hv_linux_boot_params bp;
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;
    fake_guest g = {.bytes = MiB(32)};

    (void)state;
    good_vmlinux(&t, true);
    assert_hv_ok(hv_linux_kernel_parse(t.file, VM_FILE_BYTES, "vmlinux", &k));
    assert_int_equal(k.format, HV_LINUX_VMLINUX);
    assert_int_equal(k.entry_kind, HV_LINUX_ENTRY_PVH);
    assert_true(k.entry == VM_TEXT + 0x40);
    assert_true(k.elf.base == VM_TEXT && k.elf.end == VM_TEXT + 0x3000);
    assert_false(k.relocatable);
    assert_int_equal(k.hdr.boot_flag, HV_LINUX_BOOT_FLAG);
    assert_int_equal(k.hdr.header, HV_LINUX_HDRS);

    /* without the note: the 64-bit entry at e_entry */
    good_vmlinux(&t, false);
    assert_hv_ok(hv_linux_vmlinux_parse(t.file, VM_FILE_BYTES, "vmlinux", &k));
    assert_int_equal(k.entry_kind, HV_LINUX_ENTRY_64);
    assert_true(k.entry == VM_TEXT);

    /* placed at its physical address, loaded there */
    one_node(&layout, MiB(32));
    assert_hv_ok(hv_linux_place(&k, &layout, 5, 0, &p));
    assert_true(p.kernel_addr == VM_TEXT && p.kernel_end == VM_TEXT + 0x3000);
    assert_true(p.entry == VM_TEXT);
    assert_hv_ok(hv_linux_boot_params_build(&bp, &k, &layout, &p));
    g.mem = calloc(1, g.bytes);
    assert_non_null(g.mem);
    memset(g.mem + VM_TEXT, 0xEE, 0x3000);
    assert_hv_ok(hv_linux_load(t.file, VM_FILE_BYTES, &k, &p, "quiet", NULL, &bp, guest_ptr, &g));
    assert_memory_equal(g.mem + VM_TEXT, t.file + 0x1000, 0x1100);
    assert_int_equal(g.mem[VM_TEXT + 0x2FFF], 0); /* bss zeroed */
    assert_string_equal((const char *)g.mem + HV_LINUX_CMDLINE_ADDR, "quiet");
    free(g.mem);

    /* too small a node: it cannot be moved */
    one_node(&layout, MiB(16));
    assert_hv_error(hv_linux_place(&k, &layout, 0, 0, &p), HV_E_RANGE);
    assert_error_mentions("not relocatable");
}

static void test_vmlinux_refused(void **state)
{
    static test_elf_file t;
    hv_linux_kernel k;
    size_t notes;
    uint32_t v;

    (void)state;
    /* a note whose description runs past the segment */
    notes = good_vmlinux(&t, true);
    v = 0x1000;
    memcpy(t.file + 0x2800 + 4, &v, 4);
    assert_hv_error(hv_linux_vmlinux_parse(t.file, VM_FILE_BYTES, "vmlinux", &k), HV_E_PARSE);
    assert_error_mentions("(PT_NOTE): the note at offset 0x0");
    assert_int_equal(k.format, 0);

    /* a PVH description of 2 bytes */
    notes = good_vmlinux(&t, true);
    v = 2;
    memcpy(t.file + 0x2800 + notes - 24 + 4, &v, 4); /* the Xen note's descsz */
    assert_hv_error(hv_linux_vmlinux_parse(t.file, VM_FILE_BYTES, "vmlinux", &k), HV_E_PARSE);
    assert_error_mentions("description is 2 bytes");

    /* a PVH entry outside the kernel */
    good_vmlinux(&t, true);
    v = 0x5000;
    memcpy(t.file + 0x2800 + notes - 8, &v, 4);
    assert_hv_error(hv_linux_vmlinux_parse(t.file, VM_FILE_BYTES, "vmlinux", &k), HV_E_PARSE);
    assert_error_mentions("the PVH entry 0x5000");

    /* a PT_NOTE past the end of the file */
    good_vmlinux(&t, true);
    assert_hv_error(hv_linux_vmlinux_parse(t.file, 0x2810, "vmlinux", &k), HV_E_PARSE);

    /* every prefix refused */
    good_vmlinux(&t, true);
    for (size_t len = 0; len < 0x2800 + notes; len++) {
        uint8_t *copy = malloc(len ? len : 1);

        assert_non_null(copy);
        memcpy(copy, t.file, len);
        assert_hv_error(hv_linux_kernel_parse(copy, len, "vmlinux", &k), HV_E_PARSE);
        free(copy);
    }
}

/* ---- a real kernel ----------------------------------------------------- */

static bool read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    long len;

    if (!f)
        return false;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return false;
    }
    *data = malloc((size_t)len);
    if (!*data || fread(*data, 1, (size_t)len, f) != (size_t)len) {
        free(*data);
        fclose(f);
        return false;
    }
    fclose(f);
    *size = (size_t)len;
    return true;
}

/* The first readable match of a pattern. */
static bool read_first(const char *pattern, char *path, size_t path_size, uint8_t **data,
                       size_t *size)
{
    glob_t g;
    bool found = false;

    if (glob(pattern, 0, NULL, &g) != 0)
        return false;
    for (size_t i = 0; i < g.gl_pathc && !found; i++) {
        found = read_file(g.gl_pathv[i], data, size);
        if (found)
            snprintf(path, path_size, "%s", g.gl_pathv[i]);
    }
    globfree(&g);
    return found;
}

static bool find_kernel(char *path, size_t path_size, uint8_t **data, size_t *size)
{
    const char *env = getenv("HV_TEST_LINUX_KERNEL");
    const char *src = getenv("HV_TEST_SRCDIR");
    char pattern[4096];

    if (env && *env) {
        snprintf(path, path_size, "%s", env);
        return read_file(env, data, size);
    }
    if (read_first("/boot/vmlinuz-*", path, path_size, data, size))
        return true;
    snprintf(pattern, sizeof(pattern), "%s/.cache/kvm-vm/*/boot/vmlinuz-*", src ? src : ".");
    return read_first(pattern, path, path_size, data, size);
}

static void test_real_kernel(void **state)
{
    static hv_linux_boot_params bp;
    char path[4096], version[64];
    uint8_t *data = NULL;
    size_t size = 0, at;
    hv_linux_kernel k;
    hv_kvm_layout layout;
    hv_linux_placement p;

    (void)state;
    if (!find_kernel(path, sizeof(path), &data, &size)) {
        print_message("SKIP: no readable kernel (HV_TEST_LINUX_KERNEL, /boot/vmlinuz-*, "
                      ".cache/kvm-vm/*/boot/vmlinuz-* from scripts/kvm-vm)\n");
        skip();
    }
    assert_hv_ok(hv_linux_kernel_parse(data, size, path, &k));
    assert_int_equal(k.format, HV_LINUX_BZIMAGE);
    assert_true(k.version >= 0x020C && k.version <= 0x02FF);
    assert_true(k.kernel_offset + k.kernel_bytes <= size);
    assert_true(k.init_bytes >= k.kernel_bytes);
    assert_true(k.hdr.xloadflags & HV_LINUX_XLF_KERNEL_64);
    assert_true(k.cmdline_max >= 255);
    assert_true(k.initrd_addr_max >= 0x37FFFFFF);
    assert_true(k.pref_address >= HV_LINUX_HIGH_MIN);
    /* the version string the header points at ("6.1.0-57-amd64 (debian-kernel@...") */
    at = 0x200 + (size_t)k.hdr.kernel_version;
    assert_true(k.hdr.kernel_version != 0 && at < size);
    snprintf(version, sizeof(version), "%.*s", (int)(size - at < 63 ? size - at : 63),
             (const char *)data + at);
    assert_true(version[0] >= '1' && version[0] <= '9');
    print_message("%s: boot protocol %u.%02u, Linux %s, 0x%zx-byte kernel, init_size 0x%zx\n", path,
                  k.version >> 8, k.version & 0xFF, strtok(version, " "), (size_t)k.kernel_bytes,
                  (size_t)k.init_bytes);

    one_node(&layout, MiB(512));
    assert_hv_ok(hv_linux_place(&k, &layout, 30, MiB(20), &p));
    assert_true(p.kernel_addr >= HV_LINUX_HIGH_MIN);
    if (k.relocatable)
        assert_true(p.kernel_addr % k.alignment == 0);
    assert_true(p.initrd_addr >= p.kernel_end);
    assert_hv_ok(hv_linux_boot_params_build(&bp, &k, &layout, &p));
    assert_int_equal(bp.hdr.version, k.version);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bz_good),
        cmocka_unit_test(test_bz_refused),
        cmocka_unit_test(test_bz_truncated),
        cmocka_unit_test(test_place_pref),
        cmocka_unit_test(test_place_relocated),
        cmocka_unit_test(test_place_cmdline),
        cmocka_unit_test(test_place_initrd_max),
        cmocka_unit_test(test_place_device_hole),
        cmocka_unit_test(test_layout_with_the_32bit_hole),
        cmocka_unit_test(test_e820_one_node),
        cmocka_unit_test(test_e820_two_nodes),
        cmocka_unit_test(test_boot_params),
        cmocka_unit_test(test_load_bz),
        cmocka_unit_test(test_vmlinux),
        cmocka_unit_test(test_vmlinux_refused),
        cmocka_unit_test(test_real_kernel),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

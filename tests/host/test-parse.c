/* tests/host/test-parse.c - the sysfs/procfs text parsers, exact values and every rejection. */
#include "hv-test.h"
#include "host/parse.h"

static void test_numbers(void **state)
{
    int64_t i;
    uint64_t u;

    assert_hv_ok(hv_parse_i64("-1\n", &i, "f"));
    assert_int_equal(i, -1);
    assert_hv_ok(hv_parse_i64(" 0x2330\n", &i, "f"));
    assert_int_equal(i, 0x2330);
    assert_hv_ok(hv_parse_u64("18446744073709551615", &u, "f"));
    assert_true(u == UINT64_MAX);
    assert_hv_error(hv_parse_u64("18446744073709551616", &u, "f"), HV_E_RANGE);
    assert_hv_error(hv_parse_i64("9223372036854775808", &i, "f"), HV_E_RANGE);
    assert_hv_ok(hv_parse_i64("-9223372036854775808", &i, "f"));
    assert_true(i == INT64_MIN);
    assert_hv_error(hv_parse_u64("", &u, "x/y"), HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "x/y");
    assert_hv_error(hv_parse_u64("12abc", &u, "f"), HV_E_PARSE);
    assert_hv_error(hv_parse_u64("0x", &u, "f"), HV_E_PARSE);
    assert_hv_error(hv_parse_u64("-3", &u, "f"), HV_E_PARSE);
    assert_hv_error(hv_parse_i64("1 2", &i, "f"), HV_E_PARSE);
}

static void test_meminfo(void **state)
{
    static const char proc[] = "MemTotal:       131981020 kB\nMemFree:        130760160 kB\n"
                               "HugePages_Total:       6\nHugepagesize:       2048 kB\n";
    static const char node[] = "Node 0 MemTotal:        4550128 kB\n"
                               "Node 0 MemFree:         3314576 kB\n"
                               "Node 0 HugePages_Total:     0\n";
    uint64_t v;

    assert_hv_ok(hv_parse_meminfo(proc, "MemTotal", &v, "proc/meminfo"));
    assert_true(v == UINT64_C(131981020) * 1024);
    assert_hv_ok(hv_parse_meminfo(proc, "HugePages_Total", &v, "proc/meminfo"));
    assert_int_equal(v, 6);
    assert_hv_ok(hv_parse_meminfo(node, "MemFree", &v, "n"));
    assert_true(v == UINT64_C(3314576) * 1024);
    assert_hv_ok(hv_parse_meminfo(node, "HugePages_Total", &v, "n"));
    assert_int_equal(v, 0);
    /* "Mem" must not match "MemTotal" */
    assert_hv_error(hv_parse_meminfo(proc, "Mem", &v, "proc/meminfo"), HV_E_NOTFOUND);
    assert_hv_error(hv_parse_meminfo("MemTotal: lots kB\n", "MemTotal", &v, "m"), HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "m:1");
    assert_hv_error(hv_parse_meminfo("X: 1\nMemTotal: 5 kB junk\n", "MemTotal", &v, "m"),
                    HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "m:2");
    assert_hv_error(hv_parse_meminfo("MemTotal: 18014398509481984 kB\n", "MemTotal", &v, "m"),
                    HV_E_RANGE);
    assert_hv_error(hv_parse_meminfo("MemTotal:", "MemTotal", &v, "m"), HV_E_PARSE);
    assert_hv_error(hv_parse_meminfo("", "MemTotal", &v, "m"), HV_E_NOTFOUND);
}

static void test_distance(void **state)
{
    int *vals = NULL;
    size_t n = 0;

    assert_hv_ok(hv_parse_distance_row("10 21 21\n", &vals, &n, "d"));
    assert_int_equal(n, 3);
    assert_int_equal(vals[0], 10);
    assert_int_equal(vals[2], 21);
    free(vals);
    assert_hv_ok(hv_parse_distance_row("10\n", &vals, &n, "d"));
    assert_int_equal(n, 1);
    free(vals);
    assert_hv_error(hv_parse_distance_row("10 256", &vals, &n, "d"), HV_E_PARSE);
    assert_hv_error(hv_parse_distance_row("10 x", &vals, &n, "d"), HV_E_PARSE);
    assert_hv_error(hv_parse_distance_row("10,20", &vals, &n, "d"), HV_E_PARSE);
}

static void test_resource(void **state)
{
    static const char h100[] = "0x0000102002000000 0x0000102002ffffff 0x000000000014220c\n"
                               "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                               "0x0000100000000000 0x0000101fffffffff 0x000000000014220c\n"
                               "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                               "0x0000102000000000 0x0000102001ffffff 0x000000000014220c\n"
                               "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                               "0x00000000a1000000 0x00000000a107ffff 0x0000000000046200\n";
    hv_resource_line lines[6];
    size_t n;

    assert_hv_ok(hv_parse_resource(h100, lines, 6, &n, "r"));
    assert_int_equal(n, 6); /* the ROM line is beyond the 6 BARs asked for */
    assert_true(lines[0].size == UINT64_C(16) << 20);
    assert_true(lines[2].size == UINT64_C(128) << 30);
    assert_true(lines[4].size == UINT64_C(32) << 20);
    assert_int_equal(lines[1].size, 0);
    assert_true(lines[2].flags & HV_IORESOURCE_MEM_64);
    assert_true(lines[2].flags & HV_IORESOURCE_PREFETCH);
    assert_false(lines[2].flags & HV_IORESOURCE_IO);

    assert_hv_error(hv_parse_resource("0x10 0x0f 0x200\n", lines, 6, &n, "r"), HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "r:1");
    /* size 2^64: start 0, end all ones */
    assert_hv_error(hv_parse_resource("0x0000000000000001 0x0000000000000002 0x200\n"
                                      "0x0000000000000000 0xffffffffffffffff 0x200\n",
                                      lines, 6, &n, "r"),
                    HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "r:2");
    assert_hv_error(hv_parse_resource("0x1 0x2\n", lines, 6, &n, "r"), HV_E_PARSE);
    assert_hv_error(hv_parse_resource("0x1 0x2 0x3 0x4\n", lines, 6, &n, "r"), HV_E_PARSE);
    assert_hv_error(hv_parse_resource("0x1\n0x2 0x3\n", lines, 6, &n, "r"), HV_E_PARSE);
    assert_hv_error(hv_parse_resource("0x10000000000000000 0x1 0x2\n", lines, 6, &n, "r"),
                    HV_E_PARSE);
    assert_hv_ok(hv_parse_resource("", lines, 6, &n, "r"));
    assert_int_equal(n, 0);
}

static void test_cpuinfo(void **state)
{
    static const char text[] = "processor\t: 0\nvendor_id\t: GenuineIntel\n"
                               "model name\t: Intel(R) Xeon(R) Processor\ncpu MHz\t\t: 2100.000\n"
                               "flags\t\t: fpu pse pdpe1gb   hypervisor\n"
                               "address sizes\t: 46 bits physical, 57 bits virtual\n\n"
                               "processor\t: 1\nflags\t\t: fpu\n";
    hv_cpuinfo info;

    assert_hv_ok(hv_parse_cpuinfo(text, &info, "proc/cpuinfo"));
    assert_int_equal(info.processors, 2);
    assert_string_equal(info.model_name, "Intel(R) Xeon(R) Processor");
    assert_string_equal(info.vendor, "GenuineIntel");
    assert_int_equal(info.phys_addr_bits, 46);
    assert_int_equal(info.virt_addr_bits, 57);
    assert_true(info.has_pdpe1gb);
    assert_true(info.has_hypervisor);
    assert_false(info.has_aperfmperf);
    assert_true(info.mhz > 2099.9 && info.mhz < 2100.1);

    assert_hv_ok(hv_parse_cpuinfo("flags : xpdpe1gb pdpe1gbx\n", &info, "c"));
    assert_false(info.has_pdpe1gb);
    assert_hv_error(hv_parse_cpuinfo("address sizes : lots\n", &info, "c"), HV_E_PARSE);
    assert_hv_error(
        hv_parse_cpuinfo("address sizes : 99 bits physical, 48 bits virtual\n", &info, "c"),
        HV_E_PARSE);
    assert_hv_ok(hv_parse_cpuinfo("", &info, "c"));
    assert_int_equal(info.processors, 0);
}

static void test_small_formats(void **state)
{
    uint64_t bytes;
    int number;
    char name[16];

    assert_hv_ok(hv_parse_hugepage_dirname("hugepages-2048kB", &bytes));
    assert_int_equal(bytes, 2097152);
    assert_hv_ok(hv_parse_hugepage_dirname("hugepages-1048576kB", &bytes));
    assert_true(bytes == UINT64_C(1) << 30);
    assert_int_equal(hv_parse_hugepage_dirname("hugepages-2048", &bytes), HV_E_PARSE);
    assert_int_equal(hv_parse_hugepage_dirname("hugepages-0kB", &bytes), HV_E_PARSE);
    assert_int_equal(hv_parse_hugepage_dirname("huge-2048kB", &bytes), HV_E_PARSE);

    assert_hv_ok(hv_parse_numbered_state("4: ACTIVE\n", &number, name, sizeof(name), "s"));
    assert_int_equal(number, 4);
    assert_string_equal(name, "ACTIVE");
    assert_hv_ok(hv_parse_numbered_state("5: LinkUp", &number, name, sizeof(name), "s"));
    assert_string_equal(name, "LinkUp");
    assert_hv_error(hv_parse_numbered_state("ACTIVE", &number, name, sizeof(name), "s"),
                    HV_E_PARSE);

    assert_int_equal(hv_parse_rate_gbps("100 Gb/sec (4X EDR)"), 100);
    assert_int_equal(hv_parse_rate_gbps("200 Gb/sec (4X HDR)\n"), 200);
    assert_int_equal(hv_parse_rate_gbps("2.5 Gb/sec (1X SDR)"), 2);
    assert_int_equal(hv_parse_rate_gbps("fast"), 0);

    assert_int_equal(hv_roce_active_mtu(9000), 4096);
    assert_int_equal(hv_roce_active_mtu(1500), 1024);
    assert_int_equal(hv_roce_active_mtu(4200), 4096);
    assert_int_equal(hv_roce_active_mtu(4191), 2048);
    assert_int_equal(hv_roce_active_mtu(300), 0);
    assert_int_equal(hv_roce_active_mtu(0), 0);

    assert_int_equal(hv_parse_link_speed_mts("32.0 GT/s PCIe"), 32000);
    assert_int_equal(hv_parse_link_speed_mts("2.5 GT/s PCIe\n"), 2500);
    assert_int_equal(hv_parse_link_speed_mts("Unknown"), 0);

    assert_true(hv_is_pci_address("0000:41:00.0"));
    assert_true(hv_is_pci_address("0000:bd:1f.7"));
    assert_false(hv_is_pci_address("0000:41:00"));
    assert_false(hv_is_pci_address("0000-41:00.0"));
    assert_false(hv_is_pci_address("../0000:41:00.0"));

    char text[] = "  \t hello world \n\n";
    hv_text_trim(text);
    assert_string_equal(text, "hello world");
}

/* A rejection names the file and says what was expected; it never quotes the text. */
static void assert_rejects_quietly(int rc, const char *says)
{
    const char *message = hv_error_message(hv_error_last());

    assert_true(rc == HV_E_PARSE);
    if (!strstr(message, says) || strstr(message, "hunter2") || strchr(message, '\033'))
        fail_msg("\"%s\" should say \"%s\" and quote nothing of the text", message, says);
}

static void test_rejections_quote_nothing(void **state)
{
    static const char secret[] = "root:hunter2\033[31m:19000:0:99999:7:::\n";
    uint64_t u;
    int64_t i;
    int *vals = NULL, number;
    size_t n;
    hv_cpuinfo info;
    char name[16];

    assert_rejects_quietly(hv_parse_u64(secret, &u, "f"), "f does not hold one number");
    assert_rejects_quietly(hv_parse_i64(secret, &i, "f"), "f does not hold one number");
    assert_rejects_quietly(hv_parse_u64(" \n", &u, "f"), "f is empty: expected a number");
    assert_rejects_quietly(hv_parse_distance_row(secret, &vals, &n, "d"),
                           "d is not a row of NUMA distances");
    assert_rejects_quietly(hv_parse_distance_row("10 256", &vals, &n, "d"),
                           "d: distance 2 is 256; NUMA distances are 0-255");
    assert_rejects_quietly(hv_parse_cpuinfo("address sizes : root:hunter2 bits\n", &info, "c"),
                           "c: the 'address sizes' line is not 'N bits physical, M bits virtual'");
    assert_rejects_quietly(hv_parse_numbered_state(secret, &number, name, sizeof(name), "s"),
                           "s is not 'N: NAME'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_resource),
        cmocka_unit_test(test_cpuinfo),
        cmocka_unit_test(test_small_formats),
        cmocka_unit_test(test_rejections_quote_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

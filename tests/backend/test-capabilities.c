/*
 * tests/backend/test-capabilities.c - hosts from libvirt capabilities XML:
 * exact facts of three documents (libvirt's test driver, this kind of VM,
 * a hand-written 2-socket host) and the malformed ones.
 */
#include "hv-test.h"

#include <stdio.h>

#define GiB(n) ((uint64_t)(n) << 30)

static char *slurp(const char *rel)
{
    FILE *f = fopen(hv_test_fixture(rel), "r");
    char *buf = calloc(1, 1 << 20);

    assert_non_null(f);
    assert_non_null(buf);
    fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    return buf;
}

static hv_host *caps_host(const char *rel)
{
    char *xml = slurp(rel);
    hv_host *host = NULL;

    assert_hv_ok(hv_host_from_libvirt_capabilities(xml, &host));
    free(xml);
    return host;
}

static void test_two_socket(void **state)
{
    hv_host *host = caps_host("libvirt/two-socket-caps.xml");
    const hv_host_node *n0 = hv_host_node_by_id(host, 0), *n1 = hv_host_node_by_id(host, 1);
    uint64_t total = 0, free_pages = 0;

    assert_int_equal(hv_host_cpu_count(host), 16);
    assert_int_equal(hv_host_core_count(host), 8);
    assert_int_equal(hv_host_package_count(host), 2);
    assert_int_equal(hv_host_threads_per_core(host), 2);
    assert_int_equal(hv_host_phys_addr_bits(host), 46);
    assert_true(hv_host_has_1g_pages(host));
    assert_string_equal(hv_host_cpu_model(host), "Icelake-Server");
    assert_string_equal(hv_host_node_cpulist(n0), "0-3,8-11");
    assert_string_equal(hv_host_node_cpulist(n1), "4-7,12-15");
    assert_int_equal(hv_host_node_core_count(n1), 4);
    assert_true(hv_host_node_memory_bytes(n0) == GiB(64));
    assert_int_equal(hv_host_node_distance(n0, 1), 21);
    assert_int_equal(hv_host_node_distance(n1, 1), 10);
    assert_hv_ok(hv_host_node_hugepages(n0, GiB(1), &total, &free_pages));
    assert_int_equal(total, 8);
    assert_hv_ok(hv_host_node_hugepages(n1, UINT64_C(2) << 20, &total, NULL));
    assert_int_equal(total, 1024);
    assert_true(hv_host_memory_bytes(host) == GiB(128));
    assert_int_equal(hv_host_cpu_package(hv_host_cpu_by_id(host, 12)), 1);
    assert_int_equal(hv_host_cpu_node(hv_host_cpu_by_id(host, 12)), 1);
    hv_host_free(host);
}

static void test_libvirt_documents(void **state)
{
    hv_host *test = caps_host("libvirt/test-driver-caps.xml");
    hv_host *vm = caps_host("libvirt/epyc-2cpu-vm-caps.xml");

    assert_int_equal(hv_host_cpu_count(test), 16);
    assert_int_equal(hv_host_node_count(test), 2);
    assert_true(hv_host_node_memory_bytes(hv_host_node_at(test, 1)) == GiB(4));
    /* the test driver publishes no SLIT: local 10, remote unknown */
    assert_int_equal(hv_host_node_distance(hv_host_node_at(test, 0), 0), 10);
    assert_int_equal(hv_host_node_distance(hv_host_node_at(test, 0), 1), -1);
    assert_int_equal(hv_host_cpu_count(vm), 2);
    assert_int_equal(hv_host_phys_addr_bits(vm), 48);
    assert_int_equal(hv_host_node_count(vm), 1);
    hv_host_free(test);
    hv_host_free(vm);
}

static void test_bad_documents(void **state)
{
    hv_host *host = (hv_host *)0x1;

    assert_hv_error(hv_host_from_libvirt_capabilities("<capabilities", &host), HV_E_PARSE);
    assert_null(host);
    assert_hv_error(hv_host_from_libvirt_capabilities("<other/>", &host), HV_E_PARSE);
    assert_hv_error(
        hv_host_from_libvirt_capabilities("<capabilities><host/></capabilities>", &host),
        HV_E_PARSE);
    assert_error_mentions("NUMA topology");
    assert_hv_error(hv_host_from_libvirt_capabilities(
                        "<capabilities><host><topology><cells num='1'><cell id='9999'>"
                        "<memory unit='KiB'>1024</memory></cell></cells></topology></host>"
                        "</capabilities>",
                        &host),
                    HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "cell[0]");
    assert_hv_error(hv_host_from_libvirt_capabilities(
                        "<capabilities><host><topology><cells num='1'><cell id='0'>"
                        "<memory unit='KiB'>1024</memory><cpus num='1'><cpu id='x'/></cpus>"
                        "</cell></cells></topology></host></capabilities>",
                        &host),
                    HV_E_PARSE);
    /* a cell without CPUs is a document hv_host_from_json() refuses (no CPU at all) */
    assert_hv_error(hv_host_from_libvirt_capabilities(
                        "<capabilities><host><topology><cells num='1'><cell id='0'>"
                        "<memory unit='KiB'>1024</memory></cell></cells></topology></host>"
                        "</capabilities>",
                        &host),
                    HV_E_PARSE);
    assert_hv_error(hv_host_from_libvirt_capabilities(NULL, &host), HV_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_socket),
        cmocka_unit_test(test_libvirt_documents),
        cmocka_unit_test(test_bad_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

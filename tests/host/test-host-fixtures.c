/*
 * tests/host/test-host-fixtures.c - discovery of every fixture host with the
 * exact facts of tests/fixtures/hosts/README.md, JSON round trips, and this
 * machine (libnuma and sysfs must agree).
 */
#include "hv-test.h"

#define GiB(n)         ((uint64_t)(n) << 30)
#define MiB(n)         ((uint64_t)(n) << 20)
#define A100_BAR_TOTAL UINT64_C(137489285120)

static hv_host *discover(const char *fixture)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    char root[4096];
    hv_host *host = NULL;

    snprintf(root, sizeof(root), "%s", hv_test_fixture(fixture));
    opts.root = root;
    assert_hv_ok(hv_host_discover(&host, &opts));
    assert_non_null(host);
    return host;
}

static bool has_finding(const hv_host *host, const char *code)
{
    for (size_t i = 0; i < hv_host_finding_count(host); i++)
        if (strcmp(hv_finding_code(hv_host_finding_at(host, i)), code) == 0)
            return true;
    return false;
}

static void check_bar(const hv_accelerator *acc, size_t i, unsigned int index, uint64_t size,
                      bool is_64bit, bool prefetchable)
{
    const hv_pci_bar *bar = hv_accelerator_bar_at(acc, i);

    assert_non_null(bar);
    assert_int_equal(hv_pci_bar_index(bar), index);
    assert_true(hv_pci_bar_size_bytes(bar) == size);
    assert_int_equal(hv_pci_bar_is_64bit(bar), is_64bit);
    assert_int_equal(hv_pci_bar_is_prefetchable(bar), prefetchable);
    assert_false(hv_pci_bar_is_io(bar));
}

static void test_h100_vm(void **state)
{
    hv_host *host = discover("hosts/h100-passthrough-vm");
    const hv_host_node *node;
    const hv_accelerator *gpu;

    assert_int_equal(hv_host_cpu_count(host), 16);
    assert_int_equal(hv_host_core_count(host), 16);
    assert_int_equal(hv_host_package_count(host), 1);
    assert_int_equal(hv_host_die_count(host), 1);
    assert_int_equal(hv_host_threads_per_core(host), 1);
    assert_int_equal(hv_host_phys_addr_bits(host), 46);
    assert_int_equal(hv_host_virt_addr_bits(host), 57);
    assert_true(hv_host_has_1g_pages(host));
    assert_string_equal(hv_host_cpu_model(host), "Intel(R) Xeon(R) Processor");
    assert_true(hv_host_memory_bytes(host) == UINT64_C(135148564480));
    assert_false(hv_host_node_memory_consistent(host));
    assert_true(has_finding(host, "host.numa.memory-mismatch"));
    assert_int_equal(hv_host_node_count(host), 1);
    node = hv_host_node_at(host, 0);
    assert_int_equal(hv_host_node_id(node), 0);
    assert_string_equal(hv_host_node_cpulist(node), "0-15");
    assert_true(hv_host_node_memory_bytes(node) == UINT64_C(4659331072));
    assert_true(hv_host_node_free_bytes(node) == UINT64_C(3394125824));
    assert_int_equal(hv_host_node_distance(node, 0), 10);
    assert_int_equal(hv_host_node_distance(node, 1), -1);
    assert_int_equal(hv_host_node_hugepage_size_count(node), 2);

    assert_int_equal(hv_host_accelerator_count(host), 1);
    gpu = hv_host_accelerator_at(host, 0);
    assert_string_equal(hv_accelerator_pci_address(gpu), "0000:00:06.0");
    assert_int_equal(hv_accelerator_vendor_id(gpu), 0x10de);
    assert_int_equal(hv_accelerator_device_id(gpu), 0x2330);
    assert_int_equal(hv_accelerator_subsystem_device_id(gpu), 0x16c1);
    assert_int_equal(hv_accelerator_class_code(gpu), 0x030200);
    assert_int_equal(hv_accelerator_kind(gpu), HV_ACCELERATOR_GPU);
    assert_string_equal(hv_accelerator_model(gpu), "NVIDIA H100 SXM5 80GB");
    assert_string_equal(hv_accelerator_model_id(gpu), "h100-sxm5-80gb");
    assert_int_equal(hv_accelerator_numa_node(gpu), -1);
    assert_int_equal(hv_accelerator_iommu_group(gpu), -1);
    assert_string_equal(hv_accelerator_driver(gpu), "nvidia");
    assert_string_equal(hv_accelerator_link_speed(gpu), "32.0 GT/s PCIe");
    assert_int_equal(hv_accelerator_link_width(gpu), 16);
    assert_int_equal(hv_accelerator_bar_count(gpu), 3);
    check_bar(gpu, 0, 0, MiB(16), true, true);
    check_bar(gpu, 1, 2, GiB(128), true, true);
    check_bar(gpu, 2, 4, MiB(32), true, true);
    assert_true(hv_pci_bar_start(hv_accelerator_bar_at(gpu, 1)) == UINT64_C(0x100000000000));
    assert_true(hv_accelerator_bar_total_bytes(gpu) == A100_BAR_TOTAL);
    assert_ptr_equal(hv_host_accelerator_by_address(host, "0000:00:06.0"), gpu);
    assert_null(hv_host_accelerator_by_address(host, "0000:00:03.0")); /* virtio-net */
    assert_int_equal(hv_host_rdma_count(host), 0);
    hv_host_free(host);
}

static void test_epyc_vm(void **state)
{
    hv_host *host = discover("hosts/epyc-2cpu-vm");
    const hv_host_node *node = hv_host_node_at(host, 0);
    uint64_t total = 99, free_pages = 99;

    assert_int_equal(hv_host_cpu_count(host), 2);
    assert_int_equal(hv_host_threads_per_core(host), 1);
    assert_int_equal(hv_host_phys_addr_bits(host), 48);
    assert_false(hv_host_has_1g_pages(host));
    assert_string_equal(hv_host_cpu_model(host), "AMD EPYC");
    assert_string_equal(hv_host_node_cpulist(node), "0-1");
    assert_true(hv_host_node_memory_bytes(node) == UINT64_C(5194416128));
    assert_int_equal(hv_host_node_hugepage_size_count(node), 1);
    assert_hv_ok(hv_host_node_hugepages(node, MiB(2), &total, &free_pages));
    assert_int_equal(total, 0);
    assert_int_equal(free_pages, 0);
    assert_hv_error(hv_host_node_hugepages(node, GiB(1), &total, NULL), HV_E_NOTFOUND);
    assert_int_equal(hv_host_accelerator_count(host), 0);
    assert_true(has_finding(host, "host.numa.memory-mismatch"));
    hv_host_free(host);
}

static void test_dgx(void **state)
{
    static const char *const gpus[] = {"0000:07:00.0", "0000:0f:00.0", "0000:47:00.0",
                                       "0000:4e:00.0", "0000:87:00.0", "0000:90:00.0",
                                       "0000:b7:00.0", "0000:bd:00.0"};
    static const int groups[] = {20, 22, 40, 41, 80, 82, 100, 101};
    hv_host *host = discover("hosts/dgx-a100-roce");
    const hv_host_node *n0, *n1;

    assert_int_equal(hv_host_cpu_count(host), 256);
    assert_int_equal(hv_host_core_count(host), 128);
    assert_int_equal(hv_host_package_count(host), 2);
    assert_int_equal(hv_host_threads_per_core(host), 2);
    assert_int_equal(hv_host_phys_addr_bits(host), 48);
    assert_true(hv_host_base_frequency_khz(host) == 2250000);
    assert_true(hv_host_node_memory_consistent(host));
    assert_int_equal(hv_host_finding_count(host), 0);
    n0 = hv_host_node_by_id(host, 0);
    n1 = hv_host_node_by_id(host, 1);
    assert_string_equal(hv_host_node_cpulist(n0), "0-63,128-191");
    assert_string_equal(hv_host_node_cpulist(n1), "64-127,192-255");
    assert_int_equal(hv_host_node_cpu_count(n0), 128);
    assert_int_equal(hv_host_node_core_count(n0), 64);
    assert_true(hv_host_node_memory_bytes(n0) == GiB(1024));
    assert_true(hv_host_node_free_bytes(n0) == GiB(1000));
    assert_true(hv_host_node_free_bytes(n1) == GiB(1008));
    assert_int_equal(hv_host_node_distance(n0, 1), 32);
    assert_int_equal(hv_host_node_distance(n1, 1), 10);
    assert_int_equal(hv_host_cpu_node(hv_host_cpu_by_id(host, 130)), 0);
    assert_int_equal(hv_host_cpu_node(hv_host_cpu_by_id(host, 200)), 1);
    assert_int_equal(hv_host_cpu_package(hv_host_cpu_by_id(host, 200)), 1);
    assert_null(hv_host_cpu_by_id(host, 256));

    assert_int_equal(hv_host_accelerator_count(host), 8); /* the NICs are not accelerators */
    for (size_t i = 0; i < 8; i++) {
        const hv_accelerator *gpu = hv_host_accelerator_at(host, i);

        assert_string_equal(hv_accelerator_pci_address(gpu), gpus[i]);
        assert_int_equal(hv_accelerator_numa_node(gpu), i < 4 ? 0 : 1);
        assert_int_equal(hv_accelerator_iommu_group(gpu), groups[i]);
        assert_string_equal(hv_accelerator_iommu_group_members(gpu), gpus[i]);
        assert_string_equal(hv_accelerator_model(gpu), "NVIDIA A100 SXM4 80GB");
        assert_int_equal(hv_accelerator_bar_count(gpu), 3);
        check_bar(gpu, 0, 0, MiB(16), false, false);
        check_bar(gpu, 1, 1, GiB(128), true, true);
        check_bar(gpu, 2, 3, MiB(32), true, true);
        assert_true(hv_accelerator_bar_total_bytes(gpu) == A100_BAR_TOTAL);
        assert_int_equal(hv_accelerator_sriov_total_vfs(gpu), 0);
    }

    assert_int_equal(hv_host_rdma_count(host), 4);
    for (size_t i = 0; i < 4; i++) {
        const hv_rdma_device *dev = hv_host_rdma_at(host, i);
        const hv_rdma_port *port = hv_rdma_device_port_at(dev, 0);
        const char *name = hv_rdma_device_name(dev);
        bool roce = strcmp(name, "mlx5_0") == 0 || strcmp(name, "mlx5_1") == 0;

        assert_int_equal(hv_rdma_device_port_count(dev), 1);
        assert_string_equal(hv_rdma_device_node_type(dev), "CA");
        assert_string_equal(hv_rdma_port_state(port), "ACTIVE");
        assert_string_equal(hv_rdma_port_phys_state(port), "LinkUp");
        assert_int_equal(hv_rdma_port_number(port), 1);
        if (roce) {
            const hv_rdma_gid *g1 = hv_rdma_port_gid_at(port, 1);

            assert_int_equal(hv_rdma_port_link_layer(port), HV_RDMA_LINK_ETHERNET);
            assert_int_equal(hv_rdma_port_active_mtu(port), 4096);
            assert_int_equal(hv_rdma_port_rate_gbps(port), 100);
            assert_string_equal(hv_rdma_port_rate(port), "100 Gb/sec (4X EDR)");
            assert_int_equal(hv_rdma_port_gid_count(port), 4);
            assert_int_equal(hv_rdma_gid_index(g1), 1);
            assert_int_equal(hv_rdma_gid_type(hv_rdma_port_gid_at(port, 0)),
                             HV_RDMA_GID_IB_ROCE_V1);
            assert_int_equal(hv_rdma_gid_type(g1), HV_RDMA_GID_ROCE_V2);
            assert_int_equal(hv_rdma_gid_type(hv_rdma_port_gid_at(port, 3)), HV_RDMA_GID_ROCE_V2);
            assert_int_equal(hv_rdma_device_sriov_total_vfs(dev), 8);
            assert_int_equal(hv_rdma_device_sriov_enabled_vfs(dev), 4);
        } else {
            assert_int_equal(hv_rdma_port_link_layer(port), HV_RDMA_LINK_INFINIBAND);
            assert_int_equal(hv_rdma_port_active_mtu(port), 0);
            assert_int_equal(hv_rdma_port_rate_gbps(port), 200);
            assert_int_equal(hv_rdma_port_gid_count(port), 1);
            assert_int_equal(hv_rdma_gid_type(hv_rdma_port_gid_at(port, 0)), HV_RDMA_GID_UNKNOWN);
            assert_string_equal(hv_rdma_port_netdev(port), "");
        }
        if (strcmp(name, "mlx5_0") == 0) {
            assert_string_equal(hv_rdma_device_pci_address(dev), "0000:61:00.0");
            assert_int_equal(hv_rdma_device_numa_node(dev), 0);
            assert_string_equal(hv_rdma_port_netdev(port), "enp97s0f0np0");
            assert_string_equal(hv_rdma_gid_text(hv_rdma_port_gid_at(port, 2)),
                                "0000:0000:0000:0000:0000:ffff:c0a8:0a01");
            assert_string_equal(hv_rdma_device_fw_version(dev), "22.31.1014");
        }
        if (strcmp(name, "mlx5_3") == 0) {
            assert_string_equal(hv_rdma_device_pci_address(dev), "0000:8d:00.0");
            assert_int_equal(hv_rdma_device_numa_node(dev), 1);
        }
    }
    hv_host_free(host);
}

static void test_hugepages_host(void **state)
{
    hv_host *host = discover("hosts/hugepages-2node");
    const hv_host_node *n0 = hv_host_node_by_id(host, 0), *n1 = hv_host_node_by_id(host, 1);
    const hv_accelerator *l40s, *a10, *d5005;
    uint64_t total, free_pages;

    assert_int_equal(hv_host_cpu_count(host), 64);
    assert_int_equal(hv_host_core_count(host), 32);
    assert_int_equal(hv_host_package_count(host), 1);
    assert_int_equal(hv_host_node_core_count(n0), 16);
    assert_int_equal(hv_host_node_distance(n0, 1), 11);
    assert_int_equal(hv_host_node_hugepage_size_count(n0), 2);
    assert_true(hv_host_node_hugepage_size_at(n0, 0) == MiB(2));
    assert_true(hv_host_node_hugepage_size_at(n0, 1) == GiB(1));
    assert_hv_ok(hv_host_node_hugepages(n0, MiB(2), &total, &free_pages));
    assert_int_equal(total, 4096);
    assert_int_equal(free_pages, 4096);
    assert_hv_ok(hv_host_node_hugepages(n0, GiB(1), &total, &free_pages));
    assert_int_equal(total, 64);
    assert_int_equal(free_pages, 60);
    assert_hv_ok(hv_host_node_hugepages(n1, MiB(2), &total, &free_pages));
    assert_int_equal(total, 2048);
    assert_int_equal(free_pages, 1024);
    assert_hv_ok(hv_host_node_hugepages(n1, GiB(1), &total, &free_pages));
    assert_int_equal(total, 32);
    assert_int_equal(free_pages, 32);

    assert_int_equal(hv_host_accelerator_count(host), 3);
    a10 = hv_host_accelerator_by_address(host, "0000:31:00.0");
    l40s = hv_host_accelerator_by_address(host, "0000:4b:00.0");
    d5005 = hv_host_accelerator_by_address(host, "0000:65:00.0");
    assert_int_equal(hv_accelerator_kind(a10), HV_ACCELERATOR_FPGA);
    assert_int_equal(hv_accelerator_kind(d5005), HV_ACCELERATOR_FPGA);
    assert_int_equal(hv_accelerator_kind(l40s), HV_ACCELERATOR_GPU);
    assert_string_equal(hv_accelerator_model(l40s), "NVIDIA L40S");
    assert_true(hv_accelerator_bar_total_bytes(l40s) == UINT64_C(68769808384));
    assert_string_equal(hv_accelerator_link_speed(l40s), "2.5 GT/s PCIe");
    assert_string_equal(hv_accelerator_max_link_speed(l40s), "16.0 GT/s PCIe");
    assert_int_equal(hv_accelerator_mdev_type_count(l40s), 3);
    assert_string_equal(hv_accelerator_mdev_type_id(l40s, 0), "nvidia-1155");
    assert_string_equal(hv_accelerator_mdev_type_name(l40s, 0), "NVIDIA L40S-4Q");
    assert_int_equal(hv_accelerator_mdev_type_available(l40s, 0), 12);
    assert_string_equal(hv_accelerator_mdev_type_name(l40s, 2), "NVIDIA L40S-48Q");
    assert_int_equal(hv_accelerator_mdev_type_available(l40s, 2), 1);
    assert_int_equal(hv_accelerator_mdev_type_available(l40s, 3), -1);
    assert_int_equal(hv_accelerator_sriov_total_vfs(d5005), 3);
    assert_int_equal(hv_accelerator_sriov_enabled_vfs(d5005), 0);
    assert_int_equal(hv_accelerator_numa_node(d5005), 1);
    check_bar(d5005, 0, 0, 524288, true, false);
    check_bar(d5005, 1, 2, 524288, true, true);
    assert_true(hv_accelerator_bar_total_bytes(d5005) == 1048576);
    assert_string_equal(hv_accelerator_driver(a10), "dfl-pci");
    assert_int_equal(hv_accelerator_sriov_total_vfs(a10), 1);
    hv_host_free(host);
}

static void test_vsphere_limits(void **state)
{
    hv_host *max = discover("hosts/vsphere-max");
    hv_host *over = discover("hosts/vsphere-over-max");
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *q35 = NULL;
    char root[4096];

    assert_int_equal(hv_host_cpu_count(max), 576);
    assert_int_equal(hv_host_node_count(max), 16);
    assert_true(hv_host_memory_bytes(max) == UINT64_C(12) << 40);
    assert_int_equal(hv_host_package_count(max), 8);
    assert_int_equal(hv_host_core_count(max), 288);
    assert_string_equal(hv_host_node_cpulist(hv_host_node_by_id(max, 15)), "270-287,558-575");
    assert_int_equal(hv_host_node_distance(hv_host_node_by_id(max, 0), 1), 12);
    assert_int_equal(hv_host_node_distance(hv_host_node_by_id(max, 0), 2), 21);
    assert_int_equal(hv_host_finding_count(max), 0);

    assert_int_equal(hv_host_cpu_count(over), 640);
    assert_int_equal(hv_host_node_count(over), 32);
    assert_true(has_finding(over, "host.max.logical-cpus"));
    assert_true(has_finding(over, "host.max.numa-nodes"));
    assert_true(has_finding(over, "host.max.memory"));
    assert_int_equal(hv_host_finding_count(over), 3);
    assert_string_equal(hv_finding_path(hv_host_finding_at(over, 0)), "cpus.logical");
    assert_int_equal(hv_finding_severity(hv_host_finding_at(over, 0)), HV_SEVERITY_WARNING);

    /* The same host has no host limits under kvm-q35. */
    snprintf(root, sizeof(root), "%s", hv_test_fixture("hosts/vsphere-over-max"));
    opts.root = root;
    opts.profile = "kvm-q35";
    assert_hv_ok(hv_host_discover(&q35, &opts));
    assert_string_equal(hv_host_profile(q35), "kvm-q35");
    assert_int_equal(hv_host_finding_count(q35), 0);
    hv_host_free(q35);
    hv_host_free(max);
    hv_host_free(over);
}

static void test_json_roundtrip(void **state)
{
    static const char *const fixtures[] = {"hosts/h100-passthrough-vm", "hosts/epyc-2cpu-vm",
                                           "hosts/dgx-a100-roce",       "hosts/hugepages-2node",
                                           "hosts/vsphere-max",         "hosts/vsphere-over-max"};

    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        hv_host *host = discover(fixtures[i]), *back = NULL;
        char *a = NULL, *b = NULL, *c = NULL;

        assert_hv_ok(hv_host_to_json(host, HV_JSON_PRETTY, &a));
        assert_hv_ok(hv_host_from_json(a, &back));
        assert_hv_ok(hv_host_to_json(back, HV_JSON_PRETTY, &b));
        assert_string_equal(a, b);
        assert_int_equal(hv_host_cpu_count(back), hv_host_cpu_count(host));
        assert_int_equal(hv_host_core_count(back), hv_host_core_count(host));
        assert_int_equal(hv_host_finding_count(back), hv_host_finding_count(host));
        /* Same bytes every time: deterministic output. */
        assert_hv_ok(hv_host_to_json(host, HV_JSON_PRETTY, &c));
        assert_string_equal(a, c);
        hv_free(a);
        hv_free(b);
        hv_free(c);
        hv_host_free(back);
        hv_host_free(host);
    }
}

static void test_this_machine(void **state)
{
    hv_host *host = NULL;

    assert_hv_ok(hv_host_discover(&host, NULL));
    assert_string_equal(hv_host_root(host), "/");
    assert_true(hv_host_cpu_count(host) >= 1);
    assert_true(hv_host_node_count(host) >= 1);
    assert_true(hv_host_memory_bytes(host) > 0);
    /* libnuma and sysfs agree here */
    assert_false(has_finding(host, "host.numa.libnuma-disagrees"));
    hv_host_free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h100_vm),
        cmocka_unit_test(test_epyc_vm),
        cmocka_unit_test(test_dgx),
        cmocka_unit_test(test_hugepages_host),
        cmocka_unit_test(test_vsphere_limits),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_this_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

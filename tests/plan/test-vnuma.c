/*
 * tests/plan/test-vnuma.c - automatic vNUMA: the vSphere 6.5+ table, the
 * balanced policy (memory-driven splits, device affinity, never more nodes
 * than the host), topology, pinning and guest distances.
 */
#include "test-hosts.h"

/* 2 nodes x 10 cores x 2 threads, 256 GiB per node (the vSphere docs' example host). */
static hv_host *two_by_ten(void)
{
    test_host_params p = {.nodes = 2,
                          .cores_per_node = 10,
                          .threads = 2,
                          .memory_per_node = GiB(256),
                          .free_per_node = GiB(250)};
    return test_host(&p);
}

static void check_layout(hv_plan *plan, size_t nodes, const unsigned int *vcpus)
{
    if (hv_plan_vnuma_node_count(plan) != nodes)
        print_findings(plan);
    assert_int_equal(hv_plan_vnuma_node_count(plan), nodes);
    for (size_t i = 0; i < nodes; i++)
        assert_int_equal(hv_plan_vnode_vcpu_count(hv_plan_vnuma_node_at(plan, i)), vcpus[i]);
}

static void test_vsphere_table(void **state)
{
    static const struct {
        unsigned int vcpus;
        bool prefer_ht;
        unsigned int cores_per_socket;
        size_t nodes;
        unsigned int split[4];
    } table[] = {
        {4, false, 0, 1, {4}},
        {8, false, 0, 1, {8}},
        {10, false, 0, 1, {10}},
        {12, false, 0, 2, {6, 6}},
        {16, false, 0, 2, {8, 8}},
        {20, false, 0, 2, {10, 10}},
        {16, true, 0, 1, {16}},
        {20, true, 0, 1, {20}},
        {16, false, 4, 2, {8, 8}},
        {16, false, 16, 2, {8, 8}},
        {40, false, 0, 4, {10, 10, 10, 10}},
    };
    hv_host *host = two_by_ten();

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        char json[256];
        hv_plan *plan;

        snprintf(json, sizeof(json),
                 "{\"vcpus\": %u, \"memory\": \"64GiB\", \"vnuma_policy\": \"vsphere\", "
                 "\"prefer_ht\": %s, \"cores_per_socket\": %u, \"profile\": \"kvm-q35\"}",
                 table[i].vcpus, table[i].prefer_ht ? "true" : "false", table[i].cores_per_socket);
        plan = test_plan(host, json);
        print_message("vsphere %u vCPUs%s cps %u\n", table[i].vcpus,
                      table[i].prefer_ht ? " preferHT" : "", table[i].cores_per_socket);
        check_layout(plan, table[i].nodes, table[i].split);
        hv_plan_free(plan);
    }
    hv_host_free(host);
}

/* vSphere ignores memory: a 4-vCPU VM with more memory than a node stays UMA. */
static void test_vsphere_ignores_memory(void **state)
{
    hv_host *host = two_by_ten();
    hv_plan *plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"400GiB\", \"vnuma_policy\": "
                                    "\"vsphere\"}");

    check_layout(plan, 1, (const unsigned int[]){4});
    assert_finding(plan, "plan.vnuma.memory-remote", HV_SEVERITY_WARNING);
    assert_true(hv_plan_ok(plan));
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_balanced(void **state)
{
    hv_host *host = two_by_ten();
    hv_plan *plan;

    /* memory drives the split: 400 GiB does not fit one node's 250 GiB free */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"400GiB\"}");
    check_layout(plan, 2, (const unsigned int[]){2, 2});
    assert_true(hv_plan_vnode_memory_bytes(hv_plan_vnuma_node_at(plan, 0)) == GiB(200));
    assert_true(hv_plan_ok(plan));
    hv_plan_free(plan);
    /* fits: UMA */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"200GiB\"}");
    check_layout(plan, 1, (const unsigned int[]){4});
    hv_plan_free(plan);
    /* like vSphere for CPUs */
    plan = test_plan(host, "{\"vcpus\": 12, \"memory\": \"16GiB\"}");
    check_layout(plan, 2, (const unsigned int[]){6, 6});
    assert_int_equal(hv_plan_sockets(plan), 2);
    assert_int_equal(hv_plan_cores_per_socket(plan), 6);
    assert_int_equal(hv_plan_threads_per_core(plan), 1);
    hv_plan_free(plan);
    /* odd count: uneven split with a warning, topology cannot follow nodes */
    plan = test_plan(host, "{\"vcpus\": 13, \"memory\": \"16GiB\"}");
    check_layout(plan, 2, (const unsigned int[]){7, 6});
    assert_finding(plan, "plan.vnuma.uneven", HV_SEVERITY_WARNING);
    assert_int_equal(hv_plan_sockets(plan), 13);
    hv_plan_free(plan);
    /* never more nodes than the host has: 40 vCPUs are 2 nodes of 20 (SMT threads) */
    plan = test_plan(host, "{\"vcpus\": 40, \"memory\": \"16GiB\", \"profile\": \"kvm-q35\"}");
    check_layout(plan, 2, (const unsigned int[]){20, 20});
    assert_null(plan_finding(plan, "plan.vnuma.shared-host-node"));
    hv_plan_free(plan);
    /* more memory than the whole host: error */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"600GiB\"}");
    assert_false(hv_plan_ok(plan));
    assert_finding(plan, "plan.host.memory", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    /* more vCPUs than host CPUs */
    plan = test_plan(host, "{\"vcpus\": 41, \"memory\": \"16GiB\", \"profile\": \"kvm-q35\"}");
    assert_finding(plan, "plan.host.vcpus", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_explicit_vnuma(void **state)
{
    hv_host *host = two_by_ten();
    hv_plan *plan =
        test_plan(host, "{\"vcpus\": 6, \"memory\": \"6GiB\", \"vnuma\": [{\"vcpus\": 4, "
                        "\"memory\": \"4GiB\"}, {\"vcpus\": 2, \"memory\": \"2GiB\"}]}");

    check_layout(plan, 2, (const unsigned int[]){4, 2});
    assert_string_equal(hv_plan_vnode_vcpus(hv_plan_vnuma_node_at(plan, 1)), "4-5");
    assert_true(hv_plan_vnode_memory_bytes(hv_plan_vnuma_node_at(plan, 1)) == GiB(2));
    assert_true(hv_plan_ok(plan));
    hv_plan_free(plan);
    plan = test_plan(host, "{\"vcpus\": 6, \"memory\": \"6GiB\", \"vnuma\": [{\"vcpus\": 4, "
                           "\"memory\": \"4GiB\"}, {\"vcpus\": 1, \"memory\": \"2GiB\"}]}");
    assert_finding(plan, "plan.vnuma.sum", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.vnuma.sum")), "vnuma");
    hv_plan_free(plan);
    /* more vNUMA vCPUs than the VM has, pinned: only the VM's vCPUs get pins
     * (found by fuzz-spec-json: pins were written past the VM's vCPUs) */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"cpu_placement\": "
                           "\"dedicated\", \"vnuma\": [{\"vcpus\": 34, \"memory\": \"2GiB\"}, "
                           "{\"vcpus\": 4, \"memory\": \"2GiB\"}]}");
    assert_finding(plan, "plan.vnuma.sum", HV_SEVERITY_ERROR);
    assert_false(hv_plan_ok(plan));
    for (unsigned int v = 0; v < 4; v++)
        assert_true(hv_plan_vcpu_pin(plan, v) >= 0);
    assert_int_equal(hv_plan_vcpu_pin(plan, 4), -1);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_mapping_near_devices_and_distances(void **state)
{
    /* 4 nodes; distances 10 / 21; a GPU on node 2 */
    test_host_params p = {.nodes = 4,
                          .cores_per_node = 8,
                          .threads = 2,
                          .memory_per_node = GiB(128),
                          .free_per_node = GiB(120),
                          .accelerators_json =
                              "[{\"pci_address\": \"0000:41:00.0\", \"vendor_id\": \"10de\", "
                              "\"device_id\": \"20b2\", \"class\": \"030200\", \"numa_node\": 2, "
                              "\"iommu_group\": 7, \"iommu_group_members\": \"0000:41:00.0\", "
                              "\"bars\": [{\"index\": 0, \"size_bytes\": 16777216}]}]"};
    hv_host *host = test_host(&p);
    hv_plan *plan;

    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"8GiB\", \"accelerators\": "
                           "[{\"pci_address\": \"0000:41:00.0\"}]}");
    assert_int_equal(hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, 0)), 2);
    assert_int_equal(hv_plan_device_vnode(hv_plan_device_at(plan, 0)), 0);
    assert_int_equal(hv_plan_device_host_node(hv_plan_device_at(plan, 0)), 2);
    hv_plan_free(plan);
    /* without the GPU: the first node */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"8GiB\"}");
    assert_int_equal(hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, 0)), 0);
    hv_plan_free(plan);
    /* two nodes: the GPU's node and one more; guest distances follow the host's */
    plan = test_plan(host, "{\"vcpus\": 16, \"memory\": \"8GiB\", \"accelerators\": "
                           "[{\"pci_address\": \"0000:41:00.0\"}]}");
    assert_int_equal(hv_plan_vnuma_node_count(plan), 2);
    assert_int_equal(hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, 0)), 0);
    assert_int_equal(hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, 1)), 2);
    assert_int_equal(hv_plan_device_vnode(hv_plan_device_at(plan, 0)), 1);
    assert_int_equal(hv_plan_vnuma_distance(plan, 0, 0), 10);
    assert_int_equal(hv_plan_vnuma_distance(plan, 0, 1), 21);
    assert_int_equal(hv_plan_vnuma_distance(plan, 1, 0), 21);
    assert_int_equal(hv_plan_vnuma_distance(plan, 2, 0), -1);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_closest_nodes(void **state)
{
    /* the vsphere-max fixture: nodes in pairs per socket (12), else 21 */
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    hv_plan *plan;

    opts.root = hv_test_fixture("hosts/vsphere-max");
    assert_hv_ok(hv_host_discover(&host, &opts));
    /* 36 vCPUs: 2 nodes of 18 cores; the second must be the first's socket sibling */
    plan = test_plan(host, "{\"vcpus\": 36, \"memory\": \"64GiB\"}");
    assert_int_equal(hv_plan_vnuma_node_count(plan), 2);
    assert_int_equal(hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, 0)), 0);
    assert_int_equal(hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, 1)), 1);
    assert_int_equal(hv_plan_vnuma_distance(plan, 0, 1), 12);
    assert_string_equal(hv_plan_vnode_host_cpus(hv_plan_vnuma_node_at(plan, 1)), "18-35,306-323");
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_dedicated_pinning(void **state)
{
    hv_host *host = two_by_ten();
    hv_plan *plan;

    /* one vCPU per core first */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"8GiB\", \"cpu_placement\": "
                           "\"dedicated\"}");
    assert_int_equal(hv_plan_vcpu_pin(plan, 0), 0);
    assert_int_equal(hv_plan_vcpu_pin(plan, 3), 3);
    assert_string_equal(hv_plan_vnode_host_cpus(hv_plan_vnuma_node_at(plan, 0)), "0-3");
    assert_int_equal(hv_plan_vcpu_pin(plan, 4), -1);
    hv_plan_free(plan);
    /* SMT pairs: guest cores of 2 threads on host sibling pairs */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"8GiB\", \"cpu_placement\": "
                           "\"dedicated\", \"threads_per_core\": 2}");
    assert_int_equal(hv_plan_vcpu_pin(plan, 0), 0);
    assert_int_equal(hv_plan_vcpu_pin(plan, 1), 20);
    assert_int_equal(hv_plan_vcpu_pin(plan, 2), 1);
    assert_int_equal(hv_plan_vcpu_pin(plan, 3), 21);
    assert_int_equal(hv_plan_threads_per_core(plan), 2);
    assert_int_equal(hv_plan_cores_per_socket(plan), 2);
    hv_plan_free(plan);
    /* more vCPUs than cores: siblings after all cores, with a warning */
    plan = test_plan(host, "{\"vcpus\": 20, \"memory\": \"8GiB\", \"cpu_placement\": "
                           "\"dedicated\", \"vnuma\": [{\"vcpus\": 20, \"memory\": \"8GiB\"}]}");
    assert_int_equal(hv_plan_vcpu_pin(plan, 9), 9);
    assert_int_equal(hv_plan_vcpu_pin(plan, 10), 20);
    assert_int_equal(hv_plan_vcpu_pin(plan, 19), 29);
    assert_finding(plan, "plan.cpu.smt-shared", HV_SEVERITY_WARNING);
    hv_plan_free(plan);
    /* second vNUMA node pins on the second host node */
    plan = test_plan(host, "{\"vcpus\": 12, \"memory\": \"8GiB\", \"cpu_placement\": "
                           "\"dedicated\"}");
    assert_int_equal(hv_plan_vcpu_pin(plan, 6), 10);
    assert_string_equal(hv_plan_vnode_host_cpus(hv_plan_vnuma_node_at(plan, 1)), "10-15");
    hv_plan_free(plan);
    /* shared: the whole node's CPUs */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"8GiB\"}");
    assert_string_equal(hv_plan_vnode_host_cpus(hv_plan_vnuma_node_at(plan, 0)), "0-9,20-29");
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_topology_hints(void **state)
{
    hv_host *host = two_by_ten();
    hv_plan *plan;

    plan = test_plan(host, "{\"vcpus\": 16, \"memory\": \"8GiB\", \"cores_per_socket\": 4}");
    assert_int_equal(hv_plan_sockets(plan), 4);
    assert_int_equal(hv_plan_cores_per_socket(plan), 4);
    assert_null(plan_finding(plan, "plan.topology.socket-straddles-nodes"));
    hv_plan_free(plan);
    plan = test_plan(host, "{\"vcpus\": 16, \"memory\": \"8GiB\", \"cores_per_socket\": 16}");
    assert_int_equal(hv_plan_sockets(plan), 1);
    assert_finding(plan, "plan.topology.socket-straddles-nodes", HV_SEVERITY_WARNING);
    hv_plan_free(plan);
    plan = test_plan(host, "{\"vcpus\": 16, \"memory\": \"8GiB\", \"cores_per_socket\": 5}");
    assert_finding(plan, "plan.topology.cores-per-socket", HV_SEVERITY_ERROR);
    assert_false(hv_plan_ok(plan));
    hv_plan_free(plan);
    plan = test_plan(host, "{\"vcpus\": 15, \"memory\": \"8GiB\", \"threads_per_core\": 2}");
    assert_finding(plan, "plan.topology.threads", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    hv_host_free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vsphere_table),
        cmocka_unit_test(test_vsphere_ignores_memory),
        cmocka_unit_test(test_balanced),
        cmocka_unit_test(test_explicit_vnuma),
        cmocka_unit_test(test_mapping_near_devices_and_distances),
        cmocka_unit_test(test_closest_nodes),
        cmocka_unit_test(test_dedicated_pinning),
        cmocka_unit_test(test_topology_hints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

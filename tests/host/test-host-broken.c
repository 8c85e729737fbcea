/*
 * tests/host/test-host-broken.c - discovery of damaged trees: missing,
 * unreadable and garbage files, truncated lines, absurd numbers. Discovery
 * returns what it could read plus one finding per problem, or a clear
 * error; it never crashes and never counts silently wrong.
 */
#include "hv-test.h"
#include "hv-tree.h"

#define CPU  "sys/devices/system/cpu/"
#define NODE "sys/devices/system/node/"
#define GPU  "sys/devices/pci0000:00/0000:00:06.0/"
#define GPU_LINK                                                                                   \
    {                                                                                              \
        "sys/bus/pci/devices/0000:00:06.0", NULL, "../../../devices/pci0000:00/0000:00:06.0"       \
    }

static const char cpuinfo[] = "processor\t: 0\nmodel name\t: Test CPU\n"
                              "address sizes\t: 46 bits physical, 48 bits virtual\n\n"
                              "processor\t: 1\nmodel name\t: Test CPU\n\n";
static const char meminfo[] = "MemTotal:        8388608 kB\nMemFree:         4194304 kB\n"
                              "MemAvailable:    6291456 kB\n";

static hv_host *discover_tree(const char *root)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;

    assert_non_null(root);
    opts.root = root;
    assert_hv_ok(hv_host_discover(&host, &opts));
    return host;
}

static const hv_finding *finding(const hv_host *host, const char *code)
{
    for (size_t i = 0; i < hv_host_finding_count(host); i++)
        if (strcmp(hv_finding_code(hv_host_finding_at(host, i)), code) == 0)
            return hv_host_finding_at(host, i);
    return NULL;
}

/* An unknown profile is refused with the list of the known ones, before the tree is read. */
static void test_unknown_profile(void **state)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;

    opts.root = "/nonexistent";
    opts.profile = "esxi-8";
    assert_hv_error(hv_host_discover(&host, &opts), HV_E_NOTFOUND);
    assert_null(host);
    assert_error_mentions("unknown maximums profile 'esxi-8': use one of vsphere-6.7, kvm-q35, "
                          "vsphere-6.0");
    assert_string_equal(hv_error_path(hv_error_last()), "profile");
}

static void test_bad_roots(void **state)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = (hv_host *)0x1;
    hv_tree_entry empty[] = {{"placeholder", "", NULL}};
    const char *root;

    opts.root = "/nonexistent/hpcvirt-root";
    assert_hv_error(hv_host_discover(&host, &opts), HV_E_NOTFOUND);
    assert_null(host);
    assert_error_mentions("/nonexistent/hpcvirt-root");
    opts.root = "/etc/hostname";
    assert_hv_error(hv_host_discover(&host, &opts), HV_E_IO);
    root = HV_TREE_CREATE(empty);
    opts.root = root;
    assert_hv_error(hv_host_discover(&host, &opts), HV_E_PARSE);
    assert_error_mentions("no CPU information");
    hv_tree_remove(root);
    opts.root = hv_test_fixture("hosts/epyc-2cpu-vm");
    opts.profile = "vsphere-9.9";
    assert_hv_error(hv_host_discover(&host, &opts), HV_E_NOTFOUND);
    assert_error_mentions("vsphere-9.9");
}

static void test_bad_arguments(void **state)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    char *json = NULL;

    assert_hv_error(hv_host_discover(NULL, NULL), HV_E_INVAL);
    opts.version = 0;
    assert_hv_error(hv_host_discover(&host, &opts), HV_E_INVAL);
    opts.version = 99;
    assert_hv_error(hv_host_discover(&host, &opts), HV_E_INVAL);
    assert_hv_error(hv_host_discover_options_init(NULL, 1), HV_E_INVAL);
    assert_hv_error(hv_host_discover_options_init(&opts, 2), HV_E_INVAL);
    assert_hv_ok(hv_host_discover_options_init(&opts, HV_HOST_DISCOVER_OPTIONS_VERSION));
    assert_int_equal(opts.version, HV_HOST_DISCOVER_OPTIONS_VERSION);
    assert_null(opts.root);
    assert_hv_error(hv_host_to_json(NULL, 0, &json), HV_E_INVAL);
    assert_hv_error(hv_host_from_json(NULL, &host), HV_E_INVAL);
    /* getters on NULL never crash */
    assert_int_equal(hv_host_cpu_count(NULL), 0);
    assert_string_equal(hv_host_cpu_model(NULL), "");
    assert_null(hv_host_node_at(NULL, 0));
    assert_int_equal(hv_host_node_distance(NULL, 0), -1);
    assert_int_equal(hv_accelerator_numa_node(NULL), -1);
    assert_string_equal(hv_rdma_gid_text(NULL), "");
    assert_hv_error(hv_host_node_hugepages(NULL, 4096, NULL, NULL), HV_E_INVAL);
    hv_host_free(NULL);
}

/* Only /proc: one package, one node, findings say so. */
static void test_proc_only(void **state)
{
    hv_tree_entry tree[] = {{"proc/cpuinfo", cpuinfo, NULL}, {"proc/meminfo", meminfo, NULL}};
    const char *root = HV_TREE_CREATE(tree);
    hv_host *host = discover_tree(root);

    assert_int_equal(hv_host_cpu_count(host), 2);
    assert_int_equal(hv_host_node_count(host), 1);
    assert_true(hv_host_node_memory_bytes(hv_host_node_at(host, 0)) == UINT64_C(8) << 30);
    assert_string_equal(hv_host_node_cpulist(hv_host_node_at(host, 0)), "0-1");
    assert_non_null(finding(host, "host.cpu.no-sysfs"));
    assert_non_null(finding(host, "host.numa.absent"));
    assert_true(hv_host_node_memory_consistent(host));
    hv_host_free(host);
    hv_tree_remove(root);
}

static void test_garbage_files(void **state)
{
    hv_tree_entry tree[] = {
        {"proc/cpuinfo", "processor : 0\naddress sizes : garbage\n", NULL},
        {"proc/meminfo", "MemTotal: lots kB\n", NULL},
        {CPU "online", "0-1,zz\n", NULL},
        {CPU "cpu0/topology/physical_package_id", "0\n", NULL},
        {CPU "cpu0/topology/core_id", "0\n", NULL},
        {CPU "cpu1/online", "1\n", NULL},
        {CPU "cpu1/topology/physical_package_id", "0x\n", NULL},
        {CPU "cpu1/topology/core_id", "1\n", NULL},
        {NODE "online", "0\n", NULL},
        {NODE "node0/cpulist", "0-1\n", NULL},
        {NODE "node0/meminfo", "Node 0 MemTotal: 12\0junk", NULL},
        {NODE "node0/distance", "10 20\n", NULL},
    };
    const char *root = HV_TREE_CREATE(tree);
    hv_host *host = discover_tree(root);
    const hv_finding *f;

    /* cpu/online unreadable: the cpuN directories are used instead */
    assert_int_equal(hv_host_cpu_count(host), 2);
    f = finding(host, "host.cpu.online");
    assert_non_null(f);
    assert_string_equal(hv_finding_path(f), CPU "online");
    assert_non_null(finding(host, "host.cpu.topology"));
    assert_non_null(finding(host, "host.cpuinfo"));
    assert_non_null(finding(host, "host.meminfo"));
    f = finding(host, "host.numa.distance");
    assert_non_null(f);
    assert_non_null(strstr(hv_finding_message(f), "2 distances but the host has 1"));
    assert_int_equal(hv_host_node_distance(hv_host_node_at(host, 0), 0), -1);
    assert_int_equal(hv_host_phys_addr_bits(host), 0);
    hv_host_free(host);
    hv_tree_remove(root);
}

static void test_absurd_numbers(void **state)
{
    hv_tree_entry tree[] = {
        {"proc/cpuinfo", cpuinfo, NULL},
        {"proc/meminfo", meminfo, NULL},
        {CPU "online", "0-1\n", NULL},
        {CPU "cpu0/topology/physical_package_id", "0\n", NULL},
        {CPU "cpu0/topology/core_id", "0\n", NULL},
        {CPU "cpu1/topology/physical_package_id", "0\n", NULL},
        {CPU "cpu1/topology/core_id", "99999999999\n", NULL},
        {NODE "online", "0-1,5000\n", NULL},
        {NODE "node0/cpulist", "0-1\n", NULL},
        {NODE "node0/meminfo", "Node 0 MemTotal: 4194304 kB\nNode 0 MemFree: 1 kB\n", NULL},
        {NODE "node0/distance", "10 20\n", NULL},
        {NODE "node1/cpulist", "1\n", NULL}, /* CPU 1 in two nodes */
        {NODE "node1/meminfo", "Node 1 MemTotal: 4194304 kB\nNode 1 MemFree: 1 kB\n", NULL},
        {NODE "node1/distance", "20 10\n", NULL},
        GPU_LINK,
        {GPU "vendor", "0x10de\n", NULL},
        {GPU "device", "0x2330\n", NULL},
        {GPU "class", "0x030200\n", NULL},
        {GPU "numa_node", "99999\n", NULL},
        {GPU "resource",
         "0x0000000000000001 0x8000000000000000 0x14220c\n"
         "0x0000000000000000 0x0000000000000000 0x0\n"
         "0x0000000000000001 0xffffffffffffffff 0x14220c\n",
         NULL},
    };
    const char *root = HV_TREE_CREATE(tree);
    hv_host *host = discover_tree(root);
    const hv_accelerator *gpu;

    assert_non_null(finding(host, "host.numa.node-id-out-of-range"));
    assert_int_equal(hv_host_node_count(host), 2);
    assert_non_null(finding(host, "host.numa.cpu-in-two-nodes"));
    assert_string_equal(hv_host_node_cpulist(hv_host_node_by_id(host, 1)), "");
    assert_int_equal(hv_host_cpu_node(hv_host_cpu_by_id(host, 1)), 0);
    assert_non_null(finding(host, "host.cpu.topology"));
    gpu = hv_host_accelerator_at(host, 0);
    assert_non_null(gpu);
    assert_int_equal(hv_accelerator_numa_node(gpu), -1);
    assert_non_null(finding(host, "host.pci.numa-node"));
    /* BAR 0 (2^63) is kept, BAR 2 would overflow the total: left out with a finding */
    assert_int_equal(hv_accelerator_bar_count(gpu), 1);
    assert_true(hv_accelerator_bar_total_bytes(gpu) == UINT64_C(1) << 63);
    assert_non_null(finding(host, "host.pci.bar-overflow"));
    hv_host_free(host);
    hv_tree_remove(root);
}

static void test_truncated_and_unreadable(void **state)
{
    hv_tree_entry tree[] = {
        {"proc/cpuinfo", cpuinfo, NULL},
        {"proc/meminfo/oops", "a directory where a file belongs", NULL},
        {CPU "online", "0\n", NULL},
        {NODE "online", "0,99999\n", NULL},
        {NODE "node0/cpulist", "0\n", NULL},
        {NODE "node0/meminfo", "Node 0 MemTotal: 4194304 kB\nNode 0 MemFr", NULL},
        {NODE "node0/distance", "10\n", NULL},
        {NODE "node0/hugepages/hugepages-2048kB/nr_hugepages", "4\n", NULL},
        {NODE "node0/hugepages/hugepages-2048kB/free_hugepages", "8\n", NULL},
        GPU_LINK,
        {GPU "vendor", "0x10de\n", NULL},
        {GPU "device", "0x2330\n", NULL},
        {GPU "class", "0x030200\n", NULL},
        {GPU "resource", "0x0000102002000000 0x00001020\n", NULL},
        {GPU "driver", "not-a-link\n", NULL},
    };
    const char *root = HV_TREE_CREATE(tree);
    hv_host *host = discover_tree(root);
    const hv_finding *f;
    const hv_accelerator *gpu;

    assert_int_equal(hv_host_memory_bytes(host), 0);
    /* node/online names a node beyond any kernel's limit: the node directories are used */
    f = finding(host, "host.numa.online");
    assert_non_null(f);
    assert_non_null(strstr(hv_finding_message(f), "99999"));
    assert_int_equal(hv_host_node_count(host), 1);
    f = finding(host, "host.meminfo");
    assert_non_null(f);
    assert_string_equal(hv_finding_path(f), "proc/meminfo");
    /* MemFree line truncated: the node's meminfo problem is reported */
    assert_non_null(finding(host, "host.numa.meminfo"));
    /* 8 free of 4: the pool is left out with a finding */
    assert_non_null(finding(host, "host.numa.hugepages"));
    assert_int_equal(hv_host_node_hugepage_size_count(hv_host_node_at(host, 0)), 0);
    gpu = hv_host_accelerator_at(host, 0);
    assert_non_null(gpu);
    assert_int_equal(hv_accelerator_bar_count(gpu), 0);
    f = finding(host, "host.pci.resource");
    assert_non_null(f);
    assert_non_null(strstr(hv_finding_path(f), "resource:1"));
    assert_non_null(finding(host, "host.pci.driver"));
    assert_string_equal(hv_accelerator_driver(gpu), "");
    hv_host_free(host);
    hv_tree_remove(root);
}

static void test_host_json_errors(void **state)
{
    hv_host *host = NULL;

    assert_hv_error(hv_host_from_json("{", &host), HV_E_PARSE);
    assert_hv_error(hv_host_from_json("[]", &host), HV_E_PARSE);
    assert_hv_error(hv_host_from_json("{}", &host), HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "cpus");
    assert_hv_error(hv_host_from_json("{\"cpus\": {\"list\": [{\"id\": 0, \"package\": 0, "
                                      "\"core\": 0, \"node\": 3}]}, \"numa_nodes\": [{\"id\": 0, "
                                      "\"cpus\": \"0\", \"memory_bytes\": 1, \"free_bytes\": 1, "
                                      "\"distances\": [10]}]}",
                                      &host),
                    HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "cpus.list[0]");
    assert_hv_error(hv_host_from_json("{\"cpus\": {\"list\": [{\"id\": 0, \"package\": 0, "
                                      "\"core\": 0, \"node\": 0}]}, \"numa_nodes\": [{\"id\": 0, "
                                      "\"cpus\": \"0\", \"memory_bytes\": -1, \"free_bytes\": 1, "
                                      "\"distances\": [10]}]}",
                                      &host),
                    HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), "numa_nodes[0].memory_bytes");
    assert_null(host);
    assert_hv_ok(hv_host_from_json("{\"cpus\": {\"list\": [{\"id\": 0, \"package\": 0, "
                                   "\"core\": 0, \"node\": 0}]}, \"numa_nodes\": [{\"id\": 0, "
                                   "\"cpus\": \"0\", \"memory_bytes\": 1024, \"free_bytes\": 1, "
                                   "\"distances\": [10]}]}",
                                   &host));
    assert_int_equal(hv_host_cpu_count(host), 1);
    assert_int_equal(hv_host_core_count(host), 1);
    hv_host_free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_profile),
        cmocka_unit_test(test_bad_roots),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_proc_only),
        cmocka_unit_test(test_garbage_files),
        cmocka_unit_test(test_absurd_numbers),
        cmocka_unit_test(test_truncated_and_unreadable),
        cmocka_unit_test(test_host_json_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

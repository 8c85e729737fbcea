/*
 * tools/hpcvirt/cmd-host.c - `hpcvirt host`: the host inventory as a compact
 * lstopo-like tree (nodes with their CPUs, memory and huge pages, devices
 * under the node they sit on; every string of the host through cli_text(),
 * since a tree or document may hold anything) or as JSON (the strings as
 * they are, JSON-escaped), and with --svg FILE as a picture; `hpcvirt
 * frequency`: APERF/MPERF.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *size_text(uint64_t bytes, char *buf, size_t len)
{
    hv_size_format(bytes, buf, len);
    return buf;
}

static void print_bars(const hv_accelerator *acc)
{
    char a[32], b[32];

    printf("      BARs:");
    for (size_t i = 0; i < hv_accelerator_bar_count(acc); i++) {
        const hv_pci_bar *bar = hv_accelerator_bar_at(acc, i);

        printf("%s %u: %s%s%s%s", i ? ";" : "", hv_pci_bar_index(bar),
               size_text(hv_pci_bar_size_bytes(bar), a, sizeof(a)),
               hv_pci_bar_is_io(bar) ? " I/O" : (hv_pci_bar_is_64bit(bar) ? " 64-bit" : " 32-bit"),
               hv_pci_bar_is_prefetchable(bar) ? " prefetchable" : "", "");
    }
    if (!hv_accelerator_bar_count(acc))
        printf(" none");
    printf(" (total %s)\n", size_text(hv_accelerator_bar_total_bytes(acc), b, sizeof(b)));
}

static void print_accelerator(const hv_accelerator *acc)
{
    const char *model = hv_accelerator_model(acc);
    const char *link = hv_accelerator_link_speed(acc);

    printf("    %s %s %s [%04x:%04x]", hv_accelerator_kind_name(hv_accelerator_kind(acc)),
           cli_text(hv_accelerator_pci_address(acc)),
           cli_text(*model ? model : hv_accelerator_vendor_name(acc)),
           hv_accelerator_vendor_id(acc), hv_accelerator_device_id(acc));
    if (*hv_accelerator_driver(acc))
        printf(" driver %s", cli_text(hv_accelerator_driver(acc)));
    if (hv_accelerator_iommu_group(acc) >= 0)
        printf(", IOMMU group %d", hv_accelerator_iommu_group(acc));
    if (*link)
        printf(", link %s x%u", cli_text(link), hv_accelerator_link_width(acc));
    if (hv_accelerator_sriov_total_vfs(acc))
        printf(", SR-IOV %u/%u VFs", hv_accelerator_sriov_enabled_vfs(acc),
               hv_accelerator_sriov_total_vfs(acc));
    printf("\n");
    print_bars(acc);
    for (size_t i = 0; i < hv_accelerator_mdev_type_count(acc); i++)
        printf("      vGPU type %s \"%s\": %d available\n",
               cli_text(hv_accelerator_mdev_type_id(acc, i)),
               cli_text(hv_accelerator_mdev_type_name(acc, i)),
               hv_accelerator_mdev_type_available(acc, i));
}

static void print_rdma(const hv_rdma_device *dev)
{
    printf("    rdma %s %s (%s, fw %s)\n", cli_text(hv_rdma_device_name(dev)),
           cli_text(hv_rdma_device_pci_address(dev)), cli_text(hv_rdma_device_node_type(dev)),
           cli_text(hv_rdma_device_fw_version(dev)));
    for (size_t p = 0; p < hv_rdma_device_port_count(dev); p++) {
        const hv_rdma_port *port = hv_rdma_device_port_at(dev, p);
        int layer = hv_rdma_port_link_layer(port);
        bool v1 = false, v2 = false;

        for (size_t g = 0; g < hv_rdma_port_gid_count(port); g++) {
            int type = hv_rdma_gid_type(hv_rdma_port_gid_at(port, g));
            v1 |= type == HV_RDMA_GID_IB_ROCE_V1;
            v2 |= type == HV_RDMA_GID_ROCE_V2;
        }
        printf("      port %u %s %s, %s", hv_rdma_port_number(port),
               cli_text(hv_rdma_port_state(port)),
               layer == HV_RDMA_LINK_INFINIBAND ? "InfiniBand"
               : layer == HV_RDMA_LINK_ETHERNET ? "Ethernet (RoCE)"
                                                : "unknown link",
               cli_text(hv_rdma_port_rate(port)));
        if (hv_rdma_port_active_mtu(port))
            printf(", MTU %u", hv_rdma_port_active_mtu(port));
        if (*hv_rdma_port_netdev(port))
            printf(", netdev %s", cli_text(hv_rdma_port_netdev(port)));
        printf(", %zu GIDs%s%s\n", hv_rdma_port_gid_count(port), v1 ? " v1" : "", v2 ? " v2" : "");
    }
}

static void print_devices_on_node(const hv_host *host, int node_id)
{
    for (size_t i = 0; i < hv_host_accelerator_count(host); i++) {
        const hv_accelerator *acc = hv_host_accelerator_at(host, i);
        if (hv_accelerator_numa_node(acc) == node_id)
            print_accelerator(acc);
    }
    for (size_t i = 0; i < hv_host_rdma_count(host); i++) {
        const hv_rdma_device *dev = hv_host_rdma_at(host, i);
        if (hv_rdma_device_numa_node(dev) == node_id)
            print_rdma(dev);
    }
}

static void print_host(const hv_host *host)
{
    char a[32], b[32];
    bool unplaced = false;

    printf("host %s (checked against %s)\n", cli_text(hv_host_root(host)),
           cli_text(hv_host_profile(host)));
    printf("  CPU %s: %u logical CPUs, %u cores, %u package%s, %u thread%s per core\n",
           *hv_host_cpu_model(host) ? cli_text(hv_host_cpu_model(host)) : "(unknown model)",
           hv_host_cpu_count(host), hv_host_core_count(host), hv_host_package_count(host),
           hv_host_package_count(host) == 1 ? "" : "s", hv_host_threads_per_core(host),
           hv_host_threads_per_core(host) == 1 ? "" : "s");
    printf("  physical address bits %u, 1 GiB pages %s", hv_host_phys_addr_bits(host),
           hv_host_has_1g_pages(host) ? "yes" : "no");
    if (hv_host_base_frequency_khz(host))
        printf(", base %.2f GHz", (double)hv_host_base_frequency_khz(host) / 1e6);
    printf("\n  memory %s (%s available)%s\n", size_text(hv_host_memory_bytes(host), a, sizeof(a)),
           size_text(hv_host_memory_available_bytes(host), b, sizeof(b)),
           hv_host_node_memory_consistent(host) ? "" : " - NUMA nodes do not add up to it");
    for (size_t n = 0; n < hv_host_node_count(host); n++) {
        const hv_host_node *node = hv_host_node_at(host, n);

        printf("  node %d: CPUs %s (%u CPUs, %u cores), %s (%s free), distances",
               hv_host_node_id(node), cli_text(hv_host_node_cpulist(node)),
               hv_host_node_cpu_count(node), hv_host_node_core_count(node),
               size_text(hv_host_node_memory_bytes(node), a, sizeof(a)),
               size_text(hv_host_node_free_bytes(node), b, sizeof(b)));
        for (size_t m = 0; m < hv_host_node_count(host); m++)
            printf(" %d", hv_host_node_distance(node, hv_host_node_id(hv_host_node_at(host, m))));
        printf("\n");
        if (hv_host_node_hugepage_size_count(node)) {
            printf("    huge pages:");
            for (size_t p = 0; p < hv_host_node_hugepage_size_count(node); p++) {
                uint64_t size = hv_host_node_hugepage_size_at(node, p), total = 0, free_pages = 0;

                hv_host_node_hugepages(node, size, &total, &free_pages);
                printf("%s %s %llu free of %llu", p ? "," : "", size_text(size, a, sizeof(a)),
                       (unsigned long long)free_pages, (unsigned long long)total);
            }
            printf("\n");
        }
        print_devices_on_node(host, hv_host_node_id(node));
    }
    for (size_t i = 0; i < hv_host_accelerator_count(host); i++)
        unplaced |= hv_host_node_by_id(
                        host, hv_accelerator_numa_node(hv_host_accelerator_at(host, i))) == NULL;
    for (size_t i = 0; i < hv_host_rdma_count(host); i++)
        unplaced |=
            hv_host_node_by_id(host, hv_rdma_device_numa_node(hv_host_rdma_at(host, i))) == NULL;
    if (unplaced) {
        printf("  no NUMA node (unknown locality):\n");
        print_devices_on_node(host, -1);
    }
    for (size_t i = 0; i < hv_host_finding_count(host); i++) {
        const hv_finding *f = hv_host_finding_at(host, i);

        printf("  %s %s: %s\n", hv_severity_name(hv_finding_severity(f)),
               cli_text(hv_finding_code(f)), cli_text(hv_finding_message(f)));
    }
}

static int run_host(const cli_command *cmd, int argc, char **argv)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    char *svg = NULL;
    cli_args a;
    int rc = cli_parse_args(cmd, argc, argv, 0, 0, "no operands", &a);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.svg && strcmp(a.svg, "-") == 0 && a.json)
        return cli_usage_error(cmd, "--svg - (to stdout) excludes --json");
    opts.root = a.host_root;
    opts.profile = a.profile;
    if (hv_host_discover(&host, &opts) < 0)
        return cli_fail("host discovery");
    if (a.svg) {
        rc = cli_write_made(a.svg, hv_host_to_svg(host, 0, &svg), &svg, "host picture");
        if (rc != CLI_EXIT_OK || strcmp(a.svg, "-") == 0) {
            hv_host_free(host);
            return rc;
        }
    }
    if (a.json) {
        char *text = NULL;

        rc = hv_host_to_json(host, HV_JSON_PRETTY, &text);
        if (rc == 0)
            printf("%s\n", text);
        hv_free(text);
    } else {
        print_host(host);
        rc = 0;
    }
    hv_host_free(host);
    return rc < 0 ? cli_fail("host") : CLI_EXIT_OK;
}

const cli_command cli_cmd_host = {
    .name = "host",
    .summary = "Show the host inventory: CPUs, NUMA nodes, huge pages, accelerators, RDMA.",
    .usage = "[--host-root DIR] [--profile NAME] [--json] [--svg FILE]\n"
             "  --host-root DIR  (alias --root DIR) read the host from the tree under DIR (a\n"
             "                   copy of /sys and /proc, e.g. tests/fixtures/hosts/dgx-a100-roce)\n"
             "                   instead of this machine\n"
             "  --profile NAME   the maximums profile the host's findings are checked against\n"
             "  --json           print the host document (docs/host-json.md); errors are JSON too\n"
             "  --svg FILE       also write a picture of the host to FILE (docs/pictures.md); -\n"
             "                   writes it to stdout instead of the view (not with --json)",
    .options = "--host-root --profile --json --svg",
    .run = run_host,
};

static int run_frequency(const cli_command *cmd, int argc, char **argv)
{
    hv_freq_sample_options opts = HV_FREQ_SAMPLE_OPTIONS_INIT;
    hv_host_discover_options dopts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    hv_freq_sample *sample = NULL;
    cli_args a;
    unsigned long long ms = 0;
    int rc = cli_parse_args(cmd, argc, argv, 0, 0, "no operands", &a);
    bool json = a.json;

    if (rc == CLI_EXIT_OK && a.interval_ms)
        rc = cli_parse_number(cmd, "--interval-ms", a.interval_ms, 60000, &ms);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.interval_ms)
        opts.interval_ms = (unsigned int)ms;
    opts.cpulist = a.cpus;
    dopts.skip = HV_HOST_SKIP_PCI | HV_HOST_SKIP_RDMA;
    if (hv_host_discover(&host, &dopts) < 0)
        return cli_fail("host discovery");
    if (hv_host_sample_frequency(host, &opts, &sample) < 0) {
        hv_host_free(host);
        return cli_fail("frequency sampling");
    }
    if (json)
        printf("{\"source\": \"%s\", \"cpus\": [", hv_freq_sample_source(sample));
    else
        printf("CPU  APERF/MPERF  effective MHz   (source: %s)\n", hv_freq_sample_source(sample));
    for (size_t i = 0; i < hv_freq_sample_count(sample); i++) {
        if (json)
            printf("%s{\"cpu\": %u, \"ratio\": %.4f, \"effective_mhz\": %.1f}", i ? ", " : "",
                   hv_freq_sample_cpu(sample, i), hv_freq_sample_ratio(sample, i),
                   hv_freq_sample_effective_mhz(sample, i));
        else
            printf("%3u  %11.3f  %13.1f\n", hv_freq_sample_cpu(sample, i),
                   hv_freq_sample_ratio(sample, i), hv_freq_sample_effective_mhz(sample, i));
    }
    if (json)
        printf("]}\n");
    hv_freq_sample_free(sample);
    hv_host_free(host);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_frequency = {
    .name = "frequency",
    .summary = "Sample each CPU's effective frequency (APERF/MPERF, the turbo ratio).",
    .usage = "[--interval-ms MS] [--cpus LIST] [--json]\n"
             "  --interval-ms MS  how long to count, in milliseconds (0 to 60000; default: the\n"
             "                    library's)\n"
             "  --cpus LIST       the CPUs to sample (0-3,8; default: all)\n"
             "  --json            print {\"source\", \"cpus\": [...]}; errors are JSON too",
    .options = "--interval-ms --cpus --json",
    .run = run_frequency,
};

/*
 * tools/hpcvirt/cmd-plan.c - `hpcvirt plan SPEC.json`: plan a VM spec on a
 * host (this machine, a captured tree or a host JSON document) and print the
 * plan, its findings, the plan as JSON, or the plan as libvirt domain XML
 * (--xml, --domain-type); --svg FILE also writes a picture of it. Exit 0 when
 * the plan is ok, 2 when it has errors.
 */
#include "cli.h"

#include <string.h>

static const char *size_text(uint64_t bytes, char *buf, size_t len)
{
    hv_size_format(bytes, buf, len);
    return buf;
}

/* Whether devices `i` and `j` of the plan come from the same spec entry ("accelerators[0]"). */
static bool same_entry(const hv_plan *plan, size_t i, size_t j)
{
    return j < hv_plan_device_count(plan) &&
           strcmp(hv_plan_device_spec_path(hv_plan_device_at(plan, i)),
                  hv_plan_device_spec_path(hv_plan_device_at(plan, j))) == 0;
}

/*
 * One line per spec entry: what it asked for (from its first device), then its devices' host
 * PCI functions, each run on the same host node followed by where it sits:
 * "accelerators[0]: 8 x accelerator a100: 0000:07:00.0, 0000:0f:00.0 (host node 0 -> vNUMA node
 * 0), ...".
 */
static void print_devices(const hv_plan *plan)
{
    static const char *const type_names[] = {"", "accelerator", "nic", "rdma"};

    for (size_t first = 0, end; first < hv_plan_device_count(plan); first = end) {
        const hv_plan_device *d = hv_plan_device_at(plan, first);
        int type = hv_plan_device_type_of(d);
        bool listed = false;

        for (end = first + 1; same_entry(plan, first, end);)
            end++;
        printf("  %s: ", cli_text(hv_plan_device_spec_path(d)));
        if (end - first > 1)
            printf("%zu x ", end - first);
        printf("%s", type_names[type]);
        if (*hv_plan_device_model(d))
            printf(" %s", cli_text(hv_plan_device_model(d)));
        if (*hv_plan_device_mdev_type(d))
            printf(" vGPU %s", cli_text(hv_plan_device_mdev_type(d)));
        if (*hv_plan_device_rdma_name(d))
            printf(" %s", cli_text(hv_plan_device_rdma_name(d)));
        if (type == HV_PLAN_DEVICE_NIC)
            printf(" %u queues", hv_plan_device_queues(d));
        if (type == HV_PLAN_DEVICE_RDMA && hv_plan_device_mtu(d))
            printf(" MTU %u", hv_plan_device_mtu(d));
        for (size_t i = first; i < end; i++) {
            const hv_plan_device *e = hv_plan_device_at(plan, i);
            const hv_plan_device *next = i + 1 < end ? hv_plan_device_at(plan, i + 1) : NULL;

            if (*hv_plan_device_pci_address(e)) {
                printf("%s%s", listed ? ", " : ": ", cli_text(hv_plan_device_pci_address(e)));
                listed = true;
            }
            if (hv_plan_device_host_node(e) >= 0 &&
                (!next || hv_plan_device_host_node(next) != hv_plan_device_host_node(e) ||
                 hv_plan_device_vnode(next) != hv_plan_device_vnode(e)))
                printf(" (host node %d -> vNUMA node %d)", hv_plan_device_host_node(e),
                       hv_plan_device_vnode(e));
        }
        printf("\n");
    }
}

static void print_plan(const hv_plan *plan)
{
    char a[32], b[32];
    size_t errors = 0, warnings = 0;

    for (size_t i = 0; i < hv_plan_finding_count(plan); i++) {
        int s = hv_finding_severity(hv_plan_finding_at(plan, i));
        errors += s == HV_SEVERITY_ERROR;
        warnings += s == HV_SEVERITY_WARNING;
    }
    printf("plan %s: %s (%zu error%s, %zu warning%s; profile %s)\n",
           cli_text(hv_vm_spec_name(hv_plan_spec(plan))), hv_plan_ok(plan) ? "OK" : "NOT OK",
           errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s",
           cli_text(hv_plan_profile(plan)));
    printf("  %u vCPUs (%s) as %u socket%s x %u core%s x %u thread%s, %s, %s firmware\n",
           hv_plan_vcpus(plan),
           hv_plan_cpu_placement(plan) == HV_CPU_PLACEMENT_DEDICATED ? "dedicated" : "shared",
           hv_plan_sockets(plan), hv_plan_sockets(plan) == 1 ? "" : "s",
           hv_plan_cores_per_socket(plan), hv_plan_cores_per_socket(plan) == 1 ? "" : "s",
           hv_plan_threads_per_core(plan), hv_plan_threads_per_core(plan) == 1 ? "" : "s",
           size_text(hv_plan_memory_bytes(plan), a, sizeof(a)),
           hv_plan_firmware(plan) == HV_FIRMWARE_EFI ? "EFI" : "BIOS");
    if (hv_vm_spec_boot_kernel(hv_plan_spec(plan))) {
        const hv_vm_spec *spec = hv_plan_spec(plan);

        printf("  boot: kernel %s", cli_text(hv_vm_spec_boot_kernel(spec)));
        if (hv_vm_spec_boot_initrd(spec))
            printf(", initrd %s", cli_text(hv_vm_spec_boot_initrd(spec)));
        if (hv_vm_spec_boot_cmdline(spec))
            printf(", command line '%s'", cli_text(hv_vm_spec_boot_cmdline(spec)));
        printf("\n");
    }
    for (size_t i = 0; i < hv_plan_vnuma_node_count(plan); i++) {
        const hv_plan_vnode *n = hv_plan_vnuma_node_at(plan, i);

        printf("  vNUMA node %u: vCPUs %s, %s on %s pages, host node %d, host CPUs %s\n",
               hv_plan_vnode_id(n), hv_plan_vnode_vcpus(n),
               size_text(hv_plan_vnode_memory_bytes(n), a, sizeof(a)),
               size_text(hv_plan_vnode_page_bytes(n), b, sizeof(b)), hv_plan_vnode_host_node(n),
               *hv_plan_vnode_host_cpus(n) ? hv_plan_vnode_host_cpus(n) : "(none)");
    }
    if (hv_plan_vnuma_node_count(plan) > 1) {
        printf("  guest distances:");
        for (size_t i = 0; i < hv_plan_vnuma_node_count(plan); i++) {
            printf("%s", i ? " /" : "");
            for (size_t j = 0; j < hv_plan_vnuma_node_count(plan); j++)
                printf(" %d", hv_plan_vnuma_distance(plan, i, j));
        }
        printf("\n");
    }
    printf("  MMIO: ");
    if (hv_plan_mmio_bar_total_bytes(plan))
        printf("BARs %s (%llu bytes); ",
               size_text(hv_plan_mmio_bar_total_bytes(plan), a, sizeof(a)),
               (unsigned long long)hv_plan_mmio_bar_total_bytes(plan));
    if (hv_plan_mmio_window_bytes(plan))
        printf("64-bit window %s at %s; ", size_text(hv_plan_mmio_window_bytes(plan), a, sizeof(a)),
               size_text(hv_plan_mmio_window_base(plan), b, sizeof(b)));
    printf("needs %u guest physical-address bits, gets %u%s (host %u): %s\n",
           hv_plan_guest_phys_bits_required(plan),
           hv_plan_guest_phys_bits(plan) ? hv_plan_guest_phys_bits(plan) : 40,
           hv_plan_guest_phys_bits_passthrough(plan) ? " passed through"
           : hv_plan_guest_phys_bits(plan)           ? ""
                                                     : " by default",
           hv_plan_host_phys_bits(plan), hv_plan_mmio_feasible(plan) ? "feasible" : "NOT feasible");
    print_devices(plan);
    /* a plan with errors runs nowhere: it is not judged movable */
    printf("  live migration: %s\n", !hv_plan_ok(plan)               ? "no (the plan has errors)"
                                     : hv_plan_live_migratable(plan) ? "yes"
                                                                     : "no");
    for (size_t i = 0; i < hv_plan_migration_reason_count(plan); i++)
        printf("    - %s\n", cli_text(hv_plan_migration_reason_at(plan, i)));
    for (size_t i = 0; i < hv_plan_finding_count(plan); i++)
        cli_print_finding(stdout, hv_plan_finding_at(plan, i));
}

/* The domain XML on stdout; what of the plan it leaves out (findings) on stderr. */
static int print_xml(const hv_plan *plan, const cli_args *a)
{
    hv_libvirt_xml_options opts = HV_LIBVIRT_XML_OPTIONS_INIT;
    hv_finding_list *findings = NULL;
    char *text = NULL;
    int rc;

    opts.domain_type = a->domain_type;
    opts.network = a->network;
    opts.findings = &findings;
    if (hv_plan_to_libvirt_xml(plan, &opts, &text) < 0) {
        /* a plan with errors is a rejected input, like the human view's exit 2 */
        rc = cli_fail_plan("domain XML");
    } else {
        for (size_t i = 0; i < hv_finding_list_count(findings); i++)
            cli_print_finding(stderr, hv_finding_list_at(findings, i));
        fputs(text, stdout);
        rc = CLI_EXIT_OK;
    }
    hv_finding_list_free(findings);
    hv_free(text);
    return rc;
}

static int run_plan(const cli_command *cmd, int argc, char **argv)
{
    char *svg = NULL;
    hv_plan_options opts = HV_PLAN_OPTIONS_INIT;
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    cli_args a;
    int rc = cli_parse_args(cmd, argc, argv, 1, 1, "the spec file, SPEC.json (or - for stdin)", &a);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.svg && strcmp(a.svg, "-") == 0 && (a.json || a.xml))
        return cli_usage_error(cmd, "--svg - (to stdout) excludes --json and --xml");
    if (a.host_root && a.host_json)
        return cli_usage_error(cmd, "--host-root and --host-json exclude each other");
    if (a.json && a.xml)
        return cli_usage_error(cmd, "--json and --xml exclude each other");
    if (a.domain_type && strcmp(a.domain_type, "kvm") != 0 && strcmp(a.domain_type, "qemu") != 0)
        return cli_usage_error(cmd, "--domain-type is kvm or qemu, not '%s'", a.domain_type);
    if ((a.domain_type || a.network) && !a.xml)
        return cli_usage_error(cmd, "--domain-type and --network go with --xml");
    if ((rc = cli_load_spec(a.pos[0], &spec)) != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_load_host(a.host_root, a.host_json, &host)) != CLI_EXIT_OK) {
        hv_vm_spec_free(spec);
        return rc;
    }
    opts.profile = a.profile;
    if (hv_plan_create(host, spec, &opts, &plan) < 0) {
        rc = cli_fail("planning");
    } else if (a.svg && (rc = cli_write_made(a.svg, hv_plan_to_svg(plan, 0, &svg), &svg,
                                             "plan picture")) != CLI_EXIT_OK) {
        /* the picture could not be written: said so */
    } else if (a.svg && strcmp(a.svg, "-") == 0) {
        rc = hv_plan_ok(plan) ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
    } else if (a.xml) {
        rc = print_xml(plan, &a);
    } else if (a.json) {
        char *text = NULL;

        if (hv_plan_to_json(plan, HV_JSON_PRETTY, &text) < 0) {
            rc = cli_fail("plan");
        } else {
            printf("%s\n", text);
            rc = hv_plan_ok(plan) ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
        }
        hv_free(text);
    } else {
        print_plan(plan);
        rc = hv_plan_ok(plan) ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
    }
    hv_plan_free(plan);
    hv_host_free(host);
    hv_vm_spec_free(spec);
    return rc;
}

const cli_command cli_cmd_plan = {
    .name = "plan",
    .summary = "Plan a VM spec on a host: vNUMA, MMIO budget, pages, devices, findings.",
    .usage = "SPEC.json [--host-root DIR | --host-json FILE] [--profile NAME]\n"
             "                    [--json | --xml [--domain-type kvm|qemu] [--network NAME]]\n"
             "                    [--svg FILE]\n"
             "  SPEC.json          the VM spec (docs/spec-json.md); - reads it from stdin\n"
             "  --host-root DIR    (alias --root DIR) plan on the host whose tree is under\n"
             "                     DIR (a copy of /sys and /proc, e.g. tests/fixtures/hosts/NAME)\n"
             "  --host-json FILE   plan on the host in FILE ('hpcvirt host --json' wrote it)\n"
             "                     default for both: this machine\n"
             "  --profile NAME     the maximums profile the plan is checked against, instead of\n"
             "                     the spec's (below)\n"
             "  --json             print the plan document (docs/plan-json.md); errors are JSON\n"
             "  --xml              print the libvirt domain XML the libvirt backend would define\n"
             "  --domain-type T    with --xml: kvm (default: hardware virtualization) or qemu\n"
             "                     (software emulation, for hosts without /dev/kvm: slow, but\n"
             "                     no KVM needed); as create's --backend-options domain_type=T\n"
             "  --network NAME     with --xml: the libvirt network the NICs join, as create's\n"
             "                     --backend-options network=NAME; without it NICs get user-mode\n"
             "                     networking, one queue and no RSS (a warning says so)\n"
             "  --svg FILE         also write a picture of the plan to FILE (docs/pictures.md);\n"
             "                     - writes it to stdout instead of the view (not with --json\n"
             "                     or --xml)\n"
             "Exit status: 0 the plan is OK, 2 it has errors (or the spec is invalid), 1 the\n"
             "picture could not be written.",
    .options = "--host-root --host-json --profile --json --xml --domain-type --network --svg",
    .run = run_plan,
};

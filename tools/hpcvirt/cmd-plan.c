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

static void print_plan(const hv_plan *plan)
{
    static const char *const type_names[] = {"", "accelerator", "nic", "rdma"};
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
    printf("  MMIO: BARs %s (%llu bytes)",
           size_text(hv_plan_mmio_bar_total_bytes(plan), a, sizeof(a)),
           (unsigned long long)hv_plan_mmio_bar_total_bytes(plan));
    if (hv_plan_mmio_window_bytes(plan))
        printf(", 64-bit window %s at %s", size_text(hv_plan_mmio_window_bytes(plan), a, sizeof(a)),
               size_text(hv_plan_mmio_window_base(plan), b, sizeof(b)));
    printf("; needs %u guest physical-address bits, gets %u%s (host %u): %s\n",
           hv_plan_guest_phys_bits_required(plan),
           hv_plan_guest_phys_bits(plan) ? hv_plan_guest_phys_bits(plan) : 40,
           hv_plan_guest_phys_bits_passthrough(plan) ? " passed through"
           : hv_plan_guest_phys_bits(plan)           ? ""
                                                     : " by default",
           hv_plan_host_phys_bits(plan), hv_plan_mmio_feasible(plan) ? "feasible" : "NOT feasible");
    for (size_t i = 0; i < hv_plan_device_count(plan); i++) {
        const hv_plan_device *d = hv_plan_device_at(plan, i);
        int type = hv_plan_device_type_of(d);

        printf("  %s %s:", cli_text(hv_plan_device_spec_path(d)), type_names[type]);
        if (*hv_plan_device_pci_address(d))
            printf(" %s", cli_text(hv_plan_device_pci_address(d)));
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
        if (hv_plan_device_host_node(d) >= 0)
            printf(", host node %d -> vNUMA node %d", hv_plan_device_host_node(d),
                   hv_plan_device_vnode(d));
        printf("\n");
    }
    printf("  live migration: %s\n", hv_plan_live_migratable(plan) ? "yes" : "no");
    for (size_t i = 0; i < hv_plan_migration_reason_count(plan); i++)
        printf("    - %s\n", cli_text(hv_plan_migration_reason_at(plan, i)));
    for (size_t i = 0; i < hv_plan_finding_count(plan); i++)
        cli_print_finding(stdout, hv_plan_finding_at(plan, i));
}

static int run_plan(const cli_command *cmd, int argc, char **argv)
{
    const char *spec_path = NULL, *root = NULL, *host_json = NULL, *profile = NULL;
    const char *svg_path = NULL;
    hv_plan_options opts = HV_PLAN_OPTIONS_INIT;
    hv_libvirt_xml_options xml_opts = HV_LIBVIRT_XML_OPTIONS_INIT;
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    bool json = false, xml = false;
    char *svg = NULL;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--xml") == 0) {
            xml = true;
        } else if (strcmp(argv[i], "--host-root") == 0 || strcmp(argv[i], "--host-json") == 0 ||
                   strcmp(argv[i], "--profile") == 0 || strcmp(argv[i], "--domain-type") == 0 ||
                   strcmp(argv[i], "--svg") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "%s needs a value", argv[i]);
            if (strcmp(argv[i], "--host-root") == 0)
                root = argv[++i];
            else if (strcmp(argv[i], "--host-json") == 0)
                host_json = argv[++i];
            else if (strcmp(argv[i], "--domain-type") == 0)
                xml_opts.domain_type = argv[++i];
            else if (strcmp(argv[i], "--svg") == 0)
                svg_path = argv[++i];
            else
                profile = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        } else if (!spec_path) {
            spec_path = argv[i];
        } else {
            return cli_usage_error(cmd, "one spec at a time ('%s' is extra)", argv[i]);
        }
    }
    if (!spec_path)
        return cli_usage_error(cmd, "give the spec file (or - for stdin)");
    if (root && host_json)
        return cli_usage_error(cmd, "--host-root and --host-json exclude each other");
    if (json && xml)
        return cli_usage_error(cmd, "--json and --xml exclude each other");
    if (svg_path && strcmp(svg_path, "-") == 0 && (json || xml))
        return cli_usage_error(cmd, "--svg - (to stdout) excludes --json and --xml");
    if (xml_opts.domain_type && strcmp(xml_opts.domain_type, "kvm") != 0 &&
        strcmp(xml_opts.domain_type, "qemu") != 0)
        return cli_usage_error(cmd, "--domain-type is kvm or qemu, not '%s'", xml_opts.domain_type);
    if (xml_opts.domain_type && !xml)
        return cli_usage_error(cmd, "--domain-type goes with --xml");
    if ((rc = cli_load_spec(spec_path, &spec)) != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_load_host(root, host_json, &host)) != CLI_EXIT_OK) {
        hv_vm_spec_free(spec);
        return rc;
    }
    opts.profile = profile;
    if (hv_plan_create(host, spec, &opts, &plan) < 0) {
        rc = cli_fail("planning");
    } else if (svg_path && (rc = cli_write_made(svg_path, hv_plan_to_svg(plan, 0, &svg), &svg,
                                                "plan picture")) != CLI_EXIT_OK) {
        /* the picture could not be written: said so */
    } else if (svg_path && strcmp(svg_path, "-") == 0) {
        rc = hv_plan_ok(plan) ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
    } else if (xml) {
        char *text = NULL;

        if (hv_plan_to_libvirt_xml(plan, &xml_opts, &text) < 0) {
            /* a plan with errors is a rejected input, like the human view's exit 2 */
            rc = cli_fail_plan("domain XML");
        } else {
            fputs(text, stdout);
            rc = CLI_EXIT_OK;
        }
        hv_free(text);
    } else if (json) {
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
    .usage = "SPEC.json [--host-root DIR | --host-json FILE] [--profile NAME] "
             "[--json | --xml [--domain-type kvm|qemu]] [--svg FILE]",
    .run = run_plan,
};

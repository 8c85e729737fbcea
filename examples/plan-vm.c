/* plan-vm.c - the README's C example: plan a VM on this machine (or a captured tree). */
#include <stdio.h>
#include <hpcvirt/hpcvirt.h>

int main(int argc, char **argv)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;

    opts.root = argc > 1 ? argv[1] : "/";
    if (hv_host_discover(&host, &opts) < 0 ||
        hv_vm_spec_from_json("{\"name\": \"demo\", \"vcpus\": 2, \"memory\": \"1GiB\"}", &spec) <
            0 ||
        hv_plan_create(host, spec, NULL, &plan) < 0) {
        fprintf(stderr, "error: %s\n", hv_error_message(hv_error_last()));
        return 1;
    }
    printf("%u CPUs, %zu NUMA nodes; plan %s\n", hv_host_cpu_count(host), hv_host_node_count(host),
           hv_plan_ok(plan) ? "ok" : "has errors");
    for (size_t i = 0; i < hv_plan_vnuma_node_count(plan); i++) {
        const hv_plan_vnode *n = hv_plan_vnuma_node_at(plan, i);
        printf("vNUMA node %zu: vCPUs %s on host node %d\n", i, hv_plan_vnode_vcpus(n),
               hv_plan_vnode_host_node(n));
    }
    for (size_t i = 0; i < hv_plan_finding_count(plan); i++)
        printf("%s: %s\n", hv_finding_code(hv_plan_finding_at(plan, i)),
               hv_finding_message(hv_plan_finding_at(plan, i)));
    hv_plan_free(plan);
    hv_vm_spec_free(spec);
    hv_host_free(host);
    return 0;
}

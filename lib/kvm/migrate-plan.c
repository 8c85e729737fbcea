/*
 * kvm/migrate-plan.c - the destination's own plan of a migrated VM
 * (docs/migration-protocol.md, "The conversation", step 3): the spec from
 * the plan the source sent, planned against this host with the rules of
 * hv_plan_create(), with the guest's memory layout held to the source's (a
 * live migration moves memory page by page into nodes of the same sizes);
 * what that plan decides - the host node of each vNUMA node, the host CPUs
 * of each vCPU - written into the VM's description before it is built (or
 * what the caller's host nodes decide instead).
 */
#include "kvm/migrate-plan.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "core/json.h"
#include "plan/plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/size.h>

/* The VM spec inside the plan JSON the source sent, read as a spec file is. */
static int spec_from_plan(const char *plan_json, hv_vm_spec **out)
{
    json_object *root = NULL, *spec = NULL;
    char *text = NULL, reason[768];
    int rc = hv_json_parse_bounded(plan_json, strlen(plan_json), "the plan", NULL, &root);

    if (rc == 0 && !(spec = hv_json_get(root, "spec", json_type_object)))
        rc = hv_error_set(HV_E_PARSE, "spec", "it has no \"spec\" object");
    if (rc == 0)
        rc = hv_json_serialize(spec, HV_JSON_COMPACT, &text);
    if (rc == 0)
        rc = hv_vm_spec_from_json(text, out);
    json_object_put(root);
    hv_free(text);
    if (rc < 0 && rc != HV_E_NOMEM) {
        hv_format(reason, sizeof(reason), "%s", hv_error_message(hv_error_last()));
        rc = hv_error_set(HV_E_MIGRATION, NULL,
                          "the source's plan holds no VM spec this host can plan: %s: run the "
                          "same hpcvirt at both ends",
                          reason);
    }
    return rc;
}

/* The spec page size of `page_bytes`, or -1 when a spec cannot ask for it. */
static int page_size_of(uint64_t page_bytes)
{
    static const int sizes[] = {HV_PAGE_SIZE_4K, HV_PAGE_SIZE_2M, HV_PAGE_SIZE_1G};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (hv_spec_page_size_bytes(sizes[i]) == page_bytes)
            return sizes[i];
    return -1;
}

/* The guest's memory layout as the source runs it: its vNUMA nodes and their page size. */
static int pin_layout(hv_vm_spec *spec, const hv_kvm_snapshot_meta *m)
{
    int page_size = m->node_count ? page_size_of(m->nodes[0].page_bytes) : -1;
    int rc = hv_vm_spec_set_vnuma_auto(spec);

    for (size_t i = 0; i < m->node_count && rc == 0; i++)
        rc = hv_vm_spec_add_vnuma_node(spec, m->nodes[i].vcpu_count, m->nodes[i].bytes);
    for (size_t i = 1; i < m->node_count; i++)
        if (page_size_of(m->nodes[i].page_bytes) != page_size)
            page_size = -1; /* mixed: a spec cannot say it; the comparison below refuses */
    if (rc == 0 && page_size >= 0)
        rc = hv_vm_spec_set_page_size(spec, page_size);
    return rc;
}

/* "2 vCPUs, 64 MiB in 4 KiB pages" */
static const char *describe_node(char *buf, size_t size, unsigned int vcpus, uint64_t bytes,
                                 uint64_t page_bytes)
{
    char memory[32], page[32];

    hv_size_format(bytes, memory, sizeof(memory));
    hv_size_format(page_bytes, page, sizeof(page));
    hv_format(buf, size, "%u vCPU%s, %s in %s pages", vcpus, vcpus == 1 ? "" : "s", memory, page);
    return buf;
}

/* The plan gives every vNUMA node what the source runs: a live migration cannot change it. */
static int check_layout(const hv_plan *plan, const hv_kvm_snapshot_meta *m)
{
    char here[96], there[96];

    if (hv_plan_vnuma_node_count(plan) != m->node_count)
        return hv_error_set(HV_E_PLAN, "vnuma",
                            "this host's plan of the VM has %zu vNUMA nodes where the source runs "
                            "%zu: a live migration cannot change the guest's memory layout",
                            hv_plan_vnuma_node_count(plan), m->node_count);
    for (size_t i = 0; i < m->node_count; i++) {
        const hv_plan_vnode *node = hv_plan_vnuma_node_at(plan, i);
        const hv_kvm_node_request *want = &m->nodes[i];

        if (hv_plan_vnode_vcpu_count(node) == want->vcpu_count &&
            hv_plan_vnode_memory_bytes(node) == want->bytes &&
            hv_plan_vnode_page_bytes(node) == want->page_bytes)
            continue;
        return hv_error_set(
            HV_E_PLAN, "vnuma",
            "this host's plan of the VM gives vNUMA node %zu %s where the source runs it with %s: "
            "a live migration cannot change the guest's memory layout",
            i,
            describe_node(here, sizeof(here), hv_plan_vnode_vcpu_count(node),
                          hv_plan_vnode_memory_bytes(node), hv_plan_vnode_page_bytes(node)),
            describe_node(there, sizeof(there), want->vcpu_count, want->bytes, want->page_bytes));
    }
    return 0;
}

int hv_kvm_migrate_replan(const hv_kvm_snapshot_meta *m, const hv_host *host, hv_plan **out)
{
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    int rc;

    *out = NULL;
    if ((rc = spec_from_plan(m->plan_json, &spec)) < 0)
        return rc;
    if ((rc = pin_layout(spec, m)) < 0) {
        char reason[768];

        hv_format(reason, sizeof(reason), "%s", hv_error_message(hv_error_last()));
        rc = rc == HV_E_NOMEM ? rc
                              : hv_error_set(HV_E_MIGRATION, NULL,
                                             "the VM the source describes is no VM a spec can "
                                             "have: %s",
                                             reason);
    }
    if (rc == 0)
        rc = hv_plan_create(host, spec, NULL, &plan);
    if (rc == 0 && !hv_plan_ok(plan))
        rc = hv_plan_refuse(plan, HV_E_PLAN, "this host cannot run the VM");
    if (rc == 0)
        rc = check_layout(plan, m);
    hv_vm_spec_free(spec);
    if (rc < 0) {
        hv_plan_free(plan);
        return rc;
    }
    *out = plan;
    return 0;
}

/* Where vCPU `v` may run: its pinned CPU, else the host CPUs of its vNUMA node ("": anywhere). */
static const char *vcpu_cpus(const hv_plan *plan, unsigned int v, char *buf, size_t size)
{
    unsigned int first = 0;
    int pin = hv_plan_vcpu_pin(plan, v);

    if (pin >= 0) {
        hv_format(buf, size, "%d", pin);
        return buf;
    }
    for (size_t i = 0; i < hv_plan_vnuma_node_count(plan); i++) {
        const hv_plan_vnode *node = hv_plan_vnuma_node_at(plan, i);

        if (v < first + hv_plan_vnode_vcpu_count(node))
            return hv_plan_vnode_host_cpus(node);
        first += hv_plan_vnode_vcpu_count(node);
    }
    return "";
}

/* Make `affinity` (a new array, taken, failing or not) m's: one CPU list per vCPU. */
static int set_affinity(hv_kvm_snapshot_meta *m, json_object *affinity)
{
    if (hv_json_add(m->root, "affinity", affinity) < 0)
        return hv_error_nomem();
    m->affinity = affinity;
    return 0;
}

/* Append `cpus` to `affinity` `times` times; HV_E_NOMEM. */
static int add_cpus(json_object *affinity, const char *cpus, unsigned int times)
{
    for (unsigned int i = 0; i < times; i++) {
        json_object *item = json_object_new_string(cpus);

        if (!item || json_object_array_add(affinity, item) < 0) {
            json_object_put(item);
            return HV_E_NOMEM;
        }
    }
    return 0;
}

int hv_kvm_migrate_place(const hv_plan *plan, hv_kvm_snapshot_meta *m)
{
    json_object *affinity = json_object_new_array();
    char *plan_json = NULL, pin[16];
    int rc = affinity ? 0 : HV_E_NOMEM;

    for (int v = 0; v < m->vcpus && rc == 0; v++)
        rc = add_cpus(affinity, vcpu_cpus(plan, (unsigned int)v, pin, sizeof(pin)), 1);
    if (rc == 0)
        rc = hv_plan_to_json(plan, HV_JSON_COMPACT, &plan_json);
    if (rc < 0) {
        json_object_put(affinity);
        return hv_error_nomem();
    }
    if (set_affinity(m, affinity) < 0) {
        hv_free(plan_json);
        return HV_E_NOMEM;
    }
    for (size_t i = 0; i < m->node_count; i++)
        m->nodes[i].host_node = hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, i));
    free(m->plan_json);
    m->plan_json = plan_json;
    return 0;
}

int hv_kvm_migrate_place_on_nodes(const hv_host *host, const int *host_nodes,
                                  hv_kvm_snapshot_meta *m)
{
    json_object *affinity;
    int rc = 0;

    for (size_t i = 0; i < m->node_count; i++)
        if (!hv_host_node_by_id(host, host_nodes[i]))
            return hv_error_set(HV_E_INVAL, "host_nodes",
                                "host node %d, given for vNUMA node %zu, is not a NUMA node of "
                                "this host (it has %zu: ids as hv_host_node_id() gives them)",
                                host_nodes[i], i, hv_host_node_count(host));
    if (!(affinity = json_object_new_array()))
        return hv_error_nomem();
    for (size_t i = 0; i < m->node_count && rc == 0; i++)
        rc = add_cpus(affinity, hv_host_node_cpulist(hv_host_node_by_id(host, host_nodes[i])),
                      m->nodes[i].vcpu_count);
    if (rc < 0) {
        json_object_put(affinity);
        return hv_error_nomem();
    }
    if ((rc = set_affinity(m, affinity)) < 0)
        return rc;
    for (size_t i = 0; i < m->node_count; i++)
        m->nodes[i].host_node = host_nodes[i];
    return 0;
}

/*
 * plan/plan.c - the plan object: hv_plan_create() runs the planning steps in
 * order (devices, vNUMA, pages, device attachment, MMIO, limits and
 * firmware, migration) and collects their findings; getters; freeing.
 */
#include "plan/plan.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FINDING_FN(name, severity)                                                                 \
    int name(hv_plan *plan, const char *code, const char *path, const char *fmt, ...)              \
    {                                                                                              \
        va_list ap;                                                                                \
        int rc;                                                                                    \
                                                                                                   \
        va_start(ap, fmt);                                                                         \
        rc = hv_findings_vadd(&plan->findings, severity, code, path, fmt, ap);                     \
        va_end(ap);                                                                                \
        return rc;                                                                                 \
    }

FINDING_FN(hv_plan_error, HV_SEVERITY_ERROR)
FINDING_FN(hv_plan_warning, HV_SEVERITY_WARNING)
FINDING_FN(hv_plan_info, HV_SEVERITY_INFO)

int hv_plan_options_init(hv_plan_options *opts, unsigned int version)
{
    return hv_options_init(opts, sizeof(*opts), version, HV_PLAN_OPTIONS_VERSION, __func__);
}

void hv_plan_free(hv_plan *plan)
{
    hv_arena arena;

    if (!plan)
        return;
    arena = plan->arena; /* the plan itself lives in its arena */
    hv_arena_release(&arena);
}

int hv_plan_create(const hv_host *host, const hv_vm_spec *spec, const hv_plan_options *opts,
                   hv_plan **out)
{
    const char *profile_name;
    hv_plan *plan;
    int rc;

    HV_CHECK_ARG(out, "plan");
    *out = NULL;
    HV_CHECK_ARG(host, "host");
    HV_CHECK_ARG(spec, "spec");
    rc = hv_options_check(opts, HV_PLAN_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    profile_name = opts && opts->profile ? opts->profile : spec->profile;
    if (!hv_profile_find(profile_name)) {
        char quoted[HV_QUOTE_SIZE];

        return hv_error_set(HV_E_NOTFOUND, "profile", "unknown maximums profile '%s'",
                            hv_quote(quoted, sizeof(quoted), profile_name));
    }
    {
        hv_arena arena = HV_ARENA_INIT(16384);

        plan = hv_arena_alloc(&arena, sizeof(*plan));
        if (!plan) {
            hv_arena_release(&arena);
            return HV_E_NOMEM;
        }
        plan->arena = arena;
        plan->findings.arena = &plan->arena;
    }
    plan->profile = hv_profile_find(profile_name);
    plan->spec = hv_vm_spec_copy_arena(spec, &plan->arena);
    rc = plan->spec ? 0 : HV_E_NOMEM;
    if (rc == 0)
        rc = hv_plan_devices(plan, host);
    if (rc == 0)
        rc = hv_plan_vnuma(plan, host);
    if (rc == 0)
        rc = hv_plan_pages(plan, host);
    if (rc == 0)
        rc = hv_plan_attach_devices(plan);
    if (rc == 0)
        rc = hv_plan_mmio(plan, host);
    if (rc == 0)
        rc = hv_plan_limits(plan, host);
    if (rc == 0)
        rc = hv_plan_migration(plan);
    if (rc < 0) {
        hv_plan_free(plan);
        return rc;
    }
    plan->ok = hv_findings_count_severity(&plan->findings, HV_SEVERITY_ERROR) == 0;
    *out = plan;
    return 0;
}

/* ---- getters ---------------------------------------------------------------- */

#define GET(type, fn, objtype, expr, dflt)                                                         \
    type fn(const objtype *o)                                                                      \
    {                                                                                              \
        return o ? (expr) : (dflt);                                                                \
    }

GET(bool, hv_plan_ok, hv_plan, o->ok, false)
GET(size_t, hv_plan_finding_count, hv_plan, o->findings.count, 0)
GET(const hv_vm_spec *, hv_plan_spec, hv_plan, o->spec, NULL)
GET(const char *, hv_plan_profile, hv_plan, o->profile->name, "")
GET(int, hv_plan_firmware, hv_plan, o->firmware, 0)
GET(unsigned int, hv_plan_vcpus, hv_plan, o->spec->vcpus, 0)
GET(uint64_t, hv_plan_memory_bytes, hv_plan, o->spec->memory_bytes, 0)
GET(unsigned int, hv_plan_sockets, hv_plan, o->sockets, 0)
GET(unsigned int, hv_plan_cores_per_socket, hv_plan, o->cores_per_socket, 0)
GET(unsigned int, hv_plan_threads_per_core, hv_plan, o->threads_per_core, 0)
GET(int, hv_plan_cpu_placement, hv_plan, o->spec->cpu_placement, 0)
GET(int, hv_plan_vnuma_policy, hv_plan, o->spec->vnuma_policy, 0)
GET(bool, hv_plan_needs_iommu_eim, hv_plan, o->needs_iommu_eim, false)
GET(uint64_t, hv_plan_mmio_hole32_used_bytes, hv_plan, o->hole32_bytes_used, 0)
GET(size_t, hv_plan_vnuma_node_count, hv_plan, o->nvnodes, 0)
GET(uint64_t, hv_plan_mmio_bar_total_bytes, hv_plan, o->bar_total_bytes, 0)
GET(uint64_t, hv_plan_mmio_window_bytes, hv_plan, o->window_bytes, 0)
GET(uint64_t, hv_plan_mmio_window_base, hv_plan, o->window_base, 0)
GET(uint64_t, hv_plan_mmio_low_ram_bytes, hv_plan, o->low_ram_bytes, 0)
GET(uint64_t, hv_plan_mmio_high_ram_bytes, hv_plan, o->high_ram_bytes, 0)
GET(unsigned int, hv_plan_guest_phys_bits_required, hv_plan, o->guest_phys_bits_required, 0)
GET(unsigned int, hv_plan_guest_phys_bits, hv_plan, o->guest_phys_bits, 0)
GET(bool, hv_plan_guest_phys_bits_passthrough, hv_plan, o->guest_phys_bits_passthrough, false)
GET(unsigned int, hv_plan_host_phys_bits, hv_plan, o->host_phys_bits, 0)
GET(bool, hv_plan_mmio_feasible, hv_plan, o->mmio_feasible, false)
GET(size_t, hv_plan_device_count, hv_plan, o->ndevices, 0)
GET(bool, hv_plan_live_migratable, hv_plan, o->nreasons == 0, false)
GET(size_t, hv_plan_migration_reason_count, hv_plan, o->nreasons, 0)

GET(unsigned int, hv_plan_vnode_id, hv_plan_vnode, o->id, 0)
GET(unsigned int, hv_plan_vnode_vcpu_count, hv_plan_vnode, o->vcpu_count, 0)
GET(const char *, hv_plan_vnode_vcpus, hv_plan_vnode, o->vcpus_text, "")
GET(uint64_t, hv_plan_vnode_memory_bytes, hv_plan_vnode, o->memory_bytes, 0)
GET(int, hv_plan_vnode_host_node, hv_plan_vnode, o->host_node, -1)
GET(uint64_t, hv_plan_vnode_page_bytes, hv_plan_vnode, o->page_bytes, 0)
GET(uint64_t, hv_plan_vnode_page_count, hv_plan_vnode, o->page_count, 0)
GET(const char *, hv_plan_vnode_host_cpus, hv_plan_vnode,
    o->host_cpus_text ? o->host_cpus_text : "", "")

GET(int, hv_plan_device_type_of, hv_plan_device, o->type, 0)
GET(const char *, hv_plan_device_spec_path, hv_plan_device, o->spec_path, "")
GET(const char *, hv_plan_device_pci_address, hv_plan_device, o->pci_address, "")
GET(int, hv_plan_device_mode, hv_plan_device, o->mode, 0)
GET(const char *, hv_plan_device_model, hv_plan_device, o->model, "")
GET(const char *, hv_plan_device_mdev_type, hv_plan_device, o->mdev_type, "")
GET(int, hv_plan_device_host_node, hv_plan_device, o->host_node, -1)
GET(int, hv_plan_device_vnode, hv_plan_device, o->vnode, -1)
GET(unsigned int, hv_plan_device_queues, hv_plan_device, o->queues, 0)
GET(unsigned int, hv_plan_device_mtu, hv_plan_device, o->mtu, 0)
GET(const char *, hv_plan_device_rdma_name, hv_plan_device, o->rdma_name, "")
GET(unsigned int, hv_plan_device_rdma_port, hv_plan_device, o->rdma_port, 0)
GET(int, hv_plan_device_rdma_protocol, hv_plan_device, o->rdma_protocol, 0)
GET(unsigned int, hv_plan_device_rss_flags, hv_plan_device, o->rss_flags, 0)
GET(unsigned int, hv_plan_device_tunnel_flags, hv_plan_device, o->tunnel_flags, 0)

uint64_t hv_plan_device_bar_total_bytes(const hv_plan_device *dev)
{
    uint64_t total = 0;

    for (size_t b = 0; dev && b < dev->nbars; b++)
        total += dev->bars[b].size_bytes;
    return total;
}

const hv_finding *hv_plan_finding_at(const hv_plan *plan, size_t index)
{
    return plan && index < plan->findings.count ? &plan->findings.items[index] : NULL;
}

const hv_plan_vnode *hv_plan_vnuma_node_at(const hv_plan *plan, size_t index)
{
    return plan && index < plan->nvnodes ? &plan->vnodes[index] : NULL;
}

int hv_plan_vnuma_distance(const hv_plan *plan, size_t i, size_t j)
{
    if (!plan || i >= plan->nvnodes || j >= plan->nvnodes)
        return -1;
    return plan->distances[i * plan->nvnodes + j];
}

int hv_plan_vcpu_pin(const hv_plan *plan, unsigned int vcpu)
{
    return plan && plan->vcpu_pins && vcpu < plan->spec->vcpus ? plan->vcpu_pins[vcpu] : -1;
}

const char *hv_plan_emulator_cpus(const hv_plan *plan)
{
    return plan && plan->emulator_cpus_text ? plan->emulator_cpus_text : "";
}

const hv_plan_device *hv_plan_device_at(const hv_plan *plan, size_t index)
{
    return plan && index < plan->ndevices ? &plan->devices[index] : NULL;
}

const char *hv_plan_migration_reason_at(const hv_plan *plan, size_t index)
{
    return plan && index < plan->nreasons ? plan->reasons[index] : NULL;
}

/*
 * plan/plan.c - the plan object: the findings the planning steps add to it,
 * its getters and freeing. The steps call it; planner.c runs them.
 */
#include "plan/plan.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hv_plan_error(hv_plan *plan, const char *code, const char *path, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = hv_findings_vadd(&plan->findings, HV_SEVERITY_ERROR, code, path, fmt, ap);
    va_end(ap);
    return rc;
}

int hv_plan_warning(hv_plan *plan, const char *code, const char *path, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = hv_findings_vadd(&plan->findings, HV_SEVERITY_WARNING, code, path, fmt, ap);
    va_end(ap);
    return rc;
}

int hv_plan_info(hv_plan *plan, const char *code, const char *path, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = hv_findings_vadd(&plan->findings, HV_SEVERITY_INFO, code, path, fmt, ap);
    va_end(ap);
    return rc;
}

void hv_plan_free(hv_plan *plan)
{
    hv_arena arena;

    if (!plan)
        return;
    arena = plan->arena; /* the plan itself lives in its arena */
    hv_arena_release(&arena);
}

/* ---- getters ---------------------------------------------------------------- */

bool hv_plan_ok(const hv_plan *plan)
{
    return plan ? plan->ok : false;
}

size_t hv_plan_finding_count(const hv_plan *plan)
{
    return plan ? plan->findings.count : 0;
}

const hv_vm_spec *hv_plan_spec(const hv_plan *plan)
{
    return plan ? plan->spec : NULL;
}

const char *hv_plan_profile(const hv_plan *plan)
{
    return plan ? plan->profile->name : "";
}

int hv_plan_firmware(const hv_plan *plan)
{
    return plan ? plan->firmware : 0;
}

unsigned int hv_plan_vcpus(const hv_plan *plan)
{
    return plan ? plan->spec->vcpus : 0;
}

uint64_t hv_plan_memory_bytes(const hv_plan *plan)
{
    return plan ? plan->spec->memory_bytes : 0;
}

unsigned int hv_plan_sockets(const hv_plan *plan)
{
    return plan ? plan->sockets : 0;
}

unsigned int hv_plan_cores_per_socket(const hv_plan *plan)
{
    return plan ? plan->cores_per_socket : 0;
}

unsigned int hv_plan_threads_per_core(const hv_plan *plan)
{
    return plan ? plan->threads_per_core : 0;
}

int hv_plan_cpu_placement(const hv_plan *plan)
{
    return plan ? plan->spec->cpu_placement : 0;
}

int hv_plan_vnuma_policy(const hv_plan *plan)
{
    return plan ? plan->spec->vnuma_policy : 0;
}

bool hv_plan_needs_iommu_eim(const hv_plan *plan)
{
    return plan ? plan->needs_iommu_eim : false;
}

uint64_t hv_plan_mmio_hole32_used_bytes(const hv_plan *plan)
{
    return plan ? plan->hole32_bytes_used : 0;
}

size_t hv_plan_vnuma_node_count(const hv_plan *plan)
{
    return plan ? plan->nvnodes : 0;
}

uint64_t hv_plan_mmio_bar_total_bytes(const hv_plan *plan)
{
    return plan ? plan->bar_total_bytes : 0;
}

uint64_t hv_plan_mmio_window_bytes(const hv_plan *plan)
{
    return plan ? plan->window_bytes : 0;
}

uint64_t hv_plan_mmio_window_base(const hv_plan *plan)
{
    return plan ? plan->window_base : 0;
}

uint64_t hv_plan_mmio_low_ram_bytes(const hv_plan *plan)
{
    return plan ? plan->low_ram_bytes : 0;
}

uint64_t hv_plan_mmio_high_ram_bytes(const hv_plan *plan)
{
    return plan ? plan->high_ram_bytes : 0;
}

unsigned int hv_plan_guest_phys_bits_required(const hv_plan *plan)
{
    return plan ? plan->guest_phys_bits_required : 0;
}

unsigned int hv_plan_guest_phys_bits(const hv_plan *plan)
{
    return plan ? plan->guest_phys_bits : 0;
}

bool hv_plan_guest_phys_bits_passthrough(const hv_plan *plan)
{
    return plan ? plan->guest_phys_bits_passthrough : false;
}

unsigned int hv_plan_host_phys_bits(const hv_plan *plan)
{
    return plan ? plan->host_phys_bits : 0;
}

bool hv_plan_mmio_feasible(const hv_plan *plan)
{
    return plan ? plan->mmio_feasible : false;
}

size_t hv_plan_device_count(const hv_plan *plan)
{
    return plan ? plan->ndevices : 0;
}

bool hv_plan_live_migratable(const hv_plan *plan)
{
    return plan ? plan->nreasons == 0 : false;
}

size_t hv_plan_migration_reason_count(const hv_plan *plan)
{
    return plan ? plan->nreasons : 0;
}

unsigned int hv_plan_vnode_id(const hv_plan_vnode *node)
{
    return node ? node->id : 0;
}

unsigned int hv_plan_vnode_vcpu_count(const hv_plan_vnode *node)
{
    return node ? node->vcpu_count : 0;
}

const char *hv_plan_vnode_vcpus(const hv_plan_vnode *node)
{
    return node ? node->vcpus_text : "";
}

uint64_t hv_plan_vnode_memory_bytes(const hv_plan_vnode *node)
{
    return node ? node->memory_bytes : 0;
}

int hv_plan_vnode_host_node(const hv_plan_vnode *node)
{
    return node ? node->host_node : -1;
}

uint64_t hv_plan_vnode_page_bytes(const hv_plan_vnode *node)
{
    return node ? node->page_bytes : 0;
}

uint64_t hv_plan_vnode_page_count(const hv_plan_vnode *node)
{
    return node ? node->page_count : 0;
}

const char *hv_plan_vnode_host_cpus(const hv_plan_vnode *node)
{
    return node && node->host_cpus_text ? node->host_cpus_text : "";
}

int hv_plan_device_type_of(const hv_plan_device *dev)
{
    return dev ? dev->type : 0;
}

const char *hv_plan_device_spec_path(const hv_plan_device *dev)
{
    return dev ? dev->spec_path : "";
}

const char *hv_plan_device_pci_address(const hv_plan_device *dev)
{
    return dev ? dev->pci_address : "";
}

int hv_plan_device_mode(const hv_plan_device *dev)
{
    return dev ? dev->mode : 0;
}

const char *hv_plan_device_model(const hv_plan_device *dev)
{
    return dev ? dev->model : "";
}

const char *hv_plan_device_mdev_type(const hv_plan_device *dev)
{
    return dev ? dev->mdev_type : "";
}

int hv_plan_device_host_node(const hv_plan_device *dev)
{
    return dev ? dev->host_node : -1;
}

int hv_plan_device_vnode(const hv_plan_device *dev)
{
    return dev ? dev->vnode : -1;
}

unsigned int hv_plan_device_queues(const hv_plan_device *dev)
{
    return dev ? dev->queues : 0;
}

unsigned int hv_plan_device_mtu(const hv_plan_device *dev)
{
    return dev ? dev->mtu : 0;
}

const char *hv_plan_device_rdma_name(const hv_plan_device *dev)
{
    return dev ? dev->rdma_name : "";
}

unsigned int hv_plan_device_rdma_port(const hv_plan_device *dev)
{
    return dev ? dev->rdma_port : 0;
}

int hv_plan_device_rdma_protocol(const hv_plan_device *dev)
{
    return dev ? dev->rdma_protocol : 0;
}

unsigned int hv_plan_device_rss_flags(const hv_plan_device *dev)
{
    return dev ? dev->rss_flags : 0;
}

unsigned int hv_plan_device_tunnel_flags(const hv_plan_device *dev)
{
    return dev ? dev->tunnel_flags : 0;
}

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

int hv_plan_refuse(const hv_plan *plan, int code, const char *what)
{
    for (size_t i = 0; i < plan->findings.count; i++) {
        const hv_finding *f = &plan->findings.items[i];

        if (hv_finding_severity(f) == HV_SEVERITY_ERROR)
            return hv_error_set(code, hv_finding_path(f), "%s: %s (%s)", what,
                                hv_finding_message(f), hv_finding_code(f));
    }
    return hv_error_set(code, NULL, "%s", what);
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

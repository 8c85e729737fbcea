/*
 * plan/limits.c - the VM against its maximums profile (vCPUs, memory, IOMMU
 * needs for x2APIC guests) and the firmware choice: BIOS cannot boot more
 * than 64 vCPUs, `auto` picks EFI when the VM needs it and says why.
 */
#include "plan/plan.h"

#include <stdio.h>
#include <hpcvirt/size.h>

#define GiB(n) ((uint64_t)(n) << 30)

/* A passed-through device with a BAR of at least 16 GiB (vSphere's EFI threshold). */
static const struct hv_plan_device *large_bar_device(const hv_plan *plan)
{
    for (size_t d = 0; d < plan->ndevices; d++)
        for (size_t b = 0; b < plan->devices[d].nbars; b++)
            if (plan->devices[d].bars[b].size_bytes >= GiB(16))
                return &plan->devices[d];
    return NULL;
}

int hv_plan_limits(hv_plan *plan, const hv_host *host)
{
    const hv_vm_spec *spec = plan->spec;
    const hv_profile *p = plan->profile;
    const struct hv_plan_device *big = large_bar_device(plan);
    char a[32], b[32];
    int rc = 0;

    (void)host;
    if (p->vm_max_vcpus && spec->vcpus > p->vm_max_vcpus)
        rc |= hv_plan_error(plan, "plan.max.vcpus", "vcpus",
                            "%u vCPUs: %s supports at most %u per VM", spec->vcpus, p->name,
                            p->vm_max_vcpus);
    if (p->vm_max_memory_bytes && spec->memory_bytes > p->vm_max_memory_bytes) {
        hv_size_format(spec->memory_bytes, a, sizeof(a));
        hv_size_format(p->vm_max_memory_bytes, b, sizeof(b));
        rc |= hv_plan_error(plan, "plan.max.memory", "memory",
                            "%s of memory: %s supports at most %s per VM", a, p->name, b);
    }
    if (p->vm_vcpus_need_iommu && spec->vcpus > p->vm_vcpus_need_iommu) {
        plan->needs_iommu_eim = true;
        rc |= hv_plan_info(plan, "plan.topology.x2apic-iommu", "vcpus",
                           "more than %u vCPUs need x2APIC with interrupt remapping: the VM gets "
                           "an IOMMU with extended interrupt mode (EIM)",
                           p->vm_vcpus_need_iommu);
    }
    switch (spec->firmware) {
    case HV_FIRMWARE_BIOS:
        plan->firmware = HV_FIRMWARE_BIOS;
        if (p->bios_max_vcpus && spec->vcpus > p->bios_max_vcpus)
            rc |= hv_plan_error(plan, "plan.firmware.bios-too-many-vcpus", "firmware",
                                "BIOS firmware cannot boot more than %u vCPUs (this VM has %u): "
                                "use firmware \"efi\" (or \"auto\")",
                                p->bios_max_vcpus, spec->vcpus);
        if (big)
            rc |= hv_plan_warning(plan, "plan.firmware.bios-large-bar", big->spec_path,
                                  "%s has a BAR of 16 GiB or more: BIOS firmware often fails to "
                                  "map such BARs; EFI firmware is recommended",
                                  big->pci_address[0] ? big->pci_address : big->model);
        break;
    case HV_FIRMWARE_EFI:
        plan->firmware = HV_FIRMWARE_EFI;
        break;
    default:
        plan->firmware = HV_FIRMWARE_BIOS;
        if (p->bios_max_vcpus && spec->vcpus > p->bios_max_vcpus) {
            plan->firmware = HV_FIRMWARE_EFI;
            rc |= hv_plan_info(plan, "plan.firmware.efi-chosen", "firmware",
                               "EFI firmware chosen: BIOS cannot boot more than %u vCPUs",
                               p->bios_max_vcpus);
        } else if (big) {
            plan->firmware = HV_FIRMWARE_EFI;
            rc |= hv_plan_info(plan, "plan.firmware.efi-chosen", "firmware",
                               "EFI firmware chosen: %s has a BAR of 16 GiB or more, which needs "
                               "EFI to be mapped",
                               big->pci_address[0] ? big->pci_address : big->model);
        }
        break;
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

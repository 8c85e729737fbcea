/*
 * core/profile.c - the maximums profiles.
 *
 * vsphere-6.7: VMware's "Configuration Maximums, vSphere 6.7": 128 vCPUs and
 *   6128 GB per VM, >64 vCPUs need EFI; 576 logical CPUs, 16 NUMA nodes and
 *   12 TB per host.
 * kvm-q35: what KVM with QEMU 7.2's q35 machine accepts: 288 vCPUs (above
 *   255 an IOMMU with extended interrupt mode is needed), memory bounded by
 *   the guest physical-address width (QEMU's default is 40 bits), SeaBIOS
 *   limits like vSphere's are kept (EFI above 64 vCPUs).
 * vsphere-6.0: the older maximums (128 vCPUs, 4080 GB per VM, 480 logical
 *   CPUs, 16 nodes, 12 TB per host) and the legacy 32 GB aggregate limit on
 *   the BARs of passthrough devices per VM.
 */
#include "core/profile.h"

#include "core/error.h"
#include "core/text.h"

#include <stdio.h>
#include <string.h>

#define GiB(n) ((uint64_t)(n) << 30)
#define TiB(n) ((uint64_t)(n) << 40)

static const hv_profile profiles[] = {
    {
        .name = "vsphere-6.7",
        .description = "VMware vSphere 6.7 configuration maximums",
        .vm_max_vcpus = 128,
        .vm_max_memory_bytes = GiB(6128),
        .bios_max_vcpus = 64,
        .vm_vcpus_need_iommu = 0,
        .default_guest_phys_bits = 40,
        .vm_max_mmio_aggregate_bytes = 0,
        .host_max_logical_cpus = 576,
        .host_max_numa_nodes = 16,
        .host_max_memory_bytes = TiB(12),
    },
    {
        .name = "kvm-q35",
        .description = "KVM with QEMU 7.2 q35 machine types",
        .vm_max_vcpus = 288,
        .vm_max_memory_bytes = 0,
        .bios_max_vcpus = 64,
        .vm_vcpus_need_iommu = 255,
        .default_guest_phys_bits = 40,
        .vm_max_mmio_aggregate_bytes = 0,
        .host_max_logical_cpus = 0,
        .host_max_numa_nodes = 0,
        .host_max_memory_bytes = 0,
    },
    {
        .name = "vsphere-6.0",
        .description = "VMware vSphere 6.0 configuration maximums (legacy 32 GB passthrough "
                       "MMIO limit)",
        .vm_max_vcpus = 128,
        .vm_max_memory_bytes = GiB(4080),
        .bios_max_vcpus = 64,
        .vm_vcpus_need_iommu = 0,
        .default_guest_phys_bits = 40,
        .vm_max_mmio_aggregate_bytes = GiB(32),
        .host_max_logical_cpus = 480,
        .host_max_numa_nodes = 16,
        .host_max_memory_bytes = TiB(12),
    },
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

const hv_profile *hv_profile_find(const char *name)
{
    if (!name || !*name)
        name = HV_DEFAULT_PROFILE;
    for (size_t i = 0; i < N_PROFILES; i++)
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    return NULL;
}

size_t hv_profile_count(void)
{
    return N_PROFILES;
}

const char *hv_profile_name_at(size_t index)
{
    return index < N_PROFILES ? profiles[index].name : NULL;
}

const char *hv_profile_description(const char *name)
{
    const hv_profile *p = name ? hv_profile_find(name) : NULL;

    return p ? p->description : NULL;
}

const char *hv_profile_names(char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < N_PROFILES && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", profiles[i].name);
    return buf;
}

int hv_profile_unknown_error(int code, const char *path, const char *name)
{
    char quoted[HV_QUOTE_SIZE], names[128]; /* the caller's text: shown escaped */

    return hv_error_set(code, path, "unknown maximums profile '%s': use one of %s",
                        hv_quote(quoted, sizeof(quoted), name),
                        hv_profile_names(names, sizeof(names)));
}

int hv_profile_limit(const char *name, const char *key, uint64_t *value)
{
    const hv_profile *p;

    HV_CHECK_ARG(name, "name");
    HV_CHECK_ARG(key, "key");
    HV_CHECK_ARG(value, "value");
    p = hv_profile_find(name);
    if (!p)
        return hv_profile_unknown_error(HV_E_NOTFOUND, NULL, name);
#define LIMIT(field)                                                                               \
    if (strcmp(key, #field) == 0) {                                                                \
        *value = p->field;                                                                         \
        return 0;                                                                                  \
    }
    LIMIT(vm_max_vcpus)
    LIMIT(vm_max_memory_bytes)
    LIMIT(bios_max_vcpus)
    LIMIT(vm_vcpus_need_iommu)
    LIMIT(default_guest_phys_bits)
    LIMIT(vm_max_mmio_aggregate_bytes)
    LIMIT(host_max_logical_cpus)
    LIMIT(host_max_numa_nodes)
    LIMIT(host_max_memory_bytes)
#undef LIMIT
    {
        char quoted[HV_QUOTE_SIZE]; /* the caller's text: shown escaped */

        return hv_error_set(HV_E_NOTFOUND, NULL,
                            "profile '%s' has no limit called '%s' (hpcvirt/profile.h lists "
                            "the keys hv_profile_limit() knows, such as vm_max_vcpus)",
                            p->name, hv_quote(quoted, sizeof(quoted), key));
    }
}

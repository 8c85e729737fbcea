/*
 * hpcvirt/profile.h - configuration-maximums profiles: the limits a
 * hypervisor suite documents for VMs and hosts (vCPUs and memory per VM,
 * firmware rules, logical CPUs, NUMA nodes and memory per host). Host
 * discovery and planning check against one; specs name it.
 */
#ifndef HPCVIRT_PROFILE_H
#define HPCVIRT_PROFILE_H

#include <hpcvirt/common.h>

HV_BEGIN_DECLS

/** Number of built-in profiles ("vsphere-6.7" first: the default). */
HV_EXTERN size_t hv_profile_count(void);
/** Name of profile `index`, NULL past the end. */
HV_EXTERN const char *hv_profile_name_at(size_t index);
/** One-line description of a profile, NULL when unknown. */
HV_EXTERN const char *hv_profile_description(const char *name);
/**
 * A limit of a profile by key: "vm_max_vcpus", "vm_max_memory_bytes",
 * "bios_max_vcpus", "vm_vcpus_need_iommu", "default_guest_phys_bits",
 * "vm_max_mmio_aggregate_bytes", "host_max_logical_cpus",
 * "host_max_numa_nodes", "host_max_memory_bytes". 0 means no limit.
 * HV_E_NOTFOUND for an unknown profile or key.
 */
HV_EXTERN int hv_profile_limit(const char *name, const char *key, uint64_t *value);

HV_END_DECLS

#endif /* HPCVIRT_PROFILE_H */

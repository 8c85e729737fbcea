/*
 * core/profile.h - configuration-maximums profiles (internal): the limits a
 * hypervisor suite documents for VMs and hosts, as data. Host discovery
 * checks hosts against them, the planner checks VMs. 0 means "no limit".
 */
#ifndef HV_CORE_PROFILE_H
#define HV_CORE_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <hpcvirt/profile.h>

typedef struct hv_profile {
    const char *name;
    const char *description;
    /* per VM */
    unsigned int vm_max_vcpus;
    uint64_t vm_max_memory_bytes;
    unsigned int bios_max_vcpus;          /* above this, EFI firmware is required */
    unsigned int vm_vcpus_need_iommu;     /* above this, an IOMMU with x2APIC/EIM is required */
    unsigned int default_guest_phys_bits; /* the VMM's default without host-phys-bits */
    uint64_t vm_max_mmio_aggregate_bytes; /* legacy per-VM BAR total limit */
    /* per host */
    unsigned int host_max_logical_cpus;
    unsigned int host_max_numa_nodes;
    uint64_t host_max_memory_bytes;
} hv_profile;

#define HV_DEFAULT_PROFILE "vsphere-6.7"

/* NULL or "" finds the default profile; unknown names give NULL. */
const hv_profile *hv_profile_find(const char *name);

/* The profiles' names, ", "-separated ("vsphere-6.7, kvm-q35, vsphere-6.0"), for messages. */
const char *hv_profile_names(char *buf, size_t size);

/*
 * Record "unknown maximums profile 'NAME': use one of PROFILES" (NAME from outside, shown
 * escaped) as the error `code` at `path` (NULL: none); returns `code`.
 */
int hv_profile_unknown_error(int code, const char *path, const char *name);

#endif

/*
 * kvm/memory.h - guest RAM (internal): one memfd per vNUMA node, hugetlb
 * where the plan asks for 2 MiB / 1 GiB pages (else 4 KiB pages with
 * transparent huge pages requested), bound to the plan's host node with
 * mbind(MPOL_BIND) before anything touches it, and registered as a KVM
 * memory slot. A memfd is what suspend (write it), instant clone (map it
 * MAP_PRIVATE) and migration (read it, dirty log) build on.
 */
#ifndef HV_KVM_MEMORY_H
#define HV_KVM_MEMORY_H

#include <hpcvirt/vm.h>

#include <stdbool.h>
#include <stdint.h>

typedef struct hv_kvm_ram {
    int fd;        /* the memfd, -1 when none */
    uint8_t *host; /* its mapping */
    uint64_t guest_base, bytes;
    uint64_t page_bytes; /* what backs it: 4096, or the hugetlb page size */
    int host_node;       /* -1: not bound */
    bool bound;          /* mbind(MPOL_BIND) succeeded */
    bool thp_requested;
    uint32_t slot;
    bool registered;
} hv_kvm_ram;

/**
 * Create and map one node's RAM. HV_E_NOMEM (naming the host node and how many
 * huge pages it lacks) when hugetlb pages run short, HV_E_IO otherwise.
 */
int hv_kvm_ram_create(hv_kvm_ram *ram, const char *vm_name, uint32_t slot, uint64_t guest_base,
                      uint64_t bytes, uint64_t page_bytes, int host_node);
/** Register it with the VM as KVM memory slot ram->slot. */
int hv_kvm_ram_register(hv_kvm_ram *ram, int vm_fd);
/** Drop the contents (the next touch reads zeros); placement stays. */
int hv_kvm_ram_reset(hv_kvm_ram *ram);
/** Unmap and close (the slot dies with the VM fd). */
void hv_kvm_ram_destroy(hv_kvm_ram *ram);
/** Fill a memory report: backing, binding as the kernel reports it, THP and residency. */
int hv_kvm_ram_info(const hv_kvm_ram *ram, hv_vm_memory_info *info);

#endif

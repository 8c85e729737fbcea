/*
 * kvm/system.h - /dev/kvm itself (internal): opening it with clear errors,
 * the API version and capabilities the engine needs, and the CPU features
 * every vCPU is given (KVM's supported CPUID, XCR0).
 */
#ifndef HV_KVM_SYSTEM_H
#define HV_KVM_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;

typedef struct hv_kvm_system {
    int fd;
    int vcpu_mmap_bytes;      /* size of each vCPU's kvm_run mapping */
    int max_vcpus;            /* KVM_CAP_MAX_VCPUS (or NR_VCPUS) */
    struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, given to every vCPU */
    bool gib_pages;           /* the guest may map 1 GiB pages (pdpe1gb) */
    bool xsave;               /* XSAVE/XCR0 can be set up for the guest */
    uint64_t xcr0;            /* x87 | SSE (| AVX where supported) */
} hv_kvm_system;

/**
 * Open the device and check it: HV_E_NOKVM when it is missing (saying how to
 * get it, and that a libvirt: URI serves VMs without a payload), HV_E_PERM
 * without access (the kvm group), HV_E_UNSUPPORTED for an API version other
 * than 12 or a missing capability (named).
 */
int hv_kvm_system_open(hv_kvm_system *sys);
void hv_kvm_system_close(hv_kvm_system *sys);

#endif

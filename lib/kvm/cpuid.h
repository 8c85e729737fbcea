/*
 * kvm/cpuid.h - the CPUID table one vCPU of the built-in engine is given
 * (internal, pure: no ioctls, no /dev/kvm): KVM's supported CPUID with the
 * topology leaves rewritten so that the guest sees the plan's sockets x cores
 * x threads and the APIC id hv_kvm_apic_id() gives. docs/linux-guest.md
 * ("CPUID") says which leaves change and why.
 */
#ifndef HV_KVM_CPUID_H
#define HV_KVM_CPUID_H

#include "kvm/acpi.h"

#include <linux/kvm.h>
#include <stdint.h>

/**
 * The most entries a vCPU's table has beyond KVM's: three subleaves
 * (SMT, core, the invalid end) for each of 0xB, 0x1F and 0x80000026.
 */
#define HV_KVM_CPUID_EXTRA 9

/**
 * Write the CPUID table of vCPU `vcpu` (0 .. HV_KVM_MAX_VCPUS - 1, the
 * engine's index: vCPU i is thread i % threads of core (i / threads) % cores
 * of socket i / (threads x cores), as hv_kvm_apic_id() has it) into `out`:
 * the `count` entries of `supported` (KVM_GET_SUPPORTED_CPUID) in their order,
 * with
 *   - leaf 0x1: EBX[31:24] the APIC id's low 8 bits, EBX[23:16] the package's
 *     APIC id span 1 << (core_bits + thread_bits) (at most 255), EDX HTT when
 *     a package has more than one logical processor, ECX hypervisor;
 *   - leaf 0x4 and AMD's 0x8000001D (each cache): the logical processors
 *     sharing it (L1, L2: a core; L3 and beyond: a package), and leaf 0x4's
 *     EAX[31:26] the cores a package addresses, less 1;
 *   - leaves 0xB (when the maximum basic leaf reaches it), 0x1F and
 *     0x80000026 (only where `supported` has them): KVM's subleaves replaced
 *     by the SMT level, the core level and the invalid level 2, each with
 *     the x2APIC id, appended at the end with KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
 *   - on AMD and Hygon hosts: 0x80000001 ECX CmpLegacy (set with more than
 *     one logical processor per package), 0x80000008 ECX NC and
 *     ApicIdCoreIdSize, and 0x8000001E (the x2APIC id, the core within its
 *     socket, threads per core, `node` as the node id, one node per socket).
 * Every other entry (features, 0x40000000 and 0x40000001, which give the
 * guest kvmclock) is copied unchanged. `topology` NULL means one thread per
 * core, one core per socket; `node` is the vCPU's vNUMA node
 * (0 .. HV_KVM_MAX_NODES - 1).
 *
 * HV_E_INVAL for a topology CPUID cannot describe (more than 256 threads per
 * core, more than 65535 logical processors per socket), a vCPU or node out
 * of range (the message says what to change); HV_E_RANGE when the table
 * needs more than `out_max` entries (at most count + HV_KVM_CPUID_EXTRA).
 * Nothing is written to `out` on failure. `*out_count` is the entries written.
 */
int hv_kvm_cpuid_for_vcpu(const struct kvm_cpuid_entry2 *supported, uint32_t count,
                          const hv_kvm_cpu_topology *topology, uint32_t vcpu, uint32_t node,
                          struct kvm_cpuid_entry2 *out, uint32_t out_max, uint32_t *out_count);

#endif

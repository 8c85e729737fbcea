/*
 * kvm/acpi.h - the ACPI tables a Linux guest of the built-in engine finds
 * (internal, pure: no I/O, no /dev/kvm): RSDP, XSDT, FADT, DSDT, MADT, SRAT
 * and SLIT written from a vNUMA machine description into a caller's buffer,
 * and the one mapping from vCPU index to APIC id that CPUID must agree with.
 * docs/linux-guest-acpi.md describes the guest-visible machine.
 */
#ifndef HV_KVM_ACPI_H
#define HV_KVM_ACPI_H

#include "kvm/layout.h"

#include <stddef.h>
#include <stdint.h>

/** The local APICs' MMIO base (KVM's in-kernel irqchip). */
#define HV_KVM_LAPIC_ADDR UINT64_C(0xFEE00000)
/** The IOAPIC's MMIO base, its id and pin count (KVM_CREATE_IRQCHIP); GSI n = pin n. */
#define HV_KVM_IOAPIC_ADDR UINT64_C(0xFEC00000)
#define HV_KVM_IOAPIC_ID   0
#define HV_KVM_IOAPIC_PINS 24
/**
 * The virtio-mmio devices' windows, one 4 KiB page each from the base, just
 * below the IOAPIC (Linux guests' RAM ends at or below the base), and their
 * interrupts: IOAPIC pins 16 to 23, level-triggered, active high; the DSDT
 * announces each as a device of _HID "LNRO0005" (Linux's virtio_mmio driver).
 */
#define HV_KVM_VIRTIO_MMIO_BASE   UINT64_C(0xFEB00000)
#define HV_KVM_VIRTIO_MAX_DEVICES 8
#define HV_KVM_VIRTIO_FIRST_GSI   16
/** COM1, an 8250/16550 UART: ports 0x3F8-0x3FF, ISA IRQ 4 (GSI 4). */
#define HV_KVM_COM1_PORT 0x3F8
#define HV_KVM_COM1_IRQ  4
/**
 * The hardware-reduced FADT's registers, byte-wide I/O ports: Linux powers
 * off by writing (SLP_TYP 5 << 2) | SLP_EN (0x20) = 0x34 to the sleep
 * control register (the DSDT's \_S5 gives SLP_TYP 5) and resets by writing
 * RESET_VALUE to the reset register.
 */
#define HV_KVM_ACPI_SLEEP_CONTROL_PORT 0x600
#define HV_KVM_ACPI_SLEEP_STATUS_PORT  0x601
#define HV_KVM_ACPI_RESET_PORT         0x602
#define HV_KVM_ACPI_RESET_VALUE        0x01
#define HV_KVM_ACPI_SLP_TYP_S5         5
#define HV_KVM_ACPI_SLP_EN             0x20
/** The legacy BIOS area Linux scans for the RSDP (16-byte aligned) when boot_params has none. */
#define HV_KVM_ACPI_BIOS_BASE UINT64_C(0xE0000)
#define HV_KVM_ACPI_BIOS_END  UINT64_C(0x100000)
/** The most RAM ranges a machine description holds (two per node: room for a hole). */
#define HV_KVM_ACPI_MAX_RANGES (2 * HV_KVM_MAX_NODES)
/** Guest distances the SLIT takes off the diagonal (10 is the diagonal, 255 "unreachable"). */
#define HV_KVM_ACPI_DISTANCE_MIN 11
#define HV_KVM_ACPI_DISTANCE_MAX 254

/** Guest CPU topology: vCPU i is thread i % threads of core (i / threads) % cores of its socket. */
typedef struct hv_kvm_cpu_topology {
    uint32_t threads_per_core; /**< 0 counts as 1 */
    uint32_t cores_per_socket; /**< 0 counts as 1 */
} hv_kvm_cpu_topology;

/** One guest RAM range and the vNUMA node (= ACPI proximity domain) it belongs to. */
typedef struct hv_kvm_acpi_range {
    uint64_t base, bytes;
    uint32_t node;
} hv_kvm_acpi_range;

/** What the tables describe. */
typedef struct hv_kvm_acpi_machine {
    size_t node_count;                     /**< 1 .. HV_KVM_MAX_NODES */
    uint32_t node_vcpus[HV_KVM_MAX_NODES]; /**< node i's vCPUs follow node i-1's */
    uint32_t vcpu_count;                   /**< the sum of node_vcpus, 1 .. HV_KVM_MAX_VCPUS */
    hv_kvm_cpu_topology topology;          /**< gives the APIC ids */
    const int *distances;                  /**< node_count x node_count, row-major */
    size_t range_count;                    /**< 1 .. HV_KVM_ACPI_MAX_RANGES */
    /** RAM ranges in any order, none overlapping; every node has one at least */
    hv_kvm_acpi_range ranges[HV_KVM_ACPI_MAX_RANGES];
    uint64_t mmio_base, mmio_bytes; /**< the MMIO window: no RAM there */
    /** virtio-mmio devices the DSDT announces: registers at base (HV_VIRTIO_MMIO_USED_BYTES), GSI
     */
    size_t virtio_count; /**< 0 .. HV_KVM_VIRTIO_MAX_DEVICES */
    struct {
        uint64_t base;
        uint32_t gsi;
    } virtio[HV_KVM_VIRTIO_MAX_DEVICES];
} hv_kvm_acpi_machine;

/** Where the tables went: guest-physical addresses (0 for a table not written). */
typedef struct hv_kvm_acpi_tables {
    uint64_t rsdp, xsdt, fadt, dsdt, madt, srat, slit;
    size_t bytes; /**< bytes of the buffer used, from its start */
} hv_kvm_acpi_tables;

/** Bits of the APIC id below the core field (ceil(log2(threads per core))). */
uint32_t hv_kvm_topology_thread_bits(const hv_kvm_cpu_topology *topology);
/** Bits of the APIC id for the core within its socket (ceil(log2(cores per socket))). */
uint32_t hv_kvm_topology_core_bits(const hv_kvm_cpu_topology *topology);
/**
 * The APIC id (x2APIC id) of vCPU `vcpu`, as CPUID leaves 0x1, 0xB and 0x1F
 * must report it: socket << (core_bits + thread_bits) | core << thread_bits |
 * thread. With power-of-two cores and threads it is `vcpu`.
 */
uint32_t hv_kvm_apic_id(const hv_kvm_cpu_topology *topology, uint32_t vcpu);

/**
 * Describe a layout's machine: one RAM range per node (the node's base and
 * bytes), its vCPUs, its MMIO window, `distances` (node_count x node_count,
 * kept by pointer) and `topology` (NULL: one thread per core, one core per
 * socket). HV_E_INVAL for a layout hv_kvm_layout_init() did not make.
 */
int hv_kvm_acpi_machine_from_layout(hv_kvm_acpi_machine *machine, const hv_kvm_layout *layout,
                                    const int *distances, const hv_kvm_cpu_topology *topology);

/**
 * Write the RSDP at guest-physical `base` (the start of `buf`, 16-byte
 * aligned) and the other tables after it, each 8-byte aligned, every pointer
 * a guest-physical address inside [base, base + bytes used). Checks the
 * machine first (HV_E_INVAL: distances, ranges, vCPUs; the message says what
 * to change) and that everything fits `size` bytes (HV_E_RANGE) before it
 * writes anything; never writes past `size`.
 */
int hv_kvm_acpi_build(const hv_kvm_acpi_machine *machine, uint64_t base, void *buf, size_t size,
                      hv_kvm_acpi_tables *tables);

#endif

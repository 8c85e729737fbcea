/*
 * hpcvirt/guest.h - the guest ABI of the built-in KVM engine, version 1
 * (docs/guest-abi.md): how a payload is entered, where things are in guest
 * memory, the boot-info block it is handed and the I/O ports it talks to
 * the host through.
 *
 * Freestanding: guests include it too (only <stdint.h> is needed), so it
 * declares no functions and uses no other hpcvirt header.
 */
#ifndef HPCVIRT_GUEST_H
#define HPCVIRT_GUEST_H

#include <stdint.h>

#define HV_GUEST_ABI_VERSION 1

/* ---- guest physical memory (identity-mapped: virtual == physical) -------- */

/** Where the boot-info block is; entry gets this address in rsi. */
#define HV_GUEST_BOOT_INFO_ADDR 0x8000u
/** The most the boot-info block may take (header and node records). */
#define HV_GUEST_BOOT_INFO_MAX_BYTES 0x8000u
/** The engine's page tables live in [PAGE_TABLES_ADDR, LOAD_MIN). */
#define HV_GUEST_PAGE_TABLES_ADDR 0x10000u
/** A payload's segments must lie at or above this address (2 MiB). */
#define HV_GUEST_LOAD_MIN 0x200000u
/** Stack given to each vCPU, at the top of its vNUMA node's memory. */
#define HV_GUEST_STACK_BYTES 0x10000u

/* ---- I/O ports (OUT from CPL 3; IOPL is 3) --------------------------------- */

/** 8-bit OUT (REP OUTSB too): console bytes. */
#define HV_GUEST_PORT_CONSOLE 0xE9u
/** 32-bit OUT: the VM exits with this code; every vCPU stops. */
#define HV_GUEST_PORT_EXIT 0xF0u
/**
 * 32-bit OUT: this vCPU stops with this status. When every vCPU has
 * stopped, the VM exits with the first non-zero status, else 0.
 */
#define HV_GUEST_PORT_VCPU_STOP 0xF4u
/** 32-bit OUT: a progress marker; the host keeps each vCPU's last one and a count. */
#define HV_GUEST_PORT_PROGRESS 0xF8u

/* ---- the boot-info block ---------------------------------------------------- */

/** The longest identity text a clone is given (hv_vm_clone_options.identities). */
#define HV_GUEST_IDENTITY_MAX_BYTES 4096u

/** "HVBI" read as a little-endian 32-bit value. */
#define HV_GUEST_BOOT_MAGIC 0x49425648u

/** One vNUMA node: its RAM, the part of it nobody else uses, its vCPUs. */
typedef struct hv_guest_boot_node {
    uint64_t base;       /**< first byte of the node's RAM */
    uint64_t bytes;      /**< size of the node's RAM */
    uint64_t free_base;  /**< the node's RAM the guest may use freely: not */
    uint64_t free_bytes; /**< the engine's, the payload's or a stack */
    uint32_t first_vcpu; /**< vCPUs first_vcpu .. first_vcpu + vcpu_count - 1 */
    uint32_t vcpu_count;
    uint64_t page_bytes; /**< the host page size backing it (4096, 2 MiB, 1 GiB) */
    int32_t host_node;   /**< the host NUMA node it is bound to, -1 if none */
    uint32_t reserved;
} hv_guest_boot_node;

typedef struct hv_guest_boot_info {
    uint32_t magic;        /**< HV_GUEST_BOOT_MAGIC */
    uint16_t version;      /**< HV_GUEST_ABI_VERSION */
    uint16_t header_bytes; /**< sizeof(hv_guest_boot_info) as the engine knows it */
    uint32_t total_bytes;  /**< header + node_count * node_bytes */
    uint32_t node_bytes;   /**< sizeof(hv_guest_boot_node) as the engine knows it */
    uint32_t vcpu_count;
    uint32_t node_count;
    uint64_t memory_bytes; /**< all guest RAM (the nodes may leave alignment gaps) */
    uint64_t mmio_base;    /**< a window with no device behind it: any access */
    uint64_t mmio_bytes;   /**< ends the VM (stray MMIO) */
    uint64_t image_base;   /**< the payload's loaded segments, page-aligned */
    uint64_t image_end;
    uint64_t clone_id;    /**< 0 for a VM that was created; a clone's unique id (random) */
    uint64_t generation;  /**< 0 at creation, +1 at every resume from a snapshot */
    uint64_t clone_index; /**< 0, or which clone of its parent this VM is: 1, 2, ... */
    uint64_t clone_count; /**< clones made of this VM so far (written when it is cloned) */
    /** where a clone's identity text starts, from this block's first byte (0: none) */
    uint32_t identity_offset;
    /** its length in bytes (no terminating NUL), at most HV_GUEST_IDENTITY_MAX_BYTES */
    uint32_t identity_bytes;
    /** the vCPUs' time-stamp counter rate in Hz (KVM_GET_TSC_KHZ x 1000) when the VM booted;
     * 0: the engine could not tell */
    uint64_t tsc_hz;
    /* node_count hv_guest_boot_node records follow, node_bytes apart */
} hv_guest_boot_info;

#endif /* HPCVIRT_GUEST_H */

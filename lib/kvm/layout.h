/*
 * kvm/layout.h - where everything sits in a guest's physical memory
 * (internal, pure: no I/O): the vNUMA nodes' RAM ranges, each vCPU's stack,
 * the payload image, the free part of each node and the stray-MMIO window,
 * as docs/guest-abi.md describes them.
 */
#ifndef HV_KVM_LAYOUT_H
#define HV_KVM_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The most vNUMA nodes a guest can have (what fits the boot-info block). */
#define HV_KVM_MAX_NODES 64
/** The most vCPUs a guest can have. */
#define HV_KVM_MAX_VCPUS 1024
/** Node RAM sizes and bases are multiples of this (the page tables' unit). */
#define HV_KVM_RAM_ALIGN (UINT64_C(2) << 20)
/** The stray-MMIO window's size; it starts at the first 1 GiB boundary after RAM. */
#define HV_KVM_MMIO_BYTES (UINT64_C(1) << 30)
/** Guest RAM and the MMIO window end at or below this (what 4-level page tables map). */
#define HV_KVM_ADDR_LIMIT (UINT64_C(1) << 48)

/** What the layout is computed from: one entry per vNUMA node, in order. */
typedef struct hv_kvm_node_request {
    uint64_t bytes;      /**< RAM; a multiple of HV_KVM_RAM_ALIGN and of page_bytes */
    uint32_t vcpu_count; /**< the node's vCPUs follow the previous node's */
    uint64_t page_bytes; /**< backing page size: the node's base is aligned to it */
    int host_node;       /**< -1 when not bound */
} hv_kvm_node_request;

typedef struct hv_kvm_node_layout {
    uint64_t base, bytes;
    /**
     * A node across the layout's hole has low_bytes at base, below the hole,
     * and the rest (bytes - low_bytes) from high_base (4 GiB); otherwise
     * low_bytes == bytes and high_base == 0.
     */
    uint64_t low_bytes, high_base;
    uint32_t first_vcpu, vcpu_count;
    uint64_t page_bytes;
    int host_node;
    uint64_t stacks_base;           /**< the node's vCPU stacks: [stacks_base, base + bytes) */
    uint64_t free_base, free_bytes; /**< set by hv_kvm_layout_place_image() */
} hv_kvm_node_layout;

typedef struct hv_kvm_layout {
    size_t node_count;
    hv_kvm_node_layout nodes[HV_KVM_MAX_NODES];
    uint32_t vcpu_count;
    uint64_t memory_bytes; /**< sum of the nodes' RAM */
    uint64_t ram_end;      /**< end of the last node (bases may leave alignment gaps) */
    uint64_t hole_base;    /**< 0, or where the RAM-free hole below 4 GiB starts */
    uint64_t mmio_base, mmio_bytes;
    uint64_t image_base, image_end; /**< 0, 0 until an image is placed */
} hv_kvm_layout;

/**
 * Lay the nodes out from guest physical 0 upwards, each base aligned to its
 * page size (and HV_KVM_RAM_ALIGN), with each vCPU's stack at the top of its
 * node (vCPU first_vcpu highest). Node 0 must hold the engine's area below
 * HV_GUEST_LOAD_MIN and its stacks. HV_E_INVAL / HV_E_RANGE say which node
 * and what to change.
 */
int hv_kvm_layout_init(hv_kvm_layout *layout, const hv_kvm_node_request *nodes, size_t node_count);

/** Where the 32-bit hole of a PC starts, as Linux guests' layouts have it: up to 4 GiB. */
#define HV_KVM_LAYOUT_HOLE_END (UINT64_C(1) << 32)

/**
 * hv_kvm_layout_init() with no RAM in [hole_base, 4 GiB) (`hole_base` a
 * multiple of 1 GiB below 4 GiB; 0: no hole, as for payloads): a node that
 * would cross it is split there, its rest from 4 GiB on (a node that would
 * start in it starts at 4 GiB) - the memory map of a PC, for devices below
 * 4 GiB.
 */
int hv_kvm_layout_init_with_hole(hv_kvm_layout *layout, const hv_kvm_node_request *nodes,
                                 size_t node_count, uint64_t hole_base);

/** The end of node n's RAM (of its part above the hole when it has one). */
uint64_t hv_kvm_node_end(const hv_kvm_node_layout *n);

/**
 * Whether [addr, addr + bytes) lies in node n's RAM, in one piece (below or
 * above the hole); then *offset is where, counting the node's RAM from its
 * base as one run (the part above the hole follows the part below).
 */
bool hv_kvm_node_offset(const hv_kvm_node_layout *n, uint64_t addr, uint64_t bytes,
                        uint64_t *offset);

/**
 * Record the payload's loaded range [image_base, image_end) (page-aligned
 * outwards) and compute every node's free range. The image must lie in node
 * 0, at or above HV_GUEST_LOAD_MIN and below node 0's stacks (HV_E_RANGE).
 */
int hv_kvm_layout_place_image(hv_kvm_layout *layout, uint64_t image_base, uint64_t image_end);

/** The node holding [addr, addr + bytes) (bytes 0 counts as 1), or -1. */
int hv_kvm_layout_node_of(const hv_kvm_layout *layout, uint64_t addr, uint64_t bytes);

/**
 * The initial stack pointer of a vCPU (16-byte aligned minus 8, as after a
 * call): the top of its stack - 8. 0 for a vCPU the layout does not have.
 */
uint64_t hv_kvm_layout_stack_top(const hv_kvm_layout *layout, uint32_t vcpu);

#endif

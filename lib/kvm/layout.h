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

/*
 * kvm/layout.c - the guest physical memory map of the built-in KVM engine:
 * where each vNUMA node's RAM starts (aligned to its backing pages), where
 * each vCPU's stack is, where the payload image goes, what is left free in
 * each node, and where the stray-MMIO window starts. Pure arithmetic, every
 * sum checked for overflow.
 */
#include "kvm/layout.h"
#include "core/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <hpcvirt/guest.h>
#include <hpcvirt/size.h>

#define KiB4 UINT64_C(4096)
#define MiB2 (UINT64_C(2) << 20)
#define GiB1 (UINT64_C(1) << 30)

static uint64_t align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static void node_path(char *buf, size_t size, size_t i)
{
    snprintf(buf, size, "vnuma[%zu]", i);
}

static void size_text(uint64_t bytes, char *buf, size_t size)
{
    hv_size_format(bytes, buf, size);
}

/* "its 64 vCPUs' stacks" / "its vCPU's stack" */
static const char *stacks_words(uint32_t vcpus)
{
    return vcpus == 1 ? "vCPU's stack" : "vCPUs' stacks";
}

static int check_request(const hv_kvm_node_request *req, size_t i)
{
    char path[32], have[32], unit[32];
    uint64_t page = req->page_bytes;

    node_path(path, sizeof(path), i);
    if (req->vcpu_count == 0)
        return hv_error_set(HV_E_INVAL, path,
                            "vNUMA node %zu has no vCPUs: every node needs at least one", i);
    if (page != KiB4 && page != MiB2 && page != GiB1)
        return hv_error_set(HV_E_RANGE, path,
                            "vNUMA node %zu: page size %" PRIu64
                            " bytes is not supported: use 4 KiB, 2 MiB or 1 GiB pages",
                            i, page);
    if (req->bytes == 0)
        return hv_error_set(HV_E_RANGE, path,
                            "vNUMA node %zu has no memory: give it a multiple of 2 MiB", i);
    size_text(req->bytes, have, sizeof(have));
    if (req->bytes % HV_KVM_RAM_ALIGN != 0)
        return hv_error_set(HV_E_RANGE, path,
                            "vNUMA node %zu has %s of memory, not a multiple of 2 MiB: round "
                            "it to a multiple of 2 MiB",
                            i, have);
    if (req->bytes % page != 0) {
        size_text(page, unit, sizeof(unit));
        return hv_error_set(HV_E_RANGE, path,
                            "vNUMA node %zu has %s of memory, not a multiple of its %s pages: "
                            "round it to a multiple of %s or use smaller pages",
                            i, have, unit, unit);
    }
    return 0;
}

/* Node i's stacks (and for node 0 the engine's area and a page of image) must fit. */
static int check_room(const hv_kvm_node_layout *n, size_t i)
{
    char path[32], have[32], stack[32], need[32];
    uint64_t stacks = (uint64_t)n->vcpu_count * HV_GUEST_STACK_BYTES;
    uint64_t needed = i == 0 ? HV_GUEST_LOAD_MIN + KiB4 + stacks : stacks;

    if (n->bytes >= needed)
        return 0;
    node_path(path, sizeof(path), i);
    size_text(n->bytes, have, sizeof(have));
    size_text(HV_GUEST_STACK_BYTES, stack, sizeof(stack));
    size_text(needed, need, sizeof(need));
    if (i == 0)
        return hv_error_set(HV_E_RANGE, path,
                            "vNUMA node 0 has %s, too little for the engine's first 2 MiB, the "
                            "payload and its %" PRIu32 " %s (%s each): give it more memory "
                            "(at least %s)",
                            have, n->vcpu_count, stacks_words(n->vcpu_count), stack, need);
    return hv_error_set(HV_E_RANGE, path,
                        "vNUMA node %zu has %s, too little for its %" PRIu32
                        " %s (%s each): give it more memory (at least %s)",
                        i, have, n->vcpu_count, stacks_words(n->vcpu_count), stack, need);
}

uint64_t hv_kvm_node_end(const hv_kvm_node_layout *n)
{
    return n->high_base ? n->high_base + (n->bytes - n->low_bytes) : n->base + n->bytes;
}

bool hv_kvm_node_offset(const hv_kvm_node_layout *n, uint64_t addr, uint64_t bytes,
                        uint64_t *offset)
{
    uint64_t high_bytes = n->bytes - n->low_bytes;

    if (bytes == 0)
        bytes = 1;
    if (addr >= n->base && bytes <= n->low_bytes && addr - n->base <= n->low_bytes - bytes) {
        *offset = addr - n->base;
        return true;
    }
    if (n->high_base && addr >= n->high_base && bytes <= high_bytes &&
        addr - n->high_base <= high_bytes - bytes) {
        *offset = n->low_bytes + (addr - n->high_base);
        return true;
    }
    return false;
}

/* Where node n's RAM goes with the hole: its base moved out of the hole, split across it. */
static void place_around_hole(hv_kvm_node_layout *n, uint64_t hole_base)
{
    n->low_bytes = n->bytes;
    n->high_base = 0;
    if (!hole_base)
        return;
    if (n->base >= hole_base && n->base < HV_KVM_LAYOUT_HOLE_END)
        n->base = HV_KVM_LAYOUT_HOLE_END;
    if (n->base < hole_base && n->bytes > hole_base - n->base) {
        n->low_bytes = hole_base - n->base;
        n->high_base = HV_KVM_LAYOUT_HOLE_END;
    }
}

int hv_kvm_layout_init(hv_kvm_layout *layout, const hv_kvm_node_request *nodes, size_t node_count)
{
    return hv_kvm_layout_init_with_hole(layout, nodes, node_count, 0);
}

int hv_kvm_layout_init_with_hole(hv_kvm_layout *layout, const hv_kvm_node_request *nodes,
                                 size_t node_count, uint64_t hole_base)
{
    uint64_t cursor = 0, vcpus = 0;
    int rc;

    HV_CHECK_ARG(layout, "layout");
    memset(layout, 0, sizeof(*layout));
    if (hole_base % GiB1 || hole_base >= HV_KVM_LAYOUT_HOLE_END)
        return hv_error_set(HV_E_INVAL, NULL,
                            "a hole in guest RAM from 0x%" PRIx64 ": it starts at a multiple of "
                            "1 GiB below 4 GiB",
                            hole_base);
    HV_CHECK_ARG(nodes || node_count == 0, "nodes");
    if (node_count == 0)
        return hv_error_set(HV_E_INVAL, "vnuma",
                            "a guest needs at least one vNUMA node: describe its memory and vCPUs");
    if (node_count > HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_RANGE, "vnuma",
                            "%zu vNUMA nodes: the KVM engine supports at most %d; use fewer nodes",
                            node_count, HV_KVM_MAX_NODES);

    for (size_t i = 0; i < node_count; i++) {
        const hv_kvm_node_request *req = &nodes[i];
        hv_kvm_node_layout *n = &layout->nodes[i];
        uint64_t align = req->page_bytes > HV_KVM_RAM_ALIGN ? req->page_bytes : HV_KVM_RAM_ALIGN;
        char path[32];

        rc = check_request(req, i);
        if (rc < 0)
            goto fail;
        vcpus += req->vcpu_count;
        if (vcpus > HV_KVM_MAX_VCPUS) {
            rc = hv_error_set(HV_E_RANGE, "vnuma",
                              "vNUMA nodes 0 to %zu have %" PRIu64 " vCPUs, more than the %d "
                              "the KVM engine supports: use fewer vCPUs",
                              i, vcpus, HV_KVM_MAX_VCPUS);
            goto fail;
        }
        /* cursor <= HV_KVM_ADDR_LIMIT and align <= 1 GiB: no overflow here */
        n->base = align_up(cursor, align);
        n->bytes = req->bytes;
        place_around_hole(n, hole_base);
        /* base <= 4 GiB + HV_KVM_ADDR_LIMIT: the sums cannot wrap */
        if (req->bytes > HV_KVM_ADDR_LIMIT || n->base > HV_KVM_ADDR_LIMIT - req->bytes ||
            hv_kvm_node_end(n) > HV_KVM_ADDR_LIMIT) {
            node_path(path, sizeof(path), i);
            rc = hv_error_set(HV_E_RANGE, path,
                              "vNUMA node %zu would end beyond the 256 TiB of guest physical "
                              "addresses the KVM engine maps: give the guest less memory",
                              i);
            goto fail;
        }
        n->first_vcpu = (uint32_t)(vcpus - req->vcpu_count);
        n->vcpu_count = req->vcpu_count;
        n->page_bytes = req->page_bytes;
        n->host_node = req->host_node;
        rc = check_room(n, i);
        if (rc < 0)
            goto fail;
        n->stacks_base = hv_kvm_node_end(n) - (uint64_t)n->vcpu_count * HV_GUEST_STACK_BYTES;
        cursor = hv_kvm_node_end(n);
        layout->memory_bytes += n->bytes;
    }

    if (align_up(cursor, GiB1) > HV_KVM_ADDR_LIMIT - HV_KVM_MMIO_BYTES) {
        rc = hv_error_set(HV_E_RANGE, "vnuma",
                          "guest RAM ends at 0x%" PRIx64 ", leaving no room for the 1 GiB "
                          "MMIO window below the 256 TiB the KVM engine maps: give the guest "
                          "less memory",
                          cursor);
        goto fail;
    }
    layout->node_count = node_count;
    layout->hole_base = hole_base;
    layout->vcpu_count = (uint32_t)vcpus;
    layout->ram_end = cursor;
    layout->mmio_base = align_up(cursor, GiB1);
    layout->mmio_bytes = HV_KVM_MMIO_BYTES;
    return 0;

fail:
    memset(layout, 0, sizeof(*layout)); /* no half-made layout */
    return rc;
}

int hv_kvm_layout_place_image(hv_kvm_layout *layout, uint64_t image_base, uint64_t image_end)
{
    hv_kvm_node_layout *n0;
    uint64_t base, end;

    HV_CHECK_ARG(layout, "layout");
    if (layout->node_count == 0 || layout->node_count > HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_kvm_layout_place_image: the layout has %zu nodes: call "
                            "hv_kvm_layout_init() first",
                            layout->node_count);
    if (image_end <= image_base)
        return hv_error_set(HV_E_INVAL, NULL,
                            "the payload image [0x%" PRIx64 ", 0x%" PRIx64
                            ") is empty: a payload needs at least one loadable segment",
                            image_base, image_end);
    if (image_end > UINT64_MAX - (KiB4 - 1))
        return hv_error_set(HV_E_RANGE, NULL,
                            "the payload image ends at 0x%" PRIx64
                            ", at the top of the address space: link it at 0x%x or above, "
                            "inside vNUMA node 0",
                            image_end, HV_GUEST_LOAD_MIN);
    base = image_base & ~(KiB4 - 1);
    end = align_up(image_end, KiB4);
    n0 = &layout->nodes[0];
    if (base < HV_GUEST_LOAD_MIN)
        return hv_error_set(HV_E_RANGE, NULL,
                            "the payload starts at 0x%" PRIx64 ", below 0x%x where the engine "
                            "keeps its page tables and the boot info: link it at 0x%x or above",
                            image_base, HV_GUEST_LOAD_MIN, HV_GUEST_LOAD_MIN);
    if (end > n0->stacks_base) {
        char have[32];

        size_text(n0->bytes, have, sizeof(have));
        return hv_error_set(HV_E_RANGE, "vnuma[0]",
                            "the payload [0x%" PRIx64 ", 0x%" PRIx64
                            ") does not fit vNUMA node 0 (%s, its vCPU stacks start at 0x%" PRIx64
                            "): give node 0 more memory or link the payload lower",
                            image_base, image_end, have, n0->stacks_base);
    }

    layout->image_base = base;
    layout->image_end = end;
    n0->free_base = end;
    n0->free_bytes = n0->stacks_base - end;
    for (size_t i = 1; i < layout->node_count; i++) {
        hv_kvm_node_layout *n = &layout->nodes[i];

        n->free_base = n->base;
        n->free_bytes = n->stacks_base - n->base;
    }
    return 0;
}

int hv_kvm_layout_node_of(const hv_kvm_layout *layout, uint64_t addr, uint64_t bytes)
{
    if (!layout)
        return -1;
    if (bytes == 0)
        bytes = 1;
    for (size_t i = 0; i < layout->node_count && i < HV_KVM_MAX_NODES; i++) {
        uint64_t offset;

        if (hv_kvm_node_offset(&layout->nodes[i], addr, bytes, &offset))
            return (int)i;
    }
    return -1;
}

uint64_t hv_kvm_layout_stack_top(const hv_kvm_layout *layout, uint32_t vcpu)
{
    if (!layout)
        return 0;
    for (size_t i = 0; i < layout->node_count && i < HV_KVM_MAX_NODES; i++) {
        const hv_kvm_node_layout *n = &layout->nodes[i];

        if (vcpu >= n->first_vcpu && vcpu - n->first_vcpu < n->vcpu_count)
            return n->base + n->bytes - (uint64_t)(vcpu - n->first_vcpu) * HV_GUEST_STACK_BYTES - 8;
    }
    return 0;
}

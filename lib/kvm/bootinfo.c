/*
 * kvm/bootinfo.c - the boot-info block a guest finds at
 * HV_GUEST_BOOT_INFO_ADDR: a header (hv_guest_boot_info) and one record per
 * vNUMA node, filled from the layout exactly as hpcvirt/guest.h documents.
 * Written with memcpy: the destination need not be aligned.
 */
#include "kvm/bootinfo.h"
#include "core/error.h"

#include <string.h>
#include <hpcvirt/guest.h>

int hv_bootinfo_write(void *dst, size_t dst_bytes, const hv_kvm_layout *layout, uint64_t clone_id,
                      uint64_t generation, size_t *written)
{
    uint8_t *out = dst;
    hv_guest_boot_info info;
    size_t total;

    HV_CHECK_ARG(dst, "dst");
    HV_CHECK_ARG(layout, "layout");
    if (layout->node_count == 0 || layout->node_count > HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_bootinfo_write: the layout has %zu nodes: build it with "
                            "hv_kvm_layout_init()",
                            layout->node_count);
    total = sizeof(info) + layout->node_count * sizeof(hv_guest_boot_node);
    if (total > HV_GUEST_BOOT_INFO_MAX_BYTES || total > dst_bytes)
        return hv_error_set(HV_E_RANGE, NULL,
                            "the boot info for %zu vNUMA nodes takes %zu bytes, more than the "
                            "%zu bytes there is room for: use fewer vNUMA nodes",
                            layout->node_count, total,
                            dst_bytes < HV_GUEST_BOOT_INFO_MAX_BYTES
                                ? dst_bytes
                                : (size_t)HV_GUEST_BOOT_INFO_MAX_BYTES);

    memset(&info, 0, sizeof(info));
    info.magic = HV_GUEST_BOOT_MAGIC;
    info.version = HV_GUEST_ABI_VERSION;
    info.header_bytes = (uint16_t)sizeof(info);
    info.total_bytes = (uint32_t)total;
    info.node_bytes = (uint32_t)sizeof(hv_guest_boot_node);
    info.vcpu_count = layout->vcpu_count;
    info.node_count = (uint32_t)layout->node_count;
    info.memory_bytes = layout->memory_bytes;
    info.mmio_base = layout->mmio_base;
    info.mmio_bytes = layout->mmio_bytes;
    info.image_base = layout->image_base;
    info.image_end = layout->image_end;
    info.clone_id = clone_id;
    info.generation = generation;
    memcpy(out, &info, sizeof(info));

    for (size_t i = 0; i < layout->node_count; i++) {
        const hv_kvm_node_layout *n = &layout->nodes[i];
        hv_guest_boot_node node;

        memset(&node, 0, sizeof(node));
        node.base = n->base;
        node.bytes = n->bytes;
        node.free_base = n->free_base;
        node.free_bytes = n->free_bytes;
        node.first_vcpu = n->first_vcpu;
        node.vcpu_count = n->vcpu_count;
        node.page_bytes = n->page_bytes;
        node.host_node = n->host_node;
        memcpy(out + sizeof(info) + i * sizeof(node), &node, sizeof(node));
    }
    if (written)
        *written = total;
    return 0;
}

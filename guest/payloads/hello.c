/*
 * guest/payloads/hello.c - the hello payload: vCPU 0 describes the VM it
 * finds in the boot info (vCPUs, vNUMA nodes, memory, one line per node)
 * and exits with 0 through the exit port; the other vCPUs stop with 0.
 */
#include "hv_guest.h"

/* "4 KiB", "2 MiB", "1 GiB", or bytes */
static const char *page_text(uint64_t bytes, char *buf, size_t size)
{
    if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
        gsnprintf(buf, size, "%llu GiB", (unsigned long long)(bytes >> 30));
    else if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
        gsnprintf(buf, size, "%llu MiB", (unsigned long long)(bytes >> 20));
    else if (bytes >= 1024 && bytes % 1024 == 0)
        gsnprintf(buf, size, "%llu KiB", (unsigned long long)(bytes >> 10));
    else
        gsnprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
    return buf;
}

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    if (vcpu != 0)
        return 0;
    gprintf("hello from the hpcvirt guest: %u vCPUs, %u vNUMA nodes, %llu MiB\n",
            (unsigned int)info->vcpu_count, (unsigned int)info->node_count,
            (unsigned long long)(info->memory_bytes >> 20));
    for (uint32_t i = 0; i < info->node_count; i++) {
        const hv_guest_boot_node *node = hv_boot_node(info, i);
        char page[24];

        gprintf("node %u: base 0x%llx, %llu MiB, vCPUs %u-%u, %s pages, host node %d, "
                "free 0x%llx +%llu MiB\n",
                (unsigned int)i, (unsigned long long)node->base,
                (unsigned long long)(node->bytes >> 20), (unsigned int)node->first_vcpu,
                (unsigned int)(node->first_vcpu + node->vcpu_count - 1),
                page_text(node->page_bytes, page, sizeof(page)), (int)node->host_node,
                (unsigned long long)node->free_base, (unsigned long long)(node->free_bytes >> 20));
    }
    gprintf("image 0x%llx-0x%llx, stray MMIO window 0x%llx +%llu MiB, clone %llu, "
            "generation %llu\n",
            (unsigned long long)info->image_base, (unsigned long long)info->image_end,
            (unsigned long long)info->mmio_base, (unsigned long long)(info->mmio_bytes >> 20),
            (unsigned long long)info->clone_id, (unsigned long long)info->generation);
    hv_exit(0);
}

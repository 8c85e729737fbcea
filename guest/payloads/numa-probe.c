/*
 * guest/payloads/numa-probe.c - the numa-probe payload: every vCPU writes a
 * pattern to every 4 KiB page of its share of its own vNUMA node's free
 * range (progress 1 = start, 2 = written, 3 = read back), reads it back and
 * counts mismatches; after a barrier vCPU 0 prints one line per node and
 * exits with 0, or 1 when any page read back wrong.
 */
#include "hv_guest.h"

/* The most vCPUs this payload keeps results for (the engine's maximum). */
#define PROBE_MAX_VCPUS 1024
#define PROBE_PAGE      4096u
#define PROBE_PATTERN   0x5a17c0de00000000ull

static uint64_t touched_bytes[PROBE_MAX_VCPUS];
static uint64_t mismatches[PROBE_MAX_VCPUS];
static hv_barrier done;

/* What page `addr` should hold in its first and last words. */
static uint64_t pattern(uint64_t addr, uint32_t vcpu)
{
    return (addr ^ PROBE_PATTERN) + ((uint64_t)vcpu << 48);
}

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    uint64_t base, bytes, bad = 0, total_bad = 0;

    if (info->vcpu_count > PROBE_MAX_VCPUS) {
        if (vcpu == 0) {
            gprintf("numa-probe: %u vCPUs, more than the %u it supports\n",
                    (unsigned int)info->vcpu_count, (unsigned int)PROBE_MAX_VCPUS);
            hv_exit(2);
        }
        return 0;
    }
    hv_free_share(info, vcpu, PROBE_PAGE, &base, &bytes);

    hv_progress(1);
    for (uint64_t addr = base; addr < base + bytes; addr += PROBE_PAGE) {
        volatile uint64_t *page = (volatile uint64_t *)(uintptr_t)addr;

        page[0] = pattern(addr, vcpu);
        page[PROBE_PAGE / 8 - 1] = ~pattern(addr, vcpu);
    }
    hv_progress(2);
    for (uint64_t addr = base; addr < base + bytes; addr += PROBE_PAGE) {
        volatile uint64_t *page = (volatile uint64_t *)(uintptr_t)addr;

        if (page[0] != pattern(addr, vcpu) || page[PROBE_PAGE / 8 - 1] != ~pattern(addr, vcpu))
            bad++;
    }
    hv_progress(3);
    touched_bytes[vcpu] = bytes;
    mismatches[vcpu] = bad;

    hv_barrier_wait(&done, info->vcpu_count);
    if (vcpu != 0)
        return 0;
    for (uint32_t i = 0; i < info->node_count; i++) {
        const hv_guest_boot_node *node = hv_boot_node(info, i);
        uint64_t node_bytes = 0, node_bad = 0;

        for (uint32_t v = node->first_vcpu;
             v - node->first_vcpu < node->vcpu_count && v < PROBE_MAX_VCPUS; v++) {
            node_bytes += touched_bytes[v];
            node_bad += mismatches[v];
        }
        total_bad += node_bad;
        if (node_bad == 0)
            gprintf("node %u: %llu MiB touched, base 0x%llx, host node %d, page size %llu: ok\n",
                    (unsigned int)i, (unsigned long long)(node_bytes >> 20),
                    (unsigned long long)node->base, (int)node->host_node,
                    (unsigned long long)node->page_bytes);
        else
            gprintf("node %u: %llu MiB touched, base 0x%llx, host node %d, page size %llu: "
                    "%llu mismatches\n",
                    (unsigned int)i, (unsigned long long)(node_bytes >> 20),
                    (unsigned long long)node->base, (int)node->host_node,
                    (unsigned long long)node->page_bytes, (unsigned long long)node_bad);
    }
    hv_exit(total_bad == 0 ? 0 : 1);
}

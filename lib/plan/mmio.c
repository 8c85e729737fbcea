/*
 * plan/mmio.c - the MMIO (BAR) budget: guest RAM and PCI windows laid out
 * the way QEMU's q35 machine and OVMF do it, the guest physical-address
 * width that needs, and whether the host (and the profile) can provide it.
 *
 * Model (docs/plan-json.md):
 *  - RAM below 4 GiB ends at 2 GiB when RAM >= 2.75 GiB, else all RAM is
 *    below 2.75 GiB; the rest starts at 4 GiB.
 *  - 64-bit prefetchable BARs go in the 64-bit window, which starts at the
 *    end of RAM rounded up to 1 GiB and is aligned to its own size; its size
 *    is the smallest power of two holding every such BAR placed naturally
 *    aligned, largest first.
 *  - Other BARs (32-bit or non-prefetchable) must fit the 32-bit hole: from
 *    the end of low RAM to 0xfc000000, minus the PCIe ECAM at 0xb0000000
 *    (256 MiB).
 */
#include "plan/plan.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/size.h>

#define GiB(n)           ((uint64_t)(n) << 30)
#define MiB(n)           ((uint64_t)(n) << 20)
#define Q35_LOWMEM_SPLIT UINT64_C(0xb0000000)
#define Q35_LOWMEM_LIMIT UINT64_C(0x80000000)
#define Q35_ECAM_BASE    UINT64_C(0xb0000000)
#define Q35_ECAM_SIZE    MiB(256)
#define MMIO32_END       UINT64_C(0xfc000000)
#define FOUR_GIB         GiB(4)

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return a ? (v + a - 1) / a * a : v;
}

static uint64_t pow2_at_least(uint64_t v)
{
    if (v <= 1)
        return 1;
    if (v > (UINT64_C(1) << 63))
        return UINT64_C(1) << 63;
    return UINT64_C(1) << (64 - __builtin_clzll(v - 1));
}

/* The number of address bits to reach bytes 0 .. end - 1. */
static unsigned int bits_for(uint64_t end)
{
    return end <= 1 ? 0 : (unsigned int)(64 - __builtin_clzll(end - 1));
}

/* Where a BAR of `size` goes after `cursor`: naturally aligned. */
static uint64_t place(uint64_t cursor, uint64_t size)
{
    return align_up(cursor, pow2_at_least(size));
}

/* Place sizes naturally aligned from `base`, largest first; the end offset. */
static uint64_t pack(uint64_t *sizes, size_t n, uint64_t base)
{
    uint64_t cursor = base;

    hv_sort_u64_desc(sizes, n);
    for (size_t i = 0; i < n; i++)
        cursor = place(cursor, sizes[i]) + sizes[i];
    return cursor;
}

/* Fit sizes into the two 32-bit segments around the ECAM; false when some do not fit. */
static bool pack_hole32(uint64_t *sizes, size_t n, uint64_t low_end, uint64_t *used)
{
    uint64_t seg_start[2] = {low_end, Q35_ECAM_BASE + Q35_ECAM_SIZE};
    uint64_t seg_end[2] = {Q35_ECAM_BASE, MMIO32_END};
    uint64_t cursor[2];

    if (low_end >= Q35_ECAM_BASE) { /* RAM reaches the ECAM: only the upper segment */
        seg_start[0] = seg_end[0] = 0;
        seg_start[1] = align_up(low_end > seg_start[1] ? low_end : seg_start[1], MiB(1));
    }
    cursor[0] = seg_start[0];
    cursor[1] = seg_start[1];
    *used = 0;
    hv_sort_u64_desc(sizes, n);
    for (size_t i = 0; i < n; i++) {
        bool placed = false;

        for (int s = 0; s < 2 && !placed; s++) {
            uint64_t at = place(cursor[s], sizes[i]);

            if (at + sizes[i] <= seg_end[s] && at >= seg_start[s]) {
                cursor[s] = at + sizes[i];
                placed = true;
            }
        }
        if (!placed)
            return false;
        *used += sizes[i];
    }
    return true;
}

void hv_mmio_compute(uint64_t ram_bytes, const hv_plan_bar *bars, size_t nbars, hv_mmio_layout *out)
{
    uint64_t sizes64[6 * 64], sizes32[6 * 64];
    size_t n64 = 0, n32 = 0;
    uint64_t lowmem = ram_bytes >= Q35_LOWMEM_SPLIT ? Q35_LOWMEM_LIMIT : Q35_LOWMEM_SPLIT;
    uint64_t ram_end, window_used;

    memset(out, 0, sizeof(*out));
    out->low_ram_bytes = ram_bytes < lowmem ? ram_bytes : lowmem;
    out->high_ram_bytes = ram_bytes - out->low_ram_bytes;
    ram_end = out->high_ram_bytes ? FOUR_GIB + out->high_ram_bytes : FOUR_GIB;
    for (size_t i = 0; i < nbars && n64 < 6 * 64 && n32 < 6 * 64; i++) {
        if (bars[i].in_64bit_window)
            sizes64[n64++] = bars[i].size_bytes;
        else
            sizes32[n32++] = bars[i].size_bytes;
    }
    window_used = n64 ? pack(sizes64, n64, 0) : 0;
    out->window_bytes = window_used ? pow2_at_least(window_used) : 0;
    out->window_base =
        out->window_bytes ? align_up(align_up(ram_end, GiB(1)), out->window_bytes) : 0;
    out->hole32_bytes =
        MMIO32_END - out->low_ram_bytes - (out->low_ram_bytes < Q35_ECAM_BASE ? Q35_ECAM_SIZE : 0);
    out->hole32_fits = pack_hole32(sizes32, n32, out->low_ram_bytes, &out->hole32_used);
    out->guest_phys_bits_required =
        bits_for(out->window_bytes ? out->window_base + out->window_bytes : ram_end);
}

/* Whether the device's BARs come into the guest (passed-through accelerators and RDMA). */
static bool brings_bars(const struct hv_plan_device *dev)
{
    return dev->type == HV_PLAN_DEVICE_ACCELERATOR || dev->type == HV_PLAN_DEVICE_RDMA;
}

size_t hv_mmio_window_bars(const hv_plan *plan, hv_mmio_window_bar *out, size_t cap)
{
    size_t n = 0;
    uint64_t cursor = 0;

    for (size_t d = 0; d < plan->ndevices; d++) {
        const struct hv_plan_device *dev = &plan->devices[d];

        for (size_t b = 0; brings_bars(dev) && b < dev->nbars && n < cap; b++) {
            size_t j = n;

            if (!dev->bars[b].in_64bit_window)
                continue;
            /* insertion, largest first, stable: hv_sort_u64_desc()'s order of sizes */
            for (; j > 0 && out[j - 1].size_bytes < dev->bars[b].size_bytes; j--)
                out[j] = out[j - 1];
            out[j] = (hv_mmio_window_bar){d, 0, dev->bars[b].size_bytes};
            n++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        out[i].offset_bytes = place(cursor, out[i].size_bytes);
        cursor = out[i].offset_bytes + out[i].size_bytes;
    }
    return n;
}

int hv_plan_mmio(hv_plan *plan, const hv_host *host)
{
    hv_plan_bar bars[6 * 64];
    size_t nbars = 0;
    hv_mmio_layout layout;
    const hv_vm_spec *spec = plan->spec;
    unsigned int default_bits = plan->profile->default_guest_phys_bits;
    char a[32], b[32];
    int rc = 0;

    for (size_t d = 0; d < plan->ndevices; d++) {
        const struct hv_plan_device *dev = &plan->devices[d];

        if (!brings_bars(dev))
            continue;
        for (size_t i = 0; i < dev->nbars && nbars < 6 * 64; i++) {
            bars[nbars++] = dev->bars[i];
            plan->bar_total_bytes += dev->bars[i].size_bytes;
        }
    }
    hv_mmio_compute(spec->memory_bytes, bars, nbars, &layout);
    plan->low_ram_bytes = layout.low_ram_bytes;
    plan->high_ram_bytes = layout.high_ram_bytes;
    plan->window_base = layout.window_base;
    plan->window_bytes = layout.window_bytes;
    plan->hole32_bytes_used = layout.hole32_used;
    plan->guest_phys_bits_required = layout.guest_phys_bits_required;
    plan->host_phys_bits = host->phys_addr_bits;
    plan->mmio_feasible = true;

    if (!layout.hole32_fits) {
        hv_size_format(layout.hole32_bytes, a, sizeof(a));
        plan->mmio_feasible = false;
        rc |= hv_plan_error(plan, "plan.mmio.hole32-full", "accelerators",
                            "the 32-bit and non-prefetchable BARs of the passed-through devices "
                            "do not fit the %s 32-bit PCI hole below 4 GiB: pass fewer devices "
                            "through",
                            a);
    }
    if (spec->guest_phys_bits == HV_GUEST_PHYS_BITS_HOST) {
        plan->guest_phys_bits = host->phys_addr_bits;
        plan->guest_phys_bits_passthrough = true;
    } else if (spec->guest_phys_bits > 0) {
        plan->guest_phys_bits = (unsigned int)spec->guest_phys_bits;
    } else if (plan->guest_phys_bits_required > default_bits && host->phys_addr_bits &&
               plan->guest_phys_bits_required <= host->phys_addr_bits) {
        /* auto: the VMM's default does not reach; the host's width does. */
        plan->guest_phys_bits = host->phys_addr_bits;
        plan->guest_phys_bits_passthrough = true;
        rc |= hv_plan_info(plan, "plan.mmio.phys-bits-passthrough", "guest_phys_bits",
                           "the guest needs %u physical-address bits, more than the VMM's "
                           "default %u: the plan passes the host's %u bits through "
                           "(<maxphysaddr mode='passthrough'/>)",
                           plan->guest_phys_bits_required, default_bits, host->phys_addr_bits);
    }
    {
        unsigned int effective = plan->guest_phys_bits ? plan->guest_phys_bits : default_bits;
        char layout_text[128];

        if (plan->guest_phys_bits_required > effective) {
            hv_size_format(layout.window_bytes, a, sizeof(a));
            hv_size_format(layout.window_base, b, sizeof(b));
            if (layout.window_bytes)
                snprintf(layout_text, sizeof(layout_text), "a %s 64-bit PCI window at %s", a, b);
            else
                snprintf(layout_text, sizeof(layout_text), "its RAM");
            plan->mmio_feasible = false;
            if (host->phys_addr_bits >= plan->guest_phys_bits_required)
                rc |= hv_plan_error(plan, "plan.mmio.phys-bits", "guest_phys_bits",
                                    "the guest needs %u physical-address bits for %s but gets "
                                    "%u%s: pass the host's %u bits through (guest_phys_bits: "
                                    "\"host\", <maxphysaddr mode='passthrough'/>)",
                                    plan->guest_phys_bits_required, layout_text, effective,
                                    plan->guest_phys_bits ? "" : " (the VMM's default)",
                                    host->phys_addr_bits);
            else
                rc |= hv_plan_error(plan, "plan.mmio.phys-bits", "guest_phys_bits",
                                    "the guest needs %u physical-address bits for %s but the "
                                    "host CPU has %u%s: use a host with wider addresses, or "
                                    "less memory and fewer large-BAR devices",
                                    plan->guest_phys_bits_required, layout_text,
                                    host->phys_addr_bits, host->phys_addr_bits ? "" : " (unknown)");
        }
        if (plan->guest_phys_bits && host->phys_addr_bits &&
            plan->guest_phys_bits > host->phys_addr_bits) {
            plan->mmio_feasible = false;
            rc |= hv_plan_error(plan, "plan.mmio.phys-bits-above-host", "guest_phys_bits",
                                "guest_phys_bits %u is more than the host CPU's %u: KVM cannot "
                                "give a guest wider addresses than the host has",
                                plan->guest_phys_bits, host->phys_addr_bits);
        }
    }
    if (plan->profile->vm_max_mmio_aggregate_bytes &&
        plan->bar_total_bytes > plan->profile->vm_max_mmio_aggregate_bytes) {
        hv_size_format(plan->bar_total_bytes, a, sizeof(a));
        hv_size_format(plan->profile->vm_max_mmio_aggregate_bytes, b, sizeof(b));
        rc |= hv_plan_error(plan, "plan.max.mmio-aggregate", "accelerators",
                            "the passed-through devices' BARs add up to %s; %s allows at most %s "
                            "per VM",
                            a, plan->profile->name, b);
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

/*
 * guest/payloads/dirtier.c - the dirtier payload: a guest that keeps
 * dirtying its memory, for live migration. Every vCPU writes every 4 KiB
 * page of its share of its node's free memory (at most 16 MiB) over and
 * over (the paced builds: at most 256 MiB), and before it writes a page
 * again it checks that the page still
 * holds what its last sweep wrote there: a page that a migration (or a
 * snapshot, a clone) lost or mixed up ends the VM with status 3 and a line
 * naming the page. Sweep n writes n and the page's tag (its index and the
 * vCPU) into the page's first 16 bytes; each vCPU reports progress marker
 * n when its sweep n is done. It never ends by itself: the host destroys it.
 *
 * Built four times (guest/meson.build): "dirtier" writes as fast as it
 * can; "dirtier-sparse" writes only the first 4 KiB page of each 2 MiB
 * (a guest on huge pages whose dirty log must be finer than its pages);
 * "dirtier-100m" and "dirtier-1g" pace themselves with the TSC (the boot
 * info's tsc_hz) so that the VM writes 100 MB or 1000 MB of pages a second
 * (shared evenly by its vCPUs) - the dirty rates bench-migrate measures at.
 */
#include "hv_guest.h"

#ifndef DIRTIER_RATE_MB_S
#define DIRTIER_RATE_MB_S 0 /* as fast as it can */
#endif
#ifndef DIRTIER_MAX_MIB
#define DIRTIER_MAX_MIB 16 /* the most each vCPU dirties */
#endif
#ifndef DIRTIER_STRIDE_PAGES
#define DIRTIER_STRIDE_PAGES 1 /* every page; 512: one 4 KiB page in each 2 MiB */
#endif
#define DIRTIER_MAX_BYTES ((uint64_t)DIRTIER_MAX_MIB << 20)
#define PAGE_BYTES        4096ull
#define PACE_PAGES        64 /* pages between two looks at the TSC */

static inline uint64_t read_tsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static uint64_t tag_of(uint32_t vcpu, uint64_t page)
{
    return (uint64_t)vcpu << 48 | page;
}

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    uint64_t base, bytes, pages, cycles_per_batch = 0, due = 0;
    int node = hv_free_share(info, vcpu, PAGE_BYTES, &base, &bytes);

    if (bytes > DIRTIER_MAX_BYTES)
        bytes = DIRTIER_MAX_BYTES;
    pages = bytes / PAGE_BYTES;
    if (pages == 0) {
        gprintf("vcpu %u: no free memory to dirty\n", (unsigned int)vcpu);
        hv_exit(2);
    }
    if (DIRTIER_RATE_MB_S) {
        uint64_t per_vcpu = DIRTIER_RATE_MB_S * 1000000ull / info->vcpu_count;

        if (!info->tsc_hz) {
            gprintf("vcpu %u: the boot info gives no TSC rate: cannot pace to %u MB/s\n",
                    (unsigned int)vcpu, (unsigned int)DIRTIER_RATE_MB_S);
            hv_exit(4);
        }
        cycles_per_batch = info->tsc_hz * (PACE_PAGES * PAGE_BYTES) / per_vcpu;
        due = read_tsc();
    }
    gprintf("vcpu %u: node %d, dirtying %llu pages at 0x%llx, %s%u MB/s\n", (unsigned int)vcpu,
            node, (unsigned long long)((pages + DIRTIER_STRIDE_PAGES - 1) / DIRTIER_STRIDE_PAGES),
            (unsigned long long)base, DIRTIER_RATE_MB_S ? "" : "as fast as it can, not ",
            (unsigned int)DIRTIER_RATE_MB_S);

    for (uint64_t sweep = 1;; sweep++) {
        for (uint64_t p = 0; p < pages; p += DIRTIER_STRIDE_PAGES) {
            volatile uint64_t *word = (volatile uint64_t *)(uintptr_t)(base + p * PAGE_BYTES);
            uint64_t tag = tag_of(vcpu, p);

            if (sweep > 1 && (word[0] != sweep - 1 || word[1] != tag)) {
                gprintf("vcpu %u: page %llu (0x%llx) holds sweep %llu, tag 0x%llx before sweep "
                        "%llu; it should hold sweep %llu, tag 0x%llx: memory was lost\n",
                        (unsigned int)vcpu, (unsigned long long)p,
                        (unsigned long long)(base + p * PAGE_BYTES), (unsigned long long)word[0],
                        (unsigned long long)word[1], (unsigned long long)sweep,
                        (unsigned long long)(sweep - 1), (unsigned long long)tag);
                hv_exit(3);
            }
            word[0] = sweep;
            word[1] = tag;
            if (cycles_per_batch && (p / DIRTIER_STRIDE_PAGES + 1) % PACE_PAGES == 0) {
                due += cycles_per_batch;
                while (read_tsc() < due)
                    hv_cpu_relax();
            }
        }
        hv_progress((uint32_t)sweep);
    }
}

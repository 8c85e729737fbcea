/*
 * guest/payloads/clone-probe.c - instant clones' isolation and identity, for
 * the engine's tests: vCPU 0 fills a 1 MiB buffer in its node's free memory
 * with the parent's pattern, writes progress marker 1 ("clone me now") and
 * waits, without a time limit, until its boot info says it has been cloned
 * (clone_count, written by the engine into the parent's own memory before it
 * runs again) or that it is a clone (clone_id, written into the clone's
 * memory). A clone finds the parent's pattern intact, writes its own (from
 * its clone_index), lets the others run, reads it back and exits with its
 * clone_index; the parent checks that its own pattern survived the clones'
 * writes and exits with 0. A clone given an identity text prints it
 * ("identity '...'"). Any foreign byte is reported and the exit code is
 * 100. Nothing depends on how fast the guest runs: under software emulation
 * it behaves as natively. Run alone, it waits until it is destroyed.
 */
#include "hv_guest.h"

#define BUFFER_BYTES (1u << 20)
#define SETTLE_SPINS 2000000ull /* a clone's pause between writing and checking */

static uint64_t pattern_of(uint64_t who, uint64_t i)
{
    return (who + 1) * 0x9e3779b97f4a7c15ull ^ i;
}

static uint64_t check(volatile uint64_t *buf, uint64_t who)
{
    uint64_t bad = 0;

    for (uint64_t i = 0; i < BUFFER_BYTES / 8; i++)
        bad += buf[i] != pattern_of(who, i);
    return bad;
}

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    volatile const hv_guest_boot_info *live = info;
    const hv_guest_boot_node *node = hv_boot_node(info, 0);
    volatile uint64_t *buf;
    uint64_t bad;

    if (vcpu != 0)
        return 0;
    if (!node || node->free_bytes < BUFFER_BYTES) {
        gprintf("clone-probe: node 0 has too little free memory\n");
        hv_exit(101);
    }
    buf = (volatile uint64_t *)(uintptr_t)node->free_base;
    for (uint64_t i = 0; i < BUFFER_BYTES / 8; i++)
        buf[i] = pattern_of(0, i);
    gprintf("clone-probe: parent pattern written, waiting to be cloned\n");
    hv_progress(1);
    while (live->clone_id == 0 && live->clone_count == 0)
        hv_cpu_relax();
    if (live->clone_id == 0) {
        bad = check(buf, 0);
        gprintf("clone-probe: parent: %llu foreign words\n", (unsigned long long)bad);
        hv_exit(bad ? 100 : 0);
    }
    /* a clone: it starts from the parent's memory, then goes its own way */
    bad = check(buf, 0);
    for (uint64_t i = 0; i < BUFFER_BYTES / 8; i++)
        buf[i] = pattern_of(live->clone_index, i);
    for (uint64_t s = 0; s < SETTLE_SPINS; s++)
        hv_cpu_relax();
    bad += check(buf, live->clone_index);
    gprintf("clone-probe: clone %llu id %016llx generation %llu: %llu foreign words\n",
            (unsigned long long)live->clone_index, (unsigned long long)live->clone_id,
            (unsigned long long)live->generation, (unsigned long long)bad);
    if (live->identity_bytes) {
        /* the identity its maker gave it: printed as it is, inside the boot info */
        uint32_t offset = live->identity_offset, bytes = live->identity_bytes;

        if (offset < info->total_bytes || bytes > HV_GUEST_IDENTITY_MAX_BYTES ||
            offset + bytes > HV_GUEST_BOOT_INFO_MAX_BYTES) {
            gprintf("clone-probe: identity at %u, %u bytes, is outside the boot info\n", offset,
                    bytes);
            hv_exit(102);
        }
        gprintf("clone-probe: identity '%.*s'\n", (int)bytes, (const char *)info + offset);
    }
    hv_exit(bad ? 100 : (uint32_t)live->clone_index);
}

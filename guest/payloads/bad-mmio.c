/*
 * guest/payloads/bad-mmio.c - a misbehaving payload for the engine's tests:
 * vCPU 0 writes to the start of the stray-MMIO window (boot info mmio_base),
 * where no device is, so the VM must end with HV_E_GUEST naming the
 * address. The other vCPUs stop with 0.
 */
#include "hv_guest.h"

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    if (vcpu != 0)
        return 0;
    gprintf("bad-mmio: writing to 0x%llx\n", (unsigned long long)info->mmio_base);
    *(volatile uint32_t *)(uintptr_t)info->mmio_base = 0xdeadbeefu;
    gprintf("bad-mmio: the engine let a write to the stray-MMIO window through\n");
    return 3;
}

/*
 * guest/payloads/bad-port.c - a misbehaving payload for the engine's tests:
 * vCPU 0 writes to port 0x60, which is not part of the port ABI, so the VM
 * must end with HV_E_GUEST naming the port. The other vCPUs stop with 0.
 */
#include "hv_guest.h"

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    (void)info;
    if (vcpu != 0)
        return 0;
    gprintf("bad-port: writing to port 0x60\n");
    __asm__ volatile("outb %b0, $0x60" : : "a"((uint8_t)0x42) : "memory");
    gprintf("bad-port: the engine let an OUT to port 0x60 through\n");
    return 3;
}

/*
 * guest/payloads/bad-in.c - a misbehaving payload for the engine's tests:
 * vCPU 0 reads (IN) from the console port 0xE9; the port ABI has no input,
 * so the VM must end with HV_E_GUEST. The other vCPUs stop with 0.
 */
#include "hv_guest.h"

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    uint8_t value;

    (void)info;
    if (vcpu != 0)
        return 0;
    gprintf("bad-in: reading from port 0xe9\n");
    __asm__ volatile("inb $0xe9, %b0" : "=a"(value) : : "memory");
    gprintf("bad-in: the engine let an IN from port 0xe9 through (read 0x%02x)\n",
            (unsigned int)value);
    return 3;
}

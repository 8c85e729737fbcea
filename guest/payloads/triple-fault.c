/*
 * guest/payloads/triple-fault.c - a misbehaving payload for the engine's
 * tests: vCPU 0 executes ud2; with no IDT the #UD becomes a triple fault
 * and the VM must end with HV_E_GUEST. The other vCPUs stop with 0.
 */
#include "hv_guest.h"

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    (void)info;
    if (vcpu != 0)
        return 0;
    gprintf("triple-fault: executing ud2\n");
    __asm__ volatile("ud2" : : : "memory");
    gprintf("triple-fault: ud2 did not end the VM\n");
    return 3;
}

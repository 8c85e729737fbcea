/*
 * guest/payloads/exit-code.c - a payload for the engine's exit-code tests:
 * vCPU 0 prints the vCPU count and ends the VM with code 42 through the
 * exit port; the other vCPUs stop with 0.
 */
#include "hv_guest.h"

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    if (vcpu != 0)
        return 0;
    gprintf("exit-code: %u vCPUs, exiting with 42\n", (unsigned int)info->vcpu_count);
    hv_exit(42);
}

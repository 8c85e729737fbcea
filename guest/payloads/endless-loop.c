/*
 * guest/payloads/endless-loop.c - a payload for the engine's timeout and
 * forced-stop tests: vCPU 0 prints "spinning" once, then every vCPU loops
 * forever doing nothing (no port I/O, no pause): only the host can end it.
 */
#include "hv_guest.h"

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    (void)info;
    if (vcpu == 0)
        gprintf("spinning\n");
    for (;;)
        __asm__ volatile("" : : : "memory");
}

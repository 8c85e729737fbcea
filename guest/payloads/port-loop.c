/*
 * guest/payloads/port-loop.c - the port-I/O round trip for the engine's
 * benchmark: vCPU 0 writes progress marker 1, then PORT_LOOP_COUNT markers
 * of 0, then marker 2, and exits with 0; each OUT is one exit to the host
 * and back. The host times markers 1 to 2.
 */
#include "hv_guest.h"

#define PORT_LOOP_COUNT 100000u

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    (void)info;
    if (vcpu != 0)
        return 0;
    hv_progress(1);
    for (uint32_t i = 0; i < PORT_LOOP_COUNT; i++)
        hv_progress(0);
    hv_progress(2);
    gprintf("port-loop: %u round trips\n", PORT_LOOP_COUNT);
    hv_exit(0);
}

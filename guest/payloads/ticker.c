/*
 * guest/payloads/ticker.c - a console that must never repeat or lose a
 * byte, for the engine's clone and snapshot tests: vCPU 0 prints 0, 1, 2,
 * ... one number a line, writing progress marker 1 after the 50th line,
 * and exits with 0 after 1500 lines. A clone or resume taken while it sits
 * at a console exit must continue the sequence exactly: the parent's
 * console followed by the clone's is 0..N with nothing doubled or missing.
 */
#include "hv_guest.h"

#define LINES 1500u

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    (void)info;
    if (vcpu != 0)
        return 0;
    for (uint32_t i = 0; i < LINES; i++) {
        gprintf("%u\n", (unsigned int)i);
        if (i == 50)
            hv_progress(1);
    }
    hv_exit(0);
}

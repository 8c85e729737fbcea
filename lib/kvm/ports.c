/*
 * kvm/ports.c - the guest's port-I/O ABI (hpcvirt/guest.h) as decisions:
 * console bytes, exit, vCPU stop, progress markers, and for anything else a
 * fault with a message that says what the guest did and what the ABI has.
 */
#include "kvm/ports.h"

#include <stdio.h>
#include <string.h>
#include <hpcvirt/guest.h>

#define ABI_PORTS "console 0xe9, exit 0xf0, vcpu-stop 0xf4, progress 0xf8"

static const char *port_name(uint16_t port)
{
    switch (port) {
    case HV_GUEST_PORT_CONSOLE:
        return "console";
    case HV_GUEST_PORT_EXIT:
        return "exit";
    case HV_GUEST_PORT_VCPU_STOP:
        return "vcpu-stop";
    case HV_GUEST_PORT_PROGRESS:
        return "progress";
    default:
        return NULL;
    }
}

static void fault(hv_port_decision *d, uint16_t port, bool out, unsigned int size, uint32_t count,
                  const char *why)
{
    char access[64];

    if (count > 1)
        snprintf(access, sizeof(access), "%s port 0x%x (%u byte%s x %u)",
                 out ? "OUT to" : "IN from", port, size, size == 1 ? "" : "s", count);
    else
        snprintf(access, sizeof(access), "%s port 0x%x (%u byte%s)", out ? "OUT to" : "IN from",
                 port, size, size == 1 ? "" : "s");
    d->action = HV_PORT_FAULT;
    snprintf(d->message, sizeof(d->message), "%s: %s", access, why);
}

void hv_port_decide(uint16_t port, bool out, unsigned int size, uint32_t count, const uint8_t *data,
                    hv_port_decision *decision)
{
    const char *name = port_name(port);

    if (!decision)
        return;
    memset(decision, 0, sizeof(*decision));
    if (!out) {
        fault(decision, port, out, size, count, "the guest ABI has no input ports (" ABI_PORTS ")");
        return;
    }
    if (!name) {
        fault(decision, port, out, size, count, "not part of the guest ABI (" ABI_PORTS ")");
        return;
    }
    if (port == HV_GUEST_PORT_CONSOLE) {
        if (size != 1) {
            fault(decision, port, out, size, count,
                  "the console port takes 8-bit writes (outb, rep outsb)");
            return;
        }
        if (!data && count > 0) {
            fault(decision, port, out, size, count, "the access carries no data");
            return;
        }
        decision->action = HV_PORT_CONSOLE;
        decision->data = data;
        decision->length = (size_t)count;
        return;
    }
    if (size != 4 || count != 1 || !data) {
        char why[96];

        snprintf(why, sizeof(why), "the %s port takes one 32-bit write at a time (outl)", name);
        fault(decision, port, out, size, count, why);
        return;
    }
    decision->value = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                      (uint32_t)data[3] << 24;
    decision->action = port == HV_GUEST_PORT_EXIT        ? HV_PORT_EXIT_VM
                       : port == HV_GUEST_PORT_VCPU_STOP ? HV_PORT_STOP_VCPU
                                                         : HV_PORT_PROGRESS;
}

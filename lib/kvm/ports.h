/*
 * kvm/ports.h - the guest's port-I/O ABI as decisions (internal, pure): what
 * an OUT or IN a vCPU made means for the VM. The vCPU loop acts on them.
 */
#ifndef HV_KVM_PORTS_H
#define HV_KVM_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hv_port_action {
    HV_PORT_CONSOLE,   /**< bytes for the console: data, length */
    HV_PORT_PROGRESS,  /**< value is the marker */
    HV_PORT_EXIT_VM,   /**< value is the exit code */
    HV_PORT_STOP_VCPU, /**< value is the vCPU's status */
    HV_PORT_FAULT      /**< the access is not part of the ABI: message says why */
} hv_port_action;

typedef struct hv_port_decision {
    hv_port_action action;
    uint32_t value;
    const uint8_t *data; /**< HV_PORT_CONSOLE: the bytes (inside the exit's data) */
    size_t length;
    char message[160]; /**< HV_PORT_FAULT: "IN from port 0x60 (1 byte)" */
} hv_port_decision;

/**
 * Decide what a port access means. `out` is the direction, `size` the
 * access width in bytes (1, 2, 4), `count` the repetitions (REP OUTS*),
 * `data` the bytes the vCPU wrote (size * count of them).
 */
void hv_port_decide(uint16_t port, bool out, unsigned int size, uint32_t count, const uint8_t *data,
                    hv_port_decision *decision);

#endif

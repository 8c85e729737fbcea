/*
 * kvm/platform-state.h - the state of a Linux guest's PC platform inside
 * KVM (internal): the two 8259 PICs, the IOAPIC, the PIT and the
 * paravirtual clock; read from a paused VM, written into a new one (resume,
 * clone), and encoded as a snapshot's platform record
 * (docs/snapshot-format.md, "platform").
 */
#ifndef HV_KVM_PLATFORM_STATE_H
#define HV_KVM_PLATFORM_STATE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hv_kvm_platform_state {
    struct kvm_irqchip chips[3]; /* PIC master, PIC slave, IOAPIC (KVM's chip ids 0, 1, 2) */
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
} hv_kvm_platform_state;

/** Read it from a VM whose vCPUs are all out of KVM_RUN. */
int hv_kvm_platform_state_get(int vm_fd, hv_kvm_platform_state *state);
/** Write the interrupt controllers and the PIT into a VM that does not run yet. */
int hv_kvm_platform_state_set(int vm_fd, const hv_kvm_platform_state *state);
/** Set the VM's clock (last, just before its vCPUs run again). */
int hv_kvm_platform_clock_set(int vm_fd, const hv_kvm_platform_state *state);

/** The record: a malloc'ed buffer the caller frees. */
int hv_kvm_platform_state_encode(const hv_kvm_platform_state *state, uint8_t **buf, size_t *bytes);
/**
 * Decode and check a record: HV_E_SNAPSHOT naming `what` and the field for
 * a wrong magic or version, a block of the wrong size, a missing block or
 * a chip id that is not the block's.
 */
int hv_kvm_platform_state_decode(const void *buf, size_t bytes, const char *what,
                                 hv_kvm_platform_state *state);

#endif

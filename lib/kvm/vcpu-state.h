/*
 * kvm/vcpu-state.h - a vCPU's complete architectural state (internal):
 * read from KVM at a consistent point, written into another vCPU (resume,
 * clone), and encoded as the snapshot's vCPU record (docs/snapshot-format.md).
 */
#ifndef HV_KVM_VCPU_STATE_H
#define HV_KVM_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The MSRs kept (those KVM lets this host read; the others are left out). */
#define HV_KVM_STATE_MAX_MSRS 48

/** The vCPU's engine-level state at the snapshot: whether it still runs the guest. */
typedef enum hv_kvm_vcpu_run_state {
    HV_KVM_VCPU_STATE_RUNNING = 1, /* it had not stopped: it runs again after a resume */
    HV_KVM_VCPU_STATE_STOPPED = 2  /* it had stopped itself (vcpu-stop port) with `status` */
} hv_kvm_vcpu_run_state;

typedef struct hv_kvm_vcpu_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    bool has_xsave; /* else fpu */
    /* struct kvm_xsave's 4 KiB region (the struct ends in a flexible array in
     * newer headers, so it is kept as its bytes) */
    uint32_t xsave[1024];
    struct kvm_fpu fpu;
    bool has_xcrs;
    struct kvm_xcrs xcrs;
    uint32_t nmsrs;
    struct {
        uint32_t index;
        uint64_t data;
    } msrs[HV_KVM_STATE_MAX_MSRS];
    bool has_events;
    struct kvm_vcpu_events events;
    bool has_debugregs;
    struct kvm_debugregs debugregs;
    /* a Linux guest's (in-kernel interrupt controllers): its local APIC and MP state */
    bool has_lapic;
    struct kvm_lapic_state lapic;
    bool has_mp_state;
    struct kvm_mp_state mp_state;
    /* the engine's */
    uint32_t run_state; /* hv_kvm_vcpu_run_state */
    uint32_t status;    /* its vcpu-stop status */
    uint32_t last_marker;
    uint64_t marker_count;
} hv_kvm_vcpu_state;

/**
 * Read everything from a vCPU that is out of KVM_RUN with no I/O pending.
 * `platform`: the VM has KVM's in-kernel interrupt controllers (a Linux
 * guest): its local APIC, MP state and the MSRs a kernel uses (kvmclock,
 * TSC deadline, ...) are read too.
 */
int hv_kvm_vcpu_state_get(int vcpu_fd, int system_fd, uint32_t index, bool platform,
                          hv_kvm_vcpu_state *state);
/** Write it into a vCPU that is not running. */
int hv_kvm_vcpu_state_set(int vcpu_fd, uint32_t index, const hv_kvm_vcpu_state *state);

/** The snapshot record: a malloc'ed buffer the caller frees. */
int hv_kvm_vcpu_state_encode(const hv_kvm_vcpu_state *state, uint32_t index, uint8_t **buf,
                             size_t *bytes);
/**
 * Decode and check a record: HV_E_SNAPSHOT naming `what` and the field for
 * a wrong magic, version, index, a block of the wrong size, a missing
 * required block, or values KVM could not take (a non-canonical RIP, ...).
 */
int hv_kvm_vcpu_state_decode(const void *buf, size_t bytes, uint32_t index, const char *what,
                             hv_kvm_vcpu_state *state);

#endif

/*
 * kvm/snapshot.h - suspend to a snapshot file and resume from one
 * (internal; kvm/snapshot.c, docs/snapshot-format.md).
 */
#ifndef HV_KVM_SNAPSHOT_H
#define HV_KVM_SNAPSHOT_H

#include "kvm/engine.h"

/* Pause at a consistent point, write the snapshot, then stop (or go on). */
int hv_kvm_vm_suspend(hv_kvm_vm *vm, const char *path, unsigned int flags);

typedef struct hv_kvm_resume_params {
    const char *name; /* NULL: the name in the snapshot */
    bool paused;      /* leave the vCPUs parked */
    bool eager;       /* read (and check) all memory now instead of mapping it */
    hv_vm_console_fn console;
    void *console_data;
    hv_vm_progress_fn progress;
    void *progress_data;
} hv_kvm_resume_params;

/* A new VM that continues where the snapshot's stopped. */
int hv_kvm_vm_resume_from(hv_kvm_conn *conn, const char *path, const hv_kvm_resume_params *params,
                          hv_kvm_vm **out);

#endif

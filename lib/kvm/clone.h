/*
 * kvm/clone.h - instant, full and cold clones of a VM of the built-in
 * engine, and shells made ahead of need (internal; kvm/clone.c).
 */
#ifndef HV_KVM_CLONE_H
#define HV_KVM_CLONE_H

#include "kvm/engine.h"

typedef struct hv_kvm_clone_params {
    int mode;                 /* HV_VM_CLONE_INSTANT, _FULL, _COLD */
    bool paused;              /* leave the clones parked */
    unsigned int threads;     /* 0: the host's CPU count (at most the clone count) */
    hv_vm_console_fn console; /* NULL: the parent's */
    void *console_data;
    hv_vm_clone_progress_fn progress;
    void *progress_data;
    const char *const *names;      /* count names, or NULL */
    const char *name_pattern;      /* "{index}" replaced by the clone index, or NULL */
    const char *const *identities; /* count texts written into the clones' boot info, or NULL */
    hv_vm_channel_fn channel;      /* a Linux guest's clones' channel output; NULL: the parent's */
    void *const *channel_data;     /* count entries, or NULL */
} hv_kvm_clone_params;

/* `count` clones of parent into out[0..count-1]; the parent stays paused. */
int hv_kvm_clone(hv_kvm_vm *parent, size_t count, const hv_kvm_clone_params *params,
                 hv_kvm_vm **out);
/* Make `count` shells ahead of need, kept by the parent for its next clones. */
int hv_kvm_clone_prepare(hv_kvm_vm *parent, size_t count);

#endif

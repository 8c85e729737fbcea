/*
 * kvm/disks.h - a Linux guest's disk images in the built-in engine
 * (internal): each of the spec's disks[] checked for what the engine can
 * give (a raw image on virtio, at most HV_KVM_MAX_DISKS of them),
 * created when missing with a size (host/disk.c), opened and locked so that
 * no other VM - in this process or another - writes an image this one uses
 * or uses one this one writes (flock: shared for read-only disks, exclusive
 * for the others, held by the open file as long as the VM's device has it).
 */
#ifndef HV_KVM_DISKS_H
#define HV_KVM_DISKS_H

#include "kvm/acpi.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct hv_vm_spec hv_vm_spec;
typedef struct hv_spec_disk hv_spec_disk;

/** The most disks a Linux guest has: its virtio devices less its channel's. */
#define HV_KVM_MAX_DISKS (HV_KVM_VIRTIO_MAX_DEVICES - 1)

typedef struct hv_kvm_disk {
    int fd; /**< -1 when closed */
    bool read_only;
    bool created; /**< made here: removed again if the VM is not made */
    const char *path;
    const char *serial; /**< "" for none */
} hv_kvm_disk;

typedef struct hv_kvm_disks {
    size_t count;
    hv_kvm_disk disk[HV_KVM_MAX_DISKS];
} hv_kvm_disks;

/**
 * Open the disks of `spec` (its strings stay the caller's, by pointer).
 * `linux_guest` false with any disk: HV_E_UNSUPPORTED (a payload has no
 * disk driver). Refusals name the disk ("disks[1]") and say what to do;
 * on an error nothing is left open or created.
 */
int hv_kvm_disks_open(const hv_vm_spec *spec, bool linux_guest, hv_kvm_disks *out);

/**
 * Open again the disks of a guest being resumed or cloned (`list` as it was
 * given, the strings the caller's): each image must exist and have the size
 * `bytes` gives (its guest knows that size), and is locked as
 * hv_kvm_disks_open() locks it. Refusals name the disk; on an error nothing
 * is left open.
 */
int hv_kvm_disks_reopen(const hv_spec_disk *list, const uint64_t *bytes, size_t count,
                        hv_kvm_disks *out);

/** Close every disk's descriptor; with `remove_created`, unlink the images made by open. */
void hv_kvm_disks_close(hv_kvm_disks *disks, bool remove_created);

#endif

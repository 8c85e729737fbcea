/*
 * kvm/snapshot.h - suspend to a snapshot file and resume from one
 * (internal; kvm/snapshot.c, docs/snapshot-format.md).
 */
#ifndef HV_KVM_SNAPSHOT_H
#define HV_KVM_SNAPSHOT_H

#include "kvm/disks.h"
#include "kvm/engine.h"
#include "kvm/linux.h"
#include "kvm/snapshot-file.h"
#include "plan/spec.h"

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
    hv_vm_channel_fn channel; /* a Linux guest's channel output */
    void *channel_data;
} hv_kvm_resume_params;

/*
 * What a snapshot's meta and plan sections say (docs/snapshot-format.md,
 * "Section contents"), read from their exact bytes and checked before
 * anything touches KVM.
 */
typedef struct hv_kvm_snapshot_meta {
    struct json_object *root; /* the meta section; holds `name` and `affinity` */
    const char *name;         /* checked as a spec's name is (hv_spec_check_name) */
    char *payload_path;       /* for messages: printable (hv_text_printable_dup) */
    int vcpus;
    size_t node_count;
    hv_kvm_node_request nodes[HV_KVM_MAX_NODES];
    struct json_object *affinity; /* one CPU list (string) per vCPU */
    uint64_t image_base, image_end, entry, clone_id, clone_index, generation;
    char *plan_json; /* the plan section, strict JSON; NULL when the file has none */
    /* a Linux guest's (meta version 2: its "linux" object); false: a payload */
    bool is_linux;
    hv_kvm_linux_source linux_source; /* its strings point into root, its arrays below */
    hv_spec_disk linux_disks[HV_KVM_MAX_DISKS];
    uint64_t linux_disk_bytes[HV_KVM_MAX_DISKS];
    int *linux_distances; /* node_count x node_count */
} hv_kvm_snapshot_meta;

/*
 * Read and check the meta and plan sections of an open snapshot; `path`
 * names the file in errors. 0, or HV_E_SNAPSHOT naming the file, the
 * section and what is wrong (HV_E_NOMEM). Free with
 * hv_kvm_snapshot_meta_clear() whatever it returned.
 */
int hv_kvm_snapshot_read_meta(const hv_snap_reader *r, const char *path, hv_kvm_snapshot_meta *m);
void hv_kvm_snapshot_meta_clear(hv_kvm_snapshot_meta *m);
/* The same checks on a meta section's exact bytes (the plan is not read); `path` names
 * where they came from. */
int hv_kvm_snapshot_meta_parse(const void *data, size_t bytes, const char *path,
                               hv_kvm_snapshot_meta *m);

/* The meta section's text for `vm` (hv_free it). */
int hv_kvm_vm_meta_text(hv_kvm_vm *vm, bool was_running, char **out);
/* The console ring, oldest byte first (free() it); NULL when out of memory. */
char *hv_kvm_vm_console_bytes(hv_kvm_vm *vm, size_t *len);
/* Refill a new VM's console ring (at most HV_KVM_CONSOLE_BYTES). */
int hv_kvm_vm_restore_console(hv_kvm_vm *vm, const void *data, uint64_t bytes);
/*
 * A new VM (not listed, no memory backing yet) with the vCPUs, layout,
 * affinity and payload (or Linux guest, its disks opened again) that meta `m` describes, named
 * rp->name or m->name, with rp's callbacks; checked against the meta (HV_E_SNAPSHOT naming `path`).
 */
int hv_kvm_vm_from_meta(hv_kvm_conn *conn, const hv_kvm_snapshot_meta *m,
                        const hv_kvm_resume_params *rp, const void *payload, size_t payload_bytes,
                        const char *path, hv_kvm_vm **out);

/* A new VM that continues where the snapshot's stopped. */
int hv_kvm_vm_resume_from(hv_kvm_conn *conn, const char *path, const hv_kvm_resume_params *params,
                          hv_kvm_vm **out);

#endif

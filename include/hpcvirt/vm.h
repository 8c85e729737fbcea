/*
 * hpcvirt/vm.h - connections to backends and the VMs they run.
 *
 * hv_conn_open() picks a backend by URI, like libvirt's virConnectOpen():
 * "kvm:///" is the built-in engine, "libvirt:<libvirt URI>" drives libvirt
 * ("libvirt:test:///default", "libvirt:qemu:///system",
 * "libvirt:qemu+ssh://host/system"), and applications or plugins can
 * register their own (hpcvirt/backend.h). A VM is created from a plan, then
 * started, paused, resumed, stopped, suspended to a file and resumed from
 * it, snapshotted and migrated - each where the backend supports it; an
 * unsupported operation is HV_E_UNSUPPORTED naming the backend and the
 * operation.
 */
#ifndef HPCVIRT_VM_H
#define HPCVIRT_VM_H

#include <hpcvirt/common.h>
#include <hpcvirt/host.h>
#include <hpcvirt/plan.h>

HV_BEGIN_DECLS

typedef struct hv_conn hv_conn;
typedef struct hv_vm hv_vm;

/** The URI used when hv_conn_open() gets NULL and $HPCVIRT_DEFAULT_URI is unset. */
#define HV_DEFAULT_URI "kvm:///"

/**
 * Connect to a backend. `uri` NULL means $HPCVIRT_DEFAULT_URI, else
 * HV_DEFAULT_URI. Plugins in $HPCVIRT_PLUGIN_DIR are loaded first (once).
 * HV_E_NOTFOUND when no backend takes the URI; the backend's own error
 * otherwise (HV_E_BACKEND with libvirt's message, HV_E_NOKVM, ...).
 */
HV_EXTERN int hv_conn_open(const char *uri, hv_conn **conn);
HV_EXTERN void hv_conn_close(hv_conn *conn);
HV_EXTERN const char *hv_conn_uri(const hv_conn *conn);
/** Name of the backend serving the connection ("libvirt"). */
HV_EXTERN const char *hv_conn_backend(const hv_conn *conn);
/** The inventory of the host behind the connection (for libvirt: its capabilities). */
HV_EXTERN int hv_conn_host(hv_conn *conn, hv_host **host);
/** Names of the VMs the backend knows (caller frees with hv_strv_free()). */
HV_EXTERN int hv_conn_list_vms(hv_conn *conn, char ***names, size_t *count);
/** Free an array of strings returned by the library. */
HV_EXTERN void hv_strv_free(char **strings, size_t count);

typedef enum hv_vm_state_t {
    HV_VM_STATE_UNKNOWN = 0,
    HV_VM_STATE_DEFINED = 1, /**< defined, not running (shut off) */
    HV_VM_STATE_RUNNING = 2,
    HV_VM_STATE_PAUSED = 3,
    HV_VM_STATE_SUSPENDED = 4, /**< saved (managed save), starts where it stopped */
    HV_VM_STATE_STOPPING = 5,  /**< shutting down */
    HV_VM_STATE_CRASHED = 6,
    HV_VM_STATE_EXITED = 7 /**< the guest ended (built-in engine) */
} hv_vm_state_t;

/** "running", "paused", ... */
HV_EXTERN const char *hv_vm_state_name(int state);

typedef enum hv_vm_create_flags {
    HV_VM_CREATE_START = 1 << 0 /**< start it once defined */
} hv_vm_create_flags;

#define HV_VM_CREATE_OPTIONS_VERSION 1
typedef struct hv_vm_create_options {
    unsigned int version;
    unsigned int flags; /**< HV_VM_CREATE_* */
    /**
     * Backend-specific settings as "key=value,key=value", NULL for none. The
     * libvirt backend takes domain_type=kvm|qemu (default: kvm where the
     * host's QEMU offers it), network=NAME and console_log=PATH.
     */
    const char *backend_options;
} hv_vm_create_options;
#define HV_VM_CREATE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        HV_VM_CREATE_OPTIONS_VERSION, 0, NULL                                                      \
    }
HV_EXTERN int hv_vm_create_options_init(hv_vm_create_options *opts, unsigned int version);

/**
 * Create (define) a VM from a plan. A plan with errors is refused with
 * HV_E_PLAN naming its first error finding; nothing reaches the backend.
 * When a later step fails (start), the half-created VM is removed again.
 */
HV_EXTERN int hv_vm_create(hv_conn *conn, const hv_plan *plan, const hv_vm_create_options *opts,
                           hv_vm **vm);
/** A VM the backend already knows, by name. HV_E_NOTFOUND when there is none. */
HV_EXTERN int hv_vm_lookup(hv_conn *conn, const char *name, hv_vm **vm);
/** Release the handle (the VM itself stays). NULL is ignored. */
HV_EXTERN void hv_vm_free(hv_vm *vm);
HV_EXTERN const char *hv_vm_name(const hv_vm *vm);

HV_EXTERN int hv_vm_start(hv_vm *vm);
HV_EXTERN int hv_vm_pause(hv_vm *vm);
HV_EXTERN int hv_vm_resume(hv_vm *vm);
/** Ask the guest to shut down; after `timeout_ms` (0 = at once) power it off. */
HV_EXTERN int hv_vm_stop(hv_vm *vm, unsigned int timeout_ms);
/** Power off at once. */
HV_EXTERN int hv_vm_destroy(hv_vm *vm);
/** Remove the VM's definition (it must not be running). */
HV_EXTERN int hv_vm_undefine(hv_vm *vm);
/** HV_VM_STATE_*. */
HV_EXTERN int hv_vm_state(hv_vm *vm, int *state);

typedef enum hv_vm_suspend_flags {
    HV_VM_SUSPEND_KEEP_RUNNING = 1 << 0 /**< write the snapshot, then go on running */
} hv_vm_suspend_flags;

#define HV_VM_SUSPEND_OPTIONS_VERSION 1
typedef struct hv_vm_suspend_options {
    unsigned int version;
    unsigned int flags; /**< HV_VM_SUSPEND_* */
} hv_vm_suspend_options;
#define HV_VM_SUSPEND_OPTIONS_INIT                                                                 \
    {                                                                                              \
        HV_VM_SUSPEND_OPTIONS_VERSION, 0                                                           \
    }
HV_EXTERN int hv_vm_suspend_options_init(hv_vm_suspend_options *opts, unsigned int version);

/** Suspend to a file: the VM's state and memory; the VM stops (unless KEEP_RUNNING). */
HV_EXTERN int hv_vm_suspend(hv_vm *vm, const char *path, const hv_vm_suspend_options *opts);

typedef enum hv_vm_resume_flags {
    HV_VM_RESUME_PAUSED = 1 << 0, /**< restore, but leave the vCPUs paused */
    HV_VM_RESUME_EAGER = 1 << 1   /**< read all memory now instead of on demand */
} hv_vm_resume_flags;

#define HV_VM_RESUME_OPTIONS_VERSION 1
typedef struct hv_vm_resume_options {
    unsigned int version;
    unsigned int flags; /**< HV_VM_RESUME_* */
} hv_vm_resume_options;
#define HV_VM_RESUME_OPTIONS_INIT                                                                  \
    {                                                                                              \
        HV_VM_RESUME_OPTIONS_VERSION, 0                                                            \
    }
HV_EXTERN int hv_vm_resume_options_init(hv_vm_resume_options *opts, unsigned int version);

/** A VM that continues from a file written by hv_vm_suspend(). */
HV_EXTERN int hv_vm_resume_from(hv_conn *conn, const char *path, const hv_vm_resume_options *opts,
                                hv_vm **vm);

/** Suspend into the backend's own storage; the next start resumes there. */
HV_EXTERN int hv_vm_managed_save(hv_vm *vm);
HV_EXTERN int hv_vm_has_managed_save(hv_vm *vm, bool *has);

HV_EXTERN int hv_vm_snapshot_create(hv_vm *vm, const char *name);
HV_EXTERN int hv_vm_snapshot_revert(hv_vm *vm, const char *name);
HV_EXTERN int hv_vm_snapshot_delete(hv_vm *vm, const char *name);
/** Snapshot names (caller frees with hv_strv_free()). */
HV_EXTERN int hv_vm_snapshot_list(hv_vm *vm, char ***names, size_t *count);

typedef enum hv_migrate_flags {
    HV_MIGRATE_OFFLINE = 1 << 0 /**< move a stopped VM's definition only (not live) */
} hv_migrate_flags;

#define HV_MIGRATE_OPTIONS_VERSION 1
typedef struct hv_migrate_options {
    unsigned int version;
    unsigned int flags;           /**< HV_MIGRATE_* */
    uint64_t bandwidth_mib_per_s; /**< 0 = unlimited */
    unsigned int max_downtime_ms; /**< 0 = the backend's default */
} hv_migrate_options;
#define HV_MIGRATE_OPTIONS_INIT                                                                    \
    {                                                                                              \
        HV_MIGRATE_OPTIONS_VERSION, 0, 0, 0                                                        \
    }
HV_EXTERN int hv_migrate_options_init(hv_migrate_options *opts, unsigned int version);

/**
 * Live-migrate a running VM to `dest` (for libvirt: the destination's libvirt
 * URI, peer to peer). A VM whose plan makes it ineligible is refused up front
 * with HV_E_UNSUPPORTED and the plan's reasons; nothing is sent.
 */
HV_EXTERN int hv_vm_migrate(hv_vm *vm, const char *dest, const hv_migrate_options *opts);

HV_END_DECLS

#endif /* HPCVIRT_VM_H */

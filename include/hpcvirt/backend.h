/*
 * hpcvirt/backend.h - the backend interface: what a backend implements so
 * hv_conn_open() can dispatch to it by URI (libvirt's virHypervisorDriver
 * and libgit2's git_odb_backend are the models).
 *
 * A backend is a versioned table of functions. `open` may decline a URI
 * (return HV_BACKEND_DECLINED) so several backends can share a scheme; any
 * operation may be NULL, and calling it then is HV_E_UNSUPPORTED naming the
 * backend and the operation. Backends report failures with hv_error_report()
 * (hpcvirt/error.h) and a negative HV_E_* code.
 *
 * Applications register backends with hv_backend_register(). Plugins are
 * shared objects in $HPCVIRT_PLUGIN_DIR (or a directory passed to
 * hv_backend_load_plugins()) exporting `int hv_plugin_init(void)`, which
 * registers their backends and returns 0.
 */
#ifndef HPCVIRT_BACKEND_H
#define HPCVIRT_BACKEND_H

#include <hpcvirt/common.h>
#include <hpcvirt/host.h>
#include <hpcvirt/plan.h>
#include <hpcvirt/vm.h>

HV_BEGIN_DECLS

/**
 * 2 added the operations after vm_migrate (waiting, console, statistics,
 * progress, memory backing, restore with options, clones), 3 the
 * destination of a migration (vm_migrate_incoming), 4 a Linux guest's
 * channel (vm_channel_send); tables of versions 1 to 3 are still accepted.
 */
#define HV_BACKEND_VERSION 4
/** What `open` returns to let the next backend try the URI. */
#define HV_BACKEND_DECLINED 1

typedef struct hv_backend {
    unsigned int version; /**< HV_BACKEND_VERSION */
    /**
     * Unique, shown in errors and lists ("libvirt"): 1 to 64 characters, a
     * lowercase ASCII letter first, then lowercase letters, digits, '-',
     * '_', '+' and '.'.
     */
    const char *name;
    /**
     * URI scheme served ("libvirt" for "libvirt:..."), matched byte for
     * byte; NULL = offered every URI. As a name, without '_' (RFC 3986's
     * scheme characters, in lowercase).
     */
    const char *scheme;

    int (*open)(const char *uri, void **conn_data);
    void (*close)(void *conn_data);
    int (*host)(void *conn_data, hv_host **host);
    int (*list_vms)(void *conn_data, char ***names, size_t *count);

    int (*vm_create)(void *conn_data, const hv_plan *plan, const hv_vm_create_options *opts,
                     void **vm_data);
    int (*vm_lookup)(void *conn_data, const char *name, void **vm_data);
    void (*vm_release)(void *vm_data);
    const char *(*vm_name)(void *vm_data);
    int (*vm_start)(void *vm_data);
    int (*vm_pause)(void *vm_data);
    int (*vm_resume)(void *vm_data);
    int (*vm_stop)(void *vm_data, unsigned int timeout_ms);
    int (*vm_destroy)(void *vm_data);
    int (*vm_undefine)(void *vm_data);
    int (*vm_state)(void *vm_data, int *state);
    int (*vm_suspend)(void *vm_data, const char *path, unsigned int flags);
    int (*vm_resume_from)(void *conn_data, const char *path, unsigned int flags, void **vm_data);
    int (*vm_managed_save)(void *vm_data);
    int (*vm_has_managed_save)(void *vm_data, bool *has);
    int (*vm_snapshot_create)(void *vm_data, const char *name);
    int (*vm_snapshot_revert)(void *vm_data, const char *name);
    int (*vm_snapshot_delete)(void *vm_data, const char *name);
    int (*vm_snapshot_list)(void *vm_data, char ***names, size_t *count);
    int (*vm_migrate)(void *vm_data, const char *dest, const hv_migrate_options *opts);
    /* ---- version 2 ---- */
    int (*vm_wait)(void *vm_data, int timeout_ms, int *exit_code);
    int (*vm_exit_code)(void *vm_data, int *exit_code);
    int (*vm_console_read)(void *vm_data, char *buf, size_t size, size_t *length);
    int (*vm_stat)(void *vm_data, int stat, uint64_t *value);
    int (*vm_progress)(void *vm_data, unsigned int vcpu, uint32_t *marker, uint64_t *count);
    int (*vm_memory_node_count)(void *vm_data, size_t *count);
    int (*vm_memory_info)(void *vm_data, size_t node, hv_vm_memory_info *info);
    /** Preferred over vm_resume_from when set: gets the whole (current version) options. */
    int (*vm_restore)(void *conn_data, const char *path, const hv_vm_resume_options *opts,
                      void **vm_data);
    /** Fills vm_data[0..count-1]; all or nothing. */
    int (*vm_clone)(void *vm_data, size_t count, const hv_vm_clone_options *opts,
                    void **clones_data);
    int (*vm_clone_prepare)(void *vm_data, size_t count);
    int (*vm_clone_identity)(void *vm_data, uint64_t *clone_id, uint64_t *clone_index);
    /* ---- version 3 ---- */
    /** Gets the whole (current version) options. */
    int (*vm_migrate_incoming)(void *conn_data, const char *source,
                               const hv_migrate_incoming_options *opts, void **vm_data);
    /* ---- version 4 ---- */
    int (*vm_channel_send)(void *vm_data, const void *bytes, size_t length, size_t *sent);
} hv_backend;

/**
 * Register a backend (the table is copied; its strings must stay valid).
 * HV_E_EXISTS when a backend of that name is registered, HV_E_INVAL for a
 * bad table (version, no name, no open, a name or scheme with characters
 * other than those allowed above: control characters and bytes that are
 * not ASCII included).
 */
HV_EXTERN int hv_backend_register(const hv_backend *backend);
/** Stop offering a backend to new connections; open ones keep working. */
HV_EXTERN int hv_backend_unregister(const char *name);
/** Registered backends, in the order URIs are offered to them. */
HV_EXTERN size_t hv_backend_count(void);
HV_EXTERN const char *hv_backend_name_at(size_t index);
/**
 * Load every *.so in `dir` (NULL: $HPCVIRT_PLUGIN_DIR; nothing when unset)
 * and call its hv_plugin_init(). A directory is loaded once. Returns the
 * number of plugins loaded, or HV_E_IO / HV_E_BACKEND naming the file that
 * failed (the others are still loaded).
 */
HV_EXTERN int hv_backend_load_plugins(const char *dir);

HV_END_DECLS

#endif /* HPCVIRT_BACKEND_H */

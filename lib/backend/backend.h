/*
 * backend/backend.h - connections and VM handles (internal): what the
 * dispatch layer keeps for each, and the registry lookups conn.c needs.
 */
#ifndef HV_BACKEND_BACKEND_H
#define HV_BACKEND_BACKEND_H

#include <hpcvirt/backend.h>
#include <stddef.h>

struct hv_conn {
    const hv_backend *backend; /* registry entry: lives as long as the process */
    void *data;
    char *uri;
};

struct hv_vm {
    hv_conn *conn;
    void *data;
    /* from the plan it was created with; lookups leave these to the backend */
    bool have_plan;
    bool live_migratable;
    char *not_migratable_reason;
};

/* The built-in backends, NULL-terminated (builtin.c): registered on first use. */
extern const hv_backend *const hv_builtin_backends[];

/* Offer `uri` to the registered backends in order; the first that accepts wins. */
int hv_backend_open_uri(const char *uri, const hv_backend **backend, void **data);

/* The backend's own data for a VM (tests of a backend reach through it). */
void *hv_vm_backend_data(hv_vm *vm);

/*
 * HV_E_UNSUPPORTED for an operation a backend leaves NULL: the message names
 * another registered backend that has it (HV_BACKEND_OP(field)), if any.
 */
int hv_backend_unsupported(const hv_backend *backend, size_t operation_offset,
                           const char *operation);
#define HV_BACKEND_OP(field) offsetof(hv_backend, field)

#endif

/*
 * kvm/conn.c - the engine's connection (kvm:///): the /dev/kvm handle, the
 * references that keep it alive (its own and one per VM object), and the
 * list of the VMs defined on it, by name. It knows VMs only by their name,
 * their reference count and whether they are listed; vm.c and driver.c
 * call it, it calls neither.
 */
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"
#include "kvm/engine.h"

#include <stdlib.h>
#include <string.h>

int hv_kvm_conn_open(hv_kvm_conn **out)
{
    hv_kvm_conn *conn = hv_calloc(1, sizeof(*conn));
    int rc;

    *out = NULL;
    if (!conn)
        return HV_E_NOMEM;
    if ((rc = hv_kvm_system_open(&conn->sys)) < 0) {
        free(conn);
        return rc;
    }
    pthread_mutex_init(&conn->lock, NULL);
    conn->refs = 1;
    *out = conn;
    return 0;
}

void hv_kvm_conn_ref(hv_kvm_conn *conn)
{
    pthread_mutex_lock(&conn->lock);
    conn->refs++;
    pthread_mutex_unlock(&conn->lock);
}

void hv_kvm_conn_unref(hv_kvm_conn *conn)
{
    int refs;

    pthread_mutex_lock(&conn->lock);
    refs = --conn->refs;
    pthread_mutex_unlock(&conn->lock);
    if (refs > 0)
        return;
    free(conn->vms);
    hv_kvm_system_close(&conn->sys);
    pthread_mutex_destroy(&conn->lock);
    free(conn);
}

static hv_kvm_vm *find_locked(hv_kvm_conn *conn, const char *name)
{
    for (size_t i = 0; i < conn->nvms; i++)
        if (strcmp(conn->vms[i]->name, name) == 0)
            return conn->vms[i];
    return NULL;
}

int hv_kvm_conn_add(hv_kvm_conn *conn, hv_kvm_vm *vm)
{
    int rc = 0;

    pthread_mutex_lock(&conn->lock);
    if (find_locked(conn, vm->name)) {
        rc = hv_error_set(HV_E_EXISTS, "name",
                          "a VM named '%s' already exists on this connection: pick another name "
                          "or undefine it first",
                          vm->name);
    } else if (conn->nvms == conn->cap) {
        size_t cap = conn->cap ? conn->cap * 2 : 8;
        hv_kvm_vm **grown = hv_reallocarray(conn->vms, cap, sizeof(*grown));

        if (!grown)
            rc = HV_E_NOMEM;
        else {
            conn->vms = grown;
            conn->cap = cap;
        }
    }
    if (rc == 0) {
        conn->vms[conn->nvms++] = vm;
        vm->defined = true;
        vm->refs = 2; /* the list entry and the caller's handle */
    }
    pthread_mutex_unlock(&conn->lock);
    return rc;
}

bool hv_kvm_conn_remove(hv_kvm_conn *conn, hv_kvm_vm *vm)
{
    bool found = false;

    pthread_mutex_lock(&conn->lock);
    for (size_t i = 0; i < conn->nvms; i++) {
        if (conn->vms[i] == vm) {
            memmove(&conn->vms[i], &conn->vms[i + 1], (conn->nvms - i - 1) * sizeof(*conn->vms));
            conn->nvms--;
            found = vm->defined;
            vm->defined = false;
            break;
        }
    }
    pthread_mutex_unlock(&conn->lock);
    return found;
}

int hv_kvm_conn_lookup(hv_kvm_conn *conn, const char *name, hv_kvm_vm **out)
{
    hv_kvm_vm *vm;
    char quoted[HV_QUOTE_SIZE];

    pthread_mutex_lock(&conn->lock);
    vm = find_locked(conn, name);
    if (vm)
        vm->refs++;
    pthread_mutex_unlock(&conn->lock);
    *out = vm;
    if (vm)
        return 0;
    return hv_error_set(HV_E_NOTFOUND, "name",
                        "no VM named '%s' on this kvm:/// connection (the built-in engine's VMs "
                        "live in the process that created them)",
                        hv_quote(quoted, sizeof(quoted), name));
}

int hv_kvm_conn_names(hv_kvm_conn *conn, char ***names, size_t *count)
{
    char **out;
    int rc = 0;

    pthread_mutex_lock(&conn->lock);
    out = hv_calloc(conn->nvms + 1, sizeof(*out));
    for (size_t i = 0; out && i < conn->nvms; i++) {
        if (!(out[i] = hv_strdup(conn->vms[i]->name))) {
            hv_strv_free(out, i);
            out = NULL;
        }
    }
    if (out) {
        *names = out;
        *count = conn->nvms;
    } else {
        rc = HV_E_NOMEM;
    }
    pthread_mutex_unlock(&conn->lock);
    return rc;
}

hv_kvm_vm **hv_kvm_conn_take_all(hv_kvm_conn *conn, size_t *count)
{
    hv_kvm_vm **vms;

    pthread_mutex_lock(&conn->lock);
    vms = conn->vms;
    *count = conn->nvms;
    conn->vms = NULL;
    conn->nvms = conn->cap = 0;
    for (size_t i = 0; i < *count; i++)
        vms[i]->defined = false;
    pthread_mutex_unlock(&conn->lock);
    return vms;
}

int hv_kvm_conn_vm_unref(hv_kvm_vm *vm)
{
    int refs;

    pthread_mutex_lock(&vm->conn->lock);
    refs = --vm->refs;
    pthread_mutex_unlock(&vm->conn->lock);
    return refs;
}

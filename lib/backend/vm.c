/*
 * backend/vm.c - VM handles: creation from a plan (refusing plans with
 * errors, removing a half-created VM when a later step fails), the
 * lifecycle dispatched to the backend, up-front migration eligibility.
 */
#include "backend/backend.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"
#include "plan/migration.h"
#include "plan/plan.h"
#include "plan/spec.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The size of each version of the create options: a caller built against
 * older headers has the smaller struct, and only that much is touched. */
static size_t create_options_size(unsigned int version)
{
    return version == 1   ? offsetof(hv_vm_create_options, payload)
           : version == 2 ? offsetof(hv_vm_create_options, channel)
                          : sizeof(hv_vm_create_options);
}

int hv_vm_create_options_init(hv_vm_create_options *opts, unsigned int version)
{
    return hv_options_init(opts, create_options_size(version), version,
                           HV_VM_CREATE_OPTIONS_VERSION, __func__);
}

int hv_vm_memory_info_init(hv_vm_memory_info *info, unsigned int version)
{
    int rc = hv_options_init(info, sizeof(*info), version, HV_VM_MEMORY_INFO_VERSION, __func__);

    if (rc == 0)
        info->host_node = -1;
    return rc;
}

int hv_vm_suspend_options_init(hv_vm_suspend_options *opts, unsigned int version)
{
    return hv_options_init(opts, sizeof(*opts), version, HV_VM_SUSPEND_OPTIONS_VERSION, __func__);
}

static size_t resume_options_size(unsigned int version)
{
    return version == 1   ? offsetof(hv_vm_resume_options, name)
           : version == 2 ? offsetof(hv_vm_resume_options, channel)
                          : sizeof(hv_vm_resume_options);
}

int hv_vm_resume_options_init(hv_vm_resume_options *opts, unsigned int version)
{
    return hv_options_init(opts, resume_options_size(version), version,
                           HV_VM_RESUME_OPTIONS_VERSION, __func__);
}

static size_t clone_options_size(unsigned int version)
{
    return version == 1   ? offsetof(hv_vm_clone_options, names)
           : version == 2 ? offsetof(hv_vm_clone_options, channel)
           : version == 3 ? offsetof(hv_vm_clone_options, snapshot)
                          : sizeof(hv_vm_clone_options);
}

int hv_vm_clone_options_init(hv_vm_clone_options *opts, unsigned int version)
{
    return hv_options_init(opts, clone_options_size(version), version, HV_VM_CLONE_OPTIONS_VERSION,
                           __func__);
}

static size_t migrate_options_size(unsigned int version)
{
    return version == 1   ? offsetof(hv_migrate_options, key)
           : version == 2 ? offsetof(hv_migrate_options, progress)
                          : sizeof(hv_migrate_options);
}

int hv_migrate_options_init(hv_migrate_options *opts, unsigned int version)
{
    return hv_options_init(opts, migrate_options_size(version), version, HV_MIGRATE_OPTIONS_VERSION,
                           __func__);
}

static size_t migrate_incoming_options_size(unsigned int version)
{
    return version == 1 ? offsetof(hv_migrate_incoming_options, host)
                        : sizeof(hv_migrate_incoming_options);
}

int hv_migrate_incoming_options_init(hv_migrate_incoming_options *opts, unsigned int version)
{
    return hv_options_init(opts, migrate_incoming_options_size(version), version,
                           HV_MIGRATE_INCOMING_OPTIONS_VERSION, __func__);
}

/* The plan's first error finding as HV_E_PLAN. */
static int refuse_plan(const hv_plan *plan)
{
    return hv_plan_refuse(plan, HV_E_PLAN, "the plan has errors and cannot be realized");
}

static hv_vm *new_vm(hv_conn *conn, void *data)
{
    hv_vm *vm = hv_calloc(1, sizeof(*vm));

    if (!vm) {
        if (conn->backend->vm_release)
            conn->backend->vm_release(data);
        return NULL;
    }
    vm->conn = conn;
    vm->data = data;
    return vm;
}

int hv_vm_create(hv_conn *conn, const hv_plan *plan, const hv_vm_create_options *opts, hv_vm **out)
{
    void *data = NULL;
    hv_vm *vm;
    int rc;

    HV_CHECK_ARG(out, "vm");
    *out = NULL;
    HV_CHECK_ARG(conn, "conn");
    HV_CHECK_ARG(plan, "plan");
    rc = hv_options_check(opts, HV_VM_CREATE_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    if (!hv_plan_ok(plan))
        return refuse_plan(plan);
    if (!conn->backend->vm_create)
        return hv_backend_unsupported(conn->backend, HV_BACKEND_OP(vm_create), "creating VMs");
    {
        /* backends always see the current version, newer fields zero */
        hv_vm_create_options full = HV_VM_CREATE_OPTIONS_INIT;

        if (opts)
            memcpy(&full, opts, create_options_size(opts->version));
        full.version = HV_VM_CREATE_OPTIONS_VERSION;
        rc = conn->backend->vm_create(conn->data, plan, &full, &data);
    }
    if (rc < 0)
        return rc;
    vm = new_vm(conn, data);
    if (!vm)
        return HV_E_NOMEM;
    vm->have_plan = true;
    vm->live_migratable = hv_plan_live_migratable(plan);
    if (!vm->live_migratable) {
        vm->not_migratable_reason = hv_strdup(hv_plan_migration_reason_at(plan, 0));
        if (!vm->not_migratable_reason) {
            hv_vm_free(vm);
            return HV_E_NOMEM;
        }
    }
    if (opts && (opts->flags & HV_VM_CREATE_START)) {
        rc = hv_vm_start(vm);
        if (rc < 0) {
            /* keep the start failure's message; remove what was defined */
            char message[1024], path[256];

            snprintf(message, sizeof(message), "%s", hv_error_message(hv_error_last()));
            snprintf(path, sizeof(path), "%s", hv_error_path(hv_error_last()));
            if (conn->backend->vm_undefine)
                conn->backend->vm_undefine(vm->data);
            hv_vm_free(vm);
            return hv_error_set(rc, path, "%s (the VM was removed again)", message);
        }
    }
    *out = vm;
    return 0;
}

int hv_vm_lookup(hv_conn *conn, const char *name, hv_vm **out)
{
    void *data = NULL;
    int rc;

    HV_CHECK_ARG(out, "vm");
    *out = NULL;
    HV_CHECK_ARG(conn, "conn");
    HV_CHECK_ARG(name, "name");
    if (!conn->backend->vm_lookup)
        return hv_backend_unsupported(conn->backend, HV_BACKEND_OP(vm_lookup), "looking VMs up");
    rc = conn->backend->vm_lookup(conn->data, name, &data);
    if (rc < 0)
        return rc;
    *out = new_vm(conn, data);
    return *out ? 0 : HV_E_NOMEM;
}

void hv_vm_free(hv_vm *vm)
{
    if (!vm)
        return;
    if (vm->conn->backend->vm_release)
        vm->conn->backend->vm_release(vm->data);
    free(vm->not_migratable_reason);
    free(vm);
}

void *hv_vm_backend_data(hv_vm *vm)
{
    return vm ? vm->data : NULL;
}

const char *hv_vm_name(const hv_vm *vm)
{
    const char *name;

    if (!vm || !vm->conn->backend->vm_name)
        return "";
    name = vm->conn->backend->vm_name(vm->data);
    return name ? name : "";
}

/* Check the handle and that the backend has the operation. */
#define VM_CHECK(field, what)                                                                      \
    do {                                                                                           \
        HV_CHECK_ARG(vm, "vm");                                                                    \
        if (!vm->conn->backend->field)                                                             \
            return hv_backend_unsupported(vm->conn->backend, HV_BACKEND_OP(field), what);          \
    } while (0)

int hv_vm_start(hv_vm *vm)
{
    VM_CHECK(vm_start, "starting VMs");
    return vm->conn->backend->vm_start(vm->data);
}

int hv_vm_pause(hv_vm *vm)
{
    VM_CHECK(vm_pause, "pausing VMs");
    return vm->conn->backend->vm_pause(vm->data);
}

int hv_vm_resume(hv_vm *vm)
{
    VM_CHECK(vm_resume, "resuming VMs");
    return vm->conn->backend->vm_resume(vm->data);
}

int hv_vm_stop(hv_vm *vm, unsigned int timeout_ms)
{
    VM_CHECK(vm_stop, "stopping VMs");
    return vm->conn->backend->vm_stop(vm->data, timeout_ms);
}

int hv_vm_destroy(hv_vm *vm)
{
    VM_CHECK(vm_destroy, "powering VMs off");
    return vm->conn->backend->vm_destroy(vm->data);
}

int hv_vm_undefine(hv_vm *vm)
{
    VM_CHECK(vm_undefine, "removing VM definitions");
    return vm->conn->backend->vm_undefine(vm->data);
}

int hv_vm_state(hv_vm *vm, int *state)
{
    HV_CHECK_ARG(state, "state");
    *state = HV_VM_STATE_UNKNOWN;
    VM_CHECK(vm_state, "reporting VM state");
    return vm->conn->backend->vm_state(vm->data, state);
}

int hv_vm_suspend(hv_vm *vm, const char *path, const hv_vm_suspend_options *opts)
{
    int rc;

    HV_CHECK_ARG(path, "path");
    rc = hv_options_check(opts, HV_VM_SUSPEND_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    VM_CHECK(vm_suspend, "suspending VMs to a file");
    return vm->conn->backend->vm_suspend(vm->data, path, opts ? opts->flags : 0);
}

int hv_vm_resume_from(hv_conn *conn, const char *path, const hv_vm_resume_options *opts,
                      hv_vm **out)
{
    void *data = NULL;
    int rc;

    HV_CHECK_ARG(out, "vm");
    *out = NULL;
    HV_CHECK_ARG(conn, "conn");
    HV_CHECK_ARG(path, "path");
    rc = hv_options_check(opts, HV_VM_RESUME_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    if (conn->backend->vm_restore) {
        hv_vm_resume_options full = HV_VM_RESUME_OPTIONS_INIT;

        if (opts)
            memcpy(&full, opts, resume_options_size(opts->version));
        full.version = HV_VM_RESUME_OPTIONS_VERSION;
        rc = conn->backend->vm_restore(conn->data, path, &full, &data);
    } else if (conn->backend->vm_resume_from) {
        rc = conn->backend->vm_resume_from(conn->data, path, opts ? opts->flags : 0, &data);
    } else {
        return hv_backend_unsupported(conn->backend, HV_BACKEND_OP(vm_resume_from),
                                      "resuming VMs from a file");
    }
    if (rc < 0)
        return rc;
    *out = new_vm(conn, data);
    return *out ? 0 : HV_E_NOMEM;
}

int hv_vm_managed_save(hv_vm *vm)
{
    VM_CHECK(vm_managed_save, "managed save");
    return vm->conn->backend->vm_managed_save(vm->data);
}

int hv_vm_has_managed_save(hv_vm *vm, bool *has)
{
    HV_CHECK_ARG(has, "has");
    *has = false;
    VM_CHECK(vm_has_managed_save, "managed save");
    return vm->conn->backend->vm_has_managed_save(vm->data, has);
}

int hv_vm_snapshot_create(hv_vm *vm, const char *name)
{
    HV_CHECK_ARG(name, "name");
    VM_CHECK(vm_snapshot_create, "snapshots");
    return vm->conn->backend->vm_snapshot_create(vm->data, name);
}

int hv_vm_snapshot_revert(hv_vm *vm, const char *name)
{
    HV_CHECK_ARG(name, "name");
    VM_CHECK(vm_snapshot_revert, "snapshots");
    return vm->conn->backend->vm_snapshot_revert(vm->data, name);
}

int hv_vm_snapshot_delete(hv_vm *vm, const char *name)
{
    HV_CHECK_ARG(name, "name");
    VM_CHECK(vm_snapshot_delete, "snapshots");
    return vm->conn->backend->vm_snapshot_delete(vm->data, name);
}

int hv_vm_snapshot_list(hv_vm *vm, char ***names, size_t *count)
{
    HV_CHECK_ARG(names, "names");
    HV_CHECK_ARG(count, "count");
    *names = NULL;
    *count = 0;
    VM_CHECK(vm_snapshot_list, "snapshots");
    return vm->conn->backend->vm_snapshot_list(vm->data, names, count);
}

int hv_vm_migrate(hv_vm *vm, const char *dest, const hv_migrate_options *opts)
{
    char quoted[HV_QUOTE_SIZE]; /* the name is the backend's */
    hv_migrate_options full = HV_MIGRATE_OPTIONS_INIT;
    int rc;

    HV_CHECK_ARG(vm, "vm");
    HV_CHECK_ARG(dest, "dest");
    rc = hv_options_check(opts, HV_MIGRATE_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    if (opts)
        memcpy(&full, opts, migrate_options_size(opts->version));
    full.version = HV_MIGRATE_OPTIONS_VERSION;
    opts = &full;
    if (opts->key && opts->key_bytes == 0)
        return hv_error_set(HV_E_INVAL, "key_bytes",
                            "hv_vm_migrate: a key of 0 bytes authenticates nothing: give its "
                            "length, or no key");
    if (vm->have_plan && !vm->live_migratable && !(opts && (opts->flags & HV_MIGRATE_OFFLINE)))
        return hv_error_set(HV_E_UNSUPPORTED, NULL, HV_PLAN_NOT_LIVE_REFUSAL,
                            hv_quote(quoted, sizeof(quoted), hv_vm_name(vm)),
                            vm->not_migratable_reason);
    VM_CHECK(vm_migrate, "migration");
    return vm->conn->backend->vm_migrate(vm->data, dest, opts);
}

int hv_vm_migrate_incoming(hv_conn *conn, const char *source,
                           const hv_migrate_incoming_options *opts, hv_vm **out)
{
    hv_migrate_incoming_options full = HV_MIGRATE_INCOMING_OPTIONS_INIT;
    void *data = NULL;
    int rc;

    HV_CHECK_ARG(out, "vm");
    *out = NULL;
    HV_CHECK_ARG(conn, "conn");
    HV_CHECK_ARG(source, "source");
    rc = hv_options_check(opts, HV_MIGRATE_INCOMING_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    if (opts)
        memcpy(&full, opts, migrate_incoming_options_size(opts->version));
    full.version = HV_MIGRATE_INCOMING_OPTIONS_VERSION;
    if (full.key && full.key_bytes == 0)
        return hv_error_set(HV_E_INVAL, "key_bytes",
                            "hv_vm_migrate_incoming: a key of 0 bytes authenticates nothing: "
                            "give its length, or no key");
    if (!conn->backend->vm_migrate_incoming)
        return hv_backend_unsupported(conn->backend, HV_BACKEND_OP(vm_migrate_incoming),
                                      "receiving migrated VMs");
    if ((rc = conn->backend->vm_migrate_incoming(conn->data, source, &full, &data)) < 0)
        return rc;
    if (!(*out = new_vm(conn, data))) {
        if (conn->backend->vm_release)
            conn->backend->vm_release(data);
        return HV_E_NOMEM;
    }
    return 0;
}

/* ---- running guests (the built-in engine) --------------------------------- */

int hv_vm_wait(hv_vm *vm, int timeout_ms, int *exit_code)
{
    HV_CHECK_ARG(exit_code, "exit_code");
    *exit_code = 0;
    if (timeout_ms < -1)
        return hv_error_set(HV_E_INVAL, "timeout_ms",
                            "hv_vm_wait: timeout_ms %d is negative: use -1 to wait without a "
                            "limit",
                            timeout_ms);
    VM_CHECK(vm_wait, "waiting for guests to end");
    return vm->conn->backend->vm_wait(vm->data, timeout_ms, exit_code);
}

int hv_vm_exit_code(hv_vm *vm, int *exit_code)
{
    HV_CHECK_ARG(exit_code, "exit_code");
    *exit_code = 0;
    VM_CHECK(vm_exit_code, "guest exit codes");
    return vm->conn->backend->vm_exit_code(vm->data, exit_code);
}

int hv_vm_console_read(hv_vm *vm, char *buf, size_t size, size_t *length)
{
    if (length)
        *length = 0;
    HV_CHECK_ARG(buf, "buf");
    if (!size)
        return hv_error_set(HV_E_INVAL, "size",
                            "hv_vm_console_read: size is 0: pass a buffer of at least 1 byte");
    buf[0] = '\0';
    VM_CHECK(vm_console_read, "reading the console");
    return vm->conn->backend->vm_console_read(vm->data, buf, size, length);
}

int hv_vm_channel_send(hv_vm *vm, const void *bytes, size_t length, size_t *sent)
{
    if (sent)
        *sent = 0;
    HV_CHECK_ARG(bytes || length == 0, "bytes");
    VM_CHECK(vm_channel_send, "sending to a guest's channel");
    return vm->conn->backend->vm_channel_send(vm->data, bytes, length, sent);
}

const char *hv_vm_stat_name(int stat)
{
    static const char *const names[HV_VM_STAT_COUNT] = {"exits",      "exits_io",      "exits_mmio",
                                                        "exits_intr", "exits_other",   "guest_ns",
                                                        "wall_ns",    "console_bytes", "progress"};

    return stat >= 0 && stat < HV_VM_STAT_COUNT ? names[stat] : NULL;
}

int hv_vm_stat(hv_vm *vm, int stat, uint64_t *value)
{
    HV_CHECK_ARG(value, "value");
    *value = 0;
    if (!hv_vm_stat_name(stat))
        return hv_error_set(HV_E_INVAL, "stat",
                            "hv_vm_stat: %d is not a statistic (HV_VM_STAT_*, 0..%d)", stat,
                            HV_VM_STAT_COUNT - 1);
    VM_CHECK(vm_stat, "statistics");
    return vm->conn->backend->vm_stat(vm->data, stat, value);
}

int hv_vm_progress(hv_vm *vm, unsigned int vcpu, uint32_t *marker, uint64_t *count)
{
    HV_CHECK_ARG(marker, "marker");
    HV_CHECK_ARG(count, "count");
    *marker = 0;
    *count = 0;
    VM_CHECK(vm_progress, "progress markers");
    return vm->conn->backend->vm_progress(vm->data, vcpu, marker, count);
}

int hv_vm_memory_node_count(hv_vm *vm, size_t *count)
{
    HV_CHECK_ARG(count, "count");
    *count = 0;
    VM_CHECK(vm_memory_node_count, "memory backing reports");
    return vm->conn->backend->vm_memory_node_count(vm->data, count);
}

int hv_vm_memory_node_info(hv_vm *vm, size_t node, hv_vm_memory_info *info)
{
    int rc;

    rc = hv_options_check(info, HV_VM_MEMORY_INFO_VERSION, false, __func__, "info");
    if (rc < 0)
        return rc;
    VM_CHECK(vm_memory_info, "memory backing reports");
    return vm->conn->backend->vm_memory_info(vm->data, node, info);
}

/* ---- clones (the built-in engine; linked ones: libvirt) ------------------------- */

/* A clone's name as a spec's name is checked, as HV_E_INVAL of hv_vm_clone. */
static int check_clone_name(const char *name, const char *path)
{
    if (hv_spec_check_name(name, path) < 0)
        return hv_error_set(HV_E_INVAL, path, "hv_vm_clone: %s", hv_error_message(hv_error_last()));
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names (valid, all different) or a pattern that gives each clone its own; identities that fit. */
static int check_clone_options(const hv_vm_clone_options *o, size_t count)
{
    char path[48], name[HV_SPEC_MAX_NAME + 1];

    if (o->names && o->name_pattern)
        return hv_error_set(HV_E_INVAL, "names",
                            "hv_vm_clone: give names or name_pattern, not both");
    if (o->channel_data && !o->channel)
        return hv_error_set(HV_E_INVAL, "channel_data",
                            "hv_vm_clone: channel_data without a channel callback: give the "
                            "callback that takes it");
    if (o->names) {
        const char **sorted = hv_calloc(count, sizeof(*sorted));

        if (!sorted)
            return HV_E_NOMEM;
        for (size_t i = 0; i < count; i++) {
            snprintf(path, sizeof(path), "names[%zu]", i);
            if (!o->names[i] || check_clone_name(o->names[i], path) < 0) {
                free(sorted);
                return o->names[i] ? HV_E_INVAL
                                   : hv_error_set(HV_E_INVAL, path,
                                                  "hv_vm_clone: %s is NULL: names holds one name "
                                                  "per clone (count %zu)",
                                                  path, count);
            }
            sorted[i] = o->names[i];
        }
        qsort(sorted, count, sizeof(*sorted), compare_names);
        for (size_t i = 1; i < count; i++)
            if (strcmp(sorted[i - 1], sorted[i]) == 0) {
                char quoted[HV_QUOTE_SIZE];
                int rc = hv_error_set(HV_E_INVAL, "names",
                                      "hv_vm_clone: the name '%s' is given twice: each clone "
                                      "needs its own",
                                      hv_quote(quoted, sizeof(quoted), sorted[i]));

                free(sorted);
                return rc;
            }
        free(sorted);
    }
    if (o->name_pattern) {
        if (!strstr(o->name_pattern, "{index}"))
            return hv_error_set(HV_E_INVAL, "name_pattern",
                                "hv_vm_clone: name_pattern has no \"{index}\": every clone would "
                                "get the same name (write \"web-{index}\", say)");
        /* the longest index any clone can have */
        if (!hv_text_expand_index(o->name_pattern, UINT64_MAX, name, sizeof(name)))
            return hv_error_set(HV_E_INVAL, "name_pattern",
                                "hv_vm_clone: name_pattern gives names longer than %u bytes "
                                "(with 20 digits for {index}): use a shorter one",
                                HV_SPEC_MAX_NAME);
        if (check_clone_name(name, "name_pattern") < 0)
            return HV_E_INVAL;
    }
    for (size_t i = 0; o->identities && i < count; i++) {
        size_t len;

        snprintf(path, sizeof(path), "identities[%zu]", i);
        if (!o->identities[i])
            return hv_error_set(HV_E_INVAL, path,
                                "hv_vm_clone: %s is NULL: identities holds one text per clone "
                                "(count %zu)",
                                path, count);
        len = strlen(o->identities[i]);
        if (len > HV_VM_CLONE_IDENTITY_MAX_BYTES)
            return hv_error_set(HV_E_INVAL, path,
                                "hv_vm_clone: %s is %zu bytes, more than the %u a clone is given",
                                path, len, HV_VM_CLONE_IDENTITY_MAX_BYTES);
        if (!hv_utf8_valid(o->identities[i], len))
            return hv_error_set(HV_E_INVAL, path, "hv_vm_clone: %s is not UTF-8 text", path);
    }
    return 0;
}

int hv_vm_clone(hv_vm *parent, size_t count, const hv_vm_clone_options *opts, hv_vm **clones)
{
    hv_vm *vm = parent; /* VM_CHECK's name */
    hv_vm_clone_options full = HV_VM_CLONE_OPTIONS_INIT;
    void **data;
    int rc;

    HV_CHECK_ARG(clones, "clones");
    rc = hv_options_check(opts, HV_VM_CLONE_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    if (count == 0 || count > 1000000)
        return hv_error_set(HV_E_RANGE, "count",
                            "hv_vm_clone: count %zu: make 1 to 1000000 clones at a time", count);
    if (opts)
        memcpy(&full, opts, clone_options_size(opts->version));
    full.version = HV_VM_CLONE_OPTIONS_VERSION;
    opts = &full;
    if ((rc = check_clone_options(opts, count)) < 0)
        return rc;
    if (opts->mode < HV_VM_CLONE_INSTANT || opts->mode > HV_VM_CLONE_LINKED)
        return hv_error_set(HV_E_INVAL, "mode",
                            "hv_vm_clone: mode %d is not HV_VM_CLONE_INSTANT, _FULL, _COLD or "
                            "_LINKED",
                            opts->mode);
    if (opts->snapshot && opts->mode != HV_VM_CLONE_LINKED)
        return hv_error_set(HV_E_INVAL, "snapshot",
                            "hv_vm_clone: snapshot names the libvirt snapshot that linked clones "
                            "(HV_VM_CLONE_LINKED) are made from; the built-in engine's clones "
                            "start from the parent as it stands (a snapshot file: "
                            "hv_vm_resume_from() it, then clone that)");
    if (opts->snapshot && !*opts->snapshot)
        return hv_error_set(HV_E_INVAL, "snapshot",
                            "hv_vm_clone: snapshot is empty: name one of the parent's snapshots, "
                            "or leave it NULL to clone the parent as it is");
    memset(clones, 0, count * sizeof(*clones));
    VM_CHECK(vm_clone, "cloning VMs");
    data = hv_calloc(count, sizeof(*data));
    if (!data)
        return HV_E_NOMEM;
    rc = vm->conn->backend->vm_clone(vm->data, count, opts, data);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        clones[i] = new_vm(vm->conn, data[i]);
        data[i] = NULL;
        if (!clones[i]) {
            /* the rest are released here; those wrapped are freed below */
            for (size_t j = i + 1; j < count; j++)
                if (vm->conn->backend->vm_release)
                    vm->conn->backend->vm_release(data[j]);
            for (size_t j = 0; j < i; j++) {
                hv_vm_free(clones[j]);
                clones[j] = NULL;
            }
            rc = HV_E_NOMEM;
        }
    }
    free(data);
    return rc;
}

int hv_vm_clone_prepare(hv_vm *vm, size_t count)
{
    if (count > 100000)
        return hv_error_set(HV_E_RANGE, "count",
                            "hv_vm_clone_prepare: count %zu: prepare at most 100000", count);
    VM_CHECK(vm_clone_prepare, "preparing clones");
    return vm->conn->backend->vm_clone_prepare(vm->data, count);
}

int hv_vm_clone_identity(hv_vm *vm, uint64_t *clone_id, uint64_t *clone_index)
{
    HV_CHECK_ARG(clone_id, "clone_id");
    HV_CHECK_ARG(clone_index, "clone_index");
    *clone_id = *clone_index = 0;
    VM_CHECK(vm_clone_identity, "clone identities");
    return vm->conn->backend->vm_clone_identity(vm->data, clone_id, clone_index);
}

/*
 * kvm/driver.c - the built-in engine as a backend (kvm:///): the backend
 * table's operations mapped onto the engine's connection (conn.c), VMs
 * (vm.c), snapshots (snapshot.c) and clones (clone.c).
 */
#include "kvm/driver.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/text.h"
#include "kvm/clone.h"
#include "kvm/engine.h"
#include "kvm/linux.h"
#include "kvm/migrate-endpoint.h"
#include "kvm/migrate.h"
#include "kvm/snapshot.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- connections -------------------------------------------------------------- */

static int kvm_open(const char *uri, void **data)
{
    hv_kvm_conn *conn = NULL;
    char quoted[HV_QUOTE_SIZE];
    int rc;

    if (strcmp(uri, "kvm:///") != 0 && strcmp(uri, "kvm://") != 0 && strcmp(uri, "kvm:") != 0)
        return hv_error_set(HV_E_INVAL, "uri",
                            "'%s': the built-in engine's URI is kvm:/// (it has no hosts or "
                            "paths)",
                            hv_quote(quoted, sizeof(quoted), uri));
    rc = hv_kvm_conn_open(&conn);
    *data = conn;
    return rc;
}

static void kvm_close(void *data)
{
    hv_kvm_conn *conn = data;
    size_t n;
    /* the connection's list holds a reference on each VM it defined */
    hv_kvm_vm **vms = hv_kvm_conn_take_all(conn, &n);

    for (size_t i = 0; i < n; i++)
        hv_kvm_vm_unref(vms[i]);
    free(vms);
    /* VMs with handles still open keep the connection's memory alive */
    hv_kvm_conn_unref(conn);
}

static int kvm_host(void *data, hv_host **host)
{
    (void)data;
    return hv_host_discover(host, NULL);
}

static int kvm_list_vms(void *data, char ***names, size_t *count)
{
    return hv_kvm_conn_names(data, names, count);
}

/* ---- VMs ------------------------------------------------------------------------- */

static int kvm_vm_create(void *data, const hv_plan *plan, const hv_vm_create_options *opts,
                         void **out)
{
    hv_kvm_vm *vm = NULL;
    int rc = hv_kvm_vm_create(data, plan, opts, &vm);

    *out = vm;
    return rc;
}

static int kvm_vm_lookup(void *data, const char *name, void **out)
{
    hv_kvm_vm *vm = NULL;
    int rc = hv_kvm_conn_lookup(data, name, &vm);

    *out = vm;
    return rc;
}

static void kvm_vm_release(void *data)
{
    hv_kvm_vm_unref(data);
}

static const char *kvm_vm_name(void *data)
{
    return ((hv_kvm_vm *)data)->name;
}

static int kvm_vm_start(void *data)
{
    return hv_kvm_vm_start(data);
}

static int kvm_vm_pause(void *data)
{
    return hv_kvm_vm_pause(data);
}

static int kvm_vm_resume(void *data)
{
    return hv_kvm_vm_resume(data);
}

static int kvm_vm_destroy(void *data)
{
    return hv_kvm_vm_destroy(data);
}

/* There is no ACPI: the guest gets the timeout to end by itself, then it is powered off. */
static int kvm_vm_stop(void *data, unsigned int timeout_ms)
{
    int code = 0;
    int rc = hv_kvm_vm_wait(data, timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms, &code);

    if (rc == 0 || rc == HV_E_GUEST || rc == HV_E_STATE) {
        hv_error_clear();
        return hv_kvm_vm_destroy(data);
    }
    return rc == HV_E_TIMEOUT ? hv_kvm_vm_destroy(data) : rc;
}

static int kvm_vm_undefine(void *data)
{
    return hv_kvm_vm_remove(data);
}

static int kvm_vm_state(void *data, int *state)
{
    hv_kvm_vm *vm = data;

    pthread_mutex_lock(&vm->lock);
    *state = vm->state;
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

static int kvm_vm_wait(void *data, int timeout_ms, int *exit_code)
{
    return hv_kvm_vm_wait(data, timeout_ms, exit_code);
}

static int kvm_vm_exit_code(void *data, int *exit_code)
{
    hv_kvm_vm *vm = data;
    int state;

    pthread_mutex_lock(&vm->lock);
    state = vm->state;
    *exit_code = vm->exit_code;
    pthread_mutex_unlock(&vm->lock);
    if (state == HV_VM_STATE_CRASHED)
        return hv_error_set(HV_E_GUEST, NULL, "%s did not exit, it crashed: %s", vm->name,
                            vm->failure);
    if (state != HV_VM_STATE_EXITED)
        return hv_error_set(HV_E_STATE, NULL, "%s has not exited (it is %s)", vm->name,
                            hv_vm_state_name(state));
    return 0;
}

static int kvm_vm_console_read(void *data, char *buf, size_t size, size_t *length)
{
    size_t kept = hv_kvm_vm_console_tail(data, buf, size);

    if (length)
        *length = kept;
    return 0;
}

static int kvm_vm_stat(void *data, int stat, uint64_t *value)
{
    hv_kvm_vm *vm = data;
    uint64_t sum = 0;

    pthread_mutex_lock(&vm->lock);
    switch (stat) {
    case HV_VM_STAT_GUEST_NS:
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            sum += __atomic_load_n(&vm->vcpus[i].guest_ns, __ATOMIC_RELAXED);
        break;
    case HV_VM_STAT_WALL_NS:
        sum = !vm->started_ns ? 0
              : vm->ended_ns  ? vm->ended_ns - vm->started_ns
                              : hv_clock_monotonic_ns() - vm->started_ns;
        break;
    case HV_VM_STAT_CONSOLE_BYTES:
        sum = vm->console_total;
        break;
    case HV_VM_STAT_PROGRESS:
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            sum += vm->vcpus[i].marker_count;
        break;
    default: /* the exit counters */
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            sum += __atomic_load_n(&vm->vcpus[i].exits[stat], __ATOMIC_RELAXED);
        break;
    }
    pthread_mutex_unlock(&vm->lock);
    *value = sum;
    return 0;
}

static int kvm_vm_progress(void *data, unsigned int vcpu, uint32_t *marker, uint64_t *count)
{
    hv_kvm_vm *vm = data;

    if (vcpu >= vm->nvcpus)
        return hv_error_set(HV_E_RANGE, "vcpu", "%s has %u vCPUs (0..%u), not vCPU %u", vm->name,
                            vm->nvcpus, vm->nvcpus - 1, vcpu);
    pthread_mutex_lock(&vm->lock);
    *marker = vm->vcpus[vcpu].last_marker;
    *count = vm->vcpus[vcpu].marker_count;
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

static int kvm_vm_memory_node_count(void *data, size_t *count)
{
    *count = ((hv_kvm_vm *)data)->nram;
    return 0;
}

static int kvm_vm_memory_info(void *data, size_t node, hv_vm_memory_info *info)
{
    hv_kvm_vm *vm = data;

    if (node >= vm->nram)
        return hv_error_set(HV_E_RANGE, "node", "%s has %zu vNUMA nodes (0..%zu), not node %zu",
                            vm->name, vm->nram, vm->nram - 1, node);
    return hv_kvm_ram_info(&vm->ram[node], info);
}

static int kvm_vm_channel_send(void *data, const void *bytes, size_t length, size_t *sent)
{
    hv_kvm_vm *vm = data;
    size_t taken = 0;

    if (!vm->linux_guest)
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "%s runs a guest payload, which has no channel: a Linux guest's is "
                            "its /dev/hvc0 (docs/linux-guest.md)",
                            vm->name);
    hv_kvm_linux_channel_send(vm->linux_guest, bytes, length, &taken);
    if (sent)
        *sent = taken;
    return 0;
}

/* ---- migration ----------------------------------------------------------------------- */

/* What a Linux guest cannot do yet: migrate (its platform and devices are not in the stream). */
static int refuse_linux_guest(const hv_kvm_vm *vm, const char *what)
{
    if (!vm->linux_guest)
        return 0;
    return hv_error_set(HV_E_UNSUPPORTED, NULL,
                        "%s is a Linux guest: the built-in engine cannot %s one yet (the state of "
                        "its interrupt controllers, clock and devices is not in the migration "
                        "stream yet); suspend and resume it, or clone it",
                        vm->name, what);
}

static int kvm_vm_migrate(void *data, const char *dest, const hv_migrate_options *opts)
{
    hv_kvm_migrate_params p = {
        .key = opts->key,
        .key_bytes = opts->key_bytes,
        .max_downtime_ms = opts->max_downtime_ms,
        .max_rounds = opts->max_rounds,
        .fail_unconverged = (opts->flags & HV_MIGRATE_FAIL_UNCONVERGED) != 0,
        .throttle = (opts->flags & HV_MIGRATE_THROTTLE) != 0,
        .progress = opts->progress,
        .progress_data = opts->progress_data,
        .timeout_ms = (int)(opts->timeout_ms > INT32_MAX ? INT32_MAX : opts->timeout_ms),
    };
    hv_kvm_migrate_stats stats;
    bool owned = false;
    int fd = -1, rc;

    if ((rc = refuse_linux_guest(data, "migrate")) < 0)
        return rc;
    if (opts->flags & HV_MIGRATE_OFFLINE)
        return hv_error_set(HV_E_UNSUPPORTED, "flags",
                            "the built-in engine has no definitions to move offline: its VMs "
                            "live in the process; migrate a running or paused VM live");
    if (opts->bandwidth_mib_per_s > UINT64_MAX / (1024 * 1024))
        return hv_error_set(HV_E_RANGE, "bandwidth_mib_per_s",
                            "a bandwidth of %" PRIu64 " MiB/s does not fit in bytes: give a "
                            "real limit, or 0 for none",
                            opts->bandwidth_mib_per_s);
    p.bandwidth_bytes_per_s = opts->bandwidth_mib_per_s * 1024 * 1024;
    if ((rc = hv_kvm_migrate_endpoint(dest, false, hv_kvm_migrate_timeout_ms(&p), &fd, &owned)) < 0)
        return rc;
    rc = hv_kvm_vm_migrate_out(data, fd, &p, &stats);
    if (owned)
        close(fd);
    if (rc == 0 && opts->stats) {
        opts->stats->total_ns = stats.total_ns;
        opts->stats->downtime_ns = stats.downtime_ns;
        opts->stats->bytes_sent = stats.bytes_sent;
        opts->stats->pages_sent = stats.pages_sent;
        opts->stats->zero_pages = stats.zero_pages;
        opts->stats->rounds = stats.rounds;
    }
    return rc;
}

static int kvm_vm_migrate_incoming(void *conn_data, const char *source,
                                   const hv_migrate_incoming_options *opts, void **out)
{
    hv_kvm_migrate_params p = {
        .key = opts->key,
        .key_bytes = opts->key_bytes,
        .timeout_ms = (int)(opts->timeout_ms > INT32_MAX ? INT32_MAX : opts->timeout_ms),
        .host_nodes = opts->host_nodes,
        .host_node_count = opts->host_node_count,
        .host = opts->host,
    };
    hv_kvm_resume_params rp = {
        .name = opts->name,
        .paused = (opts->flags & HV_MIGRATE_INCOMING_PAUSED) != 0,
        .console = opts->console,
        .console_data = opts->console_data,
        .progress = opts->progress,
        .progress_data = opts->progress_data,
    };
    hv_kvm_vm *vm = NULL;
    bool owned = false;
    int fd = -1, rc;

    *out = NULL;
    if ((rc = hv_kvm_migrate_endpoint(source, true, hv_kvm_migrate_timeout_ms(&p), &fd, &owned)) <
        0)
        return rc;
    rc = hv_kvm_vm_migrate_in(conn_data, fd, &p, &rp, &vm);
    if (owned)
        close(fd);
    *out = vm;
    return rc;
}

/* ---- snapshots and clones ---------------------------------------------------------- */

static int kvm_vm_suspend(void *data, const char *path, unsigned int flags)
{
    return hv_kvm_vm_suspend(data, path, flags);
}

static int kvm_vm_restore(void *conn_data, const char *path, const hv_vm_resume_options *opts,
                          void **out)
{
    hv_kvm_resume_params p = {
        .name = opts->name,
        .paused = (opts->flags & HV_VM_RESUME_PAUSED) != 0,
        .eager = (opts->flags & HV_VM_RESUME_EAGER) != 0,
        .console = opts->console,
        .console_data = opts->console_data,
        .progress = opts->progress,
        .progress_data = opts->progress_data,
        .channel = opts->channel,
        .channel_data = opts->channel_data,
    };
    hv_kvm_vm *vm = NULL;
    int rc = hv_kvm_vm_resume_from(conn_data, path, &p, &vm);

    *out = vm;
    return rc;
}

static int kvm_vm_clone(void *data, size_t count, const hv_vm_clone_options *opts, void **out)
{
    hv_kvm_clone_params p = {
        .mode = opts->mode,
        .paused = (opts->flags & HV_VM_CLONE_PAUSED) != 0,
        .threads = opts->threads,
        .console = opts->console,
        .console_data = opts->console_data,
        .progress = opts->progress,
        .progress_data = opts->progress_data,
        .names = opts->names,
        .name_pattern = opts->name_pattern,
        .identities = opts->identities,
        .channel = opts->channel,
        .channel_data = opts->channel_data,
    };

    if (opts->mode == HV_VM_CLONE_COLD && opts->identities)
        return hv_error_set(HV_E_INVAL, "identities",
                            "cold clones boot the payload afresh, as new VMs: identities are "
                            "written into instant and full clones");
    if (opts->mode == HV_VM_CLONE_LINKED)
        return hv_error_set(HV_E_UNSUPPORTED, "mode",
                            "linked clones (qcow2 overlays on the parent's disks) are made by the "
                            "libvirt backend: the built-in engine makes instant, full and cold "
                            "clones");
    return hv_kvm_clone(data, count, &p, (hv_kvm_vm **)out);
}

static int kvm_vm_clone_prepare(void *data, size_t count)
{
    return hv_kvm_clone_prepare(data, count);
}

static int kvm_vm_clone_identity(void *data, uint64_t *clone_id, uint64_t *clone_index)
{
    hv_kvm_vm *vm = data;

    *clone_id = vm->clone_id;
    *clone_index = vm->clone_index;
    return 0;
}

const hv_backend hv_kvm_backend = {
    .version = HV_BACKEND_VERSION,
    .name = "kvm",
    .scheme = "kvm",
    .open = kvm_open,
    .close = kvm_close,
    .host = kvm_host,
    .list_vms = kvm_list_vms,
    .vm_create = kvm_vm_create,
    .vm_lookup = kvm_vm_lookup,
    .vm_release = kvm_vm_release,
    .vm_name = kvm_vm_name,
    .vm_start = kvm_vm_start,
    .vm_pause = kvm_vm_pause,
    .vm_resume = kvm_vm_resume,
    .vm_stop = kvm_vm_stop,
    .vm_destroy = kvm_vm_destroy,
    .vm_undefine = kvm_vm_undefine,
    .vm_state = kvm_vm_state,
    .vm_wait = kvm_vm_wait,
    .vm_exit_code = kvm_vm_exit_code,
    .vm_console_read = kvm_vm_console_read,
    .vm_stat = kvm_vm_stat,
    .vm_progress = kvm_vm_progress,
    .vm_memory_node_count = kvm_vm_memory_node_count,
    .vm_memory_info = kvm_vm_memory_info,
    .vm_suspend = kvm_vm_suspend,
    .vm_restore = kvm_vm_restore,
    .vm_clone = kvm_vm_clone,
    .vm_clone_prepare = kvm_vm_clone_prepare,
    .vm_clone_identity = kvm_vm_clone_identity,
    .vm_migrate = kvm_vm_migrate,
    .vm_migrate_incoming = kvm_vm_migrate_incoming,
    .vm_channel_send = kvm_vm_channel_send,
};

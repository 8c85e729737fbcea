/*
 * kvm/snapshot.c - suspend and resume for the built-in engine: what goes
 * into a snapshot's sections (docs/snapshot-format.md, "Section contents")
 * and how a VM is rebuilt from them - in this process or another - with its
 * memory mapped copy-on-write straight from the file (lazy) or read and
 * checked up front (eager).
 */
#include "kvm/snapshot.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "core/json.h"
#include "core/log.h"
#include "core/text.h"
#include "kvm/snapshot-file.h"
#include "kvm/vcpu-state.h"
#include "plan/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define META_FORMAT  "hpcvirt-kvm-vm"
#define META_VERSION 1
/* version 2: the "linux" object (a Linux guest); a payload's meta stays version 1 */
#define META_VERSION_LINUX 2

/* ---- suspend ------------------------------------------------------------------------ */

/* A Linux guest's boot source, topology, distances and disks (NULL when out of memory). */
static json_object *linux_json(const hv_kvm_linux *l)
{
    hv_kvm_linux_source src;
    json_object *root = json_object_new_object(), *distances = json_object_new_array(),
                *disks = json_object_new_array();
    int rc = 0;

    hv_kvm_linux_source_of(l, &src);
    if (!root || !distances || !disks) {
        json_object_put(root);
        json_object_put(distances);
        json_object_put(disks);
        return NULL;
    }
    rc |= hv_json_add_string(root, "kernel", src.kernel);
    rc |= hv_json_add_string(root, "initrd", src.initrd ? src.initrd : "");
    rc |= src.cmdline ? hv_json_add_string(root, "cmdline", src.cmdline) : 0;
    rc |= hv_json_add_int(root, "threads_per_core", src.topology.threads_per_core);
    rc |= hv_json_add_int(root, "cores_per_socket", src.topology.cores_per_socket);
    for (size_t i = 0; i < src.node_count * src.node_count; i++)
        rc |= json_object_array_add(distances, json_object_new_int(src.distances[i])) < 0 ? -1 : 0;
    rc |= hv_json_add(root, "distances", distances);
    for (size_t i = 0; i < src.disk_count; i++) {
        json_object *disk = json_object_new_object();

        if (!disk) {
            rc = -1;
            break;
        }
        rc |= hv_json_add_string(disk, "path", src.disks[i].path);
        rc |= hv_json_add_bool(disk, "read_only", src.disks[i].read_only);
        rc |= hv_json_add_string(disk, "serial", src.disks[i].serial);
        rc |= hv_json_add_u64(disk, "bytes", src.disk_bytes[i]);
        rc |= json_object_array_add(disks, disk) < 0 ? -1 : 0;
    }
    rc |= hv_json_add(root, "disks", disks);
    if (rc < 0) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* `console_total` read under the VM's lock by the caller: a VM being migrated runs. */
static json_object *meta_json(const hv_kvm_vm *vm, bool was_running, uint64_t console_total)
{
    json_object *root = json_object_new_object(), *nodes = json_object_new_array(),
                *affinity = json_object_new_array(), *image = json_object_new_object();
    int rc = 0;

    if (!root || !nodes || !affinity || !image) {
        json_object_put(root);
        json_object_put(nodes);
        json_object_put(affinity);
        json_object_put(image);
        return NULL;
    }
    rc |= hv_json_add_string(root, "format", META_FORMAT);
    rc |= hv_json_add_int(root, "version", vm->linux_guest ? META_VERSION_LINUX : META_VERSION);
    if (vm->linux_guest)
        rc |= hv_json_add(root, "linux", linux_json(vm->linux_guest));
    rc |= hv_json_add_string(root, "name", vm->name);
    rc |= hv_json_add_string(root, "state", was_running ? "running" : "paused");
    rc |= hv_json_add_int(root, "vcpus", vm->nvcpus);
    for (size_t i = 0; i < vm->layout.node_count; i++) {
        const hv_kvm_node_layout *n = &vm->layout.nodes[i];
        json_object *node = json_object_new_object();

        rc |= node ? 0 : -1;
        if (!node)
            break;
        rc |= hv_json_add_u64(node, "bytes", n->bytes);
        rc |= hv_json_add_u64(node, "page_bytes", n->page_bytes);
        rc |= hv_json_add_int(node, "host_node", n->host_node);
        rc |= hv_json_add_int(node, "vcpus", n->vcpu_count);
        rc |= json_object_array_add(nodes, node) < 0 ? -1 : 0;
    }
    rc |= hv_json_add(root, "nodes", nodes);
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        char *text = hv_cpuset_format(&vm->vcpus[i].affinity);

        rc |= text ? 0 : -1;
        if (text)
            rc |= json_object_array_add(affinity, json_object_new_string(text)) < 0 ? -1 : 0;
        free(text);
    }
    rc |= hv_json_add(root, "affinity", affinity);
    rc |= hv_json_add_u64(image, "base", vm->image.base);
    rc |= hv_json_add_u64(image, "end", vm->image.end);
    rc |= hv_json_add_u64(image, "entry", vm->image.entry);
    rc |= hv_json_add(root, "image", image);
    rc |= hv_json_add_string(root, "payload_path", vm->payload_path);
    rc |= hv_json_add_u64(root, "clone_id", vm->clone_id);
    rc |= hv_json_add_u64(root, "clone_index", vm->clone_index);
    rc |= hv_json_add_u64(root, "generation", vm->generation);
    rc |= hv_json_add_u64(root, "console_total", console_total);
    if (rc < 0) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

int hv_kvm_vm_meta_text(hv_kvm_vm *vm, bool was_running, char **out)
{
    uint64_t console_total;

    pthread_mutex_lock(&vm->lock);
    console_total = vm->console_total;
    pthread_mutex_unlock(&vm->lock);
    return hv_json_emit(meta_json(vm, was_running, console_total), HV_JSON_PRETTY, out);
}

char *hv_kvm_vm_console_bytes(hv_kvm_vm *vm, size_t *len)
{
    char *out;
    size_t start;

    pthread_mutex_lock(&vm->lock);
    *len = vm->console ? vm->console_kept : 0;
    out = hv_reallocarray(NULL, *len ? *len : 1, 1);
    start = (vm->console_head + HV_KVM_CONSOLE_BYTES - *len) % HV_KVM_CONSOLE_BYTES;
    for (size_t i = 0; out && i < *len; i++)
        out[i] = vm->console[(start + i) % HV_KVM_CONSOLE_BYTES];
    pthread_mutex_unlock(&vm->lock);
    return out;
}

/* hv_snap_next_data_fn over a node's RAM: its memfd's holes are never read (memory.c). */
static void ram_next_data(void *ram, uint64_t offset, uint64_t *start, uint64_t *end)
{
    hv_kvm_ram_next_data(ram, offset, start, end);
}

/* `linux_state`: a Linux guest's platform and devices records; NULL for a payload. */
static int write_snapshot(hv_kvm_vm *vm, const char *path, const hv_kvm_vcpu_state *states,
                          const hv_kvm_linux_state *linux_state, bool was_running)
{
    hv_snap_writer *w = NULL;
    char *meta = NULL, *console = NULL;
    size_t console_len = 0;
    int rc;

    if ((rc = hv_snap_writer_open(path, &w)) < 0)
        return rc;
    if ((rc = hv_kvm_vm_meta_text(vm, was_running, &meta)) < 0 ||
        (rc = hv_snap_writer_add(w, HV_SNAP_META, 0, meta, strlen(meta))) < 0)
        goto out;
    if (vm->plan_json &&
        (rc = hv_snap_writer_add(w, HV_SNAP_PLAN, 0, vm->plan_json, strlen(vm->plan_json))) < 0)
        goto out;
    /* a Linux guest has none: an empty section (its kernel is in its memory) */
    if ((rc = hv_snap_writer_add(w, HV_SNAP_PAYLOAD, 0, vm->payload ? (void *)vm->payload : "",
                                 vm->payload_bytes)) < 0)
        goto out;
    if (linux_state && ((rc = hv_snap_writer_add(w, HV_SNAP_PLATFORM, 0, linux_state->platform,
                                                 linux_state->platform_bytes)) < 0 ||
                        (rc = hv_snap_writer_add(w, HV_SNAP_DEVICES, 0, linux_state->devices,
                                                 linux_state->devices_bytes)) < 0))
        goto out;
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        uint8_t *record = NULL;
        size_t bytes = 0;

        if ((rc = hv_kvm_vcpu_state_encode(&states[i], i, &record, &bytes)) < 0)
            goto out;
        rc = hv_snap_writer_add(w, HV_SNAP_VCPU, i, record, bytes);
        free(record);
        if (rc < 0)
            goto out;
    }
    if (!(console = hv_kvm_vm_console_bytes(vm, &console_len))) {
        rc = HV_E_NOMEM;
        goto out;
    }
    if ((rc = hv_snap_writer_add(w, HV_SNAP_CONSOLE, 0, console, console_len)) < 0)
        goto out;
    for (size_t i = 0; i < vm->nram; i++)
        if ((rc = hv_kvm_ram_prepare_access(&vm->ram[i], 0, vm->ram[i].bytes, false,
                                            "the memory to write")) < 0 ||
            (rc = hv_snap_writer_add_memory_sparse(w, (uint32_t)i, vm->ram[i].host,
                                                   vm->ram[i].bytes, ram_next_data, &vm->ram[i])) <
                0)
            goto out;
    rc = hv_snap_writer_commit(w);
    w = NULL;
out:
    hv_snap_writer_abort(w);
    hv_free(meta);
    free(console);
    return rc;
}

int hv_kvm_vm_suspend(hv_kvm_vm *vm, const char *path, unsigned int flags)
{
    hv_kvm_vcpu_state *states;
    hv_kvm_linux_state linux_state;
    bool was_running;
    int rc, state;

    memset(&linux_state, 0, sizeof(linux_state));
    pthread_mutex_lock(&vm->lock);
    state = vm->state;
    pthread_mutex_unlock(&vm->lock);
    if (state != HV_VM_STATE_RUNNING && state != HV_VM_STATE_PAUSED)
        return hv_error_set(HV_E_STATE, NULL,
                            "%s is %s: only a running or paused VM can be suspended", vm->name,
                            hv_vm_state_name(state));
    was_running = state == HV_VM_STATE_RUNNING;
    if (was_running && (rc = hv_kvm_vm_pause(vm)) < 0)
        return rc;
    states = hv_calloc(vm->nvcpus, sizeof(*states));
    if (!states)
        rc = HV_E_NOMEM;
    else if ((rc = hv_kvm_vm_capture(vm, states)) == 0 &&
             (!vm->linux_guest || (rc = hv_kvm_linux_state_capture(vm, &linux_state)) == 0))
        rc = write_snapshot(vm, path, states, vm->linux_guest ? &linux_state : NULL, was_running);
    free(states);
    hv_kvm_linux_state_clear(&linux_state);
    if (rc < 0) {
        /* nothing was replaced: the VM goes on as it was */
        char message[1024];

        hv_format(message, sizeof(message), "%s", hv_error_message(hv_error_last()));
        if (was_running)
            hv_kvm_vm_resume(vm);
        return hv_error_set(rc, path, "%s", message);
    }
    if (flags & HV_VM_SUSPEND_KEEP_RUNNING)
        return was_running ? hv_kvm_vm_resume(vm) : 0;
    return hv_kvm_vm_destroy(vm);
}

/* ---- resume ------------------------------------------------------------------------- */

/* Room to quote a snapshot's path in a message whole (hv_quote()), unless it is huge. */
#define PATH_QUOTE_SIZE 512

/* A copy of the thread's error message: hv_error_set() rewrites the message it would read. */
static const char *last_message(char *buf, size_t size)
{
    hv_format(buf, size, "%s", hv_error_message(hv_error_last()));
    return buf;
}

/* The meta section is not what the engine writes; `detail` says how. */
static int bad_meta(const char *path, const char *what, const char *detail)
{
    char copy[1024]; /* `detail` may be the thread's own error message */

    hv_format(copy, sizeof(copy), "%s", detail);
    return hv_error_set(HV_E_SNAPSHOT, path,
                        "%s: section meta: %s: the snapshot is corrupted or was not written by "
                        "hpcvirt's built-in engine",
                        what, copy);
}

/* The plan section: strict JSON, from its exact bytes (a NUL among them is an error). */
static int read_plan(const hv_snap_reader *r, const char *path, const char *what, char **out)
{
    const void *data = NULL;
    uint64_t bytes = 0;
    char reason[1024];
    int rc;

    *out = NULL;
    if (hv_snap_section_count(r, HV_SNAP_PLAN) == 0)
        return 0;
    if ((rc = hv_snap_section(r, HV_SNAP_PLAN, 0, &data, &bytes)) < 0)
        return rc;
    if (hv_json_scan(data, (size_t)bytes, "the snapshot's plan section", NULL) < 0)
        return hv_error_set(HV_E_SNAPSHOT, path,
                            "%s: section plan: %s: the snapshot is corrupted or was not written "
                            "by hpcvirt",
                            what, last_message(reason, sizeof(reason)));
    /* its bytes as they are (they hold no NUL): strndup() would look past them for one */
    if (!(*out = hv_reallocarray(NULL, (size_t)bytes + 1, 1)))
        return HV_E_NOMEM;
    memcpy(*out, data, (size_t)bytes);
    (*out)[bytes] = '\0';
    return 0;
}

int hv_kvm_snapshot_read_meta(const hv_snap_reader *r, const char *path, hv_kvm_snapshot_meta *m)
{
    const void *data = NULL;
    uint64_t bytes = 0;
    char what[PATH_QUOTE_SIZE];
    int rc;

    memset(m, 0, sizeof(*m));
    hv_quote(what, sizeof(what), path);
    if ((rc = hv_snap_section(r, HV_SNAP_META, 0, &data, &bytes)) < 0 ||
        (rc = hv_kvm_snapshot_meta_parse(data, (size_t)bytes, path, m)) < 0)
        return rc;
    return read_plan(r, path, what, &m->plan_json);
}

/* A path the meta gives: absolute, and short enough for a spec. */
static int read_path(json_object *obj, const char *key, const char *where, bool required,
                     const char **out)
{
    int rc = hv_json_read_string(obj, key, where, required, HV_E_PARSE, out);

    if (rc < 0)
        return rc;
    if (!*out || (!required && !**out))
        return 0;
    if ((*out)[0] != '/' || strlen(*out) > HV_SPEC_MAX_DISK_PATH)
        return hv_error_set(HV_E_PARSE, where, "%s.%s is not an absolute path of at most %u bytes",
                            where, key, HV_SPEC_MAX_DISK_PATH);
    return 0;
}

/* The "linux" object of a version 2 meta: the guest's boot source, topology, distances and
 * disks (docs/snapshot-format.md). */
static int parse_linux(hv_kvm_snapshot_meta *m, const char *path, const char *what)
{
    hv_kvm_linux_source *src = &m->linux_source;
    json_object *obj, *distances, *disks;
    const char *initrd = NULL;
    int threads = 0, cores = 0;
    size_t n = m->node_count;

#define READ(call)                                                                                 \
    do {                                                                                           \
        if ((call) < 0)                                                                            \
            return bad_meta(path, what, hv_error_message(hv_error_last()));                        \
    } while (0)
    READ(hv_json_read_object(m->root, "linux", "", true, HV_E_PARSE, &obj));
    m->is_linux = true;
    READ(read_path(obj, "kernel", "linux", true, &src->kernel));
    READ(read_path(obj, "initrd", "linux", false, &initrd));
    src->initrd = initrd && *initrd ? initrd : NULL;
    READ(hv_json_read_string(obj, "cmdline", "linux", false, HV_E_PARSE, &src->cmdline));
    if (src->cmdline && strlen(src->cmdline) > HV_SPEC_MAX_CMDLINE)
        return bad_meta(path, what, "linux.cmdline is longer than a spec allows");
    READ(hv_json_read_int(obj, "threads_per_core", "linux", true, HV_E_PARSE, 1, HV_KVM_MAX_VCPUS,
                          &threads));
    READ(hv_json_read_int(obj, "cores_per_socket", "linux", true, HV_E_PARSE, 1, HV_KVM_MAX_VCPUS,
                          &cores));
    src->topology.threads_per_core = (uint32_t)threads;
    src->topology.cores_per_socket = (uint32_t)cores;
    READ(hv_json_read_array(obj, "distances", "linux", true, HV_E_PARSE, &distances));
    if (json_object_array_length(distances) != n * n)
        return bad_meta(path, what, "linux.distances does not have one entry per pair of nodes");
    if (!(m->linux_distances = hv_reallocarray(NULL, n * n, sizeof(int))))
        return hv_error_nomem();
    for (size_t i = 0; i < n * n; i++) {
        json_object *d = json_object_array_get_idx(distances, i);
        int64_t v = json_object_is_type(d, json_type_int) ? json_object_get_int64(d) : -1;

        /* ACPI's SLIT: 10 local, up to 254, 255 unreachable */
        if (v < 10 || v > 255 || (i / n == i % n && v != 10))
            return bad_meta(path, what,
                            "linux.distances holds a value that is not a node distance (10 on "
                            "the diagonal, 10 .. 255 elsewhere)");
        m->linux_distances[i] = (int)v;
    }
    src->node_count = n;
    src->distances = m->linux_distances;
    READ(hv_json_read_array(obj, "disks", "linux", true, HV_E_PARSE, &disks));
    if (json_object_array_length(disks) > HV_KVM_MAX_DISKS)
        return bad_meta(path, what, "linux.disks lists more disks than a guest has");
    for (size_t i = 0; i < json_object_array_length(disks); i++) {
        json_object *disk = json_object_array_get_idx(disks, i);
        hv_spec_disk *d = &m->linux_disks[i];
        const char *text = NULL, *serial = NULL;
        char where[32];

        hv_format(where, sizeof(where), "linux.disks[%zu]", i);
        if (!json_object_is_type(disk, json_type_object))
            return bad_meta(path, what, "a disk of linux.disks is not an object");
        READ(read_path(disk, "path", where, true, &text));
        READ(hv_json_read_bool(disk, "read_only", where, true, HV_E_PARSE, &d->read_only));
        READ(hv_json_read_string(disk, "serial", where, true, HV_E_PARSE, &serial));
        READ(hv_json_read_u64(disk, "bytes", where, true, HV_E_PARSE, UINT64_MAX,
                              &m->linux_disk_bytes[i]));
        if (strlen(serial) > HV_SPEC_MAX_DISK_SERIAL)
            return bad_meta(path, what, "a disk's serial is longer than a spec allows");
        hv_format(d->path, sizeof(d->path), "%s", text);
        hv_format(d->serial, sizeof(d->serial), "%s", serial);
        d->format = HV_DISK_FORMAT_RAW;
        d->bus = HV_DISK_BUS_VIRTIO;
    }
    src->disk_count = json_object_array_length(disks);
    src->disks = m->linux_disks;
    src->disk_bytes = m->linux_disk_bytes;
#undef READ
    return 0;
}

int hv_kvm_snapshot_meta_parse(const void *data, size_t bytes, const char *path,
                               hv_kvm_snapshot_meta *m)
{
    json_object *nodes;
    const char *format = NULL, *payload_path = NULL;
    int64_t version = 0;
    size_t node_count;
    char what[PATH_QUOTE_SIZE], reason[1024];
    int rc;

    memset(m, 0, sizeof(*m));
    hv_quote(what, sizeof(what), path);
    /* the section's exact bytes: a NUL among them is an error, not the end of the text */
    rc = hv_json_parse_bounded(data, (size_t)bytes, "the snapshot's meta section", NULL, &m->root);
    if (rc < 0)
        return hv_error_set(HV_E_SNAPSHOT, path, "%s: section meta: %s", what,
                            last_message(reason, sizeof(reason)));
#define READ(call)                                                                                 \
    do {                                                                                           \
        if ((call) < 0)                                                                            \
            return bad_meta(path, what, hv_error_message(hv_error_last()));                        \
    } while (0)
    READ(hv_json_read_string(m->root, "format", "", true, HV_E_PARSE, &format));
    if (strcmp(format, META_FORMAT) != 0)
        return bad_meta(path, what, "its format is not \"" META_FORMAT "\"");
    READ(hv_json_read_i64(m->root, "version", "", true, HV_E_PARSE, 1, 1000000, &version));
    if (version != META_VERSION && version != META_VERSION_LINUX)
        return hv_error_set(HV_E_SNAPSHOT, path,
                            "%s: section meta has version %" PRId64
                            "; this hpcvirt reads versions %d and %d: use a newer hpcvirt",
                            what, version, META_VERSION, META_VERSION_LINUX);
    READ(hv_json_read_string(m->root, "name", "", true, HV_E_PARSE, &m->name));
    /* the name a spec could have given it, and nothing else */
    READ(hv_spec_check_name(m->name, "name"));
    READ(hv_json_read_string(m->root, "payload_path", "", true, HV_E_PARSE, &payload_path));
    if (!(m->payload_path = hv_text_printable_dup(payload_path)))
        return hv_error_nomem();
    READ(hv_json_read_int(m->root, "vcpus", "", true, HV_E_PARSE, 1, HV_KVM_MAX_VCPUS, &m->vcpus));
    READ(hv_json_read_array(m->root, "nodes", "", true, HV_E_PARSE, &nodes));
    READ(hv_json_read_array(m->root, "affinity", "", true, HV_E_PARSE, &m->affinity));
    READ(hv_json_read_u64(m->root, "clone_id", "", true, HV_E_PARSE, UINT64_MAX, &m->clone_id));
    READ(hv_json_read_u64(m->root, "clone_index", "", true, HV_E_PARSE, UINT64_MAX,
                          &m->clone_index));
    READ(hv_json_read_u64(m->root, "generation", "", true, HV_E_PARSE, UINT64_MAX, &m->generation));
    {
        json_object *image;

        READ(hv_json_read_object(m->root, "image", "", true, HV_E_PARSE, &image));
        READ(
            hv_json_read_u64(image, "base", "image", true, HV_E_PARSE, UINT64_MAX, &m->image_base));
        READ(hv_json_read_u64(image, "end", "image", true, HV_E_PARSE, UINT64_MAX, &m->image_end));
        READ(hv_json_read_u64(image, "entry", "image", true, HV_E_PARSE, UINT64_MAX, &m->entry));
    }
    node_count = json_object_array_length(nodes);
    if (node_count == 0 || node_count > HV_KVM_MAX_NODES)
        return bad_meta(path, what, "it lists no vNUMA nodes, or more than the engine runs");
    m->node_count = node_count;
    if (json_object_array_length(m->affinity) != (size_t)m->vcpus)
        return bad_meta(path, what, "its affinity list does not have one entry per vCPU");
    for (size_t i = 0; i < m->node_count; i++) {
        json_object *node = json_object_array_get_idx(nodes, i);
        char npath[32];
        int vcpus = 0;

        hv_format(npath, sizeof(npath), "nodes[%zu]", i);
        if (!json_object_is_type(node, json_type_object))
            return bad_meta(path, what, "a vNUMA node is not an object");
        READ(hv_json_read_u64(node, "bytes", npath, true, HV_E_PARSE, UINT64_MAX,
                              &m->nodes[i].bytes));
        READ(hv_json_read_u64(node, "page_bytes", npath, true, HV_E_PARSE, UINT64_C(1) << 30,
                              &m->nodes[i].page_bytes));
        READ(hv_json_read_int(node, "host_node", npath, true, HV_E_PARSE, -1, 1023,
                              &m->nodes[i].host_node));
        READ(hv_json_read_int(node, "vcpus", npath, true, HV_E_PARSE, 1, HV_KVM_MAX_VCPUS, &vcpus));
        m->nodes[i].vcpu_count = (uint32_t)vcpus;
    }
#undef READ
    if (version == META_VERSION_LINUX)
        return parse_linux(m, path, what);
    return 0;
}

void hv_kvm_snapshot_meta_clear(hv_kvm_snapshot_meta *m)
{
    json_object_put(m->root);
    free(m->payload_path);
    free(m->plan_json);
    free(m->linux_distances);
    memset(m, 0, sizeof(*m));
}

static int parse_affinity(const hv_kvm_snapshot_meta *m, hv_cpuset *sets)
{
    for (int i = 0; i < m->vcpus; i++) {
        json_object *item = json_object_array_get_idx(m->affinity, (size_t)i);
        const char *text =
            json_object_is_type(item, json_type_string) ? json_object_get_string(item) : NULL;
        char reason[1024];

        if (!text)
            return hv_error_set(HV_E_SNAPSHOT, NULL, "section meta: affinity[%d] is not a string",
                                i);
        if (*text && hv_cpuset_parse(&sets[i], text, "affinity") < 0)
            return hv_error_set(HV_E_SNAPSHOT, NULL, "section meta: affinity[%d]: %s", i,
                                last_message(reason, sizeof(reason)));
    }
    return 0;
}

/*
 * Guest memory from the file: a copy-on-write view (lazy) or read and checked
 * (eager). A view of the file is backed by 4 KiB pages, so a plan that asks
 * for hugetlb pages is restored eagerly, into fresh hugetlb memory, and the
 * log says so.
 */
static int restore_memory(hv_kvm_vm *vm, const hv_snap_reader *r, const char *path,
                          const char *what, bool eager)
{
    for (size_t i = 0; !eager && i < vm->nram; i++) {
        if (vm->ram[i].planned_page_bytes > 4096) {
            hv_log_info("kvm",
                        "%s: %s: the plan asks for %" PRIu64
                        "-byte hugetlb pages: its memory is read now (eager), not mapped "
                        "from the file",
                        vm->name, what, vm->ram[i].planned_page_bytes);
            eager = true;
        }
    }
    if (hv_snap_section_count(r, HV_SNAP_MEMORY) != vm->nram)
        return hv_error_set(HV_E_SNAPSHOT, path,
                            "%s: %zu memory sections for %zu vNUMA nodes: the snapshot is "
                            "corrupted",
                            what, hv_snap_section_count(r, HV_SNAP_MEMORY), vm->nram);
    for (size_t i = 0; i < vm->nram; i++) {
        hv_kvm_ram *ram = &vm->ram[i];
        hv_snap_memory region;
        int rc = hv_snap_memory_region(r, (uint32_t)i, &region);

        if (rc < 0)
            return rc;
        if (region.bytes != ram->bytes)
            return hv_error_set(HV_E_SNAPSHOT, path,
                                "%s: section memory[%zu] holds %" PRIu64
                                " bytes but vNUMA node %zu has %" PRIu64
                                ": the snapshot is corrupted",
                                what, i, region.bytes, i, ram->bytes);
        if (!eager) {
            if ((rc = hv_kvm_ram_back_private(ram, region.fd, region.file_offset)) < 0)
                return rc;
            continue;
        }
        if ((rc = hv_kvm_ram_back_fresh(ram)) < 0)
            return rc;
        for (uint64_t done = 0; done < region.bytes;) {
            uint64_t chunk = region.bytes - done > (UINT64_C(64) << 20) ? (UINT64_C(64) << 20)
                                                                        : region.bytes - done;
            ssize_t n =
                pread(region.fd, ram->host + done, chunk, (off_t)(region.file_offset + done));

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return hv_error_set(HV_E_SNAPSHOT, path,
                                    "%s: section memory[%zu]: reading it failed: %s", what, i,
                                    n < 0 ? strerror(errno) : "the file ended early");
            done += (uint64_t)n;
        }
        if ((rc = hv_snap_memory_verify(r, (uint32_t)i, ram->host)) < 0)
            return rc;
    }
    return 0;
}

int hv_kvm_vm_restore_console(hv_kvm_vm *vm, const void *data, uint64_t bytes)
{
    if (bytes > HV_KVM_CONSOLE_BYTES)
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "section console holds %" PRIu64 " bytes, more than the %d kept", bytes,
                            HV_KVM_CONSOLE_BYTES);
    if (!bytes)
        return 0;
    if (!(vm->console = hv_reallocarray(NULL, HV_KVM_CONSOLE_BYTES, 1)))
        return HV_E_NOMEM;
    memcpy(vm->console, data, (size_t)bytes);
    vm->console_head = (size_t)bytes % HV_KVM_CONSOLE_BYTES;
    vm->console_kept = (size_t)bytes;
    vm->console_total = bytes;
    return 0;
}

static int restore_console(hv_kvm_vm *vm, const hv_snap_reader *r)
{
    const void *data = NULL;
    uint64_t bytes = 0;

    if (hv_snap_section_count(r, HV_SNAP_CONSOLE) == 0)
        return 0;
    if (hv_snap_section(r, HV_SNAP_CONSOLE, 0, &data, &bytes) < 0)
        return HV_E_SNAPSHOT;
    return hv_kvm_vm_restore_console(vm, data, bytes);
}

int hv_kvm_vm_from_meta(hv_kvm_conn *conn, const hv_kvm_snapshot_meta *m,
                        const hv_kvm_resume_params *rp, const void *payload, size_t payload_bytes,
                        const char *path, hv_kvm_vm **out)
{
    hv_kvm_vm_params params;
    hv_kvm_linux_params linux_boot;
    hv_kvm_disks disks = {.count = 0};
    hv_cpuset *affinity;
    char what[PATH_QUOTE_SIZE], reason[1024];
    int rc;

    *out = NULL;
    hv_quote(what, sizeof(what), path);
    affinity = hv_calloc((size_t)m->vcpus, sizeof(*affinity));
    if (!affinity)
        return HV_E_NOMEM;
    if ((rc = parse_affinity(m, affinity)) < 0)
        goto out;
    /* a Linux guest's disks, open again and locked (or refused: in use, changed) */
    if (m->is_linux &&
        (rc = hv_kvm_linux_params_from_source(&m->linux_source, &linux_boot, &disks)) < 0)
        goto out;
    memset(&params, 0, sizeof(params));
    params.name = rp->name ? rp->name : m->name;
    params.nodes = m->nodes;
    params.node_count = m->node_count;
    params.affinity = affinity;
    params.payload = payload;
    params.payload_bytes = payload_bytes;
    params.payload_path = m->payload_path;
    params.plan_json = m->plan_json;
    params.console = rp->console;
    params.console_data = rp->console_data;
    params.progress = rp->progress;
    params.progress_data = rp->progress_data;
    if (m->is_linux) {
        linux_boot.channel = rp->channel;
        linux_boot.channel_data = rp->channel_data;
        params.linux_boot = &linux_boot;
        params.payload_path = m->linux_source.kernel;
    }
    rc = hv_kvm_vm_new(conn, &params, out);
    if (rc < 0) {
        if (rc == HV_E_PARSE || rc == HV_E_RANGE || rc == HV_E_INVAL)
            rc = hv_error_set(HV_E_SNAPSHOT, path, "%s: %s", what,
                              last_message(reason, sizeof(reason)));
        goto out;
    }
    if ((*out)->image.base != m->image_base || (*out)->image.end != m->image_end ||
        (*out)->image.entry != m->entry || (*out)->layout.vcpu_count != (uint32_t)m->vcpus) {
        hv_kvm_vm_discard(*out);
        *out = NULL;
        rc = hv_error_set(HV_E_SNAPSHOT, path,
                          "%s: the payload and layout do not match the meta section: the "
                          "snapshot is corrupted",
                          what);
    }
out:
    hv_kvm_disks_close(&disks, false); /* its devices hold their own descriptors */
    for (int i = 0; i < m->vcpus; i++)
        hv_cpuset_clear(&affinity[i]);
    free(affinity);
    return rc;
}

/* A Linux guest's platform and devices sections, as they are in the file. */
static int read_linux_state(const hv_snap_reader *r, const char *path, const char *what,
                            hv_kvm_linux_state *out)
{
    const void *platform = NULL, *devices = NULL;
    uint64_t platform_bytes = 0, devices_bytes = 0;

    if (hv_snap_section_count(r, HV_SNAP_PLATFORM) != 1 ||
        hv_snap_section_count(r, HV_SNAP_DEVICES) != 1)
        return hv_error_set(HV_E_SNAPSHOT, path,
                            "%s: a Linux guest's snapshot has one platform and one devices "
                            "section, this one %zu and %zu: the snapshot is corrupted",
                            what, hv_snap_section_count(r, HV_SNAP_PLATFORM),
                            hv_snap_section_count(r, HV_SNAP_DEVICES));
    if (hv_snap_section(r, HV_SNAP_PLATFORM, 0, &platform, &platform_bytes) < 0 ||
        hv_snap_section(r, HV_SNAP_DEVICES, 0, &devices, &devices_bytes) < 0)
        return HV_E_SNAPSHOT;
    out->platform = (uint8_t *)(uintptr_t)platform;
    out->platform_bytes = (size_t)platform_bytes;
    out->devices = (uint8_t *)(uintptr_t)devices;
    out->devices_bytes = (size_t)devices_bytes;
    return 0;
}

int hv_kvm_vm_resume_from(hv_kvm_conn *conn, const char *path, const hv_kvm_resume_params *rp,
                          hv_kvm_vm **out)
{
    hv_snap_reader *r = NULL;
    hv_kvm_snapshot_meta m;
    hv_kvm_vm *vm = NULL;
    hv_kvm_linux_state linux_state = {NULL, 0, NULL, 0}; /* the reader's bytes: not freed */
    const void *payload = NULL;
    uint64_t payload_bytes = 0;
    char what[PATH_QUOTE_SIZE], reason[1024];
    int rc;

    *out = NULL;
    memset(&m, 0, sizeof(m));
    hv_quote(what, sizeof(what), path);
    /* a new name is held to a spec's rule, as the one in the file is */
    if (rp->name && hv_spec_check_name(rp->name, "name") < 0)
        return hv_error_set(HV_E_INVAL, "name", "%s", last_message(reason, sizeof(reason)));
    if ((rc = hv_snap_reader_open(path, &r)) < 0)
        return rc;
    if ((rc = hv_kvm_snapshot_read_meta(r, path, &m)) < 0)
        goto out;
    if (hv_snap_section_count(r, HV_SNAP_VCPU) != (size_t)m.vcpus) {
        rc = hv_error_set(HV_E_SNAPSHOT, path,
                          "%s: %zu vCPU sections for %d vCPUs: the snapshot is corrupted", what,
                          hv_snap_section_count(r, HV_SNAP_VCPU), m.vcpus);
        goto out;
    }
    if ((rc = hv_snap_section(r, HV_SNAP_PAYLOAD, 0, &payload, &payload_bytes)) < 0 ||
        (rc = hv_kvm_vm_from_meta(conn, &m, rp, payload, (size_t)payload_bytes, path, &vm)) < 0)
        goto out;
    if ((rc = restore_memory(vm, r, path, what, rp->eager)) < 0 ||
        (rc = hv_kvm_vm_register_ram(vm)) < 0)
        goto fail;
    if (m.is_linux && ((rc = read_linux_state(r, path, what, &linux_state)) < 0 ||
                       (rc = hv_kvm_linux_state_restore_platform(vm, &linux_state, what)) < 0))
        goto fail;
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        const void *record = NULL;
        uint64_t bytes = 0;
        hv_kvm_vcpu_state st;
        char section[PATH_QUOTE_SIZE + 32];

        hv_format(section, sizeof(section), "%s: section vcpu[%u]", what, i);
        if ((rc = hv_snap_section(r, HV_SNAP_VCPU, i, &record, &bytes)) < 0 ||
            (rc = hv_kvm_vcpu_state_decode(record, (size_t)bytes, i, section, &st)) < 0 ||
            (rc = hv_kvm_vcpu_state_set(vm->vcpus[i].fd, i, &st)) < 0)
            goto fail;
        vm->vcpus[i].stopped = st.run_state == HV_KVM_VCPU_STATE_STOPPED;
        vm->vcpus[i].status = st.status;
        vm->vcpus[i].last_marker = st.last_marker;
        vm->vcpus[i].marker_count = st.marker_count;
    }
    if (m.is_linux && (rc = hv_kvm_linux_state_restore_devices(vm, &linux_state, what)) < 0)
        goto fail;
    if ((rc = restore_console(vm, r)) < 0 ||
        (rc = hv_kvm_vm_set_identity(vm, m.clone_id, m.clone_index, m.generation + 1)) < 0)
        goto fail;
    rc = hv_kvm_vm_publish(vm); /* frees it when the name is taken */
    if (rc < 0) {
        vm = NULL;
        goto out;
    }
    if ((rc = hv_kvm_vm_launch(vm, rp->paused)) < 0) {
        /* it was listed: take it off again, nothing half-made stays */
        hv_kvm_vm_forget(vm);
        vm = NULL;
        goto out;
    }
    *out = vm;
    vm = NULL;
    goto out;
fail:
    hv_kvm_vm_discard(vm);
    vm = NULL;
out:
    hv_kvm_snapshot_meta_clear(&m);
    hv_snap_reader_close(r);
    return rc;
}

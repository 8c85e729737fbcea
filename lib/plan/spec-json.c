/*
 * plan/spec-json.c - VM specs from and to JSON (docs/spec-json.md). The
 * reader is strict: unknown keys, wrong types, negative or overflowing
 * numbers are HV_E_SPEC with the exact path of the field. The writer emits
 * every key in a fixed order (canonical form), memory in bytes.
 */
#include "plan/spec.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/size.h>

#define S HV_E_SPEC

static const char *const rss_names[] = {"tcp", "udp", "esp", NULL};
static const char *const tunnel_names[] = {"vxlan", "geneve", NULL};

#define NAME_COUNT(names) (sizeof(names) / sizeof(names[0]) - 1)

/*
 * What a spec may be, checked before json-c builds anything from it: the
 * lists at their ceilings (plan/spec.h; a flag list names each flag at most
 * once), and room to spare for everything else. The largest valid spec has
 * about 1,500 values, 400 of them objects and arrays, in a few kB.
 */
static const hv_json_array_limit spec_arrays[] = {
    {"vnuma", HV_SPEC_MAX_VNUMA_NODES, "vNUMA nodes"},
    {"accelerators", HV_SPEC_MAX_DEVICES, "accelerators"},
    {"nics", HV_SPEC_MAX_DEVICES, "NICs"},
    {"nics[].rss", NAME_COUNT(rss_names), "RSS flags (each once)"},
    {"nics[].tunnel_offloads", NAME_COUNT(tunnel_names), "tunnel offloads (each once)"},
    {"rdma", HV_SPEC_MAX_DEVICES, "RDMA attachments"},
    {"disks", HV_SPEC_MAX_DISKS, "disks"},
    {NULL, 0, NULL},
};

static const hv_json_bounds spec_bounds = {
    .code = S,
    .max_bytes = (size_t)1 << 20,
    .max_depth = 16,
    .max_values = 16384,
    .max_containers = 1024,
    .max_members = 64,
    .arrays = spec_arrays,
};

/* Fail on keys of `obj` not in the NULL-terminated `known`. */
static int check_keys(json_object *obj, const char *path, const char *const *known)
{
    struct json_object_iterator it = json_object_iter_begin(obj);
    struct json_object_iterator end = json_object_iter_end(obj);

    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *key = json_object_iter_peek_name(&it);
        bool ok = false;
        char where[256], list[256] = "", quoted[HV_QUOTE_SIZE];

        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(key, known[i]) == 0;
        if (ok)
            continue;
        for (size_t i = 0; known[i]; i++) {
            strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
            strncat(list, known[i], sizeof(list) - strlen(list) - 1);
        }
        hv_quote(quoted, sizeof(quoted), key);
        hv_json_path_key(where, sizeof(where), path, quoted);
        return hv_error_set(S, where, "unknown key '%s'%s%s: known keys are %s", quoted,
                            *path ? " in " : "", path, list);
    }
    return 0;
}

/* A string member mapped through a NULL-terminated name table. */
static int read_enum(json_object *obj, const char *key, const char *path,
                     const char *(*name_of)(int), int *out)
{
    const char *s;
    char where[256], list[160] = "", quoted[HV_QUOTE_SIZE];
    int rc = hv_json_read_string(obj, key, path, false, S, &s);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    for (int v = 0; name_of(v); v++) {
        if (strcmp(s, name_of(v)) == 0) {
            *out = v;
            return 0;
        }
        strncat(list, v ? "|" : "", sizeof(list) - strlen(list) - 1);
        strncat(list, name_of(v), sizeof(list) - strlen(list) - 1);
    }
    hv_json_path_key(where, sizeof(where), path, key);
    return hv_error_set(S, where, "%s is \"%s\": use one of %s", where,
                        hv_quote(quoted, sizeof(quoted), s), list);
}

/* Bytes as an integer (at most `max`) or a size string ("1.5TiB"); 1 when absent. */
static int read_size(json_object *obj, const char *key, const char *path, bool required,
                     uint64_t max, uint64_t *out)
{
    json_object *v;
    char where[256];
    int rc;

    hv_json_path_key(where, sizeof(where), path, key);
    if (!json_object_object_get_ex(obj, key, &v)) {
        if (required)
            return hv_error_set(S, where, "%s is required (bytes, or a size like \"512GiB\")",
                                where);
        return 1;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *text = json_object_get_string(v);
        char quoted[HV_QUOTE_SIZE];

        /* hv_size_parse() quotes what it refuses as it is: never let it see such text */
        if (hv_text_unprintable_at(text, strlen(text)) < strlen(text))
            return hv_error_set(S, where,
                                "%s '%s' is not a size: write a number with an optional unit, "
                                "e.g. \"512GiB\"",
                                where, hv_quote(quoted, sizeof(quoted), text));
        rc = hv_size_parse(text, out);
        if (rc < 0) {
            char reason[512];

            snprintf(reason, sizeof(reason), "%s", hv_error_message(hv_error_last()));
            return hv_error_set(S, where, "%s: %s", where, reason);
        }
    } else {
        rc = hv_json_read_u64(obj, key, path, true, S, max, out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* memory: bytes as an integer or a size string ("1.5TiB"). */
static int read_memory(json_object *obj, const char *key, const char *path, bool required,
                       uint64_t *out)
{
    char where[256];
    int rc = read_size(obj, key, path, required, HV_SPEC_MAX_MEMORY, out);

    if (rc != 0)
        return rc;
    hv_json_path_key(where, sizeof(where), path, key);
    return hv_spec_check_memory(*out, where);
}

static int read_count(json_object *obj, const char *key, const char *path, unsigned int max,
                      unsigned int *out)
{
    uint64_t v;
    int rc = hv_json_read_u64(obj, key, path, false, S, max, &v);

    if (rc == 0)
        *out = (unsigned int)v;
    return rc;
}

static int read_vnuma(hv_vm_spec *spec, json_object *root)
{
    json_object *v, *list;
    int rc;

    if (!json_object_object_get_ex(root, "vnuma", &v))
        return 0;
    if (json_object_is_type(v, json_type_string)) {
        if (strcmp(json_object_get_string(v), "auto") == 0)
            return 0;
        return hv_error_set(S, "vnuma", "vnuma must be \"auto\" or a list of {vcpus, memory}");
    }
    if ((rc = hv_json_read_array(root, "vnuma", "", true, S, &list)) < 0)
        return hv_error_set(S, "vnuma", "vnuma must be \"auto\" or a list of {vcpus, memory}");
    if (json_object_array_length(list) == 0)
        return hv_error_set(S, "vnuma", "vnuma must list at least one node (or be \"auto\")");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        static const char *const keys[] = {"vcpus", "memory", NULL};
        json_object *n = json_object_array_get_idx(list, i);
        char path[64];
        unsigned int vcpus = 0;
        uint64_t memory = 0;

        hv_json_path_index(path, sizeof(path), "vnuma", i);
        if (!json_object_is_type(n, json_type_object))
            return hv_error_set(S, path, "%s must be an object {vcpus, memory}", path);
        if ((rc = check_keys(n, path, keys)) < 0)
            return rc;
        if (!json_object_object_get_ex(n, "vcpus", &(json_object *){NULL})) {
            char where[80];

            hv_json_path_key(where, sizeof(where), path, "vcpus");
            return hv_error_set(S, where, "%s is required", where);
        }
        if ((rc = read_count(n, "vcpus", path, HV_SPEC_MAX_VCPUS, &vcpus)) < 0 ||
            (rc = read_memory(n, "memory", path, true, &memory)) < 0)
            return rc;
        if (vcpus == 0) {
            char where[80];

            hv_json_path_key(where, sizeof(where), path, "vcpus");
            return hv_error_set(S, where, "%s must be at least 1", where);
        }
        if ((rc = hv_vm_spec_add_vnuma_node(spec, vcpus, memory)) < 0)
            return rc;
    }
    return 0;
}

/* A list of flag names: ["tcp", "udp"] -> bits. */
static int read_flags(json_object *obj, const char *key, const char *path, const char *const *names,
                      unsigned int *out)
{
    json_object *list;
    char where[128];
    int rc = hv_json_read_array(obj, key, path, false, S, &list);

    *out = 0;
    if (rc != 0)
        return rc < 0 ? rc : 0;
    hv_json_path_key(where, sizeof(where), path, key);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *v = json_object_array_get_idx(list, i);
        char item[160], allowed[96] = "";
        unsigned int bit = 0;

        hv_json_path_index(item, sizeof(item), where, i);
        for (unsigned int b = 0; names[b]; b++) {
            if (json_object_is_type(v, json_type_string) &&
                strcmp(json_object_get_string(v), names[b]) == 0)
                bit = 1u << b;
            strncat(allowed, b ? ", " : "", sizeof(allowed) - strlen(allowed) - 1);
            strncat(allowed, names[b], sizeof(allowed) - strlen(allowed) - 1);
        }
        if (!bit)
            return hv_error_set(S, item, "%s must be one of %s", item, allowed);
        if (*out & bit)
            return hv_error_set(S, item, "%s repeats \"%s\"", item, json_object_get_string(v));
        *out |= bit;
    }
    return 0;
}

static int read_accelerators(hv_vm_spec *spec, json_object *root)
{
    static const char *const keys[] = {"pci_address", "model", "count", "mode", "mdev_type", NULL};
    json_object *list;
    int rc = hv_json_read_array(root, "accelerators", "", false, S, &list);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *a = json_object_array_get_idx(list, i), *tmp;
        const char *address = NULL, *model = NULL, *mdev = NULL;
        unsigned int count = 1;
        int mode = HV_ACCEL_MODE_PASSTHROUGH;
        char path[64];

        hv_json_path_index(path, sizeof(path), "accelerators", i);
        if (!json_object_is_type(a, json_type_object))
            return hv_error_set(S, path, "%s must be an object", path);
        if ((rc = check_keys(a, path, keys)) < 0 ||
            (rc = hv_json_read_string(a, "pci_address", path, false, S, &address)) < 0 ||
            (rc = hv_json_read_string(a, "model", path, false, S, &model)) < 0 ||
            (rc = hv_json_read_string(a, "mdev_type", path, false, S, &mdev)) < 0 ||
            (rc = read_enum(a, "mode", path, hv_spec_accel_mode_name, &mode)) < 0)
            return rc;
        if (!address == !model)
            return hv_error_set(S, path,
                                "%s needs exactly one of pci_address (a host device) or model (a "
                                "catalogue model, with count)",
                                path);
        if (address && json_object_object_get_ex(a, "count", &tmp)) {
            char where[96];

            hv_json_path_key(where, sizeof(where), path, "count");
            return hv_error_set(S, where, "%s only goes with model, not pci_address", where);
        }
        if (model) {
            char where[96];
            uint64_t c;

            if ((rc = hv_json_read_u64(a, "count", path, false, S, HV_SPEC_MAX_DEVICES, &c)) < 0)
                return rc;
            if (rc == 0)
                count = (unsigned int)c;
            hv_json_path_key(where, sizeof(where), path, "count");
            if (count == 0)
                return hv_error_set(S, where, "%s must be at least 1", where);
        }
        rc = address ? hv_vm_spec_add_accelerator(spec, address, mode, mdev)
                     : hv_vm_spec_add_accelerator_model(spec, model, count, mode, mdev);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_nics(hv_vm_spec *spec, json_object *root)
{
    static const char *const keys[] = {"model", "queues", "rss", "tunnel_offloads", NULL};
    json_object *list;
    int rc = hv_json_read_array(root, "nics", "", false, S, &list);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *n = json_object_array_get_idx(list, i);
        const char *model = "virtio-net";
        unsigned int queues = 0, rss = 0, tunnels = 0;
        char path[64];

        hv_json_path_index(path, sizeof(path), "nics", i);
        if (!json_object_is_type(n, json_type_object))
            return hv_error_set(S, path, "%s must be an object", path);
        if ((rc = check_keys(n, path, keys)) < 0 ||
            (rc = hv_json_read_string(n, "model", path, false, S, &model)) < 0 ||
            (rc = read_count(n, "queues", path, HV_SPEC_MAX_NIC_QUEUES, &queues)) < 0 ||
            (rc = read_flags(n, "rss", path, rss_names, &rss)) < 0 ||
            (rc = read_flags(n, "tunnel_offloads", path, tunnel_names, &tunnels)) < 0 ||
            (rc = hv_vm_spec_add_nic(spec, model, queues, rss, tunnels)) < 0)
            return rc;
    }
    return 0;
}

static int read_rdma(hv_vm_spec *spec, json_object *root)
{
    static const char *const keys[] = {"protocol", "mode", "mtu", NULL};
    json_object *list;
    int rc = hv_json_read_array(root, "rdma", "", false, S, &list);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *r = json_object_array_get_idx(list, i);
        int protocol = HV_RDMA_ROCE_V2, mode = HV_RDMA_MODE_PVRDMA;
        unsigned int mtu = 0;
        char path[64];

        hv_json_path_index(path, sizeof(path), "rdma", i);
        if (!json_object_is_type(r, json_type_object))
            return hv_error_set(S, path, "%s must be an object", path);
        if ((rc = check_keys(r, path, keys)) < 0 ||
            (rc = read_enum(r, "protocol", path, hv_spec_rdma_protocol_name, &protocol)) < 0 ||
            (rc = read_enum(r, "mode", path, hv_spec_rdma_mode_name, &mode)) < 0 ||
            (rc = read_count(r, "mtu", path, 65536, &mtu)) < 0 ||
            (rc = hv_vm_spec_add_rdma(spec, protocol, mode, mtu)) < 0)
            return rc;
    }
    return 0;
}

static int read_disks(hv_vm_spec *spec, json_object *root)
{
    static const char *const keys[] = {"path",   "format", "bus", "read_only",
                                       "serial", "size",   NULL};
    json_object *list;
    int rc = hv_json_read_array(root, "disks", "", false, S, &list);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *d = json_object_array_get_idx(list, i);
        const char *file = NULL, *serial = NULL;
        int format = HV_DISK_FORMAT_RAW, bus = HV_DISK_BUS_VIRTIO;
        bool read_only = false;
        uint64_t size = 0;
        char path[64];

        hv_json_path_index(path, sizeof(path), "disks", i);
        if (!json_object_is_type(d, json_type_object))
            return hv_error_set(S, path, "%s must be an object", path);
        if ((rc = check_keys(d, path, keys)) < 0 ||
            (rc = hv_json_read_string(d, "path", path, true, S, &file)) < 0 ||
            (rc = read_enum(d, "format", path, hv_spec_disk_format_name, &format)) < 0 ||
            (rc = read_enum(d, "bus", path, hv_spec_disk_bus_name, &bus)) < 0 ||
            (rc = hv_json_read_bool(d, "read_only", path, false, S, &read_only)) < 0 ||
            (rc = hv_json_read_string(d, "serial", path, false, S, &serial)) < 0 ||
            (rc = read_size(d, "size", path, false, HV_SPEC_MAX_DISK_SIZE, &size)) < 0)
            return rc;
        if ((rc = hv_vm_spec_add_disk(spec, file, format, bus, read_only, serial, size)) < 0)
            return rc;
    }
    return 0;
}

static int read_boot(hv_vm_spec *spec, json_object *root)
{
    static const char *const keys[] = {"kernel", "initrd", "cmdline", NULL};
    json_object *boot;
    const char *kernel = NULL, *initrd = NULL, *cmdline = NULL;
    int rc = hv_json_read_object(root, "boot", "", false, S, &boot);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    if ((rc = check_keys(boot, "boot", keys)) < 0 ||
        (rc = hv_json_read_string(boot, "kernel", "boot", true, S, &kernel)) < 0 ||
        (rc = hv_json_read_string(boot, "initrd", "boot", false, S, &initrd)) < 0 ||
        (rc = hv_json_read_string(boot, "cmdline", "boot", false, S, &cmdline)) < 0)
        return rc;
    return hv_vm_spec_set_boot(spec, kernel, initrd, cmdline);
}

static int read_guest_phys_bits(hv_vm_spec *spec, json_object *root)
{
    json_object *v;
    int64_t bits;
    int rc;

    if (!json_object_object_get_ex(root, "guest_phys_bits", &v))
        return 0;
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);

        if (strcmp(s, "auto") == 0)
            return hv_vm_spec_set_guest_phys_bits(spec, HV_GUEST_PHYS_BITS_AUTO);
        if (strcmp(s, "host") == 0)
            return hv_vm_spec_set_guest_phys_bits(spec, HV_GUEST_PHYS_BITS_HOST);
        char quoted[HV_QUOTE_SIZE];

        return hv_error_set(S, "guest_phys_bits",
                            "guest_phys_bits is \"%s\": use \"auto\", \"host\" or a number of "
                            "bits (32..64)",
                            hv_quote(quoted, sizeof(quoted), s));
    }
    if ((rc = hv_json_read_i64(root, "guest_phys_bits", "", true, S, 32, 64, &bits)) < 0)
        return rc;
    return hv_vm_spec_set_guest_phys_bits(spec, (int)bits);
}

static int spec_from_object(hv_vm_spec *spec, json_object *root)
{
    static const char *const keys[] = {
        "name",  "vcpus",        "memory",    "firmware",  "cores_per_socket", "threads_per_core",
        "vnuma", "vnuma_policy", "prefer_ht", "page_size", "cpu_placement",    "accelerators",
        "nics",  "rdma",         "disks",     "boot",      "guest_phys_bits",  "profile",
        NULL};
    const char *name = NULL, *profile = NULL;
    uint64_t vcpus;
    unsigned int cores = 0, threads = 0;
    int rc;

    if (!json_object_is_type(root, json_type_object))
        return hv_error_set(S, "", "a VM spec must be a JSON object");
    if ((rc = check_keys(root, "", keys)) < 0)
        return rc;
    if ((rc = hv_json_read_string(root, "name", "", false, S, &name)) < 0 ||
        (rc == 0 && (rc = hv_vm_spec_set_name(spec, name)) < 0))
        return rc;
    if ((rc = hv_json_read_u64(root, "vcpus", "", true, S, HV_SPEC_MAX_VCPUS, &vcpus)) < 0 ||
        (rc = hv_vm_spec_set_vcpus(spec, (unsigned int)vcpus)) < 0)
        return rc;
    if ((rc = read_memory(root, "memory", "", true, &spec->memory_bytes)) < 0 ||
        (rc = read_enum(root, "firmware", "", hv_spec_firmware_name, &spec->firmware)) < 0 ||
        (rc = read_count(root, "cores_per_socket", "", HV_SPEC_MAX_VCPUS, &cores)) < 0 ||
        (rc = read_count(root, "threads_per_core", "", 8, &threads)) < 0 ||
        (rc = hv_vm_spec_set_topology(spec, cores, threads)) < 0 ||
        (rc = read_vnuma(spec, root)) < 0 ||
        (rc = read_enum(root, "vnuma_policy", "", hv_spec_vnuma_policy_name, &spec->vnuma_policy)) <
            0 ||
        (rc = hv_json_read_bool(root, "prefer_ht", "", false, S, &spec->prefer_ht)) < 0 ||
        (rc = read_enum(root, "page_size", "", hv_spec_page_size_name, &spec->page_size)) < 0 ||
        (rc = read_enum(root, "cpu_placement", "", hv_spec_cpu_placement_name,
                        &spec->cpu_placement)) < 0 ||
        (rc = read_accelerators(spec, root)) < 0 || (rc = read_nics(spec, root)) < 0 ||
        (rc = read_rdma(spec, root)) < 0 || (rc = read_disks(spec, root)) < 0 ||
        (rc = read_boot(spec, root)) < 0 || (rc = read_guest_phys_bits(spec, root)) < 0 ||
        (rc = hv_json_read_string(root, "profile", "", false, S, &profile)) < 0 ||
        (rc == 0 && (rc = hv_vm_spec_set_profile(spec, profile)) < 0))
        return rc;
    return 0;
}

int hv_vm_spec_from_json(const char *json, hv_vm_spec **out)
{
    json_object *root;
    hv_vm_spec *spec;
    int rc;

    HV_CHECK_ARG(json, "json");
    HV_CHECK_ARG(out, "spec");
    *out = NULL;
    rc = hv_json_parse_bounded(json, strlen(json), "the VM spec", &spec_bounds, &root);
    if (rc < 0)
        return rc;
    rc = hv_vm_spec_new(&spec);
    if (rc == 0) {
        rc = spec_from_object(spec, root);
        if (rc < 0)
            hv_vm_spec_free(spec);
        else
            *out = spec;
    }
    json_object_put(root);
    return rc;
}

/* ---- writer --------------------------------------------------------------- */

static json_object *flags_to_json(unsigned int flags, const char *const *names)
{
    json_object *a = json_object_new_array();

    for (unsigned int b = 0; a && names[b]; b++) {
        if (!(flags & (1u << b)))
            continue;
        json_object *s = json_object_new_string(names[b]);
        if (!s || json_object_array_add(a, s) < 0) {
            json_object_put(s);
            json_object_put(a);
            return NULL;
        }
    }
    return a;
}

json_object *hv_vm_spec_to_json_object(const hv_vm_spec *spec)
{
    json_object *root = json_object_new_object();
    json_object *accels = json_object_new_array(), *nics = json_object_new_array();
    json_object *rdma = json_object_new_array(), *disks = json_object_new_array(), *vnuma;
    int rc = 0;

    if (!root || !accels || !nics || !rdma || !disks) {
        json_object_put(root);
        json_object_put(accels);
        json_object_put(nics);
        json_object_put(rdma);
        json_object_put(disks);
        return NULL;
    }
    rc |= hv_json_add_string(root, "name", spec->name);
    rc |= hv_json_add_int(root, "vcpus", spec->vcpus);
    rc |= hv_json_add_u64(root, "memory", spec->memory_bytes);
    rc |= hv_json_add_string(root, "firmware", hv_spec_firmware_name(spec->firmware));
    rc |= hv_json_add_int(root, "cores_per_socket", spec->cores_per_socket);
    rc |= hv_json_add_int(root, "threads_per_core", spec->threads_per_core);
    if (spec->nvnodes) {
        vnuma = json_object_new_array();
        for (size_t i = 0; vnuma && i < spec->nvnodes; i++) {
            json_object *n = json_object_new_object();

            rc |= n ? 0 : -1;
            if (!n)
                break;
            rc |= hv_json_add_int(n, "vcpus", spec->vnodes[i].vcpus);
            rc |= hv_json_add_u64(n, "memory", spec->vnodes[i].memory_bytes);
            if (json_object_array_add(vnuma, n) < 0) {
                json_object_put(n);
                rc = -1;
            }
        }
    } else {
        vnuma = json_object_new_string("auto");
    }
    rc |= hv_json_add(root, "vnuma", vnuma);
    rc |= hv_json_add_string(root, "vnuma_policy", hv_spec_vnuma_policy_name(spec->vnuma_policy));
    rc |= hv_json_add_bool(root, "prefer_ht", spec->prefer_ht);
    rc |= hv_json_add_string(root, "page_size", hv_spec_page_size_name(spec->page_size));
    rc |=
        hv_json_add_string(root, "cpu_placement", hv_spec_cpu_placement_name(spec->cpu_placement));
    for (size_t i = 0; i < spec->naccels && rc == 0; i++) {
        const hv_spec_accel *a = &spec->accels[i];
        json_object *o = json_object_new_object();

        if (!o) {
            rc = -1;
            break;
        }
        if (a->pci_address[0]) {
            rc |= hv_json_add_string(o, "pci_address", a->pci_address);
        } else {
            rc |= hv_json_add_string(o, "model", a->model);
            rc |= hv_json_add_int(o, "count", a->count);
        }
        rc |= hv_json_add_string(o, "mode", hv_spec_accel_mode_name(a->mode));
        if (a->mdev_type[0])
            rc |= hv_json_add_string(o, "mdev_type", a->mdev_type);
        if (json_object_array_add(accels, o) < 0) {
            json_object_put(o);
            rc = -1;
        }
    }
    rc |= hv_json_add(root, "accelerators", accels);
    for (size_t i = 0; i < spec->nnics && rc == 0; i++) {
        const hv_spec_nic *n = &spec->nics[i];
        json_object *o = json_object_new_object();

        if (!o) {
            rc = -1;
            break;
        }
        rc |= hv_json_add_string(o, "model", n->model);
        rc |= hv_json_add_int(o, "queues", n->queues);
        rc |= hv_json_add(o, "rss", flags_to_json(n->rss_flags, rss_names));
        rc |= hv_json_add(o, "tunnel_offloads", flags_to_json(n->tunnel_flags, tunnel_names));
        if (json_object_array_add(nics, o) < 0) {
            json_object_put(o);
            rc = -1;
        }
    }
    rc |= hv_json_add(root, "nics", nics);
    for (size_t i = 0; i < spec->nrdma && rc == 0; i++) {
        const hv_spec_rdma *r = &spec->rdma[i];
        json_object *o = json_object_new_object();

        if (!o) {
            rc = -1;
            break;
        }
        rc |= hv_json_add_string(o, "protocol", hv_spec_rdma_protocol_name(r->protocol));
        rc |= hv_json_add_string(o, "mode", hv_spec_rdma_mode_name(r->mode));
        rc |= hv_json_add_int(o, "mtu", r->mtu);
        if (json_object_array_add(rdma, o) < 0) {
            json_object_put(o);
            rc = -1;
        }
    }
    rc |= hv_json_add(root, "rdma", rdma);
    for (size_t i = 0; i < spec->ndisks && rc == 0; i++) {
        const hv_spec_disk *d = &spec->disks[i];
        json_object *o = json_object_new_object();

        if (!o) {
            rc = -1;
            break;
        }
        rc |= hv_json_add_string(o, "path", d->path);
        rc |= hv_json_add_string(o, "format", hv_spec_disk_format_name(d->format));
        rc |= hv_json_add_string(o, "bus", hv_spec_disk_bus_name(d->bus));
        rc |= hv_json_add_bool(o, "read_only", d->read_only);
        rc |= hv_json_add_string(o, "serial", d->serial);
        rc |= hv_json_add_u64(o, "size", d->size_bytes);
        if (json_object_array_add(disks, o) < 0) {
            json_object_put(o);
            rc = -1;
        }
    }
    rc |= hv_json_add(root, "disks", disks);
    if (spec->boot.kernel[0] && rc == 0) {
        /* only when set: a spec without one reads in a library that knows no boot source */
        json_object *boot = json_object_new_object();

        rc |= boot ? 0 : -1;
        if (boot) {
            rc |= hv_json_add_string(boot, "kernel", spec->boot.kernel);
            rc |= hv_json_add_string(boot, "initrd", spec->boot.initrd);
            rc |= hv_json_add_string(boot, "cmdline", spec->boot.cmdline);
            rc |= hv_json_add(root, "boot", boot);
        }
    }
    if (spec->guest_phys_bits == HV_GUEST_PHYS_BITS_AUTO)
        rc |= hv_json_add_string(root, "guest_phys_bits", "auto");
    else if (spec->guest_phys_bits == HV_GUEST_PHYS_BITS_HOST)
        rc |= hv_json_add_string(root, "guest_phys_bits", "host");
    else
        rc |= hv_json_add_int(root, "guest_phys_bits", spec->guest_phys_bits);
    rc |= hv_json_add_string(root, "profile", spec->profile);
    if (rc < 0) {
        json_object_put(root);
        hv_error_nomem();
        return NULL;
    }
    return root;
}

int hv_vm_spec_to_json(const hv_vm_spec *spec, unsigned int flags, char **json)
{
    HV_CHECK_ARG(spec, "spec");
    HV_CHECK_ARG(json, "json");
    return hv_json_emit(hv_vm_spec_to_json_object(spec), flags, json);
}

/*
 * plan/spec.c - the VM spec object: defaults, setters that validate at once,
 * copying, and the value checks the JSON reader shares.
 */
#include "plan/spec.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/profile.h"
#include "core/text.h"
#include "host/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const firmware_names[] = {"auto", "bios", "efi", NULL};
static const char *const policy_names[] = {"balanced", "vsphere", NULL};
static const char *const page_size_names[] = {"auto", "4k", "2m", "1g", NULL};
static const char *const placement_names[] = {"shared", "dedicated", NULL};
static const char *const accel_mode_names[] = {"passthrough", "vgpu", "fpga", NULL};
static const char *const rdma_protocol_names[] = {"roce-v2", "roce-v1", "infiniband", NULL};
static const char *const rdma_mode_names[] = {"pvrdma", "sr-iov", "passthrough", NULL};
static const char *const disk_format_names[] = {"raw", "qcow2", NULL};
static const char *const disk_bus_names[] = {"virtio", "scsi", "sata", NULL};

static const char *name_of(const char *const *names, size_t count, int value)
{
    return value >= 0 && (size_t)value < count ? names[value] : NULL;
}

#define NAME_OF(table, v) name_of(table, sizeof(table) / sizeof(table[0]) - 1, v)

const char *hv_spec_firmware_name(int v)
{
    return NAME_OF(firmware_names, v);
}
const char *hv_spec_vnuma_policy_name(int v)
{
    return NAME_OF(policy_names, v);
}
const char *hv_spec_page_size_name(int v)
{
    return NAME_OF(page_size_names, v);
}
const char *hv_spec_cpu_placement_name(int v)
{
    return NAME_OF(placement_names, v);
}
const char *hv_spec_accel_mode_name(int v)
{
    return NAME_OF(accel_mode_names, v);
}
const char *hv_spec_rdma_protocol_name(int v)
{
    return NAME_OF(rdma_protocol_names, v);
}
const char *hv_spec_rdma_mode_name(int v)
{
    return NAME_OF(rdma_mode_names, v);
}
const char *hv_spec_disk_format_name(int v)
{
    return NAME_OF(disk_format_names, v);
}
const char *hv_spec_disk_bus_name(int v)
{
    return NAME_OF(disk_bus_names, v);
}

uint64_t hv_spec_page_size_bytes(int page_size)
{
    switch (page_size) {
    case HV_PAGE_SIZE_4K:
        return 4096;
    case HV_PAGE_SIZE_2M:
        return UINT64_C(2) << 20;
    case HV_PAGE_SIZE_1G:
        return UINT64_C(1) << 30;
    default:
        return 0;
    }
}

/* ---- checks -------------------------------------------------------------- */

static int check_short_text(const char *text, size_t max, const char *path)
{
    size_t len;

    if (!text)
        return hv_error_set(HV_E_SPEC, path, "%s must not be NULL", path);
    len = strlen(text);
    if (len > max)
        return hv_error_set(HV_E_SPEC, path, "%s is %zu characters long: at most %zu", path, len,
                            max);
    if (hv_text_unprintable_at(text, len) < len) {
        char quoted[HV_QUOTE_SIZE];

        return hv_error_set(HV_E_SPEC, path,
                            "%s '%s' has a control character or bytes that are not UTF-8: "
                            "write it in printable UTF-8",
                            path, hv_quote(quoted, sizeof(quoted), text));
    }
    return 0;
}

int hv_spec_check_name(const char *name, const char *path)
{
    char quoted[HV_QUOTE_SIZE];
    int rc = check_short_text(name, HV_SPEC_MAX_NAME, path);

    if (rc < 0)
        return rc;
    if (!*name)
        return hv_error_set(HV_E_SPEC, path, "%s must not be empty", path);
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return hv_error_set(HV_E_SPEC, path,
                                "%s '%s' may use only letters, digits, '-', '_' and '.' (it "
                                "becomes a libvirt domain name and a file name)",
                                path, hv_quote(quoted, sizeof(quoted), name));
    return 0;
}

static int check_vcpus(unsigned long long vcpus, const char *path)
{
    if (vcpus < 1 || vcpus > HV_SPEC_MAX_VCPUS)
        return hv_error_set(HV_E_SPEC, path, "%s must be between 1 and %u (got %llu)", path,
                            HV_SPEC_MAX_VCPUS, vcpus);
    return 0;
}

int hv_spec_check_memory(uint64_t bytes, const char *path)
{
    if (bytes < (UINT64_C(1) << 20))
        return hv_error_set(HV_E_SPEC, path, "%s must be at least 1 MiB (got %llu bytes)", path,
                            (unsigned long long)bytes);
    if (bytes % (UINT64_C(1) << 20))
        return hv_error_set(HV_E_SPEC, path,
                            "%s must be a whole number of MiB (got %llu bytes): VMMs size guest "
                            "memory in MiB",
                            path, (unsigned long long)bytes);
    if (bytes > HV_SPEC_MAX_MEMORY)
        return hv_error_set(HV_E_SPEC, path,
                            "%s is larger than 4 PiB, beyond any x86 guest's address space", path);
    return 0;
}

static int check_disk_size(uint64_t bytes, const char *path)
{
    if (bytes < (UINT64_C(1) << 20) || bytes % (UINT64_C(1) << 20))
        return hv_error_set(HV_E_SPEC, path,
                            "%s must be a whole number of MiB, at least 1 MiB (got %llu bytes)",
                            path, (unsigned long long)bytes);
    if (bytes > HV_SPEC_MAX_DISK_SIZE)
        return hv_error_set(HV_E_SPEC, path,
                            "%s is larger than 64 TiB, beyond what hpcvirt creates (a raw image "
                            "on ext4 is at most 16 TiB): create such an image yourself",
                            path);
    return 0;
}

static int check_pci_address(const char *text, const char *path)
{
    char quoted[HV_QUOTE_SIZE];

    if (!text || !hv_is_pci_address(text))
        return hv_error_set(HV_E_SPEC, path,
                            "%s '%s' is not a PCI address: write DDDD:BB:DD.F in lowercase hex, "
                            "e.g. 0000:41:00.0 (see `hpcvirt host`)",
                            path, hv_quote(quoted, sizeof(quoted), text));
    for (const char *p = text; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            return hv_error_set(HV_E_SPEC, path, "%s '%s' must be lowercase, as sysfs writes it",
                                path, hv_quote(quoted, sizeof(quoted), text));
    return 0;
}

static int check_mtu(unsigned int mtu, const char *path)
{
    if (mtu != 0 && mtu != 256 && mtu != 512 && mtu != 1024 && mtu != 2048 && mtu != 4096)
        return hv_error_set(HV_E_SPEC, path,
                            "%s must be an RDMA MTU: 256, 512, 1024, 2048 or 4096 (got %u)", path,
                            mtu);
    return 0;
}

static int check_guest_phys_bits(int bits, const char *path)
{
    if (bits == HV_GUEST_PHYS_BITS_AUTO || bits == HV_GUEST_PHYS_BITS_HOST ||
        (bits >= 32 && bits <= 64))
        return 0;
    return hv_error_set(HV_E_SPEC, path, "%s must be \"auto\", \"host\" or 32..64 (got %d)", path,
                        bits);
}

static int check_profile(const char *name, const char *path)
{
    if (!name || !hv_profile_find(name) || !*name) {
        char list[160], quoted[HV_QUOTE_SIZE];

        return hv_error_set(HV_E_SPEC, path, "%s '%s' is not a maximums profile: use one of %s",
                            path, hv_quote(quoted, sizeof(quoted), name),
                            hv_profile_names(list, sizeof(list)));
    }
    return 0;
}

static int check_nic_model(const char *model, const char *path)
{
    char quoted[HV_QUOTE_SIZE];

    if (model && (strcmp(model, "virtio-net") == 0 || strcmp(model, "virtio") == 0 ||
                  strcmp(model, "vmxnet3") == 0))
        return 0;
    return hv_error_set(HV_E_SPEC, path,
                        "%s '%s' is not a NIC model: use \"virtio-net\" (libvirt's \"virtio\" "
                        "is the same; \"vmxnet3\" is accepted and mapped to virtio-net with the "
                        "same features)",
                        path, hv_quote(quoted, sizeof(quoted), model));
}

/* A file's path: absolute, printable, not a directory's. `what` names the file ("image"). */
static int check_file_path(const char *text, const char *path, const char *what)
{
    char quoted[HV_QUOTE_SIZE];
    int rc = check_short_text(text, HV_SPEC_MAX_DISK_PATH, path);

    if (rc < 0)
        return rc;
    if (text[0] != '/')
        return hv_error_set(HV_E_SPEC, path,
                            "%s '%s' is not an absolute path: the backend may run in another "
                            "directory, so write the %s's whole path from /",
                            path, hv_quote(quoted, sizeof(quoted), text), what);
    if (text[strlen(text) - 1] == '/')
        return hv_error_set(HV_E_SPEC, path, "%s '%s' names a directory, not the %s file", path,
                            hv_quote(quoted, sizeof(quoted), text), what);
    return 0;
}

static int check_cmdline(const char *cmdline, const char *path)
{
    char quoted[HV_QUOTE_SIZE];
    size_t len = strlen(cmdline);

    if (len > HV_SPEC_MAX_CMDLINE)
        return hv_error_set(HV_E_SPEC, path,
                            "%s is %zu bytes long: at most %u (and the kernel may take fewer: an "
                            "x86 kernel takes 2047 unless built with a larger COMMAND_LINE_SIZE); "
                            "shorten it, or put the settings in the initrd",
                            path, len, HV_SPEC_MAX_CMDLINE);
    if (hv_text_unprintable_at(cmdline, len) < len)
        return hv_error_set(HV_E_SPEC, path,
                            "%s '%s' has a control character or bytes that are not UTF-8: write "
                            "it in printable UTF-8, its arguments separated by spaces",
                            path, hv_quote(quoted, sizeof(quoted), cmdline));
    return 0;
}

static int check_disk_serial(const char *serial, const char *path)
{
    char quoted[HV_QUOTE_SIZE];
    size_t len = strlen(serial);

    if (len > HV_SPEC_MAX_DISK_SERIAL)
        return hv_error_set(HV_E_SPEC, path,
                            "%s is %zu characters long: at most %u (QEMU's limit for a disk "
                            "serial)",
                            path, len, HV_SPEC_MAX_DISK_SERIAL);
    for (const char *p = serial; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '+' || *p == '-' || *p == ' '))
            return hv_error_set(HV_E_SPEC, path,
                                "%s '%s' may use only ASCII letters, digits, '_', '.', '+', '-' "
                                "and spaces (libvirt's rule for a disk serial)",
                                path, hv_quote(quoted, sizeof(quoted), serial));
    return 0;
}

static int check_enum(int value, const char *const *names, const char *path)
{
    size_t n = 0;

    while (names[n])
        n++;
    if (value < 0 || (size_t)value >= n)
        return hv_error_set(HV_E_SPEC, path, "%s: %d is not a valid value (0..%zu)", path, value,
                            n - 1);
    return 0;
}

/* ---- object -------------------------------------------------------------- */

int hv_vm_spec_new(hv_vm_spec **out)
{
    hv_vm_spec *spec;

    HV_CHECK_ARG(out, "spec");
    spec = hv_calloc(1, sizeof(*spec));
    *out = spec;
    if (!spec)
        return HV_E_NOMEM;
    snprintf(spec->name, sizeof(spec->name), "vm");
    spec->vcpus = 1;
    spec->memory_bytes = UINT64_C(1) << 30;
    snprintf(spec->profile, sizeof(spec->profile), "%s", HV_DEFAULT_PROFILE);
    return 0;
}

void hv_vm_spec_free(hv_vm_spec *spec)
{
    if (!spec)
        return;
    free(spec->vnodes);
    free(spec->accels);
    free(spec->nics);
    free(spec->rdma);
    free(spec->disks);
    free(spec);
}

static int copy_array(void **dst, const void *src, size_t count, size_t size, size_t *cap)
{
    *dst = NULL;
    *cap = 0;
    if (!count)
        return 0;
    *dst = hv_reallocarray(NULL, count, size);
    if (!*dst)
        return HV_E_NOMEM;
    memcpy(*dst, src, count * size);
    *cap = count;
    return 0;
}

int hv_vm_spec_copy(const hv_vm_spec *spec, hv_vm_spec **out)
{
    hv_vm_spec *copy;

    HV_CHECK_ARG(spec, "spec");
    HV_CHECK_ARG(out, "copy");
    copy = hv_calloc(1, sizeof(*copy));
    *out = NULL;
    if (!copy)
        return HV_E_NOMEM;
    *copy = *spec;
    if (copy_array((void **)&copy->vnodes, spec->vnodes, spec->nvnodes, sizeof(*spec->vnodes),
                   &copy->vnodes_cap) < 0 ||
        copy_array((void **)&copy->accels, spec->accels, spec->naccels, sizeof(*spec->accels),
                   &copy->accels_cap) < 0 ||
        copy_array((void **)&copy->nics, spec->nics, spec->nnics, sizeof(*spec->nics),
                   &copy->nics_cap) < 0 ||
        copy_array((void **)&copy->rdma, spec->rdma, spec->nrdma, sizeof(*spec->rdma),
                   &copy->rdma_cap) < 0 ||
        copy_array((void **)&copy->disks, spec->disks, spec->ndisks, sizeof(*spec->disks),
                   &copy->disks_cap) < 0) {
        hv_vm_spec_free(copy);
        return HV_E_NOMEM;
    }
    *out = copy;
    return 0;
}

hv_vm_spec *hv_vm_spec_copy_arena(const hv_vm_spec *spec, hv_arena *arena)
{
    hv_vm_spec *copy = hv_arena_alloc_raw(arena, sizeof(*copy));

    if (!copy)
        return NULL;
    *copy = *spec;
#define COPY_ARRAY(field, count, cap)                                                              \
    do {                                                                                           \
        copy->cap = spec->count;                                                                   \
        copy->field = NULL;                                                                        \
        if (spec->count) {                                                                         \
            copy->field = hv_arena_alloc_raw(arena, spec->count * sizeof(*spec->field));           \
            if (!copy->field)                                                                      \
                return NULL;                                                                       \
            memcpy(copy->field, spec->field, spec->count * sizeof(*spec->field));                  \
        }                                                                                          \
    } while (0)
    COPY_ARRAY(vnodes, nvnodes, vnodes_cap);
    COPY_ARRAY(accels, naccels, accels_cap);
    COPY_ARRAY(nics, nnics, nics_cap);
    COPY_ARRAY(rdma, nrdma, rdma_cap);
    COPY_ARRAY(disks, ndisks, disks_cap);
#undef COPY_ARRAY
    return copy;
}

int hv_vm_spec_set_name(hv_vm_spec *spec, const char *name)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = hv_spec_check_name(name, "name");
    if (rc == 0)
        snprintf(spec->name, sizeof(spec->name), "%s", name);
    return rc;
}

int hv_vm_spec_set_vcpus(hv_vm_spec *spec, unsigned int vcpus)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = check_vcpus(vcpus, "vcpus");
    if (rc == 0)
        spec->vcpus = vcpus;
    return rc;
}

int hv_vm_spec_set_memory_bytes(hv_vm_spec *spec, uint64_t memory_bytes)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = hv_spec_check_memory(memory_bytes, "memory");
    if (rc == 0)
        spec->memory_bytes = memory_bytes;
    return rc;
}

int hv_vm_spec_set_firmware(hv_vm_spec *spec, int firmware)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = check_enum(firmware, firmware_names, "firmware");
    if (rc == 0)
        spec->firmware = firmware;
    return rc;
}

int hv_vm_spec_set_topology(hv_vm_spec *spec, unsigned int cores_per_socket,
                            unsigned int threads_per_core)
{
    HV_CHECK_ARG(spec, "spec");
    if (cores_per_socket > HV_SPEC_MAX_VCPUS)
        return hv_error_set(HV_E_SPEC, "cores_per_socket",
                            "cores_per_socket must be 0 (derive) or 1..%u", HV_SPEC_MAX_VCPUS);
    if (threads_per_core > 8)
        return hv_error_set(HV_E_SPEC, "threads_per_core",
                            "threads_per_core must be 0 (derive) or 1..8");
    spec->cores_per_socket = cores_per_socket;
    spec->threads_per_core = threads_per_core;
    return 0;
}

int hv_vm_spec_set_vnuma_policy(hv_vm_spec *spec, int policy)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = check_enum(policy, policy_names, "vnuma_policy");
    if (rc == 0)
        spec->vnuma_policy = policy;
    return rc;
}

int hv_vm_spec_set_vnuma_auto(hv_vm_spec *spec)
{
    HV_CHECK_ARG(spec, "spec");
    spec->nvnodes = 0;
    return 0;
}

int hv_vm_spec_add_vnuma_node(hv_vm_spec *spec, unsigned int vcpus, uint64_t memory_bytes)
{
    char path[64];
    int rc;

    HV_CHECK_ARG(spec, "spec");
    snprintf(path, sizeof(path), "vnuma[%zu]", spec->nvnodes);
    if (spec->nvnodes >= HV_SPEC_MAX_VNUMA_NODES)
        return hv_error_set(HV_E_SPEC, path, "at most %u vNUMA nodes", HV_SPEC_MAX_VNUMA_NODES);
    snprintf(path, sizeof(path), "vnuma[%zu].vcpus", spec->nvnodes);
    if ((rc = check_vcpus(vcpus, path)) < 0)
        return rc;
    snprintf(path, sizeof(path), "vnuma[%zu].memory", spec->nvnodes);
    if ((rc = hv_spec_check_memory(memory_bytes, path)) < 0)
        return rc;
    if (HV_ARRAY_RESERVE(spec->vnodes, spec->vnodes_cap, spec->nvnodes + 1) < 0)
        return HV_E_NOMEM;
    spec->vnodes[spec->nvnodes++] = (hv_spec_vnode){vcpus, memory_bytes};
    return 0;
}

int hv_vm_spec_set_prefer_ht(hv_vm_spec *spec, bool prefer_ht)
{
    HV_CHECK_ARG(spec, "spec");
    spec->prefer_ht = prefer_ht;
    return 0;
}

int hv_vm_spec_set_page_size(hv_vm_spec *spec, int page_size)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = check_enum(page_size, page_size_names, "page_size");
    if (rc == 0)
        spec->page_size = page_size;
    return rc;
}

int hv_vm_spec_set_cpu_placement(hv_vm_spec *spec, int placement)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = check_enum(placement, placement_names, "cpu_placement");
    if (rc == 0)
        spec->cpu_placement = placement;
    return rc;
}

static int add_accel(hv_vm_spec *spec, const char *pci_address, const char *model,
                     unsigned int count, int mode, const char *mdev_type)
{
    hv_spec_accel acc = {0};
    char path[64];
    int rc;

    snprintf(path, sizeof(path), "accelerators[%zu]", spec->naccels);
    if (spec->naccels >= HV_SPEC_MAX_DEVICES)
        return hv_error_set(HV_E_SPEC, path, "at most %u accelerators", HV_SPEC_MAX_DEVICES);
    snprintf(path, sizeof(path), "accelerators[%zu].mode", spec->naccels);
    if ((rc = check_enum(mode, accel_mode_names, path)) < 0)
        return rc;
    if (pci_address) {
        snprintf(path, sizeof(path), "accelerators[%zu].pci_address", spec->naccels);
        if ((rc = check_pci_address(pci_address, path)) < 0)
            return rc;
        snprintf(acc.pci_address, sizeof(acc.pci_address), "%s", pci_address);
    } else {
        snprintf(path, sizeof(path), "accelerators[%zu].model", spec->naccels);
        if ((rc = check_short_text(model, sizeof(acc.model) - 1, path)) < 0)
            return rc;
        if (!*model)
            return hv_error_set(HV_E_SPEC, path, "%s must not be empty", path);
        snprintf(acc.model, sizeof(acc.model), "%s", model);
        snprintf(path, sizeof(path), "accelerators[%zu].count", spec->naccels);
        if (count < 1 || count > HV_SPEC_MAX_DEVICES)
            return hv_error_set(HV_E_SPEC, path, "%s must be between 1 and %u (got %u)", path,
                                HV_SPEC_MAX_DEVICES, count);
    }
    acc.count = pci_address ? 1 : count;
    acc.mode = mode;
    snprintf(path, sizeof(path), "accelerators[%zu].mdev_type", spec->naccels);
    if (mode == HV_ACCEL_MODE_VGPU) {
        if (!mdev_type || !*mdev_type)
            return hv_error_set(HV_E_SPEC, path,
                                "%s is required with mode \"vgpu\": name one of the GPU's mdev "
                                "types (see `hpcvirt host`)",
                                path);
        if ((rc = check_short_text(mdev_type, sizeof(acc.mdev_type) - 1, path)) < 0)
            return rc;
        snprintf(acc.mdev_type, sizeof(acc.mdev_type), "%s", mdev_type);
    } else if (mdev_type && *mdev_type) {
        return hv_error_set(HV_E_SPEC, path, "%s is only meaningful with mode \"vgpu\"", path);
    }
    if (HV_ARRAY_RESERVE(spec->accels, spec->accels_cap, spec->naccels + 1) < 0)
        return HV_E_NOMEM;
    spec->accels[spec->naccels++] = acc;
    return 0;
}

int hv_vm_spec_add_accelerator(hv_vm_spec *spec, const char *pci_address, int mode,
                               const char *mdev_type)
{
    HV_CHECK_ARG(spec, "spec");
    HV_CHECK_ARG(pci_address, "pci_address");
    return add_accel(spec, pci_address, NULL, 1, mode, mdev_type);
}

int hv_vm_spec_add_accelerator_model(hv_vm_spec *spec, const char *model, unsigned int count,
                                     int mode, const char *mdev_type)
{
    HV_CHECK_ARG(spec, "spec");
    HV_CHECK_ARG(model, "model");
    return add_accel(spec, NULL, model, count, mode, mdev_type);
}

int hv_vm_spec_add_nic(hv_vm_spec *spec, const char *model, unsigned int queues,
                       unsigned int rss_flags, unsigned int tunnel_flags)
{
    hv_spec_nic nic = {0};
    char path[64];
    int rc;

    HV_CHECK_ARG(spec, "spec");
    snprintf(path, sizeof(path), "nics[%zu]", spec->nnics);
    if (spec->nnics >= HV_SPEC_MAX_DEVICES)
        return hv_error_set(HV_E_SPEC, path, "at most %u NICs", HV_SPEC_MAX_DEVICES);
    snprintf(path, sizeof(path), "nics[%zu].model", spec->nnics);
    if (!model)
        model = "virtio-net";
    if ((rc = check_nic_model(model, path)) < 0)
        return rc;
    if (strcmp(model, "virtio") == 0) /* libvirt's name of it */
        model = "virtio-net";
    snprintf(path, sizeof(path), "nics[%zu].queues", spec->nnics);
    if (queues > HV_SPEC_MAX_NIC_QUEUES)
        return hv_error_set(HV_E_SPEC, path, "%s must be 0 (automatic) or 1..%u (got %u)", path,
                            HV_SPEC_MAX_NIC_QUEUES, queues);
    snprintf(path, sizeof(path), "nics[%zu].rss", spec->nnics);
    if (rss_flags & ~(unsigned int)(HV_NIC_RSS_TCP | HV_NIC_RSS_UDP | HV_NIC_RSS_ESP))
        return hv_error_set(HV_E_SPEC, path, "%s has unknown flags 0x%x", path, rss_flags);
    snprintf(path, sizeof(path), "nics[%zu].tunnel_offloads", spec->nnics);
    if (tunnel_flags & ~(unsigned int)(HV_NIC_TUNNEL_VXLAN | HV_NIC_TUNNEL_GENEVE))
        return hv_error_set(HV_E_SPEC, path, "%s has unknown flags 0x%x", path, tunnel_flags);
    snprintf(nic.model, sizeof(nic.model), "%s", model);
    nic.queues = queues;
    nic.rss_flags = rss_flags;
    nic.tunnel_flags = tunnel_flags;
    if (HV_ARRAY_RESERVE(spec->nics, spec->nics_cap, spec->nnics + 1) < 0)
        return HV_E_NOMEM;
    spec->nics[spec->nnics++] = nic;
    return 0;
}

int hv_vm_spec_add_rdma(hv_vm_spec *spec, int protocol, int mode, unsigned int mtu)
{
    char path[64];
    int rc;

    HV_CHECK_ARG(spec, "spec");
    snprintf(path, sizeof(path), "rdma[%zu]", spec->nrdma);
    if (spec->nrdma >= HV_SPEC_MAX_DEVICES)
        return hv_error_set(HV_E_SPEC, path, "at most %u RDMA attachments", HV_SPEC_MAX_DEVICES);
    snprintf(path, sizeof(path), "rdma[%zu].protocol", spec->nrdma);
    if ((rc = check_enum(protocol, rdma_protocol_names, path)) < 0)
        return rc;
    snprintf(path, sizeof(path), "rdma[%zu].mode", spec->nrdma);
    if ((rc = check_enum(mode, rdma_mode_names, path)) < 0)
        return rc;
    snprintf(path, sizeof(path), "rdma[%zu].mtu", spec->nrdma);
    if ((rc = check_mtu(mtu, path)) < 0)
        return rc;
    if (HV_ARRAY_RESERVE(spec->rdma, spec->rdma_cap, spec->nrdma + 1) < 0)
        return HV_E_NOMEM;
    spec->rdma[spec->nrdma++] = (hv_spec_rdma){protocol, mode, mtu};
    return 0;
}

int hv_vm_spec_add_disk(hv_vm_spec *spec, const char *path, int format, int bus, bool read_only,
                        const char *serial, uint64_t size_bytes)
{
    hv_spec_disk *disk;
    char where[64];
    int rc;

    HV_CHECK_ARG(spec, "spec");
    snprintf(where, sizeof(where), "disks[%zu]", spec->ndisks);
    if (spec->ndisks >= HV_SPEC_MAX_DISKS)
        return hv_error_set(HV_E_SPEC, where, "at most %u disks", HV_SPEC_MAX_DISKS);
    snprintf(where, sizeof(where), "disks[%zu].path", spec->ndisks);
    if ((rc = check_file_path(path, where, "image")) < 0)
        return rc;
    snprintf(where, sizeof(where), "disks[%zu].format", spec->ndisks);
    if ((rc = check_enum(format, disk_format_names, where)) < 0)
        return rc;
    snprintf(where, sizeof(where), "disks[%zu].bus", spec->ndisks);
    if ((rc = check_enum(bus, disk_bus_names, where)) < 0)
        return rc;
    snprintf(where, sizeof(where), "disks[%zu].serial", spec->ndisks);
    if (!serial)
        serial = "";
    if ((rc = check_disk_serial(serial, where)) < 0)
        return rc;
    snprintf(where, sizeof(where), "disks[%zu].size", spec->ndisks);
    if (size_bytes && (rc = check_disk_size(size_bytes, where)) < 0)
        return rc;
    if (read_only && size_bytes)
        return hv_error_set(HV_E_SPEC, where,
                            "%s creates the image, but the disk is read_only: an empty read-only "
                            "disk is of no use (create the image first, or drop read_only)",
                            where);
    if (HV_ARRAY_RESERVE(spec->disks, spec->disks_cap, spec->ndisks + 1) < 0)
        return HV_E_NOMEM;
    disk = &spec->disks[spec->ndisks++];
    memset(disk, 0, sizeof(*disk));
    snprintf(disk->path, sizeof(disk->path), "%s", path);
    disk->format = format;
    disk->bus = bus;
    disk->read_only = read_only;
    snprintf(disk->serial, sizeof(disk->serial), "%s", serial);
    disk->size_bytes = size_bytes;
    return 0;
}

int hv_vm_spec_set_boot(hv_vm_spec *spec, const char *kernel, const char *initrd,
                        const char *cmdline)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    if (!initrd)
        initrd = "";
    if (!cmdline)
        cmdline = "";
    if (!kernel) {
        if (*initrd || *cmdline)
            return hv_error_set(HV_E_SPEC, "boot.kernel",
                                "boot.kernel is NULL, which clears the boot source, but %s was "
                                "given: name the kernel that boots with it, or pass NULL or \"\" "
                                "for the initrd and the command line too",
                                *initrd ? "an initrd" : "a command line");
        memset(&spec->boot, 0, sizeof(spec->boot));
        return 0;
    }
    if ((rc = check_file_path(kernel, "boot.kernel", "kernel")) < 0 ||
        (*initrd && (rc = check_file_path(initrd, "boot.initrd", "initrd")) < 0) ||
        (rc = check_cmdline(cmdline, "boot.cmdline")) < 0)
        return rc;
    snprintf(spec->boot.kernel, sizeof(spec->boot.kernel), "%s", kernel);
    snprintf(spec->boot.initrd, sizeof(spec->boot.initrd), "%s", initrd);
    snprintf(spec->boot.cmdline, sizeof(spec->boot.cmdline), "%s", cmdline);
    return 0;
}

int hv_vm_spec_set_guest_phys_bits(hv_vm_spec *spec, int bits)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = check_guest_phys_bits(bits, "guest_phys_bits");
    if (rc == 0)
        spec->guest_phys_bits = bits;
    return rc;
}

int hv_vm_spec_set_profile(hv_vm_spec *spec, const char *profile)
{
    int rc;

    HV_CHECK_ARG(spec, "spec");
    rc = check_profile(profile, "profile");
    if (rc == 0)
        snprintf(spec->profile, sizeof(spec->profile), "%s", profile);
    return rc;
}

const char *hv_vm_spec_name(const hv_vm_spec *spec)
{
    return spec ? spec->name : "";
}

unsigned int hv_vm_spec_vcpus(const hv_vm_spec *spec)
{
    return spec ? spec->vcpus : 0;
}

uint64_t hv_vm_spec_memory_bytes(const hv_vm_spec *spec)
{
    return spec ? spec->memory_bytes : 0;
}

const char *hv_vm_spec_profile(const hv_vm_spec *spec)
{
    return spec ? spec->profile : "";
}

const char *hv_vm_spec_boot_kernel(const hv_vm_spec *spec)
{
    return spec && spec->boot.kernel[0] ? spec->boot.kernel : NULL;
}

const char *hv_vm_spec_boot_initrd(const hv_vm_spec *spec)
{
    return spec && spec->boot.kernel[0] && spec->boot.initrd[0] ? spec->boot.initrd : NULL;
}

const char *hv_vm_spec_boot_cmdline(const hv_vm_spec *spec)
{
    return spec && spec->boot.kernel[0] && spec->boot.cmdline[0] ? spec->boot.cmdline : NULL;
}

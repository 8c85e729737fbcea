/*
 * host/pci.c - accelerators among the PCI functions: ids and class, kind and
 * catalogue model, NUMA node, IOMMU group, driver, link, SR-IOV, mdev (vGPU)
 * types and BARs from the `resource` file. Paths are built to their full
 * length, however long the tree's names and link targets: one too long to
 * open is a finding that says so (host/sysfs.c), never a shorter path read.
 */
#include "host/discover-steps.h"
#include "host/host.h"
#include "host/catalogue.h"
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCI_DEVICES "sys/bus/pci/devices"

/* Read "<dir>/<attr>" as a hex/decimal number; absent gives `fallback`. */
static int read_attr_u64(hv_host *host, const hv_sysfs *fs, const char *dir, const char *attr,
                         uint64_t max, uint64_t fallback, uint64_t *out)
{
    char *path = hv_path_join(dir, attr);
    int rc = path ? hv_sysfs_read_u64(fs, path, out) : HV_E_NOMEM;

    if (rc == 0 && *out > max)
        rc = hv_error_set(HV_E_RANGE, path, "%s: %llu is out of range (at most %llu)", path,
                          (unsigned long long)*out, (unsigned long long)max);
    free(path);
    if (rc < 0)
        *out = fallback;
    return hv_host_note_unless_absent(host, rc, "host.pci.attribute");
}

static int read_attr_text(hv_host *host, const hv_sysfs *fs, const char *dir, const char *attr,
                          char **out)
{
    char *path = hv_path_join(dir, attr);
    int rc = path ? hv_sysfs_read_line(fs, path, out) : HV_E_NOMEM;

    free(path);
    if (rc < 0 && !(*out = hv_strdup("")))
        return HV_E_NOMEM;
    return hv_host_note_unless_absent(host, rc, "host.pci.attribute");
}

static int read_numa_node(hv_host *host, const hv_sysfs *fs, const char *dir, int *node)
{
    char *path = hv_path_join(dir, "numa_node");
    int64_t v;
    int rc = path ? hv_sysfs_read_i64(fs, path, &v) : HV_E_NOMEM;

    *node = -1;
    if (rc == 0 && (v < -1 || v > HV_MAX_NODE_ID))
        rc = hv_error_set(HV_E_RANGE, path, "%s: node %lld does not exist (at most %d)", path,
                          (long long)v, HV_MAX_NODE_ID);
    free(path);
    if (rc < 0)
        return hv_host_note_unless_absent(host, rc, "host.pci.numa-node");
    *node = (int)v;
    return 0;
}

static int read_bars(hv_host *host, const hv_sysfs *fs, const char *dir, struct hv_accelerator *acc)
{
    hv_resource_line lines[6];
    char *path = hv_path_join(dir, "resource"), *text;
    size_t n = 0;
    int rc = path ? hv_sysfs_read(fs, path, 1 << 16, &text) : HV_E_NOMEM;

    if (rc == 0) {
        rc = hv_parse_resource(text, lines, 6, &n, path);
        free(text);
    }
    if (rc < 0) {
        free(path);
        return hv_host_note_unless_absent(host, rc, "host.pci.resource");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct hv_pci_bar *bar;
        uint64_t total;

        if (!lines[i].size)
            continue;
        if (!hv_add_u64(acc->bar_total_bytes, lines[i].size, &total)) {
            rc =
                hv_findings_add(&host->findings, HV_SEVERITY_WARNING, "host.pci.bar-overflow", path,
                                "%s: the BAR sizes of %s add up to more than 2^64 bytes: BAR %zu "
                                "is left out",
                                path, acc->pci_address, i);
            continue;
        }
        bar = &acc->bars[acc->nbars++];
        bar->index = (unsigned int)i;
        bar->start = lines[i].start;
        bar->size_bytes = lines[i].size;
        bar->is_io = lines[i].flags & HV_IORESOURCE_IO;
        bar->is_64bit = lines[i].flags & HV_IORESOURCE_MEM_64;
        bar->prefetchable = lines[i].flags & HV_IORESOURCE_PREFETCH;
        acc->bar_total_bytes = total;
    }
    free(path);
    return rc;
}

static int read_mdev_types(hv_host *host, const hv_sysfs *fs, const char *dir,
                           struct hv_accelerator *acc)
{
    char *types_dir = hv_path_join(dir, "mdev_supported_types"), **names;
    size_t n;
    int rc = types_dir ? hv_sysfs_list(fs, types_dir, NULL, &names, &n) : HV_E_NOMEM;

    if (rc < 0) {
        free(types_dir);
        return hv_host_note_unless_absent(host, rc, "host.pci.attribute");
    }
    acc->mdev = hv_calloc(n, sizeof(*acc->mdev));
    if (!acc->mdev) {
        free(types_dir);
        hv_sysfs_list_free(names, n);
        return HV_E_NOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        hv_mdev_type *t = &acc->mdev[acc->nmdev++];
        char *type_dir = hv_path_join(types_dir, names[i]);
        uint64_t avail;

        t->id = hv_strdup(names[i]);
        if (!type_dir || !t->id) {
            free(type_dir);
            rc = HV_E_NOMEM;
            break;
        }
        if ((rc = read_attr_text(host, fs, type_dir, "name", &t->name)) == 0 &&
            (rc = read_attr_text(host, fs, type_dir, "device_api", &t->device_api)) == 0 &&
            (rc = read_attr_u64(host, fs, type_dir, "available_instances", 1 << 20, 0, &avail)) ==
                0)
            t->available = (int)avail;
        free(type_dir);
    }
    free(types_dir);
    hv_sysfs_list_free(names, n);
    return rc;
}

static int read_iommu_group(hv_host *host, const hv_sysfs *fs, const char *dir,
                            struct hv_accelerator *acc)
{
    char *path = hv_path_join(dir, "iommu_group"), *group = NULL, **members, *end;
    char members_dir[64];
    size_t n, len = 1;
    long v;
    int rc = path ? hv_sysfs_link_basename(fs, path, &group) : HV_E_NOMEM;

    acc->iommu_group = -1;
    if (rc < 0) {
        free(path);
        acc->iommu_group_members = hv_strdup("");
        return acc->iommu_group_members
                   ? hv_host_note_unless_absent(host, rc, "host.pci.iommu-group")
                   : HV_E_NOMEM;
    }
    v = strtol(group, &end, 10);
    if (end == group || *end || v < 0 || v > 1000000) {
        hv_error_set(HV_E_PARSE, path,
                     "%s: the link's target does not end in an IOMMU group number", path);
        free(group);
        free(path);
        return hv_host_note_file_problem(host, "host.pci.iommu-group", HV_SEVERITY_WARNING);
    }
    free(group);
    free(path);
    acc->iommu_group = (int)v;
    /* a number of at most 7 digits: it fits */
    snprintf(members_dir, sizeof(members_dir), "sys/kernel/iommu_groups/%ld/devices", v);
    rc = hv_sysfs_list(fs, members_dir, NULL, &members, &n);
    if (rc < 0) {
        /* The group's member list was not captured: the device alone is what we know. */
        acc->iommu_group_members = hv_strdup(acc->pci_address);
        return acc->iommu_group_members
                   ? hv_host_note_unless_absent(host, rc, "host.pci.iommu-group")
                   : HV_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        len += strlen(members[i]) + 1;
    acc->iommu_group_members = hv_calloc(len, 1);
    if (acc->iommu_group_members) {
        /* "a,b,c" written at its end each time: a listing may have 65536 entries */
        for (size_t i = 0, at = 0; i < n; i++) {
            size_t l = strlen(members[i]);

            if (i)
                acc->iommu_group_members[at++] = ',';
            memcpy(acc->iommu_group_members + at, members[i], l + 1);
            at += l;
        }
    }
    hv_sysfs_list_free(members, n);
    return acc->iommu_group_members ? 0 : HV_E_NOMEM;
}

/* Fill in everything about an accelerator at resolved device directory `dir`. */
static int read_accelerator(hv_host *host, const hv_sysfs *fs, const char *dir,
                            struct hv_accelerator *acc)
{
    const hv_catalogue_entry *entry;
    uint64_t v;
    int rc;
    char *path;

    entry = hv_catalogue_by_ids(acc->vendor_id, acc->device_id);
    acc->model = entry ? entry->name : "";
    acc->model_id = entry ? entry->id : "";
    if ((rc = read_attr_u64(host, fs, dir, "subsystem_vendor", 0xffff, 0, &v)) < 0)
        return rc;
    acc->subsystem_vendor_id = (uint16_t)v;
    if ((rc = read_attr_u64(host, fs, dir, "subsystem_device", 0xffff, 0, &v)) < 0)
        return rc;
    acc->subsystem_device_id = (uint16_t)v;
    if ((rc = read_numa_node(host, fs, dir, &acc->numa_node)) < 0 ||
        (rc = read_attr_text(host, fs, dir, "local_cpulist", &acc->local_cpulist)) < 0 ||
        (rc = read_attr_text(host, fs, dir, "current_link_speed", &acc->link_speed)) < 0 ||
        (rc = read_attr_text(host, fs, dir, "max_link_speed", &acc->max_link_speed)) < 0)
        return rc;
    if ((rc = read_attr_u64(host, fs, dir, "current_link_width", 64, 0, &v)) < 0)
        return rc;
    acc->link_width = (unsigned int)v;
    if ((rc = read_attr_u64(host, fs, dir, "max_link_width", 64, 0, &v)) < 0)
        return rc;
    acc->max_link_width = (unsigned int)v;
    if ((rc = read_attr_u64(host, fs, dir, "sriov_totalvfs", 65535, 0, &v)) < 0)
        return rc;
    acc->sriov_total_vfs = (unsigned int)v;
    if ((rc = read_attr_u64(host, fs, dir, "sriov_numvfs", 65535, 0, &v)) < 0)
        return rc;
    acc->sriov_enabled_vfs = (unsigned int)v;
    path = hv_path_join(dir, "driver");
    rc = path ? hv_sysfs_link_basename(fs, path, &acc->driver) : HV_E_NOMEM;
    free(path);
    if (rc < 0) {
        if (rc == HV_E_NOMEM || !(acc->driver = hv_strdup("")))
            return HV_E_NOMEM;
        if ((rc = hv_host_note_unless_absent(host, rc, "host.pci.driver")) < 0)
            return rc;
    }
    if ((rc = read_iommu_group(host, fs, dir, acc)) < 0 ||
        (rc = read_mdev_types(host, fs, dir, acc)) < 0)
        return rc;
    return read_bars(host, fs, dir, acc);
}

static int compare_accel(const void *a, const void *b)
{
    return strcmp(((const struct hv_accelerator *)a)->pci_address,
                  ((const struct hv_accelerator *)b)->pci_address);
}

int hv_host_discover_pci(hv_host *host, const hv_sysfs *fs)
{
    char **names;
    size_t n;
    int rc = hv_sysfs_list(fs, PCI_DEVICES, NULL, &names, &n);

    if (rc < 0) /* absent: no PCI bus (or not captured) */
        return hv_host_note_unless_absent(host, rc, "host.pci.device");
    for (size_t i = 0; i < n && rc >= 0; i++) {
        char *entry = NULL, *dir = NULL;
        uint64_t vendor, device, class_code;
        struct hv_accelerator *acc;

        rc = 0;
        if (!hv_is_pci_address(names[i]))
            continue;
        entry = hv_path_join(PCI_DEVICES, names[i]);
        if (!entry) {
            rc = HV_E_NOMEM;
            break;
        }
        rc = hv_sysfs_resolve(fs, entry, &dir);
        free(entry);
        if (rc < 0) {
            rc = rc == HV_E_NOMEM
                     ? rc
                     : hv_host_note_file_problem(host, "host.pci.device", HV_SEVERITY_WARNING);
            continue;
        }
        if ((rc = read_attr_u64(host, fs, dir, "vendor", 0xffff, 0xffff, &vendor)) < 0 ||
            (rc = read_attr_u64(host, fs, dir, "device", 0xffff, 0xffff, &device)) < 0 ||
            (rc = read_attr_u64(host, fs, dir, "class", 0xffffff, 0, &class_code)) < 0 ||
            hv_accel_kind_from_pci((uint16_t)vendor, (uint16_t)device, (uint32_t)class_code) == 0 ||
            vendor == 0xffff) {
            free(dir);
            continue;
        }
        if (HV_ARRAY_RESERVE(host->accels, host->accels_cap, host->naccels + 1) < 0) {
            free(dir);
            rc = HV_E_NOMEM;
            break;
        }
        acc = &host->accels[host->naccels++];
        acc->vendor_id = (uint16_t)vendor;
        acc->device_id = (uint16_t)device;
        acc->class_code = (uint32_t)class_code;
        acc->kind = hv_accel_kind_from_pci(acc->vendor_id, acc->device_id, acc->class_code);
        acc->pci_address = hv_strdup(names[i]);
        rc = acc->pci_address ? read_accelerator(host, fs, dir, acc) : HV_E_NOMEM;
        free(dir);
    }
    hv_sysfs_list_free(names, n);
    if (rc < 0)
        return rc;
    if (host->naccels > 1)
        qsort(host->accels, host->naccels, sizeof(*host->accels), compare_accel);
    return 0;
}

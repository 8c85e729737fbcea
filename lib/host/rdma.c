/*
 * host/rdma.c - RDMA devices from /sys/class/infiniband: node type,
 * firmware, ports (state, rate, link layer, active MTU) and their GID tables
 * with RoCE types and netdevs; the PCI function behind each and its node.
 * Paths are built to their full length, however long the tree's names and
 * link targets: one too long to open is a finding that says so
 * (host/sysfs.c), never a shorter path read.
 */
#include "host/discover-steps.h"
#include "host/host.h"
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IB_CLASS "sys/class/infiniband"

static int note(hv_host *host, int rc)
{
    if (rc == HV_E_NOMEM)
        return rc;
    return hv_host_note_file_problem(host, "host.rdma.attribute", HV_SEVERITY_WARNING);
}

/* Read "<dir>/<attr>" trimmed; absent -> "" (no finding), unreadable -> "" + finding. */
static int read_text(hv_host *host, const hv_sysfs *fs, const char *dir, const char *attr,
                     char **out)
{
    char *path = hv_path_join(dir, attr);
    int rc = path ? hv_sysfs_read_line(fs, path, out) : HV_E_NOMEM;

    free(path);
    if (rc == 0)
        return 0;
    *out = hv_strdup("");
    if (!*out)
        return HV_E_NOMEM;
    return hv_host_note_unless_absent(host, rc, "host.rdma.attribute");
}

/* "4: ACTIVE" -> "ACTIVE" (kept verbatim when it has no number). */
static int read_state(hv_host *host, const hv_sysfs *fs, const char *dir, const char *attr,
                      char **out)
{
    char name[64], *path;
    int number, rc = read_text(host, fs, dir, attr, out);

    if (rc < 0 || !**out)
        return rc;
    if (!(path = hv_path_join(dir, attr)))
        return HV_E_NOMEM;
    rc = hv_parse_numbered_state(*out, &number, name, sizeof(name), path);
    free(path);
    if (rc < 0)
        return note(host, rc);
    free(*out);
    *out = hv_strdup(name);
    return *out ? 0 : HV_E_NOMEM;
}

static bool gid_is_zero(const char *gid)
{
    for (const char *p = gid; *p; p++)
        if (*p != '0' && *p != ':')
            return false;
    return true;
}

static int read_gids(hv_host *host, const hv_sysfs *fs, const char *port_dir,
                     struct hv_rdma_port *port)
{
    char *gid_dir = hv_path_join(port_dir, "gids"), **names;
    char *types_dir = hv_path_join(port_dir, "gid_attrs/types");
    char *ndevs_dir = hv_path_join(port_dir, "gid_attrs/ndevs");
    size_t n = 0, cap = 0;
    int rc = gid_dir && types_dir && ndevs_dir ? hv_sysfs_list(fs, gid_dir, NULL, &names, &n)
                                               : HV_E_NOMEM;

    if (rc < 0) {
        names = NULL;
        rc = hv_host_note_unless_absent(host, rc, "host.rdma.attribute");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *end, *text = NULL, *type = NULL, *path;
        unsigned long index = strtoul(names[i], &end, 10);
        struct hv_rdma_gid *gid;

        if (end == names[i] || *end || index > 65535)
            continue;
        if (!(path = hv_path_join(gid_dir, names[i]))) {
            rc = HV_E_NOMEM;
            break;
        }
        rc = hv_sysfs_read_line(fs, path, &text);
        if (rc < 0 || gid_is_zero(text) || strlen(text) != 39) {
            if (rc < 0)
                rc = note(host, rc);
            else if (!gid_is_zero(text))
                rc = hv_findings_add(&host->findings, HV_SEVERITY_WARNING, "host.rdma.gid", path,
                                     "%s is not a GID: expected 8 groups of 4 hex digits "
                                     "joined by ':' (39 characters)",
                                     path);
            free(text);
            free(path);
            continue;
        }
        free(path);
        if (HV_ARRAY_RESERVE(port->gids, cap, port->ngids + 1) < 0) {
            free(text);
            rc = HV_E_NOMEM;
            break;
        }
        gid = &port->gids[port->ngids++];
        gid->index = (unsigned int)index;
        gid->text = text;
        if ((rc = read_text(host, fs, types_dir, names[i], &type)) < 0)
            break;
        gid->type = strcmp(type, "IB/RoCE v1") == 0 ? HV_RDMA_GID_IB_ROCE_V1
                    : strcmp(type, "RoCE v2") == 0  ? HV_RDMA_GID_ROCE_V2
                                                    : HV_RDMA_GID_UNKNOWN;
        free(type);
        rc = read_text(host, fs, ndevs_dir, names[i], &gid->netdev);
    }
    hv_sysfs_list_free(names, n);
    free(gid_dir);
    free(types_dir);
    free(ndevs_dir);
    return rc;
}

static int read_port(hv_host *host, const hv_sysfs *fs, const char *dev_dir, const char *name,
                     struct hv_rdma_port *port)
{
    char *port_dir = hv_asprintf("%s/ports/%s", dev_dir, name), *layer = NULL;
    int rc = port_dir ? 0 : HV_E_NOMEM;

    port->number = (unsigned int)strtoul(name, NULL, 10);
    if (rc < 0 || (rc = read_state(host, fs, port_dir, "state", &port->state)) < 0 ||
        (rc = read_state(host, fs, port_dir, "phys_state", &port->phys_state)) < 0 ||
        (rc = read_text(host, fs, port_dir, "rate", &port->rate)) < 0 ||
        (rc = read_text(host, fs, port_dir, "link_layer", &layer)) < 0) {
        free(port_dir);
        return rc;
    }
    port->rate_gbps = hv_parse_rate_gbps(port->rate);
    port->link_layer = strcmp(layer, "InfiniBand") == 0 ? HV_RDMA_LINK_INFINIBAND
                       : strcmp(layer, "Ethernet") == 0 ? HV_RDMA_LINK_ETHERNET
                                                        : HV_RDMA_LINK_UNKNOWN;
    free(layer);
    rc = read_gids(host, fs, port_dir, port);
    free(port_dir);
    if (rc < 0)
        return rc;
    /* A RoCE port's netdev is its GIDs' netdev; its MTU follows from that netdev's. */
    for (size_t g = 0; g < port->ngids && !port->netdev; g++)
        if (port->gids[g].netdev && *port->gids[g].netdev)
            port->netdev = hv_strdup(port->gids[g].netdev);
    if (!port->netdev && !(port->netdev = hv_strdup("")))
        return HV_E_NOMEM;
    if (port->link_layer == HV_RDMA_LINK_ETHERNET && *port->netdev) {
        char *path = hv_asprintf("sys/class/net/%s/mtu", port->netdev);
        uint64_t mtu;

        rc = path ? hv_sysfs_read_u64(fs, path, &mtu) : HV_E_NOMEM;
        free(path);
        if (rc == 0 && mtu <= 65536)
            port->active_mtu = hv_roce_active_mtu((unsigned int)mtu);
        else if (rc != HV_E_NOTFOUND && (rc = note(host, rc < 0 ? rc : HV_E_PARSE)) < 0)
            return rc;
    }
    return 0;
}

/* The PCI addresses behind the PF's virtfnN links, in N order. */
static int read_vfs(hv_host *host, const hv_sysfs *fs, const char *pci_dir,
                    struct hv_rdma_device *dev)
{
    char **names;
    size_t n;
    int rc = hv_sysfs_list(fs, pci_dir, "virtfn", &names, &n);

    if (rc < 0)
        return hv_host_note_unless_absent(host, rc, "host.rdma.attribute");
    dev->vfs = hv_calloc(n, sizeof(*dev->vfs));
    rc = dev->vfs ? 0 : HV_E_NOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *link = hv_path_join(pci_dir, names[i]), *vf = NULL;

        if (!link) {
            rc = HV_E_NOMEM;
            break;
        }
        if (hv_sysfs_link_basename(fs, link, &vf) == 0 && hv_is_pci_address(vf))
            dev->vfs[dev->nvfs++] = vf;
        else
            free(vf);
        free(link);
    }
    hv_sysfs_list_free(names, n);
    return rc;
}

/*
 * The NUMA node and SR-IOV VFs of the PCI function at `pci_dir` behind an
 * RDMA device; each attribute is optional (absent or out of range: unknown),
 * a file there that cannot be read is a finding.
 */
static int read_pci_function(hv_host *host, const hv_sysfs *fs, const char *pci_dir,
                             struct hv_rdma_device *dev)
{
    static const char *const attrs[] = {"numa_node", "sriov_totalvfs", "sriov_numvfs"};
    int64_t values[3] = {-1, 0, 0};
    int rc = 0;

    for (size_t i = 0; i < 3 && rc == 0; i++) {
        char *path = hv_path_join(pci_dir, attrs[i]);

        rc = path ? hv_sysfs_read_i64(fs, path, &values[i]) : HV_E_NOMEM;
        free(path);
        rc = hv_host_note_unless_absent(host, rc, "host.rdma.attribute");
    }
    if (values[0] >= -1 && values[0] <= HV_MAX_NODE_ID)
        dev->numa_node = (int)values[0];
    if (values[1] >= 0 && values[1] <= 65535)
        dev->sriov_total_vfs = (unsigned int)values[1];
    if (values[2] >= 0 && values[2] <= 65535)
        dev->sriov_enabled_vfs = (unsigned int)values[2];
    return rc < 0 ? rc : read_vfs(host, fs, pci_dir, dev);
}

/* 0 when read, 1 when the device is unreadable (a finding says why), or HV_E_NOMEM. */
static int read_device(hv_host *host, const hv_sysfs *fs, const char *name,
                       struct hv_rdma_device *dev)
{
    char *entry, *dir = NULL, *pci_dir = NULL, *path = NULL, **ports;
    size_t nports;
    int rc;

    if (!(dev->name = hv_strdup(name)) || !(entry = hv_path_join(IB_CLASS, name)))
        return HV_E_NOMEM;
    dev->numa_node = -1;
    rc = hv_sysfs_resolve(fs, entry, &dir);
    free(entry);
    if (rc < 0)
        return rc == HV_E_NOMEM ? rc : note(host, rc) < 0 ? HV_E_NOMEM : 1;
    if ((rc = read_state(host, fs, dir, "node_type", &dev->node_type)) < 0 ||
        (rc = read_text(host, fs, dir, "fw_ver", &dev->fw_version)) < 0 ||
        (rc = read_text(host, fs, dir, "node_guid", &dev->node_guid)) < 0)
        goto out;
    if (!(path = hv_path_join(dir, "device"))) {
        rc = HV_E_NOMEM;
        goto out;
    }
    rc = hv_sysfs_resolve(fs, path, &pci_dir);
    if (rc == 0) {
        const char *base = strrchr(pci_dir, '/');

        base = base ? base + 1 : pci_dir;
        if (hv_is_pci_address(base)) {
            dev->pci_address = hv_strdup(base);
            rc = dev->pci_address ? read_pci_function(host, fs, pci_dir, dev) : HV_E_NOMEM;
            if (rc < 0)
                goto out;
        }
    } else if ((rc = hv_host_note_unless_absent(host, rc, "host.rdma.attribute")) < 0) {
        goto out;
    }
    if (!dev->pci_address && !(dev->pci_address = hv_strdup(""))) {
        rc = HV_E_NOMEM;
        goto out;
    }
    free(path);
    if (!(path = hv_path_join(dir, "ports"))) {
        rc = HV_E_NOMEM;
        goto out;
    }
    rc = hv_sysfs_list(fs, path, NULL, &ports, &nports);
    if (rc < 0) {
        rc = hv_host_note_unless_absent(host, rc, "host.rdma.attribute");
        goto out;
    }
    dev->ports = hv_calloc(nports, sizeof(*dev->ports));
    if (!dev->ports)
        rc = HV_E_NOMEM;
    for (size_t i = 0; i < nports && rc == 0; i++) {
        char *end;
        unsigned long number = strtoul(ports[i], &end, 10);

        if (end == ports[i] || *end || number == 0 || number > 255)
            continue;
        rc = read_port(host, fs, dir, ports[i], &dev->ports[dev->nports++]);
    }
    hv_sysfs_list_free(ports, nports);
out:
    free(path);
    free(pci_dir);
    free(dir);
    return rc;
}

int hv_host_discover_rdma(hv_host *host, const hv_sysfs *fs)
{
    char **names;
    size_t n;
    int rc = hv_sysfs_list(fs, IB_CLASS, NULL, &names, &n);

    if (rc < 0)
        return hv_host_note_unless_absent(host, rc, "host.rdma.attribute");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (HV_ARRAY_RESERVE(host->rdma, host->rdma_cap, host->nrdma + 1) < 0) {
            rc = HV_E_NOMEM;
            break;
        }
        rc = read_device(host, fs, names[i], &host->rdma[host->nrdma]);
        if (rc == 0) {
            host->nrdma++;
        } else {
            /* unreadable device (rc 1, a finding says why) or out of memory */
            hv_rdma_device_clear(&host->rdma[host->nrdma]);
            rc = rc > 0 ? 0 : rc;
        }
    }
    hv_sysfs_list_free(names, n);
    return rc;
}

/*
 * plan/devices.c - the devices of a plan: accelerators resolved to host PCI
 * functions (or to catalogue models when the host lacks them), checked for
 * existence, double use, IOMMU isolation and vGPU types; NICs (queues, RSS,
 * offloads, mapped to virtio-net); RDMA attachments matched to host ports.
 */
#include "core/format.h"
#include "plan/plan.h"
#include "host/catalogue.h"
#include "core/alloc.h"
#include "core/text.h"

#include <stdio.h>
#include <string.h>

/* The longest text field of a device (model, mdev_type), with its NUL. */
#define FIELD_MAX 48

/*
 * A text from the host or the spec into a device's field of `size` bytes:
 * valid UTF-8 (the plan's JSON holds nothing else), cut at a character
 * boundary when it is longer.
 */
static void copy_text(char *field, size_t size, const char *text)
{
    hv_utf8_repair_n(field, size, text, strlen(text));
}

/* Whether a field copy_text() filled holds `text`, cut the way copy_text() cuts it. */
static bool field_is(const char *field, size_t size, const char *text)
{
    char stored[FIELD_MAX];

    return strcmp(field, hv_utf8_repair_n(stored, size < sizeof(stored) ? size : sizeof(stored),
                                          text, strlen(text))) == 0;
}

static struct hv_plan_device *new_device(hv_plan *plan, int type, const char *path)
{
    struct hv_plan_device *dev;

    if (plan->ndevices == plan->devices_cap) {
        size_t cap = plan->devices_cap ? plan->devices_cap * 2 : 8;
        struct hv_plan_device *grown = hv_arena_alloc_raw(&plan->arena, cap * sizeof(*grown));

        if (!grown)
            return NULL;
        if (plan->ndevices)
            memcpy(grown, plan->devices, plan->ndevices * sizeof(*grown));
        plan->devices = grown;
        plan->devices_cap = cap;
    }
    dev = &plan->devices[plan->ndevices++];
    memset(dev, 0, sizeof(*dev));
    dev->type = type;
    dev->host_node = -1;
    dev->vnode = -1;
    hv_strlcpy(dev->spec_path, path, sizeof(dev->spec_path));
    return dev;
}

static bool address_used(const hv_plan *plan, const char *address, const char *ignore_path)
{
    for (size_t i = 0; i < plan->ndevices; i++)
        if (plan->devices[i].pci_address[0] &&
            field_is(plan->devices[i].pci_address, sizeof(plan->devices[i].pci_address), address) &&
            strcmp(plan->devices[i].spec_path, ignore_path) != 0 &&
            plan->devices[i].mode != HV_ACCEL_MODE_VGPU)
            return true;
    return false;
}

static void copy_bars(struct hv_plan_device *dev, const struct hv_accelerator *acc)
{
    dev->nbars = 0;
    for (size_t i = 0; i < acc->nbars && dev->nbars < 6; i++) {
        if (acc->bars[i].is_io)
            continue;
        dev->bars[dev->nbars].size_bytes = acc->bars[i].size_bytes;
        dev->bars[dev->nbars].in_64bit_window = acc->bars[i].is_64bit && acc->bars[i].prefetchable;
        dev->nbars++;
    }
}

static void copy_catalogue_bars(struct hv_plan_device *dev, const hv_catalogue_entry *e)
{
    dev->nbars = 0;
    for (size_t i = 0; i < e->bar_count && i < 6; i++) {
        dev->bars[dev->nbars].size_bytes = e->bars[i].size_bytes;
        dev->bars[dev->nbars].in_64bit_window = e->bars[i].is_64bit && e->bars[i].prefetchable;
        dev->nbars++;
    }
}

/* vGPU instances of `type` already planned on the device at `address`. */
static unsigned int vgpus_planned(const hv_plan *plan, const char *address, const char *type)
{
    unsigned int n = 0;

    for (size_t i = 0; i < plan->ndevices; i++)
        n +=
            plan->devices[i].mode == HV_ACCEL_MODE_VGPU &&
            field_is(plan->devices[i].pci_address, sizeof(plan->devices[i].pci_address), address) &&
            field_is(plan->devices[i].mdev_type, sizeof(plan->devices[i].mdev_type), type);
    return n;
}

static int find_mdev(const struct hv_accelerator *acc, const char *type)
{
    for (size_t i = 0; i < acc->nmdev; i++)
        if (strcmp(acc->mdev[i].id, type) == 0 || strcmp(acc->mdev[i].name, type) == 0)
            return (int)i;
    return -1;
}

/* Whether host accelerator `acc` can still serve `want` (free, or vGPU capacity left). */
static bool accel_usable(const hv_plan *plan, const struct hv_accelerator *acc,
                         const hv_spec_accel *want)
{
    int t;

    if (want->mode != HV_ACCEL_MODE_VGPU)
        return !address_used(plan, acc->pci_address, "");
    t = find_mdev(acc, want->mdev_type);
    return t >= 0 && vgpus_planned(plan, acc->pci_address, acc->mdev[t].id) <
                         (unsigned int)(acc->mdev[t].available > 0 ? acc->mdev[t].available : 0);
}

/* Checks for one host accelerator used in `mode`; adds findings. */
static int check_accelerator(hv_plan *plan, const hv_host *host, const struct hv_accelerator *acc,
                             const hv_spec_accel *want, const char *path,
                             struct hv_plan_device *dev)
{
    int rc = 0;

    copy_text(dev->pci_address, sizeof(dev->pci_address), acc->pci_address);
    copy_text(dev->model, sizeof(dev->model),
              acc->model_id && *acc->model_id ? acc->model_id : acc->model);
    dev->host_node = acc->numa_node;
    if (want->mode == HV_ACCEL_MODE_VGPU) {
        int t = find_mdev(acc, want->mdev_type);

        if (t < 0)
            return hv_plan_error(plan, "plan.device.mdev-type", path,
                                 "%s (%s) has no vGPU type '%s'%s: `hpcvirt host` lists its types",
                                 acc->pci_address, acc->model[0] ? acc->model : "accelerator",
                                 want->mdev_type, acc->nmdev ? "" : " (it has none)");
        copy_text(dev->mdev_type, sizeof(dev->mdev_type), acc->mdev[t].id);
        if (vgpus_planned(plan, acc->pci_address, acc->mdev[t].id) >
            (unsigned int)(acc->mdev[t].available > 0 ? acc->mdev[t].available : 0))
            rc |= hv_plan_error(plan, "plan.device.mdev-available", path,
                                "%s has %d '%s' vGPU instances available, fewer than planned",
                                acc->pci_address, acc->mdev[t].available, acc->mdev[t].name);
        return rc;
    }
    /* The GPU's own BARs are behind the host: vGPUs get emulated ones. */
    copy_bars(dev, acc);
    if (want->mode == HV_ACCEL_MODE_FPGA && acc->kind != HV_ACCELERATOR_FPGA)
        rc |= hv_plan_error(plan, "plan.device.not-fpga", path,
                            "%s is a %s, not an FPGA: use mode \"passthrough\"", acc->pci_address,
                            hv_accelerator_kind_name(acc->kind));
    if (acc->iommu_group < 0) {
        rc |= hv_plan_error(plan, "plan.device.no-iommu", path,
                            "%s has no IOMMU group: the host's IOMMU is off, so nothing can be "
                            "passed through; enable VT-d/AMD-Vi in the firmware and boot with "
                            "intel_iommu=on (or amd_iommu=on) iommu=pt",
                            acc->pci_address);
    } else {
        /* every other member of the group must be passed through too */
        const char *p = acc->iommu_group_members;

        while (p && *p) {
            char member[16];
            size_t len = strcspn(p, ",");

            hv_format(member, sizeof(member), "%.*s", (int)(len < 15 ? len : 15), p);
            if (strcmp(member, acc->pci_address) != 0) {
                bool also = false;

                for (size_t i = 0; i < plan->spec->naccels; i++)
                    also |= strcmp(plan->spec->accels[i].pci_address, member) == 0;
                if (!also)
                    rc |= hv_plan_error(plan, "plan.device.iommu-group", path,
                                        "%s shares IOMMU group %d with %s, which the VM does "
                                        "not take: pass that function through too, or move the "
                                        "card to a slot with its own group (ACS)",
                                        acc->pci_address, acc->iommu_group, member);
            }
            p += len;
            if (*p == ',')
                p++;
        }
    }
    (void)host;
    return rc;
}

static int plan_accelerators(hv_plan *plan, const hv_host *host)
{
    int rc = 0;

    for (size_t i = 0; i < plan->spec->naccels; i++) {
        const hv_spec_accel *want = &plan->spec->accels[i];
        char path[40];

        hv_format(path, sizeof(path), "accelerators[%zu]", i);
        if (want->pci_address[0]) {
            const struct hv_accelerator *acc =
                hv_host_accelerator_by_address(host, want->pci_address);
            struct hv_plan_device *dev;

            if (!acc) {
                rc |= hv_plan_error(plan, "plan.device.not-found", path,
                                    "the host has no accelerator at %s: `hpcvirt host` lists "
                                    "its GPUs and FPGAs",
                                    want->pci_address);
                continue;
            }
            if (want->mode != HV_ACCEL_MODE_VGPU && address_used(plan, want->pci_address, "")) {
                rc |= hv_plan_error(plan, "plan.device.duplicate", path,
                                    "%s is already used by this VM: each device can be passed "
                                    "through once",
                                    want->pci_address);
                continue;
            }
            dev = new_device(plan, HV_PLAN_DEVICE_ACCELERATOR, path);
            if (!dev)
                return HV_E_NOMEM;
            dev->mode = want->mode;
            rc |= check_accelerator(plan, host, acc, want, path, dev);
            continue;
        }
        {
            const hv_catalogue_entry *e = hv_catalogue_by_model(want->model);
            unsigned int found = 0;

            if (!e) {
                char known[512] = "";

                for (size_t k = 0; hv_catalogue_at(k); k++) {
                    strncat(known, k ? ", " : "", sizeof(known) - strlen(known) - 1);
                    strncat(known, hv_catalogue_at(k)->id, sizeof(known) - strlen(known) - 1);
                }
                rc |= hv_plan_error(plan, "plan.device.unknown-model", path,
                                    "'%s' is not in the accelerator catalogue: use one of %s, or "
                                    "name the host device by pci_address",
                                    want->model, known);
                continue;
            }
            /* Host devices of that model not used yet, in PCI order. */
            for (size_t h = 0; h < host->naccels; h++) {
                const struct hv_accelerator *acc = &host->accels[h];

                if (acc->vendor_id != e->vendor_id || acc->device_id != e->device_id)
                    continue;
                if (want->mode == HV_ACCEL_MODE_VGPU) {
                    int t = find_mdev(acc, want->mdev_type);

                    unsigned int planned =
                        t >= 0 ? vgpus_planned(plan, acc->pci_address, acc->mdev[t].id) : 0;

                    if (t >= 0 && acc->mdev[t].available > 0 &&
                        (unsigned int)acc->mdev[t].available > planned)
                        found += (unsigned int)acc->mdev[t].available - planned;
                } else if (!address_used(plan, acc->pci_address, "")) {
                    found++;
                }
            }
            for (unsigned int c = 0; c < want->count; c++) {
                struct hv_plan_device *dev = new_device(plan, HV_PLAN_DEVICE_ACCELERATOR, path);

                if (!dev)
                    return HV_E_NOMEM;
                dev->mode = want->mode;
                copy_text(dev->model, sizeof(dev->model), e->id);
                if (found < want->count) {
                    /* Planning without the devices: the catalogue's BARs. */
                    if (want->mode != HV_ACCEL_MODE_VGPU)
                        copy_catalogue_bars(dev, e);
                    if (want->mode == HV_ACCEL_MODE_VGPU)
                        copy_text(dev->mdev_type, sizeof(dev->mdev_type), want->mdev_type);
                    continue;
                }
                for (size_t h = 0; h < host->naccels; h++) {
                    const struct hv_accelerator *acc = &host->accels[h];

                    if (acc->vendor_id != e->vendor_id || acc->device_id != e->device_id ||
                        !accel_usable(plan, acc, want))
                        continue;
                    rc |= check_accelerator(plan, host, acc, want, path, dev);
                    break;
                }
            }
            if (found < want->count)
                rc |= hv_plan_warning(plan, "plan.device.from-catalogue", path,
                                      "the host has %u free %s, the VM asks for %u: the plan "
                                      "budgets them from the catalogue but cannot be realized "
                                      "on this host",
                                      found, e->name, want->count);
        }
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

static int plan_nics(hv_plan *plan)
{
    int rc = 0;

    for (size_t i = 0; i < plan->spec->nnics; i++) {
        const hv_spec_nic *nic = &plan->spec->nics[i];
        struct hv_plan_device *dev;
        char path[40], qpath[48];

        hv_format(path, sizeof(path), "nics[%zu]", i);
        hv_format(qpath, sizeof(qpath), "nics[%zu].queues", i);
        dev = new_device(plan, HV_PLAN_DEVICE_NIC, path);
        if (!dev)
            return HV_E_NOMEM;
        hv_strlcpy(dev->model, "virtio-net", sizeof(dev->model));
        dev->rss_flags = nic->rss_flags;
        dev->tunnel_flags = nic->tunnel_flags;
        dev->queues = nic->queues ? nic->queues : (plan->spec->vcpus < 16 ? plan->spec->vcpus : 16);
        if (strcmp(nic->model, "vmxnet3") == 0)
            rc |= hv_plan_info(plan, "plan.nic.vmxnet3", path,
                               "vmxnet3 is VMware's NIC: the plan uses virtio-net with the same "
                               "multiqueue, RSS and offload features");
        if (dev->queues > plan->spec->vcpus)
            rc |= hv_plan_error(plan, "plan.nic.queues", qpath,
                                "%u queues for %u vCPUs: a NIC needs no more queues than vCPUs "
                                "(each queue is served by one vCPU)",
                                dev->queues, plan->spec->vcpus);
        if (nic->rss_flags && dev->queues < 2)
            rc |= hv_plan_error(plan, "plan.nic.rss-queues", qpath,
                                "RSS spreads flows over queues: it needs at least 2 (set queues, "
                                "or give the VM more vCPUs)");
        if (nic->rss_flags & HV_NIC_RSS_ESP)
            rc |= hv_plan_warning(plan, "plan.nic.rss-esp", path,
                                  "virtio-net RSS cannot hash IPsec ESP by SPI: ESP flows are "
                                  "spread by IP addresses only");
        if (nic->tunnel_flags)
            rc |= hv_plan_warning(plan, "plan.nic.tunnel-offloads", path,
                                  "virtio-net in QEMU 7.2 has no VXLAN/Geneve segmentation "
                                  "offload: the guest segments tunnelled traffic itself");
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

static bool port_has_gid_type(const struct hv_rdma_port *port, int type)
{
    for (size_t g = 0; g < port->ngids; g++)
        if (port->gids[g].type == type)
            return true;
    return false;
}

/* Whether `port` can carry `want`. */
static bool port_matches(const struct hv_rdma_port *port, const hv_spec_rdma *want)
{
    if (want->protocol == HV_RDMA_INFINIBAND)
        return port->link_layer == HV_RDMA_LINK_INFINIBAND;
    if (port->link_layer != HV_RDMA_LINK_ETHERNET)
        return false;
    return port_has_gid_type(port, want->protocol == HV_RDMA_ROCE_V2 ? HV_RDMA_GID_ROCE_V2
                                                                     : HV_RDMA_GID_IB_ROCE_V1);
}

static unsigned int rdma_uses(const hv_plan *plan, const char *name, int mode)
{
    unsigned int n = 0;

    for (size_t i = 0; i < plan->ndevices; i++)
        n += plan->devices[i].type == HV_PLAN_DEVICE_RDMA &&
             field_is(plan->devices[i].rdma_name, sizeof(plan->devices[i].rdma_name), name) &&
             plan->devices[i].mode == mode;
    return n;
}

/* Whether the VM's accelerators sit on host node `node` (RDMA near them is preferred). */
static bool node_has_vm_accelerator(const hv_plan *plan, int node)
{
    for (size_t i = 0; i < plan->ndevices; i++)
        if (plan->devices[i].type == HV_PLAN_DEVICE_ACCELERATOR &&
            plan->devices[i].host_node == node && node >= 0)
            return true;
    return false;
}

static int plan_rdma(hv_plan *plan, const hv_host *host)
{
    static const char *const protocol_words[] = {"RoCE v2", "RoCE v1", "InfiniBand"};
    int rc = 0;

    for (size_t i = 0; i < plan->spec->nrdma; i++) {
        const hv_spec_rdma *want = &plan->spec->rdma[i];
        const struct hv_rdma_device *best = NULL;
        const struct hv_rdma_port *best_port = NULL;
        struct hv_plan_device *dev;
        char path[40];

        hv_format(path, sizeof(path), "rdma[%zu]", i);
        if (want->mode == HV_RDMA_MODE_PVRDMA && want->protocol == HV_RDMA_INFINIBAND) {
            rc |= hv_plan_error(plan, "plan.rdma.pvrdma-infiniband", path,
                                "paravirtual RDMA (pvrdma) carries RoCE only: for InfiniBand use "
                                "mode \"sr-iov\" or \"passthrough\"");
            continue;
        }
        for (size_t d = 0; d < host->nrdma; d++) {
            const struct hv_rdma_device *rd = &host->rdma[d];

            for (size_t p = 0; p < rd->nports; p++) {
                const struct hv_rdma_port *port = &rd->ports[p];
                bool usable = port_matches(port, want) && strcmp(port->state, "ACTIVE") == 0;

                if (want->mode == HV_RDMA_MODE_SRIOV)
                    usable &= rd->sriov_enabled_vfs > rdma_uses(plan, rd->name, want->mode);
                if (want->mode == HV_RDMA_MODE_PASSTHROUGH)
                    usable &= rdma_uses(plan, rd->name, HV_RDMA_MODE_PASSTHROUGH) == 0 &&
                              rdma_uses(plan, rd->name, HV_RDMA_MODE_SRIOV) == 0;
                if (!usable)
                    continue;
                if (!best || (node_has_vm_accelerator(plan, rd->numa_node) &&
                              !node_has_vm_accelerator(plan, best->numa_node))) {
                    best = rd;
                    best_port = port;
                }
            }
        }
        if (!best) {
            bool vfs_possible = false;

            for (size_t d = 0; d < host->nrdma; d++)
                vfs_possible |= host->rdma[d].sriov_total_vfs > host->rdma[d].sriov_enabled_vfs;
            rc |= hv_plan_error(
                plan, "plan.rdma.no-port", path,
                "the host has no active %s port%s for %s: `hpcvirt host` lists its RDMA ports%s",
                protocol_words[want->protocol],
                want->mode == HV_RDMA_MODE_SRIOV ? " with a free virtual function" : "",
                want->mode == HV_RDMA_MODE_PVRDMA  ? "pvrdma"
                : want->mode == HV_RDMA_MODE_SRIOV ? "SR-IOV"
                                                   : "passthrough",
                want->mode == HV_RDMA_MODE_SRIOV && vfs_possible
                    ? "; enable VFs with echo N > /sys/bus/pci/devices/ADDR/sriov_numvfs"
                    : "");
            continue;
        }
        dev = new_device(plan, HV_PLAN_DEVICE_RDMA, path);
        if (!dev)
            return HV_E_NOMEM;
        dev->mode = want->mode;
        dev->rdma_protocol = want->protocol;
        dev->host_node = best->numa_node;
        dev->rdma_port = best_port->number;
        copy_text(dev->rdma_name, sizeof(dev->rdma_name), best->name);
        if (want->mode == HV_RDMA_MODE_PASSTHROUGH) {
            copy_text(dev->pci_address, sizeof(dev->pci_address), best->pci_address);
        } else if (want->mode == HV_RDMA_MODE_SRIOV) {
            /* the next free VF of the PF (this one is counted already) */
            unsigned int k = rdma_uses(plan, best->name, HV_RDMA_MODE_SRIOV) - 1;

            if (k < best->nvfs)
                copy_text(dev->pci_address, sizeof(dev->pci_address), best->vfs[k]);
            else
                rc |= hv_plan_warning(plan, "plan.rdma.vf-unknown", path,
                                      "%s has VFs enabled but the host description does not "
                                      "list their PCI addresses: the plan cannot name the VF",
                                      best->name);
        }
        dev->mtu = want->mtu ? want->mtu : best_port->active_mtu;
        if (want->mtu && best_port->active_mtu && want->mtu > best_port->active_mtu) {
            char mpath[48];

            hv_format(mpath, sizeof(mpath), "rdma[%zu].mtu", i);
            rc |= hv_plan_error(plan, "plan.rdma.mtu", mpath,
                                "MTU %u is larger than %s port %u's active MTU %u%s", want->mtu,
                                best->name, best_port->number, best_port->active_mtu,
                                best_port->link_layer == HV_RDMA_LINK_ETHERNET
                                    ? ": raise the netdev's MTU (9000 gives 4096)"
                                    : "");
        }
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

/*
 * Disks: only what needs no I/O (whether an image exists and is readable is
 * the backend's check when it creates the VM). One image written through
 * two disks, or written through one and read through another, is corrupted
 * or read torn: QEMU's image locking would refuse it at start anyway.
 */
static int plan_disks(hv_plan *plan)
{
    int rc = 0;

    for (size_t i = 0; i < plan->spec->ndisks; i++) {
        const hv_spec_disk *disk = &plan->spec->disks[i];
        char path[40];

        hv_format(path, sizeof(path), "disks[%zu].path", i);
        for (size_t j = 0; j < i; j++) {
            const hv_spec_disk *other = &plan->spec->disks[j];

            if (strcmp(disk->path, other->path) != 0 || (disk->read_only && other->read_only))
                continue;
            rc |= hv_plan_error(plan, "plan.disks.shared-writable", path,
                                "disks[%zu] and disks[%zu] are one image, and disks[%zu] writes "
                                "it: give each writable disk its own image (or make both "
                                "read_only)",
                                j, i, disk->read_only ? j : i);
            break;
        }
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

int hv_plan_devices(hv_plan *plan, const hv_host *host)
{
    size_t expected = plan->spec->nnics + plan->spec->nrdma;
    int rc;

    for (size_t i = 0; i < plan->spec->naccels; i++)
        expected += plan->spec->accels[i].count;
    /* new_device() initializes each entry: no need to zero the array */
    if (expected) {
        plan->devices = hv_arena_alloc_raw(&plan->arena, expected * sizeof(*plan->devices));
        if (!plan->devices)
            return HV_E_NOMEM;
        plan->devices_cap = expected;
    }
    rc = plan_accelerators(plan, host);

    if (rc == 0)
        rc = plan_rdma(plan, host);
    if (rc == 0)
        rc = plan_nics(plan);
    if (rc == 0)
        rc = plan_disks(plan);
    return rc;
}

int hv_plan_attach_devices(hv_plan *plan)
{
    for (size_t d = 0; d < plan->ndevices; d++) {
        struct hv_plan_device *dev = &plan->devices[d];

        dev->vnode = -1;
        for (size_t v = 0; v < plan->nvnodes && dev->host_node >= 0; v++)
            if (plan->vnodes[v].host_node == dev->host_node) {
                dev->vnode = (int)v;
                break;
            }
    }
    return 0;
}

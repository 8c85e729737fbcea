/*
 * host/discover.c - discovery of a host from a root directory: opens the
 * root, runs the steps in order (CPUs, NUMA, PCI accelerators, RDMA: cpu.c,
 * numa.c, pci.c, rdma.c), then derives the topology counts, checks the host
 * against its maximums profile and makes what was read of the tree's text
 * valid UTF-8 (findings, which quote the tree's paths, keep themselves
 * printable: core/findings.h). Nothing in lib/host calls this file.
 */
#include "host/discover.h"
#include "host/discover-steps.h"
#include "host/host.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/profile.h"
#include "core/text.h"

#include <stdlib.h>
#include <string.h>
#include <hpcvirt/size.h>

int hv_host_discover_options_init(hv_host_discover_options *opts, unsigned int version)
{
    return hv_options_init(opts, sizeof(*opts), version, HV_HOST_DISCOVER_OPTIONS_VERSION,
                           __func__);
}

/* Make the string at *s valid UTF-8 (hv_utf8_repair_dup()); 0 or HV_E_NOMEM. */
static int repair(char **s)
{
    char *fixed;

    if (!*s || hv_utf8_valid(*s, strlen(*s)))
        return 0;
    if (!(fixed = hv_utf8_repair_dup(*s)))
        return hv_error_nomem();
    free(*s);
    *s = fixed;
    return 0;
}

static int repair_rdma(struct hv_rdma_device *dev)
{
    int rc = repair(&dev->name) | repair(&dev->node_type) | repair(&dev->fw_version) |
             repair(&dev->node_guid) | repair(&dev->pci_address);

    for (size_t i = 0; i < dev->nvfs; i++)
        rc |= repair(&dev->vfs[i]);
    for (size_t p = 0; p < dev->nports; p++) {
        struct hv_rdma_port *port = &dev->ports[p];

        rc |= repair(&port->state) | repair(&port->phys_state) | repair(&port->rate) |
              repair(&port->netdev);
        for (size_t g = 0; g < port->ngids; g++)
            rc |= repair(&port->gids[g].text) | repair(&port->gids[g].netdev);
    }
    return rc;
}

/*
 * What discovery keeps of the tree's text (names of entries and link
 * targets, attribute files) may be any bytes; a host's strings are data
 * that JSON carries, so they are made valid UTF-8 (bytes that are not become
 * U+FFFD). Control characters stay: JSON escapes them, and whoever shows
 * them escapes them (the CLI does). The CPU model and vendor are made so as
 * they are read (cpu.c).
 */
static int repair_strings(hv_host *host)
{
    int rc = repair(&host->root);

    for (size_t i = 0; i < host->naccels; i++) {
        struct hv_accelerator *acc = &host->accels[i];

        rc |= repair(&acc->pci_address) | repair(&acc->local_cpulist) |
              repair(&acc->iommu_group_members) | repair(&acc->driver) | repair(&acc->link_speed) |
              repair(&acc->max_link_speed);
        for (size_t t = 0; t < acc->nmdev; t++)
            rc |= repair(&acc->mdev[t].id) | repair(&acc->mdev[t].name) |
                  repair(&acc->mdev[t].device_api);
    }
    for (size_t i = 0; i < host->nrdma; i++)
        rc |= repair_rdma(&host->rdma[i]);
    return rc < 0 ? HV_E_NOMEM : 0;
}

/* Findings for a host beyond what the profile supports. */
static int check_profile(hv_host *host)
{
    const hv_profile *p = hv_profile_find(host->profile);
    char a[32], b[32];
    int rc = 0;

    if (!p)
        return 0;
    if (p->host_max_logical_cpus && host->ncpus > p->host_max_logical_cpus)
        rc |= hv_findings_add(&host->findings, HV_SEVERITY_WARNING, "host.max.logical-cpus",
                              "cpus.logical",
                              "the host has %zu logical CPUs; %s supports at most %u per host",
                              host->ncpus, p->name, p->host_max_logical_cpus);
    if (p->host_max_numa_nodes && host->nnodes > p->host_max_numa_nodes)
        rc |= hv_findings_add(&host->findings, HV_SEVERITY_WARNING, "host.max.numa-nodes",
                              "numa_nodes",
                              "the host has %zu NUMA nodes; %s supports at most %u per host",
                              host->nnodes, p->name, p->host_max_numa_nodes);
    if (p->host_max_memory_bytes && host->memory_bytes > p->host_max_memory_bytes) {
        hv_size_format(host->memory_bytes, a, sizeof(a));
        hv_size_format(p->host_max_memory_bytes, b, sizeof(b));
        rc |= hv_findings_add(
            &host->findings, HV_SEVERITY_WARNING, "host.max.memory", "memory.total_bytes",
            "the host has %s of memory; %s supports at most %s per host", a, p->name, b);
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

/* Derived facts and profile checks once everything is read. */
static int finish(hv_host *host)
{
    hv_host_count_topology(host);
    return check_profile(host);
}

int hv_host_discover_fs(hv_host **out, const hv_sysfs *fs, const char *profile, unsigned int skip)
{
    hv_host *host = hv_calloc(1, sizeof(*host));
    int rc = 0;

    if (!host)
        return HV_E_NOMEM;
    host->profile = profile;
    host->root = hv_strdup(fs->root);
    host->live = strcmp(fs->root, "/") == 0;
    if (!host->root)
        rc = HV_E_NOMEM;
    if (rc == 0)
        rc = hv_host_discover_cpus(host, fs);
    if (rc == 0)
        rc = hv_host_discover_numa(host, fs, host->live && !(skip & HV_HOST_SKIP_LIBNUMA));
    if (rc == 0 && !(skip & HV_HOST_SKIP_PCI))
        rc = hv_host_discover_pci(host, fs);
    if (rc == 0 && !(skip & HV_HOST_SKIP_RDMA))
        rc = hv_host_discover_rdma(host, fs);
    if (rc == 0)
        rc = finish(host);
    if (rc == 0)
        rc = repair_strings(host);
    if (rc < 0) {
        hv_host_free(host);
        return rc;
    }
    *out = host;
    return 0;
}

int hv_host_discover(hv_host **out, const hv_host_discover_options *opts)
{
    hv_host_discover_options defaults = HV_HOST_DISCOVER_OPTIONS_INIT;
    const hv_profile *profile;
    hv_sysfs fs;
    int rc;

    HV_CHECK_ARG(out, "host");
    *out = NULL;
    rc = hv_options_check(opts, HV_HOST_DISCOVER_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    if (!opts)
        opts = &defaults;
    profile = hv_profile_find(opts->profile);
    if (!profile)
        return hv_profile_unknown_error(HV_E_NOTFOUND, "profile", opts->profile);
    rc = hv_sysfs_open(&fs, opts->root);
    if (rc < 0)
        return rc;
    rc = hv_host_discover_fs(out, &fs, profile->name, opts->skip);
    hv_sysfs_close(&fs);
    return rc;
}

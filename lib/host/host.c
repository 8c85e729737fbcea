/*
 * host/host.c - the hv_host object: its derived topology counts (cores,
 * packages, the node-major CPU order), the public getters and freeing; and
 * the helpers the discovery steps share (CPU-list files, online ids, noting
 * unreadable files, node lookup). Of lib/host it calls only the leaves
 * (sysfs.c, parse.c, catalogue.c): discovery (discover.c and the steps it
 * runs), json.c and freq.c call it, never the other way round.
 */
#include "host/host.h"
#include "core/alloc.h"
#include "core/error.h"
#include "host/catalogue.h"
#include "host/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const char *s)
{
    return s ? s : "";
}

int hv_host_note_file_problem(hv_host *host, const char *code, int severity)
{
    const hv_error *err = hv_error_last();

    return hv_findings_add(&host->findings, severity, code, hv_error_path(err), "%s",
                           hv_error_message(err));
}

int hv_host_note_unless_absent(hv_host *host, int rc, const char *code)
{
    if (rc >= 0 || rc == HV_E_NOTFOUND)
        return 0;
    if (rc == HV_E_NOMEM)
        return rc;
    return hv_host_note_file_problem(host, code, HV_SEVERITY_WARNING);
}

/* Longest list whose parse errors come from core/cpuset.c, which quotes the list. */
#define CPULIST_QUOTE_MAX 64

int hv_host_read_cpulist(const hv_sysfs *fs, const char *path, hv_cpuset *set)
{
    char *text;
    size_t len;
    int rc = hv_sysfs_read(fs, path, 1 << 20, &text);

    if (rc < 0)
        return rc;
    hv_text_trim(text);
    len = strlen(text);
    if (strspn(text, "0123456789,-") != len)
        rc = hv_error_set(HV_E_PARSE, path,
                          "%s is not a CPU list: it holds characters other than digits, ',' and "
                          "'-' (expected ranges like 0-3,8,10-11)",
                          path);
    else if ((rc = hv_cpuset_parse(set, text, path)) == HV_E_PARSE && len > CPULIST_QUOTE_MAX)
        rc = hv_error_set(HV_E_PARSE, path,
                          "%s is not a CPU list: expected increasing ranges like 0-3,8,10-11 of "
                          "numbers below %u",
                          path, HV_CPUSET_LIMIT);
    free(text);
    return rc;
}

int hv_host_read_online_ids(hv_host *host, const hv_sysfs *fs, const char *dir, const char *prefix,
                            const char *code, hv_cpuset *ids)
{
    size_t plen = strlen(prefix), n;
    char path[128], **names;
    int rc;

    snprintf(path, sizeof(path), "%s/online", dir);
    rc = hv_host_read_cpulist(fs, path, ids);
    if (rc == 0)
        return 0;
    if (rc == HV_E_NOMEM)
        return rc;
    if (rc != HV_E_NOTFOUND && hv_host_note_file_problem(host, code, HV_SEVERITY_WARNING) < 0)
        return HV_E_NOMEM;
    rc = hv_sysfs_list(fs, dir, prefix, &names, &n);
    if (rc < 0)
        return hv_host_note_unless_absent(host, rc, code);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *end;
        unsigned long id = strtoul(names[i] + plen, &end, 10);
        int64_t online = 1;

        char *online_path;

        if (end == names[i] + plen || *end || id >= HV_CPUSET_LIMIT)
            continue;
        /* the entry's name may be long ("cpu0000...1"): the path is built to its length */
        if (!(online_path = hv_asprintf("%s/%s/online", dir, names[i])) ||
            hv_sysfs_read_i64(fs, online_path, &online) == HV_E_NOMEM)
            rc = HV_E_NOMEM;
        else if (online != 0)
            rc = hv_cpuset_add(ids, (unsigned int)id);
        free(online_path);
    }
    hv_sysfs_list_free(names, n);
    return rc;
}

struct hv_host_node *hv_host_node_mut(hv_host *host, int node_id)
{
    if (node_id < 0)
        return NULL;
    /* node ids are usually dense: try the slot of that index first */
    if ((size_t)node_id < host->nnodes && host->nodes[node_id].id == node_id)
        return &host->nodes[node_id];
    for (size_t i = 0; i < host->nnodes; i++)
        if (host->nodes[i].id == node_id)
            return &host->nodes[i];
    return NULL;
}

const hv_hugepage_pool *hv_host_node_pool(const struct hv_host_node *node, uint64_t page_bytes)
{
    for (size_t i = 0; i < node->npools; i++)
        if (node->pools[i].page_bytes == page_bytes)
            return &node->pools[i];
    return NULL;
}

typedef struct topo_key {
    int node, package, die, core;
    unsigned int id;
} topo_key;

static int compare_node_core(const void *a, const void *b)
{
    const topo_key *x = a, *y = b;

    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    if (x->package != y->package)
        return x->package < y->package ? -1 : 1;
    if (x->die != y->die)
        return x->die < y->die ? -1 : 1;
    if (x->core != y->core)
        return x->core < y->core ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

void hv_host_count_topology(hv_host *host)
{
    topo_key *keys = calloc(host->ncpus ? host->ncpus : 1, sizeof(*keys));
    unsigned int *order = calloc(host->ncpus ? host->ncpus : 1, sizeof(*order));
    unsigned int run = 0;

    host->cores = host->packages = host->dies = 0;
    host->threads_per_core = 0;
    for (size_t n = 0; n < host->nnodes; n++) {
        host->nodes[n].cpu_count = (unsigned int)hv_cpuset_count(&host->nodes[n].cpus);
        host->nodes[n].core_count = 0;
        host->nodes[n].order_start = 0;
    }
    free(host->cpu_order);
    host->cpu_order = NULL;
    if (!keys || !order) { /* counts stay 0: callers treat that as unknown */
        free(keys);
        free(order);
        return;
    }
    for (size_t i = 0; i < host->ncpus; i++)
        keys[i] = (topo_key){host->cpus[i].node, host->cpus[i].package, host->cpus[i].die,
                             host->cpus[i].core, host->cpus[i].id};
    /* Node-major order: per-node core counts, and the pinning order planners use. */
    qsort(keys, host->ncpus, sizeof(*keys), compare_node_core);
    for (size_t i = 0; i < host->ncpus; i++) {
        bool new_node = i == 0 || keys[i].node != keys[i - 1].node;
        bool new_core = new_node || keys[i].package != keys[i - 1].package ||
                        keys[i].die != keys[i - 1].die || keys[i].core != keys[i - 1].core;
        struct hv_host_node *node = hv_host_node_mut(host, keys[i].node);

        order[i] = keys[i].id;
        if (node && new_node)
            node->order_start = i;
        if (node && new_core)
            node->core_count++;
    }
    host->cpu_order = order;
    /* Package-major counts: a core split over two nodes is still one core. */
    for (size_t i = 0; i < host->ncpus; i++)
        keys[i].node = 0;
    qsort(keys, host->ncpus, sizeof(*keys), compare_node_core);
    for (size_t i = 0; i < host->ncpus; i++) {
        bool new_package = i == 0 || keys[i].package != keys[i - 1].package;
        bool new_die = new_package || keys[i].die != keys[i - 1].die;
        bool new_core = new_die || keys[i].core != keys[i - 1].core;

        host->packages += new_package;
        host->dies += new_die;
        host->cores += new_core;
        run = new_core ? 1 : run + 1;
        if (run > host->threads_per_core)
            host->threads_per_core = run;
    }
    free(keys);
}

void hv_host_node_clear(struct hv_host_node *node)
{
    hv_cpuset_clear(&node->cpus);
    free(node->cpulist);
    free(node->distances);
}

void hv_accelerator_clear(struct hv_accelerator *acc)
{
    free(acc->pci_address);
    free(acc->model_owned);
    free(acc->local_cpulist);
    free(acc->iommu_group_members);
    free(acc->driver);
    free(acc->link_speed);
    free(acc->max_link_speed);
    for (size_t i = 0; i < acc->nmdev; i++) {
        free(acc->mdev[i].id);
        free(acc->mdev[i].name);
        free(acc->mdev[i].device_api);
    }
    free(acc->mdev);
    memset(acc, 0, sizeof(*acc));
}

void hv_rdma_device_clear(struct hv_rdma_device *dev)
{
    for (size_t p = 0; p < dev->nports; p++) {
        struct hv_rdma_port *port = &dev->ports[p];

        for (size_t g = 0; g < port->ngids; g++) {
            free(port->gids[g].text);
            free(port->gids[g].netdev);
        }
        free(port->gids);
        free(port->state);
        free(port->phys_state);
        free(port->rate);
        free(port->netdev);
    }
    free(dev->ports);
    for (size_t i = 0; i < dev->nvfs; i++)
        free(dev->vfs[i]);
    free(dev->vfs);
    free(dev->name);
    free(dev->node_type);
    free(dev->fw_version);
    free(dev->node_guid);
    free(dev->pci_address);
    memset(dev, 0, sizeof(*dev));
}

void hv_host_free(hv_host *host)
{
    if (!host)
        return;
    for (size_t i = 0; i < host->nnodes; i++)
        hv_host_node_clear(&host->nodes[i]);
    for (size_t i = 0; i < host->naccels; i++)
        hv_accelerator_clear(&host->accels[i]);
    for (size_t i = 0; i < host->nrdma; i++)
        hv_rdma_device_clear(&host->rdma[i]);
    free(host->nodes);
    free(host->accels);
    free(host->rdma);
    free(host->cpus);
    free(host->cpu_order);
    free(host->root);
    hv_findings_clear(&host->findings);
    free(host);
}

/* ---- getters: NULL objects give 0 / "" / -1 / NULL, never a crash ------------ */

#define GET(type, fn, objtype, expr, dflt)                                                         \
    type fn(const objtype *o)                                                                      \
    {                                                                                              \
        return o ? (expr) : (dflt);                                                                \
    }

GET(const char *, hv_host_root, hv_host, str(o->root), "")
GET(const char *, hv_host_profile, hv_host, str(o->profile), "")
GET(const char *, hv_host_cpu_model, hv_host, o->cpu_model, "")
GET(const char *, hv_host_cpu_vendor, hv_host, o->cpu_vendor, "")
GET(unsigned int, hv_host_cpu_count, hv_host, (unsigned int)o->ncpus, 0)
GET(unsigned int, hv_host_core_count, hv_host, o->cores, 0)
GET(unsigned int, hv_host_package_count, hv_host, o->packages, 0)
GET(unsigned int, hv_host_die_count, hv_host, o->dies, 0)
GET(unsigned int, hv_host_threads_per_core, hv_host, o->threads_per_core, 0)
GET(unsigned int, hv_host_phys_addr_bits, hv_host, o->phys_addr_bits, 0)
GET(unsigned int, hv_host_virt_addr_bits, hv_host, o->virt_addr_bits, 0)
GET(bool, hv_host_has_1g_pages, hv_host, o->has_1g_pages, false)
GET(uint64_t, hv_host_base_frequency_khz, hv_host, o->base_frequency_khz, 0)
GET(uint64_t, hv_host_memory_bytes, hv_host, o->memory_bytes, 0)
GET(uint64_t, hv_host_memory_available_bytes, hv_host, o->memory_available_bytes, 0)
GET(bool, hv_host_node_memory_consistent, hv_host, o->node_memory_consistent, false)
GET(size_t, hv_host_node_count, hv_host, o->nnodes, 0)
GET(size_t, hv_host_accelerator_count, hv_host, o->naccels, 0)
GET(size_t, hv_host_rdma_count, hv_host, o->nrdma, 0)
GET(size_t, hv_host_finding_count, hv_host, o->findings.count, 0)

GET(unsigned int, hv_host_cpu_id, hv_host_cpu, o->id, 0)
GET(int, hv_host_cpu_package, hv_host_cpu, o->package, -1)
GET(int, hv_host_cpu_die, hv_host_cpu, o->die, -1)
GET(int, hv_host_cpu_core, hv_host_cpu, o->core, -1)
GET(int, hv_host_cpu_node, hv_host_cpu, o->node, -1)

GET(int, hv_host_node_id, hv_host_node, o->id, -1)
GET(const char *, hv_host_node_cpulist, hv_host_node, str(o->cpulist), "")
GET(unsigned int, hv_host_node_cpu_count, hv_host_node, o->cpu_count, 0)
GET(unsigned int, hv_host_node_core_count, hv_host_node, o->core_count, 0)
GET(uint64_t, hv_host_node_memory_bytes, hv_host_node, o->memory_bytes, 0)
GET(uint64_t, hv_host_node_free_bytes, hv_host_node, o->free_bytes, 0)
GET(size_t, hv_host_node_hugepage_size_count, hv_host_node, o->npools, 0)

GET(const char *, hv_accelerator_pci_address, hv_accelerator, str(o->pci_address), "")
GET(unsigned int, hv_accelerator_vendor_id, hv_accelerator, o->vendor_id, 0)
GET(unsigned int, hv_accelerator_device_id, hv_accelerator, o->device_id, 0)
GET(unsigned int, hv_accelerator_subsystem_vendor_id, hv_accelerator, o->subsystem_vendor_id, 0)
GET(unsigned int, hv_accelerator_subsystem_device_id, hv_accelerator, o->subsystem_device_id, 0)
GET(unsigned int, hv_accelerator_class_code, hv_accelerator, o->class_code, 0)
GET(int, hv_accelerator_kind, hv_accelerator, o->kind, 0)
GET(const char *, hv_accelerator_model, hv_accelerator, str(o->model), "")
GET(const char *, hv_accelerator_model_id, hv_accelerator, str(o->model_id), "")
GET(int, hv_accelerator_numa_node, hv_accelerator, o->numa_node, -1)
GET(const char *, hv_accelerator_local_cpulist, hv_accelerator, str(o->local_cpulist), "")
GET(int, hv_accelerator_iommu_group, hv_accelerator, o->iommu_group, -1)
GET(const char *, hv_accelerator_iommu_group_members, hv_accelerator, str(o->iommu_group_members),
    "")
GET(const char *, hv_accelerator_driver, hv_accelerator, str(o->driver), "")
GET(const char *, hv_accelerator_link_speed, hv_accelerator, str(o->link_speed), "")
GET(unsigned int, hv_accelerator_link_width, hv_accelerator, o->link_width, 0)
GET(const char *, hv_accelerator_max_link_speed, hv_accelerator, str(o->max_link_speed), "")
GET(unsigned int, hv_accelerator_max_link_width, hv_accelerator, o->max_link_width, 0)
GET(unsigned int, hv_accelerator_sriov_total_vfs, hv_accelerator, o->sriov_total_vfs, 0)
GET(unsigned int, hv_accelerator_sriov_enabled_vfs, hv_accelerator, o->sriov_enabled_vfs, 0)
GET(size_t, hv_accelerator_mdev_type_count, hv_accelerator, o->nmdev, 0)
GET(size_t, hv_accelerator_bar_count, hv_accelerator, o->nbars, 0)
GET(uint64_t, hv_accelerator_bar_total_bytes, hv_accelerator, o->bar_total_bytes, 0)

GET(unsigned int, hv_pci_bar_index, hv_pci_bar, o->index, 0)
GET(uint64_t, hv_pci_bar_start, hv_pci_bar, o->start, 0)
GET(uint64_t, hv_pci_bar_size_bytes, hv_pci_bar, o->size_bytes, 0)
GET(bool, hv_pci_bar_is_64bit, hv_pci_bar, o->is_64bit, false)
GET(bool, hv_pci_bar_is_prefetchable, hv_pci_bar, o->prefetchable, false)
GET(bool, hv_pci_bar_is_io, hv_pci_bar, o->is_io, false)

GET(const char *, hv_rdma_device_name, hv_rdma_device, str(o->name), "")
GET(const char *, hv_rdma_device_node_type, hv_rdma_device, str(o->node_type), "")
GET(const char *, hv_rdma_device_fw_version, hv_rdma_device, str(o->fw_version), "")
GET(const char *, hv_rdma_device_node_guid, hv_rdma_device, str(o->node_guid), "")
GET(const char *, hv_rdma_device_pci_address, hv_rdma_device, str(o->pci_address), "")
GET(int, hv_rdma_device_numa_node, hv_rdma_device, o->numa_node, -1)
GET(unsigned int, hv_rdma_device_sriov_total_vfs, hv_rdma_device, o->sriov_total_vfs, 0)
GET(unsigned int, hv_rdma_device_sriov_enabled_vfs, hv_rdma_device, o->sriov_enabled_vfs, 0)
GET(size_t, hv_rdma_device_port_count, hv_rdma_device, o->nports, 0)
GET(size_t, hv_rdma_device_vf_count, hv_rdma_device, o->nvfs, 0)

GET(unsigned int, hv_rdma_port_number, hv_rdma_port, o->number, 0)
GET(const char *, hv_rdma_port_state, hv_rdma_port, str(o->state), "")
GET(const char *, hv_rdma_port_phys_state, hv_rdma_port, str(o->phys_state), "")
GET(const char *, hv_rdma_port_rate, hv_rdma_port, str(o->rate), "")
GET(unsigned int, hv_rdma_port_rate_gbps, hv_rdma_port, o->rate_gbps, 0)
GET(int, hv_rdma_port_link_layer, hv_rdma_port, o->link_layer, 0)
GET(unsigned int, hv_rdma_port_active_mtu, hv_rdma_port, o->active_mtu, 0)
GET(const char *, hv_rdma_port_netdev, hv_rdma_port, str(o->netdev), "")
GET(size_t, hv_rdma_port_gid_count, hv_rdma_port, o->ngids, 0)

GET(unsigned int, hv_rdma_gid_index, hv_rdma_gid, o->index, 0)
GET(const char *, hv_rdma_gid_text, hv_rdma_gid, str(o->text), "")
GET(int, hv_rdma_gid_type, hv_rdma_gid, o->type, 0)
GET(const char *, hv_rdma_gid_netdev, hv_rdma_gid, str(o->netdev), "")

#define AT(type, fn, parent, array, count)                                                         \
    const type *fn(const parent *o, size_t index)                                                  \
    {                                                                                              \
        return o && index < o->count ? &o->array[index] : NULL;                                    \
    }

AT(hv_host_cpu, hv_host_cpu_at, hv_host, cpus, ncpus)
AT(hv_host_node, hv_host_node_at, hv_host, nodes, nnodes)
AT(hv_accelerator, hv_host_accelerator_at, hv_host, accels, naccels)
AT(hv_rdma_device, hv_host_rdma_at, hv_host, rdma, nrdma)
AT(hv_pci_bar, hv_accelerator_bar_at, hv_accelerator, bars, nbars)
AT(hv_rdma_port, hv_rdma_device_port_at, hv_rdma_device, ports, nports)
AT(hv_rdma_gid, hv_rdma_port_gid_at, hv_rdma_port, gids, ngids)

const hv_finding *hv_host_finding_at(const hv_host *host, size_t index)
{
    return host && index < host->findings.count ? &host->findings.items[index] : NULL;
}

const hv_host_cpu *hv_host_cpu_by_id(const hv_host *host, unsigned int cpu_id)
{
    size_t lo = 0, hi;

    if (!host)
        return NULL;
    hi = host->ncpus;
    while (lo < hi) { /* cpus[] is sorted by id */
        size_t mid = lo + (hi - lo) / 2;

        if (host->cpus[mid].id == cpu_id)
            return &host->cpus[mid];
        if (host->cpus[mid].id < cpu_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const hv_host_node *hv_host_node_by_id(const hv_host *host, int node_id)
{
    return host ? hv_host_node_mut((hv_host *)host, node_id) : NULL;
}

int hv_host_node_distance(const hv_host_node *node, int to_node_id)
{
    if (!node || !node->distances || !node->host)
        return -1;
    for (size_t i = 0; i < node->host->nnodes; i++)
        if (node->host->nodes[i].id == to_node_id)
            return node->distances[i];
    return -1;
}

uint64_t hv_host_node_hugepage_size_at(const hv_host_node *node, size_t index)
{
    return node && index < node->npools ? node->pools[index].page_bytes : 0;
}

int hv_host_node_hugepages(const hv_host_node *node, uint64_t page_bytes, uint64_t *total,
                           uint64_t *free_pages)
{
    const hv_hugepage_pool *pool;

    HV_CHECK_ARG(node, "node");
    pool = hv_host_node_pool(node, page_bytes);
    if (!pool)
        return hv_error_set(HV_E_NOTFOUND, NULL, "node %d has no %llu-byte huge page pool",
                            node->id, (unsigned long long)page_bytes);
    if (total)
        *total = pool->total;
    if (free_pages)
        *free_pages = pool->free;
    return 0;
}

const hv_accelerator *hv_host_accelerator_by_address(const hv_host *host, const char *pci_address)
{
    if (!host || !pci_address)
        return NULL;
    for (size_t i = 0; i < host->naccels; i++)
        if (strcmp(host->accels[i].pci_address, pci_address) == 0)
            return &host->accels[i];
    return NULL;
}

const char *hv_accelerator_kind_name(int kind)
{
    switch (kind) {
    case HV_ACCELERATOR_GPU:
        return "gpu";
    case HV_ACCELERATOR_FPGA:
        return "fpga";
    case HV_ACCELERATOR_OTHER:
        return "accelerator";
    default:
        return "";
    }
}

const char *hv_accelerator_vendor_name(const hv_accelerator *acc)
{
    return acc ? hv_pci_vendor_name(acc->vendor_id) : "";
}

const char *hv_accelerator_mdev_type_id(const hv_accelerator *acc, size_t index)
{
    return acc && index < acc->nmdev ? str(acc->mdev[index].id) : "";
}

const char *hv_accelerator_mdev_type_name(const hv_accelerator *acc, size_t index)
{
    return acc && index < acc->nmdev ? str(acc->mdev[index].name) : "";
}

int hv_accelerator_mdev_type_available(const hv_accelerator *acc, size_t index)
{
    return acc && index < acc->nmdev ? acc->mdev[index].available : -1;
}

const char *hv_rdma_device_vf_at(const hv_rdma_device *dev, size_t index)
{
    return dev && index < dev->nvfs ? dev->vfs[index] : NULL;
}

const char *hv_rdma_gid_type_name(int type)
{
    switch (type) {
    case HV_RDMA_GID_IB_ROCE_V1:
        return "IB/RoCE v1";
    case HV_RDMA_GID_ROCE_V2:
        return "RoCE v2";
    default:
        return "";
    }
}

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

static void node_clear(struct hv_host_node *node)
{
    hv_cpuset_clear(&node->cpus);
    free(node->cpulist);
    free(node->distances);
}

static void accelerator_clear(struct hv_accelerator *acc)
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
        node_clear(&host->nodes[i]);
    for (size_t i = 0; i < host->naccels; i++)
        accelerator_clear(&host->accels[i]);
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

const char *hv_host_root(const hv_host *host)
{
    return host ? str(host->root) : "";
}

const char *hv_host_profile(const hv_host *host)
{
    return host ? str(host->profile) : "";
}

const char *hv_host_cpu_model(const hv_host *host)
{
    return host ? host->cpu_model : "";
}

const char *hv_host_cpu_vendor(const hv_host *host)
{
    return host ? host->cpu_vendor : "";
}

unsigned int hv_host_cpu_count(const hv_host *host)
{
    return host ? (unsigned int)host->ncpus : 0;
}

unsigned int hv_host_core_count(const hv_host *host)
{
    return host ? host->cores : 0;
}

unsigned int hv_host_package_count(const hv_host *host)
{
    return host ? host->packages : 0;
}

unsigned int hv_host_die_count(const hv_host *host)
{
    return host ? host->dies : 0;
}

unsigned int hv_host_threads_per_core(const hv_host *host)
{
    return host ? host->threads_per_core : 0;
}

unsigned int hv_host_phys_addr_bits(const hv_host *host)
{
    return host ? host->phys_addr_bits : 0;
}

unsigned int hv_host_virt_addr_bits(const hv_host *host)
{
    return host ? host->virt_addr_bits : 0;
}

bool hv_host_has_1g_pages(const hv_host *host)
{
    return host ? host->has_1g_pages : false;
}

uint64_t hv_host_base_frequency_khz(const hv_host *host)
{
    return host ? host->base_frequency_khz : 0;
}

uint64_t hv_host_memory_bytes(const hv_host *host)
{
    return host ? host->memory_bytes : 0;
}

uint64_t hv_host_memory_available_bytes(const hv_host *host)
{
    return host ? host->memory_available_bytes : 0;
}

bool hv_host_node_memory_consistent(const hv_host *host)
{
    return host ? host->node_memory_consistent : false;
}

size_t hv_host_node_count(const hv_host *host)
{
    return host ? host->nnodes : 0;
}

size_t hv_host_accelerator_count(const hv_host *host)
{
    return host ? host->naccels : 0;
}

size_t hv_host_rdma_count(const hv_host *host)
{
    return host ? host->nrdma : 0;
}

size_t hv_host_finding_count(const hv_host *host)
{
    return host ? host->findings.count : 0;
}

unsigned int hv_host_cpu_id(const hv_host_cpu *cpu)
{
    return cpu ? cpu->id : 0;
}

int hv_host_cpu_package(const hv_host_cpu *cpu)
{
    return cpu ? cpu->package : -1;
}

int hv_host_cpu_die(const hv_host_cpu *cpu)
{
    return cpu ? cpu->die : -1;
}

int hv_host_cpu_core(const hv_host_cpu *cpu)
{
    return cpu ? cpu->core : -1;
}

int hv_host_cpu_node(const hv_host_cpu *cpu)
{
    return cpu ? cpu->node : -1;
}

int hv_host_node_id(const hv_host_node *node)
{
    return node ? node->id : -1;
}

const char *hv_host_node_cpulist(const hv_host_node *node)
{
    return node ? str(node->cpulist) : "";
}

unsigned int hv_host_node_cpu_count(const hv_host_node *node)
{
    return node ? node->cpu_count : 0;
}

unsigned int hv_host_node_core_count(const hv_host_node *node)
{
    return node ? node->core_count : 0;
}

uint64_t hv_host_node_memory_bytes(const hv_host_node *node)
{
    return node ? node->memory_bytes : 0;
}

uint64_t hv_host_node_free_bytes(const hv_host_node *node)
{
    return node ? node->free_bytes : 0;
}

size_t hv_host_node_hugepage_size_count(const hv_host_node *node)
{
    return node ? node->npools : 0;
}

const char *hv_accelerator_pci_address(const hv_accelerator *acc)
{
    return acc ? str(acc->pci_address) : "";
}

unsigned int hv_accelerator_vendor_id(const hv_accelerator *acc)
{
    return acc ? acc->vendor_id : 0;
}

unsigned int hv_accelerator_device_id(const hv_accelerator *acc)
{
    return acc ? acc->device_id : 0;
}

unsigned int hv_accelerator_subsystem_vendor_id(const hv_accelerator *acc)
{
    return acc ? acc->subsystem_vendor_id : 0;
}

unsigned int hv_accelerator_subsystem_device_id(const hv_accelerator *acc)
{
    return acc ? acc->subsystem_device_id : 0;
}

unsigned int hv_accelerator_class_code(const hv_accelerator *acc)
{
    return acc ? acc->class_code : 0;
}

int hv_accelerator_kind(const hv_accelerator *acc)
{
    return acc ? acc->kind : 0;
}

const char *hv_accelerator_model(const hv_accelerator *acc)
{
    return acc ? str(acc->model) : "";
}

const char *hv_accelerator_model_id(const hv_accelerator *acc)
{
    return acc ? str(acc->model_id) : "";
}

int hv_accelerator_numa_node(const hv_accelerator *acc)
{
    return acc ? acc->numa_node : -1;
}

const char *hv_accelerator_local_cpulist(const hv_accelerator *acc)
{
    return acc ? str(acc->local_cpulist) : "";
}

int hv_accelerator_iommu_group(const hv_accelerator *acc)
{
    return acc ? acc->iommu_group : -1;
}

const char *hv_accelerator_iommu_group_members(const hv_accelerator *acc)
{
    return acc ? str(acc->iommu_group_members) : "";
}

const char *hv_accelerator_driver(const hv_accelerator *acc)
{
    return acc ? str(acc->driver) : "";
}

const char *hv_accelerator_link_speed(const hv_accelerator *acc)
{
    return acc ? str(acc->link_speed) : "";
}

unsigned int hv_accelerator_link_width(const hv_accelerator *acc)
{
    return acc ? acc->link_width : 0;
}

const char *hv_accelerator_max_link_speed(const hv_accelerator *acc)
{
    return acc ? str(acc->max_link_speed) : "";
}

unsigned int hv_accelerator_max_link_width(const hv_accelerator *acc)
{
    return acc ? acc->max_link_width : 0;
}

unsigned int hv_accelerator_sriov_total_vfs(const hv_accelerator *acc)
{
    return acc ? acc->sriov_total_vfs : 0;
}

unsigned int hv_accelerator_sriov_enabled_vfs(const hv_accelerator *acc)
{
    return acc ? acc->sriov_enabled_vfs : 0;
}

size_t hv_accelerator_mdev_type_count(const hv_accelerator *acc)
{
    return acc ? acc->nmdev : 0;
}

size_t hv_accelerator_bar_count(const hv_accelerator *acc)
{
    return acc ? acc->nbars : 0;
}

uint64_t hv_accelerator_bar_total_bytes(const hv_accelerator *acc)
{
    return acc ? acc->bar_total_bytes : 0;
}

unsigned int hv_pci_bar_index(const hv_pci_bar *bar)
{
    return bar ? bar->index : 0;
}

uint64_t hv_pci_bar_start(const hv_pci_bar *bar)
{
    return bar ? bar->start : 0;
}

uint64_t hv_pci_bar_size_bytes(const hv_pci_bar *bar)
{
    return bar ? bar->size_bytes : 0;
}

bool hv_pci_bar_is_64bit(const hv_pci_bar *bar)
{
    return bar ? bar->is_64bit : false;
}

bool hv_pci_bar_is_prefetchable(const hv_pci_bar *bar)
{
    return bar ? bar->prefetchable : false;
}

bool hv_pci_bar_is_io(const hv_pci_bar *bar)
{
    return bar ? bar->is_io : false;
}

const char *hv_rdma_device_name(const hv_rdma_device *dev)
{
    return dev ? str(dev->name) : "";
}

const char *hv_rdma_device_node_type(const hv_rdma_device *dev)
{
    return dev ? str(dev->node_type) : "";
}

const char *hv_rdma_device_fw_version(const hv_rdma_device *dev)
{
    return dev ? str(dev->fw_version) : "";
}

const char *hv_rdma_device_node_guid(const hv_rdma_device *dev)
{
    return dev ? str(dev->node_guid) : "";
}

const char *hv_rdma_device_pci_address(const hv_rdma_device *dev)
{
    return dev ? str(dev->pci_address) : "";
}

int hv_rdma_device_numa_node(const hv_rdma_device *dev)
{
    return dev ? dev->numa_node : -1;
}

unsigned int hv_rdma_device_sriov_total_vfs(const hv_rdma_device *dev)
{
    return dev ? dev->sriov_total_vfs : 0;
}

unsigned int hv_rdma_device_sriov_enabled_vfs(const hv_rdma_device *dev)
{
    return dev ? dev->sriov_enabled_vfs : 0;
}

size_t hv_rdma_device_port_count(const hv_rdma_device *dev)
{
    return dev ? dev->nports : 0;
}

size_t hv_rdma_device_vf_count(const hv_rdma_device *dev)
{
    return dev ? dev->nvfs : 0;
}

unsigned int hv_rdma_port_number(const hv_rdma_port *port)
{
    return port ? port->number : 0;
}

const char *hv_rdma_port_state(const hv_rdma_port *port)
{
    return port ? str(port->state) : "";
}

const char *hv_rdma_port_phys_state(const hv_rdma_port *port)
{
    return port ? str(port->phys_state) : "";
}

const char *hv_rdma_port_rate(const hv_rdma_port *port)
{
    return port ? str(port->rate) : "";
}

unsigned int hv_rdma_port_rate_gbps(const hv_rdma_port *port)
{
    return port ? port->rate_gbps : 0;
}

int hv_rdma_port_link_layer(const hv_rdma_port *port)
{
    return port ? port->link_layer : 0;
}

unsigned int hv_rdma_port_active_mtu(const hv_rdma_port *port)
{
    return port ? port->active_mtu : 0;
}

const char *hv_rdma_port_netdev(const hv_rdma_port *port)
{
    return port ? str(port->netdev) : "";
}

size_t hv_rdma_port_gid_count(const hv_rdma_port *port)
{
    return port ? port->ngids : 0;
}

unsigned int hv_rdma_gid_index(const hv_rdma_gid *gid)
{
    return gid ? gid->index : 0;
}

const char *hv_rdma_gid_text(const hv_rdma_gid *gid)
{
    return gid ? str(gid->text) : "";
}

int hv_rdma_gid_type(const hv_rdma_gid *gid)
{
    return gid ? gid->type : 0;
}

const char *hv_rdma_gid_netdev(const hv_rdma_gid *gid)
{
    return gid ? str(gid->netdev) : "";
}

const hv_host_cpu *hv_host_cpu_at(const hv_host *host, size_t index)
{
    return host && index < host->ncpus ? &host->cpus[index] : NULL;
}

const hv_host_node *hv_host_node_at(const hv_host *host, size_t index)
{
    return host && index < host->nnodes ? &host->nodes[index] : NULL;
}

const hv_accelerator *hv_host_accelerator_at(const hv_host *host, size_t index)
{
    return host && index < host->naccels ? &host->accels[index] : NULL;
}

const hv_rdma_device *hv_host_rdma_at(const hv_host *host, size_t index)
{
    return host && index < host->nrdma ? &host->rdma[index] : NULL;
}

const hv_pci_bar *hv_accelerator_bar_at(const hv_accelerator *acc, size_t index)
{
    return acc && index < acc->nbars ? &acc->bars[index] : NULL;
}

const hv_rdma_port *hv_rdma_device_port_at(const hv_rdma_device *dev, size_t index)
{
    return dev && index < dev->nports ? &dev->ports[index] : NULL;
}

const hv_rdma_gid *hv_rdma_port_gid_at(const hv_rdma_port *port, size_t index)
{
    return port && index < port->ngids ? &port->gids[index] : NULL;
}

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

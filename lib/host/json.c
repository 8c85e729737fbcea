/*
 * host/json.c - a host as JSON (hv_host_to_json) and back (hv_host_from_json),
 * so a host described elsewhere (recorded, remote) can be planned for. The
 * keys are a documented contract: docs/host-json.md.
 */
#include "host/host.h"
#include "host/catalogue.h"
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "core/profile.h"
#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *cpus_to_json(const hv_host *host)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    int rc = 0;

    if (!o || !list) {
        json_object_put(o);
        json_object_put(list);
        return NULL;
    }
    rc |= hv_json_add_string(o, "model", host->cpu_model);
    rc |= hv_json_add_string(o, "vendor", host->cpu_vendor);
    rc |= hv_json_add_int(o, "logical", (int64_t)host->ncpus);
    rc |= hv_json_add_int(o, "cores", host->cores);
    rc |= hv_json_add_int(o, "packages", host->packages);
    rc |= hv_json_add_int(o, "dies", host->dies);
    rc |= hv_json_add_int(o, "threads_per_core", host->threads_per_core);
    rc |= hv_json_add_int(o, "phys_addr_bits", host->phys_addr_bits);
    rc |= hv_json_add_int(o, "virt_addr_bits", host->virt_addr_bits);
    rc |= hv_json_add_bool(o, "has_1g_pages", host->has_1g_pages);
    rc |= hv_json_add_u64(o, "base_frequency_khz", host->base_frequency_khz);
    for (size_t i = 0; i < host->ncpus && rc == 0; i++) {
        const struct hv_host_cpu *c = &host->cpus[i];
        json_object *cpu = json_object_new_object();

        if (!cpu) {
            rc = -1;
            break;
        }
        rc |= hv_json_add_int(cpu, "id", c->id);
        rc |= hv_json_add_int(cpu, "package", c->package);
        rc |= hv_json_add_int(cpu, "die", c->die);
        rc |= hv_json_add_int(cpu, "core", c->core);
        rc |= hv_json_add_int(cpu, "node", c->node);
        if (json_object_array_add(list, cpu) < 0) {
            json_object_put(cpu);
            rc = -1;
        }
    }
    rc |= hv_json_add(o, "list", list);
    if (rc < 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static json_object *node_to_json(const hv_host *host, const struct hv_host_node *node)
{
    json_object *o = json_object_new_object();
    json_object *dist = json_object_new_array(), *pages = json_object_new_array();
    int rc = 0;

    if (!o || !dist || !pages) {
        json_object_put(o);
        json_object_put(dist);
        json_object_put(pages);
        return NULL;
    }
    rc |= hv_json_add_int(o, "id", node->id);
    rc |= hv_json_add_string(o, "cpus", node->cpulist);
    rc |= hv_json_add_int(o, "cpu_count", node->cpu_count);
    rc |= hv_json_add_int(o, "core_count", node->core_count);
    rc |= hv_json_add_u64(o, "memory_bytes", node->memory_bytes);
    rc |= hv_json_add_u64(o, "free_bytes", node->free_bytes);
    for (size_t i = 0; i < host->nnodes; i++)
        rc |= hv_json_array_add_int(dist, node->distances ? node->distances[i] : -1);
    rc |= hv_json_add(o, "distances", dist);
    for (size_t i = 0; i < node->npools && rc == 0; i++) {
        json_object *p = json_object_new_object();

        rc |= p ? 0 : -1;
        if (p) {
            rc |= hv_json_add_u64(p, "page_bytes", node->pools[i].page_bytes);
            rc |= hv_json_add_u64(p, "total", node->pools[i].total);
            rc |= hv_json_add_u64(p, "free", node->pools[i].free);
            rc |= hv_json_add_u64(p, "surplus", node->pools[i].surplus);
            if (json_object_array_add(pages, p) < 0) {
                json_object_put(p);
                rc = -1;
            }
        }
    }
    rc |= hv_json_add(o, "hugepages", pages);
    if (rc < 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int add_hex(json_object *o, const char *key, unsigned int value, int digits)
{
    char buf[16];

    snprintf(buf, sizeof(buf), "%0*x", digits, value);
    return hv_json_add_string(o, key, buf);
}

static json_object *accel_to_json(const struct hv_accelerator *a)
{
    json_object *o = json_object_new_object(), *link = json_object_new_object();
    json_object *bars = json_object_new_array(), *mdev = json_object_new_array();
    int rc = 0;

    if (!o || !link || !bars || !mdev) {
        json_object_put(o);
        json_object_put(link);
        json_object_put(bars);
        json_object_put(mdev);
        return NULL;
    }
    rc |= hv_json_add_string(o, "pci_address", a->pci_address);
    rc |= add_hex(o, "vendor_id", a->vendor_id, 4);
    rc |= add_hex(o, "device_id", a->device_id, 4);
    rc |= add_hex(o, "subsystem_vendor_id", a->subsystem_vendor_id, 4);
    rc |= add_hex(o, "subsystem_device_id", a->subsystem_device_id, 4);
    rc |= add_hex(o, "class", a->class_code, 6);
    rc |= hv_json_add_string(o, "vendor", hv_pci_vendor_name(a->vendor_id));
    rc |= hv_json_add_string(o, "kind", hv_accelerator_kind_name(a->kind));
    rc |= hv_json_add_string(o, "model", a->model);
    rc |= hv_json_add_string(o, "model_id", a->model_id);
    rc |= hv_json_add_int(o, "numa_node", a->numa_node);
    rc |= hv_json_add_string(o, "local_cpus", a->local_cpulist);
    rc |= hv_json_add_int(o, "iommu_group", a->iommu_group);
    rc |= hv_json_add_string(o, "iommu_group_members", a->iommu_group_members);
    rc |= hv_json_add_string(o, "driver", a->driver);
    rc |= hv_json_add_string(link, "speed", a->link_speed);
    rc |= hv_json_add_int(link, "width", a->link_width);
    rc |= hv_json_add_string(link, "max_speed", a->max_link_speed);
    rc |= hv_json_add_int(link, "max_width", a->max_link_width);
    rc |= hv_json_add(o, "link", link);
    rc |= hv_json_add_int(o, "sriov_total_vfs", a->sriov_total_vfs);
    rc |= hv_json_add_int(o, "sriov_enabled_vfs", a->sriov_enabled_vfs);
    for (size_t i = 0; i < a->nmdev && rc == 0; i++) {
        json_object *t = json_object_new_object();

        rc |= t ? 0 : -1;
        if (t) {
            rc |= hv_json_add_string(t, "id", a->mdev[i].id);
            rc |= hv_json_add_string(t, "name", a->mdev[i].name);
            rc |= hv_json_add_int(t, "available_instances", a->mdev[i].available);
            rc |= hv_json_add_string(t, "device_api", a->mdev[i].device_api);
            if (json_object_array_add(mdev, t) < 0) {
                json_object_put(t);
                rc = -1;
            }
        }
    }
    rc |= hv_json_add(o, "mdev_types", mdev);
    for (size_t i = 0; i < a->nbars && rc == 0; i++) {
        json_object *b = json_object_new_object();

        rc |= b ? 0 : -1;
        if (b) {
            rc |= hv_json_add_int(b, "index", a->bars[i].index);
            rc |= hv_json_add_u64(b, "start", a->bars[i].start);
            rc |= hv_json_add_u64(b, "size_bytes", a->bars[i].size_bytes);
            rc |= hv_json_add_bool(b, "is_64bit", a->bars[i].is_64bit);
            rc |= hv_json_add_bool(b, "prefetchable", a->bars[i].prefetchable);
            rc |= hv_json_add_bool(b, "is_io", a->bars[i].is_io);
            if (json_object_array_add(bars, b) < 0) {
                json_object_put(b);
                rc = -1;
            }
        }
    }
    rc |= hv_json_add(o, "bars", bars);
    rc |= hv_json_add_u64(o, "bar_total_bytes", a->bar_total_bytes);
    if (rc < 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static json_object *rdma_to_json(const struct hv_rdma_device *d)
{
    json_object *o = json_object_new_object(), *ports = json_object_new_array();
    int rc = 0;

    if (!o || !ports) {
        json_object_put(o);
        json_object_put(ports);
        return NULL;
    }
    rc |= hv_json_add_string(o, "name", d->name);
    rc |= hv_json_add_string(o, "node_type", d->node_type);
    rc |= hv_json_add_string(o, "fw_ver", d->fw_version);
    rc |= hv_json_add_string(o, "node_guid", d->node_guid);
    rc |= hv_json_add_string(o, "pci_address", d->pci_address);
    rc |= hv_json_add_int(o, "numa_node", d->numa_node);
    rc |= hv_json_add_int(o, "sriov_total_vfs", d->sriov_total_vfs);
    rc |= hv_json_add_int(o, "sriov_enabled_vfs", d->sriov_enabled_vfs);
    {
        json_object *vfs = json_object_new_array();

        for (size_t i = 0; vfs && i < d->nvfs && rc == 0; i++) {
            json_object *v = json_object_new_string(d->vfs[i]);

            if (!v || json_object_array_add(vfs, v) < 0) {
                json_object_put(v);
                rc = -1;
            }
        }
        rc |= hv_json_add(o, "vf_addresses", vfs);
    }
    for (size_t i = 0; i < d->nports && rc == 0; i++) {
        const struct hv_rdma_port *p = &d->ports[i];
        json_object *po = json_object_new_object(), *gids = json_object_new_array();

        if (!po || !gids) {
            json_object_put(po);
            json_object_put(gids);
            rc = -1;
            break;
        }
        rc |= hv_json_add_int(po, "port", p->number);
        rc |= hv_json_add_string(po, "state", p->state);
        rc |= hv_json_add_string(po, "phys_state", p->phys_state);
        rc |= hv_json_add_string(po, "link_layer",
                                 p->link_layer == HV_RDMA_LINK_INFINIBAND ? "InfiniBand"
                                 : p->link_layer == HV_RDMA_LINK_ETHERNET ? "Ethernet"
                                                                          : "");
        rc |= hv_json_add_int(po, "active_mtu", p->active_mtu);
        rc |= hv_json_add_string(po, "rate", p->rate);
        rc |= hv_json_add_int(po, "rate_gbps", p->rate_gbps);
        rc |= hv_json_add_string(po, "netdev", p->netdev);
        for (size_t g = 0; g < p->ngids && rc == 0; g++) {
            json_object *go = json_object_new_object();

            rc |= go ? 0 : -1;
            if (go) {
                rc |= hv_json_add_int(go, "index", p->gids[g].index);
                rc |= hv_json_add_string(go, "gid", p->gids[g].text);
                rc |= hv_json_add_string(go, "type", hv_rdma_gid_type_name(p->gids[g].type));
                rc |= hv_json_add_string(go, "netdev", p->gids[g].netdev);
                if (json_object_array_add(gids, go) < 0) {
                    json_object_put(go);
                    rc = -1;
                }
            }
        }
        rc |= hv_json_add(po, "gids", gids);
        if (json_object_array_add(ports, po) < 0) {
            json_object_put(po);
            rc = -1;
        }
    }
    rc |= hv_json_add(o, "ports", ports);
    if (rc < 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* The host as a json-c object (NULL on ENOMEM); hv_host_to_json() serializes it. */
static json_object *host_to_json_object(const hv_host *host)
{
    json_object *root = json_object_new_object(), *memory = json_object_new_object();
    json_object *nodes = json_object_new_array(), *accels = json_object_new_array();
    json_object *rdma = json_object_new_array();
    uint64_t node_total = 0;
    int rc = 0;

    if (!root || !memory || !nodes || !accels || !rdma) {
        json_object_put(root);
        json_object_put(memory);
        json_object_put(nodes);
        json_object_put(accels);
        json_object_put(rdma);
        return NULL;
    }
    rc |= hv_json_add_string(root, "root", host->root);
    rc |= hv_json_add_string(root, "profile", host->profile);
    rc |= hv_json_add(root, "cpus", cpus_to_json(host));
    for (size_t i = 0; i < host->nnodes; i++)
        node_total += host->nodes[i].memory_bytes;
    rc |= hv_json_add_u64(memory, "total_bytes", host->memory_bytes);
    rc |= hv_json_add_u64(memory, "available_bytes", host->memory_available_bytes);
    rc |= hv_json_add_u64(memory, "node_total_bytes", node_total);
    rc |= hv_json_add_bool(memory, "nodes_consistent", host->node_memory_consistent);
    rc |= hv_json_add(root, "memory", memory);
    for (size_t i = 0; i < host->nnodes && rc == 0; i++) {
        json_object *n = node_to_json(host, &host->nodes[i]);

        if (!n || json_object_array_add(nodes, n) < 0) {
            json_object_put(n);
            rc = -1;
        }
    }
    rc |= hv_json_add(root, "numa_nodes", nodes);
    for (size_t i = 0; i < host->naccels && rc == 0; i++) {
        json_object *a = accel_to_json(&host->accels[i]);

        if (!a || json_object_array_add(accels, a) < 0) {
            json_object_put(a);
            rc = -1;
        }
    }
    rc |= hv_json_add(root, "accelerators", accels);
    for (size_t i = 0; i < host->nrdma && rc == 0; i++) {
        json_object *d = rdma_to_json(&host->rdma[i]);

        if (!d || json_object_array_add(rdma, d) < 0) {
            json_object_put(d);
            rc = -1;
        }
    }
    rc |= hv_json_add(root, "rdma", rdma);
    rc |= hv_json_add(root, "findings", hv_findings_to_json(&host->findings));
    if (rc < 0) {
        json_object_put(root);
        hv_error_nomem();
        return NULL;
    }
    return root;
}

int hv_host_to_json(const hv_host *host, unsigned int flags, char **json)
{
    HV_CHECK_ARG(host, "host");
    HV_CHECK_ARG(json, "json");
    return hv_json_emit(host_to_json_object(host), flags, json);
}

/* ---- from JSON ------------------------------------------------------------ */

#define P HV_E_PARSE

/*
 * The longest lists a host document may hold. Most are the ceilings the
 * rest of the library works to (host/host.h, core/cpuset.h) or follow from
 * the range of the numbers that index them; the others bound what nothing
 * else does, far beyond any machine.
 */
#define HOST_MAX_NODES        (HV_MAX_NODE_ID + 1)
#define HOST_MAX_BARS         (sizeof(((struct hv_accelerator *)0)->bars) / sizeof(struct hv_pci_bar))
#define HOST_MAX_ACCELERATORS 4096
#define HOST_MAX_MDEV_TYPES   256
#define HOST_MAX_RDMA_DEVICES 4096
#define HOST_MAX_RDMA_PORTS   255 /* port numbers are 1..255 */
#define HOST_MAX_GID_INDEX    65535
#define HOST_MAX_GIDS         4096  /* far more than a port's GID table holds */
#define HOST_MAX_VFS          65535 /* as sriov_total_vfs */
#define HOST_MAX_FINDINGS     16384

static const hv_json_array_limit host_arrays[] = {
    {"cpus.list", HV_CPUSET_LIMIT, "CPUs"},
    {"numa_nodes", HOST_MAX_NODES, "NUMA nodes"},
    {"numa_nodes[].distances", HOST_MAX_NODES, "distances (one per NUMA node)"},
    {"numa_nodes[].hugepages", HV_MAX_HUGEPAGE_SIZES, "huge page sizes per node"},
    {"accelerators", HOST_MAX_ACCELERATORS, "accelerators"},
    {"accelerators[].mdev_types", HOST_MAX_MDEV_TYPES, "mdev types per device"},
    {"accelerators[].bars", HOST_MAX_BARS, "BARs per PCI function"},
    {"rdma", HOST_MAX_RDMA_DEVICES, "RDMA devices"},
    {"rdma[].vf_addresses", HOST_MAX_VFS, "VFs per device"},
    {"rdma[].ports", HOST_MAX_RDMA_PORTS, "ports per RDMA device"},
    {"rdma[].ports[].gids", HOST_MAX_GIDS, "GIDs per port"},
    {"findings", HOST_MAX_FINDINGS, "findings"},
    {NULL, 0, NULL},
};

/*
 * The whole document, which json-c builds all of before a value is read: a
 * host at the ceilings (1,024 nodes with a distance to each other, 8,192
 * CPUs) is about 1.1 million values, 16,000 of them objects and arrays, and
 * 15 MB printed with PRETTY; `hpcvirt plan` peaks at about 120 MB on it.
 */
static const hv_json_bounds host_bounds = {
    .code = P,
    .max_bytes = (size_t)32 << 20,
    .max_depth = 16,
    .max_values = (size_t)3 << 19,
    .max_containers = (size_t)1 << 16,
    .max_members = 256,
    .arrays = host_arrays,
};

static int dup_string(json_object *o, const char *key, const char *path, char **out)
{
    const char *s = "";
    int rc = o ? hv_json_read_string(o, key, path, false, P, &s) : 0;

    if (rc < 0)
        return rc;
    *out = hv_strdup(s);
    return *out ? 0 : HV_E_NOMEM;
}

static int read_hex_id(json_object *o, const char *key, const char *path, unsigned int max,
                       unsigned int *out)
{
    const char *s = NULL;
    char *end, where[256];
    unsigned long v;
    int rc = hv_json_read_string(o, key, path, false, P, &s);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    v = strtoul(s, &end, 16);
    if (!*s || *end || v > max) {
        hv_json_path_key(where, sizeof(where), path, key);
        return hv_error_set(P, where, "%s must be a hex id like \"10de\"", where);
    }
    *out = (unsigned int)v;
    return 0;
}

static int cpus_from_json(hv_host *host, json_object *cpus)
{
    json_object *list;
    const char *s;
    int64_t v;
    size_t count;
    int rc;

    if ((rc = hv_json_read_string(cpus, "model", "cpus", false, P, &s)) == 0)
        hv_utf8_repair_n(host->cpu_model, sizeof(host->cpu_model), s, strlen(s));
    if (rc < 0 || (rc = hv_json_read_string(cpus, "vendor", "cpus", false, P, &s)) < 0)
        return rc;
    if (rc == 0)
        hv_utf8_repair_n(host->cpu_vendor, sizeof(host->cpu_vendor), s, strlen(s));
    if ((rc = hv_json_read_i64(cpus, "phys_addr_bits", "cpus", false, P, 0, 64, &v)) < 0)
        return rc;
    host->phys_addr_bits = rc == 0 ? (unsigned int)v : 0;
    if ((rc = hv_json_read_i64(cpus, "virt_addr_bits", "cpus", false, P, 0, 64, &v)) < 0)
        return rc;
    host->virt_addr_bits = rc == 0 ? (unsigned int)v : 0;
    if ((rc = hv_json_read_bool(cpus, "has_1g_pages", "cpus", false, P, &host->has_1g_pages)) < 0 ||
        (rc = hv_json_read_u64(cpus, "base_frequency_khz", "cpus", false, P, 100000000,
                               &host->base_frequency_khz)) < 0 ||
        (rc = hv_json_read_array(cpus, "list", "cpus", true, P, &list)) < 0)
        return rc;
    /* The count is set with the array it counts, after both are known good. */
    count = json_object_array_length(list);
    if (count == 0 || count > HV_CPUSET_LIMIT)
        return hv_error_set(P, "cpus.list", "cpus.list must list 1..%d CPUs", HV_CPUSET_LIMIT);
    if (!(host->cpus = hv_calloc(count, sizeof(*host->cpus))))
        return HV_E_NOMEM;
    host->ncpus = count;
    for (size_t i = 0; i < host->ncpus; i++) {
        json_object *c = json_object_array_get_idx(list, i);
        struct hv_host_cpu *cpu = &host->cpus[i];
        char path[64];
        int id;

        hv_json_path_index(path, sizeof(path), "cpus.list", i);
        if ((rc = hv_json_read_int(c, "id", path, true, P, 0, HV_CPUSET_LIMIT - 1, &id)) < 0 ||
            (rc = hv_json_read_int(c, "package", path, true, P, -1, 1000000, &cpu->package)) < 0 ||
            (rc = hv_json_read_int(c, "die", path, false, P, -1, 1000000, &cpu->die)) < 0 ||
            (rc = hv_json_read_int(c, "core", path, true, P, -1, 1000000, &cpu->core)) < 0 ||
            (rc = hv_json_read_int(c, "node", path, true, P, -1, HV_MAX_NODE_ID, &cpu->node)) < 0)
            return rc;
        cpu->id = (unsigned int)id;
        if (i && cpu->id <= host->cpus[i - 1].id)
            return hv_error_set(P, path, "%s: CPU ids must be listed in increasing order", path);
    }
    return 0;
}

static int node_from_json(hv_host *host, json_object *n, const char *path,
                          struct hv_host_node *node)
{
    json_object *dist, *pages = NULL;
    const char *cpus;
    int rc;

    node->host = host;
    if ((rc = hv_json_read_int(n, "id", path, true, P, 0, HV_MAX_NODE_ID, &node->id)) < 0 ||
        (rc = hv_json_read_string(n, "cpus", path, true, P, &cpus)) < 0 ||
        (rc = hv_json_read_u64(n, "memory_bytes", path, true, P, UINT64_MAX, &node->memory_bytes)) <
            0 ||
        (rc = hv_json_read_u64(n, "free_bytes", path, true, P, UINT64_MAX, &node->free_bytes)) <
            0 ||
        (rc = hv_json_read_array(n, "distances", path, true, P, &dist)) < 0 ||
        (rc = hv_json_read_array(n, "hugepages", path, false, P, &pages)) < 0)
        return rc;
    {
        char where[256];

        hv_json_path_key(where, sizeof(where), path, "cpus");
        /* hv_cpuset_parse() quotes what it refuses as it is: never let it see such text */
        if (hv_text_unprintable_at(cpus, strlen(cpus)) < strlen(cpus)) {
            char quoted[HV_QUOTE_SIZE];

            return hv_error_set(P, where, "%s: '%s' is not a CPU list (expected ranges like 0-3,8)",
                                where, hv_quote(quoted, sizeof(quoted), cpus));
        }
        if ((rc = hv_cpuset_parse(&node->cpus, cpus, where)) < 0)
            return rc;
        if (!(node->cpulist = hv_cpuset_format(&node->cpus)))
            return HV_E_NOMEM;
        hv_json_path_key(where, sizeof(where), path, "distances");
        if (json_object_array_length(dist) != host->nnodes)
            return hv_error_set(P, where, "%s must have one entry per node (%zu)", where,
                                host->nnodes);
        node->distances = hv_calloc(host->nnodes, sizeof(int));
        if (!node->distances)
            return HV_E_NOMEM;
        for (size_t i = 0; i < host->nnodes; i++) {
            json_object *d = json_object_array_get_idx(dist, i);
            int64_t v = json_object_get_int64(d);

            if (!json_object_is_type(d, json_type_int) || v < -1 || v > 255)
                return hv_error_set(P, where, "%s[%zu] must be a distance (-1..255)", where, i);
            node->distances[i] = (int)v;
        }
    }
    for (size_t i = 0; pages && i < json_object_array_length(pages); i++) {
        json_object *p = json_object_array_get_idx(pages, i);
        hv_hugepage_pool *pool = &node->pools[node->npools];
        char where[256], ppath[256];

        hv_json_path_key(where, sizeof(where), path, "hugepages");
        hv_json_path_index(ppath, sizeof(ppath), where, i);
        if (node->npools == HV_MAX_HUGEPAGE_SIZES)
            return hv_error_set(P, ppath, "%s: at most %d huge page sizes per node", ppath,
                                HV_MAX_HUGEPAGE_SIZES);
        if ((rc = hv_json_read_u64(p, "page_bytes", ppath, true, P, UINT64_MAX,
                                   &pool->page_bytes)) < 0 ||
            (rc = hv_json_read_u64(p, "total", ppath, true, P, UINT64_MAX, &pool->total)) < 0 ||
            (rc = hv_json_read_u64(p, "free", ppath, true, P, pool->total, &pool->free)) < 0 ||
            (rc = hv_json_read_u64(p, "surplus", ppath, false, P, UINT64_MAX, &pool->surplus)) < 0)
            return rc;
        if (pool->page_bytes == 0 || (pool->page_bytes & (pool->page_bytes - 1)))
            return hv_error_set(P, ppath, "%s.page_bytes must be a power of two", ppath);
        node->npools++;
    }
    return 0;
}

static int accel_from_json(json_object *a, const char *path, struct hv_accelerator *acc)
{
    json_object *link = NULL, *bars = NULL, *mdev = NULL;
    const char *kind = "", *model = "";
    unsigned int v = 0;
    int rc;

    if ((rc = dup_string(a, "pci_address", path, &acc->pci_address)) < 0)
        return rc;
    if (!hv_is_pci_address(acc->pci_address)) {
        char where[256];

        hv_json_path_key(where, sizeof(where), path, "pci_address");
        return hv_error_set(P, where, "%s must be a PCI address like 0000:41:00.0", where);
    }
    if ((rc = read_hex_id(a, "vendor_id", path, 0xffff, &v)) < 0)
        return rc;
    acc->vendor_id = (uint16_t)v;
    if ((rc = read_hex_id(a, "device_id", path, 0xffff, &v)) < 0)
        return rc;
    acc->device_id = (uint16_t)v;
    if ((rc = read_hex_id(a, "subsystem_vendor_id", path, 0xffff, &v)) < 0)
        return rc;
    acc->subsystem_vendor_id = (uint16_t)v;
    if ((rc = read_hex_id(a, "subsystem_device_id", path, 0xffff, &v)) < 0)
        return rc;
    acc->subsystem_device_id = (uint16_t)v;
    if ((rc = read_hex_id(a, "class", path, 0xffffff, &acc->class_code)) < 0 ||
        (rc = hv_json_read_string(a, "kind", path, false, P, &kind)) < 0 ||
        (rc = hv_json_read_string(a, "model", path, false, P, &model)) < 0)
        return rc;
    acc->kind = hv_accel_kind_from_name(kind);
    if (!acc->kind)
        acc->kind = hv_accel_kind_from_pci(acc->vendor_id, acc->device_id, acc->class_code);
    if (!acc->kind)
        acc->kind = HV_ACCELERATOR_OTHER;
    {
        const hv_catalogue_entry *e = hv_catalogue_by_ids(acc->vendor_id, acc->device_id);

        acc->model_id = e ? e->id : "";
        if (e && (!*model || strcmp(model, e->name) == 0)) {
            acc->model = e->name;
        } else {
            if (!(acc->model_owned = hv_strdup(model)))
                return HV_E_NOMEM;
            acc->model = acc->model_owned;
        }
    }
    acc->numa_node = -1;
    acc->iommu_group = -1;
    if ((rc = hv_json_read_int(a, "numa_node", path, false, P, -1, HV_MAX_NODE_ID,
                               &acc->numa_node)) < 0 ||
        (rc = dup_string(a, "local_cpus", path, &acc->local_cpulist)) < 0 ||
        (rc = hv_json_read_int(a, "iommu_group", path, false, P, -1, 1000000, &acc->iommu_group)) <
            0 ||
        (rc = dup_string(a, "iommu_group_members", path, &acc->iommu_group_members)) < 0 ||
        (rc = dup_string(a, "driver", path, &acc->driver)) < 0 ||
        (rc = hv_json_read_object(a, "link", path, false, P, &link)) < 0)
        return rc;
    {
        char lpath[256];
        int w = 0, mw = 0;

        hv_json_path_key(lpath, sizeof(lpath), path, "link");
        if ((rc = dup_string(link, "speed", lpath, &acc->link_speed)) < 0 ||
            (rc = dup_string(link, "max_speed", lpath, &acc->max_link_speed)) < 0 ||
            (link && (rc = hv_json_read_int(link, "width", lpath, false, P, 0, 64, &w)) < 0) ||
            (link && (rc = hv_json_read_int(link, "max_width", lpath, false, P, 0, 64, &mw)) < 0))
            return rc;
        acc->link_width = (unsigned int)w;
        acc->max_link_width = (unsigned int)mw;
    }
    {
        int total = 0, enabled = 0;

        if ((rc = hv_json_read_int(a, "sriov_total_vfs", path, false, P, 0, HOST_MAX_VFS, &total)) <
                0 ||
            (rc = hv_json_read_int(a, "sriov_enabled_vfs", path, false, P, 0, total, &enabled)) < 0)
            return rc;
        acc->sriov_total_vfs = (unsigned int)total;
        acc->sriov_enabled_vfs = (unsigned int)enabled;
    }
    if ((rc = hv_json_read_array(a, "mdev_types", path, false, P, &mdev)) < 0 ||
        (rc = hv_json_read_array(a, "bars", path, false, P, &bars)) < 0)
        return rc;
    if (mdev && json_object_array_length(mdev)) {
        acc->mdev = hv_calloc(json_object_array_length(mdev), sizeof(*acc->mdev));
        if (!acc->mdev)
            return HV_E_NOMEM;
        for (size_t i = 0; i < json_object_array_length(mdev); i++) {
            json_object *t = json_object_array_get_idx(mdev, i);
            hv_mdev_type *mt = &acc->mdev[acc->nmdev++];
            char mpath[256], base[256];

            hv_json_path_key(base, sizeof(base), path, "mdev_types");
            hv_json_path_index(mpath, sizeof(mpath), base, i);
            if ((rc = dup_string(t, "id", mpath, &mt->id)) < 0 ||
                (rc = dup_string(t, "name", mpath, &mt->name)) < 0 ||
                (rc = dup_string(t, "device_api", mpath, &mt->device_api)) < 0 ||
                (rc = hv_json_read_int(t, "available_instances", mpath, false, P, 0, 1 << 20,
                                       &mt->available)) < 0)
                return rc;
        }
    }
    for (size_t i = 0; bars && i < json_object_array_length(bars); i++) {
        json_object *b = json_object_array_get_idx(bars, i);
        struct hv_pci_bar *bar = &acc->bars[acc->nbars];
        char bpath[256], base[256];
        int index;

        hv_json_path_key(base, sizeof(base), path, "bars");
        hv_json_path_index(bpath, sizeof(bpath), base, i);
        if (acc->nbars == HOST_MAX_BARS)
            return hv_error_set(P, bpath, "%s: a PCI function has at most %zu BARs", bpath,
                                HOST_MAX_BARS);
        if ((rc = hv_json_read_int(b, "index", bpath, true, P, 0, 5, &index)) < 0 ||
            (rc = hv_json_read_u64(b, "start", bpath, false, P, UINT64_MAX, &bar->start)) < 0 ||
            (rc = hv_json_read_u64(b, "size_bytes", bpath, true, P, UINT64_MAX, &bar->size_bytes)) <
                0 ||
            (rc = hv_json_read_bool(b, "is_64bit", bpath, false, P, &bar->is_64bit)) < 0 ||
            (rc = hv_json_read_bool(b, "prefetchable", bpath, false, P, &bar->prefetchable)) < 0 ||
            (rc = hv_json_read_bool(b, "is_io", bpath, false, P, &bar->is_io)) < 0)
            return rc;
        bar->index = (unsigned int)index;
        if (!hv_add_u64(acc->bar_total_bytes, bar->size_bytes, &acc->bar_total_bytes))
            return hv_error_set(P, bpath, "%s: BAR sizes add up to more than 2^64 bytes", bpath);
        acc->nbars++;
    }
    return 0;
}

static int rdma_from_json(json_object *d, const char *path, struct hv_rdma_device *dev)
{
    json_object *ports = NULL;
    int total = 0, enabled = 0, rc;

    dev->numa_node = -1;
    if ((rc = dup_string(d, "name", path, &dev->name)) < 0 ||
        (rc = dup_string(d, "node_type", path, &dev->node_type)) < 0 ||
        (rc = dup_string(d, "fw_ver", path, &dev->fw_version)) < 0 ||
        (rc = dup_string(d, "node_guid", path, &dev->node_guid)) < 0 ||
        (rc = dup_string(d, "pci_address", path, &dev->pci_address)) < 0 ||
        (rc = hv_json_read_int(d, "numa_node", path, false, P, -1, HV_MAX_NODE_ID,
                               &dev->numa_node)) < 0 ||
        (rc = hv_json_read_int(d, "sriov_total_vfs", path, false, P, 0, HOST_MAX_VFS, &total)) <
            0 ||
        (rc = hv_json_read_int(d, "sriov_enabled_vfs", path, false, P, 0, total, &enabled)) < 0 ||
        (rc = hv_json_read_array(d, "ports", path, false, P, &ports)) < 0)
        return rc;
    dev->sriov_total_vfs = (unsigned int)total;
    dev->sriov_enabled_vfs = (unsigned int)enabled;
    {
        json_object *vfs = NULL;
        char vpath[256];

        if ((rc = hv_json_read_array(d, "vf_addresses", path, false, P, &vfs)) < 0)
            return rc;
        hv_json_path_key(vpath, sizeof(vpath), path, "vf_addresses");
        if (vfs && json_object_array_length(vfs)) {
            dev->vfs = hv_calloc(json_object_array_length(vfs), sizeof(*dev->vfs));
            if (!dev->vfs)
                return HV_E_NOMEM;
            for (size_t i = 0; i < json_object_array_length(vfs); i++) {
                json_object *v = json_object_array_get_idx(vfs, i);

                if (!json_object_is_type(v, json_type_string) ||
                    !hv_is_pci_address(json_object_get_string(v)))
                    return hv_error_set(P, vpath, "%s[%zu] must be a PCI address", vpath, i);
                if (!(dev->vfs[dev->nvfs++] = hv_strdup(json_object_get_string(v))))
                    return HV_E_NOMEM;
            }
        }
    }
    if (!ports || !json_object_array_length(ports))
        return 0;
    dev->ports = hv_calloc(json_object_array_length(ports), sizeof(*dev->ports));
    if (!dev->ports)
        return HV_E_NOMEM;
    for (size_t i = 0; i < json_object_array_length(ports); i++) {
        json_object *po = json_object_array_get_idx(ports, i), *gids = NULL;
        struct hv_rdma_port *port = &dev->ports[dev->nports++];
        char ppath[256], base[256];
        const char *layer = "";
        int number = 0, mtu = 0, gbps = 0;

        hv_json_path_key(base, sizeof(base), path, "ports");
        hv_json_path_index(ppath, sizeof(ppath), base, i);
        if ((rc = hv_json_read_int(po, "port", ppath, true, P, 1, HOST_MAX_RDMA_PORTS, &number)) <
                0 ||
            (rc = dup_string(po, "state", ppath, &port->state)) < 0 ||
            (rc = dup_string(po, "phys_state", ppath, &port->phys_state)) < 0 ||
            (rc = dup_string(po, "rate", ppath, &port->rate)) < 0 ||
            (rc = dup_string(po, "netdev", ppath, &port->netdev)) < 0 ||
            (rc = hv_json_read_string(po, "link_layer", ppath, false, P, &layer)) < 0 ||
            (rc = hv_json_read_int(po, "active_mtu", ppath, false, P, 0, 4096, &mtu)) < 0 ||
            (rc = hv_json_read_int(po, "rate_gbps", ppath, false, P, 0, 100000, &gbps)) < 0 ||
            (rc = hv_json_read_array(po, "gids", ppath, false, P, &gids)) < 0)
            return rc;
        port->number = (unsigned int)number;
        port->active_mtu = (unsigned int)mtu;
        port->rate_gbps = (unsigned int)gbps;
        port->link_layer = strcmp(layer, "InfiniBand") == 0 ? HV_RDMA_LINK_INFINIBAND
                           : strcmp(layer, "Ethernet") == 0 ? HV_RDMA_LINK_ETHERNET
                                                            : HV_RDMA_LINK_UNKNOWN;
        if (!gids || !json_object_array_length(gids))
            continue;
        port->gids = hv_calloc(json_object_array_length(gids), sizeof(*port->gids));
        if (!port->gids)
            return HV_E_NOMEM;
        for (size_t g = 0; g < json_object_array_length(gids); g++) {
            json_object *go = json_object_array_get_idx(gids, g);
            struct hv_rdma_gid *gid = &port->gids[port->ngids++];
            char gpath[300], gbase[280];
            const char *type = "";
            int index = 0;

            hv_json_path_key(gbase, sizeof(gbase), ppath, "gids");
            hv_json_path_index(gpath, sizeof(gpath), gbase, g);
            if ((rc = hv_json_read_int(go, "index", gpath, true, P, 0, HOST_MAX_GID_INDEX,
                                       &index)) < 0 ||
                (rc = dup_string(go, "gid", gpath, &gid->text)) < 0 ||
                (rc = dup_string(go, "netdev", gpath, &gid->netdev)) < 0 ||
                (rc = hv_json_read_string(go, "type", gpath, false, P, &type)) < 0)
                return rc;
            gid->index = (unsigned int)index;
            gid->type = strcmp(type, "IB/RoCE v1") == 0 ? HV_RDMA_GID_IB_ROCE_V1
                        : strcmp(type, "RoCE v2") == 0  ? HV_RDMA_GID_ROCE_V2
                                                        : HV_RDMA_GID_UNKNOWN;
        }
    }
    return 0;
}

static int host_from_json_object(hv_host *host, json_object *root)
{
    json_object *cpus, *memory = NULL, *nodes, *accels = NULL, *rdma = NULL, *findings = NULL;
    const char *s = NULL;
    bool consistent = true;
    size_t count;
    int rc;

    host->from_json = true;
    if (!json_object_is_type(root, json_type_object))
        return hv_error_set(P, "", "a host document must be a JSON object");
    if ((rc = hv_json_read_string(root, "root", "", false, P, &s)) < 0)
        return rc;
    if (!(host->root = hv_strdup(rc == 0 ? s : "")))
        return HV_E_NOMEM;
    s = NULL;
    if ((rc = hv_json_read_string(root, "profile", "", false, P, &s)) < 0)
        return rc;
    host->profile = hv_profile_find(s) ? hv_profile_find(s)->name : HV_DEFAULT_PROFILE;
    if (rc == 0 && !hv_profile_find(s))
        return hv_profile_unknown_error(P, "profile", s);
    if ((rc = hv_json_read_object(root, "cpus", "", true, P, &cpus)) < 0 ||
        (rc = cpus_from_json(host, cpus)) < 0 ||
        (rc = hv_json_read_object(root, "memory", "", false, P, &memory)) < 0 ||
        (rc = hv_json_read_array(root, "numa_nodes", "", true, P, &nodes)) < 0 ||
        (rc = hv_json_read_array(root, "accelerators", "", false, P, &accels)) < 0 ||
        (rc = hv_json_read_array(root, "rdma", "", false, P, &rdma)) < 0 ||
        (rc = hv_json_read_array(root, "findings", "", false, P, &findings)) < 0)
        return rc;
    if (memory &&
        ((rc = hv_json_read_u64(memory, "total_bytes", "memory", false, P, UINT64_MAX,
                                &host->memory_bytes)) < 0 ||
         (rc = hv_json_read_u64(memory, "available_bytes", "memory", false, P, UINT64_MAX,
                                &host->memory_available_bytes)) < 0 ||
         (rc = hv_json_read_bool(memory, "nodes_consistent", "memory", false, P, &consistent)) < 0))
        return rc;
    host->node_memory_consistent = consistent;
    /* hv_host_free() walks host->nodes for host->nnodes: set them together. */
    count = json_object_array_length(nodes);
    if (count == 0 || count > HOST_MAX_NODES)
        return hv_error_set(P, "numa_nodes", "numa_nodes must list 1..%d nodes", HOST_MAX_NODES);
    if (!(host->nodes = hv_calloc(count, sizeof(*host->nodes))))
        return HV_E_NOMEM;
    host->nnodes = count;
    for (size_t i = 0; i < host->nnodes; i++) {
        char path[64];

        hv_json_path_index(path, sizeof(path), "numa_nodes", i);
        if ((rc = node_from_json(host, json_object_array_get_idx(nodes, i), path,
                                 &host->nodes[i])) < 0)
            return rc;
        if (i && host->nodes[i].id <= host->nodes[i - 1].id)
            return hv_error_set(P, path, "%s: node ids must be listed in increasing order", path);
    }
    for (size_t i = 0; i < host->ncpus; i++) {
        if (host->cpus[i].node >= 0 && !hv_host_node_mut(host, host->cpus[i].node)) {
            char path[64];

            hv_json_path_index(path, sizeof(path), "cpus.list", i);
            return hv_error_set(P, path, "%s: node %d is not in numa_nodes", path,
                                host->cpus[i].node);
        }
    }
    for (size_t i = 0; accels && i < json_object_array_length(accels); i++) {
        char path[64];

        if (HV_ARRAY_RESERVE(host->accels, host->accels_cap, host->naccels + 1) < 0)
            return HV_E_NOMEM;
        hv_json_path_index(path, sizeof(path), "accelerators", i);
        rc = accel_from_json(json_object_array_get_idx(accels, i), path,
                             &host->accels[host->naccels++]);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; rdma && i < json_object_array_length(rdma); i++) {
        char path[64];

        if (HV_ARRAY_RESERVE(host->rdma, host->rdma_cap, host->nrdma + 1) < 0)
            return HV_E_NOMEM;
        hv_json_path_index(path, sizeof(path), "rdma", i);
        rc = rdma_from_json(json_object_array_get_idx(rdma, i), path, &host->rdma[host->nrdma++]);
        if (rc < 0)
            return rc;
    }
    if (findings && (rc = hv_findings_from_json(&host->findings, findings, "findings")) < 0)
        return rc;
    hv_host_count_topology(host);
    return 0;
}

int hv_host_from_json(const char *json, hv_host **out)
{
    json_object *root;
    hv_host *host;
    int rc;

    HV_CHECK_ARG(json, "json");
    HV_CHECK_ARG(out, "host");
    *out = NULL;
    rc = hv_json_parse_bounded(json, strlen(json), "the host document", &host_bounds, &root);
    if (rc < 0)
        return rc;
    host = hv_calloc(1, sizeof(*host));
    if (!host) {
        json_object_put(root);
        return HV_E_NOMEM;
    }
    rc = host_from_json_object(host, root);
    json_object_put(root);
    if (rc < 0) {
        hv_host_free(host);
        return rc;
    }
    *out = host;
    return 0;
}

/*
 * host/numa.c - NUMA nodes: CPUs, memory, distances and huge page pools per
 * node, read from sysfs; on the live host ("/") cross-checked with libnuma.
 * /proc/meminfo's totals and whether the nodes add up to them.
 */
#include "host/discover-steps.h"
#include "host/host.h"
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"
#include <hpcvirt/size.h>

#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_DIR "sys/devices/system/node"

static int read_meminfo_field(hv_host *host, const char *text, const char *key, const char *where,
                              const char *code, uint64_t *out)
{
    int rc = hv_parse_meminfo(text, key, out, where);

    if (rc < 0 && rc != HV_E_NOMEM)
        return hv_host_note_file_problem(host, code, HV_SEVERITY_WARNING);
    return rc;
}

static int read_proc_meminfo(hv_host *host, const hv_sysfs *fs)
{
    char *text;
    int rc = hv_sysfs_read(fs, "proc/meminfo", 1 << 20, &text);

    if (rc < 0)
        return rc == HV_E_NOMEM
                   ? rc
                   : hv_host_note_file_problem(host, "host.meminfo", HV_SEVERITY_WARNING);
    rc = read_meminfo_field(host, text, "MemTotal", "proc/meminfo", "host.meminfo",
                            &host->memory_bytes);
    if (rc == 0 &&
        hv_parse_meminfo(text, "MemAvailable", &host->memory_available_bytes, "proc/meminfo") < 0)
        rc = read_meminfo_field(host, text, "MemFree", "proc/meminfo", "host.meminfo",
                                &host->memory_available_bytes);
    free(text);
    return rc == HV_E_NOMEM ? rc : 0;
}

static int read_hugepage_pools(hv_host *host, const hv_sysfs *fs, struct hv_host_node *node)
{
    char dir[96], **names;
    size_t n;
    int rc;

    snprintf(dir, sizeof(dir), NODE_DIR "/node%d/hugepages", node->id);
    rc = hv_sysfs_list(fs, dir, "hugepages-", &names, &n);
    if (rc < 0) /* absent on kernels without hugetlbfs: no pools */
        return hv_host_note_unless_absent(host, rc, "host.numa.hugepages");
    for (size_t i = 0; i < n && rc == 0; i++) {
        hv_hugepage_pool pool = {0};
        char path[192];

        if (hv_parse_hugepage_dirname(names[i], &pool.page_bytes) < 0)
            continue;
        if (node->npools == HV_MAX_HUGEPAGE_SIZES)
            break;
        snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, names[i]);
        rc = hv_sysfs_read_u64(fs, path, &pool.total);
        if (rc == 0) {
            snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir, names[i]);
            rc = hv_sysfs_read_u64(fs, path, &pool.free);
        }
        if (rc == 0) {
            snprintf(path, sizeof(path), "%s/%s/surplus_hugepages", dir, names[i]);
            if (hv_sysfs_read_u64(fs, path, &pool.surplus) < 0)
                pool.surplus = 0;
        }
        if (rc == 0 && pool.free > pool.total) {
            rc = hv_error_set(HV_E_PARSE, path, "%s/%s: %llu free pages but only %llu in the pool",
                              dir, names[i], (unsigned long long)pool.free,
                              (unsigned long long)pool.total);
        }
        if (rc < 0) {
            if (rc == HV_E_NOMEM)
                break;
            rc = hv_host_note_file_problem(host, "host.numa.hugepages", HV_SEVERITY_WARNING);
            continue;
        }
        /* keep pools sorted by page size */
        size_t at = node->npools;
        while (at && node->pools[at - 1].page_bytes > pool.page_bytes) {
            node->pools[at] = node->pools[at - 1];
            at--;
        }
        node->pools[at] = pool;
        node->npools++;
    }
    hv_sysfs_list_free(names, n);
    return rc;
}

static int read_node(hv_host *host, const hv_sysfs *fs, struct hv_host_node *node)
{
    char path[128], *text;
    int rc;

    snprintf(path, sizeof(path), NODE_DIR "/node%d/cpulist", node->id);
    rc = hv_host_read_cpulist(fs, path, &node->cpus);
    if (rc < 0 && (rc == HV_E_NOMEM || (rc = hv_host_note_file_problem(host, "host.numa.cpulist",
                                                                       HV_SEVERITY_WARNING)) < 0))
        return rc;

    snprintf(path, sizeof(path), NODE_DIR "/node%d/meminfo", node->id);
    rc = hv_sysfs_read(fs, path, 1 << 20, &text);
    if (rc == 0) {
        rc = read_meminfo_field(host, text, "MemTotal", path, "host.numa.meminfo",
                                &node->memory_bytes);
        if (rc == 0)
            rc = read_meminfo_field(host, text, "MemFree", path, "host.numa.meminfo",
                                    &node->free_bytes);
        free(text);
        if (rc == 0 && node->free_bytes > node->memory_bytes)
            hv_findings_add(&host->findings, HV_SEVERITY_WARNING, "host.numa.meminfo", path,
                            "%s: MemFree is larger than MemTotal", path);
    } else if (rc != HV_E_NOMEM) {
        rc = hv_host_note_file_problem(host, "host.numa.meminfo", HV_SEVERITY_WARNING);
    }
    if (rc < 0)
        return rc;
    return read_hugepage_pools(host, fs, node);
}

static int read_distances(hv_host *host, const hv_sysfs *fs, struct hv_host_node *node)
{
    char path[128], *text;
    int *row = NULL;
    size_t n = 0;
    int rc;

    node->distances = hv_calloc(host->nnodes, sizeof(int));
    if (!node->distances)
        return HV_E_NOMEM;
    for (size_t i = 0; i < host->nnodes; i++)
        node->distances[i] = -1;
    snprintf(path, sizeof(path), NODE_DIR "/node%d/distance", node->id);
    rc = hv_sysfs_read(fs, path, 1 << 20, &text);
    if (rc == 0) {
        rc = hv_parse_distance_row(text, &row, &n, path);
        free(text);
    }
    if (rc == 0 && n != host->nnodes)
        rc = hv_error_set(HV_E_PARSE, path,
                          "%s lists %zu distances but the host has %zu online nodes", path, n,
                          host->nnodes);
    if (rc < 0) {
        free(row);
        return rc == HV_E_NOMEM
                   ? rc
                   : hv_host_note_file_problem(host, "host.numa.distance", HV_SEVERITY_WARNING);
    }
    memcpy(node->distances, row, n * sizeof(int));
    free(row);
    return 0;
}

/* A host without NUMA information is one node holding every CPU and all memory. */
static int synthesize_single_node(hv_host *host)
{
    struct hv_host_node *node;

    host->nodes = hv_calloc(1, sizeof(*host->nodes));
    if (!host->nodes)
        return HV_E_NOMEM;
    host->nnodes = 1;
    node = &host->nodes[0];
    node->host = host;
    node->id = 0;
    node->memory_bytes = host->memory_bytes;
    node->free_bytes = host->memory_available_bytes;
    node->distances = hv_calloc(1, sizeof(int));
    if (!node->distances)
        return HV_E_NOMEM;
    node->distances[0] = 10;
    host->node_memory_consistent = true;
    for (size_t i = 0; i < host->ncpus; i++)
        if (hv_cpuset_add(&node->cpus, host->cpus[i].id) < 0)
            return HV_E_NOMEM;
    return hv_findings_add(&host->findings, HV_SEVERITY_INFO, "host.numa.absent", NODE_DIR,
                           "%s is missing (kernel without NUMA support): the host is treated as "
                           "one node holding every CPU and all memory",
                           NODE_DIR);
}

static int assign_cpus_to_nodes(hv_host *host)
{
    for (size_t n = 0; n < host->nnodes; n++) {
        struct hv_host_node *node = &host->nodes[n];

        HV_CPUSET_FOREACH(cpu, &node->cpus)
        {
            const hv_host_cpu *c = hv_host_cpu_by_id(host, (unsigned int)cpu);
            struct hv_host_cpu *mc = (struct hv_host_cpu *)c;

            if (!mc)
                continue; /* offline CPU */
            if (mc->node >= 0 && mc->node != node->id) {
                char path[96];

                snprintf(path, sizeof(path), NODE_DIR "/node%d/cpulist", node->id);
                if (hv_findings_add(&host->findings, HV_SEVERITY_WARNING,
                                    "host.numa.cpu-in-two-nodes", path,
                                    "CPU %d is listed in node %d and node %d: it is counted in "
                                    "node %d only",
                                    cpu, mc->node, node->id, mc->node) < 0)
                    return HV_E_NOMEM;
                hv_cpuset_remove(&node->cpus, (unsigned int)cpu);
                continue;
            }
            mc->node = node->id;
        }
        node->cpulist = hv_cpuset_format(&node->cpus);
        if (!node->cpulist)
            return HV_E_NOMEM;
    }
    return 0;
}

static int check_memory_totals(hv_host *host)
{
    uint64_t sum = 0;
    char a[32], b[32];

    for (size_t n = 0; n < host->nnodes; n++)
        sum += host->nodes[n].memory_bytes;
    host->node_memory_consistent = true;
    if (!host->memory_bytes)
        return 0;
    /* Within 3%: kernels account a little memory outside any node's zones. */
    if (sum / 100 * 103 >= host->memory_bytes && host->memory_bytes / 100 * 103 >= sum)
        return 0;
    host->node_memory_consistent = false;
    hv_size_format(sum, a, sizeof(a));
    hv_size_format(host->memory_bytes, b, sizeof(b));
    return hv_findings_add(
        &host->findings, HV_SEVERITY_WARNING, "host.numa.memory-mismatch", NODE_DIR,
        "the NUMA nodes report %s (%llu bytes) in total but proc/meminfo has MemTotal %s (%llu "
        "bytes): the firmware's node tables do not describe all memory (common in VMs); plans use "
        "the per-node figures, so memory beyond them is not placed",
        a, (unsigned long long)sum, b, (unsigned long long)host->memory_bytes);
}

/* On "/": libnuma must agree with sysfs on node count, CPUs, memory and distances. */
static int cross_check_libnuma(hv_host *host)
{
    const char *what = NULL;
    char detail[160] = "";

    if (numa_available() < 0)
        return hv_findings_add(&host->findings, HV_SEVERITY_INFO, "host.numa.libnuma", NODE_DIR,
                               "libnuma reports no NUMA support in this kernel: node facts come "
                               "from sysfs only");
    for (size_t n = 0; n < host->nnodes && !what; n++) {
        const struct hv_host_node *node = &host->nodes[n];
        struct bitmask *mask = numa_allocate_cpumask();
        long long size = numa_node_size64(node->id, NULL);

        if (!mask)
            return hv_error_nomem();
        if (size < 0 || (uint64_t)size != node->memory_bytes) {
            what = "memory";
            snprintf(detail, sizeof(detail), "node %d: libnuma %lld bytes, sysfs %llu", node->id,
                     size, (unsigned long long)node->memory_bytes);
        } else if (numa_node_to_cpus(node->id, mask) == 0) {
            for (unsigned int c = 0; c < mask->size && !what; c++) {
                bool in_mask = numa_bitmask_isbitset(mask, c);
                bool online = hv_host_cpu_by_id(host, c) != NULL;

                if (online && in_mask != hv_cpuset_has(&node->cpus, c)) {
                    what = "CPUs";
                    snprintf(detail, sizeof(detail), "node %d, CPU %u", node->id, c);
                }
            }
        }
        numa_free_cpumask(mask);
        for (size_t m = 0; m < host->nnodes && !what; m++) {
            int d = numa_distance(node->id, host->nodes[m].id);

            if (node->distances && node->distances[m] >= 0 && d != node->distances[m]) {
                what = "distances";
                snprintf(detail, sizeof(detail), "node %d to %d: libnuma %d, sysfs %d", node->id,
                         host->nodes[m].id, d, node->distances[m]);
            }
        }
    }
    if (!what && (size_t)numa_num_configured_nodes() != host->nnodes) {
        what = "node count";
        snprintf(detail, sizeof(detail), "libnuma %d, sysfs %zu", numa_num_configured_nodes(),
                 host->nnodes);
    }
    if (!what)
        return 0;
    return hv_findings_add(&host->findings, HV_SEVERITY_WARNING, "host.numa.libnuma-disagrees",
                           NODE_DIR, "libnuma and sysfs disagree on %s (%s)", what, detail);
}

int hv_host_discover_numa(hv_host *host, const hv_sysfs *fs, bool use_libnuma)
{
    hv_cpuset ids = HV_CPUSET_EMPTY;
    size_t n = 0;
    int rc;

    rc = read_proc_meminfo(host, fs);
    if (rc < 0)
        return rc;
    rc = hv_host_read_online_ids(host, fs, NODE_DIR, "node", "host.numa.online", &ids);
    if (rc < 0)
        goto out;
    if (hv_cpuset_count(&ids) == 0) {
        rc = synthesize_single_node(host);
        if (rc == 0)
            rc = assign_cpus_to_nodes(host);
        goto out;
    }
    host->nodes = hv_calloc(hv_cpuset_count(&ids), sizeof(*host->nodes));
    if (!host->nodes) {
        rc = HV_E_NOMEM;
        goto out;
    }
    HV_CPUSET_FOREACH(id, &ids)
    {
        if (id > HV_MAX_NODE_ID) {
            rc = hv_findings_add(&host->findings, HV_SEVERITY_WARNING,
                                 "host.numa.node-id-out-of-range", NODE_DIR "/online",
                                 "node id %d is beyond the largest the kernel supports (%d): "
                                 "node ignored",
                                 id, HV_MAX_NODE_ID);
            if (rc < 0)
                goto out;
            continue;
        }
        host->nodes[n].host = host;
        host->nodes[n++].id = id;
    }
    host->nnodes = n;
    if (n == 0) {
        free(host->nodes);
        host->nodes = NULL;
        rc = synthesize_single_node(host);
        if (rc == 0)
            rc = assign_cpus_to_nodes(host);
        goto out;
    }
    for (size_t i = 0; i < host->nnodes; i++) {
        if ((rc = read_node(host, fs, &host->nodes[i])) < 0 ||
            (rc = read_distances(host, fs, &host->nodes[i])) < 0)
            goto out;
    }
    rc = assign_cpus_to_nodes(host);
    if (rc == 0)
        rc = check_memory_totals(host);
    if (rc == 0 && use_libnuma)
        rc = cross_check_libnuma(host);
out:
    hv_cpuset_clear(&ids);
    return rc;
}

/*
 * plan/vnuma.c - automatic vNUMA: how many virtual nodes (vSphere's rules,
 * or the balanced policy that also splits for memory), the even split of
 * vCPUs and memory, the host node each maps to (near the VM's devices, then
 * close together), the guest distance matrix, sockets x cores x threads
 * lined up with the nodes, and the host CPUs each vCPU runs on.
 */
#include "plan/plan.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/size.h>

#define GiB(n) ((uint64_t)(n) << 30)
#define MiB(n) ((uint64_t)(n) << 20)
/* vSphere's numa.vcpu.min: VMs with fewer vCPUs are UMA. */
#define VSPHERE_NUMA_VCPU_MIN 9

/* The smallest per-node CPU capacity among nodes that have CPUs. */
static unsigned int node_capacity(const hv_host *host, bool threads)
{
    unsigned int cap = 0;

    for (size_t i = 0; i < host->nnodes; i++) {
        unsigned int c = threads ? host->nodes[i].cpu_count : host->nodes[i].core_count;

        if (c && (!cap || c < cap))
            cap = c;
    }
    return cap;
}

/* Memory a node can give the VM: free 4 KiB memory, or free huge pages of the asked size. */
static uint64_t node_memory_capacity(const struct hv_host_node *node, int page_size)
{
    uint64_t page = hv_spec_page_size_bytes(page_size), best = node->free_bytes;

    if (page > 4096) {
        const hv_hugepage_pool *pool = hv_host_node_pool(node, page);

        return pool ? pool->free * page : 0;
    }
    if (page_size == HV_PAGE_SIZE_AUTO) {
        for (size_t i = 0; i < node->npools; i++)
            if (node->pools[i].free * node->pools[i].page_bytes > best)
                best = node->pools[i].free * node->pools[i].page_bytes;
    }
    return best;
}

/* Fewest nodes whose even share of `memory` fits each of them. */
static unsigned int nodes_for_memory(hv_plan *plan, const hv_host *host, uint64_t memory,
                                     int page_size)
{
    uint64_t *caps = hv_arena_alloc_raw(&plan->arena, host->nnodes * sizeof(*caps) + 1);
    unsigned int fit = 0;
    size_t n = 0;

    if (!caps)
        return 0;
    for (size_t i = 0; i < host->nnodes; i++)
        if (host->nodes[i].cpu_count)
            caps[n++] = node_memory_capacity(&host->nodes[i], page_size);
    hv_sort_u64_desc(caps, n);
    for (size_t k = 1; k <= n && !fit; k++)
        if ((memory + k - 1) / k <= caps[k - 1])
            fit = (unsigned int)k;
    return fit; /* 0: does not fit even spread over every node */
}

/* Split `memory` into `n` shares in units of the largest granule that divides it. */
static void split_memory(uint64_t memory, struct hv_plan_vnode *nodes, size_t n)
{
    uint64_t granule = memory % GiB(1) == 0 ? GiB(1) : memory % MiB(2) == 0 ? MiB(2) : MiB(1);
    uint64_t units = memory / granule;

    if (units < n) /* fewer whole granules than nodes: fall back to MiB */
        granule = MiB(1), units = memory / granule;
    for (size_t i = 0; i < n; i++)
        nodes[i].memory_bytes = (units / n + (i < units % n)) * granule;
}

/*
 * Pick `n` host nodes: first those holding the VM's devices (most devices
 * first), then the ones closest to what is chosen, preferring nodes that can
 * hold a vNUMA node's share (CPUs and memory), then nodes whose huge pages
 * can back it; ties by free memory, then id.
 * Returns how many were found (may be fewer than n when the host lacks nodes).
 */
static size_t choose_host_nodes(hv_plan *plan, const hv_host *host, size_t n,
                                unsigned int vcpus_per_node, uint64_t memory_per_node,
                                size_t *chosen)
{
    /* Per host node, its rank as two keys compared high first (bigger is
     * better): fits, then more of the VM's devices, then closer to the nodes
     * chosen so far, then huge pages for the share, then more free memory. */
    const uint64_t distance_max = (UINT64_C(1) << 40) - 1;
    struct candidate {
        bool usable;
        uint64_t fixed;    /* fits (bit 63), devices (bits 40-62) */
        uint64_t distance; /* summed distance to the chosen nodes (< 2^40) */
        uint64_t tie;      /* pages (bits 62-63: 2 = 1 GiB, 1 = 2 MiB), free MiB */
    } *cand = hv_arena_alloc(&plan->arena, host->nnodes * sizeof(*cand));
    size_t count = 0;

    if (!cand)
        return 0;
    for (size_t i = 0; i < host->nnodes; i++) {
        const struct hv_host_node *node = &host->nodes[i];
        uint64_t capacity = node_memory_capacity(node, plan->spec->page_size), pages = 0;
        bool fits = node->cpu_count >= vcpus_per_node && capacity >= memory_per_node;

        if (plan->spec->page_size == HV_PAGE_SIZE_AUTO) {
            const hv_hugepage_pool *g = hv_host_node_pool(node, GiB(1));
            const hv_hugepage_pool *m = hv_host_node_pool(node, MiB(2));

            pages = host->has_1g_pages && g && memory_per_node % GiB(1) == 0 &&
                            g->free * GiB(1) >= memory_per_node
                        ? 2
                    : m && memory_per_node % MiB(2) == 0 && m->free * MiB(2) >= memory_per_node ? 1
                                                                                                : 0;
        }
        cand[i].usable = node->cpu_count > 0;
        cand[i].fixed = (uint64_t)fits << 63;
        cand[i].tie = pages << 62 | (capacity >> 20 & ((UINT64_C(1) << 62) - 1));
    }
    for (size_t d = 0; d < plan->ndevices; d++) {
        const struct hv_host_node *node = hv_host_node_by_id(host, plan->devices[d].host_node);

        if (node)
            cand[node - host->nodes].fixed += UINT64_C(1) << 40;
    }
    while (count < n) {
        long best = -1;
        uint64_t best_key = 0, best_tie = 0;

        for (size_t i = 0; i < host->nnodes; i++) {
            uint64_t key = cand[i].fixed | (distance_max - cand[i].distance);

            if (cand[i].usable &&
                (best < 0 || key > best_key || (key == best_key && cand[i].tie > best_tie))) {
                best = (long)i;
                best_key = key;
                best_tie = cand[i].tie;
            }
        }
        if (best < 0)
            break;
        cand[best].usable = false;
        chosen[count++] = (size_t)best;
        if (count == n)
            break;
        for (size_t i = 0; i < host->nnodes; i++) {
            int dist = host->nodes[i].distances ? host->nodes[i].distances[best] : -1;

            cand[i].distance += dist >= 0 ? (uint64_t)dist : 255;
        }
    }
    /* vNUMA node i maps to the i-th chosen host node in id order. */
    for (size_t i = 1; i < count; i++)
        for (size_t j = i; j > 0 && chosen[j - 1] > chosen[j]; j--) {
            size_t t = chosen[j];
            chosen[j] = chosen[j - 1];
            chosen[j - 1] = t;
        }
    return count;
}

/* How many vNUMA nodes, by policy. */
static unsigned int size_vnuma(hv_plan *plan, const hv_host *host, unsigned int *cpu_nodes)
{
    const hv_vm_spec *spec = plan->spec;
    unsigned int cap = node_capacity(host, spec->prefer_ht);
    unsigned int n_cpu = 1, n_mem = 1, n;

    if (spec->vcpus >= VSPHERE_NUMA_VCPU_MIN && cap && spec->vcpus > cap)
        n_cpu = (spec->vcpus + cap - 1) / cap;
    *cpu_nodes = n_cpu;
    if (spec->vnuma_policy == HV_VNUMA_VSPHERE)
        return n_cpu; /* vSphere sizes by CPUs only; memory may end up remote */
    n_mem = nodes_for_memory(plan, host, spec->memory_bytes, spec->page_size);
    if (n_mem == 0 && spec->page_size != HV_PAGE_SIZE_AUTO)
        /* too few huge pages anywhere: size by free memory; the page step says what is short */
        n_mem = nodes_for_memory(plan, host, spec->memory_bytes, HV_PAGE_SIZE_4K);
    n = n_cpu > n_mem ? n_cpu : n_mem;
    if (n_mem == 0) /* does not fit at all: spread as wide as the host goes */
        n = (unsigned int)host->nnodes;
    return n;
}

static int build_topology(hv_plan *plan)
{
    const hv_vm_spec *spec = plan->spec;
    unsigned int threads = spec->threads_per_core ? spec->threads_per_core : 1;
    bool even = true;
    int rc = 0;

    for (size_t i = 1; i < plan->nvnodes; i++)
        even &= plan->vnodes[i].vcpu_count == plan->vnodes[0].vcpu_count;
    plan->threads_per_core = threads;
    if (spec->vcpus % threads) {
        plan->threads_per_core = 1;
        threads = 1;
        rc |= hv_plan_error(plan, "plan.topology.threads", "threads_per_core",
                            "%u vCPUs cannot be split into cores of %u threads", spec->vcpus,
                            spec->threads_per_core);
    }
    if (spec->cores_per_socket) {
        unsigned int per_socket = spec->cores_per_socket * threads;

        if (spec->vcpus % per_socket) {
            plan->sockets = spec->vcpus / threads;
            plan->cores_per_socket = 1;
            return hv_plan_error(plan, "plan.topology.cores-per-socket", "cores_per_socket",
                                 "%u vCPUs are not a whole number of sockets of %u cores x %u "
                                 "threads: pick a cores_per_socket that divides the vCPUs",
                                 spec->vcpus, spec->cores_per_socket, threads);
        }
        plan->sockets = spec->vcpus / per_socket;
        plan->cores_per_socket = spec->cores_per_socket;
        for (size_t i = 0; i < plan->nvnodes && plan->nvnodes > 1; i++) {
            if (plan->vnodes[i].vcpu_count % per_socket ||
                plan->vnodes[i].vcpu_first % per_socket) {
                rc |= hv_plan_warning(plan, "plan.topology.socket-straddles-nodes",
                                      "cores_per_socket",
                                      "sockets of %u vCPUs straddle the %zu vNUMA nodes of %u "
                                      "vCPUs: guests schedule worse when a socket spans nodes; "
                                      "use a cores_per_socket that divides %u",
                                      per_socket, plan->nvnodes, plan->vnodes[i].vcpu_count,
                                      plan->vnodes[i].vcpu_count);
                break;
            }
        }
        return rc < 0 ? HV_E_NOMEM : 0;
    }
    if (even && plan->vnodes[0].vcpu_count % threads == 0) {
        /* one socket per vNUMA node */
        plan->sockets = (unsigned int)plan->nvnodes;
        plan->cores_per_socket = plan->vnodes[0].vcpu_count / threads;
    } else {
        plan->sockets = spec->vcpus / threads;
        plan->cores_per_socket = 1;
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

/* The VMM's threads: the first vNUMA node's host node CPUs that no vCPU took. */
static int place_emulator(hv_plan *plan, const hv_host *host)
{
    const struct hv_host_node *node = hv_host_node_by_id(host, plan->vnodes[0].host_node);
    hv_cpuset free_cpus = HV_CPUSET_EMPTY;
    int rc = 0;

    if (!node)
        return 0;
    free_cpus.nwords = node->cpus.nwords;
    free_cpus.words = hv_arena_alloc(&plan->arena, node->cpus.nwords * sizeof(uint64_t) + 1);
    if (!free_cpus.words)
        return HV_E_NOMEM;
    memcpy(free_cpus.words, node->cpus.words, node->cpus.nwords * sizeof(uint64_t));
    for (unsigned int v = 0; v < plan->spec->vcpus; v++)
        if (plan->vcpu_pins[v] >= 0)
            hv_cpuset_remove(&free_cpus, (unsigned int)plan->vcpu_pins[v]);
    plan->emulator_cpus_text = hv_cpuset_format_arena(
        hv_cpuset_next(&free_cpus, 0) >= 0 ? &free_cpus : &plan->vnodes[0].host_cpus, &plan->arena);
    if (!plan->emulator_cpus_text)
        rc = HV_E_NOMEM;
    return rc;
}

/* Pin vCPUs to host CPUs (dedicated) or let them float over the node (shared). */
static int place_vcpus(hv_plan *plan, const hv_host *host)
{
    const hv_vm_spec *spec = plan->spec;
    bool pairs = spec->prefer_ht || plan->threads_per_core > 1;
    size_t *used_per_node = NULL;
    int rc = 0;

    plan->vcpu_pins = hv_arena_alloc_raw(&plan->arena, spec->vcpus * sizeof(int));
    if (!plan->vcpu_pins)
        return HV_E_NOMEM;
    if (spec->cpu_placement == HV_CPU_PLACEMENT_DEDICATED &&
        !(used_per_node = hv_arena_alloc(&plan->arena, host->nnodes * sizeof(size_t))))
        return HV_E_NOMEM;
    memset(plan->vcpu_pins, 0xff, spec->vcpus * sizeof(int)); /* all -1 */
    for (size_t i = 0; i < plan->nvnodes; i++) {
        struct hv_plan_vnode *vn = &plan->vnodes[i];
        const struct hv_host_node *node = hv_host_node_by_id(host, vn->host_node);
        size_t ncpus, start, index;

        if (!node)
            continue;
        /* the vNUMA node's CPU set, in the arena, as wide as its host node's */
        vn->host_cpus.nwords = node->cpus.nwords;
        vn->host_cpus.words =
            hv_arena_alloc(&plan->arena, node->cpus.nwords * sizeof(uint64_t) + 1);
        if (!vn->host_cpus.words)
            return HV_E_NOMEM;
        if (spec->cpu_placement == HV_CPU_PLACEMENT_SHARED) {
            memcpy(vn->host_cpus.words, node->cpus.words, node->cpus.nwords * sizeof(uint64_t));
            continue;
        }
        ncpus = node->cpu_count;
        start = node->order_start;
        index = (size_t)(node - host->nodes);
        /* explicit vNUMA nodes that disagree with the VM's vCPU count are
         * an error already (plan.vnuma.sum): pin only the vCPUs there are */
        for (unsigned int k = 0; k < vn->vcpu_count && vn->vcpu_first + k < spec->vcpus; k++) {
            size_t slot = used_per_node[index]++, pos;

            if (slot >= ncpus) {
                rc |= hv_plan_error(plan, "plan.cpu.dedicated-short", "vcpus",
                                    "host node %d has %zu CPUs, too few to give each of its "
                                    "vCPUs its own: use cpu_placement \"shared\" or fewer vCPUs",
                                    node->id, ncpus);
                break;
            }
            if (pairs || host->threads_per_core <= 1) {
                pos = slot; /* siblings are adjacent in the order */
            } else {
                /* one vCPU per core first, then the cores' second threads */
                size_t cores = node->core_count ? node->core_count : ncpus;
                size_t tpc = (ncpus + cores - 1) / cores;

                pos = slot < cores ? slot * tpc
                                   : (slot - cores) % cores * tpc + 1 + (slot - cores) / cores;
                if (pos >= ncpus)
                    pos = slot;
                if (slot == cores)
                    rc |= hv_plan_warning(plan, "plan.cpu.smt-shared", "vcpus",
                                          "host node %d has %zu cores for more vCPUs: some "
                                          "vCPUs share a core's SMT threads",
                                          node->id, cores);
            }
            plan->vcpu_pins[vn->vcpu_first + k] = (int)host->cpu_order[start + pos];
            /* the node's own CPU: always inside the set's words */
            vn->host_cpus.words[host->cpu_order[start + pos] / 64] |=
                UINT64_C(1) << (host->cpu_order[start + pos] % 64);
        }
    }
    if (spec->cpu_placement == HV_CPU_PLACEMENT_DEDICATED && plan->nvnodes)
        rc |= place_emulator(plan, host);
    return rc < 0 ? HV_E_NOMEM : 0;
}

int hv_plan_vnuma(hv_plan *plan, const hv_host *host)
{
    const hv_vm_spec *spec = plan->spec;
    size_t *chosen = NULL;
    unsigned int n, cpu_nodes = 1, first = 0;
    size_t got;
    bool shared_nodes = false, remote_first_node_set = false;
    unsigned int remote_nodes = 0, remote_first = 0;
    uint64_t remote_need = 0, remote_have = 0;
    int remote_host = -1;
    int rc = 0;

    if (spec->nvnodes) {
        unsigned int sum_vcpus = 0;
        uint64_t sum_memory = 0;

        for (size_t i = 0; i < spec->nvnodes; i++) {
            sum_vcpus += spec->vnodes[i].vcpus;
            sum_memory += spec->vnodes[i].memory_bytes;
        }
        if (sum_vcpus != spec->vcpus || sum_memory != spec->memory_bytes) {
            char a[32], b[32];

            hv_size_format(sum_memory, a, sizeof(a));
            hv_size_format(spec->memory_bytes, b, sizeof(b));
            rc |= hv_plan_error(plan, "plan.vnuma.sum", "vnuma",
                                "the vNUMA nodes add up to %u vCPUs and %s but the VM has %u "
                                "vCPUs and %s: make them agree",
                                sum_vcpus, a, spec->vcpus, b);
        }
        n = (unsigned int)spec->nvnodes;
    } else {
        n = size_vnuma(plan, host, &cpu_nodes);
    }
    if (n > spec->vcpus)
        n = spec->vcpus;
    if (n == 0)
        n = 1;
    if (spec->vnuma_policy == HV_VNUMA_BALANCED && !spec->nvnodes && n > host->nnodes)
        n = (unsigned int)host->nnodes; /* never more nodes than the host has */
    plan->nvnodes = n;
    plan->vnodes = hv_arena_alloc(&plan->arena, n * sizeof(*plan->vnodes));
    plan->distances = hv_arena_alloc_raw(&plan->arena, (size_t)n * n * sizeof(int));
    if (!plan->vnodes || !plan->distances)
        return HV_E_NOMEM;
    for (unsigned int i = 0; i < n; i++) {
        struct hv_plan_vnode *vn = &plan->vnodes[i];

        vn->id = i;
        vn->host_node = -1;
        vn->vcpu_count =
            spec->nvnodes ? spec->vnodes[i].vcpus : spec->vcpus / n + (i < spec->vcpus % n);
        vn->vcpu_first = first;
        first += vn->vcpu_count;
        hv_format_range(vn->vcpus_text, vn->vcpu_first, vn->vcpu_first + vn->vcpu_count - 1);
        if (spec->nvnodes)
            vn->memory_bytes = spec->vnodes[i].memory_bytes;
    }
    if (!spec->nvnodes) {
        split_memory(spec->memory_bytes, plan->vnodes, n);
        if (n > 1 && spec->vcpus % n)
            rc |= hv_plan_warning(plan, "plan.vnuma.uneven", "vcpus",
                                  "%u vCPUs do not split evenly over %u vNUMA nodes (%u and %u): "
                                  "an even count balances guest scheduling",
                                  spec->vcpus, n, plan->vnodes[0].vcpu_count,
                                  plan->vnodes[n - 1].vcpu_count);
    }

    /* Map vNUMA nodes to host nodes; reuse host nodes only when there are too few. */
    chosen = hv_arena_alloc(&plan->arena, n * sizeof(*chosen));
    if (!chosen)
        return HV_E_NOMEM;
    got = choose_host_nodes(plan, host, n, plan->vnodes[0].vcpu_count, plan->vnodes[0].memory_bytes,
                            chosen);
    for (unsigned int i = 0; i < n && got; i++) {
        if (i >= got)
            shared_nodes = true;
        plan->vnodes[i].host_node = host->nodes[chosen[i % got]].id;
    }
    if (shared_nodes)
        rc |= hv_plan_warning(plan, "plan.vnuma.shared-host-node", "vnuma",
                              "%u vNUMA nodes on %zu usable host node%s: up to %zu vNUMA nodes "
                              "share a host node (vSphere sizes vNUMA nodes by a host node's "
                              "cores and places them the same way)",
                              n, got, got == 1 ? "" : "s", (n + got - 1) / got);
    if (!got)
        rc |= hv_plan_error(plan, "plan.host.no-cpus", "", "the host has no NUMA node with CPUs");

    /* Guest distances from the host's (host distances are indexed like host->nodes). */
    {
        const struct hv_host_node **of = hv_arena_alloc_raw(&plan->arena, n * sizeof(*of) + 1);

        if (!of)
            return HV_E_NOMEM;
        for (unsigned int i = 0; i < n; i++)
            of[i] = hv_host_node_by_id(host, plan->vnodes[i].host_node);
        for (unsigned int i = 0; i < n; i++) {
            const struct hv_host_node *a = of[i];

            for (unsigned int j = 0; j < n; j++) {
                const struct hv_host_node *b = of[j];
                int d = i == j ? 10 : 20;

                if (i != j && a && b && a->distances)
                    d = a->distances[b - host->nodes];
                if (i != j && d <= 10) /* two vNUMA nodes on one host node: still apart */
                    d = d < 0 ? 20 : 11;
                plan->distances[i * n + j] = d;
            }
        }
    }

    /* Capacity: CPUs and memory each vNUMA node gets from its host node. */
    if (spec->vcpus > host->ncpus)
        rc |= hv_plan_error(plan, "plan.host.vcpus", "vcpus",
                            "%u vCPUs on a host with %zu logical CPUs: a VM cannot have more "
                            "vCPUs than the host has CPUs",
                            spec->vcpus, host->ncpus);
    for (unsigned int i = 0; i < n; i++) {
        const struct hv_host_node *node = hv_host_node_by_id(host, plan->vnodes[i].host_node);
        uint64_t need = 0, have;
        unsigned int vcpus = 0;
        char a[32], b[32];

        if (!node)
            continue;
        for (unsigned int j = 0; j < n; j++)
            if (plan->vnodes[j].host_node == node->id) {
                need += plan->vnodes[j].memory_bytes;
                vcpus += plan->vnodes[j].vcpu_count;
            }
        if (i > 0 && plan->vnodes[i - 1].host_node == node->id)
            continue; /* report a shared host node once */
        have = node_memory_capacity(node, spec->page_size);
        /* huge page shortages are the page step's to report */
        if (need > have && hv_spec_page_size_bytes(spec->page_size) <= 4096) {
            if (spec->vnuma_policy == HV_VNUMA_VSPHERE) {
                remote_nodes++;
                if (!remote_first_node_set) {
                    remote_first = i;
                    remote_first_node_set = true;
                    remote_need = need;
                    remote_have = have;
                    remote_host = node->id;
                }
            } else {
                hv_size_format(need, a, sizeof(a));
                hv_size_format(have, b, sizeof(b));
                rc |= hv_plan_error(plan, "plan.host.memory", "memory",
                                    "vNUMA node %u needs %s but host node %d can give %s: use "
                                    "less memory or a host with more free memory",
                                    i, a, node->id, b);
            }
        }
        if (vcpus > node->cpu_count && spec->cpu_placement == HV_CPU_PLACEMENT_SHARED &&
            spec->vcpus <= host->ncpus)
            rc |= hv_plan_warning(plan, "plan.cpu.overcommit", "vcpus",
                                  "host node %d has %zu CPUs for %u vCPUs: they share CPUs",
                                  node->id, (size_t)node->cpu_count, vcpus);
    }
    if (remote_nodes) {
        char a[32], b[32];

        hv_size_format(remote_need, a, sizeof(a));
        hv_size_format(remote_have, b, sizeof(b));
        rc |= hv_plan_warning(plan, "plan.vnuma.memory-remote", "memory",
                              "%u of %u vNUMA nodes need more memory than their host node has "
                              "free (node %u: %s, host node %d: %s): part of their memory will "
                              "be remote (vSphere's policy sizes nodes by CPUs only; "
                              "\"balanced\" would split)",
                              remote_nodes, n, remote_first, a, remote_host, b);
    }
    if ((rc |= build_topology(plan)) < 0)
        return HV_E_NOMEM;
    if ((rc |= place_vcpus(plan, host)) < 0)
        return HV_E_NOMEM;
    for (unsigned int i = 0; i < n; i++) {
        const struct hv_host_node *node = hv_host_node_by_id(host, plan->vnodes[i].host_node);

        /* shared placement: the node's own list, already formatted */
        plan->vnodes[i].host_cpus_text =
            spec->cpu_placement == HV_CPU_PLACEMENT_SHARED && node && node->cpulist
                ? hv_arena_strdup(&plan->arena, node->cpulist)
                : hv_cpuset_format_arena(&plan->vnodes[i].host_cpus, &plan->arena);
        if (!plan->vnodes[i].host_cpus_text)
            return HV_E_NOMEM;
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

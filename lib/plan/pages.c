/*
 * plan/pages.c - the page size backing guest memory: `auto` takes 1 GiB
 * pages where every vNUMA node's memory is a multiple of 1 GiB and its host
 * node has that many free, else 2 MiB the same way, else 4 KiB with a
 * warning that says what to reserve. Explicit sizes are checked alike.
 */
#include "core/format.h"
#include "plan/plan.h"

#include <stdio.h>
#include <string.h>
#include <hpcvirt/size.h>

#define GiB(n) ((uint64_t)(n) << 30)
#define MiB(n) ((uint64_t)(n) << 20)

/* Whether every vNUMA node can be backed by `page` pages; else the first node that cannot. */
static bool pages_fit(const hv_plan *plan, const hv_host *host, uint64_t page, size_t *bad,
                      bool *indivisible)
{
    for (size_t i = 0; i < plan->nvnodes; i++) {
        const struct hv_host_node *node = hv_host_node_by_id(host, plan->vnodes[i].host_node);
        const hv_hugepage_pool *pool = node ? hv_host_node_pool(node, page) : NULL;
        uint64_t need = 0;

        *bad = i;
        *indivisible = plan->vnodes[i].memory_bytes % page != 0;
        if (*indivisible || !node)
            return false;
        /* vNUMA nodes sharing a host node draw on one pool */
        for (size_t j = 0; j < plan->nvnodes; j++)
            if (plan->vnodes[j].host_node == node->id)
                need += plan->vnodes[j].memory_bytes / page;
        if (page == 4096 ? need * page > node->free_bytes : !pool || pool->free < need)
            return false;
    }
    return true;
}

static void set_pages(hv_plan *plan, uint64_t page)
{
    for (size_t i = 0; i < plan->nvnodes; i++) {
        plan->vnodes[i].page_bytes = page;
        plan->vnodes[i].page_count = plan->vnodes[i].memory_bytes / page;
    }
}

int hv_plan_pages(hv_plan *plan, const hv_host *host)
{
    const hv_vm_spec *spec = plan->spec;
    uint64_t page = hv_spec_page_size_bytes(spec->page_size);
    size_t bad = 0;
    bool indivisible = false;
    char a[32], b[32];
    int rc = 0;

    if (plan->nvnodes == 0 || plan->vnodes[0].host_node < 0) {
        set_pages(plan, page ? page : 4096);
        return 0;
    }
    if (spec->page_size == HV_PAGE_SIZE_AUTO) {
        if (host->has_1g_pages && pages_fit(plan, host, GiB(1), &bad, &indivisible)) {
            set_pages(plan, GiB(1));
            return 0;
        }
        if (pages_fit(plan, host, MiB(2), &bad, &indivisible)) {
            set_pages(plan, MiB(2));
            return 0;
        }
        set_pages(plan, 4096);
        {
            char nodes[128] = "";
            size_t len = 0;

            /* the distinct host nodes, in vNUMA order */
            for (size_t i = 0; i < plan->nvnodes && len + 12 < sizeof(nodes); i++) {
                bool seen = false;

                for (size_t j = 0; j < i; j++)
                    seen |= plan->vnodes[j].host_node == plan->vnodes[i].host_node;
                if (!seen)
                    len += hv_format(nodes + len, sizeof(nodes) - len, "%s%d", len ? "," : "",
                                     plan->vnodes[i].host_node);
            }
            hv_size_format(plan->vnodes[0].memory_bytes, a, sizeof(a));
            return hv_plan_warning(
                plan, "plan.pages.4k", "page_size",
                "no host node has enough free huge pages: guest memory is backed by 4 KiB pages "
                "(slower TLB behaviour for large-memory HPC guests); for %s per vNUMA node, "
                "reserve %llu 2 MiB pages (or %llu 1 GiB pages) per vNUMA node on host node%s %s",
                a, (unsigned long long)(plan->vnodes[0].memory_bytes / MiB(2)),
                (unsigned long long)((plan->vnodes[0].memory_bytes + GiB(1) - 1) / GiB(1)),
                strchr(nodes, ',') ? "s" : "", nodes);
        }
    }
    set_pages(plan, page);
    if (page == GiB(1) && !host->has_1g_pages)
        rc |= hv_plan_error(plan, "plan.pages.no-1g", "page_size",
                            "the host CPU cannot map 1 GiB pages (no pdpe1gb): use \"2m\"");
    if (!pages_fit(plan, host, page, &bad, &indivisible)) {
        const struct hv_host_node *node = hv_host_node_by_id(host, plan->vnodes[bad].host_node);
        const hv_hugepage_pool *pool = node ? hv_host_node_pool(node, page) : NULL;

        hv_size_format(plan->vnodes[bad].memory_bytes, a, sizeof(a));
        hv_size_format(page, b, sizeof(b));
        if (indivisible)
            rc |= hv_plan_error(plan, "plan.pages.indivisible", "page_size",
                                "vNUMA node %zu has %s, not a whole number of %s pages: change "
                                "the memory or the page size",
                                bad, a, b);
        else if (page == 4096)
            rc |= hv_plan_error(plan, "plan.host.memory", "memory",
                                "host node %d has not enough free memory for vNUMA node %zu (%s)",
                                plan->vnodes[bad].host_node, bad, a);
        else
            rc |= hv_plan_error(plan, "plan.pages.short", "page_size",
                                "vNUMA node %zu needs %llu %s pages on host node %d, which has "
                                "%llu free: reserve more (echo N > /sys/devices/system/node/"
                                "node%d/hugepages/hugepages-%llukB/nr_hugepages) or use "
                                "page_size \"auto\"",
                                bad, (unsigned long long)(plan->vnodes[bad].memory_bytes / page), b,
                                plan->vnodes[bad].host_node,
                                (unsigned long long)(pool ? pool->free : 0),
                                plan->vnodes[bad].host_node, (unsigned long long)(page >> 10));
    }
    return rc < 0 ? HV_E_NOMEM : 0;
}

/*
 * plan/planner.c - hv_plan_create(): a new plan object, then the planning
 * steps in order (devices, vNUMA, pages, device attachment, MMIO, limits
 * and firmware, migration), each in its own file, each adding findings to
 * the plan (plan.c).
 */
#include "plan/plan.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

int hv_plan_options_init(hv_plan_options *opts, unsigned int version)
{
    return hv_options_init(opts, sizeof(*opts), version, HV_PLAN_OPTIONS_VERSION, __func__);
}

/* Keep what pictures of the plan show of the host's NUMA nodes. */
static int copy_host_nodes(hv_plan *plan, const hv_host *host)
{
    plan->host_nodes = hv_arena_alloc(&plan->arena, sizeof(*plan->host_nodes) * (host->nnodes + 1));
    if (!plan->host_nodes)
        return HV_E_NOMEM;
    for (size_t i = 0; i < host->nnodes; i++) {
        const struct hv_host_node *from = &host->nodes[i];
        hv_plan_host_node *to = &plan->host_nodes[i];

        to->id = from->id;
        to->cpu_count = from->cpu_count;
        to->memory_bytes = from->memory_bytes;
        to->cpulist = hv_arena_strdup(&plan->arena, from->cpulist ? from->cpulist : "");
        if (!to->cpulist)
            return HV_E_NOMEM;
    }
    plan->nhost_nodes = host->nnodes;
    return 0;
}

int hv_plan_create(const hv_host *host, const hv_vm_spec *spec, const hv_plan_options *opts,
                   hv_plan **out)
{
    const char *profile_name;
    hv_plan *plan;
    int rc;

    HV_CHECK_ARG(out, "plan");
    *out = NULL;
    HV_CHECK_ARG(host, "host");
    HV_CHECK_ARG(spec, "spec");
    rc = hv_options_check(opts, HV_PLAN_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    profile_name = opts && opts->profile ? opts->profile : spec->profile;
    if (!hv_profile_find(profile_name))
        return hv_profile_unknown_error(HV_E_NOTFOUND, "profile", profile_name);
    {
        hv_arena arena = HV_ARENA_INIT(16384);

        plan = hv_arena_alloc(&arena, sizeof(*plan));
        if (!plan) {
            hv_arena_release(&arena);
            return HV_E_NOMEM;
        }
        plan->arena = arena;
        plan->findings.arena = &plan->arena;
    }
    plan->profile = hv_profile_find(profile_name);
    plan->spec = hv_vm_spec_copy_arena(spec, &plan->arena);
    rc = plan->spec ? 0 : HV_E_NOMEM;
    if (rc == 0)
        rc = copy_host_nodes(plan, host);
    if (rc == 0)
        rc = hv_plan_devices(plan, host);
    if (rc == 0)
        rc = hv_plan_vnuma(plan, host);
    if (rc == 0)
        rc = hv_plan_pages(plan, host);
    if (rc == 0)
        rc = hv_plan_attach_devices(plan);
    if (rc == 0)
        rc = hv_plan_mmio(plan, host);
    if (rc == 0)
        rc = hv_plan_limits(plan, host);
    if (rc == 0)
        rc = hv_plan_migration(plan);
    if (rc < 0) {
        hv_plan_free(plan);
        return rc;
    }
    plan->ok = hv_findings_count_severity(&plan->findings, HV_SEVERITY_ERROR) == 0;
    *out = plan;
    return 0;
}

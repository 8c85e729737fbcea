/*
 * plan/migration.c - live-migration eligibility, vSphere 6.7 u1's rules
 * mapped to KVM: passed-through GPUs/FPGAs and SR-IOV or passed-through RDMA
 * pin a VM to its host (their device state lives in hardware); vGPUs
 * (mdev) and paravirtual RDMA can move. One reason per spec entry.
 */
#include "plan/plan.h"
#include "plan/migration.h"
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

/* Append `s` to buf (size 512) at *len, truncating. */
static void append(char *buf, size_t *len, const char *s)
{
    size_t n = strlen(s);

    if (*len + n >= 511)
        n = 511 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

static bool blocks_migration(const struct hv_plan_device *dev)
{
    return (dev->type == HV_PLAN_DEVICE_ACCELERATOR && dev->mode != HV_ACCEL_MODE_VGPU) ||
           (dev->type == HV_PLAN_DEVICE_RDMA && dev->mode != HV_RDMA_MODE_PVRDMA);
}

static int add_reason(hv_plan *plan, const char *text)
{
    /* at most one reason per device: the array is sized for that once */
    if (!plan->reasons) {
        plan->reasons = hv_arena_alloc(&plan->arena, plan->ndevices * sizeof(*plan->reasons));
        if (!plan->reasons)
            return HV_E_NOMEM;
    }
    plan->reasons[plan->nreasons] = hv_arena_strdup(&plan->arena, text);
    return plan->reasons[plan->nreasons++] ? 0 : HV_E_NOMEM;
}

int hv_plan_migration(hv_plan *plan)
{
    for (size_t d = 0; d < plan->ndevices; d++) {
        const struct hv_plan_device *dev = &plan->devices[d];
        char reason[512];
        size_t len = 0, count = 0;
        bool rdma = dev->type == HV_PLAN_DEVICE_RDMA;

        if (!blocks_migration(dev) ||
            (d > 0 && strcmp(plan->devices[d - 1].spec_path, dev->spec_path) == 0))
            continue; /* one reason per spec entry */
        reason[0] = '\0';
        append(reason, &len, dev->spec_path);
        append(reason, &len, ": ");
        for (size_t e = d;
             e < plan->ndevices && !strcmp(plan->devices[e].spec_path, dev->spec_path); e++) {
            const struct hv_plan_device *x = &plan->devices[e];

            append(reason, &len, count++ ? ", " : "");
            append(reason, &len, x->pci_address[0] ? x->pci_address : x->model);
        }
        if (rdma)
            append(reason, &len,
                   dev->mode == HV_RDMA_MODE_SRIOV
                       ? " (an SR-IOV VF of the RDMA NIC) keeps its queue pairs in the NIC"
                       : " (a whole RDMA NIC) keeps its queue pairs in the NIC");
        else
            append(reason, &len,
                   count > 1 ? " are passed through (VFIO): their state lives in the devices"
                             : " is passed through (VFIO): its state lives in the device");
        if (add_reason(plan, reason) < 0)
            return HV_E_NOMEM;
    }
    if (plan->nreasons)
        return hv_plan_info(plan, "plan.migration.not-live", "",
                            "the VM cannot be live-migrated (%s%s); " HV_PLAN_NOT_LIVE_ADVICE,
                            plan->reasons[0], plan->nreasons > 1 ? "; and more" : "");
    return 0;
}

/*
 * kvm/migrate-plan.h - the destination's own plan of a migrated VM
 * (internal; kvm/migrate-plan.c): the spec in the plan the source sent,
 * planned against this host with the planner's rules, held to the memory
 * layout the source runs, and what that plan decides put into the VM's
 * description. Pure: no I/O, the host is given.
 */
#ifndef HV_KVM_MIGRATE_PLAN_H
#define HV_KVM_MIGRATE_PLAN_H

#include "kvm/snapshot.h"

#include <hpcvirt/plan.h>

/*
 * Plan the VM that META `m` describes (its plan, as the source sent it, in
 * m->plan_json) on `host`: the spec in that plan, with its vNUMA nodes
 * pinned to the source's (count, vCPUs and bytes of each) and its page size
 * to theirs, through hv_plan_create(). 0 and a plan without errors
 * (hv_plan_free() it); HV_E_PLAN with the planner's first error when this
 * host cannot run the VM, or saying what would change when the plan here
 * gives the guest another memory layout; HV_E_MIGRATION when the source's
 * plan holds no spec that reads; HV_E_NOMEM.
 */
int hv_kvm_migrate_replan(const hv_kvm_snapshot_meta *m, const hv_host *host, hv_plan **out);

/*
 * What `plan` (from hv_kvm_migrate_replan() on `m`) decides, put into `m`:
 * each vNUMA node's host node, each vCPU's host CPUs (its pinned CPU, else
 * its node's CPUs), and the plan as the VM's own (m->plan_json). 0 or
 * HV_E_NOMEM (m unchanged but for what was set before).
 */
int hv_kvm_migrate_place(const hv_plan *plan, hv_kvm_snapshot_meta *m);

/*
 * The caller's placement instead (hv_migrate_incoming_options.host_nodes,
 * m->node_count entries), put into `m`: each vNUMA node on host_nodes[i],
 * each of its vCPUs on that host node's CPUs here. HV_E_INVAL naming a node
 * `host` does not have (m unchanged); HV_E_NOMEM.
 */
int hv_kvm_migrate_place_on_nodes(const hv_host *host, const int *host_nodes,
                                  hv_kvm_snapshot_meta *m);

#endif

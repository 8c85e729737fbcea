/*
 * kvm/migrate.h - live migration of a VM of the built-in engine to another
 * engine over a connected stream (internal; kvm/migrate.c, the protocol in
 * docs/migration-protocol.md).
 */
#ifndef HV_KVM_MIGRATE_H
#define HV_KVM_MIGRATE_H

#include "kvm/engine.h"
#include "kvm/snapshot.h"

typedef struct hv_kvm_migrate_params {
    const uint8_t *key; /* pre-shared key (both ends the same), or NULL: no authentication */
    size_t key_bytes;
    unsigned int max_downtime_ms;    /* 0: 300 ms: what the last round may take */
    unsigned int max_rounds;         /* 0: 30 pre-copy rounds, then stop and copy anyway */
    bool fail_unconverged;           /* past max_rounds: give up (source resumes) instead */
    bool throttle;                   /* slow the guest down when a round does not converge */
    uint64_t bandwidth_bytes_per_s;  /* the average the source keeps to; 0: as fast as it goes */
    hv_migrate_progress_fn progress; /* source only: told after batches and rounds; non-zero
                                      * from it cancels the migration */
    void *progress_data;
    int timeout_ms; /* what each step waits for the peer; 0: 30 s */
    /* destination only: where each vNUMA node goes on this host (NULL: where this host's
     * plan puts them, or as sent for a VM without a plan) */
    const int *host_nodes;
    size_t host_node_count;
    /* destination only: the inventory a VM with a plan is planned against (NULL: this
     * machine's, discovered when it arrives) */
    const hv_host *host;
} hv_kvm_migrate_params;

/* What each step waits for the peer: params->timeout_ms, or 30 s when it is 0. */
int hv_kvm_migrate_timeout_ms(const hv_kvm_migrate_params *params);

typedef struct hv_kvm_migrate_stats {
    uint64_t total_ns, downtime_ns; /* from the handshake to RUNNING; paused to RUNNING */
    uint64_t bytes_sent, pages_sent, zero_pages;
    unsigned int rounds; /* pre-copy rounds before the stop */
} hv_kvm_migrate_stats;

/*
 * Send `vm` (running or paused) over the connected descriptor `fd`: the
 * VM is paused only for the last round and destroyed here once the
 * destination says it runs there; on any failure before that it goes on
 * where it was (running again if it ran) and HV_E_MIGRATION (or the
 * destination's refusal) says what happened. `stats` may be NULL.
 */
int hv_kvm_vm_migrate_out(hv_kvm_vm *vm, int fd, const hv_kvm_migrate_params *params,
                          hv_kvm_migrate_stats *stats);
/*
 * Receive a VM over `fd` and run it here (listed under rp->name or the
 * source's name, paused where rp->paused or it was paused there). A VM with
 * a plan is planned on this host first (kvm/migrate-plan.h) and refused with
 * the planner's reason when it cannot run here. On any failure nothing it
 * built is kept, and the source is told why.
 */
int hv_kvm_vm_migrate_in(hv_kvm_conn *conn, int fd, const hv_kvm_migrate_params *params,
                         const hv_kvm_resume_params *rp, hv_kvm_vm **out);

#endif

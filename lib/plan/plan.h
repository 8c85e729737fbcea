/*
 * plan/plan.h - the plan's internal layout and the planning steps (internal).
 * Each step lives in its own file and adds findings; planner.c runs them in
 * order: devices, vNUMA (sizing, mapping, topology, pinning), pages, MMIO,
 * firmware and maximums, migration. Backends (lib/kvm, lib/libvirt) read
 * plans through this header.
 */
#ifndef HV_PLAN_PLAN_H
#define HV_PLAN_PLAN_H

#include <hpcvirt/plan.h>

#include "core/arena.h"
#include "core/cpuset.h"
#include "core/error.h"
#include "core/findings.h"
#include "core/profile.h"
#include "host/host.h"
#include "plan/spec.h"

struct hv_plan_vnode {
    unsigned int id;
    unsigned int vcpu_first; /* vCPUs vcpu_first .. vcpu_first + vcpu_count - 1 */
    unsigned int vcpu_count;
    char vcpus_text[24];
    uint64_t memory_bytes;
    int host_node;
    uint64_t page_bytes;
    uint64_t page_count;
    hv_cpuset host_cpus; /* words in the plan's arena */
    char *host_cpus_text;
};

typedef struct hv_plan_bar {
    uint64_t size_bytes;
    bool in_64bit_window; /* 64-bit prefetchable: the 64-bit window; else the 32-bit hole */
} hv_plan_bar;

struct hv_plan_device {
    int type;
    char spec_path[40];
    char pci_address[16];
    int mode;
    char model[48];
    char mdev_type[48];
    int host_node;
    int vnode;
    unsigned int queues, rss_flags, tunnel_flags;
    unsigned int mtu;
    int rdma_protocol;
    char rdma_name[32];
    unsigned int rdma_port;
    size_t nbars;
    hv_plan_bar bars[6];
};

/* A host NUMA node as the plan saw it (what pictures of the plan show of the host). */
typedef struct hv_plan_host_node {
    int id;
    unsigned int cpu_count;
    char *cpulist;
    uint64_t memory_bytes;
} hv_plan_host_node;

struct hv_plan {
    hv_arena arena; /* the plan and everything it holds (spec copy too) live in it */
    hv_vm_spec *spec;
    const hv_profile *profile;
    hv_findings findings;
    bool ok;
    /* firmware and topology */
    int firmware;
    unsigned int sockets, cores_per_socket, threads_per_core;
    bool needs_iommu_eim;
    /* vNUMA */
    size_t nvnodes;
    struct hv_plan_vnode *vnodes;
    int *distances;           /* nvnodes x nvnodes */
    int *vcpu_pins;           /* vcpus entries, -1 when shared */
    char *emulator_cpus_text; /* dedicated placement; NULL when shared */
    /* MMIO */
    uint64_t bar_total_bytes;
    uint64_t window_bytes, window_base;
    uint64_t low_ram_bytes, high_ram_bytes;
    uint64_t hole32_bytes_used;
    unsigned int guest_phys_bits_required;
    unsigned int guest_phys_bits; /* 0 = the VMM's default */
    bool guest_phys_bits_passthrough;
    unsigned int host_phys_bits;
    bool mmio_feasible;
    /* devices */
    size_t ndevices, devices_cap;
    struct hv_plan_device *devices;
    /* the host's NUMA nodes, in id order */
    size_t nhost_nodes;
    hv_plan_host_node *host_nodes;
    /* migration */
    size_t nreasons;
    char **reasons;
};

/* Findings with a formatted message; return 0 or HV_E_NOMEM. */
int hv_plan_error(hv_plan *plan, const char *code, const char *path, const char *fmt, ...)
    HV_PRINTF(4, 5);
int hv_plan_warning(hv_plan *plan, const char *code, const char *path, const char *fmt, ...)
    HV_PRINTF(4, 5);
int hv_plan_info(hv_plan *plan, const char *code, const char *path, const char *fmt, ...)
    HV_PRINTF(4, 5);

/*
 * Refuse a plan with errors: `code` with the first error finding's path and the message
 * "<what>: <its message> (<its code>)", or just `what` when it has none. Returns `code`.
 */
int hv_plan_refuse(const hv_plan *plan, int code, const char *what);

/* The steps, in the order hv_plan_create() runs them. */
int hv_plan_devices(hv_plan *plan, const hv_host *host);
int hv_plan_vnuma(hv_plan *plan, const hv_host *host);
int hv_plan_pages(hv_plan *plan, const hv_host *host);
int hv_plan_attach_devices(hv_plan *plan);
int hv_plan_mmio(hv_plan *plan, const hv_host *host);
int hv_plan_limits(hv_plan *plan, const hv_host *host);
int hv_plan_migration(hv_plan *plan);

/*
 * The q35 + OVMF guest address-space model (pure; exposed for tests).
 * BARs are placed naturally aligned, largest first.
 */
typedef struct hv_mmio_layout {
    uint64_t low_ram_bytes, high_ram_bytes;
    uint64_t window_base, window_bytes;
    uint64_t hole32_bytes, hole32_used;
    bool hole32_fits;
    unsigned int guest_phys_bits_required;
} hv_mmio_layout;

void hv_mmio_compute(uint64_t ram_bytes, const hv_plan_bar *bars, size_t nbars,
                     hv_mmio_layout *out);

/* A BAR in the 64-bit window: the device (index in plan->devices) and where it is placed. */
typedef struct hv_mmio_window_bar {
    size_t device;
    uint64_t offset_bytes; /* from the window's base */
    uint64_t size_bytes;
} hv_mmio_window_bar;

/*
 * The plan's BARs in its 64-bit window where hv_mmio_compute() places them
 * (largest first; equal sizes in device order), into out[cap]; the count.
 */
size_t hv_mmio_window_bars(const hv_plan *plan, hv_mmio_window_bar *out, size_t cap);

#endif

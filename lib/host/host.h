/*
 * host/host.h - the host object's internal layout, shared by the files that
 * discover (cpu.c, numa.c, pci.c, rdma.c), serialize (json.c) and read it
 * (host.c getters, the planner); and the helpers host.c gives them. How
 * discovery runs is in host/discover.h and host/discover-steps.h.
 */
#ifndef HV_HOST_HOST_H
#define HV_HOST_HOST_H

#include <hpcvirt/host.h>

#include "core/cpuset.h"
#include "core/findings.h"
#include "host/sysfs.h"

/* Largest node id accepted (the kernel's MAX_NUMNODES is 1024). */
#define HV_MAX_NODE_ID        1023
#define HV_MAX_HUGEPAGE_SIZES 4

struct hv_host_cpu {
    unsigned int id;
    int package;
    int die;
    int core;
    int node;
};

typedef struct hv_hugepage_pool {
    uint64_t page_bytes;
    uint64_t total;
    uint64_t free;
    uint64_t surplus;
} hv_hugepage_pool;

struct hv_host_node {
    const struct hv_host *host; /* owner, for lookups by node id */
    int id;
    hv_cpuset cpus;
    char *cpulist;
    unsigned int cpu_count; /* CPUs in `cpus` (cached) */
    unsigned int core_count;
    /* host->cpu_order[order_start .. order_start + cpu_count) are the node's CPU ids
     * sorted by core (package, die, core, then id): siblings are adjacent. */
    size_t order_start;
    uint64_t memory_bytes;
    uint64_t free_bytes;
    int *distances; /* aligned with host->nodes[] (same index), -1 unknown */
    size_t npools;
    hv_hugepage_pool pools[HV_MAX_HUGEPAGE_SIZES];
};

struct hv_pci_bar {
    unsigned int index;
    uint64_t start;
    uint64_t size_bytes;
    bool is_64bit;
    bool prefetchable;
    bool is_io;
};

typedef struct hv_mdev_type {
    char *id;
    char *name;
    char *device_api;
    int available;
} hv_mdev_type;

struct hv_accelerator {
    char *pci_address;
    uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
    uint32_t class_code;
    int kind;          /* HV_ACCELERATOR_* */
    const char *model; /* catalogue name or "" (static) */
    const char *model_id;
    char *model_owned; /* model when read from JSON and not in the catalogue */
    int numa_node;
    char *local_cpulist;
    int iommu_group;
    char *iommu_group_members;
    char *driver;
    char *link_speed, *max_link_speed;
    unsigned int link_width, max_link_width;
    unsigned int sriov_total_vfs, sriov_enabled_vfs;
    size_t nbars;
    struct hv_pci_bar bars[6];
    uint64_t bar_total_bytes;
    size_t nmdev;
    hv_mdev_type *mdev;
};

struct hv_rdma_gid {
    unsigned int index;
    char *text;
    int type;
    char *netdev;
};

struct hv_rdma_port {
    unsigned int number;
    char *state;
    char *phys_state;
    char *rate;
    unsigned int rate_gbps;
    int link_layer;
    unsigned int active_mtu;
    char *netdev;
    size_t ngids;
    struct hv_rdma_gid *gids;
};

struct hv_rdma_device {
    char *name;
    char *node_type;
    char *fw_version;
    char *node_guid;
    char *pci_address;
    int numa_node;
    unsigned int sriov_total_vfs, sriov_enabled_vfs;
    size_t nvfs;
    char **vfs; /* PCI addresses of the enabled virtual functions (virtfnN order) */
    size_t nports;
    struct hv_rdma_port *ports;
};

struct hv_host {
    char *root;
    const char *profile; /* static profile name */
    bool live;           /* discovered from "/" */
    bool from_json;      /* built by hv_host_from_json() */
    /* CPUs */
    char cpu_model[128];
    char cpu_vendor[32];
    unsigned int phys_addr_bits, virt_addr_bits;
    bool has_1g_pages;
    uint64_t base_frequency_khz;
    size_t ncpus;
    struct hv_host_cpu *cpus;
    unsigned int *cpu_order; /* ids sorted by node, package, die, core, id */
    unsigned int cores, packages, dies, threads_per_core;
    /* memory */
    uint64_t memory_bytes, memory_available_bytes;
    bool node_memory_consistent;
    size_t nnodes;
    struct hv_host_node *nodes;
    /* devices */
    size_t naccels, accels_cap;
    struct hv_accelerator *accels;
    size_t nrdma, rdma_cap;
    struct hv_rdma_device *rdma;
    hv_findings findings;
};

/* Add a finding about a file that could not be used, from the thread's last error. */
int hv_host_note_file_problem(hv_host *host, const char *code, int severity);

/*
 * What a discovery step does with a failed read `rc`: nothing for a file
 * or directory that is absent (HV_E_NOTFOUND) or for success, HV_E_NOMEM
 * returned, anything else a warning finding with `code` (0 or HV_E_NOMEM).
 */
int hv_host_note_unless_absent(hv_host *host, int rc, const char *code);

/*
 * Read a CPU (or node) list file (sysfs list format, "0-3,8") into `set`.
 * HV_E_PARSE when it is not one, with a message that quotes nothing of the
 * file unless it is a short text of digits, ',' and '-'.
 */
int hv_host_read_cpulist(const hv_sysfs *fs, const char *path, hv_cpuset *set);

/*
 * The ids listed in DIR/online (a cpulist); when that file is missing or
 * malformed (a finding with `code` says so), the ids of the DIR/<prefix>N
 * entries whose own N/online file, if any, is not 0.
 */
int hv_host_read_online_ids(hv_host *host, const hv_sysfs *fs, const char *dir, const char *prefix,
                            const char *code, hv_cpuset *ids);

/* Helpers shared by the discovery files. */
struct hv_host_node *hv_host_node_mut(hv_host *host, int node_id);
void hv_rdma_device_clear(struct hv_rdma_device *dev);
const hv_hugepage_pool *hv_host_node_pool(const struct hv_host_node *node, uint64_t page_bytes);
/* Recount cores/packages/dies/threads and per-node cores from host->cpus. */
void hv_host_count_topology(hv_host *host);

#endif

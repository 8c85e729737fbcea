/*
 * hpcvirt/host.h - host inventory: CPUs, NUMA nodes with memory, distances
 * and huge pages, accelerators with their PCI BARs, RDMA devices with ports
 * and GIDs, effective-frequency telemetry and checks against a maximums
 * profile.
 *
 * A host is discovered from a root directory (default "/"): the same code
 * reads this machine, a captured sysfs tree, or a host described as JSON.
 * Sub-objects (nodes, accelerators, BARs, RDMA devices, ports, GIDs,
 * findings) are borrowed: valid until hv_host_free().
 */
#ifndef HPCVIRT_HOST_H
#define HPCVIRT_HOST_H

#include <hpcvirt/common.h>
#include <hpcvirt/finding.h>

HV_BEGIN_DECLS

typedef struct hv_host hv_host;
typedef struct hv_host_cpu hv_host_cpu;
typedef struct hv_host_node hv_host_node;
typedef struct hv_accelerator hv_accelerator;
typedef struct hv_pci_bar hv_pci_bar;
typedef struct hv_rdma_device hv_rdma_device;
typedef struct hv_rdma_port hv_rdma_port;
typedef struct hv_rdma_gid hv_rdma_gid;

/* ---- discovery ------------------------------------------------------------ */

/** What discovery may skip (bit flags for hv_host_discover_options.skip). */
typedef enum hv_host_skip {
    HV_HOST_SKIP_PCI = 1 << 0,    /**< no accelerators */
    HV_HOST_SKIP_RDMA = 1 << 1,   /**< no RDMA devices */
    HV_HOST_SKIP_LIBNUMA = 1 << 2 /**< do not cross-check sysfs with libnuma on "/" */
} hv_host_skip;

#define HV_HOST_DISCOVER_OPTIONS_VERSION 1
typedef struct hv_host_discover_options {
    unsigned int version;
    /** Root directory holding sys/ and proc/; NULL or "" means "/". */
    const char *root;
    /** HV_HOST_SKIP_* flags. */
    unsigned int skip;
    /** Maximums profile the host is checked against; NULL = "vsphere-6.7". */
    const char *profile;
} hv_host_discover_options;
#define HV_HOST_DISCOVER_OPTIONS_INIT                                                              \
    {                                                                                              \
        HV_HOST_DISCOVER_OPTIONS_VERSION, NULL, 0, NULL                                            \
    }

HV_EXTERN int hv_host_discover_options_init(hv_host_discover_options *opts, unsigned int version);

/**
 * Discover a host. `opts` may be NULL (root "/", default profile).
 * Problems in individual files become findings (hv_host_finding_*) and
 * discovery goes on; it fails only when the root is unusable (HV_E_NOTFOUND,
 * HV_E_IO), holds no CPU information at all (HV_E_PARSE), or the profile is
 * unknown (HV_E_NOTFOUND).
 */
HV_EXTERN int hv_host_discover(hv_host **host, const hv_host_discover_options *opts);

/** Rebuild a host from hv_host_to_json() output (a remote or recorded host). */
HV_EXTERN int hv_host_from_json(const char *json, hv_host **host);

/** One JSON document with every fact (HV_JSON_* flags). Free with hv_free(). */
HV_EXTERN int hv_host_to_json(const hv_host *host, unsigned int flags, char **json);
/**
 * A picture of the host, like hwloc's lstopo: one self-contained SVG
 * document (docs/pictures.md) with a card per NUMA node (its CPUs, memory,
 * huge pages, and the accelerators and RDMA devices on it; devices with no
 * node in a card of their own), the NUMA distances and the numbered findings,
 * each also marked on the node or device its path names. Text from the host
 * is shown escaped, as the CLI shows it, and XML-escaped. `flags`: none yet,
 * pass 0. Free with hv_free(). Returns 0, HV_E_INVAL or HV_E_NOMEM.
 */
HV_EXTERN int hv_host_to_svg(const hv_host *host, unsigned int flags, char **svg);

HV_EXTERN void hv_host_free(hv_host *host);

/** The root it was discovered from ("/" for this machine); from JSON, the document's "root". */
HV_EXTERN const char *hv_host_root(const hv_host *host);
/** Name of the maximums profile the findings refer to. */
HV_EXTERN const char *hv_host_profile(const hv_host *host);

/* ---- CPUs ----------------------------------------------------------------- */

HV_EXTERN const char *hv_host_cpu_model(const hv_host *host);
HV_EXTERN const char *hv_host_cpu_vendor(const hv_host *host);
/** Online logical CPUs. */
HV_EXTERN unsigned int hv_host_cpu_count(const hv_host *host);
/** Physical cores (distinct package/die/core triples). */
HV_EXTERN unsigned int hv_host_core_count(const hv_host *host);
HV_EXTERN unsigned int hv_host_package_count(const hv_host *host);
HV_EXTERN unsigned int hv_host_die_count(const hv_host *host);
/** SMT threads per core (the most any core has). */
HV_EXTERN unsigned int hv_host_threads_per_core(const hv_host *host);
/** Host physical-address bits from /proc/cpuinfo ("address sizes"); 0 if unknown. */
HV_EXTERN unsigned int hv_host_phys_addr_bits(const hv_host *host);
HV_EXTERN unsigned int hv_host_virt_addr_bits(const hv_host *host);
/** Whether the CPU maps 1 GiB pages (pdpe1gb). */
HV_EXTERN bool hv_host_has_1g_pages(const hv_host *host);
/** Nominal (base) frequency in kHz; 0 when unknown. */
HV_EXTERN uint64_t hv_host_base_frequency_khz(const hv_host *host);

/** Logical CPUs in id order: index 0 .. hv_host_cpu_count() - 1. */
HV_EXTERN const hv_host_cpu *hv_host_cpu_at(const hv_host *host, size_t index);
HV_EXTERN const hv_host_cpu *hv_host_cpu_by_id(const hv_host *host, unsigned int cpu_id);
HV_EXTERN unsigned int hv_host_cpu_id(const hv_host_cpu *cpu);
HV_EXTERN int hv_host_cpu_package(const hv_host_cpu *cpu);
HV_EXTERN int hv_host_cpu_die(const hv_host_cpu *cpu);
HV_EXTERN int hv_host_cpu_core(const hv_host_cpu *cpu);
/** NUMA node id, -1 when unknown. */
HV_EXTERN int hv_host_cpu_node(const hv_host_cpu *cpu);

/* ---- memory and NUMA ------------------------------------------------------ */

/** MemTotal and MemAvailable of /proc/meminfo. */
HV_EXTERN uint64_t hv_host_memory_bytes(const hv_host *host);
HV_EXTERN uint64_t hv_host_memory_available_bytes(const hv_host *host);
/**
 * Whether the NUMA nodes' memory adds up to MemTotal (within 3%). When not
 * (e.g. a VM whose firmware hides memory from the node tables), a finding
 * says so and both figures are reported.
 */
HV_EXTERN bool hv_host_node_memory_consistent(const hv_host *host);

HV_EXTERN size_t hv_host_node_count(const hv_host *host);
/** Nodes in id order. */
HV_EXTERN const hv_host_node *hv_host_node_at(const hv_host *host, size_t index);
HV_EXTERN const hv_host_node *hv_host_node_by_id(const hv_host *host, int node_id);
HV_EXTERN int hv_host_node_id(const hv_host_node *node);
/** The node's CPUs in kernel cpulist form ("0-63,128-191"). */
HV_EXTERN const char *hv_host_node_cpulist(const hv_host_node *node);
HV_EXTERN unsigned int hv_host_node_cpu_count(const hv_host_node *node);
/** Physical cores with at least one CPU in the node. */
HV_EXTERN unsigned int hv_host_node_core_count(const hv_host_node *node);
HV_EXTERN uint64_t hv_host_node_memory_bytes(const hv_host_node *node);
HV_EXTERN uint64_t hv_host_node_free_bytes(const hv_host_node *node);
/** Distance from this node to node `to_node_id` (10 = local), -1 when unknown. */
HV_EXTERN int hv_host_node_distance(const hv_host_node *node, int to_node_id);
/** Huge page sizes present on the node, ascending. */
HV_EXTERN size_t hv_host_node_hugepage_size_count(const hv_host_node *node);
HV_EXTERN uint64_t hv_host_node_hugepage_size_at(const hv_host_node *node, size_t index);
/**
 * Total and free huge pages of `page_bytes` on the node (either pointer may
 * be NULL). HV_E_NOTFOUND when the node has no pool of that size.
 */
HV_EXTERN int hv_host_node_hugepages(const hv_host_node *node, uint64_t page_bytes, uint64_t *total,
                                     uint64_t *free_pages);

/* ---- accelerators --------------------------------------------------------- */

typedef enum hv_accelerator_kind_code {
    HV_ACCELERATOR_GPU = 1,
    HV_ACCELERATOR_FPGA = 2,
    HV_ACCELERATOR_OTHER = 3
} hv_accelerator_kind_code;
/* Deprecated: the old name (POSIX reserves the _t suffix), kept for one release. */
typedef hv_accelerator_kind_code
    hv_accelerator_kind_t HV_DEPRECATED("use hv_accelerator_kind_code");

/** "gpu", "fpga" or "accelerator". */
HV_EXTERN const char *hv_accelerator_kind_name(int kind);

HV_EXTERN size_t hv_host_accelerator_count(const hv_host *host);
/** Accelerators in PCI address order. */
HV_EXTERN const hv_accelerator *hv_host_accelerator_at(const hv_host *host, size_t index);
/** By PCI address ("0000:41:00.0"); NULL when absent. */
HV_EXTERN const hv_accelerator *hv_host_accelerator_by_address(const hv_host *host,
                                                               const char *pci_address);
HV_EXTERN const char *hv_accelerator_pci_address(const hv_accelerator *acc);
HV_EXTERN unsigned int hv_accelerator_vendor_id(const hv_accelerator *acc);
HV_EXTERN unsigned int hv_accelerator_device_id(const hv_accelerator *acc);
HV_EXTERN unsigned int hv_accelerator_subsystem_vendor_id(const hv_accelerator *acc);
HV_EXTERN unsigned int hv_accelerator_subsystem_device_id(const hv_accelerator *acc);
/** 24-bit PCI class code (0x030200 = 3D controller). */
HV_EXTERN unsigned int hv_accelerator_class_code(const hv_accelerator *acc);
/** HV_ACCELERATOR_GPU, _FPGA or _OTHER. */
HV_EXTERN int hv_accelerator_kind(const hv_accelerator *acc);
/** Model name from the built-in catalogue, "" when the ids are not known. */
HV_EXTERN const char *hv_accelerator_model(const hv_accelerator *acc);
/** Catalogue id ("a100-sxm4-80gb") usable as a spec's `model`, "" when unknown. */
HV_EXTERN const char *hv_accelerator_model_id(const hv_accelerator *acc);
HV_EXTERN const char *hv_accelerator_vendor_name(const hv_accelerator *acc);
/** NUMA node, -1 when unknown. */
HV_EXTERN int hv_accelerator_numa_node(const hv_accelerator *acc);
/** CPUs local to the device (cpulist), "" when unknown. */
HV_EXTERN const char *hv_accelerator_local_cpulist(const hv_accelerator *acc);
/** IOMMU group, -1 when the host has no IOMMU (or it is off). */
HV_EXTERN int hv_accelerator_iommu_group(const hv_accelerator *acc);
/** PCI addresses of every function in the same IOMMU group (cpulist-like, comma separated). */
HV_EXTERN const char *hv_accelerator_iommu_group_members(const hv_accelerator *acc);
/** Bound driver ("nvidia", "vfio-pci"), "" when none. */
HV_EXTERN const char *hv_accelerator_driver(const hv_accelerator *acc);
/** Current PCIe link speed ("32.0 GT/s PCIe") and width; "" / 0 when unknown. */
HV_EXTERN const char *hv_accelerator_link_speed(const hv_accelerator *acc);
HV_EXTERN unsigned int hv_accelerator_link_width(const hv_accelerator *acc);
HV_EXTERN const char *hv_accelerator_max_link_speed(const hv_accelerator *acc);
HV_EXTERN unsigned int hv_accelerator_max_link_width(const hv_accelerator *acc);
HV_EXTERN unsigned int hv_accelerator_sriov_total_vfs(const hv_accelerator *acc);
HV_EXTERN unsigned int hv_accelerator_sriov_enabled_vfs(const hv_accelerator *acc);
/** Mediated device (vGPU) types. */
HV_EXTERN size_t hv_accelerator_mdev_type_count(const hv_accelerator *acc);
HV_EXTERN const char *hv_accelerator_mdev_type_id(const hv_accelerator *acc, size_t index);
HV_EXTERN const char *hv_accelerator_mdev_type_name(const hv_accelerator *acc, size_t index);
HV_EXTERN int hv_accelerator_mdev_type_available(const hv_accelerator *acc, size_t index);
/** Implemented BARs (0-5) in index order; unused ones are not listed. */
HV_EXTERN size_t hv_accelerator_bar_count(const hv_accelerator *acc);
HV_EXTERN const hv_pci_bar *hv_accelerator_bar_at(const hv_accelerator *acc, size_t index);
/** Sum of the sizes of BARs 0-5. */
HV_EXTERN uint64_t hv_accelerator_bar_total_bytes(const hv_accelerator *acc);

HV_EXTERN unsigned int hv_pci_bar_index(const hv_pci_bar *bar);
HV_EXTERN uint64_t hv_pci_bar_start(const hv_pci_bar *bar);
HV_EXTERN uint64_t hv_pci_bar_size_bytes(const hv_pci_bar *bar);
HV_EXTERN bool hv_pci_bar_is_64bit(const hv_pci_bar *bar);
HV_EXTERN bool hv_pci_bar_is_prefetchable(const hv_pci_bar *bar);
HV_EXTERN bool hv_pci_bar_is_io(const hv_pci_bar *bar);

/* ---- RDMA ----------------------------------------------------------------- */

typedef enum hv_rdma_link_layer {
    HV_RDMA_LINK_UNKNOWN = 0,
    HV_RDMA_LINK_INFINIBAND = 1,
    HV_RDMA_LINK_ETHERNET = 2 /**< RoCE */
} hv_rdma_link_layer;

typedef enum hv_rdma_gid_type_code {
    HV_RDMA_GID_UNKNOWN = 0,
    HV_RDMA_GID_IB_ROCE_V1 = 1, /**< "IB/RoCE v1" */
    HV_RDMA_GID_ROCE_V2 = 2     /**< "RoCE v2" */
} hv_rdma_gid_type_code;
/* Deprecated: the old name (POSIX reserves the _t suffix), kept for one release. */
typedef hv_rdma_gid_type_code hv_rdma_gid_type_t HV_DEPRECATED("use hv_rdma_gid_type_code");

HV_EXTERN size_t hv_host_rdma_count(const hv_host *host);
HV_EXTERN const hv_rdma_device *hv_host_rdma_at(const hv_host *host, size_t index);
HV_EXTERN const char *hv_rdma_device_name(const hv_rdma_device *dev);
/** "CA", "switch", "router", "RNIC"; "" when unknown. */
HV_EXTERN const char *hv_rdma_device_node_type(const hv_rdma_device *dev);
HV_EXTERN const char *hv_rdma_device_fw_version(const hv_rdma_device *dev);
HV_EXTERN const char *hv_rdma_device_node_guid(const hv_rdma_device *dev);
/** The PCI function behind it, "" when not a PCI device. */
HV_EXTERN const char *hv_rdma_device_pci_address(const hv_rdma_device *dev);
HV_EXTERN int hv_rdma_device_numa_node(const hv_rdma_device *dev);
HV_EXTERN unsigned int hv_rdma_device_sriov_total_vfs(const hv_rdma_device *dev);
HV_EXTERN unsigned int hv_rdma_device_sriov_enabled_vfs(const hv_rdma_device *dev);
/** Enabled SR-IOV virtual functions: their PCI addresses, in VF order. */
HV_EXTERN size_t hv_rdma_device_vf_count(const hv_rdma_device *dev);
HV_EXTERN const char *hv_rdma_device_vf_at(const hv_rdma_device *dev, size_t index);
HV_EXTERN size_t hv_rdma_device_port_count(const hv_rdma_device *dev);
HV_EXTERN const hv_rdma_port *hv_rdma_device_port_at(const hv_rdma_device *dev, size_t index);

HV_EXTERN unsigned int hv_rdma_port_number(const hv_rdma_port *port);
/** "ACTIVE", "DOWN", ... */
HV_EXTERN const char *hv_rdma_port_state(const hv_rdma_port *port);
HV_EXTERN const char *hv_rdma_port_phys_state(const hv_rdma_port *port);
/** As the kernel words it: "200 Gb/sec (4X HDR)". */
HV_EXTERN const char *hv_rdma_port_rate(const hv_rdma_port *port);
HV_EXTERN unsigned int hv_rdma_port_rate_gbps(const hv_rdma_port *port);
HV_EXTERN int hv_rdma_port_link_layer(const hv_rdma_port *port);
/**
 * Active MTU in bytes (256..4096). For RoCE ports it follows from the
 * netdev's MTU; InfiniBand ports do not publish it in sysfs: 0 (unknown).
 */
HV_EXTERN unsigned int hv_rdma_port_active_mtu(const hv_rdma_port *port);
/** The Ethernet netdev of a RoCE port, "" otherwise. */
HV_EXTERN const char *hv_rdma_port_netdev(const hv_rdma_port *port);
/** Non-zero GID table entries. */
HV_EXTERN size_t hv_rdma_port_gid_count(const hv_rdma_port *port);
HV_EXTERN const hv_rdma_gid *hv_rdma_port_gid_at(const hv_rdma_port *port, size_t index);
HV_EXTERN unsigned int hv_rdma_gid_index(const hv_rdma_gid *gid);
/** "fe80:0000:0000:0000:ba59:9fff:fea1:b2c4" */
HV_EXTERN const char *hv_rdma_gid_text(const hv_rdma_gid *gid);
HV_EXTERN int hv_rdma_gid_type(const hv_rdma_gid *gid);
/** "IB/RoCE v1", "RoCE v2" or "". */
HV_EXTERN const char *hv_rdma_gid_type_name(int type);
HV_EXTERN const char *hv_rdma_gid_netdev(const hv_rdma_gid *gid);

/* ---- findings ------------------------------------------------------------- */

HV_EXTERN size_t hv_host_finding_count(const hv_host *host);
HV_EXTERN const hv_finding *hv_host_finding_at(const hv_host *host, size_t index);

/* ---- effective frequency (APERF/MPERF) ------------------------------------ */

typedef struct hv_freq_sample hv_freq_sample;

#define HV_FREQ_SAMPLE_OPTIONS_VERSION 1
typedef struct hv_freq_sample_options {
    unsigned int version;
    /** How long to measure; 0 means 100 ms. At most 60000. */
    unsigned int interval_ms;
    /** CPUs to measure (cpulist); NULL or "" = every online CPU. */
    const char *cpulist;
} hv_freq_sample_options;
#define HV_FREQ_SAMPLE_OPTIONS_INIT                                                                \
    {                                                                                              \
        HV_FREQ_SAMPLE_OPTIONS_VERSION, 0, NULL                                                    \
    }

HV_EXTERN int hv_freq_sample_options_init(hv_freq_sample_options *opts, unsigned int version);

/**
 * Measure, per logical CPU, the APERF/MPERF ratio over the interval (the
 * "turbo ratio": above 1 when the core ran faster than its base frequency)
 * and the effective frequency (base frequency x ratio). Counters are read
 * through perf events (the msr PMU's aperf/mperf) or /dev/cpu/N/msr.
 * HV_E_UNSUPPORTED when neither is readable here (the message says why), or
 * when the host was not discovered from "/".
 */
HV_EXTERN int hv_host_sample_frequency(const hv_host *host, const hv_freq_sample_options *opts,
                                       hv_freq_sample **sample);
HV_EXTERN size_t hv_freq_sample_count(const hv_freq_sample *sample);
HV_EXTERN unsigned int hv_freq_sample_cpu(const hv_freq_sample *sample, size_t index);
/** APERF delta / MPERF delta. */
HV_EXTERN double hv_freq_sample_ratio(const hv_freq_sample *sample, size_t index);
/** Effective MHz = base MHz x ratio; 0 when the base frequency is unknown. */
HV_EXTERN double hv_freq_sample_effective_mhz(const hv_freq_sample *sample, size_t index);
/** "perf" or "msr": where the counters came from. */
HV_EXTERN const char *hv_freq_sample_source(const hv_freq_sample *sample);
HV_EXTERN void hv_freq_sample_free(hv_freq_sample *sample);

HV_END_DECLS

#endif /* HPCVIRT_HOST_H */

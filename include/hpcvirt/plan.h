/*
 * hpcvirt/plan.h - plans: a VM spec checked against a maximums profile and
 * laid out on a host - firmware, guest CPU topology, vNUMA nodes mapped to
 * host nodes with page sizes and pinned CPUs, the MMIO (BAR) budget and
 * guest physical-address width, the devices chosen, migration eligibility.
 *
 * hv_plan_create() succeeds whenever its arguments are valid: what is wrong
 * with the VM or the host is reported as findings, and hv_plan_ok() is false
 * when any finding is an error. A plan is data: the same host and spec give
 * the same plan, byte for byte in JSON (docs/plan-json.md).
 */
#ifndef HPCVIRT_PLAN_H
#define HPCVIRT_PLAN_H

#include <hpcvirt/common.h>
#include <hpcvirt/finding.h>
#include <hpcvirt/host.h>
#include <hpcvirt/profile.h>
#include <hpcvirt/spec.h>

HV_BEGIN_DECLS

typedef struct hv_plan hv_plan;
typedef struct hv_plan_vnode hv_plan_vnode;
typedef struct hv_plan_device hv_plan_device;

#define HV_PLAN_OPTIONS_VERSION 1
typedef struct hv_plan_options {
    unsigned int version;
    /** Maximums profile overriding the spec's; NULL = the spec's (default vsphere-6.7). */
    const char *profile;
} hv_plan_options;
#define HV_PLAN_OPTIONS_INIT                                                                       \
    {                                                                                              \
        HV_PLAN_OPTIONS_VERSION, NULL                                                              \
    }

HV_EXTERN int hv_plan_options_init(hv_plan_options *opts, unsigned int version);

/**
 * Plan `spec` on `host`. Returns 0 with a plan (check hv_plan_ok()), or
 * HV_E_INVAL / HV_E_NOMEM / HV_E_NOTFOUND (unknown profile in opts).
 * The plan keeps its own copy of what it needs: host and spec may be freed.
 */
HV_EXTERN int hv_plan_create(const hv_host *host, const hv_vm_spec *spec,
                             const hv_plan_options *opts, hv_plan **plan);
HV_EXTERN void hv_plan_free(hv_plan *plan);
/** Deterministic JSON. Free with hv_free(). */
HV_EXTERN int hv_plan_to_json(const hv_plan *plan, unsigned int flags, char **json);
/**
 * A picture of the plan: one self-contained SVG document (docs/pictures.md).
 * The host NUMA nodes the plan uses are cards with their CPUs and memory;
 * each vNUMA node (vCPUs, memory, page size, host CPUs) is drawn in the
 * host node it is placed on, and each device is linked to the vNUMA node it
 * is attached to. Below: the guest's NUMA distances, the 64-bit MMIO window
 * to scale with every BAR in it, and the numbered findings, each also marked
 * on what its path names (a device's spec entry, a vNUMA node, the MMIO
 * budget, else the VM). Text from the spec or the host is shown escaped, as
 * the CLI shows it, and XML-escaped. `flags`: none yet, pass 0. Free with
 * hv_free(). Returns 0, HV_E_INVAL or HV_E_NOMEM.
 */
HV_EXTERN int hv_plan_to_svg(const hv_plan *plan, unsigned int flags, char **svg);

/** False when any finding is an error. */
HV_EXTERN bool hv_plan_ok(const hv_plan *plan);
HV_EXTERN size_t hv_plan_finding_count(const hv_plan *plan);
HV_EXTERN const hv_finding *hv_plan_finding_at(const hv_plan *plan, size_t index);
/** The spec the plan was made from (a copy owned by the plan). */
HV_EXTERN const hv_vm_spec *hv_plan_spec(const hv_plan *plan);
HV_EXTERN const char *hv_plan_profile(const hv_plan *plan);

/** HV_FIRMWARE_BIOS or HV_FIRMWARE_EFI (never AUTO). */
HV_EXTERN int hv_plan_firmware(const hv_plan *plan);
HV_EXTERN unsigned int hv_plan_vcpus(const hv_plan *plan);
HV_EXTERN uint64_t hv_plan_memory_bytes(const hv_plan *plan);
HV_EXTERN unsigned int hv_plan_sockets(const hv_plan *plan);
HV_EXTERN unsigned int hv_plan_cores_per_socket(const hv_plan *plan);
HV_EXTERN unsigned int hv_plan_threads_per_core(const hv_plan *plan);
HV_EXTERN int hv_plan_cpu_placement(const hv_plan *plan);
/** HV_VNUMA_BALANCED or HV_VNUMA_VSPHERE. */
HV_EXTERN int hv_plan_vnuma_policy(const hv_plan *plan);
/** True when the VM needs an IOMMU with extended interrupt mode (more than 255 vCPUs). */
HV_EXTERN bool hv_plan_needs_iommu_eim(const hv_plan *plan);

/* ---- vNUMA ---------------------------------------------------------------- */

HV_EXTERN size_t hv_plan_vnuma_node_count(const hv_plan *plan);
HV_EXTERN const hv_plan_vnode *hv_plan_vnuma_node_at(const hv_plan *plan, size_t index);
/** Guest distance between vNUMA nodes i and j (10 on the diagonal). */
HV_EXTERN int hv_plan_vnuma_distance(const hv_plan *plan, size_t i, size_t j);
HV_EXTERN unsigned int hv_plan_vnode_id(const hv_plan_vnode *node);
HV_EXTERN unsigned int hv_plan_vnode_vcpu_count(const hv_plan_vnode *node);
/** The node's vCPUs as a cpulist ("0-7"). */
HV_EXTERN const char *hv_plan_vnode_vcpus(const hv_plan_vnode *node);
HV_EXTERN uint64_t hv_plan_vnode_memory_bytes(const hv_plan_vnode *node);
/** Host node it maps to; -1 when no host node could take it (an error finding says why). */
HV_EXTERN int hv_plan_vnode_host_node(const hv_plan_vnode *node);
HV_EXTERN uint64_t hv_plan_vnode_page_bytes(const hv_plan_vnode *node);
HV_EXTERN uint64_t hv_plan_vnode_page_count(const hv_plan_vnode *node);
/** Host CPUs its vCPUs run on (cpulist): pinned CPUs (dedicated) or the node's CPUs (shared). */
HV_EXTERN const char *hv_plan_vnode_host_cpus(const hv_plan_vnode *node);
/** Host CPU vCPU `vcpu` is pinned to (dedicated placement), -1 otherwise. */
HV_EXTERN int hv_plan_vcpu_pin(const hv_plan *plan, unsigned int vcpu);
/**
 * Host CPUs for the VMM's own threads (dedicated placement): CPUs of the
 * first vNUMA node's host node that no vCPU is pinned to, or the pinned ones
 * when none is left; "" for shared placement (they float with the vCPUs).
 */
HV_EXTERN const char *hv_plan_emulator_cpus(const hv_plan *plan);

/* ---- MMIO budget ---------------------------------------------------------- */

/** Sum of all BARs of the passed-through devices. */
HV_EXTERN uint64_t hv_plan_mmio_bar_total_bytes(const hv_plan *plan);
/** Size and base of the 64-bit PCI window (0 when no 64-bit BARs). */
HV_EXTERN uint64_t hv_plan_mmio_window_bytes(const hv_plan *plan);
HV_EXTERN uint64_t hv_plan_mmio_window_base(const hv_plan *plan);
/** Guest RAM below 4 GiB and above it (q35 layout). */
HV_EXTERN uint64_t hv_plan_mmio_low_ram_bytes(const hv_plan *plan);
HV_EXTERN uint64_t hv_plan_mmio_high_ram_bytes(const hv_plan *plan);
/** BAR bytes placed in the 32-bit PCI hole below 4 GiB. */
HV_EXTERN uint64_t hv_plan_mmio_hole32_used_bytes(const hv_plan *plan);
HV_EXTERN unsigned int hv_plan_guest_phys_bits_required(const hv_plan *plan);
/** The width the plan configures (0 = the VMM's default, see docs/plan-json.md). */
HV_EXTERN unsigned int hv_plan_guest_phys_bits(const hv_plan *plan);
/** True when the plan passes the host's width through (maxphysaddr mode=passthrough). */
HV_EXTERN bool hv_plan_guest_phys_bits_passthrough(const hv_plan *plan);
HV_EXTERN unsigned int hv_plan_host_phys_bits(const hv_plan *plan);
HV_EXTERN bool hv_plan_mmio_feasible(const hv_plan *plan);

/* ---- devices -------------------------------------------------------------- */

typedef enum hv_plan_device_type {
    HV_PLAN_DEVICE_ACCELERATOR = 1,
    HV_PLAN_DEVICE_NIC = 2,
    HV_PLAN_DEVICE_RDMA = 3
} hv_plan_device_type;

HV_EXTERN size_t hv_plan_device_count(const hv_plan *plan);
HV_EXTERN const hv_plan_device *hv_plan_device_at(const hv_plan *plan, size_t index);
HV_EXTERN int hv_plan_device_type_of(const hv_plan_device *dev);
/** JSON path of the spec entry it comes from ("accelerators[0]"). */
HV_EXTERN const char *hv_plan_device_spec_path(const hv_plan_device *dev);
/** Host PCI function used ("" when none: a model not present on the host, pvrdma, NICs). */
HV_EXTERN const char *hv_plan_device_pci_address(const hv_plan_device *dev);
/** Accelerator mode or RDMA mode (HV_ACCEL_MODE_*, HV_RDMA_MODE_*); 0 for NICs. */
HV_EXTERN int hv_plan_device_mode(const hv_plan_device *dev);
/** Catalogue model id or NIC model; mdev type for vGPUs. */
HV_EXTERN const char *hv_plan_device_model(const hv_plan_device *dev);
HV_EXTERN const char *hv_plan_device_mdev_type(const hv_plan_device *dev);
/** Host NUMA node of the device, -1 unknown; and the vNUMA node it is attached to. */
HV_EXTERN int hv_plan_device_host_node(const hv_plan_device *dev);
HV_EXTERN int hv_plan_device_vnode(const hv_plan_device *dev);
/** NIC queues; RDMA MTU. */
HV_EXTERN unsigned int hv_plan_device_queues(const hv_plan_device *dev);
HV_EXTERN unsigned int hv_plan_device_mtu(const hv_plan_device *dev);
/** RDMA device name on the host ("mlx5_0"), "" otherwise; its port and HV_RDMA_* protocol. */
HV_EXTERN const char *hv_plan_device_rdma_name(const hv_plan_device *dev);
HV_EXTERN unsigned int hv_plan_device_rdma_port(const hv_plan_device *dev);
HV_EXTERN int hv_plan_device_rdma_protocol(const hv_plan_device *dev);
/** NIC RSS hash types (HV_NIC_RSS_*) and tunnel offloads (HV_NIC_TUNNEL_*). */
HV_EXTERN unsigned int hv_plan_device_rss_flags(const hv_plan_device *dev);
HV_EXTERN unsigned int hv_plan_device_tunnel_flags(const hv_plan_device *dev);
/** Sum of the BARs the device brings into the guest (passthrough). */
HV_EXTERN uint64_t hv_plan_device_bar_total_bytes(const hv_plan_device *dev);

/* ---- migration ------------------------------------------------------------ */

HV_EXTERN bool hv_plan_live_migratable(const hv_plan *plan);
HV_EXTERN size_t hv_plan_migration_reason_count(const hv_plan *plan);
HV_EXTERN const char *hv_plan_migration_reason_at(const hv_plan *plan, size_t index);

HV_END_DECLS

#endif /* HPCVIRT_PLAN_H */

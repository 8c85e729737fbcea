/*
 * hpcvirt/spec.h - VM specs: the VM a user wants (vCPUs, memory, firmware,
 * topology hints, vNUMA, page size, CPU placement, accelerators, NICs, RDMA
 * fabric attachments, disks, a boot source (a Linux kernel booted directly), guest
 * physical-address width, maximums profile).
 *
 * Build one with the setters or read one from JSON (docs/spec-json.md); both
 * check every value at once and fail with HV_E_SPEC naming the field
 * ("accelerators[1].count"). A spec says what is wanted; whether a host can
 * provide it is the planner's question (hpcvirt/plan.h).
 */
#ifndef HPCVIRT_SPEC_H
#define HPCVIRT_SPEC_H

#include <hpcvirt/common.h>

HV_BEGIN_DECLS

typedef struct hv_vm_spec hv_vm_spec;

typedef enum hv_firmware {
    HV_FIRMWARE_AUTO = 0,
    HV_FIRMWARE_BIOS = 1,
    HV_FIRMWARE_EFI = 2
} hv_firmware;

typedef enum hv_vnuma_policy {
    HV_VNUMA_BALANCED = 0, /**< default: also splits for memory, maps near devices */
    HV_VNUMA_VSPHERE = 1   /**< reproduces vSphere 6.5+ automatic vNUMA exactly */
} hv_vnuma_policy;

typedef enum hv_page_size {
    HV_PAGE_SIZE_AUTO = 0,
    HV_PAGE_SIZE_4K = 1,
    HV_PAGE_SIZE_2M = 2,
    HV_PAGE_SIZE_1G = 3
} hv_page_size;

typedef enum hv_cpu_placement {
    HV_CPU_PLACEMENT_SHARED = 0,   /**< vCPUs float over their node's host CPUs */
    HV_CPU_PLACEMENT_DEDICATED = 1 /**< each vCPU pinned to its own host CPU */
} hv_cpu_placement;

typedef enum hv_accelerator_mode {
    HV_ACCEL_MODE_PASSTHROUGH = 0, /**< whole PCI function (VFIO) */
    HV_ACCEL_MODE_VGPU = 1,        /**< a mediated device (mdev) of the GPU */
    HV_ACCEL_MODE_FPGA = 2         /**< an FPGA passed through */
} hv_accelerator_mode;

/** Bit flags for hv_vm_spec_add_nic()'s RSS hash types. */
typedef enum hv_nic_rss {
    HV_NIC_RSS_TCP = 1 << 0,
    HV_NIC_RSS_UDP = 1 << 1,
    HV_NIC_RSS_ESP = 1 << 2
} hv_nic_rss;

/** Bit flags for hv_vm_spec_add_nic()'s tunnel offloads. */
typedef enum hv_nic_tunnel {
    HV_NIC_TUNNEL_VXLAN = 1 << 0,
    HV_NIC_TUNNEL_GENEVE = 1 << 1
} hv_nic_tunnel;

typedef enum hv_rdma_protocol {
    HV_RDMA_ROCE_V2 = 0,
    HV_RDMA_ROCE_V1 = 1,
    HV_RDMA_INFINIBAND = 2
} hv_rdma_protocol;

typedef enum hv_rdma_mode {
    HV_RDMA_MODE_PVRDMA = 0,     /**< paravirtual RDMA over a host RoCE port */
    HV_RDMA_MODE_SRIOV = 1,      /**< a virtual function of an RDMA NIC */
    HV_RDMA_MODE_PASSTHROUGH = 2 /**< a whole RDMA NIC */
} hv_rdma_mode;

typedef enum hv_disk_format { HV_DISK_FORMAT_RAW = 0, HV_DISK_FORMAT_QCOW2 = 1 } hv_disk_format;

typedef enum hv_disk_bus {
    HV_DISK_BUS_VIRTIO = 0, /**< virtio-blk: vda, vdb, ... */
    HV_DISK_BUS_SCSI = 1,   /**< virtio-scsi: sda, sdb, ... */
    HV_DISK_BUS_SATA = 2    /**< AHCI: sda, sdb, ... */
} hv_disk_bus;

/** Special values of guest physical-address bits. */
#define HV_GUEST_PHYS_BITS_AUTO 0
#define HV_GUEST_PHYS_BITS_HOST (-1)

/** A new spec with defaults: name "vm", 1 vCPU, 1 GiB, everything "auto". */
HV_EXTERN int hv_vm_spec_new(hv_vm_spec **spec);
/** Parse a spec from JSON (docs/spec-json.md). HV_E_SPEC names the field. */
HV_EXTERN int hv_vm_spec_from_json(const char *json, hv_vm_spec **spec);
/** The spec as canonical JSON (every key, memory in bytes). Free with hv_free(). */
HV_EXTERN int hv_vm_spec_to_json(const hv_vm_spec *spec, unsigned int flags, char **json);
HV_EXTERN int hv_vm_spec_copy(const hv_vm_spec *spec, hv_vm_spec **copy);
HV_EXTERN void hv_vm_spec_free(hv_vm_spec *spec);

/* Setters: HV_E_SPEC (with the field's path) for values out of range. */
HV_EXTERN int hv_vm_spec_set_name(hv_vm_spec *spec, const char *name);
HV_EXTERN int hv_vm_spec_set_vcpus(hv_vm_spec *spec, unsigned int vcpus);
HV_EXTERN int hv_vm_spec_set_memory_bytes(hv_vm_spec *spec, uint64_t memory_bytes);
HV_EXTERN int hv_vm_spec_set_firmware(hv_vm_spec *spec, int firmware);
/** 0 means "derive" for either. */
HV_EXTERN int hv_vm_spec_set_topology(hv_vm_spec *spec, unsigned int cores_per_socket,
                                      unsigned int threads_per_core);
HV_EXTERN int hv_vm_spec_set_vnuma_policy(hv_vm_spec *spec, int policy);
/** Automatic vNUMA (the default); drops explicit nodes. */
HV_EXTERN int hv_vm_spec_set_vnuma_auto(hv_vm_spec *spec);
/** Append an explicit vNUMA node; the nodes must add up to the VM's vCPUs and memory. */
HV_EXTERN int hv_vm_spec_add_vnuma_node(hv_vm_spec *spec, unsigned int vcpus,
                                        uint64_t memory_bytes);
HV_EXTERN int hv_vm_spec_set_prefer_ht(hv_vm_spec *spec, bool prefer_ht);
HV_EXTERN int hv_vm_spec_set_page_size(hv_vm_spec *spec, int page_size);
HV_EXTERN int hv_vm_spec_set_cpu_placement(hv_vm_spec *spec, int placement);
/** A host accelerator by PCI address. `mdev_type` only for HV_ACCEL_MODE_VGPU (else NULL). */
HV_EXTERN int hv_vm_spec_add_accelerator(hv_vm_spec *spec, const char *pci_address, int mode,
                                         const char *mdev_type);
/** `count` accelerators of a catalogue model ("a100-sxm4-80gb"). */
HV_EXTERN int hv_vm_spec_add_accelerator_model(hv_vm_spec *spec, const char *model,
                                               unsigned int count, int mode, const char *mdev_type);
/** A NIC: model "virtio-net" (libvirt's "virtio" is the same, kept as "virtio-net"; "vmxnet3" is
 * mapped to virtio-net), queues (0 = one per vCPU up to 16). */
HV_EXTERN int hv_vm_spec_add_nic(hv_vm_spec *spec, const char *model, unsigned int queues,
                                 unsigned int rss_flags, unsigned int tunnel_flags);
/** An RDMA fabric attachment; mtu 0 = the port's. */
HV_EXTERN int hv_vm_spec_add_rdma(hv_vm_spec *spec, int protocol, int mode, unsigned int mtu);
/**
 * A disk image: an absolute `path`, HV_DISK_FORMAT_*, HV_DISK_BUS_*, `serial` (NULL or "" for
 * none; at most 20 printable ASCII characters) and `size_bytes` (0: the file must exist; else the
 * size to create it with when it does not, a whole number of MiB). Since HPCVIRT_1.1.
 */
HV_EXTERN int hv_vm_spec_add_disk(hv_vm_spec *spec, const char *path, int format, int bus,
                                  bool read_only, const char *serial, uint64_t size_bytes);
/**
 * The boot source: a Linux kernel booted directly (no firmware, no boot loader), instead of a
 * payload. `kernel` is the kernel's absolute path (a bzImage or an ELF vmlinux; at most 1,024
 * bytes of printable UTF-8, not ending in '/'); `initrd` the initial RAM disk's absolute path, NULL
 * or "" for none; `cmdline` the kernel's command line, NULL or "" for none, at most 4,095 bytes of
 * printable UTF-8 (a kernel may take fewer: it says how many in its setup header). The strings are
 * copied. `kernel` NULL clears the boot source (then `initrd` and `cmdline` must be NULL or "").
 * A bad value is HV_E_SPEC with the field's path ("boot.initrd"), and the spec is left unchanged.
 * Whether the files exist and what they hold is the backend's question. Since HPCVIRT_1.1.
 */
HV_EXTERN int hv_vm_spec_set_boot(hv_vm_spec *spec, const char *kernel, const char *initrd,
                                  const char *cmdline);
/** HV_GUEST_PHYS_BITS_AUTO, HV_GUEST_PHYS_BITS_HOST or 32..64. */
HV_EXTERN int hv_vm_spec_set_guest_phys_bits(hv_vm_spec *spec, int bits);
/** Maximums profile name ("vsphere-6.7", "kvm-q35", "vsphere-6.0"). */
HV_EXTERN int hv_vm_spec_set_profile(hv_vm_spec *spec, const char *profile);

HV_EXTERN const char *hv_vm_spec_name(const hv_vm_spec *spec);
HV_EXTERN unsigned int hv_vm_spec_vcpus(const hv_vm_spec *spec);
HV_EXTERN uint64_t hv_vm_spec_memory_bytes(const hv_vm_spec *spec);
HV_EXTERN const char *hv_vm_spec_profile(const hv_vm_spec *spec);
/** The boot source's kernel path; NULL when the spec has no boot source. Since HPCVIRT_1.1. */
HV_EXTERN const char *hv_vm_spec_boot_kernel(const hv_vm_spec *spec);
/** The boot source's initrd path; NULL when it has none (or there is no boot source). */
HV_EXTERN const char *hv_vm_spec_boot_initrd(const hv_vm_spec *spec);
/** The kernel's command line; NULL when it has none (or there is no boot source). */
HV_EXTERN const char *hv_vm_spec_boot_cmdline(const hv_vm_spec *spec);

HV_END_DECLS

#endif /* HPCVIRT_SPEC_H */

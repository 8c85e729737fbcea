/*
 * plan/spec.h - the VM spec's internal layout (internal), shared by the
 * builder (spec.c), the JSON reader/writer (spec-json.c) and the planner.
 */
#ifndef HV_PLAN_SPEC_H
#define HV_PLAN_SPEC_H

#include <hpcvirt/spec.h>

/* Hard ceilings no profile exceeds: anything above is a typo or an attack. */
#define HV_SPEC_MAX_VCPUS       4096u
#define HV_SPEC_MAX_VNUMA_NODES 64u
#define HV_SPEC_MAX_DEVICES     64u
#define HV_SPEC_MAX_NIC_QUEUES  256u
#define HV_SPEC_MAX_NAME        64u
#define HV_SPEC_MAX_DISKS       60u   /* vSphere 6.7: 60 virtual disks per VM (4 x 15 SCSI) */
#define HV_SPEC_MAX_DISK_PATH   1024u /* well under PATH_MAX, libvirt's and QEMU's limits */
#define HV_SPEC_MAX_DISK_SERIAL 20u   /* QEMU: a virtio-blk/ATA serial has 20 bytes */
#define HV_SPEC_MAX_DISK_SIZE   (UINT64_C(1) << 46)   /* 64 TiB: larger images are made by hand */
#define HV_SPEC_MAX_MEMORY      (UINT64_C(1) << 52)   /* 4 PiB: beyond any x86 guest */
#define HV_SPEC_MAX_BOOT_PATH   HV_SPEC_MAX_DISK_PATH /* the kernel's and the initrd's paths */
#define HV_SPEC_MAX_CMDLINE     4095u /* bytes; x86 kernels take 2047 unless built for more */

typedef struct hv_spec_vnode {
    unsigned int vcpus;
    uint64_t memory_bytes;
} hv_spec_vnode;

typedef struct hv_spec_accel {
    char pci_address[16]; /* "" when by model */
    char model[48];       /* catalogue id or name, "" when by address */
    unsigned int count;   /* 1 for by-address entries */
    int mode;
    char mdev_type[48];
} hv_spec_accel;

typedef struct hv_spec_nic {
    char model[24];
    unsigned int queues;
    unsigned int rss_flags;
    unsigned int tunnel_flags;
} hv_spec_nic;

typedef struct hv_spec_rdma {
    int protocol;
    int mode;
    unsigned int mtu;
} hv_spec_rdma;

typedef struct hv_spec_disk {
    char path[HV_SPEC_MAX_DISK_PATH + 1]; /* absolute */
    int format;
    int bus;
    bool read_only;
    char serial[HV_SPEC_MAX_DISK_SERIAL + 1];
    uint64_t size_bytes; /* 0: the image must exist */
} hv_spec_disk;

/* The boot source: a Linux kernel booted directly. kernel "" = none (then all are ""). */
typedef struct hv_spec_boot {
    char kernel[HV_SPEC_MAX_BOOT_PATH + 1]; /* absolute */
    char initrd[HV_SPEC_MAX_BOOT_PATH + 1]; /* absolute, "" for none */
    char cmdline[HV_SPEC_MAX_CMDLINE + 1];  /* "" for none */
} hv_spec_boot;

struct hv_vm_spec {
    char name[HV_SPEC_MAX_NAME + 1];
    unsigned int vcpus;
    uint64_t memory_bytes;
    int firmware;
    unsigned int cores_per_socket;
    unsigned int threads_per_core;
    int vnuma_policy;
    size_t nvnodes, vnodes_cap; /* 0 nodes = automatic */
    hv_spec_vnode *vnodes;
    bool prefer_ht;
    int page_size;
    int cpu_placement;
    size_t naccels, accels_cap;
    hv_spec_accel *accels;
    size_t nnics, nics_cap;
    hv_spec_nic *nics;
    size_t nrdma, rdma_cap;
    hv_spec_rdma *rdma;
    size_t ndisks, disks_cap;
    hv_spec_disk *disks;
    hv_spec_boot boot;
    int guest_phys_bits; /* HV_GUEST_PHYS_BITS_AUTO, _HOST, or 32..64 */
    char profile[32];
};

struct json_object;
/* The spec as a json-c object (NULL on ENOMEM): the canonical JSON form. */
struct json_object *hv_vm_spec_to_json_object(const hv_vm_spec *spec);

/* A copy whose memory comes from `arena` (freed with it, never with hv_vm_spec_free). */
struct hv_arena;
hv_vm_spec *hv_vm_spec_copy_arena(const hv_vm_spec *spec, struct hv_arena *arena);

/* Names of enum values as they appear in JSON; NULL past the end. */
const char *hv_spec_firmware_name(int firmware);
const char *hv_spec_vnuma_policy_name(int policy);
const char *hv_spec_page_size_name(int page_size);
const char *hv_spec_cpu_placement_name(int placement);
const char *hv_spec_accel_mode_name(int mode);
const char *hv_spec_rdma_protocol_name(int protocol);
const char *hv_spec_rdma_mode_name(int mode);
const char *hv_spec_disk_format_name(int format);
const char *hv_spec_disk_bus_name(int bus);
uint64_t hv_spec_page_size_bytes(int page_size); /* 0 for auto */

/* Checks shared by the setters and the JSON reader; `path` names the field. */
int hv_spec_check_name(const char *name, const char *path);
int hv_spec_check_memory(uint64_t bytes, const char *path);

#endif

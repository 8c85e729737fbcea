/*
 * kvm/linux.h - a Linux guest of the built-in engine (internal): its boot
 * source read and checked when the VM is made, the PC platform KVM provides
 * for it (in-kernel interrupt controllers, PIT), the guest's memory and boot
 * vCPU set up at each start, and its devices' port and MMIO accesses. The
 * boot protocol's pure parts are kvm/linux-boot.c, the ACPI tables
 * kvm/acpi.c; docs/linux-guest.md is the guest's view.
 */
#ifndef HV_KVM_LINUX_H
#define HV_KVM_LINUX_H

#include "kvm/acpi.h"
#include "kvm/layout.h"

#include <hpcvirt/vm.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hv_kvm_vm hv_kvm_vm;
typedef struct hv_kvm_vcpu hv_kvm_vcpu;
typedef struct hv_kvm_linux hv_kvm_linux;
typedef struct hv_kvm_disks hv_kvm_disks;
typedef struct hv_spec_disk hv_spec_disk;

/** The longest kernel file and initrd the engine reads. */
#define HV_KVM_LINUX_KERNEL_MAX_BYTES (UINT64_C(512) << 20)
#define HV_KVM_LINUX_INITRD_MAX_BYTES (UINT64_C(2) << 30)
/** The command line when the spec gives none. */
#define HV_KVM_LINUX_DEFAULT_CMDLINE "console=ttyS0 panic=-1"
/** What the engine adds to every command line (docs/linux-guest.md). */
#define HV_KVM_LINUX_ENGINE_CMDLINE "reboot=acpi tsc=reliable"

/** What a Linux guest is made from. */
typedef struct hv_kvm_linux_params {
    const char *kernel;  /**< a bzImage or an ELF vmlinux */
    const char *initrd;  /**< NULL or "": none */
    const char *cmdline; /**< NULL: HV_KVM_LINUX_DEFAULT_CMDLINE */
    hv_kvm_cpu_topology topology;
    const int *distances; /**< node_count x node_count (copied); NULL: 10 local, 20 remote */
    /** opened images (kvm/disks.h; descriptors duplicated); NULL: none */
    const hv_kvm_disks *disks;
    hv_vm_channel_fn channel; /**< what the guest writes to its channel; NULL: dropped */
    void *channel_data;
    /** a guest restored from a snapshot or cloned: its memory holds the kernel already, the
     * files are not read now (only at its next boot) */
    bool restore;
} hv_kvm_linux_params;

/** What a Linux guest was made from, to make another like it (a clone, a resume). */
typedef struct hv_kvm_linux_source {
    const char *kernel;
    const char *initrd;  /**< NULL: none */
    const char *cmdline; /**< NULL: none given (the default) */
    hv_kvm_cpu_topology topology;
    size_t node_count;
    const int *distances; /**< node_count x node_count */
    size_t disk_count;
    const hv_spec_disk *disks;  /**< path, read_only, serial (raw, virtio) */
    const uint64_t *disk_bytes; /**< each image's size when the VM was made */
    hv_vm_channel_fn channel;   /**< its channel's callback (NULL in a snapshot's) */
    void *channel_data;
} hv_kvm_linux_source;

/**
 * Read and check the kernel and initrd, place them in the VM's layout and
 * make its devices (a virtio block device per disk, then the channel's
 * virtio console; device i at HV_KVM_VIRTIO_MMIO_BASE + 4 KiB x i on GSI
 * HV_KVM_VIRTIO_FIRST_GSI + i):
 * every refusal (a file that is not a kernel, an initrd or command line
 * that does not fit, RAM over the device and interrupt controllers' range)
 * comes here, when the VM is made, naming the file and what to do. `vm` is
 * the VM being made (its layout set; its devices reach its memory and KVM
 * interrupt lines through it when the guest runs).
 */
int hv_kvm_linux_new(const hv_kvm_linux_params *params, hv_kvm_vm *vm, hv_kvm_linux **out);
void hv_kvm_linux_free(hv_kvm_linux *linux_guest);
/** What it was made from (pointers into `linux_guest`, valid while it lives). */
void hv_kvm_linux_source_of(const hv_kvm_linux *linux_guest, hv_kvm_linux_source *out);
/**
 * The parameters that make a guest like the one `src` describes, restored
 * (its files not read now), with its disks opened again into `disks`
 * (hv_kvm_disks_reopen(): close them after the VM is made, whatever
 * happened). The channel callback is left for the caller.
 */
int hv_kvm_linux_params_from_source(const hv_kvm_linux_source *src, hv_kvm_linux_params *params,
                                    hv_kvm_disks *disks);
/** The KVM vCPU id (= APIC id) of vCPU `index`. */
uint32_t hv_kvm_linux_vcpu_id(const hv_kvm_linux *linux_guest, uint32_t index);
/** The guest's CPU topology (for its vCPUs' CPUID). */
const hv_kvm_cpu_topology *hv_kvm_linux_topology(const hv_kvm_linux *linux_guest);

/** The PC platform in the new KVM VM `vm_fd`, before its vCPUs: IOAPIC, PICs, PIT. */
int hv_kvm_linux_platform_create(int vm_fd);

/**
 * Lay the guest out in its (fresh, zero) memory - kernel, initrd, command
 * line, zero page, ACPI tables, boot GDT and page tables - and set the boot
 * vCPU's 64-bit ring-0 entry state; the others wait for the guest's
 * INIT/SIPI. A Linux guest that ran boots again this way, in a new KVM VM
 * with fresh memory (vm.c renews it first).
 */
int hv_kvm_linux_prepare(hv_kvm_vm *vm);

/** What a device access means for the vCPU loop. */
typedef enum hv_kvm_linux_outcome {
    HV_KVM_LINUX_CONTINUE, /**< handled: run on */
    HV_KVM_LINUX_EXIT,     /**< the exit port: the VM ends with `code` */
    HV_KVM_LINUX_POWEROFF, /**< ACPI S5: the VM ends (exit code 0 unless the exit port set one) */
    HV_KVM_LINUX_RESET     /**< the guest reset the machine (reboot, or panic=-1) */
} hv_kvm_linux_outcome;

/** A KVM_EXIT_IO of a Linux guest's vCPU; *code is set with HV_KVM_LINUX_EXIT. */
hv_kvm_linux_outcome hv_kvm_linux_port_io(hv_kvm_vcpu *vcpu, int *code);
/** A KVM_EXIT_MMIO of a Linux guest's vCPU. */
hv_kvm_linux_outcome hv_kvm_linux_mmio(hv_kvm_vcpu *vcpu, int *code);

/** Reset its devices for a new boot, as their drivers' resets do. */
void hv_kvm_linux_reset_devices(hv_kvm_linux *linux_guest);

/** A paused guest's machine state beyond its vCPUs and memory, as two snapshot records. */
typedef struct hv_kvm_linux_state {
    uint8_t *platform; /**< PICs, IOAPIC, PIT, clock (kvm/platform-state.h) */
    size_t platform_bytes;
    uint8_t *devices; /**< COM1 and each virtio device (docs/snapshot-format.md, "devices") */
    size_t devices_bytes;
} hv_kvm_linux_state;

/** Read it from a Linux guest whose vCPUs are all out of KVM_RUN. */
int hv_kvm_linux_state_capture(hv_kvm_vm *vm, hv_kvm_linux_state *state);
void hv_kvm_linux_state_clear(hv_kvm_linux_state *state);
/**
 * Into a guest just made, its memory in place: first its interrupt
 * controllers and PIT (before its vCPUs' state, as QEMU orders it), then -
 * after the vCPUs' - its devices and last its clock. HV_E_SNAPSHOT naming
 * `what` for a record that cannot be this guest's.
 */
int hv_kvm_linux_state_restore_platform(hv_kvm_vm *vm, const hv_kvm_linux_state *state,
                                        const char *what);
int hv_kvm_linux_state_restore_devices(hv_kvm_vm *vm, const hv_kvm_linux_state *state,
                                       const char *what);

/** Where its channel's output goes from now on (before it runs: a clone's own). */
void hv_kvm_linux_set_channel(hv_kvm_linux *linux_guest, hv_vm_channel_fn channel, void *data);

/** Send bytes to the guest's channel (hv_vm_channel_send()): *sent of them were taken. */
void hv_kvm_linux_channel_send(hv_kvm_linux *linux_guest, const void *bytes, size_t length,
                               size_t *sent);

#endif

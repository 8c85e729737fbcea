/*
 * kvm/linux.c - a Linux guest of the built-in engine: its kernel, initrd and
 * command line read and placed when the VM is made; the in-kernel
 * interrupt controllers and PIT; at each start the guest's low memory (zero
 * page, command line, ACPI tables, boot GDT, identity page tables), kernel
 * and initrd written and the boot vCPU put at the 64-bit entry; and the
 * port and MMIO accesses of its devices (COM1, the ACPI sleep and reset
 * registers, the exit port, the virtio block devices of its disks;
 * anything else is logged and ignored).
 */
#include "kvm/linux.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "core/log.h"
#include "kvm/engine.h"
#include "kvm/disks.h"
#include "kvm/guest-file.h"
#include "kvm/linux-boot.h"
#include "kvm/uart.h"
#include "kvm/virtio-blk.h"
#include "kvm/virtio-console.h"
#include "kvm/platform-state.h"
#include "kvm/record.h"
#include "plan/spec.h"

#include <errno.h>
#include <hpcvirt/guest.h>
#include <inttypes.h>
#include <linux/kvm.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/* KVM's own pages for VMX (real-mode TSS, EPT identity map): inside the interrupt
 * controllers' range below 4 GiB, which is never RAM. */
#define KVM_TSS_ADDR          UINT64_C(0xFFFBD000)
#define KVM_IDENTITY_MAP_ADDR UINT64_C(0xFFFBC000)
/* The boot GDT: null, null, 64-bit code (selector 0x10), data (0x18), as boot.rst's. */
#define BOOT_CS          0x10
#define BOOT_DS          0x18
#define BOOT_GDT_ENTRIES 4
/* The identity map of the first 4 GiB in 2 MiB pages: PML4, PDPT, four page directories. */
#define PT_PML4     HV_LINUX_PAGE_TABLES_ADDR
#define PT_PDPT     (HV_LINUX_PAGE_TABLES_ADDR + 0x1000)
#define PT_PD       (HV_LINUX_PAGE_TABLES_ADDR + 0x2000)
#define PT_PRESENT  UINT64_C(0x1)
#define PT_WRITE    UINT64_C(0x2)
#define PT_HUGE     UINT64_C(0x80)
#define BOOT_STACK  (HV_LINUX_ZERO_PAGE_ADDR - 16) /* below the zero page, until the kernel's */
#define CR0_PE      (1u << 0)
#define CR0_MP      (1u << 1)
#define CR0_ET      (1u << 4)
#define CR0_NE      (1u << 5)
#define CR0_PG      (1u << 31)
#define CR4_PAE     (1u << 5)
#define EFER_LME    (1u << 8)
#define EFER_LMA    (1u << 10)
#define MAX_CMDLINE 4096

/* A virtio device's interrupt line: KVM_IRQ_LINE on its GSI of the VM. */
typedef struct virtio_line {
    hv_kvm_vm *vm;
    uint32_t gsi;
} virtio_line;

_Static_assert(HV_KVM_VIRTIO_MMIO_BASE >= HV_LINUX_HOLE_BASE &&
                   HV_KVM_VIRTIO_MMIO_BASE +
                           HV_KVM_VIRTIO_MAX_DEVICES * HV_VIRTIO_MMIO_WINDOW_BYTES <=
                       HV_KVM_IOAPIC_ADDR,
               "the virtio devices' windows start the devices' hole and end below the IOAPIC");

struct hv_kvm_linux {
    /* the files, read when the VM is made and at each start, no copy kept between */
    char *kernel_path, *initrd_path; /* initrd_path NULL: none */
    uint8_t *kernel_file;
    size_t kernel_file_bytes;
    uint8_t *initrd;
    size_t initrd_bytes;
    char cmdline[MAX_CMDLINE];
    char *user_cmdline; /* as given (NULL: none), for clones and snapshots */
    hv_linux_kernel kernel;
    hv_kvm_cpu_topology topology;
    size_t node_count;
    int *distances; /* node_count x node_count */
    /* devices: accessed by every vCPU thread, under the lock (then the VM's lock, never
     * the other way) */
    pthread_mutex_t lock;
    hv_kvm_uart uart;
    uint64_t unclaimed_logged; /* accesses no device claims, logged up to a bound */
    /* virtio devices: device i's registers at HV_KVM_VIRTIO_MMIO_BASE + 4 KiB x i (each has
     * its own lock) */
    size_t virtio_count;
    hv_virtio_mmio *virtio[HV_KVM_VIRTIO_MAX_DEVICES];
    virtio_line lines[HV_KVM_VIRTIO_MAX_DEVICES];
    hv_virtio_console *channel; /* the last device's (its transport owns it) */
    hv_vm_channel_fn channel_fn;
    void *channel_data;
    /* the disks as given, for clones and snapshots */
    size_t disk_count;
    hv_spec_disk disks[HV_KVM_MAX_DISKS];
    uint64_t disk_bytes[HV_KVM_MAX_DISKS];
};

void hv_kvm_linux_free(hv_kvm_linux *l)
{
    if (!l)
        return;
    free(l->kernel_file);
    free(l->initrd);
    free(l->kernel_path);
    free(l->initrd_path);
    free(l->user_cmdline);
    free(l->distances);
    for (size_t i = 0; i < l->virtio_count; i++)
        hv_virtio_mmio_free(l->virtio[i]);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Set an ISA IRQ line or IOAPIC pin (GSI) of the in-kernel PICs and IOAPIC. */
static void irq_line(hv_kvm_vm *vm, uint32_t irq, bool level)
{
    struct kvm_irq_level line = {.irq = irq, .level = level};

    if (ioctl(vm->fd, KVM_IRQ_LINE, &line) < 0)
        hv_log_warning("linux", "%s: setting IRQ %u to %d failed: %s", vm->name, irq, level,
                       strerror(errno));
}

static void virtio_irq(void *ctx, bool level)
{
    const virtio_line *line = ctx;

    irq_line(line->vm, line->gsi, level);
}

static uint8_t *guest_memory(void *ctx, uint64_t addr, uint64_t bytes)
{
    return hv_kvm_vm_guest_ptr(ctx, addr, bytes);
}

/* The next device's interrupt line. */
static virtio_line *next_line(hv_kvm_linux *l, hv_kvm_vm *vm)
{
    virtio_line *line = &l->lines[l->virtio_count];

    line->vm = vm;
    line->gsi = HV_KVM_VIRTIO_FIRST_GSI + (uint32_t)l->virtio_count;
    return line;
}

/* The channel device's output: the guest wrote these bytes to /dev/hvc0. */
static void channel_output(void *ctx, const uint8_t *bytes, size_t len)
{
    const hv_kvm_linux *l = ctx;

    if (l->channel_fn)
        l->channel_fn(l->channel_data, bytes, len);
}

/* The channel: a virtio console, the device after the disks. */
static int make_channel_device(hv_kvm_linux *l, hv_kvm_vm *vm)
{
    hv_virtio_console_params cp;
    int rc;

    memset(&cp, 0, sizeof(cp));
    cp.name = "channel";
    cp.guest_ptr = guest_memory;
    cp.guest_ctx = vm;
    cp.irq = virtio_irq;
    cp.irq_ctx = next_line(l, vm);
    cp.output = channel_output;
    cp.output_ctx = l;
    cp.input_limit_bytes = HV_VM_CHANNEL_QUEUE_BYTES;
    if ((rc = hv_virtio_console_new(&cp, &l->virtio[l->virtio_count], &l->channel)) < 0)
        return rc;
    l->virtio_count++;
    return 0;
}

/* A disk as given and its image's size now, for a clone or a resume to open it again. */
static int remember_disk(hv_kvm_linux *l, const hv_kvm_disk *disk, size_t i)
{
    hv_spec_disk *d = &l->disks[i];
    struct stat st;

    memset(d, 0, sizeof(*d));
    if (strlen(disk->path) >= sizeof(d->path) ||
        strlen(disk->serial ? disk->serial : "") >= sizeof(d->serial))
        return hv_error_set(HV_E_RANGE, "disks", "disks[%zu]: its path or serial is too long", i);
    hv_format(d->path, sizeof(d->path), "%s", disk->path);
    hv_format(d->serial, sizeof(d->serial), "%s", disk->serial ? disk->serial : "");
    d->read_only = disk->read_only;
    d->format = HV_DISK_FORMAT_RAW;
    d->bus = HV_DISK_BUS_VIRTIO;
    if (fstat(disk->fd, &st) < 0)
        return hv_error_set(HV_E_IO, "disks", "disks[%zu]: fstat failed: %s", i, strerror(errno));
    l->disk_bytes[i] = (uint64_t)st.st_size;
    l->disk_count = i + 1;
    return 0;
}

/* A virtio block device for each disk, in the spec's order (the guest's vda, vdb, ...). */
static int make_disk_devices(hv_kvm_linux *l, hv_kvm_vm *vm, const hv_kvm_disks *disks)
{
    for (size_t i = 0; disks && i < disks->count; i++) {
        hv_virtio_blk_params bp;
        char name[16];
        int rc;

        hv_format(name, sizeof(name), "disk%zu", i);
        memset(&bp, 0, sizeof(bp));
        bp.name = name;
        bp.fd = disks->disk[i].fd;
        bp.read_only = disks->disk[i].read_only;
        bp.serial = disks->disk[i].serial;
        bp.guest_ptr = guest_memory;
        bp.guest_ctx = vm;
        bp.irq = virtio_irq;
        bp.irq_ctx = next_line(l, vm);
        if ((rc = hv_virtio_blk_new(&bp, &l->virtio[i])) < 0)
            return rc;
        l->virtio_count = i + 1;
        if ((rc = remember_disk(l, &disks->disk[i], i)) < 0)
            return rc;
    }
    return 0;
}

/*
 * Drop the files' bytes (they are in guest memory, or were only checked),
 * and give the memory back to the system: ~10 MiB of kernel and initrd that
 * malloc would otherwise keep in its heap for the process's life.
 */
static void drop_boot_files(hv_kvm_linux *l)
{
    bool had = l->kernel_file || l->initrd;

    free(l->kernel_file);
    free(l->initrd);
    l->kernel_file = l->initrd = NULL;
    l->kernel_file_bytes = 0;
#ifdef __GLIBC__
    if (had)
        malloc_trim(0);
#else
    (void)had;
#endif
}

/*
 * Read the kernel and initrd, check the kernel and place everything in the
 * layout: when the VM is made (every refusal comes then) and at each start
 * (the process keeps no copy of the files while the guest runs).
 */
static int read_boot_files(hv_kvm_linux *l, const hv_kvm_layout *layout,
                           hv_linux_placement *placement)
{
    int rc;

    drop_boot_files(l);
    l->initrd_bytes = 0;
    if ((rc = hv_kvm_guest_file_read(l->kernel_path, "kernel", HV_KVM_LINUX_KERNEL_MAX_BYTES,
                                     &l->kernel_file, &l->kernel_file_bytes)) < 0 ||
        (rc = hv_linux_kernel_parse(l->kernel_file, l->kernel_file_bytes, l->kernel_path,
                                    &l->kernel)) < 0)
        goto fail;
    if (l->kernel.entry_kind == HV_LINUX_ENTRY_PVH) {
        /* vCPU 0 starts in 64-bit mode: a vmlinux's e_entry (startup_64, physical) takes
         * that, with the zero page in rsi; its PVH entry wants 32-bit mode */
        l->kernel.entry = l->kernel.elf.entry;
        l->kernel.entry_kind = HV_LINUX_ENTRY_64;
    }
    if (l->initrd_path &&
        (rc = hv_kvm_guest_file_read(l->initrd_path, "initrd", HV_KVM_LINUX_INITRD_MAX_BYTES,
                                     &l->initrd, &l->initrd_bytes)) < 0)
        goto fail;
    if ((rc = hv_linux_place(&l->kernel, layout, strlen(l->cmdline), l->initrd_bytes, placement)) <
        0)
        goto fail;
    return 0;
fail:
    drop_boot_files(l);
    return rc;
}

int hv_kvm_linux_new(const hv_kvm_linux_params *p, hv_kvm_vm *vm, hv_kvm_linux **out)
{
    const hv_kvm_layout *layout = &vm->layout;
    hv_kvm_linux *l;
    hv_linux_placement placement;
    size_t n = layout->node_count;
    int rc;

    *out = NULL;
    if (!p->kernel || !*p->kernel)
        return hv_error_set(HV_E_INVAL, "boot.kernel", "a Linux guest needs a kernel file");
    if (p->cmdline && strlen(p->cmdline) + sizeof(" " HV_KVM_LINUX_ENGINE_CMDLINE) > MAX_CMDLINE)
        return hv_error_set(HV_E_RANGE, "boot.cmdline",
                            "the kernel command line has %zu bytes: the built-in engine takes at "
                            "most %zu",
                            strlen(p->cmdline),
                            MAX_CMDLINE - sizeof(" " HV_KVM_LINUX_ENGINE_CMDLINE));
    if (!(l = hv_calloc(1, sizeof(*l))))
        return HV_E_NOMEM;
    pthread_mutex_init(&l->lock, NULL);
    l->topology = p->topology;
    l->channel_fn = p->channel;
    l->channel_data = p->channel_data;
    l->node_count = n;
    if (!(l->distances = hv_reallocarray(NULL, n * n, sizeof(int)))) {
        rc = HV_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n * n; i++)
        l->distances[i] = p->distances ? p->distances[i] : i / n == i % n ? 10 : 20;
    hv_format(l->cmdline, sizeof(l->cmdline), "%s %s",
              p->cmdline ? p->cmdline : HV_KVM_LINUX_DEFAULT_CMDLINE, HV_KVM_LINUX_ENGINE_CMDLINE);
    if (!(l->kernel_path = hv_strdup(p->kernel)) ||
        (p->cmdline && !(l->user_cmdline = hv_strdup(p->cmdline))) ||
        (p->initrd && *p->initrd && !(l->initrd_path = hv_strdup(p->initrd)))) {
        rc = HV_E_NOMEM;
        goto fail;
    }
    /* everything that can not fit is said now, not at the start (a restored guest's
     * kernel is in its memory already: its files are read at its next boot) */
    if ((!p->restore && (rc = read_boot_files(l, layout, &placement)) < 0) ||
        (rc = make_disk_devices(l, vm, p->disks)) < 0 || (rc = make_channel_device(l, vm)) < 0)
        goto fail;
    drop_boot_files(l);
    *out = l;
    return 0;
fail:
    hv_kvm_linux_free(l);
    return rc;
}

void hv_kvm_linux_source_of(const hv_kvm_linux *l, hv_kvm_linux_source *out)
{
    memset(out, 0, sizeof(*out));
    out->kernel = l->kernel_path;
    out->initrd = l->initrd_path;
    out->cmdline = l->user_cmdline;
    out->topology = l->topology;
    out->node_count = l->node_count;
    out->distances = l->distances;
    out->disk_count = l->disk_count;
    out->disks = l->disks;
    out->disk_bytes = l->disk_bytes;
    out->channel = l->channel_fn;
    out->channel_data = l->channel_data;
}

int hv_kvm_linux_params_from_source(const hv_kvm_linux_source *src, hv_kvm_linux_params *p,
                                    hv_kvm_disks *disks)
{
    int rc = hv_kvm_disks_reopen(src->disks, src->disk_bytes, src->disk_count, disks);

    memset(p, 0, sizeof(*p));
    if (rc < 0)
        return rc;
    p->kernel = src->kernel;
    p->initrd = src->initrd;
    p->cmdline = src->cmdline;
    p->topology = src->topology;
    p->distances = src->distances;
    p->disks = disks;
    p->restore = true;
    p->channel = src->channel;
    p->channel_data = src->channel_data;
    return 0;
}

uint32_t hv_kvm_linux_vcpu_id(const hv_kvm_linux *l, uint32_t index)
{
    return hv_kvm_apic_id(&l->topology, index);
}

const hv_kvm_cpu_topology *hv_kvm_linux_topology(const hv_kvm_linux *l)
{
    return &l->topology;
}

int hv_kvm_linux_platform_create(int vm_fd)
{
    struct kvm_pit_config pit;
    uint64_t identity = KVM_IDENTITY_MAP_ADDR;

    memset(&pit, 0, sizeof(pit));
    if (ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
        ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
        return hv_error_set(HV_E_IO, NULL, "reserving KVM's pages below 4 GiB failed: %s",
                            strerror(errno));
    if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "this KVM cannot give a Linux guest its interrupt controllers "
                            "(KVM_CREATE_IRQCHIP: %s)",
                            strerror(errno));
    if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "this KVM cannot give a Linux guest its timer (KVM_CREATE_PIT2: %s)",
                            strerror(errno));
    return 0;
}

/* ---- each start ---------------------------------------------------------------- */

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* The boot GDT and the identity map of the first 4 GiB; *cr3 is the PML4. */
static int write_boot_tables(hv_kvm_vm *vm, uint64_t *cr3)
{
    static const uint64_t gdt[BOOT_GDT_ENTRIES] = {
        0, 0, UINT64_C(0x00AF9B000000FFFF), /* 0x10: code, 64-bit, ring 0 */
        UINT64_C(0x00CF93000000FFFF),       /* 0x18: data, flat 4 GiB */
    };
    uint8_t *g = hv_kvm_vm_guest_ptr(vm, HV_LINUX_BOOT_GDT_ADDR, sizeof(gdt));
    uint8_t *pt = hv_kvm_vm_guest_ptr(vm, PT_PML4, PT_PD + 4 * 0x1000 - PT_PML4);

    if (!g || !pt)
        return hv_error_set(HV_E_INTERNAL, NULL, "vNUMA node 0 does not hold the boot tables");
    memcpy(g, gdt, sizeof(gdt));
    memset(pt, 0, PT_PD + 4 * 0x1000 - PT_PML4);
    put64(pt, PT_PDPT | PT_PRESENT | PT_WRITE);
    for (uint64_t i = 0; i < 4; i++) {
        put64(pt + (PT_PDPT - PT_PML4) + 8 * i, (PT_PD + 0x1000 * i) | PT_PRESENT | PT_WRITE);
        for (uint64_t e = 0; e < 512; e++)
            put64(pt + (PT_PD - PT_PML4) + 0x1000 * i + 8 * e,
                  ((i << 30) | (e << 21)) | PT_PRESENT | PT_WRITE | PT_HUGE);
    }
    *cr3 = PT_PML4;
    return 0;
}

static void boot_segment(struct kvm_segment *seg, uint16_t selector, bool code)
{
    memset(seg, 0, sizeof(*seg));
    seg->limit = 0xFFFFFFFF;
    seg->selector = selector;
    seg->type = code ? 11 : 3; /* execute/read, accessed; read/write, accessed */
    seg->present = 1;
    seg->s = 1;
    seg->g = 1;
    seg->l = code;
    seg->db = !code;
}

/* vCPU 0 (APIC id 0, the bootstrap processor) at the kernel's 64-bit entry. */
static int boot_vcpu_setup(hv_kvm_vcpu *vcpu, uint64_t cr3, uint64_t entry)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    struct kvm_fpu fpu;

    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
        return hv_error_set(HV_E_IO, NULL, "reading vCPU 0's registers failed: %s",
                            strerror(errno));
    boot_segment(&sregs.cs, BOOT_CS, true);
    boot_segment(&sregs.ds, BOOT_DS, false);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt.base = HV_LINUX_BOOT_GDT_ADDR;
    sregs.gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
    sregs.cr3 = cr3;
    sregs.cr4 = CR4_PAE;
    sregs.efer = EFER_LME | EFER_LMA;
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
        return hv_error_set(HV_E_IO, NULL,
                            "putting vCPU 0 in 64-bit mode at ring 0 failed: %s (KVM refused "
                            "the control registers)",
                            strerror(errno));
    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37F;
    fpu.mxcsr = 0x1F80;
    if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
        return hv_error_set(HV_E_IO, NULL, "setting vCPU 0's FPU state failed: %s",
                            strerror(errno));
    memset(&regs, 0, sizeof(regs));
    regs.rip = entry;
    regs.rsi = HV_LINUX_ZERO_PAGE_ADDR;
    regs.rsp = BOOT_STACK;
    regs.rflags = 2; /* the reserved bit; interrupts off */
    if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
        return hv_error_set(HV_E_IO, NULL, "setting vCPU 0's registers failed: %s",
                            strerror(errno));
    return 0;
}

/* The machine the ACPI tables describe: the layout's nodes, the plan's distances, the devices. */
static int acpi_machine(const hv_kvm_linux *l, const hv_kvm_layout *layout,
                        hv_kvm_acpi_machine *machine)
{
    int rc = hv_kvm_acpi_machine_from_layout(machine, layout, l->distances, &l->topology);

    machine->virtio_count = l->virtio_count;
    for (size_t i = 0; i < l->virtio_count; i++) {
        machine->virtio[i].base = HV_KVM_VIRTIO_MMIO_BASE + i * HV_VIRTIO_MMIO_WINDOW_BYTES;
        machine->virtio[i].gsi = l->lines[i].gsi;
    }
    return rc;
}

int hv_kvm_linux_prepare(hv_kvm_vm *vm)
{
    hv_kvm_linux *l = vm->linux_guest;
    hv_linux_placement placement;
    hv_linux_boot_params *bp = NULL;
    hv_kvm_acpi_machine machine;
    hv_kvm_acpi_tables tables;
    uint8_t *acpi;
    uint64_t cr3 = 0;
    int rc;

    acpi = hv_kvm_vm_guest_ptr(vm, HV_KVM_ACPI_BIOS_BASE,
                               HV_KVM_ACPI_BIOS_END - HV_KVM_ACPI_BIOS_BASE);
    if (!acpi)
        return hv_error_set(HV_E_INTERNAL, NULL, "vNUMA node 0 does not hold the BIOS area");
    if (!(bp = hv_calloc(1, sizeof(*bp))))
        return HV_E_NOMEM;
    if ((rc = acpi_machine(l, &vm->layout, &machine)) < 0 ||
        (rc = hv_kvm_acpi_build(&machine, HV_KVM_ACPI_BIOS_BASE, acpi,
                                HV_KVM_ACPI_BIOS_END - HV_KVM_ACPI_BIOS_BASE, &tables)) < 0 ||
        (rc = read_boot_files(l, &vm->layout, &placement)) < 0 ||
        (rc = hv_linux_boot_params_build(bp, &l->kernel, &vm->layout, &placement)) < 0)
        goto out;
    bp->acpi_rsdp_addr = tables.rsdp;
    if ((rc = hv_linux_load(l->kernel_file, l->kernel_file_bytes, &l->kernel, &placement,
                            l->cmdline, l->initrd, bp, hv_kvm_vm_guest_ptr, vm)) < 0 ||
        (rc = write_boot_tables(vm, &cr3)) < 0 ||
        (rc = boot_vcpu_setup(&vm->vcpus[0], cr3, placement.entry)) < 0)
        goto out;
    hv_log_debug("linux",
                 "%s: kernel at 0x%" PRIx64 " (entry 0x%" PRIx64 "), initrd %" PRIu64
                 " bytes at 0x%" PRIx64 ", ACPI at 0x%" PRIx64 ", command line '%s'",
                 vm->name, placement.kernel_addr, placement.entry, placement.initrd_bytes,
                 placement.initrd_addr, tables.rsdp, l->cmdline);
    pthread_mutex_lock(&l->lock);
    hv_kvm_uart_init(&l->uart);
    pthread_mutex_unlock(&l->lock);
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        vm->vcpus[i].stopped = false;
        vm->vcpus[i].status = 0;
    }
out:
    drop_boot_files(l);
    free(bp);
    return rc;
}

/* ---- devices ------------------------------------------------------------------- */

#define UNCLAIMED_LOG_MAX 32 /* accesses to nothing logged per VM, then silence */
#define I8042_COMMAND     0x64
#define I8042_RESET       0xFE

/* An access no device claims: logged (the first few), reads see all ones, writes vanish. */
static void unclaimed(hv_kvm_vcpu *vcpu, const char *kind, uint64_t addr, bool write,
                      unsigned int size)
{
    hv_kvm_linux *l = vcpu->vm->linux_guest;
    uint64_t n;

    pthread_mutex_lock(&l->lock);
    n = l->unclaimed_logged++;
    pthread_mutex_unlock(&l->lock);
    if (n < UNCLAIMED_LOG_MAX)
        hv_log_debug("linux", "%s: vCPU %u: a %u-byte %s %s 0x%" PRIx64 " that no device claims%s",
                     vcpu->vm->name, vcpu->index, size, write ? "write to" : "read from", kind,
                     addr, n + 1 == UNCLAIMED_LOG_MAX ? " (no more such accesses are logged)" : "");
}

static uint32_t little_endian(const uint8_t *data, unsigned int size)
{
    uint32_t v = 0;

    for (unsigned int i = 0; i < size && i < 4; i++)
        v |= (uint32_t)data[i] << (8 * i);
    return v;
}

/* COM1, one byte of the access at a time; the UART is the VM's, its calls serialized. */
static void serial_io(hv_kvm_vcpu *vcpu, uint16_t offset, bool out, uint8_t *data,
                      unsigned int size)
{
    hv_kvm_linux *l = vcpu->vm->linux_guest;

    pthread_mutex_lock(&l->lock);
    for (unsigned int i = 0; i < size; i++) {
        hv_kvm_uart_effect effect;

        /* byte i of a wider access is the next register's */
        if (hv_kvm_uart_io(&l->uart, (uint16_t)(offset + i), out, &data[i], &effect) < 0)
            break;
        if (effect.tx)
            hv_kvm_vm_console_write(vcpu->vm, &effect.tx_byte, 1);
        if (effect.irq_change)
            irq_line(vcpu->vm, HV_KVM_COM1_IRQ, effect.irq_level);
    }
    pthread_mutex_unlock(&l->lock);
}

hv_kvm_linux_outcome hv_kvm_linux_port_io(hv_kvm_vcpu *vcpu, int *code)
{
    struct kvm_run *run = vcpu->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    uint16_t port = run->io.port;
    bool out = run->io.direction == KVM_EXIT_IO_OUT;
    unsigned int size = run->io.size;
    hv_kvm_linux_outcome outcome = HV_KVM_LINUX_CONTINUE;

    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        uint32_t value = out ? little_endian(data, size) : 0;

        if (port >= HV_KVM_COM1_PORT && port < HV_KVM_COM1_PORT + 8) {
            serial_io(vcpu, (uint16_t)(port - HV_KVM_COM1_PORT), out, data, size);
            continue;
        }
        if (!out)
            memset(data, port == HV_KVM_ACPI_SLEEP_STATUS_PORT ? 0 : 0xFF, size);
        if (out && port == HV_GUEST_PORT_EXIT && outcome == HV_KVM_LINUX_CONTINUE) {
            *code = (int)value;
            outcome = HV_KVM_LINUX_EXIT;
        } else if (out && port == HV_KVM_ACPI_SLEEP_CONTROL_PORT) {
            /* SLP_EN with SLP_TYP 5 (\_S5): off; other sleep states are not offered */
            if ((value & HV_KVM_ACPI_SLP_EN) && ((value >> 2) & 7) == HV_KVM_ACPI_SLP_TYP_S5 &&
                outcome == HV_KVM_LINUX_CONTINUE) {
                *code = 0;
                outcome = HV_KVM_LINUX_POWEROFF;
            }
        } else if (out && ((port == HV_KVM_ACPI_RESET_PORT && value == HV_KVM_ACPI_RESET_VALUE) ||
                           (port == I8042_COMMAND && value == I8042_RESET))) {
            if (outcome == HV_KVM_LINUX_CONTINUE)
                outcome = HV_KVM_LINUX_RESET;
        } else if (port != HV_KVM_ACPI_SLEEP_STATUS_PORT &&
                   port != HV_KVM_ACPI_SLEEP_CONTROL_PORT && port != HV_KVM_ACPI_RESET_PORT) {
            unclaimed(vcpu, "port", port, out, size);
        }
    }
    return outcome;
}

hv_kvm_linux_outcome hv_kvm_linux_mmio(hv_kvm_vcpu *vcpu, int *code)
{
    struct kvm_run *run = vcpu->run;
    hv_kvm_linux *l = vcpu->vm->linux_guest;
    uint64_t addr = run->mmio.phys_addr;

    (void)code;
    if (addr >= HV_KVM_VIRTIO_MMIO_BASE &&
        addr - HV_KVM_VIRTIO_MMIO_BASE < l->virtio_count * HV_VIRTIO_MMIO_WINDOW_BYTES &&
        run->mmio.len <= sizeof(run->mmio.data)) {
        uint64_t offset = addr - HV_KVM_VIRTIO_MMIO_BASE;

        /* an access across two windows is the first one's: it reads 0 past the registers */
        hv_virtio_mmio_access(l->virtio[offset / HV_VIRTIO_MMIO_WINDOW_BYTES],
                              offset % HV_VIRTIO_MMIO_WINDOW_BYTES, run->mmio.is_write,
                              run->mmio.data, run->mmio.len);
        return HV_KVM_LINUX_CONTINUE;
    }
    if (!run->mmio.is_write)
        memset(run->mmio.data, 0xFF, sizeof(run->mmio.data));
    unclaimed(vcpu, "guest physical", run->mmio.phys_addr, run->mmio.is_write, run->mmio.len);
    return HV_KVM_LINUX_CONTINUE;
}

void hv_kvm_linux_reset_devices(hv_kvm_linux *l)
{
    /* what a driver's reset does: status 0 (the channel keeps what the host queued) */
    for (size_t i = 0; i < l->virtio_count; i++) {
        uint8_t zero[4] = {0};

        hv_virtio_mmio_access(l->virtio[i], HV_VIRTIO_MMIO_STATUS, true, zero, sizeof(zero));
    }
}

void hv_kvm_linux_set_channel(hv_kvm_linux *l, hv_vm_channel_fn channel, void *data)
{
    l->channel_fn = channel;
    l->channel_data = data;
}

void hv_kvm_linux_channel_send(hv_kvm_linux *l, const void *bytes, size_t length, size_t *sent)
{
    *sent = l->channel ? hv_virtio_console_send(l->channel, bytes, length) : 0;
}

/* ---- state (snapshots, clones) ------------------------------------------------------ */

#define DEVICES_MAGIC   0x53564544u /* "DEVS" */
#define DEVICES_VERSION 1u
#define BLOCK_UART      1u
#define BLOCK_VIRTIO    16u /* + the device's index */

/* Its devices' state (COM1, each virtio device) as a snapshot's devices record
 * (docs/snapshot-format.md, "devices"), read with every vCPU out of KVM_RUN. */
static int devices_encode(hv_kvm_linux *l, uint8_t **buf, size_t *bytes)
{
    uint8_t uart[HV_KVM_UART_STATE_BYTES];
    uint8_t *blobs[HV_KVM_VIRTIO_MAX_DEVICES] = {NULL};
    size_t blob_bytes[HV_KVM_VIRTIO_MAX_DEVICES] = {0};
    size_t cap = HV_RECORD_HEADER_BYTES + 8 + sizeof(uart);
    hv_record_writer w = {NULL, 0};
    int rc = 0;

    pthread_mutex_lock(&l->lock);
    hv_kvm_uart_state_encode(&l->uart, uart);
    pthread_mutex_unlock(&l->lock);
    for (size_t i = 0; i < l->virtio_count && rc == 0; i++) {
        rc = hv_virtio_mmio_state_encode(l->virtio[i], &blobs[i], &blob_bytes[i]);
        cap += 8 + blob_bytes[i];
        if (rc == 0 && blob_bytes[i] > UINT32_MAX)
            rc = hv_error_set(HV_E_INTERNAL, NULL, "a device's state is over 4 GiB");
    }
    if (rc == 0 && !(w.buf = hv_calloc(1, cap)))
        rc = HV_E_NOMEM;
    if (rc == 0) {
        hv_record_put_header(&w, DEVICES_MAGIC, DEVICES_VERSION, 0);
        hv_record_put_block(&w, BLOCK_UART, uart, sizeof(uart));
        for (size_t i = 0; i < l->virtio_count; i++)
            hv_record_put_block(&w, BLOCK_VIRTIO + (uint32_t)i, blobs[i], (uint32_t)blob_bytes[i]);
        *buf = w.buf;
        *bytes = w.len;
    }
    for (size_t i = 0; i < l->virtio_count; i++)
        free(blobs[i]);
    return rc;
}

/* Put the devices of a guest just made (memory in place, interrupt controllers restored) in
 * the state of a record: HV_E_SNAPSHOT naming `what`, the device and the field when the
 * record is not one of these devices' (a device missing or extra, a blob refused). */
static int devices_decode(hv_kvm_vm *vm, const void *buf, size_t bytes, const char *what)
{
    hv_kvm_linux *l = vm->linux_guest;
    const uint8_t *p = buf;
    uint32_t index = 0;
    bool have_uart = false, have_virtio[HV_KVM_VIRTIO_MAX_DEVICES] = {false};
    size_t at = HV_RECORD_HEADER_BYTES;
    char reason[768];

    if (hv_record_check_header(buf, bytes, DEVICES_MAGIC, "DEVS", DEVICES_VERSION, what, &index) <
        0)
        return HV_E_SNAPSHOT;
    for (;;) {
        uint32_t kind = 0, size = 0;
        const uint8_t *data = NULL;
        int more = hv_record_next(p, bytes, &at, what, &kind, &size, &data), rc;

        if (more == 0)
            break;
        if (more < 0)
            return more;
        if (kind == BLOCK_UART && !have_uart) {
            pthread_mutex_lock(&l->lock);
            rc = hv_kvm_uart_state_decode(&l->uart, data, size);
            /* its line as the UART left it (the virtio devices raise theirs themselves) */
            if (rc == 0 && l->uart.irq)
                irq_line(vm, HV_KVM_COM1_IRQ, true);
            pthread_mutex_unlock(&l->lock);
            have_uart = true;
        } else if (kind >= BLOCK_VIRTIO && kind - BLOCK_VIRTIO < l->virtio_count &&
                   !have_virtio[kind - BLOCK_VIRTIO]) {
            rc = hv_virtio_mmio_state_decode(l->virtio[kind - BLOCK_VIRTIO], data, size);
            have_virtio[kind - BLOCK_VIRTIO] = true;
        } else {
            return hv_error_set(HV_E_SNAPSHOT, NULL,
                                "%s: block %u is a device this guest does not have, or one given "
                                "twice: the snapshot is corrupted",
                                what, kind);
        }
        if (rc < 0) {
            hv_format(reason, sizeof(reason), "%s", hv_error_message(hv_error_last()));
            return hv_error_set(HV_E_SNAPSHOT, NULL, "%s: %s", what, reason);
        }
    }
    if (!have_uart)
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "%s: the record lacks COM1's state: the snapshot is corrupted", what);
    for (size_t i = 0; i < l->virtio_count; i++)
        if (!have_virtio[i])
            return hv_error_set(HV_E_SNAPSHOT, NULL,
                                "%s: the record lacks virtio device %zu's state: the snapshot is "
                                "corrupted",
                                what, i);
    return 0;
}

int hv_kvm_linux_state_capture(hv_kvm_vm *vm, hv_kvm_linux_state *out)
{
    hv_kvm_platform_state platform;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = hv_kvm_platform_state_get(vm->fd, &platform)) < 0 ||
        (rc = hv_kvm_platform_state_encode(&platform, &out->platform, &out->platform_bytes)) < 0 ||
        (rc = devices_encode(vm->linux_guest, &out->devices, &out->devices_bytes)) < 0)
        hv_kvm_linux_state_clear(out);
    return rc;
}

void hv_kvm_linux_state_clear(hv_kvm_linux_state *s)
{
    free(s->platform);
    free(s->devices);
    memset(s, 0, sizeof(*s));
}

int hv_kvm_linux_state_restore_platform(hv_kvm_vm *vm, const hv_kvm_linux_state *s,
                                        const char *what)
{
    hv_kvm_platform_state platform;
    char section[600];
    int rc;

    hv_format(section, sizeof(section), "%s: section platform", what);
    rc = hv_kvm_platform_state_decode(s->platform, s->platform_bytes, section, &platform);
    return rc < 0 ? rc : hv_kvm_platform_state_set(vm->fd, &platform);
}

int hv_kvm_linux_state_restore_devices(hv_kvm_vm *vm, const hv_kvm_linux_state *s, const char *what)
{
    hv_kvm_platform_state platform;
    char section[600], devices[600];
    int rc;

    hv_format(section, sizeof(section), "%s: section platform", what);
    hv_format(devices, sizeof(devices), "%s: section devices", what);
    if ((rc = hv_kvm_platform_state_decode(s->platform, s->platform_bytes, section, &platform)) <
            0 ||
        (rc = devices_decode(vm, s->devices, s->devices_bytes, devices)) < 0)
        return rc;
    return hv_kvm_platform_clock_set(vm->fd, &platform);
}

/*
 * guest/runtime/runtime.c - the guest runtime's core (hv_guest.h): the
 * _start entry, the boot-info check, the port-I/O calls (console, exit,
 * vCPU stop, progress), the barrier, the spin lock and the boot-info helpers.
 * Runs at CPL 3 with IOPL 3 (docs/guest-abi.md): OUT works, HLT does not.
 */
#include "hv_guest.h"

#include <stdbool.h>

/*
 * Every vCPU enters here with rdi = vCPU index, rsi = boot info and rsp =
 * stack top - 8. The ABI makes that a valid C entry already; aligning rsp
 * again costs nothing and keeps SSE spills safe if an engine got it wrong.
 * hv_runtime_start never returns; ud2 (a triple fault) guards the return.
 */
__asm__(".pushsection .text.start, \"ax\", @progbits\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    xorl %ebp, %ebp\n"
        "    andq $-16, %rsp\n"
        "    call hv_runtime_start\n"
        "    ud2\n"
        ".size _start, . - _start\n"
        ".popsection\n");

/* The boot-info layout docs/guest-abi.md gives, byte for byte (guest ABI v1). */
_Static_assert(sizeof(hv_guest_boot_info) == 112, "boot info header is 112 bytes");
_Static_assert(sizeof(hv_guest_boot_node) == 56, "boot node record is 56 bytes");
_Static_assert(offsetof(hv_guest_boot_info, total_bytes) == 8, "total_bytes at 8");
_Static_assert(offsetof(hv_guest_boot_info, memory_bytes) == 24, "memory_bytes at 24");
_Static_assert(offsetof(hv_guest_boot_info, generation) == 72, "generation at 72");
_Static_assert(offsetof(hv_guest_boot_node, first_vcpu) == 32, "first_vcpu at 32");
_Static_assert(offsetof(hv_guest_boot_node, host_node) == 48, "host_node at 48");

__attribute__((noreturn, used)) void hv_runtime_start(uint32_t vcpu,
                                                      const hv_guest_boot_info *info);

static uint32_t boot_complaint; /* the first vCPU to find bad boot info reports it */

/* The reason the boot info cannot be used, or NULL. */
static const char *boot_info_problem(uint32_t vcpu, const hv_guest_boot_info *info)
{
    if (info->magic != HV_GUEST_BOOT_MAGIC)
        return "bad magic";
    if (info->version != HV_GUEST_ABI_VERSION)
        return "unsupported version";
    if (info->header_bytes < sizeof(hv_guest_boot_info))
        return "header_bytes too small";
    if (info->node_bytes < sizeof(hv_guest_boot_node))
        return "node_bytes too small";
    if (info->node_count == 0)
        return "no vNUMA nodes";
    if (info->total_bytes > HV_GUEST_BOOT_INFO_MAX_BYTES ||
        info->total_bytes < info->header_bytes + (uint64_t)info->node_count * info->node_bytes)
        return "total_bytes inconsistent";
    if (vcpu >= info->vcpu_count)
        return "vCPU index beyond vcpu_count";
    return NULL;
}

void hv_runtime_start(uint32_t vcpu, const hv_guest_boot_info *info)
{
    const char *problem = boot_info_problem(vcpu, info);

    if (problem) {
        if (__atomic_exchange_n(&boot_complaint, 1, __ATOMIC_ACQ_REL) == 0) {
            gprintf("hpcvirt guest runtime: unusable boot info at %p (%s): magic 0x%08x "
                    "version %u, expected magic 0x%08x version %u\n",
                    (const void *)info, problem, (unsigned int)info->magic,
                    (unsigned int)info->version, (unsigned int)HV_GUEST_BOOT_MAGIC,
                    (unsigned int)HV_GUEST_ABI_VERSION);
            hv_exit(HV_GUEST_EXIT_BAD_BOOT_INFO);
        }
        for (;;) /* the first vCPU's exit ends the VM */
            hv_cpu_relax();
    }
    hv_vcpu_stop((uint32_t)guest_main(vcpu, info));
}

/* ---- ports ------------------------------------------------------------------------ */

void console_write(const void *buf, size_t len)
{
    const void *p = buf;

    if (len == 0)
        return;
    __asm__ volatile("rep outsb"
                     : "+S"(p), "+c"(len)
                     : "d"((uint16_t)HV_GUEST_PORT_CONSOLE)
                     : "memory");
}

void console_puts(const char *s)
{
    console_write(s, strlen(s));
}

static inline void out32(uint16_t port, uint32_t value)
{
    /* "memory": everything stored before is stored when the host sees the OUT */
    __asm__ volatile("outl %0, %w1" : : "a"(value), "Nd"(port) : "memory");
}

void hv_exit(uint32_t code)
{
    out32(HV_GUEST_PORT_EXIT, code);
    for (;;) /* the VM is over: never reached on a correct engine */
        hv_cpu_relax();
}

void hv_vcpu_stop(uint32_t status)
{
    out32(HV_GUEST_PORT_VCPU_STOP, status);
    for (;;)
        hv_cpu_relax();
}

void hv_progress(uint32_t marker)
{
    out32(HV_GUEST_PORT_PROGRESS, marker);
}

/* ---- synchronization ------------------------------------------------------------------ */

void hv_barrier_wait(hv_barrier *barrier, uint32_t count)
{
    /*
     * The sense cannot flip between this load and the increment: the round
     * needs this vCPU's arrival to complete.
     */
    uint32_t sense = __atomic_load_n(&barrier->sense, __ATOMIC_ACQUIRE) ^ 1u;

    if (__atomic_add_fetch(&barrier->arrived, 1, __ATOMIC_ACQ_REL) >= count) {
        __atomic_store_n(&barrier->arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&barrier->sense, sense, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&barrier->sense, __ATOMIC_ACQUIRE) != sense)
        hv_cpu_relax();
}

void hv_spin_lock(hv_spinlock *lock)
{
    while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE) != 0) {
        while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED) != 0)
            hv_cpu_relax();
    }
}

void hv_spin_unlock(hv_spinlock *lock)
{
    __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

/* ---- boot info --------------------------------------------------------------------------- */

/* Node record i, which must exist: records start header_bytes in, node_bytes apart. */
static const hv_guest_boot_node *node_at(const hv_guest_boot_info *info, uint32_t i)
{
    return (const hv_guest_boot_node *)((const char *)info + info->header_bytes +
                                        (uint64_t)i * info->node_bytes);
}

const hv_guest_boot_node *hv_boot_node(const hv_guest_boot_info *info, uint32_t i)
{
    return i < info->node_count ? node_at(info, i) : NULL;
}

int hv_boot_node_of_vcpu(const hv_guest_boot_info *info, uint32_t vcpu)
{
    for (uint32_t i = 0; i < info->node_count; i++) {
        const hv_guest_boot_node *node = node_at(info, i);

        if (vcpu >= node->first_vcpu && vcpu - node->first_vcpu < node->vcpu_count)
            return (int)i;
    }
    return -1;
}

int hv_free_share(const hv_guest_boot_info *info, uint32_t vcpu, uint64_t align, uint64_t *base,
                  uint64_t *bytes)
{
    int index = hv_boot_node_of_vcpu(info, vcpu);
    const hv_guest_boot_node *node;
    uint64_t start, end, share;

    *base = 0;
    *bytes = 0;
    if (index < 0)
        return -1;
    node = node_at(info, (uint32_t)index);
    if (align == 0)
        align = 1;
    start = (node->free_base + align - 1) & ~(align - 1);
    end = (node->free_base + node->free_bytes) & ~(align - 1);
    if (end <= start || node->free_base + node->free_bytes < node->free_base)
        return index;
    share = ((end - start) / node->vcpu_count) & ~(align - 1);
    *base = start + (uint64_t)(vcpu - node->first_vcpu) * share;
    *bytes = share;
    return index;
}

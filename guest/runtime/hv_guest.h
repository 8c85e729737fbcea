/*
 * guest/runtime/hv_guest.h - the API of the freestanding guest runtime that
 * every hpcvirt payload links (docs/guest-abi.md): console output, a small
 * printf, exit / vCPU stop / progress markers through the port ABI, a
 * barrier, the boot-info helpers and the string functions the compiler may
 * call. A payload defines guest_main(); the runtime's _start calls it.
 */
#ifndef HV_GUEST_RUNTIME_H
#define HV_GUEST_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <hpcvirt/guest.h>

/** The boot-info magic / version mismatch exit code (the runtime prints why). */
#define HV_GUEST_EXIT_BAD_BOOT_INFO 125u

/**
 * What a payload provides: the vCPU's body. Every vCPU enters it at once;
 * when it returns, that vCPU stops with the returned status (port 0xF4).
 * To end the whole VM, call hv_exit().
 */
int guest_main(uint32_t vcpu, const hv_guest_boot_info *info);

/* ---- console (port 0xE9, REP OUTSB) ------------------------------------------ */

/** Write len bytes to the console (one REP OUTSB). */
void console_write(const void *buf, size_t len);
/** Write a NUL-terminated string as it is (no newline is added). */
void console_puts(const char *s);
/**
 * printf to the console: %d %i %u %x %X %c %s %p %%, with the length
 * modifiers l, ll, z and h, flags '-' and '0' and a field width (%08llx).
 * A call's output is written whole: calls from several vCPUs do not mix
 * within a call (a spinlock orders them). Returns the bytes written.
 */
int gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gvprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/** snprintf: formats into buf (always NUL-terminated when size > 0). */
int gsnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int gvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* ---- ending, stopping, progress ------------------------------------------------ */

/** End the VM with `code` (port 0xF0): every vCPU stops. Never returns. */
__attribute__((noreturn)) void hv_exit(uint32_t code);
/** Stop this vCPU with `status` (port 0xF4). Never returns. */
__attribute__((noreturn)) void hv_vcpu_stop(uint32_t status);
/** Report a progress marker (port 0xF8); the host may timestamp it. */
void hv_progress(uint32_t marker);

/* ---- synchronization between vCPUs (all share .data and .bss) ----------------- */

/**
 * A sense-reversing barrier. Zero-initialized (static storage or
 * HV_BARRIER_INIT) it is ready: every participant passes the same count to
 * hv_barrier_wait(), and it can be reused any number of times.
 */
typedef struct hv_barrier {
    uint32_t arrived; /**< vCPUs that reached this round */
    uint32_t sense;   /**< flips when a round completes */
} hv_barrier;

#define HV_BARRIER_INIT                                                                            \
    {                                                                                              \
        0, 0                                                                                       \
    }

/** Wait until `count` vCPUs have called this for the current round. */
void hv_barrier_wait(hv_barrier *barrier, uint32_t count);

/** A spin lock; zero-initialized it is unlocked. */
typedef struct hv_spinlock {
    uint32_t locked;
} hv_spinlock;

void hv_spin_lock(hv_spinlock *lock);
void hv_spin_unlock(hv_spinlock *lock);

/** The CPU's pause hint, for spin loops. */
static inline void hv_cpu_relax(void)
{
    __builtin_ia32_pause();
}

/* ---- boot info ------------------------------------------------------------------ */

/** Node record i (records are info->node_bytes apart), NULL when i is out of range. */
const hv_guest_boot_node *hv_boot_node(const hv_guest_boot_info *info, uint32_t i);
/** The index of the node holding `vcpu`, or -1. */
int hv_boot_node_of_vcpu(const hv_guest_boot_info *info, uint32_t vcpu);
/**
 * This vCPU's share of its node's free range: the range split evenly among
 * the node's vCPUs, each share a multiple of `align` (a power of two; 4096
 * at least makes sense) starting at an `align` boundary. Sets *base and
 * *bytes (0 when the range is too small to give this vCPU anything) and
 * returns the node index, or -1 when the vCPU has no node.
 */
int hv_free_share(const hv_guest_boot_info *info, uint32_t vcpu, uint64_t align, uint64_t *base,
                  uint64_t *bytes);

/* ---- the C library functions the compiler may emit calls to ------------------------ */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif

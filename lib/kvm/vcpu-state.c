/*
 * kvm/vcpu-state.c - reading and writing a vCPU's state through KVM
 * (registers, special registers, XSAVE or FPU, XCRs, MSRs, events, debug
 * registers) and its snapshot record: "VCPU" magic, record version, the
 * vCPU index, then typed blocks (kind, byte count, contents), every size
 * checked against the kernel structure it holds (docs/snapshot-format.md).
 */
#include "kvm/vcpu-state.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define RECORD_MAGIC   0x55504356u /* "VCPU" */
#define RECORD_VERSION 1u

enum block_kind {
    BLOCK_REGS = 1,
    BLOCK_SREGS = 2,
    BLOCK_XSAVE = 3,
    BLOCK_FPU = 4,
    BLOCK_XCRS = 5,
    BLOCK_MSRS = 6,
    BLOCK_EVENTS = 7,
    BLOCK_DEBUGREGS = 8,
    BLOCK_ENGINE = 9
};

/* The MSRs a CPL-3 guest's state depends on, and what a kernel might have set. */
static const uint32_t kept_msrs[] = {
    0x00000010, /* IA32_TSC */
    0x00000174, /* SYSENTER_CS */
    0x00000175, /* SYSENTER_ESP */
    0x00000176, /* SYSENTER_EIP */
    0x00000277, /* PAT */
    0xc0000081, /* STAR */
    0xc0000082, /* LSTAR */
    0xc0000083, /* CSTAR */
    0xc0000084, /* SYSCALL_MASK */
    0xc0000102, /* KERNEL_GS_BASE */
    0xc0000103, /* TSC_AUX */
};

/* struct kvm_msrs with room for one entry (its entries[] is a flexible array). */
struct msr_one {
    uint32_t nmsrs, pad;
    struct kvm_msr_entry entry;
};

int hv_kvm_vcpu_state_get(int vcpu_fd, int system_fd, uint32_t index, hv_kvm_vcpu_state *st)
{
    memset(st, 0, sizeof(*st));
    if (ioctl(vcpu_fd, KVM_GET_REGS, &st->regs) < 0 ||
        ioctl(vcpu_fd, KVM_GET_SREGS, &st->sregs) < 0)
        return hv_error_set(HV_E_IO, NULL, "reading vCPU %u's registers failed: %s", index,
                            strerror(errno));
    if (ioctl(system_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0 &&
        ioctl(vcpu_fd, KVM_GET_XSAVE, (struct kvm_xsave *)(void *)st->xsave) == 0)
        st->has_xsave = true;
    else if (ioctl(vcpu_fd, KVM_GET_FPU, &st->fpu) < 0)
        return hv_error_set(HV_E_IO, NULL, "reading vCPU %u's FPU state failed: %s", index,
                            strerror(errno));
    st->has_xcrs = ioctl(system_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0 &&
                   ioctl(vcpu_fd, KVM_GET_XCRS, &st->xcrs) == 0;
    /* one at a time: KVM stops a batch at the first MSR it does not know */
    for (size_t i = 0; i < sizeof(kept_msrs) / sizeof(kept_msrs[0]); i++) {
        struct msr_one m;

        memset(&m, 0, sizeof(m));
        m.nmsrs = 1;
        m.entry.index = kept_msrs[i];
        if (ioctl(vcpu_fd, KVM_GET_MSRS, (struct kvm_msrs *)(void *)&m) == 1 &&
            st->nmsrs < HV_KVM_STATE_MAX_MSRS) {
            st->msrs[st->nmsrs].index = kept_msrs[i];
            st->msrs[st->nmsrs].data = m.entry.data;
            st->nmsrs++;
        }
    }
    st->has_events = ioctl(system_fd, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS) > 0 &&
                     ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &st->events) == 0;
    st->has_debugregs = ioctl(system_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0 &&
                        ioctl(vcpu_fd, KVM_GET_DEBUGREGS, &st->debugregs) == 0;
    return 0;
}

int hv_kvm_vcpu_state_set(int vcpu_fd, uint32_t index, const hv_kvm_vcpu_state *st)
{
    const char *what = NULL;

    /* the order QEMU and Firecracker use: special registers before the rest */
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &st->sregs) < 0)
        what = "special registers";
    else if (st->has_xcrs && ioctl(vcpu_fd, KVM_SET_XCRS, &st->xcrs) < 0)
        what = "XCRs";
    else if (st->has_xsave ? ioctl(vcpu_fd, KVM_SET_XSAVE,
                                   (const struct kvm_xsave *)(const void *)st->xsave) < 0
                           : ioctl(vcpu_fd, KVM_SET_FPU, &st->fpu) < 0)
        what = st->has_xsave ? "XSAVE state" : "FPU state";
    else if (ioctl(vcpu_fd, KVM_SET_REGS, &st->regs) < 0)
        what = "registers";
    if (!what) {
        for (uint32_t i = 0; i < st->nmsrs && !what; i++) {
            struct msr_one m;

            memset(&m, 0, sizeof(m));
            m.nmsrs = 1;
            m.entry.index = st->msrs[i].index;
            m.entry.data = st->msrs[i].data;
            if (ioctl(vcpu_fd, KVM_SET_MSRS, (struct kvm_msrs *)(void *)&m) != 1)
                what = "an MSR";
        }
    }
    if (!what && st->has_events && ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &st->events) < 0)
        what = "pending events";
    if (!what && st->has_debugregs && ioctl(vcpu_fd, KVM_SET_DEBUGREGS, &st->debugregs) < 0)
        what = "debug registers";
    if (what)
        return hv_error_set(HV_E_IO, NULL,
                            "restoring vCPU %u's %s failed: %s (KVM refused the saved state)",
                            index, what, strerror(errno));
    return 0;
}

/* ---- the record --------------------------------------------------------------------- */

typedef struct writer {
    uint8_t *buf;
    size_t len;
} writer;

static void put(writer *w, const void *data, size_t bytes)
{
    memcpy(w->buf + w->len, data, bytes);
    w->len += bytes;
}

static void put_u32(writer *w, uint32_t v)
{
    put(w, &v, sizeof(v));
}

static void put_block(writer *w, uint32_t kind, const void *data, uint32_t bytes)
{
    put_u32(w, kind);
    put_u32(w, bytes);
    put(w, data, bytes);
}

struct engine_block {
    uint32_t run_state, status, last_marker, reserved;
    uint64_t marker_count;
};

int hv_kvm_vcpu_state_encode(const hv_kvm_vcpu_state *st, uint32_t index, uint8_t **buf,
                             size_t *bytes)
{
    size_t cap = 16 + 9 * 8 + sizeof(st->regs) + sizeof(st->sregs) + sizeof(st->xsave) +
                 sizeof(st->xcrs) + 8 + HV_KVM_STATE_MAX_MSRS * 16 + sizeof(st->events) +
                 sizeof(st->debugregs) + sizeof(struct engine_block);
    writer w = {hv_calloc(1, cap), 0};
    struct engine_block eng = {st->run_state, st->status, st->last_marker, 0, st->marker_count};

    if (!w.buf)
        return HV_E_NOMEM;
    put_u32(&w, RECORD_MAGIC);
    put_u32(&w, RECORD_VERSION);
    put_u32(&w, index);
    put_u32(&w, 0); /* flags */
    put_block(&w, BLOCK_REGS, &st->regs, sizeof(st->regs));
    put_block(&w, BLOCK_SREGS, &st->sregs, sizeof(st->sregs));
    if (st->has_xsave)
        put_block(&w, BLOCK_XSAVE, &st->xsave, sizeof(st->xsave));
    else
        put_block(&w, BLOCK_FPU, &st->fpu, sizeof(st->fpu));
    if (st->has_xcrs)
        put_block(&w, BLOCK_XCRS, &st->xcrs, sizeof(st->xcrs));
    put_u32(&w, BLOCK_MSRS);
    put_u32(&w, 8 + st->nmsrs * 16);
    put_u32(&w, st->nmsrs);
    put_u32(&w, 0);
    for (uint32_t i = 0; i < st->nmsrs; i++) {
        uint32_t zero = 0;

        put(&w, &st->msrs[i].index, 4);
        put(&w, &zero, 4);
        put(&w, &st->msrs[i].data, 8);
    }
    if (st->has_events)
        put_block(&w, BLOCK_EVENTS, &st->events, sizeof(st->events));
    if (st->has_debugregs)
        put_block(&w, BLOCK_DEBUGREGS, &st->debugregs, sizeof(st->debugregs));
    put_block(&w, BLOCK_ENGINE, &eng, sizeof(eng));
    *buf = w.buf;
    *bytes = w.len;
    return 0;
}

static int bad(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(const char *what, const char *fmt, ...)
{
    char detail[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return hv_error_set(HV_E_SNAPSHOT, NULL, "%s: %s: the snapshot is corrupted or foreign", what,
                        detail);
}

/* A canonical 48-bit address (bits 63..47 all equal). */
static bool canonical(uint64_t addr)
{
    uint64_t top = addr >> 47;

    return top == 0 || top == 0x1ffff;
}

int hv_kvm_vcpu_state_decode(const void *buf, size_t bytes, uint32_t index, const char *what,
                             hv_kvm_vcpu_state *st)
{
    const uint8_t *p = buf;
    uint32_t head[4];
    bool have_regs = false, have_sregs = false, have_fp = false, have_engine = false;
    size_t at = sizeof(head);

    memset(st, 0, sizeof(*st));
    if (bytes < sizeof(head))
        return bad(what, "the record has %zu bytes, less than its %zu-byte header", bytes,
                   sizeof(head));
    memcpy(head, p, sizeof(head));
    if (head[0] != RECORD_MAGIC)
        return bad(what, "magic 0x%08x is not \"VCPU\" (0x%08x)", head[0], RECORD_MAGIC);
    if (head[1] != RECORD_VERSION)
        return bad(what, "record version %u; this hpcvirt reads version %u", head[1],
                   RECORD_VERSION);
    if (head[2] != index)
        return bad(what, "the record is vCPU %u's, expected vCPU %u", head[2], index);
    while (at < bytes) {
        uint32_t kind, size;
        const uint8_t *data;

        if (bytes - at < 8)
            return bad(what, "a block header at byte %zu runs past the record's %zu bytes", at,
                       bytes);
        memcpy(&kind, p + at, 4);
        memcpy(&size, p + at + 4, 4);
        at += 8;
        if (size > bytes - at)
            return bad(what, "block %u of %u bytes runs past the end of the record", kind, size);
        data = p + at;
        at += size;
#define TAKE(field, flag)                                                                          \
    do {                                                                                           \
        if (size != sizeof(st->field))                                                             \
            return bad(what, "block %u has %u bytes, not the size of its structure", kind, size);  \
        memcpy(&st->field, data, sizeof(st->field));                                               \
        flag = true;                                                                               \
    } while (0)
        switch (kind) {
        case BLOCK_REGS:
            TAKE(regs, have_regs);
            break;
        case BLOCK_SREGS:
            TAKE(sregs, have_sregs);
            break;
        case BLOCK_XSAVE:
            TAKE(xsave, st->has_xsave);
            have_fp = true;
            break;
        case BLOCK_FPU:
            TAKE(fpu, have_fp);
            break;
        case BLOCK_XCRS:
            TAKE(xcrs, st->has_xcrs);
            if (st->xcrs.nr_xcrs > KVM_MAX_XCRS)
                return bad(what, "%u XCRs, more than the %u KVM has", st->xcrs.nr_xcrs,
                           KVM_MAX_XCRS);
            break;
        case BLOCK_EVENTS:
            TAKE(events, st->has_events);
            break;
        case BLOCK_DEBUGREGS:
            TAKE(debugregs, st->has_debugregs);
            break;
        case BLOCK_MSRS: {
            uint32_t n;

            if (size < 8)
                return bad(what, "the MSR block has %u bytes, less than its 8-byte count", size);
            memcpy(&n, data, 4);
            if (n > HV_KVM_STATE_MAX_MSRS || size != 8 + n * 16)
                return bad(what, "the MSR block holds %u MSRs in %u bytes", n, size);
            st->nmsrs = n;
            for (uint32_t i = 0; i < n; i++) {
                memcpy(&st->msrs[i].index, data + 8 + i * 16, 4);
                memcpy(&st->msrs[i].data, data + 8 + i * 16 + 8, 8);
            }
            break;
        }
        case BLOCK_ENGINE: {
            struct engine_block eng;

            if (size != sizeof(eng))
                return bad(what, "block %u has %u bytes, not the size of its structure", kind,
                           size);
            memcpy(&eng, data, sizeof(eng));
            if (eng.run_state != HV_KVM_VCPU_STATE_RUNNING &&
                eng.run_state != HV_KVM_VCPU_STATE_STOPPED)
                return bad(what, "run state %u is neither running (1) nor stopped (2)",
                           eng.run_state);
            st->run_state = eng.run_state;
            st->status = eng.status;
            st->last_marker = eng.last_marker;
            st->marker_count = eng.marker_count;
            have_engine = true;
            break;
        }
        default:
            break; /* a block a later record version added: not needed to resume */
        }
#undef TAKE
    }
    if (!have_regs || !have_sregs || !have_fp || !have_engine)
        return bad(what, "the record lacks its %s block",
                   !have_regs    ? "registers"
                   : !have_sregs ? "special registers"
                   : !have_fp    ? "FPU/XSAVE"
                                 : "engine");
    if (!canonical(st->regs.rip) || !canonical(st->regs.rsp))
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "%s: rip 0x%llx / rsp 0x%llx is not a canonical address: the snapshot "
                            "is corrupted",
                            what, (unsigned long long)st->regs.rip,
                            (unsigned long long)st->regs.rsp);
    return 0;
}

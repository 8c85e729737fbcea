/*
 * kvm/vcpu-state.c - reading and writing a vCPU's state through KVM
 * (registers, special registers, XSAVE or FPU, XCRs, MSRs, events, debug
 * registers; a Linux guest's local APIC, MP state and kernel MSRs too) and
 * its snapshot record: "VCPU" magic, record version, the
 * vCPU index, then typed blocks (kind, byte count, contents), every size
 * checked against the kernel structure it holds (docs/snapshot-format.md).
 */
#include "kvm/vcpu-state.h"
#include "core/alloc.h"
#include "core/error.h"
#include "kvm/record.h"

#include <errno.h>
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
    BLOCK_ENGINE = 9,
    BLOCK_LAPIC = 10,
    BLOCK_MP_STATE = 11
};

#define MSR_TSC_DEADLINE 0x000006e0u

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

/* What a Linux kernel sets besides: the paravirtual clock and friends, the APIC timer's
 * deadline (written after the local APIC: setting that stops its timer), speculation
 * controls, MTRRs. */
static const uint32_t platform_msrs[] = {
    0x0000003b,                                           /* IA32_TSC_ADJUST */
    0x00000048,                                           /* IA32_SPEC_CTRL */
    0x000001a0,                                           /* IA32_MISC_ENABLE */
    0x000002ff,                                           /* MTRR_DEF_TYPE */
    0x00000250,                                           /* MTRR_FIX64K_00000 */
    0x00000258,                                           /* MTRR_FIX16K_80000 */
    0x00000259,                                           /* MTRR_FIX16K_A0000 */
    0x00000268,       0x00000269, 0x0000026a, 0x0000026b, /* MTRR_FIX4K_C0000 .. D8000 */
    0x0000026c,       0x0000026d, 0x0000026e, 0x0000026f, /* MTRR_FIX4K_E0000 .. F8000 */
    0x00000200,       0x00000201, 0x00000202, 0x00000203, /* MTRR_PHYSBASE0/MASK0, 1 */
    0x00000da0,                                           /* IA32_XSS */
    0x4b564d00,                                           /* KVM_WALL_CLOCK_NEW */
    0x4b564d01,                                           /* KVM_SYSTEM_TIME_NEW */
    0x4b564d02,                                           /* KVM_ASYNC_PF_EN */
    0x4b564d03,                                           /* KVM_STEAL_TIME */
    0x4b564d04,                                           /* KVM_PV_EOI_EN */
    0x4b564d05,                                           /* KVM_POLL_CONTROL */
    0x4b564d06,                                           /* KVM_ASYNC_PF_INT */
    0xc001011f,                                           /* AMD64_VIRT_SPEC_CTRL */
    MSR_TSC_DEADLINE,
};

/* struct kvm_msrs with room for one entry (its entries[] is a flexible array). */
struct msr_one {
    uint32_t nmsrs, pad;
    struct kvm_msr_entry entry;
};

/* Those of `list` KVM lets this host read, one at a time: KVM stops a batch at the first MSR
 * it does not know. */
static void read_msrs(int vcpu_fd, const uint32_t *list, size_t count, hv_kvm_vcpu_state *st)
{
    for (size_t i = 0; i < count && st->nmsrs < HV_KVM_STATE_MAX_MSRS; i++) {
        struct msr_one m;

        memset(&m, 0, sizeof(m));
        m.nmsrs = 1;
        m.entry.index = list[i];
        if (ioctl(vcpu_fd, KVM_GET_MSRS, (struct kvm_msrs *)(void *)&m) == 1) {
            st->msrs[st->nmsrs].index = list[i];
            st->msrs[st->nmsrs].data = m.entry.data;
            st->nmsrs++;
        }
    }
}

/* Write the saved MSRs (`deadline`: only the TSC deadline, else all others): 0, or -1. */
static int write_msrs(int vcpu_fd, const hv_kvm_vcpu_state *st, bool deadline)
{
    for (uint32_t i = 0; i < st->nmsrs; i++) {
        struct msr_one m;

        if ((st->msrs[i].index == MSR_TSC_DEADLINE) != deadline)
            continue;
        memset(&m, 0, sizeof(m));
        m.nmsrs = 1;
        m.entry.index = st->msrs[i].index;
        m.entry.data = st->msrs[i].data;
        if (ioctl(vcpu_fd, KVM_SET_MSRS, (struct kvm_msrs *)(void *)&m) != 1)
            return -1;
    }
    return 0;
}

int hv_kvm_vcpu_state_get(int vcpu_fd, int system_fd, uint32_t index, bool platform,
                          hv_kvm_vcpu_state *st)
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
    read_msrs(vcpu_fd, kept_msrs, sizeof(kept_msrs) / sizeof(kept_msrs[0]), st);
    if (platform) {
        read_msrs(vcpu_fd, platform_msrs, sizeof(platform_msrs) / sizeof(platform_msrs[0]), st);
        if (ioctl(vcpu_fd, KVM_GET_LAPIC, &st->lapic) < 0 ||
            ioctl(vcpu_fd, KVM_GET_MP_STATE, &st->mp_state) < 0)
            return hv_error_set(HV_E_IO, NULL,
                                "reading vCPU %u's local APIC or MP state failed: %s", index,
                                strerror(errno));
        st->has_lapic = st->has_mp_state = true;
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
    if (!what && write_msrs(vcpu_fd, st, false) < 0)
        what = "an MSR";
    /* the MP state (halted, waiting for its SIPI), then the local APIC, then its timer */
    if (!what && st->has_mp_state && ioctl(vcpu_fd, KVM_SET_MP_STATE, &st->mp_state) < 0)
        what = "MP state";
    if (!what && st->has_lapic && ioctl(vcpu_fd, KVM_SET_LAPIC, &st->lapic) < 0)
        what = "local APIC";
    if (!what && write_msrs(vcpu_fd, st, true) < 0)
        what = "TSC deadline";
    if (!what && st->has_events) {
        struct kvm_vcpu_events events = st->events;

        /* with a local APIC, a pending NMI and a SIPI's vector are part of the state too */
        if (st->has_lapic)
            events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
        if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &events) < 0)
            what = "pending events";
    }
    if (!what && st->has_debugregs && ioctl(vcpu_fd, KVM_SET_DEBUGREGS, &st->debugregs) < 0)
        what = "debug registers";
    if (what)
        return hv_error_set(HV_E_IO, NULL,
                            "restoring vCPU %u's %s failed: %s (KVM refused the saved state)",
                            index, what, strerror(errno));
    return 0;
}

/* ---- the record --------------------------------------------------------------------- */

struct engine_block {
    uint32_t run_state, status, last_marker, reserved;
    uint64_t marker_count;
};

int hv_kvm_vcpu_state_encode(const hv_kvm_vcpu_state *st, uint32_t index, uint8_t **buf,
                             size_t *bytes)
{
    size_t cap = 16 + 9 * 8 + sizeof(st->regs) + sizeof(st->sregs) + sizeof(st->xsave) +
                 sizeof(st->xcrs) + 8 + HV_KVM_STATE_MAX_MSRS * 16 + sizeof(st->events) +
                 sizeof(st->debugregs) + sizeof(struct engine_block) + 2 * 8 + sizeof(st->lapic) +
                 sizeof(st->mp_state);
    hv_record_writer w = {hv_calloc(1, cap), 0};
    struct engine_block eng = {st->run_state, st->status, st->last_marker, 0, st->marker_count};

    if (!w.buf)
        return HV_E_NOMEM;
    hv_record_put_header(&w, RECORD_MAGIC, RECORD_VERSION, index);
    hv_record_put_block(&w, BLOCK_REGS, &st->regs, sizeof(st->regs));
    hv_record_put_block(&w, BLOCK_SREGS, &st->sregs, sizeof(st->sregs));
    if (st->has_xsave)
        hv_record_put_block(&w, BLOCK_XSAVE, &st->xsave, sizeof(st->xsave));
    else
        hv_record_put_block(&w, BLOCK_FPU, &st->fpu, sizeof(st->fpu));
    if (st->has_xcrs)
        hv_record_put_block(&w, BLOCK_XCRS, &st->xcrs, sizeof(st->xcrs));
    hv_record_put_u32(&w, BLOCK_MSRS);
    hv_record_put_u32(&w, 8 + st->nmsrs * 16);
    hv_record_put_u32(&w, st->nmsrs);
    hv_record_put_u32(&w, 0);
    for (uint32_t i = 0; i < st->nmsrs; i++) {
        uint32_t zero = 0;

        hv_record_put(&w, &st->msrs[i].index, 4);
        hv_record_put(&w, &zero, 4);
        hv_record_put(&w, &st->msrs[i].data, 8);
    }
    if (st->has_events)
        hv_record_put_block(&w, BLOCK_EVENTS, &st->events, sizeof(st->events));
    if (st->has_debugregs)
        hv_record_put_block(&w, BLOCK_DEBUGREGS, &st->debugregs, sizeof(st->debugregs));
    hv_record_put_block(&w, BLOCK_ENGINE, &eng, sizeof(eng));
    if (st->has_lapic)
        hv_record_put_block(&w, BLOCK_LAPIC, &st->lapic, sizeof(st->lapic));
    if (st->has_mp_state)
        hv_record_put_block(&w, BLOCK_MP_STATE, &st->mp_state, sizeof(st->mp_state));
    *buf = w.buf;
    *bytes = w.len;
    return 0;
}

#define CR4_LA57 (1ull << 12)

/* A canonical address: bits 63..47 all equal, or 63..56 with 5-level paging (CR4.LA57). */
static bool canonical(uint64_t addr, bool la57)
{
    uint64_t top = addr >> (la57 ? 56 : 47);

    return top == 0 || top == (la57 ? 0xff : 0x1ffff);
}

int hv_kvm_vcpu_state_decode(const void *buf, size_t bytes, uint32_t index, const char *what,
                             hv_kvm_vcpu_state *st)
{
    const uint8_t *p = buf;
    uint32_t record_index = 0;
    bool have_regs = false, have_sregs = false, have_fp = false, have_engine = false;
    size_t at = HV_RECORD_HEADER_BYTES;
    int rc;

    memset(st, 0, sizeof(*st));
    if ((rc = hv_record_check_header(buf, bytes, RECORD_MAGIC, "VCPU", RECORD_VERSION, what,
                                     &record_index)) < 0)
        return rc;
    if (record_index != index)
        return hv_record_bad(what, "the record is vCPU %u's, expected vCPU %u", record_index,
                             index);
    for (;;) {
        uint32_t kind = 0, size = 0;
        const uint8_t *data = NULL;
        int more = hv_record_next(p, bytes, &at, what, &kind, &size, &data);

        if (more == 0)
            break;
        if (more < 0)
            return more;
#define TAKE(field, flag)                                                                          \
    do {                                                                                           \
        if (size != sizeof(st->field))                                                             \
            return hv_record_bad(what, "block %u has %u bytes, not the size of its structure",     \
                                 kind, size);                                                      \
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
                return hv_record_bad(what, "%u XCRs, more than the %u KVM has", st->xcrs.nr_xcrs,
                                     KVM_MAX_XCRS);
            break;
        case BLOCK_EVENTS:
            TAKE(events, st->has_events);
            break;
        case BLOCK_DEBUGREGS:
            TAKE(debugregs, st->has_debugregs);
            break;
        case BLOCK_LAPIC:
            TAKE(lapic, st->has_lapic);
            break;
        case BLOCK_MP_STATE:
            TAKE(mp_state, st->has_mp_state);
            if (st->mp_state.mp_state > KVM_MP_STATE_SIPI_RECEIVED)
                return hv_record_bad(what, "MP state %u is not one an x86 vCPU is in (0 .. %u)",
                                     st->mp_state.mp_state, KVM_MP_STATE_SIPI_RECEIVED);
            break;
        case BLOCK_MSRS: {
            uint32_t n;

            if (size < 8)
                return hv_record_bad(what, "the MSR block has %u bytes, less than its 8-byte count",
                                     size);
            memcpy(&n, data, 4);
            if (n > HV_KVM_STATE_MAX_MSRS || size != 8 + n * 16)
                return hv_record_bad(what, "the MSR block holds %u MSRs in %u bytes", n, size);
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
                return hv_record_bad(what, "block %u has %u bytes, not the size of its structure",
                                     kind, size);
            memcpy(&eng, data, sizeof(eng));
            if (eng.run_state != HV_KVM_VCPU_STATE_RUNNING &&
                eng.run_state != HV_KVM_VCPU_STATE_STOPPED)
                return hv_record_bad(what, "run state %u is neither running (1) nor stopped (2)",
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
        return hv_record_bad(what, "the record lacks its %s block",
                             !have_regs    ? "registers"
                             : !have_sregs ? "special registers"
                             : !have_fp    ? "FPU/XSAVE"
                                           : "engine");
    if (!canonical(st->regs.rip, st->sregs.cr4 & CR4_LA57) ||
        !canonical(st->regs.rsp, st->sregs.cr4 & CR4_LA57))
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "%s: rip 0x%llx / rsp 0x%llx is not a canonical address: the snapshot "
                            "is corrupted",
                            what, (unsigned long long)st->regs.rip,
                            (unsigned long long)st->regs.rsp);
    return 0;
}

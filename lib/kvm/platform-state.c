/*
 * kvm/platform-state.c - a Linux guest's in-kernel PC platform (PICs,
 * IOAPIC, PIT, clock) read from KVM, written back, and its snapshot record:
 * "PLAT" magic, record version 1, then one block per part
 * (docs/snapshot-format.md, "platform").
 */
#include "kvm/platform-state.h"
#include "core/alloc.h"
#include "core/error.h"
#include "kvm/record.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>

#define RECORD_MAGIC   0x54414c50u /* "PLAT" */
#define RECORD_VERSION 1u

enum block_kind {
    BLOCK_PIC_MASTER = 1, /* struct kvm_irqchip, chip_id 0 */
    BLOCK_PIC_SLAVE = 2,  /* chip_id 1 */
    BLOCK_IOAPIC = 3,     /* chip_id 2 */
    BLOCK_PIT = 4,        /* struct kvm_pit_state2 */
    BLOCK_CLOCK = 5,      /* struct kvm_clock_data */
    BLOCK_COUNT = 5
};

static const char *const chip_names[3] = {"master PIC", "slave PIC", "IOAPIC"};

int hv_kvm_platform_state_get(int vm_fd, hv_kvm_platform_state *st)
{
    memset(st, 0, sizeof(*st));
    for (uint32_t i = 0; i < 3; i++) {
        st->chips[i].chip_id = i;
        if (ioctl(vm_fd, KVM_GET_IRQCHIP, &st->chips[i]) < 0)
            return hv_error_set(HV_E_IO, NULL, "reading the %s's state failed: %s", chip_names[i],
                                strerror(errno));
    }
    if (ioctl(vm_fd, KVM_GET_PIT2, &st->pit) < 0)
        return hv_error_set(HV_E_IO, NULL, "reading the PIT's state failed: %s", strerror(errno));
    if (ioctl(vm_fd, KVM_GET_CLOCK, &st->clock) < 0)
        return hv_error_set(HV_E_IO, NULL, "reading the VM's clock failed: %s", strerror(errno));
    return 0;
}

int hv_kvm_platform_state_set(int vm_fd, const hv_kvm_platform_state *st)
{
    for (uint32_t i = 0; i < 3; i++) {
        struct kvm_irqchip chip = st->chips[i];

        chip.chip_id = i;
        if (ioctl(vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
            return hv_error_set(HV_E_IO, NULL,
                                "restoring the %s's state failed: %s (KVM refused the saved "
                                "state)",
                                chip_names[i], strerror(errno));
    }
    if (ioctl(vm_fd, KVM_SET_PIT2, &st->pit) < 0)
        return hv_error_set(HV_E_IO, NULL,
                            "restoring the PIT's state failed: %s (KVM refused the saved state)",
                            strerror(errno));
    return 0;
}

int hv_kvm_platform_clock_set(int vm_fd, const hv_kvm_platform_state *st)
{
    struct kvm_clock_data clock;

    memset(&clock, 0, sizeof(clock));
    clock.clock = st->clock.clock; /* the guest's time stood still while it was saved */
    if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0)
        return hv_error_set(HV_E_IO, NULL, "setting the VM's clock failed: %s", strerror(errno));
    return 0;
}

int hv_kvm_platform_state_encode(const hv_kvm_platform_state *st, uint8_t **buf, size_t *bytes)
{
    size_t cap = HV_RECORD_HEADER_BYTES + BLOCK_COUNT * 8 + sizeof(st->chips) + sizeof(st->pit) +
                 sizeof(st->clock);
    hv_record_writer w = {hv_calloc(1, cap), 0};

    if (!w.buf)
        return HV_E_NOMEM;
    hv_record_put_header(&w, RECORD_MAGIC, RECORD_VERSION, 0);
    for (uint32_t i = 0; i < 3; i++)
        hv_record_put_block(&w, BLOCK_PIC_MASTER + i, &st->chips[i], sizeof(st->chips[i]));
    hv_record_put_block(&w, BLOCK_PIT, &st->pit, sizeof(st->pit));
    hv_record_put_block(&w, BLOCK_CLOCK, &st->clock, sizeof(st->clock));
    *buf = w.buf;
    *bytes = w.len;
    return 0;
}

int hv_kvm_platform_state_decode(const void *buf, size_t bytes, const char *what,
                                 hv_kvm_platform_state *st)
{
    const uint8_t *p = buf;
    uint32_t index = 0;
    bool have[BLOCK_COUNT + 1] = {false};
    size_t at = HV_RECORD_HEADER_BYTES;
    int rc;

    memset(st, 0, sizeof(*st));
    if ((rc = hv_record_check_header(buf, bytes, RECORD_MAGIC, "PLAT", RECORD_VERSION, what,
                                     &index)) < 0)
        return rc;
    for (;;) {
        uint32_t kind = 0, size = 0;
        const uint8_t *data = NULL;
        void *field = NULL;
        size_t field_bytes = 0;
        int more = hv_record_next(p, bytes, &at, what, &kind, &size, &data);

        if (more == 0)
            break;
        if (more < 0)
            return more;
        if (kind >= BLOCK_PIC_MASTER && kind <= BLOCK_IOAPIC) {
            field = &st->chips[kind - BLOCK_PIC_MASTER];
            field_bytes = sizeof(st->chips[0]);
        } else if (kind == BLOCK_PIT) {
            field = &st->pit;
            field_bytes = sizeof(st->pit);
        } else if (kind == BLOCK_CLOCK) {
            field = &st->clock;
            field_bytes = sizeof(st->clock);
        } else {
            continue; /* a block a later record version added */
        }
        if (size != field_bytes)
            return hv_record_bad(what, "block %u has %u bytes, not the size of its structure", kind,
                                 size);
        if (have[kind])
            return hv_record_bad(what, "block %u appears twice", kind);
        memcpy(field, data, field_bytes);
        have[kind] = true;
    }
    for (uint32_t kind = 1; kind <= BLOCK_COUNT; kind++)
        if (!have[kind])
            return hv_record_bad(what, "the record lacks its %s block",
                                 kind <= BLOCK_IOAPIC ? chip_names[kind - 1]
                                 : kind == BLOCK_PIT  ? "PIT"
                                                      : "clock");
    for (uint32_t i = 0; i < 3; i++)
        if (st->chips[i].chip_id != i)
            return hv_record_bad(what, "the %s block holds chip %u's state", chip_names[i],
                                 st->chips[i].chip_id);
    return 0;
}

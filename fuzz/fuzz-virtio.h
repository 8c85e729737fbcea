/*
 * fuzz/fuzz-virtio.h - what the virtio-mmio device targets share
 * (fuzz-virtqueue.c, fuzz-virtio-console.c, fuzz-device-state.c): a
 * guest's memory behind a bounds-checked hv_guest_ptr_fn, the interrupt
 * line checked against InterruptStatus, register accesses, the Linux-like
 * setup of the transport and its queues, and the input's operations on
 * the device.
 *
 * An operation is 8 bytes, {kind, width, le16 offset, le32 value}; the
 * kinds here: 0 a register write, 1 a register read (`width` picks 4, 1, 2
 * or 8 bytes), 2 "make value & 0xFF more chains available on queue
 * (value >> 8) & 1 and notify it", 3 the guest writes 4 bytes of its
 * memory.
 */
#ifndef HV_FUZZ_VIRTIO_H
#define HV_FUZZ_VIRTIO_H

#include "fuzz.h"
#include "kvm/virtio-mmio.h"

#include <stdbool.h>

#define MEM_BASE  0x10000u
#define MEM_BYTES 0x10000u
#define OP_BYTES  8u
#define MAX_OPS   64u

/* header flags the targets share */
#define F_NO_SETUP   0x04u
#define F_NO_VERSION 0x08u /* a legacy driver: does not accept VIRTIO_F_VERSION_1 */
#define F_ALL_OFFERS 0x10u /* accept every feature bit, offered or not */

typedef struct fuzz_guest {
    uint8_t *mem;
    bool level;
    unsigned int changes;
} fuzz_guest;

static inline uint8_t *guest_ptr(void *ctx, uint64_t addr, uint64_t bytes)
{
    fuzz_guest *g = ctx;

    if (addr < MEM_BASE || bytes > MEM_BYTES || addr - MEM_BASE > MEM_BYTES - bytes)
        return NULL;
    return g->mem + (addr - MEM_BASE);
}

static inline void irq_line(void *ctx, bool level)
{
    fuzz_guest *g = ctx;

    CHECK(level != g->level);
    g->level = level;
    g->changes++;
}

static inline uint32_t rd(hv_virtio_mmio *dev, uint32_t offset)
{
    uint8_t d[4];

    hv_virtio_mmio_access(dev, offset, false, d, 4);
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static inline void wr(hv_virtio_mmio *dev, uint32_t offset, uint32_t value)
{
    uint8_t d[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
                    (uint8_t)(value >> 24)};

    hv_virtio_mmio_access(dev, offset, true, d, 4);
}

static inline uint16_t le16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void check_line(hv_virtio_mmio *dev, const fuzz_guest *g)
{
    CHECK(g->level == (rd(dev, HV_VIRTIO_MMIO_INTERRUPT_STATUS) != 0));
}

/* A ring's guest address from a halved le16 offset in the header. */
static inline uint64_t ring_at(const uint8_t *p)
{
    return MEM_BASE + (uint64_t)le16_at(p) * 2;
}

/* Header byte 1 below 16: that power of two (the usual case); else the raw le16 at `raw`. */
static inline uint32_t queue_size(uint8_t code, const uint8_t *raw)
{
    return code < 16 ? 1u << code : le16_at(raw);
}

/*
 * What Linux's virtio_mmio does up to the queues: reset, ACKNOWLEDGE,
 * DRIVER, the features (`features`, or what the flags make of them),
 * FEATURES_OK, which the device takes exactly when VERSION_1 is accepted
 * and nothing else than it offers. The status to go on with.
 */
static inline uint32_t negotiate(hv_virtio_mmio *dev, uint8_t flags, uint64_t features)
{
    uint32_t status = HV_VIRTIO_STATUS_ACKNOWLEDGE | HV_VIRTIO_STATUS_DRIVER;

    if (flags & F_NO_VERSION)
        features &= ~HV_VIRTIO_F_VERSION_1;
    if (flags & F_ALL_OFFERS)
        features = ~0ull;
    wr(dev, HV_VIRTIO_MMIO_STATUS, 0);
    wr(dev, HV_VIRTIO_MMIO_STATUS, HV_VIRTIO_STATUS_ACKNOWLEDGE);
    wr(dev, HV_VIRTIO_MMIO_STATUS, status);
    wr(dev, HV_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(dev, HV_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(dev, HV_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(dev, HV_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    status |= HV_VIRTIO_STATUS_FEATURES_OK;
    wr(dev, HV_VIRTIO_MMIO_STATUS, status);
    CHECK(((rd(dev, HV_VIRTIO_MMIO_STATUS) & HV_VIRTIO_STATUS_FEATURES_OK) != 0) ==
          ((features & HV_VIRTIO_F_VERSION_1) && !(flags & F_ALL_OFFERS)));
    return status;
}

/* Queue `index` of `num` entries with its rings there, then QueueReady. */
static inline void queue_setup(hv_virtio_mmio *dev, uint32_t index, uint32_t num, uint64_t desc,
                               uint64_t avail, uint64_t used)
{
    wr(dev, HV_VIRTIO_MMIO_QUEUE_SEL, index);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_NUM, num);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_READY, 1);
}

/* One operation of kind 0 .. 3 (above); `avail` the available ring of queues 0 and 1. */
static inline void run_op(hv_virtio_mmio *dev, fuzz_guest *g, const uint64_t avail[2],
                          const uint8_t *op, unsigned int kind)
{
    static const uint32_t widths[4] = {4, 1, 2, 8};
    uint32_t len = widths[op[1] % 4];
    uint32_t offset = le16_at(op + 2) % HV_VIRTIO_MMIO_WINDOW_BYTES;
    uint32_t value = le32_at(op + 4);
    uint32_t queue = (value >> 8) & 1;
    uint8_t data[8];

    switch (kind) {
    case 0: /* a register write */
        for (uint32_t i = 0; i < 8; i++)
            data[i] = (uint8_t)(value >> (8 * (i % 4)));
        hv_virtio_mmio_access(dev, offset, true, data, len);
        break;
    case 1: /* a register read */
        hv_virtio_mmio_access(dev, offset, false, data, len);
        break;
    case 2: { /* make `value & 0xFF` more chains available (the index at the queue's ring) */
        uint8_t *idx = guest_ptr(g, avail[queue] + 2, 2);

        if (idx) {
            uint16_t v = (uint16_t)(le16_at(idx) + (value & 0xFF));

            idx[0] = (uint8_t)v;
            idx[1] = (uint8_t)(v >> 8);
        }
        wr(dev, HV_VIRTIO_MMIO_QUEUE_NOTIFY, queue);
        break;
    }
    default: /* the guest writes its memory */
        memcpy(g->mem + le16_at(op + 2) % (MEM_BYTES - 3), op + 4, 4);
        break;
    }
    check_line(dev, g);
}

/*
 * The input's parts: a `header_bytes` header (missing bytes 0) whose byte
 * `count_at` is the number of operations (up to MAX_OPS, fewer when the
 * input ends), the operations, and guest memory (the rest, zero past its
 * end; NULL when out of memory). *ops and *nops say where the operations
 * are.
 */
static inline uint8_t *split_input(const uint8_t *data, size_t size, uint8_t *h,
                                   size_t header_bytes, size_t count_at, const uint8_t **ops,
                                   size_t *nops)
{
    size_t n;
    uint8_t *mem;

    memset(h, 0, header_bytes);
    memcpy(h, data, size < header_bytes ? size : header_bytes);
    n = h[count_at] % (MAX_OPS + 1);
    if (size < header_bytes + n * OP_BYTES)
        n = size > header_bytes ? (size - header_bytes) / OP_BYTES : 0;
    *ops = n ? data + header_bytes : data;
    *nops = n;
    mem = calloc(1, MEM_BYTES);
    if (mem && size > header_bytes + n * OP_BYTES) {
        size_t rest = size - header_bytes - n * OP_BYTES;

        memcpy(mem, data + header_bytes + n * OP_BYTES, rest < MEM_BYTES ? rest : MEM_BYTES);
    }
    return mem;
}

#endif

/*
 * tests/kvm/virtio-test.h - shared by the virtio-mmio device tests
 * (test-virtio.c, test-virtio-console.c): a fake guest memory (a buffer and
 * a hv_guest_ptr_fn over it) and what every device sees of a driver that
 * does what Linux's virtio_mmio does: register accesses, feature
 * negotiation, a queue's setup, descriptors, chains made available with a
 * notification, used elements taken, the interrupt handler. The available
 * index is stored with release and the used index loaded with acquire
 * ordering, as a driver does, so a test may run the device on another
 * thread too. And for the snapshot tests: a second driver and device that
 * take over a device's state (guest memory copied, the state decoded),
 * checks that two devices look the same, and refusals of damaged states.
 */
#ifndef HV_TEST_VIRTIO_H
#define HV_TEST_VIRTIO_H

#include "hv-test.h"
#include "kvm/virtio-mmio.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GUEST_BASE  0x100000ull
#define GUEST_BYTES (1u << 20)

typedef struct fake_guest {
    uint8_t *mem; /* GUEST_BYTES of guest RAM at GUEST_BASE */
} fake_guest;

/* One queue as the driver set it up. */
typedef struct drv_queue {
    uint64_t desc, avail, used; /* where its rings are */
    uint16_t size;
    uint16_t avail_idx; /* the driver's next available index */
    uint16_t used_seen; /* used entries the driver has taken */
} drv_queue;

typedef struct drv {
    fake_guest g;
    hv_virtio_mmio *dev;
    uint32_t device_id; /* what DeviceID must say */
    uint32_t queue_max; /* what QueueNumMax must say */
    bool irq;           /* the line, as irq_line() was told */
    unsigned int irq_raised;
    drv_queue q[2];
    /* the block device's image (test-virtio.c) */
    int fd;
    char path[64];
} drv;

/* ---- the fake guest memory ---------------------------------------------- */

static inline uint8_t *guest_ptr(void *ctx, uint64_t addr, uint64_t bytes)
{
    fake_guest *g = ctx;

    if (addr < GUEST_BASE || bytes > GUEST_BYTES || addr - GUEST_BASE > GUEST_BYTES - bytes)
        return NULL;
    return g->mem + (addr - GUEST_BASE);
}

static inline uint8_t *at(drv *d, uint64_t addr)
{
    assert_true(addr >= GUEST_BASE && addr < GUEST_BASE + GUEST_BYTES);
    return d->g.mem + (addr - GUEST_BASE);
}

static inline void put16(drv *d, uint64_t addr, uint16_t v)
{
    memcpy(at(d, addr), &v, 2);
}

static inline void put32(drv *d, uint64_t addr, uint32_t v)
{
    memcpy(at(d, addr), &v, 4);
}

static inline void put64(drv *d, uint64_t addr, uint64_t v)
{
    memcpy(at(d, addr), &v, 8);
}

static inline uint32_t get32(drv *d, uint64_t addr)
{
    uint32_t v;

    memcpy(&v, at(d, addr), 4);
    return v;
}

static inline uint16_t get16(drv *d, uint64_t addr)
{
    uint16_t v;

    memcpy(&v, at(d, addr), 2);
    return v;
}

/* ---- the device's registers ----------------------------------------------- */

/* The device's hv_virtio_irq_fn: `ctx` is the drv. */
static inline void irq_line(void *ctx, bool level)
{
    drv *d = ctx;

    assert_true(level != d->irq); /* called on changes only */
    d->irq = level;
    if (level)
        d->irq_raised++;
}

static inline uint32_t rd(drv *d, uint32_t offset)
{
    uint8_t data[4];

    hv_virtio_mmio_access(d->dev, offset, false, data, 4);
    return (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
           (uint32_t)data[3] << 24;
}

static inline void wr(drv *d, uint32_t offset, uint32_t value)
{
    uint8_t data[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
                       (uint8_t)(value >> 24)};

    hv_virtio_mmio_access(d->dev, offset, true, data, 4);
}

/* `len` bytes of the configuration space at `offset`, little-endian. */
static inline uint64_t config(drv *d, uint32_t offset, uint32_t len)
{
    uint8_t data[8];
    uint64_t v = 0;

    hv_virtio_mmio_access(d->dev, HV_VIRTIO_MMIO_CONFIG + offset, false, data, len);
    for (uint32_t i = 0; i < len; i++)
        v |= (uint64_t)data[i] << (8 * i);
    return v;
}

/* ---- the driver (what Linux's virtio_mmio.c does) ------------------------- */

static inline uint64_t device_features(drv *d)
{
    wr(d, HV_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t high = rd(d, HV_VIRTIO_MMIO_DEVICE_FEATURES);
    wr(d, HV_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    return high << 32 | rd(d, HV_VIRTIO_MMIO_DEVICE_FEATURES);
}

/* Reset, acknowledge, negotiate `features`: the status read back after FEATURES_OK. */
static inline uint32_t negotiate(drv *d, uint64_t features)
{
    assert_int_equal(rd(d, HV_VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    assert_int_equal(rd(d, HV_VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(rd(d, HV_VIRTIO_MMIO_DEVICE_ID), d->device_id);
    wr(d, HV_VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(rd(d, HV_VIRTIO_MMIO_STATUS), 0);
    wr(d, HV_VIRTIO_MMIO_STATUS, HV_VIRTIO_STATUS_ACKNOWLEDGE);
    wr(d, HV_VIRTIO_MMIO_STATUS, HV_VIRTIO_STATUS_ACKNOWLEDGE | HV_VIRTIO_STATUS_DRIVER);
    wr(d, HV_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, HV_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(d, HV_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, HV_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(d, HV_VIRTIO_MMIO_STATUS,
       HV_VIRTIO_STATUS_ACKNOWLEDGE | HV_VIRTIO_STATUS_DRIVER | HV_VIRTIO_STATUS_FEATURES_OK);
    return rd(d, HV_VIRTIO_MMIO_STATUS);
}

/* Zero a ring of the driver's, where it lies inside guest RAM. */
static inline void zero_ring(drv *d, uint64_t addr, uint64_t bytes)
{
    uint8_t *p = guest_ptr(&d->g, addr, bytes);

    if (p)
        memset(p, 0, bytes);
}

/* Queue `index` with `size` entries and its rings there (zeroed); its QueueReady after. */
static inline uint32_t queue_setup(drv *d, uint16_t index, uint32_t size, uint64_t desc,
                                   uint64_t avail, uint64_t used)
{
    drv_queue *q = &d->q[index];
    uint32_t entries =
        size >= 1 && size <= HV_VIRTQ_MAX_SIZE ? size : 1; /* a bad size: the indices */

    zero_ring(d, desc, HV_VIRTQ_DESC_BYTES(entries));
    zero_ring(d, avail, HV_VIRTQ_AVAIL_BYTES(entries));
    zero_ring(d, used, HV_VIRTQ_USED_BYTES(entries));
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->size = (uint16_t)size;
    q->avail_idx = q->used_seen = 0;
    wr(d, HV_VIRTIO_MMIO_QUEUE_SEL, index);
    assert_int_equal(rd(d, HV_VIRTIO_MMIO_QUEUE_READY), 0);
    assert_int_equal(rd(d, HV_VIRTIO_MMIO_QUEUE_NUM_MAX), d->queue_max);
    wr(d, HV_VIRTIO_MMIO_QUEUE_NUM, size);
    wr(d, HV_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(d, HV_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr(d, HV_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr(d, HV_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    wr(d, HV_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr(d, HV_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    wr(d, HV_VIRTIO_MMIO_QUEUE_READY, 1);
    return rd(d, HV_VIRTIO_MMIO_QUEUE_READY);
}

static inline void driver_ok(drv *d)
{
    wr(d, HV_VIRTIO_MMIO_STATUS,
       HV_VIRTIO_STATUS_ACKNOWLEDGE | HV_VIRTIO_STATUS_DRIVER | HV_VIRTIO_STATUS_FEATURES_OK |
           HV_VIRTIO_STATUS_DRIVER_OK);
}

static inline bool needs_reset(drv *d)
{
    return (rd(d, HV_VIRTIO_MMIO_STATUS) & HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET) != 0;
}

/* Descriptor `i` of the table at `table`. */
static inline void set_desc(drv *d, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
                            uint16_t flags, uint16_t next)
{
    uint64_t at_ = table + 16u * i;

    put64(d, at_, addr);
    put32(d, at_ + 8, len);
    put16(d, at_ + 12, flags);
    put16(d, at_ + 14, next);
}

/* Make `head` available on queue `index` and notify it. */
static inline void submit(drv *d, uint16_t index, uint16_t head)
{
    drv_queue *q = &d->q[index];

    put16(d, q->avail + 4 + 2u * (q->avail_idx % q->size), head);
    q->avail_idx++;
    /* release: the entry (and the descriptors, the buffers) before the index */
    __atomic_store_n((uint16_t *)(void *)at(d, q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
    wr(d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, index);
}

/* The next used element of queue `index`: false when the device has not completed one. */
static inline bool take_used(drv *d, uint16_t index, uint32_t *id, uint32_t *len)
{
    drv_queue *q = &d->q[index];
    /* acquire: the element (and the buffers' contents) the device wrote before the index */
    uint16_t used_idx =
        __atomic_load_n((const uint16_t *)(const void *)at(d, q->used + 2), __ATOMIC_ACQUIRE);
    uint64_t elem;

    if (used_idx == q->used_seen)
        return false;
    assert_true(q->size > 0);
    elem = q->used + 4 + 8u * (q->used_seen % q->size);
    *id = get32(d, elem);
    *len = get32(d, elem + 4);
    q->used_seen++;
    return true;
}

/* The interrupt handler: read the status, acknowledge it. */
static inline uint32_t ack(drv *d)
{
    uint32_t isr = rd(d, HV_VIRTIO_MMIO_INTERRUPT_STATUS);

    wr(d, HV_VIRTIO_MMIO_INTERRUPT_ACK, isr);
    assert_false(d->irq);
    return isr;
}

/* ---- snapshots (docs/snapshot-devices.md, written out again here) ----------- */

#define VMIO_DEVICE_ID        8
#define VMIO_QUEUE_COUNT      12
#define VMIO_DEVICE_FEATURES  16
#define VMIO_STATUS           32
#define VMIO_INTERRUPT_STATUS 36
#define VMIO_RESERVED         52
#define VMIO_QUEUE(i)         (56 + 40 * (i)) /* queue i's record */
#define VMIO_Q_NUM            0
#define VMIO_Q_FLAGS          4
#define VMIO_Q_DESC           8
#define VMIO_Q_DRIVER         16
#define VMIO_Q_DEVICE         24
#define VMIO_Q_RESERVED       36
#define VMIO_OWN(queues)      (56 + 40 * (queues)) /* the device part's length */

/* The device's state: a malloc'ed blob of *bytes. */
static inline uint8_t *state_of(drv *d, size_t *bytes)
{
    uint8_t *blob = NULL;

    assert_hv_ok(hv_virtio_mmio_state_encode(d->dev, &blob, bytes));
    assert_non_null(blob);
    return blob;
}

/* `to` (its device made, nothing done on it) takes over `from`'s guest memory and driver. */
static inline void take_over_driver(drv *to, const drv *from)
{
    memcpy(to->g.mem, from->g.mem, GUEST_BYTES);
    memcpy(to->q, from->q, sizeof(to->q));
}

/* Both devices answer every register (and configuration byte) alike. */
static inline void assert_same_registers(drv *a, drv *b)
{
    for (uint32_t offset = 0; offset < HV_VIRTIO_MMIO_CONFIG; offset += 4)
        assert_int_equal(rd(a, offset), rd(b, offset));
    for (uint32_t offset = 0; offset < 0x100; offset++)
        assert_int_equal(config(a, offset, 1), config(b, offset, 1));
    assert_int_equal(a->irq, b->irq);
}

/* Both devices are in the same state, over the same guest memory. */
static inline void assert_same_device(drv *a, drv *b)
{
    size_t na, nb;
    uint8_t *sa = state_of(a, &na), *sb = state_of(b, &nb);

    assert_int_equal(na, nb);
    assert_memory_equal(sa, sb, na);
    free(sa);
    free(sb);
    assert_same_registers(a, b);
    assert_memory_equal(a->g.mem, b->g.mem, GUEST_BYTES);
}

/* After a refused state: reset, as made, and the line never raised. */
static inline void assert_left_reset(drv *d, unsigned int raised)
{
    assert_int_equal(rd(d, HV_VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(rd(d, HV_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(d->irq);
    assert_int_equal(d->irq_raised, raised);
    for (uint32_t i = 0; i < 2; i++) {
        wr(d, HV_VIRTIO_MMIO_QUEUE_SEL, i);
        assert_int_equal(rd(d, HV_VIRTIO_MMIO_QUEUE_READY), 0);
    }
    wr(d, HV_VIRTIO_MMIO_QUEUE_SEL, 0);
}

/* One damage to a state: `width` bytes at `offset` set to `value` (or its size changed). */
typedef struct state_damage {
    const char *what;
    size_t offset;
    unsigned int width; /* 0: the size is `value` bytes more (a negative value: fewer) */
    int64_t value;
    const char *mentions;
} state_damage;

/* `d`'s device (reset) refuses `blob` with damage `dmg`, and is left reset. */
static inline void assert_state_refused(drv *d, const uint8_t *blob, size_t bytes,
                                        const state_damage *dmg)
{
    size_t size = dmg->width ? bytes : (size_t)((int64_t)bytes + dmg->value);
    uint8_t *bad = calloc(1, bytes + 16);
    unsigned int raised = d->irq_raised;

    assert_non_null(bad);
    memcpy(bad, blob, bytes);
    for (unsigned int i = 0; i < dmg->width; i++)
        bad[dmg->offset + i] = (uint8_t)((uint64_t)dmg->value >> (8 * i));
    assert_hv_error(hv_virtio_mmio_state_decode(d->dev, bad, size), HV_E_SNAPSHOT);
    print_message("%s: %s\n", dmg->what, hv_error_message(hv_error_last()));
    assert_error_mentions(dmg->mentions);
    assert_left_reset(d, raised);
    free(bad);
}

#endif

/*
 * kvm/virtio-mmio.c - the virtio-mmio transport (version 2), device side:
 * the register file of one device's window, feature negotiation, status
 * and reset, queue setup, notifications handed to the device model, work
 * the host starts on the device (hv_virtio_mmio_run), the interrupt status
 * and its line, DEVICE_NEEDS_RESET for a driver that breaks the rules, and
 * the whole state's snapshot bytes ("VMIO", docs/snapshot-devices.md).
 */
#include "kvm/virtio-mmio.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "kvm/state-bytes.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rate limit of complaints: a burst of this many, then one a second. */
#define COMPLAINT_BURST 10u

/* The status bits a driver sets (virtio 1.x, 2.1), and those with the device's own */
#define DRIVER_STATUS_BITS                                                                         \
    (HV_VIRTIO_STATUS_ACKNOWLEDGE | HV_VIRTIO_STATUS_DRIVER | HV_VIRTIO_STATUS_DRIVER_OK |         \
     HV_VIRTIO_STATUS_FEATURES_OK | HV_VIRTIO_STATUS_FAILED)
#define STATUS_BITS (DRIVER_STATUS_BITS | HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET)

struct hv_virtio_mmio {
    pthread_mutex_t lock;
    char name[64];
    hv_virtio_mmio_params p;  /* as made (its name: NULL, copied above) */
    uint64_t device_features; /* p.features and VIRTIO_F_VERSION_1 */
    /* the registers (guarded by lock) */
    uint32_t status, interrupt_status;
    uint32_t device_features_sel, driver_features_sel, queue_sel;
    uint64_t driver_features;
    bool irq_level;
    hv_virtq queues[HV_VIRTIO_MMIO_MAX_QUEUES];
    /* complaints: tokens left, when they were last refilled, how many were not logged */
    unsigned int tokens;
    uint64_t refilled_ns;
    uint64_t suppressed;
};

static void log_rate_limited(hv_virtio_mmio *dev, const char *fmt, va_list ap) HV_PRINTF(2, 0);

static void log_rate_limited(hv_virtio_mmio *dev, const char *fmt, va_list ap)
{
    uint64_t now = hv_clock_monotonic_ns();
    uint64_t seconds = (now - dev->refilled_ns) / 1000000000u;
    char message[512];

    if (seconds > 0) {
        dev->tokens = seconds >= COMPLAINT_BURST || dev->tokens + seconds > COMPLAINT_BURST
                          ? COMPLAINT_BURST
                          : dev->tokens + (unsigned int)seconds;
        dev->refilled_ns = now;
    }
    if (dev->tokens == 0) {
        dev->suppressed++;
        return;
    }
    dev->tokens--;
    vsnprintf(message, sizeof(message), fmt, ap);
    if (dev->suppressed)
        hv_log_warning("virtio", "%s: %s (%llu similar messages not logged)", dev->name, message,
                       (unsigned long long)dev->suppressed);
    else
        hv_log_warning("virtio", "%s: %s", dev->name, message);
    dev->suppressed = 0;
}

void hv_virtio_mmio_complain(hv_virtio_mmio *dev, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_rate_limited(dev, fmt, ap);
    va_end(ap);
}

/* Put the line where InterruptStatus says. */
static void update_irq(hv_virtio_mmio *dev)
{
    bool level = dev->interrupt_status != 0;

    if (level == dev->irq_level)
        return;
    dev->irq_level = level;
    if (dev->p.irq)
        dev->p.irq(dev->p.irq_ctx, level);
}

static void raise_interrupt(hv_virtio_mmio *dev, uint32_t bits)
{
    dev->interrupt_status |= bits;
    update_irq(dev);
}

void hv_virtio_mmio_needs_reset(hv_virtio_mmio *dev, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (dev->status & HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return;
    hv_virtio_mmio_complain(dev, "%s: the device needs a reset", reason);
    dev->status |= HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (dev->status & HV_VIRTIO_STATUS_DRIVER_OK)
        raise_interrupt(dev, HV_VIRTIO_INT_CONFIG);
}

static void reset(hv_virtio_mmio *dev)
{
    dev->status = 0;
    dev->interrupt_status = 0;
    dev->device_features_sel = dev->driver_features_sel = dev->queue_sel = 0;
    dev->driver_features = 0;
    for (uint16_t i = 0; i < dev->p.queue_count; i++)
        hv_virtq_reset(&dev->queues[i]);
    update_irq(dev);
    if (dev->p.ops->reset)
        dev->p.ops->reset(dev->p.ctx);
}

int hv_virtio_mmio_new(const hv_virtio_mmio_params *p, hv_virtio_mmio **out)
{
    hv_virtio_mmio *dev;
    int rc;

    if (out)
        *out = NULL;
    if (!p || !out || !p->ops || !p->ops->config_read || !p->ops->notify || !p->guest_ptr) {
        rc = hv_error_null_arg(__func__, "params, its ops, config_read, notify, guest_ptr or out");
        goto fail;
    }
    if (p->queue_count == 0 || p->queue_count > HV_VIRTIO_MMIO_MAX_QUEUES || p->queue_max == 0 ||
        p->queue_max > HV_VIRTQ_MAX_SIZE || (p->queue_max & (p->queue_max - 1)) != 0 ||
        p->config_bytes > HV_VIRTIO_MMIO_USED_BYTES - HV_VIRTIO_MMIO_CONFIG) {
        rc = hv_error_set(HV_E_INVAL, NULL,
                          "virtio-mmio: %u queues of at most %u entries and %u bytes of "
                          "configuration: at most %u queues, a power of two up to %u entries, "
                          "%u bytes",
                          p->queue_count, p->queue_max, p->config_bytes, HV_VIRTIO_MMIO_MAX_QUEUES,
                          HV_VIRTQ_MAX_SIZE, HV_VIRTIO_MMIO_USED_BYTES - HV_VIRTIO_MMIO_CONFIG);
        goto fail;
    }
    dev = calloc(1, sizeof(*dev));
    if (!dev) {
        rc = hv_error_nomem();
        goto fail;
    }
    rc = pthread_mutex_init(&dev->lock, NULL);
    if (rc) {
        free(dev);
        rc = hv_error_set_errno(HV_E_IO, rc, NULL, "virtio-mmio: pthread_mutex_init");
        goto fail;
    }
    snprintf(dev->name, sizeof(dev->name), "%s", p->name ? p->name : "virtio");
    dev->p = *p;
    dev->p.name = NULL;
    dev->device_features = p->features | HV_VIRTIO_F_VERSION_1;
    dev->tokens = COMPLAINT_BURST;
    dev->refilled_ns = hv_clock_monotonic_ns();
    for (uint16_t i = 0; i < dev->p.queue_count; i++)
        hv_virtq_reset(&dev->queues[i]);
    *out = dev;
    return 0;

fail:
    if (p && p->ops && p->ops->destroy)
        p->ops->destroy(p->ctx);
    return rc;
}

void hv_virtio_mmio_free(hv_virtio_mmio *dev)
{
    if (!dev)
        return;
    if (dev->p.ops->destroy)
        dev->p.ops->destroy(dev->p.ctx);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

uint64_t hv_virtio_mmio_features(const hv_virtio_mmio *dev)
{
    return dev->status & HV_VIRTIO_STATUS_FEATURES_OK ? dev->driver_features : 0;
}

uint32_t hv_virtio_mmio_status(hv_virtio_mmio *dev)
{
    uint32_t status;

    pthread_mutex_lock(&dev->lock);
    status = dev->status;
    pthread_mutex_unlock(&dev->lock);
    return status;
}

/* The selected queue, or NULL when QueueSel names none. */
static hv_virtq *selected(hv_virtio_mmio *dev)
{
    return dev->queue_sel < dev->p.queue_count ? &dev->queues[dev->queue_sel] : NULL;
}

static uint32_t read_register(hv_virtio_mmio *dev, uint32_t offset)
{
    hv_virtq *q = selected(dev);

    switch (offset) {
    case HV_VIRTIO_MMIO_MAGIC_VALUE:
        return HV_VIRTIO_MMIO_MAGIC;
    case HV_VIRTIO_MMIO_VERSION:
        return 2;
    case HV_VIRTIO_MMIO_DEVICE_ID:
        return dev->p.device_id;
    case HV_VIRTIO_MMIO_VENDOR_ID:
        return HV_VIRTIO_MMIO_VENDOR;
    case HV_VIRTIO_MMIO_DEVICE_FEATURES:
        return dev->device_features_sel < 2
                   ? (uint32_t)(dev->device_features >> (32 * dev->device_features_sel))
                   : 0;
    case HV_VIRTIO_MMIO_QUEUE_NUM_MAX:
        return q ? dev->p.queue_max : 0;
    case HV_VIRTIO_MMIO_QUEUE_READY:
        return q && q->ready;
    case HV_VIRTIO_MMIO_INTERRUPT_STATUS:
        return dev->interrupt_status;
    case HV_VIRTIO_MMIO_STATUS:
        return dev->status;
    case HV_VIRTIO_MMIO_SHM_LEN_LOW:
    case HV_VIRTIO_MMIO_SHM_LEN_HIGH:
    case HV_VIRTIO_MMIO_SHM_BASE_LOW:
    case HV_VIRTIO_MMIO_SHM_BASE_HIGH:
        return 0xFFFFFFFFu; /* no shared memory region */
    case HV_VIRTIO_MMIO_CONFIG_GENERATION:
        return 0; /* the configuration never changes */
    default:
        return 0;
    }
}

/* FEATURES_OK: whether the device takes the features the driver accepted. */
static bool features_ok(hv_virtio_mmio *dev)
{
    uint64_t unknown = dev->driver_features & ~dev->device_features;

    if (!(dev->driver_features & HV_VIRTIO_F_VERSION_1)) {
        hv_virtio_mmio_complain(dev, "the driver does not accept VIRTIO_F_VERSION_1 (a legacy "
                                     "driver?): features refused, the device fails");
        return false;
    }
    if (unknown) {
        hv_virtio_mmio_complain(dev,
                                "the driver accepted features 0x%llx the device does not "
                                "offer: features refused",
                                (unsigned long long)unknown);
        return false;
    }
    return true;
}

static void write_status(hv_virtio_mmio *dev, uint32_t value)
{
    uint32_t added = value & ~dev->status;

    if (value == 0) {
        reset(dev);
        return;
    }
    /* DEVICE_NEEDS_RESET is the device's to set; the driver cannot take bits back but by a
     * reset; bits the spec does not define are not kept (a snapshot refuses them) */
    value &= DRIVER_STATUS_BITS;
    if ((added & HV_VIRTIO_STATUS_FEATURES_OK) && !features_ok(dev)) {
        value &= ~HV_VIRTIO_STATUS_FEATURES_OK;
        added &= ~HV_VIRTIO_STATUS_FEATURES_OK;
    }
    dev->status |= value;
    if ((added & HV_VIRTIO_STATUS_DRIVER_OK) && !(dev->status & HV_VIRTIO_STATUS_FEATURES_OK))
        hv_virtio_mmio_needs_reset(dev, "DRIVER_OK without FEATURES_OK");
}

/* After the device completed chains: the used-buffer interrupt, unless the driver declined it. */
static void interrupt_if_due(hv_virtio_mmio *dev)
{
    bool due = false;

    /* every queue asked: each call clears its "completions since" flag */
    for (uint16_t i = 0; i < dev->p.queue_count; i++)
        due = hv_virtq_interrupt_due(&dev->queues[i]) || due;
    if (due)
        raise_interrupt(dev, HV_VIRTIO_INT_VRING);
}

hv_virtq *hv_virtio_mmio_queue(hv_virtio_mmio *dev, uint16_t index)
{
    if (index >= dev->p.queue_count || !dev->queues[index].ready ||
        !(dev->status & HV_VIRTIO_STATUS_DRIVER_OK) ||
        (dev->status & HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        return NULL;
    return &dev->queues[index];
}

void hv_virtio_mmio_run(hv_virtio_mmio *dev, hv_virtio_mmio_fn fn, void *ctx)
{
    if (!dev || !fn)
        return;
    pthread_mutex_lock(&dev->lock);
    fn(ctx, dev);
    interrupt_if_due(dev);
    pthread_mutex_unlock(&dev->lock);
}

static void notify(hv_virtio_mmio *dev, uint32_t index)
{
    hv_virtq *q = index < dev->p.queue_count ? &dev->queues[index] : NULL;

    if (!q) {
        hv_virtio_mmio_needs_reset(dev, "notification for queue %u: the device has %u", index,
                                   dev->p.queue_count);
        return;
    }
    if (!q->ready) {
        hv_virtio_mmio_needs_reset(dev, "notification for queue %u, which is not ready", index);
        return;
    }
    if (!(dev->status & HV_VIRTIO_STATUS_DRIVER_OK)) {
        hv_virtio_mmio_needs_reset(dev, "notification for queue %u before DRIVER_OK", index);
        return;
    }
    dev->p.ops->notify(dev->p.ctx, dev, q, (uint16_t)index);
    interrupt_if_due(dev);
}

/* Set the low or high half of a 64-bit queue address. */
static void set_half(uint64_t *addr, bool high, uint32_t value)
{
    if (high)
        *addr = (*addr & 0xFFFFFFFFull) | (uint64_t)value << 32;
    else
        *addr = (*addr & ~0xFFFFFFFFull) | value;
}

/* A write to a queue's setup register: only while the queue is not ready. */
static void write_queue(hv_virtio_mmio *dev, uint32_t offset, uint32_t value)
{
    hv_virtq *q = selected(dev);

    if (!q || q->ready || (dev->status & HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        return;
    switch (offset) {
    case HV_VIRTIO_MMIO_QUEUE_NUM:
        q->num = value;
        break;
    case HV_VIRTIO_MMIO_QUEUE_READY:
        if (hv_virtq_start(q, dev->p.queue_max, dev->p.guest_ptr, dev->p.guest_ctx) < 0)
            hv_virtio_mmio_needs_reset(dev, "queue %u: %s", dev->queue_sel, q->why);
        break;
    case HV_VIRTIO_MMIO_QUEUE_DESC_LOW:
    case HV_VIRTIO_MMIO_QUEUE_DESC_HIGH:
        set_half(&q->desc_addr, offset == HV_VIRTIO_MMIO_QUEUE_DESC_HIGH, value);
        break;
    case HV_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case HV_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        set_half(&q->avail_addr, offset == HV_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, value);
        break;
    default: /* HV_VIRTIO_MMIO_QUEUE_DEVICE_LOW, _HIGH */
        set_half(&q->used_addr, offset == HV_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, value);
        break;
    }
}

static void write_register(hv_virtio_mmio *dev, uint32_t offset, uint32_t value)
{
    switch (offset) {
    case HV_VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        dev->device_features_sel = value;
        break;
    case HV_VIRTIO_MMIO_DRIVER_FEATURES:
        if (dev->driver_features_sel < 2 && !(dev->status & HV_VIRTIO_STATUS_FEATURES_OK))
            set_half(&dev->driver_features, dev->driver_features_sel == 1, value);
        break;
    case HV_VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        dev->driver_features_sel = value;
        break;
    case HV_VIRTIO_MMIO_QUEUE_SEL:
        dev->queue_sel = value;
        break;
    case HV_VIRTIO_MMIO_QUEUE_READY:
        if (value)
            write_queue(dev, offset, value);
        else if (selected(dev))
            selected(dev)->ready = false; /* the driver takes the queue down */
        break;
    case HV_VIRTIO_MMIO_QUEUE_NUM:
    case HV_VIRTIO_MMIO_QUEUE_DESC_LOW:
    case HV_VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case HV_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case HV_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case HV_VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case HV_VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        write_queue(dev, offset, value);
        break;
    case HV_VIRTIO_MMIO_QUEUE_NOTIFY:
        if (!(dev->status & HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET))
            notify(dev, value);
        break;
    case HV_VIRTIO_MMIO_INTERRUPT_ACK:
        dev->interrupt_status &= ~value;
        update_irq(dev);
        break;
    case HV_VIRTIO_MMIO_STATUS:
        write_status(dev, value);
        break;
    default: /* read-only or unknown registers, SHMSel: ignored */
        break;
    }
}

/* Configuration space: bytes past the device's read as 0, writes there are ignored. */
static void access_config(hv_virtio_mmio *dev, uint32_t offset, bool is_write, uint8_t *data,
                          uint32_t len)
{
    uint32_t inside = offset < dev->p.config_bytes ? dev->p.config_bytes - offset : 0;

    if (inside > len)
        inside = len;
    if (is_write) {
        if (inside && dev->p.ops->config_write)
            dev->p.ops->config_write(dev->p.ctx, offset, data, inside);
        return;
    }
    memset(data, 0, len);
    if (inside)
        dev->p.ops->config_read(dev->p.ctx, offset, data, inside);
}

void hv_virtio_mmio_access(hv_virtio_mmio *dev, uint64_t offset, bool is_write, uint8_t *data,
                           uint32_t len)
{
    if (!dev || !data || len == 0 || len > 8)
        return;
    if (!is_write)
        memset(data, 0, len);
    if (offset >= HV_VIRTIO_MMIO_USED_BYTES)
        return;
    pthread_mutex_lock(&dev->lock);
    if (offset >= HV_VIRTIO_MMIO_CONFIG) {
        access_config(dev, (uint32_t)offset - HV_VIRTIO_MMIO_CONFIG, is_write, data,
                      offset + len > HV_VIRTIO_MMIO_USED_BYTES
                          ? HV_VIRTIO_MMIO_USED_BYTES - (uint32_t)offset
                          : len);
    } else if (len != 4 || offset % 4) {
        hv_virtio_mmio_complain(dev,
                                "%u-byte %s at register 0x%03x: registers take aligned "
                                "32-bit accesses only (ignored)",
                                len, is_write ? "write" : "read", (unsigned int)offset);
    } else if (is_write) {
        uint32_t value = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                         (uint32_t)data[3] << 24;

        write_register(dev, (uint32_t)offset, value);
    } else {
        uint32_t value = read_register(dev, (uint32_t)offset);

        for (int i = 0; i < 4; i++)
            data[i] = (uint8_t)(value >> (8 * i));
    }
    pthread_mutex_unlock(&dev->lock);
}

/* ---- the snapshot's bytes (docs/snapshot-devices.md, "virtio-mmio") ---------------- */

#define STATE_VERSION 1u

/* The header's fields, then one record per queue, then the device's part. */
enum {
    S_DEVICE_ID = 8,
    S_QUEUE_COUNT = 12,
    S_DEVICE_FEATURES = 16,
    S_DRIVER_FEATURES = 24,
    S_STATUS = 32,
    S_INTERRUPT_STATUS = 36,
    S_DEVICE_FEATURES_SEL = 40,
    S_DRIVER_FEATURES_SEL = 44,
    S_QUEUE_SEL = 48,
    S_RESERVED = 52,
    S_HEADER_BYTES = 56,
    /* a queue's record */
    Q_NUM = 0,
    Q_FLAGS = 4,
    Q_DESC = 8,
    Q_DRIVER = 16,
    Q_DEVICE = 24,
    Q_LAST_AVAIL = 32,
    Q_USED_IDX = 34,
    Q_RESERVED = 36,
    Q_BYTES = 40,
    /* the device's part: its length, then its bytes */
    D_LENGTH_BYTES = 4
};

#define Q_READY  0x1u
#define Q_BROKEN 0x2u

/* Where the device's part starts in a state of `queues` queues. */
static size_t device_part_at(uint32_t queues)
{
    return S_HEADER_BYTES + (size_t)Q_BYTES * queues + D_LENGTH_BYTES;
}

static void encode_queue(const hv_virtq *q, uint8_t *r)
{
    hv_state_put(r + Q_NUM, q->num, 4);
    hv_state_put(r + Q_FLAGS, (q->ready ? Q_READY : 0) | (q->broken ? Q_BROKEN : 0), 4);
    hv_state_put(r + Q_DESC, q->desc_addr, 8);
    hv_state_put(r + Q_DRIVER, q->avail_addr, 8);
    hv_state_put(r + Q_DEVICE, q->used_addr, 8);
    hv_state_put(r + Q_LAST_AVAIL, q->last_avail, 2);
    hv_state_put(r + Q_USED_IDX, q->used_idx, 2);
    hv_state_put(r + Q_RESERVED, 0, 4);
}

int hv_virtio_mmio_state_encode(hv_virtio_mmio *dev, uint8_t **buf, size_t *bytes)
{
    uint8_t *own = NULL, *out;
    size_t own_bytes = 0, at;
    int rc = 0;

    if (!dev || !buf || !bytes)
        return hv_error_null_arg(__func__, !dev ? "dev" : !buf ? "buf" : "bytes");
    *buf = NULL;
    *bytes = 0;
    pthread_mutex_lock(&dev->lock);
    if (dev->p.ops->state_encode)
        rc = dev->p.ops->state_encode(dev->p.ctx, &own, &own_bytes);
    if (rc == 0 && own_bytes > UINT32_MAX)
        rc = hv_error_set(HV_E_INVAL, NULL, "%s: the device's state has %zu bytes: at most 4 GiB",
                          dev->name, own_bytes);
    at = device_part_at(dev->p.queue_count);
    out = rc == 0 ? malloc(at + own_bytes) : NULL;
    if (rc == 0 && !out)
        rc = hv_error_nomem();
    if (rc == 0) {
        hv_state_put_head(out, "VMIO", STATE_VERSION);
        hv_state_put(out + S_DEVICE_ID, dev->p.device_id, 4);
        hv_state_put(out + S_QUEUE_COUNT, dev->p.queue_count, 4);
        hv_state_put(out + S_DEVICE_FEATURES, dev->device_features, 8);
        hv_state_put(out + S_DRIVER_FEATURES, dev->driver_features, 8);
        hv_state_put(out + S_STATUS, dev->status, 4);
        hv_state_put(out + S_INTERRUPT_STATUS, dev->interrupt_status, 4);
        hv_state_put(out + S_DEVICE_FEATURES_SEL, dev->device_features_sel, 4);
        hv_state_put(out + S_DRIVER_FEATURES_SEL, dev->driver_features_sel, 4);
        hv_state_put(out + S_QUEUE_SEL, dev->queue_sel, 4);
        hv_state_put(out + S_RESERVED, 0, 4);
        for (uint16_t i = 0; i < dev->p.queue_count; i++)
            encode_queue(&dev->queues[i], out + S_HEADER_BYTES + (size_t)Q_BYTES * i);
        hv_state_put(out + at - D_LENGTH_BYTES, own_bytes, 4);
        if (own_bytes)
            memcpy(out + at, own, own_bytes);
        *buf = out;
        *bytes = at + own_bytes;
    }
    pthread_mutex_unlock(&dev->lock);
    free(own);
    return rc;
}

/* A state this device cannot take: HV_E_SNAPSHOT, the device's name first. */
static int refuse(const hv_virtio_mmio *dev, const char *fmt, ...) HV_PRINTF(2, 3);

static int refuse(const hv_virtio_mmio *dev, const char *fmt, ...)
{
    char detail[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return hv_error_set(HV_E_SNAPSHOT, NULL,
                        "virtio device %s: %s: the snapshot is corrupted or is not of this "
                        "device",
                        dev->name, detail);
}

/* The header's fields that must match the device, and the registers' values: 0 or refused. */
static int check_header(const hv_virtio_mmio *dev, const uint8_t *p, size_t bytes)
{
    uint32_t device_id, queues, status, isr;
    uint64_t offered, accepted;

    if (bytes < S_HEADER_BYTES)
        return refuse(dev, "%zu bytes of state, less than its %u-byte header", bytes,
                      S_HEADER_BYTES);
    device_id = (uint32_t)hv_state_get(p + S_DEVICE_ID, 4);
    queues = (uint32_t)hv_state_get(p + S_QUEUE_COUNT, 4);
    offered = hv_state_get(p + S_DEVICE_FEATURES, 8);
    accepted = hv_state_get(p + S_DRIVER_FEATURES, 8);
    status = (uint32_t)hv_state_get(p + S_STATUS, 4);
    isr = (uint32_t)hv_state_get(p + S_INTERRUPT_STATUS, 4);
    if (device_id != dev->p.device_id)
        return refuse(dev, "the state is of device id %u, this device is id %u", device_id,
                      dev->p.device_id);
    if (queues != dev->p.queue_count)
        return refuse(dev, "the state has %u queues, this device %u", queues, dev->p.queue_count);
    if (offered != dev->device_features)
        return refuse(dev, "the state's device offered features 0x%llx, this device 0x%llx",
                      (unsigned long long)offered, (unsigned long long)dev->device_features);
    if (hv_state_get(p + S_RESERVED, 4))
        return refuse(dev, "reserved header bytes %u..%u are not zero", S_RESERVED,
                      S_HEADER_BYTES - 1);
    if (status & ~STATUS_BITS)
        return refuse(dev, "status 0x%x has bits the device never sets (0x%x)", status,
                      status & ~STATUS_BITS);
    if ((status & HV_VIRTIO_STATUS_FEATURES_OK) &&
        (!(accepted & HV_VIRTIO_F_VERSION_1) || (accepted & ~offered)))
        return refuse(dev,
                      "FEATURES_OK with driver features 0x%llx: the device takes VERSION_1 "
                      "and only what it offers (0x%llx)",
                      (unsigned long long)accepted, (unsigned long long)offered);
    if ((status & HV_VIRTIO_STATUS_DRIVER_OK) && !(status & HV_VIRTIO_STATUS_FEATURES_OK) &&
        !(status & HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        return refuse(dev,
                      "status 0x%x: DRIVER_OK without FEATURES_OK puts the device in "
                      "DEVICE_NEEDS_RESET",
                      status);
    if (isr & ~(uint32_t)(HV_VIRTIO_INT_VRING | HV_VIRTIO_INT_CONFIG))
        return refuse(dev, "InterruptStatus 0x%x has bits other than 0x1 and 0x2", isr);
    return 0;
}

/* Queue `index`'s record at `r` into the device's queue: 0 or refused (the queue then broken). */
static int decode_queue(hv_virtio_mmio *dev, uint16_t index, const uint8_t *r)
{
    hv_virtq *q = &dev->queues[index];
    uint32_t flags = (uint32_t)hv_state_get(r + Q_FLAGS, 4);

    if (flags & ~(Q_READY | Q_BROKEN))
        return refuse(dev, "queue %u: flags 0x%x: only ready (0x1) and broken (0x2) are defined",
                      index, flags);
    if (hv_state_get(r + Q_RESERVED, 4))
        return refuse(dev, "queue %u: reserved bytes %u..%u are not zero", index, Q_RESERVED,
                      Q_BYTES - 1);
    if ((flags & Q_BROKEN) && !(dev->status & HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        return refuse(dev,
                      "queue %u is broken but the device is not in DEVICE_NEEDS_RESET (a queue "
                      "that breaks puts it there)",
                      index);
    q->num = (uint32_t)hv_state_get(r + Q_NUM, 4);
    q->desc_addr = hv_state_get(r + Q_DESC, 8);
    q->avail_addr = hv_state_get(r + Q_DRIVER, 8);
    q->used_addr = hv_state_get(r + Q_DEVICE, 8);
    if ((flags & Q_READY) &&
        hv_virtq_start(q, dev->p.queue_max, dev->p.guest_ptr, dev->p.guest_ctx) < 0)
        return refuse(dev, "queue %u, ready: %s", index, q->why);
    q->last_avail = (uint16_t)hv_state_get(r + Q_LAST_AVAIL, 2);
    q->used_idx = (uint16_t)hv_state_get(r + Q_USED_IDX, 2);
    if (flags & Q_BROKEN) {
        q->broken = true;
        snprintf(q->why, sizeof(q->why),
                 "the queue broke before the snapshot was taken (the driver must reset the "
                 "device)");
    }
    return 0;
}

/* The device's part to its decoder: 0 or refused, the decoder's message under the name. */
static int decode_own(hv_virtio_mmio *dev, const uint8_t *own, size_t own_bytes)
{
    char message[512];
    int rc;

    if (!dev->p.ops->state_decode) {
        if (own_bytes)
            return refuse(dev, "%zu bytes of device state, but this device keeps none", own_bytes);
        return 0;
    }
    rc = dev->p.ops->state_decode(dev->p.ctx, own, own_bytes);
    if (rc == 0)
        return 0;
    snprintf(message, sizeof(message), "%s", hv_error_message(hv_error_last()));
    return hv_error_set(rc, NULL, "virtio device %s: %s", dev->name, message);
}

static int decode_locked(hv_virtio_mmio *dev, const uint8_t *p, size_t bytes)
{
    char what[96];
    size_t at, own_bytes;
    int rc;

    snprintf(what, sizeof(what), "virtio device %s", dev->name);
    rc = hv_state_check_head(p, bytes, "VMIO", STATE_VERSION, what);
    if (rc == 0)
        rc = check_header(dev, p, bytes);
    if (rc < 0)
        return rc;
    at = device_part_at(dev->p.queue_count);
    if (bytes < at)
        return refuse(dev,
                      "%zu bytes of state: the header, %u queue records of %u bytes and the device "
                      "part's length take %zu",
                      bytes, dev->p.queue_count, Q_BYTES, at);
    own_bytes = (size_t)hv_state_get(p + at - D_LENGTH_BYTES, 4);
    if (own_bytes != bytes - at)
        return refuse(dev, "the device part says %zu bytes, %zu follow it (%s)", own_bytes,
                      bytes - at, own_bytes > bytes - at ? "truncated" : "trailing bytes");
    dev->driver_features = hv_state_get(p + S_DRIVER_FEATURES, 8);
    dev->status = (uint32_t)hv_state_get(p + S_STATUS, 4);
    dev->device_features_sel = (uint32_t)hv_state_get(p + S_DEVICE_FEATURES_SEL, 4);
    dev->driver_features_sel = (uint32_t)hv_state_get(p + S_DRIVER_FEATURES_SEL, 4);
    dev->queue_sel = (uint32_t)hv_state_get(p + S_QUEUE_SEL, 4);
    for (uint16_t i = 0; i < dev->p.queue_count; i++) {
        rc = decode_queue(dev, i, p + S_HEADER_BYTES + (size_t)Q_BYTES * i);
        if (rc < 0)
            return rc;
    }
    rc = decode_own(dev, p + at, own_bytes);
    if (rc < 0)
        return rc;
    raise_interrupt(dev, (uint32_t)hv_state_get(p + S_INTERRUPT_STATUS, 4));
    return 0;
}

int hv_virtio_mmio_state_decode(hv_virtio_mmio *dev, const void *data, size_t bytes)
{
    int rc;

    if (!dev || !data)
        return hv_error_null_arg(__func__, !dev ? "dev" : "data");
    pthread_mutex_lock(&dev->lock);
    reset(dev);
    rc = decode_locked(dev, data, bytes);
    if (rc < 0)
        reset(dev);
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

/*
 * kvm/virtio-mmio.h - the virtio-mmio transport, version 2 (virtio 1.x
 * "modern" register layout), device side (internal, pure): the registers of
 * one device's 4 KiB MMIO window (0x200 bytes used: the registers, then the
 * device's configuration space at 0x100), feature negotiation, the device
 * status (a write of 0 resets), its queues' setup and notifications, and the
 * interrupt status as a level the caller puts on the device's IRQ line. What
 * makes a block, console or vsock device is behind a small ops table; work
 * the host starts (input for the guest) runs under the same lock as the
 * guest's accesses (hv_virtio_mmio_run). The whole state, the device's
 * included, goes into a snapshot and comes back from one
 * (hv_virtio_mmio_state_encode/_decode, docs/snapshot-devices.md).
 *
 * The guest is untrusted: whatever it writes, the host goes on. A driver
 * that breaks the rules (a bad queue, a notification before the queue is
 * ready, a legacy driver that refuses VIRTIO_F_VERSION_1) puts the device
 * in DEVICE_NEEDS_RESET (status bit 0x40, with a configuration-change
 * interrupt once DRIVER_OK was set): it does nothing more until the driver
 * resets it. Such events are logged (domain "virtio", rate-limited).
 */
#ifndef HV_KVM_VIRTIO_MMIO_H
#define HV_KVM_VIRTIO_MMIO_H

#include "kvm/loader.h"
#include "kvm/virtqueue.h"

#include <hpcvirt/common.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The window the engine maps per device, and how much of it has registers. */
#define HV_VIRTIO_MMIO_WINDOW_BYTES 0x1000u
#define HV_VIRTIO_MMIO_USED_BYTES   0x200u

/* Registers (virtio 1.x, 4.2.2) */
#define HV_VIRTIO_MMIO_MAGIC_VALUE         0x000
#define HV_VIRTIO_MMIO_VERSION             0x004
#define HV_VIRTIO_MMIO_DEVICE_ID           0x008
#define HV_VIRTIO_MMIO_VENDOR_ID           0x00c
#define HV_VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define HV_VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define HV_VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define HV_VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define HV_VIRTIO_MMIO_QUEUE_SEL           0x030
#define HV_VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define HV_VIRTIO_MMIO_QUEUE_NUM           0x038
#define HV_VIRTIO_MMIO_QUEUE_READY         0x044
#define HV_VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define HV_VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define HV_VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define HV_VIRTIO_MMIO_STATUS              0x070
#define HV_VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define HV_VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define HV_VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define HV_VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define HV_VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define HV_VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define HV_VIRTIO_MMIO_SHM_SEL             0x0ac
#define HV_VIRTIO_MMIO_SHM_LEN_LOW         0x0b0
#define HV_VIRTIO_MMIO_SHM_LEN_HIGH        0x0b4
#define HV_VIRTIO_MMIO_SHM_BASE_LOW        0x0b8
#define HV_VIRTIO_MMIO_SHM_BASE_HIGH       0x0bc
#define HV_VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define HV_VIRTIO_MMIO_CONFIG              0x100

#define HV_VIRTIO_MMIO_MAGIC               0x74726976u /* "virt" */
/** VendorID: "hpcv" as a little-endian word */
#define HV_VIRTIO_MMIO_VENDOR 0x76637068u

/* Device status bits (virtio 1.x, 2.1) */
#define HV_VIRTIO_STATUS_ACKNOWLEDGE        1u
#define HV_VIRTIO_STATUS_DRIVER             2u
#define HV_VIRTIO_STATUS_DRIVER_OK          4u
#define HV_VIRTIO_STATUS_FEATURES_OK        8u
#define HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define HV_VIRTIO_STATUS_FAILED             128u

/* InterruptStatus bits */
#define HV_VIRTIO_INT_VRING  1u /**< a used buffer */
#define HV_VIRTIO_INT_CONFIG 2u /**< the configuration changed (or the device needs a reset) */

/** VIRTIO_F_VERSION_1: every device offers it and every driver must accept it. */
#define HV_VIRTIO_F_VERSION_1 (1ull << 32)

/** The most queues one device has. */
#define HV_VIRTIO_MMIO_MAX_QUEUES 8

typedef struct hv_virtio_mmio hv_virtio_mmio;

/**
 * Called with the new level of the device's interrupt line (high while
 * InterruptStatus is not 0) each time it changes: the caller sets its KVM
 * IRQ line. It runs with the device's lock held: it must not call back
 * into the device.
 */
typedef void (*hv_virtio_irq_fn)(void *ctx, bool level);

/**
 * What a device model provides. Every callback runs with the device's lock
 * held (one guest access at a time, whatever the vCPU); `ctx` is the
 * device's own.
 */
typedef struct hv_virtio_mmio_ops {
    /** Read `len` bytes of its configuration space at `offset` (inside config_bytes). */
    void (*config_read)(void *ctx, uint32_t offset, uint8_t *data, uint32_t len);
    /** The driver wrote them (inside config_bytes); NULL: writes are ignored. */
    void (*config_write)(void *ctx, uint32_t offset, const uint8_t *data, uint32_t len);
    /**
     * The driver notified queue `q` (ready, the device not in NEEDS_RESET,
     * DRIVER_OK set): take chains with hv_virtq_pop(), complete them with
     * hv_virtq_push(); a broken queue or a request it cannot answer:
     * hv_virtio_mmio_needs_reset(). The transport sends the interrupt.
     */
    void (*notify)(void *ctx, hv_virtio_mmio *dev, hv_virtq *q, uint16_t index);
    /** The driver reset the device (status 0): forget any request state. NULL: nothing. */
    void (*reset)(void *ctx);
    /** Free `ctx` (hv_virtio_mmio_free()). NULL: nothing. */
    void (*destroy)(void *ctx);
    /**
     * The device's own state for a snapshot (what the transport's registers
     * and queues do not say: bytes held for the guest, ...) in a malloc'ed
     * buffer (*bytes may be 0): 0 or HV_E_NOMEM. NULL: the device has no
     * state of its own. Its layout starts with a magic and a version
     * (docs/snapshot-devices.md).
     */
    int (*state_encode)(void *ctx, uint8_t **buf, size_t *bytes);
    /**
     * Put back what state_encode wrote (called on a device that was just
     * reset, its transport's state already restored), checking everything:
     * HV_E_SNAPSHOT saying what is wrong, with the device's state unchanged.
     * NULL: the device has no state of its own (a state with device bytes
     * is refused). Required when state_encode is given.
     */
    int (*state_decode)(void *ctx, const void *data, size_t bytes);
} hv_virtio_mmio_ops;

typedef struct hv_virtio_mmio_params {
    const char *name; /**< for messages ("disk0"); copied */
    uint32_t device_id;
    uint64_t features; /**< the device's own feature bits; VIRTIO_F_VERSION_1 is added */
    uint16_t queue_count;
    uint16_t queue_max;    /**< QueueNumMax of each: a power of two, at most HV_VIRTQ_MAX_SIZE */
    uint32_t config_bytes; /**< at most 0x100 (the window's used part) */
    const hv_virtio_mmio_ops *ops;
    void *ctx; /**< the device's; the transport owns it once created (ops->destroy) */
    hv_guest_ptr_fn guest_ptr;
    void *guest_ctx;
    hv_virtio_irq_fn irq; /**< may be NULL */
    void *irq_ctx;
} hv_virtio_mmio_params;

/**
 * Make a device's transport (reset state, interrupt line low). HV_E_INVAL
 * for parameters out of range; on failure ops->destroy(ctx) has been called.
 */
int hv_virtio_mmio_new(const hv_virtio_mmio_params *params, hv_virtio_mmio **out);

/** Free the transport and its device (ops->destroy). NULL is fine. */
void hv_virtio_mmio_free(hv_virtio_mmio *dev);

/**
 * A guest access to the device's window, from a vCPU's KVM_EXIT_MMIO:
 * `offset` from the window's base, `len` 1 .. 8 bytes (little-endian, as
 * the guest wrote them or as it will read them: a read fills `data`).
 * Registers below 0x100 take 32-bit aligned accesses only; anything else,
 * and offsets past the configuration space, read as 0 and ignore writes.
 * Safe from any number of vCPU threads at once; request processing happens
 * here, on the notifying vCPU's thread.
 */
void hv_virtio_mmio_access(hv_virtio_mmio *dev, uint64_t offset, bool is_write, uint8_t *data,
                           uint32_t len);

/** The features the driver accepted (0 before FEATURES_OK). From a callback or the owner. */
uint64_t hv_virtio_mmio_features(const hv_virtio_mmio *dev);

/** The device status register (HV_VIRTIO_STATUS_* bits). */
uint32_t hv_virtio_mmio_status(hv_virtio_mmio *dev);

/** What hv_virtio_mmio_run() runs, with the device's lock held. */
typedef void (*hv_virtio_mmio_fn)(void *ctx, hv_virtio_mmio *dev);

/**
 * Work the host starts on the device from outside a guest access (input for
 * the guest, from any host thread that is not inside one of the device's
 * callbacks: the lock is not recursive): runs fn(ctx, dev) with the lock
 * held, as a callback runs. fn may take and complete chains on the queues
 * hv_virtio_mmio_queue() gives it, put the device in DEVICE_NEEDS_RESET and
 * complain. Afterwards the transport raises the used-buffer interrupt if
 * fn completed chains the driver wants to hear of, as after a notification:
 * the irq callback then runs on this thread.
 */
void hv_virtio_mmio_run(hv_virtio_mmio *dev, hv_virtio_mmio_fn fn, void *ctx);

/**
 * Queue `index` when the device may use it now (it exists and is ready,
 * DRIVER_OK is set, the device is not in DEVICE_NEEDS_RESET), else NULL.
 * From a callback or hv_virtio_mmio_run()'s fn (the lock is held).
 */
hv_virtq *hv_virtio_mmio_queue(hv_virtio_mmio *dev, uint16_t index);

/**
 * Put the device in DEVICE_NEEDS_RESET (from a callback: the lock is held):
 * nothing more is processed until the driver resets it. Logged with the
 * reason, rate-limited.
 */
void hv_virtio_mmio_needs_reset(hv_virtio_mmio *dev, const char *fmt, ...) HV_PRINTF(2, 3);

/**
 * The transport's state (its registers, the features, each queue's size,
 * ring addresses, ready, last_avail, used_idx and broken) followed by its
 * device's own (ops->state_encode), as a snapshot's bytes: "VMIO" version
 * 1, docs/snapshot-devices.md. A malloc'ed buffer (free() it). Taken under
 * the device's lock, so between two guest accesses. 0 or HV_E_NOMEM.
 */
int hv_virtio_mmio_state_encode(hv_virtio_mmio *dev, uint8_t **buf, size_t *bytes);

/**
 * Put a device that was just made (reset state, nothing done on it yet; a
 * device in another state is reset first) in the state `data` describes.
 * Guest memory must be in place (guest_ptr answers for it): ready queues
 * are started again against it (hv_virtq_start, which checks the rings lie
 * in guest RAM) and their indexes restored; a queue that was broken stays
 * broken; then, when the restored InterruptStatus is not 0, the irq
 * callback is called with level true. HV_E_SNAPSHOT naming the device and
 * the field for anything wrong: a different device id, feature set or
 * queue count than the device has, a ready queue's size above its maximum
 * or not a power of two, its rings outside guest RAM or misaligned,
 * unknown status or interrupt bits, features the device does not offer
 * after FEATURES_OK, a combination the device never reaches (DRIVER_OK
 * without FEATURES_OK, a broken queue, neither without DEVICE_NEEDS_RESET),
 * trailing or missing bytes, the device's part refused by its decoder (or
 * present for a device without one). On failure the device is left reset
 * (as made) and the irq callback was not called.
 */
int hv_virtio_mmio_state_decode(hv_virtio_mmio *dev, const void *data, size_t bytes);

/**
 * Log a guest's mistake that the device answers with an error status
 * (warning, domain "virtio", the device's name first): a burst of ten, then
 * one a second per device, the rest counted and said with the next one
 * logged. From a callback (the lock is held).
 */
void hv_virtio_mmio_complain(hv_virtio_mmio *dev, const char *fmt, ...) HV_PRINTF(2, 3);

#endif

/*
 * kvm/virtqueue.h - one virtio 1.x split virtqueue, device side (internal,
 * pure): the descriptor table, available ring and used ring the driver put
 * in guest memory, read as descriptor chains and completed on the used
 * ring. Every value the guest wrote is untrusted: rings and buffers must lie
 * in guest RAM (hv_guest_ptr_fn), the queue size is a power of two no larger
 * than the device's maximum, descriptor indices lie below it, a chain has at
 * most queue-size descriptors (so a loop ends), device-readable buffers come
 * before device-writable ones, and the available index never runs more than
 * a queue ahead. A queue that sees any of these broken stops for good (until
 * the transport resets it) and says why: the device then needs a reset.
 * Indirect descriptors and VIRTIO_F_EVENT_IDX are not offered.
 *
 * The guest's other vCPUs write the rings while a device reads them: the
 * available index is read with acquire semantics, every descriptor is read
 * once into a private copy before it is checked, and a completion's used
 * element is written before the used index (release).
 */
#ifndef HV_KVM_VIRTQUEUE_H
#define HV_KVM_VIRTQUEUE_H

#include "kvm/loader.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/** The largest queue size this implementation handles (a device offers at most this). */
#define HV_VIRTQ_MAX_SIZE 1024

/* Descriptor flags (struct virtq_desc) */
#define HV_VIRTQ_DESC_F_NEXT     1u
#define HV_VIRTQ_DESC_F_WRITE    2u
#define HV_VIRTQ_DESC_F_INDIRECT 4u
/* Available ring flags: the driver wants no used-buffer notification */
#define HV_VIRTQ_AVAIL_F_NO_INTERRUPT 1u

/* Ring sizes in guest memory for `size` entries (virtio 1.x 2.7: with the event words) */
#define HV_VIRTQ_DESC_BYTES(size)  (16ull * (size))
#define HV_VIRTQ_AVAIL_BYTES(size) (6ull + 2ull * (size))
#define HV_VIRTQ_USED_BYTES(size)  (6ull + 8ull * (size))

/** One buffer of a chain: host memory inside guest RAM (NULL only when `bytes` is 0). */
typedef struct hv_virtq_buf {
    uint8_t *data;
    uint32_t bytes;
} hv_virtq_buf;

/**
 * A descriptor chain the driver made available: bufs[0, readable) are
 * device-readable (the request), bufs[readable, count) device-writable (the
 * answer). Zero-length descriptors are left out. The pointers are valid while
 * guest memory stays mapped; their contents may change under the device at
 * any time (the guest's vCPUs run): copy a header before checking it.
 */
typedef struct hv_virtq_chain {
    uint16_t head; /**< the first descriptor's index: what the used ring gives back */
    uint16_t count, readable;
    uint64_t readable_bytes, writable_bytes; /**< each at most 4 GiB - 1 */
    hv_virtq_buf bufs[HV_VIRTQ_MAX_SIZE];
} hv_virtq_chain;

typedef struct hv_virtq {
    /* what the driver set through the transport (checked by hv_virtq_start) */
    uint32_t num; /**< QueueNum as written */
    uint64_t desc_addr, avail_addr, used_addr;
    /* set by hv_virtq_start */
    bool ready;
    uint16_t size;
    hv_guest_ptr_fn guest_ptr;
    void *guest_ctx;
    uint8_t *desc, *avail, *used; /**< host views of the rings */
    uint16_t last_avail;          /**< the next available entry to take */
    uint16_t used_idx;            /**< the next used entry to write */
    bool pushed;                  /**< completions since hv_virtq_interrupt_due() */
    bool broken;                  /**< the guest broke the rules: nothing more is taken */
    char why[192];                /**< what broke it (or why hv_virtq_start refused) */
} hv_virtq;

/** Forget everything (the driver's addresses and size included): the state after a reset. */
void hv_virtq_reset(hv_virtq *q);

/**
 * Check what the driver set (num a power of two, 1 .. max_size; rings
 * aligned as the spec says and inside guest RAM) and start taking chains
 * from index 0. 0, or -1 with the queue broken and why said.
 */
int hv_virtq_start(hv_virtq *q, uint16_t max_size, hv_guest_ptr_fn guest_ptr, void *guest_ctx);

/**
 * Take the next available chain: 1 with `chain` filled in, 0 when there is
 * none (or the queue is not ready), -1 when the guest broke a rule (the
 * queue is broken from then on; `why` says what).
 */
int hv_virtq_pop(hv_virtq *q, hv_virtq_chain *chain);

/**
 * Give a chain back on the used ring, `written` being the bytes the device
 * wrote into its device-writable buffers (clamped to them).
 */
void hv_virtq_push(hv_virtq *q, const hv_virtq_chain *chain, uint32_t written);

/**
 * Whether the driver is due a used-buffer notification: chains were pushed
 * since the last call and the driver has not set VIRTQ_AVAIL_F_NO_INTERRUPT.
 */
bool hv_virtq_interrupt_due(hv_virtq *q);

/** Copy up to `bytes` of the chain's device-readable bytes from `offset` on: what was copied. */
size_t hv_virtq_chain_read(const hv_virtq_chain *chain, uint64_t offset, void *dst, size_t bytes);

/** Copy `bytes` into the chain's device-writable bytes at `offset`: what fitted. */
size_t hv_virtq_chain_write(const hv_virtq_chain *chain, uint64_t offset, const void *src,
                            size_t bytes);

/**
 * The host memory of [offset, offset + bytes) of the chain's device-readable
 * (`writable` false) or device-writable bytes as an iovec array, for
 * preadv()/pwritev() straight into guest memory: the number of entries
 * used, or -1 when the range is not all there or needs more than `max`.
 */
int hv_virtq_chain_iov(const hv_virtq_chain *chain, bool writable, uint64_t offset, uint64_t bytes,
                       struct iovec *iov, int max);

#endif

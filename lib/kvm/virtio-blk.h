/*
 * kvm/virtio-blk.h - the virtio block device (device id 2) on a raw image,
 * behind the virtio-mmio transport (internal; its only system calls are the
 * image's file I/O). One request queue; requests are served synchronously,
 * on the vCPU thread that notified, with preadv()/pwritev() straight into
 * and out of guest memory.
 *
 * Offered: VIRTIO_BLK_F_SIZE_MAX and _SEG_MAX (the request limits below),
 * VIRTIO_BLK_F_FLUSH (fdatasync; without it negotiated every write is
 * synced before it completes), VIRTIO_BLK_F_RO for a read-only image.
 * Served: IN, OUT, FLUSH, GET_ID (the serial); any other type is
 * VIRTIO_BLK_S_UNSUPP. A write to a read-only image, a range past the end,
 * a data length that is not whole sectors or above the limits, or a failed
 * system call is VIRTIO_BLK_S_IOERR (logged, rate-limited). A request
 * without a status byte to answer in (its last device-writable byte) puts
 * the device in DEVICE_NEEDS_RESET.
 */
#ifndef HV_KVM_VIRTIO_BLK_H
#define HV_KVM_VIRTIO_BLK_H

#include "kvm/virtio-mmio.h"

#include <stdbool.h>
#include <stdint.h>

#define HV_VIRTIO_ID_BLOCK 2u

/* Feature bits (virtio 1.x, 5.2.3) */
#define HV_VIRTIO_BLK_F_SIZE_MAX 1u
#define HV_VIRTIO_BLK_F_SEG_MAX  2u
#define HV_VIRTIO_BLK_F_RO       5u
#define HV_VIRTIO_BLK_F_FLUSH    9u

/* Request types and status values (5.2.6) */
#define HV_VIRTIO_BLK_T_IN       0u
#define HV_VIRTIO_BLK_T_OUT      1u
#define HV_VIRTIO_BLK_T_FLUSH    4u
#define HV_VIRTIO_BLK_T_GET_ID   8u
#define HV_VIRTIO_BLK_S_OK       0u
#define HV_VIRTIO_BLK_S_IOERR    1u
#define HV_VIRTIO_BLK_S_UNSUPP   2u

#define HV_VIRTIO_BLK_SECTOR     512u
#define HV_VIRTIO_BLK_HEADER     16u /**< type (le32), reserved (le32), sector (le64) */
#define HV_VIRTIO_BLK_ID_BYTES   20u /**< GET_ID: the serial, NUL-padded (no NUL at 20) */
#define HV_VIRTIO_BLK_QUEUE_SIZE 256u
/** size_max: the largest data segment (descriptor) the driver may use */
#define HV_VIRTIO_BLK_SIZE_MAX (1u << 20)
/** seg_max: the most data segments a request may have (the queue less header and status) */
#define HV_VIRTIO_BLK_SEG_MAX (HV_VIRTIO_BLK_QUEUE_SIZE - 2u)
/** The configuration space: capacity, size_max, seg_max (struct virtio_blk_config up to there) */
#define HV_VIRTIO_BLK_CONFIG_BYTES 16u

typedef struct hv_virtio_blk_params {
    const char *name;   /**< for messages ("disk0"); copied */
    int fd;             /**< the raw image (a regular file or block device); duplicated */
    bool read_only;     /**< offer VIRTIO_BLK_F_RO and refuse writes; else fd must be writable */
    const char *serial; /**< GET_ID's answer, at most 20 bytes (longer: HV_E_INVAL); NULL: "" */
    hv_guest_ptr_fn guest_ptr;
    void *guest_ctx;
    hv_virtio_irq_fn irq; /**< the interrupt line (may be NULL) */
    void *irq_ctx;
} hv_virtio_blk_params;

/**
 * A block device on the image: its capacity is the image's size in whole
 * 512-byte sectors (a partial last sector is not seen), taken now. The
 * transport it returns owns the device (hv_virtio_mmio_free()). HV_E_IO
 * when the descriptor cannot be used, HV_E_INVAL for an image that is not
 * a file or block device, one opened read-only for a read-write disk, or
 * a serial too long.
 */
int hv_virtio_blk_new(const hv_virtio_blk_params *params, hv_virtio_mmio **out);

#endif

/*
 * kvm/virtio-console.h - the virtio console device (device id 3, virtio
 * 1.x 5.3) behind the virtio-mmio transport (internal, pure): one port, a
 * byte stream each way between the host and a Linux guest's /dev/hvc0
 * (module virtio_console). Queue 0 (receiveq) takes the bytes the host
 * sends into the device-writable buffers the driver posts; queue 1
 * (transmitq) hands the bytes the guest writes to the host's output
 * callback, on the vCPU thread that notified.
 *
 * Offered: VIRTIO_F_VERSION_1 only. Not offered: VIRTIO_CONSOLE_F_SIZE (the
 * guest keeps its own window size), _MULTIPORT (one port, no control
 * queues), _EMERG_WRITE. The configuration space is struct
 * virtio_console_config (cols, rows, max_nr_ports, emerg_wr: 12 bytes),
 * all 0: without those features Linux reads none of it but cols and rows
 * on a configuration-change interrupt, and then ignores them.
 *
 * Host to guest: hv_virtio_console_send() queues bytes in the device (at
 * most input_limit_bytes) and moves them into the receive buffers the
 * driver has posted, at once and again each time the driver notifies
 * queue 0 with more. Bytes wait in the device while there is no driver,
 * and a reset (status 0) does not drop them: Linux resets the device when
 * its driver probes it, so bytes the host sent before the guest's driver
 * came up reach that driver. Bytes already put in the guest's buffers are
 * the guest's: a reset loses those the guest had not read. A snapshot keeps
 * the bytes still held (the device's part of hv_virtio_mmio_state_encode(),
 * docs/snapshot-devices.md); restoring them into a console whose input
 * limit is smaller than they are is refused.
 *
 * A driver that posts a receive buffer with device-readable bytes or
 * without device-writable ones, or a transmit buffer with device-writable
 * bytes, is broken: the device goes to DEVICE_NEEDS_RESET (logged), as it
 * does for a queue that breaks the virtqueue rules.
 */
#ifndef HV_KVM_VIRTIO_CONSOLE_H
#define HV_KVM_VIRTIO_CONSOLE_H

#include "kvm/virtio-mmio.h"

#include <stddef.h>
#include <stdint.h>

#define HV_VIRTIO_ID_CONSOLE 3u

/* Feature bits (virtio 1.x, 5.3.3): none of them is offered */
#define HV_VIRTIO_CONSOLE_F_SIZE        0u
#define HV_VIRTIO_CONSOLE_F_MULTIPORT   1u
#define HV_VIRTIO_CONSOLE_F_EMERG_WRITE 2u

/* The queues (port 0's) */
#define HV_VIRTIO_CONSOLE_RECEIVEQ   0u /**< host to guest: device-writable buffers */
#define HV_VIRTIO_CONSOLE_TRANSMITQ  1u /**< guest to host: device-readable buffers */

#define HV_VIRTIO_CONSOLE_QUEUE_SIZE 128u
/** struct virtio_console_config: cols (le16), rows (le16), max_nr_ports (le32), emerg_wr (le32) */
#define HV_VIRTIO_CONSOLE_CONFIG_BYTES 12u
/** input_limit_bytes 0 means this */
#define HV_VIRTIO_CONSOLE_INPUT_LIMIT_DEFAULT (64u * 1024)
/** The largest input_limit_bytes (it is allocated when the device is made) */
#define HV_VIRTIO_CONSOLE_INPUT_LIMIT_MAX (16u * 1024 * 1024)

typedef struct hv_virtio_console hv_virtio_console;

/**
 * Bytes the guest wrote (one call per buffer of a transmit chain, in the
 * order the guest made them available). `bytes` points into guest memory,
 * which the guest's other vCPUs may change: copy what is kept. Called with
 * the device's lock held, on the notifying vCPU's thread, which waits for
 * it: it must not call back into the device (hv_virtio_console_send()
 * included: hand such work to another thread).
 */
typedef void (*hv_virtio_console_output_fn)(void *ctx, const uint8_t *bytes, size_t len);

typedef struct hv_virtio_console_params {
    const char *name; /**< for messages ("console0"); copied */
    hv_guest_ptr_fn guest_ptr;
    void *guest_ctx;
    hv_virtio_irq_fn irq; /**< the interrupt line (may be NULL); also called from senders */
    void *irq_ctx;
    hv_virtio_console_output_fn output; /**< NULL: the guest's output is dropped */
    void *output_ctx;
    /**
     * Host-to-guest bytes the device holds while the guest has no buffer
     * for them: hv_virtio_console_send() takes no more. 0: the default
     * (64 KiB); at most HV_VIRTIO_CONSOLE_INPUT_LIMIT_MAX.
     */
    size_t input_limit_bytes;
} hv_virtio_console_params;

/**
 * A console device: `transport` is what the engine maps and serves (and
 * frees, with hv_virtio_mmio_free(), which frees the console too);
 * `console` (may be NULL) is the handle for hv_virtio_console_send(),
 * valid until then. HV_E_INVAL for an input limit above the maximum.
 */
int hv_virtio_console_new(const hv_virtio_console_params *params, hv_virtio_mmio **transport,
                          hv_virtio_console **console);

/**
 * Send bytes to the guest, from any host thread but a vCPU inside the
 * device (an output callback): they are queued behind those still waiting
 * and as many as fit go into the receive buffers the driver has posted
 * now (raising the interrupt); the rest follow when it posts more. Never
 * waits for the guest. Returns how many bytes were taken: fewer than `len`
 * when the input limit is reached (send the rest later), 0 when the device
 * holds the limit already.
 */
size_t hv_virtio_console_send(hv_virtio_console *console, const void *bytes, size_t len);

/** The bytes sent that are not in the guest's buffers yet. */
size_t hv_virtio_console_pending(hv_virtio_console *console);

#endif

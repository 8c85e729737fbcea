/*
 * kvm/virtio-console.c - the virtio console device of one port: the bytes
 * the host sends, held in a bounded ring until the driver posts receive
 * buffers for them, and the guest's transmit buffers handed to the host's
 * output callback; each chain checked for the direction its queue has; the
 * pending bytes as the device's part of a snapshot ("VCON").
 */
#include "kvm/virtio-console.h"

#include "core/error.h"
#include "kvm/state-bytes.h"

#include <stdlib.h>
#include <string.h>

struct hv_virtio_console {
    hv_virtio_mmio *dev; /* the transport that owns this */
    hv_virtio_console_output_fn output;
    void *output_ctx;
    /* guarded by the transport's lock: the bytes sent and not delivered, a ring */
    uint8_t *input;
    size_t input_limit; /* its size in bytes */
    size_t input_head;  /* the oldest byte */
    size_t input_count;
    /* per chain (large: kept off the threads' stacks) */
    hv_virtq_chain chain;
};

/* What hv_virtio_console_send() was given and took (_pending(): what is pending). */
typedef struct send_args {
    hv_virtio_console *c;
    const uint8_t *bytes;
    size_t len, taken;
} send_args;

static void console_config_read(void *ctx, uint32_t offset, uint8_t *data, uint32_t len)
{
    (void)ctx;
    (void)offset;
    /* cols, rows, max_nr_ports, emerg_wr: 0 (their features are not offered) */
    memset(data, 0, len);
}

static void console_destroy(void *ctx)
{
    hv_virtio_console *c = ctx;

    free(c->input);
    free(c);
}

/* Move the oldest pending bytes into c->chain's device-writable bytes: how many. */
static uint32_t fill_chain(hv_virtio_console *c)
{
    size_t n =
        c->input_count < c->chain.writable_bytes ? c->input_count : (size_t)c->chain.writable_bytes;
    size_t first = c->input_limit - c->input_head; /* up to the ring's end */

    if (first > n)
        first = n;
    hv_virtq_chain_write(&c->chain, 0, c->input + c->input_head, first);
    hv_virtq_chain_write(&c->chain, first, c->input, n - first);
    c->input_head = (c->input_head + n) % c->input_limit;
    c->input_count -= n;
    return (uint32_t)n; /* at most the chain's bytes: below 4 GiB */
}

/*
 * The next chain the driver made available on `q` into c->chain: true, or
 * false when there is none or the queue broke a rule (the device then
 * needs a reset).
 */
static bool next_chain(hv_virtio_console *c, hv_virtio_mmio *dev, hv_virtq *q, const char *queue)
{
    int rc = hv_virtq_pop(q, &c->chain);

    if (rc < 0)
        hv_virtio_mmio_needs_reset(dev, "%s: %s", queue, q->why);
    return rc > 0;
}

/*
 * Pending bytes into the receive buffers the driver posted, while there are
 * both; a chain is taken only for bytes to put in it. At most a queue's
 * worth at a time: buffers posted later come with a notification.
 */
static void deliver(hv_virtio_console *c, hv_virtio_mmio *dev)
{
    hv_virtq *q = hv_virtio_mmio_queue(dev, HV_VIRTIO_CONSOLE_RECEIVEQ);

    for (uint32_t done = 0; q && done < q->size && c->input_count > 0; done++) {
        if (!next_chain(c, dev, q, "receiveq"))
            return;
        if (c->chain.readable_bytes || !c->chain.writable_bytes) {
            hv_virtio_mmio_needs_reset(dev,
                                       "receiveq: chain %u has %llu device-readable and %llu "
                                       "device-writable bytes: a receive buffer is "
                                       "device-writable only",
                                       c->chain.head, (unsigned long long)c->chain.readable_bytes,
                                       (unsigned long long)c->chain.writable_bytes);
            return;
        }
        hv_virtq_push(q, &c->chain, fill_chain(c));
    }
}

/* The guest's output: every chain made available, its bytes to the output callback. */
static void transmit(hv_virtio_console *c, hv_virtio_mmio *dev, hv_virtq *q)
{
    for (uint32_t done = 0; done < q->size; done++) {
        if (!next_chain(c, dev, q, "transmitq"))
            return;
        if (c->chain.writable_bytes) {
            hv_virtio_mmio_needs_reset(dev,
                                       "transmitq: chain %u has %llu device-writable bytes: a "
                                       "transmit buffer is device-readable only",
                                       c->chain.head, (unsigned long long)c->chain.writable_bytes);
            return;
        }
        for (uint16_t i = 0; c->output && i < c->chain.readable; i++)
            c->output(c->output_ctx, c->chain.bufs[i].data, c->chain.bufs[i].bytes);
        hv_virtq_push(q, &c->chain, 0);
    }
}

static void console_notify(void *ctx, hv_virtio_mmio *dev, hv_virtq *q, uint16_t index)
{
    hv_virtio_console *c = ctx;

    if (index == HV_VIRTIO_CONSOLE_RECEIVEQ)
        deliver(c, dev);
    else
        transmit(c, dev, q);
}

/* ---- the snapshot's bytes (docs/snapshot-devices.md, "virtio console") ------ */

#define STATE_VERSION 1u
#define S_COUNT       8  /* u32: the pending bytes */
#define S_RESERVED    12 /* u32: 0 */
#define S_BYTES       16 /* the pending bytes, oldest first */

/* The pending bytes, oldest first, to `out`. */
static void pending_copy(const hv_virtio_console *c, uint8_t *out)
{
    size_t first = c->input_limit - c->input_head; /* up to the ring's end */

    if (first > c->input_count)
        first = c->input_count;
    memcpy(out, c->input + c->input_head, first);
    memcpy(out + first, c->input, c->input_count - first);
}

static int console_state_encode(void *ctx, uint8_t **buf, size_t *bytes)
{
    hv_virtio_console *c = ctx;
    uint8_t *out = malloc(S_BYTES + c->input_count);

    if (!out)
        return hv_error_nomem();
    hv_state_put_head(out, "VCON", STATE_VERSION);
    hv_state_put(out + S_COUNT, c->input_count, 4); /* at most 16 MiB */
    hv_state_put(out + S_RESERVED, 0, 4);
    pending_copy(c, out + S_BYTES);
    *buf = out;
    *bytes = S_BYTES + c->input_count;
    return 0;
}

static int console_state_decode(void *ctx, const void *data, size_t bytes)
{
    hv_virtio_console *c = ctx;
    const uint8_t *p = data;
    size_t count;
    int rc = hv_state_check_head(p, bytes, "VCON", STATE_VERSION, "console state");

    if (rc < 0)
        return rc;
    if (bytes < S_BYTES)
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "console state: %zu bytes, less than its %u-byte header: the "
                            "snapshot is corrupted",
                            bytes, S_BYTES);
    count = (size_t)hv_state_get(p + S_COUNT, 4);
    if (hv_state_get(p + S_RESERVED, 4))
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "console state: reserved bytes 12..15 are not zero: the snapshot is "
                            "corrupted");
    if (count != bytes - S_BYTES)
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "console state: %zu pending bytes said, %zu follow (%s): the "
                            "snapshot is corrupted",
                            count, bytes - S_BYTES,
                            count > bytes - S_BYTES ? "truncated" : "trailing bytes");
    if (count > c->input_limit)
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "console state: %zu bytes pending for the guest, more than this "
                            "console's input limit of %zu: restore it with an input limit of at "
                            "least %zu bytes",
                            count, c->input_limit, count);
    memcpy(c->input, p + S_BYTES, count);
    c->input_head = 0;
    c->input_count = count;
    return 0;
}

static const hv_virtio_mmio_ops console_ops = {
    .config_read = console_config_read,
    .notify = console_notify,
    .destroy = console_destroy,
    .state_encode = console_state_encode,
    .state_decode = console_state_decode,
};

/* hv_virtio_console_send() under the lock: queue what fits, deliver what the guest has room for. */
static void send_locked(void *ctx, hv_virtio_mmio *dev)
{
    send_args *a = ctx;
    hv_virtio_console *c = a->c;
    size_t room = c->input_limit - c->input_count;
    size_t tail = (c->input_head + c->input_count) % c->input_limit;
    size_t first = c->input_limit - tail; /* up to the ring's end */

    a->taken = a->len < room ? a->len : room;
    if (first > a->taken)
        first = a->taken;
    memcpy(c->input + tail, a->bytes, first);
    memcpy(c->input, a->bytes + first, a->taken - first);
    c->input_count += a->taken;
    deliver(c, dev);
}

size_t hv_virtio_console_send(hv_virtio_console *console, const void *bytes, size_t len)
{
    send_args a = {.c = console, .bytes = bytes, .len = len};

    if (!console || !bytes || len == 0)
        return 0;
    hv_virtio_mmio_run(console->dev, send_locked, &a);
    return a.taken;
}

static void pending_locked(void *ctx, hv_virtio_mmio *dev)
{
    send_args *a = ctx;

    (void)dev;
    a->taken = a->c->input_count;
}

size_t hv_virtio_console_pending(hv_virtio_console *console)
{
    send_args a = {.c = console};

    if (!console)
        return 0;
    hv_virtio_mmio_run(console->dev, pending_locked, &a);
    return a.taken;
}

int hv_virtio_console_new(const hv_virtio_console_params *p, hv_virtio_mmio **transport,
                          hv_virtio_console **console)
{
    hv_virtio_mmio_params mp = {0};
    hv_virtio_mmio *dev;
    hv_virtio_console *c;
    const char *name;
    size_t limit;
    int rc;

    if (transport)
        *transport = NULL;
    if (console)
        *console = NULL;
    if (!p || !transport || !p->guest_ptr)
        return hv_error_null_arg(__func__, "params, guest_ptr or transport");
    name = p->name ? p->name : "console";
    limit = p->input_limit_bytes ? p->input_limit_bytes : HV_VIRTIO_CONSOLE_INPUT_LIMIT_DEFAULT;
    if (limit > HV_VIRTIO_CONSOLE_INPUT_LIMIT_MAX)
        return hv_error_set(HV_E_INVAL, NULL,
                            "virtio-console %s: an input limit of %zu bytes: give at most %u "
                            "(16 MiB), or 0 for the default",
                            name, limit, HV_VIRTIO_CONSOLE_INPUT_LIMIT_MAX);
    c = calloc(1, sizeof(*c));
    if (!c)
        return hv_error_nomem();
    c->input = malloc(limit);
    if (!c->input) {
        free(c);
        return hv_error_nomem();
    }
    c->input_limit = limit;
    c->output = p->output;
    c->output_ctx = p->output_ctx;

    mp.name = name;
    mp.device_id = HV_VIRTIO_ID_CONSOLE;
    mp.features = 0;
    mp.queue_count = 2;
    mp.queue_max = HV_VIRTIO_CONSOLE_QUEUE_SIZE;
    mp.config_bytes = HV_VIRTIO_CONSOLE_CONFIG_BYTES;
    mp.ops = &console_ops;
    mp.ctx = c;
    mp.guest_ptr = p->guest_ptr;
    mp.guest_ctx = p->guest_ctx;
    mp.irq = p->irq;
    mp.irq_ctx = p->irq_ctx;
    rc = hv_virtio_mmio_new(&mp, &dev);
    if (rc < 0)
        return rc; /* c is freed */
    c->dev = dev;
    *transport = dev;
    if (console)
        *console = c;
    return 0;
}

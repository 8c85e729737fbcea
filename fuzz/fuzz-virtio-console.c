/*
 * fuzz/fuzz-virtio-console.c - libFuzzer target for the virtio console
 * device (lib/kvm/virtio-console.h on virtio-mmio.h and virtqueue.h): the
 * input is a guest's memory, what its driver does and what the host sends.
 * A 24-byte header chooses the features accepted, the queues' size, where
 * the rings of both lie, the input limit and how many bytes the host sends
 * before the driver comes; the driver then negotiates and sets up the
 * receiveq and transmitq as Linux does (unless the header says to skip
 * it), the input's operations run (those of fuzz-virtio.h, and the host
 * sending bytes), and a last notification of each queue follows. Guest
 * memory is 64 KiB of the input (zero past its end), as in fuzz-virtqueue.
 *
 * Input: byte 0 the F_* flags (below and in fuzz-virtio.h); byte 1 the
 * queues' size (below 16: that power of two, else the raw le16 at bytes
 * 2-3); le16 at 4, 6 and 8: the receiveq's descriptor table, available ring
 * and used ring, at 10, 12 and 14 the transmitq's (offsets in guest memory,
 * halved); le16 at 16: the input limit in bytes (0: the default); le16 at
 * 18: the bytes the host sends first; byte 23 the number of operations (up
 * to 64), which follow, 8 bytes each (fuzz-virtio.h, kind byte % 5: 4 is
 * "the host sends value & 0x7FF bytes"); the rest is guest memory
 * (guest-physical 0x10000).
 *
 * Invariants: nothing touches memory outside the guest's buffer (ASan), no
 * loop hangs (libFuzzer's timeout), the interrupt line is high exactly while
 * InterruptStatus is not 0 and changes only when it must, the output
 * callback is given bytes inside guest memory only, a send takes no more
 * than it is given, and the device never holds more than the input limit
 * nor more than it took.
 */
#include "fuzz-virtio.h"
#include "kvm/virtio-console.h"

#define HEADER   24u
#define SEND_MAX 0x7FFu

/* header flags besides fuzz-virtio.h's */
#define F_NO_OUTPUT 0x01u /* no output callback: the guest's bytes are dropped */

typedef struct host {
    hv_virtio_console *c;
    size_t limit;
    size_t taken;  /* all bytes the sends took */
    size_t output; /* all bytes the guest wrote */
    const uint8_t *mem;
} host;

static void output(void *ctx, const uint8_t *bytes, size_t len)
{
    host *h = ctx;

    uintptr_t at = (uintptr_t)bytes, base = (uintptr_t)h->mem;

    CHECK(len > 0 && at >= base && len <= MEM_BYTES && at - base <= MEM_BYTES - len);
    h->output += len;
}

/* The host sends `len` bytes (a counter's low byte each): the checks on what was taken. */
static void host_send(host *h, size_t len)
{
    static uint8_t bytes[SEND_MAX];
    size_t before = hv_virtio_console_pending(h->c), taken, after;

    for (size_t i = 0; i < len; i++)
        bytes[i] = (uint8_t)(h->taken + i);
    taken = hv_virtio_console_send(h->c, bytes, len);
    after = hv_virtio_console_pending(h->c);
    CHECK(taken <= len && after <= h->limit && after <= before + taken);
    CHECK(taken == len || before + taken == h->limit); /* fewer only at the limit */
    h->taken += taken;
}

/* What Linux's virtio_mmio and virtio_console do up to DRIVER_OK, the rings where the header says.
 */
static void setup(hv_virtio_mmio *dev, const uint8_t *h)
{
    uint32_t status = negotiate(dev, h[0], HV_VIRTIO_F_VERSION_1);
    uint32_t num = queue_size(h[1], h + 2);

    queue_setup(dev, HV_VIRTIO_CONSOLE_RECEIVEQ, num, ring_at(h + 4), ring_at(h + 6),
                ring_at(h + 8));
    queue_setup(dev, HV_VIRTIO_CONSOLE_TRANSMITQ, num, ring_at(h + 10), ring_at(h + 12),
                ring_at(h + 14));
    wr(dev, HV_VIRTIO_MMIO_STATUS, status | HV_VIRTIO_STATUS_DRIVER_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t h[HEADER];
    hv_virtio_console_params p = {0};
    fuzz_guest g = {0};
    host hs = {0};
    hv_virtio_mmio *dev;
    const uint8_t *ops;
    uint64_t avail[2];
    size_t nops;

    g.mem = split_input(data, size, h, HEADER, 23, &ops, &nops);
    if (!g.mem)
        return 0;
    hs.mem = g.mem;
    hs.limit = le16_at(h + 16) ? le16_at(h + 16) : HV_VIRTIO_CONSOLE_INPUT_LIMIT_DEFAULT;

    p.name = "fuzz";
    p.guest_ptr = guest_ptr;
    p.guest_ctx = &g;
    p.irq = irq_line;
    p.irq_ctx = &g;
    p.output = h[0] & F_NO_OUTPUT ? NULL : output;
    p.output_ctx = &hs;
    p.input_limit_bytes = le16_at(h + 16);
    if (hv_virtio_console_new(&p, &dev, &hs.c) < 0) {
        free(g.mem);
        return 0;
    }
    host_send(&hs, le16_at(h + 18) % (SEND_MAX + 1));
    if (!(h[0] & F_NO_SETUP))
        setup(dev, h);
    check_line(dev, &g);
    avail[0] = ring_at(h + 6);
    avail[1] = ring_at(h + 12);
    for (size_t i = 0; i < nops; i++) {
        const uint8_t *op = ops + i * OP_BYTES;

        if (op[0] % 5 == 4) {
            host_send(&hs, le32_at(op + 4) & SEND_MAX);
            check_line(dev, &g);
        } else {
            run_op(dev, &g, avail, op, op[0] % 5);
        }
    }
    wr(dev, HV_VIRTIO_MMIO_QUEUE_NOTIFY, HV_VIRTIO_CONSOLE_RECEIVEQ);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_NOTIFY, HV_VIRTIO_CONSOLE_TRANSMITQ);
    check_line(dev, &g);
    CHECK(hv_virtio_console_pending(hs.c) <= hs.taken);
    hv_virtio_mmio_free(dev);
    free(g.mem);
    return 0;
}

/*
 * fuzz/fuzz-device-state.c - libFuzzer target for the device state a
 * snapshot restores (docs/snapshot-devices.md): the input's blob goes to a
 * fresh UART (hv_kvm_uart_state_decode), a fresh virtio console and a
 * fresh virtio block device on a memfd disk (hv_virtio_mmio_state_decode),
 * each of which takes it or refuses it; then the guest drives all three
 * with the input's operations. Guest memory is the input itself (zero past
 * its end, 64 KiB at guest-physical 0x10000, as in fuzz-virtqueue), so a
 * restored queue's rings and chains are the fuzzer's too.
 *
 * Input: byte 0 flags (bit 0: the disk is read-only); byte 1 the number of
 * operations (up to 64); le16 at 2 the console's input limit in bytes (0:
 * the default); the operations, 8 bytes each (fuzz-virtio.h, kind byte %
 * 4, run on both virtio devices; the same bytes are one UART access: a
 * write of byte 4 when byte 1 is odd, else a read, at offset byte 2 % 8;
 * kind 3 gives the UART byte 1 / 2 % 5 bytes of input from byte 4 on);
 * then the blob: the rest of the input.
 *
 * Invariants: nothing reads or writes outside the input's copies and the
 * guest memory (ASan), no loop hangs; a state that is taken encodes back
 * to exactly the same bytes and is one the model can be in
 * (hv_kvm_uart_check); a refused state leaves the UART unchanged and a
 * virtio device reset (status 0, no interrupt, no queue ready) with its
 * line low; the interrupt lines follow InterruptStatus and the UART's
 * sources at every step, and change only when they must.
 */
#include "fuzz-virtio.h"
#include "kvm/uart.h"
#include "kvm/virtio-blk.h"
#include "kvm/virtio-console.h"

#include <sys/mman.h>
#include <unistd.h>

#define HEADER      4u
#define DISK_BYTES  (64u * 1024)
#define F_READ_ONLY 0x01u

/* A virtio device under test and its guest (memory and line). */
typedef struct vdev {
    hv_virtio_mmio *dev;
    fuzz_guest g;
    uint64_t avail[2]; /* its queues' available rings, from the blob (for run_op) */
} vdev;

/* The UART and the line its caller keeps. */
typedef struct uart {
    hv_kvm_uart u;
    bool line;
} uart;

static void uart_effect(uart *t, const hv_kvm_uart_effect *e)
{
    if (e->irq_change) {
        CHECK(e->irq_level != t->line);
        t->line = e->irq_level;
    }
    CHECK(t->line == t->u.irq);
    CHECK(hv_kvm_uart_check(&t->u));
}

static void uart_restore(uart *t, const uint8_t *blob, size_t bytes)
{
    uint8_t again[HV_KVM_UART_STATE_BYTES];
    hv_kvm_uart before;

    hv_kvm_uart_init(&t->u);
    before = t->u;
    if (hv_kvm_uart_state_decode(&t->u, blob, bytes) < 0) {
        CHECK(memcmp(&t->u, &before, sizeof(before)) == 0);
    } else {
        CHECK(bytes == HV_KVM_UART_STATE_BYTES && hv_kvm_uart_check(&t->u));
        hv_kvm_uart_state_encode(&t->u, again);
        CHECK(memcmp(again, blob, sizeof(again)) == 0);
    }
    t->line = t->u.irq;
}

static void uart_op(uart *t, const uint8_t *op)
{
    hv_kvm_uart_effect e;
    uint8_t byte = op[4];

    if (op[0] % 4 == 3) {
        size_t count = (size_t)(op[1] / 2) % 5;

        CHECK(hv_kvm_uart_input(&t->u, op + 4, count, &e) <= count);
    } else {
        CHECK(hv_kvm_uart_io(&t->u, op[2] % HV_KVM_UART_REGISTERS, op[1] & 1, &byte, &e) == 0);
    }
    uart_effect(t, &e);
}

/* Guest memory: the input (zero past its end); NULL when out of memory. */
static uint8_t *guest_memory(const uint8_t *data, size_t size)
{
    uint8_t *mem = calloc(1, MEM_BYTES);

    if (mem)
        memcpy(mem, data, size < MEM_BYTES ? size : MEM_BYTES);
    return mem;
}

/* The available ring of queue `i` as the blob says (where it says one). */
static uint64_t avail_of(const uint8_t *blob, size_t bytes, unsigned int i)
{
    size_t at = 56 + 40 * (size_t)i + 16;

    return bytes >= at + 8 ? (uint64_t)le32_at(blob + at) | (uint64_t)le32_at(blob + at + 4) << 32
                           : MEM_BASE;
}

/* The device takes the blob or refuses it; either way it is consistent afterwards. */
static void virtio_restore(vdev *v, const uint8_t *blob, size_t bytes)
{
    uint8_t *again = NULL;
    size_t again_bytes = 0;

    v->avail[0] = avail_of(blob, bytes, 0);
    v->avail[1] = avail_of(blob, bytes, 1);
    if (hv_virtio_mmio_state_decode(v->dev, blob, bytes) < 0) {
        CHECK(rd(v->dev, HV_VIRTIO_MMIO_STATUS) == 0);
        CHECK(rd(v->dev, HV_VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
        CHECK(!v->g.level && v->g.changes == 0);
        for (uint32_t i = 0; i < 2; i++) {
            wr(v->dev, HV_VIRTIO_MMIO_QUEUE_SEL, i);
            CHECK(rd(v->dev, HV_VIRTIO_MMIO_QUEUE_READY) == 0);
        }
        wr(v->dev, HV_VIRTIO_MMIO_QUEUE_SEL, 0);
        return;
    }
    CHECK(v->g.changes == (v->g.level ? 1u : 0u));
    if (hv_virtio_mmio_state_encode(v->dev, &again, &again_bytes) == 0) {
        CHECK(again_bytes == bytes && memcmp(again, blob, bytes) == 0);
        free(again);
    }
    check_line(v->dev, &v->g);
}

static int console_new(vdev *v, const uint8_t *h, const uint8_t *data, size_t size,
                       hv_virtio_console **console)
{
    hv_virtio_console_params p = {0};

    v->g.mem = guest_memory(data, size);
    if (!v->g.mem)
        return -1;
    p.name = "fuzz-console";
    p.guest_ptr = guest_ptr;
    p.guest_ctx = &v->g;
    p.irq = irq_line;
    p.irq_ctx = &v->g;
    p.input_limit_bytes = le16_at(h + 2);
    return hv_virtio_console_new(&p, &v->dev, console);
}

static int blk_new(vdev *v, const uint8_t *h, const uint8_t *data, size_t size)
{
    hv_virtio_blk_params p = {0};
    int fd = memfd_create("fuzz-disk", MFD_CLOEXEC), rc;

    v->g.mem = guest_memory(data, size);
    if (fd < 0 || !v->g.mem || ftruncate(fd, DISK_BYTES) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    p.name = "fuzz-disk";
    p.fd = fd;
    p.read_only = (h[0] & F_READ_ONLY) != 0;
    p.serial = "fuzz";
    p.guest_ptr = guest_ptr;
    p.guest_ctx = &v->g;
    p.irq = irq_line;
    p.irq_ctx = &v->g;
    rc = hv_virtio_blk_new(&p, &v->dev);
    close(fd); /* the device has its own */
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t h[HEADER] = {0};
    vdev con = {0}, blk = {0};
    hv_virtio_console *console = NULL;
    uart u;
    size_t nops, rest, blob_bytes, limit;
    const uint8_t *ops, *blob;

    memcpy(h, data, size < HEADER ? size : HEADER);
    rest = size > HEADER ? size - HEADER : 0;
    nops = h[1] % (MAX_OPS + 1);
    if (nops > rest / OP_BYTES)
        nops = rest / OP_BYTES;
    ops = data + (size > HEADER ? HEADER : size);
    blob = ops + nops * OP_BYTES;
    blob_bytes = rest - nops * OP_BYTES;

    limit = le16_at(h + 2) ? le16_at(h + 2) : HV_VIRTIO_CONSOLE_INPUT_LIMIT_DEFAULT;
    if (console_new(&con, h, data, size, &console) < 0 || blk_new(&blk, h, data, size) < 0)
        goto out;
    uart_restore(&u, blob, blob_bytes);
    virtio_restore(&con, blob, blob_bytes);
    virtio_restore(&blk, blob, blob_bytes);
    for (size_t i = 0; i < nops; i++) {
        const uint8_t *op = ops + i * OP_BYTES;

        uart_op(&u, op);
        run_op(con.dev, &con.g, con.avail, op, op[0] % 4);
        run_op(blk.dev, &blk.g, blk.avail, op, op[0] % 4);
    }
    for (uint32_t q = 0; q < 2; q++) {
        wr(con.dev, HV_VIRTIO_MMIO_QUEUE_NOTIFY, q);
        check_line(con.dev, &con.g);
    }
    wr(blk.dev, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    check_line(blk.dev, &blk.g);
    CHECK(hv_virtio_console_pending(console) <= limit);

out:
    hv_virtio_mmio_free(con.dev);
    hv_virtio_mmio_free(blk.dev);
    free(con.g.mem);
    free(blk.g.mem);
    return 0;
}

/*
 * tests/kvm/test-virtio.c - the virtio-mmio block device (lib/kvm/virtqueue.c,
 * virtio-mmio.c, virtio-blk.c) without a VM: a fake guest memory and a
 * driver (virtio-test.h, and here) that does what Linux's virtio_mmio and
 * virtio_blk drivers do (probe the registers, negotiate, set up the queue,
 * submit requests) over a temporary image file: reads, writes, flush,
 * GET_ID, a read-only image, interrupts; then hostile drivers (descriptor
 * loops, addresses outside RAM, indices out of range, huge lengths,
 * available-index jumps, bad queue sizes, notifications too early, requests
 * without a status byte) that must each leave the device in
 * DEVICE_NEEDS_RESET or complete with an error status, after which a reset
 * device works again. Snapshots: a device mid-use (indexes wrapped past
 * 65535, an interrupt pending), one with a broken queue and one with a
 * queue set up but not ready, restored into a new device, behave as the
 * original; damaged states are refused with the device left reset. Under
 * ASan, any access outside the buffer fails.
 */
#include "kvm/virtio-blk.h"
#include "virtio-test.h"

#include <fcntl.h>
#include <unistd.h>

/* Where the driver puts things (guest addresses). */
#define DESC_AT     (GUEST_BASE + 0x0000)
#define AVAIL_AT    (GUEST_BASE + 0x1000)
#define USED_AT     (GUEST_BASE + 0x2000)
#define HEADER_AT   (GUEST_BASE + 0x4000)
#define STATUS_AT   (GUEST_BASE + 0x5000)
#define DATA_AT     (GUEST_BASE + 0x10000)

#define IMAGE_BYTES (64u * 1024) /* 128 sectors */
#define QSIZE       16u

/* ---- the device ----------------------------------------------------------- */

/* A temporary image of `bytes`, every byte its offset's pattern. */
static int make_image(drv *d, size_t bytes)
{
    uint8_t *buf = malloc(bytes);

    assert_non_null(buf);
    for (size_t i = 0; i < bytes; i++)
        buf[i] = (uint8_t)(i * 7 + i / 512);
    snprintf(d->path, sizeof(d->path), "/tmp/hv-test-virtio.XXXXXX");
    d->fd = mkstemp(d->path);
    assert_true(d->fd >= 0);
    assert_int_equal(pwrite(d->fd, buf, bytes, 0), (ssize_t)bytes);
    free(buf);
    return d->fd;
}

static void device_new(drv *d, bool read_only, int fd, const char *serial)
{
    hv_virtio_blk_params p = {
        .name = "vda",
        .fd = fd,
        .read_only = read_only,
        .serial = serial,
        .guest_ptr = guest_ptr,
        .guest_ctx = &d->g,
        .irq = irq_line,
        .irq_ctx = d,
    };

    assert_hv_ok(hv_virtio_blk_new(&p, &d->dev));
}

static void setup(drv *d, bool read_only, size_t image_bytes)
{
    memset(d, 0, sizeof(*d));
    d->g.mem = calloc(1, GUEST_BYTES);
    assert_non_null(d->g.mem);
    d->device_id = HV_VIRTIO_ID_BLOCK;
    d->queue_max = HV_VIRTIO_BLK_QUEUE_SIZE;
    make_image(d, image_bytes);
    device_new(d, read_only, d->fd, "hpcvirt-serial-1");
}

static void teardown(drv *d)
{
    hv_virtio_mmio_free(d->dev);
    close(d->fd);
    unlink(d->path);
    free(d->g.mem);
}

/* ---- the driver (what Linux's virtio_blk.c does) ----------------------------- */

static const uint64_t blk_features = HV_VIRTIO_F_VERSION_1 | 1ull << HV_VIRTIO_BLK_F_FLUSH |
                                     1ull << HV_VIRTIO_BLK_F_SEG_MAX |
                                     1ull << HV_VIRTIO_BLK_F_SIZE_MAX;

/* What Linux does up to DRIVER_OK, with a queue of `QSIZE` entries. */
static void probe(drv *d)
{
    assert_true(negotiate(d, blk_features) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(d, 0, QSIZE, DESC_AT, AVAIL_AT, USED_AT), 1);
    driver_ok(d);
    assert_int_equal(hv_virtio_mmio_status(d->dev), 0xF);
}

/*
 * One block request as virtio_blk sends it: header, data (device-readable
 * for OUT, device-writable otherwise; `data_bytes` 0: none), status. The
 * status the device wrote; *len the used length.
 */
static uint8_t request(drv *d, uint32_t type, uint64_t sector, uint32_t data_bytes, uint32_t *len)
{
    uint16_t n = 0;
    uint32_t id, used_len = 0;

    put32(d, HEADER_AT, type);
    put32(d, HEADER_AT + 4, 0);
    put64(d, HEADER_AT + 8, sector);
    *at(d, STATUS_AT) = 0xEE;
    set_desc(d, DESC_AT, n, HEADER_AT, 16, HV_VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1));
    n++;
    if (data_bytes) {
        set_desc(d, DESC_AT, n, DATA_AT, data_bytes,
                 HV_VIRTQ_DESC_F_NEXT | (type == HV_VIRTIO_BLK_T_OUT ? 0 : HV_VIRTQ_DESC_F_WRITE),
                 (uint16_t)(n + 1));
        n++;
    }
    set_desc(d, DESC_AT, n, STATUS_AT, 1, HV_VIRTQ_DESC_F_WRITE, 0);
    submit(d, 0, 0);
    assert_true(take_used(d, 0, &id, &used_len));
    assert_int_equal(id, 0);
    if (len)
        *len = used_len;
    assert_true(d->irq);
    assert_int_equal(ack(d), HV_VIRTIO_INT_VRING);
    return *at(d, STATUS_AT);
}

static void image_read(drv *d, uint64_t offset, void *buf, size_t bytes)
{
    assert_int_equal(pread(d->fd, buf, bytes, (off_t)offset), (ssize_t)bytes);
}

static uint8_t pattern(uint64_t offset)
{
    return (uint8_t)(offset * 7 + offset / 512);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_probe(void **state)
{
    drv d;
    uint8_t data[8];

    (void)state;
    setup(&d, false, IMAGE_BYTES + 100); /* a partial last sector is not seen */
    assert_int_equal(rd(&d, HV_VIRTIO_MMIO_VENDOR_ID), HV_VIRTIO_MMIO_VENDOR);
    assert_true(device_features(&d) == blk_features);
    assert_true(config(&d, 0, 8) == IMAGE_BYTES / 512);
    /* Linux reads 64-bit fields as two 32-bit halves, and bytes */
    assert_true(config(&d, 0, 4) == IMAGE_BYTES / 512 && config(&d, 4, 4) == 0);
    assert_true(config(&d, 0, 1) == ((IMAGE_BYTES / 512) & 0xFF));
    assert_true(config(&d, 8, 4) == HV_VIRTIO_BLK_SIZE_MAX);
    assert_true(config(&d, 12, 4) == HV_VIRTIO_BLK_SEG_MAX);
    /* past the device's configuration: zeros; across its end: the part inside */
    assert_true(config(&d, 16, 8) == 0 && config(&d, 0xFC, 4) == 0);
    assert_true(config(&d, 14, 4) == 0);
    assert_true(config(&d, 12, 2) == HV_VIRTIO_BLK_SEG_MAX);
    /* a queue that does not exist */
    wr(&d, HV_VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(rd(&d, HV_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    assert_int_equal(rd(&d, HV_VIRTIO_MMIO_QUEUE_READY), 0);
    /* no shared memory regions; no config changes */
    assert_int_equal(rd(&d, HV_VIRTIO_MMIO_SHM_LEN_LOW), 0xFFFFFFFF);
    assert_int_equal(rd(&d, HV_VIRTIO_MMIO_CONFIG_GENERATION), 0);
    /* a register read that is not 32-bit, past the used window, or past 8 bytes: zeros */
    memset(data, 0xAA, sizeof(data));
    hv_virtio_mmio_access(d.dev, HV_VIRTIO_MMIO_MAGIC_VALUE, false, data, 2);
    assert_int_equal(data[0] | data[1], 0);
    memset(data, 0xAA, sizeof(data));
    hv_virtio_mmio_access(d.dev, HV_VIRTIO_MMIO_MAGIC_VALUE + 1, false, data, 4);
    assert_int_equal(data[0] | data[1] | data[2] | data[3], 0);
    memset(data, 0xAA, sizeof(data));
    hv_virtio_mmio_access(d.dev, 0x200, false, data, 4);
    assert_int_equal(data[0] | data[1] | data[2] | data[3], 0);
    hv_virtio_mmio_access(d.dev, 0xFFC, true, data, 4);
    hv_virtio_mmio_access(d.dev, HV_VIRTIO_MMIO_STATUS, true, data, 9); /* ignored */
    assert_int_equal(hv_virtio_mmio_status(d.dev), 0);
    /* a 16-bit write to Status is ignored too */
    data[0] = 1;
    data[1] = 0;
    hv_virtio_mmio_access(d.dev, HV_VIRTIO_MMIO_STATUS, true, data, 2);
    assert_int_equal(hv_virtio_mmio_status(d.dev), 0);
    /* the configuration space ignores writes */
    hv_virtio_mmio_access(d.dev, HV_VIRTIO_MMIO_CONFIG, true, data, 8);
    assert_true(config(&d, 0, 8) == IMAGE_BYTES / 512);
    teardown(&d);
}

static void test_negotiation(void **state)
{
    drv d;

    (void)state;
    setup(&d, false, IMAGE_BYTES);
    /* a legacy driver that does not accept VERSION_1 is refused */
    assert_false(negotiate(&d, blk_features & ~HV_VIRTIO_F_VERSION_1) &
                 HV_VIRTIO_STATUS_FEATURES_OK);
    /* ... and going on to DRIVER_OK regardless puts the device in NEEDS_RESET */
    driver_ok(&d);
    assert_true(needs_reset(&d));
    assert_true(d.irq); /* a configuration-change interrupt */
    assert_int_equal(ack(&d), HV_VIRTIO_INT_CONFIG);
    /* features the device does not offer */
    assert_false(negotiate(&d, blk_features | 1ull << 28) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_false(needs_reset(&d)); /* the reset in negotiate() cleared it */
    /* fewer features than offered are fine; they are what the device then uses */
    assert_true(negotiate(&d, HV_VIRTIO_F_VERSION_1) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_true(hv_virtio_mmio_features(d.dev) == HV_VIRTIO_F_VERSION_1);
    /* features cannot change after FEATURES_OK */
    wr(&d, HV_VIRTIO_MMIO_DRIVER_FEATURES, 0);
    assert_true(hv_virtio_mmio_features(d.dev) == HV_VIRTIO_F_VERSION_1);
    /* the driver cannot set DEVICE_NEEDS_RESET itself */
    wr(&d, HV_VIRTIO_MMIO_STATUS, rd(&d, HV_VIRTIO_MMIO_STATUS) | 0x40);
    assert_false(needs_reset(&d));
    /* nor bits virtio does not define: they are not kept */
    wr(&d, HV_VIRTIO_MMIO_STATUS, rd(&d, HV_VIRTIO_MMIO_STATUS) | 0xFFFFFF30u);
    assert_int_equal(rd(&d, HV_VIRTIO_MMIO_STATUS), HV_VIRTIO_STATUS_ACKNOWLEDGE |
                                                        HV_VIRTIO_STATUS_DRIVER |
                                                        HV_VIRTIO_STATUS_FEATURES_OK);
    /* a reset forgets the features */
    wr(&d, HV_VIRTIO_MMIO_STATUS, 0);
    assert_true(hv_virtio_mmio_features(d.dev) == 0);
    teardown(&d);
}

static void test_read_write(void **state)
{
    drv d;
    uint8_t buf[4 * 512];
    uint32_t len;

    (void)state;
    setup(&d, false, IMAGE_BYTES);
    probe(&d);
    assert_false(d.irq);

    /* read sectors 3..6 into guest memory */
    memset(at(&d, DATA_AT), 0, sizeof(buf));
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_IN, 3, 4 * 512, &len), HV_VIRTIO_BLK_S_OK);
    assert_int_equal(len, 4 * 512 + 1);
    for (size_t i = 0; i < 4 * 512; i++)
        assert_int_equal(at(&d, DATA_AT)[i], pattern(3 * 512 + i));

    /* write two sectors at 100 */
    for (size_t i = 0; i < 2 * 512; i++)
        at(&d, DATA_AT)[i] = (uint8_t)(0xA5 ^ i);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_OUT, 100, 2 * 512, &len), HV_VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1);
    image_read(&d, 100 * 512, buf, 2 * 512);
    for (size_t i = 0; i < 2 * 512; i++)
        assert_int_equal(buf[i], (uint8_t)(0xA5 ^ i));
    image_read(&d, 99 * 512, buf, 512); /* the neighbours are untouched */
    assert_int_equal(buf[511], pattern(99 * 512 + 511));
    image_read(&d, 102 * 512, buf, 1);
    assert_int_equal(buf[0], pattern(102 * 512));

    /* the last sector, and a flush */
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_IN, 127, 512, NULL), HV_VIRTIO_BLK_S_OK);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_FLUSH, 0, 0, &len), HV_VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1);

    /* GET_ID: the serial, NUL-padded to 20 bytes */
    memset(at(&d, DATA_AT), 0xFF, 20);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_GET_ID, 0, 20, &len), HV_VIRTIO_BLK_S_OK);
    assert_int_equal(len, 21);
    assert_memory_equal(at(&d, DATA_AT), "hpcvirt-serial-1\0\0\0\0", 20);

    /* other types, past the end, partial sectors */
    assert_int_equal(request(&d, 11 /* DISCARD */, 0, 16, NULL), HV_VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(request(&d, 0x12345678, 0, 0, NULL), HV_VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_IN, 127, 1024, NULL), HV_VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_OUT, 128, 512, NULL), HV_VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_IN, UINT64_MAX, 512, NULL), HV_VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, 512, NULL),
                     HV_VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_IN, 0, 100, NULL), HV_VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_OUT, 0, 513, NULL), HV_VIRTIO_BLK_S_IOERR);
    /* an empty read or write is fine */
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_IN, 128, 0, NULL), HV_VIRTIO_BLK_S_OK);
    assert_false(needs_reset(&d));

    /* the image did not grow */
    assert_int_equal(lseek(d.fd, 0, SEEK_END), IMAGE_BYTES);
    teardown(&d);
}

/* Any layout: header split, data in odd pieces, the status byte at the end of the last one. */
static void test_any_layout(void **state)
{
    drv d;
    uint32_t id, len;
    uint8_t buf[3 * 512];

    (void)state;
    setup(&d, false, IMAGE_BYTES);
    probe(&d);

    put32(&d, HEADER_AT, HV_VIRTIO_BLK_T_IN);
    put32(&d, HEADER_AT + 4, 0);
    put64(&d, HEADER_AT + 8, 10);
    /* 3 sectors of data + status in 4 pieces: 100, 1000, 435 + 1000 ... */
    set_desc(&d, DESC_AT, 5, HEADER_AT, 7, HV_VIRTQ_DESC_F_NEXT, 9);
    set_desc(&d, DESC_AT, 9, HEADER_AT + 7, 9, HV_VIRTQ_DESC_F_NEXT, 2);
    set_desc(&d, DESC_AT, 2, DATA_AT, 100, HV_VIRTQ_DESC_F_NEXT | HV_VIRTQ_DESC_F_WRITE, 3);
    set_desc(&d, DESC_AT, 3, DATA_AT + 0x1000, 0, HV_VIRTQ_DESC_F_NEXT | HV_VIRTQ_DESC_F_WRITE, 4);
    set_desc(&d, DESC_AT, 4, DATA_AT + 0x2000, 1000, HV_VIRTQ_DESC_F_NEXT | HV_VIRTQ_DESC_F_WRITE,
             0);
    set_desc(&d, DESC_AT, 0, DATA_AT + 0x3000, 3 * 512 - 1100 + 1, HV_VIRTQ_DESC_F_WRITE, 0);
    memset(at(&d, DATA_AT + 0x3000), 0xEE, 3 * 512 - 1100 + 1);
    submit(&d, 0, 5);
    assert_true(take_used(&d, 0, &id, &len));
    assert_int_equal(id, 5);
    assert_int_equal(len, 3 * 512 + 1);
    memcpy(buf, at(&d, DATA_AT), 100);
    memcpy(buf + 100, at(&d, DATA_AT + 0x2000), 1000);
    memcpy(buf + 1100, at(&d, DATA_AT + 0x3000), 3 * 512 - 1100);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], pattern(10 * 512 + i));
    assert_int_equal(*at(&d, DATA_AT + 0x3000 + 3 * 512 - 1100), HV_VIRTIO_BLK_S_OK);

    /* a write with header and data in one descriptor */
    put32(&d, DATA_AT, HV_VIRTIO_BLK_T_OUT);
    put32(&d, DATA_AT + 4, 0);
    put64(&d, DATA_AT + 8, 20);
    memset(at(&d, DATA_AT + 16), 0x5A, 512);
    set_desc(&d, DESC_AT, 0, DATA_AT, 16 + 512, HV_VIRTQ_DESC_F_NEXT, 1);
    set_desc(&d, DESC_AT, 1, STATUS_AT, 1, HV_VIRTQ_DESC_F_WRITE, 0);
    submit(&d, 0, 0);
    assert_true(take_used(&d, 0, &id, &len));
    assert_int_equal(*at(&d, STATUS_AT), HV_VIRTIO_BLK_S_OK);
    image_read(&d, 20 * 512, buf, 512);
    assert_int_equal(buf[0], 0x5A);
    assert_int_equal(buf[511], 0x5A);

    /* a request with the most descriptors a queue of 16 allows (no loop) */
    set_desc(&d, DESC_AT, 0, HEADER_AT, 16, HV_VIRTQ_DESC_F_NEXT, 1);
    for (uint16_t i = 1; i < QSIZE - 1; i++)
        set_desc(&d, DESC_AT, i, DATA_AT + 512u * (i - 1), 512,
                 HV_VIRTQ_DESC_F_NEXT | HV_VIRTQ_DESC_F_WRITE, (uint16_t)(i + 1));
    set_desc(&d, DESC_AT, QSIZE - 1, STATUS_AT, 1, HV_VIRTQ_DESC_F_WRITE, 0);
    put32(&d, HEADER_AT, HV_VIRTIO_BLK_T_IN);
    put64(&d, HEADER_AT + 8, 0);
    submit(&d, 0, 0);
    assert_true(take_used(&d, 0, &id, &len));
    assert_int_equal(len, (QSIZE - 2) * 512 + 1);
    assert_int_equal(*at(&d, STATUS_AT), HV_VIRTIO_BLK_S_OK);
    assert_false(needs_reset(&d));
    teardown(&d);
}

/* Several requests made available at once, one notification; interrupt suppression. */
static void test_batch_and_suppression(void **state)
{
    drv d;
    uint32_t id, len;

    (void)state;
    setup(&d, false, IMAGE_BYTES);
    probe(&d);
    /* three flushes: chains 0-1, 2-3, 4-5 */
    put32(&d, HEADER_AT, HV_VIRTIO_BLK_T_FLUSH);
    for (uint16_t i = 0; i < 3; i++) {
        set_desc(&d, DESC_AT, (uint16_t)(2 * i), HEADER_AT, 16, HV_VIRTQ_DESC_F_NEXT,
                 (uint16_t)(2 * i + 1));
        set_desc(&d, DESC_AT, (uint16_t)(2 * i + 1), STATUS_AT + i, 1, HV_VIRTQ_DESC_F_WRITE, 0);
        put16(&d, AVAIL_AT + 4 + 2u * i, (uint16_t)(2 * i));
    }
    d.q[0].avail_idx = 3;
    put16(&d, AVAIL_AT + 2, 3);
    wr(&d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    for (uint16_t i = 0; i < 3; i++) {
        assert_true(take_used(&d, 0, &id, &len));
        assert_int_equal(id, 2 * i);
        assert_int_equal(*at(&d, STATUS_AT + i), HV_VIRTIO_BLK_S_OK);
    }
    assert_false(take_used(&d, 0, &id, &len));
    assert_int_equal(d.irq_raised, 1);
    assert_int_equal(ack(&d), HV_VIRTIO_INT_VRING);

    /* VIRTQ_AVAIL_F_NO_INTERRUPT: completed, no interrupt */
    put16(&d, AVAIL_AT, HV_VIRTQ_AVAIL_F_NO_INTERRUPT);
    submit(&d, 0, 0);
    assert_true(take_used(&d, 0, &id, &len));
    assert_false(d.irq);
    put16(&d, AVAIL_AT, 0);
    submit(&d, 0, 2);
    assert_true(take_used(&d, 0, &id, &len));
    assert_true(d.irq);
    ack(&d);

    /* the used index wraps around with the available one (requests that need no I/O) */
    put32(&d, HEADER_AT, 0x99);
    for (int i = 0; i < 70000 / 64; i++) {
        for (int j = 0; j < 64; j++) {
            submit(&d, 0, 0);
            assert_true(take_used(&d, 0, &id, &len));
        }
        ack(&d);
    }
    assert_false(needs_reset(&d));
    teardown(&d);
}

static void test_read_only(void **state)
{
    drv d;
    uint8_t buf[512];
    hv_virtio_blk_params p = {.fd = -1, .guest_ptr = guest_ptr};
    hv_virtio_mmio *dev = NULL;
    int ro;

    (void)state;
    setup(&d, true, IMAGE_BYTES);
    assert_true(device_features(&d) == (blk_features | 1ull << HV_VIRTIO_BLK_F_RO));
    assert_true(negotiate(&d, blk_features | 1ull << HV_VIRTIO_BLK_F_RO) &
                HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(&d, 0, QSIZE, DESC_AT, AVAIL_AT, USED_AT), 1);
    driver_ok(&d);
    memset(at(&d, DATA_AT), 0x77, 512);
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_OUT, 1, 512, NULL), HV_VIRTIO_BLK_S_IOERR);
    image_read(&d, 512, buf, 512);
    assert_int_equal(buf[0], pattern(512));
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_IN, 1, 512, NULL), HV_VIRTIO_BLK_S_OK);
    assert_int_equal(at(&d, DATA_AT)[0], pattern(512));
    assert_int_equal(request(&d, HV_VIRTIO_BLK_T_FLUSH, 0, 0, NULL), HV_VIRTIO_BLK_S_OK);

    /* a read-only descriptor serves a read-only disk, not a read-write one */
    ro = open(d.path, O_RDONLY);
    assert_true(ro >= 0);
    p.fd = ro;
    assert_hv_error(hv_virtio_blk_new(&p, &dev), HV_E_INVAL);
    assert_error_mentions("read-only");
    assert_null(dev);
    p.read_only = true;
    assert_hv_ok(hv_virtio_blk_new(&p, &dev));
    hv_virtio_mmio_free(dev);
    close(ro);
    /* a directory, a closed descriptor, a serial too long */
    p.fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    assert_hv_error(hv_virtio_blk_new(&p, &dev), HV_E_INVAL);
    close(p.fd);
    p.fd = 999;
    assert_hv_error(hv_virtio_blk_new(&p, &dev), HV_E_IO);
    p.fd = d.fd;
    p.serial = "123456789012345678901";
    assert_hv_error(hv_virtio_blk_new(&p, &dev), HV_E_INVAL);
    p.serial = "12345678901234567890"; /* 20 bytes: fine, no NUL */
    assert_hv_ok(hv_virtio_blk_new(&p, &dev));
    hv_virtio_mmio_free(dev);
    teardown(&d);
}

/* ---- hostile drivers ------------------------------------------------------ */

/* After a hostile step: NEEDS_RESET, with the interrupt; the device works again after a reset. */
static void expect_needs_reset_then_recover(drv *d)
{
    uint32_t id, len;

    assert_true(needs_reset(d));
    assert_false(take_used(d, 0, &id, &len));
    if (hv_virtio_mmio_status(d->dev) & HV_VIRTIO_STATUS_DRIVER_OK)
        assert_true(ack(d) & HV_VIRTIO_INT_CONFIG);
    /* nothing is processed while it needs a reset */
    set_desc(d, DESC_AT, 0, HEADER_AT, 16, HV_VIRTQ_DESC_F_NEXT, 1);
    set_desc(d, DESC_AT, 1, STATUS_AT, 1, HV_VIRTQ_DESC_F_WRITE, 0);
    put32(d, HEADER_AT, HV_VIRTIO_BLK_T_FLUSH);
    wr(d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_false(take_used(d, 0, &id, &len));
    /* reset: works again */
    probe(d);
    assert_false(needs_reset(d));
    set_desc(d, DESC_AT, 0, HEADER_AT, 16, HV_VIRTQ_DESC_F_NEXT, 1);
    set_desc(d, DESC_AT, 1, STATUS_AT, 1, HV_VIRTQ_DESC_F_WRITE, 0);
    *at(d, STATUS_AT) = 0xEE;
    submit(d, 0, 0);
    assert_true(take_used(d, 0, &id, &len));
    assert_int_equal(*at(d, STATUS_AT), HV_VIRTIO_BLK_S_OK);
    ack(d);
}

/* A flush request's header and status in descriptors 0 and 1 (the caller breaks it). */
static void flush_chain(drv *d)
{
    put32(d, HEADER_AT, HV_VIRTIO_BLK_T_FLUSH);
    put64(d, HEADER_AT + 8, 0);
    set_desc(d, DESC_AT, 0, HEADER_AT, 16, HV_VIRTQ_DESC_F_NEXT, 1);
    set_desc(d, DESC_AT, 1, STATUS_AT, 1, HV_VIRTQ_DESC_F_WRITE, 0);
}

/* One descriptor of a flush chain (flush_chain()) replaced, and the chain's head. */
typedef struct breakage {
    const char *what;
    uint16_t index;
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
    uint16_t head;
} breakage;

#define N_ HV_VIRTQ_DESC_F_NEXT
#define W_ HV_VIRTQ_DESC_F_WRITE

static const breakage breakages[] = {
    {"a loop: 0 -> 1 -> 0", 1, STATUS_AT, 1, W_ | N_, 0, 0},
    {"a descriptor that points at itself", 0, HEADER_AT, 16, N_, 0, 0},
    {"next index out of range", 0, HEADER_AT, 16, N_, QSIZE, 0},
    {"head out of range", 0, HEADER_AT, 16, N_, 1, 0xFFFF},
    {"a buffer below RAM", 0, GUEST_BASE - 16, 16, N_, 1, 0},
    {"a buffer above RAM", 1, GUEST_BASE + GUEST_BYTES, 1, W_, 0, 0},
    {"a buffer across RAM's end", 1, GUEST_BASE + GUEST_BYTES - 8, 16, W_, 0, 0},
    {"a buffer that wraps around", 0, UINT64_MAX - 7, 16, N_, 1, 0},
    {"a length of 4 GiB - 1", 1, STATUS_AT, UINT32_MAX, W_, 0, 0},
    {"a length of 2 GiB", 0, HEADER_AT, 0x80000000u, N_, 1, 0},
    {"device-readable after device-writable", 1, STATUS_AT, 1, W_ | N_, 2, 0},
    {"an indirect descriptor", 0, DATA_AT, 32, HV_VIRTQ_DESC_F_INDIRECT, 0, 0},
    {"no device-writable byte", 1, STATUS_AT, 1, 0, 0, 0},
    {"a zero-length status", 1, STATUS_AT, 0, W_, 0, 0},
};

static void test_hostile_chains(void **state)
{
    drv d;
    uint32_t id, len;

    (void)state;
    setup(&d, false, IMAGE_BYTES);
    probe(&d);
    for (size_t i = 0; i < sizeof(breakages) / sizeof(breakages[0]); i++) {
        const breakage *b = &breakages[i];

        print_message("%s\n", b->what);
        flush_chain(&d);
        /* device-readable, for a chain that reaches it */
        set_desc(&d, DESC_AT, 2, DATA_AT, 512, 0, 0);
        set_desc(&d, DESC_AT, b->index, b->addr, b->len, b->flags, b->next);
        submit(&d, 0, b->head);
        expect_needs_reset_then_recover(&d);
    }

    /* a header too short: an error status, the device goes on */
    flush_chain(&d);
    set_desc(&d, DESC_AT, 0, HEADER_AT, 8, HV_VIRTQ_DESC_F_NEXT, 1);
    submit(&d, 0, 0);
    assert_true(take_used(&d, 0, &id, &len));
    assert_int_equal(*at(&d, STATUS_AT), HV_VIRTIO_BLK_S_IOERR);
    /* extra device-readable bytes on a read, device-writable bytes on a write: errors */
    put32(&d, HEADER_AT, HV_VIRTIO_BLK_T_IN);
    set_desc(&d, DESC_AT, 0, HEADER_AT, 17, HV_VIRTQ_DESC_F_NEXT, 1);
    submit(&d, 0, 0);
    assert_true(take_used(&d, 0, &id, &len));
    assert_int_equal(*at(&d, STATUS_AT), HV_VIRTIO_BLK_S_IOERR);
    put32(&d, HEADER_AT, HV_VIRTIO_BLK_T_OUT);
    set_desc(&d, DESC_AT, 0, HEADER_AT, 16, HV_VIRTQ_DESC_F_NEXT, 1);
    set_desc(&d, DESC_AT, 1, STATUS_AT, 2, HV_VIRTQ_DESC_F_WRITE, 0);
    submit(&d, 0, 0);
    assert_true(take_used(&d, 0, &id, &len));
    assert_int_equal(*at(&d, STATUS_AT + 1), HV_VIRTIO_BLK_S_IOERR);
    assert_false(needs_reset(&d));
    ack(&d);
    teardown(&d);
}

static void test_hostile_rings(void **state)
{
    drv d;

    (void)state;
    setup(&d, false, IMAGE_BYTES);
    probe(&d);

    /* the available index runs more than a queue ahead */
    flush_chain(&d);
    put16(&d, AVAIL_AT + 2, QSIZE + 1);
    wr(&d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    expect_needs_reset_then_recover(&d);
    flush_chain(&d);
    d.q[0].avail_idx = (uint16_t)(d.q[0].avail_idx - 1); /* behind the device: 65535 ahead */
    put16(&d, AVAIL_AT + 2, d.q[0].avail_idx);
    wr(&d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    expect_needs_reset_then_recover(&d);

    /* queue sizes: not a power of two, zero, above the maximum */
    static const uint32_t bad_sizes[] = {100, 0, 3, 512, 0x10000, 0xFFFFFFFF};
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        assert_true(negotiate(&d, blk_features) & HV_VIRTIO_STATUS_FEATURES_OK);
        assert_int_equal(queue_setup(&d, 0, bad_sizes[i], DESC_AT, AVAIL_AT, USED_AT), 0);
        expect_needs_reset_then_recover(&d);
    }
    /* rings outside RAM, across its end, misaligned */
    static const uint64_t bad_rings[][3] = {
        {0, AVAIL_AT, USED_AT},
        {DESC_AT, GUEST_BASE + GUEST_BYTES - 4, USED_AT},
        {DESC_AT, AVAIL_AT, GUEST_BASE + GUEST_BYTES - 8 * QSIZE},
        {DESC_AT + 8, AVAIL_AT, USED_AT},
        {DESC_AT, AVAIL_AT + 1, USED_AT},
        {DESC_AT, AVAIL_AT, USED_AT + 2},
        {UINT64_MAX - 15, AVAIL_AT, USED_AT},
    };
    for (size_t i = 0; i < sizeof(bad_rings) / sizeof(bad_rings[0]); i++) {
        assert_true(negotiate(&d, blk_features) & HV_VIRTIO_STATUS_FEATURES_OK);
        assert_int_equal(
            queue_setup(&d, 0, QSIZE, bad_rings[i][0], bad_rings[i][1], bad_rings[i][2]), 0);
        expect_needs_reset_then_recover(&d);
    }
    /* the largest queue, its rings up to the end of RAM (4096, 518 and 2054 bytes) */
    assert_true(negotiate(&d, blk_features) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(&d, 0, 256, GUEST_BASE + GUEST_BYTES - 8192,
                                 GUEST_BASE + GUEST_BYTES - 2056 - 518,
                                 GUEST_BASE + GUEST_BYTES - 2056),
                     1);
    /* ... and 2 bytes too far */
    assert_true(negotiate(&d, blk_features) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(&d, 0, 256, GUEST_BASE + GUEST_BYTES - 8192,
                                 GUEST_BASE + GUEST_BYTES - 2056 - 518,
                                 GUEST_BASE + GUEST_BYTES - 2052),
                     0);
    expect_needs_reset_then_recover(&d);

    /* notifications: before QueueReady, before DRIVER_OK, for a queue that does not exist */
    assert_true(negotiate(&d, blk_features) & HV_VIRTIO_STATUS_FEATURES_OK);
    wr(&d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    expect_needs_reset_then_recover(&d);
    assert_true(negotiate(&d, blk_features) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(&d, 0, QSIZE, DESC_AT, AVAIL_AT, USED_AT), 1);
    flush_chain(&d);
    submit(&d, 0, 0);
    expect_needs_reset_then_recover(&d);
    wr(&d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    expect_needs_reset_then_recover(&d);
    wr(&d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 0xFFFFFFFF);
    expect_needs_reset_then_recover(&d);

    /* the queue's setup cannot change while it is ready; taking it down and up restarts it */
    wr(&d, HV_VIRTIO_MMIO_QUEUE_NUM, 3);
    wr(&d, HV_VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
    flush_chain(&d);
    submit(&d, 0, 0);
    assert_false(needs_reset(&d));
    ack(&d);
    wr(&d, HV_VIRTIO_MMIO_QUEUE_READY, 0);
    assert_int_equal(rd(&d, HV_VIRTIO_MMIO_QUEUE_READY), 0);
    teardown(&d);
}

/* ---- logging -------------------------------------------------------------- */

/* ---- snapshots ------------------------------------------------------------- */

/*
 * A device mid-use: 65538 requests completed (both ring indexes wrapped past
 * 65535), sectors read, one more request completed with its interrupt not
 * acknowledged; QueueSel and DeviceFeaturesSel left at 1.
 */
static void mid_use(drv *d)
{
    uint32_t id, len;

    setup(d, false, IMAGE_BYTES);
    probe(d);
    assert_int_equal(request(d, 0x99, 0, 0, NULL), HV_VIRTIO_BLK_S_UNSUPP); /* needs no I/O */
    for (int i = 0; i < 65536 / 64; i++) {
        for (int j = 0; j < 64; j++) {
            submit(d, 0, 0);
            assert_true(take_used(d, 0, &id, &len));
        }
        ack(d);
    }
    assert_int_equal(request(d, HV_VIRTIO_BLK_T_IN, 3, 4 * 512, NULL), HV_VIRTIO_BLK_S_OK);
    put32(d, HEADER_AT, HV_VIRTIO_BLK_T_FLUSH);
    submit(d, 0, 0);
    assert_true(take_used(d, 0, &id, &len));
    assert_true(d->irq);
    wr(d, HV_VIRTIO_MMIO_QUEUE_SEL, 1);
    wr(d, HV_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
}

/* What a guest does next: the statuses and used lengths of its requests, in `out`. */
static void go_on(drv *d, uint32_t out[16])
{
    uint32_t n = 0, len = 0;

    out[n++] = ack(d);
    wr(d, HV_VIRTIO_MMIO_QUEUE_SEL, 0);
    for (size_t i = 0; i < 2 * 512; i++)
        at(d, DATA_AT)[i] = (uint8_t)(0x3C ^ i);
    out[n++] = request(d, HV_VIRTIO_BLK_T_OUT, 10, 2 * 512, &len);
    out[n++] = len;
    out[n++] = request(d, HV_VIRTIO_BLK_T_IN, 9, 4 * 512, &len);
    out[n++] = len;
    out[n++] = request(d, HV_VIRTIO_BLK_T_GET_ID, 0, 20, &len);
    out[n++] = len;
    out[n++] = request(d, HV_VIRTIO_BLK_T_IN, 127, 1024, NULL);
    out[n++] = d->q[0].used_seen;
}

/* Both images hold the same bytes. */
static void assert_same_image(drv *a, drv *b)
{
    static uint8_t ia[IMAGE_BYTES], ib[IMAGE_BYTES];

    image_read(a, 0, ia, IMAGE_BYTES);
    image_read(b, 0, ib, IMAGE_BYTES);
    assert_memory_equal(ia, ib, IMAGE_BYTES);
}

/* `b` (made, not used) takes `a`'s state and guest memory; its line goes where `a`'s is. */
static void restore(drv *b, drv *a, const uint8_t *blob, size_t bytes)
{
    setup(b, false, IMAGE_BYTES);
    take_over_driver(b, a);
    assert_hv_ok(hv_virtio_mmio_state_decode(b->dev, blob, bytes));
    assert_int_equal(b->irq, a->irq);
    assert_int_equal(b->irq_raised, a->irq ? 1 : 0);
    assert_same_device(a, b);
}

static void test_state_round_trip(void **state)
{
    drv a, b;
    uint32_t out_a[16] = {0}, out_b[16] = {0};
    size_t bytes;
    uint8_t *blob;

    (void)state;
    mid_use(&a);
    blob = state_of(&a, &bytes);
    assert_int_equal(bytes, VMIO_OWN(1) + 4); /* a block device keeps no state of its own */
    assert_memory_equal(blob, "VMIO\1\0\0\0", 8);
    restore(&b, &a, blob, bytes);
    assert_true(b.irq);
    go_on(&a, out_a);
    go_on(&b, out_b);
    assert_memory_equal(out_a, out_b, sizeof(out_a));
    assert_int_equal(out_a[0], HV_VIRTIO_INT_VRING); /* the interrupt pending at the snapshot */
    assert_int_equal(out_a[1], HV_VIRTIO_BLK_S_OK);
    assert_int_equal(out_a[8], 7); /* 1 + 65536 + 1 + 1 + 4 used entries, modulo 65536 */
    assert_same_device(&a, &b);
    assert_same_image(&a, &b);
    free(blob);
    teardown(&a);
    teardown(&b);
}

/* A queue the guest broke stays broken; a queue set up but not ready keeps its setup. */
static void test_state_queues(void **state)
{
    drv a, b;
    size_t bytes;
    uint8_t *blob;

    (void)state;
    setup(&a, false, IMAGE_BYTES);
    probe(&a);
    flush_chain(&a);
    set_desc(&a, DESC_AT, 1, STATUS_AT, 1, W_ | N_, 0); /* a loop */
    submit(&a, 0, 0);
    assert_true(needs_reset(&a));
    blob = state_of(&a, &bytes);
    restore(&b, &a, blob, bytes);
    free(blob);
    assert_true(needs_reset(&b));
    expect_needs_reset_then_recover(&b);
    teardown(&b);
    teardown(&a);

    /* the driver set the queue up and did not say ready yet */
    setup(&a, false, IMAGE_BYTES);
    assert_true(negotiate(&a, blk_features) & HV_VIRTIO_STATUS_FEATURES_OK);
    wr(&a, HV_VIRTIO_MMIO_QUEUE_NUM, QSIZE);
    wr(&a, HV_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_AT);
    wr(&a, HV_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_AT);
    wr(&a, HV_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED_AT);
    blob = state_of(&a, &bytes);
    assert_int_equal(blob[VMIO_QUEUE(0) + VMIO_Q_FLAGS], 0);
    restore(&b, &a, blob, bytes);
    free(blob);
    for (int i = 0; i < 2; i++) {
        drv *d = i ? &b : &a;

        wr(d, HV_VIRTIO_MMIO_QUEUE_READY, 1);
        driver_ok(d);
        d->q[0] = (drv_queue){.desc = DESC_AT, .avail = AVAIL_AT, .used = USED_AT, .size = QSIZE};
        assert_int_equal(request(d, HV_VIRTIO_BLK_T_FLUSH, 0, 0, NULL), HV_VIRTIO_BLK_S_OK);
    }
    assert_same_device(&a, &b);
    teardown(&a);
    teardown(&b);
}

/* Damaged states (offsets of docs/snapshot-devices.md), each refused with the device left reset. */
static const state_damage blk_damages[] = {
    {"another magic", 0, 1, 'X', "magic"},
    {"another version", 4, 4, 2, "version 2"},
    {"another device", VMIO_DEVICE_ID, 4, 3, "device id 3"},
    {"another queue count", VMIO_QUEUE_COUNT, 4, 2, "2 queues"},
    {"other features", VMIO_DEVICE_FEATURES, 8, 0, "offered features"},
    {"driver features without VERSION_1", 28, 1, 0, "FEATURES_OK with driver features"},
    {"an unknown status bit", VMIO_STATUS, 1, 0x1F, "status 0x1f"},
    {"DRIVER_OK without FEATURES_OK", VMIO_STATUS, 1, 0x7, "DRIVER_OK without FEATURES_OK"},
    {"an unknown interrupt bit", VMIO_INTERRUPT_STATUS, 4, 4, "InterruptStatus 0x4"},
    {"reserved header bytes", VMIO_RESERVED, 1, 1, "reserved"},
    {"a queue size not a power of two", VMIO_QUEUE(0) + VMIO_Q_NUM, 4, 3, "power of two"},
    {"a queue size above the maximum", VMIO_QUEUE(0) + VMIO_Q_NUM, 4, 512, "power of two"},
    {"a queue size of 0", VMIO_QUEUE(0) + VMIO_Q_NUM, 4, 0, "power of two"},
    {"a huge queue size", VMIO_QUEUE(0) + VMIO_Q_NUM, 4, 0x10000, "power of two"},
    {"descriptors below RAM", VMIO_QUEUE(0) + VMIO_Q_DESC, 8, 0x1000, "not inside guest RAM"},
    {"a used ring across RAM's end", VMIO_QUEUE(0) + VMIO_Q_DEVICE, 8, GUEST_BASE + GUEST_BYTES - 8,
     "not inside guest RAM"},
    {"an available ring that wraps around", VMIO_QUEUE(0) + VMIO_Q_DRIVER, 8, -2,
     "not inside guest RAM"},
    {"misaligned descriptors", VMIO_QUEUE(0) + VMIO_Q_DESC, 8, GUEST_BASE + 8, "aligned"},
    {"an unknown queue flag", VMIO_QUEUE(0) + VMIO_Q_FLAGS, 4, 5, "flags 0x5"},
    {"reserved queue bytes", VMIO_QUEUE(0) + VMIO_Q_RESERVED, 4, 1, "reserved"},
    {"a broken queue on a device that does not need a reset", VMIO_QUEUE(0) + VMIO_Q_FLAGS, 4, 3,
     "not in DEVICE_NEEDS_RESET"},
    {"device bytes said", VMIO_OWN(1), 4, 4, "truncated"},
    {"a byte short", 0, 0, -1, "bytes"},
    {"the header only", 0, 0, -44, "take 100"},
    {"half a header", 0, 0, -72, "header"},
    {"no head", 0, 0, -93, "head"},
    {"nothing", 0, 0, -100, "head"},
    {"a byte more", 0, 0, 1, "trailing"},
};

static void test_state_refused(void **state)
{
    drv a, b;
    size_t bytes;
    uint8_t *blob, *more;

    (void)state;
    mid_use(&a);
    blob = state_of(&a, &bytes);
    assert_int_equal(bytes, 100);
    setup(&b, false, IMAGE_BYTES);
    take_over_driver(&b, &a);
    for (size_t i = 0; i < sizeof(blk_damages) / sizeof(blk_damages[0]); i++) {
        assert_state_refused(&b, blob, bytes, &blk_damages[i]);
        assert_error_mentions("virtio device vda");
    }
    /* device bytes for a device that keeps none */
    more = calloc(1, bytes + 4);
    assert_non_null(more);
    memcpy(more, blob, bytes);
    more[VMIO_OWN(1)] = 4;
    assert_hv_error(hv_virtio_mmio_state_decode(b.dev, more, bytes + 4), HV_E_SNAPSHOT);
    assert_error_mentions("keeps none");
    assert_left_reset(&b, 0);
    free(more);
    /* a device in use is reset first: the state is all that counts */
    probe(&b);
    assert_int_equal(request(&b, HV_VIRTIO_BLK_T_FLUSH, 0, 0, NULL), HV_VIRTIO_BLK_S_OK);
    take_over_driver(&b, &a);
    assert_hv_ok(hv_virtio_mmio_state_decode(b.dev, blob, bytes));
    assert_true(b.irq);
    assert_same_device(&a, &b);
    assert_hv_error(hv_virtio_mmio_state_decode(b.dev, NULL, 0), HV_E_INVAL);
    assert_hv_error(hv_virtio_mmio_state_encode(NULL, &more, &bytes), HV_E_INVAL);
    free(blob);
    teardown(&a);
    teardown(&b);
}

static unsigned int warnings;
static char last_warning[1024];

static void count_warnings(int level, const char *domain, const char *message, void *userdata)
{
    (void)userdata;
    if (level == HV_LOG_WARNING && strcmp(domain, "virtio") == 0) {
        warnings++;
        snprintf(last_warning, sizeof(last_warning), "%s", message);
    }
}

static void test_log_rate_limited(void **state)
{
    drv d;

    (void)state;
    setup(&d, false, IMAGE_BYTES);
    probe(&d);
    assert_hv_ok(hv_set_log_handler(count_warnings, HV_LOG_WARNING, NULL));
    flush_chain(&d);
    set_desc(&d, DESC_AT, 0, HEADER_AT, 16, HV_VIRTQ_DESC_F_NEXT, 0);
    submit(&d, 0, 0);
    assert_int_equal(warnings, 1);
    if (!strstr(last_warning, "vda: queue 0: chain 0: more than 16 descriptors (a loop?)"))
        fail_msg("unexpected warning: %s", last_warning);
    ack(&d);
    /* 1000 bad requests: a few logged, the rest counted */
    probe(&d);
    for (int i = 0; i < 1000; i++)
        (void)request(&d, HV_VIRTIO_BLK_T_IN, 1000, 512, NULL);
    assert_true(warnings > 1 && warnings <= 12);
    assert_hv_ok(hv_set_log_handler(NULL, HV_LOG_ERROR, NULL));
    teardown(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_read_write),
        cmocka_unit_test(test_any_layout),
        cmocka_unit_test(test_batch_and_suppression),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_hostile_chains),
        cmocka_unit_test(test_hostile_rings),
        cmocka_unit_test(test_log_rate_limited),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_queues),
        cmocka_unit_test(test_state_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz/fuzz-virtqueue.c - libFuzzer target for the virtio-mmio block device
 * (lib/kvm/virtqueue.h, virtio-mmio.h, virtio-blk.h): the input is a guest's
 * memory and what its driver does. A 16-byte header chooses the disk
 * (read-only or not), the features accepted, the queue's size and where its
 * rings lie; the driver then negotiates and sets up queue 0 as Linux does
 * (unless the header says to skip it), the input's operations run (register
 * reads and writes anywhere in the window, "make N more chains available and
 * notify", pokes into memory), and a last notification follows. Guest memory
 * is 64 KiB of the input (zero past its end) behind a bounds-checked
 * hv_guest_ptr_fn; the disk a 16-sector memfd.
 *
 * Input: byte 0 the F_* flags below; byte 1 the queue size (below 16: that
 * power of two, else the raw le16 at bytes 2-3); le16 at 4, 6 and 8: the
 * descriptor table's, available ring's and used ring's offsets in guest
 * memory, halved; byte 15 the number of operations (up to 64), which
 * follow, 8 bytes each ({kind, width, le16 offset, le32 value}); the rest
 * is guest memory (guest-physical 0x10000).
 *
 * Invariants: nothing touches memory outside the guest's buffer (ASan), no
 * loop hangs (libFuzzer's timeout), the interrupt line is high exactly while
 * InterruptStatus is not 0 and changes only when it must, the image never
 * changes size, and a read-only image never changes at all.
 */
#include "fuzz.h"
#include "kvm/virtio-blk.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEM_BASE    0x10000u
#define MEM_BYTES   0x10000u
#define IMAGE_BYTES (16u * 512)
#define HEADER      16u
#define OP_BYTES    8u
#define MAX_OPS     64u

/* header flags */
#define F_READ_ONLY  0x01u
#define F_FLUSH      0x02u
#define F_NO_SETUP   0x04u
#define F_NO_VERSION 0x08u /* a legacy driver: does not accept VIRTIO_F_VERSION_1 */
#define F_ALL_OFFERS 0x10u /* accept every feature bit, offered or not */

typedef struct fuzz_guest {
    uint8_t *mem;
    bool level;
    unsigned int changes;
} fuzz_guest;

static uint8_t *guest_ptr(void *ctx, uint64_t addr, uint64_t bytes)
{
    fuzz_guest *g = ctx;

    if (addr < MEM_BASE || bytes > MEM_BYTES || addr - MEM_BASE > MEM_BYTES - bytes)
        return NULL;
    return g->mem + (addr - MEM_BASE);
}

static void irq_line(void *ctx, bool level)
{
    fuzz_guest *g = ctx;

    CHECK(level != g->level);
    g->level = level;
    g->changes++;
}

static uint32_t rd(hv_virtio_mmio *dev, uint32_t offset)
{
    uint8_t d[4];

    hv_virtio_mmio_access(dev, offset, false, d, 4);
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static void wr(hv_virtio_mmio *dev, uint32_t offset, uint32_t value)
{
    uint8_t d[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
                    (uint8_t)(value >> 24)};

    hv_virtio_mmio_access(dev, offset, true, d, 4);
}

static uint16_t le16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_line(hv_virtio_mmio *dev, const fuzz_guest *g)
{
    CHECK(g->level == (rd(dev, HV_VIRTIO_MMIO_INTERRUPT_STATUS) != 0));
}

/* What Linux's virtio_mmio does up to DRIVER_OK, with queue 0 where the header says. */
static void setup(hv_virtio_mmio *dev, const uint8_t *h)
{
    uint64_t features =
        HV_VIRTIO_F_VERSION_1 | 1ull << HV_VIRTIO_BLK_F_SEG_MAX | 1ull << HV_VIRTIO_BLK_F_SIZE_MAX;
    uint32_t status = HV_VIRTIO_STATUS_ACKNOWLEDGE | HV_VIRTIO_STATUS_DRIVER;
    uint32_t num = le16_at(h + 2);
    uint64_t desc = MEM_BASE + (uint64_t)le16_at(h + 4) * 2;
    uint64_t avail = MEM_BASE + (uint64_t)le16_at(h + 6) * 2;
    uint64_t used = MEM_BASE + (uint64_t)le16_at(h + 8) * 2;

    if (h[0] & F_FLUSH)
        features |= 1ull << HV_VIRTIO_BLK_F_FLUSH;
    if (h[0] & F_READ_ONLY)
        features |= 1ull << HV_VIRTIO_BLK_F_RO;
    if (h[0] & F_NO_VERSION)
        features &= ~HV_VIRTIO_F_VERSION_1;
    if (h[0] & F_ALL_OFFERS)
        features = ~0ull;
    /* a size byte below 16 means a power of two (the usual case), anything else the raw value */
    if (h[1] < 16)
        num = 1u << h[1];
    wr(dev, HV_VIRTIO_MMIO_STATUS, 0);
    wr(dev, HV_VIRTIO_MMIO_STATUS, HV_VIRTIO_STATUS_ACKNOWLEDGE);
    wr(dev, HV_VIRTIO_MMIO_STATUS, status);
    wr(dev, HV_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(dev, HV_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(dev, HV_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(dev, HV_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    status |= HV_VIRTIO_STATUS_FEATURES_OK;
    wr(dev, HV_VIRTIO_MMIO_STATUS, status);
    CHECK(((rd(dev, HV_VIRTIO_MMIO_STATUS) & HV_VIRTIO_STATUS_FEATURES_OK) != 0) ==
          ((features & HV_VIRTIO_F_VERSION_1) && !(h[0] & F_ALL_OFFERS)));
    wr(dev, HV_VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_NUM, num);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_READY, 1);
    wr(dev, HV_VIRTIO_MMIO_STATUS, status | HV_VIRTIO_STATUS_DRIVER_OK);
}

/* One operation: {kind, len, offset (le16), value (le32)}. */
static void run_op(hv_virtio_mmio *dev, fuzz_guest *g, uint64_t avail, const uint8_t *op)
{
    static const uint32_t widths[4] = {4, 1, 2, 8};
    uint32_t len = widths[op[1] % 4];
    uint32_t offset = le16_at(op + 2) % HV_VIRTIO_MMIO_WINDOW_BYTES;
    uint32_t value = le32_at(op + 4);
    uint8_t data[8];

    switch (op[0] % 4) {
    case 0: /* a register write */
        for (uint32_t i = 0; i < 8; i++)
            data[i] = (uint8_t)(value >> (8 * (i % 4)));
        hv_virtio_mmio_access(dev, offset, true, data, len);
        break;
    case 1: /* a register read */
        hv_virtio_mmio_access(dev, offset, false, data, len);
        break;
    case 2: { /* make `value & 0xFF` more chains available (the index at the header's ring) */
        uint8_t *idx = guest_ptr(g, avail + 2, 2);

        if (idx) {
            uint16_t v = (uint16_t)(le16_at(idx) + (value & 0xFF));

            idx[0] = (uint8_t)v;
            idx[1] = (uint8_t)(v >> 8);
        }
        wr(dev, HV_VIRTIO_MMIO_QUEUE_NOTIFY, (value >> 8) & 1);
        break;
    }
    default: /* the guest writes its memory */
        memcpy(g->mem + le16_at(op + 2) % (MEM_BYTES - 3), op + 4, 4);
        break;
    }
    check_line(dev, g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static uint8_t image[IMAGE_BYTES], after[IMAGE_BYTES];
    uint8_t h[HEADER] = {0};
    hv_virtio_blk_params p = {0};
    fuzz_guest g = {0};
    hv_virtio_mmio *dev;
    size_t nops, ops_at = HEADER;
    struct stat st;

    if (fd < 0) {
        fd = memfd_create("fuzz-virtqueue", MFD_CLOEXEC);
        CHECK(fd >= 0);
        for (size_t i = 0; i < IMAGE_BYTES; i++)
            image[i] = (uint8_t)(i * 7 + i / 512);
    }
    CHECK(ftruncate(fd, IMAGE_BYTES) == 0);
    CHECK(pwrite(fd, image, IMAGE_BYTES, 0) == IMAGE_BYTES);

    memcpy(h, data, size < HEADER ? size : HEADER);
    nops = h[15] % (MAX_OPS + 1);
    if (size < HEADER + nops * OP_BYTES)
        nops = size > HEADER ? (size - HEADER) / OP_BYTES : 0;
    g.mem = calloc(1, MEM_BYTES);
    if (!g.mem)
        return 0;
    if (size > ops_at + nops * OP_BYTES) {
        size_t n = size - ops_at - nops * OP_BYTES;

        memcpy(g.mem, data + ops_at + nops * OP_BYTES, n < MEM_BYTES ? n : MEM_BYTES);
    }

    p.name = "fuzz";
    p.fd = fd;
    p.read_only = (h[0] & F_READ_ONLY) != 0;
    p.serial = "fuzz-serial";
    p.guest_ptr = guest_ptr;
    p.guest_ctx = &g;
    p.irq = irq_line;
    p.irq_ctx = &g;
    if (hv_virtio_blk_new(&p, &dev) < 0) {
        free(g.mem);
        return 0;
    }
    if (!(h[0] & F_NO_SETUP))
        setup(dev, h);
    check_line(dev, &g);
    for (size_t i = 0; i < nops; i++)
        run_op(dev, &g, MEM_BASE + (uint64_t)le16_at(h + 6) * 2, data + ops_at + i * OP_BYTES);
    wr(dev, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    check_line(dev, &g);
    hv_virtio_mmio_free(dev);
    free(g.mem);

    CHECK(fstat(fd, &st) == 0 && st.st_size == IMAGE_BYTES);
    if (p.read_only) {
        CHECK(pread(fd, after, IMAGE_BYTES, 0) == IMAGE_BYTES);
        CHECK(memcmp(after, image, IMAGE_BYTES) == 0);
    }
    return 0;
}

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
 * hv_guest_ptr_fn; the disk a 16-sector memfd. What the virtio targets
 * share is in fuzz-virtio.h.
 *
 * Input: byte 0 the F_* flags (below and in fuzz-virtio.h); byte 1 the
 * queue size (below 16: that power of two, else the raw le16 at bytes
 * 2-3); le16 at 4, 6 and 8: the descriptor table's, available ring's and
 * used ring's offsets in guest memory, halved; byte 15 the number of
 * operations (up to 64), which follow, 8 bytes each (fuzz-virtio.h, kind
 * byte % 4); the rest is guest memory (guest-physical 0x10000).
 *
 * Invariants: nothing touches memory outside the guest's buffer (ASan), no
 * loop hangs (libFuzzer's timeout), the interrupt line is high exactly while
 * InterruptStatus is not 0 and changes only when it must, the image never
 * changes size, and a read-only image never changes at all.
 */
#include "fuzz-virtio.h"
#include "kvm/virtio-blk.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_BYTES (16u * 512)
#define HEADER      16u

/* header flags besides fuzz-virtio.h's */
#define F_READ_ONLY 0x01u
#define F_FLUSH     0x02u

/* What Linux's virtio_mmio does up to DRIVER_OK, with queue 0 where the header says. */
static void setup(hv_virtio_mmio *dev, const uint8_t *h)
{
    uint64_t features =
        HV_VIRTIO_F_VERSION_1 | 1ull << HV_VIRTIO_BLK_F_SEG_MAX | 1ull << HV_VIRTIO_BLK_F_SIZE_MAX;
    uint32_t status;

    if (h[0] & F_FLUSH)
        features |= 1ull << HV_VIRTIO_BLK_F_FLUSH;
    if (h[0] & F_READ_ONLY)
        features |= 1ull << HV_VIRTIO_BLK_F_RO;
    status = negotiate(dev, h[0], features);
    queue_setup(dev, 0, queue_size(h[1], h + 2), ring_at(h + 4), ring_at(h + 6), ring_at(h + 8));
    wr(dev, HV_VIRTIO_MMIO_STATUS, status | HV_VIRTIO_STATUS_DRIVER_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static uint8_t image[IMAGE_BYTES], after[IMAGE_BYTES];
    uint8_t h[HEADER];
    hv_virtio_blk_params p = {0};
    fuzz_guest g = {0};
    hv_virtio_mmio *dev;
    const uint8_t *ops;
    uint64_t avail[2];
    size_t nops;
    struct stat st;

    if (fd < 0) {
        fd = memfd_create("fuzz-virtqueue", MFD_CLOEXEC);
        CHECK(fd >= 0);
        for (size_t i = 0; i < IMAGE_BYTES; i++)
            image[i] = (uint8_t)(i * 7 + i / 512);
    }
    CHECK(ftruncate(fd, IMAGE_BYTES) == 0);
    CHECK(pwrite(fd, image, IMAGE_BYTES, 0) == IMAGE_BYTES);

    g.mem = split_input(data, size, h, HEADER, 15, &ops, &nops);
    if (!g.mem)
        return 0;

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
    /* one queue: "make chains available" counts on its ring whichever queue it notifies */
    avail[0] = avail[1] = ring_at(h + 6);
    for (size_t i = 0; i < nops; i++)
        run_op(dev, &g, avail, ops + i * OP_BYTES, ops[i * OP_BYTES] % 4);
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

/*
 * kvm/virtio-blk.c - the virtio block device on a raw image: its
 * configuration space, and each request of its queue checked (header,
 * data length, range, the status byte) and served with preadv()/pwritev()
 * between the image and guest memory.
 */
#include "kvm/virtio-blk.h"

#include "core/error.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* The most iovec entries a request's data takes: one per descriptor. */
#define MAX_IOV HV_VIRTQ_MAX_SIZE

typedef struct blk {
    int fd;
    bool read_only;
    uint64_t capacity; /* sectors */
    char serial[HV_VIRTIO_BLK_ID_BYTES];
    uint8_t config[HV_VIRTIO_BLK_CONFIG_BYTES];
    /* per request, guarded by the transport's lock (large: kept off the vCPU's stack) */
    hv_virtq_chain chain;
    struct iovec iov[MAX_IOV];
} blk;

static void blk_config_read(void *ctx, uint32_t offset, uint8_t *data, uint32_t len)
{
    const blk *b = ctx;

    memcpy(data, b->config + offset, len);
}

static void blk_destroy(void *ctx)
{
    blk *b = ctx;

    if (b->fd >= 0)
        close(b->fd);
    free(b);
}

/* All of `bytes` between the image at `offset` and the iovecs, resuming short transfers. */
static int transfer(int fd, bool write, struct iovec *iov, int count, uint64_t offset,
                    uint64_t bytes)
{
    while (bytes > 0) {
        ssize_t n = write ? pwritev(fd, iov, count < IOV_MAX ? count : IOV_MAX, (off_t)offset)
                          : preadv(fd, iov, count < IOV_MAX ? count : IOV_MAX, (off_t)offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* the image shrank under the device */
        offset += (uint64_t)n;
        bytes -= (uint64_t)n;
        while (count > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static int sync_data(int fd)
{
    while (fdatasync(fd) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

/*
 * Check a data transfer's length and range: OK, or IOERR with a complaint.
 * `data` bytes from sector `sector`.
 */
static uint8_t check_range(hv_virtio_mmio *dev, const blk *b, const char *what, uint64_t sector,
                           uint64_t data)
{
    uint64_t sectors = data / HV_VIRTIO_BLK_SECTOR;

    if (data % HV_VIRTIO_BLK_SECTOR) {
        hv_virtio_mmio_complain(dev, "%s of %llu bytes: not whole 512-byte sectors", what,
                                (unsigned long long)data);
        return HV_VIRTIO_BLK_S_IOERR;
    }
    if (data > (uint64_t)HV_VIRTIO_BLK_SEG_MAX * HV_VIRTIO_BLK_SIZE_MAX) {
        hv_virtio_mmio_complain(dev, "%s of %llu bytes: more than seg_max x size_max", what,
                                (unsigned long long)data);
        return HV_VIRTIO_BLK_S_IOERR;
    }
    if (sector > b->capacity || sectors > b->capacity - sector) {
        hv_virtio_mmio_complain(dev,
                                "%s of %llu sectors at sector %llu: past the end (%llu "
                                "sectors)",
                                what, (unsigned long long)sectors, (unsigned long long)sector,
                                (unsigned long long)b->capacity);
        return HV_VIRTIO_BLK_S_IOERR;
    }
    return HV_VIRTIO_BLK_S_OK;
}

/*
 * IN or OUT: the data between the image and guest memory. IN reads into the
 * device-writable bytes but the status byte and takes no device-readable
 * bytes but the header; OUT writes the device-readable bytes after the
 * header and takes no device-writable bytes but the status byte.
 */
static uint8_t blk_transfer(hv_virtio_mmio *dev, blk *b, bool write, uint64_t sector,
                            uint32_t *written)
{
    const hv_virtq_chain *c = &b->chain;
    const char *what = write ? "write" : "read";
    uint64_t data = write ? c->readable_bytes - HV_VIRTIO_BLK_HEADER : c->writable_bytes - 1;
    uint64_t other = write ? c->writable_bytes : c->readable_bytes;
    uint8_t status;
    int n, rc;

    if (write && b->read_only) {
        hv_virtio_mmio_complain(dev, "write to a read-only disk refused");
        return HV_VIRTIO_BLK_S_IOERR;
    }
    status = check_range(dev, b, what, sector, data);
    if (status != HV_VIRTIO_BLK_S_OK)
        return status;
    if (other != (write ? 1 : HV_VIRTIO_BLK_HEADER)) {
        hv_virtio_mmio_complain(dev, "%s with %llu device-%s bytes: only its %s", what,
                                (unsigned long long)other, write ? "writable" : "readable",
                                write ? "status byte" : "16-byte header");
        return HV_VIRTIO_BLK_S_IOERR;
    }
    n = hv_virtq_chain_iov(c, !write, write ? HV_VIRTIO_BLK_HEADER : 0, data, b->iov, MAX_IOV);
    rc = n < 0 ? -EINVAL : transfer(b->fd, write, b->iov, n, sector * HV_VIRTIO_BLK_SECTOR, data);
    /* without VIRTIO_BLK_F_FLUSH the driver expects a write-through disk */
    if (rc == 0 && write && !(hv_virtio_mmio_features(dev) & (1ull << HV_VIRTIO_BLK_F_FLUSH)))
        rc = sync_data(b->fd);
    if (rc < 0) {
        hv_virtio_mmio_complain(dev, "%s of %llu bytes at sector %llu failed: %s", what,
                                (unsigned long long)data, (unsigned long long)sector,
                                strerror(-rc));
        return HV_VIRTIO_BLK_S_IOERR;
    }
    *written = write ? 1 : (uint32_t)data + 1;
    return HV_VIRTIO_BLK_S_OK;
}

static uint8_t blk_flush(hv_virtio_mmio *dev, blk *b)
{
    int rc = sync_data(b->fd);

    if (rc < 0) {
        hv_virtio_mmio_complain(dev, "flush failed: %s", strerror(-rc));
        return HV_VIRTIO_BLK_S_IOERR;
    }
    return HV_VIRTIO_BLK_S_OK;
}

/* GET_ID: the serial, NUL-padded to 20 bytes, into as much of them as the driver gave. */
static uint8_t blk_get_id(blk *b, uint32_t *written)
{
    uint64_t room = b->chain.writable_bytes - 1;
    size_t n = room < HV_VIRTIO_BLK_ID_BYTES ? (size_t)room : HV_VIRTIO_BLK_ID_BYTES;

    *written = (uint32_t)hv_virtq_chain_write(&b->chain, 0, b->serial, n) + 1;
    return HV_VIRTIO_BLK_S_OK;
}

/*
 * Serve the chain in b->chain: 0 with the status written and *written set,
 * or -1 when there is no status byte to answer in.
 */
static int blk_request(hv_virtio_mmio *dev, blk *b, uint32_t *written)
{
    const hv_virtq_chain *c = &b->chain;
    uint8_t header[HV_VIRTIO_BLK_HEADER];
    uint8_t status;
    uint32_t type;
    uint64_t sector;

    if (c->writable_bytes == 0) {
        hv_virtio_mmio_needs_reset(dev, "request %u has no device-writable status byte", c->head);
        return -1;
    }
    *written = 1;
    if (hv_virtq_chain_read(c, 0, header, sizeof(header)) < sizeof(header)) {
        hv_virtio_mmio_complain(dev,
                                "request %u: %llu device-readable bytes, less than its "
                                "16-byte header",
                                c->head, (unsigned long long)c->readable_bytes);
        status = HV_VIRTIO_BLK_S_IOERR;
        goto answer;
    }
    /* a private copy: the guest may change its header under the device */
    memcpy(&type, header, sizeof(type));
    memcpy(&sector, header + 8, sizeof(sector));
    type = le32toh(type);
    sector = le64toh(sector);
    switch (type) {
    case HV_VIRTIO_BLK_T_IN:
    case HV_VIRTIO_BLK_T_OUT:
        status = blk_transfer(dev, b, type == HV_VIRTIO_BLK_T_OUT, sector, written);
        break;
    case HV_VIRTIO_BLK_T_FLUSH:
        status = blk_flush(dev, b);
        break;
    case HV_VIRTIO_BLK_T_GET_ID:
        status = blk_get_id(b, written);
        break;
    default:
        status = HV_VIRTIO_BLK_S_UNSUPP;
        break;
    }
answer:
    hv_virtq_chain_write(c, c->writable_bytes - 1, &status, 1);
    return 0;
}

static void blk_notify(void *ctx, hv_virtio_mmio *dev, hv_virtq *q, uint16_t index)
{
    blk *b = ctx;

    /*
     * At most a queue's worth each notification: every chain the driver made
     * available before it notified is here (it writes the index first), and
     * any made available later comes with a notification of its own.
     */
    for (uint32_t done = 0; done < q->size; done++) {
        uint32_t written;
        int rc = hv_virtq_pop(q, &b->chain);

        if (rc == 0)
            return;
        if (rc < 0) {
            hv_virtio_mmio_needs_reset(dev, "queue %u: %s", index, q->why);
            return;
        }
        if (blk_request(dev, b, &written) < 0)
            return;
        hv_virtq_push(q, &b->chain, written);
    }
}

static const hv_virtio_mmio_ops blk_ops = {
    .config_read = blk_config_read,
    .notify = blk_notify,
    .destroy = blk_destroy,
};

/* The image's size in bytes: a regular file's or a block device's. */
static int image_bytes(int fd, const char *name, uint64_t *bytes)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return hv_error_set_errno(HV_E_IO, errno, NULL, "virtio-blk %s: fstat", name);
    if (S_ISREG(st.st_mode)) {
        *bytes = (uint64_t)st.st_size;
        return 0;
    }
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, bytes) < 0)
            return hv_error_set_errno(HV_E_IO, errno, NULL, "virtio-blk %s: BLKGETSIZE64", name);
        return 0;
    }
    return hv_error_set(HV_E_INVAL, NULL,
                        "virtio-blk %s: the image is neither a regular file nor a block device",
                        name);
}

int hv_virtio_blk_new(const hv_virtio_blk_params *p, hv_virtio_mmio **out)
{
    hv_virtio_mmio_params mp = {0};
    const char *name;
    uint64_t bytes, features;
    uint32_t size_max = HV_VIRTIO_BLK_SIZE_MAX, seg_max = HV_VIRTIO_BLK_SEG_MAX;
    int flags, rc;
    blk *b;

    if (out)
        *out = NULL;
    if (!p || !out || !p->guest_ptr)
        return hv_error_null_arg(__func__, "params, guest_ptr or out");
    name = p->name ? p->name : "disk";
    if (p->serial && strlen(p->serial) > HV_VIRTIO_BLK_ID_BYTES)
        return hv_error_set(HV_E_INVAL, NULL, "virtio-blk %s: the serial has %zu bytes: at most %u",
                            name, strlen(p->serial), HV_VIRTIO_BLK_ID_BYTES);
    flags = fcntl(p->fd, F_GETFL);
    if (flags < 0)
        return hv_error_set_errno(HV_E_IO, errno, NULL, "virtio-blk %s: the image's descriptor",
                                  name);
    if (!p->read_only && (flags & O_ACCMODE) == O_RDONLY)
        return hv_error_set(HV_E_INVAL, NULL,
                            "virtio-blk %s: the image is open read-only: open it read-write or "
                            "make the disk read-only",
                            name);
    rc = image_bytes(p->fd, name, &bytes);
    if (rc < 0)
        return rc;
    b = calloc(1, sizeof(*b));
    if (!b)
        return hv_error_nomem();
    b->fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
    if (b->fd < 0) {
        rc = hv_error_set_errno(HV_E_IO, errno, NULL, "virtio-blk %s: dup", name);
        free(b);
        return rc;
    }
    b->read_only = p->read_only;
    b->capacity = bytes / HV_VIRTIO_BLK_SECTOR;
    if (p->serial)
        memcpy(b->serial, p->serial, strlen(p->serial));
    bytes = htole64(b->capacity);
    size_max = htole32(size_max);
    seg_max = htole32(seg_max);
    memcpy(b->config, &bytes, 8);
    memcpy(b->config + 8, &size_max, 4);
    memcpy(b->config + 12, &seg_max, 4);

    features = 1ull << HV_VIRTIO_BLK_F_SIZE_MAX | 1ull << HV_VIRTIO_BLK_F_SEG_MAX |
               1ull << HV_VIRTIO_BLK_F_FLUSH;
    if (p->read_only)
        features |= 1ull << HV_VIRTIO_BLK_F_RO;
    mp.name = name;
    mp.device_id = HV_VIRTIO_ID_BLOCK;
    mp.features = features;
    mp.queue_count = 1;
    mp.queue_max = HV_VIRTIO_BLK_QUEUE_SIZE;
    mp.config_bytes = HV_VIRTIO_BLK_CONFIG_BYTES;
    mp.ops = &blk_ops;
    mp.ctx = b;
    mp.guest_ptr = p->guest_ptr;
    mp.guest_ctx = p->guest_ctx;
    mp.irq = p->irq;
    mp.irq_ctx = p->irq_ctx;
    return hv_virtio_mmio_new(&mp, out);
}

/*
 * kvm/virtqueue.c - a virtio 1.x split virtqueue, device side: checking the
 * rings the driver set up, taking descriptor chains from the available ring
 * (every descriptor copied once, then checked), and completing them on the
 * used ring, with the memory ordering the guest's concurrent vCPUs need.
 */
#include "kvm/virtqueue.h"

#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A descriptor as read from the table: a private copy, checked after the read. */
typedef struct desc_copy {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
} desc_copy;

static uint16_t load16(const uint8_t *p, int order)
{
    return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, order));
}

static uint32_t load32(const uint8_t *p)
{
    return le32toh(__atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_RELAXED));
}

static uint64_t load64(const uint8_t *p)
{
    return le64toh(__atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_RELAXED));
}

static void store16(uint8_t *p, uint16_t v, int order)
{
    __atomic_store_n((uint16_t *)(void *)p, htole16(v), order);
}

static void store32(uint8_t *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

/* Stop the queue for good and say why: the caller returns -1. */
static int broken(hv_virtq *q, const char *fmt, ...) HV_PRINTF(2, 3);

static int broken(hv_virtq *q, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(q->why, sizeof(q->why), fmt, ap);
    va_end(ap);
    q->broken = true;
    return -1;
}

void hv_virtq_reset(hv_virtq *q)
{
    memset(q, 0, sizeof(*q));
}

/* One ring: `align`-aligned in the guest and in the host, inside guest RAM. */
static uint8_t *map_ring(hv_virtq *q, const char *what, uint64_t addr, uint64_t bytes,
                         unsigned int align)
{
    uint8_t *p;

    if (addr % align) {
        broken(q, "the %s at 0x%llx is not %u-byte aligned", what, (unsigned long long)addr, align);
        return NULL;
    }
    p = q->guest_ptr(q->guest_ctx, addr, bytes);
    if (!p) {
        broken(q, "the %s [0x%llx, +%llu) is not inside guest RAM", what, (unsigned long long)addr,
               (unsigned long long)bytes);
        return NULL;
    }
    if ((uintptr_t)p % align) {
        broken(q, "the %s at 0x%llx is not %u-byte aligned in the host's view of guest RAM", what,
               (unsigned long long)addr, align);
        return NULL;
    }
    return p;
}

int hv_virtq_start(hv_virtq *q, uint16_t max_size, hv_guest_ptr_fn guest_ptr, void *guest_ctx)
{
    if (q->num == 0 || q->num > max_size || (q->num & (q->num - 1)) != 0)
        return broken(q, "queue size %u is not a power of two from 1 to %u", q->num, max_size);
    q->size = (uint16_t)q->num;
    q->guest_ptr = guest_ptr;
    q->guest_ctx = guest_ctx;
    q->desc = map_ring(q, "descriptor table", q->desc_addr, HV_VIRTQ_DESC_BYTES(q->size), 16);
    if (!q->desc)
        return -1;
    q->avail = map_ring(q, "available ring", q->avail_addr, HV_VIRTQ_AVAIL_BYTES(q->size), 2);
    if (!q->avail)
        return -1;
    q->used = map_ring(q, "used ring", q->used_addr, HV_VIRTQ_USED_BYTES(q->size), 4);
    if (!q->used)
        return -1;
    q->last_avail = 0;
    q->used_idx = 0;
    q->pushed = false;
    q->broken = false;
    q->why[0] = '\0';
    q->ready = true;
    return 0;
}

static desc_copy load_desc(const hv_virtq *q, uint16_t index)
{
    const uint8_t *d = q->desc + 16u * index;
    desc_copy c;

    c.addr = load64(d);
    c.len = load32(d + 8);
    c.flags = load16(d + 12, __ATOMIC_RELAXED);
    c.next = load16(d + 14, __ATOMIC_RELAXED);
    return c;
}

/* Walk the chain that starts at `head` into `chain`: 0, or -1 with the queue broken. */
static int walk(hv_virtq *q, uint16_t head, hv_virtq_chain *chain)
{
    uint16_t index = head;
    uint32_t seen = 0;
    bool writing = false; /* a device-writable descriptor came already */

    chain->head = head;
    chain->count = chain->readable = 0;
    chain->readable_bytes = chain->writable_bytes = 0;
    for (;;) {
        desc_copy d;
        bool write;
        uint8_t *data = NULL;

        if (index >= q->size)
            return broken(q, "chain %u: descriptor index %u is not below the queue size %u", head,
                          index, q->size);
        if (seen == q->size)
            return broken(q, "chain %u: more than %u descriptors (a loop?)", head, q->size);
        seen++;
        d = load_desc(q, index);
        if (d.flags & HV_VIRTQ_DESC_F_INDIRECT)
            return broken(q, "chain %u: descriptor %u is indirect, which was not negotiated", head,
                          index);
        write = (d.flags & HV_VIRTQ_DESC_F_WRITE) != 0;
        if (!write && writing)
            return broken(q, "chain %u: device-readable descriptor %u after device-writable ones",
                          head, index);
        writing = writing || write;
        if (d.len) {
            data = q->guest_ptr(q->guest_ctx, d.addr, d.len);
            if (!data)
                return broken(q,
                              "chain %u: descriptor %u's buffer [0x%llx, +%u) is not inside "
                              "guest RAM",
                              head, index, (unsigned long long)d.addr, d.len);
            if (write)
                chain->writable_bytes += d.len;
            else
                chain->readable_bytes += d.len;
            if (chain->readable_bytes + chain->writable_bytes > UINT32_MAX)
                return broken(q, "chain %u: its buffers hold 4 GiB or more", head);
            chain->bufs[chain->count].data = data;
            chain->bufs[chain->count].bytes = d.len;
            chain->count++;
            if (!write)
                chain->readable++;
        }
        if (!(d.flags & HV_VIRTQ_DESC_F_NEXT))
            return 0;
        index = d.next;
    }
}

int hv_virtq_pop(hv_virtq *q, hv_virtq_chain *chain)
{
    uint16_t avail_idx, pending, head;

    if (q->broken)
        return -1;
    if (!q->ready)
        return 0;
    /* acquire: the ring entries and descriptors the driver wrote before the index */
    avail_idx = load16(q->avail + 2, __ATOMIC_ACQUIRE);
    pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return broken(q, "the available index jumped from %u to %u: more than the queue size %u",
                      q->last_avail, avail_idx, q->size);
    head = load16(q->avail + 4 + 2u * (q->last_avail % q->size), __ATOMIC_RELAXED);
    if (walk(q, head, chain) < 0)
        return -1;
    q->last_avail++;
    return 1;
}

void hv_virtq_push(hv_virtq *q, const hv_virtq_chain *chain, uint32_t written)
{
    uint8_t *elem;

    if (!q->ready || q->broken)
        return;
    if (written > chain->writable_bytes)
        written = (uint32_t)chain->writable_bytes;
    elem = q->used + 4 + 8u * (q->used_idx % q->size);
    store32(elem, chain->head);
    store32(elem + 4, written);
    q->used_idx++;
    /* the element (and the buffers' contents) before the index (release), and the index
     * before the driver's flags are read in hv_virtq_interrupt_due() (sequentially
     * consistent: a store-load order, which a release store does not give; on x86 it is a
     * locked exchange, a full barrier - ThreadSanitizer takes it, not a bare fence) */
    store16(q->used + 2, q->used_idx, __ATOMIC_SEQ_CST);
    q->pushed = true;
}

bool hv_virtq_interrupt_due(hv_virtq *q)
{
    if (!q->pushed)
        return false;
    q->pushed = false;
    /* the used index (stored sequentially consistent by hv_virtq_push()) is visible before
     * the driver's flags are read (it re-checks after it clears NO_INTERRUPT, so neither
     * side misses the other) */
    return !(load16(q->avail, __ATOMIC_SEQ_CST) & HV_VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/*
 * Copy [offset, offset + bytes) of the chain's device-readable bytes to `out`
 * (`in` NULL), or `in` to its device-writable bytes there: what was copied.
 */
static size_t chain_copy(const hv_virtq_chain *chain, uint64_t offset, uint8_t *out,
                         const uint8_t *in, size_t bytes)
{
    bool writable = in != NULL;
    size_t done = 0;
    uint16_t first = writable ? chain->readable : 0;
    uint16_t end = writable ? chain->count : chain->readable;

    for (uint16_t i = first; i < end && done < bytes; i++) {
        const hv_virtq_buf *b = &chain->bufs[i];
        size_t n;

        if (offset >= b->bytes) {
            offset -= b->bytes;
            continue;
        }
        n = b->bytes - (size_t)offset;
        if (n > bytes - done)
            n = bytes - done;
        if (writable)
            memcpy(b->data + offset, in + done, n);
        else
            memcpy(out + done, b->data + offset, n);
        done += n;
        offset = 0;
    }
    return done;
}

size_t hv_virtq_chain_read(const hv_virtq_chain *chain, uint64_t offset, void *dst, size_t bytes)
{
    return chain_copy(chain, offset, dst, NULL, bytes);
}

size_t hv_virtq_chain_write(const hv_virtq_chain *chain, uint64_t offset, const void *src,
                            size_t bytes)
{
    return chain_copy(chain, offset, NULL, src, bytes);
}

int hv_virtq_chain_iov(const hv_virtq_chain *chain, bool writable, uint64_t offset, uint64_t bytes,
                       struct iovec *iov, int max)
{
    int n = 0;
    uint16_t first = writable ? chain->readable : 0;
    uint16_t end = writable ? chain->count : chain->readable;

    for (uint16_t i = first; i < end && bytes > 0; i++) {
        const hv_virtq_buf *b = &chain->bufs[i];
        uint64_t take;

        if (offset >= b->bytes) {
            offset -= b->bytes;
            continue;
        }
        if (n == max)
            return -1;
        take = b->bytes - offset;
        if (take > bytes)
            take = bytes;
        iov[n].iov_base = b->data + offset;
        iov[n].iov_len = (size_t)take;
        n++;
        bytes -= take;
        offset = 0;
    }
    return bytes == 0 ? n : -1;
}

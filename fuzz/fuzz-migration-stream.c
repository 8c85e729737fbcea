/*
 * fuzz/fuzz-migration-stream.c - libFuzzer target for the receiving side of
 * the migration stream (lib/kvm/migration-stream.h,
 * docs/migration-protocol.md): bytes from the network, untrusted. The first
 * byte of an input picks the mode; the rest goes through a pipe (closed
 * after it, so the receiver sees the end) to hv_mig_recv(), again and again
 * until it fails:
 *
 *   bit 0  keyed: both ends keyed with a fixed key and nonces (below)
 *   bit 1  (keyed) the target writes the right MAC into every frame it can
 *          find, so that mutations get past the MAC to the checks behind it
 *
 * The target walks the frames itself by docs/migration-protocol.md (magic,
 * version 1, a known type, length at most the largest frame, flags: the MAC
 * bit exactly when keyed; the MAC computed here with GLib's GHmac from the
 * documented key derivation) and counts the well-formed frames before the
 * first that is not. Invariants: the receiver hands out exactly those
 * frames, in order, with their types and payloads, then fails with
 * HV_E_MIGRATION (HV_E_NOMEM at worst; never a timeout: all the bytes are
 * there) whose message starts "migration stream: " ("the peer closed the
 * connection" when the input ended at a frame's end), and then fails again;
 * the bytes it says it read are those frames' and never more than the
 * input. Each frame it hands out goes through a keyed or unkeyed socketpair
 * and comes back the same. PAGES and ZERO payloads go through
 * hv_mig_pages_decode() against a fixed plan (nodes of 1, 4096 and 2^64-1
 * pages), whose verdict must be the target's own; a decoded frame's header
 * encodes again to the same bytes. Nothing leaks (memory, descriptors).
 */
#include "fuzz.h"
#include "kvm/migration-stream.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>
#include <hpcvirt/error.h>

#define MODE_KEYED   0x01
#define MODE_FIX_MAC 0x02
#define HEADER       16u
#define MAC          HV_MIG_MAC_BYTES
#define ECHO_MAX     (32u << 10) /* frames echoed through a socketpair (its buffer holds them) */
#define PREFIX       "migration stream: "

static const uint8_t fuzz_key[] = "fuzz-migration-stream key";
static const uint8_t source_nonce[HV_MIG_NONCE_BYTES] = "source nonce 16B";
static const uint8_t destination_nonce[HV_MIG_NONCE_BYTES] = "dest'n nonce 16B";
static const uint64_t node_pages[] = {1, 4096, UINT64_MAX};
#define NODES ((uint32_t)(sizeof(node_pages) / sizeof(node_pages[0])))

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The lowest free descriptor: the same before and after means nothing leaked one. */
static int lowest_free_fd(void)
{
    int fd = dup(0);

    CHECK(fd >= 0);
    close(fd);
    return fd;
}

/* The frame MAC as docs/migration-protocol.md defines it, computed here, not by the library. */
static void model_mac(uint64_t seq, const uint8_t *frame, size_t length, uint8_t out[MAC])
{
    uint8_t session[MAC], seq_le[8];
    gsize len = MAC;
    GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, fuzz_key, sizeof(fuzz_key) - 1);

    g_hmac_update(h, (const guchar *)"hpcvirt-migration-v1", 20);
    g_hmac_update(h, source_nonce, HV_MIG_NONCE_BYTES);
    g_hmac_update(h, destination_nonce, HV_MIG_NONCE_BYTES);
    g_hmac_get_digest(h, session, &len);
    g_hmac_unref(h);
    for (int i = 0; i < 8; i++)
        seq_le[i] = (uint8_t)(seq >> (8 * i));
    h = g_hmac_new(G_CHECKSUM_SHA256, session, MAC);
    g_hmac_update(h, seq_le, sizeof(seq_le));
    g_hmac_update(h, frame, (gssize)(HEADER + length));
    len = MAC;
    g_hmac_get_digest(h, out, &len);
    g_hmac_unref(h);
}

typedef struct model_frame {
    uint32_t type;
    size_t offset, length; /* the payload, in the input */
} model_frame;

/*
 * The well-formed frames at the start of `in` (MACs written in first when
 * `fix`): how many, and where each one's payload is. *end: where they end.
 */
static size_t model_frames(uint8_t *in, size_t n, bool keyed, bool fix, model_frame *frames,
                           size_t max, size_t *end)
{
    size_t pos = 0, count = 0;
    const size_t mac = keyed ? MAC : 0;

    while (count < max && n - pos >= HEADER) {
        uint8_t *h = in + pos;
        uint32_t type = get32(h + 4), length = get32(h + 8);
        unsigned version = h[12] | h[13] << 8, flags = h[14] | h[15] << 8;
        uint8_t want[MAC];

        if (get32(h) != 0x464D5648u || version != HV_MIG_VERSION || type < 1 ||
            type > HV_MIG_TYPE_MAX || length > HV_MIG_MAX_FRAME_BYTES ||
            flags != (keyed ? 1u : 0u) || n - pos - HEADER < (size_t)length + mac)
            break;
        if (keyed) {
            model_mac(count, h, length, want);
            if (fix)
                memcpy(h + HEADER + length, want, MAC);
            else if (memcmp(h + HEADER + length, want, MAC) != 0)
                break;
        }
        frames[count++] = (model_frame){type, pos + HEADER, length};
        pos += HEADER + length + mac;
    }
    *end = pos;
    return count;
}

/* hv_mig_pages_decode()'s verdict, reached independently. */
static bool model_pages_ok(const uint8_t *p, size_t bytes, bool with_contents)
{
    uint32_t node, count;
    uint64_t each = 8 + (with_contents ? HV_MIG_PAGE_BYTES : 0), prev = 0;

    if (bytes < 8)
        return false;
    node = get32(p);
    count = get32(p + 4);
    if (node >= NODES || count == 0 || count > HV_MIG_MAX_PAGES || bytes != 8 + each * count)
        return false;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t page = get64(p + 8 + 8 * (size_t)i);

        if ((i > 0 && page <= prev) || page >= node_pages[node])
            return false;
        prev = page;
    }
    return true;
}

static void check_pages(const uint8_t *data, size_t bytes, bool with_contents)
{
    uint32_t node = 99, count = 99;
    const uint8_t *numbers = data, *contents = data;
    bool ok = model_pages_ok(data, bytes, with_contents);
    int rc;

    hv_error_clear();
    rc = hv_mig_pages_decode(data, bytes, with_contents, NODES, node_pages, &node, &count, &numbers,
                             &contents);
    CHECK((rc == 0) == ok);
    if (rc < 0) {
        CHECK(rc == HV_E_MIGRATION && hv_error_code_of(hv_error_last()) == rc);
        CHECK(strncmp(hv_error_message(hv_error_last()), PREFIX, strlen(PREFIX)) == 0);
        CHECK(node == 0 && count == 0 && numbers == NULL && contents == NULL);
        return;
    }
    CHECK(node < NODES && count >= 1 && count <= HV_MIG_MAX_PAGES);
    CHECK(bytes == hv_mig_pages_bytes(count, with_contents));
    CHECK(numbers == data + 8);
    CHECK(contents == (with_contents ? data + 8 + 8 * (size_t)count : NULL));
    {
        uint64_t *pages = malloc(sizeof(*pages) * count);
        uint8_t *again = malloc(8 + 8 * (size_t)count);

        CHECK(pages && again);
        for (uint32_t i = 0; i < count; i++)
            pages[i] = hv_mig_page_at(numbers, i);
        CHECK(hv_mig_pages_header(again, node, count, pages) == 8 + 8 * (size_t)count);
        CHECK(memcmp(again, data, 8 + 8 * (size_t)count) == 0);
        free(pages);
        free(again);
    }
}

static void key(hv_mig_stream *s)
{
    CHECK(hv_mig_stream_set_key(s, fuzz_key, sizeof(fuzz_key) - 1, source_nonce,
                                destination_nonce) == 0);
}

/* Each frame handed out, sent again through a socketpair: it must come back the same. */
typedef struct echo {
    int fd[2];
    hv_mig_stream *tx, *rx;
} echo;

static void echo_open(echo *e, bool keyed)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, e->fd) == 0);
    CHECK(hv_mig_stream_new(e->fd[0], true, &e->tx) == 0);
    CHECK(hv_mig_stream_new(e->fd[1], true, &e->rx) == 0);
    if (keyed) {
        key(e->tx);
        key(e->rx);
    }
}

static void echo_frame(echo *e, uint32_t type, const uint8_t *data, size_t bytes)
{
    uint32_t back_type = 0;
    const uint8_t *back = NULL;
    size_t back_bytes = 0;

    if (bytes > ECHO_MAX)
        return;
    CHECK(hv_mig_send(e->tx, type, data, bytes) == 0);
    CHECK(hv_mig_recv(e->rx, 0, &back_type, &back, &back_bytes) == 0);
    CHECK(back_type == type && back_bytes == bytes && memcmp(back, data, bytes) == 0);
}

static void echo_close(echo *e)
{
    CHECK(hv_mig_bytes_sent(e->tx) == hv_mig_bytes_received(e->rx));
    hv_mig_stream_free(e->tx);
    hv_mig_stream_free(e->rx);
}

/* A pipe for the input, made as large as it may be: how many bytes it holds. */
static size_t open_pipe(int fd[2])
{
    long room;

    CHECK(pipe2(fd, O_CLOEXEC) == 0);
    fcntl(fd[1], F_SETPIPE_SZ, 1 << 20); /* may fail: the default size then */
    room = fcntl(fd[1], F_GETPIPE_SZ);
    CHECK(room > 0);
    return (size_t)room;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int free_fd = lowest_free_fd();
    const uint8_t mode = size > 0 ? data[0] : 0;
    const bool keyed = mode & MODE_KEYED, fix = keyed && (mode & MODE_FIX_MAC);
    size_t n = size > 0 ? size - 1 : 0, room, frames_end, count, got = 0;
    uint8_t *in = malloc(n ? n : 1);
    model_frame *frames;
    hv_mig_stream *s;
    uint64_t expect_bytes = 0;
    echo e;
    int fd[2], rc;

    CHECK(in);
    memcpy(in, data + (size > 0), n);
    room = open_pipe(fd);
    if (n > room)
        n = room; /* the rest would not fit: this thread is the reader too */
    frames = malloc(sizeof(*frames) * (n / HEADER + 1));
    CHECK(frames);
    count = model_frames(in, n, keyed, fix, frames, n / HEADER + 1, &frames_end);
    CHECK(n == 0 || write(fd[1], in, n) == (ssize_t)n);
    close(fd[1]);
    CHECK(hv_mig_stream_new(fd[0], true, &s) == 0);
    if (keyed)
        key(s);
    echo_open(&e, keyed);

    for (;;) {
        uint32_t type = 0;
        const uint8_t *payload = NULL;
        size_t bytes = 0;

        hv_error_clear();
        rc = hv_mig_recv(s, 5000, &type, &payload, &bytes);
        if (rc < 0)
            break;
        CHECK(got < count);
        CHECK(type == frames[got].type && bytes == frames[got].length);
        CHECK(payload != NULL && memcmp(payload, in + frames[got].offset, bytes) == 0);
        CHECK(strcmp(hv_mig_type_name(type), "unknown") != 0);
        expect_bytes += HEADER + bytes + (keyed ? MAC : 0);
        CHECK(hv_mig_bytes_received(s) == expect_bytes);
        got++;
        if (type == HV_MIG_PAGES || type == HV_MIG_ZERO)
            check_pages(payload, bytes, type == HV_MIG_PAGES);
        echo_frame(&e, type, payload, bytes);
    }
    CHECK(got == count);
    CHECK(rc == HV_E_MIGRATION || rc == HV_E_NOMEM);
    CHECK(hv_error_code_of(hv_error_last()) == rc);
    if (rc == HV_E_MIGRATION) {
        const char *msg = hv_error_message(hv_error_last());

        CHECK(strncmp(msg, PREFIX, strlen(PREFIX)) == 0);
        if (frames_end == n)
            CHECK(strcmp(msg, PREFIX "the peer closed the connection") == 0);
    }
    CHECK(hv_mig_bytes_received(s) >= expect_bytes && hv_mig_bytes_received(s) <= n);
    /* a failed stream stays failed */
    {
        uint32_t type;
        const uint8_t *payload;
        size_t bytes;

        CHECK(hv_mig_recv(s, 0, &type, &payload, &bytes) == HV_E_MIGRATION);
    }
    hv_mig_stream_free(s);
    echo_close(&e);
    free(frames);
    free(in);
    CHECK(lowest_free_fd() == free_fd);
    return 0;
}

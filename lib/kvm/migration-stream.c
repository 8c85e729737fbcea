/*
 * kvm/migration-stream.c - the migration stream, protocol version 1
 * (docs/migration-protocol.md): framing (a 16-byte header, the payload, an
 * HMAC-SHA-256 once the stream is keyed), the session key, sending without
 * SIGPIPE (send(MSG_NOSIGNAL) on sockets, SIGPIPE blocked around writes to
 * pipes) and receiving within a deadline across partial reads, and the
 * PAGES/ZERO payload encoding. It owns the checks on received bytes: every
 * header field is checked, and the length bounded, before anything is
 * allocated or read; the receive buffer grows with the bytes that actually
 * came, up to the largest frame, and is reused; a frame is handed out only
 * once its MAC matched. It knows nothing of VMs: lib/kvm/migrate.c decides
 * which frame comes when.
 */
#include "kvm/migration-stream.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the frame (docs/migration-protocol.md) --------------------------------------- */

#define MAGIC        UINT32_C(0x464D5648) /* "HVMF" as the bytes 48 56 4D 46 */
#define HEADER_BYTES 16u
#define F_MAGIC      0
#define F_TYPE       4
#define F_LENGTH     8
#define F_VERSION    12
#define F_FLAGS      14
#define FLAG_MAC     0x0001u
#define KEY_LABEL    "hpcvirt-migration-v1"
#define FIRST_BUFFER (64u << 10) /* the receive buffer's first size, then doubled */
#define LOCAL_IOVECS 16          /* a frame of up to this many pieces needs no allocation */
#define PAGES_HEAD   8u          /* u32 node, u32 count */
#define PAGE_NUMBER  8u          /* one u64 page number */

struct hv_mig_stream {
    int fd;
    bool own_fd;
    bool is_socket; /* send(MSG_NOSIGNAL); else SIGPIPE is blocked around writev() */
    GHmac *mac;     /* keyed with the session key, copied for each frame; NULL: not keyed */
    uint64_t send_seq, recv_seq; /* frames sent and received since keying */
    uint64_t sent, received;     /* bytes, framing included */
    bool send_failed;            /* a send failed: the peer cannot find frame boundaries */
    bool recv_failed;            /* a receive failed a check or the connection ended */
    /* the frame being received (kept across a timeout: the next receive goes on with it) */
    uint8_t header[HEADER_BYTES];
    size_t header_got;
    uint32_t in_type;
    size_t in_length, in_total; /* payload; payload and MAC */
    size_t body_got;
    uint8_t *buf; /* payload then MAC; grows as bytes come, up to the largest frame */
    size_t cap;
};

/* ---- little helpers ---------------------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;

    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static bool known_type(uint32_t type)
{
    return type >= HV_MIG_HELLO && type <= HV_MIG_TYPE_MAX;
}

/* The types' names with their articles, as messages put them ("an END frame"). */
static const char *a_name(uint32_t type)
{
    static const char *const names[] = {
        [HV_MIG_HELLO] = "a HELLO",     [HV_MIG_WELCOME] = "a WELCOME",
        [HV_MIG_META] = "a META",       [HV_MIG_PLAN] = "a PLAN",
        [HV_MIG_PAYLOAD] = "a PAYLOAD", [HV_MIG_ACCEPT] = "an ACCEPT",
        [HV_MIG_REFUSE] = "a REFUSE",   [HV_MIG_PAGES] = "a PAGES",
        [HV_MIG_ZERO] = "a ZERO",       [HV_MIG_VCPU] = "a VCPU",
        [HV_MIG_CONSOLE] = "a CONSOLE", [HV_MIG_END] = "an END",
        [HV_MIG_RUNNING] = "a RUNNING",
    };

    return known_type(type) ? names[type] : "an unknown";
}

const char *hv_mig_type_name(uint32_t type)
{
    return strchr(a_name(type), ' ') + 1;
}

/* An HV_E_MIGRATION error whose message starts "migration stream: ". */
static int bad(const char *fmt, ...) HV_PRINTF(1, 2);

static int bad(const char *fmt, ...)
{
    char text[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return hv_error_set(HV_E_MIGRATION, NULL, "migration stream: %s", text);
}

/* Equal MACs, in time that does not depend on where they differ. */
static bool same_mac(const uint8_t *a, const uint8_t *b)
{
    volatile uint8_t diff = 0;

    for (size_t i = 0; i < HV_MIG_MAC_BYTES; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

/* ---- the stream -------------------------------------------------------------------- */

int hv_mig_stream_new(int fd, bool own_fd, hv_mig_stream **out)
{
    hv_mig_stream *s;
    struct stat st;

    HV_CHECK_ARG(out, "out");
    *out = NULL;
    if (fd < 0 || fstat(fd, &st) < 0)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_mig_stream_new: descriptor %d is not open: a migration stream "
                            "needs a connected socket or a pipe",
                            fd);
    s = hv_calloc(1, sizeof(*s));
    if (!s)
        return HV_E_NOMEM;
    s->fd = fd;
    s->own_fd = own_fd;
    s->is_socket = S_ISSOCK(st.st_mode);
    *out = s;
    return 0;
}

void hv_mig_stream_free(hv_mig_stream *stream)
{
    if (!stream)
        return;
    if (stream->own_fd)
        close(stream->fd);
    if (stream->mac)
        g_hmac_unref(stream->mac);
    free(stream->buf);
    free(stream);
}

uint64_t hv_mig_bytes_sent(const hv_mig_stream *stream)
{
    return stream ? stream->sent : 0;
}

uint64_t hv_mig_bytes_received(const hv_mig_stream *stream)
{
    return stream ? stream->received : 0;
}

int hv_mig_nonce(uint8_t nonce[HV_MIG_NONCE_BYTES])
{
    size_t got = 0;

    HV_CHECK_ARG(nonce, "nonce");
    while (got < HV_MIG_NONCE_BYTES) {
        ssize_t n = getrandom(nonce + got, HV_MIG_NONCE_BYTES - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return hv_error_set_errno(HV_E_MIGRATION, n < 0 ? errno : EIO, NULL,
                                      "migration stream: cannot get random bytes for a nonce "
                                      "(getrandom)");
        got += (size_t)n;
    }
    return 0;
}

int hv_mig_stream_set_key(hv_mig_stream *stream, const uint8_t *key, size_t key_bytes,
                          const uint8_t source_nonce[HV_MIG_NONCE_BYTES],
                          const uint8_t destination_nonce[HV_MIG_NONCE_BYTES])
{
    uint8_t session[HV_MIG_MAC_BYTES];
    gsize len = sizeof(session);
    GHmac *derive, *mac;

    HV_CHECK_ARG(stream, "stream");
    HV_CHECK_ARG(key, "key");
    HV_CHECK_ARG(source_nonce, "source_nonce");
    HV_CHECK_ARG(destination_nonce, "destination_nonce");
    if (key_bytes == 0 || key_bytes > G_MAXSSIZE)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_mig_stream_set_key: a key of %zu bytes: a key has at least one",
                            key_bytes);
    if (stream->header_got > 0)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_mig_stream_set_key: a frame is partly received: key the stream "
                            "between frames");
    derive = g_hmac_new(G_CHECKSUM_SHA256, key, key_bytes);
    if (!derive)
        return hv_error_set(HV_E_INTERNAL, NULL, "GLib has no HMAC-SHA-256 (g_hmac_new)");
    g_hmac_update(derive, (const guchar *)KEY_LABEL, (gssize)strlen(KEY_LABEL));
    g_hmac_update(derive, source_nonce, HV_MIG_NONCE_BYTES);
    g_hmac_update(derive, destination_nonce, HV_MIG_NONCE_BYTES);
    g_hmac_get_digest(derive, session, &len);
    g_hmac_unref(derive);
    mac = g_hmac_new(G_CHECKSUM_SHA256, session, sizeof(session));
    explicit_bzero(session, sizeof(session));
    if (!mac)
        return hv_error_set(HV_E_INTERNAL, NULL, "GLib has no HMAC-SHA-256 (g_hmac_new)");
    if (stream->mac)
        g_hmac_unref(stream->mac);
    stream->mac = mac;
    stream->send_seq = 0;
    stream->recv_seq = 0;
    return 0;
}

/* The MAC of frame `seq`: over the sequence number, the header and the payload's pieces. */
static void frame_mac(GHmac *keyed, uint64_t seq, const uint8_t *header, const struct iovec *iov,
                      int iovcnt, uint8_t out[HV_MIG_MAC_BYTES])
{
    GHmac *h = g_hmac_copy(keyed);
    uint8_t seq_le[8];
    gsize len = HV_MIG_MAC_BYTES;

    put_le(seq_le, seq, 8);
    g_hmac_update(h, seq_le, sizeof(seq_le));
    g_hmac_update(h, header, HEADER_BYTES);
    for (int i = 0; i < iovcnt; i++)
        g_hmac_update(h, iov[i].iov_base, (gssize)iov[i].iov_len);
    g_hmac_get_digest(h, out, &len);
    g_hmac_unref(h);
}

/* ---- sending ----------------------------------------------------------------------- */

/* writev() to a pipe with SIGPIPE blocked, and a SIGPIPE it raised taken back. */
static ssize_t writev_quiet(int fd, const struct iovec *v, int n)
{
    sigset_t pipe_set, old, pending;
    bool was_pending;
    ssize_t w;
    int err;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    w = writev(fd, v, n);
    err = errno;
    if (w < 0 && err == EPIPE && !was_pending) {
        const struct timespec now = {0, 0};

        while (sigtimedwait(&pipe_set, NULL, &now) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return w;
}

/* Write v[0..count) whole (v is the caller's copy: it is used up). */
static int write_all(hv_mig_stream *s, struct iovec *v, int count, const char *name)
{
    int i = 0;

    while (i < count) {
        int n = count - i > IOV_MAX ? IOV_MAX : count - i;
        ssize_t w;

        if (s->is_socket) {
            struct msghdr msg = {.msg_iov = v + i, .msg_iovlen = (size_t)n};

            w = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
        } else {
            w = writev_quiet(s->fd, v + i, n);
        }
        if (w < 0) {
            int err = errno;

            if (err == EINTR)
                continue;
            if (err == EAGAIN || err == EWOULDBLOCK) {
                /* a non-blocking descriptor: wait; a blocking one: its SO_SNDTIMEO ran out */
                int fl = fcntl(s->fd, F_GETFL);
                struct pollfd p = {.fd = s->fd, .events = POLLOUT};

                if (fl < 0 || !(fl & O_NONBLOCK))
                    return hv_error_set(HV_E_TIMEOUT, NULL,
                                        "migration stream: the peer did not take %s frame "
                                        "within the socket's send timeout (SO_SNDTIMEO)",
                                        name);
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                    return hv_error_set_errno(HV_E_MIGRATION, errno, NULL,
                                              "migration stream: cannot wait to send %s frame",
                                              name);
                continue;
            }
            if (err == EPIPE || err == ECONNRESET)
                return bad("the peer closed the connection: %s frame could not be sent", name);
            return hv_error_set_errno(HV_E_MIGRATION, err, NULL,
                                      "migration stream: cannot send %s frame", name);
        }
        s->sent += (uint64_t)w;
        while (i < count && (size_t)w >= v[i].iov_len) {
            w -= (ssize_t)v[i].iov_len;
            i++;
        }
        if (i < count) {
            v[i].iov_base = (uint8_t *)v[i].iov_base + w;
            v[i].iov_len -= (size_t)w;
        }
    }
    return 0;
}

int hv_mig_sendv(hv_mig_stream *stream, uint32_t type, const struct iovec *iov, int iovcnt)
{
    struct iovec local[LOCAL_IOVECS], *v = local;
    uint8_t header[HEADER_BYTES], mac[HV_MIG_MAC_BYTES];
    size_t total = 0;
    int count = 0, rc;

    HV_CHECK_ARG(stream, "stream");
    HV_CHECK_ARG(iovcnt >= 0 && (iov || iovcnt == 0), "iov");
    if (!known_type(type))
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_mig_sendv: frame type %" PRIu32 " is not one of 1..%u", type,
                            HV_MIG_TYPE_MAX);
    for (int i = 0; i < iovcnt; i++) {
        HV_CHECK_ARG(iov[i].iov_base || iov[i].iov_len == 0, "iov[].iov_base");
        if (iov[i].iov_len > HV_MIG_MAX_FRAME_BYTES - total)
            return hv_error_set(HV_E_INVAL, NULL,
                                "hv_mig_sendv: %s frame of more than %" PRIu32
                                " bytes: a frame holds at most that; send the rest in more "
                                "frames",
                                a_name(type), HV_MIG_MAX_FRAME_BYTES);
        total += iov[i].iov_len;
    }
    if (stream->send_failed)
        return bad("an earlier send failed: frames cannot be sent on this stream any more");

    put_le(header + F_MAGIC, MAGIC, 4);
    put_le(header + F_TYPE, type, 4);
    put_le(header + F_LENGTH, total, 4);
    put_le(header + F_VERSION, HV_MIG_VERSION, 2);
    put_le(header + F_FLAGS, stream->mac ? FLAG_MAC : 0, 2);
    if (stream->mac)
        frame_mac(stream->mac, stream->send_seq, header, iov, iovcnt, mac);

    if (iovcnt > LOCAL_IOVECS - 2) {
        v = hv_calloc((size_t)iovcnt + 2, sizeof(*v));
        if (!v)
            return HV_E_NOMEM;
    }
    v[count++] = (struct iovec){.iov_base = header, .iov_len = sizeof(header)};
    for (int i = 0; i < iovcnt; i++)
        if (iov[i].iov_len > 0)
            v[count++] = iov[i];
    if (stream->mac)
        v[count++] = (struct iovec){.iov_base = mac, .iov_len = sizeof(mac)};
    rc = write_all(stream, v, count, a_name(type));
    if (v != local)
        free(v);
    if (rc < 0) {
        stream->send_failed = true;
        return rc;
    }
    stream->send_seq++;
    return 0;
}

int hv_mig_send(hv_mig_stream *stream, uint32_t type, const void *data, size_t bytes)
{
    struct iovec iov = {.iov_base = (void *)(uintptr_t)data, .iov_len = bytes};

    HV_CHECK_ARG(data || bytes == 0, "data");
    return hv_mig_sendv(stream, type, &iov, bytes > 0 ? 1 : 0);
}

/* ---- receiving --------------------------------------------------------------------- */

static int check_magic(const hv_mig_stream *s)
{
    const uint8_t *h = s->header;

    if (get_le(h + F_MAGIC, 4) == MAGIC)
        return 0;
    return bad("not an hpcvirt migration stream: a frame starts with %02x %02x %02x %02x, not "
               "\"HVMF\" (is the other end hpcvirt, and the address right?)",
               h[0], h[1], h[2], h[3]);
}

/* A whole header: every field checked, in the order docs/migration-protocol.md gives. */
static int check_header(hv_mig_stream *s)
{
    const uint8_t *h = s->header;
    uint32_t type = (uint32_t)get_le(h + F_TYPE, 4), length = (uint32_t)get_le(h + F_LENGTH, 4);
    unsigned version = (unsigned)get_le(h + F_VERSION, 2), flags = (unsigned)get_le(h + F_FLAGS, 2);
    const char *name = a_name(type);
    int rc;

    if ((rc = check_magic(s)) < 0)
        return rc;
    if (version > HV_MIG_VERSION)
        return bad("the peer speaks migration protocol version %u; this hpcvirt speaks %u: "
                   "upgrade the older end",
                   version, HV_MIG_VERSION);
    if (version == 0)
        return bad("frame header: protocol version 0 is not valid: the stream is corrupted");
    if (!known_type(type))
        return bad("frame header: unknown frame type %" PRIu32
                   " (protocol version %u has types 1..%u): the stream is corrupted",
                   type, HV_MIG_VERSION, HV_MIG_TYPE_MAX);
    if (length > HV_MIG_MAX_FRAME_BYTES)
        return bad("%s frame of %" PRIu32 " bytes is larger than the %" PRIu32
                   " bytes a frame may have: refused before reading it",
                   name, length, HV_MIG_MAX_FRAME_BYTES);
    if (flags & ~FLAG_MAC)
        return bad("%s frame has flags 0x%04x: protocol version %u knows only 0x0001 (MAC "
                   "follows): the stream is corrupted",
                   name, flags, HV_MIG_VERSION);
    if ((flags & FLAG_MAC) && !s->mac)
        return bad("%s frame carries a MAC, but this end has not keyed the stream: the ends "
                   "disagree on authentication (is a key given to one end only?)",
                   name);
    if (!(flags & FLAG_MAC) && s->mac)
        return bad("%s frame carries no MAC, but the stream is keyed: an unauthenticated frame "
                   "is refused (is a key given to one end only?)",
                   name);
    s->in_type = type;
    s->in_length = length;
    s->in_total = (size_t)length + (s->mac ? HV_MIG_MAC_BYTES : 0);
    s->body_got = 0;
    return 0;
}

/*
 * Room for the next bytes of the frame: the buffer doubles (from 64 KiB) as
 * they come, but never past what the frame needs, whatever its header says.
 */
static int grow(hv_mig_stream *s)
{
    size_t cap = s->cap * 2 > FIRST_BUFFER ? s->cap * 2 : FIRST_BUFFER;
    uint8_t *buf;

    if (cap > s->in_total)
        cap = s->in_total > FIRST_BUFFER ? s->in_total : FIRST_BUFFER;
    buf = realloc(s->buf, cap);
    if (!buf)
        return hv_error_nomem();
    s->buf = buf;
    s->cap = cap;
    return 0;
}

static int timed_out(const hv_mig_stream *s, int timeout_ms)
{
    if (s->header_got == 0)
        return hv_error_set(HV_E_TIMEOUT, NULL,
                            "migration stream: no frame came from the peer within %d ms",
                            timeout_ms);
    if (s->header_got < HEADER_BYTES)
        return hv_error_set(HV_E_TIMEOUT, NULL,
                            "migration stream: only %zu of a frame header's %u bytes came within "
                            "%d ms (receive again to wait for the rest)",
                            s->header_got, HEADER_BYTES, timeout_ms);
    return hv_error_set(HV_E_TIMEOUT, NULL,
                        "migration stream: only %zu of the %zu bytes of %s frame came within "
                        "%d ms (receive again to wait for the rest)",
                        HEADER_BYTES + s->body_got, HEADER_BYTES + s->in_total, a_name(s->in_type),
                        timeout_ms);
}

static int ended(const hv_mig_stream *s)
{
    if (s->header_got == 0)
        return bad("the peer closed the connection");
    if (s->header_got < HEADER_BYTES)
        return bad("the connection ended in the middle of a frame header (after %zu of its %u "
                   "bytes)",
                   s->header_got, HEADER_BYTES);
    return bad("the connection ended in the middle of %s frame (after %zu of its %zu bytes)",
               a_name(s->in_type), HEADER_BYTES + s->body_got, HEADER_BYTES + s->in_total);
}

/* The frame stopped short: the peer closed the connection, or the time ran out. */
static int cut_short(const hv_mig_stream *s, bool eof, int timeout_ms)
{
    /* a stranger that stopped early: say so, not "timeout" */
    if (s->header_got >= 4 && s->header_got < HEADER_BYTES && check_magic(s) < 0)
        return HV_E_MIGRATION;
    return eof ? ended(s) : timed_out(s, timeout_ms);
}

/* Milliseconds to wait for the next bytes: -1 without a limit, 0 once the deadline passed. */
static int wait_ms(int timeout_ms, uint64_t deadline_ns)
{
    uint64_t now;

    if (timeout_ms < 0)
        return -1;
    now = hv_clock_monotonic_ns();
    if (now >= deadline_ns)
        return 0;
    return (int)((deadline_ns - now + 999999) / 1000000);
}

/*
 * Read into buf[*got..want) as the bytes come, within the deadline (*got is
 * the stream's count of the header's or the body's bytes: what came stays).
 */
static int fill(hv_mig_stream *s, uint8_t *buf, size_t want, size_t *got, int timeout_ms,
                uint64_t deadline_ns)
{
    while (*got < want) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int n = poll(&p, 1, wait_ms(timeout_ms, deadline_ns));
        ssize_t r;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return hv_error_set_errno(HV_E_MIGRATION, errno, NULL,
                                      "migration stream: cannot wait for the peer (poll)");
        if (n == 0)
            return cut_short(s, false, timeout_ms);
        if (p.revents & POLLNVAL)
            return bad("descriptor %d was closed under the stream", s->fd);
        r = read(s->fd, buf + *got, want - *got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (r < 0 && errno == ECONNRESET)
            return bad("the peer reset the connection");
        if (r < 0)
            return hv_error_set_errno(HV_E_MIGRATION, errno, NULL,
                                      "migration stream: cannot read from the peer");
        if (r == 0)
            return cut_short(s, true, timeout_ms);
        *got += (size_t)r;
        s->received += (uint64_t)r;
    }
    return 0;
}

/* The next frame, or as much of it as comes in time (kept for the next call). */
static int receive(hv_mig_stream *s, int timeout_ms, uint64_t deadline_ns)
{
    int rc;

    if (s->header_got < HEADER_BYTES) {
        rc = fill(s, s->header, HEADER_BYTES, &s->header_got, timeout_ms, deadline_ns);
        if (rc < 0 || (rc = check_header(s)) < 0)
            return rc;
    }
    while (s->body_got < s->in_total) {
        if (s->body_got == s->cap && (rc = grow(s)) < 0)
            return rc;
        rc = fill(s, s->buf, s->cap < s->in_total ? s->cap : s->in_total, &s->body_got, timeout_ms,
                  deadline_ns);
        if (rc < 0)
            return rc;
    }
    if (s->mac) {
        struct iovec payload = {.iov_base = s->buf, .iov_len = s->in_length};
        uint8_t mac[HV_MIG_MAC_BYTES];

        frame_mac(s->mac, s->recv_seq, s->header, &payload, 1, mac);
        if (!same_mac(mac, s->buf + s->in_length))
            return bad("%s frame (number %" PRIu64 " since keying) does not authenticate: a "
                       "wrong key or altered bytes",
                       a_name(s->in_type), s->recv_seq);
        s->recv_seq++;
    }
    return 0;
}

int hv_mig_recv(hv_mig_stream *stream, int timeout_ms, uint32_t *type, const uint8_t **data,
                size_t *bytes)
{
    uint64_t deadline_ns = 0;
    int rc;

    HV_CHECK_ARG(type, "type");
    HV_CHECK_ARG(data, "data");
    HV_CHECK_ARG(bytes, "bytes");
    *type = 0;
    *data = NULL;
    *bytes = 0;
    HV_CHECK_ARG(stream, "stream");
    if (timeout_ms < -1)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_mig_recv: timeout_ms is %d: give -1 (no limit) or 0 and more",
                            timeout_ms);
    if (stream->recv_failed)
        return bad("an earlier receive failed: nothing more can be received on this stream");
    if (timeout_ms >= 0)
        deadline_ns = hv_clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000;
    rc = receive(stream, timeout_ms, deadline_ns);
    if (rc == HV_E_TIMEOUT)
        return rc;
    stream->header_got = 0; /* the next receive starts a new frame */
    if (rc < 0) {
        stream->recv_failed = true;
        return rc;
    }
    *type = stream->in_type;
    *data = stream->in_length > 0 ? stream->buf : (const uint8_t *)"";
    *bytes = stream->in_length;
    return 0;
}

/* ---- PAGES and ZERO payloads ------------------------------------------------------- */

size_t hv_mig_pages_bytes(uint32_t count, bool with_contents)
{
    uint64_t each = PAGE_NUMBER + (with_contents ? HV_MIG_PAGE_BYTES : 0);
    uint64_t bytes = PAGES_HEAD + each * count; /* < 2^45: no overflow */

    return bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

size_t hv_mig_pages_header(uint8_t *out, uint32_t node, uint32_t count, const uint64_t *pages)
{
    put_le(out, node, 4);
    put_le(out + 4, count, 4);
    for (uint32_t i = 0; i < count; i++)
        put_le(out + PAGES_HEAD + PAGE_NUMBER * (size_t)i, pages[i], 8);
    return PAGES_HEAD + PAGE_NUMBER * (size_t)count;
}

uint64_t hv_mig_page_at(const uint8_t *page_numbers, uint32_t i)
{
    return get_le(page_numbers + PAGE_NUMBER * (size_t)i, 8);
}

int hv_mig_pages_decode(const uint8_t *data, size_t bytes, bool with_contents, uint32_t node_count,
                        const uint64_t *node_pages, uint32_t *node, uint32_t *count,
                        const uint8_t **page_numbers, const uint8_t **contents)
{
    const char *name = a_name(with_contents ? HV_MIG_PAGES : HV_MIG_ZERO);
    uint32_t n, c;
    size_t want;

    HV_CHECK_ARG(node && count && page_numbers && contents, "node, count, page_numbers, contents");
    *node = 0;
    *count = 0;
    *page_numbers = NULL;
    *contents = NULL;
    HV_CHECK_ARG(data || bytes == 0, "data");
    HV_CHECK_ARG(node_pages || node_count == 0, "node_pages");
    if (bytes < PAGES_HEAD)
        return bad("%s frame of %zu bytes is too short for its node and page count (%u bytes)",
                   name, bytes, PAGES_HEAD);
    n = (uint32_t)get_le(data, 4);
    c = (uint32_t)get_le(data + 4, 4);
    if (n >= node_count)
        return bad("%s frame is for vNUMA node %" PRIu32 ", but the VM has %" PRIu32
                   " nodes (the plan both ends agreed on)",
                   name, n, node_count);
    if (c == 0 || c > HV_MIG_MAX_PAGES)
        return bad("%s frame holds %" PRIu32 " pages: a frame holds 1..%u", name, c,
                   HV_MIG_MAX_PAGES);
    want = hv_mig_pages_bytes(c, with_contents);
    if (bytes != want)
        return bad("%s frame of %zu bytes for %" PRIu32 " pages: it should have %zu", name, bytes,
                   c, want);
    for (uint32_t i = 0; i < c; i++) {
        uint64_t page = hv_mig_page_at(data + PAGES_HEAD, i);

        if (i > 0 && page <= hv_mig_page_at(data + PAGES_HEAD, i - 1))
            return bad("%s frame for node %" PRIu32
                       ": page numbers must increase, but page %" PRIu64 " follows page %" PRIu64,
                       name, n, page, hv_mig_page_at(data + PAGES_HEAD, i - 1));
        if (page >= node_pages[n])
            return bad("%s frame for node %" PRIu32 ": page %" PRIu64
                       " is past the node's end (it has %" PRIu64 " pages)",
                       name, n, page, node_pages[n]);
    }
    *node = n;
    *count = c;
    *page_numbers = data + PAGES_HEAD;
    *contents = with_contents ? data + PAGES_HEAD + PAGE_NUMBER * (size_t)c : NULL;
    return 0;
}

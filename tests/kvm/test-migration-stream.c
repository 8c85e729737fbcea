/*
 * tests/kvm/test-migration-stream.c - the migration stream
 * (lib/kvm/migration-stream.h, docs/migration-protocol.md) over
 * socketpair(AF_UNIX, SOCK_STREAM) and pipes: every frame type both ways,
 * with and without a key; the bytes of keyed frames against a vector
 * computed with Python's hmac module (key derivation and MAC coverage);
 * frames from several pieces; an 8 MiB frame from a non-blocking sender
 * read by another thread; a send that runs past SO_SNDTIMEO; every check a
 * receiver makes (magic, version, type, length before anything is read,
 * flags, MAC, a replayed frame, a frame of a stream keyed on one end only),
 * each with the message that names it, and every flipped bit of a keyed
 * frame refused; a connection closed between frames and inside one;
 * timeouts that keep what came; sending to a closed peer without SIGPIPE
 * (it is not ignored here: it would kill the test); PAGES/ZERO payloads.
 */
#include "hv-test.h"
#include "kvm/migration-stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define KEY         "migration test key"
#define KEY_BYTES   (sizeof(KEY) - 1)
#define MAX_RAW     4096
#define BIG_BYTES   (8u << 20)
#define OUT_OF_TIME 50 /* ms */

static const uint8_t source_nonce[HV_MIG_NONCE_BYTES] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                         8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t destination_nonce[HV_MIG_NONCE_BYTES] = {16, 17, 18, 19, 20, 21, 22, 23,
                                                              24, 25, 26, 27, 28, 29, 30, 31};

/* Two connected streams: `src` sends on fd[0], `dst` receives on fd[1] (and both ways). */
typedef struct pair {
    int fd[2];
    hv_mig_stream *src, *dst;
} pair;

/* A little-endian field of `bytes` bytes. */
static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    while (bytes-- > 0) {
        *p++ = (uint8_t)v;
        v >>= 8;
    }
}

static void key(hv_mig_stream *s, const char *k)
{
    assert_hv_ok(
        hv_mig_stream_set_key(s, (const uint8_t *)k, strlen(k), source_nonce, destination_nonce));
}

/* A pair of streams over a socketpair; keyed (both ends) when `k` is not NULL. */
static void open_pair(pair *p, const char *k)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->fd), 0);
    assert_hv_ok(hv_mig_stream_new(p->fd[0], true, &p->src));
    assert_hv_ok(hv_mig_stream_new(p->fd[1], true, &p->dst));
    if (k) {
        key(p->src, k);
        key(p->dst, k);
    }
}

static void close_pair(pair *p)
{
    hv_mig_stream_free(p->src);
    hv_mig_stream_free(p->dst);
    p->src = p->dst = NULL;
}

/* The bytes one send puts on the wire, from a stream keyed with `k` (or not). */
static size_t capture(const char *k, uint32_t type, const void *data, size_t bytes, uint8_t *raw)
{
    int fd[2];
    hv_mig_stream *s;
    ssize_t n;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd), 0);
    assert_hv_ok(hv_mig_stream_new(fd[0], true, &s));
    if (k)
        key(s, k);
    assert_hv_ok(hv_mig_send(s, type, data, bytes));
    hv_mig_stream_free(s);
    n = read(fd[1], raw, MAX_RAW);
    assert_true(n > 0 && (size_t)n < MAX_RAW);
    close(fd[1]);
    return (size_t)n;
}

/* A receiving stream (keyed with `k`, or not) that gets `raw`, then EOF unless `keep_open`. */
typedef struct rx {
    hv_mig_stream *s;
    int writer; /* -1 once closed */
    uint32_t type;
    const uint8_t *data;
    size_t bytes;
} rx;

static int deliver(rx *r, const char *k, const uint8_t *raw, size_t n, bool keep_open,
                   int timeout_ms)
{
    int fd[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd), 0);
    assert_hv_ok(hv_mig_stream_new(fd[1], true, &r->s));
    if (k)
        key(r->s, k);
    assert_int_equal(write(fd[0], raw, n), (ssize_t)n);
    r->writer = fd[0];
    if (!keep_open) {
        close(fd[0]);
        r->writer = -1;
    }
    hv_error_clear();
    return hv_mig_recv(r->s, timeout_ms, &r->type, &r->data, &r->bytes);
}

static void rx_close(rx *r)
{
    if (r->writer >= 0)
        close(r->writer);
    hv_mig_stream_free(r->s);
    memset(r, 0, sizeof(*r));
}

/* `raw` must be refused with HV_E_MIGRATION and a message that holds `text` (if given). */
static void expect_refused(const char *k, const uint8_t *raw, size_t n, const char *text)
{
    rx r;

    assert_hv_error(deliver(&r, k, raw, n, false, 1000), HV_E_MIGRATION);
    if (text) {
        if (!strstr(hv_error_message(hv_error_last()), text))
            print_error("expected \"%s\" in: %s\n", text, hv_error_message(hv_error_last()));
        assert_error_mentions(text);
    }
    assert_int_equal(r.type, 0);
    assert_null(r.data);
    rx_close(&r);
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed + (i >> 12));
}

/* ---- frames that go through ------------------------------------------------------ */

static void round_trip(const char *k)
{
    static uint8_t payload[3000];
    pair p;

    fill_pattern(payload, sizeof(payload), 7);
    open_pair(&p, k);
    for (uint32_t type = 1; type <= HV_MIG_TYPE_MAX; type++) {
        size_t bytes = type == HV_MIG_END || type == HV_MIG_RUNNING ? 0 : type * 200 + 1;
        hv_mig_stream *from =
            type == HV_MIG_WELCOME || type == HV_MIG_ACCEPT || type == HV_MIG_RUNNING ? p.dst
                                                                                      : p.src;
        hv_mig_stream *to = from == p.src ? p.dst : p.src;
        uint32_t got_type = 0;
        const uint8_t *data = NULL;
        size_t got = 99;

        assert_hv_ok(hv_mig_send(from, type, payload + type, bytes));
        assert_hv_ok(hv_mig_recv(to, 1000, &got_type, &data, &got));
        assert_int_equal(got_type, type);
        assert_int_equal(got, bytes);
        assert_non_null(data);
        assert_memory_equal(data, payload + type, bytes);
    }
    /* nothing else is on the way, either way */
    {
        uint32_t t;
        const uint8_t *d;
        size_t b;

        assert_hv_error(hv_mig_recv(p.dst, 0, &t, &d, &b), HV_E_TIMEOUT);
        assert_hv_error(hv_mig_recv(p.src, 0, &t, &d, &b), HV_E_TIMEOUT);
    }
    assert_int_equal(hv_mig_bytes_sent(p.src), hv_mig_bytes_received(p.dst));
    assert_int_equal(hv_mig_bytes_sent(p.dst), hv_mig_bytes_received(p.src));
    close_pair(&p);
}

static void test_round_trip_unkeyed(void **state)
{
    (void)state;
    round_trip(NULL);
}

static void test_round_trip_keyed(void **state)
{
    (void)state;
    round_trip(KEY);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(hv_mig_type_name(HV_MIG_HELLO), "HELLO");
    assert_string_equal(hv_mig_type_name(HV_MIG_PAGES), "PAGES");
    assert_string_equal(hv_mig_type_name(HV_MIG_RUNNING), "RUNNING");
    assert_string_equal(hv_mig_type_name(0), "unknown");
    assert_string_equal(hv_mig_type_name(14), "unknown");
    assert_string_equal(hv_mig_type_name(UINT32_MAX), "unknown");
}

/* The wire bytes of two keyed frames, computed with Python's hmac and hashlib. */
static void test_known_vector(void **state)
{
    static const uint8_t expected[] = {
        0x48, 0x56, 0x4d, 0x46, 0x03, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x01, 0x00, 0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0x76, 0x6d, 0x31,
        0x22, 0x7d, 0x4a, 0x2b, 0xf4, 0x3f, 0xd9, 0x0a, 0x86, 0xb4, 0x99, 0x00, 0x68, 0x3f,
        0x27, 0x35, 0xa9, 0x1d, 0x36, 0x8c, 0x92, 0x2a, 0x49, 0x69, 0x0c, 0x1b, 0x12, 0x0f,
        0x6e, 0xfa, 0x44, 0x46, 0xa7, 0xd9, 0x48, 0x56, 0x4d, 0x46, 0x0c, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x4e, 0xf3, 0x4d, 0x57, 0x36, 0xe1,
        0x3a, 0x79, 0x55, 0x57, 0xee, 0x06, 0x39, 0xad, 0x24, 0x68, 0xbe, 0xca, 0x95, 0xb1,
        0xe4, 0xcf, 0x98, 0x45, 0xe4, 0x78, 0x66, 0x3a, 0xbd, 0x05, 0x73, 0xc5,
    };
    static const char meta[] = "{\"name\":\"vm1\"}";
    uint8_t raw[256];
    rx r;
    pair p;

    (void)state;
    open_pair(&p, KEY);
    assert_hv_ok(hv_mig_send(p.src, HV_MIG_META, meta, strlen(meta)));
    assert_hv_ok(hv_mig_send(p.src, HV_MIG_END, NULL, 0));
    assert_int_equal(hv_mig_bytes_sent(p.src), sizeof(expected));
    assert_int_equal(read(p.fd[1], raw, sizeof(raw)), (ssize_t)sizeof(expected));
    assert_memory_equal(raw, expected, sizeof(expected));
    close_pair(&p);

    /* and the receiver takes those bytes */
    assert_hv_ok(deliver(&r, KEY, expected, sizeof(expected), false, 1000));
    assert_int_equal(r.type, HV_MIG_META);
    assert_int_equal(r.bytes, strlen(meta));
    assert_memory_equal(r.data, meta, r.bytes);
    assert_hv_ok(hv_mig_recv(r.s, 1000, &r.type, &r.data, &r.bytes));
    assert_int_equal(r.type, HV_MIG_END);
    assert_int_equal(r.bytes, 0);
    assert_non_null(r.data);
    assert_hv_error(hv_mig_recv(r.s, 1000, &r.type, &r.data, &r.bytes), HV_E_MIGRATION);
    assert_error_mentions("the peer closed the connection");
    assert_int_equal(hv_mig_bytes_received(r.s), sizeof(expected));
    rx_close(&r);
}

static void test_sendv_pieces(void **state)
{
    uint8_t parts[40][37], whole[sizeof(parts)];
    struct iovec iov[40];
    uint32_t type;
    const uint8_t *data;
    size_t bytes, n = 0;
    pair p;

    (void)state;
    for (int i = 0; i < 40; i++) {
        size_t len = i % 5 == 0 ? 0 : (size_t)(i % 37) + 1; /* some pieces empty */

        fill_pattern(parts[i], sizeof(parts[i]), (unsigned)i);
        iov[i] = (struct iovec){.iov_base = parts[i], .iov_len = len};
        memcpy(whole + n, parts[i], len);
        n += len;
    }
    open_pair(&p, KEY);
    /* 3 pieces (no allocation), then 40 (more than fit on the stack) */
    assert_hv_ok(hv_mig_sendv(p.src, HV_MIG_VCPU, iov + 1, 3));
    assert_hv_ok(hv_mig_recv(p.dst, 1000, &type, &data, &bytes));
    assert_int_equal(type, HV_MIG_VCPU);
    assert_int_equal(bytes, iov[1].iov_len + iov[2].iov_len + iov[3].iov_len);
    assert_memory_equal(data, whole, bytes);
    assert_hv_ok(hv_mig_sendv(p.src, HV_MIG_PAGES, iov, 40));
    assert_hv_ok(hv_mig_recv(p.dst, 1000, &type, &data, &bytes));
    assert_int_equal(type, HV_MIG_PAGES);
    assert_int_equal(bytes, n);
    assert_memory_equal(data, whole, n);
    /* no pieces: an empty frame */
    assert_hv_ok(hv_mig_sendv(p.src, HV_MIG_END, NULL, 0));
    assert_hv_ok(hv_mig_recv(p.dst, 1000, &type, &data, &bytes));
    assert_int_equal(type, HV_MIG_END);
    assert_int_equal(bytes, 0);
    close_pair(&p);
}

typedef struct reader {
    hv_mig_stream *s;
    int rc[2];
    uint32_t type[2];
    size_t bytes[2];
    bool same[2];
    const uint8_t *expect;
} reader;

static void *read_big(void *arg)
{
    reader *r = arg;

    for (int i = 0; i < 2; i++) {
        const uint8_t *data = NULL;

        r->rc[i] = hv_mig_recv(r->s, 20000, &r->type[i], &data, &r->bytes[i]);
        r->same[i] = r->rc[i] == 0 && r->bytes[i] == BIG_BYTES - (size_t)i * 4096 &&
                     memcmp(data, r->expect + i * 4096, r->bytes[i]) == 0;
    }
    return NULL;
}

static void test_large_frame(void **state)
{
    uint8_t *big = malloc(BIG_BYTES);
    struct iovec iov[3];
    pthread_t thread;
    reader r = {0};
    pair p;

    (void)state;
    assert_non_null(big);
    fill_pattern(big, BIG_BYTES, 3);
    open_pair(&p, KEY);
    /* the sender's descriptor non-blocking: the stream waits for room itself */
    assert_int_equal(fcntl(p.fd[0], F_SETFL, fcntl(p.fd[0], F_GETFL) | O_NONBLOCK), 0);
    r.s = p.dst;
    r.expect = big;
    assert_int_equal(pthread_create(&thread, NULL, read_big, &r), 0);
    iov[0] = (struct iovec){.iov_base = big, .iov_len = 100};
    iov[1] = (struct iovec){.iov_base = big + 100, .iov_len = BIG_BYTES / 2};
    iov[2] = (struct iovec){.iov_base = big + 100 + BIG_BYTES / 2, .iov_len = BIG_BYTES / 2 - 100};
    assert_hv_ok(hv_mig_sendv(p.src, HV_MIG_PAGES, iov, 3));
    /* a second, smaller frame reuses the buffer */
    assert_hv_ok(hv_mig_send(p.src, HV_MIG_PAYLOAD, big + 4096, BIG_BYTES - 4096));
    assert_int_equal(pthread_join(thread, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r.rc[i], 0);
        assert_int_equal(r.type[i], i == 0 ? HV_MIG_PAGES : HV_MIG_PAYLOAD);
        assert_true(r.same[i]);
    }
    assert_int_equal(hv_mig_bytes_sent(p.src), 2 * (16 + 32) + 2 * (uint64_t)BIG_BYTES - 4096);
    assert_int_equal(hv_mig_bytes_received(p.dst), hv_mig_bytes_sent(p.src));
    close_pair(&p);
    free(big);
}

/* ---- frames that are refused ----------------------------------------------------- */

static void test_wrong_key(void **state)
{
    uint8_t raw[MAX_RAW];
    size_t n = capture(KEY, HV_MIG_META, "{}", 2, raw);
    pair p;
    uint32_t type;
    const uint8_t *data;
    size_t bytes;

    (void)state;
    expect_refused("another key", raw, n,
                   "migration stream: a META frame (number 0 since keying) does not "
                   "authenticate: a wrong key or altered bytes");

    /* the same key with other nonces is another session key */
    open_pair(&p, NULL);
    key(p.src, KEY);
    assert_hv_ok(hv_mig_stream_set_key(p.dst, (const uint8_t *)KEY, KEY_BYTES, destination_nonce,
                                       source_nonce));
    assert_hv_ok(hv_mig_send(p.src, HV_MIG_META, "{}", 2));
    assert_hv_error(hv_mig_recv(p.dst, 1000, &type, &data, &bytes), HV_E_MIGRATION);
    assert_error_mentions("does not authenticate");
    /* nothing more is received; sending still works (a REFUSE can say why) */
    assert_hv_error(hv_mig_recv(p.dst, 1000, &type, &data, &bytes), HV_E_MIGRATION);
    assert_error_mentions("an earlier receive failed");
    assert_hv_ok(hv_mig_send(p.dst, HV_MIG_REFUSE, "{}", 2));
    close_pair(&p);
}

static void test_key_on_one_end(void **state)
{
    uint8_t raw[MAX_RAW];
    size_t n;

    (void)state;
    n = capture(KEY, HV_MIG_ACCEPT, NULL, 0, raw);
    expect_refused(NULL, raw, n, "an ACCEPT frame carries a MAC, but this end has not keyed");
    n = capture(NULL, HV_MIG_ACCEPT, NULL, 0, raw);
    expect_refused(KEY, raw, n, "an ACCEPT frame carries no MAC, but the stream is keyed");
}

static void test_replay(void **state)
{
    uint8_t raw[2 * MAX_RAW];
    size_t n = capture(KEY, HV_MIG_RUNNING, NULL, 0, raw);
    rx r;

    (void)state;
    memcpy(raw + n, raw, n);
    assert_hv_ok(deliver(&r, KEY, raw, 2 * n, false, 1000));
    assert_int_equal(r.type, HV_MIG_RUNNING);
    assert_hv_error(hv_mig_recv(r.s, 1000, &r.type, &r.data, &r.bytes), HV_E_MIGRATION);
    assert_error_mentions("a RUNNING frame (number 1 since keying) does not authenticate");
    rx_close(&r);
}

static void test_flipped_bytes(void **state)
{
    uint8_t raw[MAX_RAW], bad[MAX_RAW];
    static const char payload[] = "{\"code\":-15,\"message\":\"no\"}";
    size_t n = capture(KEY, HV_MIG_REFUSE, payload, strlen(payload), raw);

    (void)state;
    assert_int_equal(n, 16 + strlen(payload) + 32);
    /* every bit of every byte: never taken, never a timeout */
    for (size_t at = 0; at < n; at++) {
        for (int bit = 0; bit < 8; bit++) {
            rx r;

            memcpy(bad, raw, n);
            bad[at] ^= (uint8_t)(1u << bit);
            assert_hv_error(deliver(&r, KEY, bad, n, false, 1000), HV_E_MIGRATION);
            rx_close(&r);
        }
    }
#define FLIP(at, text)                                                                             \
    do {                                                                                           \
        memcpy(bad, raw, n);                                                                       \
        bad[at] ^= 1;                                                                              \
        expect_refused(KEY, bad, n, text);                                                         \
    } while (0)
    FLIP(0, "not an hpcvirt migration stream: a frame starts with 49 56 4d 46, not \"HVMF\"");
    FLIP(4, "does not authenticate"); /* type 7 -> 6: the MAC covers the type */
    FLIP(5, "frame header: unknown frame type 263 (protocol version 1 has types 1..13)");
    FLIP(9, "the connection ended in the middle of a REFUSE frame");          /* 256 bytes more */
    FLIP(12, "frame header: protocol version 0 is not valid");                /* 1 -> 0 */
    FLIP(14, "a REFUSE frame carries no MAC, but the stream is keyed");       /* flag bit 0 */
    FLIP(16, "a REFUSE frame (number 0 since keying) does not authenticate"); /* payload */
    FLIP(n - 1, "does not authenticate");                                     /* MAC */
#undef FLIP
    memcpy(bad, raw, n);
    bad[15] = 0x80;
    expect_refused(KEY, bad, n, "a REFUSE frame has flags 0x8001: protocol version 1 knows only");
    memcpy(bad, raw, n);
    bad[8] -= 1; /* a shorter length: the MAC covers it */
    expect_refused(KEY, bad, n, "a REFUSE frame (number 0 since keying) does not authenticate");
}

static void test_header_checks(void **state)
{
    uint8_t raw[MAX_RAW];
    size_t n = capture(NULL, HV_MIG_HELLO, "{\"version\":1}", 13, raw);
    rx r;

    (void)state;
    /* a newer protocol, whatever else the frame holds */
    raw[12] = 2;
    expect_refused(NULL, raw, n,
                   "the peer speaks migration protocol version 2; this hpcvirt speaks 1: "
                   "upgrade the older end");
    raw[12] = 0;
    raw[13] = 1; /* 256 */
    raw[4] = 200;
    expect_refused(NULL, raw, n, "the peer speaks migration protocol version 256;");
    raw[12] = 1;
    raw[13] = 0;
    expect_refused(NULL, raw, n, "unknown frame type 200");
    put_le(raw + 4, 0, 4);
    expect_refused(NULL, raw, n, "unknown frame type 0");
    put_le(raw + 4, HV_MIG_HELLO, 4);
    raw[14] = 2;
    expect_refused(NULL, raw, n, "a HELLO frame has flags 0x0002");
    raw[14] = 0;

    /* too long: refused from the header alone, nothing more read, nothing allocated */
    put_le(raw + 8, HV_MIG_MAX_FRAME_BYTES + 1, 4);
    assert_hv_error(deliver(&r, NULL, raw, n, true, 1000), HV_E_MIGRATION);
    assert_error_mentions("migration stream: a HELLO frame of 67108865 bytes is larger than the "
                          "67108864 bytes a frame may have: refused before reading it");
    assert_int_equal(hv_mig_bytes_received(r.s), 16);
    rx_close(&r);
    put_le(raw + 8, UINT32_MAX, 4);
    expect_refused(NULL, raw, n, "of 4294967295 bytes is larger than");

    /* not this protocol at all, even when it stops before a whole header */
    expect_refused(NULL, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18,
                   "not an hpcvirt migration stream: a frame starts with 47 45 54 20");
    expect_refused(NULL, (const uint8_t *)"SSH-2", 5, "not an hpcvirt migration stream");
    assert_hv_error(deliver(&r, NULL, (const uint8_t *)"SSH-2", 5, true, OUT_OF_TIME),
                    HV_E_MIGRATION);
    assert_error_mentions("not an hpcvirt migration stream");
    rx_close(&r);
}

/* Where the connection ends: between frames, in a header, in a payload, in a MAC. */
static void test_closed(void **state)
{
    static const struct {
        size_t bytes;
        const char *text;
    } cuts[] = {
        {0, "migration stream: the peer closed the connection"},
        {7, "the connection ended in the middle of a frame header (after 7 of its 16 bytes)"},
        {16, "the connection ended in the middle of a PAGES frame (after 16 of its 64 bytes)"},
        {20, "the connection ended in the middle of a PAGES frame (after 20 of its 64 bytes)"},
        {63, "the connection ended in the middle of a PAGES frame (after 63 of its 64 bytes)"},
    };
    uint8_t raw[MAX_RAW];
    size_t n = capture(KEY, HV_MIG_PAGES, "0123456789abcdef", 16, raw);
    rx r;

    (void)state;
    assert_int_equal(n, 64);
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        expect_refused(KEY, raw, cuts[i].bytes, cuts[i].text);
    /* a whole frame, then the end */
    assert_hv_ok(deliver(&r, KEY, raw, n, false, 1000));
    assert_hv_error(hv_mig_recv(r.s, 1000, &r.type, &r.data, &r.bytes), HV_E_MIGRATION);
    assert_error_mentions("the peer closed the connection");
    rx_close(&r);
}

static void test_timeout(void **state)
{
    uint8_t raw[MAX_RAW];
    size_t n = capture(KEY, HV_MIG_CONSOLE, "hello, world", 12, raw);
    rx r;
    uint64_t start;

    (void)state;
    /* nothing at all */
    assert_hv_error(deliver(&r, KEY, raw, 0, true, OUT_OF_TIME), HV_E_TIMEOUT);
    assert_error_mentions("migration stream: no frame came from the peer within 50 ms");
    assert_hv_error(hv_mig_recv(r.s, 0, &r.type, &r.data, &r.bytes), HV_E_TIMEOUT);
    rx_close(&r);

    /* part of a header, then part of the payload: what came is kept */
    assert_hv_error(deliver(&r, KEY, raw, 10, true, OUT_OF_TIME), HV_E_TIMEOUT);
    assert_error_mentions("only 10 of a frame header's 16 bytes came within 50 ms");
    assert_int_equal(write(r.writer, raw + 10, 10), 10);
    start = (uint64_t)time(NULL);
    assert_hv_error(hv_mig_recv(r.s, OUT_OF_TIME, &r.type, &r.data, &r.bytes), HV_E_TIMEOUT);
    assert_error_mentions("only 20 of the 60 bytes of a CONSOLE frame came within 50 ms");
    assert_true((uint64_t)time(NULL) - start < 5);
    assert_int_equal(write(r.writer, raw + 20, n - 20), (ssize_t)(n - 20));
    assert_hv_ok(hv_mig_recv(r.s, 1000, &r.type, &r.data, &r.bytes));
    assert_int_equal(r.type, HV_MIG_CONSOLE);
    assert_int_equal(r.bytes, 12);
    assert_memory_equal(r.data, "hello, world", 12);
    rx_close(&r);
}

static void test_pipe(void **state)
{
    int fd[2];
    hv_mig_stream *w, *rd;
    uint32_t type;
    const uint8_t *data;
    size_t bytes;

    (void)state;
    assert_int_equal(pipe2(fd, O_CLOEXEC), 0);
    assert_hv_ok(hv_mig_stream_new(fd[1], true, &w));
    assert_hv_ok(hv_mig_stream_new(fd[0], false, &rd));
    key(w, KEY);
    key(rd, KEY);
    assert_hv_ok(hv_mig_send(w, HV_MIG_PLAN, "{}", 2));
    assert_hv_ok(hv_mig_recv(rd, 1000, &type, &data, &bytes));
    assert_int_equal(type, HV_MIG_PLAN);
    assert_int_equal(bytes, 2);
    hv_mig_stream_free(rd);
    close(fd[0]);
    /* the reader is gone: EPIPE, and no SIGPIPE (it would end this test) */
    assert_hv_error(hv_mig_send(w, HV_MIG_END, NULL, 0), HV_E_MIGRATION);
    assert_error_mentions("the peer closed the connection: an END frame could not be sent");
    hv_mig_stream_free(w);
}

static void test_peer_gone(void **state)
{
    static uint8_t big[1 << 20];
    sigset_t pending;
    pair p;

    (void)state;
    open_pair(&p, NULL);
    hv_mig_stream_free(p.dst);
    p.dst = NULL;
    /* a frame larger than the socket's buffer, so that the write itself fails */
    assert_hv_error(hv_mig_send(p.src, HV_MIG_PAYLOAD, big, sizeof(big)), HV_E_MIGRATION);
    assert_error_mentions("the peer closed the connection: a PAYLOAD frame could not be sent");
    assert_hv_error(hv_mig_send(p.src, HV_MIG_END, NULL, 0), HV_E_MIGRATION);
    assert_error_mentions("an earlier send failed");
    assert_int_equal(sigpending(&pending), 0);
    assert_false(sigismember(&pending, SIGPIPE));
    close_pair(&p);
}

/* A blocking socket with SO_SNDTIMEO whose peer reads nothing: HV_E_TIMEOUT. */
static void test_send_timeout(void **state)
{
    static uint8_t big[4 << 20];
    const struct timeval limit = {.tv_sec = 0, .tv_usec = 50000};
    pair p;

    (void)state;
    open_pair(&p, NULL);
    assert_int_equal(setsockopt(p.fd[0], SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit)), 0);
    assert_hv_error(hv_mig_send(p.src, HV_MIG_PAYLOAD, big, sizeof(big)), HV_E_TIMEOUT);
    assert_error_mentions("the peer did not take a PAYLOAD frame within the socket's send timeout");
    close_pair(&p);
}

static void test_arguments(void **state)
{
    uint8_t nonce[HV_MIG_NONCE_BYTES], other[HV_MIG_NONCE_BYTES];
    struct iovec iov[2];
    hv_mig_stream *s = (hv_mig_stream *)(uintptr_t)1;
    uint32_t type;
    const uint8_t *data;
    size_t bytes;
    pair p;

    (void)state;
    assert_hv_error(hv_mig_stream_new(-1, false, &s), HV_E_INVAL);
    assert_null(s);
    assert_hv_error(hv_mig_stream_new(12345, false, &s), HV_E_INVAL);
    assert_error_mentions("descriptor 12345 is not open");
    assert_hv_error(hv_mig_stream_new(0, false, NULL), HV_E_INVAL);
    hv_mig_stream_free(NULL);
    assert_int_equal(hv_mig_bytes_sent(NULL), 0);

    assert_hv_ok(hv_mig_nonce(nonce));
    assert_hv_ok(hv_mig_nonce(other));
    assert_memory_not_equal(nonce, other, sizeof(nonce));
    assert_hv_error(hv_mig_nonce(NULL), HV_E_INVAL);

    open_pair(&p, NULL);
    assert_hv_error(hv_mig_stream_set_key(p.src, (const uint8_t *)KEY, 0, nonce, other),
                    HV_E_INVAL);
    assert_hv_error(hv_mig_stream_set_key(p.src, NULL, 4, nonce, other), HV_E_INVAL);
    assert_hv_error(hv_mig_stream_set_key(p.src, (const uint8_t *)KEY, 4, NULL, other), HV_E_INVAL);
    assert_hv_error(hv_mig_send(p.src, 0, NULL, 0), HV_E_INVAL);
    assert_hv_error(hv_mig_send(p.src, HV_MIG_TYPE_MAX + 1, NULL, 0), HV_E_INVAL);
    assert_error_mentions("frame type 14 is not one of 1..13");
    assert_hv_error(hv_mig_send(p.src, HV_MIG_META, NULL, 1), HV_E_INVAL);
    assert_hv_error(hv_mig_sendv(p.src, HV_MIG_META, NULL, 1), HV_E_INVAL);
    assert_hv_error(hv_mig_sendv(p.src, HV_MIG_META, iov, -1), HV_E_INVAL);
    /* too large: refused before anything is read from the pieces */
    iov[0] = (struct iovec){.iov_base = nonce, .iov_len = HV_MIG_MAX_FRAME_BYTES};
    iov[1] = (struct iovec){.iov_base = nonce, .iov_len = 1};
    assert_hv_error(hv_mig_sendv(p.src, HV_MIG_PAYLOAD, iov, 2), HV_E_INVAL);
    assert_error_mentions("a PAYLOAD frame of more than 67108864 bytes");
    assert_hv_error(hv_mig_send(p.src, HV_MIG_PAYLOAD, nonce, SIZE_MAX), HV_E_INVAL);
    assert_hv_error(hv_mig_recv(p.dst, -2, &type, &data, &bytes), HV_E_INVAL);
    assert_hv_error(hv_mig_recv(NULL, 0, &type, &data, &bytes), HV_E_INVAL);
    assert_hv_error(hv_mig_recv(p.dst, 0, NULL, &data, &bytes), HV_E_INVAL);
    /* nothing was sent by any of these */
    assert_int_equal(hv_mig_bytes_sent(p.src), 0);
    assert_hv_ok(hv_mig_send(p.src, HV_MIG_END, NULL, 0));
    assert_int_equal(hv_mig_bytes_sent(p.src), 16);
    /* keying with part of a frame in: refused */
    assert_int_equal(write(p.fd[0], "HVMF", 4), 4);
    assert_hv_ok(hv_mig_recv(p.dst, 1000, &type, &data, &bytes));
    assert_hv_error(hv_mig_recv(p.dst, 0, &type, &data, &bytes), HV_E_TIMEOUT);
    assert_hv_error(hv_mig_stream_set_key(p.dst, (const uint8_t *)KEY, 4, nonce, other),
                    HV_E_INVAL);
    assert_error_mentions("a frame is partly received");
    close_pair(&p);
}

/* ---- PAGES and ZERO ------------------------------------------------------------- */

static void test_pages_round_trip(void **state)
{
    static const uint64_t node_pages[3] = {16, 1 << 20, 5};
    const uint64_t pages[4] = {0, 7, 4096, (1 << 20) - 1};
    uint8_t *frame = malloc(hv_mig_pages_bytes(4, true));
    const uint8_t *numbers, *contents;
    uint32_t node, count;
    size_t head;

    (void)state;
    assert_non_null(frame);
    assert_int_equal(hv_mig_pages_bytes(1, false), 16);
    assert_int_equal(hv_mig_pages_bytes(4, true), 8 + 4 * 8 + 4 * 4096);
    assert_int_equal(hv_mig_pages_bytes(HV_MIG_MAX_PAGES, true), 8 + 4096 * (8 + 4096));
    assert_true(hv_mig_pages_bytes(HV_MIG_MAX_PAGES, true) <= HV_MIG_MAX_FRAME_BYTES);

    head = hv_mig_pages_header(frame, 1, 4, pages);
    assert_int_equal(head, 8 + 4 * 8);
    fill_pattern(frame + head, 4 * 4096, 9);
    assert_hv_ok(hv_mig_pages_decode(frame, hv_mig_pages_bytes(4, true), true, 3, node_pages, &node,
                                     &count, &numbers, &contents));
    assert_int_equal(node, 1);
    assert_int_equal(count, 4);
    assert_ptr_equal(numbers, frame + 8);
    assert_ptr_equal(contents, frame + head);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(hv_mig_page_at(numbers, i), pages[i]);
    /* ZERO: the same without contents */
    assert_hv_ok(
        hv_mig_pages_decode(frame, head, false, 3, node_pages, &node, &count, &numbers, &contents));
    assert_int_equal(count, 4);
    assert_null(contents);
    /* through a stream, from pieces: the header, then the contents */
    {
        struct iovec iov[2] = {{frame, head}, {frame + head, 4 * 4096}};
        uint32_t type;
        const uint8_t *data;
        size_t bytes;
        pair p;

        open_pair(&p, KEY);
        assert_hv_ok(hv_mig_sendv(p.src, HV_MIG_PAGES, iov, 2));
        assert_hv_ok(hv_mig_recv(p.dst, 1000, &type, &data, &bytes));
        assert_hv_ok(hv_mig_pages_decode(data, bytes, true, 3, node_pages, &node, &count, &numbers,
                                         &contents));
        assert_int_equal(hv_mig_page_at(numbers, 3), (1 << 20) - 1);
        assert_memory_equal(contents, frame + head, 4 * 4096);
        close_pair(&p);
    }
    free(frame);
}

static void expect_pages_refused(const uint8_t *frame, size_t bytes, bool with_contents,
                                 const char *text)
{
    static const uint64_t node_pages[2] = {100, 1000};
    const uint8_t *numbers = frame, *contents = frame;
    uint32_t node = 9, count = 9;

    hv_error_clear();
    assert_hv_error(hv_mig_pages_decode(frame, bytes, with_contents, 2, node_pages, &node, &count,
                                        &numbers, &contents),
                    HV_E_MIGRATION);
    if (!strstr(hv_error_message(hv_error_last()), text))
        print_error("expected \"%s\" in: %s\n", text, hv_error_message(hv_error_last()));
    assert_error_mentions(text);
    assert_int_equal(node, 0);
    assert_int_equal(count, 0);
    assert_null(numbers);
    assert_null(contents);
}

static void test_pages_refused(void **state)
{
    const size_t max_zero = hv_mig_pages_bytes(HV_MIG_MAX_PAGES + 1, false);
    uint8_t *f = calloc(1, max_zero);
    const uint64_t pages[3] = {1, 5, 99};
    uint32_t node, count;
    const uint8_t *numbers, *contents;

    (void)state;
    assert_non_null(f);
    expect_pages_refused(f, 0, true,
                         "a PAGES frame of 0 bytes is too short for its node and "
                         "page count (8 bytes)");
    expect_pages_refused(f, 7, false, "a ZERO frame of 7 bytes is too short");

    hv_mig_pages_header(f, 2, 3, pages);
    expect_pages_refused(f, hv_mig_pages_bytes(3, false), false,
                         "a ZERO frame is for vNUMA node 2, but the VM has 2 nodes");
    put_le(f, UINT32_MAX, 4);
    expect_pages_refused(f, hv_mig_pages_bytes(3, false), false, "node 4294967295");

    hv_mig_pages_header(f, 0, 3, pages);
    assert_hv_ok(hv_mig_pages_decode(f, hv_mig_pages_bytes(3, false), false, 2,
                                     (const uint64_t[]){100, 1000}, &node, &count, &numbers,
                                     &contents));
    expect_pages_refused(f, hv_mig_pages_bytes(3, false) + 1, false,
                         "a ZERO frame of 33 bytes for 3 pages: it should have 32");
    expect_pages_refused(f, hv_mig_pages_bytes(3, false), true,
                         "a PAGES frame of 32 bytes for 3 pages: it should have 12320");
    expect_pages_refused(f, hv_mig_pages_bytes(2, false), false, "for 3 pages: it should have");

    put_le(f + 4, 0, 4);
    expect_pages_refused(f, 8, false, "a ZERO frame holds 0 pages: a frame holds 1..4096");
    put_le(f + 4, HV_MIG_MAX_PAGES + 1, 4);
    expect_pages_refused(f, max_zero, false,
                         "a ZERO frame holds 4097 pages: a frame holds 1..4096");
    put_le(f + 4, UINT32_MAX, 4);
    expect_pages_refused(f, 8, true, "a PAGES frame holds 4294967295 pages");

    /* page numbers: increasing, inside the node */
    hv_mig_pages_header(f, 0, 3, (const uint64_t[]){1, 5, 5});
    expect_pages_refused(f, 32, false,
                         "a ZERO frame for node 0: page numbers must increase, but page 5 "
                         "follows page 5");
    hv_mig_pages_header(f, 0, 3, (const uint64_t[]){1, 5, 4});
    expect_pages_refused(f, 32, false, "but page 4 follows page 5");
    hv_mig_pages_header(f, 0, 3, (const uint64_t[]){1, 5, 100});
    expect_pages_refused(f, 32, false,
                         "a ZERO frame for node 0: page 100 is past the node's end (it has 100 "
                         "pages)");
    hv_mig_pages_header(f, 1, 1, (const uint64_t[]){UINT64_MAX});
    expect_pages_refused(f, 16, false, "page 18446744073709551615 is past the node's end");
    put_le(f + 8, 999, 8);
    assert_hv_ok(hv_mig_pages_decode(f, 16, false, 2, (const uint64_t[]){100, 1000}, &node, &count,
                                     &numbers, &contents));
    assert_int_equal(node, 1);

    /* no nodes at all */
    assert_hv_error(hv_mig_pages_decode(f, 16, false, 0, NULL, &node, &count, &numbers, &contents),
                    HV_E_MIGRATION);
    assert_error_mentions("the VM has 0 nodes");
    assert_hv_error(hv_mig_pages_decode(NULL, 16, false, 2, (const uint64_t[]){1, 1}, &node, &count,
                                        &numbers, &contents),
                    HV_E_INVAL);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_round_trip_unkeyed),
        cmocka_unit_test(test_round_trip_keyed),
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_sendv_pieces),
        cmocka_unit_test(test_large_frame),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_key_on_one_end),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_header_checks),
        cmocka_unit_test(test_closed),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_pipe),
        cmocka_unit_test(test_peer_gone),
        cmocka_unit_test(test_send_timeout),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_pages_round_trip),
        cmocka_unit_test(test_pages_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/kvm/test-virtio-console.c - the virtio console device
 * (lib/kvm/virtio-console.c on virtio-mmio.c and virtqueue.c) without a
 * VM: the fake guest memory and driver of virtio-test.h doing what Linux's
 * virtio_mmio and virtio_console drivers do without MULTIPORT (negotiate
 * VERSION_1 only, set up the receiveq and transmitq, post receive buffers
 * one at a time with a notification each, write output one buffer at a
 * time and wait for it): the guest's bytes reach the output callback in
 * order, bytes the host sends before there are buffers (before the driver
 * even probed) arrive when the guest posts them, split across small
 * buffers, up to the input limit; the interrupt line; a reset; hostile
 * drivers (a read-only receive buffer, a writable transmit buffer, loops,
 * notifications too early) leave it in DEVICE_NEEDS_RESET, after which a
 * reset device works again; snapshots: a console mid-use (transmit indexes
 * wrapped past 65535, bytes pending that wrap around its ring, an
 * interrupt pending) restored into a new console behaves as the original,
 * and damaged states or more pending bytes than the new console's limit are
 * refused with the device left reset and holding nothing; and a host
 * thread that sends while the "vCPU" posts buffers, writes and notifies
 * (the suite runs under TSan too).
 */
#include "kvm/virtio-console.h"
#include "virtio-test.h"

#include <pthread.h>
#include <sched.h>

#define RXQ HV_VIRTIO_CONSOLE_RECEIVEQ
#define TXQ HV_VIRTIO_CONSOLE_TRANSMITQ

/* Where the driver puts things (guest addresses). */
#define RX_DESC      (GUEST_BASE + 0x0000)
#define RX_AVAIL     (GUEST_BASE + 0x1000)
#define RX_USED      (GUEST_BASE + 0x2000)
#define TX_DESC      (GUEST_BASE + 0x4000)
#define TX_AVAIL     (GUEST_BASE + 0x5000)
#define TX_USED      (GUEST_BASE + 0x6000)
#define RX_BUF(i)    (GUEST_BASE + 0x10000 + 0x1000ull * (i)) /* receive buffer i */
#define TX_DATA      (GUEST_BASE + 0x40000)

#define QSIZE        16u
#define OUTPUT_BYTES 8192u

/* The driver, the console and what the host's output callback was given. */
typedef struct con {
    drv d;
    hv_virtio_console *c;
    uint8_t out[OUTPUT_BYTES];
    size_t out_bytes;
    unsigned int out_calls;
} con;

/* ---- the device ----------------------------------------------------------- */

static void output(void *ctx, const uint8_t *bytes, size_t len)
{
    con *t = ctx;

    assert_true(len > 0 && len <= OUTPUT_BYTES - t->out_bytes);
    memcpy(t->out + t->out_bytes, bytes, len);
    t->out_bytes += len;
    t->out_calls++;
}

/* A console with an input limit of `limit` bytes (0: the default). */
static void setup(con *t, size_t limit)
{
    hv_virtio_console_params p = {
        .name = "hvc0",
        .guest_ptr = guest_ptr,
        .irq = irq_line,
        .output = output,
        .input_limit_bytes = limit,
    };

    memset(t, 0, sizeof(*t));
    t->d.g.mem = calloc(1, GUEST_BYTES);
    assert_non_null(t->d.g.mem);
    t->d.device_id = HV_VIRTIO_ID_CONSOLE;
    t->d.queue_max = HV_VIRTIO_CONSOLE_QUEUE_SIZE;
    p.guest_ctx = &t->d.g;
    p.irq_ctx = &t->d;
    p.output_ctx = t;
    assert_hv_ok(hv_virtio_console_new(&p, &t->d.dev, &t->c));
    assert_non_null(t->d.dev);
    assert_non_null(t->c);
}

static void teardown(con *t)
{
    hv_virtio_mmio_free(t->d.dev);
    free(t->d.g.mem);
}

/* ---- the driver (what Linux's virtio_console.c does) ---------------------- */

/* Up to DRIVER_OK: VERSION_1 (Linux's table has SIZE and MULTIPORT, not offered), both queues. */
static void probe(con *t)
{
    assert_true(negotiate(&t->d, HV_VIRTIO_F_VERSION_1) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(&t->d, RXQ, QSIZE, RX_DESC, RX_AVAIL, RX_USED), 1);
    assert_int_equal(queue_setup(&t->d, TXQ, QSIZE, TX_DESC, TX_AVAIL, TX_USED), 1);
    driver_ok(&t->d);
    assert_int_equal(hv_virtio_mmio_status(t->d.dev), 0xF);
}

/* Post receive buffer `i` of `bytes` (descriptor i, device-writable) and notify, as add_inbuf(). */
static void post(con *t, uint16_t i, uint32_t bytes)
{
    memset(at(&t->d, RX_BUF(i)), 0xEE, bytes);
    set_desc(&t->d, RX_DESC, i, RX_BUF(i), bytes, HV_VIRTQ_DESC_F_WRITE, 0);
    submit(&t->d, RXQ, i);
}

/* The next used receive buffer: its id, and its bytes as a string in `text`. */
static uint32_t received(con *t, char *text, size_t room)
{
    uint32_t id = 0, len = 0;

    assert_true(take_used(&t->d, RXQ, &id, &len));
    assert_true(len < room);
    memcpy(text, at(&t->d, RX_BUF(id)), len);
    text[len] = '\0';
    return id;
}

/* Write `text` as put_chars() does: one device-readable buffer, then wait for it. */
static void transmit(con *t, const char *text)
{
    size_t len = strlen(text);
    uint32_t id, used_len;

    memcpy(at(&t->d, TX_DATA), text, len);
    set_desc(&t->d, TX_DESC, 0, TX_DATA, (uint32_t)len, 0, 0);
    submit(&t->d, TXQ, 0);
    assert_true(take_used(&t->d, TXQ, &id, &used_len));
    assert_int_equal(id, 0);
    assert_int_equal(used_len, 0);
}

static void assert_output(con *t, const char *text)
{
    assert_int_equal(t->out_bytes, strlen(text));
    assert_memory_equal(t->out, text, t->out_bytes);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_probe(void **state)
{
    con t;
    hv_virtio_console_params p = {.guest_ptr = guest_ptr};
    hv_virtio_mmio *dev = NULL;
    hv_virtio_console *c = NULL;
    uint32_t id, len;

    (void)state;
    setup(&t, 0);
    assert_true(device_features(&t.d) == HV_VIRTIO_F_VERSION_1);
    /* struct virtio_console_config, all 0 (cols, rows as Linux reads them), then nothing */
    assert_true(config(&t.d, 0, 2) == 0 && config(&t.d, 2, 2) == 0);
    assert_true(config(&t.d, 4, 4) == 0 && config(&t.d, 8, 4) == 0 && config(&t.d, 12, 4) == 0);
    /* two queues */
    wr(&t.d, HV_VIRTIO_MMIO_QUEUE_SEL, 2);
    assert_int_equal(rd(&t.d, HV_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* a driver that asks for the features not offered is refused */
    assert_false(negotiate(&t.d, HV_VIRTIO_F_VERSION_1 | 1ull << HV_VIRTIO_CONSOLE_F_MULTIPORT) &
                 HV_VIRTIO_STATUS_FEATURES_OK);
    assert_false(negotiate(&t.d, HV_VIRTIO_F_VERSION_1 | 1ull << HV_VIRTIO_CONSOLE_F_SIZE) &
                 HV_VIRTIO_STATUS_FEATURES_OK);
    /* Linux's probe, then fill_queue(): a buffer at a time, each with a notification */
    probe(&t);
    for (uint16_t i = 0; i < QSIZE; i++)
        post(&t, i, 4096);
    assert_false(take_used(&t.d, RXQ, &id, &len)); /* nothing to say yet */
    assert_false(t.d.irq);
    assert_int_equal(hv_virtio_console_pending(t.c), 0);
    assert_false(needs_reset(&t.d));
    teardown(&t);

    /* parameters */
    assert_hv_error(hv_virtio_console_new(NULL, &dev, &c), HV_E_INVAL);
    assert_hv_error(hv_virtio_console_new(&p, NULL, &c), HV_E_INVAL);
    assert_null(c);
    p.input_limit_bytes = HV_VIRTIO_CONSOLE_INPUT_LIMIT_MAX + 1;
    assert_hv_error(hv_virtio_console_new(&p, &dev, &c), HV_E_INVAL);
    assert_error_mentions("input limit");
    assert_null(dev);
    p.input_limit_bytes = HV_VIRTIO_CONSOLE_INPUT_LIMIT_MAX;
    assert_hv_ok(hv_virtio_console_new(&p, &dev, NULL)); /* no handle: fine */
    hv_virtio_mmio_free(dev);
    assert_int_equal(hv_virtio_console_send(NULL, "x", 1), 0);
    assert_int_equal(hv_virtio_console_pending(NULL), 0);
}

/* Guest to host: in order, a call per buffer, whatever the chain's layout. */
static void test_output(void **state)
{
    con t;
    uint32_t id, len;

    (void)state;
    setup(&t, 0);
    probe(&t);
    transmit(&t, "hello, ");
    transmit(&t, "host\n");
    assert_output(&t, "hello, host\n");
    assert_int_equal(t.out_calls, 2);
    assert_true(t.d.irq); /* Linux polls for it; the device does not know and tells */
    assert_int_equal(ack(&t.d), HV_VIRTIO_INT_VRING);

    /* one chain of three buffers (a zero-length one left out), two chains at once */
    memcpy(at(&t.d, TX_DATA), "abcdefgh", 8);
    set_desc(&t.d, TX_DESC, 3, TX_DATA, 2, HV_VIRTQ_DESC_F_NEXT, 7);
    set_desc(&t.d, TX_DESC, 7, TX_DATA + 2, 0, HV_VIRTQ_DESC_F_NEXT, 1);
    set_desc(&t.d, TX_DESC, 1, TX_DATA + 2, 3, HV_VIRTQ_DESC_F_NEXT, 2);
    set_desc(&t.d, TX_DESC, 2, TX_DATA + 5, 1, 0, 0);
    set_desc(&t.d, TX_DESC, 4, TX_DATA + 6, 2, 0, 0);
    put16(&t.d, TX_AVAIL + 4 + 2u * (t.d.q[TXQ].avail_idx % QSIZE), 3);
    t.d.q[TXQ].avail_idx++;
    submit(&t.d, TXQ, 4);
    assert_true(take_used(&t.d, TXQ, &id, &len) && id == 3 && len == 0);
    assert_true(take_used(&t.d, TXQ, &id, &len) && id == 4 && len == 0);
    assert_output(&t, "hello, host\nabcdefgh");
    assert_int_equal(t.out_calls, 6);
    assert_int_equal(ack(&t.d), HV_VIRTIO_INT_VRING);

    /* VIRTQ_AVAIL_F_NO_INTERRUPT on the transmitq: completed, no interrupt */
    put16(&t.d, TX_AVAIL, HV_VIRTQ_AVAIL_F_NO_INTERRUPT);
    transmit(&t, "!");
    assert_false(t.d.irq);
    assert_output(&t, "hello, host\nabcdefgh!");
    assert_false(needs_reset(&t.d));
    teardown(&t);
}

/* Host to guest: bytes sent before the driver probed wait for its buffers; the interrupt. */
static void test_input_before_buffers(void **state)
{
    con t;
    char text[64];
    uint32_t id, len;

    (void)state;
    setup(&t, 0);
    assert_int_equal(hv_virtio_console_send(t.c, "early ", 6), 6);
    assert_int_equal(hv_virtio_console_pending(t.c), 6);
    /* the probe starts with a reset: the bytes stay */
    assert_true(negotiate(&t.d, HV_VIRTIO_F_VERSION_1) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(&t.d, RXQ, QSIZE, RX_DESC, RX_AVAIL, RX_USED), 1);
    assert_int_equal(hv_virtio_console_send(t.c, "bird", 4), 4); /* before DRIVER_OK */
    assert_int_equal(queue_setup(&t.d, TXQ, QSIZE, TX_DESC, TX_AVAIL, TX_USED), 1);
    driver_ok(&t.d);
    assert_false(t.d.irq);
    assert_int_equal(hv_virtio_console_pending(t.c), 10);
    /* the first buffer posted takes them, with the interrupt */
    post(&t, 0, 64);
    assert_int_equal(received(&t, text, sizeof(text)), 0);
    assert_string_equal(text, "early bird");
    assert_int_equal(hv_virtio_console_pending(t.c), 0);
    assert_true(t.d.irq);
    assert_int_equal(ack(&t.d), HV_VIRTIO_INT_VRING); /* the line goes low */
    /* a buffer posted, then bytes sent: delivered at once, from the sending thread */
    post(&t, 1, 64);
    assert_false(take_used(&t.d, RXQ, &id, &len));
    assert_int_equal(hv_virtio_console_send(t.c, "now", 3), 3);
    assert_true(t.d.irq);
    assert_int_equal(received(&t, text, sizeof(text)), 1);
    assert_string_equal(text, "now");
    assert_int_equal(ack(&t.d), HV_VIRTIO_INT_VRING);
    /* VIRTQ_AVAIL_F_NO_INTERRUPT on the receiveq: delivered without the interrupt */
    put16(&t.d, RX_AVAIL, HV_VIRTQ_AVAIL_F_NO_INTERRUPT);
    post(&t, 2, 64);
    assert_int_equal(hv_virtio_console_send(t.c, "quiet", 5), 5);
    assert_false(t.d.irq);
    assert_int_equal(received(&t, text, sizeof(text)), 2);
    assert_string_equal(text, "quiet");
    assert_int_equal(hv_virtio_console_send(t.c, NULL, 5), 0);
    assert_int_equal(hv_virtio_console_send(t.c, "", 0), 0);
    assert_false(needs_reset(&t.d));
    teardown(&t);
}

/* Bytes split across buffers smaller than what was sent, in order; chains of several buffers. */
static void test_input_split(void **state)
{
    con t;
    char text[64];
    uint32_t id, len;

    (void)state;
    setup(&t, 0);
    probe(&t);
    for (uint16_t i = 0; i < 4; i++)
        post(&t, i, 8);
    assert_int_equal(hv_virtio_console_send(t.c, "0123456789abcdefghijklmnopqrst", 30), 30);
    assert_int_equal(t.d.irq_raised, 1); /* one interrupt for the four */
    assert_int_equal(received(&t, text, sizeof(text)), 0);
    assert_string_equal(text, "01234567");
    assert_int_equal(received(&t, text, sizeof(text)), 1);
    assert_string_equal(text, "89abcdef");
    assert_int_equal(received(&t, text, sizeof(text)), 2);
    assert_string_equal(text, "ghijklmn");
    assert_int_equal(received(&t, text, sizeof(text)), 3);
    assert_string_equal(text, "opqrst");
    ack(&t.d);

    /* more than the buffers posted: the rest waits for the next ones */
    assert_int_equal(hv_virtio_console_send(t.c, "ABCDEFGHIJ", 10), 10);
    assert_int_equal(hv_virtio_console_pending(t.c), 10);
    assert_false(t.d.irq);
    post(&t, 5, 4);
    assert_int_equal(received(&t, text, sizeof(text)), 5);
    assert_string_equal(text, "ABCD");
    assert_int_equal(hv_virtio_console_pending(t.c), 6);
    /* a chain of two device-writable buffers, 3 and 10 bytes: filled in order */
    memset(at(&t.d, RX_BUF(6)), 0, 16);
    memset(at(&t.d, RX_BUF(7)), 0, 16);
    set_desc(&t.d, RX_DESC, 6, RX_BUF(6), 3, HV_VIRTQ_DESC_F_WRITE | HV_VIRTQ_DESC_F_NEXT, 7);
    set_desc(&t.d, RX_DESC, 7, RX_BUF(7), 10, HV_VIRTQ_DESC_F_WRITE, 0);
    submit(&t.d, RXQ, 6);
    assert_true(take_used(&t.d, RXQ, &id, &len));
    assert_int_equal(id, 6);
    assert_int_equal(len, 6);
    assert_memory_equal(at(&t.d, RX_BUF(6)), "EFG", 3);
    assert_memory_equal(at(&t.d, RX_BUF(7)), "HIJ\0", 4);
    assert_int_equal(hv_virtio_console_pending(t.c), 0);
    ack(&t.d);
    assert_false(needs_reset(&t.d));
    teardown(&t);
}

/* The input limit: send takes what fits; what it took arrives whole and in order. */
static void test_input_limit(void **state)
{
    con t;
    uint8_t bytes[150], got[300];
    size_t got_bytes = 0, taken;
    uint32_t id, len;
    static uint8_t big[100 * 1024];

    (void)state;
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)i;
    setup(&t, 100);
    probe(&t);
    assert_int_equal(hv_virtio_console_send(t.c, bytes, 150), 100);
    assert_int_equal(hv_virtio_console_send(t.c, bytes + 100, 50), 0);
    assert_int_equal(hv_virtio_console_pending(t.c), 100);
    /* 40 out, 40 more in (the ring wraps around), 60 out, 40 out */
    post(&t, 0, 40);
    taken = hv_virtio_console_send(t.c, bytes + 100, 50);
    assert_int_equal(taken, 40);
    assert_int_equal(hv_virtio_console_pending(t.c), 100);
    post(&t, 1, 60);
    post(&t, 2, 100);
    assert_int_equal(hv_virtio_console_pending(t.c), 0);
    while (take_used(&t.d, RXQ, &id, &len)) {
        memcpy(got + got_bytes, at(&t.d, RX_BUF(id)), len);
        got_bytes += len;
    }
    assert_int_equal(got_bytes, 140);
    assert_memory_equal(got, bytes, 140);
    teardown(&t);

    /* the default: 64 KiB */
    setup(&t, 0);
    assert_int_equal(hv_virtio_console_send(t.c, big, sizeof(big)),
                     HV_VIRTIO_CONSOLE_INPUT_LIMIT_DEFAULT);
    assert_int_equal(hv_virtio_console_send(t.c, big, 1), 0);
    teardown(&t);
}

/* A reset takes the queues down and keeps the bytes not delivered; the device works again. */
static void test_reset(void **state)
{
    con t;
    char text[64];
    uint32_t id, len;

    (void)state;
    setup(&t, 0);
    probe(&t);
    post(&t, 0, 4);
    assert_int_equal(hv_virtio_console_send(t.c, "abcdefgh", 8), 8);
    assert_true(t.d.irq);
    /* the driver resets before it looked: the line goes low, the queues are gone */
    wr(&t.d, HV_VIRTIO_MMIO_STATUS, 0);
    assert_false(t.d.irq);
    assert_int_equal(rd(&t.d, HV_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    wr(&t.d, HV_VIRTIO_MMIO_QUEUE_SEL, RXQ);
    assert_int_equal(rd(&t.d, HV_VIRTIO_MMIO_QUEUE_READY), 0);
    assert_int_equal(hv_virtio_console_pending(t.c), 4);
    assert_int_equal(hv_virtio_console_send(t.c, "ij", 2), 2); /* no driver: queued */
    assert_false(t.d.irq);
    /* the next driver gets what was not delivered, in order */
    probe(&t);
    assert_false(take_used(&t.d, RXQ, &id, &len));
    post(&t, 3, 32);
    assert_int_equal(received(&t, text, sizeof(text)), 3);
    assert_string_equal(text, "efghij");
    ack(&t.d);
    transmit(&t, "back");
    assert_output(&t, "back");
    ack(&t.d);
    teardown(&t);
}

/* ---- hostile drivers ------------------------------------------------------ */

/* After a hostile step: NEEDS_RESET; nothing moves until a reset; then it works again. */
static void expect_needs_reset_then_recover(con *t)
{
    char text[64];
    uint32_t id, len;
    size_t out_bytes = t->out_bytes;
    size_t pending;

    assert_true(needs_reset(&t->d));
    if (hv_virtio_mmio_status(t->d.dev) & HV_VIRTIO_STATUS_DRIVER_OK)
        assert_true(ack(&t->d) & HV_VIRTIO_INT_CONFIG);
    /* nothing is taken or delivered while it needs a reset */
    assert_int_equal(hv_virtio_console_send(t->c, "x", 1), 1);
    pending = hv_virtio_console_pending(t->c);
    assert_true(pending > 0);
    wr(&t->d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
    wr(&t->d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
    assert_int_equal(hv_virtio_console_pending(t->c), pending);
    assert_int_equal(t->out_bytes, out_bytes);
    /* reset: works again, and the bytes still pending arrive */
    probe(t);
    assert_false(needs_reset(&t->d));
    post(t, 0, 64);
    assert_int_equal(received(t, text, sizeof(text)), 0);
    assert_int_equal(strlen(text), pending);
    assert_int_equal(text[pending - 1], 'x');
    assert_false(take_used(&t->d, RXQ, &id, &len));
    assert_int_equal(hv_virtio_console_pending(t->c), 0);
    ack(&t->d);
    t->out_bytes = 0;
    transmit(t, "ok");
    assert_output(t, "ok");
    ack(&t->d);
    t->out_bytes = 0;
    t->out_calls = 0;
}

#define N_ HV_VIRTQ_DESC_F_NEXT
#define W_ HV_VIRTQ_DESC_F_WRITE

/* A chain on queue `q` of descriptors 0 (and 1 where `second`), made available, notified. */
typedef struct bad_chain {
    const char *what;
    uint16_t queue;
    uint16_t flags0, flags1; /* descriptor 0's and 1's (1 is used where 0 has NEXT) */
    uint32_t len0;
} bad_chain;

static const bad_chain bad_chains[] = {
    {"a read-only receive buffer", RXQ, 0, 0, 16},
    {"a receive chain that starts device-readable", RXQ, N_, W_, 16},
    {"a zero-length receive buffer", RXQ, W_, 0, 0},
    {"a receive loop", RXQ, W_ | N_, W_ | N_, 16},
    {"an indirect receive buffer", RXQ, W_ | HV_VIRTQ_DESC_F_INDIRECT, 0, 16},
    {"a writable transmit buffer", TXQ, W_, 0, 16},
    {"a transmit chain that ends device-writable", TXQ, N_, W_, 16},
    {"a transmit loop", TXQ, N_, N_, 16},
    {"device-readable after device-writable", TXQ, W_ | N_, 0, 16},
};

static void test_hostile_chains(void **state)
{
    con t;

    (void)state;
    setup(&t, 0);
    probe(&t);
    for (size_t i = 0; i < sizeof(bad_chains) / sizeof(bad_chains[0]); i++) {
        const bad_chain *b = &bad_chains[i];
        uint64_t table = b->queue == RXQ ? RX_DESC : TX_DESC;

        print_message("%s\n", b->what);
        memcpy(at(&t.d, TX_DATA), "secret", 6);
        /* a loop is 0 -> 1 -> 0: descriptor 1 points back */
        set_desc(&t.d, table, 0, b->queue == RXQ ? RX_BUF(0) : TX_DATA, b->len0, b->flags0, 1);
        set_desc(&t.d, table, 1, b->queue == RXQ ? RX_BUF(1) : TX_DATA, 16, b->flags1, 0);
        /* there is input to deliver, so a receive chain is taken */
        assert_int_equal(hv_virtio_console_send(t.c, "in", 2), 2);
        submit(&t.d, b->queue, 0);
        assert_int_equal(t.out_bytes, 0);
        expect_needs_reset_then_recover(&t);
    }
    teardown(&t);
}

static void test_hostile_rings(void **state)
{
    con t;

    (void)state;
    setup(&t, 0);
    /* notifications: before the transmitq is ready, before DRIVER_OK, for queue 2 */
    assert_true(negotiate(&t.d, HV_VIRTIO_F_VERSION_1) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(&t.d, RXQ, QSIZE, RX_DESC, RX_AVAIL, RX_USED), 1);
    wr(&t.d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
    expect_needs_reset_then_recover(&t);
    assert_true(negotiate(&t.d, HV_VIRTIO_F_VERSION_1) & HV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(queue_setup(&t.d, RXQ, QSIZE, RX_DESC, RX_AVAIL, RX_USED), 1);
    assert_int_equal(queue_setup(&t.d, TXQ, QSIZE, TX_DESC, TX_AVAIL, TX_USED), 1);
    wr(&t.d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
    expect_needs_reset_then_recover(&t);
    wr(&t.d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, 2);
    expect_needs_reset_then_recover(&t);
    /* the available index runs ahead; a receive head out of range */
    put16(&t.d, TX_AVAIL + 2, (uint16_t)(t.d.q[TXQ].avail_idx + QSIZE + 1));
    wr(&t.d, HV_VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
    expect_needs_reset_then_recover(&t);
    assert_int_equal(hv_virtio_console_send(t.c, "in", 2), 2);
    submit(&t.d, RXQ, QSIZE);
    expect_needs_reset_then_recover(&t);
    /* a receive buffer outside RAM: the device writes nothing there (ASan would say) */
    set_desc(&t.d, RX_DESC, 0, GUEST_BASE + GUEST_BYTES - 8, 16, W_, 0);
    assert_int_equal(hv_virtio_console_send(t.c, "in", 2), 2);
    submit(&t.d, RXQ, 0);
    expect_needs_reset_then_recover(&t);
    teardown(&t);
}

/* ---- snapshots ------------------------------------------------------------- */

#define STATE_LIMIT 64u /* the input limit of the consoles in a snapshot */

/*
 * A console mid-use: "hello" written, then 65536 empty writes (the transmit
 * indexes wrap past 65535); 40 bytes sent, 30 of them delivered, 40 more
 * sent: 50 pending, wrapping around the 64-byte ring; the receive
 * interrupt not acknowledged.
 */
static void mid_use(con *t)
{
    char text[64];

    setup(t, STATE_LIMIT);
    probe(t);
    transmit(t, "hello");
    for (int i = 0; i < 65536; i++)
        transmit(t, "");
    ack(&t->d);
    assert_int_equal(hv_virtio_console_send(t->c, "0123456789abcdefghijklmnopqrstuvwxyzABCD", 40),
                     40);
    post(t, 0, 30);
    assert_int_equal(received(t, text, sizeof(text)), 0);
    assert_string_equal(text, "0123456789abcdefghijklmnopqrst");
    assert_int_equal(hv_virtio_console_send(t->c, "EFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<", 40),
                     40);
    assert_int_equal(hv_virtio_console_pending(t->c), 50);
    assert_true(t->d.irq);
}

/* `b` (a console with input limit `limit`, nothing done on it) takes `a`'s guest memory. */
static void fresh(con *b, const con *a, size_t limit)
{
    setup(b, limit);
    take_over_driver(&b->d, &a->d);
}

/* What a guest and the host do next: what the guest received and the host got, in `out`. */
static void go_on(con *t, char out[256])
{
    size_t from = t->out_bytes;
    char text[64];

    assert_int_equal(ack(&t->d), HV_VIRTIO_INT_VRING); /* pending at the snapshot */
    post(t, 1, 20);
    assert_int_equal(received(t, text, sizeof(text)), 1);
    strcpy(out, text);
    post(t, 2, 64);
    assert_int_equal(received(t, text, sizeof(text)), 2);
    strcat(out, text);
    ack(&t->d);
    assert_int_equal(hv_virtio_console_send(t->c, "xyz", 3), 3);
    transmit(t, "after");
    ack(&t->d);
    post(t, 3, 4);
    assert_int_equal(received(t, text, sizeof(text)), 3);
    strcat(out, text);
    strcat(out, "|");
    strncat(out, (const char *)t->out + from, t->out_bytes - from);
    ack(&t->d);
}

static void test_state_round_trip(void **state)
{
    con a, b;
    char out_a[256], out_b[256];
    size_t bytes;
    uint8_t *blob;

    (void)state;
    mid_use(&a);
    blob = state_of(&a.d, &bytes);
    assert_int_equal(bytes, VMIO_OWN(2) + 4 + 16 + 50);
    assert_memory_equal(blob + VMIO_OWN(2) + 4, "VCON\1\0\0\0", 8);
    fresh(&b, &a, STATE_LIMIT);
    assert_hv_ok(hv_virtio_mmio_state_decode(b.d.dev, blob, bytes));
    assert_true(b.d.irq);
    assert_int_equal(b.d.irq_raised, 1);
    assert_int_equal(hv_virtio_console_pending(b.c), 50);
    assert_same_device(&a.d, &b.d);
    go_on(&a, out_a);
    go_on(&b, out_b);
    assert_string_equal(out_a, out_b);
    assert_string_equal(out_a, "uvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<xyz|after");
    assert_int_equal(hv_virtio_console_pending(b.c), 0);
    assert_same_device(&a.d, &b.d);
    free(blob);
    teardown(&a);
    teardown(&b);

    /* a console with a larger limit takes it too, and one that holds nothing */
    mid_use(&a);
    blob = state_of(&a.d, &bytes);
    fresh(&b, &a, 0);
    assert_hv_ok(hv_virtio_mmio_state_decode(b.d.dev, blob, bytes));
    go_on(&a, out_a);
    go_on(&b, out_b);
    assert_string_equal(out_a, out_b);
    free(blob);
    blob = state_of(&a.d, &bytes);
    assert_int_equal(bytes, VMIO_OWN(2) + 4 + 16);
    teardown(&b);
    fresh(&b, &a, 1);
    assert_hv_ok(hv_virtio_mmio_state_decode(b.d.dev, blob, bytes));
    assert_false(b.d.irq);
    assert_same_device(&a.d, &b.d);
    free(blob);
    teardown(&a);
    teardown(&b);
}

#define OWN (VMIO_OWN(2) + 4) /* where the console's part starts */

static const state_damage console_damages[] = {
    {"a block device's id", VMIO_DEVICE_ID, 4, 2, "device id 2"},
    {"a transmit ring outside RAM", VMIO_QUEUE(1) + VMIO_Q_DRIVER, 8, GUEST_BASE + GUEST_BYTES,
     "queue 1, ready: the available ring"},
    {"a receive queue of 256", VMIO_QUEUE(0) + VMIO_Q_NUM, 4, 256, "from 1 to 128"},
    {"a byte short", 0, 0, -1, "truncated"},
    {"the console's part missing", VMIO_OWN(2), 4, 0, "trailing bytes"},
    {"a byte more", 0, 0, 1, "trailing bytes"},
    {"another part's magic", OWN, 1, 'X', "console state: the state starts with magic"},
    {"the part's next version", OWN + 4, 4, 2, "console state: state version 2"},
    {"a pending count too large", OWN + 8, 4, 51, "51 pending bytes said, 50 follow"},
    {"a pending count too small", OWN + 8, 4, 49, "49 pending bytes said, 50 follow"},
    {"a pending count of 4 GiB - 1", OWN + 8, 4, UINT32_MAX, "pending bytes said"},
    {"reserved bytes", OWN + 12, 1, 1, "reserved"},
};

static void test_state_refused(void **state)
{
    con a, b;
    size_t bytes;
    uint8_t *blob;

    (void)state;
    mid_use(&a);
    blob = state_of(&a.d, &bytes);
    fresh(&b, &a, STATE_LIMIT);
    for (size_t i = 0; i < sizeof(console_damages) / sizeof(console_damages[0]); i++) {
        assert_state_refused(&b.d, blob, bytes, &console_damages[i]);
        assert_error_mentions("virtio device hvc0");
        assert_int_equal(hv_virtio_console_pending(b.c), 0);
    }
    teardown(&b);

    /* 50 bytes pending, a console that holds 49 */
    fresh(&b, &a, 49);
    assert_hv_error(hv_virtio_mmio_state_decode(b.d.dev, blob, bytes), HV_E_SNAPSHOT);
    assert_error_mentions("virtio device hvc0: console state: 50 bytes pending");
    assert_error_mentions("input limit of at least 50 bytes");
    assert_left_reset(&b.d, 0);
    assert_int_equal(hv_virtio_console_pending(b.c), 0);
    /* refused with bytes of its own: they stay */
    assert_int_equal(hv_virtio_console_send(b.c, "kept", 4), 4);
    assert_hv_error(hv_virtio_mmio_state_decode(b.d.dev, blob, bytes), HV_E_SNAPSHOT);
    assert_int_equal(hv_virtio_console_pending(b.c), 4);
    teardown(&b);
    free(blob);
    teardown(&a);
}

/* ---- a host thread and a vCPU at once --------------------------------------- */

#define STREAM_BYTES 20000u
#define RX_BUFFERS   8u
#define RX_BYTES     16u

static uint8_t stream_byte(size_t i)
{
    return (uint8_t)(i * 131 + i / 251);
}

/* The host: the stream in chunks of 1 .. 97 bytes, again where the limit stopped it. */
static void *host_sender(void *arg)
{
    con *t = arg;
    uint8_t chunk[97];
    size_t sent = 0, want = 1;

    while (sent < STREAM_BYTES) {
        size_t n = want < STREAM_BYTES - sent ? want : STREAM_BYTES - sent;

        for (size_t i = 0; i < n; i++)
            chunk[i] = stream_byte(sent + i);
        n = hv_virtio_console_send(t->c, chunk, n);
        if (n == 0)
            sched_yield();
        sent += n;
        want = want % sizeof(chunk) + 1;
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    con t;
    pthread_t host;
    size_t got = 0;
    unsigned int written = 0, idle = 0;
    uint32_t id, len;
    char line[16];

    (void)state;
    setup(&t, 256);
    probe(&t);
    for (uint16_t i = 0; i < RX_BUFFERS; i++)
        post(&t, i, RX_BYTES);
    assert_int_equal(pthread_create(&host, NULL, host_sender, &t), 0);
    /* the vCPU: take what arrived, post the buffer again, write a line now and then */
    while (got < STREAM_BYTES || written < 200) {
        bool moved = false;

        while (take_used(&t.d, RXQ, &id, &len)) {
            const uint8_t *buf = at(&t.d, RX_BUF(id));

            assert_true(id < RX_BUFFERS && len > 0 && len <= RX_BYTES);
            for (uint32_t i = 0; i < len; i++)
                if (buf[i] != stream_byte(got + i))
                    fail_msg("byte %zu: 0x%02x, not 0x%02x", got + i, buf[i], stream_byte(got + i));
            got += len;
            submit(&t.d, RXQ, (uint16_t)id);
            moved = true;
        }
        if (written < 200) {
            snprintf(line, sizeof(line), "%03u,", written++);
            transmit(&t, line);
        }
        /* the interrupt handler, without looking at the line the other thread may change */
        wr(&t.d, HV_VIRTIO_MMIO_INTERRUPT_ACK, rd(&t.d, HV_VIRTIO_MMIO_INTERRUPT_STATUS));
        if (!moved) {
            assert_true(++idle < 10000000u);
            sched_yield();
        }
    }
    assert_int_equal(pthread_join(host, NULL), 0);
    assert_int_equal(got, STREAM_BYTES);
    assert_int_equal(hv_virtio_console_pending(t.c), 0);
    assert_int_equal(t.out_bytes, 200u * 4);
    for (unsigned int i = 0; i < 200; i++) {
        snprintf(line, sizeof(line), "%03u,", i);
        assert_memory_equal(t.out + 4u * i, line, 4);
    }
    ack(&t.d);
    assert_false(needs_reset(&t.d));
    teardown(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_input_before_buffers),
        cmocka_unit_test(test_input_split),
        cmocka_unit_test(test_input_limit),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_hostile_chains),
        cmocka_unit_test(test_hostile_rings),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_refused),
        cmocka_unit_test(test_concurrent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/container/test-guest-protocol.c - the container guest's protocol
 * (lib/container/guest-protocol.h): RUN records encoded and read back, the
 * decoder fed whole streams, one byte at a time and in odd chunks, every
 * rule a guest can break; and hpcvirt-container-init's --serve mode
 * (HV_TEST_CONTAINER_INIT, the built program) driven over socket pairs:
 * output, exit status, signals, failures to start, environment, working
 * folder, a large output.
 */
#include "hv-test.h"
#include "container/guest-protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

/* A byte stream that records are appended to. */
typedef struct stream {
    uint8_t bytes[4 * 70000];
    size_t length;
} stream;

static void add_record(stream *s, unsigned int type, const void *payload, size_t bytes)
{
    assert_true(s->length + 8 + bytes <= sizeof(s->bytes));
    s->bytes[s->length] = (uint8_t)type;
    s->bytes[s->length + 1] = s->bytes[s->length + 2] = s->bytes[s->length + 3] = 0;
    hv_container_proto_put_u32(s->bytes + s->length + 4, (uint32_t)bytes);
    if (bytes)
        memcpy(s->bytes + s->length + 8, payload, bytes);
    s->length += 8 + bytes;
}

static void add_u32_record(stream *s, unsigned int type, uint32_t value)
{
    uint8_t payload[4];

    hv_container_proto_put_u32(payload, value);
    add_record(s, type, payload, 4);
}

static void add_fail(stream *s, uint32_t status, uint32_t error_number, const char *message,
                     size_t message_bytes)
{
    uint8_t payload[512];

    hv_container_proto_put_u32(payload, status);
    hv_container_proto_put_u32(payload + 4, error_number);
    memcpy(payload + 8, message, message_bytes);
    add_record(s, HV_CONTAINER_REC_FAIL, payload, 8 + message_bytes);
}

/* What the decoder made of a stream: the events, flattened. */
typedef struct outcome {
    char log[4096]; /* "HELLO 1|OUT 5 hello|EXIT 7/0|..." */
    uint8_t out[1 << 20], err[4096];
    size_t out_bytes, err_bytes;
    int rc;           /* the last feed's: 0, or the error */
    size_t failed_at; /* the stream offset after the last byte taken */
    char error[512];
} outcome;

static void note(outcome *o, const hv_container_event *ev)
{
    size_t at = strlen(o->log);
    char *p = o->log + at;
    size_t room = sizeof(o->log) - at;

    switch (ev->type) {
    case HV_CONTAINER_REC_HELLO:
        snprintf(p, room, "HELLO %u|", ev->version);
        break;
    case HV_CONTAINER_REC_OUT:
    case HV_CONTAINER_REC_ERR: {
        uint8_t *to = ev->type == HV_CONTAINER_REC_OUT ? o->out : o->err;
        size_t *have = ev->type == HV_CONTAINER_REC_OUT ? &o->out_bytes : &o->err_bytes;
        size_t cap = ev->type == HV_CONTAINER_REC_OUT ? sizeof(o->out) : sizeof(o->err);

        assert_true(*have + ev->data_bytes <= cap);
        if (ev->data_bytes)
            memcpy(to + *have, ev->data, ev->data_bytes);
        *have += ev->data_bytes;
        snprintf(p, room, "%s %zu|", hv_container_record_name(ev->type), ev->data_bytes);
        break;
    }
    case HV_CONTAINER_REC_EXIT:
        snprintf(p, room, "EXIT %d/%d|", ev->exit_status, ev->signal);
        break;
    case HV_CONTAINER_REC_FAIL:
        snprintf(p, room, "FAIL %d/%d %.*s|", ev->exit_status, ev->error_number,
                 (int)ev->data_bytes, (const char *)ev->data);
        break;
    default:
        fail_msg("an event of type %u", ev->type);
    }
}

/* Feed `bytes` to a new decoder `chunk` bytes at a time (0: all at once). */
static void decode(const uint8_t *bytes, size_t length, size_t chunk, outcome *o)
{
    hv_container_decoder *d;
    size_t at = 0;

    memset(o, 0, sizeof(*o));
    assert_hv_ok(hv_container_decoder_new(&d));
    while (at < length) {
        size_t n = chunk && chunk < length - at ? chunk : length - at;
        const uint8_t *piece = bytes + at;

        while (n > 0) {
            hv_container_event ev;
            size_t used = 12345;
            int rc = hv_container_decoder_feed(d, piece, n, &used, &ev);

            assert_true(used <= n);
            at += used;
            if (rc < 0) {
                assert_int_equal(used, 0);
                o->rc = rc;
                o->failed_at = at;
                snprintf(o->error, sizeof(o->error), "%s", hv_container_decoder_error(d));
                assert_string_equal(o->error, hv_error_message(hv_error_last()));
                /* it stays failed */
                assert_int_equal(hv_container_decoder_feed(d, piece, n, &used, &ev), rc);
                assert_int_equal(used, 0);
                assert_int_equal(hv_container_decoder_finish(d), rc);
                hv_container_decoder_free(d);
                return;
            }
            if (rc == 0)
                assert_int_equal(used, n);
            else
                note(o, &ev);
            piece += used;
            n -= used;
        }
    }
    o->rc = hv_container_decoder_finish(d);
    o->failed_at = at;
    if (o->rc < 0)
        snprintf(o->error, sizeof(o->error), "%s", hv_container_decoder_error(d));
    hv_container_decoder_free(d);
}

/* ---- RUN ---------------------------------------------------------------- */

/* A RUN record read back as the guest reads it: its strings joined by '|'. */
static void read_run(const uint8_t *record, size_t record_bytes, char *out, size_t out_size)
{
    const uint8_t *at = record + 8, *end = record + record_bytes;
    uint32_t count;
    size_t used = 0;

    assert_int_equal(record[0], HV_CONTAINER_REC_RUN);
    assert_int_equal(record[1] | record[2] | record[3], 0);
    assert_int_equal(hv_container_proto_get_u32(record + 4), record_bytes - 8);
    assert_int_equal(hv_container_proto_get_u32(at), HV_CONTAINER_PROTO_VERSION);
    at += 4;
    out[0] = '\0';
    for (int list = 0; list < 4; list++) {
        count = list < 2 ? hv_container_proto_get_u32(at) : 1;
        if (list < 2)
            at += 4;
        used += (size_t)snprintf(out + used, out_size - used, "%u:", count);
        for (uint32_t i = 0; i < count; i++) {
            const uint8_t *nul = memchr(at, '\0', (size_t)(end - at));

            assert_non_null(nul);
            used += (size_t)snprintf(out + used, out_size - used, "%s|", (const char *)at);
            at = nul + 1;
        }
    }
    assert_ptr_equal(at, end);
}

static void test_run_round_trip(void **state)
{
    const char *argv[] = {"/bin/echo", "hello world", ""};
    const char *env[] = {"PATH=/usr/bin:/bin", "EMPTY=", "A==b"};
    hv_container_command cmd = {argv, 3, env, 3, "/srv/app", "1000:100"};
    uint8_t *record;
    size_t bytes;
    char text[512];

    (void)state;
    assert_hv_ok(hv_container_run_encode(&cmd, &record, &bytes));
    read_run(record, bytes, text, sizeof(text));
    assert_string_equal(text, "3:/bin/echo|hello world||3:PATH=/usr/bin:/bin|EMPTY=|A==b|1:/srv/"
                              "app|1:1000:100|");
    free(record);

    /* defaults: no environment, "/" and root */
    cmd = (hv_container_command){argv, 1, NULL, 0, NULL, NULL};
    assert_hv_ok(hv_container_run_encode(&cmd, &record, &bytes));
    read_run(record, bytes, text, sizeof(text));
    assert_string_equal(text, "1:/bin/echo|0:1:/|1:0|");
    free(record);

    /* names */
    cmd.user = "www-data:adm";
    assert_hv_ok(hv_container_run_encode(&cmd, &record, &bytes));
    read_run(record, bytes, text, sizeof(text));
    assert_string_equal(text, "1:/bin/echo|0:1:/|1:www-data:adm|");
    free(record);
}

/* Encoding `cmd` fails with `code`, the message naming `text`; *record stays NULL. */
static void run_refused(const hv_container_command *cmd, int code, const char *text)
{
    uint8_t *record = (uint8_t *)"x";
    size_t bytes = 0;

    assert_hv_error(hv_container_run_encode(cmd, &record, &bytes), code);
    assert_null(record);
    assert_error_mentions(text);
}

static void test_run_refused(void **state)
{
    const char *argv[] = {"sh", NULL};
    const char *empty[] = {""};
    const char *bad_env[] = {"NOEQUALS"}, *no_name[] = {"=value"}, *null_env[] = {NULL};
    hv_container_command cmd = {argv, 1, NULL, 0, NULL, NULL};
    static const struct {
        const char *user, *text;
    } users[] = {
        {"", "empty user"},
        {":", "empty user"},
        {"a:", "empty group"},
        {":5", "empty user"},
        {"a:b:c", "more than one ':'"},
        {"a\nb", "newline"},
        {"4294967295", "above 4294967294"},
        {"0:99999999999", "above 4294967294"},
    };
    char long_cwd[HV_CONTAINER_PROTO_MAX_CWD_BYTES + 2], long_user[300];

    (void)state;
    cmd.argc = 0;
    run_refused(&cmd, HV_E_INVAL, "no argv");
    cmd.argc = 2;
    run_refused(&cmd, HV_E_INVAL, "argv[1] is NULL");
    cmd = (hv_container_command){empty, 1, NULL, 0, NULL, NULL};
    run_refused(&cmd, HV_E_INVAL, "argv[0] is empty");
    cmd = (hv_container_command){argv, 1, bad_env, 1, NULL, NULL};
    run_refused(&cmd, HV_E_INVAL, "'NOEQUALS' is not \"NAME=value\"");
    cmd.env = no_name;
    run_refused(&cmd, HV_E_INVAL, "is not \"NAME=value\"");
    cmd.env = null_env;
    run_refused(&cmd, HV_E_INVAL, "env[0] is NULL");
    cmd.env = NULL;
    run_refused(&cmd, HV_E_INVAL, "env is NULL");
    cmd = (hv_container_command){argv, 1, NULL, 0, "relative/dir", NULL};
    run_refused(&cmd, HV_E_INVAL, "not an absolute path");
    memset(long_cwd, 'a', sizeof(long_cwd) - 1);
    long_cwd[0] = '/';
    long_cwd[sizeof(long_cwd) - 1] = '\0';
    cmd.cwd = long_cwd;
    run_refused(&cmd, HV_E_INVAL, "at most 4095 bytes");
    cmd.cwd = NULL;
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        cmd.user = users[i].user;
        run_refused(&cmd, HV_E_INVAL, users[i].text);
    }
    memset(long_user, 'u', sizeof(long_user) - 1);
    long_user[sizeof(long_user) - 1] = '\0';
    cmd.user = long_user;
    run_refused(&cmd, HV_E_INVAL, "at most 255 are allowed");
    run_refused(NULL, HV_E_INVAL, "command");
}

static void test_run_too_large(void **state)
{
    static char big[HV_CONTAINER_PROTO_MAX_PAYLOAD];
    const char *argv[] = {"sh", big};
    hv_container_command cmd = {argv, 2, NULL, 0, NULL, NULL};
    uint8_t *record;
    size_t bytes;
    /* version, argc, "sh\0", envc, "/\0", "0\0": the rest is argv[1] with its NUL */
    size_t fixed = 4 + 4 + 3 + 4 + 2 + 2;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[HV_CONTAINER_PROTO_MAX_PAYLOAD - fixed - 1] = '\0';
    assert_hv_ok(hv_container_run_encode(&cmd, &record, &bytes));
    assert_int_equal(bytes, 8 + HV_CONTAINER_PROTO_MAX_PAYLOAD);
    free(record);
    big[HV_CONTAINER_PROTO_MAX_PAYLOAD - fixed - 1] = 'x';
    big[HV_CONTAINER_PROTO_MAX_PAYLOAD - fixed] = '\0';
    run_refused(&cmd, HV_E_RANGE,
                "argv takes 65521 bytes, the environment 0, the rest 16, and protocol version 1 "
                "carries 65536 in all");
    big[HV_CONTAINER_PROTO_MAX_PAYLOAD - fixed] = 'x';
    big[sizeof(big) - 1] = '\0';
    run_refused(&cmd, HV_E_RANGE, "does not fit one RUN record");
}

/* ---- the decoder -------------------------------------------------------- */

/* HELLO, output on both streams (one OUT empty, one of 64 KiB), EXIT 7. */
static void good_stream(stream *s)
{
    static uint8_t big[HV_CONTAINER_PROTO_MAX_PAYLOAD];

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + i / 256);
    s->length = 0;
    add_u32_record(s, HV_CONTAINER_REC_HELLO, 1);
    add_record(s, HV_CONTAINER_REC_OUT, "hello ", 6);
    add_record(s, HV_CONTAINER_REC_ERR, "oops\n", 5);
    add_record(s, HV_CONTAINER_REC_OUT, NULL, 0);
    add_record(s, HV_CONTAINER_REC_OUT, big, sizeof(big));
    add_record(s, HV_CONTAINER_REC_ERR, "again", 5);
    add_u32_record(s, HV_CONTAINER_REC_EXIT, 7);
}

static void check_good(const outcome *o)
{
    assert_hv_ok(o->rc);
    assert_string_equal(o->log, "HELLO 1|OUT 6|ERR 5|OUT 0|OUT 65536|ERR 5|EXIT 7/0|");
    assert_int_equal(o->out_bytes, 6 + HV_CONTAINER_PROTO_MAX_PAYLOAD);
    assert_memory_equal(o->out, "hello ", 6);
    for (size_t i = 0; i < HV_CONTAINER_PROTO_MAX_PAYLOAD; i++)
        if (o->out[6 + i] != (uint8_t)(i * 7 + i / 256))
            fail_msg("OUT byte %zu differs", i);
    assert_int_equal(o->err_bytes, 10);
    assert_memory_equal(o->err, "oops\nagain", 10);
}

static void test_decode_whole_and_chunked(void **state)
{
    static stream s;
    static outcome o;
    static const size_t chunks[] = {0, 1, 2, 3, 7, 8, 9, 13, 4096, 65543, 65544, 65545};

    (void)state;
    good_stream(&s);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        decode(s.bytes, s.length, chunks[i], &o);
        check_good(&o);
        assert_int_equal(o.failed_at, s.length);
    }
}

static void test_decode_random_chunks(void **state)
{
    static stream s;
    static outcome o;
    hv_container_decoder *d;
    unsigned int seed = 12345;

    (void)state;
    good_stream(&s);
    for (int round = 0; round < 20; round++) {
        size_t at = 0;

        memset(&o, 0, sizeof(o));
        assert_hv_ok(hv_container_decoder_new(&d));
        while (at < s.length) {
            size_t n = (size_t)(rand_r(&seed) % 3000) + 1;

            if (n > s.length - at)
                n = s.length - at;
            while (n > 0) {
                hv_container_event ev;
                size_t used;
                int rc = hv_container_decoder_feed(d, s.bytes + at, n, &used, &ev);

                assert_true(rc >= 0);
                if (rc == 1)
                    note(&o, &ev);
                at += used;
                n -= used;
            }
        }
        assert_true(hv_container_decoder_done(d));
        assert_hv_ok(hv_container_decoder_finish(d));
        assert_null(hv_container_decoder_error(d));
        hv_container_decoder_free(d);
        check_good(&o);
    }
}

static void test_decode_exit_and_fail(void **state)
{
    static stream s;
    static outcome o;

    (void)state;
    /* killed by SIGKILL: 128 + 9 */
    s.length = 0;
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
    add_u32_record(&s, HV_CONTAINER_REC_EXIT, HV_CONTAINER_EXIT_SIGNALED | 9);
    decode(s.bytes, s.length, 1, &o);
    assert_hv_ok(o.rc);
    assert_string_equal(o.log, "HELLO 1|EXIT 137/9|");

    /* exit codes 0 and 255 */
    for (uint32_t code = 0; code <= 255; code += 255) {
        char expected[64];

        s.length = 0;
        add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
        add_u32_record(&s, HV_CONTAINER_REC_EXIT, code);
        decode(s.bytes, s.length, 0, &o);
        assert_hv_ok(o.rc);
        snprintf(expected, sizeof(expected), "HELLO 1|EXIT %u/0|", code);
        assert_string_equal(o.log, expected);
    }

    /* the command was not found */
    s.length = 0;
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
    add_fail(&s, 127, ENOENT, "/bin/nope: no such file in the image", 36);
    decode(s.bytes, s.length, 3, &o);
    assert_hv_ok(o.rc);
    assert_string_equal(o.log, "HELLO 1|FAIL 127/2 /bin/nope: no such file in the image|");

    /* the init could not get ready: FAIL alone, UTF-8 in its message */
    s.length = 0;
    add_fail(&s, 125, 0, "/dev/vda did not appear \xc3\xa9", 26);
    decode(s.bytes, s.length, 0, &o);
    assert_hv_ok(o.rc);
    assert_string_equal(o.log, "FAIL 125/0 /dev/vda did not appear \xc3\xa9|");
}

/* A stream that breaks a rule: HV_E_GUEST (or `code`) mentioning `text`. */
static void broken(const stream *s, int code, const char *text)
{
    static outcome o;

    for (size_t chunk = 0; chunk <= 1; chunk++) {
        decode(s->bytes, s->length, chunk, &o);
        if (o.rc != code)
            fail_msg("expected %s, got %d: %s", hv_error_code_name(code), o.rc, o.error);
        if (!strstr(o.error, text))
            fail_msg("the error lacks \"%s\": %s", text, o.error);
    }
}

static void test_decode_broken(void **state)
{
    static stream s;
    uint8_t payload[16] = {0};

    (void)state;
    /* unknown types: 0, 6, and the host's RUN */
    for (unsigned int type = 0; type < 256; type++) {
        if (type >= HV_CONTAINER_REC_HELLO && type <= HV_CONTAINER_REC_FAIL)
            continue;
        s.length = 0;
        add_u32_record(&s, type, 1);
        broken(&s, HV_E_GUEST, "is not one a guest sends");
    }
    /* reserved bytes */
    for (int i = 1; i <= 3; i++) {
        s.length = 0;
        add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
        s.bytes[i] = 0x01;
        broken(&s, HV_E_GUEST, "reserved bytes");
    }
    /* too long: refused on the header, nothing more is read */
    s.length = 0;
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
    add_record(&s, HV_CONTAINER_REC_OUT, NULL, 0);
    hv_container_proto_put_u32(s.bytes + s.length - 4, HV_CONTAINER_PROTO_MAX_PAYLOAD + 1);
    broken(&s, HV_E_GUEST, "length 65537 passes the limit of 65536 bytes");
    hv_container_proto_put_u32(s.bytes + s.length - 4, UINT32_MAX);
    broken(&s, HV_E_GUEST, "length 4294967295");
    /* HELLO: a second one, another version, another size */
    s.length = 0;
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
    broken(&s, HV_E_GUEST, "HELLO came a second time");
    s.length = 0;
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 2);
    broken(&s, HV_E_UNSUPPORTED, "protocol version 2, this library version 1");
    s.length = 0;
    add_record(&s, HV_CONTAINER_REC_HELLO, payload, 5);
    hv_container_proto_put_u32(s.bytes + 8, 1);
    broken(&s, HV_E_GUEST, "a version 1 HELLO has a payload of 4 bytes");
    s.length = 0;
    add_record(&s, HV_CONTAINER_REC_HELLO, payload, 3);
    broken(&s, HV_E_GUEST, "shorter than the 4 bytes");
    /* before HELLO */
    for (unsigned int type = HV_CONTAINER_REC_OUT; type <= HV_CONTAINER_REC_EXIT; type++) {
        s.length = 0;
        add_u32_record(&s, type, 0);
        broken(&s, HV_E_GUEST, "came before HELLO");
    }
    /* EXIT: its size, its bits, its signal */
    for (size_t size = 0; size <= 8; size++) {
        if (size == 4)
            continue;
        s.length = 0;
        add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
        add_record(&s, HV_CONTAINER_REC_EXIT, payload, size);
        broken(&s, HV_E_GUEST, "not the 4 of the status");
    }
    static const struct {
        uint32_t status;
        const char *text;
    } exits[] = {
        {0x200, "bits set above bit 8"},
        {0x80000000u, "bits set above bit 8"},
        {HV_CONTAINER_EXIT_SIGNALED, "signal number 0 is not 1-127"},
        {HV_CONTAINER_EXIT_SIGNALED | 128, "signal number 128"},
    };
    for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++) {
        s.length = 0;
        add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
        add_u32_record(&s, HV_CONTAINER_REC_EXIT, exits[i].status);
        broken(&s, HV_E_GUEST, exits[i].text);
    }
    /* FAIL: status, errno, message */
    static const struct {
        uint32_t status, error_number;
        const char *message;
        size_t bytes;
        const char *text;
    } fails[] = {
        {124, 0, "x", 1, "status 124 is not 125, 126 or 127"},
        {128, 0, "x", 1, "status 128"},
        {127, 4096, "x", 1, "errno 4096 is not below 4096"},
        {127, 2, "a\0b", 3, "holds a NUL"},
        {127, 2, "bad \xff byte", 10, "not UTF-8"},
        {127, 2, "cut \xc3", 5, "not UTF-8"},
        {127, 2, "", 0, "less than a status, an errno and a message"},
    };
    for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        s.length = 0;
        add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
        add_fail(&s, fails[i].status, fails[i].error_number, fails[i].message, fails[i].bytes);
        broken(&s, HV_E_GUEST, fails[i].text);
    }
    /* anything after EXIT or FAIL, even one byte */
    s.length = 0;
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
    add_u32_record(&s, HV_CONTAINER_REC_EXIT, 0);
    add_record(&s, HV_CONTAINER_REC_OUT, "late", 4);
    broken(&s, HV_E_GUEST, "bytes came after its last record, at byte 24");
    s.length = 0;
    add_fail(&s, 125, 0, "no disk", 7);
    s.bytes[s.length++] = 0;
    broken(&s, HV_E_GUEST, "bytes came after its last record, at byte 23");
}

/* The record's offset in the stream is named, and the decoder stops right there. */
static void test_decode_broken_offset(void **state)
{
    static stream s;
    static outcome o;

    (void)state;
    s.length = 0;
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
    add_record(&s, HV_CONTAINER_REC_OUT, "abc", 3);
    add_u32_record(&s, 9, 0);
    add_record(&s, HV_CONTAINER_REC_OUT, "never", 5);
    decode(s.bytes, s.length, 0, &o);
    assert_int_equal(o.rc, HV_E_GUEST);
    assert_string_equal(o.log, "HELLO 1|OUT 3|");
    assert_non_null(strstr(o.error, "the unknown record at byte 23 of its channel"));
    assert_int_equal(o.failed_at, 23); /* a failing call says it took nothing */
}

static void test_decode_finish(void **state)
{
    static stream s;
    static outcome o;

    (void)state;
    decode(s.bytes, 0, 0, &o);
    assert_int_equal(o.rc, HV_E_GUEST);
    assert_non_null(strstr(o.error, "before its init said HELLO"));

    s.length = 0;
    add_u32_record(&s, HV_CONTAINER_REC_HELLO, 1);
    add_record(&s, HV_CONTAINER_REC_OUT, "abc", 3);
    decode(s.bytes, s.length, 0, &o);
    assert_int_equal(o.rc, HV_E_GUEST);
    assert_non_null(strstr(o.error, "ended without an EXIT record"));

    add_u32_record(&s, HV_CONTAINER_REC_EXIT, 0);
    decode(s.bytes, s.length - 1, 0, &o);
    assert_int_equal(o.rc, HV_E_GUEST);
    assert_non_null(strstr(o.error, "ended inside a record, at byte 23 (8 bytes of its header and "
                                    "3 of its payload came)"));
    decode(s.bytes, s.length - 6, 0, &o);
    assert_non_null(strstr(o.error, "(6 bytes of its header and 0 of its payload came)"));
}

static void test_decoder_args(void **state)
{
    hv_container_decoder *d;
    hv_container_event ev;
    size_t used;

    (void)state;
    assert_hv_error(hv_container_decoder_new(NULL), HV_E_INVAL);
    assert_hv_ok(hv_container_decoder_new(&d));
    assert_hv_error(hv_container_decoder_feed(NULL, "x", 1, &used, &ev), HV_E_INVAL);
    assert_hv_error(hv_container_decoder_feed(d, NULL, 1, &used, &ev), HV_E_INVAL);
    assert_hv_error(hv_container_decoder_feed(d, "x", 1, NULL, &ev), HV_E_INVAL);
    assert_hv_error(hv_container_decoder_feed(d, "x", 1, &used, NULL), HV_E_INVAL);
    assert_int_equal(hv_container_decoder_feed(d, NULL, 0, &used, &ev), 0);
    assert_int_equal(used, 0);
    assert_false(hv_container_decoder_done(d));
    assert_null(hv_container_decoder_error(d));
    assert_hv_error(hv_container_decoder_finish(NULL), HV_E_INVAL);
    hv_container_decoder_free(d);
    hv_container_decoder_free(NULL);
    assert_string_equal(hv_container_record_name(HV_CONTAINER_REC_RUN), "RUN");
    assert_string_equal(hv_container_record_name(77), "unknown");
}

/* ---- hpcvirt-container-init --serve ------------------------------------- */

/* A running init: its pid, where RUN goes, where its records come from. */
typedef struct served {
    pid_t pid;
    int to_init;
    int from_init;
} served;

/* The built init, or NULL (the test is skipped: not an x86-64 build). */
static const char *init_program(void)
{
    const char *path = getenv("HV_TEST_CONTAINER_INIT");

    return path && access(path, X_OK) == 0 ? path : NULL;
}

static void serve_start(served *srv)
{
    const char *program = init_program();
    int run_pair[2], record_pair[2];

    assert_non_null(program);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, run_pair), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, record_pair), 0);
    srv->pid = fork();
    assert_true(srv->pid >= 0);
    if (srv->pid == 0) {
        char in_fd[16], out_fd[16];
        /* the init's ends, without close-on-exec */
        int in = dup(run_pair[1]), out = dup(record_pair[1]);

        snprintf(in_fd, sizeof(in_fd), "%d", in);
        snprintf(out_fd, sizeof(out_fd), "%d", out);
        execl(program, program, "--serve", in_fd, out_fd, (char *)NULL);
        _exit(99);
    }
    close(run_pair[1]);
    close(record_pair[1]);
    srv->to_init = run_pair[0];
    srv->from_init = record_pair[0];
}

/* What an init said: its records decoded, and how the process ended. */
typedef struct served_result {
    outcome o;
    int exit_code; /* the init's own exit status */
} served_result;

/*
 * Read the init's records into *res (in chunks of up to `chunk` bytes) until
 * the end, sending the `run_bytes` of `run` after HELLO.
 */
static void serve_read(served *srv, size_t chunk, served_result *res, const uint8_t *run,
                       size_t run_bytes)
{
    hv_container_decoder *d;
    uint8_t buf[70000];
    int status;

    memset(&res->o, 0, sizeof(res->o));
    assert_hv_ok(hv_container_decoder_new(&d));
    for (;;) {
        struct pollfd p = {srv->from_init, POLLIN, 0};
        ssize_t n;

        if (poll(&p, 1, 30000) != 1)
            fail_msg("the init said nothing for 30 s");
        n = read(srv->from_init, buf, chunk < sizeof(buf) ? chunk : sizeof(buf));
        assert_true(n >= 0);
        if (n == 0)
            break;
        for (size_t at = 0; at < (size_t)n;) {
            hv_container_event ev;
            size_t used;
            int rc = hv_container_decoder_feed(d, buf + at, (size_t)n - at, &used, &ev);

            if (rc < 0)
                fail_msg("the init broke the protocol: %s", hv_container_decoder_error(d));
            at += used;
            if (rc == 1) {
                note(&res->o, &ev);
                if (ev.type == HV_CONTAINER_REC_HELLO) {
                    /* RUN (if any), and nothing more: the init reads nothing after it */
                    if (run_bytes)
                        assert_int_equal(write(srv->to_init, run, run_bytes), (ssize_t)run_bytes);
                    close(srv->to_init);
                    srv->to_init = -1;
                }
            }
        }
    }
    res->o.rc = hv_container_decoder_finish(d);
    if (res->o.rc < 0)
        snprintf(res->o.error, sizeof(res->o.error), "%s", hv_container_decoder_error(d));
    hv_container_decoder_free(d);
    if (srv->to_init >= 0)
        close(srv->to_init);
    close(srv->from_init);
    assert_int_equal(waitpid(srv->pid, &status, 0), srv->pid);
    assert_true(WIFEXITED(status));
    res->exit_code = WEXITSTATUS(status);
}

/* Run `cmd` in a served init and read what it says. */
static void serve(const hv_container_command *cmd, size_t chunk, served_result *res)
{
    served srv;
    uint8_t *run;
    size_t run_bytes;

    assert_hv_ok(hv_container_run_encode(cmd, &run, &run_bytes));
    serve_start(&srv);
    serve_read(&srv, chunk, res, run, run_bytes);
    free(run);
}

/* The caller's uid:gid: the user the served command runs as. */
static const char *own_user(void)
{
    static char user[32];

    snprintf(user, sizeof(user), "%u:%u", (unsigned int)getuid(), (unsigned int)getgid());
    return user;
}

#define SKIP_WITHOUT_INIT()                                                                        \
    do {                                                                                           \
        if (!init_program())                                                                       \
            skip(); /* HV_TEST_CONTAINER_INIT: built on x86-64 only */                             \
    } while (0)

static void test_serve_output(void **state)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "echo out1; echo err1 >&2; printf out2; echo err2 >&2; exit 7"};
    const char *env[] = {"PATH=/usr/bin:/bin"};
    hv_container_command cmd = {argv, 3, env, 1, "/", own_user()};
    static served_result res;

    (void)state;
    SKIP_WITHOUT_INIT();
    serve(&cmd, 4096, &res);
    assert_hv_ok(res.o.rc);
    assert_int_equal(res.exit_code, 7);
    assert_int_equal(res.o.out_bytes, 9);
    assert_memory_equal(res.o.out, "out1\nout2", 9);
    assert_int_equal(res.o.err_bytes, 10);
    assert_memory_equal(res.o.err, "err1\nerr2\n", 10);
    assert_non_null(strstr(res.o.log, "EXIT 7/0|"));
    assert_true(strncmp(res.o.log, "HELLO 1|", 8) == 0);

    /* read one byte at a time: the same */
    serve(&cmd, 1, &res);
    assert_hv_ok(res.o.rc);
    assert_int_equal(res.exit_code, 7);
    assert_memory_equal(res.o.out, "out1\nout2", 9);
    assert_memory_equal(res.o.err, "err1\nerr2\n", 10);
}

static void test_serve_signal(void **state)
{
    const char *argv[] = {"sh", "-c", "kill -TERM $$"};
    hv_container_command cmd = {argv, 3, NULL, 0, "/", own_user()};
    static served_result res;

    (void)state;
    SKIP_WITHOUT_INIT();
    serve(&cmd, 4096, &res);
    assert_hv_ok(res.o.rc);
    assert_string_equal(res.o.log, "HELLO 1|EXIT 143/15|");
    assert_int_equal(res.exit_code, 128 + SIGTERM);
}

/* The command could not start: FAIL with `status`, the message mentioning `text`. */
static void serve_fails(const hv_container_command *cmd, int status, int error_number,
                        const char *text)
{
    static served_result res;
    char expected[64];

    serve(cmd, 4096, &res);
    assert_hv_ok(res.o.rc);
    assert_int_equal(res.exit_code, status);
    snprintf(expected, sizeof(expected), "HELLO 1|FAIL %d/%d ", status, error_number);
    if (strncmp(res.o.log, expected, strlen(expected)) != 0 || !strstr(res.o.log, text))
        fail_msg("expected %s...%s, got %s", expected, text, res.o.log);
    assert_int_equal(res.o.out_bytes + res.o.err_bytes, 0);
}

static void test_serve_not_found(void **state)
{
    const char *missing[] = {"/nonexistent/nope"};
    const char *unknown[] = {"hpcvirt-no-such-command", "arg"};
    const char *env[] = {"PATH=/nonexistent:/usr/bin:/bin"};
    hv_container_command cmd = {missing, 1, NULL, 0, "/", own_user()};

    (void)state;
    SKIP_WITHOUT_INIT();
    serve_fails(&cmd, 127, ENOENT, "/nonexistent/nope: no such file in the image");
    cmd = (hv_container_command){unknown, 2, env, 1, "/", own_user()};
    serve_fails(&cmd, 127, ENOENT,
                "hpcvirt-no-such-command: not found on PATH (/nonexistent:/usr/bin:/bin)");
}

static void test_serve_not_executable(void **state)
{
    char dir[] = "/tmp/hv-test-init-XXXXXX", path[64], script[64];
    const char *argv[] = {path};
    const char *search[] = {"plain"};
    const char *env[] = {NULL};
    hv_container_command cmd = {argv, 1, NULL, 0, "/", own_user()};
    char path_env[80];
    FILE *f;

    (void)state;
    SKIP_WITHOUT_INIT();
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/plain", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("echo not a program\n", f);
    fclose(f);
    serve_fails(&cmd, 126, EACCES, "plain: permission denied");

    /* found on PATH, not executable */
    snprintf(path_env, sizeof(path_env), "PATH=%s", dir);
    env[0] = path_env;
    cmd = (hv_container_command){search, 1, env, 1, "/", own_user()};
    serve_fails(&cmd, 126, EACCES, "plain: found on PATH");

    /* executable, but no #! line and not ELF: not given to /bin/sh */
    snprintf(script, sizeof(script), "%s/noshebang", dir);
    assert_int_equal(rename(path, script), 0);
    assert_int_equal(chmod(script, 0755), 0);
    argv[0] = script;
    cmd = (hv_container_command){argv, 1, NULL, 0, "/", own_user()};
    serve_fails(&cmd, 126, ENOEXEC, "noshebang: not a program the kernel can run");

    /* a #! line whose interpreter is missing */
    f = fopen(script, "w");
    assert_non_null(f);
    fputs("#!/nonexistent/interpreter\n", f);
    fclose(f);
    serve_fails(&cmd, 127, ENOENT, "noshebang: its interpreter");
    unlink(script);

    /* a folder */
    argv[0] = dir;
    serve_fails(&cmd, 126, EACCES, "permission denied");
    rmdir(dir);
}

static void test_serve_setup_fails(void **state)
{
    const char *argv[] = {"true"};
    hv_container_command cmd = {argv, 1, NULL, 0, "/nonexistent-hpcvirt-dir", own_user()};

    (void)state;
    SKIP_WITHOUT_INIT();
    serve_fails(&cmd, 125, ENOENT, "cannot change to the working folder /nonexistent-hpcvirt-dir");
    cmd.cwd = "/";
    cmd.user = "hpcvirt-no-such-user";
    serve_fails(&cmd, 125, ENOENT, "user hpcvirt-no-such-user: no such user");
}

static void test_serve_env_and_cwd(void **state)
{
    const char *env_argv[] = {"env"};
    const char *pwd_argv[] = {"pwd"}; /* from the default PATH: none in the environment */
    const char *env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", "EMPTY="};
    hv_container_command cmd = {env_argv, 1, env, 3, "/", own_user()};
    static served_result res;
    char dir[] = "/tmp/hv-test-init-XXXXXX", *real;
    const char *expected = "FOO=bar baz\nPATH=/usr/bin:/bin\nEMPTY=\n";

    (void)state;
    SKIP_WITHOUT_INIT();
    serve(&cmd, 4096, &res);
    assert_hv_ok(res.o.rc);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(res.o.out_bytes, strlen(expected));
    assert_memory_equal(res.o.out, expected, strlen(expected));

    assert_non_null(mkdtemp(dir));
    real = realpath(dir, NULL);
    assert_non_null(real);
    cmd = (hv_container_command){pwd_argv, 1, NULL, 0, dir, own_user()};
    serve(&cmd, 4096, &res);
    assert_hv_ok(res.o.rc);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(res.o.out_bytes, strlen(real) + 1);
    assert_memory_equal(res.o.out, real, strlen(real));
    free(real);
    rmdir(dir);
}

/* stdin is /dev/null; what the command leaves running is killed when it ends. */
static void test_serve_stdin_and_leftovers(void **state)
{
    const char *cat_argv[] = {"cat"};
    const char *bg_argv[] = {"sh", "-c", "sleep 60 & echo started"};
    hv_container_command cmd = {cat_argv, 1, NULL, 0, "/", own_user()};
    static served_result res;
    struct timespec start, end;

    (void)state;
    SKIP_WITHOUT_INIT();
    serve(&cmd, 4096, &res);
    assert_hv_ok(res.o.rc);
    assert_string_equal(res.o.log, "HELLO 1|EXIT 0/0|");

    cmd = (hv_container_command){bg_argv, 3, NULL, 0, "/", own_user()};
    clock_gettime(CLOCK_MONOTONIC, &start);
    serve(&cmd, 4096, &res);
    clock_gettime(CLOCK_MONOTONIC, &end);
    assert_hv_ok(res.o.rc);
    assert_string_equal(res.o.log, "HELLO 1|OUT 8|EXIT 0/0|");
    assert_true(end.tv_sec - start.tv_sec < 30); /* not the 60 s of the sleep */
}

static void test_serve_large_output(void **state)
{
    char path[] = "/tmp/hv-test-init-XXXXXX";
    const char *argv[] = {"cat", path};
    hv_container_command cmd = {argv, 2, NULL, 0, "/", own_user()};
    static served_result res;
    static uint8_t data[1 << 20];
    int fd;

    (void)state;
    SKIP_WITHOUT_INIT();
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)((i * 2654435761u) >> 13);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
    close(fd);
    serve(&cmd, 65536 + 1000, &res);
    unlink(path);
    assert_hv_ok(res.o.rc);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(res.o.out_bytes, sizeof(data));
    assert_memory_equal(res.o.out, data, sizeof(data));
    assert_non_null(strstr(res.o.log, "|EXIT 0/0|"));
}

/* A RUN the init cannot read: FAIL 125 and the end. */
static void test_serve_bad_run(void **state)
{
    const char *argv[] = {"true"};
    hv_container_command cmd = {argv, 1, NULL, 0, "/", own_user()};
    static served_result res;
    served srv;
    uint8_t *run;
    size_t run_bytes;

    (void)state;
    SKIP_WITHOUT_INIT();
    assert_hv_ok(hv_container_run_encode(&cmd, &run, &run_bytes));
    hv_container_proto_put_u32(run + 8, 2); /* another version */
    serve_start(&srv);
    serve_read(&srv, 4096, &res, run, run_bytes);
    assert_int_equal(res.exit_code, 125);
    assert_non_null(strstr(res.o.log, "HELLO 1|FAIL 125/71 the host speaks protocol version 2"));

    hv_container_proto_put_u32(run + 8, 1);
    run[run_bytes - 1] = 'x'; /* the user's NUL */
    serve_start(&srv);
    serve_read(&srv, 4096, &res, run, run_bytes);
    assert_int_equal(res.exit_code, 125);
    assert_non_null(strstr(res.o.log, "HELLO 1|FAIL 125/22 the RUN record has no user"));

    run[0] = HV_CONTAINER_REC_HELLO; /* not RUN */
    serve_start(&srv);
    serve_read(&srv, 4096, &res, run, run_bytes);
    assert_int_equal(res.exit_code, 125);
    assert_non_null(strstr(res.o.log, "HELLO 1|FAIL 125/22 the host sent a record of type 1"));

    /* the host goes away before RUN */
    serve_start(&srv);
    serve_read(&srv, 4096, &res, run, 0);
    assert_int_equal(res.exit_code, 125);
    free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_round_trip),
        cmocka_unit_test(test_run_refused),
        cmocka_unit_test(test_run_too_large),
        cmocka_unit_test(test_decode_whole_and_chunked),
        cmocka_unit_test(test_decode_random_chunks),
        cmocka_unit_test(test_decode_exit_and_fail),
        cmocka_unit_test(test_decode_broken),
        cmocka_unit_test(test_decode_broken_offset),
        cmocka_unit_test(test_decode_finish),
        cmocka_unit_test(test_decoder_args),
        cmocka_unit_test(test_serve_output),
        cmocka_unit_test(test_serve_signal),
        cmocka_unit_test(test_serve_not_found),
        cmocka_unit_test(test_serve_not_executable),
        cmocka_unit_test(test_serve_setup_fails),
        cmocka_unit_test(test_serve_env_and_cwd),
        cmocka_unit_test(test_serve_stdin_and_leftovers),
        cmocka_unit_test(test_serve_large_output),
        cmocka_unit_test(test_serve_bad_run),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

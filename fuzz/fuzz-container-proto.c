/*
 * fuzz/fuzz-container-proto.c - libFuzzer target for the decoder of what a
 * container guest sends its host (hv_container_decoder_feed() in
 * lib/container/guest-protocol.h; docs/container-guest.md): the guest is
 * untrusted, and the engine's channel callback hands its bytes over in
 * chunks of any size. Byte 0 of the input seeds the chunk sizes (1 to 16
 * bytes, up to 4 KiB, or up to 70000); the rest is the stream. It is
 * decoded twice, in those chunks and all at once, and both must say the
 * same: the same records with the same contents, and the same error.
 *
 * Invariants: nothing outside the input or the decoder is read (ASan), a
 * call takes no more than it is given and all of it when it completes no
 * record, a record is one the guest may send where it came (HELLO or FAIL
 * first, HELLO once, nothing after EXIT or FAIL) with the values the
 * protocol allows, a failed decoder stays failed with the same code and
 * message and takes nothing more, and finish() succeeds exactly when the
 * stream ended with EXIT or FAIL.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>

#include "container/guest-protocol.h"
#include "core/text.h"

/* What a decoder made of a stream. */
typedef struct trace {
    uint64_t hash; /* FNV-1a over every record's fields and bytes */
    size_t records;
    bool hello, ended;
    int rc; /* 0, or the error the decoder failed with */
    char error[600];
} trace;

static void mix(trace *t, const void *data, size_t bytes)
{
    const uint8_t *p = data;

    for (size_t i = 0; i < bytes; i++)
        t->hash = (t->hash ^ p[i]) * 0x100000001b3ull;
}

/* A record the decoder gave: check it against the protocol and the order, and add it. */
static void record(trace *t, const hv_container_event *ev)
{
    int fields[5] = {(int)ev->type, (int)ev->version, ev->exit_status, ev->signal,
                     ev->error_number};

    CHECK(!t->ended);
    CHECK(ev->data_bytes <= HV_CONTAINER_PROTO_MAX_PAYLOAD);
    CHECK(ev->data_bytes == 0 || ev->data);
    switch (ev->type) {
    case HV_CONTAINER_REC_HELLO:
        CHECK(!t->hello && t->records == 0 && ev->version == HV_CONTAINER_PROTO_VERSION);
        t->hello = true;
        break;
    case HV_CONTAINER_REC_OUT:
    case HV_CONTAINER_REC_ERR:
        CHECK(t->hello);
        break;
    case HV_CONTAINER_REC_EXIT:
        CHECK(t->hello && ev->exit_status >= 0 && ev->exit_status <= 255);
        CHECK(ev->signal == 0 || (ev->signal <= 127 && ev->exit_status == 128 + ev->signal));
        t->ended = true;
        break;
    case HV_CONTAINER_REC_FAIL:
        CHECK(ev->exit_status >= HV_CONTAINER_STATUS_SETUP &&
              ev->exit_status <= HV_CONTAINER_STATUS_NOT_FOUND);
        CHECK(ev->error_number >= 0 && ev->error_number < 4096 && ev->data_bytes >= 1);
        CHECK(!memchr(ev->data, '\0', ev->data_bytes));
        CHECK(hv_utf8_valid((const char *)ev->data, ev->data_bytes));
        t->ended = true;
        break;
    default:
        CHECK(0);
    }
    mix(t, fields, sizeof(fields));
    mix(t, &ev->data_bytes, sizeof(ev->data_bytes));
    if (ev->data_bytes)
        mix(t, ev->data, ev->data_bytes);
    t->records++;
}

/* The next chunk size from the seeded generator (xorshift32). */
static size_t next_chunk(uint32_t *state)
{
    uint32_t x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    switch (x % 4) {
    case 0:
    case 1:
        return 1 + (x >> 8) % 16;
    case 2:
        return 1 + (x >> 8) % 4096;
    default:
        return 1 + (x >> 8) % 70000;
    }
}

/* Feed the stream in the generator's chunks (seed 0: all at once) into *t. */
static void decode(const uint8_t *stream, size_t length, uint32_t seed, trace *t)
{
    hv_container_decoder *d;
    size_t at = 0;

    memset(t, 0, sizeof(*t));
    t->hash = 0xcbf29ce484222325ull;
    if (hv_container_decoder_new(&d) < 0)
        abort(); /* out of memory: not an input's fault */
    while (at < length && t->rc == 0) {
        size_t n = seed ? next_chunk(&seed) : length;

        if (n > length - at)
            n = length - at;
        while (n > 0) {
            hv_container_event ev;
            size_t used = (size_t)-1;
            int rc = hv_container_decoder_feed(d, stream + at, n, &used, &ev);

            CHECK(used <= n);
            if (rc < 0) {
                const char *message = hv_container_decoder_error(d);

                CHECK(rc == HV_E_GUEST || rc == HV_E_UNSUPPORTED);
                CHECK(used == 0 && message && hv_error_code_of(hv_error_last()) == rc);
                CHECK(strcmp(message, hv_error_message(hv_error_last())) == 0);
                snprintf(t->error, sizeof(t->error), "%s", message);
                t->rc = rc;
                /* it stays failed, and takes nothing */
                CHECK(hv_container_decoder_feed(d, stream + at, n, &used, &ev) == rc);
                CHECK(used == 0 && !hv_container_decoder_done(d));
                CHECK(strcmp(hv_container_decoder_error(d), t->error) == 0);
                break;
            }
            CHECK(rc == 1 ? used >= 1 : used == n);
            if (rc == 1)
                record(t, &ev);
            at += used;
            n -= used;
        }
    }
    CHECK(hv_container_decoder_done(d) == (t->rc == 0 && t->ended));
    if (t->rc == 0) {
        int rc = hv_container_decoder_finish(d);

        CHECK(t->ended ? rc == 0 : rc == HV_E_GUEST);
        CHECK(t->ended == (hv_container_decoder_error(d) == NULL));
    } else {
        CHECK(hv_container_decoder_finish(d) == t->rc);
    }
    hv_container_decoder_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static trace chunked, whole;

    if (size == 0)
        return 0;
    decode(data + 1, size - 1, 0x9E3779B9u ^ data[0], &chunked);
    decode(data + 1, size - 1, 0, &whole);
    CHECK(chunked.hash == whole.hash && chunked.records == whole.records);
    CHECK(chunked.rc == whole.rc && strcmp(chunked.error, whole.error) == 0);
    return 0;
}

/*
 * container/guest-protocol.c - the host's side of the container guest's
 * protocol (docs/container-guest.md): the RUN record encoded from a
 * command, and the incremental decoder that checks each record the guest
 * sends before the caller sees it. Pure: no I/O, no globals.
 */
#include "container/guest-protocol.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- RUN ---------------------------------------------------------------- */

/* The bytes of RUN's payload other than the strings: version, argc, envc. */
#define RUN_FIXED_BYTES 12u

/* Whether `len` bytes at `text` are a decimal number a uid or gid can be (not (uid_t)-1). */
static bool is_id_number(const char *text, size_t len)
{
    uint64_t value = 0;

    if (len == 0 || len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (uint64_t)(text[i] - '0');
    }
    return value < UINT32_MAX;
}

/* One half of the user string ("uid" or "name", "gid" or "group"): 0 or HV_E_INVAL. */
static int check_user_part(const char *part, size_t len, const char *what, const char *user)
{
    char quoted[HV_QUOTE_SIZE];
    bool digits = len > 0 && strspn(part, "0123456789") >= len;

    if (len == 0)
        return hv_error_set(HV_E_INVAL, "user",
                            "the user '%s' has an empty %s: give \"uid[:gid]\" or \"name[:group]\"",
                            hv_quote(quoted, sizeof(quoted), user), what);
    if (digits && !is_id_number(part, len))
        return hv_error_set(HV_E_INVAL, "user",
                            "the user '%s' has a %s number above 4294967294: give a smaller one",
                            hv_quote(quoted, sizeof(quoted), user), what);
    return 0;
}

/* The user string: "uid[:gid]" or "name[:group]", no newline, one colon at most. */
static int check_user(const char *user)
{
    char quoted[HV_QUOTE_SIZE];
    size_t len = strlen(user);
    const char *colon = strchr(user, ':');

    if (len > HV_CONTAINER_PROTO_MAX_USER_BYTES)
        return hv_error_set(
            HV_E_INVAL, "user",
            "the user '%s' is %zu bytes long; at most %u are allowed: give a number",
            hv_quote(quoted, sizeof(quoted), user), len, HV_CONTAINER_PROTO_MAX_USER_BYTES);
    if (strchr(user, '\n'))
        return hv_error_set(HV_E_INVAL, "user",
                            "the user '%s' holds a newline, which no name in /etc/passwd can: "
                            "give \"uid[:gid]\" or \"name[:group]\"",
                            hv_quote(quoted, sizeof(quoted), user));
    if (colon && strchr(colon + 1, ':'))
        return hv_error_set(HV_E_INVAL, "user",
                            "the user '%s' has more than one ':': give \"uid[:gid]\" or "
                            "\"name[:group]\"",
                            hv_quote(quoted, sizeof(quoted), user));
    if (colon) {
        int rc = check_user_part(user, (size_t)(colon - user), "user", user);

        return rc ? rc : check_user_part(colon + 1, strlen(colon + 1), "group", user);
    }
    return check_user_part(user, len, "user", user);
}

/* An environment entry: "NAME=value" with NAME not empty. */
static int check_env(const char *entry, size_t index)
{
    char quoted[HV_QUOTE_SIZE], path[32];

    snprintf(path, sizeof(path), "env[%zu]", index);
    if (!entry)
        return hv_error_set(HV_E_INVAL, path, "env[%zu] is NULL: envc says there are %s", index,
                            "more entries than the array holds");
    if (entry[0] == '=' || !strchr(entry, '='))
        return hv_error_set(HV_E_INVAL, path,
                            "the environment entry '%s' is not \"NAME=value\" with a NAME",
                            hv_quote(quoted, sizeof(quoted), entry));
    return 0;
}

/* The bytes of `count` strings with their NULs, at most UINT64_MAX. */
static uint64_t strings_bytes(const char *const *strings, size_t count)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < count; i++)
        if (!hv_add_u64(sum, (uint64_t)strlen(strings[i]) + 1, &sum))
            return UINT64_MAX;
    return sum;
}

static uint8_t *put_string(uint8_t *at, const char *text)
{
    size_t len = strlen(text) + 1;

    memcpy(at, text, len);
    return at + len;
}

/* Check every field of `command` and sum the payload's size: 0 or an error. */
static int run_size(const hv_container_command *command, const char *cwd, const char *user,
                    size_t *payload_bytes)
{
    char quoted[HV_QUOTE_SIZE], field[32];
    uint64_t argv_bytes, env_bytes, rest_bytes, total;
    int rc;

    if (command->argc == 0 || !command->argv)
        return hv_error_set(HV_E_INVAL, "argv",
                            "the command has no argv: give at least the program to run");
    if (command->envc > 0 && !command->env)
        return hv_error_set(HV_E_INVAL, "env", "env is NULL but envc is %zu", command->envc);
    for (size_t i = 0; i < command->argc; i++) {
        snprintf(field, sizeof(field), "argv[%zu]", i);
        if (!command->argv[i])
            return hv_error_set(HV_E_INVAL, field,
                                "argv[%zu] is NULL: argc says there are more entries than the "
                                "array holds",
                                i);
        if (i == 0 && command->argv[0][0] == '\0')
            return hv_error_set(HV_E_INVAL, field,
                                "argv[0] is empty: give the program to run, a name on PATH "
                                "or a path in the image");
    }
    for (size_t i = 0; i < command->envc; i++)
        if ((rc = check_env(command->env[i], i)) < 0)
            return rc;
    if (cwd[0] != '/' || strlen(cwd) > HV_CONTAINER_PROTO_MAX_CWD_BYTES)
        return hv_error_set(HV_E_INVAL, "cwd",
                            "the working folder '%s' is not an absolute path of at most %u bytes: "
                            "give one that starts with '/'",
                            hv_quote(quoted, sizeof(quoted), cwd),
                            HV_CONTAINER_PROTO_MAX_CWD_BYTES);
    if ((rc = check_user(user)) < 0)
        return rc;
    argv_bytes = strings_bytes(command->argv, command->argc);
    env_bytes = command->envc ? strings_bytes(command->env, command->envc) : 0;
    rest_bytes = RUN_FIXED_BYTES + strlen(cwd) + 1 + strlen(user) + 1;
    if (!hv_add_u64(argv_bytes, env_bytes, &total) || !hv_add_u64(total, rest_bytes, &total) ||
        total > HV_CONTAINER_PROTO_MAX_PAYLOAD)
        return hv_error_set(HV_E_RANGE, "argv",
                            "the command does not fit one RUN record: argv takes %" PRIu64
                            " bytes, the environment %" PRIu64 ", the rest %" PRIu64
                            ", and protocol version %u carries %u in all: pass less (a long "
                            "value in a file of the image instead)",
                            argv_bytes, env_bytes, rest_bytes, HV_CONTAINER_PROTO_VERSION,
                            HV_CONTAINER_PROTO_MAX_PAYLOAD);
    *payload_bytes = (size_t)total;
    return 0;
}

int hv_container_run_encode(const hv_container_command *command, uint8_t **record,
                            size_t *record_bytes)
{
    const char *cwd, *user;
    size_t payload_bytes = 0;
    uint8_t *out, *at;
    int rc;

    HV_CHECK_ARG(record, "record");
    *record = NULL;
    HV_CHECK_ARG(command, "command");
    HV_CHECK_ARG(record_bytes, "record_bytes");
    cwd = command->cwd ? command->cwd : "/";
    user = command->user ? command->user : "0";
    if ((rc = run_size(command, cwd, user, &payload_bytes)) < 0)
        return rc;
    if (!(out = malloc(HV_CONTAINER_PROTO_HEADER_BYTES + payload_bytes)))
        return hv_error_nomem();
    at = out;
    at[0] = HV_CONTAINER_REC_RUN;
    at[1] = at[2] = at[3] = 0;
    hv_container_proto_put_u32(at + 4, (uint32_t)payload_bytes);
    at += HV_CONTAINER_PROTO_HEADER_BYTES;
    hv_container_proto_put_u32(at, HV_CONTAINER_PROTO_VERSION);
    hv_container_proto_put_u32(at + 4, (uint32_t)command->argc);
    at += 8;
    for (size_t i = 0; i < command->argc; i++)
        at = put_string(at, command->argv[i]);
    hv_container_proto_put_u32(at, (uint32_t)command->envc);
    at += 4;
    for (size_t i = 0; i < command->envc; i++)
        at = put_string(at, command->env[i]);
    at = put_string(at, cwd);
    put_string(at, user);
    *record = out;
    *record_bytes = HV_CONTAINER_PROTO_HEADER_BYTES + payload_bytes;
    return 0;
}

/* ---- the decoder -------------------------------------------------------- */

/* Where the stream stands: what may come next. */
typedef enum decoder_phase {
    PHASE_BEFORE_HELLO, /* HELLO or FAIL */
    PHASE_RUNNING,      /* OUT, ERR, EXIT or FAIL */
    PHASE_DONE,         /* nothing: EXIT or FAIL came */
    PHASE_FAILED        /* a rule was broken: error_code, error_message */
} decoder_phase;

#define DECODER_ERROR_BYTES 512

struct hv_container_decoder {
    decoder_phase phase;
    uint8_t header[HV_CONTAINER_PROTO_HEADER_BYTES];
    size_t header_have;     /* bytes of the current record's header so far */
    uint32_t payload_bytes; /* the current record's payload length, once header_have is 8 */
    uint32_t payload_have;  /* bytes of it copied into payload (0 when it is taken whole) */
    uint8_t *payload;       /* HV_CONTAINER_PROTO_MAX_PAYLOAD bytes for a record cut short */
    uint64_t record_offset; /* the current record's first byte in the stream */
    int error_code;         /* PHASE_FAILED: the code every call returns */
    char error_message[DECODER_ERROR_BYTES];
};

const char *hv_container_record_name(unsigned int type)
{
    switch (type) {
    case HV_CONTAINER_REC_HELLO:
        return "HELLO";
    case HV_CONTAINER_REC_OUT:
        return "OUT";
    case HV_CONTAINER_REC_ERR:
        return "ERR";
    case HV_CONTAINER_REC_EXIT:
        return "EXIT";
    case HV_CONTAINER_REC_FAIL:
        return "FAIL";
    case HV_CONTAINER_REC_RUN:
        return "RUN";
    default:
        return "unknown";
    }
}

int hv_container_decoder_new(hv_container_decoder **out)
{
    hv_container_decoder *d;

    HV_CHECK_ARG(out, "out");
    *out = NULL;
    if (!(d = hv_calloc(1, sizeof(*d))))
        return HV_E_NOMEM;
    if (!(d->payload = malloc(HV_CONTAINER_PROTO_MAX_PAYLOAD))) {
        free(d);
        return hv_error_nomem();
    }
    d->phase = PHASE_BEFORE_HELLO;
    *out = d;
    return 0;
}

void hv_container_decoder_free(hv_container_decoder *decoder)
{
    if (!decoder)
        return;
    free(decoder->payload);
    free(decoder);
}

/* The decoder fails for good with `code` and the message; returns `code`. */
static int decoder_fail(hv_container_decoder *d, int code, const char *fmt, ...) HV_PRINTF(3, 4);

static int decoder_fail(hv_container_decoder *d, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(d->error_message, sizeof(d->error_message), fmt, ap);
    va_end(ap);
    d->error_message[hv_utf8_trim_partial(d->error_message, strlen(d->error_message))] = '\0';
    d->phase = PHASE_FAILED;
    d->error_code = code;
    return hv_error_set(code, NULL, "%s", d->error_message);
}

/* A broken rule of the current record: HV_E_GUEST with where it was and what to do. */
static int record_fail(hv_container_decoder *d, const char *rule)
{
    return decoder_fail(d, HV_E_GUEST,
                        "the container guest broke its protocol (docs/container-guest.md) in the "
                        "%s record at byte %llu of its channel: %s (its init is not this "
                        "library's hpcvirt-container-init, or the guest is hostile: stop the VM)",
                        hv_container_record_name(d->header[0]),
                        (unsigned long long)d->record_offset, rule);
}

/* The header is complete: check what it alone can say, by the phase. */
static int check_header(hv_container_decoder *d)
{
    unsigned int type = d->header[0];
    uint32_t length = hv_container_proto_get_u32(d->header + 4);
    char rule[160];

    if (type < HV_CONTAINER_REC_HELLO || type > HV_CONTAINER_REC_FAIL) {
        snprintf(rule, sizeof(rule), "its type %u is not one a guest sends", type);
        return record_fail(d, rule);
    }
    if (d->header[1] || d->header[2] || d->header[3])
        return record_fail(d, "its reserved bytes 1-3 of the header are not 0");
    if (length > HV_CONTAINER_PROTO_MAX_PAYLOAD) {
        snprintf(rule, sizeof(rule), "its length %" PRIu32 " passes the limit of %u bytes", length,
                 HV_CONTAINER_PROTO_MAX_PAYLOAD);
        return record_fail(d, rule);
    }
    if (type == HV_CONTAINER_REC_HELLO && d->phase != PHASE_BEFORE_HELLO)
        return record_fail(d, "HELLO came a second time");
    if (type != HV_CONTAINER_REC_HELLO && type != HV_CONTAINER_REC_FAIL &&
        d->phase == PHASE_BEFORE_HELLO)
        return record_fail(d, "it came before HELLO");
    if (type == HV_CONTAINER_REC_HELLO && length < 4)
        return record_fail(d, "its payload is shorter than the 4 bytes of the version");
    if (type == HV_CONTAINER_REC_EXIT && length != 4) {
        snprintf(rule, sizeof(rule), "its payload is %" PRIu32 " bytes, not the 4 of the status",
                 length);
        return record_fail(d, rule);
    }
    if (type == HV_CONTAINER_REC_FAIL && length < 9) {
        snprintf(rule, sizeof(rule),
                 "its payload is %" PRIu32 " bytes, less than a status, an errno and a message",
                 length);
        return record_fail(d, rule);
    }
    d->payload_bytes = length;
    d->payload_have = 0;
    return 0;
}

static int decode_hello(hv_container_decoder *d, const uint8_t *payload, hv_container_event *ev)
{
    uint32_t version = hv_container_proto_get_u32(payload);

    if (version != HV_CONTAINER_PROTO_VERSION)
        return decoder_fail(d, HV_E_UNSUPPORTED,
                            "the container guest's init speaks protocol version %" PRIu32
                            ", this library version %u: build the guest's initramfs with this "
                            "library's hpcvirt-container-init",
                            version, HV_CONTAINER_PROTO_VERSION);
    if (d->payload_bytes != 4)
        return record_fail(d, "a version 1 HELLO has a payload of 4 bytes");
    ev->version = version;
    d->phase = PHASE_RUNNING;
    return 1;
}

static int decode_exit(hv_container_decoder *d, const uint8_t *payload, hv_container_event *ev)
{
    uint32_t status = hv_container_proto_get_u32(payload);
    char rule[160];

    if (status & ~(HV_CONTAINER_EXIT_SIGNALED | 0xFFu)) {
        snprintf(rule, sizeof(rule), "its status 0x%" PRIx32 " has bits set above bit 8", status);
        return record_fail(d, rule);
    }
    if (status & HV_CONTAINER_EXIT_SIGNALED) {
        ev->signal = (int)(status & 0xFFu);
        if (ev->signal < 1 || ev->signal > 127) {
            snprintf(rule, sizeof(rule), "its signal number %d is not 1-127", ev->signal);
            return record_fail(d, rule);
        }
        ev->exit_status = 128 + ev->signal;
    } else {
        ev->exit_status = (int)status;
    }
    d->phase = PHASE_DONE;
    return 1;
}

static int decode_fail(hv_container_decoder *d, const uint8_t *payload, hv_container_event *ev)
{
    uint32_t status = hv_container_proto_get_u32(payload),
             error_number = hv_container_proto_get_u32(payload + 4);
    const char *message = (const char *)payload + 8;
    size_t message_bytes = d->payload_bytes - 8;
    char rule[160];

    if (status < HV_CONTAINER_STATUS_SETUP || status > HV_CONTAINER_STATUS_NOT_FOUND) {
        snprintf(rule, sizeof(rule), "its status %" PRIu32 " is not 125, 126 or 127", status);
        return record_fail(d, rule);
    }
    if (error_number >= 4096) {
        snprintf(rule, sizeof(rule), "its errno %" PRIu32 " is not below 4096", error_number);
        return record_fail(d, rule);
    }
    if (memchr(message, '\0', message_bytes))
        return record_fail(d, "its message holds a NUL");
    if (!hv_utf8_valid(message, message_bytes))
        return record_fail(d, "its message is not UTF-8");
    ev->exit_status = (int)status;
    ev->error_number = (int)error_number;
    ev->data = (const uint8_t *)message;
    ev->data_bytes = message_bytes;
    d->phase = PHASE_DONE;
    return 1;
}

/* The current record's payload (all of it) is at `payload`: check it and fill *ev. */
static int decode_record(hv_container_decoder *d, const uint8_t *payload, hv_container_event *ev)
{
    int rc;

    memset(ev, 0, sizeof(*ev));
    ev->type = (hv_container_record_type)d->header[0];
    switch (ev->type) {
    case HV_CONTAINER_REC_HELLO:
        rc = decode_hello(d, payload, ev);
        break;
    case HV_CONTAINER_REC_EXIT:
        rc = decode_exit(d, payload, ev);
        break;
    case HV_CONTAINER_REC_FAIL:
        rc = decode_fail(d, payload, ev);
        break;
    default: /* OUT, ERR */
        ev->data = payload;
        ev->data_bytes = d->payload_bytes;
        rc = 1;
        break;
    }
    if (rc < 0)
        memset(ev, 0, sizeof(*ev));
    d->record_offset += HV_CONTAINER_PROTO_HEADER_BYTES + (uint64_t)d->payload_bytes;
    d->header_have = 0;
    d->payload_have = 0;
    return rc;
}

/* The current record is complete with the first `taken` bytes of this call: 1 or an error. */
static int complete_record(hv_container_decoder *d, const uint8_t *payload, size_t taken,
                           size_t *used_bytes, hv_container_event *ev)
{
    int rc = decode_record(d, payload, ev);

    *used_bytes = rc < 0 ? 0 : taken; /* a failed call takes nothing */
    return rc;
}

int hv_container_decoder_feed(hv_container_decoder *decoder, const void *data, size_t data_bytes,
                              size_t *used_bytes, hv_container_event *event)
{
    const uint8_t *in = data;
    size_t taken = 0;
    int rc;

    HV_CHECK_ARG(used_bytes, "used_bytes");
    *used_bytes = 0;
    HV_CHECK_ARG(decoder, "decoder");
    HV_CHECK_ARG(event, "event");
    HV_CHECK_ARG(data || data_bytes == 0, "data");
    if (decoder->phase == PHASE_FAILED)
        return hv_error_set(decoder->error_code, NULL, "%s", decoder->error_message);
    if (decoder->phase == PHASE_DONE && data_bytes > 0)
        return decoder_fail(decoder, HV_E_GUEST,
                            "the container guest broke its protocol (docs/container-guest.md): "
                            "bytes came after its last record, at byte %llu of its channel "
                            "(stop the VM)",
                            (unsigned long long)decoder->record_offset);
    while (taken < data_bytes) {
        if (decoder->header_have < HV_CONTAINER_PROTO_HEADER_BYTES) {
            size_t n = HV_CONTAINER_PROTO_HEADER_BYTES - decoder->header_have;

            if (n > data_bytes - taken)
                n = data_bytes - taken;
            memcpy(decoder->header + decoder->header_have, in + taken, n);
            decoder->header_have += n;
            taken += n;
            if (decoder->header_have < HV_CONTAINER_PROTO_HEADER_BYTES)
                break;
            if ((rc = check_header(decoder)) < 0)
                return rc;
            if (decoder->payload_bytes == 0)
                return complete_record(decoder, decoder->payload, taken, used_bytes, event);
            continue;
        }
        size_t need = decoder->payload_bytes - decoder->payload_have;
        size_t have = data_bytes - taken;

        if (decoder->payload_have == 0 && have >= need) /* all in the caller's bytes: no copy */
            return complete_record(decoder, in + taken, taken + need, used_bytes, event);
        if (have > need)
            have = need;
        memcpy(decoder->payload + decoder->payload_have, in + taken, have);
        decoder->payload_have += (uint32_t)have;
        taken += have;
        if (decoder->payload_have == decoder->payload_bytes)
            return complete_record(decoder, decoder->payload, taken, used_bytes, event);
    }
    *used_bytes = taken;
    return 0;
}

int hv_container_decoder_finish(hv_container_decoder *decoder)
{
    HV_CHECK_ARG(decoder, "decoder");
    switch (decoder->phase) {
    case PHASE_FAILED:
        return hv_error_set(decoder->error_code, NULL, "%s", decoder->error_message);
    case PHASE_DONE:
        return 0;
    default:
        break;
    }
    if (decoder->header_have > 0)
        return decoder_fail(decoder, HV_E_GUEST,
                            "the container guest's channel ended inside a record, at byte %llu "
                            "(%zu bytes of its header and %" PRIu32
                            " of its payload came): the guest ended without an EXIT record; "
                            "its console may say why",
                            (unsigned long long)decoder->record_offset, decoder->header_have,
                            decoder->payload_have);
    if (decoder->phase == PHASE_BEFORE_HELLO)
        return decoder_fail(decoder, HV_E_GUEST,
                            "the container guest ended before its init said HELLO: the kernel "
                            "did not start the init, or the init did not get ready; its console "
                            "says why");
    return decoder_fail(decoder, HV_E_GUEST,
                        "the container guest ended without an EXIT record: the command's status "
                        "is unknown (the guest's kernel crashed, or the command powered it off); "
                        "its console may say why");
}

bool hv_container_decoder_done(const hv_container_decoder *decoder)
{
    return decoder && decoder->phase == PHASE_DONE;
}

const char *hv_container_decoder_error(const hv_container_decoder *decoder)
{
    return decoder && decoder->phase == PHASE_FAILED ? decoder->error_message : NULL;
}

/*
 * container/guest-protocol.h - the host's side of the protocol between the
 * host and a container guest's init over the VM's channel, version 1
 * (docs/container-guest.md; internal, pure: no I/O, no globals). It owns
 * the numbers both sides share (guest/container-init/init.c includes this
 * header for them and calls none of its functions), the RUN record's
 * encoding, and the decoder of the guest's records, which checks every one
 * of them: the guest is untrusted.
 */
#ifndef HV_CONTAINER_GUEST_PROTOCOL_H
#define HV_CONTAINER_GUEST_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_CONTAINER_PROTO_VERSION      1u
#define HV_CONTAINER_PROTO_HEADER_BYTES 8u
/* The largest payload of one record, both ways. */
#define HV_CONTAINER_PROTO_MAX_PAYLOAD (64u * 1024u)

/* Record types; bit 7 set: host to guest. The payloads: docs/container-guest.md. */
typedef enum hv_container_record_type {
    HV_CONTAINER_REC_HELLO = 1, /* u32 version: the init is ready for RUN */
    HV_CONTAINER_REC_OUT = 2,   /* bytes of the command's stdout */
    HV_CONTAINER_REC_ERR = 3,   /* bytes of the command's stderr */
    HV_CONTAINER_REC_EXIT = 4,  /* u32 status: code, or signal | HV_CONTAINER_EXIT_SIGNALED */
    HV_CONTAINER_REC_FAIL = 5,  /* u32 status, u32 errno, UTF-8 message */
    HV_CONTAINER_REC_RUN = 0x81 /* u32 version, argv, env, working folder, user */
} hv_container_record_type;

/* EXIT: bits 0-7 are the number of the signal that killed the command. */
#define HV_CONTAINER_EXIT_SIGNALED 0x100u
/* FAIL's statuses: the init could not set up; the program is not runnable; not found. */
#define HV_CONTAINER_STATUS_SETUP          125
#define HV_CONTAINER_STATUS_NOT_EXECUTABLE 126
#define HV_CONTAINER_STATUS_NOT_FOUND      127
/* RUN: the user's string, at most this many bytes (its NUL not counted). */
#define HV_CONTAINER_PROTO_MAX_USER_BYTES 255u
/* RUN: the working folder, at most this many bytes (PATH_MAX with its NUL). */
#define HV_CONTAINER_PROTO_MAX_CWD_BYTES 4095u

/* The protocol's integers, little-endian, maybe unaligned: for both sides. */
static inline uint32_t hv_container_proto_get_u32(const uint8_t *at)
{
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static inline void hv_container_proto_put_u32(uint8_t *at, uint32_t value)
{
    at[0] = (uint8_t)value;
    at[1] = (uint8_t)(value >> 8);
    at[2] = (uint8_t)(value >> 16);
    at[3] = (uint8_t)(value >> 24);
}

/* The command the guest runs (RUN). */
typedef struct hv_container_command {
    const char *const *argv; /* argc >= 1 strings, argv[0] not empty */
    size_t argc;
    const char *const *env; /* envc strings "NAME=value", NAME not empty; NULL when envc is 0 */
    size_t envc;
    const char *cwd;  /* an absolute path; NULL: "/" */
    const char *user; /* "uid[:gid]" or "name[:group]"; NULL: "0" (root) */
} hv_container_command;

/*
 * The RUN record (header and payload) of `command` in a new buffer (free()
 * it) of *record_bytes bytes. HV_E_INVAL naming the field when a string
 * breaks the rules above (an empty argv[0], an environment entry without
 * "NAME=", a relative working folder, a malformed user), HV_E_RANGE when
 * the payload would pass HV_CONTAINER_PROTO_MAX_PAYLOAD (saying what argv
 * and the environment take). C strings hold no NUL, so none can reach the
 * record.
 */
int hv_container_run_encode(const hv_container_command *command, uint8_t **record,
                            size_t *record_bytes);

/* A record the guest sent, checked. */
typedef struct hv_container_event {
    hv_container_record_type type; /* HELLO, OUT, ERR, EXIT or FAIL */
    /* OUT, ERR: the bytes (maybe none); FAIL: the message, UTF-8 without NUL, not terminated */
    const uint8_t *data;
    size_t data_bytes;
    uint32_t version; /* HELLO: the init's protocol version (HV_CONTAINER_PROTO_VERSION) */
    /* EXIT: 0-255, the exit code or 128 + signal; FAIL: 125, 126 or 127 */
    int exit_status;
    int signal;       /* EXIT: the signal that killed the command, else 0 */
    int error_number; /* FAIL: Linux's errno for what failed, 0 when none */
} hv_container_event;

/*
 * The decoder of the guest's records. It never holds more than one record
 * (a partial one, copied; HV_CONTAINER_PROTO_HEADER_BYTES +
 * HV_CONTAINER_PROTO_MAX_PAYLOAD bytes at most). Not thread-safe: one
 * caller at a time, as the engine's channel callback is.
 */
typedef struct hv_container_decoder hv_container_decoder;

int hv_container_decoder_new(hv_container_decoder **out);
void hv_container_decoder_free(hv_container_decoder *decoder);

/*
 * Take the next of the `data_bytes` bytes at `data` that the guest sent, up
 * to the end of the record they complete: *used_bytes says how many were
 * taken. 1 when a record was completed: *event is filled, its data pointing
 * into `data` or into the decoder, valid until the next call and while
 * `data` is; 0 when all `data_bytes` were taken and no record completed
 * (feed the next bytes when they come). A stream that breaks a rule of
 * docs/container-guest.md is HV_E_GUEST (HV_E_UNSUPPORTED for another
 * protocol version) naming the rule and the record's offset in the stream;
 * the decoder stays failed: every later call returns the same error, and
 * takes nothing.
 */
int hv_container_decoder_feed(hv_container_decoder *decoder, const void *data, size_t data_bytes,
                              size_t *used_bytes, hv_container_event *event);

/*
 * The stream has ended (the VM has): 0 when its last record was EXIT or
 * FAIL and nothing came after; else HV_E_GUEST saying what was missing (no
 * HELLO, no EXIT, a record cut short), or the error the decoder failed with.
 */
int hv_container_decoder_finish(hv_container_decoder *decoder);

/* Whether the stream has ended with EXIT or FAIL. */
bool hv_container_decoder_done(const hv_container_decoder *decoder);

/* The message of the error the decoder failed with, NULL while it has not failed. */
const char *hv_container_decoder_error(const hv_container_decoder *decoder);

/* "HELLO", "OUT", ... for a type, "unknown" for anything else: for messages. */
const char *hv_container_record_name(unsigned int type);

#endif

/*
 * kvm/migration-stream.h - the built-in engine's migration stream
 * (docs/migration-protocol.md): versioned frames over a connected byte
 * stream (a socketpair, a TCP connection), each checked before use, and
 * authenticated with HMAC-SHA-256 once both ends have keyed the stream from
 * a pre-shared key and both ends' nonces. Bytes from the network are
 * untrusted: every length is bounded before anything is allocated or read,
 * and a frame that fails a check is HV_E_MIGRATION naming the check. No
 * engine state here: lib/kvm/migrate.c drives the protocol (internal).
 */
#ifndef HV_KVM_MIGRATION_STREAM_H
#define HV_KVM_MIGRATION_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define HV_MIG_VERSION         1u
#define HV_MIG_MAX_FRAME_BYTES (UINT32_C(64) << 20) /* the largest payload of one frame */
#define HV_MIG_NONCE_BYTES     16u
#define HV_MIG_MAC_BYTES       32u /* HMAC-SHA-256 */
#define HV_MIG_PAGE_BYTES      4096u
#define HV_MIG_MAX_PAGES       4096u /* pages in one PAGES or ZERO frame */

/* Frame types; who sends each and what it holds: docs/migration-protocol.md. */
typedef enum hv_mig_type {
    HV_MIG_HELLO = 1,    /* source: JSON {"version", "auth", "nonce"} (never authenticated) */
    HV_MIG_WELCOME = 2,  /* destination: JSON {"version", "nonce"} (never authenticated) */
    HV_MIG_META = 3,     /* source: the VM's meta JSON (as a snapshot's meta section) */
    HV_MIG_PLAN = 4,     /* source: the plan JSON (may be empty) */
    HV_MIG_PAYLOAD = 5,  /* source: the payload ELF */
    HV_MIG_ACCEPT = 6,   /* destination: it can run the VM; memory may come */
    HV_MIG_REFUSE = 7,   /* either: JSON {"code", "message"}: the other end gives up */
    HV_MIG_PAGES = 8,    /* source: pages of one vNUMA node with their contents */
    HV_MIG_ZERO = 9,     /* source: pages of one vNUMA node that are zero now */
    HV_MIG_VCPU = 10,    /* source: u32 index + an encoded vCPU state (kvm/vcpu-state.h) */
    HV_MIG_CONSOLE = 11, /* source: the console ring's bytes, oldest first */
    HV_MIG_END = 12,     /* source: the VM is all sent (empty) */
    HV_MIG_RUNNING = 13, /* destination: the VM runs here; the source may go (empty) */
    HV_MIG_TYPE_MAX = 13
} hv_mig_type;

/* "PAGES" for HV_MIG_PAGES ...; "unknown" for anything else: for messages. */
const char *hv_mig_type_name(uint32_t type);

typedef struct hv_mig_stream hv_mig_stream;

/*
 * A stream over connected descriptor `fd`, a socket or a pipe (closed by
 * hv_mig_stream_free when `own_fd`; on failure the caller keeps it).
 */
int hv_mig_stream_new(int fd, bool own_fd, hv_mig_stream **out);
void hv_mig_stream_free(hv_mig_stream *stream);

/*
 * Authenticate every frame from now on, both ways: the session key is
 * HMAC-SHA-256(key, "hpcvirt-migration-v1" || source_nonce || destination_nonce)
 * and each frame's MAC covers its sequence number (u64, counted per
 * direction from 0 after keying), its 16-byte header (type, length, version,
 * flags) and payload. A received frame whose MAC differs is HV_E_MIGRATION
 * ("does not authenticate: a wrong key or altered bytes"), as is one without
 * a MAC. `key_bytes` is at least 1; call it between frames (keying again
 * replaces the key and restarts both counts).
 */
int hv_mig_stream_set_key(hv_mig_stream *stream, const uint8_t *key, size_t key_bytes,
                          const uint8_t source_nonce[HV_MIG_NONCE_BYTES],
                          const uint8_t destination_nonce[HV_MIG_NONCE_BYTES]);

/* HV_MIG_NONCE_BYTES random bytes (getrandom). */
int hv_mig_nonce(uint8_t nonce[HV_MIG_NONCE_BYTES]);

/*
 * Send one frame whose payload is the concatenation of iov[0..iovcnt-1] (at
 * most HV_MIG_MAX_FRAME_BYTES, else HV_E_INVAL); HV_E_MIGRATION when the peer
 * is gone (EPIPE: no SIGPIPE, on a socket or a pipe). Blocks until the frame
 * is written (HV_E_TIMEOUT only where the socket has SO_SNDTIMEO). After a
 * failed send the stream sends nothing more (the peer could not find the
 * next frame's start); receiving still works.
 */
int hv_mig_sendv(hv_mig_stream *stream, uint32_t type, const struct iovec *iov, int iovcnt);
int hv_mig_send(hv_mig_stream *stream, uint32_t type, const void *data, size_t bytes);

/*
 * Receive the next frame within `timeout_ms` (-1: no limit): its type (a
 * known hv_mig_type, else HV_E_MIGRATION) and payload, valid until the next
 * receive. HV_E_TIMEOUT when nothing whole came in time (what came is
 * kept: the next receive goes on with the same frame), HV_E_MIGRATION when
 * the peer closed the stream ("the peer closed the connection" between
 * frames, "the connection ended in the middle of a PAGES frame" inside one)
 * or a check failed (magic, version, type, length, flags, MAC). After an
 * HV_E_MIGRATION the stream receives nothing more; sending still works (a
 * REFUSE can still say why).
 */
int hv_mig_recv(hv_mig_stream *stream, int timeout_ms, uint32_t *type, const uint8_t **data,
                size_t *bytes);

/* Bytes written and read so far, framing included. */
uint64_t hv_mig_bytes_sent(const hv_mig_stream *stream);
uint64_t hv_mig_bytes_received(const hv_mig_stream *stream);

/*
 * Payloads with structure: PAGES is u32 node, u32 count, count x u64 page
 * numbers (strictly increasing), count x 4096 bytes; ZERO the same without
 * the contents: hv_mig_pages_bytes(count, with_contents) bytes in all.
 * Encode: hv_mig_pages_header(), then the contents. Decode: checks every
 * length, that count is 1 .. HV_MIG_MAX_PAGES, the page numbers increase
 * and are below `node_pages` (the node's size in pages, from the plan both
 * ends agreed on), node below `node_count`; pages and contents point into
 * `data` (contents NULL for ZERO). A failed check is HV_E_MIGRATION.
 */
size_t hv_mig_pages_bytes(uint32_t count, bool with_contents);
/* The part before the contents (node, count, page numbers) into out[8 + 8 x count], whose
 * size it returns: the sender follows it with the pages' contents straight from guest memory
 * (hv_mig_sendv). Nothing is checked: the sender's pages are its own. */
size_t hv_mig_pages_header(uint8_t *out, uint32_t node, uint32_t count, const uint64_t *pages);
/* Page number i of a decoded frame (little-endian, maybe unaligned). */
uint64_t hv_mig_page_at(const uint8_t *page_numbers, uint32_t i);
int hv_mig_pages_decode(const uint8_t *data, size_t bytes, bool with_contents, uint32_t node_count,
                        const uint64_t *node_pages, uint32_t *node, uint32_t *count,
                        const uint8_t **page_numbers, const uint8_t **contents);

#endif

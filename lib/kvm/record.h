/*
 * kvm/record.h - the block encoding the engine's binary snapshot records
 * share (internal): a 16-byte header (u32 magic, u32 version, u32 index or
 * 0, u32 flags) then blocks back to back, each `u32 kind`, `u32 bytes` and
 * its bytes, all little-endian (docs/snapshot-format.md). Used by the vCPU
 * record (kvm/vcpu-state.c), the platform record (kvm/platform-state.c) and
 * the devices record (kvm/linux.c); kvm/record.c holds the header check.
 */
#ifndef HV_KVM_RECORD_H
#define HV_KVM_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** A record being written into a buffer the caller sized. */
typedef struct hv_record_writer {
    uint8_t *buf;
    size_t len;
} hv_record_writer;

static inline void hv_record_put(hv_record_writer *w, const void *data, size_t bytes)
{
    memcpy(w->buf + w->len, data, bytes);
    w->len += bytes;
}

static inline void hv_record_put_u32(hv_record_writer *w, uint32_t v)
{
    hv_record_put(w, &v, sizeof(v));
}

static inline void hv_record_put_block(hv_record_writer *w, uint32_t kind, const void *data,
                                       uint32_t bytes)
{
    hv_record_put_u32(w, kind);
    hv_record_put_u32(w, bytes);
    hv_record_put(w, data, bytes);
}

/** The record's four header words (magic, version, index, flags). */
static inline void hv_record_put_header(hv_record_writer *w, uint32_t magic, uint32_t version,
                                        uint32_t index)
{
    hv_record_put_u32(w, magic);
    hv_record_put_u32(w, version);
    hv_record_put_u32(w, index);
    hv_record_put_u32(w, 0);
}

/** The bytes of the record header. */
#define HV_RECORD_HEADER_BYTES 16u

/**
 * The block at *at of the record p[0, bytes): 1 with its kind, size and data
 * (*at moved past it), 0 at the end, or HV_E_SNAPSHOT (hv_record_bad(),
 * naming `what`) when a block header or its bytes run past the end.
 */
int hv_record_next(const uint8_t *p, size_t bytes, size_t *at, const char *what, uint32_t *kind,
                   uint32_t *size, const uint8_t **data);

/** HV_E_SNAPSHOT: "`what`: <detail>: the snapshot is corrupted or foreign". */
int hv_record_bad(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Check a record's header: at least HV_RECORD_HEADER_BYTES, `magic` (named
 * `magic_name` in messages: "VCPU"), `version`; *index is its index word.
 * 0, or hv_record_bad() saying which.
 */
int hv_record_check_header(const void *record, size_t bytes, uint32_t magic, const char *magic_name,
                           uint32_t version, const char *what, uint32_t *index);

#endif

/*
 * kvm/state-bytes.h - the little-endian fields of the device-state blobs a
 * snapshot holds (internal, pure; docs/snapshot-devices.md): an unsigned
 * integer of 1 to 8 bytes written or read byte by byte at an offset the
 * caller has checked lies inside its buffer, and the magic/version word
 * pair every blob starts with (written, and checked with HV_E_SNAPSHOT).
 */
#ifndef HV_KVM_STATE_BYTES_H
#define HV_KVM_STATE_BYTES_H

#include "core/error.h"

#include <stddef.h>
#include <stdint.h>

/** The first 8 bytes of every blob: its magic (4 ASCII bytes) and its version (u32). */
#define HV_STATE_HEAD_BYTES 8u

/** Store the low `bytes` bytes of `v` at `p`, least significant first. */
static inline void hv_state_put(uint8_t *p, uint64_t v, unsigned int bytes)
{
    for (unsigned int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/** Load `bytes` bytes at `p` as a little-endian integer. */
static inline uint64_t hv_state_get(const uint8_t *p, unsigned int bytes)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/** The 4-byte magic of a blob as its u32 value ("UART" is 0x54524155). */
static inline uint32_t hv_state_magic(const char name[4])
{
    return (uint32_t)(uint8_t)name[0] | (uint32_t)(uint8_t)name[1] << 8 |
           (uint32_t)(uint8_t)name[2] << 16 | (uint32_t)(uint8_t)name[3] << 24;
}

/** Write a blob's head: `magic` (4 ASCII bytes) and `version`. */
static inline void hv_state_put_head(uint8_t *p, const char magic[4], uint32_t version)
{
    hv_state_put(p, hv_state_magic(magic), 4);
    hv_state_put(p + 4, version, 4);
}

/**
 * Check a blob's head: at least HV_STATE_HEAD_BYTES, `magic`, `version`.
 * 0, or HV_E_SNAPSHOT with `what` (the device) first in the message.
 */
static inline int hv_state_check_head(const uint8_t *p, size_t bytes, const char magic[4],
                                      uint32_t version, const char *what)
{
    uint32_t found;

    if (bytes < HV_STATE_HEAD_BYTES)
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "%s: a state of %zu bytes, shorter than its %u-byte head: the "
                            "snapshot is corrupted",
                            what, bytes, HV_STATE_HEAD_BYTES);
    found = (uint32_t)hv_state_get(p, 4);
    if (found != hv_state_magic(magic))
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "%s: the state starts with magic 0x%08x, not \"%.4s\" (0x%08x): it "
                            "is another device's state, or the snapshot is corrupted",
                            what, found, magic, hv_state_magic(magic));
    found = (uint32_t)hv_state_get(p + 4, 4);
    if (found != version)
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "%s: state version %u; this hpcvirt reads version %u: restore it with "
                            "the hpcvirt that took the snapshot",
                            what, found, version);
    return 0;
}

#endif

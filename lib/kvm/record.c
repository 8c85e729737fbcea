/*
 * kvm/record.c - what the engine's binary snapshot records share besides
 * their block writer (kvm/record.h): the header check, reading the next
 * block, and the message both give.
 */
#include "kvm/record.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hv_record_bad(const char *what, const char *fmt, ...)
{
    char detail[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return hv_error_set(HV_E_SNAPSHOT, NULL, "%s: %s: the snapshot is corrupted or foreign", what,
                        detail);
}

int hv_record_check_header(const void *record, size_t bytes, uint32_t magic, const char *magic_name,
                           uint32_t version, const char *what, uint32_t *index)
{
    uint32_t head[4];

    if (bytes < sizeof(head))
        return hv_record_bad(what, "the record has %zu bytes, less than its %zu-byte header", bytes,
                             sizeof(head));
    memcpy(head, record, sizeof(head));
    if (head[0] != magic)
        return hv_record_bad(what, "magic 0x%08x is not \"%s\" (0x%08x)", head[0], magic_name,
                             magic);
    if (head[1] != version)
        return hv_record_bad(what, "record version %u; this hpcvirt reads version %u", head[1],
                             version);
    *index = head[2];
    return 0;
}

int hv_record_next(const uint8_t *p, size_t bytes, size_t *at, const char *what, uint32_t *kind,
                   uint32_t *size, const uint8_t **data)
{
    if (*at >= bytes)
        return 0;
    if (bytes - *at < 8)
        goto past;
    memcpy(kind, p + *at, 4);
    memcpy(size, p + *at + 4, 4);
    if (*size > bytes - *at - 8)
        goto past;
    *data = p + *at + 8;
    *at += 8 + (size_t)*size;
    return 1;
past:
    return hv_record_bad(what, "a block at byte %zu runs past the end of the record's %zu bytes",
                         *at, bytes);
}

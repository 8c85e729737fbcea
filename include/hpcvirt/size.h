/*
 * hpcvirt/size.h - memory sizes as people write them ("1.5TiB", "512GiB",
 * "64M") and back. Used by VM specs and the command-line tool.
 */
#ifndef HPCVIRT_SIZE_H
#define HPCVIRT_SIZE_H

#include <hpcvirt/common.h>

HV_BEGIN_DECLS

/**
 * Parse a size: a decimal number (fraction allowed: "1.5") and an optional
 * unit. Units: B; KiB MiB GiB TiB PiB EiB and K M G T P E (powers of 1024,
 * like QEMU); kB MB GB TB PB EB (powers of 1000). Case-insensitive except
 * that "b" alone means bytes. Whitespace between number and unit is allowed.
 * The result must be a whole number of bytes that fits 64 bits.
 *
 * Errors: HV_E_INVAL (NULL), HV_E_PARSE (not a size; the message says the
 * accepted forms), HV_E_RANGE (overflow or a fraction of a byte).
 */
HV_EXTERN int hv_size_parse(const char *text, uint64_t *bytes);

/**
 * Format bytes for people: the largest binary unit that keeps the value at or
 * above 1, with up to two decimals, trailing zeros dropped ("1.5 TiB",
 * "16 MiB", "1000 B"). Writes at most `size` bytes including the NUL.
 * Returns the length it needed (like snprintf), or HV_E_INVAL.
 */
HV_EXTERN int hv_size_format(uint64_t bytes, char *buf, size_t size);

HV_END_DECLS

#endif /* HPCVIRT_SIZE_H */

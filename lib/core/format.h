/*
 * core/format.h - a small, fast printf subset for the messages the planner
 * writes on its hot path (internal). It handles %s (with .N or .* precision),
 * %c, %d %i %u %x with the l, ll and z modifiers, and %%; anything else is
 * handed to vsnprintf. Output is truncated to `size` like snprintf.
 */
#ifndef HV_CORE_FORMAT_H
#define HV_CORE_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Returns the length written (without the NUL, after truncation). */
size_t hv_vformat(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* hv_vformat with the arguments inline: snprintf's replacement on hot paths. */
size_t hv_format(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

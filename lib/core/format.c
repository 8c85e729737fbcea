/*
 * core/format.c - the fast printf subset (see format.h).
 */
#include "core/format.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct out {
    char *buf;
    size_t size, len;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->len + 1 < o->size) {
        size_t room = o->size - 1 - o->len;

        memcpy(o->buf + o->len, s, n < room ? n : room);
        o->len += n < room ? n : room;
    }
}

static void put_unsigned(out *o, unsigned long long v, unsigned int base)
{
    char digits[24];
    size_t n = sizeof(digits);

    do {
        digits[--n] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    put(o, digits + n, sizeof(digits) - n);
}

/* A conversion hv_vformat does not handle: the whole format goes to vsnprintf. */
static size_t fall_back(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static size_t fall_back(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size, fmt, ap);

    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

size_t hv_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
    out o = {buf, size, 0};
    va_list original;
    size_t result;

    if (!size)
        return 0;
    /* one pass; the arguments are kept for vsnprintf in case a conversion
     * turns out to be one this subset does not handle */
    va_copy(original, ap);
    for (const char *p = fmt; *p;) {
        const char *start = p;
        int longs = 0;
        bool size_t_arg = false;
        long precision = -1;

        p = strchrnul(p, '%');
        put(&o, start, (size_t)(p - start));
        if (!*p)
            break;
        p++;
        if (*p == '%') {
            put(&o, "%", 1);
            p++;
            continue;
        }
        if (*p == '.') {
            p++;
            if (*p == '*') {
                precision = va_arg(ap, int);
                p++;
            } else {
                precision = 0;
                while (*p >= '0' && *p <= '9')
                    precision = precision * 10 + (*p++ - '0');
            }
            if (*p != 's')
                goto unsupported;
        }
        for (; *p == 'l' || *p == 'z'; p++) {
            longs += *p == 'l';
            size_t_arg |= *p == 'z';
        }
        switch (*p++) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            size_t n;

            if (!s)
                s = "(null)";
            n = precision >= 0 ? strnlen(s, (size_t)precision) : strlen(s);
            put(&o, s, n);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            put(&o, &c, 1);
            break;
        }
        case 'd':
        case 'i': {
            long long v = size_t_arg   ? (long long)va_arg(ap, ptrdiff_t)
                          : longs >= 2 ? va_arg(ap, long long)
                          : longs == 1 ? va_arg(ap, long)
                                       : va_arg(ap, int);
            if (v < 0) {
                put(&o, "-", 1);
                put_unsigned(&o, 0ULL - (unsigned long long)v, 10);
            } else {
                put_unsigned(&o, (unsigned long long)v, 10);
            }
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = size_t_arg   ? va_arg(ap, size_t)
                                   : longs >= 2 ? va_arg(ap, unsigned long long)
                                   : longs == 1 ? va_arg(ap, unsigned long)
                                                : va_arg(ap, unsigned int);
            put_unsigned(&o, v, p[-1] == 'x' ? 16 : 10);
            break;
        }
        default:
            goto unsupported;
        }
    }
    buf[o.len] = '\0';
    va_end(original);
    return o.len;

unsupported:
    result = fall_back(buf, size, fmt, original);
    va_end(original);
    return result;
}

size_t hv_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = hv_vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

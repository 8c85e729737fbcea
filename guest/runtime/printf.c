/*
 * guest/runtime/printf.c - the guest runtime's formatted output (hv_guest.h):
 * gprintf to the console (one locked, buffered write per call) and
 * gsnprintf into a buffer. A small printf subset: %d %i %u %x %X %c %s %p
 * %%, length modifiers hh h l ll z j t, flags '-' '0' '#', a width and a
 * precision (numbers in digits, %s in characters), '*' for either.
 */
#include "hv_guest.h"

#include <stdbool.h>

typedef struct sink {
    char *buf;
    size_t cap;      /* bytes in buf (for a string: including the NUL) */
    size_t len;      /* bytes in buf now */
    size_t total;    /* bytes produced */
    bool to_console; /* flush buf to the console when full */
} sink;

static void put(sink *s, char c)
{
    if (s->to_console) {
        if (s->len == s->cap) {
            console_write(s->buf, s->len);
            s->len = 0;
        }
        s->buf[s->len++] = c;
    } else if (s->len + 1 < s->cap) {
        s->buf[s->len++] = c;
    }
    s->total++;
}

static void put_n(sink *s, char c, int n)
{
    for (int i = 0; i < n; i++)
        put(s, c);
}

typedef struct spec {
    bool left;     /* '-' */
    bool zero;     /* '0' */
    bool alt;      /* '#' */
    int width;     /* -1: none */
    int precision; /* -1: none */
} spec;

static void put_padded(sink *s, const spec *sp, const char *prefix, const char *body, int len)
{
    int plen = 0, zeros = 0, pad;

    while (prefix[plen])
        plen++;
    if (sp->precision > len)
        zeros = sp->precision - len;
    pad = sp->width - plen - zeros - len;
    if (pad < 0)
        pad = 0;
    if (sp->zero && !sp->left && sp->precision < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!sp->left)
        put_n(s, ' ', pad);
    for (int i = 0; i < plen; i++)
        put(s, prefix[i]);
    put_n(s, '0', zeros);
    for (int i = 0; i < len; i++)
        put(s, body[i]);
    if (sp->left)
        put_n(s, ' ', pad);
}

static void put_number(sink *s, const spec *sp, unsigned long long value, bool negative,
                       unsigned int base, bool upper, const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;

    /* digits in reverse, then reversed in place */
    do {
        tmp[n++] = digits[value % base];
        value /= base;
    } while (value != 0);
    if (sp->precision == 0 && n == 1 && tmp[0] == '0')
        n = 0; /* printf: %.0d of 0 prints no digits */
    for (int i = 0; i < n / 2; i++) {
        char t = tmp[i];

        tmp[i] = tmp[n - 1 - i];
        tmp[n - 1 - i] = t;
    }
    put_padded(s, sp, negative ? "-" : prefix, tmp, n);
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static void format(sink *s, const char *fmt, va_list ap)
{
    while (*fmt) {
        spec sp = {false, false, false, -1, -1};
        enum length length = LEN_INT;
        unsigned long long u;
        long long v;
        char c;

        if (*fmt != '%') {
            put(s, *fmt++);
            continue;
        }
        fmt++;
        for (;; fmt++) {
            if (*fmt == '-')
                sp.left = true;
            else if (*fmt == '0')
                sp.zero = true;
            else if (*fmt == '#')
                sp.alt = true;
            else if (*fmt != ' ' && *fmt != '+')
                break;
        }
        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            fmt++;
        } else {
            for (sp.width = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
                sp.width = sp.width * 10 + (*fmt - '0');
        }
        if (*fmt == '.') {
            fmt++;
            if (*fmt == '*') {
                sp.precision = va_arg(ap, int);
                fmt++;
            } else {
                for (sp.precision = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
                    sp.precision = sp.precision * 10 + (*fmt - '0');
            }
        }
        switch (*fmt) {
        case 'h':
            fmt++;
            length = LEN_SHORT;
            if (*fmt == 'h') {
                fmt++;
                length = LEN_CHAR;
            }
            break;
        case 'l':
            fmt++;
            length = LEN_LONG;
            if (*fmt == 'l') {
                fmt++;
                length = LEN_LLONG;
            }
            break;
        case 'z':
        case 'j':
        case 't':
            fmt++;
            length = LEN_SIZE; /* size_t, intmax_t, ptrdiff_t: all 64-bit here */
            break;
        default:
            break;
        }
        c = *fmt;
        if (c == '\0')
            break;
        fmt++;
        switch (c) {
        case 'd':
        case 'i':
            switch (length) {
            case LEN_LONG:
            case LEN_LLONG:
            case LEN_SIZE:
                v = va_arg(ap, long long);
                break;
            case LEN_SHORT:
                v = (short)va_arg(ap, int);
                break;
            case LEN_CHAR:
                v = (signed char)va_arg(ap, int);
                break;
            default:
                v = va_arg(ap, int);
                break;
            }
            u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            put_number(s, &sp, u, v < 0, 10, false, "");
            break;
        case 'u':
        case 'x':
        case 'X':
            switch (length) {
            case LEN_LONG:
            case LEN_LLONG:
            case LEN_SIZE:
                u = va_arg(ap, unsigned long long);
                break;
            case LEN_SHORT:
                u = (unsigned short)va_arg(ap, unsigned int);
                break;
            case LEN_CHAR:
                u = (unsigned char)va_arg(ap, unsigned int);
                break;
            default:
                u = va_arg(ap, unsigned int);
                break;
            }
            if (c == 'u')
                put_number(s, &sp, u, false, 10, false, "");
            else
                put_number(s, &sp, u, false, 16, c == 'X',
                           sp.alt && u != 0 ? (c == 'X' ? "0X" : "0x") : "");
            break;
        case 'p':
            u = (unsigned long long)(uintptr_t)va_arg(ap, const void *);
            put_number(s, &sp, u, false, 16, false, "0x");
            break;
        case 'c': {
            char ch = (char)va_arg(ap, int);

            sp.precision = -1;
            sp.zero = false;
            put_padded(s, &sp, "", &ch, 1);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            int n = 0;

            if (!str)
                str = "(null)";
            while (str[n] && (sp.precision < 0 || n < sp.precision))
                n++;
            sp.precision = -1;
            sp.zero = false;
            put_padded(s, &sp, "", str, n);
            break;
        }
        case '%':
            put(s, '%');
            break;
        default: /* not supported: shown as written */
            put(s, '%');
            put(s, c);
            break;
        }
    }
}

static hv_spinlock console_lock;

int gvprintf(const char *fmt, va_list ap)
{
    char buf[256];
    sink s = {buf, sizeof(buf), 0, 0, true};

    hv_spin_lock(&console_lock);
    format(&s, fmt, ap);
    console_write(s.buf, s.len);
    hv_spin_unlock(&console_lock);
    return (int)s.total;
}

int gprintf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = gvprintf(fmt, ap);
    va_end(ap);
    return n;
}

int gvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    sink s = {buf, size, 0, 0, false};

    format(&s, fmt, ap);
    if (size > 0)
        buf[s.len] = '\0';
    return (int)s.total;
}

int gsnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = gvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

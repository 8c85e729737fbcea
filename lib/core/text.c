/*
 * core/text.c - strict UTF-8 decoding, quoting of outside text for
 * messages, and making it valid UTF-8 or printable (core/text.h).
 */
#include "core/text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* U+FFFD, the replacement character, in UTF-8. */
#define REPLACEMENT     "\xef\xbf\xbd"
#define REPLACEMENT_LEN 3
/* The most bytes hv_quote_n() writes for one byte of text: \u00XX. */
#define QUOTE_GROWTH 6

size_t hv_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. */
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (u[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

bool hv_text_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
           (cp >= 0xe0000 && cp <= 0xe007f);
}

size_t hv_text_unprintable_at(const char *text, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = hv_utf8_decode(text + i, len - i, &cp);

        if (n == 0 || hv_text_is_control(cp))
            return i;
        i += n;
    }
    return len;
}

const char *hv_quote_n(char *buf, size_t size, const char *text, size_t len)
{
    size_t out = 0, i = 0, safe = 0; /* safe: the last end of a piece with room for "..." */

    if (size < 5) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    while (i < len) {
        char piece[16];
        uint32_t cp;
        size_t n = hv_utf8_decode(text + i, len - i, &cp), plen;

        if (n == 0) {
            snprintf(piece, sizeof(piece), "\\x%02x", (unsigned int)(unsigned char)text[i]);
            n = 1;
        } else if (cp == '\\') {
            snprintf(piece, sizeof(piece), "\\\\");
        } else if (cp == '\n' || cp == '\r' || cp == '\t') {
            snprintf(piece, sizeof(piece), "\\%c", cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't');
        } else if (hv_text_is_control(cp)) {
            snprintf(piece, sizeof(piece), cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned int)cp);
        } else {
            memcpy(piece, text + i, n);
            piece[n] = '\0';
        }
        plen = strlen(piece);
        if (out + plen >= size) {
            memcpy(buf + safe, "...", 3);
            out = safe + 3;
            break;
        }
        memcpy(buf + out, piece, plen);
        out += plen;
        if (out + 3 < size)
            safe = out;
        i += n;
    }
    buf[out] = '\0';
    return buf;
}

const char *hv_quote(char *buf, size_t size, const char *text)
{
    return text ? hv_quote_n(buf, size, text, strlen(text)) : hv_quote_n(buf, size, "(null)", 6);
}

char *hv_quote_dup(const char *text)
{
    size_t len = strlen(text), size;
    char *buf;

    if (len > (SIZE_MAX - 5) / QUOTE_GROWTH)
        return NULL;
    size = QUOTE_GROWTH * len + 5; /* room for every escape: nothing is cut */
    buf = malloc(size);
    return buf ? (char *)hv_quote_n(buf, size, text, len) : NULL;
}

char *hv_text_printable_dup(const char *text)
{
    size_t len = strlen(text);
    char *copy;

    if (hv_text_unprintable_at(text, len) < len)
        return hv_quote_dup(text);
    copy = malloc(len + 1);
    return copy ? memcpy(copy, text, len + 1) : NULL;
}

bool hv_utf8_valid(const char *text, size_t len)
{
    uint32_t cp;

    for (size_t i = 0, n; i < len; i += n)
        if ((n = hv_utf8_decode(text + i, len - i, &cp)) == 0)
            return false;
    return true;
}

char *hv_utf8_repair_n(char *buf, size_t size, const char *text, size_t len)
{
    size_t out = 0, i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = hv_utf8_decode(text + i, len - i, &cp);
        const char *piece = n ? text + i : REPLACEMENT;
        size_t plen = n ? n : REPLACEMENT_LEN;

        if (out + plen >= size)
            break;
        memcpy(buf + out, piece, plen);
        out += plen;
        i += n ? n : 1;
    }
    buf[out] = '\0';
    return buf;
}

char *hv_utf8_repair_dup(const char *text)
{
    size_t len = strlen(text), size;
    char *buf;

    if (len > (SIZE_MAX - 1) / REPLACEMENT_LEN)
        return NULL;
    size = REPLACEMENT_LEN * len + 1;
    buf = malloc(size);
    return buf ? hv_utf8_repair_n(buf, size, text, len) : NULL;
}

size_t hv_utf8_trim_partial(const char *text, size_t len)
{
    const unsigned char *u = (const unsigned char *)text;

    /* back over up to 3 continuation bytes to the byte that starts their character */
    for (size_t back = 1; back <= 4 && back <= len; back++) {
        unsigned char c = u[len - back];
        size_t need;

        if ((c & 0xc0) == 0x80)
            continue;
        need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        return need > back ? len - back : len;
    }
    return len;
}

bool hv_text_expand_index(const char *pattern, uint64_t index, char *out, size_t size)
{
    static const char token[] = "{index}";
    size_t used = 0;

    for (const char *p = pattern; *p;) {
        char piece[24];
        const char *from = p;
        size_t n = 1;

        if (strncmp(p, token, sizeof(token) - 1) == 0) {
            n = (size_t)snprintf(piece, sizeof(piece), "%llu", (unsigned long long)index);
            from = piece;
            p += sizeof(token) - 1;
        } else {
            p++;
        }
        if (used + n >= size)
            return false;
        memcpy(out + used, from, n);
        used += n;
    }
    if (size == 0)
        return false;
    out[used] = '\0';
    return true;
}

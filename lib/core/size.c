/*
 * core/size.c - parsing and formatting memory sizes. Fractions are parsed
 * exactly (as a decimal numerator/denominator), never through floating point,
 * so "1.5TiB" is exactly 1649267441664 bytes.
 */
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "core/text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <hpcvirt/size.h>

__extension__ typedef unsigned __int128 u128;

static const struct {
    const char *suffix;
    uint64_t multiplier;
} size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", UINT64_C(1) << 10},
    {"kib", UINT64_C(1) << 10},
    {"m", UINT64_C(1) << 20},
    {"mib", UINT64_C(1) << 20},
    {"g", UINT64_C(1) << 30},
    {"gib", UINT64_C(1) << 30},
    {"t", UINT64_C(1) << 40},
    {"tib", UINT64_C(1) << 40},
    {"p", UINT64_C(1) << 50},
    {"pib", UINT64_C(1) << 50},
    {"e", UINT64_C(1) << 60},
    {"eib", UINT64_C(1) << 60},
    {"kb", UINT64_C(1000)},
    {"mb", UINT64_C(1000000)},
    {"gb", UINT64_C(1000000000)},
    {"tb", UINT64_C(1000000000000)},
    {"pb", UINT64_C(1000000000000000)},
    {"eb", UINT64_C(1000000000000000000)},
};

/* "size 'TEXT' WHAT", the caller's text escaped and bounded (core/text.h). */
static int size_error(int code, const char *text, const char *what)
{
    char quoted[HV_QUOTE_SIZE];

    return hv_error_set(code, NULL, "size '%s' %s", hv_quote(quoted, sizeof(quoted), text), what);
}

static int size_syntax_error(const char *text)
{
    char quoted[HV_QUOTE_SIZE];

    return hv_error_set(HV_E_PARSE, NULL,
                        "'%s' is not a size: write a number with an optional unit, e.g. 4096, "
                        "\"64MiB\", \"1.5TiB\", \"512GiB\" (K/M/G/T and KiB.. are powers of 1024, "
                        "kB/MB/GB/TB powers of 1000)",
                        hv_quote(quoted, sizeof(quoted), text));
}

int hv_size_parse(const char *text, uint64_t *bytes)
{
    const char *p = text;
    uint64_t whole = 0, frac = 0, frac_scale = 1, mult = 0, result;
    char unit[8];
    size_t ulen = 0;
    bool any_digit = false;

    HV_CHECK_ARG(text, "text");
    HV_CHECK_ARG(bytes, "bytes");
    while (isspace((unsigned char)*p))
        p++;
    for (; isdigit((unsigned char)*p); p++) {
        any_digit = true;
        if (!hv_mul_u64(whole, 10, &whole) || !hv_add_u64(whole, (uint64_t)(*p - '0'), &whole))
            return size_error(HV_E_RANGE, text, "does not fit 64 bits");
    }
    if (*p == '.') {
        p++;
        for (; isdigit((unsigned char)*p); p++) {
            any_digit = true;
            if (frac_scale >= UINT64_C(1000000000000000000))
                return size_error(HV_E_RANGE, text, "has more decimals than can be exact");
            frac = frac * 10 + (uint64_t)(*p - '0');
            frac_scale *= 10;
        }
    }
    if (!any_digit)
        return size_syntax_error(text);
    while (isspace((unsigned char)*p))
        p++;
    while (*p && !isspace((unsigned char)*p)) {
        if (ulen + 1 >= sizeof(unit))
            return size_syntax_error(text);
        unit[ulen++] = (char)tolower((unsigned char)*p++);
    }
    unit[ulen] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        return size_syntax_error(text);
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
        if (strcmp(unit, size_units[i].suffix) == 0)
            mult = size_units[i].multiplier;
    if (!mult)
        return size_syntax_error(text);
    if (!hv_mul_u64(whole, mult, &result))
        return size_error(HV_E_RANGE, text, "does not fit 64 bits");
    if (frac) {
        /* frac / frac_scale * mult must be a whole number of bytes. */
        u128 f = (u128)frac * mult;

        if (f % frac_scale)
            return size_error(HV_E_RANGE, text,
                              "is not a whole number of bytes: use a smaller unit");
        f /= frac_scale;
        if (f > UINT64_MAX || !hv_add_u64(result, (uint64_t)f, &result))
            return size_error(HV_E_RANGE, text, "does not fit 64 bits");
    }
    *bytes = result;
    return 0;
}

int hv_size_format(uint64_t bytes, char *buf, size_t size)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned int u = 0;
    uint64_t unit = 1;
    u128 hundredths;
    uint64_t whole, frac;
    char text[32]; /* "18446744073709551615.99 EiB" at most */
    size_t n;

    if (!buf && size)
        return hv_error_null_arg(__func__, "buf");
    while (u + 1 < sizeof(names) / sizeof(names[0]) && bytes >= (unit << 10)) {
        unit <<= 10;
        u++;
    }
    /* Round to two decimals, half up. */
    hundredths = ((u128)bytes * 100 + unit / 2) / unit;
    whole = (uint64_t)(hundredths / 100);
    frac = (uint64_t)(hundredths % 100);
    if (frac == 0)
        n = hv_format(text, sizeof(text), "%llu %s", (unsigned long long)whole, names[u]);
    else if (frac % 10 == 0)
        n = hv_format(text, sizeof(text), "%llu.%c %s", (unsigned long long)whole,
                      (int)('0' + frac / 10), names[u]);
    else
        n = hv_format(text, sizeof(text), "%llu.%c%c %s", (unsigned long long)whole,
                      (int)('0' + frac / 10), (int)('0' + frac % 10), names[u]);
    /* snprintf's contract: truncate to size, return the length needed */
    if (size) {
        size_t copy = n < size ? n : size - 1;

        memcpy(buf, text, copy);
        buf[copy] = '\0';
    }
    return (int)n;
}

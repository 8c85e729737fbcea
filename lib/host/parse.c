/*
 * host/parse.c - sysfs/procfs text parsers. Strict about what they accept
 * and exact in what they report: every rejection names the file and line,
 * and says what was expected without quoting the text that did not parse
 * (it may be anything a host tree links to).
 */
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hv_text_trim(char *text)
{
    size_t len, start = 0;

    while (text[start] && isspace((unsigned char)text[start]))
        start++;
    len = strlen(text + start);
    memmove(text, text + start, len + 1);
    while (len && isspace((unsigned char)text[len - 1]))
        text[--len] = '\0';
}

/* Parse an unsigned number at *p (decimal or 0x hex); advances *p. */
static int scan_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    int base = 10;
    uint64_t v = 0;
    bool any = false;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (;; s++) {
        unsigned int d;

        if (isdigit((unsigned char)*s))
            d = (unsigned int)(*s - '0');
        else if (base == 16 && isxdigit((unsigned char)*s))
            d = (unsigned int)(tolower((unsigned char)*s) - 'a' + 10);
        else
            break;
        if (!hv_mul_u64(v, (uint64_t)base, &v) || !hv_add_u64(v, d, &v))
            return HV_E_RANGE;
        any = true;
    }
    if (!any)
        return HV_E_PARSE;
    *p = s;
    *out = v;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Skip blanks within a line (not newlines). */
static const char *skip_blanks(const char *p)
{
    while (is_blank(*p) || *p == '\r')
        p++;
    return p;
}

static const char *skip_space(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* The error for text that is not one number. */
static int not_a_number(const char *text, const char *where)
{
    if (!*skip_space(text))
        return hv_error_set(HV_E_PARSE, where, "%s is empty: expected a number", where);
    return hv_error_set(HV_E_PARSE, where,
                        "%s does not hold one number (decimal, or hex after 0x) and nothing else",
                        where);
}

int hv_parse_u64(const char *text, uint64_t *out, const char *where)
{
    const char *p = skip_space(text);
    int rc = scan_u64(&p, out);

    if (rc == HV_E_RANGE)
        return hv_error_set(HV_E_RANGE, where, "%s: number does not fit 64 bits", where);
    if (rc < 0 || *skip_space(p))
        return not_a_number(text, where);
    return 0;
}

int hv_parse_i64(const char *text, int64_t *out, const char *where)
{
    const char *p = skip_space(text);
    bool negative = false;
    uint64_t v;
    int rc;

    if (*p == '-') {
        negative = true;
        p++;
    }
    rc = scan_u64(&p, &v);
    if (rc == HV_E_RANGE || (rc == 0 && v > (uint64_t)INT64_MAX + negative))
        return hv_error_set(HV_E_RANGE, where, "%s: number out of range", where);
    if (rc < 0 || *skip_space(p))
        return not_a_number(text, where);
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int hv_parse_meminfo(const char *text, const char *key, uint64_t *value, const char *where)
{
    size_t klen = strlen(key);
    int lineno = 0;

    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        const char *p = line;
        char loc[512];

        lineno++;
        if (strncmp(p, "Node ", 5) == 0) { /* "Node 0 MemTotal: ..." */
            p += 5;
            while (isdigit((unsigned char)*p))
                p++;
            p = skip_space(p);
        }
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            uint64_t v;
            int rc;

            snprintf(loc, sizeof(loc), "%s:%d", where, lineno);
            p = skip_space(p + klen + 1);
            rc = scan_u64(&p, &v);
            if (rc == HV_E_RANGE)
                return hv_error_set(HV_E_RANGE, loc, "%s: %s does not fit 64 bits", loc, key);
            if (rc < 0)
                return hv_error_set(HV_E_PARSE, loc, "%s: %s has no number", loc, key);
            while (*p == ' ' || *p == '\t')
                p++;
            if (strncmp(p, "kB", 2) == 0) {
                if (!hv_mul_u64(v, 1024, &v))
                    return hv_error_set(HV_E_RANGE, loc, "%s: %s kB overflows 64 bits", loc, key);
                p += 2;
            }
            while (*p == ' ' || *p == '\t' || *p == '\r')
                p++;
            if (*p && *p != '\n')
                return hv_error_set(HV_E_PARSE, loc, "%s: unexpected text after %s", loc, key);
            *value = v;
            return 0;
        }
        line = eol ? eol + 1 : NULL;
    }
    return hv_error_set(HV_E_NOTFOUND, where, "%s has no %s line", where, key);
}

int hv_parse_distance_row(const char *text, int **values, size_t *count, const char *where)
{
    const char *p = skip_space(text);
    int *vals = NULL;
    size_t n = 0, cap = 0;

    while (*p) {
        uint64_t v;

        if (scan_u64(&p, &v) < 0 || (*p && !isspace((unsigned char)*p))) {
            free(vals);
            return hv_error_set(HV_E_PARSE, where,
                                "%s is not a row of NUMA distances: expected numbers 0-255 "
                                "separated by spaces",
                                where);
        }
        if (v > 255) {
            free(vals);
            return hv_error_set(HV_E_PARSE, where,
                                "%s: distance %zu is %llu; NUMA distances are 0-255", where, n + 1,
                                (unsigned long long)v);
        }
        if (HV_ARRAY_RESERVE(vals, cap, n + 1) < 0) {
            free(vals);
            return HV_E_NOMEM;
        }
        vals[n++] = (int)v;
        p = skip_space(p);
    }
    *values = vals;
    *count = n;
    return 0;
}

int hv_parse_resource(const char *text, hv_resource_line *lines, size_t max, size_t *count,
                      const char *where)
{
    const char *p = text;
    size_t n = 0;

    while (*p) {
        hv_resource_line r;
        char loc[512];

        if (*p == '\n') { /* tolerate blank lines */
            p++;
            continue;
        }
        snprintf(loc, sizeof(loc), "%s:%zu", where, n + 1);
        p = skip_space(p);
        if (!*p)
            break;
        if (scan_u64(&p, &r.start) < 0 || !is_blank(*p))
            goto bad;
        p = skip_blanks(p);
        if (scan_u64(&p, &r.end) < 0 || !is_blank(*p))
            goto bad;
        p = skip_blanks(p);
        if (scan_u64(&p, &r.flags) < 0)
            goto bad;
        p = skip_blanks(p);
        if (*p && *p != '\n')
            return hv_error_set(HV_E_PARSE, loc, "%s: unexpected text after the flags", loc);
        if (r.start == 0 && r.end == 0) {
            r.size = 0;
        } else if (r.end < r.start) {
            return hv_error_set(HV_E_PARSE, loc,
                                "%s: region ends (0x%llx) before it starts "
                                "(0x%llx)",
                                loc, (unsigned long long)r.end, (unsigned long long)r.start);
        } else if (!hv_add_u64(r.end - r.start, 1, &r.size)) {
            return hv_error_set(HV_E_PARSE, loc, "%s: region size overflows 64 bits", loc);
        }
        if (n < max)
            lines[n] = r;
        n++;
    }
    *count = n < max ? n : max;
    return 0;
bad : {
    char loc[512];

    snprintf(loc, sizeof(loc), "%s:%zu", where, n + 1);
    return hv_error_set(HV_E_PARSE, loc, "%s: expected three hex numbers (start end flags)", loc);
}
}

static void copy_value(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static bool has_word(const char *list, size_t len, const char *word)
{
    size_t wlen = strlen(word);

    for (const char *p = list; p + wlen <= list + len; p++) {
        if ((p == list || isspace((unsigned char)p[-1])) && strncmp(p, word, wlen) == 0 &&
            (p + wlen == list + len || isspace((unsigned char)p[wlen])))
            return true;
    }
    return false;
}

int hv_parse_cpuinfo(const char *text, hv_cpuinfo *out, const char *where)
{
    bool seen_flags = false;

    memset(out, 0, sizeof(*out));
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *colon = memchr(line, ':', len);

        if (colon) {
            size_t klen = (size_t)(colon - line);
            const char *value = colon + 1;
            size_t vlen;

            while (klen && isspace((unsigned char)line[klen - 1]))
                klen--;
            while (value < line + len && *value == ' ')
                value++;
            vlen = (size_t)(line + len - value);
#define KEY_IS(k) (klen == strlen(k) && strncmp(line, k, klen) == 0)
            if (KEY_IS("processor")) {
                out->processors++;
            } else if (KEY_IS("model name") && !out->model_name[0]) {
                copy_value(out->model_name, sizeof(out->model_name), value, vlen);
            } else if (KEY_IS("vendor_id") && !out->vendor[0]) {
                copy_value(out->vendor, sizeof(out->vendor), value, vlen);
            } else if (KEY_IS("cpu MHz") && out->mhz == 0) {
                out->mhz = strtod(value, NULL);
                if (!(out->mhz > 0 && out->mhz < 1e6))
                    out->mhz = 0;
            } else if (KEY_IS("address sizes") && !out->phys_addr_bits) {
                unsigned int phys = 0, virt = 0;
                char buf[96];

                copy_value(buf, sizeof(buf), value, vlen);
                if (sscanf(buf, "%u bits physical, %u bits virtual", &phys, &virt) != 2 ||
                    phys < 32 || phys > 64 || virt < 32 || virt > 64)
                    return hv_error_set(HV_E_PARSE, where,
                                        "%s: the 'address sizes' line is not 'N bits physical, "
                                        "M bits virtual' with N and M from 32 to 64",
                                        where);
                out->phys_addr_bits = phys;
                out->virt_addr_bits = virt;
            } else if (KEY_IS("flags") && !seen_flags) {
                seen_flags = true;
                out->has_pdpe1gb = has_word(value, vlen, "pdpe1gb");
                out->has_hypervisor = has_word(value, vlen, "hypervisor");
                out->has_aperfmperf = has_word(value, vlen, "aperfmperf");
                out->has_constant_tsc = has_word(value, vlen, "constant_tsc");
            }
#undef KEY_IS
        }
        line = eol ? eol + 1 : NULL;
    }
    return 0;
}

int hv_parse_hugepage_dirname(const char *name, uint64_t *page_bytes)
{
    const char *p;
    uint64_t kb;

    if (strncmp(name, "hugepages-", 10) != 0)
        return HV_E_PARSE;
    p = name + 10;
    /* Decimal without leading zeros, as the kernel names them: a name this
     * accepts is at most 32 bytes, which the paths built from it rely on. */
    if (*p == '0' || scan_u64(&p, &kb) < 0 || strcmp(p, "kB") != 0 || kb == 0 ||
        !hv_mul_u64(kb, 1024, page_bytes))
        return HV_E_PARSE;
    return 0;
}

int hv_parse_numbered_state(const char *text, int *number, char *name, size_t name_size,
                            const char *where)
{
    const char *p = skip_space(text);
    uint64_t v;
    size_t len;

    if (scan_u64(&p, &v) < 0 || v > 1000 || *p != ':')
        return hv_error_set(HV_E_PARSE, where,
                            "%s is not 'N: NAME' (a number up to 1000, a colon and a name)", where);
    p = skip_space(p + 1);
    len = strlen(p);
    while (len && isspace((unsigned char)p[len - 1]))
        len--;
    copy_value(name, name_size, p, len);
    *number = (int)v;
    return 0;
}

unsigned int hv_parse_rate_gbps(const char *text)
{
    const char *p = skip_space(text);
    uint64_t v;

    if (scan_u64(&p, &v) < 0 || v > 100000)
        return 0;
    if (*p == '.') { /* "2.5 Gb/sec" */
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    p = skip_space(p);
    if (strncmp(p, "Gb/sec", 6) != 0)
        return 0;
    return (unsigned int)v;
}

unsigned int hv_roce_active_mtu(unsigned int netdev_mtu)
{
    /* GRH 40 + UDP 8 + BTH 12 + XRC ext 4 + AtomicETH 28 + ICRC 4 */
    static const unsigned int ib_mtus[] = {4096, 2048, 1024, 512, 256};
    const unsigned int overhead = 40 + 8 + 12 + 4 + 28 + 4;

    if (netdev_mtu <= overhead)
        return 0;
    for (size_t i = 0; i < sizeof(ib_mtus) / sizeof(ib_mtus[0]); i++)
        if (netdev_mtu - overhead >= ib_mtus[i])
            return ib_mtus[i];
    return 0;
}

unsigned int hv_parse_link_speed_mts(const char *text)
{
    const char *p = skip_space(text);
    uint64_t whole, frac = 0;

    if (scan_u64(&p, &whole) < 0 || whole > 1000)
        return 0;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        frac = (uint64_t)(*p - '0');
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (strncmp(skip_space(p), "GT/s", 4) != 0)
        return 0;
    return (unsigned int)(whole * 1000 + frac * 100);
}

bool hv_is_pci_address(const char *text)
{
    /* dddd:bb:dd.f */
    static const char shape[] = "xxxx:xx:xx.x";

    if (strlen(text) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'x' ? !isxdigit((unsigned char)text[i]) : text[i] != shape[i])
            return false;
    }
    return true;
}

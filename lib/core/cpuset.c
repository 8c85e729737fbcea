/*
 * core/cpuset.c - CPU bitmaps and the cpulist text format.
 */
#include "core/cpuset.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hv_cpuset_clear(hv_cpuset *set)
{
    free(set->words);
    set->words = NULL;
    set->nwords = 0;
}

int hv_cpuset_add(hv_cpuset *set, unsigned int cpu)
{
    size_t word = cpu / 64;

    if (cpu >= HV_CPUSET_LIMIT)
        return hv_error_set(HV_E_RANGE, NULL, "CPU number %u is beyond the supported limit %u", cpu,
                            HV_CPUSET_LIMIT);
    if (word >= set->nwords) {
        size_t nwords = word + 1;
        uint64_t *w = hv_reallocarray(set->words, nwords, sizeof(*w));

        if (!w)
            return HV_E_NOMEM;
        memset(w + set->nwords, 0, (nwords - set->nwords) * sizeof(*w));
        set->words = w;
        set->nwords = nwords;
    }
    set->words[word] |= UINT64_C(1) << (cpu % 64);
    return 0;
}

void hv_cpuset_remove(hv_cpuset *set, unsigned int cpu)
{
    if (cpu / 64 < set->nwords)
        set->words[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
}

bool hv_cpuset_has(const hv_cpuset *set, unsigned int cpu)
{
    return cpu / 64 < set->nwords && (set->words[cpu / 64] >> (cpu % 64)) & 1;
}

size_t hv_cpuset_count(const hv_cpuset *set)
{
    size_t n = 0;

    for (size_t i = 0; i < set->nwords; i++)
        n += (size_t)__builtin_popcountll(set->words[i]);
    return n;
}

int hv_cpuset_copy(hv_cpuset *dst, const hv_cpuset *src)
{
    uint64_t *w = NULL;

    if (src->nwords) {
        w = hv_reallocarray(NULL, src->nwords, sizeof(*w));
        if (!w)
            return HV_E_NOMEM;
        memcpy(w, src->words, src->nwords * sizeof(*w));
    }
    free(dst->words);
    dst->words = w;
    dst->nwords = src->nwords;
    return 0;
}

bool hv_cpuset_intersects(const hv_cpuset *a, const hv_cpuset *b)
{
    size_t n = a->nwords < b->nwords ? a->nwords : b->nwords;

    for (size_t i = 0; i < n; i++)
        if (a->words[i] & b->words[i])
            return true;
    return false;
}

int hv_cpuset_next(const hv_cpuset *set, unsigned int from)
{
    size_t word = from / 64;

    if (word >= set->nwords)
        return -1;
    uint64_t bits = set->words[word] & (~UINT64_C(0) << (from % 64));
    for (;;) {
        if (bits)
            return (int)(word * 64 + (size_t)__builtin_ctzll(bits));
        if (++word >= set->nwords)
            return -1;
        bits = set->words[word];
    }
}

static int parse_number(const char **p, unsigned long *out)
{
    char *end;

    if (!isdigit((unsigned char)**p))
        return -1;
    errno = 0;
    *out = strtoul(*p, &end, 10);
    if (errno || end == *p)
        return -1;
    *p = end;
    return 0;
}

int hv_cpuset_parse(hv_cpuset *set, const char *text, const char *where)
{
    const char *p = text;
    char quoted[HV_QUOTE_SIZE]; /* the list is the caller's: shown escaped, about 64 characters */

    hv_cpuset_clear(set);
    while (isspace((unsigned char)*p))
        p++;
    while (*p && !isspace((unsigned char)*p)) {
        unsigned long first, last;

        if (parse_number(&p, &first) < 0)
            goto bad;
        last = first;
        if (*p == '-') {
            p++;
            if (parse_number(&p, &last) < 0)
                goto bad;
        }
        if (last < first) {
            hv_cpuset_clear(set);
            return hv_error_set(HV_E_PARSE, where, "%s: reversed range %lu-%lu in CPU list '%s'",
                                where ? where : "CPU list", first, last,
                                hv_quote(quoted, sizeof(quoted), text));
        }
        if (last >= HV_CPUSET_LIMIT) {
            hv_cpuset_clear(set);
            return hv_error_set(HV_E_PARSE, where,
                                "%s: %lu in the list is beyond the supported limit %u",
                                where ? where : "CPU list", last, HV_CPUSET_LIMIT);
        }
        for (unsigned long c = first; c <= last; c++)
            if (hv_cpuset_add(set, (unsigned int)c) < 0) {
                hv_cpuset_clear(set);
                return HV_E_NOMEM;
            }
        if (*p == ',') {
            p++;
            if (!isdigit((unsigned char)*p))
                goto bad;
        } else if (*p && !isspace((unsigned char)*p)) {
            goto bad;
        }
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        goto bad;
    return 0;
bad:
    hv_cpuset_clear(set);
    return hv_error_set(HV_E_PARSE, where,
                        "%s: '%s' is not a CPU list (expected ranges like 0-3,8,10-11)",
                        where ? where : "CPU list", hv_quote(quoted, sizeof(quoted), text));
}

/* The first non-member >= from (may be past the end of the words). */
static unsigned int next_clear(const hv_cpuset *set, unsigned int from)
{
    size_t word = from / 64;
    uint64_t bits;

    if (word >= set->nwords)
        return from;
    bits = ~set->words[word] & (~UINT64_C(0) << (from % 64));
    for (;;) {
        if (bits)
            return (unsigned int)(word * 64 + (size_t)__builtin_ctzll(bits));
        if (++word >= set->nwords)
            return (unsigned int)(word * 64);
        bits = ~set->words[word];
    }
}

static char *format_uint(char *p, unsigned int v)
{
    char digits[12];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = digits[--n];
    return p;
}

char *hv_format_range(char *buf, unsigned int first, unsigned int last)
{
    char *p = format_uint(buf, first);

    if (last != first) {
        *p++ = '-';
        p = format_uint(p, last);
    }
    *p = '\0';
    return p;
}

static char *format_into(const hv_cpuset *set, hv_arena *arena)
{
    /* Each range takes at most 10 + 1 + 10 digits and a comma. */
    size_t ranges = 0;
    char *out, *p;
    int cpu;

    for (cpu = hv_cpuset_next(set, 0); cpu >= 0;) {
        ranges++;
        cpu = hv_cpuset_next(set, next_clear(set, (unsigned int)cpu));
    }
    out = arena ? hv_arena_alloc_raw(arena, ranges * 23 + 1) : malloc(ranges * 23 + 1);
    if (!out) {
        hv_error_nomem();
        return NULL;
    }
    p = out;
    *p = '\0';
    for (cpu = hv_cpuset_next(set, 0); cpu >= 0;) {
        unsigned int end = next_clear(set, (unsigned int)cpu);

        if (p != out)
            *p++ = ',';
        p = hv_format_range(p, (unsigned int)cpu, end - 1);
        cpu = hv_cpuset_next(set, end);
    }
    return out;
}

char *hv_cpuset_format(const hv_cpuset *set)
{
    return format_into(set, NULL);
}

char *hv_cpuset_format_arena(const hv_cpuset *set, hv_arena *arena)
{
    return format_into(set, arena);
}

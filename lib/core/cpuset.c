/*
 * core/cpuset.c - CPU bitmaps and the cpulist text format.
 */
#include "core/cpuset.h"
#include "core/alloc.h"
#include "core/error.h"

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
                                where ? where : "CPU list", first, last, text);
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
                        "%s: '%.64s' is not a CPU list (expected ranges like 0-3,8,10-11)",
                        where ? where : "CPU list", text);
}

char *hv_cpuset_format(const hv_cpuset *set)
{
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    int cpu;

    if (!out) {
        hv_error_nomem();
        return NULL;
    }
    out[0] = '\0';
    cpu = hv_cpuset_next(set, 0);
    while (cpu >= 0) {
        int last = cpu, next;
        char item[32];
        int n;

        while ((next = hv_cpuset_next(set, (unsigned int)last + 1)) == last + 1)
            last = next;
        if (last == cpu)
            n = snprintf(item, sizeof(item), "%s%d", len ? "," : "", cpu);
        else
            n = snprintf(item, sizeof(item), "%s%d-%d", len ? "," : "", cpu, last);
        if (len + (size_t)n + 1 > cap) {
            char *grown;

            while (len + (size_t)n + 1 > cap)
                cap *= 2;
            grown = realloc(out, cap);
            if (!grown) {
                free(out);
                hv_error_nomem();
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, item, (size_t)n + 1);
        len += (size_t)n;
        cpu = next;
    }
    return out;
}

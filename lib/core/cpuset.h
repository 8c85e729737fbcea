/*
 * core/cpuset.h - growable bitmaps of CPU (or node) numbers and the kernel's
 * cpulist text format ("0-3,8,10-11") in both directions (internal).
 */
#ifndef HV_CORE_CPUSET_H
#define HV_CORE_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest CPU number + 1 accepted from any input (the kernel's NR_CPUS ceiling). */
#define HV_CPUSET_LIMIT 8192

typedef struct hv_cpuset {
    uint64_t *words;
    size_t nwords;
} hv_cpuset;

#define HV_CPUSET_EMPTY                                                                            \
    {                                                                                              \
        NULL, 0                                                                                    \
    }

void hv_cpuset_clear(hv_cpuset *set); /* frees storage; the set is empty again */
int hv_cpuset_add(hv_cpuset *set, unsigned int cpu);
void hv_cpuset_remove(hv_cpuset *set, unsigned int cpu);
bool hv_cpuset_has(const hv_cpuset *set, unsigned int cpu);
size_t hv_cpuset_count(const hv_cpuset *set);
int hv_cpuset_copy(hv_cpuset *dst, const hv_cpuset *src);
bool hv_cpuset_intersects(const hv_cpuset *a, const hv_cpuset *b);
/* The first member >= from, or -1. */
int hv_cpuset_next(const hv_cpuset *set, unsigned int from);
#define HV_CPUSET_FOREACH(cpu, set)                                                                \
    for (int cpu = hv_cpuset_next((set), 0); cpu >= 0; cpu = hv_cpuset_next((set), cpu + 1))

/*
 * Parse kernel cpulist text into *set (which is cleared first). Leading and
 * trailing whitespace is allowed, an empty list gives an empty set. Errors:
 * HV_E_PARSE naming `where` (a file path) for bad syntax, reversed ranges or
 * numbers >= HV_CPUSET_LIMIT.
 */
int hv_cpuset_parse(hv_cpuset *set, const char *text, const char *where);

/* Write "first" or "first-last" plus a NUL into buf (at least 24 bytes); the end. */
char *hv_format_range(char *buf, unsigned int first, unsigned int last);

/* Format as cpulist text ("" for an empty set). Caller frees. NULL on ENOMEM. */
char *hv_cpuset_format(const hv_cpuset *set);
/* The same text allocated from an arena. */
struct hv_arena;
char *hv_cpuset_format_arena(const hv_cpuset *set, struct hv_arena *arena);

#endif

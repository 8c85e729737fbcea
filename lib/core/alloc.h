/*
 * core/alloc.h - allocation helpers with overflow checks (internal). They set
 * the thread's error on failure so callers can just return HV_E_NOMEM.
 */
#ifndef HV_CORE_ALLOC_H
#define HV_CORE_ALLOC_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

void *hv_calloc(size_t count, size_t size);
void *hv_reallocarray(void *ptr, size_t count, size_t size);
char *hv_strdup(const char *s);
char *hv_strndup(const char *s, size_t n);
char *hv_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *items (of *cap elements of `size`) so index `need - 1` fits. 0 or HV_E_NOMEM. */
int hv_array_reserve(void **items, size_t *cap, size_t need, size_t size);

#define HV_ARRAY_RESERVE(items, cap, need)                                                         \
    hv_array_reserve((void **)&(items), &(cap), (need), sizeof(*(items)))

/* Copy a string into a fixed buffer, truncating; returns dst. */
static inline char *hv_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = 0;

    while (n + 1 < size && src[n]) {
        dst[n] = src[n];
        n++;
    }
    if (size)
        dst[n] = '\0';
    return dst;
}

/* Sort a short array in place, largest first (insertion sort: n is a few dozen at most). */
static inline void hv_sort_u64_desc(uint64_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        size_t j = i;

        for (; j > 0 && v[j - 1] < x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Checked arithmetic: false on overflow. */
static inline bool hv_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool hv_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

#endif

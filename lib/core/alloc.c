/*
 * core/alloc.c - allocation helpers and hv_free(), the release function for
 * memory the library hands to callers.
 */
#include "core/alloc.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hv_free(void *ptr)
{
    free(ptr);
}

void *hv_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);

    if (!p)
        hv_error_nomem();
    return p;
}

void *hv_reallocarray(void *ptr, size_t count, size_t size)
{
    size_t bytes;
    void *p;

    if (__builtin_mul_overflow(count, size, &bytes)) {
        hv_error_nomem();
        return NULL;
    }
    p = realloc(ptr, bytes ? bytes : 1);
    if (!p)
        hv_error_nomem();
    return p;
}

char *hv_strdup(const char *s)
{
    char *p = strdup(s ? s : "");

    if (!p)
        hv_error_nomem();
    return p;
}

char *hv_strndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (!p)
        hv_error_nomem();
    return p;
}

char *hv_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    int rc;

    va_start(ap, fmt);
    rc = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (rc < 0) {
        hv_error_nomem();
        return NULL;
    }
    return p;
}

int hv_array_reserve(void **items, size_t *cap, size_t need, size_t size)
{
    size_t new_cap;
    void *p;

    if (need <= *cap)
        return 0;
    new_cap = *cap ? *cap : 4;
    while (new_cap < need) {
        if (__builtin_mul_overflow(new_cap, 2, &new_cap))
            return hv_error_nomem();
    }
    p = hv_reallocarray(*items, new_cap, size);
    if (!p)
        return HV_E_NOMEM;
    memset((char *)p + *cap * size, 0, (new_cap - *cap) * size);
    *items = p;
    *cap = new_cap;
    return 0;
}

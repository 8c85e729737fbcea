/*
 * guest/runtime/string.c - the C library string functions a compiler may
 * emit calls to even in freestanding code (struct copies, zeroing):
 * memcpy, memmove, memset with the x86 string instructions (fast with
 * ERMS, and never turned back into calls to themselves), memcmp, strlen.
 * DF is clear at entry (rflags 0x3002) and the compiler keeps it clear.
 */
#include "hv_guest.h"

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;

    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    /* overlapping with dst above src: copy backwards, last byte first */
    d += n - 1;
    s += n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;

    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;

    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s)
{
    const volatile char *p = s;
    size_t n = 0;

    while (p[n])
        n++;
    return n;
}

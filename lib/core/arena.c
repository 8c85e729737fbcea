/*
 * core/arena.c - the bump allocator: a chain of blocks, each at least twice
 * the previous, allocations aligned to max_align_t. Under AddressSanitizer
 * the unused space and a redzone after each allocation stay poisoned, so a
 * write past an arena allocation is caught like one past a malloc()ed block.
 */
#include "core/arena.h"
#include "core/error.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define HV_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HV_ARENA_ASAN 1
#endif
#endif

#ifdef HV_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE_BYTES  alignof(max_align_t)
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define REDZONE_BYTES  0
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct hv_arena_block {
    hv_arena_block *next;
    size_t used, size;
    alignas(max_align_t) unsigned char data[];
};

void *hv_arena_alloc_raw(hv_arena *arena, size_t size)
{
    const size_t align = alignof(max_align_t);
    hv_arena_block *b = arena->head;
    size_t need;
    void *p;

    if (size > SIZE_MAX - 2 * align) {
        hv_error_nomem();
        return NULL;
    }
    need = ((size + align - 1) & ~(align - 1)) + REDZONE_BYTES; /* redzone <= align */
    if (!b || b->size - b->used < need) {
        size_t bytes = arena->block_bytes ? arena->block_bytes : 4096;

        while (bytes < need)
            bytes *= 2;
        b = malloc(sizeof(*b) + bytes);
        if (!b) {
            hv_error_nomem();
            return NULL;
        }
        b->next = arena->head;
        b->used = 0;
        b->size = bytes;
        POISON(b->data, bytes);
        arena->head = b;
        arena->block_bytes = bytes * 2;
    }
    p = b->data + b->used;
    b->used += need;
    UNPOISON(p, size);
    return p;
}

void *hv_arena_alloc(hv_arena *arena, size_t size)
{
    void *p = hv_arena_alloc_raw(arena, size ? size : 1);

    if (p)
        memset(p, 0, size);
    return p;
}

char *hv_arena_strdup(hv_arena *arena, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = hv_arena_alloc_raw(arena, n);

    if (p)
        memcpy(p, s, n);
    return p;
}

void hv_arena_release(hv_arena *arena)
{
    hv_arena_block *b = arena->head;

    while (b) {
        hv_arena_block *next = b->next;

        UNPOISON(b->data, b->size);
        free(b);
        b = next;
    }
    arena->head = NULL;
}

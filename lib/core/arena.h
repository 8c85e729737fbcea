/*
 * core/arena.h - a bump allocator for objects built once and freed whole
 * (internal). A plan takes all its memory from one, so making and freeing a
 * plan costs a handful of malloc calls however many nodes, devices and
 * findings it has.
 */
#ifndef HV_CORE_ARENA_H
#define HV_CORE_ARENA_H

#include <stddef.h>

typedef struct hv_arena_block hv_arena_block;

typedef struct hv_arena {
    hv_arena_block *head;
    size_t block_bytes; /* size of the next block to allocate */
} hv_arena;

#define HV_ARENA_INIT(first_block_bytes)                                                           \
    {                                                                                              \
        NULL, (first_block_bytes)                                                                  \
    }

/* Zeroed memory aligned for any type; NULL (with the error set) on ENOMEM. */
void *hv_arena_alloc(hv_arena *arena, size_t size);
/* Uninitialized memory (callers fill it). */
void *hv_arena_alloc_raw(hv_arena *arena, size_t size);
char *hv_arena_strdup(hv_arena *arena, const char *s);
/* Free every block; the arena is empty and reusable. */
void hv_arena_release(hv_arena *arena);

#endif

/*
 * fuzz/fuzz.h - what every fuzz target shares: the libFuzzer entry point's
 * prototype, invariant checks that stop the run, and the input as a
 * NUL-terminated string.
 */
#ifndef HV_FUZZ_H
#define HV_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the code under test broke: stop here so libFuzzer keeps the input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* The input as a string (callers free it); NULL when memory ran out. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

#endif

/*
 * fuzz/fuzz-size.c - libFuzzer target for memory sizes (hpcvirt/size.h):
 * whatever hv_size_parse() accepts must format without error, and the
 * formatted text must itself be a size that parses.
 */
#include "fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>
#include <hpcvirt/size.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t bytes = 0, again = 0;
    char buf[64], tiny[4];
    char *text;
    int rc, len;

    text = fuzz_text(data, size);
    if (!text)
        return 0;

    hv_error_clear();
    rc = hv_size_parse(text, &bytes);
    if (rc < 0) {
        CHECK(rc == HV_E_PARSE || rc == HV_E_RANGE);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        goto out;
    }

    len = hv_size_format(bytes, buf, sizeof(buf));
    CHECK(len > 0 && (size_t)len < sizeof(buf));
    CHECK(strlen(buf) == (size_t)len);
    /* A short buffer gets a truncated, terminated prefix and the same length. */
    CHECK(hv_size_format(bytes, tiny, sizeof(tiny)) == len);
    CHECK(strlen(tiny) == sizeof(tiny) - 1 || strlen(tiny) == (size_t)len);
    CHECK(strncmp(tiny, buf, strlen(tiny)) == 0);
    CHECK(hv_size_format(bytes, NULL, 0) == len);

    /* "1.5 TiB", "1000 B": rounded to two decimals, but still a size. */
    rc = hv_size_parse(buf, &again);
    CHECK(rc == 0 || rc == HV_E_RANGE);
    if (rc == 0 && bytes < 1024)
        CHECK(again == bytes);

out:
    free(text);
    return 0;
}

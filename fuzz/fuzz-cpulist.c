/*
 * fuzz/fuzz-cpulist.c - libFuzzer target for the kernel cpulist format
 * (lib/core/cpuset.h): whatever hv_cpuset_parse() accepts must format to
 * text that parses back to the very same set, and the formatted text must be
 * canonical (formatting the re-parsed set gives it again).
 */
#include "core/cpuset.h"

#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>

static bool same_set(const hv_cpuset *a, const hv_cpuset *b)
{
    size_t n = a->nwords > b->nwords ? a->nwords : b->nwords;

    for (size_t i = 0; i < n; i++) {
        uint64_t wa = i < a->nwords ? a->words[i] : 0;
        uint64_t wb = i < b->nwords ? b->words[i] : 0;

        if (wa != wb)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_cpuset set = HV_CPUSET_EMPTY, again = HV_CPUSET_EMPTY;
    char *text, *formatted = NULL, *reformatted = NULL;
    size_t count = 0;
    int rc;

    text = fuzz_text(data, size);
    if (!text)
        return 0;

    hv_error_clear();
    rc = hv_cpuset_parse(&set, text, "fuzz/cpulist");
    if (rc < 0) {
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        /* A failed parse leaves the set empty and owns no memory. */
        CHECK(set.words == NULL && set.nwords == 0);
        goto out;
    }

    /* Every member is below the limit and counted once. */
    HV_CPUSET_FOREACH(cpu, &set)
    {
        CHECK(cpu >= 0 && cpu < HV_CPUSET_LIMIT);
        CHECK(hv_cpuset_has(&set, (unsigned int)cpu));
        count++;
    }
    CHECK(count == hv_cpuset_count(&set));

    formatted = hv_cpuset_format(&set);
    CHECK(formatted != NULL);
    rc = hv_cpuset_parse(&again, formatted, "fuzz/cpulist (formatted)");
    CHECK(rc == 0);
    CHECK(same_set(&set, &again));
    CHECK(hv_cpuset_count(&again) == count);
    CHECK((count == 0) == (formatted[0] == '\0'));

    reformatted = hv_cpuset_format(&again);
    CHECK(reformatted != NULL);
    CHECK(strcmp(formatted, reformatted) == 0);

out:
    free(reformatted);
    free(formatted);
    hv_cpuset_clear(&again);
    hv_cpuset_clear(&set);
    free(text);
    return 0;
}

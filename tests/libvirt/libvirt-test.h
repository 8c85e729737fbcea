/*
 * tests/libvirt/libvirt-test.h - helpers shared by the libvirt tests: the
 * example specs planned on fixture hosts (hv_test_fixture_host()).
 */
#ifndef HV_LIBVIRT_TEST_H
#define HV_LIBVIRT_TEST_H

#include "plan/test-hosts.h"

/* The text of examples/specs/NAME.json (free() it). */
static inline char *example_spec(const char *name)
{
    const char *src = getenv("HV_TEST_SRCDIR");
    char path[4096], *text;
    FILE *f;
    long len;

    snprintf(path, sizeof(path), "%s/examples/specs/%s.json", src ? src : ".", name);
    f = fopen(path, "r");
    if (!f)
        print_error("cannot open %s\n", path);
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

/* An example spec (examples/specs/NAME.json) planned on a fixture host. */
static inline hv_plan *example_plan(const hv_host *host, const char *name)
{
    char *text = example_spec(name);
    hv_plan *plan = test_plan(host, text);

    free(text);
    return plan;
}

#endif

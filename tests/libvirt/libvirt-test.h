/*
 * tests/libvirt/libvirt-test.h - helpers shared by the libvirt tests: fixture
 * hosts and the example specs planned on them.
 */
#ifndef HV_LIBVIRT_TEST_H
#define HV_LIBVIRT_TEST_H

#include "plan/test-hosts.h"

/* A fixture host (tests/fixtures/NAME); fails the test on errors. */
static inline hv_host *fixture(const char *name)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    char root[4096];

    snprintf(root, sizeof(root), "%s", hv_test_fixture(name));
    opts.root = root;
    assert_hv_ok(hv_host_discover(&host, &opts));
    return host;
}

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

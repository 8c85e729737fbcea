/*
 * tests/hv-test.h - helpers shared by the cmocka unit tests: error assertions
 * and fixture paths.
 */
#ifndef HV_TEST_H
#define HV_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <hpcvirt/hpcvirt.h>

/* Assert that `rc` is the negative code `code` and the thread's error agrees. */
#define assert_hv_error(rc, code)                                                                  \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != (code))                                                                         \
            print_error("expected %s, got %d (%s): %s\n", hv_error_code_name(code), rc_,           \
                        hv_error_code_name(rc_), hv_error_message(hv_error_last()));               \
        assert_int_equal(rc_, (code));                                                             \
        assert_int_equal(hv_error_code_of(hv_error_last()), (code));                               \
    } while (0)

/* Assert success, printing the library's message when it failed. */
#define assert_hv_ok(rc)                                                                           \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != 0)                                                                              \
            print_error("failed with %s: %s (at %s)\n", hv_error_code_name(rc_),                   \
                        hv_error_message(hv_error_last()), hv_error_path(hv_error_last()));        \
        assert_int_equal(rc_, 0);                                                                  \
    } while (0)

/* The last error's message contains `text`; if not, the failure shows the message. */
#define assert_error_mentions(text)                                                                \
    do {                                                                                           \
        const char *hv_message_ = hv_error_message(hv_error_last());                               \
        if (!strstr(hv_message_, (text)))                                                          \
            fail_msg("the error message lacks \"%s\": %s", (text), hv_message_);                   \
    } while (0)

/* Path of a fixture under tests/fixtures (static buffer). */
static inline const char *hv_test_fixture(const char *rel)
{
    static char buf[4096];
    const char *base = getenv("HV_TEST_FIXTURES");

    snprintf(buf, sizeof(buf), "%s/%s", base ? base : "tests/fixtures", rel);
    return buf;
}

#endif

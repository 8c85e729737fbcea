/* tests/core/test-format.c - the planner's printf subset (core/format.h)
 * gives what snprintf gives, for the conversions it handles itself and for
 * the ones it hands to vsnprintf, truncated the same way. */
#include "hv-test.h"

#include <limits.h>
#include <stdio.h>
#include "core/format.h"

/* truncation is what these tests are about */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* Both formatters on the same arguments, into buffers of `size` bytes. */
#define SAME(size, ...)                                                                            \
    do {                                                                                           \
        char mine[size], theirs[size];                                                             \
        int want = snprintf(theirs, sizeof(theirs), __VA_ARGS__);                                  \
        size_t got = hv_format(mine, sizeof(mine), __VA_ARGS__);                                   \
        assert_string_equal(mine, theirs);                                                         \
        assert_int_equal(got, (size_t)want < sizeof(theirs) ? (size_t)want : sizeof(theirs) - 1);  \
    } while (0)

static void test_handled_conversions(void **state)
{
    SAME(128, "plain text, no conversions");
    SAME(128, "%s and %s", "one", "two");
    SAME(128, "%.3s|%.*s|%.0s", "abcdef", 2, "xyz", "gone");
    SAME(128, "%c%c%c", 'a', '-', 'z');
    SAME(128, "%d %i %d %d", 0, -1, INT_MAX, INT_MIN);
    SAME(128, "%ld %lld %lld", LONG_MIN, LLONG_MAX, LLONG_MIN);
    SAME(128, "%u %lu %llu %zu", UINT_MAX, ULONG_MAX, ULLONG_MAX, (size_t)SIZE_MAX);
    SAME(128, "%x %lx %llx %zx", 0xdeadbeefu, 0xfUL, 0x123456789abcdefULL, (size_t)255);
    SAME(128, "%zd %zd", (ptrdiff_t)-5, (ptrdiff_t)7);
    SAME(128, "100%% sure, %d%%", 50);
    SAME(128, "accelerators[%zu].count", (size_t)12);
}

static void test_fallback_conversions(void **state)
{
    /* widths, flags, floats, pointers: vsnprintf does them, from the start */
    SAME(128, "%s %5d|%-4u|%02llu", "pad", 42, 7u, 3ULL);
    SAME(128, "%d then %.2f", 1, 3.14159);
    SAME(128, "%s %.3d", "late", 5);
    SAME(128, "%+d %#x", 3, 255u);
    SAME(128, "%s then %e", "sci", 12345.678);
}

static void test_truncation(void **state)
{
    SAME(1, "anything %d", 1);
    SAME(5, "%s", "truncated here");
    SAME(6, "%d-%d", 12345, 678);
    SAME(8, "abc%sdef", "0123456789");
    SAME(4, "%5d", 123456); /* truncated by vsnprintf */
    {
        char buf[4] = "xyz";

        assert_int_equal(hv_format(buf, 0, "%s", "untouched"), 0);
        assert_string_equal(buf, "xyz");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handled_conversions),
        cmocka_unit_test(test_fallback_conversions),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

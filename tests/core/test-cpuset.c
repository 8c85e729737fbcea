/*
 * tests/core/test-cpuset.c - CPU bitmaps and the kernel cpulist format; a
 * list that is refused is shown escaped and cut whole in the message.
 */
#include "hv-test.h"
#include "core/cpuset.h"
#include "core/text.h"

static void check_roundtrip(const char *text, const char *expect, size_t count)
{
    hv_cpuset set = HV_CPUSET_EMPTY;
    char *out;

    assert_hv_ok(hv_cpuset_parse(&set, text, "test"));
    assert_int_equal(hv_cpuset_count(&set), count);
    out = hv_cpuset_format(&set);
    assert_non_null(out);
    assert_string_equal(out, expect);
    free(out);
    hv_cpuset_clear(&set);
}

static void test_parse_format(void **state)
{
    check_roundtrip("0-3,8,10-11\n", "0-3,8,10-11", 7);
    check_roundtrip("0", "0", 1);
    check_roundtrip("\n", "", 0);
    check_roundtrip("", "", 0);
    check_roundtrip("  5-5 ", "5", 1);
    check_roundtrip("0-63,128-191", "0-63,128-191", 128);
    check_roundtrip("3,1,2", "1-3", 3);
    check_roundtrip("8191", "8191", 1);
    check_roundtrip("0-575", "0-575", 576);
}

static void test_parse_errors(void **state)
{
    static const char *const bad[] = {
        "a",   "1-",  "-1",    "1,,2", "1,", "3-1", "8192", "1 2", "0-99999999999999999999",
        "1:2", "0x3", "1-2-3", ","};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hv_cpuset set = HV_CPUSET_EMPTY;
        int rc = hv_cpuset_parse(&set, bad[i], "/sys/x/cpulist");
        if (rc != HV_E_PARSE)
            print_error("'%s' parsed (rc %d)\n", bad[i], rc);
        assert_int_equal(rc, HV_E_PARSE);
        assert_int_equal(hv_cpuset_count(&set), 0);
        assert_string_equal(hv_error_path(hv_error_last()), "/sys/x/cpulist");
    }
}

/* Refused with `shown` in a message of printable UTF-8 (escapes, no half characters). */
static void refuse_shown(const char *text, const char *shown)
{
    hv_cpuset set = HV_CPUSET_EMPTY;
    const char *message;

    assert_hv_error(hv_cpuset_parse(&set, text, "cpus"), HV_E_PARSE);
    message = hv_error_message(hv_error_last());
    if (hv_text_unprintable_at(message, strlen(message)) != strlen(message) ||
        !strstr(message, shown))
        print_error("expected '%s', printable, in: %s\n", shown, message);
    assert_int_equal(hv_text_unprintable_at(message, strlen(message)), strlen(message));
    assert_non_null(strstr(message, shown));
    assert_int_equal(hv_cpuset_count(&set), 0);
}

static void test_parse_errors_escaped(void **state)
{
    char euros[2 + 30 * 3 + 1] = "0,";

    refuse_shown("0-3\x1b[2J\x1b]0;pwned\x07\xff",
                 "cpus: '0-3\\u001b[2J\\u001b]0;pwned\\u0007\\xff' is not a CPU list");
    refuse_shown("3-1,\x1b[31m\xe2\x80\xae",
                 "reversed range 3-1 in CPU list '3-1,\\u001b[31m\\u202e'");
    refuse_shown("1\n2", "'1\\n2' is not a CPU list");
    /* a long list of multibyte characters is cut at a character boundary */
    for (int i = 0; i < 30; i++)
        strcat(euros, "\xe2\x82\xac");
    refuse_shown(euros, "cpus: '0,\xe2\x82\xac\xe2\x82\xac");
    assert_true(hv_utf8_valid(hv_error_message(hv_error_last()),
                              strlen(hv_error_message(hv_error_last()))));
    assert_error_mentions("...' is not a CPU list");
}

static void test_ops(void **state)
{
    hv_cpuset a = HV_CPUSET_EMPTY, b = HV_CPUSET_EMPTY;

    assert_int_equal(hv_cpuset_next(&a, 0), -1);
    assert_hv_ok(hv_cpuset_add(&a, 70));
    assert_hv_ok(hv_cpuset_add(&a, 3));
    assert_true(hv_cpuset_has(&a, 70));
    assert_false(hv_cpuset_has(&a, 71));
    assert_false(hv_cpuset_has(&a, 100000));
    assert_int_equal(hv_cpuset_next(&a, 0), 3);
    assert_int_equal(hv_cpuset_next(&a, 4), 70);
    assert_int_equal(hv_cpuset_next(&a, 71), -1);
    assert_hv_error(hv_cpuset_add(&a, HV_CPUSET_LIMIT), HV_E_RANGE);
    assert_hv_ok(hv_cpuset_copy(&b, &a));
    assert_true(hv_cpuset_intersects(&a, &b));
    hv_cpuset_remove(&b, 70);
    hv_cpuset_remove(&b, 3);
    hv_cpuset_remove(&b, 9999);
    assert_false(hv_cpuset_intersects(&a, &b));
    int n = 0;
    HV_CPUSET_FOREACH(cpu, &a)
    {
        assert_true(cpu == 3 || cpu == 70);
        n++;
    }
    assert_int_equal(n, 2);
    hv_cpuset_clear(&a);
    hv_cpuset_clear(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_errors_escaped),
        cmocka_unit_test(test_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

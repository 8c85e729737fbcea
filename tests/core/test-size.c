/* tests/core/test-size.c - parsing and formatting memory sizes. */
#include "hv-test.h"

static void test_parse(void **state)
{
    static const struct {
        const char *text;
        uint64_t bytes;
    } cases[] = {
        {"0", 0},
        {"4096", 4096},
        {"1.5TiB", UINT64_C(1649267441664)},
        {"512GiB", UINT64_C(549755813888)},
        {"6128GiB", UINT64_C(6128) << 30},
        {"64M", UINT64_C(64) << 20},
        {"64 MiB", UINT64_C(64) << 20},
        {"2m", UINT64_C(2) << 20},
        {"1g", UINT64_C(1) << 30},
        {"1GB", UINT64_C(1000000000)},
        {"6TB", UINT64_C(6000000000000)},
        {"100B", 100},
        {"0.5KiB", 512},
        {" 12 kB ", 12000},
        {"15EiB", UINT64_C(15) << 60},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t got = 1;
        assert_hv_ok(hv_size_parse(cases[i].text, &got));
        assert_int_equal(got, cases[i].bytes);
    }
}

static void test_parse_errors(void **state)
{
    uint64_t got;

    assert_hv_error(hv_size_parse("lots", &got), HV_E_PARSE);
    assert_error_mentions("1.5TiB");
    assert_hv_error(hv_size_parse("", &got), HV_E_PARSE);
    assert_hv_error(hv_size_parse("-1G", &got), HV_E_PARSE);
    assert_hv_error(hv_size_parse("1Gx", &got), HV_E_PARSE);
    assert_hv_error(hv_size_parse("1 G B", &got), HV_E_PARSE);
    assert_hv_error(hv_size_parse(".", &got), HV_E_PARSE);
    assert_hv_error(hv_size_parse("1.5", &got), HV_E_RANGE);
    assert_error_mentions("whole number of bytes");
    assert_hv_error(hv_size_parse("16EiB", &got), HV_E_RANGE);
    assert_hv_error(hv_size_parse("99999999999999999999999", &got), HV_E_RANGE);
    assert_hv_error(hv_size_parse("15.99999EiB", &got), HV_E_RANGE);
    assert_hv_error(hv_size_parse(NULL, &got), HV_E_INVAL);
    assert_hv_error(hv_size_parse("1", NULL), HV_E_INVAL);
}

/* Messages quote the text escaped: no control byte reaches a terminal. */
static void test_parse_errors_escaped(void **state)
{
    uint64_t got;
    const char *message;

    (void)state;
    assert_hv_error(hv_size_parse("1\x1b[2J\xff", &got), HV_E_PARSE);
    message = hv_error_message(hv_error_last());
    assert_null(strchr(message, '\x1b'));
    assert_null(strchr(message, '\xff'));
    assert_non_null(strstr(message, "\\u001b"));
    assert_non_null(strstr(message, "\\xff"));
    assert_hv_error(hv_size_parse("99999999999999999999999\x07", &got), HV_E_RANGE);
    assert_null(strchr(hv_error_message(hv_error_last()), '\x07'));
}

static void test_format(void **state)
{
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        {0, "0 B"},
        {1000, "1000 B"},
        {1024, "1 KiB"},
        {UINT64_C(1649267441664), "1.5 TiB"},
        {UINT64_C(16) << 20, "16 MiB"},
        {(UINT64_C(128) << 30) + (UINT64_C(48) << 20), "128.05 GiB"},
        {UINT64_MAX, "16 EiB"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = hv_size_format(cases[i].bytes, buf, sizeof(buf));
        assert_int_equal(n, (int)strlen(cases[i].text));
        assert_string_equal(buf, cases[i].text);
    }
    assert_int_equal(hv_size_format(1024, NULL, 0), 5);
    assert_hv_error(hv_size_format(1, NULL, 10), HV_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_errors_escaped),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

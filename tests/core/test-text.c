/*
 * tests/core/test-text.c - outside text (core/text.h): strict UTF-8
 * decoding, and quoting for messages, which leaves no byte that acts on a
 * terminal, stays within its buffer and never cuts a character or an
 * escape in half.
 */
#include "hv-test.h"

#include "core/text.h"

static void test_utf8_decode(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        uint32_t cp;
    } good[] = {
        {"A", 1, 'A'},
        {"\xc3\xa9", 2, 0xe9},
        {"\xe2\x82\xac", 3, 0x20ac},
        {"\xf0\x9f\x98\x80", 4, 0x1f600},
        {"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
        {"\xef\xbf\xbd", 3, 0xfffd},
    };
    static const char *const bad[] = {
        "\x80",             /* a continuation byte alone */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xed\xa0\x80",     /* U+D800, a surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf8\x88\x80\x80", /* 5-byte form */
        "\xc3",             /* cut short */
        "\xe2\x28\xa1",     /* a bad continuation */
        "\xff",
    };
    uint32_t cp;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(hv_utf8_decode(good[i].bytes, good[i].len, &cp), good[i].len);
        assert_int_equal(cp, good[i].cp);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hv_utf8_decode(bad[i], strlen(bad[i]), &cp), 0);
    /* a character that would run past the end of the text */
    assert_int_equal(hv_utf8_decode("\xe2\x82\xac", 2, &cp), 0);
}

static void test_unprintable(void **state)
{
    assert_int_equal(hv_text_unprintable_at("plain-name_1.x", 14), 14);
    assert_int_equal(hv_text_unprintable_at("caf\xc3\xa9", 5), 5);
    assert_int_equal(hv_text_unprintable_at("ab\x1b[31m", 7), 2);
    assert_int_equal(hv_text_unprintable_at("a\x7f", 2), 1);
    assert_int_equal(hv_text_unprintable_at("a\xc2\x9b", 3), 1);      /* C1 CSI */
    assert_int_equal(hv_text_unprintable_at("ab\xe2\x80\xae", 5), 2); /* RIGHT-TO-LEFT OVERRIDE */
    assert_int_equal(hv_text_unprintable_at("abc\xff", 4), 3);
    assert_true(hv_text_is_control(0x2066) && hv_text_is_control(0xfeff));
    assert_false(hv_text_is_control(' ') || hv_text_is_control(0xe9));
}

static void test_quote(void **state)
{
    char buf[HV_QUOTE_SIZE];

    assert_string_equal(hv_quote(buf, sizeof(buf), "gpu-01"), "gpu-01");
    assert_string_equal(hv_quote(buf, sizeof(buf), "caf\xc3\xa9"), "caf\xc3\xa9");
    assert_string_equal(hv_quote(buf, sizeof(buf), "a\xff\xfe"), "a\\xff\\xfe");
    assert_string_equal(hv_quote(buf, sizeof(buf), "\x1b[2J\x07"), "\\u001b[2J\\u0007");
    assert_string_equal(hv_quote(buf, sizeof(buf), "a\nb\tc\\d"), "a\\nb\\tc\\\\d");
    assert_string_equal(hv_quote(buf, sizeof(buf),
                                 "\xe2\x80\xae"
                                 "exe"),
                        "\\u202eexe");
    assert_string_equal(hv_quote(buf, sizeof(buf), "\xc2\x9b"), "\\u009b");
    assert_string_equal(hv_quote(buf, sizeof(buf), "\xf3\xa0\x80\x81"), "\\U000e0001");
    assert_string_equal(hv_quote(buf, sizeof(buf), NULL), "(null)");
    assert_string_equal(hv_quote_n(buf, sizeof(buf), "ab\0cd", 5), "ab\\u0000cd");
}

static void test_quote_bounds(void **state)
{
    char long_text[300], buf[16];

    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    assert_string_equal(hv_quote(buf, sizeof(buf), long_text), "xxxxxxxxxxxx...");
    /* exactly what fits needs no "..." */
    assert_string_equal(hv_quote(buf, sizeof(buf), "123456789012345"), "123456789012345");
    /* escapes and characters are never cut in half */
    assert_string_equal(hv_quote(buf, sizeof(buf), "abcdefghij\xff\xff"), "abcdefghij...");
    assert_string_equal(hv_quote(buf, sizeof(buf), "abcdefghijk\xe2\x82\xac!!"), "abcdefghijk...");
    for (size_t size = 5; size < sizeof(buf); size++) {
        hv_quote(buf, size, "\x1b\x1b\x1b\x1b\x1b\xff\xff\xff");
        assert_true(strlen(buf) < size);
        assert_non_null(strstr(buf, "..."));
        assert_null(strchr(buf, '\x1b'));
    }
    /* too small to say anything */
    assert_string_equal(hv_quote(buf, 4, "abc"), "");
}

static void test_expand_index(void **state)
{
    char out[16];

    (void)state;
    assert_true(hv_text_expand_index("web-{index}", 7, out, sizeof(out)));
    assert_string_equal(out, "web-7");
    assert_true(hv_text_expand_index("{index}-{index}", 12, out, sizeof(out)));
    assert_string_equal(out, "12-12");
    assert_true(hv_text_expand_index("{indexx}{ind", 3, out, sizeof(out)));
    assert_string_equal(out, "{indexx}{ind"); /* no "{index}" in it */
    assert_true(hv_text_expand_index("plain", 3, out, sizeof(out)));
    assert_string_equal(out, "plain");
    /* what does not fit, with its NUL, is refused */
    assert_true(hv_text_expand_index("n{index}", UINT64_C(12345678901234), out, sizeof(out)));
    assert_false(hv_text_expand_index("nn{index}", UINT64_C(123456789012345), out, sizeof(out)));
    assert_false(hv_text_expand_index("", 1, out, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decode),  cmocka_unit_test(test_unprintable),
        cmocka_unit_test(test_quote),        cmocka_unit_test(test_quote_bounds),
        cmocka_unit_test(test_expand_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

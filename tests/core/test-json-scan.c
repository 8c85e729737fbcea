/*
 * tests/core/test-json-scan.c - the check every JSON document gets before
 * json-c parses it (core/json-scan.h, hv_json_parse*() in core/json.h):
 * strict JSON in, everything json-c would accept or silently change out
 * (NaN, \u0000, raw control characters, bytes that are not UTF-8, lone
 * surrogates, NUL bytes, repeated keys), each with the path or line of the
 * problem; and the bounds, which stop the scan at the first value past them.
 */
#include "hv-test.h"

#include <math.h>
#include "core/json-scan.h"
#include "core/json.h"

static const hv_json_array_limit test_arrays[] = {
    {"list", 3, "entries"},
    {"nodes[].distances", 2, "distances"},
    {"a.b[]", 1, "inner items"},
    {NULL, 0, NULL},
};

static const hv_json_bounds test_bounds = {
    .code = HV_E_SPEC,
    .max_bytes = 4096,
    .max_depth = 4,
    .max_values = 64,
    .max_containers = 16,
    .max_members = 8,
    .arrays = test_arrays,
};

/* Scan a NUL-terminated text with the test bounds. */
static int scan(const char *text)
{
    return hv_json_scan(text, strlen(text), "the document", &test_bounds);
}

static void assert_path(const char *path)
{
    if (strcmp(hv_error_path(hv_error_last()), path) != 0)
        print_error("path '%s', expected '%s': %s\n", hv_error_path(hv_error_last()), path,
                    hv_error_message(hv_error_last()));
    assert_string_equal(hv_error_path(hv_error_last()), path);
}

/* A text the scan refuses as HV_E_PARSE, at `path`, with a message that mentions `mentions`. */
struct refusal {
    const char *text, *path, *mentions;
};

static void assert_refusals(const struct refusal *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = scan(cases[i].text);

        if (rc != HV_E_PARSE || !strstr(hv_error_message(hv_error_last()), cases[i].mentions))
            print_error("case %zu %s: %d %s\n", i, cases[i].text, rc,
                        hv_error_message(hv_error_last()));
        assert_int_equal(rc, HV_E_PARSE);
        assert_path(cases[i].path);
        assert_error_mentions(cases[i].mentions);
        /* every message names the document and says where */
        assert_error_mentions("the document");
        assert_error_mentions("column");
    }
}

static void test_valid_documents(void **state)
{
    static const char *const good[] = {
        "{}",
        "[]",
        " \t\r\n{ } \n",
        "0",
        "-0.5e+10",
        "\"text\"",
        "null",
        "[true, false, null, 1, -1, 1.5, 2E-3, \"s\", {}, []]",
        "{\"a\": {\"a\": {\"a\": 1}}, \"b\": [{\"a\": 1}, {\"a\": 2}]}",
        "{\"esc\": \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}",
        "{\"utf8\": \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "{\"list\": [1, 2, 3]}",
        "{\"nodes\": [{\"distances\": [10, 20]}, {\"distances\": [20, 10]}]}",
        "{\"other\": [1, 2, 3, 4, 5], \"nodes\": [[1, 2, 3]]}",
        /* the same key in sibling and nested objects is not a repeat */
        "{\"k\": {\"k\": 1}, \"j\": [{\"k\": 1}, {\"k\": 2}]}",
        "{\"1\": 1, \"2\": 2, \"3\": 3, \"4\": 4, \"5\": 5, \"6\": 6, \"7\": 7, \"8\": 8}",
        "[[[[]]]]",
        "{\"\": {\"\": []}}",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_object *obj = NULL;
        int rc = scan(good[i]);

        if (rc != 0)
            print_error("%s: %s\n", good[i], hv_error_message(hv_error_last()));
        assert_int_equal(rc, 0);
        /* and json-c parses what the scan passed, numbers at the very end too */
        assert_hv_ok(hv_json_parse_bounded(good[i], strlen(good[i]), "doc", &test_bounds, &obj));
        json_object_put(obj);
    }
}

static void test_not_json(void **state)
{
    static const struct refusal bad[] = {
        {"", "line 1", "empty"},
        {"  \n ", "line 2", "empty"},
        {"{", "line 1", "'}' is missing"},
        {"{\"a\": 1,}", "line 1", "expected a key"},
        {"{'a': 1}", "line 1", "expected a key"},
        {"{\"a\" 1}", "line 1", "expected ':'"},
        {"[1 2]", "line 1", "expected ',' or ']'"},
        {"{\"a\": 1}\n x", "line 2", "after the end of the document"},
        {"{\"a\": 01}", "line 1", "must not start with 0"},
        {"{\"a\": 1.}", "line 1", "decimal point"},
        {"{\"a\": .5}", "line 1", "where a value should be"},
        {"{\"a\": +1}", "line 1", "where a value should be"},
        {"{\"a\": 1e}", "line 1", "exponent"},
        {"{\"a\": -}", "line 1", "'-' must be followed by a digit"},
        {"{\"a\": TRUE}", "line 1", "found 'T'"},
        {"{\"a\": nan}", "line 1", "found 'n'"},
        {"{\"a\": \"x}", "line 1", "never ends"},
        {"{\"a\": \"\\x\"}", "line 1", "not an escape"},
        {"{\"a\": \"\\u12G4\"}", "line 1", "four hex digits"},
        {"\xef\xbb\xbf{}", "line 1", "byte order mark"},
        {"{\"a\": \xff}", "line 1", "found '\\xff'"},
    };

    assert_refusals(bad, sizeof(bad) / sizeof(bad[0]));
}

/* What json-c takes and changes, or takes though JSON does not have it. */
static void test_values_json_c_would_take(void **state)
{
    static const struct refusal bad[] = {
        {"{\"vcpus\": NaN}", "vcpus", "NaN is not a number JSON allows"},
        {"{\"vcpus\": Infinity}", "vcpus", "Infinity is not a number"},
        {"{\"v\": [1, -Infinity]}", "v[1]", "-Infinity is not a number"},
        {"{\"name\": \"a\\u0000b\"}", "name", "\\u0000 (a NUL character) in a string"},
        {"{\"a\\u0000b\": 1}", "line 1", "\\u0000 (a NUL character) in a key"},
        {"{\"o\": {\"a\\u0000\": 1}}", "o", "in a key"},
        {"{\"name\": \"\x01\"}", "name", "control character (U+0001)"},
        {"{\"name\": \"a\tb\"}", "name", "control character (U+0009)"},
        {"{\"name\": \"\xff\"}", "name", "byte \\xff"},
        {"{\"name\": \"\xc0\xaf\"}", "name", "not UTF-8"},         /* overlong '/' */
        {"{\"name\": \"\xed\xa0\x80\"}", "name", "not UTF-8"},     /* a surrogate */
        {"{\"name\": \"\xf4\x90\x80\x80\"}", "name", "not UTF-8"}, /* above U+10FFFF */
        {"{\"name\": \"\xe2\x82\"}", "name", "not UTF-8"},         /* cut short */
        {"{\"name\": \"\\ud800\"}", "name", "first half of a UTF-16 surrogate pair"},
        {"{\"name\": \"\\ud800\\u0041\"}", "name", "first half"},
        {"{\"name\": \"\\udc00\"}", "name", "second half"},
    };

    assert_refusals(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_nul_bytes(void **state)
{
    static const char after[] = "{\"a\": 1}\0{\"b\": 2}";
    static const char inside[] = "{\"a\":\n \"x\0y\"}";

    assert_hv_error(hv_json_scan(after, sizeof(after) - 1, "the spec", NULL), HV_E_PARSE);
    assert_path("line 1");
    assert_error_mentions("NUL byte at byte offset 8");
    assert_error_mentions("column 9");
    assert_hv_error(hv_json_scan(inside, sizeof(inside) - 1, "the spec", NULL), HV_E_PARSE);
    assert_path("line 2");
    assert_error_mentions("column 4");
}

static void test_repeated_keys(void **state)
{
    assert_hv_error(scan("{\"\": 1, \"\": 2}"), HV_E_SPEC);
    assert_hv_error(scan("{\"vcpus\": 4, \"vcpus\": 8}"), HV_E_SPEC);
    assert_path("vcpus");
    assert_error_mentions("vcpus twice");
    assert_error_mentions("column 14");
    /* the same key once escaped: json-c would keep the last */
    assert_hv_error(scan("{\"vcpus\": 4, \"v\\u0063pus\": 8}"), HV_E_SPEC);
    assert_path("vcpus");
    assert_hv_error(scan("{\"nodes\": [{\"id\": 0}, {\"id\": 1, \"x\": {}, \"id\": 2}]}"),
                    HV_E_SPEC);
    assert_path("nodes[1].id");
    /* outer keys are still checked after an inner object closed */
    assert_hv_error(scan("{\"a\": {\"b\": 1, \"c\": 2}, \"d\": 3, \"a\": 4}"), HV_E_SPEC);
    assert_path("a");
    /* keys shown in paths and messages are escaped */
    assert_hv_error(scan("{\"\\u001b[2J\": 1, \"\\u001b[2J\": 2}"), HV_E_SPEC);
    assert_path("\\u001b[2J");
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    /* hv_json_parse() refuses them in every document the library reads */
    {
        json_object *obj = (json_object *)0x1;

        assert_hv_error(hv_json_parse("{\"a\": 1, \"a\": 2}", "the snapshot", &obj), HV_E_PARSE);
        assert_null(obj);
        assert_path("a");
    }
}

static void test_array_limits(void **state)
{
    /* at the limit is fine, one more is refused at that element */
    assert_hv_ok(scan("{\"list\": [1, 2, 3]}"));
    assert_hv_error(scan("{\"list\": [1, 2, 3, 4, 5, 6]}"), HV_E_SPEC);
    assert_path("list[3]");
    assert_error_mentions("at most 3 entries: list[3] is one too many");
    assert_error_mentions("column 20");
    assert_hv_error(scan("{\"nodes\": [{\"distances\": [1, 2]}, {\"distances\": [1, 2, 3]}]}"),
                    HV_E_SPEC);
    assert_path("nodes[1].distances[2]");
    assert_hv_error(scan("{\"a\": {\"b\": [[], [1, 2]]}}"), HV_E_SPEC);
    assert_path("a.b[1][1]");
    /* the limit is for that path only */
    assert_hv_ok(scan("{\"x\": {\"list\": [1, 2, 3, 4]}, \"lists\": [1, 2, 3, 4]}"));
    /* an array past its limit is refused even where the text goes on, or is broken, after it */
    assert_hv_error(scan("{\"list\": [1, 2, 3, 4, oops"), HV_E_SPEC);
    assert_path("list[3]");
}

static void test_document_bounds(void **state)
{
    char big[5000];

    /* values in the whole document */
    memset(big, 0, sizeof(big));
    strcpy(big, "[0");
    for (int i = 1; i < 70; i++)
        strcat(big, ",0");
    strcat(big, "]");
    assert_hv_error(scan(big), HV_E_SPEC);
    assert_path("[63]");
    assert_error_mentions("more than 64 values");
    /* objects and arrays in the whole document */
    assert_hv_ok(scan("[{}, [], {}, [], {}, [], {}, [], {}, [], {}, [], {}, [], {}]"));
    assert_hv_error(scan("[{}, [], {}, [], {}, [], {}, [], {}, [], {}, [], {}, [], {}, []]"),
                    HV_E_SPEC);
    assert_path("[15]");
    assert_error_mentions("more than 16 objects and arrays");
    /* nesting */
    assert_hv_ok(scan("[[[[]]]]"));
    assert_hv_error(scan("[[[[[]]]]]"), HV_E_SPEC);
    assert_path("[0][0][0][0]");
    assert_error_mentions("more than 4 levels deep");
    assert_hv_error(scan("{\"a\": {\"b\": {\"c\": {\"d\": {}}}}}"), HV_E_SPEC);
    assert_path("a.b.c.d");
    /* members of one object */
    assert_hv_error(scan("{\"1\": 1, \"2\": 2, \"3\": 3, \"4\": 4, \"5\": 5, \"6\": 6, \"7\": 7, "
                         "\"8\": 8, \"9\": 9}"),
                    HV_E_SPEC);
    assert_path("9");
    assert_error_mentions("more than 8 members");
    /* size, before anything else */
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    assert_hv_error(scan(big), HV_E_SPEC);
    assert_error_mentions("4999 bytes long");
    assert_error_mentions("at most 4096");
}

static void test_typed_reads(void **state)
{
    json_object *obj = json_object_new_object();
    const char *s = NULL;
    uint64_t u = 0;

    /* a document built otherwise may still hold a NUL: the read refuses it */
    assert_hv_ok(hv_json_add(obj, "name", json_object_new_string_len("a\0b", 3)));
    assert_hv_error(hv_json_read_string(obj, "name", "", true, HV_E_SPEC, &s), HV_E_SPEC);
    assert_path("name");
    assert_error_mentions("NUL character");
    /* json-c turns 1e400 into an infinity */
    assert_hv_ok(hv_json_add(obj, "big", json_object_new_double(HUGE_VAL)));
    assert_hv_error(hv_json_read_u64(obj, "big", "", true, HV_E_SPEC, UINT64_MAX, &u), HV_E_SPEC);
    assert_error_mentions("out of range");
    json_object_put(obj);
}

static void test_parse(void **state)
{
    json_object *obj = NULL;
    static const char text[] = "{\"a\": [1, 2]}  \n\0{\"b\": 1}";

    assert_hv_ok(hv_json_parse_bounded(text, strlen(text), "doc", &test_bounds, &obj));
    assert_int_equal(json_object_array_length(json_object_object_get(obj, "a")), 2);
    json_object_put(obj);
    obj = (json_object *)0x1;
    assert_hv_error(hv_json_parse_bounded(text, sizeof(text) - 1, "doc", &test_bounds, &obj),
                    HV_E_PARSE);
    assert_null(obj);
    assert_error_mentions("NUL byte");
    assert_hv_error(hv_json_parse("{\"a\": NaN}", "doc", &obj), HV_E_PARSE);
    assert_path("a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_values_json_c_would_take),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_repeated_keys),
        cmocka_unit_test(test_array_limits),
        cmocka_unit_test(test_document_bounds),
        cmocka_unit_test(test_typed_reads),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

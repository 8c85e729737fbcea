/* tests/core/test-error.c - the per-thread error, code tables, options checks, log hook. */
#include "hv-test.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"

#include <errno.h>
#include <pthread.h>

static void test_default_is_ok(void **state)
{
    hv_error_clear();
    const hv_error *err = hv_error_last();
    assert_non_null(err);
    assert_int_equal(hv_error_code_of(err), HV_OK);
    assert_string_equal(hv_error_message(err), "no error");
    assert_string_equal(hv_error_path(err), "");
    assert_int_equal(hv_error_code_of(NULL), HV_OK);
    assert_string_equal(hv_error_message(NULL), "no error");
}

static void test_set_and_read(void **state)
{
    int rc = hv_error_set(HV_E_SPEC, "accelerators[1].count", "count must be %d or more", 1);
    assert_int_equal(rc, HV_E_SPEC);
    assert_int_equal(hv_error_code_of(hv_error_last()), HV_E_SPEC);
    assert_string_equal(hv_error_message(hv_error_last()), "count must be 1 or more");
    assert_string_equal(hv_error_path(hv_error_last()), "accelerators[1].count");
    hv_error_clear();
    assert_int_equal(hv_error_code_of(hv_error_last()), HV_OK);
}

static void test_errno_suffix(void **state)
{
    hv_error_set_errno(HV_E_IO, ENOENT, "/x", "cannot open %s", "/x");
    assert_string_equal(hv_error_message(hv_error_last()),
                        "cannot open /x: No such file or directory");
}

static void test_long_message_truncated(void **state)
{
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hv_error_set(HV_E_INVAL, big, "%s", big);
    assert_true(strlen(hv_error_message(hv_error_last())) < sizeof(big));
    assert_true(strlen(hv_error_path(hv_error_last())) < sizeof(big));
}

/*
 * `prefix` ASCII bytes, then "é" (2 bytes) and "€" (3 bytes) until `bytes`
 * bytes: cut at any byte count, the text ends mid-character about half the time.
 */
static char *multibyte_text(size_t prefix, size_t bytes)
{
    char *text = malloc(bytes + 1);
    size_t len = prefix;

    assert_non_null(text);
    memset(text, 'a', prefix);
    for (bool euro = false; len + 3 <= bytes; euro = !euro) {
        memcpy(text + len, euro ? "\xe2\x82\xac" : "\xc3\xa9", euro ? 3 : 2);
        len += euro ? 3 : 2;
    }
    text[len] = '\0';
    return text;
}

/* The message and path of a text cut to fit end at a character boundary, never mid-character. */
static void test_long_multibyte_cut_whole(void **state)
{
    for (size_t prefix = 0; prefix < 6; prefix++) {
        char *text = multibyte_text(prefix, 3000);
        const char *message, *path;

        hv_error_set(HV_E_SPEC, text, "%s", text);
        message = hv_error_message(hv_error_last());
        path = hv_error_path(hv_error_last());
        assert_true(strlen(message) >= 1020 && strlen(message) < 1024);
        assert_true(strlen(path) >= 508 && strlen(path) < 512);
        assert_true(hv_utf8_valid(message, strlen(message)));
        assert_true(hv_utf8_valid(path, strlen(path)));
        assert_memory_equal(message, text, strlen(message));
        /* the ": strerror" suffix of a message that fills the buffer is cut the same way */
        text[hv_utf8_trim_partial(text, 1000 + prefix)] = '\0';
        hv_error_set_errno(HV_E_IO, ENOENT, NULL, "%s\xc3\xa9\xc3\xa9", text);
        message = hv_error_message(hv_error_last());
        assert_true(strlen(message) < 1024);
        assert_true(hv_utf8_valid(message, strlen(message)));
        free(text);
    }
}

/* A message or path built from the thread's own error is kept whole, not overwritten as it is read.
 */
static void test_message_from_own_error(void **state)
{
    hv_error_set(HV_E_PARSE, "nodes[2].bytes", "nodes[2].bytes must be a number");
    hv_error_set(HV_E_SNAPSHOT, hv_error_path(hv_error_last()), "/tmp/s.snap: section meta: %s: %s",
                 hv_error_message(hv_error_last()), "the snapshot is corrupted");
    assert_string_equal(hv_error_message(hv_error_last()),
                        "/tmp/s.snap: section meta: nodes[2].bytes must be a number: the snapshot "
                        "is corrupted");
    assert_string_equal(hv_error_path(hv_error_last()), "nodes[2].bytes");
    hv_error_set(HV_E_IO, NULL, "%s, again", hv_error_message(hv_error_last()));
    assert_string_equal(hv_error_message(hv_error_last()),
                        "/tmp/s.snap: section meta: nodes[2].bytes must be a number: the snapshot "
                        "is corrupted, again");
    assert_string_equal(hv_error_path(hv_error_last()), "");
}

static void *other_thread(void *arg)
{
    int *seen = arg;
    *seen = hv_error_code_of(hv_error_last());
    hv_error_set(HV_E_IO, NULL, "thread error");
    return NULL;
}

static void test_thread_local(void **state)
{
    pthread_t t;
    int seen = 12345;

    hv_error_set(HV_E_PARSE, "file:3", "main thread error");
    assert_int_equal(pthread_create(&t, NULL, other_thread, &seen), 0);
    pthread_join(t, NULL);
    assert_int_equal(seen, HV_OK);
    assert_int_equal(hv_error_code_of(hv_error_last()), HV_E_PARSE);
    assert_string_equal(hv_error_message(hv_error_last()), "main thread error");
}

static void test_code_tables(void **state)
{
    static const int codes[] = {
        HV_OK,      HV_E_INVAL,       HV_E_NOMEM,    HV_E_IO,        HV_E_PARSE,   HV_E_SPEC,
        HV_E_PLAN,  HV_E_UNSUPPORTED, HV_E_NOTFOUND, HV_E_EXISTS,    HV_E_STATE,   HV_E_BACKEND,
        HV_E_NOKVM, HV_E_GUEST,       HV_E_SNAPSHOT, HV_E_MIGRATION, HV_E_TIMEOUT, HV_E_PERM,
        HV_E_RANGE, HV_E_IMAGE,       HV_E_INTERNAL};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_string_not_equal(hv_strerror(codes[i]), "unknown error code");
        assert_string_not_equal(hv_error_code_name(codes[i]), "HV_E_UNKNOWN");
    }
    assert_string_equal(hv_strerror(-12345), "unknown error code");
    assert_string_equal(hv_error_code_name(HV_E_INVAL), "HV_E_INVAL");
    /* Values are ABI: they must never change. */
    assert_int_equal(HV_E_INVAL, -1);
    assert_int_equal(HV_E_SPEC, -5);
    assert_int_equal(HV_E_RANGE, -18);
    assert_int_equal(HV_E_IMAGE, -19);
    assert_int_equal(HV_E_INTERNAL, -99);
}

struct fake_opts {
    unsigned int version;
    int value;
};

static void test_options_check(void **state)
{
    struct fake_opts opts = {1, 0};

    assert_int_equal(hv_options_check(&opts, 1, false, "f", "opts"), 0);
    assert_int_equal(hv_options_check(NULL, 1, true, "f", "opts"), 0);
    assert_hv_error(hv_options_check(NULL, 1, false, "f", "opts"), HV_E_INVAL);
    assert_error_mentions("'opts' must not be NULL");
    opts.version = 0;
    assert_hv_error(hv_options_check(&opts, 1, true, "f", "opts"), HV_E_INVAL);
    assert_error_mentions("version 0");
    opts.version = 2;
    assert_hv_error(hv_options_check(&opts, 1, true, "f", "opts"), HV_E_INVAL);
    assert_error_mentions("newer hpcvirt headers");
}

struct log_capture {
    int calls;
    int level;
    char domain[32];
    char message[128];
};

static void capture_log(int level, const char *domain, const char *message, void *userdata)
{
    struct log_capture *c = userdata;
    c->calls++;
    c->level = level;
    snprintf(c->domain, sizeof(c->domain), "%s", domain);
    snprintf(c->message, sizeof(c->message), "%s", message);
}

static void test_log_handler(void **state)
{
    struct log_capture cap = {0};

    hv_log(HV_LOG_ERROR, "test", "dropped without a handler");
    assert_hv_ok(hv_set_log_handler(capture_log, HV_LOG_INFO, &cap));
    hv_log(HV_LOG_DEBUG, "test", "too verbose");
    assert_int_equal(cap.calls, 0);
    hv_log(HV_LOG_WARNING, "host", "node %d looks odd", 3);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.level, HV_LOG_WARNING);
    assert_string_equal(cap.domain, "host");
    assert_string_equal(cap.message, "node 3 looks odd");
    assert_hv_error(hv_set_log_handler(capture_log, 0, &cap), HV_E_INVAL);
    assert_hv_error(hv_set_log_handler(capture_log, 5, &cap), HV_E_INVAL);
    assert_hv_ok(hv_set_log_handler(NULL, HV_LOG_ERROR, NULL));
    hv_log(HV_LOG_ERROR, "test", "dropped again");
    assert_int_equal(cap.calls, 1);
}

static void test_version(void **state)
{
    int major = -1, minor = -1, patch = -1;
    char expect[32];

    assert_hv_ok(hv_version_numbers(&major, &minor, &patch));
    assert_int_equal(major, HPCVIRT_VERSION_MAJOR);
    assert_int_equal(minor, HPCVIRT_VERSION_MINOR);
    assert_int_equal(patch, HPCVIRT_VERSION_PATCH);
    assert_hv_ok(hv_version_numbers(NULL, NULL, NULL));
    snprintf(expect, sizeof(expect), "%d.%d.%d", major, minor, patch);
    assert_string_equal(hv_version(), expect);
    assert_true(HPCVIRT_CHECK_VERSION(0, 0, 0));
    assert_true(
        HPCVIRT_CHECK_VERSION(HPCVIRT_VERSION_MAJOR, HPCVIRT_VERSION_MINOR, HPCVIRT_VERSION_PATCH));
    assert_false(HPCVIRT_CHECK_VERSION(HPCVIRT_VERSION_MAJOR + 1, 0, 0));
    assert_false(HPCVIRT_CHECK_VERSION(HPCVIRT_VERSION_MAJOR, HPCVIRT_VERSION_MINOR,
                                       HPCVIRT_VERSION_PATCH + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_ok),
        cmocka_unit_test(test_set_and_read),
        cmocka_unit_test(test_errno_suffix),
        cmocka_unit_test(test_long_message_truncated),
        cmocka_unit_test(test_thread_local),
        cmocka_unit_test(test_code_tables),
        cmocka_unit_test(test_options_check),
        cmocka_unit_test(test_log_handler),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_long_multibyte_cut_whole),
        cmocka_unit_test(test_message_from_own_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

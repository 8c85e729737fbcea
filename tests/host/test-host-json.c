/*
 * tests/host/test-host-json.c - host documents that are hostile or broken
 * (hv_host_from_json(), docs/host-json.md): every list is refused one
 * entry past its limit, at that entry and before anything is built from
 * it, and accepted at the limit; a refused document never crashes (the
 * counts are set with their arrays); repeated keys, NUL characters, NaN
 * and text that would act on a terminal are refused or quoted safely.
 */
#include "hv-test.h"

#include <stdarg.h>

#define CPU0  "{\"id\": 0, \"package\": 0, \"core\": 0, \"node\": 0}"
#define NODE0 "{\"id\": 0, \"cpus\": \"0\", \"memory_bytes\": 1073741824, \"free_bytes\": 0, "
#define HEAD  "{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": [" NODE0 "\"distances\": [10]}]"

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) HV_PRINTF(2, 3);
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* prefix, `count` times item separated by ", ", suffix (the caller frees it). */
static char *repeat(const char *prefix, const char *item, size_t count, const char *suffix)
{
    text t = {0};

    put(&t, "%s", prefix);
    for (size_t i = 0; i < count; i++)
        put(&t, "%s%s", i ? ", " : "", item);
    put(&t, "%s", suffix);
    return t.p;
}

/* hv_host_from_json() refuses `json` with HV_E_PARSE at `path`. */
static void assert_refused(const char *json, const char *path)
{
    hv_host *host = (hv_host *)0x1;
    int rc = hv_host_from_json(json, &host);

    if (rc != HV_E_PARSE || strcmp(hv_error_path(hv_error_last()), path) != 0)
        print_error("expected HV_E_PARSE at %s, got %d at %s: %s\n", path, rc,
                    hv_error_path(hv_error_last()), hv_error_message(hv_error_last()));
    assert_int_equal(rc, HV_E_PARSE);
    assert_string_equal(hv_error_path(hv_error_last()), path);
    assert_null(host);
}

static void assert_refused_repeat(const char *prefix, const char *item, size_t count,
                                  const char *suffix, const char *path)
{
    char *json = repeat(prefix, item, count, suffix);

    assert_refused(json, path);
    free(json);
}

/* A valid host of `nodes` nodes with `cpus_per_node` CPUs each (the caller frees it). */
static char *valid_host(size_t nodes, size_t cpus_per_node)
{
    text t = {0};

    put(&t, "{\"cpus\": {\"list\": [");
    for (size_t c = 0; c < nodes * cpus_per_node; c++)
        put(&t, "%s{\"id\": %zu, \"package\": 0, \"core\": %zu, \"node\": %zu}", c ? ", " : "", c,
            c, c / cpus_per_node);
    put(&t, "]}, \"numa_nodes\": [");
    for (size_t n = 0; n < nodes; n++) {
        put(&t, "%s{\"id\": %zu, \"cpus\": \"%zu-%zu\", \"memory_bytes\": 1073741824, ",
            n ? ", " : "", n, n * cpus_per_node, (n + 1) * cpus_per_node - 1);
        put(&t, "\"free_bytes\": 0, \"distances\": [");
        for (size_t m = 0; m < nodes; m++)
            put(&t, "%s%d", m ? "," : "", m == n ? 10 : 20);
        put(&t, "]}");
    }
    put(&t, "]}");
    return t.p;
}

/* Issue 12: 1025 nodes crashed the process (nnodes set, nodes NULL, then freed). */
static void test_too_many_nodes(void **state)
{
    static const char prefix[] = "{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": [";

    assert_refused_repeat(prefix, "{}", 1025, "]}", "numa_nodes[1024]");
    assert_error_mentions("at most 1024 NUMA nodes");
    assert_refused_repeat(prefix, "{}", 100000, "]}", "numa_nodes[1024]");
    /* at the limit the list is read, and its first bad node refused, the 1024 freed */
    assert_refused_repeat(prefix, "{}", 1024, "]}", "numa_nodes[0].id");
    assert_refused("{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": []}", "numa_nodes");
}

static void test_hosts_at_the_limits(void **state)
{
    char *json = valid_host(1024, 1);
    hv_host *host = NULL;

    assert_hv_ok(hv_host_from_json(json, &host));
    assert_int_equal(hv_host_node_count(host), 1024);
    hv_host_free(host);
    free(json);
    json = valid_host(1, 8192);
    assert_hv_ok(hv_host_from_json(json, &host));
    assert_int_equal(hv_host_cpu_count(host), 8192);
    hv_host_free(host);
    free(json);
}

/* Every list one past its limit, refused at that entry (and not, say, at an earlier bad one). */
static void test_lists_past_their_limits(void **state)
{
    static const struct {
        const char *prefix, *item;
        size_t count;
        const char *suffix, *path;
    } cases[] = {
        {"{\"cpus\": {\"list\": [", "{}", 8193,
         "]}, \"numa_nodes\": [" NODE0 "\"distances\": [10]}]}", "cpus.list[8192]"},
        {"{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": [{\"distances\": [", "10", 1025,
         "]}]}", "numa_nodes[0].distances[1024]"},
        {"{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": [{\"hugepages\": [", "{}", 5, "]}]}",
         "numa_nodes[0].hugepages[4]"},
        {HEAD ", \"accelerators\": [", "{}", 4097, "]}", "accelerators[4096]"},
        {HEAD ", \"accelerators\": [{\"bars\": [", "{}", 7, "]}]}", "accelerators[0].bars[6]"},
        {HEAD ", \"accelerators\": [{\"mdev_types\": [", "{}", 257, "]}]}",
         "accelerators[0].mdev_types[256]"},
        {HEAD ", \"rdma\": [", "{}", 4097, "]}", "rdma[4096]"},
        {HEAD ", \"rdma\": [{\"ports\": [", "{}", 256, "]}]}", "rdma[0].ports[255]"},
        {HEAD ", \"rdma\": [{\"ports\": [{\"gids\": [", "{}", 4097, "]}]}]}",
         "rdma[0].ports[0].gids[4096]"},
        {HEAD ", \"rdma\": [{\"vf_addresses\": [", "\"0000:00:00.1\"", 65536, "]}]}",
         "rdma[0].vf_addresses[65535]"},
        {HEAD ", \"findings\": [", "{}", 16385, "]}", "findings[16384]"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_refused_repeat(cases[i].prefix, cases[i].item, cases[i].count, cases[i].suffix,
                              cases[i].path);
        assert_error_mentions("is one too many");
        /* one fewer passes the scan: whatever is refused then is not the list's length */
        {
            char *json =
                repeat(cases[i].prefix, cases[i].item, cases[i].count - 1, cases[i].suffix);
            hv_host *host = NULL;

            if (hv_host_from_json(json, &host) < 0)
                assert_null(strstr(hv_error_message(hv_error_last()), "one too many"));
            hv_host_free(host);
            free(json);
        }
    }
}

static void test_document_bounds(void **state)
{
    hv_host *host = (hv_host *)0x1;
    char *json = repeat(HEAD ", \"future\": [", "0", (size_t)3 << 19, "]}");
    char deep[sizeof(HEAD) + 64];

    /* values under keys nobody reads count too */
    assert_hv_error(hv_host_from_json(json, &host), HV_E_PARSE);
    assert_null(host);
    assert_non_null(strstr(hv_error_path(hv_error_last()), "future["));
    assert_error_mentions("more than 1572864 values");
    free(json);
    /* json-c's objects cost about 0.5 kB each: 2 million of them took 1.5 GB */
    json = repeat(HEAD ", \"future\": [", "{}", 100000, "]}");
    assert_hv_error(hv_host_from_json(json, &host), HV_E_PARSE);
    assert_non_null(strstr(hv_error_path(hv_error_last()), "future["));
    assert_error_mentions("more than 65536 objects and arrays");
    free(json);
    /* 16 levels at most: the root and 15 arrays inside each other */
    snprintf(deep, sizeof(deep), "%s, \"future\": %s", HEAD, "[[[[[[[[[[[[[[[[");
    assert_refused(deep, "future[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]");
    assert_error_mentions("more than 16 levels deep");
}

static void test_values_refused(void **state)
{
    /* repeated keys: json-c would keep the last one */
    assert_refused("{\"cpus\": {\"list\": [" CPU0 "]}, \"cpus\": {}, \"numa_nodes\": []}", "cpus");
    assert_error_mentions("twice");
    assert_refused("{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": [" NODE0
                   "\"distances\": [10], \"id\": 1}]}",
                   "numa_nodes[0].id");
    /* NUL characters: json-c would cut the string, or the key, there */
    assert_refused("{\"root\": \"/a\\u0000/b\", \"cpus\": {\"list\": [" CPU0 "]}}", "root");
    assert_refused("{\"cpus\": {\"mo\\u0000del\": \"x\", \"list\": [" CPU0 "]}}", "cpus");
    /* not numbers JSON has */
    assert_refused("{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": [{\"id\": 0, \"cpus\": "
                   "\"0\", \"memory_bytes\": NaN}]}",
                   "numa_nodes[0].memory_bytes");
    assert_error_mentions("NaN");
}

static void test_messages_are_quoted(void **state)
{
    assert_refused("{\"profile\": \"\\u001b[31mred\", \"cpus\": {}}", "profile");
    assert_error_mentions("'\\u001b[31mred'");
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    assert_refused(
        "{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": [{\"id\": 0, \"cpus\": "
        "\"0-\\u009b2J\", \"memory_bytes\": 1, \"free_bytes\": 0, \"distances\": [10]}]}",
        "numa_nodes[0].cpus");
    assert_error_mentions("'0-\\u009b2J'");
    assert_null(strstr(hv_error_message(hv_error_last()), "\xc2\x9b"));
    assert_refused("{\"cpus\": {\"list\": [" CPU0 "]}, \"numa_nodes\": [{\"id\": 0, \"cpus\": "
                   "\"\xff\"}]}",
                   "numa_nodes[0].cpus");
    assert_null(strchr(hv_error_message(hv_error_last()), '\xff'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_many_nodes),          cmocka_unit_test(test_hosts_at_the_limits),
        cmocka_unit_test(test_lists_past_their_limits), cmocka_unit_test(test_document_bounds),
        cmocka_unit_test(test_values_refused),          cmocka_unit_test(test_messages_are_quoted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

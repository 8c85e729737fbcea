/*
 * tests/plan/test-hosts.h - synthetic hosts for planner tests, built as host
 * JSON (docs/host-json.md) and read with hv_host_from_json(): N nodes of C
 * cores x T threads (CPU numbering like Linux on x86: all first threads,
 * then the siblings), memory and huge pages per node, SLIT distances, and
 * optional accelerators / RDMA devices as JSON fragments.
 */
#ifndef HV_TEST_HOSTS_H
#define HV_TEST_HOSTS_H

#include "hv-test.h"

#define GiB(n) ((uint64_t)(n) << 30)
#define MiB(n) ((uint64_t)(n) << 20)
#define TiB(n) ((uint64_t)(n) << 40)

typedef struct test_host_params {
    unsigned int nodes, cores_per_node, threads;
    uint64_t memory_per_node, free_per_node;
    uint64_t free_2m_pages, free_1g_pages; /* per node */
    unsigned int phys_bits;
    int remote_distance;           /* default 21 */
    const char *accelerators_json; /* "[...]" or NULL */
    const char *rdma_json;         /* "[...]" or NULL */
    bool no_1g;
} test_host_params;

static inline hv_host *test_host(const test_host_params *p)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    unsigned int ncpus = p->nodes * p->cores_per_node * (p->threads ? p->threads : 1);
    unsigned int first_threads = p->nodes * p->cores_per_node;
    hv_host *host = NULL;

#define OUT(...) len += (size_t)snprintf(buf + len, cap - len, __VA_ARGS__)
    OUT("{\"root\": \"test\", \"profile\": \"vsphere-6.7\", \"cpus\": {\"model\": \"Test\", "
        "\"phys_addr_bits\": %u, \"virt_addr_bits\": 57, \"has_1g_pages\": %s, \"list\": [",
        p->phys_bits ? p->phys_bits : 46, p->no_1g ? "false" : "true");
    for (unsigned int c = 0; c < ncpus; c++) {
        unsigned int core = c % first_threads;
        OUT("%s{\"id\": %u, \"package\": %u, \"die\": 0, \"core\": %u, \"node\": %u}",
            c ? ", " : "", c, core / p->cores_per_node, core % p->cores_per_node,
            core / p->cores_per_node);
    }
    OUT("]}, \"memory\": {\"total_bytes\": %llu, \"available_bytes\": %llu}, \"numa_nodes\": [",
        (unsigned long long)(p->memory_per_node * p->nodes),
        (unsigned long long)(p->free_per_node * p->nodes));
    for (unsigned int n = 0; n < p->nodes; n++) {
        unsigned int lo = n * p->cores_per_node, hi = lo + p->cores_per_node - 1;

        OUT("%s{\"id\": %u, \"cpus\": \"%u-%u", n ? ", " : "", n, lo, hi);
        for (unsigned int t = 1; t < (p->threads ? p->threads : 1); t++)
            OUT(",%u-%u", lo + t * first_threads, hi + t * first_threads);
        OUT("\", \"memory_bytes\": %llu, \"free_bytes\": %llu, \"distances\": [",
            (unsigned long long)p->memory_per_node, (unsigned long long)p->free_per_node);
        for (unsigned int m = 0; m < p->nodes; m++)
            OUT("%s%d", m ? ", " : "", m == n ? 10 : p->remote_distance ? p->remote_distance : 21);
        OUT("], \"hugepages\": [{\"page_bytes\": 2097152, \"total\": %llu, \"free\": %llu}, "
            "{\"page_bytes\": 1073741824, \"total\": %llu, \"free\": %llu}]}",
            (unsigned long long)p->free_2m_pages, (unsigned long long)p->free_2m_pages,
            (unsigned long long)p->free_1g_pages, (unsigned long long)p->free_1g_pages);
    }
    OUT("], \"accelerators\": %s, \"rdma\": %s}",
        p->accelerators_json ? p->accelerators_json : "[]", p->rdma_json ? p->rdma_json : "[]");
#undef OUT
    assert_true(len < cap);
    if (hv_host_from_json(buf, &host) < 0)
        print_error("test host: %s (at %s)\n", hv_error_message(hv_error_last()),
                    hv_error_path(hv_error_last()));
    assert_non_null(host);
    free(buf);
    return host;
}

/* A spec from JSON; fails the test on errors. */
static inline hv_vm_spec *test_spec(const char *json)
{
    hv_vm_spec *spec = NULL;

    if (hv_vm_spec_from_json(json, &spec) < 0)
        print_error("spec: %s (at %s)\n", hv_error_message(hv_error_last()),
                    hv_error_path(hv_error_last()));
    assert_non_null(spec);
    return spec;
}

static inline hv_plan *test_plan(const hv_host *host, const char *spec_json)
{
    hv_vm_spec *spec = test_spec(spec_json);
    hv_plan *plan = NULL;

    assert_hv_ok(hv_plan_create(host, spec, NULL, &plan));
    hv_vm_spec_free(spec);
    return plan;
}

static inline const hv_finding *plan_finding(const hv_plan *plan, const char *code)
{
    for (size_t i = 0; i < hv_plan_finding_count(plan); i++)
        if (strcmp(hv_finding_code(hv_plan_finding_at(plan, i)), code) == 0)
            return hv_plan_finding_at(plan, i);
    return NULL;
}

static inline void print_findings(const hv_plan *plan)
{
    for (size_t i = 0; i < hv_plan_finding_count(plan); i++) {
        const hv_finding *f = hv_plan_finding_at(plan, i);
        print_message("  %s %s (%s): %s\n", hv_severity_name(hv_finding_severity(f)),
                      hv_finding_code(f), hv_finding_path(f), hv_finding_message(f));
    }
}

#define assert_finding(plan, code, severity)                                                       \
    do {                                                                                           \
        const hv_finding *f_ = plan_finding((plan), (code));                                       \
        if (!f_) {                                                                                 \
            print_error("no finding %s; the plan has:\n", (code));                                 \
            print_findings(plan);                                                                  \
        }                                                                                          \
        assert_non_null(f_);                                                                       \
        assert_int_equal(hv_finding_severity(f_), (severity));                                     \
    } while (0)

/* A fixture host (tests/fixtures/NAME), discovered; fails the test on errors. */
static inline hv_host *hv_test_fixture_host(const char *name)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    char root[4096];

    snprintf(root, sizeof(root), "%s", hv_test_fixture(name));
    opts.root = root;
    assert_hv_ok(hv_host_discover(&host, &opts));
    return host;
}

#endif

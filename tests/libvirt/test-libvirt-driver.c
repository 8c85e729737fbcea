/*
 * tests/libvirt/test-libvirt-driver.c - the libvirt backend's domains on
 * libvirt's test driver (libvirt:test:///default, in-process): the
 * element hpcvirt keeps in each domain's <metadata> (libvirt/metadata.h),
 * written for every example, read back by handles found by name (the
 * migration verdict), in its 0.1.0 form too, and hostile ones refused; the
 * 8-GPU example saved to a file and restored (the test driver restores
 * domain XML of at most 8 KiB); what a domain leaves out of its plan logged
 * as warnings on create.
 */
#include "libvirt-test.h"
#include "backend/backend.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/text.h"
#include "libvirt/driver.h"
#include "libvirt/metadata.h"

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libxml/tree.h>
#include <unistd.h>

#define URI "libvirt:test:///default"

static int state_of(hv_vm *vm)
{
    int st = -1;

    assert_hv_ok(hv_vm_state(vm, &st));
    return st;
}

/* A VM created and started from `plan` on the test driver. */
static hv_vm *started(hv_conn *conn, const hv_plan *plan)
{
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;
    hv_vm *vm = NULL;

    copts.flags = HV_VM_CREATE_START;
    assert_hv_ok(hv_vm_create(conn, plan, &copts, &vm));
    assert_int_equal(state_of(vm), HV_VM_STATE_RUNNING);
    return vm;
}

/* Powered off where it runs, undefined, freed. */
static void gone(hv_vm *vm)
{
    if (state_of(vm) != HV_VM_STATE_DEFINED)
        assert_hv_ok(hv_vm_destroy(vm));
    assert_hv_ok(hv_vm_undefine(vm));
    hv_vm_free(vm);
}

/* The examples and the fixture hosts they were written for (examples/specs/README.md). */
static const char *const examples[][2] = {
    {"training-8gpu", "hosts/dgx-a100-roce"},      {"genomics-128vcpu-6tb", "hosts/vsphere-max"},
    {"fpga-inference", "hosts/hugepages-2node"},   {"mpi-roce", "hosts/dgx-a100-roce"},
    {"vgpu-workstation", "hosts/hugepages-2node"}, {"linux-micro-vm", "hosts/hugepages-2node"},
};

/* The GPU VM of several tests: planned on the DGX fixture (not live-migratable), started. */
typedef struct gpu_vm {
    hv_host *dgx;
    hv_plan *plan;
    hv_conn *conn;
    hv_vm *vm;
} gpu_vm;

static int gpu_vm_setup(void **state)
{
    gpu_vm *g = calloc(1, sizeof(*g));

    assert_non_null(g);
    g->dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    g->plan = test_plan(g->dgx, "{\"name\": \"hv-drv-gpu\", \"vcpus\": 4, \"memory\": "
                                "\"4GiB\", \"accelerators\": [{\"pci_address\": "
                                "\"0000:07:00.0\"}]}");
    assert_false(hv_plan_live_migratable(g->plan));
    assert_hv_ok(hv_conn_open(URI, &g->conn));
    g->vm = started(g->conn, g->plan);
    *state = g;
    return 0;
}

static int gpu_vm_teardown(void **state)
{
    gpu_vm *g = *state;

    gone(g->vm);
    hv_plan_free(g->plan);
    hv_host_free(g->dgx);
    hv_conn_close(g->conn);
    free(g);
    return 0;
}

/* Replace the domain's hpcvirt element with <plan>TEXT</plan> (TEXT escaped), as anyone may. */
static void set_element(hv_vm *vm, const char *version, const char *text)
{
    xmlChar *escaped = xmlEncodeSpecialChars(NULL, BAD_CAST text);
    char *element = hv_asprintf("<plan%s%s%s>%s</plan>", version ? " version=\"" : "",
                                version ? version : "", version ? "\"" : "", (char *)escaped);

    assert_non_null(element);
    assert_int_equal(virDomainSetMetadata(hv_libvirt_domain(hv_vm_backend_data(vm)),
                                          VIR_DOMAIN_METADATA_ELEMENT, element,
                                          HV_LIBVIRT_PLAN_PREFIX, HV_LIBVIRT_PLAN_NS,
                                          VIR_DOMAIN_AFFECT_CURRENT),
                     0);
    free(element);
    xmlFree(escaped);
}

/*
 * A live migration of a fresh handle to `name`. The test driver refuses
 * every migration itself: the message tells whether hpcvirt refused first.
 */
static int live_migrate_found(hv_conn *conn, const char *name)
{
    hv_vm *found = NULL;
    int rc;

    assert_hv_ok(hv_vm_lookup(conn, name, &found));
    rc = hv_vm_migrate(found, "qemu+ssh://elsewhere/system", NULL);
    hv_vm_free(found);
    return rc;
}

static int refuse_progress(const hv_migrate_progress *progress, void *data)
{
    (void)progress;
    (void)data;
    fail_msg("the libvirt backend reports no migration progress: never called");
    return 1;
}

/*
 * A handle found by name (no plan at hand) reads the verdict from the
 * domain's metadata; the refusal names what works for such a VM.
 */
static void test_lookup_refuses_live_migration(void **state)
{
    gpu_vm *g = *state;
    hv_migrate_options mopts = HV_MIGRATE_OPTIONS_INIT;
    hv_vm *found = NULL;

    assert_hv_ok(hv_vm_lookup(g->conn, "hv-drv-gpu", &found));
    assert_hv_error(hv_vm_migrate(found, "qemu+ssh://elsewhere/system", NULL), HV_E_UNSUPPORTED);
    assert_error_mentions("hv-drv-gpu cannot be live-migrated: accelerators[0]: 0000:07:00.0 is "
                          "passed through (VFIO)");
    /* libvirt's QEMU driver saves through migration: a file is no way out (issue 17) */
    assert_null(strstr(hv_error_message(hv_error_last()), "suspend it to a file"));
    assert_error_mentions("stop it, move it with an offline migration (HV_MIGRATE_OFFLINE, "
                          "hpcvirt migrate --offline) and start it on the other host");
    /* an offline migration passes hpcvirt's check and reaches libvirt (the test driver has none) */
    assert_hv_ok(hv_vm_stop(found, 0));
    mopts.flags = HV_MIGRATE_OFFLINE;
    assert_hv_error(hv_vm_migrate(found, "qemu+ssh://elsewhere/system", &mopts), HV_E_UNSUPPORTED);
    assert_error_mentions("libvirt: migrating the domain");
    /* the built-in engine's options are refused by name, before libvirt is asked */
    mopts.key = "k";
    mopts.key_bytes = 1;
    assert_hv_error(hv_vm_migrate(found, "qemu+ssh://elsewhere/system", &mopts), HV_E_UNSUPPORTED);
    assert_error_mentions("libvirt secures its own with TLS");
    assert_string_equal(hv_error_path(hv_error_last()), "key");
    mopts.key = NULL;
    mopts.key_bytes = 0;
    mopts.progress = refuse_progress;
    assert_hv_error(hv_vm_migrate(found, "qemu+ssh://elsewhere/system", &mopts), HV_E_UNSUPPORTED);
    assert_error_mentions("reports no migration progress");
    hv_vm_free(found);
}

/* The 8-GPU example (96 pinned vCPUs, 8 GPUs, a VF) saved and restored. */
static void test_save_restore_8gpu(void **state)
{
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan = example_plan(dgx, "training-8gpu");
    hv_conn *conn = NULL;
    hv_vm *vm, *again = NULL;
    char path[] = "/tmp/hv-libvirt-8gpu-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_true(hv_plan_ok(plan));
    assert_hv_ok(hv_conn_open(URI, &conn));
    vm = started(conn, plan);
    assert_hv_ok(hv_vm_suspend(vm, path, NULL));
    assert_int_equal(state_of(vm), HV_VM_STATE_DEFINED);
    assert_hv_ok(hv_vm_resume_from(conn, path, NULL, &again));
    assert_string_equal(hv_vm_name(again), "train-8gpu");
    assert_int_equal(state_of(again), HV_VM_STATE_RUNNING);
    hv_vm_free(again);
    /* the verdict came through the save image */
    assert_hv_error(live_migrate_found(conn, "train-8gpu"), HV_E_UNSUPPORTED);
    assert_error_mentions("accelerators[0]: 0000:07:00.0, 0000:0f:00.0, 0000:47:00.0");
    gone(vm);
    unlink(path);
    hv_plan_free(plan);
    hv_host_free(dgx);
    hv_conn_close(conn);
}

/* The element's JSON text in a domain's XML, and its version attribute (free() it). */
static char *element_text(const char *xml, char *version, size_t size)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr n = doc ? xmlDocGetRootElement(doc)->children : NULL;
    char *text = NULL;

    assert_non_null(doc);
    for (; n && !text; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "metadata") != 0)
            continue;
        for (xmlNodePtr e = n->children; e && !text; e = e->next) {
            if (e->type != XML_ELEMENT_NODE || !e->ns ||
                xmlStrcmp(e->ns->href, BAD_CAST HV_LIBVIRT_PLAN_NS) != 0)
                continue;
            xmlChar *v = xmlGetNoNsProp(e, BAD_CAST "version"), *t = xmlNodeGetContent(e);

            snprintf(version, size, "%s", v ? (const char *)v : "");
            text = strdup((const char *)t);
            xmlFree(v);
            xmlFree(t);
        }
    }
    xmlFreeDoc(doc);
    assert_non_null(text);
    return text;
}

/* Every example: what the element says, and that its spec is the plan's spec. */
static void test_metadata_of_the_examples(void **state)
{
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        hv_host *host = hv_test_fixture_host(examples[i][1]);
        hv_plan *plan = example_plan(host, examples[i][0]);
        char *text = hv_libvirt_metadata_text(plan), *plan_json = NULL, *spec_json = NULL;
        char *again_json = NULL, *digest;
        json_object *root = NULL, *migration, *reasons;
        hv_vm_spec *again = NULL;
        bool live = true;

        assert_non_null(text);
        assert_hv_ok(hv_plan_to_json(plan, HV_JSON_COMPACT, &plan_json));
        print_message("%s: %zu bytes of metadata text (the plan's JSON: %zu)\n", examples[i][0],
                      strlen(text), strlen(plan_json));
        assert_true(strlen(text) < 1024);
        assert_hv_ok(hv_json_parse(text, "metadata", &root));
        assert_string_equal(hv_json_get_string(root, "profile"), hv_plan_profile(plan));
        /* the digest names the plan exactly */
        digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, plan_json, -1);
        assert_non_null(hv_json_get_string(root, "digest"));
        assert_memory_equal(hv_json_get_string(root, "digest"), "sha256:", 7);
        assert_string_equal(hv_json_get_string(root, "digest") + 7, digest);
        g_free(digest);
        /* the verdict, at the keys 0.1.0 read it from */
        migration = hv_json_get(root, "migration", json_type_object);
        assert_true(hv_json_get_bool(migration, "live", &live));
        assert_int_equal(live, hv_plan_live_migratable(plan));
        reasons = hv_json_get(migration, "reasons", json_type_array);
        assert_int_equal(json_object_array_length(reasons),
                         hv_plan_migration_reason_count(plan) ? 1 : 0);
        if (!live)
            assert_string_equal(json_object_get_string(json_object_array_get_idx(reasons, 0)),
                                hv_plan_migration_reason_at(plan, 0));
        /* the spec, without its defaults, reads back as the plan's spec */
        assert_hv_ok(hv_json_serialize(hv_json_get(root, "spec", json_type_object), HV_JSON_COMPACT,
                                       &spec_json));
        assert_hv_ok(hv_vm_spec_from_json(spec_json, &again));
        hv_free(spec_json);
        assert_hv_ok(hv_vm_spec_to_json(again, HV_JSON_COMPACT, &again_json));
        assert_hv_ok(hv_vm_spec_to_json(hv_plan_spec(plan), HV_JSON_COMPACT, &spec_json));
        assert_string_equal(again_json, spec_json);
        hv_free(again_json);
        hv_free(spec_json);
        hv_vm_spec_free(again);
        json_object_put(root);
        hv_free(plan_json);
        free(text);
        hv_plan_free(plan);
        hv_host_free(host);
    }
}

/* The element in the domain XML: version 2, the text above; and the 8-GPU example's size. */
static void test_metadata_in_the_domain(void **state)
{
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan = example_plan(dgx, "training-8gpu");
    char *xml = NULL, *text, *expected = hv_libvirt_metadata_text(plan), version[16];

    assert_hv_ok(hv_plan_to_libvirt_xml(plan, NULL, &xml));
    text = element_text(xml, version, sizeof(version));
    assert_string_equal(version, "2");
    assert_string_equal(text, expected);
    /* 12076 bytes with the whole plan (hpcvirt 0.1.0) */
    print_message("training-8gpu: %zu bytes of domain XML\n", strlen(xml));
    assert_true(strlen(xml) < 8000);
    free(text);
    free(expected);
    hv_free(xml);
    hv_plan_free(plan);
    hv_host_free(dgx);
}

/* Domains defined by hpcvirt 0.1.0 hold the whole plan, without a version: still read. */
static void test_metadata_version_1(void **state)
{
    gpu_vm *g = *state;
    char *json = NULL;

    assert_hv_ok(hv_plan_to_json(g->plan, HV_JSON_COMPACT, &json));
    set_element(g->vm, NULL, json);
    hv_free(json);
    assert_hv_error(live_migrate_found(g->conn, "hv-drv-gpu"), HV_E_UNSUPPORTED);
    assert_error_mentions("hv-drv-gpu cannot be live-migrated: accelerators[0]: 0000:07:00.0 is "
                          "passed through (VFIO)");
    /* a live verdict in either form lets the migration go on to libvirt */
    set_element(g->vm, NULL,
                "{\"name\": \"hv-drv-gpu\", \"migration\": {\"live\": true, "
                "\"reasons\": []}, \"devices\": []}");
    assert_hv_error(live_migrate_found(g->conn, "hv-drv-gpu"), HV_E_UNSUPPORTED);
    assert_error_mentions("libvirt: migrating the domain");
    set_element(g->vm, "2", "{\"migration\": {\"live\": true, \"reasons\": []}}");
    assert_hv_error(live_migrate_found(g->conn, "hv-drv-gpu"), HV_E_UNSUPPORTED);
    assert_error_mentions("libvirt: migrating the domain");
}

#define NS_ATTR " xmlns:hpcvirt=\"" HV_LIBVIRT_PLAN_NS "\""
#define REFUSED "{\"migration\": {\"live\": false, \"reasons\": [\"r\"]}}"

/* The reader: the documented forms, and what anyone else may have written. */
static void test_metadata_reader(void **state)
{
    static const struct {
        const char *element;
        bool found;
        unsigned int version;
    } cases[] = {
        {"<hpcvirt:plan" NS_ATTR " version=\"2\">" REFUSED "</hpcvirt:plan>", true, 2},
        {"<hpcvirt:plan" NS_ATTR ">" REFUSED "</hpcvirt:plan>", true, 1},
        /* a later version keeps the verdict where it is (docs/backends.md) */
        {"<hpcvirt:plan" NS_ATTR " version=\"3\">" REFUSED "</hpcvirt:plan>", true, 3},
        {"<hpcvirt:plan" NS_ATTR "><![CDATA[" REFUSED "]]></hpcvirt:plan>", true, 1},
        {"<hpcvirt:plan" NS_ATTR ">{&quot;migration&quot;: {&quot;live&quot;: false}}"
         "</hpcvirt:plan>",
         true, 1},
        {"", false, 0},
        {"not xml", false, 0},
        {"<hpcvirt:plan" NS_ATTR " version=\"two\">" REFUSED "</hpcvirt:plan>", false, 0},
        {"<hpcvirt:plan" NS_ATTR " version=\"0\">" REFUSED "</hpcvirt:plan>", false, 0},
        {"<hpcvirt:plan" NS_ATTR " version=\"02\">" REFUSED "</hpcvirt:plan>", false, 0},
        {"<x:plan xmlns:x=\"https://example.org/plan\">" REFUSED "</x:plan>", false, 0},
        {"<plan xmlns=\"https://example.org/plan\">" REFUSED "</plan>", false, 0},
        /* as virDomainGetMetadata() gives it */
        {"<plan version=\"2\">" REFUSED "</plan>", true, 2},
        {"<hpcvirt:spec" NS_ATTR ">" REFUSED "</hpcvirt:spec>", false, 0},
        {"<hpcvirt:plan" NS_ATTR ">[" REFUSED "]</hpcvirt:plan>", false, 0},
        {"<hpcvirt:plan" NS_ATTR ">{\"migration\": {\"live\": \"no\"}}</hpcvirt:plan>", false, 0},
        {"<hpcvirt:plan" NS_ATTR ">{\"migration\": [false]}</hpcvirt:plan>", false, 0},
        {"<hpcvirt:plan" NS_ATTR ">{\"migration\": {\"live\": false,}}</hpcvirt:plan>", false, 0},
        /* two verdicts: which one? neither */
        {"<hpcvirt:plan" NS_ATTR ">{\"migration\": {\"live\": true, \"live\": false}}"
         "</hpcvirt:plan>",
         false, 0},
        /* markup or entities in the text */
        {"<hpcvirt:plan" NS_ATTR ">{\"migration\": <b/>{\"live\": false}}</hpcvirt:plan>", false,
         0},
        {"<!DOCTYPE hpcvirt:plan [<!ENTITY v \"false\">]><hpcvirt:plan" NS_ATTR
         ">{\"migration\": {\"live\": &v;}}</hpcvirt:plan>",
         false, 0},
    };
    hv_libvirt_verdict v;
    char *big, *reason;
    size_t n;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hv_libvirt_metadata_verdict(cases[i].element, &v);
        if (v.found != cases[i].found)
            print_error("case %zu: %s\n", i, cases[i].element);
        assert_int_equal(v.found, cases[i].found);
        assert_int_equal(v.live, !cases[i].found);
        if (cases[i].found)
            assert_int_equal(v.version, cases[i].version);
    }
    hv_libvirt_metadata_verdict(NULL, &v);
    assert_false(v.found);
    hv_libvirt_metadata_verdict(cases[0].element, &v);
    assert_string_equal(v.reason, "r");

    /* larger than HV_LIBVIRT_METADATA_MAX_BYTES: not read, however valid */
    big = malloc(HV_LIBVIRT_METADATA_MAX_BYTES + 200);
    assert_non_null(big);
    n = (size_t)snprintf(big, 200,
                         "<hpcvirt:plan" NS_ATTR ">{\"migration\": {\"live\": false}, "
                         "\"pad\": \"");
    memset(big + n, 'x', HV_LIBVIRT_METADATA_MAX_BYTES);
    strcpy(big + n + HV_LIBVIRT_METADATA_MAX_BYTES, "\"}</hpcvirt:plan>");
    hv_libvirt_metadata_verdict(big, &v);
    assert_false(v.found);
    free(big);

    /* a long reason is cut between characters: 1000 e-acute of 2 bytes, cut to 255 */
    reason = malloc(4096);
    assert_non_null(reason);
    n = (size_t)sprintf(reason, "<hpcvirt:plan" NS_ATTR ">{\"migration\": {\"live\": false, "
                                "\"reasons\": [\"");
    for (int i = 0; i < 1000; i++, n += 2)
        memcpy(reason + n, "\xc3\xa9", 2);
    strcpy(reason + n, "\"]}}</hpcvirt:plan>");
    hv_libvirt_metadata_verdict(reason, &v);
    assert_true(v.found);
    assert_int_equal(strlen(v.reason), HV_LIBVIRT_REASON_MAX - 2);
    assert_true(hv_utf8_valid(v.reason, strlen(v.reason)));
    free(reason);
}

/* A reason written by someone else reaches the message quoted. */
static void test_metadata_reason_quoted(void **state)
{
    gpu_vm *g = *state;

    set_element(g->vm, "2",
                "{\"migration\": {\"live\": false, \"reasons\": [\"<&> \\u001b[31mred\\nline\"]}}");
    assert_hv_error(live_migrate_found(g->conn, "hv-drv-gpu"), HV_E_UNSUPPORTED);
    assert_error_mentions("<&> ");
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    assert_null(strchr(hv_error_message(hv_error_last()), '\n'));
    /* no reason given */
    set_element(g->vm, "2", "{\"migration\": {\"live\": false}}");
    assert_hv_error(live_migrate_found(g->conn, "hv-drv-gpu"), HV_E_UNSUPPORTED);
    assert_error_mentions("hv-drv-gpu cannot be live-migrated: its plan says so");
}

/* The log records of warning level and above, as one text: "LEVEL DOMAIN: MESSAGE\n" each. */
static char logged[4096];

static void keep_record(int level, const char *domain, const char *message, void *data)
{
    size_t len = strlen(logged);

    (void)data;
    snprintf(logged + len, sizeof(logged) - len, "%d %s: %s\n", level, domain, message);
}

/* A VM created from `plan` with `backend_options`, and undefined again; what it logged. */
static const char *create_logged(hv_conn *conn, const hv_plan *plan, const char *backend_options)
{
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;
    hv_vm *vm = NULL;

    logged[0] = '\0';
    copts.backend_options = backend_options;
    assert_hv_ok(hv_set_log_handler(keep_record, HV_LOG_WARNING, NULL));
    assert_hv_ok(hv_vm_create(conn, plan, &copts, &vm));
    assert_hv_ok(hv_set_log_handler(NULL, HV_LOG_WARNING, NULL));
    gone(vm);
    return logged;
}

/*
 * What the domain leaves out of the plan reaches the application through its log, as a finding
 * would be printed: a NIC's queues and RSS without a network.
 */
static void test_create_logs_what_the_domain_leaves_out(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan = test_plan(host, "{\"name\": \"hv-drv-nic\", \"vcpus\": 4, \"memory\": "
                                    "\"2GiB\", \"nics\": [{\"queues\": 4, \"rss\": [\"tcp\"]}]}");
    hv_conn *conn = NULL;
    char want[512];

    assert_hv_ok(hv_conn_open(URI, &conn));
    snprintf(want, sizeof(want),
             "%d libvirt: xml.nic.user-networking (at nics[0]): without a network the NIC has "
             "user-mode networking, which has one queue: its 4 queues and RSS are left out of the "
             "domain XML; name a libvirt network (\"default\", for one) to keep them\n",
             HV_LOG_WARNING);
    assert_string_equal(create_logged(conn, plan, NULL), want);
    assert_string_equal(create_logged(conn, plan, "network=default"), "");
    hv_conn_close(conn);
    hv_plan_free(plan);
    hv_host_free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookup_refuses_live_migration, gpu_vm_setup,
                                        gpu_vm_teardown),
        cmocka_unit_test(test_save_restore_8gpu),
        cmocka_unit_test(test_metadata_of_the_examples),
        cmocka_unit_test(test_metadata_in_the_domain),
        cmocka_unit_test_setup_teardown(test_metadata_version_1, gpu_vm_setup, gpu_vm_teardown),
        cmocka_unit_test(test_metadata_reader),
        cmocka_unit_test_setup_teardown(test_metadata_reason_quoted, gpu_vm_setup, gpu_vm_teardown),
        cmocka_unit_test(test_create_logs_what_the_domain_leaves_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

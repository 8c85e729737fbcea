/*
 * tests/backend/test-backend.c - the backend layer through the public API:
 * URI dispatch (declines, failures, unknown schemes, the default URI),
 * plugins loaded from a directory, application-registered backends,
 * unsupported operations naming the backend, plans with errors refused
 * before any backend call, half-created VMs removed, bad arguments;
 * outside text (URIs, names, paths, options) escaped in messages; backend
 * names and schemes held to their rule (no control characters, no bytes
 * that are not ASCII).
 */
#include "hv-test.h"

#include <stddef.h>

#include <stdlib.h>

static const char *plugin_dir(void)
{
    const char *dir = getenv("HV_TEST_PLUGIN_DIR");

    assert_non_null(dir);
    return dir;
}

static hv_plan *small_plan(const char *name, int vcpus)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    char json[256];

    opts.root = hv_test_fixture("hosts/dgx-a100-roce");
    assert_hv_ok(hv_host_discover(&host, &opts));
    snprintf(json, sizeof(json), "{\"name\": \"%s\", \"vcpus\": %d, \"memory\": \"4GiB\"}", name,
             vcpus);
    assert_hv_ok(hv_vm_spec_from_json(json, &spec));
    assert_hv_ok(hv_plan_create(host, spec, NULL, &plan));
    hv_vm_spec_free(spec);
    hv_host_free(host);
    return plan;
}

static void test_plugins_and_dispatch(void **state)
{
    hv_conn *conn = NULL;
    bool found = false;

    /* loaded once per directory */
    assert_int_equal(hv_backend_load_plugins(plugin_dir()), 1);
    assert_int_equal(hv_backend_load_plugins(plugin_dir()), 0);
    for (size_t i = 0; i < hv_backend_count(); i++)
        found |= strcmp(hv_backend_name_at(i), "testplug") == 0;
    assert_true(found);
    assert_null(hv_backend_name_at(hv_backend_count()));

    assert_hv_ok(hv_conn_open("testplug:ok", &conn));
    assert_string_equal(hv_conn_backend(conn), "testplug");
    assert_string_equal(hv_conn_uri(conn), "testplug:ok");
    hv_conn_close(conn);
    /* every backend declined */
    assert_hv_error(hv_conn_open("testplug:decline", &conn), HV_E_NOTFOUND);
    assert_null(conn);
    /* the backend's own error comes through */
    assert_hv_error(hv_conn_open("testplug:fail", &conn), HV_E_BACKEND);
    assert_error_mentions("refuses testplug:fail on purpose");
    assert_hv_error(hv_conn_open("nosuch:///", &conn), HV_E_NOTFOUND);
    assert_error_mentions("testplug:");
    /* the built-in engine without KVM says what to do: payloads need KVM, other VMs have libvirt */
    setenv("HPCVIRT_KVM_DEVICE", "/nonexistent/kvm", 1);
    assert_hv_error(hv_conn_open("kvm:///", &conn), HV_E_NOKVM);
    assert_error_mentions("load kvm_intel or kvm_amd");
    assert_error_mentions("a VM without a payload can use a libvirt: URI");
    unsetenv("HPCVIRT_KVM_DEVICE");
    /* NULL: $HPCVIRT_DEFAULT_URI */
    setenv("HPCVIRT_DEFAULT_URI", "testplug:ok", 1);
    assert_hv_ok(hv_conn_open(NULL, &conn));
    assert_string_equal(hv_conn_uri(conn), "testplug:ok");
    hv_conn_close(conn);
    unsetenv("HPCVIRT_DEFAULT_URI");
    /* and without it, kvm:/// (made to fail the same way everywhere) */
    setenv("HPCVIRT_KVM_DEVICE", "/nonexistent/kvm", 1);
    assert_hv_error(hv_conn_open(NULL, &conn), HV_E_NOKVM);
    unsetenv("HPCVIRT_KVM_DEVICE");
    assert_hv_error(hv_backend_load_plugins("/nonexistent/plugins"), HV_E_IO);
}

static void test_lifecycle_and_unsupported(void **state)
{
    hv_conn *conn = NULL;
    hv_vm *vm = NULL, *again = NULL;
    hv_plan *plan = small_plan("plugvm", 2);
    hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
    hv_host *host = NULL;
    int st = -1;
    char **names = NULL;
    size_t n = 0;

    assert_hv_ok(hv_conn_open("testplug:ok", &conn));
    opts.flags = HV_VM_CREATE_START;
    assert_hv_ok(hv_vm_create(conn, plan, &opts, &vm));
    assert_string_equal(hv_vm_name(vm), "plugvm");
    assert_hv_ok(hv_vm_state(vm, &st));
    assert_int_equal(st, HV_VM_STATE_RUNNING);
    assert_string_equal(hv_vm_state_name(st), "running");
    assert_hv_ok(hv_vm_lookup(conn, "plugvm", &again));
    hv_vm_free(again);
    assert_hv_error(hv_vm_lookup(conn, "other", &again), HV_E_NOTFOUND);
    assert_null(again);
    /* operations the plugin leaves NULL */
    assert_hv_error(hv_vm_pause(vm), HV_E_UNSUPPORTED);
    assert_error_mentions("testplug backend does not support pausing VMs");
    /* the message names a backend that has the operation, by its scheme */
    assert_error_mentions("backend does: open a kvm: URI");
    assert_hv_error(hv_vm_suspend(vm, "/tmp/x", NULL), HV_E_UNSUPPORTED);
    assert_hv_error(hv_vm_snapshot_create(vm, "s"), HV_E_UNSUPPORTED);
    assert_hv_error(hv_vm_migrate(vm, "testplug:ok", NULL), HV_E_UNSUPPORTED);
    assert_error_mentions("migration");
    assert_hv_error(hv_conn_host(conn, &host), HV_E_UNSUPPORTED);
    assert_hv_error(hv_conn_list_vms(conn, &names, &n), HV_E_UNSUPPORTED);
    assert_hv_error(hv_vm_resume_from(conn, "/tmp/x", NULL, &again), HV_E_UNSUPPORTED);
    hv_vm_free(vm);
    hv_plan_free(plan);
    hv_conn_close(conn);
}

static void test_plans_with_errors_never_reach_the_backend(void **state)
{
    hv_conn *conn = NULL;
    hv_vm *vm = (hv_vm *)0x1, *found = NULL;
    hv_plan *plan = small_plan("toolarge", 200); /* > 128 vCPUs of vsphere-6.7 */

    assert_false(hv_plan_ok(plan));
    assert_hv_ok(hv_conn_open("testplug:ok", &conn));
    assert_hv_error(hv_vm_create(conn, plan, NULL, &vm), HV_E_PLAN);
    assert_null(vm);
    assert_error_mentions("plan.max.vcpus");
    assert_string_equal(hv_error_path(hv_error_last()), "vcpus");
    assert_hv_error(hv_vm_lookup(conn, "toolarge", &found), HV_E_NOTFOUND);
    hv_plan_free(plan);
    hv_conn_close(conn);
}

static void test_failed_start_keeps_its_message(void **state)
{
    hv_conn *conn = NULL;
    hv_vm *vm = (hv_vm *)0x1;
    hv_plan *plan = small_plan("wont-start", 2);
    hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;

    assert_hv_ok(hv_conn_open("testplug:ok", &conn));
    opts.flags = HV_VM_CREATE_START;
    assert_hv_error(hv_vm_create(conn, plan, &opts, &vm), HV_E_BACKEND);
    assert_null(vm);
    assert_error_mentions("testplug cannot start wont-start");
    hv_plan_free(plan);
    hv_conn_close(conn);
}

static int app_open(const char *uri, void **data)
{
    *data = NULL;
    return strcmp(uri, "app:here") == 0 ? 0 : HV_BACKEND_DECLINED;
}

static int any_open(const char *uri, void **data)
{
    (void)uri;
    *data = NULL;
    return 0;
}

static int v1_open(const char *uri, void **data)
{
    *data = NULL;
    return strcmp(uri, "old:x") == 0 ? 0 : HV_BACKEND_DECLINED;
}

static int v1_lookup(void *data, const char *name, void **out)
{
    (void)data;
    (void)name;
    *out = NULL;
    return 0;
}

/* A table built against version 1 of backend.h is shorter: only that much is
 * read (ASan would catch more), and the newer operations are unsupported. */
static void test_version_1_tables(void **state)
{
    size_t v1_size = offsetof(hv_backend, vm_wait);
    hv_backend full = {
        .version = 1, .name = "old", .scheme = "old", .open = v1_open, .vm_lookup = v1_lookup};
    hv_backend *v1 = calloc(1, v1_size);
    hv_conn *conn = NULL;
    hv_vm *vm = NULL;
    int code = 0;
    uint64_t value = 0;

    assert_non_null(v1);
    memcpy(v1, &full, v1_size);
    assert_hv_ok(hv_backend_register(v1));
    free(v1); /* the registry keeps its own copy */
    assert_hv_ok(hv_conn_open("old:x", &conn));
    assert_hv_ok(hv_vm_lookup(conn, "any", &vm));
    assert_hv_error(hv_vm_wait(vm, 0, &code), HV_E_UNSUPPORTED);
    assert_error_mentions("old backend does not support waiting for guests to end");
    assert_error_mentions("(the kvm backend does: open a kvm: URI)");
    assert_hv_error(hv_vm_stat(vm, HV_VM_STAT_EXITS, &value), HV_E_UNSUPPORTED);
    hv_vm_free(vm);
    hv_conn_close(conn);
    assert_hv_ok(hv_backend_unregister("old"));
}

static void test_application_backends(void **state)
{
    hv_backend app = {
        .version = HV_BACKEND_VERSION, .name = "app", .scheme = "app", .open = app_open};
    hv_conn *conn = NULL, *refused = NULL;

    assert_hv_ok(hv_backend_register(&app));
    assert_hv_error(hv_backend_register(&app), HV_E_EXISTS);
    assert_hv_ok(hv_conn_open("app:here", &conn));
    assert_string_equal(hv_conn_backend(conn), "app");
    /* unregistering stops new connections; the open one keeps working */
    assert_hv_ok(hv_backend_unregister("app"));
    assert_hv_error(hv_conn_open("app:here", &refused), HV_E_NOTFOUND);
    assert_null(refused);
    assert_hv_error(hv_backend_unregister("app"), HV_E_NOTFOUND);
    assert_string_equal(hv_conn_backend(conn), "app");
    hv_conn_close(conn);
    /* bad tables */
    app.version = 0;
    assert_hv_error(hv_backend_register(&app), HV_E_INVAL);
    app.version = HV_BACKEND_VERSION + 1;
    assert_hv_error(hv_backend_register(&app), HV_E_INVAL);
    assert_error_mentions("build the backend against these headers");
    app.version = HV_BACKEND_VERSION;
    app.open = NULL;
    assert_hv_error(hv_backend_register(&app), HV_E_INVAL);
    assert_hv_error(hv_backend_register(NULL), HV_E_INVAL);
}

/*
 * The thread's error message shows `escaped` and is plain printable ASCII:
 * no escape sequence, control character or stray byte of the outside text
 * reaches whoever shows the message (a terminal, a log).
 */
static void assert_message_escaped(const char *escaped)
{
    const char *message = hv_error_message(hv_error_last());

    for (const char *p = message; *p; p++)
        if (*p < 0x20 || *p > 0x7e) {
            print_error("byte 0x%02x at %zu of: %s\n", (unsigned int)(unsigned char)*p,
                        (size_t)(p - message), message);
            fail();
        }
    if (!strstr(message, escaped))
        print_error("'%s' is not in: %s\n", escaped, message);
    assert_non_null(strstr(message, escaped));
}

static void test_outside_text_escaped(void **state)
{
    hv_conn *conn = NULL;
    hv_plan *plan = small_plan("esc", 2);
    hv_libvirt_xml_options xml = HV_LIBVIRT_XML_OPTIONS_INIT;
    char *text = NULL;
    int rc;

    /* a URI no backend takes, the built-in engine's, libvirt's */
    assert_hv_error(hv_conn_open("\x1b]0;owned\x07:\xff\xfe//x", &conn), HV_E_NOTFOUND);
    assert_message_escaped("'\\u001b]0;owned\\u0007:\\xff\\xfe//x'");
    assert_hv_error(hv_conn_open("kvm:///\x1b[31m\xc3", &conn), HV_E_INVAL);
    assert_message_escaped("'kvm:///\\u001b[31m\\xc3'");
    rc = hv_conn_open("libvirt:test:///\x1b[31m/\xff.xml", &conn);
    assert_true(rc < 0);
    assert_message_escaped("\\u001b[31m/\\xff.xml");
    assert_null(conn);
    /* an embedded driver's URI without a root (NOTFOUND where there is no libvirt backend) */
    rc = hv_conn_open("libvirt:qemu:///embed?x=\x1b[31m\xff", &conn);
    assert_true(rc < 0);
    if (rc == HV_E_INVAL)
        assert_message_escaped("'qemu:///embed?x=\\u001b[31m\\xff' names no root directory: "
                               "write qemu:///embed?root=DIR");
    else
        assert_message_escaped("'libvirt:qemu:///embed?x=\\u001b[31m\\xff'");
    assert_null(conn);
    /* the built-in engine's device, from $HPCVIRT_KVM_DEVICE */
    setenv("HPCVIRT_KVM_DEVICE", "/nonexistent/\x1b[2Jkvm\xff", 1);
    assert_hv_error(hv_conn_open("kvm:///", &conn), HV_E_NOKVM);
    assert_message_escaped("/nonexistent/\\u001b[2Jkvm\\xff does not exist");
    unsetenv("HPCVIRT_KVM_DEVICE");
    /* backend names, plugin directories */
    assert_hv_error(hv_backend_unregister("\x1b[2J\xff"), HV_E_NOTFOUND);
    assert_message_escaped("'\\u001b[2J\\xff'");
    assert_hv_error(hv_backend_load_plugins("/nonexistent/\x1b[2J"), HV_E_IO);
    assert_message_escaped("/nonexistent/\\u001b[2J");
    /* libvirt domain options (where the library has the libvirt backend) */
    xml.network = "net\x1b[2J";
    rc = hv_plan_to_libvirt_xml(plan, &xml, &text);
    if (rc != HV_E_UNSUPPORTED) {
        assert_hv_error(rc, HV_E_INVAL);
        assert_message_escaped("'net\\u001b[2J'");
        xml.network = NULL;
        xml.console_log = "/var/log/\xe2\x80\xae.log";
        assert_hv_error(hv_plan_to_libvirt_xml(plan, &xml, &text), HV_E_INVAL);
        assert_message_escaped("'/var/log/\\u202e.log'");
    }
    assert_null(text);
    hv_plan_free(plan);
}

/* Names and schemes: lowercase ASCII letters, digits, '-', '_' (names only), '+', '.'. */
static void test_backend_names(void **state)
{
    static const char longest[] =
        "a123456789012345678901234567890123456789012345678901234567890123";
    static const char too_long[] =
        "a1234567890123456789012345678901234567890123456789012345678901234";
    /* refused, with what the message shows of them (printable ASCII only) */
    static const struct {
        const char *name, *scheme, *shown;
    } refused[] = {
        /* control characters, escape sequences, bytes that are not UTF-8, bidi overrides */
        {"app\x1b[2J", "app", "backend name 'app\\u001b[2J' is not valid"},
        {"app\x1b]0;owned\x07", "app", "'app\\u001b]0;owned\\u0007'"},
        {"app\n", "app", "'app\\n'"},
        {"app\x7f", "app", "'app\\u007f'"},
        {"app\xff\xfe", "app", "'app\\xff\\xfe'"},
        {"app\xc2\x9b", "app", "'app\\u009b'"},
        {"app\xe2\x80\xae", "app", "'app\\u202e'"},
        {"app", "app\x1b", "backend scheme 'app\\u001b' is not valid"},
        {"app", "\xff", "'\\xff'"},
        /* printable but not allowed: spaces, capitals, a digit first, '_' or ':' in a scheme */
        {"my app", "app", "'my app'"},
        {"App", "app", "'App'"},
        {"1app", "app", "'1app'"},
        {"app", "my_app", "backend scheme 'my_app'"},
        {"app", "App", "'App'"},
        {"app", "app:", "'app:'"},
        /* empty, or longer than 64 characters */
        {"app", "", "backend scheme ''"},
        {too_long, "app", "backend name 'a1234"},
        {"app", too_long, "backend scheme 'a1234"},
    };
    hv_backend ok = {.version = HV_BACKEND_VERSION,
                     .name = "my-app_2.0+x",
                     .scheme = "my-app.2+x",
                     .open = any_open};
    hv_conn *conn = NULL;
    size_t count;

    assert_hv_ok(hv_backend_register(&ok));
    assert_hv_ok(hv_conn_open("my-app.2+x:here", &conn));
    assert_string_equal(hv_conn_backend(conn), "my-app_2.0+x");
    hv_conn_close(conn);
    assert_hv_ok(hv_backend_unregister("my-app_2.0+x"));
    ok.name = ok.scheme = longest; /* 64 characters */
    assert_hv_ok(hv_backend_register(&ok));
    assert_hv_ok(hv_backend_unregister(longest));
    ok.name = "everything";
    ok.scheme = NULL; /* offered every URI */
    assert_hv_ok(hv_backend_register(&ok));
    assert_hv_ok(hv_backend_unregister("everything"));

    count = hv_backend_count();
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        ok.name = refused[i].name;
        ok.scheme = refused[i].scheme;
        assert_hv_error(hv_backend_register(&ok), HV_E_INVAL);
        assert_message_escaped(refused[i].shown);
        assert_error_mentions("a lowercase letter first, then lowercase letters, digits and");
        assert_int_equal(hv_backend_count(), count);
    }
    /* printable, so shown as it is, but not ASCII */
    ok.name = "caf\xc3\xa9";
    ok.scheme = "app";
    assert_hv_error(hv_backend_register(&ok), HV_E_INVAL);
    assert_error_mentions("backend name 'caf\xc3\xa9' is not valid");
}

static void test_bad_arguments(void **state)
{
    hv_vm *vm = NULL;
    int st;
    bool has;
    hv_vm_create_options c;
    hv_migrate_options m = HV_MIGRATE_OPTIONS_INIT;

    assert_hv_error(hv_conn_open("x", NULL), HV_E_INVAL);
    assert_hv_error(hv_vm_create(NULL, NULL, NULL, &vm), HV_E_INVAL);
    assert_hv_error(hv_vm_start(NULL), HV_E_INVAL);
    assert_hv_error(hv_vm_state(NULL, &st), HV_E_INVAL);
    assert_hv_error(hv_vm_has_managed_save(NULL, &has), HV_E_INVAL);
    assert_hv_error(hv_vm_create_options_init(&c, 0), HV_E_INVAL);
    assert_hv_ok(hv_vm_create_options_init(&c, HV_VM_CREATE_OPTIONS_VERSION));
    assert_int_equal(m.version, HV_MIGRATE_OPTIONS_VERSION);
    assert_string_equal(hv_vm_name(NULL), "");
    assert_string_equal(hv_vm_state_name(99), "unknown");
    hv_vm_free(NULL);
    hv_conn_close(NULL);
    hv_strv_free(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_and_dispatch),
        cmocka_unit_test(test_lifecycle_and_unsupported),
        cmocka_unit_test(test_plans_with_errors_never_reach_the_backend),
        cmocka_unit_test(test_failed_start_keeps_its_message),
        cmocka_unit_test(test_application_backends),
        cmocka_unit_test(test_version_1_tables),
        cmocka_unit_test(test_outside_text_escaped),
        cmocka_unit_test(test_backend_names),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

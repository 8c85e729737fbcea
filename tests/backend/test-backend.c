/*
 * tests/backend/test-backend.c - the backend layer through the public API:
 * URI dispatch (declines, failures, unknown schemes, the default URI),
 * plugins loaded from a directory, application-registered backends,
 * unsupported operations naming the backend, plans with errors refused
 * before any backend call, half-created VMs removed, bad arguments.
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
    /* the built-in engine without KVM says what to use instead */
    setenv("HPCVIRT_KVM_DEVICE", "/nonexistent/kvm", 1);
    assert_hv_error(hv_conn_open("kvm:///", &conn), HV_E_NOKVM);
    assert_error_mentions("libvirt:");
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
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/libvirt/test-libvirt-driver.c - the libvirt backend's domains on
 * libvirt's test driver (libvirt:test:///default, in-process): the
 * migration verdict a handle found by name reads from the domain.
 */
#include "libvirt-test.h"

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

/*
 * A handle found by name (no plan at hand) reads the verdict from the
 * domain's metadata; the refusal names what works for such a VM.
 */
static void test_lookup_refuses_live_migration(void **state)
{
    hv_host *dgx = fixture("hosts/dgx-a100-roce");
    hv_plan *plan = test_plan(dgx, "{\"name\": \"hv-drv-gpu\", \"vcpus\": 4, \"memory\": "
                                   "\"4GiB\", \"accelerators\": [{\"pci_address\": "
                                   "\"0000:07:00.0\"}]}");
    hv_migrate_options mopts = HV_MIGRATE_OPTIONS_INIT;
    hv_conn *conn = NULL;
    hv_vm *vm, *found = NULL;

    assert_false(hv_plan_live_migratable(plan));
    assert_hv_ok(hv_conn_open(URI, &conn));
    vm = started(conn, plan);
    assert_hv_ok(hv_vm_lookup(conn, "hv-drv-gpu", &found));
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
    hv_vm_free(found);
    gone(vm);
    hv_plan_free(plan);
    hv_host_free(dgx);
    hv_conn_close(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_refuses_live_migration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

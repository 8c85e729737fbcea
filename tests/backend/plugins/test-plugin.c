/*
 * tests/backend/test-plugin.c - a backend plugin built by the test suite:
 * loaded from a directory like any third-party plugin, it registers the
 * "testplug" backend. It accepts testplug:ok, declines testplug:decline,
 * fails testplug:fail, and implements only create/lookup/name/start/state,
 * so every other operation exercises the "unsupported" path.
 */
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/hpcvirt.h>

int hv_plugin_init(void);

typedef struct tp_vm {
    char name[65];
    int state;
} tp_vm;

typedef struct tp_conn {
    tp_vm vms[8];
    size_t nvms;
} tp_conn;

static int tp_open(const char *uri, void **data)
{
    if (strcmp(uri, "testplug:decline") == 0)
        return HV_BACKEND_DECLINED;
    if (strcmp(uri, "testplug:fail") == 0)
        return hv_error_report(HV_E_BACKEND, "uri", "testplug refuses %s on purpose", uri);
    *data = calloc(1, sizeof(tp_conn));
    return *data ? 0 : HV_E_NOMEM;
}

static void tp_close(void *data)
{
    free(data);
}

static int tp_vm_create(void *data, const hv_plan *plan, const hv_vm_create_options *opts,
                        void **vm_data)
{
    tp_conn *c = data;
    tp_vm *vm;

    (void)opts;
    if (c->nvms == 8)
        return hv_error_report(HV_E_RANGE, NULL, "testplug holds 8 VMs at most");
    vm = &c->vms[c->nvms++];
    strncpy(vm->name, hv_vm_spec_name(hv_plan_spec(plan)), sizeof(vm->name) - 1);
    vm->state = HV_VM_STATE_DEFINED;
    *vm_data = vm;
    return 0;
}

static int tp_vm_lookup(void *data, const char *name, void **vm_data)
{
    tp_conn *c = data;

    for (size_t i = 0; i < c->nvms; i++)
        if (strcmp(c->vms[i].name, name) == 0) {
            *vm_data = &c->vms[i];
            return 0;
        }
    return hv_error_report(HV_E_NOTFOUND, "name", "testplug has no VM %s", name);
}

static const char *tp_vm_name(void *data)
{
    return ((tp_vm *)data)->name;
}

static int tp_vm_start(void *data)
{
    tp_vm *vm = data;

    if (strcmp(vm->name, "wont-start") == 0)
        return hv_error_report(HV_E_BACKEND, NULL, "testplug cannot start %s", vm->name);
    vm->state = HV_VM_STATE_RUNNING;
    return 0;
}

static int tp_vm_state(void *data, int *state)
{
    *state = ((tp_vm *)data)->state;
    return 0;
}

static const hv_backend testplug = {
    .version = HV_BACKEND_VERSION,
    .name = "testplug",
    .scheme = "testplug",
    .open = tp_open,
    .close = tp_close,
    .vm_create = tp_vm_create,
    .vm_lookup = tp_vm_lookup,
    .vm_name = tp_vm_name,
    .vm_start = tp_vm_start,
    .vm_state = tp_vm_state,
};

int hv_plugin_init(void)
{
    return hv_backend_register(&testplug);
}

/*
 * libvirt-lifecycle.c - a VM planned on this machine and driven through
 * libvirt's test driver (in-process, no daemon): define, start, pause,
 * resume, suspend to a file, resume from it, snapshot, stop, undefine.
 * usage: libvirt-lifecycle [LIBVIRT_URI]   (default libvirt:test:///default)
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <hpcvirt/hpcvirt.h>

static int check(int rc, const char *what)
{
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", what, hv_error_message(hv_error_last()));
    return rc;
}

static void show(hv_vm *vm, const char *after)
{
    int state = HV_VM_STATE_UNKNOWN;

    hv_vm_state(vm, &state);
    printf("%-22s %s is %s\n", after, hv_vm_name(vm), hv_vm_state_name(state));
}

int main(int argc, char **argv)
{
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;
    char path[] = "/tmp/hpcvirt-example-XXXXXX";
    hv_conn *conn = NULL;
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    hv_vm *vm = NULL, *restored = NULL;
    int fd = mkstemp(path), rc;

    if (fd >= 0)
        close(fd);
    rc = hv_conn_open(argc > 1 ? argv[1] : "libvirt:test:///default", &conn);
    if (rc == HV_E_NOTFOUND) {
        printf("no libvirt backend in this build: %s\n", hv_error_message(hv_error_last()));
        return 77; /* skipped */
    }
    if (check(rc, "connect") < 0)
        return 1;
    rc = 1;
    if (check(hv_host_discover(&host, NULL), "host") < 0 ||
        check(hv_vm_spec_from_json("{\"name\": \"example\", \"vcpus\": 2, \"memory\": \"1GiB\"}",
                                   &spec),
              "spec") < 0 ||
        check(hv_plan_create(host, spec, NULL, &plan), "plan") < 0)
        goto out;
    copts.flags = HV_VM_CREATE_START;
    if (check(hv_vm_create(conn, plan, &copts, &vm), "create") < 0)
        goto out;
    show(vm, "created and started:");
    if (check(hv_vm_pause(vm), "pause") < 0)
        goto out;
    show(vm, "paused:");
    if (check(hv_vm_resume(vm), "resume") < 0 ||
        check(hv_vm_suspend(vm, path, NULL), "suspend") < 0)
        goto out;
    show(vm, "suspended to a file:");
    if (check(hv_vm_resume_from(conn, path, NULL, &restored), "resume from") < 0)
        goto out;
    show(restored, "resumed from it:");
    if (check(hv_vm_snapshot_create(vm, "first"), "snapshot") < 0 ||
        check(hv_vm_stop(vm, 1000), "stop") < 0)
        goto out;
    show(vm, "stopped:");
    rc = check(hv_vm_undefine(vm), "undefine") < 0;
    printf("undefined: %s\n", rc ? "no" : "yes");
out:
    unlink(path);
    hv_vm_free(restored);
    hv_vm_free(vm);
    hv_plan_free(plan);
    hv_vm_spec_free(spec);
    hv_host_free(host);
    hv_conn_close(conn);
    return rc;
}

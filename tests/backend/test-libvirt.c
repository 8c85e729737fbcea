/*
 * tests/backend/test-libvirt.c - the libvirt backend against libvirt's own
 * test driver (libvirt:test:///default, in-process, no daemon): host
 * inventory from its capabilities, the full lifecycle (define, start,
 * pause/resume, save/restore, managed save, snapshots, stop, destroy,
 * undefine), migration refused (the driver cannot; plans can forbid it),
 * linked clones (qcow2 overlays made by qemu-img), libvirt's errors kept
 * in hv_error_last().
 */
#include "hv-test.h"
#include "plan/test-hosts.h"
#include "backend/backend.h"
#include "libvirt/driver.h"

#include <libvirt/libvirt.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define URI "libvirt:test:///default"

static hv_plan *plan_on(const hv_host *host, const char *json)
{
    hv_vm_spec *spec = test_spec(json);
    hv_plan *plan = NULL;

    assert_hv_ok(hv_plan_create(host, spec, NULL, &plan));
    hv_vm_spec_free(spec);
    if (!hv_plan_ok(plan))
        print_findings(plan);
    return plan;
}

static int state_of(hv_vm *vm)
{
    int st = -1;

    assert_hv_ok(hv_vm_state(vm, &st));
    return st;
}

static void test_host_from_capabilities(void **state)
{
    hv_conn *conn = NULL;
    hv_host *host = NULL;

    assert_hv_ok(hv_conn_open(URI, &conn));
    assert_string_equal(hv_conn_backend(conn), "libvirt");
    assert_hv_ok(hv_conn_host(conn, &host));
    /* the test driver describes 2 cells of 8 CPUs, 2 GiB and 4 GiB */
    assert_int_equal(hv_host_cpu_count(host), 16);
    assert_int_equal(hv_host_node_count(host), 2);
    assert_int_equal(hv_host_package_count(host), 2);
    assert_string_equal(hv_host_node_cpulist(hv_host_node_at(host, 1)), "8-15");
    assert_true(hv_host_node_memory_bytes(hv_host_node_at(host, 0)) == GiB(2));
    assert_true(hv_host_node_memory_bytes(hv_host_node_at(host, 1)) == GiB(4));
    assert_string_equal(hv_host_root(host), "libvirt:test:///default");
    hv_host_free(host);
    hv_conn_close(conn);
}

static void test_lifecycle(void **state)
{
    hv_conn *conn = NULL;
    hv_host *host = NULL;
    hv_plan *plan;
    hv_vm *vm = NULL, *again = NULL;
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;
    char path[] = "/tmp/hv-libvirt-save-XXXXXX";
    char **names = NULL;
    size_t n = 0;
    bool has = true, listed = false;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_hv_ok(hv_conn_open(URI, &conn));
    /* the test driver reports only a few MiB free: plan for a fixture host instead */
    host = hv_test_fixture_host("hosts/dgx-a100-roce");
    plan = plan_on(host, "{\"name\": \"hv-life\", \"vcpus\": 4, \"memory\": \"1GiB\", "
                         "\"vnuma\": [{\"vcpus\": 2, \"memory\": \"512MiB\"}, {\"vcpus\": 2, "
                         "\"memory\": \"512MiB\"}], \"firmware\": \"efi\"}");
    assert_true(hv_plan_ok(plan));
    copts.flags = HV_VM_CREATE_START;
    assert_hv_ok(hv_vm_create(conn, plan, &copts, &vm));
    assert_string_equal(hv_vm_name(vm), "hv-life");
    assert_int_equal(state_of(vm), HV_VM_STATE_RUNNING);
    assert_hv_ok(hv_conn_list_vms(conn, &names, &n));
    for (size_t i = 0; i < n; i++)
        listed |= strcmp(names[i], "hv-life") == 0;
    assert_true(listed);
    hv_strv_free(names, n);
    /* defining it twice: libvirt's own message */
    assert_hv_error(hv_vm_create(conn, plan, NULL, &again), HV_E_BACKEND);
    assert_error_mentions("already exists");

    assert_hv_ok(hv_vm_pause(vm));
    assert_int_equal(state_of(vm), HV_VM_STATE_PAUSED);
    assert_hv_ok(hv_vm_resume(vm));
    assert_int_equal(state_of(vm), HV_VM_STATE_RUNNING);
    /* resuming a running VM: libvirt's own words come through */
    assert_hv_error(hv_vm_resume(vm), HV_E_BACKEND);
    assert_error_mentions("not paused");

    /* suspend to a file and resume from it */
    assert_hv_ok(hv_vm_suspend(vm, path, NULL));
    assert_int_equal(state_of(vm), HV_VM_STATE_DEFINED);
    assert_hv_ok(hv_vm_resume_from(conn, path, NULL, &again));
    assert_string_equal(hv_vm_name(again), "hv-life");
    assert_int_equal(state_of(again), HV_VM_STATE_RUNNING);
    hv_vm_free(again);
    again = NULL;

    /* managed save: the next start resumes */
    assert_hv_ok(hv_vm_managed_save(vm));
    assert_hv_ok(hv_vm_has_managed_save(vm, &has));
    assert_true(has);
    assert_int_equal(state_of(vm), HV_VM_STATE_SUSPENDED);
    assert_hv_ok(hv_vm_start(vm));
    assert_int_equal(state_of(vm), HV_VM_STATE_RUNNING);
    assert_hv_ok(hv_vm_has_managed_save(vm, &has));
    assert_false(has);

    /* snapshots */
    assert_hv_ok(hv_vm_snapshot_create(vm, "before"));
    assert_hv_ok(hv_vm_snapshot_list(vm, &names, &n));
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "before");
    hv_strv_free(names, n);
    assert_hv_ok(hv_vm_snapshot_revert(vm, "before"));
    assert_hv_error(hv_vm_snapshot_revert(vm, "nope"), HV_E_NOTFOUND);
    assert_hv_error(hv_vm_snapshot_create(vm, "bad name"), HV_E_INVAL);
    assert_hv_ok(hv_vm_snapshot_delete(vm, "before"));

    /* the test driver does not migrate: said clearly, from libvirt */
    assert_hv_error(hv_vm_migrate(vm, "libvirt:test:///default", NULL), HV_E_UNSUPPORTED);
    assert_error_mentions("libvirt: migrating the domain");

    /* graceful stop (the test driver shuts down at once), then gone */
    assert_hv_ok(hv_vm_stop(vm, 2000));
    assert_int_equal(state_of(vm), HV_VM_STATE_DEFINED);
    assert_hv_ok(hv_vm_start(vm));
    assert_hv_ok(hv_vm_destroy(vm));
    assert_hv_ok(hv_vm_undefine(vm));
    assert_hv_error(hv_vm_lookup(conn, "hv-life", &again), HV_E_NOTFOUND);
    assert_error_mentions("hv-life");

    hv_vm_free(vm);
    hv_plan_free(plan);
    hv_host_free(host);
    hv_conn_close(conn);
    unlink(path);
}

static void test_migration_refused_by_the_plan(void **state)
{
    hv_conn *conn = NULL;
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan;
    hv_vm *vm = NULL, *found = NULL;

    /* planned for a GPU server, defined on the test driver */
    plan = plan_on(dgx, "{\"name\": \"hv-gpu\", \"vcpus\": 4, \"memory\": \"4GiB\", "
                        "\"accelerators\": [{\"pci_address\": \"0000:07:00.0\"}]}");
    assert_false(hv_plan_live_migratable(plan));
    assert_hv_ok(hv_conn_open(URI, &conn));
    assert_hv_ok(hv_vm_create(conn, plan, NULL, &vm));
    assert_hv_ok(hv_vm_start(vm));
    assert_hv_error(hv_vm_migrate(vm, "qemu+ssh://elsewhere/system", NULL), HV_E_UNSUPPORTED);
    assert_error_mentions("0000:07:00.0");
    /* QEMU saves to a file through migration, with the same checks: no file detour */
    assert_null(strstr(hv_error_message(hv_error_last()), "suspend it to a file"));
    assert_error_mentions("stop it, move it with an offline migration (HV_MIGRATE_OFFLINE, "
                          "hpcvirt migrate --offline) and start it on the other host");
    /* a handle found by name reads the verdict from the domain's metadata, says the same */
    assert_hv_ok(hv_vm_lookup(conn, "hv-gpu", &found));
    assert_hv_error(hv_vm_migrate(found, "qemu+ssh://elsewhere/system", NULL), HV_E_UNSUPPORTED);
    assert_error_mentions("passed through");
    assert_error_mentions("move it with an offline migration");
    assert_hv_ok(hv_vm_destroy(vm));
    assert_hv_ok(hv_vm_undefine(vm));
    hv_vm_free(found);
    hv_vm_free(vm);
    hv_plan_free(plan);
    hv_host_free(dgx);
    hv_conn_close(conn);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static hv_plan *disk_plan(const hv_host *host, const char *name, const char *disks)
{
    char json[2048];

    snprintf(json, sizeof(json),
             "{\"name\": \"%s\", \"vcpus\": 1, \"memory\": \"1GiB\", \"disks\": [%s]}", name,
             disks);
    return plan_on(host, json);
}

static void test_disks(void **state)
{
    /* a qcow2 v3 header of a 1 GiB image: magic, version, virtual size at 24 */
    static const unsigned char qcow2[32] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3, [28] = 0x40};
    char dir[] = "/tmp/hv-disks-XXXXXX", a[128], b[128], c[128], disks[1024];
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_conn *conn = NULL;
    hv_plan *plan;
    hv_vm *vm = NULL, *other = NULL;
    struct stat st;

    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/root.qcow2", dir);
    snprintf(b, sizeof(b), "%s/scratch.img", dir);
    write_file(a, qcow2, sizeof(qcow2));
    assert_hv_ok(hv_conn_open(URI, &conn));
    /* an existing qcow2 image, a raw one created sparse */
    snprintf(disks, sizeof(disks),
             "{\"path\": \"%s\", \"format\": \"qcow2\", \"bus\": \"scsi\", \"serial\": "
             "\"ROOT-1\"}, {\"path\": \"%s\", \"size\": \"64MiB\"}",
             a, b);
    plan = disk_plan(dgx, "hv-disks", disks);
    assert_true(hv_plan_ok(plan));
    assert_hv_ok(hv_vm_create(conn, plan, NULL, &vm));
    assert_int_equal(stat(b, &st), 0);
    assert_true(st.st_size == 64 << 20);
    hv_plan_free(plan);
    /* another VM that writes (or reads) an image this one writes is refused */
    snprintf(disks, sizeof(disks), "{\"path\": \"%s\", \"read_only\": true}", b);
    plan = disk_plan(dgx, "hv-disks-2", disks);
    assert_hv_error(hv_vm_create(conn, plan, NULL, &other), HV_E_EXISTS);
    assert_error_mentions("hv-disks");
    assert_string_equal(hv_error_path(hv_error_last()), "disks[0].path");
    hv_plan_free(plan);
    /* a missing image without a size; a qcow2 image said to be raw; qcow2 to create */
    snprintf(disks, sizeof(disks), "{\"path\": \"%s/missing.img\"}", dir);
    plan = disk_plan(dgx, "hv-disks-3", disks);
    assert_hv_error(hv_vm_create(conn, plan, NULL, &other), HV_E_NOTFOUND);
    assert_error_mentions("give the disk a size");
    hv_plan_free(plan);
    snprintf(c, sizeof(c), "%s/other.qcow2", dir);
    write_file(c, qcow2, sizeof(qcow2));
    snprintf(disks, sizeof(disks), "{\"path\": \"%s\", \"read_only\": true}", c);
    plan = disk_plan(dgx, "hv-disks-3", disks);
    assert_hv_error(hv_vm_create(conn, plan, NULL, &other), HV_E_SPEC);
    assert_error_mentions("is a qcow2 image, not raw");
    hv_plan_free(plan);
    snprintf(disks, sizeof(disks),
             "{\"path\": \"%s/new.img\", \"size\": \"1GiB\"}, {\"path\": \"%s/new.qcow2\", "
             "\"format\": \"qcow2\", \"size\": \"1GiB\"}",
             dir, dir);
    plan = disk_plan(dgx, "hv-disks-3", disks);
    assert_hv_error(hv_vm_create(conn, plan, NULL, &other), HV_E_UNSUPPORTED);
    assert_error_mentions("qemu-img create -f qcow2");
    /* nothing half-made stays: the raw image created before the refusal is gone */
    snprintf(disks, sizeof(disks), "%s/new.img", dir);
    assert_int_equal(access(disks, F_OK), -1);
    hv_plan_free(plan);
    /* an image whose size is not what the disk says */
    snprintf(disks, sizeof(disks), "{\"path\": \"%s\", \"format\": \"qcow2\", \"size\": 1048576}",
             c);
    plan = disk_plan(dgx, "hv-disks-3", disks);
    assert_hv_error(hv_vm_create(conn, plan, NULL, &other), HV_E_SPEC);
    assert_error_mentions("1073741824 bytes");
    hv_plan_free(plan);
    assert_null(other);

    assert_hv_ok(hv_vm_undefine(vm));
    hv_vm_free(vm);
    unlink(a);
    unlink(b);
    unlink(c);
    rmdir(dir);
    hv_host_free(dgx);
    hv_conn_close(conn);
}

/* The domain's inactive XML (free() it). */
static char *xml_of(hv_vm *vm)
{
    char *xml = virDomainGetXMLDesc(hv_libvirt_domain(hv_vm_backend_data(vm)), 0);

    assert_non_null(xml);
    return xml;
}

/* The text between `open` and the next '<' after it in xml, into out. */
static void text_after(const char *xml, const char *open, char *out, size_t size)
{
    const char *p = strstr(xml, open), *end;

    assert_non_null(p);
    p += strlen(open);
    end = strpbrk(p, "<'");
    assert_non_null(end);
    snprintf(out, size, "%.*s", (int)(end - p), p);
}

/* Issue 15: a spec's boot source defines a domain that boots the kernel directly. */
static void test_direct_kernel_boot(void **state)
{
    char dir[] = "/tmp/hv-boot-XXXXXX", json[1024], *xml;
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_conn *conn = NULL;
    hv_plan *plan;
    hv_vm *vm = NULL;

    assert_non_null(mkdtemp(dir));
    snprintf(json, sizeof(json), "%s/root.img", dir);
    write_file(json, "root", 4);
    snprintf(json, sizeof(json),
             "{\"name\": \"hv-kernel\", \"vcpus\": 1, \"memory\": \"1GiB\", \"boot\": "
             "{\"kernel\": \"%s/vmlinuz\", \"initrd\": \"%s/initrd.img\", \"cmdline\": "
             "\"console=ttyS0 root=/dev/vda ro\"}, \"disks\": [{\"path\": \"%s/root.img\", "
             "\"read_only\": true}]}",
             dir, dir, dir);
    plan = plan_on(dgx, json);
    assert_true(hv_plan_ok(plan));
    assert_hv_ok(hv_conn_open(URI, &conn));
    assert_hv_ok(hv_vm_create(conn, plan, NULL, &vm));
    xml = xml_of(vm);
    snprintf(json, sizeof(json), "<kernel>%s/vmlinuz</kernel>", dir);
    assert_non_null(strstr(xml, json));
    snprintf(json, sizeof(json), "<initrd>%s/initrd.img</initrd>", dir);
    assert_non_null(strstr(xml, json));
    assert_non_null(strstr(xml, "<cmdline>console=ttyS0 root=/dev/vda ro</cmdline>"));
    assert_non_null(strstr(xml, "<readonly/>"));
    free(xml);
    assert_hv_ok(hv_vm_undefine(vm));
    hv_vm_free(vm);
    hv_plan_free(plan);
    snprintf(json, sizeof(json), "%s/root.img", dir);
    unlink(json);
    rmdir(dir);
    hv_host_free(dgx);
    hv_conn_close(conn);
}

static void test_linked_clones(void **state)
{
    char dir[] = "/tmp/hv-linked-XXXXXX", disks[512], path[1024], puuid[64], pmac[64];
    char uuid[2][64], mac[2][64], *pxml, *xml;
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_vm_clone_options opts = HV_VM_CLONE_OPTIONS_INIT;
    hv_conn *conn = NULL;
    hv_plan *plan;
    hv_vm *parent = NULL, *gpu = NULL, *clones[2] = {NULL}, *more[2] = {NULL};

    if (system("qemu-img --version >/dev/null 2>&1") != 0)
        skip(); /* the overlays are qemu-img's (package qemu-utils) */
    assert_non_null(mkdtemp(dir));
    assert_hv_ok(hv_conn_open(URI, &conn));
    snprintf(path, sizeof(path), "%s/data.img", dir);
    write_file(path, "data", 4);
    /* a writable image (raw, created sparse) and a read-only one; a NIC */
    snprintf(disks, sizeof(disks),
             "{\"path\": \"%s/root.img\", \"size\": \"16MiB\"}, {\"path\": \"%s/data.img\", "
             "\"read_only\": true}",
             dir, dir);
    snprintf(path, sizeof(path),
             "{\"name\": \"hv-lparent\", \"vcpus\": 1, \"memory\": \"1GiB\", \"nics\": "
             "[{}], \"disks\": [%s]}",
             disks);
    plan = plan_on(dgx, path);
    assert_true(hv_plan_ok(plan));
    assert_hv_ok(hv_vm_create(conn, plan, NULL, &parent));
    hv_plan_free(plan);
    pxml = xml_of(parent);
    text_after(pxml, "<uuid>", puuid, sizeof(puuid));
    text_after(pxml, "<mac address='", pmac, sizeof(pmac));
    free(pxml);

    /* the built-in engine's modes are refused here, naming what works */
    assert_hv_error(hv_vm_clone(parent, 2, NULL, clones), HV_E_UNSUPPORTED);
    assert_error_mentions("linked");
    assert_error_mentions("kvm:///");
    /* a running parent would go on writing the templates */
    opts.mode = HV_VM_CLONE_LINKED;
    assert_hv_ok(hv_vm_start(parent));
    assert_hv_error(hv_vm_clone(parent, 2, &opts, clones), HV_E_STATE);
    assert_error_mentions("shut it down");
    assert_hv_ok(hv_vm_destroy(parent));

    /* two clones: new names, UUIDs and MACs; overlays on the writable disk only */
    opts.flags = HV_VM_CLONE_PAUSED;
    assert_hv_ok(hv_vm_clone(parent, 2, &opts, clones));
    for (int i = 0; i < 2; i++) {
        char want[64];

        snprintf(want, sizeof(want), "hv-lparent-linked%d", i + 1);
        assert_string_equal(hv_vm_name(clones[i]), want);
        assert_int_equal(state_of(clones[i]), HV_VM_STATE_PAUSED);
        xml = xml_of(clones[i]);
        text_after(xml, "<uuid>", uuid[i], sizeof(uuid[i]));
        text_after(xml, "<mac address='", mac[i], sizeof(mac[i]));
        assert_string_not_equal(uuid[i], puuid);
        assert_string_not_equal(mac[i], pmac);
        snprintf(path, sizeof(path), "<source file='%s/%s-vda.qcow2'", dir, want);
        assert_non_null(strstr(xml, path));
        assert_non_null(strstr(xml, "type='qcow2'"));
        snprintf(path, sizeof(path), "<source file='%s/data.img'", dir); /* shared */
        assert_non_null(strstr(xml, path));
        free(xml);
        snprintf(path, sizeof(path), "%s/%s-vda.qcow2", dir, want);
        assert_int_equal(access(path, F_OK), 0);
    }
    assert_string_not_equal(uuid[0], uuid[1]);
    assert_string_not_equal(mac[0], mac[1]);

    /* the next clone takes the next free name; one that fails leaves nothing */
    snprintf(path, sizeof(path), "%s/hv-lparent-linked4-vda.qcow2", dir);
    write_file(path, "x", 1); /* in the way of the second clone's overlay */
    assert_hv_error(hv_vm_clone(parent, 2, &opts, more), HV_E_EXISTS);
    assert_error_mentions("exists already");
    assert_null(more[0]);
    assert_hv_error(hv_vm_lookup(conn, "hv-lparent-linked3", &gpu), HV_E_NOTFOUND);
    snprintf(path, sizeof(path), "%s/hv-lparent-linked3-vda.qcow2", dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/hv-lparent-linked4-vda.qcow2", dir);
    unlink(path);

    /* named by the caller, each with its identity as an SMBIOS OEM string */
    {
        hv_vm_clone_options named = opts;
        const char *identities[2] = {"rank=0 <&>", "rank=1"}, *names[2] = {"hv-web-3", "hv-web-1"};
        const char *twice[2] = {"hv-a", "hv-a"}, *holes[2] = {"rank=0", NULL};
        char *long_identity = calloc(1, HV_VM_CLONE_IDENTITY_MAX_BYTES + 2);
        hv_vm *extra[2] = {NULL};

        named.name_pattern = "hv-web-{index}";
        named.identities = identities;
        assert_hv_ok(hv_vm_clone(parent, 2, &named, more));
        for (int i = 0; i < 2; i++) {
            char want[128];

            snprintf(want, sizeof(want), "hv-web-%d", i + 1);
            assert_string_equal(hv_vm_name(more[i]), want);
            xml = xml_of(more[i]);
            snprintf(want, sizeof(want), "<entry>hpcvirt.identity=%s</entry>",
                     i == 0 ? "rank=0 &lt;&amp;&gt;" : "rank=1");
            assert_non_null(strstr(xml, want));
            assert_non_null(strstr(xml, "<smbios mode='sysinfo'/>"));
            free(xml);
        }
        /* a name that is taken: refused, naming it, and nothing is made */
        named.name_pattern = NULL;
        named.names = names;
        named.identities = NULL;
        assert_hv_error(hv_vm_clone(parent, 2, &named, extra), HV_E_EXISTS);
        assert_error_mentions("'hv-web-1' exists already");
        assert_null(extra[0]);
        assert_hv_error(hv_vm_lookup(conn, "hv-web-3", &gpu), HV_E_NOTFOUND);
        /* what is wrong with the names or identities, before anything is made */
        named.names = twice;
        assert_hv_error(hv_vm_clone(parent, 2, &named, extra), HV_E_INVAL);
        assert_error_mentions("'hv-a' is given twice");
        named.names = names;
        named.name_pattern = "hv-web-{index}";
        assert_hv_error(hv_vm_clone(parent, 2, &named, extra), HV_E_INVAL);
        assert_error_mentions("names or name_pattern, not both");
        named.names = NULL;
        named.name_pattern = "hv-web";
        assert_hv_error(hv_vm_clone(parent, 2, &named, extra), HV_E_INVAL);
        assert_error_mentions("no \"{index}\"");
        named.name_pattern = "hv web {index}";
        assert_hv_error(hv_vm_clone(parent, 2, &named, extra), HV_E_INVAL);
        assert_error_mentions("may use only letters");
        named.name_pattern = NULL;
        named.identities = holes;
        assert_hv_error(hv_vm_clone(parent, 2, &named, extra), HV_E_INVAL);
        assert_error_mentions("identities[1] is NULL");
        assert_non_null(long_identity);
        memset(long_identity, 'x', HV_VM_CLONE_IDENTITY_MAX_BYTES + 1);
        holes[1] = long_identity;
        assert_hv_error(hv_vm_clone(parent, 2, &named, extra), HV_E_INVAL);
        assert_error_mentions("more than the 4096");
        free(long_identity);
        assert_hv_error(hv_vm_lookup(conn, "hv-lparent-linked3", &gpu), HV_E_NOTFOUND);
        for (int i = 0; i < 2; i++) {
            assert_hv_ok(hv_vm_destroy(more[i]));
            assert_hv_ok(hv_vm_undefine(more[i]));
            hv_vm_free(more[i]);
            more[i] = NULL;
            snprintf(path, sizeof(path), "%s/hv-web-%d-vda.qcow2", dir, i + 1);
            unlink(path);
        }
    }

    /* without qemu-img: the package named, nothing made */
    {
        char *saved = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");

        setenv("PATH", dir, 1);
        assert_hv_error(hv_vm_clone(parent, 1, &opts, more), HV_E_UNSUPPORTED);
        setenv("PATH", saved, 1);
        free(saved);
        assert_error_mentions("qemu-utils");
        assert_hv_error(hv_vm_lookup(conn, "hv-lparent-linked3", &gpu), HV_E_NOTFOUND);
    }
    /* an internal snapshot (the test driver makes no other kind) keeps its state inside the
     * parent's images, out of the overlays' reach: refused, saying how to make an external one
     * (clones of external ones: tests/backend/test-libvirt-embed.c) */
    assert_hv_ok(hv_vm_snapshot_create(parent, "t1"));
    {
        hv_vm_clone_options from = opts;

        from.snapshot = "t1";
        assert_hv_error(hv_vm_clone(parent, 1, &from, more), HV_E_UNSUPPORTED);
        assert_error_mentions("snapshot 't1' of 'hv-lparent' is internal");
        assert_error_mentions("--diskspec DISK,snapshot=external");
        assert_null(more[0]);
        from.snapshot = "";
        assert_hv_error(hv_vm_clone(parent, 1, &from, more), HV_E_INVAL);
        assert_error_mentions("snapshot is empty");
        from.snapshot = "t1";
        from.mode = HV_VM_CLONE_INSTANT; /* the built-in engine's clones take no snapshot name */
        assert_hv_error(hv_vm_clone(parent, 1, &from, more), HV_E_INVAL);
        assert_error_mentions("hv_vm_resume_from");
        assert_hv_error(hv_vm_lookup(conn, "hv-lparent-linked3", &gpu), HV_E_NOTFOUND);
    }
    assert_hv_ok(hv_vm_snapshot_delete(parent, "t1"));
    /* a suspended parent: its clones would start from its memory, but the test driver keeps
     * no image file (the QEMU driver's case: tests/backend/test-libvirt-embed.c) */
    assert_hv_ok(hv_vm_start(parent));
    assert_hv_ok(hv_vm_managed_save(parent));
    assert_hv_error(hv_vm_clone(parent, 1, &opts, more), HV_E_UNSUPPORTED);
    assert_error_mentions("the clones of 'hv-lparent' would start from the memory in its managed "
                          "save image, but test:///default keeps no save image on this host");
    assert_null(more[0]);

    for (int i = 0; i < 2; i++) {
        assert_hv_ok(hv_vm_destroy(clones[i]));
        assert_hv_ok(hv_vm_undefine(clones[i]));
        hv_vm_free(clones[i]);
        snprintf(path, sizeof(path), "%s/hv-lparent-linked%d-vda.qcow2", dir, i + 1);
        unlink(path);
    }
    assert_hv_ok(hv_vm_undefine(parent));
    hv_vm_free(parent);

    /* a parent with a GPU passed through: refused with its plan's reason */
    plan = plan_on(dgx, "{\"name\": \"hv-lgpu\", \"vcpus\": 4, \"memory\": \"4GiB\", "
                        "\"accelerators\": [{\"pci_address\": \"0000:07:00.0\"}]}");
    assert_hv_ok(hv_vm_create(conn, plan, NULL, &gpu));
    hv_plan_free(plan);
    assert_hv_error(hv_vm_clone(gpu, 1, &opts, clones), HV_E_UNSUPPORTED);
    assert_error_mentions("0000:07:00.0");
    assert_error_mentions("cannot be cloned");
    assert_null(clones[0]);
    assert_hv_ok(hv_vm_undefine(gpu));
    hv_vm_free(gpu);

    snprintf(path, sizeof(path), "%s/root.img", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/data.img", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
    hv_host_free(dgx);
    hv_conn_close(conn);
}

static void test_connection_errors(void **state)
{
    hv_conn *conn = NULL;

    /* nothing listens there: libvirt's message, no crash, no connection */
    assert_hv_error(hv_conn_open("libvirt:qemu+tcp://127.0.0.1:1/system", &conn), HV_E_BACKEND);
    assert_null(conn);
    assert_error_mentions("127.0.0.1");
    assert_hv_error(hv_conn_open("libvirt:", &conn), HV_E_INVAL);
    assert_hv_error(hv_conn_open("libvirt:nosuchdriver:///", &conn), HV_E_BACKEND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_from_capabilities),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_migration_refused_by_the_plan),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_direct_kernel_boot),
        cmocka_unit_test(test_linked_clones),
        cmocka_unit_test(test_connection_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/backend/test-libvirt-embed.c - a generated 2-node vNUMA EFI guest
 * really started by QEMU (software emulation) under libvirt's embedded QEMU
 * driver (libvirt:qemu:///embed?root=DIR, no daemon). What QEMU accepted is
 * read back from QEMU itself (QMP through libvirt): vCPUs per NUMA node and
 * the memory backend of each node. run-embed-test.sh gives the root and
 * kills leftover QEMU processes. A linked clone of a guest with a qcow2
 * disk (made by qemu-img) starts on an overlay backed by the parent's image.
 * A spec's boot source starts QEMU with -kernel, -initrd and -append. Linked
 * clones of a parent suspended with a managed save image start from its memory,
 * and those of a running parent's external snapshot from the snapshot's.
 *
 * usage: test-libvirt-embed ROOT
 */
#include "hv-test.h"
#include "plan/test-hosts.h"
#include "backend/backend.h"
#include "libvirt/driver.h"

#include "core/json.h"

#include <libvirt/virterror.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <unistd.h>

static char uri[4096], root[4096];

static json_object *qmp(virDomainPtr dom, const char *command)
{
    char *reply = NULL;
    json_object *obj;

    if (virDomainQemuMonitorCommand(dom, command, &reply, 0) < 0)
        fail_msg("QMP %s failed: %s", command, virGetLastErrorMessage());
    obj = json_tokener_parse(reply);
    free(reply);
    assert_non_null(obj);
    return obj;
}

static void test_two_node_efi_guest(void **state)
{
    hv_conn *conn = NULL;
    hv_host *host = NULL;
    hv_vm_spec *spec;
    hv_plan *plan = NULL;
    hv_vm *vm = NULL;
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;
    virDomainPtr dom;
    json_object *cpus, *memdevs, *ret;
    int per_node[2] = {0, 0};
    virDomainInfo info;

    assert_hv_ok(hv_conn_open(uri, &conn));
    assert_hv_ok(hv_conn_host(conn, &host));
    spec = test_spec("{\"name\": \"hv-embed\", \"vcpus\": 2, \"memory\": \"512MiB\", "
                     "\"firmware\": \"efi\", \"page_size\": \"4k\", \"vnuma\": [{\"vcpus\": 1, "
                     "\"memory\": \"256MiB\"}, {\"vcpus\": 1, \"memory\": \"256MiB\"}]}");
    assert_hv_ok(hv_plan_create(host, spec, NULL, &plan));
    if (!hv_plan_ok(plan))
        print_findings(plan);
    assert_true(hv_plan_ok(plan));
    copts.flags = HV_VM_CREATE_START;
    /* software emulation: CI machines have no usable KVM */
    copts.backend_options = "domain_type=qemu";
    assert_hv_ok(hv_vm_create(conn, plan, &copts, &vm));
    assert_int_equal(hv_plan_firmware(plan), HV_FIRMWARE_EFI);

    dom = hv_libvirt_domain(hv_vm_backend_data(vm));
    assert_non_null(dom);
    assert_int_equal(virDomainGetInfo(dom, &info), 0);
    assert_int_equal(info.state, VIR_DOMAIN_RUNNING);
    assert_int_equal(info.nrVirtCpu, 2);
    assert_true(info.maxMem == 512 * 1024);

    /* QEMU's own view: each vCPU's node, each node's memory */
    cpus = qmp(dom, "{\"execute\": \"query-cpus-fast\"}");
    ret = hv_json_get(cpus, "return", json_type_array);
    assert_non_null(ret);
    assert_int_equal(json_object_array_length(ret), 2);
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *props =
            hv_json_get(json_object_array_get_idx(ret, i), "props", json_type_object);
        int64_t node = -1;

        assert_true(hv_json_get_i64(props, "node-id", &node));
        assert_true(node == 0 || node == 1);
        per_node[node]++;
    }
    assert_int_equal(per_node[0], 1);
    assert_int_equal(per_node[1], 1);
    json_object_put(cpus);
    memdevs = qmp(dom, "{\"execute\": \"query-memdev\"}");
    ret = hv_json_get(memdevs, "return", json_type_array);
    assert_non_null(ret);
    assert_int_equal(json_object_array_length(ret), 2);
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        uint64_t size = 0;

        assert_true(hv_json_get_u64(json_object_array_get_idx(ret, i), "size", &size));
        assert_true(size == MiB(256));
    }
    json_object_put(memdevs);

    assert_hv_ok(hv_vm_destroy(vm));
    assert_hv_ok(hv_vm_undefine(vm));
    hv_vm_free(vm);
    hv_plan_free(plan);
    hv_vm_spec_free(spec);
    hv_host_free(host);
    hv_conn_close(conn);
}

/* The output of a command line the test writes itself (free() it). */
static char *output_of(const char *command)
{
    FILE *p = popen(command, "r");
    char *text = calloc(1, 65536);
    size_t len;

    assert_non_null(p);
    assert_non_null(text);
    len = fread(text, 1, 65535, p);
    text[len] = '\0';
    assert_int_equal(pclose(p), 0);
    return text;
}

/* ROOT/NAME.qcow2 of 16 MiB, made by qemu-img, into image[size] (skipped without qemu-img). */
static void make_qcow2(const char *name, char *image, size_t size)
{
    char command[9000];

    if (system("qemu-img --version >/dev/null 2>&1") != 0)
        skip(); /* package qemu-utils */
    snprintf(image, size, "%s/%s.qcow2", root, name);
    snprintf(command, sizeof(command), "qemu-img create -q -f qcow2 '%s' 16M", image);
    assert_int_equal(system(command), 0);
}

/* `overlay` is a qcow2 image whose backing file is `image` (qemu-img info). */
static void assert_overlay_of(const char *overlay, const char *image)
{
    char command[9000], *info;
    json_object *obj;
    const char *backing;

    snprintf(command, sizeof(command), "qemu-img info -U --output=json '%s'", overlay);
    info = output_of(command);
    obj = json_tokener_parse(info);
    free(info);
    assert_non_null(obj);
    backing = hv_json_get_string(obj, "backing-filename");
    assert_non_null(backing);
    assert_string_equal(backing, image);
    assert_string_equal(hv_json_get_string(obj, "format"), "qcow2");
    json_object_put(obj);
}

static void test_linked_clone_of_a_qcow2_guest(void **state)
{
    char image[4200], overlay[4300], spec_json[5000];
    hv_conn *conn = NULL;
    hv_host *host = NULL;
    hv_vm_spec *spec;
    hv_plan *plan = NULL;
    hv_vm *parent = NULL, *clone = NULL;
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;
    hv_vm_clone_options opts = HV_VM_CLONE_OPTIONS_INIT;
    virDomainInfo dinfo;

    make_qcow2("hv-lembed", image, sizeof(image));
    assert_hv_ok(hv_conn_open(uri, &conn));
    assert_hv_ok(hv_conn_host(conn, &host));
    snprintf(spec_json, sizeof(spec_json),
             "{\"name\": \"hv-lembed\", \"vcpus\": 1, \"memory\": \"128MiB\", \"page_size\": "
             "\"4k\", \"disks\": [{\"path\": \"%s\", \"format\": \"qcow2\"}]}",
             image);
    spec = test_spec(spec_json);
    assert_hv_ok(hv_plan_create(host, spec, NULL, &plan));
    if (!hv_plan_ok(plan))
        print_findings(plan);
    assert_true(hv_plan_ok(plan));
    copts.backend_options = "domain_type=qemu"; /* defined, not started */
    assert_hv_ok(hv_vm_create(conn, plan, &copts, &parent));

    opts.mode = HV_VM_CLONE_LINKED;
    assert_hv_ok(hv_vm_clone(parent, 1, &opts, &clone));
    assert_string_equal(hv_vm_name(clone), "hv-lembed-linked1");
    /* started by QEMU on an overlay whose backing file is the parent's image */
    assert_int_equal(virDomainGetInfo(hv_libvirt_domain(hv_vm_backend_data(clone)), &dinfo), 0);
    assert_int_equal(dinfo.state, VIR_DOMAIN_RUNNING);
    snprintf(overlay, sizeof(overlay), "%s/hv-lembed-linked1-vda.qcow2", root);
    assert_overlay_of(overlay, image);

    assert_hv_ok(hv_vm_destroy(clone));
    assert_hv_ok(hv_vm_undefine(clone));
    hv_vm_free(clone);
    assert_hv_ok(hv_vm_undefine(parent));
    hv_vm_free(parent);
    unlink(overlay);
    unlink(image);
    hv_plan_free(plan);
    hv_vm_spec_free(spec);
    hv_host_free(host);
    hv_conn_close(conn);
}

/* Write `len` bytes at `data` to `path`. */
static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A bzImage (boot protocol 2.15) whose setup code is `cli; hlt; jmp` at offset 0x280. */
static void write_halting_kernel(const char *path)
{
    static unsigned char bz[5 * 512 + 512];
    static const unsigned char halt[] = {0xFA, 0xF4, 0xEB, 0xFD};

    bz[0x1F1] = 4;                               /* setup_sects */
    bz[0x1FE] = 0x55, bz[0x1FF] = 0xAA;          /* boot_flag */
    bz[0x200] = 0xEB, bz[0x201] = 0x280 - 0x202; /* jump over the header */
    memcpy(bz + 0x202, "HdrS", 4);               /* header */
    bz[0x206] = 0x0F, bz[0x207] = 0x02;          /* version 2.15 */
    bz[0x211] = 0x01; /* loadflags: LOADED_HIGH (QEMU puts the setup code at 0x10000) */
    memcpy(bz + 0x22C, "\xff\xff\xff\x7f", 4); /* initrd_addr_max */
    bz[0x238] = 0xFF, bz[0x239] = 0x07;        /* cmdline_size 2047 */
    memcpy(bz + 0x280, halt, sizeof(halt));
    write_bytes(path, bz, sizeof(bz));
}

/*
 * Issue 15: a spec's boot source started by QEMU (-kernel, -initrd, -append
 * from libvirt's <os>): the "kernel" is a bzImage header (boot protocol 2.15)
 * whose setup code halts, enough for QEMU to load it; a read-only raw disk
 * is read-only in QEMU's block layer.
 */
static void test_direct_kernel_boot(void **state)
{
    static const char sector[512];
    char kernel[4200], initrd[4200], disk[4200], spec_json[14000], log[8400], *text;
    hv_conn *conn = NULL;
    hv_host *host = NULL;
    hv_vm_spec *spec;
    hv_plan *plan = NULL;
    hv_vm *vm = NULL;
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;
    virDomainPtr dom;
    virDomainInfo info;
    json_object *blocks, *ret;
    bool found = false;

    snprintf(kernel, sizeof(kernel), "%s/hv-kboot-vmlinuz", root);
    snprintf(initrd, sizeof(initrd), "%s/hv-kboot-initrd.img", root);
    snprintf(disk, sizeof(disk), "%s/hv-kboot-root.img", root);
    write_halting_kernel(kernel);
    write_bytes(initrd, "070701", 6);
    write_bytes(disk, sector, sizeof(sector));
    assert_hv_ok(hv_conn_open(uri, &conn));
    assert_hv_ok(hv_conn_host(conn, &host));
    snprintf(spec_json, sizeof(spec_json),
             "{\"name\": \"hv-kboot\", \"vcpus\": 1, \"memory\": \"128MiB\", \"page_size\": "
             "\"4k\", \"boot\": {\"kernel\": \"%s\", \"initrd\": \"%s\", \"cmdline\": "
             "\"console=ttyS0 root=/dev/vda ro\"}, \"disks\": [{\"path\": \"%s\", \"read_only\": "
             "true}]}",
             kernel, initrd, disk);
    spec = test_spec(spec_json);
    assert_hv_ok(hv_plan_create(host, spec, NULL, &plan));
    if (!hv_plan_ok(plan))
        print_findings(plan);
    assert_true(hv_plan_ok(plan));
    copts.flags = HV_VM_CREATE_START;
    copts.backend_options = "domain_type=qemu";
    assert_hv_ok(hv_vm_create(conn, plan, &copts, &vm));
    dom = hv_libvirt_domain(hv_vm_backend_data(vm));
    assert_int_equal(virDomainGetInfo(dom, &info), 0);
    assert_int_equal(info.state, VIR_DOMAIN_RUNNING);
    /* the disk: read-only in QEMU */
    blocks = qmp(dom, "{\"execute\": \"query-block\"}");
    ret = hv_json_get(blocks, "return", json_type_array);
    assert_non_null(ret);
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *inserted =
            hv_json_get(json_object_array_get_idx(ret, i), "inserted", json_type_object);
        const char *file = inserted ? hv_json_get_string(inserted, "file") : NULL;
        bool ro = false;

        if (!file || strcmp(file, disk) != 0)
            continue;
        found = true;
        assert_true(hv_json_get_bool(inserted, "ro", &ro));
        assert_true(ro);
    }
    assert_true(found);
    json_object_put(blocks);
    /* QEMU's command line, as libvirt logged it */
    snprintf(log, sizeof(log), "cat '%s/log/qemu/hv-kboot.log' 2>/dev/null", root);
    text = output_of(log);
    if (*text) {
        snprintf(log, sizeof(log), "-kernel %s", kernel);
        assert_non_null(strstr(text, log));
        snprintf(log, sizeof(log), "-initrd %s", initrd);
        assert_non_null(strstr(text, log));
        assert_non_null(strstr(text, "-append 'console=ttyS0 root=/dev/vda ro'"));
    } else {
        print_message("note: no QEMU log under %s/log/qemu: its command line is not checked\n",
                      root);
    }
    free(text);

    assert_hv_ok(hv_vm_destroy(vm));
    assert_hv_ok(hv_vm_undefine(vm));
    hv_vm_free(vm);
    unlink(kernel);
    unlink(initrd);
    unlink(disk);
    hv_plan_free(plan);
    hv_vm_spec_free(spec);
    hv_host_free(host);
    hv_conn_close(conn);
}

/* Whether the guest's memory at 0x10280 holds the halting kernel's `cli; hlt; jmp` (HMP xp). */
static bool halt_code_in_memory(virDomainPtr dom)
{
    json_object *reply = qmp(dom, "{\"execute\": \"human-monitor-command\", \"arguments\": "
                                  "{\"command-line\": \"xp /4bx 0x10280\"}}");
    const char *text = hv_json_get_string(reply, "return");
    bool there = text && strstr(text, "0xfa 0xf4 0xeb 0xfd");

    json_object_put(reply);
    return there;
}

/* A started parent: the halting bzImage on a qcow2 disk, its kernel's setup code in memory. */
typedef struct halting_parent {
    char kernel[4200], image[4200];
    hv_conn *conn;
    hv_host *host;
    hv_vm_spec *spec;
    hv_plan *plan;
    hv_vm *vm;
    virDomainPtr dom;
} halting_parent;

static void start_halting_parent(const char *name, halting_parent *p)
{
    char spec_json[14000];
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;
    int tries;

    memset(p, 0, sizeof(*p));
    make_qcow2(name, p->image, sizeof(p->image));
    snprintf(p->kernel, sizeof(p->kernel), "%s/%s-vmlinuz", root, name);
    write_halting_kernel(p->kernel);
    assert_hv_ok(hv_conn_open(uri, &p->conn));
    assert_hv_ok(hv_conn_host(p->conn, &p->host));
    snprintf(spec_json, sizeof(spec_json),
             "{\"name\": \"%s\", \"vcpus\": 1, \"memory\": \"128MiB\", \"page_size\": "
             "\"4k\", \"boot\": {\"kernel\": \"%s\"}, \"disks\": [{\"path\": \"%s\", \"format\": "
             "\"qcow2\"}]}",
             name, p->kernel, p->image);
    p->spec = test_spec(spec_json);
    assert_hv_ok(hv_plan_create(p->host, p->spec, NULL, &p->plan));
    assert_true(hv_plan_ok(p->plan));
    copts.flags = HV_VM_CREATE_START;
    copts.backend_options = "domain_type=qemu";
    assert_hv_ok(hv_vm_create(p->conn, p->plan, &copts, &p->vm));
    p->dom = hv_libvirt_domain(hv_vm_backend_data(p->vm));
    for (tries = 0; tries < 600 && !halt_code_in_memory(p->dom); tries++)
        usleep(100 * 1000);
    assert_true(tries < 600); /* the kernel's setup code, loaded by QEMU's option ROM */
}

/* Undefine the parent (its managed save image and snapshots with it) and remove its files. */
static void free_halting_parent(halting_parent *p)
{
    assert_hv_ok(hv_vm_undefine(p->vm));
    hv_vm_free(p->vm);
    unlink(p->image);
    unlink(p->kernel);
    hv_plan_free(p->plan);
    hv_vm_spec_free(p->spec);
    hv_host_free(p->host);
    hv_conn_close(p->conn);
}

/* Each clone: paused, the halting kernel's code in its memory (or not), its save image gone. */
static void assert_clones_restored(hv_vm **clones, int count, bool from_memory)
{
    char path[4300];

    for (int i = 0; i < count; i++) {
        virDomainPtr cd = hv_libvirt_domain(hv_vm_backend_data(clones[i]));
        int st = -1, reason = -1;

        assert_int_equal(virDomainGetState(cd, &st, &reason, 0), 0);
        assert_int_equal(st, VIR_DOMAIN_PAUSED);
        /* restored: the parent's memory; a fresh start, paused: zeros there */
        assert_true(halt_code_in_memory(cd) == from_memory);
        snprintf(path, sizeof(path), "%s/lib/qemu/save/%s.save", root, hv_vm_name(clones[i]));
        assert_int_not_equal(access(path, F_OK), 0); /* restored from, then removed */
    }
}

/* Power off, undefine and free each clone, and remove its overlay ROOT/NAME-vda.qcow2. */
static void remove_clones(hv_vm **clones, int count)
{
    char path[4300];

    for (int i = 0; i < count; i++) {
        snprintf(path, sizeof(path), "%s/%s-vda.qcow2", root, hv_vm_name(clones[i]));
        assert_hv_ok(hv_vm_destroy(clones[i]));
        assert_hv_ok(hv_vm_undefine(clones[i]));
        hv_vm_free(clones[i]);
        clones[i] = NULL;
        unlink(path);
    }
}

/*
 * A parent suspended with a managed save image: its linked clones start from
 * its memory (each restored from its own copy of the image, which names the
 * clone; started paused here): the halting kernel's code is in each clone's
 * memory where a fresh start would have nothing, each disk is an overlay
 * backed by the parent's image, the clones' images are gone once they
 * started, and the parent keeps its own. A parent suspended with a network
 * interface is refused: its MAC address is in the saved device state.
 */
static void test_linked_clones_from_a_suspended_parent(void **state)
{
    char path[4300];
    halting_parent p;
    hv_vm *clones[2] = {NULL, NULL}, *nic = NULL;
    hv_vm_clone_options opts = HV_VM_CLONE_OPTIONS_INIT;
    bool has = false;

    start_halting_parent("hv-lmem", &p);
    assert_hv_ok(hv_vm_managed_save(p.vm));
    assert_hv_ok(hv_vm_has_managed_save(p.vm, &has));
    assert_true(has);

    opts.mode = HV_VM_CLONE_LINKED;
    opts.flags = HV_VM_CLONE_PAUSED;
    assert_hv_ok(hv_vm_clone(p.vm, 2, &opts, clones));
    assert_clones_restored(clones, 2, true);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(hv_vm_name(clones[i]), i ? "hv-lmem-linked2" : "hv-lmem-linked1");
        snprintf(path, sizeof(path), "%s/%s-vda.qcow2", root, hv_vm_name(clones[i]));
        assert_overlay_of(path, p.image);
    }
    assert_hv_ok(hv_vm_resume(clones[0]));
    assert_hv_ok(hv_vm_has_managed_save(p.vm, &has));
    assert_true(has);
    snprintf(path, sizeof(path), "%s/lib/qemu/save/hv-lmem.save", root);
    assert_int_equal(access(path, F_OK), 0);
    remove_clones(clones, 2);

    /* the same parent given a network interface (QEMU's user networking) */
    {
        char *xml = virDomainGetXMLDesc(p.dom, VIR_DOMAIN_XML_INACTIVE), *at, *nic_xml;
        virDomainPtr nd;
        hv_vm *refused = NULL;

        assert_non_null(xml);
        at = strstr(xml, "</devices>");
        assert_non_null(at);
        nic_xml = calloc(1, strlen(xml) + 256);
        assert_non_null(nic_xml);
        memcpy(nic_xml, xml, (size_t)(at - xml));
        strcat(nic_xml, "<interface type='user'><model type='virtio'/></interface>");
        strcat(nic_xml, at);
        /* another name, no UUID: another domain on the same images */
        at = strstr(nic_xml, "<name>hv-lmem</name>");
        assert_non_null(at);
        memcpy(at, "<name>hv-lnic</name>", 20);
        at = strstr(nic_xml, "<uuid>");
        assert_non_null(at);
        memset(at, ' ', (size_t)(strstr(at, "</uuid>") + 7 - at));
        free(xml);
        nd = virDomainDefineXML(virDomainGetConnect(p.dom), nic_xml);
        free(nic_xml);
        assert_non_null(nd);
        virDomainFree(nd);
        assert_hv_ok(hv_vm_lookup(p.conn, "hv-lnic", &nic));
        assert_hv_ok(hv_vm_start(nic));
        assert_hv_ok(hv_vm_managed_save(nic));
        assert_hv_error(hv_vm_clone(nic, 1, &opts, &refused), HV_E_UNSUPPORTED);
        assert_non_null(strstr(hv_error_message(hv_error_last()), "its MAC address is part of"));
        assert_null(refused);
        assert_hv_ok(hv_vm_undefine(nic));
        hv_vm_free(nic);
    }

    free_halting_parent(&p);
    snprintf(path, sizeof(path), "%s/lib/qemu/save/hv-lmem.save", root);
    assert_int_not_equal(access(path, F_OK), 0); /* undefined with it */
}

/* Snapshot `name` of `dom` with `flags`, its memory (NULL: none) and vda as the XML says. */
static void snapshot(virDomainPtr dom, const char *name, const char *memory, const char *vda,
                     unsigned int flags)
{
    char xml[9000];
    virDomainSnapshotPtr snap;

    snprintf(xml, sizeof(xml),
             "<domainsnapshot><name>%s</name>%s%s%s<disks>%s</disks>"
             "</domainsnapshot>",
             name, memory ? "<memory snapshot='external' file='" : "", memory ? memory : "",
             memory ? "'/>" : "", vda);
    snap = virDomainSnapshotCreateXML(dom, xml, flags);
    if (!snap)
        fail_msg("snapshot %s: %s", name, virGetLastErrorMessage());
    virDomainSnapshotFree(snap);
}

/*
 * Linked clones of a running parent's external snapshots. With its memory
 * (s1): the clones start from that memory (the halting kernel's code is in
 * theirs), on overlays backed by the image the snapshot froze, while the
 * parent runs on; the memory file stays. Disk-only (s2): the clones boot
 * afresh on overlays of the image it froze (s1's overlay). Memory only (s3,
 * the disk left to the parent): refused, the parent still writes that
 * image. No such snapshot: refused, naming it.
 */
static void test_linked_clones_from_a_snapshot(void **state)
{
    char mem[4300], s1_overlay[4300], s2_overlay[4300], s3_mem[4300], path[4300], vda[9000];
    halting_parent p;
    hv_vm *clones[2] = {NULL, NULL}, *refused = NULL;
    hv_vm_clone_options opts = HV_VM_CLONE_OPTIONS_INIT;
    int st = -1, reason = -1;

    start_halting_parent("hv-lsnap", &p);
    snprintf(mem, sizeof(mem), "%s/hv-lsnap-s1.mem", root);
    snprintf(s1_overlay, sizeof(s1_overlay), "%s/hv-lsnap-s1.qcow2", root);
    snprintf(vda, sizeof(vda), "<disk name='vda' snapshot='external'><source file='%s'/></disk>",
             s1_overlay);
    snapshot(p.dom, "s1", mem, vda, 0);

    opts.mode = HV_VM_CLONE_LINKED;
    opts.flags = HV_VM_CLONE_PAUSED;
    opts.snapshot = "s1";
    assert_hv_ok(hv_vm_clone(p.vm, 2, &opts, clones));
    assert_clones_restored(clones, 2, true);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s-vda.qcow2", root, hv_vm_name(clones[i]));
        assert_overlay_of(path, p.image); /* the image as it was at s1 */
    }
    assert_hv_ok(hv_vm_resume(clones[1]));
    assert_int_equal(virDomainGetState(p.dom, &st, &reason, 0), 0);
    assert_int_equal(st, VIR_DOMAIN_RUNNING); /* the parent runs on, on its own overlay */
    assert_int_equal(access(mem, F_OK), 0);
    remove_clones(clones, 2);

    /* disk-only: fresh boots on overlays of the image s2 froze */
    snprintf(s2_overlay, sizeof(s2_overlay), "%s/hv-lsnap-s2.qcow2", root);
    snprintf(vda, sizeof(vda), "<disk name='vda' snapshot='external'><source file='%s'/></disk>",
             s2_overlay);
    snapshot(p.dom, "s2", NULL, vda, VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY);
    opts.snapshot = "s2";
    opts.name_pattern = "hv-lsnap-fresh{index}";
    assert_hv_ok(hv_vm_clone(p.vm, 1, &opts, clones));
    assert_string_equal(hv_vm_name(clones[0]), "hv-lsnap-fresh1");
    assert_clones_restored(clones, 1, false);
    snprintf(path, sizeof(path), "%s/hv-lsnap-fresh1-vda.qcow2", root);
    assert_overlay_of(path, s1_overlay);
    remove_clones(clones, 1);

    /* memory only: the parent goes on writing the image its clones would be backed by */
    snprintf(s3_mem, sizeof(s3_mem), "%s/hv-lsnap-s3.mem", root);
    snapshot(p.dom, "s3", s3_mem, "<disk name='vda' snapshot='no'/>", 0);
    opts.snapshot = "s3";
    assert_hv_error(hv_vm_clone(p.vm, 1, &opts, &refused), HV_E_STATE);
    assert_non_null(strstr(hv_error_message(hv_error_last()), "left the parent writing"));
    assert_null(refused);
    assert_hv_error(hv_vm_lookup(p.conn, "hv-lsnap-fresh1", &refused), HV_E_NOTFOUND);

    opts.snapshot = "s9";
    assert_hv_error(hv_vm_clone(p.vm, 1, &opts, &refused), HV_E_NOTFOUND);
    assert_non_null(strstr(hv_error_message(hv_error_last()), "has no snapshot named 's9'"));

    assert_hv_ok(hv_vm_destroy(p.vm));
    free_halting_parent(&p);
    unlink(mem);
    unlink(s3_mem);
    unlink(s1_overlay);
    unlink(s2_overlay);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_node_efi_guest),
        cmocka_unit_test(test_linked_clone_of_a_qcow2_guest),
        cmocka_unit_test(test_linked_clones_from_a_suspended_parent),
        cmocka_unit_test(test_linked_clones_from_a_snapshot),
        cmocka_unit_test(test_direct_kernel_boot),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: test-libvirt-embed ROOT\n");
        return 64;
    }
    snprintf(uri, sizeof(uri), "libvirt:qemu:///embed?root=%s", argv[1]);
    snprintf(root, sizeof(root), "%s", argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

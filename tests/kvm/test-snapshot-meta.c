/*
 * tests/kvm/test-snapshot-meta.c - what resuming reads from a snapshot
 * before it touches KVM (hv_kvm_snapshot_read_meta(), lib/kvm/snapshot.c;
 * docs/snapshot-format.md, "Section contents"): the meta section as the
 * engine writes it, and files crafted with the container's writer that a
 * resume must refuse, each with a message that names the file and the
 * section, shows outside text escaped and is not garbled: a NUL byte in the
 * meta or the plan section, text that is not JSON, a field of the wrong
 * type, VM names a spec could not have, a path with control characters;
 * a Linux guest's meta (version 2) and what breaks its "linux" object.
 * Files live in a mkdtemp directory under /tmp that each test removes.
 */
#include "hv-test.h"
#include "core/text.h"
#include "kvm/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#define META_BEGIN "{\"format\": \"hpcvirt-kvm-vm\", \"version\": 1, \"name\": "
#define META_END                                                                                   \
    ", \"state\": \"paused\", \"vcpus\": 2, \"nodes\": [{\"bytes\": 16777216, \"page_bytes\": "    \
    "4096, \"host_node\": 0, \"vcpus\": 2}], \"affinity\": [\"0\", \"\"], \"image\": {\"base\": "  \
    "1048576, \"end\": 1114112, \"entry\": 1048576}, \"payload_path\": \"/opt/payloads/hello\", "  \
    "\"clone_id\": 0, \"clone_index\": 0, \"generation\": 3, \"console_total\": 0}"
/* The meta section as the engine writes it, for a VM named `name` (a JSON string). */
#define META(name) META_BEGIN name META_END
#define PLAN       "{\"spec\": {\"name\": \"snapvm\", \"vcpus\": 2}, \"ok\": true}"

typedef struct tmp {
    char dir[64];
    char path[128];
} tmp;

static int setup(void **state)
{
    tmp *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/hv-test-snapmeta.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/snap", t->dir);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    tmp *t = *state;
    DIR *d = opendir(t->dir);
    struct dirent *de;

    while (d && (de = readdir(d)) != NULL) {
        char p[512];

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", t->dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(t->dir);
    free(t);
    return 0;
}

/* A snapshot at `path` with a meta section of `meta_len` bytes and, unless NULL, a plan section. */
static void write_file(const char *path, const char *meta, size_t meta_len, const char *plan,
                       size_t plan_len)
{
    hv_snap_writer *w = NULL;

    assert_hv_ok(hv_snap_writer_open(path, &w));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_META, 0, meta, meta_len));
    if (plan)
        assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_PLAN, 0, plan, plan_len));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_PAYLOAD, 0, "payload", 7));
    assert_hv_ok(hv_snap_writer_commit(w));
}

/* Read the meta of the file at `path`: its result; *m is cleared again. */
static int read_meta(const char *path, hv_kvm_snapshot_meta *m)
{
    hv_snap_reader *r = NULL;
    int rc;

    assert_hv_ok(hv_snap_reader_open(path, &r));
    rc = hv_kvm_snapshot_read_meta(r, path, m);
    hv_snap_reader_close(r);
    return rc;
}

/* Write, read, expect HV_E_SNAPSHOT whose message starts with `start`, holds `text`, all printable.
 */
static void assert_refused(const char *path, const char *meta, size_t meta_len, const char *plan,
                           size_t plan_len, const char *start, const char *text)
{
    hv_kvm_snapshot_meta m;
    const char *message;

    write_file(path, meta, meta_len, plan, plan_len);
    assert_hv_error(read_meta(path, &m), HV_E_SNAPSHOT);
    hv_kvm_snapshot_meta_clear(&m);
    message = hv_error_message(hv_error_last());
    if (strncmp(message, start, strlen(start)) != 0 || !strstr(message, text))
        print_error("expected '%s...%s...', got: %s\n", start, text, message);
    assert_memory_equal(message, start, strlen(start));
    assert_non_null(strstr(message, text));
    assert_int_equal(hv_text_unprintable_at(message, strlen(message)), strlen(message));
    assert_string_equal(hv_error_path(hv_error_last()), path);
}

static void test_meta_as_written(void **state)
{
    tmp *t = *state;
    static const char meta[] = META("\"snapvm\"");
    hv_kvm_snapshot_meta m;

    write_file(t->path, meta, strlen(meta), PLAN, strlen(PLAN));
    assert_hv_ok(read_meta(t->path, &m));
    assert_string_equal(m.name, "snapvm");
    assert_string_equal(m.payload_path, "/opt/payloads/hello");
    assert_int_equal(m.vcpus, 2);
    assert_int_equal(m.node_count, 1);
    assert_true(m.nodes[0].bytes == 16 << 20);
    assert_int_equal(m.nodes[0].vcpu_count, 2);
    assert_true(m.image_base == 1 << 20 && m.entry == 1 << 20 && m.generation == 3);
    assert_string_equal(m.plan_json, PLAN);
    hv_kvm_snapshot_meta_clear(&m);
    assert_null(m.root);
    /* the plan section is optional */
    write_file(t->path, meta, strlen(meta), NULL, 0);
    assert_hv_ok(read_meta(t->path, &m));
    assert_null(m.plan_json);
    hv_kvm_snapshot_meta_clear(&m);
}

/* A NUL byte in either section is an error naming it, not the end of its text. */
static void test_nul_bytes(void **state)
{
    tmp *t = *state;
    static const char meta[] = META("\"snapvm\"") "\0{\"name\": \"other\"}";
    static const char plan[] = PLAN "\0trailing";
    char start[256];

    snprintf(start, sizeof(start), "%s: section meta: ", t->path);
    assert_refused(t->path, meta, sizeof(meta) - 1, NULL, 0, start, "NUL byte");
    snprintf(start, sizeof(start), "%s: section plan: ", t->path);
    assert_refused(t->path, META("\"snapvm\""), strlen(META("\"snapvm\"")), plan, sizeof(plan) - 1,
                   start, "NUL byte");
    /* and a plan that is not JSON at all */
    assert_refused(t->path, META("\"snapvm\""), strlen(META("\"snapvm\"")), "{\"ok\": tru", 10,
                   start, "not valid JSON");
}

/* A field's own error, wrapped: the message is whole, not overwritten as it is built. */
static void test_wrong_field_message_whole(void **state)
{
    tmp *t = *state;
    static const char meta[] = "{\"format\": \"hpcvirt-kvm-vm\", \"version\": 1, \"name\": 7}";
    char start[256];

    snprintf(start, sizeof(start), "%s: section meta: name ", t->path);
    assert_refused(t->path, meta, strlen(meta), NULL, 0, start,
                   ": the snapshot is corrupted or was not written by hpcvirt's built-in engine");
}

/* The VM name is held to a spec's rule: no control characters, no '/', nothing a spec could not
 * name. */
static void test_hostile_names(void **state)
{
    tmp *t = *state;
    static const char *const names[] = {"\"\\u001b[2Jowned\"", "\"../../etc/passwd\"",
                                        "\"vm\\u202egpj.exe\"", "\"\"",
                                        "\"x234567890123456789012345678901234567890123456789012345"
                                        "6789012345\""};
    static const char *const shown[] = {"\\u001b[2Jowned", "../../etc/passwd", "vm\\u202egpj.exe",
                                        "must not be empty", "65 characters long"};
    char start[256];

    snprintf(start, sizeof(start), "%s: section meta: name ", t->path);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char meta[1024];

        snprintf(meta, sizeof(meta), META_BEGIN "%s" META_END, names[i]);
        assert_refused(t->path, meta, strlen(meta), NULL, 0, start, shown[i]);
    }
}

/* A path with control characters is escaped in messages (the error's path field keeps it). */
static void test_hostile_path(void **state)
{
    tmp *t = *state;
    static const char meta[] = META("7");
    char path[160], start[256];

    snprintf(path, sizeof(path), "%s/a\x1b[2J\xff.snap", t->dir);
    snprintf(start, sizeof(start), "%s/a\\u001b[2J\\xff.snap: section meta: ", t->dir);
    assert_refused(path, meta, strlen(meta), NULL, 0, start, "name");
}

/* The payload path is only shown in messages: kept printable. */
static void test_payload_path_printable(void **state)
{
    tmp *t = *state;
    static const char meta[] =
        "{\"format\": \"hpcvirt-kvm-vm\", \"version\": 1, \"name\": \"vm\", \"vcpus\": 1, "
        "\"nodes\": [{\"bytes\": 16777216, \"page_bytes\": 4096, \"host_node\": -1, \"vcpus\": "
        "1}], \"affinity\": [\"\"], \"image\": {\"base\": 0, \"end\": 0, \"entry\": 0}, "
        "\"payload_path\": \"/tmp/\\u001b[2Jx\", \"clone_id\": 0, \"clone_index\": 0, "
        "\"generation\": 0}";
    hv_kvm_snapshot_meta m;

    write_file(t->path, meta, strlen(meta), NULL, 0);
    assert_hv_ok(read_meta(t->path, &m));
    assert_string_equal(m.payload_path, "/tmp/\\u001b[2Jx");
    hv_kvm_snapshot_meta_clear(&m);
}

/* A Linux guest's meta (version 2) with `linux` as its "linux" object's members. */
#define LINUX_META(linux)                                                                          \
    "{\"format\": \"hpcvirt-kvm-vm\", \"version\": 2, \"name\": \"lin\"" META_END_V2(linux)
#define META_END_V2(linux)                                                                         \
    ", \"state\": \"paused\", \"vcpus\": 2, \"nodes\": [{\"bytes\": 16777216, \"page_bytes\": "    \
    "4096, \"host_node\": -1, \"vcpus\": 1}, {\"bytes\": 16777216, \"page_bytes\": 4096, "         \
    "\"host_node\": -1, \"vcpus\": 1}], \"affinity\": [\"\", \"\"], \"image\": {\"base\": 0, "     \
    "\"end\": 0, \"entry\": 0}, \"payload_path\": \"/boot/vmlinuz\", \"clone_id\": 0, "            \
    "\"clone_index\": 0, \"generation\": 0, \"console_total\": 0" linux "}"
#define LINUX_OK                                                                                   \
    ", \"linux\": {\"kernel\": \"/boot/vmlinuz\", \"initrd\": \"\", \"cmdline\": \"quiet\", "      \
    "\"threads_per_core\": 1, \"cores_per_socket\": 2, \"distances\": [10, 21, 21, 10], "          \
    "\"disks\": [{\"path\": \"/img/a\", \"read_only\": true, \"serial\": \"s1\", \"bytes\": "      \
    "4096}]}"

/* A Linux guest's meta: its boot source, topology, distances and disks; what breaks them. */
static void test_linux_meta(void **state)
{
    tmp *t = *state;
    static const char meta[] = LINUX_META(LINUX_OK);
    static const char no_linux[] = LINUX_META("");
    static const char relative[] = LINUX_META(
        ", \"linux\": {\"kernel\": \"vmlinuz\", \"initrd\": \"\", \"threads_per_core\": 1, "
        "\"cores_per_socket\": 1, \"distances\": [10, 20, 20, 10], \"disks\": []}");
    static const char distances[] =
        LINUX_META(", \"linux\": {\"kernel\": \"/k\", \"initrd\": \"\", \"threads_per_core\": 1, "
                   "\"cores_per_socket\": 1, \"distances\": [10, 20, 20], \"disks\": []}");
    static const char diagonal[] =
        LINUX_META(", \"linux\": {\"kernel\": \"/k\", \"initrd\": \"\", \"threads_per_core\": 1, "
                   "\"cores_per_socket\": 1, \"distances\": [20, 20, 20, 10], \"disks\": []}");
    static const char serial[] = LINUX_META(
        ", \"linux\": {\"kernel\": \"/k\", \"initrd\": \"\", \"threads_per_core\": 1, "
        "\"cores_per_socket\": 1, \"distances\": [10, 20, 20, 10], \"disks\": [{\"path\": "
        "\"/a\", \"read_only\": false, \"serial\": \"123456789012345678901\", \"bytes\": 1}]}");
    hv_kvm_snapshot_meta m;

    write_file(t->path, meta, strlen(meta), NULL, 0);
    assert_hv_ok(read_meta(t->path, &m));
    assert_true(m.is_linux);
    assert_string_equal(m.linux_source.kernel, "/boot/vmlinuz");
    assert_null(m.linux_source.initrd);
    assert_string_equal(m.linux_source.cmdline, "quiet");
    assert_int_equal(m.linux_source.topology.cores_per_socket, 2);
    assert_int_equal(m.linux_source.node_count, 2);
    assert_int_equal(m.linux_source.distances[1], 21);
    assert_int_equal(m.linux_source.disk_count, 1);
    assert_string_equal(m.linux_source.disks[0].path, "/img/a");
    assert_true(m.linux_source.disks[0].read_only);
    assert_string_equal(m.linux_source.disks[0].serial, "s1");
    assert_true(m.linux_source.disk_bytes[0] == 4096);
    hv_kvm_snapshot_meta_clear(&m);
    /* a payload's meta (version 1) is not a Linux guest's */
    write_file(t->path, META("\"p\""), strlen(META("\"p\"")), NULL, 0);
    assert_hv_ok(read_meta(t->path, &m));
    assert_false(m.is_linux);
    hv_kvm_snapshot_meta_clear(&m);
    assert_refused(t->path, no_linux, strlen(no_linux), NULL, 0, t->path, "linux");
    assert_refused(t->path, relative, strlen(relative), NULL, 0, t->path,
                   "linux.kernel is not an absolute path");
    assert_refused(t->path, distances, strlen(distances), NULL, 0, t->path,
                   "one entry per pair of nodes");
    assert_refused(t->path, diagonal, strlen(diagonal), NULL, 0, t->path, "10 on the diagonal");
    assert_refused(t->path, serial, strlen(serial), NULL, 0, t->path,
                   "serial is longer than a spec allows");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_as_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_field_message_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_path_printable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linux_meta, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

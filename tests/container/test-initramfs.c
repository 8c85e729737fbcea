/*
 * tests/container/test-initramfs.c - the container guest's initramfs
 * (lib/container/initramfs.h), read back with libarchive: every entry's
 * name, mode, device number and contents; the kernel modules chosen from a
 * modules folder made here (and from this machine's, where it has one) in
 * dependency order, built-in ones left out; compressed modules, missing
 * ones, loops and paths out of the folder refused.
 */
#include "hv-test.h"
#include "container/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

/* ---- a folder of files for a test --------------------------------------- */

typedef struct scratch {
    char dir[64];
    char init[128];
    char modules[128];
} scratch;

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[512], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        *slash = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The modules of a fake kernel: each file holds "module NAME". */
static const char *const fake_module_paths[] = {
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/drivers/block/virtio_blk.ko",
    "kernel/drivers/char/virtio_console.ko",
    "kernel/crypto/crc32c_generic.ko",
    "kernel/lib/crc16.ko",
    "kernel/fs/mbcache.ko",
    "kernel/fs/jbd2/jbd2.ko",
    "kernel/fs/ext4/ext4.ko",
    "kernel/fs/unrelated.ko",
};

/* modules.dep as depmod writes it: every dependency listed, the deepest last. */
static const char fake_dep[] =
    "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/virtio/virtio.ko:\n"
    "kernel/fs/unrelated.ko: kernel/lib/crc16.ko\n"
    "kernel/crypto/crc32c_generic.ko:\n"
    "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko\n"
    "kernel/fs/jbd2/jbd2.ko:\n"
    "kernel/fs/mbcache.ko:\n"
    "kernel/lib/crc16.ko:\n";

/* What the guest loads from the fake kernel, in order (overlay is built in). */
static const char fake_order[] = "virtio.ko\nvirtio_ring.ko\nvirtio_mmio.ko\nvirtio_blk.ko\n"
                                 "virtio_console.ko\ncrc32c_generic.ko\njbd2.ko\nmbcache.ko\n"
                                 "crc16.ko\next4.ko\n";

static void scratch_make(scratch *s, const char *dep, const char *builtin)
{
    snprintf(s->dir, sizeof(s->dir), "/tmp/hv-test-initramfs-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->init, sizeof(s->init), "%s/init", s->dir);
    snprintf(s->modules, sizeof(s->modules), "%s/modules", s->dir);
    write_file(s->dir, "init", "\177ELF and the rest of a program");
    for (size_t i = 0; i < sizeof(fake_module_paths) / sizeof(fake_module_paths[0]); i++) {
        char rel[256], text[256];

        snprintf(rel, sizeof(rel), "modules/%s", fake_module_paths[i]);
        snprintf(text, sizeof(text), "module %s", strrchr(fake_module_paths[i], '/') + 1);
        write_file(s->dir, rel, text);
    }
    write_file(s->dir, "modules/modules.dep", dep);
    if (builtin)
        write_file(s->dir, "modules/modules.builtin", builtin);
}

static void scratch_remove(const scratch *s)
{
    char command[256];

    snprintf(command, sizeof(command), "rm -rf '%s'", s->dir);
    assert_int_equal(system(command), 0);
}

/* ---- the archive read back ---------------------------------------------- */

typedef struct entry {
    char name[128];
    mode_t mode;
    unsigned int rdev_major, rdev_minor;
    uint8_t *data;
    size_t size;
} entry;

typedef struct read_back {
    entry entries[64];
    size_t count;
} read_back;

static void read_archive(const uint8_t *bytes, size_t length, read_back *out)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;

    memset(out, 0, sizeof(*out));
    assert_non_null(a);
    assert_int_equal(archive_read_support_format_cpio(a), ARCHIVE_OK);
    assert_int_equal(archive_read_open_memory(a, bytes, length), ARCHIVE_OK);
    for (;;) {
        int rc = archive_read_next_header(a, &e);
        entry *x;

        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK)
            fail_msg("libarchive: %s", archive_error_string(a));
        assert_int_equal(archive_format(a), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
        assert_true(out->count < 64);
        x = &out->entries[out->count++];
        snprintf(x->name, sizeof(x->name), "%s", archive_entry_pathname(e));
        x->mode = archive_entry_mode(e);
        x->rdev_major = (unsigned int)archive_entry_rdevmajor(e);
        x->rdev_minor = (unsigned int)archive_entry_rdevminor(e);
        x->size = (size_t)archive_entry_size(e);
        assert_int_equal(archive_entry_uid(e), 0);
        assert_int_equal(archive_entry_gid(e), 0);
        x->data = malloc(x->size + 1);
        assert_non_null(x->data);
        assert_int_equal(archive_read_data(a, x->data, x->size), (la_ssize_t)x->size);
        x->data[x->size] = '\0';
    }
    assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

static void read_back_free(read_back *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->entries[i].data);
}

static const entry *find(const read_back *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->entries[i].name, name) == 0)
            return &r->entries[i];
    return NULL;
}

/* What every initramfs has: folders, /dev/console, /init; each name once. */
static void check_common(const read_back *r, const char *init_text)
{
    static const char *const folders[] = {"dev",     "proc",    "sys", "lower",
                                          "upperfs", "newroot", "lib", "lib/modules"};
    const entry *e;

    for (size_t i = 0; i < r->count; i++)
        for (size_t j = i + 1; j < r->count; j++)
            if (strcmp(r->entries[i].name, r->entries[j].name) == 0)
                fail_msg("%s is in the archive twice", r->entries[i].name);
    for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
        assert_non_null(e = find(r, folders[i]));
        assert_int_equal(e->mode, S_IFDIR | 0755);
        assert_int_equal(e->size, 0);
    }
    assert_non_null(e = find(r, "dev/console"));
    assert_int_equal(e->mode, S_IFCHR | 0600);
    assert_int_equal(e->rdev_major, 5);
    assert_int_equal(e->rdev_minor, 1);
    assert_non_null(e = find(r, "init"));
    assert_int_equal(e->mode, S_IFREG | 0755);
    assert_int_equal(e->size, strlen(init_text));
    assert_memory_equal(e->data, init_text, e->size);
    assert_non_null(e = find(r, "modules.order"));
    assert_int_equal(e->mode, S_IFREG | 0644);
}

/* Every module of modules.order is in lib/modules, holding `module NAME`; nothing else is. */
static void check_modules(const read_back *r, const char *expected_order)
{
    const entry *order = find(r, "modules.order");
    size_t modules = 0;

    assert_non_null(order);
    assert_string_equal((const char *)order->data, expected_order);
    for (size_t i = 0; i < r->count; i++) {
        const entry *e = &r->entries[i];
        char line[160], text[160];

        if (strncmp(e->name, "lib/modules/", 12) != 0 || strcmp(e->name, "lib/modules") == 0)
            continue;
        modules++;
        snprintf(line, sizeof(line), "%s\n", e->name + 12);
        assert_non_null(strstr(expected_order, line));
        assert_int_equal(e->mode, S_IFREG | 0644);
        snprintf(text, sizeof(text), "module %s", e->name + 12);
        assert_int_equal(e->size, strlen(text));
        assert_memory_equal(e->data, text, e->size);
    }
    for (const char *p = expected_order; *p; p++)
        modules -= *p == '\n';
    assert_int_equal(modules, 0);
}

static void test_fake_kernel(void **state)
{
    scratch s;
    uint8_t *bytes;
    size_t length;
    static read_back r;

    (void)state;
    scratch_make(&s, fake_dep, "kernel/fs/overlayfs/overlay.ko\nkernel/fs/fat/fat.ko\n");
    assert_hv_ok(hv_container_initramfs_build(s.init, s.modules, &bytes, &length));
    assert_int_equal(length % 4, 0);
    read_archive(bytes, length, &r);
    check_common(&r, "\177ELF and the rest of a program");
    check_modules(&r, fake_order);
    assert_null(find(&r, "lib/modules/unrelated.ko"));
    /* the folders come before what is in them */
    assert_true(find(&r, "dev") < find(&r, "dev/console"));
    assert_true(find(&r, "lib/modules") < find(&r, "lib/modules/ext4.ko"));
    read_back_free(&r);

    /* written to a file: the same bytes */
    {
        char path[160];
        uint8_t *again;
        size_t again_length;
        FILE *f;

        snprintf(path, sizeof(path), "%s/initramfs.cpio", s.dir);
        assert_hv_ok(hv_container_initramfs_write(s.init, s.modules, path));
        f = fopen(path, "rb");
        assert_non_null(f);
        again = malloc(length + 1);
        again_length = fread(again, 1, length + 1, f);
        fclose(f);
        assert_int_equal(again_length, length);
        assert_memory_equal(again, bytes, length);
        free(again);

        snprintf(path, sizeof(path), "%s/no-such-folder/initramfs.cpio", s.dir);
        assert_hv_error(hv_container_initramfs_write(s.init, s.modules, path), HV_E_IO);
        assert_error_mentions("cannot make the container guest's initramfs");
    }
    free(bytes);
    scratch_remove(&s);
}

/* Without modules.builtin every module must be a file: overlay is missing. */
static void test_missing_module(void **state)
{
    scratch s;
    uint8_t *bytes = (uint8_t *)"x";
    size_t length;

    (void)state;
    scratch_make(&s, fake_dep, NULL);
    assert_hv_error(hv_container_initramfs_build(s.init, s.modules, &bytes, &length),
                    HV_E_NOTFOUND);
    assert_null(bytes);
    assert_error_mentions("has no module overlay, neither in modules.dep nor in modules.builtin");
    scratch_remove(&s);
}

/* crc32c_generic may be missing (an accelerated driver); built-in names may use '-'. */
static void test_optional_and_builtin(void **state)
{
    static const char dep[] = "kernel/drivers/virtio/virtio_mmio.ko:\n"
                              "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko\n"
                              "kernel/fs/jbd2/jbd2.ko:\n";
    scratch s;
    uint8_t *bytes;
    size_t length;
    static read_back r;

    (void)state;
    scratch_make(&s, dep,
                 "kernel/drivers/block/virtio-blk.ko\nkernel/drivers/char/virtio_console.ko\n"
                 "kernel/fs/overlayfs/overlay.ko\n");
    assert_hv_ok(hv_container_initramfs_build(s.init, s.modules, &bytes, &length));
    read_archive(bytes, length, &r);
    check_common(&r, "\177ELF and the rest of a program");
    check_modules(&r, "virtio_mmio.ko\njbd2.ko\next4.ko\n");
    read_back_free(&r);
    free(bytes);

    /* an empty modules.builtin: overlay is missing */
    write_file(s.dir, "modules/modules.builtin", "");
    assert_hv_error(hv_container_initramfs_build(s.init, s.modules, &bytes, &length),
                    HV_E_NOTFOUND);
    scratch_remove(&s);
}

/* No modules folder: a kernel with everything built in. */
static void test_no_modules(void **state)
{
    scratch s;
    uint8_t *bytes;
    size_t length;
    static read_back r;

    (void)state;
    scratch_make(&s, fake_dep, NULL);
    assert_hv_ok(hv_container_initramfs_build(s.init, NULL, &bytes, &length));
    read_archive(bytes, length, &r);
    check_common(&r, "\177ELF and the rest of a program");
    check_modules(&r, "");
    assert_int_equal(r.count, 11); /* 8 folders, console, init, modules.order */
    read_back_free(&r);
    free(bytes);
    scratch_remove(&s);
}

/* modules.dep that cannot be followed, compressed modules, a bad init. */
static void test_refused(void **state)
{
    static const struct {
        const char *dep;
        int code;
        const char *text;
    } cases[] = {
        {"kernel/drivers/virtio/virtio_mmio.ko:\nkernel/drivers/block/virtio_blk.ko.xz:\n",
         HV_E_UNSUPPORTED, "are compressed ('kernel/drivers/block/virtio_blk.ko.xz')"},
        {"kernel/drivers/virtio/virtio_mmio.ko:\nkernel/drivers/block/virtio_blk.ko.zst:\n",
         HV_E_UNSUPPORTED, "compressed"},
        {"kernel/drivers/virtio/virtio_mmio.ko: kernel/x.ko.gz\nkernel/x.ko.gz:\n",
         HV_E_UNSUPPORTED, "x.ko.gz"},
        {"kernel/drivers/virtio/virtio_mmio.ko: kernel/a.ko\nkernel/a.ko: kernel/b.ko\n"
         "kernel/b.ko: kernel/a.ko\n",
         HV_E_PARSE, "dependency loop"},
        {"kernel/drivers/virtio/virtio_mmio.ko: kernel/gone.ko\n", HV_E_PARSE,
         "needs 'kernel/gone.ko' but has no line for it"},
        {"../../etc/virtio_mmio.ko:\n", HV_E_PARSE, "outside its folder"},
        {"/lib/virtio_mmio.ko:\n", HV_E_PARSE, "outside its folder"},
        {"kernel/virtio_mmio.ko.bz2:\n", HV_E_PARSE, "not a .ko file"},
        {"kernel/virtio_mmio.ko:\nkernel/other/virtio_mmio.ko:\n"
         "kernel/virtio_blk.ko: kernel/other/virtio_mmio.ko\n",
         HV_E_PARSE, "two modules named"},
    };
    scratch s;
    uint8_t *bytes;
    size_t length;

    (void)state;
    scratch_make(&s, fake_dep, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(s.dir, "modules/modules.dep", cases[i].dep);
        assert_hv_error(hv_container_initramfs_build(s.init, s.modules, &bytes, &length),
                        cases[i].code);
        assert_error_mentions(cases[i].text);
    }

    /* no modules.dep */
    write_file(s.dir, "elsewhere/x", "");
    {
        char dir[160];

        snprintf(dir, sizeof(dir), "%s/elsewhere", s.dir);
        assert_hv_error(hv_container_initramfs_build(s.init, dir, &bytes, &length), HV_E_NOTFOUND);
        assert_error_mentions("has no modules.dep");
    }
    /* an init that is not a program, or is missing */
    write_file(s.dir, "init", "#!/bin/sh\n");
    assert_hv_error(hv_container_initramfs_build(s.init, NULL, &bytes, &length), HV_E_INVAL);
    assert_error_mentions("is not an ELF program");
    unlink(s.init);
    assert_hv_error(hv_container_initramfs_build(s.init, NULL, &bytes, &length), HV_E_IO);
    assert_error_mentions("cannot open the container init");
    assert_hv_error(hv_container_initramfs_build(NULL, NULL, &bytes, &length), HV_E_INVAL);
    assert_hv_error(hv_container_initramfs_build(s.init, NULL, NULL, &length), HV_E_INVAL);
    scratch_remove(&s);
}

/* The line of modules.order (`order`) that names the module at `path`, or -1. */
static int order_line(const char *order, const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len = strlen(base);
    int line = 0;

    for (const char *at = order; *at; line++) {
        size_t n = strcspn(at, "\n");

        if (n == len && memcmp(at, base, len) == 0)
            return line;
        at += n + (at[n] == '\n');
    }
    return -1;
}

/*
 * A real kernel's modules (HV_TEST_LINUX_MODULES, else this machine's),
 * where there are some: each module of modules.order after every module it
 * depends on (modules.dep).
 */
static void test_real_kernel_modules(void **state)
{
    struct utsname u;
    char dir[300], dep_path[320], init[] = "/tmp/hv-test-initramfs-init-XXXXXX";
    uint8_t *bytes;
    size_t length;
    static read_back r;
    FILE *f;
    int fd;

    (void)state;
    assert_int_equal(uname(&u), 0);
    if (getenv("HV_TEST_LINUX_MODULES")) /* the test VM's kernel (scripts/kvm-vm) */
        snprintf(dir, sizeof(dir), "%s", getenv("HV_TEST_LINUX_MODULES"));
    else
        snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
    snprintf(dep_path, sizeof(dep_path), "%s/modules.dep", dir);
    if (access(dep_path, R_OK) != 0)
        skip(); /* no modules here (a kernel with everything built in, a container) */
    fd = mkstemp(init);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\177ELF", 4), 4);
    close(fd);
    {
        int rc = hv_container_initramfs_build(init, dir, &bytes, &length);

        unlink(init);
        if (rc == HV_E_UNSUPPORTED) {
            assert_error_mentions("compressed");
            skip(); /* this kernel's modules are compressed: refused, as they should be */
        }
        assert_hv_ok(rc);
    }
    read_archive(bytes, length, &r);
    check_common(&r, "\177ELF");
    free(bytes);

    /* the order against modules.dep: every dependency comes first */
    f = fopen(dep_path, "r");
    assert_non_null(f);
    {
        const char *order = (const char *)find(&r, "modules.order")->data;
        char line[8192];

        while (fgets(line, sizeof(line), f)) {
            char *colon = strchr(line, ':');
            int loaded;

            if (!colon)
                continue;
            *colon = '\0';
            if ((loaded = order_line(order, line)) < 0)
                continue;
            for (char *dep = strtok(colon + 1, " \n"); dep; dep = strtok(NULL, " \n")) {
                int needed = order_line(order, dep);

                if (needed < 0 || needed > loaded)
                    fail_msg("%s is loaded before %s, which it needs (or without it)", line, dep);
            }
        }
    }
    fclose(f);
    read_back_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_kernel),
        cmocka_unit_test(test_missing_module),
        cmocka_unit_test(test_optional_and_builtin),
        cmocka_unit_test(test_no_modules),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_real_kernel_modules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

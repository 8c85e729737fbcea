/*
 * tests/container/test-oci-tools.c - layouts written by the tools people
 * use, read and unpacked (container/oci-image.c, oci-unpack.c): one made by
 * umoci in two layers (the second deletes a file: umoci's whiteout), with
 * its config set by umoci; and the same image copied by skopeo into a
 * layout of its own. Exits 77 (skipped) where umoci is not installed; the
 * skopeo test is skipped where skopeo is not.
 */
#include "oci-layout.h"
#include "container/oci-image.h"

#include <sys/utsname.h>
#include <sys/wait.h>

typedef struct dirs {
    char work[64];      /* the layouts and the bundle */
    char rootfs[64];    /* unpacked by hpcvirt */
    char layout[128];   /* umoci's: work/L */
    char bundle[128];   /* work/bundle */
    char copy[128];     /* skopeo's: work/L2 */
    const char *goarch; /* this machine's, as umoci writes it */
} dirs;

/* This machine's architecture by its Go name, as umoci puts it in configs. */
static const char *this_goarch(void)
{
    static const char *const names[][2] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"},   {"ppc64le", "ppc64le"},
        {"s390x", "s390x"},  {"riscv64", "riscv64"},
    };
    static struct utsname uts;

    assert_int_equal(uname(&uts), 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(uts.machine, names[i][0]))
            return names[i][1];
    return uts.machine;
}

/* Run a tool (argv NULL-terminated) and assert it succeeded, showing its output if not. */
static void run_tool(const char *const *argv)
{
    char *out = NULL, *err = NULL;
    GError *error = NULL;
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                      &status, &error))
        fail_msg("cannot run %s: %s", argv[0], error->message);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s %s failed (status %d): %s%s", argv[0], argv[1], status, out, err);
    g_free(out);
    g_free(err);
}

static int setup(void **state)
{
    dirs *d = calloc(1, sizeof(*d));

    oci_temp_dir(d->work, sizeof(d->work), "tools");
    oci_temp_dir(d->rootfs, sizeof(d->rootfs), "rootfs");
    snprintf(d->layout, sizeof(d->layout), "%s/L", d->work);
    snprintf(d->bundle, sizeof(d->bundle), "%s/bundle", d->work);
    snprintf(d->copy, sizeof(d->copy), "%s/L2", d->work);
    d->goarch = this_goarch();
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    dirs *d = *state;

    oci_remove_tree(d->work);
    oci_remove_tree(d->rootfs);
    free(d);
    return 0;
}

/* A file of the bundle's root file system. */
static void put_bundle_file(const dirs *d, const char *rel, const char *content)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/rootfs/%s", d->bundle, rel);
    oci_write_file(path, content, strlen(content));
}

/*
 * umoci's image L:t: layer 1 has etc/greeting, etc/gone and a symlink;
 * layer 2 deletes etc/gone and adds etc/second; its config has a Cmd and
 * an Env.
 */
static void make_umoci_image(const dirs *d)
{
    char image[160], path[PATH_MAX];

    snprintf(image, sizeof(image), "%s:t", d->layout);
    run_tool((const char *const[]){"umoci", "init", "--layout", d->layout, NULL});
    run_tool((const char *const[]){"umoci", "new", "--image", image, NULL});
    run_tool(
        (const char *const[]){"umoci", "unpack", "--rootless", "--image", image, d->bundle, NULL});
    snprintf(path, sizeof(path), "%s/rootfs/etc", d->bundle);
    assert_int_equal(mkdir(path, 0755), 0);
    put_bundle_file(d, "etc/greeting", "hello from umoci\n");
    put_bundle_file(d, "etc/gone", "deleted in layer 2\n");
    snprintf(path, sizeof(path), "%s/rootfs/etc/link", d->bundle);
    assert_int_equal(symlink("greeting", path), 0);
    run_tool((const char *const[]){"umoci", "repack", "--image", image, d->bundle, NULL});
    oci_remove_tree(d->bundle);
    run_tool(
        (const char *const[]){"umoci", "unpack", "--rootless", "--image", image, d->bundle, NULL});
    snprintf(path, sizeof(path), "%s/rootfs/etc/gone", d->bundle);
    assert_int_equal(unlink(path), 0);
    put_bundle_file(d, "etc/second", "layer 2\n");
    run_tool((const char *const[]){"umoci", "repack", "--image", image, d->bundle, NULL});
    run_tool((const char *const[]){"umoci", "config", "--image", image, "--config.cmd", "/bin/sh",
                                   "--config.env", "FOO=bar", "--config.workingdir", "/etc", NULL});
}

/* The image of `layout` tagged `tag`, read and unpacked into d->rootfs, checked. */
static void check_image(dirs *d, const char *layout, const char *tag)
{
    hv_oci_image *image;
    char path[PATH_MAX], *data, link[16];
    size_t len;

    assert_hv_ok(hv_oci_image_open(layout, tag, d->goarch, &image));
    assert_string_equal(hv_oci_image_architecture(image), d->goarch);
    assert_int_equal(hv_oci_image_layer_count(image), 2);
    assert_string_equal(hv_oci_image_cmd(image)[0], "/bin/sh");
    assert_null(hv_oci_image_cmd(image)[1]);
    assert_string_equal(hv_oci_image_working_dir(image), "/etc");
    {
        bool found = false;

        for (const char *const *env = hv_oci_image_env(image); *env; env++)
            found |= !strcmp(*env, "FOO=bar");
        assert_true(found);
    }
    assert_hv_ok(hv_oci_image_unpack(image, d->rootfs, NULL, NULL));
    hv_oci_image_free(image);

    snprintf(path, sizeof(path), "%s/etc/greeting", d->rootfs);
    data = oci_read_file(path, &len);
    assert_non_null(data);
    assert_int_equal(len, 17);
    assert_memory_equal(data, "hello from umoci\n", 17);
    g_free(data);
    assert_true(oci_exists(d->rootfs, "etc/second"));
    assert_false(oci_exists(d->rootfs, "etc/gone"));
    snprintf(path, sizeof(path), "%s/etc/link", d->rootfs);
    assert_int_equal(readlink(path, link, sizeof(link)), 8);
}

static void test_umoci_layout(void **state)
{
    dirs *d = *state;
    hv_oci_image *image;

    make_umoci_image(d);
    check_image(d, d->layout, "t");
    /* a tag the layout does not have */
    assert_hv_error(hv_oci_image_open(d->layout, "nope", d->goarch, &image), HV_E_NOTFOUND);
    assert_error_mentions("'t'");
}

static void test_skopeo_copy(void **state)
{
    dirs *d = *state;
    char from[160], to[160];
    char *skopeo = g_find_program_in_path("skopeo");

    if (!skopeo)
        skip();
    g_free(skopeo);
    make_umoci_image(d);
    snprintf(from, sizeof(from), "oci:%s:t", d->layout);
    snprintf(to, sizeof(to), "oci:%s:t2", d->copy);
    /* no signature policy is needed to copy between two local layouts */
    run_tool(
        (const char *const[]){"skopeo", "--insecure-policy", "copy", "--quiet", from, to, NULL});
    check_image(d, d->copy, "t2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_umoci_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skopeo_copy, setup, teardown),
    };
    char *umoci = g_find_program_in_path("umoci");

    if (!umoci) {
        printf("SKIP: umoci is not installed (Debian and Ubuntu: apt install umoci)\n");
        return 77;
    }
    g_free(umoci);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

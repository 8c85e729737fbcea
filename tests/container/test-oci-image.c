/*
 * tests/container/test-oci-image.c - OCI image layouts (container/oci-image.c,
 * oci-unpack.c, rootfs.c) built here: a two-layer busybox image with
 * whiteouts, an opaque directory, links and devices; its config read back;
 * tags, nested indexes and platforms, Docker media types, zstd; corrupt,
 * missing, misnamed and wrongly sized blobs, blobs that are FIFOs or lie
 * outside the layout; layers that try to write outside the root; replacing
 * entries; bounds; and the ext4 image cache, listed with debugfs, made once
 * when two processes ask for it at once.
 */
#include "oci-layout.h"
#include "container/fs-tree.h"
#include "container/oci-image.h"
#include "container/rootfs.h"

#include <sys/wait.h>

/* Each test's directories: the layout, the root file system, one outside both. */
typedef struct dirs {
    char layout[64], rootfs[64], outside[64], cache[64];
} dirs;

static int setup(void **state)
{
    dirs *d = calloc(1, sizeof(*d));

    oci_temp_dir(d->layout, sizeof(d->layout), "layout");
    oci_temp_dir(d->rootfs, sizeof(d->rootfs), "rootfs");
    oci_temp_dir(d->outside, sizeof(d->outside), "outside");
    oci_temp_dir(d->cache, sizeof(d->cache), "cache");
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    dirs *d = *state;

    oci_remove_tree(d->layout);
    oci_remove_tree(d->rootfs);
    oci_remove_tree(d->outside);
    oci_remove_tree(d->cache);
    free(d);
    return 0;
}

/* A layout whose only image (tagged `tag`, NULL for none) has these layers. */
static void put_image(const char *layout, const char *tag, const char *arch, const char *process,
                      const blob_ref *layers, const char *const *layer_types, size_t count,
                      blob_ref *manifest)
{
    blob_ref config;
    char *desc;

    oci_put_config(layout, arch, process, &config);
    oci_put_manifest(layout, OCI_MANIFEST, OCI_CONFIG, &config, layer_types, layers, count,
                     manifest);
    desc = oci_descriptor(OCI_MANIFEST, manifest, tag, NULL);
    oci_put_index(layout, (const char *const[]){desc, NULL});
    g_free(desc);
}

/* A layout whose only image has one plain tar layer of these entries. */
static void put_one_layer_image(const char *layout, const tar_entry *entries, size_t count,
                                blob_ref *manifest)
{
    blob_ref layer;

    oci_put_layer(layout, entries, count, false, &layer);
    put_image(layout, NULL, "amd64", "", &layer, TYPES(OCI_TAR), 1, manifest);
}

/* ---- the busybox image ---------------------------------------------------------------- */

#define PROCESS                                                                                    \
    "\"Entrypoint\": [\"/bin/sh\", \"-c\"], \"Cmd\": [\"echo hi\"], "                              \
    "\"Env\": [\"PATH=/bin:/usr/bin\", \"A=b=c\"], \"WorkingDir\": \"/opt\", \"User\": "           \
    "\"1000:1000\""

static char *busybox;
static size_t busybox_len;

/* Layer 1 (tar): busybox, links, devices, files to white out; layer 2 (gzip): the whiteouts. */
static void put_busybox_image(const char *layout, blob_ref *manifest, blob_ref layers[2])
{
    const tar_entry base[] = {
        {'d', "bin/", NULL, 0, 0755, 0},
        {'f', "bin/busybox", busybox, busybox_len, 0755, 0},
        {'l', "bin/sh", "busybox", 0, 0777, 0},
        {'h', "bin/ls", "bin/busybox", 0, 0, 0},
        {'d', "./etc", NULL, 0, 0755, 0},
        {'f', "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0, 0644, 0},
        {'f', "etc/removed", "goes in layer 2\n", 0, 0600, 0},
        {'d', "opt", NULL, 0, 0755, 0},
        {'f', "opt/a", "lower\n", 0, 0, 0},
        {'d', "opt/sub", NULL, 0, 0, 0},
        {'f', "opt/sub/b", "lower\n", 0, 0, 0},
        {'d', "dev", NULL, 0, 0, 0},
        {'c', "dev/null", NULL, 0, 0666, 0},
        {'p', "dev/fifo", NULL, 0, 0600, 0},
        {'f', "usr/local/deep/file", "no parents in the archive\n", 0, 04755, 0},
        {'f', "home/user/file", "mine\n", 0, 0600, 1000},
    };
    const tar_entry upper[] = {
        {'f', "etc/.wh.removed", NULL, 0, 0, 0},
        {'f', "opt/c", "upper, before the opaque marker\n", 0, 0, 0},
        {'f', "opt/.wh..wh..opq", NULL, 0, 0, 0},
        {'f', "etc/hostname", "box\n", 0, 0, 0},
    };

    oci_put_layer(layout, base, sizeof(base) / sizeof(base[0]), false, &layers[0]);
    oci_put_layer(layout, upper, sizeof(upper) / sizeof(upper[0]), true, &layers[1]);
    put_image(layout, "latest", "amd64", PROCESS, layers, TYPES(OCI_TAR, OCI_TAR_GZIP), 2,
              manifest);
}

static void assert_strings(const char *const *got, const char *const *want)
{
    size_t i = 0;

    assert_non_null(got);
    for (; want[i]; i++) {
        assert_non_null(got[i]);
        assert_string_equal(got[i], want[i]);
    }
    assert_null(got[i]);
}

static void test_busybox_config(void **state)
{
    dirs *d = *state;
    blob_ref manifest, layers[2];
    hv_oci_image *image;

    put_busybox_image(d->layout, &manifest, layers);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_string_equal(hv_oci_image_digest(image), manifest.digest);
    assert_string_equal(hv_oci_image_architecture(image), "amd64");
    assert_strings(hv_oci_image_entrypoint(image), (const char *const[]){"/bin/sh", "-c", NULL});
    assert_strings(hv_oci_image_cmd(image), (const char *const[]){"echo hi", NULL});
    assert_strings(hv_oci_image_env(image),
                   (const char *const[]){"PATH=/bin:/usr/bin", "A=b=c", NULL});
    assert_string_equal(hv_oci_image_working_dir(image), "/opt");
    assert_string_equal(hv_oci_image_user(image), "1000:1000");
    assert_int_equal(hv_oci_image_layer_count(image), 2);
    assert_string_equal(hv_oci_image_layer(image, 1)->digest, layers[1].digest);
    assert_int_equal(hv_oci_image_layer(image, 1)->compression, HV_OCI_TAR_GZIP);
    assert_null(hv_oci_image_layer(image, 2));
    hv_oci_image_free(image);
    /* by its tag too */
    assert_hv_ok(hv_oci_image_open(d->layout, "latest", "amd64", &image));
    hv_oci_image_free(image);
}

/* A config without a process: empty vectors and strings. */
static void test_config_unset(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {{'f', "x", "x", 0, 0, 0}};
    blob_ref layer, manifest;
    hv_oci_image *image;

    oci_put_layer(d->layout, entries, 1, false, &layer);
    put_image(d->layout, NULL, "amd64", "\"Cmd\": null, \"Env\": null", &layer, TYPES(OCI_TAR), 1,
              &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_null(hv_oci_image_entrypoint(image)[0]);
    assert_null(hv_oci_image_cmd(image)[0]);
    assert_null(hv_oci_image_env(image)[0]);
    assert_string_equal(hv_oci_image_working_dir(image), "");
    assert_string_equal(hv_oci_image_user(image), "");
    hv_oci_image_free(image);
}

static void assert_file(const char *dir, const char *rel, const char *content)
{
    char path[PATH_MAX], *data;
    size_t len;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    data = oci_read_file(path, &len);
    if (!data)
        fail_msg("%s is missing", path);
    assert_int_equal(len, strlen(content));
    assert_memory_equal(data, content, len);
    g_free(data);
}

static void test_busybox_unpack(void **state)
{
    dirs *d = *state;
    blob_ref manifest, layers[2];
    hv_oci_unpack_stats stats;
    hv_oci_image *image;
    char path[PATH_MAX], link[64], *data;
    mode_t old_umask;
    struct stat st, st2;
    size_t len;

    put_busybox_image(d->layout, &manifest, layers);
    assert_hv_ok(hv_oci_image_open(d->layout, "latest", "amd64", &image));
    /* modes are the image's whatever the umask */
    old_umask = umask(077);
    assert_hv_ok(hv_oci_image_unpack(image, d->rootfs, NULL, &stats));
    umask(old_umask);
    hv_oci_image_free(image);

    snprintf(path, sizeof(path), "%s/bin/busybox", d->rootfs);
    data = oci_read_file(path, &len);
    assert_non_null(data);
    assert_int_equal(len, busybox_len);
    assert_memory_equal(data, busybox, len);
    g_free(data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_mtime, 1700000001);
    /* the hard link is the same file; the symlink is a symlink */
    snprintf(path, sizeof(path), "%s/bin/ls", d->rootfs);
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    snprintf(path, sizeof(path), "%s/bin/sh", d->rootfs);
    assert_int_equal(readlink(path, link, sizeof(link)), 7);
    assert_memory_equal(link, "busybox", 7);
    /* the whiteout removed etc/removed and is not there itself */
    assert_false(oci_exists(d->rootfs, "etc/removed"));
    assert_false(oci_exists(d->rootfs, "etc/.wh.removed"));
    assert_file(d->rootfs, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    assert_file(d->rootfs, "etc/hostname", "box\n");
    /* the opaque directory: layer 1's contents gone, layer 2's kept, even written before it */
    snprintf(path, sizeof(path), "%s/opt", d->rootfs);
    assert_int_equal(oci_count_entries(path), 1);
    assert_file(d->rootfs, "opt/c", "upper, before the opaque marker\n");
    /* devices and FIFOs are not made */
    snprintf(path, sizeof(path), "%s/dev", d->rootfs);
    assert_int_equal(oci_count_entries(path), 0);
    /* parents made where the archive has none; modes kept, set-user-ID included */
    snprintf(path, sizeof(path), "%s/usr/local", d->rootfs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    snprintf(path, sizeof(path), "%s/usr/local/deep/file", d->rootfs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    snprintf(path, sizeof(path), "%s/etc/passwd", d->rootfs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    assert_int_equal(stats.skipped_devices, 2);
    assert_int_equal(stats.whiteouts, 2);
    /* owners kept when unpacked by root (else the unpacking user's) */
    snprintf(path, sizeof(path), "%s/home/user/file", d->rootfs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, geteuid() == 0 ? 1000 : geteuid());
    assert_int_equal(st.st_gid, geteuid() == 0 ? 1000 : getegid());
    assert_int_equal(st.st_mode & 07777, 0600);

    assert_int_equal(stats.entries, 20);
    assert_int_equal(stats.file_bytes, busybox_len + 30 + 16 + 6 + 6 + 26 + 5 + 32 + 4);
}

/* ---- choosing the image ----------------------------------------------------------------- */

static void test_tags(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {{'f', "x", "x", 0, 0, 0}};
    blob_ref layer, config1, config2, m1, m2;
    hv_oci_image *image;
    char *desc1, *desc2;

    oci_put_layer(d->layout, entries, 1, false, &layer);
    oci_put_config(d->layout, "amd64", "\"Cmd\": [\"one\"]", &config1);
    oci_put_config(d->layout, "amd64", "\"Cmd\": [\"two\"]", &config2);
    oci_put_manifest(d->layout, OCI_MANIFEST, OCI_CONFIG, &config1, TYPES(OCI_TAR), &layer, 1, &m1);
    oci_put_manifest(d->layout, OCI_MANIFEST, OCI_CONFIG, &config2, TYPES(OCI_TAR), &layer, 1, &m2);
    desc1 = oci_descriptor(OCI_MANIFEST, &m1, "one", NULL);
    desc2 = oci_descriptor(OCI_MANIFEST, &m2, "two", NULL);
    oci_put_index(d->layout, (const char *const[]){desc1, desc2, NULL});
    g_free(desc1);
    g_free(desc2);

    assert_hv_ok(hv_oci_image_open(d->layout, "two", "amd64", &image));
    assert_string_equal(hv_oci_image_cmd(image)[0], "two");
    assert_string_equal(hv_oci_image_digest(image), m2.digest);
    hv_oci_image_free(image);
    assert_hv_ok(hv_oci_image_open(d->layout, "one", "amd64", &image));
    assert_string_equal(hv_oci_image_cmd(image)[0], "one");
    hv_oci_image_free(image);

    image = (hv_oci_image *)1;
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_null(image);
    assert_error_mentions("'one', 'two'");
    assert_error_mentions("choose one by its tag");
    assert_hv_error(hv_oci_image_open(d->layout, "three", "amd64", &image), HV_E_NOTFOUND);
    assert_error_mentions("no image tagged 'three'");
    assert_error_mentions("'one', 'two'");
}

/* An image for linux/arch (a config and a manifest), its descriptor in *manifest. */
static void put_platform_image(const char *layout, const char *arch, const blob_ref *layer,
                               blob_ref *manifest)
{
    blob_ref config;

    oci_put_config(layout, arch, "", &config);
    oci_put_manifest(layout, OCI_MANIFEST, OCI_CONFIG, &config, TYPES(OCI_TAR), layer, 1, manifest);
}

/* index.json -> an image index blob of the descriptors -> the manifests. */
static void put_nested_index(const char *layout, const char *index_type, const char *const *descs)
{
    char *text = oci_index_text(index_type, descs), *top;
    blob_ref index;

    oci_put_blob(layout, text, strlen(text), &index);
    g_free(text);
    top = oci_descriptor(index_type, &index, "multi", NULL);
    oci_put_index(layout, (const char *const[]){top, NULL});
    g_free(top);
}

static void test_nested_index(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {{'f', "x", "x", 0, 0, 0}};
    blob_ref layer, arm, amd, wrong_config, wrong;
    hv_oci_image *image;
    char *desc_arm, *desc_amd, *desc_wrong;

    oci_put_layer(d->layout, entries, 1, false, &layer);
    put_platform_image(d->layout, "arm64", &layer, &arm);
    put_platform_image(d->layout, "amd64", &layer, &amd);
    desc_arm = oci_descriptor(OCI_MANIFEST, &arm, NULL, "arm64");
    desc_amd = oci_descriptor(OCI_MANIFEST, &amd, NULL, "amd64");
    put_nested_index(d->layout, OCI_INDEX, (const char *const[]){desc_arm, desc_amd, NULL});

    assert_hv_ok(hv_oci_image_open(d->layout, "multi", "amd64", &image));
    assert_string_equal(hv_oci_image_digest(image), amd.digest);
    assert_string_equal(hv_oci_image_architecture(image), "amd64");
    hv_oci_image_free(image);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "arm64", &image));
    assert_string_equal(hv_oci_image_digest(image), arm.digest);
    hv_oci_image_free(image);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "riscv64", &image), HV_E_IMAGE);
    assert_error_mentions("no manifest for linux/riscv64");
    assert_error_mentions("linux/arm64, linux/amd64");

    /* an arm64-only image */
    put_nested_index(d->layout, OCI_INDEX, (const char *const[]){desc_arm, NULL});
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("linux/arm64");

    /* an index entry that says amd64 of an image whose config says arm64 */
    oci_put_config(d->layout, "arm64", "", &wrong_config);
    oci_put_manifest(d->layout, OCI_MANIFEST, OCI_CONFIG, &wrong_config, TYPES(OCI_TAR), &layer, 1,
                     &wrong);
    desc_wrong = oci_descriptor(OCI_MANIFEST, &wrong, NULL, "amd64");
    put_nested_index(d->layout, OCI_INDEX, (const char *const[]){desc_wrong, NULL});
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("the image is for arm64, not amd64");
    g_free(desc_arm);
    g_free(desc_amd);
    g_free(desc_wrong);
}

/* Docker's media types: a manifest list, a manifest, a config, a gzip layer. */
static void test_docker_media_types(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {{'f', "hello", "docker\n", 0, 0, 0}};
    blob_ref layer, config, manifest;
    hv_oci_image *image;
    char *desc;

    oci_put_layer(d->layout, entries, 1, true, &layer);
    oci_put_config(d->layout, "amd64", "", &config);
    oci_put_manifest(d->layout, DOCKER_IMAGE, DOCKER_CONFIG, &config, TYPES(DOCKER_LAYER), &layer,
                     1, &manifest);
    desc = oci_descriptor(DOCKER_IMAGE, &manifest, NULL, "amd64");
    put_nested_index(d->layout, DOCKER_LIST, (const char *const[]){desc, NULL});
    g_free(desc);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_hv_ok(hv_oci_image_unpack(image, d->rootfs, NULL, NULL));
    hv_oci_image_free(image);
    assert_file(d->rootfs, "hello", "docker\n");
}

/* A tar+zstd layer. */
static void test_zstd_layer(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {{'f', "hello", "zstd\n", 0, 0, 0}};
    blob_ref layer, manifest;
    hv_oci_image *image;

    oci_put_layer(d->layout, entries, 1, LAYER_ZSTD, &layer);
    put_image(d->layout, NULL, "amd64", "", &layer,
              TYPES("application/vnd.oci.image.layer.v1.tar+zstd"), 1, &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_int_equal(hv_oci_image_layer(image, 0)->compression, HV_OCI_TAR_ZSTD);
    assert_hv_ok(hv_oci_image_unpack(image, d->rootfs, NULL, NULL));
    hv_oci_image_free(image);
    assert_file(d->rootfs, "hello", "zstd\n");
}

/* ---- blobs that do not match ----------------------------------------------------------- */

static void flip_byte(const char *layout, const blob_ref *ref, size_t at)
{
    char path[PATH_MAX], *data;
    size_t len;

    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, ref->digest + 7);
    data = oci_read_file(path, &len);
    assert_non_null(data);
    data[at % len] ^= 0x20;
    oci_write_file(path, data, len);
    g_free(data);
}

static void test_corrupt_layer(void **state)
{
    dirs *d = *state;
    blob_ref manifest, layers[2];
    hv_oci_image *image;
    char *path;

    put_busybox_image(d->layout, &manifest, layers);
    flip_byte(d->layout, &layers[1], 100);
    /* opening reads no layer; unpacking checks them all before it writes */
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_hv_error(hv_oci_image_unpack(image, d->rootfs, NULL, NULL), HV_E_IMAGE);
    assert_error_mentions("the blob is corrupt");
    assert_error_mentions(layers[1].digest + 7);
    assert_int_equal(oci_count_entries(d->rootfs), 0);
    /* nor does the cache keep anything but the lock */
    assert_hv_error(hv_container_rootfs_image(image, d->cache, &path), HV_E_IMAGE);
    assert_null(path);
    assert_int_equal(oci_count_entries(d->cache), 1);
    hv_oci_image_free(image);
}

static void test_corrupt_documents(void **state)
{
    dirs *d = *state;
    blob_ref manifest, layers[2];
    hv_oci_image *image;
    char path[PATH_MAX];

    put_busybox_image(d->layout, &manifest, layers);
    flip_byte(d->layout, &manifest, 30);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("its SHA-256 is");
    assert_error_mentions("index.json says");
    /* missing */
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", d->layout, manifest.digest + 7);
    assert_int_equal(unlink(path), 0);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("is missing");
    /* no index.json, no oci-layout, no layout at all */
    snprintf(path, sizeof(path), "%s/index.json", d->layout);
    oci_write_file(path, "{\"schemaVersion\": 2, ", 21);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("index.json");
    assert_int_equal(unlink(path), 0);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("index.json is missing");
    snprintf(path, sizeof(path), "%s/oci-layout", d->layout);
    oci_write_file(path, "{\"imageLayoutVersion\": \"2.0.0\"}", 31);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("only version 1 layouts");
    assert_int_equal(unlink(path), 0);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("oci-layout is missing");
    assert_hv_error(hv_oci_image_open("/nonexistent/layout", NULL, "amd64", &image), HV_E_NOTFOUND);
}

/* Blobs that are not regular files of the layout: a FIFO (never waited on), a way out. */
static void test_blob_files(void **state)
{
    dirs *d = *state;
    blob_ref manifest, layers[2];
    hv_oci_image *image;
    char path[PATH_MAX], moved[PATH_MAX];

    put_busybox_image(d->layout, &manifest, layers);
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", d->layout, manifest.digest + 7);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("is not a regular file");
    /* blobs/ a symlink to a directory outside the layout */
    snprintf(path, sizeof(path), "%s/blobs", d->layout);
    snprintf(moved, sizeof(moved), "%s/blobs", d->outside);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(symlink(moved, path), 0);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("through a symlink that leads out of the layout directory");
}

/* index.json with one entry of this digest and size. */
static void put_index_entry(const char *layout, const char *digest, size_t size)
{
    blob_ref ref;
    char *desc;

    snprintf(ref.digest, sizeof(ref.digest), "%s", digest);
    ref.size = size;
    desc = oci_descriptor(OCI_MANIFEST, &ref, NULL, NULL);
    oci_put_index(layout, (const char *const[]){desc, NULL});
    g_free(desc);
}

static void test_bad_digests(void **state)
{
    dirs *d = *state;
    blob_ref manifest, layers[2];
    hv_oci_image *image;

    put_busybox_image(d->layout, &manifest, layers);
    put_index_entry(d->layout, "sha256:../../etc/passwd", 10);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("is not a digest");
    assert_error_mentions("manifests[0].digest");
    put_index_entry(d->layout, "sha512:0123", 10);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("only sha256 digests");
    /* upper case hex is another spelling: refused too */
    {
        char upper[80];

        snprintf(upper, sizeof(upper), "%s", manifest.digest);
        for (char *p = upper + 7; *p; p++)
            *p = (char)g_ascii_toupper(*p);
        put_index_entry(d->layout, upper, manifest.size);
        assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    }
    /* the right digest, the wrong size */
    put_index_entry(d->layout, manifest.digest, manifest.size + 1);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("index.json says");
    assert_error_mentions("bytes");
    put_index_entry(d->layout, manifest.digest, manifest.size - 1);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    put_index_entry(d->layout, manifest.digest, manifest.size);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    hv_oci_image_free(image);
}

/* A layer of a wrong size (its manifest says one byte less). */
static void test_layer_wrong_size(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {{'f', "x", "x", 0, 0, 0}};
    blob_ref layer, manifest;
    hv_oci_image *image;

    oci_put_layer(d->layout, entries, 1, false, &layer);
    layer.size--;
    put_image(d->layout, NULL, "amd64", "", &layer, TYPES(OCI_TAR), 1, &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_hv_error(hv_oci_image_unpack(image, d->rootfs, NULL, NULL), HV_E_IMAGE);
    assert_error_mentions("the manifest says");
    assert_int_equal(oci_count_entries(d->rootfs), 0);
    hv_oci_image_free(image);
}

static void test_malformed_documents(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {{'f', "x", "x", 0, 0, 0}};
    blob_ref layer, manifest, config;
    hv_oci_image *image;
    char *desc;

    oci_put_layer(d->layout, entries, 1, false, &layer);
    put_image(d->layout, NULL, "amd64", "\"Env\": [\"NOEQUALS\"]", &layer, TYPES(OCI_TAR), 1,
              &manifest);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("config.Env[0]");
    assert_error_mentions("NAME=value");
    put_image(d->layout, NULL, "amd64", "\"Cmd\": [1]", &layer, TYPES(OCI_TAR), 1, &manifest);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("config.Cmd[0] must be a string");
    /* a layer media type not read */
    put_image(d->layout, NULL, "amd64", "", &layer,
              (const char *const[]){"application/vnd.oci.image.layer.v1.tar+bzip2"}, 1, &manifest);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions(
        "layers[0] has media type 'application/vnd.oci.image.layer.v1.tar+bzip2'");
    /* a config for windows */
    oci_put_json(d->layout, &config, "{\"architecture\": \"amd64\", \"os\": \"windows\"}");
    oci_put_manifest(d->layout, OCI_MANIFEST, OCI_CONFIG, &config, TYPES(OCI_TAR), &layer, 1,
                     &manifest);
    desc = oci_descriptor(OCI_MANIFEST, &manifest, NULL, NULL);
    oci_put_index(d->layout, (const char *const[]){desc, NULL});
    g_free(desc);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("'windows', not linux");
    /* a manifest whose config is not a config */
    oci_put_manifest(d->layout, OCI_MANIFEST, "application/json", &config, TYPES(OCI_TAR), &layer,
                     1, &manifest);
    desc = oci_descriptor(OCI_MANIFEST, &manifest, NULL, NULL);
    oci_put_index(d->layout, (const char *const[]){desc, NULL});
    g_free(desc);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("not that of an image config");
    /* a manifest that says it is an index */
    oci_put_manifest(d->layout, OCI_INDEX, OCI_CONFIG, &config, TYPES(OCI_TAR), &layer, 1,
                     &manifest);
    desc = oci_descriptor(OCI_MANIFEST, &manifest, NULL, NULL);
    oci_put_index(d->layout, (const char *const[]){desc, NULL});
    g_free(desc);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("mediaType is '" OCI_INDEX "'");
}

/* 128 layers: one too many. */
static void test_too_many_layers(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {{'f', "x", "x", 0, 0, 0}};
    blob_ref layers[HV_OCI_MAX_LAYERS + 1], manifest;
    const char *types[HV_OCI_MAX_LAYERS + 1];
    hv_oci_image *image;

    oci_put_layer(d->layout, entries, 1, false, &layers[0]);
    for (size_t i = 0; i <= HV_OCI_MAX_LAYERS; i++) {
        layers[i] = layers[0];
        types[i] = OCI_TAR;
    }
    put_image(d->layout, NULL, "amd64", "", layers, types, HV_OCI_MAX_LAYERS + 1, &manifest);
    assert_hv_error(hv_oci_image_open(d->layout, NULL, "amd64", &image), HV_E_IMAGE);
    assert_error_mentions("at most 127 layers");
    put_image(d->layout, NULL, "amd64", "", layers, types, HV_OCI_MAX_LAYERS, &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_int_equal(hv_oci_image_layer_count(image), HV_OCI_MAX_LAYERS);
    hv_oci_image_free(image);
}

/* ---- layers that reach outside ------------------------------------------------------------ */

/* The single-layer image of `entries` is refused, mentioning `why`; nothing lands outside. */
static void assert_layer_refused(dirs *d, const tar_entry *entries, size_t count, const char *why)
{
    blob_ref layer, manifest;
    hv_oci_image *image;

    oci_put_layer(d->layout, entries, count, false, &layer);
    put_image(d->layout, NULL, "amd64", "", &layer, TYPES(OCI_TAR), 1, &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_hv_error(hv_oci_image_unpack(image, d->rootfs, NULL, NULL), HV_E_IMAGE);
    assert_error_mentions(why);
    hv_oci_image_free(image);
    assert_int_equal(oci_count_entries(d->outside), 0);
    assert_false(oci_exists(d->rootfs, "../x"));
    /* the next try unpacks into an empty directory again */
    oci_remove_tree(d->rootfs);
    assert_int_equal(mkdir(d->rootfs, 0700), 0);
}

static void test_escapes(void **state)
{
    dirs *d = *state;
    char file_in_outside[PATH_MAX];

    assert_layer_refused(d, (const tar_entry[]){{'f', "../x", "x", 0, 0, 0}}, 1,
                         "entry '../x' has a '..' component");
    assert_layer_refused(d, (const tar_entry[]){{'f', "a/../../x", "x", 0, 0, 0}}, 1,
                         "has a '..' component");
    assert_layer_refused(d, (const tar_entry[]){{'f', "/abs", "x", 0, 0, 0}}, 1,
                         "entry '/abs' is absolute");
    assert_layer_refused(
        d, (const tar_entry[]){{'f', "x", "x", 0, 0, 0}, {'h', "link", "../x", 0, 0, 0}}, 2,
        "is a hard link whose target has a '..' component");
    assert_layer_refused(d, (const tar_entry[]){{'h', "link", "/etc/passwd", 0, 0, 0}}, 1,
                         "is a hard link whose target is absolute");
    /* through a symlink out of the root */
    assert_layer_refused(
        d,
        (const tar_entry[]){{'l', "evil", d->outside, 0, 0, 0}, {'f', "evil/file", "x", 0, 0, 0}},
        2, "entry 'evil/file' goes through the symlink 'evil' -> '/tmp/hv-oci-outside-");
    assert_layer_refused(d,
                         (const tar_entry[]){{'l', "evil", "../../../../../..", 0, 0, 0},
                                             {'f', "evil/tmp/x", "x", 0, 0, 0}},
                         2,
                         "goes through the symlink 'evil' -> '../../../../../..' out of the root");
    assert_layer_refused(
        d,
        (const tar_entry[]){{'l', "evil", d->outside, 0, 0, 0}, {'d', "evil/sub/", NULL, 0, 0, 0}},
        2, "out of the root file system");
    assert_layer_refused(d,
                         (const tar_entry[]){{'l', "evil", "/etc", 0, 0, 0},
                                             {'h', "passwd", "evil/passwd", 0, 0, 0}},
                         2, "goes through the symlink 'evil' -> '/etc'");
    assert_layer_refused(d,
                         (const tar_entry[]){{'f', "a", "x", 0, 0, 0}, {'f', "a/b", "x", 0, 0, 0}},
                         2, "lies under 'a', which is not a directory");
    assert_layer_refused(d, (const tar_entry[]){{'f', ".wh..", NULL, 0, 0, 0}}, 1,
                         "is a whiteout of '.', '..' or nothing");
    assert_layer_refused(d, (const tar_entry[]){{'f', "", "x", 0, 0, 0}}, 1,
                         "names the root directory, but is not a directory");

    /* whiteouts through a symlink of a lower layer must not remove what lies outside */
    snprintf(file_in_outside, sizeof(file_in_outside), "%s/victim", d->outside);
    oci_write_file(file_in_outside, "keep me", 7);
    {
        const tar_entry lower[] = {{'l', "evil", d->outside, 0, 0, 0}};
        const tar_entry *uppers[] = {
            (const tar_entry[]){{'f', "evil/.wh.victim", NULL, 0, 0, 0}},
            (const tar_entry[]){{'f', "evil/.wh..wh..opq", NULL, 0, 0, 0}},
        };

        for (size_t i = 0; i < 2; i++) {
            blob_ref layers[2], manifest;
            hv_oci_image *image;

            oci_put_layer(d->layout, lower, 1, false, &layers[0]);
            oci_put_layer(d->layout, uppers[i], 1, false, &layers[1]);
            put_image(d->layout, NULL, "amd64", "", layers, TYPES(OCI_TAR, OCI_TAR), 2, &manifest);
            assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
            assert_hv_error(hv_oci_image_unpack(image, d->rootfs, NULL, NULL), HV_E_IMAGE);
            assert_error_mentions("goes through the symlink 'evil'");
            hv_oci_image_free(image);
            assert_file(d->outside, "victim", "keep me");
            oci_remove_tree(d->rootfs);
            assert_int_equal(mkdir(d->rootfs, 0700), 0);
        }
    }
}

/* Symlinks are data: any target is kept; relative ones inside the root are followed. */
static void test_symlinks_inside(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {
        {'l', "abs", "/etc/passwd", 0, 0, 0},
        {'l', "dotdot", "../../../x", 0, 0, 0},
        {'d', "real", NULL, 0, 0, 0},
        {'l', "inside", "real", 0, 0, 0},
        {'f', "inside/file", "via link\n", 0, 0, 0},
        {'l', "usr/lib", "../lib", 0, 0, 0},
        {'d', "lib", NULL, 0, 0, 0},
        {'f', "usr/lib/libc.so", "libc\n", 0, 0, 0},
    };
    blob_ref manifest;
    hv_oci_image *image;
    char path[PATH_MAX], target[64];

    put_one_layer_image(d->layout, entries, sizeof(entries) / sizeof(entries[0]), &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_hv_ok(hv_oci_image_unpack(image, d->rootfs, NULL, NULL));
    hv_oci_image_free(image);
    snprintf(path, sizeof(path), "%s/abs", d->rootfs);
    assert_int_equal(readlink(path, target, sizeof(target)), 11);
    assert_file(d->rootfs, "real/file", "via link\n");
    assert_file(d->rootfs, "lib/libc.so", "libc\n");
}

/* Entries over entries of a lower layer: replaced, or merged for a directory over a directory. */
static void test_replacing(void **state)
{
    dirs *d = *state;
    const tar_entry lower[] = {
        {'d', "dir-to-file", NULL, 0, 0, 0},    {'f', "dir-to-file/x", "x", 0, 0, 0},
        {'f', "file-to-dir", "x", 0, 0, 0},     {'d', "merged", NULL, 0, 0700, 0},
        {'f', "merged/lower", "l", 0, 0, 0},    {'l', "link-to-file", "nowhere", 0, 0, 0},
        {'f', "file", "old contents", 0, 0, 0},
    };
    const tar_entry upper[] = {
        {'f', "dir-to-file", "now a file", 0, 0, 0},
        {'d', "file-to-dir", NULL, 0, 0, 0},
        {'f', "file-to-dir/y", "y", 0, 0, 0},
        {'d', "merged", NULL, 0, 0750, 0},
        {'f', "merged/upper", "u", 0, 0, 0},
        {'f', "link-to-file", "file", 0, 0, 0},
        {'f', "file", "new", 0, 0, 0},
    };
    blob_ref layers[2], manifest;
    hv_oci_image *image;
    char path[PATH_MAX];
    struct stat st;

    oci_put_layer(d->layout, lower, sizeof(lower) / sizeof(lower[0]), false, &layers[0]);
    oci_put_layer(d->layout, upper, sizeof(upper) / sizeof(upper[0]), true, &layers[1]);
    put_image(d->layout, NULL, "amd64", "", layers, TYPES(OCI_TAR, OCI_TAR_GZIP), 2, &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_hv_ok(hv_oci_image_unpack(image, d->rootfs, NULL, NULL));
    hv_oci_image_free(image);
    assert_file(d->rootfs, "dir-to-file", "now a file");
    assert_file(d->rootfs, "file-to-dir/y", "y");
    assert_file(d->rootfs, "merged/lower", "l");
    assert_file(d->rootfs, "merged/upper", "u");
    assert_file(d->rootfs, "link-to-file", "file");
    assert_file(d->rootfs, "file", "new");
    snprintf(path, sizeof(path), "%s/merged", d->rootfs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    snprintf(path, sizeof(path), "%s/link-to-file", d->rootfs);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

/* The bounds: checked before anything is written. */
static void test_limits(void **state)
{
    dirs *d = *state;
    const tar_entry entries[] = {
        {'f', "a", "0123456789", 0, 0, 0},
        {'f', "b", "0123456789", 0, 0, 0},
        {'f', "c", "0123456789", 0, 0, 0},
    };
    hv_oci_unpack_limits bytes = {.max_file_bytes = 25}, count = {.max_entries = 2};
    hv_oci_unpack_limits enough = {.max_file_bytes = 30, .max_entries = 3};
    blob_ref manifest;
    hv_oci_image *image;

    put_one_layer_image(d->layout, entries, 3, &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_hv_error(hv_oci_image_unpack(image, d->rootfs, &bytes, NULL), HV_E_IMAGE);
    assert_error_mentions("more than 25 bytes");
    assert_int_equal(oci_count_entries(d->rootfs), 0);
    assert_hv_error(hv_oci_image_unpack(image, d->rootfs, &count, NULL), HV_E_IMAGE);
    assert_error_mentions("more than 2 entries");
    assert_int_equal(oci_count_entries(d->rootfs), 0);
    assert_hv_ok(hv_oci_image_unpack(image, d->rootfs, &enough, NULL));
    /* and into a directory that is not empty: refused */
    assert_hv_error(hv_oci_image_unpack(image, d->rootfs, NULL, NULL), HV_E_EXISTS);
    hv_oci_image_free(image);
}

/* A layer that is not a tar archive of its media type. */
static void test_not_tar(void **state)
{
    dirs *d = *state;
    blob_ref layer, manifest;
    hv_oci_image *image;
    char junk[1024];

    memset(junk, 'j', sizeof(junk));
    oci_put_blob(d->layout, junk, sizeof(junk), &layer);
    put_image(d->layout, NULL, "amd64", "", &layer, TYPES(OCI_TAR_GZIP), 1, &manifest);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    assert_hv_error(hv_oci_image_unpack(image, d->rootfs, NULL, NULL), HV_E_IMAGE);
    assert_error_mentions("is not a valid tar archive");
    hv_oci_image_free(image);
}

/* ---- the ext4 cache ------------------------------------------------------------------------ */

/* debugfs's listing of `dir` in the image (g_free), or NULL when debugfs fails. */
static char *debugfs_ls(const char *image_path, const char *dir)
{
    char *command = g_strdup_printf("ls -l %s", dir), *out = NULL;
    const char *program =
        access("/usr/sbin/debugfs", X_OK) == 0 ? "/usr/sbin/debugfs" : "/sbin/debugfs";
    const char *argv[] = {program, "-R", command, image_path, NULL};
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                      &status, NULL) ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        g_free(out);
        out = NULL;
    }
    g_free(command);
    return out;
}

/* debugfs lists `dir` of the image with lines that end in each of `present` and none of `absent`.
 */
static void assert_listing(const char *image_path, const char *dir, const char *const *present,
                           const char *const *absent)
{
    char *listing = debugfs_ls(image_path, dir);

    assert_non_null(listing);
    for (size_t i = 0; present[i]; i++) {
        char *line_end = g_strdup_printf("%s\n", present[i]);

        if (!strstr(listing, line_end))
            fail_msg("%s of the image lacks %s:\n%s", dir, present[i], listing);
        g_free(line_end);
    }
    for (size_t i = 0; absent[i]; i++) {
        char *line_end = g_strdup_printf("%s\n", absent[i]);

        if (strstr(listing, line_end))
            fail_msg("%s of the image has %s:\n%s", dir, absent[i], listing);
        g_free(line_end);
    }
    g_free(listing);
}

static void test_rootfs_cache(void **state)
{
    dirs *d = *state;
    blob_ref manifest, layers[2];
    hv_oci_image *image;
    char *path, *again, *listing, want[PATH_MAX], lock[PATH_MAX];
    struct stat st, st2;

    put_busybox_image(d->layout, &manifest, layers);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    /* the cache directory is made when missing */
    assert_int_equal(rmdir(d->cache), 0);
    assert_hv_ok(hv_container_rootfs_image(image, d->cache, &path));
    snprintf(want, sizeof(want), "%s/rootfs-%s.ext4", d->cache, manifest.digest + 7);
    assert_string_equal(path, want);
    assert_int_equal(stat(d->cache, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &st), 0);
    /* the image and its lock, nothing else */
    assert_int_equal(oci_count_entries(d->cache), 2);
    snprintf(lock, sizeof(lock), "%s/rootfs-%s.lock", d->cache, manifest.digest + 7);
    assert_int_equal(stat(lock, &st2), 0);

    /* made once: the second call finds it */
    assert_hv_ok(hv_container_rootfs_image(image, d->cache, &again));
    assert_string_equal(again, path);
    assert_int_equal(stat(again, &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    assert_int_equal(st.st_mtim.tv_sec, st2.st_mtim.tv_sec);
    assert_int_equal(st.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
    free(again);
    hv_oci_image_free(image);

    assert_listing(path, "/", TYPES(" bin", " etc", " opt", NULL), TYPES(" dev/null", NULL));
    /* root owns the root directory (inode 2) whoever made the image */
    listing = debugfs_ls(path, "/");
    assert_non_null(strstr(listing, " 2   40755 (2)      0      0 "));
    g_free(listing);
    assert_listing(path, "/etc", TYPES(" passwd", " hostname", NULL), TYPES(" removed", NULL));
    assert_listing(path, "/opt", TYPES(" c", NULL), TYPES(" a", " sub", NULL));
    assert_listing(path, "/bin", TYPES(" busybox", " ls", " sh", NULL), TYPES(NULL));
    free(path);
}

/* Two processes asking at once: one makes the image, the other waits on the lock and finds it. */
static void test_rootfs_cache_concurrent(void **state)
{
    dirs *d = *state;
    blob_ref manifest, layers[2];
    hv_oci_image *image;
    char *path;
    int status;
    pid_t child;

    put_busybox_image(d->layout, &manifest, layers);
    assert_hv_ok(hv_oci_image_open(d->layout, NULL, "amd64", &image));
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(hv_container_rootfs_image(image, d->cache, &path) == 0 ? 0 : 1);
    assert_hv_ok(hv_container_rootfs_image(image, d->cache, &path));
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(oci_count_entries(d->cache), 2);
    free(path);
    hv_oci_image_free(image);
}

/* hv_fs_tree_clear: a deep tree, links not followed, files of every kind. */
static void test_tree_clear(void **state)
{
    dirs *d = *state;
    char path[PATH_MAX];
    size_t len;
    int fd;

    snprintf(path, sizeof(path), "%s/victim", d->outside);
    oci_write_file(path, "keep", 4);
    len = (size_t)snprintf(path, sizeof(path), "%s", d->rootfs);
    for (int i = 0; i < 200; i++) {
        len += (size_t)snprintf(path + len, sizeof(path) - len, "/d");
        assert_int_equal(mkdir(path, 0755), 0);
        if (i % 50 == 0) {
            char file[PATH_MAX + 8];

            snprintf(file, sizeof(file), "%s/f", path);
            oci_write_file(file, "x", 1);
            snprintf(file, sizeof(file), "%s/out", path);
            assert_int_equal(symlink(d->outside, file), 0);
        }
    }
    fd = open(d->rootfs, O_PATH | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_int_equal(hv_fs_tree_clear(fd), 0);
    close(fd);
    assert_int_equal(oci_count_entries(d->rootfs), 0);
    assert_file(d->outside, "victim", "keep");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_busybox_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_unset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busybox_unpack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_media_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zstd_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_digests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_wrong_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_tar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rootfs_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rootfs_cache_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_clear, setup, teardown),
    };
    int rc;

    busybox = oci_read_file("/bin/busybox", &busybox_len);
    if (!busybox) {
        /* any executable stands in for it: what matters is a binary of some size */
        busybox = oci_read_file("/bin/true", &busybox_len);
    }
    if (!busybox) {
        fprintf(stderr, "neither /bin/busybox nor /bin/true can be read\n");
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    g_free(busybox);
    return rc;
}

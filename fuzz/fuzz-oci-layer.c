/*
 * fuzz/fuzz-oci-layer.c - libFuzzer target for unpacking layers
 * (hv_oci_image_unpack() in lib/container/oci-image.h). The input is the
 * one layer of an image, tar+gzip when it starts as gzip does, tar+zstd
 * when it starts as zstd does, plain tar otherwise; the layout around it
 * is written with its real digest. It is unpacked, with small bounds, into
 * parent/rootfs beside parent/outside, which holds one file. Whether it is
 * accepted or not, parent must then hold just rootfs and outside, outside
 * just its file, unchanged; the library's tree removal must empty rootfs;
 * a refusal must have set the error it returns.
 */
#include "fuzz-oci.h"
#include "container/oci-image.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>

#define OUTSIDE_FILE    "keep"
#define OUTSIDE_CONTENT "outside the root"

/* The layer's media type from its first bytes. */
static const char *layer_type(const uint8_t *data, size_t size)
{
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
        return "application/vnd.oci.image.layer.v1.tar+gzip";
    if (size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd)
        return "application/vnd.oci.image.layer.v1.tar+zstd";
    return "application/vnd.oci.image.layer.v1.tar";
}

/* A layout of one image whose only layer is the input. */
static void put_layout(const char *layout, const uint8_t *data, size_t size)
{
    static const char config[] = "{\"architecture\": \"amd64\", \"os\": \"linux\"}";
    char config_digest[72], layer_digest[72], manifest_digest[72], path[PATH_MAX + 16];
    char *manifest, *index;

    fuzz_oci_put_blob(layout, data, size, layer_digest);
    fuzz_oci_put_blob(layout, config, strlen(config), config_digest);
    manifest = g_strdup_printf(
        "{\"schemaVersion\": 2, \"config\": {\"mediaType\": "
        "\"application/vnd.oci.image.config.v1+json\", \"digest\": \"%s\", \"size\": %zu}, "
        "\"layers\": [{\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %zu}]}",
        config_digest, strlen(config), layer_type(data, size), layer_digest, size);
    fuzz_oci_put_blob(layout, manifest, strlen(manifest), manifest_digest);
    index = g_strdup_printf("{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\": "
                            "\"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"%s\", "
                            "\"size\": %zu}]}",
                            manifest_digest, strlen(manifest));
    snprintf(path, sizeof(path), "%s/index.json", layout);
    fuzz_oci_write(path, index, strlen(index));
    g_free(manifest);
    g_free(index);
}

/* The names in `dir`, sorted and joined by '/' into out. */
static void list_dir(const char *dir, char *out, size_t size)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    size_t len = 0;

    CHECK(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
            len +=
                (size_t)snprintf(out + len, len < size ? size - len : 0, "%s/", names[i]->d_name);
        free(names[i]);
    }
    free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const hv_oci_unpack_limits limits = {.max_file_bytes = 16 << 20, .max_entries = 4096};
    char layout[PATH_MAX], parent[PATH_MAX], rootfs[PATH_MAX + 8], outside[PATH_MAX + 8];
    char path[PATH_MAX + 16], listing[256], content[64];
    hv_oci_image *image;
    ssize_t got;
    int rc, fd;

    fuzz_oci_new_layout("layout", layout, sizeof(layout));
    put_layout(layout, data, size);
    snprintf(parent, sizeof(parent), "%s/parent", fuzz_oci_work_dir());
    snprintf(rootfs, sizeof(rootfs), "%s/rootfs", parent);
    snprintf(outside, sizeof(outside), "%s/outside", parent);
    CHECK(mkdir(parent, 0755) == 0 && mkdir(rootfs, 0755) == 0 && mkdir(outside, 0755) == 0);
    snprintf(path, sizeof(path), "%s/" OUTSIDE_FILE, outside);
    fuzz_oci_write(path, OUTSIDE_CONTENT, strlen(OUTSIDE_CONTENT));

    CHECK(hv_oci_image_open(layout, NULL, "amd64", &image) == 0);
    hv_error_clear();
    rc = hv_oci_image_unpack(image, rootfs, &limits, NULL);
    CHECK(rc == 0 || hv_error_code_of(hv_error_last()) == rc);
    hv_oci_image_free(image);

    /* nothing beside the root, nothing changed outside it */
    list_dir(parent, listing, sizeof(listing));
    CHECK(strcmp(listing, "outside/rootfs/") == 0);
    list_dir(outside, listing, sizeof(listing));
    CHECK(strcmp(listing, OUTSIDE_FILE "/") == 0);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    CHECK(fd >= 0);
    got = read(fd, content, sizeof(content));
    close(fd);
    CHECK(got == (ssize_t)strlen(OUTSIDE_CONTENT) &&
          !memcmp(content, OUTSIDE_CONTENT, (size_t)got));
    list_dir(fuzz_oci_work_dir(), listing, sizeof(listing));
    CHECK(strcmp(listing, "layout/parent/") == 0);

    /* whatever the layer made, the tree removal takes it away */
    fuzz_oci_empty(rootfs);
    list_dir(rootfs, listing, sizeof(listing));
    CHECK(listing[0] == '\0');
    fuzz_oci_empty(fuzz_oci_work_dir());
    return 0;
}

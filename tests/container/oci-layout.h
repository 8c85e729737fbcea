/*
 * tests/container/oci-layout.h - building OCI image layouts for the tests:
 * blobs written under their real SHA-256, tar layers (plain or gzip) made
 * with libarchive's write API from a list of entries, configs, manifests,
 * image indexes and index.json written as JSON text; temporary directories
 * and their removal; reading a file back.
 */
#ifndef HV_TEST_OCI_LAYOUT_H
#define HV_TEST_OCI_LAYOUT_H

#include "hv-test.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <glib.h>

#define OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define OCI_TAR       "application/vnd.oci.image.layer.v1.tar"
#define OCI_TAR_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define DOCKER_LIST   "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_IMAGE  "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_LAYER  "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* One entry of a test layer. */
typedef struct tar_entry {
    char type; /* 'f' file, 'd' directory, 'l' symlink, 'h' hard link, 'c' char device, 'p' FIFO */
    const char *path; /* as the archive names it */
    const char *data; /* a file's contents (NULL: empty), a link's target */
    size_t len;       /* a file's length; 0: strlen(data) */
    unsigned int mode;
    unsigned int owner; /* uid and gid (0: root) */
} tar_entry;

/* A blob as its descriptor gives it. */
typedef struct blob_ref {
    char digest[80];
    size_t size;
} blob_ref;

/* A new empty directory under /tmp (a static buffer per call site is the caller's). */
static inline void oci_temp_dir(char *dir, size_t size, const char *what)
{
    snprintf(dir, size, "/tmp/hv-oci-%s-XXXXXX", what);
    assert_non_null(mkdtemp(dir));
}

static inline int oci_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove a tree the tests made under /tmp. */
static inline void oci_remove_tree(const char *dir)
{
    if (dir && !strncmp(dir, "/tmp/hv-oci-", 12))
        nftw(dir, oci_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void oci_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* The whole file at `path` in a new buffer (g_free), its length in *len. */
static inline char *oci_read_file(const char *path, size_t *len)
{
    gchar *data = NULL;
    gsize n = 0;

    if (!g_file_get_contents(path, &data, &n, NULL))
        return NULL;
    *len = n;
    return data;
}

/* Write `len` bytes as a blob of the layout; its descriptor's digest and size in *ref. */
static inline void oci_put_blob(const char *layout, const void *data, size_t len, blob_ref *ref)
{
    gchar *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
    char path[PATH_MAX];

    snprintf(ref->digest, sizeof(ref->digest), "sha256:%s", hex);
    g_free(hex);
    ref->size = len;
    snprintf(path, sizeof(path), "%s/blobs", layout);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/blobs/sha256", layout);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, ref->digest + 7);
    oci_write_file(path, data, len);
}

static inline la_ssize_t oci_tar_append(struct archive *a, void *ctx, const void *data, size_t n)
{
    (void)a;
    g_byte_array_append(ctx, data, (guint)n);
    return (la_ssize_t)n;
}

/* How oci_put_layer() compresses: not (false), with gzip (true), with zstd. */
#define LAYER_ZSTD 2

/* A tar layer (compressed as `compression` says) of the entries, as a blob of the layout. */
static inline void oci_put_layer(const char *layout, const tar_entry *entries, size_t count,
                                 int compression, blob_ref *ref)
{
    GByteArray *bytes = g_byte_array_new();
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();

    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    if (compression == true)
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    else if (compression == LAYER_ZSTD)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
    assert_int_equal(archive_write_open(a, bytes, NULL, oci_tar_append, NULL), ARCHIVE_OK);
    for (size_t i = 0; i < count; i++) {
        const tar_entry *t = &entries[i];
        size_t len = t->type == 'f' && t->data ? (t->len ? t->len : strlen(t->data)) : 0;

        archive_entry_clear(e);
        archive_entry_set_pathname(e, t->path);
        archive_entry_set_mtime(e, 1700000000 + (time_t)i, 0);
        archive_entry_set_uid(e, t->owner);
        archive_entry_set_gid(e, t->owner);
        switch (t->type) {
        case 'f':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)len);
            break;
        case 'd':
            archive_entry_set_filetype(e, AE_IFDIR);
            break;
        case 'l':
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, t->data);
            break;
        case 'h':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, t->data);
            break;
        case 'c':
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_rdev(e, makedev(1, 3));
            break;
        case 'p':
            archive_entry_set_filetype(e, AE_IFIFO);
            break;
        default:
            fail_msg("unknown entry type %c", t->type);
        }
        archive_entry_set_perm(e, t->mode ? t->mode : (t->type == 'd' ? 0755 : 0644));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (len)
            assert_int_equal(archive_write_data(a, t->data, len), (la_ssize_t)len);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(e);
    oci_put_blob(layout, bytes->data, bytes->len, ref);
    g_byte_array_free(bytes, TRUE);
}

/* A JSON text (printf-style) as a blob of the layout. */
static inline void oci_put_json(const char *layout, blob_ref *ref, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void oci_put_json(const char *layout, blob_ref *ref, const char *fmt, ...)
{
    va_list ap;
    char *text;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    oci_put_blob(layout, text, strlen(text), ref);
    g_free(text);
}

/*
 * An image config for linux/arch with `process` as the members of its
 * "config" object ("" for none).
 */
static inline void oci_put_config(const char *layout, const char *arch, const char *process,
                                  blob_ref *ref)
{
    oci_put_json(layout, ref,
                 "{\"architecture\": \"%s\", \"os\": \"linux\", \"config\": {%s}, "
                 "\"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}}",
                 arch, process);
}

/* Media types, one a layer: TYPES(OCI_TAR, OCI_TAR_GZIP). */
#define TYPES(...) ((const char *const[]){__VA_ARGS__})

/* A manifest of the config and the layers (of media types layer_types[i]). */
static inline void oci_put_manifest(const char *layout, const char *media_type,
                                    const char *config_type, const blob_ref *config,
                                    const char *const *layer_types, const blob_ref *layers,
                                    size_t count, blob_ref *ref)
{
    GString *text = g_string_new(NULL);

    g_string_append_printf(text,
                           "{\"schemaVersion\": 2, \"mediaType\": \"%s\", \"config\": "
                           "{\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %zu}, "
                           "\"layers\": [",
                           media_type, config_type, config->digest, config->size);
    for (size_t i = 0; i < count; i++)
        g_string_append_printf(text, "%s{\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %zu}",
                               i ? ", " : "", layer_types[i], layers[i].digest, layers[i].size);
    g_string_append(text, "]}");
    oci_put_blob(layout, text->str, text->len, ref);
    g_string_free(text, TRUE);
}

/* A descriptor's JSON (g_free): with a tag annotation and a linux platform when not NULL. */
static inline char *oci_descriptor(const char *media_type, const blob_ref *ref, const char *tag,
                                   const char *arch)
{
    return g_strdup_printf(
        "{\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %zu%s%s%s%s%s%s}", media_type,
        ref->digest, ref->size,
        tag ? ", \"annotations\": {\"org.opencontainers.image.ref.name\": \"" : "", tag ? tag : "",
        tag ? "\"}" : "", arch ? ", \"platform\": {\"os\": \"linux\", \"architecture\": \"" : "",
        arch ? arch : "", arch ? "\"}" : "");
}

/* The text of an image index of the descriptors (JSON texts, NULL-terminated). */
static inline char *oci_index_text(const char *media_type, const char *const *descriptors)
{
    GString *text = g_string_new(NULL);

    g_string_append_printf(text, "{\"schemaVersion\": 2, \"mediaType\": \"%s\", \"manifests\": [",
                           media_type);
    for (size_t i = 0; descriptors[i]; i++)
        g_string_append_printf(text, "%s%s", i ? ", " : "", descriptors[i]);
    g_string_append(text, "]}");
    return g_string_free(text, FALSE);
}

/* oci-layout and index.json of the layout, listing the descriptors (NULL-terminated). */
static inline void oci_put_index(const char *layout, const char *const *descriptors)
{
    static const char oci_layout[] = "{\"imageLayoutVersion\": \"1.0.0\"}";
    char path[PATH_MAX], *text = oci_index_text(OCI_INDEX, descriptors);

    snprintf(path, sizeof(path), "%s/oci-layout", layout);
    oci_write_file(path, oci_layout, strlen(oci_layout));
    snprintf(path, sizeof(path), "%s/index.json", layout);
    oci_write_file(path, text, strlen(text));
    g_free(text);
}

/* Whether `path` exists (a symlink counts, itself). */
static inline bool oci_exists(const char *dir, const char *rel)
{
    char path[PATH_MAX * 2 + 2];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return lstat(path, &st) == 0;
}

/* How many entries a directory has (. and .. not counted). */
static inline size_t oci_count_entries(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    size_t n = 0;

    assert_non_null(d);
    while (g_dir_read_name(d))
        n++;
    g_dir_close(d);
    return n;
}

#endif

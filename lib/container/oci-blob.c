/*
 * container/oci-blob.c - reading the files of an OCI image layout: digests,
 * blobs opened beneath the layout and hashed as they are read, the
 * layout's own small files (see oci-blob.h).
 */
#include "container/oci-blob.h"
#include "container/fs-tree.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIGEST_PREFIX     "sha256:"
#define DIGEST_PREFIX_LEN 7
#define DIGEST_HEX_LEN    64

/* Whether `digest` is "sha256:" and 64 lowercase hex digits: the only form read. */
static bool digest_valid(const char *digest)
{
    if (strncmp(digest, DIGEST_PREFIX, DIGEST_PREFIX_LEN) != 0)
        return false;
    for (size_t i = 0; i < DIGEST_HEX_LEN; i++) {
        char c = digest[DIGEST_PREFIX_LEN + i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return digest[DIGEST_PREFIX_LEN + DIGEST_HEX_LEN] == '\0';
}

int hv_oci_digest_check(const char *digest, const char *file, const char *field)
{
    char quoted[HV_QUOTE_SIZE];

    if (digest_valid(digest))
        return 0;
    hv_quote(quoted, sizeof(quoted), digest);
    if (strncmp(digest, DIGEST_PREFIX, DIGEST_PREFIX_LEN) != 0 && strchr(digest, ':'))
        return hv_error_set(HV_E_IMAGE, field,
                            "%s: %s '%s' is not a SHA-256 digest: only sha256 digests are read "
                            "(copy the image with tools that write them, as skopeo and umoci do)",
                            file, field, quoted);
    return hv_error_set(HV_E_IMAGE, field,
                        "%s: %s '%s' is not a digest: it must be \"sha256:\" and 64 lowercase "
                        "hex digits (the layout is malformed)",
                        file, field, quoted);
}

/*
 * Open `rel` under the layout for reading, as a regular file, into *st.
 * The fd, or the error set, naming `rel` and the `referrer` when there is one.
 */
static int open_layout_file(int layout_fd, const char *rel, const char *referrer, struct stat *st)
{
    int fd = hv_fs_open_beneath(layout_fd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);

    if (fd == -ENOENT)
        return referrer ? hv_error_set(HV_E_IMAGE, rel,
                                       "%s is missing: %s refers to it, but the layout does not "
                                       "have it (copy the image again, with all its blobs)",
                                       rel, referrer)
                        : hv_error_set(HV_E_IMAGE, rel,
                                       "%s is missing: this is not an OCI image layout (it has "
                                       "oci-layout, index.json and blobs/)",
                                       rel);
    if (fd == -EXDEV || fd == -ELOOP)
        return hv_error_set(HV_E_IMAGE, rel,
                            "%s is reached through a symlink that leads out of the layout "
                            "directory: the layout must hold its files itself",
                            rel);
    if (fd == -ENOSYS)
        return hv_error_set(HV_E_UNSUPPORTED, rel,
                            "reading %s needs openat2(2), which this kernel lacks: OCI image "
                            "layouts are read on Linux 5.6 or later",
                            rel);
    if (fd < 0)
        return hv_error_set_errno(HV_E_IO, -fd, rel, "cannot open %s of the layout", rel);
    if (fstat(fd, st) < 0) {
        int err = errno;

        close(fd);
        return hv_error_set_errno(HV_E_IO, err, rel, "cannot stat %s", rel);
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return hv_error_set(HV_E_IMAGE, rel, "%s is not a regular file: the layout is malformed",
                            rel);
    }
    return fd;
}

int hv_oci_blob_open(int layout_fd, const char *digest, uint64_t size_bytes, const char *referrer,
                     hv_oci_blob *blob)
{
    struct stat st;

    memset(blob, 0, sizeof(*blob));
    blob->fd = -1;
    blob->referrer = referrer;
    if (!digest_valid(digest))
        return hv_oci_digest_check(digest, referrer, "the digest");
    memcpy(blob->digest, digest, strlen(digest) + 1);
    snprintf(blob->path, sizeof(blob->path), "blobs/sha256/%s", digest + DIGEST_PREFIX_LEN);
    blob->size_bytes = size_bytes;
    blob->fd = open_layout_file(layout_fd, blob->path, referrer, &st);
    if (blob->fd < 0)
        return blob->fd;
    if ((uint64_t)st.st_size != size_bytes)
        return hv_error_set(HV_E_IMAGE, blob->path,
                            "%s is %llu bytes, %s says %llu: the blob is truncated, or another "
                            "one (copy the image again)",
                            blob->path, (unsigned long long)st.st_size, referrer,
                            (unsigned long long)size_bytes);
    blob->sha256 = g_checksum_new(G_CHECKSUM_SHA256);
    if (!blob->sha256)
        return hv_error_nomem();
    return 0;
}

ssize_t hv_oci_blob_read(hv_oci_blob *blob, void *buf, size_t len)
{
    uint64_t left = blob->size_bytes - blob->read_bytes;
    ssize_t got;

    if (len > left)
        len = (size_t)left;
    if (len == 0)
        return 0;
    do
        got = read(blob->fd, buf, len);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return hv_error_set_errno(HV_E_IO, errno, blob->path, "cannot read %s", blob->path);
    if (got == 0)
        return hv_error_set(HV_E_IMAGE, blob->path,
                            "%s ends after %llu bytes, %s says %llu: the blob is truncated (copy "
                            "the image again)",
                            blob->path, (unsigned long long)blob->read_bytes, blob->referrer,
                            (unsigned long long)blob->size_bytes);
    g_checksum_update(blob->sha256, buf, got);
    blob->read_bytes += (uint64_t)got;
    return got;
}

int hv_oci_blob_finish(hv_oci_blob *blob)
{
    char chunk[4096];
    const char *hex;
    ssize_t got;

    while ((got = hv_oci_blob_read(blob, chunk, sizeof(chunk))) > 0)
        ;
    if (got < 0)
        return (int)got;
    do
        got = read(blob->fd, chunk, 1);
    while (got < 0 && errno == EINTR);
    if (got > 0)
        return hv_error_set(HV_E_IMAGE, blob->path,
                            "%s has more than the %llu bytes %s says: the blob is another one "
                            "(copy the image again)",
                            blob->path, (unsigned long long)blob->size_bytes, blob->referrer);
    hex = g_checksum_get_string(blob->sha256);
    if (strcmp(hex, blob->digest + DIGEST_PREFIX_LEN) != 0)
        return hv_error_set(HV_E_IMAGE, blob->path,
                            "%s: its SHA-256 is %s, %s says %s: the blob is corrupt (copy the "
                            "image again)",
                            blob->path, hex, blob->referrer, blob->digest + DIGEST_PREFIX_LEN);
    return 0;
}

void hv_oci_blob_close(hv_oci_blob *blob)
{
    if (blob->fd >= 0)
        close(blob->fd);
    blob->fd = -1;
    if (blob->sha256)
        g_checksum_free(blob->sha256);
    blob->sha256 = NULL;
}

int hv_oci_blob_load(int layout_fd, const char *digest, uint64_t size_bytes, size_t max_bytes,
                     const char *referrer, char **text_out)
{
    hv_oci_blob blob;
    char *text = NULL;
    uint64_t done = 0;
    int rc;

    *text_out = NULL;
    if (size_bytes > max_bytes)
        return hv_error_set(HV_E_IMAGE, referrer,
                            "%s gives %s a size of %llu bytes, more than the %zu bytes such a "
                            "document may have: the image is malformed",
                            referrer, digest, (unsigned long long)size_bytes, max_bytes);
    rc = hv_oci_blob_open(layout_fd, digest, size_bytes, referrer, &blob);
    if (rc == 0 && !(text = malloc((size_t)size_bytes + 1)))
        rc = hv_error_nomem();
    while (rc == 0 && done < size_bytes) {
        ssize_t got = hv_oci_blob_read(&blob, text + done, (size_t)(size_bytes - done));

        if (got < 0)
            rc = (int)got;
        done += got > 0 ? (uint64_t)got : 0;
    }
    if (rc == 0)
        rc = hv_oci_blob_finish(&blob);
    hv_oci_blob_close(&blob);
    if (rc < 0) {
        free(text);
        return rc;
    }
    text[size_bytes] = '\0';
    *text_out = text;
    return 0;
}

int hv_oci_layout_file_load(int layout_fd, const char *name, size_t max_bytes, char **text_out,
                            size_t *len_out)
{
    struct stat st;
    char *text = NULL, extra;
    size_t len = 0, size = 0;
    ssize_t got;
    int fd, rc = 0;

    *text_out = NULL;
    fd = open_layout_file(layout_fd, name, NULL, &st);
    if (fd < 0)
        return fd;
    if ((uint64_t)st.st_size > max_bytes)
        rc = hv_error_set(HV_E_IMAGE, name,
                          "%s is %llu bytes, more than the %zu such a file may have: the layout "
                          "is malformed",
                          name, (unsigned long long)st.st_size, max_bytes);
    else if (!(text = malloc((size = (size_t)st.st_size) + 1)))
        rc = hv_error_nomem();
    while (rc == 0 && len < size) {
        got = read(fd, text + len, size - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            rc = hv_error_set_errno(HV_E_IO, got < 0 ? errno : EIO, name,
                                    "cannot read %s (did it change while it was read?)", name);
        else
            len += (size_t)got;
    }
    if (rc == 0 && read(fd, &extra, 1) != 0)
        rc = hv_error_set(HV_E_IO, name, "%s changed while it was read: read it again", name);
    close(fd);
    if (rc < 0) {
        free(text);
        return rc;
    }
    text[len] = '\0';
    *text_out = text;
    *len_out = len;
    return 0;
}

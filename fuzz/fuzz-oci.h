/*
 * fuzz/fuzz-oci.h - what the OCI image targets share: a work directory
 * made once per process (and removed at its exit), files and blobs (under their real SHA-256)
 * written into a layout there, and a directory emptied with the library's own tree removal.
 */
#ifndef HV_FUZZ_OCI_H
#define HV_FUZZ_OCI_H

#include "fuzz.h"
#include "container/fs-tree.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

#define FUZZ_OCI_LAYOUT_FILE "{\"imageLayoutVersion\": \"1.0.0\"}"

/* The process's work directory under /tmp ("" until it is made). */
static char fuzz_oci_dir[64];

/* At exit: the work directory goes, with what a run cut short left in it. */
static inline void fuzz_oci_remove_work_dir(void)
{
    int tmpfd = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (tmpfd >= 0) {
        hv_fs_tree_remove(tmpfd, fuzz_oci_dir + strlen("/tmp/"));
        close(tmpfd);
    }
}

/* The process's work directory, made on the first call. */
static inline const char *fuzz_oci_work_dir(void)
{
    if (!fuzz_oci_dir[0]) {
        snprintf(fuzz_oci_dir, sizeof(fuzz_oci_dir), "/tmp/hv-fuzz-oci-XXXXXX");
        CHECK(mkdtemp(fuzz_oci_dir) != NULL);
        atexit(fuzz_oci_remove_work_dir);
    }
    return fuzz_oci_dir;
}

static inline void fuzz_oci_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    CHECK(fd >= 0);
    CHECK(len == 0 || write(fd, data, len) == (ssize_t)len);
    close(fd);
}

/* `len` bytes as a blob of `layout` (blobs/sha256 made already): "sha256:<hex>" into digest. */
static inline void fuzz_oci_put_blob(const char *layout, const void *data, size_t len,
                                     char digest[72])
{
    gchar *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
    char path[PATH_MAX];

    snprintf(digest, 72, "sha256:%s", hex);
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, hex);
    g_free(hex);
    fuzz_oci_write(path, data, len);
}

/* A new, empty layout directory `name` in the work directory: its path in out. */
static inline void fuzz_oci_new_layout(const char *name, char *out, size_t size)
{
    char path[PATH_MAX];

    snprintf(out, size, "%s/%s", fuzz_oci_work_dir(), name);
    mkdir(out, 0755);
    snprintf(path, sizeof(path), "%s/blobs", out);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/blobs/sha256", out);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/oci-layout", out);
    fuzz_oci_write(path, FUZZ_OCI_LAYOUT_FILE, strlen(FUZZ_OCI_LAYOUT_FILE));
}

/* Remove everything inside `dir`; it must work on whatever was put there. */
static inline void fuzz_oci_empty(const char *dir)
{
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

    CHECK(fd >= 0);
    CHECK(hv_fs_tree_clear(fd) == 0);
    close(fd);
}

#endif

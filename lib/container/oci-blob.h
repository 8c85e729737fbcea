/*
 * container/oci-blob.h - the blobs of an OCI image layout (internal):
 * digests checked for their form before they name a file, blobs opened
 * beneath the layout directory as regular files of the size their
 * descriptor gives, and their SHA-256 computed as they are read and
 * compared with the digest at the end. Errors are HV_E_IMAGE and name the
 * blob ("blobs/sha256/<hex>") and who refers to it.
 */
#ifndef HV_CONTAINER_OCI_BLOB_H
#define HV_CONTAINER_OCI_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

/* "sha256:" and 64 lowercase hex digits, and the NUL. */
#define HV_OCI_DIGEST_SIZE 72

/* The longest "blobs/sha256/<hex>" and the NUL. */
#define HV_OCI_BLOB_PATH_SIZE 80

/*
 * 0 when `digest` is valid, else HV_E_IMAGE naming the document `file`
 * and the `field` ("manifests[0].digest", also the error's path) and what
 * the form must be.
 */
int hv_oci_digest_check(const char *digest, const char *file, const char *field);

/* A blob being read and hashed. */
typedef struct hv_oci_blob {
    int fd;
    GChecksum *sha256;
    uint64_t size_bytes; /* the descriptor's */
    uint64_t read_bytes;
    char digest[HV_OCI_DIGEST_SIZE];
    char path[HV_OCI_BLOB_PATH_SIZE]; /* "blobs/sha256/<hex>" */
    const char *referrer;             /* who gives the digest: "the manifest" */
} hv_oci_blob;

/*
 * Open the blob `digest` (checked already) of `size_bytes` under the
 * layout directory `layout_fd`. `referrer` (static text) names the
 * document that refers to it in messages. The blob must be a regular file
 * of exactly that size, reached without leaving the layout directory.
 */
int hv_oci_blob_open(int layout_fd, const char *digest, uint64_t size_bytes, const char *referrer,
                     hv_oci_blob *blob);

/* Up to `len` bytes into buf, hashed: their count, 0 at the end, or an HV_E_* error. */
ssize_t hv_oci_blob_read(hv_oci_blob *blob, void *buf, size_t len);

/*
 * Read what is left, then check that the blob held exactly size_bytes and
 * that its SHA-256 is the digest: 0, or HV_E_IMAGE ("the blob is corrupt").
 */
int hv_oci_blob_finish(hv_oci_blob *blob);

/* Close the file and free the hash; safe on a blob that failed to open. */
void hv_oci_blob_close(hv_oci_blob *blob);

/*
 * A verified blob of at most `max_bytes` into a new NUL-terminated buffer
 * (*text_out, freed by the caller); a larger descriptor is HV_E_IMAGE.
 */
int hv_oci_blob_load(int layout_fd, const char *digest, uint64_t size_bytes, size_t max_bytes,
                     const char *referrer, char **text_out);

/*
 * The file `name` of the layout directory itself ("index.json",
 * "oci-layout") of at most max_bytes into a new NUL-terminated buffer, with
 * its length in *len_out.
 */
int hv_oci_layout_file_load(int layout_fd, const char *name, size_t max_bytes, char **text_out,
                            size_t *len_out);

#endif

/*
 * container/oci-image.h - one image of an OCI image layout directory
 * (internal): the layout's index, a nested image index followed to the
 * manifest for linux/<arch>, the manifest's layers and the image config,
 * every blob checked against its descriptor's digest and size; and the
 * layers unpacked, in order, into a root file system directory. What is
 * read and refused is in docs/container-images.md. Errors for images that
 * are malformed, corrupt, unsafe or for another machine are HV_E_IMAGE.
 */
#ifndef HV_CONTAINER_OCI_IMAGE_H
#define HV_CONTAINER_OCI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "container/oci-blob.h"

/* The most layers one image may have (as Docker's and the overlay file system's limit). */
#define HV_OCI_MAX_LAYERS 127

/* The most bytes of index.json, a manifest, an image index or an image config. */
#define HV_OCI_MAX_DOCUMENT_BYTES ((size_t)4 << 20)

/* The most entries of the config's Env, and of Entrypoint and Cmd each. */
#define HV_OCI_MAX_ENV  4096
#define HV_OCI_MAX_ARGS 4096

typedef struct hv_oci_image hv_oci_image;

/* How a layer's tar archive is compressed, from its media type. */
typedef enum hv_oci_compression {
    HV_OCI_TAR,
    HV_OCI_TAR_GZIP,
    HV_OCI_TAR_ZSTD,
} hv_oci_compression;

/* One layer of the manifest, base layer first. */
typedef struct hv_oci_layer {
    char digest[HV_OCI_DIGEST_SIZE]; /* "sha256:<hex>", checked for its form */
    uint64_t size_bytes;             /* the blob's, as the manifest gives it */
    hv_oci_compression compression;
} hv_oci_layer;

/*
 * Read the image of the layout directory `layout_dir` that `ref` names
 * (the index entry whose annotation org.opencontainers.image.ref.name is
 * `ref`; NULL: the layout's only image) for linux/`arch` (a GOARCH name:
 * "amd64", "arm64"). An image index is followed to its manifest for that
 * platform. Reads the manifest and the config, not the layers (unpacking
 * checks those). HV_E_NOTFOUND when no entry has that tag (the message
 * lists those there are); HV_E_IMAGE for an image that is malformed, has a
 * blob that does not match its digest or size, or is for another platform.
 */
int hv_oci_image_open(const char *layout_dir, const char *ref, const char *arch,
                      hv_oci_image **image_out);

void hv_oci_image_free(hv_oci_image *image);

/* The manifest's digest, "sha256:<hex>": what identifies the image. */
const char *hv_oci_image_digest(const hv_oci_image *image);

/* The config's architecture (the `arch` asked for). */
const char *hv_oci_image_architecture(const hv_oci_image *image);

/*
 * The config's config.Entrypoint, Cmd and Env ("NAME=value"): NULL-terminated,
 * never NULL (empty when the image sets none).
 */
const char *const *hv_oci_image_entrypoint(const hv_oci_image *image);
const char *const *hv_oci_image_cmd(const hv_oci_image *image);
const char *const *hv_oci_image_env(const hv_oci_image *image);

/* config.WorkingDir and config.User; "" when unset. */
const char *hv_oci_image_working_dir(const hv_oci_image *image);
const char *hv_oci_image_user(const hv_oci_image *image);

size_t hv_oci_image_layer_count(const hv_oci_image *image);

/* Layer `index` (0 is the base), or NULL past the last. */
const hv_oci_layer *hv_oci_image_layer(const hv_oci_image *image, size_t index);

/* The layout directory, open (O_PATH) while the image is. */
int hv_oci_image_layout_fd(const hv_oci_image *image);

/* ---- unpacking (oci-unpack.c) --------------------------------------------------- */

/* The bounds of one unpacking; 0 in a field: its default. */
typedef struct hv_oci_unpack_limits {
    uint64_t max_file_bytes; /* regular files' bytes, all layers together (64 GiB) */
    uint64_t max_entries;    /* archive entries, all layers together (4 Mi) */
} hv_oci_unpack_limits;

#define HV_OCI_DEFAULT_MAX_FILE_BYTES ((uint64_t)64 << 30)
#define HV_OCI_DEFAULT_MAX_ENTRIES    ((uint64_t)4 << 20)

/* What an unpacking did. */
typedef struct hv_oci_unpack_stats {
    uint64_t entries;         /* archive entries read, whiteouts included */
    uint64_t file_bytes;      /* bytes of regular files written */
    uint64_t skipped_devices; /* device nodes, FIFOs and sockets not made */
    uint64_t whiteouts;       /* .wh. entries applied (opaque ones included) */
} hv_oci_unpack_stats;

/*
 * Unpack the image's layers, base first, into the existing empty directory
 * `rootfs_dir`. Every layer's digest and size are checked, and every
 * entry's name and whiteout, before anything is written; paths are then
 * resolved beneath rootfs_dir, and an entry whose path leaves it (through
 * a symlink) refuses the image. `limits` may be NULL (the defaults),
 * `stats_out` too. On failure rootfs_dir may hold part of the image: the
 * caller removes it (hv_fs_tree_clear()).
 */
int hv_oci_image_unpack(const hv_oci_image *image, const char *rootfs_dir,
                        const hv_oci_unpack_limits *limits, hv_oci_unpack_stats *stats_out);

#endif

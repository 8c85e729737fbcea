/*
 * container/rootfs.h - the root file system of a container image as an
 * ext4 image (internal), made once per manifest digest in a cache
 * directory and then reused: what a micro-VM boots its container from.
 * The cache's files and what happens on failure are in
 * docs/container-images.md.
 */
#ifndef HV_CONTAINER_ROOTFS_H
#define HV_CONTAINER_ROOTFS_H

#include "container/oci-image.h"

/*
 * The ext4 image of `image`'s root file system, in a new string in
 * *path_out ("<cache_dir>/rootfs-<hex>.ext4", freed by the caller). When
 * it is not there yet, it is made under an exclusive lock
 * (rootfs-<hex>.lock): the layers unpacked into a temporary directory in
 * cache_dir and made into an image by mke2fs(8) (e2fsprogs), which is
 * renamed into place. cache_dir is made (mode 0700) when missing. On
 * failure nothing is left in cache_dir but the lock file. HV_E_UNSUPPORTED
 * without mke2fs; the errors of hv_oci_image_unpack().
 */
int hv_container_rootfs_image(const hv_oci_image *image, const char *cache_dir, char **path_out);

#endif

/*
 * host/disk.h - disk images on the host (internal): the I/O half of a
 * spec's disks[] that the pure planner cannot do. A backend runs it when it
 * creates a VM: the image exists (or is created when the disk has a size)
 * and is what its format says.
 */
#ifndef HV_HOST_DISK_H
#define HV_HOST_DISK_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Check the image at `path` (absolute) for `format` (HV_DISK_FORMAT_*). A
 * missing image is created when `size_bytes` is not 0: a sparse raw file
 * (a new qcow2 image is refused: its overlays aside, hpcvirt makes no qcow2 images), else
 * HV_E_NOTFOUND. An existing image must be a regular file; qcow2 must start with QEMU's magic and
 * version 2 or 3, raw must not be a qcow2 image (a guest that writes over the header would change
 * what the host reads it as); with a size, its (virtual) size must match. `where` ("disks[0]")
 * names the disk in errors. 0 for an image that was there, 1 for one created here (the caller
 * removes it if it then fails), or the error.
 */
int hv_host_disk_prepare(const char *path, int format, uint64_t size_bytes, const char *where);

/*
 * The checks of hv_host_disk_prepare() on an image already open as `fd`
 * (`path` names it in errors): a regular file; unless `format` is < 0 (a
 * regular file is all that is asked), what its format says and, with a
 * size, that size. A caller that keeps its own descriptor checks that one,
 * so the file checked is the file used.
 */
int hv_host_disk_check_fd(int fd, const char *path, int format, uint64_t size_bytes,
                          const char *where);

/*
 * Create the qcow2 image `overlay` backed by `backing` (absolute; its
 * format "qcow2" or "raw") with `qemu-img create` (found on PATH, run
 * without a shell, its output kept short for the error). An existing
 * `overlay` is refused (HV_E_EXISTS); a missing qemu-img is
 * HV_E_UNSUPPORTED naming the package.
 */
int hv_host_disk_overlay(const char *backing, const char *backing_format, const char *overlay);

#endif

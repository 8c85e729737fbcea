/*
 * libvirt/save-image.h - the QEMU driver's save images, for linked clones
 * that start from a suspended parent's memory (internal; what they are:
 * docs/backends.md, "Linked clones").
 */
#ifndef HV_LIBVIRT_SAVE_IMAGE_H
#define HV_LIBVIRT_SAVE_IMAGE_H

#include <libvirt/libvirt.h>

#include <stddef.h>
#include <stdint.h>

/* The header libvirt's QEMU driver writes before a saved domain's XML. */
#define HV_LIBVIRT_SAVE_HEADER_BYTES 92
/* The most XML and cookie a save image may carry here (libvirt pads to about 64 KiB). */
#define HV_LIBVIRT_SAVE_DATA_MAX (16u << 20)
/* libvirt 9.0's formats (raw, gzip, bzip2, xz, lzop: 0-4) are streams read in order, which
 * may start at another offset; a later one (mapped-ram, "sparse") records file offsets. */
#define HV_LIBVIRT_SAVE_FORMAT_LAST_MOVABLE 4

/* A save image opened for reading: its header's fields, its XML and cookie, where QEMU's
 * stream starts. */
typedef struct hv_libvirt_save_image {
    int fd;
    uint32_t version, was_running, compressed;
    char *xml;         /* the domain as it was saved */
    char *cookie;      /* libvirt's cookie (the CPU it ran with); "" for a version 1 image */
    size_t data_bytes; /* the XML's and cookie's room (data_len) */
    uint64_t stream_offset, file_bytes;
} hv_libvirt_save_image;

/*
 * The folder where the connection's QEMU driver keeps managed save images
 * (DIR/NAME.save): qemu:///embed?root=R is R/lib/qemu/save, qemu:///system
 * /var/lib/libvirt/qemu/save, qemu:///session $XDG_CONFIG_HOME (or
 * ~/.config)/libvirt/qemu/save. HV_E_UNSUPPORTED for any other driver or a
 * remote connection (the image is on another host), naming the URI.
 */
int hv_libvirt_managed_save_dir(virConnectPtr conn, char *out, size_t size);

/*
 * Open and check the save image at `path`: the magic ("LibvirtQemudSave"; a
 * "LibvirtQemudPart" image was never finished), version 1 or 2 in this
 * host's byte order, the XML and cookie inside the file and NUL-terminated,
 * the stream after them. HV_E_SNAPSHOT saying which check failed;
 * HV_E_NOTFOUND, HV_E_PERM or HV_E_IO when it cannot be read.
 */
int hv_libvirt_save_image_open(const char *path, hv_libvirt_save_image *image);
void hv_libvirt_save_image_close(hv_libvirt_save_image *image);

/*
 * Write `path` (0600; a temporary file beside it, synced, renamed into
 * place, the folder synced): `image` with its XML replaced by `xml` - the
 * header's other fields, the cookie and QEMU's stream as they are; the XML
 * and cookie padded to their old room when they fit, so the stream stays
 * where it was (else, for formats 0-4 only, the room grows).
 */
int hv_libvirt_save_image_write_as(const hv_libvirt_save_image *image, const char *xml,
                                   const char *path);

#endif

/*
 * kvm/disks.c - a Linux guest's disk images in the built-in engine: the
 * spec's disks checked, created, opened and locked (kvm/disks.h).
 */
#include "kvm/disks.h"
#include "core/error.h"
#include "core/text.h"
#include "host/disk.h"
#include "plan/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Refuse what the engine cannot give before any file is touched. */
static int check_disk(const hv_spec_disk *d, const char *where)
{
    char quoted[HV_QUOTE_SIZE];

    hv_quote(quoted, sizeof(quoted), d->path);
    if (d->format != HV_DISK_FORMAT_RAW)
        return hv_error_set(HV_E_UNSUPPORTED, where,
                            "%s: '%s' is a qcow2 image: the built-in engine reads raw images "
                            "only; convert it (qemu-img convert -O raw %s IMAGE.raw) or create "
                            "the VM through the libvirt backend",
                            where, quoted, quoted);
    if (d->bus != HV_DISK_BUS_VIRTIO)
        return hv_error_set(HV_E_UNSUPPORTED, where,
                            "%s: the built-in engine gives disks on virtio (virtio-blk) only, "
                            "not on %s: give bus \"virtio\" or create the VM through the libvirt "
                            "backend",
                            where, d->bus == HV_DISK_BUS_SCSI ? "SCSI" : "SATA");
    return 0;
}

/*
 * Open and lock one existing image, checked again through the descriptor
 * kept (whatever was renamed into its place since): a regular file and,
 * with `check_format`, raw (a guest may since have written any bytes into
 * an image it had).
 */
static int open_disk(const hv_spec_disk *d, const char *where, bool check_format, hv_kvm_disk *out)
{
    char quoted[HV_QUOTE_SIZE];
    int fd, err, rc;

    hv_quote(quoted, sizeof(quoted), d->path);
    /* O_NONBLOCK: a FIFO put there is refused below, not waited on */
    fd = open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return hv_error_set(errno == EACCES || errno == EROFS ? HV_E_PERM : HV_E_IO, where,
                            "%s: cannot open the image '%s' for %s: %s%s", where, quoted,
                            d->read_only ? "reading" : "reading and writing", strerror(errno),
                            errno == EACCES || errno == EROFS
                                ? " (give the disk read_only if the guest need not write it)"
                                : "");
    if ((rc = hv_host_disk_check_fd(fd, d->path, check_format ? d->format : -1, 0, where)) < 0) {
        close(fd);
        return rc;
    }
    if (flock(fd, (d->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        err = errno;
        close(fd);
        if (err == EWOULDBLOCK)
            return hv_error_set(HV_E_STATE, where,
                                "%s: the image '%s' is in use by another VM, which %s it: a VM "
                                "writes an image only while no other VM uses it (stop that VM, "
                                "or give both the disk read_only)",
                                where, quoted, d->read_only ? "writes" : "uses");
        return hv_error_set(HV_E_IO, where, "%s: cannot lock the image '%s': %s", where, quoted,
                            strerror(err));
    }
    out->fd = fd;
    out->read_only = d->read_only;
    out->path = d->path;
    out->serial = d->serial;
    return 0;
}

int hv_kvm_disks_open(const hv_vm_spec *spec, bool linux_guest, hv_kvm_disks *out)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (spec->ndisks && !linux_guest)
        return hv_error_set(HV_E_UNSUPPORTED, "disks[0]",
                            "the VM runs a guest payload, which has no disk driver: disks are "
                            "for Linux guests (give the spec a boot source, docs/spec-json.md)");
    if (spec->ndisks > HV_KVM_MAX_DISKS)
        return hv_error_set(HV_E_UNSUPPORTED, "disks",
                            "the VM has %zu disks: the built-in engine gives a Linux guest at "
                            "most %d (its virtio devices' interrupt lines, one of them its "
                            "channel's); create it through the libvirt backend for more",
                            spec->ndisks, HV_KVM_MAX_DISKS);
    for (size_t i = 0; i < spec->ndisks && rc == 0; i++) {
        char where[32];

        snprintf(where, sizeof(where), "disks[%zu]", i);
        rc = check_disk(&spec->disks[i], where);
    }
    for (size_t i = 0; i < spec->ndisks && rc == 0; i++) {
        const hv_spec_disk *d = &spec->disks[i];
        hv_kvm_disk *disk = &out->disk[i];
        char where[32];

        snprintf(where, sizeof(where), "disks[%zu]", i);
        disk->fd = -1;
        disk->path = d->path;
        out->count = i + 1;
        rc = hv_host_disk_prepare(d->path, d->format, d->size_bytes, where);
        if (rc >= 0) {
            disk->created = rc > 0;
            rc = open_disk(d, where, true, disk);
        }
    }
    if (rc < 0)
        hv_kvm_disks_close(out, true);
    return rc < 0 ? rc : 0;
}

int hv_kvm_disks_reopen(const hv_spec_disk *list, const uint64_t *bytes, size_t count,
                        hv_kvm_disks *out)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (count > HV_KVM_MAX_DISKS)
        return hv_error_set(HV_E_RANGE, "disks", "%zu disks, more than the %d a guest has", count,
                            HV_KVM_MAX_DISKS);
    for (size_t i = 0; i < count && rc == 0; i++) {
        hv_kvm_disk *disk = &out->disk[i];
        char where[32], quoted[HV_QUOTE_SIZE];
        struct stat st;

        snprintf(where, sizeof(where), "disks[%zu]", i);
        disk->fd = -1;
        out->count = i + 1;
        if ((rc = check_disk(&list[i], where)) < 0 ||
            (rc = open_disk(&list[i], where, false, disk)) < 0)
            break;
        hv_quote(quoted, sizeof(quoted), list[i].path);
        if (fstat(disk->fd, &st) < 0)
            rc = hv_error_set(HV_E_IO, where, "%s: fstat of '%s' failed: %s", where, quoted,
                              strerror(errno));
        else if ((uint64_t)st.st_size != bytes[i])
            rc = hv_error_set(HV_E_STATE, where,
                              "%s: the image '%s' has %llu bytes, but the guest knew it with "
                              "%llu: it changed since; give the guest its image as it was",
                              where, quoted, (unsigned long long)st.st_size,
                              (unsigned long long)bytes[i]);
    }
    if (rc < 0)
        hv_kvm_disks_close(out, false);
    return rc < 0 ? rc : 0;
}

void hv_kvm_disks_close(hv_kvm_disks *disks, bool remove_created)
{
    for (size_t i = 0; i < disks->count; i++) {
        hv_kvm_disk *d = &disks->disk[i];

        if (d->fd >= 0)
            close(d->fd);
        d->fd = -1;
        if (remove_created && d->created && d->path)
            unlink(d->path);
        d->created = false;
    }
}

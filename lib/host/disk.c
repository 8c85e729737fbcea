/*
 * host/disk.c - disk images: exists or is created, and reads as its format.
 */
#include "host/disk.h"
#include "core/error.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <hpcvirt/spec.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QCOW2_HEADER 32 /* magic, version, backing file, cluster bits, size */

static uint64_t be_u64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int create_raw(const char *path, int format, uint64_t size_bytes, const char *where)
{
    char quoted[HV_QUOTE_SIZE];
    int fd, err;

    hv_quote(quoted, sizeof(quoted), path);
    if (format != HV_DISK_FORMAT_RAW)
        return hv_error_set(HV_E_UNSUPPORTED, where,
                            "%s: '%s' does not exist, and hpcvirt creates only raw images: create "
                            "it with `qemu-img create -f qcow2 %s %llu`, or give format \"raw\"",
                            where, quoted, quoted, (unsigned long long)size_bytes);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return hv_error_set(errno == EACCES ? HV_E_PERM : HV_E_IO, where,
                            "%s: cannot create the image '%s': %s", where, quoted, strerror(errno));
    if (ftruncate(fd, (off_t)size_bytes) < 0) {
        err = errno;
        close(fd);
        unlink(path);
        return hv_error_set(HV_E_IO, where, "%s: cannot size the new image '%s' to %llu bytes: %s",
                            where, quoted, (unsigned long long)size_bytes, strerror(err));
    }
    close(fd);
    return 1;
}

int hv_host_disk_prepare(const char *path, int format, uint64_t size_bytes, const char *where)
{
    unsigned char head[QCOW2_HEADER] = {0};
    char quoted[HV_QUOTE_SIZE];
    struct stat st;
    bool qcow2;
    uint64_t size;
    ssize_t got;
    int fd;

    hv_quote(quoted, sizeof(quoted), path);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT && size_bytes)
        return create_raw(path, format, size_bytes, where);
    if (fd < 0)
        return hv_error_set(errno == ENOENT   ? HV_E_NOTFOUND
                            : errno == EACCES ? HV_E_PERM
                                              : HV_E_IO,
                            where, "%s: cannot open the image '%s': %s%s", where, quoted,
                            strerror(errno),
                            errno == ENOENT ? " (give the disk a size to create it)" : "");
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hv_error_set(HV_E_UNSUPPORTED, where,
                            "%s: '%s' is not a regular file: hpcvirt attaches image files only",
                            where, quoted);
    }
    do
        got = pread(fd, head, sizeof(head), 0);
    while (got < 0 && errno == EINTR);
    close(fd);
    if (got < 0)
        return hv_error_set(HV_E_IO, where, "%s: cannot read the image '%s': %s", where, quoted,
                            strerror(errno));
    qcow2 = got >= 8 && memcmp(head, "QFI\xfb", 4) == 0;
    if (format == HV_DISK_FORMAT_QCOW2) {
        uint32_t version = (uint32_t)head[4] << 24 | head[5] << 16 | head[6] << 8 | head[7];

        if (!qcow2 || got < QCOW2_HEADER)
            return hv_error_set(HV_E_PARSE, where,
                                "%s: '%s' is not a qcow2 image (no QFI\\xfb magic): give the "
                                "format it has (\"raw\"?)",
                                where, quoted);
        if (version != 2 && version != 3)
            return hv_error_set(HV_E_PARSE, where,
                                "%s: '%s' is qcow2 version %u: QEMU reads versions 2 and 3", where,
                                quoted, version);
        size = be_u64(head + 24);
    } else {
        if (qcow2)
            return hv_error_set(HV_E_SPEC, where,
                                "%s: '%s' is a qcow2 image, not raw: give format \"qcow2\" (as "
                                "raw, the guest would see, and could rewrite, its header)",
                                where, quoted);
        size = (uint64_t)st.st_size;
    }
    if (size_bytes && size != size_bytes)
        return hv_error_set(HV_E_SPEC, where,
                            "%s: '%s' exists with %llu bytes, the disk's size says %llu: drop "
                            "size to use the image as it is (hpcvirt never resizes one)",
                            where, quoted, (unsigned long long)size,
                            (unsigned long long)size_bytes);
    return 0;
}

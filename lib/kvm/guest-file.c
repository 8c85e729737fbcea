/*
 * kvm/guest-file.c - a file the guest is made from (payload, kernel,
 * initrd), read whole: regular files only, bounded, errors naming it.
 */
#include "kvm/guest-file.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hpcvirt/size.h>

int hv_kvm_guest_file_read(const char *path, const char *what, uint64_t max_bytes, uint8_t **buf,
                           size_t *bytes)
{
    struct stat st;
    int fd, rc = 0;
    size_t done = 0;
    char shown[512], limit[32]; /* the caller's path, quoted (hv_quote()) */

    *buf = NULL;
    *bytes = 0;
    hv_quote(shown, sizeof(shown), path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hv_error_set(HV_E_IO, what, "cannot open the %s '%s': %s", what, shown,
                            strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hv_error_set(HV_E_IO, what, "the %s '%s' is not a regular file", what, shown);
    }
    if ((uint64_t)st.st_size > max_bytes || st.st_size == 0) {
        close(fd);
        hv_size_format(max_bytes, limit, sizeof(limit));
        return hv_error_set(HV_E_RANGE, what, "the %s '%s' has %lld bytes: a %s has 1 byte to %s",
                            what, shown, (long long)st.st_size, what, limit);
    }
    *bytes = (size_t)st.st_size;
    *buf = hv_reallocarray(NULL, *bytes, 1);
    if (!*buf) {
        close(fd);
        *bytes = 0;
        return HV_E_NOMEM;
    }
    while (done < *bytes) {
        ssize_t n = read(fd, *buf + done, *bytes - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = hv_error_set(HV_E_IO, what, "reading the %s '%s' failed: %s", what, shown,
                              n < 0 ? strerror(errno) : "the file shrank while it was read");
            break;
        }
        done += (size_t)n;
    }
    close(fd);
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
        *bytes = 0;
    }
    return rc;
}

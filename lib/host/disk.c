/*
 * host/disk.c - disk images: exists or is created, and reads as its format;
 * qcow2 overlays made by qemu-img (run with an argument vector, no shell).
 */
#include "host/disk.h"
#include "core/error.h"
#include "core/format.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <hpcvirt/spec.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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

int hv_host_disk_check_fd(int fd, const char *path, int format, uint64_t size_bytes,
                          const char *where)
{
    unsigned char head[QCOW2_HEADER] = {0};
    char quoted[HV_QUOTE_SIZE];
    struct stat st;
    bool qcow2;
    uint64_t size;
    ssize_t got;

    hv_quote(quoted, sizeof(quoted), path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return hv_error_set(HV_E_UNSUPPORTED, where,
                            "%s: '%s' is not a regular file: hpcvirt attaches image files only",
                            where, quoted);
    if (format < 0)
        return 0;
    do
        got = pread(fd, head, sizeof(head), 0);
    while (got < 0 && errno == EINTR);
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

int hv_host_disk_prepare(const char *path, int format, uint64_t size_bytes, const char *where)
{
    char quoted[HV_QUOTE_SIZE];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), err = errno, rc;

    if (fd < 0 && err == ENOENT && size_bytes)
        return create_raw(path, format, size_bytes, where);
    if (fd < 0)
        return hv_error_set(err == ENOENT   ? HV_E_NOTFOUND
                            : err == EACCES ? HV_E_PERM
                                            : HV_E_IO,
                            where, "%s: cannot open the image '%s': %s%s", where,
                            hv_quote(quoted, sizeof(quoted), path), strerror(err),
                            err == ENOENT ? " (give the disk a size to create it)" : "");
    rc = hv_host_disk_check_fd(fd, path, format, size_bytes, where);
    close(fd);
    return rc;
}

/* ---- qcow2 overlays (qemu-img) -------------------------------------------------- */

#define QEMU_IMG_OUTPUT 1024 /* what is kept of qemu-img's output for an error */

/*
 * The executable `name` on PATH into out, or false. Looked up here:
 * posix_spawnp() may report a missing program only as exit status 127.
 */
static bool find_on_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");

    if (!path || !*path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");

        if (len && hv_format(out, size, "%.*s/%s", (int)len, path, name) < size &&
            access(out, X_OK) == 0)
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

/* Run `program` with argv, its stdout and stderr into out (cut); the exit status or -errno. */
static int run_captured(const char *program, char *const argv[], char *out, size_t size)
{
    posix_spawn_file_actions_t fa;
    size_t len = 0;
    int fds[2], status = 0, err;
    pid_t pid;
    char buf[512];
    ssize_t got;

    out[0] = '\0';
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    err = posix_spawn(&pid, program, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err) {
        close(fds[0]);
        return -err;
    }
    /* read to the end (the child must not block on a full pipe), keep the start */
    while ((got = read(fds[0], buf, sizeof(buf))) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        for (ssize_t i = 0; i < got && len + 1 < size; i++)
            out[len++] = buf[i] == '\n' ? ' ' : buf[i];
        out[len] = '\0';
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int hv_host_disk_overlay(const char *backing, const char *backing_format, const char *overlay)
{
    char *argv[] = {"qemu-img",
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-b",
                    (char *)backing,
                    "-F",
                    (char *)backing_format,
                    (char *)overlay,
                    NULL};
    char output[QEMU_IMG_OUTPUT], quoted[HV_QUOTE_SIZE], qmsg[QEMU_IMG_OUTPUT + 16];
    char program[4096];
    struct stat st;
    int rc;

    hv_quote(quoted, sizeof(quoted), overlay);
    if (lstat(overlay, &st) == 0)
        return hv_error_set(HV_E_EXISTS, NULL,
                            "the overlay '%s' exists already: remove it, or clone under another "
                            "name",
                            quoted);
    rc = find_on_path("qemu-img", program, sizeof(program))
             ? run_captured(program, argv, output, sizeof(output))
             : -ENOENT;
    if (rc == -ENOENT)
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "qemu-img is not installed (it makes the qcow2 overlays of linked "
                            "clones): install the package qemu-utils (Debian, Ubuntu) or "
                            "qemu-img (Fedora, RHEL)");
    if (rc < 0)
        return hv_error_set(HV_E_IO, NULL, "running qemu-img failed: %s", strerror(-rc));
    if (rc != 0) {
        unlink(overlay); /* whatever it left half-written */
        return hv_error_set(HV_E_IO, NULL,
                            "qemu-img could not create the overlay '%s' (exit %d): %s", quoted, rc,
                            hv_quote(qmsg, sizeof(qmsg), output));
    }
    return 0;
}

/*
 * container/fs-tree.c - openat2 beneath a directory, and removing trees
 * without following links and without one file descriptor per level: the
 * walk keeps the path from the top, goes down into the first directory it
 * finds, and comes back up when a directory is empty (see fs-tree.h).
 */
#include "container/fs-tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(SYS_openat2) && __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#else
#define HAVE_OPENAT2 0
#endif

/* openat2 fails with EAGAIN when a rename raced a ".." lookup: tries before giving up. */
#define OPENAT2_TRIES 8

int hv_fs_open_beneath(int dirfd, const char *path, int flags, uint64_t resolve_more)
{
#if HAVE_OPENAT2
    struct open_how how;

    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(unsigned int)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | resolve_more;
    for (int i = 0; i < OPENAT2_TRIES; i++) {
        long fd = syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof(how));

        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
    }
    return -EAGAIN;
#else
    (void)dirfd;
    (void)path;
    (void)flags;
    (void)resolve_more;
    return -ENOSYS;
#endif
}

/* A directory below the top, by its path from there, with no symlink on the way. */
static int open_real_dir(int topfd, const char *rel, int flags)
{
#if HAVE_OPENAT2
    return hv_fs_open_beneath(topfd, rel, flags | O_DIRECTORY | O_NOFOLLOW,
                              RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
#else
    return hv_fs_open_beneath(topfd, rel, flags, 0);
#endif
}

/* Whether `name` in `dirfd` is a directory itself (a symlink is not); -errno when it cannot tell.
 */
static int is_dir_at(int dirfd, const char *name, unsigned char d_type)
{
    struct stat st;

    if (d_type != DT_UNKNOWN)
        return d_type == DT_DIR;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    return S_ISDIR(st.st_mode);
}

/*
 * Remove the files of the directory `rel` (below topfd); the first
 * subdirectory found is appended to rel (of `size` bytes) and 1 returned,
 * 0 when the directory is empty now.
 */
static int empty_files_or_descend(int topfd, char *rel, size_t size)
{
    int fd = *rel ? open_real_dir(topfd, rel, O_RDONLY)
                  : openat(topfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *de;
    DIR *dir;
    int rc = 0;

    if (fd < 0)
        return *rel ? fd : -errno;
    dir = fdopendir(fd);
    if (!dir) {
        rc = -errno;
        close(fd);
        return rc;
    }
    while (rc == 0) {
        errno = 0;
        de = readdir(dir);
        if (!de) {
            rc = errno ? -errno : 0;
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        rc = is_dir_at(fd, de->d_name, de->d_type);
        if (rc == 1) {
            size_t len = strlen(rel), name_len = strlen(de->d_name);

            if (len + 1 + name_len >= size) {
                rc = -ENAMETOOLONG;
                break;
            }
            if (len)
                rel[len++] = '/';
            memcpy(rel + len, de->d_name, name_len + 1);
        } else if (rc == 0 && unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT) {
            rc = -errno;
        }
    }
    closedir(dir);
    return rc;
}

/* Remove the empty directory `rel` (below topfd) and cut its last component off rel. */
static int remove_empty_dir(int topfd, char *rel)
{
    char *slash = strrchr(rel, '/');
    int parentfd = topfd, rc = 0;

    if (slash) {
        *slash = '\0';
        parentfd = open_real_dir(topfd, rel, O_PATH);
        if (parentfd < 0)
            return parentfd;
    }
    if (unlinkat(parentfd, slash ? slash + 1 : rel, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -errno;
    if (slash)
        close(parentfd);
    else
        rel[0] = '\0';
    return rc;
}

int hv_fs_tree_clear(int dirfd)
{
    char rel[PATH_MAX] = "";
    int rc;

    /* each turn either goes one level down or removes a directory: it ends */
    for (;;) {
        rc = empty_files_or_descend(dirfd, rel, sizeof(rel));
        if (rc < 0)
            return rc;
        if (rc == 1)
            continue;
        if (!rel[0])
            return 0;
        rc = remove_empty_dir(dirfd, rel);
        if (rc < 0)
            return rc;
    }
}

int hv_fs_tree_remove(int dirfd, const char *name)
{
    struct stat st;
    int fd, rc;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = hv_fs_tree_clear(fd);
    close(fd);
    if (rc < 0)
        return rc;
    return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

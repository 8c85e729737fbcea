/*
 * host/sysfs.c - file access under a root directory, confined to it
 * (host/inroot.c), with the kind of each file checked before it is opened
 * and every read bounded; link resolution that also understands flattened
 * link files; sorted, bounded listings.
 */
#include "host/sysfs.h"
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room to quote a root in a message whole (hv_quote()), unless it is huge. */
#define ROOT_QUOTE_SIZE 1024
/* How much of a path too long to open a message shows. */
#define PATH_SHOWN 256

int hv_sysfs_open(hv_sysfs *fs, const char *root)
{
    struct stat st;
    char quoted[ROOT_QUOTE_SIZE];

    fs->rootfd = -1;
    fs->root = NULL;
    if (!root || !*root)
        root = "/";
    fs->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->rootfd < 0) {
        int e = errno;
        return hv_error_set_errno(e == ENOENT ? HV_E_NOTFOUND : HV_E_IO, e, root,
                                  "cannot open host root directory '%s'",
                                  hv_quote(quoted, sizeof(quoted), root));
    }
    if (fstat(fs->rootfd, &st) < 0 || !S_ISDIR(st.st_mode)) {
        close(fs->rootfd);
        fs->rootfd = -1;
        return hv_error_set(HV_E_IO, root, "host root '%s' is not a directory",
                            hv_quote(quoted, sizeof(quoted), root));
    }
    fs->resolver = hv_inroot_probe(fs->rootfd);
    fs->root = hv_strdup(root);
    if (!fs->root) {
        close(fs->rootfd);
        fs->rootfd = -1;
        return HV_E_NOMEM;
    }
    return 0;
}

void hv_sysfs_close(hv_sysfs *fs)
{
    if (fs->rootfd >= 0)
        close(fs->rootfd);
    free(fs->root);
    fs->rootfd = -1;
    fs->root = NULL;
}

char *hv_path_join(const char *a, const char *b)
{
    if (!a || !*a)
        return hv_strdup(b);
    return hv_asprintf("%s/%s", a, b);
}

/* "a FIFO (named pipe)" for messages. */
static const char *file_kind_name(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return "a regular file";
    case S_IFDIR:
        return "a directory";
    case S_IFLNK:
        return "a symbolic link";
    case S_IFIFO:
        return "a FIFO (named pipe)";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFSOCK:
        return "a socket";
    default:
        return "a special file";
    }
}

/* The error for a failed open, stat or listing of `rel` (errno value `e`). */
static int access_error(int e, const char *verb, const char *rel)
{
    if (e == ENOMEM)
        return hv_error_nomem();
    if (e == ENAMETOOLONG) /* what is shown of the path ends where it is cut */
        return hv_error_set(HV_E_IO, rel,
                            "cannot %s %.*s%s: the path is too long (a name of more than %d "
                            "bytes, or more than %d bytes with its links followed); no sysfs "
                            "path is, so the host tree is wrong there",
                            verb, PATH_SHOWN, rel, strlen(rel) > PATH_SHOWN ? "..." : "", NAME_MAX,
                            PATH_MAX);
    if (e == ELOOP)
        return hv_error_set(HV_E_IO, rel,
                            "cannot %s %s: more than %d symbolic links on the way (a loop of "
                            "links?); fix the links in the host tree",
                            verb, rel, HV_INROOT_MAX_LINKS);
    return hv_error_set_errno(e == ENOENT || e == ENOTDIR ? HV_E_NOTFOUND : HV_E_IO, e, rel,
                              "cannot %s %s", verb, rel);
}

/*
 * The error for `rel` that could not be opened (errno value `e`): a link
 * whose target is not in the tree is said to be one, since its target may
 * well exist outside the root.
 */
static int open_error(const hv_sysfs *fs, int e, const char *verb, const char *rel)
{
    char name[NAME_MAX + 1];
    struct stat st;
    int dirfd = e == ENOENT ? hv_inroot_open_parent(fs->rootfd, fs->resolver, rel, name) : -1;
    bool dangling =
        dirfd >= 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);

    if (dirfd >= 0)
        close(dirfd);
    if (dangling)
        return hv_error_set(HV_E_NOTFOUND, rel,
                            "cannot %s %s: it is a symbolic link to nothing in the host tree "
                            "(links resolve inside the root, as a chroot sees them)",
                            verb, rel);
    return access_error(e, verb, rel);
}

/*
 * Open `rel` for reading when it is of `kind` (S_IFREG or S_IFDIR). The kind
 * is checked on a lookup-only descriptor first, so a FIFO cannot block and a
 * device's driver is never called, and again on the descriptor opened
 * (non-blocking) for reading.
 */
static int open_checked(const hv_sysfs *fs, const char *rel, mode_t kind, const char *verb,
                        int *out)
{
    struct stat before, after;
    int fd = hv_inroot_open(fs->rootfd, fs->resolver, rel, HV_INROOT_LOOKUP);

    if (fd < 0)
        return open_error(fs, -fd, verb, rel);
    if (fstat(fd, &before) < 0) {
        int e = errno;

        close(fd);
        return access_error(e, verb, rel);
    }
    close(fd);
    if ((before.st_mode & S_IFMT) != kind)
        return hv_error_set(HV_E_IO, rel,
                            "%s is %s where %s is expected: a host tree holds regular files, "
                            "directories and symbolic links; put there what the machine has",
                            rel, file_kind_name(before.st_mode), file_kind_name(kind));
    fd = hv_inroot_open(fs->rootfd, fs->resolver, rel,
                        O_RDONLY | O_NONBLOCK | O_NOCTTY | (kind == S_IFDIR ? O_DIRECTORY : 0));
    if (fd < 0)
        return access_error(-fd, verb, rel);
    if (fstat(fd, &after) < 0 || (after.st_mode & S_IFMT) != kind ||
        after.st_dev != before.st_dev || after.st_ino != before.st_ino) {
        close(fd);
        return hv_error_set(HV_E_IO, rel,
                            "%s changed while it was being opened: read the host tree while "
                            "nothing modifies it",
                            rel);
    }
    *out = fd;
    return 0;
}

/* lstat() of `rel` inside the root (its last component, when a link, is not followed). */
static int lstat_in_root(const hv_sysfs *fs, const char *rel, const char *verb, struct stat *st)
{
    char name[NAME_MAX + 1];
    int dirfd = hv_inroot_open_parent(fs->rootfd, fs->resolver, rel, name);
    int e = 0;

    if (dirfd < 0)
        return access_error(-dirfd, verb, rel);
    if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        e = errno;
    close(dirfd);
    return e ? access_error(e, verb, rel) : 0;
}

int hv_sysfs_read(const hv_sysfs *fs, const char *rel, size_t max, char **text)
{
    size_t cap = 4096, len = 0;
    char *buf;
    int fd, rc;

    if (max > HV_SYSFS_MAX_FILE)
        max = HV_SYSFS_MAX_FILE;
    rc = open_checked(fs, rel, S_IFREG, "open", &fd);
    if (rc < 0)
        return rc;
    buf = malloc(cap);
    if (!buf) {
        close(fd);
        return hv_error_nomem();
    }
    for (;;) {
        ssize_t n;

        if (len + 1 >= cap) {
            char *grown;

            if (cap >= max + 1) {
                free(buf);
                close(fd);
                return hv_error_set(HV_E_RANGE, rel, "%s is larger than %zu bytes", rel, max);
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                close(fd);
                return hv_error_nomem();
            }
            buf = grown;
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            int e = errno;

            if (e == EINTR)
                continue;
            free(buf);
            close(fd);
            return hv_error_set_errno(HV_E_IO, e, rel, "cannot read %s", rel);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        free(buf);
        return hv_error_set(HV_E_PARSE, rel, "%s contains a NUL byte: not a text attribute", rel);
    }
    *text = buf;
    return 0;
}

int hv_sysfs_read_line(const hv_sysfs *fs, const char *rel, char **out)
{
    char *text;
    int rc = hv_sysfs_read(fs, rel, 64 * 1024, &text);

    if (rc < 0)
        return rc;
    hv_text_trim(text);
    *out = text;
    return 0;
}

int hv_sysfs_read_i64(const hv_sysfs *fs, const char *rel, int64_t *out)
{
    char *text;
    int rc = hv_sysfs_read(fs, rel, 4096, &text);

    if (rc < 0)
        return rc;
    rc = hv_parse_i64(text, out, rel);
    free(text);
    return rc;
}

int hv_sysfs_read_u64(const hv_sysfs *fs, const char *rel, uint64_t *out)
{
    char *text;
    int rc = hv_sysfs_read(fs, rel, 4096, &text);

    if (rc < 0)
        return rc;
    rc = hv_parse_u64(text, out, rel);
    free(text);
    return rc;
}

/* hv_sysfs_readlink() of an entry whose lstat() is `st`. */
static int read_link_entry(const hv_sysfs *fs, const char *rel, const struct stat *st,
                           char **target)
{
    char buf[4096];

    if (S_ISLNK(st->st_mode)) {
        char name[NAME_MAX + 1];
        int dirfd = hv_inroot_open_parent(fs->rootfd, fs->resolver, rel, name);
        ssize_t n;
        int e;

        if (dirfd < 0)
            return access_error(-dirfd, "read link", rel);
        n = readlinkat(dirfd, name, buf, sizeof(buf));
        e = errno;
        close(dirfd);
        if (n < 0)
            return access_error(e, "read link", rel);
        if ((size_t)n >= sizeof(buf))
            return hv_error_set(HV_E_PARSE, rel, "link %s has a target longer than %zu bytes", rel,
                                sizeof(buf) - 1);
        buf[n] = '\0';
        *target = hv_strdup(buf);
        return *target ? 0 : HV_E_NOMEM;
    }
    if (S_ISREG(st->st_mode) && st->st_size > 0 && st->st_size < (off_t)sizeof(buf)) {
        char *text;
        int rc = hv_sysfs_read(fs, rel, sizeof(buf), &text);

        if (rc < 0)
            return rc;
        hv_text_trim(text);
        if ((text[0] == '/' || strncmp(text, "../", 3) == 0 || strncmp(text, "./", 2) == 0) &&
            !strchr(text, '\n')) {
            *target = text;
            return 0;
        }
        free(text);
    }
    return hv_error_set(HV_E_PARSE, rel, "%s is not a link (nor a file holding a link target)",
                        rel);
}

int hv_sysfs_readlink(const hv_sysfs *fs, const char *rel, char **target)
{
    struct stat st;
    int rc = lstat_in_root(fs, rel, "find", &st);

    return rc < 0 ? rc : read_link_entry(fs, rel, &st, target);
}

/* Normalize "a/b/../c/./d" -> "a/c/d" in place; false when it climbs above the start. */
static bool normalize_path(char *path)
{
    char *parts[256];
    size_t n = 0;
    char *save = NULL, *tok;
    char *copy = strdup(path);
    char *out = path;

    if (!copy)
        return false;
    for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            if (n == 0) {
                free(copy);
                return false;
            }
            n--;
            continue;
        }
        if (n == sizeof(parts) / sizeof(parts[0])) {
            free(copy);
            return false;
        }
        parts[n++] = tok;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, "/");
        strcat(out, parts[i]);
    }
    free(copy);
    return true;
}

int hv_sysfs_resolve(const hv_sysfs *fs, const char *rel, char **resolved)
{
    struct stat st;
    char *target = NULL, *dir, *joined, *slash;
    int rc = lstat_in_root(fs, rel, "find", &st);

    if (rc < 0)
        return rc;
    if (S_ISDIR(st.st_mode)) {
        *resolved = hv_strdup(rel);
        return *resolved ? 0 : HV_E_NOMEM;
    }
    rc = read_link_entry(fs, rel, &st, &target);
    if (rc < 0)
        return rc;
    if (target[0] == '/') {
        /* Absolute targets are relative to the root. */
        joined = hv_strdup(target + 1);
    } else {
        dir = hv_strdup(rel);
        if (!dir) {
            free(target);
            return HV_E_NOMEM;
        }
        slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            dir[0] = '\0';
        joined = hv_path_join(dir, target);
        free(dir);
    }
    free(target);
    if (!joined)
        return HV_E_NOMEM;
    if (!normalize_path(joined)) {
        free(joined);
        return hv_error_set(HV_E_PARSE, rel, "link %s points outside the host root", rel);
    }
    *resolved = joined;
    return 0;
}

int hv_sysfs_link_basename(const hv_sysfs *fs, const char *rel, char **name)
{
    char *target;
    const char *base;
    int rc = hv_sysfs_readlink(fs, rel, &target);

    if (rc < 0)
        return rc;
    base = strrchr(target, '/');
    *name = hv_strdup(base ? base + 1 : target);
    free(target);
    return *name ? 0 : HV_E_NOMEM;
}

static int version_compare(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

int hv_sysfs_list(const hv_sysfs *fs, const char *rel, const char *prefix, char ***names,
                  size_t *count)
{
    DIR *dir;
    struct dirent *de;
    char **items = NULL;
    size_t n = 0, cap = 0;
    size_t plen = prefix ? strlen(prefix) : 0;
    int fd, rc;

    *names = NULL;
    *count = 0;
    rc = open_checked(fs, rel, S_IFDIR, "list", &fd);
    if (rc < 0)
        return rc;
    dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return hv_error_nomem();
    }
    for (;;) {
        errno = 0;
        if (!(de = readdir(dir))) {
            rc = errno ? hv_error_set_errno(HV_E_IO, errno, rel, "cannot list %s", rel) : 0;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (plen && strncmp(de->d_name, prefix, plen) != 0)
            continue;
        if (n == HV_SYSFS_MAX_ENTRIES) {
            rc = hv_error_set(HV_E_RANGE, rel,
                              "%s has more than %u entries: no sysfs directory that discovery "
                              "reads has that many",
                              rel, HV_SYSFS_MAX_ENTRIES);
            break;
        }
        if (HV_ARRAY_RESERVE(items, cap, n + 1) < 0 || !(items[n] = hv_strdup(de->d_name))) {
            rc = HV_E_NOMEM;
            break;
        }
        n++;
    }
    closedir(dir);
    if (rc < 0) {
        hv_sysfs_list_free(items, n);
        return rc;
    }
    if (n)
        qsort(items, n, sizeof(*items), version_compare);
    *names = items;
    *count = n;
    return 0;
}

void hv_sysfs_list_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

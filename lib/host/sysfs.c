/*
 * host/sysfs.c - file access relative to a root directory fd, link
 * resolution that also understands flattened link files, sorted listings.
 */
#include "host/sysfs.h"
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hv_sysfs_open(hv_sysfs *fs, const char *root)
{
    struct stat st;

    fs->rootfd = -1;
    fs->root = NULL;
    if (!root || !*root)
        root = "/";
    fs->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->rootfd < 0) {
        int e = errno;
        return hv_error_set_errno(e == ENOENT ? HV_E_NOTFOUND : HV_E_IO, e, root,
                                  "cannot open host root directory '%s'", root);
    }
    if (fstat(fs->rootfd, &st) < 0 || !S_ISDIR(st.st_mode)) {
        close(fs->rootfd);
        fs->rootfd = -1;
        return hv_error_set(HV_E_IO, root, "host root '%s' is not a directory", root);
    }
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

int hv_sysfs_read(const hv_sysfs *fs, const char *rel, size_t max, char **text)
{
    int fd = openat(fs->rootfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    size_t cap = 4096, len = 0;
    char *buf;

    if (fd < 0) {
        int e = errno;
        return hv_error_set_errno(e == ENOENT || e == ENOTDIR ? HV_E_NOTFOUND : HV_E_IO, e, rel,
                                  "cannot open %s", rel);
    }
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

bool hv_sysfs_exists(const hv_sysfs *fs, const char *rel)
{
    struct stat st;

    return fstatat(fs->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool hv_sysfs_is_dir(const hv_sysfs *fs, const char *rel)
{
    struct stat st;

    return fstatat(fs->rootfd, rel, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

int hv_sysfs_readlink(const hv_sysfs *fs, const char *rel, char **target)
{
    struct stat st;
    char buf[4096];
    ssize_t n;

    if (fstatat(fs->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        int e = errno;
        return hv_error_set_errno(e == ENOENT || e == ENOTDIR ? HV_E_NOTFOUND : HV_E_IO, e, rel,
                                  "cannot find %s", rel);
    }
    if (S_ISLNK(st.st_mode)) {
        n = readlinkat(fs->rootfd, rel, buf, sizeof(buf) - 1);
        if (n < 0)
            return hv_error_set_errno(HV_E_IO, errno, rel, "cannot read link %s", rel);
        buf[n] = '\0';
        *target = hv_strdup(buf);
        return *target ? 0 : HV_E_NOMEM;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < (off_t)sizeof(buf)) {
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
    int rc;

    if (fstatat(fs->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        int e = errno;
        return hv_error_set_errno(e == ENOENT || e == ENOTDIR ? HV_E_NOTFOUND : HV_E_IO, e, rel,
                                  "cannot find %s", rel);
    }
    if (S_ISDIR(st.st_mode)) {
        *resolved = hv_strdup(rel);
        return *resolved ? 0 : HV_E_NOMEM;
    }
    rc = hv_sysfs_readlink(fs, rel, &target);
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
    int fd = openat(fs->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir;
    struct dirent *de;
    char **items = NULL;
    size_t n = 0, cap = 0;
    size_t plen = prefix ? strlen(prefix) : 0;

    *names = NULL;
    *count = 0;
    if (fd < 0) {
        int e = errno;
        return hv_error_set_errno(e == ENOENT || e == ENOTDIR ? HV_E_NOTFOUND : HV_E_IO, e, rel,
                                  "cannot list %s", rel);
    }
    dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return hv_error_nomem();
    }
    while ((de = readdir(dir))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (plen && strncmp(de->d_name, prefix, plen) != 0)
            continue;
        if (HV_ARRAY_RESERVE(items, cap, n + 1) < 0 || !(items[n] = hv_strdup(de->d_name))) {
            closedir(dir);
            hv_sysfs_list_free(items, n);
            return HV_E_NOMEM;
        }
        n++;
    }
    closedir(dir);
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

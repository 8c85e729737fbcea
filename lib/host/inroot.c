/*
 * host/inroot.c - path resolution confined to a root directory: openat2's
 * RESOLVE_IN_ROOT where the kernel has it, else a walk that resolves each
 * component here by the same rules (see inroot.h).
 */
#include "host/inroot.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Longest path the walk holds: what is left to resolve, with link targets spliced in. */
#define WALK_MAX_PATH (2 * PATH_MAX)

/* openat2 fails with EAGAIN when a rename raced a ".." lookup: tries before giving up. */
#define OPENAT2_TRIES 8

#if HAVE_OPENAT2
static int openat2_in_root(int rootfd, const char *rel, int flags)
{
    struct open_how how;

    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(unsigned int)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    for (int i = 0; i < OPENAT2_TRIES; i++) {
        long fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));

        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
    }
    return -EAGAIN;
}
#endif

hv_inroot_resolver hv_inroot_probe(int rootfd)
{
#if HAVE_OPENAT2
    int fd = openat2_in_root(rootfd, ".", HV_INROOT_LOOKUP | O_DIRECTORY);

    if (fd >= 0) {
        close(fd);
        return HV_INROOT_OPENAT2;
    }
#else
    (void)rootfd;
#endif
    return HV_INROOT_WALK;
}

/* ---- the portable walk ------------------------------------------------------ */

typedef struct walk {
    int rootfd;
    int dirfd;                /* the current directory: rootfd, or one the walk owns */
    size_t done_len;          /* length of `done` */
    unsigned int links;       /* links followed so far */
    char done[WALK_MAX_PATH]; /* the directories walked into from the root, "a/b/c" */
    char todo[WALK_MAX_PATH]; /* what is left to resolve */
} walk;

static int walk_start(walk *w, int rootfd, const char *rel)
{
    size_t len = strlen(rel);

    w->rootfd = rootfd;
    w->dirfd = rootfd;
    if (len >= sizeof(w->todo))
        return -ENAMETOOLONG;
    w->done_len = 0;
    w->links = 0;
    w->done[0] = '\0';
    memcpy(w->todo, rel, len + 1);
    return 0;
}

static void walk_set_dir(walk *w, int fd)
{
    if (w->dirfd != w->rootfd)
        close(w->dirfd);
    w->dirfd = fd;
}

static void walk_to_root(walk *w)
{
    walk_set_dir(w, w->rootfd);
    w->done_len = 0;
    w->done[0] = '\0';
}

/* Into the subdirectory `name` of the current directory; a link there is not followed. */
static int walk_down(walk *w, const char *name)
{
    size_t len = strlen(name);
    int fd;

    if (w->done_len + 1 + len >= sizeof(w->done))
        return -ENAMETOOLONG;
    fd = openat(w->dirfd, name, HV_INROOT_LOOKUP | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    walk_set_dir(w, fd);
    if (w->done_len)
        w->done[w->done_len++] = '/';
    memcpy(w->done + w->done_len, name, len + 1);
    w->done_len += len;
    return 0;
}

/*
 * "..": the parent of the current directory; at the root, the root. The
 * parent is reached again from the root, name by name, none of them a link,
 * so a directory moved out of the root meanwhile cannot lead the walk out.
 */
static int walk_up(walk *w)
{
    char *slash, *parent, *save = NULL;
    int rc = 0;

    if (w->done_len == 0)
        return 0;
    slash = strrchr(w->done, '/');
    parent = strndup(w->done, slash ? (size_t)(slash - w->done) : 0);
    if (!parent)
        return -ENOMEM;
    walk_to_root(w);
    for (char *name = strtok_r(parent, "/", &save); name && rc == 0;
         name = strtok_r(NULL, "/", &save))
        rc = walk_down(w, name);
    free(parent);
    return rc;
}

/* Replace the link `name` (in the current directory) by its target, in front of `rest`. */
static int walk_follow(walk *w, const char *name, size_t rest_at)
{
    char target[PATH_MAX];
    size_t rest_len = strlen(w->todo + rest_at);
    ssize_t n;

    if (++w->links > HV_INROOT_MAX_LINKS)
        return -ELOOP;
    n = readlinkat(w->dirfd, name, target, sizeof(target));
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ENOENT;
    if ((size_t)n >= sizeof(target) || (size_t)n + 1 + rest_len >= sizeof(w->todo))
        return -ENAMETOOLONG;
    memmove(w->todo + n + 1, w->todo + rest_at, rest_len + 1);
    memcpy(w->todo, target, (size_t)n);
    w->todo[n] = '/';
    if (target[0] == '/')
        walk_to_root(w);
    return 0;
}

/*
 * Resolve w->todo up to its last component, which is left in `name` (and
 * followed first when it is a link and `follow_last`); "." when the path
 * ends in a directory.
 */
static int walk_resolve(walk *w, bool follow_last, char name[NAME_MAX + 1])
{
    size_t at = 0;

    for (;;) {
        struct stat st;
        size_t len;
        bool last;
        int rc;

        while (w->todo[at] == '/')
            at++;
        if (!w->todo[at]) {
            strcpy(name, ".");
            return 0;
        }
        len = strcspn(w->todo + at, "/");
        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        memcpy(name, w->todo + at, len);
        name[len] = '\0';
        at += len;
        while (w->todo[at] == '/')
            at++;
        last = !w->todo[at];
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            if ((rc = walk_up(w)) < 0)
                return rc;
            continue;
        }
        if (last && !follow_last)
            return 0;
        if (fstatat(w->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
        if (S_ISLNK(st.st_mode)) {
            if ((rc = walk_follow(w, name, at)) < 0)
                return rc;
            at = 0;
            continue;
        }
        if (last)
            return 0;
        if (!S_ISDIR(st.st_mode))
            return -ENOTDIR;
        if ((rc = walk_down(w, name)) < 0)
            return rc;
    }
}

/* Resolve `rel` with the walk; on success *dirfd is owned by the caller. */
static int walk_path(int rootfd, const char *rel, bool follow_last, int *dirfd,
                     char name[NAME_MAX + 1])
{
    walk *w = malloc(sizeof(*w));
    int rc;

    if (!w)
        return -ENOMEM;
    rc = walk_start(w, rootfd, rel);
    if (rc == 0)
        rc = walk_resolve(w, follow_last, name);
    if (rc == 0 && w->dirfd == rootfd) {
        w->dirfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
        if (w->dirfd < 0) {
            rc = -errno;
            w->dirfd = rootfd;
        }
    }
    if (rc == 0)
        *dirfd = w->dirfd;
    else
        walk_set_dir(w, rootfd);
    free(w);
    return rc;
}

/* ---- both resolvers ---------------------------------------------------------- */

int hv_inroot_open(int rootfd, hv_inroot_resolver resolver, const char *rel, int flags)
{
    char name[NAME_MAX + 1];
    int dirfd, fd, rc;

#if HAVE_OPENAT2
    if (resolver == HV_INROOT_OPENAT2)
        return openat2_in_root(rootfd, rel, flags);
#else
    (void)resolver;
#endif
    rc = walk_path(rootfd, rel, true, &dirfd, name);
    if (rc < 0)
        return rc;
    /* not a link (the walk followed it); O_NOFOLLOW keeps it so */
    fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
    rc = fd < 0 ? -errno : fd;
    close(dirfd);
    return rc;
}

int hv_inroot_open_parent(int rootfd, hv_inroot_resolver resolver, const char *rel,
                          char name[NAME_MAX + 1])
{
    int dirfd, rc;

#if HAVE_OPENAT2
    if (resolver == HV_INROOT_OPENAT2) {
        const char *slash = strrchr(rel, '/');
        const char *base = slash ? slash + 1 : rel;
        char parent[PATH_MAX];
        size_t plen = (size_t)(base - rel);

        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
            strcpy(name, ".");
            return openat2_in_root(rootfd, rel, HV_INROOT_LOOKUP | O_DIRECTORY);
        }
        if (plen >= sizeof(parent) || strlen(base) > NAME_MAX)
            return -ENAMETOOLONG;
        memcpy(parent, rel, plen);
        parent[plen] = '\0';
        strcpy(name, base);
        return openat2_in_root(rootfd, parent, HV_INROOT_LOOKUP | O_DIRECTORY);
    }
#else
    (void)resolver;
#endif
    rc = walk_path(rootfd, rel, false, &dirfd, name);
    return rc < 0 ? rc : dirfd;
}

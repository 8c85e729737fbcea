/*
 * container/rootfs.c - the ext4 images of container root file systems in
 * a cache directory: the lock, the temporary directory the layers are
 * unpacked into, its size measured, mke2fs run on it, the image renamed
 * into place (see rootfs.h).
 */
#include "container/rootfs.h"
#include "container/fs-tree.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>

#define BLOCK_BYTES 4096 /* the file system's block size (mke2fs -b) */
#define INODE_BYTES 256  /* an inode's size in the inode table (mke2fs's default) */
#define MIB         (1024 * 1024)
#define HEADROOM    (32 * MIB) /* on top of 5/4 of what the files need: metadata, lost+found */

/* What of mke2fs's output an error message shows. */
#define OUTPUT_SHOWN 600

/* The names of one image's files in the cache. */
typedef struct cache_names {
    char image[128];       /* rootfs-<hex>.ext4 */
    char lock[128];        /* rootfs-<hex>.lock */
    char temp_prefix[128]; /* rootfs-<hex>.tmp- (a directory, and a random suffix) */
} cache_names;

/* What the files of a tree need in the file system. */
typedef struct tree_size {
    uint64_t data_bytes;
    uint64_t inodes;
} tree_size;

static uint64_t round_up(uint64_t value, uint64_t unit)
{
    return (value + unit - 1) / unit * unit;
}

/* cache_dir, made (0700) when missing, opened O_PATH into *fd. */
static int open_cache_dir(const char *cache_dir, int *fd)
{
    char quoted[HV_QUOTE_SIZE];

    hv_quote(quoted, sizeof(quoted), cache_dir);
    if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST)
        return hv_error_set_errno(errno == ENOENT ? HV_E_NOTFOUND : HV_E_IO, errno, cache_dir,
                                  "cannot make the cache directory '%s'", quoted);
    *fd = open(cache_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return hv_error_set_errno(HV_E_IO, errno, cache_dir, "cannot open the cache directory '%s'",
                                  quoted);
    return 0;
}

/* 1 when the image is in the cache, 0 when not, or the error. */
static int image_present(int cachefd, const char *cache_dir, const char *name)
{
    char quoted[HV_QUOTE_SIZE];
    struct stat st;

    if (fstatat(cachefd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return hv_error_set_errno(HV_E_IO, errno, name, "cannot look for %s in the cache '%s'",
                                  name, hv_quote(quoted, sizeof(quoted), cache_dir));
    }
    if (!S_ISREG(st.st_mode))
        return hv_error_set(HV_E_EXISTS, name,
                            "%s in the cache '%s' is not a regular file: remove it", name,
                            hv_quote(quoted, sizeof(quoted), cache_dir));
    return 1;
}

/* The lock of one image's files, taken (blocking) into *fd. */
static int take_lock(int cachefd, const char *name, int *fd)
{
    *fd = openat(cachefd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
        return hv_error_set_errno(HV_E_IO, errno, name, "cannot open the lock file %s", name);
    while (flock(*fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return hv_error_set_errno(HV_E_IO, errno, name, "cannot lock %s", name);
    return 0;
}

/* Remove what an earlier try left: temporary directories of this image (the lock is ours). */
static int remove_leftovers(int cachefd, const char *temp_prefix)
{
    int listfd = openat(cachefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = listfd >= 0 ? fdopendir(listfd) : NULL;
    struct dirent *de;
    int rc = 0;

    if (!dir) {
        rc = -errno;
        if (listfd >= 0)
            close(listfd);
        return hv_error_set_errno(HV_E_IO, -rc, NULL, "cannot list the cache directory");
    }
    while (rc == 0 && (de = readdir(dir)))
        if (!strncmp(de->d_name, temp_prefix, strlen(temp_prefix)))
            rc = hv_fs_tree_remove(cachefd, de->d_name);
    closedir(dir);
    if (rc < 0)
        return hv_error_set_errno(HV_E_IO, -rc, NULL,
                                  "cannot remove a temporary directory an earlier try left in "
                                  "the cache");
    return 0;
}

/* Add what one file needs; hard links are counted once (`seen` holds their inodes). */
static void add_file(tree_size *size, const struct stat *st, GHashTable *seen)
{
    if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
        gpointer key = GSIZE_TO_POINTER((gsize)st->st_ino);

        if (g_hash_table_contains(seen, key))
            return;
        g_hash_table_add(seen, key);
    }
    size->inodes++;
    /* a symlink's target of up to 59 bytes lives in its inode */
    if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || (S_ISLNK(st->st_mode) && st->st_size >= 60))
        size->data_bytes += round_up((uint64_t)st->st_size, BLOCK_BYTES);
}

/* What the tree at `root` needs, never following its symlinks. */
static int measure_tree(const char *root, tree_size *size)
{
    char *const roots[] = {(char *)root, NULL};
    GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
    FTSENT *entry;
    int rc = 0, err = 0;

    memset(size, 0, sizeof(*size));
    if (!fts) {
        g_hash_table_destroy(seen);
        return hv_error_set_errno(HV_E_IO, errno, NULL,
                                  "cannot walk the unpacked root file system");
    }
    for (;;) {
        errno = 0;
        entry = fts_read(fts);
        if (!entry) {
            err = errno;
            rc = err ? HV_E_IO : 0;
            break;
        }
        switch (entry->fts_info) {
        case FTS_DP:
            break;
        case FTS_DNR:
        case FTS_ERR:
        case FTS_NS:
            err = entry->fts_errno;
            rc = HV_E_IO;
            break;
        default:
            add_file(size, entry->fts_statp, seen);
        }
        if (rc < 0)
            break;
    }
    fts_close(fts);
    g_hash_table_destroy(seen);
    if (rc < 0)
        return hv_error_set_errno(HV_E_IO, err, NULL,
                                  "cannot walk the unpacked root file system to size its image");
    return 0;
}

/* mke2fs's path into `out`, or false: /sbin, /usr/sbin, then PATH. */
static bool find_mke2fs(char *out, size_t size)
{
    const char *path = getenv("PATH");
    char dirs[4096], *rest;

    snprintf(dirs, sizeof(dirs), "/sbin:/usr/sbin:%s", path ? path : "");
    for (char *dir = strtok_r(dirs, ":", &rest); dir; dir = strtok_r(NULL, ":", &rest)) {
        if ((size_t)snprintf(out, size, "%s/mke2fs", dir) < size && access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/* Run mke2fs: the tree at `root` into a new ext4 image at `image_path` of `size`. */
static int run_mke2fs(const char *root, const char *image_path, const tree_size *size)
{
    char program[4096], blocks[32], inodes[32], quoted[OUTPUT_SHOWN];
    /* 5/4 of the data and the inode table, and the headroom, in whole MiB */
    uint64_t inode_count = size->inodes + size->inodes / 4 + 1024;
    uint64_t bytes = (size->data_bytes + size->inodes * INODE_BYTES) / 4 * 5 + HEADROOM;
    char *argv[] = {program,
                    "-q",
                    "-F",
                    "-t",
                    "ext4",
                    "-b",
                    "4096",
                    "-N",
                    inodes,
                    "-m",
                    "0",
                    "-d",
                    (char *)root,
                    "-L",
                    "rootfs",
                    "-E",
                    "root_owner=0:0",
                    "-O",
                    "^has_journal",
                    (char *)image_path,
                    blocks,
                    NULL};
    gchar *out = NULL, *err = NULL;
    GError *error = NULL;
    int status = 0;

    if (!find_mke2fs(program, sizeof(program)))
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "mke2fs is not installed (it makes the ext4 images of containers' "
                            "root file systems): install the package e2fsprogs");
    snprintf(blocks, sizeof(blocks), "%lluk", (unsigned long long)(round_up(bytes, MIB) / 1024));
    snprintf(inodes, sizeof(inodes), "%llu", (unsigned long long)inode_count);
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error)) {
        hv_quote(quoted, sizeof(quoted), error->message);
        g_error_free(error);
        return hv_error_set(HV_E_IO, NULL, "cannot run %s: %s", program, quoted);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char *both = g_strconcat(out, err, NULL);

        hv_quote(quoted, sizeof(quoted), both);
        g_free(both);
        g_free(out);
        g_free(err);
        return hv_error_set(HV_E_IO, NULL,
                            "mke2fs could not make the root file system's image (%s %d): %s",
                            WIFEXITED(status) ? "exit" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), quoted);
    }
    g_free(out);
    g_free(err);
    return 0;
}

/* fsync the file `name` of dirfd (a directory: "."). */
static int sync_file(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

    if (fd < 0 || fsync(fd) < 0)
        rc = hv_error_set_errno(HV_E_IO, errno, name, "cannot write %s to disk", name);
    if (fd >= 0)
        close(fd);
    return rc;
}

/*
 * Make the image: unpack into the temporary directory temp_dir
 * (cache_dir/temp_name), measure, mke2fs, sync, rename into place.
 */
static int make_image(const hv_oci_image *image, int cachefd, const char *temp_dir,
                      const char *temp_name, const cache_names *names)
{
    char *root = hv_asprintf("%s/rootfs", temp_dir),
         *image_path = hv_asprintf("%s/image.ext4", temp_dir);
    tree_size size;
    int tempfd = -1, rc = 0;

    if (!root || !image_path)
        rc = HV_E_NOMEM;
    /* the file system's root directory: rwxr-xr-x whatever the umask */
    if (rc == 0 && (mkdir(root, 0755) < 0 || chmod(root, 0755) < 0))
        rc = hv_error_set_errno(HV_E_IO, errno, NULL, "cannot make a directory in the cache");
    if (rc == 0)
        rc = hv_oci_image_unpack(image, root, NULL, NULL);
    if (rc == 0)
        rc = measure_tree(root, &size);
    if (rc == 0)
        rc = run_mke2fs(root, image_path, &size);
    if (rc == 0 && (tempfd = openat(cachefd, temp_name, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        rc = hv_error_set_errno(HV_E_IO, errno, NULL, "cannot open a directory in the cache");
    if (rc == 0)
        rc = sync_file(tempfd, "image.ext4");
    if (rc == 0 && renameat(tempfd, "image.ext4", cachefd, names->image) < 0)
        rc = hv_error_set_errno(HV_E_IO, errno, names->image, "cannot rename the new image to %s",
                                names->image);
    if (rc == 0)
        rc = sync_file(cachefd, ".");
    if (tempfd >= 0)
        close(tempfd);
    free(root);
    free(image_path);
    return rc;
}

/* The image made under the lock, with its temporary directory removed whatever happens. */
static int make_image_in_cache(const hv_oci_image *image, const char *cache_dir, int cachefd,
                               const cache_names *names)
{
    char *temp_dir = hv_asprintf("%s/%sXXXXXX", cache_dir, names->temp_prefix);
    int rc, removed;

    if (!temp_dir)
        return HV_E_NOMEM;
    rc = remove_leftovers(cachefd, names->temp_prefix);
    if (rc == 0 && !mkdtemp(temp_dir))
        rc = hv_error_set_errno(HV_E_IO, errno, NULL,
                                "cannot make a temporary directory in the cache");
    if (rc < 0) {
        free(temp_dir);
        return rc;
    }
    rc = make_image(image, cachefd, temp_dir, strrchr(temp_dir, '/') + 1, names);
    removed = hv_fs_tree_remove(cachefd, strrchr(temp_dir, '/') + 1);
    if (rc == 0 && removed < 0)
        rc = hv_error_set_errno(HV_E_IO, -removed, temp_dir,
                                "the image is made, but its temporary directory cannot be "
                                "removed");
    free(temp_dir);
    return rc;
}

int hv_container_rootfs_image(const hv_oci_image *image, const char *cache_dir, char **path_out)
{
    const char *hex;
    cache_names names;
    int cachefd = -1, lockfd = -1, rc;

    HV_CHECK_ARG(path_out, "path_out");
    *path_out = NULL;
    HV_CHECK_ARG(image, "image");
    HV_CHECK_ARG(cache_dir && *cache_dir, "cache_dir");
    hex = hv_oci_image_digest(image) + strlen("sha256:");
    snprintf(names.image, sizeof(names.image), "rootfs-%s.ext4", hex);
    snprintf(names.lock, sizeof(names.lock), "rootfs-%s.lock", hex);
    snprintf(names.temp_prefix, sizeof(names.temp_prefix), "rootfs-%s.tmp-", hex);
    rc = open_cache_dir(cache_dir, &cachefd);
    if (rc == 0)
        rc = image_present(cachefd, cache_dir, names.image);
    if (rc == 0)
        rc = take_lock(cachefd, names.lock, &lockfd);
    /* another process may have made it while this one waited for the lock */
    if (rc == 0)
        rc = image_present(cachefd, cache_dir, names.image);
    if (rc == 0)
        rc = make_image_in_cache(image, cache_dir, cachefd, &names);
    if (lockfd >= 0)
        close(lockfd); /* and the lock with it */
    if (cachefd >= 0)
        close(cachefd);
    if (rc >= 0 && !(*path_out = hv_asprintf("%s/%s", cache_dir, names.image)))
        rc = HV_E_NOMEM;
    return rc < 0 ? rc : 0;
}

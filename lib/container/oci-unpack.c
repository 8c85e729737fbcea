/*
 * container/oci-unpack.c - an image's layers unpacked into a root file
 * system directory (hv_oci_image_unpack, see oci-image.h). Two passes:
 * the first reads every layer through, checking its digest and size, the
 * name of each entry and of each hard link's target, and the bounds, and
 * keeps the whiteouts; only then does the second apply, layer by layer,
 * its whiteouts and then its entries, with every path resolved beneath
 * the root (openat2 RESOLVE_BENEATH) and every file made with *at calls.
 * libarchive reads the archives; it writes nothing.
 */
#include "container/oci-image.h"
#include "container/fs-tree.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What is read from a layer blob at a time. */
#define READ_CHUNK (128 * 1024)

/* The most bytes of whiteout paths kept between the passes, all layers together. */
#define MAX_WHITEOUT_BYTES ((size_t)16 << 20)

/* The opaque whiteout: the directory it is in hides what lower layers put there. */
#define OPAQUE_NAME         ".wh..wh..opq"
#define WHITEOUT_PREFIX     ".wh."
#define WHITEOUT_PREFIX_LEN 4

/* A whiteout of one layer: remove `path`, or empty it when `opaque`. */
typedef struct whiteout {
    size_t layer;
    bool opaque;
    char *path; /* relative to the root, canonical ("" for the root itself) */
} whiteout;

typedef struct unpack {
    const hv_oci_image *image;
    int rootfd;
    bool as_root; /* owners are kept (else ignored, and modes made readable to us) */
    hv_oci_unpack_limits limits;
    hv_oci_unpack_stats stats;
    uint64_t checked_entries, checked_file_bytes; /* the first pass's counts */
    whiteout *whiteouts;
    size_t whiteout_count, whiteout_cap, whiteout_bytes;
    /* the layer being read */
    size_t layer_index;
    hv_oci_blob blob;
    int read_rc;         /* the blob's error, when reading it failed under libarchive */
    bool archive_broken; /* libarchive could not read the archive */
    char where[HV_OCI_DIGEST_SIZE + 32]; /* "layer 2 (sha256:...)" */
    unsigned char buffer[READ_CHUNK];
} unpack;

/* ---- names ---------------------------------------------------------------------------- */

/*
 * The archive name `raw` made relative and canonical into `out` (PATH_MAX
 * bytes): "./a//b/" is "a/b", the root is "". NULL, or why it is refused.
 */
static const char *canonical_name(const char *raw, char *out)
{
    size_t len = 0;

    if (raw[0] == '/')
        return "is absolute";
    while (*raw) {
        size_t n = strcspn(raw, "/");

        if (n == 2 && raw[0] == '.' && raw[1] == '.')
            return "has a '..' component";
        if (n > NAME_MAX)
            return "has a component longer than 255 bytes";
        if (n && !(n == 1 && raw[0] == '.')) {
            if (len + (len > 0) + n >= PATH_MAX)
                return "is longer than 4095 bytes";
            if (len)
                out[len++] = '/';
            memcpy(out + len, raw, n);
            len += n;
        }
        raw += n;
        raw += *raw == '/';
    }
    out[len] = '\0';
    return NULL;
}

/* The last component of a canonical path. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* The error for an entry of the layer being read: "layer N (digest): entry 'name' <what>". */
static int entry_error(const unpack *u, int code, const char *name, const char *what)
{
    char quoted[HV_QUOTE_SIZE * 2];

    hv_quote(quoted, sizeof(quoted), name);
    return hv_error_set(code, name, "%s: entry '%s' %s", u->where, quoted, what);
}

/* ---- reading layers --------------------------------------------------------------------- */

static la_ssize_t read_blob(struct archive *a, void *ctx, const void **data)
{
    unpack *u = ctx;
    ssize_t got = hv_oci_blob_read(&u->blob, u->buffer, sizeof(u->buffer));

    if (got < 0) {
        u->read_rc = (int)got;
        archive_set_error(a, EIO, "the layer blob could not be read");
        return -1;
    }
    *data = u->buffer;
    return got;
}

/* libarchive's failure as an error about the layer; a read error is kept as it was. */
static int archive_failed(unpack *u, struct archive *a)
{
    char quoted[HV_QUOTE_SIZE * 2];
    const char *text = archive_error_string(a);

    if (u->read_rc < 0)
        return u->read_rc;
    u->archive_broken = true;
    hv_quote(quoted, sizeof(quoted), text ? text : "unknown error");
    return hv_error_set(HV_E_IMAGE, u->where,
                        "%s (%s) is not a valid tar archive of its media type: %s (the layer is "
                        "damaged, or its media type is wrong: copy the image again)",
                        u->where, u->blob.path, quoted);
}

/* Open layer `index` for reading with libarchive, into *out. */
static int open_layer(unpack *u, size_t index, struct archive **out)
{
    const hv_oci_layer *layer = hv_oci_image_layer(u->image, index);
    struct archive *a;
    int rc, filter = ARCHIVE_OK;

    *out = NULL;
    u->layer_index = index;
    u->read_rc = 0;
    u->archive_broken = false;
    snprintf(u->where, sizeof(u->where), "layer %zu (%s)", index + 1, layer->digest);
    rc = hv_oci_blob_open(hv_oci_image_layout_fd(u->image), layer->digest, layer->size_bytes,
                          "the manifest", &u->blob);
    if (rc < 0)
        return rc;
    a = archive_read_new();
    if (!a)
        return hv_error_nomem();
    archive_read_support_format_tar(a);
    /* only filters compiled in: ARCHIVE_WARN means an external program would run */
    if (layer->compression == HV_OCI_TAR_GZIP)
        filter = archive_read_support_filter_gzip(a);
    else if (layer->compression == HV_OCI_TAR_ZSTD)
        filter = archive_read_support_filter_zstd(a);
    if (filter != ARCHIVE_OK) {
        archive_read_free(a);
        return hv_error_set(HV_E_UNSUPPORTED, u->where,
                            "%s: this libarchive cannot decompress %s layers itself: rebuild it "
                            "with zlib and libzstd, or copy the image with plain tar layers",
                            u->where, layer->compression == HV_OCI_TAR_GZIP ? "gzip" : "zstd");
    }
    if (archive_read_open(a, u, NULL, read_blob, NULL) != ARCHIVE_OK) {
        rc = archive_failed(u, a);
        archive_read_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* The next entry, 1 at the end of the archive, or the error. */
static int next_entry(unpack *u, struct archive *a, struct archive_entry **entry)
{
    int r = archive_read_next_header(a, entry);

    if (r == ARCHIVE_EOF)
        return 1;
    if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
        return 0;
    return archive_failed(u, a);
}

/*
 * Close the layer after reading it to `rc`: 1 when the archive was read to
 * its end, and then the blob's rest is read and its digest checked. An
 * archive libarchive could not read is checked too: a corrupt blob is
 * said to be one, rather than a bad archive.
 */
static int close_layer(unpack *u, struct archive *a, int rc)
{
    int finished = 0;

    if (a)
        archive_read_free(a);
    if (rc == 1 || (rc < 0 && u->archive_broken))
        finished = hv_oci_blob_finish(&u->blob);
    hv_oci_blob_close(&u->blob);
    if (finished < 0)
        return finished;
    return rc == 1 ? 0 : rc;
}

/* ---- the first pass: checking ------------------------------------------------------------- */

static int keep_whiteout(unpack *u, const char *path, bool opaque)
{
    size_t len = strlen(path);
    whiteout *w;

    if (len + 1 > MAX_WHITEOUT_BYTES - u->whiteout_bytes)
        return hv_error_set(HV_E_IMAGE, u->where,
                            "%s: the image's whiteouts name more than %zu bytes of paths: it is "
                            "not one this library unpacks",
                            u->where, MAX_WHITEOUT_BYTES);
    if (HV_ARRAY_RESERVE(u->whiteouts, u->whiteout_cap, u->whiteout_count + 1) < 0)
        return HV_E_NOMEM;
    w = &u->whiteouts[u->whiteout_count];
    w->path = hv_strdup(path);
    if (!w->path)
        return HV_E_NOMEM;
    w->layer = u->layer_index;
    w->opaque = opaque;
    u->whiteout_count++;
    u->whiteout_bytes += len + 1;
    return 0;
}

/* A whiteout entry (its base name starts with ".wh."): kept for the second pass. */
static int check_whiteout(unpack *u, const char *path)
{
    const char *base = base_name(path), *hidden = base + WHITEOUT_PREFIX_LEN;
    char target[PATH_MAX];
    size_t dir_len = (size_t)(base - path);

    if (!strcmp(base, OPAQUE_NAME)) {
        memcpy(target, path, dir_len);
        target[dir_len ? dir_len - 1 : 0] = '\0';
        return keep_whiteout(u, target, true);
    }
    if (!*hidden || !strcmp(hidden, ".") || !strcmp(hidden, ".."))
        return entry_error(u, HV_E_IMAGE, path,
                           "is a whiteout of '.', '..' or nothing: the layer is malformed");
    memcpy(target, path, dir_len);
    memcpy(target + dir_len, hidden, strlen(hidden) + 1);
    return keep_whiteout(u, target, false);
}

/* Count one more entry against the limit. */
static int count_entry(unpack *u, uint64_t *entries)
{
    if (++*entries > u->limits.max_entries)
        return hv_error_set(HV_E_IMAGE, u->where,
                            "%s: the image has more than %llu entries, the most unpacked: it is "
                            "not one this library unpacks",
                            u->where, (unsigned long long)u->limits.max_entries);
    return 0;
}

/* Count `add` more bytes of files against the limit. */
static int count_bytes(unpack *u, uint64_t *file_bytes, uint64_t add)
{
    if (add > u->limits.max_file_bytes - *file_bytes)
        return hv_error_set(HV_E_IMAGE, u->where,
                            "%s: the image's files hold more than %llu bytes, the most unpacked: "
                            "it is not one this library unpacks",
                            u->where, (unsigned long long)u->limits.max_file_bytes);
    *file_bytes += add;
    return 0;
}

/* The bytes an entry's contents declare (0 for what holds none). */
static uint64_t declared_bytes(struct archive_entry *entry)
{
    la_int64_t size = archive_entry_size(entry);

    return archive_entry_size_is_set(entry) && size > 0 ? (uint64_t)size : 0;
}

static int check_entry(unpack *u, struct archive_entry *entry)
{
    const char *raw = archive_entry_pathname(entry), *link = archive_entry_hardlink(entry);
    const char *why;
    char path[PATH_MAX], target[PATH_MAX];
    int rc = count_entry(u, &u->checked_entries);

    if (rc == 0)
        rc = count_bytes(u, &u->checked_file_bytes, declared_bytes(entry));
    if (rc < 0)
        return rc;
    if (!raw)
        return hv_error_set(HV_E_IMAGE, u->where,
                            "%s: an entry has no name: the layer is malformed", u->where);
    if ((why = canonical_name(raw, path))) {
        char message[128];

        snprintf(message, sizeof(message), "%s: the image is unsafe", why);
        return entry_error(u, HV_E_IMAGE, raw, message);
    }
    if (link && (why = canonical_name(link, target))) {
        char message[128];

        snprintf(message, sizeof(message), "is a hard link whose target %s: the image is unsafe",
                 why);
        return entry_error(u, HV_E_IMAGE, raw, message);
    }
    if (link && !target[0])
        return entry_error(u, HV_E_IMAGE, raw,
                           "is a hard link to the root directory: the layer is malformed");
    if (!link && archive_entry_filetype(entry) == AE_IFLNK) {
        const char *to = archive_entry_symlink(entry);

        if (!to || !*to)
            return entry_error(u, HV_E_IMAGE, raw,
                               "is a symlink with no target: the layer is malformed");
    }
    if (!path[0] && (link || archive_entry_filetype(entry) != AE_IFDIR))
        return entry_error(u, HV_E_IMAGE, raw,
                           "names the root directory, but is not a directory: the layer is "
                           "malformed");
    if (!strncmp(base_name(path), WHITEOUT_PREFIX, WHITEOUT_PREFIX_LEN))
        return check_whiteout(u, path);
    return 0;
}

/* The first pass over one layer. */
static int check_layer(unpack *u, size_t index)
{
    struct archive_entry *entry;
    struct archive *a;
    int rc = open_layer(u, index, &a);

    while (rc == 0 && (rc = next_entry(u, a, &entry)) == 0)
        rc = check_entry(u, entry);
    return close_layer(u, a, rc);
}

/* ---- the second pass: writing ------------------------------------------------------------ */

/* The error for a path that could not be resolved beneath the root (-errno in `err`). */
static int resolve_failed(unpack *u, const char *path, const char *on_the_way, int err)
{
    char message[PATH_MAX / 4], quoted[HV_QUOTE_SIZE];

    hv_quote(quoted, sizeof(quoted), on_the_way);
    if (err == -ENOTDIR || err == -ENOENT) {
        snprintf(message, sizeof(message),
                 "lies under '%s', which is not a directory (a file, or a symlink to nothing): "
                 "the layer is malformed",
                 quoted);
        return entry_error(u, HV_E_IMAGE, path, message);
    }
    if (err == -ELOOP) {
        snprintf(message, sizeof(message), "goes through '%s' and too many symlinks", quoted);
        return entry_error(u, HV_E_IMAGE, path, message);
    }
    if (err == -ENOSYS)
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "unpacking images needs openat2(2), which this kernel lacks: "
                            "it takes Linux 5.6 or later");
    return hv_error_set_errno(HV_E_IO, -err, path,
                              "%s: cannot resolve '%s' in the root file system", u->where, quoted);
}

/*
 * The error for `path`, whose directory `dir` leads out of the root: the
 * symlink it goes through is found and named.
 */
static int escape_error(unpack *u, const char *path, const char *dir)
{
    char prefix[PATH_MAX], target[PATH_MAX], message[PATH_MAX / 2];
    char qlink[HV_QUOTE_SIZE], qtarget[HV_QUOTE_SIZE];
    size_t len = 0;

    /* the shortest prefix of dir that leaves the root ends with the symlink */
    while (dir[len]) {
        int fd, parentfd;
        ssize_t n;
        char *slash;

        len += strcspn(dir + len, "/");
        memcpy(prefix, dir, len);
        prefix[len] = '\0';
        fd = hv_fs_open_beneath(u->rootfd, prefix, O_PATH, 0);
        if (fd >= 0) {
            close(fd);
            len += dir[len] == '/';
            continue;
        }
        if (fd != -EXDEV)
            break;
        slash = strrchr(prefix, '/');
        if (slash)
            *slash = '\0';
        parentfd =
            slash ? hv_fs_open_beneath(u->rootfd, prefix, O_PATH | O_DIRECTORY, 0) : dup(u->rootfd);
        if (slash)
            *slash = '/';
        if (parentfd < 0)
            break;
        n = readlinkat(parentfd, slash ? slash + 1 : prefix, target, sizeof(target) - 1);
        close(parentfd);
        if (n < 0)
            break;
        target[n] = '\0';
        snprintf(message, sizeof(message),
                 "goes through the symlink '%s' -> '%s' out of the root file system: the image "
                 "is unsafe",
                 hv_quote(qlink, sizeof(qlink), prefix),
                 hv_quote(qtarget, sizeof(qtarget), target));
        return entry_error(u, HV_E_IMAGE, path, message);
    }
    return entry_error(u, HV_E_IMAGE, path,
                       "goes through a symlink out of the root file system: the image is unsafe");
}

/* The directory `dir` (canonical, "" for the root) for `path`'s sake, opened O_PATH; or the error.
 */
static int open_dir(unpack *u, const char *path, const char *dir)
{
    int fd = hv_fs_open_beneath(u->rootfd, dir, O_PATH | O_DIRECTORY, 0);

    if (fd == -EXDEV)
        return escape_error(u, path, dir);
    return fd >= 0 ? fd : resolve_failed(u, path, dir, fd);
}

static mode_t dir_mode(const unpack *u, mode_t mode)
{
    return u->as_root ? mode : mode | S_IRWXU; /* we must go on writing into it, and read it */
}

/*
 * The directory `dir` for `path`, made, with the directories above it,
 * where it is missing; opened O_PATH.
 */
static int make_dir(unpack *u, const char *path, const char *dir)
{
    char prefix[PATH_MAX];
    size_t len = strlen(dir);
    int fd;

    memcpy(prefix, dir, len + 1);
    /* the longest prefix there is */
    for (;;) {
        fd = hv_fs_open_beneath(u->rootfd, prefix, O_PATH | O_DIRECTORY, 0);
        if (fd != -ENOENT || len == 0)
            break;
        while (len > 0 && prefix[len] != '/')
            len--;
        prefix[len] = '\0';
    }
    if (fd == -EXDEV)
        return escape_error(u, path, prefix);
    if (fd < 0)
        return resolve_failed(u, path, prefix, fd);
    /* and the rest made, one component at a time */
    while (dir[len]) {
        size_t start = len + (dir[len] == '/'), n = strcspn(dir + start, "/");
        char name[NAME_MAX + 1];
        int next;

        memcpy(name, dir + start, n);
        name[n] = '\0';
        len = start + n;
        /* rwxr-xr-x whatever the umask */
        if (mkdirat(fd, name, S_IRWXU) < 0 ? errno != EEXIST : fchmodat(fd, name, 0755, 0) < 0) {
            int err = errno;

            close(fd);
            return hv_error_set_errno(HV_E_IO, err, path, "%s: cannot make the directory '%.*s'",
                                      u->where, (int)len, dir);
        }
        next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        if (next < 0) {
            int err = errno == ELOOP ? ENOTDIR : errno; /* a symlink to nothing */

            memcpy(prefix, dir, len);
            prefix[len] = '\0';
            return resolve_failed(u, path, prefix, -err);
        }
        fd = next;
    }
    return fd;
}

/* Make room for a new `name` in parentfd: remove what is there (a directory with all in it). */
static int clear_place(unpack *u, int parentfd, const char *name, const char *path)
{
    int rc = hv_fs_tree_remove(parentfd, name);

    if (rc < 0)
        return hv_error_set_errno(HV_E_IO, -rc, path,
                                  "%s: cannot remove what is at '%s' to put "
                                  "the layer's entry there",
                                  u->where, path);
    return 0;
}

/* Owner (as root) and times of `name` in parentfd, not following a symlink there. */
static int set_owner_and_times(unpack *u, struct archive_entry *entry, int parentfd,
                               const char *name, const char *path)
{
    struct timespec times[2];

    if (u->as_root) {
        la_int64_t uid = archive_entry_uid(entry), gid = archive_entry_gid(entry);

        if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
            return entry_error(u, HV_E_IMAGE, path, "has an owner out of range");
        if (fchownat(parentfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
            return hv_error_set_errno(HV_E_IO, errno, path,
                                      "%s: cannot give '%s' the owner %lld:%lld", u->where, path,
                                      (long long)uid, (long long)gid);
    }
    if (!archive_entry_mtime_is_set(entry))
        return 0;
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = (time_t)archive_entry_mtime(entry);
    times[1].tv_nsec = archive_entry_mtime_nsec(entry);
    if (times[1].tv_nsec < 0 || times[1].tv_nsec > 999999999)
        times[1].tv_nsec = 0;
    /* a time the file system cannot hold is not worth refusing the image for */
    if (utimensat(parentfd, name, times, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL &&
        errno != EOVERFLOW)
        return hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot set the time of '%s'", u->where,
                                  path);
    return 0;
}

static int write_dir(unpack *u, struct archive_entry *entry, int parentfd, const char *name,
                     const char *path)
{
    mode_t mode = dir_mode(u, archive_entry_perm(entry) & 07777);
    struct stat st;
    int rc;

    if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
        /* a directory over something else replaces it; over a directory it merges */
        if ((rc = clear_place(u, parentfd, name, path)) < 0)
            return rc;
        if (mkdirat(parentfd, name, S_IRWXU) < 0)
            return hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot make the directory '%s'",
                                      u->where, path);
    }
    if ((rc = set_owner_and_times(u, entry, parentfd, name, path)) < 0)
        return rc;
    /* after the owner: changing it clears the set-user-ID and set-group-ID bits */
    if (fchmodat(parentfd, name, mode, 0) < 0)
        return hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot set the mode of '%s'", u->where,
                                  path);
    return 0;
}

/* The contents of a regular file entry into fd. */
static int write_contents(unpack *u, struct archive *a, struct archive_entry *entry, int fd,
                          const char *path)
{
    uint64_t size = declared_bytes(entry);
    const void *data;
    la_int64_t offset;
    size_t len;
    int r;

    while ((r = archive_read_data_block(a, &data, &len, &offset)) == ARCHIVE_OK) {
        if (offset < 0 || (uint64_t)offset > size || len > size - (uint64_t)offset)
            return entry_error(u, HV_E_IMAGE, path, "has more contents than its size");
        if ((r = count_bytes(u, &u->stats.file_bytes, len)) < 0)
            return r;
        for (size_t done = 0; done < len;) {
            ssize_t put = pwrite(fd, (const char *)data + done, len - done, offset + done);

            if (put < 0 && errno == EINTR)
                continue;
            if (put < 0)
                return hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot write '%s'", u->where,
                                          path);
            done += (size_t)put;
        }
    }
    if (r != ARCHIVE_EOF && r != ARCHIVE_WARN)
        return archive_failed(u, a);
    if (ftruncate(fd, (off_t)size) < 0) /* a sparse file's hole at its end */
        return hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot size '%s'", u->where, path);
    return 0;
}

static int write_file(unpack *u, struct archive *a, struct archive_entry *entry, int parentfd,
                      const char *name, const char *path)
{
    mode_t mode = archive_entry_perm(entry) & 07777;
    int fd, rc = clear_place(u, parentfd, name, path);

    if (rc < 0)
        return rc;
    fd = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                S_IRUSR | S_IWUSR);
    if (fd < 0)
        return hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot create '%s'", u->where, path);
    rc = write_contents(u, a, entry, fd, path);
    if (rc == 0)
        rc = set_owner_and_times(u, entry, parentfd, name, path);
    if (rc == 0 && fchmod(fd, u->as_root ? mode : mode | S_IRUSR) < 0)
        rc = hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot set the mode of '%s'", u->where,
                                path);
    close(fd);
    return rc;
}

static int write_symlink(unpack *u, struct archive_entry *entry, int parentfd, const char *name,
                         const char *path)
{
    int rc = clear_place(u, parentfd, name, path);

    if (rc < 0)
        return rc;
    /* the target is data: it is never followed here */
    if (symlinkat(archive_entry_symlink(entry), parentfd, name) < 0)
        return hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot make the symlink '%s'",
                                  u->where, path);
    return set_owner_and_times(u, entry, parentfd, name, path);
}

static int write_hardlink(unpack *u, struct archive_entry *entry, int parentfd, const char *name,
                          const char *path)
{
    char target[PATH_MAX], dir[PATH_MAX], message[PATH_MAX / 4], quoted[HV_QUOTE_SIZE];
    const char *target_name;
    struct stat st;
    int target_dirfd, rc;

    canonical_name(archive_entry_hardlink(entry), target); /* checked in the first pass */
    if (!strcmp(target, path))
        return 0;
    target_name = base_name(target);
    memcpy(dir, target, (size_t)(target_name - target));
    dir[target_name > target ? target_name - target - 1 : 0] = '\0';
    target_dirfd = open_dir(u, path, dir);
    if (target_dirfd < 0)
        return target_dirfd;
    hv_quote(quoted, sizeof(quoted), target);
    if (fstatat(target_dirfd, target_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode)) {
        close(target_dirfd);
        snprintf(message, sizeof(message),
                 "is a hard link to '%s', which is not a file of the layers so far", quoted);
        return entry_error(u, HV_E_IMAGE, path, message);
    }
    rc = clear_place(u, parentfd, name, path);
    if (rc == 0 && linkat(target_dirfd, target_name, parentfd, name, 0) < 0)
        rc = hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot link '%s' to '%s'", u->where,
                                path, quoted);
    close(target_dirfd);
    return rc;
}

static int write_entry(unpack *u, struct archive *a, struct archive_entry *entry)
{
    const char *name;
    char path[PATH_MAX], dir[PATH_MAX];
    unsigned int type = archive_entry_filetype(entry);
    int parentfd, rc;

    if ((rc = count_entry(u, &u->stats.entries)) < 0)
        return rc;
    canonical_name(archive_entry_pathname(entry), path); /* checked in the first pass */
    name = base_name(path);
    if (!path[0] || !strncmp(name, WHITEOUT_PREFIX, WHITEOUT_PREFIX_LEN))
        return 0; /* the root is there; whiteouts were applied before the layer */
    if (!archive_entry_hardlink(entry) && type != AE_IFREG && type != AE_IFDIR &&
        type != AE_IFLNK) {
        /* device nodes, FIFOs, sockets: the guest has devtmpfs */
        u->stats.skipped_devices++;
        return 0;
    }
    memcpy(dir, path, (size_t)(name - path));
    dir[name > path ? name - path - 1 : 0] = '\0';
    parentfd = make_dir(u, path, dir);
    if (parentfd < 0)
        return parentfd;
    if (archive_entry_hardlink(entry))
        rc = write_hardlink(u, entry, parentfd, name, path);
    else if (type == AE_IFDIR)
        rc = write_dir(u, entry, parentfd, name, path);
    else if (type == AE_IFLNK)
        rc = write_symlink(u, entry, parentfd, name, path);
    else
        rc = write_file(u, a, entry, parentfd, name, path);
    close(parentfd);
    return rc;
}

/* Apply the whiteout w: what lower layers put at its path goes. */
static int apply_whiteout(unpack *u, const whiteout *w)
{
    const char *name = base_name(w->path);
    char dir[PATH_MAX], entry[PATH_MAX + 16];
    int fd, rc;

    if (w->opaque) {
        memcpy(dir, w->path, strlen(w->path) + 1);
        name = NULL;
    } else {
        memcpy(dir, w->path, (size_t)(name - w->path));
        dir[name > w->path ? name - w->path - 1 : 0] = '\0';
    }
    /* the whiteout's entry, as the archive named it, for messages */
    snprintf(entry, sizeof(entry), "%s%s%s%s", dir, dir[0] ? "/" : "",
             name ? WHITEOUT_PREFIX : OPAQUE_NAME, name ? name : "");
    fd = hv_fs_open_beneath(u->rootfd, dir, O_PATH | O_DIRECTORY, 0);
    if (fd == -ENOENT || fd == -ENOTDIR)
        return 0; /* nothing below to hide */
    if (fd < 0)
        return fd == -EXDEV ? escape_error(u, entry, dir) : resolve_failed(u, entry, dir, fd);
    rc = name ? hv_fs_tree_remove(fd, name) : hv_fs_tree_clear(fd);
    close(fd);
    u->stats.whiteouts++;
    if (rc < 0)
        return hv_error_set_errno(HV_E_IO, -rc, w->path,
                                  "%s: cannot remove '%s' for the layer's whiteout", u->where,
                                  w->path);
    return 0;
}

/* The second pass over one layer: its whiteouts, then its entries. */
static int write_layer(unpack *u, size_t index)
{
    struct archive_entry *entry;
    struct archive *a;
    int rc = open_layer(u, index, &a);

    for (size_t i = 0; rc == 0 && i < u->whiteout_count; i++)
        if (u->whiteouts[i].layer == index)
            rc = apply_whiteout(u, &u->whiteouts[i]);
    while (rc == 0 && (rc = next_entry(u, a, &entry)) == 0)
        rc = write_entry(u, a, entry);
    /* a blob changed since the first pass is caught here: the caller removes what was written */
    return close_layer(u, a, rc);
}

/* ---- the image --------------------------------------------------------------------------- */

/* rootfs_dir, which must be an empty directory, opened O_PATH into *fd. */
static int open_rootfs(const char *rootfs_dir, int *fd)
{
    char quoted[HV_QUOTE_SIZE];
    struct dirent *de;
    DIR *dir;
    int listfd;

    hv_quote(quoted, sizeof(quoted), rootfs_dir);
    *fd = open(rootfs_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return hv_error_set_errno(errno == ENOENT ? HV_E_NOTFOUND : HV_E_IO, errno, rootfs_dir,
                                  "cannot open the root file system directory '%s'", quoted);
    listfd = openat(*fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dir = listfd >= 0 ? fdopendir(listfd) : NULL;
    if (!dir) {
        int err = errno;

        if (listfd >= 0)
            close(listfd);
        return hv_error_set_errno(HV_E_IO, err, rootfs_dir, "cannot list '%s'", quoted);
    }
    while ((de = readdir(dir)) && (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")))
        ;
    closedir(dir);
    if (de)
        return hv_error_set(HV_E_EXISTS, rootfs_dir,
                            "the root file system directory '%s' is not empty: unpack into a new, "
                            "empty one",
                            quoted);
    return 0;
}

int hv_oci_image_unpack(const hv_oci_image *image, const char *rootfs_dir,
                        const hv_oci_unpack_limits *limits, hv_oci_unpack_stats *stats_out)
{
    unpack *u;
    int rc;

    HV_CHECK_ARG(image, "image");
    HV_CHECK_ARG(rootfs_dir, "rootfs_dir");
    u = hv_calloc(1, sizeof(*u));
    if (!u)
        return HV_E_NOMEM;
    u->image = image;
    u->as_root = geteuid() == 0;
    u->blob.fd = -1;
    u->limits.max_file_bytes =
        limits && limits->max_file_bytes ? limits->max_file_bytes : HV_OCI_DEFAULT_MAX_FILE_BYTES;
    u->limits.max_entries =
        limits && limits->max_entries ? limits->max_entries : HV_OCI_DEFAULT_MAX_ENTRIES;
    rc = open_rootfs(rootfs_dir, &u->rootfd);
    /* every layer checked before anything is written */
    for (size_t i = 0; rc == 0 && i < hv_oci_image_layer_count(image); i++)
        rc = check_layer(u, i);
    for (size_t i = 0; rc == 0 && i < hv_oci_image_layer_count(image); i++)
        rc = write_layer(u, i);
    if (rc == 0 && stats_out)
        *stats_out = u->stats;
    if (u->rootfd >= 0)
        close(u->rootfd);
    for (size_t i = 0; i < u->whiteout_count; i++)
        free(u->whiteouts[i].path);
    free(u->whiteouts);
    free(u);
    return rc;
}

/*
 * libvirt/save-image.c - the QEMU driver's save images, for linked clones
 * that start from a suspended parent's memory: where the connection keeps
 * managed save images, reading and checking one (a file from outside:
 * every length is checked before use), and writing a copy whose domain XML
 * names another domain, QEMU's stream copied as it is.
 *
 * The image (libvirt's src/qemu/qemu_saveimage.h, unchanged since libvirt
 * 3.x): a 92-byte header - magic[16], then in the host's byte order
 * version, data_len, was_running, compressed, cookie_offset and 14 unused
 * words - then data_len bytes holding the domain XML (NUL-terminated), from
 * cookie_offset the cookie XML (NUL-terminated; version 2), then padding;
 * QEMU's migration stream follows, to the end of the file.
 */
#include "libvirt/save-image.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/uri.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC         "LibvirtQemudSave"
#define MAGIC_PARTIAL "LibvirtQemudPart"
#define MAGIC_BYTES   16

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v)); /* the host's byte order, as libvirt writes it */
    return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* The value of query parameter `key` in `query` ("a=b&root=/x"), URI-unescaped, or NULL. */
static char *query_value(const char *query, const char *key)
{
    size_t klen = strlen(key);

    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
            return xmlURIUnescapeString(p + klen + 1, (int)(len - klen - 1), NULL);
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

int hv_libvirt_managed_save_dir(virConnectPtr conn, char *out, size_t size)
{
    char *uri_text = virConnectGetURI(conn), quoted[HV_QUOTE_SIZE];
    xmlURIPtr uri = uri_text ? xmlParseURI(uri_text) : NULL;
    const char *home = getenv("HOME"), *config = getenv("XDG_CONFIG_HOME");
    char *root = NULL;
    int rc = 0;

    if (!uri) {
        rc = hv_error_set(HV_E_BACKEND, NULL, "libvirt gave a connection URI that does not parse");
    } else if (!uri->scheme || strcmp(uri->scheme, "qemu") != 0 || (uri->server && *uri->server)) {
        rc = hv_error_set(HV_E_UNSUPPORTED, NULL,
                          "%s keeps no save image on this host that hpcvirt can read: clones "
                          "start from a parent's memory with libvirt's QEMU driver on this host "
                          "(qemu:///system, qemu:///session, qemu:///embed)",
                          hv_quote(quoted, sizeof(quoted), uri_text));
    } else if (uri->path && strcmp(uri->path, "/embed") == 0 &&
               (root = query_value(uri->query_raw, "root")) && root[0] == '/') {
        hv_format(out, size, "%s/lib/qemu/save", root);
    } else if (uri->path && strcmp(uri->path, "/system") == 0) {
        hv_format(out, size, "/var/lib/libvirt/qemu/save");
    } else if (uri->path && strcmp(uri->path, "/session") == 0 &&
               ((config && config[0] == '/') || (home && home[0] == '/'))) {
        if (config && config[0] == '/')
            hv_format(out, size, "%s/libvirt/qemu/save", config);
        else
            hv_format(out, size, "%s/.config/libvirt/qemu/save", home);
    } else {
        rc = hv_error_set(HV_E_UNSUPPORTED, NULL,
                          "%s: hpcvirt does not know where this QEMU driver keeps its save images",
                          hv_quote(quoted, sizeof(quoted), uri_text));
    }
    free(root);
    xmlFreeURI(uri);
    free(uri_text);
    return rc;
}

static int refuse(const char *path, const char *what)
{
    char quoted[HV_QUOTE_SIZE];

    return hv_error_set(HV_E_SNAPSHOT, path, "the save image %s %s",
                        hv_quote(quoted, sizeof(quoted), path), what);
}

void hv_libvirt_save_image_close(hv_libvirt_save_image *image)
{
    if (image->fd >= 0)
        close(image->fd);
    free(image->xml);
    free(image->cookie);
    memset(image, 0, sizeof(*image));
    image->fd = -1;
}

/* Read exactly `bytes` at `offset`; false on a short read. */
static bool read_at(int fd, void *buf, size_t bytes, uint64_t offset)
{
    for (size_t done = 0; done < bytes;) {
        ssize_t n = pread(fd, (char *)buf + done, bytes - done, (off_t)(offset + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

int hv_libvirt_save_image_open(const char *path, hv_libvirt_save_image *image)
{
    uint8_t header[HV_LIBVIRT_SAVE_HEADER_BYTES];
    uint32_t data_bytes, cookie_offset;
    char quoted[HV_QUOTE_SIZE], *data = NULL;
    const char *nul;
    struct stat st;
    int rc = 0;

    memset(image, 0, sizeof(*image));
    image->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO does not block */
    if (image->fd < 0)
        return hv_error_set_errno(errno == ENOENT                     ? HV_E_NOTFOUND
                                  : errno == EACCES || errno == EPERM ? HV_E_PERM
                                                                      : HV_E_IO,
                                  errno, path, "cannot open the save image %s",
                                  hv_quote(quoted, sizeof(quoted), path));
    if (fstat(image->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = refuse(path, "is not a regular file");
        goto out;
    }
    image->file_bytes = (uint64_t)st.st_size;
    if (image->file_bytes < sizeof(header) || !read_at(image->fd, header, sizeof(header), 0)) {
        rc = refuse(path, "is shorter than its 92-byte header");
        goto out;
    }
    if (memcmp(header, MAGIC_PARTIAL, MAGIC_BYTES) == 0) {
        rc = refuse(path, "was never finished (libvirt's magic for a partial image)");
        goto out;
    }
    if (memcmp(header, MAGIC, MAGIC_BYTES) != 0) {
        rc = refuse(path, "is not one of libvirt's QEMU save images (its magic)");
        goto out;
    }
    image->version = get_u32(header + 16);
    data_bytes = get_u32(header + 20);
    image->was_running = get_u32(header + 24);
    image->compressed = get_u32(header + 28);
    cookie_offset = get_u32(header + 32);
    if (image->version != 1 && image->version != 2) {
        rc = refuse(path, "has a header version other than 1 and 2 (newer, or written on a host "
                          "of the other byte order)");
        goto out;
    }
    if (data_bytes == 0) {
        rc = refuse(path, "has no room for a domain XML (its data length is 0)");
        goto out;
    }
    if (data_bytes > HV_LIBVIRT_SAVE_DATA_MAX) {
        rc = refuse(path, "says its domain XML is longer than 16 MiB");
        goto out;
    }
    if (data_bytes > image->file_bytes - sizeof(header)) {
        rc = refuse(path, "says its domain XML goes past the end of the file");
        goto out;
    }
    if (image->version == 1 ? cookie_offset != 0
                            : cookie_offset != 0 && cookie_offset >= data_bytes) {
        rc = refuse(path, "has its cookie outside the XML's bytes");
        goto out;
    }
    data = hv_calloc(1, (size_t)data_bytes + 1);
    if (!data) {
        rc = HV_E_NOMEM;
        goto out;
    }
    if (!read_at(image->fd, data, data_bytes, sizeof(header))) {
        rc = refuse(path, "ends inside its domain XML");
        goto out;
    }
    data[data_bytes] = '\0';
    nul = memchr(data, '\0', cookie_offset ? cookie_offset : data_bytes);
    if (nul == data) {
        rc = refuse(path, "has an empty domain XML");
        goto out;
    }
    if (!nul) {
        rc = refuse(path, "has no domain XML ending before its cookie");
        goto out;
    }
    if (cookie_offset && !memchr(data + cookie_offset, '\0', data_bytes - cookie_offset)) {
        rc = refuse(path, "has a cookie that does not end inside the XML's bytes");
        goto out;
    }
    image->xml = hv_strdup(data);
    image->cookie = hv_strdup(cookie_offset ? data + cookie_offset : "");
    if (!image->xml || !image->cookie) {
        rc = HV_E_NOMEM;
        goto out;
    }
    image->data_bytes = data_bytes;
    image->stream_offset = sizeof(header) + (uint64_t)data_bytes;
out:
    free(data);
    if (rc < 0)
        hv_libvirt_save_image_close(image);
    return rc;
}

/* Write all of buf; false on an error (errno set). */
static bool write_all(int fd, const void *buf, size_t bytes)
{
    for (size_t done = 0; done < bytes;) {
        ssize_t n = write(fd, (const char *)buf + done, bytes - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

/* Copy `from`'s bytes from `offset` to its end onto the end of `to`; false on an error. */
static bool copy_stream(int from, uint64_t offset, uint64_t end, int to)
{
    loff_t in = (loff_t)offset;
    char buf[1 << 16];

    while ((uint64_t)in < end) {
        ssize_t n = copy_file_range(from, &in, to, NULL, (size_t)(end - (uint64_t)in), 0);

        if (n > 0)
            continue;
        if (n == 0)
            return false; /* the file shrank */
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return false;
        /* not between these files: read and write */
        for (;;) {
            size_t want =
                end - (uint64_t)in < sizeof(buf) ? (size_t)(end - (uint64_t)in) : sizeof(buf);
            ssize_t r = want ? pread(from, buf, want, in) : 0;

            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 || (r == 0 && want))
                return false;
            if (r == 0)
                return true;
            if (!write_all(to, buf, (size_t)r))
                return false;
            in += r;
        }
    }
    return true;
}

/* fsync the folder holding `path`, so that a rename into it lasts. */
static void sync_folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? hv_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int hv_libvirt_save_image_write_as(const hv_libvirt_save_image *image, const char *xml,
                                   const char *path)
{
    uint8_t header[HV_LIBVIRT_SAVE_HEADER_BYTES] = {0};
    /* a version-2 image without a cookie stays without one (libvirt would parse "" as XML) */
    size_t xml_bytes = strlen(xml) + 1,
           cookie_bytes = image->version == 2 && image->cookie[0] ? strlen(image->cookie) + 1 : 0,
           data_bytes = image->data_bytes;
    uint8_t *data;
    char *tmp, quoted[HV_QUOTE_SIZE];
    int fd, saved;
    bool ok;

    /*
     * The XML and cookie go where the old ones were, padded with zeros to the old length
     * when they fit (libvirt leaves room for that), so QEMU's stream stays at its offset:
     * a stream that records file offsets (a format past libvirt 9.0's five, such as
     * mapped-ram) must not move. Only one of the five may move, when they do not fit.
     */
    if (xml_bytes + cookie_bytes > data_bytes) {
        if (image->compressed > HV_LIBVIRT_SAVE_FORMAT_LAST_MOVABLE)
            return hv_error_set(HV_E_UNSUPPORTED, NULL,
                                "the clone's domain XML (%zu bytes) does not fit the %zu bytes "
                                "the save image has for it, and the image's format (%u) keeps "
                                "file offsets: its stream cannot move",
                                xml_bytes, data_bytes, image->compressed);
        data_bytes = xml_bytes + cookie_bytes;
    }
    if (data_bytes > HV_LIBVIRT_SAVE_DATA_MAX)
        return hv_error_set(HV_E_RANGE, NULL,
                            "a domain XML of %zu bytes is more than a save image holds here",
                            xml_bytes);
    if (!(data = hv_calloc(1, data_bytes)))
        return HV_E_NOMEM;
    memcpy(data, xml, xml_bytes);
    if (cookie_bytes)
        memcpy(data + xml_bytes, image->cookie, cookie_bytes);
    memcpy(header, MAGIC, MAGIC_BYTES);
    put_u32(header + 16, image->version);
    put_u32(header + 20, (uint32_t)data_bytes);
    put_u32(header + 24, image->was_running);
    put_u32(header + 28, image->compressed);
    put_u32(header + 32, cookie_bytes ? (uint32_t)xml_bytes : 0);
    if (!(tmp = hv_asprintf("%s.XXXXXX", path))) {
        free(data);
        return HV_E_NOMEM;
    }
    fd = mkostemp(tmp, O_CLOEXEC); /* 0600 */
    if (fd < 0) {
        saved = errno;
        free(tmp);
        free(data);
        return hv_error_set_errno(saved == EACCES || saved == EPERM ? HV_E_PERM : HV_E_IO, saved,
                                  path, "cannot create a save image beside %s",
                                  hv_quote(quoted, sizeof(quoted), path));
    }
    errno = EIO; /* a source that shrank while it was copied sets none */
    ok = write_all(fd, header, sizeof(header)) && write_all(fd, data, data_bytes) &&
         copy_stream(image->fd, image->stream_offset, image->file_bytes, fd) && fsync(fd) == 0;
    saved = errno;
    free(data);
    if (close(fd) < 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) < 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        free(tmp);
        return hv_error_set_errno(HV_E_IO, saved, path, "cannot write the save image %s",
                                  hv_quote(quoted, sizeof(quoted), path));
    }
    sync_folder_of(path);
    free(tmp);
    return 0;
}

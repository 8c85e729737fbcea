/*
 * fuzz/fuzz-libvirt-save-image.c - libFuzzer target for libvirt's QEMU save
 * images (hv_libvirt_save_image_open() and _write_as() in
 * lib/libvirt/save-image.h, docs/backends.md "Linked clones"): a linked
 * clone reads its suspended parent's managed save image and writes a copy
 * that names the clone, QEMU's stream copied as it is.
 *
 * The input is the image file as it is (a real one starts
 * "LibvirtQemudSave", then the header's words in this host's byte order).
 * Invariants: a refused image is closed (no descriptor, no XML, no cookie)
 * and the error, which is the return, is HV_E_SNAPSHOT (or HV_E_NOMEM) with
 * a printable message. An accepted one is version 1 or 2, has the header's
 * was_running and compressed, a non-empty XML shorter than its data length
 * and equal to the bytes after the header, a cookie equal to the bytes at
 * the cookie's offset ("" for none), and its stream right after the data,
 * inside the file. Its copy with the XML "<domain/>" is written, opens
 * again with that XML and the same cookie, version, was_running and
 * compressed, and holds the same stream bytes, at the same offset when the
 * XML and cookie fit their old room; when they do not, an image of a format
 * past libvirt 9.0's five is refused (HV_E_UNSUPPORTED, no file), since its
 * stream may keep file offsets. Nothing crashes, nothing
 * leaks (memory, descriptors).
 *
 * The files go in a directory under /dev/shm when there is one (the copy's
 * fsync is free on tmpfs), else under /tmp; both are removed after each
 * input, the directory at exit.
 */
#include "fuzz.h"
#include "core/text.h"
#include "libvirt/save-image.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hpcvirt/error.h>

#define HEADER HV_LIBVIRT_SAVE_HEADER_BYTES

static char work_dir[64], image_path[96], copy_path[96];

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* The lowest free descriptor: the same before and after means nothing leaked one. */
static int lowest_free_fd(void)
{
    int fd = dup(0);

    CHECK(fd >= 0);
    close(fd);
    return fd;
}

static bool printable(const char *text)
{
    return hv_text_unprintable_at(text, strlen(text)) == strlen(text);
}

static void remove_work_dir(void)
{
    unlink(image_path);
    unlink(copy_path);
    rmdir(work_dir);
}

static void make_work_dir(void)
{
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";

    snprintf(work_dir, sizeof(work_dir), "%s/hv-fuzz-save-image.XXXXXX", base);
    if (!mkdtemp(work_dir)) {
        snprintf(work_dir, sizeof(work_dir), "/tmp/hv-fuzz-save-image.XXXXXX");
        CHECK(mkdtemp(work_dir) != NULL);
    }
    snprintf(image_path, sizeof(image_path), "%s/image.save", work_dir);
    snprintf(copy_path, sizeof(copy_path), "%s/copy.save", work_dir);
    atexit(remove_work_dir);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    CHECK(fd >= 0);
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);

        CHECK(n > 0);
        done += (size_t)n;
    }
    CHECK(close(fd) == 0);
}

/* The bytes of `path` from `offset` to its end are the input's from `from` to its end. */
static void check_same_stream(const char *path, uint64_t offset, const uint8_t *data, size_t size,
                              uint64_t from)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t bytes = size - (size_t)from;
    uint8_t *got = malloc(bytes + 1);
    struct stat st;

    CHECK(fd >= 0 && got);
    CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == offset + bytes);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(pread(fd, got, bytes + 1, (off_t)offset) == (ssize_t)bytes);
    CHECK(memcmp(got, data + from, bytes) == 0);
    free(got);
    close(fd);
}

static void check_refused(int rc, const hv_libvirt_save_image *image)
{
    CHECK(rc < 0);
    CHECK(image->fd == -1 && image->xml == NULL && image->cookie == NULL);
    CHECK(rc == HV_E_SNAPSHOT || rc == HV_E_NOMEM);
    CHECK(hv_error_code_of(hv_error_last()) == rc);
    CHECK(printable(hv_error_message(hv_error_last())));
    if (rc == HV_E_SNAPSHOT)
        CHECK(strstr(hv_error_message(hv_error_last()), "the save image ") != NULL);
}

/* An accepted image against the input's bytes. */
static void check_accepted(const hv_libvirt_save_image *image, const uint8_t *data, size_t size)
{
    uint32_t data_len, cookie_offset;
    size_t xml_len;

    CHECK(size >= HEADER && memcmp(data, "LibvirtQemudSave", 16) == 0);
    data_len = get_u32(data + 20);
    cookie_offset = get_u32(data + 32);
    CHECK(image->fd >= 0 && image->xml && image->cookie);
    CHECK(image->version == 1 || image->version == 2);
    CHECK(image->version == get_u32(data + 16));
    CHECK(image->was_running == get_u32(data + 24));
    CHECK(image->compressed == get_u32(data + 28));
    CHECK(image->file_bytes == size);
    CHECK(data_len > 0 && data_len <= HV_LIBVIRT_SAVE_DATA_MAX);
    CHECK(image->stream_offset == (uint64_t)HEADER + data_len);
    CHECK(image->stream_offset <= image->file_bytes);
    xml_len = strlen(image->xml);
    CHECK(xml_len > 0 && xml_len < data_len);
    CHECK(memcmp(image->xml, data + HEADER, xml_len + 1) == 0);
    if (cookie_offset == 0) {
        CHECK(image->cookie[0] == '\0');
    } else {
        size_t cookie_len = strlen(image->cookie);

        CHECK(image->version == 2 && cookie_offset > xml_len && cookie_offset < data_len);
        CHECK(cookie_len < data_len - cookie_offset);
        CHECK(memcmp(image->cookie, data + HEADER + cookie_offset, cookie_len + 1) == 0);
    }
}

/* The copy with XML "<domain/>": the same but for the XML. */
static void check_copy(const hv_libvirt_save_image *image, const uint8_t *data, size_t size)
{
    hv_libvirt_save_image copy;
    size_t need = sizeof("<domain/>") + (image->cookie[0] ? strlen(image->cookie) + 1 : 0);
    int rc;

    hv_error_clear();
    rc = hv_libvirt_save_image_write_as(image, "<domain/>", copy_path);
    if (need > image->data_bytes && image->compressed > HV_LIBVIRT_SAVE_FORMAT_LAST_MOVABLE) {
        /* a stream of a later format may keep file offsets: it must not move */
        CHECK(rc == HV_E_UNSUPPORTED && access(copy_path, F_OK) != 0);
        return;
    }
    CHECK(rc == 0);
    CHECK(hv_libvirt_save_image_open(copy_path, &copy) == 0);
    /* in its old room when it fits: the stream where it was */
    CHECK(need > image->data_bytes || copy.stream_offset == image->stream_offset);
    CHECK(strcmp(copy.xml, "<domain/>") == 0);
    CHECK(strcmp(copy.cookie, image->cookie) == 0);
    CHECK(copy.version == image->version);
    CHECK(copy.was_running == image->was_running);
    CHECK(copy.compressed == image->compressed);
    CHECK(copy.file_bytes - copy.stream_offset == image->file_bytes - image->stream_offset);
    check_same_stream(copy_path, copy.stream_offset, data, size, image->stream_offset);
    hv_libvirt_save_image_close(&copy);
    CHECK(copy.fd == -1 && copy.xml == NULL && copy.cookie == NULL);
    CHECK(unlink(copy_path) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int free_fd = lowest_free_fd();
    hv_libvirt_save_image image;
    int rc;

    if (!work_dir[0])
        make_work_dir();
    write_file(image_path, data, size);
    hv_error_clear();
    rc = hv_libvirt_save_image_open(image_path, &image);
    if (rc != 0) {
        check_refused(rc, &image);
    } else {
        check_accepted(&image, data, size);
        check_copy(&image, data, size);
        hv_libvirt_save_image_close(&image);
        CHECK(image.fd == -1 && image.xml == NULL && image.cookie == NULL);
    }
    CHECK(unlink(image_path) == 0);
    CHECK(lowest_free_fd() == free_fd);
    return 0;
}

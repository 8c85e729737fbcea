/*
 * tests/libvirt/test-save-image.c - libvirt's QEMU save images
 * (libvirt/save-image.h), made byte by byte in a temporary directory:
 * version 2 and version 1 images opened, copies with a longer and a shorter
 * domain XML written and opened again (the header's fields, the cookie and
 * QEMU's stream as they were, mode 0600, no temporary file left), and every
 * check the reader makes refusing a file that breaks it. Real images, made
 * by QEMU through libvirt, are tests/backend/test-libvirt-embed.c's (linked
 * clones started from a managed save image): starting QEMU here would be
 * too slow for a unit test.
 */
#include "hv-test.h"
#include "libvirt/save-image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER HV_LIBVIRT_SAVE_HEADER_BYTES
#define MAGIC  "LibvirtQemudSave"
#define XML    "<domain type='kvm'><name>parent</name><memory>1048576</memory></domain>"
#define COOKIE "<cookie><cpu mode='custom' match='exact'><model>Skylake</model></cpu></cookie>"
#define PAD    64 /* zeros after the cookie, as libvirt leaves room to edit the XML */
#define STREAM 5000

static char dir[64];
static uint8_t stream[STREAM]; /* QEMU's "stream": every byte value, NULs too */

/* ---- images, byte by byte ---------------------------------------------------------------- */

/* What goes in a file: the header's fields, the bytes after it, the stream. */
typedef struct image_spec {
    const char *magic; /* 16 bytes */
    uint32_t version, data_len, was_running, compressed, cookie_offset;
    const void *data; /* the bytes after the header */
    size_t data_bytes;
    bool stream; /* QEMU's stream after them */
} image_spec;

static void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v)); /* the host's byte order, as libvirt writes it */
}

/* The path of `name` in the test's directory (one of 16 static buffers, used in turn). */
static const char *path_of(const char *name)
{
    static char path[16][128];
    static unsigned which;

    which = (which + 1) % 16;
    snprintf(path[which], sizeof(path[which]), "%s/%s", dir, name);
    return path[which];
}

static void write_file(const char *path, const void *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* The file `name` in the test's directory, as `s` says; its path. */
static const char *write_image(const char *name, const image_spec *s)
{
    size_t len = HEADER + s->data_bytes + (s->stream ? STREAM : 0);
    uint8_t *bytes = calloc(1, len);
    const char *path = path_of(name);

    assert_non_null(bytes);
    memcpy(bytes, s->magic, 16);
    put_u32(bytes + 16, s->version);
    put_u32(bytes + 20, s->data_len);
    put_u32(bytes + 24, s->was_running);
    put_u32(bytes + 28, s->compressed);
    put_u32(bytes + 32, s->cookie_offset);
    put_u32(bytes + 36, 0xdeadbeef); /* unused[0]: not read */
    memcpy(bytes + HEADER, s->data, s->data_bytes);
    if (s->stream)
        memcpy(bytes + HEADER + s->data_bytes, stream, STREAM);
    write_file(path, bytes, len);
    free(bytes);
    return path;
}

/* XML, then the cookie (none when `cookie` is NULL), then PAD zeros; the data's length. */
static size_t make_data(char *data, size_t size, const char *xml, const char *cookie,
                        uint32_t *cookie_offset)
{
    size_t xml_bytes = strlen(xml) + 1, cookie_bytes = cookie ? strlen(cookie) + 1 : 0;

    assert_true(xml_bytes + cookie_bytes + PAD <= size);
    memset(data, 0, size);
    memcpy(data, xml, xml_bytes);
    if (cookie)
        memcpy(data + xml_bytes, cookie, cookie_bytes);
    *cookie_offset = cookie ? (uint32_t)xml_bytes : 0;
    return xml_bytes + cookie_bytes + PAD;
}

/*
 * *s: a valid image of `version` (was running, not compressed, the stream
 * after its data) whose data, in data[size], is XML and `cookie` (NULL: none).
 */
static void valid_spec(image_spec *s, char *data, size_t size, uint32_t version, const char *cookie)
{
    uint32_t cookie_offset;
    size_t len = make_data(data, size, XML, cookie, &cookie_offset);

    *s = (image_spec){.magic = MAGIC,
                      .version = version,
                      .data_len = (uint32_t)len,
                      .was_running = 1,
                      .cookie_offset = cookie_offset,
                      .data = data,
                      .data_bytes = len,
                      .stream = true};
}

/* A valid version 2 image with XML and COOKIE, was_running and compressed as given. */
static const char *write_v2(const char *name, uint32_t was_running, uint32_t compressed)
{
    char data[512];
    image_spec s;

    valid_spec(&s, data, sizeof(data), 2, COOKIE);
    s.was_running = was_running;
    s.compressed = compressed;
    return write_image(name, &s);
}

/* A valid version 1 image with XML (no cookie). */
static const char *write_v1(const char *name)
{
    char data[512];
    image_spec s;

    valid_spec(&s, data, sizeof(data), 1, NULL);
    return write_image(name, &s);
}

static void assert_closed(const hv_libvirt_save_image *image)
{
    assert_int_equal(image->fd, -1);
    assert_null(image->xml);
    assert_null(image->cookie);
}

/* The image at `path` is refused with HV_E_SNAPSHOT, its message saying `why`. */
static void assert_refused(const char *path, const char *why)
{
    hv_libvirt_save_image image;

    hv_error_clear();
    assert_hv_error(hv_libvirt_save_image_open(path, &image), HV_E_SNAPSHOT);
    assert_error_mentions(why);
    assert_error_mentions(path);
    assert_closed(&image);
}

/* The bytes of `path` from `offset` to its end are QEMU's stream, as written. */
static void assert_stream(const char *path, uint64_t offset)
{
    uint8_t got[STREAM + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal((uint64_t)st.st_size, offset + STREAM);
    assert_int_equal(pread(fd, got, sizeof(got), (off_t)offset), STREAM);
    assert_memory_equal(got, stream, STREAM);
    close(fd);
}

/* Nothing in the directory but the named files (no temporary file left behind). */
static void assert_only(const char *const *names, size_t count)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d))) {
        bool known = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;

        for (size_t i = 0; i < count; i++)
            known |= strcmp(e->d_name, names[i]) == 0;
        if (!known)
            fail_msg("an unexpected file in %s: %s", dir, e->d_name);
    }
    closedir(d);
}

/* ---- images that open --------------------------------------------------------------------- */

static void test_open_v2(void **state)
{
    const char *path = write_v2("v2.save", 1, 0);
    hv_libvirt_save_image image;
    uint32_t offset;
    char data[512];
    size_t len = make_data(data, sizeof(data), XML, COOKIE, &offset);

    (void)state;
    assert_hv_ok(hv_libvirt_save_image_open(path, &image));
    assert_true(image.fd >= 0);
    assert_string_equal(image.xml, XML);
    assert_string_equal(image.cookie, COOKIE);
    assert_int_equal(image.version, 2);
    assert_int_equal(image.was_running, 1);
    assert_int_equal(image.compressed, 0);
    assert_int_equal(image.stream_offset, HEADER + len);
    assert_int_equal(image.file_bytes, HEADER + len + STREAM);
    assert_stream(path, image.stream_offset);
    hv_libvirt_save_image_close(&image);
    assert_closed(&image);
    hv_libvirt_save_image_close(&image); /* twice is harmless */
    assert_int_equal(unlink(path), 0);
}

static void test_open_v1(void **state)
{
    const char *path = write_v1("v1.save");
    hv_libvirt_save_image image;

    (void)state;
    assert_hv_ok(hv_libvirt_save_image_open(path, &image));
    assert_string_equal(image.xml, XML);
    assert_string_equal(image.cookie, "");
    assert_int_equal(image.version, 1);
    assert_int_equal(image.was_running, 1);
    assert_int_equal(image.stream_offset, HEADER + strlen(XML) + 1 + PAD);
    hv_libvirt_save_image_close(&image);
    assert_int_equal(unlink(path), 0);
}

/* A version 2 image whose cookie_offset is 0 (no cookie) opens with cookie "". */
static void test_open_v2_without_cookie(void **state)
{
    char data[512];
    image_spec s;
    const char *path;
    hv_libvirt_save_image image;

    (void)state;
    valid_spec(&s, data, sizeof(data), 2, NULL);
    path = write_image("v2-no-cookie.save", &s);
    assert_hv_ok(hv_libvirt_save_image_open(path, &image));
    assert_string_equal(image.xml, XML);
    assert_string_equal(image.cookie, "");
    /* a copy stays without a cookie (cookie_offset 0): libvirt would parse "" as XML */
    {
        uint8_t header[HEADER];
        uint32_t cookie_offset;
        FILE *f;

        assert_hv_ok(hv_libvirt_save_image_write_as(&image, "<domain/>", path_of("nc.save")));
        f = fopen(path_of("nc.save"), "rb");
        assert_non_null(f);
        assert_int_equal(fread(header, 1, sizeof(header), f), sizeof(header));
        fclose(f);
        memcpy(&cookie_offset, header + 32, 4);
        assert_int_equal(cookie_offset, 0);
        assert_int_equal(unlink(path_of("nc.save")), 0);
    }
    hv_libvirt_save_image_close(&image);
    assert_int_equal(unlink(path), 0);
}

/* The largest XML area read (16 MiB) opens, in a sparse file. */
static void test_open_largest(void **state)
{
    image_spec s = {.magic = MAGIC,
                    .version = 2,
                    .data_len = HV_LIBVIRT_SAVE_DATA_MAX,
                    .data = XML,
                    .data_bytes = sizeof(XML)};
    const char *path = write_image("largest.save", &s);
    hv_libvirt_save_image image;

    (void)state;
    assert_int_equal(truncate(path, HEADER + HV_LIBVIRT_SAVE_DATA_MAX + 4096), 0);
    assert_hv_ok(hv_libvirt_save_image_open(path, &image));
    assert_string_equal(image.xml, XML);
    assert_int_equal(image.stream_offset, HEADER + HV_LIBVIRT_SAVE_DATA_MAX);
    hv_libvirt_save_image_close(&image);
    assert_int_equal(unlink(path), 0);
}

/* ---- copies with another XML ------------------------------------------------------------ */

/* Copy the image at `from` to `to` with `xml`, and check the copy against the original. */
static void check_write_as(const char *from, const char *to_name, const char *xml,
                           const char *const *names, size_t count)
{
    const char *to = path_of(to_name);
    hv_libvirt_save_image image, copy;
    struct stat st;

    assert_hv_ok(hv_libvirt_save_image_open(from, &image));
    assert_hv_ok(hv_libvirt_save_image_write_as(&image, xml, to));
    assert_hv_ok(hv_libvirt_save_image_open(to, &copy));
    assert_string_equal(copy.xml, xml);
    assert_string_equal(copy.cookie, image.cookie);
    assert_int_equal(copy.version, image.version);
    assert_int_equal(copy.was_running, image.was_running);
    assert_int_equal(copy.compressed, image.compressed);
    assert_int_equal(copy.file_bytes - copy.stream_offset, STREAM);
    assert_stream(to, copy.stream_offset);
    /* the XML and cookie fill their old room when they fit: the stream stays where it was */
    if (strlen(xml) + 1 + (image.cookie[0] ? strlen(image.cookie) + 1 : 0) <= image.data_bytes)
        assert_int_equal(copy.stream_offset, image.stream_offset);
    else
        assert_true(copy.stream_offset > image.stream_offset);
    assert_int_equal(fstat(copy.fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_only(names, count);
    hv_libvirt_save_image_close(&copy);
    hv_libvirt_save_image_close(&image);
    /* the original is as it was */
    assert_hv_ok(hv_libvirt_save_image_open(from, &image));
    assert_string_equal(image.xml, strcmp(from, to) == 0 ? xml : XML);
    hv_libvirt_save_image_close(&image);
}

/* A longer XML than the image had room for: the stream moves, as it is. */
static void test_write_as_longer(void **state)
{
    static const char *const names[] = {"src.save", "longer.save"};
    size_t len = 3 * 4096 + 17;
    char *xml = malloc(len + 1);
    const char *from = write_v2("src.save", 0, 1);

    (void)state;
    assert_non_null(xml);
    memset(xml, 'x', len);
    memcpy(xml, "<domain>", 8);
    memcpy(xml + len - 9, "</domain>", 9);
    xml[len] = '\0';
    check_write_as(from, "longer.save", xml, names, 2);
    free(xml);
    assert_int_equal(unlink(path_of("longer.save")), 0);
    assert_int_equal(unlink(from), 0);
}

/* A shorter XML, over a file that is there: replaced. */
static void test_write_as_shorter(void **state)
{
    static const char *const names[] = {"src.save", "shorter.save"};
    const char *from = write_v2("src.save", 1, 3);

    (void)state;
    write_file(path_of("shorter.save"), "old", 3);
    check_write_as(from, "shorter.save", "<domain/>", names, 2);
    assert_int_equal(unlink(path_of("shorter.save")), 0);
    assert_int_equal(unlink(from), 0);
}

/* A version 1 image stays version 1 (no cookie). */
static void test_write_as_v1(void **state)
{
    static const char *const names[] = {"v1.save", "v1-copy.save"};
    const char *from = write_v1("v1.save");
    hv_libvirt_save_image copy;

    (void)state;
    check_write_as(from, "v1-copy.save", "<domain type='kvm'><name>clone</name></domain>", names,
                   2);
    assert_hv_ok(hv_libvirt_save_image_open(path_of("v1-copy.save"), &copy));
    assert_int_equal(copy.version, 1);
    hv_libvirt_save_image_close(&copy);
    assert_int_equal(unlink(path_of("v1-copy.save")), 0);
    assert_int_equal(unlink(from), 0);
}

/* Written over the image it was read from (its descriptor still reads the old file). */
static void test_write_as_in_place(void **state)
{
    static const char *const names[] = {"self.save"};
    const char *from = write_v2("self.save", 1, 0);

    (void)state;
    check_write_as(from, "self.save", "<domain><name>renamed</name></domain>", names, 1);
    assert_int_equal(unlink(from), 0);
}

/* Where the copy cannot be created: an error, nothing left behind. */
static void test_write_as_unwritable(void **state)
{
    static const char *const names[] = {"src.save"};
    const char *from = write_v2("src.save", 1, 0);
    hv_libvirt_save_image image;
    int rc;

    (void)state;
    assert_hv_ok(hv_libvirt_save_image_open(from, &image));
    rc = hv_libvirt_save_image_write_as(&image, "<domain/>", path_of("no-such-dir/copy.save"));
    assert_true(rc == HV_E_IO || rc == HV_E_PERM);
    assert_int_equal(hv_error_code_of(hv_error_last()), rc);
    assert_only(names, 1);
    hv_libvirt_save_image_close(&image);
    assert_int_equal(unlink(from), 0);
}

/* ---- images refused ----------------------------------------------------------------------- */

/* A valid version 2 image with one field or byte changed by `edit`, refused for `why`. */
typedef void (*edit_fn)(image_spec *s, char *data);

static void refuse_edited(edit_fn edit, const char *why)
{
    char data[512];
    image_spec s;
    const char *path;

    valid_spec(&s, data, sizeof(data), 2, COOKIE);
    edit(&s, data);
    path = write_image("bad.save", &s);
    assert_refused(path, why);
    assert_int_equal(unlink(path), 0);
}

static void test_refuse_short(void **state)
{
    const char *path = write_v2("short.save", 1, 0);

    (void)state;
    assert_int_equal(truncate(path, HEADER - 1), 0);
    assert_refused(path, "is shorter than its 92-byte header");
    assert_int_equal(truncate(path, 0), 0);
    assert_refused(path, "is shorter than its 92-byte header");
    assert_int_equal(unlink(path), 0);
}

static void bad_magic(image_spec *s, char *data)
{
    (void)data;
    s->magic = "LibvirtQemudSavf";
}

static void partial_magic(image_spec *s, char *data)
{
    (void)data;
    s->magic = "LibvirtQemudPart";
}

static void test_refuse_magic(void **state)
{
    (void)state;
    refuse_edited(bad_magic, "is not one of libvirt's QEMU save images (its magic)");
    refuse_edited(partial_magic, "was never finished");
}

static void version_0(image_spec *s, char *data)
{
    (void)data;
    s->version = 0;
}

static void version_3(image_spec *s, char *data)
{
    (void)data;
    s->version = 3;
}

static void version_swapped(image_spec *s, char *data)
{
    (void)data;
    s->version = __builtin_bswap32(2);
}

static void test_refuse_version(void **state)
{
    (void)state;
    refuse_edited(version_0, "has a header version other than 1 and 2");
    refuse_edited(version_3, "has a header version other than 1 and 2");
    refuse_edited(version_swapped, "of the other byte order");
}

static void data_len_0(image_spec *s, char *data)
{
    (void)data;
    s->data_len = 0;
    s->cookie_offset = 0;
}

static void data_len_past_end(image_spec *s, char *data)
{
    (void)data;
    s->data_len = (uint32_t)s->data_bytes + STREAM + 1;
}

static void data_len_over_16m(image_spec *s, char *data)
{
    (void)data;
    s->data_len = HV_LIBVIRT_SAVE_DATA_MAX + 1;
}

static void test_refuse_data_len(void **state)
{
    const char *path;
    char data[512];
    image_spec s;

    (void)state;
    valid_spec(&s, data, sizeof(data), 2, COOKIE);
    s.data_len = HV_LIBVIRT_SAVE_DATA_MAX + 1;
    s.stream = false;
    refuse_edited(data_len_0, "has no room for a domain XML (its data length is 0)");
    refuse_edited(data_len_past_end, "says its domain XML goes past the end of the file");
    refuse_edited(data_len_over_16m, "says its domain XML is longer than 16 MiB");
    /* over 16 MiB in a file that holds it (sparse): still refused */
    path = write_image("huge.save", &s);
    assert_int_equal(truncate(path, HEADER + 2 * (off_t)HV_LIBVIRT_SAVE_DATA_MAX), 0);
    assert_refused(path, "than 16 MiB");
    assert_int_equal(unlink(path), 0);
}

static void cookie_at_end(image_spec *s, char *data)
{
    (void)data;
    s->cookie_offset = s->data_len;
}

static void cookie_past_end(image_spec *s, char *data)
{
    (void)data;
    s->cookie_offset = s->data_len + 100;
}

static void cookie_in_v1(image_spec *s, char *data)
{
    (void)data;
    s->version = 1;
}

static void test_refuse_cookie_offset(void **state)
{
    (void)state;
    refuse_edited(cookie_at_end, "has its cookie outside the XML's bytes");
    refuse_edited(cookie_past_end, "has its cookie outside the XML's bytes");
    refuse_edited(cookie_in_v1, "has its cookie outside the XML's bytes");
}

static void xml_unterminated(image_spec *s, char *data)
{
    data[s->cookie_offset - 1] = '>'; /* the XML's NUL */
}

static void xml_unterminated_no_cookie(image_spec *s, char *data)
{
    memset(data, 'x', s->data_bytes); /* not a NUL in the data */
    s->cookie_offset = 0;
}

static void xml_empty(image_spec *s, char *data)
{
    (void)s;
    data[0] = '\0';
}

static void cookie_unterminated(image_spec *s, char *data)
{
    memset(data + s->cookie_offset, 'c', s->data_bytes - s->cookie_offset);
}

static void test_refuse_unterminated(void **state)
{
    (void)state;
    refuse_edited(xml_unterminated, "has no domain XML ending before its cookie");
    refuse_edited(xml_unterminated_no_cookie, "has no domain XML ending before its cookie");
    refuse_edited(xml_empty, "has an empty domain XML");
    refuse_edited(cookie_unterminated, "has a cookie that does not end inside the XML's bytes");
}

static void test_missing(void **state)
{
    hv_libvirt_save_image image;

    (void)state;
    hv_error_clear();
    assert_hv_error(hv_libvirt_save_image_open(path_of("missing.save"), &image), HV_E_NOTFOUND);
    assert_error_mentions("cannot open the save image");
    assert_closed(&image);
}

static void test_directory(void **state)
{
    (void)state;
    assert_int_equal(mkdir(path_of("a-dir.save"), 0700), 0);
    assert_refused(path_of("a-dir.save"), "is not a regular file");
    assert_int_equal(rmdir(path_of("a-dir.save")), 0);
}

/* ---- where managed save images are ------------------------------------------------------ */

/* libvirt's test driver keeps no save image on this host. */
static void test_managed_save_dir_test_driver(void **state)
{
    virConnectPtr conn = virConnectOpen("test:///default");
    char out[4096] = "";

    (void)state;
    assert_non_null(conn);
    hv_error_clear();
    assert_hv_error(hv_libvirt_managed_save_dir(conn, out, sizeof(out)), HV_E_UNSUPPORTED);
    assert_error_mentions("test:///default");
    virConnectClose(conn);
}

/* ---- the directory ------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < STREAM; i++)
        stream[i] = (uint8_t)(i * 131 + (i >> 8));
    snprintf(dir, sizeof(dir), "%s/hv-test-save-image.XXXXXX",
             getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 30 ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    (void)state;
    if (!d)
        return -1;
    while ((e = readdir(d))) /* what a failed test left */
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            unlinkat(dirfd(d), e->d_name, 0) < 0)
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    closedir(d);
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_v2),
        cmocka_unit_test(test_open_v1),
        cmocka_unit_test(test_open_v2_without_cookie),
        cmocka_unit_test(test_open_largest),
        cmocka_unit_test(test_write_as_longer),
        cmocka_unit_test(test_write_as_shorter),
        cmocka_unit_test(test_write_as_v1),
        cmocka_unit_test(test_write_as_in_place),
        cmocka_unit_test(test_write_as_unwritable),
        cmocka_unit_test(test_refuse_short),
        cmocka_unit_test(test_refuse_magic),
        cmocka_unit_test(test_refuse_version),
        cmocka_unit_test(test_refuse_data_len),
        cmocka_unit_test(test_refuse_cookie_offset),
        cmocka_unit_test(test_refuse_unterminated),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_managed_save_dir_test_driver),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

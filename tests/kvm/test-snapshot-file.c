/*
 * tests/kvm/test-snapshot-file.c - the snapshot file container
 * (lib/kvm/snapshot-file.h, docs/snapshot-format.md): CRC32C against known
 * vectors (hardware and portable), a round trip of every section type with
 * memory mapped straight from the file (zero pages are holes), mode 0600,
 * atomic replace, and every check a reader makes, each with a message that
 * names the section and the check; a path with an escape sequence and bytes
 * that are not UTF-8 is shown escaped in every message. Files live in a
 * mkdtemp directory under /tmp that each test removes.
 */
#include "hv-test.h"
#include "core/text.h"
#include "kvm/snapshot-file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE       HV_SNAP_PAGE_BYTES
#define MEM0_PAGES 8
#define MEM1_PAGES 3

/* header and table fields (docs/snapshot-format.md) */
#define H_VERSION       8
#define H_HEADER_BYTES  12
#define H_FLAGS         16
#define H_SECTION_COUNT 20
#define H_TABLE_OFFSET  24
#define H_TABLE_BYTES   32
#define H_TABLE_CRC     40
#define H_HEADER_CRC    44
#define H_FILE_BYTES    48
#define E_TYPE          0
#define E_INDEX         4
#define E_OFFSET        8
#define E_BYTES         16
#define E_CRC           24
#define E_REGION_OFFSET 32
#define E_REGION_BYTES  40
#define E_REGION_CRC    48
#define M_GUEST_BYTES   0
#define M_PAGE_BYTES    8
#define M_NONZERO_PAGES 16
#define M_BITMAP        24

typedef struct tmp {
    char dir[64];
    char path[128]; /* dir/snap */
    char bad[128];  /* dir/bad: corrupted copies */
} tmp;

/* ---- helpers ------------------------------------------------------------------------ */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int setup(void **state)
{
    tmp *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/hv-test-snap.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/snap", t->dir);
    snprintf(t->bad, sizeof(t->bad), "%s/bad", t->dir);
    *state = t;
    return 0;
}

/* Remove a directory and what it holds (files and one level of directories). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        char p[512];

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (unlink(p) < 0 && errno == EISDIR)
            remove_tree(p);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    tmp *t = *state;

    remove_tree(t->dir);
    free(t);
    return 0;
}

/* The names in a directory, sorted and joined with spaces. */
static void list_dir(const char *dir, char *out, size_t size)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);

    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
            size_t len = strlen(out);

            snprintf(out + len, size - len, "%s%s", len ? " " : "", names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
}

static uint8_t *read_whole(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    uint8_t *buf;

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

/* Write a file leaving all-zero 4 KiB blocks as holes (corrupted copies stay small on disk). */
static void write_sparse(const char *path, const uint8_t *buf, size_t len)
{
    static const uint8_t zero[PAGE];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)len), 0);
    for (size_t off = 0; off < len; off += PAGE) {
        size_t n = len - off < PAGE ? len - off : PAGE;

        if (memcmp(buf + off, zero, n) != 0)
            assert_int_equal(pwrite(fd, buf + off, n, (off_t)off), (ssize_t)n);
    }
    close(fd);
}

/* ---- the reference snapshot ----------------------------------------------------------- */

static const char meta_text[] = "{\"engine\":\"kvm\",\"vcpus\":3,\"nodes\":2}";
static const char plan_text[] = "{\"name\":\"test\",\"vnuma\":[{\"memory\":32768},{}]}";
static const char console_text[] = "hello from the guest\n";
static uint8_t payload[5000];
static uint8_t vcpu_state[3][512];
static uint8_t *mem0; /* MEM0_PAGES pages: a mix of zero and non-zero pages */
static uint8_t *mem1; /* MEM1_PAGES zero pages */

/* Which pages of mem0 are non-zero (whole page, last byte only, first byte only). */
static bool mem0_nonzero(unsigned page)
{
    return page == 0 || page == 3 || page == 4 || page == 6;
}

static void make_contents(void)
{
    uint32_t x = 12345;

    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    for (size_t v = 0; v < 3; v++)
        for (size_t i = 0; i < sizeof(vcpu_state[v]); i++)
            vcpu_state[v][i] = (uint8_t)(v * 31 + i);
    if (!mem0) {
        mem0 = aligned_alloc(PAGE, MEM0_PAGES * PAGE);
        mem1 = aligned_alloc(PAGE, MEM1_PAGES * PAGE);
        assert_non_null(mem0);
        assert_non_null(mem1);
    }
    memset(mem0, 0, MEM0_PAGES * PAGE);
    memset(mem1, 0, MEM1_PAGES * PAGE);
    for (size_t i = 0; i < PAGE; i++) {
        x = x * 1103515245u + 12345u;
        mem0[0 * PAGE + i] = (uint8_t)(x >> 16);
        mem0[6 * PAGE + i] = (uint8_t)(x >> 8) | 1;
    }
    mem0[3 * PAGE + PAGE - 1] = 0x80; /* only the last byte */
    mem0[4 * PAGE] = 0x01;            /* only the first byte */
}

static void write_reference(const char *path)
{
    hv_snap_writer *w;

    make_contents();
    assert_hv_ok(hv_snap_writer_open(path, &w));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_META, 0, meta_text, strlen(meta_text)));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_PLAN, 0, plan_text, strlen(plan_text)));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_PAYLOAD, 0, payload, sizeof(payload)));
    for (uint32_t v = 0; v < 3; v++)
        assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_VCPU, v, vcpu_state[v], sizeof(vcpu_state[v])));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_CONSOLE, 0, console_text, strlen(console_text)));
    assert_hv_ok(hv_snap_writer_add_memory(w, 0, mem0, MEM0_PAGES * PAGE));
    assert_hv_ok(hv_snap_writer_add_memory(w, 1, mem1, MEM1_PAGES * PAGE));
    assert_int_equal(hv_snap_writer_bytes(w),
                     strlen(meta_text) + strlen(plan_text) + sizeof(payload) + sizeof(vcpu_state) +
                         strlen(console_text) + 4 * PAGE + (24 + 8) + (24 + 8));
    assert_hv_ok(hv_snap_writer_commit(w));
}

/* The table entry of a section in a file image. */
static uint8_t *entry_of(uint8_t *file, uint32_t type, uint32_t index)
{
    uint64_t table = get64(file + H_TABLE_OFFSET);
    uint32_t count = get32(file + H_SECTION_COUNT);

    for (uint32_t i = 0; i < count; i++) {
        uint8_t *e = file + table + 64 * i;

        if (get32(e + E_TYPE) == type && get32(e + E_INDEX) == index)
            return e;
    }
    fail_msg("no section %u[%u]", type, index);
    return NULL;
}

static void fix_header_crc(uint8_t *file)
{
    put32(file + H_HEADER_CRC, 0);
    put32(file + H_HEADER_CRC, hv_crc32c(0, file, 4096));
}

static void fix_table_crc(uint8_t *file)
{
    put32(file + H_TABLE_CRC,
          hv_crc32c(0, file + get64(file + H_TABLE_OFFSET), get64(file + H_TABLE_BYTES)));
    fix_header_crc(file);
}

static void fix_section_crc(uint8_t *file, uint8_t *entry)
{
    put32(entry + E_CRC, hv_crc32c(0, file + get64(entry + E_OFFSET), get64(entry + E_BYTES)));
    fix_table_crc(file);
}

/* Open `len` bytes of `file` written to t->bad: it must be refused, the message naming these. */
static void expect_reject(const tmp *t, const uint8_t *file, size_t len, const char *what1,
                          const char *what2)
{
    hv_snap_reader *r = (hv_snap_reader *)(uintptr_t)1;
    const char *msg;

    write_sparse(t->bad, file, len);
    hv_error_clear();
    assert_hv_error(hv_snap_reader_open(t->bad, &r), HV_E_SNAPSHOT);
    assert_null(r);
    msg = hv_error_message(hv_error_last());
    if (strncmp(msg, t->bad, strlen(t->bad)) != 0 || (what1 && !strstr(msg, what1)) ||
        (what2 && !strstr(msg, what2)))
        print_error("expected \"%s\" and \"%s\" in: %s\n", what1 ? what1 : "", what2 ? what2 : "",
                    msg);
    assert_int_equal(strncmp(msg, t->bad, strlen(t->bad)), 0);
    assert_string_equal(hv_error_path(hv_error_last()), t->bad);
    if (what1)
        assert_non_null(strstr(msg, what1));
    if (what2)
        assert_non_null(strstr(msg, what2));
}

/* The reference snapshot as bytes (its logical size: holes read as zeros). */
static uint8_t *reference(const tmp *t, size_t *len)
{
    write_reference(t->path);
    return read_whole(t->path, len);
}

/* ---- CRC32C --------------------------------------------------------------------------- */

static void test_crc32c(void **state)
{
    uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
    uint8_t *big = malloc(70000);

    for (int i = 0; i < 32; i++) {
        ones[i] = 0xff;
        inc[i] = (uint8_t)i;
        dec[i] = (uint8_t)(31 - i);
    }
    /* RFC 3720 (iSCSI) appendix B.4, and the usual check value */
    for (int portable = 0; portable < 2; portable++) {
        uint32_t (*crc)(uint32_t, const void *, size_t) = portable ? hv_crc32c_portable : hv_crc32c;

        assert_int_equal(crc(0, "123456789", 9), 0xE3069283u);
        assert_int_equal(crc(0, zeros, 32), 0x8A9136AAu);
        assert_int_equal(crc(0, ones, 32), 0x62A8AB43u);
        assert_int_equal(crc(0, inc, 32), 0x46DD794Eu);
        assert_int_equal(crc(0, dec, 32), 0x113FDB5Cu);
        assert_int_equal(crc(0, "", 0), 0);
        assert_int_equal(crc(crc(0, "1234", 4), "56789", 5), 0xE3069283u);
    }
    /* the two agree on every length and alignment */
    assert_non_null(big);
    for (size_t i = 0; i < 70000; i++)
        big[i] = (uint8_t)((i * 2654435761u) >> 13);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 300; len++)
            assert_int_equal(hv_crc32c(0x1234u, big + off, len),
                             hv_crc32c_portable(0x1234u, big + off, len));
    assert_int_equal(hv_crc32c(0, big + 3, 69997), hv_crc32c_portable(0, big + 3, 69997));
    free(big);
    printf("hv_crc32c: %s\n", hv_crc32c_accelerated() ? "SSE4.2 crc32 instruction" : "portable");
}

static void test_names(void **state)
{
    assert_string_equal(hv_snap_section_name(HV_SNAP_META), "meta");
    assert_string_equal(hv_snap_section_name(HV_SNAP_PLAN), "plan");
    assert_string_equal(hv_snap_section_name(HV_SNAP_PAYLOAD), "payload");
    assert_string_equal(hv_snap_section_name(HV_SNAP_VCPU), "vcpu");
    assert_string_equal(hv_snap_section_name(HV_SNAP_CONSOLE), "console");
    assert_string_equal(hv_snap_section_name(HV_SNAP_MEMORY), "memory");
    assert_string_equal(hv_snap_section_name(0), "unknown");
    assert_string_equal(hv_snap_section_name(77), "unknown");
}

/* ---- round trip --------------------------------------------------------------------------- */

static void expect_section(hv_snap_reader *r, uint32_t type, uint32_t index, const void *want,
                           size_t bytes)
{
    const void *data;
    uint64_t got;

    assert_hv_ok(hv_snap_section(r, type, index, &data, &got));
    assert_int_equal(got, bytes);
    assert_non_null(data);
    assert_memory_equal(data, want, bytes);
}

/* Whether SEEK_HOLE finds the hole the file has before its first memory region. */
static bool holes_supported(int fd, uint64_t size)
{
    off_t hole = lseek(fd, 0, SEEK_HOLE);

    return hole >= 0 && (uint64_t)hole < size;
}

static void test_round_trip(void **state)
{
    const tmp *t = *state;
    hv_snap_reader *r;
    hv_snap_memory m;
    struct stat st;
    const void *data;
    uint64_t bytes;
    uint8_t *map;
    int fd;

    write_reference(t->path);
    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    assert_hv_ok(hv_snap_reader_open(t->path, &r));
    assert_int_equal(hv_snap_section_count(r, HV_SNAP_META), 1);
    assert_int_equal(hv_snap_section_count(r, HV_SNAP_PLAN), 1);
    assert_int_equal(hv_snap_section_count(r, HV_SNAP_PAYLOAD), 1);
    assert_int_equal(hv_snap_section_count(r, HV_SNAP_VCPU), 3);
    assert_int_equal(hv_snap_section_count(r, HV_SNAP_CONSOLE), 1);
    assert_int_equal(hv_snap_section_count(r, HV_SNAP_MEMORY), 2);
    expect_section(r, HV_SNAP_META, 0, meta_text, strlen(meta_text));
    expect_section(r, HV_SNAP_PLAN, 0, plan_text, strlen(plan_text));
    expect_section(r, HV_SNAP_PAYLOAD, 0, payload, sizeof(payload));
    for (uint32_t v = 0; v < 3; v++)
        expect_section(r, HV_SNAP_VCPU, v, vcpu_state[v], sizeof(vcpu_state[v]));
    expect_section(r, HV_SNAP_CONSOLE, 0, console_text, strlen(console_text));

    /* what is not there, and memory through the wrong call */
    assert_hv_error(hv_snap_section(r, HV_SNAP_VCPU, 3, &data, &bytes), HV_E_SNAPSHOT);
    assert_error_mentions("section vcpu[3] is missing (the file has 3 vcpu sections)");
    assert_error_mentions(t->path);
    assert_null(data);
    assert_hv_error(hv_snap_section(r, HV_SNAP_MEMORY, 0, &data, &bytes), HV_E_INVAL);
    assert_error_mentions("hv_snap_memory_region()");
    assert_hv_error(hv_snap_memory_region(r, 2, &m), HV_E_SNAPSHOT);
    assert_error_mentions("section memory[2] is missing (the file has 2 memory sections)");
    assert_int_equal(m.fd, -1);
    assert_hv_error(hv_snap_memory_verify(r, 2, mem0), HV_E_SNAPSHOT);

    /* memory 0, mapped straight from the file */
    assert_hv_ok(hv_snap_memory_region(r, 0, &m));
    assert_int_equal(m.bytes, MEM0_PAGES * PAGE);
    assert_int_equal(m.file_offset % HV_SNAP_MEMORY_ALIGN, 0);
    assert_true(m.file_offset >= HV_SNAP_MEMORY_ALIGN);
    assert_int_equal(m.nonzero_pages, 4);
    assert_true(m.fd >= 0);
    assert_non_null(m.bitmap);
    assert_int_equal(m.bitmap[0], (1u << 0) | (1u << 3) | (1u << 4) | (1u << 6));
    map = mmap(NULL, m.bytes, PROT_READ, MAP_PRIVATE, m.fd, (off_t)m.file_offset);
    assert_true(map != MAP_FAILED);
    assert_memory_equal(map, mem0, MEM0_PAGES * PAGE);
    assert_hv_ok(hv_snap_memory_verify(r, 0, map));
    assert_hv_ok(hv_snap_memory_verify(r, 0, mem0));
    munmap(map, m.bytes);

    /* zero pages are holes in the file, the others are data */
    fd = open(t->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    if (holes_supported(fd, (uint64_t)st.st_size)) {
        for (unsigned p = 0; p < MEM0_PAGES; p++) {
            off_t at = (off_t)(m.file_offset + p * PAGE);
            off_t data_at = lseek(fd, at, SEEK_DATA);

            if (mem0_nonzero(p))
                assert_int_equal(data_at, at);
            else
                assert_true(data_at != at);
        }
        /* the logical size is over 4 MiB; what is stored is 4 pages and the small sections */
        assert_true(st.st_size > 2 * (off_t)HV_SNAP_MEMORY_ALIGN);
        assert_true((uint64_t)st.st_blocks * 512 < 256 * 1024);
    } else {
        printf("the filesystem of %s reports no holes: hole check skipped\n", t->dir);
    }
    close(fd);

    /* memory 1: all zero, all holes, mapped as zeros */
    assert_hv_ok(hv_snap_memory_region(r, 1, &m));
    assert_int_equal(m.bytes, MEM1_PAGES * PAGE);
    assert_int_equal(m.file_offset % HV_SNAP_MEMORY_ALIGN, 0);
    assert_int_equal(m.nonzero_pages, 0);
    map = mmap(NULL, m.bytes, PROT_READ, MAP_PRIVATE, m.fd, (off_t)m.file_offset);
    assert_true(map != MAP_FAILED);
    assert_memory_equal(map, mem1, MEM1_PAGES * PAGE);
    assert_hv_ok(hv_snap_memory_verify(r, 1, map));
    munmap(map, m.bytes);
    hv_snap_reader_close(r);

    /* the same through a descriptor (the reader keeps its own duplicate) */
    fd = open(t->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_hv_ok(hv_snap_reader_open_fd(fd, "by-fd", &r));
    close(fd);
    expect_section(r, HV_SNAP_CONSOLE, 0, console_text, strlen(console_text));
    assert_hv_ok(hv_snap_memory_region(r, 0, &m));
    assert_true(m.fd >= 0 && m.fd != fd);
    hv_snap_reader_close(r);
    hv_snap_reader_close(NULL);
}

/* Empty sections, memory of one page, and types this version does not know (ignored). */
static void test_empty_and_unknown_sections(void **state)
{
    const tmp *t = *state;
    static const uint8_t one_page[PAGE] = {[100] = 7};
    hv_snap_writer *w;
    hv_snap_reader *r;
    hv_snap_memory m;
    const void *data;
    uint64_t bytes;
    uint8_t *file;
    size_t len;

    assert_hv_ok(hv_snap_writer_open(t->path, &w));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_CONSOLE, 0, NULL, 0));
    assert_hv_ok(hv_snap_writer_add(w, 42, 0, "future", 6));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_META, 0, "{}", 2));
    assert_hv_ok(hv_snap_writer_add_memory(w, 5, one_page, PAGE));
    assert_hv_ok(hv_snap_writer_commit(w));

    assert_hv_ok(hv_snap_reader_open(t->path, &r));
    assert_hv_ok(hv_snap_section(r, HV_SNAP_CONSOLE, 0, &data, &bytes));
    assert_non_null(data);
    assert_int_equal(bytes, 0);
    assert_int_equal(hv_snap_section_count(r, 42), 0);
    assert_hv_error(hv_snap_section(r, 42, 0, &data, &bytes), HV_E_SNAPSHOT);
    assert_error_mentions("section type-42[0] is missing");
    assert_int_equal(hv_snap_section_count(r, HV_SNAP_VCPU), 0);
    assert_hv_ok(hv_snap_memory_region(r, 5, &m));
    assert_int_equal(m.nonzero_pages, 1);
    assert_hv_ok(hv_snap_memory_verify(r, 5, one_page));
    hv_snap_reader_close(r);

    /* an unknown section's bytes are not checked: corrupting them changes nothing */
    file = read_whole(t->path, &len);
    file[get64(entry_of(file, 42, 0) + E_OFFSET)] ^= 0xff;
    write_sparse(t->bad, file, len);
    assert_hv_ok(hv_snap_reader_open(t->bad, &r));
    hv_snap_reader_close(r);
    free(file);

    /* a snapshot with no sections at all */
    assert_hv_ok(hv_snap_writer_open(t->path, &w));
    assert_hv_ok(hv_snap_writer_commit(w));
    assert_hv_ok(hv_snap_reader_open(t->path, &r));
    assert_int_equal(hv_snap_section_count(r, HV_SNAP_META), 0);
    hv_snap_reader_close(r);
}

static void test_writer_arguments(void **state)
{
    const tmp *t = *state;
    static const uint8_t page[PAGE];
    hv_snap_writer *w = (hv_snap_writer *)(uintptr_t)1;
    hv_snap_reader *r;
    char path[256];

    assert_hv_error(hv_snap_writer_open(t->path, NULL), HV_E_INVAL);
    assert_hv_error(hv_snap_writer_open(NULL, &w), HV_E_INVAL);
    assert_null(w);
    snprintf(path, sizeof(path), "%s/", t->dir);
    assert_hv_error(hv_snap_writer_open(path, &w), HV_E_INVAL);
    assert_error_mentions("names a file");
    snprintf(path, sizeof(path), "%s/no-such-dir/snap", t->dir);
    assert_hv_error(hv_snap_writer_open(path, &w), HV_E_IO);
    assert_error_mentions("directory");
    assert_error_mentions("no-such-dir'");
    assert_null(w);

    assert_hv_ok(hv_snap_writer_open(t->path, &w));
    assert_hv_error(hv_snap_writer_add(NULL, HV_SNAP_META, 0, "x", 1), HV_E_INVAL);
    assert_hv_error(hv_snap_writer_add(w, HV_SNAP_META, 0, NULL, 1), HV_E_INVAL);
    assert_hv_error(hv_snap_writer_add(w, 0, 0, "x", 1), HV_E_INVAL);
    assert_error_mentions("section type-0[0]");
    assert_hv_error(hv_snap_writer_add(w, HV_SNAP_MEMORY, 0, page, PAGE), HV_E_INVAL);
    assert_error_mentions("hv_snap_writer_add_memory()");
    assert_hv_error(hv_snap_writer_add(w, HV_SNAP_PAYLOAD, 0, page, (UINT64_C(256) << 20) + 1),
                    HV_E_RANGE);
    assert_error_mentions("section payload[0]");
    assert_hv_error(hv_snap_writer_add_memory(w, 0, NULL, PAGE), HV_E_INVAL);
    assert_hv_error(hv_snap_writer_add_memory(w, 0, page, 0), HV_E_INVAL);
    assert_hv_error(hv_snap_writer_add_memory(w, 0, page, 100), HV_E_INVAL);
    assert_error_mentions("section memory[0]: 100 bytes of memory is not a positive multiple");
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_VCPU, 1, "a", 1));
    assert_hv_error(hv_snap_writer_add(w, HV_SNAP_VCPU, 1, "b", 1), HV_E_INVAL);
    assert_error_mentions("section vcpu[1] was already added");
    assert_hv_ok(hv_snap_writer_add_memory(w, 0, page, PAGE));
    assert_hv_error(hv_snap_writer_add_memory(w, 0, page, PAGE), HV_E_INVAL);
    assert_error_mentions("section memory[0] was already added");
    /* the writer is still good after refusing arguments */
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_VCPU, 2, "c", 1));
    assert_int_equal(hv_snap_writer_bytes(w), 2 + (24 + 8));
    assert_int_equal(hv_snap_writer_bytes(NULL), 0);
    assert_hv_ok(hv_snap_writer_commit(w));
    assert_hv_error(hv_snap_writer_commit(NULL), HV_E_INVAL);
    hv_snap_writer_abort(NULL);

    assert_hv_ok(hv_snap_reader_open(t->path, &r));
    expect_section(r, HV_SNAP_VCPU, 1, "a", 1);
    expect_section(r, HV_SNAP_VCPU, 2, "c", 1);
    hv_snap_reader_close(r);
}

static void test_reader_arguments(void **state)
{
    const tmp *t = *state;
    hv_snap_reader *r = (hv_snap_reader *)(uintptr_t)1;
    hv_snap_memory m;
    const void *data;
    uint64_t bytes;
    int fds[2];

    assert_hv_error(hv_snap_reader_open(t->path, NULL), HV_E_INVAL);
    assert_hv_error(hv_snap_reader_open(NULL, &r), HV_E_INVAL);
    assert_null(r);
    assert_hv_error(hv_snap_reader_open(t->path, &r), HV_E_NOTFOUND);
    assert_error_mentions("no such snapshot file");
    assert_hv_error(hv_snap_reader_open_fd(-1, "x", &r), HV_E_INVAL);
    assert_null(r);

    /* a pipe is not a snapshot */
    assert_int_equal(pipe(fds), 0);
    assert_hv_error(hv_snap_reader_open_fd(fds[0], "the-pipe", &r), HV_E_SNAPSHOT);
    assert_error_mentions("the-pipe: not a regular file");
    assert_null(r);
    close(fds[0]);
    close(fds[1]);

    write_reference(t->path);
    assert_hv_ok(hv_snap_reader_open(t->path, &r));
    assert_hv_error(hv_snap_section(r, HV_SNAP_META, 0, NULL, &bytes), HV_E_INVAL);
    assert_hv_error(hv_snap_section(NULL, HV_SNAP_META, 0, &data, &bytes), HV_E_INVAL);
    assert_hv_error(hv_snap_memory_region(r, 0, NULL), HV_E_INVAL);
    assert_hv_error(hv_snap_memory_verify(r, 0, NULL), HV_E_INVAL);
    assert_int_equal(hv_snap_section_count(NULL, HV_SNAP_META), 0);
    assert_hv_ok(hv_snap_memory_region(r, 0, &m));
    hv_snap_reader_close(r);
}

/* ---- atomic replace ----------------------------------------------------------------------- */

static void expect_meta(const char *path, const char *text)
{
    hv_snap_reader *r;

    assert_hv_ok(hv_snap_reader_open(path, &r));
    expect_section(r, HV_SNAP_META, 0, text, strlen(text));
    hv_snap_reader_close(r);
}

static void test_atomic_replace(void **state)
{
    const tmp *t = *state;
    uint8_t *page = aligned_alloc(PAGE, PAGE);
    hv_snap_writer *w;
    hv_snap_reader *old;
    hv_snap_memory m;
    char names[512];
    uint8_t *map;

    assert_non_null(page);
    memset(page, 0xaa, PAGE);
    assert_hv_ok(hv_snap_writer_open(t->path, &w));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_META, 0, "A", 1));
    assert_hv_ok(hv_snap_writer_add_memory(w, 0, page, PAGE));
    assert_hv_ok(hv_snap_writer_commit(w));
    expect_meta(t->path, "A");
    list_dir(t->dir, names, sizeof(names));
    assert_string_equal(names, "snap");

    /* an aborted writer leaves the existing file as it was, and nothing else */
    memset(page, 0xbb, PAGE);
    assert_hv_ok(hv_snap_writer_open(t->path, &w));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_META, 0, "B", 1));
    assert_hv_ok(hv_snap_writer_add_memory(w, 0, page, PAGE));
    list_dir(t->dir, names, sizeof(names));
    assert_non_null(strstr(names, ".snap."));
    expect_meta(t->path, "A");
    hv_snap_writer_abort(w);
    expect_meta(t->path, "A");
    list_dir(t->dir, names, sizeof(names));
    assert_string_equal(names, "snap");

    /* a committed one replaces it; a reader of the old file keeps the old file */
    assert_hv_ok(hv_snap_reader_open(t->path, &old));
    assert_hv_ok(hv_snap_writer_open(t->path, &w));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_META, 0, "B", 1));
    assert_hv_ok(hv_snap_writer_add_memory(w, 0, page, PAGE));
    expect_meta(t->path, "A");
    assert_hv_ok(hv_snap_writer_commit(w));
    expect_meta(t->path, "B");
    list_dir(t->dir, names, sizeof(names));
    assert_string_equal(names, "snap");
    assert_hv_ok(hv_snap_memory_region(old, 0, &m));
    map = mmap(NULL, m.bytes, PROT_READ, MAP_PRIVATE, m.fd, (off_t)m.file_offset);
    assert_true(map != MAP_FAILED);
    assert_int_equal(map[0], 0xaa);
    assert_hv_ok(hv_snap_memory_verify(old, 0, map));
    munmap(map, m.bytes);
    hv_snap_reader_close(old);
    free(page);
}

/* A commit that cannot rename leaves what was at the path and no temporary file. */
static void test_commit_failure(void **state)
{
    const tmp *t = *state;
    hv_snap_writer *w;
    char sub[256], file[300], names[512];
    int fd;

    snprintf(sub, sizeof(sub), "%s/sub", t->dir);
    snprintf(file, sizeof(file), "%s/keep", sub);
    assert_int_equal(mkdir(sub, 0700), 0);
    fd = open(file, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);

    assert_hv_ok(hv_snap_writer_open(sub, &w));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_META, 0, "{}", 2));
    assert_hv_error(hv_snap_writer_commit(w), HV_E_IO);
    assert_error_mentions("cannot rename the temporary file");
    assert_error_mentions("nothing was replaced");
    list_dir(t->dir, names, sizeof(names));
    assert_string_equal(names, "sub");
    list_dir(sub, names, sizeof(names));
    assert_string_equal(names, "keep");
}

/* ---- a hostile path ----------------------------------------------------------------------- */

/* A file name with an escape sequence, bytes that are not UTF-8 and half a character. */
#define HOSTILE         "snap\x1b[2J\x1b]0;pwned\x07\xff\xfe\xc3"
#define HOSTILE_ESCAPED "snap\\u001b[2J\\u001b]0;pwned\\u0007\\xff\\xfe\\xc3"

/*
 * The thread's error message is valid UTF-8 with no control character, and
 * shows the hostile name escaped; the error's path is the path as given.
 */
static void expect_escaped(const char *path, const char *text)
{
    const char *message = hv_error_message(hv_error_last());
    size_t len = strlen(message);

    if (hv_text_unprintable_at(message, len) != len || !strstr(message, HOSTILE_ESCAPED) ||
        !strstr(message, text))
        print_error("expected '%s' and '%s' escaped, got: %s\n", text, HOSTILE_ESCAPED, message);
    assert_int_equal(hv_text_unprintable_at(message, len), len);
    assert_non_null(strstr(message, HOSTILE_ESCAPED));
    assert_non_null(strstr(message, text));
    assert_string_equal(hv_error_path(hv_error_last()), path);
}

static void test_hostile_path(void **state)
{
    const tmp *t = *state;
    static const uint8_t page[PAGE];
    hv_snap_writer *w;
    hv_snap_reader *r;
    const void *data;
    uint64_t bytes;
    char dir[256], path[512];
    int fd, fds[2];

    /* the reader: missing, empty, not a file, by descriptor, and a section it lacks */
    snprintf(path, sizeof(path), "%s/" HOSTILE, t->dir);
    assert_hv_error(hv_snap_reader_open(path, &r), HV_E_NOTFOUND);
    expect_escaped(path, "no such snapshot file");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_hv_error(hv_snap_reader_open(path, &r), HV_E_SNAPSHOT);
    expect_escaped(path, "the file is empty");
    assert_hv_error(hv_snap_reader_open_fd(-1, HOSTILE, &r), HV_E_INVAL);
    expect_escaped(HOSTILE, "is not an open file descriptor");
    assert_int_equal(pipe(fds), 0);
    assert_hv_error(hv_snap_reader_open_fd(fds[0], HOSTILE, &r), HV_E_SNAPSHOT);
    expect_escaped(HOSTILE, "not a regular file");
    close(fds[0]);
    close(fds[1]);
    write_reference(path);
    assert_hv_ok(hv_snap_reader_open(path, &r));
    assert_hv_error(hv_snap_section(r, HV_SNAP_MEMORY, 0, &data, &bytes), HV_E_INVAL);
    expect_escaped(path, "memory sections are mapped");
    assert_hv_error(hv_snap_section(r, HV_SNAP_PAYLOAD, 7, &data, &bytes), HV_E_SNAPSHOT);
    expect_escaped(path, "section payload[7] is missing");
    hv_snap_reader_close(r);
    assert_int_equal(unlink(path), 0);

    /* the writer: a directory, a missing directory, refused sections, a failed commit */
    snprintf(dir, sizeof(dir), "%s/" HOSTILE, t->dir);
    snprintf(path, sizeof(path), "%s/", dir);
    assert_hv_error(hv_snap_writer_open(path, &w), HV_E_INVAL);
    expect_escaped(path, "names a file, not a directory");
    snprintf(path, sizeof(path), "%s/snap", dir);
    assert_hv_error(hv_snap_writer_open(path, &w), HV_E_IO);
    expect_escaped(path, "cannot create the snapshot's temporary file in directory");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_hv_ok(hv_snap_writer_open(path, &w));
    assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_VCPU, 0, "a", 1));
    assert_hv_error(hv_snap_writer_add(w, HV_SNAP_VCPU, 0, "a", 1), HV_E_INVAL);
    expect_escaped(path, "section vcpu[0] was already added");
    assert_hv_error(hv_snap_writer_add_memory(w, 0, page, 100), HV_E_INVAL);
    expect_escaped(path, "is not a positive multiple");
    hv_snap_writer_abort(w);
    /* a snapshot over a directory: both the path and the temporary file's are escaped */
    assert_hv_ok(hv_snap_writer_open(dir, &w));
    assert_hv_error(hv_snap_writer_commit(w), HV_E_IO);
    expect_escaped(dir, "cannot rename the temporary file '");
    assert_int_equal(rmdir(dir), 0);
}

/* ---- what a reader refuses ---------------------------------------------------------------- */

static void test_reject_empty_and_truncated(void **state)
{
    const tmp *t = *state;
    size_t len;
    uint8_t *file = reference(t, &len);
    uint8_t *vcpu1 = entry_of(file, HV_SNAP_VCPU, 1);
    uint8_t *mem = entry_of(file, HV_SNAP_MEMORY, 0);
    uint64_t table = get64(file + H_TABLE_OFFSET);

    expect_reject(t, file, 0, "the file is empty", NULL);
    expect_reject(t, file, 5, "truncated: the file has 5 bytes", "4096-byte header");
    expect_reject(t, file, 100, "truncated: the file has 100 bytes", "4096-byte header");
    expect_reject(t, file, 4095, "truncated: the file has 4095 bytes", "4096-byte header");
    expect_reject(t, file, len - 10, "truncated", "its header says");
    expect_reject(t, file, table + 1, "truncated", "its header says");
    expect_reject(t, file, get64(vcpu1 + E_OFFSET) + 10, "truncated", "its header says");
    expect_reject(t, file, get64(mem + E_REGION_OFFSET) + PAGE + 10, "truncated",
                  "its header says");
    free(file);
}

static void test_reject_header(void **state)
{
    const tmp *t = *state;
    size_t len;
    uint8_t *file = reference(t, &len), *copy = malloc(len + PAGE);

    assert_non_null(copy);
#define FRESH() memcpy(copy, file, len)
    FRESH();
    memcpy(copy, "HVSNAP\n\r", 8);
    expect_reject(t, copy, len, "not an hpcvirt snapshot", "48 56 53 4e 41 50 0a 0d");
    FRESH();
    memcpy(copy,
           "\x7f"
           "ELF",
           4);
    expect_reject(t, copy, 3, "not an hpcvirt snapshot", NULL);

    /* a newer version is refused as newer, whether its header checks or not */
    FRESH();
    put32(copy + H_VERSION, 2);
    expect_reject(t, copy, len, "snapshot format version 2 is newer", "supports (version 1)");
    fix_header_crc(copy);
    expect_reject(t, copy, len, "snapshot format version 2 is newer", "supports (version 1)");
    expect_reject(t, copy, 100, "snapshot format version 2 is newer", NULL);
    FRESH();
    put32(copy + H_VERSION, 0);
    fix_header_crc(copy);
    expect_reject(t, copy, len, "header: format version 0", NULL);

    FRESH();
    copy[1000] ^= 1; /* reserved, covered by the header checksum */
    expect_reject(t, copy, len, "header: checksum mismatch (stored 0x", "the file is corrupted");
    FRESH();
    copy[H_HEADER_CRC] ^= 1;
    expect_reject(t, copy, len, "header: checksum mismatch", NULL);
    FRESH();
    put32(copy + H_HEADER_BYTES, 8192);
    fix_header_crc(copy);
    expect_reject(t, copy, len, "header: header size 8192", NULL);
    FRESH();
    put32(copy + H_FLAGS, 4);
    fix_header_crc(copy);
    expect_reject(t, copy, len, "header: unknown flags 0x00000004", NULL);

    /* the size the header says against the file's */
    FRESH();
    put64(copy + H_FILE_BYTES, len + 1);
    fix_header_crc(copy);
    expect_reject(t, copy, len, "truncated", "its header says");
    FRESH();
    memset(copy + len, 0, PAGE);
    expect_reject(t, copy, len + PAGE, "more than the", "its header says");
#undef FRESH
    free(copy);
    free(file);
}

static void test_reject_table(void **state)
{
    const tmp *t = *state;
    size_t len;
    uint8_t *file = reference(t, &len), *copy = malloc(len);
    uint64_t table = get64(file + H_TABLE_OFFSET);
    uint32_t count = get32(file + H_SECTION_COUNT);

    assert_non_null(copy);
    assert_int_equal(count, 9);
    assert_int_equal(get64(file + H_TABLE_BYTES), 9 * 64);
    assert_int_equal(table + 9 * 64, len);
    assert_int_equal(get64(file + H_FILE_BYTES), len);

    memcpy(copy, file, len);
    copy[table + 64 * 3 + 2] ^= 0x10;
    expect_reject(t, copy, len, "section table: checksum mismatch (stored 0x",
                  "the file is corrupted");
    memcpy(copy, file, len);
    put64(copy + H_TABLE_BYTES, 10 * 64);
    fix_header_crc(copy);
    expect_reject(t, copy, len, "section table: 640 bytes, but 9 sections take 576", NULL);
    memcpy(copy, file, len);
    put32(copy + H_SECTION_COUNT, 70000);
    put64(copy + H_TABLE_BYTES, 70000 * 64);
    fix_header_crc(copy);
    expect_reject(t, copy, len, "section table: 70000 sections, more than the 65536", NULL);
    memcpy(copy, file, len);
    put64(copy + H_TABLE_OFFSET, len - 64);
    fix_header_crc(copy);
    expect_reject(t, copy, len, "section table: 576 bytes at offset", "past the end of the file");
    memcpy(copy, file, len);
    put64(copy + H_TABLE_OFFSET, UINT64_MAX - 100);
    fix_header_crc(copy);
    expect_reject(t, copy, len, "section table", "past the end of the file");
    /* a table inside the header (its checksum made to match) */
    memcpy(copy, file, len);
    memcpy(copy + 1024, file + table, 9 * 64);
    put64(copy + H_TABLE_OFFSET, 1024);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "the section table (bytes 1024..1600) overlaps the header", NULL);
    free(copy);
    free(file);
}

static void test_reject_section_checksums(void **state)
{
    const tmp *t = *state;
    static const struct {
        uint32_t type, index;
        const char *message;
    } cases[] = {
        {HV_SNAP_META, 0, "section meta[0]: checksum mismatch (stored 0x"},
        {HV_SNAP_PLAN, 0, "section plan[0]: checksum mismatch (stored 0x"},
        {HV_SNAP_PAYLOAD, 0, "section payload[0]: checksum mismatch (stored 0x"},
        {HV_SNAP_VCPU, 1, "section vcpu[1]: checksum mismatch (stored 0x"},
        {HV_SNAP_CONSOLE, 0, "section console[0]: checksum mismatch (stored 0x"},
        {HV_SNAP_MEMORY, 0, "section memory[0]: checksum mismatch (stored 0x"},
        {HV_SNAP_MEMORY, 1, "section memory[1]: checksum mismatch (stored 0x"},
    };
    size_t len;
    uint8_t *file = reference(t, &len), *copy = malloc(len);

    assert_non_null(copy);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t at;

        memcpy(copy, file, len);
        at = get64(entry_of(copy, cases[i].type, cases[i].index) + E_OFFSET);
        copy[at + 1] ^= 0x40;
        expect_reject(t, copy, len, cases[i].message, "computed 0x");
        assert_error_mentions("the file is corrupted");
    }
    free(copy);
    free(file);
}

static void test_reject_placement(void **state)
{
    const tmp *t = *state;
    size_t len;
    uint8_t *file = reference(t, &len), *copy = malloc(len);
    uint8_t *e;

    assert_non_null(copy);
    /* overlapping sections */
    memcpy(copy, file, len);
    e = entry_of(copy, HV_SNAP_VCPU, 1);
    put64(e + E_OFFSET, get64(entry_of(copy, HV_SNAP_VCPU, 0) + E_OFFSET) + 8);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section vcpu[1] (bytes", "overlaps section vcpu[0] (bytes");
    memcpy(copy, file, len);
    put64(entry_of(copy, HV_SNAP_META, 0) + E_OFFSET, 100);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section meta[0] (bytes 100..",
                  "overlaps the header (bytes 0..4096)");
    memcpy(copy, file, len);
    put64(entry_of(copy, HV_SNAP_MEMORY, 1) + E_REGION_OFFSET,
          get64(entry_of(copy, HV_SNAP_MEMORY, 0) + E_REGION_OFFSET));
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section memory[0]'s memory region (bytes",
                  "overlaps section memory[1]'s memory region (bytes");
    memcpy(copy, file, len);
    e = entry_of(copy, HV_SNAP_CONSOLE, 0);
    put64(e + E_OFFSET, get64(entry_of(copy, HV_SNAP_MEMORY, 0) + E_REGION_OFFSET) + 8);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section console[0] (bytes",
                  "overlaps section memory[0]'s memory region");

    /* past the end of the file, or so large that the sum wraps */
    memcpy(copy, file, len);
    put64(entry_of(copy, HV_SNAP_VCPU, 2) + E_OFFSET, len - 4);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section vcpu[2]: 512 bytes at offset", "past the end of the file");
    memcpy(copy, file, len);
    put64(entry_of(copy, HV_SNAP_PLAN, 0) + E_OFFSET, UINT64_MAX - 2);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section plan[0]:", "past the end of the file");
    memcpy(copy, file, len);
    put64(entry_of(copy, HV_SNAP_PAYLOAD, 0) + E_BYTES, UINT64_C(300) << 20);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section payload[0]: 314572800 bytes, more than the 268435456",
                  NULL);

    /* the same section twice */
    memcpy(copy, file, len);
    put32(entry_of(copy, HV_SNAP_VCPU, 2) + E_INDEX, 0);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section vcpu[0] appears twice", NULL);
    free(copy);
    free(file);
}

static void test_reject_memory(void **state)
{
    const tmp *t = *state;
    size_t len;
    uint8_t *file = reference(t, &len), *copy = malloc(len);
    uint8_t *e, *sec;

    assert_non_null(copy);
#define MEMORY0()                                                                                  \
    do {                                                                                           \
        memcpy(copy, file, len);                                                                   \
        e = entry_of(copy, HV_SNAP_MEMORY, 0);                                                     \
        sec = copy + get64(e + E_OFFSET);                                                          \
    } while (0)
    MEMORY0();
    assert_int_equal(get64(e + E_BYTES), 24 + 8);
    assert_int_equal(get64(sec + M_GUEST_BYTES), MEM0_PAGES * PAGE);
    assert_int_equal(get32(sec + M_PAGE_BYTES), PAGE);
    assert_int_equal(get64(sec + M_NONZERO_PAGES), 4);
    assert_int_equal(get64(sec + M_BITMAP), 0x59);
    assert_int_equal(get64(e + E_REGION_BYTES), MEM0_PAGES * PAGE);

    /* the bitmap against its counts */
    put64(sec + M_NONZERO_PAGES, 5);
    fix_section_crc(copy, e);
    expect_reject(t, copy, len, "section memory[0]: the bitmap marks 4 pages non-zero",
                  "the section says 5");
    MEMORY0();
    put64(sec + M_BITMAP, 0x59 | 0x100);
    put64(sec + M_NONZERO_PAGES, 5);
    fix_section_crc(copy, e);
    expect_reject(t, copy, len, "section memory[0]: the bitmap marks pages past the last one (7)",
                  NULL);
    MEMORY0();
    put32(sec + M_PAGE_BYTES, 8192);
    fix_section_crc(copy, e);
    expect_reject(t, copy, len, "section memory[0]: page size 8192", NULL);
    MEMORY0();
    put64(sec + M_GUEST_BYTES, 7 * PAGE);
    fix_section_crc(copy, e);
    expect_reject(t, copy, len, "section memory[0]: 28672 bytes of guest memory",
                  "its region has 32768");
    MEMORY0();
    put64(e + E_BYTES, 24 + 16);
    fix_section_crc(copy, e);
    expect_reject(t, copy, len,
                  "section memory[0]: 40 bytes, but the bitmap of 8 pages makes it 32", NULL);
    MEMORY0();
    put64(e + E_BYTES, 16);
    fix_section_crc(copy, e);
    expect_reject(t, copy, len, "section memory[0]: 16 bytes, too short", NULL);

    /* the region */
    MEMORY0();
    put64(e + E_REGION_OFFSET, get64(e + E_REGION_OFFSET) + PAGE);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section memory[0]: memory region offset",
                  "is not a multiple of 2097152 (2 MiB)");
    MEMORY0();
    put64(e + E_REGION_OFFSET, 1000 * HV_SNAP_MEMORY_ALIGN);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section memory[0]: memory region of 32768 bytes at offset",
                  "past the end of the file");
    MEMORY0();
    put64(e + E_REGION_BYTES, UINT64_MAX - PAGE + 1);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section memory[0]: memory region", "past the end of the file");
    MEMORY0();
    put64(e + E_REGION_BYTES, 0);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section memory[0]: memory region of 0 bytes",
                  "not a positive multiple of the 4096-byte page");
    MEMORY0();
    put64(e + E_REGION_BYTES, 100);
    fix_table_crc(copy);
    expect_reject(t, copy, len, "section memory[0]: memory region of 100 bytes",
                  "not a positive multiple");
#undef MEMORY0
    free(copy);
    free(file);
}

/* The memory contents are checked only on request (hv_snap_memory_verify). */
/* What a hv_snap_next_data_fn says, for test_sparse_memory. */
typedef struct said {
    int how; /* 0 the truth; 1 only page 6 holds data; 2 nothing; 3 nonsense */
} said;

static void say_where(void *data, uint64_t offset, uint64_t *start, uint64_t *end)
{
    /* mem0's pages with data: 0, 3-4, 6 (make_contents) */
    static const uint64_t runs[][2] = {{0, 1}, {3, 5}, {6, 7}};
    const said *s = data;

    *start = MEM0_PAGES * PAGE;
    *end = MEM0_PAGES * PAGE;
    if (s->how == 3) { /* before the offset, empty, then past the end */
        *start = offset ? offset - PAGE : 0;
        *end = offset % (2 * PAGE) ? *start : UINT64_MAX;
        return;
    }
    for (size_t i = 0; s->how != 2 && i < sizeof(runs) / sizeof(runs[0]); i++)
        if ((s->how == 0 || runs[i][0] == 6) && runs[i][1] * PAGE > offset) {
            *start = runs[i][0] * PAGE > offset ? runs[i][0] * PAGE : offset;
            *end = runs[i][1] * PAGE;
            return;
        }
}

/* The memory of `path`'s section memory[0] and its count of non-zero pages. */
static uint64_t nonzero_pages_of(const char *path)
{
    hv_snap_reader *r;
    hv_snap_memory m;
    uint64_t n;

    assert_hv_ok(hv_snap_reader_open(path, &r));
    assert_hv_ok(hv_snap_memory_region(r, 0, &m));
    n = m.nonzero_pages;
    hv_snap_reader_close(r);
    return n;
}

/*
 * hv_snap_writer_add_memory_sparse(): told the truth about where the data is,
 * the same file as hv_snap_writer_add_memory(); told that only page 6 holds
 * data, pages 0, 3 and 4 (not zero) are recorded as zero pages - never read;
 * told nothing holds data, no page is; told nonsense (ranges before the
 * offset, empty, past the end), every page is read and the file is the same.
 */
static void test_sparse_memory(void **state)
{
    const tmp *t = *state;
    static const int hows[] = {0, 1, 2, 3};
    static const uint64_t want[] = {4, 1, 0, 4};
    uint8_t *whole, *sparse;
    size_t whole_len, sparse_len;

    make_contents();
    for (size_t k = 0; k < sizeof(hows) / sizeof(hows[0]); k++) {
        said s = {hows[k]};
        hv_snap_writer *w;

        for (int sparse_write = 0; sparse_write < 2; sparse_write++) {
            assert_hv_ok(hv_snap_writer_open(sparse_write ? t->bad : t->path, &w));
            assert_hv_ok(hv_snap_writer_add(w, HV_SNAP_META, 0, meta_text, strlen(meta_text)));
            if (sparse_write)
                assert_hv_ok(
                    hv_snap_writer_add_memory_sparse(w, 0, mem0, MEM0_PAGES * PAGE, say_where, &s));
            else
                assert_hv_ok(hv_snap_writer_add_memory(w, 0, mem0, MEM0_PAGES * PAGE));
            assert_hv_ok(hv_snap_writer_commit(w));
        }
        assert_int_equal(nonzero_pages_of(t->bad), want[k]);
        if (want[k] == 4) {
            whole = read_whole(t->path, &whole_len);
            sparse = read_whole(t->bad, &sparse_len);
            assert_int_equal(whole_len, sparse_len);
            assert_memory_equal(whole, sparse, whole_len);
            free(whole);
            free(sparse);
        }
    }
}

static void test_memory_verify(void **state)
{
    const tmp *t = *state;
    hv_snap_reader *r;
    hv_snap_memory m;
    uint8_t *map, *file, *e;
    size_t len;

    write_reference(t->path);
    assert_hv_ok(hv_snap_reader_open(t->path, &r));
    assert_hv_ok(hv_snap_memory_region(r, 0, &m));
    map = mmap(NULL, m.bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, m.fd, (off_t)m.file_offset);
    assert_true(map != MAP_FAILED);
    assert_hv_ok(hv_snap_memory_verify(r, 0, map));

    map[6 * PAGE + 17] ^= 0x01; /* a non-zero page changed */
    assert_hv_error(hv_snap_memory_verify(r, 0, map), HV_E_SNAPSHOT);
    assert_error_mentions("section memory[0]: memory region checksum mismatch (stored 0x");
    assert_error_mentions("the file is corrupted");
    map[6 * PAGE + 17] ^= 0x01;
    assert_hv_ok(hv_snap_memory_verify(r, 0, map));

    map[2 * PAGE + PAGE - 1] = 0x01; /* a zero page is not */
    assert_hv_error(hv_snap_memory_verify(r, 0, map), HV_E_SNAPSHOT);
    assert_error_mentions("section memory[0]: page 2 (guest offset 0x2000) is not zero, but the "
                          "bitmap says it is");
    map[2 * PAGE + PAGE - 1] = 0;
    assert_hv_ok(hv_snap_memory_verify(r, 0, map));
    munmap(map, m.bytes);
    hv_snap_reader_close(r);

    /* in the file: opening (lazy) accepts it, verifying does not */
    file = read_whole(t->path, &len);
    e = entry_of(file, HV_SNAP_MEMORY, 0);
    file[get64(e + E_REGION_OFFSET) + 3 * PAGE + 5] = 0x77; /* page 3 has only its last byte */
    write_sparse(t->bad, file, len);
    assert_hv_ok(hv_snap_reader_open(t->bad, &r));
    assert_hv_ok(hv_snap_memory_region(r, 0, &m));
    map = mmap(NULL, m.bytes, PROT_READ, MAP_PRIVATE, m.fd, (off_t)m.file_offset);
    assert_true(map != MAP_FAILED);
    assert_hv_error(hv_snap_memory_verify(r, 0, map), HV_E_SNAPSHOT);
    assert_error_mentions("memory region checksum mismatch");
    assert_string_equal(hv_error_path(hv_error_last()), t->bad);
    munmap(map, m.bytes);
    hv_snap_reader_close(r);

    file[get64(e + E_REGION_OFFSET) + 3 * PAGE + 5] = 0;
    file[get64(e + E_REGION_OFFSET) + 7 * PAGE] = 0x01; /* page 7 is a hole */
    write_sparse(t->bad, file, len);
    assert_hv_ok(hv_snap_reader_open(t->bad, &r));
    assert_hv_ok(hv_snap_memory_region(r, 0, &m));
    map = mmap(NULL, m.bytes, PROT_READ, MAP_PRIVATE, m.fd, (off_t)m.file_offset);
    assert_true(map != MAP_FAILED);
    assert_hv_error(hv_snap_memory_verify(r, 0, map), HV_E_SNAPSHOT);
    assert_error_mentions("page 7 (guest offset 0x7000) is not zero");
    munmap(map, m.bytes);
    hv_snap_reader_close(r);
    free(file);
}

static int free_memory(void **state)
{
    free(mem0);
    free(mem1);
    mem0 = mem1 = NULL;
    return 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_names),
        T(test_round_trip),
        T(test_sparse_memory),
        T(test_empty_and_unknown_sections),
        T(test_writer_arguments),
        T(test_reader_arguments),
        T(test_atomic_replace),
        T(test_commit_failure),
        T(test_hostile_path),
        T(test_reject_empty_and_truncated),
        T(test_reject_header),
        T(test_reject_table),
        T(test_reject_section_checksums),
        T(test_reject_placement),
        T(test_reject_memory),
        T(test_memory_verify),
    };
    return cmocka_run_group_tests(tests, NULL, free_memory);
}

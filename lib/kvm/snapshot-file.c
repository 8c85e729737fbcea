/*
 * kvm/snapshot-file.c - the snapshot file container, format version 1
 * (docs/snapshot-format.md): writing (temporary file, sections, memory
 * regions with zero pages left as holes, table, header last, fsync, rename,
 * fsync of the directory) and reading (every offset and size checked for
 * overflow and against the file before anything is allocated or read, every
 * checksum before anything is handed out). The file is untrusted: it is read
 * only with pread() on the reader's descriptor and decoded byte by byte
 * (little-endian), never cast.
 */
#include "kvm/snapshot-file.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the layout (docs/snapshot-format.md) ----------------------------------------- */

#define HEADER_BYTES      4096u
#define H_MAGIC           0
#define H_VERSION         8
#define H_HEADER_BYTES    12
#define H_FLAGS           16
#define H_SECTION_COUNT   20
#define H_TABLE_OFFSET    24
#define H_TABLE_BYTES     32
#define H_TABLE_CRC       40
#define H_HEADER_CRC      44
#define H_FILE_BYTES      48

#define ENTRY_BYTES       64u
#define E_TYPE            0
#define E_INDEX           4
#define E_OFFSET          8
#define E_BYTES           16
#define E_CRC             24
#define E_REGION_OFFSET   32
#define E_REGION_BYTES    40
#define E_REGION_CRC      48

#define MEM_HEADER_BYTES  24u
#define M_GUEST_BYTES     0
#define M_PAGE_BYTES      8
#define M_NONZERO_PAGES   16

#define SECTION_ALIGN     8u
#define MAX_SECTION_BYTES (UINT64_C(256) << 20)
#define MAX_SECTIONS      65536u

/*
 * Room to quote the snapshot's path in a message whole (hv_quote()), unless
 * it is huge; a second path in the same message (the temporary file, the
 * directory) gets less, so that the message keeps its end.
 */
#define PATH_QUOTE_SIZE  512
#define OTHER_QUOTE_SIZE 256

/* ---- CRC32C ------------------------------------------------------------------------ */

/* Reflected CRC32C (Castagnoli, polynomial 0x1EDC6F41, reversed 0x82F63B78), one byte at a time. */
static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t hv_crc32c_portable(uint32_t crc, const void *data, size_t bytes)
{
    const uint8_t *p = data;
    uint32_t c = ~crc;

    while (bytes--)
        c = crc32c_table[(c ^ *p++) & 0xffu] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_CRC32C_SSE42 1

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *data,
                                                               size_t bytes)
{
    const uint8_t *p = data;
    unsigned long long c = ~crc;

    while (bytes > 0 && ((uintptr_t)p & 7u) != 0) {
        c = __builtin_ia32_crc32qi((unsigned int)c, *p++);
        bytes--;
    }
    while (bytes >= 32) {
        unsigned long long w[4];

        memcpy(w, p, sizeof(w));
        c = __builtin_ia32_crc32di(c, w[0]);
        c = __builtin_ia32_crc32di(c, w[1]);
        c = __builtin_ia32_crc32di(c, w[2]);
        c = __builtin_ia32_crc32di(c, w[3]);
        p += 32;
        bytes -= 32;
    }
    while (bytes >= 8) {
        unsigned long long w;

        memcpy(&w, p, sizeof(w));
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        bytes -= 8;
    }
    while (bytes-- > 0)
        c = __builtin_ia32_crc32qi((unsigned int)c, *p++);
    return ~(uint32_t)c;
}
#endif

bool hv_crc32c_accelerated(void)
{
#ifdef HAVE_CRC32C_SSE42
    return __builtin_cpu_supports("sse4.2");
#else
    return false;
#endif
}

uint32_t hv_crc32c(uint32_t crc, const void *data, size_t bytes)
{
#ifdef HAVE_CRC32C_SSE42
    if (__builtin_cpu_supports("sse4.2"))
        return crc32c_sse42(crc, data, bytes);
#endif
    return hv_crc32c_portable(crc, data, bytes);
}

/* ---- little helpers ---------------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Round up to a power of two; false on overflow. */
static bool align_up(uint64_t v, uint64_t align, uint64_t *out)
{
    uint64_t r;

    if (__builtin_add_overflow(v, align - 1, &r))
        return false;
    *out = r & ~(align - 1);
    return true;
}

static bool page_is_zero(const uint8_t *page)
{
    for (size_t off = 0; off < HV_SNAP_PAGE_BYTES; off += 64) {
        uint64_t w[8];

        memcpy(w, page + off, sizeof(w));
        if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0)
            return false;
    }
    return true;
}

const char *hv_snap_section_name(uint32_t type)
{
    switch (type) {
    case HV_SNAP_META:
        return "meta";
    case HV_SNAP_PLAN:
        return "plan";
    case HV_SNAP_PAYLOAD:
        return "payload";
    case HV_SNAP_VCPU:
        return "vcpu";
    case HV_SNAP_CONSOLE:
        return "console";
    case HV_SNAP_MEMORY:
        return "memory";
    case HV_SNAP_PLATFORM:
        return "platform";
    case HV_SNAP_DEVICES:
        return "devices";
    default:
        return "unknown";
    }
}

static bool known_type(uint32_t type)
{
    return type >= HV_SNAP_META && type <= HV_SNAP_DEVICES;
}

/* "vcpu[3]", or "type-42[0]" for a type this version does not know. */
static const char *label(char *buf, size_t size, uint32_t type, uint32_t index)
{
    if (known_type(type))
        snprintf(buf, size, "%s[%" PRIu32 "]", hv_snap_section_name(type), index);
    else
        snprintf(buf, size, "type-%" PRIu32 "[%" PRIu32 "]", type, index);
    return buf;
}

#define LABEL_MAX 40

/* One section as the table has it (plus what the reader loaded). */
typedef struct snap_entry {
    uint32_t type, index;
    uint64_t offset, bytes;
    uint32_t crc;
    uint64_t region_offset, region_bytes;
    uint32_t region_crc;
    /* reader: a known non-memory section's bytes, or a memory section's bitmap (host order) */
    void *data;
    uint64_t nonzero_pages;
} snap_entry;

static void encode_entry(uint8_t *p, const snap_entry *e)
{
    memset(p, 0, ENTRY_BYTES);
    put_u32(p + E_TYPE, e->type);
    put_u32(p + E_INDEX, e->index);
    put_u64(p + E_OFFSET, e->offset);
    put_u64(p + E_BYTES, e->bytes);
    put_u32(p + E_CRC, e->crc);
    put_u64(p + E_REGION_OFFSET, e->region_offset);
    put_u64(p + E_REGION_BYTES, e->region_bytes);
    put_u32(p + E_REGION_CRC, e->region_crc);
}

static void decode_entry(const uint8_t *p, snap_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->type = get_u32(p + E_TYPE);
    e->index = get_u32(p + E_INDEX);
    e->offset = get_u64(p + E_OFFSET);
    e->bytes = get_u64(p + E_BYTES);
    e->crc = get_u32(p + E_CRC);
    e->region_offset = get_u64(p + E_REGION_OFFSET);
    e->region_bytes = get_u64(p + E_REGION_BYTES);
    e->region_crc = get_u32(p + E_REGION_CRC);
}

/* ---- writing ----------------------------------------------------------------------- */

struct hv_snap_writer {
    int fd;
    char *path;     /* what the snapshot replaces on commit */
    char *tmp_path; /* the temporary file in the same directory */
    char *dir;      /* that directory */
    /* the three as messages quote them (hv_quote()): the caller's path may hold anything */
    char shown[PATH_QUOTE_SIZE], shown_tmp[OTHER_QUOTE_SIZE], shown_dir[OTHER_QUOTE_SIZE];
    uint64_t end; /* where the next section goes */
    uint64_t data_bytes;
    snap_entry *entries;
    size_t count, cap;
    bool failed; /* a write failed: the file is incomplete, only abort is left */
};

/* The directory part of a path ("." when it has none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return hv_strdup(".");
    if (slash == path)
        return hv_strdup("/");
    return hv_strndup(path, (size_t)(slash - path));
}

int hv_snap_writer_open(const char *path, hv_snap_writer **writer)
{
    const char *base;
    hv_snap_writer *w;
    char shown[PATH_QUOTE_SIZE];
    int fd;

    HV_CHECK_ARG(writer, "writer");
    *writer = NULL;
    HV_CHECK_ARG(path, "path");
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (*base == '\0')
        return hv_error_set(HV_E_INVAL, path,
                            "%s: a snapshot path names a file, not a directory (it ends in '/' "
                            "or is empty)",
                            hv_quote(shown, sizeof(shown), path));
    w = hv_calloc(1, sizeof(*w));
    if (!w)
        return HV_E_NOMEM;
    w->fd = -1;
    w->path = hv_strdup(path);
    w->dir = dir_of(path);
    w->tmp_path = w->dir ? hv_asprintf("%s/.%s.XXXXXX", w->dir, base) : NULL;
    if (!w->path || !w->dir || !w->tmp_path) {
        hv_snap_writer_abort(w);
        return hv_error_nomem();
    }
    hv_quote(w->shown, sizeof(w->shown), path);
    hv_quote(w->shown_dir, sizeof(w->shown_dir), w->dir);
    fd = mkostemp(w->tmp_path, O_CLOEXEC);
    if (fd < 0) {
        int rc = hv_error_set_errno(HV_E_IO, errno, path,
                                    "%s: cannot create the snapshot's temporary file in directory "
                                    "'%s'",
                                    w->shown, w->shown_dir);

        free(w->tmp_path);
        w->tmp_path = NULL; /* nothing to remove */
        hv_snap_writer_abort(w);
        return rc;
    }
    w->fd = fd;
    hv_quote(w->shown_tmp, sizeof(w->shown_tmp), w->tmp_path);
    if (fchmod(fd, 0600) < 0) {
        int rc = hv_error_set_errno(HV_E_IO, errno, path, "%s: cannot make '%s' mode 0600",
                                    w->shown, w->shown_tmp);

        hv_snap_writer_abort(w);
        return rc;
    }
    w->end = HEADER_BYTES;
    *writer = w;
    return 0;
}

static int write_at(hv_snap_writer *w, const void *data, uint64_t bytes, uint64_t offset,
                    const char *what)
{
    const uint8_t *p = data;

    while (bytes > 0) {
        size_t chunk = bytes > (UINT64_C(1) << 30) ? (size_t)1 << 30 : (size_t)bytes;
        ssize_t n = pwrite(w->fd, p, chunk, (off_t)offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : ENOSPC;

            w->failed = true;
            return hv_error_set_errno(HV_E_IO, err, w->path,
                                      "%s: cannot write %s to the temporary file '%s'", w->shown,
                                      what, w->shown_tmp);
        }
        p += n;
        bytes -= (uint64_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

/* The checks every add shares; reserves room for one more entry. */
static int add_check(hv_snap_writer *w, uint32_t type, uint32_t index)
{
    char name[LABEL_MAX];

    if (w->failed)
        return hv_error_set(HV_E_STATE, w->path,
                            "%s: an earlier write to the snapshot failed: abort it and start again",
                            w->shown);
    if (w->count >= MAX_SECTIONS)
        return hv_error_set(HV_E_RANGE, w->path,
                            "%s: section %s would be one more than the %u sections a snapshot "
                            "may have",
                            w->shown, label(name, sizeof(name), type, index), MAX_SECTIONS);
    for (size_t i = 0; i < w->count; i++)
        if (w->entries[i].type == type && w->entries[i].index == index)
            return hv_error_set(HV_E_INVAL, w->path, "%s: section %s was already added", w->shown,
                                label(name, sizeof(name), type, index));
    return HV_ARRAY_RESERVE(w->entries, w->cap, w->count + 1);
}

/* Where a section of `bytes` goes (after everything so far, 8-byte aligned). */
static int place(hv_snap_writer *w, uint64_t bytes, uint64_t *offset)
{
    uint64_t end;

    if (!align_up(w->end, SECTION_ALIGN, offset) || !hv_add_u64(*offset, bytes, &end) ||
        end > INT64_MAX)
        return hv_error_set(HV_E_RANGE, w->path, "%s: the snapshot would be larger than 2^63 bytes",
                            w->shown);
    return 0;
}

int hv_snap_writer_add(hv_snap_writer *writer, uint32_t type, uint32_t index, const void *data,
                       uint64_t bytes)
{
    char name[LABEL_MAX];
    snap_entry e = {.type = type, .index = index, .bytes = bytes};
    int rc;

    HV_CHECK_ARG(writer, "writer");
    HV_CHECK_ARG(data || bytes == 0, "data");
    label(name, sizeof(name), type, index);
    if (type == 0 || type == HV_SNAP_MEMORY)
        return hv_error_set(HV_E_INVAL, writer->path,
                            "%s: section %s: type %" PRIu32
                            " cannot be added with hv_snap_writer_add() (0 is no type; memory "
                            "goes through hv_snap_writer_add_memory())",
                            writer->shown, name, type);
    if (bytes > MAX_SECTION_BYTES)
        return hv_error_set(HV_E_RANGE, writer->path,
                            "%s: section %s: %" PRIu64 " bytes, more than the %" PRIu64
                            " a section may have",
                            writer->shown, name, bytes, MAX_SECTION_BYTES);
    if ((rc = add_check(writer, type, index)) < 0 || (rc = place(writer, bytes, &e.offset)) < 0)
        return rc;
    e.crc = hv_crc32c(0, data, (size_t)bytes);
    if (bytes > 0 && (rc = write_at(writer, data, bytes, e.offset, name)) < 0)
        return rc;
    writer->entries[writer->count++] = e;
    writer->end = e.offset + bytes;
    writer->data_bytes += bytes;
    return 0;
}

int hv_snap_writer_add_memory(hv_snap_writer *writer, uint32_t index, const uint8_t *mem,
                              uint64_t bytes)
{
    return hv_snap_writer_add_memory_sparse(writer, index, mem, bytes, NULL, NULL);
}

int hv_snap_writer_add_memory_sparse(hv_snap_writer *writer, uint32_t index, const uint8_t *mem,
                                     uint64_t bytes, hv_snap_next_data_fn next_data, void *data)
{
    uint64_t data_end = 0; /* the page where the range next_data gave ends */
    char name[LABEL_MAX];
    snap_entry e = {.type = HV_SNAP_MEMORY, .index = index, .region_bytes = bytes};
    uint64_t pages, words, run_start = 0, region_end, nonzero = 0;
    uint8_t *section;
    bool in_run = false;
    int rc;

    HV_CHECK_ARG(writer, "writer");
    HV_CHECK_ARG(mem, "mem");
    label(name, sizeof(name), HV_SNAP_MEMORY, index);
    if (bytes == 0 || bytes % HV_SNAP_PAGE_BYTES != 0)
        return hv_error_set(HV_E_INVAL, writer->path,
                            "%s: section %s: %" PRIu64
                            " bytes of memory is not a positive multiple of the %u-byte page",
                            writer->shown, name, bytes, HV_SNAP_PAGE_BYTES);
    pages = bytes / HV_SNAP_PAGE_BYTES;
    words = (pages + 63) / 64;
    e.bytes = MEM_HEADER_BYTES + 8 * words;
    if (e.bytes > MAX_SECTION_BYTES)
        return hv_error_set(HV_E_RANGE, writer->path,
                            "%s: section %s: %" PRIu64 " bytes of memory is more than a snapshot "
                            "section can describe",
                            writer->shown, name, bytes);
    if ((rc = add_check(writer, HV_SNAP_MEMORY, index)) < 0)
        return rc;
    if (!align_up(writer->end, HV_SNAP_MEMORY_ALIGN, &e.region_offset) ||
        !hv_add_u64(e.region_offset, bytes, &region_end) || region_end > INT64_MAX)
        return hv_error_set(HV_E_RANGE, writer->path,
                            "%s: the snapshot would be larger than 2^63 bytes", writer->shown);
    /* Size the file to the region's end first: writes inside the file are cheaper than
     * writes that extend it (the page cache need not zero past the end each time). */
    if (ftruncate(writer->fd, (off_t)region_end) < 0) {
        writer->failed = true;
        return hv_error_set_errno(HV_E_IO, errno, writer->path,
                                  "%s: cannot extend the temporary file '%s' for section %s",
                                  writer->shown, writer->shown_tmp, name);
    }
    section = hv_calloc(1, (size_t)e.bytes);
    if (!section)
        return HV_E_NOMEM;

    /* One pass: find the non-zero pages, checksum them, write each run of them at once. The
     * memory next_data says holds nothing is not read: zero pages, like the holes it is. */
    for (uint64_t p = 0; p <= pages; p++) {
        const uint8_t *page = mem + p * HV_SNAP_PAGE_BYTES;
        uint64_t hole_end = p;

        if (p < pages && p >= data_end) {
            uint64_t start = p * HV_SNAP_PAGE_BYTES, end = bytes;

            if (next_data)
                next_data(data, p * HV_SNAP_PAGE_BYTES, &start, &end);
            /* trusted only to skip forward, inside the memory */
            start = start < p * HV_SNAP_PAGE_BYTES ? p * HV_SNAP_PAGE_BYTES : start;
            hole_end = start / HV_SNAP_PAGE_BYTES < pages ? start / HV_SNAP_PAGE_BYTES : pages;
            data_end = end > start && end / HV_SNAP_PAGE_BYTES > hole_end
                           ? (end / HV_SNAP_PAGE_BYTES < pages ? end / HV_SNAP_PAGE_BYTES : pages)
                           : hole_end + 1;
        }
        if (p < pages && hole_end == p && !page_is_zero(page)) {
            uint8_t *word = section + MEM_HEADER_BYTES + 8 * (p / 64);

            word[(p % 64) / 8] |= (uint8_t)(1u << (p % 8));
            e.region_crc = hv_crc32c(e.region_crc, page, HV_SNAP_PAGE_BYTES);
            nonzero++;
            if (!in_run) {
                run_start = p;
                in_run = true;
            }
            continue;
        }
        if (in_run) {
            rc = write_at(writer, mem + run_start * HV_SNAP_PAGE_BYTES,
                          (p - run_start) * HV_SNAP_PAGE_BYTES,
                          e.region_offset + run_start * HV_SNAP_PAGE_BYTES, name);
            if (rc < 0) {
                free(section);
                return rc;
            }
            in_run = false;
        }
        if (hole_end > p)
            p = hole_end - 1; /* past the hole: the loop's p++ lands on its end */
    }
    /* the bitmap section follows the region: the file then always covers the whole region */
    put_u64(section + M_GUEST_BYTES, bytes);
    put_u32(section + M_PAGE_BYTES, HV_SNAP_PAGE_BYTES);
    put_u64(section + M_NONZERO_PAGES, nonzero);
    e.crc = hv_crc32c(0, section, (size_t)e.bytes);
    e.offset = region_end;
    rc = write_at(writer, section, e.bytes, e.offset, name);
    free(section);
    if (rc < 0)
        return rc;
    e.nonzero_pages = nonzero;
    writer->entries[writer->count++] = e;
    writer->end = e.offset + e.bytes;
    writer->data_bytes += nonzero * HV_SNAP_PAGE_BYTES + e.bytes;
    return 0;
}

uint64_t hv_snap_writer_bytes(const hv_snap_writer *writer)
{
    return writer ? writer->data_bytes : 0;
}

void hv_snap_writer_abort(hv_snap_writer *writer)
{
    if (!writer)
        return;
    if (writer->fd >= 0)
        close(writer->fd);
    if (writer->tmp_path && writer->fd >= 0)
        unlink(writer->tmp_path);
    free(writer->entries);
    free(writer->tmp_path);
    free(writer->dir);
    free(writer->path);
    free(writer);
}

static int sync_dir(hv_snap_writer *w)
{
    int fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || (fsync(fd) < 0 && errno != EINVAL)) {
        int err = errno;

        if (fd >= 0)
            close(fd);
        return hv_error_set_errno(HV_E_IO, err, w->path,
                                  "%s: the snapshot is in place but syncing its directory '%s' "
                                  "failed, so it may not survive a crash",
                                  w->shown, w->shown_dir);
    }
    close(fd);
    return 0;
}

static int commit(hv_snap_writer *w)
{
    uint8_t header[HEADER_BYTES];
    uint64_t table_offset = 0, table_bytes = (uint64_t)w->count * ENTRY_BYTES, file_bytes;
    uint8_t *table;
    int rc;

    if (w->failed)
        return hv_error_set(HV_E_STATE, w->path,
                            "%s: an earlier write to the snapshot failed: nothing was replaced",
                            w->shown);
    if ((rc = place(w, table_bytes, &table_offset)) < 0)
        return rc;
    file_bytes = table_offset + table_bytes;
    table = hv_calloc(w->count ? w->count : 1, ENTRY_BYTES);
    if (!table)
        return HV_E_NOMEM;
    for (size_t i = 0; i < w->count; i++)
        encode_entry(table + i * ENTRY_BYTES, &w->entries[i]);
    rc = write_at(w, table, table_bytes, table_offset, "the section table");
    if (rc == 0) {
        memset(header, 0, sizeof(header));
        memcpy(header + H_MAGIC, HV_SNAP_MAGIC, 8);
        put_u32(header + H_VERSION, HV_SNAP_FORMAT_VERSION);
        put_u32(header + H_HEADER_BYTES, HEADER_BYTES);
        put_u32(header + H_FLAGS, 0);
        put_u32(header + H_SECTION_COUNT, (uint32_t)w->count);
        put_u64(header + H_TABLE_OFFSET, table_offset);
        put_u64(header + H_TABLE_BYTES, table_bytes);
        put_u32(header + H_TABLE_CRC, hv_crc32c(0, table, (size_t)table_bytes));
        put_u64(header + H_FILE_BYTES, file_bytes);
        put_u32(header + H_HEADER_CRC, hv_crc32c(0, header, sizeof(header)));
    }
    free(table);
    if (rc < 0)
        return rc;
    /* the table ends the file (a region whose last pages are holes is still inside it) */
    if (ftruncate(w->fd, (off_t)file_bytes) < 0)
        return hv_error_set_errno(HV_E_IO, errno, w->path,
                                  "%s: cannot size the temporary file '%s': nothing was replaced",
                                  w->shown, w->shown_tmp);
    if ((rc = write_at(w, header, sizeof(header), 0, "the header")) < 0)
        return rc;
    if (fsync(w->fd) < 0)
        return hv_error_set_errno(HV_E_IO, errno, w->path,
                                  "%s: cannot sync the temporary file '%s': nothing was replaced",
                                  w->shown, w->shown_tmp);
    if (rename(w->tmp_path, w->path) < 0)
        return hv_error_set_errno(HV_E_IO, errno, w->path,
                                  "%s: cannot rename the temporary file '%s' over it: nothing was "
                                  "replaced",
                                  w->shown, w->shown_tmp);
    /* renamed: nothing left to remove */
    free(w->tmp_path);
    w->tmp_path = NULL;
    return sync_dir(w);
}

int hv_snap_writer_commit(hv_snap_writer *writer)
{
    int rc;

    HV_CHECK_ARG(writer, "writer");
    rc = commit(writer);
    hv_snap_writer_abort(writer);
    return rc;
}

/* ---- reading ----------------------------------------------------------------------- */

struct hv_snap_reader {
    int fd;
    char *what;                  /* the name it was opened with: the error's path */
    char shown[PATH_QUOTE_SIZE]; /* that name as messages quote it */
    uint64_t file_bytes;
    snap_entry *entries;
    size_t count;
};

/* An HV_E_SNAPSHOT error whose message starts with the file's name, quoted. */
static int bad(const hv_snap_reader *r, const char *fmt, ...) HV_PRINTF(2, 3);

static int bad(const hv_snap_reader *r, const char *fmt, ...)
{
    char text[800];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return hv_error_set(HV_E_SNAPSHOT, r->what, "%s: %s", r->shown, text);
}

static int read_at(const hv_snap_reader *r, void *buf, uint64_t bytes, uint64_t offset,
                   const char *part)
{
    uint8_t *p = buf;

    while (bytes > 0) {
        size_t chunk = bytes > (UINT64_C(1) << 30) ? (size_t)1 << 30 : (size_t)bytes;
        ssize_t n = pread(r->fd, p, chunk, (off_t)offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return hv_error_set_errno(HV_E_IO, errno, r->what, "%s: cannot read %s", r->shown,
                                      part);
        if (n == 0)
            return bad(r,
                       "%s: the file ends at byte %" PRIu64 ": it was truncated while being read",
                       part, offset);
        p += n;
        bytes -= (uint64_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

/* A region of the file for the overlap check. */
typedef struct extent {
    uint64_t start, end;
    const snap_entry *entry; /* NULL: the header or the table */
    bool region;             /* a memory section's region (else the section's bytes) */
    const char *name;        /* the header or the table */
} extent;

static int cmp_extent(const void *a, const void *b)
{
    const extent *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static const char *extent_name(const extent *x, char *buf, size_t size)
{
    char name[LABEL_MAX];

    if (!x->entry)
        return x->name;
    snprintf(buf, size, "section %s%s", label(name, sizeof(name), x->entry->type, x->entry->index),
             x->region ? "'s memory region" : "");
    return buf;
}

static int check_overlaps(const hv_snap_reader *r, uint64_t table_offset, uint64_t table_bytes)
{
    extent *xs = hv_calloc(2 * r->count + 2, sizeof(*xs));
    size_t n = 0, last = 0;
    int rc = 0;

    if (!xs)
        return HV_E_NOMEM;
    xs[n++] = (extent){.start = 0, .end = HEADER_BYTES, .name = "the header"};
    if (table_bytes > 0)
        xs[n++] = (extent){
            .start = table_offset, .end = table_offset + table_bytes, .name = "the section table"};
    for (size_t i = 0; i < r->count; i++) {
        const snap_entry *e = &r->entries[i];

        if (e->bytes > 0)
            xs[n++] = (extent){.start = e->offset, .end = e->offset + e->bytes, .entry = e};
        if (e->type == HV_SNAP_MEMORY)
            xs[n++] = (extent){.start = e->region_offset,
                               .end = e->region_offset + e->region_bytes,
                               .entry = e,
                               .region = true};
    }
    qsort(xs, n, sizeof(*xs), cmp_extent);
    for (size_t i = 1; i < n; i++) {
        if (xs[i].start < xs[last].end) {
            char a[96], b[96];

            rc = bad(r,
                     "%s (bytes %" PRIu64 "..%" PRIu64 ") overlaps %s (bytes %" PRIu64 "..%" PRIu64
                     "): the file is corrupted",
                     extent_name(&xs[i], a, sizeof(a)), xs[i].start, xs[i].end,
                     extent_name(&xs[last], b, sizeof(b)), xs[last].start, xs[last].end);
            break;
        }
        if (xs[i].end > xs[last].end)
            last = i;
    }
    free(xs);
    return rc;
}

static int cmp_key(const void *a, const void *b)
{
    const snap_entry *x = *(const snap_entry *const *)a, *y = *(const snap_entry *const *)b;

    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int check_duplicates(const hv_snap_reader *r)
{
    const snap_entry **keys = hv_calloc(r->count, sizeof(*keys));
    int rc = 0;

    if (!keys)
        return HV_E_NOMEM;
    for (size_t i = 0; i < r->count; i++)
        keys[i] = &r->entries[i];
    qsort(keys, r->count, sizeof(*keys), cmp_key);
    for (size_t i = 1; i < r->count; i++) {
        if (cmp_key(&keys[i - 1], &keys[i]) == 0) {
            char name[LABEL_MAX];

            rc = bad(r, "section %s appears twice in the section table: the file is corrupted",
                     label(name, sizeof(name), keys[i]->type, keys[i]->index));
            break;
        }
    }
    free(keys);
    return rc;
}

/* Where a section lies: inside the file, not too big; a memory region aligned and inside. */
static int check_place(const hv_snap_reader *r, const snap_entry *e)
{
    const uint64_t size = r->file_bytes;
    char name[LABEL_MAX];

    label(name, sizeof(name), e->type, e->index);
    if (known_type(e->type) && e->bytes > MAX_SECTION_BYTES)
        return bad(r,
                   "section %s: %" PRIu64 " bytes, more than the %" PRIu64
                   " a section may have: the file is corrupted",
                   name, e->bytes, MAX_SECTION_BYTES);
    if (e->offset > size || e->bytes > size - e->offset)
        return bad(r,
                   "section %s: %" PRIu64 " bytes at offset %" PRIu64
                   " lie past the end of the file (%" PRIu64 " bytes): the file is corrupted",
                   name, e->bytes, e->offset, size);
    if (e->type != HV_SNAP_MEMORY)
        return 0;
    if (e->region_offset % HV_SNAP_MEMORY_ALIGN != 0)
        return bad(r,
                   "section %s: memory region offset %" PRIu64 " is not a multiple of %" PRIu64
                   " (2 MiB), so it cannot be mapped: the file is corrupted",
                   name, e->region_offset, HV_SNAP_MEMORY_ALIGN);
    if (e->region_bytes == 0 || e->region_bytes % HV_SNAP_PAGE_BYTES != 0)
        return bad(r,
                   "section %s: memory region of %" PRIu64
                   " bytes is not a positive multiple of the %u-byte page: the file is corrupted",
                   name, e->region_bytes, HV_SNAP_PAGE_BYTES);
    if (e->region_offset > size || e->region_bytes > size - e->region_offset)
        return bad(r,
                   "section %s: memory region of %" PRIu64 " bytes at offset %" PRIu64
                   " lies past the end of the file (%" PRIu64 " bytes): the file is corrupted",
                   name, e->region_bytes, e->region_offset, size);
    return 0;
}

/* Read a section's bytes and check its checksum; *data is the caller's on success. */
static int load_bytes(const hv_snap_reader *r, const snap_entry *e, uint8_t **data)
{
    char name[LABEL_MAX], part[LABEL_MAX + 16];
    uint8_t *buf;
    uint32_t crc;
    int rc;

    label(name, sizeof(name), e->type, e->index);
    buf = malloc(e->bytes > 0 ? (size_t)e->bytes : 1);
    if (!buf)
        return hv_error_nomem();
    snprintf(part, sizeof(part), "section %s", name);
    if ((rc = read_at(r, buf, e->bytes, e->offset, part)) < 0) {
        free(buf);
        return rc;
    }
    crc = hv_crc32c(0, buf, (size_t)e->bytes);
    if (crc != e->crc) {
        free(buf);
        return bad(r,
                   "section %s: checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
                   "): the file is corrupted",
                   name, e->crc, crc);
    }
    *data = buf;
    return 0;
}

/* A memory section: its header and bitmap against each other and the region. */
static int load_memory(const hv_snap_reader *r, snap_entry *e)
{
    char name[LABEL_MAX];
    uint64_t guest_bytes, pages, words, nonzero, count = 0;
    uint32_t page_bytes;
    uint64_t *bitmap;
    uint8_t *data;
    int rc;

    label(name, sizeof(name), e->type, e->index);
    if (e->bytes < MEM_HEADER_BYTES)
        return bad(r,
                   "section %s: %" PRIu64 " bytes, too short for its %u-byte memory header: the "
                   "file is corrupted",
                   name, e->bytes, MEM_HEADER_BYTES);
    if ((rc = load_bytes(r, e, &data)) < 0)
        return rc;
    guest_bytes = get_u64(data + M_GUEST_BYTES);
    page_bytes = get_u32(data + M_PAGE_BYTES);
    nonzero = get_u64(data + M_NONZERO_PAGES);
    pages = guest_bytes / HV_SNAP_PAGE_BYTES;
    words = (pages + 63) / 64;
    rc = 0;
    if (page_bytes != HV_SNAP_PAGE_BYTES)
        rc = bad(r,
                 "section %s: page size %" PRIu32 ", but format version 1 uses %u: the file is "
                 "corrupted",
                 name, page_bytes, HV_SNAP_PAGE_BYTES);
    else if (guest_bytes != e->region_bytes)
        rc = bad(r,
                 "section %s: %" PRIu64 " bytes of guest memory, but its region has %" PRIu64
                 ": the file is corrupted",
                 name, guest_bytes, e->region_bytes);
    else if (e->bytes != MEM_HEADER_BYTES + 8 * words)
        rc = bad(r,
                 "section %s: %" PRIu64 " bytes, but the bitmap of %" PRIu64
                 " pages makes it %" PRIu64 ": the file is corrupted",
                 name, e->bytes, pages, MEM_HEADER_BYTES + 8 * words);
    if (rc < 0) {
        free(data);
        return rc;
    }
    /* decode the bitmap in place (same size, host order) */
    bitmap = (uint64_t *)(void *)data;
    for (uint64_t i = 0; i < words; i++) {
        uint64_t w = get_u64(data + MEM_HEADER_BYTES + 8 * i);

        bitmap[i] = w;
        count += (uint64_t)__builtin_popcountll(w);
    }
    if (pages % 64 != 0 && (bitmap[words - 1] >> (pages % 64)) != 0)
        rc = bad(r,
                 "section %s: the bitmap marks pages past the last one (%" PRIu64
                 ") as non-zero: the file is corrupted",
                 name, pages - 1);
    else if (count != nonzero)
        rc = bad(r,
                 "section %s: the bitmap marks %" PRIu64
                 " pages non-zero, but the section says %" PRIu64 ": the file is corrupted",
                 name, count, nonzero);
    if (rc < 0) {
        free(data);
        return rc;
    }
    e->data = data;
    e->nonzero_pages = nonzero;
    return 0;
}

static int load(hv_snap_reader *r)
{
    uint8_t header[HEADER_BYTES], *table;
    uint64_t size, got, table_offset, table_bytes;
    uint32_t version, stored, computed, flags, count;
    struct stat st;
    int rc;

    if (fstat(r->fd, &st) < 0)
        return hv_error_set_errno(HV_E_IO, errno, r->what, "%s: cannot stat the snapshot",
                                  r->shown);
    if (!S_ISREG(st.st_mode))
        return bad(r, "not a regular file: a snapshot is a file");
    size = (uint64_t)st.st_size;
    if (size == 0)
        return bad(r, "the file is empty (0 bytes): it is not a snapshot, or writing it never "
                      "finished");

    /* magic, then the version: a newer format is refused as newer, not as corrupt */
    got = size < HEADER_BYTES ? size : HEADER_BYTES;
    memset(header, 0, sizeof(header));
    if ((rc = read_at(r, header, got, 0, "the header")) < 0)
        return rc;
    if (memcmp(header, HV_SNAP_MAGIC, got < 8 ? (size_t)got : 8) != 0)
        return bad(r,
                   "not an hpcvirt snapshot: it starts with %02x %02x %02x %02x %02x %02x %02x "
                   "%02x, not \"HVSNAP\\r\\n\"",
                   header[0], header[1], header[2], header[3], header[4], header[5], header[6],
                   header[7]);
    if (got >= H_VERSION + 4) {
        version = get_u32(header + H_VERSION);
        if (version > HV_SNAP_FORMAT_VERSION)
            return bad(r,
                       "header: snapshot format version %" PRIu32
                       " is newer than this hpcvirt supports (version %d): open it with the "
                       "hpcvirt that wrote it, or a newer one",
                       version, HV_SNAP_FORMAT_VERSION);
        if (version == 0)
            return bad(r, "header: format version 0 is not valid: the file is corrupted");
    }
    if (size < HEADER_BYTES)
        return bad(r,
                   "truncated: the file has %" PRIu64 " bytes, less than its %u-byte header: the "
                   "snapshot was not written or copied completely",
                   size, HEADER_BYTES);
    stored = get_u32(header + H_HEADER_CRC);
    put_u32(header + H_HEADER_CRC, 0);
    computed = hv_crc32c(0, header, sizeof(header));
    if (stored != computed)
        return bad(r,
                   "header: checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
                   "): the file is corrupted",
                   stored, computed);
    if (get_u32(header + H_HEADER_BYTES) != HEADER_BYTES)
        return bad(r,
                   "header: header size %" PRIu32 ", but format version 1 has a %u-byte header: "
                   "the file is corrupted",
                   get_u32(header + H_HEADER_BYTES), HEADER_BYTES);
    flags = get_u32(header + H_FLAGS);
    if (flags != 0)
        return bad(r,
                   "header: unknown flags 0x%08" PRIx32 " (format version 1 defines none): the "
                   "file was written by a newer or broken writer",
                   flags);
    r->file_bytes = get_u64(header + H_FILE_BYTES);
    if (size < r->file_bytes)
        return bad(r,
                   "truncated: the file has %" PRIu64 " bytes but its header says %" PRIu64
                   ": the snapshot was not written or copied completely",
                   size, r->file_bytes);
    if (size > r->file_bytes)
        return bad(r,
                   "the file has %" PRIu64 " bytes, more than the %" PRIu64
                   " its header says: something was appended to it or it is corrupted",
                   size, r->file_bytes);

    /* the section table */
    count = get_u32(header + H_SECTION_COUNT);
    table_offset = get_u64(header + H_TABLE_OFFSET);
    table_bytes = get_u64(header + H_TABLE_BYTES);
    if (count > MAX_SECTIONS)
        return bad(r,
                   "section table: %" PRIu32 " sections, more than the %u a snapshot may have: "
                   "the file is corrupted",
                   count, MAX_SECTIONS);
    if (table_bytes != (uint64_t)count * ENTRY_BYTES)
        return bad(r,
                   "section table: %" PRIu64 " bytes, but %" PRIu32 " sections take %" PRIu64
                   ": the file is corrupted",
                   table_bytes, count, (uint64_t)count * ENTRY_BYTES);
    if (table_offset > size || table_bytes > size - table_offset)
        return bad(r,
                   "section table: %" PRIu64 " bytes at offset %" PRIu64
                   " lie past the end of the file (%" PRIu64 " bytes): the file is corrupted",
                   table_bytes, table_offset, size);
    table = malloc(table_bytes > 0 ? (size_t)table_bytes : 1);
    if (!table)
        return hv_error_nomem();
    if ((rc = read_at(r, table, table_bytes, table_offset, "the section table")) < 0) {
        free(table);
        return rc;
    }
    stored = get_u32(header + H_TABLE_CRC);
    computed = hv_crc32c(0, table, (size_t)table_bytes);
    if (stored != computed) {
        free(table);
        return bad(r,
                   "section table: checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
                   "): the file is corrupted",
                   stored, computed);
    }
    r->entries = hv_calloc(count ? count : 1, sizeof(*r->entries));
    if (!r->entries) {
        free(table);
        return HV_E_NOMEM;
    }
    r->count = count;
    for (size_t i = 0; i < count; i++)
        decode_entry(table + i * ENTRY_BYTES, &r->entries[i]);
    free(table);

    /* where everything lies, then what it holds */
    for (size_t i = 0; i < r->count; i++)
        if ((rc = check_place(r, &r->entries[i])) < 0)
            return rc;
    if ((rc = check_duplicates(r)) < 0 || (rc = check_overlaps(r, table_offset, table_bytes)) < 0)
        return rc;
    for (size_t i = 0; i < r->count; i++) {
        snap_entry *e = &r->entries[i];
        uint8_t *data;

        if (e->type == HV_SNAP_MEMORY)
            rc = load_memory(r, e);
        else if (known_type(e->type) && (rc = load_bytes(r, e, &data)) == 0)
            e->data = data;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int hv_snap_reader_open_fd(int fd, const char *what, hv_snap_reader **reader)
{
    hv_snap_reader *r;
    char shown[PATH_QUOTE_SIZE];
    int rc;

    HV_CHECK_ARG(reader, "reader");
    *reader = NULL;
    if (!what)
        what = "snapshot";
    hv_quote(shown, sizeof(shown), what);
    if (fd < 0)
        return hv_error_set(HV_E_INVAL, what, "%s: %d is not an open file descriptor", shown, fd);
    r = hv_calloc(1, sizeof(*r));
    if (!r)
        return HV_E_NOMEM;
    r->fd = -1;
    memcpy(r->shown, shown, sizeof(shown));
    r->what = hv_strdup(what);
    if (!r->what) {
        hv_snap_reader_close(r);
        return HV_E_NOMEM;
    }
    r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (r->fd < 0) {
        int err = errno;

        hv_snap_reader_close(r);
        return hv_error_set_errno(HV_E_IO, err, what, "%s: cannot duplicate descriptor %d", shown,
                                  fd);
    }
    rc = load(r);
    if (rc < 0) {
        hv_snap_reader_close(r);
        return rc;
    }
    *reader = r;
    return 0;
}

int hv_snap_reader_open(const char *path, hv_snap_reader **reader)
{
    int fd, rc;

    HV_CHECK_ARG(reader, "reader");
    *reader = NULL;
    HV_CHECK_ARG(path, "path");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        char shown[PATH_QUOTE_SIZE];

        hv_quote(shown, sizeof(shown), path);
        if (err == ENOENT)
            return hv_error_set(HV_E_NOTFOUND, path, "%s: no such snapshot file", shown);
        return hv_error_set_errno(err == EACCES ? HV_E_PERM : HV_E_IO, err, path,
                                  "%s: cannot open the snapshot", shown);
    }
    rc = hv_snap_reader_open_fd(fd, path, reader);
    close(fd);
    return rc;
}

void hv_snap_reader_close(hv_snap_reader *reader)
{
    if (!reader)
        return;
    for (size_t i = 0; i < reader->count; i++)
        free(reader->entries[i].data);
    free(reader->entries);
    if (reader->fd >= 0)
        close(reader->fd);
    free(reader->what);
    free(reader);
}

size_t hv_snap_section_count(const hv_snap_reader *reader, uint32_t type)
{
    size_t n = 0;

    if (!reader || !known_type(type))
        return 0;
    for (size_t i = 0; i < reader->count; i++)
        n += reader->entries[i].type == type;
    return n;
}

/* A section of a known type, or an HV_E_SNAPSHOT error saying it is missing. */
static int find(const hv_snap_reader *r, uint32_t type, uint32_t index, const snap_entry **entry)
{
    char name[LABEL_MAX];

    *entry = NULL;
    if (known_type(type))
        for (size_t i = 0; i < r->count; i++)
            if (r->entries[i].type == type && r->entries[i].index == index) {
                *entry = &r->entries[i];
                return 0;
            }
    return bad(r,
               "section %s is missing (the file has %zu %s section%s): it was not written by an "
               "engine that this one can restore from",
               label(name, sizeof(name), type, index), hv_snap_section_count(r, type),
               hv_snap_section_name(type), hv_snap_section_count(r, type) == 1 ? "" : "s");
}

int hv_snap_section(const hv_snap_reader *reader, uint32_t type, uint32_t index, const void **data,
                    uint64_t *bytes)
{
    static const uint8_t empty[1];
    const snap_entry *e;
    int rc;

    HV_CHECK_ARG(reader, "reader");
    HV_CHECK_ARG(data, "data");
    HV_CHECK_ARG(bytes, "bytes");
    *data = NULL;
    *bytes = 0;
    if (type == HV_SNAP_MEMORY)
        return hv_error_set(HV_E_INVAL, reader->what,
                            "%s: memory sections are mapped, not read: use "
                            "hv_snap_memory_region()",
                            reader->shown);
    if ((rc = find(reader, type, index, &e)) < 0)
        return rc;
    *data = e->bytes > 0 ? e->data : empty;
    *bytes = e->bytes;
    return 0;
}

int hv_snap_memory_region(const hv_snap_reader *reader, uint32_t index, hv_snap_memory *region)
{
    const snap_entry *e;
    int rc;

    HV_CHECK_ARG(reader, "reader");
    HV_CHECK_ARG(region, "region");
    memset(region, 0, sizeof(*region));
    region->fd = -1;
    if ((rc = find(reader, HV_SNAP_MEMORY, index, &e)) < 0)
        return rc;
    region->bytes = e->region_bytes;
    region->file_offset = e->region_offset;
    region->nonzero_pages = e->nonzero_pages;
    region->fd = reader->fd;
    region->bitmap = e->data;
    return 0;
}

int hv_snap_memory_verify(const hv_snap_reader *reader, uint32_t index, const uint8_t *mapped)
{
    char name[LABEL_MAX];
    const snap_entry *e;
    const uint64_t *bitmap;
    uint64_t pages;
    uint32_t crc = 0;
    int rc;

    HV_CHECK_ARG(reader, "reader");
    HV_CHECK_ARG(mapped, "mapped");
    if ((rc = find(reader, HV_SNAP_MEMORY, index, &e)) < 0)
        return rc;
    label(name, sizeof(name), e->type, e->index);
    bitmap = e->data;
    pages = e->region_bytes / HV_SNAP_PAGE_BYTES;
    for (uint64_t p = 0; p < pages; p++) {
        const uint8_t *page = mapped + p * HV_SNAP_PAGE_BYTES;

        if ((bitmap[p / 64] >> (p % 64)) & 1)
            crc = hv_crc32c(crc, page, HV_SNAP_PAGE_BYTES);
        else if (!page_is_zero(page))
            return bad(reader,
                       "section %s: page %" PRIu64 " (guest offset 0x%" PRIx64
                       ") is not zero, but the bitmap says it is: the file is corrupted",
                       name, p, p * HV_SNAP_PAGE_BYTES);
    }
    if (crc != e->region_crc)
        return bad(reader,
                   "section %s: memory region checksum mismatch (stored 0x%08" PRIx32
                   ", computed 0x%08" PRIx32 "): the file is corrupted",
                   name, e->region_crc, crc);
    return 0;
}

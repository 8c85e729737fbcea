/*
 * fuzz/fuzz-snapshot.c - libFuzzer target for the snapshot file container
 * (lib/kvm/snapshot-file.h, docs/snapshot-format.md). The first byte of an
 * input says what the rest is:
 *
 *   0x01  FIXED: a snapshot file whose checksums the target recomputes
 *         (each table entry's section CRC32C, then the table's, then the
 *         header's) before it opens it, and that it extends with zeros up
 *         to the size the header says (at most 4 MiB). Mutations then get
 *         past the checksums to the checks behind them, and a memory
 *         region (at a multiple of 2 MiB) fits in a small input: its pages
 *         are holes.
 *   0x02  SYNTHESIZED: a recipe (below) the target writes with the writer
 *         into a file in a temporary directory (a memfd cannot be renamed
 *         over a path), reads back and compares with what it wrote; then
 *         it flips one byte of the file, if the recipe says where, and
 *         checks that the reader or hv_snap_memory_verify() notices
 *         whenever the byte is covered by a checksum. Seeds with memory
 *         sections stay small this way: a real snapshot with a memory
 *         region is over 2 MiB long (the region starts 2 MiB-aligned).
 *   other the input is a snapshot file as it is (a real one starts "HVSNAP").
 *
 * Every file is opened from a memfd (FIXED, other) or its path
 * (SYNTHESIZED). Invariants: a rejected file leaves no reader and an
 * HV_E_SNAPSHOT error (or HV_E_NOMEM) that is the return and whose message
 * starts with the file's name. An accepted one has every section of a
 * known type readable, equal to its bytes in the file and to its checksum;
 * every memory region 2 MiB-aligned inside the file, mappable, with a
 * bitmap that counts its non-zero pages, and hv_snap_memory_verify()
 * agreeing with an independent check of the region against its checksum
 * and bitmap. An accepted FIXED or raw file then goes through what a resume
 * reads first, hv_kvm_snapshot_read_meta() (lib/kvm/snapshot.h): it fails
 * with HV_E_SNAPSHOT (or HV_E_NOMEM) whose message starts with the file's
 * name, or hands out a meta that keeps the rules (a spec's name, a printable
 * payload path, vCPU and node counts in range, one affinity entry per vCPU,
 * the plan section's exact bytes as valid UTF-8). Every message is printable
 * UTF-8. Nothing crashes, nothing leaks (memory, descriptors).
 *
 * Recipe (SYNTHESIZED), one operation after another, each starting with a
 * byte k (k % 8):
 *   0..4  a section of type k % 8 + 1 (meta ... console): index (a byte,
 *         % 4), length (a byte), that many bytes of data
 *   5     memory: index (a byte, % 4), pages (a byte, % 8 + 1), then one
 *         byte per page: 0 a zero page; odd a page full of bytes; even a
 *         zero page but for one byte at an offset derived from it
 *   6     a section of a type this version does not know (9 + a byte)
 *   7     corruption: a 4-byte offset (little-endian, modulo the file's
 *         size) and a byte to XOR there (made odd, so it changes something)
 * Adding the same (type, index) twice must be refused with HV_E_INVAL.
 * The files go in a directory under /dev/shm when there is one (fsync is
 * free on tmpfs), else under /tmp; it is removed at exit.
 */
#include "fuzz.h"
#include "core/text.h"
#include "kvm/snapshot-file.h"
#include "kvm/snapshot.h"
#include "plan/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hpcvirt/error.h>

#define MODE_FIXED      0x01
#define MODE_SYNTH      0x02
#define PAGE            HV_SNAP_PAGE_BYTES
#define FIXED_MAX_BYTES (UINT64_C(4) << 20)
#define NAME            "fuzz.snap"

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

/* The lowest free descriptor: the same before and after means nothing leaked one. */
static int lowest_free_fd(void)
{
    int fd = dup(0);

    CHECK(fd >= 0);
    close(fd);
    return fd;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static bool pread_all(int fd, void *buf, uint64_t bytes, uint64_t offset)
{
    return pread(fd, buf, (size_t)bytes, (off_t)offset) == (ssize_t)bytes;
}

/* Whether `text` is printable UTF-8: nothing in it acts on a terminal that shows it. */
static bool printable(const char *text)
{
    return hv_text_unprintable_at(text, strlen(text)) == strlen(text);
}

/* A rejected file: no reader, and the error is the return. */
static void check_rejected(int rc, const hv_snap_reader *r, const char *name)
{
    CHECK(rc < 0);
    CHECK(r == NULL);
    CHECK(hv_error_code_of(hv_error_last()) == rc);
    CHECK(rc == HV_E_SNAPSHOT || rc == HV_E_NOMEM);
    if (rc == HV_E_SNAPSHOT)
        CHECK(strncmp(hv_error_message(hv_error_last()), name, strlen(name)) == 0);
    CHECK(printable(hv_error_message(hv_error_last())));
}

/* What a resume reads first (the meta and plan sections) from an accepted file. */
static void check_meta(const hv_snap_reader *r)
{
    hv_kvm_snapshot_meta m;
    const void *plan = NULL;
    uint64_t plan_bytes = 0;
    int rc;

    hv_error_clear();
    rc = hv_kvm_snapshot_read_meta(r, NAME, &m);
    if (rc < 0) {
        CHECK(rc == HV_E_SNAPSHOT || rc == HV_E_NOMEM);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        if (rc == HV_E_SNAPSHOT)
            CHECK(strncmp(hv_error_message(hv_error_last()), NAME ": ", strlen(NAME ": ")) == 0);
        CHECK(printable(hv_error_message(hv_error_last())));
        hv_kvm_snapshot_meta_clear(&m);
        return;
    }
    CHECK(m.name && hv_spec_check_name(m.name, "name") == 0);
    CHECK(m.payload_path && printable(m.payload_path));
    CHECK(m.vcpus >= 1 && m.vcpus <= HV_KVM_MAX_VCPUS);
    CHECK(m.node_count >= 1 && m.node_count <= HV_KVM_MAX_NODES);
    CHECK(json_object_array_length(m.affinity) == (size_t)m.vcpus);
    if (hv_snap_section_count(r, HV_SNAP_PLAN) == 0) {
        CHECK(m.plan_json == NULL);
    } else {
        CHECK(hv_snap_section(r, HV_SNAP_PLAN, 0, &plan, &plan_bytes) == 0);
        CHECK(m.plan_json && strlen(m.plan_json) == plan_bytes);
        CHECK(memcmp(m.plan_json, plan, (size_t)plan_bytes) == 0);
        CHECK(hv_utf8_valid(m.plan_json, (size_t)plan_bytes));
    }
    hv_kvm_snapshot_meta_clear(&m);
    CHECK(m.root == NULL && m.payload_path == NULL && m.plan_json == NULL);
}

/* What hv_snap_memory_verify() must say, computed independently. */
static bool region_ok(const uint8_t *map, const hv_snap_memory *m, uint32_t stored_crc)
{
    uint32_t crc = 0;

    for (uint64_t p = 0; p < m->bytes / PAGE; p++) {
        const uint8_t *page = map + p * PAGE;

        if ((m->bitmap[p / 64] >> (p % 64)) & 1)
            crc = hv_crc32c_portable(crc, page, PAGE);
        else if (!is_zero(page, PAGE))
            return false;
    }
    return crc == stored_crc;
}

/*
 * An accepted file: every entry of its table against what the reader hands
 * out. `bad_region` (or -1) is a memory section whose region must fail to
 * verify; returns how many regions failed.
 */
static int check_accepted(hv_snap_reader *r, int fd, uint64_t size, long bad_region)
{
    uint8_t header[4096], *table;
    uint64_t table_bytes;
    uint32_t count;
    size_t per_type[HV_SNAP_DEVICES + 1] = {0};
    int failed = 0;

    CHECK(size >= sizeof(header) && pread_all(fd, header, sizeof(header), 0));
    count = get32(header + H_SECTION_COUNT);
    table_bytes = get64(header + H_TABLE_BYTES);
    CHECK(table_bytes == (uint64_t)count * 64 && get64(header + H_FILE_BYTES) == size);
    CHECK(get64(header + H_TABLE_OFFSET) <= size - table_bytes);
    table = malloc(table_bytes ? (size_t)table_bytes : 1);
    CHECK(table && pread_all(fd, table, table_bytes, get64(header + H_TABLE_OFFSET)));
    CHECK(hv_crc32c(0, table, (size_t)table_bytes) == get32(header + H_TABLE_CRC));

    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = table + 64 * (size_t)i;
        uint32_t type = get32(e + E_TYPE), index = get32(e + E_INDEX);
        uint64_t offset = get64(e + E_OFFSET), bytes = get64(e + E_BYTES);
        const void *data = NULL;
        uint64_t got = 0;
        hv_snap_memory m;
        uint8_t *map;
        bool ok;
        int rc;

        CHECK(offset <= size && bytes <= size - offset);
        if (type >= HV_SNAP_META && type <= HV_SNAP_DEVICES)
            per_type[type]++;
        if (type != HV_SNAP_MEMORY) {
            rc = hv_snap_section(r, type, index, &data, &got);
            if (type < HV_SNAP_META || type > HV_SNAP_DEVICES) {
                /* a type this version does not know is invisible */
                CHECK(rc == HV_E_SNAPSHOT && data == NULL);
                continue;
            }
            CHECK(rc == 0 && data != NULL && got == bytes);
            CHECK(hv_crc32c(0, data, (size_t)got) == get32(e + E_CRC));
            if (bytes > 0) {
                uint8_t *copy = malloc((size_t)bytes);

                CHECK(copy && pread_all(fd, copy, bytes, offset));
                CHECK(memcmp(copy, data, (size_t)bytes) == 0);
                free(copy);
            }
            continue;
        }
        CHECK(hv_snap_memory_region(r, index, &m) == 0);
        CHECK(m.bytes == get64(e + E_REGION_BYTES) && m.file_offset == get64(e + E_REGION_OFFSET));
        CHECK(m.bytes > 0 && m.bytes % PAGE == 0);
        CHECK(m.file_offset % HV_SNAP_MEMORY_ALIGN == 0);
        CHECK(m.file_offset <= size && m.bytes <= size - m.file_offset);
        CHECK(m.fd >= 0 && m.bitmap != NULL);
        {
            uint64_t words = (m.bytes / PAGE + 63) / 64, bits = 0;

            for (uint64_t w = 0; w < words; w++)
                bits += (uint64_t)__builtin_popcountll(m.bitmap[w]);
            CHECK(bits == m.nonzero_pages);
            CHECK(bytes == 24 + 8 * words);
        }
        map = mmap(NULL, (size_t)m.bytes, PROT_READ, MAP_PRIVATE, m.fd, (off_t)m.file_offset);
        CHECK(map != MAP_FAILED);
        hv_error_clear();
        rc = hv_snap_memory_verify(r, index, map);
        ok = region_ok(map, &m, get32(e + E_REGION_CRC));
        CHECK(rc == (ok ? 0 : HV_E_SNAPSHOT));
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        if (bad_region >= 0 && index == (uint32_t)bad_region)
            CHECK(rc == HV_E_SNAPSHOT);
        failed += rc < 0;
        munmap(map, (size_t)m.bytes);
    }
    for (uint32_t type = HV_SNAP_META; type <= HV_SNAP_DEVICES; type++)
        CHECK(hv_snap_section_count(r, type) == per_type[type]);
    free(table);
    return failed;
}

/* Open `fd` (holding a file of `size` bytes) and check whatever the reader decides. */
static void check_fd(int fd, uint64_t size)
{
    hv_snap_reader *r = (hv_snap_reader *)(uintptr_t)1;
    int rc;

    hv_error_clear();
    rc = hv_snap_reader_open_fd(fd, NAME, &r);
    if (rc < 0) {
        check_rejected(rc, r, NAME);
        return;
    }
    CHECK(rc == 0 && r != NULL);
    check_accepted(r, fd, size, -1);
    check_meta(r);
    hv_snap_reader_close(r);
}

static int new_memfd(void)
{
    int fd = memfd_create("fuzz-snapshot", MFD_CLOEXEC);

    CHECK(fd >= 0);
    return fd;
}

static void run_raw(const uint8_t *data, size_t size)
{
    int fd = new_memfd();

    CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
    check_fd(fd, size);
    close(fd);
}

/* ---- FIXED ------------------------------------------------------------------------- */

/* CRC32C of bytes offset..offset+bytes of an image whose first n bytes are `img`, zeros after. */
static uint32_t crc_range(const uint8_t *img, uint64_t n, uint64_t offset, uint64_t bytes)
{
    static const uint8_t zeros[65536];
    uint32_t crc = 0;

    if (offset < n) {
        uint64_t in = bytes < n - offset ? bytes : n - offset;

        crc = hv_crc32c(crc, img + offset, (size_t)in);
        bytes -= in;
    }
    while (bytes > 0) {
        uint64_t chunk = bytes < sizeof(zeros) ? bytes : sizeof(zeros);

        crc = hv_crc32c(crc, zeros, (size_t)chunk);
        bytes -= chunk;
    }
    return crc;
}

static void run_fixed(const uint8_t *data, size_t n)
{
    uint8_t *img = malloc(n ? n : 1);
    uint64_t logical = n;
    int fd;

    CHECK(img);
    memcpy(img, data, n);
    if (n >= 4096) {
        uint64_t file_bytes = get64(img + H_FILE_BYTES);
        uint64_t table = get64(img + H_TABLE_OFFSET), table_bytes = get64(img + H_TABLE_BYTES);

        if (file_bytes > n && file_bytes <= FIXED_MAX_BYTES)
            logical = file_bytes;
        /* each entry that lies in the input, each section that lies in the file */
        for (uint64_t e = table; e < n && n - e >= 64 && e - table < table_bytes; e += 64) {
            uint64_t offset = get64(img + e + E_OFFSET), bytes = get64(img + e + E_BYTES);

            if (offset <= logical && bytes <= logical - offset)
                put32(img + e + E_CRC, crc_range(img, n, offset, bytes));
        }
        if (table <= logical && table_bytes <= logical - table)
            put32(img + H_TABLE_CRC, crc_range(img, n, table, table_bytes));
        put32(img + H_HEADER_CRC, 0);
        put32(img + H_HEADER_CRC, hv_crc32c(0, img, 4096));
    }
    fd = new_memfd();
    CHECK(n == 0 || pwrite(fd, img, n, 0) == (ssize_t)n);
    CHECK(ftruncate(fd, (off_t)logical) == 0);
    free(img);
    check_fd(fd, logical);
    close(fd);
}

/* ---- SYNTHESIZED ------------------------------------------------------------------- */

#define MAX_OPS   24
#define MAX_PAGES 64

typedef struct model_section {
    uint32_t type, index;
    const uint8_t *data; /* into the input */
    uint64_t bytes;
    uint8_t *mem; /* memory: the guest pages */
} model_section;

typedef struct recipe {
    const uint8_t *p, *end;
} recipe;

static bool take(recipe *rc, uint8_t *b)
{
    if (rc->p >= rc->end)
        return false;
    *b = *rc->p++;
    return true;
}

static char synth_dir[64];

static void remove_synth_dir(void)
{
    if (synth_dir[0])
        rmdir(synth_dir);
}

static const char *synth_path(void)
{
    static char path[96];

    if (!synth_dir[0]) {
        struct stat st;
        const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";

        snprintf(synth_dir, sizeof(synth_dir), "%s/hv-fuzz-snapshot.XXXXXX", base);
        if (!mkdtemp(synth_dir)) {
            snprintf(synth_dir, sizeof(synth_dir), "/tmp/hv-fuzz-snapshot.XXXXXX");
            CHECK(mkdtemp(synth_dir) != NULL);
        }
        atexit(remove_synth_dir);
        snprintf(path, sizeof(path), "%s/snap", synth_dir);
    }
    return path;
}

static void fill_page(uint8_t *page, uint8_t pattern)
{
    memset(page, 0, PAGE);
    if (pattern == 0)
        return;
    if (pattern & 1) {
        for (size_t i = 0; i < PAGE; i++)
            page[i] = (uint8_t)(pattern + i * 7);
    } else {
        page[((size_t)pattern * 131u) % PAGE] = pattern;
    }
}

/* Which part of the file a byte is in: 0 nothing checked, 1 checked on open, 2 a region. */
static int covered(int fd, uint64_t size, uint64_t at, uint32_t *region_index)
{
    uint8_t header[4096], *table;
    uint64_t table_offset, table_bytes;
    int kind = 0;

    CHECK(pread_all(fd, header, sizeof(header), 0));
    if (at < sizeof(header))
        return 1;
    table_offset = get64(header + H_TABLE_OFFSET);
    table_bytes = get64(header + H_TABLE_BYTES);
    CHECK(table_offset <= size && table_bytes <= size - table_offset);
    if (at >= table_offset && at - table_offset < table_bytes)
        return 1;
    table = malloc(table_bytes ? (size_t)table_bytes : 1);
    CHECK(table && pread_all(fd, table, table_bytes, table_offset));
    for (uint64_t e = 0; e < table_bytes; e += 64) {
        uint32_t type = get32(table + e + E_TYPE);
        uint64_t offset = get64(table + e + E_OFFSET), bytes = get64(table + e + E_BYTES);
        uint64_t region = get64(table + e + E_REGION_OFFSET);

        if (type >= HV_SNAP_META && type <= HV_SNAP_DEVICES && at >= offset && at - offset < bytes)
            kind = 1;
        if (type == HV_SNAP_MEMORY && at >= region &&
            at - region < get64(table + e + E_REGION_BYTES)) {
            kind = 2;
            *region_index = get32(table + e + E_INDEX);
        }
    }
    free(table);
    return kind;
}

static void run_synth(const uint8_t *data, size_t size)
{
    recipe rc = {data, data + size};
    model_section model[MAX_OPS];
    size_t n = 0, pages_used = 0;
    bool corrupt = false;
    uint32_t corrupt_at = 0;
    uint8_t corrupt_xor = 1, k;
    const char *path = synth_path();
    hv_snap_writer *w;
    hv_snap_reader *r;
    int ret;

    hv_error_clear();
    CHECK(hv_snap_writer_open(path, &w) == 0);
    while (n < MAX_OPS && take(&rc, &k)) {
        model_section s = {0};
        uint8_t b = 0, len = 0;

        switch (k % 8) {
        case 7:
            for (int i = 0; i < 4; i++) {
                uint8_t x = 0;

                take(&rc, &x);
                corrupt_at |= (uint32_t)x << (8 * i);
            }
            take(&rc, &corrupt_xor);
            corrupt_xor |= 1;
            corrupt = true;
            continue;
        case 5: {
            uint8_t count = 0;

            take(&rc, &b);
            take(&rc, &count);
            s.type = HV_SNAP_MEMORY;
            s.index = b % 4u;
            s.bytes = (uint64_t)(count % 8u + 1) * PAGE;
            if (pages_used + s.bytes / PAGE > MAX_PAGES)
                continue;
            s.mem = aligned_alloc(PAGE, (size_t)s.bytes);
            CHECK(s.mem);
            for (uint64_t p = 0; p < s.bytes / PAGE; p++) {
                uint8_t pattern = 0;

                take(&rc, &pattern);
                fill_page(s.mem + p * PAGE, pattern);
            }
            ret = hv_snap_writer_add_memory(w, s.index, s.mem, s.bytes);
            break;
        }
        default:
            if (k % 8 == 6) {
                take(&rc, &b);
                s.type = HV_SNAP_DEVICES + 1u + b;
            } else {
                s.type = k % 8u + 1;
            }
            take(&rc, &b);
            take(&rc, &len);
            s.index = b % 4u;
            s.data = rc.p;
            s.bytes = len < (size_t)(rc.end - rc.p) ? len : (size_t)(rc.end - rc.p);
            rc.p += s.bytes;
            ret = hv_snap_writer_add(w, s.type, s.index, s.data, s.bytes);
            break;
        }
        {
            bool dup = false;

            for (size_t i = 0; i < n; i++)
                dup |= model[i].type == s.type && model[i].index == s.index;
            if (dup) {
                CHECK(ret == HV_E_INVAL && hv_error_code_of(hv_error_last()) == ret);
                free(s.mem);
                continue;
            }
        }
        CHECK(ret == 0);
        pages_used += s.mem ? s.bytes / PAGE : 0;
        model[n++] = s;
    }
    CHECK(hv_snap_writer_commit(w) == 0);

    /* read it back: exactly what was written */
    CHECK(hv_snap_reader_open(path, &r) == 0);
    for (size_t i = 0; i < n; i++) {
        const model_section *s = &model[i];
        size_t same = 0;

        for (size_t j = 0; j < n; j++)
            same += model[j].type == s->type;
        if (s->type == HV_SNAP_MEMORY) {
            hv_snap_memory m;
            uint8_t *map;
            uint64_t nonzero = 0;

            CHECK(hv_snap_memory_region(r, s->index, &m) == 0);
            CHECK(m.bytes == s->bytes && m.file_offset % HV_SNAP_MEMORY_ALIGN == 0);
            for (uint64_t p = 0; p < s->bytes / PAGE; p++) {
                bool nz = !is_zero(s->mem + p * PAGE, PAGE);

                CHECK(nz == (bool)((m.bitmap[p / 64] >> (p % 64)) & 1));
                nonzero += nz;
            }
            CHECK(m.nonzero_pages == nonzero);
            map = mmap(NULL, (size_t)m.bytes, PROT_READ, MAP_PRIVATE, m.fd, (off_t)m.file_offset);
            CHECK(map != MAP_FAILED);
            CHECK(memcmp(map, s->mem, (size_t)s->bytes) == 0);
            CHECK(hv_snap_memory_verify(r, s->index, map) == 0);
            munmap(map, (size_t)m.bytes);
        } else if (s->type <= HV_SNAP_DEVICES) {
            const void *got;
            uint64_t bytes;

            CHECK(hv_snap_section(r, s->type, s->index, &got, &bytes) == 0);
            CHECK(bytes == s->bytes && (bytes == 0 || memcmp(got, s->data, bytes) == 0));
        }
        if (s->type <= HV_SNAP_DEVICES)
            CHECK(hv_snap_section_count(r, s->type) == same);
        else
            CHECK(hv_snap_section_count(r, s->type) == 0);
    }
    hv_snap_reader_close(r);

    /* one byte changed: noticed wherever a checksum covers it */
    if (corrupt) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        struct stat st;
        uint32_t region = 0;
        uint64_t at;
        uint8_t byte;
        int kind;

        CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0);
        at = corrupt_at % (uint64_t)st.st_size;
        kind = covered(fd, (uint64_t)st.st_size, at, &region);
        CHECK(pread_all(fd, &byte, 1, at));
        byte ^= corrupt_xor;
        CHECK(pwrite(fd, &byte, 1, (off_t)at) == 1);
        r = (hv_snap_reader *)(uintptr_t)1;
        hv_error_clear();
        ret = hv_snap_reader_open_fd(fd, NAME, &r);
        if (kind == 1) {
            check_rejected(ret, r, NAME);
            CHECK(ret == HV_E_SNAPSHOT);
        } else {
            CHECK(ret == 0);
            CHECK(check_accepted(r, fd, (uint64_t)st.st_size, kind == 2 ? (long)region : -1) ==
                  (kind == 2));
            hv_snap_reader_close(r);
        }
        close(fd);
    }
    CHECK(unlink(path) == 0);
    for (size_t i = 0; i < n; i++)
        free(model[i].mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int free_fd = lowest_free_fd();

    if (size > 0 && data[0] == MODE_FIXED)
        run_fixed(data + 1, size - 1);
    else if (size > 0 && data[0] == MODE_SYNTH)
        run_synth(data + 1, size - 1);
    else
        run_raw(data, size);
    CHECK(lowest_free_fd() == free_fd);
    return 0;
}

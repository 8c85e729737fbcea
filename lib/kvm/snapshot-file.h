/*
 * kvm/snapshot-file.h - the snapshot file container, format version 1
 * (internal; the format is docs/snapshot-format.md): a header page, typed
 * sections each with a CRC32C, and memory sections laid out so they can be
 * mapped straight from the file (zero pages are holes). Writing is durable
 * and atomic (temporary file in the same directory, fsync, rename, fsync of
 * the directory, mode 0600); reading checks everything before anything is
 * handed out, and every failure is HV_E_SNAPSHOT naming the section and the
 * check that failed.
 *
 * This layer knows nothing of KVM: what goes into the sections is the
 * engine's business (kvm/snapshot.c).
 */
#ifndef HV_KVM_SNAPSHOT_FILE_H
#define HV_KVM_SNAPSHOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_SNAP_FORMAT_VERSION 1
/** 8 bytes at offset 0. */
#define HV_SNAP_MAGIC "HVSNAP\r\n"
/** Memory regions start at multiples of this in the file (mappable, huge-page friendly). */
#define HV_SNAP_MEMORY_ALIGN (UINT64_C(2) << 20)
/** The unit zero-page detection and the memory bitmap use. */
#define HV_SNAP_PAGE_BYTES 4096u

typedef enum hv_snap_section_type {
    HV_SNAP_META = 1,     /**< the engine's description of the VM (JSON text) */
    HV_SNAP_PLAN = 2,     /**< the plan the VM was created from (JSON text, informational) */
    HV_SNAP_PAYLOAD = 3,  /**< the guest payload file, so the VM can be started again */
    HV_SNAP_VCPU = 4,     /**< one per vCPU (index = vCPU), the engine's binary state record */
    HV_SNAP_CONSOLE = 5,  /**< the console bytes kept */
    HV_SNAP_MEMORY = 6,   /**< one per vNUMA node (index = node): bitmap + mappable region */
    HV_SNAP_PLATFORM = 7, /**< a Linux guest's PICs, IOAPIC, PIT and clock (a binary record) */
    HV_SNAP_DEVICES = 8   /**< a Linux guest's devices: COM1, virtio (a binary record) */
} hv_snap_section_type;

/** A short name for messages ("vcpu", "memory", ...). */
const char *hv_snap_section_name(uint32_t type);

/**
 * CRC32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2. Start
 * with crc = 0 and pass the result to continue: hv_crc32c(hv_crc32c(0, a), b)
 * is the CRC of a followed by b.
 */
uint32_t hv_crc32c(uint32_t crc, const void *data, size_t bytes);
/** The portable, table-driven CRC32C hv_crc32c() falls back to (for tests). */
uint32_t hv_crc32c_portable(uint32_t crc, const void *data, size_t bytes);
/** Whether hv_crc32c() uses the CPU's crc32 instruction on this machine. */
bool hv_crc32c_accelerated(void);

/* ---- writing ---------------------------------------------------------------------- */

typedef struct hv_snap_writer hv_snap_writer;

/**
 * Start a snapshot that will replace `path` when committed: a temporary
 * file in the same directory, mode 0600. HV_E_IO naming the directory when
 * it cannot be created there.
 */
int hv_snap_writer_open(const char *path, hv_snap_writer **writer);
/** Add a section (copied into the file now). */
int hv_snap_writer_add(hv_snap_writer *writer, uint32_t type, uint32_t index, const void *data,
                       uint64_t bytes);
/**
 * Add a memory section for `bytes` of guest memory at `mem` (bytes a multiple
 * of HV_SNAP_PAGE_BYTES): pages that are all zero are skipped (left as holes
 * in the file) and recorded in the section's bitmap; the rest is written at
 * its offset in a region aligned to HV_SNAP_MEMORY_ALIGN.
 */
int hv_snap_writer_add_memory(hv_snap_writer *writer, uint32_t index, const uint8_t *mem,
                              uint64_t bytes);
/**
 * Where guest memory may hold data: the next range [*start, *end) at or
 * after `offset` (bytes from the memory's start); *start at the memory's end
 * when none does. What lies before *start is zero.
 */
typedef void (*hv_snap_next_data_fn)(void *data, uint64_t offset, uint64_t *start, uint64_t *end);
/**
 * hv_snap_writer_add_memory(), reading only what `next_data(data, ...)` says
 * may hold data (NULL: all of it): the rest is recorded as zero pages without
 * being read - reading memory a guest never wrote would allocate it. The
 * file is the same as hv_snap_writer_add_memory() writes.
 */
int hv_snap_writer_add_memory_sparse(hv_snap_writer *writer, uint32_t index, const uint8_t *mem,
                                     uint64_t bytes, hv_snap_next_data_fn next_data, void *data);
/**
 * Write the section table and header, fsync, rename over the path, fsync the
 * directory. The writer is freed whatever the outcome: on failure the
 * temporary file is removed and whatever was at the path is left as it was.
 */
int hv_snap_writer_commit(hv_snap_writer *writer);
/** Drop an uncommitted snapshot (the temporary file is removed); NULL is ignored. */
void hv_snap_writer_abort(hv_snap_writer *writer);
/** Bytes of data written so far (memory pages included), for throughput figures. */
uint64_t hv_snap_writer_bytes(const hv_snap_writer *writer);

/* ---- reading ---------------------------------------------------------------------- */

typedef struct hv_snap_reader hv_snap_reader;

/**
 * Open and check a snapshot: magic, format version (a newer one is refused,
 * saying so), header and table checksums, the file's size against what the
 * header says (truncation), every section inside the file and not
 * overlapping another, each non-memory section's checksum, each memory
 * section's bitmap and its checksum. `what` names the file in messages.
 * The reader keeps its own duplicate of `fd`.
 */
int hv_snap_reader_open_fd(int fd, const char *what, hv_snap_reader **reader);
int hv_snap_reader_open(const char *path, hv_snap_reader **reader);
void hv_snap_reader_close(hv_snap_reader *reader);

/** How many sections of a type the file has. */
size_t hv_snap_section_count(const hv_snap_reader *reader, uint32_t type);
/**
 * A checked non-memory section's bytes (valid until the reader is closed).
 * HV_E_SNAPSHOT when there is no such section.
 */
int hv_snap_section(const hv_snap_reader *reader, uint32_t type, uint32_t index, const void **data,
                    uint64_t *bytes);

/** Where memory section `index` lies in the file, to be mapped MAP_PRIVATE. */
typedef struct hv_snap_memory {
    uint64_t bytes;       /**< guest bytes the region covers */
    uint64_t file_offset; /**< where the region starts (a multiple of HV_SNAP_MEMORY_ALIGN) */
    uint64_t nonzero_pages;
    int fd; /**< the reader's descriptor: valid until it is closed */
    /** bit p % 64 of word p / 64 set: page p is non-zero (valid until the reader is closed) */
    const uint64_t *bitmap;
} hv_snap_memory;
int hv_snap_memory_region(const hv_snap_reader *reader, uint32_t index, hv_snap_memory *region);
/**
 * Check the region's contents against its checksum and bitmap (pages the
 * bitmap says are zero must be zero): `mapped` is the region as mapped or
 * read. O(size): done when restoring eagerly, not on the lazy path.
 */
int hv_snap_memory_verify(const hv_snap_reader *reader, uint32_t index, const uint8_t *mapped);

#endif

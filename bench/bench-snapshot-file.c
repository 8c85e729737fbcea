/*
 * bench/bench-snapshot-file.c - throughput of the snapshot file container
 * (lib/kvm/snapshot-file.h): a guest memory of MiB mebibytes (default 1024)
 * with about half of its pages non-zero (random bytes, chosen at random) is
 * written to a snapshot in DIR (default /tmp), then opened, mapped and
 * verified. Figures are guest bytes per second (GB = 10^9 bytes):
 *
 *   write    hv_snap_writer_open + hv_snap_writer_add_memory (to the page cache)
 *   commit   table, header, fsync, rename, fsync of the directory
 *   verify   hv_snap_reader_open + mmap(MAP_PRIVATE | MAP_POPULATE) + hv_snap_memory_verify
 *
 *   build/bench/bench-snapshot-file [MiB [DIR]]
 */
#include "kvm/snapshot-file.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <hpcvirt/error.h>

#define ROUNDS 3

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench-snapshot-file: %s: %s\n", what, hv_error_message(hv_error_last()));
    return 1;
}

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    uint64_t bytes = mib << 20, pages = bytes / HV_SNAP_PAGE_BYTES, nonzero = 0,
             x = 88172645463325252u;
    char tmpdir[512], path[600];
    uint8_t *mem;

    if (mib == 0) {
        fprintf(stderr, "usage: bench-snapshot-file [MiB [DIR]]\n");
        return 64;
    }
    mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("bench-snapshot-file: mmap");
        return 1;
    }
    for (uint64_t p = 0; p < pages; p++) {
        uint64_t *w = (uint64_t *)(void *)(mem + p * HV_SNAP_PAGE_BYTES);

        if (next(&x) & 1) {
            for (size_t i = 0; i < HV_SNAP_PAGE_BYTES / 8; i++)
                w[i] = next(&x);
            nonzero++;
        } else {
            memset(w, 0, HV_SNAP_PAGE_BYTES);
        }
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/hv-bench-snap.XXXXXX", dir);
    if (!mkdtemp(tmpdir)) {
        perror("bench-snapshot-file: mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/snap", tmpdir);
    printf("snapshot of %" PRIu64 " MiB of guest memory, %" PRIu64 " of %" PRIu64
           " pages non-zero, in %s; CRC32C: %s\n",
           mib, nonzero, pages, dir, hv_crc32c_accelerated() ? "SSE4.2" : "portable");
    printf("%-6s %12s %12s %12s %12s\n", "round", "write GB/s", "commit s", "w+c GB/s",
           "verify GB/s");
    for (int round = 1; round <= ROUNDS; round++) {
        hv_snap_writer *w;
        hv_snap_reader *r;
        hv_snap_memory m;
        double t0, t1, t2, t3;
        uint8_t *map;

        t0 = now();
        if (hv_snap_writer_open(path, &w) < 0)
            return fail("hv_snap_writer_open");
        if (hv_snap_writer_add_memory(w, 0, mem, bytes) < 0)
            return fail("hv_snap_writer_add_memory");
        t1 = now();
        if (hv_snap_writer_commit(w) < 0)
            return fail("hv_snap_writer_commit");
        t2 = now();
        if (hv_snap_reader_open(path, &r) < 0 || hv_snap_memory_region(r, 0, &m) < 0)
            return fail("hv_snap_reader_open");
        map =
            mmap(NULL, m.bytes, PROT_READ, MAP_PRIVATE | MAP_POPULATE, m.fd, (off_t)m.file_offset);
        if (map == MAP_FAILED) {
            perror("bench-snapshot-file: mmap of the snapshot");
            return 1;
        }
        if (hv_snap_memory_verify(r, 0, map) < 0)
            return fail("hv_snap_memory_verify");
        munmap(map, m.bytes);
        hv_snap_reader_close(r);
        t3 = now();
        unlink(path); /* the next round writes a new file, not a replacement */
        printf("%-6d %12.2f %12.3f %12.2f %12.2f\n", round, (double)bytes / (t1 - t0) / 1e9,
               t2 - t1, (double)bytes / (t2 - t0) / 1e9, (double)bytes / (t3 - t2) / 1e9);
    }
    unlink(path);
    rmdir(tmpdir);
    munmap(mem, bytes);
    return 0;
}

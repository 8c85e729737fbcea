/*
 * bench/bench-migrate.c - live migration of the built-in engine between two
 * engines of this process over a socketpair, where /dev/kvm is:
 *   1. a 1 GiB guest that touched about 1 MiB and waits (clone-probe):
 *      total time, downtime, pages sent as a ratio of its memory (zero
 *      pages are not sent) and framing overhead;
 *   2. a guest that keeps dirtying its memory (worker, 256 MiB): rounds,
 *      pages as a ratio of its memory, total time and downtime, and the
 *      stream's throughput as a ratio of single-core memcpy bandwidth
 *      measured in the same run;
 *   3. 1 GiB guests dirtying a 256 MiB working set at 100 MB/s and at
 *      1 GB/s (dirtier-100m, dirtier-1g: paced by the TSC): total time,
 *      downtime and rounds with the default budget (300 ms, 30 rounds, or
 *      MAX_ROUNDS), then with HV_MIGRATE_THROTTLE (and how far it throttled).
 * Prints figures; not a pass/fail test. Without /dev/kvm it says so.
 *
 * usage: bench-migrate GUEST_DIR [MAX_ROUNDS]   (MAX_ROUNDS: for 3.; under emulation, where
 *        a round of 256 MiB takes seconds, a few)
 */
#include "engine-bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct destination {
    pthread_t thread;
    hv_conn *conn;
    char source[32];
    hv_vm *vm;
    int rc;
} destination;

static void *receive(void *arg)
{
    destination *d = arg;
    hv_migrate_incoming_options opts = HV_MIGRATE_INCOMING_OPTIONS_INIT;

    opts.timeout_ms = 600000;
    d->rc = hv_vm_migrate_incoming(d->conn, d->source, &opts, &d->vm);
    return NULL;
}

/* The most a migration throttled its guest (its progress callback). */
static int note_throttle(const hv_migrate_progress *p, void *data)
{
    unsigned int *most = data;

    if (p->throttle_percent > *most)
        *most = p->throttle_percent;
    return 0;
}

/* Migrate `vm` to another engine of this process with `flags`; its statistics, and how
 * far it throttled the guest in *throttled (may be NULL). */
static hv_migrate_stats migrate(hv_vm *vm, unsigned int max_rounds, unsigned int flags,
                                unsigned int *throttled)
{
    hv_migrate_options opts = HV_MIGRATE_OPTIONS_INIT;
    hv_migrate_stats stats;
    destination d;
    char dest[32];
    int sv[2];

    memset(&d, 0, sizeof(d));
    memset(&stats, 0, sizeof(stats));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        hv_conn_open("kvm:///", &d.conn) < 0)
        bench_die("a second engine");
    snprintf(d.source, sizeof(d.source), "fd:%d", sv[1]);
    snprintf(dest, sizeof(dest), "fd:%d", sv[0]);
    if (pthread_create(&d.thread, NULL, receive, &d) != 0)
        bench_die("a destination thread");
    opts.stats = &stats;
    opts.max_rounds = max_rounds;
    opts.timeout_ms = 600000;
    opts.flags = flags;
    if (throttled) {
        *throttled = 0;
        opts.progress = note_throttle;
        opts.progress_data = throttled;
    }
    if (hv_vm_migrate(vm, dest, &opts) < 0)
        bench_die("migrating");
    pthread_join(d.thread, NULL);
    if (d.rc < 0)
        bench_die("receiving");
    bench_drop(d.vm);
    hv_conn_close(d.conn);
    close(sv[0]);
    close(sv[1]);
    return stats;
}

/* Single-core memcpy bandwidth over 256 MiB, best of 3, in bytes per second. */
static double memcpy_bandwidth(void)
{
    size_t bytes = (size_t)256 << 20;
    char *a = malloc(bytes), *b = malloc(bytes);
    double best = 0;

    if (!a || !b)
        bench_die("memory for memcpy");
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = bench_now_ns();
        double rate;

        memcpy(b, a, bytes);
        rate = (double)bytes / ((double)(bench_now_ns() - t0) / 1e9);
        best = rate > best ? rate : best;
    }
    free(a);
    free(b);
    return best;
}

/* What a migration of a guest of `guest_bytes` took and sent. */
static void print(const char *what, const hv_migrate_stats *s, double guest_bytes)
{
    double seconds = (double)s->total_ns / 1e9, pages_bytes = (double)s->pages_sent * 4096;

    printf("%s: %.1f ms in all, downtime %.2f ms, %u rounds; %llu pages sent (%.4f x the guest's "
           "memory; never-written zero pages are not sent), %llu zero records; %.1f MB on the "
           "wire (framing +%.2f%%), %.0f MB/s\n",
           what, (double)s->total_ns / 1e6, (double)s->downtime_ns / 1e6, s->rounds,
           (unsigned long long)s->pages_sent, pages_bytes / guest_bytes,
           (unsigned long long)s->zero_pages, (double)s->bytes_sent / 1e6,
           pages_bytes > 0 ? ((double)s->bytes_sent / pages_bytes - 1) * 100 : 0.0,
           (double)s->bytes_sent / seconds / 1e6);
}

int main(int argc, char **argv)
{
    hv_plan *plan;
    hv_vm *vm;
    hv_migrate_stats stats;
    unsigned int max_rounds;
    double copy;

    if (argc < 2 || argc > 3 || (argc == 3 && atoi(argv[2]) <= 0)) {
        fprintf(stderr, "usage: bench-migrate GUEST_DIR [MAX_ROUNDS (1 or more)]\n");
        return 64;
    }
    max_rounds = argc == 3 ? (unsigned int)atoi(argv[2]) : 0;
    if (bench_setup("bench-migrate", argv[1]))
        return 0;
    copy = memcpy_bandwidth();
    printf("single-core memcpy: %.0f MB/s\n", copy / 1e6);

    /* 1. an idle guest: what the stream costs beside the memory it must move */
    vm = bench_running("idle", "1GiB", "clone-probe", 1, &plan);
    stats = migrate(vm, 0, 0, NULL);
    print("1. 1 GiB guest that touched about 1 MiB and waits (clone-probe)", &stats,
          (double)(1u << 30));
    bench_drop(vm);
    hv_plan_free(plan);

    /* 2. a guest that keeps writing its memory */
    vm = bench_running("dirty", "256MiB", "worker", 3, &plan);
    stats = migrate(vm, 5, 0, NULL);
    print("2. 256 MiB worker, dirtying its buffer (5 rounds at most)", &stats,
          (double)(256u << 20));
    /* its pages are non-zero: the time goes into moving them, not into finding them */
    printf("   stream throughput / memcpy: %.3f (target >= 0.5 on hardware KVM)\n",
           ((double)stats.bytes_sent / ((double)stats.total_ns / 1e9)) / copy);
    bench_drop(vm);
    hv_plan_free(plan);

    /* 3. guests dirtying at a known rate, without and with the throttle */
    for (int i = 0; i < 2; i++) {
        const char *payload_name = i ? "dirtier-1g" : "dirtier-100m",
                   *rate = i ? "1 GB/s" : "100 MB/s";

        for (int throttle = 0; throttle < 2; throttle++) {
            unsigned int throttled = 0;
            char what[160];

            vm = bench_running("rate", "1GiB", payload_name, 1, &plan);
            stats = migrate(vm, max_rounds, throttle ? HV_MIGRATE_THROTTLE : 0, &throttled);
            snprintf(what, sizeof(what), "3. 1 GiB guest dirtying 256 MiB at %s (%s), %s", rate,
                     payload_name, throttle ? "throttled" : "not throttled");
            print(what, &stats, (double)(1u << 30));
            if (throttle)
                printf("   throttled up to %u %%\n", throttled);
            bench_drop(vm);
            hv_plan_free(plan);
        }
    }
    bench_teardown();
    return 0;
}

/*
 * bench/bench-migrate.c - live migration of the built-in engine between two
 * engines of this process, where /dev/kvm is:
 *   1. a 1 GiB guest that touched about 1 MiB and waits (clone-probe):
 *      total time, downtime, pages sent as a ratio of its memory (zero
 *      pages are not sent) and bytes sent as a ratio of the memory it had
 *      touched (its resident pages), and framing overhead;
 *   2. a guest that keeps dirtying its memory (worker, 256 MiB), migrated over
 *      an AF_UNIX socketpair and then (another one) over TCP on 127.0.0.1
 *      ("tcp://127.0.0.1:PORT", as hpcvirt migrate-listen takes it): rounds,
 *      pages as a ratio of its memory, bytes as a ratio of what it had
 *      touched, total time and downtime, and each stream's throughput as a
 *      ratio of single-core memcpy bandwidth measured in the same run;
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

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct destination {
    pthread_t thread;
    hv_conn *conn;
    char source[64];
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

/* What a migration's progress callback saw: how far it throttled the guest, and the
 * bandwidth of its first round (every non-zero page: the stream's while pages flow and
 * the zero pages are looked for, without the handshake, the stop and the destination's
 * start; later rounds are too short to say much: their bytes fit the socket's buffers). */
typedef struct progress_seen {
    unsigned int throttle_percent;
    uint64_t first_round_bytes_per_s;
} progress_seen;

static int note_progress(const hv_migrate_progress *p, void *data)
{
    progress_seen *seen = data;

    if (p->throttle_percent > seen->throttle_percent)
        seen->throttle_percent = p->throttle_percent;
    if (p->round == 0) /* measured when the round ends */
        seen->first_round_bytes_per_s = p->bandwidth_bytes_per_s;
    return 0;
}

/* A TCP port on 127.0.0.1 free now (the destination listens there next). */
static unsigned int free_loopback_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &length) < 0) {
        fprintf(stderr, "bench-migrate: no TCP port on 127.0.0.1: %s\n", strerror(errno));
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

/*
 * Migrate `vm` to another engine of this process with `flags`, over a
 * socketpair or, with `tcp`, over TCP on 127.0.0.1; its statistics, and what
 * its progress callback saw in *seen.
 */
static hv_migrate_stats migrate(hv_vm *vm, unsigned int max_rounds, unsigned int flags,
                                progress_seen *seen, bool tcp)
{
    hv_migrate_options opts = HV_MIGRATE_OPTIONS_INIT;
    hv_migrate_stats stats;
    destination d;
    char dest[64];
    int sv[2] = {-1, -1}, rc;

    memset(&d, 0, sizeof(d));
    memset(&stats, 0, sizeof(stats));
    if (hv_conn_open("kvm:///", &d.conn) < 0)
        bench_die("a second engine");
    if (tcp) {
        snprintf(d.source, sizeof(d.source), "tcp://127.0.0.1:%u", free_loopback_port());
        snprintf(dest, sizeof(dest), "%s", d.source);
    } else {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            bench_die("a socketpair");
        snprintf(d.source, sizeof(d.source), "fd:%d", sv[1]);
        snprintf(dest, sizeof(dest), "fd:%d", sv[0]);
    }
    if (pthread_create(&d.thread, NULL, receive, &d) != 0)
        bench_die("a destination thread");
    opts.stats = &stats;
    opts.max_rounds = max_rounds;
    opts.timeout_ms = 600000;
    opts.flags = flags;
    memset(seen, 0, sizeof(*seen));
    opts.progress = note_progress;
    opts.progress_data = seen;
    /* over TCP, until the destination listens (the VM runs on after a refused connection) */
    for (int tries = 0;; tries++) {
        rc = hv_vm_migrate(vm, dest, &opts);
        if (rc == 0 || !tcp || tries == 200 ||
            !strstr(hv_error_message(hv_error_last()), "Connection refused"))
            break;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    if (rc < 0)
        bench_die("migrating");
    pthread_join(d.thread, NULL);
    if (d.rc < 0)
        bench_die("receiving");
    bench_drop(d.vm);
    hv_conn_close(d.conn);
    if (!tcp) {
        close(sv[0]);
        close(sv[1]);
    }
    return stats;
}

/* The guest memory `vm` has touched: its resident bytes, every node's. */
static double touched_bytes(hv_vm *vm)
{
    size_t count = 0;
    double bytes = 0;

    if (hv_vm_memory_node_count(vm, &count) < 0)
        bench_die("the VM's memory nodes");
    for (size_t i = 0; i < count; i++) {
        hv_vm_memory_info info = HV_VM_MEMORY_INFO_INIT;

        if (hv_vm_memory_node_info(vm, i, &info) < 0)
            bench_die("the VM's memory");
        bytes += (double)info.resident_bytes;
    }
    return bytes;
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

/* What a migration of a guest of `guest_bytes`, `touched` of them resident when it began,
 * took and sent. */
static void print(const char *what, const hv_migrate_stats *s, double guest_bytes, double touched)
{
    double seconds = (double)s->total_ns / 1e9, pages_bytes = (double)s->pages_sent * 4096;

    printf("%s: %.1f ms in all, downtime %.2f ms, %u rounds; %llu pages sent (%.4f x the guest's "
           "memory; never-written zero pages are not sent), %llu zero records; %.1f MB on the "
           "wire (framing +%.2f%%) = %.3f x the %.1f MiB it had touched; %.0f MB/s\n",
           what, (double)s->total_ns / 1e6, (double)s->downtime_ns / 1e6, s->rounds,
           (unsigned long long)s->pages_sent, pages_bytes / guest_bytes,
           (unsigned long long)s->zero_pages, (double)s->bytes_sent / 1e6,
           pages_bytes > 0 ? ((double)s->bytes_sent / pages_bytes - 1) * 100 : 0.0,
           touched > 0 ? (double)s->bytes_sent / touched : 0.0, touched / 1048576.0,
           (double)s->bytes_sent / seconds / 1e6);
}

int main(int argc, char **argv)
{
    hv_plan *plan;
    hv_vm *vm;
    hv_migrate_stats stats;
    progress_seen seen;
    unsigned int max_rounds;
    double copy, touched;

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
    touched = touched_bytes(vm);
    stats = migrate(vm, 0, 0, &seen, false);
    print("1. 1 GiB guest that touched about 1 MiB and waits (clone-probe)", &stats,
          (double)(1u << 30), touched);
    bench_drop(vm);
    hv_plan_free(plan);

    /* 2. a guest that keeps writing its memory, over each transport */
    for (int tcp = 0; tcp < 2; tcp++) {
        char what[160];

        vm = bench_running("dirty", "256MiB", "worker", 3, &plan);
        touched = touched_bytes(vm);
        stats = migrate(vm, 5, 0, &seen, tcp);
        snprintf(what, sizeof(what),
                 "2. 256 MiB worker, dirtying its buffer (5 rounds at most), over %s",
                 tcp ? "TCP on 127.0.0.1" : "an AF_UNIX socketpair");
        print(what, &stats, (double)(256u << 20), touched);
        /* its pages are non-zero: the time goes into moving them, not into finding them */
        printf("   throughput over %s / memcpy: the whole migration %.3f, its first round %.3f "
               "(%.0f MB/s) (target >= 0.5 on hardware KVM, over TCP)\n",
               tcp ? "TCP" : "the socketpair",
               ((double)stats.bytes_sent / ((double)stats.total_ns / 1e9)) / copy,
               (double)seen.first_round_bytes_per_s / copy,
               (double)seen.first_round_bytes_per_s / 1e6);
        bench_drop(vm);
        hv_plan_free(plan);
    }

    /* 3. guests dirtying at a known rate, without and with the throttle */
    for (int i = 0; i < 2; i++) {
        const char *payload_name = i ? "dirtier-1g" : "dirtier-100m",
                   *rate = i ? "1 GB/s" : "100 MB/s";

        for (int throttle = 0; throttle < 2; throttle++) {
            char what[160];

            vm = bench_running("rate", "1GiB", payload_name, 1, &plan);
            touched = touched_bytes(vm);
            stats = migrate(vm, max_rounds, throttle ? HV_MIGRATE_THROTTLE : 0, &seen, false);
            snprintf(what, sizeof(what), "3. 1 GiB guest dirtying 256 MiB at %s (%s), %s", rate,
                     payload_name, throttle ? "throttled" : "not throttled");
            print(what, &stats, (double)(1u << 30), touched);
            if (throttle)
                printf("   throttled up to %u %%\n", seen.throttle_percent);
            bench_drop(vm);
            hv_plan_free(plan);
        }
    }
    bench_teardown();
    return 0;
}

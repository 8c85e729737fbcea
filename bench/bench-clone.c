/*
 * bench/bench-clone.c - suspend, resume and clones of the built-in engine,
 * where /dev/kvm is:
 *   1. instant clones of a 1 GiB parent: p50/p99 per clone (one at a time,
 *      made on demand and from shells prepared ahead), then batches of 64
 *      and 1000 (threads, and with shells prepared ahead);
 *   2. host memory per idle clone, kernel allocations included (the
 *      machine's used memory - MemTotal - MemAvailable - before and after);
 *   3. instant vs full vs cold clones, 64 of each, as ratios;
 *   4. resume from snapshots of a 256 MiB and a 4 GiB guest (lazy: mapped);
 *   5. suspend throughput to the page cache (a guest that touched 1 GiB).
 * Prints figures; not a pass/fail test. Without /dev/kvm it says so and exits 0.
 *
 * usage: bench-clone GUEST_DIR [SCRATCH_DIR]   (default scratch: $TMPDIR or /tmp)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <hpcvirt/hpcvirt.h>

#include "engine-bench.h"
#include "fd-limit.h" /* tools/hpcvirt: the open-file limit, as the CLI raises it */

static char scratch[512];

static void drop_all(hv_vm **vms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vms[i])
            bench_drop(vms[i]);
}

/* Memory charged to this process's memory cgroup (kernel allocations included: KVM
 * charges its own to the cgroup), else the machine's MemTotal - MemAvailable. */
static uint64_t used_memory_bytes(const char **how)
{
    char line[512], path[700];
    FILE *f = fopen("/proc/self/cgroup", "r");
    unsigned long long total = 0, available = 0, kb, value;

    while (f && fgets(line, sizeof(line), f)) {
        char *cg = strstr(line, ":memory:");

        line[strcspn(line, "\n")] = '\0';
        if (cg)
            snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", cg + 8);
        else if (strncmp(line, "0::", 3) == 0)
            snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.current", line + 3);
        else
            continue;
        {
            FILE *m = fopen(path, "r");

            if (m && fscanf(m, "%llu", &value) == 1) {
                fclose(m);
                fclose(f);
                *how = "the process's memory cgroup usage, kernel memory included";
                return value;
            }
            if (m)
                fclose(m);
        }
    }
    if (f)
        fclose(f);
    f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            total = kb;
        else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            available = kb;
    }
    fclose(f);
    *how = "the machine's MemTotal - MemAvailable";
    return (uint64_t)(total - available) * 1024;
}

/* The /proc/meminfo fields that say where a clone's memory goes, in KiB. */
#define MEMINFO_FIELDS 6
static const char *const meminfo_fields[MEMINFO_FIELDS] = {
    "AnonPages", "Shmem", "PageTables", "KernelStack", "SUnreclaim", "VmallocUsed"};

static void meminfo_sample(unsigned long long *kib)
{
    char line[256];
    FILE *f = fopen("/proc/meminfo", "r");

    memset(kib, 0, MEMINFO_FIELDS * sizeof(*kib));
    while (f && fgets(line, sizeof(line), f))
        for (int i = 0; i < MEMINFO_FIELDS; i++) {
            size_t len = strlen(meminfo_fields[i]);

            if (strncmp(line, meminfo_fields[i], len) == 0 && line[len] == ':')
                kib[i] = strtoull(line + len + 1, NULL, 10);
        }
    if (f)
        fclose(f);
}

/* vmalloc'd bytes by allocating function (/proc/vmallocinfo, root only): where KVM's go. */
#define VMALLOC_CALLERS 512
typedef struct vmalloc_use {
    char caller[64];
    unsigned long long bytes;
} vmalloc_use;

static size_t vmalloc_sample(vmalloc_use *use)
{
    char line[512], caller[64];
    unsigned long long bytes;
    size_t n = 0;
    FILE *f = fopen("/proc/vmallocinfo", "r");

    while (f && fgets(line, sizeof(line), f)) {
        size_t i;

        if (sscanf(line, "%*s %llu %63[^+ \n]", &bytes, caller) != 2)
            continue;
        for (i = 0; i < n && strcmp(use[i].caller, caller) != 0; i++)
            ;
        if (i == n && n < VMALLOC_CALLERS)
            snprintf(use[n++].caller, sizeof(use[0].caller), "%s", caller);
        if (i < n)
            use[i].bytes += bytes;
    }
    if (f)
        fclose(f);
    return n;
}

/* The callers whose vmalloc use grew by at least 8 KiB per clone. */
static void vmalloc_print_growth(const vmalloc_use *before, size_t nbefore,
                                 const vmalloc_use *after, size_t nafter, size_t clones)
{
    if (nafter == 0) {
        printf("   (/proc/vmallocinfo is not readable here: no breakdown by caller)\n");
        return;
    }
    printf("   vmalloc growth by caller, per clone:");
    for (size_t i = 0; i < nafter; i++) {
        unsigned long long was = 0;

        for (size_t j = 0; j < nbefore; j++)
            if (strcmp(before[j].caller, after[i].caller) == 0)
                was = before[j].bytes;
        if (after[i].bytes > was && (after[i].bytes - was) / clones >= 8192)
            printf(" %s %.1f KiB", after[i].caller,
                   (double)(after[i].bytes - was) / (double)clones / 1024);
    }
    printf("\n");
}

static double clone_batch(hv_vm *parent, size_t count, int mode, bool prepare, hv_vm **out)
{
    hv_vm_clone_options opts = HV_VM_CLONE_OPTIONS_INIT;
    uint64_t t0;

    opts.mode = mode;
    opts.flags = HV_VM_CLONE_PAUSED;
    if (prepare && hv_vm_clone_prepare(parent, count) < 0)
        bench_die("prepare");
    t0 = bench_now_ns();
    if (hv_vm_clone(parent, count, &opts, out) < 0)
        bench_die("clone");
    return (double)(bench_now_ns() - t0) / 1e6;
}

static void bench_instant(void)
{
    hv_plan *plan;
    hv_vm *parent = bench_running("parent", "1GiB", "clone-probe", 1, &plan);
    enum { SINGLE = 200 };
    uint64_t each[SINGLE];
    hv_vm **vms = calloc(1000, sizeof(*vms));
    double ms;

    printf("1. instant clones of a 1 GiB parent (paused clones, 1 vCPU):\n");
    /* one at a time: made on demand, then taken from a pool of shells made ahead of need */
    for (int pooled = 0; pooled < 2; pooled++) {
        if (pooled && hv_vm_clone_prepare(parent, SINGLE) < 0)
            bench_die("prepare");
        for (int i = 0; i < SINGLE; i++) {
            uint64_t t0 = bench_now_ns();

            clone_batch(parent, 1, HV_VM_CLONE_INSTANT, false, vms);
            each[i] = bench_now_ns() - t0;
            bench_drop(vms[0]);
        }
        qsort(each, SINGLE, sizeof(each[0]), bench_compare_u64);
        printf("   one at a time, %d of them%s: p50 %.3f ms, p99 %.3f ms\n", SINGLE,
               pooled ? ", from shells prepared ahead" : "", (double)each[SINGLE / 2] / 1e6,
               (double)each[SINGLE * 99 / 100] / 1e6);
    }
    ms = clone_batch(parent, 64, HV_VM_CLONE_INSTANT, false, vms);
    printf("   64 in one call: %.2f ms", ms);
    drop_all(vms, 64);
    ms = clone_batch(parent, 64, HV_VM_CLONE_INSTANT, true, vms);
    printf("; with shells prepared ahead: %.2f ms\n", ms);
    drop_all(vms, 64);
    ms = clone_batch(parent, 1000, HV_VM_CLONE_INSTANT, false, vms);
    printf("   1000 in one call: %.1f ms", ms);
    drop_all(vms, 1000);
    ms = clone_batch(parent, 1000, HV_VM_CLONE_INSTANT, true, vms);
    printf("; with shells prepared ahead: %.1f ms\n", ms);

    /* 2. memory per idle clone */
    {
        const char *how = "";
        uint64_t before, after;

        unsigned long long kib_before[MEMINFO_FIELDS], kib_after[MEMINFO_FIELDS];
        vmalloc_use *vm_before = calloc(VMALLOC_CALLERS, sizeof(*vm_before)),
                    *vm_after = calloc(VMALLOC_CALLERS, sizeof(*vm_after));
        size_t nbefore, nafter;

        drop_all(vms, 1000);
        sleep(1);
        before = used_memory_bytes(&how);
        if (!vm_before || !vm_after)
            bench_die("memory for the vmalloc breakdown");
        meminfo_sample(kib_before);
        nbefore = vmalloc_sample(vm_before);
        clone_batch(parent, 200, HV_VM_CLONE_INSTANT, false, vms);
        sleep(1);
        after = used_memory_bytes(&how);
        meminfo_sample(kib_after);
        nafter = vmalloc_sample(vm_after);
        printf("2. host memory per idle clone (200 paused clones; %s): %.1f KiB\n", how,
               ((double)after - (double)before) / 200 / 1024);
        /* where it goes (the machine's /proc/meminfo; other processes add noise) */
        printf("   of which, per clone:");
        for (int i = 0; i < MEMINFO_FIELDS; i++)
            printf(" %s %.1f KiB%s", meminfo_fields[i],
                   ((double)kib_after[i] - (double)kib_before[i]) / 200,
                   i + 1 < MEMINFO_FIELDS ? "," : "\n");
        /* KVM's per-memslot write-tracking array (2 bytes per 4 KiB guest page:
         * kvm_page_track_create_memslot) is allocated for every slot by kernels built
         * with CONFIG_KVM_EXTERNAL_WRITE_TRACKING (KVMGT), such as Debian 12's 6.1; later
         * kernels allocate it only once an external tracker registers */
        vmalloc_print_growth(vm_before, nbefore, vm_after, nafter, 200);
        free(vm_before);
        free(vm_after);
        drop_all(vms, 200);
    }
    bench_drop(parent);
    hv_plan_free(plan);
    free(vms);
}

static void bench_modes(void)
{
    hv_plan *plan;
    hv_vm *parent = bench_running("modes", "256MiB", "clone-probe", 1, &plan);
    hv_vm *vms[64];
    double instant, full, cold;

    instant = clone_batch(parent, 64, HV_VM_CLONE_INSTANT, false, vms);
    drop_all(vms, 64);
    full = clone_batch(parent, 64, HV_VM_CLONE_FULL, false, vms);
    drop_all(vms, 64);
    cold = clone_batch(parent, 64, HV_VM_CLONE_COLD, false, vms);
    drop_all(vms, 64);
    printf("3. 64 clones of a 256 MiB parent: instant %.2f ms, full %.2f ms (%.1fx), cold %.2f "
           "ms (%.1fx)\n",
           instant, full, full / instant, cold, cold / instant);
    bench_drop(parent);
    hv_plan_free(plan);
}

static void bench_restore(const char *memory)
{
    char path[600];
    hv_plan *plan;
    hv_vm *vm = bench_running("restore", memory, "clone-probe", 1, &plan);
    hv_vm_resume_options opts = HV_VM_RESUME_OPTIONS_INIT;
    enum { RUNS = 30 };
    uint64_t each[RUNS];

    snprintf(path, sizeof(path), "%s/bench-restore.snap", scratch);
    if (hv_vm_suspend(vm, path, NULL) < 0)
        bench_die("suspend");
    bench_drop(vm);
    opts.flags = HV_VM_RESUME_PAUSED;
    for (int i = 0; i < RUNS; i++) {
        uint64_t t0 = bench_now_ns();

        if (hv_vm_resume_from(bench_conn, path, &opts, &vm) < 0)
            bench_die("resume");
        each[i] = bench_now_ns() - t0;
        bench_drop(vm);
    }
    qsort(each, RUNS, sizeof(each[0]), bench_compare_u64);
    printf("4. resume from a snapshot of a %s guest (lazy, paused), %d runs: p50 %.3f ms, p90 "
           "%.3f ms\n",
           memory, RUNS, (double)each[RUNS / 2] / 1e6, (double)each[RUNS * 9 / 10] / 1e6);
    unlink(path);
    hv_plan_free(plan);
}

static void bench_suspend(void)
{
    char path[600];
    hv_plan *plan;
    hv_vm *vm;
    hv_vm_suspend_options opts = HV_VM_SUSPEND_OPTIONS_INIT;
    uint64_t t0, ns;
    struct stat st;
    int code;

    /* numa-probe touches every page of its node's free memory, then exits: keep it paused
     * just before it exits by suspending once it has written marker 3 */
    vm = bench_running("suspend", "1GiB", "numa-probe", 3, &plan);
    opts.flags = HV_VM_SUSPEND_KEEP_RUNNING;
    snprintf(path, sizeof(path), "%s/bench-suspend.snap", scratch);
    t0 = bench_now_ns();
    if (hv_vm_suspend(vm, path, &opts) < 0)
        bench_die("suspend");
    ns = bench_now_ns() - t0;
    hv_vm_wait(vm, 60000, &code);
    if (stat(path, &st) == 0)
        printf("5. suspend of a guest that touched 1 GiB: %.1f ms, %.2f GB/s of guest memory "
               "(%.0f MiB on disk, zero pages skipped)\n",
               (double)ns / 1e6, (double)(UINT64_C(1) << 30) / (double)ns,
               (double)st.st_blocks * 512 / (1 << 20));
    unlink(path);
    bench_drop(vm);
    hv_plan_free(plan);
}

/* 1000 clones hold a few descriptors each: more than the usual soft limit of 1024. */
static void raise_fd_limit(void)
{
    unsigned long long limit = hv_tool_raise_fd_limit(65536);

    if (limit < 8192)
        printf("bench-clone: only %llu open files allowed (ulimit -n): 1000 clones may not fit\n",
               limit);
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");

    if (argc < 2) {
        fprintf(stderr, "usage: bench-clone GUEST_DIR [SCRATCH_DIR]\n");
        return 64;
    }
    if (bench_setup("bench-clone", argv[1]))
        return 0;
    raise_fd_limit();
    snprintf(scratch, sizeof(scratch), "%s", argc > 2 ? argv[2] : tmp && *tmp ? tmp : "/tmp");
    bench_instant();
    bench_modes();
    bench_restore("256MiB");
    bench_restore("4GiB");
    bench_suspend();
    bench_teardown();
    return 0;
}

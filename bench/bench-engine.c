/*
 * bench/bench-engine.c - the built-in KVM engine's figures, where /dev/kvm is:
 *   1. create + start to the guest's first port write (1 vCPU, 64 MiB): p50/p90
 *      over runs, and what each part took;
 *   2. the worker payload's kernels in the guest vs the same code
 *      (guest/kernels/kernels.c) run natively in this process: ratio;
 *   3. a port-I/O round trip (guest OUT -> host -> guest) in microseconds;
 *   4. host memory per VM beyond guest RAM (RSS growth per VM minus the guest
 *      memory the VM made resident), over several VMs kept alive at once.
 * Prints figures; not a pass/fail test. Without /dev/kvm it says so and exits 0.
 *
 * usage: bench-engine GUEST_DIR [RUNS]   (GUEST_DIR: build/guest)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <hpcvirt/hpcvirt.h>

#include "engine-bench.h"
#include "kernels.h"

#define MEMORY_VMS 16

/* ---- 1. create + start to the first port write ----------------------------------- */

typedef struct first_write {
    volatile uint64_t at_ns;
} first_write;

static void on_first_console(void *data, const char *bytes, size_t length)
{
    first_write *f = data;

    (void)bytes;
    (void)length;
    if (!f->at_ns)
        f->at_ns = bench_now_ns();
}

static void bench_startup(int runs)
{
    hv_plan *plan = bench_plan("startup", "64MiB");
    uint64_t *total = calloc((size_t)runs, sizeof(uint64_t));
    uint64_t *create = calloc((size_t)runs, sizeof(uint64_t));

    for (int i = 0; i < runs; i++) {
        hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
        first_write f = {0};
        hv_vm *vm = NULL;
        uint64_t t0, t1;
        int code;

        opts.payload = bench_payload("hello");
        opts.console = on_first_console;
        opts.console_data = &f;
        t0 = bench_now_ns();
        if (hv_vm_create(bench_conn, plan, &opts, &vm) < 0)
            bench_die("create");
        t1 = bench_now_ns();
        if (hv_vm_start(vm) < 0 || hv_vm_wait(vm, 10000, &code) < 0)
            bench_die("hello");
        total[i] = f.at_ns - t0;
        create[i] = t1 - t0;
        hv_vm_undefine(vm);
        hv_vm_free(vm);
    }
    qsort(total, (size_t)runs, sizeof(uint64_t), bench_compare_u64);
    qsort(create, (size_t)runs, sizeof(uint64_t), bench_compare_u64);
    printf("1. create + start to the first port write (1 vCPU, 64 MiB, hello), %d runs:\n", runs);
    printf("   p50 %.3f ms, p90 %.3f ms, min %.3f ms (create alone: p50 %.3f ms)\n",
           (double)total[runs / 2] / 1e6, (double)total[runs * 9 / 10] / 1e6,
           (double)total[0] / 1e6, (double)create[runs / 2] / 1e6);
    free(total);
    free(create);
    hv_plan_free(plan);
}

/* ---- 2. worker kernels: guest vs native ------------------------------------------ */

typedef struct marks {
    uint64_t at_ns[7];
} marks;

static void on_marker(void *data, unsigned int vcpu, uint32_t marker)
{
    marks *m = data;

    if (vcpu == 0 && marker >= 1 && marker <= 6)
        m->at_ns[marker] = bench_now_ns();
}

static void on_console_capture(void *data, const char *bytes, size_t length)
{
    char *text = data;
    size_t have = strlen(text);

    if (have + length >= 4096)
        length = 4095 - have;
    memcpy(text + have, bytes, length);
    text[have + length] = '\0';
}

static void bench_worker(int runs)
{
    hv_plan *plan = bench_plan("worker", "256MiB");
    double best_guest_mem = 1e30, best_guest_cpu = 1e30, best_native_mem = 1e30,
           best_native_cpu = 1e30, best_guest_warm = 1e30, best_native_warm = 1e30;
    unsigned long long elements = 0, guest_mem_sum = 0, guest_cpu_sum = 0;

    for (int i = 0; i < runs; i++) {
        hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
        marks m = {{0}};
        char text[4096] = "";
        hv_vm *vm = NULL;
        const char *line;
        int code;

        opts.flags = HV_VM_CREATE_START;
        opts.payload = bench_payload("worker");
        opts.progress = on_marker;
        opts.progress_data = &m;
        opts.console = on_console_capture;
        opts.console_data = text;
        if (hv_vm_create(bench_conn, plan, &opts, &vm) < 0 || hv_vm_wait(vm, 120000, &code) < 0)
            bench_die("worker");
        if ((line = strstr(text, "vcpu 0: node ")) && (line = strchr(line, '(')))
            sscanf(line, "(%llu doubles)", &elements);
        if ((line = strstr(text, "vcpu 0: memory 0x")))
            sscanf(line, "vcpu 0: memory 0x%llx compute 0x%llx", &guest_mem_sum, &guest_cpu_sum);
        if ((double)(m.at_ns[2] - m.at_ns[1]) < best_guest_mem)
            best_guest_mem = (double)(m.at_ns[2] - m.at_ns[1]);
        if ((double)(m.at_ns[4] - m.at_ns[3]) < best_guest_cpu)
            best_guest_cpu = (double)(m.at_ns[4] - m.at_ns[3]);
        if ((double)(m.at_ns[6] - m.at_ns[5]) < best_guest_warm)
            best_guest_warm = (double)(m.at_ns[6] - m.at_ns[5]);
        hv_vm_undefine(vm);
        hv_vm_free(vm);
    }
    if (!elements) {
        fprintf(stderr, "bench-engine: the worker did not report its buffer\n");
        exit(1);
    }
    for (int i = 0; i < runs; i++) {
        /* a fresh buffer each run: the guest's first touch is timed too */
        double *buf = calloc((size_t)elements, sizeof(double));
        uint64_t t0, t1, t2, t3, mem, cpu, warm;

        if (!buf)
            exit(1);
        t0 = bench_now_ns();
        mem = hv_kernel_memory(buf, (size_t)elements, hv_kernel_worker_passes((size_t)elements));
        t1 = bench_now_ns();
        cpu = hv_kernel_compute(1, hv_kernel_worker_iterations((size_t)elements));
        t2 = bench_now_ns();
        warm = hv_kernel_memory(buf, (size_t)elements, hv_kernel_worker_passes((size_t)elements));
        t3 = bench_now_ns();
        free(buf);
        if (mem != guest_mem_sum || cpu != guest_cpu_sum || warm != mem) {
            fprintf(stderr, "bench-engine: checksums differ: guest %llx/%llx, native %llx/%llx\n",
                    guest_mem_sum, guest_cpu_sum, (unsigned long long)mem, (unsigned long long)cpu);
            exit(1);
        }
        if ((double)(t1 - t0) < best_native_mem)
            best_native_mem = (double)(t1 - t0);
        if ((double)(t2 - t1) < best_native_cpu)
            best_native_cpu = (double)(t2 - t1);
        if ((double)(t3 - t2) < best_native_warm)
            best_native_warm = (double)(t3 - t2);
    }
    printf("2. worker kernels, best of %d (checksums equal), guest / native speed:\n", runs);
    printf("   memory, cold (%llu doubles, first touch of the buffer): guest %.1f ms, native "
           "%.1f ms, ratio %.3f\n",
           elements, best_guest_mem / 1e6, best_native_mem / 1e6, best_native_mem / best_guest_mem);
    printf("   memory, warm (the same work again): guest %.1f ms, native %.1f ms, ratio %.3f\n",
           best_guest_warm / 1e6, best_native_warm / 1e6, best_native_warm / best_guest_warm);
    printf("   compute (%llu iterations): guest %.1f ms, native %.1f ms, ratio %.3f\n",
           (unsigned long long)hv_kernel_worker_iterations((size_t)elements), best_guest_cpu / 1e6,
           best_native_cpu / 1e6, best_native_cpu / best_guest_cpu);
    hv_plan_free(plan);
}

/* ---- 3. port-I/O round trip ------------------------------------------------------ */

static void bench_port_io(void)
{
    hv_plan *plan = bench_plan("portio", "64MiB");
    hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
    marks m = {{0}};
    hv_vm *vm = NULL;
    int code;

    opts.flags = HV_VM_CREATE_START;
    opts.payload = bench_payload("port-loop");
    opts.progress = on_marker;
    opts.progress_data = &m;
    if (hv_vm_create(bench_conn, plan, &opts, &vm) < 0 || hv_vm_wait(vm, 600000, &code) < 0)
        bench_die("port-loop");
    printf("3. port-I/O round trip (guest OUT, exit to the engine, back), 100000 of them:\n");
    printf("   %.2f us each\n", (double)(m.at_ns[2] - m.at_ns[1]) / 100001.0 / 1e3);
    hv_vm_undefine(vm);
    hv_vm_free(vm);
    hv_plan_free(plan);
}

/* ---- 4. host memory per VM ---------------------------------------------------------- */

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;

    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void bench_memory(void)
{
    hv_plan *plans[MEMORY_VMS];
    hv_vm *vms[MEMORY_VMS];
    uint64_t before, after, guest = 0;

    for (int i = 0; i < MEMORY_VMS; i++) {
        char name[32];

        snprintf(name, sizeof(name), "mem%d", i);
        plans[i] = bench_plan(name, "64MiB");
    }
    before = rss_bytes();
    for (int i = 0; i < MEMORY_VMS; i++) {
        hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
        hv_vm_memory_info info = HV_VM_MEMORY_INFO_INIT;
        int code;

        opts.flags = HV_VM_CREATE_START;
        opts.payload = bench_payload("hello");
        if (hv_vm_create(bench_conn, plans[i], &opts, &vms[i]) < 0 ||
            hv_vm_wait(vms[i], 10000, &code) < 0)
            bench_die("hello");
        if (hv_vm_memory_node_info(vms[i], 0, &info) == 0)
            guest += info.resident_bytes;
    }
    after = rss_bytes();
    printf("4. host memory per VM beyond guest RAM, %d VMs kept alive (1 vCPU, 64 MiB, hello):\n",
           MEMORY_VMS);
    printf("   RSS +%.1f KiB per VM, of which guest memory %.1f KiB: %.1f KiB beyond guest RAM\n"
           "   (kernel-side KVM memory is not in RSS)\n",
           (double)(after - before) / MEMORY_VMS / 1024.0, (double)guest / MEMORY_VMS / 1024.0,
           ((double)(after - before) - (double)guest) / MEMORY_VMS / 1024.0);
    for (int i = 0; i < MEMORY_VMS; i++) {
        hv_vm_undefine(vms[i]);
        hv_vm_free(vms[i]);
        hv_plan_free(plans[i]);
    }
}

int main(int argc, char **argv)
{
    int runs = argc > 2 ? atoi(argv[2]) : 50;

    if (argc < 2) {
        fprintf(stderr, "usage: bench-engine GUEST_DIR [RUNS]\n");
        return 64;
    }
    if (bench_setup("bench-engine", argv[1]))
        return 0;
    if (runs < 3)
        runs = 3;
    bench_startup(runs);
    bench_worker(runs < 5 ? runs : 5);
    bench_port_io();
    bench_memory();
    bench_teardown();
    return 0;
}

/*
 * bench/engine-bench.c - the helpers the built-in engine's benchmarks share
 * (engine-bench.h).
 */
#include "engine-bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

hv_host *bench_host;
hv_conn *bench_conn;
static const char *bench_name = "bench";
static char guest_dir[512];

int bench_setup(const char *name, const char *dir)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    bench_name = name;
    if (fd < 0) {
        printf("%s: no /dev/kvm (%s): nothing to measure here\n", name, strerror(errno));
        return 1;
    }
    close(fd);
    snprintf(guest_dir, sizeof(guest_dir), "%s", dir);
    if (hv_host_discover(&bench_host, NULL) < 0 || hv_conn_open("kvm:///", &bench_conn) < 0)
        bench_die("setup");
    return 0;
}

void bench_teardown(void)
{
    hv_conn_close(bench_conn);
    hv_host_free(bench_host);
}

void bench_die(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", bench_name, what, hv_error_message(hv_error_last()));
    exit(1);
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

hv_plan *bench_plan(const char *name, const char *memory)
{
    char json[256];
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;

    snprintf(json, sizeof(json),
             "{\"name\": \"%s\", \"vcpus\": 1, \"memory\": \"%s\", \"page_size\": \"4k\"}", name,
             memory);
    if (hv_vm_spec_from_json(json, &spec) < 0 ||
        hv_plan_create(bench_host, spec, NULL, &plan) < 0 || !hv_plan_ok(plan))
        bench_die("planning");
    hv_vm_spec_free(spec);
    return plan;
}

const char *bench_payload(const char *name)
{
    static char path[640];

    snprintf(path, sizeof(path), "%s/%s.elf", guest_dir, name);
    return path;
}

hv_vm *bench_running(const char *name, const char *memory, const char *payload_name,
                     uint32_t marker, hv_plan **plan)
{
    hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
    hv_vm *vm = NULL;

    *plan = bench_plan(name, memory);
    opts.flags = HV_VM_CREATE_START;
    opts.payload = bench_payload(payload_name);
    if (hv_vm_create(bench_conn, *plan, &opts, &vm) < 0)
        bench_die(name);
    for (int i = 0; marker && i < 200000; i++) {
        uint32_t m = 0;
        uint64_t count = 0;

        hv_vm_progress(vm, 0, &m, &count);
        if (count && m >= marker)
            break;
        usleep(100);
    }
    return vm;
}

void bench_drop(hv_vm *vm)
{
    hv_vm_destroy(vm);
    hv_vm_undefine(vm);
    hv_vm_free(vm);
}

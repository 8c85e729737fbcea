/*
 * bench/bench-plan.c - plan a 128-vCPU, 8-GPU, RDMA spec on the 576-CPU
 * fixture host in a loop: median time per plan (over batches), and the heap
 * in use before and after a million plans (it must not grow).
 *
 * usage: bench-plan [HOST_ROOT] [PLANS]   (run from the source root)
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <hpcvirt/hpcvirt.h>

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static hv_vm_spec *make_spec(void)
{
    hv_vm_spec *spec = NULL;

    if (hv_vm_spec_new(&spec) < 0 || hv_vm_spec_set_name(spec, "bench") < 0 ||
        hv_vm_spec_set_vcpus(spec, 128) < 0 ||
        hv_vm_spec_set_memory_bytes(spec, UINT64_C(512) << 30) < 0 ||
        hv_vm_spec_add_accelerator_model(spec, "a100-sxm4-80gb", 8, HV_ACCEL_MODE_PASSTHROUGH,
                                         NULL) < 0 ||
        hv_vm_spec_add_rdma(spec, HV_RDMA_ROCE_V2, HV_RDMA_MODE_PVRDMA, 0) < 0 ||
        hv_vm_spec_add_nic(spec, "virtio-net", 16, HV_NIC_RSS_TCP | HV_NIC_RSS_UDP, 0) < 0) {
        fprintf(stderr, "spec: %s\n", hv_error_message(hv_error_last()));
        exit(1);
    }
    return spec;
}

int main(int argc, char **argv)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    long plans = argc > 2 ? atol(argv[2]) : 1000000;
    const long batch = 1000;
    long batches = plans / batch;
    double *per_plan = calloc((size_t)(batches > 0 ? batches : 1), sizeof(double));
    hv_host *host = NULL;
    hv_vm_spec *spec;
    struct mallinfo2 before, after;
    size_t findings = 0;

    opts.root = argc > 1 ? argv[1] : "tests/fixtures/hosts/vsphere-max";
    if (batches < 1 || !per_plan || hv_host_discover(&host, &opts) < 0) {
        fprintf(stderr, "usage: bench-plan [HOST_ROOT] [PLANS >= 1000]: %s\n",
                hv_error_message(hv_error_last()));
        return 64;
    }
    spec = make_spec();
    /* warm up, then measure the heap */
    for (int i = 0; i < 1000; i++) {
        hv_plan *plan = NULL;
        hv_plan_create(host, spec, NULL, &plan);
        hv_plan_free(plan);
    }
    before = mallinfo2();
    for (long b = 0; b < batches; b++) {
        double t0 = now_ns();

        for (long i = 0; i < batch; i++) {
            hv_plan *plan = NULL;

            if (hv_plan_create(host, spec, NULL, &plan) < 0) {
                fprintf(stderr, "plan: %s\n", hv_error_message(hv_error_last()));
                return 1;
            }
            findings = hv_plan_finding_count(plan);
            hv_plan_free(plan);
        }
        per_plan[b] = (now_ns() - t0) / (double)batch;
    }
    after = mallinfo2();
    qsort(per_plan, (size_t)batches, sizeof(double), compare_double);
    printf("plan 128 vCPUs, 8 x A100 (catalogue), pvrdma, 1 NIC on %s (%u CPUs): %ld plans\n",
           opts.root, hv_host_cpu_count(host), batches * batch);
    printf("  per plan: median %.2f us, p10 %.2f us, p90 %.2f us (%zu findings each)\n",
           per_plan[batches / 2] / 1e3, per_plan[batches / 10] / 1e3,
           per_plan[batches * 9 / 10] / 1e3, findings);
    printf("  heap in use: %zu bytes before, %zu after (%+ld)\n", before.uordblks, after.uordblks,
           (long)after.uordblks - (long)before.uordblks);
    hv_vm_spec_free(spec);
    hv_host_free(host);
    free(per_plan);
    return 0;
}

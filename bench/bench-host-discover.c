/*
 * bench/bench-host-discover.c - time host discovery of a fixture tree (by
 * default the 576-CPU vsphere-max host) and its JSON serialization.
 * Prints the median, p10, p90 per discovery; the target is well under 50 ms.
 *
 * usage: bench-host-discover [ROOT] [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <hpcvirt/hpcvirt.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : "tests/fixtures/hosts/vsphere-max";
    int iterations = argc > 2 ? atoi(argv[2]) : 50;
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    double *discover = calloc((size_t)iterations, sizeof(double));
    double *json = calloc((size_t)iterations, sizeof(double));
    unsigned int cpus = 0;

    if (iterations < 1 || !discover || !json) {
        fprintf(stderr, "usage: bench-host-discover [ROOT] [ITERATIONS>0]\n");
        return 64;
    }
    opts.root = root;
    for (int i = 0; i < iterations; i++) {
        hv_host *host = NULL;
        char *text = NULL;
        double t0 = now_ms(), t1, t2;

        if (hv_host_discover(&host, &opts) < 0) {
            fprintf(stderr, "discovery failed: %s\n", hv_error_message(hv_error_last()));
            return 1;
        }
        t1 = now_ms();
        hv_host_to_json(host, HV_JSON_COMPACT, &text);
        t2 = now_ms();
        cpus = hv_host_cpu_count(host);
        hv_free(text);
        hv_host_free(host);
        discover[i] = t1 - t0;
        json[i] = t2 - t1;
    }
    qsort(discover, (size_t)iterations, sizeof(double), compare_double);
    qsort(json, (size_t)iterations, sizeof(double), compare_double);
    printf("host discovery of %s (%u logical CPUs), %d runs:\n", root, cpus, iterations);
    printf("  discover  median %.2f ms  p10 %.2f ms  p90 %.2f ms\n", discover[iterations / 2],
           discover[iterations / 10], discover[iterations * 9 / 10]);
    printf("  to_json   median %.2f ms  p10 %.2f ms  p90 %.2f ms\n", json[iterations / 2],
           json[iterations / 10], json[iterations * 9 / 10]);
    free(discover);
    free(json);
    return 0;
}

/*
 * host/freq.h - effective-frequency sampling internals: the counter source
 * interface (perf events or /dev/cpu/N/msr, or a test's fake) and the
 * arithmetic, so tests can inject counter samples.
 */
#ifndef HV_HOST_FREQ_H
#define HV_HOST_FREQ_H

#include <stddef.h>
#include <stdint.h>
#include <hpcvirt/host.h>

typedef struct hv_freq_counter_ops {
    const char *name;
    /* Prepare to read `cpu`'s counters; 0 or a negative code. */
    int (*open)(void *ctx, size_t slot, unsigned int cpu);
    /* Current APERF and MPERF of the CPU opened in `slot`. */
    int (*read)(void *ctx, size_t slot, uint64_t *aperf, uint64_t *mperf);
    void (*close)(void *ctx, size_t slot);
    /* Wait between the two reads (tests make this a no-op). */
    void (*wait)(void *ctx, unsigned int interval_ms);
} hv_freq_counter_ops;

/*
 * The ratio and effective MHz from two readings. MPERF only advances while
 * the CPU is in C0: a CPU that was idle for the whole interval gives ratio
 * 0 and effective 0.
 */
void hv_freq_compute(uint64_t aperf0, uint64_t mperf0, uint64_t aperf1, uint64_t mperf1,
                     uint64_t base_khz, double *ratio, double *effective_mhz);

/* Sample `count` CPUs through `ops`. */
int hv_freq_sample_with(const hv_freq_counter_ops *ops, void *ctx, const unsigned int *cpus,
                        size_t count, unsigned int interval_ms, uint64_t base_khz,
                        hv_freq_sample **out);

#endif

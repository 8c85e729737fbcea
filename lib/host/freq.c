/*
 * host/freq.c - APERF/MPERF sampling (the "turbo ratio"): counters from the
 * perf `msr` PMU or /dev/cpu/N/msr, and an honest HV_E_UNSUPPORTED when
 * neither is readable (VMs commonly hide these MSRs).
 */
#include "host/freq.h"
#include "host/host.h"
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MSR_IA32_MPERF 0xe7
#define MSR_IA32_APERF 0xe8

struct hv_freq_sample {
    const char *source;
    size_t count;
    unsigned int *cpus;
    double *ratio;
    double *mhz;
};

void hv_freq_compute(uint64_t aperf0, uint64_t mperf0, uint64_t aperf1, uint64_t mperf1,
                     uint64_t base_khz, double *ratio, double *effective_mhz)
{
    uint64_t da = aperf1 - aperf0, dm = mperf1 - mperf0; /* unsigned: wraps correctly */

    *ratio = dm ? (double)da / (double)dm : 0.0;
    *effective_mhz = (double)base_khz / 1000.0 * *ratio;
}

int hv_freq_sample_options_init(hv_freq_sample_options *opts, unsigned int version)
{
    return hv_options_init(opts, sizeof(*opts), version, HV_FREQ_SAMPLE_OPTIONS_VERSION, __func__);
}

void hv_freq_sample_free(hv_freq_sample *sample)
{
    if (!sample)
        return;
    free(sample->cpus);
    free(sample->ratio);
    free(sample->mhz);
    free(sample);
}

int hv_freq_sample_with(const hv_freq_counter_ops *ops, void *ctx, const unsigned int *cpus,
                        size_t count, unsigned int interval_ms, uint64_t base_khz,
                        hv_freq_sample **out)
{
    uint64_t *a0 = hv_calloc(count, sizeof(uint64_t)), *m0 = hv_calloc(count, sizeof(uint64_t));
    hv_freq_sample *s = hv_calloc(1, sizeof(*s));
    size_t opened = 0;
    int rc = 0;

    if (!a0 || !m0 || !s)
        rc = HV_E_NOMEM;
    if (rc == 0) {
        s->source = ops->name;
        s->cpus = hv_calloc(count, sizeof(*s->cpus));
        s->ratio = hv_calloc(count, sizeof(*s->ratio));
        s->mhz = hv_calloc(count, sizeof(*s->mhz));
        if (!s->cpus || !s->ratio || !s->mhz)
            rc = HV_E_NOMEM;
    }
    for (; rc == 0 && opened < count; opened++)
        rc = ops->open(ctx, opened, cpus[opened]);
    if (rc < 0 && opened)
        opened--; /* the failed slot is not open */
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = ops->read(ctx, i, &a0[i], &m0[i]);
    if (rc == 0)
        ops->wait(ctx, interval_ms);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        uint64_t a1, m1;

        rc = ops->read(ctx, i, &a1, &m1);
        if (rc == 0) {
            s->cpus[i] = cpus[i];
            hv_freq_compute(a0[i], m0[i], a1, m1, base_khz, &s->ratio[i], &s->mhz[i]);
        }
    }
    for (size_t i = 0; i < opened; i++)
        ops->close(ctx, i);
    free(a0);
    free(m0);
    if (rc < 0) {
        hv_freq_sample_free(s);
        return rc;
    }
    s->count = count;
    *out = s;
    return 0;
}

/* ---- the real sources ------------------------------------------------------ */

typedef struct counter_fds {
    int *aperf;
    int *mperf;
    int perf_type;
    uint64_t aperf_config, mperf_config;
} counter_fds;

static int perf_open(void *ctx, size_t slot, unsigned int cpu)
{
    counter_fds *c = ctx;
    struct perf_event_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = (uint32_t)c->perf_type;
    attr.config = c->aperf_config;
    c->aperf[slot] = (int)syscall(SYS_perf_event_open, &attr, -1, (int)cpu, -1, 0);
    if (c->aperf[slot] < 0)
        return hv_error_set_errno(HV_E_UNSUPPORTED, errno, NULL,
                                  "cannot open the perf msr/aperf/ event on CPU %u", cpu);
    attr.config = c->mperf_config;
    c->mperf[slot] = (int)syscall(SYS_perf_event_open, &attr, -1, (int)cpu, -1, 0);
    if (c->mperf[slot] < 0) {
        int e = errno;

        close(c->aperf[slot]);
        return hv_error_set_errno(HV_E_UNSUPPORTED, e, NULL,
                                  "cannot open the perf msr/mperf/ event on CPU %u", cpu);
    }
    return 0;
}

static int read_u64_fd(int fd, off_t msr, uint64_t *out)
{
    ssize_t n = msr >= 0 ? pread(fd, out, sizeof(*out), msr) : read(fd, out, sizeof(*out));

    if (n != (ssize_t)sizeof(*out))
        return hv_error_set_errno(HV_E_IO, n < 0 ? errno : EIO, NULL, "cannot read a counter");
    return 0;
}

static int perf_read(void *ctx, size_t slot, uint64_t *aperf, uint64_t *mperf)
{
    counter_fds *c = ctx;
    int rc = read_u64_fd(c->aperf[slot], -1, aperf);

    return rc < 0 ? rc : read_u64_fd(c->mperf[slot], -1, mperf);
}

static void close_slot(void *ctx, size_t slot)
{
    counter_fds *c = ctx;

    close(c->aperf[slot]);
    close(c->mperf[slot]);
}

static int msr_open(void *ctx, size_t slot, unsigned int cpu)
{
    counter_fds *c = ctx;
    char path[64];

    snprintf(path, sizeof(path), "/dev/cpu/%u/msr", cpu);
    c->aperf[slot] = open(path, O_RDONLY | O_CLOEXEC);
    if (c->aperf[slot] < 0)
        return hv_error_set_errno(HV_E_UNSUPPORTED, errno, path, "cannot open %s", path);
    c->mperf[slot] = dup(c->aperf[slot]);
    if (c->mperf[slot] < 0) {
        close(c->aperf[slot]);
        return hv_error_set_errno(HV_E_IO, errno, path, "cannot dup %s", path);
    }
    return 0;
}

static int msr_read(void *ctx, size_t slot, uint64_t *aperf, uint64_t *mperf)
{
    counter_fds *c = ctx;
    int rc = read_u64_fd(c->aperf[slot], MSR_IA32_APERF, aperf);

    return rc < 0 ? rc : read_u64_fd(c->mperf[slot], MSR_IA32_MPERF, mperf);
}

static void sleep_ms(void *ctx, unsigned int interval_ms)
{
    struct timespec ts = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L};

    (void)ctx;
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

static const hv_freq_counter_ops perf_ops = {"perf", perf_open, perf_read, close_slot, sleep_ms};
static const hv_freq_counter_ops msr_ops = {"msr", msr_open, msr_read, close_slot, sleep_ms};

/* "event=0x01" -> 1 */
static int read_perf_event_config(const char *path, uint64_t *config)
{
    FILE *f = fopen(path, "re");
    unsigned long long v;
    int ok;

    if (!f)
        return -1;
    ok = fscanf(f, "event=%llx", &v) == 1;
    fclose(f);
    if (!ok)
        return -1;
    *config = v;
    return 0;
}

/* Pick a source and say why when there is none. */
static const hv_freq_counter_ops *choose_source(counter_fds *c, const unsigned int first_cpu,
                                                char *why, size_t why_size)
{
    const char *msr_pmu = "/sys/bus/event_source/devices/msr";
    char path[128];
    FILE *f;
    int type = -1;
    bool have_pmu;

    snprintf(path, sizeof(path), "%s/type", msr_pmu);
    f = fopen(path, "re");
    have_pmu = f && fscanf(f, "%d", &type) == 1;
    if (f)
        fclose(f);
    if (have_pmu &&
        read_perf_event_config("/sys/bus/event_source/devices/msr/events/aperf",
                               &c->aperf_config) == 0 &&
        read_perf_event_config("/sys/bus/event_source/devices/msr/events/mperf",
                               &c->mperf_config) == 0) {
        c->perf_type = type;
        return &perf_ops;
    }
    snprintf(path, sizeof(path), "/dev/cpu/%u/msr", first_cpu);
    if (access(path, R_OK) == 0)
        return &msr_ops;
    snprintf(why, why_size,
             "%s; and %s is not readable (no msr driver: 'modprobe msr' as root, or the "
             "hypervisor hides the MSRs)",
             have_pmu ? "the perf 'msr' PMU has no aperf/mperf events (this CPU or its "
                        "hypervisor does not expose APERF/MPERF)"
                      : "there is no perf 'msr' PMU",
             path);
    return NULL;
}

int hv_host_sample_frequency(const hv_host *host, const hv_freq_sample_options *opts,
                             hv_freq_sample **out)
{
    hv_freq_sample_options defaults = HV_FREQ_SAMPLE_OPTIONS_INIT;
    const hv_freq_counter_ops *ops;
    counter_fds fds = {0};
    unsigned int *cpus = NULL;
    size_t count = 0;
    char why[512];
    int rc;

    HV_CHECK_ARG(host, "host");
    HV_CHECK_ARG(out, "sample");
    *out = NULL;
    rc = hv_options_check(opts, HV_FREQ_SAMPLE_OPTIONS_VERSION, true, __func__, "opts");
    if (rc < 0)
        return rc;
    if (!opts)
        opts = &defaults;
    if (opts->interval_ms > 60000)
        return hv_error_set(HV_E_INVAL, "interval_ms",
                            "interval_ms %u is too long: sample for at most 60000 ms",
                            opts->interval_ms);
    if (!host->live)
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "frequency sampling reads this machine's live counters, but this "
                            "host was %s%s%s, not discovered from this machine's '/'",
                            host->from_json ? "read from a JSON document" : "discovered from '",
                            host->from_json ? "" : host->root, host->from_json ? "" : "'");
    if (opts->cpulist && *opts->cpulist) {
        hv_cpuset set = HV_CPUSET_EMPTY;

        rc = hv_cpuset_parse(&set, opts->cpulist, "cpulist");
        if (rc < 0) {
            char reason[512];

            snprintf(reason, sizeof(reason), "%s", hv_error_message(hv_error_last()));
            return hv_error_set(rc == HV_E_NOMEM ? rc : HV_E_INVAL, "cpulist", "%s", reason);
        }
        cpus = hv_calloc(hv_cpuset_count(&set) + 1, sizeof(*cpus));
        if (!cpus) {
            hv_cpuset_clear(&set);
            return HV_E_NOMEM;
        }
        HV_CPUSET_FOREACH(cpu, &set)
        {
            if (!hv_host_cpu_by_id(host, (unsigned int)cpu)) {
                hv_cpuset_clear(&set);
                free(cpus);
                return hv_error_set(HV_E_INVAL, "cpulist",
                                    "CPU %d is not an online CPU of this host", cpu);
            }
            cpus[count++] = (unsigned int)cpu;
        }
        hv_cpuset_clear(&set);
    } else {
        cpus = hv_calloc(host->ncpus + 1, sizeof(*cpus));
        if (!cpus)
            return HV_E_NOMEM;
        for (size_t i = 0; i < host->ncpus; i++)
            cpus[count++] = host->cpus[i].id;
    }
    if (count == 0) {
        free(cpus);
        return hv_error_set(HV_E_INVAL, "cpulist", "no CPU to sample");
    }
    ops = choose_source(&fds, cpus[0], why, sizeof(why));
    if (!ops) {
        free(cpus);
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "APERF/MPERF counters cannot be read on this machine: %s", why);
    }
    fds.aperf = hv_calloc(count, sizeof(int));
    fds.mperf = hv_calloc(count, sizeof(int));
    rc = fds.aperf && fds.mperf ? hv_freq_sample_with(ops, &fds, cpus, count,
                                                      opts->interval_ms ? opts->interval_ms : 100,
                                                      host->base_frequency_khz, out)
                                : HV_E_NOMEM;
    free(fds.aperf);
    free(fds.mperf);
    free(cpus);
    return rc;
}

size_t hv_freq_sample_count(const hv_freq_sample *s)
{
    return s ? s->count : 0;
}

unsigned int hv_freq_sample_cpu(const hv_freq_sample *s, size_t i)
{
    return s && i < s->count ? s->cpus[i] : 0;
}

double hv_freq_sample_ratio(const hv_freq_sample *s, size_t i)
{
    return s && i < s->count ? s->ratio[i] : 0.0;
}

double hv_freq_sample_effective_mhz(const hv_freq_sample *s, size_t i)
{
    return s && i < s->count ? s->mhz[i] : 0.0;
}

const char *hv_freq_sample_source(const hv_freq_sample *s)
{
    return s ? s->source : "";
}

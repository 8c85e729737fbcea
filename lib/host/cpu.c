/*
 * host/cpu.c - logical CPUs and their topology (package, die, core) from
 * sysfs, model and address sizes from /proc/cpuinfo, base frequency.
 */
#include "host/discover-steps.h"
#include "host/host.h"
#include "host/parse.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CPU_DIR "sys/devices/system/cpu"
/* Room to quote a root in a message whole (hv_quote()), unless it is huge. */
#define ROOT_QUOTE_SIZE 1024

/* Read a topology id; absent files give `fallback` (die_id on old kernels). */
static int read_topology_id(hv_host *host, const hv_sysfs *fs, unsigned int cpu, const char *name,
                            int fallback, int *out)
{
    char path[128];
    int64_t v;
    int rc;

    snprintf(path, sizeof(path), CPU_DIR "/cpu%u/topology/%s", cpu, name);
    rc = hv_sysfs_read_i64(fs, path, &v);
    if (rc == HV_E_NOTFOUND) {
        *out = fallback;
        return 0;
    }
    if (rc == 0 && (v < -1 || v > 1000000))
        rc = hv_error_set(HV_E_RANGE, path, "%s: %lld is not a plausible topology id", path,
                          (long long)v);
    if (rc < 0) {
        *out = fallback;
        return rc == HV_E_NOMEM
                   ? rc
                   : hv_host_note_file_problem(host, "host.cpu.topology", HV_SEVERITY_WARNING);
    }
    *out = (int)v;
    return 0;
}

/* "Intel(R) Xeon(R) Platinum 8360Y CPU @ 2.40GHz" -> 2400000 kHz. */
static uint64_t base_khz_from_model(const char *model)
{
    const char *at = strstr(model, " @ ");
    double ghz;
    char unit[8];

    if (!at || sscanf(at + 3, "%lf%7s", &ghz, unit) != 2 || strcmp(unit, "GHz") != 0 ||
        !(ghz > 0.1 && ghz < 20))
        return 0;
    return (uint64_t)(ghz * 1e6 + 0.5);
}

static int read_cpuinfo(hv_host *host, const hv_sysfs *fs, hv_cpuinfo *info)
{
    char *text;
    int rc = hv_sysfs_read(fs, "proc/cpuinfo", HV_SYSFS_MAX_FILE, &text);

    memset(info, 0, sizeof(*info));
    if (rc < 0)
        return rc == HV_E_NOMEM
                   ? rc
                   : hv_host_note_file_problem(host, "host.cpuinfo", HV_SEVERITY_WARNING);
    rc = hv_parse_cpuinfo(text, info, "proc/cpuinfo");
    free(text);
    if (rc < 0)
        return rc == HV_E_NOMEM
                   ? rc
                   : hv_host_note_file_problem(host, "host.cpuinfo", HV_SEVERITY_WARNING);
    /* kept as data (host/discover.c): valid UTF-8, never cut in a character */
    hv_utf8_repair_n(host->cpu_model, sizeof(host->cpu_model), info->model_name,
                     strlen(info->model_name));
    hv_utf8_repair_n(host->cpu_vendor, sizeof(host->cpu_vendor), info->vendor,
                     strlen(info->vendor));
    host->phys_addr_bits = info->phys_addr_bits;
    host->virt_addr_bits = info->virt_addr_bits;
    host->has_1g_pages = info->has_pdpe1gb;
    if (!info->phys_addr_bits)
        hv_findings_add(&host->findings, HV_SEVERITY_WARNING, "host.cpuinfo.address-sizes",
                        "proc/cpuinfo",
                        "proc/cpuinfo has no 'address sizes' line: the host's physical-address "
                        "width is unknown, so MMIO plans cannot check it");
    return 0;
}

int hv_host_discover_cpus(hv_host *host, const hv_sysfs *fs)
{
    hv_cpuinfo info;
    hv_cpuset online = HV_CPUSET_EMPTY;
    size_t count;
    int rc;

    rc = read_cpuinfo(host, fs, &info);
    if (rc < 0)
        return rc;
    rc = hv_host_read_online_ids(host, fs, CPU_DIR, "cpu", "host.cpu.online", &online);
    if (rc < 0)
        goto out;
    count = hv_cpuset_count(&online);
    if (count == 0 && info.processors) {
        /* No sysfs topology: one package, one core per processor line. */
        hv_findings_add(&host->findings, HV_SEVERITY_WARNING, "host.cpu.no-sysfs", CPU_DIR,
                        "%s is missing: CPU topology comes from proc/cpuinfo's processor count "
                        "only (one package, no SMT)",
                        CPU_DIR);
        for (unsigned int i = 0; i < info.processors && rc == 0; i++)
            rc = hv_cpuset_add(&online, i);
        if (rc < 0)
            goto out;
        count = info.processors;
    }
    if (count == 0) {
        char quoted[ROOT_QUOTE_SIZE];

        rc = hv_error_set(HV_E_PARSE, fs->root,
                          "no CPU information under '%s': neither %s nor proc/cpuinfo lists a "
                          "CPU; point the root at a directory holding sys/ and proc/",
                          hv_quote(quoted, sizeof(quoted), fs->root), CPU_DIR);
        goto out;
    }
    host->cpus = hv_calloc(count, sizeof(*host->cpus));
    if (!host->cpus) {
        rc = HV_E_NOMEM;
        goto out;
    }
    HV_CPUSET_FOREACH(cpu, &online)
    {
        struct hv_host_cpu *c = &host->cpus[host->ncpus++];

        c->id = (unsigned int)cpu;
        c->node = -1;
        if ((rc = read_topology_id(host, fs, c->id, "physical_package_id", 0, &c->package)) < 0 ||
            (rc = read_topology_id(host, fs, c->id, "die_id", 0, &c->die)) < 0 ||
            (rc = read_topology_id(host, fs, c->id, "core_id", (int)c->id, &c->core)) < 0)
            goto out;
    }
    /* Base frequency: cpufreq's base_frequency, else the model name's "@ x.xxGHz". */
    {
        char path[128];
        uint64_t khz = 0;

        snprintf(path, sizeof(path), CPU_DIR "/cpu%u/cpufreq/base_frequency", host->cpus[0].id);
        if (hv_sysfs_read_u64(fs, path, &khz) < 0 || khz == 0 || khz > 20000000)
            khz = base_khz_from_model(host->cpu_model);
        host->base_frequency_khz = khz;
    }
    rc = 0;
out:
    hv_cpuset_clear(&online);
    return rc;
}

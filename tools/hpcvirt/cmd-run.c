/*
 * tools/hpcvirt/cmd-run.c - `hpcvirt run PAYLOAD`: plan a VM (from a spec
 * file, or --vcpus/--memory) on the connection's host, run a guest payload in
 * it on the built-in engine, stream its console to stdout and report how it
 * ended: exit 0 when the guest exited with 0, 3 with another exit code, 1
 * when it crashed or ran past --timeout.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void to_stdout(void *data, const char *bytes, size_t length)
{
    (void)data;
    fwrite(bytes, 1, length, stdout);
    fflush(stdout);
}

typedef struct run_args {
    const char *payload, *spec, *vcpus, *memory, *timeout, *uri;
    bool stats;
} run_args;

static int parse_run_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = strcmp(arg, "--spec") == 0      ? &a->spec
                            : strcmp(arg, "--vcpus") == 0   ? &a->vcpus
                            : strcmp(arg, "--memory") == 0  ? &a->memory
                            : strcmp(arg, "--timeout") == 0 ? &a->timeout
                            : strcmp(arg, "--uri") == 0     ? &a->uri
                                                            : NULL;

        if (slot) {
            if (i + 1 >= argc)
                return cli_usage_error(&cli_cmd_run, "%s needs a value", arg);
            *slot = argv[++i];
        } else if (strcmp(arg, "--stats") == 0) {
            a->stats = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return cli_usage_error(&cli_cmd_run, "unknown option '%s'", arg);
        } else if (a->payload) {
            return cli_usage_error(&cli_cmd_run, "unexpected argument '%s' (one PAYLOAD)", arg);
        } else {
            a->payload = arg;
        }
    }
    if (!a->payload)
        return cli_usage_error(&cli_cmd_run, "expected the PAYLOAD to run (an ELF64 file)");
    if (a->spec && (a->vcpus || a->memory))
        return cli_usage_error(&cli_cmd_run, "--spec excludes --vcpus and --memory");
    return CLI_EXIT_OK;
}

/* The VM's default name: the payload's file name without ".elf", letters,
 * digits, '-' and '_' only ("hello" for build/guest/hello.elf). */
static const char *name_of(const char *payload)
{
    static char name[48];
    const char *base = strrchr(payload, '/');
    size_t n = 0;

    for (base = base ? base + 1 : payload; *base && n + 1 < sizeof(name); base++) {
        if (strcmp(base, ".elf") == 0)
            break;
        name[n++] = (isalnum((unsigned char)*base) || *base == '-' || *base == '_') ? *base : '-';
    }
    name[n] = '\0';
    return n ? name : "run";
}

/* The spec: from --spec, else 1 vCPU and 64 MiB unless --vcpus/--memory say otherwise. */
static int make_spec(const run_args *a, hv_vm_spec **spec)
{
    unsigned long vcpus = 1;
    uint64_t memory = UINT64_C(64) << 20;

    if (a->spec)
        return cli_load_spec(a->spec, spec);
    if (a->vcpus) {
        char *end = NULL;

        errno = 0;
        vcpus = strtoul(a->vcpus, &end, 10);
        if (errno || !end || *end || a->vcpus[0] < '1' || a->vcpus[0] > '9' || vcpus > 4096)
            return cli_usage_error(&cli_cmd_run, "--vcpus takes a count from 1 to 4096, not '%s'",
                                   a->vcpus);
    }
    if (a->memory && hv_size_parse(a->memory, &memory) < 0)
        return cli_usage_error(&cli_cmd_run, "--memory: %s", hv_error_message(hv_error_last()));
    if (hv_vm_spec_new(spec) < 0 || hv_vm_spec_set_name(*spec, name_of(a->payload)) < 0 ||
        hv_vm_spec_set_vcpus(*spec, (unsigned int)vcpus) < 0 ||
        hv_vm_spec_set_memory_bytes(*spec, memory) < 0)
        return cli_fail("the VM spec");
    return CLI_EXIT_OK;
}

static void print_stats(hv_vm *vm)
{
    fprintf(stderr, "statistics:");
    for (int s = 0; s < HV_VM_STAT_COUNT; s++) {
        uint64_t value = 0;

        if (hv_vm_stat(vm, s, &value) == 0)
            fprintf(stderr, " %s=%" PRIu64, hv_vm_stat_name(s), value);
    }
    fprintf(stderr, "\n");
}

static int run_run(int argc, char **argv)
{
    run_args a;
    hv_conn *conn = NULL;
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    hv_vm *vm = NULL;
    hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
    int rc, timeout_ms = -1, code = 0;

    if ((rc = parse_run_args(argc, argv, &a)) != CLI_EXIT_OK)
        return rc;
    if (a.timeout) {
        char *end = NULL;
        unsigned long seconds;

        errno = 0;
        seconds = strtoul(a.timeout, &end, 10);
        if (errno || !end || *end || a.timeout[0] < '0' || a.timeout[0] > '9' ||
            seconds > INT_MAX / 1000)
            return cli_usage_error(&cli_cmd_run, "--timeout takes whole seconds, not '%s'",
                                   a.timeout);
        timeout_ms = (int)seconds * 1000;
    }
    if ((rc = make_spec(&a, &spec)) != CLI_EXIT_OK)
        return rc;
    if (hv_conn_open(a.uri, &conn) < 0) {
        rc = cli_fail("connecting");
        goto out;
    }
    if ((rc = cli_plan_on_conn(conn, spec, NULL, NULL, &host, &plan)) != CLI_EXIT_OK)
        goto out;
    opts.flags = HV_VM_CREATE_START;
    opts.payload = a.payload;
    opts.console = to_stdout;
    if (hv_vm_create(conn, plan, &opts, &vm) < 0) {
        rc = cli_fail("run");
        if (hv_error_code_of(hv_error_last()) == HV_E_PLAN)
            rc = CLI_EXIT_REJECTED;
        goto out;
    }
    if (hv_vm_wait(vm, timeout_ms, &code) < 0) {
        rc = cli_fail("run"); /* the message names the VM */
        hv_vm_destroy(vm);
    } else {
        fprintf(stderr, "hpcvirt: %s exited with code %d\n", hv_vm_name(vm), code);
        rc = code == 0 ? CLI_EXIT_OK : CLI_EXIT_GUEST_CODE;
    }
    if (a.stats)
        print_stats(vm);
out:
    hv_vm_free(vm);
    hv_plan_free(plan);
    hv_host_free(host);
    hv_vm_spec_free(spec);
    hv_conn_close(conn);
    return rc;
}

const cli_command cli_cmd_run = {
    .name = "run",
    .summary = "Run a guest payload in a VM of the built-in engine; prints its console.",
    .usage = "PAYLOAD [--spec FILE | --vcpus N --memory SIZE] [--timeout SECONDS] [--stats]\n"
             "                   [--uri URI]\n"
             "  PAYLOAD      a static ELF64 guest (docs/guest-abi.md), e.g. build/guest/hello.elf\n"
             "  --spec FILE  the VM spec (default: 1 vCPU, 64 MiB; --vcpus/--memory change it)\n"
             "  --timeout S  power the VM off after S seconds and fail (default: no limit)\n"
             "  --stats      print the VM's exit counters and times to stderr\n"
             "  --uri URI    default $HPCVIRT_DEFAULT_URI, else kvm:///\n"
             "Exit status: 0 the guest exited with 0, 3 it exited with another code,\n"
             "1 it crashed or timed out (the reason and registers are printed).",
    .run = run_run,
};

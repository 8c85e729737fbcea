/*
 * tools/hpcvirt/cmd-run.c - `hpcvirt run PAYLOAD`: plan a VM (from a spec
 * file, or --vcpus/--memory) on the connection's host, run a guest payload in
 * it on the built-in engine (or, with --kernel, boot a Linux kernel: the
 * spec's boot source; --disk adds disk images), stream its console to stdout
 * and report how it ended: exit 0 when the guest exited with 0, 3 with another exit code, 1
 * when it crashed or ran past --timeout. --suspend-after S --snapshot FILE
 * suspends it to FILE after S seconds instead (`hpcvirt resume FILE` goes on
 * from there). The waiting and reporting are shared with `resume FILE`.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_console_to_stdout(void *data, const char *bytes, size_t length)
{
    (void)data;
    fwrite(bytes, 1, length, stdout);
    fflush(stdout);
}

/* --suspend-after's (or --migrate-after's) seconds, a decimal number ("0.3"), in ms. */
static int parse_seconds(const cli_command *cmd, const char *option, const char *text, int *ms)
{
    char *end = NULL;
    double seconds;

    errno = 0;
    seconds = strtod(text, &end);
    if (errno || end == text || *end || !(text[0] == '.' || isdigit((unsigned char)text[0])) ||
        !(seconds >= 0 && seconds <= INT_MAX / 1000))
        return cli_usage_error(cmd, "%s takes seconds (0.3, 2), not '%s'", option, text);
    *ms = (int)(seconds * 1000 + 0.5);
    return CLI_EXIT_OK;
}

/* The VM's default name: the payload's (or --kernel's) file name without
 * ".elf", letters, digits, '-' and '_' only ("hello" for build/guest/hello.elf,
 * "vmlinuz-6-1" for /boot/vmlinuz-6.1). */
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

/*
 * The file an option names (--kernel FILE), as an absolute path into `out`
 * (a relative one from the current directory, links resolved): it must be a
 * readable regular file. Prints why not.
 */
static int file_of(const char *option, const char *file, char *out, size_t size)
{
    char resolved[PATH_MAX];
    struct stat st;

    if (stat(file, &st) < 0 || access(file, R_OK) < 0 ||
        (file[0] != '/' && !realpath(file, resolved))) {
        int code = errno == ENOENT                     ? HV_E_NOTFOUND
                   : errno == EACCES || errno == EPERM ? HV_E_PERM
                                                       : HV_E_IO;

        hv_error_report(code, NULL, "%s %s: %s", option, file, strerror(errno));
        return cli_fail("run");
    }
    if (!S_ISREG(st.st_mode)) {
        hv_error_report(HV_E_INVAL, NULL, "%s %s: not a regular file", option, file);
        return cli_fail("run");
    }
    if ((size_t)snprintf(out, size, "%s", file[0] == '/' ? file : resolved) >= size) {
        hv_error_report(HV_E_RANGE, NULL, "%s %s: the path is too long", option, file);
        return cli_fail("run");
    }
    return CLI_EXIT_OK;
}

/* --kernel, --initrd and --cmdline as the spec's boot source; each --disk FILE[,ro] a disk. */
static int add_boot_and_disks(const cli_command *cmd, const cli_args *a, hv_vm_spec *spec)
{
    char kernel[PATH_MAX], initrd[PATH_MAX], file[PATH_MAX];
    int rc;

    if (a->kernel) {
        if ((rc = file_of("--kernel", a->kernel, kernel, sizeof(kernel))) != CLI_EXIT_OK ||
            (a->initrd &&
             (rc = file_of("--initrd", a->initrd, initrd, sizeof(initrd))) != CLI_EXIT_OK))
            return rc;
        if (hv_vm_spec_set_boot(spec, kernel, a->initrd ? initrd : NULL, a->cmdline) < 0) {
            const char *field = hv_error_path(hv_error_last());

            return cli_usage_error(cmd, "%s: %s",
                                   strcmp(field, "boot.cmdline") == 0  ? "--cmdline"
                                   : strcmp(field, "boot.initrd") == 0 ? "--initrd"
                                                                       : "--kernel",
                                   hv_error_message(hv_error_last()));
        }
    }
    for (int i = 0; i < a->disks.count; i++) {
        const char *arg = a->disks.items[i];
        size_t len = strlen(arg);
        bool read_only = len > 3 && strcmp(arg + len - 3, ",ro") == 0;
        char name[PATH_MAX];

        if ((size_t)snprintf(name, sizeof(name), "%.*s", (int)(len - (read_only ? 3 : 0)), arg) >=
            sizeof(name))
            return cli_usage_error(cmd, "--disk %s: the path is too long", arg);
        if ((rc = file_of("--disk", name, file, sizeof(file))) != CLI_EXIT_OK)
            return rc;
        if (hv_vm_spec_add_disk(spec, file, HV_DISK_FORMAT_RAW, HV_DISK_BUS_VIRTIO, read_only, NULL,
                                0) < 0)
            return cli_usage_error(cmd, "--disk %s: %s", arg, hv_error_message(hv_error_last()));
    }
    return CLI_EXIT_OK;
}

int cli_default_spec(const cli_command *cmd, const cli_args *a, const char *name,
                     uint64_t memory_bytes, hv_vm_spec **spec)
{
    unsigned long vcpus = 1;
    uint64_t memory = memory_bytes;

    if (a->vcpus) {
        char *end = NULL;

        errno = 0;
        vcpus = strtoul(a->vcpus, &end, 10);
        if (errno || !end || *end || a->vcpus[0] < '1' || a->vcpus[0] > '9' || vcpus > 4096)
            return cli_usage_error(cmd, "--vcpus takes a count from 1 to 4096, not '%s'", a->vcpus);
    }
    if (a->memory && hv_size_parse(a->memory, &memory) < 0)
        return cli_usage_error(cmd, "--memory: %s", hv_error_message(hv_error_last()));
    if (hv_vm_spec_new(spec) < 0 || hv_vm_spec_set_name(*spec, name) < 0 ||
        hv_vm_spec_set_vcpus(*spec, (unsigned int)vcpus) < 0 ||
        hv_vm_spec_set_memory_bytes(*spec, memory) < 0)
        return cli_fail("the VM spec");
    return CLI_EXIT_OK;
}

/*
 * The spec: from --spec, else 1 vCPU and 64 MiB unless --vcpus/--memory say
 * otherwise; then --kernel's boot source and --disk's disks.
 */
static int make_spec(const cli_command *cmd, const cli_args *a, hv_vm_spec **spec)
{
    int rc;

    if ((rc = a->spec ? cli_load_spec(a->spec, spec)
                      : cli_default_spec(cmd, a, name_of(a->kernel ? a->kernel : a->pos[0]),
                                         UINT64_C(64) << 20, spec)) != CLI_EXIT_OK)
        return rc;
    if ((rc = add_boot_and_disks(cmd, a, *spec)) != CLI_EXIT_OK)
        return rc;
    /* what runs: a payload, or the boot source (--kernel's, or the spec's) */
    if (!a->npos && !hv_vm_spec_boot_kernel(*spec))
        return cli_usage_error(cmd,
                               "expected the PAYLOAD to run (an ELF64 file), or --kernel FILE "
                               "(a Linux kernel)%s",
                               a->spec ? ": the spec has no boot source" : "");
    if (a->npos && hv_vm_spec_boot_kernel(*spec))
        return cli_usage_error(cmd,
                               "the spec %s boots a kernel (boot.kernel) and the PAYLOAD %s was "
                               "given too: run one or the other",
                               a->spec, a->pos[0]);
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

int cli_run_to_end(const char *command, hv_vm *vm, int timeout_ms, bool stats)
{
    int rc, code = 0;

    if (hv_vm_wait(vm, timeout_ms, &code) < 0) {
        rc = cli_fail(command); /* the message names the VM */
        hv_vm_destroy(vm);
    } else {
        fprintf(stderr, "hpcvirt: %s exited with code %d\n", cli_text(hv_vm_name(vm)), code);
        rc = code == 0 ? CLI_EXIT_OK : CLI_EXIT_GUEST_CODE;
    }
    if (stats)
        print_stats(vm);
    return rc;
}

/*
 * --suspend-after: give the guest `ms`, then suspend it to `path` (it stops).
 * Returns CLI_EXIT_OK when the file was written, -1 when the guest ended
 * first (the caller reports that as `run` does), else CLI_EXIT_FAILURE.
 */
static int suspend_after(hv_vm *vm, int ms, const char *path)
{
    int code, state = HV_VM_STATE_UNKNOWN;

    if (hv_vm_wait(vm, ms, &code) == 0 || hv_error_code_of(hv_error_last()) != HV_E_TIMEOUT)
        return -1;
    if (hv_vm_suspend(vm, path, NULL) == 0) {
        fprintf(stderr, "hpcvirt: %s suspended to %s\n", cli_text(hv_vm_name(vm)), cli_text(path));
        return CLI_EXIT_OK;
    }
    if (hv_vm_state(vm, &state) == 0 &&
        (state == HV_VM_STATE_EXITED || state == HV_VM_STATE_CRASHED))
        return -1; /* it ended between the wait and the suspend */
    cli_fail_on("run: suspending", hv_vm_name(vm));
    hv_vm_destroy(vm);
    return CLI_EXIT_FAILURE;
}

static int run_run(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    cli_new_vm nv = {0};
    hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
    int rc, timeout_ms = -1, suspend_ms = -1, migrate_ms = 0;
    bool migration_failed = false;
    unsigned long long downtime_ms = 0, bandwidth = 0;
    cli_migrate_settings how = {0};
    cli_channel channel = CLI_CHANNEL_INIT;
    int fed_ms = 0;

    rc = cli_parse_args(cmd, argc, argv, 0, 1, "the PAYLOAD to run (an ELF64 file)", &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.kernel && a.npos)
        return cli_usage_error(cmd,
                               "the PAYLOAD %s and --kernel %s both say what to run: pick one (a "
                               "payload, or a Linux kernel with --initrd and --cmdline)",
                               a.pos[0], a.kernel);
    if ((a.initrd || a.cmdline) && !a.kernel)
        return cli_usage_error(cmd, "--initrd and --cmdline go with --kernel");
    if (!a.kernel && !a.npos && !a.spec)
        return cli_usage_error(cmd,
                               "expected the PAYLOAD to run (an ELF64 file), or --kernel FILE");
    if (a.spec && (a.vcpus || a.memory))
        return cli_usage_error(cmd, "--spec excludes --vcpus and --memory");
    if (!a.suspend_after != !a.snapshot)
        return cli_usage_error(cmd, "--suspend-after and --snapshot go together");
    if ((a.migrate_after || a.key_file || a.max_downtime || a.bandwidth || a.throttle) &&
        !a.migrate_to)
        return cli_usage_error(cmd, "--migrate-after, --key-file, --max-downtime, --bandwidth "
                                    "and --throttle go with --migrate-to");
    if (a.migrate_to && a.snapshot)
        return cli_usage_error(cmd, "--migrate-to and --suspend-after exclude each other");
    if ((a.channel_in || a.channel_out) && a.npos)
        return cli_usage_error(cmd, "--channel-in and --channel-out are a Linux guest's channel: "
                                    "they go with --kernel (or a spec with a boot source), not "
                                    "with a PAYLOAD");
    if (a.channel_in && (a.snapshot || a.migrate_to))
        return cli_usage_error(cmd, "--channel-in excludes --suspend-after and --migrate-to");
    if ((a.max_downtime && (rc = cli_parse_number(cmd, "--max-downtime", a.max_downtime, 3600000,
                                                  &downtime_ms)) != CLI_EXIT_OK) ||
        (a.bandwidth && (rc = cli_parse_number(cmd, "--bandwidth", a.bandwidth, 1ull << 40,
                                               &bandwidth)) != CLI_EXIT_OK))
        return rc;
    how.key_file = a.key_file;
    how.max_downtime_ms = (unsigned int)downtime_ms;
    how.bandwidth_mib_per_s = bandwidth;
    how.throttle = a.throttle;
    if ((rc = cli_parse_timeout(cmd, a.timeout, &timeout_ms)) != CLI_EXIT_OK ||
        (a.suspend_after && (rc = parse_seconds(cmd, "--suspend-after", a.suspend_after,
                                                &suspend_ms)) != CLI_EXIT_OK) ||
        (a.migrate_after &&
         (rc = parse_seconds(cmd, "--migrate-after", a.migrate_after, &migrate_ms)) != CLI_EXIT_OK))
        return rc;
    if (a.suspend_after && timeout_ms >= 0 && timeout_ms <= suspend_ms)
        return cli_usage_error(cmd, "--timeout must be longer than --suspend-after");
    if ((rc = make_spec(cmd, &a, &nv.spec)) != CLI_EXIT_OK ||
        (a.channel_in && (rc = cli_channel_read_in(a.channel_in, &channel)) != CLI_EXIT_OK) ||
        (a.channel_out && (rc = cli_channel_open_out(a.channel_out, &channel)) != CLI_EXIT_OK) ||
        (rc = cli_new_vm_plan(&nv, &a)) != CLI_EXIT_OK)
        goto out;
    opts.flags = HV_VM_CREATE_START;
    opts.payload = a.npos ? a.pos[0] : NULL; /* else the spec's boot source runs */
    opts.console = cli_console_to_stdout;
    if (a.channel_in || a.channel_out) {
        opts.channel = cli_channel_to_file;
        opts.channel_data = &channel;
    }
    if (hv_vm_create(nv.conn, nv.plan, &opts, &nv.vm) < 0) {
        rc = cli_fail_plan("run");
        goto out;
    }
    if (a.channel_in) {
        if ((rc = cli_channel_feed(nv.vm, &channel, timeout_ms, &fed_ms)) != CLI_EXIT_OK) {
            hv_vm_destroy(nv.vm);
            goto out;
        }
        if (timeout_ms >= 0)
            timeout_ms = timeout_ms > fed_ms ? timeout_ms - fed_ms : 0;
    }
    if (a.snapshot && (rc = suspend_after(nv.vm, suspend_ms, a.snapshot)) >= 0) {
        if (a.stats)
            print_stats(nv.vm);
        goto out;
    }
    if (a.migrate_to) {
        rc = cli_migrate_after(nv.vm, migrate_ms, a.migrate_to, &how);
        if (rc == CLI_EXIT_OK || rc == CLI_EXIT_FAILURE)
            goto out;
        migration_failed = rc == -2; /* failed: it runs on here, and the command fails at its end */
    }
    rc = cli_run_to_end("run", nv.vm, timeout_ms, a.stats);
    if (migration_failed)
        rc = CLI_EXIT_FAILURE;
    else if (a.migrate_to)
        fprintf(stderr, "hpcvirt: %s ended before --migrate-after %s: it was not migrated\n",
                cli_text(hv_vm_name(nv.vm)), cli_text(a.migrate_after));
    if (a.snapshot)
        fprintf(stderr, "hpcvirt: %s ended before --suspend-after %s: %s was not written\n",
                cli_text(hv_vm_name(nv.vm)), cli_text(a.suspend_after), cli_text(a.snapshot));
out:
    cli_new_vm_free(&nv); /* the VM first: its vCPUs write to the channel's file */
    cli_channel_close(&channel);
    return rc;
}

const cli_command cli_cmd_run = {
    .name = "run",
    .summary = "Run a guest payload or a Linux kernel on the built-in engine; prints its console.",
    .usage = "PAYLOAD [--spec FILE | --vcpus N --memory SIZE] [--timeout SECONDS] [--stats]\n"
             "                   [--host-root DIR | --host-json FILE] [--profile NAME]\n"
             "                   [--disk FILE] [--suspend-after SECONDS --snapshot FILE]\n"
             "                   [--migrate-to ADDR [--migrate-after S] [--key-file F]\n"
             "                    [--max-downtime MS] [--bandwidth MIB_PER_S] [--throttle]]\n"
             "                   [--uri URI]\n"
             "       hpcvirt run --kernel FILE [--initrd FILE] [--cmdline STR] [--disk FILE]\n"
             "                   [--channel-in FILE] [--channel-out FILE]\n"
             "                   [--spec FILE | --vcpus N --memory SIZE] [the options above]\n"
             "  PAYLOAD      a static ELF64 guest (docs/guest-abi.md), e.g. build/guest/hello.elf\n"
             "  --kernel FILE\n"
             "               instead of a PAYLOAD, boot this Linux kernel (a bzImage or an ELF\n"
             "               vmlinux) directly: the spec's boot source (docs/spec-json.md); the\n"
             "               VM's default name is its file name; a spec whose boot source says\n"
             "               what to boot needs neither\n"
             "  --initrd FILE\n"
             "               with --kernel: the initial RAM disk (default: none)\n"
             "  --cmdline STR\n"
             "               with --kernel: the kernel's command line, at most 4095 bytes\n"
             "  --disk FILE[,ro]\n"
             "               a raw disk image (a regular file) for the VM, read-only with ',ro';\n"
             "               give it again for more disks (the order is the guest's)\n"
             "  --channel-in FILE, --channel-out FILE\n"
             "               a Linux guest's channel (/dev/hvc0): what the guest writes to it\n"
             "               goes to --channel-out's FILE; --channel-in's bytes are sent to it\n"
             "               once the guest has written to it (its hello: set the tty raw\n"
             "               and -echo first)\n"
             "  --spec FILE  the VM spec (default: 1 vCPU, 64 MiB; --vcpus/--memory change it)\n"
             "  --vcpus N    without --spec: the VM's vCPUs (1 to 4096; default 1)\n"
             "  --memory SIZE\n"
             "               without --spec: the VM's memory (64MiB, 1GiB; default 64 MiB)\n"
             "  --host-root DIR, --host-json FILE\n"
             "               plan on this host (a captured tree, 'hpcvirt host --json') instead\n"
             "               of the connection's own; --root DIR is an alias of --host-root\n"
             "  --profile NAME\n"
             "               the maximums profile to plan against instead of the spec's (below)\n"
             "  --timeout S  power the VM off after S seconds and fail (default: no limit)\n"
             "  --stats      print the VM's exit counters and times to stderr\n"
             "  --suspend-after SECONDS --snapshot FILE\n"
             "               after SECONDS (0.3, 2) suspend the VM to FILE and exit 0: it stops\n"
             "               there, and 'hpcvirt resume FILE' goes on from there in any process;\n"
             "               a guest that ends before runs as without them (FILE not written)\n"
             "  --migrate-to tcp://HOST:PORT [--migrate-after SECONDS] [--key-file FILE]\n"
             "               after SECONDS (default 0) live-migrate the VM to 'hpcvirt\n"
             "               migrate-listen' there (with the key in FILE) and exit 0 once it\n"
             "               runs there; if the migration fails the VM runs on here to its end\n"
             "               and the command exits 1; --max-downtime MS: what the last round\n"
             "               may take (default 300); --bandwidth MIB_PER_S: the most it sends\n"
             "               a second, on average (default: no limit); --throttle: slow down a\n"
             "               guest that dirties memory faster than it can be sent; on a\n"
             "               terminal a progress line shows each round\n"
             "  --uri URI    default $HPCVIRT_DEFAULT_URI, else kvm:///\n"
             "Exit status: 0 the guest exited with 0 (or was suspended), 3 it exited with another\n"
             "code, 1 it crashed or timed out (the reason and registers are printed).",
    .options = "--uri --spec --vcpus --memory --host-root --host-json --profile --timeout --stats "
               "--suspend-after --snapshot --migrate-to --migrate-after --key-file --max-downtime "
               "--bandwidth --throttle --kernel --initrd --cmdline --disk --channel-in "
               "--channel-out",
    .run = run_run,
};

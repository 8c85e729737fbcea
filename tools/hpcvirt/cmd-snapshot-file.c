/*
 * tools/hpcvirt/cmd-snapshot-file.c - the files VMs are suspended to
 * (written by `hpcvirt run --suspend-after` or `hpcvirt suspend`):
 * `hpcvirt resume FILE` continues one - on kvm:///, whose VMs live in this
 * process, to its end as `run` does, streaming the new console output -,
 * `hpcvirt resume-from FILE` continues one and prints its name, and
 * `hpcvirt clone FILE -n COUNT` resumes one, paused, as the parent of COUNT
 * clones, times hv_vm_clone() and with --wait runs the clones to their end;
 * `hpcvirt clone NAME -n COUNT --mode linked` (the default mode on a URI
 * other than kvm:///) makes linked clones of a libvirt domain.
 * An operand of `resume` that is an existing file (or a path with a '/') is
 * a snapshot; any other is the name of a VM the backend keeps, which
 * `resume` continues as the other lifecycle commands do (cmd-vm.c).
 */
#include "cli.h"
#include "core/text.h"
#include "fd-limit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool is_kvm(hv_conn *conn)
{
    return strcmp(hv_conn_backend(conn), "kvm") == 0;
}

/* A snapshot operand: an existing regular file, or a path (VM names have no '/'). */
static bool is_snapshot_operand(const char *operand)
{
    struct stat st;

    return (stat(operand, &st) == 0 && S_ISREG(st.st_mode)) || strchr(operand, '/') != NULL;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- resume FILE, resume-from FILE ------------------------------------------------ */

/*
 * Resume the snapshot in `path` on the connection; on kvm:/// (whose VMs live
 * in this process) and with `run`, run it to its end as `run` does, else print
 * the new VM's name.
 */
static int resume_file(const cli_command *cmd, const cli_args *a, const char *path, bool run)
{
    hv_conn *conn = NULL;
    hv_vm *vm = NULL;
    hv_vm_resume_options opts = HV_VM_RESUME_OPTIONS_INIT;
    int rc, timeout_ms = -1;
    bool to_end;

    if ((rc = cli_parse_timeout(cmd, a->timeout, &timeout_ms)) != CLI_EXIT_OK ||
        (rc = cli_open_conn(a, &conn)) != CLI_EXIT_OK)
        return rc;
    /* a VM of kvm:/// ends with this process: run it to its end here */
    to_end = run && !a->paused && is_kvm(conn);
    opts.flags = (a->paused ? HV_VM_RESUME_PAUSED : 0) | (a->eager ? HV_VM_RESUME_EAGER : 0);
    opts.name = a->name;
    if (to_end)
        opts.console = cli_console_to_stdout;
    if (hv_vm_resume_from(conn, path, &opts, &vm) < 0)
        rc = cli_fail_on(cmd->name, path);
    else if (to_end)
        rc = cli_run_to_end(cmd->name, vm, timeout_ms, a->stats);
    else
        printf("%s\n", cli_text(hv_vm_name(vm)));
    hv_vm_free(vm);
    hv_conn_close(conn);
    return rc;
}

static int run_resume(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse_args(cmd, argc, argv, 1, 1, "a snapshot FILE or the VM's NAME", &a);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (is_snapshot_operand(a.pos[0]))
        return resume_file(cmd, &a, a.pos[0], true);
    if (a.paused || a.eager || a.name || a.timeout || a.stats)
        return cli_usage_error(cmd,
                               "'%s' is not a file: --paused, --eager, --name, --timeout and "
                               "--stats go with a snapshot FILE",
                               a.pos[0]);
    return cli_vm_simple(cmd, argc, argv);
}

static int run_resume_from(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse_args(cmd, argc, argv, 1, 1, "the FILE written by 'hpcvirt suspend'", &a);

    return rc == CLI_EXIT_OK ? resume_file(cmd, &a, a.pos[0], false) : rc;
}

/* ---- clone ------------------------------------------------------------------------ */

static const char *const mode_names[] = {"instant", "full", "cold", "linked"}; /* HV_VM_CLONE_* */

/* The progress bar on stderr (a terminal): "[#####     ] 32/64". */
typedef struct progress_bar {
    size_t done, total;
} progress_bar;

static void draw_bar(void *data, size_t done, size_t total)
{
    progress_bar *bar = data;
    char cells[31];
    size_t fill = total ? done * 30 / total : 30;

    memset(cells, '#', fill);
    memset(cells + fill, ' ', 30 - fill);
    cells[30] = '\0';
    fprintf(stderr, "\r[%s] %zu/%zu%s", cells, done, total, done == total ? "\n" : "");
    fflush(stderr);
    bar->done = done;
    bar->total = total;
}

static int compare_ints(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;

    return (a > b) - (a < b);
}

/*
 * Wait for every clone (all within `timeout_ms`, -1: no limit; the late ones
 * are powered off) and print "N exited with 0, M with other codes (CODES), K
 * crashed". The exit status: 0 all exited with 0, 3 some with another code, 1
 * when one crashed, ran late or could not be waited for.
 */
static int wait_clones(hv_vm **clones, size_t count, int timeout_ms)
{
    int *codes = calloc(count, sizeof(*codes));
    size_t zero = 0, other = 0, crashed = 0, late = 0, failed = 0, distinct = 0;
    double deadline = now_ms() + timeout_ms;

    if (!codes) {
        fprintf(stderr, "hpcvirt: error: clone: out of memory [HV_E_NOMEM]\n");
        return CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; i < count; i++) {
        double left = deadline - now_ms();
        int code = 0, wait_ms = timeout_ms < 0 ? -1 : left > 0 ? (int)left : 0;

        if (hv_vm_wait(clones[i], wait_ms, &code) == 0) {
            if (code == 0)
                zero++;
            else
                codes[other++] = code;
            continue;
        }
        if (hv_error_code_of(hv_error_last()) == HV_E_TIMEOUT) {
            late++; /* said once, below */
        } else {
            crashed += hv_error_code_of(hv_error_last()) == HV_E_GUEST;
            failed += hv_error_code_of(hv_error_last()) != HV_E_GUEST;
            cli_fail("clone"); /* the message names the clone and what it did */
        }
        hv_vm_destroy(clones[i]);
    }
    if (late)
        fprintf(stderr,
                "hpcvirt: error: clone: %zu clones still running after --timeout %d were powered "
                "off [HV_E_TIMEOUT]\n",
                late, timeout_ms / 1000);
    qsort(codes, other, sizeof(*codes), compare_ints);
    printf("%zu exited with 0, %zu with other codes", zero, other);
    for (size_t i = 0; i < other; i++)
        if (i == 0 || codes[i] != codes[i - 1])
            printf("%s%d", distinct++ ? ", " : " (", codes[i]);
    printf("%s, %zu crashed", distinct ? ")" : "", crashed);
    if (late)
        printf(", %zu ran past --timeout", late);
    if (failed)
        printf(", %zu could not be waited for", failed);
    printf("\n");
    free(codes);
    return crashed || late || failed ? CLI_EXIT_FAILURE : other ? CLI_EXIT_GUEST_CODE : CLI_EXIT_OK;
}

static void free_identities(char **identities, size_t count)
{
    for (size_t i = 0; identities && i < count; i++)
        free(identities[i]);
    free(identities);
}

/*
 * --identity TEXT: each clone's own text, "{index}" replaced by its index
 * (1 .. count), into a new array (NULL, printing why, when it cannot be made).
 */
static char **clone_identities(const char *text, size_t count)
{
    char **identities = calloc(count, sizeof(*identities));
    char buf[HV_VM_CLONE_IDENTITY_MAX_BYTES + 1];

    for (size_t i = 0; identities && i < count; i++) {
        if (!hv_text_expand_index(text, (uint64_t)i + 1, buf, sizeof(buf))) {
            fprintf(stderr,
                    "hpcvirt: error: clone: --identity gives clone %zu more than %u bytes: use a "
                    "shorter one [HV_E_INVAL]\n",
                    i + 1, HV_VM_CLONE_IDENTITY_MAX_BYTES);
            free_identities(identities, count);
            return NULL;
        }
        if (!(identities[i] = strdup(buf))) {
            free_identities(identities, count);
            identities = NULL;
        }
    }
    if (!identities)
        fprintf(stderr, "hpcvirt: error: clone: out of memory for %zu identities [HV_E_NOMEM]\n",
                count);
    return identities;
}

/* The clone command's options, checked; a usage error otherwise. */
static int parse_clone_args(const cli_command *cmd, int argc, char **argv, cli_args *a,
                            size_t *count, int *mode, unsigned int *threads, int *timeout_ms)
{
    unsigned long long n = 0, t = 0;
    int rc = cli_parse_args(cmd, argc, argv, 1, 1,
                            "the snapshot FILE (or, for linked clones, the VM NAME) to clone", a);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (!a->count)
        return cli_usage_error(cmd, "-n COUNT is needed: how many clones to make");
    if ((rc = cli_parse_number(cmd, "-n", a->count, 1000000, &n)) != CLI_EXIT_OK)
        return rc;
    if (n == 0)
        return cli_usage_error(cmd, "-n takes a count from 1 to 1000000, not 0");
    *count = (size_t)n;
    /* the built-in engine's clones are instant by default; another backend's can only be linked */
    *mode = strncmp(cli_uri(a), "kvm:", 4) == 0 ? HV_VM_CLONE_INSTANT : HV_VM_CLONE_LINKED;
    if (a->mode) {
        for (*mode = 0; *mode < 4 && strcmp(a->mode, mode_names[*mode]) != 0; ++*mode)
            ;
        if (*mode == 4)
            return cli_usage_error(cmd, "--mode is instant, full, cold or linked, not '%s'",
                                   a->mode);
    }
    if (*mode == HV_VM_CLONE_LINKED && (a->prepare || a->wait || a->threads))
        return cli_usage_error(cmd, "--prepare, --wait and --threads go with instant, full and "
                                    "cold clones, not --mode linked (the default on a URI "
                                    "other than kvm:///)");
    if (*mode != HV_VM_CLONE_LINKED && a->snapshot)
        return cli_usage_error(cmd, "--snapshot names a libvirt snapshot of NAME to clone: it goes "
                                    "with --mode linked (a snapshot FILE is the operand)");
    if (a->threads &&
        (rc = cli_parse_number(cmd, "--threads", a->threads, 1024, &t)) != CLI_EXIT_OK)
        return rc;
    *threads = (unsigned int)t;
    if (a->timeout && !a->wait)
        return cli_usage_error(cmd, "--timeout goes with --wait");
    return cli_parse_timeout(cmd, a->timeout, timeout_ms);
}

/* --mode linked: the VM NAME on --uri (libvirt), its clones started; their names printed. */
static int clone_linked(const cli_args *a, size_t count, hv_vm_clone_options opts)
{
    cli_vm_ref ref;
    hv_vm **clones = calloc(count, sizeof(*clones));
    double start;
    int rc;

    if (!clones) {
        fprintf(stderr, "hpcvirt: error: clone: out of memory for %zu clones [HV_E_NOMEM]\n",
                count);
        return CLI_EXIT_FAILURE;
    }
    if ((rc = cli_open_vm(&cli_cmd_clone, a, &ref)) != CLI_EXIT_OK) {
        free(clones);
        return rc;
    }
    opts.mode = HV_VM_CLONE_LINKED;
    opts.snapshot = a->snapshot;
    start = now_ms();
    rc = hv_vm_clone(ref.vm, count, &opts, clones);
    if (rc == 0) {
        double ms = now_ms() - start;

        printf("%zu linked clones of %s in %.1f ms (%.3f ms each)\n", count,
               cli_text(hv_vm_name(ref.vm)), ms, ms / (double)count);
        for (size_t i = 0; i < count; i++) {
            printf("%s\n", cli_text(hv_vm_name(clones[i])));
            hv_vm_free(clones[i]);
        }
    }
    free(clones);
    return cli_close_vm(&ref, rc);
}

static int run_clone(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    hv_vm *parent = NULL, **clones = NULL;
    hv_vm_resume_options resume = HV_VM_RESUME_OPTIONS_INIT;
    hv_vm_clone_options opts = HV_VM_CLONE_OPTIONS_INIT;
    progress_bar bar = {0, 0};
    char **identities = NULL;
    size_t count = 0;
    unsigned int threads = 0;
    int rc, mode = HV_VM_CLONE_INSTANT, timeout_ms = -1;
    double start;

    if ((rc = parse_clone_args(cmd, argc, argv, &a, &count, &mode, &threads, &timeout_ms)) !=
        CLI_EXIT_OK)
        return rc;
    if (mode == HV_VM_CLONE_LINKED && !a.mode && is_snapshot_operand(a.pos[0])) {
        fprintf(stderr,
                "hpcvirt: error: clone %s: %s makes linked clones of a domain named by its "
                "NAME; a snapshot file's VM is cloned by the built-in engine (--uri kvm:///) "
                "[HV_E_UNSUPPORTED]\n",
                cli_text(a.pos[0]), cli_text(cli_uri(&a)));
        return CLI_EXIT_FAILURE;
    }
    opts.name_pattern = a.name_pattern;
    if (a.identity && !(identities = clone_identities(a.identity, count)))
        return CLI_EXIT_FAILURE;
    opts.identities = (const char *const *)identities;
    if (mode == HV_VM_CLONE_LINKED) {
        rc = clone_linked(&a, count, opts);
        free_identities(identities, count);
        return rc;
    }
    if ((rc = cli_open_conn(&a, &conn)) != CLI_EXIT_OK) {
        free_identities(identities, count);
        return rc;
    }
    if (!is_kvm(conn)) {
        fprintf(stderr,
                "hpcvirt: error: clone %s: %s is a %s connection: instant, full and cold "
                "clones are the built-in engine's (--uri kvm:///); here, make linked clones "
                "(--mode linked) [HV_E_UNSUPPORTED]\n",
                cli_text(a.pos[0]), cli_text(hv_conn_uri(conn)), cli_text(hv_conn_backend(conn)));
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    clones = calloc(count, sizeof(*clones));
    if (!clones) {
        fprintf(stderr, "hpcvirt: error: clone: out of memory for %zu clones [HV_E_NOMEM]\n",
                count);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    /* each clone holds a few descriptors (its VM, vCPUs, memory): let a thousand fit */
    hv_tool_raise_fd_limit(count * 8 + 256 > 1048576 ? 1048576 : count * 8 + 256);
    resume.flags = HV_VM_RESUME_PAUSED;
    if (hv_vm_resume_from(conn, a.pos[0], &resume, &parent) < 0) {
        rc = cli_fail_on("clone", a.pos[0]);
        goto out;
    }
    if (a.prepare) {
        start = now_ms();
        if (hv_vm_clone_prepare(parent, count) < 0) {
            rc = cli_fail_on("clone: preparing clones of", hv_vm_name(parent));
            goto out;
        }
        printf("prepared %zu clones of %s in %.1f ms\n", count, cli_text(hv_vm_name(parent)),
               now_ms() - start);
    }
    opts.mode = mode;
    opts.flags = a.wait ? 0 : HV_VM_CLONE_PAUSED;
    opts.threads = threads;
    if (isatty(STDERR_FILENO)) {
        opts.progress = draw_bar;
        opts.progress_data = &bar;
    }
    start = now_ms();
    if (hv_vm_clone(parent, count, &opts, clones) < 0) {
        if (bar.done < bar.total)
            fputc('\n', stderr);
        rc = cli_fail_on("clone", hv_vm_name(parent));
        goto out;
    }
    {
        double ms = now_ms() - start;

        printf("%zu %s clones of %s in %.1f ms (%.3f ms each)\n", count, mode_names[mode],
               cli_text(hv_vm_name(parent)), ms, ms / (double)count);
        for (size_t i = 0; i < count; i++)
            printf("%s\n", cli_text(hv_vm_name(clones[i])));
        fflush(stdout);
    }
    rc = a.wait ? wait_clones(clones, count, timeout_ms) : CLI_EXIT_OK;
out:
    for (size_t i = 0; clones && i < count; i++)
        hv_vm_free(clones[i]);
    free(clones);
    free_identities(identities, count);
    hv_vm_free(parent);
    hv_conn_close(conn);
    return rc;
}

/* ---- the command table entries -------------------------------------------------- */

const cli_command cli_cmd_resume = {
    .name = "resume",
    .summary = "Continue a paused VM, or the VM saved in a snapshot file (kvm:///: to its end).",
    .usage = "NAME [--uri URI]\n"
             "       hpcvirt resume FILE [--uri URI] [--paused] [--eager] [--name NAME]\n"
             "                      [--timeout SECONDS] [--stats]\n"
             "  NAME         a paused VM the backend keeps: its vCPUs go on\n"
             "  FILE         a snapshot file ('hpcvirt run --suspend-after', 'hpcvirt suspend'):\n"
             "               an operand that is an existing file (or a path with a '/') is a\n"
             "               snapshot. On kvm:/// (VMs live in this process) the VM runs to its\n"
             "               end as with 'hpcvirt run': new console output on stdout, exit\n"
             "               0, 3 or 1; on other backends its name is printed." CLI_URI_HELP
             "\n  --paused     restore it with its vCPUs paused and print its name (on kvm:///\n"
             "               this only checks the file: the VM ends with the command)\n"
             "  --eager      read all its memory now (default: on demand, copy-on-write)\n"
             "  --name NAME  the new VM's name (default: the one in the file)\n"
             "  --timeout S  power it off after S seconds and fail (kvm:///)\n"
             "  --stats      print its exit counters and times to stderr (kvm:///)",
    .options = "--uri --paused --eager --name --timeout --stats",
    .run = run_resume,
    .vm_action = hv_vm_resume,
};

const cli_command cli_cmd_resume_from = {
    .name = "resume-from",
    .summary = "Continue a VM from a file written by 'hpcvirt suspend'; prints its name.",
    .usage = "FILE [--uri URI] [--paused] [--eager] [--name NAME]\n" CLI_URI_HELP
             "\n  --paused     restore it with its vCPUs paused"
             "\n  --eager      read all its memory now (kvm:///; default: on demand)"
             "\n  --name NAME  the new VM's name (kvm:///; default: the one in the file)\n"
             "kvm:/// VMs live in the process: 'hpcvirt resume FILE' runs one to its end.",
    .options = "--uri --paused --eager --name",
    .run = run_resume_from,
};

const cli_command cli_cmd_clone = {
    .name = "clone",
    .summary = "Clone a snapshot file's VM (kvm:///) or a libvirt domain (linked) COUNT times.",
    .usage = "FILE -n COUNT [--mode instant|full|cold] [--threads N] [--prepare]\n"
             "                     [--wait [--timeout SECONDS]] [--name-pattern P]\n"
             "                     [--identity T] [--uri URI]\n"
             "       hpcvirt clone NAME -n COUNT [--mode linked] --uri libvirt:URI\n"
             "                     [--snapshot SNAPSHOT] [--name-pattern P] [--identity T]\n"
             "  FILE         a snapshot file: resumed paused, the parent of the clones\n"
             "  NAME         a shut-off libvirt domain: its writable disks become the read-only\n"
             "               templates of the clones' qcow2 overlays (needs qemu-img); the\n"
             "               clones are started and their names printed; a domain suspended\n"
             "               with a managed save image: its clones start from its memory\n"
             "  --snapshot SNAPSHOT\n"
             "               with --mode linked: clone NAME as its external libvirt snapshot\n"
             "               SNAPSHOT kept it (its images, and its memory when it has one);\n"
             "               NAME may be running\n"
             "  -n COUNT     how many clones (1 to 1000000)\n"
             "  --mode M     instant (default on kvm:///: copy-on-write views of the parent's\n"
             "               memory), full (memory copied), cold (fresh boots of its payload)\n"
             "               or linked (the default on any other URI)\n"
             "  --threads N  threads making them (default 0: one per host CPU)\n"
             "  --prepare    make the empty VMs first (timed apart), so cloning only maps\n"
             "  --wait       start the clones and wait for them all (default: they are made\n"
             "               paused and end with the command); prints how they ended\n"
             "  --timeout S  with --wait: power off the clones still running after S seconds\n"
             "  --name-pattern P\n"
             "               the clones' names, {index} replaced by each one's index\n"
             "               (web-{index});\n"
             "               default NAME-cN (instant), NAME-fullN, NAME-coldN, NAME-linkedN\n"
             "  --identity T the text each clone reads as its own, {index} replaced by its index\n"
             "               (1 .. COUNT): in its boot info (instant, full; docs/guest-abi.md) or\n"
             "               its SMBIOS OEM strings (linked); at most 4096 bytes\n"
             "  --uri URI    kvm:/// (the default); libvirt:URI for linked clones\n"
             "Prints 'COUNT MODE clones of NAME in X ms (Y ms each)' and the clones' names,\n"
             "one a line, with a progress bar on\n"
             "stderr when it is a terminal. Exit status: 0 made (and with --wait, all exited\n"
             "with 0), 3 some exited with another code, 1 a failure, crash or timeout.",
    .options = "--uri -n --mode --threads --prepare --wait --timeout --name-pattern --identity "
               "--snapshot",
    .run = run_clone,
};

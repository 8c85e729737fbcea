/*
 * tools/hpcvirt/cmd-vm.c - the VM commands: `hpcvirt create SPEC.json`
 * (plan the spec on the connection's host, or a given one, and define the VM;
 * a plan with errors prints its findings and exits 2), the lifecycle (start,
 * pause, resume NAME, stop, destroy, undefine, state), suspend to a file
 * (resume-from is with `resume FILE`, cmd-snapshot-file.c), migrate, list and
 * snapshot. Every command connects to --uri, default $HPCVIRT_DEFAULT_URI
 * (else kvm:///), and reaches an existing VM by name (common.c); nothing is
 * kept between invocations but what the backend keeps.
 */
#include "cli.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* ---- create --------------------------------------------------------------- */

static int run_create(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    cli_new_vm nv = {0};
    hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
    int rc = cli_parse_args(cmd, argc, argv, 1, 1, "SPEC.json", &a);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.host_root && a.host_json)
        return cli_usage_error(cmd, "--host-root and --host-json exclude each other");
    if ((rc = cli_load_spec(a.pos[0], &nv.spec)) != CLI_EXIT_OK ||
        (rc = cli_new_vm_plan(&nv, &a)) != CLI_EXIT_OK)
        goto out;
    opts.flags = a.start ? HV_VM_CREATE_START : 0;
    opts.backend_options = a.backend_options;
    if (hv_vm_create(nv.conn, nv.plan, &opts, &nv.vm) < 0) {
        bool rejected = hv_error_code_of(hv_error_last()) == HV_E_PLAN;

        if (rejected) {
            /* the findings, as `hpcvirt plan` prints them; nothing was created */
            fprintf(stderr, "plan %s: NOT OK\n", cli_text(hv_vm_spec_name(nv.spec)));
            for (size_t i = 0; i < hv_plan_finding_count(nv.plan); i++)
                cli_print_finding(stderr, hv_plan_finding_at(nv.plan, i));
        }
        rc = cli_fail_on("create", hv_vm_spec_name(nv.spec));
        if (rejected)
            rc = CLI_EXIT_REJECTED;
        goto out;
    }
    for (size_t i = 0; i < hv_plan_finding_count(nv.plan); i++)
        if (hv_finding_severity(hv_plan_finding_at(nv.plan, i)) == HV_SEVERITY_WARNING)
            cli_print_finding(stderr, hv_plan_finding_at(nv.plan, i));
    printf("%s\n", cli_text(hv_vm_name(nv.vm)));
out:
    cli_new_vm_free(&nv);
    return rc;
}

/* ---- start, pause, resume NAME, destroy, undefine, state: the VM NAME only ---- */

int cli_vm_simple(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    cli_vm_ref ref;
    int rc = cli_parse_args(cmd, argc, argv, 1, 1, "the VM's NAME", &a);

    if (rc != CLI_EXIT_OK || (rc = cli_open_vm(cmd, &a, &ref)) != CLI_EXIT_OK)
        return rc;
    return cli_close_vm(&ref, cmd->vm_action(ref.vm));
}

/* state's action: print it */
static int print_state(hv_vm *vm)
{
    int st = HV_VM_STATE_UNKNOWN;

    if (hv_vm_state(vm, &st) < 0)
        return -1;
    printf("%s\n", hv_vm_state_name(st));
    return 0;
}

/* ---- stop, suspend, migrate ----------------------------------------------------- */

static int run_stop(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    cli_vm_ref ref;
    unsigned long long seconds = 60;
    int rc = cli_parse_args(cmd, argc, argv, 1, 1, "the VM's NAME", &a);

    if (rc == CLI_EXIT_OK && a.timeout)
        rc = cli_parse_number(cmd, "--timeout", a.timeout, UINT_MAX / 1000, &seconds);
    if (rc != CLI_EXIT_OK || (rc = cli_open_vm(cmd, &a, &ref)) != CLI_EXIT_OK)
        return rc;
    return cli_close_vm(&ref, hv_vm_stop(ref.vm, (unsigned int)(seconds * 1000)));
}

static int run_suspend(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    cli_vm_ref ref;
    hv_vm_suspend_options opts = HV_VM_SUSPEND_OPTIONS_INIT;
    int rc = cli_parse_args(cmd, argc, argv, 2, 2, "the VM's NAME and the FILE to write", &a);

    if (rc != CLI_EXIT_OK || (rc = cli_open_vm(cmd, &a, &ref)) != CLI_EXIT_OK)
        return rc;
    opts.flags = a.keep_running ? HV_VM_SUSPEND_KEEP_RUNNING : 0;
    return cli_close_vm(&ref, hv_vm_suspend(ref.vm, a.pos[1], &opts));
}

static int run_migrate(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    cli_vm_ref ref;
    hv_migrate_options opts = HV_MIGRATE_OPTIONS_INIT;
    unsigned long long bandwidth = 0, downtime = 0;
    int rc = cli_parse_args(cmd, argc, argv, 2, 2, "the VM's NAME and the DEST URI", &a);

    if (rc == CLI_EXIT_OK && a.bandwidth)
        rc = cli_parse_number(cmd, "--bandwidth", a.bandwidth, UINT64_MAX, &bandwidth);
    if (rc == CLI_EXIT_OK && a.max_downtime)
        rc = cli_parse_number(cmd, "--max-downtime", a.max_downtime, UINT_MAX, &downtime);
    if (rc != CLI_EXIT_OK || (rc = cli_open_vm(cmd, &a, &ref)) != CLI_EXIT_OK)
        return rc;
    opts.flags = (a.offline ? HV_MIGRATE_OFFLINE : 0) | (a.throttle ? HV_MIGRATE_THROTTLE : 0);
    opts.bandwidth_mib_per_s = bandwidth;
    opts.max_downtime_ms = (unsigned int)downtime;
    return cli_close_vm(&ref, hv_vm_migrate(ref.vm, a.pos[1], &opts));
}

/* ---- list, snapshot ------------------------------------------------------------- */

/* Print names (of VMs, of snapshots) one a line, and free them. */
static void print_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        printf("%s\n", cli_text(names[i]));
    hv_strv_free(names, count);
}

static int run_list(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    char **names = NULL;
    size_t count = 0;
    int rc = cli_parse_args(cmd, argc, argv, 0, 0, "no operands", &a);

    if (rc != CLI_EXIT_OK || (rc = cli_open_conn(&a, &conn)) != CLI_EXIT_OK)
        return rc;
    if (hv_conn_list_vms(conn, &names, &count) < 0)
        rc = cli_fail("list");
    else
        print_names(names, count);
    hv_conn_close(conn);
    return rc;
}

static int list_snapshots(hv_vm *vm)
{
    char **names = NULL;
    size_t count = 0;

    if (hv_vm_snapshot_list(vm, &names, &count) < 0)
        return -1;
    print_names(names, count);
    return 0;
}

/* snapshot's actions: those on one SNAPSHOT, and list (no call: it takes none) */
static const struct {
    const char *name;
    int (*call)(hv_vm *vm, const char *snapshot);
} snapshot_actions[] = {
    {"create", hv_vm_snapshot_create},
    {"revert", hv_vm_snapshot_revert},
    {"delete", hv_vm_snapshot_delete},
    {"list", NULL},
};
#define N_SNAPSHOT_ACTIONS (sizeof(snapshot_actions) / sizeof(snapshot_actions[0]))

static int run_snapshot(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    cli_vm_ref ref;
    const char *action, *snap;
    size_t k = 0;
    int rc = cli_parse_args(cmd, argc, argv, 2, 3,
                            "NAME create|revert|delete SNAPSHOT or NAME list", &a);

    if (rc != CLI_EXIT_OK)
        return rc;
    action = a.pos[1];
    snap = a.npos > 2 ? a.pos[2] : NULL;
    while (k < N_SNAPSHOT_ACTIONS && strcmp(action, snapshot_actions[k].name) != 0)
        k++;
    if (k == N_SNAPSHOT_ACTIONS)
        return cli_usage_error(cmd, "'%s' is not a snapshot action (create, revert, delete, list)",
                               action);
    if (!snapshot_actions[k].call && snap)
        return cli_usage_error(cmd, "'snapshot NAME list' takes no snapshot");
    if (snapshot_actions[k].call && !snap)
        return cli_usage_error(cmd, "'snapshot NAME %s' needs the SNAPSHOT name", action);
    if ((rc = cli_open_vm(cmd, &a, &ref)) != CLI_EXIT_OK)
        return rc;
    snprintf(ref.context, sizeof(ref.context), "snapshot %s %s%s%s", a.pos[0], action,
             snap ? " " : "", snap ? snap : "");
    return cli_close_vm(&ref,
                        snap ? snapshot_actions[k].call(ref.vm, snap) : list_snapshots(ref.vm));
}

/* ---- the command table entries ---------------------------------------------- */

const cli_command cli_cmd_create = {
    .name = "create",
    .summary = "Plan a VM spec and define the VM (--start: and start it); prints its name.",
    .usage = "SPEC.json [--uri URI] [--host-root DIR | --host-json FILE] [--profile NAME]\n"
             "                      [--start] [--backend-options KEY=VALUE,...]\n" CLI_URI_HELP
             "\n  --host-root DIR, --host-json FILE\n"
             "               plan on this host (a captured tree, 'hpcvirt host --json') instead\n"
             "               of the connection's own; --root DIR is an alias of --host-root\n"
             "  --profile NAME\n"
             "               the maximums profile to plan against instead of the spec's (below)\n"
             "  --start      start the VM once defined\n"
             "  --backend-options KEY=VALUE,...\n"
             "               for libvirt: domain_type=kvm|qemu (qemu: software emulation, no\n"
             "               /dev/kvm needed), network=NAME (the libvirt network the NICs join;\n"
             "               without it: user-mode networking, one queue, no RSS),\n"
             "               console_log=PATH (the serial console to a file)\n"
             "A plan with errors prints its findings and exits 2; nothing is created.",
    .options = "--uri --host-root --host-json --profile --start --backend-options",
    .run = run_create,
};

#define SIMPLE_COMMAND(var, cmdname, action, text)                                                 \
    const cli_command var = {                                                                      \
        .name = cmdname,                                                                           \
        .summary = text,                                                                           \
        .usage = "NAME [--uri URI]\n" CLI_URI_HELP,                                                \
        .options = "--uri",                                                                        \
        .run = cli_vm_simple,                                                                      \
        .vm_action = action,                                                                       \
    }

SIMPLE_COMMAND(cli_cmd_start, "start", hv_vm_start, "Start a defined (or suspended) VM.");
SIMPLE_COMMAND(cli_cmd_pause, "pause", hv_vm_pause, "Pause a running VM's vCPUs.");
SIMPLE_COMMAND(cli_cmd_destroy, "destroy", hv_vm_destroy, "Power a VM off at once.");
SIMPLE_COMMAND(cli_cmd_undefine, "undefine", hv_vm_undefine,
               "Remove a VM's definition (it must not be running).");
SIMPLE_COMMAND(cli_cmd_state, "state", print_state,
               "Print a VM's state: defined, running, paused, suspended, stopping, crashed, ...");

const cli_command cli_cmd_stop = {
    .name = "stop",
    .summary = "Ask the guest to shut down; power it off after the timeout.",
    .usage = "NAME [--uri URI] [--timeout SECONDS]\n" CLI_URI_HELP "\n  --timeout SECONDS\n"
             "               how long the guest gets before it is powered off "
             "(default 60; 0: at once)",
    .options = "--uri --timeout",
    .run = run_stop,
};

const cli_command cli_cmd_suspend = {
    .name = "suspend",
    .summary = "Suspend a VM to a file (its state and memory); the VM stops.",
    .usage = "NAME FILE [--uri URI] [--keep-running]\n" CLI_URI_HELP
             "\n  --keep-running  write the file, then go on running",
    .options = "--uri --keep-running",
    .run = run_suspend,
};

const cli_command cli_cmd_migrate = {
    .name = "migrate",
    .summary = "Live-migrate a running VM to another host (for libvirt: DEST is its URI).",
    .usage = "NAME DEST [--uri URI] [--bandwidth MIB_PER_S] [--max-downtime MS] "
             "[--throttle] [--offline]\n" CLI_URI_HELP
             "\n  --bandwidth MIB_PER_S   limit the transfer (default 0: unlimited)"
             "\n  --max-downtime MS       the longest pause allowed (default: the backend's)"
             "\n  --throttle              slow down a guest that dirties memory faster than it"
             "\n                          can be sent (libvirt: auto-converge)"
             "\n  --offline               move a stopped VM's definition only\n"
             "A VM whose plan forbids live migration is refused with the reason.",
    .options = "--uri --bandwidth --max-downtime --offline --throttle",
    .run = run_migrate,
};

const cli_command cli_cmd_list = {
    .name = "list",
    .summary = "Print the names of the VMs the backend knows, one a line.",
    .usage = "[--uri URI]\n" CLI_URI_HELP,
    .options = "--uri",
    .run = run_list,
};

const cli_command cli_cmd_snapshot = {
    .name = "snapshot",
    .summary = "Create, revert to, delete or list a VM's snapshots.",
    .usage = "NAME create|revert|delete SNAPSHOT [--uri URI]\n"
             "       hpcvirt snapshot NAME list [--uri URI]\n" CLI_URI_HELP,
    .options = "--uri",
    .run = run_snapshot,
};

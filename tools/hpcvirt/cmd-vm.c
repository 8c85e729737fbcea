/*
 * tools/hpcvirt/cmd-vm.c - the VM commands: `hpcvirt create SPEC.json`
 * (plan the spec on the connection's host, or a given one, and define the VM;
 * a plan with errors prints its findings and exits 2), the lifecycle (start,
 * pause, resume NAME, stop, destroy, undefine, state), suspend to a file and
 * resume-from (shared with `resume FILE`, cmd-snapshot-file.c), migrate, list
 * and snapshot. Every command connects with
 * hv_conn_open() to --uri, default $HPCVIRT_DEFAULT_URI (else kvm:///), and
 * reaches an existing VM by name; nothing is kept between invocations but
 * what the backend keeps.
 */
#include "cli.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* ---- create --------------------------------------------------------------- */

static int run_create(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    hv_vm *vm = NULL;
    hv_vm_create_options opts = HV_VM_CREATE_OPTIONS_INIT;
    int rc;

    rc = cli_parse_args(cmd, argc, argv, "--host-root --host-json --start --backend-options", 1, 1,
                        "SPEC.json", &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.host_root && a.host_json)
        return cli_usage_error(cmd, "--host-root and --host-json exclude each other");
    if ((rc = cli_load_spec(a.pos[0], &spec)) != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_open_conn(&a, &conn)) != CLI_EXIT_OK ||
        (rc = cli_plan_on_conn(conn, spec, a.host_root, a.host_json, &host, &plan)) != CLI_EXIT_OK)
        goto out;
    opts.flags = a.start ? HV_VM_CREATE_START : 0;
    opts.backend_options = a.backend_options;
    if (hv_vm_create(conn, plan, &opts, &vm) < 0) {
        bool rejected = hv_error_code_of(hv_error_last()) == HV_E_PLAN;

        if (rejected) {
            /* the findings, as `hpcvirt plan` prints them; nothing was created */
            fprintf(stderr, "plan %s: NOT OK\n", cli_text(hv_vm_spec_name(spec)));
            for (size_t i = 0; i < hv_plan_finding_count(plan); i++)
                cli_print_finding(stderr, hv_plan_finding_at(plan, i));
        }
        rc = cli_fail_on("create", hv_vm_spec_name(spec));
        if (rejected)
            rc = CLI_EXIT_REJECTED;
        goto out;
    }
    for (size_t i = 0; i < hv_plan_finding_count(plan); i++)
        if (hv_finding_severity(hv_plan_finding_at(plan, i)) == HV_SEVERITY_WARNING)
            cli_print_finding(stderr, hv_plan_finding_at(plan, i));
    printf("%s\n", cli_text(hv_vm_name(vm)));
    rc = CLI_EXIT_OK;
out:
    hv_vm_free(vm);
    hv_plan_free(plan);
    hv_host_free(host);
    hv_vm_spec_free(spec);
    hv_conn_close(conn);
    return rc;
}

/* ---- start, pause, resume, destroy, undefine, state ------------------------ */

int cli_vm_simple(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    hv_vm *vm = NULL;
    int rc;

    rc = cli_parse_args(cmd, argc, argv, "", 1, 1, "the VM's NAME", &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_open_vm(&a, cmd->name, a.pos[0], &conn, &vm)) != CLI_EXIT_OK)
        return rc;
    if (cmd->vm_action(vm) < 0)
        rc = cli_fail_on(cmd->name, a.pos[0]);
    hv_vm_free(vm);
    hv_conn_close(conn);
    return rc;
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

/* ---- stop ----------------------------------------------------------------- */

static int run_stop(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    hv_vm *vm = NULL;
    unsigned long long seconds = 60;
    int rc;

    rc = cli_parse_args(cmd, argc, argv, "--timeout", 1, 1, "the VM's NAME", &a);
    if (rc == CLI_EXIT_OK && a.timeout)
        rc = cli_parse_number(cmd, "--timeout", a.timeout, UINT_MAX / 1000, &seconds);
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_open_vm(&a, "stop", a.pos[0], &conn, &vm)) != CLI_EXIT_OK)
        return rc;
    if (hv_vm_stop(vm, (unsigned int)(seconds * 1000)) < 0)
        rc = cli_fail_on("stop", a.pos[0]);
    hv_vm_free(vm);
    hv_conn_close(conn);
    return rc;
}

/* ---- suspend, resume-from ------------------------------------------------- */

static int run_suspend(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    hv_vm *vm = NULL;
    hv_vm_suspend_options opts = HV_VM_SUSPEND_OPTIONS_INIT;
    int rc;

    rc = cli_parse_args(cmd, argc, argv, "--keep-running", 2, 2,
                        "the VM's NAME and the FILE to write", &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_open_vm(&a, "suspend", a.pos[0], &conn, &vm)) != CLI_EXIT_OK)
        return rc;
    opts.flags = a.keep_running ? HV_VM_SUSPEND_KEEP_RUNNING : 0;
    if (hv_vm_suspend(vm, a.pos[1], &opts) < 0)
        rc = cli_fail_on("suspend", a.pos[0]);
    hv_vm_free(vm);
    hv_conn_close(conn);
    return rc;
}

static int run_resume_from(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse_args(cmd, argc, argv, "--paused --eager --name", 1, 1,
                            "the FILE written by 'hpcvirt suspend'", &a);

    return rc == CLI_EXIT_OK ? cli_resume_file(cmd, &a, a.pos[0], false) : rc;
}

/* ---- migrate -------------------------------------------------------------- */

static int run_migrate(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    hv_vm *vm = NULL;
    hv_migrate_options opts = HV_MIGRATE_OPTIONS_INIT;
    unsigned long long bandwidth = 0, downtime = 0;
    int rc;

    rc = cli_parse_args(cmd, argc, argv, "--bandwidth --max-downtime --offline", 2, 2,
                        "the VM's NAME and the DEST URI", &a);
    if (rc == CLI_EXIT_OK && a.bandwidth)
        rc = cli_parse_number(cmd, "--bandwidth", a.bandwidth, UINT64_MAX, &bandwidth);
    if (rc == CLI_EXIT_OK && a.max_downtime)
        rc = cli_parse_number(cmd, "--max-downtime", a.max_downtime, UINT_MAX, &downtime);
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_open_vm(&a, "migrate", a.pos[0], &conn, &vm)) != CLI_EXIT_OK)
        return rc;
    opts.flags = a.offline ? HV_MIGRATE_OFFLINE : 0;
    opts.bandwidth_mib_per_s = bandwidth;
    opts.max_downtime_ms = (unsigned int)downtime;
    if (hv_vm_migrate(vm, a.pos[1], &opts) < 0)
        rc = cli_fail_on("migrate", a.pos[0]);
    hv_vm_free(vm);
    hv_conn_close(conn);
    return rc;
}

/* ---- list ------------------------------------------------------------------ */

static int run_list(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    char **names = NULL;
    size_t count = 0;
    int rc;

    rc = cli_parse_args(cmd, argc, argv, "", 0, 0, "no operands", &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_open_conn(&a, &conn)) != CLI_EXIT_OK)
        return rc;
    if (hv_conn_list_vms(conn, &names, &count) < 0) {
        rc = cli_fail("list");
    } else {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", cli_text(names[i]));
        hv_strv_free(names, count);
    }
    hv_conn_close(conn);
    return rc;
}

/* ---- snapshot --------------------------------------------------------------- */

static int run_snapshot(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    hv_vm *vm = NULL;
    const char *action, *snap;
    char context[512];
    int rc, status;

    rc = cli_parse_args(cmd, argc, argv, "", 2, 3,
                        "NAME create|revert|delete SNAPSHOT or NAME list", &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    action = a.pos[1];
    snap = a.npos > 2 ? a.pos[2] : NULL;
    if (strcmp(action, "list") == 0) {
        if (snap)
            return cli_usage_error(cmd, "'snapshot NAME list' takes no snapshot");
    } else if (strcmp(action, "create") == 0 || strcmp(action, "revert") == 0 ||
               strcmp(action, "delete") == 0) {
        if (!snap)
            return cli_usage_error(cmd, "'snapshot NAME %s' needs the SNAPSHOT name", action);
    } else {
        return cli_usage_error(cmd, "'%s' is not a snapshot action (create, revert, delete, list)",
                               action);
    }
    if ((rc = cli_open_vm(&a, "snapshot", a.pos[0], &conn, &vm)) != CLI_EXIT_OK)
        return rc;
    if (!snap) {
        char **names = NULL;
        size_t count = 0;

        status = hv_vm_snapshot_list(vm, &names, &count);
        for (size_t i = 0; status == 0 && i < count; i++)
            printf("%s\n", cli_text(names[i]));
        if (status == 0)
            hv_strv_free(names, count);
    } else if (strcmp(action, "create") == 0) {
        status = hv_vm_snapshot_create(vm, snap);
    } else if (strcmp(action, "revert") == 0) {
        status = hv_vm_snapshot_revert(vm, snap);
    } else {
        status = hv_vm_snapshot_delete(vm, snap);
    }
    if (status < 0) {
        snprintf(context, sizeof(context), "snapshot %s %s%s%s", a.pos[0], action, snap ? " " : "",
                 snap ? snap : "");
        rc = cli_fail(context);
    }
    hv_vm_free(vm);
    hv_conn_close(conn);
    return rc;
}

/* ---- the command table entries ---------------------------------------------- */

const cli_command cli_cmd_create = {
    .name = "create",
    .summary = "Plan a VM spec and define the VM (--start: and start it); prints its name.",
    .usage = "SPEC.json [--uri URI] [--host-root DIR | --host-json FILE] [--start]\n"
             "                      [--backend-options KEY=VALUE,...]\n" CLI_URI_HELP
             "\n  --host-root DIR, --host-json FILE\n"
             "               plan on this host instead of the connection's own\n"
             "  --start      start the VM once defined\n"
             "  --backend-options KEY=VALUE,...\n"
             "               for libvirt: domain_type=kvm|qemu, network=NAME, "
             "console_log=PATH\n"
             "A plan with errors prints its findings and exits 2; nothing is created.",
    .run = run_create,
};

#define SIMPLE_COMMAND(var, cmdname, action, text)                                                 \
    const cli_command var = {                                                                      \
        .name = cmdname,                                                                           \
        .summary = text,                                                                           \
        .usage = "NAME [--uri URI]\n" CLI_URI_HELP,                                                \
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
    .run = run_stop,
};

const cli_command cli_cmd_suspend = {
    .name = "suspend",
    .summary = "Suspend a VM to a file (its state and memory); the VM stops.",
    .usage = "NAME FILE [--uri URI] [--keep-running]\n" CLI_URI_HELP
             "\n  --keep-running  write the file, then go on running",
    .run = run_suspend,
};

const cli_command cli_cmd_resume_from = {
    .name = "resume-from",
    .summary = "Continue a VM from a file written by 'hpcvirt suspend'; prints its name.",
    .usage = "FILE [--uri URI] [--paused] [--eager] [--name NAME]\n" CLI_URI_HELP
             "\n  --paused     restore it with its vCPUs paused"
             "\n  --eager      read all its memory now (kvm:///; default: on demand)"
             "\n  --name NAME  the new VM's name (kvm:///; default: the one in the file)\n"
             "kvm:/// VMs live in the process: 'hpcvirt resume FILE' runs one to its end.",
    .run = run_resume_from,
};

const cli_command cli_cmd_migrate = {
    .name = "migrate",
    .summary = "Live-migrate a running VM to another host (for libvirt: DEST is its URI).",
    .usage = "NAME DEST [--uri URI] [--bandwidth MIB_PER_S] [--max-downtime MS] "
             "[--offline]\n" CLI_URI_HELP
             "\n  --bandwidth MIB_PER_S   limit the transfer (default 0: unlimited)"
             "\n  --max-downtime MS       the longest pause allowed (default: the backend's)"
             "\n  --offline               move a stopped VM's definition only\n"
             "A VM whose plan forbids live migration is refused with the reason.",
    .run = run_migrate,
};

const cli_command cli_cmd_list = {
    .name = "list",
    .summary = "Print the names of the VMs the backend knows, one a line.",
    .usage = "[--uri URI]\n" CLI_URI_HELP,
    .run = run_list,
};

const cli_command cli_cmd_snapshot = {
    .name = "snapshot",
    .summary = "Create, revert to, delete or list a VM's snapshots.",
    .usage = "NAME create|revert|delete SNAPSHOT [--uri URI]\n"
             "       hpcvirt snapshot NAME list [--uri URI]\n" CLI_URI_HELP,
    .run = run_snapshot,
};

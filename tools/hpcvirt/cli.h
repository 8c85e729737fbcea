/*
 * tools/hpcvirt/cli.h - shared pieces of the hpcvirt command-line tool: the
 * command table entry, exit codes, option parsing and error printing helpers.
 * The tool uses only the public API.
 */
#ifndef HPCVIRT_CLI_H
#define HPCVIRT_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <hpcvirt/hpcvirt.h>

/* Exit codes (documented in docs/cli.md). */
enum {
    CLI_EXIT_OK = 0,         /* success */
    CLI_EXIT_FAILURE = 1,    /* the operation failed; the library's message was printed */
    CLI_EXIT_REJECTED = 2,   /* the input was understood and judged invalid (plan errors) */
    CLI_EXIT_GUEST_CODE = 3, /* `run`: the guest exited with a non-zero code */
    CLI_EXIT_USAGE = 64,     /* bad command line (EX_USAGE) */
};

typedef struct cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* options after the command name */
    int (*run)(int argc, char **argv);
} cli_command;

/* Print the calling thread's last hpcvirt error as "hpcvirt: error: MSG (at PATH)". */
int cli_fail(const char *context);

/* Print a usage problem for a command and return CLI_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when argv[i] is -h/--help. */
bool cli_is_help(const char *arg);
void cli_print_command_help(const cli_command *cmd, FILE *out);

/* Commands, one file each. */
extern const cli_command cli_cmd_version;
extern const cli_command cli_cmd_host;
extern const cli_command cli_cmd_frequency;
extern const cli_command cli_cmd_plan;
/* cmd-vm.c: connections and VMs */
extern const cli_command cli_cmd_create;
extern const cli_command cli_cmd_start;
extern const cli_command cli_cmd_pause;
extern const cli_command cli_cmd_resume;
extern const cli_command cli_cmd_stop;
extern const cli_command cli_cmd_destroy;
extern const cli_command cli_cmd_undefine;
extern const cli_command cli_cmd_state;
extern const cli_command cli_cmd_suspend;
extern const cli_command cli_cmd_resume_from;
extern const cli_command cli_cmd_migrate;
extern const cli_command cli_cmd_list;
extern const cli_command cli_cmd_snapshot;
/* cmd-run.c: the built-in engine */
extern const cli_command cli_cmd_run;

/* Shared loaders (cmd-plan.c): print the error and return a CLI_EXIT_* code. */
char *cli_read_file(const char *path); /* NULL after printing why */
int cli_load_host(const char *root, const char *host_json, hv_host **host);
int cli_load_spec(const char *path, hv_vm_spec **spec);
/* The host (root or host_json when given, else the connection's own) and the plan on it. */
int cli_plan_on_conn(hv_conn *conn, const hv_vm_spec *spec, const char *root, const char *host_json,
                     hv_host **host, hv_plan **plan);

#endif

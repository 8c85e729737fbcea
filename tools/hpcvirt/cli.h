/*
 * tools/hpcvirt/cli.h - shared pieces of the hpcvirt command-line tool: the
 * command table entry, exit codes, the escaping of what it prints (text.c),
 * option parsing (args.c), error printing, loading and connecting (common.c)
 * and what the command files share. The tool uses only the public API (and the
 * library's text escaping, lib/core/text.c, compiled in).
 */
#ifndef HPCVIRT_CLI_H
#define HPCVIRT_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <hpcvirt/hpcvirt.h>

/* Exit codes (documented in docs/cli.md). */
enum {
    CLI_EXIT_OK = 0,         /* success */
    CLI_EXIT_FAILURE = 1,    /* the operation failed; the library's message was printed */
    CLI_EXIT_REJECTED = 2,   /* the input was understood and judged invalid (plan errors) */
    CLI_EXIT_GUEST_CODE = 3, /* `run`, `resume FILE`, `clone --wait`: a non-zero guest exit code */
    CLI_EXIT_USAGE = 64,     /* bad command line (EX_USAGE) */
};

/*
 * One entry of the command table (main.c lists them in `hpcvirt --help`
 * order; each is defined next to its handler).
 */
typedef struct cli_command cli_command;
struct cli_command {
    const char *name;
    const char *summary; /* the line `hpcvirt --help` prints */
    const char *usage;   /* options after the command name, for `hpcvirt NAME --help` */
    const char *options; /* the options it takes, space-separated ("--uri --json") */
    /* argv[0] is the command's name; returns a CLI_EXIT_* code */
    int (*run)(const cli_command *cmd, int argc, char **argv);
    /* a command that takes only the VM's NAME (run = cli_vm_simple): the call; < 0 fails */
    int (*vm_action)(hv_vm *vm);
};

/*
 * `text` as the tool prints it (docs/cli.md): as it is when every character
 * is printable UTF-8, else all of it escaped as the library's messages
 * escape outside text (control characters and escape sequences as \u001b,
 * bytes that are not UTF-8 as \xff, backslashes doubled), so nothing a host
 * tree, a document or a backend holds acts on the terminal. NULL gives "".
 * What it returns lives until 16 more calls: enough for one printf.
 */
const char *cli_text(const char *text);

/* "  error CODE (at PATH): MESSAGE", each through cli_text(). */
void cli_print_finding(FILE *out, const hv_finding *f);

/*
 * The log handler the tool installs for the library's warnings and errors (hv_log_handler):
 * "  warning MESSAGE" on stderr, escaped as cli_text() escapes. A finding the library logs reads
 * "CODE (at PATH): MESSAGE", so it is printed as cli_print_finding() prints one. Thread-safe.
 */
void cli_print_log_record(int level, const char *domain, const char *message, void *data);

/*
 * Set when the command takes --json and was given it: errors go to stderr as one JSON object,
 * {"error": {"code": -4, "name": "HV_E_PARSE", "message": ..., "path": ..., "context": ...}},
 * not as "hpcvirt: error: CONTEXT: MESSAGE (at PATH) [HV_E_CODE]".
 */
extern bool cli_json_errors;

/*
 * Print an error in the tool's one format (text or, with cli_json_errors, JSON). `context`
 * (what the tool was doing, or NULL) and `path` (NULL or "": none) may hold any bytes; in the
 * text form the path is left out when the message gives it in parentheses already (a syntax
 * error's "(line 3, column 12)").
 */
void cli_print_error(const char *context, int code, const char *message, const char *path);

/* text.c: `text` as a JSON string, quotes included (bytes that are not UTF-8 as U+FFFD). */
void cli_print_json_string(FILE *out, const char *text);

/* args.c: the command line */

/*
 * Print a usage problem for a command (cmd NULL: the command line as a whole) as an error
 * [HV_E_INVAL], then how to get help, and return CLI_EXIT_USAGE.
 */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An option given more than once (--disk), each value in the order given. */
#define CLI_LIST_MAX 64
typedef struct cli_list {
    const char *items[CLI_LIST_MAX];
    int count;
} cli_list;

/* Every option a command may take (args.c); each command allows some of them. */
typedef struct cli_args {
    const char *uri;
    const char *pos[3];
    int npos;
    const char *host_root, *host_json, *profile, *backend_options, *svg;
    const char *domain_type, *network, *interval_ms, *cpus;
    const char *timeout, *bandwidth, *max_downtime;
    const char *spec, *vcpus, *memory, *suspend_after, *snapshot;
    const char *name, *count, *mode, *threads, *name_pattern, *identity;
    const char *migrate_to, *migrate_after, *key_file;
    const char *kernel, *initrd, *cmdline, *channel_in, *channel_out;
    const char *modules, *cache, *init, *entrypoint, *workdir, *user;
    cli_list disks; /* --disk, repeatable */
    cli_list env;   /* --env, repeatable */
    bool start, keep_running, paused, offline, eager, stats, prepare, wait, throttle, json, xml;
    bool warm;
} cli_args;

/*
 * Parse argv (argv[0] is the command name): the options in cmd->options (--root is
 * --host-root's other name) and between `min_pos` and `max_pos` operands (`operands` names them
 * for the usage message). "--" ends the options. An unknown option is a usage error that names
 * the nearest one the command takes; --json, where taken, sets cli_json_errors first.
 */
int cli_parse_args(const cli_command *cmd, int argc, char **argv, int min_pos, int max_pos,
                   const char *operands, cli_args *a);
/*
 * How far `typed` is from `candidate` (its first `candidate_len` bytes) in edits (an insertion,
 * deletion, change or swap of neighbours each count 1); SIZE_MAX when it is too far to be a typo
 * of it. For "did you mean" suggestions.
 */
size_t cli_typo_distance(const char *typed, const char *candidate, size_t candidate_len);
/* A whole number 0..max for option `name`; a usage error otherwise. */
int cli_parse_number(const cli_command *cmd, const char *name, const char *text,
                     unsigned long long max, unsigned long long *out);
/* --timeout S (whole seconds) in milliseconds; -1 when `text` is NULL. */
int cli_parse_timeout(const cli_command *cmd, const char *text, int *timeout_ms);

/* common.c: errors, files, the connection and its VMs, new VMs */

/* Print the calling thread's last hpcvirt error (cli_print_error()); CLI_EXIT_FAILURE. */
int cli_fail(const char *context);

/* cli_fail(), returning CLI_EXIT_REJECTED when the error is a plan's errors (HV_E_PLAN). */
int cli_fail_plan(const char *context);

/* cli_fail() with "COMMAND NAME" as the context. */
int cli_fail_on(const char *command, const char *name);

/* Shared loaders: print the error and return a CLI_EXIT_* code. */
char *cli_read_file(const char *path); /* NULL after printing why */
/*
 * The bytes of a file ("-": stdin), at most 64 MiB, NUL-terminated after *length (which
 * counts any NUL inside); NULL after printing why, naming `option` ("--channel-in") if given.
 */
char *cli_read_file_bytes(const char *path, const char *option, size_t *length);
int cli_load_host(const char *root, const char *host_json, hv_host **host);
int cli_load_spec(const char *path, hv_vm_spec **spec);
/*
 * Write *text, which a library call that returned `made` set (< 0: print
 * its error, as `what`), to the file `path` ("-": stdout), and free it;
 * CLI_EXIT_OK, or CLI_EXIT_FAILURE after saying why. It takes a pointer so
 * that the call can be its argument: *text is read after the call ran.
 */
int cli_write_made(const char *path, int made, char **text, const char *what);

/* Connect to --uri (else $HPCVIRT_DEFAULT_URI, else kvm:///); print why not. */
int cli_open_conn(const cli_args *a, hv_conn **conn);
/* The URI --uri names, else $HPCVIRT_DEFAULT_URI, else HV_DEFAULT_URI (what cli_open_conn opens).
 */
const char *cli_uri(const cli_args *a);

/* The VM a command names (its first operand), on a connection of its own. */
typedef struct cli_vm_ref {
    hv_conn *conn;
    hv_vm *vm;
    char context[512]; /* a failure prints as "hpcvirt: error: CONTEXT: ..."; "COMMAND NAME" */
} cli_vm_ref;
/*
 * Connect to --uri and find the VM named by a->pos[0]. On failure print why
 * ("COMMAND NAME: ...") and return the exit code, with nothing left open.
 */
int cli_open_vm(const cli_command *cmd, const cli_args *a, cli_vm_ref *ref);
/*
 * What a command on the VM ends with: print the library's error when `status`
 * (what it called) is < 0, free the VM, close the connection; the exit code.
 */
int cli_close_vm(cli_vm_ref *ref, int status);

/* What `create` and `run` make a VM of, and the VM; cli_new_vm_free() frees what is set. */
typedef struct cli_new_vm {
    hv_vm_spec *spec; /* the caller sets it; cli_new_vm_free() frees it too */
    hv_conn *conn;
    hv_host *host;
    hv_plan *plan;
    hv_vm *vm;
} cli_new_vm;
/*
 * Connect to --uri and plan nv->spec on the host of a->host_root or
 * a->host_json when it has one, else on the connection's own; print why not.
 */
int cli_new_vm_plan(cli_new_vm *nv, const cli_args *a);

/*
 * Without --spec: a spec named `name` of 1 vCPU and `memory_bytes` unless --vcpus and --memory
 * say otherwise (a usage error when they are not a count or a size).
 */
int cli_default_spec(const cli_command *cmd, const cli_args *a, const char *name,
                     uint64_t memory_bytes, hv_vm_spec **spec);
void cli_new_vm_free(cli_new_vm *nv);

#define CLI_URI_HELP                                                                               \
    "\n  --uri URI    the backend connection (libvirt:qemu:///system, libvirt:test:///default, "   \
    "...);\n               default: $HPCVIRT_DEFAULT_URI, else " HV_DEFAULT_URI

/* Commands, one file each. */
extern const cli_command cli_cmd_version;
extern const cli_command cli_cmd_host;
extern const cli_command cli_cmd_frequency;
extern const cli_command cli_cmd_plan;
/* cmd-vm.c: connections and VMs */
extern const cli_command cli_cmd_create;
extern const cli_command cli_cmd_start;
extern const cli_command cli_cmd_pause;
extern const cli_command cli_cmd_stop;
extern const cli_command cli_cmd_destroy;
extern const cli_command cli_cmd_undefine;
extern const cli_command cli_cmd_state;
extern const cli_command cli_cmd_suspend;
extern const cli_command cli_cmd_migrate;
extern const cli_command cli_cmd_list;
extern const cli_command cli_cmd_snapshot;
/* start, pause, resume NAME, destroy, undefine, state: cmd->vm_action on the VM NAME. */
int cli_vm_simple(const cli_command *cmd, int argc, char **argv);
/* cmd-run.c: the built-in engine */
extern const cli_command cli_cmd_run;
/* The console callback that streams guest output to stdout. */
void cli_console_to_stdout(void *data, const char *bytes, size_t length);

/* channel.c: `run --channel-in/--channel-out`, a Linux guest's channel to and from files */
typedef struct cli_channel_input {
    uint8_t *bytes;
    size_t length;
} cli_channel_input;
typedef struct cli_channel {
    int out_fd;           /* --channel-out's file, or -1 */
    atomic_bool heard;    /* the guest wrote to its channel */
    cli_channel_input in; /* --channel-in's bytes */
} cli_channel;
#define CLI_CHANNEL_INIT                                                                           \
    {                                                                                              \
        -1, false,                                                                                 \
        {                                                                                          \
            NULL, 0                                                                                \
        }                                                                                          \
    }
/* The channel callback (`data`: the cli_channel): to --channel-out's file, if any. */
void cli_channel_to_file(void *data, const void *bytes, size_t length);
int cli_channel_open_out(const char *path, cli_channel *c);
/* Read all of --channel-in (at most 64 MiB). */
int cli_channel_read_in(const char *path, cli_channel *c);
/*
 * Once the guest has written to its channel, send it --channel-in's bytes,
 * waiting in 10 ms steps while it has not taken all of them, until it has,
 * the VM ended or timeout_ms (-1: no limit) ran out; *waited_ms says how
 * long that took.
 */
int cli_channel_feed(hv_vm *vm, cli_channel *c, int timeout_ms, int *waited_ms);
void cli_channel_close(cli_channel *c);
/*
 * Wait for a guest of the built-in engine to end (power it off after
 * `timeout_ms`, -1: no limit), print how it ended ("NAME exited with code N",
 * or the crash) and, with `stats`, its statistics: CLI_EXIT_OK, _GUEST_CODE
 * or _FAILURE, as `run` exits.
 */
int cli_run_to_end(const char *command, hv_vm *vm, int timeout_ms, bool stats);
/* cmd-snapshot-file.c: the files VMs are suspended to */
extern const cli_command cli_cmd_resume; /* resume NAME, or resume FILE */
extern const cli_command cli_cmd_resume_from;
extern const cli_command cli_cmd_clone;
extern const cli_command cli_cmd_migrate_listen;
extern const cli_command cli_cmd_container;

/* How `run --migrate-to` migrates (its options, parsed). */
typedef struct cli_migrate_settings {
    const char *key_file;         /* NULL: no key */
    unsigned int max_downtime_ms; /* 0: the default */
    uint64_t bandwidth_mib_per_s; /* 0: unlimited */
    bool throttle;
} cli_migrate_settings;

/*
 * cmd-migrate.c: after `ms` (0: now) live-migrate `vm` to `dest` as `how` says, with a
 * progress line on stderr when it is a terminal. CLI_EXIT_OK when it went (what it took is
 * printed), -1 when the guest ended first, -2 when the migration failed (printed; the VM runs on
 * here), CLI_EXIT_FAILURE when the key file could not be read.
 */
int cli_migrate_after(hv_vm *vm, int ms, const char *dest, const cli_migrate_settings *how);

#endif

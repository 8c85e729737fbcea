/*
 * tools/hpcvirt/cmd-migrate.c - live migration between built-in engines from
 * the command line: `hpcvirt migrate-listen ADDR` receives one VM and runs
 * it to its end as `run` does; `hpcvirt run ... --migrate-to ADDR` sends its
 * VM there (cli_migrate_after). Keys come from a file (--key-file).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The key in `path` (its bytes, one trailing newline dropped); NULL after printing why. */
static char *read_key(const char *path)
{
    char *key = cli_read_file(path);
    size_t len = key ? strlen(key) : 0;

    if (key && len && key[len - 1] == '\n')
        key[--len] = '\0';
    if (key && len == 0) {
        fprintf(stderr,
                "hpcvirt: error: %s: the key file is empty: write a shared secret in it "
                "[HV_E_INVAL]\n",
                cli_text(path));
        free(key);
        return NULL;
    }
    return key;
}

static void print_migration(const hv_vm *vm, const char *dest, const hv_migrate_stats *st)
{
    fprintf(stderr,
            "hpcvirt: %s migrated to %s in %.1f ms (downtime %.1f ms; %u rounds, %llu pages, "
            "%llu bytes)\n",
            cli_text(hv_vm_name(vm)), cli_text(dest), (double)st->total_ns / 1e6,
            (double)st->downtime_ns / 1e6, st->rounds, (unsigned long long)st->pages_sent,
            (unsigned long long)st->bytes_sent);
}

/*
 * The progress line on stderr (a terminal), redrawn in place: the first
 * round as a bar over the guest's memory, then each round's figures.
 */
static int draw_progress(const hv_migrate_progress *p, void *data)
{
    bool *drawn = data;
    char bar[23] = "";

    if (p->round == 0 && !p->stopped && p->memory_bytes) {
        size_t fill = (size_t)((p->memory_bytes - p->remaining_bytes) * 20 / p->memory_bytes);

        bar[0] = '[';
        memset(bar + 1, '#', fill);
        memset(bar + 1 + fill, ' ', 20 - fill);
        bar[21] = ']';
        bar[22] = '\0';
    }
    fprintf(stderr,
            "\r\033[Kmigrating: %s %u %s %.1f MiB sent, %.1f MiB left, %.1f MiB/s, dirty "
            "%.1f MiB/s, downtime ~%.0f ms",
            p->stopped ? "stopped after round" : "round", p->round, bar,
            (double)p->bytes_sent / 1048576.0, (double)p->remaining_bytes / 1048576.0,
            (double)p->bandwidth_bytes_per_s / 1048576.0, (double)p->dirty_bytes_per_s / 1048576.0,
            (double)p->expected_downtime_ns / 1e6);
    if (p->throttle_percent)
        fprintf(stderr, ", throttled %u %%", p->throttle_percent);
    fflush(stderr);
    *drawn = true;
    return 0;
}

int cli_migrate_after(hv_vm *vm, int ms, const char *dest, const cli_migrate_settings *how)
{
    hv_migrate_options opts = HV_MIGRATE_OPTIONS_INIT;
    hv_migrate_stats stats;
    char *key = NULL;
    bool drawn = false;
    int code, rc;

    if (how->key_file && !(key = read_key(how->key_file)))
        return CLI_EXIT_FAILURE;
    if (ms > 0 &&
        (hv_vm_wait(vm, ms, &code) == 0 || hv_error_code_of(hv_error_last()) != HV_E_TIMEOUT)) {
        free(key);
        return -1; /* it ended first */
    }
    opts.key = key;
    opts.key_bytes = key ? strlen(key) : 0;
    opts.stats = &stats;
    opts.max_downtime_ms = how->max_downtime_ms;
    opts.bandwidth_mib_per_s = how->bandwidth_mib_per_s;
    opts.flags = how->throttle ? HV_MIGRATE_THROTTLE : 0;
    if (isatty(STDERR_FILENO)) {
        opts.progress = draw_progress;
        opts.progress_data = &drawn;
    }
    rc = hv_vm_migrate(vm, dest, &opts);
    free(key);
    if (drawn)
        fputc('\n', stderr);
    if (rc == 0) {
        print_migration(vm, dest, &stats);
        return CLI_EXIT_OK;
    }
    /* it runs on here: the caller runs it to its end after saying why */
    cli_fail("run"); /* the library's message starts "migrating NAME: " */
    return -2;
}

static int run_migrate_listen(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    hv_conn *conn = NULL;
    hv_vm *vm = NULL;
    hv_migrate_incoming_options opts = HV_MIGRATE_INCOMING_OPTIONS_INIT;
    char *key = NULL;
    int rc, timeout_ms = -1;

    rc = cli_parse_args(cmd, argc, argv, 1, 1, "the ADDRESS to listen on (tcp://HOST:PORT)", &a);
    if (rc != CLI_EXIT_OK || (rc = cli_parse_timeout(cmd, a.timeout, &timeout_ms)) != CLI_EXIT_OK)
        return rc;
    if (a.key_file && !(key = read_key(a.key_file)))
        return CLI_EXIT_FAILURE;
    if ((rc = cli_open_conn(&a, &conn)) != CLI_EXIT_OK)
        goto out;
    opts.key = key;
    opts.key_bytes = key ? strlen(key) : 0;
    opts.timeout_ms = timeout_ms > 0 ? (unsigned int)timeout_ms : 0;
    opts.name = a.name;
    opts.flags = a.paused ? HV_MIGRATE_INCOMING_PAUSED : 0;
    opts.console = cli_console_to_stdout;
    if (hv_vm_migrate_incoming(conn, a.pos[0], &opts, &vm) < 0) {
        rc = cli_fail_on("migrate-listen", a.pos[0]);
        goto out;
    }
    fprintf(stderr, "hpcvirt: %s migrated in from %s\n", cli_text(hv_vm_name(vm)),
            cli_text(a.pos[0]));
    rc = a.paused ? CLI_EXIT_OK : cli_run_to_end("migrate-listen", vm, -1, a.stats);
out:
    free(key);
    hv_vm_free(vm);
    hv_conn_close(conn);
    return rc;
}

const cli_command cli_cmd_migrate_listen = {
    .name = "migrate-listen",
    .summary = "Receive one live-migrated VM (built-in engine) and run it to its end.",
    .usage = "ADDRESS [--key-file FILE] [--timeout SECONDS] [--name NAME] [--stats] [--paused]\n"
             "                              [--uri URI]\n"
             "  ADDRESS      tcp://HOST:PORT to listen on for one source ('hpcvirt run ...\n"
             "               --migrate-to tcp://HOST:PORT' there)\n"
             "  --key-file F the shared secret the source was given (its bytes; a trailing\n"
             "               newline dropped): the stream is authenticated (HMAC-SHA-256)\n"
             "  --timeout S  how long to wait for the source, and at each step (default 30)\n"
             "  --name NAME  the VM's name here (default: the source's)\n"
             "  --stats      print the VM's exit counters and times to stderr at the end\n"
             "  --paused     take the VM in with its vCPUs paused and exit 0 once it is here\n"
             "               (it ends with the command)\n"
             "  --uri URI    kvm:/// (the default): the built-in engine's migration\n"
             "Prints the guest's console from the migration on. Exit status as 'run': 0 the guest\n"
             "exited with 0, 3 with another code, 1 the migration failed (nothing was kept;\n"
             "the source runs on) or the guest crashed.",
    .options = "--uri --key-file --timeout --name --stats --paused",
    .run = run_migrate_listen,
};

/*
 * tools/hpcvirt/args.c - the command line of a command: the options the
 * commands take (each allows some), operands, numbers and usage errors.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    char message[1024];

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap); /* it may quote the command line */
    va_end(ap);
    fprintf(stderr, "hpcvirt %s: %s\nTry 'hpcvirt %s --help'.\n", cmd ? cmd->name : "",
            cli_text(message), cmd ? cmd->name : "");
    return CLI_EXIT_USAGE;
}

/*
 * The options the commands take (each command allows some of them): where
 * each goes in cli_args, a value (const char *) or a flag (bool).
 */
static const struct {
    const char *name;
    size_t offset;
    bool takes_value;
} cli_options[] = {
    {"--uri", offsetof(cli_args, uri), true},
    {"--host-root", offsetof(cli_args, host_root), true},
    {"--host-json", offsetof(cli_args, host_json), true},
    {"--backend-options", offsetof(cli_args, backend_options), true},
    {"--timeout", offsetof(cli_args, timeout), true},
    {"--bandwidth", offsetof(cli_args, bandwidth), true},
    {"--max-downtime", offsetof(cli_args, max_downtime), true},
    {"--spec", offsetof(cli_args, spec), true},
    {"--vcpus", offsetof(cli_args, vcpus), true},
    {"--memory", offsetof(cli_args, memory), true},
    {"--suspend-after", offsetof(cli_args, suspend_after), true},
    {"--snapshot", offsetof(cli_args, snapshot), true},
    {"--name", offsetof(cli_args, name), true},
    {"-n", offsetof(cli_args, count), true},
    {"--mode", offsetof(cli_args, mode), true},
    {"--threads", offsetof(cli_args, threads), true},
    {"--name-pattern", offsetof(cli_args, name_pattern), true},
    {"--identity", offsetof(cli_args, identity), true},
    {"--migrate-to", offsetof(cli_args, migrate_to), true},
    {"--migrate-after", offsetof(cli_args, migrate_after), true},
    {"--key-file", offsetof(cli_args, key_file), true},
    {"--start", offsetof(cli_args, start), false},
    {"--keep-running", offsetof(cli_args, keep_running), false},
    {"--paused", offsetof(cli_args, paused), false},
    {"--offline", offsetof(cli_args, offline), false},
    {"--eager", offsetof(cli_args, eager), false},
    {"--stats", offsetof(cli_args, stats), false},
    {"--prepare", offsetof(cli_args, prepare), false},
    {"--wait", offsetof(cli_args, wait), false},
    {"--throttle", offsetof(cli_args, throttle), false},
};
#define N_OPTIONS (sizeof(cli_options) / sizeof(cli_options[0]))

/* Whether option `name` is in the space-separated list `allowed`. */
static bool allowed_option(const char *allowed, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = allowed; (p = strstr(p, name)) != NULL; p += len)
        if ((p == allowed || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

/*
 * Parse argv (argv[0] is the command name): --uri and the options in
 * `allowed`, and between `min_pos` and `max_pos` operands (`operands` names
 * them for the usage message). "--" ends the options.
 */
int cli_parse_args(const cli_command *cmd, int argc, char **argv, const char *allowed, int min_pos,
                   int max_pos, const char *operands, cli_args *a)
{
    bool options_done = false;

    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        size_t k;

        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (a->npos == max_pos)
                return cli_usage_error(cmd, "unexpected argument '%s' (expected %s)", arg,
                                       operands);
            a->pos[a->npos++] = arg;
            continue;
        }
        for (k = 0; k < N_OPTIONS; k++)
            if (strcmp(arg, cli_options[k].name) == 0)
                break;
        if (k == N_OPTIONS || (strcmp(arg, "--uri") != 0 && !allowed_option(allowed, arg)))
            return cli_usage_error(cmd, "unknown option '%s'", arg);
        if (cli_options[k].takes_value) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "%s needs a value", arg);
            *(const char **)((char *)a + cli_options[k].offset) = argv[++i];
        } else {
            *(bool *)((char *)a + cli_options[k].offset) = true;
        }
    }
    if (a->npos < min_pos)
        return cli_usage_error(cmd, "expected %s", operands);
    return CLI_EXIT_OK;
}

int cli_parse_number(const cli_command *cmd, const char *name, const char *text,
                     unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v;

    errno = 0;
    if (!text || text[0] < '0' || text[0] > '9')
        return cli_usage_error(cmd, "%s takes a whole number, not '%s'", name, text ? text : "");
    v = strtoull(text, &end, 10);
    if (errno || *end || v > max)
        return cli_usage_error(cmd, "%s takes a whole number from 0 to %llu, not '%s'", name, max,
                               text);
    *out = v;
    return CLI_EXIT_OK;
}

int cli_parse_timeout(const cli_command *cmd, const char *text, int *timeout_ms)
{
    unsigned long long seconds = 0;
    int rc = CLI_EXIT_OK;

    *timeout_ms = -1;
    if (text &&
        (rc = cli_parse_number(cmd, "--timeout", text, INT_MAX / 1000, &seconds)) == CLI_EXIT_OK)
        *timeout_ms = (int)seconds * 1000;
    return rc;
}

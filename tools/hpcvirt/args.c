/*
 * tools/hpcvirt/args.c - the command line of a command: the options the
 * commands take (each allows some), operands, numbers and usage errors.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
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

/* The options the commands take; each command allows some of them (cli.h). */
static const struct {
    const char *name;
    bool takes_value;
} cli_options[] = {
    {"--uri", true},           {"--host-root", true},
    {"--host-json", true},     {"--backend-options", true},
    {"--timeout", true},       {"--bandwidth", true},
    {"--max-downtime", true},  {"--spec", true},
    {"--vcpus", true},         {"--memory", true},
    {"--suspend-after", true}, {"--snapshot", true},
    {"--name", true},          {"-n", true},
    {"--mode", true},          {"--threads", true},
    {"--start", false},        {"--keep-running", false},
    {"--paused", false},       {"--offline", false},
    {"--eager", false},        {"--stats", false},
    {"--prepare", false},      {"--wait", false},
};

/* Whether option `name` is in the space-separated list `allowed`. */
static bool allowed_option(const char *allowed, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = allowed; (p = strstr(p, name)) != NULL; p += len)
        if ((p == allowed || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

static void set_option(cli_args *a, const char *name, const char *value)
{
    const char **slot = strcmp(name, "--uri") == 0               ? &a->uri
                        : strcmp(name, "--host-root") == 0       ? &a->host_root
                        : strcmp(name, "--host-json") == 0       ? &a->host_json
                        : strcmp(name, "--backend-options") == 0 ? &a->backend_options
                        : strcmp(name, "--timeout") == 0         ? &a->timeout
                        : strcmp(name, "--bandwidth") == 0       ? &a->bandwidth
                        : strcmp(name, "--max-downtime") == 0    ? &a->max_downtime
                        : strcmp(name, "--spec") == 0            ? &a->spec
                        : strcmp(name, "--vcpus") == 0           ? &a->vcpus
                        : strcmp(name, "--memory") == 0          ? &a->memory
                        : strcmp(name, "--suspend-after") == 0   ? &a->suspend_after
                        : strcmp(name, "--snapshot") == 0        ? &a->snapshot
                        : strcmp(name, "--name") == 0            ? &a->name
                        : strcmp(name, "-n") == 0                ? &a->count
                        : strcmp(name, "--mode") == 0            ? &a->mode
                        : strcmp(name, "--threads") == 0         ? &a->threads
                                                                 : NULL;
    bool *flag = strcmp(name, "--start") == 0          ? &a->start
                 : strcmp(name, "--keep-running") == 0 ? &a->keep_running
                 : strcmp(name, "--paused") == 0       ? &a->paused
                 : strcmp(name, "--offline") == 0      ? &a->offline
                 : strcmp(name, "--eager") == 0        ? &a->eager
                 : strcmp(name, "--stats") == 0        ? &a->stats
                 : strcmp(name, "--prepare") == 0      ? &a->prepare
                 : strcmp(name, "--wait") == 0         ? &a->wait
                                                       : NULL;

    if (slot)
        *slot = value;
    else if (flag)
        *flag = true;
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
        for (k = 0; k < sizeof(cli_options) / sizeof(cli_options[0]); k++)
            if (strcmp(arg, cli_options[k].name) == 0)
                break;
        if (k == sizeof(cli_options) / sizeof(cli_options[0]) ||
            (strcmp(arg, "--uri") != 0 && !allowed_option(allowed, arg)))
            return cli_usage_error(cmd, "unknown option '%s'", arg);
        if (cli_options[k].takes_value) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "%s needs a value", arg);
            set_option(a, arg, argv[++i]);
        } else {
            set_option(a, arg, NULL);
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

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
    cli_print_error(cmd ? cmd->name : NULL, HV_E_INVAL, message, NULL);
    if (!cli_json_errors)
        fprintf(stderr, "Try 'hpcvirt %s%s--help'.\n", cmd ? cmd->name : "", cmd ? " " : "");
    return CLI_EXIT_USAGE;
}

size_t cli_typo_distance(const char *typed, const char *candidate, size_t candidate_len)
{
    /* optimal string alignment distance: an insertion, deletion, change or swap costs 1 */
    size_t n = strlen(typed), m = candidate_len, rows[3][64], *prev2 = rows[0], *prev = rows[1],
           *cur = rows[2];

    if (n >= 64 || m >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t *t;

        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = typed[i - 1] != candidate[j - 1];
            size_t best = prev[j - 1] + cost;

            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && typed[i - 1] == candidate[j - 2] &&
                typed[i - 2] == candidate[j - 1] && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    /* a likely typo: at most 2 edits, and fewer than half the word */
    return prev[m] <= 2 && prev[m] * 2 < (n > m ? n : m) ? prev[m] : SIZE_MAX;
}

/*
 * The options the commands take (each command allows some of them): where
 * each goes in cli_args, a value (const char *) or a flag (bool).
 */
static const struct cli_option_entry {
    const char *name;
    size_t offset;
    bool takes_value;
    const char *alias_of; /* another name of this option: allowed where that one is */
} cli_options[] = {
    {"--uri", offsetof(cli_args, uri), true, NULL},
    {"--svg", offsetof(cli_args, svg), true, NULL},
    {"--host-root", offsetof(cli_args, host_root), true, NULL},
    {"--root", offsetof(cli_args, host_root), true, "--host-root"},
    {"--profile", offsetof(cli_args, profile), true, NULL},
    {"--domain-type", offsetof(cli_args, domain_type), true, NULL},
    {"--network", offsetof(cli_args, network), true, NULL},
    {"--interval-ms", offsetof(cli_args, interval_ms), true, NULL},
    {"--cpus", offsetof(cli_args, cpus), true, NULL},
    {"--host-json", offsetof(cli_args, host_json), true, NULL},
    {"--backend-options", offsetof(cli_args, backend_options), true, NULL},
    {"--timeout", offsetof(cli_args, timeout), true, NULL},
    {"--bandwidth", offsetof(cli_args, bandwidth), true, NULL},
    {"--max-downtime", offsetof(cli_args, max_downtime), true, NULL},
    {"--spec", offsetof(cli_args, spec), true, NULL},
    {"--vcpus", offsetof(cli_args, vcpus), true, NULL},
    {"--memory", offsetof(cli_args, memory), true, NULL},
    {"--suspend-after", offsetof(cli_args, suspend_after), true, NULL},
    {"--snapshot", offsetof(cli_args, snapshot), true, NULL},
    {"--name", offsetof(cli_args, name), true, NULL},
    {"-n", offsetof(cli_args, count), true, NULL},
    {"--mode", offsetof(cli_args, mode), true, NULL},
    {"--threads", offsetof(cli_args, threads), true, NULL},
    {"--name-pattern", offsetof(cli_args, name_pattern), true, NULL},
    {"--identity", offsetof(cli_args, identity), true, NULL},
    {"--migrate-to", offsetof(cli_args, migrate_to), true, NULL},
    {"--migrate-after", offsetof(cli_args, migrate_after), true, NULL},
    {"--key-file", offsetof(cli_args, key_file), true, NULL},
    {"--kernel", offsetof(cli_args, kernel), true, NULL},
    {"--initrd", offsetof(cli_args, initrd), true, NULL},
    {"--cmdline", offsetof(cli_args, cmdline), true, NULL},
    {"--disk", offsetof(cli_args, disks), true, NULL}, /* a cli_list: see repeatable() */
    {"--channel-in", offsetof(cli_args, channel_in), true, NULL},
    {"--channel-out", offsetof(cli_args, channel_out), true, NULL},
    {"--modules", offsetof(cli_args, modules), true, NULL},
    {"--cache", offsetof(cli_args, cache), true, NULL},
    {"--init", offsetof(cli_args, init), true, NULL},
    {"--entrypoint", offsetof(cli_args, entrypoint), true, NULL},
    {"--workdir", offsetof(cli_args, workdir), true, NULL},
    {"--user", offsetof(cli_args, user), true, NULL},
    {"--env", offsetof(cli_args, env), true, NULL}, /* a cli_list: see repeatable() */
    {"--warm", offsetof(cli_args, warm), false, NULL},
    {"--start", offsetof(cli_args, start), false, NULL},
    {"--keep-running", offsetof(cli_args, keep_running), false, NULL},
    {"--paused", offsetof(cli_args, paused), false, NULL},
    {"--offline", offsetof(cli_args, offline), false, NULL},
    {"--eager", offsetof(cli_args, eager), false, NULL},
    {"--stats", offsetof(cli_args, stats), false, NULL},
    {"--prepare", offsetof(cli_args, prepare), false, NULL},
    {"--wait", offsetof(cli_args, wait), false, NULL},
    {"--throttle", offsetof(cli_args, throttle), false, NULL},
    {"--json", offsetof(cli_args, json), false, NULL},
    {"--xml", offsetof(cli_args, xml), false, NULL},
};
#define N_OPTIONS (sizeof(cli_options) / sizeof(cli_options[0]))

/* Whether each value of `opt` is kept, in a cli_list (else the last one is). */
static bool repeatable(const struct cli_option_entry *opt)
{
    return opt->offset == offsetof(cli_args, disks) || opt->offset == offsetof(cli_args, env);
}

/* Whether option `name` is in the space-separated list `allowed`. */
static bool allowed_option(const char *allowed, const char *name)
{
    size_t len = strlen(name);

    if (!allowed)
        return false;
    for (const char *p = allowed; (p = strstr(p, name)) != NULL; p += len)
        if ((p == allowed || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

/* The option `arg` names, NULL when none; an alias counts as allowed where its option is. */
static const struct cli_option_entry *find_option(const char *allowed, const char *arg)
{
    for (size_t k = 0; k < N_OPTIONS; k++)
        if (strcmp(arg, cli_options[k].name) == 0)
            return allowed_option(allowed, cli_options[k].alias_of ? cli_options[k].alias_of
                                                                   : cli_options[k].name)
                       ? &cli_options[k]
                       : NULL;
    return NULL;
}

/* "unknown option '--hots-root'", with the nearest option the command takes, if one is near. */
static int unknown_option(const cli_command *cmd, const char *arg)
{
    const char *best = NULL, *p = cmd->options;
    size_t best_len = 0, best_distance = SIZE_MAX;

    while (p && *p) {
        size_t len = strcspn(p, " "), d = cli_typo_distance(arg, p, len);

        if (d < best_distance) {
            best = p;
            best_len = len;
            best_distance = d;
        }
        p += len + (p[len] == ' ');
    }
    if (best)
        return cli_usage_error(cmd, "unknown option '%s'; did you mean '%.*s'?", arg, (int)best_len,
                               best);
    return cli_usage_error(cmd, "unknown option '%s'", arg);
}

int cli_parse_args(const cli_command *cmd, int argc, char **argv, int min_pos, int max_pos,
                   const char *operands, cli_args *a)
{
    bool options_done = false;

    memset(a, 0, sizeof(*a));
    /* with --json, every error is JSON, those about the command line before it included */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0 && allowed_option(cmd->options, "--json"))
            cli_json_errors = true;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct cli_option_entry *opt;

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
        if (!(opt = find_option(cmd->options, arg)))
            return unknown_option(cmd, arg);
        if (opt->takes_value && i + 1 >= argc)
            return cli_usage_error(cmd, "%s needs a value", arg);
        if (repeatable(opt)) {
            cli_list *list = (cli_list *)((char *)a + opt->offset);

            if (list->count == CLI_LIST_MAX)
                return cli_usage_error(cmd, "%s is given more than %d times", arg, CLI_LIST_MAX);
            list->items[list->count++] = argv[++i];
        } else if (opt->takes_value) {
            *(const char **)((char *)a + opt->offset) = argv[++i];
        } else {
            *(bool *)((char *)a + opt->offset) = true;
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

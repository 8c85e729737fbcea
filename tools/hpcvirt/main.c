/*
 * tools/hpcvirt/main.c - the hpcvirt command-line tool: global options,
 * dispatch to subcommands, help text, error printing.
 */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

static const cli_command *const commands[] = {
    &cli_cmd_host,    &cli_cmd_frequency, &cli_cmd_plan,    &cli_cmd_create,      &cli_cmd_list,
    &cli_cmd_state,   &cli_cmd_start,     &cli_cmd_pause,   &cli_cmd_resume,      &cli_cmd_stop,
    &cli_cmd_destroy, &cli_cmd_undefine,  &cli_cmd_suspend, &cli_cmd_resume_from, &cli_cmd_snapshot,
    &cli_cmd_migrate, &cli_cmd_run,       &cli_cmd_version,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int cli_fail(const char *context)
{
    const hv_error *err = hv_error_last();
    const char *path = hv_error_path(err);

    fprintf(stderr, "hpcvirt: error: %s%s%s", context ? context : "", context ? ": " : "",
            hv_error_message(err));
    if (path && *path)
        fprintf(stderr, " (at %s)", path);
    fprintf(stderr, " [%s]\n", hv_error_code_name(hv_error_code_of(err)));
    return CLI_EXIT_FAILURE;
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "hpcvirt %s: ", cmd ? cmd->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'hpcvirt %s --help'.\n", cmd ? cmd->name : "");
    return CLI_EXIT_USAGE;
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

void cli_print_command_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "Usage: hpcvirt %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
}

static void print_help(FILE *out)
{
    fprintf(out, "Usage: hpcvirt [--help] [--version] COMMAND [ARGS...]\n\n"
                 "HPC and ML/DL virtualization for KVM hosts.\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nRun 'hpcvirt COMMAND --help' for a command's options.\n"
                 "Exit status: 0 success, 1 failure, 2 input rejected (e.g. plan errors), "
                 "64 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        if (argc > 2 && strcmp(argv[1], "help") == 0) {
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], commands[i]->name) == 0) {
                    cli_print_command_help(commands[i], stdout);
                    return CLI_EXIT_OK;
                }
        }
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cli_cmd_version.run(1, argv + 1);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i]->name) == 0) {
            for (int a = 2; a < argc; a++) {
                if (strcmp(argv[a], "--") == 0)
                    break;
                if (cli_is_help(argv[a])) {
                    cli_print_command_help(commands[i], stdout);
                    return CLI_EXIT_OK;
                }
            }
            return commands[i]->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "hpcvirt: '%s' is not a command. Run 'hpcvirt --help' for the list.\n",
            argv[1]);
    return CLI_EXIT_USAGE;
}

/*
 * tools/hpcvirt/main.c - the hpcvirt command-line tool: the command table,
 * dispatch through it (`help CMD`, `CMD --help` and `--version` included)
 * and the help text.
 */
#include "cli.h"

#include <string.h>

static const cli_command *const commands[] = {
    &cli_cmd_host,    &cli_cmd_frequency,   &cli_cmd_plan,           &cli_cmd_create,
    &cli_cmd_list,    &cli_cmd_state,       &cli_cmd_start,          &cli_cmd_pause,
    &cli_cmd_resume,  &cli_cmd_stop,        &cli_cmd_destroy,        &cli_cmd_undefine,
    &cli_cmd_suspend, &cli_cmd_resume_from, &cli_cmd_snapshot,       &cli_cmd_migrate,
    &cli_cmd_run,     &cli_cmd_clone,       &cli_cmd_migrate_listen, &cli_cmd_version,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static bool is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i]->name) == 0)
            return commands[i];
    return NULL;
}

static void print_command_help(const cli_command *cmd, FILE *out)
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
                 "3 a guest's non-zero exit code (run, resume FILE, clone --wait), 64 usage "
                 "error.\n");
}

int main(int argc, char **argv)
{
    const cli_command *cmd;

    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        cmd = strcmp(argv[1], "help") == 0 && argc > 2 ? find_command(argv[2]) : NULL;
        if (cmd)
            print_command_help(cmd, stdout);
        else
            print_help(stdout);
        return CLI_EXIT_OK;
    }
    /* --version is `version` without its options: whatever follows is ignored */
    if (strcmp(argv[1], "--version") == 0) {
        cmd = find_command("version");
        return cmd->run(cmd, 1, argv + 1);
    }
    cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "hpcvirt: '%s' is not a command. Run 'hpcvirt --help' for the list.\n",
                cli_text(argv[1]));
        return CLI_EXIT_USAGE;
    }
    for (int a = 2; a < argc && strcmp(argv[a], "--") != 0; a++) {
        if (is_help(argv[a])) {
            print_command_help(cmd, stdout);
            return CLI_EXIT_OK;
        }
    }
    return cmd->run(cmd, argc - 1, argv + 1);
}

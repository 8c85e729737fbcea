/*
 * tools/hpcvirt/main.c - the hpcvirt command-line tool: the command table,
 * dispatch through it (`help CMD`, `CMD --help` and `--version` included)
 * and the help text.
 */
#include "cli.h"

#include <stdint.h>
#include <string.h>

static const cli_command *const commands[] = {
    &cli_cmd_host,    &cli_cmd_frequency,   &cli_cmd_plan,           &cli_cmd_create,
    &cli_cmd_list,    &cli_cmd_state,       &cli_cmd_start,          &cli_cmd_pause,
    &cli_cmd_resume,  &cli_cmd_stop,        &cli_cmd_destroy,        &cli_cmd_undefine,
    &cli_cmd_suspend, &cli_cmd_resume_from, &cli_cmd_snapshot,       &cli_cmd_migrate,
    &cli_cmd_run,     &cli_cmd_clone,       &cli_cmd_migrate_listen, &cli_cmd_container,
    &cli_cmd_version,
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

/* The summary, the usage with each option explained, and the profiles where it takes --profile. */
static void print_command_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "%s\n\nUsage: hpcvirt %s %s\n", cmd->summary, cmd->name, cmd->usage);
    if (cmd->options && strstr(cmd->options, "--profile")) {
        fprintf(out, "\nMaximums profiles (--profile NAME):\n");
        for (size_t i = 0; i < hv_profile_count(); i++)
            fprintf(out, "  %-12s %s%s\n", hv_profile_name_at(i),
                    hv_profile_description(hv_profile_name_at(i)), i == 0 ? " (the default)" : "");
    }
}

/* "'plna' is not a command", with the nearest command when one is near. */
static int unknown_command(const char *name)
{
    const cli_command *best = NULL;
    size_t best_distance = SIZE_MAX;

    for (size_t i = 0; i < N_COMMANDS; i++) {
        size_t d = cli_typo_distance(name, commands[i]->name, strlen(commands[i]->name));

        if (d < best_distance) {
            best = commands[i];
            best_distance = d;
        }
    }
    if (best)
        return cli_usage_error(NULL, "'%s' is not a command; did you mean '%s'?", name, best->name);
    return cli_usage_error(NULL, "'%s' is not a command (hpcvirt --help lists them)", name);
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
    if (!cmd)
        return unknown_command(argv[1]);
    /* what the library warns of (the libvirt backend's findings on create) goes to stderr */
    hv_set_log_handler(cli_print_log_record, HV_LOG_WARNING, NULL);
    for (int a = 2; a < argc && strcmp(argv[a], "--") != 0; a++) {
        if (is_help(argv[a])) {
            print_command_help(cmd, stdout);
            return CLI_EXIT_OK;
        }
    }
    return cmd->run(cmd, argc - 1, argv + 1);
}

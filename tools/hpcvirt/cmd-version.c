/*
 * tools/hpcvirt/cmd-version.c - `hpcvirt version`: library and header versions.
 */
#include "cli.h"

static int run_version(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse_args(cmd, argc, argv, 0, 0, "no operands", &a);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.json)
        printf("{\"library\": \"%s\", \"headers\": \"%s\"}\n", hv_version(),
               HPCVIRT_VERSION_STRING);
    else
        printf("hpcvirt %s (headers %s)\n", hv_version(), HPCVIRT_VERSION_STRING);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_version = {
    .name = "version",
    .summary = "Print the version of the hpcvirt library the tool runs with.",
    .usage = "[--json]\n  --json   print {\"library\": ..., \"headers\": ...}",
    .options = "--json",
    .run = run_version,
};

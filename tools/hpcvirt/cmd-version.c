/*
 * tools/hpcvirt/cmd-version.c - `hpcvirt version`: library and header versions.
 */
#include "cli.h"

#include <string.h>

static int run_version(const cli_command *cmd, int argc, char **argv)
{
    bool json = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
    }
    if (json)
        printf("{\"library\": \"%s\", \"headers\": \"%s\"}\n", hv_version(),
               HPCVIRT_VERSION_STRING);
    else
        printf("hpcvirt %s (headers %s)\n", hv_version(), HPCVIRT_VERSION_STRING);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_version = {
    .name = "version",
    .summary = "Print the version of the hpcvirt library the tool runs with.",
    .usage = "[--json]",
    .run = run_version,
};

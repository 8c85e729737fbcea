/*
 * container-run.c - an OCI image run as a micro-VM of the built-in engine
 * (hpcvirt/container.h): the command's stdout and stderr to ours, its exit
 * status as ours.
 * usage: container-run [-k KERNEL [-m MODULES]] [-r HOST_ROOT] [-c CACHE] [-w]
 *                      LAYOUT[:TAG] [CMD ARGS...]
 *   -w: warm (from the image's template); HOST_ROOT: plan on a captured host
 * Without a LAYOUT it says how to use it and exits 77 (skipped).
 */
#define _POSIX_C_SOURCE 200809L /* getopt, write */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hpcvirt/hpcvirt.h>

static void output(void *data, int stream, const void *bytes, size_t length)
{
    (void)data;
    fwrite(bytes, 1, length, stream == HV_CONTAINER_STDERR ? stderr : stdout);
    fflush(stream == HV_CONTAINER_STDERR ? stderr : stdout);
}

int main(int argc, char **argv)
{
    hv_container_options opts = HV_CONTAINER_OPTIONS_INIT;
    hv_host_discover_options hopts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_conn *conn = NULL;
    hv_host *host = NULL;
    hv_container *c = NULL;
    char layout[4096];
    char *colon;
    int opt, status = 125;

    while ((opt = getopt(argc, argv, "+k:m:r:c:w")) != -1) {
        switch (opt) {
        case 'k':
            opts.kernel_path = optarg;
            break;
        case 'm':
            opts.modules_path = optarg;
            break;
        case 'r':
            hopts.root = optarg;
            break;
        case 'c':
            opts.cache_path = optarg;
            break;
        case 'w':
            opts.flags |= HV_CONTAINER_WARM;
            break;
        default:
            return 64;
        }
    }
    if (optind >= argc) {
        printf("usage: container-run [-k KERNEL [-m MODULES]] [-r HOST_ROOT] [-c CACHE] [-w] "
               "LAYOUT[:TAG] [CMD ARGS...]\n");
        return 77; /* nothing to run: skipped */
    }
    snprintf(layout, sizeof(layout), "%s", argv[optind]);
    colon = strrchr(layout, ':');
    if (colon && !strchr(colon, '/')) { /* LAYOUT:TAG */
        *colon = '\0';
        opts.tag = colon + 1;
    }
    opts.args = (const char *const *)argv + optind + 1;
    opts.arg_count = (size_t)(argc - optind - 1);
    opts.output = output;
    if (hv_conn_open("kvm:///", &conn) < 0 || (hopts.root && hv_host_discover(&host, &hopts) < 0) ||
        (opts.host = host, hv_container_create(conn, layout, &opts, &c)) < 0 ||
        hv_container_start(c, 0) < 0 || hv_container_wait(c, -1, &status) < 0) {
        fprintf(stderr, "container-run: %s\n", hv_error_message(hv_error_last()));
        if (status < 125)
            status = 125;
    }
    hv_container_free(c);
    hv_host_free(host);
    hv_conn_close(conn);
    return status;
}

/*
 * tools/hpcvirt/cmd-container.c - `hpcvirt container run|ls|rm`: an OCI
 * image run as a micro-VM of the built-in engine (hpcvirt/container.h).
 * `run` streams the command's stdout and stderr to the tool's own and exits
 * with the command's status (125 when hpcvirt itself fails, as docker does;
 * 126, 127 when the command cannot run or is not in the image). The engine
 * has no daemon: a container lives in its `run` process, which keeps a
 * record of it in the runtime folder while it runs, so that `ls` lists the
 * running containers of every process and `rm NAME` stops one (it signals
 * that process, which powers the VM off).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* `run`'s own failures (docker run's 125), distinct from the command's statuses. */
#define CONTAINER_EXIT_FAILED 125
/* What a container's VM is given without --spec or --memory. */
#define CONTAINER_DEFAULT_MEMORY_BYTES (UINT64_C(256) << 20)

/* ---- the records of running containers -------------------------------------------------- */

/* The folder of the records: $XDG_RUNTIME_DIR/hpcvirt/containers, else /tmp/hpcvirt-UID/containers.
 */
static int records_folder(char *out, size_t size, bool make)
{
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    char base[PATH_MAX];

    if (runtime && runtime[0] == '/')
        snprintf(base, sizeof(base), "%s/hpcvirt", runtime);
    else
        snprintf(base, sizeof(base), "/tmp/hpcvirt-%u", (unsigned int)getuid());
    if ((size_t)snprintf(out, size, "%s/containers", base) >= size)
        return -1;
    if (make &&
        ((mkdir(base, 0700) != 0 && errno != EEXIST) || (mkdir(out, 0700) != 0 && errno != EEXIST)))
        return -1;
    return 0;
}

/* A record's lines: pid, image, digest, start time (seconds since the epoch), command. */
typedef struct container_record {
    long pid;
    char image[PATH_MAX];
    char digest[80];
    long long started;
    char command[1024];
} container_record;

/* `line` into a field of `size` bytes, cut short if it is longer. */
static void copy_field(char *field, size_t size, const char *line)
{
    size_t n = strlen(line);

    if (n >= size)
        n = size - 1;
    memcpy(field, line, n);
    field[n] = '\0';
}

static int read_record(const char *path, container_record *r)
{
    FILE *f = fopen(path, "re");
    char line[PATH_MAX + 16];
    int fields = 0;

    if (!f)
        return -1;
    memset(r, 0, sizeof(*r));
    while (fields < 5 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        switch (fields++) {
        case 0:
            r->pid = strtol(line, NULL, 10);
            break;
        case 1:
            copy_field(r->image, sizeof(r->image), line);
            break;
        case 2:
            copy_field(r->digest, sizeof(r->digest), line);
            break;
        case 3:
            r->started = strtoll(line, NULL, 10);
            break;
        default:
            copy_field(r->command, sizeof(r->command), line);
            break;
        }
    }
    fclose(f);
    return fields >= 4 && r->pid > 0 ? 0 : -1;
}

/* Whether the record's process still runs (a record left by one that died is stale). */
static bool record_live(const container_record *r)
{
    return kill((pid_t)r->pid, 0) == 0 || errno == EPERM;
}

/* ---- run ------------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* The command's stdout and stderr to ours, whole (a write cut short is retried). */
static void output_to_fds(void *data, int stream, const void *bytes, size_t length)
{
    const char *p = bytes;
    int fd = stream == HV_CONTAINER_STDERR ? STDERR_FILENO : STDOUT_FILENO;

    (void)data;
    while (length > 0) {
        ssize_t n = write(fd, p, length);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* a closed stdout: what the command writes is dropped */
        p += n;
        length -= (size_t)n;
    }
}

/* IMAGE_LAYOUT[:TAG]: a folder that exists is the layout; else what follows the last ':'. */
static void split_image(const char *arg, char *layout, size_t size, const char **tag)
{
    struct stat st;
    const char *colon = strrchr(arg, ':');

    *tag = NULL;
    snprintf(layout, size, "%s", arg);
    if (stat(arg, &st) == 0 || !colon || strchr(colon, '/'))
        return;
    snprintf(layout, size, "%.*s", (int)(colon - arg), arg);
    *tag = colon + 1;
}

/* The record of this run, written once the container has started (removed at the end). */
static void write_record(char *path, size_t size, const char *image, hv_container *c, int argc,
                         char **argv)
{
    char folder[PATH_MAX], tmp[PATH_MAX + 8];
    FILE *f;

    path[0] = '\0';
    if (records_folder(folder, sizeof(folder), true) != 0 ||
        (size_t)snprintf(path, size, "%s/%s", folder, hv_container_name(c)) >= size ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
        !(f = fopen(tmp, "we"))) {
        path[0] = '\0';
        return; /* `ls` will not see it: the container runs anyway */
    }
    fprintf(f, "%ld\n%s\n%s\n%lld\n", (long)getpid(), image, hv_container_image_digest(c),
            (long long)time(NULL));
    for (int i = 0; i < argc; i++)
        fprintf(f, "%s%s", i ? " " : "", argv[i]);
    fputc('\n', f);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        path[0] = '\0';
    }
}

/* Wait for the command, stopping it on SIGINT/SIGTERM (`rm`) or at --timeout; its exit code. */
static int wait_for(hv_container *c, int timeout_ms)
{
    struct timespec start;
    int status = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int rc = hv_container_wait(c, 200, &status);
        struct timespec now;

        if (rc == 0)
            return status;
        if (rc != HV_E_TIMEOUT) {
            cli_fail_on("container run", hv_container_name(c));
            return status >= 125 && status <= 127 ? status : CONTAINER_EXIT_FAILED;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (stop_signal || (timeout_ms >= 0 && (now.tv_sec - start.tv_sec) * 1000 +
                                                       (now.tv_nsec - start.tv_nsec) / 1000000 >=
                                                   timeout_ms)) {
            if (!stop_signal)
                fprintf(stderr, "hpcvirt: container %s ran past --timeout: powered off\n",
                        cli_text(hv_container_name(c)));
            hv_container_kill(c);
            hv_container_wait(c, -1, &status);
            return stop_signal ? 128 + stop_signal : CONTAINER_EXIT_FAILED;
        }
    }
}

static int container_run(const cli_command *cmd, int argc, char **argv)
{
    hv_container_options opts = HV_CONTAINER_OPTIONS_INIT;
    hv_container *c = NULL;
    hv_conn *conn = NULL;
    hv_vm_spec *spec = NULL;
    hv_host *host = NULL;
    cli_args a;
    char layout[PATH_MAX], record[PATH_MAX] = "";
    const char *tag;
    int split = argc, timeout_ms = -1, rc;
    struct sigaction sa;

    /* CMD ARGS... after "--" are the container's, not ours */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    }
    if ((rc = cli_parse_args(cmd, split, argv, 1, 1, "IMAGE_LAYOUT[:TAG]", &a)) != CLI_EXIT_OK)
        return rc;
    if (a.spec && (a.vcpus || a.memory))
        return cli_usage_error(cmd, "--spec excludes --vcpus and --memory");
    if (a.modules && !a.kernel)
        return cli_usage_error(cmd, "--modules goes with --kernel (the kernel those modules are "
                                    "for)");
    if ((rc = cli_parse_timeout(cmd, a.timeout, &timeout_ms)) != CLI_EXIT_OK)
        return rc;
    split_image(a.pos[0], layout, sizeof(layout), &tag);
    if (a.spec)
        rc = cli_load_spec(a.spec, &spec);
    else if (a.vcpus || a.memory)
        rc = cli_default_spec(cmd, &a, "container", CONTAINER_DEFAULT_MEMORY_BYTES, &spec);
    if (rc != CLI_EXIT_OK)
        return rc == CLI_EXIT_USAGE ? rc : CONTAINER_EXIT_FAILED;
    if ((a.host_root || a.host_json) && cli_load_host(a.host_root, a.host_json, &host) != 0) {
        hv_vm_spec_free(spec);
        return CONTAINER_EXIT_FAILED;
    }
    if (cli_open_conn(&a, &conn) != CLI_EXIT_OK) {
        rc = CONTAINER_EXIT_FAILED;
        goto out;
    }
    opts.flags = a.warm ? HV_CONTAINER_WARM : 0;
    opts.name = a.name;
    opts.tag = tag;
    opts.spec = spec;
    opts.host = host;
    opts.kernel_path = a.kernel;
    opts.modules_path = a.modules;
    opts.cache_path = a.cache;
    opts.init_path = a.init;
    opts.entrypoint = a.entrypoint;
    opts.workdir = a.workdir;
    opts.user = a.user;
    opts.args = (const char *const *)(split < argc ? argv + split + 1 : NULL);
    opts.arg_count = split < argc ? (size_t)(argc - split - 1) : 0;
    opts.env = a.env.items;
    opts.env_count = (size_t)a.env.count;
    opts.output = output_to_fds;
    if (hv_container_create(conn, layout, &opts, &c) < 0) {
        cli_fail_on("container run", a.pos[0]);
        rc = CONTAINER_EXIT_FAILED;
        goto out;
    }
    /* `rm` (SIGTERM) and ^C stop the container; the record goes with it */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (hv_container_start(c, 0) < 0) {
        cli_fail_on("container run", hv_container_name(c));
        rc = CONTAINER_EXIT_FAILED;
        goto out;
    }
    write_record(record, sizeof(record), layout, c, (int)opts.arg_count,
                 split < argc ? argv + split + 1 : NULL);
    rc = wait_for(c, timeout_ms);
out:
    if (record[0])
        unlink(record);
    hv_container_free(c);
    hv_conn_close(conn);
    hv_host_free(host);
    hv_vm_spec_free(spec);
    return rc;
}

/* ---- ls, rm ---------------------------------------------------------------------------- */

static int container_ls(const cli_command *cmd, int argc, char **argv)
{
    char folder[PATH_MAX], path[PATH_MAX * 2];
    cli_args a;
    DIR *dir;
    struct dirent *e;
    int rc, listed = 0;

    if ((rc = cli_parse_args(cmd, argc, argv, 0, 0, "", &a)) != CLI_EXIT_OK)
        return rc;
    if (a.json)
        printf("[");
    else
        printf("%-24s %-8s %-19s %-8s %s\n", "NAME", "PID", "IMAGE", "UP", "COMMAND");
    if (records_folder(folder, sizeof(folder), false) == 0 && (dir = opendir(folder))) {
        while ((e = readdir(dir))) {
            container_record r;

            if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp"))
                continue;
            snprintf(path, sizeof(path), "%s/%s", folder, e->d_name);
            if (read_record(path, &r) != 0 || !record_live(&r)) {
                unlink(path); /* stale: its process ended without removing it */
                continue;
            }
            if (a.json) {
                printf("%s{\"name\": ", listed ? ", " : "");
                cli_print_json_string(stdout, e->d_name);
                printf(", \"pid\": %ld, \"image\": ", r.pid);
                cli_print_json_string(stdout, r.image);
                printf(", \"digest\": ");
                cli_print_json_string(stdout, r.digest);
                printf(", \"started\": %lld, \"command\": ", r.started);
                cli_print_json_string(stdout, r.command);
                printf("}");
            } else {
                long long up = (long long)time(NULL) - r.started;

                printf("%-24s %-8ld %-19.19s %-8lld %s\n", cli_text(e->d_name), r.pid,
                       cli_text(r.digest[0] ? r.digest + strlen("sha256:") : r.image),
                       up < 0 ? 0 : up, cli_text(r.command));
            }
            listed++;
        }
        closedir(dir);
    }
    if (a.json)
        printf("]\n");
    return CLI_EXIT_OK;
}

static int container_rm(const cli_command *cmd, int argc, char **argv)
{
    char folder[PATH_MAX], path[PATH_MAX * 2];
    cli_args a;
    container_record r;
    int rc;

    if ((rc = cli_parse_args(cmd, argc, argv, 1, 1, "NAME", &a)) != CLI_EXIT_OK)
        return rc;
    if (strchr(a.pos[0], '/') || a.pos[0][0] == '.' ||
        records_folder(folder, sizeof(folder), false))
        return cli_usage_error(cmd, "'%s' is not a container's name", a.pos[0]);
    snprintf(path, sizeof(path), "%s/%s", folder, a.pos[0]);
    if (read_record(path, &r) != 0 || !record_live(&r)) {
        unlink(path);
        hv_error_report(HV_E_NOTFOUND, NULL,
                        "no running container is named '%s' ('hpcvirt container ls' lists them)",
                        a.pos[0]);
        return cli_fail("container rm");
    }
    if (kill((pid_t)r.pid, SIGTERM) != 0) {
        hv_error_report(errno == EPERM ? HV_E_PERM : HV_E_IO, NULL,
                        "cannot stop container %s (process %ld): %s", a.pos[0], r.pid,
                        strerror(errno));
        return cli_fail("container rm");
    }
    /* its `run` powers the VM off and removes the record */
    for (int i = 0; i < 200 && access(path, F_OK) == 0 && record_live(&r); i++)
        usleep(50000);
    if (access(path, F_OK) == 0 && record_live(&r)) {
        hv_error_report(HV_E_TIMEOUT, NULL,
                        "container %s (process %ld) was asked to stop and still runs after 10 s",
                        a.pos[0], r.pid);
        return cli_fail("container rm");
    }
    return CLI_EXIT_OK;
}

/* ---- the command ------------------------------------------------------------------------ */

static const cli_command container_run_cmd = {
    .name = "container run",
    .options = "--uri --spec --vcpus --memory --host-root --host-json --timeout --kernel "
               "--modules --cache --init --entrypoint --workdir --user --env --warm --name",
};
static const cli_command container_ls_cmd = {.name = "container ls", .options = "--json"};
static const cli_command container_rm_cmd = {.name = "container rm", .options = ""};

static int container_main(const cli_command *cmd, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(cmd, "expected a subcommand: run, ls or rm");
    if (strcmp(argv[1], "run") == 0)
        return container_run(&container_run_cmd, argc - 1, argv + 1);
    if (strcmp(argv[1], "ls") == 0)
        return container_ls(&container_ls_cmd, argc - 1, argv + 1);
    if (strcmp(argv[1], "rm") == 0)
        return container_rm(&container_rm_cmd, argc - 1, argv + 1);
    return cli_usage_error(cmd, "'%s' is not a subcommand of container: run, ls or rm", argv[1]);
}

const cli_command cli_cmd_container = {
    .name = "container",
    .summary = "Run an OCI image as a micro-VM of the built-in engine; list and stop them.",
    .usage =
        "run IMAGE_LAYOUT[:TAG] [--kernel FILE [--modules DIR]]\n"
        "                   [--spec FILE | --vcpus N --memory SIZE] [--env NAME=VALUE]...\n"
        "                   [--workdir DIR] [--user U] [--entrypoint CMD] [--name NAME]\n"
        "                   [--warm] [--cache DIR] [--init FILE] [--timeout SECONDS]\n"
        "                   [--host-root DIR | --host-json FILE] [--uri URI] [-- CMD ARGS...]\n"
        "       hpcvirt container ls [--json]\n"
        "       hpcvirt container rm NAME\n"
        "  run          runs the image of an OCI image layout folder (its only image, or the\n"
        "               one tagged TAG) in a Linux VM (docs/containers.md): CMD ARGS replace\n"
        "               the image's Cmd; stdout and stderr are the command's; the exit status\n"
        "               is its own (125: hpcvirt failed; 126: not executable; 127: not in the\n"
        "               image)\n"
        "  --kernel FILE\n"
        "               the guest's kernel (default: /boot/vmlinuz-$(uname -r))\n"
        "  --modules DIR\n"
        "               with --kernel: its modules folder (default: none, all built in)\n"
        "  --spec FILE  the VM (vCPUs, memory, pages; no boot source, no disks; default:\n"
        "               1 vCPU, 256 MiB; --vcpus and --memory change it)\n"
        "  --env NAME=VALUE\n"
        "               added to the image's environment (again for more)\n"
        "  --workdir DIR, --user U, --entrypoint CMD\n"
        "               replace the image's working folder, user (uid[:gid] or a name), and\n"
        "               entrypoint (\"\": none)\n"
        "  --name NAME  the container's name (default: the image's and a random suffix)\n"
        "  --warm       start from the image's template: a VM suspended where its init\n"
        "               waits for a command (the first warm start makes it)\n"
        "  --cache DIR  root disks, initramfs and templates (default: $XDG_CACHE_HOME/hpcvirt)\n"
        "  --init FILE  the guest's init (default: the installed hpcvirt-container-init)\n"
        "  --timeout SECONDS\n"
        "               power the VM off after SECONDS (exit 125)\n"
        "  --host-root DIR, --host-json FILE\n"
        "               plan the VM on this host (default: the connection's)\n"
        "  ls           the running containers of every process: name, process, image, seconds\n"
        "               up, command\n"
        "  --json       with ls: a list of objects\n"
        "  rm NAME      stops the running container NAME (its VM is powered off)" CLI_URI_HELP,
    .options = "--uri --spec --vcpus --memory --host-root --host-json --timeout --kernel "
               "--modules --cache --init --entrypoint --workdir --user --env --warm --name --json",
    .run = container_main,
};

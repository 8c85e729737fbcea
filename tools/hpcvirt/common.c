/*
 * tools/hpcvirt/common.c - what the commands share beyond their options:
 * printing the library's last error, reading the files they are given (a
 * spec, a host document), the connection to --uri with the VM it reaches by
 * name, and a new VM's spec, connection, host and plan (create, run).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors --------------------------------------------------------------- */

bool cli_json_errors;

/*
 * Whether `message` gives the location `path` in parentheses already: a syntax error's message
 * ends with "(line 3, column 12)" and its path is "line 3".
 */
static bool gives_location(const char *message, const char *path)
{
    size_t len = strlen(path);

    for (const char *p = message; (p = strchr(p, '(')) != NULL; p++)
        if (strncmp(p + 1, path, len) == 0 && (p[len + 1] == ',' || p[len + 1] == ')'))
            return true;
    return false;
}

void cli_print_error(const char *context, int code, const char *message, const char *path)
{
    if (!path)
        path = "";
    if (cli_json_errors) {
        fprintf(stderr, "{\"error\": {\"code\": %d, \"name\": \"%s\", \"message\": ", code,
                hv_error_code_name(code));
        cli_print_json_string(stderr, message);
        fprintf(stderr, ", \"path\": ");
        cli_print_json_string(stderr, path);
        if (context) {
            fprintf(stderr, ", \"context\": ");
            cli_print_json_string(stderr, context);
        }
        fprintf(stderr, "}}\n");
        return;
    }
    /* messages quote outside text escaped already; the context and path may hold any */
    fprintf(stderr, "hpcvirt: error: %s%s%s", cli_text(context), context ? ": " : "",
            cli_text(message));
    if (*path && !gives_location(message, path))
        fprintf(stderr, " (at %s)", cli_text(path));
    fprintf(stderr, " [%s]\n", hv_error_code_name(code));
}

int cli_fail(const char *context)
{
    const hv_error *err = hv_error_last();

    cli_print_error(context, hv_error_code_of(err), hv_error_message(err), hv_error_path(err));
    return CLI_EXIT_FAILURE;
}

int cli_fail_plan(const char *context)
{
    int code = hv_error_code_of(hv_error_last());

    cli_fail(context);
    return code == HV_E_PLAN ? CLI_EXIT_REJECTED : CLI_EXIT_FAILURE;
}

int cli_fail_on(const char *command, const char *name)
{
    char context[512];

    snprintf(context, sizeof(context), "%s %s", command, name);
    return cli_fail(context);
}

/* ---- files, specs, hosts -------------------------------------------------- */

char *cli_read_file_bytes(const char *path, const char *option, size_t *length)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    const char *pre = option ? option : "", *sep = option ? " " : "";
    size_t cap = 4096, len = 0;
    char *buf;

    *length = 0;
    if (!f) {
        int code = errno == ENOENT                     ? HV_E_NOTFOUND
                   : errno == EACCES || errno == EPERM ? HV_E_PERM
                                                       : HV_E_IO;

        hv_error_report(code, NULL, "cannot open %s%s%s: %s", pre, sep, path, strerror(errno));
        cli_fail(NULL);
        return NULL;
    }
    buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);

        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            char *grown = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;

            if (!grown) {
                free(buf);
                buf = NULL;
                hv_error_report(HV_E_RANGE, NULL, "%s%s%s is too large (64 MiB at most)", pre, sep,
                                path);
                cli_fail(NULL);
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        hv_error_report(HV_E_IO, NULL, "reading %s%s%s failed: %s", pre, sep, path,
                        strerror(errno));
        cli_fail(NULL);
        free(buf);
        buf = NULL;
    }
    if (buf) {
        buf[len] = '\0';
        *length = len;
    }
    if (f != stdin)
        fclose(f);
    return buf;
}

char *cli_read_file(const char *path)
{
    size_t len = 0;
    char *buf = cli_read_file_bytes(path, NULL, &len);

    /* The library reads a C string: whatever follows a NUL byte would never be seen. */
    if (buf && memchr(buf, '\0', len)) {
        hv_error_report(
            HV_E_PARSE, NULL,
            "%s has a NUL byte at byte offset %zu: JSON text has none (is this a binary "
            "or UTF-16 file?)",
            path, (size_t)((char *)memchr(buf, '\0', len) - buf));
        cli_fail(NULL);
        free(buf);
        buf = NULL;
    }
    return buf;
}

int cli_write_made(const char *path, int made, char **text_out, const char *what)
{
    char *text = *text_out;
    FILE *f;
    bool ok;

    *text_out = NULL;
    if (made < 0) {
        hv_free(text);
        return cli_fail(what);
    }
    f = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");
    if (!f) {
        fprintf(stderr, "hpcvirt: error: cannot create %s: %s\n", cli_text(path), strerror(errno));
        hv_free(text);
        return CLI_EXIT_FAILURE;
    }
    ok = fputs(text, f) >= 0;
    ok = (f == stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
    hv_free(text);
    if (!ok) {
        fprintf(stderr, "hpcvirt: error: cannot write %s: %s\n", cli_text(path), strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_load_spec(const char *path, hv_vm_spec **spec)
{
    char *text = cli_read_file(path);
    int rc;

    if (!text)
        return CLI_EXIT_FAILURE;
    rc = hv_vm_spec_from_json(text, spec);
    free(text);
    if (rc < 0) {
        cli_fail(path);
        return CLI_EXIT_REJECTED;
    }
    return CLI_EXIT_OK;
}

int cli_load_host(const char *root, const char *host_json, hv_host **host)
{
    if (host_json) {
        char *text = cli_read_file(host_json);
        int rc;

        if (!text)
            return CLI_EXIT_FAILURE;
        rc = hv_host_from_json(text, host);
        free(text);
        return rc < 0 ? cli_fail(host_json) : CLI_EXIT_OK;
    }
    {
        hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;

        opts.root = root;
        return hv_host_discover(host, &opts) < 0 ? cli_fail("host discovery") : CLI_EXIT_OK;
    }
}

/* ---- the connection and its VMs -------------------------------------------- */

const char *cli_uri(const cli_args *a)
{
    const char *uri = a->uri;

    if (!uri)
        uri = getenv("HPCVIRT_DEFAULT_URI");
    if (!uri || !*uri)
        uri = HV_DEFAULT_URI;
    return uri;
}

int cli_open_conn(const cli_args *a, hv_conn **conn)
{
    const char *uri = cli_uri(a);
    char context[512];

    if (hv_conn_open(a->uri, conn) < 0) {
        snprintf(context, sizeof(context), "connecting to %s", uri);
        return cli_fail(context);
    }
    return CLI_EXIT_OK;
}

int cli_open_vm(const cli_command *cmd, const cli_args *a, cli_vm_ref *ref)
{
    int rc;

    ref->vm = NULL;
    snprintf(ref->context, sizeof(ref->context), "%s %s", cmd->name, a->pos[0]);
    if ((rc = cli_open_conn(a, &ref->conn)) != CLI_EXIT_OK)
        return rc;
    if (hv_vm_lookup(ref->conn, a->pos[0], &ref->vm) < 0) {
        const hv_error *err = hv_error_last();

        /* the path is the argument's name ("name"): the message names the VM itself */
        cli_print_error(ref->context, hv_error_code_of(err), hv_error_message(err), NULL);
        rc = CLI_EXIT_FAILURE;
        hv_conn_close(ref->conn);
        return rc;
    }
    return CLI_EXIT_OK;
}

int cli_close_vm(cli_vm_ref *ref, int status)
{
    int rc = status < 0 ? cli_fail(ref->context) : CLI_EXIT_OK;

    hv_vm_free(ref->vm);
    hv_conn_close(ref->conn);
    return rc;
}

/* ---- a new VM (create, run) ---------------------------------------------- */

int cli_new_vm_plan(cli_new_vm *nv, const cli_args *a)
{
    int rc = cli_open_conn(a, &nv->conn);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (a->host_root || a->host_json)
        rc = cli_load_host(a->host_root, a->host_json, &nv->host);
    else if (hv_conn_host(nv->conn, &nv->host) < 0)
        rc = cli_fail("the connection's host");
    if (rc != CLI_EXIT_OK)
        return rc;
    {
        hv_plan_options opts = HV_PLAN_OPTIONS_INIT;

        opts.profile = a->profile;
        return hv_plan_create(nv->host, nv->spec, &opts, &nv->plan) < 0 ? cli_fail("planning")
                                                                        : CLI_EXIT_OK;
    }
}

void cli_new_vm_free(cli_new_vm *nv)
{
    hv_vm_free(nv->vm);
    hv_plan_free(nv->plan);
    hv_host_free(nv->host);
    hv_vm_spec_free(nv->spec);
    hv_conn_close(nv->conn);
}

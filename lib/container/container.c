/*
 * container/container.c - the container object (hpcvirt/container.h): an
 * OCI image run as a Linux micro-VM of the built-in engine. It owns the
 * defaults (kernel, modules, cache, init), the command and environment made
 * from the image's config and the caller's overrides, the VM's spec (boot
 * source: the kernel and the guest's initramfs; disk: the image's root),
 * the warm path's template (a VM suspended where its init waits for a
 * command, one per image, kernel and VM size, in the cache), and the
 * conversation with the guest's init over the VM's channel
 * (docs/container-guest.md): HELLO in, RUN out, OUT/ERR/EXIT/FAIL in.
 */
#include "container/guest-protocol.h"
#include "container/initramfs.h"
#include "container/oci-image.h"
#include "container/rootfs.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "plan/plan.h"
#include "plan/spec.h"

#include <hpcvirt/container.h>
#include <hpcvirt/error.h>
#include <hpcvirt/plan.h>
#include <hpcvirt/vm.h>

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"

/* The guest's memory and vCPUs when the caller gives no spec. */
#define DEFAULT_MEMORY_BYTES (UINT64_C(256) << 20)
/* How long start() waits for init's HELLO (or, warm, the template's) by default. */
#define DEFAULT_START_TIMEOUT_MS 300000
/* The guest kernel's command line: the serial console, a panic ends the VM, no chatter. */
#define GUEST_CMDLINE "console=ttyS0 panic=-1 quiet"
/* A container's generated name: the image's name (at most this long) and 6 hex digits. */
#define NAME_BASE_MAX 40

typedef enum container_phase {
    PHASE_CREATED,  /* the VM made (cold) or the template named (warm); not started */
    PHASE_STARTING, /* booting or resuming: waiting for init */
    PHASE_RUNNING,  /* init has the command */
    PHASE_ENDED,    /* the VM ended and the outcome is known */
} container_phase;

struct hv_container {
    hv_conn *conn;
    hv_vm *vm;
    char *name;
    char *image_digest;
    unsigned int flags;
    container_phase phase;

    /* the VM's plan (cold: the container's; warm: the template's) and files */
    hv_plan *plan;
    char *template_path; /* warm: the template's snapshot in the cache */
    char *template_lock; /* ... and its lock file */
    uint8_t *run_record; /* the RUN record, made at create */
    size_t run_record_bytes;

    hv_container_output_fn output;
    void *output_data;
    hv_vm_console_fn console;
    void *console_data;

    /* what the guest said (the channel callback, a vCPU thread) */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    hv_container_decoder *decoder;
    bool hello;           /* init is ready for RUN */
    bool ended;           /* EXIT or FAIL came */
    int exit_status;      /* EXIT's or FAIL's status */
    int fail_errno;       /* FAIL's errno (0: an EXIT) */
    bool failed;          /* FAIL came */
    char *guest_message;  /* FAIL's message, or the decoder's error */
    bool protocol_broken; /* the guest broke the protocol: guest_message says how */
    bool killed;          /* hv_container_kill() */
};

/* ---- small pieces ---------------------------------------------------------------- */

static size_t options_size(unsigned int version)
{
    (void)version;
    return sizeof(hv_container_options);
}

int hv_container_options_init(hv_container_options *opts, unsigned int version)
{
    return hv_options_init(opts, options_size(version), version, HV_CONTAINER_OPTIONS_VERSION,
                           __func__);
}

/* This machine's architecture as OCI names it (GOARCH). */
static const char *host_oci_architecture(void)
{
    struct utsname u;

    if (uname(&u) != 0)
        return "amd64";
    if (strcmp(u.machine, "x86_64") == 0)
        return "amd64";
    if (strcmp(u.machine, "aarch64") == 0)
        return "arm64";
    return "unknown";
}

/* The cache folder: the caller's, $XDG_CACHE_HOME/hpcvirt or $HOME/.cache/hpcvirt. */
static char *cache_folder(const char *asked)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");

    if (asked)
        return hv_strdup(asked);
    if (xdg && xdg[0] == '/')
        return hv_asprintf("%s/hpcvirt", xdg);
    if (home && home[0] == '/')
        return hv_asprintf("%s/.cache/hpcvirt", home);
    hv_error_set(HV_E_INVAL, "cache_path",
                 "no cache folder for container images: neither $XDG_CACHE_HOME nor $HOME is an "
                 "absolute path; give hv_container_options.cache_path");
    return NULL;
}

/* The guest's init: the caller's, $HPCVIRT_CONTAINER_INIT, or the installed one. */
static const char *init_program(const char *asked)
{
    const char *env = getenv("HPCVIRT_CONTAINER_INIT");

    if (asked)
        return asked;
    if (env && env[0])
        return env;
    return HV_CONTAINER_INIT_PATH;
}

/* mkdir -p for the cache (0700 for what it makes). */
static int make_folder(const char *path)
{
    char *copy = hv_strdup(path);
    int rc = 0;

    if (!copy)
        return HV_E_NOMEM;
    for (char *p = copy + 1;; p++) {
        char saved = *p;

        if (saved != '/' && saved != '\0')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            rc = hv_error_set_errno(errno == EACCES ? HV_E_PERM : HV_E_IO, errno, "cache_path",
                                    "cannot make the container cache folder %s", copy);
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return rc;
}

/* The hex SHA-256 of `bytes`, its first `hex_digits` digits, in `out`. */
static void sha256_hex(const void *bytes, size_t length, char *out, size_t hex_digits)
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);

    g_checksum_update(sum, bytes, (gssize)length);
    hv_strlcpy(out, g_checksum_get_string(sum), hex_digits + 1);
    g_checksum_free(sum);
}

/*
 * The guest's initramfs in the cache, named by its contents
 * (initramfs-<hex>.cpio: the init and the modules), written when missing.
 */
static int initramfs_file(const char *cache, const char *init, const char *modules, char **path_out)
{
    uint8_t *archive = NULL;
    size_t archive_bytes = 0;
    char hex[17];
    struct stat st;
    int rc;

    rc = hv_container_initramfs_build(init, modules, &archive, &archive_bytes);
    if (rc != 0)
        return rc;
    sha256_hex(archive, archive_bytes, hex, 16);
    *path_out = hv_asprintf("%s/initramfs-%s.cpio", cache, hex);
    if (!*path_out)
        rc = HV_E_NOMEM;
    else if (stat(*path_out, &st) != 0 || (uint64_t)st.st_size != archive_bytes)
        rc = hv_container_initramfs_save(*path_out, archive, archive_bytes);
    free(archive);
    if (rc != 0) {
        free(*path_out);
        *path_out = NULL;
    }
    return rc;
}

/* ---- the command: the image's config and the caller's overrides -------------------- */

typedef struct string_list {
    char **items;
    size_t count, cap;
} string_list;

static int list_add(string_list *l, const char *s)
{
    char *copy;

    if (hv_array_reserve((void **)&l->items, &l->cap, l->count + 1, sizeof(char *)) != 0)
        return HV_E_NOMEM;
    copy = hv_strdup(s);
    if (!copy)
        return HV_E_NOMEM;
    l->items[l->count++] = copy;
    return 0;
}

static void list_free(string_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
}

/* Put "NAME=value" into env, replacing an entry of the same NAME. */
static int env_set(string_list *env, const char *entry)
{
    const char *eq = strchr(entry, '=');
    size_t name_len = eq ? (size_t)(eq - entry) : 0;

    if (!eq || name_len == 0)
        return hv_error_set(HV_E_INVAL, "env",
                            "environment entry '%s' is not NAME=VALUE: give it as NAME=VALUE",
                            entry);
    for (size_t i = 0; i < env->count; i++) {
        if (strncmp(env->items[i], entry, name_len + 1) == 0) {
            char *copy = hv_strdup(entry);

            if (!copy)
                return HV_E_NOMEM;
            free(env->items[i]);
            env->items[i] = copy;
            return 0;
        }
    }
    return list_add(env, entry);
}

/*
 * The RUN record of the command: the entrypoint (the caller's replaces the
 * image's, and then the image's Cmd is dropped, as docker's --entrypoint
 * does) and the arguments (the caller's replace the image's Cmd), the
 * image's environment with the caller's entries over it, the working
 * folder and the user.
 */
static int make_run_record(const hv_oci_image *image, const hv_container_options *o,
                           uint8_t **record, size_t *record_bytes)
{
    string_list argv = {0}, env = {0};
    hv_container_command cmd;
    const char *const *list;
    int rc = 0;

    if (o->entrypoint) {
        if (o->entrypoint[0])
            rc = list_add(&argv, o->entrypoint);
    } else {
        for (list = hv_oci_image_entrypoint(image); rc == 0 && *list; list++)
            rc = list_add(&argv, *list);
    }
    if (o->arg_count > 0) {
        for (size_t i = 0; rc == 0 && i < o->arg_count; i++) {
            if (!o->args[i])
                rc = hv_error_set(HV_E_INVAL, "args", "args[%zu] is NULL", i);
            else
                rc = list_add(&argv, o->args[i]);
        }
    } else if (!o->entrypoint) {
        for (list = hv_oci_image_cmd(image); rc == 0 && *list; list++)
            rc = list_add(&argv, *list);
    }
    if (rc == 0 && argv.count == 0)
        rc = hv_error_set(HV_E_INVAL, "args",
                          "the image has no command (neither Entrypoint nor Cmd) and none was "
                          "given: name the command to run");
    for (list = hv_oci_image_env(image); rc == 0 && *list; list++)
        rc = env_set(&env, *list);
    for (size_t i = 0; rc == 0 && i < o->env_count; i++)
        rc = o->env[i] ? env_set(&env, o->env[i])
                       : hv_error_set(HV_E_INVAL, "env", "env[%zu] is NULL", i);
    if (rc == 0) {
        const char *workdir = o->workdir ? o->workdir : hv_oci_image_working_dir(image);
        const char *user = o->user ? o->user : hv_oci_image_user(image);

        memset(&cmd, 0, sizeof(cmd));
        cmd.argv = (const char *const *)argv.items;
        cmd.argc = argv.count;
        cmd.env = (const char *const *)env.items;
        cmd.envc = env.count;
        cmd.cwd = workdir[0] ? workdir : "/";
        cmd.user = user[0] ? user : NULL;
        rc = hv_container_run_encode(&cmd, record, record_bytes);
    }
    list_free(&argv);
    list_free(&env);
    return rc;
}

/* ---- the VM's spec and name ----------------------------------------------------------- */

/* A VM name from the layout's folder name (and tag): its safe characters, and 6 random hex digits.
 */
static char *container_name(const char *layout_path, const char *tag)
{
    const char *end = layout_path + strlen(layout_path), *start;
    char base[NAME_BASE_MAX + 1];
    unsigned char random[3] = {0};
    size_t n = 0;

    while (end > layout_path && end[-1] == '/')
        end--;
    start = end;
    while (start > layout_path && start[-1] != '/')
        start--;
    if (tag && *tag) {
        start = tag;
        end = tag + strlen(tag);
    }
    for (const char *p = start; p < end && n < NAME_BASE_MAX; p++) {
        unsigned char ch = (unsigned char)*p;

        base[n++] = (char)((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                   (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'
                               ? ch
                               : '-');
    }
    base[n] = '\0';
    if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
        random[0] = (unsigned char)getpid();
    return hv_asprintf("%s-%02x%02x%02x", n ? base : "container", random[0], random[1], random[2]);
}

/* The VM's spec: the caller's (without a boot source or disks of its own) or 1 vCPU, 256 MiB. */
static int vm_spec(const hv_container_options *o, const char *name, const char *kernel,
                   const char *initrd, const char *rootfs, hv_vm_spec **out)
{
    hv_vm_spec *spec = NULL;
    int rc;

    if (o->spec) {
        if (o->spec->boot.kernel[0])
            return hv_error_set(HV_E_SPEC, "boot",
                                "a container's spec must not have a boot source: the container "
                                "boots its kernel (kernel_path) itself");
        if (o->spec->ndisks > 0)
            return hv_error_set(HV_E_SPEC, "disks",
                                "a container's spec must not have disks: its root disk is the "
                                "image's");
        rc = hv_vm_spec_copy(o->spec, &spec);
    } else {
        rc = hv_vm_spec_new(&spec);
        if (rc == 0)
            rc = hv_vm_spec_set_vcpus(spec, 1);
        if (rc == 0)
            rc = hv_vm_spec_set_memory_bytes(spec, DEFAULT_MEMORY_BYTES);
    }
    if (rc == 0)
        rc = hv_vm_spec_set_name(spec, name);
    if (rc == 0)
        rc = hv_vm_spec_set_boot(spec, kernel, initrd, GUEST_CMDLINE);
    if (rc == 0)
        rc = hv_vm_spec_add_disk(spec, rootfs, HV_DISK_FORMAT_RAW, HV_DISK_BUS_VIRTIO, true,
                                 "rootfs", 0);
    if (rc != 0) {
        hv_vm_spec_free(spec);
        return rc;
    }
    *out = spec;
    return 0;
}

/* ---- what the guest says (the channel callback) ---------------------------------------- */

static void set_guest_message(hv_container *c, const char *text, size_t length)
{
    free(c->guest_message);
    c->guest_message = hv_strndup(text, length);
}

/* One record from the guest: remember what matters and pass the output on. */
static void take_event(hv_container *c, const hv_container_event *ev)
{
    switch (ev->type) {
    case HV_CONTAINER_REC_HELLO:
        c->hello = true;
        break;
    case HV_CONTAINER_REC_OUT:
    case HV_CONTAINER_REC_ERR:
        if (c->output && ev->data_bytes > 0)
            c->output(c->output_data,
                      ev->type == HV_CONTAINER_REC_OUT ? HV_CONTAINER_STDOUT : HV_CONTAINER_STDERR,
                      ev->data, ev->data_bytes);
        break;
    case HV_CONTAINER_REC_EXIT:
        c->ended = true;
        c->exit_status = ev->exit_status;
        break;
    case HV_CONTAINER_REC_FAIL:
        c->ended = true;
        c->failed = true;
        c->exit_status = ev->exit_status;
        c->fail_errno = ev->error_number;
        set_guest_message(c, (const char *)ev->data, ev->data_bytes);
        break;
    default:
        break;
    }
}

static void channel_callback(void *data, const void *bytes, size_t length)
{
    hv_container *c = data;
    const uint8_t *p = bytes;

    pthread_mutex_lock(&c->lock);
    while (length > 0 && !c->protocol_broken) {
        hv_container_event ev;
        size_t used = 0;
        int rc = hv_container_decoder_feed(c->decoder, p, length, &used, &ev);

        if (rc < 0) {
            const char *why = hv_container_decoder_error(c->decoder);

            c->protocol_broken = true;
            set_guest_message(c, why ? why : "the guest broke the protocol",
                              strlen(why ? why : "the guest broke the protocol"));
            break;
        }
        if (rc == 1)
            take_event(c, &ev);
        p += used;
        length -= used;
        if (used == 0)
            break;
    }
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

/*
 * A fresh decoder. A warm container's init said HELLO in its template,
 * before the snapshot: the record is fed to the new decoder as the template
 * got it, so that what comes next (OUT, ERR, EXIT) is read as it follows it.
 */
static int new_decoder(hv_container *c, bool after_hello)
{
    uint8_t hello[HV_CONTAINER_PROTO_HEADER_BYTES + 4] = {HV_CONTAINER_REC_HELLO};
    hv_container_event ev;
    size_t used = 0;
    int rc;

    hv_container_decoder_free(c->decoder);
    c->decoder = NULL;
    rc = hv_container_decoder_new(&c->decoder);
    if (rc != 0 || !after_hello)
        return rc;
    hv_container_proto_put_u32(hello + 4, 4);
    hv_container_proto_put_u32(hello + 8, HV_CONTAINER_PROTO_VERSION);
    rc = hv_container_decoder_feed(c->decoder, hello, sizeof(hello), &used, &ev);
    return rc == 1 ? 0 : HV_E_INTERNAL;
}

/* ---- create ---------------------------------------------------------------------------- */

static int create_vm(hv_container *c)
{
    hv_vm_create_options copts = HV_VM_CREATE_OPTIONS_INIT;

    copts.console = c->console;
    copts.console_data = c->console_data;
    copts.channel = channel_callback;
    copts.channel_data = c;
    return hv_vm_create(c->conn, c->plan, &copts, &c->vm);
}

/*
 * The warm path's template: one per image root, initramfs, kernel and VM
 * (the plan, under the template's own name), named by a digest of those.
 */
static int name_template(hv_container *c, const char *cache, const char *kernel, const char *initrd,
                         const char *rootfs)
{
    char *plan_json = NULL, *key = NULL, hex[17];
    struct stat st;
    int rc;

    if (stat(kernel, &st) != 0)
        return hv_error_set_errno(HV_E_IO, errno, "kernel_path", "cannot read the kernel %s",
                                  kernel);
    rc = hv_plan_to_json(c->plan, 0, &plan_json);
    if (rc != 0)
        return rc;
    key = hv_asprintf("%s\n%s %lld %lld\n%s\n%s\n%s", c->image_digest, kernel,
                      (long long)st.st_size, (long long)st.st_mtime, initrd, rootfs, plan_json);
    hv_free(plan_json);
    if (!key)
        return HV_E_NOMEM;
    sha256_hex(key, strlen(key), hex, 16);
    free(key);
    c->template_path = hv_asprintf("%s/template-%s.snap", cache, hex);
    c->template_lock = hv_asprintf("%s/template-%s.lock", cache, hex);
    return c->template_path && c->template_lock ? 0 : HV_E_NOMEM;
}

int hv_container_create(hv_conn *conn, const char *layout_path, const hv_container_options *opts,
                        hv_container **container)
{
    hv_container_options o;
    hv_container *c = NULL;
    hv_oci_image *image = NULL;
    hv_vm_spec *spec = NULL;
    hv_host *conn_host = NULL;
    char *cache = NULL, *rootfs = NULL, *initrd = NULL, *kernel_buf = NULL, *modules_buf = NULL;
    const char *kernel, *modules;
    char template_name[32];
    int rc;

    if (!conn || !layout_path || !container)
        return hv_error_set(HV_E_INVAL, NULL,
                            "%s: conn, layout_path and container must not be NULL", __func__);
    *container = NULL;
    rc = hv_options_check(opts, HV_CONTAINER_OPTIONS_VERSION, true, __func__, "opts");
    if (rc != 0)
        return rc;
    memset(&o, 0, sizeof(o));
    if (opts)
        memcpy(&o, opts, options_size(opts->version));
    if (strcmp(hv_conn_backend(conn), "kvm") != 0)
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "containers run on the built-in engine (kvm:///), not on the %s "
                            "backend",
                            hv_conn_backend(conn));
    if ((o.arg_count > 0 && !o.args) || (o.env_count > 0 && !o.env))
        return hv_error_set(HV_E_INVAL, NULL, "%s: args or env is NULL with a count", __func__);
    if (o.workdir && o.workdir[0] != '/')
        return hv_error_set(HV_E_INVAL, "workdir",
                            "the working directory '%s' is not an absolute path", o.workdir);

    /* the defaults: this machine's kernel and its modules */
    if (o.kernel_path) {
        kernel = o.kernel_path;
        modules = o.modules_path;
    } else {
        struct utsname u;

        if (uname(&u) != 0)
            return hv_error_set_errno(HV_E_IO, errno, NULL, "uname");
        kernel = kernel_buf = hv_asprintf("/boot/vmlinuz-%s", u.release);
        modules = o.modules_path ? o.modules_path
                                 : (modules_buf = hv_asprintf("/lib/modules/%s", u.release));
        if (!kernel_buf || (!o.modules_path && !modules_buf)) {
            rc = HV_E_NOMEM;
            goto out;
        }
    }
    if (access(kernel, R_OK) != 0) {
        rc = hv_error_set_errno(HV_E_NOTFOUND, errno, "kernel_path",
                                "cannot read the guest kernel %s%s", kernel,
                                o.kernel_path ? "" : " (this machine's; give kernel_path)");
        goto out;
    }

    /* the image, its root disk, the initramfs: every refusal before anything boots */
    rc = hv_oci_image_open(layout_path, o.tag, host_oci_architecture(), &image);
    if (rc != 0)
        goto out;
    cache = cache_folder(o.cache_path);
    if (!cache) {
        rc = hv_error_last() ? hv_error_code_of(hv_error_last()) : HV_E_NOMEM;
        goto out;
    }
    rc = make_folder(cache);
    if (rc == 0)
        rc = hv_container_rootfs_image(image, cache, &rootfs);
    if (rc == 0)
        rc = initramfs_file(cache, init_program(o.init_path), modules, &initrd);
    if (rc != 0)
        goto out;

    c = hv_calloc(1, sizeof(*c));
    if (!c) {
        rc = HV_E_NOMEM;
        goto out;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    c->conn = conn;
    c->flags = o.flags;
    c->output = o.output;
    c->output_data = o.output_data;
    c->console = o.console;
    c->console_data = o.console_data;
    c->name = o.name ? hv_strdup(o.name) : container_name(layout_path, o.tag);
    c->image_digest = hv_strdup(hv_oci_image_digest(image));
    if (!c->name || !c->image_digest) {
        rc = HV_E_NOMEM;
        goto out;
    }
    rc = make_run_record(image, &o, &c->run_record, &c->run_record_bytes);
    if (rc != 0)
        goto out;

    /* the VM: planned on the host; made now (cold) or resumed from the template at start (warm) */
    if (o.flags & HV_CONTAINER_WARM) {
        /* the template's VM is named by its image (sha256:<hex>: its first 12 digits) */
        snprintf(template_name, sizeof(template_name), "template-%.12s",
                 c->image_digest + strlen("sha256:"));
    }
    rc = vm_spec(&o, (o.flags & HV_CONTAINER_WARM) ? template_name : c->name, kernel, initrd,
                 rootfs, &spec);
    if (rc == 0 && !o.host)
        rc = hv_conn_host(conn, &conn_host);
    if (rc == 0)
        rc = hv_plan_create(o.host ? o.host : conn_host, spec, NULL, &c->plan);
    if (rc == 0 && !hv_plan_ok(c->plan))
        rc = hv_plan_refuse(c->plan, HV_E_PLAN, "the container's VM");
    if (rc == 0)
        rc = (o.flags & HV_CONTAINER_WARM) ? name_template(c, cache, kernel, initrd, rootfs)
                                           : create_vm(c);
    if (rc == 0)
        rc = new_decoder(c, false);
    if (rc == 0) {
        c->phase = PHASE_CREATED;
        *container = c;
        c = NULL;
    }
out:
    hv_container_free(c);
    hv_vm_spec_free(spec);
    hv_host_free(conn_host);
    hv_oci_image_free(image);
    free(cache);
    free(rootfs);
    free(initrd);
    free(kernel_buf);
    free(modules_buf);
    return rc;
}

/* ---- start ----------------------------------------------------------------------------- */

/* Whether the VM still runs (the outcome is read by hv_container_wait()). */
static bool vm_running(hv_vm *vm)
{
    int state = HV_VM_STATE_UNKNOWN;

    return hv_vm_state(vm, &state) == 0 &&
           (state == HV_VM_STATE_RUNNING || state == HV_VM_STATE_PAUSED);
}

/* Wait (the lock held) until init said HELLO, the VM ended or `deadline_ns` passed. */
static int wait_for_hello(hv_container *c, uint64_t deadline_ns, const char *what)
{
    while (!c->hello && !c->protocol_broken && !c->ended) {
        struct timespec ts;
        uint64_t now = hv_clock_monotonic_ns();

        if (now >= deadline_ns)
            return hv_error_set(HV_E_TIMEOUT, NULL,
                                "%s: the guest's init did not say it was ready in time (see the "
                                "VM's console)",
                                what);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&c->changed, &c->lock, &ts);
        if (!c->hello && !vm_running(c->vm))
            return hv_error_set(HV_E_GUEST, NULL,
                                "%s: the VM ended before its init was ready (see its console)",
                                what);
    }
    if (c->protocol_broken)
        return hv_error_set(HV_E_GUEST, NULL, "%s: %s", what, c->guest_message);
    if (c->failed)
        return hv_error_set(HV_E_GUEST, NULL, "%s: the guest's init failed: %s", what,
                            c->guest_message ? c->guest_message : "(no message)");
    return 0;
}

/* Queue all of `bytes` for the guest (the channel's queue takes what fits; init reads it). */
static int send_all(hv_container *c, const uint8_t *bytes, size_t length, uint64_t deadline_ns)
{
    while (length > 0) {
        size_t sent = 0;
        int rc = hv_vm_channel_send(c->vm, bytes, length, &sent);

        if (rc != 0)
            return rc;
        bytes += sent;
        length -= sent;
        if (sent == 0) {
            if (hv_clock_monotonic_ns() >= deadline_ns || !vm_running(c->vm))
                return hv_error_set(HV_E_TIMEOUT, NULL,
                                    "the guest's init did not take its command (its channel "
                                    "stayed full)");
            usleep(1000);
        }
    }
    return 0;
}

/*
 * The template of a warm container, made when the cache lacks it: its VM
 * booted, suspended once its init is ready for a command. Under the
 * template's lock, so that one process makes it and the others wait.
 */
static int make_template(hv_container *c, uint64_t deadline_ns)
{
    hv_vm_suspend_options sopts = HV_VM_SUSPEND_OPTIONS_INIT;
    struct stat st;
    int lock_fd, rc = 0;

    lock_fd = open(c->template_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0)
        return hv_error_set_errno(HV_E_IO, errno, NULL, "cannot open %s", c->template_lock);
    if (flock(lock_fd, LOCK_EX) != 0) {
        rc = hv_error_set_errno(HV_E_IO, errno, NULL, "cannot lock %s", c->template_lock);
        goto out;
    }
    if (stat(c->template_path, &st) == 0)
        goto out; /* another made it meanwhile */
    rc = create_vm(c);
    if (rc == 0)
        rc = hv_vm_start(c->vm);
    if (rc == 0) {
        pthread_mutex_lock(&c->lock);
        rc = wait_for_hello(c, deadline_ns, "the image's template");
        pthread_mutex_unlock(&c->lock);
    }
    if (rc == 0)
        rc = hv_vm_suspend(c->vm, c->template_path, &sopts);
    if (c->vm) {
        if (rc != 0)
            hv_vm_destroy(c->vm);
        hv_vm_undefine(c->vm);
        hv_vm_free(c->vm);
        c->vm = NULL;
    }
out:
    close(lock_fd);
    return rc;
}

int hv_container_start(hv_container *container, int64_t timeout_ms)
{
    hv_container *c = container;
    uint64_t deadline_ns;
    int rc;

    if (!c)
        return hv_error_set(HV_E_INVAL, NULL, "%s: container is NULL", __func__);
    if (c->phase != PHASE_CREATED)
        return hv_error_set(HV_E_STATE, NULL, "container %s was started before", c->name);
    deadline_ns = hv_clock_monotonic_ns() +
                  (uint64_t)(timeout_ms > 0 ? timeout_ms : DEFAULT_START_TIMEOUT_MS) * 1000000u;
    c->phase = PHASE_STARTING;
    if (c->flags & HV_CONTAINER_WARM) {
        hv_vm_resume_options ropts = HV_VM_RESUME_OPTIONS_INIT;

        rc = make_template(c, deadline_ns);
        if (rc == 0)
            rc = new_decoder(c, true);
        if (rc == 0) {
            c->hello = false;
            ropts.name = c->name;
            ropts.console = c->console;
            ropts.console_data = c->console_data;
            ropts.channel = channel_callback;
            ropts.channel_data = c;
            rc = hv_vm_resume_from(c->conn, c->template_path, &ropts, &c->vm);
        }
        if (rc == 0)
            c->hello = true; /* its init waits for RUN, as it did when the template was saved */
    } else {
        rc = hv_vm_start(c->vm);
        if (rc == 0) {
            pthread_mutex_lock(&c->lock);
            rc = wait_for_hello(c, deadline_ns, c->name);
            pthread_mutex_unlock(&c->lock);
        }
    }
    if (rc == 0)
        rc = send_all(c, c->run_record, c->run_record_bytes, deadline_ns);
    if (rc != 0) {
        if (c->vm && vm_running(c->vm))
            hv_vm_destroy(c->vm);
        c->phase = PHASE_ENDED;
        return rc;
    }
    c->phase = PHASE_RUNNING;
    return 0;
}

/* ---- wait, kill ------------------------------------------------------------------------- */

/* The outcome once the VM has ended with `vm_rc` (and `vm_code`), from what init said. */
static int outcome(hv_container *c, int vm_rc, int vm_code, int *exit_status)
{
    int rc = 0;

    pthread_mutex_lock(&c->lock);
    if (c->killed) {
        *exit_status = 137;
    } else if (c->failed) {
        int code = c->exit_status == HV_CONTAINER_STATUS_NOT_FOUND        ? HV_E_NOTFOUND
                   : c->exit_status == HV_CONTAINER_STATUS_NOT_EXECUTABLE ? HV_E_PERM
                                                                          : HV_E_GUEST;

        *exit_status = c->exit_status;
        rc = hv_error_set(code, NULL, "container %s: %s", c->name,
                          c->guest_message ? c->guest_message : "its init failed");
    } else if (c->ended) {
        *exit_status = c->exit_status;
    } else if (c->protocol_broken) {
        *exit_status = HV_CONTAINER_STATUS_SETUP;
        rc = hv_error_set(HV_E_GUEST, NULL, "container %s: %s", c->name, c->guest_message);
    } else if (vm_rc != 0) {
        *exit_status = HV_CONTAINER_STATUS_SETUP;
        rc = vm_rc; /* the VM's own error (a crash, a panic): its message stands */
    } else {
        *exit_status = HV_CONTAINER_STATUS_SETUP;
        rc = hv_error_set(HV_E_GUEST, NULL,
                          "container %s: the VM ended (exit code %d) without the command's "
                          "status: its init did not report one (see the VM's console)",
                          c->name, vm_code);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int hv_container_wait(hv_container *container, int64_t timeout_ms, int *exit_status)
{
    hv_container *c = container;
    int vm_code = 0, vm_rc;

    if (!c || !exit_status)
        return hv_error_set(HV_E_INVAL, NULL, "%s: container and exit_status must not be NULL",
                            __func__);
    if (c->phase == PHASE_CREATED || c->phase == PHASE_STARTING || !c->vm)
        return hv_error_set(HV_E_STATE, NULL, "container %s was not started", c->name);
    vm_rc = hv_vm_wait(c->vm,
                       timeout_ms < 0           ? -1
                       : timeout_ms > INT32_MAX ? INT32_MAX
                                                : (int)timeout_ms,
                       &vm_code);
    if (vm_rc == HV_E_TIMEOUT)
        return vm_rc;
    if (vm_rc == HV_E_STATE) /* waited before: the VM is over */
        vm_rc = hv_vm_exit_code(c->vm, &vm_code);
    c->phase = PHASE_ENDED;
    return outcome(c, vm_rc, vm_code, exit_status);
}

int hv_container_kill(hv_container *container)
{
    if (!container)
        return hv_error_set(HV_E_INVAL, NULL, "%s: container is NULL", __func__);
    if (!container->vm || !vm_running(container->vm))
        return hv_error_set(HV_E_STATE, NULL, "container %s is not running", container->name);
    pthread_mutex_lock(&container->lock);
    container->killed = true;
    pthread_mutex_unlock(&container->lock);
    return hv_vm_destroy(container->vm);
}

const char *hv_container_name(const hv_container *container)
{
    return container ? container->name : NULL;
}

const char *hv_container_image_digest(const hv_container *container)
{
    return container ? container->image_digest : NULL;
}

hv_vm *hv_container_vm(hv_container *container)
{
    return container ? container->vm : NULL;
}

void hv_container_free(hv_container *container)
{
    hv_container *c = container;

    if (!c)
        return;
    if (c->vm) {
        if (vm_running(c->vm))
            hv_vm_destroy(c->vm);
        hv_vm_undefine(c->vm);
        hv_vm_free(c->vm);
    }
    hv_container_decoder_free(c->decoder);
    hv_plan_free(c->plan);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->changed);
    free(c->run_record);
    free(c->template_path);
    free(c->template_lock);
    free(c->guest_message);
    free(c->name);
    free(c->image_digest);
    free(c);
}

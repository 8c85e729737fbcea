/*
 * backend/registry.c - the backend registry (the library's one piece of
 * shared state besides the per-thread error and the log hook; guarded by a
 * mutex): the built-in backends (builtin.c's list) registered on first use,
 * URI dispatch and plugin loading (GModule).
 */
#include "backend/backend.h"
#include "config.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "core/log.h"
#include "core/text.h"

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <gmodule.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BACKENDS    32
#define MAX_PLUGIN_DIRS 16
/* Room to quote a URI or a path in a message whole (hv_quote()), unless it is huge. */
#define LONG_QUOTE_SIZE 512
/* The longest backend name or scheme (include/hpcvirt/backend.h). */
#define MAX_NAME_BYTES 64

typedef struct entry {
    hv_backend table;
    bool active;
} entry;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
/* Entries are never freed or moved: connections keep pointers to them. */
static entry registry[MAX_BACKENDS];
static size_t registry_count;
static bool builtins_registered;
static char *plugin_dirs_loaded[MAX_PLUGIN_DIRS];
static size_t plugin_dirs_count;

static entry *find_locked(const char *name)
{
    for (size_t i = 0; i < registry_count; i++)
        if (registry[i].active && strcmp(registry[i].table.name, name) == 0)
            return &registry[i];
    return NULL;
}

static int register_locked(const hv_backend *backend)
{
    entry *e;
    char quoted[HV_QUOTE_SIZE];

    if (find_locked(backend->name))
        return hv_error_set(HV_E_EXISTS, NULL, "a backend named '%s' is already registered",
                            hv_quote(quoted, sizeof(quoted), backend->name));
    if (registry_count == MAX_BACKENDS)
        return hv_error_set(HV_E_RANGE, NULL, "at most %d backends can be registered",
                            MAX_BACKENDS);
    e = &registry[registry_count++];
    /* copy what the table's version has; newer operations stay NULL */
    memset(&e->table, 0, sizeof(e->table));
    memcpy(&e->table, backend,
           backend->version == 1   ? offsetof(hv_backend, vm_wait)
           : backend->version == 2 ? offsetof(hv_backend, vm_migrate_incoming)
           : backend->version == 3 ? offsetof(hv_backend, vm_channel_send)
                                   : sizeof(e->table));
    e->table.version = HV_BACKEND_VERSION;
    e->active = true;
    return 0;
}

/* The built-in backends, registered on first use. */
static void register_builtins_locked(void)
{
    if (builtins_registered)
        return;
    builtins_registered = true;
    for (const hv_backend *const *b = hv_builtin_backends; *b; b++)
        register_locked(*b);
}

/*
 * Whether `text` is a backend name (`scheme` false) or URI scheme (true): 1
 * to MAX_NAME_BYTES bytes, a lowercase ASCII letter first, then lowercase
 * letters, digits, '-', '+', '.' and, in a name, '_'. Nothing else: both are
 * shown in messages and lists, and a scheme is matched against URIs byte
 * for byte (RFC 3986's scheme characters, in lowercase).
 */
static bool valid_name(const char *text, bool scheme)
{
    size_t len = strnlen(text, MAX_NAME_BYTES + 1);

    if (len == 0 || len > MAX_NAME_BYTES || text[0] < 'a' || text[0] > 'z')
        return false;
    for (const char *p = text; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '+' ||
              *p == '.' || (*p == '_' && !scheme)))
            return false;
    return true;
}

/* HV_E_INVAL for a name or scheme that valid_name() refuses, saying what is allowed. */
static int bad_name(const char *what, const char *text, const char *allowed, const char *why)
{
    char quoted[HV_QUOTE_SIZE];

    return hv_error_set(HV_E_INVAL, NULL,
                        "hv_backend_register: the backend %s '%s' is not valid: a %s has 1 to %d "
                        "characters, a lowercase letter first, then lowercase letters, digits "
                        "and %s (%s)",
                        what, hv_quote(quoted, sizeof(quoted), text), what, MAX_NAME_BYTES, allowed,
                        why);
}

int hv_backend_register(const hv_backend *backend)
{
    int rc;

    HV_CHECK_ARG(backend, "backend");
    if (backend->version == 0 || backend->version > HV_BACKEND_VERSION)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_backend_register: backend version %u is not supported (1..%d): "
                            "build the backend against these headers",
                            backend->version, HV_BACKEND_VERSION);
    if (!backend->name || !*backend->name || !backend->open)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_backend_register: a backend needs a name and an open function");
    if (!valid_name(backend->name, false))
        return bad_name("name", backend->name, "'-', '_', '+' and '.'",
                        "it is shown in messages and lists");
    if (backend->scheme && !valid_name(backend->scheme, true))
        return bad_name("scheme", backend->scheme, "'-', '+' and '.'",
                        "a URI's scheme, matched byte for byte");
    pthread_mutex_lock(&registry_lock);
    register_builtins_locked();
    rc = register_locked(backend);
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

int hv_backend_unregister(const char *name)
{
    entry *e;
    char quoted[HV_QUOTE_SIZE];

    HV_CHECK_ARG(name, "name");
    pthread_mutex_lock(&registry_lock);
    register_builtins_locked();
    e = find_locked(name);
    if (e)
        e->active = false;
    pthread_mutex_unlock(&registry_lock);
    if (!e)
        return hv_error_set(HV_E_NOTFOUND, NULL, "no backend named '%s' is registered",
                            hv_quote(quoted, sizeof(quoted), name));
    return 0;
}

size_t hv_backend_count(void)
{
    size_t n = 0;

    pthread_mutex_lock(&registry_lock);
    register_builtins_locked();
    for (size_t i = 0; i < registry_count; i++)
        n += registry[i].active;
    pthread_mutex_unlock(&registry_lock);
    return n;
}

const char *hv_backend_name_at(size_t index)
{
    const char *name = NULL;

    pthread_mutex_lock(&registry_lock);
    register_builtins_locked();
    for (size_t i = 0; i < registry_count && !name; i++)
        if (registry[i].active && index-- == 0)
            name = registry[i].table.name;
    pthread_mutex_unlock(&registry_lock);
    return name;
}

int hv_backend_unsupported(const hv_backend *backend, size_t operation_offset,
                           const char *operation)
{
    char quoted[HV_QUOTE_SIZE], other[MAX_NAME_BYTES + 1] = "", scheme[MAX_NAME_BYTES + 1] = "";

    /* name another backend only where it has the operation and a scheme to reach it by */
    pthread_mutex_lock(&registry_lock);
    register_builtins_locked();
    for (size_t i = 0; i < registry_count && !*other; i++) {
        const entry *e = &registry[i];
        void *op;

        if (!e->active || !e->table.scheme || strcmp(e->table.name, backend->name) == 0)
            continue;
        memcpy(&op, (const char *)&e->table + operation_offset, sizeof(op));
        if (op) {
            hv_format(other, sizeof(other), "%s", e->table.name);
            hv_format(scheme, sizeof(scheme), "%s", e->table.scheme);
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (*other)
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "the %s backend does not support %s (the %s backend does: open a "
                            "%s: URI)",
                            hv_quote(quoted, sizeof(quoted), backend->name), operation, other,
                            scheme);
    return hv_error_set(HV_E_UNSUPPORTED, NULL,
                        "the %s backend does not support %s (no registered backend does)",
                        hv_quote(quoted, sizeof(quoted), backend->name), operation);
}

/* "libvirt:qemu:///system" has scheme "libvirt". */
static bool scheme_matches(const char *scheme, const char *uri)
{
    size_t n;

    if (!scheme)
        return true;
    n = strlen(scheme);
    return strncmp(uri, scheme, n) == 0 && uri[n] == ':';
}

int hv_backend_open_uri(const char *uri, const hv_backend **backend, void **data)
{
    const hv_backend *candidates[MAX_BACKENDS];
    size_t n = 0;
    char known[256] = "", quoted[LONG_QUOTE_SIZE];

    pthread_mutex_lock(&registry_lock);
    register_builtins_locked();
    for (size_t i = 0; i < registry_count; i++) {
        if (!registry[i].active)
            continue;
        if (registry[i].table.scheme) {
            char scheme[HV_QUOTE_SIZE];

            strncat(known, *known ? ", " : "", sizeof(known) - strlen(known) - 1);
            strncat(known, hv_quote(scheme, sizeof(scheme), registry[i].table.scheme),
                    sizeof(known) - strlen(known) - 1);
            strncat(known, ":", sizeof(known) - strlen(known) - 1);
        }
        if (scheme_matches(registry[i].table.scheme, uri))
            candidates[n++] = &registry[i].table;
    }
    pthread_mutex_unlock(&registry_lock);
    /* outside the lock: backends may take their time connecting */
    for (size_t i = 0; i < n; i++) {
        int rc = candidates[i]->open(uri, data);

        if (rc == HV_BACKEND_DECLINED)
            continue;
        if (rc < 0)
            return rc;
        *backend = candidates[i];
        return 0;
    }
    /* cut short, the list of schemes ends at a character boundary */
    known[hv_utf8_trim_partial(known, strlen(known))] = '\0';
    return hv_error_set(HV_E_NOTFOUND, "uri", "no backend accepts the URI '%s' (known schemes: %s)",
                        hv_quote(quoted, sizeof(quoted), uri), *known ? known : "none");
}

/* ---- plugins ----------------------------------------------------------------- */

static int load_plugin(const char *path)
{
    GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
    int (*init)(void) = NULL;
    char quoted[LONG_QUOTE_SIZE];
    int rc;

    hv_quote(quoted, sizeof(quoted), path);
    if (!module) {
        char reason[LONG_QUOTE_SIZE];

        return hv_error_set(HV_E_IO, path, "cannot load plugin '%s': %s", quoted,
                            hv_quote(reason, sizeof(reason), g_module_error()));
    }
    if (!g_module_symbol(module, "hv_plugin_init", (gpointer *)&init) || !init) {
        hv_error_set(HV_E_BACKEND, path, "plugin '%s' has no hv_plugin_init() function", quoted);
        g_module_close(module);
        return HV_E_BACKEND;
    }
    rc = init();
    if (rc < 0) {
        g_module_close(module);
        if (hv_error_code_of(hv_error_last()) != rc)
            hv_error_set(rc, path, "plugin '%s' failed to initialize (%s)", quoted,
                         hv_strerror(rc));
        return rc;
    }
    /* Plugins stay loaded: their backends' functions must stay valid. */
    g_module_make_resident(module);
    hv_log_info("backend", "loaded plugin '%s'", quoted);
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int hv_backend_load_plugins(const char *dir)
{
    char *names[256];
    size_t n = 0;
    int loaded = 0, first_error = 0;
    DIR *d;
    struct dirent *de;
    bool done = false;

    if (!dir)
        dir = getenv("HPCVIRT_PLUGIN_DIR");
    if (!dir || !*dir)
        return 0;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < plugin_dirs_count; i++)
        done |= strcmp(plugin_dirs_loaded[i], dir) == 0;
    if (!done && plugin_dirs_count < MAX_PLUGIN_DIRS)
        plugin_dirs_loaded[plugin_dirs_count++] = strdup(dir);
    pthread_mutex_unlock(&registry_lock);
    if (done)
        return 0;
    d = opendir(dir);
    if (!d) {
        int e = errno;
        char quoted[LONG_QUOTE_SIZE];

        return hv_error_set_errno(HV_E_IO, e, dir, "cannot read plugin directory '%s'",
                                  hv_quote(quoted, sizeof(quoted), dir));
    }
    while ((de = readdir(d)) && n < sizeof(names) / sizeof(names[0])) {
        size_t len = strlen(de->d_name);

        if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0)
            names[n++] = hv_asprintf("%s/%s", dir, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), compare_names);
    for (size_t i = 0; i < n; i++) {
        int rc = names[i] ? load_plugin(names[i]) : HV_E_NOMEM;

        if (rc == 0)
            loaded++;
        else if (!first_error)
            first_error = rc;
        free(names[i]);
    }
    return first_error ? first_error : loaded;
}

/*
 * core/error.c - the per-thread last error: storage, setters, accessors and
 * the code -> text tables. Thread-local fixed buffers: setting an error never
 * allocates, so it works when memory is exhausted and leaks nothing when a
 * thread exits.
 */
#include "core/error.h"
#include "core/text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HV_ERROR_MESSAGE_MAX 1024
#define HV_ERROR_PATH_MAX    512

struct hv_error {
    int code;
    char message[HV_ERROR_MESSAGE_MAX];
    char path[HV_ERROR_PATH_MAX];
};

static _Thread_local struct hv_error thread_error = {HV_OK, "no error", ""};

/*
 * End `text`, which holds `full` bytes or was cut to fit `size`, at a
 * character boundary: a cut never leaves half a UTF-8 character.
 */
static void end_whole(char *text, size_t size, size_t full)
{
    if (full >= size)
        text[hv_utf8_trim_partial(text, size - 1)] = '\0';
}

/* hv_error_set() with its arguments in `ap`. */
static int error_setv(int code, const char *path, const char *fmt, va_list ap) HV_PRINTF(3, 0);

static int error_setv(int code, const char *path, const char *fmt, va_list ap)
{
    struct hv_error *e = &thread_error;
    /* formatted apart first: the arguments may be this thread's own message or path */
    char message[HV_ERROR_MESSAGE_MAX];
    int n = vsnprintf(message, sizeof(message), fmt, ap);
    size_t len = path ? strlen(path) : 0;

    if (n < 0)
        n = snprintf(message, sizeof(message), "(the error message could not be formatted)");
    end_whole(message, sizeof(message), (size_t)n);
    e->code = code;
    memcpy(e->message, message, strlen(message) + 1);
    if (len >= sizeof(e->path))
        len = hv_utf8_trim_partial(path, sizeof(e->path) - 1);
    if (len)
        memmove(e->path, path, len);
    e->path[len] = '\0';
    return code;
}

int hv_error_set(int code, const char *path, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(code, path, fmt, ap);
    va_end(ap);
    return code;
}

int hv_error_report(int code, const char *path, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(code < 0 ? code : HV_E_INTERNAL, path, fmt, ap);
    va_end(ap);
    return code < 0 ? code : HV_E_INTERNAL;
}

int hv_error_set_errno(int code, int errnum, const char *path, const char *fmt, ...)
{
    va_list ap;
    char errbuf[128];
    const char *errtext;
    size_t len;

    va_start(ap, fmt);
    error_setv(code, path, fmt, ap);
    va_end(ap);
    errtext = strerror_r(errnum, errbuf, sizeof(errbuf));
    len = strlen(thread_error.message);
    end_whole(thread_error.message, sizeof(thread_error.message),
              len + (size_t)snprintf(thread_error.message + len, sizeof(thread_error.message) - len,
                                     ": %s", errtext));
    return code;
}

int hv_error_nomem(void)
{
    return hv_error_set(HV_E_NOMEM, NULL, "out of memory: free memory or lower the request");
}

int hv_error_null_arg(const char *func, const char *arg)
{
    return hv_error_set(HV_E_INVAL, NULL, "%s: argument '%s' must not be NULL", func, arg);
}

int hv_options_check(const void *opts, unsigned int max_version, bool allow_null, const char *func,
                     const char *arg)
{
    unsigned int version;

    if (!opts) {
        if (allow_null)
            return 0;
        return hv_error_null_arg(func, arg);
    }
    memcpy(&version, opts, sizeof(version));
    if (version == 0)
        return hv_error_set(HV_E_INVAL, NULL,
                            "%s: '%s' has version 0: initialize it with its *_init() function "
                            "or *_INIT macro",
                            func, arg);
    if (version > max_version)
        return hv_error_set(HV_E_INVAL, NULL,
                            "%s: '%s' has version %u but this library knows versions up to %u: "
                            "the program was built against newer hpcvirt headers than the "
                            "library it runs with",
                            func, arg, version, max_version);
    return 0;
}

int hv_options_init(void *opts, size_t size, unsigned int version, unsigned int max_version,
                    const char *func)
{
    if (!opts)
        return hv_error_null_arg(func, "opts");
    if (version == 0 || version > max_version)
        return hv_error_set(HV_E_INVAL, NULL, "%s: version %u is not supported (1..%u)", func,
                            version, max_version);
    memset(opts, 0, size);
    memcpy(opts, &version, sizeof(version));
    return 0;
}

const hv_error *hv_error_last(void)
{
    return &thread_error;
}

void hv_error_clear(void)
{
    thread_error.code = HV_OK;
    snprintf(thread_error.message, sizeof(thread_error.message), "no error");
    thread_error.path[0] = '\0';
}

int hv_error_code_of(const hv_error *err)
{
    return err ? err->code : HV_OK;
}

const char *hv_error_message(const hv_error *err)
{
    return err ? err->message : "no error";
}

const char *hv_error_path(const hv_error *err)
{
    return err ? err->path : "";
}

static const struct {
    int code;
    const char *name;
    const char *text;
} error_table[] = {
    {HV_OK, "HV_OK", "success"},
    {HV_E_INVAL, "HV_E_INVAL", "invalid argument"},
    {HV_E_NOMEM, "HV_E_NOMEM", "out of memory"},
    {HV_E_IO, "HV_E_IO", "input/output error"},
    {HV_E_PARSE, "HV_E_PARSE", "malformed input"},
    {HV_E_SPEC, "HV_E_SPEC", "invalid VM spec"},
    {HV_E_PLAN, "HV_E_PLAN", "plan has errors"},
    {HV_E_UNSUPPORTED, "HV_E_UNSUPPORTED", "operation not supported"},
    {HV_E_NOTFOUND, "HV_E_NOTFOUND", "not found"},
    {HV_E_EXISTS, "HV_E_EXISTS", "already exists"},
    {HV_E_STATE, "HV_E_STATE", "wrong state for this operation"},
    {HV_E_BACKEND, "HV_E_BACKEND", "backend failure"},
    {HV_E_NOKVM, "HV_E_NOKVM", "KVM not available"},
    {HV_E_GUEST, "HV_E_GUEST", "guest error"},
    {HV_E_SNAPSHOT, "HV_E_SNAPSHOT", "bad snapshot"},
    {HV_E_MIGRATION, "HV_E_MIGRATION", "migration failed"},
    {HV_E_TIMEOUT, "HV_E_TIMEOUT", "timed out"},
    {HV_E_PERM, "HV_E_PERM", "permission denied"},
    {HV_E_RANGE, "HV_E_RANGE", "value out of range"},
    {HV_E_IMAGE, "HV_E_IMAGE", "bad container image"},
    {HV_E_INTERNAL, "HV_E_INTERNAL", "internal error"},
};

const char *hv_strerror(int code)
{
    for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
        if (error_table[i].code == code)
            return error_table[i].text;
    return "unknown error code";
}

const char *hv_error_code_name(int code)
{
    for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
        if (error_table[i].code == code)
            return error_table[i].name;
    return "HV_E_UNKNOWN";
}

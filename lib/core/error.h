/*
 * core/error.h - setting the calling thread's last error (internal).
 *
 * Every failure path in the library goes through hv_error_set*() and returns
 * what it returns, so the code and the message can never disagree.
 */
#ifndef HV_CORE_ERROR_H
#define HV_CORE_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <hpcvirt/error.h>

/* Record an error for the calling thread and return `code`. `path` may be NULL. */
int hv_error_set(int code, const char *path, const char *fmt, ...) HV_PRINTF(3, 4);

/* Like hv_error_set() with ": <strerror(errnum)>" appended to the message. */
int hv_error_set_errno(int code, int errnum, const char *path, const char *fmt, ...)
    HV_PRINTF(4, 5);

/* The usual out-of-memory error. */
int hv_error_nomem(void);

/* A NULL or otherwise invalid argument: "FUNC: ARG must not be NULL"-style. */
int hv_error_null_arg(const char *func, const char *arg);

/*
 * Check a versioned options struct: NULL is accepted (defaults) when
 * `allow_null`; otherwise its first member must be 1..max_version.
 */
int hv_options_check(const void *opts, unsigned int max_version, bool allow_null, const char *func,
                     const char *arg);

/*
 * The body of every *_options_init(): check the pointer and the version,
 * zero the struct and stamp the version.
 */
int hv_options_init(void *opts, size_t size, unsigned int version, unsigned int max_version,
                    const char *func);

/* Macro for the common argument check at the top of a public function. */
#define HV_CHECK_ARG(expr, arg)                                                                    \
    do {                                                                                           \
        if (!(expr))                                                                               \
            return hv_error_null_arg(__func__, arg);                                               \
    } while (0)

#endif

/*
 * hpcvirt/error.h - error codes and the calling thread's last error.
 *
 * Every function that can fail returns an int: 0 on success, a negative
 * HV_E_* code on failure. The failing call also records, for the calling
 * thread only, a message that says what is wrong and what to do, and for
 * input problems the JSON-style path of the offending field
 * ("accelerators[2].bars"). The record stays until the next failure or
 * hv_error_clear() on that thread.
 */
#ifndef HPCVIRT_ERROR_H
#define HPCVIRT_ERROR_H

#include <hpcvirt/common.h>

HV_BEGIN_DECLS

/** Error codes. Values are part of the ABI and never change. */
typedef enum hv_error_code {
    HV_OK = 0,
    HV_E_INVAL = -1,       /**< invalid argument (NULL handle, bad options version, ...) */
    HV_E_NOMEM = -2,       /**< out of memory */
    HV_E_IO = -3,          /**< a system call or file operation failed */
    HV_E_PARSE = -4,       /**< malformed input text (sysfs file, JSON, XML) */
    HV_E_SPEC = -5,        /**< a VM spec is invalid; the path names the field */
    HV_E_PLAN = -6,        /**< a plan has errors and cannot be realized */
    HV_E_UNSUPPORTED = -7, /**< the operation is not supported here (backend, host) */
    HV_E_NOTFOUND = -8,    /**< a named object does not exist */
    HV_E_EXISTS = -9,      /**< an object with that name already exists */
    HV_E_STATE = -10,      /**< the object is in the wrong state for the operation */
    HV_E_BACKEND = -11,    /**< the backend failed; its own message is kept */
    HV_E_NOKVM = -12,      /**< /dev/kvm is missing or unusable */
    HV_E_GUEST = -13,      /**< the guest did something that ended the VM */
    HV_E_SNAPSHOT = -14,   /**< a snapshot file is truncated, corrupt or foreign */
    HV_E_MIGRATION = -15,  /**< live migration failed */
    HV_E_TIMEOUT = -16,    /**< a wait ran out of time */
    HV_E_PERM = -17,       /**< permission denied */
    HV_E_RANGE = -18,      /**< a value is out of range (overflow, too large) */
    HV_E_IMAGE = -19,      /**< a container image is malformed, corrupt, unsafe or foreign */
    HV_E_INTERNAL = -99    /**< a bug in hpcvirt: please report it */
} hv_error_code;

/** Opaque error record; owned by the library, valid until the thread's next error. */
typedef struct hv_error hv_error;

/**
 * The calling thread's last error. Never NULL: when no call failed since the
 * thread started or since hv_error_clear(), the record has code HV_OK.
 */
HV_EXTERN const hv_error *hv_error_last(void);

/** Forget the calling thread's last error. */
HV_EXTERN void hv_error_clear(void);

/** The code of an error record (HV_OK for NULL). */
HV_EXTERN int hv_error_code_of(const hv_error *err);

/** The message: what is wrong and what to do. Never NULL. */
HV_EXTERN const char *hv_error_message(const hv_error *err);

/**
 * The JSON-style path of the offending input field ("vnuma[1].memory"), or
 * the file and line for parse errors; "" when the error has no location.
 */
HV_EXTERN const char *hv_error_path(const hv_error *err);

/**
 * Record an error for the calling thread, as the library does: for backends
 * and plugins reporting failures. `code` is a negative HV_E_*, `path` the
 * input field or NULL. Returns `code`.
 */
HV_EXTERN int hv_error_report(int code, const char *path, const char *fmt, ...) HV_PRINTF(3, 4);

/** A short static description of an error code ("invalid argument"). */
HV_EXTERN const char *hv_strerror(int code);

/** The symbolic name of an error code ("HV_E_INVAL"). */
HV_EXTERN const char *hv_error_code_name(int code);

HV_END_DECLS

#endif /* HPCVIRT_ERROR_H */

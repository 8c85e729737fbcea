/*
 * hpcvirt/common.h - export and C++ linkage macros, the library-owned memory
 * release function. Every other public header includes this one.
 */
#ifndef HPCVIRT_COMMON_H
#define HPCVIRT_COMMON_H

/*
 * HV_CDEF is defined only when the Python bindings preprocess the headers to
 * feed cffi: cffi knows the standard integer types and cannot parse system
 * headers, so they are left out then.
 */
#ifndef HV_CDEF
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#if defined(HV_CDEF)
#define HV_EXTERN
#elif defined(HPCVIRT_BUILDING_LIBRARY)
#define HV_EXTERN __attribute__((visibility("default")))
#else
#define HV_EXTERN
#endif

#if defined(__GNUC__) && !defined(HV_CDEF)
#define HV_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define HV_PRINTF(fmt_index, first_arg)
#endif

/* A name kept for one release after it was replaced: using it warns, naming the new one. */
#if defined(__GNUC__) && !defined(HV_CDEF)
#define HV_DEPRECATED(message) __attribute__((deprecated(message)))
#else
#define HV_DEPRECATED(message)
#endif

#ifdef __cplusplus
#define HV_BEGIN_DECLS extern "C" {
#define HV_END_DECLS   }
#else
#define HV_BEGIN_DECLS
#define HV_END_DECLS
#endif

HV_BEGIN_DECLS

/** Flags for the *_to_json() functions. */
typedef enum hv_json_flags {
    HV_JSON_COMPACT = 0, /**< one line */
    HV_JSON_PRETTY = 1   /**< indented with two spaces, one member per line */
} hv_json_flags;

/**
 * Release memory the library handed to the caller (strings from the
 * `*_to_json()` and `*_to_xml()` functions, arrays documented as caller-owned).
 * NULL is ignored.
 */
HV_EXTERN void hv_free(void *ptr);

HV_END_DECLS

#endif /* HPCVIRT_COMMON_H */

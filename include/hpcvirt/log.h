/*
 * hpcvirt/log.h - the log hook. The library never prints: it hands log
 * records to the application's handler, if one is set, and drops them
 * otherwise.
 */
#ifndef HPCVIRT_LOG_H
#define HPCVIRT_LOG_H

#include <hpcvirt/common.h>

HV_BEGIN_DECLS

typedef enum hv_log_level {
    HV_LOG_ERROR = 1,
    HV_LOG_WARNING = 2,
    HV_LOG_INFO = 3,
    HV_LOG_DEBUG = 4
} hv_log_level;

/**
 * A log handler. `message` has no trailing newline and is valid only during
 * the call. A finding logged (one no caller can be handed, as the libvirt
 * backend's hv_vm_create() makes: hpcvirt/libvirt.h) comes at its
 * severity's level and reads "CODE (at PATH): MESSAGE". Handlers may be
 * called from any thread the library runs (vCPU threads, migration threads)
 * and must not call back into hpcvirt.
 */
typedef void (*hv_log_handler)(int level, const char *domain, const char *message, void *userdata);

/**
 * Install a process-wide log handler (NULL removes it) that receives records
 * at `max_level` and more severe. Thread-safe. Returns 0, or HV_E_INVAL for a
 * level outside HV_LOG_ERROR..HV_LOG_DEBUG.
 */
HV_EXTERN int hv_set_log_handler(hv_log_handler handler, int max_level, void *userdata);

HV_END_DECLS

#endif /* HPCVIRT_LOG_H */

/*
 * core/log.h - emitting log records to the application's handler (internal).
 */
#ifndef HV_CORE_LOG_H
#define HV_CORE_LOG_H

#include <hpcvirt/log.h>

void hv_log(int level, const char *domain, const char *fmt, ...) HV_PRINTF(3, 4);

#define hv_log_debug(domain, ...)   hv_log(HV_LOG_DEBUG, domain, __VA_ARGS__)
#define hv_log_info(domain, ...)    hv_log(HV_LOG_INFO, domain, __VA_ARGS__)
#define hv_log_warning(domain, ...) hv_log(HV_LOG_WARNING, domain, __VA_ARGS__)

#endif

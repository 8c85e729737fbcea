/*
 * core/log.c - the process-wide log handler (one of the library's two pieces
 * of global state besides the backend registry; guarded by a mutex).
 * Without a handler, records are dropped: the library never prints.
 */
#include "core/log.h"
#include "core/error.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static hv_log_handler log_handler;
static int log_max_level;
static void *log_userdata;

int hv_set_log_handler(hv_log_handler handler, int max_level, void *userdata)
{
    if (max_level < HV_LOG_ERROR || max_level > HV_LOG_DEBUG)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_set_log_handler: max_level %d is not a log level: use "
                            "HV_LOG_ERROR (1) .. HV_LOG_DEBUG (4)",
                            max_level);
    pthread_mutex_lock(&log_lock);
    log_handler = handler;
    log_max_level = max_level;
    log_userdata = userdata;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void hv_log(int level, const char *domain, const char *fmt, ...)
{
    hv_log_handler handler;
    void *userdata;
    char message[1024];
    va_list ap;

    pthread_mutex_lock(&log_lock);
    handler = level <= log_max_level ? log_handler : NULL;
    userdata = log_userdata;
    pthread_mutex_unlock(&log_lock);
    if (!handler)
        return;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    handler(level, domain, message, userdata);
}

/*
 * core/clock.c - the monotonic clock and condition-variable deadlines
 * (core/clock.h).
 */
#include "core/clock.h"

#define NS_PER_SECOND 1000000000L

uint64_t hv_clock_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SECOND + (uint64_t)ts.tv_nsec;
}

void hv_clock_deadline_ms(struct timespec *deadline, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, deadline);
    if (ms <= 0)
        return;
    deadline->tv_sec += (time_t)(ms / 1000);
    deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline->tv_nsec >= NS_PER_SECOND) {
        deadline->tv_sec++;
        deadline->tv_nsec -= NS_PER_SECOND;
    }
}

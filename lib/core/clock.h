/*
 * core/clock.h - time for the layers above (internal): a monotonic clock
 * for durations and statistics, and the absolute deadlines that
 * pthread_cond_timedwait() takes.
 */
#ifndef HV_CORE_CLOCK_H
#define HV_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on CLOCK_MONOTONIC: for durations, never for dates. */
uint64_t hv_clock_monotonic_ns(void);

/* CLOCK_REALTIME now plus `ms` milliseconds (>= 0), as pthread_cond_timedwait() wants. */
void hv_clock_deadline_ms(struct timespec *deadline, int64_t ms);

#endif

#include <stdio.h>
#include <time.h>

#include "clock_internal.h"
#include "vc/clock.h"
#include "vc/error.h"

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t vc_clock_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

int64_t vc_clock_mono_ms(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t vc_clock_wall_ms(void)
{
    return clock_ns(CLOCK_REALTIME) / 1000000;
}

/* Formats wall_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ". Timestamps before 1970 are floored so the
 * millisecond part stays in 0..999. */
void vc_clock_format_rfc3339(int64_t wall_ms, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return;
    int64_t sec = wall_ms / 1000;
    int64_t ms = wall_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}

int vc_clock__cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    int rc = VC_ENOMEM;
    if (pthread_condattr_init(&attr) != 0)
        return VC_ENOMEM;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0)
        goto fail;
    if (pthread_cond_init(cv, &attr) != 0)
        goto fail;
    rc = 0;
fail:
    pthread_condattr_destroy(&attr);
    return rc;
}

void vc_clock__deadline(struct timespec *ts, int64_t timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(timeout_ms / 1000);
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
}

#ifndef VC_BREAKER_H
#define VC_BREAKER_H
/* A circuit breaker around a remote dependency (Redis, PostgreSQL).
 *
 *   closed ──(N consecutive failures, or failure rate ≥ R over the last W calls)──► open
 *   open ──(cool-down elapsed)──► half-open: exactly one probe call is let through
 *   half-open ──probe succeeds──► closed      half-open ──probe fails──► open (new cool-down)
 *
 * A caller asks vc_breaker_allow() before the remote call and reports the outcome with
 * vc_breaker_record(). While open, allow() refuses at once, so an outage costs a caller
 * nothing instead of a full timeout. A probe whose outcome is never recorded (the caller
 * skipped the call) is forgotten after one cool-down, so the breaker never sticks half-open.
 *
 * Time comes from opts.now_ms (monotonic milliseconds; default vc_clock_mono_ms), so tests
 * drive it without sleeping. Every function is safe from any thread (one mutex inside).
 * Pick a cool-down longer than the call's timeout: a late outcome of a call allowed before
 * the breaker opened is then never mistaken for the probe's. */
#include <stdint.h>

typedef struct vc_breaker vc_breaker_t;

typedef enum {
    VC_BREAKER_CLOSED = 0,
    VC_BREAKER_OPEN = 1,
    VC_BREAKER_HALF_OPEN = 2
} vc_breaker_state_t;

typedef struct {
    const char *name;                      /* shown in log lines (copied; NULL = "breaker") */
    int failure_threshold;                 /* consecutive failures that open it (>= 1) */
    double failure_rate;                   /* also open when failures/calls >= this over the last */
    int rate_window;                       /*   rate_window calls (1..64), once at least */
    int rate_min_calls;                    /*   rate_min_calls were seen; failure_rate 0 disables */
    int64_t open_ms;                       /* cool-down before the half-open probe (>= 1) */
    int64_t (*now_ms)(void *clock_opaque); /* NULL = vc_clock_mono_ms */
    void *clock_opaque;
} vc_breaker_opts_t;

/* Counters for metrics and /health. */
typedef struct {
    vc_breaker_state_t state;
    int consecutive_failures;
    uint64_t opened;   /* closed/half-open → open transitions */
    uint64_t rejected; /* allow() calls refused */
    uint64_t successes, failures;
    int64_t retry_in_ms; /* open: ms until a probe is let through; else 0 */
} vc_breaker_stats_t;

/* Fills opts with the defaults: 5 consecutive failures, rate off, 5 s cool-down. */
void vc_breaker_opts_default(vc_breaker_opts_t *opts);

/* Creates a closed breaker. opts is copied. Returns 0, VC_EINVAL (a field out of range) or
 * VC_ENOMEM; caller frees with vc_breaker_free. */
int vc_breaker_new(const vc_breaker_opts_t *opts, vc_breaker_t **out);
void vc_breaker_free(vc_breaker_t *br);

/* Asks to make one call. Returns 0 (go ahead; report the outcome with vc_breaker_record) or
 * VC_EUNAVAIL (open, or half-open with the probe already out: do not call). */
int vc_breaker_allow(vc_breaker_t *br);

/* Reports the outcome of an allowed call: success != 0 for success. */
void vc_breaker_record(vc_breaker_t *br, int success);

/* Current state (an open breaker whose cool-down has passed reads as half-open). */
vc_breaker_state_t vc_breaker_state(vc_breaker_t *br);
void vc_breaker_stats(vc_breaker_t *br, vc_breaker_stats_t *out);
/* "closed", "open" or "half_open". */
const char *vc_breaker_state_name(vc_breaker_state_t state);

#endif

/* Circuit breaker: a three-state machine under one mutex. The failure-rate window is a ring
 * of the last rate_window outcomes kept as bits of one uint64_t. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/log.h"

struct vc_breaker {
    pthread_mutex_t mu;
    vc_breaker_opts_t opts;
    char name[64];
    vc_breaker_state_t state; /* stored state; OPEN past its cool-down reads as half-open */
    int consecutive;          /* consecutive failures while closed */
    int64_t opened_at;        /* OPEN: when it opened */
    int probe_out;            /* HALF_OPEN: a probe was let through */
    int64_t probe_at;         /* when that probe was let through */
    uint64_t ring;            /* outcome bits, 1 = failure */
    int ring_pos, ring_len;
    vc_breaker_stats_t stats;
};

static int64_t default_now(void *opaque)
{
    (void)opaque;
    return vc_clock_mono_ms();
}

void vc_breaker_opts_default(vc_breaker_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->name = "breaker";
    o->failure_threshold = 5;
    o->failure_rate = 0;
    o->rate_window = 20;
    o->rate_min_calls = 10;
    o->open_ms = 5000;
}

int vc_breaker_new(const vc_breaker_opts_t *o, vc_breaker_t **out)
{
    if (o->failure_threshold < 1 || o->open_ms < 1 || o->failure_rate < 0 || o->failure_rate > 1)
        return VC_EINVAL;
    if (o->failure_rate > 0 && (o->rate_window < 1 || o->rate_window > 64 ||
                                o->rate_min_calls < 1 || o->rate_min_calls > o->rate_window))
        return VC_EINVAL;
    vc_breaker_t *br = calloc(1, sizeof(*br));
    if (br == NULL)
        return VC_ENOMEM;
    if (pthread_mutex_init(&br->mu, NULL) != 0) {
        free(br);
        return VC_ENOMEM;
    }
    br->opts = *o;
    if (br->opts.now_ms == NULL)
        br->opts.now_ms = default_now;
    const char *name = o->name != NULL ? o->name : "breaker";
    size_t n = strlen(name);
    if (n >= sizeof(br->name))
        n = sizeof(br->name) - 1;
    memcpy(br->name, name, n);
    br->name[n] = '\0';
    br->opts.name = br->name;
    br->state = VC_BREAKER_CLOSED;
    *out = br;
    return 0;
}

void vc_breaker_free(vc_breaker_t *br)
{
    if (br == NULL)
        return;
    pthread_mutex_destroy(&br->mu);
    free(br);
}

/* Moves to OPEN at now. @locks br->mu held. */
static void trip(vc_breaker_t *br, int64_t now, const char *why)
{
    if (br->state != VC_BREAKER_OPEN)
        br->stats.opened++;
    br->state = VC_BREAKER_OPEN;
    br->opened_at = now;
    br->probe_out = 0;
    VC_WARN("breaker.open", "breaker=%s reason=%s cooldown_ms=%lld", br->name, why,
            (long long)br->opts.open_ms);
}

/* Applies the passage of time: OPEN past its cool-down becomes HALF_OPEN; a probe that was
 * never reported is forgotten after one cool-down. @locks br->mu held. */
static void advance(vc_breaker_t *br, int64_t now)
{
    if (br->state == VC_BREAKER_OPEN && now - br->opened_at >= br->opts.open_ms) {
        br->state = VC_BREAKER_HALF_OPEN;
        br->probe_out = 0;
    }
    if (br->state == VC_BREAKER_HALF_OPEN && br->probe_out &&
        now - br->probe_at >= br->opts.open_ms)
        br->probe_out = 0;
}

int vc_breaker_allow(vc_breaker_t *br)
{
    int64_t now = br->opts.now_ms(br->opts.clock_opaque);
    int rc = 0;
    pthread_mutex_lock(&br->mu);
    advance(br, now);
    if (br->state == VC_BREAKER_OPEN) {
        rc = VC_EUNAVAIL;
    } else if (br->state == VC_BREAKER_HALF_OPEN) {
        if (br->probe_out) {
            rc = VC_EUNAVAIL;
        } else {
            br->probe_out = 1;
            br->probe_at = now;
        }
    }
    if (rc != 0)
        br->stats.rejected++;
    pthread_mutex_unlock(&br->mu);
    return rc;
}

/* Pushes one outcome into the rate ring and says whether the rate threshold is reached.
 * @locks br->mu held. */
static int rate_exceeded(vc_breaker_t *br, int failed)
{
    if (br->opts.failure_rate <= 0)
        return 0;
    uint64_t bit = (uint64_t)1 << br->ring_pos;
    if (failed)
        br->ring |= bit;
    else
        br->ring &= ~bit;
    br->ring_pos = (br->ring_pos + 1) % br->opts.rate_window;
    if (br->ring_len < br->opts.rate_window)
        br->ring_len++;
    if (br->ring_len < br->opts.rate_min_calls)
        return 0;
    int fails = __builtin_popcountll(br->ring);
    return (double)fails >= br->opts.failure_rate * (double)br->ring_len;
}

static void reset_counts(vc_breaker_t *br)
{
    br->consecutive = 0;
    br->ring = 0;
    br->ring_pos = 0;
    br->ring_len = 0;
}

void vc_breaker_record(vc_breaker_t *br, int success)
{
    int64_t now = br->opts.now_ms(br->opts.clock_opaque);
    pthread_mutex_lock(&br->mu);
    advance(br, now);
    if (success)
        br->stats.successes++;
    else
        br->stats.failures++;
    switch (br->state) {
    case VC_BREAKER_CLOSED:
        br->consecutive = success ? 0 : br->consecutive + 1;
        if (rate_exceeded(br, !success)) {
            reset_counts(br);
            trip(br, now, "failure_rate");
        } else if (br->consecutive >= br->opts.failure_threshold) {
            reset_counts(br);
            trip(br, now, "consecutive_failures");
        }
        break;
    case VC_BREAKER_HALF_OPEN:
        if (!br->probe_out)
            break; /* a late outcome from before the breaker opened: not the probe's */
        if (success) {
            br->state = VC_BREAKER_CLOSED;
            br->probe_out = 0;
            reset_counts(br);
            VC_INFO("breaker.closed", "breaker=%s", br->name);
        } else {
            trip(br, now, "probe_failed");
        }
        break;
    case VC_BREAKER_OPEN:
        break; /* outcomes of calls allowed before it opened change nothing */
    }
    pthread_mutex_unlock(&br->mu);
}

vc_breaker_state_t vc_breaker_state(vc_breaker_t *br)
{
    int64_t now = br->opts.now_ms(br->opts.clock_opaque);
    pthread_mutex_lock(&br->mu);
    advance(br, now);
    vc_breaker_state_t st = br->state;
    pthread_mutex_unlock(&br->mu);
    return st;
}

void vc_breaker_stats(vc_breaker_t *br, vc_breaker_stats_t *out)
{
    int64_t now = br->opts.now_ms(br->opts.clock_opaque);
    pthread_mutex_lock(&br->mu);
    advance(br, now);
    *out = br->stats;
    out->state = br->state;
    out->consecutive_failures = br->consecutive;
    out->retry_in_ms = br->state == VC_BREAKER_OPEN ? br->opened_at + br->opts.open_ms - now : 0;
    pthread_mutex_unlock(&br->mu);
}

const char *vc_breaker_state_name(vc_breaker_state_t st)
{
    switch (st) {
    case VC_BREAKER_CLOSED:
        return "closed";
    case VC_BREAKER_OPEN:
        return "open";
    case VC_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

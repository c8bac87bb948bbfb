/* Open-/closed-loop arrival schedule (see sched.h). */
#include "sched.h"

#include <math.h>

void vc_sched_init(vc_sched_t *s, double rate, uint64_t total, double duration_s,
                   int64_t now_ns)
{
    s->rate = rate > 0.0 ? rate : 0.0;
    s->total = total;
    s->t0_ns = now_ns;
    s->end_ns = duration_s > 0.0 ? now_ns + (int64_t)llround(duration_s * 1e9) : INT64_MAX;
    s->issued = 0;
    s->stopped = 0;
}

void vc_sched_stop(vc_sched_t *s)
{
    s->stopped = 1;
}

/* Arrival time of operation i in open loop. */
static int64_t arrival(const vc_sched_t *s, uint64_t i)
{
    return s->t0_ns + (int64_t)llround((double)i * 1e9 / s->rate);
}

int64_t vc_sched_next_ns(const vc_sched_t *s)
{
    if (s->stopped || s->rate <= 0.0 || (s->total > 0 && s->issued >= s->total))
        return INT64_MAX;
    int64_t t = arrival(s, s->issued);
    return t < s->end_ns ? t : INT64_MAX;
}

int vc_sched_done(const vc_sched_t *s, int64_t now_ns)
{
    if (s->stopped || (s->total > 0 && s->issued >= s->total))
        return 1;
    if (s->rate <= 0.0)
        return now_ns >= s->end_ns;
    return vc_sched_next_ns(s) == INT64_MAX;
}

int vc_sched_take(vc_sched_t *s, int64_t now_ns, int64_t *intended_ns)
{
    if (s->stopped || (s->total > 0 && s->issued >= s->total))
        return 0;
    if (s->rate <= 0.0) {
        if (now_ns >= s->end_ns)
            return 0;
        *intended_ns = now_ns;
        s->issued++;
        return 1;
    }
    int64_t t = vc_sched_next_ns(s);
    if (t == INT64_MAX || t > now_ns)
        return 0;
    *intended_ns = t;
    s->issued++;
    return 1;
}

uint64_t vc_sched_backlog(const vc_sched_t *s, int64_t now_ns)
{
    if (s->stopped || s->rate <= 0.0 || now_ns < s->t0_ns)
        return 0;
    int64_t until = now_ns < s->end_ns ? now_ns : s->end_ns - 1;
    double due = floor((double)(until - s->t0_ns) * s->rate / 1e9) + 1.0;
    if (s->total > 0 && due > (double)s->total)
        due = (double)s->total;
    return due > (double)s->issued ? (uint64_t)(due - (double)s->issued) : 0;
}

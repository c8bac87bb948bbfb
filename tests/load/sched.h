#ifndef VC_LOAD_SCHED_H
#define VC_LOAD_SCHED_H
/* Arrival schedule of the load tool.
 *
 * Open loop (rate > 0): operation i is due at t0 + i / rate, whatever happened to the ones
 * before it. Its latency is measured from that intended time, so a stalled server cannot hide
 * its stall by slowing the client down (no coordinated omission, as in wrk2).
 * Closed loop (rate == 0): an operation is due whenever a client slot is free; its latency is
 * measured from when it was sent.
 *
 * Either way the schedule ends after `total` operations (0: unbounded) or at t0 + duration
 * (0: unbounded); one of the two must be set. Plain value type, owned by one thread. */
#include <stdint.h>

typedef struct {
    double rate;          /* operations per second; 0 = closed loop */
    uint64_t total;       /* operations to issue; 0 = no count bound */
    int64_t t0_ns;        /* start (monotonic) */
    int64_t end_ns;       /* no operation is issued at or after this; INT64_MAX = none */
    uint64_t issued;      /* operations handed out so far */
    int stopped;          /* vc_sched_stop was called: nothing more is issued */
} vc_sched_t;

/* Starts a schedule at now_ns. duration_s <= 0 means no time bound. */
void vc_sched_init(vc_sched_t *s, double rate, uint64_t total, double duration_s,
                   int64_t now_ns);

/* Returns 1 and sets *intended_ns when another operation may start at now_ns: in open loop
 * when its arrival time has come, in closed loop always (the caller only asks with a free
 * slot). The operation counts as issued. Returns 0 when none is due yet or the schedule is
 * over. */
int vc_sched_take(vc_sched_t *s, int64_t now_ns, int64_t *intended_ns);

/* 1 when no further operation will ever be issued at or after now_ns. */
int vc_sched_done(const vc_sched_t *s, int64_t now_ns);

/* Ends the schedule early: no further operation is issued (those already due included). */
void vc_sched_stop(vc_sched_t *s);

/* Open loop: the arrival time of the next operation (may be in the past: a backlog).
 * Closed loop or finished: INT64_MAX. */
int64_t vc_sched_next_ns(const vc_sched_t *s);

/* Operations whose arrival time has passed but that have not been taken yet. */
uint64_t vc_sched_backlog(const vc_sched_t *s, int64_t now_ns);

#endif

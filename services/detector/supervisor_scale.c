/* The supervisor's autoscaler and metric publisher.
 *
 * Autoscaling: worker slots 1..target run, the rest are parked. Every DETECTOR_SCALE_INTERVAL
 * the main thread sums the consumer lag the workers reported in their last status beats and
 * samples the host's CPU. Lag above DETECTOR_SCALE_UP_LAG with CPU headroom starts the next
 * parked slot (one per interval: a new member triggers a rebalance, and the group needs a
 * moment to settle before the lag says anything again: no decision within
 * DETECTOR_SCALE_COOLDOWN of a change, nor while no worker holds a partition). Three calm
 * intervals in a row (lag at
 * most DETECTOR_SCALE_DOWN_LAG, CPU below DETECTOR_SCALE_DOWN_CPU) park the highest slot with
 * SIGTERM, so it drains and commits like any stopping worker. More workers than assigned
 * partitions would sit idle; the lag they would have drained stays with the others, so the
 * loop does not run away: at most PROCESS_POOL_SIZE.
 *
 * Publishing: a thread writes the supervisor's snapshot to Redis once a second with a TTL,
 * apart from the main loop, so a slow Redis never delays a restart. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "supervisor.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/snapshots.h"

#define CALM_ROUNDS 3
#define SNAPSHOT_TTL_S 10

void supervisor_scale_init(supervisor_t *s)
{
    s->target = (int)s->cfg.min_processes;
    s->lag_total = -1;
    for (long long i = 0; i < s->cfg.processes; i++)
        s->workers[i].retired = i >= s->target;
}

/* Sum of the lag the running workers last reported over the partitions they hold; -1 when
 * unknown: no beat yet, or no worker holds a partition (a rebalance in progress revokes them
 * all, and "no partitions, no lag" must not read as a calm group). */
static long long reported_lag(supervisor_t *s)
{
    long long lag = 0, partitions = 0;
    pthread_mutex_lock(&s->lock);
    for (long long i = 0; i < s->cfg.processes; i++) {
        const sup_worker_t *w = &s->workers[i];
        json_t *o = w->pid > 0 && w->status != NULL ? json_loads(w->status, 0, NULL) : NULL;
        json_t *v = json_object_get(o, "lag_total");
        long long held = json_integer_value(json_object_get(o, "partitions"));
        if (held > 0 && json_is_integer(v) && json_integer_value(v) >= 0) {
            lag += json_integer_value(v);
            partitions += held;
        }
        json_decref(o);
    }
    pthread_mutex_unlock(&s->lock);
    return partitions > 0 ? lag : -1;
}

static void scale_up(supervisor_t *s, long long lag, double cpu,
                     int (*spawn)(supervisor_t *, sup_worker_t *))
{
    sup_worker_t *w = &s->workers[s->target];
    s->settle_until_ms = vc_clock_mono_ms() + s->cfg.scale_cooldown_ms;
    pthread_mutex_lock(&s->lock);
    w->retired = 0;
    w->consecutive_crashes = 0;
    s->target++;
    s->scale_ups++;
    pthread_mutex_unlock(&s->lock);
    VC_INFO("supervisor.scale_up", "worker=%d target=%d lag=%lld cpu_percent=%.0f", w->index,
            s->target, lag, cpu);
    if (w->pid == 0 && spawn(s, w) != 0)
        w->restart_at_ms = vc_clock_mono_ms() + 1000;
}

static void scale_down(supervisor_t *s, long long lag, double cpu)
{
    s->settle_until_ms = vc_clock_mono_ms() + s->cfg.scale_cooldown_ms;
    pthread_mutex_lock(&s->lock);
    s->target--;
    sup_worker_t *w = &s->workers[s->target];
    w->retired = 1;
    w->restart_at_ms = 0;
    s->scale_downs++;
    pid_t pid = w->pid;
    pthread_mutex_unlock(&s->lock);
    VC_INFO("supervisor.scale_down", "worker=%d target=%d lag=%lld cpu_percent=%.0f", w->index,
            s->target, lag, cpu);
    if (pid > 0)
        kill(pid, SIGTERM); /* drains, commits, leaves the group; reaped as a clean exit */
}

void supervisor_autoscale(supervisor_t *s, int64_t now,
                          int (*spawn)(supervisor_t *, sup_worker_t *))
{
    if (s->stopping || s->cfg.min_processes >= s->cfg.processes || now < s->next_scale_ms)
        return;
    s->next_scale_ms = now + s->cfg.scale_interval_ms;
    long long lag = reported_lag(s);
    vc_resources_t r;
    vc_resource_sample(s->sampler, &r);
    double cpu = r.system_cpu_percent;
    pthread_mutex_lock(&s->lock);
    s->lag_total = lag;
    pthread_mutex_unlock(&s->lock);
    if (lag < 0 || now < s->settle_until_ms) {
        s->calm_rounds = 0; /* joining, rebalancing or settling after a change: no decision */
        return;
    }
    /* A limit of 100 % disables the CPU condition (a busy host still gains from a process
     * when its lag comes from I/O waits rather than from analysis). */
    int cpu_room = s->cfg.scale_max_cpu >= 100 || cpu < (double)s->cfg.scale_max_cpu;
    int cpu_calm = s->cfg.scale_down_cpu >= 100 || cpu < (double)s->cfg.scale_down_cpu;
    if (lag > s->cfg.scale_up_lag && cpu_room && s->target < s->cfg.processes) {
        s->calm_rounds = 0;
        scale_up(s, lag, cpu, spawn);
        return;
    }
    int calm = lag <= s->cfg.scale_down_lag && cpu_calm;
    s->calm_rounds = calm ? s->calm_rounds + 1 : 0;
    if (s->calm_rounds >= CALM_ROUNDS && s->target > s->cfg.min_processes) {
        s->calm_rounds = 0;
        scale_down(s, lag, cpu);
    }
}

/* The snapshot the gateway aggregates. Takes s->lock. */
static json_t *snapshot(supervisor_t *s)
{
    int alive = 0;
    pthread_mutex_lock(&s->lock);
    for (long long i = 0; i < s->cfg.processes; i++)
        alive += s->workers[i].pid > 0;
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "service",
        "detector-supervisor", "instance", s->cfg.instance_id, "ts",
        (json_int_t)vc_clock_wall_ms(), "workers_configured", (json_int_t)s->cfg.processes,
        "workers_min", (json_int_t)s->cfg.min_processes, "workers_target", s->target,
        "workers_alive", alive, "crashes", (json_int_t)s->crashes, "restarts",
        (json_int_t)s->restarts, "stuck_kills", (json_int_t)s->stuck_kills, "scale_ups",
        (json_int_t)s->scale_ups, "scale_downs", (json_int_t)s->scale_downs, "lag_total",
        (json_int_t)s->lag_total);
    pthread_mutex_unlock(&s->lock);
    return o;
}

static void publish(supervisor_t *s)
{
    json_t *o = snapshot(s);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL)
        return;
    char err[200];
    if (vc_snapshot_publish(s->pub_redis, "detector-supervisor", s->cfg.instance_id, text,
                            strlen(text), SNAPSHOT_TTL_S, err, sizeof(err)) != 0)
        VC_DEBUG("supervisor.publish_failed", "error=\"%s\"", err);
    free(text);
}

static void *publisher_main(void *arg)
{
    supervisor_t *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        publish(s);
        pthread_mutex_lock(&s->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        if (!s->stopping)
            pthread_cond_timedwait(&s->publisher_wake, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int supervisor_publisher_start(supervisor_t *s, char *err, size_t errlen)
{
    vc_redis_opts_t ro = s->cfg.redis;
    ro.size = 1;
    ro.min_idle = 0; /* Redis may be down at start: the thread retries every second */
    int rc = vc_redis_pool_new(&ro, &s->pub_redis, err, errlen);
    if (rc == 0 && pthread_cond_init(&s->publisher_wake, NULL) != 0)
        rc = VC_ENOMEM;
    if (rc == 0 && pthread_create(&s->publisher, NULL, publisher_main, s) != 0) {
        pthread_cond_destroy(&s->publisher_wake);
        rc = VC_ENOMEM;
    }
    s->publisher_started = rc == 0;
    if (rc != 0) {
        vc_redis_pool_free(s->pub_redis);
        s->pub_redis = NULL;
    }
    return rc;
}

/* Call after s->stopping is set (under s->lock). */
void supervisor_publisher_stop(supervisor_t *s)
{
    if (s->publisher_started) {
        pthread_mutex_lock(&s->lock);
        pthread_cond_signal(&s->publisher_wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->publisher, NULL);
        pthread_cond_destroy(&s->publisher_wake);
        s->publisher_started = 0;
    }
    vc_redis_pool_free(s->pub_redis);
    s->pub_redis = NULL;
}

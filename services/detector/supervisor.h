#ifndef VC_DETECTOR_SUPERVISOR_H
#define VC_DETECTOR_SUPERVISOR_H
/* The vc-detector supervisor's state, shared by its main thread (supervisor.c: spawning,
 * reaping, restarting, status sockets) and the civetweb threads of its HTTP port
 * (supervisor_http.c: /health, /metrics), which only read it under `lock`. */
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "detector.h"

typedef struct {
    int index;               /* 1-based */
    pid_t pid;               /* 0 when not running */
    int fd;                  /* supervisor's end of the status socket, -1 when none */
    int64_t started_ms;      /* monotonic */
    int64_t restart_at_ms;   /* monotonic; 0 when no restart is pending */
    int64_t last_status_ms;  /* monotonic time of the last status beat (0: none yet) */
    int consecutive_crashes; /* reset when a worker lived long enough */
    int joined, partitions;  /* from the last beat */
    int64_t oldest_analysis_ms;
    int retired;             /* parked by the autoscaler: not running, not restarted */
    char *status;            /* the last beat's JSON text (malloc'd), NULL before the first */
} sup_worker_t;

typedef struct {
    detector_config_t cfg;
    sup_worker_t *workers;   /* cfg.processes entries */
    pthread_mutex_t lock;    /* guards workers[] and the counters for the HTTP threads */
    uint64_t crashes;        /* workers that died by a signal or a non-zero exit */
    uint64_t restarts;       /* workers started again after dying */
    uint64_t stuck_kills;    /* workers killed for a stuck analysis or a silent main loop */
    uint64_t stop_failures;  /* workers that did not exit 0 after SIGTERM */
    int stopping;
    /* Autoscaling (supervisor_scale.c; main thread writes, HTTP threads read under lock). */
    int target;              /* worker slots in use: min_processes..processes */
    uint64_t scale_ups, scale_downs;
    int64_t next_scale_ms;
    int calm_rounds;         /* consecutive evaluations that allowed scaling down */
    int64_t settle_until_ms; /* no decision before this (monotonic): the group settles */
    long long lag_total;     /* last evaluated consumer lag of all workers, -1 unknown */
    /* The metric snapshot publisher (supervisor_scale.c). */
    pthread_t publisher;
    int publisher_started;
    pthread_cond_t publisher_wake;
    vc_redis_pool_t *pub_redis;
    struct mg_context *http;
    vc_redis_pool_t *redis;  /* for /health's PING only */
    vc_pg_pool_t *pg;        /* for /health's SELECT 1 only */
    vc_resource_sampler_t *sampler;
} supervisor_t;

/* Autoscaling: target starts at DETECTOR_MIN_PROCESSES; supervisor_autoscale (main thread,
 * every loop turn; acts every DETECTOR_SCALE_INTERVAL) adds a worker while the consumer lag
 * exceeds DETECTOR_SCALE_UP_LAG and the host's CPU is below DETECTOR_SCALE_MAX_CPU, and parks
 * one (SIGTERM: it drains and commits) after three calm evaluations (lag at most
 * DETECTOR_SCALE_DOWN_LAG, CPU below DETECTOR_SCALE_DOWN_CPU). spawn starts a worker slot. */
void supervisor_scale_init(supervisor_t *s);
void supervisor_autoscale(supervisor_t *s, int64_t now, int (*spawn)(supervisor_t *,
                                                                      sup_worker_t *));

/* Publishes the supervisor's snapshot (workers, crashes, restarts, scaling) to Redis
 * vc:metrics:detector-supervisor:{instance} every second with a TTL, from its own thread, so
 * the gateway's /metrics shows it. Best effort; start returns 0 or VC_E* (then nothing runs). */
int supervisor_publisher_start(supervisor_t *s, char *err, size_t errlen);
void supervisor_publisher_stop(supervisor_t *s);

/* Starts civetweb on DETECTOR_HTTP_HOST:DETECTOR_HTTP_PORT with /health, /health/live and
 * /metrics (main thread, after every signal is blocked). Returns 0 or VC_EUNAVAIL/VC_ENOMEM
 * with err set. */
int supervisor_http_start(supervisor_t *s, char *err, size_t errlen);
/* Stops civetweb (joins its threads) and frees the check pools. */
void supervisor_http_stop(supervisor_t *s);

#endif

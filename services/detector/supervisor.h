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
    struct mg_context *http;
    vc_redis_pool_t *redis;  /* for /health's PING only */
    vc_pg_pool_t *pg;        /* for /health's SELECT 1 only */
    vc_resource_sampler_t *sampler;
} supervisor_t;

/* Starts civetweb on DETECTOR_HTTP_HOST:DETECTOR_HTTP_PORT with /health, /health/live and
 * /metrics (main thread, after every signal is blocked). Returns 0 or VC_EUNAVAIL/VC_ENOMEM
 * with err set. */
int supervisor_http_start(supervisor_t *s, char *err, size_t errlen);
/* Stops civetweb (joins its threads) and frees the check pools. */
void supervisor_http_stop(supervisor_t *s);

#endif

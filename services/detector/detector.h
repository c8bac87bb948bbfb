#ifndef VC_DETECTOR_H
#define VC_DETECTOR_H
/* vc-detector: a consumer-group member that analyses detection requests.
 *
 * Threads: the main thread owns the consumer, the offset tracker and the pause state (the
 * actor); pool threads run jobs (decode, analyse, persist) and post each finished job back to
 * the main thread through `done`, which alone stores offsets. */
#include <signal.h>
#include <stdatomic.h>

#include "vc/consumer.h"
#include "vc/detect.h"
#include "vc/log.h"
#include "vc/metrics.h"
#include "vc/mq.h"
#include "vc/offtrack.h"
#include "vc/pg.h"
#include "vc/queue.h"
#include "vc/redis.h"
#include "vc/resources.h"
#include "vc/threadpool.h"

typedef struct {
    vc_kafka_config_t kafka;
    vc_redis_opts_t redis;
    vc_pg_opts_t pg;
    const char *group_id;    /* KAFKA_GROUP_ID=vc-detectors */
    char instance_id[64];    /* INSTANCE_ID=<hostname>-<pid> */
    long long threads;       /* THREAD_POOL_SIZE=2×cores */
    long long max_inflight;  /* DETECTOR_MAX_INFLIGHT=32×threads: pause partitions beyond */
    long long max_inflight_bytes; /* DETECTOR_MAX_INFLIGHT_BYTES=256M: ... or beyond this */
    long long result_ttl_s;  /* RESULT_TTL_SECONDS=86400 */
    long long revoke_grace_ms; /* DETECTOR_REVOKE_GRACE=min(5s, session/2): finish on revoke */
    vc_log_level_t log_level;
    vc_audio_opts_t audio;   /* MAX_AUDIO_SECONDS=600, MAX_AUDIO_CHANNELS=8 */
} detector_config_t;

typedef struct {
    detector_config_t cfg;
    vc_consumer_t *consumer;
    vc_producer_t *producer;
    vc_redis_pool_t *redis;
    vc_pg_pool_t *pg;
    vc_threadpool_t *pool;
    vc_queue_t *done; /* job_t* finished by pool threads, consumed by the main thread */
    vc_offtrack_t *track;
    int paused;
    size_t inflight_bytes; /* payload bytes of messages begun and not retired */
    vc_metrics_t *metrics;
    vc_resource_sampler_t *sampler;
    int64_t metrics_published_ms;
    vc_counter_t *m_consumed;
    vc_counter_t *m_completed, *m_failed, *m_dlq, *m_store_retries;
    vc_histogram_t *m_latency;
} detector_t;

/* One message in flight. Owned by the pool thread while it runs, then by the main thread. */
typedef struct {
    detector_t *d;
    rd_kafka_message_t *msg;
    int committable; /* 1 when the message's effect is durable (result stored or dead-lettered) */
} job_t;

/* Set by SIGTERM/SIGINT; every loop and retry checks it. */
extern volatile sig_atomic_t detector_stopping;

/* Reads the environment; on error returns VC_EINVAL with err naming the variable. */
int detector_config_load(detector_config_t *cfg, char *err, size_t errlen);

/* Runs on a pool thread: processes job->msg and posts the job to d->done. */
void detector_job_run(void *arg);

/* The main thread's loop: poll, dispatch, retire finished jobs, pause/resume; returns when
 * detector_stopping is set, after draining in-flight work and committing what finished. */
void detector_consume_loop(detector_t *d);

/* Main thread: writes the metric snapshot to Redis, at most once a second. */
void detector_publish_metrics(detector_t *d);

/* Rebalance hook (main thread): forgets in-flight offsets of revoked partitions. */
void detector_on_rebalance(void *opaque, int assigned,
                           const rd_kafka_topic_partition_list_t *parts);

#endif

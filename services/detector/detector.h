#ifndef VC_DETECTOR_H
#define VC_DETECTOR_H
/* vc-detector: a supervisor process (supervisor.c) that runs PROCESS_POOL_SIZE worker
 * processes, each a consumer-group member that analyses detection requests.
 *
 * Worker threads: the main thread owns the consumer, the offset tracker and the pause state
 * (the actor); pool threads run jobs (decode, analyse, persist) and post each finished job back
 * to the main thread through `done`, which alone stores offsets. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "vc/breaker.h"
#include "vc/consumer.h"
#include "vc/detect.h"
#include "vc/detect_audio.h"
#include "vc/log.h"
#include "vc/metrics.h"
#include "vc/mq.h"
#include "vc/offtrack.h"
#include "vc/pg.h"
#include "vc/queue.h"
#include "vc/redis.h"
#include "vc/resources.h"
#include "vc/threadpool.h"
#include "vc/video.h"
#include "vc/wire.h"

typedef struct {
    vc_kafka_config_t kafka;
    vc_redis_opts_t redis;
    vc_pg_opts_t pg;
    const char *group_id;    /* KAFKA_GROUP_ID=vc-detectors */
    char instance_id[64];    /* INSTANCE_ID=<hostname>-<pid> */
    int static_membership;   /* DETECTOR_STATIC_MEMBERSHIP=0: each worker's group.instance.id
                                is its client id (<INSTANCE_ID>-w<N>), stable across restarts
                                when INSTANCE_ID is set */
    long long threads;       /* THREAD_POOL_SIZE=2×cores */
    long long max_inflight;  /* DETECTOR_MAX_INFLIGHT=32×threads: pause partitions beyond */
    long long max_inflight_bytes; /* DETECTOR_MAX_INFLIGHT_BYTES=256M: ... or beyond this */
    long long result_ttl_s;  /* RESULT_TTL_SECONDS=86400 */
    long long db_batch_rows; /* DETECTOR_DB_BATCH_ROWS=100: results per PostgreSQL transaction */
    long long db_batch_ms;   /* DETECTOR_DB_BATCH_MS=5ms: longest wait to fill a batch */
    long long revoke_grace_ms; /* DETECTOR_REVOKE_GRACE=min(5s, session/2): finish on revoke */
    vc_log_level_t log_level;
    vc_audio_opts_t audio;   /* MAX_AUDIO_SECONDS=600, MAX_AUDIO_CHANNELS=8 */
    const char *audio_model_path; /* AUDIO_MODEL_PATH=<the committed model> */
    double audio_genuine_below;   /* AUDIO_GENUINE_BELOW=0.35: fused score below: genuine */
    double audio_spoof_from;      /* AUDIO_SPOOF_FROM=0.65: at or above: spoof */
    vc_video_opts_t video;   /* MAX_VIDEO_SECONDS=120, MAX_VIDEO_WIDTH/HEIGHT=3840/2160,
                                MAX_VIDEO_FRAMES=1800, VIDEO_GENUINE_BELOW=0.35,
                                VIDEO_SPOOF_FROM=0.5; wall limit = DETECTION_DEADLINE */
    long long processes;     /* PROCESS_POOL_SIZE=cores: worker processes of a supervisor */
    long long min_processes; /* DETECTOR_MIN_PROCESSES=PROCESS_POOL_SIZE: autoscaling floor */
    long long scale_interval_ms; /* DETECTOR_SCALE_INTERVAL=10s */
    long long scale_cooldown_ms; /* DETECTOR_SCALE_COOLDOWN=30s: no decision this soon after one */
    long long scale_up_lag;  /* DETECTOR_SCALE_UP_LAG=100 messages: add a worker above */
    long long scale_down_lag; /* DETECTOR_SCALE_DOWN_LAG=0: park one at or below (when calm) */
    long long scale_max_cpu; /* DETECTOR_SCALE_MAX_CPU=90 %: no scale-up at or above (100: off) */
    long long scale_down_cpu; /* DETECTOR_SCALE_DOWN_CPU=50 %: no scale-down at or above (100: off) */
    const char *http_host;   /* DETECTOR_HTTP_HOST=127.0.0.1 */
    long long http_port;     /* DETECTOR_HTTP_PORT=0: /health + /metrics off */
    long long deadline_ms;   /* DETECTION_DEADLINE=60s: longer analyses fail */
    long long max_crashes;   /* DETECTOR_MAX_CRASHES=3: then the message is dead-lettered */
    long long permanent_attempts; /* DETECTOR_PERMANENT_ATTEMPTS=3: writes of a result that a
                                     store or the results topic refuses for good, then it is
                                     dead-lettered (PostgreSQL, Kafka) or skipped (Redis) */
    long long drain_timeout_ms; /* DETECTOR_DRAIN_TIMEOUT=30s: SIGTERM to SIGKILL of workers */
    long long warn_percent;  /* RESOURCE_WARN_PERCENT=80 */
    /* Test hooks, refused unless DETECTOR_TEST_HOOKS=1 (see docs/operations.md). */
    const char *crash_prefix;   /* DETECTOR_CRASH_ON_ID_PREFIX: abort() on matching ids */
    long long test_delay_ms;    /* DETECTOR_TEST_ANALYSIS_DELAY: sleep inside each analysis */
    /* Worker processes only (from the supervisor's command line). */
    int worker_index;        /* 1-based; 0 when not a worker */
    int status_fd;           /* SOCK_SEQPACKET to the supervisor, -1 when none */
} detector_config_t;

/* The fd a worker process inherits its status socket on. */
#define DETECTOR_STATUS_FD 3

typedef struct detector_sink detector_sink_t;

typedef struct {
    detector_config_t cfg;
    vc_consumer_t *consumer;
    vc_producer_t *producer;
    vc_redis_pool_t *redis;
    vc_pg_pool_t *pg;
    vc_threadpool_t *pool;
    detector_sink_t *sink; /* the writer thread that makes results durable (sink.c) */
    vc_audio_model_t *audio_model; /* loaded once, shared read-only by every pool thread */
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
    vc_counter_t *m_crash_dlq, *m_deadline;
    vc_counter_t *m_batches; /* result batches written; rows = completed + failed */
    vc_counter_t *m_refused; /* result writes refused for good, by PostgreSQL, Redis or Kafka */
    vc_counter_t *m_replays; /* results that lost to an earlier final result (replays) */
    vc_breaker_t *pg_breaker, *redis_breaker; /* around the result writes (job.c) */
    int joined;     /* main thread: the group has assigned us (possibly nothing) */
    int partitions; /* main thread: partitions currently assigned */
    int kafka_fatal; /* main thread: the producer hit a fatal error; the worker exits 1 */
    /* main thread: per partition, bumped each time it is assigned to or taken from this
     * worker. A job keeps its partition's generation from when it was dispatched; one that
     * finishes in a later generation must not move that partition's offsets (an entry with
     * its offset there belongs to another delivery). Partitions that stay assigned through
     * a cooperative rebalance keep their generation, so their work keeps its offsets. */
    uint64_t *part_gen;
    int part_gen_cap;
    /* Crash isolation gate (guard.c): messages that already interrupted a worker are
     * analysed alone, so a crash is blamed on them only. @locks gate_lock. */
    pthread_mutex_t gate_lock;
    pthread_cond_t gate_cond;
    int gate_shared, gate_waiting, gate_exclusive;
    /* Monotonic ms at which each pool thread's running analysis began (0 idle); the main
     * thread reports the oldest to the supervisor, which kills a stuck worker. */
    _Atomic int64_t *analysing_since;
    atomic_int next_slot;
    int gate_ready;
} detector_t;

/* One message in flight. Shared by the pool thread that runs it and the sink items of its
 * results (refs); the last to release it hands it to the main thread. */
typedef struct {
    detector_t *d;
    rd_kafka_message_t *msg;
    atomic_int refs;   /* the pool thread's own, plus one per result in the sink */
    atomic_int failed; /* some effect of the message did not become durable */
    int committable; /* 1 when the message's effect is durable (result stored or dead-lettered) */
    uint64_t generation; /* its partition's generation when it was dispatched */
    int delivery_attempt; /* deliveries of this message that began analysis, this one included */
    char crash_reason[160]; /* set: the message interrupted workers too often; not analysed */
} job_t;

/* The crash guard of one message (guard.c). */
typedef struct {
    char key[320];  /* vc:attempts:{group}:{topic}:{partition}:{offset} */
    int exclusive;  /* holds the gate alone */
    long long prior; /* earlier attempts that never finished (crashes, kills) */
} detector_guard_t;

/* Set by SIGTERM/SIGINT; every loop and retry checks it. */
extern volatile sig_atomic_t detector_stopping;

/* Reads the environment; on error returns VC_EINVAL with err naming the variable. */
int detector_config_load(detector_config_t *cfg, char *err, size_t errlen);

/* The supervisor: spawns and restarts workers, serves DETECTOR_HTTP_PORT, forwards SIGTERM.
 * Returns the process exit status. */
int detector_supervisor_main(const detector_config_t *cfg);

/* A worker process: runs one consumer-group member until SIGTERM. Returns the exit status. */
int detector_worker_main(detector_config_t *cfg, pid_t parent);

/* Pool thread: sleeps a jittered, exponentially growing retry pause (not synchronisation). */
void detector_backoff(int attempt);

/* Pool thread: counts an attempt of job's message in Redis and takes the crash gate (alone
 * when the message interrupted a worker before). Returns 0 with g->prior set, or VC_ECLOSED
 * when stopping before Redis answered. On 0 the caller must call detector_guard_leave. */
int detector_guard_enter(detector_t *d, const rd_kafka_message_t *m, detector_guard_t *g);
/* Pool thread: forgets the attempt (the message finished, for better or worse) and releases
 * the gate. keep != 0 leaves the count instead (until its TTL): a message dead-lettered for
 * crashing workers is then dead-lettered again at once if the group redelivers it (its offset
 * commit can be lost in a rebalance), instead of crashing max_crashes more workers. */
void detector_guard_leave(detector_t *d, detector_guard_t *g, int keep);
/* Pool thread: records `processing` for the detection (tenant, id) in Redis unless a final
 * result is there. Best effort: failures are logged, never retried. */
void detector_mark_processing(detector_t *d, const char *tenant, const char *id,
                              const uint8_t *blob, size_t len);
/* Gate set-up and tear-down (main thread). */
int detector_gate_init(detector_t *d);
void detector_gate_destroy(detector_t *d);

/* Sends job's message to the dead-letter topic unchanged, with its own headers plus the stage,
 * reason, attempts made at that stage, time, source position and delivery attempt (dlq.c;
 * retried until acknowledged or stopping). Any thread. Returns 0 or VC_ECLOSED. */
int detector_send_dlq(job_t *job, const char *stage, const char *reason, int attempts);

/* Drops one reference to job (ok = 0: that part's effect is not durable). The last reference
 * sets committable and posts the job to d->done. */
void detector_job_release(job_t *job, int ok);

/* The result writer (sink.c). */
int detector_sink_new(detector_t *d, detector_sink_t **out);
/* Pool thread: hands res (copied) and its encoded blob (owned from now on, even on failure)
 * to the writer, which persists, publishes, dead-letters when dlq_reason is set, and then
 * releases job. Blocks while the writer's queue is full. Returns 0 or VC_ECLOSED/VC_ENOMEM
 * (nothing was taken; the caller's job reference is untouched). */
int detector_sink_put(detector_sink_t *s, job_t *job, const vc_result_t *res, uint8_t *blob,
                      size_t len, const char *dlq_reason, int64_t t0_ns);
/* Results waiting for the writer (for metrics). */
size_t detector_sink_pending(detector_sink_t *s);
/* Closes the writer's queue, lets it write what is queued and joins it. NULL is a no-op. */
void detector_sink_free(detector_sink_t *s);

/* Pool thread: analyses req's media (audio, video or both, as its type says) into res:
 * analyzers, segments, score, verdict, status. On a media error res is FAILED with the reason
 * and *media_error points at it (the message is also dead-lettered). */
void detector_analyse(detector_t *d, const vc_request_t *req, vc_result_t *res,
                      const char **media_error);

/* Runs on a pool thread: processes job->msg and posts the job to d->done. */
void detector_job_run(void *arg);

/* The main thread's loop: poll, dispatch, retire finished jobs, pause/resume; returns when
 * detector_stopping is set, after draining in-flight work and committing what finished. */
void detector_consume_loop(detector_t *d);

/* Main thread: writes the metric snapshot to Redis, at most once a second. */
void detector_publish_metrics(detector_t *d);

/* Rebalance hook (main thread): forgets in-flight offsets of revoked partitions. */
/* Main thread: partition p's current generation (see part_gen). */
uint64_t detector_partition_generation(detector_t *d, int32_t p);

void detector_on_rebalance(void *opaque, vc_rebalance_t event,
                           const rd_kafka_topic_partition_list_t *parts);

#endif

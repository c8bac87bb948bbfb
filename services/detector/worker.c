/* A vc-detector worker process: wires the config, stores, Kafka clients and the thread pool
 * together, runs the consume loop until SIGTERM/SIGINT (or until its supervisor is gone), then
 * drains and commits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "detector.h"
#include "vc/error.h"
#include "vc/topics.h"

static void on_stop_signal(int sig)
{
    (void)sig;
    detector_stopping = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* never a stop (the supervisor ignores it too) */
}

static int init_metrics(detector_t *d)
{
    if (vc_metrics_new(&d->metrics) != 0 || vc_resource_sampler_new("/", &d->sampler) != 0)
        return VC_ENOMEM;
    d->m_consumed = vc_metrics_counter(d->metrics, "vc_messages_consumed_total",
                                       "Messages taken from the request topic.");
    d->m_completed = vc_metrics_counter(d->metrics, "vc_detections_total{status=\"completed\"}",
                                        "Detections finished, by final status.");
    d->m_failed = vc_metrics_counter(d->metrics, "vc_detections_total{status=\"failed\"}",
                                     "Detections finished, by final status.");
    d->m_dlq = vc_metrics_counter(d->metrics, "vc_dead_letters_total",
                                  "Messages sent to the dead-letter topic.");
    d->m_store_retries = vc_metrics_counter(d->metrics, "vc_store_retries_total",
                                            "Retried PostgreSQL/Redis writes.");
    d->m_latency = vc_metrics_histogram(d->metrics, "vc_detection_seconds",
                                        "Processing time of one detection.");
    d->m_crash_dlq = vc_metrics_counter(d->metrics, "vc_crash_dead_letters_total",
                                        "Messages dead-lettered after crashing workers.");
    d->m_deadline = vc_metrics_counter(d->metrics, "vc_deadline_exceeded_total",
                                       "Detections failed for exceeding DETECTION_DEADLINE.");
    d->m_batches = vc_metrics_counter(d->metrics, "vc_result_batches_total",
                                      "Result batches written (one PostgreSQL transaction each).");
    d->m_refused = vc_metrics_counter(d->metrics, "vc_result_writes_refused_total",
                                      "Result writes a store or the results topic refused for "
                                      "good (constraint, permission, size).");
    d->m_replays = vc_metrics_counter(d->metrics, "vc_result_replays_total",
                                      "Results that lost to an earlier final result of the "
                                      "same detection (redeliveries).");
    if (!d->m_refused || !d->m_replays || !d->m_batches || !d->m_consumed || !d->m_completed || !d->m_failed || !d->m_dlq ||
        !d->m_store_retries || !d->m_latency || !d->m_crash_dlq || !d->m_deadline)
        return VC_ENOMEM;
    d->analysing_since = calloc((size_t)d->cfg.threads, sizeof(*d->analysing_since));
    if (d->analysing_since == NULL)
        return VC_ENOMEM;
    return 0;
}

/* Connects to PostgreSQL once and applies migrations, so a misconfigured store stops
 * start-up with a clear message instead of failing every job. */
/* Requests are consumed, results and dead letters produced (a dead letter carries the
 * original request, so it needs the request's size); see vc/topics.h for the rule. */
static int check_topics(detector_t *d, char *err, size_t errlen)
{
    const vc_kafka_config_t *k = &d->cfg.kafka;
    vc_topic_need_t needs[3] = {{k->topic_requests, 0},
                                {k->topic_results, 0},
                                {k->topic_dlq, k->message_max_bytes}};
    int rc = vc_topics_startup_check(vc_producer_handle(d->producer), needs, 3, 5000, err,
                                     errlen);
    char why[300];
    if (rc == 0 && vc_producer_health(d->producer, why, sizeof(why)) != 0)
        VC_ERROR("detector.kafka_unusable", "reason=\"%s\"", why);
    return rc;
}

static int migrate(detector_t *d, char *err, size_t errlen)
{
    PGconn *c = NULL;
    int rc = vc_pg_acquire(d->pg, &c, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_pg_migrate(c, err, errlen);
    vc_pg_release(d->pg, c, rc != 0);
    return rc;
}

/* Breakers around the result writes: 5 consecutive failures open one for 5 s (the default;
 * as long as the connect timeouts, and the retry backoff's cap). */
static int new_breakers(detector_t *d)
{
    vc_breaker_opts_t o;
    vc_breaker_opts_default(&o);
    o.name = "postgres";
    int rc = vc_breaker_new(&o, &d->pg_breaker);
    o.name = "redis";
    if (rc == 0)
        rc = vc_breaker_new(&o, &d->redis_breaker);
    return rc;
}

static int start(detector_t *d, char *err, size_t errlen)
{
    int rc = detector_gate_init(d);
    if (rc != 0)
        return rc;
    d->gate_ready = 1;
    rc = init_metrics(d);
    /* A detector without its model would answer nothing useful: refuse to start. */
    if (rc == 0)
        rc = vc_audio_model_load(d->cfg.audio_model_path, &d->audio_model, err, errlen);
    if (rc == 0)
        rc = vc_redis_pool_new(&d->cfg.redis, &d->redis, err, errlen);
    if (rc == 0)
        rc = vc_pg_pool_new(&d->cfg.pg, &d->pg, err, errlen);
    if (rc == 0)
        rc = migrate(d, err, errlen);
    if (rc == 0)
        rc = new_breakers(d);
    if (rc == 0)
        rc = vc_offtrack_new(&d->track);
    /* Every job that can exist fits in `done`, so workers never block posting back. */
    size_t cap = (size_t)(d->cfg.max_inflight * 2 + d->cfg.threads);
    if (rc == 0)
        rc = vc_queue_new(cap, &d->done);
    if (rc == 0)
        rc = vc_threadpool_new((size_t)d->cfg.threads, cap, "detect", &d->pool);
    if (rc == 0)
        rc = vc_producer_new(&d->cfg.kafka, d->cfg.instance_id, &d->producer, err, errlen);
    if (rc == 0)
        rc = check_topics(d, err, errlen);
    if (rc == 0)
        rc = detector_sink_new(d, &d->sink);
    if (rc == 0)
        rc = vc_consumer_new(&d->cfg.kafka, d->cfg.group_id, d->cfg.instance_id,
                             d->cfg.static_membership ? d->cfg.instance_id : NULL,
                             d->cfg.kafka.topic_requests, detector_on_rebalance, d,
                             &d->consumer, err, errlen);
    return rc;
}

static void stop(detector_t *d)
{
    vc_threadpool_free(d->pool); /* joins; normally already shut down by the loop */
    detector_sink_free(d->sink);  /* after the pool threads: they feed it */
    d->sink = NULL;
    if (d->done != NULL) {
        void *item = NULL;
        while (vc_queue_pop(d->done, &item, 0) == 0) {
            job_t *job = item;
            rd_kafka_message_destroy(job->msg);
            free(job);
        }
    }
    vc_consumer_close(d->consumer);
    vc_producer_free(d->producer);
    vc_queue_free(d->done);
    vc_offtrack_free(d->track);
    vc_pg_pool_free(d->pg);
    vc_redis_pool_free(d->redis);
    vc_metrics_free(d->metrics);
    vc_audio_model_free(d->audio_model); /* after the pool threads are joined */
    vc_resource_sampler_free(d->sampler);
    free(d->analysing_since);
    free(d->part_gen);
    vc_breaker_free(d->pg_breaker);
    vc_breaker_free(d->redis_breaker);
    if (d->gate_ready)
        detector_gate_destroy(d);
}

/* Dies with the supervisor: SIGTERM when the thread that spawned us (the supervisor's main
 * thread, which lives as long as the supervisor) is gone, so a kill -9 of the supervisor
 * drains its workers instead of orphaning them. Returns 0, or VC_ECLOSED when the supervisor
 * died before the request took effect. */
static int follow_parent(pid_t parent)
{
    if (parent <= 0)
        return 0;
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        return VC_EIO;
    return getppid() == parent ? 0 : VC_ECLOSED;
}

int detector_worker_main(detector_config_t *cfg, pid_t parent)
{
    static detector_t d;
    char err[512] = "";
    install_signals();
    d.cfg = *cfg;
    vc_log_init("detector", d.cfg.log_level);
    if (follow_parent(parent) != 0) {
        VC_ERROR("detector.orphan", "msg=\"supervisor gone before start-up\"");
        return 1;
    }
    int rc = start(&d, err, sizeof(err));
    if (rc != 0) {
        VC_ERROR("detector.start_failed", "instance=%s error=\"%s\"", d.cfg.instance_id,
                 err[0] ? err : vc_strerror(rc));
        stop(&d);
        return 1;
    }
    VC_INFO("detector.ready", "instance=%s group=%s threads=%lld max_inflight=%lld",
            d.cfg.instance_id, d.cfg.group_id, d.cfg.threads, d.cfg.max_inflight);
    detector_consume_loop(&d);
    VC_INFO("detector.stopped", "instance=%s completed=%llu failed=%llu dead_letters=%llu",
            d.cfg.instance_id, (unsigned long long)vc_counter_value(d.m_completed),
            (unsigned long long)vc_counter_value(d.m_failed),
            (unsigned long long)vc_counter_value(d.m_dlq));
    int status = d.kafka_fatal ? 1 : 0; /* non-zero: the supervisor restarts the worker */
    stop(&d);
    return status;
}

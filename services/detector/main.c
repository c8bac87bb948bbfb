/* vc-detector: process lifecycle. Wires the config, stores, Kafka clients and the thread pool
 * together, runs the consume loop until SIGTERM/SIGINT, then drains and commits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "vc/error.h"

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
    if (!d->m_consumed || !d->m_completed || !d->m_failed || !d->m_dlq || !d->m_store_retries || !d->m_latency)
        return VC_ENOMEM;
    return 0;
}

/* Connects to PostgreSQL once and applies migrations, so a misconfigured store stops
 * start-up with a clear message instead of failing every job. */
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

static int start(detector_t *d, char *err, size_t errlen)
{
    int rc = init_metrics(d);
    if (rc == 0)
        rc = vc_redis_pool_new(&d->cfg.redis, &d->redis, err, errlen);
    if (rc == 0)
        rc = vc_pg_pool_new(&d->cfg.pg, &d->pg, err, errlen);
    if (rc == 0)
        rc = migrate(d, err, errlen);
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
        rc = vc_consumer_new(&d->cfg.kafka, d->cfg.group_id, d->cfg.instance_id,
                             d->cfg.kafka.topic_requests, detector_on_rebalance, d,
                             &d->consumer, err, errlen);
    return rc;
}

static void stop(detector_t *d)
{
    vc_threadpool_free(d->pool); /* joins; normally already shut down by the loop */
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
    vc_resource_sampler_free(d->sampler);
}

int main(void)
{
    static detector_t d;
    char err[512] = "";
    install_signals();
    if (detector_config_load(&d.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "vc-detector: configuration error: %s\n", err);
        return 2;
    }
    vc_log_init("detector", d.cfg.log_level);
    int rc = start(&d, err, sizeof(err));
    if (rc != 0) {
        VC_ERROR("detector.start_failed", "error=\"%s\"", err[0] ? err : vc_strerror(rc));
        stop(&d);
        return 1;
    }
    VC_INFO("detector.ready", "instance=%s group=%s threads=%lld max_inflight=%lld",
            d.cfg.instance_id, d.cfg.group_id, d.cfg.threads, d.cfg.max_inflight);
    detector_consume_loop(&d);
    VC_INFO("detector.stopped", "completed=%llu failed=%llu dead_letters=%llu",
            (unsigned long long)vc_counter_value(d.m_completed),
            (unsigned long long)vc_counter_value(d.m_failed),
            (unsigned long long)vc_counter_value(d.m_dlq));
    stop(&d);
    return 0;
}

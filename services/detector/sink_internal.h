#ifndef VC_DETECTOR_SINK_INTERNAL_H
#define VC_DETECTOR_SINK_INTERNAL_H
/* The result writer's own types, shared by its thread (sink.c) and its write steps
 * (sink_write.c). Writer thread only. */
#include "detector.h"
#include "vc/detections.h"
#include "vc/results.h"

typedef struct {
    job_t *job;
    vc_result_t res;
    uint8_t *blob; /* res encoded */
    size_t len;
    char dlq_reason[400]; /* "" unless the media failed to decode (dead-lettered too) */
    int64_t t0_ns;        /* when the job began, for the latency histogram */
    vc_detection_row_t row; /* PostgreSQL's answer: won, attempt, the stored result */
    /* Set when a step refused this result for good (dead-lettered instead): */
    const char *dead_stage; /* "persist" or "publish" */
    char dead_reason[400];
    int dead_attempts;
    /* The results-topic record's key and headers' values. */
    char key[VC_RESULTS_REF_MAX + 1];
    char attempt[12], result_attempt[12];
    vc_mq_header_t hdrs[6];
} sink_item_t;

struct detector_sink {
    detector_t *d;
    vc_queue_t *q; /* sink_item_t*, owned by whoever popped them */
    pthread_t thread;
    int started;
    size_t max_rows;
    int64_t max_wait_ms;
    /* The writer's scratch, max_rows each (writer thread only). */
    sink_item_t **batch, **active, **suspects;
    vc_detection_row_t *rows;
    vc_results_item_t *puts;
    vc_mq_msg_t *msgs;
    sink_item_t **msg_owner;
};

/* The result now stored for it's detection (its own when it won), or NULL when unknown. */
const uint8_t *sink_item_stored(const sink_item_t *it, size_t *len);

/* Makes items[0..n) durable in PostgreSQL. A row the database refuses for good is set aside,
 * retried alone up to DETECTOR_PERMANENT_ATTEMPTS times, then marked dead; the rest of the
 * batch goes on without it. Transient failures are retried with backoff until stopping.
 * Returns 0, or VC_ECLOSED when stopping left the batch undone. */
int sink_write_pg(detector_sink_t *s, sink_item_t **items, size_t n);

/* Writes the stored result of every live item to Redis (SET + PUBLISH). A permanent refusal
 * is retried DETECTOR_PERMANENT_ATTEMPTS times, then skipped (the result is durable in
 * PostgreSQL, where the gateway finds it). Returns 0 or VC_ECLOSED. */
int sink_write_redis(detector_sink_t *s, sink_item_t **items, size_t n);

/* Publishes the stored result of every live item to the results topic. A record the cluster
 * refuses for good (too large, not authorised) is retried DETECTOR_PERMANENT_ATTEMPTS times,
 * then its item is marked dead. Returns 0 or VC_ECLOSED. */
int sink_publish(detector_sink_t *s, sink_item_t **items, size_t n);

#endif

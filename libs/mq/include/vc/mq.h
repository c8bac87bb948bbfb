#ifndef VC_MQ_H
#define VC_MQ_H
/* Kafka clients (librdkafka): configuration shared by every vcguard process, an idempotent
 * producer that waits for delivery, and a consumer-group member with manual offset storage. */
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

typedef struct {
    char brokers[1024];          /* KAFKA_BROKERS (required) */
    char topic_requests[128];    /* KAFKA_TOPIC_REQUESTS=vc.detections.requests */
    char topic_results[128];     /* KAFKA_TOPIC_RESULTS=vc.detections.results */
    char topic_dlq[128];         /* KAFKA_TOPIC_DLQ=vc.detections.dlq */
    char debug[128];             /* KAFKA_DEBUG="" : librdkafka's `debug` contexts (e.g.
                                  * "cgrp,fetch,topic"), logged at debug level */
    long long session_timeout_ms;   /* KAFKA_SESSION_TIMEOUT_MS=45000 (local stack: 6000) */
    long long max_poll_interval_ms; /* KAFKA_MAX_POLL_INTERVAL_MS=300000 (local stack: 30000) */
    long long message_max_bytes;    /* KAFKA_MESSAGE_MAX_BYTES=17825792 (17 MiB) */
    long long delivery_timeout_ms;  /* KAFKA_DELIVERY_TIMEOUT_MS=10000 */
} vc_kafka_config_t;

/* Reads the KAFKA_* variables above. Returns 0 or VC_EINVAL with err naming the variable. */
int vc_kafka_config_from_env(vc_kafka_config_t *cfg, char *err, size_t errlen);

/* A message header for vc_producer_send. */
typedef struct {
    const char *name;
    const void *value;
    size_t len;
} vc_mq_header_t;

typedef struct vc_producer vc_producer_t;

/* Creates an idempotent producer (acks=all) with its own thread serving delivery reports.
 * Returns 0, VC_EINVAL (bad configuration; err says which) or VC_ENOMEM. */
int vc_producer_new(const vc_kafka_config_t *cfg, const char *client_id, vc_producer_t **out,
                    char *err, size_t errlen);
/* Flushes outstanding messages (bounded by the delivery timeout), stops the thread, frees. */
void vc_producer_free(vc_producer_t *p);

/* Produces one message and blocks until the cluster has acknowledged it (all in-sync
 * replicas) or it definitively failed. Thread-safe.
 * Returns 0 once acknowledged; VC_ETOOBIG (over message.max.bytes, the client's or the
 * broker's); VC_EPERM (refused for good: not authorised, invalid or corrupt record, policy);
 * VC_EUNAVAIL (queue full, cluster unreachable, delivery timeout); VC_EIO for other failures.
 * err says why. */
int vc_producer_send(vc_producer_t *p, const char *topic, const char *key, size_t keylen,
                     const void *value, size_t len, const vc_mq_header_t *hdrs, size_t nhdrs,
                     char *err, size_t errlen);

/* One message of a vc_producer_send_all batch; `rc` and `err` are outputs. */
typedef struct {
    const char *topic;
    const char *key;
    size_t keylen;
    const void *value;
    size_t len;
    const vc_mq_header_t *hdrs;
    size_t nhdrs;
    int rc;        /* 0 once acknowledged, else as vc_producer_send */
    char err[160]; /* why, when rc != 0 */
} vc_mq_msg_t;

/* Produces every message of msgs, then blocks until each has been acknowledged or has
 * definitively failed, so n messages cost one round of delivery latency instead of n.
 * Thread-safe. Sets msgs[i].rc/err and returns how many failed. */
size_t vc_producer_send_all(vc_producer_t *p, vc_mq_msg_t *msgs, size_t n);

/* Messages handed to librdkafka and not yet acknowledged (for metrics). */
int vc_producer_queue_len(vc_producer_t *p);

/* Asks the cluster for metadata of `topic` within timeout_ms. Returns 0 when the topic exists
 * and every partition has a leader, else VC_EUNAVAIL with err saying why. */
int vc_producer_check(vc_producer_t *p, const char *topic, int timeout_ms, char *err,
                      size_t errlen);

/* The underlying handle, for callers that need a librdkafka call not wrapped here. */
rd_kafka_t *vc_producer_handle(vc_producer_t *p);

#endif

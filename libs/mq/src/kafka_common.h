#ifndef VC_MQ_KAFKA_COMMON_H
#define VC_MQ_KAFKA_COMMON_H
/* What every vcguard Kafka client shares: configuration building (vcguard's settings, then the
 * operator's pass-through properties), librdkafka's logs through vc_log, and the error state
 * error_cb records for the client's owner. */
#include <pthread.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "vc/mq.h"

/* Error state of one client. Written by error_cb (librdkafka calls it from rd_kafka_poll or
 * rd_kafka_consumer_poll, i.e. the client's polling thread) and by the client code on results;
 * read by the owner on any thread. @locks: mu for every field. */
typedef struct {
    pthread_mutex_t mu;
    rd_kafka_resp_err_t last_err; /* last error error_cb saw (NO_ERROR: none yet) */
    int auth_failed;              /* an authentication/SSL/SASL failure, not cleared yet */
    int all_down;                 /* all brokers down, not cleared yet */
    int fatal;                    /* a fatal error: the client is unusable, for good */
    rd_kafka_resp_err_t topic_err; /* consumer: authorisation or unknown topic, not cleared */
    char auth_reason[256], fatal_reason[256], topic_reason[256];
} vc_mq__state_t;

void vc_mq__state_init(vc_mq__state_t *st);

/* Records a fatal error of rk in st, with the underlying error rd_kafka_fatal_error keeps.
 * A producer's arrives through error_cb; a consumer's as an RD_KAFKA_RESP_ERR__FATAL message
 * error from rd_kafka_consumer_poll (e.g. a static member fenced by another member with its
 * group.instance.id). @locality: the client's polling thread. */
void vc_mq__record_fatal(rd_kafka_t *rk, vc_mq__state_t *st);
void vc_mq__state_destroy(vc_mq__state_t *st);

/* The cluster answered this client (a delivery succeeded, metadata arrived, a message or an
 * assignment came): brokers are reachable and the client authenticated, so clear all_down and
 * auth_failed. A fatal error stays. Any thread. */
void vc_mq__state_ok(vc_mq__state_t *st);

/* Builds a librdkafka configuration from a {key, value} table ending with {NULL, NULL} (a
 * NULL value leaves the key at librdkafka's default), then applies cfg->conf (the operator's
 * KAFKA_CONFIG_FILE / KAFKA_CONF_* properties, refusing protected ones again), routes
 * librdkafka's logs through vc_log and its errors into st (the conf's opaque is st: a client
 * struct that needs its own opaque in other callbacks starts with its vc_mq__state_t).
 * Returns 0 or VC_EINVAL/VC_EPERM; err names the key, never the value. */
int vc_mq__conf_build(const char *const (*kv)[2], const vc_kafka_config_t *cfg,
                      vc_mq__state_t *st, rd_kafka_conf_t **out, char *err, size_t errlen);

/* rd_kafka_new that always takes conf (destroyed on failure) and scrubs the operator's
 * property values out of librdkafka's error text (it may echo one: "Unsupported SASL
 * mechanism: <value>"). Returns the handle, or NULL with err set. */
rd_kafka_t *vc_mq__new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const vc_kafka_config_t *cfg,
                       char *err, size_t errlen);

/* Fills conf from KAFKA_CONFIG_FILE and KAFKA_CONF_* (kafka_conf.c). */
int vc_mq__conf_from_env(vc_kafka_conf_t *conf, char *err, size_t errlen);

/* Copies src into dst (cap bytes) with every occurrence of each operator property value of
 * at least 4 bytes replaced by "[redacted]" (shorter values are words like "all" or "1" whose
 * replacement would garble the text, not secrets). */
void vc_mq__scrub(const vc_kafka_conf_t *conf, const char *src, char *dst, size_t cap);

/* Copies a reason for the owner of a client: the state's fatal, authentication or topic
 * reason, prefixed. Returns 1 when one was copied. @locks: takes st->mu. */
int vc_mq__state_problem(vc_mq__state_t *st, int with_topic, char *buf, size_t len);

#endif

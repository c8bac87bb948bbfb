#ifndef VC_MQ_H
#define VC_MQ_H
/* Kafka clients (librdkafka): configuration shared by every vcguard process, an idempotent
 * producer that waits for delivery, and a consumer-group member with manual offset storage. */
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* librdkafka properties passed through from KAFKA_CONFIG_FILE and KAFKA_CONF_* (see
 * docs/operations.md, "Kafka client settings"). Plain data, no heap pointers, so the
 * configuration that holds it can be copied by value: keys and values are NUL-terminated
 * strings at offsets into `buf`. A key set twice keeps one entry with the later value. */
#define VC_KAFKA_CONF_MAX 64      /* distinct properties */
#define VC_KAFKA_CONF_KEY_MAX 128 /* bytes of a key, NUL included */
#define VC_KAFKA_CONF_VALUE_MAX 4096 /* bytes of a value, NUL included */
#define VC_KAFKA_CONF_BUF 32768   /* all keys and values together */
typedef struct {
    int n;
    unsigned used; /* bytes of buf in use */
    struct {
        unsigned short key, value; /* offsets into buf */
        unsigned short line;       /* KAFKA_CONFIG_FILE line, 0 when from KAFKA_CONF_* */
    } at[VC_KAFKA_CONF_MAX];
    char buf[VC_KAFKA_CONF_BUF];
} vc_kafka_conf_t;

typedef struct {
    char brokers[1024];          /* KAFKA_BROKERS (required) */
    char topic_requests[128];    /* KAFKA_TOPIC_REQUESTS=vc.detections.requests */
    char topic_results[128];     /* KAFKA_TOPIC_RESULTS=vc.detections.results */
    char topic_dlq[128];         /* KAFKA_TOPIC_DLQ=vc.detections.dlq */
    char assignment[32];         /* KAFKA_ASSIGNMENT_STRATEGY=eager (range,roundrobin: every
                                  * rebalance revokes everything), or cooperative-sticky */
    char debug[128];             /* KAFKA_DEBUG="" : librdkafka's `debug` contexts (e.g.
                                  * "cgrp,fetch,topic"), logged at debug level */
    long long session_timeout_ms;   /* KAFKA_SESSION_TIMEOUT_MS=45000 (local stack: 6000) */
    long long max_poll_interval_ms; /* KAFKA_MAX_POLL_INTERVAL_MS=300000 (local stack: 30000) */
    long long message_max_bytes;    /* KAFKA_MESSAGE_MAX_BYTES=17825792 (17 MiB) */
    long long delivery_timeout_ms;  /* KAFKA_DELIVERY_TIMEOUT_MS=10000 */
    vc_kafka_conf_t conf;           /* KAFKA_CONFIG_FILE, then KAFKA_CONF_* (env wins) */
} vc_kafka_config_t;

/* Reads the KAFKA_* variables above, the KAFKA_CONFIG_FILE and every KAFKA_CONF_* variable.
 * Returns 0, VC_EINVAL (a bad value), VC_EPERM (a property vcguard owns, see
 * vc_kafka_conf_check), VC_ETOOBIG (over a cap of vc_kafka_conf_t) or VC_EIO (the file cannot
 * be read), with err naming the variable, file line or property; a property's value never
 * appears in err. */
int vc_kafka_config_from_env(vc_kafka_config_t *cfg, char *err, size_t errlen);

/* Maps an environment variable name KAFKA_CONF_<NAME> to the librdkafka property: <NAME>
 * lower-cased with every '_' turned into '.' (KAFKA_CONF_SASL_PASSWORD -> sasl.password).
 * Returns 0, or VC_EINVAL when env is not such a name, holds other characters than letters,
 * digits and '_', or does not fit cap. */
int vc_kafka_conf_env_key(const char *env, char *key, size_t cap);

/* Sets key to value in conf (replacing an earlier value of key). line: the file line it came
 * from, 0 for the environment. Returns 0, VC_EINVAL (empty or malformed key) or VC_ETOOBIG
 * (key, value or conf over its cap); err names the key, never the value. */
int vc_kafka_conf_put(vc_kafka_conf_t *conf, const char *key, const char *value, int line,
                      char *err, size_t errlen);

/* Parses a Java-style properties text into conf: one `key=value` a line, whitespace trimmed
 * around key and value, blank lines and lines starting with '#' or '!' skipped, "\r\n"
 * accepted; no continuation lines or escapes. `origin` names the text in errors. Returns 0,
 * VC_EINVAL (a line without '=', an empty key) or VC_ETOOBIG (a line over 8 KiB, caps of
 * vc_kafka_conf_put); err names the origin and line, never a value. */
int vc_kafka_conf_parse(vc_kafka_conf_t *conf, const char *text, size_t len, const char *origin,
                        char *err, size_t errlen);

/* Reads the properties file at path (at most 1 MiB) into conf with vc_kafka_conf_parse.
 * Returns as vc_kafka_conf_parse, or VC_EIO when the file cannot be read. */
int vc_kafka_conf_load_file(vc_kafka_conf_t *conf, const char *path, char *err, size_t errlen);

/* Refuses a property vcguard sets itself for correctness (docs/operations.md lists them).
 * Returns 0, or VC_EPERM with err naming the first refused key and the reason. */
int vc_kafka_conf_check(const vc_kafka_conf_t *conf, char *err, size_t errlen);

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

/* Whether the producer hit a fatal error (librdkafka's RD_KAFKA_RESP_ERR__FATAL: for an
 * idempotent producer, a broken sequence or epoch that it cannot repair). A fatal producer
 * never delivers again: vc_producer_send fails at once with VC_ECLOSED, and the process should
 * exit so its supervisor starts a fresh one. Returns 1 with the reason (the underlying error)
 * in buf, else 0. Any thread. */
int vc_producer_fatal(vc_producer_t *p, char *buf, size_t len);

/* The producer's error state as its error callback last saw it: 0 when nothing is wrong;
 * VC_ECLOSED (fatal, as vc_producer_fatal) or VC_EPERM (authentication/SSL/SASL failed; cleared
 * by the next delivery or metadata answer) with the reason in buf. Cheap, no network call.
 * Any thread. */
int vc_producer_health(vc_producer_t *p, char *buf, size_t len);

/* The underlying handle, for callers that need a librdkafka call not wrapped here. */
rd_kafka_t *vc_producer_handle(vc_producer_t *p);

#endif

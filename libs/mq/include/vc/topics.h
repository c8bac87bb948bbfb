#ifndef VC_TOPICS_H
#define VC_TOPICS_H
/* Topic provisioning and start-up checks (librdkafka's Admin API).
 *
 * Topics are created by an operator step (`vc-admin topics ensure`), never by a client's
 * first metadata request: every client sets allow.auto.create.topics=false, and a topic
 * auto-created by a broker would get the broker's defaults (1 partition, replication factor
 * 1, a 1 MiB message limit). Services check at start-up that their topics exist with a
 * usable configuration and refuse to start otherwise, naming the topic and the setting.
 *
 * vc-devbroker (librdkafka's mock cluster, cluster id "mockCluster...") answers neither
 * CreateTopics nor DescribeConfigs and creates any topic on first use; there only existence
 * and leaders are checked, and the log says so. */
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "vc/mq.h"

/* How `topics ensure` creates the three topics (docs/operations.md, "Running on Apache
 * Kafka"). */
typedef struct {
    long long partitions;          /* KAFKA_TOPIC_PARTITIONS=12 */
    long long replication_factor;  /* KAFKA_TOPIC_REPLICATION_FACTOR=3 */
    long long min_insync_replicas; /* KAFKA_TOPIC_MIN_INSYNC_REPLICAS=2 */
    long long retention_ms;        /* KAFKA_TOPIC_RETENTION_MS=604800000 (7 days) */
    long long dlq_retention_ms;    /* KAFKA_TOPIC_DLQ_RETENTION_MS=2592000000 (30 days) */
    long long max_message_bytes;   /* KAFKA_TOPIC_MAX_MESSAGE_BYTES=KAFKA_MESSAGE_MAX_BYTES */
    long long timeout_ms;          /* KAFKA_ADMIN_TIMEOUT_MS=30000 */
} vc_topic_spec_t;

/* Reads the KAFKA_TOPIC_* variables above (cfg gives the message-size default and floor).
 * Returns 0 or VC_EINVAL with err naming the variable. */
int vc_topic_spec_from_env(const vc_kafka_config_t *cfg, vc_topic_spec_t *spec, char *err,
                           size_t errlen);

/* What one client needs of one topic. */
typedef struct {
    const char *topic;
    long long min_message_bytes; /* the topic's max.message.bytes must be at least this; 0: any */
} vc_topic_need_t;

/* True when rk is connected to vc-devbroker (librdkafka's mock cluster). Waits up to
 * timeout_ms for the cluster id. */
int vc_topics_is_mock(rd_kafka_t *rk, int timeout_ms);

/* Checks, within timeout_ms, that every topic of needs exists, that each partition has a
 * leader, that min.insync.replicas does not exceed the replication factor (acks=all could
 * never succeed) and that max.message.bytes is at least the need. Returns 0; VC_ENOTFOUND
 * (a topic does not exist); VC_EINVAL (unusable configuration); VC_EUNAVAIL (the cluster did
 * not answer in time). err names the topic and the setting. */
int vc_topics_check(rd_kafka_t *rk, const vc_topic_need_t *needs, size_t n, int timeout_ms,
                    char *err, size_t errlen);

/* The services' start-up rule: vc_topics_check within timeout_ms, where a cluster that does
 * not answer in time is only logged (a warning; /health reports Kafka until it answers) and a
 * definite answer that a topic is missing (for all of timeout_ms: brokers learn of a new topic
 * one by one), unusable or forbidden is returned, for the service to refuse to start. */
int vc_topics_startup_check(rd_kafka_t *rk, const vc_topic_need_t *needs, size_t n,
                            int timeout_ms, char *err, size_t errlen);

/* vc_topics_startup_check through a short-lived client of its own (for a process that has
 * no Kafka client yet, such as the detector's supervisor before it forks its workers). */
int vc_topics_check_cluster(const vc_kafka_config_t *cfg, const vc_topic_need_t *needs,
                            size_t n, int timeout_ms, char *err, size_t errlen);

/* With create, creates the request, result and dead-letter topics of cfg that do not exist,
 * as spec says, and waits until their partitions have leaders; then checks all three (as
 * vc_topics_check, plus warnings where an existing topic differs from spec). Writes one line
 * per topic to out ("created", "exists ..."). Returns 0 when all three are usable,
 * VC_ENOTFOUND when one is missing (without create), VC_EINVAL when one is unusable or could
 * not be created, VC_EUNAVAIL when the cluster could not be reached. */
int vc_topics_ensure(const vc_kafka_config_t *cfg, const vc_topic_spec_t *spec, int create,
                     FILE *out, char *err, size_t errlen);

#endif

#ifndef VC_MQ_TOPICS_INTERNAL_H
#define VC_MQ_TOPICS_INTERNAL_H
/* Shared by topics.c (checks) and topics_ensure.c (provisioning). */
#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* What the checks read about one topic; -1 where not known (vc-devbroker describes no
 * configuration). */
typedef struct {
    int partitions;
    int replicas;
    long long max_message_bytes;
    long long min_insync_replicas;
    long long retention_ms;
} vc_topic_state_t;

/* Reads metadata and (except on vc-devbroker) the configuration of one topic. Returns 0,
 * VC_ENOTFOUND (no such topic), VC_EPERM (not authorised) or VC_EUNAVAIL. */
int vc_topics__probe(rd_kafka_t *rk, const char *topic, int timeout_ms, vc_topic_state_t *st,
                     char *err, size_t errlen);

#endif

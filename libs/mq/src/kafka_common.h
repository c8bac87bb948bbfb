#ifndef VC_MQ_KAFKA_COMMON_H
#define VC_MQ_KAFKA_COMMON_H
#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* Builds a librdkafka configuration from a {key, value} table ending with {NULL, NULL} (a
 * NULL value leaves the key at librdkafka's default), and
 * routes librdkafka's own logs through vc_log. Returns 0 or VC_EINVAL (err names the key). */
int vc_mq__conf_build(const char *const (*kv)[2], rd_kafka_conf_t **out, char *err,
                      size_t errlen);

#endif

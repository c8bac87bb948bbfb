#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kafka_common.h"
#include "vc/config.h"
#include "vc/error.h"
#include "vc/mq.h"

/* Copies a string variable into a fixed field; too long is a configuration error. */
static int config_copy(const char *name, const char *def, char *dst, size_t cap, char *err,
                       size_t errlen)
{
    const char *v = NULL;
    int rc = vc_config_str(name, def, &v, err, errlen);
    if (rc != 0)
        return rc;
    /* Empty is allowed only where the default is empty (an optional setting). */
    if (v == NULL || (*v == '\0' && (def == NULL || *def != '\0')))
        return vc_err(err, errlen, VC_EINVAL, "%s: required", name);
    if (strlen(v) >= cap)
        return vc_err(err, errlen, VC_EINVAL, "%s: longer than %zu bytes", name, cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

typedef struct {
    const char *name;
    const char *def;
    size_t offset;
    size_t cap;
} str_field_t;

#define STR_FIELD(name, def, field)                                                            \
    {name, def, offsetof(vc_kafka_config_t, field), sizeof(((vc_kafka_config_t *)0)->field)}

static const str_field_t str_fields[] = {
    STR_FIELD("KAFKA_BROKERS", NULL, brokers),
    STR_FIELD("KAFKA_TOPIC_REQUESTS", "vc.detections.requests", topic_requests),
    STR_FIELD("KAFKA_TOPIC_RESULTS", "vc.detections.results", topic_results),
    STR_FIELD("KAFKA_TOPIC_DLQ", "vc.detections.dlq", topic_dlq),
    STR_FIELD("KAFKA_DEBUG", "", debug),
    STR_FIELD("KAFKA_ASSIGNMENT_STRATEGY", "eager", assignment),
};

typedef struct {
    const char *name;
    long long def, min, max;
    int is_bytes;
    size_t offset;
} int_field_t;

/* Kafka's own defaults; the local stack and tests lower the group timeouts (see
 * docs/operations.md) because a restarted member otherwise waits for its old session. */
static const int_field_t int_fields[] = {
    {"KAFKA_SESSION_TIMEOUT_MS", 45000, 1000, 3600000, 0,
     offsetof(vc_kafka_config_t, session_timeout_ms)},
    {"KAFKA_MAX_POLL_INTERVAL_MS", 300000, 1000, 86400000, 0,
     offsetof(vc_kafka_config_t, max_poll_interval_ms)},
    {"KAFKA_MESSAGE_MAX_BYTES", 17825792, 1024, 1000000000, 1,
     offsetof(vc_kafka_config_t, message_max_bytes)},
    {"KAFKA_DELIVERY_TIMEOUT_MS", 10000, 100, 900000, 0,
     offsetof(vc_kafka_config_t, delivery_timeout_ms)},
};

int vc_kafka_config_from_env(vc_kafka_config_t *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < sizeof(str_fields) / sizeof(str_fields[0]); i++) {
        const str_field_t *f = &str_fields[i];
        int rc = config_copy(f->name, f->def, (char *)cfg + f->offset, f->cap, err, errlen);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < sizeof(int_fields) / sizeof(int_fields[0]); i++) {
        const int_field_t *f = &int_fields[i];
        long long *dst = (long long *)((char *)cfg + f->offset);
        int rc = f->is_bytes ? vc_config_bytes(f->name, f->def, f->min, f->max, dst, err, errlen)
                             : vc_config_int(f->name, f->def, f->min, f->max, dst, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (strcmp(cfg->assignment, "cooperative-sticky") != 0 && strcmp(cfg->assignment, "eager") != 0)
        return vc_err(err, errlen, VC_EINVAL,
                      "KAFKA_ASSIGNMENT_STRATEGY=%s: expected cooperative-sticky or eager",
                      cfg->assignment);
    if (cfg->max_poll_interval_ms < cfg->session_timeout_ms)
        return vc_err(err, errlen, VC_EINVAL,
                      "KAFKA_MAX_POLL_INTERVAL_MS=%lld: must be >= KAFKA_SESSION_TIMEOUT_MS",
                      cfg->max_poll_interval_ms);
    return vc_mq__conf_from_env(&cfg->conf, err, errlen);
}

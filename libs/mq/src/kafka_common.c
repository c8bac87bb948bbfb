#include <stdio.h>

#include "kafka_common.h"
#include "vc/error.h"
#include "vc/log.h"

/* librdkafka logs with syslog levels; map them onto ours. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    vc_log_level_t l = level <= 3 ? VC_LOG_ERROR : level <= 4 ? VC_LOG_WARN
                                               : level <= 6 ? VC_LOG_INFO
                                                            : VC_LOG_DEBUG;
    vc_log(l, "kafka.log", "client=%s fac=%s msg=\"%s\"", rd_kafka_name(rk), fac, buf);
}

int vc_mq__conf_build(const char *const (*kv)[2], rd_kafka_conf_t **out, char *err,
                      size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    for (size_t i = 0; kv[i][0] != NULL; i++) {
        if (kv[i][1] == NULL)
            continue;
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return vc_err(err, errlen, VC_EINVAL, "kafka config %s=%s: %s", kv[i][0], kv[i][1],
                          errstr);
        }
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    *out = conf;
    return 0;
}

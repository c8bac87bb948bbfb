#include <stdio.h>
#include <string.h>

#include "kafka_common.h"
#include "vc/error.h"
#include "vc/log.h"

#define SCRUB_MIN 4
#define REDACTED "[redacted]"

/* librdkafka logs with syslog levels; map them onto ours. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    vc_log_level_t l = level <= 3 ? VC_LOG_ERROR : level <= 4 ? VC_LOG_WARN
                                               : level <= 6 ? VC_LOG_INFO
                                                            : VC_LOG_DEBUG;
    vc_log(l, "kafka.log", "client=%s fac=%s msg=\"%s\"", rd_kafka_name(rk), fac, buf);
}

void vc_mq__state_init(vc_mq__state_t *st)
{
    memset(st, 0, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
}

void vc_mq__state_destroy(vc_mq__state_t *st)
{
    pthread_mutex_destroy(&st->mu);
}

void vc_mq__state_ok(vc_mq__state_t *st)
{
    pthread_mutex_lock(&st->mu);
    st->all_down = 0;
    st->auth_failed = 0;
    pthread_mutex_unlock(&st->mu);
}

/* Authentication failed (as opposed to: not authorised for a resource). */
static int is_auth_error(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__AUTHENTICATION || e == RD_KAFKA_RESP_ERR__SSL ||
           e == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
           e == RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE ||
           e == RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM;
}

void vc_mq__record_fatal(rd_kafka_t *rk, vc_mq__state_t *st)
{
    char why[200] = "";
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof(why));
    VC_ERROR("kafka.fatal", "client=%s code=%s msg=\"%s\"", rd_kafka_name(rk),
             rd_kafka_err2name(orig), why);
    pthread_mutex_lock(&st->mu);
    st->fatal = 1;
    snprintf(st->fatal_reason, sizeof(st->fatal_reason), "%s: %s", rd_kafka_err2name(orig),
             why);
    pthread_mutex_unlock(&st->mu);
}

/* error_cb: logs the error and records it in the client's state. ERROR for what needs an
 * operator (fatal, authentication, no broker reachable), WARN for what librdkafka retries.
 * @locality: the client's polling thread (rd_kafka_poll / rd_kafka_consumer_poll). */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    vc_mq__state_t *st = opaque;
    rd_kafka_resp_err_t e = (rd_kafka_resp_err_t)err;
    if (e == RD_KAFKA_RESP_ERR__FATAL) {
        vc_mq__record_fatal(rk, st);
        return;
    }
    int auth = is_auth_error(e), down = e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
    vc_log(auth || down ? VC_LOG_ERROR : VC_LOG_WARN, "kafka.error",
           "client=%s code=%s msg=\"%s\"", rd_kafka_name(rk), rd_kafka_err2name(e), reason);
    pthread_mutex_lock(&st->mu);
    st->last_err = e;
    st->all_down |= down;
    if (auth) {
        st->auth_failed = 1;
        snprintf(st->auth_reason, sizeof(st->auth_reason), "%s: %s", rd_kafka_err2name(e),
                 reason);
    }
    pthread_mutex_unlock(&st->mu);
}

int vc_mq__state_problem(vc_mq__state_t *st, int with_topic, char *buf, size_t len)
{
    int found = 1;
    pthread_mutex_lock(&st->mu);
    if (st->fatal)
        snprintf(buf, len, "kafka fatal error: %s", st->fatal_reason);
    else if (st->auth_failed)
        snprintf(buf, len, "kafka authentication failed: %s", st->auth_reason);
    else if (with_topic && st->topic_err != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(buf, len, "kafka consumer: %s", st->topic_reason);
    else
        found = 0;
    pthread_mutex_unlock(&st->mu);
    return found;
}

/* Copies src into dst (cap bytes) with every occurrence of needle replaced by REDACTED. */
static void replace_all(const char *src, const char *needle, char *dst, size_t cap)
{
    size_t o = 0, n = strlen(needle), r = strlen(REDACTED);
    while (*src != '\0' && o + 1 < cap) {
        if (n > 0 && strncmp(src, needle, n) == 0) {
            if (o + r >= cap)
                break;
            memcpy(dst + o, REDACTED, r);
            o += r;
            src += n;
        } else {
            dst[o++] = *src++;
        }
    }
    if (cap > 0)
        dst[o] = '\0';
}

void vc_mq__scrub(const vc_kafka_conf_t *conf, const char *src, char *dst, size_t cap)
{
    char tmp[1024];
    snprintf(dst, cap, "%s", src);
    for (int i = 0; i < conf->n; i++) {
        const char *v = conf->buf + conf->at[i].value;
        if (strlen(v) < SCRUB_MIN || strstr(dst, v) == NULL)
            continue;
        replace_all(dst, v, tmp, sizeof(tmp));
        snprintf(dst, cap, "%s", tmp);
    }
}

/* Sets one property; on failure err names the key and says where it came from, with
 * librdkafka's reason scrubbed of this value and every operator value (it echoes some:
 * `Invalid value "<value>" for configuration property`). A short value found in the reason
 * cannot be replaced without garbling it, so the reason is dropped. */
static int conf_set(rd_kafka_conf_t *conf, const vc_kafka_config_t *cfg, const char *key,
                    const char *value, const char *origin, char *err, size_t errlen)
{
    char errstr[512], clean[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
        return 0;
    if (*value != '\0' && strstr(errstr, value) != NULL && strlen(value) < SCRUB_MIN)
        snprintf(clean, sizeof(clean), "invalid value");
    else
        replace_all(errstr, value, clean, sizeof(clean));
    vc_mq__scrub(&cfg->conf, clean, errstr, sizeof(errstr));
    return vc_err(err, errlen, VC_EINVAL, "kafka property %s%s: %s (value redacted)", key,
                  origin, errstr);
}

/* Where pass-through entry i came from, for errors: " (KAFKA_CONF_X)" or " (file line N)". */
static void origin_of(const vc_kafka_conf_t *pc, int i, char *buf, size_t len)
{
    if (pc->at[i].line > 0) {
        snprintf(buf, len, " (KAFKA_CONFIG_FILE line %d)", pc->at[i].line);
        return;
    }
    const char *k = pc->buf + pc->at[i].key;
    size_t o = (size_t)snprintf(buf, len, " (KAFKA_CONF_");
    for (; *k != '\0' && o + 2 < len; k++)
        buf[o++] = *k == '.' ? '_' : (char)(*k >= 'a' && *k <= 'z' ? *k - 32 : *k);
    if (o + 2 <= len) {
        buf[o++] = ')';
        buf[o] = '\0';
    }
}

int vc_mq__conf_build(const char *const (*kv)[2], const vc_kafka_config_t *cfg,
                      vc_mq__state_t *st, rd_kafka_conf_t **out, char *err, size_t errlen)
{
    /* Checked again here: a vc_kafka_config_t need not come from vc_kafka_config_from_env. */
    int rc = vc_kafka_conf_check(&cfg->conf, err, errlen);
    if (rc != 0)
        return rc;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (size_t i = 0; rc == 0 && kv[i][0] != NULL; i++)
        if (kv[i][1] != NULL)
            rc = conf_set(conf, cfg, kv[i][0], kv[i][1], "", err, errlen);
    /* After vcguard's settings, so the operator's tuning wins. */
    const vc_kafka_conf_t *pc = &cfg->conf;
    for (int i = 0; rc == 0 && i < pc->n; i++) {
        char origin[200];
        origin_of(pc, i, origin, sizeof(origin));
        rc = conf_set(conf, cfg, pc->buf + pc->at[i].key, pc->buf + pc->at[i].value, origin,
                      err, errlen);
    }
    if (rc != 0) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, st);
    *out = conf;
    return 0;
}

rd_kafka_t *vc_mq__new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const vc_kafka_config_t *cfg,
                       char *err, size_t errlen)
{
    char errstr[512], clean[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (rk != NULL)
        return rk;
    rd_kafka_conf_destroy(conf); /* rd_kafka_new takes conf only on success */
    vc_mq__scrub(&cfg->conf, errstr, clean, sizeof(clean));
    vc_err(err, errlen, VC_EINVAL, "kafka %s: %s",
           type == RD_KAFKA_PRODUCER ? "producer" : "consumer", clean);
    return NULL;
}

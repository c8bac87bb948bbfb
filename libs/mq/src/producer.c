/* Idempotent Kafka producer with synchronous delivery.
 *
 * Callers block in vc_producer_send until the delivery report for their message arrives; a
 * dedicated thread serves rd_kafka_poll so reports arrive whoever is waiting. Payloads are not
 * copied: the caller's buffer stays valid because the caller waits for the report. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_common.h"
#include "vc/error.h"
#include "vc/log.h"
#include "vc/mq.h"

struct vc_producer {
    vc_mq__state_t st; /* first: the conf opaque error_cb gets (kafka_common.h) */
    rd_kafka_t *rk;
    pthread_t poller;
    atomic_int stop;
    int poller_started;
    long long delivery_timeout_ms;
};

/* A set of in-flight sends; lives on the sender's stack until every report arrived. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    vc_mq_msg_t *msgs;
} delivery_t;

/* Per-message opaque: which batch, which slot. Array on the sender's heap. */
typedef struct {
    delivery_t *d;
    size_t index;
} slot_t;

static int map_error(rd_kafka_resp_err_t e);

/* @locality: the poller thread (inside rd_kafka_poll). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        vc_mq__state_ok(opaque); /* a broker took it: reachable and authenticated */
    slot_t *s = msg->_private;
    if (s == NULL)
        return;
    delivery_t *d = s->d;
    vc_mq_msg_t *m = &d->msgs[s->index];
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        m->rc = map_error(msg->err);
        snprintf(m->err, sizeof(m->err), "kafka delivery to %s: %s", m->topic,
                 rd_kafka_err2str(msg->err));
    }
    pthread_mutex_lock(&d->mu);
    if (--d->pending == 0)
        pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void *poller_main(void *arg)
{
    vc_producer_t *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 100);
    return NULL;
}

int vc_producer_new(const vc_kafka_config_t *cfg, const char *client_id, vc_producer_t **out,
                    char *err, size_t errlen)
{
    char num[32], num2[32];
    snprintf(num, sizeof(num), "%lld", cfg->message_max_bytes);
    snprintf(num2, sizeof(num2), "%lld", cfg->delivery_timeout_ms);
    const char *const kv[][2] = {
        {"bootstrap.servers", cfg->brokers},
        {"client.id", client_id},
        {"enable.idempotence", "true"}, /* implies acks=all, in-order, no duplicates */
        {"acks", "all"},
        {"message.max.bytes", num},
        {"message.timeout.ms", num2},
        {"linger.ms", "2"},
        /* Topics are provisioned (vc/topics.h), never created by a first produce. */
        {"allow.auto.create.topics", "false"},
        {"debug", cfg->debug[0] != '\0' ? cfg->debug : NULL},
        {NULL, NULL},
    };
    vc_producer_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return VC_ENOMEM;
    vc_mq__state_init(&p->st);
    p->delivery_timeout_ms = cfg->delivery_timeout_ms;
    rd_kafka_conf_t *conf = NULL;
    int rc = vc_mq__conf_build(kv, cfg, &p->st, &conf, err, errlen);
    if (rc != 0)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    p->rk = vc_mq__new(RD_KAFKA_PRODUCER, conf, cfg, err, errlen);
    if (p->rk == NULL) {
        rc = VC_EINVAL;
        goto fail;
    }
    if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
        rc = vc_err(err, errlen, VC_ENOMEM, "kafka producer: cannot start poller thread");
        goto fail;
    }
    p->poller_started = 1;
    *out = p;
    return 0;
fail:
    if (p->rk != NULL)
        rd_kafka_destroy(p->rk);
    vc_mq__state_destroy(&p->st);
    free(p);
    return rc;
}

void vc_producer_free(vc_producer_t *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, 1);
    if (p->poller_started)
        pthread_join(p->poller, NULL);
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, (int)p->delivery_timeout_ms + 1000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        VC_WARN("kafka.flush", "error=\"%s\" outstanding=%d", rd_kafka_err2str(e),
                rd_kafka_outq_len(p->rk));
    rd_kafka_destroy(p->rk);
    vc_mq__state_destroy(&p->st);
    free(p);
}

static int map_error(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return 0;
    case RD_KAFKA_RESP_ERR__FATAL: /* the producer is unusable (vc_producer_fatal) */
        return VC_ECLOSED;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
        return VC_ETOOBIG;
    /* The broker refuses this record, or this client, for good: retrying cannot help. */
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
        return VC_EPERM;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        return VC_EUNAVAIL;
    default:
        return VC_EIO;
    }
}

static rd_kafka_headers_t *headers_build(const vc_mq_header_t *hdrs, size_t nhdrs)
{
    if (nhdrs == 0)
        return NULL;
    rd_kafka_headers_t *h = rd_kafka_headers_new(nhdrs);
    for (size_t i = 0; i < nhdrs; i++)
        rd_kafka_header_add(h, hdrs[i].name, -1, hdrs[i].value, (ssize_t)hdrs[i].len);
    return h;
}

/* Hands one message to librdkafka. Returns 0 when queued (a report will follow). */
static int enqueue_one(vc_producer_t *p, vc_mq_msg_t *m, slot_t *slot)
{
    rd_kafka_headers_t *h = headers_build(m->hdrs, m->nhdrs);
    /* No RD_KAFKA_MSG_F_COPY: the sender waits for the report, so `value` outlives it. */
    rd_kafka_resp_err_t e = rd_kafka_producev(
        p->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_KEY(m->key, m->keylen),
        RD_KAFKA_V_VALUE((void *)m->value, m->len), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(slot), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    if (h != NULL)
        rd_kafka_headers_destroy(h); /* only taken over on success */
    m->rc = map_error(e);
    snprintf(m->err, sizeof(m->err), "kafka produce to %s: %s", m->topic, rd_kafka_err2str(e));
    return m->rc;
}

/* Fails every message at once when the producer is fatal: librdkafka would refuse them
 * anyway, and the caller should learn why. Returns 1 when it did. */
static int fail_if_fatal(vc_producer_t *p, vc_mq_msg_t *msgs, size_t n)
{
    char why[200];
    if (!vc_producer_fatal(p, why, sizeof(why)))
        return 0;
    for (size_t i = 0; i < n; i++) {
        msgs[i].rc = VC_ECLOSED;
        /* Cut to fit: the reason is for a log line. */
        if (snprintf(msgs[i].err, sizeof(msgs[i].err), "kafka producer unusable: %s", why) < 0)
            msgs[i].err[0] = '\0';
    }
    return 1;
}

size_t vc_producer_send_all(vc_producer_t *p, vc_mq_msg_t *msgs, size_t n)
{
    if (fail_if_fatal(p, msgs, n))
        return n;
    slot_t one, *slots = n == 1 ? &one : calloc(n, sizeof(*slots));
    size_t failed = 0;
    if (slots == NULL) {
        for (size_t i = 0; i < n; i++) {
            msgs[i].rc = VC_ENOMEM;
            snprintf(msgs[i].err, sizeof(msgs[i].err), "out of memory");
        }
        return n;
    }
    delivery_t d = {.pending = 0, .msgs = msgs};
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    for (size_t i = 0; i < n; i++) {
        msgs[i].rc = 0;
        msgs[i].err[0] = '\0';
        slots[i] = (slot_t){.d = &d, .index = i};
        pthread_mutex_lock(&d.mu);
        d.pending++;
        pthread_mutex_unlock(&d.mu);
        if (enqueue_one(p, &msgs[i], &slots[i]) != 0) {
            pthread_mutex_lock(&d.mu);
            d.pending--;
            pthread_mutex_unlock(&d.mu);
        }
    }
    pthread_mutex_lock(&d.mu);
    while (d.pending > 0)
        pthread_cond_wait(&d.cv, &d.mu);
    pthread_mutex_unlock(&d.mu);
    pthread_cond_destroy(&d.cv);
    pthread_mutex_destroy(&d.mu);
    for (size_t i = 0; i < n; i++)
        failed += msgs[i].rc != 0;
    if (slots != &one)
        free(slots);
    return failed;
}

int vc_producer_send(vc_producer_t *p, const char *topic, const char *key, size_t keylen,
                     const void *value, size_t len, const vc_mq_header_t *hdrs, size_t nhdrs,
                     char *err, size_t errlen)
{
    vc_mq_msg_t m = {.topic = topic, .key = key, .keylen = keylen, .value = value, .len = len,
                     .hdrs = hdrs, .nhdrs = nhdrs};
    if (vc_producer_send_all(p, &m, 1) == 0)
        return 0;
    return vc_err(err, errlen, m.rc, "%s", m.err);
}

int vc_producer_queue_len(vc_producer_t *p)
{
    return rd_kafka_outq_len(p->rk);
}

int vc_producer_check(vc_producer_t *p, const char *topic, int timeout_ms, char *err,
                      size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    if (rkt == NULL)
        return vc_err(err, errlen, VC_EUNAVAIL, "kafka: cannot create topic handle");
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, rkt, &md, timeout_ms);
    int rc = 0;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = vc_err(err, errlen, VC_EUNAVAIL, "kafka metadata: %s", rd_kafka_err2str(e));
    } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = vc_err(err, errlen, VC_EUNAVAIL, "kafka topic %s: %s", topic,
                    md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "missing");
    } else {
        for (int i = 0; i < md->topics[0].partition_cnt && rc == 0; i++)
            if (md->topics[0].partitions[i].leader < 0)
                rc = vc_err(err, errlen, VC_EUNAVAIL, "kafka topic %s partition %d: no leader",
                            topic, md->topics[0].partitions[i].id);
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        vc_mq__state_ok(&p->st); /* a broker answered */
    return rc;
}

int vc_producer_fatal(vc_producer_t *p, char *buf, size_t len)
{
    pthread_mutex_lock(&p->st.mu);
    int fatal = p->st.fatal;
    if (fatal && buf != NULL && len > 0)
        if (snprintf(buf, len, "%s", p->st.fatal_reason) < 0)
            buf[0] = '\0';
    pthread_mutex_unlock(&p->st.mu);
    return fatal;
}

int vc_producer_health(vc_producer_t *p, char *buf, size_t len)
{
    if (!vc_mq__state_problem(&p->st, 0, buf, len))
        return 0;
    return vc_producer_fatal(p, NULL, 0) ? VC_ECLOSED : VC_EPERM;
}

rd_kafka_t *vc_producer_handle(vc_producer_t *p)
{
    return p->rk;
}

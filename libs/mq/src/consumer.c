/* Consumer-group member with manual offset storage (enable.auto.offset.store=false): offsets
 * are stored only by vc_consumer_store, after the application finished the messages before
 * them; auto-commit then commits whatever was stored. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_common.h"
#include "vc/clock.h"
#include "vc/consumer.h"
#include "vc/error.h"
#include "vc/log.h"

#define CLOSE_TIMEOUT_MS 10000 /* the longest a consumer may take to leave its group */

struct vc_consumer {
    vc_mq__state_t st; /* first: the conf opaque every callback gets (kafka_common.h) */
    rd_kafka_t *rk;
    char topic[128];
    vc_consumer_rebalance_fn on_rebalance;
    void *opaque;
};

/* The topic is there and readable again: forget an authorisation or unknown-topic error. */
static void topic_ok(vc_consumer_t *c)
{
    pthread_mutex_lock(&c->st.mu);
    c->st.topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    pthread_mutex_unlock(&c->st.mu);
}

static void log_error(const char *what, rd_kafka_error_t *e)
{
    if (e == NULL)
        return;
    VC_ERROR("kafka.rebalance_error", "op=%s error=\"%s\"", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
}

/* @locality: the polling thread (called from inside rd_kafka_consumer_poll). */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    vc_consumer_t *c = opaque; /* its first member is the state the conf's opaque points at */
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop)
            log_error("incremental_assign", rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        if (parts->cnt > 0)
            topic_ok(c); /* the topic exists and we may read it */
        vc_mq__state_ok(&c->st);
        VC_INFO("kafka.assigned", "partitions=%d protocol=%s", parts->cnt,
                coop ? "cooperative" : "eager");
        if (c->on_rebalance != NULL)
            c->on_rebalance(c->opaque, VC_REBALANCE_ASSIGNED, parts);
        return;
    }
    int lost = err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && rd_kafka_assignment_lost(rk);
    VC_INFO("kafka.revoked", "partitions=%d lost=%d protocol=%s reason=\"%s\"", parts->cnt,
            lost, coop ? "cooperative" : "eager", rd_kafka_err2str(err));
    if (c->on_rebalance != NULL)
        c->on_rebalance(c->opaque, lost ? VC_REBALANCE_LOST : VC_REBALANCE_REVOKED, parts);
    if (coop)
        log_error("incremental_unassign", rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
}

static int conf_for(const vc_kafka_config_t *cfg, const char *group_id, const char *instance_id,
                    const char *group_instance_id, vc_mq__state_t *st, rd_kafka_conf_t **conf,
                    char *err, size_t errlen)
{
    char session[32], poll[32], part_fetch[32], fetch[32], recv[32], queue_kb[32];
    snprintf(session, sizeof(session), "%lld", cfg->session_timeout_ms);
    snprintf(poll, sizeof(poll), "%lld", cfg->max_poll_interval_ms);
    /* What a worker holds beyond its DETECTOR_MAX_INFLIGHT messages is librdkafka's pre-fetch:
     * whole fetch responses stay allocated while any message of theirs lives. Its defaults (a
     * 50 MiB fetch, 64 MiB and 100,000 messages queued) let a real broker grow a worker by
     * tens of MiB under a backlog (vc-devbroker answered one record batch per fetch and hid
     * it). Small fetches lose nothing: a fetch size is not an absolute maximum (KIP-74), so a
     * record batch larger than it, up to KAFKA_MESSAGE_MAX_BYTES, still comes back alone. */
    snprintf(part_fetch, sizeof(part_fetch), "%d", 1 << 20);
    snprintf(fetch, sizeof(fetch), "%d", 4 << 20);
    snprintf(queue_kb, sizeof(queue_kb), "%d", 16 << 10);
    snprintf(recv, sizeof(recv), "%lld", cfg->message_max_bytes * 2 + 1048576);
    const char *heartbeat = cfg->session_timeout_ms < 9000 ? "1000" : "3000";
    const char *const kv[][2] = {
        {"bootstrap.servers", cfg->brokers},
        {"group.id", group_id},
        {"client.id", instance_id},
        {"enable.auto.offset.store", "false"},
        {"enable.auto.commit", "true"},
        {"auto.commit.interval.ms", "1000"},
        {"auto.offset.reset", "earliest"},
        {"session.timeout.ms", session},
        {"heartbeat.interval.ms", heartbeat},
        {"max.poll.interval.ms", poll},
        {"max.partition.fetch.bytes", part_fetch},
        {"fetch.max.bytes", fetch},
        {"receive.message.max.bytes", recv},
        /* Detection latency matters more than fetch batching on an idle partition. */
        {"fetch.wait.max.ms", "50"},
        {"allow.auto.create.topics", "false"}, /* provisioned: vc/topics.h */
        {"partition.assignment.strategy",
         strcmp(cfg->assignment, "eager") == 0 ? "range,roundrobin" : "cooperative-sticky"},
        {"group.instance.id", group_instance_id},
        {"queued.max.messages.kbytes", queue_kb},
        {"queued.min.messages", "1000"},
        {"debug", cfg->debug[0] != '\0' ? cfg->debug : NULL},
        {NULL, NULL},
    };
    return vc_mq__conf_build(kv, cfg, st, conf, err, errlen);
}

int vc_consumer_new(const vc_kafka_config_t *cfg, const char *group_id, const char *instance_id,
                    const char *group_instance_id, const char *topic,
                    vc_consumer_rebalance_fn on_rebalance_fn, void *opaque, vc_consumer_t **out,
                    char *err, size_t errlen)
{
    if (strlen(topic) >= sizeof(((vc_consumer_t *)0)->topic))
        return vc_err(err, errlen, VC_EINVAL, "topic name too long");
    vc_consumer_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return VC_ENOMEM;
    vc_mq__state_init(&c->st);
    memcpy(c->topic, topic, strlen(topic) + 1);
    c->on_rebalance = on_rebalance_fn;
    c->opaque = opaque;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *subs = NULL;
    int rc = conf_for(cfg, group_id, instance_id, group_instance_id, &c->st, &conf, err,
                      errlen);
    if (rc != 0)
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    c->rk = vc_mq__new(RD_KAFKA_CONSUMER, conf, cfg, err, errlen);
    if (c->rk == NULL) {
        rc = VC_EINVAL;
        goto fail;
    }
    rd_kafka_poll_set_consumer(c->rk);
    subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = vc_err(err, errlen, VC_EIO, "kafka subscribe %s: %s", topic, rd_kafka_err2str(e));
        goto fail;
    }
    *out = c;
    return 0;
fail:
    if (c->rk != NULL)
        rd_kafka_destroy(c->rk);
    vc_mq__state_destroy(&c->st);
    free(c);
    return rc;
}

/* Errors that mean this member cannot consume its topic until an operator acts: not
 * authorised (topic, group, or not authenticated at all), or no such topic. */
static int is_topic_error(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
           e == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
           e == RD_KAFKA_RESP_ERR__AUTHENTICATION || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
           e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
}

/* Logs a consumer error and records the ones that make this member unhealthy. ERROR for
 * those, WARN for what librdkafka retries by itself. */
static void consume_error(vc_consumer_t *c, const rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        /* This member never consumes again: its owner must replace it (vc_consumer_health
         * says VC_ECLOSED). */
        vc_mq__record_fatal(c->rk, &c->st);
        return;
    }
    int bad = is_topic_error(m->err);
    vc_log(bad ? VC_LOG_ERROR : VC_LOG_WARN, "kafka.consume_error", "code=%s error=\"%s\"",
           rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
    if (!bad)
        return;
    pthread_mutex_lock(&c->st.mu);
    c->st.topic_err = m->err;
    snprintf(c->st.topic_reason, sizeof(c->st.topic_reason), "%s: %s",
             rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
    pthread_mutex_unlock(&c->st.mu);
}

rd_kafka_message_t *vc_consumer_poll(vc_consumer_t *c, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (m == NULL)
        return NULL;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        topic_ok(c); /* a message of our topic arrived */
        vc_mq__state_ok(&c->st);
        return m;
    }
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        consume_error(c, m);
    rd_kafka_message_destroy(m);
    return NULL;
}

int vc_consumer_health(vc_consumer_t *c, char *reason, size_t len)
{
    if (!vc_mq__state_problem(&c->st, 1, reason, len))
        return 0;
    pthread_mutex_lock(&c->st.mu);
    rd_kafka_resp_err_t e = c->st.topic_err;
    int fatal = c->st.fatal, auth = c->st.auth_failed;
    pthread_mutex_unlock(&c->st.mu);
    if (fatal)
        return VC_ECLOSED;
    if (!auth && (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC))
        return VC_ENOTFOUND;
    return VC_EPERM;
}

int vc_consumer_store(vc_consumer_t *c, int32_t partition, int64_t next_offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->topic, partition)->offset = next_offset;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
        e = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        VC_WARN("kafka.store_offset", "partition=%d offset=%lld error=\"%s\"", (int)partition,
                (long long)next_offset, rd_kafka_err2str(e));
        return VC_EINVAL;
    }
    return 0;
}

int vc_consumer_pause_all(vc_consumer_t *c, int pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(c->rk, &parts);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && parts->cnt > 0)
        e = pause ? rd_kafka_pause_partitions(c->rk, parts)
                  : rd_kafka_resume_partitions(c->rk, parts);
    if (parts != NULL)
        rd_kafka_topic_partition_list_destroy(parts);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : VC_EIO;
}

int vc_consumer_commit(vc_consumer_t *c)
{
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return 0;
    VC_WARN("kafka.commit", "error=\"%s\"", rd_kafka_err2str(e));
    return VC_EIO;
}

int vc_consumer_lag(vc_consumer_t *c, int32_t *parts, int64_t *lags, int cap)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return VC_EIO;
    rd_kafka_position(c->rk, a);
    int n = a->cnt;
    for (int i = 0; i < n && i < cap; i++) {
        int64_t lo = -1, hi = -1, pos = a->elems[i].offset;
        rd_kafka_get_watermark_offsets(c->rk, a->elems[i].topic, a->elems[i].partition, &lo,
                                       &hi);
        parts[i] = a->elems[i].partition;
        lags[i] = (hi >= 0 && pos >= 0) ? (hi > pos ? hi - pos : 0) : -1;
    }
    rd_kafka_topic_partition_list_destroy(a);
    return n;
}

/* Serves one event of the asynchronous close. The event API, not
 * rd_kafka_queue_poll_callback: that one aborts (rd_kafka_q_serve asserts "res !=
 * RD_KAFKA_OP_RES_PASS") when an op no callback handles reaches the queue, as a failed offset
 * commit during a rebalance does. Rebalance events get the callback's treatment. */
static void close_event(vc_consumer_t *c, rd_kafka_event_t *ev)
{
    switch (rd_kafka_event_type(ev)) {
    case RD_KAFKA_EVENT_REBALANCE:
        on_rebalance(c->rk, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev), c);
        break;
    case RD_KAFKA_EVENT_ERROR:
        VC_WARN("kafka.close_event", "error=\"%s\"", rd_kafka_event_error_string(ev));
        break;
    default:
        break;
    }
    rd_kafka_event_destroy(ev);
}

void vc_consumer_close(vc_consumer_t *c)
{
    if (c == NULL)
        return;
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        VC_WARN("kafka.commit", "error=\"%s\"", rd_kafka_err2str(e));
    /* Leaving the group is bounded: rd_kafka_consumer_close() can wait indefinitely when the
     * group is mid-rebalance and the coordinator does not answer (seen against vc-devbroker
     * after another member left: "Unknown member", then no progress). The asynchronous close
     * serves our rebalance callback on its own queue until done or CLOSE_TIMEOUT_MS; then
     * the handle is destroyed without another close. Offsets were committed above; the
     * group expires the member by its session timeout. */
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *error = q != NULL ? rd_kafka_consumer_close_queue(c->rk, q) : NULL;
    int closed = 0;
    if (q != NULL && error == NULL) {
        int64_t deadline = vc_clock_mono_ms() + CLOSE_TIMEOUT_MS;
        while (!(closed = rd_kafka_consumer_closed(c->rk)) && vc_clock_mono_ms() < deadline) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
            if (ev != NULL)
                close_event(c, ev);
        }
    }
    if (error != NULL) {
        VC_WARN("kafka.close", "error=\"%s\"", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    if (q != NULL)
        rd_kafka_queue_destroy(q);
    if (!closed)
        VC_WARN("kafka.close_timeout", "ms=%d msg=\"left without a clean group exit\"",
                CLOSE_TIMEOUT_MS);
    rd_kafka_destroy_flags(c->rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    vc_mq__state_destroy(&c->st);
    free(c);
}

int vc_consumer_assigned(vc_consumer_t *c)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return VC_EIO;
    int n = a->cnt;
    rd_kafka_topic_partition_list_destroy(a);
    return n;
}

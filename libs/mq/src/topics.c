/* Topic checks and provisioning through librdkafka's Admin API (see vc/topics.h).
 *
 * Checks read two things: metadata (existence, partitions, leaders, replicas) and the
 * topic's configuration (DescribeConfigs: the effective value, whether set on the topic or
 * inherited from the broker). Every call is bounded by the caller's timeout; the admin
 * requests use a queue of their own, so they never compete with a producer's poller. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_common.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/log.h"
#include "topics_internal.h"
#include "vc/topics.h"

typedef vc_topic_state_t topic_state_t;

int vc_topics_is_mock(rd_kafka_t *rk, int timeout_ms)
{
    char *id = rd_kafka_clusterid(rk, timeout_ms);
    int mock = id != NULL && strncmp(id, "mockCluster", 11) == 0;
    if (id != NULL)
        rd_kafka_mem_free(rk, id);
    return mock;
}

/* Metadata of one topic: VC_ENOTFOUND when the cluster does not know it, VC_EUNAVAIL when
 * it did not answer or a partition has no leader. */
static int read_metadata(rd_kafka_t *rk, const char *topic, int timeout_ms, topic_state_t *st,
                         char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rkt == NULL)
        return vc_err(err, errlen, VC_EINVAL, "topic %s: invalid name", topic);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    int rc = 0;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = vc_err(err, errlen, VC_EUNAVAIL, "topic %s: no metadata: %s", topic,
                    rd_kafka_err2str(e));
    } else if (md->topic_cnt != 1) {
        rc = vc_err(err, errlen, VC_EUNAVAIL, "topic %s: not in the metadata answer", topic);
    } else if (md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
               md->topics[0].err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
        rc = vc_err(err, errlen, VC_ENOTFOUND,
                    "topic %s does not exist (create it with `vc-admin topics ensure`)", topic);
    } else if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = vc_err(err, errlen, md->topics[0].err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
                                     ? VC_EPERM
                                     : VC_EUNAVAIL,
                    "topic %s: %s", topic, rd_kafka_err2str(md->topics[0].err));
    } else {
        const rd_kafka_metadata_topic_t *t = &md->topics[0];
        st->partitions = t->partition_cnt;
        st->replicas = t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
        for (int i = 0; i < t->partition_cnt && rc == 0; i++)
            if (t->partitions[i].leader < 0)
                rc = vc_err(err, errlen, VC_EUNAVAIL, "topic %s partition %" PRId32
                            ": no leader", topic, t->partitions[i].id);
        if (rc == 0 && t->partition_cnt == 0)
            rc = vc_err(err, errlen, VC_EUNAVAIL, "topic %s: no partitions", topic);
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op,
                                              int timeout_ms)
{
    char errstr[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    if (o == NULL)
        return NULL;
    rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, errstr, sizeof(errstr));
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
        rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, errstr, sizeof(errstr));
    return o;
}

/* Waits on q for the result of one admin request. Returns the event (caller destroys) or
 * NULL with err set. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int timeout_ms, const char *what,
                                    char *err, size_t errlen)
{
    /* The request times out on its own; the extra second lets its error event arrive. */
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    if (ev == NULL) {
        vc_err(err, errlen, VC_EUNAVAIL, "%s: no answer within %d ms", what, timeout_ms);
        return NULL;
    }
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        vc_err(err, errlen, VC_EUNAVAIL, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static long long entry_number(const rd_kafka_ConfigEntry_t *e)
{
    const char *v = rd_kafka_ConfigEntry_value(e);
    if (v == NULL || *v == '\0')
        return -1;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    return end != NULL && *end == '\0' ? n : -1;
}

static void apply_entries(const rd_kafka_ConfigResource_t *res, topic_state_t *st)
{
    size_t n = 0;
    const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res, &n);
    for (size_t i = 0; i < n; i++) {
        const char *name = rd_kafka_ConfigEntry_name(entries[i]);
        if (strcmp(name, "max.message.bytes") == 0)
            st->max_message_bytes = entry_number(entries[i]);
        else if (strcmp(name, "min.insync.replicas") == 0)
            st->min_insync_replicas = entry_number(entries[i]);
        else if (strcmp(name, "retention.ms") == 0)
            st->retention_ms = entry_number(entries[i]);
    }
}

/* DescribeConfigs of n topics in one request; fills st[i]. */
static int read_configs(rd_kafka_t *rk, const char *const *topics, size_t n, int timeout_ms,
                        topic_state_t *st, char *err, size_t errlen)
{
    rd_kafka_ConfigResource_t *res[8];
    if (n > sizeof(res) / sizeof(res[0]))
        return vc_err(err, errlen, VC_EINVAL, "too many topics to describe");
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS,
                                               timeout_ms);
    size_t made = 0;
    for (; made < n; made++)
        if ((res[made] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                                     topics[made])) == NULL)
            break;
    int rc = q == NULL || o == NULL || made < n ? vc_err(err, errlen, VC_ENOMEM, "describe") : 0;
    if (rc == 0) {
        rd_kafka_DescribeConfigs(rk, res, n, o, q);
        rd_kafka_event_t *ev = admin_wait(q, timeout_ms, "describe topic configs", err, errlen);
        rc = ev == NULL ? VC_EUNAVAIL : 0;
        size_t cnt = 0;
        const rd_kafka_ConfigResource_t **out =
            ev ? rd_kafka_DescribeConfigs_result_resources(
                     rd_kafka_event_DescribeConfigs_result(ev), &cnt)
               : NULL;
        for (size_t i = 0; i < cnt && rc == 0; i++) {
            const char *name = rd_kafka_ConfigResource_name(out[i]);
            rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(out[i]);
            for (size_t k = 0; k < n; k++) {
                if (strcmp(name, topics[k]) != 0)
                    continue;
                if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
                    rc = vc_err(err, errlen, VC_EUNAVAIL, "topic %s: describe configs: %s",
                                name, rd_kafka_err2str(e));
                else
                    apply_entries(out[i], &st[k]);
            }
        }
        if (ev != NULL)
            rd_kafka_event_destroy(ev);
    }
    for (size_t i = 0; i < made; i++)
        rd_kafka_ConfigResource_destroy(res[i]);
    if (o != NULL)
        rd_kafka_AdminOptions_destroy(o);
    if (q != NULL)
        rd_kafka_queue_destroy(q);
    return rc;
}

/* The configuration rules every client relies on. */
static int judge(const char *topic, const topic_state_t *st, long long need_bytes, char *err,
                 size_t errlen)
{
    if (st->min_insync_replicas > st->replicas)
        return vc_err(err, errlen, VC_EINVAL,
                      "topic %s: min.insync.replicas=%lld exceeds its replication factor %d: "
                      "no acks=all write can succeed", topic, st->min_insync_replicas,
                      st->replicas);
    if (need_bytes > 0 && st->max_message_bytes >= 0 && st->max_message_bytes < need_bytes)
        return vc_err(err, errlen, VC_EINVAL,
                      "topic %s: max.message.bytes=%lld is below the %lld this client may "
                      "send (KAFKA_MESSAGE_MAX_BYTES); raise it on the topic",
                      topic, st->max_message_bytes, need_bytes);
    return 0;
}

static void state_init(topic_state_t *st)
{
    *st = (topic_state_t){-1, -1, -1, -1, -1};
}

int vc_topics_check(rd_kafka_t *rk, const vc_topic_need_t *needs, size_t n, int timeout_ms,
                    char *err, size_t errlen)
{
    topic_state_t st[8] = {{0}};
    const char *names[8] = {NULL};
    if (n > sizeof(st) / sizeof(st[0]))
        return vc_err(err, errlen, VC_EINVAL, "too many topics to check");
    for (size_t i = 0; i < n; i++) {
        state_init(&st[i]);
        names[i] = needs[i].topic;
        int rc = read_metadata(rk, needs[i].topic, timeout_ms, &st[i], err, errlen);
        if (rc != 0)
            return rc;
    }
    if (vc_topics_is_mock(rk, timeout_ms)) {
        VC_INFO("kafka.topics", "broker=vc-devbroker check=existence_only topics=%zu", n);
        return 0;
    }
    int rc = read_configs(rk, names, n, timeout_ms, st, err, errlen);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = judge(needs[i].topic, &st[i], needs[i].min_message_bytes, err, errlen);
    return rc;
}

int vc_topics__probe(rd_kafka_t *rk, const char *topic, int timeout_ms, vc_topic_state_t *st,
                     char *err, size_t errlen)
{
    state_init(st);
    int rc = read_metadata(rk, topic, timeout_ms, st, err, errlen);
    if (rc == 0 && !vc_topics_is_mock(rk, timeout_ms))
        rc = read_configs(rk, &topic, 1, timeout_ms, st, err, errlen);
    return rc;
}

int vc_topics_startup_check(rd_kafka_t *rk, const vc_topic_need_t *needs, size_t n,
                            int timeout_ms, char *err, size_t errlen)
{
    /* On a cluster of several brokers, a topic created a moment ago may not be in every
     * broker's metadata yet: "does not exist" is believed only once it held for timeout_ms. */
    int64_t deadline = vc_clock_mono_ms() + timeout_ms;
    int rc = vc_topics_check(rk, needs, n, timeout_ms, err, errlen);
    while (rc == VC_ENOTFOUND && vc_clock_mono_ms() < deadline) {
        struct timespec ts = {0, 250 * 1000000L}; /* metadata propagation poll, bounded */
        nanosleep(&ts, NULL);
        rc = vc_topics_check(rk, needs, n, timeout_ms, err, errlen);
    }
    if (rc == VC_EUNAVAIL) {
        VC_WARN("kafka.topics_unchecked", "reason=\"%s\" note=\"topics are checked again by "
                "/health; the configuration check waits for the next start\"", err);
        return 0;
    }
    if (rc == 0)
        VC_INFO("kafka.topics_ok", "topics=%zu", n);
    return rc;
}

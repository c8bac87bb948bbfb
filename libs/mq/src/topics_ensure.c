/* `vc-admin topics ensure`: creates the topics that do not exist, as the spec says, and
 * checks those that do (vc/topics.h). An existing topic is never altered: a partition count
 * or a configuration that differs from the spec is reported, and refused only when clients
 * could not work with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_common.h"
#include "topics_internal.h"
#include "vc/clock.h"
#include "vc/config.h"
#include "vc/error.h"
#include "vc/log.h"
#include "vc/topics.h"

int vc_topic_spec_from_env(const vc_kafka_config_t *cfg, vc_topic_spec_t *spec, char *err,
                           size_t errlen)
{
    struct {
        const char *name;
        long long def, min, max;
        long long *dst;
    } f[] = {
        {"KAFKA_TOPIC_PARTITIONS", 12, 1, 10000, &spec->partitions},
        {"KAFKA_TOPIC_REPLICATION_FACTOR", 3, 1, 32, &spec->replication_factor},
        {"KAFKA_TOPIC_MIN_INSYNC_REPLICAS", 2, 1, 32, &spec->min_insync_replicas},
        {"KAFKA_TOPIC_RETENTION_MS", 604800000LL, 60000, 1LL << 50, &spec->retention_ms},
        {"KAFKA_TOPIC_DLQ_RETENTION_MS", 2592000000LL, 60000, 1LL << 50,
         &spec->dlq_retention_ms},
        {"KAFKA_TOPIC_MAX_MESSAGE_BYTES", cfg->message_max_bytes, cfg->message_max_bytes,
         1000000000, &spec->max_message_bytes},
        {"KAFKA_ADMIN_TIMEOUT_MS", 30000, 1000, 600000, &spec->timeout_ms},
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        int rc = vc_config_int(f[i].name, f[i].def, f[i].min, f[i].max, f[i].dst, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (spec->min_insync_replicas > spec->replication_factor)
        return vc_err(err, errlen, VC_EINVAL,
                      "KAFKA_TOPIC_MIN_INSYNC_REPLICAS=%lld: must not exceed "
                      "KAFKA_TOPIC_REPLICATION_FACTOR=%lld",
                      spec->min_insync_replicas, spec->replication_factor);
    return 0;
}

/* st receives the client's errors; it must outlive the client. */
static int admin_client(const vc_kafka_config_t *cfg, vc_mq__state_t *st, rd_kafka_t **out,
                        char *err, size_t errlen)
{
    const char *const kv[][2] = {
        {"bootstrap.servers", cfg->brokers},
        {"client.id", "vc-admin"},
        {"allow.auto.create.topics", "false"},
        {NULL, NULL},
    };
    rd_kafka_conf_t *conf = NULL;
    int rc = vc_mq__conf_build(kv, cfg, st, &conf, err, errlen);
    if (rc != 0)
        return rc;
    *out = vc_mq__new(RD_KAFKA_PRODUCER, conf, cfg, err, errlen);
    return *out != NULL ? 0 : VC_EINVAL;
}

static rd_kafka_NewTopic_t *new_topic(const char *name, const vc_topic_spec_t *s, int is_dlq,
                                      char *err, size_t errlen)
{
    char errstr[256], mib[32], ret[32], isr[32];
    rd_kafka_NewTopic_t *t = rd_kafka_NewTopic_new(name, (int)s->partitions,
                                                   (int)s->replication_factor, errstr,
                                                   sizeof(errstr));
    if (t == NULL) {
        vc_err(err, errlen, VC_EINVAL, "topic %s: %s", name, errstr);
        return NULL;
    }
    snprintf(mib, sizeof(mib), "%lld", s->max_message_bytes);
    snprintf(ret, sizeof(ret), "%lld", is_dlq ? s->dlq_retention_ms : s->retention_ms);
    snprintf(isr, sizeof(isr), "%lld", s->min_insync_replicas);
    rd_kafka_NewTopic_set_config(t, "max.message.bytes", mib);
    rd_kafka_NewTopic_set_config(t, "retention.ms", ret);
    rd_kafka_NewTopic_set_config(t, "min.insync.replicas", isr);
    rd_kafka_NewTopic_set_config(t, "cleanup.policy", "delete");
    return t;
}

/* CreateTopics for names[0..n); per-topic results printed to out. Returns how many failed
 * (an already existing topic is not a failure: another ensure may have raced this one). */
static int create_topics(rd_kafka_t *rk, const char *const *names, const int *is_dlq, size_t n,
                         const vc_topic_spec_t *s, FILE *out, char *err, size_t errlen)
{
    rd_kafka_NewTopic_t *nt[3];
    size_t made = 0;
    int failed = 0;
    for (; made < n; made++)
        if ((nt[made] = new_topic(names[made], s, is_dlq[made], err, errlen)) == NULL)
            break;
    rd_kafka_queue_t *q = made == n ? rd_kafka_queue_new(rk) : NULL;
    rd_kafka_AdminOptions_t *o = NULL;
    if (q != NULL) {
        char errstr[256];
        o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_request_timeout(o, (int)s->timeout_ms, errstr,
                                                  sizeof(errstr));
        rd_kafka_AdminOptions_set_operation_timeout(o, (int)s->timeout_ms, errstr,
                                                    sizeof(errstr));
        rd_kafka_CreateTopics(rk, nt, n, o, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)s->timeout_ms + 1000);
        if (ev == NULL || rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            vc_err(err, errlen, VC_EUNAVAIL, "create topics: %s",
                   ev ? rd_kafka_event_error_string(ev) : "no answer");
            failed = (int)n;
        } else {
            size_t cnt = 0;
            const rd_kafka_topic_result_t **r = rd_kafka_CreateTopics_result_topics(
                rd_kafka_event_CreateTopics_result(ev), &cnt);
            for (size_t i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t e = rd_kafka_topic_result_error(r[i]);
                const char *why = rd_kafka_topic_result_error_string(r[i]);
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                    fprintf(out, "%s\tcreated\tpartitions=%lld replication=%lld\n",
                            rd_kafka_topic_result_name(r[i]), s->partitions,
                            s->replication_factor);
                else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                    fprintf(out, "%s\tnot created\t%s\n", rd_kafka_topic_result_name(r[i]),
                            why ? why : rd_kafka_err2str(e));
                    failed++;
                }
            }
        }
        if (ev != NULL)
            rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
    } else if (made == n) {
        failed = (int)n;
        vc_err(err, errlen, VC_ENOMEM, "create topics: no queue");
    }
    for (size_t i = 0; i < made; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    return made < n ? (int)n : failed;
}

/* One line on an existing topic: what differs from the spec. Clients still work with a
 * topic that differs (vc_topics_check decides what is unusable), so these are warnings. */
static void report_existing(FILE *out, const char *name, const vc_topic_state_t *st,
                            const vc_topic_spec_t *s, int is_dlq)
{
    char notes[512] = "";
    size_t len = 0;
    long long want_ret = is_dlq ? s->dlq_retention_ms : s->retention_ms;
#define NOTE(...)                                                                              \
    do {                                                                                       \
        if (len < sizeof(notes))                                                               \
            len += (size_t)snprintf(notes + len, sizeof(notes) - len, __VA_ARGS__);            \
    } while (0)
    if (st->partitions < s->partitions)
        NOTE(" warning: %d partitions, fewer than KAFKA_TOPIC_PARTITIONS=%lld (not changed: "
             "adding partitions moves keys);", st->partitions, s->partitions);
    if (st->replicas < s->replication_factor)
        NOTE(" warning: replication factor %d < %lld;", st->replicas, s->replication_factor);
    if (st->min_insync_replicas >= 0 && st->min_insync_replicas < s->min_insync_replicas)
        NOTE(" warning: min.insync.replicas=%lld < %lld: an acknowledged write survives fewer "
             "broker losses;", st->min_insync_replicas, s->min_insync_replicas);
    if (st->retention_ms >= 0 && st->retention_ms != want_ret)
        NOTE(" note: retention.ms=%lld (spec %lld);", st->retention_ms, want_ret);
#undef NOTE
    fprintf(out, "%s\texists\tpartitions=%d replication=%d max.message.bytes=%lld%s\n", name,
            st->partitions, st->replicas, st->max_message_bytes, notes);
}

/* After CreateTopics succeeds, leaders are elected asynchronously. */
static int wait_usable(rd_kafka_t *rk, const vc_topic_need_t *needs, size_t n, int timeout_ms,
                       char *err, size_t errlen)
{
    int64_t deadline = vc_clock_mono_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - vc_clock_mono_ms());
        int rc = vc_topics_check(rk, needs, n, left > 1000 ? left : 1000, err, errlen);
        if (rc == 0 || rc == VC_EINVAL || rc == VC_EPERM || vc_clock_mono_ms() >= deadline)
            return rc;
        struct timespec ts = {0, 200 * 1000000L}; /* metadata propagation poll */
        nanosleep(&ts, NULL);
    }
}

int vc_topics_ensure(const vc_kafka_config_t *cfg, const vc_topic_spec_t *spec, int create,
                     FILE *out, char *err, size_t errlen)
{
    const char *names[3] = {cfg->topic_requests, cfg->topic_results, cfg->topic_dlq};
    const int dlq[3] = {0, 0, 1};
    vc_topic_need_t needs[3];
    for (int i = 0; i < 3; i++)
        needs[i] = (vc_topic_need_t){names[i], cfg->message_max_bytes};
    rd_kafka_t *rk = NULL;
    vc_mq__state_t st;
    vc_mq__state_init(&st);
    int rc = admin_client(cfg, &st, &rk, err, errlen);
    if (rc != 0) {
        vc_mq__state_destroy(&st);
        return rc;
    }
    int timeout = (int)spec->timeout_ms;
    if (vc_topics_is_mock(rk, timeout)) {
        fprintf(out, "# vc-devbroker (librdkafka mock cluster): it creates topics on first use "
                     "and has no topic configuration; existence checked only\n");
    } else {
        const char *missing[3];
        int missing_dlq[3];
        size_t nmissing = 0;
        for (int i = 0; i < 3 && rc == 0; i++) {
            vc_topic_state_t probe;
            rc = vc_topics__probe(rk, names[i], timeout, &probe, err, errlen);
            if (rc == VC_ENOTFOUND && create) {
                missing_dlq[nmissing] = dlq[i];
                missing[nmissing++] = names[i];
                rc = 0;
            } else if (rc == 0) {
                report_existing(out, names[i], &probe, spec, dlq[i]);
            }
        }
        if (rc == 0 && nmissing > 0 &&
            create_topics(rk, missing, missing_dlq, nmissing, spec, out, err, errlen) > 0)
            rc = VC_EINVAL;
    }
    if (rc == 0)
        rc = wait_usable(rk, needs, 3, timeout, err, errlen);
    char why[300];
    /* "transport failure" says less than the authentication error behind it. */
    if (rc == VC_EUNAVAIL && vc_mq__state_problem(&st, 0, why, sizeof(why)))
        vc_err(err, errlen, rc, "%s", why);
    rd_kafka_destroy(rk);
    vc_mq__state_destroy(&st);
    return rc;
}

int vc_topics_check_cluster(const vc_kafka_config_t *cfg, const vc_topic_need_t *needs,
                            size_t n, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_t *rk = NULL;
    vc_mq__state_t st;
    vc_mq__state_init(&st);
    int rc = admin_client(cfg, &st, &rk, err, errlen);
    if (rc == 0) {
        rc = vc_topics_startup_check(rk, needs, n, timeout_ms, err, errlen);
        char why[300];
        if (rc == 0 && vc_mq__state_problem(&st, 0, why, sizeof(why)))
            VC_ERROR("kafka.client_unusable", "reason=\"%s\"", why);
        rd_kafka_destroy(rk);
    }
    vc_mq__state_destroy(&st);
    return rc;
}

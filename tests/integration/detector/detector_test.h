#ifndef VC_TEST_DETECTOR_H
#define VC_TEST_DETECTOR_H
/* Helpers shared by the detector's integration tests (header-only; each test is one file):
 * producing requests straight to Kafka, reading the dead-letter topic, the supervisor's
 * /health, and the RSS of the supervisor's worker processes. */
#include <dirent.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/e2e.h"
#include "test.h"
#include "vc/clock.h"
#include "vc/mq.h"
#include "vc/wire.h"

/* A producer to the run's servers; caller frees with vc_producer_free. */
static inline vc_producer_t *dt_producer(const vc_e2e_t *e)
{
    vc_kafka_config_t kc;
    char err[256];
    setenv("KAFKA_BROKERS", e->kafka, 1);
    ASSERT_OK(vc_kafka_config_from_env(&kc, err, sizeof(err)));
    vc_producer_t *p = NULL;
    ASSERT_OK(vc_producer_new(&kc, "detector-test", &p, err, sizeof(err)));
    return p;
}

/* Encodes a WAV DetectionRequest with id <prefix><suffix>; caller frees *buf. */
static inline void dt_request(const vc_e2e_t *e, const char *suffix, const uint8_t *wav,
                              size_t wav_len, uint8_t **buf, size_t *len)
{
    vc_request_t req;
    memset(&req, 0, sizeof(req));
    req.v = VC_WIRE_VERSION;
    int n = snprintf(req.id, sizeof(req.id), "%s%s", e->id_prefix, suffix);
    ASSERT(n > 0 && (size_t)n < sizeof(req.id));
    memcpy(req.tenant, e->tenant, sizeof(req.tenant));
    req.type = VC_TYPE_AUDIO;
    req.has_audio = 1;
    snprintf(req.audio.format, sizeof(req.audio.format), "wav");
    req.audio.data = wav;
    req.audio.len = wav_len;
    req.submitted_at_ms = vc_clock_wall_ms();
    ASSERT_OK(vc_wire_request_encode(&req, buf, len));
}

/* Produces one request (key = its id) to the run's request topic and waits for the ack. */
static inline void dt_produce(vc_producer_t *p, const vc_e2e_t *e, const char *suffix,
                              const uint8_t *wav, size_t wav_len)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char id[160], err[256];
    dt_request(e, suffix, wav, wav_len, &buf, &len);
    snprintf(id, sizeof(id), "%s%s", e->id_prefix, suffix);
    if (vc_producer_send(p, vc_e2e_topic(e, 0), id, strlen(id), buf, len, NULL, 0, err,
                         sizeof(err)) != 0)
        VC_TEST_FAIL("produce %s: %s", id, err);
    free(buf);
}

/* GETs url and parses the JSON body; NULL on any failure. *status gets the HTTP status. */
static inline json_t *dt_get_json(const char *url, long *status)
{
    char *resp = NULL;
    long st = vc_test_http("GET", url, NULL, NULL, 0, &resp);
    if (status != NULL)
        *status = st;
    json_t *o = resp != NULL ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return o;
}

/* The detection's state from the gateway ("queued", "processing", ...) into out; returns
 * the JSON (caller decrefs) or NULL when not found. */
static inline json_t *dt_detection(const vc_e2e_t *e, const char *suffix, const char **status)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/detections/%s%s", e->base_url, e->id_prefix, suffix);
    long st = 0;
    json_t *o = dt_get_json(url, &st);
    *status = st == 200 ? json_string_value(json_object_get(o, "status")) : NULL;
    return o;
}

/* Waits until the detection is final (completed or failed); returns its JSON. */
static inline json_t *dt_wait_final(const vc_e2e_t *e, const char *suffix, int timeout_s)
{
    return vc_e2e_wait_final(e, suffix, timeout_s);
}

/* The value of a sample line `name ` in Prometheus text, or -1. */
static inline double dt_metric(const char *text, const char *name)
{
    char pat[300];
    snprintf(pat, sizeof(pat), "\n%.250s ", name);
    const char *p = strstr(text, pat);
    return p != NULL ? strtod(p + strlen(pat), NULL) : -1;
}

/* Polls the gateway's /metrics (every 0.5 s, up to timeout_s) until the supervisor metric
 * `<metric>{instance="<prefix>det-1"}` reaches want; returns its last value (-1: absent). The
 * supervisor writes its snapshot to Redis once a second, so the first reads may be stale. */
static inline double dt_gateway_supervisor_metric(const vc_e2e_t *e, const char *metric,
                                                  double want, int timeout_s)
{
    char url[128], name[256];
    snprintf(url, sizeof(url), "%s/metrics", e->base_url);
    snprintf(name, sizeof(name), "%.100s{instance=\"%.100sdet-1\"}", metric, e->id_prefix);
    double v = -1;
    for (int i = 0; i < 2 * timeout_s && v < want; i++) {
        char *text = NULL;
        ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, &text), 200);
        v = dt_metric(text, name);
        free(text);
        if (v < want) {
            struct timespec ts = {0, 500000000L};
            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "gateway /metrics: %s %g\n", name, v);
    return v;
}

/* Reads the run's DLQ topic from the start until a record with key `key` and error.stage
 * `stage` appears (or timeout_s passes); returns 1 when found and copies its reason. */
static inline int dt_find_dead_letter(const vc_e2e_t *e, const char *key, const char *stage,
                                      int timeout_s, char *reason, size_t reason_cap)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", e->kafka, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", "dlq-audit", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    ASSERT(rk != NULL);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(6);
    for (int p = 0; p < 6; p++)
        rd_kafka_topic_partition_list_add(parts, vc_e2e_topic(e, 2), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    ASSERT_EQ(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    int found = 0;
    time_t deadline = time(NULL) + timeout_s;
    while (!found && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (m == NULL)
            continue;
        rd_kafka_headers_t *h = NULL;
        const void *st = NULL, *rs = NULL;
        size_t sl = 0, rl = 0;
        if (m->err == 0 && m->key_len == strlen(key) && memcmp(m->key, key, m->key_len) == 0 &&
            rd_kafka_message_headers(m, &h) == 0 &&
            rd_kafka_header_get_last(h, "error.stage", &st, &sl) == 0 &&
            rd_kafka_header_get_last(h, "error.reason", &rs, &rl) == 0 && sl == strlen(stage) &&
            memcmp(st, stage, sl) == 0) {
            snprintf(reason, reason_cap, "%.*s", (int)rl, (const char *)rs);
            found = 1;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return found;
}

/* VmRSS of pid in bytes (0 when gone). */
static inline long long dt_rss(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long long kb = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

#endif

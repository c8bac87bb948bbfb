/* 10 000 unauthenticated submissions, fast, over 16 concurrent keep-alive connections (libcurl
 * multi): no key, an unknown well-formed key, a malformed key, a revoked key, the wrong auth
 * scheme, on every submission route. Every one must get 401 with the JSON error and
 * WWW-Authenticate, and none may reach Kafka: the gateway publishes to this run's own request
 * topic, whose high watermarks must still be 0 afterwards, and become 1 after one
 * authenticated submission (so the check can see a message when there is one). */
#include <curl/curl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"
#include "vc/base64.h"
#include "vc/mq.h"

#define TOTAL 10000
#define CONCURRENCY 16
#define PARTITIONS 3

static hostile_t h;
static char topic[160], topic_env[200], revoked_key[64];
static char *single_body, *batch_body;

typedef struct {
    CURL *easy;
    struct curl_slist *hdrs;
    char *resp;
    size_t len;
    char www_auth; /* the answer carried WWW-Authenticate */
    int kind;
} slot_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    slot_t *s = ud;
    size_t k = size * n;
    char *nb = realloc(s->resp, s->len + k + 1);
    if (nb == NULL)
        return 0;
    memcpy(nb + s->len, p, k);
    s->resp = nb;
    s->len += k;
    s->resp[s->len] = '\0';
    return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    slot_t *s = ud;
    if (size * n >= 17 && strncasecmp(p, "WWW-Authenticate:", 17) == 0)
        s->www_auth = 1;
    return size * n;
}

/* Sets up slot s for request number i (the kinds rotate). */
static void prepare(slot_t *s, int i)
{
    static const char *const paths[] = {
        "/v1/detections", "/v1/detections/batch",  "/detect",
        "/detect/batch",  "/v1/detections?wait=5", "/v1/detections"};
    s->kind = i % 6;
    char url[256], auth[160];
    snprintf(url, sizeof(url), "%s%s", h.base, paths[s->kind]);
    curl_slist_free_all(s->hdrs);
    s->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    switch (s->kind) {
    case 1: /* well-formed, unknown */
        s->hdrs = curl_slist_append(
            s->hdrs, "Authorization: Bearer vck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        break;
    case 2:
        s->hdrs = curl_slist_append(s->hdrs, "Authorization: Bearer not-a-key' OR '1'='1");
        break;
    case 3:
        snprintf(auth, sizeof(auth), "X-API-Key: %s", revoked_key);
        s->hdrs = curl_slist_append(s->hdrs, auth);
        break;
    case 5: /* the right key in the wrong scheme is no key */
        snprintf(auth, sizeof(auth), "Authorization: Basic %s", h.key);
        s->hdrs = curl_slist_append(s->hdrs, auth);
        break;
    default:
        break;
    }
    const char *body = (s->kind == 1 || s->kind == 3) ? batch_body : single_body;
    free(s->resp);
    s->resp = NULL;
    s->len = 0;
    s->www_auth = 0;
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
}

static void check_answer(slot_t *s, CURLcode res)
{
    long st = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &st);
    if (res != CURLE_OK || st != 401 || !s->www_auth)
        VC_TEST_FAIL("kind %d: %s, status %ld, WWW-Authenticate %d: %s", s->kind,
                     curl_easy_strerror(res), st, s->www_auth, s->resp ? s->resp : "");
    json_t *o = json_loads(s->resp, 0, NULL);
    const char *code = json_string_value(json_object_get(json_object_get(o, "error"), "code"));
    if (code == NULL || strcmp(code, "unauthorized") != 0)
        VC_TEST_FAIL("kind %d: body %s", s->kind, s->resp);
    json_decref(o);
}

static void flood(void)
{
    CURLM *multi = curl_multi_init();
    ASSERT(multi != NULL);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)CONCURRENCY);
    slot_t slots[CONCURRENCY];
    memset(slots, 0, sizeof(slots));
    int next = 0, done = 0;
    for (int i = 0; i < CONCURRENCY; i++) {
        slots[i].easy = curl_easy_init();
        prepare(&slots[i], next++);
        curl_multi_add_handle(multi, slots[i].easy);
    }
    long t0 = vc_raw_now_ms(), connects = 0;
    while (done < TOTAL) {
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            slot_t *s = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode res = m->data.result;
            long nc = 0;
            curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &nc);
            connects += nc;
            check_answer(s, res);
            done++;
            curl_multi_remove_handle(multi, s->easy);
            if (next < TOTAL) {
                prepare(s, next++);
                curl_multi_add_handle(multi, s->easy);
            }
        }
        if (done < TOTAL)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    long ms = vc_raw_now_ms() - t0;
    fprintf(stderr,
            "%d unauthenticated requests: all 401 in %ld ms (%.0f/s) over %ld connections\n", TOTAL,
            ms, TOTAL * 1000.0 / (double)(ms > 0 ? ms : 1), connects);
    for (int i = 0; i < CONCURRENCY; i++) {
        curl_easy_cleanup(slots[i].easy);
        curl_slist_free_all(slots[i].hdrs);
        free(slots[i].resp);
    }
    curl_multi_cleanup(multi);
}

/* Sum of the high watermarks of the run's request topic. */
static long long messages_in_topic(void)
{
    setenv("KAFKA_BROKERS", h.kafka, 1);
    vc_kafka_config_t kc;
    char err[256] = "";
    ASSERT_OK(vc_kafka_config_from_env(&kc, err, sizeof(err)));
    vc_producer_t *p = NULL;
    if (vc_producer_new(&kc, "hostile-watermarks", &p, err, sizeof(err)) != 0)
        VC_TEST_FAIL("kafka client: %s", err);
    long long sum = 0;
    for (int part = 0; part < PARTITIONS; part++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        /* A topic created a moment ago may not have its partition leaders yet (Apache Kafka
         * elects them after CreateTopics returns): those answers are retried, briefly. */
        for (int tries = 0; tries < 60; tries++) {
            e = rd_kafka_query_watermark_offsets(vc_producer_handle(p), topic, part, &lo, &hi,
                                                 10000);
            if (e != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
                e != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
                e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                break;
            usleep(250000); /* waiting for the cluster's leader election */
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            VC_TEST_FAIL("watermarks of %s/%d: %s", topic, part, rd_kafka_err2str(e));
        sum += hi;
    }
    vc_producer_free(p);
    return sum;
}

static void no_unauthenticated_request_reaches_kafka(void)
{
    ASSERT_EQ(messages_in_topic(), 0);
    flood();
    ASSERT_EQ(messages_in_topic(), 0);
    /* The control: one authenticated submission is one message. */
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/v1/detections", h.base);
    vc_test_api_key = h.key;
    long st =
        vc_test_http("POST", url, "application/json", single_body, strlen(single_body), &resp);
    vc_test_api_key = NULL;
    if (st != 202)
        VC_TEST_FAIL("authenticated submission: %ld %s", st, resp);
    free(resp);
    ASSERT_EQ(messages_in_topic(), 1);
    hostile_expect_healthy(&h, "the flood");
}

int main(void)
{
    hostile_init(&h, "unauth");
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "hostile-unauth-%d-%ld-", (int)getpid(), (long)time(NULL));
    snprintf(topic, sizeof(topic), "%srequests", prefix);
    vc_test_create_topics(h.kafka, prefix, PARTITIONS);
    snprintf(topic_env, sizeof(topic_env), "KAFKA_TOPIC_REQUESTS=%s", topic);
    long long rid = 0;
    char tenant[96];
    snprintf(tenant, sizeof(tenant), "%s-revoked", h.tenant);
    vc_test_create_key(h.pg, tenant, 0, revoked_key, &rid);
    vc_test_revoke_key(h.pg, rid);

    size_t wav_len = 0, n = 0;
    unsigned char *wav = vc_test_wav_sine(440, 0.5, 0.05, 8000, &wav_len);
    size_t cap = vc_base64_encoded_len(wav_len) + 1;
    char *b64 = malloc(cap);
    ASSERT_OK(vc_base64_encode(wav, wav_len, b64, cap, &n));
    free(wav);
    json_t *one = json_pack("{s:s, s:s}", "detection_type", "audio", "audio_data", b64);
    single_body = json_dumps(one, JSON_COMPACT);
    json_t *batch = json_pack("{s:[O,O]}", "requests", one, one);
    batch_body = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    json_decref(one);
    free(b64);

    /* Room for all 16 clients: load shedding (503) comes before authentication. */
    const char *extra[] = {topic_env, "API_KEY_NEGATIVE_CACHE_TTL=1s", "MAX_CONCURRENT_REQUESTS=64",
                           "HTTP_THREADS=96", NULL};
    hostile_start(&h, extra);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    RUN(no_unauthenticated_request_reaches_kafka);
    hostile_stop(&h);
    curl_global_cleanup();
    free(single_body);
    free(batch_body);
    return 0;
}

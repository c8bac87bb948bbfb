/* Media that lies about itself: base64 payloads that decode to WAV headers declaring gigabytes
 * of data, absurd durations, sample rates or channel counts. The gateway checks what a WAV
 * header declares against the bytes really present and the detectors' limits
 * (MAX_AUDIO_SECONDS, here 2 s; MAX_AUDIO_CHANNELS) and refuses a lie with a clear 400/413
 * before anything is sized from it; its memory stays flat. The same lies published straight to
 * Kafka (the batch producers' door, which skips the gateway) must fail cleanly in a detector:
 * a final result, never a crash or an allocation of the declared size. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"
#include "vc/base64.h"
#include "vc/mq.h"
#include "vc/wire.h"

static hostile_t h;
static char prefix[64], topics[3][200], group[96];

typedef struct {
    uint32_t riff_size; /* 0: the true size */
    uint16_t tag, channels, block, bits;
    uint32_t rate, byte_rate;
    uint32_t data_size; /* declared */
    size_t real_bytes;  /* present */
    int data_first;     /* data chunk before fmt */
} wav_spec_t;

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* A WAV as the spec declares it, with real_bytes of a quiet ramp as data. Caller frees. */
static uint8_t *make_wav(const wav_spec_t *s, size_t *len)
{
    size_t total = 12 + 24 + 8 + s->real_bytes;
    uint8_t *w = calloc(1, total);
    ASSERT(w != NULL);
    memcpy(w, "RIFF", 4);
    put32(w + 4, s->riff_size != 0 ? s->riff_size : (uint32_t)(total - 8));
    memcpy(w + 8, "WAVE", 4);
    uint8_t *fmt = w + (s->data_first ? 12 + 8 + s->real_bytes : 12);
    uint8_t *data = w + (s->data_first ? 12 : 12 + 24);
    memcpy(fmt, "fmt ", 4);
    put32(fmt + 4, 16);
    put16(fmt + 8, s->tag);
    put16(fmt + 10, s->channels);
    put32(fmt + 12, s->rate);
    put32(fmt + 16, s->byte_rate);
    put16(fmt + 20, s->block);
    put16(fmt + 22, s->bits);
    memcpy(data, "data", 4);
    put32(data + 4, s->data_size);
    for (size_t i = 0; i < s->real_bytes; i++)
        data[8 + i] = (uint8_t)(i * 7);
    *len = total;
    return w;
}

/* An honest 16-bit mono 8 kHz WAV header for n data bytes. */
static wav_spec_t honest(size_t n)
{
    return (wav_spec_t){.tag = 1,
                        .channels = 1,
                        .block = 2,
                        .bits = 16,
                        .rate = 8000,
                        .byte_rate = 16000,
                        .data_size = (uint32_t)n,
                        .real_bytes = n};
}

static long vm_peak_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    ASSERT(f != NULL);
    long kib = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmPeak: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Submits media as audio_data; the answer must be status (+ code and a message naming the
 * given fragment). */
static void submit(const uint8_t *media, size_t len, const char *extra, long status,
                   const char *code, const char *msg_part, const char *what)
{
    size_t cap = vc_base64_encoded_len(len) + 1, n = 0;
    char *b64 = malloc(cap);
    ASSERT(b64 != NULL);
    ASSERT_OK(vc_base64_encode(media, len, b64, cap, &n));
    json_t *o = json_pack("{s:s, s:s}", "detection_type", "audio", "audio_data", b64);
    if (extra != NULL) {
        json_t *x = json_loads(extra, 0, NULL);
        json_object_update(o, x);
        json_decref(x);
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(b64);
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/v1/detections", h.base);
    vc_test_api_key = h.key;
    long st = vc_test_http("POST", url, "application/json", body, strlen(body), &resp);
    vc_test_api_key = NULL;
    free(body);
    fprintf(stderr, "%s: %ld %s\n", what, st, resp);
    if (st != status)
        VC_TEST_FAIL("%s: %ld %s, want %ld %s", what, st, resp, status, code ? code : "");
    if (code != NULL) {
        json_t *r = json_loads(resp, 0, NULL);
        json_t *e = json_object_get(r, "error");
        const char *c = json_string_value(json_object_get(e, "code"));
        const char *m = json_string_value(json_object_get(e, "message"));
        if (c == NULL || strcmp(c, code) != 0 || m == NULL ||
            (msg_part != NULL && strstr(m, msg_part) == NULL))
            VC_TEST_FAIL("%s: %s, want code %s mentioning \"%s\"", what, resp, code,
                         msg_part ? msg_part : "");
        json_decref(r);
    }
    free(resp);
}

static void lying_wav_headers_are_refused_at_the_door(void)
{
    long peak0 = vm_peak_kib(h.gateway.pid);
    size_t len;
    uint8_t *w;

    wav_spec_t s = honest(4000); /* 0.25 s: the positive control */
    w = make_wav(&s, &len);
    submit(w, len, NULL, 202, NULL, NULL, "honest WAV");
    free(w);

    s = honest(1000);
    s.data_size = 0xfffffff0u; /* "4 GB of audio" in a 1 KB payload */
    w = make_wav(&s, &len);
    submit(w, len, NULL, 400, "invalid_request", "declares 4294967280 bytes", "4 GB data claim");
    free(w);

    s = honest(1000);
    s.riff_size = 0xfffffff0u;
    w = make_wav(&s, &len);
    submit(w, len, NULL, 400, "invalid_request", "RIFF header declares", "4 GB RIFF claim");
    free(w);

    s = honest(16000 * 3); /* an honest header, a real 3 s: over MAX_AUDIO_SECONDS=2 */
    w = make_wav(&s, &len);
    submit(w, len, NULL, 413, "payload_too_large", "MAX_AUDIO_SECONDS", "3 s over a 2 s limit");
    free(w);

    s = honest(1000);
    s.rate = 1; /* 1 Hz: 1000 bytes would be 500 s */
    s.byte_rate = 2;
    w = make_wav(&s, &len);
    submit(w, len, NULL, 400, "invalid_request", "sample rate", "1 Hz sample rate");
    free(w);

    s = honest(1000);
    s.byte_rate = 1; /* claims 1000 s for 1000 bytes */
    w = make_wav(&s, &len);
    submit(w, len, NULL, 400, "invalid_request", "byte rate", "byte rate lie");
    free(w);

    s = honest(1000);
    s.channels = 65535;
    w = make_wav(&s, &len);
    submit(w, len, NULL, 413, "payload_too_large", "MAX_AUDIO_CHANNELS", "65535 channels");
    free(w);

    s = honest(1000);
    s.channels = 0;
    w = make_wav(&s, &len);
    submit(w, len, NULL, 400, "invalid_request", "channels", "0 channels");
    free(w);

    s = honest(1000);
    s.data_first = 1;
    w = make_wav(&s, &len);
    submit(w, len, NULL, 400, "invalid_request", "before a fmt", "data before fmt");
    free(w);

    /* A fmt chunk that claims to be larger than the file. */
    s = honest(8);
    w = make_wav(&s, &len);
    put32(w + 16, 0xfffffff0u);
    submit(w, len, NULL, 400, "invalid_request", "fmt  chunk declares", "huge fmt chunk");
    free(w);

    /* Raw PCM has no header to lie with, but its length still counts: 3 s at 8 kHz. */
    size_t pcm_len = 8000 * 2 * 3;
    uint8_t *pcm = calloc(1, pcm_len);
    ASSERT(pcm != NULL);
    submit(pcm, pcm_len, "{\"audio_format\":\"pcm16\",\"sample_rate\":8000}", 413,
           "payload_too_large", "MAX_AUDIO_SECONDS", "3 s of pcm16");
    free(pcm);

    long peak1 = vm_peak_kib(h.gateway.pid);
    fprintf(stderr, "gateway VmPeak %ld -> %ld KiB\n", peak0, peak1);
    /* Nothing was sized from a header: no gigabyte mapping appeared (a 4 GB claim taken at
     * its word would show here even untouched). */
    ASSERT(peak1 - peak0 < 1024 * 1024);
    hostile_expect_healthy(&h, "lying WAV headers");
}

/* ---- the Kafka door --------------------------------------------------------------------- */

static void create_topics(void)
{
    static const char *const kinds[3][2] = {
        {"REQUESTS", "requests"}, {"RESULTS", "results"}, {"DLQ", "dlq"}};
    vc_test_create_topics(getenv("VC_TEST_KAFKA_BROKERS"), prefix, 2);
    for (int k = 0; k < 3; k++) {
        snprintf(topics[k], sizeof(topics[k]), "KAFKA_TOPIC_%s=%s%s", kinds[k][0], prefix,
                 kinds[k][1]);
    }
}

/* Publishes a DetectionRequest carrying media straight to the run's request topic. */
static void publish(vc_producer_t *p, const char *id, const uint8_t *media, size_t len)
{
    vc_request_t req;
    memset(&req, 0, sizeof(req));
    req.v = VC_WIRE_VERSION;
    snprintf(req.id, sizeof(req.id), "%.*s", (int)sizeof(req.id) - 1, id);
    snprintf(req.tenant, sizeof(req.tenant), "%.*s", (int)sizeof(req.tenant) - 1, h.tenant);
    req.type = VC_TYPE_AUDIO;
    req.has_audio = 1;
    snprintf(req.audio.format, sizeof(req.audio.format), "wav");
    req.audio.data = media;
    req.audio.len = len;
    req.submitted_at_ms = (int64_t)time(NULL) * 1000;
    uint8_t *msg = NULL;
    size_t mlen = 0;
    ASSERT_OK(vc_wire_request_encode(&req, &msg, &mlen));
    char topic[160], err[256] = "";
    snprintf(topic, sizeof(topic), "%srequests", prefix);
    if (vc_producer_send(p, topic, id, strlen(id), msg, mlen, NULL, 0, err, sizeof(err)) != 0)
        VC_TEST_FAIL("produce %s: %s", id, err);
    free(msg);
}

/* Waits (through the gateway) for the detection's final state; returns it (caller decrefs).
 * Published straight to Kafka it has no placeholder: 404 until a detector stored something. */
static json_t *final_result(const char *id)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/v1/detections/%.128s?wait=5", h.base, id);
    vc_test_api_key = h.key;
    long t0 = vc_raw_now_ms();
    while (vc_raw_now_ms() - t0 < 90000) {
        char *resp = NULL;
        long st = vc_test_http("GET", url, NULL, NULL, 0, &resp);
        json_t *o = json_loads(resp, 0, NULL);
        free(resp);
        const char *status = json_string_value(json_object_get(o, "status"));
        if (st == 200 && status != NULL &&
            (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0)) {
            vc_test_api_key = NULL;
            return o;
        }
        json_decref(o);
        if (st == 404) {
            struct timespec ts = {0, 200000000L}; /* polling another process's progress */
            nanosleep(&ts, NULL);
        }
    }
    VC_TEST_FAIL("%s: no final result within 90 s", id);
}

static void lies_that_skip_the_gateway_fail_cleanly_in_a_detector(void)
{
    create_topics();
    /* Restart the gateway on the run's topics, so it reads the detector's results. */
    hostile_stop(&h);
    const char *extra[] = {"MAX_AUDIO_SECONDS=2", topics[0], topics[1], topics[2], NULL};
    hostile_start(&h, extra);
    setenv("KAFKA_BROKERS", h.kafka, 1);
    vc_kafka_config_t kc;
    char err[256] = "";
    ASSERT_OK(vc_kafka_config_from_env(&kc, err, sizeof(err)));
    vc_producer_t *p = NULL;
    if (vc_producer_new(&kc, "hostile-media", &p, err, sizeof(err)) != 0)
        VC_TEST_FAIL("producer: %s", err);

    struct {
        const char *name;
        wav_spec_t spec;
        const char *reason; /* a failed result's reason must mention this; NULL: may complete */
    } lies[] = {
        {"claim4g", honest(4000), NULL},
        {"rate1hz", honest(4000), "sample rate"},
        {"chan65535", honest(4000), "audio: "}, /* libsndfile refuses it outright */
        {"long", honest(8000 * 2 * 3), "limit"},
    };
    lies[0].spec.data_size = 0xfffffff0u; /* decoders read what is there, not what is said */
    lies[1].spec.rate = 1;
    lies[1].spec.byte_rate = 2;
    lies[2].spec.channels = 65535;
    lies[2].spec.block = 2;
    size_t n = sizeof(lies) / sizeof(lies[0]);
    char ids[4][128];
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *w = make_wav(&lies[i].spec, &len);
        snprintf(ids[i], sizeof(ids[i]), "%s%s", prefix, lies[i].name);
        publish(p, ids[i], w, len);
        free(w);
    }
    vc_producer_free(p);

    char e_redis[256], e_pg[256], e_kafka[512];
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", h.redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", h.pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", h.kafka);
    const char *denv[] = {e_redis,
                          e_pg,
                          e_kafka,
                          group,
                          topics[0],
                          topics[1],
                          topics[2],
                          "KAFKA_SESSION_TIMEOUT_MS=6000",
                          "KAFKA_MAX_POLL_INTERVAL_MS=30000",
                          "THREAD_POOL_SIZE=2",
                          "PROCESS_POOL_SIZE=1",
                          "INSTANCE_ID=hostile-media",
                          "MAX_AUDIO_SECONDS=2",
                          NULL};
    vc_proc_t det;
    vc_test_spawn(&det, "detector", "vc-detector", denv);
    for (size_t i = 0; i < n; i++) {
        json_t *r = final_result(ids[i]);
        const char *status = json_string_value(json_object_get(r, "status"));
        const char *reason = json_string_value(json_object_get(r, "reason"));
        fprintf(stderr, "%s via Kafka: %s%s%s\n", lies[i].name, status, reason ? ": " : "",
                reason ? reason : "");
        if (lies[i].reason != NULL && (strcmp(status, "failed") != 0 || reason == NULL ||
                                       strstr(reason, lies[i].reason) == NULL))
            VC_TEST_FAIL("%s: %s (%s), want failed mentioning \"%s\"", lies[i].name, status,
                         reason ? reason : "no reason", lies[i].reason);
        json_decref(r);
    }
    int rc = vc_test_stop(&det, 30);
    if (rc != 0) {
        vc_test_print_log(&det, 40);
        VC_TEST_FAIL("detector exited with %d (a crash while decoding?)", rc);
    }
}

int main(void)
{
    hostile_init(&h, "media");
    snprintf(prefix, sizeof(prefix), "hostile-media-%d-%ld-", (int)getpid(), (long)time(NULL));
    snprintf(group, sizeof(group), "KAFKA_GROUP_ID=%sgroup", prefix);
    const char *extra[] = {"MAX_AUDIO_SECONDS=2", NULL};
    hostile_start(&h, extra);
    RUN(lying_wav_headers_are_refused_at_the_door);
    RUN(lies_that_skip_the_gateway_fail_cleanly_in_a_detector);
    hostile_stop(&h);
    return 0;
}

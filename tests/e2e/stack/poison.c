/* Poison and batches straight from Kafka producers: an undecodable message and a request
 * whose WAV is corrupt each land in the dead-letter topic with a reason (the corrupt one also
 * gets a `failed` result), while valid messages around them complete; a BatchEnvelope of 50
 * items produced with kcat, as schemas/msgpack/batch_envelope.md shows, yields 50 results. */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/e2e.h"
#include "test.h"
#include "vc/clock.h"
#include "vc/mq.h"
#include "vc/wire.h"
#include "vc/wire_batch.h"

static vc_e2e_t e;
static unsigned char *wav;
static size_t wav_len;

static void request_for(vc_request_t *req, const char *suffix, const uint8_t *audio, size_t len)
{
    memset(req, 0, sizeof(*req));
    req->v = VC_WIRE_VERSION;
    snprintf(req->id, sizeof(req->id), "%s%s", e.id_prefix, suffix);
    memcpy(req->tenant, e.tenant, sizeof(req->tenant));
    req->type = VC_TYPE_AUDIO;
    req->has_audio = 1;
    snprintf(req->audio.format, sizeof(req->audio.format), "wav");
    req->audio.data = audio;
    req->audio.len = len;
    req->submitted_at_ms = vc_clock_wall_ms();
}

static void produce(vc_producer_t *p, const char *key, const void *value, size_t len)
{
    char err[256];
    if (vc_producer_send(p, vc_e2e_topic(&e, 0), key, strlen(key), value, len, NULL, 0, err,
                         sizeof(err)) != 0)
        VC_TEST_FAIL("produce %s: %s", key, err);
}

static void produce_request(vc_producer_t *p, const vc_request_t *req)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    ASSERT_OK(vc_wire_request_encode(req, &buf, &len));
    produce(p, req->id, buf, len);
    free(buf);
}

static void expect_status(const char *suffix, const char *status)
{
    json_t *o = vc_e2e_wait_final(&e, suffix, 90);
    if (strcmp(json_string_value(json_object_get(o, "status")), status) != 0) {
        char *t = json_dumps(o, 0);
        VC_TEST_FAIL("%s: expected %s, got %s", suffix, status, t);
    }
    if (strcmp(status, "failed") == 0)
        ASSERT(json_string_value(json_object_get(o, "reason")) != NULL);
    json_decref(o);
}

/* The documented way: the envelope in a file, one message per file with kcat. */
static void produce_batch_with_kcat(int n)
{
    vc_request_t *reqs = calloc((size_t)n, sizeof(*reqs));
    for (int i = 0; i < n; i++) {
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "batch-%d", i);
        request_for(&reqs[i], suffix, wav, wav_len);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    ASSERT_OK(vc_wire_batch_encode(reqs, (size_t)n, &buf, &len));
    char path[512];
    snprintf(path, sizeof(path), "%s/batch.msgpack", vc_test_tmpdir());
    FILE *f = fopen(path, "wb");
    ASSERT(f != NULL && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
    free(buf);
    free(reqs);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("kcat", "kcat", "-P", "-b", e.kafka, "-t", vc_e2e_topic(&e, 0), "-k",
               "batch-envelope", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Reads the run's DLQ topic from the beginning until both poison records are seen. */
static void check_dead_letters(void)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", e.kafka, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", "dlq-audit", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    ASSERT(rk != NULL);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(6);
    for (int p = 0; p < 6; p++)
        rd_kafka_topic_partition_list_add(parts, vc_e2e_topic(&e, 2), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    ASSERT_EQ(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    int poison = 0, corrupt = 0;
    time_t deadline = time(NULL) + 60;
    while ((!poison || !corrupt) && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (m == NULL)
            continue;
        rd_kafka_headers_t *h = NULL;
        const void *stage = NULL, *reason = NULL;
        size_t sl = 0, rl = 0;
        if (m->err == 0 && rd_kafka_message_headers(m, &h) == 0 &&
            rd_kafka_header_get_last(h, "error.stage", &stage, &sl) == 0 &&
            rd_kafka_header_get_last(h, "error.reason", &reason, &rl) == 0) {
            fprintf(stderr, "dlq: key=%.*s stage=%.*s reason=%.*s\n", (int)m->key_len,
                    (const char *)m->key, (int)sl, (const char *)stage, (int)rl,
                    (const char *)reason);
            poison |= m->key_len == 8 && memcmp(m->key, "poison-1", 8) == 0 && sl == 6 &&
                      memcmp(stage, "decode", 6) == 0;
            corrupt |= sl == 7 && memcmp(stage, "analyse", 7) == 0;
            ASSERT(rl > 0);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    ASSERT(poison);
    ASSERT(corrupt);
}

int main(void)
{
    vc_e2e_init(&e, "poison");
    vc_e2e_start(&e, 1);
    wav = vc_test_wav_sine(700, 0.5, 0.3, 16000, &wav_len);
    vc_kafka_config_t kc;
    setenv("KAFKA_BROKERS", e.kafka, 1);
    char err[256];
    ASSERT_OK(vc_kafka_config_from_env(&kc, err, sizeof(err)));
    vc_producer_t *p = NULL;
    ASSERT_OK(vc_producer_new(&kc, "poison-test", &p, err, sizeof(err)));

    vc_request_t req;
    request_for(&req, "before", wav, wav_len);
    produce_request(p, &req);
    produce(p, "poison-1", "this is not msgpack", 19);
    /* A WAV header over garbage: sniffs as WAV, fails to decode in the detector. */
    unsigned char corrupt[64];
    memcpy(corrupt, wav, 12);
    memset(corrupt + 12, 0xEE, sizeof(corrupt) - 12);
    request_for(&req, "corrupt", corrupt, sizeof(corrupt));
    produce_request(p, &req);
    request_for(&req, "after", wav, wav_len);
    produce_request(p, &req);
    vc_producer_free(p);

    expect_status("before", "completed");
    expect_status("after", "completed");
    expect_status("corrupt", "failed");
    check_dead_letters();

    produce_batch_with_kcat(50);
    for (int i = 0; i < 50; i++) {
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "batch-%d", i);
        expect_status(suffix, "completed");
    }
    vc_e2e_stop(&e);
    free(wav);
    return 0;
}

/* The operator's librdkafka properties reach a running gateway, and a secret among them never
 * reaches its log. Broker-agnostic: runs against whatever $VC_TEST_KAFKA_BROKERS names (the
 * embedded vc-devbroker in tests/run, or a real cluster whose client settings come in through
 * the inherited environment, e.g. KAFKA_CONFIG_FILE).
 *
 * 1. A harmless pass-through (KAFKA_CONF_SOCKET_TIMEOUT_MS, plus a properties file when the
 *    environment brings none) leaves the gateway healthy and accepting submissions.
 * 2. SASL/PLAIN with a made-up password over KAFKA_CONF_*: the gateway starts (creating the
 *    producer does not connect), /health answers 503 within a few seconds naming Kafka,
 *    a submission is refused 503 within the delivery timeout, SIGTERM stops it with status 0
 *    (nothing hangs), and the password appears nowhere in its log although LOG_LEVEL=debug
 *    and KAFKA_DEBUG=conf,security,broker print every setting librdkafka has. A wrong
 *    credential is not fatal (librdkafka retries, an operator may fix the broker side), so
 *    the gateway stays up and unready rather than exiting. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/stack.h"
#include "test.h"
#include "vc/base64.h"
#include "vc/clock.h"

static const char *redis, *pg, *kafka;

static void harmless_setting_works(void)
{
    static char file_env[600];
    const char *extra[6] = {"KAFKA_CONF_SOCKET_TIMEOUT_MS=45000", "AUTH_MODE=off",
                            "RATE_LIMIT_PER_MINUTE=100000", NULL, NULL, NULL};
    char path[512] = "";
    if (getenv("KAFKA_CONFIG_FILE") == NULL) {
        snprintf(path, sizeof(path), "%s/kafka.properties", vc_test_tmpdir());
        FILE *f = fopen(path, "w");
        ASSERT(f != NULL);
        fputs("# harmless tuning, as an operator would write it\n\n"
              "  socket.keepalive.enable = true\n! Java-style comment\nlinger.ms=5\n", f);
        fclose(f);
        snprintf(file_env, sizeof(file_env), "KAFKA_CONFIG_FILE=%s", path);
        extra[3] = file_env;
    }
    vc_proc_t gw;
    char base[64], *resp = NULL;
    vc_test_start_gateway(&gw, base, sizeof(base), redis, pg, kafka, extra);
    long st = vc_test_submit_tone(base, &resp);
    if (st != 202)
        VC_TEST_FAIL("submission with pass-through settings: %ld %s", st, resp);
    free(resp);
    ASSERT_EQ(vc_test_stop(&gw, 30), 0);
    if (path[0] != '\0')
        unlink(path);
}

/* Polls /health until it answers at all; returns the status and the body (caller frees). */
static long first_health(const char *base, int timeout_s, char **body)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/health", base);
    int64_t deadline = vc_clock_mono_ms() + timeout_s * 1000LL;
    long st = -1;
    /* 503 starting: listening, not routing yet (an instant at start-up). */
    while (((st = vc_test_http("GET", url, NULL, NULL, 0, body)) < 0 ||
            (*body != NULL && strstr(*body, "\"starting\"") != NULL)) &&
           vc_clock_mono_ms() < deadline) {
        free(*body);
        *body = NULL;
        struct timespec ts = {0, 100 * 1000000L}; /* waiting for the listener, bounded */
        nanosleep(&ts, NULL);
    }
    return st;
}

static void bad_credentials_never_logged(void)
{
    char secret[64], e_pw[128], e_port[32], e_redis[600], e_pg[600], e_kafka[600], base[64];
    snprintf(secret, sizeof(secret), "s3cret-value-%ld", (long)getpid());
    snprintf(e_pw, sizeof(e_pw), "KAFKA_CONF_SASL_PASSWORD=%s", secret);
    int port = vc_test_free_port();
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", port);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", kafka);
    const char *env[] = {e_port, e_redis, e_pg, e_kafka, "AUTH_MODE=off",
                         "RATE_LIMIT_PER_MINUTE=100000", "LOG_LEVEL=debug",
                         "KAFKA_DEBUG=conf,security,broker", "KAFKA_DELIVERY_TIMEOUT_MS=3000",
                         "KAFKA_CONF_SECURITY_PROTOCOL=SASL_PLAINTEXT",
                         "KAFKA_CONF_SASL_MECHANISM=PLAIN", "KAFKA_CONF_SASL_USERNAME=vc-test",
                         e_pw, NULL};
    vc_proc_t gw;
    int64_t t0 = vc_clock_mono_ms();
    vc_test_spawn(&gw, "gateway-sasl", "vc-gateway", env);
    char *body = NULL;
    long st = first_health(base, 30, &body);
    int64_t ms = vc_clock_mono_ms() - t0;
    fprintf(stderr, "first /health %ld after %lld ms: %s\n", st, (long long)ms, body);
    if (st != 503 || body == NULL || strstr(body, "\"kafka\":{\"ok\":false") == NULL) {
        vc_test_print_log(&gw, 40);
        VC_TEST_FAIL("with a bad Kafka credential: /health %ld %s", st, body ? body : "");
    }
    ASSERT(ms < 20000); /* start-up plus one 2 s metadata wait, with slack for a busy host */
    free(body);
    char *resp = NULL;
    t0 = vc_clock_mono_ms();
    st = vc_test_submit_tone(base, &resp);
    if (st != 503 || resp == NULL || strstr(resp, "queue_unavailable") == NULL)
        VC_TEST_FAIL("submission with a bad Kafka credential: %ld %s", st, resp ? resp : "");
    fprintf(stderr, "submission refused after %lld ms\n", (long long)(vc_clock_mono_ms() - t0));
    ASSERT(vc_clock_mono_ms() - t0 < 15000);
    free(resp);
    ASSERT_EQ(vc_test_stop(&gw, 30), 0);
    size_t len = 0;
    char *log = vc_test_read_file(gw.log_path, &len);
    ASSERT(vc_test_contains(log, len, "sasl.password")); /* the conf dump ran: the check means something */
    if (vc_test_contains(log, len, secret)) {
        vc_test_print_log(&gw, 60);
        VC_TEST_FAIL("the Kafka password reached the gateway log %s", gw.log_path);
    }
    free(log);
}

int main(void)
{
    redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    RUN(harmless_setting_works);
    RUN(bad_credentials_never_logged);
    return 0;
}

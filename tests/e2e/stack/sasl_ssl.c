/* The stack over SASL_SSL (SCRAM-SHA-512) on Apache Kafka, configured only through the
 * KAFKA_CONF_* pass-through, as an operator of a managed cluster would:
 *
 * 1. A gateway and a detector on the broker's SASL_SSL listener (certificate made by tests/run
 *    with openssl, SCRAM user created at format time) carry 20 submissions end to end:
 *    each comes back completed exactly once, in PostgreSQL and Redis.
 * 2. A wrong password, and then a CA that did not sign the broker's certificate: the gateway
 *    starts, says why at start-up ("kafka.topics_unchecked" names the authentication or SSL
 *    failure), answers /health 503 with Kafka down within seconds, never hangs (SIGTERM ends
 *    it with status 0), and the password appears nowhere in its log.
 *
 * Needs the SASL_SSL listener tests/run starts (VC_TEST_KAFKA_SASL_*); skips without it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/e2e.h"
#include "test.h"
#include "vc/clock.h"

#define N_REQUESTS 20

static const char *sasl, *ca, *user, *password;

static void set_client_env(const char *pw, const char *ca_path)
{
    setenv("KAFKA_CONF_SECURITY_PROTOCOL", "SASL_SSL", 1);
    setenv("KAFKA_CONF_SASL_MECHANISM", "SCRAM-SHA-512", 1);
    setenv("KAFKA_CONF_SASL_USERNAME", user, 1);
    setenv("KAFKA_CONF_SASL_PASSWORD", pw, 1);
    setenv("KAFKA_CONF_SSL_CA_LOCATION", ca_path, 1);
}

/* A gateway with client settings that cannot work: /health must say so, fast. */
static void refused(vc_e2e_t *e, const char *what, const char *pw, const char *ca_path,
                    const char *expect_in_log)
{
    set_client_env(pw, ca_path);
    int port = vc_test_free_port();
    char base[64], e_port[32], e_redis[600], e_pg[600], e_kafka[600], url[96];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    snprintf(url, sizeof(url), "%s/health", base);
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", port);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", e->redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", e->pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", sasl);
    const char *env[] = {e_port, e_redis, e_pg, e_kafka, e->topics[0], e->topics[1],
                         e->topics[2], "LOG_LEVEL=debug", "KAFKA_DEBUG=security,broker",
                         "KAFKA_DELIVERY_TIMEOUT_MS=3000", NULL};
    vc_proc_t gw;
    int64_t t0 = vc_clock_mono_ms();
    vc_test_spawn(&gw, what, "vc-gateway", env);
    long st = -1;
    char *body = NULL;
    while (vc_clock_mono_ms() - t0 < 30000) {
        free(body);
        body = NULL;
        st = vc_test_http("GET", url, NULL, NULL, 0, &body);
        /* 503 starting: listening, not routing yet (an instant at start-up). */
        if (st > 0 && (body == NULL || strstr(body, "\"starting\"") == NULL))
            break;
        struct timespec ts = {0, 100 * 1000000L}; /* waiting for the listener, bounded */
        nanosleep(&ts, NULL);
    }
    int64_t ms = vc_clock_mono_ms() - t0;
    fprintf(stderr, "sasl_ssl: %s: first /health %ld after %lld ms: %s\n", what, st,
            (long long)ms, body ? body : "");
    if (st != 503 || body == NULL || strstr(body, "\"kafka\":{\"ok\":false") == NULL) {
        vc_test_print_log(&gw, 40);
        VC_TEST_FAIL("%s: /health %ld, expected 503 with Kafka down", what, st);
    }
    free(body);
    ASSERT(ms < 15000);
    ASSERT_EQ(vc_test_stop(&gw, 30), 0);
    char *log = vc_test_read_file(gw.log_path, NULL);
    if (strstr(log, pw) != NULL)
        VC_TEST_FAIL("%s: the password reached the gateway's log", what);
    if (strstr(log, expect_in_log) == NULL) {
        vc_test_print_log(&gw, 40);
        VC_TEST_FAIL("%s: the log does not say '%s'", what, expect_in_log);
    }
    free(log);
}

int main(void)
{
    static vc_e2e_t e;
    sasl = vc_test_env_or_skip("VC_TEST_KAFKA_SASL_BOOTSTRAP");
    ca = vc_test_env_or_skip("VC_TEST_KAFKA_CA");
    user = vc_test_env_or_skip("VC_TEST_KAFKA_SASL_USER");
    password = vc_test_env_or_skip("VC_TEST_KAFKA_SASL_PASSWORD");
    /* Topics are provisioned over the cluster's plaintext listener, the way an operator's
     * admin step would run with its own credentials; the services use only SASL_SSL. */
    vc_e2e_init(&e, "sasl");
    e.kafka = sasl;
    set_client_env(password, ca);
    vc_e2e_start(&e, 1);
    int accepted = vc_e2e_submit(&e, N_REQUESTS, 4);
    if (accepted != N_REQUESTS)
        vc_test_print_log(&e.gateway, 40);
    ASSERT_EQ(accepted, N_REQUESTS);
    vc_e2e_wait_completed(&e, 120);
    vc_e2e_check_postgres(&e);
    vc_e2e_check_redis(&e);
    vc_e2e_stop(&e);
    fprintf(stderr, "sasl_ssl: %d submissions completed over SASL_SSL/SCRAM-SHA-512\n",
            N_REQUESTS);

    char wrong[64];
    snprintf(wrong, sizeof(wrong), "wrong-%ld-%s", (long)getpid(), "x9Qv");
    refused(&e, "gateway-wrong-password", wrong, ca, "uthentication");
    /* The system's CA bundle: trusted roots, none of which signed the test broker. */
    refused(&e, "gateway-untrusted-ca", password, "/etc/ssl/certs/ca-certificates.crt",
            "certificate verify failed");
    return 0;
}

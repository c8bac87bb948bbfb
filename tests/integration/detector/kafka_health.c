/* A detector whose request topic does not exist is not healthy: its worker joins the group
 * but is assigned nothing, and its consumer reports UNKNOWN_TOPIC_OR_PART; the supervisor's
 * /health must say 503 `down` with that reason instead of counting the worker as joined.
 * Broker-agnostic ($VC_TEST_KAFKA_BROKERS), but it needs a cluster that does not create
 * topics by itself: vc-devbroker (librdkafka's mock cluster) auto-creates any topic it is
 * asked about, so there the worker gets partitions and the test skips (77), saying so. Real
 * Kafka with auto.create.topics.enable=false runs it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/stack.h"
#include "test.h"
#include "vc/clock.h"

int main(void)
{
    const char *redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    const char *pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    const char *kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    int port = vc_test_free_port();
    char e_port[32], e_redis[600], e_pg[600], e_kafka[600], e_topic[128], e_group[128];
    char url[96];
    snprintf(e_port, sizeof(e_port), "DETECTOR_HTTP_PORT=%d", port);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", kafka);
    snprintf(e_topic, sizeof(e_topic), "KAFKA_TOPIC_REQUESTS=vc.test.missing.%ld",
             (long)getpid());
    snprintf(e_group, sizeof(e_group), "KAFKA_GROUP_ID=vc-test-missing-%ld", (long)getpid());
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
    const char *env[] = {e_port, e_redis, e_pg, e_kafka, e_topic, e_group,
                         "PROCESS_POOL_SIZE=1", "THREAD_POOL_SIZE=1",
                         "KAFKA_SESSION_TIMEOUT_MS=6000", "KAFKA_MAX_POLL_INTERVAL_MS=30000",
                         NULL};
    vc_proc_t det;
    vc_test_spawn(&det, "detector-missing-topic", "vc-detector", env);
    int64_t deadline = vc_clock_mono_ms() + 60000;
    char *body = NULL;
    long st = -1;
    int seen = 0;
    while (!seen && vc_clock_mono_ms() < deadline) {
        free(body);
        body = NULL;
        st = vc_test_http("GET", url, NULL, NULL, 0, &body);
        seen = st == 503 && body != NULL && strstr(body, "UNKNOWN_TOPIC") != NULL;
        if (st == 200 && body != NULL && strstr(body, "\"partitions\":0") == NULL &&
            strstr(body, "\"joined\":1") != NULL) {
            fprintf(stderr, "skip: the cluster created the missing topic (vc-devbroker does): "
                            "%s\n", body);
            vc_test_stop(&det, 30);
            return 77;
        }
        if (!seen) {
            struct timespec ts = {0, 200 * 1000000L}; /* polling /health, bounded */
            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "/health %ld: %s\n", st, body ? body : "");
    if (!seen) {
        vc_test_print_log(&det, 40);
        VC_TEST_FAIL("/health never reported the missing topic");
    }
    json_t *o = json_loads(body, 0, NULL);
    ASSERT(o != NULL);
    ASSERT_STREQ(json_string_value(json_object_get(o, "status")), "down");
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(o, "workers"), "joined")), 0);
    ASSERT(strstr(json_string_value(json_object_get(o, "reason")), "UNKNOWN_TOPIC") != NULL);
    json_decref(o);
    free(body);
    ASSERT_EQ(vc_test_stop(&det, 30), 0);
    return 0;
}

/* Services refuse to start on topics they cannot use, naming the topic and the setting,
 * instead of running unready or crash-looping (topics are provisioned by `vc-admin topics
 * ensure`, never auto-created: every client sets allow.auto.create.topics=false).
 *
 * 1. A request topic that does not exist: vc-detector (its supervisor, before forking any
 *    worker) exits 2 and vc-gateway exits 1, each within seconds, and each log names the
 *    topic and the command that creates it.
 * 2. Topics whose max.message.bytes (1 MiB) is below what the clients may send
 *    (KAFKA_MESSAGE_MAX_BYTES, 17 MiB by default): both refuse, naming max.message.bytes.
 *
 * Needs a cluster that neither auto-creates topics nor hides their configuration: Apache
 * Kafka ($VC_TEST_KAFKA_KIND=apache); skips elsewhere (vc-devbroker creates any topic asked
 * for and describes no configuration). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/stack.h"
#include "test.h"
#include "vc/clock.h"
#include "vc/topics.h"

static const char *redis, *pg, *kafka;

/* Waits up to timeout_s for p to exit on its own; returns its status (-1: still running). */
static int exit_status(vc_proc_t *p, int timeout_s)
{
    int64_t deadline = vc_clock_mono_ms() + timeout_s * 1000LL;
    while (vc_clock_mono_ms() < deadline) {
        int status = 0;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        struct timespec ts = {0, 50 * 1000000L}; /* polling a child's exit, bounded */
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int log_has(const vc_proc_t *p, const char *needle)
{
    FILE *f = fopen(p->log_path, "r");
    ASSERT(f != NULL);
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static void expect_refusal(const char *bin, const char *name, const char *prefix, int want,
                           const char *needle1, const char *needle2)
{
    char e_redis[600], e_pg[600], e_kafka[600], t[3][200], e_group[128];
    const char *kinds[3][2] = {{"REQUESTS", "requests"}, {"RESULTS", "results"}, {"DLQ", "dlq"}};
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", kafka);
    for (int k = 0; k < 3; k++)
        snprintf(t[k], sizeof(t[k]), "KAFKA_TOPIC_%s=%s%s", kinds[k][0], prefix, kinds[k][1]);
    snprintf(e_group, sizeof(e_group), "KAFKA_GROUP_ID=%sgroup", prefix);
    char e_port[32];
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", vc_test_free_port());
    const char *env[] = {e_redis, e_pg, e_kafka, t[0], t[1], t[2], e_group, e_port,
                         "PROCESS_POOL_SIZE=1", "THREAD_POOL_SIZE=1", NULL};
    vc_proc_t p;
    int64_t t0 = vc_clock_mono_ms();
    vc_test_spawn(&p, name, bin, env);
    int st = exit_status(&p, 30);
    long long ms = (long long)(vc_clock_mono_ms() - t0);
    fprintf(stderr, "%s: exit %d after %lld ms\n", name, st, ms);
    if (st < 0)
        vc_test_stop(&p, 10);
    if (st != want || !log_has(&p, needle1) || !log_has(&p, needle2)) {
        vc_test_print_log(&p, 20);
        VC_TEST_FAIL("%s: expected exit %d with '%s' and '%s' in its log", name, want, needle1,
                     needle2);
    }
}

int main(void)
{
    redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    const char *kind = getenv("VC_TEST_KAFKA_KIND");
    if (kind == NULL || strcmp(kind, "apache") != 0) {
        fprintf(stderr, "skip: needs Apache Kafka (VC_TEST_KAFKA_KIND=apache)\n");
        return 77;
    }
    char missing[96], small[96], topic[160];
    snprintf(missing, sizeof(missing), "refused-missing-%d-", (int)getpid());
    snprintf(topic, sizeof(topic), "topic %srequests does not exist", missing);
    expect_refusal("vc-detector", "detector-missing", missing, 2, topic, "vc-admin topics ensure");
    expect_refusal("vc-gateway", "gateway-missing", missing, 1, topic, "vc-admin topics ensure");

    /* Topics made with a 1 MiB message limit, as a broker's default would give them. */
    snprintf(small, sizeof(small), "refused-small-%d-", (int)getpid());
    vc_kafka_config_t cfg = {.message_max_bytes = 1 << 20};
    snprintf(cfg.brokers, sizeof(cfg.brokers), "%s", kafka);
    snprintf(cfg.topic_requests, sizeof(cfg.topic_requests), "%srequests", small);
    snprintf(cfg.topic_results, sizeof(cfg.topic_results), "%sresults", small);
    snprintf(cfg.topic_dlq, sizeof(cfg.topic_dlq), "%sdlq", small);
    vc_topic_spec_t spec = {.partitions = 1, .replication_factor = 1, .min_insync_replicas = 1,
                            .retention_ms = 3600000, .dlq_retention_ms = 3600000,
                            .max_message_bytes = 1 << 20, .timeout_ms = 30000};
    char err[512] = "";
    FILE *devnull = fopen("/dev/null", "w");
    ASSERT(devnull != NULL);
    if (vc_topics_ensure(&cfg, &spec, 1, devnull, err, sizeof(err)) != 0)
        VC_TEST_FAIL("creating the small topics: %s", err);
    fclose(devnull);
    expect_refusal("vc-detector", "detector-small", small, 2, "max.message.bytes=1048576",
                   "dlq");
    expect_refusal("vc-gateway", "gateway-small", small, 1, "max.message.bytes=1048576",
                   "requests");
    return 0;
}

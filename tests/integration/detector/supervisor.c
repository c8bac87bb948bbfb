/* The vc-detector supervisor against the real servers: it runs PROCESS_POOL_SIZE=2 workers,
 * serves /health and /metrics on DETECTOR_HTTP_PORT, restarts a worker killed with SIGKILL,
 * and a message that crashes every worker that takes it ends in the dead-letter topic with
 * error.stage=crash (and a failed result) after DETECTOR_MAX_CRASHES=3 crashes, while the
 * valid messages around it complete, and its crash count stays in Redis (a redelivery is
 * dead-lettered at once); the crash count reaches the gateway's /metrics. The crash is the documented test hook
 * DETECTOR_CRASH_ON_ID_PREFIX (abort() in the analysis), allowed by DETECTOR_TEST_HOOKS=1. */
#include <signal.h>
#include <unistd.h>

#include "detector_test.h"

static vc_e2e_t e;
static char health_url[96], metrics_url[96];

/* Polls /health until `want(o)` holds; returns the last JSON. */
static json_t *wait_health(int (*want)(json_t *), int timeout_s, const char *what)
{
    time_t deadline = time(NULL) + timeout_s;
    json_t *o = NULL;
    while (time(NULL) < deadline) {
        json_decref(o);
        o = dt_get_json(health_url, NULL);
        if (o != NULL && want(o))
            return o;
        struct timespec ts = {0, 250000000L}; /* probing like an orchestrator */
        nanosleep(&ts, NULL);
    }
    char *t = o != NULL ? json_dumps(o, 0) : NULL;
    vc_test_print_log(&e.detectors[0], 40);
    VC_TEST_FAIL("/health never showed %s: %s", what, t ? t : "(no answer)");
}

static long long workers_field(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(json_object_get(o, "workers"), k));
}

static int all_joined(json_t *o)
{
    return workers_field(o, "joined") == 2 && json_is_true(json_object_get(o, "ready"));
}

static int restarted(json_t *o)
{
    return workers_field(o, "restarts") >= 1 && all_joined(o);
}

/* The highest crash count left in Redis for this run's group (vc:attempts:{group}:...). A
 * message dead-lettered for crashing keeps its count, so a redelivery (an offset commit lost
 * in a rebalance) is dead-lettered again at once instead of crashing three more workers. */
static long long kept_crash_count(void)
{
    char pattern[160];
    snprintf(pattern, sizeof(pattern), "vc:attempts:%s:*", strchr(e.group, '=') + 1);
    redisContext *c = vc_e2e_redis(&e);
    redisReply *keys = redisCommand(c, "KEYS %s", pattern);
    ASSERT(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
    long long most = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *v = redisCommand(c, "GET %s", keys->element[i]->str);
        if (v != NULL && v->type == REDIS_REPLY_STRING && atoll(v->str) > most)
            most = atoll(v->str);
        freeReplyObject(v);
    }
    freeReplyObject(keys);
    redisFree(c);
    return most;
}

int main(void)
{
    vc_e2e_init(&e, "superv");
    int port = vc_test_free_port();
    char port_s[16], prefix[128];
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(prefix, sizeof(prefix), "%spoison", e.id_prefix);
    snprintf(health_url, sizeof(health_url), "http://127.0.0.1:%d/health", port);
    snprintf(metrics_url, sizeof(metrics_url), "http://127.0.0.1:%d/metrics", port);
    setenv("PROCESS_POOL_SIZE", "2", 1);
    setenv("DETECTOR_HTTP_PORT", port_s, 1);
    setenv("DETECTOR_TEST_HOOKS", "1", 1);
    setenv("DETECTOR_CRASH_ON_ID_PREFIX", prefix, 1);
    setenv("DETECTOR_MAX_CRASHES", "3", 1);
    vc_e2e_start(&e, 1);

    json_t *h = wait_health(all_joined, 60, "two workers in the group");
    json_t *list = json_object_get(json_object_get(h, "workers"), "list");
    pid_t victim = (pid_t)json_integer_value(json_object_get(json_array_get(list, 0), "pid"));
    ASSERT(victim > 0);
    ASSERT_STREQ(json_string_value(json_object_get(h, "status")), "ok");
    ASSERT(json_is_true(json_object_get(json_object_get(json_object_get(h, "checks"), "redis"),
                                        "ok")));
    ASSERT(json_object_get(json_object_get(h, "resources"), "warning") != NULL);
    json_decref(h);

    /* 1. A worker killed from outside is restarted and rejoins the group. */
    int64_t t0 = vc_clock_mono_ms();
    ASSERT_OK(kill(victim, SIGKILL));
    h = wait_health(restarted, 90, "a restarted worker back in the group");
    fprintf(stderr, "supervisor: worker pid %d killed, restarted and rejoined in %.1f s\n",
            (int)victim, (double)(vc_clock_mono_ms() - t0) / 1000.0);
    ASSERT(workers_field(h, "crashes") >= 1);
    json_decref(h);

    /* 2. A message that crashes every worker ends in the DLQ; its neighbours complete. */
    size_t wav_len = 0;
    unsigned char *wav = vc_test_wav_sine(500, 0.5, 0.3, 16000, &wav_len);
    vc_producer_t *p = dt_producer(&e);
    t0 = vc_clock_mono_ms();
    dt_produce(p, &e, "before", wav, wav_len);
    dt_produce(p, &e, "poison", wav, wav_len);
    dt_produce(p, &e, "after", wav, wav_len);
    vc_producer_free(p);
    const char *st = NULL;
    json_t *o = dt_wait_final(&e, "before", 120);
    ASSERT_STREQ(json_string_value(json_object_get(o, "status")), "completed");
    json_decref(o);
    o = dt_wait_final(&e, "poison", 200);
    st = json_string_value(json_object_get(o, "status"));
    const char *reason = json_string_value(json_object_get(o, "reason"));
    fprintf(stderr, "supervisor: poison ended %s after %.1f s: %s\n", st,
            (double)(vc_clock_mono_ms() - t0) / 1000.0, reason ? reason : "");
    ASSERT_STREQ(st, "failed");
    ASSERT(reason != NULL && strstr(reason, "interrupted 3 detector workers") != NULL);
    json_decref(o);
    o = dt_wait_final(&e, "after", 60);
    ASSERT_STREQ(json_string_value(json_object_get(o, "status")), "completed");
    json_decref(o);
    char dlq_reason[256] = "";
    ASSERT(dt_find_dead_letter(&e, prefix, "crash", 60, dlq_reason, sizeof(dlq_reason)));
    fprintf(stderr, "supervisor: dead letter stage=crash reason=\"%s\"\n", dlq_reason);
    ASSERT(kept_crash_count() > 3); /* DETECTOR_MAX_CRASHES, plus the dead-lettering attempt */

    /* 3. /metrics counts the crashes: 1 kill + 3 poison crashes. */
    char *text = NULL;
    ASSERT_EQ(vc_test_http("GET", metrics_url, NULL, NULL, 0, &text), 200);
    double crashes = dt_metric(text, "vc_detector_worker_crashes_total");
    fprintf(stderr, "supervisor: vc_detector_worker_crashes_total %g\n", crashes);
    ASSERT(crashes >= 4);
    ASSERT(dt_metric(text, "vc_detector_workers{state=\"alive\"}") == 2);
    ASSERT(strstr(text, "vc_detector_completed_total{worker=") != NULL);
    free(text);
    /* ... and so does the gateway's, from the supervisor's snapshot in Redis. */
    double gw_crashes =
        dt_gateway_supervisor_metric(&e, "vc_detector_supervisor_worker_crashes_total", 4, 10);
    ASSERT(gw_crashes >= 4);
    h = wait_health(all_joined, 60, "both workers back after the crash loop");
    json_decref(h);

    /* 4. SIGTERM: the supervisor forwards it, the workers drain, everything exits 0. */
    vc_e2e_stop(&e);
    free(wav);
    return 0;
}

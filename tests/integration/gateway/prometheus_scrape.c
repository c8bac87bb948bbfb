/* A real Prometheus server scrapes the gateway and answers PromQL about it, the way a
 * monitoring dashboard will: Prometheus (Debian's prometheus package) runs on loopback with a
 * private storage directory and a 1 s scrape of the gateway's /metrics; after known traffic,
 * instant queries through /api/v1/query return exactly the responses the gateway sent. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "support/e2e.h"
#include "test.h"

#define JOB "vcguard-gateway"
#define N_UNAUTHORIZED 7
#define N_NOT_FOUND 3

static char prom_url[64];
static vc_proc_t prom;

/* Starts /usr/bin/prometheus (or the one on PATH) with argv; it dies with this process. */
static void spawn_prometheus(char *const argv[])
{
    snprintf(prom.name, sizeof(prom.name), "prometheus");
    snprintf(prom.log_path, sizeof(prom.log_path), "%s/prometheus.log", vc_test_tmpdir());
    int logfd = open(prom.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT(logfd >= 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* an aborted test leaves nothing behind */
        if (getppid() != parent)
            _exit(127);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(logfd);
    prom.pid = pid;
    fprintf(stderr, "started prometheus pid=%d log=%s\n", (int)pid, prom.log_path);
}

static void on_abort(int sig)
{
    if (prom.pid > 0)
        vc_test_print_log(&prom, 20);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Writes the scrape configuration and starts Prometheus on a free loopback port. */
static void start_prometheus(const vc_e2e_t *e)
{
    char dir[512], cfg[600], data[600];
    snprintf(dir, sizeof(dir), "%s/prometheus", vc_test_tmpdir());
    ASSERT(mkdir(dir, 0755) == 0 || errno == EEXIST);
    snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", dir);
    snprintf(data, sizeof(data), "%s/data", dir);
    FILE *f = fopen(cfg, "w");
    ASSERT(f != NULL);
    fprintf(f,
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: %s\n"
            "    metrics_path: /metrics\n"
            "    static_configs:\n"
            "      - targets: ['%s']\n",
            JOB, e->base_url + strlen("http://"));
    ASSERT_OK(fclose(f));
    int port = vc_test_free_port();
    snprintf(prom_url, sizeof(prom_url), "http://127.0.0.1:%d", port);
    char a_cfg[640], a_data[640], a_listen[64];
    snprintf(a_cfg, sizeof(a_cfg), "--config.file=%s", cfg);
    snprintf(a_data, sizeof(a_data), "--storage.tsdb.path=%s", data);
    snprintf(a_listen, sizeof(a_listen), "--web.listen-address=127.0.0.1:%d", port);
    char *argv[] = {"prometheus", a_cfg, a_data, a_listen, "--log.level=warn", NULL};
    spawn_prometheus(argv);
    char ready[128];
    snprintf(ready, sizeof(ready), "%s/-/ready", prom_url);
    if (!vc_test_wait_http_ok(ready, 20))
        VC_TEST_FAIL("prometheus not ready within 20 s");
}

/* Runs an instant PromQL query; returns the result vector (caller decrefs). */
static json_t *query(const char *promql)
{
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    char *q = curl_easy_escape(c, promql, 0);
    ASSERT(q != NULL);
    char url[1024];
    snprintf(url, sizeof(url), "%s/api/v1/query?query=%s", prom_url, q);
    curl_free(q);
    curl_easy_cleanup(c);
    char *body = NULL;
    const char *key = vc_test_api_key;
    vc_test_api_key = NULL; /* not the gateway: no key for Prometheus */
    long st = vc_test_http("GET", url, NULL, NULL, 0, &body);
    vc_test_api_key = key;
    json_t *o = json_loads(body, 0, NULL);
    const char *status = json_string_value(json_object_get(o, "status"));
    if (st != 200 || status == NULL || strcmp(status, "success") != 0)
        VC_TEST_FAIL("query %s: %ld %s", promql, st, body);
    free(body);
    json_t *result = json_incref(json_object_get(json_object_get(o, "data"), "result"));
    json_decref(o);
    ASSERT(json_is_array(result));
    return result;
}

/* The value of a one-sample result, or -1 when the vector is empty. */
static double single_value(json_t *result)
{
    if (json_array_size(result) == 0)
        return -1;
    ASSERT_EQ(json_array_size(result), 1);
    json_t *value = json_object_get(json_array_get(result, 0), "value");
    const char *v = json_string_value(json_array_get(value, 1));
    ASSERT(v != NULL);
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || *end != '\0')
        VC_TEST_FAIL("sample value \"%s\" is not a number", v);
    return d;
}

/* Polls promql (each scrape takes 1 s) until it equals want; returns the last value. */
static double wait_value(const char *promql, double want, int timeout_s)
{
    double v = -1;
    for (int i = 0; i < timeout_s * 5 && v != want; i++) {
        json_t *r = query(promql);
        v = single_value(r);
        json_decref(r);
        if (v != want) {
            struct timespec ts = {0, 200000000L}; /* waiting for the next scrape */
            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "%s = %g (want %g)\n", promql, v, want);
    return v;
}

int main(void)
{
    vc_e2e_t e;
    vc_e2e_init(&e, "promscrape");
    if (system("command -v prometheus >/dev/null 2>&1") != 0) {
        const char *req = getenv("VC_TEST_REQUIRE_SERVERS");
        if (req != NULL && strcmp(req, "1") == 0)
            VC_TEST_FAIL("prometheus is not installed (in VC_PACKAGES)");
        fprintf(stderr, "skip: prometheus not installed\n");
        return 77;
    }
    signal(SIGABRT, on_abort);
    time_t t0 = time(NULL);
    vc_e2e_start(&e, 0);
    start_prometheus(&e);

    /* The target is up once Prometheus has scraped the gateway. */
    ASSERT_EQ(wait_value("up{job=\"" JOB "\"}", 1, 20), 1);
    json_t *r = query("vc_http_responses_total{job=\"" JOB "\",code=\"401\"}");
    ASSERT_EQ(json_array_size(r), 0); /* nothing refused yet */
    json_decref(r);

    /* Known traffic: refusals without a key, and unknown ids with one. */
    char url[160];
    snprintf(url, sizeof(url), "%s/v1/detections/promscrape-no-such-id", e.base_url);
    for (int i = 0; i < N_NOT_FOUND; i++)
        ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 404);
    const char *key = vc_test_api_key;
    vc_test_api_key = NULL;
    for (int i = 0; i < N_UNAUTHORIZED; i++)
        ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 401);
    vc_test_api_key = key;

    ASSERT_EQ(
        wait_value("vc_http_responses_total{job=\"" JOB "\",code=\"401\"}", N_UNAUTHORIZED, 20),
        N_UNAUTHORIZED);
    ASSERT_EQ(wait_value("vc_http_responses_total{job=\"" JOB "\",code=\"404\"}", N_NOT_FOUND, 20),
              N_NOT_FOUND);
    /* A dashboard's panel: client errors summed over codes. */
    ASSERT_EQ(wait_value("sum(vc_http_responses_total{job=\"" JOB "\",code=~\"4..\"})",
                         N_UNAUTHORIZED + N_NOT_FOUND, 20),
              N_UNAUTHORIZED + N_NOT_FOUND);
    /* Prometheus scraped /metrics itself: 200 responses are counted and rising. */
    r = query("vc_http_responses_total{job=\"" JOB "\",route=\"/metrics\",code=\"200\"}");
    ASSERT(single_value(r) >= 1);
    json_decref(r);

    ASSERT_EQ(vc_test_stop(&prom, 20), 0);
    vc_e2e_stop(&e);
    long took = (long)(time(NULL) - t0);
    fprintf(stderr, "scrape test took %ld s\n", took);
    ASSERT(took < 60);
    return 0;
}

/* GET /metrics is valid Prometheus exposition: after real traffic (accepted submissions, a
 * completed detection per submission, some errors) and with a live detector, so that the
 * detector families are in the output too, `promtool check metrics` (Debian's prometheus
 * package) accepts the text without a single lint problem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "support/e2e.h"
#include "test.h"

/* Skips (77) when a tool is missing outside tests/run; fails under tests/run, which installs
 * it. */
static void require_tool(const char *tool)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    if (system(cmd) == 0)
        return;
    const char *req = getenv("VC_TEST_REQUIRE_SERVERS");
    if (req != NULL && strcmp(req, "1") == 0)
        VC_TEST_FAIL("%s is not installed (package prometheus, in VC_PACKAGES)", tool);
    fprintf(stderr, "skip: %s not installed\n", tool);
    exit(77);
}

/* Fetches /metrics until it carries the live detector's families; returns the text (caller
 * frees). */
static char *metrics_with_detector(const vc_e2e_t *e)
{
    char url[128], want[160];
    snprintf(url, sizeof(url), "%s/metrics", e->base_url);
    /* Each worker process of the supervisor reports as "<INSTANCE_ID>-w<n>". */
    snprintf(want, sizeof(want), "vc_detector_completed_total{instance=\"%sdet-1", e->id_prefix);
    for (int i = 0; i < 100; i++) {
        char *text = NULL;
        ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, &text), 200);
        if (strstr(text, want) != NULL)
            return text;
        free(text);
        struct timespec ts = {0, 100000000L}; /* the detector writes its snapshot every 1 s */
        nanosleep(&ts, NULL);
    }
    char *text = NULL;
    vc_test_http("GET", url, NULL, NULL, 0, &text);
    VC_TEST_FAIL("/metrics never showed %s:\n%s", want, text);
}

/* Runs `promtool check metrics` over text; fails the test with promtool's output on any
 * problem. */
static void promtool_check(const char *text)
{
    char path[512], cmd[1200], out[8192];
    snprintf(path, sizeof(path), "%s/metrics.txt", vc_test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    ASSERT_EQ(fwrite(text, 1, strlen(text), f), strlen(text));
    ASSERT_OK(fclose(f));
    snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    ASSERT(p != NULL);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        VC_TEST_FAIL("promtool check metrics (exit %d) on %s:\n%s", WEXITSTATUS(status), path, out);
    fprintf(stderr, "promtool check metrics: ok (%zu bytes of exposition)\n", strlen(text));
}

int main(void)
{
    vc_e2e_t e;
    vc_e2e_init(&e, "promlint");
    require_tool("promtool");
    vc_e2e_start(&e, 1);
    ASSERT_EQ(vc_e2e_submit(&e, 6, 2), 6);
    vc_e2e_wait_completed(&e, 120);
    /* Some errors too, so vc_http_responses_total has several codes. */
    char url[160];
    snprintf(url, sizeof(url), "%s/v1/detections/promlint-no-such-id", e.base_url);
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 404);
    const char *key = vc_test_api_key;
    vc_test_api_key = NULL;
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 401);
    vc_test_api_key = key;

    char *text = metrics_with_detector(&e);
    ASSERT(strstr(text, "vc_http_responses_total{route=\"/v1/detections\",code=\"202\"} 6") !=
           NULL);
    ASSERT(strstr(text, "# TYPE vc_detector_detection_seconds summary") != NULL);
    promtool_check(text);
    free(text);
    vc_e2e_stop(&e);
    return 0;
}

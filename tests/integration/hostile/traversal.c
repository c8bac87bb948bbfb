/* Path traversal: request targets that climb out of the API (plain, percent-encoded, double-
 * encoded, overlong UTF-8, backslashes, NUL, absolute-form) with and without an API key, on
 * every route prefix. The gateway serves no files: every answer must be a JSON error (never a
 * 200, never file content), and the detection routes must treat such an id as unknown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

static hostile_t h;

static const char *const targets[] = {
    "/../../etc/passwd",
    "/../../../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/.%2e/.%2e/etc/passwd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/..%5c..%5c..%5cetc%5cpasswd",
    "/..\\..\\..\\etc\\passwd",
    "//etc/passwd",
    "/etc/passwd",
    "/./././etc/passwd",
    "/health/../../etc/passwd",
    "/metrics/..%2f..%2fetc%2fpasswd",
    "/v1/detections/../../../etc/passwd",
    "/v1/detections/..%2f..%2f..%2fetc%2fpasswd",
    "/v1/detections/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/v1/detections/....//....//etc/passwd",
    "/v1/detections/%00/../../etc/passwd",
    "/v1/detections/x%00.json",
    "/v1/detections/..%2f..%2fetc%2fpasswd/feedback",
    "/detect/../../etc/passwd",
    "/proc/self/environ",
    "/%2e%2e/%2e%2e/proc/self/environ",
    "http://gateway/../../etc/passwd",
    "*",
};

/* Fragments of the files a traversal would leak (passwd entries, this process's env). */
static const char *const leaks[] = {"root:x:0:0",   "daemon:",   "/bin/sh",
                                    "DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS"};

static void check(const char *method, const char *target, int with_key)
{
    char req[1024];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: gateway\r\n%s%s%s%s\r\n", method,
                     target, with_key ? "Authorization: Bearer " : "", with_key ? h.key : "",
                     with_key ? "\r\n" : "",
                     strcmp(method, "POST") == 0
                         ? "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                         : "");
    if (strcmp(method, "POST") == 0)
        n -= 2; /* the body went in with the headers; no second blank line */
    vc_raw_response_t r;
    int rc = vc_raw_exchange(h.base, req, (size_t)n, 5000, &r);
    char what[1200];
    snprintf(what, sizeof(what), "%s %s (%s key)", method, target, with_key ? "with" : "no");
    /* civetweb serves no proxy requests: an absolute-form ("http://…") or asterisk-form
     * target gets the connection closed without a byte, before any handler runs. */
    if (target[0] != '/' && rc == -1 && r.head[0] == '\0') {
        vc_raw_response_free(&r);
        return;
    }
    if (rc != 0)
        VC_TEST_FAIL("%s: no answer (%d)", what, rc);
    if (r.status < 400 || r.status >= 500)
        VC_TEST_FAIL("%s: status %d, want a 4xx JSON error:\n%s%s", what, r.status, r.head, r.body);
    vc_raw_expect_json_error(&r, r.status, NULL, what);
    for (size_t i = 0; i < sizeof(leaks) / sizeof(leaks[0]); i++)
        if (strstr(r.body, leaks[i]) != NULL || strstr(r.head, leaks[i]) != NULL)
            VC_TEST_FAIL("%s: the answer contains \"%s\":\n%s", what, leaks[i], r.body);
    /* A detection route answers an unknown id exactly like any other: 404 not_found (or 400
     * for a malformed id); other paths are no route at all. */
    if (with_key && strncmp(target, "/v1/detections/", 15) == 0 && r.status != 404 &&
        r.status != 400 && r.status != 405)
        VC_TEST_FAIL("%s: status %d, want 404/400/405", what, r.status);
    vc_raw_response_free(&r);
}

static void traversal_targets_get_json_errors(void)
{
    static const char *const methods[] = {"GET", "POST", "DELETE"};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
            for (int k = 0; k <= 1; k++)
                check(methods[m], targets[i], k);
}

static void traversal_ids_are_unknown_detections(void)
{
    /* Through libcurl as a client would send them (already percent-encoded ids). */
    static const char *const ids[] = {"..%2F..%2Fetc%2Fpasswd", "%2E%2E", "..",
                                      "%252E%252E%252Fetc", "x%00y"};
    vc_test_api_key = h.key;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char url[256], *resp = NULL;
        snprintf(url, sizeof(url), "%s/v1/detections/%s", h.base, ids[i]);
        long st = vc_test_http("GET", url, NULL, NULL, 0, &resp);
        if ((st != 404 && st != 400) || strstr(resp, "\"error\"") == NULL)
            VC_TEST_FAIL("GET %s: %ld %s", url, st, resp);
        free(resp);
    }
    vc_test_api_key = NULL;
}

int main(void)
{
    hostile_init(&h, "traversal");
    hostile_start(&h, NULL);
    RUN(traversal_targets_get_json_errors);
    RUN(traversal_ids_are_unknown_detections);
    hostile_expect_healthy(&h, "traversal attempts");
    hostile_stop(&h);
    return 0;
}

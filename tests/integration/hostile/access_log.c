/* The access log and SIGHUP. ACCESS_LOG=<file>: a 202, a 401 with a bad key (and a secret in
 * the query string) and a 404 are one valid JSON line each with the expected fields, and
 * neither the bad key, the good key, the Authorization header nor the query string appears
 * in the file. Rotation: after rename + SIGHUP the new lines go to a new file at the path.
 * SIGHUP twenty times while submitting: every submission is answered 202 and the gateway stays
 * up (exits 0 on SIGTERM). A key revoked in PostgreSQL works until the API-key cache
 * (API_KEY_CACHE_TTL=10m here) forgets it, which SIGHUP makes happen at once. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>

#include "hostile.h"

static hostile_t h;
static char log_path[512], rotated[520];

/* Occurrences of needle in the gateway's process log. */
static int count_in_gateway_log(const char *needle)
{
    size_t len = 0;
    char *log = vc_test_read_file(h.gateway.log_path, &len);
    int n = 0;
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(log);
    return n;
}

/* Sends SIGHUP and waits (bounded) until the gateway logged that it handled one more. */
static void hup_and_wait(void)
{
    int before = count_in_gateway_log("event=gateway.sighup");
    ASSERT_OK(kill(h.gateway.pid, SIGHUP));
    for (int i = 0; i < 500; i++) { /* polling the log for the event; no signal to wait on */
        if (count_in_gateway_log("event=gateway.sighup") > before)
            return;
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    vc_test_print_log(&h.gateway, 20);
    VC_TEST_FAIL("no gateway.sighup logged within 10 s");
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* Waits (bounded) until path holds at least n lines (the line is written at end_request,
 * just after the client got its answer) and returns its text (caller frees). */
static char *wait_lines(const char *path, int n)
{
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            fclose(f);
            char *text = vc_test_read_file(path, NULL);
            if (count_lines(text) >= n)
                return text;
            free(text);
        }
        struct timespec ts = {0, 20000000L}; /* polling a file for a line; no event */
        nanosleep(&ts, NULL);
    }
    VC_TEST_FAIL("%s never had %d lines", path, n);
}

/* The line of text whose "status" is status, parsed (caller decrefs); every line must be one
 * JSON object. */
static json_t *line_with_status(const char *text, int status)
{
    json_t *found = NULL;
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        ASSERT(nl != NULL); /* every line is complete */
        json_error_t je;
        json_t *o = json_loadb(p, (size_t)(nl - p), 0, &je);
        if (o == NULL || !json_is_object(o))
            VC_TEST_FAIL("not a JSON object: %.*s (%s)", (int)(nl - p), p, je.text);
        if (json_integer_value(json_object_get(o, "status")) == status && found == NULL)
            found = o;
        else
            json_decref(o);
        p = nl + 1;
    }
    if (found == NULL)
        VC_TEST_FAIL("no line with status %d in:\n%s", status, text);
    return found;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void expect_common(json_t *o, const char *method, const char *route, const char *path)
{
    ASSERT_STREQ(str(o, "method"), method);
    ASSERT_STREQ(str(o, "route"), route);
    ASSERT_STREQ(str(o, "path"), path);
    ASSERT_STREQ(str(o, "client"), "127.0.0.1");
    ASSERT_STREQ(str(o, "client_key"), "127.0.0.1");
    ASSERT_STREQ(str(o, "client_from"), "peer");
    ASSERT_STREQ(str(o, "peer"), "127.0.0.1");
    ASSERT(str(o, "ts") != NULL);
    ASSERT(json_integer_value(json_object_get(o, "bytes_out")) > 0);
    ASSERT(json_is_number(json_object_get(o, "ms")) &&
           json_number_value(json_object_get(o, "ms")) >= 0);
}

static void lines_per_request(void)
{
    static const char trace[] = "0af7651916cd43dd8448eb211c80319c";
    char tp[96], url[256], bad[64];
    snprintf(tp, sizeof(tp), "traceparent: 00-%s-b7ad6b7169203331-01", trace);
    vc_test_api_key = h.key;
    vc_test_extra_header = tp;
    char *resp = NULL;
    ASSERT_EQ(vc_test_submit_tone(h.base, &resp), 202);
    free(resp);
    vc_test_extra_header = NULL;
    /* well-formed, unknown, unique to this run */
    int bn = snprintf(bad, sizeof(bad), "vck_BADKEY%08d", (int)getpid());
    memset(bad + bn, 'x', 47 - (size_t)bn);
    bad[47] = '\0';
    vc_test_api_key = bad;
    snprintf(url, sizeof(url), "%s/v1/detections/some-id?token=SECRETQUERY%d", h.base,
             (int)getpid());
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 401);
    vc_test_api_key = NULL;
    snprintf(url, sizeof(url), "%s/no/such/route", h.base);
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 404);

    char *text = wait_lines(log_path, 3);
    fprintf(stderr, "access log:\n%s", text);
    json_t *o = line_with_status(text, 202);
    expect_common(o, "POST", "/v1/detections", "/v1/detections");
    ASSERT_STREQ(str(o, "tenant"), h.tenant);
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "%.12s", h.key);
    ASSERT_STREQ(str(o, "key"), prefix);
    ASSERT_STREQ(str(o, "trace_id"), trace);
    ASSERT(json_integer_value(json_object_get(o, "bytes_in")) > 6000); /* 0.2 s WAV, base64 */
    json_decref(o);
    o = line_with_status(text, 401);
    expect_common(o, "GET", "/v1/detections/{id}", "/v1/detections/some-id");
    ASSERT(json_is_null(json_object_get(o, "tenant")));
    ASSERT(json_is_null(json_object_get(o, "key")));
    ASSERT(str(o, "trace_id") != NULL && strlen(str(o, "trace_id")) == 32);
    ASSERT_EQ(json_integer_value(json_object_get(o, "bytes_in")), 0);
    json_decref(o);
    o = line_with_status(text, 404);
    expect_common(o, "GET", "other", "/no/such/route");
    ASSERT(json_is_null(json_object_get(o, "tenant")));
    json_decref(o);
    /* what must never be logged */
    char secret[40];
    snprintf(secret, sizeof(secret), "SECRETQUERY%d", (int)getpid());
    const char *never[] = {bad, h.key, secret, "Bearer", "Authorization", "token="};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        if (strstr(text, never[i]) != NULL)
            VC_TEST_FAIL("the access log holds '%s'", never[i]);
    /* the key's display prefix is there, but nothing past it */
    char longer[20];
    snprintf(longer, sizeof(longer), "%.13s", h.key);
    ASSERT(strstr(text, longer) == NULL);
    free(text);
}

/* Requests civetweb refuses before routing them (no begin/end_request) are lines too. */
static void unparsed_requests(void)
{
    ASSERT_OK(truncate(log_path, 0));
    static const char ctl[] = "GET /health?secret=1 HTTP/1.1\r\nHost: x\r\nX-Ctl: a\001b\r\n\r\n";
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_exchange(h.base, ctl, sizeof(ctl) - 1, 5000, &r));
    ASSERT_EQ(r.status, 400);
    vc_raw_response_free(&r);
    char *text = wait_lines(log_path, 1);
    json_t *o = line_with_status(text, 400);
    ASSERT_STREQ(str(o, "route"), "other");
    ASSERT_STREQ(str(o, "client"), "127.0.0.1");
    ASSERT(json_integer_value(json_object_get(o, "bytes_out")) > 0);
    ASSERT(strstr(text, "secret") == NULL);
    json_decref(o);
    free(text);
}

static void rotation(void)
{
    char *before = wait_lines(log_path, 1);
    int n_before = count_lines(before);
    free(before);
    if (rename(log_path, rotated) != 0)
        VC_TEST_FAIL("rename: %s", strerror(errno));
    hup_and_wait();
    char url[128];
    snprintf(url, sizeof(url), "%s/health", h.base);
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 200);
    char *text = wait_lines(log_path, 1);
    ASSERT_EQ(count_lines(text), 1);
    json_t *o = line_with_status(text, 200);
    ASSERT_STREQ(str(o, "route"), "/health");
    json_decref(o);
    free(text);
    char *old = vc_test_read_file(rotated, NULL);
    ASSERT_EQ(count_lines(old), n_before); /* the rotated file got nothing new */
    free(old);
}

static void sighup_storm(void)
{
    int before = count_in_gateway_log("event=gateway.sighup");
    vc_test_api_key = h.key;
    for (int i = 0; i < 20; i++) {
        ASSERT_OK(kill(h.gateway.pid, SIGHUP));
        char *resp = NULL;
        long st = vc_test_submit_tone(h.base, &resp);
        if (st != 202) {
            vc_test_print_log(&h.gateway, 30);
            VC_TEST_FAIL("submission %d after SIGHUP: %ld %s", i, st, resp ? resp : "");
        }
        free(resp);
    }
    vc_test_api_key = NULL;
    hup_and_wait(); /* every earlier one was taken too (signals coalesce; the count may be less) */
    int handled = count_in_gateway_log("event=gateway.sighup") - before;
    fprintf(stderr, "20 SIGHUPs during 20 submissions: %d handled (pending ones coalesce)\n",
            handled - 1);
    ASSERT(handled >= 2);
    hostile_expect_healthy(&h, "20 SIGHUPs");
    char *text = wait_lines(log_path, 1 + 20 + 1); /* /health, 20 submissions, /health */
    free(text);
}

static void revoked_key_after_sighup(void)
{
    char key2[64], url[200];
    long long id2 = 0;
    vc_test_create_key(h.pg, h.tenant, 0, key2, &id2);
    snprintf(url, sizeof(url), "%s/v1/detections/none-%d", h.base, (int)getpid());
    vc_test_api_key = key2;
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 404); /* authenticated, cached */
    vc_test_revoke_key(h.pg, id2);
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 404); /* the cache still says yes */
    hup_and_wait();
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 401);
    vc_test_api_key = h.key; /* the other key keeps working */
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 404);
    vc_test_api_key = NULL;
}

static void bad_path_stops_startup(void)
{
    const char *env[] = {"ACCESS_LOG=/nonexistent-dir/x/access.log", NULL};
    vc_proc_t p;
    /* the config is fine; the open fails at start: exit 1 naming the path */
    const char *full[8];
    char r[600], pg[600], k[600], port[32];
    snprintf(r, sizeof(r), "REDIS_URL=%s", h.redis);
    snprintf(pg, sizeof(pg), "DATABASE_URL=%s", h.pg);
    snprintf(k, sizeof(k), "KAFKA_BROKERS=%s", h.kafka);
    snprintf(port, sizeof(port), "HTTP_PORT=%d", vc_test_free_port());
    full[0] = env[0], full[1] = r, full[2] = pg, full[3] = k, full[4] = port, full[5] = NULL;
    vc_test_spawn(&p, "gateway-badlog", "vc-gateway", full);
    int rc = hostile_wait_exit(&p, 60);
    size_t len = 0;
    char *log = vc_test_read_file(p.log_path, &len);
    if (rc != 1 || !vc_test_contains(log, len, "/nonexistent-dir/x/access.log"))
        VC_TEST_FAIL("exit %d (want 1), log: %s", rc, log);
    free(log);
    const char *relative[] = {"ACCESS_LOG=relative.log", NULL};
    vc_test_spawn(&p, "gateway-badlog2", "vc-gateway", relative);
    ASSERT_EQ(hostile_wait_exit(&p, 30), 2);
}

int main(void)
{
    hostile_init(&h, "accesslog");
    snprintf(log_path, sizeof(log_path), "%s/access-%d.log", vc_test_tmpdir(), (int)getpid());
    snprintf(rotated, sizeof(rotated), "%s.1", log_path);
    char env_log[600];
    snprintf(env_log, sizeof(env_log), "ACCESS_LOG=%s", log_path);
    const char *extra[] = {env_log, "API_KEY_CACHE_TTL=10m", NULL};
    hostile_start(&h, extra);
    /* hostile_start's own /health polls are in the file: start from an empty one */
    char *text = wait_lines(log_path, 1);
    free(text);
    ASSERT_OK(truncate(log_path, 0));
    RUN(lines_per_request);
    RUN(unparsed_requests);
    RUN(rotation);
    RUN(sighup_storm);
    RUN(revoked_key_after_sighup);
    hostile_stop(&h);
    RUN(bad_path_stops_startup);
    return 0;
}

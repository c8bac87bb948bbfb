/* Hostile JSON bodies by token count: ~300 KB bodies of up to ~100 000 tokens (the
 * tokenizer's cap, VC_JSON_BODY_MAX_TOKENS) shaped to hit super-linear paths: a metadata
 * object of 30 000 keys, one key repeated 47 000 times, a batch of 99 000 empty items, bare
 * arrays of numbers just under and just over the cap, strings of \u0000 and \u00e9 escapes.
 * Regression: jsmn without parent links walked back over every earlier token at each ',' of
 * an object and each closing bracket, so the repeated key and the batch of empty items took
 * seconds each of a worker's time (docs/performance.md, "Hostile JSON"). Each must now get its
 * JSON error well within PARSE_BOUND_MS, and the gateway must stay up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

#define PARSE_BOUND_MS 1500 /* the old cost was 4-20 s; the new ~0.1 s (more under ASan) */

static hostile_t h;

typedef struct {
    char *s;
    size_t n, cap;
} text_t;

static void put(text_t *t, const char *s)
{
    size_t k = strlen(s);
    if (t->n + k + 1 > t->cap) {
        t->cap = (t->n + k + 1) * 2;
        t->s = realloc(t->s, t->cap);
        ASSERT(t->s != NULL);
    }
    memcpy(t->s + t->n, s, k + 1);
    t->n += k;
}

#define HEAD "{\"detection_type\":\"audio\",\"audio_data\":\"UklGRg==\","

/* POSTs t to path with the run's key; the answer must be the JSON error status + code, in
 * time. */
static void expect_fast(const char *path, const text_t *t, int status, const char *code,
                        const char *what)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "POST %s HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     path, h.key, t->n);
    char *req = malloc((size_t)n + t->n);
    ASSERT(req != NULL);
    memcpy(req, head, (size_t)n);
    memcpy(req + n, t->s, t->n);
    long t0 = vc_raw_now_ms();
    vc_raw_response_t r;
    int rc = vc_raw_exchange(h.base, req, (size_t)n + t->n, 10000, &r);
    long ms = vc_raw_now_ms() - t0;
    free(req);
    fprintf(stderr, "%s (%zu bytes): %d after %ld ms: %.100s\n", what, t->n, r.status, ms,
            r.body != NULL ? r.body : "");
    if (rc != 0) {
        vc_test_print_log(&h.gateway, 20);
        VC_TEST_FAIL("%s: no answer (%d) after %ld ms", what, rc, ms);
    }
    vc_raw_expect_json_error(&r, status, code, what);
    vc_raw_response_free(&r);
    if (ms > PARSE_BOUND_MS)
        VC_TEST_FAIL("%s: answered after %ld ms, want <= %d", what, ms, PARSE_BOUND_MS);
}

static void many_metadata_keys(void)
{
    text_t t = {0};
    put(&t, HEAD "\"metadata\":{");
    char piece[32];
    for (int i = 0; i < 30000; i++) {
        snprintf(piece, sizeof(piece), "%s\"k%d\":1", i ? "," : "", i);
        put(&t, piece);
    }
    put(&t, "}}");
    expect_fast("/v1/detections", &t, 413, "payload_too_large", "30 000 metadata keys");
    free(t.s);
}

static void one_key_repeated(void)
{
    text_t t = {0};
    put(&t, HEAD "\"metadata\":{");
    for (int i = 0; i < 47000; i++)
        put(&t, i ? ",\"k\":1" : "\"k\":1");
    put(&t, "}}");
    expect_fast("/v1/detections", &t, 400, "invalid_json", "one key 47 000 times");
    free(t.s);
}

static void batch_of_empty_items(void)
{
    text_t t = {0};
    put(&t, "{\"requests\":[");
    for (int i = 0; i < 99000; i++)
        put(&t, i ? ",{}" : "{}");
    put(&t, "]}");
    expect_fast("/v1/detections/batch", &t, 400, "batch_too_large", "99 000 empty batch items");
    expect_fast("/v1/detections", &t, 400, "invalid_request", "99 000 items to the single route");
    free(t.s);
}

static void arrays_of_numbers(void)
{
    text_t t = {0};
    put(&t, "[");
    for (int i = 0; i < 99990; i++)
        put(&t, i ? ",1" : "1");
    put(&t, "]");
    expect_fast("/detect/batch", &t, 400, "batch_too_large", "99 990 numbers (under the cap)");
    t.s[--t.n] = '\0'; /* reopen the array */
    for (int i = 0; i < 20; i++)
        put(&t, ",1"); /* 100 010 values: over VC_JSON_BODY_MAX_TOKENS */
    put(&t, "]");
    expect_fast("/detect/batch", &t, 400, "invalid_json", "100 010 numbers (over the cap)");
    free(t.s);
}

static void long_escape_strings(void)
{
    text_t t = {0};
    put(&t, HEAD "\"metadata\":{\"s\":\"");
    while (t.n < 300 * 1024)
        put(&t, "\\u0000");
    put(&t, "\"}}");
    expect_fast("/v1/detections", &t, 400, "invalid_json", "300 KB of \\u0000");
    t.n = 0;
    put(&t, HEAD "\"metadata\":{\"s\":\"");
    while (t.n < 300 * 1024)
        put(&t, "\\u00e9");
    put(&t, "\"}}");
    expect_fast("/v1/detections", &t, 413, "payload_too_large", "300 KB of \\u00e9");
    free(t.s);
}

int main(void)
{
    hostile_init(&h, "json_tokens");
    hostile_start(&h, NULL);
    RUN(many_metadata_keys);
    RUN(one_key_repeated);
    RUN(batch_of_empty_items);
    RUN(arrays_of_numbers);
    RUN(long_escape_strings);
    hostile_expect_healthy(&h, "token-heavy JSON bodies");
    hostile_stop(&h);
    return 0;
}

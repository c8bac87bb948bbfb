/* Hostile JSON bodies: invalid UTF-8 (bad bytes, overlong forms, surrogates, truncated
 * sequences) in every part of a submission, escapes the parser must refuse, and deep nesting
 * (100 000 levels, which used to overflow a civetweb worker's 100 KiB stack inside jansson and
 * kill the gateway: regression). Every body must get a 400 JSON error with a stable code, the
 * gateway must stay up, and a body at the nesting limit must still be accepted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"
#include "vc/base64.h"

static hostile_t h;
static char *wav_b64;

/* POSTs body (len bytes) to path with the run's key; the answer must be status + code. */
static void expect(const char *path, const char *ctype, const char *body, size_t len, long status,
                   const char *code, const char *what)
{
    char url[256], *resp = NULL;
    snprintf(url, sizeof(url), "%s%s", h.base, path);
    vc_test_api_key = h.key;
    long st = vc_test_http("POST", url, ctype, body, len, &resp);
    vc_test_api_key = NULL;
    vc_raw_response_t r = {.status = (int)st, .body = resp, .body_len = strlen(resp)};
    snprintf(r.head, sizeof(r.head), "%s", vc_test_last_headers);
    if (st == -1) {
        vc_test_print_log(&h.gateway, 20);
        VC_TEST_FAIL("%s: no answer: did the gateway crash?", what);
    }
    if (status == 202) {
        if (st != 202)
            VC_TEST_FAIL("%s: %ld %s, want 202", what, st, resp);
    } else {
        vc_raw_expect_json_error(&r, (int)status, code, what);
    }
    fprintf(stderr, "%s: %ld %.120s\n", what, st, resp);
    free(resp);
}

static void expect_json(const char *body, size_t len, const char *code, const char *what)
{
    expect("/v1/detections", "application/json", body, len, 400, code, what);
}

static void invalid_utf8_is_refused(void)
{
    static const struct {
        const char *body, *code, *what;
    } cases[] = {
        {"{\"detection_type\":\"aud\xff"
         "io\"}",
         "invalid_json", "0xff in a value"},
        {"{\"detection\xfe_type\":\"audio\"}", "invalid_json", "0xfe in a key"},
        {"{\"detection_type\":\"audio\",\"metadata\":{\"k\":\"\xc0\xaf\"}}", "invalid_json",
         "overlong '/' in metadata"},
        {"{\"detection_type\":\"audio\",\"metadata\":{\"\xed\xa0\x80\":1}}", "invalid_json",
         "UTF-8 encoded surrogate in a metadata key"},
        {"{\"detection_type\":\"audio\",\"metadata\":{\"k\":\"\xf8\x88\x80\x80\x80\"}}",
         "invalid_json", "5-byte sequence"},
        {"{\"detection_type\":\"audio\",\"metadata\":{\"k\":\"\xf4\x90\x80\x80\"}}", "invalid_json",
         "code point past U+10FFFF"},
        {"{\"detection_id\":\"id\xe2\x82\",\"detection_type\":\"audio\"}", "invalid_json",
         "truncated sequence in the id"},
        {"{\"detection_type\":\"audio\",\"metadata\":{\"k\":\"\xe2\x82", "invalid_json",
         "truncated sequence at the end of the body"},
        {"{\"detection_id\":\"a\\u0000b\",\"detection_type\":\"audio\"}", "invalid_json",
         "\\u0000 escape"},
        {"{\"detection_type\":\"audio\",\"metadata\":{\"k\":\"\\ud800\"}}", "invalid_json",
         "lone surrogate escape"},
        {"{\"detection_type\":\"audio\",\"metadata\":{\"k\":\"\\x41\"}}", "invalid_json",
         "invalid escape"},
        {"\xef\xbb\xbf{\"detection_type\":\"audio\"}", "invalid_json", "byte order mark"},
        {"{\"detection_type\":\"audio\",\"audio_data\":\"UklG\xed\xa0\x80RgAA\"}", "invalid_base64",
         "invalid UTF-8 inside the media string"},
        {"{\"detection_type\":\"audio\",\"audio_data\":\"\xc3\xa9t\xc3\xa9\"}", "invalid_base64",
         "valid UTF-8 that is not base64"},
        {"{\"detection_id\":\"caf\xc3\xa9\",\"detection_type\":\"audio\"}", "invalid_request",
         "valid UTF-8 outside the id alphabet"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_json(cases[i].body, strlen(cases[i].body), cases[i].code, cases[i].what);
    /* A NUL byte in the middle of a body (JSON text never holds one raw). */
    static const char nul[] = "{\"detection_type\":\"au\0dio\"}";
    expect_json(nul, sizeof(nul) - 1, "invalid_json", "raw NUL byte");
}

/* "[[[...]]]" of depth levels, optionally unterminated. Caller frees. */
static char *nested(const char *open, const char *close, size_t depth, int terminated,
                    const char *inner, size_t *len)
{
    size_t lo = strlen(open), lc = strlen(close), li = strlen(inner);
    char *s = malloc(depth * (lo + lc) + li + 1);
    ASSERT(s != NULL);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++, n += lo)
        memcpy(s + n, open, lo);
    memcpy(s + n, inner, li);
    n += li;
    for (size_t i = 0; terminated && i < depth; i++, n += lc)
        memcpy(s + n, close, lc);
    s[n] = '\0';
    *len = n;
    return s;
}

static void deep_nesting_is_refused_without_a_crash(void)
{
    size_t len;
    char *b = nested("[", "]", 100000, 1, "", &len);
    expect_json(b, len, "invalid_json", "100000 nested arrays");
    expect("/v1/detections/batch", "application/json", b, len, 400, "invalid_json",
           "100000 nested arrays, batch");
    expect("/detect", "application/json", b, len, 400, "invalid_json", "alias /detect");
    free(b);
    b = nested("[", "]", 100000, 0, "", &len);
    expect_json(b, len, "invalid_json", "100000 unclosed arrays");
    free(b);
    b = nested("{\"a\":", "}", 100000, 1, "1", &len);
    expect_json(b, len, "invalid_json", "100000 nested objects");
    free(b);
    /* Depth hidden inside an accepted shape: metadata 5000 levels down. */
    char *meta = nested("{\"a\":", "}", 5000, 1, "1", &len);
    size_t cap = len + strlen(wav_b64) + 128;
    char *body = malloc(cap);
    ASSERT(body != NULL);
    int n =
        snprintf(body, cap, "{\"detection_type\":\"audio\",\"audio_data\":\"%s\",\"metadata\":%s}",
                 wav_b64, meta);
    expect_json(body, (size_t)n, "invalid_json", "metadata nested 5000 deep");
    free(body);
    free(meta);
    /* Where the old crash lay: 800 levels, well under jansson's own limit of 2048. */
    b = nested("[", "]", 800, 1, "", &len);
    expect_json(b, len, "invalid_json", "800 nested arrays");
    free(b);
    /* The feedback route parses JSON too. */
    b = nested("[", "]", 4000, 1, "", &len);
    expect("/v1/detections/some-id/feedback", "application/json", b, len, 400, NULL,
           "4000 nested arrays, feedback");
    free(b);
    /* msgpack bodies have their own limit (16 levels) in libs/wire. */
    size_t mlen = 0;
    char *mp = malloc(100000 + 32);
    ASSERT(mp != NULL);
    for (; mlen < 100000; mlen++)
        mp[mlen] = (char)0x91; /* fixarray of 1 */
    mp[mlen++] = (char)0xc0;
    expect("/v1/detections", "application/msgpack", mp, mlen, 400, "invalid_msgpack",
           "100000 nested msgpack arrays");
    free(mp);
}

static void nesting_at_the_limit_is_accepted(void)
{
    /* 16 levels in all: the request object and metadata 15 deep. */
    size_t len;
    char *meta = nested("{\"a\":", "}", 15, 1, "1", &len);
    size_t cap = len + strlen(wav_b64) + 128;
    char *body = malloc(cap);
    ASSERT(body != NULL);
    int n =
        snprintf(body, cap, "{\"detection_type\":\"audio\",\"audio_data\":\"%s\",\"metadata\":%s}",
                 wav_b64, meta);
    expect("/v1/detections", "application/json", body, (size_t)n, 202, NULL,
           "16 levels with metadata");
    free(meta);
    meta = nested("{\"a\":", "}", 16, 1, "1", &len);
    n = snprintf(body, cap, "{\"detection_type\":\"audio\",\"audio_data\":\"%s\",\"metadata\":%s}",
                 wav_b64, meta);
    expect_json(body, (size_t)n, "invalid_json", "17 levels with metadata");
    free(meta);
    free(body);
}

static void too_many_values_are_refused(void)
{
    size_t n = 200001 * 2 + 2;
    char *b = malloc(n + 1);
    ASSERT(b != NULL);
    size_t len = 0;
    b[len++] = '[';
    for (int i = 0; i < 200001; i++) {
        b[len++] = '1';
        b[len++] = ',';
    }
    b[len - 1] = ']';
    b[len] = '\0';
    expect_json(b, len, "invalid_json", "200001 values");
    free(b);
}

int main(void)
{
    hostile_init(&h, "json");
    hostile_start(&h, NULL);
    size_t wav_len = 0, n = 0;
    unsigned char *wav = vc_test_wav_sine(440, 0.5, 0.1, 8000, &wav_len);
    wav_b64 = malloc(vc_base64_encoded_len(wav_len) + 1);
    ASSERT_OK(vc_base64_encode(wav, wav_len, wav_b64, vc_base64_encoded_len(wav_len) + 1, &n));
    free(wav);
    RUN(invalid_utf8_is_refused);
    RUN(deep_nesting_is_refused_without_a_crash);
    RUN(nesting_at_the_limit_is_accepted);
    RUN(too_many_values_are_refused);
    hostile_expect_healthy(&h, "hostile JSON");
    hostile_stop(&h);
    free(wav_b64);
    return 0;
}

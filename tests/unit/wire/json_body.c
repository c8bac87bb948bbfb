/* Fast JSON bodies must behave exactly like the jansson path (same statuses and codes), keep
 * media out of the DOM, and report syntax errors with their position. */
#include <jansson.h>

#include "test.h"
#include "vc/base64.h"
#include "vc/error.h"
#include "vc/wire_body.h"
#include "vc/wire_json.h"

static char wav_b64[256];

static void make_wav(void)
{
    static const uint8_t wav[] = {'R', 'I', 'F', 'F', 44, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm',
                                  't', ' ', 16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d,
                                  0, 0, 2, 0, 16, 0, 'd', 'a', 't', 'a', 8, 0, 0, 0, 1, 0, 2, 0,
                                  3, 0, 4, 0};
    size_t n = 0;
    ASSERT_OK(vc_base64_encode(wav, sizeof(wav), wav_b64, sizeof(wav_b64), &n));
}

/* Parses body both ways as a single submission and checks they agree. Returns the status
 * (0 when accepted). */
static int both(const char *body, size_t max_media)
{
    vc_json_request_t a, b;
    vc_api_error_t ea = {0}, eb = {0};
    json_error_t jerr;
    json_t *root = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
    int ra = root == NULL ? VC_EINVAL : vc_json_request_parse(root, max_media, 1024, &a, &ea);
    if (root == NULL) {
        ea.status = 400;
        ea.code = "invalid_json";
    }
    json_decref(root);
    vc_json_body_t *jb = NULL;
    int rb = vc_json_body_open(body, strlen(body), &jb, &eb);
    if (rb == 0 && vc_json_body_count(jb, 0) != 1) {
        rb = VC_EINVAL;
        eb.status = 400;
        eb.code = "invalid_request";
    } else if (rb == 0) {
        rb = vc_json_body_item(jb, 0, 0, max_media, 1024, &b, &eb);
    }
    vc_json_body_close(jb);
    if ((ra == 0) != (rb == 0) || (ra != 0 && strcmp(ea.code, eb.code) != 0))
        VC_TEST_FAIL("%.80s: jansson %d %s / fast %d %s (%s)", body, ea.status,
                     ea.code ? ea.code : "-", eb.status, eb.code ? eb.code : "-", eb.message);
    if (ra == 0) {
        ASSERT_EQ(a.req.audio.len, b.req.audio.len);
        ASSERT(memcmp(a.req.audio.data, b.req.audio.data, a.req.audio.len) == 0);
        ASSERT_STREQ(a.req.audio.format, b.req.audio.format);
        ASSERT_STREQ(a.req.id, b.req.id);
        vc_json_request_free(&a);
        vc_json_request_free(&b);
        return 0;
    }
    return eb.status;
}

static void parity_with_jansson(void)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"detection_type\":\"audio\",\"audio_data\":\"%s\"}", wav_b64);
    ASSERT_EQ(both(body, 1 << 20), 0);
    snprintf(body, sizeof(body),
             "{\"detection_id\":\"x-1\",\"detection_type\":\"audio\",\"audio_data\":\"%s\","
             "\"metadata\":{\"a\":[1,2,{\"b\":null}]}}",
             wav_b64);
    ASSERT_EQ(both(body, 1 << 20), 0);
    ASSERT_EQ(both(body, 10), 413);
    ASSERT_EQ(both("{\"detection_type\":\"audio\",\"audio_data\":\"%%%%\"}", 1 << 20), 400);
    ASSERT_EQ(both("{\"detection_type\":\"audio\",\"audio_data\":\"\"}", 1 << 20), 400);
    ASSERT_EQ(both("{\"detection_type\":\"audio\",\"audio_data\":12}", 1 << 20), 400);
    ASSERT_EQ(both("{\"detection_type\":\"audio\",\"audio_data\":null}", 1 << 20), 400);
    ASSERT_EQ(both("{\"detection_type\":\"audio\",\"audio_data\":\"aGVsbG8=\"}", 1 << 20), 415);
    ASSERT_EQ(both("{\"detection_type\":\"smell\"}", 1 << 20), 400);
    ASSERT_EQ(both("{\"a\":1,\"a\":2}", 1 << 20), 400);
}

static void escaped_slashes_are_undone(void)
{
    /* Some JSON encoders write '/' as "\/": base64 has slashes, so they must decode. */
    const uint8_t raw[] = {0xff, 0xff, 0xff}; /* base64 "////" */
    char b64[8];
    size_t n = 0;
    ASSERT_OK(vc_base64_encode(raw, 3, b64, sizeof(b64), &n));
    ASSERT_STREQ(b64, "////");
    const char *body = "[{\"detection_type\":\"audio\",\"audio_format\":\"pcm16\","
                       "\"sample_rate\":8000,\"audio_data\":\"\\/\\/\\/\\/AA==\"}]";
    vc_json_body_t *jb = NULL;
    vc_api_error_t e;
    ASSERT_OK(vc_json_body_open(body, strlen(body), &jb, &e));
    ASSERT_EQ(vc_json_body_count(jb, 1), 1);
    vc_json_request_t jr;
    ASSERT_OK(vc_json_body_item(jb, 1, 0, 1024, 1024, &jr, &e));
    ASSERT_EQ(jr.req.audio.len, 4);
    ASSERT_EQ(jr.req.audio.data[0], 0xff);
    vc_json_request_free(&jr);
    vc_json_body_close(jb);
}

static void batches_and_positions(void)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"requests\":[{\"detection_type\":\"audio\",\"audio_data\":\"%s\"},7,"
             "{\"detection_type\":\"video\"}]}",
             wav_b64);
    vc_json_body_t *jb = NULL;
    vc_api_error_t e;
    ASSERT_OK(vc_json_body_open(body, strlen(body), &jb, &e));
    ASSERT_EQ(vc_json_body_count(jb, 1), 3);
    vc_json_request_t jr;
    ASSERT_OK(vc_json_body_item(jb, 1, 0, 1 << 20, 1024, &jr, &e));
    vc_json_request_free(&jr);
    ASSERT_EQ(vc_json_body_item(jb, 1, 1, 1 << 20, 1024, &jr, &e), VC_EINVAL);
    ASSERT_EQ(vc_json_body_item(jb, 1, 2, 1 << 20, 1024, &jr, &e), VC_EINVAL);
    ASSERT_STREQ(e.code, "invalid_request");
    vc_json_body_close(jb);
    const char *bad = "{\n  \"detection_type\": \"audio\",\n  \"audio_data\": tru\n}";
    ASSERT_EQ(vc_json_body_open(bad, strlen(bad), &jb, &e), VC_EINVAL);
    ASSERT_STREQ(e.code, "invalid_json");
    ASSERT(strstr(e.message, "line 3") != NULL);
    const char *cut = "{\"detection_type\":\"aud";
    ASSERT_EQ(vc_json_body_open(cut, strlen(cut), &jb, &e), VC_EINVAL);
    ASSERT(strstr(e.message, "unexpected end") != NULL);
}

static void deep_nesting_and_token_floods(void)
{
    /* 200k nested arrays: no recursion to overflow, refused by the token cap. */
    size_t n = 200000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    vc_json_body_t *jb = NULL;
    vc_api_error_t e;
    ASSERT_EQ(vc_json_body_open(deep, 2 * n, &jb, &e), VC_EINVAL);
    ASSERT_EQ(e.status, 400);
    free(deep);
}

int main(void)
{
    make_wav();
    RUN(parity_with_jansson);
    RUN(escaped_slashes_are_undone);
    RUN(batches_and_positions);
    RUN(deep_nesting_and_token_floods);
    return 0;
}

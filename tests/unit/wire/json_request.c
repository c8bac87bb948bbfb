/* vc_json_request_parse: accepted submissions, and every error case with its HTTP status and
 * stable code. */
#include "test.h"
#include "vc/base64.h"
#include "vc/error.h"
#include "vc/wire_json.h"

#define MAX_MEDIA 64
#define MAX_META 64

static const char wav[] = "RIFF\x24\x08\0\0WAVEfmt "; /* 16 bytes */
static const char ogg[] = "OggS\0\x02\0\0";
static const char mp3[] = "ID3\x04\0\0\0\0\0\0";
static const char mp4[] = "\0\0\0\x18"
                          "ftypisom";
static const char webm[] = "\x1a\x45\xdf\xa3\x9f\x42\x86\x81";

/* A JSON string holding the base64 of n bytes (new reference). */
static json_t *b64(const void *data, size_t n)
{
    size_t cap = vc_base64_encoded_len(n) + 1, len;
    char *s = malloc(cap);
    ASSERT_OK(vc_base64_encode(data, n, s, cap, &len));
    json_t *j = json_stringn(s, len);
    free(s);
    return j;
}

#define B64(lit) b64(lit, sizeof(lit) - 1)

/* Parses obj (stolen) expecting success; caller frees jr with vc_json_request_free. */
static void parse_ok(json_t *obj, vc_json_request_t *jr)
{
    vc_api_error_t e;
    ASSERT(obj != NULL);
    int rc = vc_json_request_parse(obj, MAX_MEDIA, MAX_META, jr, &e);
    if (rc != 0)
        VC_TEST_FAIL("parse: %d %d %s %s", rc, e.status, e.code, e.message);
    json_decref(obj);
}

/* Parses obj (stolen) expecting the error (status, code) with a message naming `field`. */
static void parse_err(json_t *obj, int status, const char *code, const char *field)
{
    vc_json_request_t jr;
    vc_api_error_t e;
    ASSERT(obj != NULL);
    int rc = vc_json_request_parse(obj, MAX_MEDIA, MAX_META, &jr, &e);
    if (rc != VC_EINVAL || e.status != status || strcmp(e.code, code) != 0 ||
        strstr(e.message, field) == NULL)
        VC_TEST_FAIL("want %d %s about %s; got rc %d: %d %s \"%s\"", status, code, field, rc,
                     e.status, e.code ? e.code : "(null)", e.message);
    ASSERT(jr.audio_buf == NULL && jr.video_buf == NULL && jr.metadata == NULL);
    json_decref(obj);
}

static void test_audio(void)
{
    vc_json_request_t jr;
    parse_ok(json_pack("{s:s, s:o}", "detection_type", "audio", "audio_data", B64(wav)), &jr);
    ASSERT_EQ(jr.req.v, VC_WIRE_VERSION);
    ASSERT_EQ(jr.req.type, VC_TYPE_AUDIO);
    ASSERT(jr.req.has_audio && !jr.req.has_video);
    ASSERT_STREQ(jr.req.audio.format, "wav");
    ASSERT_EQ(jr.req.audio.sample_rate, 0);
    ASSERT_EQ(jr.req.audio.len, sizeof wav - 1);
    ASSERT(jr.req.audio.data == jr.audio_buf && memcmp(jr.audio_buf, wav, sizeof wav - 1) == 0);
    ASSERT_STREQ(jr.req.id, "");
    ASSERT(jr.req.metadata_json == NULL);
    vc_json_request_free(&jr);
    ASSERT(jr.audio_buf == NULL);
    vc_json_request_free(&jr); /* twice is harmless */
    vc_json_request_free(NULL);

    parse_ok(json_pack("{s:s, s:s, s:o, s:s, s:{s:[i,i], s:s}}", "detection_id", "abc-1:x",
                       "detection_type", "audio", "audio_data", B64(ogg), "audio_format", "Opus",
                       "metadata", "b", 1, 2, "a", "x"),
             &jr);
    ASSERT_STREQ(jr.req.id, "abc-1:x");
    ASSERT_STREQ(jr.req.audio.format, "ogg"); /* the sniffed name */
    ASSERT_STREQ(jr.req.metadata_json, "{\"b\":[1,2],\"a\":\"x\"}");
    ASSERT_EQ(jr.req.metadata_len, strlen(jr.req.metadata_json));
    vc_json_request_free(&jr);

    parse_ok(json_pack("{s:s, s:o, s:s, s:i}", "detection_type", "audio", "audio_data",
                       B64("\x01\x00\x02\x00"), "audio_format", "pcm16", "sample_rate", 16000),
             &jr);
    ASSERT_STREQ(jr.req.audio.format, "pcm16");
    ASSERT_EQ(jr.req.audio.sample_rate, 16000);
    ASSERT_EQ(jr.req.audio.len, 4);
    vc_json_request_free(&jr);

    parse_ok(json_pack("{s:s, s:o, s:n, s:n, s:n, s:n}", "detection_type", "audio", "audio_data",
                       B64(wav), "detection_id", "metadata", "audio_format", "video_data"),
             &jr); /* null is absent */
    vc_json_request_free(&jr);
}

static void test_video_and_multimodal(void)
{
    vc_json_request_t jr;
    parse_ok(json_pack("{s:s, s:o}", "detection_type", "video", "video_data", B64(mp4)), &jr);
    ASSERT(!jr.req.has_audio && jr.req.has_video);
    ASSERT_STREQ(jr.req.video.format, "mp4");
    ASSERT(jr.req.video.data == jr.video_buf && jr.req.video.len == sizeof mp4 - 1);
    vc_json_request_free(&jr);
    parse_ok(json_pack("{s:s, s:o, s:o, s:s}", "detection_type", "multimodal", "audio_data",
                       B64(wav), "video_data", B64(webm), "video_format", "mkv"),
             &jr);
    ASSERT(jr.req.has_audio && jr.req.has_video);
    ASSERT_STREQ(jr.req.audio.format, "wav");
    ASSERT_STREQ(jr.req.video.format, "webm");
    vc_json_request_free(&jr);
}

static void test_invalid_request(void)
{
    const char *bad = "invalid_request";
    parse_err(json_pack("[s]", "audio"), 400, bad, "object");
    parse_err(json_pack("{s:o}", "audio_data", B64(wav)), 400, bad, "detection_type");
    parse_err(json_pack("{s:s, s:o}", "detection_type", "speech", "audio_data", B64(wav)), 400, bad,
              "detection_type");
    parse_err(json_pack("{s:i, s:o}", "detection_type", 1, "audio_data", B64(wav)), 400, bad,
              "detection_type");
    parse_err(json_pack("{s:s}", "detection_type", "audio"), 400, bad, "audio_data");
    parse_err(json_pack("{s:s, s:o}", "detection_type", "multimodal", "audio_data", B64(wav)), 400,
              bad, "video_data");
    parse_err(json_pack("{s:s, s:o, s:o}", "detection_type", "video", "video_data", B64(mp4),
                        "audio_data", B64(wav)),
              400, bad, "audio_data");
    parse_err(json_pack("{s:s, s:i}", "detection_type", "audio", "audio_data", 7), 400, bad,
              "audio_data");
    parse_err(json_pack("{s:s, s:o, s:i}", "detection_type", "audio", "audio_data", B64(wav),
                        "audio_format", 7),
              400, bad, "audio_format");
    parse_err(json_pack("{s:s, s:s}", "detection_type", "audio", "audio_data", ""), 400, bad,
              "audio_data");
}

static void test_bad_id_and_rate(void)
{
    const char *bad = "invalid_request";
    const char *ids[] = {"a b", "", "x/y",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        parse_err(json_pack("{s:s, s:s, s:o}", "detection_id", ids[i], "detection_type", "audio",
                            "audio_data", B64(wav)),
                  400, bad, "detection_id");
    parse_err(json_pack("{s:i, s:s, s:o}", "detection_id", 12, "detection_type", "audio",
                        "audio_data", B64(wav)),
              400, bad, "detection_id");
    json_int_t rates[] = {7999, 192001, -1, 0};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        parse_err(json_pack("{s:s, s:o, s:s, s:I}", "detection_type", "audio", "audio_data",
                            B64("\0\0"), "audio_format", "pcm16", "sample_rate", rates[i]),
                  400, bad, "sample_rate");
    parse_err(json_pack("{s:s, s:o, s:s, s:s}", "detection_type", "audio", "audio_data",
                        B64("\0\0"), "audio_format", "pcm16", "sample_rate", "16000"),
              400, bad, "sample_rate");
    parse_err(json_pack("{s:s, s:o, s:s, s:f}", "detection_type", "audio", "audio_data",
                        B64("\0\0"), "audio_format", "pcm16", "sample_rate", 16000.0),
              400, bad, "sample_rate");
    parse_err(json_pack("{s:s, s:o, s:s}", "detection_type", "audio", "audio_data", B64("\0\0"),
                        "audio_format", "pcm16"),
              400, bad, "sample_rate");
    parse_err(json_pack("{s:s, s:o, s:s, s:i}", "detection_type", "audio", "audio_data",
                        B64("\0\0\0"), "audio_format", "pcm16", "sample_rate", 8000),
              400, bad, "audio_data");
}

static void test_base64_and_sizes(void)
{
    parse_err(json_pack("{s:s, s:s}", "detection_type", "audio", "audio_data", "UklGR!!!"), 400,
              "invalid_base64", "audio_data: not valid base64");
    parse_err(json_pack("{s:s, s:s}", "detection_type", "video", "video_data", "AAAA=AAA"), 400,
              "invalid_base64", "video_data");
    char big[MAX_MEDIA + 1];
    memcpy(big, wav, 16);
    memset(big + 16, 0, sizeof big - 16);
    parse_err(
        json_pack("{s:s, s:o}", "detection_type", "audio", "audio_data", b64(big, sizeof big)), 413,
        "payload_too_large", "audio_data");
    vc_json_request_t jr; /* exactly the limit passes, line breaks included */
    json_t *s = b64(big, MAX_MEDIA);
    char *wrapped = malloc(json_string_length(s) * 2 + 1);
    size_t w = 0;
    for (size_t i = 0; i < json_string_length(s); i++) {
        wrapped[w++] = json_string_value(s)[i];
        if (i % 8 == 7)
            wrapped[w++] = '\n';
    }
    wrapped[w] = '\0';
    parse_ok(json_pack("{s:s, s:s}", "detection_type", "audio", "audio_data", wrapped), &jr);
    ASSERT_EQ(jr.req.audio.len, MAX_MEDIA);
    vc_json_request_free(&jr);
    free(wrapped);
    json_decref(s);
    /* Size is judged from the base64 length before decoding: garbage that big is 413. */
    char junk[200];
    memset(junk, '!', sizeof junk - 1);
    junk[sizeof junk - 1] = '\0';
    parse_err(json_pack("{s:s, s:s}", "detection_type", "audio", "audio_data", junk), 413,
              "payload_too_large", "audio_data");
    parse_err(json_pack("{s:s, s:o, s:{s:s}}", "detection_type", "audio", "audio_data", B64(wav),
                        "metadata", "k",
                        "a string that is longer than sixty-four bytes once it is serialised"),
              413, "payload_too_large", "metadata");
    parse_err(json_pack("{s:s, s:o, s:[i]}", "detection_type", "audio", "audio_data", B64(wav),
                        "metadata", 1),
              400, "invalid_request", "metadata");
    parse_err(json_pack("{s:s, s:o, s:s}", "detection_type", "audio", "audio_data", B64(wav),
                        "metadata", "{}"),
              400, "invalid_request", "metadata");
}

static void test_unsupported_media(void)
{
    const char *bad = "unsupported_media_type";
    parse_err(json_pack("{s:s, s:o}", "detection_type", "audio", "audio_data", B64("hello world")),
              415, bad, "audio_data");
    parse_err(json_pack("{s:s, s:o}", "detection_type", "audio", "audio_data", B64(mp3)), 415, bad,
              "audio_data");
    parse_err(json_pack("{s:s, s:o}", "detection_type", "audio", "audio_data", B64(mp4)), 415, bad,
              "audio_data");
    parse_err(json_pack("{s:s, s:o}", "detection_type", "video", "video_data", B64(wav)), 415, bad,
              "video_data");
    parse_err(json_pack("{s:s, s:o, s:s}", "detection_type", "audio", "audio_data", B64(wav),
                        "audio_format", "aiff"),
              415, bad, "audio_format");
    parse_err(json_pack("{s:s, s:o, s:s}", "detection_type", "audio", "audio_data", B64(wav),
                        "audio_format", "flac"),
              415, bad, "audio_format");
    parse_err(json_pack("{s:s, s:o, s:s}", "detection_type", "video", "video_data", B64(mp4),
                        "video_format", "webm"),
              415, bad, "video_format");
    vc_json_request_t jr;
    parse_ok(json_pack("{s:s, s:o, s:s}", "detection_type", "audio", "audio_data", B64(wav),
                       "audio_format", "WAV"),
             &jr);
    vc_json_request_free(&jr);
}

int main(void)
{
    RUN(test_audio);
    RUN(test_video_and_multimodal);
    RUN(test_invalid_request);
    RUN(test_bad_id_and_rate);
    RUN(test_base64_and_sizes);
    RUN(test_unsupported_media);
    return 0;
}

/* vc_json_result and vc_json_error_body: exact renderings, optional members, odd values. */
#include "test.h"
#include "vc/wire_json.h"

#define T0 1764095400123 /* 2025-11-25T18:30:00.123Z */

static vc_result_t completed(void)
{
    vc_result_t res;
    memset(&res, 0, sizeof res);
    snprintf(res.id, sizeof res.id, "det-9");
    snprintf(res.tenant, sizeof res.tenant, "acme");
    res.type = VC_TYPE_MULTIMODAL;
    res.status = VC_STATUS_COMPLETED;
    res.verdict = VC_VERDICT_SPOOF;
    res.has_score = 1;
    res.score = 0.875;
    snprintf(res.detector, sizeof res.detector, "det-a");
    snprintf(res.model_version, sizeof res.model_version, "m3");
    res.submitted_at_ms = T0;
    res.started_at_ms = T0 + 250;
    res.completed_at_ms = T0 + 1000;
    vc_analyzer_t *an = vc_result_add_analyzer(&res, "audio", "synthetic_speech", "1.0");
    an->has_score = 1;
    an->score = 0.75;
    vc_analyzer_add_evidence(an, "llr", -3.25);
    vc_result_add_analyzer(&res, "video", "static_image", "2");
    an = vc_result_add_analyzer(&res, "audio", "replay", "1");
    an->has_score = 1;
    an->score = 0.5;
    return res;
}

/* Renders res compactly; caller frees with free(). */
static char *render(const vc_result_t *res)
{
    json_t *j = vc_json_result(res);
    ASSERT(j != NULL);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    ASSERT(s != NULL);
    return s;
}

static void expect_render(const vc_result_t *res, const char *want)
{
    char *got = render(res);
    ASSERT_STREQ(got, want);
    free(got);
}

/* Segments appear under their modality, after its analyzers, in order. */
static void test_segments(void)
{
    vc_result_t res = completed();
    ASSERT_OK(vc_result_add_segment(&res, VC_TYPE_AUDIO, 0, 1, 0.25));
    ASSERT_OK(vc_result_add_segment(&res, VC_TYPE_AUDIO, 1, 1.5, 0.75));
    res.n_analyzers = 0;
    expect_render(
        &res,
        "{\"detection_id\":\"det-9\",\"status\":\"completed\",\"detection_type\":\"multimodal\","
        "\"verdict\":\"spoof\",\"score\":0.875,\"detector\":\"det-a\",\"model_version\":\"m3\","
        "\"submitted_at\":\"2025-11-25T18:30:00.123Z\","
        "\"started_at\":\"2025-11-25T18:30:00.373Z\","
        "\"completed_at\":\"2025-11-25T18:30:01.123Z\","
        "\"timings\":{\"queue_ms\":250,\"processing_ms\":750},"
        "\"modalities\":{\"audio\":{\"segments\":[{\"start\":0.0,\"end\":1.0,\"score\":0.25},"
        "{\"start\":1.0,\"end\":1.5,\"score\":0.75}]}}}");
}

static void test_completed(void)
{
    vc_result_t res = completed();
    expect_render(
        &res,
        "{\"detection_id\":\"det-9\",\"status\":\"completed\",\"detection_type\":\"multimodal\","
        "\"verdict\":\"spoof\",\"score\":0.875,\"detector\":\"det-a\",\"model_version\":\"m3\","
        "\"submitted_at\":\"2025-11-25T18:30:00.123Z\","
        "\"started_at\":\"2025-11-25T18:30:00.373Z\","
        "\"completed_at\":\"2025-11-25T18:30:01.123Z\","
        "\"timings\":{\"queue_ms\":250,\"processing_ms\":750},"
        "\"modalities\":{\"audio\":{\"analyzers\":["
        "{\"name\":\"synthetic_speech\",\"version\":\"1.0\",\"score\":0.75,"
        "\"evidence\":{\"llr\":-3.25}},"
        "{\"name\":\"replay\",\"version\":\"1\",\"score\":0.5,\"evidence\":{}}]},"
        "\"video\":{\"analyzers\":[{\"name\":\"static_image\",\"version\":\"2\","
        "\"evidence\":{}}]}}}");
}

static void test_queued_and_failed(void)
{
    vc_result_t res;
    memset(&res, 0, sizeof res);
    snprintf(res.id, sizeof res.id, "q1");
    res.type = VC_TYPE_AUDIO;
    res.status = VC_STATUS_QUEUED;
    res.submitted_at_ms = T0;
    expect_render(&res, "{\"detection_id\":\"q1\",\"status\":\"queued\",\"detection_type\":"
                        "\"audio\",\"submitted_at\":\"2025-11-25T18:30:00.123Z\",\"timings\":{"
                        "\"queue_ms\":null,\"processing_ms\":null},\"modalities\":{}}");
    res.status = VC_STATUS_FAILED;
    res.started_at_ms = T0 + 5;
    snprintf(res.reason, sizeof res.reason, "undecodable audio: \"x\"");
    expect_render(&res, "{\"detection_id\":\"q1\",\"status\":\"failed\",\"detection_type\":"
                        "\"audio\",\"reason\":\"undecodable audio: \\\"x\\\"\","
                        "\"submitted_at\":\"2025-11-25T18:30:00.123Z\","
                        "\"started_at\":\"2025-11-25T18:30:00.128Z\",\"timings\":{\"queue_ms\":5,"
                        "\"processing_ms\":null},"
                        "\"modalities\":{}}");
    res.submitted_at_ms = 0; /* unknown */
    res.started_at_ms = 0;
    res.reason[0] = '\0';
    expect_render(&res, "{\"detection_id\":\"q1\",\"status\":\"failed\",\"detection_type\":"
                        "\"audio\",\"submitted_at\":null,\"timings\":{\"queue_ms\":null,"
                        "\"processing_ms\":null},\"modalities\":{}}");
}

static void test_odd_values(void)
{
    vc_result_t res = completed();
    res.analyzers[0].evidence[0].value = NAN;
    ASSERT_OK(vc_analyzer_add_evidence(&res.analyzers[0], "inf", INFINITY));
    snprintf(res.reason, sizeof res.reason, "bad \xff\xfe bytes");
    snprintf(res.analyzers[1].name, sizeof res.analyzers[1].name, "caf\xc3\xa9"); /* UTF-8 ok */
    json_t *j = vc_json_result(&res);
    ASSERT(j != NULL);
    json_t *ev = json_object_get(
        json_object_get(
            json_array_get(
                json_object_get(json_object_get(json_object_get(j, "modalities"), "audio"),
                                "analyzers"),
                0),
            "evidence"),
        "llr");
    ASSERT(json_is_null(ev));
    ASSERT_STREQ(json_string_value(json_object_get(j, "reason")), "bad ?? bytes");
    json_t *video = json_object_get(json_object_get(j, "modalities"), "video");
    json_t *name = json_object_get(json_array_get(json_object_get(video, "analyzers"), 0), "name");
    ASSERT_STREQ(json_string_value(name), "caf\xc3\xa9");
    json_decref(j);
    ASSERT(vc_json_result(NULL) == NULL);
}

static void test_error_body(void)
{
    char *s = vc_json_error_body("invalid_request", "audio_data: \"x\" is not valid");
    ASSERT_STREQ(s, "{\"error\":{\"code\":\"invalid_request\",\"message\":"
                    "\"audio_data: \\\"x\\\" is not valid\"}}");
    free(s);
    s = vc_json_error_body(NULL, NULL);
    ASSERT_STREQ(s, "{\"error\":{\"code\":\"internal_error\",\"message\":\"\"}}");
    free(s);
    s = vc_json_error_body("payload_too_large", "bad \x80 byte");
    ASSERT_STREQ(s, "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"bad ? byte\"}}");
    free(s);
}

int main(void)
{
    RUN(test_completed);
    RUN(test_segments);
    RUN(test_queued_and_failed);
    RUN(test_odd_values);
    RUN(test_error_body);
    return 0;
}

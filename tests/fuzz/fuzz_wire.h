#ifndef VC_FUZZ_WIRE_H
#define VC_FUZZ_WIRE_H
/* Properties of DetectionRequest shared by the wire targets (json_body, msgpack_body,
 * wire_decode). */
#include "fuzz.h"
#include "vc/wire.h"

static inline int fuzz_media_equal(const vc_media_t *a, const vc_media_t *b)
{
    return strcmp(a->format, b->format) == 0 && a->sample_rate == b->sample_rate &&
           a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Checks that b holds the same request as a, field by field (what the wire carries). */
static inline void fuzz_check_request_equal(const vc_request_t *a, const vc_request_t *b)
{
    FUZZ_CHECK(a->v == b->v, "v %u vs %u", a->v, b->v);
    FUZZ_CHECK(strcmp(a->id, b->id) == 0, "id '%s' vs '%s'", a->id, b->id);
    FUZZ_CHECK(strcmp(a->tenant, b->tenant) == 0, "tenant '%s' vs '%s'", a->tenant, b->tenant);
    FUZZ_CHECK(a->type == b->type, "type %d vs %d", (int)a->type, (int)b->type);
    FUZZ_CHECK(a->has_audio == b->has_audio && a->has_video == b->has_video,
               "parts audio %d/%d video %d/%d", a->has_audio, b->has_audio, a->has_video,
               b->has_video);
    FUZZ_CHECK(!a->has_audio || fuzz_media_equal(&a->audio, &b->audio),
               "audio '%s' %u Hz %zu bytes vs '%s' %u Hz %zu bytes", a->audio.format,
               a->audio.sample_rate, a->audio.len, b->audio.format, b->audio.sample_rate,
               b->audio.len);
    FUZZ_CHECK(!a->has_video || fuzz_media_equal(&a->video, &b->video),
               "video '%s' %zu bytes vs '%s' %zu bytes", a->video.format, a->video.len,
               b->video.format, b->video.len);
    FUZZ_CHECK((a->metadata_json == NULL) == (b->metadata_json == NULL) &&
                   a->metadata_len == b->metadata_len &&
                   (a->metadata_len == 0 ||
                    memcmp(a->metadata_json, b->metadata_json, a->metadata_len) == 0),
               "metadata %zu bytes vs %zu bytes", a->metadata_len, b->metadata_len);
    FUZZ_CHECK(a->submitted_at_ms == b->submitted_at_ms, "submitted_at %lld vs %lld",
               (long long)a->submitted_at_ms, (long long)b->submitted_at_ms);
    FUZZ_CHECK(strcmp(a->trace_id, b->trace_id) == 0, "trace_id '%s' vs '%s'", a->trace_id,
               b->trace_id);
}

/* The round-trip property of DetectionRequest: a request the decoder accepted (or the HTTP
 * validation produced) encodes, decodes back to the same fields, and encodes again to the same
 * bytes. */
static inline void fuzz_check_request_roundtrip(const vc_request_t *req)
{
    uint8_t *enc = NULL, *enc2 = NULL;
    size_t len = 0, len2 = 0;
    vc_request_t back;
    char err[256] = "";
    int rc = vc_wire_request_encode(req, &enc, &len);
    FUZZ_CHECK(rc == 0, "an accepted request does not encode: %s", vc_strerror(rc));
    rc = vc_wire_request_decode(enc, len, &back, err, sizeof(err));
    FUZZ_CHECK(rc == 0, "an encoded request does not decode: %s (%s)", vc_strerror(rc), err);
    fuzz_check_request_equal(req, &back);
    rc = vc_wire_request_encode(&back, &enc2, &len2);
    FUZZ_CHECK(rc == 0 && len2 == len && memcmp(enc, enc2, len) == 0,
               "re-encoding differs: rc %d, %zu vs %zu bytes", rc, len2, len);
    free(enc);
    free(enc2);
}

#endif

/* HTTP API v1 submission (JSON) -> DetectionRequest, with the API's error codes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vc/base64.h"
#include "vc/error.h"
#include "request_parse.h"
#include "vc/wire_json.h"

#define SAMPLE_RATE_MIN 8000
#define SAMPLE_RATE_MAX 192000

/* Declared formats accepted for each sniffed one; the request carries the sniffed name. */
typedef struct {
    const char *declared, *sniffed;
} alias_t;
static const alias_t audio_formats[] = {
    {"wav", "wav"}, {"wave", "wav"}, {"flac", "flac"}, {"ogg", "ogg"}, {"opus", "ogg"}};
static const alias_t video_formats[] = {
    {"mp4", "mp4"}, {"mov", "mp4"}, {"webm", "webm"}, {"mkv", "webm"}, {"y4m", "y4m"}};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Fills *e and returns VC_EINVAL. */
__attribute__((format(printf, 4, 5))) static int fail_with(vc_api_error_t *e, int status,
                                                           const char *code, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return VC_EINVAL;
}

#define BAD(e, ...) fail_with((e), 400, "invalid_request", __VA_ARGS__)

/* Gets an optional member; JSON null counts as absent. */
static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* Exact decoded size of a base64 text (whitespace skipped, '=' padding subtracted), computed
 * without decoding, so an oversized upload is refused before anything is allocated. For text
 * that is not valid base64 it is an estimate; the decoder then refuses it. */
size_t vc_wire__b64_decoded_size(const char *s, size_t n)
{
    size_t chars = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        chars++;
        pad = c == '=' ? pad + 1 : 0;
    }
    size_t size = chars / 4 * 3 + (chars % 4) * 3 / 4;
    pad = pad > 2 ? 2 : pad;
    return size > pad ? size - pad : 0;
}

int vc_wire__decode_base64(const char *s, size_t n, const char *key, size_t max, uint8_t **buf,
                           size_t *len, vc_api_error_t *e)
{
    /* The decoder's own bound; at most 3/4 of a string already held in memory. Only a text
     * that could exceed max needs the exact count first (a pass over the whole text). */
    size_t cap = vc_base64_decoded_maxlen(n);
    size_t size = cap > max ? vc_wire__b64_decoded_size(s, n) : cap;
    if (size > max)
        return fail_with(e, 413, "payload_too_large", "%s: decoded media is larger than %zu bytes",
                         key, max);
    if (size == 0)
        return BAD(e, "%s: empty", key);
    *buf = malloc(cap > 0 ? cap : 1);
    if (*buf == NULL)
        return fail_with(e, 500, "internal_error", "%s: out of memory", key);
    int rc = vc_base64_decode(s, n, *buf, cap, len);
    /* Whitespace or padding alone reads as empty, as the exact count would have said. */
    if ((rc != 0 && vc_wire__b64_decoded_size(s, n) == 0) || (rc == 0 && *len == 0))
        return BAD(e, "%s: empty", key);
    if (rc != 0)
        return fail_with(e, 400, "invalid_base64", "%s: not valid base64", key);
    if (*len > max)
        return fail_with(e, 413, "payload_too_large", "%s: decoded media is larger than %zu bytes",
                         key, max);
    return 0;
}

/* Maps a declared format through aliases to the name sniffing gives, or NULL. */
static const char *canonical(const alias_t *aliases, size_t n, const char *declared)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(aliases[i].declared, declared) == 0)
            return aliases[i].sniffed;
    }
    return NULL;
}

/* Checks that m's data sniffs as one of the supported formats (and as the declared one when
 * there is one); sets m->format. */
static int check_format(vc_media_t *m, const char *declared, const alias_t *aliases, size_t n,
                        const char *what, const char *hint, vc_api_error_t *e)
{
    const char *sniffed = vc_media_sniff(m->data, m->len);
    const char *want = declared != NULL ? canonical(aliases, n, declared) : NULL;
    if (declared != NULL && want == NULL)
        return fail_with(e, 415, "unsupported_media_type", "%s_format: not supported (%s)", what,
                         hint);
    if (sniffed == NULL || canonical(aliases, n, sniffed) == NULL)
        return fail_with(e, 415, "unsupported_media_type",
                         "%s_data: not a supported %s format (%s)", what, what, hint);
    if (want != NULL && strcmp(want, sniffed) != 0)
        return fail_with(e, 415, "unsupported_media_type",
                         "%s_format: does not match the data, which looks like %s", what, sniffed);
    snprintf(m->format, sizeof m->format, "%s", sniffed);
    return 0;
}

/* Takes media bytes that arrived raw (msgpack bin): borrowed, size-checked, not copied. */
static int borrow_media(const uint8_t *data, size_t len, const char *key, size_t max,
                        vc_media_t *m, vc_api_error_t *e)
{
    if (len > max)
        return fail_with(e, 413, "payload_too_large", "%s: media is larger than %zu bytes", key,
                         max);
    if (len == 0)
        return BAD(e, "%s: empty", key);
    m->data = data;
    m->len = len;
    return 0;
}

/* Gets the bytes of one media part (video 0: audio_data, 1: video_data) into m: raw from
 * pre (borrowed), base64 text decoded by pre->decode, or the object's base64 string member;
 * decoded bytes are owned by jr. */
static int get_media(json_t *obj, const vc_wire__premedia_t *pre, int video, size_t max,
                     vc_json_request_t *jr, vc_media_t *m, vc_api_error_t *e)
{
    const char *key = video ? "video_data" : "audio_data";
    uint8_t **buf = video ? &jr->video_buf : &jr->audio_buf;
    int rc;
    if (pre != NULL && pre->decode == NULL)
        return borrow_media(video ? pre->video : pre->audio,
                            video ? pre->video_len : pre->audio_len, key, max, m, e);
    if (pre != NULL) {
        rc = pre->decode(pre, video, key, max, buf, &m->len, e);
    } else {
        json_t *str = member(obj, key);
        rc = vc_wire__decode_base64(json_string_value(str), json_string_length(str), key, max, buf,
                                    &m->len, e);
    }
    m->data = *buf;
    return rc;
}

/* Audio part: its bytes, then raw pcm16 (needs sample_rate) or a sniffed container. */
static int parse_audio(json_t *obj, const vc_wire__premedia_t *pre, size_t max,
                       vc_json_request_t *jr, vc_api_error_t *e)
{
    vc_media_t *m = &jr->req.audio;
    json_t *fmt = member(obj, "audio_format"), *rate = member(obj, "sample_rate");
    int rc = get_media(obj, pre, 0, max, jr, m, e);
    if (rc != 0)
        return rc;
    m->sample_rate = rate != NULL ? (uint32_t)json_integer_value(rate) : 0;
    const char *declared = fmt != NULL ? json_string_value(fmt) : NULL;
    if (declared == NULL || strcasecmp(declared, "pcm16") != 0)
        return check_format(m, declared, audio_formats, COUNT(audio_formats), "audio",
                            "wav, flac, ogg, or pcm16 with sample_rate", e);
    if (rate == NULL)
        return BAD(e, "sample_rate: required for audio_format pcm16");
    if (m->len % 2 != 0)
        return BAD(e, "audio_data: pcm16 needs whole 16-bit samples (odd byte count)");
    snprintf(m->format, sizeof m->format, "pcm16");
    return 0;
}

/* Video part: its bytes, which must sniff as a supported container. */
static int parse_video(json_t *obj, const vc_wire__premedia_t *pre, size_t max,
                       vc_json_request_t *jr, vc_api_error_t *e)
{
    vc_media_t *m = &jr->req.video;
    json_t *fmt = member(obj, "video_format");
    int rc = get_media(obj, pre, 1, max, jr, m, e);
    if (rc != 0)
        return rc;
    const char *declared = fmt != NULL ? json_string_value(fmt) : NULL;
    return check_format(m, declared, video_formats, COUNT(video_formats), "video", "mp4, webm, y4m",
                        e);
}

/* Checks the JSON type of every optional member before anything is decoded. */
static int check_types(json_t *obj, vc_api_error_t *e)
{
    static const char *const strings[] = {"detection_id", "audio_data", "video_data",
                                          "audio_format", "video_format"};
    for (size_t i = 0; i < COUNT(strings); i++) {
        json_t *v = member(obj, strings[i]);
        if (v != NULL && !json_is_string(v))
            return BAD(e, "%s: expected a string", strings[i]);
    }
    json_t *rate = member(obj, "sample_rate");
    if (rate != NULL && (!json_is_integer(rate) || json_integer_value(rate) < SAMPLE_RATE_MIN ||
                         json_integer_value(rate) > SAMPLE_RATE_MAX))
        return BAD(e, "sample_rate: expected an integer from %d to %d", SAMPLE_RATE_MIN,
                   SAMPLE_RATE_MAX);
    json_t *md = member(obj, "metadata");
    if (md != NULL && !json_is_object(md))
        return BAD(e, "metadata: expected a JSON object");
    return 0;
}

/* Reads detection_type and detection_id, and checks media presence against the type. */
static int parse_head(json_t *obj, const vc_wire__premedia_t *pre, vc_request_t *req,
                      vc_api_error_t *e)
{
    json_t *type = member(obj, "detection_type"), *id = member(obj, "detection_id");
    if (type == NULL)
        return BAD(e, "detection_type: required");
    if (!json_is_string(type) || vc_type_parse(json_string_value(type), &req->type) != 0)
        return BAD(e, "detection_type: must be \"audio\", \"video\" or \"multimodal\"");
    if (id != NULL) {
        if (!vc_id_valid(json_string_value(id), json_string_length(id)))
            return BAD(e, "detection_id: must be 1-%d characters of A-Z a-z 0-9 . _ : -",
                       VC_ID_MAX);
        memcpy(req->id, json_string_value(id), json_string_length(id) + 1);
    }
    req->has_audio = req->type != VC_TYPE_VIDEO;
    req->has_video = req->type != VC_TYPE_AUDIO;
    const char *tname = vc_type_name(req->type);
    int audio_given = pre != NULL ? pre->audio != NULL : member(obj, "audio_data") != NULL;
    int video_given = pre != NULL ? pre->video != NULL : member(obj, "video_data") != NULL;
    if (req->has_audio != audio_given)
        return BAD(e, "audio_data: %s for detection_type %s",
                   req->has_audio ? "required" : "not allowed", tname);
    if (req->has_video != video_given)
        return BAD(e, "video_data: %s for detection_type %s",
                   req->has_video ? "required" : "not allowed", tname);
    return 0;
}

/* Serialises metadata (compact) within its cap. */
static int parse_metadata(json_t *obj, size_t max, vc_json_request_t *jr, vc_api_error_t *e)
{
    json_t *md = member(obj, "metadata");
    if (md == NULL)
        return 0;
    jr->metadata = json_dumps(md, JSON_COMPACT);
    if (jr->metadata == NULL)
        return fail_with(e, 500, "internal_error", "metadata: out of memory");
    size_t n = strlen(jr->metadata);
    if (n > max)
        return fail_with(e, 413, "payload_too_large", "metadata: larger than %zu bytes", max);
    jr->req.metadata_json = jr->metadata;
    jr->req.metadata_len = n;
    return 0;
}

int vc_wire__request_parse(json_t *obj, const vc_wire__premedia_t *pre, size_t max_media_bytes,
                           size_t max_metadata_bytes, vc_json_request_t *jr, vc_api_error_t *e)
{
    memset(jr, 0, sizeof *jr);
    memset(e, 0, sizeof *e);
    jr->req.v = VC_WIRE_VERSION;
    int rc;
    if (!json_is_object(obj)) {
        rc = BAD(e, "request: expected a JSON object");
        goto fail;
    }
    rc = check_types(obj, e);
    if (rc == 0)
        rc = parse_head(obj, pre, &jr->req, e);
    if (rc == 0)
        rc = parse_metadata(obj, max_metadata_bytes, jr, e);
    if (rc == 0 && jr->req.has_audio)
        rc = parse_audio(obj, pre, max_media_bytes, jr, e);
    if (rc == 0 && jr->req.has_video)
        rc = parse_video(obj, pre, max_media_bytes, jr, e);
    if (rc != 0)
        goto fail;
    return 0;
fail:
    vc_json_request_free(jr);
    return e->status == 500 ? VC_ENOMEM : VC_EINVAL;
}

int vc_json_request_parse(json_t *obj, size_t max_media_bytes, size_t max_metadata_bytes,
                          vc_json_request_t *jr, vc_api_error_t *e)
{
    return vc_wire__request_parse(obj, NULL, max_media_bytes, max_metadata_bytes, jr, e);
}

void vc_json_request_free(vc_json_request_t *jr)
{
    if (jr == NULL)
        return;
    free(jr->audio_buf);
    free(jr->video_buf);
    free(jr->metadata);
    memset(jr, 0, sizeof *jr);
}

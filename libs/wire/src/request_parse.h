#ifndef VC_WIRE_REQUEST_PARSE_H
#define VC_WIRE_REQUEST_PARSE_H
/* Private: the API v1 request validation shared by the JSON and msgpack bodies. */
#include <jansson.h>

#include "vc/wire_json.h"

/* Media that arrive outside the JSON object the validation reads. NULL audio/video = the part
 * was not given. Without `decode`, audio/video are the raw bytes (msgpack bin), borrowed:
 * valid while the body lives. With `decode` (the JSON fast path, whose media strings are not
 * in the object), audio/video only say which parts are present, and the validation calls
 * decode(pre, video, key, max, buf, len, e) when it reaches a part, exactly where it would
 * decode the member itself, so that errors come in the same order: decode sets *buf (owned
 * by the request, freed with it, even on failure) and *len, and fails like
 * vc_wire__decode_base64. ctx is decode's. */
typedef struct vc_wire__premedia vc_wire__premedia_t;
struct vc_wire__premedia {
    const uint8_t *audio;
    size_t audio_len;
    const uint8_t *video;
    size_t video_len;
    int (*decode)(const vc_wire__premedia_t *pre, int video, const char *key, size_t max,
                  uint8_t **buf, size_t *len, vc_api_error_t *e);
    const void *ctx;
};

/* vc_json_request_parse, except that with pre != NULL the media come from pre (see above) and
 * obj's audio_data/video_data are only type-checked. */
int vc_wire__request_parse(json_t *obj, const vc_wire__premedia_t *pre, size_t max_media_bytes,
                           size_t max_metadata_bytes, vc_json_request_t *jr, vc_api_error_t *e);

/* Exact decoded size of base64 text (whitespace skipped, padding subtracted), computed without
 * decoding, so oversized media are refused before anything is allocated. */
size_t vc_wire__b64_decoded_size(const char *s, size_t n);

/* Decodes the base64 text s[0..n) of media member `key` into a new buffer *buf (owned by the
 * caller even on failure; free() it) and *len: 413 payload_too_large when the decoded size is
 * over max (checked before anything is allocated), 400 invalid_request when empty, 400
 * invalid_base64. Returns 0, or non-zero with e filled (status 500 when out of memory). */
int vc_wire__decode_base64(const char *s, size_t n, const char *key, size_t max, uint8_t **buf,
                           size_t *len, vc_api_error_t *e);

#endif

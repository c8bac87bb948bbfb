#ifndef VC_WIRE_REQUEST_PARSE_H
#define VC_WIRE_REQUEST_PARSE_H
/* Private: the API v1 request validation shared by the JSON and msgpack bodies. */
#include <jansson.h>

#include "vc/wire_json.h"

/* Media that arrived raw (msgpack bin) instead of as base64 strings inside the object.
 * NULL data = the part was not given. Borrowed: valid while the body lives. */
typedef struct {
    const uint8_t *audio;
    size_t audio_len;
    const uint8_t *video;
    size_t video_len;
} vc_wire__premedia_t;

/* vc_json_request_parse, except that with pre != NULL the media come from pre (borrowed, no
 * base64, jr->audio_buf/video_buf stay NULL) and obj's audio_data/video_data are ignored. */
int vc_wire__request_parse(json_t *obj, const vc_wire__premedia_t *pre, size_t max_media_bytes,
                           size_t max_metadata_bytes, vc_json_request_t *jr, vc_api_error_t *e);

/* Exact decoded size of base64 text (whitespace skipped, padding subtracted), computed without
 * decoding, so oversized media are refused before anything is allocated. */
size_t vc_wire__b64_decoded_size(const char *s, size_t n);

#endif

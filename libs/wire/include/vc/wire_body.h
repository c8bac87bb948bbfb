#ifndef VC_WIRE_BODY_H
#define VC_WIRE_BODY_H
/* HTTP API v1 bodies sent as application/msgpack: the same map as the JSON body, except that
 * audio_data / video_data are msgpack bin (raw bytes: no base64 cost) and metadata is a map.
 * A single submission is that map; a batch is {"requests": [map, ...]} or a bare array. */
#include <stddef.h>
#include <stdint.h>

#include "vc/wire_json.h"

typedef struct vc_msgpack_body vc_msgpack_body_t;

/* Checks and unpacks buf (hard limits on elements and depth, see schemas/msgpack/README.md).
 * Media of every item will point into buf: keep buf alive while the body and its items are
 * used. Returns 0, or VC_EINVAL with e = {400, "invalid_msgpack", ...}, or VC_ENOMEM. */
int vc_msgpack_body_open(const uint8_t *buf, size_t len, vc_msgpack_body_t **out,
                         vc_api_error_t *e);
void vc_msgpack_body_close(vc_msgpack_body_t *b);

/* 1 when the body is a batch (array or a map with "requests"), else 0. */
int vc_msgpack_body_is_batch(const vc_msgpack_body_t *b);
/* Items in the body (1 for a single submission; 0 if "requests" is not an array). */
size_t vc_msgpack_body_count(const vc_msgpack_body_t *b);

/* Validates item i exactly like vc_json_request_parse (same error codes and statuses). Media
 * are borrowed from the body buffer, never copied; metadata becomes compact JSON text owned by
 * jr. Free with vc_json_request_free. */
int vc_msgpack_body_item(const vc_msgpack_body_t *b, size_t i, size_t max_media_bytes,
                         size_t max_metadata_bytes, vc_json_request_t *jr, vc_api_error_t *e);

/* The same API v1 bodies as application/json, parsed the fast way: a zero-copy tokenizer
 * (jsmn) finds the media strings and base64 decodes them straight from the body; only the
 * small rest of the document (the "skeleton", media strings emptied) goes through jansson's
 * strict parser. Same validation, errors and statuses as vc_json_request_parse; a JSON
 * syntax error is reported with line and column. Measured in docs/performance.md. */
typedef struct vc_json_body vc_json_body_t;

#define VC_JSON_BODY_MAX_TOKENS 100000 /* more JSON values than this: 400, never allocated */

/* Tokenizes and checks body (which must outlive the handle). Returns 0; VC_EINVAL with
 * e = {400, "invalid_json", "line L, column C: …"} (or "too many JSON values"); VC_ENOMEM. */
int vc_json_body_open(const char *body, size_t len, vc_json_body_t **out, vc_api_error_t *e);
void vc_json_body_close(vc_json_body_t *b);

/* Items for a single (batch = 0: the root must be an object) or batch submission (batch = 1:
 * {"requests":[...]} or a bare array). Returns the count, or -1 when the shape does not fit. */
long vc_json_body_count(const vc_json_body_t *b, int batch);

/* Validates item i like vc_json_request_parse; media are decoded from the body without an
 * intermediate copy and owned by jr (free with vc_json_request_free). */
int vc_json_body_item(const vc_json_body_t *b, int batch, size_t i, size_t max_media_bytes,
                      size_t max_metadata_bytes, vc_json_request_t *jr, vc_api_error_t *e);

#endif

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

#endif

#ifndef VC_WIRE_JSON_H
#define VC_WIRE_JSON_H
/* JSON mapping of the HTTP API v1 (jansson). */
#include <jansson.h>

#include "vc/wire.h"

/* A parsed JSON submission: the request plus the buffers its borrowed pointers refer to. */
typedef struct {
    vc_request_t req;
    uint8_t *audio_buf; /* base64-decoded audio_data, owned */
    uint8_t *video_buf; /* base64-decoded video_data, owned */
    char *metadata;     /* compact JSON text of `metadata`, owned */
} vc_json_request_t;

/* A client-facing validation error: a stable machine code and a sentence for people. */
typedef struct {
    int status;       /* HTTP status to answer with: 400, 413 or 415 */
    const char *code; /* "invalid_json", "invalid_request", "invalid_base64", ... (static) */
    char message[256];
} vc_api_error_t;

/* Maps one API v1 request object (already parsed JSON) to a request:
 *   {detection_id?, detection_type, audio_data?, video_data?, audio_format?, video_format?,
 *    sample_rate?, metadata?}
 * Checks types, detection_type, media presence for the type, base64, decoded size against
 * max_media_bytes (413), metadata size against max_metadata_bytes (413), and that each media
 * part sniffs as a supported format unless a raw format ("pcm16") is declared (415).
 * id is left "" when the client gave none; tenant and submitted_at_ms are left for the caller
 * to fill. JSON null counts as absent for every optional member. Media formats: audio must
 * sniff as wav/flac/ogg, video as mp4/webm/y4m; a declared audio_format/video_format must agree
 * with the sniffed one (aliases: wave, opus, mov, mkv) and the request carries the sniffed
 * name. audio_format "pcm16" skips sniffing and needs sample_rate (8000..192000, also the range
 * checked whenever sample_rate is given) and an even byte count. On success fills *jr (caller
 * frees with vc_json_request_free) and returns 0; on failure fills *e, frees what it took, and
 * returns VC_EINVAL, or VC_ENOMEM with e = {500, "internal_error"} when out of memory. */
int vc_json_request_parse(json_t *obj, size_t max_media_bytes, size_t max_metadata_bytes,
                          vc_json_request_t *jr, vc_api_error_t *e);
void vc_json_request_free(vc_json_request_t *jr);

/* Renders a result as the API's JSON object:
 *   {detection_id, status, detection_type, verdict?, score?, reason?, detector?,
 *    model_version?, submitted_at, started_at?, completed_at?, timings:{queue_ms, processing_ms},
 *    modalities:{audio:{analyzers:[{name, version, score?, evidence:{k:v}}]}, ...}}
 * Timestamps are RFC 3339 UTC strings with milliseconds; started_at/completed_at are absent
 * while 0 (not yet), submitted_at is null when 0. timings members are integers (ms) or null
 * until both of their ends are known. Only modalities with analyzers appear. Non-finite
 * numbers render as null.
 * Returns a new reference, or NULL on allocation failure. */
json_t *vc_json_result(const vc_result_t *res);

/* Renders {"error":{"code":code,"message":message}} as a malloc'd NUL-terminated string;
 * caller frees with free(). NULL code renders as "internal_error", NULL message as "".
 * NULL on allocation failure. */
char *vc_json_error_body(const char *code, const char *message);

#endif

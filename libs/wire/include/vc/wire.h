#ifndef VC_WIRE_H
#define VC_WIRE_H
/* msgpack codecs for the messages specified in schemas/msgpack/ (DetectionRequest,
 * DetectionResult), and the JSON mapping of the HTTP API v1. */
#include <stddef.h>
#include <stdint.h>

#include "vc/id.h"

#define VC_WIRE_VERSION 1 /* schema major version this code writes and accepts */
#define VC_WIRE_MAX_ANALYZERS 16 /* audio 4 + video 7 + fusion, with room */
#define VC_WIRE_MAX_EVIDENCE 16
#define VC_WIRE_MAX_SEGMENTS 128 /* per result: per-second scores of a clip, all modalities */
#define VC_WIRE_FORMAT_MAX 15

typedef enum { VC_TYPE_AUDIO = 1, VC_TYPE_VIDEO = 2, VC_TYPE_MULTIMODAL = 3 } vc_type_t;
typedef enum {
    VC_STATUS_QUEUED = 1,
    VC_STATUS_PROCESSING = 2,
    VC_STATUS_COMPLETED = 3,
    VC_STATUS_FAILED = 4
} vc_status_t;
typedef enum {
    VC_VERDICT_NONE = 0, /* not decided (queued, processing, failed) */
    VC_VERDICT_GENUINE = 1,
    VC_VERDICT_SPOOF = 2,
    VC_VERDICT_INCONCLUSIVE = 3
} vc_verdict_t;

/* One media part. `data` is borrowed: it points into the buffer the request was decoded from
 * (or whatever buffer the caller set), never owned by the struct. */
typedef struct {
    char format[VC_WIRE_FORMAT_MAX + 1]; /* "wav", "pcm16", "flac", "ogg", "mp4", ... */
    uint32_t sample_rate;                /* Hz; 0 = taken from the container */
    const uint8_t *data;
    size_t len;
} vc_media_t;

typedef struct {
    uint32_t v;
    char id[VC_ID_MAX + 1];
    char tenant[VC_ID_MAX + 1];
    vc_type_t type;
    int has_audio, has_video;
    vc_media_t audio, video;
    const char *metadata_json; /* borrowed JSON object text, or NULL */
    size_t metadata_len;
    int64_t submitted_at_ms; /* wall clock, ms since epoch */
    char trace_id[33];       /* W3C trace id (32 lowercase hex) or "" */
} vc_request_t;

typedef struct {
    char key[32];
    double value;
} vc_evidence_t;

typedef struct {
    char modality[16]; /* "audio" | "video" | "multimodal" */
    char name[32];
    char version[16];
    int has_score;
    double score; /* [0,1], probability-like spoof score */
    size_t n_evidence;
    vc_evidence_t evidence[VC_WIRE_MAX_EVIDENCE];
} vc_analyzer_t;

/* A stretch of the media with its own spoof score (where in the clip the evidence lies). */
typedef struct {
    vc_type_t modality; /* VC_TYPE_AUDIO or VC_TYPE_VIDEO */
    double start_s, end_s; /* seconds from the start of the clip, 0 <= start < end */
    double score;          /* [0, 1] */
} vc_segment_t;

typedef struct {
    uint32_t v;
    char id[VC_ID_MAX + 1];
    char tenant[VC_ID_MAX + 1];
    vc_type_t type;
    vc_status_t status;
    vc_verdict_t verdict;
    int has_score;
    double score;
    char reason[256];       /* why it failed (status FAILED), else "" */
    char detector[64];      /* instance that produced it */
    char model_version[32]; /* "" when no model was used */
    char trace_id[33];      /* the request's W3C trace id, or "" */
    int64_t submitted_at_ms, started_at_ms, completed_at_ms;
    size_t n_analyzers;
    vc_analyzer_t analyzers[VC_WIRE_MAX_ANALYZERS];
    size_t n_segments;
    vc_segment_t segments[VC_WIRE_MAX_SEGMENTS];
} vc_result_t;

const char *vc_type_name(vc_type_t t);            /* "audio" ...; "unknown" otherwise */
int vc_type_parse(const char *s, vc_type_t *out); /* 0 or VC_EINVAL */
const char *vc_status_name(vc_status_t s);        /* "queued" ... */
int vc_status_parse(const char *s, vc_status_t *out);
const char *vc_verdict_name(vc_verdict_t v); /* "genuine" ...; NULL for VC_VERDICT_NONE */
int vc_verdict_parse(const char *s, vc_verdict_t *out);

/* Encodes req as a DetectionRequest msgpack map. *out is malloc'd; caller frees with free().
 * Returns 0, VC_EINVAL (missing id/type, media inconsistent with type) or VC_ENOMEM.
 * Whatever the decoder would refuse is VC_EINVAL here too: id and tenant must pass
 * vc_id_valid, each part needs a 1..15 byte format, metadata_json (when set) must be a JSON
 * object. `v` is always written as VC_WIRE_VERSION. sample_rate 0 is omitted. */
int vc_wire_request_encode(const vc_request_t *req, uint8_t **out, size_t *outlen);
/* Decodes a DetectionRequest. Media data and metadata_json point into `buf`: keep buf alive
 * while req is used. Returns 0; VC_EPROTO (not msgpack, wrong shape, missing or mistyped
 * field, trailing bytes); VC_EFORMAT (unsupported major version `v`). err says which field. */
int vc_wire_request_decode(const uint8_t *buf, size_t len, vc_request_t *req, char *err,
                           size_t errlen);

/* Encodes res as a DetectionResult msgpack map. *out is malloc'd; caller frees with free().
 * Returns 0, VC_EINVAL (invalid id/tenant, unknown type/status/verdict, a score outside
 * [0, 1], an analyzer with an unknown modality or empty name, an empty or repeated evidence
 * key, a string not NUL-terminated in its field) or VC_ENOMEM. */
int vc_wire_result_encode(const vc_result_t *res, uint8_t **out, size_t *outlen);
/* Decodes a DetectionResult into *res (fully copied, no borrowing). Same errors as above;
 * scores outside [0, 1] and strings longer than their fields are VC_EPROTO. */
int vc_wire_result_decode(const uint8_t *buf, size_t len, vc_result_t *res, char *err,
                          size_t errlen);

/* Adds an analyzer to res (up to VC_WIRE_MAX_ANALYZERS); returns it, or NULL when full.
 * Also NULL (nothing added) when modality is not "audio"/"video"/"multimodal", name is empty,
 * or a string does not fit its field; never truncates. version may be NULL (""). */
vc_analyzer_t *vc_result_add_analyzer(vc_result_t *res, const char *modality, const char *name,
                                      const char *version);
/* Adds a key/value evidence item (up to VC_WIRE_MAX_EVIDENCE); 0 or VC_EFULL. Adding a key
 * that is already there replaces its value (evidence is a map). VC_EINVAL when key is NULL,
 * empty or longer than 31 bytes. */
int vc_analyzer_add_evidence(vc_analyzer_t *an, const char *key, double value);

/* Appends a segment score; 0, VC_EFULL (VC_WIRE_MAX_SEGMENTS reached) or VC_EINVAL (modality
 * not audio/video, times not finite or not 0 <= start < end, score outside [0, 1]). */
int vc_result_add_segment(vc_result_t *res, vc_type_t modality, double start_s, double end_s,
                          double score);

/* Identifies a media format from its first bytes: "wav", "flac", "ogg", "mp3", "mp4", "webm",
 * "y4m", or NULL when unknown. */
const char *vc_media_sniff(const uint8_t *data, size_t len);

#endif

/* DetectionRequest msgpack codec (schemas/msgpack/detection_request.md). */
#include <jansson.h>
#include <string.h>

#include "codec.h"
#include "vc/error.h"
#include "vc/wire.h"

enum {
    F_V,
    F_ID,
    F_TENANT,
    F_TYPE,
    F_AUDIO,
    F_VIDEO,
    F_METADATA,
    F_SUBMITTED_AT,
    F_TRACE_ID,
    F_COUNT
};
static const vc_wire__field_t request_fields[F_COUNT] = {
    [F_V] = {"v", VC_WIRE__UINT, VC_WIRE__REQUIRED, 0},
    [F_ID] = {"id", VC_WIRE__STR, VC_WIRE__REQUIRED, VC_ID_MAX},
    [F_TENANT] = {"tenant", VC_WIRE__STR, VC_WIRE__REQUIRED, VC_ID_MAX},
    [F_TYPE] = {"type", VC_WIRE__STR, VC_WIRE__REQUIRED, 15},
    [F_AUDIO] = {"audio", VC_WIRE__MAP, VC_WIRE__NILABLE, 0},
    [F_VIDEO] = {"video", VC_WIRE__MAP, VC_WIRE__NILABLE, 0},
    [F_METADATA] = {"metadata", VC_WIRE__STR, VC_WIRE__NILABLE, 0},
    [F_SUBMITTED_AT] = {"submitted_at", VC_WIRE__INT, VC_WIRE__REQUIRED, 0},
    [F_TRACE_ID] = {"trace_id", VC_WIRE__STR, VC_WIRE__NILABLE, 32},
};

enum { M_FORMAT, M_SAMPLE_RATE, M_DATA, M_COUNT };
static const vc_wire__field_t media_fields[M_COUNT] = {
    [M_FORMAT] = {"format", VC_WIRE__STR, VC_WIRE__REQUIRED, VC_WIRE_FORMAT_MAX},
    [M_SAMPLE_RATE] = {"sample_rate", VC_WIRE__UINT, VC_WIRE__NILABLE, UINT32_MAX},
    [M_DATA] = {"data", VC_WIRE__BIN, VC_WIRE__REQUIRED, 0},
};

/* True when text (len bytes) parses as a JSON object. */
static int is_json_object(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    int ok = json_is_object(j);
    json_decref(j);
    return ok;
}

/* Whether the type carries an audio / a video part. */
static int wants_audio(vc_type_t t)
{
    return t == VC_TYPE_AUDIO || t == VC_TYPE_MULTIMODAL;
}

static int wants_video(vc_type_t t)
{
    return t == VC_TYPE_VIDEO || t == VC_TYPE_MULTIMODAL;
}

/* True when one media part can be encoded: a 1..15 byte format, data unless empty. */
static int media_ok(const vc_media_t *m)
{
    size_t fl = strnlen(m->format, sizeof m->format);
    if (fl == 0 || fl > VC_WIRE_FORMAT_MAX)
        return 0;
    return (m->data != NULL || m->len == 0) && m->len <= UINT32_MAX;
}

/* True when req can be encoded: whatever the decoder would refuse is refused here. */
static int request_ok(const vc_request_t *req)
{
    if (!vc_id_valid(req->id, strnlen(req->id, sizeof req->id)) ||
        !vc_id_valid(req->tenant, strnlen(req->tenant, sizeof req->tenant)))
        return 0;
    if (req->type != VC_TYPE_AUDIO && req->type != VC_TYPE_VIDEO && req->type != VC_TYPE_MULTIMODAL)
        return 0;
    if (!req->has_audio != !wants_audio(req->type) || !req->has_video != !wants_video(req->type))
        return 0;
    if ((req->has_audio && !media_ok(&req->audio)) || (req->has_video && !media_ok(&req->video)))
        return 0;
    if (req->metadata_json != NULL &&
        (req->metadata_len > UINT32_MAX || !is_json_object(req->metadata_json, req->metadata_len)))
        return 0;
    return 1;
}

/* Packs key -> {format, sample_rate?, data}. */
static int pack_media(msgpack_packer *pk, const char *key, const vc_media_t *m)
{
    int rc = vc_wire__pack_key(pk, key);
    rc |= msgpack_pack_map(pk, m->sample_rate != 0 ? 3 : 2);
    rc |= vc_wire__pack_str(pk, "format", m->format);
    if (m->sample_rate != 0) {
        rc |= vc_wire__pack_key(pk, "sample_rate");
        rc |= msgpack_pack_uint32(pk, m->sample_rate);
    }
    rc |= vc_wire__pack_key(pk, "data");
    rc |= msgpack_pack_bin(pk, m->len);
    if (m->len > 0)
        rc |= msgpack_pack_bin_body(pk, m->data, m->len);
    return rc;
}

/* Encodes req; `v` is always written as VC_WIRE_VERSION, whatever req->v says. */
int vc_wire_request_encode(const vc_request_t *req, uint8_t **out, size_t *outlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    if (req == NULL || out == NULL || outlen == NULL)
        return VC_EINVAL;
    *out = NULL;
    *outlen = 0;
    if (!request_ok(req))
        return VC_EINVAL;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 5u + (req->has_audio != 0) + (req->has_video != 0) +
                                       (req->metadata_json != NULL) +
                                       (req->trace_id[0] != '\0'));
    rc |= vc_wire__pack_int(&pk, "v", VC_WIRE_VERSION);
    rc |= vc_wire__pack_str(&pk, "id", req->id);
    rc |= vc_wire__pack_str(&pk, "tenant", req->tenant);
    rc |= vc_wire__pack_str(&pk, "type", vc_type_name(req->type));
    if (req->has_audio)
        rc |= pack_media(&pk, "audio", &req->audio);
    if (req->has_video)
        rc |= pack_media(&pk, "video", &req->video);
    if (req->metadata_json != NULL) {
        rc |= vc_wire__pack_key(&pk, "metadata");
        rc |= msgpack_pack_str_with_body(&pk, req->metadata_json, req->metadata_len);
    }
    rc |= vc_wire__pack_int(&pk, "submitted_at", req->submitted_at_ms);
    if (req->trace_id[0] != '\0')
        rc |= vc_wire__pack_str(&pk, "trace_id", req->trace_id);
    return vc_wire__finish(&sb, rc, out, outlen);
}

/* Decodes one media part map (o) into *m; data points into the decoded buffer. */
static int read_media(const msgpack_object *o, const char *where, vc_media_t *m, char *err,
                      size_t errlen)
{
    const msgpack_object *f[M_COUNT];
    int rc = vc_wire__fields(o, media_fields, M_COUNT, f, where, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_wire__copy_str(f[M_FORMAT], m->format, sizeof m->format, where, "format", err, errlen);
    if (rc != 0)
        return rc;
    if (m->format[0] == '\0')
        return vc_err(err, errlen, VC_EPROTO, "%sformat: empty", where);
    m->sample_rate = f[M_SAMPLE_RATE] != NULL ? (uint32_t)f[M_SAMPLE_RATE]->via.u64 : 0;
    m->data = (const uint8_t *)f[M_DATA]->via.bin.ptr;
    m->len = f[M_DATA]->via.bin.size;
    return 0;
}

/* Copies and validates an id-like field (id, tenant). */
static int read_id(const msgpack_object *o, const char *key, char *dst, size_t cap, char *err,
                   size_t errlen)
{
    int rc = vc_wire__copy_str(o, dst, cap, "", key, err, errlen);
    if (rc != 0)
        return rc;
    if (!vc_id_valid(dst, strlen(dst)))
        return vc_err(err, errlen, VC_EPROTO, "%s: not a valid id (1-%d of A-Za-z0-9._:-)", key,
                      VC_ID_MAX);
    return 0;
}

/* Reads type and the media parts it requires (and no others). */
static int read_parts(const msgpack_object **f, vc_request_t *req, char *err, size_t errlen)
{
    char type[16];
    int rc = vc_wire__copy_str(f[F_TYPE], type, sizeof type, "", "type", err, errlen);
    if (rc != 0)
        return rc;
    if (vc_type_parse(type, &req->type) != 0)
        return vc_err(err, errlen, VC_EPROTO, "type: not audio, video or multimodal");
    req->has_audio = f[F_AUDIO] != NULL;
    req->has_video = f[F_VIDEO] != NULL;
    if (req->has_audio != wants_audio(req->type))
        return vc_err(err, errlen, VC_EPROTO, "audio: %s for type %s",
                      req->has_audio ? "not allowed" : "missing", type);
    if (req->has_video != wants_video(req->type))
        return vc_err(err, errlen, VC_EPROTO, "video: %s for type %s",
                      req->has_video ? "not allowed" : "missing", type);
    if (req->has_audio) {
        rc = read_media(f[F_AUDIO], "audio.", &req->audio, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (req->has_video)
        rc = read_media(f[F_VIDEO], "video.", &req->video, err, errlen);
    return rc;
}

/* Fills req from the validated top-level fields. */
static int read_request(const msgpack_object **f, vc_request_t *req, char *err, size_t errlen)
{
    int rc = read_id(f[F_ID], "id", req->id, sizeof req->id, err, errlen);
    if (rc == 0)
        rc = read_id(f[F_TENANT], "tenant", req->tenant, sizeof req->tenant, err, errlen);
    if (rc == 0)
        rc = read_parts(f, req, err, errlen);
    if (rc != 0)
        return rc;
    if (f[F_METADATA] != NULL) {
        req->metadata_json = f[F_METADATA]->via.str.ptr;
        req->metadata_len = f[F_METADATA]->via.str.size;
        if (!is_json_object(req->metadata_json, req->metadata_len))
            return vc_err(err, errlen, VC_EPROTO, "metadata: not a JSON object");
    }
    req->submitted_at_ms = vc_wire__int(f[F_SUBMITTED_AT]);
    if (f[F_TRACE_ID] != NULL)
        return vc_wire__copy_str(f[F_TRACE_ID], req->trace_id, sizeof req->trace_id, "",
                                 "trace_id", err, errlen);
    return 0;
}

int vc_wire__request_from_object(const msgpack_object *o, vc_request_t *req, char *err,
                                 size_t errlen)
{
    const msgpack_object *f[F_COUNT];
    memset(req, 0, sizeof *req);
    int rc = vc_wire__version(o, &req->v, err, errlen);
    if (rc == 0)
        rc = vc_wire__fields(o, request_fields, F_COUNT, f, "", err, errlen);
    if (rc == 0)
        rc = read_request(f, req, err, errlen);
    if (rc != 0)
        memset(req, 0, sizeof *req);
    return rc;
}

int vc_wire_request_decode(const uint8_t *buf, size_t len, vc_request_t *req, char *err,
                           size_t errlen)
{
    msgpack_unpacked up;
    if (req == NULL || (buf == NULL && len > 0))
        return vc_err(err, errlen, VC_EINVAL, "no request or buffer");
    memset(req, 0, sizeof *req);
    int rc = vc_wire__unpack(buf, len, &up, err, errlen);
    if (rc == 0)
        rc = vc_wire__request_from_object(&up.data, req, err, errlen);
    if (rc != 0)
        goto fail;
    /* str/bin objects point into buf, not into the zone: media and metadata stay valid. */
    msgpack_unpacked_destroy(&up);
    return 0;
fail:
    msgpack_unpacked_destroy(&up);
    memset(req, 0, sizeof *req);
    return rc;
}

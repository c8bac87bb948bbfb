/* DetectionResult msgpack codec (schemas/msgpack/detection_result.md). */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "vc/error.h"
#include "vc/wire.h"

/* Longest string (bytes, without NUL) a char-array member can hold. */
#define STR_MAX(type, member) (sizeof(((type *)0)->member) - 1)

enum {
    R_V,
    R_ID,
    R_TENANT,
    R_TYPE,
    R_STATUS,
    R_VERDICT,
    R_SCORE,
    R_REASON,
    R_DETECTOR,
    R_MODEL,
    R_SUBMITTED,
    R_STARTED,
    R_COMPLETED,
    R_ANALYZERS,
    R_TRACE_ID,
    R_SEGMENTS,
    R_COUNT
};
static const vc_wire__field_t result_fields[R_COUNT] = {
    [R_V] = {"v", VC_WIRE__UINT, VC_WIRE__REQUIRED, 0},
    [R_ID] = {"id", VC_WIRE__STR, VC_WIRE__REQUIRED, VC_ID_MAX},
    [R_TENANT] = {"tenant", VC_WIRE__STR, VC_WIRE__REQUIRED, VC_ID_MAX},
    [R_TYPE] = {"type", VC_WIRE__STR, VC_WIRE__REQUIRED, 15},
    [R_STATUS] = {"status", VC_WIRE__STR, VC_WIRE__REQUIRED, 15},
    [R_VERDICT] = {"verdict", VC_WIRE__STR, VC_WIRE__NILABLE, 15},
    [R_SCORE] = {"score", VC_WIRE__NUM, VC_WIRE__NILABLE, 0},
    [R_REASON] = {"reason", VC_WIRE__STR, VC_WIRE__NILABLE, STR_MAX(vc_result_t, reason)},
    [R_DETECTOR] = {"detector", VC_WIRE__STR, VC_WIRE__NILABLE, STR_MAX(vc_result_t, detector)},
    [R_MODEL] = {"model_version", VC_WIRE__STR, VC_WIRE__NILABLE,
                 STR_MAX(vc_result_t, model_version)},
    [R_SUBMITTED] = {"submitted_at", VC_WIRE__INT, VC_WIRE__REQUIRED, 0},
    [R_STARTED] = {"started_at", VC_WIRE__INT, VC_WIRE__NILABLE, 0},
    [R_COMPLETED] = {"completed_at", VC_WIRE__INT, VC_WIRE__NILABLE, 0},
    [R_ANALYZERS] = {"analyzers", VC_WIRE__ARRAY, VC_WIRE__NILABLE, VC_WIRE_MAX_ANALYZERS},
    [R_TRACE_ID] = {"trace_id", VC_WIRE__STR, VC_WIRE__NILABLE, 32},
    [R_SEGMENTS] = {"segments", VC_WIRE__ARRAY, VC_WIRE__NILABLE, VC_WIRE_MAX_SEGMENTS},
};

enum { S_MODALITY, S_START, S_END, S_SCORE, S_COUNT };
static const vc_wire__field_t segment_fields[S_COUNT] = {
    [S_MODALITY] = {"modality", VC_WIRE__STR, VC_WIRE__REQUIRED, 15},
    [S_START] = {"start", VC_WIRE__NUM, VC_WIRE__REQUIRED, 0},
    [S_END] = {"end", VC_WIRE__NUM, VC_WIRE__REQUIRED, 0},
    [S_SCORE] = {"score", VC_WIRE__NUM, VC_WIRE__REQUIRED, 0},
};

enum { A_MODALITY, A_NAME, A_VERSION, A_SCORE, A_EVIDENCE, A_COUNT };
static const vc_wire__field_t analyzer_fields[A_COUNT] = {
    [A_MODALITY] = {"modality", VC_WIRE__STR, VC_WIRE__REQUIRED, STR_MAX(vc_analyzer_t, modality)},
    [A_NAME] = {"name", VC_WIRE__STR, VC_WIRE__REQUIRED, STR_MAX(vc_analyzer_t, name)},
    [A_VERSION] = {"version", VC_WIRE__STR, VC_WIRE__NILABLE, STR_MAX(vc_analyzer_t, version)},
    [A_SCORE] = {"score", VC_WIRE__NUM, VC_WIRE__NILABLE, 0},
    [A_EVIDENCE] = {"evidence", VC_WIRE__MAP, VC_WIRE__NILABLE, VC_WIRE_MAX_EVIDENCE},
};

/* True when s is NUL-terminated inside its cap-byte array. */
static int terminated(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

/* A score is a probability-like number: finite and within [0, 1] (NaN fails too). */
static int score_ok(double s)
{
    return s >= 0.0 && s <= 1.0;
}

/* True when an analyzer can be encoded (and would decode back). */
static int analyzer_ok(const vc_analyzer_t *an)
{
    vc_type_t t;
    if (!terminated(an->modality, sizeof an->modality) || vc_type_parse(an->modality, &t) != 0)
        return 0;
    if (!terminated(an->name, sizeof an->name) || an->name[0] == '\0' ||
        !terminated(an->version, sizeof an->version) || (an->has_score && !score_ok(an->score)))
        return 0;
    if (an->n_evidence > VC_WIRE_MAX_EVIDENCE)
        return 0;
    for (size_t i = 0; i < an->n_evidence; i++) {
        const char *k = an->evidence[i].key;
        if (!terminated(k, sizeof an->evidence[i].key) || k[0] == '\0')
            return 0;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(an->evidence[j].key, k) == 0)
                return 0;
        }
    }
    return 1;
}

/* True when res can be encoded: whatever the decoder would refuse is refused here. */
static int result_ok(const vc_result_t *res)
{
    if (!vc_id_valid(res->id, strnlen(res->id, sizeof res->id)) ||
        !vc_id_valid(res->tenant, strnlen(res->tenant, sizeof res->tenant)))
        return 0;
    if (vc_verdict_name(res->verdict) == NULL && res->verdict != VC_VERDICT_NONE)
        return 0;
    if (strcmp(vc_type_name(res->type), "unknown") == 0 ||
        strcmp(vc_status_name(res->status), "unknown") == 0)
        return 0;
    if ((res->has_score && !score_ok(res->score)) || !terminated(res->reason, sizeof res->reason) ||
        !terminated(res->detector, sizeof res->detector) ||
        !terminated(res->model_version, sizeof res->model_version))
        return 0;
    if (res->n_analyzers > VC_WIRE_MAX_ANALYZERS)
        return 0;
    for (size_t i = 0; i < res->n_analyzers; i++) {
        if (!analyzer_ok(&res->analyzers[i]))
            return 0;
    }
    if (res->n_segments > VC_WIRE_MAX_SEGMENTS)
        return 0;
    for (size_t i = 0; i < res->n_segments; i++) {
        if (!vc_wire__segment_ok(&res->segments[i]))
            return 0;
    }
    return 1;
}

/* Packs one segment map {modality, start, end, score}. */
static int pack_segment(msgpack_packer *pk, const vc_segment_t *sg)
{
    int rc = msgpack_pack_map(pk, 4);
    rc |= vc_wire__pack_str(pk, "modality", vc_type_name(sg->modality));
    rc |= vc_wire__pack_num(pk, "start", 1, sg->start_s);
    rc |= vc_wire__pack_num(pk, "end", 1, sg->end_s);
    rc |= vc_wire__pack_num(pk, "score", 1, sg->score);
    return rc;
}

/* Packs one analyzer map {modality, name, version, score, evidence}. */
static int pack_analyzer(msgpack_packer *pk, const vc_analyzer_t *an)
{
    int rc = msgpack_pack_map(pk, 5);
    rc |= vc_wire__pack_str(pk, "modality", an->modality);
    rc |= vc_wire__pack_str(pk, "name", an->name);
    rc |= vc_wire__pack_str(pk, "version", an->version);
    rc |= vc_wire__pack_num(pk, "score", an->has_score, an->score);
    rc |= vc_wire__pack_key(pk, "evidence");
    rc |= msgpack_pack_map(pk, an->n_evidence);
    for (size_t i = 0; i < an->n_evidence; i++) {
        rc |= vc_wire__pack_key(pk, an->evidence[i].key);
        rc |= msgpack_pack_double(pk, an->evidence[i].value);
    }
    return rc;
}

/* Encodes res; `v` is always written as VC_WIRE_VERSION. */
int vc_wire_result_encode(const vc_result_t *res, uint8_t **out, size_t *outlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    if (res == NULL || out == NULL || outlen == NULL)
        return VC_EINVAL;
    *out = NULL;
    *outlen = 0;
    if (!result_ok(res))
        return VC_EINVAL;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const char *verdict = vc_verdict_name(res->verdict);
    int rc = msgpack_pack_map(&pk, 13u + (res->reason[0] != '\0') + (res->trace_id[0] != '\0') +
                                       (res->n_segments > 0));
    rc |= vc_wire__pack_int(&pk, "v", VC_WIRE_VERSION);
    rc |= vc_wire__pack_str(&pk, "id", res->id);
    rc |= vc_wire__pack_str(&pk, "tenant", res->tenant);
    rc |= vc_wire__pack_str(&pk, "type", vc_type_name(res->type));
    rc |= vc_wire__pack_str(&pk, "status", vc_status_name(res->status));
    rc |= vc_wire__pack_key(&pk, "verdict");
    rc |= verdict != NULL ? msgpack_pack_str_with_body(&pk, verdict, strlen(verdict))
                          : msgpack_pack_nil(&pk);
    rc |= vc_wire__pack_num(&pk, "score", res->has_score, res->score);
    if (res->reason[0] != '\0')
        rc |= vc_wire__pack_str(&pk, "reason", res->reason);
    rc |= vc_wire__pack_str(&pk, "detector", res->detector);
    rc |= vc_wire__pack_str(&pk, "model_version", res->model_version);
    if (res->trace_id[0] != '\0')
        rc |= vc_wire__pack_str(&pk, "trace_id", res->trace_id);
    rc |= vc_wire__pack_int(&pk, "submitted_at", res->submitted_at_ms);
    rc |= vc_wire__pack_int(&pk, "started_at", res->started_at_ms);
    rc |= vc_wire__pack_int(&pk, "completed_at", res->completed_at_ms);
    rc |= vc_wire__pack_key(&pk, "analyzers");
    rc |= msgpack_pack_array(&pk, res->n_analyzers);
    for (size_t i = 0; i < res->n_analyzers; i++)
        rc |= pack_analyzer(&pk, &res->analyzers[i]);
    if (res->n_segments > 0) {
        rc |= vc_wire__pack_key(&pk, "segments");
        rc |= msgpack_pack_array(&pk, res->n_segments);
        for (size_t i = 0; i < res->n_segments; i++)
            rc |= pack_segment(&pk, &res->segments[i]);
    }
    return vc_wire__finish(&sb, rc, out, outlen);
}

/* Reads a nilable score field: sets *has and *score; refuses values outside [0, 1]. */
static int read_score(const msgpack_object *o, int *has, double *score, const char *where,
                      char *err, size_t errlen)
{
    *has = o != NULL;
    if (o == NULL)
        return 0;
    *score = vc_wire__num(o);
    if (!score_ok(*score))
        return vc_err(err, errlen, VC_EPROTO, "%sscore: outside [0, 1]", where);
    return 0;
}

/* Reads an evidence map (at most VC_WIRE_MAX_EVIDENCE entries, checked by the table). */
static int read_evidence(const msgpack_object *map, vc_analyzer_t *an, const char *where, char *err,
                         size_t errlen)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        vc_evidence_t *ev = &an->evidence[i];
        char at[96];
        snprintf(at, sizeof at, "%sevidence[%u]", where, i);
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size == 0)
            return vc_err(err, errlen, VC_EPROTO, "%s: key is not a non-empty str", at);
        int rc = vc_wire__copy_str(&kv->key, ev->key, sizeof ev->key, at, "", err, errlen);
        if (rc != 0)
            return rc;
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(an->evidence[j].key, ev->key) == 0)
                return vc_err(err, errlen, VC_EPROTO, "%s: repeated key", at);
        }
        if (kv->val.type != MSGPACK_OBJECT_FLOAT64 && kv->val.type != MSGPACK_OBJECT_FLOAT32 &&
            kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
            kv->val.type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return vc_err(err, errlen, VC_EPROTO, "%s: value is not a number", at);
        ev->value = vc_wire__num(&kv->val);
        an->n_evidence = i + 1;
    }
    return 0;
}

/* Reads analyzers[i] (o) into *an. */
static int read_analyzer(const msgpack_object *o, uint32_t i, vc_analyzer_t *an, char *err,
                         size_t errlen)
{
    const msgpack_object *f[A_COUNT];
    char where[32];
    vc_type_t t;
    snprintf(where, sizeof where, "analyzers[%u].", i);
    int rc = vc_wire__fields(o, analyzer_fields, A_COUNT, f, where, err, errlen);
    if (rc == 0)
        rc = vc_wire__copy_str(f[A_MODALITY], an->modality, sizeof an->modality, where, "modality",
                               err, errlen);
    if (rc == 0)
        rc = vc_wire__copy_str(f[A_NAME], an->name, sizeof an->name, where, "name", err, errlen);
    if (rc == 0 && f[A_VERSION] != NULL)
        rc = vc_wire__copy_str(f[A_VERSION], an->version, sizeof an->version, where, "version", err,
                               errlen);
    if (rc != 0)
        return rc;
    if (vc_type_parse(an->modality, &t) != 0)
        return vc_err(err, errlen, VC_EPROTO, "%smodality: not audio, video or multimodal", where);
    if (an->name[0] == '\0')
        return vc_err(err, errlen, VC_EPROTO, "%sname: empty", where);
    rc = read_score(f[A_SCORE], &an->has_score, &an->score, where, err, errlen);
    if (rc == 0 && f[A_EVIDENCE] != NULL)
        rc = read_evidence(f[A_EVIDENCE], an, where, err, errlen);
    return rc;
}

/* Reads segments[i] (o) into *sg. */
static int read_segment(const msgpack_object *o, uint32_t i, vc_segment_t *sg, char *err,
                        size_t errlen)
{
    const msgpack_object *f[S_COUNT];
    char where[32], modality[16];
    snprintf(where, sizeof where, "segments[%u].", i);
    int rc = vc_wire__fields(o, segment_fields, S_COUNT, f, where, err, errlen);
    if (rc == 0)
        rc = vc_wire__copy_str(f[S_MODALITY], modality, sizeof modality, where, "modality", err,
                               errlen);
    if (rc != 0)
        return rc;
    if (vc_type_parse(modality, &sg->modality) != 0)
        sg->modality = 0;
    sg->start_s = vc_wire__num(f[S_START]);
    sg->end_s = vc_wire__num(f[S_END]);
    sg->score = vc_wire__num(f[S_SCORE]);
    if (!vc_wire__segment_ok(sg))
        return vc_err(err, errlen, VC_EPROTO,
                      "%s: needs modality audio or video, 0 <= start < end, score in [0, 1]",
                      where);
    return 0;
}

/* Reads the enum-valued fields type, status and verdict. */
static int read_enums(const msgpack_object **f, vc_result_t *res, char *err, size_t errlen)
{
    char s[16];
    int rc = vc_wire__copy_str(f[R_TYPE], s, sizeof s, "", "type", err, errlen);
    if (rc != 0)
        return rc;
    if (vc_type_parse(s, &res->type) != 0)
        return vc_err(err, errlen, VC_EPROTO, "type: not audio, video or multimodal");
    rc = vc_wire__copy_str(f[R_STATUS], s, sizeof s, "", "status", err, errlen);
    if (rc != 0)
        return rc;
    if (vc_status_parse(s, &res->status) != 0)
        return vc_err(err, errlen, VC_EPROTO, "status: not a known status");
    res->verdict = VC_VERDICT_NONE;
    if (f[R_VERDICT] == NULL)
        return 0;
    rc = vc_wire__copy_str(f[R_VERDICT], s, sizeof s, "", "verdict", err, errlen);
    if (rc == 0 && vc_verdict_parse(s, &res->verdict) != 0)
        rc = vc_err(err, errlen, VC_EPROTO, "verdict: not genuine, spoof or inconclusive");
    return rc;
}

/* Copies an optional str field into a char array; absent leaves it "". */
static int read_opt_str(const msgpack_object *o, char *dst, size_t cap, const char *key, char *err,
                        size_t errlen)
{
    if (o == NULL)
        return 0;
    return vc_wire__copy_str(o, dst, cap, "", key, err, errlen);
}

/* Fills res from the validated top-level fields. */
static int read_result(const msgpack_object **f, vc_result_t *res, char *err, size_t errlen)
{
    int rc = vc_wire__copy_str(f[R_ID], res->id, sizeof res->id, "", "id", err, errlen);
    if (rc == 0)
        rc = vc_wire__copy_str(f[R_TENANT], res->tenant, sizeof res->tenant, "", "tenant", err,
                               errlen);
    if (rc != 0)
        return rc;
    if (!vc_id_valid(res->id, strlen(res->id)) || !vc_id_valid(res->tenant, strlen(res->tenant)))
        return vc_err(err, errlen, VC_EPROTO, "%s: not a valid id",
                      vc_id_valid(res->id, strlen(res->id)) ? "tenant" : "id");
    rc = read_enums(f, res, err, errlen);
    if (rc == 0)
        rc = read_score(f[R_SCORE], &res->has_score, &res->score, "", err, errlen);
    if (rc == 0)
        rc = read_opt_str(f[R_REASON], res->reason, sizeof res->reason, "reason", err, errlen);
    if (rc == 0)
        rc = read_opt_str(f[R_DETECTOR], res->detector, sizeof res->detector, "detector", err,
                          errlen);
    if (rc == 0)
        rc = read_opt_str(f[R_MODEL], res->model_version, sizeof res->model_version,
                          "model_version", err, errlen);
    if (rc == 0)
        rc = read_opt_str(f[R_TRACE_ID], res->trace_id, sizeof res->trace_id, "trace_id", err,
                          errlen);
    if (rc != 0)
        return rc;
    res->submitted_at_ms = vc_wire__int(f[R_SUBMITTED]);
    res->started_at_ms = f[R_STARTED] != NULL ? vc_wire__int(f[R_STARTED]) : 0;
    res->completed_at_ms = f[R_COMPLETED] != NULL ? vc_wire__int(f[R_COMPLETED]) : 0;
    const msgpack_object *arr = f[R_ANALYZERS];
    for (uint32_t i = 0; arr != NULL && i < arr->via.array.size; i++) {
        rc = read_analyzer(&arr->via.array.ptr[i], i, &res->analyzers[i], err, errlen);
        if (rc != 0)
            return rc;
        res->n_analyzers = i + 1;
    }
    arr = f[R_SEGMENTS];
    for (uint32_t i = 0; arr != NULL && i < arr->via.array.size; i++) {
        rc = read_segment(&arr->via.array.ptr[i], i, &res->segments[i], err, errlen);
        if (rc != 0)
            return rc;
        res->n_segments = i + 1;
    }
    return 0;
}

int vc_wire_result_decode(const uint8_t *buf, size_t len, vc_result_t *res, char *err,
                          size_t errlen)
{
    msgpack_unpacked up;
    const msgpack_object *f[R_COUNT];
    if (res == NULL || (buf == NULL && len > 0))
        return vc_err(err, errlen, VC_EINVAL, "no result or buffer");
    memset(res, 0, sizeof *res);
    int rc = vc_wire__unpack(buf, len, &up, err, errlen);
    if (rc != 0)
        goto fail;
    rc = vc_wire__version(&up.data, &res->v, err, errlen);
    if (rc != 0)
        goto fail;
    rc = vc_wire__fields(&up.data, result_fields, R_COUNT, f, "", err, errlen);
    if (rc != 0)
        goto fail;
    rc = read_result(f, res, err, errlen);
    if (rc != 0)
        goto fail;
    msgpack_unpacked_destroy(&up);
    return 0;
fail:
    msgpack_unpacked_destroy(&up);
    memset(res, 0, sizeof *res);
    return rc;
}

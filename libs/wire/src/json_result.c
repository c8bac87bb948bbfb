/* DetectionResult -> HTTP API v1 JSON, and the API's error body. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vc/clock.h"
#include "vc/wire_json.h"

/* A JSON string of s (n bytes). Text that is not valid UTF-8 (jansson refuses it) is sent with
 * every byte >= 0x80 replaced by '?', so one odd byte from a detector cannot fail a response.
 * NULL only when out of memory. */
static json_t *text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j != NULL)
        return j;
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        copy[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
    copy[n] = '\0';
    j = json_stringn(copy, n);
    free(copy);
    return j;
}

/* A JSON string of a fixed char array (cap bytes, NUL-terminated or full). */
static json_t *field(const char *s, size_t cap)
{
    return text(s, strnlen(s, cap));
}

/* Copies a fixed char array into key (>= cap + 1 bytes) as a safe object key: NUL-terminated,
 * bytes outside printable ASCII replaced by '?'. */
static const char *safe_key(const char *s, size_t cap, char *key)
{
    size_t n = strnlen(s, cap);
    for (size_t i = 0; i < n; i++)
        key[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
    key[n] = '\0';
    return key;
}

/* A JSON number, or null for NaN/inf (which JSON cannot carry). */
static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* An RFC 3339 UTC string for a wall-clock ms timestamp. */
static json_t *timestamp(int64_t ms)
{
    char buf[40];
    vc_clock_format_rfc3339(ms, buf, sizeof buf);
    return json_string(buf);
}

/* {queue_ms, processing_ms}: each null until both of its ends are known. */
static json_t *timings(const vc_result_t *res)
{
    json_t *t = json_object();
    int64_t sub = res->submitted_at_ms, start = res->started_at_ms, done = res->completed_at_ms;
    int rc = json_object_set_new(t, "queue_ms",
                                 sub > 0 && start > 0 ? json_integer(start - sub) : json_null());
    rc |= json_object_set_new(t, "processing_ms",
                              start > 0 && done > 0 ? json_integer(done - start) : json_null());
    if (rc != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

/* {name, version, score?, evidence:{k: v}} for one analyzer. */
static json_t *analyzer(const vc_analyzer_t *an)
{
    json_t *a = json_object(), *ev = json_object();
    char key[sizeof an->evidence[0].key + 1];
    int rc = json_object_set_new(a, "name", field(an->name, sizeof an->name));
    rc |= json_object_set_new(a, "version", field(an->version, sizeof an->version));
    if (an->has_score)
        rc |= json_object_set_new(a, "score", number(an->score));
    for (size_t i = 0; i < an->n_evidence && i < VC_WIRE_MAX_EVIDENCE; i++) {
        const vc_evidence_t *e = &an->evidence[i];
        rc |= json_object_set_new(ev, safe_key(e->key, sizeof e->key, key), number(e->value));
    }
    rc |= json_object_set(a, "evidence", ev);
    json_decref(ev);
    if (rc != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* modalities[key][member]: an array, created (with the modality's entry) on first use. */
static json_t *modality_list(json_t *mods, const char *key, const char *member)
{
    json_t *mod = json_object_get(mods, key);
    if (mod == NULL) {
        mod = json_object();
        if (json_object_set_new(mods, key, mod) != 0)
            return NULL;
    }
    json_t *list = json_object_get(mod, member);
    if (list == NULL) {
        list = json_array();
        if (json_object_set_new(mod, member, list) != 0)
            return NULL;
    }
    return list;
}

/* Appends an analyzer to modalities[modality].analyzers. */
static int add_analyzer(json_t *mods, const vc_analyzer_t *an)
{
    char key[sizeof an->modality + 1];
    safe_key(an->modality, sizeof an->modality, key);
    json_t *list = modality_list(mods, key, "analyzers");
    return list == NULL ? -1 : json_array_append_new(list, analyzer(an));
}

/* Appends {start, end, score} to modalities[modality].segments. */
static int add_segment(json_t *mods, const vc_segment_t *sg)
{
    json_t *list = modality_list(mods, vc_type_name(sg->modality), "segments");
    json_t *o = json_pack("{s:f, s:f, s:f}", "start", sg->start_s, "end", sg->end_s, "score",
                          sg->score);
    if (list == NULL || o == NULL) {
        json_decref(o);
        return -1;
    }
    return json_array_append_new(list, o);
}

/* {audio:{analyzers:[...], segments:[...]}, video:{...}}: only modalities that have analyzers
 * or segments appear. */
static json_t *modalities(const vc_result_t *res)
{
    json_t *mods = json_object();
    int rc = mods == NULL ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < res->n_analyzers && i < VC_WIRE_MAX_ANALYZERS; i++)
        rc = add_analyzer(mods, &res->analyzers[i]);
    for (size_t i = 0; rc == 0 && i < res->n_segments && i < VC_WIRE_MAX_SEGMENTS; i++)
        rc = add_segment(mods, &res->segments[i]);
    if (rc != 0) {
        json_decref(mods);
        return NULL;
    }
    return mods;
}

/* The outcome members, present only when set: verdict, score, reason, detector, model. */
static int set_outcome(json_t *o, const vc_result_t *res)
{
    const char *verdict = vc_verdict_name(res->verdict);
    int rc = 0;
    if (verdict != NULL)
        rc |= json_object_set_new(o, "verdict", json_string(verdict));
    if (res->has_score)
        rc |= json_object_set_new(o, "score", number(res->score));
    if (res->reason[0] != '\0')
        rc |= json_object_set_new(o, "reason", field(res->reason, sizeof res->reason));
    if (res->detector[0] != '\0')
        rc |= json_object_set_new(o, "detector", field(res->detector, sizeof res->detector));
    if (res->model_version[0] != '\0')
        rc |= json_object_set_new(o, "model_version",
                                  field(res->model_version, sizeof res->model_version));
    if (res->trace_id[0] != '\0')
        rc |= json_object_set_new(o, "trace_id", field(res->trace_id, sizeof res->trace_id));
    return rc;
}

/* submitted_at (null when unknown), started_at and completed_at (absent until they happen). */
static int set_times(json_t *o, const vc_result_t *res)
{
    int64_t sub = res->submitted_at_ms;
    int rc = json_object_set_new(o, "submitted_at", sub > 0 ? timestamp(sub) : json_null());
    if (res->started_at_ms > 0)
        rc |= json_object_set_new(o, "started_at", timestamp(res->started_at_ms));
    if (res->completed_at_ms > 0)
        rc |= json_object_set_new(o, "completed_at", timestamp(res->completed_at_ms));
    return rc;
}

json_t *vc_json_result(const vc_result_t *res)
{
    json_t *o = res != NULL ? json_object() : NULL;
    if (o == NULL)
        return NULL;
    int rc = json_object_set_new(o, "detection_id", field(res->id, sizeof res->id));
    rc |= json_object_set_new(o, "status", json_string(vc_status_name(res->status)));
    rc |= json_object_set_new(o, "detection_type", json_string(vc_type_name(res->type)));
    rc |= set_outcome(o, res);
    rc |= set_times(o, res);
    rc |= json_object_set_new(o, "timings", timings(res));
    rc |= json_object_set_new(o, "modalities", modalities(res));
    if (rc != 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

char *vc_json_error_body(const char *code, const char *message)
{
    const char *c = code != NULL ? code : "internal_error";
    const char *m = message != NULL ? message : "";
    json_t *root = json_object(), *err = json_object();
    int rc = json_object_set_new(err, "code", text(c, strlen(c)));
    rc |= json_object_set_new(err, "message", text(m, strlen(m)));
    rc |= json_object_set(root, "error", err);
    json_decref(err);
    char *body = rc == 0 ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return body;
}

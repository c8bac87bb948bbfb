/* Names of the wire enums, and the builders of a result's analyzer list. */
#include <math.h>
#include <string.h>

#include "codec.h"
#include "vc/error.h"
#include "vc/wire.h"

typedef struct {
    int value;
    const char *name;
} name_t;

static const name_t types[] = {
    {VC_TYPE_AUDIO, "audio"}, {VC_TYPE_VIDEO, "video"}, {VC_TYPE_MULTIMODAL, "multimodal"}};
static const name_t statuses[] = {{VC_STATUS_QUEUED, "queued"},
                                  {VC_STATUS_PROCESSING, "processing"},
                                  {VC_STATUS_COMPLETED, "completed"},
                                  {VC_STATUS_FAILED, "failed"}};
static const name_t verdicts[] = {{VC_VERDICT_GENUINE, "genuine"},
                                  {VC_VERDICT_SPOOF, "spoof"},
                                  {VC_VERDICT_INCONCLUSIVE, "inconclusive"}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Name of value in table, or NULL. */
static const char *name_of(const name_t *table, size_t n, int value)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].value == value)
            return table[i].name;
    }
    return NULL;
}

/* Looks s up in table; 0 with *value set, or VC_EINVAL. */
static int parse(const name_t *table, size_t n, const char *s, int *value)
{
    if (s == NULL)
        return VC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, s) == 0) {
            *value = table[i].value;
            return 0;
        }
    }
    return VC_EINVAL;
}

const char *vc_type_name(vc_type_t t)
{
    const char *s = name_of(types, COUNT(types), (int)t);
    return s != NULL ? s : "unknown";
}

int vc_type_parse(const char *s, vc_type_t *out)
{
    int v;
    int rc = parse(types, COUNT(types), s, &v);
    if (rc == 0)
        *out = (vc_type_t)v;
    return rc;
}

const char *vc_status_name(vc_status_t s)
{
    const char *n = name_of(statuses, COUNT(statuses), (int)s);
    return n != NULL ? n : "unknown";
}

int vc_status_parse(const char *s, vc_status_t *out)
{
    int v;
    int rc = parse(statuses, COUNT(statuses), s, &v);
    if (rc == 0)
        *out = (vc_status_t)v;
    return rc;
}

const char *vc_verdict_name(vc_verdict_t v)
{
    return name_of(verdicts, COUNT(verdicts), (int)v);
}

int vc_verdict_parse(const char *s, vc_verdict_t *out)
{
    int v;
    int rc = parse(verdicts, COUNT(verdicts), s, &v);
    if (rc == 0)
        *out = (vc_verdict_t)v;
    return rc;
}

/* Copies s into dst (cap bytes) when it fits; returns 0 or -1. NULL copies as "". */
static int copy_fits(char *dst, size_t cap, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n >= cap)
        return -1;
    if (n > 0)
        memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

vc_analyzer_t *vc_result_add_analyzer(vc_result_t *res, const char *modality, const char *name,
                                      const char *version)
{
    vc_type_t t;
    if (res == NULL || res->n_analyzers >= VC_WIRE_MAX_ANALYZERS)
        return NULL;
    if (vc_type_parse(modality, &t) != 0 || name == NULL || *name == '\0')
        return NULL;
    vc_analyzer_t *an = &res->analyzers[res->n_analyzers];
    memset(an, 0, sizeof *an);
    if (copy_fits(an->modality, sizeof an->modality, modality) != 0 ||
        copy_fits(an->name, sizeof an->name, name) != 0 ||
        copy_fits(an->version, sizeof an->version, version) != 0) {
        memset(an, 0, sizeof *an);
        return NULL;
    }
    res->n_analyzers++;
    return an;
}

int vc_analyzer_add_evidence(vc_analyzer_t *an, const char *key, double value)
{
    if (an == NULL || key == NULL || *key == '\0' || strlen(key) >= sizeof an->evidence[0].key)
        return VC_EINVAL;
    for (size_t i = 0; i < an->n_evidence && i < VC_WIRE_MAX_EVIDENCE; i++) {
        if (strcmp(an->evidence[i].key, key) == 0) {
            an->evidence[i].value = value;
            return 0;
        }
    }
    if (an->n_evidence >= VC_WIRE_MAX_EVIDENCE)
        return VC_EFULL;
    vc_evidence_t *ev = &an->evidence[an->n_evidence];
    if (copy_fits(ev->key, sizeof ev->key, key) != 0)
        return VC_EINVAL;
    ev->value = value;
    an->n_evidence++;
    return 0;
}

/* A segment the codec can carry: audio or video, finite ordered times, a probability. */
int vc_wire__segment_ok(const vc_segment_t *sg)
{
    return (sg->modality == VC_TYPE_AUDIO || sg->modality == VC_TYPE_VIDEO) &&
           isfinite(sg->start_s) && isfinite(sg->end_s) && sg->start_s >= 0 &&
           sg->start_s < sg->end_s && sg->score >= 0.0 && sg->score <= 1.0;
}

int vc_result_add_segment(vc_result_t *res, vc_type_t modality, double start_s, double end_s,
                          double score)
{
    if (res == NULL)
        return VC_EINVAL;
    vc_segment_t sg = {modality, start_s, end_s, score};
    if (!vc_wire__segment_ok(&sg))
        return VC_EINVAL;
    if (res->n_segments >= VC_WIRE_MAX_SEGMENTS)
        return VC_EFULL;
    res->segments[res->n_segments++] = sg;
    return 0;
}

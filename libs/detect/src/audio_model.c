/* The audio model file: a little-endian binary image with a magic, a format version, the
 * total length and a trailing CRC-32 (format in docs/detection.md). Loading checks all four
 * before trusting any size inside, and every size again against the bytes left. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_engine.h"
#include "vc/error.h"

#define MAGIC "VCAUDMDL"
#define MAX_MODEL_BYTES ((size_t)64 * 1024 * 1024)
#define FEATURE_KIND 1 /* LFCC 20 + delta + delta-delta at 16 kHz, audio_frames.c */
#define MAX_COMPONENTS 4096

#ifndef VC_AUDIO_MODEL_DEFAULT
#define VC_AUDIO_MODEL_DEFAULT "libs/detect/models/audio.vcam"
#endif

/* ------------------------------------------------------------------ CRC-32 (IEEE) */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* ------------------------------------------------------------------ writer */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int failed;
} writer_t;

static void put(writer_t *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (b == NULL) {
            w->failed = 1;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_u32(writer_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(w, b, 4);
}

static void put_u64(writer_t *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_f64(writer_t *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(w, u);
}

static void put_f32s(writer_t *w, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        put_u32(w, u);
    }
}

static void put_logreg(writer_t *w, const vc_logreg__t *lr)
{
    put_u32(w, (uint32_t)lr->n);
    for (int i = 0; i < lr->n; i++) {
        put_f64(w, lr->w[i]);
        put_f64(w, lr->mean[i]);
        put_f64(w, lr->scale[i]);
    }
    put_f64(w, lr->bias);
}

static void put_gmm(writer_t *w, const vc_gmm__t *gmm)
{
    size_t kd = (size_t)gmm->k * (size_t)gmm->d;
    put_u32(w, (uint32_t)gmm->k);
    put_u32(w, (uint32_t)gmm->d);
    put_f32s(w, gmm->weight, (size_t)gmm->k);
    put_f32s(w, gmm->mean, kd);
    put_f32s(w, gmm->var, kd);
}

int vc_audio__model_encode(const vc_audio_model_t *model, uint8_t **buf, size_t *len)
{
    writer_t w = {NULL, 0, 0, 0};
    char version[32];

    memset(version, 0, sizeof(version));
    memcpy(version, model->version, strnlen(model->version, sizeof(version) - 1));
    put(&w, MAGIC, 8);
    put_u32(&w, VC_AUDIO_MODEL_FORMAT);
    put_u32(&w, 0); /* total length, patched below */
    put(&w, version, sizeof(version));
    put_u64(&w, model->seed);
    put_u32(&w, FEATURE_KIND);
    put_u32(&w, VC_AUDIO__DIM);
    put_logreg(&w, &model->synth);
    put_logreg(&w, &model->replay);
    put_logreg(&w, &model->splice_frame);
    put_f64(&w, model->splice_a);
    put_f64(&w, model->splice_b);
    put_f64(&w, model->splice_floor);
    put_logreg(&w, &model->fusion);
    put_gmm(&w, &model->bona);
    put_gmm(&w, &model->spoof);
    if (w.failed || w.len + 4 > UINT32_MAX) {
        free(w.buf);
        return VC_ENOMEM;
    }
    uint32_t total = (uint32_t)(w.len + 4);
    for (int i = 0; i < 4; i++)
        w.buf[12 + i] = (uint8_t)(total >> (8 * i));
    put_u32(&w, crc32_ieee(w.buf, w.len));
    if (w.failed) {
        free(w.buf);
        return VC_ENOMEM;
    }
    *buf = w.buf;
    *len = w.len;
    return 0;
}

/* ------------------------------------------------------------------ reader */

typedef struct {
    const uint8_t *p;
    size_t len, pos;
    int failed; /* ran past the end */
} reader_t;

static const uint8_t *take(reader_t *r, size_t n)
{
    if (r->failed || n > r->len - r->pos) {
        r->failed = 1;
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

static uint32_t get_u32(reader_t *r)
{
    const uint8_t *b = take(r, 4);
    if (b == NULL)
        return 0;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(reader_t *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static double get_f64(reader_t *r)
{
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static void get_f32s(reader_t *r, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = get_u32(r);
        memcpy(&v[i], &u, 4);
    }
}

/* A logistic model with exactly want features, every number finite, scales positive. */
static int get_logreg(reader_t *r, vc_logreg__t *lr, int want)
{
    memset(lr, 0, sizeof(*lr));
    uint32_t n = get_u32(r);
    if (r->failed || n != (uint32_t)want)
        return VC_EFORMAT;
    lr->n = (int)n;
    for (int i = 0; i < lr->n; i++) {
        lr->w[i] = get_f64(r);
        lr->mean[i] = get_f64(r);
        lr->scale[i] = get_f64(r);
        if (!isfinite(lr->w[i]) || !isfinite(lr->mean[i]) || !(lr->scale[i] > 0.0) ||
            !isfinite(lr->scale[i]))
            return VC_EFORMAT;
    }
    lr->bias = get_f64(r);
    return r->failed || !isfinite(lr->bias) ? VC_EFORMAT : 0;
}

/* A GMM of dimension VC_AUDIO__DIM whose arrays fit in the bytes left. */
static int get_gmm(reader_t *r, vc_gmm__t *gmm)
{
    uint32_t k = get_u32(r), d = get_u32(r);
    if (r->failed || k < 1 || k > MAX_COMPONENTS || d != VC_AUDIO__DIM)
        return VC_EFORMAT;
    size_t need = ((size_t)k + 2 * (size_t)k * d) * 4;
    if (need > r->len - r->pos)
        return VC_EFORMAT;
    int rc = vc_gmm__alloc(gmm, (int)k, (int)d);
    if (rc != 0)
        return rc;
    get_f32s(r, gmm->weight, k);
    get_f32s(r, gmm->mean, (size_t)k * d);
    get_f32s(r, gmm->var, (size_t)k * d);
    if (r->failed || vc_gmm__prepare(gmm) != 0)
        return VC_EFORMAT;
    return 0;
}

/* Checks magic, format version, length and CRC. */
static int check_envelope(const uint8_t *data, size_t len, char *err, size_t errlen)
{
    if (len < 8 + 4 + 4 + 4 || memcmp(data, MAGIC, 8) != 0)
        return vc_err(err, errlen, VC_EFORMAT, "not an audio model file (bad magic)");
    reader_t r = {data, len, 8, 0};
    uint32_t format = get_u32(&r), total = get_u32(&r);
    if (format != VC_AUDIO_MODEL_FORMAT)
        return vc_err(err, errlen, VC_EFORMAT, "model format %u, this build reads %u", format,
                      (unsigned)VC_AUDIO_MODEL_FORMAT);
    if (total != len)
        return vc_err(err, errlen, VC_EFORMAT, "model declares %u bytes but has %zu", total, len);
    r.pos = len - 4;
    uint32_t stored = get_u32(&r);
    uint32_t crc = crc32_ieee(data, len - 4);
    if (stored != crc)
        return vc_err(err, errlen, VC_EFORMAT, "model checksum mismatch (%08x, computed %08x)",
                      stored, crc);
    return 0;
}

static int parse_body(reader_t *r, vc_audio_model_t *model)
{
    const uint8_t *ver = take(r, 32);
    if (ver == NULL || memchr(ver, '\0', 32) == NULL)
        return VC_EFORMAT;
    memcpy(model->version, ver, 32);
    model->seed = get_u64(r);
    if (get_u32(r) != FEATURE_KIND || get_u32(r) != VC_AUDIO__DIM)
        return VC_EFORMAT;
    int rc = get_logreg(r, &model->synth, VC_AUDIO__SYNTH_NF);
    if (rc == 0)
        rc = get_logreg(r, &model->replay, VC_AUDIO__REPLAY_NF);
    if (rc == 0)
        rc = get_logreg(r, &model->splice_frame, VC_AUDIO__SPLICE_NF);
    if (rc != 0)
        return rc;
    model->splice_a = get_f64(r);
    model->splice_b = get_f64(r);
    if (r->failed || !isfinite(model->splice_a) || !isfinite(model->splice_b))
        return VC_EFORMAT;
    model->splice_floor = get_f64(r);
    if (r->failed || !isfinite(model->splice_floor))
        return VC_EFORMAT;
    /* One input, increasing: a model whose fusion takes the analyzers' logits directly (the
     * layout before the mixture LLR) has 3 here and is refused. */
    rc = get_logreg(r, &model->fusion, 1);
    if (rc == 0 && !(model->fusion.w[0] > 0.0))
        rc = VC_EFORMAT;
    if (rc == 0)
        rc = get_gmm(r, &model->bona);
    if (rc == 0)
        rc = get_gmm(r, &model->spoof);
    if (rc != 0)
        return rc;
    return r->pos == r->len - 4 ? 0 : VC_EFORMAT;
}

int vc_audio__model_derive(vc_audio_model_t *model)
{
    const vc_gmm__t *bona = &model->bona;
    size_t k = (size_t)bona->k, d = (size_t)bona->d;
    if (d <= VC_AUDIO__NCEP)
        return VC_EINVAL;
    free(model->derived);
    model->derived = malloc(2 * k * sizeof(float));
    if (model->derived == NULL)
        return VC_ENOMEM;
    /* The static marginal's constant: log w - 0.5 (D log 2pi + sum log var + sum mean^2 /
     * var) over the static dimensions; the dynamic view carries the rest of bona->c. */
    for (size_t j = 0; j < k; j++) {
        double acc = log(bona->weight[j]) - 0.5 * VC_AUDIO__NCEP * log(2.0 * 3.14159265358979323846);
        for (size_t i = 0; i < VC_AUDIO__NCEP; i++) {
            double v = bona->var[j * d + i], m = bona->mean[j * d + i];
            acc -= 0.5 * (log(v) + m * m / v);
        }
        model->derived[j] = (float)acc;
        model->derived[k + j] = (float)(bona->c[j] - acc);
    }
    model->bona_static = *bona;
    model->bona_static.d = VC_AUDIO__NCEP;
    model->bona_static.c = model->derived;
    model->bona_dynamic = *bona;
    model->bona_dynamic.d = (int)d - VC_AUDIO__NCEP;
    model->bona_dynamic.a_t = bona->a_t + VC_AUDIO__NCEP * k;
    model->bona_dynamic.b_t = bona->b_t + VC_AUDIO__NCEP * k;
    model->bona_dynamic.c = model->derived + k;
    return 0;
}

int vc_audio_model_load_mem(const uint8_t *data, size_t len, vc_audio_model_t **out, char *err,
                            size_t errlen)
{
    if (out == NULL || data == NULL)
        return vc_err(err, errlen, VC_EINVAL, "NULL model data");
    *out = NULL;
    if (len > MAX_MODEL_BYTES)
        return vc_err(err, errlen, VC_ETOOBIG, "model of %zu bytes", len);
    int rc = check_envelope(data, len, err, errlen);
    if (rc != 0)
        return rc;
    vc_audio_model_t *model = calloc(1, sizeof(*model));
    if (model == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the model");
    reader_t r = {data, len - 0, 8 + 4 + 4, 0};
    rc = parse_body(&r, model);
    if (rc == 0)
        rc = vc_audio__model_derive(model);
    if (rc != 0) {
        vc_audio_model_free(model);
        return vc_err(err, errlen, rc,
                      rc == VC_ENOMEM ? "no memory for the model" : "inconsistent model contents");
    }
    *out = model;
    return 0;
}

int vc_audio_model_load(const char *path, vc_audio_model_t **model, char *err, size_t errlen)
{
    uint8_t *data = NULL;
    size_t len = 0;

    if (model == NULL || path == NULL)
        return vc_err(err, errlen, VC_EINVAL, "NULL model path");
    *model = NULL;
    int rc = vc_detect_read_file(path, MAX_MODEL_BYTES, &data, &len, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_audio_model_load_mem(data, len, model, err, errlen);
    free(data);
    return rc;
}

void vc_audio_model_free(vc_audio_model_t *model)
{
    if (model == NULL)
        return;
    vc_gmm__free(&model->bona);
    vc_gmm__free(&model->spoof);
    free(model->derived);
    free(model);
}

const char *vc_audio_model_version(const vc_audio_model_t *model)
{
    return model != NULL ? model->version : "";
}

const char *vc_audio_model_default_path(void)
{
    return VC_AUDIO_MODEL_DEFAULT;
}

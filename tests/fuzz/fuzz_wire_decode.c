/* libFuzzer target: the msgpack message decoders that read Kafka payloads and Redis values
 * (DetectionRequest, DetectionResult, BatchEnvelope).
 *
 * Every input goes through all of them. Round-trip properties, not only "no crash":
 *   - a request the decoder accepts encodes, decodes back to the same fields and re-encodes to
 *     the same bytes (fuzz_check_request_roundtrip);
 *   - the same for a result (every field, evidence values bit for bit);
 *   - the items of an envelope that decode are re-wrapped with vc_wire_batch_encode, and the
 *     new envelope opens with the same count and the same items;
 *   - vc_wire_is_batch says 1 for every envelope vc_wire_batch_open accepts. */
#include <string.h>

#include "fuzz_wire.h"
#include "vc/wire_batch.h"

static void check_decode_error(int rc, const char *err)
{
    FUZZ_CHECK(rc == VC_EPROTO || rc == VC_EFORMAT || rc == VC_ENOMEM, "unexpected rc %d (%s)", rc,
               err);
    FUZZ_CHECK(err[0] != '\0', "rc %d without a message", rc);
}

static void check_analyzer_equal(size_t i, const vc_analyzer_t *a, const vc_analyzer_t *b)
{
    FUZZ_CHECK(strcmp(a->modality, b->modality) == 0 && strcmp(a->name, b->name) == 0 &&
                   strcmp(a->version, b->version) == 0,
               "analyzer %zu: %s/%s/%s vs %s/%s/%s", i, a->modality, a->name, a->version,
               b->modality, b->name, b->version);
    FUZZ_CHECK(a->has_score == b->has_score && (!a->has_score || a->score == b->score),
               "analyzer %zu: score %d %g vs %d %g", i, a->has_score, a->score, b->has_score,
               b->score);
    FUZZ_CHECK(a->n_evidence == b->n_evidence, "analyzer %zu: %zu vs %zu evidence", i,
               a->n_evidence, b->n_evidence);
    for (size_t k = 0; k < a->n_evidence; k++) {
        const vc_evidence_t *x = &a->evidence[k], *y = &b->evidence[k];
        FUZZ_CHECK(strcmp(x->key, y->key) == 0 && memcmp(&x->value, &y->value, sizeof(double)) == 0,
                   "analyzer %zu evidence %zu: %s=%g vs %s=%g", i, k, x->key, x->value, y->key,
                   y->value);
    }
}

static void check_result_equal(const vc_result_t *a, const vc_result_t *b)
{
    FUZZ_CHECK(a->v == b->v && strcmp(a->id, b->id) == 0 && strcmp(a->tenant, b->tenant) == 0,
               "v/id/tenant %u/%s/%s vs %u/%s/%s", a->v, a->id, a->tenant, b->v, b->id, b->tenant);
    FUZZ_CHECK(a->type == b->type && a->status == b->status && a->verdict == b->verdict,
               "type/status/verdict %d/%d/%d vs %d/%d/%d", (int)a->type, (int)a->status,
               (int)a->verdict, (int)b->type, (int)b->status, (int)b->verdict);
    FUZZ_CHECK(a->has_score == b->has_score && (!a->has_score || a->score == b->score),
               "score %d %g vs %d %g", a->has_score, a->score, b->has_score, b->score);
    FUZZ_CHECK(strcmp(a->reason, b->reason) == 0 && strcmp(a->detector, b->detector) == 0 &&
                   strcmp(a->model_version, b->model_version) == 0 &&
                   strcmp(a->trace_id, b->trace_id) == 0,
               "reason/detector/model/trace '%s'/'%s'/'%s'/'%s' vs '%s'/'%s'/'%s'/'%s'", a->reason,
               a->detector, a->model_version, a->trace_id, b->reason, b->detector, b->model_version,
               b->trace_id);
    FUZZ_CHECK(a->submitted_at_ms == b->submitted_at_ms && a->started_at_ms == b->started_at_ms &&
                   a->completed_at_ms == b->completed_at_ms,
               "times %lld/%lld/%lld vs %lld/%lld/%lld", (long long)a->submitted_at_ms,
               (long long)a->started_at_ms, (long long)a->completed_at_ms,
               (long long)b->submitted_at_ms, (long long)b->started_at_ms,
               (long long)b->completed_at_ms);
    FUZZ_CHECK(a->n_analyzers == b->n_analyzers, "%zu vs %zu analyzers", a->n_analyzers,
               b->n_analyzers);
    for (size_t i = 0; i < a->n_analyzers; i++)
        check_analyzer_equal(i, &a->analyzers[i], &b->analyzers[i]);
}

static void fuzz_request(const uint8_t *data, size_t size)
{
    vc_request_t req;
    char err[256] = "";
    int rc = vc_wire_request_decode(data, size, &req, err, sizeof(err));
    if (rc != 0) {
        check_decode_error(rc, err);
        return;
    }
    fuzz_check_request_roundtrip(&req);
}

static void fuzz_result(const uint8_t *data, size_t size)
{
    vc_result_t *res = malloc(2 * sizeof(*res)), *back;
    uint8_t *enc = NULL, *enc2 = NULL;
    size_t len = 0, len2 = 0;
    char err[256] = "";
    if (res == NULL)
        return;
    back = res + 1;
    int rc = vc_wire_result_decode(data, size, res, err, sizeof(err));
    if (rc != 0) {
        check_decode_error(rc, err);
        goto done;
    }
    rc = vc_wire_result_encode(res, &enc, &len);
    FUZZ_CHECK(rc == 0, "a decoded result does not encode: %s", vc_strerror(rc));
    rc = vc_wire_result_decode(enc, len, back, err, sizeof(err));
    FUZZ_CHECK(rc == 0, "an encoded result does not decode: %s (%s)", vc_strerror(rc), err);
    check_result_equal(res, back);
    rc = vc_wire_result_encode(back, &enc2, &len2);
    FUZZ_CHECK(rc == 0 && len == len2 && memcmp(enc, enc2, len) == 0,
               "re-encoding differs: rc %d, %zu vs %zu bytes", rc, len2, len);
done:
    free(enc);
    free(enc2);
    free(res);
}

static void fuzz_batch(const uint8_t *data, size_t size)
{
    vc_wire_batch_t *b = NULL, *b2 = NULL;
    vc_request_t *reqs = NULL;
    uint8_t *enc = NULL;
    size_t len = 0, k = 0;
    char err[256] = "";
    int is_batch = vc_wire_is_batch(data, size);
    FUZZ_CHECK(is_batch == 0 || is_batch == 1, "vc_wire_is_batch %d", is_batch);
    int rc = vc_wire_batch_open(data, size, &b, err, sizeof(err));
    if (rc != 0) {
        check_decode_error(rc, err);
        return;
    }
    FUZZ_CHECK(is_batch, "an envelope vc_wire_is_batch does not recognise");
    size_t n = vc_wire_batch_count(b);
    FUZZ_CHECK(n <= VC_WIRE_BATCH_MAX_ITEMS, "%zu items", n);
    reqs = calloc(n > 0 ? n : 1, sizeof(*reqs));
    if (reqs == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        rc = vc_wire_batch_item(b, i, &reqs[k], err, sizeof(err));
        if (rc == 0)
            k++;
        else
            check_decode_error(rc, err);
    }
    vc_request_t past;
    rc = vc_wire_batch_item(b, n, &past, err, sizeof(err));
    FUZZ_CHECK(rc == VC_EINVAL, "item %zu of %zu: rc %d", n, n, rc);
    /* The accepted items, re-wrapped, come back unchanged. */
    rc = vc_wire_batch_encode(reqs, k, &enc, &len);
    FUZZ_CHECK(rc == 0, "accepted items do not encode as an envelope: %s", vc_strerror(rc));
    rc = vc_wire_batch_open(enc, len, &b2, err, sizeof(err));
    FUZZ_CHECK(rc == 0, "an encoded envelope does not open: %s (%s)", vc_strerror(rc), err);
    FUZZ_CHECK(vc_wire_batch_count(b2) == k, "%zu items re-wrapped, %zu back", k,
               vc_wire_batch_count(b2));
    for (size_t i = 0; i < k; i++) {
        vc_request_t back;
        rc = vc_wire_batch_item(b2, i, &back, err, sizeof(err));
        FUZZ_CHECK(rc == 0, "re-wrapped item %zu: %s (%s)", i, vc_strerror(rc), err);
        fuzz_check_request_equal(&reqs[i], &back);
    }
done:
    vc_wire_batch_close(b2);
    free(enc);
    free(reqs);
    vc_wire_batch_close(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_request(data, size);
    fuzz_result(data, size);
    fuzz_batch(data, size);
    return 0;
}

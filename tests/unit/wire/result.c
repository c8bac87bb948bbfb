/* DetectionResult codec: round trips, builders, encoder refusals, every required field missing,
 * wrong types and values, bounds, the version rule, truncation at every length, random and
 * mutated bytes. */
#include <math.h>
#include <msgpack.h>

#include "test.h"
#include "vc/error.h"
#include "vc/wire.h"

static vc_result_t completed(void)
{
    vc_result_t res;
    memset(&res, 0, sizeof res);
    snprintf(res.id, sizeof res.id, "det-9");
    snprintf(res.tenant, sizeof res.tenant, "acme");
    res.type = VC_TYPE_MULTIMODAL;
    res.status = VC_STATUS_COMPLETED;
    res.verdict = VC_VERDICT_SPOOF;
    res.has_score = 1;
    res.score = 0.875;
    snprintf(res.detector, sizeof res.detector, "detector-1/4");
    snprintf(res.model_version, sizeof res.model_version, "lfcc-gmm-3");
    res.submitted_at_ms = 1000;
    res.started_at_ms = 1250;
    res.completed_at_ms = 2000;
    vc_analyzer_t *an = vc_result_add_analyzer(&res, "audio", "synthetic_speech", "1.0");
    ASSERT(an != NULL);
    an->has_score = 1;
    an->score = 0.9;
    ASSERT_OK(vc_analyzer_add_evidence(an, "llr", -3.25));
    ASSERT_OK(vc_analyzer_add_evidence(an, "frames", 812));
    an = vc_result_add_analyzer(&res, "video", "static_image", NULL);
    ASSERT(an != NULL);
    ASSERT_OK(vc_result_add_segment(&res, VC_TYPE_AUDIO, 0, 1, 0.25));
    ASSERT_OK(vc_result_add_segment(&res, VC_TYPE_AUDIO, 1, 1.5, 0.75));
    return res;
}

/* Encodes res, decodes it, and checks every field came back. */
static void roundtrip(const vc_result_t *res)
{
    uint8_t *buf;
    size_t len;
    vc_result_t got;
    char err[128] = "";
    ASSERT_OK(vc_wire_result_encode(res, &buf, &len));
    int rc = vc_wire_result_decode(buf, len, &got, err, sizeof err);
    if (rc != 0)
        VC_TEST_FAIL("decode: %d %s", rc, err);
    free(buf);
    ASSERT_EQ(got.v, VC_WIRE_VERSION);
    ASSERT_STREQ(got.id, res->id);
    ASSERT_STREQ(got.tenant, res->tenant);
    ASSERT_EQ(got.type, res->type);
    ASSERT_EQ(got.status, res->status);
    ASSERT_EQ(got.verdict, res->verdict);
    ASSERT_EQ(got.has_score, res->has_score);
    ASSERT(got.score == res->score);
    ASSERT_STREQ(got.reason, res->reason);
    ASSERT_STREQ(got.detector, res->detector);
    ASSERT_STREQ(got.model_version, res->model_version);
    ASSERT_EQ(got.submitted_at_ms, res->submitted_at_ms);
    ASSERT_EQ(got.started_at_ms, res->started_at_ms);
    ASSERT_EQ(got.completed_at_ms, res->completed_at_ms);
    ASSERT_EQ(got.n_analyzers, res->n_analyzers);
    for (size_t i = 0; i < res->n_analyzers; i++) {
        const vc_analyzer_t *a = &got.analyzers[i], *b = &res->analyzers[i];
        ASSERT_STREQ(a->modality, b->modality);
        ASSERT_STREQ(a->name, b->name);
        ASSERT_STREQ(a->version, b->version);
        ASSERT_EQ(a->has_score, b->has_score);
        ASSERT(a->score == b->score);
        ASSERT_EQ(a->n_evidence, b->n_evidence);
        for (size_t j = 0; j < b->n_evidence; j++) {
            ASSERT_STREQ(a->evidence[j].key, b->evidence[j].key);
            ASSERT(a->evidence[j].value == b->evidence[j].value);
        }
    }
    ASSERT_EQ(got.n_segments, res->n_segments);
    for (size_t i = 0; i < res->n_segments; i++) {
        const vc_segment_t *a = &got.segments[i], *b = &res->segments[i];
        ASSERT_EQ(a->modality, b->modality);
        ASSERT(a->start_s == b->start_s && a->end_s == b->end_s && a->score == b->score);
    }
}

static void test_roundtrip(void)
{
    vc_result_t res = completed();
    roundtrip(&res);
    memset(&res, 0, sizeof res); /* queued: nothing but identity */
    snprintf(res.id, sizeof res.id, "q");
    snprintf(res.tenant, sizeof res.tenant, "t");
    res.type = VC_TYPE_AUDIO;
    res.status = VC_STATUS_QUEUED;
    roundtrip(&res);
    res.status = VC_STATUS_FAILED;
    memset(res.reason, 'r', sizeof res.reason - 1); /* longest reason that fits */
    roundtrip(&res);
}

static void test_builders(void)
{
    vc_result_t res;
    memset(&res, 0, sizeof res);
    ASSERT(vc_result_add_analyzer(&res, "speech", "x", "1") == NULL);
    ASSERT(vc_result_add_analyzer(&res, "audio", "", "1") == NULL);
    ASSERT(vc_result_add_analyzer(&res, "audio", "x", "0123456789abcdef") == NULL);
    ASSERT(vc_result_add_analyzer(&res, "audio", "0123456789abcdef0123456789abcdef", "") == NULL);
    ASSERT_EQ(res.n_analyzers, 0);
    for (int i = 0; i < VC_WIRE_MAX_ANALYZERS; i++)
        ASSERT(vc_result_add_analyzer(&res, "video", "a", "1") != NULL);
    ASSERT(vc_result_add_analyzer(&res, "video", "a", "1") == NULL);
    vc_analyzer_t *an = &res.analyzers[0];
    char key[8];
    for (int i = 0; i < VC_WIRE_MAX_EVIDENCE; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ASSERT_OK(vc_analyzer_add_evidence(an, key, i));
    }
    ASSERT_EQ(vc_analyzer_add_evidence(an, "one_more", 1), VC_EFULL);
    ASSERT_OK(vc_analyzer_add_evidence(an, "k3", 33)); /* replaces */
    ASSERT(an->evidence[3].value == 33);
    ASSERT_EQ(vc_analyzer_add_evidence(an, "", 1), VC_EINVAL);
    ASSERT_EQ(vc_analyzer_add_evidence(an, "0123456789abcdef0123456789abcdef", 1), VC_EINVAL);
    ASSERT_EQ(vc_analyzer_add_evidence(an, NULL, 1), VC_EINVAL);
}

/* Segments: the builder refuses what the codec cannot carry; the encoder refuses a bad one
 * set by hand; a full list of VC_WIRE_MAX_SEGMENTS round-trips. */
static void test_segments(void)
{
    vc_result_t res = completed();
    ASSERT_EQ(vc_result_add_segment(&res, VC_TYPE_MULTIMODAL, 0, 1, 0.5), VC_EINVAL);
    ASSERT_EQ(vc_result_add_segment(&res, VC_TYPE_AUDIO, 1, 1, 0.5), VC_EINVAL);
    ASSERT_EQ(vc_result_add_segment(&res, VC_TYPE_AUDIO, -1, 1, 0.5), VC_EINVAL);
    ASSERT_EQ(vc_result_add_segment(&res, VC_TYPE_AUDIO, 0, 1, 1.5), VC_EINVAL);
    ASSERT_EQ(vc_result_add_segment(&res, VC_TYPE_AUDIO, 0, NAN, 0.5), VC_EINVAL);
    ASSERT_EQ(vc_result_add_segment(NULL, VC_TYPE_AUDIO, 0, 1, 0.5), VC_EINVAL);
    res.n_segments = 0;
    for (int i = 0; i < VC_WIRE_MAX_SEGMENTS; i++)
        ASSERT_OK(vc_result_add_segment(&res, i % 2 ? VC_TYPE_VIDEO : VC_TYPE_AUDIO, i, i + 1,
                                        (double)i / VC_WIRE_MAX_SEGMENTS));
    ASSERT_EQ(vc_result_add_segment(&res, VC_TYPE_AUDIO, 500, 501, 0.5), VC_EFULL);
    roundtrip(&res);
    uint8_t *buf = NULL;
    size_t len = 0;
    res.segments[3].score = 2; /* set by hand, past the builder */
    ASSERT_EQ(vc_wire_result_encode(&res, &buf, &len), VC_EINVAL);
    res.segments[3].score = 0.5;
    res.segments[3].end_s = res.segments[3].start_s;
    ASSERT_EQ(vc_wire_result_encode(&res, &buf, &len), VC_EINVAL);
}

static void test_encode_refuses(void)
{
    vc_result_t bad[9];
    for (size_t i = 0; i < 9; i++)
        bad[i] = completed();
    bad[0].score = 1.5;
    bad[1].score = NAN;
    bad[2].verdict = 9;
    bad[3].status = 0;
    bad[4].id[0] = '\0';
    snprintf(bad[5].analyzers[0].modality, sizeof bad[5].analyzers[0].modality, "speech");
    snprintf(bad[6].analyzers[0].evidence[1].key, 8, "llr"); /* repeated key */
    bad[7].n_analyzers = VC_WIRE_MAX_ANALYZERS + 1;
    bad[8].analyzers[1].has_score = 1;
    bad[8].analyzers[1].score = -0.1;
    for (size_t i = 0; i < 9; i++) {
        uint8_t *buf;
        size_t len;
        if (vc_wire_result_encode(&bad[i], &buf, &len) != VC_EINVAL)
            VC_TEST_FAIL("bad[%zu] encoded", i);
    }
}

/* --- edits of a valid encoding ---------------------------------------------------------- */

typedef void (*packfn)(msgpack_packer *);

/* True when the first segment of path ("a.b.c") equals the str object k. */
static int seg_is(const char *path, const msgpack_object *k)
{
    size_t n = strcspn(path, ".");
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, path, n) == 0;
}

/* Packs o with the value at path replaced by fn (added when absent), or removed when fn is
 * NULL. Path segments are map keys or array indexes ("analyzers.0.name"). */
static void repack(msgpack_packer *pk, const msgpack_object *o, const char *path, packfn fn)
{
    const char *rest = path != NULL ? strchr(path, '.') : NULL;
    if (path != NULL && o->type == MSGPACK_OBJECT_ARRAY) { /* one-digit indexes */
        uint32_t at = (uint32_t)(path[0] - '0');
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i == at && rest == NULL)
                fn(pk);
            else
                repack(pk, &o->via.array.ptr[i], i == at ? rest + 1 : NULL, fn);
        }
        return;
    }
    if (path == NULL || o->type != MSGPACK_OBJECT_MAP) {
        msgpack_pack_object(pk, *o);
        return;
    }
    int found = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++)
        found |= seg_is(path, &o->via.map.ptr[i].key);
    msgpack_pack_map(pk, o->via.map.size - (found && !rest && !fn) + (!found && !rest && fn));
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (!seg_is(path, &kv->key) || rest) {
            msgpack_pack_object(pk, kv->key);
            repack(pk, &kv->val, seg_is(path, &kv->key) ? rest + 1 : NULL, fn);
        } else if (fn) {
            msgpack_pack_object(pk, kv->key);
            fn(pk);
        }
    }
    if (!found && !rest && fn) {
        msgpack_pack_str_with_body(pk, path, strlen(path));
        fn(pk);
    }
}

/* Decodes completed() edited at path by fn, expecting rc and an error naming `field`. */
static void check(const char *path, packfn fn, int rc, const char *field)
{
    vc_result_t res = completed(), got;
    uint8_t *buf;
    size_t len;
    char err[160] = "";
    ASSERT_OK(vc_wire_result_encode(&res, &buf, &len));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ASSERT_EQ(msgpack_unpack_next(&up, (const char *)buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    repack(&pk, &up.data, path, fn);
    int got_rc = vc_wire_result_decode((const uint8_t *)sb.data, sb.size, &got, err, sizeof err);
    if (got_rc != rc)
        VC_TEST_FAIL("%s: expected %d, got %d (%s)", path, rc, got_rc, err);
    if (field != NULL && strstr(err, field) == NULL)
        VC_TEST_FAIL("%s: error \"%s\" does not name %s", path, err, field);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&up);
    free(buf);
}

/* Defines a packfn whose body is one statement using `pk`. */
#define PACKER(name, stmt)                                                                         \
    static void name(msgpack_packer *pk)                                                           \
    {                                                                                              \
        stmt;                                                                                      \
    }

PACKER(pk_nil, msgpack_pack_nil(pk))
PACKER(pk_int, msgpack_pack_int(pk, 1))
PACKER(pk_2, msgpack_pack_int(pk, 2))
PACKER(pk_half32, msgpack_pack_float(pk, 0.5f))
PACKER(pk_big, msgpack_pack_double(pk, 1.5))
PACKER(pk_str, msgpack_pack_str_with_body(pk, "maybe", 5))
/* A string of n 'x' characters. */
static void pk_x(msgpack_packer *pk, size_t n)
{
    char s[300];
    memset(s, 'x', n);
    msgpack_pack_str_with_body(pk, s, n);
}
PACKER(pk_x256, pk_x(pk, 256))
PACKER(pk_x64, pk_x(pk, 64))
PACKER(pk_x32, pk_x(pk, 32))
/* A map of n evidence items "e0".."e<n-1>", or with a repeated key when n is 0. */
static void pk_evidence(msgpack_packer *pk, int n)
{
    msgpack_pack_map(pk, n > 0 ? (size_t)n : 2);
    for (int i = 0; i < (n > 0 ? n : 2); i++) {
        char k[8];
        int kl = snprintf(k, sizeof k, "e%d", n > 0 ? i : 0);
        msgpack_pack_str_with_body(pk, k, (size_t)kl);
        msgpack_pack_double(pk, i);
    }
}
PACKER(pk_ev17, pk_evidence(pk, VC_WIRE_MAX_EVIDENCE + 1))
PACKER(pk_ev16, pk_evidence(pk, VC_WIRE_MAX_EVIDENCE))
PACKER(pk_evdup, pk_evidence(pk, 0))
static void pk_ev_intkey(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_double(pk, 1);
}
static void pk_ev_strval(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_str_with_body(pk, "k", 1);
    msgpack_pack_str_with_body(pk, "v", 1);
}
/* An array of n minimal analyzers. */
static void pk_analyzers(msgpack_packer *pk, int n)
{
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(pk, 2);
        msgpack_pack_str_with_body(pk, "modality", 8);
        msgpack_pack_str_with_body(pk, "audio", 5);
        msgpack_pack_str_with_body(pk, "name", 4);
        msgpack_pack_str_with_body(pk, "a", 1);
    }
}
PACKER(pk_an8, pk_analyzers(pk, VC_WIRE_MAX_ANALYZERS))
PACKER(pk_an9, pk_analyzers(pk, VC_WIRE_MAX_ANALYZERS + 1))

static void test_decode_errors(void)
{
    static const char *const required[][2] = {{"v", "v"},
                                              {"id", "id"},
                                              {"tenant", "tenant"},
                                              {"type", "type"},
                                              {"status", "status"},
                                              {"submitted_at", "submitted_at"},
                                              {"analyzers.0.modality", "analyzers[0].modality"},
                                              {"analyzers.1.name", "analyzers[1].name"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        check(required[i][0], NULL, VC_EPROTO, required[i][1]);
    static const char *const optional[] = {"verdict",
                                           "score",
                                           "reason",
                                           "detector",
                                           "model_version",
                                           "started_at",
                                           "completed_at",
                                           "analyzers",
                                           "analyzers.1.version",
                                           "analyzers.0.score",
                                           "analyzers.0.evidence"};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
        check(optional[i], NULL, 0, NULL);
        check(optional[i], pk_nil, 0, NULL);
    }
    check("v", pk_2, VC_EFORMAT, "v");
    check("id", pk_int, VC_EPROTO, "id");
    check("status", pk_str, VC_EPROTO, "status");
    check("verdict", pk_str, VC_EPROTO, "verdict");
    check("type", pk_str, VC_EPROTO, "type");
    check("score", pk_int, 0, NULL); /* integers are numbers */
    check("score", pk_half32, 0, NULL);
    check("score", pk_big, VC_EPROTO, "score");
    check("score", pk_str, VC_EPROTO, "score");
    check("started_at", pk_str, VC_EPROTO, "started_at");
    check("reason", pk_x256, VC_EPROTO, "reason");
    check("detector", pk_x64, VC_EPROTO, "detector");
    check("model_version", pk_x32, VC_EPROTO, "model_version");
    check("analyzers", pk_an8, 0, NULL);
    check("analyzers", pk_an9, VC_EPROTO, "analyzers");
    check("analyzers", pk_int, VC_EPROTO, "analyzers");
    check("analyzers.0", pk_int, VC_EPROTO, "analyzers[0]");
    check("analyzers.0.name", pk_x32, VC_EPROTO, "analyzers[0].name");
    check("analyzers.1.modality", pk_str, VC_EPROTO, "analyzers[1].modality");
    check("analyzers.0.score", pk_big, VC_EPROTO, "analyzers[0].score");
    check("analyzers.0.evidence", pk_ev16, 0, NULL);
    check("analyzers.0.evidence", pk_ev17, VC_EPROTO, "evidence");
    check("analyzers.0.evidence", pk_evdup, VC_EPROTO, "evidence[1]");
    check("analyzers.0.evidence", pk_ev_intkey, VC_EPROTO, "evidence[0]");
    check("analyzers.0.evidence", pk_ev_strval, VC_EPROTO, "evidence[0]");
    check("future_field", pk_an9, 0, NULL); /* unknown keys are ignored */
    check("analyzers.0.future", pk_str, 0, NULL);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static void test_bytes(void)
{
    vc_result_t res = completed(), got;
    uint8_t *good;
    size_t len;
    ASSERT_OK(vc_wire_result_encode(&res, &good, &len));
    for (size_t i = 0; i < len; i++) { /* every prefix fails, at its exact size for ASan */
        uint8_t *b = malloc(i > 0 ? i : 1);
        memcpy(b, good, i);
        if (vc_wire_result_decode(b, i, &got, NULL, 0) == 0)
            VC_TEST_FAIL("prefix of %zu/%zu bytes decoded", i, len);
        free(b);
    }
    for (int i = 0; i < 4000; i++) { /* noise, and mutations of the valid encoding */
        size_t n = i % 2 ? next() % 300 : len;
        uint8_t *b = malloc(n > 0 ? n : 1);
        for (size_t j = 0; j < n; j++)
            b[j] = (uint8_t)next();
        if (i % 2 == 0) {
            memcpy(b, good, len);
            for (int k = 0, flips = 1 + next() % 4; k < flips; k++)
                b[next() % len] = (uint8_t)next();
        }
        int rc = vc_wire_result_decode(b, n, &got, NULL, 0);
        ASSERT(rc == 0 || rc == VC_EPROTO || rc == VC_EFORMAT);
        free(b);
    }
    free(good);
}

int main(void)
{
    RUN(test_roundtrip);
    RUN(test_builders);
    RUN(test_segments);
    RUN(test_encode_refuses);
    RUN(test_decode_errors);
    RUN(test_bytes);
    return 0;
}

/* DetectionRequest decoder against hostile bytes: wrong shapes, trailing bytes, deep nesting,
 * element floods, every truncation of valid encodings, and thousands of random and mutated
 * buffers. None may crash (ASan/UBSan run included); every broken one must fail. */
#include "test.h"
#include "vc/error.h"
#include "vc/wire.h"

static const uint8_t wav[] = "RIFF\x24\0\0\0WAVEfmt ";
static const uint8_t mp4[] = "\0\0\0\x18"
                             "ftypisom";

/* Valid encoding of a request of the given type; caller frees with free(). */
static uint8_t *valid(vc_type_t type, size_t *len)
{
    vc_request_t req;
    uint8_t *buf;
    memset(&req, 0, sizeof req);
    snprintf(req.id, sizeof req.id, "det-1");
    snprintf(req.tenant, sizeof req.tenant, "t1");
    req.type = type;
    req.has_audio = type != VC_TYPE_VIDEO;
    req.has_video = type != VC_TYPE_AUDIO;
    req.audio = (vc_media_t){.format = "wav", .sample_rate = 16000, .data = wav, .len = sizeof wav};
    req.video = (vc_media_t){.format = "mp4", .data = mp4, .len = sizeof mp4};
    req.metadata_json = "{\"k\":[1,2]}";
    req.metadata_len = strlen(req.metadata_json);
    req.submitted_at_ms = 1764095400123;
    ASSERT_OK(vc_wire_request_encode(&req, &buf, len));
    return buf;
}

/* Decodes buf expecting rc, with err mentioning `field` (when not NULL); frees buf. */
static void expect(uint8_t *buf, size_t len, int rc, const char *field)
{
    vc_request_t req;
    char err[160] = "";
    int got = vc_wire_request_decode(buf, len, &req, err, sizeof err);
    if (got != rc)
        VC_TEST_FAIL("expected %d, got %d (%s)", rc, got, err);
    if (field != NULL && strstr(err, field) == NULL)
        VC_TEST_FAIL("error \"%s\" does not name %s", err, field);
    if (rc != 0)
        ASSERT(req.id[0] == '\0' && req.audio.data == NULL); /* nothing half-filled */
    free(buf);
}

static void test_shape(void)
{
    static const uint8_t array[] = {0x91, 0x01};
    static const uint8_t dup[] = {0x82, 0xa2, 'i', 'd', 0xa1, 'a', 0xa2, 'i', 'd', 0xa1, 'b'};
    static const uint8_t intkey[] = {0x81, 0x01, 0x02};
    static const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0};
    static const uint8_t huge_map[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0, 0xc0};
    static const uint8_t c1[] = {0xc1};
    const struct {
        const uint8_t *b;
        size_t n;
    } cases[] = {{array, sizeof array},       {dup, sizeof dup},
                 {intkey, sizeof intkey},     {huge_array, sizeof huge_array},
                 {huge_map, sizeof huge_map}, {c1, sizeof c1},
                 {(const uint8_t *)"", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vc_request_t req;
        ASSERT_EQ(vc_wire_request_decode(cases[i].b, cases[i].n, &req, NULL, 0), VC_EPROTO);
    }
    size_t len;
    uint8_t *buf = valid(VC_TYPE_MULTIMODAL, &len);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0xc0;
    expect(longer, len + 1, VC_EPROTO, "trailing");
    free(buf);
}

/* Deep nesting and element floods: refused without crashing or allocating their claims. */
static void test_hostile_shapes(void)
{
    size_t n = 5000;
    uint8_t *b = malloc(n);
    memset(b, 0x91, n - 1); /* [[[[...nil...]]]] */
    b[n - 1] = 0xc0;
    expect(b, n, VC_EPROTO, NULL);
    n = 3 + 20000;
    b = malloc(n);
    b[0] = 0xdc; /* array16 of 20000 nils: over the element limit */
    b[1] = 20000 >> 8;
    b[2] = 20000 & 0xff;
    memset(b + 3, 0xc0, 20000);
    expect(b, n, VC_EPROTO, "elements");
}

static void test_truncated(void)
{
    for (vc_type_t t = VC_TYPE_AUDIO; t <= VC_TYPE_MULTIMODAL; t++) {
        size_t len;
        uint8_t *buf = valid(t, &len);
        for (size_t i = 0; i < len; i++) {
            uint8_t *prefix = malloc(i > 0 ? i : 1); /* exact size: ASan sees any over-read */
            memcpy(prefix, buf, i);
            vc_request_t req;
            if (vc_wire_request_decode(prefix, i, &req, NULL, 0) == 0)
                VC_TEST_FAIL("prefix of %zu/%zu bytes decoded", i, len);
            free(prefix);
        }
        free(buf);
    }
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static void test_random_bytes(void)
{
    size_t len;
    uint8_t *good = valid(VC_TYPE_MULTIMODAL, &len);
    for (int i = 0; i < 4000; i++) {
        size_t n = i % 2 ? next() % 200 : len;
        uint8_t *b = malloc(n > 0 ? n : 1);
        for (size_t j = 0; j < n; j++)
            b[j] = (uint8_t)next();
        if (i % 2 == 0) { /* mutate a valid encoding: reaches deeper than noise */
            memcpy(b, good, len);
            for (int k = 0, flips = 1 + next() % 4; k < flips; k++)
                b[next() % len] = (uint8_t)next();
        }
        vc_request_t req;
        char err[128];
        int rc = vc_wire_request_decode(b, n, &req, err, sizeof err);
        ASSERT(rc == 0 || rc == VC_EPROTO || rc == VC_EFORMAT);
        free(b);
    }
    free(good);
}

int main(void)
{
    RUN(test_shape);
    RUN(test_hostile_shapes);
    RUN(test_truncated);
    RUN(test_random_bytes);
    return 0;
}

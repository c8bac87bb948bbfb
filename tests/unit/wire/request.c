/* DetectionRequest codec: round trips, zero-copy decode, encoder refusals, every required field
 * missing, wrong types, bad values, the version rule and unknown keys. Byte-level abuse
 * (truncation, random bytes, hostile shapes) is in request_bytes.c. */
#include <msgpack.h>

#include "test.h"
#include "vc/error.h"
#include "vc/wire.h"

static const uint8_t wav[] = "RIFF\x24\0\0\0WAVEfmt ";
static const uint8_t mp4[] = "\0\0\0\x18"
                             "ftypisom";

static vc_request_t sample(vc_type_t type)
{
    vc_request_t req;
    memset(&req, 0, sizeof req);
    snprintf(req.id, sizeof req.id, "det-123");
    snprintf(req.tenant, sizeof req.tenant, "tenant_a");
    req.type = type;
    req.has_audio = type != VC_TYPE_VIDEO;
    req.has_video = type != VC_TYPE_AUDIO;
    snprintf(req.audio.format, sizeof req.audio.format, "wav");
    req.audio.sample_rate = 16000;
    req.audio.data = wav;
    req.audio.len = sizeof wav;
    snprintf(req.video.format, sizeof req.video.format, "mp4");
    req.video.data = mp4;
    req.video.len = sizeof mp4;
    req.metadata_json = "{\"k\":1}";
    req.metadata_len = strlen(req.metadata_json);
    req.submitted_at_ms = 1764095400123;
    return req;
}

/* True when p lies inside [buf, buf + len). */
static int inside(const void *p, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;
    return q >= buf && q < buf + len;
}

static void check_media(const vc_media_t *got, const vc_media_t *want, const uint8_t *buf,
                        size_t len)
{
    ASSERT_STREQ(got->format, want->format);
    ASSERT_EQ(got->sample_rate, want->sample_rate);
    ASSERT_EQ(got->len, want->len);
    ASSERT(memcmp(got->data, want->data, want->len) == 0);
    ASSERT(inside(got->data, buf, len)); /* zero-copy: points into the input */
}

static void roundtrip(vc_type_t type, int with_metadata)
{
    vc_request_t req = sample(type), got;
    uint8_t *buf;
    size_t len;
    char err[128] = "";
    if (!with_metadata)
        req.metadata_json = NULL;
    ASSERT_OK(vc_wire_request_encode(&req, &buf, &len));
    int rc = vc_wire_request_decode(buf, len, &got, err, sizeof err);
    if (rc != 0)
        VC_TEST_FAIL("decode: %d %s", rc, err);
    ASSERT_EQ(got.v, VC_WIRE_VERSION);
    ASSERT_STREQ(got.id, req.id);
    ASSERT_STREQ(got.tenant, req.tenant);
    ASSERT_EQ(got.type, type);
    ASSERT_EQ(got.has_audio, req.has_audio);
    ASSERT_EQ(got.has_video, req.has_video);
    if (req.has_audio)
        check_media(&got.audio, &req.audio, buf, len);
    if (req.has_video)
        check_media(&got.video, &req.video, buf, len);
    ASSERT_EQ(got.submitted_at_ms, req.submitted_at_ms);
    if (with_metadata) {
        ASSERT_EQ(got.metadata_len, req.metadata_len);
        ASSERT(memcmp(got.metadata_json, req.metadata_json, req.metadata_len) == 0);
        ASSERT(inside(got.metadata_json, buf, len));
    } else {
        ASSERT(got.metadata_json == NULL);
    }
    free(buf);
}

static void test_roundtrip(void)
{
    roundtrip(VC_TYPE_AUDIO, 1);
    roundtrip(VC_TYPE_VIDEO, 1);
    roundtrip(VC_TYPE_MULTIMODAL, 1);
    roundtrip(VC_TYPE_AUDIO, 0);
    /* no sample_rate, empty media */
    vc_request_t req = sample(VC_TYPE_AUDIO), got;
    uint8_t *buf;
    size_t len;
    req.audio.sample_rate = 0;
    req.audio.data = NULL;
    req.audio.len = 0;
    ASSERT_OK(vc_wire_request_encode(&req, &buf, &len));
    ASSERT_OK(vc_wire_request_decode(buf, len, &got, NULL, 0));
    ASSERT_EQ(got.audio.sample_rate, 0);
    ASSERT_EQ(got.audio.len, 0);
    free(buf);
}

static void encode_fails(vc_request_t req)
{
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;
    ASSERT_EQ(vc_wire_request_encode(&req, &buf, &len), VC_EINVAL);
    ASSERT(buf == NULL);
}

static void test_encode_refuses(void)
{
    vc_request_t req = sample(VC_TYPE_AUDIO);
    req.id[0] = '\0';
    encode_fails(req);
    req = sample(VC_TYPE_AUDIO);
    snprintf(req.tenant, sizeof req.tenant, "a b");
    encode_fails(req);
    req = sample(VC_TYPE_AUDIO);
    req.type = 0;
    encode_fails(req);
    req = sample(VC_TYPE_AUDIO);
    req.has_video = 1; /* a part the type does not carry */
    encode_fails(req);
    req = sample(VC_TYPE_MULTIMODAL);
    req.has_video = 0;
    encode_fails(req);
    req = sample(VC_TYPE_AUDIO);
    req.audio.format[0] = '\0';
    encode_fails(req);
    req = sample(VC_TYPE_AUDIO);
    req.metadata_json = "[1]";
    req.metadata_len = 3;
    encode_fails(req);
    uint8_t *buf;
    size_t len;
    ASSERT_EQ(vc_wire_request_encode(NULL, &buf, &len), VC_EINVAL);
}

/* --- hand-built maps ------------------------------------------------------------------- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} mp_t;

static void mp_init(mp_t *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mp_str(mp_t *m, const char *s)
{
    msgpack_pack_str_with_body(&m->pk, s, strlen(s));
}

/* Packs the value of field `name` (kind: 's' str, 'u' uint, 'b' bin); `wrong` packs a value
 * of another type instead. */
static void value(mp_t *m, char kind, const char *sval, uint64_t uval, int wrong)
{
    if (wrong && kind == 'u')
        mp_str(m, "7");
    else if (wrong && kind == 'b')
        mp_str(m, "RIFF"); /* str where bin is required */
    else if (wrong)
        msgpack_pack_int(&m->pk, 7);
    else if (kind == 's')
        mp_str(m, sval);
    else if (kind == 'u')
        msgpack_pack_uint64(&m->pk, uval);
    else
        msgpack_pack_bin_with_body(&m->pk, sval, strlen(sval));
}

typedef struct {
    const char *name;
    char kind; /* 's' str, 'u' uint, 'b' bin, 'm' the audio map */
    const char *sval;
    uint64_t uval;
} field_t;

static const field_t top[] = {{"v", 'u', NULL, 1},           {"id", 's', "r1", 0},
                              {"tenant", 's', "t1", 0},      {"type", 's', "audio", 0},
                              {"audio", 'm', NULL, 0},       {"metadata", 's', "{}", 0},
                              {"submitted_at", 'u', NULL, 5}};
static const field_t media[] = {
    {"format", 's', "wav", 0}, {"sample_rate", 'u', NULL, 8000}, {"data", 'b', "RIFF", 0}};

/* How build() departs from a valid audio request: field `omit` left out, field `wrong` given
 * a value of another type, field `key` (added when it is not a known one) packed by `fn`.
 * Names of the part's fields are "audio.format" etc. */
typedef struct {
    const char *omit, *wrong, *key;
    void (*fn)(mp_t *);
} spec_t;

/* True when a equals prefix + name. */
static int is(const char *a, const char *prefix, const char *name)
{
    size_t pl = strlen(prefix);
    return a != NULL && strncmp(a, prefix, pl) == 0 && strcmp(a + pl, name) == 0;
}

/* True when s.key names a new field at this level. */
static int adds(spec_t s, const field_t *f, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (s.key == NULL || strncmp(s.key, prefix, pl) != 0 || strchr(s.key + pl, '.') != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (is(s.key, prefix, f[i].name))
            return 0;
    }
    return 1;
}

static void level(mp_t *m, const field_t *f, size_t n, const char *prefix, spec_t s)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += !is(s.omit, prefix, f[i].name);
    int extra = adds(s, f, n, prefix);
    msgpack_pack_map(&m->pk, count + extra);
    for (size_t i = 0; i < n; i++) {
        if (is(s.omit, prefix, f[i].name))
            continue;
        mp_str(m, f[i].name);
        if (is(s.key, prefix, f[i].name))
            s.fn(m);
        else if (is(s.wrong, prefix, f[i].name))
            value(m, f[i].kind, f[i].sval, f[i].uval, 1);
        else if (f[i].kind == 'm')
            level(m, media, 3, "audio.", s);
        else
            value(m, f[i].kind, f[i].sval, f[i].uval, 0);
    }
    if (extra) {
        mp_str(m, s.key + strlen(prefix));
        s.fn(m);
    }
}

/* Caller frees with free(). */
static uint8_t *build(spec_t s, size_t *len)
{
    mp_t m;
    mp_init(&m);
    level(&m, top, 7, "", s);
    *len = m.sb.size;
    return (uint8_t *)msgpack_sbuffer_release(&m.sb);
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

static void check(spec_t s, int rc, const char *field)
{
    size_t len;
    uint8_t *buf = build(s, &len);
    expect(buf, len, rc, field);
}

static void test_built_is_valid(void)
{
    size_t len;
    uint8_t *buf = build((spec_t){0}, &len);
    vc_request_t req;
    ASSERT_OK(vc_wire_request_decode(buf, len, &req, NULL, 0));
    ASSERT_EQ(req.audio.sample_rate, 8000);
    ASSERT_EQ(req.submitted_at_ms, 5);
    ASSERT_EQ(req.metadata_len, 2);
    free(buf);
}

static void test_missing_fields(void)
{
    static const char *const required[] = {"v",     "id",           "tenant",       "type",
                                           "audio", "submitted_at", "audio.format", "audio.data"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        check((spec_t){.omit = required[i]}, VC_EPROTO, required[i]);
    check((spec_t){.omit = "audio.sample_rate"}, 0, NULL);
    check((spec_t){.omit = "metadata"}, 0, NULL);
}

static void test_wrong_types(void)
{
    static const char *const fields[] = {
        "v",        "id",           "tenant",       "type",       "audio",
        "metadata", "submitted_at", "audio.format", "audio.data", "audio.sample_rate"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        check((spec_t){.wrong = fields[i]}, VC_EPROTO, fields[i]);
}

/* Defines a packing function whose body is one statement using `m`. */
#define PACKER(name, stmt)                                                                         \
    static void name(mp_t *m)                                                                      \
    {                                                                                              \
        stmt;                                                                                      \
    }

PACKER(pk_nil, msgpack_pack_nil(&m->pk))
PACKER(pk_2, msgpack_pack_uint64(&m->pk, 2))
PACKER(pk_0, msgpack_pack_uint64(&m->pk, 0))
PACKER(pk_neg, msgpack_pack_int64(&m->pk, -5))
PACKER(pk_2p32, msgpack_pack_uint64(&m->pk, 1ull << 32))
PACKER(pk_2p63, msgpack_pack_uint64(&m->pk, 1ull << 63))
PACKER(pk_speech, mp_str(m, "speech"))
PACKER(pk_space, mp_str(m, "a b"))
PACKER(pk_empty, mp_str(m, ""))
PACKER(pk_16, mp_str(m, "abcdefghijklmnop"))
PACKER(pk_65, mp_str(m, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
PACKER(pk_nul, msgpack_pack_str_with_body(&m->pk, "a\0b", 3))
PACKER(pk_array_json, mp_str(m, "[1]"))
PACKER(pk_bad_json, mp_str(m, "{\"a\":"))
static void pk_future(mp_t *m)
{
    msgpack_pack_array(&m->pk, 2);
    msgpack_pack_map(&m->pk, 1);
    mp_str(m, "x");
    msgpack_pack_double(&m->pk, 1.5);
    msgpack_pack_ext_with_body(&m->pk, "zz", 2, 5);
}
static void pk_video(mp_t *m)
{
    msgpack_pack_map(&m->pk, 2);
    mp_str(m, "format");
    mp_str(m, "mp4");
    mp_str(m, "data");
    msgpack_pack_bin_with_body(&m->pk, "x", 1);
}

static void test_values(void)
{
    check((spec_t){.key = "v", .fn = pk_2}, VC_EFORMAT, "v");
    check((spec_t){.key = "v", .fn = pk_2, .wrong = "id"}, VC_EFORMAT, "v"); /* before shape */
    check((spec_t){.key = "v", .fn = pk_0}, VC_EPROTO, "v");
    check((spec_t){.key = "v", .fn = pk_nil}, VC_EPROTO, "v");
    check((spec_t){.key = "type", .fn = pk_speech}, VC_EPROTO, "type");
    check((spec_t){.key = "id", .fn = pk_space}, VC_EPROTO, "id");
    check((spec_t){.key = "id", .fn = pk_empty}, VC_EPROTO, "id");
    check((spec_t){.key = "id", .fn = pk_65}, VC_EPROTO, "id");
    check((spec_t){.key = "id", .fn = pk_nul}, VC_EPROTO, "id");
    check((spec_t){.key = "tenant", .fn = pk_space}, VC_EPROTO, "tenant");
    check((spec_t){.key = "metadata", .fn = pk_array_json}, VC_EPROTO, "metadata");
    check((spec_t){.key = "metadata", .fn = pk_bad_json}, VC_EPROTO, "metadata");
    check((spec_t){.key = "metadata", .fn = pk_nil}, 0, NULL);
    check((spec_t){.key = "audio.sample_rate", .fn = pk_nil}, 0, NULL);
    check((spec_t){.key = "audio.sample_rate", .fn = pk_2p32}, VC_EPROTO, "audio.sample_rate");
    check((spec_t){.key = "audio.sample_rate", .fn = pk_neg}, VC_EPROTO, "audio.sample_rate");
    check((spec_t){.key = "audio.format", .fn = pk_empty}, VC_EPROTO, "audio.format");
    check((spec_t){.key = "audio.format", .fn = pk_16}, VC_EPROTO, "audio.format");
    check((spec_t){.key = "submitted_at", .fn = pk_neg}, 0, NULL);
    check((spec_t){.key = "submitted_at", .fn = pk_2p63}, VC_EPROTO, "submitted_at");
    check((spec_t){.key = "audio", .fn = pk_nil}, VC_EPROTO, "audio");
    check((spec_t){.key = "video", .fn = pk_video}, VC_EPROTO, "video"); /* not for audio */
    check((spec_t){.key = "future", .fn = pk_future}, 0, NULL);          /* unknown keys ignored */
    check((spec_t){.key = "audio.channels", .fn = pk_future}, 0, NULL);
}

int main(void)
{
    RUN(test_roundtrip);
    RUN(test_encode_refuses);
    RUN(test_built_is_valid);
    RUN(test_missing_fields);
    RUN(test_wrong_types);
    RUN(test_values);
    return 0;
}

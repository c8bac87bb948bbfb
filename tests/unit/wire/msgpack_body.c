/* application/msgpack bodies: same validation as JSON, media borrowed (zero-copy). */
#include <msgpack.h>

#include "test.h"
#include "vc/error.h"
#include "vc/wire_body.h"

/* A minimal valid WAV: 44-byte header + 4 samples. */
static const uint8_t wav[] = {'R', 'I', 'F', 'F', 44, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't',
                              ' ', 16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2,
                              0, 16, 0, 'd', 'a', 't', 'a', 8, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0};

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Packs one request map; media_as_str packs audio_data as a string (a client error). */
static void pack_item(msgpack_packer *pk, const char *id, int media_as_str)
{
    msgpack_pack_map(pk, 4);
    pack_str(pk, "detection_id");
    pack_str(pk, id);
    pack_str(pk, "detection_type");
    pack_str(pk, "audio");
    pack_str(pk, "audio_data");
    if (media_as_str) {
        pack_str(pk, "UklGRg==");
    } else {
        msgpack_pack_bin(pk, sizeof(wav));
        msgpack_pack_bin_body(pk, wav, sizeof(wav));
    }
    pack_str(pk, "metadata");
    msgpack_pack_map(pk, 2);
    pack_str(pk, "call");
    pack_str(pk, "c-1");
    pack_str(pk, "n");
    msgpack_pack_int(pk, 7);
}

static void single_request_is_zero_copy(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_item(&pk, "mp-1", 0);
    vc_msgpack_body_t *b = NULL;
    vc_api_error_t e;
    ASSERT_OK(vc_msgpack_body_open((const uint8_t *)sb.data, sb.size, &b, &e));
    ASSERT_EQ(vc_msgpack_body_is_batch(b), 0);
    ASSERT_EQ(vc_msgpack_body_count(b), 1);
    vc_json_request_t jr;
    ASSERT_OK(vc_msgpack_body_item(b, 0, 1 << 20, 1024, &jr, &e));
    ASSERT_STREQ(jr.req.id, "mp-1");
    ASSERT_STREQ(jr.req.audio.format, "wav");
    ASSERT_EQ(jr.req.audio.len, sizeof(wav));
    /* The media points into the body: no copy was made. */
    ASSERT((const char *)jr.req.audio.data >= sb.data &&
           (const char *)jr.req.audio.data < sb.data + sb.size);
    ASSERT(jr.audio_buf == NULL);
    ASSERT_STREQ(jr.req.metadata_json, "{\"call\":\"c-1\",\"n\":7}");
    vc_json_request_free(&jr);
    vc_msgpack_body_close(b);
    msgpack_sbuffer_destroy(&sb);
}

static void batch_with_a_bad_item(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "requests");
    msgpack_pack_array(&pk, 2);
    pack_item(&pk, "mp-a", 0);
    pack_item(&pk, "mp-b", 1);
    vc_msgpack_body_t *b = NULL;
    vc_api_error_t e;
    ASSERT_OK(vc_msgpack_body_open((const uint8_t *)sb.data, sb.size, &b, &e));
    ASSERT_EQ(vc_msgpack_body_is_batch(b), 1);
    ASSERT_EQ(vc_msgpack_body_count(b), 2);
    vc_json_request_t jr;
    ASSERT_OK(vc_msgpack_body_item(b, 0, 1 << 20, 1024, &jr, &e));
    vc_json_request_free(&jr);
    ASSERT_EQ(vc_msgpack_body_item(b, 1, 1 << 20, 1024, &jr, &e), VC_EINVAL);
    ASSERT_EQ(e.status, 400);
    ASSERT_STREQ(e.code, "invalid_msgpack");
    ASSERT(strstr(e.message, "audio_data") != NULL);
    vc_msgpack_body_close(b);
    msgpack_sbuffer_destroy(&sb);
}

static void limits_and_garbage(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_item(&pk, "mp-big", 0);
    vc_msgpack_body_t *b = NULL;
    vc_api_error_t e;
    vc_json_request_t jr;
    ASSERT_OK(vc_msgpack_body_open((const uint8_t *)sb.data, sb.size, &b, &e));
    ASSERT_EQ(vc_msgpack_body_item(b, 0, 10, 1024, &jr, &e), VC_EINVAL); /* media cap */
    ASSERT_EQ(e.status, 413);
    ASSERT_EQ(vc_msgpack_body_item(b, 0, 1 << 20, 5, &jr, &e), VC_EINVAL); /* metadata cap */
    ASSERT_EQ(e.status, 413);
    vc_msgpack_body_close(b);
    /* Every truncation of a valid body is refused without a crash. */
    for (size_t n = 0; n < sb.size; n++) {
        if (vc_msgpack_body_open((const uint8_t *)sb.data, n, &b, &e) == 0) {
            vc_msgpack_body_close(b);
            VC_TEST_FAIL("prefix of %zu bytes accepted", n);
        }
        ASSERT_EQ(e.status, 400);
    }
    /* A claimed 4-billion-element array is refused before msgpack-c allocates for it. */
    const uint8_t bomb[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    ASSERT_EQ(vc_msgpack_body_open(bomb, sizeof(bomb), &b, &e), VC_EINVAL);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    RUN(single_request_is_zero_copy);
    RUN(batch_with_a_bad_item);
    RUN(limits_and_garbage);
    return 0;
}

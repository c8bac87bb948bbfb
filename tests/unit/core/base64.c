/* Unit tests for vc/base64.h: RFC 4648 vectors, strictness, whitespace, caps, round trips. */
#include <stdint.h>

#include "test.h"
#include "vc/base64.h"
#include "vc/clock.h"
#include "vc/error.h"

static const char *const vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static int decode_str(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
    return vc_base64_decode(in, strlen(in), out, cap, outlen);
}

static void test_rfc4648_vectors(void)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const char *raw = vectors[i][0], *enc = vectors[i][1];
        char out[32];
        uint8_t dec[32];
        size_t n = 99;
        ASSERT_EQ(vc_base64_encoded_len(strlen(raw)), strlen(enc));
        ASSERT_OK(vc_base64_encode((const uint8_t *)raw, strlen(raw), out, sizeof(out), &n));
        ASSERT_EQ(n, strlen(enc));
        ASSERT_STREQ(out, enc);
        ASSERT(vc_base64_decoded_maxlen(strlen(enc)) >= strlen(raw));
        ASSERT_OK(decode_str(enc, dec, sizeof(dec), &n));
        ASSERT_EQ(n, strlen(raw));
        ASSERT(memcmp(dec, raw, n) == 0);
    }
}

static void test_rejects_invalid(void)
{
    static const char *const bad[] = {
        "Zg",       "Zg=",   "Z",     "Z===",      "====",     "=",        "Zm9v=",  "Zm9vY",
        "Zg==Zg==", "Zg==a", "Zm8==", "Zm$v",      "Zm9v\x80", "Zm-v",     "Zm_v",   "Zh==",
        "Zm9=",     "Zg=a=", "Z=g=",  "Zm9vYmFy=", "\xffQUJD", "QUJD\x00", "Zm 9v=",
    };
    uint8_t dec[64];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = strlen(bad[i]);
        if (i == sizeof(bad) / sizeof(bad[0]) - 2)
            len = 5; /* embedded NUL */
        int rc = vc_base64_decode(bad[i], len, dec, sizeof(dec), NULL);
        if (rc != VC_EFORMAT)
            VC_TEST_FAIL("input #%zu \"%s\" gave %d, want VC_EFORMAT", i, bad[i], rc);
    }
}

static void test_whitespace_skipped(void)
{
    uint8_t dec[64];
    size_t n = 0;
    ASSERT_OK(decode_str("Zm9v\r\nYmFy\r\n", dec, sizeof(dec), &n));
    ASSERT_EQ(n, 6);
    ASSERT(memcmp(dec, "foobar", 6) == 0);
    ASSERT_OK(decode_str(" Zm 9v\tYm E= \n", dec, sizeof(dec), &n));
    ASSERT_EQ(n, 5);
    ASSERT(memcmp(dec, "fooba", 5) == 0);
    ASSERT_OK(decode_str("Zg=\n=", dec, sizeof(dec), &n));
    ASSERT_EQ(n, 1);
    ASSERT_OK(decode_str(" \r\n", dec, sizeof(dec), &n));
    ASSERT_EQ(n, 0);
}

static void test_caps(void)
{
    uint8_t dec[8];
    char enc[16];
    size_t n = 0;
    ASSERT_EQ(decode_str("Zm9vYmFy", dec, 5, &n), VC_ETOOBIG);
    ASSERT_EQ(decode_str("Zm9vYg==", dec, 3, &n), VC_ETOOBIG);
    ASSERT_OK(decode_str("Zm9vYg==", dec, 4, &n));
    ASSERT_EQ(n, 4);
    ASSERT_OK(decode_str("Zm9vYmE=", dec, 5, &n));
    ASSERT_EQ(n, 5);
    ASSERT_EQ(vc_base64_encode((const uint8_t *)"foobar", 6, enc, 8, &n), VC_ETOOBIG);
    ASSERT_OK(vc_base64_encode((const uint8_t *)"foobar", 6, enc, 9, NULL));
    ASSERT_STREQ(enc, "Zm9vYmFy");
}

/* Inserts CRLF every 76 characters, as MIME does. */
static size_t mime_wrap(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i % 76 == 0) {
            out[o++] = '\r';
            out[o++] = '\n';
        }
        out[o++] = in[i];
    }
    return o;
}

static void test_round_trip_all_lengths(void)
{
    uint8_t raw[300], dec[300];
    char enc[512], wrapped[600];
    srand(12345);
    for (size_t len = 0; len <= 300; len++) {
        for (size_t i = 0; i < len; i++)
            raw[i] = (uint8_t)(rand() & 0xff);
        size_t elen = 0, dlen = 0;
        ASSERT_OK(vc_base64_encode(raw, len, enc, vc_base64_encoded_len(len) + 1, &elen));
        ASSERT_EQ(elen, vc_base64_encoded_len(len));
        ASSERT_EQ(strlen(enc), elen);
        ASSERT_OK(vc_base64_decode(enc, elen, dec, vc_base64_decoded_maxlen(elen), &dlen));
        ASSERT_EQ(dlen, len);
        ASSERT(memcmp(raw, dec, len) == 0);
        size_t wlen = mime_wrap(enc, elen, wrapped);
        ASSERT_OK(vc_base64_decode(wrapped, wlen, dec, vc_base64_decoded_maxlen(wlen), &dlen));
        ASSERT_EQ(dlen, len);
        ASSERT(memcmp(raw, dec, len) == 0);
    }
}

/* A media-sized body: checks correctness and prints the decode throughput. */
static void test_large_body(void)
{
    size_t len = 8u << 20;
    uint8_t *raw = malloc(len), *dec = malloc(len);
    size_t elen = vc_base64_encoded_len(len), dlen = 0;
    char *enc = malloc(elen + 1);
    ASSERT(raw != NULL && dec != NULL && enc != NULL);
    for (size_t i = 0; i < len; i++)
        raw[i] = (uint8_t)(i * 2654435761u >> 13);
    ASSERT_OK(vc_base64_encode(raw, len, enc, elen + 1, NULL));
    int64_t t0 = vc_clock_mono_ns();
    ASSERT_OK(vc_base64_decode(enc, elen, dec, len, &dlen));
    int64_t ns = vc_clock_mono_ns() - t0;
    ASSERT_EQ(dlen, len);
    ASSERT(memcmp(raw, dec, len) == 0);
    fprintf(stderr, "decode %zu MiB of base64 in %.2f ms (%.0f MB/s)\n", elen >> 20, ns / 1e6,
            (double)elen / (double)ns * 1e3);
    free(enc);
    free(dec);
    free(raw);
}

int main(void)
{
    RUN(test_rfc4648_vectors);
    RUN(test_rejects_invalid);
    RUN(test_whitespace_skipped);
    RUN(test_caps);
    RUN(test_round_trip_all_lengths);
    RUN(test_large_body);
    return 0;
}

/* libFuzzer target: base64 (libs/core), the codec of every JSON media upload.
 *
 * The input is used twice. As text: when the strict decoder accepts it, re-encoding gives the
 * text back without its whitespace (the decoder only accepts the canonical encoding), the
 * gateway's size pre-check (vc_wire__b64_decoded_size) predicted the exact length, an output
 * buffer of exactly that length suffices and one byte less is VC_ETOOBIG (buffers are
 * allocated to the byte so ASan sees any overrun). As bytes: encoding then decoding gives them
 * back, and the encoded length is vc_base64_encoded_len. */
#include <string.h>

#include "fuzz.h"
#include "request_parse.h"
#include "vc/base64.h"

/* The text without CR, LF, space and tab, in a new buffer (*n updated). */
static char *strip_space(const char *s, size_t *n)
{
    char *out = malloc(*n > 0 ? *n : 1);
    size_t k = 0;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            out[k++] = s[i];
    }
    *n = k;
    return out;
}

static void fuzz_decode(const char *text, size_t n)
{
    size_t cap = vc_base64_decoded_maxlen(n), len = 0;
    uint8_t *out = malloc(cap > 0 ? cap : 1);
    if (out == NULL)
        return;
    int rc = vc_base64_decode(text, n, out, cap, &len);
    FUZZ_CHECK(rc == 0 || rc == VC_EFORMAT, "rc %d with the documented sufficient cap", rc);
    if (rc != 0) {
        free(out);
        return;
    }
    FUZZ_CHECK(len <= cap, "decoded %zu bytes into %zu", len, cap);
    size_t predicted = vc_wire__b64_decoded_size(text, n);
    FUZZ_CHECK(predicted == len, "size pre-check says %zu, decoded %zu", predicted, len);

    /* Canonical: encoding gives back the text without whitespace. */
    size_t sn = n, elen = 0;
    char *stripped = strip_space(text, &sn);
    char *enc = malloc(vc_base64_encoded_len(len) + 1);
    FUZZ_CHECK(stripped != NULL && enc != NULL, "out of memory");
    rc = vc_base64_encode(out, len, enc, vc_base64_encoded_len(len) + 1, &elen);
    FUZZ_CHECK(rc == 0, "re-encode rc %d", rc);
    FUZZ_CHECK(elen == sn && memcmp(enc, stripped, sn) == 0,
               "re-encoding differs from the accepted text (%zu vs %zu chars)", elen, sn);

    /* Exact-size and one-short output buffers. */
    uint8_t *exact = malloc(len > 0 ? len : 1);
    FUZZ_CHECK(exact != NULL, "out of memory");
    size_t len2 = 0;
    rc = vc_base64_decode(text, n, exact, len, &len2);
    FUZZ_CHECK(rc == 0 && len2 == len && memcmp(exact, out, len) == 0,
               "exact-size buffer: rc %d, %zu vs %zu bytes", rc, len2, len);
    if (len > 0) {
        rc = vc_base64_decode(text, n, exact, len - 1, &len2);
        FUZZ_CHECK(rc == VC_ETOOBIG, "one byte short: rc %d", rc);
    }
    free(exact);
    free(enc);
    free(stripped);
    free(out);
}

static void fuzz_encode(const uint8_t *data, size_t n)
{
    size_t need = vc_base64_encoded_len(n), elen = 0, dlen = 0;
    char *enc = malloc(need + 1);
    uint8_t *dec = malloc(n > 0 ? n : 1);
    FUZZ_CHECK(enc != NULL && dec != NULL, "out of memory");
    FUZZ_CHECK(vc_base64_encode(data, n, enc, need, &elen) == VC_ETOOBIG,
               "encode without room for the NUL");
    int rc = vc_base64_encode(data, n, enc, need + 1, &elen);
    FUZZ_CHECK(rc == 0 && elen == need && enc[need] == '\0', "encode rc %d, %zu vs %zu chars", rc,
               elen, need);
    FUZZ_CHECK(vc_wire__b64_decoded_size(enc, elen) == n, "size pre-check says %zu, not %zu",
               vc_wire__b64_decoded_size(enc, elen), n);
    rc = vc_base64_decode(enc, elen, dec, n, &dlen);
    FUZZ_CHECK(rc == 0 && dlen == n && (n == 0 || memcmp(dec, data, n) == 0),
               "round trip: rc %d, %zu vs %zu bytes", rc, dlen, n);
    free(dec);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so a read past the text is caught. */
    char *text = malloc(size > 0 ? size : 1);
    if (text == NULL)
        return 0;
    if (size > 0)
        memcpy(text, data, size);
    fuzz_decode(text, size);
    fuzz_encode(data, size);
    free(text);
    return 0;
}

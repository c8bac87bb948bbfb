/* Request-body parsing cost, by JSON parser: what the gateway pays per submission before any
 * I/O. Each variant parses a body of the API's shape ({"detection_type":"audio",
 * "audio_data":"<base64>"}), finds audio_data and base64-decodes it into a buffer — the work
 * the gateway must do whatever the parser. jansson is what the gateway uses today; cJSON and
 * jsmn (a zero-copy tokenizer) are the Debian alternatives. Prints JSON and a summary line.
 *
 *   bench_json [SECONDS_OF_AUDIO=1] [ITERATIONS=2000]                                      */
#include <cjson/cJSON.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "vc/base64.h"
#include "vc/wire_body.h"

static uint8_t *media;
static size_t media_cap;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t decode(const char *b64, size_t n)
{
    size_t out = 0;
    if (vc_base64_decode(b64, n, media, media_cap, &out) != 0)
        abort();
    return out;
}

static size_t with_jansson(const char *body, size_t len)
{
    json_error_t e;
    json_t *root = json_loadb(body, len, 0, &e);
    json_t *a = json_object_get(root, "audio_data");
    size_t n = decode(json_string_value(a), json_string_length(a));
    json_decref(root);
    return n;
}

static size_t with_cjson(const char *body, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "audio_data");
    size_t n = decode(a->valuestring, strlen(a->valuestring));
    cJSON_Delete(root);
    return n;
}

/* Zero-copy: tokens point into the body; the base64 text is decoded in place. */
static size_t with_jsmn(const char *body, size_t len)
{
    jsmn_parser p;
    jsmntok_t tok[64];
    jsmn_init(&p);
    int n = jsmn_parse(&p, body, len, tok, 64);
    for (int i = 1; i + 1 < n; i += 2) {
        if (tok[i].type == JSMN_STRING && tok[i].end - tok[i].start == 10 &&
            memcmp(body + tok[i].start, "audio_data", 10) == 0)
            return decode(body + tok[i + 1].start, (size_t)(tok[i + 1].end - tok[i + 1].start));
    }
    abort();
}

/* The gateway's path: jsmn finds the media, base64 decodes from the body, jansson parses the
 * small rest, then the shared validation (sniffing included). */
static size_t with_gateway(const char *body, size_t len)
{
    vc_json_body_t *b = NULL;
    vc_api_error_t e;
    vc_json_request_t jr;
    if (vc_json_body_open(body, len, &b, &e) != 0 ||
        vc_json_body_item(b, 0, 0, 64u << 20, 16384, &jr, &e) != 0)
        abort();
    size_t n = jr.req.audio.len;
    vc_json_request_free(&jr);
    vc_json_body_close(b);
    return n;
}

typedef struct {
    const char *name;
    size_t (*fn)(const char *, size_t);
} variant_t;

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    long iters = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    size_t wav = 44 + (size_t)(secs * 16000) * 2;
    uint8_t *raw = malloc(wav);
    for (size_t i = 0; i < wav; i++)
        raw[i] = (uint8_t)(i * 2654435761u >> 24);
    memcpy(raw, "RIFF\0\0\0\0WAVE", 12); /* sniffs as WAV like a real upload */
    size_t b64cap = vc_base64_encoded_len(wav) + 1, b64len = 0;
    char *b64 = malloc(b64cap);
    vc_base64_encode(raw, wav, b64, b64cap, &b64len);
    size_t blen = b64len + 64;
    char *body = malloc(blen);
    blen = (size_t)snprintf(body, blen, "{\"detection_type\":\"audio\",\"audio_data\":\"%s\"}", b64);
    media_cap = wav + 16;
    media = malloc(media_cap);
    variant_t v[] = {{"jansson", with_jansson},
                     {"cjson", with_cjson},
                     {"jsmn", with_jsmn},
                     {"gateway_fast_path", with_gateway}};
    double per_op[4];
    printf("{\"benchmark\":\"json_body\",\"body_bytes\":%zu,\"iterations\":%ld,\"results\":[",
           blen, iters);
    for (int k = 0; k < 4; k++) {
        size_t check = 0;
        for (long i = 0; i < iters / 10 + 1; i++) /* warm-up */
            check += v[k].fn(body, blen);
        double t0 = now_s();
        for (long i = 0; i < iters; i++)
            check += v[k].fn(body, blen);
        per_op[k] = (now_s() - t0) / (double)iters;
        printf("%s{\"parser\":\"%s\",\"us_per_body\":%.2f,\"bodies_per_s\":%.0f,"
               "\"ratio_vs_jansson\":%.3f,\"check\":%zu}",
               k ? "," : "", v[k].name, per_op[k] * 1e6, 1.0 / per_op[k], per_op[0] / per_op[k],
               check % 1000);
    }
    printf("]}\n");
    fprintf(stderr,
            "json_body %zu B: jansson %.1f us, cJSON %.1f us, jsmn %.1f us, gateway fast path "
            "%.1f us per body (parse + base64); fast path %.1fx jansson\n",
            blen, per_op[0] * 1e6, per_op[1] * 1e6, per_op[2] * 1e6, per_op[3] * 1e6,
            per_op[0] / per_op[3]);
    free(media);
    free(body);
    free(b64);
    free(raw);
    return 0;
}

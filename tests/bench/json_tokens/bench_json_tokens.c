/* Hostile JSON bodies through the gateway's JSON body path (libs/wire vc_json_body_open: the
 * jsmn tokenizer, then jansson on the skeleton; then the item's validation), timed at three
 * sizes per shape so that super-linear cost shows as a rising ns/byte. Shapes: a metadata
 * object with many keys, the same key repeated, a batch of many empty objects, a bare array of
 * numbers just under and just over VC_JSON_BODY_MAX_TOKENS, strings of \u0000 and of \u00e9
 * escapes. Prints one JSON line per shape and size (median of ITERATIONS runs).
 *
 *   bench_json_tokens [KIB=300] [ITERATIONS=7]                                             */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vc/wire_body.h"

#define MAX_MEDIA (16u << 20)
#define MAX_METADATA (16u << 10)

typedef struct {
    char *s;
    size_t n, cap;
} text_t;

static void put(text_t *t, const char *s)
{
    size_t k = strlen(s);
    if (t->n + k + 1 > t->cap) {
        t->cap = (t->n + k + 1) * 2;
        t->s = realloc(t->s, t->cap);
        if (t->s == NULL)
            abort();
    }
    memcpy(t->s + t->n, s, k + 1);
    t->n += k;
}

static const char *const HEAD = "{\"detection_type\":\"audio\",\"audio_data\":\"UklGRg==\",";

/* Builds shape into t at about `bytes` bytes. */
static void build(const char *shape, size_t bytes, text_t *t)
{
    t->n = 0;
    char piece[64];
    if (strcmp(shape, "metadata_keys") == 0 || strcmp(shape, "duplicate_keys") == 0) {
        put(t, HEAD);
        put(t, "\"metadata\":{");
        for (long i = 0; t->n < bytes; i++) {
            if (shape[0] == 'm')
                snprintf(piece, sizeof(piece), "%s\"k%ld\":1", i ? "," : "", i);
            else
                snprintf(piece, sizeof(piece), "%s\"k\":1", i ? "," : "");
            put(t, piece);
        }
        put(t, "}}");
    } else if (strcmp(shape, "batch_objects") == 0) {
        put(t, "{\"requests\":[");
        for (long i = 0; t->n < bytes; i++)
            put(t, i ? ",{}" : "{}");
        put(t, "]}");
    } else if (strncmp(shape, "array_", 6) == 0) {
        /* array_under: 99 990 numbers (tokens under the cap), array_over: 100 001. */
        long count = shape[6] == 'u' ? VC_JSON_BODY_MAX_TOKENS - 10 : VC_JSON_BODY_MAX_TOKENS + 1;
        count = (long)((double)count * (double)bytes / (300.0 * 1024));
        put(t, "[");
        for (long i = 0; i < count; i++)
            put(t, i ? ",1" : "1");
        put(t, "]");
    } else { /* escapes_nul, escapes_e9 */
        put(t, HEAD);
        put(t, "\"metadata\":{\"s\":\"");
        const char *esc = strcmp(shape, "escapes_nul") == 0 ? "\\u0000" : "\\u00e9";
        while (t->n < bytes)
            put(t, esc);
        put(t, "\"}}");
    }
}

/* The gateway's path for a JSON body: open, count, and validate item 0 (single) or every
 * item up to 10 (batch). Returns the HTTP status it would answer and its code. */
static int parse(const text_t *t, int batch, const char **code)
{
    vc_json_body_t *b = NULL;
    vc_api_error_t e;
    *code = "";
    if (vc_json_body_open(t->s, t->n, &b, &e) != 0) {
        *code = e.code;
        return e.status;
    }
    int status = 202;
    long n = vc_json_body_count(b, batch);
    if (n < 0 || n > 10) {
        *code = n < 0 ? "invalid_request" : "batch_too_large";
        status = 400;
    }
    for (long i = 0; status == 202 && i < (n > 0 ? n : 0); i++) {
        vc_json_request_t jr;
        if (vc_json_body_item(b, batch, (size_t)i, MAX_MEDIA, MAX_METADATA, &jr, &e) != 0) {
            *code = e.code;
            status = e.status;
            break;
        }
        vc_json_request_free(&jr);
    }
    vc_json_body_close(b);
    return status;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long kib = argc > 1 ? strtol(argv[1], NULL, 10) : 300;
    int iters = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 7;
    if (kib <= 0 || iters <= 0 || iters > 1000) {
        fprintf(stderr, "usage: bench_json_tokens [KIB=300] [ITERATIONS=7]\n");
        return 2;
    }
    static const char *const shapes[] = {"metadata_keys", "duplicate_keys", "batch_objects",
                                         "array_under",   "array_over",     "escapes_nul",
                                         "escapes_e9"};
    double *ms = calloc((size_t)iters, sizeof(double));
    text_t t = {0};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        int batch = strcmp(shapes[s], "batch_objects") == 0 || shapes[s][0] == 'a';
        for (int f = 4; f >= 1; f /= 2) { /* a quarter, half, then all of KIB */
            build(shapes[s], (size_t)kib * 1024 / (size_t)f, &t);
            const char *code = "";
            int status = 0;
            for (int i = 0; i < iters; i++) {
                double t0 = now_ms();
                status = parse(&t, batch, &code);
                ms[i] = now_ms() - t0;
            }
            qsort(ms, (size_t)iters, sizeof(double), cmp_double);
            double med = ms[iters / 2];
            printf("{\"bench\":\"json_tokens\",\"shape\":\"%s\",\"bytes\":%zu,\"iterations\":%d,"
                   "\"median_ms\":%.3f,\"max_ms\":%.3f,\"ns_per_byte\":%.2f,\"status\":%d,"
                   "\"code\":\"%s\"}\n",
                   shapes[s], t.n, iters, med, ms[iters - 1], med * 1e6 / (double)t.n, status,
                   code);
            fflush(stdout);
        }
    }
    free(t.s);
    free(ms);
    return 0;
}

/* Fast JSON bodies: jsmn finds the media strings, jansson parses the small rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
/* Without parent links jsmn finds a token's parent by walking back over every token before it,
 * at each ',' inside an object and at each closing bracket: quadratic in the members of one
 * object or array (a 300 KB metadata object of 30 000 keys took ~2 s, 150 KB of empty batch
 * items ~5 s). With them both are one step (docs/performance.md, "Hostile JSON"). */
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "request_parse.h"
#include "vc/error.h"
#include "vc/wire_body.h"

typedef struct {
    long start, end; /* span of a media string's content in the body; start < 0: none */
} span_t;

typedef struct {
    span_t audio, video;
} item_media_t;

struct vc_json_body {
    const char *body;
    json_t *skeleton;    /* the document with media strings emptied */
    item_media_t single; /* the root object's media (the single view) */
    item_media_t *media; /* per item of the batch view */
    size_t nitems;
};

static int fail(vc_api_error_t *e, int status, const char *code, const char *msg)
{
    e->status = status;
    e->code = code;
    snprintf(e->message, sizeof(e->message), "%s", msg);
    return status == 500 ? VC_ENOMEM : VC_EINVAL;
}

/* Index of the first token after the subtree rooted at i (tokens are in document order). */
static int skip(const jsmntok_t *t, int n, int i)
{
    int j = i + 1;
    while (j < n && t[j].start < t[i].end)
        j++;
    return j;
}

static int key_is(const char *body, const jsmntok_t *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == JSMN_STRING && (size_t)(k->end - k->start) == n &&
           memcmp(body + k->start, s, n) == 0;
}

/* Finds the value of `key` in the object at index o; -1 when absent. */
static int member(const char *body, const jsmntok_t *t, int n, int o, const char *key)
{
    int j = o + 1;
    for (int k = 0; k < t[o].size && j + 1 < n; k++) {
        if (key_is(body, &t[j], key))
            return j + 1;
        j = skip(t, n, j + 1);
    }
    return -1;
}

static span_t string_span(const jsmntok_t *t, int n, int v)
{
    span_t s = {-1, -1};
    if (v >= 0 && v < n && t[v].type == JSMN_STRING) {
        s.start = t[v].start;
        s.end = t[v].end;
    }
    return s;
}

static void collect_item(const char *body, const jsmntok_t *t, int n, int o, item_media_t *m)
{
    m->audio = (span_t){-1, -1};
    m->video = (span_t){-1, -1};
    if (t[o].type != JSMN_OBJECT)
        return;
    m->audio = string_span(t, n, member(body, t, n, o, "audio_data"));
    m->video = string_span(t, n, member(body, t, n, o, "video_data"));
}

/* The media of both views: the root object itself (single), and the items of a bare array
 * or of {"requests": [...]} (batch). A root object with "requests" is both: the single view
 * must not take the media of requests[0]. */
static int collect(vc_json_body_t *b, const jsmntok_t *t, int n)
{
    int list = t[0].type == JSMN_ARRAY ? 0 : -1;
    collect_item(b->body, t, n, 0, &b->single);
    if (t[0].type == JSMN_OBJECT) {
        int r = member(b->body, t, n, 0, "requests");
        if (r >= 0 && t[r].type == JSMN_ARRAY)
            list = r;
    }
    size_t count = list >= 0 ? (size_t)t[list].size : 0;
    b->media = calloc(count > 0 ? count : 1, sizeof(item_media_t));
    if (b->media == NULL)
        return VC_ENOMEM;
    b->nitems = count;
    if (list < 0)
        return 0;
    int j = list + 1;
    for (size_t i = 0; i < count && j < n; i++) {
        collect_item(b->body, t, n, j, &b->media[i]);
        j = skip(t, n, j);
    }
    return 0;
}

static int span_cmp(const void *a, const void *c)
{
    const span_t *x = a, *y = c;
    return (x->start > y->start) - (x->start < y->start);
}

/* Copies the body without the media strings' contents and parses that with jansson. */
static int build_skeleton(vc_json_body_t *b, size_t len, vc_api_error_t *e)
{
    size_t ns = 0;
    span_t *spans = calloc(b->nitems * 2 + 2, sizeof(span_t));
    char *sk = malloc(len + 1);
    int rc = 0;
    if (spans == NULL || sk == NULL) {
        rc = fail(e, 500, "internal_error", "out of memory");
        goto done;
    }
    if (b->single.audio.start >= 0)
        spans[ns++] = b->single.audio;
    if (b->single.video.start >= 0)
        spans[ns++] = b->single.video;
    for (size_t i = 0; i < b->nitems; i++) {
        if (b->media[i].audio.start >= 0)
            spans[ns++] = b->media[i].audio;
        if (b->media[i].video.start >= 0)
            spans[ns++] = b->media[i].video;
    }
    qsort(spans, ns, sizeof(span_t), span_cmp);
    size_t out = 0, at = 0;
    for (size_t k = 0; k < ns; k++) {
        memcpy(sk + out, b->body + at, (size_t)spans[k].start - at);
        out += (size_t)spans[k].start - at;
        at = (size_t)spans[k].end;
    }
    memcpy(sk + out, b->body + at, len - at);
    out += len - at;
    json_error_t jerr;
    b->skeleton = json_loadb(sk, out, JSON_REJECT_DUPLICATES, &jerr);
    if (b->skeleton == NULL) {
        /* Lines match the body (media strings hold no raw newline); a column after an
         * emptied media string on the same line is counted without it. */
        char msg[240];
        snprintf(msg, sizeof(msg), "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        rc = fail(e, 400, "invalid_json", msg);
    }
done:
    free(spans);
    free(sk);
    return rc;
}

/* "line L, column C" of a byte offset, for tokenizer errors. */
static void position(const char *body, size_t pos, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (body[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

#define FIRST_GUESS_TOKENS 256 /* a submission or a small batch: one pass over the body */

static int tokenize(const char *body, size_t len, jsmntok_t **tokens, int *n, vc_api_error_t *e)
{
    jsmn_parser p;
    jsmn_init(&p);
    *tokens = malloc(FIRST_GUESS_TOKENS * sizeof(jsmntok_t));
    if (*tokens == NULL)
        return fail(e, 500, "internal_error", "out of memory");
    int count = jsmn_parse(&p, body, len, *tokens, FIRST_GUESS_TOKENS);
    if (count == JSMN_ERROR_NOMEM) {
        /* Larger documents: count first, then parse into an array of the right size. */
        jsmn_init(&p);
        count = jsmn_parse(&p, body, len, NULL, 0);
        if (count > VC_JSON_BODY_MAX_TOKENS)
            return fail(e, 400, "invalid_json", "too many JSON values");
        if (count > 0) {
            jsmntok_t *bigger = realloc(*tokens, (size_t)count * sizeof(jsmntok_t));
            if (bigger == NULL)
                return fail(e, 500, "internal_error", "out of memory");
            *tokens = bigger;
            jsmn_init(&p);
            count = jsmn_parse(&p, body, len, *tokens, (unsigned)count);
        }
    }
    if (count <= 0) {
        int line, col;
        position(body, p.pos < len ? p.pos : len, &line, &col);
        char msg[160];
        snprintf(msg, sizeof(msg), "line %d, column %d: %s", line, col,
                 count == JSMN_ERROR_PART || count == 0 ? "unexpected end of input"
                                                        : "invalid JSON");
        return fail(e, 400, "invalid_json", msg);
    }
    *n = count;
    return 0;
}

int vc_json_body_open(const char *body, size_t len, vc_json_body_t **out, vc_api_error_t *e)
{
    memset(e, 0, sizeof(*e));
    vc_json_body_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return fail(e, 500, "internal_error", "out of memory");
    b->body = body;
    jsmntok_t *t = NULL;
    int n = 0;
    int rc = tokenize(body, len, &t, &n, e);
    if (rc == 0 && t[0].type != JSMN_OBJECT && t[0].type != JSMN_ARRAY)
        rc = fail(e, 400, "invalid_request", "body must be a JSON object or array");
    if (rc == 0)
        rc = collect(b, t, n) == 0 ? 0 : fail(e, 500, "internal_error", "out of memory");
    if (rc == 0)
        rc = build_skeleton(b, len, e);
    free(t);
    if (rc != 0) {
        vc_json_body_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

void vc_json_body_close(vc_json_body_t *b)
{
    if (b == NULL)
        return;
    json_decref(b->skeleton);
    free(b->media);
    free(b);
}

static json_t *item_list(const vc_json_body_t *b)
{
    json_t *r = b->skeleton;
    return json_is_array(r) ? r : json_object_get(r, "requests");
}

long vc_json_body_count(const vc_json_body_t *b, int batch)
{
    if (!batch)
        return json_is_object(b->skeleton) ? 1 : -1;
    json_t *list = item_list(b);
    return json_is_array(list) ? (long)json_array_size(list) : -1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Undoes every JSON escape of a media string (jsmn checked their syntax) into out (n bytes
 * suffice) and returns the length: the text jansson would give. Clients escape base64
 * characters: "\/" (PHP), "\u002B" for '+' (.NET), "\n" for MIME line breaks (Python's
 * json.dumps of base64.encodebytes). Only ASCII matters to base64: an escape above 0x7f
 * becomes 0x80, which the decoder refuses as it refuses the UTF-8 bytes jansson would give. */
static size_t unescape(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            c = s[++i];
            switch (c) {
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u': {
                unsigned v = 0;
                for (int d = 0; d < 4 && i + 1 < n && hex_value(s[i + 1]) >= 0; d++)
                    v = v * 16 + (unsigned)hex_value(s[++i]);
                c = v < 0x80 ? (char)v : (char)0x80;
                break;
            }
            default: /* '"', '\\' and '/' stand for themselves */
                break;
            }
        }
        out[k++] = c;
    }
    return k;
}

/* Where the fast path's decode callback finds an item's media strings. */
typedef struct {
    const char *body;
    const item_media_t *m;
} part_src_t;

/* vc_wire__premedia_t.decode: base64-decodes a media string straight from the body (JSON
 * escapes undone first, in a copy, only when there are any). */
static int decode_part(const vc_wire__premedia_t *pre, int video, const char *key, size_t max,
                       uint8_t **buf, size_t *len, vc_api_error_t *e)
{
    const part_src_t *src = pre->ctx;
    span_t s = video ? src->m->video : src->m->audio;
    const char *text = src->body + s.start;
    size_t n = (size_t)(s.end - s.start);
    char *unescaped = NULL;
    if (memchr(text, '\\', n) != NULL) {
        unescaped = malloc(n + 1);
        if (unescaped == NULL)
            return fail(e, 500, "internal_error", "out of memory");
        n = unescape(text, n, unescaped);
        text = unescaped;
    }
    int rc = vc_wire__decode_base64(text, n, key, max, buf, len, e);
    free(unescaped);
    return rc;
}

int vc_json_body_item(const vc_json_body_t *b, int batch, size_t i, size_t max_media_bytes,
                      size_t max_metadata_bytes, vc_json_request_t *jr, vc_api_error_t *e)
{
    static const uint8_t present[1];
    memset(jr, 0, sizeof(*jr));
    memset(e, 0, sizeof(*e));
    json_t *obj = batch ? json_array_get(item_list(b), i) : (i == 0 ? b->skeleton : NULL);
    if (!json_is_object(obj) || (batch && i >= b->nitems))
        return fail(e, 400, "invalid_request", "request: expected a JSON object");
    const item_media_t *m = batch ? &b->media[i] : &b->single;
    /* The validation decodes each part when it reaches it (same error order as jansson's). */
    part_src_t src = {b->body, m};
    vc_wire__premedia_t pre = {.audio = m->audio.start >= 0 ? present : NULL,
                               .video = m->video.start >= 0 ? present : NULL,
                               .decode = decode_part,
                               .ctx = &src};
    return vc_wire__request_parse(obj, &pre, max_media_bytes, max_metadata_bytes, jr, e);
}

/* libFuzzer target: the HTTP API's JSON request bodies, as the gateway parses them.
 *
 * Any bytes go through vc_json_body_open (jsmn tokenizer + jansson skeleton) and every item of
 * the single and the batch view through vc_json_body_item. Properties:
 *   - differential: where jansson alone parses the whole body (JSON_REJECT_DUPLICATES, as the
 *     skeleton does) and the fast path opened it too, each item validated by the fast path
 *     gives exactly what vc_json_request_parse (the jansson-only path) gives for the same
 *     object: same status and code, and on success the same request, media bytes included;
 *   - a body jansson parses is never refused by the fast path as invalid JSON (except for a
 *     NUL byte, which jansson 2.14 lets through after a number and jsmn takes as the end);
 *   - every item the validation accepts, once the gateway has given it an id and a tenant,
 *     encodes as a DetectionRequest and decodes back to the same fields. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_wire.h"
#include "vc/wire_body.h"
#include "vc/wire_json.h"

#define MAX_MEDIA (1u << 20)
#define MAX_METADATA 1024
#define MAX_ITEMS 64 /* items checked per body: bounds the time of one input */

static void check_error(const vc_api_error_t *e, int rc)
{
    FUZZ_CHECK(rc == VC_EINVAL || rc == VC_ENOMEM, "unexpected rc %d", rc);
    FUZZ_CHECK(e->code != NULL &&
                   (e->status == 400 || e->status == 413 || e->status == 415 || e->status == 500),
               "error without a code or with status %d", e->status);
    FUZZ_CHECK(memchr(e->message, '\0', sizeof(e->message)) != NULL, "message not terminated");
}

/* What the gateway does with an accepted item before publishing it. */
static void check_publishable(const vc_json_request_t *jr)
{
    vc_request_t req = jr->req;
    if (req.id[0] == '\0')
        snprintf(req.id, sizeof(req.id), "generated-id");
    snprintf(req.tenant, sizeof(req.tenant), "tenant-1");
    req.submitted_at_ms = 1764000000000;
    fuzz_check_request_roundtrip(&req);
}

/* Validates item i of the fast path and compares it with the jansson path on obj (NULL when
 * jansson could not parse the body). */
static void check_item(const vc_json_body_t *b, int batch, size_t i, json_t *obj)
{
    vc_json_request_t jr, jr2;
    vc_api_error_t e, e2;
    int rc = vc_json_body_item(b, batch, i, MAX_MEDIA, MAX_METADATA, &jr, &e);
    if (rc != 0)
        check_error(&e, rc);
    else
        check_publishable(&jr);
    if (obj != NULL) {
        int rc2 = vc_json_request_parse(obj, MAX_MEDIA, MAX_METADATA, &jr2, &e2);
        FUZZ_CHECK(rc == rc2, "item %zu: fast path %d (%d %s: %s), jansson path %d (%d %s: %s)", i,
                   rc, e.status, e.code ? e.code : "-", e.message, rc2, e2.status,
                   e2.code ? e2.code : "-", e2.message);
        if (rc != 0) {
            FUZZ_CHECK(e.status == e2.status && strcmp(e.code, e2.code) == 0,
                       "item %zu: fast path %d %s (%s), jansson path %d %s (%s)", i, e.status,
                       e.code, e.message, e2.status, e2.code, e2.message);
        } else {
            fuzz_check_request_equal(&jr.req, &jr2.req);
            vc_json_request_free(&jr2);
        }
    }
    if (rc == 0)
        vc_json_request_free(&jr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data; /* not NUL-terminated: the API takes a length */
    vc_json_body_t *b = NULL;
    vc_api_error_t e;
    json_error_t jerr;
    /* jansson 2.14 accepts "1\0" (a NUL after a number), which is not JSON: no comparison. */
    json_t *root = memchr(body, '\0', size) == NULL
                       ? json_loadb(body, size, JSON_REJECT_DUPLICATES, &jerr)
                       : NULL;
    int rc = vc_json_body_open(body, size, &b, &e);
    if (rc != 0) {
        check_error(&e, rc);
        FUZZ_CHECK(root == NULL || strcmp(e.code, "invalid_json") != 0 ||
                       strstr(e.message, "too many JSON values") != NULL,
                   "jansson parses the body, the fast path says: %s", e.message);
        json_decref(root);
        return 0;
    }
    /* The single view: the gateway's POST /v1/detections. */
    long n = vc_json_body_count(b, 0);
    FUZZ_CHECK(n == -1 || n == 1, "single view count %ld", n);
    FUZZ_CHECK((n == 1) == json_is_object(root) || root == NULL, "single view count %ld", n);
    if (n == 1)
        check_item(b, 0, 0, root);
    /* The batch view: {"requests": [...]} or a bare array. */
    n = vc_json_body_count(b, 1);
    json_t *list = json_is_array(root) ? root : json_object_get(root, "requests");
    if (root != NULL)
        FUZZ_CHECK(n == (json_is_array(list) ? (long)json_array_size(list) : -1),
                   "batch view count %ld", n);
    for (long i = 0; i < n && i < MAX_ITEMS; i++)
        check_item(b, 1, (size_t)i, root != NULL ? json_array_get(list, (size_t)i) : NULL);
    /* Past the end: an error, never a read out of bounds. */
    if (n >= 0) {
        vc_json_request_t jr;
        rc = vc_json_body_item(b, 1, (size_t)n, MAX_MEDIA, MAX_METADATA, &jr, &e);
        FUZZ_CHECK(rc != 0, "item %ld of %ld accepted", n, n);
    }
    vc_json_body_close(b);
    json_decref(root);
    return 0;
}

/* libFuzzer target: the HTTP API's application/msgpack request bodies (vc_msgpack_body_*).
 *
 * Any bytes are opened as a body; every item (single or batch) is validated. Properties:
 *   - the count agrees with the shape; errors carry a status and a code; an item past the end
 *     is an error;
 *   - differential: an item that has a JSON form (the same map as a JSON client would send it,
 *     media bin as base64 strings) is validated exactly like that JSON object by
 *     vc_json_request_parse: same status and code, and on success the same request (wire_body.h
 *     promises this);
 *   - every accepted item, once the gateway has given it an id and a tenant, encodes as a
 *     DetectionRequest and decodes back to the same fields. */
#include <jansson.h>
#include <msgpack.h>
#include <string.h>

#include "fuzz_wire.h"
#include "vc/base64.h"
#include "vc/wire_body.h"

#define MAX_MEDIA (1u << 20)
#define MAX_METADATA 1024
#define MAX_ITEMS 64

static void check_error(const vc_api_error_t *e, int rc)
{
    FUZZ_CHECK(rc == VC_EINVAL || rc == VC_ENOMEM, "unexpected rc %d", rc);
    FUZZ_CHECK(rc == VC_ENOMEM || (e->code != NULL && (e->status == 400 || e->status == 413 ||
                                                       e->status == 415 || e->status == 500)),
               "error without a code or with status %d", e->status);
    FUZZ_CHECK(memchr(e->message, '\0', sizeof(e->message)) != NULL, "message not terminated");
}

static const char *str_ptr(const msgpack_object_str *s)
{
    return s->size > 0 ? s->ptr : ""; /* an empty str's ptr may be NULL */
}

static int key_is(const msgpack_object *k, const char *s)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(s) &&
           memcmp(str_ptr(&k->via.str), s, k->via.str.size) == 0;
}

/* The JSON value a JSON client would send for o, or NULL when there is none: bin, ext, a
 * non-str key, or a string jansson would not take from a JSON text (a NUL byte, invalid
 * UTF-8). */
static json_t *json_form(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 <= INT64_MAX ? json_integer((json_int_t)o->via.u64)
                                       : json_real((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        if (memchr(str_ptr(&o->via.str), '\0', o->via.str.size) != NULL)
            return NULL;
        return json_stringn(str_ptr(&o->via.str), o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a != NULL && i < o->via.array.size; i++) {
            json_t *v = json_form(&o->via.array.ptr[i]);
            if (v == NULL || json_array_append_new(a, v) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m != NULL && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            const char *k = str_ptr(&kv->key.via.str);
            json_t *v =
                kv->key.type == MSGPACK_OBJECT_STR && memchr(k, '\0', kv->key.via.str.size) == NULL
                    ? json_form(&kv->val)
                    : NULL;
            if (v == NULL || json_object_setn_new(m, k, kv->key.via.str.size, v) != 0) {
                json_decref(m);
                m = NULL;
            }
        }
        return m;
    }
    default:
        return NULL;
    }
}

/* The item as a JSON body carries it: media bin become base64 strings. NULL when it has no
 * JSON form, or for the errors only msgpack bodies have (invalid_msgpack: an item that is not a
 * map, media that are not bin or nil). */
static json_t *json_item(const msgpack_object *item)
{
    if (item->type != MSGPACK_OBJECT_MAP)
        return NULL;
    json_t *obj = json_object();
    for (uint32_t i = 0; obj != NULL && i < item->via.map.size; i++) {
        const msgpack_object_kv *kv = &item->via.map.ptr[i];
        json_t *v = NULL;
        if ((key_is(&kv->key, "audio_data") || key_is(&kv->key, "video_data")) &&
            kv->val.type != MSGPACK_OBJECT_NIL) {
            if (kv->val.type == MSGPACK_OBJECT_BIN) {
                size_t n = kv->val.via.bin.size, cap = vc_base64_encoded_len(n) + 1;
                char *b64 = malloc(cap);
                if (b64 != NULL &&
                    vc_base64_encode((const uint8_t *)kv->val.via.bin.ptr, n, b64, cap, NULL) == 0)
                    v = json_string(b64);
                free(b64);
            }
        } else if (kv->key.type == MSGPACK_OBJECT_STR &&
                   memchr(str_ptr(&kv->key.via.str), '\0', kv->key.via.str.size) == NULL) {
            v = json_form(&kv->val);
        }
        if (v == NULL ||
            json_object_setn_new(obj, str_ptr(&kv->key.via.str), kv->key.via.str.size, v) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

/* The items of the body, located as vc_msgpack_body_open does (root was unpacked from the
 * same bytes). */
static const msgpack_object *items_of(const msgpack_object *root, size_t *n)
{
    if (root->type == MSGPACK_OBJECT_ARRAY) {
        *n = root->via.array.size;
        return root->via.array.ptr;
    }
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        if (key_is(&kv->key, "requests")) {
            *n = kv->val.type == MSGPACK_OBJECT_ARRAY ? kv->val.via.array.size : 0;
            return kv->val.type == MSGPACK_OBJECT_ARRAY ? kv->val.via.array.ptr : NULL;
        }
    }
    *n = 1;
    return root;
}

/* Compares the msgpack path's outcome for item with the JSON path's on its JSON form. */
static void check_differential(const msgpack_object *item, int rc, const vc_json_request_t *jr,
                               const vc_api_error_t *e)
{
    json_t *obj = json_item(item);
    vc_json_request_t jr2;
    vc_api_error_t e2;
    if (obj == NULL)
        return;
    int rc2 = vc_json_request_parse(obj, MAX_MEDIA, MAX_METADATA, &jr2, &e2);
    FUZZ_CHECK(rc == rc2, "msgpack path %d (%d %s: %s), JSON path %d (%d %s: %s)", rc, e->status,
               e->code ? e->code : "-", e->message, rc2, e2.status, e2.code ? e2.code : "-",
               e2.message);
    if (rc != 0) {
        FUZZ_CHECK(e->status == e2.status && strcmp(e->code, e2.code) == 0,
                   "msgpack path %d %s (%s), JSON path %d %s (%s)", e->status, e->code, e->message,
                   e2.status, e2.code, e2.message);
    } else {
        fuzz_check_request_equal(&jr->req, &jr2.req);
        vc_json_request_free(&jr2);
    }
    json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vc_msgpack_body_t *b = NULL;
    vc_api_error_t e;
    int rc = vc_msgpack_body_open(data, size, &b, &e);
    if (rc != 0) {
        check_error(&e, rc);
        return 0;
    }
    size_t n = vc_msgpack_body_count(b), n2 = 0;
    int batch = vc_msgpack_body_is_batch(b);
    FUZZ_CHECK(batch || n == 1, "single body with %zu items", n);
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    FUZZ_CHECK(msgpack_unpack_next(&up, (const char *)data, size, &off) == MSGPACK_UNPACK_SUCCESS,
               "an opened body does not unpack");
    const msgpack_object *items = items_of(&up.data, &n2);
    FUZZ_CHECK(n2 == n, "%zu items, expected %zu", n, n2);
    for (size_t i = 0; i < n && i < MAX_ITEMS; i++) {
        vc_json_request_t jr;
        rc = vc_msgpack_body_item(b, i, MAX_MEDIA, MAX_METADATA, &jr, &e);
        check_differential(&items[i], rc, &jr, &e);
        if (rc != 0) {
            check_error(&e, rc);
            continue;
        }
        FUZZ_CHECK(jr.audio_buf == NULL && jr.video_buf == NULL, "msgpack media were copied");
        /* Media are borrowed from the body buffer. */
        FUZZ_CHECK(!jr.req.has_audio || (jr.req.audio.data >= data &&
                                         jr.req.audio.data + jr.req.audio.len <= data + size),
                   "audio outside the body");
        FUZZ_CHECK(!jr.req.has_video || (jr.req.video.data >= data &&
                                         jr.req.video.data + jr.req.video.len <= data + size),
                   "video outside the body");
        vc_request_t req = jr.req;
        if (req.id[0] == '\0')
            snprintf(req.id, sizeof(req.id), "generated-id");
        snprintf(req.tenant, sizeof(req.tenant), "tenant-1");
        req.submitted_at_ms = 1764000000000;
        fuzz_check_request_roundtrip(&req);
        vc_json_request_free(&jr);
    }
    vc_json_request_t jr;
    rc = vc_msgpack_body_item(b, n, MAX_MEDIA, MAX_METADATA, &jr, &e);
    FUZZ_CHECK(rc != 0, "item %zu of %zu accepted", n, n);
    msgpack_unpacked_destroy(&up);
    vc_msgpack_body_close(b);
    return 0;
}

/* application/msgpack request bodies -> the shared API v1 validation (request_parse.h). */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "request_parse.h"
#include "vc/error.h"
#include "vc/wire_body.h"

struct vc_msgpack_body {
    msgpack_unpacked up;
    const msgpack_object *items; /* the item maps */
    size_t n;
    int batch;
};

static int body_error(vc_api_error_t *e, const char *msg)
{
    e->status = 400;
    e->code = "invalid_msgpack";
    snprintf(e->message, sizeof(e->message), "%s", msg);
    return VC_EINVAL;
}

static int key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}

/* Finds the items: a bare array, a map with "requests", or the map itself. */
static void locate_items(vc_msgpack_body_t *b)
{
    const msgpack_object *root = &b->up.data;
    if (root->type == MSGPACK_OBJECT_ARRAY) {
        b->batch = 1;
        b->items = root->via.array.ptr;
        b->n = root->via.array.size;
        return;
    }
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        if (key_is(&kv->key, "requests")) {
            b->batch = 1;
            if (kv->val.type == MSGPACK_OBJECT_ARRAY) {
                b->items = kv->val.via.array.ptr;
                b->n = kv->val.via.array.size;
            }
            return;
        }
    }
    b->items = root;
    b->n = 1;
}

int vc_msgpack_body_open(const uint8_t *buf, size_t len, vc_msgpack_body_t **out,
                         vc_api_error_t *e)
{
    memset(e, 0, sizeof(*e));
    vc_msgpack_body_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return VC_ENOMEM;
    char err[200];
    int rc = vc_wire__unpack(buf, len, &b->up, err, sizeof(err));
    if (rc == 0 && b->up.data.type != MSGPACK_OBJECT_MAP &&
        b->up.data.type != MSGPACK_OBJECT_ARRAY) {
        rc = VC_EPROTO;
        snprintf(err, sizeof(err), "body must be a map or an array");
    }
    if (rc != 0) {
        msgpack_unpacked_destroy(&b->up);
        free(b);
        return rc == VC_ENOMEM ? VC_ENOMEM : body_error(e, err);
    }
    locate_items(b);
    *out = b;
    return 0;
}

void vc_msgpack_body_close(vc_msgpack_body_t *b)
{
    if (b == NULL)
        return;
    msgpack_unpacked_destroy(&b->up);
    free(b);
}

int vc_msgpack_body_is_batch(const vc_msgpack_body_t *b)
{
    return b->batch;
}

size_t vc_msgpack_body_count(const vc_msgpack_body_t *b)
{
    return b->n;
}

/* The bytes of a str. msgpack-c gives an empty fixstr (0xa0) a NULL ptr, which memchr,
 * memcpy and jansson must never see (jansson's json_stringn(NULL, 0) fails: "" was refused). */
static const char *str_bytes(const msgpack_object_str *s)
{
    return s->size > 0 ? s->ptr : "";
}

/* True when a str has a JSON form: no NUL byte (jansson refuses "\u0000" in a JSON text, so
 * a JSON client can send none, and metadata holding one would not parse back). */
static int str_jsonable(const msgpack_object_str *s)
{
    return memchr(str_bytes(s), '\0', s->size) == NULL;
}

/* Sets obj[key] = v (taking v, also on failure). -1 when key is not a str with a JSON form. */
static int set_member(json_t *obj, const msgpack_object *key, json_t *v)
{
    if (v == NULL || key->type != MSGPACK_OBJECT_STR || !str_jsonable(&key->via.str)) {
        json_decref(v);
        return -1;
    }
    return json_object_setn_new(obj, str_bytes(&key->via.str), key->via.str.size, v);
}

/* Converts a non-media msgpack value to JSON: the value a JSON client would send. NULL when
 * it has no JSON form (bin, ext, non-string map keys, NUL bytes, invalid UTF-8). The pre-scan
 * bounds depth and size. */
static json_t *to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 <= INT64_MAX ? json_integer((json_int_t)o->via.u64)
                                       : json_real((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return str_jsonable(&o->via.str) ? json_stringn(str_bytes(&o->via.str), o->via.str.size)
                                         : NULL;
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a != NULL && i < o->via.array.size; i++) {
            json_t *v = to_json(&o->via.array.ptr[i]);
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
            if (set_member(m, &kv->key, to_json(&kv->val)) != 0) {
                json_decref(m);
                m = NULL;
            }
        }
        return m;
    }
    default: return NULL;
    }
}

/* Splits an item map into media (borrowed) and a JSON object of everything else. */
static int split_item(const msgpack_object *item, vc_wire__premedia_t *pre, json_t **obj,
                      vc_api_error_t *e)
{
    if (item->type != MSGPACK_OBJECT_MAP)
        return body_error(e, "request: expected a map");
    *obj = json_object();
    if (*obj == NULL)
        return VC_ENOMEM;
    for (uint32_t i = 0; i < item->via.map.size; i++) {
        const msgpack_object_kv *kv = &item->via.map.ptr[i];
        int audio = key_is(&kv->key, "audio_data"), video = key_is(&kv->key, "video_data");
        if ((audio || video) && kv->val.type == MSGPACK_OBJECT_NIL)
            continue;
        if (audio || video) {
            if (kv->val.type != MSGPACK_OBJECT_BIN) {
                json_decref(*obj);
                return body_error(e, audio ? "audio_data: expected bin" : "video_data: expected bin");
            }
            const uint8_t **dst = audio ? &pre->audio : &pre->video;
            *dst = (const uint8_t *)kv->val.via.bin.ptr;
            *(audio ? &pre->audio_len : &pre->video_len) = kv->val.via.bin.size;
            continue;
        }
        if (set_member(*obj, &kv->key, to_json(&kv->val)) != 0) {
            json_decref(*obj);
            return body_error(e, "request: keys must be strings and values JSON-compatible");
        }
    }
    return 0;
}

int vc_msgpack_body_item(const vc_msgpack_body_t *b, size_t i, size_t max_media_bytes,
                         size_t max_metadata_bytes, vc_json_request_t *jr, vc_api_error_t *e)
{
    memset(jr, 0, sizeof(*jr));
    memset(e, 0, sizeof(*e));
    if (i >= b->n)
        return body_error(e, "no such item");
    vc_wire__premedia_t pre = {0};
    json_t *obj = NULL;
    int rc = split_item(&b->items[i], &pre, &obj, e);
    if (rc != 0)
        return rc;
    rc = vc_wire__request_parse(obj, &pre, max_media_bytes, max_metadata_bytes, jr, e);
    json_decref(obj);
    return rc;
}

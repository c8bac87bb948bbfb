/* Table-driven validation of msgpack maps and small packing helpers (see codec.h). */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "vc/error.h"
#include "vc/wire.h"

/* Name of a msgpack object type, for error messages. */
static const char *type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "int";
    case MSGPACK_OBJECT_FLOAT32:
        return "float32";
    case MSGPACK_OBJECT_FLOAT64:
        return "float64";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    default:
        return "ext";
    }
}

static const char *kind_name(int kind)
{
    static const char *const names[] = {"str", "bin", "uint", "int", "number", "map", "array"};
    return names[kind];
}

/* True when o is of the given kind (nil is handled by the caller). */
static int kind_matches(const msgpack_object *o, int kind)
{
    msgpack_object_type t = o->type;
    switch (kind) {
    case VC_WIRE__STR:
        return t == MSGPACK_OBJECT_STR;
    case VC_WIRE__BIN:
        return t == MSGPACK_OBJECT_BIN;
    case VC_WIRE__UINT:
        return t == MSGPACK_OBJECT_POSITIVE_INTEGER;
    case VC_WIRE__INT:
        return t == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
               (t == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX);
    case VC_WIRE__NUM:
        return t == MSGPACK_OBJECT_FLOAT64 || t == MSGPACK_OBJECT_FLOAT32 ||
               t == MSGPACK_OBJECT_POSITIVE_INTEGER || t == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    case VC_WIRE__MAP:
        return t == MSGPACK_OBJECT_MAP;
    case VC_WIRE__ARRAY:
        return t == MSGPACK_OBJECT_ARRAY;
    default:
        return 0;
    }
}

/* The size that a field's `max` limits: bytes, value or entries. */
static uint64_t measure(const msgpack_object *o, int kind)
{
    switch (kind) {
    case VC_WIRE__STR:
        return o->via.str.size;
    case VC_WIRE__BIN:
        return o->via.bin.size;
    case VC_WIRE__UINT:
        return o->via.u64;
    case VC_WIRE__MAP:
        return o->via.map.size;
    case VC_WIRE__ARRAY:
        return o->via.array.size;
    default:
        return 0;
    }
}

/* Index of the table row whose key equals the str object k, or -1. */
static int lookup(const vc_wire__field_t *fields, size_t n, const msgpack_object *k)
{
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(fields[i].key);
        if (kl == k->via.str.size && memcmp(fields[i].key, k->via.str.ptr, kl) == 0)
            return (int)i;
    }
    return -1;
}

/* Checks one known field's value against its row; sets *val (NULL for nil). */
static int check_value(const vc_wire__field_t *f, const msgpack_object *o,
                       const msgpack_object **val, const char *where, char *err, size_t errlen)
{
    if (o->type == MSGPACK_OBJECT_NIL && (f->flags & VC_WIRE__NILABLE)) {
        *val = NULL;
        return 0;
    }
    if (f->kind == VC_WIRE__INT && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        o->via.u64 > INT64_MAX)
        return vc_err(err, errlen, VC_EPROTO, "%s%s: out of range", where, f->key);
    if (!kind_matches(o, f->kind))
        return vc_err(err, errlen, VC_EPROTO, "%s%s: expected %s, got %s", where, f->key,
                      kind_name(f->kind), type_name(o->type));
    if (f->max != 0 && measure(o, f->kind) > f->max)
        return vc_err(err, errlen, VC_EPROTO, "%s%s: over its limit of %llu", where, f->key,
                      (unsigned long long)f->max);
    *val = o;
    return 0;
}

int vc_wire__fields(const msgpack_object *map, const vc_wire__field_t *fields, size_t n,
                    const msgpack_object **vals, const char *where, char *err, size_t errlen)
{
    uint32_t seen = 0;
    size_t wl = strlen(where); /* "" or "name." */
    if (map->type != MSGPACK_OBJECT_MAP)
        return vc_err(err, errlen, VC_EPROTO, "%.*s: expected map, got %s",
                      wl > 0 ? (int)wl - 1 : 7, wl > 0 ? where : "message", type_name(map->type));
    for (size_t i = 0; i < n; i++)
        vals[i] = NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return vc_err(err, errlen, VC_EPROTO, "%skey %u: expected str, got %s", where, i,
                          type_name(kv->key.type));
        int f = lookup(fields, n, &kv->key);
        if (f < 0)
            continue; /* unknown key: a newer minor revision's field */
        if (seen & (1u << f))
            return vc_err(err, errlen, VC_EPROTO, "%s%s: repeated key", where, fields[f].key);
        seen |= 1u << f;
        int rc = check_value(&fields[f], &kv->val, &vals[f], where, err, errlen);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if ((fields[i].flags & VC_WIRE__REQUIRED) && vals[i] == NULL)
            return vc_err(err, errlen, VC_EPROTO, "%s%s: missing", where, fields[i].key);
    }
    return 0;
}

int vc_wire__version(const msgpack_object *map, uint32_t *v, char *err, size_t errlen)
{
    static const msgpack_object_str key = {1, "v"};
    if (map->type != MSGPACK_OBJECT_MAP)
        return vc_err(err, errlen, VC_EPROTO, "message: expected map, got %s",
                      type_name(map->type));
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size != key.size ||
            memcmp(kv->key.via.str.ptr, key.ptr, key.size) != 0)
            continue;
        if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return vc_err(err, errlen, VC_EPROTO, "v: expected uint, got %s",
                          type_name(kv->val.type));
        if (kv->val.via.u64 == 0)
            return vc_err(err, errlen, VC_EPROTO, "v: must be at least 1");
        if (kv->val.via.u64 > VC_WIRE_VERSION)
            return vc_err(err, errlen, VC_EFORMAT, "v: major version %llu is newer than %d",
                          (unsigned long long)kv->val.via.u64, VC_WIRE_VERSION);
        *v = (uint32_t)kv->val.via.u64;
        return 0;
    }
    return vc_err(err, errlen, VC_EPROTO, "v: missing");
}

int vc_wire__copy_str(const msgpack_object *o, char *dst, size_t cap, const char *where,
                      const char *key, char *err, size_t errlen)
{
    size_t n = o->via.str.size;
    if (n >= cap)
        return vc_err(err, errlen, VC_EPROTO, "%s%s: longer than %zu bytes", where, key, cap - 1);
    if (n > 0 && memchr(o->via.str.ptr, '\0', n) != NULL)
        return vc_err(err, errlen, VC_EPROTO, "%s%s: contains a NUL byte", where, key);
    if (n > 0)
        memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
    return 0;
}

int64_t vc_wire__int(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    return (int64_t)o->via.u64; /* <= INT64_MAX, checked by the table */
}

double vc_wire__num(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (double)o->via.u64;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return (double)o->via.i64;
    return o->via.f64; /* msgpack-c widens float32 into f64 too */
}

int vc_wire__pack_key(msgpack_packer *pk, const char *key)
{
    return msgpack_pack_str_with_body(pk, key, strlen(key));
}

int vc_wire__pack_str(msgpack_packer *pk, const char *key, const char *val)
{
    int rc = vc_wire__pack_key(pk, key);
    rc |= msgpack_pack_str_with_body(pk, val, strlen(val));
    return rc;
}

int vc_wire__pack_int(msgpack_packer *pk, const char *key, int64_t val)
{
    int rc = vc_wire__pack_key(pk, key);
    rc |= msgpack_pack_int64(pk, val);
    return rc;
}

int vc_wire__pack_num(msgpack_packer *pk, const char *key, int has, double val)
{
    int rc = vc_wire__pack_key(pk, key);
    rc |= has ? msgpack_pack_double(pk, val) : msgpack_pack_nil(pk);
    return rc;
}

int vc_wire__finish(msgpack_sbuffer *sb, int rc, uint8_t **out, size_t *outlen)
{
    if (rc != 0 || sb->data == NULL) {
        msgpack_sbuffer_destroy(sb);
        return VC_ENOMEM;
    }
    *outlen = sb->size;
    *out = (uint8_t *)msgpack_sbuffer_release(sb);
    return 0;
}

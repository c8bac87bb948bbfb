/* BatchEnvelope codec: {v, items: [DetectionRequest...]}. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "vc/error.h"
#include "vc/wire_batch.h"

struct vc_wire_batch {
    msgpack_unpacked up;
    const msgpack_object *items;
    size_t n;
};

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
    size_t kn = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == kn &&
            memcmp(kv->key.via.str.ptr, key, kn) == 0)
            return &kv->val;
    }
    return NULL;
}

int vc_wire_is_batch(const uint8_t *buf, size_t len)
{
    msgpack_unpacked up;
    char err[64];
    int batch = vc_wire__unpack(buf, len, &up, err, sizeof(err)) == 0 &&
                up.data.type == MSGPACK_OBJECT_MAP && map_get(&up.data, "items") != NULL;
    msgpack_unpacked_destroy(&up);
    return batch;
}

int vc_wire_batch_open(const uint8_t *buf, size_t len, vc_wire_batch_t **out, char *err,
                       size_t errlen)
{
    vc_wire_batch_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return VC_ENOMEM;
    uint32_t v = 0;
    int rc = vc_wire__unpack(buf, len, &b->up, err, errlen);
    if (rc == 0)
        rc = vc_wire__version(&b->up.data, &v, err, errlen);
    const msgpack_object *items = rc == 0 ? map_get(&b->up.data, "items") : NULL;
    if (rc == 0 && (items == NULL || items->type != MSGPACK_OBJECT_ARRAY))
        rc = vc_err(err, errlen, VC_EPROTO, "items: missing or not an array");
    if (rc == 0 && items->via.array.size > VC_WIRE_BATCH_MAX_ITEMS)
        rc = vc_err(err, errlen, VC_EPROTO, "items: %u items, at most %d", items->via.array.size,
                    VC_WIRE_BATCH_MAX_ITEMS);
    if (rc != 0) {
        msgpack_unpacked_destroy(&b->up);
        free(b);
        return rc;
    }
    b->items = items->via.array.ptr;
    b->n = items->via.array.size;
    *out = b;
    return 0;
}

size_t vc_wire_batch_count(const vc_wire_batch_t *b)
{
    return b->n;
}

int vc_wire_batch_item(const vc_wire_batch_t *b, size_t i, vc_request_t *req, char *err,
                       size_t errlen)
{
    if (i >= b->n)
        return vc_err(err, errlen, VC_EINVAL, "no item %zu", i);
    if (b->items[i].type != MSGPACK_OBJECT_MAP)
        return vc_err(err, errlen, VC_EPROTO, "items[%zu]: not a map", i);
    return vc_wire__request_from_object(&b->items[i], req, err, errlen);
}

void vc_wire_batch_close(vc_wire_batch_t *b)
{
    if (b == NULL)
        return;
    msgpack_unpacked_destroy(&b->up);
    free(b);
}

int vc_wire_batch_encode(const vc_request_t *reqs, size_t n, uint8_t **out, size_t *outlen)
{
    if (n > VC_WIRE_BATCH_MAX_ITEMS)
        return VC_EINVAL;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 2);
    rc |= vc_wire__pack_int(&pk, "v", VC_WIRE_VERSION);
    rc |= vc_wire__pack_key(&pk, "items");
    rc |= msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t *one = NULL;
        size_t len = 0;
        int erc = vc_wire_request_encode(&reqs[i], &one, &len);
        if (erc != 0) {
            msgpack_sbuffer_destroy(&sb);
            return erc;
        }
        /* A request's encoding is one complete msgpack object: append it as the element. */
        rc |= msgpack_sbuffer_write(&sb, (const char *)one, len);
        free(one);
    }
    return vc_wire__finish(&sb, rc, out, outlen);
}

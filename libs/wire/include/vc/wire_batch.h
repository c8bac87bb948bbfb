#ifndef VC_WIRE_BATCH_H
#define VC_WIRE_BATCH_H
/* BatchEnvelope (schemas/msgpack/batch_envelope.md): several DetectionRequests in one Kafka
 * message, as external producers publish them: {v: 1, items: [DetectionRequest, ...]}. */
#include <stddef.h>
#include <stdint.h>

#include "vc/wire.h"

#define VC_WIRE_BATCH_MAX_ITEMS 1000

typedef struct vc_wire_batch vc_wire_batch_t;

/* 1 when buf looks like a BatchEnvelope (a map with an "items" key), 0 otherwise (then it is
 * to be decoded as a DetectionRequest). Never fails; malformed bytes answer 0. */
int vc_wire_is_batch(const uint8_t *buf, size_t len);

/* Checks and unpacks an envelope. Items' media point into buf: keep it alive. Returns 0,
 * VC_EPROTO (not an envelope, too many items), VC_EFORMAT (newer major version) or
 * VC_ENOMEM, with err saying why. */
int vc_wire_batch_open(const uint8_t *buf, size_t len, vc_wire_batch_t **out, char *err,
                       size_t errlen);
size_t vc_wire_batch_count(const vc_wire_batch_t *b);
/* Decodes item i like vc_wire_request_decode; one bad item does not affect the others. */
int vc_wire_batch_item(const vc_wire_batch_t *b, size_t i, vc_request_t *req, char *err,
                       size_t errlen);
void vc_wire_batch_close(vc_wire_batch_t *b);

/* Encodes reqs[0..n) as an envelope. *out is malloc'd; caller frees with free(). */
int vc_wire_batch_encode(const vc_request_t *reqs, size_t n, uint8_t **out, size_t *outlen);

#endif

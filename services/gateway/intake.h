#ifndef VC_GATEWAY_INTAKE_H
#define VC_GATEWAY_INTAKE_H
/* The acceptance pipeline shared by single and batch submissions: finalise each parsed
 * request (id, tenant, timestamps), record a queued placeholder (SET NX: the idempotency
 * check), publish every accepted item to Kafka in one round of delivery reports, and record
 * each item's outcome. Nothing is reported accepted before Kafka acknowledged it. */
#include <jansson.h>

#include "gateway.h"
#include "vc/mq.h"
#include "vc/wire_body.h"
#include "vc/wire_json.h"

typedef struct {
    vc_json_request_t jr; /* parsed request; owns its media buffers */
    int parsed;           /* jr is valid (and must be freed) */
    int status;           /* HTTP status of this item: 202 or an error status */
    const char *code;     /* error code when status >= 400 */
    char message[256];
    int duplicate; /* an earlier submission with this detection_id exists */
    int unchecked; /* Redis was down: accepted without the duplicate check */
    uint8_t *msg;  /* encoded DetectionRequest while publishing */
    size_t msglen;
} intake_item_t;

/* Parses one JSON request object into item (status 400/413/415 on a validation error), and
 * assigns the id (client's or a new UUID), tenant, trace id and submission time. */
void intake_parse_json(gateway_t *gw, json_t *obj, const char *tenant, const char *trace_id,
                       intake_item_t *item);

/* The same for item i of an application/msgpack body; media stay borrowed from the body's
 * buffer, which must outlive the item. */
void intake_parse_msgpack(gateway_t *gw, const vc_msgpack_body_t *body, size_t i,
                          const char *tenant, const char *trace_id, intake_item_t *item);

/* The same for item i of a JSON body parsed the fast way (vc_json_body_t). */
void intake_parse_jbody(gateway_t *gw, const vc_json_body_t *body, int batch, size_t i,
                        const char *tenant, const char *trace_id, intake_item_t *item);

/* Runs placeholder + publish for every parsed item of items[0..n). */
void intake_submit(gateway_t *gw, intake_item_t *items, size_t n);

/* The JSON reply for one item (new reference): {detection_id, status: "queued",
 * links: {self}, duplicate?} when accepted, {error: {code, message}} otherwise. */
json_t *intake_item_json(const intake_item_t *item);

/* Frees what the items own. */
void intake_free(intake_item_t *items, size_t n);

#endif

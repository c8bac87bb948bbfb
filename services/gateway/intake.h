#ifndef VC_GATEWAY_INTAKE_H
#define VC_GATEWAY_INTAKE_H
/* The acceptance pipeline shared by single and batch submissions: finalise each parsed
 * request (id, tenant, timestamps), claim client-supplied ids in PostgreSQL (the idempotency
 * authority, claim.c), write a queued placeholder to Redis (the fast path), publish every item
 * to publish to Kafka in one round of delivery reports, confirm or release the claims, and
 * record each item's outcome. Nothing is reported accepted before Kafka acknowledged a request
 * for its (tenant, id): its own publish, or an earlier one recorded in PostgreSQL. */
#include <jansson.h>

#include "gateway.h"
#include "vc/claims.h"
#include "vc/mq.h"
#include "vc/results.h"
#include "vc/wire_body.h"
#include "vc/wire_json.h"

typedef struct {
    vc_json_request_t jr; /* parsed request; owns its media buffers */
    int parsed;           /* jr is valid (and must be freed) */
    int status;           /* HTTP status of this item: 202 or an error status */
    const char *code;     /* error code when status >= 400 */
    char message[256];
    int client_id; /* the client chose the detection_id (an idempotency key) */
    int duplicate; /* this tenant submitted this detection_id before */
    int publish;   /* to be published (a new request, or one whose ack is not on record) */
    int acked;     /* Kafka acknowledged this item's own publish */
    vc_claim_state_t claim_state; /* client_id: what PostgreSQL said (0: not claimed) */
    uint8_t fingerprint[VC_CLAIM_FINGERPRINT_LEN]; /* client_id: the request's */
    uint8_t *placeholder; /* encoded queued DetectionResult */
    size_t placeholder_len;
    int placed;    /* this submission wrote the Redis placeholder (undone if it fails) */
    char key[VC_RESULTS_REF_MAX + 1]; /* Kafka key: "tenant/id" */
    uint8_t *msg;  /* encoded DetectionRequest while publishing */
    size_t msglen;
} intake_item_t;

/* Marks item refused with status, code and message. */
void intake_item_fail(intake_item_t *item, int status, const char *code, const char *msg);

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

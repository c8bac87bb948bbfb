#ifndef VC_GATEWAY_CLAIM_H
#define VC_GATEWAY_CLAIM_H
/* Idempotency of client-supplied detection ids, decided by PostgreSQL (vc/claims.h, group-committed by
 * claimer.h) around the publish of intake.c. A server-generated id is new by construction and skips both steps. */
#include <stddef.h>

#include "intake.h"

/* Before publishing: claims every accepted item with a client-supplied id in one round trip.
 * New, or submitted before without a recorded acknowledgement: stays to be published (a
 * duplicate request on the topic is harmless: the first final result wins). Submitted and
 * acknowledged before: answered as a duplicate without publishing. Same id, other payload:
 * 422 idempotency_key_reused. PostgreSQL unavailable: 503 store_unavailable, because a 202
 * must never rest on a guess. */
void gateway_claims_take(gateway_t *gw, intake_item_t *items, size_t n);

/* After publishing: queues the acknowledgement of every published claimed item and the
 * release of the claims of new items whose publish failed (claimer.h writes them off the
 * request path; losing one only costs a republish on a later retry). */
void gateway_claims_settle(gateway_t *gw, intake_item_t *items, size_t n);

#endif

#ifndef VC_CLAIMS_H
#define VC_CLAIMS_H
/* Idempotency claims: PostgreSQL is the one durable authority on whether (tenant, id) was
 * submitted before. The gateway claims a client-supplied id before publishing the request,
 * confirms the claim once Kafka acknowledged the publish, and releases it when the publish
 * failed, all on the detection's own row in `detections` (schemas/sql/004_tenant_identity.sql).
 * A claim carries the request's fingerprint, so the same id with another payload is told apart
 * from a retry. */
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vc/wire.h"

#define VC_CLAIM_FINGERPRINT_LEN 32 /* SHA-256 */

typedef enum {
    VC_CLAIM_NEW = 1, /* first submission of (tenant, id): publish it */
    VC_CLAIM_ACKED,   /* submitted before and acknowledged by Kafka: answer with it */
    VC_CLAIM_PENDING, /* submitted before, no acknowledgement recorded (still publishing,
                         failed, or its gateway died): publish again; a duplicate request is
                         harmless, the first final result wins */
    VC_CLAIM_REUSED   /* submitted before with another payload: refuse (422) */
} vc_claim_state_t;

typedef struct {
    const char *tenant, *id; /* in (borrowed) */
    const char *type;        /* detection_type name */
    int64_t submitted_at_ms;
    const char *trace_id;    /* "" or NULL: none */
    uint8_t fingerprint[VC_CLAIM_FINGERPRINT_LEN];
    const uint8_t *placeholder; /* the queued DetectionResult, stored as the row's result */
    size_t placeholder_len;
    vc_claim_state_t state;  /* out of vc_claims_take */
} vc_claim_t;

/* Claims every (tenant, id) of claims[0..n) in one transaction sent as one pipeline and sets
 * each state. Two claims of the same id in one call: the second sees the first. Returns 0,
 * VC_EIO (nothing claimed; err says why) or VC_ENOMEM. */
int vc_claims_take(PGconn *conn, vc_claim_t *claims, size_t n, char *err, size_t errlen);

/* Records Kafka's acknowledgement of each claim's request (recreating a row that a concurrent
 * release removed meanwhile, so an acknowledged request always has its claim). One
 * transaction, one round trip. Returns 0 or VC_EIO. */
int vc_claims_confirm(PGconn *conn, const vc_claim_t *const *claims, size_t n, char *err,
                      size_t errlen);

/* Removes a claim whose publish failed, unless it was acknowledged (by a concurrent
 * re-submission) or already has a result. Returns 0 or VC_EIO. */
int vc_claims_release(PGconn *conn, const vc_claim_t *claim, char *err, size_t errlen);

/* SHA-256 over the parts that make two submissions "the same request": type, each media
 * part's format, sample rate and bytes, and the metadata text (each length-prefixed). Id,
 * tenant, trace id and times are not part of it. Returns 0 or VC_ENOMEM. */
int vc_claim_fingerprint(const vc_request_t *req, uint8_t out[VC_CLAIM_FINGERPRINT_LEN]);

#endif

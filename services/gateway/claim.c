#include "claim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claimer.h"
#include "vc/error.h"
#include "vc/log.h"

static int claimable(const intake_item_t *it)
{
    return it->status == 202 && it->publish && it->client_id;
}

static void claim_of(const intake_item_t *it, vc_claim_t *c)
{
    const vc_request_t *req = &it->jr.req;
    memset(c, 0, sizeof(*c));
    c->tenant = req->tenant;
    c->id = req->id;
    c->type = vc_type_name(req->type);
    c->submitted_at_ms = req->submitted_at_ms;
    c->trace_id = req->trace_id;
    c->placeholder = it->placeholder;
    c->placeholder_len = it->placeholder_len;
    memcpy(c->fingerprint, it->fingerprint, sizeof(c->fingerprint));
}

/* Applies PostgreSQL's answer to one item. */
static void apply(intake_item_t *it, vc_claim_state_t state)
{
    it->claim_state = state;
    if (state == VC_CLAIM_REUSED) {
        intake_item_fail(it, 422, "idempotency_key_reused",
                         "detection_id was already used for a different request; use a new "
                         "detection_id or resend the original request unchanged");
    } else if (state == VC_CLAIM_ACKED) {
        it->duplicate = 1;
        it->publish = 0; /* the original's acknowledged request stands for this one */
    } else if (state == VC_CLAIM_PENDING) {
        it->duplicate = 1; /* publish again: the original's outcome is not on record */
    }
}

void gateway_claims_take(gateway_t *gw, intake_item_t *items, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!claimable(&items[i]))
            continue;
        if (vc_claim_fingerprint(&items[i].jr.req, items[i].fingerprint) == 0)
            k++;
        else
            intake_item_fail(&items[i], 503, "overloaded", "out of memory, retry later");
    }
    if (k == 0)
        return;
    vc_claim_t *claims = calloc(k, sizeof(*claims));
    size_t *owner = calloc(k, sizeof(*owner));
    char err[512] = "";
    int rc = VC_ENOMEM;
    if (claims != NULL && owner != NULL) {
        for (size_t i = 0, j = 0; i < n; i++)
            if (claimable(&items[i])) {
                claim_of(&items[i], &claims[j]);
                owner[j++] = i;
            }
        rc = claimer_take(gw->claimer, claims, k, err, sizeof(err));
    }
    if (rc != 0)
        VC_WARN("intake.claim_unavailable", "items=%zu error=\"%s\"", k, err);
    for (size_t i = 0, j = 0; i < n; i++) {
        if (!claimable(&items[i]))
            continue;
        if (rc == 0)
            apply(&items[i], claims[j++].state);
        else
            intake_item_fail(&items[i], 503, "store_unavailable",
                             "cannot check the detection_id now, retry later");
    }
    free(owner);
    free(claims);
}

void gateway_claims_settle(gateway_t *gw, intake_item_t *items, size_t n)
{
    vc_claim_t *claims = calloc(n, sizeof(*claims));
    const vc_claim_t **acked = calloc(n, sizeof(*acked));
    size_t k = 0;
    for (size_t i = 0; claims && acked && i < n; i++) {
        intake_item_t *it = &items[i];
        if (it->claim_state != VC_CLAIM_NEW && it->claim_state != VC_CLAIM_PENDING)
            continue;
        claim_of(it, &claims[i]);
        if (it->acked)
            acked[k++] = &claims[i];
        else if (it->claim_state == VC_CLAIM_NEW && claimer_release(gw->claimer, &claims[i]) != 0)
            /* A claim left behind only makes a retry publish again (state pending). */
            VC_WARN("intake.claim_release_failed", "tenant=%s id=%s error=\"out of memory\"",
                    it->jr.req.tenant, it->jr.req.id);
    }
    if (k > 0 && claimer_confirm(gw->claimer, acked, k) != 0)
        VC_WARN("intake.claim_confirm_failed", "items=%zu error=\"out of memory\"", k);
    if (claims == NULL || acked == NULL)
        VC_WARN("intake.claim_settle_skipped", "items=%zu error=\"out of memory\"", n);
    free(acked);
    free(claims);
}

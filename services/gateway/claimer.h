#ifndef VC_GATEWAY_CLAIMER_H
#define VC_GATEWAY_CLAIMER_H
/* Group commit of idempotency claims. One thread per gateway process writes the claims of
 * every submission that arrived while its previous transaction ran in one pipelined
 * transaction (vc/claims.h), so PostgreSQL sees a few transactions per millisecond however
 * many submissions run at once, not two per submission. Acknowledgements and releases are
 * queued and written the same way off the request path: a retry that finds no acknowledgement
 * on record publishes again, which is harmless (the first final result wins). */
#include <stddef.h>
#include <stdint.h>

#include "vc/claims.h"
#include "vc/metrics.h"
#include "vc/pg.h"

struct vc_breaker;
typedef struct claimer claimer_t;

/* Starts the writer thread on pool pg behind breaker br (neither owned). Counters go to m.
 * Returns 0, VC_ENOMEM or VC_EIO (thread). */
int claimer_start(vc_pg_pool_t *pg, struct vc_breaker *br, vc_metrics_t *m, claimer_t **out);

/* Claims claims[0..n) (sets each state) in the next group transaction and waits for it. A
 * group that fails is retried one submission at a time, so a row PostgreSQL refuses fails
 * only its own submission. Returns 0 or an error (err says why; nothing was decided). */
int claimer_take(claimer_t *c, vc_claim_t *claims, size_t n, char *err, size_t errlen);

/* Queues the acknowledgement of claims[0..n) (copied: the caller's memory may go at once).
 * Returns 0 or VC_ENOMEM (nothing queued). */
int claimer_confirm(claimer_t *c, const vc_claim_t *const *claims, size_t n);

/* Queues the release of a claim whose publish failed (copied). Returns 0 or VC_ENOMEM. */
int claimer_release(claimer_t *c, const vc_claim_t *claim);

/* Writes what is queued, stops the thread and frees c (NULL: no-op). No claimer_take may be
 * running or start. */
void claimer_stop(claimer_t *c);

#endif

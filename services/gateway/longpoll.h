#ifndef VC_GATEWAY_LONGPOLL_H
#define VC_GATEWAY_LONGPOLL_H
/* `?wait=N`: hold a request up to N seconds for its detection to reach a final state. */
#include <civetweb.h>

#include "gateway.h"
#include "vc/wire.h"

#define LONGPOLL_MAX_S 30

/* Reads `wait` from the query string into *seconds (0 when absent). Returns 0, or VC_EINVAL
 * when present but not an integer in 0..LONGPOLL_MAX_S. */
int longpoll_param(const struct mg_request_info *ri, int *seconds);

/* Loads the newest state of the detection (tenant, id) (Redis, else PostgreSQL). Returns 0,
 * VC_ENOTFOUND or a store error. Every lookup is keyed by both parts: what another tenant did
 * with the same id can change neither the answer nor the work done to find it. */
int longpoll_load(gateway_t *gw, const char *tenant, const char *id, vc_result_t *res,
                  char *err, size_t errlen);

/* Waits, with `wt` registered before the detection could finish, until the detection is final
 * or the deadline passes; fills *res with the last state seen. Returns 0 when final, 1 when
 * still pending at the deadline, or a load error. */
int longpoll_wait(gateway_t *gw, void *wt, const char *tenant, const char *id,
                  int64_t deadline_ms, vc_result_t *res);

#endif

#include "longpoll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/detections.h"
#include "vc/error.h"
#include "vc/results.h"
#include "waiters.h"

int longpoll_param(const struct mg_request_info *ri, int *seconds)
{
    *seconds = 0;
    if (ri->query_string == NULL)
        return 0;
    char buf[16];
    int n = mg_get_var(ri->query_string, strlen(ri->query_string), "wait", buf, sizeof(buf));
    if (n == -1)
        return 0; /* absent */
    if (n < 0)
        return VC_EINVAL;
    char *end = NULL;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno != 0 || end == buf || *end != '\0' || v < 0 || v > LONGPOLL_MAX_S)
        return VC_EINVAL;
    *seconds = (int)v;
    return 0;
}

static int load_from_pg(gateway_t *gw, const char *tenant, const char *id, uint8_t **blob,
                        size_t *len, char *err, size_t errlen)
{
    PGconn *c = NULL;
    int rc = vc_pg_acquire(gw->pg, &c, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_detections_get(c, tenant, id, blob, len, err, errlen);
    vc_pg_release(gw->pg, c, rc == VC_EIO);
    return rc;
}

/* Redis first; PostgreSQL when Redis has no entry (TTL expired) or is down. VC_ENOTFOUND only
 * when no store failed. */
int longpoll_load(gateway_t *gw, const char *tenant, const char *id, vc_result_t *res,
                  char *err, size_t errlen)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = VC_EUNAVAIL;
    if (vc_breaker_allow(gw->redis_breaker) == 0) {
        rc = vc_results_get(gw->redis, tenant, id, &blob, &len, err, errlen);
        vc_breaker_record(gw->redis_breaker, rc == 0 || rc == VC_ENOTFOUND);
    }
    if (rc != 0 && rc != VC_ENOMEM) {
        int pg_rc = load_from_pg(gw, tenant, id, &blob, &len, err, errlen);
        rc = (pg_rc == VC_ENOTFOUND) ? rc : pg_rc;
    }
    if (rc != 0)
        return rc;
    rc = vc_wire_result_decode(blob, len, res, err, errlen);
    free(blob);
    /* Keys name the tenant; a stored record that names another is corrupt, never shown. */
    if (rc == 0 && (strcmp(res->tenant, tenant) != 0 || strcmp(res->id, id) != 0))
        rc = vc_err(err, errlen, VC_EPROTO, "stored result of %s/%s names %s/%s", tenant, id,
                    res->tenant, res->id);
    return rc;
}

static int is_final(const vc_result_t *res)
{
    return res->status == VC_STATUS_COMPLETED || res->status == VC_STATUS_FAILED;
}

int longpoll_wait(gateway_t *gw, void *wt, const char *tenant, const char *id,
                  int64_t deadline_ms, vc_result_t *res)
{
    char err[256];
    for (;;) {
        int rc = longpoll_load(gw, tenant, id, res, err, sizeof(err));
        if (rc != 0)
            return rc;
        if (is_final(res))
            return 0;
        if (vc_clock_mono_ms() >= deadline_ms ||
            !waiters_wait(gw->waiters, wt, deadline_ms))
            return 1;
    }
}

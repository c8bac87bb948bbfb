/* GET /v1/detections/{id}: Redis fast path, PostgreSQL when the cached result has expired. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway.h"
#include "vc/detections.h"
#include "vc/error.h"
#include "vc/id.h"
#include "vc/results.h"
#include "vc/wire.h"
#include "vc/wire_json.h"

static int load_from_pg(gateway_t *gw, const char *id, uint8_t **blob, size_t *len, char *err,
                        size_t errlen)
{
    PGconn *c = NULL;
    int rc = vc_pg_acquire(gw->pg, &c, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_detections_get(c, id, blob, len, err, errlen);
    vc_pg_release(gw->pg, c, rc == VC_EIO);
    return rc;
}

/* Loads the newest known state of id: Redis first; PostgreSQL when Redis has no entry (TTL
 * expired) or is down. Returns 0, VC_ENOTFOUND (absent from every reachable store and no
 * store failed), or a store error (state unknown). */
static int load(gateway_t *gw, const char *id, vc_result_t *res, char *err, size_t errlen)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = vc_results_get(gw->redis, id, &blob, &len, err, errlen);
    if (rc != 0 && rc != VC_ENOMEM) {
        int pg_rc = load_from_pg(gw, id, &blob, &len, err, errlen);
        rc = (pg_rc == VC_ENOTFOUND) ? rc : pg_rc;
    }
    if (rc != 0)
        return rc;
    rc = vc_wire_result_decode(blob, len, res, err, errlen);
    free(blob);
    return rc;
}

int gateway_handle_detection(struct mg_connection *conn, void *arg)
{
    gateway_t *gw = arg;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (strcmp(ri->request_method, "GET") != 0)
        return gateway_send_error(conn, 405, "method_not_allowed", "Allow: GET\r\n", "use GET");
    const char *id = ri->local_uri + strlen("/v1/detections/");
    if (!vc_id_valid(id, strlen(id)))
        return gateway_send_error(conn, 404, "not_found", "", "no such detection");
    vc_result_t res;
    char err[512] = "";
    int rc = load(gw, id, &res, err, sizeof(err));
    /* Another tenant's detection is indistinguishable from a missing one. */
    if (rc == VC_ENOTFOUND || (rc == 0 && strcmp(res.tenant, gw->cfg.tenant) != 0))
        return gateway_send_error(conn, 404, "not_found", "", "no such detection");
    if (rc != 0) {
        VC_WARN("query.store_unavailable", "id=%s error=\"%s\"", id, err);
        return gateway_send_error(conn, 503, "store_unavailable", "Retry-After: 1\r\n",
                                  "result stores unavailable, retry later");
    }
    json_t *o = vc_json_result(&res);
    if (o == NULL)
        return gateway_send_error(conn, 500, "internal", "", "out of memory");
    rc = gateway_send_json(conn, 200, "", o);
    json_decref(o);
    return rc;
}

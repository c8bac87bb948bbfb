/* GET /v1/detections/{id}[?wait=N]. */
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "gateway.h"
#include "longpoll.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/id.h"
#include "vc/wire.h"
#include "vc/wire_json.h"
#include "waiters.h"

/* Loads the detection, holding the request up to wait_s seconds for a final state. A held
 * long-poll takes one of MAX_LONGPOLL for its wait, so long-polls can never occupy the
 * workers /health, /metrics and quick reads need; without one the request is answered at once
 * with the current state, as if its wait had ended (*shed set). */
static int load(gateway_t *gw, const char *tenant, const char *id, int wait_s, vc_result_t *res,
                int *shed, char *err, size_t errlen)
{
    *shed = 0;
    if (wait_s == 0)
        return longpoll_load(gw, tenant, id, res, err, errlen);
    if (vc_sem_try_acquire(gw->longpolls) != 0) {
        *shed = 1;
        vc_counter_add(gw->m_longpoll_shed, 1);
        return longpoll_load(gw, tenant, id, res, err, errlen);
    }
    waiter_t *wt = waiters_add(gw->waiters, tenant, id);
    int rc;
    if (wt == NULL) {
        rc = longpoll_load(gw, tenant, id, res, err, errlen);
    } else {
        rc = longpoll_wait(gw, wt, tenant, id, vc_clock_mono_ms() + (int64_t)wait_s * 1000, res);
        waiters_remove(gw->waiters, wt);
        rc = rc == 1 ? 0 : rc; /* still pending at the deadline: answer with the state */
    }
    vc_sem_release(gw->longpolls);
    return rc;
}

static int get_detection(struct mg_connection *conn, gateway_t *gw, const char *tenant);

int gateway_handle_detection(struct mg_connection *conn, void *arg)
{
    gateway_t *gw = arg;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *id = ri->local_uri + strlen("/v1/detections/");
    if (strcmp(id, "batch") == 0)
        return gateway_handle_batch(conn, arg);
    request_ctx_t ctx;
    int rc = gateway_access(conn, gw, &ctx);
    const char *slash = strchr(id, '/');
    if (rc == 0 && slash != NULL && strcmp(slash, "/feedback") == 0)
        rc = gateway_handle_feedback(conn, gw, id, (size_t)(slash - id), ctx.tenant);
    else if (rc == 0)
        rc = get_detection(conn, gw, ctx.tenant);
    gateway_access_done(conn);
    return rc;
}

static int get_detection(struct mg_connection *conn, gateway_t *gw, const char *tenant)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *id = ri->local_uri + strlen("/v1/detections/");
    if (strcmp(ri->request_method, "GET") != 0)
        return gateway_send_error(conn, 405, "method_not_allowed", "Allow: GET\r\n", "use GET");
    int wait_s = 0;
    if (longpoll_param(ri, &wait_s) != 0)
        return gateway_send_error(conn, 400, "invalid_request", "",
                                  "wait: expected whole seconds 0..%d", LONGPOLL_MAX_S);
    if (!vc_id_valid(id, strlen(id)))
        return gateway_send_error(conn, 404, "not_found", "", "no such detection");
    vc_result_t res;
    char err[512] = "";
    int shed = 0;
    int rc = load(gw, tenant, id, wait_s, &res, &shed, err, sizeof(err));
    /* Only this tenant's detections are looked up: another tenant's id is simply not there. */
    if (rc == VC_ENOTFOUND)
        return gateway_send_error(conn, 404, "not_found", "", "no such detection");
    if (rc != 0) {
        VC_WARN("query.store_unavailable", "id=%s error=\"%s\"", id, err);
        return gateway_send_error(conn, 503, "store_unavailable", "Retry-After: 1\r\n",
                                  "result stores unavailable, retry later");
    }
    json_t *o = vc_json_result(&res);
    if (o == NULL)
        return gateway_send_error(conn, 500, "internal_error", "", "out of memory");
    /* Not held and not final: the client's next poll should not come at once. */
    int final = res.status == VC_STATUS_COMPLETED || res.status == VC_STATUS_FAILED;
    rc = gateway_send_json(conn, 200, shed && !final ? "Retry-After: 1\r\n" : "", o);
    json_decref(o);
    return rc;
}

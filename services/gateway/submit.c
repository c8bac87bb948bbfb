/* POST /v1/detections, POST /v1/detections/batch and the original API's aliases
 * POST /detect and POST /detect/batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "access.h"
#include "gateway.h"
#include "intake.h"
#include "longpoll.h"
#include "vc/admit.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/wire_body.h"
#include "vc/wire_json.h"
#include "waiters.h"

#define RETRY_AFTER "Retry-After: 1\r\n"

/* A request body in either wire format. */
typedef struct {
    char *raw;              /* the bytes read; msgpack items borrow media from it */
    size_t len;
    vc_json_body_t *json;   /* application/json (media decoded straight from raw) */
    vc_msgpack_body_t *mp;  /* application/msgpack */
} body_t;

static int ctype_is(const char *ctype, const char *want)
{
    size_t n = strcspn(ctype, "; "), wn = strlen(want);
    return n == wn && strncasecmp(ctype, want, wn) == 0;
}

static void body_free(body_t *b)
{
    vc_json_body_close(b->json);
    vc_msgpack_body_close(b->mp);
    free(b->raw);
}

/* Parses b->raw as the content type says, answering errors itself (returns 0 when parsed). */
static int body_parse(struct mg_connection *conn, body_t *b, int msgpack, int *status)
{
    if (msgpack) {
        vc_api_error_t e;
        if (vc_msgpack_body_open((const uint8_t *)b->raw, b->len, &b->mp, &e) == 0)
            return 0;
        *status = gateway_send_error(conn, e.status ? e.status : 500,
                                     e.code ? e.code : "internal_error", "", "%s", e.message);
        return -1;
    }
    vc_api_error_t e;
    if (vc_json_body_open(b->raw, b->len, &b->json, &e) == 0)
        return 0;
    *status = gateway_send_error(conn, e.status ? e.status : 500,
                                 e.code ? e.code : "internal_error", "", "%s", e.message);
    return -1;
}

/* Reads and parses the body, answering errors itself. Returns 0 when *b is ready. */
static int read_body(struct mg_connection *conn, gateway_t *gw, body_t *b, int *status)
{
    memset(b, 0, sizeof(*b));
    const char *ctype = mg_get_header(conn, "Content-Type");
    /* curl -d sends form-urlencoded; a body without a type is taken as JSON. */
    int msgpack = ctype != NULL && (ctype_is(ctype, "application/msgpack") ||
                                    ctype_is(ctype, "application/x-msgpack"));
    if (ctype != NULL && !msgpack && !ctype_is(ctype, "application/json") &&
        !ctype_is(ctype, "application/x-www-form-urlencoded")) {
        *status = gateway_send_error(conn, 415, "unsupported_media_type", "",
                                     "Content-Type must be application/json or "
                                     "application/msgpack");
        return -1;
    }
    int rc = gateway_read_body(conn, (size_t)gw->cfg.max_body, &b->raw, &b->len);
    if (rc == VC_ETOOBIG) {
        *status = gateway_send_error(conn, 413, "payload_too_large", "Connection: close\r\n",
                                     "body exceeds MAX_BODY_BYTES (%lld bytes)",
                                     gw->cfg.max_body);
        return -1;
    }
    if (rc == VC_EFORMAT) {
        *status = gateway_send_error(conn, 400, "invalid_json", "",
                                     "nested deeper than 16 levels");
        return -1;
    }
    if (rc == VC_ETIMEDOUT) {
        *status = gateway_send_error(conn, 400, "invalid_body", "Connection: close\r\n",
                                     "request body not received within HTTP_REQUEST_TIMEOUT "
                                     "(%lld ms)",
                                     gw->cfg.request_timeout_ms);
        return -1;
    }
    if (rc == VC_ENOMEM) {
        *status = gateway_send_error(conn, 503, "overloaded", "Retry-After: 1\r\n",
                                     "out of memory, retry later");
        return -1;
    }
    if (rc == VC_EBUSY) { /* a chunked body outgrew the bytes in flight budget */
        vc_counter_add(gw->m_shed, 1);
        *status = gateway_send_error(conn, 503, "overloaded", RETRY_AFTER,
                                     "too many body bytes in flight (MAX_INFLIGHT_BYTES), "
                                     "retry later");
        return -1;
    }
    if (rc != 0) {
        *status = gateway_send_error(conn, 400, "invalid_body", "Connection: close\r\n",
                                     "could not read the request body (shorter than its "
                                     "Content-Length, or broken chunked encoding)");
        return -1;
    }
    if (body_parse(conn, b, msgpack, status) != 0) {
        body_free(b);
        return -1;
    }
    return 0;
}

/* Number of items, or -1 when the shape does not fit the endpoint (single vs batch). */
static long body_items(const body_t *b, int batch)
{
    if (b->mp != NULL) {
        if (vc_msgpack_body_is_batch(b->mp) != batch)
            return -1;
        return (long)vc_msgpack_body_count(b->mp);
    }
    /* API v1: {"requests":[...]}; the original API: a bare array. */
    return vc_json_body_count(b->json, batch);
}

static void body_item(gateway_t *gw, const body_t *b, int batch, size_t i,
                      const request_ctx_t *ctx, intake_item_t *it)
{
    if (b->mp != NULL) {
        intake_parse_msgpack(gw, b->mp, i, ctx->tenant, ctx->trace_id, it);
        return;
    }
    intake_parse_jbody(gw, b->json, batch, i, ctx->tenant, ctx->trace_id, it);
}

/* Answers a single accepted item, waiting for its result first when asked to. */
static int reply_single(struct mg_connection *conn, gateway_t *gw, intake_item_t *it,
                        waiter_t *wt, int wait_s)
{
    const vc_request_t *req = &it->jr.req;
    if (it->status != 202) {
        json_t *o = intake_item_json(it);
        int rc = gateway_send_json(conn, it->status, it->status == 503 ? RETRY_AFTER : "", o);
        json_decref(o);
        return rc;
    }
    if (wt != NULL) {
        vc_result_t res;
        int64_t deadline = vc_clock_mono_ms() + (int64_t)wait_s * 1000;
        if (longpoll_wait(gw, wt, req->tenant, req->id, deadline, &res) == 0) {
            json_t *o = vc_json_result(&res);
            int rc = gateway_send_json(conn, 200, "", o);
            json_decref(o);
            return rc;
        }
    }
    char hdr[160];
    snprintf(hdr, sizeof(hdr), "Location: /v1/detections/%s\r\n", req->id);
    json_t *o = intake_item_json(it);
    int rc = gateway_send_json(conn, 202, hdr, o);
    json_decref(o);
    return rc;
}

static int submit_single(struct mg_connection *conn, gateway_t *gw, const body_t *b,
                         const request_ctx_t *ctx, int wait_s)
{
    if (body_items(b, 0) != 1)
        return gateway_send_error(conn, 400, "invalid_request", "",
                                  "body must be one request object (batches go to "
                                  "/v1/detections/batch)");
    intake_item_t it;
    body_item(gw, b, 0, 0, ctx, &it);
    /* Registered before publishing, so a result that arrives at once is not missed. */
    waiter_t *wt = (wait_s > 0 && it.status == 202)
                       ? waiters_add(gw->waiters, it.jr.req.tenant, it.jr.req.id)
                       : NULL;
    intake_submit(gw, &it, 1);
    int rc = reply_single(conn, gw, &it, wt, wait_s);
    if (wt != NULL)
        waiters_remove(gw->waiters, wt);
    intake_free(&it, 1);
    return rc;
}

/* The batch reply: 202 when every item was accepted, 207 when some were, otherwise the
 * items' common error status (207 if they differ). */
static int batch_status(const intake_item_t *items, size_t n, size_t accepted)
{
    if (accepted == n)
        return 202;
    if (accepted > 0)
        return 207;
    for (size_t i = 1; i < n; i++)
        if (items[i].status != items[0].status)
            return 207;
    return items[0].status;
}

static int reply_batch(struct mg_connection *conn, intake_item_t *items, size_t n)
{
    json_t *arr = json_array();
    size_t accepted = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = intake_item_json(&items[i]);
        json_object_set_new(o, "index", json_integer((json_int_t)i));
        json_object_set_new(o, "http_status", json_integer(items[i].status));
        json_array_append_new(arr, o);
        accepted += items[i].status == 202;
    }
    json_t *body = json_pack("{s:o, s:I, s:I}", "items", arr, "accepted", (json_int_t)accepted,
                             "rejected", (json_int_t)(n - accepted));
    int status = batch_status(items, n, accepted);
    int rc = gateway_send_json(conn, status, status == 503 ? RETRY_AFTER : "", body);
    json_decref(body);
    return rc;
}

static int submit_batch(struct mg_connection *conn, gateway_t *gw, const body_t *b,
                        const request_ctx_t *ctx)
{
    long count = body_items(b, 1);
    if (count < 0)
        return gateway_send_error(conn, 400, "invalid_request", "",
                                  "body must be {\"requests\":[...]} or an array");
    size_t n = (size_t)count;
    if (n == 0)
        return gateway_send_error(conn, 400, "invalid_request", "", "requests: empty batch");
    if (n > (size_t)gw->cfg.max_batch)
        return gateway_send_error(conn, 400, "batch_too_large", "",
                                  "requests: %zu items, MAX_BATCH_SIZE is %lld", n,
                                  gw->cfg.max_batch);
    intake_item_t *items = calloc(n, sizeof(*items));
    if (items == NULL)
        return gateway_send_error(conn, 503, "overloaded", RETRY_AFTER, "out of memory");
    for (size_t i = 0; i < n; i++)
        body_item(gw, b, 1, i, ctx, &items[i]);
    intake_submit(gw, items, n);
    int rc = reply_batch(conn, items, n);
    intake_free(items, n);
    free(items);
    return rc;
}

/* Common entry: method, load shedding, body, then single or batch. */
static int submit(struct mg_connection *conn, gateway_t *gw, const request_ctx_t *ctx,
                  int batch)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (strcmp(ri->request_method, "POST") != 0)
        return gateway_send_error(conn, 405, "method_not_allowed", "Allow: POST\r\n",
                                  "use POST");
    int wait_s = 0;
    if (!batch && longpoll_param(ri, &wait_s) != 0)
        return gateway_send_error(conn, 400, "invalid_request", "",
                                  "wait: expected whole seconds 0..%d", LONGPOLL_MAX_S);
    int status = 0;
    body_t b;
    if (read_body(conn, gw, &b, &status) != 0)
        return status;
    status = batch ? submit_batch(conn, gw, &b, ctx) : submit_single(conn, gw, &b, ctx, wait_s);
    body_free(&b);
    return status;
}

/* Admission: the fixed ceiling (MAX_CONCURRENT_REQUESTS), then the adaptive limit, which
 * follows the latency of accepted submissions (vc/admit.h). A long-poll submission (?wait=)
 * holds its slot while the detection runs, which says nothing about the gateway's own
 * queueing: it counts against the ceiling only. Returns 0 when admitted. */
static int admit(gateway_t *gw, int held)
{
    if (vc_sem_try_acquire(gw->inflight) != 0)
        return VC_EBUSY;
    if (!held && gw->admit != NULL && vc_admit_try(gw->admit) != 0) {
        vc_sem_release(gw->inflight);
        return VC_EBUSY;
    }
    return 0;
}

/* What a finished submission teaches the adaptive limit: answers that did the work (2xx) or
 * waited on a dependency (5xx) carry queueing delay; 4xx refusals and long-polls held for a
 * result (?wait=) do not. */
static void admitted_done(gateway_t *gw, int status, int held, int64_t took_ns)
{
    if (!held && gw->admit != NULL)
        vc_admit_done(gw->admit, took_ns, status < 400 || status >= 500);
    vc_sem_release(gw->inflight);
}

/* Load shedding first (cheapest: bytes, then count), then access control, then the work.
 * A shed request's body is never read: its answer closes the connection (respond.c). */
static int guarded(struct mg_connection *conn, gateway_t *gw, int batch)
{
    /* A malformed ?wait= is refused by submit() with 400; here it only counts as no wait. */
    int wait_s = 0;
    int held = !batch && longpoll_param(mg_get_request_info(conn), &wait_s) == 0 && wait_s > 0;
    if (gateway_admit_bytes(conn) != 0) {
        vc_counter_add(gw->m_shed, 1);
        return gateway_send_error(conn, 503, "overloaded", RETRY_AFTER,
                                  "too many body bytes in flight (MAX_INFLIGHT_BYTES), retry "
                                  "later");
    }
    if (admit(gw, held) != 0) {
        gateway_release_bytes(gw);
        vc_counter_add(gw->m_shed, 1);
        return gateway_send_error(conn, 503, "overloaded", RETRY_AFTER,
                                  "too many concurrent requests, retry later");
    }
    int64_t t0 = vc_clock_mono_ns();
    request_ctx_t ctx;
    int rc = gateway_access(conn, gw, &ctx);
    if (rc == 0)
        rc = submit(conn, gw, &ctx, batch);
    gateway_access_done(conn);
    int64_t took = vc_clock_mono_ns() - t0;
    vc_histogram_observe(gw->m_submit_latency, (double)took / 1e9);
    admitted_done(gw, rc, held, took);
    gateway_release_bytes(gw);
    return rc;
}

int gateway_handle_submit(struct mg_connection *conn, void *gw)
{
    return guarded(conn, gw, 0);
}

int gateway_handle_batch(struct mg_connection *conn, void *gw)
{
    return guarded(conn, gw, 1);
}

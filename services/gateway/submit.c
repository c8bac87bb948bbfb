/* POST /v1/detections: validate, record a queued placeholder, publish to Kafka, and answer
 * 202 only once Kafka has acknowledged the request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/id.h"
#include "vc/results.h"
#include "vc/wire.h"
#include "vc/wire_json.h"

#define RETRY_AFTER "Retry-After: 1\r\n"

static int send_accepted(struct mg_connection *conn, const char *id, vc_status_t status)
{
    char self[128], hdr[192];
    snprintf(self, sizeof(self), "/v1/detections/%s", id);
    snprintf(hdr, sizeof(hdr), "Location: %s\r\n", self);
    json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "detection_id", id, "status",
                          vc_status_name(status), "links", "self", self);
    int rc = gateway_send_json(conn, 202, hdr, o);
    json_decref(o);
    return rc;
}

/* Stores the queued placeholder (SET NX). VC_EEXIST means the id was submitted before. */
static int put_placeholder(gateway_t *gw, const vc_request_t *req, char *err, size_t errlen)
{
    vc_result_t res;
    memset(&res, 0, sizeof(res));
    res.v = VC_WIRE_VERSION;
    memcpy(res.id, req->id, sizeof(res.id));
    memcpy(res.tenant, req->tenant, sizeof(res.tenant));
    res.type = req->type;
    res.status = VC_STATUS_QUEUED;
    res.submitted_at_ms = req->submitted_at_ms;
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = vc_wire_result_encode(&res, &blob, &len);
    if (rc != 0)
        return rc;
    rc = vc_results_put(gw->redis, req->id, blob, len, gw->cfg.result_ttl_s, 1, 0, err, errlen);
    free(blob);
    return rc;
}

static int publish(gateway_t *gw, const vc_request_t *req, char *err, size_t errlen)
{
    uint8_t *msg = NULL;
    size_t len = 0;
    int rc = vc_wire_request_encode(req, &msg, &len);
    if (rc != 0)
        return vc_err(err, errlen, rc, "encode: %s", vc_strerror(rc));
    static const char ctype[] = "application/msgpack", schema[] = "DetectionRequest/1";
    vc_mq_header_t hdrs[] = {{"content-type", ctype, sizeof(ctype) - 1},
                             {"schema", schema, sizeof(schema) - 1},
                             {"trace-id", req->id, strlen(req->id)}};
    rc = vc_producer_send(gw->producer, gw->cfg.kafka.topic_requests, req->id, strlen(req->id),
                          msg, len, hdrs, 3, err, errlen);
    free(msg);
    return rc;
}

/* Takes a parsed request through placeholder + publish and answers. */
static int enqueue(struct mg_connection *conn, gateway_t *gw, vc_request_t *req)
{
    char err[512] = "";
    int rc = put_placeholder(gw, req, err, sizeof(err));
    if (rc == VC_EEXIST) /* idempotent re-submission: never a second detection */
        return send_accepted(conn, req->id, VC_STATUS_QUEUED);
    if (rc != 0) {
        VC_WARN("submit.store_unavailable", "id=%s error=\"%s\"", req->id, err);
        return gateway_send_error(conn, 503, "store_unavailable", RETRY_AFTER,
                                  "result store unavailable, retry later");
    }
    rc = publish(gw, req, err, sizeof(err));
    if (rc != 0) {
        char ignored[128];
        vc_results_del(gw->redis, req->id, ignored, sizeof(ignored));
        VC_WARN("submit.queue_unavailable", "id=%s error=\"%s\"", req->id, err);
        if (rc == VC_ETOOBIG)
            return gateway_send_error(conn, 413, "payload_too_large", "",
                                      "request exceeds the queue's message size limit");
        return gateway_send_error(conn, 503, "queue_unavailable", RETRY_AFTER,
                                  "detection queue unavailable, retry later");
    }
    return send_accepted(conn, req->id, VC_STATUS_QUEUED);
}

static int parse_and_enqueue(struct mg_connection *conn, gateway_t *gw, const char *body,
                             size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return gateway_send_error(conn, 400, "invalid_json", "", "line %d, column %d: %s",
                                  jerr.line, jerr.column, jerr.text);
    vc_json_request_t jr;
    vc_api_error_t e;
    int rc;
    if (vc_json_request_parse(root, gw->max_media, (size_t)gw->cfg.max_metadata, &jr, &e) != 0) {
        rc = gateway_send_error(conn, e.status, e.code, "", "%s", e.message);
        json_decref(root);
        return rc;
    }
    json_decref(root);
    if (jr.req.id[0] == '\0' && vc_id_new(jr.req.id, sizeof(jr.req.id)) != 0) {
        vc_json_request_free(&jr);
        return gateway_send_error(conn, 500, "internal", "", "cannot generate an id");
    }
    snprintf(jr.req.tenant, sizeof(jr.req.tenant), "%s", gw->cfg.tenant);
    jr.req.v = VC_WIRE_VERSION;
    jr.req.submitted_at_ms = vc_clock_wall_ms();
    rc = enqueue(conn, gw, &jr.req);
    vc_json_request_free(&jr);
    return rc;
}

static int is_json(const char *ctype)
{
    if (ctype == NULL)
        return 1; /* curl -d without a type: treat as JSON, the only format so far */
    size_t n = strcspn(ctype, ";");
    return (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
           (n == 33 && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0);
}

static int submit(struct mg_connection *conn, gateway_t *gw)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (strcmp(ri->request_method, "POST") != 0)
        return gateway_send_error(conn, 405, "method_not_allowed", "Allow: POST\r\n",
                                  "use POST");
    if (!is_json(mg_get_header(conn, "Content-Type")))
        return gateway_send_error(conn, 415, "unsupported_media_type", "",
                                  "Content-Type must be application/json");
    char *body = NULL;
    size_t len = 0;
    int rc = gateway_read_body(conn, (size_t)gw->cfg.max_body, &body, &len);
    if (rc == VC_ETOOBIG)
        return gateway_send_error(conn, 413, "payload_too_large", "Connection: close\r\n",
                                  "body exceeds MAX_BODY_BYTES (%lld bytes)", gw->cfg.max_body);
    if (rc != 0)
        return gateway_send_error(conn, 400, "invalid_body", "Connection: close\r\n",
                                  "could not read the request body");
    rc = parse_and_enqueue(conn, gw, body, len);
    free(body);
    return rc;
}

int gateway_handle_submit(struct mg_connection *conn, void *arg)
{
    gateway_t *gw = arg;
    if (vc_sem_try_acquire(gw->inflight) != 0)
        return gateway_send_error(conn, 503, "overloaded", RETRY_AFTER,
                                  "too many concurrent requests, retry later");
    int64_t t0 = vc_clock_mono_ns();
    int rc = submit(conn, gw);
    vc_histogram_observe(gw->m_submit_latency, (double)(vc_clock_mono_ns() - t0) / 1e9);
    vc_sem_release(gw->inflight);
    return rc;
}

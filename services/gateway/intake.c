#include "intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "media_check.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/id.h"
#include "vc/results.h"
#include "vc/wire.h"

void intake_item_fail(intake_item_t *it, int status, const char *code, const char *msg)
{
    it->status = status;
    it->code = code;
    snprintf(it->message, sizeof(it->message), "%s", msg);
}

/* Assigns id, tenant and submission time to a freshly parsed item. */
static void finalize(intake_item_t *it, const char *tenant, const char *trace_id)
{
    it->parsed = 1;
    vc_request_t *req = &it->jr.req;
    it->client_id = req->id[0] != '\0';
    if (!it->client_id && vc_id_new(req->id, sizeof(req->id)) != 0) {
        intake_item_fail(it, 500, "internal_error", "cannot generate an id");
        return;
    }
    snprintf(req->tenant, sizeof(req->tenant), "%s", tenant);
    snprintf(req->trace_id, sizeof(req->trace_id), "%s", trace_id);
    req->v = VC_WIRE_VERSION;
    req->submitted_at_ms = vc_clock_wall_ms();
    it->status = 202;
}

/* A request parsed by libs/wire: its media checks, then id, tenant and time. */
static void accept_parsed(gateway_t *gw, intake_item_t *it, const char *tenant,
                          const char *trace_id)
{
    char msg[sizeof(it->message)];
    it->parsed = 1;
    int st = gateway_media_check(gw, &it->jr.req, msg, sizeof(msg));
    if (st != 0)
        intake_item_fail(it, st, st == 413 ? "payload_too_large" : "invalid_request", msg);
    else
        finalize(it, tenant, trace_id);
}

void intake_parse_json(gateway_t *gw, json_t *obj, const char *tenant, const char *trace_id,
                       intake_item_t *it)
{
    vc_api_error_t e;
    memset(it, 0, sizeof(*it));
    if (vc_json_request_parse(obj, gw->max_media, (size_t)gw->cfg.max_metadata, &it->jr, &e) != 0)
        intake_item_fail(it, e.status, e.code, e.message);
    else
        accept_parsed(gw, it, tenant, trace_id);
}

void intake_parse_jbody(gateway_t *gw, const vc_json_body_t *body, int batch, size_t i,
                        const char *tenant, const char *trace_id, intake_item_t *it)
{
    vc_api_error_t e;
    memset(it, 0, sizeof(*it));
    if (vc_json_body_item(body, batch, i, gw->max_media, (size_t)gw->cfg.max_metadata, &it->jr,
                          &e) != 0)
        intake_item_fail(it, e.status, e.code, e.message);
    else
        accept_parsed(gw, it, tenant, trace_id);
}

void intake_parse_msgpack(gateway_t *gw, const vc_msgpack_body_t *body, size_t i,
                          const char *tenant, const char *trace_id, intake_item_t *it)
{
    vc_api_error_t e;
    memset(it, 0, sizeof(*it));
    if (vc_msgpack_body_item(body, i, gw->max_media, (size_t)gw->cfg.max_metadata, &it->jr, &e) !=
        0)
        intake_item_fail(it, e.status, e.code, e.message);
    else
        accept_parsed(gw, it, tenant, trace_id);
}

/* The queued DetectionResult that stands for an accepted request until a detector writes. */
static int make_placeholder(intake_item_t *it)
{
    const vc_request_t *req = &it->jr.req;
    vc_result_t res;
    memset(&res, 0, sizeof(res));
    res.v = VC_WIRE_VERSION;
    memcpy(res.id, req->id, sizeof(res.id));
    memcpy(res.tenant, req->tenant, sizeof(res.tenant));
    memcpy(res.trace_id, req->trace_id, sizeof(res.trace_id));
    res.type = req->type;
    res.status = VC_STATUS_QUEUED;
    res.submitted_at_ms = req->submitted_at_ms;
    return vc_wire_result_encode(&res, &it->placeholder, &it->placeholder_len);
}

/* The Redis placeholder (the fast path's "queued"), behind the Redis breaker. SET NX: a
 * re-submission never replaces what a detector wrote. Best effort: Kafka's acknowledgement is
 * what counts, and idempotency is PostgreSQL's (claim.c). */
static void put_placeholder(gateway_t *gw, intake_item_t *it)
{
    const vc_request_t *req = &it->jr.req;
    char err[256] = "";
    int rc = VC_EUNAVAIL;
    if (vc_breaker_allow(gw->redis_breaker) == 0) {
        rc = vc_results_put(gw->redis, req->tenant, req->id, it->placeholder,
                            it->placeholder_len, gw->cfg.result_ttl_s, 1, 0, err, sizeof(err));
        vc_breaker_record(gw->redis_breaker, rc == 0 || rc == VC_EEXIST);
    } else {
        snprintf(err, sizeof(err), "redis breaker open");
    }
    it->placed = rc == 0;
    if (rc != 0 && rc != VC_EEXIST)
        VC_WARN("intake.placeholder_skipped", "tenant=%s id=%s trace=%s error=\"%s\"",
                req->tenant, req->id, req->trace_id, err);
}

/* Placeholder + encoding for one item to publish; leaves it->msg set. */
static void prepare(gateway_t *gw, intake_item_t *it)
{
    put_placeholder(gw, it);
    if (vc_wire_request_encode(&it->jr.req, &it->msg, &it->msglen) != 0)
        intake_item_fail(it, 500, "internal_error", "cannot encode the request");
}

/* Records one item's delivery report: a failure undoes this submission's own placeholder and
 * becomes its answer (claim.c releases its claim). */
static void settle(gateway_t *gw, intake_item_t *it, const vc_mq_msg_t *m)
{
    free(it->msg);
    it->msg = NULL;
    it->acked = m->rc == 0;
    if (m->rc == 0)
        return;
    char err[128];
    const vc_request_t *req = &it->jr.req;
    if (it->placed && it->claim_state != VC_CLAIM_PENDING)
        vc_results_del(gw->redis, req->tenant, req->id, err, sizeof(err));
    VC_WARN("intake.queue_unavailable", "tenant=%s id=%s trace=%s error=\"%s\"", req->tenant,
            req->id, req->trace_id, m->err);
    if (m->rc == VC_ETOOBIG)
        intake_item_fail(it, 413, "payload_too_large", "request exceeds the queue's message size limit");
    else
        intake_item_fail(it, 503, "queue_unavailable", "detection queue unavailable, retry later");
}

/* The Kafka message of item it (headers in hdrs, which must outlive the send). */
static vc_mq_msg_t kafka_message(gateway_t *gw, intake_item_t *it, vc_mq_header_t hdrs[4])
{
    static const char ctype[] = "application/msgpack", schema[] = "DetectionRequest/1";
    const vc_request_t *req = &it->jr.req;
    /* The key is the detection's reference, so one detection stays on one partition and
     * the same id of two tenants are two keys. */
    vc_results_ref(req->tenant, req->id, it->key, sizeof(it->key));
    const char *trace = req->trace_id[0] != '\0' ? req->trace_id : req->id;
    hdrs[0] = (vc_mq_header_t){"content-type", ctype, sizeof(ctype) - 1};
    hdrs[1] = (vc_mq_header_t){"schema", schema, sizeof(schema) - 1};
    hdrs[2] = (vc_mq_header_t){"trace-id", trace, strlen(trace)};
    hdrs[3] = (vc_mq_header_t){"tenant", req->tenant, strlen(req->tenant)};
    return (vc_mq_msg_t){.topic = gw->cfg.kafka.topic_requests, .key = it->key,
                         .keylen = strlen(it->key), .value = it->msg, .len = it->msglen,
                         .hdrs = hdrs, .nhdrs = 4};
}

/* Publishes every item marked for publishing in one round of delivery reports. */
static void publish(gateway_t *gw, intake_item_t *items, size_t n)
{
    vc_mq_msg_t *msgs = calloc(n, sizeof(*msgs));
    vc_mq_header_t(*hdrs)[4] = calloc(n, sizeof(*hdrs));
    size_t *owner = calloc(n, sizeof(*owner));
    if (msgs == NULL || hdrs == NULL || owner == NULL) {
        for (size_t i = 0; i < n; i++)
            if (items[i].status == 202 && items[i].publish)
                intake_item_fail(&items[i], 503, "overloaded", "out of memory, retry later");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        intake_item_t *it = &items[i];
        if (it->status != 202 || !it->publish)
            continue;
        prepare(gw, it);
        if (it->msg == NULL)
            continue;
        msgs[k] = kafka_message(gw, it, hdrs[k]);
        owner[k++] = i;
    }
    if (k > 0)
        vc_producer_send_all(gw->producer, msgs, k);
    for (size_t j = 0; j < k; j++)
        settle(gw, &items[owner[j]], &msgs[j]);
done:
    free(owner);
    free(hdrs);
    free(msgs);
}

void intake_submit(gateway_t *gw, intake_item_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        intake_item_t *it = &items[i];
        if (it->status != 202)
            continue;
        it->publish = 1;
        if (make_placeholder(it) != 0)
            intake_item_fail(it, 500, "internal_error", "cannot encode the placeholder");
    }
    gateway_claims_take(gw, items, n); /* client-supplied ids: idempotency */
    publish(gw, items, n);
    gateway_claims_settle(gw, items, n);
}

json_t *intake_item_json(const intake_item_t *it)
{
    if (it->status >= 400)
        return json_pack("{s:{s:s, s:s}}", "error", "code", it->code, "message", it->message);
    char self[128];
    snprintf(self, sizeof(self), "/v1/detections/%s", it->jr.req.id);
    json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "detection_id", it->jr.req.id, "status",
                          "queued", "links", "self", self);
    if (o != NULL && it->duplicate)
        json_object_set_new(o, "duplicate", json_true());
    return o;
}

void intake_free(intake_item_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].msg);
        free(items[i].placeholder);
        if (items[i].parsed)
            vc_json_request_free(&items[i].jr);
    }
}

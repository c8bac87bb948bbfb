#include "intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/id.h"
#include "vc/results.h"
#include "vc/wire.h"

static void item_fail(intake_item_t *it, int status, const char *code, const char *msg)
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
    if (req->id[0] == '\0' && vc_id_new(req->id, sizeof(req->id)) != 0) {
        item_fail(it, 500, "internal_error", "cannot generate an id");
        return;
    }
    snprintf(req->tenant, sizeof(req->tenant), "%s", tenant);
    snprintf(req->trace_id, sizeof(req->trace_id), "%s", trace_id);
    req->v = VC_WIRE_VERSION;
    req->submitted_at_ms = vc_clock_wall_ms();
    it->status = 202;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Checks a WAV's fmt chunk against the detectors' limits; 0 or the status to refuse with. */
static int wav_fmt_check(const gateway_t *gw, const uint8_t *ck, uint32_t size, char *msg,
                         size_t cap)
{
    if (size < 16) {
        snprintf(msg, cap, "audio_data: WAV fmt chunk of %u bytes (at least 16)", size);
        return 400;
    }
    unsigned tag = le16(ck + 8), channels = le16(ck + 10), block = le16(ck + 20);
    uint32_t rate = le32(ck + 12), byte_rate = le32(ck + 16);
    if (channels == 0 || (long long)channels > gw->cfg.max_audio_channels) {
        snprintf(msg, cap, "audio_data: WAV declares %u channels (1..%lld, MAX_AUDIO_CHANNELS)",
                 channels, gw->cfg.max_audio_channels);
        return channels == 0 ? 400 : 413;
    }
    if (rate < 8000 || rate > 192000) {
        snprintf(msg, cap, "audio_data: WAV sample rate %u Hz outside 8000..192000", rate);
        return 400;
    }
    /* PCM, IEEE float and extensible: the byte rate follows from rate and frame size. */
    int linear = tag == 1 || tag == 3 || tag == 0xfffe;
    if (byte_rate == 0 || block == 0 || (linear && byte_rate != (uint64_t)rate * block)) {
        snprintf(msg, cap,
                 "audio_data: WAV byte rate %u disagrees with %u Hz x %u-byte frames",
                 byte_rate, rate, block);
        return 400;
    }
    return 0;
}

/* Checks what a WAV header declares against the bytes present and the detectors' limits, so a
 * claim of gigabytes or hours is refused here, before anything is sized from it, instead of
 * failing later in a detector. Returns 0, or the status to refuse with (400 malformed, 413
 * over a limit) with msg set. */
static int wav_check(const gateway_t *gw, const uint8_t *d, size_t len, char *msg, size_t cap)
{
    if (len < 12 || (uint64_t)le32(d + 4) + 8 > len) {
        snprintf(msg, cap, "audio_data: RIFF header declares %llu bytes, %zu present",
                 len < 12 ? 0ULL : (unsigned long long)le32(d + 4) + 8, len);
        return 400;
    }
    uint32_t byte_rate = 0;
    size_t pos = 12;
    while (pos + 8 <= len) {
        const uint8_t *ck = d + pos;
        uint32_t size = le32(ck + 4);
        size_t avail = len - pos - 8;
        if (size > avail) {
            char id[5];
            for (int i = 0; i < 4; i++)
                id[i] = ck[i] >= 0x20 && ck[i] < 0x7f ? (char)ck[i] : '?';
            id[4] = '\0';
            snprintf(msg, cap, "audio_data: WAV %s chunk declares %u bytes, %zu present", id,
                     size, avail);
            return 400;
        }
        if (memcmp(ck, "fmt ", 4) == 0) {
            int st = wav_fmt_check(gw, ck, size, msg, cap);
            if (st != 0)
                return st;
            byte_rate = le32(ck + 16);
        } else if (memcmp(ck, "data", 4) == 0) {
            if (byte_rate == 0) {
                snprintf(msg, cap, "audio_data: WAV data chunk before a fmt chunk");
                return 400;
            }
            double secs = (double)size / byte_rate;
            if (secs > (double)gw->cfg.max_audio_seconds) {
                snprintf(msg, cap, "audio_data: WAV declares %.1f s of audio, limit %lld s "
                         "(MAX_AUDIO_SECONDS)", secs, gw->cfg.max_audio_seconds);
                return 413;
            }
            return 0;
        }
        pos += 8 + (size_t)size + (size & 1u);
    }
    snprintf(msg, cap, "audio_data: WAV without a data chunk");
    return 400;
}

/* Media checks beyond the format sniffing of libs/wire: declared sizes and durations. */
static int media_check(const gateway_t *gw, const vc_request_t *req, char *msg, size_t cap)
{
    const vc_media_t *a = &req->audio;
    if (!req->has_audio)
        return 0;
    if (strcmp(a->format, "wav") == 0)
        return wav_check(gw, a->data, a->len, msg, cap);
    if (strcmp(a->format, "pcm16") == 0 && a->sample_rate > 0 &&
        (double)a->len / 2.0 / a->sample_rate > (double)gw->cfg.max_audio_seconds) {
        snprintf(msg, cap, "audio_data: %.1f s of pcm16, limit %lld s (MAX_AUDIO_SECONDS)",
                 (double)a->len / 2.0 / a->sample_rate, gw->cfg.max_audio_seconds);
        return 413;
    }
    return 0;
}

/* A request parsed by libs/wire: its media checks, then id, tenant and time. */
static void accept_parsed(gateway_t *gw, intake_item_t *it, const char *tenant,
                          const char *trace_id)
{
    char msg[sizeof(it->message)];
    it->parsed = 1;
    int st = media_check(gw, &it->jr.req, msg, sizeof(msg));
    if (st != 0)
        item_fail(it, st, st == 413 ? "payload_too_large" : "invalid_request", msg);
    else
        finalize(it, tenant, trace_id);
}

void intake_parse_json(gateway_t *gw, json_t *obj, const char *tenant, const char *trace_id,
                       intake_item_t *it)
{
    vc_api_error_t e;
    memset(it, 0, sizeof(*it));
    if (vc_json_request_parse(obj, gw->max_media, (size_t)gw->cfg.max_metadata, &it->jr, &e) != 0)
        item_fail(it, e.status, e.code, e.message);
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
        item_fail(it, e.status, e.code, e.message);
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
        item_fail(it, e.status, e.code, e.message);
    else
        accept_parsed(gw, it, tenant, trace_id);
}

/* SET NX of a queued DetectionResult. VC_EEXIST means the id was submitted before. */
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
        return vc_err(err, errlen, rc, "encode placeholder: %s", vc_strerror(rc));
    rc = vc_results_put(gw->redis, req->id, blob, len, gw->cfg.result_ttl_s, 1, 0, err, errlen);
    free(blob);
    return rc;
}

/* The placeholder write behind the Redis breaker: while Redis is known to be down no request
 * waits for it. Returns put_placeholder's result, or VC_EUNAVAIL when the breaker is open. */
static int guarded_placeholder(gateway_t *gw, const vc_request_t *req, char *err, size_t errlen)
{
    if (vc_breaker_allow(gw->redis_breaker) != 0)
        return vc_err(err, errlen, VC_EUNAVAIL, "redis breaker open");
    int rc = put_placeholder(gw, req, err, errlen);
    vc_breaker_record(gw->redis_breaker, rc == 0 || rc == VC_EEXIST);
    return rc;
}

/* Placeholder + encoding for one item; leaves it->msg set when it should be published. */
static void prepare(gateway_t *gw, intake_item_t *it)
{
    char err[256] = "";
    int rc = guarded_placeholder(gw, &it->jr.req, err, sizeof(err));
    if (rc == VC_EEXIST) {
        it->duplicate = 1; /* idempotent re-submission: never a second detection */
        return;
    }
    if (rc != 0) {
        /* Redis down: accept anyway (Kafka's acknowledgement is what counts). The duplicate
         * check is skipped for this item; a replayed id still yields one PostgreSQL row. */
        VC_WARN("intake.placeholder_skipped", "id=%s trace=%s error=\"%s\"", it->jr.req.id,
                it->jr.req.trace_id, err);
        it->unchecked = 1;
    }
    rc = vc_wire_request_encode(&it->jr.req, &it->msg, &it->msglen);
    if (rc != 0) {
        if (!it->unchecked)
            vc_results_del(gw->redis, it->jr.req.id, err, sizeof(err));
        item_fail(it, 500, "internal_error", "cannot encode the request");
    }
}

static void settle(gateway_t *gw, intake_item_t *it, const vc_mq_msg_t *m)
{
    free(it->msg);
    it->msg = NULL;
    if (m->rc == 0)
        return;
    char err[128];
    if (!it->unchecked)
        vc_results_del(gw->redis, it->jr.req.id, err, sizeof(err));
    VC_WARN("intake.queue_unavailable", "id=%s trace=%s error=\"%s\"", it->jr.req.id,
            it->jr.req.trace_id, m->err);
    if (m->rc == VC_ETOOBIG)
        item_fail(it, 413, "payload_too_large", "request exceeds the queue's message size limit");
    else
        item_fail(it, 503, "queue_unavailable", "detection queue unavailable, retry later");
}

void intake_submit(gateway_t *gw, intake_item_t *items, size_t n)
{
    static const char ctype[] = "application/msgpack", schema[] = "DetectionRequest/1";
    vc_mq_msg_t *msgs = calloc(n, sizeof(*msgs));
    vc_mq_header_t(*hdrs)[3] = calloc(n, sizeof(*hdrs));
    size_t *owner = calloc(n, sizeof(*owner));
    if (msgs == NULL || hdrs == NULL || owner == NULL) {
        for (size_t i = 0; i < n; i++)
            if (items[i].status == 202)
                item_fail(&items[i], 503, "overloaded", "out of memory, retry later");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        intake_item_t *it = &items[i];
        if (it->status != 202)
            continue;
        prepare(gw, it);
        if (it->msg == NULL)
            continue;
        const char *id = it->jr.req.id;
        hdrs[k][0] = (vc_mq_header_t){"content-type", ctype, sizeof(ctype) - 1};
        hdrs[k][1] = (vc_mq_header_t){"schema", schema, sizeof(schema) - 1};
        const char *trace = it->jr.req.trace_id[0] != '\0' ? it->jr.req.trace_id : id;
        hdrs[k][2] = (vc_mq_header_t){"trace-id", trace, strlen(trace)};
        msgs[k] = (vc_mq_msg_t){.topic = gw->cfg.kafka.topic_requests, .key = id,
                                .keylen = strlen(id), .value = it->msg, .len = it->msglen,
                                .hdrs = hdrs[k], .nhdrs = 3};
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
        if (items[i].parsed)
            vc_json_request_free(&items[i].jr);
    }
}

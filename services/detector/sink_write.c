/* The result writer's three steps, in order: PostgreSQL (the durable record and the arbiter
 * of which result is final), Redis (fast path + notification) and the results topic. Errors
 * are classified: a transient one (a store down, a timeout) is retried with jittered backoff
 * for as long as it lasts; a permanent one (VC_EPERM, VC_ETOOBIG: a constraint, a permission,
 * a size limit) gets DETECTOR_PERMANENT_ATTEMPTS tries and then stops mattering to the rest of
 * the batch. */
#include <stdio.h>
#include <string.h>

#include "sink_internal.h"
#include "vc/error.h"

static int permanent(int rc)
{
    return rc == VC_EPERM || rc == VC_ETOOBIG;
}

const uint8_t *sink_item_stored(const sink_item_t *it, size_t *len)
{
    if (it->row.won) {
        *len = it->len;
        return it->blob;
    }
    *len = it->row.stored_len;
    return it->row.stored;
}

static void mark_dead(detector_t *d, sink_item_t *it, const char *stage, const char *err,
                      int attempts)
{
    it->dead_stage = stage;
    snprintf(it->dead_reason, sizeof(it->dead_reason), "%s/%s: %.250s", it->res.tenant, it->res.id,
             err);
    it->dead_attempts = attempts;
    vc_counter_add(d->m_refused, 1);
}

/* Asks a store's circuit breaker for one call. While it is open an attempt costs nothing (no
 * connect timeout): it fails at once and the writer backs off. */
static int breaker_gate(vc_breaker_t *br, const char *store, char *err, size_t errlen)
{
    if (vc_breaker_allow(br) == 0)
        return 0;
    return vc_err(err, errlen, VC_EUNAVAIL, "%s circuit breaker open", store);
}

/* One PostgreSQL transaction for items[0..n); on success each item's row holds the answer.
 * On VC_EPERM *refused is the index of the refused item. */
static int pg_once(detector_sink_t *s, sink_item_t **items, size_t n, size_t *refused,
                   char *err, size_t errlen)
{
    detector_t *d = s->d;
    for (size_t i = 0; i < n; i++)
        s->rows[i] = (vc_detection_row_t){.res = &items[i]->res, .blob = items[i]->blob,
                                          .len = items[i]->len};
    int rc = breaker_gate(d->pg_breaker, "postgres", err, errlen);
    if (rc != 0)
        return rc;
    PGconn *conn = NULL;
    rc = vc_pg_acquire(d->pg, &conn, err, errlen);
    if (rc == 0) {
        rc = vc_detections_upsert_many(conn, s->rows, n, err, errlen);
        vc_pg_release(d->pg, conn, rc == VC_EIO);
    }
    /* A refused row is the data's fault, not the server's: the breaker stays closed. */
    vc_breaker_record(d->pg_breaker, rc == 0 || rc == VC_EPERM);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            items[i]->row = s->rows[i]; /* takes the stored copy */
        } else if (s->rows[i].refused) {
            *refused = i;
        }
        s->rows[i].stored = NULL;
    }
    if (rc != 0)
        vc_detections_rows_clear(s->rows, n);
    return rc;
}

/* Writes items[0..*n), moving every refused item to s->suspects (counted in *nsus). */
static int pg_batch(detector_sink_t *s, sink_item_t **items, size_t *n, size_t *nsus)
{
    detector_t *d = s->d;
    char err[512];
    for (int attempt = 0;;) {
        size_t bad = 0;
        int rc = pg_once(s, items, *n, &bad, err, sizeof(err));
        if (rc == 0 || *n == 0)
            return 0;
        if (rc == VC_EPERM) {
            VC_WARN("sink.row_refused", "tenant=%s id=%s error=\"%s\"", items[bad]->res.tenant,
                    items[bad]->res.id, err);
            snprintf(items[bad]->dead_reason, sizeof(items[bad]->dead_reason), "%.390s", err);
            s->suspects[(*nsus)++] = items[bad];
            memmove(&items[bad], &items[bad + 1], (*n - bad - 1) * sizeof(*items));
            (*n)--;
            continue; /* the others at once: they are not at fault */
        }
        vc_counter_add(d->m_store_retries, 1);
        VC_WARN("sink.store_retry", "rows=%zu first=%s/%s attempt=%d error=\"%s\"", *n,
                items[0]->res.tenant, items[0]->res.id, attempt, err);
        if (detector_stopping)
            return VC_ECLOSED;
        detector_backoff(attempt++);
    }
}

/* A row refused once, now alone: retried until it passes, is refused permanent_attempts
 * times in all, or stopping. */
static int pg_suspect(detector_sink_t *s, sink_item_t *it)
{
    detector_t *d = s->d;
    char err[512];
    snprintf(err, sizeof(err), "%s", it->dead_reason);
    int refusals = 1;
    for (int attempt = 0; refusals < d->cfg.permanent_attempts; attempt++) {
        if (detector_stopping)
            return VC_ECLOSED;
        detector_backoff(attempt);
        size_t bad = 0;
        int rc = pg_once(s, &it, 1, &bad, err, sizeof(err));
        if (rc == 0)
            return 0;
        if (rc == VC_EPERM)
            refusals++;
        else
            vc_counter_add(d->m_store_retries, 1);
    }
    mark_dead(d, it, "persist", err, refusals);
    return 0;
}

int sink_write_pg(detector_sink_t *s, sink_item_t **items, size_t n)
{
    size_t nsus = 0, live = n;
    memcpy(s->active, items, n * sizeof(*items));
    int rc = pg_batch(s, s->active, &live, &nsus);
    for (size_t i = 0; rc == 0 && i < nsus; i++)
        rc = pg_suspect(s, s->suspects[i]);
    return rc;
}

int sink_write_redis(detector_sink_t *s, sink_item_t **items, size_t n)
{
    detector_t *d = s->d;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const uint8_t *blob = sink_item_stored(items[i], &len);
        if (items[i]->dead_stage == NULL && blob != NULL)
            s->puts[k++] = (vc_results_item_t){items[i]->res.tenant, items[i]->res.id, blob, len};
    }
    char err[512];
    int refusals = 0;
    for (int attempt = 0; k > 0;) {
        int rc = breaker_gate(d->redis_breaker, "redis", err, sizeof(err));
        if (rc == 0) {
            rc = vc_results_put_many(d->redis, s->puts, k, d->cfg.result_ttl_s, err, sizeof(err));
            vc_breaker_record(d->redis_breaker, rc == 0 || rc == VC_EPERM);
        }
        if (rc == 0)
            return 0;
        if (permanent(rc) && ++refusals >= d->cfg.permanent_attempts) {
            /* Durable in PostgreSQL already; the gateway reads it from there. */
            vc_counter_add(d->m_refused, 1);
            VC_ERROR("sink.redis_refused", "rows=%zu first=%s/%s error=\"%s\"", k,
                     s->puts[0].tenant, s->puts[0].id, err);
            return 0;
        }
        vc_counter_add(d->m_store_retries, 1);
        VC_WARN("sink.store_retry", "store=redis rows=%zu attempt=%d error=\"%s\"", k, attempt,
                err);
        if (detector_stopping)
            return VC_ECLOSED;
        detector_backoff(attempt++);
    }
    return 0;
}

/* The results-topic record of it: key "tenant/id", the stored result, and headers that let a
 * consumer deduplicate (every record of one key carries the same result and result-attempt). */
static vc_mq_msg_t result_record(detector_t *d, sink_item_t *it, const uint8_t *blob,
                                 size_t len)
{
    static const char ctype[] = "application/msgpack", schema[] = "DetectionResult/1";
    const vc_result_t *r = &it->res;
    vc_results_ref(r->tenant, r->id, it->key, sizeof(it->key));
    snprintf(it->attempt, sizeof(it->attempt), "%d", it->row.attempt);
    snprintf(it->result_attempt, sizeof(it->result_attempt), "%d", it->row.final_attempt);
    const char *trace = r->trace_id[0] != '\0' ? r->trace_id : r->id;
    it->hdrs[0] = (vc_mq_header_t){"content-type", ctype, sizeof(ctype) - 1};
    it->hdrs[1] = (vc_mq_header_t){"schema", schema, sizeof(schema) - 1};
    it->hdrs[2] = (vc_mq_header_t){"tenant", r->tenant, strlen(r->tenant)};
    it->hdrs[3] = (vc_mq_header_t){"trace-id", trace, strlen(trace)};
    it->hdrs[4] = (vc_mq_header_t){"attempt", it->attempt, strlen(it->attempt)};
    it->hdrs[5] = (vc_mq_header_t){"result-attempt", it->result_attempt,
                                   strlen(it->result_attempt)};
    return (vc_mq_msg_t){.topic = d->cfg.kafka.topic_results, .key = it->key,
                         .keylen = strlen(it->key), .value = blob, .len = len,
                         .hdrs = it->hdrs, .nhdrs = 6};
}

int sink_publish(detector_sink_t *s, sink_item_t **items, size_t n)
{
    detector_t *d = s->d;
    size_t todo = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const uint8_t *blob = sink_item_stored(items[i], &len);
        if (items[i]->dead_stage != NULL || blob == NULL)
            continue;
        items[i]->dead_attempts = 0; /* refusals of this step */
        s->msgs[todo] = result_record(d, items[i], blob, len);
        s->msg_owner[todo++] = items[i];
    }
    for (int attempt = 0; todo > 0;) {
        vc_producer_send_all(d->producer, s->msgs, todo);
        /* Keep what must be tried again: transient failures, and refusals not yet final. */
        size_t k = 0;
        for (size_t i = 0; i < todo; i++) {
            sink_item_t *it = s->msg_owner[i];
            if (s->msgs[i].rc == 0)
                continue;
            if (permanent(s->msgs[i].rc) &&
                ++it->dead_attempts >= d->cfg.permanent_attempts) {
                mark_dead(d, it, "publish", s->msgs[i].err, it->dead_attempts);
                continue;
            }
            VC_WARN("sink.publish_retry", "tenant=%s id=%s attempt=%d error=\"%s\"",
                    it->res.tenant, it->res.id, attempt, s->msgs[i].err);
            s->msgs[k] = s->msgs[i];
            s->msg_owner[k++] = it;
        }
        todo = k;
        if (todo == 0)
            return 0;
        if (detector_stopping)
            return VC_ECLOSED;
        detector_backoff(attempt++);
    }
    return 0;
}

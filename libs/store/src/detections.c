#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/detections.h"
#include "vc/error.h"
#include "vc/pg.h"

/* A result write. The first final result of (tenant, id) wins: once final_attempt is set,
 * a write only counts itself (attempts) and every other column keeps its value, so a replay
 * can never turn `completed` into `failed: deadline exceeded`. RETURNING gives the write its
 * attempt number and, when it lost, the stored result. Timestamps travel as ms since the epoch;
 * 0 means "not set" and becomes NULL. */
#define KEEP_FINAL(col) \
    " " col " = CASE WHEN d.final_attempt IS NULL THEN EXCLUDED." col " ELSE d." col " END,"
static const char UPSERT_SQL[] =
    "INSERT INTO detections AS d (id, tenant, detection_type, status, verdict, score, reason,"
    " detector, model_version, result, submitted_at, started_at, completed_at, trace_id,"
    " attempts, final_attempt)"
    " VALUES ($1, $2, $3, $4, $5, $6::float8, $7, $8, $9, $10,"
    "  to_timestamp($11::float8 / 1000), to_timestamp($12::float8 / 1000),"
    "  to_timestamp($13::float8 / 1000), $14, 1,"
    "  CASE WHEN $4 IN ('completed', 'failed') THEN 1 END)"
    " ON CONFLICT (tenant, id) DO UPDATE SET"
    "  attempts = d.attempts + 1,"
    "  final_attempt = CASE WHEN d.final_attempt IS NULL AND EXCLUDED.final_attempt IS NOT NULL"
    "   THEN d.attempts + 1 ELSE d.final_attempt END,"
    KEEP_FINAL("status") KEEP_FINAL("verdict") KEEP_FINAL("score") KEEP_FINAL("reason")
    KEEP_FINAL("detector") KEEP_FINAL("model_version") KEEP_FINAL("result")
    KEEP_FINAL("started_at") KEEP_FINAL("completed_at")
    "  trace_id = COALESCE(d.trace_id, EXCLUDED.trace_id),"
    "  updated_at = now()"
    " RETURNING CASE WHEN d.final_attempt = d.attempts THEN NULL ELSE d.result END,"
    "  d.attempts, d.final_attempt";
#define UPSERT_PARAMS 14

static const char *ms_param(int64_t ms, char *buf, size_t cap)
{
    if (ms <= 0)
        return NULL;
    snprintf(buf, cap, "%lld", (long long)ms);
    return buf;
}

static const char *nonempty(const char *s)
{
    return (s != NULL && *s != '\0') ? s : NULL;
}

/* The parameters of UPSERT_SQL for one row; numbers are formatted into bufs. */
typedef struct {
    char score[32], sub[24], start[24], done[24];
    const char *vals[UPSERT_PARAMS];
    int lens[UPSERT_PARAMS], fmts[UPSERT_PARAMS];
} upsert_params_t;

static void upsert_params(upsert_params_t *p, const vc_detection_row_t *row)
{
    const vc_result_t *res = row->res;
    memset(p, 0, sizeof(*p));
    snprintf(p->score, sizeof(p->score), "%.17g", res->score);
    const char *vals[UPSERT_PARAMS] = {
        res->id,
        res->tenant,
        vc_type_name(res->type),
        vc_status_name(res->status),
        vc_verdict_name(res->verdict),
        res->has_score ? p->score : NULL,
        nonempty(res->reason),
        nonempty(res->detector),
        nonempty(res->model_version),
        (const char *)row->blob,
        ms_param(res->submitted_at_ms, p->sub, sizeof(p->sub)),
        ms_param(res->started_at_ms, p->start, sizeof(p->start)),
        ms_param(res->completed_at_ms, p->done, sizeof(p->done)),
        nonempty(res->trace_id),
    };
    memcpy(p->vals, vals, sizeof(vals));
    p->lens[9] = (int)row->len;
    p->fmts[9] = 1; /* result: binary bytea */
}

static int int4_value(const PGresult *r, int col)
{
    if (PQgetisnull(r, 0, col) || PQgetlength(r, 0, col) != 4)
        return 0;
    uint32_t v;
    memcpy(&v, PQgetvalue(r, 0, col), 4);
    return (int)ntohl(v);
}

/* Reads one upsert's RETURNING row (binary format) into row. */
static int take_returning(const PGresult *r, vc_detection_row_t *row)
{
    if (PQntuples(r) != 1 || PQnfields(r) != 3)
        return VC_EPROTO;
    row->attempt = int4_value(r, 1);
    row->final_attempt = int4_value(r, 2);
    row->won = row->final_attempt != 0 && row->final_attempt == row->attempt;
    if (row->won || PQgetisnull(r, 0, 0))
        return 0;
    size_t n = (size_t)PQgetlength(r, 0, 0);
    row->stored = malloc(n > 0 ? n : 1);
    if (row->stored == NULL)
        return VC_ENOMEM;
    memcpy(row->stored, PQgetvalue(r, 0, 0), n);
    row->stored_len = n;
    return 0;
}

/* One statement's result of the pipeline: stmt 0 is BEGIN, 1..n the rows, n+1 COMMIT. */
static int take_result(const PGresult *r, size_t stmt, vc_detection_row_t *rows, size_t n,
                       char *err, size_t errlen)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK && stmt >= 1 && stmt <= n) {
        int rc = take_returning(r, &rows[stmt - 1]);
        return rc == 0 ? 0 : vc_err(err, errlen, rc == VC_ENOMEM ? VC_ENOMEM : VC_EIO,
                                    "postgres upsert: unexpected reply");
    }
    if (st == PGRES_COMMAND_OK)
        return 0;
    if (st == PGRES_PIPELINE_ABORTED)
        return vc_err(err, errlen, VC_EIO, "postgres upsert: pipeline aborted");
    int kind = vc_pg_error_kind(r);
    if (kind == VC_EPERM && stmt >= 1 && stmt <= n)
        rows[stmt - 1].refused = 1;
    const vc_result_t *res = stmt >= 1 && stmt <= n ? rows[stmt - 1].res : NULL;
    return vc_err(err, errlen, kind, "postgres upsert %s/%s: %s", res ? res->tenant : "-",
                  res ? res->id : "-", PQresultErrorMessage(r));
}

/* Reads the pipeline's results up to its sync point; the first error wins. */
static int pipeline_results(PGconn *conn, vc_detection_row_t *rows, size_t n, char *err,
                            size_t errlen)
{
    int rc = 0, idle = 0;
    size_t stmt = 0;
    for (;;) {
        PGresult *r = PQgetResult(conn);
        if (r == NULL) {
            /* NULL ends each statement's results; twice in a row means nothing more comes. */
            if (PQstatus(conn) != CONNECTION_OK || ++idle > 1)
                return rc ? rc : vc_err(err, errlen, VC_EIO, "postgres pipeline: %s",
                                        PQerrorMessage(conn));
            stmt++;
            continue;
        }
        idle = 0;
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return rc;
        }
        int trc = take_result(r, stmt, rows, n, rc == 0 ? err : NULL, rc == 0 ? errlen : 0);
        if (rc == 0 || (rc == VC_EIO && trc == VC_EPERM))
            rc = trc; /* a refused row outranks the "aborted" of the statements after it */
        PQclear(r);
    }
}

void vc_detections_rows_clear(vc_detection_row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].stored);
        rows[i].stored = NULL;
        rows[i].stored_len = 0;
        rows[i].won = rows[i].attempt = rows[i].final_attempt = rows[i].refused = 0;
    }
}

int vc_detections_upsert_many(PGconn *conn, vc_detection_row_t *rows, size_t n, char *err,
                              size_t errlen)
{
    if (n == 0)
        return 0;
    vc_detections_rows_clear(rows, n);
    if (PQenterPipelineMode(conn) != 1)
        return vc_err(err, errlen, VC_EIO, "postgres pipeline mode: %s", PQerrorMessage(conn));
    /* BEGIN, the rows, COMMIT and a sync go out together: one round trip, one commit. */
    int sent = PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (size_t i = 0; sent && i < n; i++) {
        upsert_params_t p;
        upsert_params(&p, &rows[i]);
        sent = PQsendQueryParams(conn, UPSERT_SQL, UPSERT_PARAMS, NULL, p.vals, p.lens, p.fmts,
                                 1);
    }
    sent = sent && PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    sent = sent && PQpipelineSync(conn);
    int rc = sent ? pipeline_results(conn, rows, n, err, errlen)
                  : vc_err(err, errlen, VC_EIO, "postgres pipeline send: %s",
                           PQerrorMessage(conn));
    if (PQexitPipelineMode(conn) != 1 && rc == 0)
        rc = vc_err(err, errlen, VC_EIO, "postgres pipeline exit: %s", PQerrorMessage(conn));
    /* An error skips the COMMIT and leaves the transaction open in a failed state. */
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    if (rc != 0) {
        /* Nothing was written: what the rows were told is void, except which one was refused. */
        for (size_t i = 0; i < n; i++) {
            int refused = rows[i].refused;
            vc_detections_rows_clear(&rows[i], 1);
            rows[i].refused = rc == VC_EPERM && refused;
        }
    }
    return rc;
}

int vc_detections_get(PGconn *conn, const char *tenant, const char *id, uint8_t **blob,
                      size_t *len, char *err, size_t errlen)
{
    const char *vals[] = {tenant, id};
    /* Binary result format so the bytea arrives as raw bytes. */
    PGresult *r = PQexecParams(conn,
                               "SELECT result FROM detections WHERE tenant = $1 AND id = $2", 2,
                               NULL, vals, NULL, NULL, 1);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = vc_err(err, errlen, VC_EIO, "postgres get %s/%s: %s", tenant, id,
                    PQresultErrorMessage(r));
    } else if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
        rc = VC_ENOTFOUND;
    } else {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        uint8_t *copy = malloc(n > 0 ? n : 1);
        if (copy == NULL) {
            rc = VC_ENOMEM;
        } else {
            memcpy(copy, PQgetvalue(r, 0, 0), n);
            *blob = copy;
            *len = n;
        }
    }
    PQclear(r);
    return rc;
}

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/detections.h"
#include "vc/error.h"

/* Timestamps travel as ms since the epoch; 0 means "not set" and becomes NULL. */
static const char UPSERT_SQL[] =
    "INSERT INTO detections (id, tenant, detection_type, status, verdict, score, reason,"
    " detector, model_version, result, submitted_at, started_at, completed_at)"
    " VALUES ($1, $2, $3, $4, $5, $6::float8, $7, $8, $9, $10,"
    "  to_timestamp($11::float8 / 1000), to_timestamp($12::float8 / 1000),"
    "  to_timestamp($13::float8 / 1000))"
    " ON CONFLICT (id) DO UPDATE SET"
    "  status = EXCLUDED.status, verdict = EXCLUDED.verdict, score = EXCLUDED.score,"
    "  reason = EXCLUDED.reason, detector = EXCLUDED.detector,"
    "  model_version = EXCLUDED.model_version, result = EXCLUDED.result,"
    "  started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at,"
    "  updated_at = now()"
    " WHERE detections.status NOT IN ('completed', 'failed')"
    "  OR EXCLUDED.status IN ('completed', 'failed')";

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

/* The 13 parameters of UPSERT_SQL for one row; numbers are formatted into bufs. */
typedef struct {
    char score[32], sub[24], start[24], done[24];
    const char *vals[13];
    int lens[13], fmts[13];
} upsert_params_t;

static void upsert_params(upsert_params_t *p, const vc_result_t *res, const uint8_t *blob,
                          size_t len)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->score, sizeof(p->score), "%.17g", res->score);
    const char *vals[13] = {
        res->id,
        res->tenant,
        vc_type_name(res->type),
        vc_status_name(res->status),
        vc_verdict_name(res->verdict),
        res->has_score ? p->score : NULL,
        nonempty(res->reason),
        nonempty(res->detector),
        nonempty(res->model_version),
        (const char *)blob,
        ms_param(res->submitted_at_ms, p->sub, sizeof(p->sub)),
        ms_param(res->started_at_ms, p->start, sizeof(p->start)),
        ms_param(res->completed_at_ms, p->done, sizeof(p->done)),
    };
    memcpy(p->vals, vals, sizeof(vals));
    p->lens[9] = (int)len;
    p->fmts[9] = 1; /* result: binary bytea */
}

int vc_detections_upsert(PGconn *conn, const vc_result_t *res, const uint8_t *blob, size_t len,
                         char *err, size_t errlen)
{
    upsert_params_t p;
    upsert_params(&p, res, blob, len);
    PGresult *r = PQexecParams(conn, UPSERT_SQL, 13, NULL, p.vals, p.lens, p.fmts, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = vc_err(err, errlen, VC_EIO, "postgres upsert %s: %s", res->id,
                    PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

/* Reads the pipeline's results up to its sync point. Returns 0 when every statement
 * succeeded, else VC_EIO with the first error in err. */
static int pipeline_results(PGconn *conn, char *err, size_t errlen)
{
    int rc = 0, idle = 0;
    for (;;) {
        PGresult *r = PQgetResult(conn);
        if (r == NULL) {
            /* NULL ends each statement's results; twice in a row means nothing more comes. */
            if (PQstatus(conn) != CONNECTION_OK || ++idle > 1)
                return rc ? rc : vc_err(err, errlen, VC_EIO, "postgres pipeline: %s",
                                        PQerrorMessage(conn));
            continue;
        }
        idle = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return rc;
        }
        if (rc == 0 && st != PGRES_COMMAND_OK)
            rc = vc_err(err, errlen, VC_EIO, "postgres batch upsert: %s",
                        st == PGRES_PIPELINE_ABORTED ? "pipeline aborted"
                                                     : PQresultErrorMessage(r));
        PQclear(r);
    }
}

int vc_detections_upsert_many(PGconn *conn, const vc_detection_row_t *rows, size_t n,
                              char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    if (n == 1)
        return vc_detections_upsert(conn, rows[0].res, rows[0].blob, rows[0].len, err, errlen);
    if (PQenterPipelineMode(conn) != 1)
        return vc_err(err, errlen, VC_EIO, "postgres pipeline mode: %s", PQerrorMessage(conn));
    /* BEGIN, the rows, COMMIT and a sync go out together: one round trip, one commit. */
    int sent = PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (size_t i = 0; sent && i < n; i++) {
        upsert_params_t p;
        upsert_params(&p, rows[i].res, rows[i].blob, rows[i].len);
        sent = PQsendQueryParams(conn, UPSERT_SQL, 13, NULL, p.vals, p.lens, p.fmts, 0);
    }
    sent = sent && PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    sent = sent && PQpipelineSync(conn);
    int rc = sent ? pipeline_results(conn, err, errlen)
                  : vc_err(err, errlen, VC_EIO, "postgres pipeline send: %s",
                           PQerrorMessage(conn));
    if (PQexitPipelineMode(conn) != 1 && rc == 0)
        rc = vc_err(err, errlen, VC_EIO, "postgres pipeline exit: %s", PQerrorMessage(conn));
    /* An error skips the COMMIT and leaves the transaction open in a failed state. */
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}

int vc_detections_get(PGconn *conn, const char *id, uint8_t **blob, size_t *len, char *err,
                      size_t errlen)
{
    const char *vals[] = {id};
    /* Binary result format so the bytea arrives as raw bytes. */
    PGresult *r = PQexecParams(conn, "SELECT result FROM detections WHERE id = $1", 1, NULL,
                               vals, NULL, NULL, 1);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = vc_err(err, errlen, VC_EIO, "postgres get %s: %s", id, PQresultErrorMessage(r));
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

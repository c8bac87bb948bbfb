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

int vc_detections_upsert(PGconn *conn, const vc_result_t *res, const uint8_t *blob, size_t len,
                         char *err, size_t errlen)
{
    char score[32], sub[24], start[24], done[24];
    snprintf(score, sizeof(score), "%.17g", res->score);
    const char *vals[13] = {
        res->id,
        res->tenant,
        vc_type_name(res->type),
        vc_status_name(res->status),
        vc_verdict_name(res->verdict),
        res->has_score ? score : NULL,
        nonempty(res->reason),
        nonempty(res->detector),
        nonempty(res->model_version),
        (const char *)blob,
        ms_param(res->submitted_at_ms, sub, sizeof(sub)),
        ms_param(res->started_at_ms, start, sizeof(start)),
        ms_param(res->completed_at_ms, done, sizeof(done)),
    };
    int lens[13] = {0};
    int fmts[13] = {0};
    lens[9] = (int)len;
    fmts[9] = 1; /* result: binary bytea */
    PGresult *r = PQexecParams(conn, UPSERT_SQL, 13, NULL, vals, lens, fmts, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = vc_err(err, errlen, VC_EIO, "postgres upsert %s: %s", res->id,
                    PQresultErrorMessage(r));
    PQclear(r);
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

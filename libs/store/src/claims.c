#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vc/claims.h"
#include "vc/error.h"

/* Inserts the claim, or reports the existing row's fingerprint and acknowledgement. A row
 * inserted by a concurrent transaction after this statement's snapshot is invisible to the
 * SELECT: no row comes back, and vc_claims_take asks again. */
static const char TAKE_SQL[] =
    "WITH ins AS ("
    " INSERT INTO detections (tenant, id, detection_type, status, result, submitted_at,"
    "  request_sha256, trace_id)"
    " VALUES ($1, $2, $3, 'queued', $4, to_timestamp($5::float8 / 1000), $6, $7)"
    " ON CONFLICT (tenant, id) DO NOTHING RETURNING 1)"
    " SELECT true, NULL::bytea, false FROM ins"
    " UNION ALL"
    " SELECT false, d.request_sha256, d.acknowledged_at IS NOT NULL FROM detections d"
    "  WHERE d.tenant = $1 AND d.id = $2 AND NOT EXISTS (SELECT 1 FROM ins)";
#define TAKE_PARAMS 7

static const char LOOK_SQL[] =
    "SELECT false, request_sha256, acknowledged_at IS NOT NULL FROM detections"
    " WHERE tenant = $1 AND id = $2";

static const char CONFIRM_SQL[] =
    "INSERT INTO detections AS d (tenant, id, detection_type, status, result, submitted_at,"
    "  request_sha256, trace_id, acknowledged_at)"
    " VALUES ($1, $2, $3, 'queued', $4, to_timestamp($5::float8 / 1000), $6, $7, now())"
    " ON CONFLICT (tenant, id) DO UPDATE SET"
    "  acknowledged_at = COALESCE(d.acknowledged_at, now()),"
    "  request_sha256 = COALESCE(d.request_sha256, EXCLUDED.request_sha256)";

static const char RELEASE_SQL[] =
    "DELETE FROM detections WHERE tenant = $1 AND id = $2 AND acknowledged_at IS NULL"
    " AND attempts = 0";

typedef struct {
    char ms[24];
    const char *vals[TAKE_PARAMS];
    int lens[TAKE_PARAMS], fmts[TAKE_PARAMS];
} claim_params_t;

static void claim_params(claim_params_t *p, const vc_claim_t *c)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->ms, sizeof(p->ms), "%lld", (long long)c->submitted_at_ms);
    const char *vals[TAKE_PARAMS] = {
        c->tenant, c->id, c->type, (const char *)c->placeholder, p->ms,
        (const char *)c->fingerprint,
        c->trace_id != NULL && c->trace_id[0] != '\0' ? c->trace_id : NULL};
    memcpy(p->vals, vals, sizeof(vals));
    p->lens[3] = (int)c->placeholder_len;
    p->fmts[3] = 1;
    p->lens[5] = VC_CLAIM_FINGERPRINT_LEN;
    p->fmts[5] = 1;
}

/* Sets c->state from a (fresh, fingerprint, acknowledged) row in binary format. Returns 1
 * when a row was there, 0 when none. */
static int state_from(const PGresult *r, vc_claim_t *c)
{
    if (PQntuples(r) < 1 || PQnfields(r) != 3)
        return 0;
    if (PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0]) {
        c->state = VC_CLAIM_NEW;
        return 1;
    }
    /* No fingerprint: a row a detector made from a request published straight to Kafka, or
     * one older than fingerprints; its payload cannot be compared, so it counts as a retry. */
    if (!PQgetisnull(r, 0, 1) &&
        (PQgetlength(r, 0, 1) != VC_CLAIM_FINGERPRINT_LEN ||
         memcmp(PQgetvalue(r, 0, 1), c->fingerprint, VC_CLAIM_FINGERPRINT_LEN) != 0)) {
        c->state = VC_CLAIM_REUSED;
        return 1;
    }
    int acked = PQgetlength(r, 0, 2) == 1 && PQgetvalue(r, 0, 2)[0];
    c->state = acked ? VC_CLAIM_ACKED : VC_CLAIM_PENDING;
    return 1;
}

typedef enum { STMT_TAKE, STMT_CONFIRM } claim_stmt_t;

/* Queues one claim's statement. Each statement text is a compile-time constant (the
 * parameterised-SQL source check of tests/integration/hostile/sql_params.c). */
static int send_claim(PGconn *conn, claim_stmt_t which, const claim_params_t *p)
{
    if (which == STMT_TAKE)
        return PQsendQueryParams(conn, TAKE_SQL, TAKE_PARAMS, NULL, p->vals, p->lens, p->fmts,
                                 1);
    return PQsendQueryParams(conn, CONFIRM_SQL, TAKE_PARAMS, NULL, p->vals, p->lens, p->fmts, 1);
}

/* Runs statement `which` once per claim with its parameters, in one transaction sent as one
 * pipeline: BEGIN, the statements, COMMIT. STMT_TAKE returns each claim's state row
 * (state_from); claims that got none are left with state 0 and counted in *missing. */
static int run_pipeline(PGconn *conn, claim_stmt_t which, vc_claim_t *const *claims, size_t n,
                        size_t *missing, char *err, size_t errlen)
{
    int want_rows = which == STMT_TAKE;
    if (PQenterPipelineMode(conn) != 1)
        return vc_err(err, errlen, VC_EIO, "postgres pipeline mode: %s", PQerrorMessage(conn));
    int sent = PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (size_t i = 0; sent && i < n; i++) {
        claim_params_t p;
        claim_params(&p, claims[i]);
        sent = send_claim(conn, which, &p);
    }
    sent = sent && PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    sent = sent && PQpipelineSync(conn);
    int rc = sent ? 0 : vc_err(err, errlen, VC_EIO, "postgres pipeline send: %s",
                               PQerrorMessage(conn));
    size_t stmt = 0;
    int idle = 0;
    while (sent) {
        PGresult *r = PQgetResult(conn);
        if (r == NULL) {
            if (PQstatus(conn) != CONNECTION_OK || ++idle > 1) {
                if (rc == 0)
                    rc = vc_err(err, errlen, VC_EIO, "postgres pipeline: %s",
                                PQerrorMessage(conn));
                break;
            }
            stmt++;
            continue;
        }
        idle = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (st == PGRES_TUPLES_OK && want_rows && stmt >= 1 && stmt <= n) {
            if (!state_from(r, claims[stmt - 1]))
                (*missing)++;
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == 0) {
            rc = vc_err(err, errlen, VC_EIO, "postgres claims: %s",
                        st == PGRES_PIPELINE_ABORTED ? "pipeline aborted"
                                                     : PQresultErrorMessage(r));
        }
        PQclear(r);
    }
    if (PQexitPipelineMode(conn) != 1 && rc == 0)
        rc = vc_err(err, errlen, VC_EIO, "postgres pipeline exit: %s", PQerrorMessage(conn));
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}

/* A claim that met a row committed after its statement began: read the row now. */
static int look_again(PGconn *conn, vc_claim_t *c, char *err, size_t errlen)
{
    const char *vals[] = {c->tenant, c->id};
    PGresult *r = PQexecParams(conn, LOOK_SQL, 2, NULL, vals, NULL, NULL, 1);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = vc_err(err, errlen, VC_EIO, "postgres claims: %s", PQresultErrorMessage(r));
    else if (!state_from(r, c))
        c->state = VC_CLAIM_PENDING; /* released meanwhile: publish, and confirm recreates */
    PQclear(r);
    return rc;
}

int vc_claims_take(PGconn *conn, vc_claim_t *claims, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    vc_claim_t **ptrs = malloc(n * sizeof(*ptrs));
    if (ptrs == NULL)
        return VC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = &claims[i];
        claims[i].state = 0;
    }
    size_t missing = 0;
    int rc = run_pipeline(conn, STMT_TAKE, ptrs, n, &missing, err, errlen);
    for (size_t i = 0; rc == 0 && missing > 0 && i < n; i++)
        if (claims[i].state == 0)
            rc = look_again(conn, &claims[i], err, errlen);
    free(ptrs);
    return rc;
}

int vc_claims_confirm(PGconn *conn, const vc_claim_t *const *claims, size_t n, char *err,
                      size_t errlen)
{
    if (n == 0)
        return 0;
    size_t unused = 0;
    return run_pipeline(conn, STMT_CONFIRM, (vc_claim_t *const *)claims, n, &unused, err,
                        errlen);
}

int vc_claims_release(PGconn *conn, const vc_claim_t *claim, char *err, size_t errlen)
{
    const char *vals[] = {claim->tenant, claim->id};
    PGresult *r = PQexecParams(conn, RELEASE_SQL, 2, NULL, vals, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK
                 ? 0
                 : vc_err(err, errlen, VC_EIO, "postgres release %s/%s: %s", claim->tenant,
                          claim->id, PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

static int digest_part(EVP_MD_CTX *md, const void *p, size_t len)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return EVP_DigestUpdate(md, be, sizeof(be)) == 1 &&
           (len == 0 || EVP_DigestUpdate(md, p, len) == 1);
}

int vc_claim_fingerprint(const vc_request_t *req, uint8_t out[VC_CLAIM_FINGERPRINT_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL)
        return VC_ENOMEM;
    const char *type = vc_type_name(req->type);
    const vc_media_t none = {0}, *a = req->has_audio ? &req->audio : &none,
                     *v = req->has_video ? &req->video : &none;
    char rate[16];
    snprintf(rate, sizeof(rate), "%u", (unsigned)a->sample_rate);
    int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             digest_part(md, type, strlen(type)) &&
             digest_part(md, a->format, strlen(a->format)) &&
             digest_part(md, rate, strlen(rate)) && digest_part(md, a->data, a->len) &&
             digest_part(md, v->format, strlen(v->format)) && digest_part(md, v->data, v->len) &&
             digest_part(md, req->metadata_json, req->metadata_json ? req->metadata_len : 0);
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(md, out, &len) == 1 && len == VC_CLAIM_FINGERPRINT_LEN;
    EVP_MD_CTX_free(md);
    return ok ? 0 : VC_ENOMEM;
}

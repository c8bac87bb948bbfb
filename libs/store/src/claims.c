#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vc/claims.h"
#include "vc/error.h"
#include "pg_array.h"

/* A batch of claims is one statement per step, whatever its size: the rows travel as one
 * array parameter per column (pg_array.h) and are unnested server-side, so PostgreSQL parses
 * and plans each statement once per batch instead of once per claim. */
#define UNNEST_COLUMNS                                                                         \
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::float8[], $6::bytea[],"  \
    "  $7::text[]) AS u(tenant, id, detection_type, result, submitted_ms, request_sha256,"      \
    "  trace_id)"
#define CLAIM_PARAMS 7

/* Inserts every claim that has no row; RETURNING names the rows this statement made. A row
 * a concurrent transaction was inserting is waited for, then left alone (LOOK_SQL reads it). */
static const char TAKE_SQL[] =
    "INSERT INTO detections (tenant, id, detection_type, status, result, submitted_at,"
    "  request_sha256, trace_id)"
    " SELECT u.tenant, u.id, u.detection_type, 'queued', u.result,"
    "  to_timestamp(u.submitted_ms / 1000), u.request_sha256, u.trace_id" UNNEST_COLUMNS
    " ON CONFLICT (tenant, id) DO NOTHING RETURNING tenant, id, request_sha256";

/* The rows of the batch's ids as they are now (this transaction's inserts included). */
static const char LOOK_SQL[] =
    "SELECT d.tenant, d.id, d.request_sha256, d.acknowledged_at IS NOT NULL FROM detections d"
    " JOIN unnest($1::text[], $2::text[]) AS u(tenant, id) ON d.tenant = u.tenant"
    "  AND d.id = u.id";

/* Records the acknowledgements, recreating a row a concurrent release removed meanwhile.
 * The ids must be distinct (an upsert may not touch one row twice). */
static const char CONFIRM_SQL[] =
    "INSERT INTO detections AS d (tenant, id, detection_type, status, result, submitted_at,"
    "  request_sha256, trace_id, acknowledged_at)"
    " SELECT u.tenant, u.id, u.detection_type, 'queued', u.result,"
    "  to_timestamp(u.submitted_ms / 1000), u.request_sha256, u.trace_id, now()" UNNEST_COLUMNS
    " ON CONFLICT (tenant, id) DO UPDATE SET"
    "  acknowledged_at = COALESCE(d.acknowledged_at, now()),"
    "  request_sha256 = COALESCE(d.request_sha256, EXCLUDED.request_sha256)"
    " WHERE d.acknowledged_at IS NULL OR d.request_sha256 IS NULL";

static const char RELEASE_SQL[] =
    "DELETE FROM detections WHERE tenant = $1 AND id = $2 AND acknowledged_at IS NULL"
    " AND attempts = 0";

typedef struct {
    pg_array_t cols[CLAIM_PARAMS];
    const char *vals[CLAIM_PARAMS];
} claim_arrays_t;

static void arrays_free(claim_arrays_t *a)
{
    for (int k = 0; k < CLAIM_PARAMS; k++)
        pg_array_free(&a->cols[k]);
}

/* The column arrays of claims[0..n). Returns 0 or VC_ENOMEM. */
static int arrays_build(claim_arrays_t *a, vc_claim_t *const *claims, size_t n)
{
    for (int k = 0; k < CLAIM_PARAMS; k++)
        pg_array_init(&a->cols[k]);
    for (size_t i = 0; i < n; i++) {
        const vc_claim_t *c = claims[i];
        char ms[24];
        snprintf(ms, sizeof(ms), "%lld", (long long)c->submitted_at_ms);
        pg_array_text(&a->cols[0], c->tenant);
        pg_array_text(&a->cols[1], c->id);
        pg_array_text(&a->cols[2], c->type);
        pg_array_bytea(&a->cols[3], c->placeholder, c->placeholder_len);
        pg_array_text(&a->cols[4], ms);
        pg_array_bytea(&a->cols[5], c->fingerprint, VC_CLAIM_FINGERPRINT_LEN);
        pg_array_text(&a->cols[6], c->trace_id != NULL && c->trace_id[0] ? c->trace_id : NULL);
    }
    for (int k = 0; k < CLAIM_PARAMS; k++)
        if ((a->vals[k] = pg_array_finish(&a->cols[k])) == NULL) {
            arrays_free(a);
            return VC_ENOMEM;
        }
    return 0;
}

typedef enum { STMT_TAKE, STMT_LOOK, STMT_CONFIRM } claim_stmt_t;

/* Queues one statement. Each statement text is a compile-time constant (the parameterised-SQL
 * source check of tests/integration/hostile/sql_params.c). */
static int send_stmt(PGconn *conn, claim_stmt_t which, const claim_arrays_t *a)
{
    if (which == STMT_TAKE)
        return PQsendQueryParams(conn, TAKE_SQL, CLAIM_PARAMS, NULL, a->vals, NULL, NULL, 1);
    if (which == STMT_LOOK)
        return PQsendQueryParams(conn, LOOK_SQL, 2, NULL, a->vals, NULL, NULL, 1);
    return PQsendQueryParams(conn, CONFIRM_SQL, CLAIM_PARAMS, NULL, a->vals, NULL, NULL, 1);
}

/* Runs stmts[0..n) in one transaction sent as one pipeline (BEGIN, the statements, COMMIT)
 * and hands back each statement's result in out[] (caller clears them). Returns 0 or VC_EIO
 * (err says why; the transaction was rolled back). */
static int run_tx(PGconn *conn, const claim_stmt_t *stmts, size_t n, const claim_arrays_t *a,
                  PGresult **out, char *err, size_t errlen)
{
    if (PQenterPipelineMode(conn) != 1)
        return vc_err(err, errlen, VC_EIO, "postgres pipeline mode: %s", PQerrorMessage(conn));
    int sent = PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (size_t i = 0; sent && i < n; i++)
        sent = send_stmt(conn, stmts[i], a);
    sent = sent && PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    sent = sent && PQpipelineSync(conn);
    int rc = sent ? 0 : vc_err(err, errlen, VC_EIO, "postgres pipeline send: %s",
                               PQerrorMessage(conn));
    size_t stmt = 0; /* 0 BEGIN, 1..n the statements, n+1 COMMIT */
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
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == 0)
            rc = vc_err(err, errlen, VC_EIO, "postgres claims: %s",
                        st == PGRES_PIPELINE_ABORTED ? "pipeline aborted"
                                                     : PQresultErrorMessage(r));
        if (stmt >= 1 && stmt <= n && out[stmt - 1] == NULL)
            out[stmt - 1] = r;
        else
            PQclear(r);
    }
    if (PQexitPipelineMode(conn) != 1 && rc == 0)
        rc = vc_err(err, errlen, VC_EIO, "postgres pipeline exit: %s", PQerrorMessage(conn));
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}

/* Whether row `row` of r (binary: tenant, id, request_sha256, ...) is claim c's (tenant, id). */
static int row_is(const PGresult *r, int row, const vc_claim_t *c)
{
    size_t tl = strlen(c->tenant), il = strlen(c->id);
    return (size_t)PQgetlength(r, row, 0) == tl && (size_t)PQgetlength(r, row, 1) == il &&
           memcmp(PQgetvalue(r, row, 0), c->tenant, tl) == 0 &&
           memcmp(PQgetvalue(r, row, 1), c->id, il) == 0;
}

/* Whether column col of the row holds c's fingerprint. */
static int same_fingerprint(const PGresult *r, int row, int col, const vc_claim_t *c)
{
    return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == VC_CLAIM_FINGERPRINT_LEN &&
           memcmp(PQgetvalue(r, row, col), c->fingerprint, VC_CLAIM_FINGERPRINT_LEN) == 0;
}

/* c's state from the row as it is (LOOK_SQL), or PENDING when there is none (released
 * meanwhile: publish, and the acknowledgement recreates it). No fingerprint on the row: one a
 * detector made from a request published straight to Kafka, or older than fingerprints; its
 * payload cannot be compared, so it counts as a retry. */
static vc_claim_state_t existing_state(const PGresult *look, vc_claim_t *c)
{
    int rows = look != NULL && PQnfields(look) == 4 ? PQntuples(look) : 0;
    for (int row = 0; row < rows; row++) {
        if (!row_is(look, row, c))
            continue;
        if (!PQgetisnull(look, row, 2) && !same_fingerprint(look, row, 2, c))
            return VC_CLAIM_REUSED;
        int acked = PQgetlength(look, row, 3) == 1 && PQgetvalue(look, row, 3)[0];
        return acked ? VC_CLAIM_ACKED : VC_CLAIM_PENDING;
    }
    return VC_CLAIM_PENDING;
}

/* NEW for the claim whose row this batch inserted (the first of equal claims; with two
 * payloads for one id, the one whose fingerprint the row holds); the rest from the rows. */
static void decide(vc_claim_t *claims, size_t n, const PGresult *ins, const PGresult *look)
{
    int rows = ins != NULL && PQnfields(ins) == 3 ? PQntuples(ins) : 0;
    unsigned char *used = calloc((size_t)rows + 1, 1);
    for (size_t i = 0; i < n; i++) {
        vc_claim_t *c = &claims[i];
        c->state = 0;
        for (int row = 0; used != NULL && row < rows && c->state == 0; row++)
            if (!used[row] && row_is(ins, row, c) && same_fingerprint(ins, row, 2, c)) {
                used[row] = 1;
                c->state = VC_CLAIM_NEW;
            }
        if (c->state == 0)
            c->state = existing_state(look, c);
    }
    free(used);
}

int vc_claims_take(PGconn *conn, vc_claim_t *claims, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    vc_claim_t **ptrs = malloc(n * sizeof(*ptrs));
    claim_arrays_t a;
    if (ptrs == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &claims[i];
    int rc = arrays_build(&a, ptrs, n);
    free(ptrs);
    if (rc != 0)
        return vc_err(err, errlen, rc, "out of memory");
    static const claim_stmt_t stmts[] = {STMT_TAKE, STMT_LOOK};
    PGresult *res[2] = {NULL, NULL};
    rc = run_tx(conn, stmts, 2, &a, res, err, errlen);
    if (rc == 0)
        decide(claims, n, res[0], res[1]);
    PQclear(res[0]);
    PQclear(res[1]);
    arrays_free(&a);
    return rc;
}

/* claims[0..n) without repeated (tenant, id), first kept; returns the count (ptrs is out). */
static size_t distinct(const vc_claim_t *const *claims, size_t n, vc_claim_t **ptrs)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && !(strcmp(ptrs[j]->tenant, claims[i]->tenant) == 0 &&
                          strcmp(ptrs[j]->id, claims[i]->id) == 0))
            j++;
        if (j == k)
            ptrs[k++] = (vc_claim_t *)claims[i];
    }
    return k;
}

int vc_claims_confirm(PGconn *conn, const vc_claim_t *const *claims, size_t n, char *err,
                      size_t errlen)
{
    if (n == 0)
        return 0;
    vc_claim_t **ptrs = malloc(n * sizeof(*ptrs));
    claim_arrays_t a;
    if (ptrs == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "out of memory");
    int rc = arrays_build(&a, ptrs, distinct(claims, n, ptrs));
    free(ptrs);
    if (rc != 0)
        return vc_err(err, errlen, rc, "out of memory");
    static const claim_stmt_t stmts[] = {STMT_CONFIRM};
    PGresult *res[1] = {NULL};
    rc = run_tx(conn, stmts, 1, &a, res, err, errlen);
    PQclear(res[0]);
    arrays_free(&a);
    return rc;
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

/* The idempotency claims (vc/claims.h) against the real PostgreSQL: a batch of claims is one
 * statement per step, so the states must come out as if each claim had been taken alone, in
 * order. Covered: new ids; ids taken before, with and without an acknowledgement, with the
 * same and with another fingerprint, and rows without one (made by a detector); the same id
 * twice in one batch (same payload: the second is a retry; other payload: refused); values the
 * array literals must carry intact (quotes, backslashes, NUL and high bytes in the
 * placeholder, no trace id); acknowledgements with repeated ids, and one that recreates a row
 * released meanwhile; a release that must not remove an acknowledged claim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "test.h"
#include "vc/claims.h"
#include "vc/error.h"
#include "vc/pg.h"

static char run_id[32], tenant[64];
static PGconn *conn;
static const uint8_t placeholder[] = {0x00, 0xff, '"', '\\', '{', '}', ',', 0x80, 'x'};

static void claim(vc_claim_t *c, const char *id, uint8_t payload, const char *trace)
{
    memset(c, 0, sizeof(*c));
    c->tenant = tenant;
    c->id = id;
    c->type = "audio";
    c->submitted_at_ms = 1700000000123LL;
    c->trace_id = trace;
    memset(c->fingerprint, payload, sizeof(c->fingerprint));
    c->placeholder = placeholder;
    c->placeholder_len = sizeof(placeholder);
}

static PGresult *row_of(const char *id)
{
    const char *vals[] = {tenant, id};
    PGresult *r = PQexecParams(conn,
                               "SELECT result, trace_id, acknowledged_at IS NOT NULL,"
                               " extract(epoch FROM submitted_at) * 1000, request_sha256"
                               " FROM detections WHERE tenant = $1 AND id = $2",
                               2, NULL, vals, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        VC_TEST_FAIL("select %s: %s", id, PQresultErrorMessage(r));
    return r;
}

static void exec_ok(const char *sql, const char *id)
{
    const char *vals[] = {tenant, id};
    PGresult *r = PQexecParams(conn, sql, 2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        VC_TEST_FAIL("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static void take(vc_claim_t *c, size_t n)
{
    char err[512] = "";
    if (vc_claims_take(conn, c, n, err, sizeof(err)) != 0)
        VC_TEST_FAIL("take: %s", err);
}

static void confirm(vc_claim_t *c, size_t n)
{
    const vc_claim_t *p[16];
    for (size_t i = 0; i < n; i++)
        p[i] = &c[i];
    char err[512] = "";
    if (vc_claims_confirm(conn, p, n, err, sizeof(err)) != 0)
        VC_TEST_FAIL("confirm: %s", err);
}

static void test_states(void)
{
    char ids[8][96];
    for (int i = 0; i < 8; i++)
        snprintf(ids[i], sizeof(ids[i]), "cl-%s-%d", run_id, i);
    /* The history: ids 1 and 2 taken before, 2 acknowledged; id 3 a detector's row. */
    vc_claim_t before[2];
    claim(&before[0], ids[1], 1, NULL);
    claim(&before[1], ids[2], 2, NULL);
    take(before, 2);
    confirm(&before[1], 1);
    exec_ok("INSERT INTO detections (tenant, id, detection_type, status, result, submitted_at,"
            " attempts) VALUES ($1, $2, 'audio', 'completed', '\\x00', now(), 1)",
            ids[3]);
    vc_claim_t c[8];
    claim(&c[0], ids[0], 9, "0af7651916cd43dd8448eb211c80319c"); /* new */
    claim(&c[1], ids[1], 1, NULL);    /* taken before, same payload, not acknowledged */
    claim(&c[2], ids[2], 2, NULL);    /* taken and acknowledged */
    claim(&c[3], ids[3], 3, NULL);    /* a detector's row: no fingerprint to compare */
    claim(&c[4], ids[2], 7, NULL);    /* acknowledged id, another payload */
    claim(&c[5], ids[5], 5, NULL);    /* new ... */
    claim(&c[6], ids[5], 5, NULL);    /* ... and its retry in the same batch */
    claim(&c[7], ids[5], 6, NULL);    /* ... and another payload for it in the same batch */
    take(c, 8);
    static const vc_claim_state_t want[8] = {VC_CLAIM_NEW,     VC_CLAIM_PENDING, VC_CLAIM_ACKED,
                                             VC_CLAIM_PENDING, VC_CLAIM_REUSED,  VC_CLAIM_NEW,
                                             VC_CLAIM_PENDING, VC_CLAIM_REUSED};
    for (int i = 0; i < 8; i++)
        if (c[i].state != want[i])
            VC_TEST_FAIL("claim %d: state %d, want %d", i, (int)c[i].state, (int)want[i]);
    /* What the arrays carried arrived intact. */
    PGresult *r = row_of(ids[0]);
    ASSERT_EQ(PQntuples(r), 1);
    ASSERT_EQ(PQgetlength(r, 0, 0), (int)sizeof(placeholder));
    ASSERT(memcmp(PQgetvalue(r, 0, 0), placeholder, sizeof(placeholder)) == 0);
    ASSERT_STREQ(PQgetvalue(r, 0, 1), "0af7651916cd43dd8448eb211c80319c");
    ASSERT_EQ(PQgetlength(r, 0, 4), VC_CLAIM_FINGERPRINT_LEN);
    ASSERT_EQ((unsigned char)PQgetvalue(r, 0, 4)[0], 9);
    PQclear(r);
    r = row_of(ids[5]);
    ASSERT(PQgetisnull(r, 0, 1)); /* no trace id: NULL, not "" */
    ASSERT_EQ((unsigned char)PQgetvalue(r, 0, 4)[0], 5); /* the first payload's row */
    PQclear(r);
    /* Acknowledgements with a repeated id (an upsert may not touch a row twice), and one for
     * a row released meanwhile, which the acknowledgement recreates. */
    ASSERT_OK(vc_claims_release(conn, &c[0], (char[128]){0}, 128));
    r = row_of(ids[0]);
    ASSERT_EQ(PQntuples(r), 0);
    PQclear(r);
    vc_claim_t ack[3] = {c[0], c[5], c[6]};
    confirm(ack, 3);
    for (int k = 0; k < 2; k++) {
        r = row_of(k == 0 ? ids[0] : ids[5]);
        ASSERT_EQ(PQntuples(r), 1);
        ASSERT_EQ(PQgetlength(r, 0, 2), 1);
        ASSERT(PQgetvalue(r, 0, 2)[0]); /* acknowledged */
        PQclear(r);
    }
    /* An acknowledged claim is not released, and is now a duplicate. */
    ASSERT_OK(vc_claims_release(conn, &c[5], (char[128]){0}, 128));
    vc_claim_t again;
    claim(&again, ids[5], 5, NULL);
    take(&again, 1);
    ASSERT_EQ(again.state, VC_CLAIM_ACKED);
}

int main(void)
{
    const char *pg_url = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    unsigned int rnd = 0;
    ASSERT(getrandom(&rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd));
    snprintf(run_id, sizeof(run_id), "%08x%d", rnd, (int)getpid());
    snprintf(tenant, sizeof(tenant), "t-claims-%s", run_id);
    vc_pg_opts_t o = {.url = pg_url, .size = 1, .connect_timeout_ms = 2000,
                      .pool_timeout_ms = 5000};
    vc_pg_pool_t *pg = NULL;
    char err[512] = "";
    if (vc_pg_pool_new(&o, &pg, err, sizeof(err)) != 0 ||
        vc_pg_acquire(pg, &conn, err, sizeof(err)) != 0 || vc_pg_migrate(conn, err, sizeof(err)))
        VC_TEST_FAIL("postgres: %s", err);
    RUN(test_states);
    vc_pg_release(pg, conn, 0);
    vc_pg_pool_free(pg);
    return 0;
}

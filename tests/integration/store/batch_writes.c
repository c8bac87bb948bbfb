/* Integration tests for the batched result writes against the real servers: PostgreSQL rows
 * upserted in one pipelined transaction (all or nothing, the connection usable afterwards,
 * a repeated id resolved as by separate calls) and Redis results stored and announced in one
 * pipelined round trip. Ids carry a per-run suffix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "test.h"
#include "vc/detections.h"
#include "vc/error.h"
#include "vc/pg.h"
#include "vc/results.h"

#define ROWS 50

static char run_id[32];
static PGconn *conn;

static void make_result(vc_result_t *r, int i, double score)
{
    memset(r, 0, sizeof(*r));
    r->v = VC_WIRE_VERSION;
    snprintf(r->id, sizeof(r->id), "bw-%s-%03d", run_id, i);
    snprintf(r->tenant, sizeof(r->tenant), "t-%s", run_id);
    r->type = VC_TYPE_AUDIO;
    r->status = VC_STATUS_COMPLETED;
    r->verdict = VC_VERDICT_GENUINE;
    r->has_score = 1;
    r->score = score;
    r->submitted_at_ms = 1700000000000LL;
    r->completed_at_ms = 1700000000100LL;
}

static long count_rows(const char *like, const char *where_extra)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM detections WHERE id LIKE $1 %s",
             where_extra);
    const char *vals[] = {like};
    PGresult *r = PQexecParams(conn, sql, 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        VC_TEST_FAIL("%s: %s", sql, PQresultErrorMessage(r));
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* 50 rows in one call, the last one repeating the first id with another score: 49 rows, and
 * the repeated id keeps the FIRST final result (a replay never overwrites it); the replay is
 * told it lost, its attempt number and the stored result. */
static void test_batch_upsert(void)
{
    static vc_result_t res[ROWS];
    vc_detection_row_t rows[ROWS];
    for (int i = 0; i < ROWS; i++) {
        make_result(&res[i], i == ROWS - 1 ? 0 : i, 0.01 * i);
        rows[i] = (vc_detection_row_t){.res = &res[i],
                                       .blob = (const uint8_t *)(i == ROWS - 1 ? "late" : "blob"),
                                       .len = 4};
    }
    char err[512] = "", like[64];
    if (vc_detections_upsert_many(conn, rows, ROWS, err, sizeof(err)) != 0)
        VC_TEST_FAIL("upsert_many: %s", err);
    snprintf(like, sizeof(like), "bw-%s-%%", run_id);
    ASSERT_EQ(count_rows(like, ""), ROWS - 1);
    char first[64];
    snprintf(first, sizeof(first), "bw-%s-000", run_id);
    ASSERT_EQ(count_rows(first, "AND abs(score - 0.0) < 1e-9 AND attempts = 2"), 1);
    ASSERT(rows[0].won && rows[0].attempt == 1 && rows[0].final_attempt == 1);
    ASSERT(!rows[ROWS - 1].won && rows[ROWS - 1].attempt == 2 &&
           rows[ROWS - 1].final_attempt == 1);
    ASSERT(rows[ROWS - 1].stored_len == 4 && memcmp(rows[ROWS - 1].stored, "blob", 4) == 0);
    vc_detections_rows_clear(rows, ROWS);
    ASSERT_EQ(PQtransactionStatus(conn), PQTRANS_IDLE);
}

/* One row breaks a CHECK constraint (score 2): nothing of the batch is written, the error is
 * permanent (VC_EPERM), names the cause and the refused row, and the same connection serves
 * the next batch. */
static void test_all_or_nothing(void)
{
    static vc_result_t res[10];
    vc_detection_row_t rows[10];
    for (int i = 0; i < 10; i++) {
        make_result(&res[i], 100 + i, i == 6 ? 2.0 : 0.5);
        rows[i] = (vc_detection_row_t){.res = &res[i], .blob = (const uint8_t *)"x", .len = 1};
    }
    char err[512] = "", like[64];
    ASSERT_EQ(vc_detections_upsert_many(conn, rows, 10, err, sizeof(err)), VC_EPERM);
    fprintf(stderr, "   error: %s\n", err);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(rows[i].refused, i == 6);
    ASSERT(strstr(err, "check") != NULL || strstr(err, "constraint") != NULL);
    snprintf(like, sizeof(like), "bw-%s-1%%", run_id);
    ASSERT_EQ(count_rows(like, ""), 0);
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
    ASSERT_EQ(PQtransactionStatus(conn), PQTRANS_IDLE);
    res[6].score = 0.6;
    if (vc_detections_upsert_many(conn, rows, 10, err, sizeof(err)) != 0)
        VC_TEST_FAIL("retry: %s", err);
    ASSERT_EQ(count_rows(like, ""), 10);
    vc_detections_rows_clear(rows, 10);
}

/* The same id under two tenants is two detections: both rows exist, each tenant reads its own,
 * and a third tenant reads nothing. */
static void test_tenant_identity(void)
{
    static vc_result_t res[2];
    vc_detection_row_t rows[2];
    for (int i = 0; i < 2; i++) {
        make_result(&res[i], 500, i == 0 ? 0.1 : 0.9);
        snprintf(res[i].tenant, sizeof(res[i].tenant), "t%d-%s", i, run_id);
        rows[i] = (vc_detection_row_t){.res = &res[i],
                                       .blob = (const uint8_t *)(i == 0 ? "AAAA" : "BBBB"),
                                       .len = 4};
    }
    char err[512] = "";
    if (vc_detections_upsert_many(conn, rows, 2, err, sizeof(err)) != 0)
        VC_TEST_FAIL("upsert_many: %s", err);
    ASSERT(rows[0].won && rows[1].won);
    for (int i = 0; i < 2; i++) {
        uint8_t *blob = NULL;
        size_t len = 0;
        ASSERT_OK(vc_detections_get(conn, res[i].tenant, res[i].id, &blob, &len, err,
                                    sizeof(err)));
        ASSERT(len == 4 && memcmp(blob, i == 0 ? "AAAA" : "BBBB", 4) == 0);
        free(blob);
    }
    char other[64];
    snprintf(other, sizeof(other), "t2-%s", run_id);
    uint8_t *blob = NULL;
    size_t len = 0;
    ASSERT_EQ(vc_detections_get(conn, other, res[0].id, &blob, &len, err, sizeof(err)),
              VC_ENOTFOUND);
    vc_detections_rows_clear(rows, 2);
}

/* Redis: every result stored with its TTL, read back byte for byte. */
static void test_results_put_many(const char *redis_url)
{
    vc_redis_opts_t o = {.url = redis_url,
                         .size = 2,
                         .dial_timeout_ms = 2000,
                         .io_timeout_ms = 2000,
                         .pool_timeout_ms = 2000};
    vc_redis_pool_t *pool = NULL;
    char err[256] = "";
    ASSERT_OK(vc_redis_pool_new(&o, &pool, err, sizeof(err)));
    char ids[20][64], vals[20][32], tenant[64];
    snprintf(tenant, sizeof(tenant), "t-%s", run_id);
    vc_results_item_t items[20];
    for (int i = 0; i < 20; i++) {
        snprintf(ids[i], sizeof(ids[i]), "bw-%s-r%02d", run_id, i);
        snprintf(vals[i], sizeof(vals[i]), "value-%d", i * 7);
        items[i] = (vc_results_item_t){tenant, ids[i], (const uint8_t *)vals[i], strlen(vals[i])};
    }
    if (vc_results_put_many(pool, items, 20, 60, err, sizeof(err)) != 0)
        VC_TEST_FAIL("put_many: %s", err);
    for (int i = 0; i < 20; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        ASSERT_OK(vc_results_get(pool, tenant, ids[i], &buf, &len, err, sizeof(err)));
        ASSERT_EQ(len, strlen(vals[i]));
        ASSERT(memcmp(buf, vals[i], len) == 0);
        free(buf);
        /* Another tenant's reference to the same id finds nothing. */
        ASSERT_EQ(vc_results_get(pool, "other-tenant", ids[i], &buf, &len, err, sizeof(err)),
                  VC_ENOTFOUND);
        char key[sizeof(VC_RESULTS_KEY_PREFIX) + VC_RESULTS_REF_MAX];
        snprintf(key, sizeof(key), "%s%s/%.63s", VC_RESULTS_KEY_PREFIX, tenant, ids[i]);
        const char *argv[] = {"TTL", key};
        redisReply *r = NULL;
        ASSERT_OK(vc_redis_command(pool, 2, argv, NULL, &r, err, sizeof(err)));
        ASSERT(r->type == REDIS_REPLY_INTEGER && r->integer > 0 && r->integer <= 60);
        freeReplyObject(r);
    }
    vc_redis_pool_free(pool);
}

int main(void)
{
    const char *pg_url = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    const char *redis_url = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    unsigned int rnd = 0;
    ASSERT(getrandom(&rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd));
    snprintf(run_id, sizeof(run_id), "%08x%d", rnd, (int)getpid());
    vc_pg_opts_t o = {.url = pg_url, .size = 1, .connect_timeout_ms = 2000,
                      .pool_timeout_ms = 5000};
    vc_pg_pool_t *pg = NULL;
    char err[512] = "";
    if (vc_pg_pool_new(&o, &pg, err, sizeof(err)) != 0 ||
        vc_pg_acquire(pg, &conn, err, sizeof(err)) != 0 || vc_pg_migrate(conn, err, sizeof(err)))
        VC_TEST_FAIL("postgres: %s", err);
    RUN(test_batch_upsert);
    RUN(test_all_or_nothing);
    test_tenant_identity();
    test_results_put_many(redis_url);
    vc_pg_release(pg, conn, 0);
    vc_pg_pool_free(pg);
    return 0;
}

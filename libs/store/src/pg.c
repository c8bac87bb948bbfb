/* libpq connections behind vc_pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/config.h"
#include "vc/error.h"
#include "vc/pg.h"
#include "vc/pool.h"

typedef struct {
    char *url;
    char connect_timeout_s[24];
} endpoint_t;

struct vc_pg_pool {
    endpoint_t ep;
    vc_pool_t *pool;
};

int vc_pg_opts_from_env(vc_pg_opts_t *o, size_t cap_size, char *err, size_t errlen)
{
    long long size = 0;
    int rc = vc_config_str("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vcguard",
                           &o->url, err, errlen);
    if (rc == 0)
        rc = vc_config_int("DB_MAX_OPEN_CONNS", 200, 1, 10000, &size, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DB_CONNECT_TIMEOUT", 5000, 1000, 600000,
                                   &o->connect_timeout_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DB_POOL_TIMEOUT", 5000, 1, 600000, &o->pool_timeout_ms, err,
                                   errlen);
    long long idle = 0;
    if (rc == 0)
        rc = vc_config_int("DB_MAX_IDLE_CONNS", 20, 0, 10000, &idle, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DB_CONN_MAX_LIFETIME", 3600000, 0, 86400000LL * 30,
                                   &o->max_lifetime_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DB_CONN_MAX_IDLE_TIME", 1800000, 0, 86400000LL * 30,
                                   &o->max_idle_time_ms, err, errlen);
    o->max_idle = (size_t)idle;
    o->size = (size_t)size < cap_size ? (size_t)size : cap_size;
    return rc;
}

static void *pg_dial(void *opaque, char *err, size_t errlen)
{
    const endpoint_t *ep = opaque;
    /* expand_dbname=1: "dbname" carries the whole URL; the other keywords add to it. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {ep->url, ep->connect_timeout_s, "vcguard", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        const char *msg = c ? PQerrorMessage(c) : "out of memory";
        size_t n = strcspn(msg, "\n");
        vc_err(err, errlen, VC_EUNAVAIL, "postgres connect: %.*s", (int)n, msg);
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void pg_close(void *opaque, void *conn)
{
    (void)opaque;
    PQfinish(conn);
}

int vc_pg_pool_new(const vc_pg_opts_t *o, vc_pg_pool_t **out, char *err, size_t errlen)
{
    vc_pg_pool_t *pp = calloc(1, sizeof(*pp));
    if (pp == NULL)
        return VC_ENOMEM;
    pp->ep.url = strdup(o->url);
    if (pp->ep.url == NULL) {
        free(pp);
        return VC_ENOMEM;
    }
    long long secs = (o->connect_timeout_ms + 999) / 1000;
    snprintf(pp->ep.connect_timeout_s, sizeof(pp->ep.connect_timeout_s), "%lld",
             secs < 2 ? 2 : secs); /* libpq treats 1 as 2 anyway */
    vc_pool_ops_t ops = {.dial = pg_dial, .close = pg_close, .opaque = &pp->ep};
    int rc = vc_pool_new(o->size, o->pool_timeout_ms, &ops, &pp->pool);
    if (rc != 0) {
        free(pp->ep.url);
        free(pp);
        return vc_err(err, errlen, rc, "postgres pool: %s", vc_strerror(rc));
    }
    vc_pool_limits_t lim = {.max_idle = o->max_idle, .max_lifetime_ms = o->max_lifetime_ms,
                            .max_idle_time_ms = o->max_idle_time_ms};
    vc_pool_set_limits(pp->pool, &lim);
    *out = pp;
    return 0;
}

void vc_pg_pool_free(vc_pg_pool_t *pp)
{
    if (pp == NULL)
        return;
    vc_pool_free(pp->pool);
    free(pp->ep.url);
    free(pp);
}

int vc_pg_acquire(vc_pg_pool_t *pp, PGconn **out, char *err, size_t errlen)
{
    void *c = NULL;
    int rc = vc_pool_acquire(pp->pool, &c, err, errlen);
    if (rc == 0)
        *out = c;
    return rc;
}

void vc_pg_release(vc_pg_pool_t *pp, PGconn *conn, int broken)
{
    vc_pool_release(pp->pool, conn, broken || PQstatus(conn) != CONNECTION_OK);
}

int vc_pg_ping(vc_pg_pool_t *pp, char *err, size_t errlen)
{
    PGconn *c = NULL;
    int rc = vc_pg_acquire(pp, &c, err, errlen);
    if (rc != 0)
        return rc;
    PGresult *r = PQexec(c, "SELECT 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        rc = vc_err(err, errlen, VC_EIO, "postgres: %s", PQerrorMessage(c));
    PQclear(r);
    vc_pg_release(pp, c, !ok);
    return rc;
}

void vc_pg_pool_stats(vc_pg_pool_t *pp, vc_pool_stats_t *out)
{
    vc_pool_stats(pp->pool, out);
}

int vc_pg_error_kind(const PGresult *r)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state == NULL || strlen(state) != 5)
        return VC_EIO; /* no server verdict (connection lost, client-side failure) */
    /* Classes whose errors a retry of the same statement cannot cure: data exceptions (22),
     * constraint violations (23), syntax and access rules, permissions included (42),
     * program limits such as an oversized row (54), cardinality (21), unsupported features
     * (0A), invalid transaction initiation/authorisation (0B, 28). Everything else
     * (connection 08, serialisation 40, resources 53, lock 55, shutdown 57, system 58, XX)
     * is worth retrying. */
    static const char *const permanent[] = {"22", "23", "42", "54", "21", "0A", "0B", "28"};
    for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
        if (strncmp(state, permanent[i], 2) == 0)
            return VC_EPERM;
    return VC_EIO;
}

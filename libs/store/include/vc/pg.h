#ifndef VC_PG_H
#define VC_PG_H
/* A bounded pool of libpq connections plus the migration runner. Broken connections are
 * dropped and re-dialled on demand, so a PostgreSQL restart heals by itself. */
#include <stddef.h>

#include <libpq-fe.h>

#include "vc/pool.h"

typedef struct vc_pg_pool vc_pg_pool_t;

typedef struct {
    const char *url;               /* DATABASE_URL (libpq URI or key=value conninfo) */
    size_t size;                   /* DB_MAX_OPEN_CONNS */
    long long connect_timeout_ms;  /* DB_CONNECT_TIMEOUT=5s */
    long long pool_timeout_ms;     /* DB_POOL_TIMEOUT=5s */
    size_t max_idle;               /* DB_MAX_IDLE_CONNS=20 */
    long long max_lifetime_ms;     /* DB_CONN_MAX_LIFETIME=1h */
    long long max_idle_time_ms;    /* DB_CONN_MAX_IDLE_TIME=30m */
} vc_pg_opts_t;

/* Reads DATABASE_URL, DB_MAX_OPEN_CONNS, DB_CONNECT_TIMEOUT, DB_POOL_TIMEOUT. size is capped
 * by cap_size (e.g. the number of threads that will ever use the pool). */
int vc_pg_opts_from_env(vc_pg_opts_t *opts, size_t cap_size, char *err, size_t errlen);

int vc_pg_pool_new(const vc_pg_opts_t *opts, vc_pg_pool_t **out, char *err, size_t errlen);
/* Frees the pool; every connection must have been released. */
void vc_pg_pool_free(vc_pg_pool_t *pool);

/* Checks out a connection. Returns 0, VC_ETIMEDOUT (exhausted) or VC_EUNAVAIL (cannot connect;
 * err says why). */
int vc_pg_acquire(vc_pg_pool_t *pool, PGconn **out, char *err, size_t errlen);
/* Returns a connection; broken != 0 (or a connection whose status is bad) is closed. */
void vc_pg_release(vc_pg_pool_t *pool, PGconn *conn, int broken);

/* Pool state and counters, for metrics. */
void vc_pg_pool_stats(vc_pg_pool_t *pool, vc_pool_stats_t *out);

/* SELECT 1 on a pooled connection. Returns 0 or a negative VC_E* with err set. */
int vc_pg_ping(vc_pg_pool_t *pool, char *err, size_t errlen);

/* Classifies a failed statement by its SQLSTATE: VC_EPERM when retrying the same statement
 * cannot succeed (constraint violation, data exception, permission, size limit...), VC_EIO
 * when it may (connection, serialisation, resources, shutdown, or no SQLSTATE at all). */
int vc_pg_error_kind(const PGresult *r);

/* Applies every migration of schemas/sql/ (compiled in) not yet recorded in
 * schema_migrations, each in its own transaction, under an advisory lock so concurrent
 * start-ups apply each exactly once. Returns 0 or VC_EIO with err naming the migration. */
int vc_pg_migrate(PGconn *conn, char *err, size_t errlen);

#endif

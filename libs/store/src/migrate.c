/* Applies the compiled-in migrations once each. A session advisory lock serialises
 * concurrent start-ups (several detectors and gateways booting together). */
#include <stdio.h>
#include <string.h>

#include "migrations.h"
#include "vc/error.h"
#include "vc/log.h"
#include "vc/pg.h"

#define MIGRATION_LOCK_KEY "7301123541" /* arbitrary, fixed: "vcguard migrations" */

static int exec_ok(PGconn *c, const char *sql, char *err, size_t errlen, const char *what)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        vc_err(err, errlen, VC_EIO, "migration %s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : VC_EIO;
}

/* Returns 1 when version is recorded, 0 when not, VC_EIO on error. */
static int is_applied(PGconn *c, const char *version, char *err, size_t errlen)
{
    const char *params[] = {version};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
                               params, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) > 0 : VC_EIO;
    if (rc < 0)
        vc_err(err, errlen, VC_EIO, "schema_migrations: %s", PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

static int apply_one(PGconn *c, const vc_migration_t *m, char *err, size_t errlen)
{
    const char *params[] = {m->version};
    int rc = exec_ok(c, "BEGIN", err, errlen, m->version);
    if (rc == 0)
        rc = exec_ok(c, m->sql, err, errlen, m->version);
    if (rc == 0) {
        PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version) VALUES ($1)", 1,
                                   NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = vc_err(err, errlen, VC_EIO, "migration %s: %s", m->version,
                        PQresultErrorMessage(r));
        PQclear(r);
    }
    if (rc == 0)
        rc = exec_ok(c, "COMMIT", err, errlen, m->version);
    if (rc != 0) {
        PGresult *r = PQexec(c, "ROLLBACK");
        PQclear(r);
        return rc;
    }
    VC_INFO("db.migrated", "version=%s", m->version);
    return 0;
}

int vc_pg_migrate(PGconn *c, char *err, size_t errlen)
{
    int rc = exec_ok(c, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", err, errlen, "lock");
    if (rc != 0)
        return rc;
    rc = exec_ok(c,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version text PRIMARY KEY,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
                 err, errlen, "schema_migrations");
    for (const vc_migration_t *m = vc_migrations; rc == 0 && m->version != NULL; m++) {
        int applied = is_applied(c, m->version, err, errlen);
        if (applied < 0)
            rc = applied;
        else if (!applied)
            rc = apply_one(c, m, err, errlen);
    }
    char ignored[64];
    exec_ok(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", ignored, sizeof(ignored),
            "unlock");
    return rc;
}

/* vc-admin: operator CLI. Connects to DATABASE_URL, applies pending migrations (so it works
 * on a fresh database before any service ran), then runs one command. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "vc/config.h"
#include "vc/error.h"
#include "vc/log.h"
#include "vc/pg.h"

void admin_usage(FILE *f)
{
    fputs("usage: vc-admin keys create --tenant TENANT [--name NAME] [--rate-limit N]\n"
          "       vc-admin keys list [--tenant TENANT]\n"
          "       vc-admin keys revoke ID|PREFIX\n"
          "       vc-admin topics ensure|check\n"
          "\n"
          "  create  prints the new API key on stdout, once; only its SHA-256 is stored.\n"
          "          --rate-limit: requests per minute for this key (default: the gateway's\n"
          "          RATE_LIMIT_PER_MINUTE).\n"
          "  list    one key per line, tab-separated, with a header line.\n"
          "  revoke  by numeric ID, by the 12-character PREFIX shown by list (vck_...), or by\n"
          "          the whole key. Takes effect in every gateway within API_KEY_CACHE_TTL.\n"
          "  topics ensure  creates the request, result and dead-letter topics that do not\n"
          "          exist (KAFKA_TOPIC_PARTITIONS, _REPLICATION_FACTOR, _MIN_INSYNC_REPLICAS,\n"
          "          _RETENTION_MS, _DLQ_RETENTION_MS, _MAX_MESSAGE_BYTES) and checks them all;\n"
          "          one line per topic. Existing topics are never altered.\n"
          "  topics check   only checks, as the gateway and detectors do at start-up.\n"
          "\n"
          "environment: DATABASE_URL (libpq URI), DB_CONNECT_TIMEOUT, LOG_LEVEL (default warn);\n"
          "             topics: KAFKA_BROKERS, KAFKA_TOPIC_*, KAFKA_MESSAGE_MAX_BYTES, KAFKA_CONF_*\n"
          "exit status: 0 ok, 1 refused (not found, ambiguous prefix, topic missing or\n"
          "             unusable), 2 usage or configuration error, 3 database unavailable or\n"
          "             failing, 4 Kafka unreachable\n",
          f);
}

/* Drops server NOTICEs ("relation ... already exists, skipping" from idempotent migrations):
 * they are not for the operator. Warnings and errors still reach stderr through err. */
static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Opens the database and applies migrations. Returns ADMIN_EXIT_OK with *pool and *conn, or
 * an ADMIN_EXIT_* status (message printed). */
static int open_db(vc_pg_pool_t **pool, PGconn **conn)
{
    char err[512] = "";
    vc_pg_opts_t opts;
    if (vc_pg_opts_from_env(&opts, 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "vc-admin: configuration error: %s\n", err);
        return ADMIN_EXIT_USAGE;
    }
    int rc = vc_pg_pool_new(&opts, pool, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "vc-admin: %s\n", err);
        return rc == VC_EINVAL ? ADMIN_EXIT_USAGE : ADMIN_EXIT_DB;
    }
    rc = vc_pg_acquire(*pool, conn, err, sizeof(err));
    if (rc == 0) {
        PQsetNoticeProcessor(*conn, quiet_notices, NULL);
        rc = vc_pg_migrate(*conn, err, sizeof(err));
        if (rc != 0)
            vc_pg_release(*pool, *conn, 1);
    }
    if (rc != 0) {
        fprintf(stderr, "vc-admin: %s\n", err);
        vc_pg_pool_free(*pool);
        *pool = NULL;
        return ADMIN_EXIT_DB;
    }
    return ADMIN_EXIT_OK;
}

int main(int argc, char **argv)
{
    const char *level_s = NULL;
    vc_log_level_t level = VC_LOG_WARN;
    char err[256] = "";
    if (vc_config_str("LOG_LEVEL", "warn", &level_s, err, sizeof(err)) != 0 ||
        vc_log_level_parse(level_s, &level) != 0) {
        fprintf(stderr,
                "vc-admin: configuration error: LOG_LEVEL=%s: expected debug, info, "
                "warn or error\n",
                level_s ? level_s : "");
        return ADMIN_EXIT_USAGE;
    }
    vc_log_init("admin", level);

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        admin_usage(stdout);
        return ADMIN_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "topics") == 0)
        return admin_topics(argc - 2, argv + 2);
    if (argc < 2 || strcmp(argv[1], "keys") != 0) {
        if (argc >= 2)
            fprintf(stderr, "vc-admin: unknown command '%s'\n", argv[1]);
        admin_usage(stderr);
        return ADMIN_EXIT_USAGE;
    }
    int rc = admin_keys_check_usage(argc - 2, argv + 2);
    if (rc != ADMIN_EXIT_OK)
        return rc;

    vc_pg_pool_t *pool = NULL;
    PGconn *conn = NULL;
    rc = open_db(&pool, &conn);
    if (rc != ADMIN_EXIT_OK)
        return rc;
    rc = admin_keys(conn, argc - 2, argv + 2);
    vc_pg_release(pool, conn, 0);
    vc_pg_pool_free(pool);
    return rc;
}

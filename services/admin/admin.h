#ifndef VC_ADMIN_H
#define VC_ADMIN_H
/* vc-admin: operator commands against PostgreSQL. main.c parses the command line and owns
 * the connection; keys.c implements `keys create|list|revoke`, topics.c `topics ensure|check` (Kafka, no
 * database). */
#include <stdio.h>

#include <libpq-fe.h>

/* Exit statuses (documented in docs/operations.md). */
enum {
    ADMIN_EXIT_OK = 0,
    ADMIN_EXIT_FAILED = 1, /* the operation was refused: not found, ambiguous prefix */
    ADMIN_EXIT_USAGE = 2,  /* bad command line or configuration */
    ADMIN_EXIT_DB = 3,     /* database unreachable or failing */
    ADMIN_EXIT_KAFKA = 4   /* Kafka cluster unreachable or not answering */
};

/* Runs `keys SUBCOMMAND ARGS...` (argv[0] is the subcommand) on conn. Prints results on
 * stdout and errors on stderr; returns an ADMIN_EXIT_* status. */
int admin_keys(PGconn *conn, int argc, char **argv);

/* Checks `keys ...` arguments without a database, so usage errors never wait for one.
 * Returns ADMIN_EXIT_OK or ADMIN_EXIT_USAGE (message printed). */
int admin_keys_check_usage(int argc, char **argv);

/* Runs `topics ensure|check` (argv[0] is the subcommand) against KAFKA_BROKERS; needs no
 * database. Returns an ADMIN_EXIT_* status. */
int admin_topics(int argc, char **argv);

/* Prints the usage text to f. */
void admin_usage(FILE *f);

#endif

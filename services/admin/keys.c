/* vc-admin keys create|list|revoke. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "vc/apikeys.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/ratelimit.h"

typedef enum { KEYS_CREATE, KEYS_LIST, KEYS_REVOKE } keys_cmd_t;

typedef struct {
    keys_cmd_t cmd;
    const char *tenant;
    const char *name;
    long rate_limit;
    const char *ref;
} keys_args_t;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "vc-admin: <message>" and a pointer to --help; returns ADMIN_EXIT_USAGE. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vc-admin: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see vc-admin --help)\n", stderr);
    va_end(ap);
    return ADMIN_EXIT_USAGE;
}

/* Matches "--opt VALUE" or "--opt=VALUE" at argv[*i]; returns 1 and sets *val (advancing *i
 * past a separate value), 0 when argv[*i] is another option, -1 when the value is missing. */
static int option(int argc, char **argv, int *i, const char *opt, const char **val)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *i += 1;
    *val = argv[*i];
    return 1;
}

static int parse_limit(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > VC_RATELIMIT_MAX_LIMIT)
        return VC_EINVAL;
    *out = v;
    return 0;
}

/* Parses `SUBCOMMAND [options]`. Returns ADMIN_EXIT_OK or ADMIN_EXIT_USAGE (printed). */
static int parse(int argc, char **argv, keys_args_t *a)
{
    memset(a, 0, sizeof(*a));
    if (argc < 1)
        return usage_error("keys: missing subcommand (%s)", "create, list or revoke");
    if (strcmp(argv[0], "create") == 0)
        a->cmd = KEYS_CREATE;
    else if (strcmp(argv[0], "list") == 0)
        a->cmd = KEYS_LIST;
    else if (strcmp(argv[0], "revoke") == 0)
        a->cmd = KEYS_REVOKE;
    else
        return usage_error("keys: unknown subcommand '%s'", argv[0]);
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int m = 0;
        if (a->cmd != KEYS_REVOKE) {
            m = option(argc, argv, &i, "--tenant", &val);
            if (m == 1) {
                a->tenant = val;
                continue;
            }
        }
        if (m == 0 && a->cmd == KEYS_CREATE) {
            m = option(argc, argv, &i, "--name", &val);
            if (m == 1) {
                a->name = val;
                continue;
            }
        }
        if (m == 0 && a->cmd == KEYS_CREATE) {
            m = option(argc, argv, &i, "--rate-limit", &val);
            if (m == 1) {
                if (parse_limit(val, &a->rate_limit) != 0)
                    return usage_error("--rate-limit: '%s' is not a whole number of requests "
                                       "per minute (1..100000)",
                                       val);
                continue;
            }
        }
        if (m == -1)
            return usage_error("%s needs a value", argv[i]);
        if (argv[i][0] == '-')
            return usage_error("keys: unknown option '%s'", argv[i]);
        if (a->cmd == KEYS_REVOKE && a->ref == NULL) {
            a->ref = argv[i];
            continue;
        }
        return usage_error("keys: unexpected argument '%s'", argv[i]);
    }
    if (a->cmd == KEYS_CREATE && a->tenant == NULL)
        return usage_error("keys create: %s is required", "--tenant");
    if (a->cmd == KEYS_REVOKE && a->ref == NULL)
        return usage_error("keys revoke: %s", "give the key's ID or PREFIX");
    return ADMIN_EXIT_OK;
}

int admin_keys_check_usage(int argc, char **argv)
{
    keys_args_t a;
    return parse(argc, argv, &a);
}

/* Maps a library error to an exit status: refusals vs. database trouble. */
static int exit_for(int rc)
{
    switch (rc) {
    case VC_EINVAL:
        return ADMIN_EXIT_USAGE;
    case VC_ENOTFOUND:
    case VC_EEXIST:
        return ADMIN_EXIT_FAILED;
    default:
        return ADMIN_EXIT_DB;
    }
}

static void print_key(FILE *f, const vc_apikey_t *k)
{
    char created[32], revoked[48] = "active";
    vc_clock_format_rfc3339(k->created_at_ms, created, sizeof(created));
    if (k->revoked_at_ms != 0) {
        memcpy(revoked, "revoked ", 8);
        vc_clock_format_rfc3339(k->revoked_at_ms, revoked + 8, sizeof(revoked) - 8);
    }
    char limit[24] = "default";
    if (k->rate_limit_per_minute > 0)
        snprintf(limit, sizeof(limit), "%ld", k->rate_limit_per_minute);
    fprintf(f, "%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)k->id, k->tenant, k->prefix,
            k->name[0] ? k->name : "-", limit, created, revoked);
}

static int do_create(PGconn *conn, const keys_args_t *a)
{
    char err[512] = "";
    char key[VC_APIKEY_LEN + 1];
    vc_apikey_t k;
    int rc = vc_apikeys_create(conn, a->tenant, a->name, a->rate_limit, &k, key, sizeof(key), err,
                               sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "vc-admin: keys create: %s\n", err);
        return exit_for(rc);
    }
    /* stdout carries the key alone, so KEY=$(vc-admin keys create ...) works. */
    printf("%s\n", key);
    fflush(stdout);
    char limit[24] = "default";
    if (k.rate_limit_per_minute > 0)
        snprintf(limit, sizeof(limit), "%ld/min", k.rate_limit_per_minute);
    fprintf(stderr,
            "created key id=%lld tenant=%s prefix=%s name=%s rate_limit=%s\n"
            "store it now: it is shown only this once (only its SHA-256 is kept)\n",
            (long long)k.id, k.tenant, k.prefix, k.name[0] ? k.name : "-", limit);
    return ADMIN_EXIT_OK;
}

static int do_list(PGconn *conn, const keys_args_t *a)
{
    char err[512] = "";
    vc_apikey_t *keys = NULL;
    size_t n = 0;
    int rc = vc_apikeys_list(conn, a->tenant, &keys, &n, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "vc-admin: keys list: %s\n", err);
        return exit_for(rc);
    }
    printf("ID\tTENANT\tPREFIX\tNAME\tRATE_LIMIT\tCREATED\tSTATUS\n");
    for (size_t i = 0; i < n; i++)
        print_key(stdout, &keys[i]);
    free(keys);
    return ADMIN_EXIT_OK;
}

static int do_revoke(PGconn *conn, const keys_args_t *a)
{
    char err[512] = "";
    vc_apikey_t k;
    int rc = vc_apikeys_revoke(conn, a->ref, &k, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "vc-admin: keys revoke: %s\n", err);
        return exit_for(rc);
    }
    printf("revoked\t");
    print_key(stdout, &k);
    return ADMIN_EXIT_OK;
}

int admin_keys(PGconn *conn, int argc, char **argv)
{
    keys_args_t a;
    int rc = parse(argc, argv, &a);
    if (rc != ADMIN_EXIT_OK)
        return rc;
    switch (a.cmd) {
    case KEYS_CREATE:
        return do_create(conn, &a);
    case KEYS_LIST:
        return do_list(conn, &a);
    case KEYS_REVOKE:
        return do_revoke(conn, &a);
    }
    return ADMIN_EXIT_USAGE;
}

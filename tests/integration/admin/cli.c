/* Integration test of the vc-admin binary ($VC_BIN_DIR/vc-admin) against a real PostgreSQL
 * (VC_TEST_DATABASE_URL): keys create/list/revoke, what they store, usage errors and exit
 * statuses, an unreachable database. Runs the binary directly (fork + exec, no shell). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "vc/apikeys.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/pg.h"

#define OUT_MAX 65536

typedef struct {
    int status;        /* exit status, or 128 + signal */
    char out[OUT_MAX]; /* stdout */
    char err[OUT_MAX]; /* stderr */
} run_t;

static char admin_bin[1024];
static const char *db_url;

/* Appends what fd has into buf (cap OUT_MAX). Returns 0 at EOF, 1 when more may come. */
static int drain(int fd, char *buf, size_t *len)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n < 0 && errno == EINTR)
        return 1;
    if (n <= 0)
        return 0;
    size_t room = OUT_MAX - 1 - *len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(buf + *len, tmp, take);
    *len += take;
    buf[*len] = '\0';
    return 1;
}

/* Runs vc-admin with argv (NULL-terminated, without argv[0]) and DATABASE_URL=url; waits at
 * most 30 s for it. */
static void run(run_t *r, const char *url, const char *const *args)
{
    const char *argv[32] = {admin_bin};
    int argc = 1;
    for (; args[argc - 1] != NULL; argc++) {
        ASSERT(argc < 31);
        argv[argc] = args[argc - 1];
    }
    argv[argc] = NULL;
    int po[2], pe[2];
    ASSERT_OK(pipe(po));
    ASSERT_OK(pipe(pe));
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        setenv("DATABASE_URL", url, 1);
        setenv("DB_CONNECT_TIMEOUT", "2s", 1);
        execv(admin_bin, (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    size_t olen = 0, elen = 0;
    r->out[0] = r->err[0] = '\0';
    int open_o = 1, open_e = 1;
    int64_t deadline = vc_clock_mono_ms() + 30000;
    while (open_o || open_e) {
        struct pollfd fds[2] = {{.fd = open_o ? po[0] : -1, .events = POLLIN},
                                {.fd = open_e ? pe[0] : -1, .events = POLLIN}};
        int64_t left = deadline - vc_clock_mono_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            VC_TEST_FAIL("vc-admin %s: no exit within 30 s", args[0] ? args[0] : "");
        }
        if (poll(fds, 2, (int)left) < 0 && errno != EINTR)
            VC_TEST_FAIL("poll: %s", strerror(errno));
        if (open_o && (fds[0].revents & (POLLIN | POLLHUP)))
            open_o = drain(po[0], r->out, &olen);
        if (open_e && (fds[1].revents & (POLLIN | POLLHUP)))
            open_e = drain(pe[0], r->err, &elen);
    }
    close(po[0]);
    close(pe[0]);
    int ws = 0;
    ASSERT(waitpid(pid, &ws, 0) == pid);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    fprintf(stderr, "   vc-admin %s%s%s → %d\n", args[0] ? args[0] : "",
            args[0] && args[1] ? " " : "", args[0] && args[1] ? args[1] : "", r->status);
}

static void expect(run_t *r, int status, const char *in_err)
{
    if (r->status != status)
        VC_TEST_FAIL("exit %d, expected %d\nstdout: %s\nstderr: %s", r->status, status, r->out,
                     r->err);
    if (in_err != NULL && strstr(r->err, in_err) == NULL)
        VC_TEST_FAIL("stderr lacks \"%s\": %s", in_err, r->err);
}

static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(bind(fd, (struct sockaddr *)&a, sizeof(a)));
    socklen_t len = sizeof(a);
    ASSERT_OK(getsockname(fd, (struct sockaddr *)&a, &len));
    close(fd);
    return ntohs(a.sin_port);
}

static run_t r; /* large: static */

static void test_usage_errors(void)
{
    const char *none[] = {NULL};
    run(&r, db_url, none);
    expect(&r, 2, "usage: vc-admin keys create");
    const char *help[] = {"--help", NULL};
    run(&r, db_url, help);
    expect(&r, 0, NULL);
    ASSERT(strstr(r.out, "keys revoke ID|PREFIX") != NULL);
    const char *bogus[] = {"frobnicate", NULL};
    run(&r, db_url, bogus);
    expect(&r, 2, "unknown command 'frobnicate'");
    const char *no_tenant[] = {"keys", "create", "--name", "x", NULL};
    run(&r, db_url, no_tenant);
    expect(&r, 2, "--tenant is required");
    const char *bad_limit[] = {"keys", "create", "--tenant", "t", "--rate-limit", "lots", NULL};
    run(&r, db_url, bad_limit);
    expect(&r, 2, "--rate-limit: 'lots'");
    const char *zero_limit[] = {"keys", "create", "--tenant", "t", "--rate-limit=0", NULL};
    run(&r, db_url, zero_limit);
    expect(&r, 2, "--rate-limit");
    const char *missing[] = {"keys", "create", "--tenant", NULL};
    run(&r, db_url, missing);
    expect(&r, 2, "--tenant needs a value");
    const char *unknown[] = {"keys", "list", "--all", NULL};
    run(&r, db_url, unknown);
    expect(&r, 2, "unknown option '--all'");
    const char *no_ref[] = {"keys", "revoke", NULL};
    run(&r, db_url, no_ref);
    expect(&r, 2, "ID or PREFIX");
    const char *bad_tenant[] = {"keys", "create", "--tenant", "no spaces", NULL};
    run(&r, db_url, bad_tenant);
    expect(&r, 2, "tenant");
    ASSERT_STREQ(r.out, "");
}

static void test_create_list_revoke(const char *tenant, PGconn *conn)
{
    const char *create[] = {"keys",   "create",       "--tenant", tenant, "--name",
                            "ci key", "--rate-limit", "7",        NULL};
    run(&r, db_url, create);
    expect(&r, 0, "shown only this once");
    /* stdout is exactly the key and a newline. */
    ASSERT_EQ(strlen(r.out), VC_APIKEY_LEN + 1);
    ASSERT_EQ(r.out[VC_APIKEY_LEN], '\n');
    char key[VC_APIKEY_LEN + 1];
    memcpy(key, r.out, VC_APIKEY_LEN);
    key[VC_APIKEY_LEN] = '\0';
    ASSERT(vc_apikeys_well_formed(key, VC_APIKEY_LEN));
    ASSERT(strstr(r.err, key) == NULL);

    /* What the database holds: the hash, bound to the tenant, with the options. */
    uint8_t hash[32];
    vc_apikeys_hash(key, VC_APIKEY_LEN, hash);
    vc_apikey_t k;
    char err[256];
    ASSERT_OK(vc_apikeys_get_by_hash(conn, hash, &k, err, sizeof(err)));
    ASSERT_STREQ(k.tenant, tenant);
    ASSERT_STREQ(k.name, "ci key");
    ASSERT_EQ(k.rate_limit_per_minute, 7);
    ASSERT_EQ(k.revoked_at_ms, 0);

    char tenant_opt[128];
    snprintf(tenant_opt, sizeof(tenant_opt), "--tenant=%s", tenant);
    const char *create3[] = {"keys", "create", tenant_opt, NULL};
    run(&r, db_url, create3);
    expect(&r, 0, NULL);
    ASSERT(strncmp(r.out, key, VC_APIKEY_LEN) != 0);

    const char *list[] = {"keys", "list", "--tenant", tenant, NULL};
    run(&r, db_url, list);
    expect(&r, 0, NULL);
    ASSERT(strncmp(r.out, "ID\tTENANT\tPREFIX\tNAME\tRATE_LIMIT\tCREATED\tSTATUS\n", 47) == 0);
    char line[512];
    snprintf(line, sizeof(line), "%lld\t%s\t%s\tci key\t7\t", (long long)k.id, tenant, k.prefix);
    ASSERT(strstr(r.out, line) != NULL);
    ASSERT(strstr(r.out, "\t-\tdefault\t") != NULL); /* the second key */
    int lines = 0;
    for (const char *p = r.out; *p != '\0'; p++)
        lines += *p == '\n';
    ASSERT_EQ(lines, 3);
    ASSERT(strstr(r.out, key) == NULL); /* never the key itself */

    const char *revoke[] = {"keys", "revoke", k.prefix, NULL};
    run(&r, db_url, revoke);
    expect(&r, 0, NULL);
    ASSERT(strncmp(r.out, "revoked\t", 8) == 0);
    ASSERT_OK(vc_apikeys_get_by_hash(conn, hash, &k, err, sizeof(err)));
    ASSERT(k.revoked_at_ms != 0);
    run(&r, db_url, list);
    expect(&r, 0, NULL);
    ASSERT(strstr(r.out, "\trevoked 20") != NULL);
    ASSERT(strstr(r.out, "\tactive\n") != NULL);

    const char *missing[] = {"keys", "revoke", "987654321987", NULL};
    run(&r, db_url, missing);
    expect(&r, 1, "no key 987654321987");
    const char *junk[] = {"keys", "revoke", "vck_", NULL};
    run(&r, db_url, junk);
    expect(&r, 2, "expected a key id");
}

static void test_database_down(void)
{
    char url[128];
    snprintf(url, sizeof(url), "postgresql://postgres@127.0.0.1:%d/vcguard", dead_port());
    const char *list[] = {"keys", "list", NULL};
    int64_t t0 = vc_clock_mono_ms();
    run(&r, url, list);
    expect(&r, 3, "postgres connect");
    ASSERT(vc_clock_mono_ms() - t0 < 10000);
    ASSERT_STREQ(r.out, "");
}

int main(void)
{
    db_url = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    const char *bin_dir = getenv("VC_BIN_DIR");
    ASSERT(bin_dir != NULL);
    snprintf(admin_bin, sizeof(admin_bin), "%s/vc-admin", bin_dir);
    ASSERT_OK(access(admin_bin, X_OK));

    unsigned int rnd = 0;
    ASSERT(getrandom(&rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd));
    char tenant[64];
    snprintf(tenant, sizeof(tenant), "cli-%08x-%d", rnd, (int)getpid());

    vc_pg_opts_t o = {
        .url = db_url, .size = 1, .connect_timeout_ms = 2000, .pool_timeout_ms = 5000};
    vc_pg_pool_t *pg = NULL;
    PGconn *conn = NULL;
    char err[256] = "";
    ASSERT_OK(vc_pg_pool_new(&o, &pg, err, sizeof(err)));
    if (vc_pg_acquire(pg, &conn, err, sizeof(err)) != 0)
        VC_TEST_FAIL("postgres: %s", err);

    RUN(test_usage_errors);
    fprintf(stderr, "-- test_create_list_revoke\n");
    test_create_list_revoke(tenant, conn); /* vc-admin applies migrations itself first */
    RUN(test_database_down);
    vc_pg_release(pg, conn, 0);
    vc_pg_pool_free(pg);
    return 0;
}

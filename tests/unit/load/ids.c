/* Unit tests for vc-loadtest's audit support (tests/load/runner.c): --id-prefix puts a
 * client-chosen detection_id into every submission (JSON and msgpack bodies, Content-Length
 * right), --ids-out records one line per operation with its id, outcome, HTTP status and
 * error code, and vc_sched_stop ends a schedule early. A fake gateway in a thread parses every
 * body with the gateway's own parsers (libs/wire) and answers even operation numbers 202 and
 * odd ones 503 queue_unavailable. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadtest.h"
#include "sched.h"
#include "test.h"
#include "vc/wire_body.h"

#define MAX_SEEN 64

static int lfd, port;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_ids[MAX_SEEN][80]; /* the detection_id of each body received */
static int nseen;

static void copy_id(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    ASSERT(n < cap);
    memcpy(dst, src, n + 1);
}

/* Parses a submission body exactly as the gateway does (libs/wire) and copies its
 * detection_id into id. Returns the operation number in the id ("P-<n>"), -1 when the body is
 * invalid or carries no id. */
static long op_number(const char *body, size_t len, int msgpack, char *id, size_t cap)
{
    vc_json_request_t jr;
    vc_api_error_t e;
    long op = -1;
    id[0] = '\0';
    if (msgpack) {
        vc_msgpack_body_t *b = NULL;
        if (vc_msgpack_body_open((const uint8_t *)body, len, &b, &e) != 0)
            return -1;
        if (vc_msgpack_body_count(b) == 1 &&
            vc_msgpack_body_item(b, 0, 1 << 20, 4096, &jr, &e) == 0) {
            copy_id(id, cap, jr.req.id);
            vc_json_request_free(&jr);
        }
        vc_msgpack_body_close(b);
    } else {
        vc_json_body_t *b = NULL;
        if (vc_json_body_open(body, len, &b, &e) != 0)
            return -1;
        if (vc_json_body_item(b, 0, 0, 1 << 20, 4096, &jr, &e) == 0) {
            copy_id(id, cap, jr.req.id);
            vc_json_request_free(&jr);
        }
        vc_json_body_close(b);
    }
    if (strncmp(id, "P-", 2) == 0)
        op = strtol(id + 2, NULL, 10);
    return op;
}

/* Reads one request whole (head + Content-Length body) into buf; returns the body offset and
 * sets *blen, or -1 when the client closed. */
static int read_request(int fd, char *buf, size_t cap, size_t *blen)
{
    size_t got = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strstr(buf, "Content-Length: ");
    ASSERT(cl != NULL);
    *blen = (size_t)strtoul(cl + 16, NULL, 10);
    size_t head = (size_t)(end + 4 - buf);
    while (got < head + *blen) {
        ASSERT(got + 1 < cap);
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    ASSERT_EQ(got, head + *blen); /* no pipelining, and the length was exact */
    return (int)head;
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static _Thread_local char buf[1 << 17];
    size_t blen = 0;
    int off;
    while ((off = read_request(fd, buf, sizeof(buf), &blen)) >= 0) {
        char id[80] = "", body[200], out[512];
        long op =
            op_number(buf + off, blen, strstr(buf, "application/msgpack") != NULL, id, sizeof(id));
        pthread_mutex_lock(&seen_lock);
        if (nseen < MAX_SEEN)
            copy_id(seen_ids[nseen++], sizeof(seen_ids[0]), id);
        pthread_mutex_unlock(&seen_lock);
        ASSERT(op >= 0); /* a valid body with its own id, as the gateway parses it */
        int status = op % 2 == 0 ? 202 : 503;
        if (status == 202)
            snprintf(body, sizeof(body), "{\"detection_id\":\"%s\",\"status\":\"queued\"}", id);
        else
            snprintf(body, sizeof(body), "{\"error\":{\"code\":\"queue_unavailable\"}}");
        int n = snprintf(out, sizeof(out),
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         status, strlen(body), body);
        ASSERT(send(fd, out, (size_t)n, MSG_NOSIGNAL) == n);
    }
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t t;
        ASSERT_OK(pthread_create(&t, NULL, serve, (void *)(intptr_t)fd));
        pthread_detach(t);
    }
}

static void fake_start(void)
{
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(bind(lfd, (struct sockaddr *)&a, sizeof(a)));
    socklen_t len = sizeof(a);
    ASSERT_OK(getsockname(lfd, (struct sockaddr *)&a, &len));
    ASSERT_OK(listen(lfd, 64));
    port = ntohs(a.sin_port);
    pthread_t t;
    ASSERT_OK(pthread_create(&t, NULL, accept_loop, NULL));
    pthread_detach(t);
}

/* Runs n detection submissions with ids P-<n>, recording into a temp file; returns it
 * rewound. */
static FILE *run(int n, int msgpack, vc_load_stats_t *st)
{
    vc_load_opts_t o;
    memset(&o, 0, sizeof(o));
    o.type = VC_LOAD_DETECTION;
    snprintf(o.host, sizeof(o.host), "127.0.0.1");
    o.port = port;
    struct sockaddr_in *a = (struct sockaddr_in *)&o.addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    o.addrlen = sizeof(*a);
    o.requests = (uint64_t)n;
    o.concurrency = 3;
    o.timeout_s = 5;
    o.msgpack = msgpack;
    o.id_prefix = "P-";
    o.ids_out = tmpfile();
    ASSERT(o.ids_out != NULL);
    vc_workload_t wl;
    char err[256];
    ASSERT_OK(vc_workload_build(&o, NULL, 0, 0.05, &wl, err, sizeof(err)));
    ASSERT_OK(vc_load_stats_init(st));
    ASSERT_OK(vc_load_run(&o, &wl, st, err, sizeof(err)));
    vc_workload_free(&wl);
    rewind(o.ids_out);
    return o.ids_out;
}

/* Checks the records: header, then one line per operation with the right id and outcome. */
static void check_records(FILE *f, int n)
{
    char line[512];
    int seen[16] = {0}, lines = 0;
    ASSERT(fgets(line, sizeof(line), f) != NULL);
    ASSERT(line[0] == '#');
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long idx = 0;
        char id[64], outcome[32], code[40];
        int status = 0, sends = 0;
        long long intended = 0, sent = 0, done = 0;
        ASSERT_EQ(sscanf(line, "%lu\t%63s\t%31s\t%d\t%39s\t%lld\t%lld\t%lld\t%d", &idx, id, outcome,
                         &status, code, &intended, &sent, &done, &sends),
                  9);
        ASSERT(idx < (unsigned long)n);
        seen[idx]++;
        char want[32];
        snprintf(want, sizeof(want), "P-%lu", idx);
        ASSERT_STREQ(id, want);
        ASSERT_STREQ(outcome, idx % 2 == 0 ? "ok" : "http_status");
        ASSERT_EQ(status, idx % 2 == 0 ? 202 : 503);
        ASSERT_STREQ(code, idx % 2 == 0 ? "-" : "queue_unavailable");
        ASSERT(intended > 1000000000000LL && sent >= intended && done >= sent); /* wall ms */
        ASSERT_EQ(sends, 1);
        lines++;
    }
    ASSERT_EQ(lines, n);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(seen[i], 1);
    fclose(f);
}

static void test_ids_json(void)
{
    vc_load_stats_t st;
    nseen = 0;
    FILE *f = run(10, 0, &st);
    ASSERT_EQ(st.ok, 5);
    ASSERT_EQ(st.status[503], 5);
    ASSERT_EQ(nseen, 10);
    check_records(f, 10);
    vc_load_stats_free(&st);
}

static void test_ids_msgpack(void)
{
    vc_load_stats_t st;
    nseen = 0;
    FILE *f = run(6, 1, &st);
    ASSERT_EQ(st.ok, 3);
    ASSERT_EQ(nseen, 6);
    check_records(f, 6);
    vc_load_stats_free(&st);
}

static void test_sched_stop(void)
{
    vc_sched_t s;
    int64_t t = 0;
    vc_sched_init(&s, 100.0, 0, 10.0, 0);
    ASSERT_EQ(vc_sched_take(&s, 50000000, &t), 1);
    ASSERT(vc_sched_backlog(&s, 50000000) > 0); /* more are already due */
    vc_sched_stop(&s);
    ASSERT_EQ(vc_sched_take(&s, 50000000, &t), 0); /* not even the overdue ones */
    ASSERT_EQ(vc_sched_done(&s, 50000000), 1);
    ASSERT_EQ(vc_sched_backlog(&s, 50000000), 0);
}

int main(void)
{
    fake_start();
    RUN(test_ids_json);
    RUN(test_ids_msgpack);
    RUN(test_sched_stop);
    return 0;
}

/* HTTP plumbing shared by the handlers: complete responses, JSON errors (ours and civetweb's),
 * request framing checks, bounded body reads, per-status counters.
 *
 * Bodies are bounded in time as well as in size. civetweb's mg_read waits up to its
 * request_timeout_ms (half of HTTP_REQUEST_TIMEOUT, see main.c) for each next piece of a body
 * but never bounds the whole body, so a client trickling one byte a second would hold a worker
 * thread for ever, and so would civetweb's own discarding of a body that a handler did not
 * read. Every body read and drain therefore runs against the request's body deadline
 * (HTTP_REQUEST_TIMEOUT after its headers, a second later per HTTP_BODY_MIN_RATE bytes that
 * arrived, so slow links can still upload large media) and registers with the body watch: one
 * thread that, when a deadline passes, shuts the reading side of that connection's socket,
 * which makes the blocked mg_read return at once. The response can still be written; the
 * connection then closes.
 *
 * civetweb runs begin_request, the route handler and every response of one request on the same
 * worker thread, so the per-request state below is thread-local and needs no lock. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "access.h"
#include "accesslog.h"
#include "gateway.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/log.h"
#include "vc/wire_json.h"

/* JSON bodies nest at most this deep, like msgpack bodies (libs/wire VC_WIRE__MAX_DEPTH):
 * jansson parses recursively and civetweb's worker threads have 100 KiB stacks (Debian's
 * build), which a body of ~800 nested arrays overflows. */
#define JSON_MAX_DEPTH 16
#define BODY_FIRST_CAP 65536 /* first buffer of a body of unknown length (chunked) */
#define READ_PIECE 65536     /* per mg_read, so the deadline can grow as the body arrives */
#define DRAIN_CHUNK 4096     /* small: the worker's stack is 100 KiB */

typedef struct {
    int64_t base_ms;     /* monotonic: headers done + HTTP_REQUEST_TIMEOUT */
    int64_t deadline_ms; /* the body must have arrived by then: base + bytes / min rate */
    long long bytes;     /* body bytes received so far */
    int touched;         /* a handler started reading the body */
    int done;            /* the body was read (or drained) to its end */
    int closing;         /* the connection closes after this response */
    int cut;             /* the reading side of the socket is shut */
} req_state_t;

static _Thread_local req_state_t req_state;

/* ---- the body watch -------------------------------------------------------------------- */

typedef struct body_read {
    struct body_read *prev, *next;
    int64_t deadline_ms;
    char addr[48]; /* the connection: peer address and port, local port */
    int port, server_port;
    int cut; /* the watch shut its reading side */
} body_read_t;

struct body_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; signalled by an earlier deadline, and on stop */
    body_read_t *head; /* reads in progress, on their handlers' stacks */
    int64_t wake_ms;   /* when the watch thread wakes next (INT64_MAX: when signalled) */
    int stop;
    pthread_t thread;
};

/* The port of an IP socket address (0 when not IP), and its printable address into addr. */
static int ip_port(const struct sockaddr_storage *ss, char *addr, size_t cap)
{
    const void *a = NULL;
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a = &in->sin_addr;
        port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        a = &in6->sin6_addr;
        port = ntohs(in6->sin6_port);
    }
    if (addr != NULL && (a == NULL || inet_ntop(ss->ss_family, a, addr, (socklen_t)cap) == NULL))
        return 0;
    return port;
}

/* The descriptor of the connection from addr:port to local port server_port, or -1. civetweb
 * does not expose its sockets; a TCP connection's addresses name exactly one open socket, and
 * a connection stays open while its handler runs, so the match is that request's socket.
 * Cost: one getpeername per open descriptor (only for requests that overstay). */
static int find_socket(const char *addr, int port, int server_port)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int found = -1;
    struct dirent *de;
    while (found < 0 && (de = readdir(d)) != NULL) {
        char *end = NULL;
        long fd = strtol(de->d_name, &end, 10);
        if (end == de->d_name || *end != '\0' || fd == dirfd(d))
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char peer[INET6_ADDRSTRLEN];
        if (getpeername((int)fd, (struct sockaddr *)&ss, &sl) != 0 ||
            ip_port(&ss, peer, sizeof(peer)) != port || strcmp(peer, addr) != 0)
            continue;
        sl = sizeof(ss);
        if (getsockname((int)fd, (struct sockaddr *)&ss, &sl) == 0 &&
            ip_port(&ss, NULL, 0) == server_port)
            found = (int)fd;
    }
    closedir(d);
    return found;
}

int gateway_close_listeners(int port)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    int closed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end = NULL;
        long fd = strtol(de->d_name, &end, 10);
        if (end == de->d_name || *end != '\0' || fd == dirfd(d))
            continue;
        int listening = 0;
        socklen_t ol = sizeof(listening);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 || !listening ||
            getsockname((int)fd, (struct sockaddr *)&ss, &sl) != 0 ||
            ip_port(&ss, NULL, 0) != port)
            continue;
        /* Linux takes a listening socket out of LISTEN on shutdown: queued and new
         * connections are refused (RST) while the descriptor stays civetweb's to close. */
        closed += shutdown((int)fd, SHUT_RDWR) == 0;
    }
    closedir(d);
    return closed;
}

/* Shuts the reading side of a connection: a blocked or later mg_read returns at once, while
 * the response can still be written. */
static void cut_reading(const char *addr, int port, int server_port)
{
    int fd = find_socket(addr, port, server_port);
    if (fd < 0 || shutdown(fd, SHUT_RD) != 0)
        VC_WARN("http.cut_failed", "client=%s:%d", addr, port);
}

/* @locality the body watch thread. Cuts every registered read whose deadline passed, with
 * the lock held so each one is still inside its read. */
static void *watch_main(void *arg)
{
    struct body_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int64_t now = vc_clock_mono_ms(), next = INT64_MAX;
        for (body_read_t *r = w->head; r != NULL; r = r->next) {
            if (r->cut)
                continue;
            if (r->deadline_ms <= now) {
                r->cut = 1;
                VC_WARN("http.body_timeout", "client=%s:%d", r->addr, r->port);
                cut_reading(r->addr, r->port, r->server_port);
            } else if (r->deadline_ms < next) {
                next = r->deadline_ms;
            }
        }
        w->wake_ms = next;
        if (next == INT64_MAX) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait_ms = next - now;
        ts.tv_sec += (time_t)(wait_ms / 1000);
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int gateway_body_watch_start(gateway_t *gw)
{
    struct body_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return VC_ENOMEM;
    pthread_condattr_t ca;
    int ok = pthread_condattr_init(&ca) == 0;
    ok = ok && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_cond_init(&w->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok) {
        free(w);
        return VC_ENOMEM;
    }
    w->wake_ms = INT64_MAX;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        pthread_cond_destroy(&w->cv);
        free(w);
        return VC_ENOMEM;
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return VC_ENOMEM;
    }
    gw->body_watch = w;
    return 0;
}

void gateway_body_watch_stop(gateway_t *gw)
{
    struct body_watch *w = gw->body_watch;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    gw->body_watch = NULL;
}

/* Registers the current request's body read (r lives on the caller's stack until
 * watch_remove). */
static void watch_add(struct body_watch *w, body_read_t *r, const struct mg_request_info *ri)
{
    memset(r, 0, sizeof(*r));
    r->deadline_ms = req_state.deadline_ms;
    snprintf(r->addr, sizeof(r->addr), "%s", ri->remote_addr);
    r->port = ri->remote_port;
    r->server_port = ri->server_port;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    r->next = w->head;
    if (w->head != NULL)
        w->head->prev = r;
    w->head = r;
    if (r->deadline_ms < w->wake_ms) /* usually not: deadlines come in time order */
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Unregisters r; returns 1 when the watch cut its connection meanwhile. */
static int watch_remove(struct body_watch *w, body_read_t *r)
{
    if (w == NULL)
        return 0;
    pthread_mutex_lock(&w->mu);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        w->head = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    int cut = r->cut;
    pthread_mutex_unlock(&w->mu);
    if (cut)
        req_state.cut = 1;
    return cut;
}

/* Counts n more body bytes: the deadline moves a second later per HTTP_BODY_MIN_RATE bytes,
 * here and in the watch's copy r (may be NULL). */
static void body_progress(const gateway_t *gw, body_read_t *r, int n)
{
    req_state.bytes += n;
    gateway_accesslog_body(n);
    if (gw->cfg.body_min_rate <= 0)
        return;
    req_state.deadline_ms = req_state.base_ms + req_state.bytes * 1000 / gw->cfg.body_min_rate;
    struct body_watch *w = gw->body_watch;
    if (r == NULL || w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    r->deadline_ms = req_state.deadline_ms; /* later than before: the watch needs no wake-up */
    pthread_mutex_unlock(&w->mu);
}

/* ---- request state and framing --------------------------------------------------------- */

static gateway_t *gateway_of(const struct mg_connection *conn)
{
    return mg_get_user_data(mg_get_context(conn));
}

static int is_chunked(const struct mg_connection *conn)
{
    return mg_get_header(conn, "Transfer-Encoding") != NULL;
}

/* True while the request declared a body that nobody has read to its end. */
static int body_pending(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    return !req_state.done && (ri->content_length > 0 || is_chunked(conn));
}

/* The connection will not serve another request: close it after the response, and shut its
 * reading side when a body is left unread so civetweb does not wait to discard it. */
static void give_up_connection(struct mg_connection *conn)
{
    req_state.closing = 1;
    mg_disable_connection_keep_alive(conn);
    if (body_pending(conn) && !req_state.cut) {
        const struct mg_request_info *ri = mg_get_request_info(conn);
        req_state.cut = 1;
        cut_reading(ri->remote_addr, ri->remote_port, ri->server_port);
    }
}

/* A reason to refuse the request's framing, or NULL. Ambiguous body lengths are how request
 * smuggling works through proxies, so they are refused rather than guessed. */
static const char *framing_problem(const struct mg_request_info *ri)
{
    int cl = 0, te = 0;
    const char *te_value = NULL;
    for (int i = 0; i < ri->num_headers; i++) {
        const char *name = ri->http_headers[i].name;
        if (strcasecmp(name, "Content-Length") == 0)
            cl++;
        else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            te++;
            te_value = ri->http_headers[i].value;
        }
    }
    if (cl > 1)
        return "more than one Content-Length header";
    if (te > 1)
        return "more than one Transfer-Encoding header";
    if (te == 1 && cl == 1)
        return "both Content-Length and Transfer-Encoding";
    if (te == 1 && strcasecmp(te_value, "chunked") != 0)
        return "Transfer-Encoding must be chunked";
    return NULL;
}

void gateway_end_request(const struct mg_connection *conn, int reply_status_code)
{
    gateway_accesslog_end(conn, reply_status_code); /* the access log line */
    atomic_fetch_sub(&gateway_of(conn)->active, 1);
}

int gateway_begin_request(struct mg_connection *conn)
{
    atomic_fetch_add(&gateway_of(conn)->active, 1); /* end_request takes it back */
    gateway_accesslog_begin();
    const struct mg_request_info *ri = mg_get_request_info(conn);
    memset(&req_state, 0, sizeof(req_state));
    req_state.base_ms = vc_clock_mono_ms() + gateway_of(conn)->cfg.request_timeout_ms;
    req_state.deadline_ms = req_state.base_ms;
    /* civetweb keeps the first MG_MAX_HEADERS header lines and silently drops the rest (a
     * dropped Content-Length would turn the body into the next request), so a request that
     * fills the table may have lost some: refused. */
    if (ri->num_headers >= MG_MAX_HEADERS) {
        give_up_connection(conn);
        return gateway_send_error(conn, 431, "headers_too_large", "",
                                  "at most %d header lines", MG_MAX_HEADERS - 1);
    }
    const char *problem = framing_problem(ri);
    if (problem != NULL) {
        give_up_connection(conn);
        return gateway_send_error(conn, 400, "invalid_request", "", "%s", problem);
    }
    /* civetweb listens before the handlers are registered: a request in that instant (a
     * health probe polling a starting gateway) would get civetweb's 404. */
    if (!atomic_load(&gateway_of(conn)->routed)) {
        give_up_connection(conn);
        return gateway_send_error(conn, 503, "starting", "Retry-After: 1\r\n",
                                  "this gateway is starting");
    }
    /* Stopping: running requests finish and are answered (main.c waits for them); new ones,
     * /health included, are told to go elsewhere, and their connections close. */
    if (atomic_load(&gateway_of(conn)->draining)) {
        give_up_connection(conn);
        return gateway_send_error(conn, 503, "shutting_down", "Retry-After: 1\r\n",
                                  "this gateway is stopping; retry on another");
    }
    return 0; /* routed to the handlers */
}

/* ---- responses ------------------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 207: return "Multi-Status";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

/* The route template of a request, for per-route counters (ids never become label values). */
static const char *route_of(const struct mg_connection *conn)
{
    const char *u = mg_get_request_info(conn)->local_uri;
    static const char *const fixed[] = {"/v1/detections", "/v1/detections/batch", "/detect",
                                        "/detect/batch", "/health", "/metrics", "/metrics.json"};
    for (size_t i = 0; u != NULL && i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(u, fixed[i]) == 0)
            return fixed[i];
    if (u != NULL && strncmp(u, "/v1/detections/", 15) == 0) {
        const char *slash = strchr(u + 15, '/');
        return slash == NULL ? "/v1/detections/{id}"
               : strcmp(slash, "/feedback") == 0 ? "/v1/detections/{id}/feedback"
                                                 : "other";
    }
    return "other";
}

/* Reads and discards a body the handler did not need, so the connection can serve its next
 * request (closing it with unread bytes would reset it, and the client could lose the answer),
 * within the request's body deadline. Gives the connection up instead when the body does not
 * arrive in time or is malformed. */
static void drain(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    long long want = ri->content_length, got = 0; /* want < 0: chunked */
    char buf[DRAIN_CHUNK];
    body_read_t reg;
    int ok = 0;
    gateway_t *gw = gateway_of(conn);
    watch_add(gw->body_watch, &reg, ri);
    while (vc_clock_mono_ms() < req_state.deadline_ms) {
        if (want >= 0 && got >= want) {
            ok = 1;
            break;
        }
        size_t ask = sizeof(buf);
        if (want >= 0 && (unsigned long long)(want - got) < ask)
            ask = (size_t)(want - got);
        int n = mg_read(conn, buf, ask);
        if (n > 0) { /* no extension by HTTP_BODY_MIN_RATE: nobody needs these bytes */
            got += n;
            gateway_accesslog_body(n);
            continue;
        }
        ok = n == 0 && want < 0; /* the last chunk */
        break;
    }
    watch_remove(gw->body_watch, &reg);
    if (ok)
        req_state.done = 1;
    else
        give_up_connection(conn);
}

int gateway_send(struct mg_connection *conn, int status, const char *content_type,
                 const char *extra_headers, const void *body, size_t len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (extra_headers == NULL)
        extra_headers = "";
    /* A body the handler gave up on, or one the client holds back until "100 Continue": the
     * connection is not reusable, so it is closed rather than read. */
    if (body_pending(conn) && (req_state.touched || mg_get_header(conn, "Expect") != NULL))
        give_up_connection(conn);
    const char *close_hdr =
        req_state.closing && strstr(extra_headers, "Connection:") == NULL ? "Connection: close\r\n"
                                                                          : "";
    /* Head and body in one write: one syscall, and no second segment for Nagle to hold. */
    char head[4096];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\n"
                      "Content-Type: %s\r\n"
                      "Content-Length: %zu\r\n"
                      "Cache-Control: no-store\r\n"
                      "%s%s%s\r\n",
                      status, reason_phrase(status), content_type, len,
                      gateway_access_headers(conn), extra_headers, close_hdr);
    if (hn < 0 || (size_t)hn >= sizeof(head)) /* bounded by construction; never cut a head */
        hn = snprintf(head, sizeof(head), "HTTP/1.1 500 %s\r\nContent-Length: 0\r\n\r\n",
                      reason_phrase(500));
    /* HEAD gets the headers (Content-Length included) but never a body. */
    size_t blen = strcmp(ri->request_method, "HEAD") != 0 ? len : 0;
    /* Counted before the write: a client that reads /metrics right after its answer sees it. */
    gateway_count_status(gateway_of(conn), route_of(conn), status);
    gateway_accesslog_sent(route_of(conn), status, (size_t)hn + blen);
    char small[8192];
    char *out = (size_t)hn + blen <= sizeof(small) ? small : malloc((size_t)hn + blen);
    if (out != NULL) {
        memcpy(out, head, (size_t)hn);
        if (blen > 0)
            memcpy(out + hn, body, blen);
        mg_write(conn, out, (size_t)hn + blen);
        if (out != small)
            free(out);
    } else {
        mg_write(conn, head, (size_t)hn);
        if (blen > 0)
            mg_write(conn, body, blen);
    }
    if (!req_state.closing && body_pending(conn))
        drain(conn);
    return status;
}

int gateway_send_json(struct mg_connection *conn, int status, const char *extra_headers,
                      const void *json_obj)
{
    char *text = json_dumps(json_obj, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (text == NULL)
        return gateway_send(conn, 500, "application/json", extra_headers, "{}", 2);
    int rc = gateway_send(conn, status, "application/json", extra_headers, text, strlen(text));
    free(text);
    return rc;
}

int gateway_send_error(struct mg_connection *conn, int status, const char *code,
                       const char *extra_headers, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char *body = vc_json_error_body(code, msg);
    if (body == NULL)
        return gateway_send(conn, 500, "application/json", extra_headers, "{}", 2);
    int rc = gateway_send(conn, status, "application/json", extra_headers, body, strlen(body));
    free(body);
    return rc;
}

int gateway_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *code = status == 413   ? "payload_too_large"
                       : status == 431 ? "headers_too_large"
                       : status == 404 ? "not_found"
                       : status == 405 ? "method_not_allowed"
                       : status == 500 ? "internal_error"
                                       : "invalid_request"; /* 400, 411, 505, ... */
    /* civetweb's text is one short line ("Malformed message", "Request Too Large"); a request
     * whose headers did not arrive in time is reported as malformed. */
    char msg[200];
    const char *text = errmsg != NULL && errmsg[0] != '\0' ? errmsg : reason_phrase(status);
    snprintf(msg, sizeof(msg), "%s%.*s",
             status == 400 ? "request line or headers malformed or incomplete: " : "",
             (int)strcspn(text, "\r\n"), text);
    char *body = vc_json_error_body(code, msg);
    if (body == NULL)
        return 1; /* civetweb's own page */
    size_t len = strlen(body);
    gateway_count_status(gateway_of(conn), "other", status);
    gateway_accesslog_unparsed(conn, status, len);
    /* Sent before a request was parsed (or for one that could not be): no keep-alive. */
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\n"
              "Content-Type: application/json\r\n"
              "Content-Length: %zu\r\n"
              "Cache-Control: no-store\r\n"
              "Connection: close\r\n\r\n",
              status, reason_phrase(status), len);
    if (ri->request_method == NULL || strcmp(ri->request_method, "HEAD") != 0)
        mg_write(conn, body, len);
    free(body);
    mg_disable_connection_keep_alive(conn);
    return 0;
}

void gateway_count_status(gateway_t *gw, const char *route, int status)
{
    if (gw == NULL || gw->metrics == NULL)
        return;
    if (status >= 100 && status < 600)
        atomic_fetch_add(&gw->responses[status - 100], 1);
    char name[128];
    snprintf(name, sizeof(name), "vc_http_responses_total{route=\"%s\",code=\"%d\"}", route,
             status);
    vc_counter_t *c =
        vc_metrics_counter(gw->metrics, name, "HTTP responses by route and status code.");
    if (c != NULL)
        vc_counter_add(c, 1);
}

/* ---- bodies ---------------------------------------------------------------------------- */

/* True when the JSON text nests arrays and objects deeper than max levels. A linear scan that
 * skips strings (escapes honoured); anything malformed is left to the parser. */
static int json_too_deep(const char *s, size_t n, int max)
{
    const char *p = s, *end = s + n;
    int depth = 0;
    while (p < end) {
        char c = *p++;
        if (c == '"') {
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (q == NULL)
                    return 0;
                size_t backslashes = 0; /* p - 1 is a quote, so the walk stops by p */
                for (const char *b = q; b > p && b[-1] == '\\'; b--)
                    backslashes++;
                p = q + 1;
                if (backslashes % 2 == 0)
                    break;
            }
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 1;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

static int is_msgpack(const struct mg_connection *conn)
{
    const char *ct = mg_get_header(conn, "Content-Type");
    if (ct == NULL)
        return 0;
    size_t n = strcspn(ct, "; ");
    return (n == 19 && strncasecmp(ct, "application/msgpack", n) == 0) ||
           (n == 21 && strncasecmp(ct, "application/x-msgpack", n) == 0);
}

/* Reads the body into *buf until limit bytes arrived (Content-Length) or its last chunk
 * (chunked, where limit is one past the cap, so a body over the cap shows as got == limit),
 * growing *buf (capacity *cap + 1) as needed. Returns 0, VC_ETIMEDOUT (the deadline passed,
 * or the client went quiet for civetweb's whole wait: half of HTTP_REQUEST_TIMEOUT), VC_EIO
 * (the client went away, or broken chunked framing) or VC_ENOMEM. */
static int read_loop(struct mg_connection *conn, body_read_t *reg, char **buf, size_t *cap,
                     size_t *got, size_t limit, int chunked)
{
    gateway_t *gw = gateway_of(conn);
    while (*got < limit) {
        if (vc_clock_mono_ms() >= req_state.deadline_ms)
            return VC_ETIMEDOUT;
        if (*got == *cap) {
            size_t ncap = *cap * 2 < limit ? *cap * 2 : limit;
            char *nb = realloc(*buf, ncap + 1);
            if (nb == NULL)
                return VC_ENOMEM;
            *buf = nb;
            *cap = ncap;
        }
        int64_t t0 = vc_clock_mono_ms();
        size_t ask = *cap - *got < READ_PIECE ? *cap - *got : READ_PIECE;
        int n = mg_read(conn, *buf + *got, ask);
        if (n > 0) {
            *got += (size_t)n;
            body_progress(gw, reg, n);
            continue;
        }
        if (n == 0 && chunked)
            return 0;
        /* civetweb stops waiting for the next piece after its request_timeout_ms (half of
         * ours): a Content-Length read then returns 0, a chunked one -1 like a framing error. */
        int64_t half = gw->cfg.request_timeout_ms / 2;
        return n == 0 || vc_clock_mono_ms() - t0 >= half - half / 10 ? VC_ETIMEDOUT : VC_EIO;
    }
    return 0;
}

int gateway_read_body(struct mg_connection *conn, size_t max, char **body, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    long long declared = ri->content_length;
    int chunked = is_chunked(conn);
    *body = NULL;
    *len = 0;
    if (!chunked && declared > (long long)max)
        return VC_ETOOBIG; /* refused before reading a byte (the answer drains it) */
    req_state.touched = 1;
    /* The client holds the body back until told to send it (curl does for bodies over 1 MiB,
     * waiting a second otherwise); civetweb leaves this to the handler. */
    const char *expect = mg_get_header(conn, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
        strcmp(ri->http_version, "1.1") == 0 && (chunked || declared > 0))
        mg_printf(conn, "HTTP/1.1 100 Continue\r\n\r\n");
    size_t limit = chunked ? max + 1 : declared > 0 ? (size_t)declared : 0;
    size_t cap = chunked && limit > BODY_FIRST_CAP ? BODY_FIRST_CAP : limit, got = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL)
        return VC_ENOMEM;
    body_read_t reg;
    watch_add(gateway_of(conn)->body_watch, &reg, ri);
    int rc = read_loop(conn, &reg, &buf, &cap, &got, limit, chunked);
    int cut = watch_remove(gateway_of(conn)->body_watch, &reg);
    if (rc != 0 && rc != VC_ENOMEM && (cut || vc_clock_mono_ms() >= req_state.deadline_ms))
        rc = VC_ETIMEDOUT;
    if (rc == 0 && chunked && got > max)
        rc = VC_ETOOBIG;
    if (rc != 0) {
        free(buf);
        give_up_connection(conn);
        return rc;
    }
    req_state.done = 1;
    buf[got] = '\0';
    if (!is_msgpack(conn) && json_too_deep(buf, got, JSON_MAX_DEPTH)) {
        free(buf);
        return VC_EFORMAT;
    }
    *body = buf;
    *len = got;
    return 0;
}

int gateway_handle_not_found(struct mg_connection *conn, void *gw)
{
    (void)gw;
    return gateway_send_error(conn, 404, "not_found", "", "no such route");
}

int gateway_only_get(struct mg_connection *conn)
{
    const char *m = mg_get_request_info(conn)->request_method;
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return 0;
    return gateway_send_error(conn, 405, "method_not_allowed", "Allow: GET, HEAD\r\n",
                              "use GET");
}

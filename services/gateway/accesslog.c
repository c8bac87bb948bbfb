#include "accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client_addr.h"
#include "vc/apikeys.h"
#include "vc/clock.h"
#include "vc/config.h"
#include "vc/error.h"
#include "vc/forwarded.h"

/* One line fits PIPE_BUF, so even on a pipe one write(2) is one atomic line; every field is
 * capped below so a line never needs cutting. */
#define LINE_MAX_BYTES 4096
#define PATH_MAX_LOGGED 256 /* raw bytes of the path; longer paths are cut */
#define METHOD_MAX_LOGGED 16

struct accesslog {
    pthread_rwlock_t lock; /* read: a worker writing a line; write: reopen swapping fd */
    int fd;
    int owned;        /* fd is a file of ours (closed on reopen and close) */
    const char *path; /* the environment's string; NULL for stdout/stderr */
};

typedef struct {
    int active;         /* between begin and end */
    int identified;     /* gateway_access filled the fields below */
    int64_t t0_ns;
    long long bytes_in; /* request body bytes read (by a handler or the drain) */
    size_t bytes_out;   /* response bytes written through gateway_send */
    int status;         /* of the last response sent; 0: none through gateway_send */
    const char *route;  /* static template string */
    char tenant[65];
    char key_prefix[VC_APIKEY_PREFIX_LEN + 1];
    char trace_id[33];
    client_addr_t client;
} access_rec_t;

static _Thread_local access_rec_t rec;

int gateway_accesslog_config(gateway_config_t *c, char *err, size_t errlen)
{
    int rc = vc_config_str("ACCESS_LOG", "off", &c->access_log, err, errlen);
    if (rc == 0 && c->access_log[0] != '/' && strcasecmp(c->access_log, "off") != 0 &&
        strcasecmp(c->access_log, "stdout") != 0 && strcasecmp(c->access_log, "stderr") != 0)
        rc = vc_err(err, errlen, VC_EINVAL,
                    "ACCESS_LOG=%.200s: expected off, stdout, stderr or an absolute path",
                    c->access_log);
    return rc;
}

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int gateway_accesslog_open(gateway_t *gw, char *err, size_t errlen)
{
    const char *where = gw->cfg.access_log;
    if (where == NULL || strcasecmp(where, "off") == 0)
        return 0;
    struct accesslog *al = calloc(1, sizeof(*al));
    if (al == NULL)
        return VC_ENOMEM;
    if (strcasecmp(where, "stdout") == 0) {
        al->fd = STDOUT_FILENO;
    } else if (strcasecmp(where, "stderr") == 0) {
        al->fd = STDERR_FILENO;
    } else {
        al->path = where;
        al->owned = 1;
        al->fd = open_file(where);
    }
    if (al->fd < 0) {
        int e = errno;
        free(al);
        return vc_err(err, errlen, VC_EIO, "ACCESS_LOG=%.200s: %s", where, strerror(e));
    }
    if (pthread_rwlock_init(&al->lock, NULL) != 0) {
        if (al->owned)
            close(al->fd);
        free(al);
        return VC_ENOMEM;
    }
    gw->accesslog = al;
    return 0;
}

int gateway_accesslog_reopen(gateway_t *gw, char *err, size_t errlen)
{
    struct accesslog *al = gw->accesslog;
    if (al == NULL || !al->owned)
        return 0;
    int fd = open_file(al->path);
    if (fd < 0)
        return vc_err(err, errlen, VC_EIO, "%.200s: %s", al->path, strerror(errno));
    /* The old descriptor is closed only when no worker is inside write(2) with it: a closed
     * number reused by another open would get their lines. */
    pthread_rwlock_wrlock(&al->lock);
    int old = al->fd;
    al->fd = fd;
    pthread_rwlock_unlock(&al->lock);
    close(old);
    return 0;
}

void gateway_accesslog_close(gateway_t *gw)
{
    struct accesslog *al = gw->accesslog;
    if (al == NULL)
        return;
    if (al->owned)
        close(al->fd);
    pthread_rwlock_destroy(&al->lock);
    free(al);
    gw->accesslog = NULL;
}

/* ---- the per-request record ------------------------------------------------------------ */

void gateway_accesslog_begin(void)
{
    memset(&rec, 0, sizeof(rec));
    rec.active = 1;
    rec.t0_ns = vc_clock_mono_ns();
}

void gateway_accesslog_body(long long n)
{
    if (n > 0)
        rec.bytes_in += n;
}

void gateway_accesslog_sent(const char *route, int status, size_t bytes)
{
    rec.route = route;
    rec.status = status;
    rec.bytes_out += bytes;
}

void gateway_accesslog_identity(const request_ctx_t *ctx)
{
    rec.identified = 1;
    snprintf(rec.tenant, sizeof(rec.tenant), "%s", ctx->tenant);
    snprintf(rec.key_prefix, sizeof(rec.key_prefix), "%s", ctx->key_prefix);
    snprintf(rec.trace_id, sizeof(rec.trace_id), "%s", ctx->trace_id);
    rec.client = ctx->client;
}

/* ---- the line -------------------------------------------------------------------------- */

typedef struct {
    char buf[LINE_MAX_BYTES];
    size_t len;
} line_t;

static void put(line_t *l, const char *s, size_t n)
{
    if (n > sizeof(l->buf) - 2 - l->len) /* room for "}\n" always kept */
        n = sizeof(l->buf) - 2 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void putf(line_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(line_t *l, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ,"name":"value" with value JSON-escaped (control bytes, quotes, backslashes and every byte
 * over 0x7e as \u00XX, so a hostile path yields valid ASCII JSON), at most max bytes of it;
 * null when value is NULL or empty. */
static void put_str(line_t *l, const char *name, const char *value, size_t max)
{
    putf(l, ",\"%s\":", name);
    if (value == NULL || value[0] == '\0') {
        put(l, "null", 4);
        return;
    }
    put(l, "\"", 1);
    for (size_t i = 0; value[i] != '\0' && i < max; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '"' || c == '\\')
            putf(l, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            putf(l, "\\u%04x", c);
        else
            put(l, (const char *)&c, 1);
    }
    put(l, "\"", 1);
}

static const char *source_name(int source)
{
    return source == VC_FORWARDED_HEADER     ? "header"
           : source == VC_FORWARDED_FALLBACK ? "fallback"
                                             : "peer";
}

static void build(line_t *l, const struct mg_connection *conn, int status)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char ts[32];
    vc_clock_format_rfc3339(vc_clock_wall_ms(), ts, sizeof(ts));
    l->len = 0;
    putf(l, "{\"ts\":\"%s\"", ts);
    put_str(l, "method", ri->request_method, METHOD_MAX_LOGGED);
    put_str(l, "route", rec.route != NULL ? rec.route : "other", 64);
    put_str(l, "path", ri->local_uri, PATH_MAX_LOGGED); /* no query string: it may hold secrets */
    putf(l, ",\"status\":%d,\"bytes_in\":%lld,\"bytes_out\":%zu", status, rec.bytes_in,
         rec.bytes_out);
    putf(l, ",\"ms\":%.3f", (double)(vc_clock_mono_ns() - rec.t0_ns) / 1e6);
    put_str(l, "tenant", rec.tenant, sizeof(rec.tenant));
    put_str(l, "key", rec.key_prefix, sizeof(rec.key_prefix));
    put_str(l, "trace_id", rec.trace_id, sizeof(rec.trace_id));
    put_str(l, "client", rec.client.addr, sizeof(rec.client.addr));
    put_str(l, "client_key", rec.client.key, sizeof(rec.client.key));
    put_str(l, "client_from", source_name(rec.client.source), 16);
    put_str(l, "peer", ri->remote_addr, sizeof(ri->remote_addr));
    memcpy(l->buf + l->len, "}\n", 2);
    l->len += 2;
}

/* Writes the line under the read lock; errors are dropped (logging never fails a request). */
static void emit(struct accesslog *al, const line_t *l)
{
    pthread_rwlock_rdlock(&al->lock);
    size_t off = 0;
    while (off < l->len) {
        ssize_t w = write(al->fd, l->buf + off, l->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    pthread_rwlock_unlock(&al->lock);
}

static gateway_t *gateway_of(const struct mg_connection *conn)
{
    return mg_get_user_data(mg_get_context(conn));
}

void gateway_accesslog_end(const struct mg_connection *conn, int status)
{
    gateway_t *gw = gateway_of(conn);
    if (gw == NULL || gw->accesslog == NULL || !rec.active)
        return;
    rec.active = 0;
    if (!rec.identified) /* /health, /metrics, 404s, refusals before access control */
        gateway_client_addr(conn, &gw->cfg, &rec.client);
    line_t l; /* 4 KiB: end_request runs at the shallow top of the worker's loop */
    build(&l, conn, rec.status != 0 ? rec.status : status);
    emit(gw->accesslog, &l);
}

void gateway_accesslog_unparsed(const struct mg_connection *conn, int status, size_t bytes)
{
    gateway_t *gw = gateway_of(conn);
    if (gw == NULL || gw->accesslog == NULL)
        return;
    gateway_accesslog_begin();
    rec.active = 0;
    rec.bytes_out = bytes;
    /* Headers may not have been parsed: the TCP peer only. */
    const struct mg_request_info *ri = mg_get_request_info(conn);
    vc_netaddr_t peer;
    snprintf(rec.client.addr, sizeof(rec.client.addr), "%.45s", ri->remote_addr);
    if (vc_netaddr_parse(ri->remote_addr, strlen(ri->remote_addr), &peer) != 0 ||
        vc_netaddr_key(&peer, (int)gw->cfg.ipv6_prefix, rec.client.key,
                       sizeof(rec.client.key)) != 0)
        snprintf(rec.client.key, sizeof(rec.client.key), "%s", rec.client.addr);
    line_t l;
    build(&l, conn, status);
    emit(gw->accesslog, &l);
}

/* vc-loadtest's engine: one thread, one epoll set, `concurrency` client slots, each with at
 * most one keep-alive connection and one operation at a time (no pipelining). Operations are
 * handed out by the arrival schedule (sched.h); a slot carries its operation through every
 * request it needs (e2e: submit, then polls) and records the outcome in the stats.
 *
 * Raw sockets rather than libcurl's multi interface: the loop does no per-request allocation
 * and no header parsing beyond what http_resp.c needs, which is what lets one core drive tens
 * of thousands of small requests per second (measured in docs/performance.md). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <jansson.h>

#include "http_resp.h"
#include "loadtest.h"
#include "sched.h"
#include "vc/clock.h"
#include "vc/error.h"

#define READ_BUF 65536
#define MAX_EVENTS 256
#define TICK_MS 50           /* timeout scan and progress granularity */
#define PROBE_INTERVAL_NS 100000000LL
#define PROBE_STREAK 3

/* PH_WAIT: an e2e poll is due at wake_ns; PH_REST: the slot honours a Retry-After until
 * wake_ns before its next operation (--honor-retry-after). */
enum { PH_IDLE, PH_CONNECT, PH_WRITE, PH_READ, PH_WAIT, PH_REST };
enum { REQ_PRIMARY, REQ_POLL, REQ_PROBE };

typedef struct {
    int fd;
    int phase;
    uint32_t events;      /* epoll mask registered for fd (0: none) */
    int kind;             /* REQ_* of the request in flight */
    int reused;           /* the request went out on a kept-alive connection */
    int retried;          /* already re-sent once on a fresh connection */
    int got_bytes;        /* some response bytes arrived */
    char head[2048];
    size_t head_len;
    const char *body;
    size_t body_len;
    size_t off;           /* bytes of head + body written */
    vc_httpresp_t resp;
    int64_t intended_ns, sent_ns, deadline_ns, wake_ns, e2e_deadline_ns;
    int64_t submit_ns;    /* when the operation's submission was first sent */
    uint64_t op_index;
    char id[128];
    int submit_status;    /* HTTP status of the submission (0: none yet) */
    int submit_resent;    /* the submission went out a second time (stale keep-alive) */
    char err_code[40];    /* error.code of a non-2xx submission reply */
} slot_t;

typedef struct {
    const vc_load_opts_t *opts;
    const vc_workload_t *wl;
    vc_load_stats_t *st;
    int ep;
    slot_t *slots;
    int nslots;           /* concurrency + 1 (the recovery probe's slot, last) */
    int *free_stack;
    int nfree;
    int busy;             /* operation slots in use */
    int waiting;          /* slots in PH_WAIT or PH_REST */
    vc_sched_t sched;
    int load_over;
    int probing;
    int probe_streak;
    int64_t next_probe_ns;
    int64_t next_tick_ns, next_progress_ns;
    uint64_t last_finished;
    int64_t wall_off_ms;  /* wall clock minus monotonic clock, for --ids-out records */
    char rbuf[READ_BUF];
} runner_t;

static void slot_close(slot_t *s)
{
    if (s->fd >= 0)
        close(s->fd); /* also leaves the epoll set */
    s->fd = -1;
    s->events = 0;
}

/* Registers interest mask for s's socket. Returns 0 or VC_EIO. */
static int want(runner_t *r, slot_t *s, uint32_t mask)
{
    if (s->events == mask)
        return 0;
    struct epoll_event ev = {.events = mask, .data.u32 = (uint32_t)(s - r->slots)};
    int op = s->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(r->ep, op, s->fd, &ev) != 0)
        return VC_EIO;
    s->events = mask;
    return 0;
}

static uint64_t us_since(int64_t t0, int64_t now)
{
    return now > t0 ? (uint64_t)((now - t0) / 1000) : 0;
}

/* Wall-clock ms of a monotonic instant (0 stays 0: "did not happen"). */
static int64_t wall_ms(const runner_t *r, int64_t mono_ns)
{
    return mono_ns > 0 ? r->wall_off_ms + mono_ns / 1000000 : 0;
}

static void slot_free(runner_t *r, slot_t *s)
{
    r->busy--;
    r->free_stack[r->nfree++] = (int)(s - r->slots);
}

/* A closed-loop client told to come back later (429/503 with Retry-After) does so, as
 * well-behaved clients do, instead of retrying at once into the refusal. Once the load is
 * over nothing more is issued, so there is nothing to wait for. */
static int must_rest(const runner_t *r, const slot_t *s)
{
    int refused = s->resp.status == 429 || s->resp.status == 503;
    return r->opts->honor_retry_after && r->opts->rate <= 0 && !r->load_over && refused &&
           s->resp.retry_after_s > 0;
}

/* Ends a rest: its time has come, or the load is over (runner_loop ends every rest then). */
static void slot_rested(runner_t *r, slot_t *s)
{
    r->waiting--;
    s->phase = PH_IDLE;
    slot_free(r, s);
}

/* Frees s's operation slot (or rests it) and counts the outcome. err < 0: success. */
static void op_finish(runner_t *r, slot_t *s, int64_t now, int err)
{
    vc_load_stats_t *st = r->st;
    if (r->opts->ids_out != NULL)
        vc_load_ids_record(r->opts->ids_out, s->op_index, s->id,
                           err < 0 ? "ok" : vc_load_err_name((vc_load_err_t)err),
                           s->submit_status, s->err_code, wall_ms(r, s->intended_ns),
                           wall_ms(r, s->submit_ns), wall_ms(r, now), 1 + s->submit_resent);
    st->finished++;
    if (err < 0)
        st->ok++;
    else
        st->errors[err]++;
    st->t_end_ns = now;
    if (s->phase == PH_WAIT)
        r->waiting--;
    s->phase = PH_IDLE;
    if (must_rest(r, s)) {
        s->phase = PH_REST; /* the slot stays busy until slot_rested */
        s->wake_ns = now + s->resp.retry_after_s * 1000000000LL;
        r->waiting++;
        return;
    }
    slot_free(r, s);
}

/* Writes into out the start of a submission body that carries `id`: the opening of a map
 * with one more member than the prepared bodies ({"detection_type", "audio_data"}) and the
 * "detection_id" member; the prepared body then follows without its own map header.
 * Returns the length (id is at most 127 bytes of [A-Za-z0-9._:-], checked by the caller). */
static size_t id_member(const char *id, int msgpack, char *out, size_t cap)
{
    size_t n = strlen(id);
    if (!msgpack) {
        int w = snprintf(out, cap, "{\"detection_id\":\"%s\",", id);
        return w > 0 && (size_t)w < cap ? (size_t)w : 0;
    }
    static const char key[] = "\x83\xac" "detection_id";
    size_t pos = sizeof(key) - 1;
    if (pos + 2 + n > cap)
        return 0;
    memcpy(out, key, pos);
    if (n < 32) {
        out[pos++] = (char)(0xa0 | n);
    } else {
        out[pos++] = (char)0xd9;
        out[pos++] = (char)n;
    }
    memcpy(out + pos, id, n);
    return pos + n;
}

/* Writes the request head for s's next request of the given kind. */
static void build_head(runner_t *r, slot_t *s, int kind)
{
    const vc_load_opts_t *o = r->opts;
    char auth[600] = "", path[600];
    const char *method = "POST";
    s->kind = kind;
    s->body = NULL;
    s->body_len = 0;
    if (o->api_key != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", o->api_key);
    if (kind == REQ_POLL) {
        method = "GET";
        if (o->wait_s > 0) /* long-poll: the gateway holds the GET until final or N s */
            snprintf(path, sizeof(path), "%s/v1/detections/%s?wait=%d", o->prefix, s->id,
                     o->wait_s);
        else
            snprintf(path, sizeof(path), "%s/v1/detections/%s", o->prefix, s->id);
    } else if (o->type == VC_LOAD_HEALTH) {
        method = "GET";
        snprintf(path, sizeof(path), "%s/health", o->prefix);
    } else if (o->type == VC_LOAD_BATCH) {
        snprintf(path, sizeof(path), "%s/v1/detections/batch", o->prefix);
    } else if (o->type == VC_LOAD_E2E && o->wait_s > 0 && kind == REQ_PRIMARY) {
        snprintf(path, sizeof(path), "%s/v1/detections?wait=%d", o->prefix, o->wait_s);
    } else {
        snprintf(path, sizeof(path), "%s/v1/detections", o->prefix);
    }
    char idpart[160];
    size_t idlen = 0;
    if (method[0] == 'P') {
        const vc_load_body_t *b = &r->wl->bodies[s->op_index % r->wl->nbodies];
        s->body = b->data;
        s->body_len = b->len;
        if (kind == REQ_PRIMARY && o->id_prefix != NULL && o->type != VC_LOAD_BATCH) {
            snprintf(s->id, sizeof(s->id), "%s%llu", o->id_prefix,
                     (unsigned long long)s->op_index);
            idlen = id_member(s->id, r->opts->msgpack, idpart, sizeof(idpart));
            if (idlen > 0) { /* the prefix replaces the body's map header */
                s->body++;
                s->body_len--;
            }
        }
    }
    char clen[96] = "";
    if (s->body != NULL)
        snprintf(clen, sizeof(clen), "Content-Type: %s\r\nContent-Length: %zu\r\n",
                 r->wl->content_type, idlen + s->body_len);
    int n = snprintf(s->head, sizeof(s->head), "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s\r\n",
                     method, path, o->host, o->port, auth, clen);
    s->head_len = n > 0 && (size_t)n + idlen < sizeof(s->head) ? (size_t)n : 0;
    if (s->head_len > 0 && idlen > 0) {
        /* The start of the body travels at the end of the head buffer. */
        memcpy(s->head + s->head_len, idpart, idlen);
        s->head_len += idlen;
    }
}

static void req_send(runner_t *r, slot_t *s, int64_t now);
static void req_failed(runner_t *r, slot_t *s, int64_t now, int err);

/* Writes as much of the request as the socket takes. */
static void try_write(runner_t *r, slot_t *s, int64_t now)
{
    while (s->off < s->head_len + s->body_len) {
        struct iovec iov[2];
        int n = 0;
        if (s->off < s->head_len) {
            iov[n].iov_base = s->head + s->off;
            iov[n++].iov_len = s->head_len - s->off;
            if (s->body_len > 0) {
                iov[n].iov_base = (void *)s->body;
                iov[n++].iov_len = s->body_len;
            }
        } else {
            iov[n].iov_base = (void *)(s->body + (s->off - s->head_len));
            iov[n++].iov_len = s->head_len + s->body_len - s->off;
        }
        ssize_t w = writev(s->fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* EPOLLIN too: a server may answer (413, 503) before taking the whole body. */
            s->phase = PH_WRITE;
            if (want(r, s, EPOLLOUT | EPOLLIN) != 0)
                req_failed(r, s, now, VC_LOAD_ERR_IO);
            return;
        }
        if (w < 0) {
            req_failed(r, s, now, VC_LOAD_ERR_IO);
            return;
        }
        s->off += (size_t)w;
    }
    s->phase = PH_READ;
    if (want(r, s, EPOLLIN) != 0)
        req_failed(r, s, now, VC_LOAD_ERR_IO);
}

/* Opens a non-blocking connection for s. Returns 0 (connected or in progress) or -1. */
static int conn_open(runner_t *r, slot_t *s)
{
    s->fd = socket(r->opts->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return -1;
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s->fd, (const struct sockaddr *)&r->opts->addr, r->opts->addrlen) != 0 &&
        errno != EINPROGRESS) {
        slot_close(s);
        return -1;
    }
    s->phase = PH_CONNECT;
    if (want(r, s, EPOLLOUT) != 0) {
        slot_close(s);
        return -1;
    }
    return 0;
}

/* Sends the request prepared in s (kind and head set), opening a connection if needed. */
static void req_send(runner_t *r, slot_t *s, int64_t now)
{
    s->off = 0;
    s->got_bytes = 0;
    s->sent_ns = now;
    /* A ?wait=N request may legitimately be held N seconds before its answer. */
    double wait = r->opts->type == VC_LOAD_E2E ? (double)r->opts->wait_s : 0.0;
    s->deadline_ns = now + (int64_t)((r->opts->timeout_s + wait) * 1e9);
    vc_httpresp_reset(&s->resp);
    if (s->head_len == 0) {
        req_failed(r, s, now, VC_LOAD_ERR_PROTOCOL);
        return;
    }
    if (s->fd >= 0) {
        s->reused = 1;
        try_write(r, s, now);
        return;
    }
    s->reused = 0;
    if (conn_open(r, s) != 0)
        req_failed(r, s, now, VC_LOAD_ERR_CONNECT);
}

/* e2e: polls again after the poll interval, unless the result deadline has passed. */
static void poll_later(runner_t *r, slot_t *s, int64_t now)
{
    if (now >= s->e2e_deadline_ns) {
        op_finish(r, s, now, VC_LOAD_ERR_RESULT_TIMEOUT);
        return;
    }
    s->phase = PH_WAIT;
    s->wake_ns = now + (int64_t)r->opts->poll_ms * 1000000LL;
    r->waiting++;
}

static void probe_done(runner_t *r, slot_t *s, int64_t now, int good)
{
    r->st->probes++;
    s->phase = PH_IDLE;
    r->probe_streak = good ? r->probe_streak + 1 : 0;
    if (r->probe_streak >= PROBE_STREAK && r->probing) {
        r->probing = 0;
        r->st->recovered = 1;
        r->st->recovery_s = (double)(now - r->st->t_load_end_ns) / 1e9;
    }
}

/* A request of s ended without a usable response. Retries once on a fresh connection when a
 * kept-alive connection turned out to be closed by the server before answering. */
static void req_failed(runner_t *r, slot_t *s, int64_t now, int err)
{
    slot_close(s);
    if (err == VC_LOAD_ERR_IO && s->reused && !s->got_bytes && !s->retried) {
        s->retried = 1;
        s->submit_resent |= s->kind == REQ_PRIMARY;
        req_send(r, s, now);
        return;
    }
    if (s->kind == REQ_PROBE)
        probe_done(r, s, now, 0);
    else if (s->kind == REQ_POLL)
        poll_later(r, s, now);
    else
        op_finish(r, s, now, err);
}

/* Reads "detection_id" and "status" of a JSON reply into s->id and status. Returns 0 when
 * an id was found. */
static int parse_reply(slot_t *s, char *status, size_t cap)
{
    status[0] = '\0';
    json_t *o = json_loadb(s->resp.body, s->resp.body_len, 0, NULL);
    const char *id = json_string_value(json_object_get(o, "detection_id"));
    const char *stv = json_string_value(json_object_get(o, "status"));
    int rc = -1;
    if (stv != NULL)
        snprintf(status, cap, "%s", stv);
    if (id != NULL && strlen(id) < sizeof(s->id) && strcspn(id, "/?# %\r\n") == strlen(id)) {
        memcpy(s->id, id, strlen(id) + 1);
        rc = 0;
    }
    json_decref(o);
    return rc;
}

/* Keeps the "error.code" of a non-2xx JSON reply in s->err_code (empty when there is none). */
static void error_code_of(slot_t *s)
{
    s->err_code[0] = '\0';
    json_t *o = json_loadb(s->resp.body, s->resp.body_len, 0, NULL);
    const char *code = json_string_value(json_object_get(json_object_get(o, "error"), "code"));
    if (code != NULL && strlen(code) < sizeof(s->err_code) &&
        strcspn(code, " \t\r\n") == strlen(code))
        memcpy(s->err_code, code, strlen(code) + 1);
    json_decref(o);
}

/* e2e: the submit or a poll answered. */
static void on_e2e_response(runner_t *r, slot_t *s, int64_t now)
{
    vc_load_stats_t *st = r->st;
    int code = s->resp.status;
    char status[32];
    if (s->kind == REQ_POLL) {
        st->polls++;
        st->poll_status[code]++;
        if (code == 200 && parse_reply(s, status, sizeof(status)) == 0) {
            if (strcmp(status, "completed") == 0) {
                vc_hist_record(st->latency, us_since(s->intended_ns, now));
                op_finish(r, s, now, -1);
                return;
            }
            if (strcmp(status, "failed") == 0) {
                op_finish(r, s, now, VC_LOAD_ERR_RESULT_FAILED);
                return;
            }
        }
        poll_later(r, s, now);
        return;
    }
    st->status[code]++;
    s->submit_status = code;
    if (code < 200 || code > 299) {
        error_code_of(s);
        op_finish(r, s, now, VC_LOAD_ERR_HTTP);
        return;
    }
    if (parse_reply(s, status, sizeof(status)) != 0) {
        op_finish(r, s, now, VC_LOAD_ERR_NO_ID);
        return;
    }
    vc_hist_record(st->submit, us_since(s->intended_ns, now));
    vc_hist_record(st->service, us_since(s->sent_ns, now));
    if (strcmp(status, "completed") == 0) { /* ?wait= answered with the result */
        vc_hist_record(st->latency, us_since(s->intended_ns, now));
        op_finish(r, s, now, -1);
    } else if (strcmp(status, "failed") == 0) {
        op_finish(r, s, now, VC_LOAD_ERR_RESULT_FAILED);
    } else {
        s->e2e_deadline_ns = now + (int64_t)(r->opts->e2e_timeout_s * 1e9);
        poll_later(r, s, now);
    }
}

static void on_response(runner_t *r, slot_t *s, int64_t now)
{
    int code = s->resp.status;
    int ok2xx = code >= 200 && code <= 299;
    s->retried = 0;
    if (!s->resp.keep_alive || s->off < s->head_len + s->body_len)
        slot_close(s); /* closing, or answered before our request was fully sent */
    if (s->kind == REQ_PROBE) {
        probe_done(r, s, now,
                   ok2xx && (double)(now - s->sent_ns) <= r->opts->recovery_ms * 1e6);
        return;
    }
    if (r->opts->type == VC_LOAD_E2E) {
        on_e2e_response(r, s, now);
        return;
    }
    r->st->status[code]++;
    s->submit_status = code;
    if (!ok2xx)
        error_code_of(s);
    else if (r->opts->ids_out != NULL && r->opts->id_prefix == NULL &&
             r->opts->type != VC_LOAD_HEALTH) {
        char status[32];
        parse_reply(s, status, sizeof(status)); /* the gateway's id, for the record */
    }
    int ok = r->opts->type == VC_LOAD_HEALTH ? code == 200 : ok2xx;
    if (ok) {
        vc_hist_record(r->st->latency, us_since(s->intended_ns, now));
        vc_hist_record(r->st->service, us_since(s->sent_ns, now));
    }
    op_finish(r, s, now, ok ? -1 : VC_LOAD_ERR_HTTP);
}

static void on_readable(runner_t *r, slot_t *s, int64_t now)
{
    for (;;) {
        ssize_t n = recv(s->fd, r->rbuf, sizeof(r->rbuf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            req_failed(r, s, now, VC_LOAD_ERR_IO);
            return;
        }
        if (n == 0) {
            if (s->got_bytes && vc_httpresp_eof(&s->resp) == 1) {
                slot_close(s);
                on_response(r, s, now);
            } else {
                req_failed(r, s, now, VC_LOAD_ERR_IO);
            }
            return;
        }
        s->got_bytes = 1;
        size_t used = 0;
        int rc = vc_httpresp_feed(&s->resp, r->rbuf, (size_t)n, &used);
        if (rc < 0 || (rc == 1 && used != (size_t)n)) {
            req_failed(r, s, now, VC_LOAD_ERR_PROTOCOL); /* nothing was pipelined */
            return;
        }
        if (rc == 1) {
            on_response(r, s, now);
            return;
        }
    }
}

static void on_event(runner_t *r, slot_t *s, uint32_t ev, int64_t now)
{
    if (s->phase == PH_CONNECT) {
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
            slot_close(s);
            s->reused = 0; /* a refused connect is not a stale keep-alive */
            req_failed(r, s, now, VC_LOAD_ERR_CONNECT);
            return;
        }
        try_write(r, s, now);
    } else if (s->phase == PH_WRITE) {
        if (ev & EPOLLIN)
            on_readable(r, s, now);
        if (s->phase != PH_WRITE || s->fd < 0)
            return;
        if (ev & (EPOLLERR | EPOLLHUP))
            req_failed(r, s, now, VC_LOAD_ERR_IO);
        else if (ev & EPOLLOUT)
            try_write(r, s, now);
    } else if (s->phase == PH_READ) {
        on_readable(r, s, now);
    } else {
        slot_close(s); /* an idle kept-alive connection closed by the server */
    }
}

/* Timeouts of requests in flight and due e2e polls. */
static void scan_slots(runner_t *r, int64_t now, int timeouts)
{
    for (int i = 0; i < r->nslots; i++) {
        slot_t *s = &r->slots[i];
        if (s->phase == PH_REST && s->wake_ns <= now) {
            slot_rested(r, s);
        } else if (s->phase == PH_WAIT && s->wake_ns <= now) {
            r->waiting--;
            s->phase = PH_IDLE;
            s->retried = 0;
            build_head(r, s, REQ_POLL);
            req_send(r, s, now);
        } else if (timeouts && s->phase >= PH_CONNECT && s->phase <= PH_READ &&
                   now >= s->deadline_ns) {
            s->reused = 0;
            req_failed(r, s, now, VC_LOAD_ERR_TIMEOUT);
        }
    }
}

/* Records an open-loop operation that was never sent (no slot within --timeout). */
static void record_late(runner_t *r, uint64_t index, int64_t intended, int64_t now)
{
    char id[128] = "-";
    if (r->opts->id_prefix != NULL && r->opts->type != VC_LOAD_BATCH)
        snprintf(id, sizeof(id), "%s%llu", r->opts->id_prefix, (unsigned long long)index);
    vc_load_ids_record(r->opts->ids_out, index, id, vc_load_err_name(VC_LOAD_ERR_LATE), 0, "-",
                       wall_ms(r, intended), 0, wall_ms(r, now), 0);
}

/* Starts due operations on free slots. */
static void start_ops(runner_t *r, int64_t now)
{
    int64_t intended = 0;
    int64_t late_ns = (int64_t)(r->opts->timeout_s * 1e9);
    while (r->nfree > 0 && vc_sched_take(&r->sched, now, &intended)) {
        r->st->started++;
        if (r->opts->rate > 0 && now - intended > late_ns) {
            r->st->finished++;
            r->st->errors[VC_LOAD_ERR_LATE]++;
            r->st->t_end_ns = now;
            if (r->opts->ids_out != NULL)
                record_late(r, r->sched.issued - 1, intended, now);
            continue;
        }
        slot_t *s = &r->slots[r->free_stack[--r->nfree]];
        r->busy++;
        s->op_index = r->sched.issued - 1;
        s->intended_ns = intended;
        s->submit_ns = now;
        s->retried = 0;
        s->id[0] = '\0';
        s->submit_status = 0;
        s->submit_resent = 0;
        s->err_code[0] = '\0';
        build_head(r, s, REQ_PRIMARY);
        req_send(r, s, now);
    }
}

static void progress(runner_t *r, int64_t now, int final)
{
    vc_load_stats_t *st = r->st;
    double el = (double)(now - st->t_start_ns) / 1e9;
    double p99 = (double)vc_hist_percentile(st->latency, 99.0) / 1000.0;
    fprintf(stderr,
            "%s[%6.1fs] done %llu ok %llu (%llu/s) inflight %d backlog %llu p99 %.1f ms%s",
            isatty(2) ? "\r" : "", el, (unsigned long long)st->finished,
            (unsigned long long)st->ok, (unsigned long long)(st->finished - r->last_finished),
            r->busy, (unsigned long long)vc_sched_backlog(&r->sched, now), p99,
            isatty(2) && !final ? "   " : "\n");
    r->last_finished = st->finished;
}

/* Milliseconds epoll may sleep: until the next arrival, poll, probe or tick. */
static int wait_ms(runner_t *r, int64_t now)
{
    int64_t until = r->next_tick_ns;
    if (r->nfree > 0) {
        int64_t t = vc_sched_next_ns(&r->sched);
        if (t < until)
            until = t;
    }
    for (int i = 0; r->waiting > 0 && i < r->nslots; i++) {
        if ((r->slots[i].phase == PH_WAIT || r->slots[i].phase == PH_REST) &&
            r->slots[i].wake_ns < until)
            until = r->slots[i].wake_ns;
    }
    if (r->probing && r->next_probe_ns < until)
        until = r->next_probe_ns;
    if (until <= now)
        return 0;
    return (int)((until - now + 999999) / 1000000);
}

static void probe_tick(runner_t *r, int64_t now)
{
    slot_t *s = &r->slots[r->nslots - 1];
    if (!r->probing || s->phase != PH_IDLE || now < r->next_probe_ns)
        return;
    if (now - r->st->t_load_end_ns > (int64_t)(r->opts->recovery_max_s * 1e9)) {
        r->probing = 0; /* gave up: recovered stays 0 */
        r->st->recovery_s = (double)(now - r->st->t_load_end_ns) / 1e9;
        return;
    }
    r->next_probe_ns = now + PROBE_INTERVAL_NS;
    s->op_index = r->st->probes;
    s->retried = 0;
    build_head(r, s, REQ_PROBE);
    req_send(r, s, now);
}

static int runner_loop(runner_t *r)
{
    struct epoll_event evs[MAX_EVENTS];
    int64_t now = vc_clock_mono_ns();
    for (;;) {
        if (r->opts->stop != NULL && *r->opts->stop && !r->sched.stopped)
            vc_sched_stop(&r->sched);
        start_ops(r, now);
        if (!r->load_over && vc_sched_done(&r->sched, now)) {
            r->load_over = 1;
            r->st->t_load_end_ns = now;
            for (int i = 0; r->waiting > 0 && i < r->nslots; i++)
                if (r->slots[i].phase == PH_REST)
                    slot_rested(r, &r->slots[i]);
            r->probing = r->opts->recovery_ms > 0;
            r->next_probe_ns = now;
        }
        probe_tick(r, now);
        slot_t *probe = &r->slots[r->nslots - 1];
        if (r->load_over && r->busy == 0 && !r->probing && probe->phase == PH_IDLE)
            break;
        int n = epoll_wait(r->ep, evs, MAX_EVENTS, wait_ms(r, now));
        if (n < 0 && errno != EINTR)
            return VC_EIO;
        now = vc_clock_mono_ns();
        for (int i = 0; i < n; i++)
            on_event(r, &r->slots[evs[i].data.u32], evs[i].events, now);
        int tick = now >= r->next_tick_ns;
        if (tick || r->waiting > 0)
            scan_slots(r, now, tick);
        if (tick)
            r->next_tick_ns = now + TICK_MS * 1000000LL;
        if (r->opts->progress && now >= r->next_progress_ns) {
            progress(r, now, 0);
            r->next_progress_ns = now + 1000000000LL;
        }
    }
    if (r->opts->progress)
        progress(r, now, 1);
    return 0;
}

int vc_load_run(const vc_load_opts_t *opts, const vc_workload_t *wl, vc_load_stats_t *st,
                char *err, size_t errlen)
{
    int rc = 0;
    runner_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory");
    r->opts = opts;
    r->wl = wl;
    r->st = st;
    r->nslots = opts->concurrency + 1;
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    r->slots = calloc((size_t)r->nslots, sizeof(*r->slots));
    r->free_stack = calloc((size_t)r->nslots, sizeof(int));
    if (r->ep < 0 || r->slots == NULL || r->free_stack == NULL) {
        rc = vc_err(err, errlen, VC_ENOMEM, "no memory or epoll for %d slots", r->nslots);
        goto fail;
    }
    for (int i = 0; i < r->nslots; i++) {
        r->slots[i].fd = -1;
        if (vc_httpresp_init(&r->slots[i].resp) != 0) {
            rc = vc_err(err, errlen, VC_ENOMEM, "no memory for %d slots", r->nslots);
            goto fail;
        }
    }
    for (int i = opts->concurrency - 1; i >= 0; i--)
        r->free_stack[r->nfree++] = i;
    int64_t now = vc_clock_mono_ns();
    r->wall_off_ms = vc_clock_wall_ms() - now / 1000000;
    if (opts->ids_out != NULL)
        vc_load_ids_header(opts->ids_out);
    st->t_start_ns = st->t_end_ns = now;
    r->next_tick_ns = now;
    r->next_progress_ns = now + 1000000000LL;
    vc_sched_init(&r->sched, opts->rate, opts->requests, opts->duration_s, now);
    rc = runner_loop(r);
    if (rc != 0)
        vc_err(err, errlen, rc, "epoll_wait failed");
fail:
    for (int i = 0; r->slots != NULL && i < r->nslots; i++) {
        slot_close(&r->slots[i]);
        vc_httpresp_free(&r->slots[i].resp);
    }
    if (r->ep >= 0)
        close(r->ep);
    free(r->slots);
    free(r->free_stack);
    free(r);
    return rc;
}

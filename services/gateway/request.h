#ifndef VC_GATEWAY_REQUEST_H
#define VC_GATEWAY_REQUEST_H
/* Per-request HTTP state shared by the gateway's HTTP plumbing (private to it):
 *   request.c     begin/end of a request, framing checks, giving a connection up;
 *   body_watch.c  the body watch thread that cuts body reads past their deadline;
 *   respond.c     complete responses, JSON errors, per-status counters;
 *   body.c        bounded body reads, the drain of an unneeded body, the JSON depth scan.
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
#include <stdint.h>

#include "gateway.h"

typedef struct {
    int64_t base_ms;     /* monotonic: headers done + HTTP_REQUEST_TIMEOUT */
    int64_t deadline_ms; /* the body must have arrived by then: base + bytes / min rate */
    long long bytes;     /* body bytes received so far */
    int touched;         /* a handler started reading the body */
    int done;            /* the body was read (or drained) to its end */
    int closing;         /* the connection closes after this response */
    int cut;             /* the reading side of the socket is shut */
    long long reserved;  /* bytes of gw->inflight_bytes this request holds (body.c) */
} req_state_t;

/* The state of the request this worker thread serves (request.c resets it per request). */
extern _Thread_local req_state_t gateway__req;

/* A body read registered with the body watch; lives on the reader's stack. */
typedef struct body_read {
    struct body_read *prev, *next;
    int64_t deadline_ms;
    char addr[48]; /* the connection: peer address and port, local port */
    int port, server_port;
    int cut; /* the watch shut its reading side */
} body_read_t;

/* request.c */
gateway_t *gateway__of(const struct mg_connection *conn);
int gateway__is_chunked(const struct mg_connection *conn);
/* True while the request declared a body that nobody has read to its end. */
int gateway__body_pending(const struct mg_connection *conn);
/* The connection will not serve another request: close it after the response, and shut its
 * reading side when a body is left unread so civetweb does not wait to discard it. */
void gateway__give_up_connection(struct mg_connection *conn);

/* body_watch.c */
/* Shuts the reading side of a connection: a blocked or later mg_read returns at once, while
 * the response can still be written. */
void gateway__cut_reading(const char *addr, int port, int server_port);
/* Registers the current request's body read (r lives on the caller's stack until
 * gateway__watch_remove). w may be NULL (no watch). */
void gateway__watch_add(struct body_watch *w, body_read_t *r,
                        const struct mg_request_info *ri);
/* Unregisters r; returns 1 when the watch cut its connection meanwhile. */
int gateway__watch_remove(struct body_watch *w, body_read_t *r);
/* Counts n more body bytes: the deadline moves a second later per HTTP_BODY_MIN_RATE bytes,
 * here and in the watch's copy r (may be NULL). */
void gateway__body_progress(const gateway_t *gw, body_read_t *r, int n);

/* body.c */
/* Reads and discards the unread body of a successful answer, within the body deadline; gives
 * the connection up when it does not arrive in time or is malformed. */
void gateway__drain(struct mg_connection *conn);

#endif

#ifndef VC_LOAD_HTTP_RESP_H
#define VC_LOAD_HTTP_RESP_H
/* Incremental HTTP/1.1 response parser of the load tool: status line, the headers it needs
 * (Content-Length, Transfer-Encoding: chunked, Connection: close, Retry-After in seconds),
 * and the body framed by
 * length, chunks or connection close. The first VC_HTTPRESP_BODY_CAP bytes of the body are
 * kept (enough for the API's JSON replies); the rest is counted and dropped. A header line
 * over VC_HTTPRESP_LINE_CAP bytes is a protocol error, never an allocation. */
#include <stddef.h>

#define VC_HTTPRESP_LINE_CAP 8192
#define VC_HTTPRESP_BODY_CAP 65536

typedef struct {
    int state;              /* internal */
    int status;             /* HTTP status, once the status line is parsed */
    int keep_alive;         /* 0 when the server will close the connection */
    int chunked;
    long long content_length; /* -1 when absent */
    long long retry_after_s;  /* Retry-After in delta-seconds; -1 when absent or a date */
    long long remaining;    /* internal: bytes left in the body or chunk */
    size_t line_len;        /* internal */
    char line[VC_HTTPRESP_LINE_CAP];
    size_t body_len;        /* bytes kept in body (NUL-terminated) */
    long long body_total;   /* bytes of body seen */
    char *body;             /* VC_HTTPRESP_BODY_CAP + 1 bytes, owned */
} vc_httpresp_t;

/* Prepares r for a first response. Returns 0 or VC_ENOMEM; release with vc_httpresp_free. */
int vc_httpresp_init(vc_httpresp_t *r);

/* Frees what init allocated. */
void vc_httpresp_free(vc_httpresp_t *r);

/* Resets r for the next response on the same connection (keeps the body buffer). */
void vc_httpresp_reset(vc_httpresp_t *r);

/* Feeds len bytes. Returns 1 when the response is complete (*used says how many bytes of buf
 * it took; the rest belongs to a next response), 0 when it needs more, VC_EPROTO on a
 * malformed or oversized response. */
int vc_httpresp_feed(vc_httpresp_t *r, const char *buf, size_t len, size_t *used);

/* Tells the parser the server closed the connection. Returns 1 when that completes the
 * response (a close-delimited body), VC_EPROTO otherwise (a truncated response). */
int vc_httpresp_eof(vc_httpresp_t *r);

#endif

#ifndef VC_TEST_RAWHTTP_H
#define VC_TEST_RAWHTTP_H
/* Raw HTTP/1.1 over a plain TCP socket, for tests that must send what no HTTP client library
 * would: trickled headers, bodies longer or shorter than declared, endless chunked bodies,
 * header floods. Every call is bounded by a timeout; nothing here sleeps to synchronise
 * (the trickle's pauses are the test's input, and waits are poll()s on the socket). */
#include <stddef.h>

typedef struct {
    int status;      /* from the status line; 0 when none arrived */
    char head[8192]; /* status line and headers, NUL-terminated (truncated if longer) */
    char *body;      /* malloc'd, NUL-terminated; caller frees with vc_raw_response_free */
    size_t body_len;
} vc_raw_response_t;

/* Connects to the host:port of base ("http://127.0.0.1:PORT"). Returns the socket; fails the
 * test when the connection is refused. */
int vc_raw_connect(const char *base);

/* Sends all of buf. Returns 0, or -1 when the peer closed or reset the connection. */
int vc_raw_send(int fd, const void *buf, size_t len);

/* Sends buf one byte every interval_ms for at most max_ms, stopping early when the server
 * closes the connection (or answers: the answer stays readable). Returns the bytes sent;
 * *closed_ms (may be NULL) gets the milliseconds from the call until the server closed or
 * answered, or -1 when it did neither. */
size_t vc_raw_trickle(int fd, const void *buf, size_t len, int interval_ms, int max_ms,
                      long *closed_ms);

/* Reads one response (status line, headers, then exactly its Content-Length body, so a
 * pipelined response behind it stays readable) within timeout_ms. Interim 1xx responses are
 * skipped. Returns 0 with *r filled, -1 when the connection closed before a complete
 * response, -2 on timeout. Free with vc_raw_response_free either way. */
int vc_raw_read_response(int fd, int timeout_ms, vc_raw_response_t *r);
void vc_raw_response_free(vc_raw_response_t *r);

/* Reads exactly one status line + header block (an interim 1xx included) into buf (NUL-
 * terminated) within timeout_ms, nothing past it. Returns its status, -1 when the connection
 * closed or the head does not fit cap, -2 on timeout. */
int vc_raw_read_head(int fd, int timeout_ms, char *buf, size_t cap);

/* Waits until the server closes the connection (EOF or reset), discarding anything it sends.
 * Returns the milliseconds waited, or -1 when it stayed open for timeout_ms. */
long vc_raw_wait_closed(int fd, int timeout_ms);

/* One request on a fresh connection: connect, send req (len bytes), read the response within
 * timeout_ms, close. Returns what vc_raw_read_response returns. */
int vc_raw_exchange(const char *base, const void *req, size_t len, int timeout_ms,
                    vc_raw_response_t *r);

/* Checks that r is a JSON error {"error":{"code","message"}} with the given status (and code,
 * unless NULL); fails the test, naming `what`, otherwise. */
void vc_raw_expect_json_error(const vc_raw_response_t *r, int status, const char *code,
                              const char *what);

/* Milliseconds of CLOCK_MONOTONIC. */
long vc_raw_now_ms(void);

#endif

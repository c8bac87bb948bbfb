#ifndef VC_GATEWAY_H
#define VC_GATEWAY_H
/* vc-gateway: the HTTP front door. civetweb worker threads run the handlers; every piece of
 * shared state here is either immutable after start-up or thread-safe (pools, producer,
 * semaphore, metrics). */
#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>

#include <civetweb.h>

#include "vc/log.h"
#include "vc/metrics.h"
#include "vc/mq.h"
#include "vc/netaddr.h"
#include "vc/pg.h"
#include "vc/redis.h"
#include "vc/resources.h"
#include "vc/sem.h"

#include "tls.h"

typedef struct {
    vc_kafka_config_t kafka;
    vc_redis_opts_t redis;
    vc_pg_opts_t pg;
    gateway_tls_config_t tls;     /* HTTP_TLS_*: HTTPS on HTTP_PORT when set (tls.h) */
    const char *host;             /* HTTP_HOST=127.0.0.1 */
    long long port;               /* HTTP_PORT=8080 */
    long long threads;            /* HTTP_THREADS=MAX_CONCURRENT_REQUESTS+MAX_LONGPOLL+16 */
    long long max_concurrent;     /* MAX_CONCURRENT_REQUESTS=1000: the fixed ceiling */
    int admission_adaptive;       /* ADMISSION=adaptive|fixed */
    long long admission_min;      /* ADMISSION_MIN_CONCURRENCY=8: the adaptive limit's floor */
    long long admission_tolerance_pct; /* ADMISSION_LATENCY_TOLERANCE=150 (%): queueing above */
    long long max_body;           /* MAX_BODY_BYTES=16M */
    long long max_inflight_bytes; /* MAX_INFLIGHT_BYTES=256M: body bytes of submissions at once */
    long long max_metadata;       /* MAX_METADATA_BYTES=16K */
    long long max_batch;          /* MAX_BATCH_SIZE=10 */
    long long result_ttl_s;       /* RESULT_TTL_SECONDS=86400 */
    long long request_timeout_ms; /* HTTP_REQUEST_TIMEOUT=30s: headers, then the body */
    long long drain_timeout_ms;   /* HTTP_DRAIN_TIMEOUT=30s: SIGTERM waits this long for
                                     running submissions to be answered */
    long long body_min_rate;      /* HTTP_BODY_MIN_RATE=64K bytes/s extend the body's time */
    long long max_audio_seconds;  /* MAX_AUDIO_SECONDS=600 (a WAV header declaring more: 413) */
    long long max_audio_channels; /* MAX_AUDIO_CHANNELS=8 */
    const char *tenant;           /* DEFAULT_TENANT=default (until API keys exist) */
    long long resource_warn_percent; /* RESOURCE_WARN_PERCENT=80 */
    int auth;                     /* AUTH_MODE=on|off (off: loopback only, DEFAULT_TENANT) */
    long long ip_limit;           /* RATE_LIMIT_PER_IP_PER_MINUTE=RATE_LIMIT_PER_MINUTE */
    long long redis_breaker_ms;   /* REDIS_BREAKER_COOLDOWN=5s */
    /* client addresses and the access log (client_addr.c, accesslog.c) */
    vc_netaddr_list_t trusted_proxies; /* TRUSTED_PROXIES= (none) */
    long long ipv6_prefix;        /* RATE_LIMIT_IPV6_PREFIX=64 */
    const char *access_log;       /* ACCESS_LOG=off|stdout|stderr|/path */
    long long max_longpoll;       /* MAX_LONGPOLL=MAX_CONCURRENT_REQUESTS/4: held GET ?wait=
                                     and feedback uploads (health.c, query.c) */
    long long health_cache_ms;    /* HEALTH_CACHE_MS=1000: age of a reusable deep check */
    const char *metrics_token;    /* METRICS_TOKEN: NULL when unset (opsauth.c) */
    unsigned char metrics_token_hash[32]; /* its SHA-256, compared in constant time */
    vc_log_level_t log_level;
} gateway_config_t;

typedef struct {
    gateway_config_t cfg;
    size_t max_media;             /* largest media part that fits a Kafka message */
    vc_producer_t *producer;
    vc_redis_pool_t *redis;
    vc_pg_pool_t *pg;
    vc_sem_t *inflight;
    struct vc_admit *admit;       /* the adaptive limit; NULL with ADMISSION=fixed */
    vc_metrics_t *metrics;
    vc_histogram_t *m_submit_latency;
    vc_resource_sampler_t *sampler;
    atomic_ullong responses[500]; /* by status code - 100, for /metrics.json */
    atomic_int draining;          /* SIGTERM received: new requests get 503 shutting_down */
    atomic_int routed;            /* every handler registered: until then, 503 starting */
    atomic_long active;           /* requests between begin_request and end_request */
    atomic_llong inflight_bytes;  /* body bytes reserved by submissions in flight (body.c) */
    long long keepalive_idle_ms;  /* civetweb's keep_alive_timeout_ms */
    struct waiters *waiters;      /* long-poll registry + the one results subscriber */
    struct vc_ratelimit *ratelimit;
    struct vc_breaker *redis_breaker; /* around the result store: a dead Redis costs no waits */
    struct vc_breaker *pg_breaker; /* around idempotency claims (claim.c) */
    struct claimer *claimer;      /* group commit of idempotency claims (claimer.h) */
    struct vc_apikeys *apikeys;
    vc_counter_t *m_rate_limited, *m_shed;
    struct mg_context *http;
    struct body_watch *body_watch; /* bounds body reads in time (body_watch.c) */
    struct accesslog *accesslog;  /* NULL with ACCESS_LOG=off (accesslog.c) */
    vc_sem_t *longpolls;          /* MAX_LONGPOLL: requests that hold a worker for long */
    vc_counter_t *m_longpoll_shed; /* long-polls answered at once: budget spent */
    struct health_cache *health;  /* the shared deep check (health.c) */
} gateway_t;

int gateway_config_load(gateway_config_t *cfg, char *err, size_t errlen);

/* Route handlers (civetweb worker threads). Each returns the HTTP status it sent. */
int gateway_handle_submit(struct mg_connection *conn, void *gw);
int gateway_handle_batch(struct mg_connection *conn, void *gw);
int gateway_handle_detection(struct mg_connection *conn, void *gw);
int gateway_handle_health(struct mg_connection *conn, void *gw);
int gateway_handle_metrics(struct mg_connection *conn, void *gw);
/* POST /v1/detections/{id}/feedback, after access control (feedback.c). */
int gateway_handle_feedback(struct mg_connection *conn, gateway_t *gw, const char *path_id,
                            size_t idlen, const char *tenant);
int gateway_handle_metrics_json(struct mg_connection *conn, void *gw);

/* The deep check's cache (health.c). Returns 0 or VC_ENOMEM; free with gateway_health_free
 * after the HTTP workers stopped. */
int gateway_health_new(gateway_t *gw);
void gateway_health_free(gateway_t *gw);

/* Operator credentials (opsauth.c), on the worker thread serving the request.
 * gateway_ops_token_presented: 1 when METRICS_TOKEN is set and the request carries it as
 * "Authorization: Bearer <token>" (compared in constant time), else 0.
 * gateway_ops_guard: 0 when the request may read /metrics (no METRICS_TOKEN configured, or
 * it was presented); otherwise answers 401 with WWW-Authenticate and returns 401. */
int gateway_ops_token_presented(const gateway_t *gw, struct mg_connection *conn);
int gateway_ops_guard(const gateway_t *gw, struct mg_connection *conn);

/* {cpu, memory, disk, warning} of this process and machine (metrics.c). New reference. */
json_t *gateway_resources_json(gateway_t *gw);

/* Response helpers (respond.c). */
void gateway_count_status(gateway_t *gw, const char *route, int status);
/* Any route not served: a JSON 404 like every other error. */
int gateway_handle_not_found(struct mg_connection *conn, void *gw);
/* Answers 405 (returning its status) unless the method is GET or HEAD (returning 0). */
int gateway_only_get(struct mg_connection *conn);
/* Sends a complete response with a body; extra_headers is "" or CRLF-terminated lines. An
 * error status (>= 400) while the request's body is unread closes the connection after the
 * answer (Connection: close, reading side shut) instead of reading the body. */
int gateway_send(struct mg_connection *conn, int status, const char *content_type,
                 const char *extra_headers, const void *body, size_t len);
/* Serialises obj compactly and sends it (takes no ownership of obj). */
int gateway_send_json(struct mg_connection *conn, int status, const char *extra_headers,
                      const void *json_obj);
/* Sends {"error":{"code","message"}} with the given status. */
int gateway_send_error(struct mg_connection *conn, int status, const char *code,
                       const char *extra_headers, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Reads the whole request body into a malloc'd buffer (NUL-terminated for parsers), refusing
 * more than `max` bytes, within the request's body deadline (HTTP_REQUEST_TIMEOUT after its
 * headers, plus a second per HTTP_BODY_MIN_RATE bytes received). A request with neither
 * Content-Length nor chunked encoding has an empty body. Returns 0, VC_ETOOBIG (declared or
 * actual size over max), VC_ETIMEDOUT (not all of it arrived in time), VC_EIO (client went
 * away, body shorter than declared, broken chunked framing), VC_EBUSY (a chunked body would
 * exceed MAX_INFLIGHT_BYTES), VC_EFORMAT (a body that is not
 * msgpack nests arrays/objects deeper than 16 levels, which the recursive JSON parser must not
 * see on a civetweb worker's 100 KiB stack) or VC_ENOMEM. Once reading has started, an error
 * (not VC_EFORMAT) closes the connection after the answer; a declared size over max is
 * refused unread and the connection closed after the answer. Caller frees *body. */
int gateway_read_body(struct mg_connection *conn, size_t max, char **body, size_t *len);

/* Admission by bytes (body.c; any thread, lock-free). gateway_admit_bytes reserves the
 * current request's declared Content-Length against MAX_INFLIGHT_BYTES before its body is
 * read (a chunked body reserves as it arrives, in gateway_read_body, which then fails with
 * VC_EBUSY; a Content-Length over MAX_BODY_BYTES reserves nothing: it is refused unread).
 * Returns 0, or VC_EBUSY (nothing reserved) when the budget would be exceeded.
 * gateway_release_bytes returns what the current request reserved; safe to call twice (the
 * end of every request calls it). */
int gateway_admit_bytes(struct mg_connection *conn);
void gateway_release_bytes(gateway_t *gw);

/* civetweb callbacks (request.c, respond.c), on the worker thread serving the request.
 * begin_request: starts the request's body deadline; refuses (and answers) more header lines
 * than civetweb keeps (431) and ambiguous body framing (400: several Content-Length, both
 * Content-Length and Transfer-Encoding, a Transfer-Encoding other than chunked). Returns 0 to
 * route the request, else the status sent.
 * http_error: civetweb's own errors (malformed request line or headers, header block over
 * max_request_size, headers not received within the request timeout) as the API's JSON error
 * body, connection closed. Returns 0 (handled). */
int gateway_begin_request(struct mg_connection *conn);
/* civetweb end_request: the request's answer is written (pairs with begin_request; the drain
 * at SIGTERM waits for these). */
void gateway_end_request(const struct mg_connection *conn, int reply_status_code);
int gateway_http_error(struct mg_connection *conn, int status, const char *errmsg);

/* SIGHUP (reload.c, main thread): reopens the access log, clears the API-key cache. */
void gateway_sighup(gateway_t *gw);

/* Starts / stops the body watch thread that cuts body reads past their deadline. */
int gateway_body_watch_start(gateway_t *gw);
void gateway_body_watch_stop(gateway_t *gw);
/* Stops the listening sockets on port from accepting (new connections are refused at once)
 * without closing them: civetweb still owns and closes them in mg_stop. Returns how many. */
int gateway_close_listeners(int port);

#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "accesslog.h"
#include "client_addr.h"
#include "gateway.h"
#include "vc/apikeys.h"
#include "vc/config.h"
#include "vc/error.h"

#define HTTP_THREAD_HEADROOM 16

/* Adaptive admission inside the fixed ceiling (vc/admit.h). */
static int load_admission(gateway_config_t *c, char *err, size_t errlen)
{
    static const char *const modes[] = {"adaptive", "fixed", NULL};
    const char *mode = NULL;
    int rc = vc_config_enum("ADMISSION", "adaptive", modes, &mode, err, errlen);
    if (rc == 0)
        c->admission_adaptive = strcmp(mode, "adaptive") == 0;
    long long floor_def = c->max_concurrent < 8 ? c->max_concurrent : 8;
    if (rc == 0)
        rc = vc_config_int("ADMISSION_MIN_CONCURRENCY", floor_def, 1, c->max_concurrent,
                           &c->admission_min, err, errlen);
    if (rc == 0)
        rc = vc_config_int("ADMISSION_LATENCY_TOLERANCE", 150, 110, 100000,
                           &c->admission_tolerance_pct, err, errlen);
    return rc;
}

static int load_http(gateway_config_t *c, char *err, size_t errlen)
{
    int rc = vc_config_str("HTTP_HOST", "127.0.0.1", &c->host, err, errlen);
    if (rc == 0)
        rc = vc_config_int("HTTP_PORT", 8080, 1, 65535, &c->port, err, errlen);
    if (rc == 0)
        rc = vc_config_int("MAX_CONCURRENT_REQUESTS", 1000, 1, 100000, &c->max_concurrent, err,
                           errlen);
    if (rc == 0)
        rc = load_admission(c, err, errlen);
    /* Long-polls and feedback uploads hold a worker as long as a submission can: their own
     * budget keeps them from taking the threads /health and /metrics need. */
    if (rc == 0)
        rc = vc_config_int("MAX_LONGPOLL", c->max_concurrent >= 4 ? c->max_concurrent / 4 : 1, 1,
                           100000, &c->max_longpoll, err, errlen);
    /* civetweb serves one connection per worker thread. With fewer threads than the two
     * budgets together, a limit could never be reached and excess clients would queue in the
     * kernel instead of getting a prompt answer; the headroom keeps threads free to answer
     * 503s, /health and /metrics while both are reached. */
    long long held = c->max_concurrent + c->max_longpoll;
    if (rc == 0)
        rc = vc_config_int("HTTP_THREADS", held + HTTP_THREAD_HEADROOM, 2, 200000, &c->threads,
                           err, errlen);
    if (rc == 0 && c->threads <= held)
        rc = vc_err(err, errlen, VC_EINVAL,
                    "HTTP_THREADS=%lld: must exceed MAX_CONCURRENT_REQUESTS=%lld + "
                    "MAX_LONGPOLL=%lld (threads answer the 503s, /health and /metrics while "
                    "both are in use)",
                    c->threads, c->max_concurrent, c->max_longpoll);
    if (rc == 0)
        rc = vc_config_bytes("MAX_BODY_BYTES", 16LL << 20, 1024, 1LL << 30, &c->max_body, err,
                             errlen);
    /* The sum of body bytes being read or processed: what the bodies cost in memory (each is
     * buffered whole, and its JSON skeleton copied), whatever the count of requests. */
    if (rc == 0)
        rc = vc_config_bytes("MAX_INFLIGHT_BYTES", 256LL << 20, 1024, 1LL << 40,
                             &c->max_inflight_bytes, err, errlen);
    if (rc == 0 && c->max_inflight_bytes < c->max_body)
        rc = vc_err(err, errlen, VC_EINVAL,
                    "MAX_INFLIGHT_BYTES=%lld: must be at least MAX_BODY_BYTES=%lld (a body of "
                    "the largest size could never be admitted)",
                    c->max_inflight_bytes, c->max_body);
    if (rc == 0)
        rc = vc_config_bytes("MAX_METADATA_BYTES", 16LL << 10, 0, 1LL << 20, &c->max_metadata,
                             err, errlen);
    if (rc == 0)
        rc = vc_config_int("MAX_BATCH_SIZE", 10, 1, 1000, &c->max_batch, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("HTTP_REQUEST_TIMEOUT", 30000, 100, 3600000,
                                   &c->request_timeout_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("HTTP_DRAIN_TIMEOUT", 30000, 0, 3600000, &c->drain_timeout_ms,
                                   err, errlen);
    /* A body's time grows with what arrives: a large upload over a slow link is fine, a
     * trickle is not (Apache mod_reqtimeout's MinRate). 0: the timeout alone. */
    if (rc == 0)
        rc = vc_config_bytes("HTTP_BODY_MIN_RATE", 64LL << 10, 0, 1LL << 30, &c->body_min_rate,
                             err, errlen);
    /* The detectors' decoding limits, read from the same variables: a WAV whose header
     * declares more is refused at the door instead of failing later. */
    if (rc == 0)
        rc = vc_config_int("MAX_AUDIO_SECONDS", 600, 1, 86400, &c->max_audio_seconds, err,
                           errlen);
    if (rc == 0)
        rc = vc_config_int("MAX_AUDIO_CHANNELS", 8, 1, 64, &c->max_audio_channels, err, errlen);
    return rc;
}

/* True when host is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z) or "localhost". */
static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
}

/* AUTH_MODE=off serves every request as DEFAULT_TENANT: allowed only on loopback. */
static int load_auth(gateway_config_t *c, char *err, size_t errlen)
{
    static const char *const modes[] = {"on", "off", NULL};
    const char *mode = NULL;
    long long per_min = 0;
    int rc = vc_config_enum("AUTH_MODE", "on", modes, &mode, err, errlen);
    if (rc != 0)
        return rc;
    c->auth = strcmp(mode, "on") == 0;
    if (!c->auth && !is_loopback(c->host))
        return vc_err(err, errlen, VC_EINVAL,
                      "AUTH_MODE=off: refused because HTTP_HOST=%s is not a loopback address "
                      "(anyone who can reach it would be served without a key)",
                      c->host);
    rc = vc_config_int("RATE_LIMIT_PER_MINUTE", 100, 1, 100000, &per_min, err, errlen);
    if (rc == 0)
        rc = vc_config_int("RATE_LIMIT_PER_IP_PER_MINUTE", per_min, 1, 100000, &c->ip_limit, err,
                           errlen);
    return rc;
}

/* /health's deep check is shared for HEALTH_CACHE_MS; METRICS_TOKEN guards /metrics and the
 * backend detail of /health. An empty token is unset: "METRICS_TOKEN=" must not make the
 * empty Bearer a credential. Kept as a hash so every comparison takes the same time. */
static int load_ops(gateway_config_t *c, char *err, size_t errlen)
{
    int rc = vc_config_int("HEALTH_CACHE_MS", 1000, 0, 60000, &c->health_cache_ms, err, errlen);
    const char *tok = NULL;
    if (rc == 0)
        rc = vc_config_str("METRICS_TOKEN", "", &tok, err, errlen);
    if (rc != 0 || tok[0] == '\0')
        return rc;
    size_t n = strlen(tok);
    if (n < 16 || n > 256)
        return vc_err(err, errlen, VC_EINVAL,
                      "METRICS_TOKEN: %zu bytes, want 16..256 (a guessable token protects "
                      "nothing)",
                      n);
    c->metrics_token = tok;
    vc_apikeys_hash(tok, n, c->metrics_token_hash);
    return 0;
}

int gateway_config_load(gateway_config_t *c, char *err, size_t errlen)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    const char *lvl = NULL;
    memset(c, 0, sizeof(*c));
    int rc = vc_config_enum("LOG_LEVEL", "info", levels, &lvl, err, errlen);
    if (rc == 0)
        rc = vc_log_level_parse(lvl, &c->log_level);
    if (rc == 0)
        rc = load_http(c, err, errlen);
    if (rc == 0)
        rc = vc_config_int("RESULT_TTL_SECONDS", 86400, 1, 365LL * 86400, &c->result_ttl_s, err,
                           errlen);
    if (rc == 0)
        rc = vc_config_str("DEFAULT_TENANT", "default", &c->tenant, err, errlen);
    if (rc == 0)
        rc = vc_config_int("RESOURCE_WARN_PERCENT", 80, 1, 100, &c->resource_warn_percent, err,
                           errlen);
    if (rc == 0)
        rc = load_auth(c, err, errlen);
    if (rc == 0)
        rc = gateway_tls_config_load(&c->tls, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("REDIS_BREAKER_COOLDOWN", 5000, 100, 600000,
                                   &c->redis_breaker_ms, err, errlen);
    if (rc == 0)
        rc = gateway_client_addr_config(c, err, errlen);
    if (rc == 0)
        rc = gateway_accesslog_config(c, err, errlen);
    if (rc == 0)
        rc = load_ops(c, err, errlen);
    if (rc == 0)
        rc = vc_kafka_config_from_env(&c->kafka, err, errlen);
    if (rc == 0)
        rc = vc_redis_opts_from_env(&c->redis, err, errlen);
    if (rc == 0)
        rc = vc_pg_opts_from_env(&c->pg, (size_t)c->threads, err, errlen);
    return rc;
}

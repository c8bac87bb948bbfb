/* vc-gateway: process lifecycle. Loads the config, connects the stores and the producer,
 * starts civetweb, waits for SIGTERM/SIGINT, then stops accepting, drains and exits 0; a fatal
 * Kafka producer error drains the same way and exits 1. SIGHUP is no stop (reload.c). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accesslog.h"
#include "gateway.h"
#include "vc/admit.h"
#include "vc/apikeys.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/ratelimit.h"
#include "vc/topics.h"
#include "claimer.h"
#include "waiters.h"

/* Largest media part whose DetectionRequest still fits one Kafka message (the envelope and
 * metadata get 64 KiB), so an oversize submission is refused at the door, not by Kafka. */
static size_t max_media_for(const gateway_config_t *cfg)
{
    long long by_kafka = cfg->kafka.message_max_bytes - 65536 - cfg->max_metadata;
    long long by_body = cfg->max_body; /* decoded media is never larger than the body */
    long long m = by_kafka < by_body ? by_kafka : by_body;
    return m > 0 ? (size_t)m : 0;
}

/* Refuses to start on a request topic that is missing or could not carry the largest
 * submission; a cluster that does not answer yet only delays that verdict (vc/topics.h). */
static int check_topics(gateway_t *gw, char *err, size_t errlen)
{
    vc_topic_need_t need = {gw->cfg.kafka.topic_requests, gw->cfg.kafka.message_max_bytes};
    int rc = vc_topics_startup_check(vc_producer_handle(gw->producer), &need, 1, 5000, err,
                                     errlen);
    char why[300];
    if (rc == 0 && vc_producer_health(gw->producer, why, sizeof(why)) != 0)
        VC_ERROR("gateway.kafka_unusable", "reason=\"%s\" note=\"serving 503 until Kafka "
                 "accepts this client\"", why);
    return rc;
}

static int migrate(gateway_t *gw, char *err, size_t errlen)
{
    PGconn *c = NULL;
    int rc = vc_pg_acquire(gw->pg, &c, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_pg_migrate(c, err, errlen);
    vc_pg_release(gw->pg, c, rc != 0);
    return rc;
}

static int start_http(gateway_t *gw, char *err, size_t errlen)
{
    char ports[300], threads[16], timeout[24], idle[24];
    /* civetweb takes an IPv6 address in brackets: "[::1]:8080". */
    int v6 = strchr(gw->cfg.host, ':') != NULL;
    snprintf(ports, sizeof(ports), "%s%s%s:%lld%s", v6 ? "[" : "", gw->cfg.host, v6 ? "]" : "",
             gw->cfg.port, gw->cfg.tls.enabled ? "s" : ""); /* "s": this port is TLS only */
    snprintf(threads, sizeof(threads), "%lld", gw->cfg.threads);
    /* civetweb wants a request's headers within request_timeout_ms, but checks that only
     * when bytes arrive or a wait of that length ends: a client that goes quiet mid-headers
     * holds the worker up to twice as long. Half of HTTP_REQUEST_TIMEOUT keeps every header
     * wait within it; the body gets its own HTTP_REQUEST_TIMEOUT (body.c). */
    long long half = gw->cfg.request_timeout_ms / 2;
    snprintf(timeout, sizeof(timeout), "%lld", half);
    /* ... and a keep-alive connection's next request as long (at most 5 s) for its headers. */
    gw->keepalive_idle_ms = half < 5000 ? half : 5000;
    snprintf(idle, sizeof(idle), "%lld", gw->keepalive_idle_ms);
    const char *options[32] = {"listening_ports", ports, "num_threads", threads,
                             /* request line + headers: a larger block is refused (JSON
                              * 400/413, gateway_http_error) */
                             "max_request_size", "16384", "request_timeout_ms", timeout,
                             "enable_keep_alive", "yes",
                             "keep_alive_timeout_ms", idle,
                             /* responses go out as headers + body: without this, Nagle holds
                              * the body ~40 ms on a busy keep-alive connection */
                             "tcp_nodelay", "1", NULL};
    size_t nopt = 0;
    while (options[nopt] != NULL)
        nopt++;
    if (gateway_tls_options(&gw->cfg.tls, options, &nopt, 31) != 0)
        return vc_err(err, errlen, VC_ERANGE, "too many civetweb options");
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    if (gw->cfg.tls.enabled)
        cb.init_ssl = gateway_tls_init_ssl; /* loads HTTP_TLS_CERT / HTTP_TLS_KEY */
    cb.begin_request = gateway_begin_request; /* framing checks, body deadline */
    cb.end_request = gateway_end_request;     /* in-flight count for the drain */
    cb.http_error = gateway_http_error;       /* civetweb's own errors as JSON */
    int rc = gateway_body_watch_start(gw);
    if (rc != 0)
        return vc_err(err, errlen, rc, "cannot start the body watch");
    gw->http = mg_start(&cb, gw, options);
    if (gw->http == NULL)
        return vc_err(err, errlen, VC_EUNAVAIL, "cannot listen on %s%s", ports,
                      gw->cfg.tls.enabled ? " (or TLS set-up failed: see gateway.tls_failed)" : "");
    mg_set_request_handler(gw->http, "/v1/detections$", gateway_handle_submit, gw);
    mg_set_request_handler(gw->http, "/detect$", gateway_handle_submit, gw);
    mg_set_request_handler(gw->http, "/detect/batch$", gateway_handle_batch, gw);
    mg_set_request_handler(gw->http, "/v1/detections/", gateway_handle_detection, gw);
    mg_set_request_handler(gw->http, "/health$", gateway_handle_health, gw);
    mg_set_request_handler(gw->http, "/metrics$", gateway_handle_metrics, gw);
    mg_set_request_handler(gw->http, "/metrics.json$", gateway_handle_metrics_json, gw);
    mg_set_request_handler(gw->http, "/", gateway_handle_not_found, gw); /* everything else */
    atomic_store(&gw->routed, 1);
    return 0;
}

static int start_breaker(gateway_t *gw)
{
    vc_breaker_opts_t o;
    vc_breaker_opts_default(&o);
    o.name = "redis-results";
    o.failure_threshold = 3;
    o.open_ms = gw->cfg.redis_breaker_ms;
    int rc = vc_breaker_new(&o, &gw->redis_breaker);
    o.name = "postgres-claims";
    return rc != 0 ? rc : vc_breaker_new(&o, &gw->pg_breaker);
}

static int start_access(gateway_t *gw, char *err, size_t errlen)
{
    vc_ratelimit_opts_t rlo;
    vc_apikeys_opts_t ako;
    int rc = vc_ratelimit_opts_from_env(&rlo, err, errlen);
    if (rc == 0)
        rc = vc_ratelimit_new(&rlo, &gw->ratelimit, err, errlen);
    if (rc == 0)
        rc = vc_apikeys_opts_from_env(&ako, err, errlen);
    if (rc == 0)
        rc = vc_apikeys_new(&ako, gw->pg, &gw->apikeys);
    gw->m_rate_limited = vc_metrics_counter(gw->metrics, "vc_http_rate_limited_total",
                                            "Requests refused with 429.");
    gw->m_shed = vc_metrics_counter(gw->metrics, "vc_http_shed_total",
                                    "Requests refused with 503 overloaded.");
    if (rc == 0 && (gw->m_rate_limited == NULL || gw->m_shed == NULL))
        rc = VC_ENOMEM;
    if (rc == 0 && !gw->cfg.auth)
        VC_WARN("gateway.auth_off", "msg=\"AUTH_MODE=off: every request is served as tenant %s "
                "without a key; for local development only\"", gw->cfg.tenant);
    return rc;
}

/* The adaptive limit starts at 64 (or the ceiling) and learns from there. */
static int start_admission(gateway_t *gw)
{
    vc_admit_opts_t o;
    vc_admit_opts_default(&o);
    o.min_limit = (long)gw->cfg.admission_min;
    o.max_limit = (long)gw->cfg.max_concurrent;
    o.initial_limit = o.max_limit < 64 ? o.max_limit : 64;
    o.tolerance = (double)gw->cfg.admission_tolerance_pct / 100.0;
    return vc_admit_new(&o, &gw->admit);
}

/* The long-poll budget (MAX_LONGPOLL) and the shared deep health check (HEALTH_CACHE_MS). */
static int start_ops(gateway_t *gw)
{
    gw->m_longpoll_shed =
        vc_metrics_counter(gw->metrics, "vc_longpoll_shed_total",
                           "Long-polls answered at once and feedback uploads refused because "
                           "MAX_LONGPOLL were in use.");
    if (gw->m_longpoll_shed == NULL)
        return VC_ENOMEM;
    int rc = vc_sem_new((long)gw->cfg.max_longpoll, &gw->longpolls);
    return rc != 0 ? rc : gateway_health_new(gw);
}

static int start(gateway_t *gw, char *err, size_t errlen)
{
    gw->max_media = max_media_for(&gw->cfg);
    int rc = vc_metrics_new(&gw->metrics);
    if (rc == 0)
        rc = vc_resource_sampler_new("/", &gw->sampler);
    if (rc == 0) {
        gw->m_submit_latency = vc_metrics_histogram(gw->metrics, "vc_submit_seconds",
                                                    "Time to accept one submission.");
        rc = gw->m_submit_latency ? 0 : VC_ENOMEM;
    }
    if (rc == 0)
        rc = vc_sem_new((long)gw->cfg.max_concurrent, &gw->inflight);
    if (rc == 0 && gw->cfg.admission_adaptive)
        rc = start_admission(gw);
    if (rc == 0)
        rc = start_ops(gw);
    if (rc == 0)
        rc = vc_redis_pool_new(&gw->cfg.redis, &gw->redis, err, errlen);
    if (rc == 0)
        rc = vc_pg_pool_new(&gw->cfg.pg, &gw->pg, err, errlen);
    if (rc == 0)
        rc = migrate(gw, err, errlen);
    if (rc == 0)
        rc = vc_producer_new(&gw->cfg.kafka, "vc-gateway", &gw->producer, err, errlen);
    if (rc == 0)
        rc = check_topics(gw, err, errlen);
    if (rc == 0)
        rc = start_breaker(gw);
    if (rc == 0)
        rc = claimer_start(gw->pg, gw->pg_breaker, gw->metrics, &gw->claimer);
    if (rc == 0)
        rc = start_access(gw, err, errlen);
    if (rc == 0)
        rc = waiters_start(&gw->cfg.redis, &gw->waiters, err, errlen);
    if (rc == 0)
        rc = gateway_accesslog_open(gw, err, errlen);
    if (rc == 0)
        rc = start_http(gw, err, errlen);
    return rc;
}

/* Graceful stop. New requests are refused (503 shutting_down, connection closed), held
 * long-polls answer now, and the requests already running finish and are answered before
 * civetweb stops: mg_stop raises its stop flag before it joins the workers, and from then on
 * their writes are dropped, so a submission already published to Kafka would lose its 202.
 * The drain also outlasts the keep-alive idle timeout, so civetweb itself closes the idle
 * kept-alive connections (a request sent on one as mg_stop closed it would go unanswered);
 * connections that send a request meanwhile get the 503 and are closed. Bounded by
 * HTTP_DRAIN_TIMEOUT. */
static void drain(gateway_t *gw)
{
    atomic_store(&gw->draining, 1);
    waiters_close(gw->waiters);
    int64_t t0 = vc_clock_mono_ms(), deadline = t0 + gw->cfg.drain_timeout_ms;
    int64_t linger = t0 + gw->keepalive_idle_ms + 100;
    for (;;) {
        int64_t now = vc_clock_mono_ms();
        if (now >= deadline || (now >= linger && atomic_load(&gw->active) == 0))
            break;
        struct timespec ts = {0, 5 * 1000000L}; /* a drain poll, not synchronisation */
        nanosleep(&ts, NULL);
    }
    /* mg_stop takes up to its master thread's poll interval (~200 ms) to stop accepting, and
     * a request accepted meanwhile would be read but never answered: refuse connections
     * first, then let what was accepted in that instant be answered (503). */
    int listeners = gateway_close_listeners((int)gw->cfg.port);
    int64_t settle = vc_clock_mono_ms() + 100;
    while (vc_clock_mono_ms() < settle || (atomic_load(&gw->active) > 0 &&
                                            vc_clock_mono_ms() < deadline)) {
        struct timespec ts = {0, 5 * 1000000L}; /* a drain poll, not synchronisation */
        nanosleep(&ts, NULL);
    }
    VC_INFO("gateway.drained", "ms=%lld unfinished=%ld listeners_closed=%d",
            (long long)(vc_clock_mono_ms() - t0), atomic_load(&gw->active), listeners);
}

static void stop(gateway_t *gw)
{
    if (gw->http != NULL && gw->inflight != NULL && gw->waiters != NULL)
        drain(gw);
    else
        waiters_close(gw->waiters); /* held long-polls answer now */
    if (gw->http != NULL)
        mg_stop(gw->http); /* joins the workers */
    gateway_accesslog_close(gw); /* after the workers that write it */
    gateway_body_watch_stop(gw); /* after the handlers that register with it */
    waiters_stop(gw->waiters);
    claimer_stop(gw->claimer); /* after the handlers: writes the acknowledgements queued */
    vc_producer_free(gw->producer);
    vc_apikeys_free(gw->apikeys);
    vc_ratelimit_free(gw->ratelimit);
    vc_breaker_free(gw->redis_breaker);
    vc_breaker_free(gw->pg_breaker);
    vc_pg_pool_free(gw->pg);
    vc_redis_pool_free(gw->redis);
    vc_sem_free(gw->inflight);
    vc_sem_free(gw->longpolls);
    gateway_health_free(gw);
    vc_admit_free(gw->admit);
    vc_metrics_free(gw->metrics);
    vc_resource_sampler_free(gw->sampler);
}

/* Waits for SIGTERM/SIGINT (returns the signal) or for the producer to turn fatal (returns 0):
 * a fatal idempotent producer never delivers again, so the gateway stops the way SIGTERM
 * stops it and exits 1 for its supervisor to start a fresh one. Checked every second; /health
 * already answers 503 with the reason meanwhile. Main thread. */
static int wait_for_stop(gateway_t *gw, const sigset_t *stop_set)
{
    for (;;) {
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(stop_set, NULL, &tick);
        if (sig == SIGHUP) { /* reopen logs, clear caches; never a stop */
            gateway_sighup(gw);
            continue;
        }
        if (sig > 0)
            return sig;
        char why[256];
        if (vc_producer_fatal(gw->producer, why, sizeof(why))) {
            VC_ERROR("gateway.kafka_fatal", "msg=\"kafka producer fatal error: %s; exiting so "
                     "the supervisor restarts the gateway\"", why);
            return 0;
        }
    }
}

int main(void)
{
    static gateway_t gw;
    char err[512] = "";
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGHUP); /* not a stop: wait_for_stop handles it */
    /* Blocked before any thread starts, so only sigwait below receives them. */
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (gateway_config_load(&gw.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "vc-gateway: configuration error: %s\n", err);
        return 2;
    }
    vc_log_init("gateway", gw.cfg.log_level);
    if (gateway_tls_init_library(&gw.cfg.tls, err, sizeof(err)) != 0) {
        VC_ERROR("gateway.start_failed", "error=\"%s\"", err);
        return 1;
    }
    int rc = start(&gw, err, sizeof(err));
    if (rc != 0) {
        VC_ERROR("gateway.start_failed", "error=\"%s\"", err[0] ? err : vc_strerror(rc));
        stop(&gw);
        mg_exit_library();
        return 1;
    }
    VC_INFO("gateway.ready",
            "listen=%s:%lld threads=%lld max_concurrent=%lld max_longpoll=%lld max_body=%lld "
            "metrics_token=%s",
            gw.cfg.host, gw.cfg.port, gw.cfg.threads, gw.cfg.max_concurrent,
            gw.cfg.max_longpoll, gw.cfg.max_body, gw.cfg.metrics_token ? "set" : "unset");
    int sig = wait_for_stop(&gw, &stop_set);
    if (sig > 0)
        VC_INFO("gateway.stopping", "signal=%d", sig);
    stop(&gw);
    mg_exit_library();
    VC_INFO("gateway.stopped", "status=%d", sig > 0 ? 0 : 1);
    return sig > 0 ? 0 : 1;
}

#include "access.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "accesslog.h"

#include "vc/apikeys.h"
#include "vc/error.h"
#include "vc/id.h"
#include "vc/ratelimit.h"

const char *gateway_presented_key(struct mg_connection *conn, size_t *len)
{
    const char *v = mg_get_header(conn, "Authorization");
    if (v != NULL && strncasecmp(v, "Bearer ", 7) == 0)
        v += 7;
    else
        v = mg_get_header(conn, "X-API-Key");
    if (v == NULL)
        return NULL;
    v += strspn(v, " \t");
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *len = n;
    return n > 0 ? v : NULL;
}

/* Appends "RateLimit-Policy"/"RateLimit" for one decision to ctx->headers. */
static void add_headers(request_ctx_t *ctx, const vc_ratelimit_result_t *res, const char *policy)
{
    char p[96], s[96];
    if (vc_ratelimit_policy_header(res, policy, p, sizeof(p)) != 0 ||
        vc_ratelimit_state_header(res, policy, s, sizeof(s)) != 0)
        return;
    size_t used = strlen(ctx->headers);
    snprintf(ctx->headers + used, sizeof(ctx->headers) - used,
             "RateLimit-Policy: %s\r\nRateLimit: %s\r\n", p, s);
}

/* Answers a refused decision: 429 (or 503 when Redis is down and the policy is closed). */
static int refuse(struct mg_connection *conn, gateway_t *gw, request_ctx_t *ctx,
                  const vc_ratelimit_result_t *res, const char *scope)
{
    char hdr[480];
    long long secs = vc_ratelimit_retry_after_s(res);
    if (res->source == VC_RL_SOURCE_FAIL_CLOSED) {
        snprintf(hdr, sizeof(hdr), "Retry-After: %lld\r\n", secs);
        return gateway_send_error(conn, 503, "rate_limiter_unavailable", hdr,
                                  "rate limiter unavailable, retry later");
    }
    vc_counter_add(gw->m_rate_limited, 1);
    snprintf(hdr, sizeof(hdr), "%sRetry-After: %lld\r\n", ctx->headers, secs);
    ctx->headers[0] = '\0'; /* already in hdr */
    return gateway_send_error(conn, 429, "rate_limited", hdr,
                              "%s rate limit of %ld requests per %lld s exceeded; retry in %lld s",
                              scope, res->limit, res->window_ms / 1000, secs);
}

static int authenticate(struct mg_connection *conn, gateway_t *gw, vc_apikey_t *key)
{
    size_t len = 0;
    const char *k = gateway_presented_key(conn, &len);
    if (k == NULL)
        return gateway_send_error(conn, 401, "unauthorized", "WWW-Authenticate: Bearer\r\n",
                                  "an API key is required (Authorization: Bearer or X-API-Key)");
    int rc = vc_apikeys_lookup(gw->apikeys, k, len, key);
    if (rc == VC_ENOTFOUND) /* unknown, malformed and revoked keys look the same */
        return gateway_send_error(conn, 401, "unauthorized", "WWW-Authenticate: Bearer\r\n",
                                  "invalid API key");
    if (rc != 0)
        return gateway_send_error(conn, 503, "auth_unavailable", "Retry-After: 1\r\n",
                                  "cannot verify API keys right now, retry later");
    return 0;
}

/* W3C Trace Context: continue the caller's trace when it sent a valid `traceparent`. */
static void trace(struct mg_connection *conn, request_ctx_t *ctx)
{
    if (!vc_trace_id_from_traceparent(mg_get_header(conn, "traceparent"), ctx->trace_id,
                                      sizeof(ctx->trace_id)) &&
        vc_trace_id_new(ctx->trace_id, sizeof(ctx->trace_id)) != 0)
        ctx->trace_id[0] = '\0';
    if (ctx->trace_id[0] != '\0')
        snprintf(ctx->headers, sizeof(ctx->headers), "X-Trace-Id: %s\r\n", ctx->trace_id);
}

/* A key the cache knows (the common case): the address and key quotas in one call, one
 * Redis round trip; a request refused by either is counted by neither. */
static int known_key(struct mg_connection *conn, gateway_t *gw, request_ctx_t *ctx,
                     const char *ip, const vc_apikey_t *key)
{
    char id[24];
    int n = snprintf(id, sizeof(id), "%lld", (long long)key->id);
    vc_ratelimit_req_t q[2] = {
        {.scope = "ip", .id = ip, .idlen = strlen(ip), .limit = (long)gw->cfg.ip_limit},
        {.scope = "key", .id = id, .idlen = (size_t)n, .limit = key->rate_limit_per_minute}};
    vc_ratelimit_result_t res[2];
    int allowed = 0;
    /* Known before the decision, so the access log names the key a 429 refused. */
    snprintf(ctx->tenant, sizeof(ctx->tenant), "%s", key->tenant);
    snprintf(ctx->key_prefix, sizeof(ctx->key_prefix), "%s", key->prefix);
    if (vc_ratelimit_check_all(gw->ratelimit, q, 2, res, &allowed) == 0) {
        add_headers(ctx, &res[0], "ip");
        add_headers(ctx, &res[1], "key");
        if (!allowed)
            return res[0].allowed ? refuse(conn, gw, ctx, &res[1], "per-key")
                                  : refuse(conn, gw, ctx, &res[0], "per-address");
    }
    return 0;
}

/* The checks of gateway_access, in order; ip is the client's per-address identity. */
static int check(struct mg_connection *conn, gateway_t *gw, request_ctx_t *ctx, const char *ip)
{
    if (gw->cfg.auth) {
        size_t len = 0;
        const char *k = gateway_presented_key(conn, &len);
        vc_apikey_t key;
        /* Any other key keeps the address check in front of the database, where a flood of
         * made-up keys would otherwise land. */
        if (k != NULL && vc_apikeys_lookup_cached(gw->apikeys, k, len, &key) == 0)
            return known_key(conn, gw, ctx, ip, &key);
    }
    vc_ratelimit_result_t ipres;
    if (vc_ratelimit_check(gw->ratelimit, "ip", ip, strlen(ip), (long)gw->cfg.ip_limit,
                           &ipres) == 0) {
        add_headers(ctx, &ipres, "ip");
        if (!ipres.allowed)
            return refuse(conn, gw, ctx, &ipres, "per-address");
    }
    if (!gw->cfg.auth) {
        snprintf(ctx->tenant, sizeof(ctx->tenant), "%s", gw->cfg.tenant);
        return 0;
    }
    vc_apikey_t key;
    int status = authenticate(conn, gw, &key);
    if (status != 0)
        return status;
    snprintf(ctx->tenant, sizeof(ctx->tenant), "%s", key.tenant);
    snprintf(ctx->key_prefix, sizeof(ctx->key_prefix), "%s", key.prefix);
    char id[24];
    int n = snprintf(id, sizeof(id), "%lld", (long long)key.id);
    vc_ratelimit_result_t kres;
    if (vc_ratelimit_check(gw->ratelimit, "key", id, (size_t)n, key.rate_limit_per_minute,
                           &kres) == 0) {
        add_headers(ctx, &kres, "key");
        if (!kres.allowed)
            return refuse(conn, gw, ctx, &kres, "per-key");
    }
    return 0;
}

int gateway_access(struct mg_connection *conn, gateway_t *gw, request_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    mg_set_user_connection_data(conn, ctx);
    trace(conn, ctx);
    gateway_client_addr(conn, &gw->cfg, &ctx->client);
    int rc = check(conn, gw, ctx, ctx->client.key);
    gateway_accesslog_identity(ctx); /* ctx dies with the handler; the log line comes later */
    return rc;
}

void gateway_access_done(struct mg_connection *conn)
{
    mg_set_user_connection_data(conn, NULL);
}

const char *gateway_access_headers(const struct mg_connection *conn)
{
    const request_ctx_t *ctx = mg_get_user_connection_data(conn);
    return ctx != NULL ? ctx->headers : "";
}

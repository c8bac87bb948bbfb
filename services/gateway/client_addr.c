#include "client_addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vc/config.h"
#include "vc/error.h"
#include "vc/forwarded.h"

int gateway_client_addr_config(gateway_config_t *c, char *err, size_t errlen)
{
    const char *list = NULL;
    char why[200] = "";
    int rc = vc_config_str("TRUSTED_PROXIES", "", &list, err, errlen);
    if (rc == 0 && vc_netaddr_list_parse(list, &c->trusted_proxies, why, sizeof(why)) != 0)
        rc = vc_err(err, errlen, VC_EINVAL, "TRUSTED_PROXIES=%.200s: %s", list, why);
    if (rc == 0)
        rc = vc_config_int("RATE_LIMIT_IPV6_PREFIX", 64, 32, 128, &c->ipv6_prefix, err, errlen);
    return rc;
}

/* The value of every header line called name, in order, joined by "," (RFC 9110: several
 * lines of a list header are one list; a proxy may add its own line instead of appending,
 * and the first line alone would be the client's). NULL when none; "" (which no parser
 * accepts) when the lines do not fit VC_FORWARDED_MAX_LEN or memory is short. *owned is set
 * when the result must be freed. */
static const char *header_list(const struct mg_request_info *ri, const char *name, char **owned)
{
    const char *first = NULL;
    size_t total = 0, lines = 0;
    *owned = NULL;
    for (int i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, name) != 0)
            continue;
        if (first == NULL)
            first = ri->http_headers[i].value;
        total += strlen(ri->http_headers[i].value) + 1;
        lines++;
    }
    if (lines <= 1)
        return first;
    if (total > VC_FORWARDED_MAX_LEN + 1 || (*owned = malloc(total)) == NULL)
        return "";
    size_t k = 0;
    for (int i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, name) != 0)
            continue;
        size_t n = strlen(ri->http_headers[i].value);
        if (k > 0)
            (*owned)[k++] = ',';
        memcpy(*owned + k, ri->http_headers[i].value, n);
        k += n;
    }
    (*owned)[k] = '\0';
    return *owned;
}

/* Counts a trusted proxy's unusable header: a steady rate means a proxy that writes something
 * this parser refuses (its clients all share the proxy's quota), a burst a client probing. */
static void count_fallback(const struct mg_connection *conn)
{
    gateway_t *gw = mg_get_user_data(mg_get_context(conn));
    vc_counter_t *c = gw != NULL && gw->metrics != NULL
                          ? vc_metrics_counter(gw->metrics, "vc_http_client_addr_fallback_total",
                                               "Requests from a trusted proxy whose Forwarded / "
                                               "X-Forwarded-For could not be used, counted as "
                                               "the proxy.")
                          : NULL;
    if (c != NULL)
        vc_counter_add(c, 1);
}

void gateway_client_addr(const struct mg_connection *conn, const gateway_config_t *cfg,
                         client_addr_t *out)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    vc_netaddr_t peer, client;
    out->source = VC_FORWARDED_PEER;
    if (vc_netaddr_parse(ri->remote_addr, strlen(ri->remote_addr), &peer) != 0) {
        /* civetweb writes what inet_ntop gave it; never expected, kept usable anyway */
        snprintf(out->addr, sizeof(out->addr), "%.45s", ri->remote_addr);
        snprintf(out->key, sizeof(out->key), "%s", out->addr[0] ? out->addr : "-");
        return;
    }
    client = peer;
    if (cfg->trusted_proxies.n > 0 && vc_netaddr_list_contains(&cfg->trusted_proxies, &peer)) {
        char *fwd_owned = NULL, *xff_owned = NULL;
        const char *fwd = header_list(ri, "Forwarded", &fwd_owned);
        const char *xff = header_list(ri, "X-Forwarded-For", &xff_owned);
        out->source = (int)vc_forwarded_client(&peer, &cfg->trusted_proxies, fwd, xff, &client);
        free(fwd_owned);
        free(xff_owned);
        if (out->source == VC_FORWARDED_FALLBACK)
            count_fallback(conn);
    }
    if (vc_netaddr_format(&client, out->addr, sizeof(out->addr)) != 0 ||
        vc_netaddr_key(&client, (int)cfg->ipv6_prefix, out->key, sizeof(out->key)) != 0)
        snprintf(out->key, sizeof(out->key), "%s", "-"); /* sized to fit: unreachable */
}

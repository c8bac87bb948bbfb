#ifndef VC_GATEWAY_CLIENT_ADDR_H
#define VC_GATEWAY_CLIENT_ADDR_H
/* Who the client of a request is, for per-address limits and the access log: the TCP peer,
 * or, when the peer is one of TRUSTED_PROXIES, the client its Forwarded / X-Forwarded-For
 * names (vc/forwarded.h); an IPv6 client counted per RATE_LIMIT_IPV6_PREFIX network. */
#include <civetweb.h>

#include "gateway.h"
#include "vc/netaddr.h"

typedef struct {
    char addr[VC_NETADDR_STRLEN]; /* the client's address */
    char key[VC_NETADDR_KEYLEN];  /* the identity its per-address limit counts: addr, or for
                                     IPv6 its network ("2001:db8:1:2::/64") */
    int source;                   /* vc_forwarded_source_t */
} client_addr_t;

/* Reads TRUSTED_PROXIES and RATE_LIMIT_IPV6_PREFIX into c. Returns 0 or VC_EINVAL naming
 * the variable (a bad CIDR stops start-up rather than trusting less, or more, than meant). */
int gateway_client_addr_config(gateway_config_t *c, char *err, size_t errlen);

/* Fills *out for the request on conn. @locality the civetweb worker serving it. */
void gateway_client_addr(const struct mg_connection *conn, const gateway_config_t *cfg,
                         client_addr_t *out);

#endif

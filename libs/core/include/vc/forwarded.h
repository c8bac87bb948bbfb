#ifndef VC_FORWARDED_H
#define VC_FORWARDED_H
/* The client address of a request that reached us through proxies, from `Forwarded`
 * (RFC 7239) or `X-Forwarded-For`, believed only from peers the operator trusts.
 *
 * Each proxy appends the address it received the request from, so only the right end of the
 * list is written by parties we trust; the left is whatever the client sent. The client is
 * therefore the rightmost entry that is not itself a trusted proxy, found walking right to
 * left. Anything that cannot be read with certainty (a malformed or over-long value, a
 * bracket without its partner, an address hidden as `unknown` or `_obfuscated` exactly where
 * the client should be, two headers that disagree) gives the TCP peer: garbage never chooses
 * an identity. The whole value is validated, not only the part walked, so an attacker cannot
 * hide a second list in the ignored part. Pure functions, any thread. */
#include "vc/netaddr.h"

#define VC_FORWARDED_MAX_LEN 16384 /* longer (joined) values are not read; the gateway
                                    * refuses header blocks over 16 KiB anyway */
#define VC_FORWARDED_MAX_HOPS 64  /* trusted entries walked through at most */

typedef enum {
    VC_FORWARDED_PEER = 0, /* the TCP peer: not a trusted proxy, or it sent neither header */
    VC_FORWARDED_HEADER,   /* from the trusted proxies' header */
    VC_FORWARDED_FALLBACK  /* a trusted proxy's header was unusable: the TCP peer */
} vc_forwarded_source_t;

/* Picks the client out of one header value (several header lines joined with ","): the
 * rightmost entry not in trusted, or the leftmost when every entry is trusted. is_xff selects
 * the X-Forwarded-For grammar (a bare address, "1.2.3.4:port", "[v6]", "[v6]:port" or
 * "unknown" per entry) over RFC 7239's (for= with a token or a quoted string; IPv6 in
 * brackets; "unknown" and "_obf" nodes; entries without for= are undisclosed hops).
 * Returns 0 with *out filled; VC_EPROTO (malformed anywhere), VC_ETOOBIG (over
 * VC_FORWARDED_MAX_LEN, or more than VC_FORWARDED_MAX_HOPS trusted entries to walk) or
 * VC_ENOTFOUND (the client entry is undisclosed: unknown, obfuscated or no for=). */
int vc_forwarded_pick(const char *value, int is_xff, const vc_netaddr_list_t *trusted,
                      vc_netaddr_t *out);

/* The client address of a request from peer: peer itself unless peer is in trusted and sent
 * `forwarded` or `xff` (header values, NULL when absent), in which case the header's pick
 * (both headers present: both must give the same address). Always fills *out. Returns where
 * the address came from. */
vc_forwarded_source_t vc_forwarded_client(const vc_netaddr_t *peer,
                                          const vc_netaddr_list_t *trusted,
                                          const char *forwarded, const char *xff,
                                          vc_netaddr_t *out);

#endif

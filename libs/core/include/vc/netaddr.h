#ifndef VC_NETADDR_H
#define VC_NETADDR_H
/* IP addresses and CIDR ranges, for deciding which peers are trusted proxies and what a
 * client's rate-limit identity is.
 *
 * Every address is held as 16 bytes in network order, an IPv4 address IPv4-mapped
 * (::ffff:a.b.c.d): "10.0.0.1" and "::ffff:10.0.0.1" are one address, and an IPv4 CIDR /n is
 * the IPv6 CIDR ::ffff:0:0/(96 + n). So one comparison serves both families and a dual-stack
 * socket's mapped peers match IPv4 ranges.
 *
 * Parsing is strict (inet_pton): no zone ids ("%eth0"), no leading zeros in IPv4, no
 * brackets or ports (vc/forwarded.h handles those). Pure functions, any thread. */
#include <stddef.h>
#include <stdint.h>

#define VC_NETADDR_STRLEN 46   /* longest formatted address + NUL (INET6_ADDRSTRLEN) */
#define VC_NETADDR_KEYLEN 52   /* longest vc_netaddr_key: address + "/128" + NUL */
#define VC_NETADDR_LIST_MAX 64 /* CIDRs in one list */

typedef struct {
    uint8_t b[16];
} vc_netaddr_t;

typedef struct {
    vc_netaddr_t net; /* host bits zero */
    int bits;         /* 0..128, counted over the 16 bytes (IPv4 /24 is 120) */
} vc_netaddr_cidr_t;

typedef struct {
    size_t n;
    vc_netaddr_cidr_t v[VC_NETADDR_LIST_MAX];
} vc_netaddr_list_t;

/* Parses an IPv4 or IPv6 address of len bytes (not necessarily NUL-terminated). Returns 0
 * with *out filled, or VC_EINVAL. */
int vc_netaddr_parse(const char *s, size_t len, vc_netaddr_t *out);

/* True (1) when a is an IPv4 address (IPv4-mapped). */
int vc_netaddr_is_v4(const vc_netaddr_t *a);

/* Writes a as text: dotted IPv4 for IPv4 (mapped ones included), RFC 5952 IPv6 otherwise.
 * cap >= VC_NETADDR_STRLEN always suffices. Returns 0 or VC_ERANGE (cap too small). */
int vc_netaddr_format(const vc_netaddr_t *a, char *buf, size_t cap);

/* The identity a per-address limit counts against: an IPv4 address as it is; an IPv6 address
 * cut to its first v6_bits bits (1..128) and written as a network ("2001:db8:1:2::/64"), or
 * as a plain address when v6_bits is 128. Why: one IPv6 host commonly holds a whole /64 and
 * can pick a fresh address per request. cap >= VC_NETADDR_KEYLEN always suffices. Returns 0,
 * VC_EINVAL (v6_bits out of range) or VC_ERANGE. */
int vc_netaddr_key(const vc_netaddr_t *a, int v6_bits, char *buf, size_t cap);

/* Parses "ADDR/BITS" or a bare "ADDR" (a single host: /32 or /128) of len bytes. BITS is
 * 0..32 after an IPv4 address and 0..128 after an IPv6 one; host bits must be zero (a typo
 * such as 10.0.0.1/8 would otherwise trust a whole /8). Returns 0 or VC_EINVAL. */
int vc_netaddr_cidr_parse(const char *s, size_t len, vc_netaddr_cidr_t *out);

/* True (1) when a lies inside c. */
int vc_netaddr_cidr_contains(const vc_netaddr_cidr_t *c, const vc_netaddr_t *a);

/* Parses a comma-separated list of CIDRs (spaces around entries ignored; NULL or blank: the
 * empty list). Returns 0, or VC_EINVAL with err naming the bad entry (an empty entry, a bad
 * CIDR, more than VC_NETADDR_LIST_MAX entries). */
int vc_netaddr_list_parse(const char *s, vc_netaddr_list_t *out, char *err, size_t errlen);

/* True (1) when a lies inside any range of l. */
int vc_netaddr_list_contains(const vc_netaddr_list_t *l, const vc_netaddr_t *a);

#endif

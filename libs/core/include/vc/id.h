#ifndef VC_ID_H
#define VC_ID_H
#include <stddef.h>

#define VC_ID_MAX 64 /* longest accepted detection id, bytes, without NUL */

/* Writes a random UUID v4 (36 chars + NUL) into out (>= 37 bytes), from getrandom(2).
 * Returns 0, VC_EINVAL (outlen < 37) or VC_EIO. */
int vc_id_new(char *out, size_t outlen);
/* True (1) when s (len bytes) is an acceptable client-supplied id: 1..VC_ID_MAX bytes of
 * [A-Za-z0-9._:-]. Such ids are safe in Redis keys, URLs, SQL parameters and log lines. */
int vc_id_valid(const char *s, size_t len);

/* Trace ids (W3C Trace Context). */
#define VC_TRACE_ID_LEN 32

/* Writes a random, non-zero 32-hex-digit trace id + NUL into out (>= 33 bytes). 0 or VC_EIO. */
int vc_trace_id_new(char *out, size_t outlen);

/* Extracts the trace id of a W3C `traceparent` header value
 * ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lowercase, ids not all zero) into
 * out (>= 33 bytes). Returns 1 when valid, 0 otherwise (out untouched). */
int vc_trace_id_from_traceparent(const char *traceparent, char *out, size_t outlen);

#endif

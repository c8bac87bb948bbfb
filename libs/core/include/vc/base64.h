#ifndef VC_BASE64_H
#define VC_BASE64_H
#include <stddef.h>
#include <stdint.h>

/* Standard base64 (RFC 4648 §4, with padding). */

/* Exact encoded length (without NUL) of n input bytes. */
size_t vc_base64_encoded_len(size_t n);
/* Upper bound of the decoded length of n base64 characters. */
size_t vc_base64_decoded_maxlen(size_t n);

/* Encodes; out must hold vc_base64_encoded_len(n) + 1 bytes (NUL-terminated).
 * Returns 0 or VC_ETOOBIG when outcap is too small. outlen may be NULL. */
int vc_base64_encode(const uint8_t *in, size_t n, char *out, size_t outcap, size_t *outlen);
/* Decodes strictly: standard alphabet, correct '=' padding, nothing after padding, and the
 * unused bits under the padding must be zero (canonical encoding, RFC 4648 §3.5).
 * CR, LF, space and tab are skipped (MIME line breaks). Returns 0, VC_EFORMAT (invalid
 * character or padding; nothing reliable is in out) or VC_ETOOBIG (outcap too small; an
 * outcap of vc_base64_decoded_maxlen(n) always suffices). outlen may be NULL. */
int vc_base64_decode(const char *in, size_t n, uint8_t *out, size_t outcap, size_t *outlen);

#endif

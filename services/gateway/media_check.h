#ifndef VC_GATEWAY_MEDIA_CHECK_H
#define VC_GATEWAY_MEDIA_CHECK_H
#include <stddef.h>

#include "gateway.h"
#include "vc/wire.h"

/* Checks req's media against what they declare and the detectors' limits (MAX_AUDIO_*).
 * Returns 0, or the status to refuse with (400 malformed, 413 over a limit) with msg set. */
int gateway_media_check(const gateway_t *gw, const vc_request_t *req, char *msg, size_t cap);

#endif

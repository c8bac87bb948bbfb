#ifndef VC_ERROR_H
#define VC_ERROR_H
#include <stddef.h>

/* Errors are negative numbered constants (libuv style); 0 is success.
 * Details that a caller shows to a person go into an (err, errlen) buffer. */
enum {
    VC_OK = 0,
    VC_ENOMEM = -1,    /* allocation failed */
    VC_EINVAL = -2,    /* invalid argument or value */
    VC_ERANGE = -3,    /* value out of the allowed range */
    VC_EFULL = -4,     /* bounded container is full */
    VC_ECLOSED = -5,   /* object was closed / shut down */
    VC_ETIMEDOUT = -6, /* deadline passed */
    VC_EIO = -7,       /* I/O or remote-call failure (transient) */
    VC_ENOTFOUND = -8, /* no such item */
    VC_EPROTO = -9,    /* malformed message / protocol violation */
    VC_ETOOBIG = -10,  /* input exceeds a hard cap */
    VC_EUNAVAIL = -11, /* dependency unavailable */
    VC_EFORMAT = -12,  /* unsupported or undecodable format */
    VC_EBUSY = -13,    /* resource busy (try again) */
    VC_EEXIST = -14,   /* item already exists */
    VC_EPERM = -15     /* refused for good: the same request can never succeed (a constraint,
                          a size limit, an authorisation), so retrying it is pointless */
};

/* Returns a static, human-readable name for a VC_E* code. Never NULL. */
const char *vc_strerror(int err);

/* Writes printf-style text into err (if err is non-NULL and errlen > 0) and
 * returns code, so error paths read `return vc_err(err, errlen, VC_EINVAL, ...)`. */
int vc_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

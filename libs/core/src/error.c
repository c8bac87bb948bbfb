#include <stdarg.h>
#include <stdio.h>

#include "vc/error.h"

const char *vc_strerror(int err)
{
    switch (err) {
    case VC_OK: return "ok";
    case VC_ENOMEM: return "out of memory";
    case VC_EINVAL: return "invalid argument";
    case VC_ERANGE: return "out of range";
    case VC_EFULL: return "full";
    case VC_ECLOSED: return "closed";
    case VC_ETIMEDOUT: return "timed out";
    case VC_EIO: return "i/o error";
    case VC_ENOTFOUND: return "not found";
    case VC_EPROTO: return "protocol error";
    case VC_ETOOBIG: return "too big";
    case VC_EUNAVAIL: return "unavailable";
    case VC_EFORMAT: return "unsupported format";
    case VC_EBUSY: return "busy";
    case VC_EEXIST: return "already exists";
    case VC_EPERM: return "refused permanently";
    default: return "unknown error";
    }
}

int vc_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

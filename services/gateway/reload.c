/* SIGHUP: the operator's "pick up what changed outside the process". It reopens the access
 * log file (rotation: rename it, then SIGHUP; the old file keeps its lines, new lines go to a
 * new file at ACCESS_LOG) and forgets every cached API-key answer, so a key revoked in
 * PostgreSQL stops working now rather than after API_KEY_CACHE_TTL. It never stops the
 * gateway and never drops a request. The process log is stderr, whose file (if any) belongs
 * to whoever started the gateway. */
#include "accesslog.h"
#include "gateway.h"
#include "vc/apikeys.h"
#include "vc/log.h"

void gateway_sighup(gateway_t *gw)
{
    char err[300] = "";
    int rc = gateway_accesslog_reopen(gw, err, sizeof(err));
    if (rc != 0)
        VC_ERROR("gateway.access_log_reopen_failed",
                 "error=\"%s\" note=\"lines keep going to the old file\"", err);
    if (gw->apikeys != NULL)
        vc_apikeys_cache_clear(gw->apikeys);
    VC_INFO("gateway.sighup", "access_log=%s apikey_cache=cleared",
            gw->accesslog == NULL ? "off" : rc == 0 ? "reopened" : "kept");
}

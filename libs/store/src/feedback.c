#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/error.h"
#include "vc/feedback.h"

int vc_feedback_insert(PGconn *conn, const char *detection_id, const char *tenant,
                       const char *verdict, const char *note, int64_t *feedback_id, char *err,
                       size_t errlen)
{
    if (strcmp(verdict, "genuine") != 0 && strcmp(verdict, "spoof") != 0)
        return vc_err(err, errlen, VC_EINVAL, "verdict: must be \"genuine\" or \"spoof\"");
    if (note != NULL && strlen(note) > VC_FEEDBACK_NOTE_MAX)
        return vc_err(err, errlen, VC_EINVAL, "note: longer than %d bytes", VC_FEEDBACK_NOTE_MAX);
    const char *vals[] = {detection_id, tenant, verdict, note};
    PGresult *r = PQexecParams(conn,
                               "INSERT INTO feedback (detection_id, tenant, verdict, note)"
                               " VALUES ($1, $2, $3, $4) RETURNING id",
                               4, NULL, vals, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        rc = vc_err(err, errlen, VC_EIO, "postgres feedback: %s", PQresultErrorMessage(r));
    } else {
        char *end = NULL;
        *feedback_id = strtoll(PQgetvalue(r, 0, 0), &end, 10);
    }
    PQclear(r);
    return rc;
}

#ifndef VC_FEEDBACK_H
#define VC_FEEDBACK_H
/* Tenant feedback on detections (table `feedback`, schemas/sql/003_feedback.sql). */
#include <stdint.h>

#include <libpq-fe.h>

#define VC_FEEDBACK_NOTE_MAX 2000

/* Records `verdict` ("genuine" or "spoof") and an optional note (NULL or <= 2000 bytes of
 * UTF-8) for detection_id on behalf of tenant. Parameterised. Sets *feedback_id. Returns 0,
 * VC_EINVAL (bad verdict or note) or VC_EIO (err has the server's message). */
int vc_feedback_insert(PGconn *conn, const char *detection_id, const char *tenant,
                       const char *verdict, const char *note, int64_t *feedback_id, char *err,
                       size_t errlen);

#endif

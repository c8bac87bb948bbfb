#ifndef VC_DETECTIONS_H
#define VC_DETECTIONS_H
/* The durable record of detections in PostgreSQL (table `detections`, schemas/sql/). All
 * statements are parameterised. */
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vc/wire.h"

/* Inserts or updates the row of res->id with res's fields and the encoded result `blob`.
 * Idempotent: replaying the same result leaves one identical row; a final row (completed or
 * failed) is never downgraded to queued/processing. Returns 0 or VC_EIO (err has the server's
 * message; the connection may be broken: check PQstatus). */
int vc_detections_upsert(PGconn *conn, const vc_result_t *res, const uint8_t *blob, size_t len,
                         char *err, size_t errlen);

/* One row of vc_detections_upsert_many (borrowed pointers). */
typedef struct {
    const vc_result_t *res;
    const uint8_t *blob;
    size_t len;
} vc_detection_row_t;

/* Upserts n rows (as vc_detections_upsert does) in one transaction sent as one libpq pipeline:
 * one round trip and one commit for the whole batch. All or nothing: returns 0, or VC_EIO
 * when any row failed (err has the first error; no row was written; the transaction is
 * rolled back, so the connection is usable again unless it broke). A detection id may appear more
 * than once; the later row wins as with separate calls. */
int vc_detections_upsert_many(PGconn *conn, const vc_detection_row_t *rows, size_t n,
                              char *err, size_t errlen);

/* Fetches the stored encoded result of `id`. *blob is malloc'd (caller frees with free()).
 * Returns 0, VC_ENOTFOUND or VC_EIO. */
int vc_detections_get(PGconn *conn, const char *id, uint8_t **blob, size_t *len, char *err,
                      size_t errlen);

#endif

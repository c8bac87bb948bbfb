#ifndef VC_DETECTIONS_H
#define VC_DETECTIONS_H
/* The durable record of detections in PostgreSQL (table `detections`, schemas/sql/): one row
 * per (tenant, id). All statements are parameterised and name both parts of the identity. */
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vc/wire.h"

/* One result write of vc_detections_upsert_many. */
typedef struct {
    const vc_result_t *res; /* in (borrowed) */
    const uint8_t *blob;    /* in: res encoded (borrowed) */
    size_t len;
    /* Out, after a successful call: */
    int won;           /* res is now the stored result: the detection's first final one */
    int attempt;       /* result writes of this detection so far, this one included */
    int final_attempt; /* the write whose result is stored; 0 while none is final */
    uint8_t *stored;   /* !won: malloc'd copy of the stored result (NULL if it has none) */
    size_t stored_len;
    /* Out, after VC_EPERM: */
    int refused; /* this row is the one the server refused */
} vc_detection_row_t;

/* Writes n results in one transaction sent as one libpq pipeline (one round trip, one
 * commit). The first final result of a detection wins: a later write (a replay after a
 * rebalance or a crash) only counts itself in `attempts` and leaves the stored result, which it
 * gets back in `stored`; a queued/processing row is always overwritten. A detection may appear
 * more than once; each write sees the ones before it.
 * All or nothing: returns 0; VC_EPERM when the server refused a row for good (a constraint,
 * a data exception, a permission, a size limit: that row has `refused` set, err has the
 * server's message; nothing was written); VC_EIO for anything that may pass on a retry
 * (nothing was written). Either way the transaction is rolled back and the connection is
 * usable again unless it broke. */
int vc_detections_upsert_many(PGconn *conn, vc_detection_row_t *rows, size_t n, char *err,
                              size_t errlen);

/* Frees the `stored` copies of rows[0..n) and clears them. */
void vc_detections_rows_clear(vc_detection_row_t *rows, size_t n);

/* Fetches the stored encoded result of (tenant, id). *blob is malloc'd (caller frees with
 * free()). Returns 0, VC_ENOTFOUND or VC_EIO. */
int vc_detections_get(PGconn *conn, const char *tenant, const char *id, uint8_t **blob,
                      size_t *len, char *err, size_t errlen);

#endif
